#!/usr/bin/env python3
"""Soak driver: N mixed tools/call requests at a fixed depth (requests in flight) across
every tool the server lists, against the real binary over pipes.

usage: soak.py CTXD_BINARY [--calls N] [--depth D] [--max-growth PCT] [--seed S]

It builds a temp tree, starts `ctxd --no-landlock TREE`, reads tools/list and mixes calls
to every listed tool whose arguments it knows how to make succeed (fs tools, and simple
calls of other families; a tool it cannot drive is probed once with arguments derived from
its schema and left out, with the reason, when that probe fails). Writing tools act on
per-slot scratch files so that concurrent calls never race on one path. Reported: calls,
errors (JSON-RPC errors and isError results), VmRSS after the first 10,000 calls and at
the end, wall time, calls/s. Exit 1 when there was an error or when the final VmRSS is
more than PCT percent (default 10) and 2 MiB above the VmRSS after 10,000 calls (not checked
when CTXD_SANITIZED=1: ASan's quarantine makes VmRSS grow by itself)."""
import argparse
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault"))
import common as c  # noqa: E402

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a30000"
                    "000049454e44ae426082")


def build_tree(root):
    docs = os.path.join(root, "docs")
    os.makedirs(docs)
    for i in range(20):
        with open(os.path.join(docs, "f%02d.txt" % i), "w") as f:
            f.write("".join("alpha %d line %d needle\n" % (i, k) for k in range(30)))
    with open(os.path.join(docs, "a.txt"), "w") as f:
        f.write("alpha\nbeta\ngamma\n")
    for d in range(5):
        sub = os.path.join(root, "src", "m%d" % d)
        os.makedirs(sub)
        for i in range(6):
            with open(os.path.join(sub, "x%d.c" % i), "w") as f:
                f.write("int f%d(void) { return %d; } /* needle */\n" % (i, d))
    with open(os.path.join(root, "img.png"), "wb") as f:
        f.write(PNG)
    os.makedirs(os.path.join(root, "scratch"))
    os.makedirs(os.path.join(root, "mv"))
    for j in range(64):
        with open(os.path.join(root, "mv", "x%d.txt" % j), "w") as f:
            f.write("move me %d\n" % j)
    skill = os.path.join(root, ".claude", "skills", "demo")
    os.makedirs(skill)
    with open(os.path.join(skill, "SKILL.md"), "w") as f:
        f.write("---\nname: demo\ndescription: A demo skill for the soak test.\n---\n"
                "# Demo\nDo the thing with $ARGUMENTS.\n")
    bank = os.path.join(root, "memory-bank")
    os.makedirs(bank)
    with open(os.path.join(bank, "projectbrief.md"), "w") as f:
        f.write("# Project brief\n\n## Goals\nsoak alpha\n\n## Scope\nneedle\n")
    for i in range(8):
        with open(os.path.join(bank, "soak%d.md" % i), "w") as f:
            f.write("# Soak\n\n## Run\n0\n")


# Fixed argument makers: k = call sequence number.
SIMPLE = {
    "read_text_file": lambda k: {"path": "docs/f%02d.txt" % (k % 20), "head": 5},
    "list_directory": lambda k: {"path": "docs", "sizes": k % 2 == 1},
    "get_file_info": lambda k: {"path": "docs/a.txt"},
    "search_files": lambda k: {"path": ".", "pattern": "**/*.c"},
    "list_allowed_directories": lambda k: {},
    "read_media_file": lambda k: {"path": "img.png"},
    "read_multiple_files": lambda k: {"paths": ["docs/a.txt", "docs/f01.txt"]},
    "directory_tree": lambda k: {"path": "src"},
    "grep": lambda k: {"path": "src", "pattern": "needle"},
    "write_file": lambda k: {"path": "scratch/w%d.txt" % (k % 16), "content": "soak %d\n" % k},
    "append_file": lambda k: {"path": "scratch/log%d.txt" % (k % 4), "content": "%d\n" % k},
    "edit_file": lambda k: {"path": "docs/a.txt", "dryRun": True,
                            "edits": [{"oldText": "beta", "newText": "BETA"}]},
    "copy_file": lambda k: {"source": "docs/a.txt", "destination": "scratch/c%d.txt" % (k % 16),
                            "overwrite": True},
    "skill_list": lambda k: {},
    "skill_diagnostics": lambda k: {},
    "skill_activate": lambda k: {"name": "demo"},
    "memory_bank_list": lambda k: {},
    "memory_bank_read": lambda k: {"file": "projectbrief.md"},
    "memory_bank_search": lambda k: {"query": "alpha"},
    "memory_bank_validate": lambda k: {},
    "memory_bank_history": lambda k: {"file": "projectbrief.md"},
    "memory_bank_write": lambda k: (
        {"file": "soak%d.md" % (k % 8), "mode": "replace",
         "content": "# Soak\n\n## Run\n%d\n" % k} if k % 2 else
        {"file": "projectbrief.md", "section": "Scope", "content": "needle %d\n" % (k % 7),
         "mode": "replace"}),
    "skill_read_file": lambda k: {"name": "demo", "path": "SKILL.md"},
}

