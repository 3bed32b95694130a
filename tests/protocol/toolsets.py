#!/usr/bin/env python3
"""Toolsets (--toolsets / tools.toolsets): what a host sees for every family combination.

usage: toolsets.py CTXD_BINARY

For each non-empty combination of files, skills and memory, plus --read-only,
tools.disabled and the config-file form, one session (server/discover, then the 2025-11-25
handshake) checks:
  - tools/list holds exactly the enabled families' tools (minus disabled/writing ones);
  - prompts/list and the skills extension exist only with skills; resources/list and
    resources/templates/list carry only the enabled families' URI schemes, each of them
    (and resources/list the server's own ctxd://status);
  - capabilities follow: prompts and the skills extension only with skills;
  - the instructions (initialize and server/discover alike) name no tool that tools/list
    does not offer, and name each enabled family;
  - a family that is off did no start-up work: the --skills-dir directory is never opened
    without skills, and without skills and memory nothing is watched (inotify).
Bad --toolsets values and an empty tools.toolsets exit 2 with a message.

Then it prints the bytes of the tools/list answer with no skill installed (skill_activate's
description embeds the skill catalogue): the `tools` array as sent (compact UTF-8) and the
whole frame, per family and all together, and per tool; it fails when the whole list is over
TOOLS_BUDGET bytes, or an outputSchema carries prose or "required", or a one-line-status tool
lists one, or annotations repeat the title or carry openWorldHint. Exits non-zero on the first
failed check.
"""
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fixtures  # noqa: E402

FAMILIES = ("files", "skills", "memory")
SCHEMES = {"files": "file", "skills": "skill", "memory": "memory-bank"}
LABELS = {"files": "FILES", "skills": "SKILLS", "memory": "MEMORY BANK"}
# The tools/list budget with all three families on and no skill installed: the `tools` array
# as sent (compact UTF-8). A size, not a timing. It was 47,331 bytes before the descriptions
# were cut to what a model needs and outputSchemas lost their prose, and 29,716 before the
# issue 17 pass (project only with multi_project, outputSchemas without "required", no
# openWorldHint, no outputSchema for one-line status answers, three tools merged into
# others, shorter prose); see README "Toolsets".
TOOLS_BUDGET = 20000
# Tools whose answer is a one-line status: no outputSchema listed (structuredContent still sent).
STATUS_ONLY = {"write_file", "append_file", "copy_file", "move_file", "delete_file",
               "create_directory"}
HANG_GUARD = 30.0  # seconds; only a guard against a hung server, never a pass criterion


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def family_of(tool):
    if tool.startswith("skill_"):
        return "skills"
    if tool.startswith("memory_bank_"):
        return "memory"
    return "files"


def build_tree():
    base = tempfile.mkdtemp(prefix="ctxd-toolsets-", dir=fixtures.scratch())
    root = os.path.join(base, "root")
    os.makedirs(os.path.join(root, "memory-bank"))
    with open(os.path.join(root, "a.txt"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(root, "memory-bank", "activeContext.md"), "w") as f:
        f.write("# Active Context\n\n## Current Focus\n\ntoolsets\n")
    skills = os.path.join(base, "skills")
    os.makedirs(os.path.join(skills, "demo"))
    with open(os.path.join(skills, "demo", "SKILL.md"), "w") as f:
        f.write("---\nname: demo\ndescription: A demo skill for the toolsets test.\n---\n"
                "Say hello.\n")
    home = os.path.join(base, "home")
    os.makedirs(home)
    return base, root, skills, home


class Session:
    def __init__(self, binary, args, home):
        env = dict(os.environ, HOME=home)
        self.p = subprocess.Popen([binary] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.buf = b""
        self.next_id = 0

    def request(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.p.stdin.write(json.dumps(msg).encode() + b"\n")
        self.p.stdin.flush()
        while True:
            line = self.read_line()
            m = json.loads(line)
            if m.get("id") == self.next_id and "method" not in m:
                return m, len(line)

    def notify(self, method):
        self.p.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}).encode() + b"\n")
        self.p.stdin.flush()

    def read_line(self):
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.p.stdout], [], [], HANG_GUARD)
            check(r, "no answer from ctxd within %d s" % HANG_GUARD)
            chunk = os.read(self.p.stdout.fileno(), 1 << 20)
            if not chunk:
                fail("ctxd closed stdout; stderr: %s" % self.p.stderr.read().decode())
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def fd_targets(self):
        d = "/proc/%d/fd" % self.p.pid
        out = []
        for n in os.listdir(d):
            try:
                out.append(os.readlink(os.path.join(d, n)))
            except OSError:
                pass
        return out

    def inotify_watches(self):
        d = "/proc/%d/fdinfo" % self.p.pid
        count = 0
        for n in os.listdir(d):
            try:
                with open(os.path.join(d, n)) as f:
                    count += sum(1 for ln in f if ln.startswith("inotify wd:"))
            except OSError:
                pass
        return count

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(timeout=HANG_GUARD)
        err = self.p.stderr.read().decode()
        check(rc == 0, "ctxd exited %d; stderr: %s" % (rc, err))
        return err


