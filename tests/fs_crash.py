#!/usr/bin/env python3
"""Crash-safety and concurrency of the writing file tools, through the real binary.

usage: fs_crash.py CTXD_BINARY [RUNS]

1. Crash safety (RUNS times, default 200): ctxd rewrites a 390 KiB file with write_file or
   edit_file (replacing every line, so that any mix of old and new shows), or appends 400 KiB
   to it with append_file, and is killed with SIGKILL at a point of the change named by a
   file system event (inotify on the directory): right after the request is sent, once its
   temp file exists, once it was written, once it was closed, once it was renamed over the
   file, or once the answer came. The file must then hold exactly the old or the new content
   (for an append: the old content or old + appended), never a mix or a torn tail (and never
   be missing), and the file itself must never be written (IN_MODIFY on it: an append made
   in place, which a crash in the middle of its write leaves torn). The kill lands at or after its event, so each run is sure to have reached its
   point; the runs cycle through the tools and points, so every pair is covered whatever the
   speed or load of the machine (no delays, no randomness). Runs are independent, so four go
   at a time, each in a directory of its own.
2. Concurrency: 64 edit_file calls in one write, all with the expectedSha256 of the
   initial content and each changing a different line: exactly one succeeds, the other 63
   report the conflict, and the file holds the initial content plus that one edit.
   Then 64 edit_file calls without expectedSha256 on distinct lines: all succeed and no
   update is lost.
"""
import concurrent.futures
import ctypes
import hashlib
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

HANG_GUARD = 60.0
IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x2, 0x8, 0x80, 0x100
# (name, inotify mask, whose name): where a run kills the server
KILL_POINTS = [
    ("sent", 0, None),
    ("temp created", IN_CREATE, "temp"),
    ("temp written", IN_MODIFY, "temp"),
    ("temp closed", IN_CLOSE_WRITE, "temp"),
    ("renamed", IN_MOVED_TO, "target"),
    ("answered", 0, None),
]


