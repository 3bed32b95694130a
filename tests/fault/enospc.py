"""ENOSPC during a write: the allowed root is a 1 MiB tmpfs holding a file; write_file is
asked to replace it with 2 MiB. The call must fail with a clear isError result, the old
file must be intact (same bytes), no temp file may be left behind (a small write right
after succeeds, so the space came back), and the server keeps running.
The same for append_file: appending 2 MiB to a 100,001-byte file must fail the same way and
leave the file at its 100,001 old bytes (an append written in place left it at 1 MiB).

Skips (77) when the server has no write_file tool yet, or when mounting a tmpfs is not
permitted (not root, no CAP_SYS_ADMIN, or a container that forbids mount)."""
import os
import subprocess

import common as c


def main():
    exe = c.binary()
    base = c.tmpdir("enospc")
    mnt = os.path.join(base, "mnt")
    os.mkdir(mnt)
    mounted = False
    try:
        probe = c.Server(exe, ["--no-landlock", base])
        probe.initialize()
        names = probe.tools()
        probe.close_stdin()
        probe.wait_exit(60)
        probe.finish()
        if "write_file" not in names:
            c.skip("the server has no write_file tool (tools: %s)" % ", ".join(names))
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            c.skip("cannot mount a tmpfs: %s" % r.stdout.decode(errors="replace").strip())
        mounted = True
        old = b"".join(b"old line %d\n" % i for i in range(2000))
        with open(os.path.join(mnt, "keep.txt"), "wb") as f:
            f.write(old)
        before = sorted(os.listdir(mnt))

        srv = c.Server(exe, ["--no-landlock", mnt])
        srv.initialize()
        big = "".join("new line %d of a file that does not fit\n" % i for i in range(50000))
        c.check(len(big) > 2 * 1024 * 1024 - 200000, "the big content is too small")
        srv.send(c.call(1, "write_file", {"path": "keep.txt", "content": big}))
        c.check(srv.wait_for(lambda ls: any(m.get("id") == 1 for m in ls), 60),
                "no answer to the big write; stderr: %s" % srv.stderr[-2000:])
        res = srv.responses()["1"]
        c.check("result" in res, "JSON-RPC error instead of an isError result: %s" % res)
        res = res["result"]
        c.check(res.get("isError") is True,
                "writing 2 MiB to a 1 MiB tmpfs did not fail: %s" % str(res)[:300])
        text = res["content"][0]["text"]
        c.check("space" in text.lower(), "unclear message: %s" % text)
        with open(os.path.join(mnt, "keep.txt"), "rb") as f:
            c.check(f.read() == old, "the old file was changed by a failed write")
        after = sorted(os.listdir(mnt))
        c.check(after == before, "files left behind: %s" % sorted(set(after) - set(before)))
        srv.send(c.call(2, "write_file", {"path": "small.txt", "content": "fits\n"}))
        c.check(srv.wait_for(lambda ls: any(m.get("id") == 2 for m in ls), 60),
                "no answer to the small write")
        res2 = srv.responses()["2"]["result"]
        c.check(not res2.get("isError"), "a small write after ENOSPC failed: %s" % res2)
        print("ENOSPC: isError (%s); old file intact; no temp file left" % text[:120])

        # append_file: the same promise
        app_old = b"".join(b"%07d\n" % i for i in range(12500)) + b"x"
        if len(app_old) != 100001:
            raise SystemExit("fixture: %d bytes, not 100,001" % len(app_old))
        with open(os.path.join(mnt, "log.txt"), "wb") as f:
            f.write(app_old)
        before = sorted(os.listdir(mnt))
        srv.send(c.call(3, "append_file", {"path": "log.txt", "content": big}))
        if not srv.wait_for(lambda ls: any(m.get("id") == 3 for m in ls), 60):
            raise SystemExit("no answer to the append; stderr: %s" % srv.stderr[-2000:])
        res3 = srv.responses()["3"]
        if "result" not in res3 or res3["result"].get("isError") is not True:
            raise SystemExit("appending 2 MiB to a 1 MiB tmpfs did not fail with isError: %s"
                             % str(res3)[:300])
        text3 = res3["result"]["content"][0]["text"]
        if "space" not in text3.lower():
            raise SystemExit("unclear message: %s" % text3)
        with open(os.path.join(mnt, "log.txt"), "rb") as f:
            got = f.read()
        if got != app_old:
            raise SystemExit("a failed append changed the file: %d bytes, was %d"
                             % (len(got), len(app_old)))
        after = sorted(os.listdir(mnt))
        if after != before:
            raise SystemExit("files left behind: %s" % sorted(set(after) - set(before)))
        srv.send(c.call(4, "append_file", {"path": "log.txt", "content": "\nmore\n"}))
        if not srv.wait_for(lambda ls: any(m.get("id") == 4 for m in ls), 30):
            raise SystemExit("no answer to the small append")
        res4 = srv.responses()["4"]["result"]
        if res4.get("isError"):
            raise SystemExit("a small append after ENOSPC failed: %s" % res4)
        with open(os.path.join(mnt, "log.txt"), "rb") as f:
            if f.read() != app_old + b"\nmore\n":
                raise SystemExit("the small append after ENOSPC is wrong")
        print("ENOSPC append: isError (%s); file still %d bytes; no temp file left"
              % (text3[:120], len(app_old)))
        srv.close_stdin()
        rc = srv.wait_exit(60)
        srv.finish()
        c.check_frames(srv)
        c.check(rc == 0, "exit code %r; stderr: %s" % (rc, srv.stderr[-2000:]))
    finally:
        if mounted:
            subprocess.run(["umount", "-l", mnt])
        c.rmtree(base)


if __name__ == "__main__":
    main()
