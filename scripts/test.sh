#!/bin/sh
# Build ctxd and run the whole test suite (unit, protocol, interop) twice: in the normal
# build and in the ASan+UBSan build; then build and check the Debian package. Ends with one
# line "N passed, M failed".
# usage: sh scripts/test.sh
set -u
cd "$(dirname "$0")/.."
sh scripts/deps.sh test || exit 1

# Scratch space for every test's temporary files (tests/README.md): a fresh directory on
# a tmpfs when there is one with room, removed at the end. The tests write, fsync and
# rename a lot; on a busy disk each fsync costs tens of milliseconds (measured:
# memory_bank_xproc 63 s on ext4, 2.7 s on tmpfs). Set CTXD_TEST_SCRATCH to choose.
scratch_made=
if [ -z "${CTXD_TEST_SCRATCH:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] &&
	[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] &&
	[ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -ge 524288 ]; then
	CTXD_TEST_SCRATCH=$(mktemp -d /dev/shm/ctxd-tests.XXXXXX) && scratch_made=$CTXD_TEST_SCRATCH
fi
if [ -n "${CTXD_TEST_SCRATCH:-}" ]; then
	export CTXD_TEST_SCRATCH
	echo "test scratch space: $CTXD_TEST_SCRATCH" >&2
fi
cleanup() {
	if [ -n "$scratch_made" ]; then
		rm -rf "$scratch_made"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

total_pass=0
total_fail=0
run_suite() { # run_suite BUILDDIR [meson setup options...]
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null || { total_fail=$((total_fail + 1)); return; }
	fi
	if ! ninja -C "$dir" >/dev/null; then
		echo "ctxd: build in $dir failed" >&2
		ninja -C "$dir" | tail -20 >&2
		total_fail=$((total_fail + 1))
		return
	fi
	echo "== tests in $dir" >&2
	meson test -C "$dir" --print-errorlogs --num-processes 2 >&2
	counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r["result"] != "SKIP":
        f += 1
print(p, f)
PY
)
	set -- $counts
	total_pass=$((total_pass + $1))
	total_fail=$((total_fail + $2))
}

run_suite build -Dwerror=true
# ASan+UBSan: any report aborts the test that triggered it
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suite build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
# The Debian package (scripts/deb.sh): dpkg-buildpackage, its contents, lintian; each a check.
# Its build-time tests run the unit and docs suites only: the protocol suite ran above twice.
set -- $(sh scripts/deb.sh --suites "unit docs" | sed -n 's/^deb: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
total_pass=$((total_pass + ${1:-0}))
total_fail=$((total_fail + ${2:-1}))
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