class Failure(Exception):
    """A check failed (raised explicitly: `python3 -O` cannot drop it)."""


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Inotify:
    """The events of one directory, through libc's inotify (no module outside stdlib)."""

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_CLOEXEC)
        check(self.fd >= 0, "inotify_init1 failed: errno %d" % ctypes.get_errno())
        wd = self.libc.inotify_add_watch(self.fd, path.encode(),
                                         IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
        check(wd >= 0, "inotify_add_watch failed: errno %d" % ctypes.get_errno())
        self.pending = []
        self.target_written = False  # IN_MODIFY on f.txt since the last drain()

    def _read(self):
        data = os.read(self.fd, 65536)
        i = 0
        while i < len(data):
            _, m, _, ln = struct.unpack_from("iIII", data, i)
            name = data[i + 16:i + 16 + ln].rstrip(b"\0").decode()
            self.target_written |= bool(m & IN_MODIFY) and name == "f.txt"
            self.pending.append((m, name))
            i += 16 + ln

    def wait(self, mask, want):
        """Block until an event with `mask` for which want(name, event mask) holds."""
        while True:
            while self.pending:
                m, name = self.pending.pop(0)
                if m & mask and want(name, m):
                    return
            r, _, _ = select.select([self.fd], [], [], HANG_GUARD)
            check(r, "no inotify event within %.0f s" % HANG_GUARD)
            self._read()

    def collect(self):
        """Read every event queued so far."""
        while select.select([self.fd], [], [], 0)[0]:
            self._read()

    def drain(self):
        self.collect()
        self.pending = []
        self.target_written = False

    def close(self):
        os.close(self.fd)


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
            raise Failure("ctxd closed stdout")
        m = json.loads(line)
        if "id" in m:
            return m


def call(i, name, args):
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": name, "arguments": args}}


LINE_A = "old line of the file, the same length as the new one ..........\n"
LINE_B = "NEW LINE OF THE FILE, THE SAME LENGTH AS THE OLD ONE ..........\n"
# 390 KiB: the kill points are events, so a bigger file adds time, not coverage (and
# edit_file's answer, a diff of every line, takes seconds at 3.8 MiB under ASan)
OLD = LINE_A * 6000
NEW = LINE_B * 6000
TAIL = LINE_B * 6400  # appended: more than the old content
TOOLS = ("write_file", "edit_file", "append_file")
LANES = 4  # runs are independent (own directory, own server): this many at a time


def crash_lane(binary, lane, runs, seen, lock):
    """Runs lane, lane + LANES, ... of the crash-safety loop, in a directory of its own."""
    base = tempfile.mkdtemp(prefix="ctxd-crash-", dir=fixtures.scratch())
    ino = Inotify(base)
    try:
        path = os.path.join(base, "f.txt")
        write = json.dumps(call(1, "write_file", {"path": path, "content": NEW}))
        edit = json.dumps(call(1, "edit_file", {"path": path, "edits": [
            {"oldText": LINE_A.rstrip("\n"), "newText": LINE_B.rstrip("\n"),
             "replaceAll": True}]}))
        append = json.dumps(call(1, "append_file", {"path": path, "content": TAIL}))
        for r in range(lane, runs, LANES):
            with open(path, "w") as f:
                f.write(OLD)
            tool = r % len(TOOLS)
            point, mask, whose = KILL_POINTS[(r // len(TOOLS)) % len(KILL_POINTS)]
            new = OLD + TAIL if TOOLS[tool] == "append_file" else NEW
            p = start(binary, base)
            ino.drain()
            p.stdin.write(((write, edit, append)[tool] + "\n").encode())
            p.stdin.flush()
            if mask:
                # (a write into f.txt itself ends the wait too: it is the failure below)
                ino.wait(mask | IN_MODIFY,
                         lambda n, m, whose=whose, mask=mask:
                         (n == "f.txt" and (m & IN_MODIFY or whose == "target")) or
                         (whose == "temp" and m & mask and n.startswith(".f.txt.")))
            elif point == "answered":
                recv(p)
            p.send_signal(signal.SIGKILL)
            p.wait()
            ino.collect()  # every event the server caused is queued by now
            check(not ino.target_written, "run %d (%s, kill when %s): f.txt was written in "
                  "place (a crash in the middle of that write leaves it torn)" %
                  (r, TOOLS[tool], point))
            with open(path) as f:
                got = f.read()
            check(got in (OLD, new), "run %d (%s, kill when %s): the file holds a mix or a torn "
                  "tail (%d bytes; old %d, complete %d)" %
                  (r, TOOLS[tool], point, len(got), len(OLD), len(new)))
            check(point not in ("renamed", "answered") or got == new,
                  "run %d (%s): killed after the rename, yet the old content is back" %
                  (r, TOOLS[tool]))
            with lock:
                seen["old" if got == OLD else TOOLS[tool]] += 1
            for n in os.listdir(base):
                if n != "f.txt":
                    os.unlink(os.path.join(base, n))  # a temp file a kill left behind
    finally:
        ino.close()
        shutil.rmtree(base)


def crash_runs(binary, runs):
    seen = dict.fromkeys(("old",) + TOOLS, 0)
    lock = threading.Lock()
    with concurrent.futures.ThreadPoolExecutor(LANES) as pool:
        lanes = [pool.submit(crash_lane, binary, k, runs, seen, lock) for k in range(LANES)]
        for f in lanes:
            f.result()  # re-raises a lane's failure
    check(sum(seen.values()) == runs, "only %d of %d runs were made" % (sum(seen.values()), runs))
    print("crash safety: %d/%d runs left old or new content (old %d, new by write_file %d, "
          "edit_file %d, append_file %d; kill points %s, each for every tool; %d runs at a "
          "time)" % (runs, runs, seen["old"], seen["write_file"], seen["edit_file"],
                     seen["append_file"], ", ".join(k[0] for k in KILL_POINTS), LANES))


def concurrency(binary):
    base = tempfile.mkdtemp(prefix="ctxd-conc-", dir=fixtures.scratch())
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
                check("changed since it was read" in res["content"][0]["text"],
                      "unexpected isError: %s" % res)
                conflict += 1
            else:
                ok.append(m["id"] - 1)
        check(len(ok) == 1 and conflict == 63,
              "%d edits applied, %d conflicts (want 1 and 63)" % (len(ok), conflict))
        with open(path) as f:
            got = f.read()
        want = initial.replace("line %02d\n" % ok[0], "LINE %02d\n" % ok[0])
        check(got == want, "file after the sha-guarded edits is wrong")
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
            check(not m["result"].get("isError"), "an unguarded edit failed: %s" % m)
        with open(path) as f:
            got = f.read()
        check(got == initial.upper(), "an update was lost: %r" % got[:300])
        print("concurrency: 64 unguarded edits on distinct lines: 64 applied, none lost")
        p.stdin.close()
        p.wait(timeout=HANG_GUARD)
    finally:
        shutil.rmtree(base)


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    crash_runs(binary, runs)
    concurrency(binary)


if __name__ == "__main__":
    main()
