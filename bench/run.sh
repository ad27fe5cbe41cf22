#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/run.sh: run every workload against hugeslab and the mallocs users
# would pick instead, and write the table and the chart. `make bench` runs it.
#
#   bench/run.sh [--reps N] [--quick] [--bin HSBENCH] [--report HSBENCH-REPORT]
#                [--out DIR]
#
#   --reps N   repetitions (default 5); the table shows medians
#   --quick    small sets, one repetition: a smoke test, not a measurement
#
# One process per allocator, workload and repetition: glibc as is, jemalloc,
# mimalloc and tcmalloc through LD_PRELOAD, hugeslab pools with
# HUGESLAB_BACKEND=hugetlb (2 MiB pages from the kernel's hugetlb pool, the
# page tables the module gives), both through hs_pool_alloc/hs_pool_free
# ("hugeslab") and through a held cache with the inline hs_cache_alloc/
# hs_cache_free ("hugeslab-cache"). Within a repetition each workload runs for
# every allocator back to back, in an order that rotates from one repetition
# to the next, so slow phases of a shared machine spread over all of them.
# The pointer chase also runs glibc with THP (GLIBC_TUNABLES) and hugeslab on
# 4 KiB pages, for information.
#
# Needs root (or sudo -n) to reserve 2 MiB pages with sysctl vm.nr_hugepages;
# what it adds is given back at the end. Installs missing peers with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=5
QUICK=0
BIN=build/bench/hsbench
REPORT=build/bench/hsbench-report
OUT=build/bench

while [ $# -gt 0 ]; do
	case $1 in
	--reps) REPS=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--bin) BIN=$2; shift 2 ;;
	--report) REPORT=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

BENCH_NAME=bench
. bench/lib.sh

if [ ! -x "$BIN" ] || [ ! -x "$REPORT" ]; then
	die "$BIN or $REPORT missing: run 'make bench'"
fi

# ---- sizes --------------------------------------------------------------

# Objects live at once: live-64, live-256, chase (of 64-byte objects).
# The chase set is 2 GiB so that a 4 KiB mapping's page tables (4 MiB of
# PTEs) do not stay in the last-level cache: at 1 GiB they mostly did on
# our test machine, and the page walks hid behind the DRAM latency of the
# data, which made the result depend on what else ran (0.67x to 0.91x of
# glibc in three runs); at 2 and 4 GiB it was 0.62x-0.63x.
LIVE_OBJS=4000000
CHASE_OBJS=32000000
SIZE_ARGS=()
if [ $QUICK = 1 ]; then
	REPS=1
	LIVE_OBJS=200000
	CHASE_OBJS=400000
	SIZE_ARGS=(--ops 1000000)
fi

# ---- the peers ----------------------------------------------------------

bench_peers

# ---- 2 MiB pages for hugeslab ------------------------------------------

max() { if [ "$1" -gt "$2" ]; then echo "$1"; else echo "$2"; fi; }

# The biggest set one process holds, plus room for the arena's last region
# (up to 64 MiB, not all used) and the small pools.
biggest=$(max $((LIVE_OBJS * 256)) $((CHASE_OBJS * 64)))
HP_NEED=$(( (biggest + (2 << 20) - 1) / (2 << 20) + 96 ))
hp_reserve "$HP_NEED"

# ---- the runs -----------------------------------------------------------

mkdir -p "$OUT"
RAW=$OUT/raw.tsv
LOG=$OUT/run.log
: > "$LOG"

