// SPDX-License-Identifier: MIT
/*
 * hsstat: show what the hugeslab module holds - a summary block, then the
 * pools processes publish and the regions, one line each, like slabtop; or
 * one JSON object for scripts; or Prometheus metrics for node_exporter.
 *
 * This file is the command line, sorting and the refresh loop; collect.c
 * gathers the data (debugfs, else sysfs, else the query ioctl), format.c
 * prints it.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "format.h"

#ifndef HSSTAT_VERSION
#define HSSTAT_VERSION "unknown"
#endif

#define EXIT_USAGE	2
#define DEFAULT_DELAY	2.0
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Orders of the regions table; R_BYTES is the default. */
enum region_order { R_BYTES, R_PID, R_COMM, R_ID };

/* Orders of the pools table; P_MEMORY is the default. */
enum pool_order {
	P_MEMORY, P_PID, P_COMM, P_NAME, P_OBJSIZE, P_INUSE, P_TOTAL, P_USE,
	P_ALLOCS, P_HITS
};

/*
 * One --sort key orders both tables where it makes sense; a key a table
 * does not have (-1) leaves that table in its default order.
 */
static const struct {
	const char *name;
	int region;		/* enum region_order, or -1 */
	int pool;		/* enum pool_order, or -1 */
} sort_keys[] = {
	{ "bytes",	R_BYTES,	P_MEMORY },
	{ "memory",	R_BYTES,	P_MEMORY },
	{ "pid",	R_PID,		P_PID },
	{ "comm",	R_COMM,		P_COMM },
	{ "id",		R_ID,		-1 },
	{ "name",	-1,		P_NAME },
	{ "objsize",	-1,		P_OBJSIZE },
	{ "inuse",	-1,		P_INUSE },
	{ "total",	-1,		P_TOTAL },
	{ "use",	-1,		P_USE },
	{ "allocs",	-1,		P_ALLOCS },
	{ "hits",	-1,		P_HITS },
};

enum output { OUT_TEXT, OUT_JSON, OUT_PROMETHEUS };

struct options {
	bool once;
	bool delay_set;
	enum output output;
	double delay;
	struct hss_view view;
	enum region_order region_order;
	enum pool_order pool_order;
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [options]\n"
		"Show the memory held through /dev/hugeslab: global totals, the pools of\n"
		"processes that publish statistics, and every region.\n"
		"\n"
		"  -o, --once          print once and exit\n"
		"  -d, --delay SECS    refresh every SECS seconds (default %.0f)\n"
		"  -p, --pools         show the pools table\n"
		"  -r, --regions       show the regions table\n"
		"                      (neither: both, pools first)\n"
		"  -s, --sort KEY      order the tables by KEY, see below\n"
		"  -j, --json          print one JSON object per refresh\n"
		"      --prometheus    print metrics in the Prometheus text format once, for\n"
		"                      node_exporter's textfile collector\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n"
		"\n"
		"Sort keys (a table a key does not apply to keeps its default order):\n"
		"  both tables   bytes or memory (the default), pid, comm\n"
		"  pools         name, objsize, inuse, total, use (USE%%), allocs, hits (HIT%%)\n"
		"  regions       id\n"
		"Numbers sort largest first; pid, id and names ascending.\n"
		"\n"
		"Reads /sys/kernel/debug/hugeslab/ (root only). When debugfs cannot be read,\n"
		"shows the global totals from /sys/class/misc/hugeslab/ (or, for older\n"
		"modules, /dev/hugeslab) and says so on stderr; regions and pools need debugfs.\n"
		"HSSTAT_DEBUGFS=DIR and HSSTAT_SYSFS=DIR read those files from DIR instead.\n",
		prog, DEFAULT_DELAY);
}

/* ---- sorting ------------------------------------------------------------- */

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_s64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/*
 * a/b against c/d, exactly and without overflow (as continued fractions:
 * whole parts first, then the inverted remainders); x/0 counts as less than
 * any ratio.
 */
