#!/bin/sh
# http_instr.sh CTXD [stateless|sessions] [CLIENTS]: user-space instructions per HTTP call of
# ctxd (all threads, callgrind; independent of the machine's load): ctxd --http under
# valgrind --tool=callgrind, driven by bench/http_driver.c with CLIENTS (default 64) clients
# calling read_text_file on a 4 KiB file, once with 500 + 500 calls and once with 500 + 2500;
# the difference of the two totals over 2,000. Kernel work is not in the count. Note that
# callgrind counts a `rep stos`/`rep movs` (glibc's memset/memcpy of a few KiB and more)
# once per iteration, so such copies weigh more here than in CPU time.
set -eu
CTXD=$1
MODE=${2:-stateless}
CLIENTS=${3:-64}
BENCH=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$BENCH/out"
cc -O2 -o "$BENCH/out/http_driver" "$BENCH/http_driver.c"
[ -f "$BENCH/fx/text_4k.txt" ] || sh "$BENCH/fixtures.sh" "$BENCH/fx" >&2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$BENCH/fx/text_4k.txt" "$dir/a.txt"
extra=""
[ "$MODE" = sessions ] && extra=--sessions
# total CALLS: the instructions of one ctxd run serving 500 warm-up calls and CALLS more
total() {
	: >"$dir/log"
	valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$CTXD" --http 127.0.0.1:0 \
		-l info "$dir" 2>"$dir/log" &
	pid=$!
	while ! grep -q "(port" "$dir/log"; do sleep 0.1; done
	port=$(grep -o "(port [0-9]*" "$dir/log" | head -n 1 | cut -d' ' -f2)
	# shellcheck disable=SC2086
	"$BENCH/out/http_driver" --port "$port" --clients "$CLIENTS" --calls "$1" --warmup 500 \
		$extra --label callgrind >/dev/null
	kill -TERM $pid
	wait $pid || true
	sed -n 's/^summary: //p' "$dir/cg.out"
}
a=$(total 500)
b=$(total 2500)
echo "ctxd http $MODE, $CLIENTS clients: $(((b - a) / 2000)) instructions per call"
