"""A host that stops reading stdout while it sends 100,000 requests.

The server must stop reading input once its output queue is full (bounded memory: VmRSS
growth while stalled stays under a limit), and when the host reads again it must resume
and answer every request exactly once.

No waiting for time: the stall is recognised by the server's state (input waiting in its
stdin pipe while every thread of it sleeps: see common.wait_not_reading), the resumption
by the answers themselves; the time limits are hang guards only."""
import os
import threading
import time

import common as c

N = int(os.environ.get("CTXD_STALL_REQUESTS", "100000"))


def main():
    exe = c.binary()
    asan = c.is_asan(exe)
    root = c.tmpdir("stall")
    try:
        with open(os.path.join(root, "small.txt"), "w") as f:
            f.write("".join("line %d of a small file\n" % i for i in range(20)))
        srv = c.Server(exe, ["--no-landlock", root], reader=False)
        # handshake by hand: no reader thread yet
        srv.send(c.req(0, "initialize", {"protocolVersion": c.PROTO, "capabilities": {},
                                         "clientInfo": {"name": "stall", "version": "1"}}))
        srv.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        first = srv.p.stdout.readline()
        c.check(b'"id":0' in first, "unexpected first line: %r" % first[:200])
        base = c.rss_kib(srv.pid)

        sent = [0]
        payload = [c.frame(c.call(i + 1, "read_text_file", {"path": "small.txt"}))
                   for i in range(N)]

        def writer():  # 100 frames per write: a client writing as fast as it can
            for i in range(0, N, 100):
                srv.p.stdin.write(b"".join(payload[i:i + 100]))
                sent[0] = min(i + 100, N)

        wt = threading.Thread(target=writer, daemon=True)
        wt.start()
        # the host does not read: wait until the server stops taking input
        peak = [base]

        def sample():
            peak[0] = max(peak[0], c.rss_kib(srv.pid))

        stalled = c.wait_not_reading(srv, 300, lambda: sent[0], sample,
                                     finished=lambda: not wt.is_alive())
        stalled_at = sent[0]
        c.check(srv.p.poll() is None, "server died while stalled: %s" % srv.stderr[-2000:])
        c.check(stalled and stalled_at < N,
                "the server kept reading although nobody read its output (%d of %d sent)"
                % (stalled_at, N))
        sample()
        growth = peak[0] - base
        limit = (256 if asan else 96) * 1024
        print("stalled after %d of %d requests; VmRSS %d KiB at start, peak %d KiB "
              "(+%d KiB, limit +%d KiB)" % (stalled_at, N, base, peak[0], growth, limit))
        c.check(growth < limit, "VmRSS grew by %d KiB while stalled" % growth)

        # resume reading: everything must be answered, each id once
        t0 = time.monotonic()
        srv.start_reader()
        wt.join(300)
        c.check(not wt.is_alive(), "writer still blocked after reading resumed")
        ok = srv.wait_for(lambda ls: len(ls) >= N, 300)
        got = srv.responses()
        c.check(ok, "only %d of %d answered after resuming" % (len(got), N))
        ids = sorted(m["id"] for m in srv.lines if "id" in m)
        c.check(ids == list(range(1, N + 1)), "ids answered are not exactly 1..N once each")
        for m in srv.lines:
            c.check("result" in m and not m["result"].get("isError"), "bad answer: %s" % m)
        end_rss = c.rss_kib(srv.pid)
        print("resumed: %d answered in %.1f s; VmRSS %d KiB after" %
              (N, time.monotonic() - t0, end_rss))
        srv.close_stdin()
        rc = srv.wait_exit(60)
        srv.finish()
        c.check_frames(srv)
        c.check(rc == 0, "exit code %r; stderr: %s" % (rc, srv.stderr[-2000:]))
    finally:
        c.rmtree(root)


if __name__ == "__main__":
    main()