def schema_has(schema, keyword):
    """True when `keyword` is used at some schema level of `schema` (property names aside)."""
    if not isinstance(schema, dict):
        return False
    if keyword in schema:
        return True
    subs = list(schema.get("properties", {}).values())
    subs += [schema.get(k) for k in ("items", "additionalProperties", "not")]
    for k in ("anyOf", "oneOf", "allOf"):
        subs += schema.get(k, [])
    return any(schema_has(x, keyword) for x in subs)


def session(binary, args, home):
    """One session: discover, initialize, the lists. Returns a dict of what was seen."""
    s = Session(binary, args, home)
    seen = {}
    disc, _ = s.request("server/discover", {})
    check("result" in disc, "server/discover failed: %s" % disc)
    seen["discover"] = disc["result"]
    init, _ = s.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                       "clientInfo": {"name": "toolsets", "version": "1"}})
    check("result" in init, "initialize failed: %s" % init)
    seen["init"] = init["result"]
    s.notify("notifications/initialized")
    tl, frame = s.request("tools/list")
    check("result" in tl and "nextCursor" not in tl["result"], "tools/list: %s" % tl)
    seen["tools"] = [t["name"] for t in tl["result"]["tools"]]
    seen["tools_bytes"] = len(json.dumps(tl["result"]["tools"], separators=(",", ":"),
                                         ensure_ascii=False).encode())
    seen["frame_bytes"] = frame
    seen["per_tool"] = []
    for t in tl["result"]["tools"]:
        out = t.get("outputSchema")
        check(out is None or not schema_has(out, "description"),
              "%s: outputSchema carries prose (description)" % t["name"])
        check(out is None or not schema_has(out, "required"),
              "%s: outputSchema lists required (schemas/*.output.json documents it)" %
              t["name"])
        check(out is None or t["name"] not in STATUS_ONLY,
              "%s answers a one-line status but lists an outputSchema" % t["name"])
        check("title" not in t.get("annotations", {}),
              "%s: annotations repeat the title" % t["name"])
        check("openWorldHint" not in t.get("annotations", {}),
              "%s: annotations carry openWorldHint" % t["name"])
        seen["per_tool"].append((t["name"], len(json.dumps(t, separators=(",", ":"),
                                                           ensure_ascii=False).encode())))
    for method, key in (("prompts/list", "prompts"), ("resources/list", "resources"),
                        ("resources/templates/list", "resourceTemplates")):
        r, _ = s.request(method)
        seen[key] = r.get("result", {}).get(key) if "result" in r else r["error"]
    seen["fds"] = s.fd_targets()
    seen["watches"] = s.inotify_watches()
    seen["stderr"] = s.close()
    return seen


