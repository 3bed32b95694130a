#!/usr/bin/env python3
"""ctxd://status and the minute status log line, in both eras.

usage: status.py CTXD_BINARY

For the legacy (initialize) and the modern (2026-07-28, _meta-carried) era, one ctxd each:
  - resources/list offers ctxd://status (application/json);
  - resources/read of it answers JSON text whose figures have the documented names and types:
    uptime_ms, loop_lag_samples, pool_queued, pool_busy, pool_workers, requests_in_flight,
    bytes_owed integers >= 0; loop_lag_p50_ms <= loop_lag_p99_ms numbers, or both null with no
    samples; rss_bytes a positive integer (null only where /proc is missing); pool_workers the
    --threads given;
  - while one tools/call is held on the pool (the CTXD_TEST_HOOKS "ctxd.test/hold" hook) the
    figures count it: requests_in_flight 1 (the status read itself is answered on the loop
    thread and never counts), pool_busy + pool_queued 1;
  - the minute log line, driven by the test hook notification "ctxd.test/minute" (it ends the
    current minute at once) instead of waiting a minute: after a minute in which requests ran
    (on the pool, or answered on the loop thread), one `info` line "status: requests=N jobs=M
    ..." with the same figures; after an idle minute, none. Each check is made after a ping is answered: every line the server logged
    before that answer is already in its stderr pipe.
ctxd runs with --toolsets files (no family has background jobs on the pool) and one worker.
Nothing waits for a time; HANG_GUARD only turns a hang into a failure. Exits non-zero on the
first failed check.
"""
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fixtures  # noqa: E402
from toolsets import HANG_GUARD, check, fail  # noqa: E402

META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}
INTS = ("uptime_ms", "loop_lag_samples", "pool_queued", "pool_busy", "pool_workers",
        "requests_in_flight", "tasks_live", "bytes_owed")


