#!/usr/bin/env python3
"""Streamable HTTP, the transport's safety cases: the per-address connection limit, TLS with
a real certificate, batches, a cancelled request's POST, requestState bound to the token,
SSE resumption (Last-Event-ID).

usage: httpsec_test.py CTXD_BINARY

Built on tests/http/http_test.py's helpers (one ctxd --http per case, port 0, waits for
answers, events, log lines or EOF only). Exit 0 when every check passed, 1 otherwise.
"""
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_test as ht  # noqa: E402
from http_test import (HANG_GUARD, LEGACY, Server, check, initialize, legacy_headers,  # noqa: E402
                       post, read_json)


def sse_messages(r):
    """[(event id or None, message)] of an SSE response until its end (chunked framing
    decoded, so the end of the stream is seen on a kept-alive connection)."""
    out = []
    while True:
        e = next_event(r)
        if e is None:
            return out
        out.append(e)


def recv_eof(s):
    """True when the server closed `s` (EOF or reset) before sending anything."""
    try:
        return s.recv(100) == b''
    except ConnectionResetError:
        return True


def case_per_ip(binary, root):
    """http.max_connections_per_ip: the (N+1)th connection from 127.0.0.1 is closed at
    once, the N held ones are still served, and another address is served meanwhile."""
    limit = 2
    srv = Server(binary, root, config=f'http:\n  max_connections_per_ip: {limit}\n')
    socks = []
    try:
        for _ in range(limit):
            s = socket.create_connection(('127.0.0.1', srv.port), timeout=HANG_GUARD)
            s.sendall(b'GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n' % srv.port)  # unfinished
            socks.append(s)
        extra = socket.create_connection(('127.0.0.1', srv.port), timeout=HANG_GUARD)
        check('per-ip: the extra connection is closed', recv_eof(extra))
        extra.close()
        other = socket.create_connection(('127.0.0.1', srv.port), timeout=HANG_GUARD,
                                         source_address=('127.0.0.2', 0))
        other.sendall(b'GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n' % srv.port)
        data = other.recv(100)
        check('per-ip: another address is served', data.startswith(b'HTTP/1.1 405'), data)
        other.close()
        for i, s in enumerate(socks):
            s.sendall(b'\r\n')
            data = s.recv(100)
            check(f'per-ip: held connection {i} served', data.startswith(b'HTTP/1.1 405'),
                  data)
    finally:
        for s in socks:
            s.close()
        check('per-ip: clean exit', srv.stop() == 0)


def make_cert(d, name):
    """A self-signed certificate for 127.0.0.1 and localhost (openssl): (cert, key)."""
    cert, key = os.path.join(d, name + '.pem'), os.path.join(d, name + '.key')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj',
                    '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
                    '-keyout', key, '-out', cert], check=True, capture_output=True,
                   timeout=HANG_GUARD)
    return cert, key


def case_tls(binary, root):
    """http.tls_cert/http.tls_key: initialize and a tools/call over https with the
    certificate as the client's CA; a client trusting another certificate fails, and so
    does plain HTTP."""
    d = tempfile.mkdtemp(prefix='ctxd-http-tls-')
    cert, key = make_cert(d, 'server')
    other, _ = make_cert(d, 'other')
    srv = Server(binary, root, config=f'http:\n  tls_cert: {cert}\n  tls_key: {key}\n')
    try:
        check('tls: listening', srv.port > 0, srv.log)
        check('tls: logged as https', any(x and 'listening on https://' in x for x in srv.log),
              srv.log)
        ctx = ssl.create_default_context(cafile=cert)

        def conn():
            return http.client.HTTPSConnection('127.0.0.1', srv.port, timeout=HANG_GUARD,
                                               context=ctx)
        srv.conn = conn
        st, sid, body = initialize(srv)
        check('tls: initialize over https', st == 200 and sid and 'result' in body, (st, body))
        r = post(srv, {'jsonrpc': '2.0', 'method': 'notifications/initialized'},
                 legacy_headers(sid))
        r.read()
        check('tls: initialized 202', r.status == 202, r.status)
        call = {'jsonrpc': '2.0', 'id': 2, 'method': 'tools/call', 'params': {
            'name': 'read_text_file', 'arguments': {'path': os.path.join(root, 'a.txt')}}}
        r = post(srv, call, legacy_headers(sid))
        body = read_json(r)
        text = (body or {}).get('result', {}).get('content', [{}])[0].get('text')
        check('tls: tools/call over https', r.status == 200 and text == 'hello\n', body)
        bad = http.client.HTTPSConnection('127.0.0.1', srv.port, timeout=HANG_GUARD,
                                          context=ssl.create_default_context(cafile=other))
        try:
            bad.request('GET', '/mcp')
            bad.getresponse()
            failed = False
        except ssl.SSLCertVerificationError:
            failed = True
        check('tls: a client trusting another certificate fails', failed)
        plain = ht.Server.conn(srv)
        try:
            plain.request('GET', '/mcp', headers={'Host': '127.0.0.1:%d' % srv.port})
            plain.getresponse().read()
            served = True
        except (ConnectionError, http.client.HTTPException, OSError):
            served = False
        check('tls: plain HTTP is not served', not served)
        st, _, _ = initialize(srv)
        check('tls: served after the failed handshakes', st == 200, st)
    finally:
        check('tls: clean exit', srv.stop() == 0)
        shutil.rmtree(d, ignore_errors=True)


