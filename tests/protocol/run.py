#!/usr/bin/env python3
"""Scripted JSON-RPC sessions against the real ctxd binary.

usage: run.py CTXD_BINARY CASE.session [CASE.session ...]

A session file is a list of directives, one per line:
  # args: ARG ...      command-line arguments for ctxd ($ROOT = the temp tree)
  # config: YAML       one line of YAML written to $CONFIG before ctxd starts
  # bigtree: N         create $ROOT/big with N empty files in directories of 500
  > TEXT              send TEXT as one frame (raw bytes: malformed JSON is fine)
  >raw TEXT           send TEXT exactly, with no newline added (\\n, \\r escapes honoured)
  >big N              send a ping with id "big-N" padded to exactly N bytes (plus newline)
  < JSON              expect a message that contains JSON (subset match: every key given
                      must be present and equal; lists match item by item; "$any" matches
                      anything, "$absent" demands the key be missing, "$contains:TEXT" a string
                      holding TEXT, "$capture:NAME" anything, remembered as $NAME for later
                      lines). Consecutive '<' lines
                      form a block matched in any order, since responses are unordered.
  quiet               expect no further message before a ping sentinel is answered
  sleep MS            wait MS milliseconds (let coalesced notifications arrive before quiet)
  repeat N > TEXT     send TEXT N times, $I replaced by 0..N-1 (all in one write)
  repeat N < JSON     expect N messages matching JSON with $I = 0..N-1, in any order
  close               close stdin; expect exit code 0 within 2.5 s and nothing unexpected
  eof                 close stdin only (then '<' lines, then 'exit')
  exit                expect stdout EOF and exit code 0 within 2.5 s
  kill TERM           send a signal; expect exit code 0 within 6 s
  # anything else     a comment
The temp tree ($ROOT) holds: a.txt ("hello\\n"), sub/b.txt, crlf.txt (3 CRLF lines),
lines.txt (100 numbered lines), and an outside directory $OUT with secret.txt; $ROOT/escape
is a symlink to $OUT/secret.txt.
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


def build_tree():
    base = tempfile.mkdtemp(prefix="ctxd-proto-")
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


class Session:
    def __init__(self, binary, args, name, home):
        self.name = name
        # HOME points into the temp tree: user-level skills (~/.claude/skills) of whoever
        # runs the tests must not change what the server says.
        env = dict(os.environ, HOME=home)
        self.p = subprocess.Popen([binary] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.buf = b""
        self.sentinel = 0
        self.t_eof = time.time()

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def read_msg(self, timeout=5.0):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
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
            raise AssertionError("stdout line is not JSON: %r" % line[:200])


def fail(msg):
    raise AssertionError(msg)


def run_case(binary, path):
    CAPTURED.clear()
    base, root, out = build_tree()
    env = {"$ROOT": root, "$OUT": out, "$CONFIG": os.path.join(base, "ctxd.yaml")}
    lines = open(path).read().splitlines()
    args = []
    for ln in lines:
        if ln.startswith("# args:"):
            args = subst(ln[len("# args:"):], env).split()
        if ln.startswith("# bigtree:"):
            n = int(ln[len("# bigtree:"):])
            for k in range(n):
                d = os.path.join(root, "big", "d%04d" % (k // 500))
                if k % 500 == 0:
                    os.makedirs(d)
                open(os.path.join(d, "f%06d.txt" % k), "w").close()
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
            elif ln.startswith("< "):
                block = [json.loads(subst(ln[2:], env))]
                while i < len(lines) and lines[i].startswith("< "):
                    block.append(json.loads(subst(lines[i][2:], env)))
                    i += 1
                while block:
                    m = s.read_msg()
                    if m is None or m == "EOF":
                        fail("%s:%d: expected %s, got %s" % (path, i, json.dumps(block[0]), m))
                    for k, e in enumerate(block):
                        if matches(e, m):
                            del block[k]
                            break
                    else:
                        fail("%s:%d: unexpected message %s\n  still expecting %s" %
                             (path, i, json.dumps(m)[:600], json.dumps(block)[:600]))
            elif ln.startswith("sleep "):
                time.sleep(int(ln[6:]) / 1000.0)
            elif ln.strip() == "quiet":
                s.sentinel += 1
                sid = "sentinel-%d" % s.sentinel
                s.send(json.dumps({"jsonrpc": "2.0", "id": sid, "method": "ping"}).encode() + b"\n")
                m = s.read_msg()
                if not (isinstance(m, dict) and m.get("id") == sid):
                    fail("%s:%d: expected silence, got %s" % (path, i, json.dumps(m)[:600]))
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
                        m = s.read_msg()
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
                s.t_eof = time.time()
            elif ln.strip() in ("close", "exit"):
                if ln.strip() == "close":
                    s.p.stdin.close()
                    s.t_eof = time.time()
                t0 = s.t_eof
                while True:
                    m = s.read_msg(timeout=3)
                    if m == "EOF":
                        break
                    if m is None:
                        fail("%s:%d: stdout not closed after stdin EOF" % (path, i))
                    fail("%s:%d: unexpected message after close: %s" % (path, i, m))
                rc = s.p.wait(timeout=3)
                if rc != 0:
                    fail("%s:%d: exit code %d after stdin EOF" % (path, i, rc))
                if time.time() - t0 > 2.5:
                    fail("%s:%d: exit took %.1fs" % (path, i, time.time() - t0))
            elif ln.startswith("kill "):
                s.p.send_signal(getattr(signal, "SIG" + ln[5:].strip()))
                rc = s.p.wait(timeout=6)
                if rc != 0:
                    fail("%s:%d: exit code %d after signal" % (path, i, rc))
        if s.p.poll() is None:
            if not s.p.stdin.closed:
                s.p.stdin.close()
            s.p.wait(timeout=6)
        err = s.p.stderr.read().decode(errors="replace")
        if "ERROR: AddressSanitizer" in err or "runtime error:" in err or "LeakSanitizer" in err:
            fail("%s: sanitizer report:\n%s" % (path, err[-3000:]))
        if s.p.returncode != 0:
            fail("%s: exit code %d\n%s" % (path, s.p.returncode, err[-2000:]))
    finally:
        if s.p.poll() is None:
            s.p.kill()
            s.p.wait()
        shutil.rmtree(base, ignore_errors=True)


def main():
    binary = sys.argv[1]
    passed = failed = 0
    for case in sys.argv[2:]:
        try:
            run_case(binary, case)
            passed += 1
            print("ok   %s" % os.path.basename(case))
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            failed += 1
            print("FAIL %s\n%s" % (os.path.basename(case), e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
