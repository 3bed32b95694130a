#!/bin/sh
# http_idle_rss.sh CTXD ROOT [DRIVER]: RSS of ctxd --http before and after 1,000 idle 2025-11-25 sessions
set -eu
CTXD=$1; ROOT=$2; D=${3:-/tmp/http_driver}
log=$(mktemp)
"$CTXD" --http 127.0.0.1:0 -l info "$ROOT" 2>"$log" &
pid=$!
while ! grep -q "(port" "$log"; do sleep 0.05; done
P=$(grep -o "port [0-9]*" "$log" | cut -d' ' -f2)
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
# warm: 10 sessions first (the first engine's one-time allocations)
mkfifo /tmp/idle_fifo.$$
$D --port $P --idle 10 < /tmp/idle_fifo.$$ > /tmp/idle_out.$$ & d1=$!
exec 3>/tmp/idle_fifo.$$
while ! grep -q ready /tmp/idle_out.$$; do sleep 0.05; done
a=$(rss)
$D --port $P --idle 1000 < /tmp/idle_fifo.$$ > /tmp/idle_out2.$$ 3>&- & d2=$!
while ! grep -q ready /tmp/idle_out2.$$ 2>/dev/null; do sleep 0.05; done
b=$(rss)
exec 3>&-
wait $d1 $d2 || true
kill $pid; wait $pid || true
echo "RSS with 10 sessions: $a KiB; with 1,010: $b KiB; per idle session: $(( (b - a) * 1024 / 1000 )) bytes"
rm -f /tmp/idle_fifo.$$ /tmp/idle_out.$$ /tmp/idle_out2.$$ "$log"
