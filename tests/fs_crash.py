#!/usr/bin/env python3
"""Crash-safety and concurrency of the writing file tools, through the real binary.

usage: fs_crash.py CTXD_BINARY [RUNS]

1. Crash safety (RUNS times, default 200): ctxd rewrites a multi-MiB file with write_file,
   edit_file or append_file (a 3.9 MiB append) and is killed with SIGKILL after a random
   delay (half of the appends: the moment the file's size changes); the file must then hold exactly the old or the new content (for an append: the old
   content or old + appended), never a mix or a torn tail (and never be missing).
2. Concurrency: 64 edit_file calls in one write, all with the expectedSha256 of the
   initial content and each changing a different line: exactly one succeeds, the other 63
   report the conflict, and the file holds the initial content plus that one edit.
   Then 64 edit_file calls without expectedSha256 on distinct lines: all succeed and no
   update is lost.
"""
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def start(binary, root):
    p = subprocess.Popen([binary, "--no-landlock", root], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    send(p, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                        "clientInfo": {"name": "fs_crash", "version": "1"}}})
    recv(p)
    send(p, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    return p


def send(p, msg):
    p.stdin.write((json.dumps(msg) + "\n").encode())
    p.stdin.flush()


def recv(p):
    while True:
        line = p.stdout.readline()
        if not line:
            raise SystemExit("ctxd closed stdout")
        m = json.loads(line)
        if "id" in m:
            return m


def call(i, name, args):
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": name, "arguments": args}}


def crash_runs(binary, runs):
    base = tempfile.mkdtemp(prefix="ctxd-crash-")
    try:
        path = os.path.join(base, "f.txt")
        line_a = "old line of the file, the same length as the new one ..........\n"
        line_b = "NEW LINE OF THE FILE, THE SAME LENGTH AS THE OLD ONE ..........\n"
        old = line_a * 60000  # ~3.8 MiB
        new = line_b * 60000
        seen = {"old": 0, "new": 0}
        # Calibrate: how long does one rewrite take from the request to the answer? Kills
        # are then spread over that window, so they land before, during and after it.
        def timed(name, args):
            with open(path, "w") as f:
                f.write(old)
            p = start(binary, base)
            t0 = time.monotonic()
            send(p, call(1, name, args))
            recv(p)
            took = time.monotonic() - t0
            p.stdin.close()
            p.wait()
            return took
        window = timed("write_file", {"path": path, "content": new})
        # The append is timed on its own: it carries more bytes than the rewrite.
        tail = line_b * 64000  # ~3.9 MiB: more than the old content
        append_window = timed("append_file", {"path": path, "content": tail})
        seen["appended"] = 0
        for r in range(runs):
            with open(path, "w") as f:
                f.write(old)
            p = start(binary, base)
            kind = r % 3
            if kind == 0:
                send(p, call(1, "write_file", {"path": path, "content": new}))
            elif kind == 1:
                send(p, call(1, "edit_file", {"path": path, "edits": [
                    {"oldText": line_a.rstrip("\n"), "newText": line_b.rstrip("\n"),
                     "replaceAll": True}]}))
            else:
                send(p, call(1, "append_file", {"path": path, "content": tail}))
            if kind == 2 and r % 2 == 0:
                # Kill the moment the file's size changes: an append written in place is
                # then caught in the middle of its write(), an atomic one is already whole.
                deadline = time.monotonic() + 60
                while os.stat(path).st_size == len(old) and time.monotonic() < deadline:
                    time.sleep(0.0002)  # a poll interval far below the write's duration
            else:
                time.sleep(random.uniform(0, (append_window if kind == 2 else window) * 1.2))
            p.send_signal(signal.SIGKILL)
            p.wait()
            with open(path) as f:
                got = f.read()
            if got == old:
                seen["old"] += 1
            elif kind != 2 and got == new:
                seen["new"] += 1
            elif kind == 2 and got == old + tail:
                seen["appended"] += 1
            else:
                raise SystemExit("run %d (%s): the file holds a mix or a torn tail (%d bytes; "
                                 "old %d, complete %d)"
                                 % (r, ("write_file", "edit_file", "append_file")[kind],
                                    len(got), len(old),
                                    len(old + tail) if kind == 2 else len(new)))
            for n in os.listdir(base):
                if n != "f.txt":
                    os.unlink(os.path.join(base, n))  # a temp file a kill left behind
        print("crash safety: %d/%d runs left old or new content (old %d, new %d, appended "
              "%d; rewrite window %.1f ms, append window %.1f ms)"
              % (runs, runs, seen["old"], seen["new"], seen["appended"], window * 1e3,
                 append_window * 1e3))
    finally:
        shutil.rmtree(base)


def concurrency(binary):
    base = tempfile.mkdtemp(prefix="ctxd-conc-")
    try:
        path = os.path.join(base, "c.txt")
        initial = "".join("line %02d\n" % i for i in range(64))
        with open(path, "w") as f:
            f.write(initial)
        sha = hashlib.sha256(initial.encode()).hexdigest()
        p = start(binary, base)
        batch = "".join(json.dumps(call(i + 1, "edit_file", {
            "path": path, "expectedSha256": sha,
            "edits": [{"oldText": "line %02d\n" % i, "newText": "LINE %02d\n" % i}]})) + "\n"
            for i in range(64))
        p.stdin.write(batch.encode())
        p.stdin.flush()
        ok, conflict = [], 0
        for _ in range(64):
            m = recv(p)
            res = m["result"]
            if res.get("isError"):
                assert "changed since it was read" in res["content"][0]["text"], res
                conflict += 1
            else:
                ok.append(m["id"] - 1)
        assert len(ok) == 1 and conflict == 63, (ok, conflict)
        with open(path) as f:
            got = f.read()
        want = initial.replace("line %02d\n" % ok[0], "LINE %02d\n" % ok[0])
        assert got == want, "file after the sha-guarded edits is wrong"
        print("concurrency: 64 edits with the same expectedSha256: 1 applied, 63 conflicts")

        with open(path, "w") as f:
            f.write(initial)
        batch = "".join(json.dumps(call(100 + i, "edit_file", {
            "path": path,
            "edits": [{"oldText": "line %02d\n" % i, "newText": "LINE %02d\n" % i}]})) + "\n"
            for i in range(64))
        p.stdin.write(batch.encode())
        p.stdin.flush()
        for _ in range(64):
            m = recv(p)
            assert not m["result"].get("isError"), m
        with open(path) as f:
            got = f.read()
        assert got == initial.upper().replace("LINE", "LINE"), got
        print("concurrency: 64 unguarded edits on distinct lines: 64 applied, none lost")
        p.stdin.close()
        p.wait(timeout=5)
    finally:
        shutil.rmtree(base)


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    crash_runs(binary, runs)
    concurrency(binary)


if __name__ == "__main__":
    main()
