#!/bin/sh
# http_bench.sh - ctxd over Streamable HTTP next to ctxd over stdio and the official
# TypeScript SDK's Streamable HTTP server (issue 16), in one run: CLIENTS concurrent clients on
# loopback, one tools/call read_text_file of a 4 KiB file in flight per client, calls/s and
# p50/p99; then the RSS of IDLE idle 2025-11-25 sessions.
#
#   ctxd http stateless   2026-07-28 era: stateless POSTs with _meta (bench/http_driver.c)
#   ts   http stateless   the SDK's stateless example: a McpServer + transport per POST; the
#                         same body, MCP-Protocol-Version 2025-11-25 (the SDK's newest)
#   ctxd http sessions    2025-11-25 era: one session per client (initialize first)
#   ts   http sessions    the SDK's per-session example (JSON responses), same requests
#   ctxd stdio            the same calls over stdio, CLIENTS in flight (bench/driver.c)
#
# The five are interleaved: each of RUNS rounds runs every one once, against the same two
# long-lived HTTP servers (a fresh ctxd for stdio each round); the figure kept per line is the
# round with the median calls/s, all rounds are listed too. The TypeScript server is
# bench/ts_http_server.mjs on @modelcontextprotocol/sdk pinned in bench/package.json
# (npm ci into bench/node_modules when needed); it is one Node process (one thread for
# JavaScript), ctxd one process with its loop thread and pool. Nothing is pinned to a CPU.
#
# Prints the table and writes it, with the machine facts and the load average before and
# after, between the http_bench.sh markers of bench/RESULTS.md's HTTP section.
#
# Environment:
#   RUNS=3 CLIENTS=64 CALLS=20000 WARMUP=2000 IDLE=1000
#   SCALE=1       multiply CALLS, WARMUP and IDLE (e.g. 0.05 for a smoke run)
#   PEER=1        0: leave the TypeScript SDK peer out (no Node needed)
#   CTXD=PATH     use this ctxd instead of building bench/build-release
#   RESULTS=PATH  where to write (default bench/RESULTS.md; "-": do not write)
# usage: sh bench/http_bench.sh
set -eu
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$BENCH")
OUT=$BENCH/out
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-64}
SCALE=${SCALE:-1}
PEER=${PEER:-1}
RESULTS=${RESULTS:-$BENCH/RESULTS.md}
scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }
CALLS=$(scaled "${CALLS:-20000}")
WARMUP=$(scaled "${WARMUP:-2000}")
IDLE=$(scaled "${IDLE:-1000}")
CMDLINE="RUNS=$RUNS CLIENTS=$CLIENTS CALLS=${CALLS} WARMUP=$WARMUP IDLE=$IDLE PEER=$PEER${CTXD:+ CTXD=$CTXD} sh bench/http_bench.sh"
say() { printf '%s\n' "$*" >&2; }

mkdir -p "$OUT"
cc -O2 -o "$OUT/http_driver" "$BENCH/http_driver.c"
cc -O2 -o "$OUT/driver" "$BENCH/driver.c"
if [ -z "${CTXD:-}" ]; then
	[ -f "$BENCH/build-release/build.ninja" ] ||
		(cd "$ROOT" && meson setup bench/build-release --buildtype=release >&2)
	ninja -C "$BENCH/build-release" ctxd >&2
	CTXD=$BENCH/build-release/ctxd
fi
if [ "$PEER" = 1 ]; then
	SDK=$BENCH/node_modules/@modelcontextprotocol/sdk/package.json
	if [ ! -f "$SDK" ] || [ ! -f "$BENCH/node_modules/.package-lock.json" ] ||
		[ -n "$(find "$BENCH/package-lock.json" -newer "$BENCH/node_modules/.package-lock.json")" ]; then
		say "== npm ci (bench/package-lock.json)"
		(cd "$BENCH" && npm ci --no-audit --no-fund >&2)
	fi
	SDK_VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$SDK" | head -n 1)
fi

