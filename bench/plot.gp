# SPDX-License-Identifier: MIT
# bench/plot.gp: the chart of results.svg, from hsbench-report's chart data
# (tab-separated: workload, hugeslab's ns/op, then each allocator's time
# relative to hugeslab's).
#
#   gnuplot -e "datafile='chart.dat'; outfile='results.svg'" bench/plot.gp

set terminal svg size 960,520 dynamic font "sans,13" background rgb "white"
set output outfile
set datafile separator "\t"
set datafile missing "?"

set title "hugeslab pools vs malloc: time per operation relative to hugeslab (median over repetitions)"
set ylabel "x hugeslab's time (log scale; above 1: slower than hugeslab)"
set logscale y 2
set yrange [0.25:16]
set ytics ("1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16)
set grid ytics lc rgb "#dddddd"
set key top left horizontal
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.9 border rgb "#333333"
set boxwidth 1
set xtics nomirror scale 0
set bmargin 4
# hugeslab, hugeslab-cache, glibc, jemalloc, mimalloc, tcmalloc
set linetype 1 lc rgb "#d62728"
set linetype 2 lc rgb "#ff9896"
set linetype 3 lc rgb "#1f77b4"
set linetype 4 lc rgb "#2ca02c"
set linetype 5 lc rgb "#9467bd"
set linetype 6 lc rgb "#ff7f0e"

plot for [i=3:*] datafile using i:xtic(sprintf("%s\n(hugeslab %s)", strcol(1), strcol(2))) \
	title columnheader(i), \
     1 with lines lc rgb "#555555" dt 2 notitle
