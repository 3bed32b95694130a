#!/bin/sh
# http_bench.sh - ctxd over Streamable HTTP next to stdio (issue 16): 64 concurrent clients on
# loopback calling read_text_file on a 4 KiB file (the stateless 2026-07-28 era, then one
# 2025-11-25 session per client), the same calls over stdio with 64 in flight, and the RSS of
# 1,000 idle sessions. Builds a release ctxd in bench/build-release and the drivers in /tmp.
# usage: sh bench/http_bench.sh
set -eu
cd "$(dirname "$0")/.."
meson setup bench/build-release --buildtype=release >/dev/null 2>&1 || true
ninja -C bench/build-release ctxd >/dev/null
cc -O2 -o /tmp/http_driver bench/http_driver.c
cc -O2 -o /tmp/stdio_driver bench/driver.c
root=$(mktemp -d)
head -c 3072 /dev/urandom | base64 -w 100 | head -c 4096 >"$root/a.txt"
bin=bench/build-release/ctxd
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
log=$(mktemp)
"$bin" --http 127.0.0.1:0 -l info "$root" 2>"$log" &
pid=$!
while ! grep -q "(port" "$log"; do sleep 0.05; done
port=$(grep -o "port [0-9]*" "$log" | cut -d' ' -f2)
/tmp/http_driver --port "$port" --clients 64 --calls 20000 --warmup 2000 --path a.txt --label "http stateless"
/tmp/http_driver --port "$port" --clients 64 --calls 20000 --warmup 2000 --path a.txt --sessions --label "http sessions"
kill "$pid"
wait "$pid" || true
/tmp/stdio_driver --tool read_text_file --args "{\"path\":\"$root/a.txt\"}" --calls 20000 --warmup 2000 --depth 64 --label "stdio depth 64" -- "$bin" "$root"
sh bench/http_idle_rss.sh "$bin" "$root" /tmp/http_driver
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$root" "$log"
