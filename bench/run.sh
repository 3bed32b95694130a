#!/bin/sh
# run.sh - ctxd against the reference filesystem server, side by side, in one run.
#
# Builds the driver and the pipe-ceiling server (cc -O2), ctxd (meson release build in
# bench/build-release, unless CTXD=/path/to/ctxd is given), installs the reference server
# (npm ci into bench/node_modules), builds the fixtures in bench/fx, runs every workload
# against ctxd, the reference server and the ceiling, prints a markdown table and writes it,
# with the machine facts, at the top of bench/RESULTS.md (the sections from the first "## "
# heading on, other benchmarks' figures, are kept).
#
# Environment:
#   RUNS=3        runs per workload and server; the run with the median calls/s is kept
#   SPIN=1        the driver busy-polls for answers (0: it sleeps in poll(2))
#   CTXD=PATH     use this ctxd binary instead of building one
#   SCALE=1       multiply ctxd's call counts (e.g. 0.1 for a quick smoke run)
#   MAX_MS=3000   a measured run stops sending after this long (the counts are upper bounds)
#   RESULTS=PATH  where to write the report (default bench/RESULTS.md; "-" = do not write)
# Server commands are kept in plain strings and split on purpose (paths without blanks).
# shellcheck disable=SC2086
set -eu

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
OUT=$BENCH/out
FX=$BENCH/fx
RUNS=${RUNS:-3}
SPIN=${SPIN:-1}
SCALE=${SCALE:-1}
MAX_MS=${MAX_MS:-3000}
RESULTS=${RESULTS:-$BENCH/RESULTS.md}
CMDLINE="RUNS=$RUNS SPIN=$SPIN SCALE=$SCALE MAX_MS=$MAX_MS${CTXD:+ CTXD=$CTXD} bench/run.sh"
mkdir -p "$OUT"

say() { printf '%s\n' "$*" >&2; }

# ---- build ----
say "== building the driver and the ceiling server"
cc -O2 -o "$OUT/driver" "$BENCH/driver.c"
cc -O2 -o "$OUT/ceiling" "$BENCH/ceiling.c"

if [ -z "${CTXD:-}" ]; then
	say "== building ctxd (release)"
	if [ ! -f "$BENCH/build-release/build.ninja" ]; then
		(cd "$ROOT" && meson setup bench/build-release --buildtype=release >&2)
	fi
	ninja -C "$BENCH/build-release" >&2
	CTXD=$BENCH/build-release/ctxd
fi
[ -x "$CTXD" ] || { say "no ctxd binary at $CTXD"; exit 1; }

REF_JS=$BENCH/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js
if [ ! -f "$REF_JS" ] || [ ! -f "$BENCH/node_modules/.package-lock.json" ] ||
	[ -n "$(find "$BENCH/package-lock.json" -newer "$BENCH/node_modules/.package-lock.json")" ]; then
	say "== installing the reference server (npm ci)"
	(cd "$BENCH" && npm ci --no-audit --no-fund >&2)
fi
REF_VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
	"$BENCH/node_modules/@modelcontextprotocol/server-filesystem/package.json" | head -n 1)

say "== fixtures"
"$BENCH/fixtures.sh" "$FX" >&2


# ---- pinning ----
DPIN=""
SPIN_ARG=""
SRV_PIN=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	DPIN="taskset -c 0"
	SRV_PIN="taskset -c 1"
fi
[ "$SPIN" = 1 ] && SPIN_ARG="--spin"

RES=$OUT/results.jsonl
: >"$RES"

# scaled COUNT: ctxd's call count times SCALE, at least 1
scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }

# median_line KEY: of the JSON lines on stdin, the one with the median value of KEY
median_line() {
	awk -v key="$1" '
	{ if (match($0, "\"" key "\":[-0-9.]+")) { v = substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0 }
	  val[NR] = v; line[NR] = $0 }
	END {
		for (i = 1; i <= NR; i++) idx[i] = i
		for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++)
			if (val[idx[j]] < val[idx[i]]) { t = idx[i]; idx[i] = idx[j]; idx[j] = t }
		print line[idx[int((NR + 1) / 2)]]
	}'
}

