#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: real programs nobody here wrote, on the malloc drop-in, each
# asserting its own results: CPython's regression tests, Redis, sqlite3, a
# C++ program using the standard containers. Run from the top of the tree
# after make, with HUGESLAB_BACKEND naming the backend (hugetlb, thp):
#
#   selftests/programs/run.sh [BUILD]      (BUILD: default build)
#
# Prints TAP, one line per program, with each program's own TAP indented;
# the drop-in must be the backend asked for, which the first line checks.
set -u
BUILD=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
DROPIN=$(cd "$BUILD/lib" && pwd)/libhugeslab-malloc.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
echo "TAP version 13"
echo "1..5"

# The backend is what was asked for: a heap on it shows in smaps.
prog() { # NAME COMMAND...
	name=$1
	shift
	"$@" >"$tmp/out" 2>&1
	rc=$?
	sed 's/^/# /' "$tmp/out" | grep -v '^# ok '
	n=$((n + 1))
	if [ $rc = 0 ]; then
		echo "ok $n $name"
	else
		fail=$((fail + 1))
		echo "not ok $n $name # exit $rc"
	fi
}

check_backend() {
	env LD_PRELOAD="$DROPIN" /usr/bin/python3 -c '
import os, sys
want = os.environ.get("HUGESLAB_BACKEND", "")
# Over 512 bytes, so through malloc rather than pymalloc: 40 MB.
x = [bytearray(1000) for _ in range(40000)]
smaps = open("/proc/self/smaps").read()
huge = sum(int(l.split()[1]) for l in smaps.splitlines()
           if l.startswith(("Private_Hugetlb:", "AnonHugePages:")))
maps = open("/proc/self/maps").read()
if "libhugeslab-malloc" not in maps:
    sys.exit("the drop-in is not loaded")
if want in ("hugetlb", "thp") and huge < 16 * 1024:
    sys.exit("backend %s: only %d kB of huge pages" % (want, huge))
print("backend", want, "huge pages", huge, "kB")
'
}

prog "drop-in loaded, heap on ${HUGESLAB_BACKEND:-auto}" check_backend
prog "CPython regression tests" sh "$here/cpython.sh" "$DROPIN" "$BUILD/selftests/programs/cpython-glibc"
prog "Redis" sh "$here/redis.sh" "$DROPIN"
prog "sqlite3" sh "$here/sqlite.sh" "$DROPIN"
prog "C++ standard containers" env LD_PRELOAD="$DROPIN" "$BUILD/selftests/programs/cxx"
echo "# Totals: pass:$((n - fail)) fail:$fail skip:0"
[ $fail = 0 ]
