#!/usr/bin/env python3
"""Load real skill collections through ctxd and check every activation (run by hand).

usage: scripts/skills_check.py CTXD_BINARY DIR [DIR ...]

Each DIR is given as a --skills-dir (HOME is an empty temp dir, Landlock off). Prints how
many skills loaded and were skipped, every diagnostic but `shadowed` and `unknown-key`, and
for each skill whether skill_activate without arguments returns its body byte for byte:
the text after the frontmatter's closing `---` line, without the blank lines that separate
the two (the Agent Skills client guide trims them). Exit 1 when a skill was skipped or a
body came back altered.
"""
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    binary, dirs = sys.argv[1], sys.argv[2:]
    home = tempfile.mkdtemp(prefix="ctxd-skills-check-")
    args = [binary, "--no-landlock"]
    for d in dirs:
        args += ["--skills-dir", d]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=dict(os.environ, HOME=home))
    ids = iter(range(1, 1 << 30))

    def rpc(method, params=None):
        i = next(ids)
        m = {"jsonrpc": "2.0", "id": i, "method": method}
        if params is not None:
            m["params"] = params
        p.stdin.write((json.dumps(m) + "\n").encode())
        p.stdin.flush()
        while True:
            line = p.stdout.readline()
            if not line:
                raise SystemExit("ctxd closed stdout")
            r = json.loads(line)
            if r.get("id") == i:
                return r

    rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "skills-check", "version": "1"}})
    p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    p.stdin.flush()

    def call(name, a):
        return rpc("tools/call", {"name": name, "arguments": a})["result"]

    lst = call("skill_list", {})["structuredContent"]
    diags = call("skill_diagnostics", {})["structuredContent"]["diagnostics"]
    print("skills loaded: %d, skipped: %d" % (lst["total"], lst["skipped"]))
    for d in diags:
        if d["rule"] not in ("shadowed", "unknown-key"):
            print("  %s %s %s: %s" % (d["severity"], d["rule"], d["file"], d["message"]))
    altered = 0
    for s in lst["skills"]:
        with open(s["location"], encoding="utf-8", newline="") as f:
            raw = f.read()
        m = re.match(r"\A\ufeff?---[ \t]*\r?\n.*?^---[ \t]*(?:\r?\n|\Z)", raw, re.S | re.M)
        want = re.sub(r"\A(?:[ \t]*\r?\n)+", "", raw[m.end():])
        body = call("skill_activate", {"name": s["name"]})["structuredContent"]["body"]
        if body != want:
            altered += 1
            print("ALTERED: %s" % s["name"])
            for line in list(difflib.unified_diff(want.splitlines(), body.splitlines(),
                                                  lineterm=""))[2:14]:
                print("    " + line)
    print("activations altered: %d of %d" % (altered, len(lst["skills"])))
    p.stdin.close()
    p.wait()
    shutil.rmtree(home)
    return 1 if altered or lst["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
