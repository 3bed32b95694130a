#!/usr/bin/env python3
"""Rules every test follows (tests/README.md), checked so that new tests keep them:

- no `assert` statement in a Python test: `python3 -O` drops them, and a check that can
  vanish is no check; use an explicit check that raises or exits non-zero;
- no `sleep` directive in a protocol session: wait for the message itself.

usage: lint_tests.py SOURCE_ROOT     exit 0 when clean, 1 with one line per finding"""
import ast
import os
import sys


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    tests = os.path.join(root, "tests")
    bad = []
    for d, dirs, files in os.walk(tests):
        dirs[:] = [x for x in dirs if x != "node_modules"]
        for name in files:
            p = os.path.join(d, name)
            if name.endswith(".py"):
                try:
                    with open(p) as f:
                        tree = ast.parse(f.read(), p)
                except (SyntaxError, UnicodeDecodeError, ValueError):
                    continue  # a fixture that is not a Python test (a test would fail itself)
                for node in ast.walk(tree):
                    if isinstance(node, ast.Assert):
                        bad.append("%s:%d: assert statement (python3 -O drops it): use an "
                                   "explicit check" % (os.path.relpath(p, root), node.lineno))
            elif name.endswith(".session"):
                with open(p) as f:
                    for n, line in enumerate(f, 1):
                        if line.startswith("sleep "):
                            bad.append("%s:%d: sleep directive: wait for the message instead"
                                       % (os.path.relpath(p, root), n))
    for b in bad:
        print(b)
    print("%d finding(s)" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
