# SPDX-License-Identifier: MIT
# bench/heap/plot.gp: the chart of the heap benchmark, from run.sh's chart
# data (tab-separated: workload, then each allocator's time relative to the
# fastest peer of that workload).
#
#   gnuplot -e "datafile='chart.dat'; outfile='results.svg'" bench/heap/plot.gp

set terminal svg size 960,520 dynamic font "sans,13" background rgb "white"
set output outfile
set datafile separator "\t"
set datafile missing "?"

set title "malloc drop-in vs peers: time relative to the fastest peer (median; lower is better)"
set ylabel "x the fastest peer's time (log scale)"
set logscale y 2
set yrange [0.25:64]
set ytics ("1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16, "32" 32, "64" 64)
set grid ytics lc rgb "#dddddd"
set key outside bottom center horizontal
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.9 border rgb "#333333"
set boxwidth 1
set xtics nomirror scale 0
# glibc, jemalloc, mimalloc, tcmalloc, hs-hugetlb, hs-thp
set linetype 1 lc rgb "#1f77b4"
set linetype 2 lc rgb "#2ca02c"
set linetype 3 lc rgb "#9467bd"
set linetype 4 lc rgb "#ff7f0e"
set linetype 5 lc rgb "#d62728"
set linetype 6 lc rgb "#ff9896"

plot for [i=2:*] datafile using i:xtic(1) title columnheader(i), \
     1 with lines lc rgb "#555555" dt 2 notitle
