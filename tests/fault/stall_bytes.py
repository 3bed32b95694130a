"""A host that stops reading while large answers are owed to it (backpressure by bytes).

Phase 1: 2,000 read_multiple_files calls, each answered with about 256 KiB (512 MiB in all),
sent while the host reads nothing. The server must stop taking requests and stop building answers once
the bytes owed pass limits.write_queue_bytes; the test waits for the server's own log
line that every worker is idle under backpressure (no sleep, no timing), then reads
VmRSS and VmHWM (peak): both must stay <= 256 MiB. Then the host reads again: every id is
answered exactly once, no line is longer than the frame limit, and VmRSS falls back.

Phase 2 (protocol 2025-03-26): one batch of 1,000 reads of 64 KiB each (about 128 MiB of
answers to one JSON-RPC batch). The answer comes in parts, each a JSON array no longer
than the frame limit; every id once; VmHWM stays <= 256 MiB.

Figures are printed (docs/hardening.md quotes them). CTXD_STALL_OBSERVE=SECONDS turns phase 1
into a measurement for binaries without byte backpressure (they never log the idle line):
VmRSS is sampled for that long with the host not reading, the peak printed, and the server
killed at 4 GiB; phase 2 then only reads the whole answer and prints its largest line.
CTXD_STALL_FILES and CTXD_STALL_FILE_KIB change the files per call and their size (the
issue's 26 MB answers: 100 files of 256 KiB)."""
import json
import os
import select
import subprocess
import sys
import threading
import time

import common as c

