#!/usr/bin/env python3
"""File tool figures: grep vs `grep -rn`, directory_tree, search_files, edit_file on 1 MiB.

usage: bench/fs_bench.py CTXD_BINARY [RUNS]

Generates a 10,000-file tree (100 dirs x 100 files, ~2 KiB of C-like text each) in a temp
directory, starts ctxd on it (--no-landlock), and reports the median wall time of RUNS
calls (default 7) measured from writing the request to reading the answer, next to
`grep -rn` (GNU grep, LC_ALL=C) on the same tree with the same pattern.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def make_tree(root):
    for d in range(100):
        dp = os.path.join(root, "dir%03d" % d)
        os.makedirs(dp)
        for f in range(100):
            with open(os.path.join(dp, "file%03d.c" % f), "w") as fh:
                for ln in range(60):
                    if (d * 100 + f + ln) % 997 == 0:
                        fh.write("    ctxd_needle_%d(value);\n" % ln)
                    else:
                        fh.write("    int v%d = compute(%d, %d); /* filler */\n" % (ln, d, f))


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    base = tempfile.mkdtemp(prefix="ctxd-fsbench-")
    try:
        tree = os.path.join(base, "tree")
        os.makedirs(tree)
        make_tree(tree)
        with open(os.path.join(base, "big.txt"), "w") as fh:
            i = 0
            size = 0
            while size < (1 << 20):
                s = "line %d of a one-mebibyte file for edit_file\n" % i
                fh.write(s)
                size += len(s)
                i += 1
        p = subprocess.Popen([binary, "--no-landlock", base], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        rid = [0]

        def rpc(method, params):
            rid[0] += 1
            p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": rid[0], "method": method,
                                       "params": params}) + "\n").encode())
            p.stdin.flush()
            while True:
                m = json.loads(p.stdout.readline())
                if m.get("id") == rid[0]:
                    return m

        rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "fs_bench", "version": "1"}})
        p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

        def timed(name, args):
            ts = []
            for _ in range(runs):
                t0 = time.perf_counter()
                m = rpc("tools/call", {"name": name, "arguments": args})
                ts.append(time.perf_counter() - t0)
                assert not m["result"].get("isError"), m
            return statistics.median(ts) * 1e3, m["result"]

        def grep_rn(pattern):
            ts = []
            for _ in range(runs):
                t0 = time.perf_counter()
                subprocess.run(["grep", "-rn", "-E", pattern, tree], stdout=subprocess.DEVNULL,
                               env=dict(os.environ, LC_ALL="C"))
                ts.append(time.perf_counter() - t0)
            return statistics.median(ts) * 1e3

        print("tree: 10,000 files, %d runs each, medians" % runs)
        for pat in ["ctxd_needle_[0-9]+", "compute\\(9, 42\\)", "zzz_no_such_text"]:
            ms, res = timed("grep", {"path": tree, "pattern": pat, "maxResults": 100000})
            g = grep_rn(pat)
            n = res["structuredContent"]["count"]
            print("grep %-22s ctxd %7.1f ms  grep -rn %7.1f ms  ratio %.2f  (%d matches)" %
                  (pat, ms, g, ms / g, n))
        ms, res = timed("directory_tree", {"path": tree})
        print("directory_tree          ctxd %7.1f ms  (%d entries)" %
              (ms, res["structuredContent"]["entries"]))
        ms, res = timed("search_files", {"path": tree, "pattern": "**/file05*.c"})
        print("search_files **/file05*.c ctxd %5.1f ms  (%d matches)" %
              (ms, res["structuredContent"]["count"]))
        big = os.path.join(base, "big.txt")
        ts = []
        for i in range(runs):
            t0 = time.perf_counter()
            m = rpc("tools/call", {"name": "edit_file", "arguments": {"path": big, "edits": [
                {"oldText": "line %d of" % (1000 + i), "newText": "LINE %d of" % (1000 + i)},
                {"oldText": "line %d of" % (20000 + i), "newText": "LINE %d of" % (20000 + i)}]}})
            ts.append(time.perf_counter() - t0)
            assert not m["result"].get("isError"), m
        print("edit_file 1 MiB, 2 edits ctxd %5.2f ms (incl. fsync of file and directory)" %
              (statistics.median(ts) * 1e3))
        p.stdin.close()
        p.wait()
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
