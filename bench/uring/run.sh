#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/uring/run.sh: io_uring buffers on huge pages, measured on this
# machine, one run; writes results.txt and results.svg. `make bench-uring`
# runs it.
#
#   bench/uring/run.sh [--quick] [--reps N] [--bin HSBENCH-URING]
#                      [--examples DIR] [--out DIR]
#
#   register  1 GiB of 64 KiB fixed buffers registered with io_uring:
#             hugeslab (2 MiB pages) against malloc (4 KiB pages) and THP,
#             an iovec per 2 MiB and one per buffer: time and kernel memory
#   odirect   O_DIRECT reads of a 1 GiB file: fixed hugeslab buffers
#             against malloc'd buffers pinned on every read
#   echo      examples/uring_echo under examples/uring_echo_load, buffers
#             from hugeslab against the same set in malloc'd memory
#             (--malloc): ops/s and p99 latency, server and load generator
#             on CPUs of their own when there are two
#
# Needs root (or sudo -n) to reserve 2 MiB pages (vm.nr_hugepages; what
# it adds is given back at the end) and for the registration to be
# uncharged (CAP_IPC_LOCK), as a server's would be. Installs gnuplot with
# apt-get if missing. --quick: small sizes, one repetition (a smoke test).
set -euo pipefail
cd "$(dirname "$0")/../.."

REPS=5
QUICK=0
BIN=build/bench/hsbench-uring
EX=build/examples
OUT=build/bench-uring
while [ $# -gt 0 ]; do
	case $1 in
	--reps) REPS=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--bin) BIN=$2; shift 2 ;;
	--examples) EX=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "bench-uring: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

BENCH_NAME=bench-uring
. bench/lib.sh

[ -x "$BIN" ] || die "$BIN missing: run 'make bench-uring'"
for p in uring_echo uring_echo_load; do
	[ -x "$EX/$p" ] || die "$EX/$p missing: run 'make bench-uring'"
done
[ "$(id -u)" = 0 ] || die "run as root: the registration must not be charged to RLIMIT_MEMLOCK (and vm.nr_hugepages needs root)"
bench_need gnuplot gnuplot-nox

GIB=1
FILE_MB=1024
ECHO_SECS=5
OD_REPS=3
if [ $QUICK = 1 ]; then
	REPS=1 OD_REPS=1 FILE_MB=64 ECHO_SECS=1
fi

# ---- 2 MiB pages ------------------------------------------------------------
# The registered GiB, the echo server's set and room for the O_DIRECT
# buffers: on top of what is set, given back at the end.
hp_reserve $((GIB * 512 + 16))
export HUGESLAB_BACKEND=hugetlb

mkdir -p "$OUT"
RAW=$OUT/raw.tsv
LOG=$OUT/run.log
: >"$LOG"
thp() { sed 's/.*\[\(.*\)\].*/\1/' "/sys/kernel/mm/transparent_hugepage/$1" 2>/dev/null || echo "?"; }
{
	echo "# hugeslab $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')"
	hv=$(lscpu 2>/dev/null | awk -F': *' '/^Hypervisor vendor/ { print $2 }')
	echo "# cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores${hv:+, $hv guest}; kernel $(uname -r); liburing $(dpkg-query -W -f='${Version}' liburing2 2>/dev/null || echo '?')"
	echo "# THP: enabled=$(thp enabled) defrag=$(thp defrag); hugeslab: HUGESLAB_BACKEND=hugetlb; file system of $OUT: $(df -T "$OUT" | awk 'NR == 2 { print $2 }'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RAW"
start=$SECONDS

# ---- registration -----------------------------------------------------------
echo "bench-uring: registering $GIB GiB of buffers, $REPS repetitions"
"$BIN" register --reps "$REPS" --gib "$GIB" >>"$RAW" 2>>"$LOG" ||
	die "register failed: $(tail -n 1 "$LOG")"

# ---- O_DIRECT -------------------------------------------------------------------
FILE=$OUT/odirect.dat
if [ ! -f "$FILE" ] || [ "$(stat -c %s "$FILE")" != $((FILE_MB << 20)) ]; then
	echo "bench-uring: writing a $FILE_MB MiB file for the O_DIRECT reads"
	dd if=/dev/urandom of="$FILE" bs=1M count="$FILE_MB" oflag=direct status=none
fi
for bs in 131072 1048576; do
	echo "bench-uring: O_DIRECT reads, $((bs >> 10)) KiB at a time"
	"$BIN" odirect "$FILE" --reps "$OD_REPS" --bs "$bs" --depth 8 >>"$RAW" 2>>"$LOG" ||
		die "odirect failed: $(tail -n 1 "$LOG")"
done

# ---- echo -------------------------------------------------------------------------
# Server and load generator each on a CPU of its own where there are two.
pin_srv=() pin_load=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	pin_srv=(taskset -c 0) pin_load=(taskset -c 1)
fi
# echo_run MODE MSG BUFSIZE REP: one server, one load run; a result line.
echo_run() {
	local mode=$1 msg=$2 bsz=$3 rep=$4 out port pid json
	local args=(--port 0 --buffers 1024 --size "$bsz")
	[ "$mode" = malloc ] && args+=(--malloc)
	out=$OUT/echo-server.out
	"${pin_srv[@]}" "$EX/uring_echo" "${args[@]}" >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$out" && break
		sleep 0.05
	done
	port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\);.*/\1/p' "$out")
	[ -n "$port" ] || { kill $pid; die "uring_echo did not start: $(cat "$out")"; }
	json=$("${pin_load[@]}" "$EX/uring_echo_load" --port "$port" --conns 32 \
		--size "$msg" --duration "$ECHO_SECS" --warmup 0.5 --json 2>>"$LOG") ||
		{ kill $pid; die "uring_echo_load failed ($mode, $msg): $(tail -n 1 "$LOG")"; }
	kill -INT $pid
	wait $pid || die "uring_echo ($mode) did not stop cleanly: $(cat "$out")"
	grep -q 'buffers back: all' "$out" || die "uring_echo ($mode) lost buffers: $(cat "$out")"
	# The server's CPU time per message holds up on a busy machine,
	# where ops/s and p99 measure the neighbours too.
	printf 'echo\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$msg" "$rep" \
		"$(sed 's/.*"ops_per_s":\([0-9.]*\).*/\1/' <<<"$json")" \
		"$(sed 's/.*"p99_us":\([0-9.]*\).*/\1/' <<<"$json")" \
		"$(sed -n 's/.*, \([0-9.]*\) us a message.*/\1/p' "$out")" >>"$RAW"
}
for msg in 512 16384; do
	bsz=4096
	[ "$msg" -gt 4096 ] && bsz=16384
	for ((rep = 1; rep <= REPS; rep++)); do
		echo "bench-uring: echo, $msg-byte messages, repetition $rep of $REPS"
		# Alternate which goes first.
		if ((rep % 2)); then order="hugeslab malloc"; else order="malloc hugeslab"; fi
		for mode in $order; do
			echo_run "$mode" "$msg" "$bsz" "$rep"
		done
	done
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $((SECONDS - start)) s" >>"$RAW"

# ---- report -----------------------------------------------------------------------
awk -f bench/uring/report.awk -v chart="$OUT/chart.dat" "$RAW" >"$OUT/results.txt"
gnuplot -e "datafile='$OUT/chart.dat'; outfile='$OUT/results.svg'" bench/uring/plot.gp
cat "$OUT/results.txt"
echo
echo "bench-uring: wrote $OUT/results.txt and $OUT/results.svg ($((SECONDS - start)) s)"
