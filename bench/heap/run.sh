#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/heap/run.sh: the heap (the malloc drop-in) against glibc, jemalloc,
# mimalloc and tcmalloc, in time and peak memory, and CPython on each of
# them against its own pymalloc. `make bench-heap` runs it.
#
#   bench/heap/run.sh [--reps N] [--quick] [--out DIR]
#
#   --reps N   repetitions (default 3); the table shows medians
#   --quick    small runs, one repetition: a smoke test, not a measurement
#   --report   only write the report again from DIR's raw.tsv
#
# Every run is its own process, measured by hsbench-measure (wall and CPU
# time, peak RSS + hugetlb pages). The allocators: glibc as is, the peers
# and libhugeslab-malloc.so through LD_PRELOAD, the drop-in on 2 MiB pages
# (hs-hugetlb, HUGESLAB_BACKEND=hugetlb) and on transparent huge pages
# (hs-thp). The workloads:
#
#   pairs, live, prodcons, realloc   hsbench-heap (bench/heap/workloads.c):
#                                    ns per operation
#   crowd      hsbench-heap too: 1000 threads at once; not among the
#              issue's micro workloads, so not in their geometric mean
#   python     bench/python/workload.py with PYTHONMALLOC=malloc, so every
#              object goes through the allocator; "pymalloc" is CPython's
#              own small-object allocator (on glibc): seconds
#   py-pass    python3 -c pass, the median of 20 starts: seconds
#   ls         ls -R /usr/share >/dev/null, the median of 20: seconds
#
# Within a repetition each workload runs for every allocator back to back,
# in an order that rotates between repetitions. Ratios are to the best
# peer (the fastest, or the smallest) of the same workload in this run.
# Needs root (or sudo -n) to reserve 2 MiB pages; gives them back at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPS=3
QUICK=0
OUT=build/bench/heap
REPORT_ONLY=0
while [ $# -gt 0 ]; do
	case $1 in
	--reps) REPS=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--out) OUT=$2; shift 2 ;;
	--report) REPORT_ONLY=1; shift ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "bench-heap: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

BENCH_NAME=bench-heap
. bench/lib.sh

RAW=$OUT/raw.tsv
HEADER=$OUT/header.txt
start=$SECONDS
failures=0
if [ $REPORT_ONLY = 0 ]; then

HEAP=build/bench/hsbench-heap
MEASURE=build/bench/hsbench-measure
DROPIN=$PWD/build/lib/libhugeslab-malloc.so
for f in "$HEAP" "$MEASURE" "$DROPIN"; do
	[ -e "$f" ] || die "$f missing: run 'make bench-heap'"
done

SCALE=1 PYSCALE=3 PASS_N=20
if [ $QUICK = 1 ]; then
	REPS=1 PYSCALE=1 PASS_N=3
fi

# ---- the peers ----------------------------------------------------------

bench_peers python3
# The interpreter itself: a python3 on PATH may be a wrapper script
# (pyenv's shim runs bash and several processes before Python starts).
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

# ---- 2 MiB pages --------------------------------------------------------

# The realloc workload peaks near 1 GiB, CPython's near 0.5 GiB.
HP_NEED=800
[ $QUICK = 1 ] && HP_NEED=300
hp_reserve "$HP_NEED"

# ---- the runs -----------------------------------------------------------

mkdir -p "$OUT"
LOG=$OUT/run.log
: >"$LOG"
ALLOCS=(glibc jemalloc mimalloc tcmalloc hs-hugetlb hs-thp)
PYALLOCS=(pymalloc "${ALLOCS[@]}")

# alloc_env ALLOC: the environment of a run on ALLOC, into the array env.
alloc_env() {
	case $1 in
	glibc | pymalloc) env=() ;;
	hs-hugetlb) env=(HUGESLAB_BACKEND=hugetlb LD_PRELOAD="$DROPIN") ;;
	hs-thp) env=(HUGESLAB_BACKEND=thp LD_PRELOAD="$DROPIN") ;;
	*) env=(LD_PRELOAD="${PRELOAD[$1]}") ;;
	esac
}

