#!/usr/bin/env python3
"""Cost of many resource subscriptions: registration time and the loop's stall per change.

usage: python3 bench/subs_bench.py CTXD_BINARY [--subs N] [--dirs D] [--changes C]

Creates N files spread over D directories of a temp tree, starts ctxd on it with
`limits.subscriptions` raised to N, subscribes to every file with pipelined
resources/subscribe requests (2025-11-25 session), then changes one file C times. Prints:
  - register: seconds from the first subscribe sent until all N are answered;
  - change:   per change, milliseconds from the write until its
              notifications/resources/updated arrives, and until a ping sent right after
              the write is answered (how long the loop was busy with the change).
Nothing is asserted: this is a measurement (docs/hardening.md quotes it).
"""
import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class Conn:
    def __init__(self, argv, env):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=env, bufsize=0)
        self.buf = b""

    def send(self, obj):
        self.p.stdin.write((json.dumps(obj, separators=(",", ":")) + "\n").encode())

    def send_many(self, objs):
        data = b"".join((json.dumps(o, separators=(",", ":")) + "\n").encode() for o in objs)
        view = memoryview(data)
        while view:
            # write what the pipe takes, read answers meanwhile so neither side blocks
            _, w, _ = select.select([], [self.p.stdin], [], 0.05)
            if w:
                n = os.write(self.p.stdin.fileno(), view[:65536])
                view = view[n:]
            self._pump(0)

    def _pump(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if r:
            chunk = os.read(self.p.stdout.fileno(), 1 << 20)
            if not chunk:
                raise SystemExit("ctxd closed its output")
            self.buf += chunk

    def msgs(self):
        out = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            out.append(json.loads(line))
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--subs", type=int, default=40000)
    ap.add_argument("--dirs", type=int, default=1)
    ap.add_argument("--changes", type=int, default=3)
    a = ap.parse_args()
    base = tempfile.mkdtemp(prefix="ctxd-subs-bench-")
    try:
        root = os.path.join(base, "root")
        paths = []
        for d in range(a.dirs):
            os.makedirs(os.path.join(root, "d%03d" % d))
        for i in range(a.subs):
            p = os.path.join(root, "d%03d" % (i % a.dirs), "f%06d.txt" % i)
            with open(p, "w") as f:
                f.write("x\n")
            paths.append(p)
        cfg = os.path.join(base, "ctxd.yaml")
        with open(cfg, "w") as f:
            f.write("limits:\n  subscriptions: %d\n" % (a.subs + 10))
        env = dict(os.environ, HOME=base)
        argv = [a.binary, "--no-landlock", root]
        # a binary without limits.subscriptions refuses the key: run it without the file
        probe = subprocess.run([a.binary, "--config", cfg, "--no-landlock", root],
                               stdin=subprocess.DEVNULL, capture_output=True, env=env)
        if probe.returncode == 0:
            argv[1:1] = ["--config", cfg]
        c = Conn(argv, env)
        c.send({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "subs-bench", "version": "1"}}})
        got = []
        while not any(m.get("id") == "init" for m in got):
            c._pump(5)
            got += c.msgs()
        c.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        t0 = time.monotonic()
        c.send_many([{"jsonrpc": "2.0", "id": i, "method": "resources/subscribe",
                      "params": {"uri": "file://" + p}} for i, p in enumerate(paths)])
        answered = errors = 0
        answered += sum(1 for m in got if isinstance(m.get("id"), int))
        got = []
        while answered < a.subs:
            c._pump(60)
            for m in c.msgs():
                if isinstance(m.get("id"), int):
                    answered += 1
                    errors += "error" in m
        reg = time.monotonic() - t0
        print("register: %d subscriptions in %d director%s: %.2f s (%d errors)" %
              (a.subs, a.dirs, "y" if a.dirs == 1 else "ies", reg, errors))
        target = paths[len(paths) // 2]
        uri = "file://" + target
        for k in range(a.changes):
            t1 = time.monotonic()
            with open(target, "a") as f:
                f.write("change %d\n" % k)
            c.send({"jsonrpc": "2.0", "id": "ping-%d" % k, "method": "ping"})
            t_note = t_ping = None
            while t_note is None or t_ping is None:
                c._pump(120)
                for m in c.msgs():
                    if m.get("method") == "notifications/resources/updated" and \
                            m["params"]["uri"] == uri and t_note is None:
                        t_note = time.monotonic()
                    if m.get("id") == "ping-%d" % k:
                        t_ping = time.monotonic()
            # the ping may be answered before the watch's coalescing delay ends; the loop
            # is frozen when the notification is late, so measure the later ping too
            t2 = time.monotonic()
            c.send({"jsonrpc": "2.0", "id": "after-%d" % k, "method": "ping"})
            while True:
                c._pump(120)
                if any(m.get("id") == "after-%d" % k for m in c.msgs()):
                    break
            print("change %d: notification after %.1f ms; ping after the notification "
                  "answered in %.1f ms" % (k, (t_note - t1) * 1e3, (time.monotonic() - t2) * 1e3))
        c.p.stdin.close()
        c.p.wait(60)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
