// SPDX-License-Identifier: MIT
/*
 * hsbench-report: hsbench's result lines (all allocators, all repetitions)
 * into the table in results.txt and the data behind the chart.
 *
 *   hsbench-report raw.tsv results.txt chart.dat
 *
 * Per workload and allocator: the median ns/op over repetitions (each run
 * reports its fastest timed round) and its spread ((max - min) / median). Ratios are taken within a repetition -
 * runs of the same repetition are minutes apart at most, those of different
 * repetitions may not be - and the median of those ratios is reported:
 *   x hugeslab   this allocator's time / hugeslab's
 *   x best peer  this allocator's time / the fastest peer's in that rep
 * hugeslab is measured twice: through hs_pool_alloc/free ("hugeslab", the
 * reference for "x hugeslab") and through a held cache with the inline
 * hs_cache_alloc/free ("hugeslab-cache"); targets are shown for both.
 * Peers are glibc, jemalloc, mimalloc and tcmalloc; other labels (glibc-thp,
 * hugeslab-4k) are shown for information and never count as the best peer.
 * Lines starting with '#' are copied to the top of the table. The targets
 * are reported as met or not; nothing here fails a build.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECS	8192
#define MAX_KEYS	64
#define MAX_REPS	64
#define NAME_MAX_LEN	32

struct rec {
	unsigned int rep;
	char workload[NAME_MAX_LEN];
	char label[NAME_MAX_LEN];
	char impl[NAME_MAX_LEN];
	double ns;
	double bytes_per_obj;
	double peak_kib;
	double thp_kib;
};

static struct rec recs[MAX_RECS];
static size_t nrecs;

static const char *const workloads[] = {
	"hot-pair", "hot-lifo16", "live-64", "live-256", "remote", "chase",
};
#define NWORK (sizeof(workloads) / sizeof(workloads[0]))

/* hugeslab through hs_pool_alloc/free, and through a held cache (inline). */
static const char *const subject = "hugeslab";
static const char *const subjects[] = { "hugeslab", "hugeslab-cache" };
#define NSUBJECTS (sizeof(subjects) / sizeof(subjects[0]))
static const char *const peers[] = { "glibc", "jemalloc", "mimalloc", "tcmalloc" };
#define NPEERS (sizeof(peers) / sizeof(peers[0]))

/* Labels in table order: hugeslab, the peers, then any others as found. */
static char labels[MAX_KEYS][NAME_MAX_LEN];
static size_t nlabels;