def scheme(uri):
    return uri.split(":", 1)[0]


def verify(name, seen, families, all_tools, hidden, skills_dir):
    """Check one session against the families that are on and the tools hidden."""
    want = [t for t in all_tools if family_of(t) in families and t not in hidden]
    check(seen["tools"] == want, "%s: tools/list %s, expected %s" % (name, seen["tools"], want))
    for era in ("init", "discover"):
        caps = seen[era]["capabilities"]
        text = seen[era].get("instructions", "")
        check(("prompts" in caps) == ("skills" in families),
              "%s: %s capabilities.prompts with families %s: %s" % (name, era, families, caps))
        skills_ext = "io.modelcontextprotocol/skills" in caps.get("extensions", {})
        check(skills_ext == ("skills" in families),
              "%s: %s capabilities.extensions: %s" % (name, era, caps))
        check("resources" in caps and "tools" in caps, "%s: %s capabilities: %s" % (name, era, caps))
        for t in all_tools:
            named = re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(t), text)
            check(not named or t in seen["tools"],
                  "%s: %s instructions name %s, which tools/list does not offer: %s" %
                  (name, era, t, text))
        for fam in FAMILIES:
            check((LABELS[fam] in text) == (fam in families),
                  "%s: %s instructions and family %s: %s" % (name, era, fam, text))
    if "skills" in families:
        check(isinstance(seen["prompts"], list) and [p["name"] for p in seen["prompts"]] == ["demo"],
              "%s: prompts/list %s" % (name, seen["prompts"]))
    else:
        check(isinstance(seen["prompts"], dict) and seen["prompts"].get("code") == -32601,
              "%s: prompts/list without skills must be -32601, got %s" % (name, seen["prompts"]))
    want_schemes = {SCHEMES[f] for f in families} | {"ctxd"}  # ctxd://status: always
    got = {scheme(r["uri"]) for r in seen["resources"]}
    check(got == want_schemes, "%s: resources/list schemes %s, expected %s" % (name, got, want_schemes))
    got = {scheme(r["uriTemplate"]) for r in seen["resourceTemplates"]}
    check(got <= want_schemes, "%s: resource templates %s outside %s" % (name, got, want_schemes))
    opened = any(p == skills_dir or p.startswith(skills_dir + "/") for p in seen["fds"])
    check(opened == ("skills" in families),
          "%s: skills directory opened=%s with families %s (fds %s)" %
          (name, opened, families, seen["fds"]))
    if "skills" not in families and "memory" not in families:
        check(seen["watches"] == 0, "%s: %d inotify watches with neither skills nor memory" %
              (name, seen["watches"]))