# one CASE SERVER KEY CALLS DEPTH WARMUP TOOL ARGS -- CMD...: RUNS runs, median kept
one() {
	case_id=$1 server=$2 key=$3 calls=$4 depth=$5 warmup=$6 tool=$7 args=$8
	shift 9
	tmp=$OUT/runs.tmp
	: >"$tmp"
	i=0
	while [ $i -lt "$RUNS" ]; do
		# shellcheck disable=SC2086
		if ! $DPIN "$OUT/driver" $SPIN_ARG --json --label "$case_id" --tool "$tool" \
			--args "$args" --calls "$calls" --depth "$depth" --warmup "$warmup" \
			--max-ms "$MAX_MS" \
			-- $SRV_PIN "$@" >"$OUT/run.out"; then
			say "   $server $case_id: run failed (see above)"
		fi
		sed -n '1p' "$OUT/run.out" | sed "s/^/   $server: /" >&2
		grep '^{' "$OUT/run.out" >>"$tmp" || true
		i=$((i + 1))
	done
	if [ -s "$tmp" ]; then
		median_line "$key" <"$tmp" | sed "s/^{/{\"server\":\"$server\",\"case\":\"$case_id\",/" >>"$RES"
	fi
}

# startup CASE SERVER -- CMD...: --calls 0, median of max(RUNS, 5) runs by init time
startup() {
	case_id=$1 server=$2
	shift 3
	tmp=$OUT/runs.tmp
	: >"$tmp"
	n=$RUNS
	[ "$n" -lt 5 ] && n=5
	i=0
	while [ $i -lt "$n" ]; do
		# shellcheck disable=SC2086
		$DPIN "$OUT/driver" --json --label "$case_id" --calls 0 --settle-ms 500 \
			-- $SRV_PIN "$@" >"$OUT/run.out" || say "   $server startup: run failed"
		sed -n '1p' "$OUT/run.out" | sed "s/^/   $server: /" >&2
		grep '^{' "$OUT/run.out" >>"$tmp" || true
		i=$((i + 1))
	done
	if [ -s "$tmp" ]; then
		median_line init_ms <"$tmp" | sed "s/^{/{\"server\":\"$server\",\"case\":\"$case_id\",/" >>"$RES"
	fi
}

CT="$CTXD $FX"
RF="node $REF_JS $FX"
R4K="{\"path\":\"$FX/text_4k.txt\"}"
R1M="{\"path\":\"$FX/text_1m.txt\"}"
L100="{\"path\":\"$FX/dir100\"}"
SRCH="{\"path\":\"$FX/tree\",\"pattern\":\"**/*needle*\"}"
T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

say "== start-up and idle RSS"
startup startup ctxd -- $CT
startup startup reference -- $RF
startup startup ceiling -- "$OUT/ceiling"

say "== read_text_file 4 KiB, depth 1"
one read4k_d1 ctxd calls_per_s "$(scaled 50000)" 1 1000 read_text_file "$R4K" -- $CT
one read4k_d1 reference calls_per_s 2000 1 200 read_text_file "$R4K" -- $RF
one read4k_d1 ceiling calls_per_s 50000 1 1000 x '{}' -- "$OUT/ceiling" 4096

say "== read_text_file 4 KiB, depth 16"
one read4k_d16 ctxd calls_per_s "$(scaled 200000)" 16 2000 read_text_file "$R4K" -- $CT
one read4k_d16 reference calls_per_s 4000 16 200 read_text_file "$R4K" -- $RF
one read4k_d16 ceiling calls_per_s 200000 16 2000 x '{}' -- "$OUT/ceiling" 4096

say "== list_directory, 100 entries, depth 16"
one list100_d16 ctxd calls_per_s "$(scaled 100000)" 16 2000 list_directory "$L100" -- $CT
one list100_d16 reference calls_per_s 4000 16 200 list_directory "$L100" -- $RF

say "== read_text_file 1 MiB, depth 16"
# ctxd caps a read at limits.read_bytes (256 KiB by default): raise it so that both servers
# return the whole file.
one read1m_d16 ctxd calls_per_s "$(scaled 2000)" 16 20 read_text_file "$R1M" \
	-- $CTXD --max-read 4MiB $FX
one read1m_d16 reference calls_per_s 100 16 5 read_text_file "$R1M" -- $RF
one read1m_d16 ceiling calls_per_s 2000 16 20 x '{}' -- "$OUT/ceiling" 1048576

say "== search_files over 10,000 files, depth 1"
one search_d1 ctxd calls_per_s "$(scaled 200)" 1 5 search_files "$SRCH" -- $CT
one search_d1 reference calls_per_s 5 1 1 search_files "$SRCH" -- $RF

T1=$(date +%s)
say "== done in $((T1 - T0)) s"

