#!/bin/sh
# Build the core library optimised (its own meson dir, no sanitizers), link the skills
# benchmark against it and run it. Usage: bench/skills_bench.sh [N=1000]
set -e
cd "$(dirname "$0")/.."
bd=build-skills-bench
[ -d "$bd" ] || meson setup "$bd" --buildtype=release >/dev/null
ninja -C "$bd" libctxd.a >/dev/null
out="$bd/skills_bench"
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -I"$bd" -o "$out" bench/skills_bench.c "$bd/libctxd.a" \
	$(pkg-config --libs jansson yaml-0.1 nettle libpcre2-8 2>/dev/null || echo -ljansson -lyaml -lnettle -lpcre2-8) \
	-lev -lpthread -lm
exec "$out" "$@"