ALLOCS="hugeslab hugeslab-cache glibc jemalloc mimalloc tcmalloc"
# The chase times loads only: hugeslab-cache would lay objects out exactly
# as hugeslab does. Instead, for information: glibc with THP, and hugeslab
# on 4 KiB pages.
CHASE_ALLOCS="hugeslab glibc jemalloc mimalloc tcmalloc glibc-thp hugeslab-4k"
# name|hsbench arguments|allocators
WORKLOADS=(
	"hot|--workload hot|$ALLOCS"
	"live-64|--workload live --size 64 --objs $LIVE_OBJS|$ALLOCS"
	"live-256|--workload live --size 256 --objs $LIVE_OBJS|$ALLOCS"
	"remote|--workload remote|$ALLOCS"
	"chase|--workload chase --size 64 --objs $CHASE_OBJS|$CHASE_ALLOCS"
)

# run REP ALLOC ARGS...: one process; its result lines go to the raw file.
run() {
	local rep=$1 alloc=$2 env=() mode=malloc extra=() rc
	shift 2
	case $alloc in
	hugeslab)
		hp_reserve
		env=(HUGESLAB_BACKEND=hugetlb); mode=pool; extra=(--backend hugetlb) ;;
	hugeslab-cache)
		hp_reserve
		env=(HUGESLAB_BACKEND=hugetlb); mode=cache; extra=(--backend hugetlb) ;;
	hugeslab-4k)
		env=(HUGESLAB_BACKEND=pages); mode=pool; extra=(--backend pages) ;;
	glibc-thp)
		env=(GLIBC_TUNABLES=glibc.malloc.hugetlb=1) ;;
	glibc) ;;
	*)
		env=(LD_PRELOAD="${PRELOAD[$alloc]}") ;;
	esac
	rc=0
	env "${env[@]}" timeout 300 "$BIN" --mode $mode --label "$alloc" \
		"${extra[@]}" --rep "$rep" "$@" "${SIZE_ARGS[@]}" \
		>>"$RAW" 2>>"$LOG" || rc=$?
	if [ $rc != 0 ]; then
		echo "bench: $alloc $* failed (exit $rc): $(tail -n 1 "$LOG")" >&2
		failures=$((failures + 1))
	fi
}

thp() { sed 's/.*\[\(.*\)\].*/\1/' "/sys/kernel/mm/transparent_hugepage/$1" 2>/dev/null || echo "?"; }
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }

{
	echo "# hugeslab $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')"
	hv=$(lscpu 2>/dev/null | awk -F': *' '/^Hypervisor vendor/ { print $2 }')
	echo "# cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)${hv:+, $hv guest}; kernel $(uname -r)"
	echo "# THP: enabled=$(thp enabled) defrag=$(thp defrag); hugeslab: HUGESLAB_BACKEND=hugetlb (2 MiB pages)"
	echo "# peers: glibc $(ldd --version | awk 'NR==1 { print $NF }'), jemalloc $(pkgver libjemalloc2), mimalloc $(pkgver 'libmimalloc2*'), tcmalloc (gperftools) $(pkgver libtcmalloc-minimal4); $(${CC:-cc} --version | head -n 1)"
	echo "# $REPS repetitions; live sets $LIVE_OBJS objects, chase $CHASE_OBJS x 64 B; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RAW"

failures=0
start=$SECONDS
for ((rep = 1; rep <= REPS; rep++)); do
	echo "bench: repetition $rep of $REPS ($((SECONDS - start)) s so far)"
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r _ args list <<<"$w"
		read -r -a allocs <<<"$list"
		n=${#allocs[@]}
		for ((i = 0; i < n; i++)); do
			# shellcheck disable=SC2086
			run "$rep" "${allocs[$(((i + rep) % n))]}" $args
		done
	done
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $((SECONDS - start)) s" >> "$RAW"

"$REPORT" "$RAW" "$OUT/results.txt" "$OUT/chart.dat"
gnuplot -e "datafile='$OUT/chart.dat'; outfile='$OUT/results.svg'" bench/plot.gp
cat "$OUT/results.txt"
echo
echo "bench: wrote $OUT/results.txt and $OUT/results.svg ($((SECONDS - start)) s)"
[ $failures = 0 ] || die "$failures run(s) failed: see $LOG"
