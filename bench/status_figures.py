#!/usr/bin/env python3
"""What ctxd://status shows, and what measuring it costs.

usage: status_figures.py CTXD_BINARY [CALLS] [IDLE_S] [OTHER_BINARY]

1. Event-loop lag under load: CALLS (default 100,000) read_text_file calls of a 6-byte file
   written to ctxd's stdin at once (2026-07-28 era), then one resources/read of ctxd://status;
   prints the figures it answered (loop_lag_p50_ms / _p99_ms over the run, bytes_owed, ...).
2. The cost of the 100 ms lag timer: CPU time (utime + stime from /proc/PID/stat) of an idle
   ctxd over IDLE_S seconds (default 30); with OTHER_BINARY (e.g. a build without the timer)
   the same for it. Clock-tick resolution (10 ms).
A measurement, not a test: it depends on the machine and its load (print `uptime` with it).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}


def start(binary, root):
    return subprocess.Popen([binary, "--no-landlock", "--toolsets", "files", root],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)


def lag_under_load(binary, root, calls):
    p = start(binary, root)
    status = []

    def reader():
        for line in p.stdout:
            m = json.loads(line)
            if m.get("id") == "status":
                status.append(json.loads(m["result"]["contents"][0]["text"]))
                return

    t = threading.Thread(target=reader)
    t.start()
    frames = "".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
        "name": "read_text_file", "arguments": {"path": "a.txt"}, "_meta": META}}) + "\n"
        for i in range(calls))
    frames += json.dumps({"jsonrpc": "2.0", "id": "status", "method": "resources/read",
                          "params": {"uri": "ctxd://status", "_meta": META}}) + "\n"
    t0 = time.time()
    p.stdin.write(frames.encode())
    p.stdin.flush()
    t.join()
    took = time.time() - t0
    p.stdin.close()
    p.wait()
    print("%d calls in %.2f s, then ctxd://status: %s" % (calls, took, json.dumps(status[0])))


def idle_cpu(binary, root, secs):
    p = start(binary, root)
    p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                               "params": {"_meta": META}}) + "\n").encode())
    p.stdin.flush()
    p.stdout.readline()  # started and serving

    def cpu():
        f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    c0 = cpu()
    time.sleep(secs)  # a measurement window, not an ordering wait
    c1 = cpu()
    p.stdin.close()
    p.wait()
    print("%s: %.2f CPU s over %d s idle" % (binary, c1 - c0, secs))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    secs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    base = tempfile.mkdtemp(prefix="ctxd-status-bench-")
    try:
        with open(os.path.join(base, "a.txt"), "w") as f:
            f.write("hello\n")
        lag_under_load(binary, base, calls)
        for b in [binary] + sys.argv[4:5]:
            idle_cpu(b, base, secs)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
