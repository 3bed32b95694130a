"""stdin closed in the middle of a frame, and in the middle of 200 in-flight calls.

Mid-frame: the half frame is dropped, what came before is answered, exit 0 at once.
In flight: 200 search_files calls over a tree, then EOF at once: the server answers every
call it finishes, writes only whole frames, exits 0, and exits within the drain limit
(limits.drain_ms) even when the work would take longer."""
import os
import time

import common as c


def mid_frame(exe, root):
    srv = c.Server(exe, ["--no-landlock", root])
    srv.initialize()
    srv.send(c.call(1, "list_allowed_directories"))
    assert srv.wait_for(lambda ls: any(m.get("id") == 1 for m in ls), 30)
    srv.send(b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_te')
    t0 = time.monotonic()
    srv.close_stdin()
    rc = srv.wait_exit(10)
    srv.finish()
    c.check_frames(srv)
    assert rc == 0, "exit code %r after EOF mid-frame; stderr: %s" % (rc, srv.stderr[-2000:])
    assert 2 not in [m.get("id") for m in srv.lines], "the cut frame was answered"
    print("EOF mid-frame: exit 0 in %.2f s" % (time.monotonic() - t0))


def inflight(exe, root, drain_ms, want_all):
    cfg = os.path.join(root, "..", os.path.basename(root) + "-cfg.yaml")
    with open(cfg, "w") as f:
        f.write("limits:\n  drain_ms: %d\n" % drain_ms)
    try:
        srv = c.Server(exe, ["--no-landlock", "--config", cfg, root])
        srv.initialize()
        batch = b"".join(c.frame(c.call(i, "search_files", {"path": ".", "pattern": "**/*.txt"}))
                         for i in range(1, 201))
        srv.send(batch)
        t0 = time.monotonic()
        srv.close_stdin()
        rc = srv.wait_exit(drain_ms / 1000.0 + 30)
        took = time.monotonic() - t0
        srv.finish()
        c.check_frames(srv)
        assert rc == 0, "exit code %r; stderr: %s" % (rc, srv.stderr[-2000:])
        got = srv.responses()
        for i in range(1, 201):
            m = got.get(str(i))
            if m is not None:
                assert "result" in m and not m["result"].get("isError"), m
        answered = sum(1 for i in range(1, 201) if str(i) in got)
        print("EOF with 200 in flight (drain %d ms): %d answered, exit 0 after %.2f s" %
              (drain_ms, answered, took))
        # exit within the drain limit (+ start-up slack and the 2 s output flush bound)
        assert took < drain_ms / 1000.0 + 3.0, "took %.2f s, drain limit %d ms" % (took, drain_ms)
        if want_all:
            assert answered == 200, "only %d of 200 answered" % answered
        return answered
    finally:
        os.unlink(cfg)


def main():
    exe = c.binary()
    asan = c.is_asan(exe)
    root = c.tmpdir("eof")
    big = c.tmpdir("eofbig")
    try:
        c.make_tree(root, 20, 20)
        mid_frame(exe, root)
        # small tree, generous drain: everything finishes, everything is answered
        inflight(exe, root, 20000, want_all=True)
        # a tree too big to search 200 times within 500 ms: the drain limit cuts it short
        c.make_tree(big, 100 if asan else 200, 50)
        inflight(exe, big, 500, want_all=False)
    finally:
        c.rmtree(root)
        c.rmtree(big)


if __name__ == "__main__":
    main()
