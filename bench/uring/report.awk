# SPDX-License-Identifier: MIT
#
# bench/uring/report.awk: hsbench-uring's and run.sh's raw lines (raw.tsv)
# into the results table; the chart's data into the file named by -v chart.
# Medians over repetitions; every ratio is taken within one repetition
# first, and the median of those is reported (as bench/ does); spread is
# (max - min) / median. POSIX awk (mawk is Debian's default).

BEGIN { FS = "\t" }

/^#/ { header = header $0 "\n"; next }

$1 == "register" {
	k = $2 SUBSEP $3
	if (!(k in seen_reg)) { seen_reg[k] = 1; reg_order[++nreg] = k }
	reg_us[k, $4] = $5; reg_kib[k, $4] = $6; reg_iov[k] = $7; reg_thp[k] = $8
	if ($4 > reps_reg) reps_reg = $4
	next
}
$1 == "odirect" {
	k = $2 SUBSEP $3
	od_mbs[k, $4] = $5; od_cpu[k, $4] = $6
	if (!($3 in seen_bs)) { seen_bs[$3] = 1; bs_order[++nbs] = $3 }
	if ($4 > reps_od) reps_od = $4
	next
}
$1 == "echo" {
	k = $2 SUBSEP $3
	ec_ops[k, $4] = $5; ec_p99[k, $4] = $6; ec_cpu[k, $4] = $7
	if (!($3 in seen_msg)) { seen_msg[$3] = 1; msg_order[++nmsg] = $3 }
	if ($4 > reps_ec) reps_ec = $4
	next
}