CALLS = int(os.environ.get("CTXD_STALL_CALLS", "2000"))
BATCH = int(os.environ.get("CTXD_STALL_BATCH", "1000"))
# per read_multiple_files call: 2 files of 64 KiB, answers of about 256 KiB (each file's
# text comes twice: content and structuredContent)
FILES = int(os.environ.get("CTXD_STALL_FILES", "2"))
FILE_BYTES = int(os.environ.get("CTXD_STALL_FILE_KIB", "64")) * 1024
FRAME_LIMIT = 16 * 1024 * 1024  # the default limits.frame_bytes
RSS_LIMIT_KIB = 256 * 1024


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Srv:
    """ctxd on pipes; stdout is read only when asked to; stderr lines are watched."""

    def __init__(self, exe, args):
        env = dict(os.environ)
        if c.is_asan(exe):
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"
                                   ":malloc_context_size=5").lstrip(":")
        self.p = subprocess.Popen([exe, "-l", "debug"] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                  bufsize=0)
        self.cv = threading.Condition()
        self.err = []
        self.buf = b""
        threading.Thread(target=self._err, daemon=True).start()

    def _err(self):
        for line in self.p.stderr:
            with self.cv:
                self.err.append(line.decode(errors="replace"))
                self.cv.notify_all()

    def wait_log(self, text, start, timeout):
        """Index of the first stderr line at or after `start` holding `text`."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for i in range(start, len(self.err)):
                    if text in self.err[i]:
                        return i
                left = end - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    return -1
                self.cv.wait(left)

    def send(self, obj):
        self.p.stdin.write(c.frame(obj))

    def lines(self, target, timeout, weight=lambda line: 1):
        """Read output lines (raw bytes) until the sum of weight(line) reaches `target`,
        or timeout."""
        out = []
        got = 0
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        pending = [self.buf]  # pieces of the unfinished line
        while got < target:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                break
            chunk = os.read(fd, 1 << 22)
            if not chunk:
                break
            parts = chunk.split(b"\n")
            if len(parts) > 1:
                pending.append(parts[0])
                new = [b"".join(pending)] + parts[1:-1]
                out.extend(new)
                got += sum(weight(x) for x in new)
                pending = []
            pending.append(parts[-1])
        self.buf = b"".join(pending)
        return out


    def wait_idle(self):
        """Wait for the server's log line that every worker is idle under backpressure."""
        i = self.wait_log("backpressure: every worker idle", 0, 300)
        check(i >= 0, "the server never held its workers; stderr: %s" % "".join(self.err[-20:]))

    def close(self):
        """Close stdin: exit code 0 expected."""
        self.p.stdin.close()
        check(self.p.wait(30) == 0, "exit code %r" % self.p.returncode)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def make_tree(root):
    line = b"y" * 1023 + b"\n"
    with open(os.path.join(root, "big.txt"), "wb") as f:
        f.write(line * (FILE_BYTES // len(line)))
    for i in range(FILES):
        os.link(os.path.join(root, "big.txt"), os.path.join(root, "f%02d.txt" % i))


def handshake(srv, version):
    srv.send(c.req(0, "initialize", {"protocolVersion": version, "capabilities": {},
                                     "clientInfo": {"name": "stall-bytes", "version": "1"}}))
    first = srv.lines(1, 30)
    check(first and b'"id":0' in first[0], "no initialize answer: %r" % first[:1])
    srv.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


def ids_of(lines):
    """Response ids in the output lines (objects or batch arrays), checking each line."""
    ids = []
    for ln in lines:
        check(len(ln) <= FRAME_LIMIT, "a line of %d bytes passes the frame limit" % len(ln))
        m = json.loads(ln)
        for r in (m if isinstance(m, list) else [m]):
            if "id" not in r:
                continue
            check("result" in r and not r["result"].get("isError"),
                  "answer %r failed: %s" % (r.get("id"), json.dumps(r)[:300]))
            ids.append(r["id"])
    return ids


def stalled_calls(exe, root):
    srv = Srv(exe, ["--no-landlock", root])
    try:
        handshake(srv, c.PROTO)
        base = status_kib(srv.p.pid, "VmRSS")
        paths = ["f%02d.txt" % i for i in range(FILES)]
        payload = b"".join(c.frame(c.call(i + 1, "read_multiple_files", {"paths": paths}))
                           for i in range(CALLS))
        done = threading.Event()

        def writer():
            try:
                srv.p.stdin.write(payload)
            except BrokenPipeError:
                pass
            done.set()

        threading.Thread(target=writer, daemon=True).start()
        observe = float(os.environ.get("CTXD_STALL_OBSERVE", "0"))
        if observe > 0:
            peak, t0 = base, time.monotonic()
            while time.monotonic() - t0 < observe and peak < 4 << 20:
                time.sleep(0.2)
                peak = max(peak, status_kib(srv.p.pid, "VmRSS"))
            print("observed %.1f s with the host not reading: VmRSS %d KiB at start, peak %d "
                  "KiB" % (time.monotonic() - t0, base, peak))
            return srv
        srv.wait_idle()
        rss, hwm = status_kib(srv.p.pid, "VmRSS"), status_kib(srv.p.pid, "VmHWM")
        print("stalled: %d calls of ~%d KiB each sent (writer blocked: %s), host not reading; "
              "VmRSS %d KiB at start, %d KiB when every worker was idle, peak (VmHWM) %d KiB "
              "(limit %d KiB)" % (CALLS, FILES * FILE_BYTES * 2 >> 10, not done.is_set(), base,
                                  rss, hwm, RSS_LIMIT_KIB))
        check(hwm <= RSS_LIMIT_KIB, "VmHWM %d KiB passes %d KiB" % (hwm, RSS_LIMIT_KIB))

        t0 = time.monotonic()
        lines = srv.lines(CALLS, 600)
        ids = ids_of(lines)
        check(sorted(ids) == list(range(1, CALLS + 1)),
              "%d answers, not ids 1..%d once each" % (len(ids), CALLS))
        after = status_kib(srv.p.pid, "VmRSS")
        hwm = status_kib(srv.p.pid, "VmHWM")
        print("resumed: %d answers (%d MiB) read in %.1f s; VmRSS after %d KiB, peak %d KiB" %
              (CALLS, sum(len(x) for x in lines) >> 20, time.monotonic() - t0, after, hwm))
        check(hwm <= RSS_LIMIT_KIB, "VmHWM %d KiB passes %d KiB" % (hwm, RSS_LIMIT_KIB))
        check(after <= base + 64 * 1024,
              "memory did not return: VmRSS %d KiB after, %d KiB at start" % (after, base))
        srv.close()
    finally:
        srv.kill()
    return srv


def stalled_batch(exe, root):
    srv = Srv(exe, ["--no-landlock", root])
    try:
        handshake(srv, "2025-03-26")
        batch = [c.call(i + 1, "read_text_file", {"path": "f%02d.txt" % (i % FILES)})
                 for i in range(BATCH)]
        srv.send(batch)
        if float(os.environ.get("CTXD_STALL_OBSERVE", "0")) > 0:
            lines = srv.lines(BATCH, 600, lambda line: line.count(b'"jsonrpc"'))
            print("observed batch: %d answers in %d line(s), the largest %d bytes; VmHWM %d KiB"
                  % (sum(x.count(b'"jsonrpc"') for x in lines), len(lines),
                     max(len(x) for x in lines), status_kib(srv.p.pid, "VmHWM")))
            return
        srv.wait_idle()
        hwm = status_kib(srv.p.pid, "VmHWM")
        check(hwm <= RSS_LIMIT_KIB, "batch: VmHWM %d KiB passes %d KiB" % (hwm, RSS_LIMIT_KIB))
        # each part is an array of whole answers (the files hold no such key)
        lines = srv.lines(BATCH, 600, lambda line: line.count(b'"jsonrpc"'))
        for ln in lines:
            check(ln.startswith(b"[") and ln.endswith(b"]"), "a batch part is not an array")
        seen = ids_of(lines)
        check(sorted(seen) == list(range(1, BATCH + 1)),
              "batch: %d answers, not ids 1..%d once each" % (len(seen), BATCH))
        hwm = status_kib(srv.p.pid, "VmHWM")
        print("batch: %d reads of %d KiB answered in %d parts (largest %d bytes, limit %d); "
              "peak VmHWM %d KiB" % (BATCH, FILE_BYTES >> 10, len(lines),
                                     max(len(x) for x in lines), FRAME_LIMIT, hwm))
        check(hwm <= RSS_LIMIT_KIB, "batch: VmHWM %d KiB passes %d KiB" % (hwm, RSS_LIMIT_KIB))
        srv.close()
    finally:
        srv.kill()


def main():
    exe = c.binary()
    root = c.tmpdir("stall-bytes")
    try:
        make_tree(root)
        phases = os.environ.get("CTXD_STALL_PHASES", "calls,batch").split(",")
        if "calls" in phases:
            stalled_calls(exe, root)
        if "batch" in phases:
            stalled_batch(exe, root)
    finally:
        c.rmtree(root)


if __name__ == "__main__":
    main()
