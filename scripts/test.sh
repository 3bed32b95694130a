#!/bin/sh
# Build ctxd and run the whole test suite (unit, protocol, interop) three times: in the
# normal build, in the portable build (-Dportable=true: the platform seam's fallbacks on
# Linux, docs/architecture.md) and in the ASan+UBSan build; then build and check the Debian
# package. Ends with one line "N passed, M failed".
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
	# TMPDIR too: whatever a test, a compiler or a packaging tool puts in a temp file
	TMPDIR=$CTXD_TEST_SCRATCH
	export CTXD_TEST_SCRATCH TMPDIR
	echo "test scratch space: $CTXD_TEST_SCRATCH" >&2
fi
deb_out=$(mktemp)
deb_log=$(mktemp)
portable_log=
total_pass=0
total_fail=0
cleanup() {
	rm -f "$deb_out" "$deb_log" "$prep_log" "$portable_log"
	if [ -n "$scratch_made" ] && [ "$total_fail" -eq 0 ]; then
		rm -rf "$scratch_made"
	elif [ -n "$scratch_made" ]; then
		echo "ctxd: kept the scratch space $scratch_made for a look at the failures" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build() { # build DIR [meson setup options...]: configure if needed, compile; quiet unless it fails
	dir=$1
	shift
	log=$(mktemp)
	if { [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"; } >"$log" 2>&1 &&
		ninja -C "$dir" >>"$log" 2>&1; then
		rm -f "$log"
		return 0
	fi
	echo "ctxd: build in $dir failed" >&2
	tail -30 "$log" >&2
	rm -f "$log"
	return 1
}

# Four tests at a time on any machine: most of them wait on round trips, process starts
# and exits more than they compute, so two CPUs serve four of them.
suite() { # suite DIR [VAR=value...]: run the whole suite of one build
	dir=$1
	shift
	echo "== tests in $dir" >&2
	rm -f "$dir/meson-logs/testlog.json"
	env "$@" meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 4 >&2
}

count() { # count DIR: add the results of the last suite of DIR to the totals
	dir=$1
	if counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
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
	); then
		set -- $counts
		total_pass=$((total_pass + $1))
		total_fail=$((total_fail + $2))
	else
		echo "ctxd: no test results in $dir" >&2
		total_fail=$((total_fail + 1))
	fi
}

run_tests() { # run_tests DIR [VAR=value...]: the whole suite of one build, added to the totals
	suite "$@"
	count "$1"
}

# What the tests share is fetched and built at once, beside the compiles (network and
# disk more than CPU): the pinned interop clients (npm ci, ~30 s on a fresh clone) and
# the shared fixture trees (tests/README.md). The tests take the same locks, so they find
# them ready or wait for them; a failure here shows in the tests that need them.
prep_log=$(mktemp)
{
	sh tests/interop/run.sh --install
	python3 tests/conformance/run.py --install
	python3 tests/fixtures.py wide-20-100-50
	python3 tests/fixtures.py flat-1500
} >"$prep_log" 2>&1 &
prep=$!

asan_setup="-Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false"
# ASan+UBSan: any report aborts the test that triggered it
asan_env="ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"

# The ASan build takes longest to compile and its tests come last: it starts at once,
# beside the normal build. The Debian package (scripts/deb.sh: dpkg-buildpackage, its
# contents, lintian; its build-time tests run the unit and docs suites only, the protocol
# suite runs here twice) builds from a copy of the tree beside the normal build's tests.
# Tests leave CPU time idle (round trips, process starts, single-threaded clients) that
# the compilers fill. The background jobs' output is shown when they are done.
build build-asan $asan_setup &
asan_build=$!
build build -Dwerror=true
normal_ok=$?
sh scripts/deb.sh --suites "unit docs" >"$deb_out" 2>"$deb_log" &
deb=$!
# The portable build (-Dportable=true: the platform seam's fallbacks, docs/architecture.md)
# compiles beside the normal build's tests and runs its suite as soon as it is built, in
# slots of its own beside theirs (its output is shown when it is done).
portable_log=$(mktemp)
rm -f build-portable/meson-logs/testlog.json
{ build build-portable -Dwerror=true -Dportable=true && suite build-portable; } >"$portable_log" 2>&1 &
portable=$!
if [ "$normal_ok" -eq 0 ]; then
	run_tests build
else
	total_fail=$((total_fail + 1))
fi
if ! wait "$prep"; then
	echo "ctxd: preparing the shared test data failed (the tests that need it say more):" >&2
	tail -20 "$prep_log" >&2
fi
wait "$asan_build"
asan_ok=$?
if [ "$asan_ok" -eq 0 ]; then
	run_tests build-asan $asan_env
else
	total_fail=$((total_fail + 1))
fi
wait "$portable"
cat "$portable_log" >&2
count build-portable
wait "$deb"
echo "== Debian package" >&2
cat "$deb_log" >&2
set -- $(sed -n 's/^deb: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$deb_out")
total_pass=$((total_pass + ${1:-0}))
total_fail=$((total_fail + ${2:-1}))
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
