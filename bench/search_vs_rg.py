#!/usr/bin/env python3
"""ctxd's search tools against ripgrep, fd and tree on a real tree (issue 13's benchmark).

usage: bench/search_vs_rg.py [--rounds N] [--ctxd BINARY] [--threads N] TREE

Workloads, each a ctxd call against its peer:
  grep rare literal   grep literal, maxResults 100000   rg -n -F
  grep static         grep, maxResults 100000           rg -n
  grep regex          \\bstatic\\s+int\\s+\\w+_init\\(     rg -n
  search_files *.c    search_files **/*.c               fdfind -g '*.c'
  directory_tree      directory_tree of TREE            tree -J -a

The peers run with the options that make them see what ctxd sees: ripgrep with --hidden
and --no-require-git (ctxd searches dot files and applies .gitignore files without a .git
directory), fd with --hidden and -t f -t d -t l (search_files lists directories and
symlinks too; fd 8.6 has no --no-require-git, so in a tree without .git it applies no
.gitignore and may list a few more), tree with -a. Before the rounds, the set of files
ctxd searches (search_files '**', regular files) is compared with
`rg --files --hidden --no-require-git`'s. ctxd runs once for the whole benchmark (--no-landlock, a config with
limits.entries 1000000 so that neither search_files nor directory_tree is cut, and
limits.call_ms 0); each call is timed from the request's write to the response's last
byte. Each peer is one process, timed from spawn until its output (read through a pipe,
as a client reads ctxd's) is complete.

Rounds: one warm-up round (not counted), then N rounds; in each round every workload runs
ctxd then the peer, then the next workload (A B A B). Printed per workload: the median
of ctxd and of the peer, the median of the per-round ratios ctxd / peer, the match counts
of both (they must agree: exit 1 otherwise), and for grep the answer bytes of both. At the
end: ctxd's VmRSS and VmHWM (from /proc), nproc and the load average before and after.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Server:
    def __init__(self, ctxd, tree, threads):
        self.cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self.cfg.write("limits:\n  entries: 1000000\n  call_ms: 0\n")
        self.cfg.close()
        cmd = [ctxd, "--no-landlock", "-c", self.cfg.name, "--max-frame", "1GiB"]
        if threads:
            cmd += ["-t", str(threads)]
        self.p = subprocess.Popen(cmd + [tree], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.n = 0
        self.call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                 "clientInfo": {"name": "search_vs_rg", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, o):
        self.p.stdin.write((json.dumps(o) + "\n").encode())
        self.p.stdin.flush()

    def call(self, method, params):
        """(seconds, response bytes, parsed result)"""
        self.n += 1
        t0 = time.perf_counter()
        self.send({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params})
        while True:
            line = self.p.stdout.readline()
            if not line:
                sys.exit("ctxd exited")
            t1 = time.perf_counter()
            msg = json.loads(line)
            if msg.get("id") == self.n:
                if "error" in msg:
                    sys.exit("ctxd: %s" % msg["error"])
                return t1 - t0, len(line), msg["result"]

    def tool(self, name, args):
        dt, size, r = self.call("tools/call", {"name": name, "arguments": args})
        if r.get("isError"):
            sys.exit("%s: %s" % (name, r["content"][0]["text"][:300]))
        return dt, size, r["structuredContent"]

    def status(self, key):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) // 1024  # MiB
        return -1

    def close(self):
        self.p.stdin.close()
        self.p.wait()
        os.unlink(self.cfg.name)


def run_peer(cmd, cwd):
    """(seconds, output bytes, output lines)"""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    p.wait()
    dt = time.perf_counter() - t0
    if p.returncode not in (0, 1):  # rg says 1 for "no match"
        sys.exit("%s: exit %d" % (cmd[0], p.returncode))
    return dt, len(out), out


def tree_count(out):
    """Entries below the top of `tree -J` output (its report counts the top and the
    symlinks to directories as directories, so count the entries themselves)."""
    stack = list(json.loads(out)[0].get("contents") or [])
    n = 0
    while stack:
        e = stack.pop()
        n += 1
        stack.extend(e.get("contents") or [])
    return n


def workloads(tree):
    rg = ["rg", "--hidden", "--no-require-git", "-n"]
    regex = r"\bstatic\s+int\s+\w+_init\("
    def grep_count(sc):
        return sc["count"]
    def lines(out):
        return out.count(b"\n")
    return [
        ("grep rare literal", "grep",
         {"path": tree, "pattern": "CONFIG_SYS_NAND_U_BOOT_OFFS", "literal": True,
          "maxResults": 100000},
         rg + ["-F", "CONFIG_SYS_NAND_U_BOOT_OFFS"], grep_count, lines),
        ("grep static", "grep", {"path": tree, "pattern": "static", "maxResults": 100000},
         rg + ["static"], grep_count, lines),
        ("grep regex", "grep", {"path": tree, "pattern": regex, "maxResults": 100000},
         rg + [regex], grep_count, lines),
        ("search_files **/*.c", "search_files", {"path": tree, "pattern": "**/*.c"},
         ["fdfind", "--hidden", "-t", "f", "-t", "d", "-t", "l", "-g", "*.c"],
         lambda sc: sc["count"], lines),
        ("directory_tree", "directory_tree", {"path": tree},
         ["tree", "-J", "-a", "."],
         lambda sc: count_tree(sc["tree"]), tree_count),
    ]


def count_tree(nodes):
    n = 0
    stack = list(nodes)
    while stack:
        e = stack.pop()
        n += 1
        stack.extend(e.get("children") or [])
    return n


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--ctxd", default=os.path.join(HERE, "..", "build", "ctxd"))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("tree")
    a = ap.parse_args()
    tree = os.path.realpath(a.tree)
    load0 = loadavg()
    srv = Server(a.ctxd, tree, a.threads)
    _, _, sc = srv.tool("search_files", {"path": tree, "pattern": "**"})
    mine = set()
    for path in sc["matches"]:
        rel = os.path.relpath(path, tree)
        if os.path.isfile(path) and not os.path.islink(path):
            mine.add(rel)
    _, _, out = run_peer(["rg", "--files", "--hidden", "--no-require-git"], tree)
    theirs = set(out.decode("utf-8", "surrogateescape").splitlines())
    print("files: ctxd %d, rg --files --hidden --no-require-git %d, %s"
          % (len(mine), len(theirs), "the same set" if mine == theirs else
             "differ: only ctxd %s; only rg %s" % (sorted(mine - theirs)[:5],
                                                  sorted(theirs - mine)[:5])))
    wl = workloads(tree)
    times = {w[0]: ([], [], []) for w in wl}
    info = {}
    for rnd in range(a.rounds + 1):
        for name, tool, args, peer, ccount, pcount in wl:
            dt_c, size_c, sc = srv.tool(tool, args)
            dt_p, size_p, out = run_peer(peer, tree)
            if rnd == 0:
                info[name] = (ccount(sc), pcount(out), size_c, size_p)
                continue
            c, p, r = times[name]
            c.append(dt_c)
            p.append(dt_p)
            r.append(dt_c / dt_p)
    rss, hwm = srv.status("VmRSS"), srv.status("VmHWM")
    srv.close()
    bad = False
    print("machine: nproc %d, load average before %s, after %s; %d rounds after a warm-up"
          % (os.cpu_count(), load0, loadavg(), a.rounds))
    print("| workload | ctxd median | peer | peer median | median ratio | ctxd count | "
          "peer count | ctxd answer bytes | peer output bytes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, tool, args, peer, _, _ in wl:
        c, p, r = times[name]
        cc, pc, sc_, sp = info[name]
        flag = "" if cc == pc else " **differs**"
        bad |= cc != pc
        print("| %s | %.0f ms | `%s` | %.0f ms | %.2f | %d | %d%s | %d | %d |"
              % (name, statistics.median(c) * 1e3, " ".join(peer).replace("|", "\\|"),
                 statistics.median(p) * 1e3, statistics.median(r), cc, pc, flag, sc_, sp))
    print("ctxd after the benchmark: VmRSS %d MiB, VmHWM %d MiB" % (rss, hwm))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