def held_call(srv, root, sid, id_, accept):
    """POST a tools/call held by the test hook until cancelled, on its own connection."""
    held = {'jsonrpc': '2.0', 'id': id_, 'method': 'tools/call', 'params': {
        'name': 'read_text_file', 'arguments': {'path': os.path.join(root, 'a.txt')},
        '_meta': {'ctxd.test/hold': 'until-cancelled'}}}
    c = srv.conn()
    c.request('POST', '/mcp', body=json.dumps(held), headers=dict(
        legacy_headers(sid), **{'Content-Type': 'application/json', 'Accept': accept}))
    return c


def case_cancel_post(binary, root):
    """2025-11-25 notifications/cancelled for a POSTed request: the engine does not answer
    it, so the transport ends the POST itself: an SSE answer closes with no response, a
    JSON-only one gets a JSON-RPC error for its id; the id is free again at once."""
    srv = Server(binary, root, config='http:\n  metrics: true\n')
    try:
        st, sid, _ = initialize(srv)
        for id_, accept in ((5, 'application/json, text/event-stream'),
                            (6, 'application/json')):
            c = held_call(srv, root, sid, id_, accept)
            ok = ht.wait_until(lambda: ht.metric(srv, 'ctxd_inflight_requests') == 1)
            check(f'cancel {id_}: held request in flight', ok)
            r = post(srv, {'jsonrpc': '2.0', 'method': 'notifications/cancelled',
                           'params': {'requestId': id_, 'reason': 'test'}},
                     legacy_headers(sid))
            r.read()
            check(f'cancel {id_}: notification 202', r.status == 202, r.status)
            c.sock.settimeout(60)  # before the fix the answer never came: fail, do not hang
            try:
                r = c.getresponse()
                ctype = r.getheader('Content-Type') or ''
                body = (sse_messages(r) if ctype.startswith('text/event-stream')
                        else read_json(r))
            except (socket.timeout, ConnectionError, http.client.HTTPException) as e:
                r, ctype, body = None, '', repr(e)
            if id_ == 5:
                check('cancel: the SSE answer ends without a response',
                      r is not None and r.status == 200 and body == [], (ctype, body))
            else:
                check('cancel: the JSON answer is an error for its id',
                      r is not None and isinstance(body, dict) and body.get('id') == 6 and
                      'error' in body, body)
            ok = ht.wait_until(lambda: ht.metric(srv, 'ctxd_inflight_requests') == 0)
            check(f'cancel {id_}: nothing left in flight', ok)
            r = post(srv, {'jsonrpc': '2.0', 'id': id_, 'method': 'ping'}, legacy_headers(sid))
            body = read_json(r)
            check(f'cancel {id_}: the id is free again', r.status == 200 and
                  isinstance(body, dict) and 'result' in body, body)
    finally:
        check('cancel: clean exit', srv.stop() == 0)


