#!/usr/bin/env python3
"""MCP tasks, measured (issue 15 item 7). Not a test: it prints figures.

usage: bench/tasks_bench.py CTXD [MAIN_CTXD] [--runs N] [--only abc]

(a) grep over a 100,000-file tree as a task (2026-07-28, the client declares
    io.modelcontextprotocol/tasks, tasks.after_ms 0): the time from the CreateTaskResult to
    the notifications/tasks that says `completed` on a subscriptions/listen stream, and to
    the first tasks/get that answers `completed` when the client polls every 50 ms; beside it
    the same grep as a plain call (no task). The tree (bench/fx/tasks-100k: 100 directories
    of 1,000 files, hard links to 100 seed files of about 2 KiB text, seed 0 holding the
    pattern, so 1,000 files match) is built once; its pages are in the cache after the
    first run (the figures measure the search, not the disk).
(b) 10,000 small calls, none of which becomes a task, with bench/driver (2025-11-25, no
    params.task): read_text_file of a 4 KiB file (answered on the loop thread) and grep of
    a one-file directory (a pool job), depth 1 and 16, for CTXD with the default config, CTXD
    with limits.call_timeout_ms 60000 (every call then has a deadline, so it goes through
    the deadline list of the housekeeping tick) and, when given, MAIN_CTXD (the same calls
    without any task bookkeeping). Runs alternate between the binaries; the median of --runs
    (default 5) is printed.
(c) resident memory after 10,000 expired tasks: 10,000 grep calls with params.task
    {ttl: 1} (2025-11-25), then wait until tasks/list is empty (every task expired and was
    freed), then VmRSS and VmHWM; beside it the same after 10,000 plain grep calls.
"""
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FX = os.path.join(HERE, "fx")
MODERN = "2026-07-28"
EXT = "io.modelcontextprotocol/tasks"


def tree_100k():
    root = os.path.join(FX, "tasks-100k")
    done = os.path.join(root, ".done")
    if os.path.exists(done):
        return root
    os.makedirs(root, exist_ok=True)
    seeds = os.path.join(FX, "tasks-seeds")
    os.makedirs(seeds, exist_ok=True)
    for s in range(100):
        with open(os.path.join(seeds, "s%03d.txt" % s), "w") as f:
            for i in range(40):
                word = "rare_token" if s == 0 and i == 20 else "line"
                f.write("%s %d of seed %d: the quick brown fox jumps\n" % (word, i, s))
    for d in range(100):
        dd = os.path.join(root, "d%03d" % d)
        os.makedirs(dd, exist_ok=True)
        for i in range(1000):
            p = os.path.join(dd, "f%04d.txt" % i)
            if not os.path.exists(p):
                os.link(os.path.join(seeds, "s%03d.txt" % ((d * 1000 + i) % 100)), p)
    open(done, "w").close()
    return root


class Server:
    def __init__(self, args, config=None):
        self.dir = tempfile.mkdtemp(prefix="ctxd-tasks-bench-")
        cmd = list(args[:1])
        if config:
            cfg = os.path.join(self.dir, "ctxd.yaml")
            with open(cfg, "w") as f:
                f.write(config)
            cmd += ["--config", cfg]
        cmd += ["--no-landlock"] + list(args[1:])
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.buf = b""
        self.next_id = 0

    def send(self, obj):
        self.p.stdin.write((json.dumps(obj) + "\n").encode())
        self.p.stdin.flush()

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def recv(self, timeout=600.0):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, end - time.monotonic()))
            if not r:
                raise RuntimeError("no answer within %.0f s" % timeout)
            chunk = os.read(self.p.stdout.fileno(), 1 << 20)
            if not chunk:
                raise RuntimeError("server closed its output")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def wait_id(self, rid, seen=None):
        while True:
            m = self.recv()
            if m.get("id") == rid:
                return m
            if seen is not None:
                seen.append(m)

    def status(self):
        out = {}
        with open("/proc/%d/status" % self.p.pid) as f:
            for ln in f:
                k, _, v = ln.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=60)


