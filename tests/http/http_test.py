#!/usr/bin/env python3
"""Streamable HTTP: ctxd --http against raw HTTP requests (both eras, security, limits).

usage: http_test.py CTXD_BINARY

Each case starts its own ctxd on 127.0.0.1 port 0 (the kernel picks a free port; ctxd
logs it) and talks plain HTTP/1.1 to it. Nothing waits for a time: a wait is for an
answer, a stream event, a log line, EOF or an exit, and HANG_GUARD only turns a hang into
a failure. Exit 0 when every check passed, 1 otherwise.
"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

HANG_GUARD = 30
MODERN = '2026-07-28'
LEGACY = '2025-11-25'
TOKEN_RW = 'rw-token-0123456789abcdef'
TOKEN_RO = 'ro-token-0123456789abcdef'

failures = []
passed = 0


def check(name, cond, detail=''):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f'{name}: {detail}')
        print(f'FAIL {name}: {detail}', file=sys.stderr)
    return cond


class Server:
    """One ctxd --http process; its port is read from its log."""

    def __init__(self, binary, root, config=None, args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix='ctxd-http-')
        argv = [binary, '-l', 'debug', '--http', '127.0.0.1:0']
        if config is not None:
            path = os.path.join(self.dir, 'ctxd.yaml')
            with open(path, 'w') as f:
                f.write(config)
            argv += ['-c', path]
        argv += list(args) + [root]
        e = dict(os.environ, CTXD_TEST_HOOKS='1', HOME=self.dir)
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=e)
        self.log = []
        self.cv = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        line = self.wait_log(r'listening on .* \(port (\d+)\)')
        self.port = int(re.search(r'\(port (\d+)\)', line).group(1)) if line else 0

    def _read(self):
        for raw in self.proc.stderr:
            with self.cv:
                self.log.append(raw.decode('utf-8', 'replace'))
                self.cv.notify_all()
        with self.cv:
            self.log.append(None)
            self.cv.notify_all()

    def wait_log(self, pattern):
        rx = re.compile(pattern)
        with self.cv:
            i = 0
            while True:
                while i < len(self.log):
                    line = self.log[i]
                    if line is None:
                        return None
                    if rx.search(line):
                        return line
                    i += 1
                if not self.cv.wait(HANG_GUARD):
                    return None

    def conn(self):
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=HANG_GUARD)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(HANG_GUARD)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


def post(srv, body, headers=None, conn=None):
    c = conn or srv.conn()
    h = {'Content-Type': 'application/json', 'Accept': 'application/json, text/event-stream'}
    h.update(headers or {})
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    c.request('POST', '/mcp', body=data, headers=h)
    r = c.getresponse()
    return r


def read_json(r):
    raw = r.read()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


def sse_events(r):
    """Yield the JSON messages of an SSE response as they arrive."""
    data = []
    while True:
        line = r.fp.readline()
        if not line:
            return
        line = line.decode().rstrip('\r\n')
        if line.startswith('data:'):
            data.append(line[5:].lstrip())
        elif line == '' and data:
            yield json.loads('\n'.join(data))
            data = []


def initialize(srv, headers=None, caps=None):
    r = post(srv, {'jsonrpc': '2.0', 'id': 1, 'method': 'initialize',
                   'params': {'protocolVersion': LEGACY, 'capabilities': caps or {},
                              'clientInfo': {'name': 'http-test', 'version': '1'}}},
             headers)
    body = read_json(r)
    sid = r.getheader('Mcp-Session-Id')
    return r.status, sid, body


def legacy_headers(sid, extra=None):
    h = {'Mcp-Session-Id': sid, 'MCP-Protocol-Version': LEGACY}
    h.update(extra or {})
    return h


def modern(method, params=None, id_=1, extra_meta=None):
    meta = {'io.modelcontextprotocol/protocolVersion': MODERN,
            'io.modelcontextprotocol/clientCapabilities': {},
            'io.modelcontextprotocol/clientInfo': {'name': 'http-test', 'version': '1'}}
    meta.update(extra_meta or {})
    p = dict(params or {})
    p['_meta'] = meta
    return {'jsonrpc': '2.0', 'id': id_, 'method': method, 'params': p}


def modern_headers(method, name=None, extra=None):
    h = {'MCP-Protocol-Version': MODERN, 'Mcp-Method': method}
    if name is not None:
        h['Mcp-Name'] = name
    h.update(extra or {})
    return h


def metric(srv, name, headers=None):
    c = srv.conn()
    c.request('GET', '/metrics', headers=headers or {})
    text = c.getresponse().read().decode()
    m = re.search(r'^' + re.escape(name) + r' (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


def make_root():
    root = tempfile.mkdtemp(prefix='ctxd-http-root-')
    with open(os.path.join(root, 'a.txt'), 'w') as f:
        f.write('hello\n')
    return root


# ---------------------------------------------------------------------------------------


def case_legacy(binary, root):
    srv = Server(binary, root)
    try:
        st, sid, body = initialize(srv)
        check('legacy: initialize 200', st == 200, st)
        check('legacy: session id is 32 hex digits', sid and re.fullmatch(r'[0-9a-f]{32}', sid),
              sid)
        check('legacy: initialize result', isinstance(body, dict) and
              body.get('result', {}).get('protocolVersion') == LEGACY, body)
        r = post(srv, {'jsonrpc': '2.0', 'method': 'notifications/initialized'},
                 legacy_headers(sid))
        r.read()
        check('legacy: notification 202', r.status == 202, r.status)
        r = post(srv, {'jsonrpc': '2.0', 'id': 2, 'method': 'tools/call',
                       'params': {'name': 'read_text_file', 'arguments': {'path': 'a.txt'}}},
                 legacy_headers(sid))
        body = read_json(r)
        check('legacy: tools/call answered as JSON',
              r.status == 200 and r.getheader('Content-Type') == 'application/json', r.status)
        text = json.dumps(body)
        check('legacy: read_text_file content', 'hello' in text, text[:200])
        # a second session has its own state: its id differs, the first still works
        st2, sid2, _ = initialize(srv)
        check('legacy: second session', st2 == 200 and sid2 and sid2 != sid, sid2)
        # wrong protocol version header
        r = post(srv, {'jsonrpc': '2.0', 'id': 3, 'method': 'ping'},
                 legacy_headers(sid, {'MCP-Protocol-Version': '1900-01-01'}))
        r.read()
        check('legacy: unsupported MCP-Protocol-Version 400', r.status == 400, r.status)
        # no session header
        r = post(srv, {'jsonrpc': '2.0', 'id': 4, 'method': 'ping'})
        r.read()
        check('legacy: no session id 400', r.status == 400, r.status)
        # unknown session
        r = post(srv, {'jsonrpc': '2.0', 'id': 5, 'method': 'ping'},
                 legacy_headers('0' * 32))
        r.read()
        check('legacy: unknown session 404', r.status == 404, r.status)
        # GET stream: a notification reaches it (logging/setLevel then a change is not
        # forwarded over HTTP; a tools list change is: add a skill)
        c = srv.conn()
        c.request('GET', '/mcp', headers={'Mcp-Session-Id': sid, 'Accept': 'text/event-stream'})
        g = c.getresponse()
        check('legacy: GET stream opens', g.status == 200 and
              g.getheader('Content-Type') == 'text/event-stream', g.status)
        check('legacy: GET stream unbuffered', g.getheader('X-Accel-Buffering') == 'no')
        # a second GET on the same session: 409
        c2 = srv.conn()
        c2.request('GET', '/mcp', headers={'Mcp-Session-Id': sid, 'Accept': 'text/event-stream'})
        r = c2.getresponse()
        r.read()
        check('legacy: second GET stream 409', r.status == 409, r.status)
        # subscribe to a.txt, change it: resources/updated arrives on the GET stream
        uri = 'file://' + os.path.join(root, 'a.txt')
        r = post(srv, {'jsonrpc': '2.0', 'id': 6, 'method': 'resources/subscribe',
                       'params': {'uri': uri}}, legacy_headers(sid))
        body = read_json(r)
        check('legacy: subscribe', isinstance(body, dict) and 'result' in body, body)
        with open(os.path.join(root, 'a.txt'), 'a') as f:
            f.write('more\n')
        ev = next(sse_events(g), None)
        check('legacy: resources/updated on the GET stream',
              ev and ev.get('method') == 'notifications/resources/updated' and
              ev['params']['uri'] == uri, ev)
        c.close()
        # DELETE ends the session
        c = srv.conn()
        c.request('DELETE', '/mcp', headers={'Mcp-Session-Id': sid})
        r = c.getresponse()
        r.read()
        check('legacy: DELETE 200', r.status == 200, r.status)
        r = post(srv, {'jsonrpc': '2.0', 'id': 7, 'method': 'ping'}, legacy_headers(sid))
        r.read()
        check('legacy: ended session 404', r.status == 404, r.status)
        r = post(srv, {'jsonrpc': '2.0', 'id': 8, 'method': 'ping'}, legacy_headers(sid2))
        body = read_json(r)
        check('legacy: the other session lives on', r.status == 200 and 'result' in body, body)
    finally:
        check('legacy: clean exit', srv.stop() == 0)


def case_modern(binary, root):
    srv = Server(binary, root, config='http:\n  metrics: true\n')
    try:
        r = post(srv, modern('tools/list'), modern_headers('tools/list'))
        body = read_json(r)
        check('modern: tools/list 200', r.status == 200 and 'result' in body, body)
        names = [t['name'] for t in body['result']['tools']] if r.status == 200 else []
        check('modern: write_file offered', 'write_file' in names, names)
        # two clients with the same id at once: each gets its own answer
        args = {'name': 'read_text_file', 'arguments': {'path': 'a.txt'}}
        r = post(srv, modern('tools/call', args, id_='same'),
                 modern_headers('tools/call', 'read_text_file'))
        body = read_json(r)
        check('modern: id given back', body.get('id') == 'same', body)
        check('modern: result', 'hello' in json.dumps(body), body)
        # request metadata headers
        r = post(srv, modern('tools/list'), {'MCP-Protocol-Version': MODERN})
        body = read_json(r)
        check('modern: missing Mcp-Method 400 -32020',
              r.status == 400 and body['error']['code'] == -32020, (r.status, body))
        r = post(srv, modern('tools/call', args), modern_headers('tools/call', 'write_file'))
        body = read_json(r)
        check('modern: Mcp-Name mismatch 400 -32020',
              r.status == 400 and body['error']['code'] == -32020, (r.status, body))
        r = post(srv, modern('tools/call', args), modern_headers('tools/call'))
        body = read_json(r)
        check('modern: missing Mcp-Name 400', r.status == 400, (r.status, body))
        r = post(srv, modern('tools/list'), modern_headers('prompts/list'))
        read_json(r)
        check('modern: Mcp-Method mismatch 400', r.status == 400, r.status)
        r = post(srv, modern('tools/list'),
                 modern_headers('tools/list', extra={'MCP-Protocol-Version': LEGACY}))
        read_json(r)
        check('modern: MCP-Protocol-Version mismatch 400', r.status == 400, r.status)
        # a notification: 202
        r = post(srv, {'jsonrpc': '2.0', 'method': 'notifications/cancelled',
                       'params': {'requestId': 1, '_meta': {
                           'io.modelcontextprotocol/protocolVersion': MODERN}}},
                 modern_headers('notifications/cancelled'))
        r.read()
        check('modern: notification 202', r.status == 202, r.status)
        # a response POSTed in the stateless era: refused
        r = post(srv, {'jsonrpc': '2.0', 'id': 9, 'result': {}},
                 {'MCP-Protocol-Version': MODERN})
        r.read()
        check('modern: response refused 400', r.status == 400, r.status)
        # GET has no stream in the stateless era
        c = srv.conn()
        c.request('GET', '/mcp', headers={'Accept': 'text/event-stream'})
        r = c.getresponse()
        r.read()
        check('modern: GET without session 405', r.status == 405, r.status)
        # cancellation: a request held until cancelled; the client closes its connection
        held = modern('tools/call', args, id_=77,
                      extra_meta={'ctxd.test/hold': 'until-cancelled'})
        c = srv.conn()
        c.request('POST', '/mcp', body=json.dumps(held), headers=dict(
            modern_headers('tools/call', 'read_text_file'),
            **{'Content-Type': 'application/json',
               'Accept': 'application/json, text/event-stream'}))
        # wait until the server holds it (metrics), then hang up
        ok = wait_until(lambda: metric(srv, 'ctxd_inflight_requests') == 1)
        check('modern: held request in flight', ok)
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        ok = wait_until(lambda: metric(srv, 'ctxd_inflight_requests') == 0)
        check('modern: closing the connection cancelled the request', ok)
        check('modern: aborted counted', metric(srv, 'ctxd_http_aborted_total') == 1)
        # subscriptions/listen: an SSE stream; a changed file arrives on it
        uri = 'file://' + os.path.join(root, 'a.txt')
        listen = modern('subscriptions/listen', {
            'notifications': {'resourceSubscriptions': [uri]}}, id_='L1')
        c = srv.conn()
        c.request('POST', '/mcp', body=json.dumps(listen), headers=dict(
            modern_headers('subscriptions/listen'),
            **{'Content-Type': 'application/json',
               'Accept': 'application/json, text/event-stream'}))
        ls = c.getresponse()
        check('modern: listen is SSE', ls.status == 200 and
              ls.getheader('Content-Type') == 'text/event-stream', ls.status)
        check('modern: listen unbuffered', ls.getheader('X-Accel-Buffering') == 'no')
        events = sse_events(ls)
        first = next(events, None)
        sub = (first or {}).get('params', {}).get('_meta', {}).get(
            'io.modelcontextprotocol/subscriptionId')
        check('modern: listen acknowledged with the client\'s id', sub == 'L1', first)
        with open(os.path.join(root, 'a.txt'), 'a') as f:
            f.write('again\n')
        ev = next(events, None)
        check('modern: resources/updated on the listen stream',
              ev and ev.get('method') == 'notifications/resources/updated', ev)
        c.close()
        ok = wait_until(lambda: metric(srv, 'ctxd_inflight_requests') == 0)
        check('modern: closed listen stream ended', ok)
        # an error answered by the engine is counted by code
        bad = {'name': 'no_such_tool', 'arguments': {}}
        r = post(srv, modern('tools/call', bad), modern_headers('tools/call', 'no_such_tool'))
        body = read_json(r)
        check('modern: unknown tool is an error', 'error' in body, body)
        # metrics text
        c = srv.conn()
        c.request('GET', '/metrics')
        r = c.getresponse()
        text = r.read().decode()
        check('metrics: 200 text', r.status == 200 and 'text/plain' in r.getheader(
            'Content-Type'), r.status)
        check('metrics: tool counted',
              'ctxd_tool_calls_total{tool="read_text_file"}' in text, text[:300])
        code = body['error']['code'] if 'error' in body else 0
        check('metrics: errors by code', f'ctxd_errors_total{{code="{code}"}} 1' in text,
              text[:600])
        check('metrics: histogram', 'ctxd_request_duration_seconds_bucket{le="+Inf"}' in text)
        check('metrics: pool queue depth', re.search(r'^ctxd_pool_queued_jobs \d', text, re.M))
    finally:
        check('modern: clean exit', srv.stop() == 0)


def wait_until(fn):
    """Poll fn (each poll is a request answered by the server) until it holds."""
    for _ in range(100000):
        if fn():
            return True
    return False


def case_security(binary, root):
    d = tempfile.mkdtemp(prefix='ctxd-http-sec-')
    tokens = os.path.join(d, 'tokens')
    with open(tokens, 'w') as f:
        f.write(f'# comment\n{TOKEN_RW}\n{TOKEN_RO} read-only\n')
    cfg = (f'http:\n  tokens_file: {tokens}\n  max_body_bytes: 2048\n  metrics: true\n'
           f'  allowed_origins: ["https://app.example"]\n')
    srv = Server(binary, root, config=cfg)
    auth = {'Authorization': 'Bearer ' + TOKEN_RW}
    try:
        st, sid, body = initialize(srv)
        check('security: no token 401', st == 401, st)
        c = srv.conn()
        c.request('POST', '/mcp', body='{}', headers={'Content-Type': 'application/json'})
        r = c.getresponse()
        r.read()
        check('security: WWW-Authenticate', (r.getheader('WWW-Authenticate') or '')
              .startswith('Bearer'), r.getheader('WWW-Authenticate'))
        st, sid, body = initialize(srv, {'Authorization': 'Bearer wrong-token-0123456789'})
        check('security: bad token 401', st == 401, st)
        st, sid, body = initialize(srv, auth)
        check('security: good token 200', st == 200 and sid, st)
        st, _, _ = initialize(srv, dict(auth, Origin='http://evil.example'))
        check('security: wrong Origin 403', st == 403, st)
        st, _, _ = initialize(srv, dict(auth, Origin='https://app.example'))
        check('security: allowed Origin 200', st == 200, st)
        st, _, _ = initialize(srv, dict(auth, Host='evil.example:%d' % srv.port))
        check('security: wrong Host 421', st == 421, st)
        st, _, _ = initialize(srv, dict(auth, Host='localhost:%d' % srv.port))
        check('security: localhost Host 200', st == 200, st)
        r = post(srv, modern('ping', {'pad': 'x' * 4096}), dict(auth, **modern_headers('ping')))
        r.read()
        check('security: oversized body 413', r.status == 413, r.status)
        # a session is bound to its token
        r = post(srv, {'jsonrpc': '2.0', 'id': 2, 'method': 'ping'},
                 dict(legacy_headers(sid), Authorization='Bearer ' + TOKEN_RO))
        r.read()
        check('security: session used with another token 404', r.status == 404, r.status)
        # read-only token: no writing tool, in both eras
        ro = {'Authorization': 'Bearer ' + TOKEN_RO}
        r = post(srv, modern('tools/list'), dict(ro, **modern_headers('tools/list')))
        body = read_json(r)
        names = [t['name'] for t in body['result']['tools']]
        check('security: read-only token hides write_file', 'write_file' not in names and
              'read_text_file' in names, names)
        st, rsid, _ = initialize(srv, ro)
        r = post(srv, {'jsonrpc': '2.0', 'id': 2, 'method': 'tools/list'},
                 dict(legacy_headers(rsid), **ro))
        body = read_json(r)
        names = [t['name'] for t in body['result']['tools']]
        check('security: read-only session hides write_file', 'write_file' not in names,
              names)
        # metrics need the token too
        c = srv.conn()
        c.request('GET', '/metrics')
        r = c.getresponse()
        r.read()
        check('security: metrics without token 401', r.status == 401, r.status)
        # no token in the log
        srv.stop()
        log = ''.join(x for x in srv.log if x)
        check('security: no token logged', TOKEN_RW not in log and TOKEN_RO not in log)
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


def case_refuse_network(binary, root):
    p = subprocess.run([binary, '--http', '0.0.0.0:0', root], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=HANG_GUARD)
    err = p.stderr.decode()
    check('start-up: non-loopback without tokens refused', p.returncode == 1 and
          'not a loopback address' in err and 'http.tokens_file' in err, (p.returncode, err))
    p = subprocess.run([binary, '--http', 'nonsense', root], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=HANG_GUARD)
    check('start-up: bad address refused', p.returncode == 1 and 'HOST:PORT' in
          p.stderr.decode(), p.stderr)


def case_shutdown(binary, root):
    """SIGTERM: an open subscriptions/listen stream gets its graceful closing result (MCP
    2026-07-28 subscriptions, "Graceful Closure") before the server exits, and a session's
    GET stream ends cleanly."""
    srv = Server(binary, root)
    try:
        c = srv.conn()
        c.request('POST', '/mcp', body=json.dumps(modern('subscriptions/listen', {
            'notifications': {'toolsListChanged': True}}, id_='S1')), headers=dict(
            modern_headers('subscriptions/listen'),
            **{'Content-Type': 'application/json',
               'Accept': 'application/json, text/event-stream'}))
        ls = c.getresponse()
        events = sse_events(ls)
        first = next(events, None)
        check('shutdown: listen acknowledged', first is not None, first)
        st, sid, _ = initialize(srv)
        g = srv.conn()
        g.request('GET', '/mcp', headers={'Mcp-Session-Id': sid, 'Accept': 'text/event-stream'})
        gs = g.getresponse()
        check('shutdown: GET stream open', gs.status == 200, gs.status)
        srv.proc.terminate()
        rest = list(events)
        last = rest[-1] if rest else None
        check('shutdown: the listen stream ends with its closing result',
              last is not None and last.get('id') == 'S1' and 'result' in last and
              last['result'].get('_meta', {}).get(
                  'io.modelcontextprotocol/subscriptionId') == 'S1', rest)
        check('shutdown: the GET stream ends', gs.read() is not None)
        check('shutdown: exit 0', srv.proc.wait(HANG_GUARD) == 0)
    finally:
        srv.stop()


def case_output_cap(binary, root):
    """http.max_queued_bytes: a stream that would owe its client more is dropped (here one
    answer larger than the cap, after a progress notification made the POST's answer an SSE
    stream); the server goes on serving."""
    tree = os.path.join(root, 'cap-tree')
    for d in range(3):
        os.makedirs(os.path.join(tree, 'd%d' % d), exist_ok=True)
        for f in range(500):
            open(os.path.join(tree, 'd%d' % d, 'f%03d.txt' % f), 'w').close()
    srv = Server(binary, root, config='http:\n  max_queued_bytes: 1KiB\n')
    try:
        st, sid, _ = initialize(srv)
        # the connection is dropped once the answer would pass the cap: after the stream's
        # first events were written, or before even its headers were (when the progress
        # and the answer arrive together)
        got = []
        try:
            r = post(srv, {'jsonrpc': '2.0', 'id': 2, 'method': 'tools/call', 'params': {
                'name': 'search_files', 'arguments': {'path': tree, 'pattern': '**/*.txt'},
                '_meta': {'progressToken': 'p'}}}, legacy_headers(sid))
            check('cap: answered as a stream',
                  r.getheader('Content-Type') == 'text/event-stream', r.getheader(
                      'Content-Type'))
            for ev in sse_events(r):
                got.append(ev)
        except (http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionError):
            pass
        check('cap: only progress came', all(e.get('method') == 'notifications/progress'
                                             for e in got), got[:2])
        check('cap: the answer over the cap never came', not any('result' in e for e in got),
              [e.get('id') for e in got])
        check('cap: the drop is logged', srv.wait_log(r'max_queued_bytes .* dropping') is not None)
        r = post(srv, {'jsonrpc': '2.0', 'id': 3, 'method': 'ping'}, legacy_headers(sid))
        body = read_json(r)
        check('cap: the session goes on', r.status == 200 and 'result' in body, body)
    finally:
        check('cap: clean exit', srv.stop() == 0)
        shutil.rmtree(tree, ignore_errors=True)


def case_limits(binary, root):
    """Slow-loris: connections beyond http.max_connections are closed at once; a connection
    that sends half a request is closed after http.idle_timeout_ms; then the server serves
    again."""
    limit = 4
    srv = Server(binary, root, config=(f'http:\n  max_connections: {limit}\n'
                                       f'  idle_timeout_ms: 1000\n'))
    socks = []
    try:
        for _ in range(limit):
            s = socket.create_connection(('127.0.0.1', srv.port), timeout=HANG_GUARD)
            s.sendall(b'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n')  # never finished
            socks.append(s)
        # one more: libmicrohttpd stops accepting at the limit, so it waits in the kernel's
        # backlog and is served only once a slot frees (an idle one times out)
        extra = socket.create_connection(('127.0.0.1', srv.port), timeout=HANG_GUARD)
        extra.sendall(b'GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n' % srv.port)
        data = extra.recv(100)
        check('limits: the extra connection served in the end', data.startswith(b'HTTP/1.1'),
              data)
        freed = 0
        for s in socks:
            s.setblocking(False)
            try:
                if s.recv(100) == b'':
                    freed += 1
            except (BlockingIOError, ConnectionResetError):
                pass
            s.setblocking(True)
        check('limits: served only after an idle connection was closed', freed >= 1, freed)
        extra.close()
        # every half-sent request is closed by the idle timeout (EOF arrives)
        closed = 0
        for s in socks:
            try:
                if s.recv(100) == b'':
                    closed += 1
            except ConnectionResetError:
                closed += 1
        check('limits: idle connections closed', closed == limit, closed)
        st, sid, _ = initialize(srv)
        check('limits: served again', st == 200, st)
        # libmicrohttpd's memory pool per connection (16 KiB, transport_http.c) holds the
        # request's headers: 12 KiB of them are still served
        st, _, _ = initialize(srv, {'X-Pad': 'x' * 12288})
        check('limits: 12 KiB of headers served', st == 200, st)
    finally:
        for s in socks:
            s.close()
        srv.stop()


def case_delete_inflight(binary, root):
    """DELETE of a 2025-11-25 session whose request is still running: the cancelled request
    gets no answer from the engine, so its POST is ended with a 404 JSON-RPC error instead
    of staying suspended (holding a connection) until the client gives up."""
    srv = Server(binary, root, config='http:\n  metrics: true\n')
    try:
        st, sid, _ = initialize(srv)
        held = {'jsonrpc': '2.0', 'id': 5, 'method': 'tools/call', 'params': {
            'name': 'read_text_file', 'arguments': {'path': os.path.join(root, 'a.txt')},
            '_meta': {'ctxd.test/hold': 'until-cancelled'}}}
        c = srv.conn()
        c.request('POST', '/mcp', body=json.dumps(held), headers=dict(
            legacy_headers(sid), **{'Content-Type': 'application/json',
                                    'Accept': 'application/json'}))
        ok = wait_until(lambda: metric(srv, 'ctxd_inflight_requests') == 1)
        check('delete: held request in flight', ok)
        d = srv.conn()
        d.request('DELETE', '/mcp', headers=legacy_headers(sid))
        r = d.getresponse()
        r.read()
        check('delete: session ended', r.status in (200, 204), r.status)
        c.sock.settimeout(60)  # before the fix the answer never came: fail, do not hang
        try:
            r = c.getresponse()
            body = read_json(r)
        except (socket.timeout, ConnectionError, http.client.HTTPException) as e:
            r, body = None, repr(e)
        check('delete: the held POST is answered 404',
              r is not None and r.status == 404, body)
        check('delete: with a JSON-RPC error for its id',
              isinstance(body, dict) and body.get('id') == 5 and 'error' in body, body)
        ok = wait_until(lambda: metric(srv, 'ctxd_inflight_requests') == 0)
        check('delete: nothing left in flight', ok)
    finally:
        check('delete: clean exit', srv.stop() == 0)


def main():
    binary = os.path.abspath(sys.argv[1])
    root = make_root()
    try:
        for case in (case_refuse_network, case_legacy, case_modern, case_security,
                     case_shutdown, case_output_cap, case_limits, case_delete_inflight):
            try:
                case(binary, root)
            except Exception as e:  # a crash fails the case, the others still run
                check(case.__name__, False, repr(e))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f'http: {passed} passed, {len(failures)} failed')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