# the 4 KiB file: bench/fixtures.sh's text_4k.txt, alone in a directory
[ -f "$BENCH/fx/text_4k.txt" ] || sh "$BENCH/fixtures.sh" "$BENCH/fx" >&2
dir=$(mktemp -d)
cp "$BENCH/fx/text_4k.txt" "$dir/a.txt"
res=$dir/results.jsonl
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
say "machine: $(nproc) CPUs, load $LOAD0"

# wait_port LOGFILE PATTERN: the port a server printed (after PATTERN)
wait_port() {
	i=0
	while ! grep -q "$2" "$1"; do
		i=$((i + 1))
		[ $i -lt 400 ] || { say "no port in $1:"; cat "$1" >&2; exit 1; }
		sleep 0.05
	done
	grep -o "$2[0-9]*" "$1" | head -n 1 | sed "s/$2//"
}

"$CTXD" --http 127.0.0.1:0 -l info "$dir" 2>"$dir/ctxd.log" &
CPID=$!
pids="$pids $CPID"
CPORT=$(wait_port "$dir/ctxd.log" "(port ")
if [ "$PEER" = 1 ]; then
	node "$BENCH/ts_http_server.mjs" "$dir" 0 >"$dir/ts.log" 2>&1 &
	TPID=$!
	pids="$pids $TPID"
	TPORT=$(wait_port "$dir/ts.log" "listening on port ")
fi

TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hd() { # hd LABEL PORT PID ARGS...: one HTTP run, its JSON line (with the server's CPU time
	# per call, warm-up included) appended to $res
	l=$1 p=$2 sp=$3
	shift 3
	c0=$(cpu_ticks "$sp")
	"$OUT/http_driver" --port "$p" --clients "$CLIENTS" --calls "$CALLS" --warmup "$WARMUP" \
		--path a.txt --label "$l" --json "$@" >"$dir/one" || say "$l: some calls failed"
	c1=$(cpu_ticks "$sp")
	head -n 1 "$dir/one" >&2
	us=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v n=$((CALLS + WARMUP)) \
		'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')
	sed -n 2p "$dir/one" | sed "s/}\$/,\"cpu_us\":$us}/" >>"$res"
}
r=1
while [ $r -le "$RUNS" ]; do
	say "== round $r of $RUNS (load $(cut -d' ' -f1 /proc/loadavg))"
	hd "ctxd http stateless" "$CPORT" "$CPID"
	[ "$PEER" = 1 ] && hd "ts http stateless" "$TPORT" "$TPID" --version 2025-11-25
	hd "ctxd http sessions" "$CPORT" "$CPID" --sessions
	[ "$PEER" = 1 ] && hd "ts http sessions" "$TPORT" "$TPID" --sessions
	"$OUT/driver" --tool read_text_file --args "{\"path\":\"$dir/a.txt\"}" --calls "$CALLS" \
		--warmup "$WARMUP" --depth "$CLIENTS" --label "ctxd stdio" --json -- "$CTXD" "$dir" \
		>"$dir/one" || say "stdio: some calls failed"
	head -n 1 "$dir/one" >&2
	# driver.c's server_cpu_s: the whole process, start-up and warm-up included
	sed -n 2p "$dir/one" | awk -v n=$((CALLS + WARMUP)) '{
		match($0, /"server_cpu_s":[0-9.]+/)
		cpu = substr($0, RSTART + 15, RLENGTH - 15)
		sub(/}$/, sprintf(",\"cpu_us\":%.1f}", cpu * 1e6 / n)); print }' >>"$res"
	r=$((r + 1))
done
for p in $pids; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=""

# idle sessions: RSS after 10 and after 10 + IDLE (bench/http_idle_rss.sh)
RSS_CTXD=$(sh "$BENCH/http_idle_rss.sh" "$CTXD" "$dir" "$OUT/http_driver" "$IDLE")
say "ctxd: $RSS_CTXD"
RSS_TS=""
if [ "$PEER" = 1 ]; then
	RSS_TS=$(sh "$BENCH/http_idle_rss.sh" "$BENCH/ts_http_server.mjs" "$dir" "$OUT/http_driver" "$IDLE")
	say "ts: $RSS_TS"
fi
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
T1=$(date +%s)

