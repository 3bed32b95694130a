#!/usr/bin/env python3
"""The man pages render without warnings.

usage: check_man.py SCDOC_SOURCES... [-- BUILT_PAGES...]

Source check (always): no line of an scdoc source starts with '.' or "'" after its
indentation: roff would take it for a request, and the line would vanish from the page.
Rendering checks, for each built page, with each tool that is installed:
  - groff -ww -z -man -t: no warning at all;
  - man --warnings -l (what `man -l` shows): nothing on stderr;
  - mandoc -T lint -W error: no error (mandoc's style and paragraph-macro warnings about
    scdoc's output are not errors).
Without built pages (scdoc not installed) or without groff and man, the rendering checks
cannot run: exit 77 (skip) after the source check, or 1 when CI=true (scripts/deps.sh
test installs scdoc there).
"""
import os
import re
import shutil
import subprocess
import sys


def run(argv, page):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    p = subprocess.run(argv + [page], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    return p.returncode, p.stderr.decode(errors="replace").strip()


def main():
    args = sys.argv[1:]
    if "--" in args:
        k = args.index("--")
        sources, pages = args[:k], args[k + 1:]
    else:
        sources, pages = args, []
    problems = []
    for src in sources:
        for n, line in enumerate(open(src), 1):
            if re.match(r"[\t ]*[.']", line):
                problems.append("%s:%d: line starts with %r, which roff takes for a request; "
                                "reflow it" % (src, n, line.lstrip()[0]))
    checks = []
    if shutil.which("groff"):
        checks.append(["groff", "-ww", "-z", "-man", "-t"])
    if shutil.which("man"):
        checks.append(["man", "--warnings", "-l"])
    if shutil.which("mandoc"):
        checks.append(["mandoc", "-T", "lint", "-W", "error"])
    ran = 0
    for page in pages:
        for argv in checks:
            rc, err = run(argv, page)
            ran += 1
            if rc != 0 or err:
                problems.append("%s %s: exit %d\n%s" % (" ".join(argv), page, rc, err))
    if problems:
        sys.stderr.write("\n".join(problems) + "\n")
        return 1
    if not pages or not any(c[0] in ("groff", "man") for c in checks):
        why = "scdoc is not installed" if not pages else "neither groff nor man is installed"
        sys.stderr.write("check_man: source checked; pages not rendered: %s\n" % why)
        return 1 if os.environ.get("CI") == "true" else 77
    print("%d man pages, %d renderings, no warning" % (len(pages), ran))
    return 0


if __name__ == "__main__":
    sys.exit(main())