# ---- report ----
table() {
	awk '
	function get(line, key,    m) {
		if (match(line, "\"" key "\":\"[^\"]*\"")) return substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
		if (match(line, "\"" key "\":[-0-9.]+")) return substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
		return ""
	}
	function num(v, d) { return v == "" ? "n/a" : sprintf("%." d "f", v) }
	function grp(v,    s, neg) {
		if (v == "") return "n/a"
		s = sprintf("%.0f", v); neg = ""
		while (length(s) > 3) { neg = "," substr(s, length(s) - 2) neg; s = substr(s, 1, length(s) - 3) }
		return s neg
	}
	function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0 || a + 0 == 0) ? "n/a" : sprintf("%.1fx", a / b) }
	function mib(k) { return k == "" ? "n/a" : sprintf("%.1f MiB", k / 1024) }
	{ k = get($0, "server") SUBSEP get($0, "case"); L[k] = $0 }
	function f(srv, c, key) { return (srv SUBSEP c) in L ? get(L[srv SUBSEP c], key) : "" }
	function tput(c, label, target, tcheck, tp99,    a, b, z, met, note) {
		a = f("ctxd", c, "calls_per_s"); b = f("reference", c, "calls_per_s"); z = f("ceiling", c, "calls_per_s")
		met = ""
		if (tcheck != "" && a != "") {
			met = (a + 0 >= tcheck + 0) ? "yes" : "**no**"
			if (tp99 != "" && f("ctxd", c, "p99_ms") + 0 >= tp99 + 0) met = "**no** (p99)"
		}
		if (a != "" && f("ctxd", c, "errors") + 0 > 0) note = " (" f("ctxd", c, "errors") " errors)"
		printf "| %s, calls/s | %s%s | %s | %s | %s | %s | %s |\n", label, grp(a), note, grp(b), ratio(a, b), grp(z), target, met
		printf "| %s, p50 / p99 ms | %s / %s | %s / %s | %s | %s / %s | | |\n", label,
			num(f("ctxd", c, "p50_ms"), 3), num(f("ctxd", c, "p99_ms"), 3),
			num(f("reference", c, "p50_ms"), 2), num(f("reference", c, "p99_ms"), 2),
			ratio(f("reference", c, "p99_ms"), f("ctxd", c, "p99_ms")),
			num(f("ceiling", c, "p50_ms"), 3), num(f("ceiling", c, "p99_ms"), 3)
		printf "| %s, peak RSS | %s | %s | %s | %s | | |\n", label,
			mib(f("ctxd", c, "peak_rss_kib")), mib(f("reference", c, "peak_rss_kib")),
			ratio(f("reference", c, "peak_rss_kib"), f("ctxd", c, "peak_rss_kib")),
			mib(f("ceiling", c, "peak_rss_kib"))
	}
	END {
		print "| workload | ctxd | reference | ratio | pipe ceiling | target | met |"
		print "|---|---:|---:|---:|---:|---|---|"
		a = f("ctxd", "startup", "init_ms"); b = f("reference", "startup", "init_ms")
		printf "| start-up: fork to initialize answer | %s ms | %s ms | %s | %s ms | <= 5 ms | %s |\n",
			num(a, 2), num(b, 1), ratio(b, a), num(f("ceiling", "startup", "init_ms"), 2),
			a == "" ? "" : (a + 0 <= 5 ? "yes" : "**no**")
		a = f("ctxd", "startup", "rss_kib"); b = f("reference", "startup", "rss_kib")
		printf "| idle RSS (VmRSS after 0.5 s) | %s | %s | %s | %s | <= 4 MB (3,906 KiB) | %s |\n",
			mib(a), mib(b), ratio(b, a), mib(f("ceiling", "startup", "rss_kib")),
			a == "" ? "" : (a * 1024 <= 4000000 ? "yes" : "**no**")
		a = f("ctxd", "startup", "exit_ms"); b = f("reference", "startup", "exit_ms")
		printf "| exit after stdin EOF | %s ms | %s ms | %s | %s ms | | |\n",
			num(a, 2), num(b, 1), ratio(b, a), num(f("ceiling", "startup", "exit_ms"), 2)
		tput("read4k_d1", "read_text_file 4 KiB, depth 1", ">= 30,000/s, p99 < 1 ms", 30000, 1)
		tput("read4k_d16", "read_text_file 4 KiB, depth 16", ">= 100,000/s, p99 < 1 ms", 100000, 1)
		tput("list100_d16", "list_directory 100 entries, depth 16", "", "", "")
		tput("read1m_d16", "read_text_file 1 MiB, depth 16", "", "", "")
		tput("search_d1", "search_files 10,000 files, depth 1", "", "", "")
		a = f("ctxd", "search_d1", "p50_ms")
		printf "| search_files 10,000 files: one search (p50) | %s ms | %s ms | %s | | <= 20 ms | %s |\n",
			num(a, 2), num(f("reference", "search_d1", "p50_ms"), 0),
			ratio(f("reference", "search_d1", "p50_ms"), a),
			a == "" ? "" : (a + 0 <= 20 ? "yes" : "**no**")
		print ""
		print "Mean answer size (bytes), ctxd / reference: read 4 KiB " \
			grp(f("ctxd", "read4k_d16", "resp_bytes")) " / " grp(f("reference", "read4k_d16", "resp_bytes")) \
			"; list 100 " grp(f("ctxd", "list100_d16", "resp_bytes")) " / " grp(f("reference", "list100_d16", "resp_bytes")) \
			"; read 1 MiB " grp(f("ctxd", "read1m_d16", "resp_bytes")) " / " grp(f("reference", "read1m_d16", "resp_bytes")) \
			"; search " grp(f("ctxd", "search_d1", "resp_bytes")) " / " grp(f("reference", "search_d1", "resp_bytes")) "."
		print ""
		print "Calls per run, ctxd / reference: read 4 KiB d1 " f("ctxd", "read4k_d1", "calls") " / " f("reference", "read4k_d1", "calls") \
			"; d16 " f("ctxd", "read4k_d16", "calls") " / " f("reference", "read4k_d16", "calls") \
			"; list " f("ctxd", "list100_d16", "calls") " / " f("reference", "list100_d16", "calls") \
			"; read 1 MiB " f("ctxd", "read1m_d16", "calls") " / " f("reference", "read1m_d16", "calls") \
			"; search " f("ctxd", "search_d1", "calls") " / " f("reference", "search_d1", "calls") \
			" (measured calls of the kept runs)."
	}' "$RES"
}