def meta(declare=True):
    caps = {"extensions": {EXT: {}}} if declare else {}
    return {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": caps}


def bench_a(ctxd, runs):
    root = tree_100k()
    args = {"pattern": "rare_token", "path": root}
    rows = {"notify": [], "poll": [], "plain": []}
    for _ in range(runs):
        s = Server([ctxd, root], "tasks: {after_ms: 0}\n")
        # a warm-up grep, so every run finds the tree's pages in the cache
        s.wait_id(s.request("tools/call", {"name": "grep", "arguments": args, "_meta": meta(False)}))
        t0 = time.monotonic()
        r = s.wait_id(s.request("tools/call", {"name": "grep", "arguments": args, "_meta": meta(False)}))
        rows["plain"].append(time.monotonic() - t0)
        if "rare_token" not in json.dumps(r):
            raise RuntimeError("plain grep found nothing: %s" % json.dumps(r)[:300])
        # as a task, its end heard on a listen stream
        rid = s.request("tools/call", {"name": "grep", "arguments": args, "_meta": meta()})
        created = s.wait_id(rid)
        t0 = time.monotonic()
        task = created["result"]["taskId"]
        s.request("subscriptions/listen", {"notifications": {"taskIds": [task]}, "_meta": meta()})
        while True:
            m = s.recv()
            if m.get("method") == "notifications/tasks" and m["params"]["status"] != "working":
                break
        rows["notify"].append(time.monotonic() - t0)
        if m["params"]["status"] != "completed":
            raise RuntimeError("task ended %s" % m["params"]["status"])
        # as a task, polled every 50 ms
        created = s.wait_id(s.request("tools/call", {"name": "grep", "arguments": args,
                                                     "_meta": meta()}))
        t0 = time.monotonic()
        task = created["result"]["taskId"]
        while True:
            g = s.wait_id(s.request("tasks/get", {"taskId": task, "_meta": meta()}))
            if g["result"]["status"] != "working":
                break
            time.sleep(0.05)
        rows["poll"].append(time.monotonic() - t0)
        s.close()
    sys.stdout.flush()
    print("(a) grep 'rare_token' over 100,000 files (1,000 match), %d runs, median [min..max] s:"
          % runs)
    for k, label in (("plain", "plain call, request to answer"),
                     ("notify", "task, CreateTaskResult to notifications/tasks completed"),
                     ("poll", "task, CreateTaskResult to completed tasks/get (50 ms polls)")):
        v = rows[k]
        print("    %-62s %.3f [%.3f..%.3f]" % (label, statistics.median(v), min(v), max(v)))


def driver_run(driver, ctxd, config, tool, args, depth, calls=10000):
    tmp = tempfile.mkdtemp(prefix="ctxd-tasks-bench-")
    cmd = [driver, "--tool", tool, "--args", json.dumps(args), "--calls", str(calls),
           "--depth", str(depth), "--warmup", "500", "--json", "--", ctxd, "--no-landlock"]
    if config:
        cfg = os.path.join(tmp, "ctxd.yaml")
        with open(cfg, "w") as f:
            f.write(config)
        cmd += ["--config", cfg]
    cmd += [args["path"] if tool == "grep" else os.path.dirname(args["path"])]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout.decode()
    res = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
    return res


def bench_b(ctxd, main, runs):
    driver = os.path.join(HERE, "driver")
    if not os.path.exists(driver):
        subprocess.run(["cc", "-O2", "-o", driver, os.path.join(HERE, "driver.c")], check=True)
    small = os.path.join(FX, "tasks-small")
    os.makedirs(small, exist_ok=True)
    with open(os.path.join(small, "f4k.txt"), "w") as f:
        f.write(("x" * 63 + "\n") * 64)
    one = os.path.join(FX, "tasks-one")
    os.makedirs(one, exist_ok=True)
    with open(os.path.join(one, "a.txt"), "w") as f:
        f.write("hello needle\n")
    bins = [("tasks", ctxd, None), ("tasks+deadline", ctxd, "limits: {call_timeout_ms: 60000}\n")]
    if main:
        bins.insert(0, ("main", main, None))
    work = [("read_text_file 4 KiB", "read_text_file", {"path": os.path.join(small, "f4k.txt")}),
            ("grep, one file", "grep", {"pattern": "needle", "path": one})]
    print("(b) 10,000 small calls (none a task), calls/s, median of %d runs [min..max]:" % runs, flush=True)
    for wlabel, tool, args in work:
        for depth in (1, 16):
            got = {b[0]: [] for b in bins}
            for _ in range(runs):
                for name, binary, config in bins:
                    r = driver_run(driver, binary, config, tool, args, depth)
                    if r.get("errors"):
                        raise RuntimeError("%s: %d errors" % (name, r["errors"]))
                    got[name].append(r["calls_per_s"])
            cells = []
            for name, _, _ in bins:
                v = got[name]
                cells.append("%s %.0f [%.0f..%.0f]" % (name, statistics.median(v), min(v), max(v)))
            print("    %-22s depth %2d: %s" % (wlabel, depth, "; ".join(cells)))


def bench_c(ctxd):
    one = os.path.join(FX, "tasks-one")
    os.makedirs(one, exist_ok=True)
    with open(os.path.join(one, "a.txt"), "w") as f:
        f.write("hello needle\n")
    print("(c) resident memory (KiB) after 10,000 and 20,000 calls, tasks/list empty:", flush=True)
    for label, task in (("plain grep calls", None), ("tasks (params.task ttl 1 ms), all expired", {"ttl": 1})):
        s = Server([ctxd, one], "tasks: {max: 100000}\n")
        s.wait_id(s.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                           "clientInfo": {"name": "bench", "version": "1"}}))
        s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        before = s.status()
        params = {"name": "grep", "arguments": {"pattern": "needle", "path": one}}
        if task:
            params["task"] = task
        after = []
        for _ in range(2):  # two rounds: memory held for expired tasks would grow
            for _ in range(10000 // 50):  # 50 in flight, then their 50 answers
                ids = {s.request("tools/call", params) for _ in range(50)}
                while ids:
                    m = s.recv()
                    if "id" in m:
                        if "error" in m:
                            raise RuntimeError("call failed: %s" % json.dumps(m)[:300])
                        ids.discard(m["id"])
            live = -1
            while live != 0:
                r = s.wait_id(s.request("tasks/list", {}))
                live = len(r["result"]["tasks"])
                if live:
                    time.sleep(0.2)
            after.append(s.status())
        s.close()
        print("    %-42s VmRSS %6d -> %6d (10,000) -> %6d (20,000), VmHWM %6d" %
              (label, before["VmRSS"], after[0]["VmRSS"], after[1]["VmRSS"], after[1]["VmHWM"]),
              flush=True)


def main():
    argv = sys.argv[1:]
    runs = 5
    if "--runs" in argv:
        i = argv.index("--runs")
        runs = int(argv[i + 1])
        del argv[i:i + 2]
    only = "abc"
    if "--only" in argv:
        i = argv.index("--only")
        only = argv[i + 1]
        del argv[i:i + 2]
    if not argv:
        sys.exit(__doc__)
    ctxd = os.path.abspath(argv[0])
    main_bin = os.path.abspath(argv[1]) if len(argv) > 1 else None
    print("machine: %d CPUs, load average %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]), flush=True)
    if "a" in only:
        bench_a(ctxd, runs)
    if "b" in only:
        bench_b(ctxd, main_bin, runs)
    if "c" in only:
        bench_c(ctxd)
    print("load average at the end: %s" % open("/proc/loadavg").read().split()[:3], flush=True)


if __name__ == "__main__":
    main()