def case_batches(binary, root):
    """An array POSTed is refused in every era, 2025-03-26 sessions included (batches were
    removed in 2025-06-18; over HTTP one message goes per POST): 400 with a -32600 error
    whose id is null, and nothing in the array is run."""
    srv = Server(binary, root)
    try:
        r = post(srv, {'jsonrpc': '2.0', 'id': 1, 'method': 'initialize', 'params': {
            'protocolVersion': '2025-03-26', 'capabilities': {},
            'clientInfo': {'name': 'http-test', 'version': '1'}}})
        body = read_json(r)
        sid = r.getheader('Mcp-Session-Id')
        check('batch: 2025-03-26 session', body['result']['protocolVersion'] == '2025-03-26',
              body)
        h = {'Mcp-Session-Id': sid}
        for arr in ([], [1, 2], [{}, {'jsonrpc': '2.0', 'id': 1, 'method': 'ping'}],
                    [{'jsonrpc': '2.0', 'id': True, 'method': 'ping'}],
                    [{'jsonrpc': '2.0', 'id': 'a', 'method': 'ping'}]):
            r = post(srv, arr, h)
            body = read_json(r)
            check(f'batch: refused in a 2025-03-26 session: {arr!r}', r.status == 400 and
                  body.get('id', 0) is None and body['error']['code'] == -32600 and
                  'one message per POST' in body['error']['message'], (r.status, body))
        r = post(srv, {'jsonrpc': '2.0', 'id': 'a', 'method': 'ping'}, h)
        body = read_json(r)
        check('batch: the session goes on, the id was never taken', 'result' in body, body)
        st, lsid, _ = initialize(srv)
        r = post(srv, [{'jsonrpc': '2.0', 'id': 2, 'method': 'ping'}], legacy_headers(lsid))
        body = read_json(r)
        check('batch: refused in a 2025-11-25 session', r.status == 400 and
              body.get('id', 0) is None and body['error']['code'] == -32600, (r.status, body))
        r = post(srv, [ht.modern('ping')], ht.modern_headers('ping'))
        body = read_json(r)
        check('batch: refused in the 2026-07-28 era', r.status == 400 and
              body.get('id', 0) is None and body['error']['code'] == -32600, (r.status, body))
    finally:
        check('batch: clean exit', srv.stop() == 0)


def case_resume_oversize(binary, root):
    """An event larger than http.replay_buffer_bytes (here a 144-byte log record against a
    130-byte buffer) is never held: a Last-Event-ID from before it is answered 410, not
    replayed with that event silently missing; one from it on is replayed."""
    srv = Server(binary, root,
                 config='http:\n  replay_buffer_bytes: 130\n  keepalive_ms: 3600000\n')
    try:
        sid, c1, g1 = roots_session(srv)
        read_json(post(srv, {'jsonrpc': '2.0', 'id': 2, 'method': 'logging/setLevel',
                             'params': {'level': 'debug'}}, legacy_headers(sid)))
        roots_list_changed(srv, sid)
        post(srv, {'jsonrpc': '2.0', 'method': 'notifications/bogus'},
             legacy_headers(sid)).read()  # its debug record goes on the GET stream
        roots_list_changed(srv, sid)
        got = []
        while sum(1 for e in got if e[1].get('method') == 'roots/list') < 3:
            e = next_event(g1)
            if e is None:
                break
            got.append(e)
        size = [len(json.dumps(e[1], separators=(',', ':'))) for e in got]
        big = [i for i, n in enumerate(size) if n > 130]
        check('oversize: a record larger than the buffer was sent, two events before it and '
              'one after', len(big) == 1 and 2 <= big[0] < len(got) - 1, (size, got))
        if len(big) == 1 and 2 <= big[0] < len(got) - 1:
            # the event right after the resume point is still held: only the record is not
            c2, g2 = open_get(srv, sid, last=got[big[0] - 2][0])
            body = read_json(g2)
            check('oversize: a resume from before it is 410', g2.status == 410 and
                  'no longer held' in body['error']['message'], (g2.status, body))
            c3, g3 = open_get(srv, sid, last=got[big[0]][0])
            replay = [next_event(g3) for _ in range(len(got) - big[0] - 1)]
            check('oversize: a resume from it replays what follows', g3.status == 200 and
                  replay == got[big[0] + 1:], (g3.status, replay))
            c2.close()
            c3.close()
        c1.close()
    finally:
        check('oversize: clean exit', srv.stop() == 0)