# Median and spread of v[1..n] (sorted in place).
function sort_n(v, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = v[i]
		for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]
		v[j + 1] = t
	}
}
function median(v, n) {
	sort_n(v, n)
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function spread(v, n,    m) {
	m = median(v, n)
	return m > 0 ? (v[n] - v[1]) / m : 0
}
# Collect arr[k, 1..n] into tmp; the count.
function collect(arr, k, n,    r, c) {
	split("", tmp)
	c = 0
	for (r = 1; r <= n; r++) if ((k, r) in arr) tmp[++c] = arr[k, r]
	return c
}
# Median over repetitions of num[kn, r] / den[kd, r].
function ratio(num, kn, den, kd, n,    r, c) {
	split("", tmp)
	c = 0
	for (r = 1; r <= n; r++)
		if ((kn, r) in num && (kd, r) in den && den[kd, r] > 0)
			tmp[++c] = num[kn, r] / den[kd, r]
	return c ? median(tmp, c) : -1
}
function fmt_ratio(x) { return x < 0 ? "n/a" : sprintf("%.2f", x) }
function bar(label, x) { if (x > 0) printf "\"%s\" %.4f\n", label, x > chart }

END {
	printf "%s", header
	base = "hugeslab" SUBSEP "per-2MiB"

	# ---- registration
	print ""
	printf "Registering 1 GiB of fixed buffers (64 KiB each) with io_uring_register_buffers(),\n"
	printf "median of %d (kernel KiB: SUnreclaim + VmallocUsed kept for the registration):\n\n", reps_reg
	printf "| memory | layout | iovecs | time ms | spread | kernel KiB | time ÷ hugeslab per-2MiB | THP %% |\n"
	printf "|---|---|---:|---:|---:|---:|---:|---:|\n"
	for (i = 1; i <= nreg; i++) {
		k = reg_order[i]
		split(k, kk, SUBSEP)
		c = collect(reg_us, k, reps_reg); us = median(tmp, c); sp = spread(tmp, c)
		c = collect(reg_kib, k, reps_reg); kib = median(tmp, c)
		r = ratio(reg_us, k, reg_us, base, reps_reg)
		printf "| %s | %s | %d | %.2f | %.0f%% | %.0f | %s | %s |\n", kk[1], kk[2], reg_iov[k],
			us / 1000, sp * 100, kib, fmt_ratio(r), (reg_thp[k] < 0 ? "?" : reg_thp[k])
		reg_med_kib[k] = kib
	}
	r4k = ratio(reg_us, "malloc-4k" SUBSEP "per-2MiB", reg_us, base, reps_reg)
	printf "\nTarget: hugeslab at least 10x faster than the same buffers on 4 KiB pages: %sx, %s.\n",
		fmt_ratio(r4k), (r4k >= 10 ? "met" : "NOT met")
	rthp = ratio(reg_us, "thp" SUBSEP "per-2MiB", reg_us, base, reps_reg)
	reach = ratio(reg_us, "hugeslab" SUBSEP "per-buffer", reg_us, base, reps_reg)
	if (reg_med_kib[base] > 0)
		kmem = reg_med_kib["malloc-4k" SUBSEP "per-2MiB"] / reg_med_kib[base]
	else
		kmem = -1
	printf "Kernel memory, 4 KiB pages ÷ hugeslab (per-2MiB): %s; an iovec per buffer ÷ per 2 MiB (hugeslab): %s time.\n",
		fmt_ratio(kmem), fmt_ratio(reach)

	# ---- O_DIRECT
	print ""
	printf "O_DIRECT reads of a file, 8 in flight, median of %d:\n\n", reps_od
	printf "| block | fixed hugeslab MB/s | malloc MB/s | MB/s hugeslab ÷ malloc | CPU ms/GiB hugeslab | malloc | CPU malloc ÷ hugeslab |\n"
	printf "|---:|---:|---:|---:|---:|---:|---:|\n"
	for (i = 1; i <= nbs; i++) {
		bs = bs_order[i]
		kf = "hugeslab-fixed" SUBSEP bs; km = "malloc" SUBSEP bs
		c = collect(od_mbs, kf, reps_od); fm = median(tmp, c)
		c = collect(od_mbs, km, reps_od); mm = median(tmp, c)
		c = collect(od_cpu, kf, reps_od); fc = median(tmp, c)
		c = collect(od_cpu, km, reps_od); mc = median(tmp, c)
		rt = ratio(od_mbs, kf, od_mbs, km, reps_od)
		rc = ratio(od_cpu, km, od_cpu, kf, reps_od)
		printf "| %d KiB | %.0f | %.0f | %s | %.0f | %.0f | %s |\n", bs / 1024, fm, mm,
			fmt_ratio(rt), fc, mc, fmt_ratio(rc)
		od_rt[bs] = rt; od_rc[bs] = rc
	}

	# ---- echo
	print ""
	printf "uring_echo under uring_echo_load (32 connections, closed loop), median of %d:\n\n", reps_ec
	printf "| message | buffers | ops/s | spread | p99 us | spread | server CPU us/message | spread |\n"
	printf "|---:|---|---:|---:|---:|---:|---:|---:|\n"
	for (i = 1; i <= nmsg; i++) {
		msg = msg_order[i]
		for (j = 1; j <= 2; j++) {
			mode = j == 1 ? "hugeslab" : "malloc"
			k = mode SUBSEP msg
			c = collect(ec_ops, k, reps_ec); ops = median(tmp, c); sop = spread(tmp, c)
			c = collect(ec_p99, k, reps_ec); p99 = median(tmp, c); sp99 = spread(tmp, c)
			c = collect(ec_cpu, k, reps_ec); cpu = median(tmp, c); scpu = spread(tmp, c)
			printf "| %d B | %s | %.0f | %.0f%% | %.1f | %.0f%% | %.2f | %.0f%% |\n", msg, mode, ops, sop * 100, p99, sp99 * 100, cpu, scpu * 100
		}
		ec_rops[msg] = ratio(ec_ops, "hugeslab" SUBSEP msg, ec_ops, "malloc" SUBSEP msg, reps_ec)
		ec_rp99[msg] = ratio(ec_p99, "hugeslab" SUBSEP msg, ec_p99, "malloc" SUBSEP msg, reps_ec)
		ec_rcpu[msg] = ratio(ec_cpu, "malloc" SUBSEP msg, ec_cpu, "hugeslab" SUBSEP msg, reps_ec)
	}
	print ""
	for (i = 1; i <= nmsg; i++) {
		msg = msg_order[i]
		printf "%d-byte messages: ops/s hugeslab ÷ malloc %s, p99 hugeslab ÷ malloc %s, server CPU per message malloc ÷ hugeslab %s\n", msg,
			fmt_ratio(ec_rops[msg]), fmt_ratio(ec_rp99[msg]), fmt_ratio(ec_rcpu[msg])
	}

	# ---- chart: how many times better hugeslab does (higher is better)
	if (chart != "") {
		printf "" > chart
		bar("register: 4 KiB pages ÷ hugeslab (time)", r4k)
		bar("register: THP ÷ hugeslab (time)", rthp)
		bar("register: iovec per buffer ÷ per 2 MiB (time)", reach)
		bar("register: 4 KiB pages ÷ hugeslab (kernel memory)", kmem)
		for (i = 1; i <= nbs; i++) {
			bs = bs_order[i]
			bar(sprintf("O_DIRECT %d KiB: MB/s hugeslab ÷ malloc", bs / 1024), od_rt[bs])
			bar(sprintf("O_DIRECT %d KiB: CPU malloc ÷ hugeslab", bs / 1024), od_rc[bs])
		}
		for (i = 1; i <= nmsg; i++) {
			msg = msg_order[i]
			bar(sprintf("echo %d B: ops/s hugeslab ÷ malloc", msg), ec_rops[msg])
			if (ec_rp99[msg] > 0)
				bar(sprintf("echo %d B: p99 malloc ÷ hugeslab", msg), 1 / ec_rp99[msg])
			bar(sprintf("echo %d B: server CPU malloc ÷ hugeslab", msg), ec_rcpu[msg])
		}
	}
}
