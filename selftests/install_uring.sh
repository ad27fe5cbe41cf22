#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: make install puts libhugeslab-uring next to libhugeslab -
# <hugeslab/uring.h>, the static and shared libraries, hugeslab-uring.pc
# and hugeslab_uring(3) - and an example built with
# `pkg-config --cflags --libs hugeslab-uring` against the installed tree
# links and runs; libhugeslab itself does not depend on liburing (its
# shared library needs no liburing, and a program using only it builds
# without liburing's header or library). Run from the top of the tree
# after make. Prints TAP; exits non-zero on failure.
set -u
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }
check() { name=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$name"; else sed 's/^/# /' "$tmp/log"; notok "$name"; fi; }

echo "TAP version 13"
echo "1..8"

p=$tmp/prefix
check "install PREFIX" make -s --no-print-directory -C "$top" install PREFIX="$p"
check "installed files" test -f "$p/include/hugeslab/uring.h" -a \
	-f "$p/include/hugeslab.h" -a \
	-f "$p/lib/libhugeslab-uring.a" -a \
	-L "$p/lib/libhugeslab-uring.so" -a \
	-L "$p/lib/libhugeslab-uring.so.1" -a \
	-f "$p/lib/libhugeslab-uring.so.1.1.0" -a \
	-f "$p/lib/pkgconfig/hugeslab-uring.pc" -a \
	-f "$p/share/man/man3/hugeslab_uring.3"
flags=$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags --libs hugeslab-uring)
check "pkg-config hugeslab-uring names both libraries" sh -c \
	"echo '$flags' | grep -q -- -lhugeslab-uring && echo '$flags' | grep -q -- '-lhugeslab\\( \\|\$\\)' && echo '$flags' | grep -q -- -luring"
check "pkg-config build of uring_copy" cc "$top/examples/uring_copy.c" $flags \
	-o "$tmp/uring_copy"
# A copy of this very script, through the installed libraries.
check "runs against the installed libraries" env LD_LIBRARY_PATH="$p/lib" \
	HUGESLAB_BACKEND=pages "$tmp/uring_copy" --size 4096 --depth 2 \
	"$top/selftests/install_uring.sh" "$tmp/copied"
check "links the installed libhugeslab-uring.so.1" sh -c \
	"LD_LIBRARY_PATH='$p/lib' ldd '$tmp/uring_copy' | grep -q '$p/lib/libhugeslab-uring.so.1'"
check "libhugeslab.so does not need liburing" sh -c \
	"! readelf -d '$p/lib/libhugeslab.so.1' | grep -q liburing"
# The plain library's header and pkg-config name stand without liburing.
cat >"$tmp/plain.c" <<'EOF2'
#include <hugeslab.h>
int main(void) { return hs_pool_create("plain", 64, 0) ? 0 : 1; }
EOF2
check "libhugeslab alone builds without liburing" sh -c \
	"cc '$tmp/plain.c' \$(PKG_CONFIG_PATH='$p/lib/pkgconfig' pkg-config --cflags --libs hugeslab) -o '$tmp/plain' && ! readelf -d '$tmp/plain' | grep -q liburing && LD_LIBRARY_PATH='$p/lib' HUGESLAB_BACKEND=pages '$tmp/plain'"

echo "# Totals: pass:$((n - fail)) fail:$fail skip:0"
[ $fail = 0 ]
