#!/bin/sh
# The C sources follow .clang-format: clang-format --dry-run over src/, include/ and the
# unit tests; any difference fails the test (exit 1) and is listed. Without clang-format
# the test is skipped (exit 77; scripts/deps.sh test installs it).
# usage: tests/lint_format.sh SOURCE_ROOT
root=${1:?usage: lint_format.sh SOURCE_ROOT}
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not installed: skipped" >&2; exit 77; }
cd "$root" || exit 1
files=$(ls src/*.c src/*.h src/tools/*.c src/tools/*.h include/ctxd/*.h tests/*.c tests/*.h \
	tests/fuzz/*.c bench/*.c 2>/dev/null)
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
