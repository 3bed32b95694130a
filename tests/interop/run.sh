#!/bin/sh
# run.sh - run one interop test file against a ctxd binary.
# usage: run.sh v1.test.mjs|v2.test.mjs /path/to/ctxd
#        run.sh --install      only install the clients (scripts/test.sh does it early)
# Installs the pinned clients from package-lock.json (npm ci) when node_modules is
# missing or older than the lock file. Exit 77 (meson: skipped) when node or npm is
# missing or too old, or when the clients cannot be installed; under CI=true that is a
# failure instead, so CI never passes without the interop tests having run.
set -u

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI=true, interop tests must run): $1" >&2
		exit 1
	fi
	echo "SKIP: $1" >&2
	exit 77
}

test_file=${1:?usage: run.sh TEST_FILE CTXD_BINARY | run.sh --install}
if [ "$test_file" = --install ]; then
	bin=
else
	bin=${2:?usage: run.sh TEST_FILE CTXD_BINARY}
	case $bin in
	/*) ;;
	*) bin=$(pwd)/$bin ;;
	esac
fi

case $0 in
*/*) cd "${0%/*}" || exit 1 ;;
esac

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	skip "node and npm are needed for the interop tests"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
	skip "node >= 20 is needed, found $(node --version)"
fi

# One installer at a time: interop tests run in parallel, and two `npm ci` in one
# directory would corrupt node_modules. The others wait for the lock, then find it done.
stamp=node_modules/.package-lock.json
exec 9>.npm-ci.lock
flock 9
if [ ! -f "$stamp" ] || [ -n "$(find package-lock.json -newer "$stamp")" ]; then
	echo "installing the pinned MCP clients (npm ci)" >&2
	if ! npm ci --no-audit --no-fund >&2; then
		skip "npm ci failed (no registry access?)"
	fi
fi
flock -u 9
exec 9>&-
[ "$test_file" = --install ] && exit 0

# Temporary files where scripts/test.sh wants them (a tmpfs when there is one).
if [ -n "${CTXD_TEST_SCRATCH:-}" ]; then
	TMPDIR=$CTXD_TEST_SCRATCH
	export TMPDIR
fi

exec node "$test_file" "$bin"
