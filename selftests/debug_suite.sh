#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside a debug-kernel VM (scripts/check-debug), as root:
#
#   debug_suite.sh PROFILE KO [MODULE ARGS...]
#
# 1. kmemleak baseline: scan and "clear", so objects the kernel leaked while
#    booting are not blamed on hugeslab;
# 2. insmod KO with the arguments;
# 3. the profile's test groups (vm_suite.sh PROFILE, next to this script),
#    with the time each group took;
# 4. group "teardown": rmmod hugeslab (unloading must work and free
#    everything), then an explicit kmemleak scan; any unreferenced object
#    fails it. The report is printed on the console, and (kmemleak.verbose)
#    each object also goes to the kernel log, where tools/vm/run sees it.
#
# Once the kernel is locked down (integrity or confidentiality: the lockdown
# profile does it after insmod) debugfs is closed, and with it kmemleak's
# file: the final scan is skipped there (the other profiles run it).
# Exit 0 only if every group passed.
cd "$(dirname "$0")" || exit 1
KL=/sys/kernel/debug/kmemleak
KL_VERBOSE=/sys/module/kmemleak/parameters/verbose

profile=${1:?usage: debug_suite.sh PROFILE KO [ARGS...]}
ko=${2:?usage: debug_suite.sh PROFILE KO [ARGS...]}
shift 2

now() { cut -d. -f1 /proc/uptime; }

# Locked down (from the command line, or by vm_suite.sh's lockdown profile)?
locked_down() {
	[ -e /sys/kernel/security/lockdown ] ||
		mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
	grep -qE '\[(integrity|confidentiality)\]' /sys/kernel/security/lockdown 2>/dev/null
}

kmemleak=1
if locked_down; then
	kmemleak=0
	echo "# debug_suite: debugfs is locked down: no kmemleak scan in this profile"
elif [ ! -w $KL ]; then
	echo "debug_suite: $KL missing: not a kmemleak kernel, or debugfs not mounted"
	exit 125
elif ! echo scan >$KL 2>/dev/null; then
	echo "debug_suite: kmemleak is disabled (boot with kmemleak=on; its early pool may be too small)"
	exit 125
fi
if [ $kmemleak = 1 ]; then
	# Boot-time leaks (reported now, objects older than kmemleak's 5 s
	# minimum age) are the kernel's, not ours: count them, then forget them.
	n=$(grep -c '^unreferenced object' $KL)
	echo "# debug_suite: $n object(s) leaked while booting, cleared (not hugeslab's)"
	echo clear >$KL
	# From here on every new leak also goes to the kernel log.
	echo 1 >$KL_VERBOSE 2>/dev/null ||
		echo "# debug_suite: cannot set $KL_VERBOSE; leaks will only be on the console"
fi

# kmod/rmmod unloads and reloads the module from this file.
export HS_MODULE_KO="$ko"
# This kernel has the fault injection framework: its group must run.
export HS_KFAULT=1
if ! insmod "$ko" "$@"; then
	echo "debug_suite: insmod $ko $* failed"
	exit 125
fi

# The groups, passed through, with a time line after each one.
t0=$(now)
{
	./vm_suite.sh "$profile"
	echo $? >/tmp/debug_suite.rc
} | {
	g= gt=$(now)
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		'## group '*)
			[ -n "$g" ] && echo "# debug_suite: group $g took $(($(now) - gt)) s"
			g=${line#'## group '} gt=$(now) ;;
		esac
		printf '%s\n' "$line"
	done
	[ -n "$g" ] && echo "# debug_suite: group $g took $(($(now) - gt)) s"
}
rc=$(cat /tmp/debug_suite.rc 2>/dev/null || echo 1)
echo "# debug_suite: the $profile groups took $(($(now) - t0)) s"

echo "## group teardown (rmmod, kmemleak)"
echo "TAP version 13"
echo "1..2"
pass=0 fail=0 skip=0

# Wait (bounded) until nothing holds the module: a region's last reference
# may go in deferred work after its process exited.
deadline=$(($(now) + 60))
while [ "$(cat /sys/module/hugeslab/refcnt 2>/dev/null)" != 0 ] && [ "$(now)" -lt $deadline ]; do
	sleep 0.2
done
if out=$(rmmod hugeslab 2>&1); then
	echo "ok 1 rmmod hugeslab"
	pass=$((pass + 1))
else
	echo "# $out (refcnt $(cat /sys/module/hugeslab/refcnt 2>/dev/null))"
	echo "not ok 1 rmmod hugeslab"
	fail=$((fail + 1))
fi

if [ $kmemleak = 1 ] && locked_down; then
	kmemleak=0
	echo "# debug_suite: the $profile groups locked the kernel down: no kmemleak scan"
fi
if [ $kmemleak = 0 ]; then
	echo "ok 2 kmemleak # SKIP debugfs is locked down"
	skip=$((skip + 1))
else
	# kmemleak reports only objects older than 5 s, and skips objects
	# whose contents changed since its previous scan: wait out the age,
	# then scan twice. The sleep is how kmemleak works, not a wait for
	# the module.
	t0=$(now)
	sleep 6
	echo scan >$KL
	echo scan >$KL
	n=$(grep -c '^unreferenced object' $KL)
	echo "# kmemleak: two scans took $(($(now) - t0)) s, $n new unreferenced object(s)"
	if [ "$n" = 0 ]; then
		echo "ok 2 kmemleak"
		pass=$((pass + 1))
	else
		echo "# ---- $KL"
		sed 's/^/# /' $KL
		echo "# ---- end of $KL"
		# In the kernel log too, in case kmemleak.verbose did not take.
		echo "hugeslab debug_suite: kmemleak: $n unreferenced object(s) after the tests and rmmod" >/dev/kmsg
		echo "not ok 2 kmemleak"
		fail=$((fail + 1))
	fi
fi
echo "# Cases: pass:$pass fail:$fail skip:$skip"
echo "# Totals: pass:$pass fail:$fail skip:$skip"
[ $fail = 0 ] || rc=1
exit $rc
