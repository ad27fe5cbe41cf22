// SPDX-License-Identifier: MIT
/*
 * hsbench: run one workload against one allocator and print its results,
 * one tab-separated line each (bench/run.sh runs it once per allocator,
 * workload and repetition; hsbench-report turns the lines into a table).
 *
 *   hsbench --mode malloc --label jemalloc --workload hot
 *       (under LD_PRELOAD=libjemalloc.so.2)
 *   HUGESLAB_BACKEND=hugetlb hsbench --mode pool --label hugeslab \
 *       --backend hugetlb --workload live --size 256
 *
 * Line: rep workload label impl ns_per_op ops bytes_per_obj peak_kib
 * rss_kib hugetlb_kib thp_kib, where ns_per_op is from the fastest timed
 * round, ops is per round, and peak is VmHWM plus hugetlb pages.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static unsigned int rep;

void bench_report(const struct heap *h, const struct bench_result *r)
{
	struct bench_mem m;

	bench_mem_sample(&m);
	printf("%u\t%s\t%s\t%s\t%.3f\t%llu\t%.1f\t%llu\t%llu\t%llu\t%llu\n",
	       rep, r->workload, h->label, h->impl, r->ns_per_op,
	       (unsigned long long)r->ops, r->bytes_per_obj,
	       (unsigned long long)(m.hwm_kib + m.hugetlb_kib),
	       (unsigned long long)m.rss_kib,
	       (unsigned long long)m.hugetlb_kib,
	       (unsigned long long)m.thp_kib);
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: hsbench --mode malloc|pool|cache --label NAME\n"
"               --workload hot|live|remote|chase\n"
"               [--backend NAME] [--size BYTES] [--objs N] [--ops N]\n"
"               [--rounds N] [--clock cpu|wall] [--seed N] [--rep N]\n"
"  --mode malloc   malloc/free of whatever malloc the process has (LD_PRELOAD)\n"
"  --mode pool     hs_pool_alloc/hs_pool_free on one pool\n"
"  --mode cache    the same through the thread's cache, inline\n"
"                  (hs_pool_cache, hs_cache_alloc/hs_cache_free)\n"
"  --label NAME    name to report; checked against the malloc actually loaded\n"
"  --backend NAME  pool mode: fail unless hugeslab chose this backend\n"
"  --size BYTES    object size (default 64)\n"
"  --objs N        live objects (live, chase)\n"
"  --ops N         operations timed, in all\n"
"  --rounds N      timed rounds of ops/N; the fastest is reported (default %d)\n"
"  --clock cpu     time single-threaded rounds in thread CPU time (default)\n"
"  --clock wall    ... in wall-clock time (remote is always wall-clock)\n",
		BENCH_ROUNDS);
}

static uint64_t number(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s || *end) {
		fprintf(stderr, "hsbench: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "label", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "workload", required_argument, NULL, 'w' },
		{ "size", required_argument, NULL, 's' },
		{ "objs", required_argument, NULL, 'n' },
		{ "ops", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 'S' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "clock", required_argument, NULL, 'c' },
		{ "rep", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode = NULL, *label = NULL, *backend = NULL, *workload = NULL;
	struct bench_opts o = {
		.rounds = BENCH_ROUNDS,
		.seed = 0x9E3779B97F4A7C15ULL,
	};
	size_t size = 64;
	struct heap h;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'l': label = optarg; break;
		case 'b': backend = optarg; break;
		case 'w': workload = optarg; break;
		case 's': size = number(optarg); break;
		case 'n': o.objs = number(optarg); break;
		case 'o': o.ops = number(optarg); break;
		case 'S': o.seed = number(optarg) | 1; break;
		case 'c':
			if (!strcmp(optarg, "wall")) {
				bench_use_wall_clock();
			} else if (strcmp(optarg, "cpu")) {
				fprintf(stderr, "hsbench: --clock is cpu or wall\n");
				return 2;
			}
			break;
		case 'R': o.rounds = (unsigned int)number(optarg); break;
		case 'r': rep = (unsigned int)number(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!mode || !label || !workload || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!o.rounds) {
		fprintf(stderr, "hsbench: --rounds must be at least 1\n");
		return 2;
	}
	/* Every workload stores a pointer or a counter in its objects. */
	if (size < sizeof(void *)) {
		fprintf(stderr, "hsbench: --size must be at least %zu\n",
			sizeof(void *));
		return 2;
	}
	heap_init(&h, mode, label, backend, size);
	if (!strcmp(workload, "hot")) {
		bench_hot(&h, &o);
	} else if (!strcmp(workload, "live")) {
		bench_live(&h, &o);
	} else if (!strcmp(workload, "remote")) {
		bench_remote(&h, &o);
	} else if (!strcmp(workload, "chase")) {
		bench_chase(&h, &o);
	} else {
		fprintf(stderr, "hsbench: unknown workload %s\n", workload);
		return 2;
	}
	/* No hs_pool_destroy: live objects go with the process, as with malloc. */
	return 0;
}