# the table: per line, the round with the median calls/s, then every round
TABLE=$(python3 - "$res" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        j = json.loads(line)
        rows.setdefault(j["label"], []).append(j)
targets = []
order = ["ctxd http stateless", "ts http stateless", "ctxd http sessions", "ts http sessions",
         "ctxd stdio"]
print("| | calls/s | p50 ms | p99 ms | server CPU us/call | errors | every round: calls/s (p99 ms) |")
print("|---|---:|---:|---:|---:|---:|---|")
for k in order:
    if k not in rows:
        continue
    rs = rows[k]
    m = sorted(rs, key=lambda j: j["calls_per_s"])[len(rs) // 2]
    every = ", ".join("%s (%.2f)" % (format(round(j["calls_per_s"]), ","), j["p99_ms"]) for j in rs)
    print("| %s | %s | %.2f | %.2f | %.1f | %d | %s |" % (k, format(round(m["calls_per_s"]), ","),
          m["p50_ms"], m["p99_ms"], m["cpu_us"], sum(j.get("errors", 0) for j in rs), every))
    if k.startswith("ctxd http"):
        ok = m["calls_per_s"] >= 20000 and m["p99_ms"] < 5
        targets.append("%s %s" % (k[5:], "met" if ok else "not met"))
print()
print("Target >= 20,000 calls/s with p99 < 5 ms (issue 16), median rounds: " + "; ".join(targets) + ".")
EOF
)
printf '%s\n\n' "$TABLE"
printf 'RSS of idle sessions: ctxd: %s\n' "$RSS_CTXD"
[ -z "$RSS_TS" ] || printf '                      ts:   %s\n' "$RSS_TS"

if [ "$RESULTS" != "-" ]; then
	CPU=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1)
	REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
	{
		echo "<!-- http_bench.sh: begin (this block is rewritten by bench/http_bench.sh) -->"
		echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`$CMDLINE\` in $((T1 - T0)) s."
		echo
		echo "- Machine: $(nproc) CPUs, $CPU, kernel $(uname -r); load average (1, 5, 15 min)"
		echo "  before: $LOAD0; after: $LOAD1. Driver and servers share the CPUs (no pinning)."
		if [ -n "${SDK_VERSION:-}" ]; then
			echo "- ctxd: $CTXD (git $REV); peer: bench/ts_http_server.mjs on"
			echo "  @modelcontextprotocol/sdk $SDK_VERSION, Node $(node --version)."
		else
			echo "- ctxd: $CTXD (git $REV)."
		fi
		echo "- $CLIENTS clients, each one keep-alive connection with one call in flight; $WARMUP warm-up"
		echo "  calls, then $CALLS measured; $RUNS interleaved round(s), the round with the median calls/s"
		echo "  shown. stdio: one ctxd, $CLIENTS calls in flight on its pipe. Server CPU: user + system"
		echo "  time of the server process (all threads) over the driver's run, warm-up included, per"
		echo "  call (stdio: the whole process, start-up included); the clock tick is 10 ms."
		echo
		printf '%s\n' "$TABLE"
		echo
		echo "RSS of $IDLE idle 2025-11-25 sessions (bench/http_idle_rss.sh: VmRSS after 10 sessions"
		echo "and after $((IDLE + 10)), each session initialized and its connection closed):"
		echo
		echo "- ctxd: $RSS_CTXD (target <= 16 KiB per idle session: $(echo "$RSS_CTXD" |
			awk '{ print ($NF == "bytes" && $(NF - 1) <= 16384) ? "met" : "not met" }'))"
		[ -z "$RSS_TS" ] || echo "- TypeScript SDK peer: $RSS_TS"
		echo "<!-- http_bench.sh: end -->"
	} >"$dir/block"
	python3 - "$RESULTS" "$dir/block" <<'EOF'
import sys
path, block = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read()
b, e = "<!-- http_bench.sh: begin", "<!-- http_bench.sh: end -->"
if b in text and e in text:
    i, j = text.index(b), text.index(e) + len(e) + 1
    text = text[:i] + block + text[j:]
else:
    text = text.rstrip("\n") + "\n\n## Streamable HTTP (issue 16)\n\n" + block
open(path, "w").write(text)
EOF
	say "== wrote $RESULTS"
fi