# measure REP WORKLOAD ALLOC COMMAND...: one run, one line in the raw file:
# "rep workload alloc metric wall_s peak_kib". The metric is the program's
# ns/op where it prints one, else the wall time. A preload that did not
# take (ld.so says so on stderr) fails the run rather than measuring glibc.
measure() {
	local rep=$1 w=$2 alloc=$3 err out m rc=0
	shift 3
	alloc_env "$alloc"
	err=$(mktemp) out=$(mktemp)
	env "${env[@]}" timeout 600 "$MEASURE" "$@" >"$out" 2>"$err" || rc=$?
	if [ $rc != 0 ] || grep -q 'cannot be preloaded' "$err"; then
		echo "bench-heap: $w on $alloc failed (exit $rc): $(grep -v '^MEASURE' "$err" | tail -n 2)" >&2
		failures=$((failures + 1))
	else
		m=$(awk -v w="$w" '$1 == w { print $2 }' "$out")
		awk -v rep="$rep" -v w="$w" -v a="$alloc" -v m="$m" \
			'/^MEASURE/ { printf "%s\t%s\t%s\t%s\t%s\t%s\n", rep, w, a, (m == "" ? $2 : m), $2, $5 }' \
			"$err" >>"$RAW"
		case $w in python) tail -n 1 "$out" | sed "s/^/$alloc /" >>"$OUT/checksums" ;; esac
	fi
	cat "$err" >>"$LOG"
	rm -f "$err" "$out"
}

# A start (of python, of ls) is too short to time alone on a shared
# machine: PASS_N of them, the median kept.
median_runs() {
	local rep=$1 w=$2 alloc=$3 i tmp
	shift 3
	tmp=$(mktemp)
	for ((i = 0; i < PASS_N; i++)); do
		measure "$rep" "$w" "$alloc" "$@"
	done
	# Keep the median of this repetition's lines only.
	grep -v "^$rep	$w	$alloc	" "$RAW" >"$tmp" || true
	grep "^$rep	$w	$alloc	" "$RAW" | sort -t'	' -k4,4g |
		awk -v n="$PASS_N" 'NR == int((n + 1) / 2)' >>"$tmp"
	mv "$tmp" "$RAW"
}

thp() { sed 's/.*\[\(.*\)\].*/\1/' "/sys/kernel/mm/transparent_hugepage/$1" 2>/dev/null || echo "?"; }
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
{
	echo "hugeslab $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC'), $REPS repetitions"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); kernel $(uname -r); THP enabled=$(thp enabled) defrag=$(thp defrag)"
	echo "peers: glibc $(ldd --version | awk 'NR==1 { print $NF }'), jemalloc $(pkgver libjemalloc2), mimalloc $(pkgver 'libmimalloc2*'), tcmalloc $(pkgver libtcmalloc-minimal4); $($PYTHON --version)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$HEADER"
: >"$RAW"
: >"$OUT/checksums"

