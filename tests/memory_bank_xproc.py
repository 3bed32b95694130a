#!/usr/bin/env python3
"""memory_bank_xproc.py - two ctxd processes append to the same bank section at once.

Usage: memory_bank_xproc.py CTXD [N]

Starts two ctxd servers on one temporary root, drives both over stdio (newline-delimited
JSON-RPC), and has each send N (default 1000) memory_bank_write section appends (mode append)
against the same file, pipelined, while the other does the same. Afterwards every one of
the 2*N lines must be in the section exactly once, each whole (no torn or merged lines),
and the file must still end with the section that followed. Exit 0 pass, 1 fail, 77 skip
(this ctxd has no memory bank tools).
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


class Failure(Exception):
    """A check failed (raised explicitly: `python3 -O` cannot drop it)."""


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Server:
    def __init__(self, exe, root):
        self.p = subprocess.Popen([exe, "--no-landlock", root], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.next_id = 0

    def send(self, msg):
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("server closed stdout: " + self.p.stderr.read().decode())
        return json.loads(line)

    def request(self, method, params=None):
        self.next_id += 1
        rid = self.next_id
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        while True:
            m = self.read()
            if m.get("id") == rid and "method" not in m:
                return m
            if "method" in m and "id" in m:  # a request from the server
                self.send({"jsonrpc": "2.0", "id": m["id"], "result": {}})

    def start(self):
        r = self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                        "clientInfo": {"name": "xproc", "version": "1"}})
        check("result" in r, "initialize failed: %s" % r)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(timeout=120)
        self.p.stdout.close()
        self.p.stderr.close()
        return rc


def call(srv, name, args):
    r = srv.request("tools/call", {"name": name, "arguments": args})
    check("result" in r, "%s: JSON-RPC error %s" % (name, r))
    check(not r["result"].get("isError"), "%s failed: %s" % (name, r))
    return r["result"]


def hammer(srv, tag, n, errors):
    """Send n appends without waiting, then collect the n answers."""
    def writer():
        for i in range(n):
            srv.send({"jsonrpc": "2.0", "id": "%s-%d" % (tag, i), "method": "tools/call",
                      "params": {"name": "memory_bank_write", "arguments": {
                          "file": "log.md", "section": "Log", "mode": "append",
                          "content": "- %s line %04d %s" % (tag, i, "x" * (i % 50 + 1))}}})
    t = threading.Thread(target=writer)
    t.start()
    got = 0
    while got < n:
        m = srv.read()
        if "method" in m:
            if "id" in m:
                srv.send({"jsonrpc": "2.0", "id": m["id"], "result": {}})
            continue
        got += 1
        if "result" not in m or m["result"].get("isError"):
            errors.append(m)
    t.join()


def main():
    exe = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    tmp = tempfile.mkdtemp(prefix="ctxd-xproc-", dir=fixtures.scratch())
    try:
        a = Server(exe, tmp)
        a.start()
        names = [t["name"] for t in a.request("tools/list")["result"]["tools"]]
        if "memory_bank_init" not in names:
            print("SKIP: this ctxd has no memory bank tools")
            a.close()
            return 77
        call(a, "memory_bank_init", {})
        call(a, "memory_bank_write", {"file": "log.md", "mode": "create",
                                      "content": "# Changes\n\n## Log\n\n## After\n\nend\n"})
        b = Server(exe, tmp)
        b.start()
        errors = []
        ts = [threading.Thread(target=hammer, args=(s, tag, n, errors))
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
        with open(os.path.join(tmp, "memory-bank", "log.md")) as f:
            text = f.read()
        head = "# Changes\n\n## Log\n\n"
        tail = "\n## After\n\nend\n"
        if not text.startswith(head) or not text.endswith(tail):
            print("FAIL: file frame damaged:\n" + text[:200] + "\n...\n" + text[-200:])
            return 1
        lines = text[len(head):-len(tail)].split("\n")
        lines = [l for l in lines if l]
        want = {"- %s line %04d %s" % (tag, i, "x" * (i % 50 + 1))
                for tag in "AB" for i in range(n)}
        if len(lines) != 2 * n or set(lines) != want:
            missing = want - set(lines)
            extra = [l for l in lines if l not in want]
            print("FAIL: %d lines, %d missing, %d torn/unexpected (e.g. %r)"
                  % (len(lines), len(missing), len(extra), (extra or sorted(missing))[:2]))
            return 1
        # per process, its own lines keep their order within the section
        for tag in "AB":
            mine = [l for l in lines if l.startswith("- %s " % tag)]
            if mine != sorted(mine):
                print("note: %s's appends landed out of order (requests run in parallel)"
                      % tag)
        print("PASS: %d appends from 2 processes, all lines present and whole" % (2 * n))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
