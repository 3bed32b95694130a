#!/usr/bin/env python3
"""Agent Skills end to end through the real binary, on trees built here (FIFOs, symlinks
out of the roots, a home directory) that the scripted sessions of tests/protocol cannot make.

usage: protocol.py CTXD_BINARY SCENARIO

Scenarios (each builds its own temp tree, runs one ctxd, exits 0 when every check passed):
  fifo       a FIFO named SKILL.md and a FIFO inside a skill folder, at start-up and in a
             hot-reload rescan: every call is answered, with two workers (issue 12 item 2)
  symlinks   the dotfiles and `npx skills` setups in the user's directories and a
             --skills-dir (followed wherever they point, Landlock on), links in a root's
             .claude/skills to another root (followed) and out of the roots (refused),
             dangling links; diagnostics name each target, never raw strerror text
  prompts    skill prompts declare their arguments (`arguments:`, `argument-hint`); a
             Claude Code style split (one word per declared argument) arrives whole;
             completion/complete offers paths for a path-like argument
  amplify    a body of 100,000 "$0 " with a long argument is refused (isError, -32602)
             instead of being expanded (issue 12 item 7)
  window     skill_read_file windows: text by lines, binary by bytes, nextOffset to the end
A hang (an answer that never comes) fails the check after READ_TIMEOUT seconds; no check
depends on timing.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fixtures  # noqa: E402

READ_TIMEOUT = 30.0
FAILED = []


def check(name, cond, detail=""):
    if not cond:
        FAILED.append(name)
        print("FAIL %s %s" % (name, str(detail)[:2000]), file=sys.stderr)
    return cond


class Session:
    def __init__(self, binary, args, home):
        env = dict(os.environ, HOME=home)
        self.p = subprocess.Popen([binary] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.buf = b""
        self.pending = []
        self.next_id = 100
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                   "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                              "clientInfo": {"name": "skills-protocol", "version": "1"}}})
        self.wait(0)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, *msgs):
        self.p.stdin.write(b"".join((json.dumps(m) + "\n").encode() for m in msgs))
        self.p.stdin.flush()

    def read(self):
        """The next message, or None when none came within READ_TIMEOUT."""
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.p.stdout], [], [], READ_TIMEOUT)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 1 << 20)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def wait(self, want):
        """The response to id `want` (or the first message for which want(m) holds);
        other messages are kept for later. None on a hang."""
        match = want if callable(want) else (lambda m: m.get("id") == want and "method" not in m)
        for i, m in enumerate(self.pending):
            if match(m):
                return self.pending.pop(i)
        while True:
            m = self.read()
            if m is None:
                return None
            if match(m):
                return m
            self.pending.append(m)

    def request(self, method, params=None):
        self.next_id += 1
        m = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            m["params"] = params
        self.send(m)
        return self.wait(self.next_id)

    def call(self, name, args):
        r = self.request("tools/call", {"name": name, "arguments": args})
        return r.get("result") if r else None

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            rc = self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        err = self.p.stderr.read().decode(errors="replace")
        return rc, err


def text_of(result):
    return "".join(c.get("text", "") for c in (result or {}).get("content", []))


def skill(dirpath, name, desc, body, extra=""):
    os.makedirs(dirpath, exist_ok=True)
    with open(os.path.join(dirpath, "SKILL.md"), "w") as f:
        f.write("---\nname: %s\ndescription: %s\n%s---\n%s" % (name, desc, extra, body))


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def tree():
    base = os.path.realpath(tempfile.mkdtemp(prefix="ctxd-skills-", dir=fixtures.scratch()))
    root = os.path.join(base, "root")
    home = os.path.join(base, "home")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(home)
    write(os.path.join(root, "a.txt"), "hello\n")
    write(os.path.join(root, "sub", "b.txt"), "bee\n")
    return base, root, home


def no_strerror(diags, label):
    for d in diags:
        check(label + ": no raw strerror text in " + d["file"],
              "cross-device" not in d["message"] and "Invalid" not in d["message"], d)


# ---- scenarios --------------------------------------------------------------------------

def scenario_fifo(binary):
    base, root, home = tree()
    skills = os.path.join(root, ".claude", "skills")
    skill(os.path.join(skills, "ok"), "ok", "A fine skill.", "Fine.\n")
    write(os.path.join(skills, "ok", "refs", "a.md"), "# A\n")
    os.mkfifo(os.path.join(skills, "ok", "refs", "pipe"))
    os.makedirs(os.path.join(skills, "fifo-skill"))
    os.mkfifo(os.path.join(skills, "fifo-skill", "SKILL.md"))
    s = Session(binary, ["-t", "2", root], home)
    # all at once: the first skill call scans (and met the FIFO SKILL.md), the others wait
    # for that scan or read a FIFO; read_text_file needs no skill at all
    s.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "skill_list", "arguments": {}}},
           {"jsonrpc": "2.0", "id": 2, "method": "prompts/list"},
           {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "skill_read_file", "arguments": {"name": "ok", "path": "refs/pipe"}}},
           {"jsonrpc": "2.0", "id": 4, "method": "resources/read",
            "params": {"uri": "skill://ok/refs/pipe"}},
           {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "read_text_file", "arguments": {"path": "a.txt"}}},
           {"jsonrpc": "2.0", "id": 6, "method": "tools/call",
            "params": {"name": "skill_diagnostics", "arguments": {}}})
    got = {}
    for _ in range(6):
        m = s.wait(lambda m: m.get("id") in (1, 2, 3, 4, 5, 6))
        if m is None:
            break
        got[m["id"]] = m
    check("fifo: every call answered", sorted(got) == [1, 2, 3, 4, 5, 6], sorted(got))
    r1 = got.get(1, {}).get("result", {}).get("structuredContent", {})
    check("fifo: skill_list has the valid skill, the FIFO one skipped",
          [k["name"] for k in r1.get("skills", [])] == ["ok"] and r1.get("skipped") == 1, r1)
    r3 = got.get(3, {}).get("result", {})
    check("fifo: skill_read_file of a FIFO is refused",
          r3.get("isError") is True and "not a regular file" in text_of(r3), r3)
    check("fifo: resources/read of a FIFO is an error", "error" in got.get(4, {}), got.get(4))
    check("fifo: read_text_file answered",
          text_of(got.get(5, {}).get("result")).startswith("hello"), got.get(5))
    diags = got.get(6, {}).get("result", {}).get("structuredContent", {}).get("diagnostics", [])
    check("fifo: the FIFO SKILL.md is diagnosed",
          any("fifo-skill" in d["file"] and "not a regular file" in d["message"] for d in diags),
          diags)
    # a hot-reload rescan meets a new FIFO SKILL.md, then a new valid skill after it; the
    # client has seen the tool list, so the change must be announced
    check("fifo: tools/list answered", s.request("tools/list") is not None)
    os.makedirs(os.path.join(skills, "late-fifo"))
    os.mkfifo(os.path.join(skills, "late-fifo", "SKILL.md"))
    skill(os.path.join(skills, "late-ok"), "late-ok", "Added while running.", "Late.\n")
    seen = None
    for _ in range(20):  # each rescan that changes the catalogue sends one notification
        n = s.wait(lambda m: m.get("method") == "notifications/tools/list_changed")
        if n is None:
            break
        r = s.call("skill_list", {})
        names = [k["name"] for k in (r or {}).get("structuredContent", {}).get("skills", [])]
        if "late-ok" in names:
            seen = names
            break
    check("fifo: the rescan passed the new FIFO and found the new skill",
          seen == ["late-ok", "ok"], seen)
    r = s.call("read_text_file", {"path": "sub/b.txt"})
    check("fifo: still answering after the rescan", text_of(r).startswith("bee"), r)
    rc, err = s.close()
    check("fifo: exit 0", rc == 0, err[-2000:])
    shutil.rmtree(base)


def scenario_symlinks(binary):
    base, root, home = tree()
    root2 = os.path.join(base, "root2")
    out = os.path.join(base, "outside")
    dot = os.path.join(base, "dotfiles", "skills")
    # user-level: ~/.claude/skills/npx-skill -> ~/.agents/skills/npx-skill (npx skills),
    # ~/.claude/skills/dot-skill -> ~/dotfiles (a folder link), a SKILL.md link, a dangling
    # link
    skill(os.path.join(home, ".agents", "skills", "npx-skill"), "npx-skill",
          "Installed by npx skills.", "NPX body.\n")
    skill(os.path.join(dot, "dot-skill"), "dot-skill", "Kept in dotfiles.", "Dot body.\n")
    write(os.path.join(dot, "dot-skill", "references", "guide.md"), "# Dot guide\n")
    write(os.path.join(base, "elsewhere", "linked.md"),
          "---\nname: linked-md\ndescription: Its SKILL.md is a symlink.\n---\nLinked body.\n")
    uc = os.path.join(home, ".claude", "skills")
    os.makedirs(uc)
    os.symlink(os.path.join(home, ".agents", "skills", "npx-skill"), os.path.join(uc, "npx-skill"))
    os.symlink(os.path.join(dot, "dot-skill"), os.path.join(uc, "dot-skill"))
    os.makedirs(os.path.join(uc, "linked-md"))
    os.symlink(os.path.join(base, "elsewhere", "linked.md"),
               os.path.join(uc, "linked-md", "SKILL.md"))
    os.symlink(os.path.join(base, "nowhere"), os.path.join(uc, "dangling"))
    # --skills-dir with a relative link to a folder outside it
    cfg = os.path.join(base, "cfgskills")
    os.makedirs(cfg)
    skill(os.path.join(base, "shared", "cfg-linked"), "cfg-linked", "Linked from a --skills-dir.",
          "Cfg body.\n")
    os.symlink(os.path.join("..", "shared", "cfg-linked"), os.path.join(cfg, "cfg-linked"))
    # a root's .claude/skills: a link to another allowed root (followed), one out of the
    # roots (refused), a SKILL.md linked out of the roots (refused)
    skill(os.path.join(root2, "shared", "cross"), "cross", "Lives in the second root.",
          "Cross body.\n")
    skill(os.path.join(out, "escape"), "escape", "Outside every root.", "Secret.\n")
    write(os.path.join(out, "escape-md.md"),
          "---\nname: escape-md\ndescription: Outside.\n---\nSecret.\n")
    rc_skills = os.path.join(root, ".claude", "skills")
    os.makedirs(os.path.join(rc_skills, "escape-md"))
    os.symlink(os.path.join(root2, "shared", "cross"), os.path.join(rc_skills, "cross"))
    os.symlink(os.path.join(out, "escape"), os.path.join(rc_skills, "escape"))
    os.symlink(os.path.join(out, "escape-md.md"), os.path.join(rc_skills, "escape-md", "SKILL.md"))
    s = Session(binary, ["--skills-dir", cfg, root, root2], home)
    r = s.call("skill_list", {})
    names = sorted(k["name"] for k in (r or {}).get("structuredContent", {}).get("skills", []))
    check("symlinks: every linked skill loads, none outside the roots from a root",
          names == ["cfg-linked", "cross", "dot-skill", "linked-md", "npx-skill"], names)
    d = s.call("skill_diagnostics", {})
    diags = (d or {}).get("structuredContent", {}).get("diagnostics", [])
    no_strerror(diags, "symlinks")
    check("symlinks: npx-skill is one skill, not shadowed",
          not any(x["rule"] == "shadowed" for x in diags), diags)
    check("symlinks: the dangling link is diagnosed with its target",
          any(x["file"].endswith("/dangling") and os.path.join(base, "nowhere") in x["message"]
              and "does not exist" in x["message"] for x in diags), diags)
    check("symlinks: a link out of the roots is refused, naming the target",
          any(x["file"].endswith("/escape") and os.path.join(out, "escape") in x["message"]
              and "outside every allowed directory" in x["message"] for x in diags), diags)
    check("symlinks: a SKILL.md linked out of the roots is refused, naming the target",
          any("escape-md" in x["file"] and os.path.join(out, "escape-md.md") in x["message"]
              for x in diags), diags)
    for name, body in [("npx-skill", "NPX body.\n"), ("dot-skill", "Dot body.\n"),
                       ("linked-md", "Linked body.\n"), ("cfg-linked", "Cfg body.\n"),
                       ("cross", "Cross body.\n")]:
        a = s.call("skill_activate", {"name": name})
        check("symlinks: activate " + name,
              (a or {}).get("structuredContent", {}).get("body") == body, a)
    g = s.call("skill_read_file", {"name": "dot-skill", "path": "references/guide.md"})
    check("symlinks: a bundled file beneath a linked folder (Landlock admits the target)",
          (g or {}).get("structuredContent", {}).get("content") == "# Dot guide\n", g)
    m = s.call("skill_read_file", {"name": "linked-md", "path": "SKILL.md"})
    check("symlinks: a linked SKILL.md reads through skill_read_file",
          "Linked body." in ((m or {}).get("structuredContent", {}).get("content") or ""), m)
    res = s.request("resources/read", {"uri": "skill://linked-md/SKILL.md"})
    check("symlinks: and as a skill:// resource",
          "Linked body." in json.dumps(res.get("result") if res else None), res)
    rc, err = s.close()
    check("symlinks: exit 0", rc == 0, err[-2000:])
    shutil.rmtree(base)


def scenario_prompts(binary):
    base, root, home = tree()
    sk = os.path.join(root, ".claude", "skills")
    skill(os.path.join(sk, "code-review"), "code-review", "Review two files.",
          "Review $0 against $1 (two paths).\nAll: $ARGUMENTS\n", "argument-hint: [file] [other]\n")
    skill(os.path.join(sk, "named"), "named", "Named arguments.", "Check $file in $mode mode.\n",
          "arguments: [file, mode]\n")
    skill(os.path.join(sk, "plain"), "plain", "No declared arguments.", "Do $ARGUMENTS.\n")
    s = Session(binary, [root], home)
    r = s.request("prompts/list")
    prompts = {p["name"]: [a["name"] for a in p.get("arguments", [])]
               for p in (r or {}).get("result", {}).get("prompts", [])}
    check("prompts: arguments declared from argument-hint, arguments:, or one free-text",
          prompts == {"code-review": ["file", "other"], "named": ["file", "mode"],
                      "plain": ["arguments"]}, prompts)
    # Claude Code: `/mcp__ctxd__code-review src/a.c src/b.c` splits on blanks and sends one
    # word per declared argument
    g = s.request("prompts/get", {"name": "code-review",
                                  "arguments": {"file": "src/a.c", "other": "src/b.c"}})
    txt = (g or {}).get("result", {}).get("messages", [{}])[0].get("content", {}).get("text")
    check("prompts: a Claude Code split reaches the skill whole",
          txt == "Review src/a.c against src/b.c (two paths).\nAll: src/a.c src/b.c\n", g)
    g = s.request("prompts/get", {"name": "named",
                                  "arguments": {"file": "my file.c", "mode": "strict"}})
    txt = (g or {}).get("result", {}).get("messages", [{}])[0].get("content", {}).get("text")
    check("prompts: a value with a blank stays one word",
          txt == "Check my file.c in strict mode.\n", g)
    g = s.request("prompts/get", {"name": "plain", "arguments": {"arguments": "the thing"}})
    txt = (g or {}).get("result", {}).get("messages", [{}])[0].get("content", {}).get("text")
    check("prompts: the free-text argument as before", txt == "Do the thing.\n", g)
    g = s.request("prompts/get", {"name": "named", "arguments": {"nope": "x"}})
    check("prompts: an unknown argument is -32602 naming the declared ones",
          (g or {}).get("error", {}).get("code") == -32602 and
          "file, mode" in g["error"].get("message", ""), g)
    c = s.request("completion/complete", {"ref": {"type": "ref/prompt", "name": "code-review"},
                                          "argument": {"name": "file", "value": "su"}})
    vals = (c or {}).get("result", {}).get("completion", {}).get("values")
    check("prompts: completion offers paths for a path-like argument", vals == ["sub/"], c)
    c = s.request("completion/complete", {"ref": {"type": "ref/prompt", "name": "code-review"},
                                          "argument": {"name": "file", "value": "sub/"}})
    vals = (c or {}).get("result", {}).get("completion", {}).get("values")
    check("prompts: completion inside a directory", vals == ["sub/b.txt"], c)
    c = s.request("completion/complete", {"ref": {"type": "ref/prompt", "name": "named"},
                                          "argument": {"name": "mode", "value": ""}})
    vals = (c or {}).get("result", {}).get("completion", {}).get("values")
    check("prompts: nothing offered for another argument", vals == [], c)
    rc, err = s.close()
    check("prompts: exit 0", rc == 0, err[-2000:])
    shutil.rmtree(base)


def scenario_amplify(binary):
    base, root, home = tree()
    sk = os.path.join(root, ".claude", "skills")
    skill(os.path.join(sk, "amp"), "amp", "Amplifies.", "$0 " * 100000, "argument-hint: [x]\n")
    s = Session(binary, [root], home)
    arg = "x" * 100  # 100,000 x 100 bytes = 10 MB, far past the 256 KiB read limit
    r = s.call("skill_activate", {"name": "amp", "arguments": arg})
    check("amplify: skill_activate refuses with a clear isError",
          (r or {}).get("isError") is True and "limits.read_bytes" in text_of(r),
          (text_of(r) or "")[:300])
    g = s.request("prompts/get", {"name": "amp", "arguments": {"x": arg}})
    check("amplify: prompts/get is -32602",
          (g or {}).get("error", {}).get("code") == -32602 and
          "limits.read_bytes" in g["error"].get("message", ""), str(g)[:300])
    r = s.call("skill_activate", {"name": "amp", "arguments": "y"})
    body = (r or {}).get("structuredContent", {}).get("body")
    check("amplify: a short argument still works", body == "y " * 100000, (text_of(r) or "")[:300])
    rc, err = s.close()
    check("amplify: exit 0", rc == 0, err[-2000:])
    shutil.rmtree(base)


def scenario_window(binary):
    base, root, home = tree()
    sk = os.path.join(root, ".claude", "skills")
    skill(os.path.join(sk, "big"), "big", "Has big files.", "Big.\n")
    text = "".join("line %06d %s\n" % (i, "é" * 20) for i in range(1, 20001))  # ~1 MB
    write(os.path.join(sk, "big", "references", "big.md"), text)
    data = bytes((i * 7919) % 256 for i in range(700000))
    write(os.path.join(sk, "big", "assets", "blob.bin"), data, "wb")
    s = Session(binary, ["--max-read", "64KiB", root], home)
    parts, offset, calls = [], None, 0
    while calls < 100:
        args = {"name": "big", "path": "references/big.md"}
        if offset is not None:
            args["offset"] = offset
        r = s.call("skill_read_file", args)
        st = (r or {}).get("structuredContent", {})
        calls += 1
        if not check("window: text answer %d" % calls, "content" in st, r):
            break
        check("window: each answer within the read limit",
              len(st["content"].encode()) <= 64 * 1024, len(st["content"].encode()))
        parts.append(st["content"])
        offset = st.get("nextOffset")
        if offset is None:
            break
    check("window: the text read in windows is the file", "".join(parts) == text,
          (calls, len("".join(parts)), len(text)))
    check("window: several windows were needed", calls > 10, calls)
    r = s.call("skill_read_file", {"name": "big", "path": "references/big.md", "offset": 3,
                                   "limit": 2})
    st = (r or {}).get("structuredContent", {})
    check("window: offset/limit pick lines",
          st.get("content") == text.splitlines(True)[2] + text.splitlines(True)[3] and
          st.get("startLine") == 3 and st.get("endLine") == 4 and st.get("nextOffset") == 5 and
          st.get("totalLines") == 20000, st)
    got, offset, calls = b"", None, 0
    while calls < 100:
        args = {"name": "big", "path": "assets/blob.bin"}
        if offset is not None:
            args["offset"] = offset
        r = s.call("skill_read_file", args)
        st = (r or {}).get("structuredContent", {})
        calls += 1
        if not check("window: binary answer %d" % calls, st.get("encoding") == "base64", r):
            break
        got += base64.b64decode(st["content"])
        offset = st.get("nextOffset")
        if offset is None:
            break
    check("window: the bytes read in windows are the file", got == data, (calls, len(got)))
    r = s.call("skill_read_file", {"name": "big", "path": "assets/blob.bin", "offset": 10,
                                   "limit": 5})
    st = (r or {}).get("structuredContent", {})
    check("window: a byte window", base64.b64decode(st.get("content", "")) == data[10:15] and
          st.get("nextOffset") == 15, st)
    r = s.call("skill_read_file", {"name": "big", "path": "references/big.md", "offset": 30000})
    check("window: an offset past the end is an isError naming the length",
          (r or {}).get("isError") is True and "20000 lines" in text_of(r), r)
    rc, err = s.close()
    check("window: exit 0", rc == 0, err[-2000:])
    shutil.rmtree(base)


SCENARIOS = {
    "fifo": scenario_fifo,
    "symlinks": scenario_symlinks,
    "prompts": scenario_prompts,
    "amplify": scenario_amplify,
    "window": scenario_window,
}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in SCENARIOS:
        print(__doc__, file=sys.stderr)
        return 2
    SCENARIOS[sys.argv[2]](sys.argv[1])
    if FAILED:
        print("%s: %d check(s) failed" % (sys.argv[2], len(FAILED)))
        return 1
    print("%s: ok" % sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
