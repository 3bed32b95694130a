#!/usr/bin/env python3
"""ctxd grep against ripgrep on a real tree: per-file counts, and CPU time of two builds.

usage:
  bench/grep_vs_rg.py counts CTXD TREE          ctxd grep vs `rg -c` for a fixed set of
                                               patterns; exit 1 when any file differs
  bench/grep_vs_rg.py time TREE N CTXD [CTXD..] each pattern N times per binary, the
                                               binaries' calls interleaved; prints wall and
                                               server CPU time (min and median)
  bench/grep_vs_rg.py instr TREE CTXD [CTXD..]  instructions of each binary (callgrind, all
                                               threads, start-up included) for one call
                                               per timed pattern: a count that load does
                                               not change

ripgrep runs with the options that make it search what ctxd searches: --hidden (ctxd
searches dot files) and --no-require-git (ctxd applies .gitignore files without a .git
directory). ctxd runs with --no-landlock so that the tree needs no root of its own, and
maxResults 100000. CPU time is the server process's utime+stime from /proc (10 ms ticks),
which a loaded machine disturbs far less than wall time. The first call of every binary
warms the page cache and is not counted.
"""
import collections
import json
import os
import statistics
import subprocess
import sys
import time

CASES = [
    ("rare literal", {"pattern": "CONFIG_SYS_NAND_U_BOOT_OFFS", "literal": True}, ["-F"]),
    ("static", {"pattern": "static"}, []),
    ("static int *_init(", {"pattern": r"\bstatic\s+int\s+\w+_init\("}, []),
    ("copyright -i", {"pattern": "copyright", "caseInsensitive": True}, ["-i"]),
    ("#define *_H in *.h", {"pattern": r"#define\s+\w+_H\b", "include": "*.h"}, ["-g", "*.h"]),
    ("u32 x; in *.{c,h}", {"pattern": r"\bu32\s+\w+;", "include": "*.{c,h}"}, ["-g", "*.{c,h}"]),
    ("^}$", {"pattern": r"^\}$"}, []),
    ("trailing blanks", {"pattern": r"[ \t]+$"}, []),
]
TIMED = ["rare literal", "static", "static int *_init(", "copyright -i"]
TICK = os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, ctxd, root, wrap=()):
        self.p = subprocess.Popen(list(wrap) + [ctxd, "--no-landlock", root],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL if wrap else None, text=True)
        self.n = 0
        self.call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                 "clientInfo": {"name": "grep_vs_rg", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, o):
        self.p.stdin.write(json.dumps(o) + "\n")
        self.p.stdin.flush()

    def call(self, method, params):
        self.n += 1
        self.send({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params})
        while True:
            m = json.loads(self.p.stdout.readline())
            if m.get("id") == self.n:
                if "result" not in m:
                    sys.exit("error: %s" % m)
                return m["result"]

    def grep(self, args):
        return self.call("tools/call", {"name": "grep", "arguments": args})

    def cpu(self):
        f = open("/proc/%d/stat" % self.p.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def counts(ctxd, root):
    s = Server(ctxd, root)
    bad = False
    for name, args, rgopts in CASES:
        res = s.grep(dict(args, path=root, maxResults=100000))
        sc = res["structuredContent"]
        mine = collections.Counter({os.path.relpath(f["path"], root): len(f["matches"])
                                    for f in sc["files"]})
        out = subprocess.run(["rg", "--hidden", "--no-require-git", "-c"] + rgopts +
                             ["-e", args["pattern"], "."], cwd=root, capture_output=True,
                             text=True, errors="replace").stdout
        theirs = collections.Counter()
        for line in out.splitlines():
            f, c = line.rsplit(":", 1)
            theirs[os.path.normpath(f)] = int(c)
        diff = sorted(f for f in set(mine) | set(theirs) if mine[f] != theirs[f])
        bad |= bool(diff) or sc["truncated"]
        print("%-20s ctxd %7d lines in %6d files | rg %7d lines in %6d files | "
              "differing files %d%s" % (name, sum(mine.values()), len(mine),
                                        sum(theirs.values()), len(theirs), len(diff),
                                        " TRUNCATED" if sc["truncated"] else ""))
        for f in diff[:8]:
            print("    %s: ctxd %d, rg %d" % (f, mine[f], theirs[f]))
    s.close()
    return 1 if bad else 0


def timing(root, n, binaries):
    servers = [Server(b, root) for b in binaries]
    for name, args, _ in CASES:
        if name not in TIMED:
            continue
        a = dict(args, path=root, maxResults=100000)
        wall = [[] for _ in servers]
        cpu = [[] for _ in servers]
        found = [None] * len(servers)
        for i in range(n + 1):
            for k, s in enumerate(servers):
                c0, t0 = s.cpu(), time.perf_counter()
                found[k] = s.grep(a)["structuredContent"]["count"]
                if i > 0:
                    wall[k].append(time.perf_counter() - t0)
                    cpu[k].append(s.cpu() - c0)
        print(name)
        for k, b in enumerate(binaries):
            print("  %-44s count %6d  wall min %.3f median %.3f s  cpu min %.2f median %.2f s"
                  % (b, found[k], min(wall[k]), statistics.median(wall[k]), min(cpu[k]),
                     statistics.median(cpu[k])))
    for s in servers:
        s.close()
    return 0


def instructions(root, binaries):
    for name, args, _ in CASES:
        if name not in TIMED:
            continue
        print(name)
        for b in binaries:
            out = "/tmp/grep_vs_rg.%d.callgrind" % os.getpid()
            s = Server(b, root, ("valgrind", "--tool=callgrind", "--callgrind-out-file=" + out))
            n = s.grep(dict(args, path=root, maxResults=100000))["structuredContent"]["count"]
            s.close()
            total = None
            for line in open(out):
                if line.startswith("summary:") or line.startswith("totals:"):
                    total = int(line.split()[1])
            os.unlink(out)
            print("  %-44s count %6d  instructions %13s" % (b, n, "{:,}".format(total)))
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "counts":
        return counts(sys.argv[2], os.path.abspath(sys.argv[3]))
    if len(sys.argv) >= 4 and sys.argv[1] == "instr":
        return instructions(os.path.abspath(sys.argv[2]), sys.argv[3:])
    if len(sys.argv) >= 5 and sys.argv[1] == "time":
        return timing(os.path.abspath(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
