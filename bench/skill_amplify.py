#!/usr/bin/env python3
"""Peak memory of one skill_activate whose body repeats `$0` 100,000 times.

usage: skill_amplify.py CTXD_BINARY ARG_BYTES issue|spaced

`issue`: the body is "$0" x 100,000 (issue 12 item 7); `spaced`: "$0 " x 100,000. One
skill_activate with an argument of ARG_BYTES bytes; prints the answer's size, the time it
took and ctxd's peak RSS (VmHWM). Careful with old binaries: 10,000 bytes made them build
gigabytes.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def main():
    binary, argsize, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    base = tempfile.mkdtemp(prefix="ctxd-amp-")
    root = os.path.join(base, "root")
    folder = os.path.join(root, ".claude", "skills", "amp")
    os.makedirs(folder)
    body = {"issue": "$0" * 100000, "spaced": "$0 " * 100000}[kind]
    with open(os.path.join(folder, "SKILL.md"), "w") as f:
        f.write("---\nname: amp\ndescription: Repeats its argument.\n---\n" + body)
    p = subprocess.Popen([binary, root], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=dict(os.environ, HOME=base))

    def send(m):
        p.stdin.write((json.dumps(m) + "\n").encode())
        p.stdin.flush()

    send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
          "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                     "clientInfo": {"name": "amp", "version": "1"}}})
    p.stdout.readline()
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    t0 = time.time()
    send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
          "params": {"name": "skill_activate",
                     "arguments": {"name": "amp", "arguments": "x" * argsize}}})
    while True:
        line = p.stdout.readline()
        if not line or json.loads(line).get("id") == 1:
            break
    took = time.time() - t0
    with open("/proc/%d/status" % p.pid) as f:
        hwm = [l.split()[1] for l in f if l.startswith("VmHWM")][0]
    res = json.loads(line)["result"] if line else {}
    print("answer %d bytes in %.2f s, isError %s, peak RSS %s kB" %
          (len(line), took, bool(res.get("isError")), hwm))
    p.stdin.close()
    p.wait()
    shutil.rmtree(base)


if __name__ == "__main__":
    main()