TABLE=$(table)
printf '%s\n' "$TABLE"

if [ "$RESULTS" != "-" ]; then
	CPU=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1)
	CTXD_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
	if [ -n "$DPIN" ]; then
		PIN="driver pinned to CPU 0, server (all its threads) to CPU 1 with taskset"
	else
		PIN="no pinning (taskset missing or a single CPU)"
	fi
	if [ "$SPIN" = 1 ]; then
		SPINTXT="the driver busy-polls for answers (--spin), so its own wake-up latency stays out of the figures"
	else
		SPINTXT="the driver sleeps in poll(2) between answers"
	fi
	{
		echo "# Benchmark results"
		echo
		echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`$CMDLINE\` in $((T1 - T0)) s."
		echo
		echo "- Machine: $(nproc) CPUs, $CPU, kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)."
		echo "- Load average (1, 5, 15 min) at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
		echo "- ctxd: $CTXD (git $CTXD_REV, meson --buildtype=release); reference:"
		echo "  @modelcontextprotocol/server-filesystem $REF_VERSION on Node $(node --version)."
		echo "- $PIN;"
		echo "  $SPINTXT."
		echo "- Each figure is the run with the median calls/s of $RUNS runs (start-up: median init time of"
		echo "  at least 5 runs); every run starts a fresh server, sends unmeasured warm-up calls, then the"
		echo "  measured calls (up to the count below, sending for at most $MAX_MS ms). Ratios are ctxd's"
		echo "  advantage: calls/s ctxd/reference, latency and RSS reference/ctxd. \"pipe ceiling\" is"
		echo "  bench/ceiling.c, which does no work and answers each call with a text of the payload size"
		echo "  (4 KiB or 1 MiB) twice, as content and as structuredContent (the servers' answer shape):"
		echo "  about the most this driver, these pipes and this CPU pair allow for answers of that size."
		echo "- 1 MiB reads: ctxd caps a read at limits.read_bytes (256 KiB by default), so that case runs"
		echo "  ctxd with \`--max-read 4MiB\` (the CLI form of limits.read_bytes); both servers then return"
		echo "  the whole file, as text and again as structuredContent (compare the answer sizes below)."
		echo
		printf '%s\n' "$TABLE"
		# the other benchmarks' sections (from the first "## " heading on) stay as they are
		if [ -f "$RESULTS" ]; then
			echo
			sed -n '/^## /,$p' "$RESULTS"
		fi
	} >"$RESULTS.tmp"
	mv "$RESULTS.tmp" "$RESULTS"
	say "== wrote $RESULTS"
fi
