#!/usr/bin/env python3
"""VmRSS of one ctxd after each of ten 100,000-match greps (issue 13, bounded memory).

usage: bench/grep_rss.py CTXD TREE THREADS [ENV=VALUE ...]

Greps TREE for `static|int` with maxResults 100000 ten times in one ctxd started with
--no-landlock -t THREADS (and limits.call_ms 0), prints "count:VmRSS" after each call and
VmHWM at the end. ENV=VALUE pairs go into ctxd's environment, e.g.
GLIBC_TUNABLES=glibc.malloc.arena_max=2 to compare malloc settings.
"""
import json
import os
import subprocess
import sys
import tempfile

ctxd, tree, threads = sys.argv[1], sys.argv[2], sys.argv[3]
env = dict(os.environ)
if len(sys.argv) > 4:
    for kv in sys.argv[4:]:
        k, v = kv.split("=", 1); env[k] = v
CFG = os.path.join(tempfile.mkdtemp(prefix="grep-rss-"), "ctxd.yaml")
open(CFG, "w").write("limits:\n  call_ms: 0\n")
p = subprocess.Popen([ctxd, "--no-landlock", "-t", threads, "-c", CFG, tree], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
n = 0
def call(m, params):
    global n
    n += 1
    p.stdin.write((json.dumps({"jsonrpc":"2.0","id":n,"method":m,"params":params})+"\n").encode()); p.stdin.flush()
    while True:
        l = p.stdout.readline()
        o = json.loads(l)
        if o.get("id") == n: return o, len(l)
def rss():
    for l in open("/proc/%d/status" % p.pid):
        if l.startswith("VmRSS"): r = int(l.split()[1])//1024
        if l.startswith("VmHWM"): h = int(l.split()[1])//1024
    return r, h
call("initialize", {"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}})
p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'); p.stdin.flush()
out = []
for i in range(10):
    o, size = call("tools/call", {"name":"grep","arguments":{"path":tree,"pattern":"static|int","maxResults":100000}})
    out.append("%d:%dMiB" % (o["result"]["structuredContent"]["count"], rss()[0]))
print(" ".join(out), "HWM", rss()[1])
p.stdin.close()
p.wait()
os.unlink(CFG)
os.rmdir(os.path.dirname(CFG))
