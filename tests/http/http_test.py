#!/usr/bin/env python3
"""Streamable HTTP: ctxd --http against raw HTTP requests (both eras, security, limits).

usage: http_test.py CTXD_BINARY [CASE ...]   (CASE: a case_* name without case_; default all)

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
TOKEN_RW2 = 'rw2-token-0123456789abcdef'

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


def answer_events(r):
    """The messages of a POST's answer up to its response: the SSE events (notifications,
    then the response), or the one JSON body."""
    if r.getheader('Content-Type') != 'text/event-stream':
        return [read_json(r)]
    got = []
    for ev in sse_events(r):
        got.append(ev)
        if 'id' in ev and ('result' in ev or 'error' in ev):
            break
    return got


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


def held_post(srv, root, sid, id_):
    """POST a tools/call of session `sid` that the server holds until it is cancelled (test
    hook), answered as JSON; once the server has it in flight (metrics), its connection,
    else None."""
    held = {'jsonrpc': '2.0', 'id': id_, 'method': 'tools/call', 'params': {
        'name': 'read_text_file', 'arguments': {'path': os.path.join(root, 'a.txt')},
        '_meta': {'ctxd.test/hold': 'until-cancelled'}}}
    c = srv.conn()
    c.request('POST', '/mcp', body=json.dumps(held), headers=dict(
        legacy_headers(sid), **{'Content-Type': 'application/json',
                                'Accept': 'application/json'}))
    return c if wait_until(lambda: metric(srv, 'ctxd_inflight_requests') == 1) else None


def case_delete_inflight(binary, root):
    """DELETE of a 2025-11-25 session whose request is still running: the cancelled request
    gets no answer from the engine, so its POST is ended with a 404 JSON-RPC error instead
    of staying suspended (holding a connection) until the client gives up."""
    srv = Server(binary, root, config='http:\n  metrics: true\n')
    try:
        st, sid, _ = initialize(srv)
        c = held_post(srv, root, sid, 5)
        check('delete: held request in flight', c is not None)
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


def case_shutdown_held(binary, root):
    """SIGTERM while a 2025-11-25 session's POST waits for a request that never ends: at the
    drain limit (limits.drain_ms) the server gives up on it and exits 0, its exchanges freed
    before its sessions end (on_done cuts the links to a freed exchange: a POST still linked
    at that point was written to after libmicrohttpd freed it; batches reached that)."""
    srv = Server(binary, root, config='http:\n  metrics: true\nlimits:\n  drain_ms: 1\n')
    try:
        st, sid, _ = initialize(srv)
        check('shutdown held: request in flight', held_post(srv, root, sid, 6) is not None)
        srv.proc.terminate()
        rc = srv.proc.wait(HANG_GUARD)
        check('shutdown held: exit 0 past the drain limit', rc == 0, (rc, ''.join(x for x in srv.log if x)[-3000:]))
    finally:
        srv.stop()


TASKS_META = {'io.modelcontextprotocol/clientCapabilities': {
    'extensions': {'io.modelcontextprotocol/tasks': {}}}}


def tasks_call(srv, auth, id_, hold=None):
    """A 2026-07-28 grep of a client declaring the tasks extension (tasks.after_ms 0: it
    becomes a task at once); `hold`: the test hook ctxd.test/hold."""
    meta = dict(TASKS_META)
    if hold is not None:
        meta['ctxd.test/hold'] = hold
    args = {'name': 'grep', 'arguments': {'pattern': 'hello', 'path': '.'}}
    r = post(srv, modern('tools/call', args, id_=id_, extra_meta=meta),
             dict(auth, **modern_headers('tools/call', 'grep')))
    return r, read_json(r)


def tasks_req(srv, auth, method, task_id, id_):
    params = {'taskId': task_id}
    if method == 'tasks/update':
        params['inputResponses'] = {}
    r = post(srv, modern(method, params, id_=id_, extra_meta=TASKS_META),
             dict(auth, **modern_headers(method, task_id)))
    return r, read_json(r)


def open_listen(srv, auth, id_, notifications):
    c = srv.conn()
    c.request('POST', '/mcp', body=json.dumps(modern('subscriptions/listen', {
        'notifications': notifications}, id_=id_, extra_meta=TASKS_META)), headers=dict(
        auth, **modern_headers('subscriptions/listen'),
        **{'Content-Type': 'application/json',
           'Accept': 'application/json, text/event-stream'}))
    r = c.getresponse()
    return c, r, sse_events(r)


def case_tasks_modern(binary, root):
    """MCP tasks of 2026-07-28 (the io.modelcontextprotocol/tasks extension) over stateless
    POSTs: the task answer to tools/call, tasks/get and tasks/cancel on later POSTs (other
    connections), notifications/tasks on a subscriptions/listen stream; and every task is
    bound to the bearer token that made it: another read-write token's tasks/get, tasks/cancel
    and listen know nothing of it (the same error as an unknown taskId)."""
    d = tempfile.mkdtemp(prefix='ctxd-http-tasks-')
    tokens = os.path.join(d, 'tokens')
    with open(tokens, 'w') as f:
        f.write(f'{TOKEN_RW}\n{TOKEN_RW2}\n')
    srv = Server(binary, root, config=(f'tasks:\n  after_ms: 0\nhttp:\n  tokens_file: {tokens}\n'
                                       f'  metrics: true\n'))
    a = {'Authorization': 'Bearer ' + TOKEN_RW}
    b = {'Authorization': 'Bearer ' + TOKEN_RW2}
    try:
        r, body = tasks_call(srv, a, 'c1', hold='until-cancelled')
        res = (body or {}).get('result', {})
        check('tasks modern: tools/call answered with a task',
              r.status == 200 and res.get('resultType') == 'task' and
              res.get('status') == 'working' and body.get('id') == 'c1', body)
        tid = res.get('taskId', 'none')
        r, got = tasks_req(srv, a, 'tasks/get', tid, 'g1')
        check('tasks modern: tasks/get on a later POST', (got or {}).get('result', {}).get(
            'status') == 'working' and got.get('id') == 'g1', got)
        # token B: the task does not exist for it, exactly like an unknown id
        _, unknown = tasks_req(srv, b, 'tasks/get', '0123456789abcdef0123456789abcdef', 'u')
        r, got = tasks_req(srv, a, 'tasks/update', tid, 'u1')
        check('tasks modern: tasks/update by its own token', (got or {}).get('result', {}).get(
            'resultType') == 'complete', got)
        for method in ('tasks/get', 'tasks/update', 'tasks/cancel'):
            r, other = tasks_req(srv, b, method, tid, 'x')
            err = (other or {}).get('error', {})
            check(f'tasks modern: another token\'s {method} is refused',
                  err.get('code') == -32602 and
                  err.get('message') == unknown.get('error', {}).get('message'), other)
        c, ls, events = open_listen(srv, b, 'LB', {'taskIds': [tid]})
        ack = next(events, None)
        check('tasks modern: another token\'s listen is not given the task',
              (ack or {}).get('params', {}).get('notifications', {}).get('taskIds') == [], ack)
        c.close()
        r, got = tasks_req(srv, a, 'tasks/get', tid, 'g2')
        check('tasks modern: the task still runs after the other token\'s cancel',
              (got or {}).get('result', {}).get('status') == 'working', got)
        r, got = tasks_req(srv, a, 'tasks/cancel', tid, 'k1')
        check('tasks modern: tasks/cancel by its own token', r.status == 200 and
              (got or {}).get('result', {}).get('resultType') == 'complete', got)
        r, got = tasks_req(srv, a, 'tasks/get', tid, 'g3')
        check('tasks modern: cancelled', (got or {}).get('result', {}).get('status') ==
              'cancelled', got)
        # a task held until the server handles one more frame of this token's engine (the
        # listen request): its end arrives on the listen stream that asked for it
        r, body = tasks_call(srv, a, 'c2', hold=True)
        tid2 = (body or {}).get('result', {}).get('taskId', 'none')
        c, ls, events = open_listen(srv, a, 'LA', {'taskIds': [tid2]})
        ack = next(events, None)
        check('tasks modern: listen acknowledged for the task with the client\'s id',
              (ack or {}).get('params', {}).get('notifications', {}).get('taskIds') == [tid2]
              and ack['params']['_meta'].get('io.modelcontextprotocol/subscriptionId') == 'LA',
              ack)
        ev = next(events, None)
        p = (ev or {}).get('params', {})
        check('tasks modern: notifications/tasks on the listen stream',
              (ev or {}).get('method') == 'notifications/tasks' and p.get('taskId') == tid2 and
              p.get('status') == 'completed' and 'hello' in json.dumps(p.get('result')) and
              p.get('_meta', {}).get('io.modelcontextprotocol/subscriptionId') == 'LA', ev)
        c.close()
        r, got = tasks_req(srv, a, 'tasks/get', tid2, 'g4')
        check('tasks modern: tasks/get of the completed task has its result',
              'hello' in json.dumps((got or {}).get('result', {}).get('result')), got)
        r, got = tasks_req(srv, b, 'tasks/get', tid2, 'g5')
        check('tasks modern: another token cannot read the result',
              (got or {}).get('error', {}).get('code') == -32602 and 'hello' not in
              json.dumps(got), got)
    finally:
        check('tasks modern: clean exit', srv.stop() == 0)
        shutil.rmtree(d, ignore_errors=True)


def case_tasks_threshold(binary, root):
    """2026-07-28: the server decides (tasks.after_ms) that a tools/call still running
    becomes a task: its POST, still waiting, is answered with the task; once the task
    expired (tasks.ttl_ms) and the token's engine was unused for http.session_timeout_ms,
    the engine is freed and the next request gets a new one."""
    srv = Server(binary, root, config=('tasks:\n  after_ms: 1\n  ttl_ms: 1\n'
                                       'http:\n  session_timeout_ms: 1000\n'))
    try:
        r, body = tasks_call(srv, {}, 't1', hold='until-cancelled')
        res = (body or {}).get('result', {})
        check('tasks threshold: the waiting POST answered with the task',
              r.status == 200 and res.get('resultType') == 'task' and body.get('id') == 't1',
              body)
        tid = res.get('taskId', 'none')
        r, got = tasks_req(srv, {}, 'tasks/cancel', tid, 'k')
        check('tasks threshold: cancelled', 'result' in (got or {}), got)
        check('tasks threshold: the idle engine freed',
              srv.wait_log(r'stateless engine 0 unused for 1000 ms: freed') is not None)
        r, got = tasks_req(srv, {}, 'tasks/get', tid, 'g')
        check('tasks threshold: a new engine knows no old task',
              (got or {}).get('error', {}).get('code') == -32602, got)
    finally:
        check('tasks threshold: clean exit', srv.stop() == 0)


def metrics_text(srv, headers=None):
    c = srv.conn()
    c.request('GET', '/metrics', headers=headers or {})
    return c.getresponse().read().decode()


def case_status(binary, root):
    """ctxd://status in HTTP mode, in both eras, with the daemon's figures (sessions, requests
    in flight and tasks over every engine, bytes owed to clients, connections); the minute
    log line (ended at once by the test hook notification ctxd.test/minute); and in
    GET /metrics the tasks by status and the event-loop lag."""
    srv = Server(binary, root, config='tasks:\n  after_ms: 0\nhttp:\n  metrics: true\n')
    try:
        st, sid, _ = initialize(srv)
        post(srv, {'jsonrpc': '2.0', 'method': 'notifications/initialized'},
             legacy_headers(sid)).read()
        body = read_json(post(srv, {'jsonrpc': '2.0', 'id': 2, 'method': 'resources/list'},
                              legacy_headers(sid)))
        uris = [x.get('uri') for x in (body or {}).get('result', {}).get('resources', [])]
        check('status: offered to a session', 'ctxd://status' in uris, uris)
        # a task held running in the stateless era: counted by a session's status read
        r, body = tasks_call(srv, {}, 'c1', hold='until-cancelled')
        tid = (body or {}).get('result', {}).get('taskId', 'none')
        body = read_json(post(srv, {'jsonrpc': '2.0', 'id': 3, 'method': 'resources/read',
                                    'params': {'uri': 'ctxd://status'}}, legacy_headers(sid)))
        try:
            fig = json.loads(body['result']['contents'][0]['text'])
        except (KeyError, IndexError, TypeError, ValueError):
            fig = {}
        check('status: legacy read', fig.get('sessions') == 1 and fig.get('tasks_live') == 1
              and fig.get('requests_in_flight') == 1 and
              isinstance(fig.get('http_connections'), int) and fig['http_connections'] >= 1 and
              isinstance(fig.get('bytes_owed'), int) and 'loop_lag_p99_ms' in fig, body)
        r = post(srv, modern('resources/read', {'uri': 'ctxd://status'}),
                 modern_headers('resources/read', 'ctxd://status'))
        body = read_json(r)
        try:
            fig = json.loads(body['result']['contents'][0]['text'])
        except (KeyError, IndexError, TypeError, ValueError):
            fig = {}
        check('status: modern read', fig.get('sessions') == 1 and fig.get('tasks_live') == 1,
              body)
        # Landlock is on (the root only; not in a portable build): /proc/self/statm was
        # opened before it
        check('status: rss_bytes under Landlock', isinstance(fig.get('rss_bytes'), int) and
              fig['rss_bytes'] > 0, fig)
        text = metrics_text(srv)
        check('metrics: tasks by status (working)',
              re.search(r'^ctxd_tasks\{status="working"\} 1$', text, re.M), text[:400])
        count = re.search(r'^ctxd_event_loop_lag_seconds_count (\d+)$', text, re.M)
        inf = re.search(r'^ctxd_event_loop_lag_seconds_bucket\{le="\+Inf"\} (\d+)$', text, re.M)
        check('metrics: event-loop lag histogram', count and inf and
              count.group(1) == inf.group(1) and
              '# TYPE ctxd_event_loop_lag_seconds histogram' in text, text[-1500:])
        check('metrics: event-loop lag p99 gauge',
              re.search(r'^ctxd_event_loop_lag_p99_seconds (NaN|[0-9.e+-]+)$', text, re.M),
              text[-800:])
        tasks_req(srv, {}, 'tasks/cancel', tid, 'k')
        text = metrics_text(srv)
        check('metrics: tasks by status (cancelled)',
              re.search(r'^ctxd_tasks\{status="cancelled"\} 1$', text, re.M) and
              re.search(r'^ctxd_tasks\{status="working"\} 0$', text, re.M), text[:400])
        # the minute line: requests ran in this minute
        r = post(srv, {'jsonrpc': '2.0', 'method': 'ctxd.test/minute'}, legacy_headers(sid))
        r.read()
        line = srv.wait_log(r'status: requests=\d+ jobs=\d+ ')
        check('status: the minute line in HTTP mode', line and re.search(
            r'requests=[1-9]\d* .*tasks_live=1 .*sessions=1 http_connections=\d+', line), line)
    finally:
        check('status: clean exit', srv.stop() == 0)


def case_logs(binary, root):
    """Log forwarding over HTTP (notifications/message). 2025-11-25: after logging/setLevel,
    a record written while the server handles a session's request goes on that request's
    stream (its answer becomes SSE, the record first), one written for a notification the
    session POSTed goes on its GET stream; records below the level are not sent. 2026-07-28:
    only a request whose _meta carries io.modelcontextprotocol/logLevel gets records, on its
    own stream, at or above that level. No token appears in a forwarded record."""
    d = tempfile.mkdtemp(prefix='ctxd-http-logs-')
    tokens = os.path.join(d, 'tokens')
    with open(tokens, 'w') as f:
        f.write(f'{TOKEN_RW}\n')
    srv = Server(binary, root, config=f'tasks:\n  after_ms: 0\nhttp:\n  tokens_file: {tokens}\n')
    auth = {'Authorization': 'Bearer ' + TOKEN_RW}
    seen = []
    try:
        st, sid, _ = initialize(srv, auth)
        h = dict(legacy_headers(sid), **auth)
        post(srv, {'jsonrpc': '2.0', 'method': 'notifications/initialized'}, h).read()
        c = srv.conn()
        c.request('GET', '/mcp', headers=dict(auth, **{'Mcp-Session-Id': sid,
                                                        'Accept': 'text/event-stream'}))
        events = sse_events(c.getresponse())
        body = read_json(post(srv, {'jsonrpc': '2.0', 'id': 2, 'method': 'logging/setLevel',
                                    'params': {'level': 'debug'}}, h))
        check('logs legacy: setLevel', 'result' in (body or {}), body)
        r = post(srv, {'jsonrpc': '2.0', 'method': 'notifications/whatever'}, h)
        r.read()
        ev = next(events, None)
        seen.append(ev)
        check('logs legacy: a notification\'s record on the GET stream',
              (ev or {}).get('method') == 'notifications/message' and
              ev['params'].get('level') == 'debug' and
              'notifications/whatever' in str(ev['params'].get('data')), ev)
        r = post(srv, {'jsonrpc': '2.0', 'id': 3, 'method': 'tools/call', 'params': {
            'name': 'grep', 'arguments': {'pattern': 'hello', 'path': root},
            'task': {'ttl': 60000}}}, h)
        got = answer_events(r)
        seen.extend(got)
        check('logs legacy: the request\'s record on its own stream, before its answer',
              len(got) >= 2 and got[0].get('method') == 'notifications/message' and
              'became task' in str(got[0]['params'].get('data')) and got[-1].get('id') == 3 and
              'task' in got[-1].get('result', {}), got)
        # the record written when the task's work came back from the pool (it belongs to the
        # request, whose answer is out): on the GET stream, before the task's status
        tid = got[-1].get('result', {}).get('task', {}).get('taskId', 'none')
        before = []
        while True:
            ev = next(events, None)
            seen.append(ev)
            if ev is None or ev.get('method') == 'notifications/tasks/status':
                break
            before.append(ev)
        check('logs legacy: a completion\'s record on the GET stream',
              any(f'task {tid}: completed' in str(x.get('params', {}).get('data'))
                  for x in before) and ev is not None, (before, ev))
        # below the level: not sent (the next record on the GET stream is the later one)
        read_json(post(srv, {'jsonrpc': '2.0', 'id': 4, 'method': 'logging/setLevel',
                             'params': {'level': 'error'}}, h))
        post(srv, {'jsonrpc': '2.0', 'method': 'notifications/below'}, h).read()
        read_json(post(srv, {'jsonrpc': '2.0', 'id': 5, 'method': 'logging/setLevel',
                             'params': {'level': 'debug'}}, h))
        post(srv, {'jsonrpc': '2.0', 'method': 'notifications/above'}, h).read()
        while True:
            ev = next(events, None)
            seen.append(ev)
            if ev is None or ev.get('method') == 'notifications/message':
                break
        check('logs legacy: nothing below the level',
              'notifications/above' in str((ev or {}).get('params', {}).get('data')), ev)
        c.close()
        # 2026-07-28: per request
        args = {'name': 'grep', 'arguments': {'pattern': 'hello', 'path': '.'}}
        hm = dict(auth, **modern_headers('tools/call', 'grep'))
        meta = dict(TASKS_META, **{'io.modelcontextprotocol/logLevel': 'debug'})
        r = post(srv, modern('tools/call', args, id_='m1', extra_meta=meta), hm)
        got = answer_events(r)
        seen.extend(got)
        check('logs modern: logLevel debug: the record on the request\'s stream first',
              len(got) >= 2 and all(x.get('method') == 'notifications/message'
                                    for x in got[:-1]) and
              any('became task' in str(x['params'].get('data')) for x in got[:-1]) and
              got[-1].get('id') == 'm1' and got[-1].get('result', {}).get('resultType') ==
              'task', got)
        for label, extra in (('no logLevel', TASKS_META),
                             ('logLevel error', dict(TASKS_META, **{
                                 'io.modelcontextprotocol/logLevel': 'error'}))):
            r = post(srv, modern('tools/call', args, id_='m2', extra_meta=extra), hm)
            body = read_json(r)
            check(f'logs modern: {label}: no record, a plain JSON answer',
                  r.getheader('Content-Type') == 'application/json' and
                  (body or {}).get('result', {}).get('resultType') == 'task', body)
        check('logs: no token in a forwarded record', TOKEN_RW not in json.dumps(seen), seen)
    finally:
        check('logs: clean exit', srv.stop() == 0)
        check('logs: no token in the log', TOKEN_RW not in ''.join(x for x in srv.log if x))
        shutil.rmtree(d, ignore_errors=True)


def case_engines_cap(binary, root):
    """Each bearer token in use has its own stateless engine; at most http.max_sessions of
    them live at once: one more token gets 503, the tokens in use go on."""
    d = tempfile.mkdtemp(prefix='ctxd-http-cap-')
    tokens = os.path.join(d, 'tokens')
    with open(tokens, 'w') as f:
        f.write(f'{TOKEN_RW}\n{TOKEN_RW2}\n')
    srv = Server(binary, root, config=f'http:\n  tokens_file: {tokens}\n  max_sessions: 1\n')
    try:
        for label, tok, want in (('first token', TOKEN_RW, 200), ('second token', TOKEN_RW2, 503),
                                 ('first token again', TOKEN_RW, 200)):
            r = post(srv, modern('tools/list'), dict(
                {'Authorization': 'Bearer ' + tok}, **modern_headers('tools/list')))
            body = read_json(r)
            check(f'engines cap: {label} {want}', r.status == want, (r.status, body))
            if want == 503:
                check('engines cap: the refusal names the limit', 'http.max_sessions' in
                      (body or {}).get('error', {}).get('message', ''), body)
    finally:
        check('engines cap: clean exit', srv.stop() == 0)
        shutil.rmtree(d, ignore_errors=True)


def case_tasks_legacy(binary, root):
    """MCP tasks of 2025-11-25 within a session: tools/call with params.task answered with
    the task, notifications/tasks/status on the session's GET stream, tasks/get,
    tasks/result (answered when the task ends), tasks/list and tasks/cancel on later POSTs;
    another session knows none of its tasks."""
    srv = Server(binary, root)
    try:
        st, sid, body = initialize(srv)
        check('tasks legacy: the tasks capability', 'tasks' in (body or {}).get(
            'result', {}).get('capabilities', {}), body)
        post(srv, {'jsonrpc': '2.0', 'method': 'notifications/initialized'},
             legacy_headers(sid)).read()
        c = srv.conn()
        c.request('GET', '/mcp', headers={'Mcp-Session-Id': sid, 'Accept': 'text/event-stream'})
        g = c.getresponse()
        events = sse_events(g)

        def call(id_, hold=None):
            p = {'name': 'grep', 'arguments': {'pattern': 'hello', 'path': root},
                 'task': {'ttl': 60000}}
            if hold is not None:
                p['_meta'] = {'ctxd.test/hold': hold}
            r = post(srv, {'jsonrpc': '2.0', 'id': id_, 'method': 'tools/call', 'params': p},
                     legacy_headers(sid))
            return read_json(r)

        def req(id_, method, params, session=None):
            r = post(srv, {'jsonrpc': '2.0', 'id': id_, 'method': method, 'params': params},
                     legacy_headers(session or sid))
            return read_json(r)

        body = call(2)
        task = (body or {}).get('result', {}).get('task', {})
        tid = task.get('taskId', 'none')
        check('tasks legacy: tools/call answered with a task', task.get('status') == 'working'
              and body.get('id') == 2, body)
        ev = next(events, None)
        check('tasks legacy: notifications/tasks/status on the GET stream',
              (ev or {}).get('method') == 'notifications/tasks/status' and
              ev['params'].get('taskId') == tid and ev['params'].get('status') == 'completed',
              ev)
        got = req(3, 'tasks/get', {'taskId': tid})
        check('tasks legacy: tasks/get', (got or {}).get('result', {}).get('status') ==
              'completed', got)
        got = req(4, 'tasks/result', {'taskId': tid})
        res = (got or {}).get('result', {})
        check('tasks legacy: tasks/result is the call\'s result',
              'hello' in json.dumps(res.get('content')) and res.get('_meta', {}).get(
                  'io.modelcontextprotocol/related-task') == {'taskId': tid}, got)
        got = req(5, 'tasks/list', {})
        check('tasks legacy: tasks/list', [t.get('taskId') for t in (got or {}).get(
            'result', {}).get('tasks', [])] == [tid], got)
        # tasks/result of a running task is answered when it ends (the work is held until
        # cancelled; tasks/cancel on another POST ends it)
        body = call(6, hold='until-cancelled')
        tid2 = (body or {}).get('result', {}).get('task', {}).get('taskId', 'none')
        rc = srv.conn()
        rc.request('POST', '/mcp', body=json.dumps({
            'jsonrpc': '2.0', 'id': 7, 'method': 'tasks/result', 'params': {'taskId': tid2}}),
            headers=dict(legacy_headers(sid), **{
                'Content-Type': 'application/json',
                'Accept': 'application/json, text/event-stream'}))
        got = req(8, 'tasks/cancel', {'taskId': tid2})
        check('tasks legacy: tasks/cancel', (got or {}).get('result', {}).get('status') ==
              'cancelled', got)
        ev = next(events, None)
        check('tasks legacy: the cancelled status on the GET stream',
              (ev or {}).get('params', {}).get('taskId') == tid2 and
              ev['params'].get('status') == 'cancelled', ev)
        held = read_json(rc.getresponse())
        check('tasks legacy: the waiting tasks/result answered when the task ended',
              (held or {}).get('id') == 7 and 'cancelled' in json.dumps(
                  held.get('error', {})), held)
        # another session does not see this session's tasks
        st, sid2, _ = initialize(srv)
        got = req(9, 'tasks/get', {'taskId': tid}, session=sid2)
        check('tasks legacy: another session\'s tasks/get refused',
              (got or {}).get('error', {}).get('code') == -32602, got)
        c.close()
    finally:
        check('tasks legacy: clean exit', srv.stop() == 0)


def main():
    binary = os.path.abspath(sys.argv[1])
    root = make_root()
    try:
        for case in (case_refuse_network, case_legacy, case_modern, case_security,
                     case_shutdown, case_shutdown_held, case_output_cap, case_limits, case_delete_inflight,
                     case_tasks_legacy, case_tasks_modern, case_tasks_threshold, case_status,
                     case_logs, case_engines_cap):
            if sys.argv[2:] and case.__name__[5:] not in sys.argv[2:]:
                continue
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