def bad_usage(binary, args, home, expect):
    p = subprocess.run([binary] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       env=dict(os.environ, HOME=home), timeout=HANG_GUARD)
    err = p.stderr.decode()
    check(p.returncode == 2 and expect in err,
          "ctxd %s: exit %d (want 2), stderr %r (want %r)" % (args, p.returncode, err, expect))


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    binary = sys.argv[1]
    base, root, skills_dir, home = build_tree()
    skills_dir = os.path.realpath(skills_dir)
    common = ["--skills-dir", skills_dir, "--no-landlock", root]
    try:
        full = session(binary, common, home)
        all_tools = full["tools"]
        check({family_of(t) for t in all_tools} == set(FAMILIES),
              "default session lacks a family: %s" % all_tools)
        verify("default", full, FAMILIES, all_tools, set(), skills_dir)

        # Disabled and read-only tools are not named either.
        writing = {"write_file", "edit_file", "append_file", "copy_file", "move_file",
                   "delete_file", "create_directory", "memory_bank_init", "memory_bank_write"}
        seen = session(binary, ["--read-only"] + common, home)
        verify("--read-only", seen, FAMILIES, all_tools, writing, skills_dir)
        cfg = os.path.join(base, "ctxd.yaml")
        with open(cfg, "w") as f:
            f.write("tools:\n  disabled: [list_allowed_directories, skill_activate, "
                    "memory_bank_read, read_text_file]\n")
        seen = session(binary, ["--config", cfg] + common, home)
        verify("tools.disabled", seen, FAMILIES, all_tools,
               {"list_allowed_directories", "skill_activate", "memory_bank_read",
                "read_text_file"}, skills_dir)

        # Tools merged into others, still named in tools.disabled: the config loads, each name
        # is warned about once (it disables nothing now), the other names still disable.
        merged = {"list_directory_with_sizes": ("list_directory", "sizes"),
                  "memory_bank_update_section": ("memory_bank_write", "section"),
                  "memory_bank_restore": ("memory_bank_write", "fromVersion")}
        with open(cfg, "w") as f:
            f.write("tools:\n  disabled: [%s, grep]\n" % ", ".join(sorted(merged)))
        seen = session(binary, ["--config", cfg] + common, home)
        verify("tools.disabled naming merged tools", seen, FAMILIES, all_tools, {"grep"},
               skills_dir)
        for old, (new, arg) in merged.items():
            want = ("tools.disabled: %s was merged into %s (its %s argument) and disables "
                    "nothing now; disable %s to hide both" % (old, new, arg, new))
            check(seen["stderr"].count(want) == 1,
                  "tools.disabled %s: want the warning %r once, stderr: %s" %
                  (old, want, seen["stderr"]))
            check(old not in all_tools, "%s is still offered" % old)

        combos = []
        for mask in range(1, 8):
            combos.append(tuple(f for i, f in enumerate(FAMILIES) if mask & (1 << i)))
        for fams in combos:
            seen = session(binary, ["--toolsets", ",".join(fams)] + common, home)
            verify("--toolsets " + ",".join(fams), seen, fams, all_tools, set(), skills_dir)

        # The config file form, overridden by the command line.
        with open(cfg, "w") as f:
            f.write("tools:\n  toolsets: [memory, skills]\n  disabled: [memory_bank_search, grep]\n")
        seen = session(binary, ["--config", cfg] + common, home)
        verify("tools.toolsets [memory, skills]", seen, ("skills", "memory"), all_tools,
               {"memory_bank_search"}, skills_dir)
        seen = session(binary, ["--config", cfg, "--toolsets", "files"] + common, home)
        verify("--toolsets files over the config", seen, ("files",), all_tools, {"grep"},
               skills_dir)

        bad_usage(binary, ["--toolsets", "files,bogus", root], home, "--toolsets: 'files,bogus'")
        bad_usage(binary, ["--toolsets", "", root], home, "--toolsets: ''")
        bad_usage(binary, ["--toolsets", "files,", root], home, "--toolsets: 'files,'")
        with open(cfg, "w") as f:
            f.write("tools:\n  toolsets: []\n")
        bad_usage(binary, ["--config", cfg, root], home,
                  "tools.toolsets: name at least one of files, skills, memory")
        with open(cfg, "w") as f:
            f.write("tools:\n  toolsets: [files, memory_bank]\n")
        bad_usage(binary, ["--config", cfg, root], home,
                  "tools.toolsets[1]: unknown tool family 'memory_bank'")

        print("tools/list bytes (tools array as sent / whole frame), no skill installed:")
        for label in ("all",) + FAMILIES:
            args = [] if label == "all" else ["--toolsets", label]
            seen = session(binary, args + ["--no-landlock", root], home)
            print("  %-7s %2d tools %6d / %6d" % (label, len(seen["tools"]), seen["tools_bytes"],
                                                 seen["frame_bytes"]))
            if label == "all":
                everything = seen
        for name, size in everything["per_tool"]:
            print("    %-27s %5d" % (name, size))
        check(everything["tools_bytes"] <= TOOLS_BUDGET,
              "tools/list is %d bytes, over the budget of %d" % (everything["tools_bytes"],
                                                                 TOOLS_BUDGET))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
