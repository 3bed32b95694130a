#!/bin/sh
# Install what ctxd needs to build and test, where we can (Debian/Ubuntu, as root or with
# passwordless sudo). Prints what is missing and exits 1 when it cannot install it.
# usage: scripts/deps.sh [build|test]
# (build: what `meson setup build && ninja -C build` needs; scdoc is optional there and, when
# present, builds the man pages)
set -eu
want=${1:-build}
pkgs=""
need() { # need COMMAND-OR-HEADER PACKAGE
	case "$1" in
	/*) [ -e "$1" ] || pkgs="$pkgs $2" ;;
	*) command -v "$1" >/dev/null 2>&1 || pkgs="$pkgs $2" ;;
	esac
}
need cc gcc
need meson meson
need ninja ninja-build
need pkg-config pkg-config
need python3 python3
need /usr/include/jansson.h libjansson-dev
need /usr/include/ev.h libev-dev
need /usr/include/yaml.h libyaml-dev
need /usr/include/nettle/sha2.h nettle-dev
need /usr/include/pcre2.h libpcre2-dev
need /usr/include/uninorm.h libunistring-dev
# the Streamable HTTP transport (TLS through GnuTLS)
need /usr/include/microhttpd.h libmicrohttpd-dev
if [ "$want" = test ]; then
	need node nodejs
	need npm npm
	need clang clang
	# static analysis and the format check of the lint suite
	need cppcheck cppcheck
	need clang-format clang-format
	# optional for a plain build: the man pages (scdoc), their lint (groff) and the
	# Debian package that scripts/test.sh builds (dpkg-dev, debhelper, lintian)
	need scdoc scdoc
	need groff groff-base
	need dpkg-buildpackage dpkg-dev
	need dh debhelper
	need lintian lintian
	# the load-balancer test of the HTTP transport (tests/http/nginx.py)
	need /usr/sbin/nginx nginx-light
	# the HTTPS test makes a self-signed certificate (tests/http/httpsec_test.py)
	need openssl openssl
fi
[ -z "$pkgs" ] && exit 0
echo "ctxd: installing missing packages:$pkgs" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	echo "ctxd: not root; install them with: sudo apt-get install$pkgs" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ctxd: no apt-get here; install:$pkgs" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $pkgs >&2