static int cmp_ratio(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	uint64_t ra, rc, t;

	if (!b || !d)
		return (b != 0) - (d != 0);
	for (;;) {
		if (a / b != c / d)
			return a / b < c / d ? -1 : 1;
		ra = a % b;
		rc = c % d;
		if (!ra || !rc)
			return (ra != 0) - (rc != 0);
		/* ra/b < rc/d exactly when d/rc < b/ra. */
		t = b;
		a = d;
		b = rc;
		c = t;
		d = ra;
	}
}

static int cmp_region(const void *a, const void *b, void *arg)
{
	const struct hss_region *x = a, *y = b;
	int c = 0;

	switch (*(const enum region_order *)arg) {
	case R_BYTES:
		c = cmp_u64(y->bytes, x->bytes);
		break;
	case R_PID:
		c = cmp_s64(x->pid, y->pid);
		break;
	case R_COMM:
		c = cmp_str(x->comm, y->comm);
		break;
	case R_ID:
		break;
	}
	return c ?: cmp_u64(x->id, y->id);
}

static int cmp_pool(const void *a, const void *b, void *arg)
{
	const struct hss_pool *x = a, *y = b;
	int c = 0;

	/* Amounts largest first, identities ascending. */
	switch (*(const enum pool_order *)arg) {
	case P_MEMORY:
		c = cmp_u64(y->bytes, x->bytes);
		break;
	case P_PID:
		break;
	case P_COMM:
		c = cmp_str(x->comm, y->comm);
		break;
	case P_NAME:
		c = cmp_str(x->name, y->name);
		break;
	case P_OBJSIZE:
		c = cmp_u64(y->obj_size, x->obj_size);
		break;
	case P_INUSE:
		c = cmp_u64(y->in_use, x->in_use);
		break;
	case P_TOTAL:
		c = cmp_u64(y->total, x->total);
		break;
	case P_USE:
		c = cmp_ratio(y->in_use, y->total, x->in_use, x->total);
		break;
	case P_ALLOCS:
		c = cmp_u64(y->allocs, x->allocs);
		break;
	case P_HITS:
		c = cmp_ratio(y->cache_hits, y->allocs, x->cache_hits,
			      x->allocs);
		break;
	}
	return c ?: cmp_s64(x->pid, y->pid) ?: cmp_str(x->name, y->name) ?:
		cmp_u64(x->order, y->order);
}

static void sort_snapshot(struct hss_snapshot *snap, const struct options *o)
{
	if (snap->nr_regions > 1)
		qsort_r(snap->regions, snap->nr_regions,
			sizeof(*snap->regions), cmp_region,
			(void *)&o->region_order);
	if (snap->nr_pools > 1)
		qsort_r(snap->pools, snap->nr_pools, sizeof(*snap->pools),
			cmp_pool, (void *)&o->pool_order);
}

/* ---- command line -------------------------------------------------------- */

static int parse_sort(const char *arg, struct options *o)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sort_keys); i++) {
		if (strcmp(arg, sort_keys[i].name))
			continue;
		o->region_order = sort_keys[i].region < 0 ? R_BYTES :
			(enum region_order)sort_keys[i].region;
		o->pool_order = sort_keys[i].pool < 0 ? P_MEMORY :
			(enum pool_order)sort_keys[i].pool;
		return 0;
	}
	fprintf(stderr, "hsstat: unknown sort key '%s' (one of", arg);
	for (i = 0; i < ARRAY_SIZE(sort_keys); i++)
		fprintf(stderr, " %s", sort_keys[i].name);
	fputs(")\n", stderr);
	return -1;
}