static const struct {
	const char *what;
	const char *workload;
	const char *against;	/* a peer, or NULL for the best peer */
	double limit;
} targets[] = {
	{ "hot path", "hot-pair", NULL, 0.33 },
	{ "hot path", "hot-lifo16", NULL, 0.33 },
	{ "large live set", "live-64", NULL, 0.80 },
	{ "large live set", "live-256", NULL, 0.80 },
	{ "pointer chase", "chase", "glibc", 0.75 },
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool is_peer(const char *label)
{
	size_t i;

	for (i = 0; i < NPEERS; i++)
		if (!strcmp(label, peers[i]))
			return true;
	return false;
}

static bool is_subject(const char *label)
{
	size_t i;

	for (i = 0; i < NSUBJECTS; i++)
		if (!strcmp(label, subjects[i]))
			return true;
	return false;
}

static void add_label(const char *label)
{
	size_t i;

	for (i = 0; i < nlabels; i++)
		if (!strcmp(labels[i], label))
			return;
	if (nlabels < MAX_KEYS)
		snprintf(labels[nlabels++], NAME_MAX_LEN, "%s", label);
}

/* ns/op of @label in @workload at repetition @rep, or NAN. */
static double ns_at(const char *workload, const char *label, unsigned int rep)
{
	size_t i;

	for (i = 0; i < nrecs; i++)
		if (recs[i].rep == rep && !strcmp(recs[i].workload, workload) &&
		    !strcmp(recs[i].label, label))
			return recs[i].ns;
	return NAN;
}

/* The fastest peer's ns/op in @workload at @rep (NAN if none ran). */
static double best_peer_at(const char *workload, unsigned int rep)
{
	double best = NAN;
	size_t i;

	for (i = 0; i < NPEERS; i++) {
		double v = ns_at(workload, peers[i], rep);

		if (!isnan(v) && (isnan(best) || v < best))
			best = v;
	}
	return best;
}

/* Median over repetitions of @label's time / @ref's (NULL: best peer). */
static double ratio(const char *workload, const char *label, const char *ref)
{
	double v[MAX_REPS];
	size_t n = 0;
	unsigned int rep;

	for (rep = 0; rep < MAX_REPS; rep++) {
		double a = ns_at(workload, label, rep);
		double b = ref ? ns_at(workload, ref, rep) :
				 best_peer_at(workload, rep);

		if (!isnan(a) && !isnan(b) && b > 0)
			v[n++] = a / b;
	}
	return median(v, n);
}

struct summary {
	size_t n;
	double ns, lo, hi;
	double bytes_per_obj, peak_kib, thp_kib;
	const char *impl;
};

static bool summarise(const char *workload, const char *label,
		      struct summary *s)
{
	double ns[MAX_REPS], bpo[MAX_REPS], peak[MAX_REPS];
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nrecs && s->n < MAX_REPS; i++) {
		const struct rec *r = &recs[i];

		if (strcmp(r->workload, workload) || strcmp(r->label, label))
			continue;
		if (!s->n || r->ns < s->lo)
			s->lo = r->ns;
		if (!s->n || r->ns > s->hi)
			s->hi = r->ns;
		if (r->thp_kib > s->thp_kib)
			s->thp_kib = r->thp_kib;
		s->impl = r->impl;
		ns[s->n] = r->ns;
		bpo[s->n] = r->bytes_per_obj;
		peak[s->n] = r->peak_kib;
		s->n++;
	}
	if (!s->n)
		return false;
	s->ns = median(ns, s->n);
	s->bytes_per_obj = median(bpo, s->n);
	s->peak_kib = median(peak, s->n);
	return true;
}

/* The peer with the lowest median in @workload, or NULL. */
static const char *best_peer(const char *workload)
{
	const char *best = NULL;
	double best_ns = 0;
	struct summary s;
	size_t i;

	for (i = 0; i < NPEERS; i++) {
		if (summarise(workload, peers[i], &s) && (!best || s.ns < best_ns)) {
			best = peers[i];
			best_ns = s.ns;
		}
	}
	return best;
}

static int load(const char *path, FILE *out)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct rec *r = &recs[nrecs];
		unsigned long long ops, rss, hugetlb;

		if (line[0] == '#') {
			fputs(line, out);
			continue;
		}
		if (nrecs == MAX_RECS)
			break;
		if (sscanf(line, "%u\t%31s\t%31s\t%31s\t%lf\t%llu\t%lf\t%lf\t%llu\t%llu\t%lf",
			   &r->rep, r->workload, r->label, r->impl, &r->ns,
			   &ops, &r->bytes_per_obj, &r->peak_kib, &rss,
			   &hugetlb, &r->thp_kib) != 11 || r->rep >= MAX_REPS)
			continue;
		nrecs++;
	}
	fclose(f);
	return 0;
}

static void fmt_ratio(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", v);
}

