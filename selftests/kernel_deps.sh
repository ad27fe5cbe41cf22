#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: a module build against a Debian kernel whose tools are not
# installed stops at once and names the package to install, instead of a
# shell's "not found" deep in Kbuild (6.12's headers make module BTF with
# pahole, from dwarves). Runs against the kernels tools/vm/kernel fetched;
# the missing tool is hidden by running with a PATH that lacks it.
# Run from the top of the tree. Prints TAP; exits non-zero on failure.
set -u
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }

echo "TAP version 13"
series=$(tools/vm/kernel series)
echo "1..$((3 * $(echo $series | wc -w)))"

# A bin directory holding every command of PATH but $1 (as symlinks).
path_without() {
	rm -rf "$tmp/bin" && mkdir "$tmp/bin"
	for d in $(echo "$PATH" | tr : ' '); do
		[ -d "$d" ] || continue
		for c in "$d"/*; do
			b=${c##*/}
			[ "$b" = "$1" ] && continue
			[ -e "$tmp/bin/$b" ] || ln -s "$c" "$tmp/bin/$b"
		done
	done
}

for s in $series; do
	kdir=$(HUGESLAB_NO_INSTALL=1 tools/vm/kernel fetch "$s" 2>"$tmp/err") ||
		{ sed 's/^/# /' "$tmp/err"; notok "$s: fetch"; notok "$s: check"; notok "$s: build"; continue; }
	kb=$kdir/build
	if tools/vm/kernel check "$kb" 2>"$tmp/err"; then ok "$s: every tool its module build needs is installed"
	else sed 's/^/# /' "$tmp/err"; notok "$s: every tool its module build needs is installed"; fi

	# Each tool the kernel names, hidden in turn, is reported with its package.
	bad=0
	tools/vm/kernel needs "$kb" >"$tmp/needs"
	while read -r cmd pkg; do
		path_without "$cmd"
		if PATH=$tmp/bin tools/vm/kernel check "$kb" 2>"$tmp/err"; then
			echo "# without $cmd: check passed"; bad=1
		elif ! grep -q "needs '$cmd'.*apt-get install $pkg" "$tmp/err"; then
			echo "# without $cmd: the message does not name $pkg:"; sed 's/^/#   /' "$tmp/err"; bad=1
		fi
	done <"$tmp/needs"
	if [ $bad = 0 ]; then ok "$s: a missing tool is named with its package ($(awk '{printf "%s%s", s, $1; s=" "}' "$tmp/needs"))"
	else notok "$s: a missing tool is named with its package"; fi

	# And make stops there, before Kbuild runs (the clear message is the
	# one it prints). Only kernels whose build runs pahole are asked.
	if grep -q '^pahole ' "$tmp/needs"; then
		path_without pahole
		abi=$(cat "$kdir/abi")
		PATH=$tmp/bin make -s --no-print-directory -C "$top" BUILD="$tmp/build" \
			HS_KCACHE="${kdir%/*}" "$tmp/build/kmod/$abi/kmod/hugeslab.ko" >"$tmp/err" 2>&1
		rc=$?
		if [ $rc != 0 ] && grep -q 'apt-get install dwarves' "$tmp/err" &&
			! grep -q 'pahole: not found' "$tmp/err"; then
			ok "$s: make without pahole fails naming dwarves"
		else
			sed 's/^/# /' "$tmp/err"; notok "$s: make without pahole fails naming dwarves (exit $rc)"
		fi
	else
		if grep -qx 'CONFIG_DEBUG_INFO_BTF_MODULES=y' "$kb/.config" && [ -e "$kb/vmlinux" ]; then
			notok "$s: the kernel makes module BTF but pahole is not listed"
		else
			ok "$s: no module BTF (no vmlinux in its headers), so no pahole"
		fi
	fi
done
echo "# Totals: pass:$((n - fail)) fail:$fail skip:0"
[ $fail = 0 ]