def case_state_principal(binary, root):
    """MRTR (2026-07-28, no directory configured): a requestState issued to token A is
    refused with -32602 when token B sends it back, and served for A."""
    d = tempfile.mkdtemp(prefix='ctxd-http-mrtr-')
    tokens = os.path.join(d, 'tokens')
    tok_a, tok_b = 'token-a-0123456789abcdef', 'token-b-0123456789abcdef'
    with open(tokens, 'w') as f:
        f.write(f'{tok_a}\n{tok_b}\n')
    srv = Server(binary, '--', config=f'http:\n  tokens_file: {tokens}\n')  # no directory
    caps = {'io.modelcontextprotocol/clientCapabilities': {'roots': {}}}
    args = {'name': 'read_text_file', 'arguments': {'path': os.path.join(root, 'a.txt')}}
    hdr = ht.modern_headers('tools/call', 'read_text_file')

    def call(token, extra=None):
        body = ht.modern('tools/call', dict(args, **(extra or {})), extra_meta=caps)
        r = post(srv, body, dict(hdr, Authorization='Bearer ' + token))
        return r.status, read_json(r)

    try:
        st, body = call(tok_a)
        state = (body or {}).get('result', {}).get('requestState')
        check('mrtr: token A asked for its roots', st == 200 and state, body)
        retry = {'requestState': state,
                 'inputResponses': {'roots': {'roots': [{'uri': 'file://' + root}]}}}
        st, body = call(tok_b, retry)
        err = (body or {}).get('error', {})
        check('mrtr: token B cannot use A\'s requestState', err.get('code') == -32602 and
              'another client' in err.get('message', ''), body)
        st, body = call(tok_a, retry)
        text = (body or {}).get('result', {}).get('content', [{}])[0].get('text')
        check('mrtr: token A\'s retry served', text == 'hello\n', body)
    finally:
        check('mrtr: clean exit', srv.stop() == 0)
        shutil.rmtree(d, ignore_errors=True)


def next_event(r):
    """The next (event id, message) of an open SSE response, or None at its end."""
    data, eid = [], None
    while True:
        line = r.readline()
        if not line:
            return None
        line = line.decode().rstrip('\r\n')
        if line.startswith('data:'):
            data.append(line[5:].lstrip())
        elif line.startswith('id:'):
            eid = line[3:].strip()
        elif line == '' and data:
            return eid, json.loads('\n'.join(data))


def open_get(srv, sid, last=None):
    h = dict(legacy_headers(sid), Accept='text/event-stream')
    if last is not None:
        h['Last-Event-ID'] = last
    c = srv.conn()
    c.request('GET', '/mcp', headers=h)
    return c, c.getresponse()


def roots_list_changed(srv, sid):
    """The client's roots changed: the server sends a roots/list request."""
    r = post(srv, {'jsonrpc': '2.0', 'method': 'notifications/roots/list_changed'},
             legacy_headers(sid))
    r.read()
    return r.status


def roots_session(srv):
    """A 2025-11-25 session of a client with roots, its GET stream open, initialized (the
    server's roots/list request is the stream's first event): (sid, connection, stream)."""
    st, sid, _ = initialize(srv, caps={'roots': {}})
    c, g = open_get(srv, sid)
    post(srv, {'jsonrpc': '2.0', 'method': 'notifications/initialized'},
         legacy_headers(sid)).read()
    return sid, c, g


def case_resume_get(binary, root):
    """Last-Event-ID on the session's GET stream: its events carry ids 0-N; a GET naming
    one replays the later ones of that stream and goes on as the GET stream (the stale one
    is closed)."""
    srv = Server(binary, root, config='http:\n  keepalive_ms: 3600000\n')
    try:
        sid, c1, g1 = roots_session(srv)
        roots_list_changed(srv, sid)
        roots_list_changed(srv, sid)
        got = [next_event(g1) for _ in range(3)]
        ids = [e and e[0] for e in got]
        check('resume: GET events carry ids 0-1, 0-2, 0-3', ids == ['0-1', '0-2', '0-3'], got)
        c2, g2 = open_get(srv, sid, last='0-1')
        check('resume: GET with Last-Event-ID is a stream', g2.status == 200 and
              g2.getheader('Content-Type') == 'text/event-stream', g2.status)
        replay = [next_event(g2) for _ in range(2)]
        check('resume: the missed events replayed, ids and messages as sent',
              replay == got[1:], (replay, got))
        check('resume: the stale GET stream is closed', next_event(g1) is None)
        roots_list_changed(srv, sid)
        e = next_event(g2)
        check('resume: the resumed stream goes on', e and e[0] == '0-4' and
              e[1].get('method') == 'roots/list', e)
        c2.close()
        c1.close()
    finally:
        check('resume: clean exit', srv.stop() == 0)


