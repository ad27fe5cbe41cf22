# SPDX-License-Identifier: MIT
# bench/uring/plot.gp: results.svg, from report.awk's chart data (one
# line per ratio: "label" value, where above 1 hugeslab does better).
#
#   gnuplot -e "datafile='chart.dat'; outfile='results.svg'" bench/uring/plot.gp

stats datafile using 2 nooutput
n = STATS_records

set terminal svg size 1100,(130 + 34 * n) dynamic font "sans,13" background rgb "white"
set output outfile
set label 1 "io_uring buffers on hugeslab's 2 MiB pages: how many times better (1 = no difference)" at screen 0.5, screen 0.97 center
set tmargin 3
set xlabel "x better with hugeslab (log scale)"
set logscale x 2
set termoption noenhanced
set xrange [0.5:STATS_max * 2.5]
set yrange [n - 0.3:-0.7]
set ytics nomirror scale 0
set grid xtics lc rgb "#dddddd"
set style fill solid 0.9 border rgb "#333333"
unset key
set lmargin 52
set arrow from 1, graph 0 to 1, graph 1 nohead dt 2 lc rgb "#555555"

plot datafile using (sqrt($2)):0:(1):($2):($0 - 0.35):($0 + 0.35):ytic(1) \
	with boxxyerror lc rgb "#d62728", \
     '' using ($2):0:(sprintf(" %.1fx", $2)) with labels left offset 0.3,0 notitle
