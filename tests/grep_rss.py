#!/usr/bin/env python3
"""Bounded memory after big answers (issue 13 item 4): ctxd's resident size after ten
100,000-match greps in a row stays at or below 64 MiB.

usage: grep_rss.py CTXD_BINARY

A tree of 100 files of 1,100 lines ("static int value_N;"), laid out in the test scratch
directory (fixtures.scratch()), is searched ten times for "static" with maxResults 100000
by one ctxd with 8 workers (the number of malloc arenas grows with the workers, which is what made memory
grow; the machine's CPU count does not matter). VmRSS is read from /proc/PID/status after
the ten answers were read: a size, not a time. Skipped (77) in sanitizer builds
(CTXD_SANITIZED=1), whose shadow memory is part of RSS.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

LIMIT_MIB = 64
CALLS = 10


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    if os.environ.get("CTXD_SANITIZED") == "1":
        print("sanitizer build: RSS includes shadow memory; skipped")
        return 77
    ctxd = sys.argv[1]
    base = tempfile.mkdtemp(prefix="ctxd-grep-rss-", dir=fixtures.scratch())
    try:
        tree = os.path.join(base, "t")
        for d in range(10):
            os.makedirs(os.path.join(tree, "d%d" % d))
            for f in range(10):
                with open(os.path.join(tree, "d%d" % d, "f%d.c" % f), "w") as fh:
                    fh.write("".join("static int value_%d;\n" % i for i in range(1100)))
        p = subprocess.Popen([ctxd, "--no-landlock", "-t", "8", tree], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        n = 0

        def call(method, params):
            nonlocal n
            n += 1
            p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": n, "method": method,
                                       "params": params}) + "\n").encode())
            p.stdin.flush()
            while True:
                line = p.stdout.readline()
                if not line:
                    fail("ctxd exited")
                msg = json.loads(line)
                if msg.get("id") == n:
                    return msg

        call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                            "clientInfo": {"name": "grep_rss", "version": "1"}})
        p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        for _ in range(CALLS):
            r = call("tools/call", {"name": "grep", "arguments": {
                "path": tree, "pattern": "static", "maxResults": 100000}})
            sc = r.get("result", {}).get("structuredContent") or {}
            if sc.get("count") != 100000:
                fail("grep answered %s" % json.dumps(r)[:300])
        rss = None
        with open("/proc/%d/status" % p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) // 1024
        p.stdin.close()
        if p.wait() != 0:
            fail("ctxd exit status %d" % p.returncode)
        print("VmRSS after %d greps of 100,000 matches: %d MiB (limit %d)"
              % (CALLS, rss, LIMIT_MIB))
        if rss is None or rss > LIMIT_MIB:
            fail("RSS %s MiB is above %d MiB" % (rss, LIMIT_MIB))
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
