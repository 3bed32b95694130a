#!/usr/bin/env python3
"""Two ctxd --http daemons behind Debian's nginx, as docs/deploy.md sets them up.

usage: nginx_test.py CTXD_BINARY

Starts daemons A and B on 127.0.0.1 port 0 (their ports read from their logs; session ids
prefixed "a-" and "b-" by http.session_prefix) on one directory, and nginx on a port chosen
free at run time, routing requests without Mcp-Session-Id round robin to both and a
session's requests by its prefix to the daemon that holds it, SSE unbuffered. Checks: 2025-11-25
sessions through nginx land on both daemons and stay pinned; stateless 2026-07-28 requests
are served; a subscriptions/listen stream passes through unbuffered (its first event
arrives while the stream is open); 1,000 memory-bank appends through nginx, spread over
both daemons (each serves some, their counts from /metrics add up), all land in the one
file, none lost. Exit 77 (skipped) without nginx, unless CI=true. Nothing waits for a time.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_test as ht  # noqa: E402

NGINX = '/usr/sbin/nginx'
N = 500  # appends per daemon's share (2 x 500)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nginx_conf(d, port, a, b):
    user = 'user root;\n' if os.geteuid() == 0 else ''
    return f'''{user}worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream ctxd_any {{ server 127.0.0.1:{a}; server 127.0.0.1:{b}; keepalive 16; }}
  upstream ctxd_a {{ server 127.0.0.1:{a}; keepalive 8; }}
  upstream ctxd_b {{ server 127.0.0.1:{b}; keepalive 8; }}
  map $http_mcp_session_id $ctxd_upstream {{
    "~^a-" ctxd_a;
    "~^b-" ctxd_b;
    default ctxd_any;
  }}
  server {{
    listen 127.0.0.1:{port};
    location /mcp {{
      proxy_pass http://$ctxd_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 1h;
    }}
  }}
}}
'''


class Proxy:
    """Just enough of ht.Server for ht.post: a port to connect to."""

    def __init__(self, port):
        self.port = port

    def conn(self):
        import http.client
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=ht.HANG_GUARD)


def append_call(i, tag):
    return ht.modern('tools/call', {'name': 'memory_bank_write', 'arguments': {
        'file': 'log.md', 'section': 'Log', 'mode': 'append',
        'content': '- %s line %04d' % (tag, i)}}, id_=i)


def main():
    binary = os.path.abspath(sys.argv[1])
    if not os.path.exists(NGINX):
        if os.environ.get('CI') == 'true':
            print('FAIL (CI=true): nginx is needed (Debian nginx-light)', file=sys.stderr)
            return 1
        print('SKIP: nginx is needed (Debian nginx-light)', file=sys.stderr)
        return 77
    root = ht.make_root()
    d = tempfile.mkdtemp(prefix='ctxd-nginx-')
    cfg = ('http:\n  allowed_hosts: ["127.0.0.1"]\n  metrics: true\n'
           '  session_prefix: %s\n')
    a = ht.Server(binary, root, config=cfg % 'a')
    b = ht.Server(binary, root, config=cfg % 'b')
    port = free_port()
    with open(os.path.join(d, 'nginx.conf'), 'w') as f:
        f.write(nginx_conf(d, port, a.port, b.port))
    ng = subprocess.Popen([NGINX, '-c', os.path.join(d, 'nginx.conf'), '-p', d,
                           '-g', 'daemon off;'], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    px = Proxy(port)
    try:
        # wait until nginx answers (each try is a connection attempt, refused until it
        # listens; HANG_GUARD only turns a hang into a failure)
        up = False
        deadline = time.monotonic() + ht.HANG_GUARD
        while time.monotonic() < deadline:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=ht.HANG_GUARD).close()
                up = True
                break
            except ConnectionRefusedError:
                if ng.poll() is not None:
                    break
        if not ht.check('nginx: listening', up, ng.stderr.read().decode() if not up else ''):
            return 1
        # sessions: round robin over both daemons, then pinned by their prefix
        prefixes = set()
        for _ in range(4):
            st, sid, body = ht.initialize(px)
            ht.check('nginx: initialize 200', st == 200 and sid, (st, body))
            prefixes.add(sid.split('-')[0] if sid else None)
            for k in range(3):
                r = ht.post(px, {'jsonrpc': '2.0', 'id': 2 + k, 'method': 'tools/list'},
                            ht.legacy_headers(sid))
                body = ht.read_json(r)
                ht.check('nginx: session request pinned', r.status == 200 and
                         'result' in body, (r.status, body))
        ht.check('nginx: sessions on both daemons', prefixes == {'a', 'b'}, prefixes)
        # stateless requests
        r = ht.post(px, ht.modern('tools/list'), ht.modern_headers('tools/list'))
        body = ht.read_json(r)
        ht.check('nginx: stateless tools/list', r.status == 200 and 'result' in body, body)
        # SSE through the proxy, unbuffered: the listen acknowledgment arrives at once
        c = px.conn()
        c.request('POST', '/mcp', body=json.dumps(ht.modern('subscriptions/listen', {
            'notifications': {'toolsListChanged': True}}, id_='L')), headers=dict(
            ht.modern_headers('subscriptions/listen'),
            **{'Content-Type': 'application/json',
               'Accept': 'application/json, text/event-stream'}))
        ls = c.getresponse()
        first = next(ht.sse_events(ls), None)
        ht.check('nginx: listen stream event passes through', first and
                 first.get('params', {}).get('_meta', {}).get(
                     'io.modelcontextprotocol/subscriptionId') == 'L', first)
        c.close()
        # one bank file, appended to through nginx from both daemons
        r = ht.post(px, ht.modern('tools/call', {'name': 'memory_bank_init', 'arguments': {}}),
                    ht.modern_headers('tools/call', 'memory_bank_init'))
        ht.read_json(r)
        r = ht.post(px, ht.modern('tools/call', {'name': 'memory_bank_write', 'arguments': {
            'file': 'log.md', 'mode': 'create',
            'content': '# Changes\n\n## Log\n\n## After\n\nend\n'}}),
            ht.modern_headers('tools/call', 'memory_bank_write'))
        body = ht.read_json(r)
        ht.check('nginx: bank file created', r.status == 200 and
                 not body.get('result', {}).get('isError'), body)
        errors = []

        def worker(w):
            conn = px.conn()
            for i in range(w, 2 * N, 8):
                rr = ht.post(px, append_call(i, 'W'), ht.modern_headers(
                    'tools/call', 'memory_bank_write'), conn=conn)
                res = ht.read_json(rr)
                if rr.status != 200 or 'result' not in res or res['result'].get('isError'):
                    errors.append(res)
        ts = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        ht.check('nginx: every append succeeded', not errors, errors[:2])
        counts = []
        for s in (a, b):
            c = s.conn()
            c.request('GET', '/metrics')
            text = c.getresponse().read().decode()
            line = [x for x in text.splitlines() if x.startswith(
                'ctxd_tool_calls_total{tool="memory_bank_write"}')]
            counts.append(int(line[0].split()[-1]) if line else 0)
        # the 1,000 appends and the one create
        ht.check('nginx: both daemons appended', all(x > 0 for x in counts) and
                 sum(counts) == 2 * N + 1, counts)
        with open(os.path.join(root, 'memory-bank', 'log.md')) as f:
            text = f.read()
        lines = [x for x in text.split('\n') if x.startswith('- W line ')]
        want = {'- W line %04d' % i for i in range(2 * N)}
        ht.check('nginx: no append lost', len(lines) == 2 * N and set(lines) == want,
                 (len(lines), sorted(want - set(lines))[:3]))
    finally:
        ng.terminate()
        try:
            ng.wait(ht.HANG_GUARD)
        except subprocess.TimeoutExpired:
            ng.kill()
        ht.check('daemon a: clean exit', a.stop() == 0)
        ht.check('daemon b: clean exit', b.stop() == 0)
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    print(f'nginx: {ht.passed} passed, {len(ht.failures)} failed')
    return 1 if ht.failures else 0


if __name__ == '__main__':
    sys.exit(main())
