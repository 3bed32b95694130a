#!/bin/sh
# Build ctxd and run it on examples/workspace, driven through a scripted MCP session that
# prints each tool's answer.   usage: sh scripts/demo.sh
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec python3 scripts/demo.py build/ctxd examples/workspace