for ((rep = 1; rep <= REPS; rep++)); do
	echo "bench-heap: repetition $rep of $REPS ($((SECONDS - start)) s so far)"
	n=${#ALLOCS[@]}
	for w in pairs live prodcons realloc crowd; do
		for ((i = 0; i < n; i++)); do
			measure "$rep" "$w" "${ALLOCS[$(((i + rep) % n))]}" "$HEAP" "$w" "$SCALE"
		done
	done
	for ((i = 0; i < n; i++)); do
		a=${ALLOCS[$(((i + rep) % n))]}
		median_runs "$rep" py-pass "$a" "$PYTHON" -c pass
		median_runs "$rep" ls "$a" sh -c 'exec ls -R /usr/share >/dev/null'
	done
	n=${#PYALLOCS[@]}
	for ((i = 0; i < n; i++)); do
		a=${PYALLOCS[$(((i + rep) % n))]}
		if [ "$a" = pymalloc ]; then
			measure "$rep" python "$a" "$PYTHON" bench/python/workload.py $PYSCALE
		else
			measure "$rep" python "$a" env PYTHONMALLOC=malloc "$PYTHON" bench/python/workload.py $PYSCALE
		fi
	done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $((SECONDS - start)) s" >>"$HEADER"

# CPython's answer must not depend on the allocator.
if [ "$(awk '{ print $2 }' "$OUT/checksums" | sort -u | wc -l)" -gt 1 ]; then
	cat "$OUT/checksums" >&2
	die "the Python workload's checksum differs between allocators"
fi

fi # REPORT_ONLY
[ -s "$RAW" ] || die "no results in $RAW"

# ---- the report ---------------------------------------------------------

# Medians per workload and allocator; ratios to the best peer.
awk -F'\t' -v header="$HEADER" -v chart="$OUT/chart.dat" '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ m[$2, $3] = m[$2, $3] " " $4; p[$2, $3] = p[$2, $3] " " $6; seen[$2, $3] = 1 }
END {
	while ((getline line < header) > 0)
		print "# " line
	nw = split("pairs live prodcons realloc crowd python py-pass ls", W, " ")
	na = split("pymalloc glibc jemalloc mimalloc tcmalloc hs-hugetlb hs-thp", A, " ")
	unit["pairs"] = unit["live"] = unit["prodcons"] = unit["realloc"] = unit["crowd"] = "ns/op"
	unit["python"] = unit["py-pass"] = unit["ls"] = "s"
	printf "\n%-9s %-6s", "workload", "unit"
	for (j = 1; j <= na; j++)
		printf " %10s", A[j]
	printf "  %s\n", "hs-hugetlb/best peer (time, peak)"
	printf "workload" > chart
	for (j = 2; j <= na; j++)
		printf "\t%s", A[j] > chart
	printf "\n" > chart
	for (i = 1; i <= nw; i++) {
		w = W[i]; bt = bp = ""
		for (j = 1; j <= na; j++) {
			a = A[j]
			if (!((w, a) in seen))
				continue
			T[a] = median(m[w, a]); P[a] = median(p[w, a])
			if (a ~ /^(glibc|jemalloc|mimalloc|tcmalloc)$/) {
				if (bt == "" || T[a] < bt) bt = T[a]
				if (bp == "" || P[a] < bp) bp = P[a]
			}
		}
		printf "%-9s %-6s", w, unit[w]
		for (j = 1; j <= na; j++)
			printf " %10s", ((w, A[j]) in seen) ? sprintf(unit[w] == "s" ? "%.3f" : "%.1f", T[A[j]]) : "-"
		rt = ((w, "hs-hugetlb") in seen) && bt > 0 ? T["hs-hugetlb"] / bt : 0
		rp = ((w, "hs-hugetlb") in seen) && bp > 0 ? P["hs-hugetlb"] / bp : 0
		printf "  %.2fx, %.2fx\n", rt, rp
		TRATIO[w] = rt; PRATIO[w] = rp
		printf "%s", w > chart
		for (j = 2; j <= na; j++)
			printf "\t%s", (((w, A[j]) in seen) && bt > 0 ? sprintf("%.3f", T[A[j]] / bt) : "?") > chart
		printf "\n" > chart
	}
	printf "\n%-9s %-6s", "peak", "MiB"
	for (j = 1; j <= na; j++)
		printf " %10s", A[j]
	printf "\n"
	for (i = 1; i <= nw; i++) {
		w = W[i]
		printf "%-9s %-6s", w, ""
		for (j = 1; j <= na; j++)
			printf " %10s", ((w, A[j]) in seen) ? sprintf("%.1f", median(p[w, A[j]]) / 1024) : "-"
		printf "\n"
	}
	g = 0; k = 0; worst = 0
	split("pairs live prodcons realloc", M, " ")
	for (i = 1; i <= 4; i++)
		if (TRATIO[M[i]] > 0) {
			g += log(TRATIO[M[i]]); k++
			if (TRATIO[M[i]] > worst) { worst = TRATIO[M[i]]; ww = M[i] }
		}
	printf "\nmicro workloads, hs-hugetlb / best peer: geometric mean %.2fx, worst %.2fx (%s)  [targets 0.9x, 1.2x]\n", k ? exp(g / k) : 0, worst, ww
	if ((("python", "pymalloc") in seen) && (("python", "hs-hugetlb") in seen))
		printf "CPython, hs-hugetlb / pymalloc: %.2fx time  [target 0.95x]; best peer / pymalloc: %.2fx\n", \
			median(m["python", "hs-hugetlb"]) / median(m["python", "pymalloc"]), \
			(TRATIO["python"] > 0 ? median(m["python", "hs-hugetlb"]) / TRATIO["python"] / median(m["python", "pymalloc"]) : 0)
	if (TRATIO["crowd"] > 0)
		printf "crowd (1000 threads), hs-hugetlb / best peer: %.2fx time, %.2fx peak\n", TRATIO["crowd"], PRATIO["crowd"]
	for (i = 7; i <= 8; i++) {
		w = W[i]
		if (((w, "glibc") in seen) && ((w, "hs-hugetlb") in seen))
			printf "%s, hs-hugetlb vs glibc: %.2fx time, %+.1f MiB peak  [targets 1.1x, +4 MiB]\n", w, \
				median(m[w, "hs-hugetlb"]) / median(m[w, "glibc"]), \
				(median(p[w, "hs-hugetlb"]) - median(p[w, "glibc"])) / 1024
	}
	worst = 0
	for (i = 1; i <= nw; i++)
		if (PRATIO[W[i]] > worst) { worst = PRATIO[W[i]]; ww = W[i] }
	printf "peak memory, hs-hugetlb / smallest peer: worst %.2fx (%s)  [target 1.1x]\n", worst, ww
}' "$RAW" >"$OUT/results.txt"

gnuplot -e "datafile='$OUT/chart.dat'; outfile='$OUT/results.svg'" bench/heap/plot.gp
cat "$OUT/results.txt"
echo
echo "bench-heap: wrote $OUT/results.txt and $OUT/results.svg ($((SECONDS - start)) s)"
[ $failures = 0 ] || die "$failures run(s) failed: see $LOG"
