#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run test binaries, each under a timeout, as one TAP stream:
#
#   run_tests.sh [-s] [-t SECS] TEST...
#
# TEST is a test binary, a directory (its executables, in name order) or a
# quoted pattern such as 'kmod/*'.
#
#   -s        strict: a skipped test (or a skipped case inside one) fails
#   -t SECS   per-test timeout (default 120)
#
# Each test's own output is indented with "# ". A test passes with exit 0,
# is skipped with exit 4 (KSFT_SKIP), and fails otherwise. The "# Totals:"
# line each kselftest harness prints is added up into a case count. The
# last line is the binaries' summary:  # Totals: pass:P fail:F skip:S
# Exit status: 0 if nothing failed, 1 otherwise, 2 on a usage error.
#
# POSIX sh; works under busybox ash (in the test VMs) and on the host. It
# does not judge dmesg (tools/vm/run fails a run on kernel splats), but
# prints its tail after a failure when it can be read.

usage() {
	echo "usage: run_tests.sh [-s] [-t SECS] TEST..." >&2
	exit 2
}

strict=0
tmo=120
while getopts st: opt; do
	case $opt in
	s) strict=1 ;;
	t) tmo=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
case $tmo in
'' | *[!0-9]*) echo "run_tests.sh: -t needs whole seconds" >&2; exit 2 ;;
esac

# A directory stands for the executables in it; a pattern nothing matched
# literally (say, quoted through tools/vm/run) is expanded here.
nargs=$#
while [ $nargs -gt 0 ]; do
	a=$1
	shift
	nargs=$((nargs - 1))
	if [ -d "$a" ]; then
		for f in "$a"/*; do
			[ -f "$f" ] && [ -x "$f" ] && set -- "$@" "$f"
		done
	elif [ ! -e "$a" ] && case $a in *[*?[]*) true ;; *) false ;; esac; then
		found=0
		for f in $a; do
			[ -e "$f" ] && found=1 && set -- "$@" "$f"
		done
		[ $found = 1 ] || set -- "$@" "$a"
	else
		set -- "$@" "$a"
	fi
done
[ $# -gt 0 ] || { echo "run_tests.sh: no tests found" >&2; exit 2; }

tmp=${TMPDIR:-/tmp}/run_tests.$$
mkdir -p "$tmp" || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

# Kill what test $2 left running, found by the token $1 in its
# environment: the harness runs each case in a process group of its own,
# which a timeout's signal to the test misses, and a case stuck in a loop
# would go on taking a CPU through every test after it. (grep -l, not
# -F: busybox's -F stops at an environ's first NUL.)
reap() {
	pids=$(grep -l "HS_RUN_TEST=$1" /proc/[0-9]*/environ 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p')
	[ -n "$pids" ] || return 0
	kill -KILL $pids 2>/dev/null
	echo "# killed what $2 left running: pid" $pids
}

pass=0 fail=0 skip=0
cpass=0 cfail=0 cskip=0
n=0

echo "TAP version 13"
echo "1..$#"

for t in "$@"; do
	n=$((n + 1))
	name=${t#./}
	echo "# selftest: $name"

	if [ ! -f "$t" ] || [ ! -x "$t" ]; then
		echo "# $t: not an executable file"
		rc=127
		: >"$tmp/out"
	else
		# Into a file, not a pipe: when the timeout kills a test, what
		# it forked (the harness puts each case in its own process
		# group) may keep a pipe open and stall the run.
		token=$$-$n-
		if [ $have_timeout = 1 ]; then
			HS_RUN_TEST=$token timeout "$tmo" "$t" >"$tmp/out" 2>&1 </dev/null
		else
			HS_RUN_TEST=$token "$t" >"$tmp/out" 2>&1 </dev/null
		fi
		rc=$?
		reap "$token" "$name" >>"$tmp/out"
		while IFS= read -r line || [ -n "$line" ]; do
			printf '# %s\n' "$line"
		done <"$tmp/out"
	fi

	# The harness's own count of cases, if it printed one.
	totals=$(sed -n 's/^# Totals: //p' "$tmp/out" | tail -n 1)
	rm -f "$tmp/out"
	c_p=0 c_f=0 c_s=0
	if [ -n "$totals" ]; then
		for kv in $totals; do
			v=${kv#*:}
			case $v in '' | *[!0-9]*) continue ;; esac
			case ${kv%%:*} in
			pass | xfail) c_p=$((c_p + v)) ;;
			fail | xpass | error) c_f=$((c_f + v)) ;;
			skip) c_s=$((c_s + v)) ;;
			esac
		done
	fi

	result=pass note=
	case $rc in
	0) ;;
	4) result=skip ;;
	124 | 137 | 143)
		result=fail note="exit $rc: killed, timed out after ${tmo}s?" ;;
	*) result=fail note="exit $rc" ;;
	esac
	# A harness that passed but skipped cases: strict mode forbids it.
	if [ $result = pass ] && [ $strict = 1 ] && [ $c_s -gt 0 ]; then
		result=fail note="strict: $c_s case(s) did not run"
	fi
	if [ $result = skip ] && [ $strict = 1 ]; then
		result=fail note="strict: a skip is a failure"
	fi
	# No totals (crashed, timed out, not a harness test): count it as one.
	if [ -z "$totals" ]; then
		case $result in
		pass) c_p=1 ;;
		skip) c_s=1 ;;
		*) c_f=1 ;;
		esac
	fi
	if [ $strict = 1 ]; then
		c_f=$((c_f + c_s)) c_s=0
	fi
	cpass=$((cpass + c_p)) cfail=$((cfail + c_f)) cskip=$((cskip + c_s))

	case $result in
	pass)
		pass=$((pass + 1))
		echo "ok $n $name"
		;;
	skip)
		skip=$((skip + 1))
		echo "ok $n $name # SKIP"
		;;
	fail)
		fail=$((fail + 1))
		if command -v dmesg >/dev/null 2>&1 &&
			dmesg >"$tmp/dmesg" 2>/dev/null; then
			echo "# dmesg | tail (after $name failed):"
			tail -n 20 "$tmp/dmesg" | sed 's/^/#   /'
		fi
		rm -f "$tmp/dmesg"
		echo "not ok $n $name # $note"
		;;
	esac
done

echo "# Cases: pass:$cpass fail:$cfail skip:$cskip"
echo "# Totals: pass:$pass fail:$fail skip:$skip"
[ $fail = 0 ]
