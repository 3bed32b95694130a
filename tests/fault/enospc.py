"""ENOSPC during a write: the allowed root is a 1 MiB tmpfs holding a file; write_file is
asked to replace it with 2 MiB. The call must fail with a clear isError result, the old
file must be intact (same bytes), no temp file may be left behind (a small write right
after succeeds, so the space came back), and the server keeps running.

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
        probe.wait_exit(30)
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
        assert len(big) > 2 * 1024 * 1024 - 200000
        srv.send(c.call(1, "write_file", {"path": "keep.txt", "content": big}))
        assert srv.wait_for(lambda ls: any(m.get("id") == 1 for m in ls), 60), srv.stderr[-2000:]
        res = srv.responses()["1"]
        assert "result" in res, "JSON-RPC error instead of an isError result: %s" % res
        res = res["result"]
        assert res.get("isError") is True, "writing 2 MiB to a 1 MiB tmpfs did not fail: %s" % \
            str(res)[:300]
        text = res["content"][0]["text"]
        assert "space" in text.lower(), "unclear message: %s" % text
        with open(os.path.join(mnt, "keep.txt"), "rb") as f:
            assert f.read() == old, "the old file was changed by a failed write"
        after = sorted(os.listdir(mnt))
        assert after == before, "files left behind: %s" % sorted(set(after) - set(before))
        srv.send(c.call(2, "write_file", {"path": "small.txt", "content": "fits\n"}))
        assert srv.wait_for(lambda ls: any(m.get("id") == 2 for m in ls), 30)
        res2 = srv.responses()["2"]["result"]
        assert not res2.get("isError"), "a small write after ENOSPC failed: %s" % res2
        print("ENOSPC: isError (%s); old file intact; no temp file left" % text[:120])
        srv.close_stdin()
        rc = srv.wait_exit(30)
        srv.finish()
        c.check_frames(srv)
        assert rc == 0, "exit code %r; stderr: %s" % (rc, srv.stderr[-2000:])
    finally:
        if mounted:
            subprocess.run(["umount", "-l", mnt])
        c.rmtree(base)


if __name__ == "__main__":
    main()
