#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: make install honours PREFIX and DESTDIR, and a program built
# with `cc app.c $(pkg-config --cflags --libs hugeslab)` against the
# installed tree links and runs. Run from the top of the tree after make.
# Prints TAP; exits non-zero on failure.
set -u
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }
check() { name=$1; shift; if "$@" >"$tmp/log" 2>&1; then ok "$name"; else sed 's/^/# /' "$tmp/log"; notok "$name"; fi; }

echo "TAP version 13"
echo "1..12"

# PREFIX only: a tree a user could add to their paths.
check "install PREFIX" make -s --no-print-directory -C "$top" install PREFIX="$tmp/prefix"
check "installed files" test -f "$tmp/prefix/include/hugeslab.h" -a \
	-f "$tmp/prefix/include/linux/hugeslab.h" -a \
	-f "$tmp/prefix/lib/libhugeslab.a" -a \
	-L "$tmp/prefix/lib/libhugeslab.so" -a \
	-f "$tmp/prefix/lib/libhugeslab.so.1" -a \
	-x "$tmp/prefix/bin/hsstat" -a \
	-f "$tmp/prefix/lib/pkgconfig/hugeslab.pc" -a \
	-f "$tmp/prefix/share/man/man1/hsstat.1" -a \
	-f "$tmp/prefix/share/man/man4/hugeslab.4" -a \
	-f "$tmp/prefix/lib/libhugeslab-malloc.so" -a \
	-f "$tmp/prefix/share/man/man7/hugeslab-malloc.7"
flags=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs hugeslab)
check "pkg-config build (shared)" cc "$top/examples/pools_demo.c" $flags -o "$tmp/demo"
check "runs against the installed library" env LD_LIBRARY_PATH="$tmp/prefix/lib" \
	HUGESLAB_BACKEND=pages "$tmp/demo"
check "links the installed libhugeslab.so.1" sh -c \
	"LD_LIBRARY_PATH='$tmp/prefix/lib' ldd '$tmp/demo' | grep -q '$tmp/prefix/lib/libhugeslab.so.1'"
flags=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --static --cflags --libs hugeslab)
check "pkg-config build (static)" cc -static-libgcc "$top/examples/pools_demo.c" \
	-Wl,-Bstatic $flags -Wl,-Bdynamic -o "$tmp/demo-static"

# A plugin may dlopen() the library: its thread-local data must fit the
# static TLS the loader keeps for that.
cat >"$tmp/dl.c" <<'EOF2'
#include <dlfcn.h>
int main(void)
{
	void *h = dlopen("libhugeslab.so.1", RTLD_NOW);
	void *(*create)(const char *, unsigned long, void *);
	void *(*alloc)(void *);

	if (!h)
		return 1;
	create = (void *(*)(const char *, unsigned long, void *))dlsym(h, "hs_pool_create");
	alloc = (void *(*)(void *))dlsym(h, "hs_pool_alloc");
	return create && alloc && alloc(create("dl", 64, 0)) ? 0 : 2;
}
EOF2
check "dlopen of the installed library" sh -c \
	"cc '$tmp/dl.c' -o '$tmp/dl' -ldl && LD_LIBRARY_PATH='$tmp/prefix/lib' HUGESLAB_BACKEND=pages '$tmp/dl'"

# The public header, inline cache functions included, is clean C++ too.
cat >"$tmp/cxx.cc" <<'EOF2'
#include <hugeslab.h>
int main()
{
	hs_pool_t *p = hs_pool_create("cxx", 64, nullptr);
	hs_cache_t *c = p ? hs_pool_cache(p) : nullptr;
	void *o = c ? hs_cache_alloc(c) : nullptr;

	if (o)
		hs_cache_free(c, o);
	return o ? 0 : 1;
}
EOF2
check "C++ -pedantic build against the header" sh -c \
	"g++ -std=c++11 -pedantic -Wall -Wextra -Werror -I'$tmp/prefix/include' '$tmp/cxx.cc' -L'$tmp/prefix/lib' -lhugeslab -o '$tmp/cxx' && LD_LIBRARY_PATH='$tmp/prefix/lib' HUGESLAB_BACKEND=pages '$tmp/cxx'"

# The installed drop-in replaces malloc in an unmodified program, and the
# plain library does not.
check "LD_PRELOAD of the installed libhugeslab-malloc.so" sh -c \
	"HUGESLAB_BACKEND=pages LD_PRELOAD='$tmp/prefix/lib/libhugeslab-malloc.so' sh -c 'grep -q libhugeslab-malloc /proc/self/maps && ls / >/dev/null'"
check "libhugeslab.so does not export malloc" sh -c \
	"! nm -D --defined-only '$tmp/prefix/lib/libhugeslab.so.1' | grep -qw malloc"

# DESTDIR: a package build stages /usr into a directory.
check "install DESTDIR" make -s --no-print-directory -C "$top" install PREFIX=/usr DESTDIR="$tmp/stage"
check "staged pkg-config file points at /usr" grep -qx 'prefix=/usr' "$tmp/stage/usr/lib/pkgconfig/hugeslab.pc"

echo "# Totals: pass:$((n - fail)) fail:$fail skip:0"
[ $fail = 0 ]
