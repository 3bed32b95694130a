"""stdin closed in the middle of a frame, and in the middle of 200 in-flight calls.

Mid-frame: the half frame is dropped, what came before is answered, exit 0 at once.
In flight: 200 search_files calls, then EOF at once: the server answers every call it
finishes, writes only whole frames, exits 0, and exits by the drain limit
(limits.drain_ms) when the work is not done by then.

No timing decides the outcome. With a drain limit of 600 s every call finishes first, so
all 200 are answered. For the drain limit itself the calls carry the test hook
"ctxd.test/hold" (CTXD_TEST_HOOKS=1): each stops in the middle of its walk, after its
first progress notification, until it is cancelled, and no frame comes after the EOF that
could let it go on. So the server can only exit through the drain limit; if that limit did
not work it would never exit, which the hang guard reports."""
import os
import time

import common as c
import fixtures  # on the path through common

HANG_GUARD = 120


def mid_frame(exe, root):
    srv = c.Server(exe, ["--no-landlock", root])
    srv.initialize()
    srv.send(c.call(1, "list_allowed_directories"))
    c.check(srv.wait_for(lambda ls: any(m.get("id") == 1 for m in ls), 60),
            "no answer to list_allowed_directories")
    srv.send(b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_te')
    t0 = time.monotonic()
    srv.close_stdin()
    rc = srv.wait_exit(HANG_GUARD)
    srv.finish()
    c.check_frames(srv)
    c.check(rc == 0, "exit code %r after EOF mid-frame; stderr: %s" % (rc, srv.stderr[-2000:]))
    c.check(2 not in [m.get("id") for m in srv.lines], "the cut frame was answered")
    print("EOF mid-frame: exit 0 in %.2f s" % (time.monotonic() - t0))


def inflight(exe, root, drain_ms, hold):
    cfg = os.path.join(c.tmpdir("eofcfg"), "ctxd.yaml")
    with open(cfg, "w") as f:
        f.write("limits:\n  drain_ms: %d\n" % drain_ms)
    try:
        srv = c.Server(exe, ["--no-landlock", "--config", cfg, root],
                       env={"CTXD_TEST_HOOKS": "1"})
        srv.initialize()
        batch = []
        for i in range(1, 201):
            m = c.call(i, "search_files", {"path": ".", "pattern": "**/*.txt"})
            if hold:
                m["params"]["_meta"] = {"progressToken": i,
                                        "ctxd.test/hold": "until-cancelled"}
            batch.append(c.frame(m))
        srv.send(b"".join(batch))
        t0 = time.monotonic()
        srv.close_stdin()
        rc = srv.wait_exit(HANG_GUARD)
        took = time.monotonic() - t0
        srv.finish()
        c.check(rc is not None, "no exit within %d s of EOF (drain limit %d ms)" %
                (HANG_GUARD, drain_ms))
        c.check_frames(srv)
        c.check(rc == 0, "exit code %r; stderr: %s" % (rc, srv.stderr[-2000:]))
        got = srv.responses()
        for i in range(1, 201):
            m = got.get(str(i))
            if m is not None:
                c.check("result" in m and not m["result"].get("isError"), "bad answer: %s" % m)
        answered = sum(1 for i in range(1, 201) if str(i) in got)
        print("EOF with 200 in flight (drain %d ms%s): %d answered, exit 0 after %.2f s" %
              (drain_ms, ", held" if hold else "", answered, took))
        if hold:
            c.check(answered == 0, "%d held calls were answered after EOF" % answered)
            c.check(b"drain limit" in srv.stderr,
                    "no 'drain limit' warning; stderr: %s" % srv.stderr[-2000:])
        else:
            c.check(answered == 200, "only %d of 200 answered" % answered)
    finally:
        c.rmtree(os.path.dirname(cfg))


def main():
    exe = c.binary()
    root = c.tmpdir("eof")
    try:
        c.make_tree(root, 20, 20)
        mid_frame(exe, root)
        # drain limit far beyond any run: everything finishes, everything is answered
        inflight(exe, root, 600000, hold=False)
        # walks held mid-way until cancelled: only the drain limit (500 ms) ends them
        inflight(exe, fixtures.tree("flat-1500"), 500, hold=True)
    finally:
        c.rmtree(root)


if __name__ == "__main__":
    main()
