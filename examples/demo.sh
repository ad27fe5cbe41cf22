#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The hugeslab demo: pools_demo allocates objects from pools backed by
# /dev/hugeslab and holds them while hsstat reports the module's totals and
# the demo's regions. Runs inside the demo VM (scripts/demo) or, as root, on
# a machine with hugeslab.ko loaded.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
find_tool() {
	for p in "$here/$1" "$here/../build/$2/$1" "$(command -v "$1" 2>/dev/null)"; do
		[ -x "$p" ] && { echo "$p"; return; }
	done
	echo "demo.sh: $1 not found; run make first" >&2
	exit 1
}
demo=$(find_tool pools_demo examples)
hsstat=$(find_tool hsstat tools)

if [ ! -e /dev/hugeslab ]; then
	echo "demo.sh: /dev/hugeslab is missing: load the module (insmod kmod/hugeslab.ko reserve_mb=64)" >&2
	exit 1
fi
echo "== hugeslab.ko: $(cat /sys/module/hugeslab/parameters/reserve_mb) MiB of 2 MiB pages reserved"

tmp=$(mktemp -d /tmp/hsdemo.XXXXXX)
ctl=$tmp/ctl
status=$tmp/status
mkfifo "$ctl"
trap 'rm -rf "$tmp"' EXIT
echo 0 >"$status"
echo 1 >"$tmp/demo_rc"
# The pools are on the module, or the demo fails: no silent fallback.
# (The exit status of a pipeline is its last command's: pools_demo's is
# kept in a file.)
{
	rc=0
	HUGESLAB_BACKEND=kmod "$demo" --hold <"$ctl" || rc=$?
	echo "$rc" >"$tmp/demo_rc"
} | {
	exec 3>"$ctl"
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		*holding*)
			echo "== hsstat --once, while pools_demo holds its objects:"
			"$hsstat" --once || echo 1 >"$status"
			echo >&3
			;;
		esac
	done
}
[ "$(cat "$status")" = 0 ] || { echo "demo.sh: hsstat failed" >&2; exit 1; }
rc=$(cat "$tmp/demo_rc")
[ "$rc" = 0 ] || echo "demo.sh: pools_demo failed (exit $rc)" >&2
exit "$rc"
