#!/usr/bin/env python3
"""Shared, read-only fixture trees for the test suite (see tests/README.md).

Big trees of empty files (tens of thousands of entries, for walks, progress and
cancellation) are built once per checkout and shared by every test and by both builds
(normal and ASan). Whoever needs a tree first builds it under a lock; everyone else waits
for that lock and then uses the finished tree. Tests must never write into a shared tree.

usage: python3 tests/fixtures.py SHAPE      prints the tree's absolute path (building it
                                            first if needed); exit 1 on a bad SHAPE
       import fixtures; fixtures.tree(SHAPE)   the same from Python

Shapes:
  wide-T-D-F   T top directories d0..d{T-1}, each with D subdirectories e0..e{D-1}, each
               holding F empty files f0.txt..f{F-1}.txt  (wide-20-100-50: 100,000 files)
  flat-N       N empty files d{k//500:04d}/f{k:06d}.txt, 500 per directory

Location: $CTXD_FIXTURES, else build-fixtures/ at the top of the source tree (ignored by
git). Delete the directory to rebuild. A tree's name carries a format version, so a change
to how a shape is built never reuses an old tree.

The files of a tree are hard links to a few seed files (at most 10,000 links each): on a
busy ext4 volume creating an inode costs up to a few milliseconds while a link costs tens
of microseconds, so a 100,000-file tree takes seconds instead of minutes. Tests only walk
these trees; none may open a file in one for writing.
"""
import fcntl
import os
import re
import shutil
import sys

VERSION = 1
LINKS_PER_SEED = 10000
_HERE = os.path.dirname(os.path.abspath(__file__))


def base_dir():
    d = os.environ.get("CTXD_FIXTURES") or os.path.join(os.path.dirname(_HERE), "build-fixtures")
    os.makedirs(d, exist_ok=True)
    return os.path.abspath(d)


def scratch():
    """The directory a test creates its temporary files in: $CTXD_TEST_SCRATCH (scripts/
    test.sh points it at a tmpfs when there is one), else $CTXD_TEST_TMP (the build
    directory, set by meson), else $TMPDIR, else /tmp."""
    for var in ("CTXD_TEST_SCRATCH", "CTXD_TEST_TMP", "TMPDIR"):
        if os.environ.get(var):
            os.makedirs(os.environ[var], exist_ok=True)
            return os.environ[var]
    return "/tmp"


def _parse(shape):
    m = re.fullmatch(r"wide-(\d+)-(\d+)-(\d+)", shape)
    if m:
        t, d, f = (int(x) for x in m.groups())
        return [("d%d/e%d" % (i, e), ["f%d.txt" % k for k in range(f)])
                for i in range(t) for e in range(d)]
    m = re.fullmatch(r"flat-(\d+)", shape)
    if m:
        n = int(m.group(1))
        return [("d%04d" % j, ["f%06d.txt" % k for k in range(j * 500, min(n, j * 500 + 500))])
                for j in range((n + 499) // 500)]
    return None


def _build(layout, tmp):
    seed = None
    links = 0
    n = 0
    for rel, names in layout:
        d = os.path.join(tmp, rel)
        os.makedirs(d)
        for name in names:
            p = os.path.join(d, name)
            if seed is None or links >= LINKS_PER_SEED:
                os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                seed, links = p, 0
            else:
                os.link(seed, p)
                links += 1
            n += 1
    return n


def tree(shape):
    """The absolute path of the shared tree SHAPE, built now if nobody has built it yet."""
    layout = _parse(shape)
    if layout is None:
        raise ValueError("unknown fixture shape %r (want wide-T-D-F or flat-N)" % shape)
    base = base_dir()
    final = os.path.join(base, "%s.v%d" % (shape, VERSION))
    if os.path.isdir(final):  # only ever renamed into place once complete
        return final
    with open(os.path.join(base, "%s.lock" % shape), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if os.path.isdir(final):
            return final
        tmp = os.path.join(base, ".building-%s.v%d" % (shape, VERSION))
        shutil.rmtree(tmp, ignore_errors=True)  # left by a builder that died
        os.makedirs(tmp)
        n = _build(layout, tmp)
        os.rename(tmp, final)
        print("fixtures: built %s (%d files) in %s" % (shape, n, final), file=sys.stderr)
    return final


def main():
    if len(sys.argv) != 2:
        print("usage: fixtures.py SHAPE", file=sys.stderr)
        return 2
    try:
        print(tree(sys.argv[1]))
    except (ValueError, OSError) as e:
        print("fixtures: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