enum { OPT_PROMETHEUS = 0x100 };

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "once",	no_argument,		NULL, 'o' },
		{ "delay",	required_argument,	NULL, 'd' },
		{ "pools",	no_argument,		NULL, 'p' },
		{ "regions",	no_argument,		NULL, 'r' },
		{ "sort",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "prometheus",	no_argument,		NULL, OPT_PROMETHEUS },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	bool json = false, prom = false;
	char *end;
	int c;

	o->delay = DEFAULT_DELAY;
	while ((c = getopt_long(argc, argv, "od:prs:jhV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'o':
			o->once = true;
			break;
		case 'd':
			errno = 0;
			o->delay = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(o->delay) ||
			    o->delay <= 0 || o->delay > 86400) {
				fprintf(stderr,
					"hsstat: --delay wants seconds between 0 and 86400, not '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			o->delay_set = true;
			break;
		case 'p':
			o->view.pools = true;
			break;
		case 'r':
			o->view.regions = true;
			break;
		case 's':
			if (parse_sort(optarg, o))
				return EXIT_USAGE;
			break;
		case 'j':
			json = true;
			break;
		case OPT_PROMETHEUS:
			prom = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return EXIT_SUCCESS;
		case 'V':
			printf("hsstat %s\n", HSSTAT_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr, argv[0]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hsstat: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr, argv[0]);
		return EXIT_USAGE;
	}
	if (json && prom) {
		fputs("hsstat: --json and --prometheus are two different outputs; pick one\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (prom && o->delay_set) {
		fputs("hsstat: --prometheus prints once (run it from cron); --delay does not apply\n",
		      stderr);
		return EXIT_USAGE;
	}
	o->output = prom ? OUT_PROMETHEUS : json ? OUT_JSON : OUT_TEXT;
	if (prom)
		o->once = true;
	if (!o->view.pools && !o->view.regions)
		o->view.pools = o->view.regions = true;
	return -1;
}

/* ---- main ---------------------------------------------------------------- */

static void sleep_secs(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct hss_config cfg = {
		.debugfs_dir = getenv("HSSTAT_DEBUGFS"),
		.sysfs_dir = getenv("HSSTAT_SYSFS"),
	};
	struct options o = { 0 };
	struct hss_snapshot snap;
	char err[8192], *last_note = NULL;
	bool clear, first = true;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret;
	if (cfg.debugfs_dir && !*cfg.debugfs_dir)
		cfg.debugfs_dir = NULL;
	if (cfg.sysfs_dir && !*cfg.sysfs_dir)
		cfg.sysfs_dir = NULL;
	/* Redraw in place only on a terminal; logs get one block after another. */
	clear = !o.once && o.output == OUT_TEXT && isatty(STDOUT_FILENO);

	for (;;) {
		if (hss_collect(&cfg, &snap, err, sizeof(err))) {
			fprintf(stderr, "hsstat: %s\n", err);
			ret = EXIT_FAILURE;
			break;
		}
		/* Tell once (and again if it changes), not on every refresh. */
		if (snap.note && (!last_note || strcmp(last_note, snap.note))) {
			fprintf(stderr,
				"hsstat: debugfs not available: %s; showing global totals from %s; "
				HSS_NEED_DEBUGFS "\n", snap.note, snap.path);
			free(last_note);
			last_note = strdup(snap.note);
		}
		sort_snapshot(&snap, &o);
		if (clear)
			fputs("\033[H\033[2J", stdout);
		else if (!first && o.output == OUT_TEXT)
			fputc('\n', stdout);
		ret = 0;
		switch (o.output) {
		case OUT_TEXT:
			hss_print_text(stdout, &snap, &o.view);
			break;
		case OUT_JSON:
			hss_print_json(stdout, &snap, &o.view);
			break;
		case OUT_PROMETHEUS:
			ret = hss_print_prometheus(stdout, &snap, &o.view);
			break;
		}
		hss_snapshot_free(&snap);
		first = false;
		if (ret || fflush(stdout) || ferror(stdout)) {
			fprintf(stderr, "hsstat: writing output: %s\n",
				strerror(errno));
			ret = EXIT_FAILURE;
			break;
		}
		if (o.once) {
			ret = EXIT_SUCCESS;
			break;
		}
		sleep_secs(o.delay);
	}
	free(last_note);
	return ret;
}