# Stateful tools: one slot per path; a slot has at most one call in flight and alternates.
SLOTS = 64


def slot_call(name, slot, state):
    if name == "move_file":
        a, b = "mv/x%d.txt" % slot, "mv/y%d.txt" % slot
        return {"source": a, "destination": b} if state == 0 else {"source": b, "destination": a}
    if name == "create_directory":  # paired with delete_file on the same slot
        return {"path": "scratch/d%d/sub" % slot}
    if name == "delete_file":
        return {"path": "scratch/d%d" % slot, "recursive": True}
    return None


def schema_args(tool):
    guess = {"path": "docs/a.txt", "file": "projectbrief.md", "query": "alpha", "name": "demo",
             "skill": "demo", "pattern": "*.txt", "content": "x\n", "uri": "skill://demo"}
    args = {}
    props = tool.get("inputSchema", {}).get("properties", {})
    for p in tool.get("inputSchema", {}).get("required", []) or []:
        t = props.get(p, {}).get("type")
        if t == "string":
            args[p] = guess.get(p, "x")
        elif t == "integer":
            args[p] = 1
        elif t == "boolean":
            args[p] = False
        elif t == "array":
            args[p] = []
        else:
            args[p] = {}
    return args


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--calls", type=int, default=50000)
    ap.add_argument("--depth", type=int, default=64)
    ap.add_argument("--max-growth", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    o = ap.parse_args()
    rnd = random.Random(o.seed)
    root = c.tmpdir("soak")
    try:
        build_tree(root)
        extra = ["--threads", str(o.threads)] if o.threads else []
        srv = c.Server(o.binary, ["--no-landlock"] + extra + [root])
        srv.initialize()
        srv.send(c.req("tools", "tools/list"))
        c.check(srv.wait_for(lambda ls: any(m.get("id") == "tools" for m in ls), 60),
                "no tools/list response; stderr: %s" % srv.stderr[-2000:])
        tools = srv.responses()['"tools"']["result"]["tools"]
        names = [t["name"] for t in tools]
        mix, slotted, excluded = [], [], {}
        probe_id = 0
        for t in tools:
            n = t["name"]
            if n in SIMPLE:
                mix.append(n)
                continue
            if n in ("move_file",):
                slotted.append(n)
                continue
            if n in ("create_directory", "delete_file"):
                if "create_directory" in names and "delete_file" in names:
                    if "create_directory" not in slotted:
                        slotted.append("create_directory")
                else:
                    excluded[n] = "needs both create_directory and delete_file"
                continue
            probe_id += 1
            pid = "probe%d" % probe_id
            args = schema_args(t)
            srv.send(c.call(pid, n, args))
            c.check(srv.wait_for(lambda ls: any(m.get("id") == pid for m in ls), 60),
                    "no answer to the probe of %s" % n)
            res = srv.responses()[json.dumps(pid)]
            if "result" in res and not res["result"].get("isError"):
                SIMPLE[n] = (lambda a: (lambda k: a))(args)
                mix.append(n)
            else:
                excluded[n] = "probe with %s failed: %s" % (
                    json.dumps(args), json.dumps(res.get("error") or res["result"])[:160])
        srv.lines.clear()

        lock = threading.Condition()
        state = {"inflight": 0, "done": 0, "errors": 0, "rss10k": 0, "first_errors": []}
        pending = {}  # id -> (tool, slot or None)
        slot_busy = set()
        slot_state = {}
        counts = {}

        def on_line(m):
            with lock:
                key = m.get("id")
                tool, slot = pending.pop(key, (None, None))
                state["inflight"] -= 1
                state["done"] += 1
                bad = "error" in m or m.get("result", {}).get("isError")
                if bad:
                    state["errors"] += 1
                    if len(state["first_errors"]) < 5:
                        state["first_errors"].append((tool, json.dumps(m)[:300]))
                if slot is not None:
                    slot_busy.discard(slot)
                    if not bad:
                        slot_state[slot] = 1 - slot_state.get(slot, 0)
                if state["done"] == 10000:
                    state["rss10k"] = c.rss_kib(srv.pid)
                lock.notify_all()

        # replace the collecting reader: count responses as they come
        srv_lines_append = srv.lines.append

        class Sink(list):
            def append(self, m):
                if "id" in m and "method" not in m:
                    on_line(m)
                else:
                    srv_lines_append(m)

        srv.lines = Sink()
        t0 = time.monotonic()
        for k in range(o.calls):
            tool = None
            with lock:
                while state["inflight"] >= o.depth:
                    lock.wait()
                if slotted and rnd.random() < len(slotted) / float(len(slotted) + len(mix)):
                    name = rnd.choice(slotted)
                    slot = rnd.randrange(SLOTS)
                    key = slot + (0 if name == "move_file" else SLOTS)
                    if key not in slot_busy:
                        st = slot_state.get(key, 0)
                        if name == "create_directory":
                            name = "create_directory" if st == 0 else "delete_file"
                        args = slot_call(name, slot, st)
                        slot_busy.add(key)
                        slot = key
                        tool = name
                if tool is None:
                    tool = rnd.choice(mix)
                    args = SIMPLE[tool](k)
                    slot = None
                pending[k] = (tool, slot)
                state["inflight"] += 1
                counts[tool] = counts.get(tool, 0) + 1
            srv.send(c.call(k, tool, args))
        with lock:
            ok = lock.wait_for(lambda: state["inflight"] == 0, 300)
        took = time.monotonic() - t0
        rss_end = c.rss_kib(srv.pid)
        srv.close_stdin()
        rc = srv.wait_exit(60)
        srv.finish()
        c.check_frames(srv)
        rss10k = state["rss10k"] or rss_end
        print("soak: %d calls at depth %d over %d tools in %.1f s (%.0f calls/s)" %
              (o.calls, o.depth, len(counts), took, o.calls / took))
        print("soak: errors %d; VmRSS after 10,000 calls %d KiB, at the end %d KiB (%+.1f%%)" %
              (state["errors"], rss10k, rss_end, 100.0 * (rss_end - rss10k) / rss10k))
        print("soak: calls per tool: %s" % json.dumps(counts, sort_keys=True))
        for n, why in sorted(excluded.items()):
            print("soak: left out %s: %s" % (n, why))
        for tool, m in state["first_errors"]:
            print("soak: error from %s: %s" % (tool, m))
        fail = False
        if not ok:
            print("soak: %d call(s) never answered" % state["inflight"])
            fail = True
        if state["errors"]:
            fail = True
        if os.environ.get("CTXD_SANITIZED") == "1":
            # ASan keeps freed blocks in its quarantine (256 MiB by default), so VmRSS
            # grows for reasons of its own (+5.8 MiB over one run here); LeakSanitizer
            # checks for leaks at exit instead.
            print("soak: VmRSS growth not checked in a sanitizer build")
        elif rss_end > rss10k * (1 + o.max_growth / 100.0) and rss_end - rss10k > 2048:
            print("soak: VmRSS grew more than %.0f%%" % o.max_growth)
            fail = True
        if rc != 0:
            print("soak: server exit code %r; stderr: %s" % (rc, srv.stderr[-2000:]))
            fail = True
        sys.exit(1 if fail else 0)
    finally:
        c.rmtree(root)


if __name__ == "__main__":
    main()
