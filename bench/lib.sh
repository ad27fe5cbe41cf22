# SPDX-License-Identifier: MIT
#
# bench/lib.sh: what the benchmark scripts share, sourced after they set
# BENCH_NAME (the prefix of their messages):
#
#   die, as_root           fail with a message; run a command as root
#   bench_need CMD PKG     install PKG with apt-get unless CMD is on PATH
#   bench_peers [PKG...]   the peers' libraries into PRELOAD[jemalloc|
#                          mimalloc|tcmalloc], installing them (and gnuplot,
#                          and PKG...) with apt-get where missing
#   hp_reserve N           N free 2 MiB pages, added on top of
#                          vm.nr_hugepages and given back at exit; again
#                          later to take back what others took meanwhile

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

bench_need() {
	command -v "$1" >/dev/null && return 0
	echo "$BENCH_NAME: installing $2 with apt-get"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null ||
		die "could not install $2: install it and run again"
}

# ---- the peers ----------------------------------------------------------

# Shared library path by soname, from the linker cache.
lib_path() {
	/sbin/ldconfig -p |
		awk -v so="$1" '$1 == so && !found { found = $NF } END { print found }'
}

declare -A PRELOAD=(
	[jemalloc]=libjemalloc.so.2
	[mimalloc]=libmimalloc.so.2
	[tcmalloc]=libtcmalloc_minimal.so.4
)

bench_peers() {
	local pkgs=(libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev
		    gnuplot-nox "$@")
	local missing=0 a p
	for a in "${!PRELOAD[@]}"; do
		[ -n "$(lib_path "${PRELOAD[$a]}")" ] || missing=1
	done
	command -v gnuplot >/dev/null || missing=1
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing=1
	done
	if [ $missing = 1 ]; then
		echo "$BENCH_NAME: installing ${pkgs[*]} with apt-get"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" ||
			die "could not install ${pkgs[*]}: install them and run again"
	fi
	for a in "${!PRELOAD[@]}"; do
		p=$(lib_path "${PRELOAD[$a]}")
		[ -n "$p" ] || die "${PRELOAD[$a]} ($a) not found after installing it"
		PRELOAD[$a]=$p
	done
}

# ---- 2 MiB pages --------------------------------------------------------

hp_file=/proc/sys/vm/nr_hugepages
HP_NEED=0
HP_OLD=		# the setting before the first hp_reserve
HP_LAST=	# the value this script last set
HP_ADDED=0	# pages it added, in all

hp_free() { awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo; }
# Written to /proc directly: sysctl (procps) is not on every machine.
hp_set() { echo "$1" | as_root tee "$hp_file" >/dev/null 2>&1; }

# hp_raise N: add N pages to vm.nr_hugepages (the kernel may find fewer;
# what it found is what gets counted and given back).
hp_raise() {
	local before
	before=$(cat $hp_file)
	hp_set $((before + $1)) || return 1
	HP_LAST=$(cat $hp_file)
	HP_ADDED=$((HP_ADDED + HP_LAST - before))
}

# At exit: back to the old value, or, if someone else changed the setting
# meanwhile, minus what this script added.
hp_give_back() {
	local now
	[ -n "$HP_LAST" ] || return 0
	now=$(cat $hp_file)
	if [ "$now" = "$HP_LAST" ]; then
		hp_set "$HP_OLD" ||
			echo "$BENCH_NAME: could not restore vm.nr_hugepages=$HP_OLD" >&2
	elif [ "$now" -ge "$HP_ADDED" ]; then
		echo "$BENCH_NAME: vm.nr_hugepages changed during the run ($HP_LAST -> $now); giving back the $HP_ADDED pages added" >&2
		hp_set $((now - HP_ADDED)) || true
	fi
}

# hp_reserve [N]: make sure N (or the last N) pages are free - on the
# first call, on top of whatever is set, so other users of the pool keep
# theirs; later, what another program took meanwhile. Fails saying what
# to do.
hp_reserve() {
	local have
	[ $# = 0 ] || HP_NEED=$1
	if [ -z "$HP_OLD" ]; then
		HP_OLD=$(cat $hp_file)
		trap hp_give_back EXIT
		hp_raise "$HP_NEED" ||
			die "cannot raise vm.nr_hugepages (needs root or sudo): $HP_NEED free 2 MiB pages are needed; run as root, or 'sudo sysctl vm.nr_hugepages=$((HP_OLD + HP_NEED))' first and lower it after"
	fi
	have=$(hp_free)
	[ "$have" -ge "$HP_NEED" ] && return 0
	hp_raise $((HP_NEED - have)) ||
		die "cannot raise vm.nr_hugepages (needs root or sudo): $HP_NEED free 2 MiB pages are needed; run as root, or 'sudo sysctl vm.nr_hugepages=$(($(cat $hp_file) + HP_NEED - have))' first and lower it after"
	have=$(hp_free)
	if [ "$have" -lt "$HP_NEED" ]; then
		# Memory may just be fragmented: compact it and try once more.
		as_root sh -c 'echo 1 > /proc/sys/vm/compact_memory' || true
		hp_raise $((HP_NEED - have)) || true
		have=$(hp_free)
	fi
	[ "$have" -ge "$HP_NEED" ] ||
		die "only $have of the $HP_NEED free 2 MiB pages needed could be reserved (vm.nr_hugepages=$(cat $hp_file)); free some memory, or try --quick"
}
