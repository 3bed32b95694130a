#!/bin/sh
# http_idle_rss.sh SERVER ROOT [DRIVER] [N]: the RSS of an MCP Streamable HTTP server before
# and after N (default 1,000) idle 2025-11-25 sessions, each initialized and its connection
# closed. SERVER is a ctxd binary (run as SERVER --http 127.0.0.1:0 ROOT) or a .mjs file (run
# as node SERVER ROOT 0: bench/ts_http_server.mjs). Prints one line.
set -eu
SERVER=$1; ROOT=$2; D=${3:-/tmp/http_driver}; N=${4:-1000}
tmp=$(mktemp -d)
case $SERVER in
*.mjs)
	node "$SERVER" "$ROOT" 0 >"$tmp/log" 2>&1 &
	pat="listening on port "
	;;
*)
	"$SERVER" --http 127.0.0.1:0 -l info "$ROOT" 2>"$tmp/log" &
	pat="(port "
	;;
esac
pid=$!
i=0
while ! grep -q "$pat" "$tmp/log"; do
	i=$((i + 1))
	[ $i -lt 400 ] || { cat "$tmp/log" >&2; kill $pid; exit 1; }
	sleep 0.05
done
P=$(grep -o "$pat[0-9]*" "$tmp/log" | head -n 1 | sed "s/$pat//")
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
# idle DRIVER_OUTPUT COUNT: open COUNT sessions (the driver holds no connection open after
# each initialize), wait for its "ready"; it exits at EOF on the fifo
dpids=""
idle() {
	$D --port "$P" --idle "$2" <"$tmp/fifo" >"$1" 3>&- &
	dpids="$dpids $!"
	while ! grep -q ready "$1" 2>/dev/null; do sleep 0.05; done
}
mkfifo "$tmp/fifo"
exec 3<>"$tmp/fifo" # the one writer: closing it ends the drivers
# warm: 10 sessions first (the first engine's one-time allocations)
idle "$tmp/out1" 10
a=$(rss)
idle "$tmp/out2" "$N"
b=$(rss)
exec 3>&-
for d in $dpids; do wait "$d" || true; done
kill $pid
wait $pid 2>/dev/null || true
echo "RSS with 10 sessions: $a KiB; with $((N + 10)): $b KiB; per idle session: $(( (b - a) * 1024 / N )) bytes"
rm -rf "$tmp"
