#!/bin/sh
# Build the core library optimised (its own meson dir, no sanitizers), link the skills
# benchmark against it and run it. Usage: bench/skills_bench.sh [N=1000]
set -e
cd "$(dirname "$0")/.."
bd=build-skills-bench
[ -d "$bd" ] || meson setup "$bd" --buildtype=release >/dev/null
# the layer libraries, highest first (meson.build)
libs="libctxd_runtime.a libctxd_protocol.a libctxd_tools.a libctxd_stores.a libctxd_platform.a libctxd_base.a"
ninja -C "$bd" $libs >/dev/null
out="$bd/skills_bench"
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -I"$bd" -o "$out" bench/skills_bench.c \
	$(for l in $libs; do printf '%s/%s ' "$bd" "$l"; done) \
	$(pkg-config --libs jansson yaml-0.1 nettle libpcre2-8 2>/dev/null || echo -ljansson -lyaml -lnettle -lpcre2-8) \
	-lunistring -lev -lpthread -lm
exec "$out" "$@"
