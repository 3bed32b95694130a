#!/bin/sh
# cppcheck over src/ with the project's settings: warnings, performance and portability
# checks, C11 with _GNU_SOURCE, the project's include paths, and the reviewed false
# positives in tests/cppcheck.supp. Any finding fails the test (exit 1); without cppcheck
# installed the test is skipped (exit 77; scripts/deps.sh test installs it).
# usage: tests/lint_cppcheck.sh SOURCE_ROOT
root=${1:?usage: lint_cppcheck.sh SOURCE_ROOT}
command -v cppcheck >/dev/null 2>&1 || { echo "cppcheck not installed: skipped" >&2; exit 77; }
cd "$root" || exit 1
exec cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	--inline-suppr --suppressions-list=tests/cppcheck.supp --std=c11 -D_GNU_SOURCE \
	-Iinclude -Isrc -Isrc/tools -j2 src