static void table(FILE *out)
{
	size_t w, l;

	fprintf(out, "\n%-11s %-14s %9s %7s %10s %10s %9s %7s %7s\n",
		"workload", "allocator", "ns/op", "spread", "x hugeslab",
		"x bestpeer", "peak MiB", "B/obj", "THP MiB");
	for (w = 0; w < NWORK; w++) {
		const char *best = best_peer(workloads[w]);
		bool first = true;

		for (l = 0; l < nlabels; l++) {
			char rh[16], rb[16], bpo[16];
			struct summary s;

			if (!summarise(workloads[w], labels[l], &s))
				continue;
			fmt_ratio(rh, sizeof(rh), ratio(workloads[w], labels[l], subject));
			fmt_ratio(rb, sizeof(rb), ratio(workloads[w], labels[l], NULL));
			if (s.bytes_per_obj > 0)
				snprintf(bpo, sizeof(bpo), "%.1f", s.bytes_per_obj);
			else
				snprintf(bpo, sizeof(bpo), "-");
			fprintf(out, "%-11s %-14s %9.2f %6.0f%% %10s %10s %9.1f %7s %7.1f%s\n",
				first ? workloads[w] : "", labels[l], s.ns,
				100 * (s.hi - s.lo) / s.ns, rh, rb,
				s.peak_kib / 1024, bpo, s.thp_kib / 1024,
				best && !strcmp(best, labels[l]) ? "  <- best peer" :
				is_peer(labels[l]) || is_subject(labels[l]) ?
				"" : "  (info)");
			first = false;
		}
	}
}

static void verdicts(FILE *out)
{
	size_t i;

	size_t k;

	fprintf(out, "\nTargets (hugeslab time / reference time, median of per-repetition ratios):\n");
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const char *ref = targets[i].against;
		const char *best = ref ? ref : best_peer(targets[i].workload);

		for (k = 0; k < NSUBJECTS; k++) {
			double v = ratio(targets[i].workload, subjects[k], ref);

			if (isnan(v))
				continue;
			fprintf(out, "  %-15s %-11s %-15s %.2fx %s%-9s (target <= %.2fx)  %s\n",
				targets[i].what, targets[i].workload,
				subjects[k], v, ref ? "" : "best peer ",
				best ? best : "?", targets[i].limit,
				v <= targets[i].limit ? "met" : "NOT met");
		}
	}
}

/*
 * Per workload: each allocator's time relative to hugeslab's, the same
 * median of per-repetition ratios as the table's "x hugeslab".
 */
static int chart_data(const char *path)
{
	FILE *f = fopen(path, "w");
	size_t w, l;

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "workload\thugeslab ns/op");
	for (l = 0; l < nlabels; l++)
		if (is_peer(labels[l]) || is_subject(labels[l]))
			fprintf(f, "\t%s", labels[l]);
	fprintf(f, "\n");
	for (w = 0; w < NWORK; w++) {
		struct summary hs;

		if (!summarise(workloads[w], subject, &hs))
			continue;
		fprintf(f, "%s\t%.1f ns", workloads[w], hs.ns);
		for (l = 0; l < nlabels; l++) {
			double v;

			if (!is_peer(labels[l]) && !is_subject(labels[l]))
				continue;
			v = ratio(workloads[w], labels[l], subject);
			if (isnan(v))
				fprintf(f, "\t?");
			else
				fprintf(f, "\t%.3f", v);
		}
		fprintf(f, "\n");
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	FILE *out;
	size_t i;

	if (argc != 4) {
		fprintf(stderr, "usage: hsbench-report RAW.tsv RESULTS.txt CHART.dat\n");
		return 2;
	}
	out = fopen(argv[2], "w");
	if (!out) {
		perror(argv[2]);
		return 1;
	}
	if (load(argv[1], out) < 0)
		return 1;
	if (!nrecs) {
		fprintf(stderr, "hsbench-report: no results in %s\n", argv[1]);
		return 1;
	}
	for (i = 0; i < NSUBJECTS; i++)
		add_label(subjects[i]);
	for (i = 0; i < NPEERS; i++)
		add_label(peers[i]);
	for (i = 0; i < nrecs; i++)
		add_label(recs[i].label);
	table(out);
	verdicts(out);
	fprintf(out, "\nspread: (max - min) / median over repetitions. peak: VmHWM + hugetlb pages of\n"
		"the process. B/obj: memory held per live object (ordinary + hugetlb pages,\n"
		"after minus before the live set was built). THP: AnonHugePages at the end.\n");
	if (fclose(out) || chart_data(argv[3]) < 0)
		return 1;
	return 0;
}