def case_resume_post(binary, root):
    """Last-Event-ID naming a POST's stream: a tools/call waiting for the client's roots
    streams the roots/list request (id 1-1); the client drops that connection, answers the
    roots, and resumes with a GET: the call's response (1-2) comes on the GET, then it ends.
    Only that stream's events are replayed."""
    srv = Server(binary, root, config='http:\n  keepalive_ms: 3600000\n')
    try:
        st, sid, _ = initialize(srv, caps={'roots': {}})
        post(srv, {'jsonrpc': '2.0', 'method': 'notifications/initialized'},
             legacy_headers(sid)).read()  # roots/list 1: kept for the GET stream
        call = {'jsonrpc': '2.0', 'id': 7, 'method': 'tools/call', 'params': {
            'name': 'read_text_file', 'arguments': {'path': os.path.join(root, 'a.txt')}}}
        c = srv.conn()
        c.request('POST', '/mcp', body=json.dumps(call), headers=dict(
            legacy_headers(sid), **{'Content-Type': 'application/json',
                                    'Accept': 'application/json, text/event-stream'}))
        roots_list_changed(srv, sid)  # roots/list 2: on the open POST's stream
        r = c.getresponse()
        first = next_event(r) if r.status == 200 else None
        check('resume: the POST streams the roots/list request as 1-1',
              first and first[0] == '1-1' and first[1].get('method') == 'roots/list', first)
        c.close()  # the connection drops before the response
        for n in (1, 2):
            post(srv, {'jsonrpc': '2.0', 'id': f'ctxd-roots-{n}',
                       'result': {'roots': [{'uri': 'file://' + root}]}},
                 legacy_headers(sid)).read()
        c2, g = open_get(srv, sid, last='1-1')
        events = []
        try:
            for _ in range(3):  # the stream must end after one event: read a few at most
                e = next_event(g)
                if e is None:
                    break
                events.append(e)
        except socket.timeout:  # no keep-alive comment comes (keepalive_ms: an hour)
            events.append('timed out')
        check('resume: the POST stream resumed on a GET: its response, then the end',
              g.status == 200 and len(events) == 1 and events[0][0] == '1-2' and
              events[0][1].get('id') == 7 and
              events[0][1].get('result', {}).get('content', [{}])[0].get('text') == 'hello\n',
              (g.status, events))
        c2.close()
    finally:
        check('resume post: clean exit', srv.stop() == 0)


def case_resume_gone(binary, root):
    """Past http.replay_buffer_bytes: a Last-Event-ID whose following events were forgotten
    is answered 410 with a JSON-RPC error saying so; one still covered is replayed; an id
    the session never issued is 400."""
    srv = Server(binary, root,
                 config='http:\n  replay_buffer_bytes: 1024\n  keepalive_ms: 3600000\n')
    try:
        sid, c1, g1 = roots_session(srv)
        for _ in range(29):
            roots_list_changed(srv, sid)
        got = [next_event(g1) for _ in range(30)]
        check('gone: 30 events', got[-1] and got[-1][0] == '0-30', got[-1])
        c2, g2 = open_get(srv, sid, last='0-1')
        body = read_json(g2)
        check('gone: forgotten events answered 410', g2.status == 410 and
              body['error']['code'] == -32600 and 'no longer held' in body['error']['message'],
              (g2.status, body))
        c3, g3 = open_get(srv, sid, last='9-1')
        body = read_json(g3)
        check('gone: an id never issued is 400', g3.status == 400 and 'error' in body,
              (g3.status, body))
        c4, g4 = open_get(srv, sid, last='0-28')
        replay = [next_event(g4) for _ in range(2)]
        check('gone: events still held are replayed', g4.status == 200 and
              replay == got[28:], (g4.status, replay))
        for c in (c1, c2, c3, c4):
            c.close()
    finally:
        check('gone: clean exit', srv.stop() == 0)


