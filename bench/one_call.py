#!/usr/bin/env python3
"""One timed tools/call against a fresh ctxd: how long it takes, and how it ends.

usage: bench/one_call.py CTXD ROOT TOOL ARGS TIMEOUT_S [--cancel-after S]

ARGS is the arguments object as a Python expression, so that hostile inputs stay short on
the command line: "{'path': '/t', 'excludePatterns': ['**/' * 1000 + 'x']}".
Prints the seconds until the answer and its structuredContent (without arrays), or that
none came within TIMEOUT_S, or the exit status when the server died (-11: SIGSEGV).
With --cancel-after S (one worker, -t 1): sends notifications/cancelled S seconds into
the call, then list_allowed_directories, and prints how long after the cancel that answer
came (the worker is free again).
"""
import json
import select
import subprocess
import sys
import time


def main():
    if len(sys.argv) not in (6, 8):
        sys.exit(__doc__)
    ctxd, root, tool, expr, timeout = sys.argv[1:6]
    cancel_after = float(sys.argv[7]) if len(sys.argv) == 8 else None
    args = eval(expr, {"__builtins__": {}})
    cmd = [ctxd] + (["-t", "1"] if cancel_after is not None else []) + [root]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(o):
        p.stdin.write((json.dumps(o) + "\n").encode())
        p.stdin.flush()

    def recv(limit):
        end = time.time() + limit
        while True:
            r, _, _ = select.select([p.stdout], [], [], max(0.0, end - time.time()))
            if not r:
                return None
            line = p.stdout.readline()
            if not line:
                return "EOF"
            m = json.loads(line)
            if "id" in m:
                return m

    send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
          "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                     "clientInfo": {"name": "one_call", "version": "1"}}})
    recv(10)
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    t = time.time()
    send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
          "params": {"name": tool, "arguments": args}})
    if cancel_after is not None:
        time.sleep(cancel_after)
        t = time.time()
        send({"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": 1}})
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
              "params": {"name": "list_allowed_directories", "arguments": {}}})
        r = recv(float(timeout))
        print("%.3f s after the cancel: %s" % (time.time() - t,
                                             "next call answered" if isinstance(r, dict)
                                             else "no answer"))
    else:
        r = recv(float(timeout))
        dt = time.time() - t
        if r is None:
            print("%.1f s: no answer within %s s" % (dt, timeout))
            p.kill()
        elif r == "EOF":
            p.wait()
            print("%.3f s: stdout closed, exit status %d" % (dt, p.returncode))
            return 0
        else:
            res = r.get("result", r)
            sc = res.get("structuredContent", {})
            flat = {k: v for k, v in sc.items() if not isinstance(v, list)}
            print("%.3f s: %s%s" % (dt, "isError: " + res["content"][0]["text"][:200]
                                    if res.get("isError") else "", json.dumps(flat)[:400]))
    p.stdin.close()
    p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
