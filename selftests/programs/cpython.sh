#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: CPython's own regression tests (Debian's
# libpython3.11-testsuite) with PYTHONMALLOC=malloc, so every object goes
# through the malloc drop-in: each test that passes on glibc's malloc must
# pass on it too. test_threading forks running interpreters.
#
#   cpython.sh DROPIN BASELINE_DIR    (HUGESLAB_BACKEND chooses the backend)
# The glibc results are kept in BASELINE_DIR, so a second backend does not
# run them again. Prints TAP; exits non-zero on failure.
set -u
DROPIN=$1
BASE=$2
PY=/usr/bin/python3
TESTS="test_dict test_list test_set test_tuple test_unicode test_bytes
	test_json test_gc test_weakref test_pickle test_re test_collections
	test_itertools test_sort test_threading"
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }
mkdir -p "$BASE"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "TAP version 13"
echo "1..$(echo $TESTS | wc -w)"
for t in $TESTS; do
	base=$BASE/$t.rc
	if [ ! -s "$base" ]; then
		PYTHONMALLOC=malloc $PY -m test -q "$t" >"$BASE/$t.log" 2>&1
		echo $? >"$base"
	fi
	env PYTHONMALLOC=malloc LD_PRELOAD="$DROPIN" $PY -m test -q "$t" \
		>"$tmp/$t.log" 2>&1
	rc=$?
	if [ "$(cat "$base")" != 0 ]; then
		# Failing on glibc already (the machine, not the allocator):
		# it must still not crash on the drop-in.
		if [ $rc -lt 128 ]; then
			ok "$t (fails on glibc too: exit $(cat "$base"), here $rc)"
		else
			tail -20 "$tmp/$t.log" | sed 's/^/# /'
			notok "$t: killed on the drop-in (exit $rc)"
		fi
	elif [ $rc = 0 ]; then
		ok "$t"
	else
		tail -30 "$tmp/$t.log" | sed 's/^/# /'
		# Which cases, and how: once more, verbose (the failure
		# stands whatever this run does).
		env PYTHONMALLOC=malloc LD_PRELOAD="$DROPIN" $PY -m test -v "$t" \
			>"$tmp/$t.v.log" 2>&1
		echo "# again, verbose: exit $?"
		grep -A25 -E '^(FAIL|ERROR): ' "$tmp/$t.v.log" | head -80 |
			sed 's/^/# /'
		notok "$t (exit $rc; passes on glibc)"
	fi
done
echo "# Totals: pass:$((n - fail)) fail:$fail skip:0"
[ $fail = 0 ]
