#!/usr/bin/env python3
"""Scripted JSON-RPC sessions against the real ctxd binary.

usage: run.py CTXD_BINARY CASE.session [CASE.session ...]

A session file is a list of directives, one per line:
  # args: ARG ...      command-line arguments for ctxd ($ROOT = the temp tree)
  # config: YAML       one line of YAML written to $CONFIG before ctxd starts
  # bigtree: SHAPE     $BIG = a shared read-only tree of empty files (tests/fixtures.py:
                       wide-T-D-F or flat-N), built once per checkout; pass $BIG in
                       `# args:` and never write into it
  # skilldir: DIR      create $ROOT/DIR/SKILL.md, a valid skill named after DIR's last part
  # needs: FEATURE     run only in a build that has it: `landlock` (not in a portable build,
                       -Dportable=true) or `portable` (only there); else the case is skipped
                       (exit 77 when every case given was). meson sets CTXD_PORTABLE=1 for
                       the tests of a portable build.
  > TEXT              send TEXT as one frame (raw bytes: malformed JSON is fine)
  >raw TEXT           send TEXT exactly, with no newline added (\\n, \\r escapes honoured)
  >big N              send a ping with id "big-N" padded to exactly N bytes (plus newline)
  < JSON              expect a message that contains JSON (subset match: every key given
                      must be present and equal; lists match item by item; "$any" matches
                      anything, "$absent" demands the key be missing, "$contains:TEXT" a string
                      holding TEXT, "$capture:NAME" anything, remembered as $NAME for later
                      lines). Consecutive '<' lines
                      form a block matched in any order, since responses are unordered.
  <* JSON             (in a block) zero or more messages matching JSON may arrive, from
                      this block up to and including the next `quiet`: for notifications
                      a change may cause more than once (an append seen as two inotify
                      events that fall into two coalescing windows)
  quiet               expect no further message before a ping sentinel is answered; with
                      a notification that was caused earlier (a file change) just before
                      it, this is the barrier that proves nothing else is still pending
  repeat N > TEXT     send TEXT N times, $I replaced by 0..N-1 (all in one write)
  repeat N < JSON     expect N messages matching JSON with $I = 0..N-1, in any order
  close               close stdin; expect stdout EOF, exit code 0 and nothing unexpected
  eof                 close stdin only (then '<' lines, then 'exit')
  exit                expect stdout EOF and exit code 0
  kill TERM           send a signal; expect exit code 0
  signal TERM         send a signal and go on at once (then '<' lines, then 'exit')
  stderr TEXT         wait until ctxd's stderr holds TEXT (pass -l info or debug to see
                      the lines you wait for)
  ignore METHOD ...   from here on, drop notifications with these methods wherever they
                      arrive (for ones whose timing the session cannot pin down)
  # anything else     a comment
The temp tree ($ROOT) holds: a.txt ("hello\\n"), sub/b.txt, crlf.txt (3 CRLF lines),
lines.txt (100 numbered lines), and an outside directory $OUT with secret.txt; $ROOT/escape
is a symlink to $OUT/secret.txt.

Nothing here waits for a time: every wait is for a message, EOF or an exit, and the limit
on it (HANG_GUARD seconds) only turns a hang into a failure. A session never sleeps to let
something happen; to prove that nothing more arrives it ends with `quiet` or `close`.
ctxd runs with CTXD_TEST_HOOKS=1: a request whose _meta holds "ctxd.test/hold": true stays
running after its first progress notification until it is cancelled (see src/mcp.c).
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fixtures  # noqa: E402

# Limit on any single wait (a message, EOF, an exit). Only a hang guard: a healthy run
# never comes near it, however loaded the machine.
HANG_GUARD = 30.0


def build_tree():
    base = tempfile.mkdtemp(prefix="ctxd-proto-", dir=fixtures.scratch())
    root = os.path.join(base, "root")
    out = os.path.join(base, "root-evil")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(out)
    with open(os.path.join(root, "a.txt"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(root, "sub", "b.txt"), "w") as f:
        f.write("bee\n")
    with open(os.path.join(root, "crlf.txt"), "wb") as f:
        f.write(b"one\r\ntwo\r\nthree\r\n")
    with open(os.path.join(root, "lines.txt"), "w") as f:
        f.write("".join("line %d\n" % i for i in range(1, 101)))
    with open(os.path.join(out, "secret.txt"), "w") as f:
        f.write("secret\n")
    os.symlink(os.path.join(out, "secret.txt"), os.path.join(root, "escape"))
    return base, root, out


CAPTURED = {}


def subst(text, env):
    for k, v in list(CAPTURED.items()) + list(env.items()):
        text = text.replace(k, v)
    return text


def matches(exp, act):
    if exp == "$any":
        return True
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return False
        for k, v in exp.items():
            if v == "$absent":
                if k in act:
                    return False
                continue
            if k not in act or not matches(v, act[k]):
                return False
        return True
    if isinstance(exp, list):
        return isinstance(act, list) and len(exp) == len(act) and all(
            matches(e, a) for e, a in zip(exp, act))
    if isinstance(exp, str) and exp.startswith("$capture:"):
        CAPTURED["$" + exp[len("$capture:"):]] = act if isinstance(act, str) else json.dumps(act)
        return True
    if isinstance(exp, str) and exp.startswith("$contains:"):
        return isinstance(act, str) and exp[len("$contains:"):] in act
    # keep 1 and "1" (and true and 1) apart
    return type(exp) is type(act) and exp == act


class Failure(Exception):
    """A session check failed (raised explicitly, so `python3 -O` cannot drop it)."""


class Session:
    def __init__(self, binary, args, name, home):
        self.name = name
        # HOME points into the temp tree: user-level skills (~/.claude/skills) of whoever
        # runs the tests must not change what the server says.
        env = dict(os.environ, HOME=home, CTXD_TEST_HOOKS="1")
        self.p = subprocess.Popen([binary] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.buf = b""
        self.ignored = set()
        self.err = b""
        self.sentinel = 0
        self.absorb = []  # '<*' patterns in force until the end of the next 'quiet'

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def read_msg(self, timeout=HANG_GUARD):
        """The next message (not an ignored notification), "EOF", or None when nothing
        came within the hang guard."""
        while True:
            m = self.read_one(timeout)
            if not (isinstance(m, dict) and "id" not in m and m.get("method") in self.ignored):
                return m

    def read_one(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 1 << 20)
            if not chunk:
                return "EOF"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise Failure("stdout line is not JSON: %r" % line[:200])

    def next_msg(self):
        """The next message that no '<*' pattern absorbs."""
        while True:
            m = self.read_msg()
            if not isinstance(m, dict) or not any(matches(p, m) for p in self.absorb):
                return m

    def wait_exit(self, what):
        try:
            return self.p.wait(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            fail("%s: no exit within %.0f s" % (what, HANG_GUARD))


    def wait_stderr(self, text):
        """Wait until stderr holds `text` (HANG_GUARD only guards against a hang)."""
        deadline = time.time() + HANG_GUARD
        while text.encode() not in self.err:
            left = deadline - time.time()
            if left <= 0:
                return False
            r, _, _ = select.select([self.p.stderr], [], [], left)
            if r:
                chunk = os.read(self.p.stderr.fileno(), 1 << 16)
                if not chunk:
                    return False
                self.err += chunk
        return True


def fail(msg):
    raise Failure(msg)


def expect_block(s, block, path, i):
    """Match the messages of one '<' block: `block` holds (kind, pattern) pairs."""
    want = [e for k, e in block if k == "<"]
    s.absorb += [e for k, e in block if k == "<*"]
    while want:
        m = s.read_msg()
        if m is None or m == "EOF":
            fail("%s:%d: expected %s, got %s" % (path, i, json.dumps(want[0]), m))
        for k, e in enumerate(want):
            if matches(e, m):
                del want[k]
                break
        else:
            if not any(matches(p, m) for p in s.absorb):
                fail("%s:%d: unexpected message %s\n  still expecting %s" %
                     (path, i, json.dumps(m)[:600], json.dumps(want)[:600]))


def run_case(binary, path):
    CAPTURED.clear()
    base, root, out = build_tree()
    env = {"$ROOT": root, "$OUT": out, "$CONFIG": os.path.join(base, "ctxd.yaml")}
    lines = open(path).read().splitlines()
    args = []
    for ln in lines:
        if ln.startswith("# bigtree:"):
            shape = ln[len("# bigtree:"):].strip()
            env["$BIG"] = fixtures.tree("flat-" + shape if shape.isdigit() else shape)
    for ln in lines:
        if ln.startswith("# args:"):
            args = subst(ln[len("# args:"):], env).split()
        if ln.startswith("# skilldir:"):
            d = os.path.join(root, ln[len("# skilldir:"):].strip())
            os.makedirs(d)
            name = os.path.basename(d)
            with open(os.path.join(d, "SKILL.md"), "w") as f:
                f.write("---\nname: %s\ndescription: The %s skill.\n---\nDo %s.\n" %
                        (name, name, name))
        if ln.startswith("# config:"):
            with open(env["$CONFIG"], "w") as f:
                f.write(subst(ln[len("# config:"):], env).strip() + "\n")
    s = Session(binary, args, path, base)
    try:
        i = 0
        while i < len(lines):
            ln = lines[i]
            i += 1
            if ln.startswith(">raw "):
                s.send(subst(ln[5:], env).encode().decode("unicode_escape").encode("latin-1"))
            elif ln.startswith(">big "):
                n = int(ln[5:])
                head = b'{"jsonrpc":"2.0","id":"big-%d","method":"ping","params":{"pad":"' % n
                s.send(head + b"x" * (n - len(head) - 3) + b'"}}\n')
            elif ln.startswith("> "):
                s.send(subst(ln[2:], env).encode() + b"\n")
            elif ln.startswith("< ") or ln.startswith("<* "):
                i -= 1
                block = []
                while i < len(lines) and (lines[i].startswith("< ") or lines[i].startswith("<* ")):
                    kind, text = lines[i].split(" ", 1)
                    block.append((kind, json.loads(subst(text, env))))
                    i += 1
                expect_block(s, block, path, i)
            elif ln.startswith("sleep "):
                fail("%s:%d: 'sleep' is gone: wait for a message instead (see run.py)" %
                     (path, i))
            elif ln.strip() == "quiet":
                s.sentinel += 1
                sid = "sentinel-%d" % s.sentinel
                s.send(json.dumps({"jsonrpc": "2.0", "id": sid, "method": "ping"}).encode() + b"\n")
                m = s.next_msg()
                if not (isinstance(m, dict) and m.get("id") == sid):
                    fail("%s:%d: expected silence, got %s" % (path, i, json.dumps(m)[:600]))
                s.absorb = []
            elif ln.startswith("repeat "):
                _, n, kind, text = ln.split(" ", 3)
                text = subst(text, env)
                if kind == ">":
                    s.send(b"".join(text.replace("$I", str(k)).encode() + b"\n"
                                    for k in range(int(n))))
                else:
                    block = [json.loads(text.replace("\"$I\"", str(k)).replace("$I", str(k)))
                             for k in range(int(n))]
                    while block:
                        m = s.next_msg()
                        if m is None or m == "EOF":
                            fail("%s:%d: %d repeated answers missing, got %s" % (path, i, len(block), m))
                        for k, e in enumerate(block):
                            if matches(e, m):
                                del block[k]
                                break
                        else:
                            fail("%s:%d: unexpected message %s" % (path, i, json.dumps(m)[:600]))
            elif ln.strip() == "eof":
                s.p.stdin.close()
            elif ln.strip() in ("close", "exit"):
                if ln.strip() == "close":
                    s.p.stdin.close()
                while True:
                    m = s.next_msg()
                    if m == "EOF":
                        break
                    if m is None:
                        fail("%s:%d: stdout not closed after stdin EOF" % (path, i))
                    fail("%s:%d: unexpected message after close: %s" % (path, i, m))
                rc = s.wait_exit("%s:%d" % (path, i))
                if rc != 0:
                    fail("%s:%d: exit code %d after stdin EOF" % (path, i, rc))
            elif ln.startswith("ignore "):
                s.ignored.update(ln[7:].split())
            elif ln.startswith("signal "):
                s.p.send_signal(getattr(signal, "SIG" + ln[7:].strip()))
            elif ln.startswith("stderr "):
                if not s.wait_stderr(subst(ln[7:], env)):
                    fail("%s:%d: stderr never showed %r:\n%s" %
                         (path, i, ln[7:], s.err.decode(errors="replace")[-2000:]))
            elif ln.startswith("kill "):
                s.p.send_signal(getattr(signal, "SIG" + ln[5:].strip()))
                rc = s.wait_exit("%s:%d" % (path, i))
                if rc != 0:
                    fail("%s:%d: exit code %d after signal" % (path, i, rc))
        if s.p.poll() is None:
            if not s.p.stdin.closed:
                s.p.stdin.close()
            s.wait_exit("%s: at the end" % path)
        err = (s.err + s.p.stderr.read()).decode(errors="replace")
        if "ERROR: AddressSanitizer" in err or "runtime error:" in err or "LeakSanitizer" in err:
            fail("%s: sanitizer report:\n%s" % (path, err[-3000:]))
        if s.p.returncode != 0:
            fail("%s: exit code %d\n%s" % (path, s.p.returncode, err[-2000:]))
    finally:
        if s.p.poll() is None:
            s.p.kill()
            s.p.wait()
        shutil.rmtree(base, ignore_errors=True)


def unmet_need(path):
    """The feature a case needs (`# needs:`) that this build lacks, or None."""
    portable = os.environ.get("CTXD_PORTABLE") == "1"
    have = {"landlock": not portable, "portable": portable}
    for ln in open(path).read().splitlines():
        if ln.startswith("# needs:"):
            need = ln[len("# needs:"):].strip()
            if need not in have:
                raise ValueError("%s: unknown need %r" % (path, need))
            if not have[need]:
                return need
    return None


def main():
    binary = sys.argv[1]
    passed = failed = skipped = 0
    for case in sys.argv[2:]:
        need = unmet_need(case)
        if need:
            skipped += 1
            print("skip %s (needs %s; CTXD_PORTABLE=%s)" %
                  (os.path.basename(case), need, os.environ.get("CTXD_PORTABLE", "")))
            continue
        try:
            run_case(binary, case)
            passed += 1
            print("ok   %s" % os.path.basename(case))
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            failed += 1
            print("FAIL %s\n%s" % (os.path.basename(case), e))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 77 if skipped and not passed else 0)


if __name__ == "__main__":
    main()
