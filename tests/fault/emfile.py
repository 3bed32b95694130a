"""EMFILE: the server runs out of descriptors. Calls that cannot get one must come back as
clear isError results naming the cause (not JSON-RPC errors, no crash, no hang); a search
that could not open part of the tree must say so (isError, or truncated / a count of
skipped directories in structuredContent) rather than return a partial list as if it were
whole; and the server must keep working: once the load is gone it holds exactly the
descriptors it held before, and a plain call succeeds.

The limit is derived, not fixed: the test counts /proc/PID/fd once the server is up and
has answered a first call (a sanitizer runtime or a library may hold any number of
descriptors), then lowers RLIMIT_NOFILE of the running process (prlimit):
1. to exactly that count: every call below needs a new descriptor, so each one must fail
   with EMFILE, whatever the machine;
2. to that count plus HEADROOM, with 144 calls on 8 workers: searches (over four chains 40
   directories deep and wide directories), reads and listings may each run into the limit
   or not, depending on what runs beside them (the parallel walk gives a directory's
   descriptor back once its subdirectories are open, so it does not hold one per level);
   a search that ran into it must say so (isError naming EMFILE, or truncated / a count of
   skipped directories), one that did not must have found every file, and every answer
   must be well-formed either way."""
import json
import os
import resource

import common as c

HEADROOM = 8  # enough for a plain read_text_file, not for 8 calls at once
DEPTH = 40


def is_emfile(text):
    return "open files" in text.lower() or "emfile" in text.lower()


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def main():
    exe = c.binary()
    root = c.tmpdir("emfile")
    try:
        # deep chains (a walker holds a descriptor per level) and wide directories
        for k in range(4):
            path = os.path.join(root, *["deep%d_%d" % (k, j) for j in range(DEPTH)])
            os.makedirs(path)
            with open(os.path.join(path, "bottom.txt"), "w") as f:
                f.write("at the bottom\n")
        expected = 4 + c.make_tree(root, 40, 10)
        base_keys = {"path", "pattern", "matches", "count", "truncated"}
        srv = c.Server(exe, ["--no-landlock", "--threads", "8", root])
        srv.initialize()
        srv.send(c.call("warm", "read_text_file", {"path": "d0_0/f0.txt"}))
        c.check(srv.wait_for(lambda ls: any(m.get("id") == "warm" for m in ls), 60),
                "no answer to the first call; stderr: %s" % srv.stderr[-2000:])
        c.check(not srv.responses()['"warm"']["result"].get("isError"),
                "the first call failed: %s" % srv.responses()['"warm"'])
        before = open_fds(srv.pid)
        _, hard = resource.prlimit(srv.pid, resource.RLIMIT_NOFILE)

        # 1. no descriptor to spare: each call fails, and says why
        resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (before, hard))
        print("server holds %d descriptors after start-up: RLIMIT_NOFILE set to %d" %
              (before, before))
        starved = [("read_text_file", {"path": "d0_0/f1.txt"}),
                   ("list_directory", {"path": "d1_0"}),
                   ("search_files", {"path": ".", "pattern": "**/*.txt"})]
        for k, (name, args) in enumerate(starved):
            srv.send(c.call("starved%d" % k, name, args))
            c.check(srv.wait_for(lambda ls: any(m.get("id") == "starved%d" % k for m in ls), 60),
                    "no answer to %s without descriptors" % name)
            m = srv.responses()[json.dumps("starved%d" % k)]
            c.check("result" in m, "JSON-RPC error instead of a tool result: %s" % m)
            res = m["result"]
            text = res["content"][0]["text"] if res.get("content") else ""
            c.check(res.get("isError") and is_emfile(text),
                    "%s without a descriptor to spare: want an isError naming EMFILE, got %s" %
                    (name, str(res)[:300]))
            print("%s with no descriptor to spare: %s" % (name, text[:160]))

        # 2. HEADROOM to spare, 144 calls at once
        limit = before + HEADROOM
        resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (limit, hard))
        n = 0
        for r in range(6):
            for k in range(8):
                n += 1
                srv.send(c.call(n, "search_files", {"path": ".", "pattern": "**/*.txt"}))
                n += 1
                srv.send(c.call(n, "read_text_file", {"path": "d%d_0/f1.txt" % k}))
                n += 1
                srv.send(c.call(n, "list_directory", {"path": "deep%d_0" % (k % 4)}))
        c.check(srv.wait_for(lambda ls: len(ls) >= n + 2 + len(starved), 120),
                "not all %d calls answered; stderr: %s" % (n, srv.stderr[-2000:]))
        got = srv.responses()
        emfile = ok = searches_hit = 0
        sample = ""
        for i in range(1, n + 1):
            m = got[str(i)]
            search = i % 3 == 1
            c.check("result" in m, "JSON-RPC error instead of a tool result: %s" % m)
            res = m["result"]
            if res.get("isError"):
                text = res["content"][0]["text"]
                c.check(text, "isError without a message: %s" % m)
                c.check(is_emfile(text), "isError for another reason: %s" % text[:300])
                emfile += 1
                searches_hit += search
                sample = text[:200]
            else:
                ok += 1
                sc = res.get("structuredContent") or {}
                if search:
                    flagged = sc.get("truncated") or any(sc.get(k) for k in sc
                                                         if k not in base_keys)
                    if sc.get("count", 0) == expected and not flagged:
                        continue  # complete: the walk got every descriptor it needed
                    c.check(flagged, "search_files found %d of %d files and did not say that "
                            "part of the tree could not be read: %s" %
                            (sc.get("count"), expected, str(res)[:300]))
                    searches_hit += 1
        print("%d calls with %d descriptors to spare: %d succeeded, %d isError for EMFILE, "
              "%d of %d searches ran into the limit" %
              (n, HEADROOM, ok, emfile, searches_hit, n // 3))
        if sample:
            print("sample: %s" % sample)
        # the server survives and recovers: no descriptor left behind, a plain call works
        after = open_fds(srv.pid)
        c.check(after == before, "the server holds %d descriptors after the load, %d before"
                % (after, before))
        srv.send(c.call("after", "read_text_file", {"path": "d0_0/f0.txt"}))
        c.check(srv.wait_for(lambda ls: any(m.get("id") == "after" for m in ls), 60),
                "no answer after the load")
        m = srv.responses()['"after"']
        c.check(not m["result"].get("isError"), "no recovery after EMFILE: %s" % m)
        srv.close_stdin()
        rc = srv.wait_exit(60)
        srv.finish()
        c.check_frames(srv)
        c.check(rc == 0, "exit code %r; stderr: %s" % (rc, srv.stderr[-2000:]))
    finally:
        c.rmtree(root)


if __name__ == "__main__":
    main()