class Session:
    def __init__(self, binary, args, modern):
        env = dict(os.environ, CTXD_TEST_HOOKS="1")
        self.p = subprocess.Popen([binary] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.modern = modern
        self.buf = b""
        self.err = b""
        self.next_id = 0

    def send(self, msg):
        self.p.stdin.write(json.dumps(msg).encode() + b"\n")
        self.p.stdin.flush()

    def request_nowait(self, method, params=None, meta=None):
        self.next_id += 1
        params = dict(params or {})
        m = dict(META) if self.modern else {}
        m.update(meta or {})
        if m:
            params["_meta"] = m
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def wait_for(self, rid):
        while True:
            while b"\n" not in self.buf:
                r, _, _ = select.select([self.p.stdout], [], [], HANG_GUARD)
                check(r, "no answer from ctxd within %d s" % HANG_GUARD)
                chunk = os.read(self.p.stdout.fileno(), 1 << 20)
                check(chunk, "ctxd closed stdout")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            m = json.loads(line)
            if m.get("id") == rid and "method" not in m:
                return m

    def request(self, method, params=None, meta=None):
        return self.wait_for(self.request_nowait(method, params, meta))

    def stderr_now(self):
        """What ctxd wrote to stderr so far (call after an answer: all it logged before)."""
        while True:
            r, _, _ = select.select([self.p.stderr], [], [], 0)
            if not r:
                return self.err.decode(errors="replace")
            chunk = os.read(self.p.stderr.fileno(), 1 << 16)
            if not chunk:
                return self.err.decode(errors="replace")
            self.err += chunk

    def barrier(self):
        """A request answered on the loop thread: everything before it has taken effect."""
        if self.modern:
            r = self.request("server/discover", {})
        else:
            r = self.request("ping")
        check("result" in r, "barrier: %s" % r)

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(timeout=HANG_GUARD)
        check(rc == 0, "ctxd exited %d; stderr: %s" % (rc, self.stderr_now()))


def read_status(s, era):
    r = s.request("resources/read", {"uri": "ctxd://status"})
    check("result" in r, "%s: resources/read ctxd://status: %s" % (era, r))
    c = r["result"]["contents"]
    check(len(c) == 1 and c[0]["uri"] == "ctxd://status" and
          c[0]["mimeType"] == "application/json", "%s: contents %s" % (era, c))
    fig = json.loads(c[0]["text"])
    for k in INTS:
        check(isinstance(fig.get(k), int) and not isinstance(fig[k], bool) and fig[k] >= 0,
              "%s: %s must be an integer >= 0: %s" % (era, k, fig))
    p50, p99 = fig.get("loop_lag_p50_ms", "missing"), fig.get("loop_lag_p99_ms", "missing")
    if fig["loop_lag_samples"] == 0:
        check(p50 is None and p99 is None, "%s: lag without samples must be null: %s" % (era, fig))
    else:
        check(isinstance(p50, (int, float)) and isinstance(p99, (int, float)) and
              0 <= p50 <= p99, "%s: lag p50/p99: %s" % (era, fig))
    rss = fig.get("rss_bytes", "missing")
    if os.path.exists("/proc/self/statm"):
        check(isinstance(rss, int) and rss > 0, "%s: rss_bytes: %s" % (era, fig))
    check(fig["pool_workers"] == 1 and fig["pool_busy"] <= fig["pool_workers"],
          "%s: pool figures: %s" % (era, fig))
    check(set(fig) == set(INTS) | {"loop_lag_p50_ms", "loop_lag_p99_ms", "rss_bytes"},
          "%s: unexpected figures: %s" % (era, sorted(fig)))
    return fig


def minute_lines(s, era, want):
    """End the minute (test hook), then check every status line logged so far."""
    s.send({"jsonrpc": "2.0", "method": "ctxd.test/minute"})
    s.barrier()
    lines = [ln for ln in s.stderr_now().splitlines() if "status: requests=" in ln]
    check(len(lines) == len(want) and all(w in ln for w, ln in zip(want, lines)),
          "%s: status lines %s, expected %s" % (era, lines, want))
    for k in INTS + ("loop_lag_p50_ms", "loop_lag_p99_ms", "rss_bytes"):
        check(" %s=" % k in lines[-1], "%s: the status line lacks %s: %s" % (era, k, lines[-1]))
    check("info" in lines[-1], "%s: not at info: %s" % (era, lines[-1]))


def run(binary, root, modern):
    era = "modern" if modern else "legacy"
    s = Session(binary, ["--no-landlock", "-l", "info", "--threads", "1", "--toolsets", "files", root], modern)
    if not modern:
        r = s.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                     "clientInfo": {"name": "status", "version": "1"}})
        check("resources" in r["result"]["capabilities"], "%s: capabilities %s" % (era, r))
        s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    r = s.request("resources/list")
    listed = [x for x in r["result"]["resources"] if x["uri"] == "ctxd://status"]
    check(len(listed) == 1 and listed[0]["mimeType"] == "application/json",
          "%s: resources/list: %s" % (era, r))
    fig = read_status(s, era)
    check(fig["requests_in_flight"] == 0 and fig["pool_busy"] + fig["pool_queued"] == 0,
          "%s: idle figures: %s" % (era, fig))
    # one call held on the pool until it is cancelled: counted in flight
    held = s.request_nowait("tools/call", {"name": "read_text_file",
                                           "arguments": {"path": "a.txt"}},
                            {"ctxd.test/hold": "until-cancelled"})
    fig = read_status(s, era)
    check(fig["requests_in_flight"] == 1 and fig["pool_busy"] + fig["pool_queued"] == 1,
          "%s: one held call: %s" % (era, fig))
    s.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": held, "reason": "test"}})
    # the minute log line: resources/list, the cancelled call and list_directory ran on the
    # pool in this minute (one worker: list_directory is answered after the cancelled call
    # completed)
    r = s.request("tools/call", {"name": "list_directory", "arguments": {"path": "."}})
    check("a.txt" in json.dumps(r.get("result")), "%s: %s" % (era, r))
    minute_lines(s, era, ["status: requests=3 jobs=3 "])
    # read_text_file of a small file may be answered on the loop thread (no pool job): it
    # still counts as a request that ran
    r = s.request("tools/call", {"name": "read_text_file", "arguments": {"path": "a.txt"}})
    check(r["result"]["content"][0]["text"] == "hello\n", "%s: %s" % (era, r))
    minute_lines(s, era, ["status: requests=3 jobs=3 ", "status: requests=1 "])
    # nothing ran since: an idle minute logs nothing
    minute_lines(s, era, ["status: requests=3 jobs=3 ", "status: requests=1 "])
    s.close()


def main():
    if len(sys.argv) != 2:
        fail("usage: status.py CTXD_BINARY")
    base = tempfile.mkdtemp(prefix="ctxd-status-", dir=fixtures.scratch())
    try:
        root = os.path.join(base, "root")
        os.makedirs(root)
        with open(os.path.join(root, "a.txt"), "w") as f:
            f.write("hello\n")
        run(sys.argv[1], root, False)
        run(sys.argv[1], root, True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("ctxd://status: figures and types in both eras; one minute line after work, none idle")


if __name__ == "__main__":
    main()
