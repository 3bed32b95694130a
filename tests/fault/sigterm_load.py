"""SIGTERM under load: a writer keeps calls coming (mixed tools, many in flight) when the
server gets SIGTERM. It must stop taking new work, answer what it runs, write only whole
frames, and exit 0, through the drain limit when work does not end by itself.

No timing decides the outcome: among the calls is one that carries the test hook
"ctxd.test/hold": "until-cancelled" (CTXD_TEST_HOOKS=1), which runs until it is cancelled,
so the server can only exit once its drain limit (1 s here) cancels it; a SIGTERM path
that never armed the drain limit would not exit at all, which the hang guard reports."""
import json
import os
import signal
import threading
import time

import common as c

HANG_GUARD = 120


def main():
    exe = c.binary()
    root = c.tmpdir("term")
    cfg = root + "-cfg.yaml"
    try:
        c.make_tree(root, 30, 30)
        with open(cfg, "w") as f:
            f.write("limits:\n  drain_ms: 1000\n")
        srv = c.Server(exe, ["--no-landlock", "--config", cfg, root],
                       env={"CTXD_TEST_HOOKS": "1"})
        srv.initialize()
        held = c.call("held", "read_text_file", {"path": "d0_0/f0.txt"})
        held["params"]["_meta"] = {"ctxd.test/hold": "until-cancelled"}
        srv.send(held)
        stop = threading.Event()
        sent = ["held"]

        def writer():
            i = 1
            tools = [("search_files", {"path": ".", "pattern": "**/f1*.txt"}),
                     ("read_text_file", {"path": "d0_0/f0.txt"}),
                     ("list_directory", {"path": "d1_0"}),
                     ("get_file_info", {"path": "d2_0/f2.txt"})]
            try:
                while not stop.is_set():
                    name, args = tools[i % len(tools)]
                    srv.send(c.call(i, name, args))
                    sent.append(i)
                    i += 1
            except (BrokenPipeError, ValueError, OSError):
                pass

        wt = threading.Thread(target=writer, daemon=True)
        wt.start()
        c.check(srv.wait_for(lambda ls: len(ls) > 500, 120),
                "no load built up; stderr: %s" % srv.stderr[-2000:])
        t0 = time.monotonic()
        srv.p.send_signal(signal.SIGTERM)
        rc = srv.wait_exit(HANG_GUARD)
        took = time.monotonic() - t0
        stop.set()
        srv.close_stdin()
        srv.finish()
        c.check(rc is not None, "no exit within %d s of SIGTERM" % HANG_GUARD)
        c.check_frames(srv)
        c.check(rc == 0, "exit code %r; stderr: %s" % (rc, srv.stderr[-2000:]))
        c.check(b"drain limit" in srv.stderr,
                "the held call did not end through the drain limit; stderr: %s" %
                srv.stderr[-2000:])
        got = srv.responses()
        sentset = set(json.dumps(i) for i in sent)
        c.check('"held"' not in got, "the held call was answered: %s" % got.get('"held"'))
        for k, m in got.items():
            if k == '"init"':
                continue
            c.check(k in sentset, "answer to an id never sent: %s" % k)
            c.check("result" in m, "JSON-RPC error: %s" % m)
        print("SIGTERM after %d calls sent: %d answered, exit 0 in %.2f s" %
              (len(sent), len(got) - 1, took))
    finally:
        c.rmtree(root)
        if os.path.exists(cfg):
            os.unlink(cfg)


if __name__ == "__main__":
    main()
