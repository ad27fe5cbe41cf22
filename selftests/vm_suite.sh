#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside a test VM with hugeslab.ko loaded: the test groups of one VM
# profile, strict (a skip is a failure: in the VM everything can run).
# Each group ends with the runner's "# Cases:" and "# Totals:" lines, after
# a "## group" line that scripts/check reads.
#
#   vm_suite.sh [main|numa|lockdown|fuzz]     (default main)
cd "$(dirname "$0")" || exit 1
rc=0
tmo=600
group() { # NAME DIR [ENV...]
	name=$1 dir=$2
	shift 2
	[ -e "$dir" ] || return 0
	echo "## group $name"
	env "$@" ./run_tests.sh -s -t "$tmo" "$dir" || rc=1
}
# A directory whose files take O_DIRECT: tmpfs has it only from Linux 6.6,
# so an ext2 file system on a loop device (the profile loads loop), in
# memory; where there is no loop device (a kernel built without it) /tmp,
# which then must be new enough.
odirect_dir() {
	img=/tmp/hs-odirect.img dir=/mnt/hs-odirect
	mkdir -p $dir
	if dd if=/dev/zero of=$img bs=1M count=96 >/dev/null 2>&1 &&
		dev=$(losetup -f 2>/dev/null) && losetup "$dev" $img >/dev/null 2>&1 &&
		mke2fs -q "$dev" >/dev/null 2>&1 &&
		mount -t ext2 "$dev" $dir >/dev/null 2>&1; then
		echo $dir
	else
		rm -f $img
		echo /tmp
	fi
}
case "${1:-main}" in
main)
	group kmod kmod
	group compat compat
	group "lib (backend kmod)" lib HUGESLAB_BACKEND=kmod
	group "malloc (backend kmod)" malloc HUGESLAB_BACKEND=kmod
	group heap heap HUGESLAB_BACKEND=kmod HSSTAT=/opt/hs/hsstat
	group pools pools HUGESLAB_BACKEND=kmod
	# io_uring buffer sets: O_DIRECT on the scratch disk past what kmod's
	# odirect test uses, and on files in a directory where O_DIRECT works
	# (see odirect_dir); the echo tests run /opt/hs/examples.
	group "uring (backend kmod)" uring HUGESLAB_BACKEND=kmod \
		HS_URING_DISK=/dev/vda TMPDIR="$(odirect_dir)"
	group uring_kmod uring_kmod HUGESLAB_BACKEND=kmod HSSTAT=/opt/hs/hsstat
	group tools tools HSSTAT=/opt/hs/hsstat
	group stress stress
	group page_sizes numa/page_sizes
	# The kernel's fault injection exists only in a kernel built with it:
	# make check-debug's, which requires it (debug_suite.sh: HS_KFAULT=1).
	if [ -e /proc/self/fail-nth ] || [ -n "${HS_KFAULT:-}" ]; then
		group kfault kfault
	fi
	;;
numa) group numa numa ;;
fuzz)
	# make fuzz: the fuzzer alone, HS_FUZZ_OPS within HS_FUZZ_SECONDS.
	tmo=$((${HS_FUZZ_SECONDS:-3600} + 600))
	group fuzz stress/fuzz
	;;
lockdown)
	# Debian's kernels refuse unsigned modules once locked down, so the
	# lockdown comes after insmod; the same level twice is EPERM.
	mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
	grep -q '\[integrity\]' /sys/kernel/security/lockdown ||
		echo integrity >/sys/kernel/security/lockdown || rc=1
	group lockdown lockdown HSSTAT=/opt/hs/hsstat
	;;
*) echo "vm_suite.sh: unknown profile '$1'" >&2; exit 2 ;;
esac
exit $rc
