#!/usr/bin/env python3
"""write_lock_mix.py - file tools and memory-bank tools writing one file at once lose nothing.

usage: write_lock_mix.py CTXD [N]

The memory bank's file memory-bank/log.md is changed concurrently by N (default 100)
memory_bank_write appends (section "Log", mode append) and N append_file calls that add a
line at the end of the file, all pipelined so that they run in parallel on the server's
workers:
  1. in one ctxd process (2N calls);
  2. across two ctxd processes on the same root, each sending N/2 of each kind (2N calls).
Every call must succeed, and afterwards every one of the 2N lines must be in the file exactly
once, whole. Before the file tools and the bank shared one lock (the directory's write lock,
src/fsutil.c), a bank transaction and an append could both read the same old content and the
later rename dropped the other's line: 20 of 200 successful calls were missing.
Exit 0 pass, 1 fail, 77 skip (no memory bank tools).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402


class Server:
    def __init__(self, exe, root):
        self.p = subprocess.Popen([exe, "--no-landlock", root], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lock = threading.Lock()

    def send(self, msg):
        with self.lock:
            self.p.stdin.write((json.dumps(msg) + "\n").encode())
            self.p.stdin.flush()

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit("FAIL: ctxd closed stdout")
        return json.loads(line)

    def answer(self, rid):
        """Read until the response to `rid`; answer requests from the server."""
        while True:
            m = self.read()
            if "method" in m:
                if "id" in m:
                    self.send({"jsonrpc": "2.0", "id": m["id"], "result": {}})
                continue
            if m.get("id") == rid:
                return m

    def start(self):
        self.send({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                   "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                              "clientInfo": {"name": "write_lock_mix", "version": "1"}}})
        if "result" not in self.answer("init"):
            raise SystemExit("FAIL: initialize failed")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, name, args):
        self.send(req("one", name, args))
        m = self.answer("one")
        if "result" not in m or m["result"].get("isError"):
            raise SystemExit("FAIL: %s failed: %s" % (name, m))
        return m["result"]

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(timeout=60)
        self.p.stdout.close()
        return rc


def req(rid, name, args):
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
            "params": {"name": name, "arguments": args}}


def batch(srv, tag, n, path, errors):
    """n bank appends and n file appends, interleaved, sent in one write; then the 2n answers."""
    frames = []
    for i in range(n):
        frames.append(req("%s-u%d" % (tag, i), "memory_bank_write", {
            "file": "log.md", "section": "Log", "mode": "append",
            "content": "- %s bank %03d" % (tag, i)}))
        frames.append(req("%s-f%d" % (tag, i), "append_file", {
            "path": path, "content": "- %s file %03d\n" % (tag, i)}))
    with srv.lock:
        srv.p.stdin.write("".join(json.dumps(f) + "\n" for f in frames).encode())
        srv.p.stdin.flush()
    got = 0
    while got < 2 * n:
        m = srv.read()
        if "method" in m:
            if "id" in m:
                srv.send({"jsonrpc": "2.0", "id": m["id"], "result": {}})
            continue
        got += 1
        if "result" not in m or m["result"].get("isError"):
            errors.append(m)


def check(path, tags, n, what):
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    want = ["- %s %s %03d" % (t, kind, i) for t in tags for kind in ("bank", "file")
            for i in range(n)]
    missing = [w for w in want if lines.count(w) != 1]
    if missing:
        print("FAIL (%s): %d of %d successful writes are missing or doubled, e.g. %s"
              % (what, len(missing), len(want), missing[:3]))
        return False
    if "## Log" not in lines or "## After" not in lines:
        print("FAIL (%s): the file's sections are damaged" % what)
        return False
    print("%s: %d concurrent bank and file appends, all present exactly once"
          % (what, len(want)))
    return True


def reset(srv, path):
    srv.call("write_file", {"path": path,
                            "content": "# Changes\n\n## Log\n\n## After\n\nend\n"})


def main():
    exe = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    tmp = tempfile.mkdtemp(prefix="ctxd-lockmix-", dir=fixtures.scratch())
    try:
        a = Server(exe, tmp)
        a.start()
        a.send({"jsonrpc": "2.0", "id": "tools", "method": "tools/list"})
        names = [t["name"] for t in a.answer("tools")["result"]["tools"]]
        if "memory_bank_write" not in names or "append_file" not in names:
            print("SKIP: this ctxd lacks memory_bank_write or append_file")
            a.close()
            return 77
        a.call("memory_bank_init", {})
        path = os.path.join(tmp, "memory-bank", "log.md")

        reset(a, path)
        errors = []
        batch(a, "A", n, path, errors)
        if errors:
            print("FAIL: %d calls failed, first: %s" % (len(errors), errors[0]))
            return 1
        if not check(path, "A", n, "one process"):
            return 1

        reset(a, path)
        b = Server(exe, tmp)
        b.start()
        half = n // 2
        ts = [threading.Thread(target=batch, args=(s, tag, half, path, errors))
              for s, tag in ((a, "A"), (b, "B"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        ra, rb = a.close(), b.close()
        if errors:
            print("FAIL: %d calls failed, first: %s" % (len(errors), errors[0]))
            return 1
        if ra or rb:
            print("FAIL: exit codes %d %d" % (ra, rb))
            return 1
        if not check(path, "AB", half, "two processes"):
            return 1
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