def case_roots_worker(binary, root):
    """A 2025-11-25 session's roots/list answer is resolved on a worker, not on the loop
    thread: while its resolution is held (test hook ctxd.test/hold in the answer's _meta,
    released by the session's next frame) the loop answers a ping; a call made after the
    answer runs on the roots it sent (narrowed to root/sub)."""
    sub = os.path.join(root, 'sub')
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, 'b.txt'), 'w') as f:
        f.write('bee\n')
    srv = Server(binary, root, config='http:\n  keepalive_ms: 3600000\n')
    try:
        sid, c1, g1 = roots_session(srv)
        e = next_event(g1)
        check('roots: asked for the roots', e and e[1].get('method') == 'roots/list', e)
        r = post(srv, {'jsonrpc': '2.0', 'id': e[1]['id'], 'result': {
            'roots': [{'uri': 'file://' + sub}], '_meta': {'ctxd.test/hold': True}}},
            legacy_headers(sid))
        r.read()
        check('roots: answer 202', r.status == 202, r.status)
        try:
            r = post(srv, {'jsonrpc': '2.0', 'id': 2, 'method': 'ping'}, legacy_headers(sid))
            body = read_json(r)
        except (socket.timeout, ConnectionError, http.client.HTTPException) as ex:
            body = repr(ex)  # the loop was stuck resolving the roots
        check('roots: the loop answers a ping while the roots resolve',
              isinstance(body, dict) and 'result' in body, body)

        def read(path, id_):
            r = post(srv, {'jsonrpc': '2.0', 'id': id_, 'method': 'tools/call', 'params': {
                'name': 'read_text_file', 'arguments': {'path': path}}}, legacy_headers(sid))
            msgs = ([m for _, m in sse_messages(r)] if (r.getheader('Content-Type') or '')
                    .startswith('text/event-stream') else [read_json(r)])
            return next((m for m in msgs if m.get('id') == id_), msgs)
        body = read(os.path.join(root, 'a.txt'), 3)
        check('roots: outside the client\'s root refused',
              body.get('result', {}).get('isError') is True, body)
        body = read(os.path.join(sub, 'b.txt'), 4)
        check('roots: inside it served',
              body.get('result', {}).get('content', [{}])[0].get('text') == 'bee\n', body)
        c1.close()
    finally:
        check('roots: clean exit', srv.stop() == 0)
        shutil.rmtree(sub, ignore_errors=True)


def case_mrtr_worker(binary, root):
    """An MRTR retry's roots (2026-07-28, no directory configured) are resolved on a worker,
    not on the loop thread: while their resolution is held (test hook ctxd.test/hold_roots,
    released by the engine's next frame) the loop answers server/discover; then the retry is
    served on those roots."""
    srv = Server(binary, '--', config='http:\n  metrics: true\n  keepalive_ms: 3600000\n')
    caps = {'io.modelcontextprotocol/clientCapabilities': {'roots': {}}}
    args = {'name': 'read_text_file', 'arguments': {'path': os.path.join(root, 'a.txt')}}
    hdr = ht.modern_headers('tools/call', 'read_text_file')
    try:
        r = post(srv, ht.modern('tools/call', args, extra_meta=caps), hdr)
        body = read_json(r)
        state = (body or {}).get('result', {}).get('requestState')
        check('mrtr worker: asked for the roots', state, body)
        retry = ht.modern('tools/call', dict(args, requestState=state, inputResponses={
            'roots': {'roots': [{'uri': 'file://' + root}]}}), id_=2,
            extra_meta=dict(caps, **{'ctxd.test/hold_roots': True}))
        c = srv.conn()
        c.request('POST', '/mcp', body=json.dumps(retry), headers=dict(
            hdr, **{'Content-Type': 'application/json',
                    'Accept': 'application/json, text/event-stream'}))
        ok = ht.wait_until(lambda: ht.metric(srv, 'ctxd_inflight_requests') == 1)
        check('mrtr worker: the retry is in flight', ok)
        try:
            r = post(srv, ht.modern('server/discover', id_=3),
                     ht.modern_headers('server/discover'))
            body = read_json(r)
        except (socket.timeout, ConnectionError, http.client.HTTPException) as ex:
            body = repr(ex)  # the loop was stuck resolving the roots
        check('mrtr worker: the loop answers server/discover while the roots resolve',
              isinstance(body, dict) and 'result' in body, body)
        try:
            r = c.getresponse()
            body = read_json(r)
        except (socket.timeout, ConnectionError, http.client.HTTPException) as ex:
            body = repr(ex)
        text = (body if isinstance(body, dict) else {}).get('result', {}).get(
            'content', [{}])[0].get('text')
        check('mrtr worker: the retry served on its roots', text == 'hello\n', body)
    finally:
        check('mrtr worker: clean exit', srv.stop() == 0)


def main():
    binary = os.path.abspath(sys.argv[1])
    root = ht.make_root()
    try:
        for case in (case_per_ip, case_tls, case_cancel_post, case_batches,
                     case_state_principal, case_resume_get, case_resume_post,
                     case_resume_gone, case_resume_oversize, case_roots_worker, case_mrtr_worker):
            try:
                case(binary, root)
            except Exception as e:  # a crash fails the case, the others still run
                check(case.__name__, False, repr(e))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f'httpsec: {ht.passed} passed, {len(ht.failures)} failed')
    sys.exit(1 if ht.failures else 0)


if __name__ == '__main__':
    main()
