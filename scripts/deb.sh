#!/bin/sh
# Build the Debian package from this tree (dpkg-buildpackage -us -uc -b, in a scratch copy so
# nothing lands next to the checkout) and check it: the .deb holds the binary, both man pages,
# the example configuration, copyright and changelog; lintian reports no error.
# Progress goes to stderr; the last line on stdout is "deb: N passed, M failed".
# usage: sh scripts/deb.sh [--nocheck | --suites "SUITE..."] [--out DIR]
#   --nocheck     skip the package's build-time tests (DEB_BUILD_OPTIONS=nocheck)
#   --suites LIST run only these meson test suites at build time (default: unit protocol
#                 docs, as debian/rules says)
#   --out DIR     also copy the .deb to DIR
# Without dpkg-buildpackage, dh or lintian it checks nothing ("0 passed, 0 failed"), except
# under CI=true, where that counts as a failure (scripts/deps.sh test installs them).
set -u
cd "$(dirname "$0")/.."
src=$(pwd)
nocheck=""
suites=""
out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--nocheck) nocheck=1 ;;
	--suites) suites=$2; shift ;;
	--out) out=$2; shift ;;
	*) echo "usage: sh scripts/deb.sh [--nocheck | --suites LIST] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "deb: ok: $*" >&2; }
bad() { fail=$((fail + 1)); echo "deb: FAILED: $*" >&2; }
finish() {
	[ -n "${work:-}" ] && rm -rf "$work"
	echo "deb: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

for tool in dpkg-buildpackage dh lintian; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		if [ "${CI:-}" = true ]; then
			bad "$tool is not installed (sh scripts/deps.sh test installs it)"
		else
			echo "deb: skipped: $tool is not installed (apt-get install dpkg-dev debhelper lintian)" >&2
		fi
		finish
	fi
done

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
work=$(mktemp -d "${TMPDIR:-/tmp}/ctxd-deb.XXXXXX")
tree="$work/ctxd-$version"
mkdir -p "$tree"
# The tracked and new (not ignored) files: no build directories, no node_modules.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && xargs -0 cp --parents -t "$tree" 2>/dev/null)
else
	tar -C "$src" --exclude='./build*' --exclude=node_modules -cf - . | tar -C "$tree" -xf -
fi

opts="parallel=2"
[ -n "$nocheck" ] && opts="$opts nocheck"
[ -n "$suites" ] && export CTXD_TEST_SUITES="$suites"
echo "deb: dpkg-buildpackage -us -uc -b in $tree (DEB_BUILD_OPTIONS=$opts${suites:+, test suites: $suites})" >&2
if (cd "$tree" && DEB_BUILD_OPTIONS="$opts" dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	log="${TMPDIR:-/tmp}/ctxd-deb-build.log"
	cp "$work/build.log" "$log"
	tail -40 "$log" >&2
	bad "dpkg-buildpackage -us -uc -b (whole log: $log)"
	finish
fi

deb="$work/ctxd_${version}_${arch}.deb"
listing=$(dpkg-deb -c "$deb" 2>&1)
missing=""
for f in ./usr/bin/ctxd ./usr/share/man/man1/ctxd.1.gz ./usr/share/man/man5/ctxd.yaml.5.gz \
	./usr/share/doc/ctxd/ctxd.example.yaml ./usr/share/doc/ctxd/copyright \
	./usr/share/doc/ctxd/changelog.gz; do
	echo "$listing" | grep -q " $f\$" || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok "$(basename "$deb") holds the binary, man pages, example config, copyright, changelog"
else
	bad "$(basename "$deb") lacks:$missing"
fi

if lintian --fail-on error "$work"/ctxd_*.changes >"$work/lintian.log" 2>&1; then
	ok "lintian: no error ($(grep -c '^W:' "$work/lintian.log") warnings)"
	cat "$work/lintian.log" >&2
else
	cat "$work/lintian.log" >&2
	bad "lintian reports errors"
fi

if [ -n "$out" ]; then
	mkdir -p "$out" && cp "$deb" "$out/" && echo "deb: copied to $out/$(basename "$deb")" >&2
fi
finish
