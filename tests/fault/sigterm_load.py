"""SIGTERM under load: a writer keeps calls coming (mixed tools, many in flight) when the
server gets SIGTERM. It must stop taking new work, answer what it runs, write only whole
frames, and exit 0 within the drain limit."""
import os
import signal
import threading
import time

import common as c


def main():
    exe = c.binary()
    root = c.tmpdir("term")
    try:
        c.make_tree(root, 30, 30)
        srv = c.Server(exe, ["--no-landlock", root])
        srv.initialize()
        stop = threading.Event()
        sent = []

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
                    if i % 200 == 0:
                        time.sleep(0.01)
            except (BrokenPipeError, ValueError, OSError):
                pass

        wt = threading.Thread(target=writer, daemon=True)
        wt.start()
        assert srv.wait_for(lambda ls: len(ls) > 500, 60), \
            "no load built up; stderr: %s" % srv.stderr[-2000:]
        t0 = time.monotonic()
        srv.p.send_signal(signal.SIGTERM)
        rc = srv.wait_exit(5 + 10)  # drain_ms default 5000
        took = time.monotonic() - t0
        stop.set()
        srv.close_stdin()
        srv.finish()
        c.check_frames(srv)
        assert rc == 0, "exit code %r; stderr: %s" % (rc, srv.stderr[-2000:])
        assert took < 5 + 3, "exit took %.2f s" % took
        got = srv.responses()
        sentset = set(sent)
        for k, m in got.items():
            if k == '"init"':
                continue
            assert int(k) in sentset, "answer to an id never sent: %s" % k
            assert "result" in m, m
        print("SIGTERM after %d calls sent: %d answered, exit 0 in %.2f s" %
              (len(sent), len(got) - 1, took))
    finally:
        c.rmtree(root)


if __name__ == "__main__":
    main()
