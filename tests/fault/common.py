"""Shared helpers for the fault tests: start the real ctxd binary on pipes, talk JSON-RPC,
read VmRSS from /proc, build temp trees. Python 3 standard library only.

Each test is `python3 tests/fault/<test>.py CTXD_BINARY`; exit 0 = pass, 77 = skip,
anything else = failure (a CheckFailed traceback says which check failed). Checks are
explicit calls of check(), never `assert`, which `python3 -O` would drop."""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fixtures  # noqa: E402

SKIP = 77
PROTO = "2025-11-25"


class CheckFailed(Exception):
    """A test check failed."""


def check(cond, msg="check failed"):
    """Fail the test (exception, exit status 1) unless `cond` holds."""
    if not cond:
        raise CheckFailed(msg)


def skip(reason):
    print("SKIP: " + reason, file=sys.stderr)
    sys.exit(SKIP)


def binary():
    if len(sys.argv) < 2:
        print("usage: %s CTXD_BINARY" % sys.argv[0], file=sys.stderr)
        sys.exit(2)
    return os.path.abspath(sys.argv[1])


def is_asan(path):
    """True when the binary was built with AddressSanitizer (bigger and slower)."""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def tmpdir(tag):
    return tempfile.mkdtemp(prefix="ctxd-%s-" % tag, dir=fixtures.scratch())


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


def rss_kib(pid):
    """VmRSS of `pid` in KiB (0 when the process is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def req(i, method, params=None):
    m = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        m["params"] = params
    return m


def call(i, tool, args=None):
    return req(i, "tools/call", {"name": tool, "arguments": args or {}})


def frame(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


class Server:
    """ctxd on pipes. `lines` collects parsed output frames when started with a reader."""

    def __init__(self, exe, args, env=None, nofile=None, reader=True):
        e = dict(os.environ)
        e.update(env or {})
        if is_asan(exe):
            # keep ASan's quarantine small so RSS figures mean something
            e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"
                                 ":malloc_context_size=5").lstrip(":")

        def limits():
            if nofile is not None:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.p = subprocess.Popen([exe] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=e, preexec_fn=limits,
                                  bufsize=0)
        self.pid = self.p.pid
        self.lines = []
        self.raw_tail = b""
        self.eof = False
        self.bad = []
        self.cv = threading.Condition()
        self.stderr = b""
        self._errt = threading.Thread(target=self._read_err, daemon=True)
        self._errt.start()
        self._rt = None
        if reader:
            self.start_reader()

    def _read_err(self):
        self.stderr = self.p.stderr.read()

    def start_reader(self):
        self._rt = threading.Thread(target=self._read, daemon=True)
        self._rt.start()

    def _read(self):
        buf = b""
        while True:
            chunk = self.p.stdout.read(65536)
            if not chunk:
                break
            buf += chunk
            parts = buf.split(b"\n")
            buf = parts.pop()
            with self.cv:
                for ln in parts:
                    try:
                        self.lines.append(json.loads(ln))
                    except ValueError:
                        self.bad.append(ln)
                self.cv.notify_all()
        with self.cv:
            self.raw_tail = buf
            self.eof = True
            self.cv.notify_all()

    def send(self, data):
        if isinstance(data, dict):
            data = frame(data)
        self.p.stdin.write(data)

    def close_stdin(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass

    def wait_for(self, pred, timeout):
        """Wait until pred(lines) holds; False on timeout or when the output ended."""
        end = time.monotonic() + timeout
        with self.cv:
            while not pred(self.lines):
                if self.eof:
                    return False
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(left)
        return True

    def responses(self):
        with self.cv:
            return {json.dumps(m["id"]): m for m in self.lines
                    if "id" in m and "method" not in m}

    def initialize(self, caps=None):
        self.send(req("init", "initialize", {"protocolVersion": PROTO, "capabilities": caps or {},
                                             "clientInfo": {"name": "fault", "version": "1"}}))
        ok = self.wait_for(lambda ls: any(m.get("id") == "init" for m in ls), 60)
        check(ok, "no initialize response; stderr: %s" % self.stderr[-2000:])
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def tools(self):
        self.send(req("tools", "tools/list"))
        check(self.wait_for(lambda ls: any(m.get("id") == "tools" for m in ls), 60),
              "no tools/list response; stderr: %s" % self.stderr[-2000:])
        m = self.responses()['"tools"']
        return [t["name"] for t in m["result"]["tools"]]

    def wait_exit(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def finish(self):
        """Wait for the reader to see EOF (after the process exited)."""
        if self._rt:
            self._rt.join(10)
        self._errt.join(10)


def thread_states(pid):
    """The scheduler state letter (R, S, D, ...) of every thread of `pid`."""
    states = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue  # the thread ended
        states.append(stat[stat.rindex(")") + 2])
    return states


def pipe_bytes(fd):
    """Bytes waiting in the pipe `fd` belongs to (either end)."""
    import array
    import fcntl
    import termios
    n = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, n, True)
    return n[0]


def wait_not_reading(srv, timeout, progress, sample=None, finished=None):
    """Wait until the server has stopped reading its stdin for good: input is waiting in
    the pipe and every thread of the server sleeps (state S), twice in a row with the
    writer's `progress()` count unchanged in between. A server that still read its input
    would have its loop woken (state R) by that input; sleeping threads with input waiting
    mean the loop no longer watches stdin and no worker has anything left to do, so nothing
    changes until the host reads stdout. `sample()` runs on every poll. Returns False on
    timeout (a hang guard only), when the server exited, or when `finished()` says the
    writer has nothing more to send and the server read it all."""
    end = time.monotonic() + timeout
    seen = None
    while time.monotonic() < end:
        if sample:
            sample()
        if srv.p.poll() is not None:
            return False
        if finished and finished() and pipe_bytes(srv.p.stdin.fileno()) == 0:
            return False
        sent = progress()
        idle = all(st == "S" for st in thread_states(srv.pid))
        if idle and pipe_bytes(srv.p.stdin.fileno()) > 0:
            if seen == sent:
                return True
            seen = sent
        else:
            seen = None
        time.sleep(0.01)  # the interval between two looks at the state, not a delay
    return False


def check_frames(srv):
    """Every output line was valid JSON and no partial line is left."""
    check(not srv.bad, "invalid output line(s): %r" % srv.bad[:3])
    check(not srv.raw_tail, "partial output line at exit: %r" % srv.raw_tail[:200])


def make_tree(root, dirs, files_per_dir, depth=1):
    """A tree of `dirs` directories (nested `depth` levels) with small text files."""
    n = 0
    for d in range(dirs):
        path = os.path.join(root, *["d%d_%d" % (d, k) for k in range(depth)])
        os.makedirs(path, exist_ok=True)
        for f in range(files_per_dir):
            with open(os.path.join(path, "f%d.txt" % f), "w") as fh:
                fh.write("line one %d\nline two\n" % f)
            n += 1
    return n
