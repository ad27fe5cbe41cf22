// SPDX-License-Identifier: MIT
/*
 * hsstat: show what the hugeslab module holds - a summary block, then one
 * line per region, like slabtop; or one JSON object for scripts.
 *
 * This file is the command line and the formatting; collect.c gathers the
 * data (debugfs, or the query ioctl when debugfs cannot be read).
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

#ifndef HSSTAT_VERSION
#define HSSTAT_VERSION "unknown"
#endif

#define EXIT_USAGE	2
#define DEFAULT_DELAY	2.0

enum sort_key {
	SORT_BYTES,	/* largest first */
	SORT_PID,
	SORT_ID,
};

struct options {
	bool once;
	bool json;
	double delay;
	enum sort_key sort;
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [options]\n"
		"Show the memory held through /dev/hugeslab: global totals and every region.\n"
		"\n"
		"  -o, --once          print once and exit\n"
		"  -d, --delay SECS    refresh every SECS seconds (default %.0f)\n"
		"  -s, --sort KEY      order regions by bytes (largest first, the default),\n"
		"                      pid or id\n"
		"  -j, --json          print one JSON object per refresh\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n"
		"\n"
		"Reads /sys/kernel/debug/hugeslab/ (root only). When debugfs cannot be read,\n"
		"shows the global totals from /dev/hugeslab instead and says so on stderr.\n"
		"HSSTAT_DEBUGFS=DIR reads the debugfs files from DIR instead.\n",
		prog, DEFAULT_DELAY);
}

/* ---- text helpers -------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at @s, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * A process picks its own name: never let it send control characters to
 * the admin's terminal. Controls and invalid UTF-8 show as '?'.
 */
static void put_safe(FILE *out, const char *str, int width)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;
	int cols = 0;

	while (*s) {
		n = utf8_len(s);
		if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
			fputc('?', out);
			s++;
		} else {
			fwrite(s, 1, n, out);
			s += n;
		}
		cols++;
	}
	for (; cols < width; cols++)
		fputc(' ', out);
}

/* 67108864 -> "64.0 MiB"; below 1 KiB exact bytes. */
static const char *human(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	double x = (double)v / 1024;
	unsigned int u = 0;

	if (v < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)v);
		return buf;
	}
	while (x >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		x /= 1024;
		u++;
	}
	/* Keep "1024.0 MiB" from appearing when rounding carries over. */
	if (x >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		x /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", x, units[u]);
	return buf;
}

/* Page sizes are powers of two: "2 MiB", "1 GiB", "4 KiB". */
static const char *page_size_str(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	while (v >= 1024 && v % 1024 == 0 && u + 1 < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
	return buf;
}

/* ---- text output --------------------------------------------------------- */

static void print_bytes_line(FILE *out, const struct hss_stats *s,
			     const char *label, enum hss_stat stat)
{
	char buf[32];

	fprintf(out, " %-16s: ", label);
	if (!hss_has(s, stat))
		fputs("-\n", out);
	else
		fprintf(out, "%s\n", human(buf, sizeof(buf), s->val[stat]));
}

static void print_count_line(FILE *out, const struct hss_stats *s,
			     const char *label, enum hss_stat stat)
{
	fprintf(out, " %-16s: ", label);
	if (!hss_has(s, stat))
		fputs("-\n", out);
	else
		fprintf(out, "%llu\n", (unsigned long long)s->val[stat]);
}

static void print_summary(FILE *out, const struct hss_snapshot *snap)
{
	const struct hss_stats *s = &snap->stats;
	char buf[32];
	bool first = true;
	int bit;

	fprintf(out, " %-16s: %s (%s)\n", "Source",
		snap->source == HSS_SRC_DEBUGFS ? "debugfs" : "ioctl",
		snap->path);
	print_bytes_line(out, s, "Reserved", HSS_RESERVED);
	print_bytes_line(out, s, "Used", HSS_USED);
	print_bytes_line(out, s, "Free (reserve)", HSS_FREE);
	if (hss_has(s, HSS_MAX) && s->val[HSS_MAX] == 0)
		fprintf(out, " %-16s: unlimited\n", "Max");
	else
		print_bytes_line(out, s, "Max", HSS_MAX);
	print_bytes_line(out, s, "Peak", HSS_PEAK);
	print_count_line(out, s, "Regions", HSS_REGIONS);
	print_count_line(out, s, "Failed requests", HSS_FAILED);

	fprintf(out, " %-16s: ", "Page sizes");
	if (hss_has(s, HSS_PAGE_SIZES)) {
		for (bit = 0; bit < 64; bit++) {
			if (!(s->val[HSS_PAGE_SIZES] & (1ULL << bit)))
				continue;
			fprintf(out, "%s%s", first ? "" : ", ",
				page_size_str(buf, sizeof(buf), 1ULL << bit));
			first = false;
		}
		if (first)
			fputs("none", out);
	} else {
		fputs("-", out);
	}
	fputc('\n', out);
}

static void print_table(FILE *out, const struct hss_snapshot *snap)
{
	const struct hss_region *r;
	char bytes[32], psize[32], node[24];
	size_t i;

	fputc('\n', out);
	if (!snap->have_regions) {
		fputs(" (no per-region table: it needs debugfs)\n", out);
		return;
	}
	fprintf(out, "%8s %8s %-16s %10s %8s %4s %6s\n", "ID", "PID",
		"COMMAND", "BYTES", "PAGESIZE", "NODE", "MAPPED");
	for (i = 0; i < snap->nr_regions; i++) {
		r = &snap->regions[i];
		if (r->node < 0)
			snprintf(node, sizeof(node), "-");
		else
			snprintf(node, sizeof(node), "%lld", (long long)r->node);
		fprintf(out, "%8llu %8lld ", (unsigned long long)r->id,
			(long long)r->pid);
		put_safe(out, r->comm ? r->comm : "", 16);
		fprintf(out, " %10s %8s %4s %6s\n",
			human(bytes, sizeof(bytes), r->bytes),
			page_size_str(psize, sizeof(psize), r->page_size),
			node, r->mapped ? "yes" : "no");
	}
}

/* ---- JSON output --------------------------------------------------------- */

/* A JSON string; invalid UTF-8 becomes U+FFFD so the output stays valid. */
static void json_str(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', out);
	while (*s) {
		n = utf8_len(s);
		if (n == 0) {
			fputs("\\ufffd", out);
			s++;
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, n, out);
			s += n;
			continue;
		}
		switch (*s) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (*s < 0x20)
				fprintf(out, "\\u%04x", *s);
			else
				fputc(*s, out);
		}
		s++;
	}
	fputc('"', out);
}

static void print_json(FILE *out, const struct hss_snapshot *snap)
{
	const struct hss_stats *s = &snap->stats;
	const struct hss_region *r;
	const char *sep = "";
	size_t i;
	int st, bit;

	fputs("{\"source\":", out);
	json_str(out, snap->source == HSS_SRC_DEBUGFS ? "debugfs" : "ioctl");
	fputs(",\"path\":", out);
	json_str(out, snap->path);
	if (snap->note) {
		fputs(",\"note\":", out);
		json_str(out, snap->note);
	}
	fputs(",\"stats\":{", out);
	for (st = 0; st < HSS_NR_STATS; st++) {
		if (!hss_has(s, (enum hss_stat)st))
			continue;
		fprintf(out, "%s\"%s\":", sep, hss_stat_name((enum hss_stat)st));
		sep = ",";
		if (st != HSS_PAGE_SIZES) {
			fprintf(out, "%llu", (unsigned long long)s->val[st]);
			continue;
		}
		/* Sizes in bytes are easier to use than the kernel's mask. */
		fputc('[', out);
		for (bit = 0; bit < 64; bit++)
			if (s->val[st] & (1ULL << bit))
				fprintf(out, "%s%llu",
					s->val[st] & ((1ULL << bit) - 1) ? "," : "",
					1ULL << bit);
		fputc(']', out);
	}
	fputs("},\"regions\":", out);
	if (!snap->have_regions) {
		fputs("null}\n", out);
		return;
	}
	fputc('[', out);
	for (i = 0; i < snap->nr_regions; i++) {
		r = &snap->regions[i];
		fprintf(out, "%s{\"id\":%llu,\"pid\":%lld,\"comm\":",
			i ? "," : "", (unsigned long long)r->id,
			(long long)r->pid);
		json_str(out, r->comm ? r->comm : "");
		fprintf(out,
			",\"bytes\":%llu,\"page_size\":%llu,\"node\":%lld,\"mapped\":%s}",
			(unsigned long long)r->bytes,
			(unsigned long long)r->page_size, (long long)r->node,
			r->mapped ? "true" : "false");
	}
	fputs("]}\n", out);
}

/* ---- main ---------------------------------------------------------------- */

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_bytes(const void *a, const void *b)
{
	const struct hss_region *x = a, *y = b;

	return cmp_u64(y->bytes, x->bytes) ?: cmp_u64(x->id, y->id);
}

static int cmp_pid(const void *a, const void *b)
{
	const struct hss_region *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid) ?: cmp_u64(x->id, y->id);
}

static int cmp_id(const void *a, const void *b)
{
	const struct hss_region *x = a, *y = b;

	return cmp_u64(x->id, y->id);
}

static void sort_regions(struct hss_snapshot *snap, enum sort_key key)
{
	int (*cmp)(const void *, const void *) =
		key == SORT_PID ? cmp_pid : key == SORT_ID ? cmp_id : cmp_bytes;

	if (snap->nr_regions > 1)
		qsort(snap->regions, snap->nr_regions, sizeof(*snap->regions),
		      cmp);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "once",	no_argument,		NULL, 'o' },
		{ "delay",	required_argument,	NULL, 'd' },
		{ "sort",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int c;

	o->delay = DEFAULT_DELAY;
	o->sort = SORT_BYTES;
	while ((c = getopt_long(argc, argv, "od:s:jhV", longopts, NULL)) != -1) {
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
			break;
		case 's':
			if (!strcmp(optarg, "bytes")) {
				o->sort = SORT_BYTES;
			} else if (!strcmp(optarg, "pid")) {
				o->sort = SORT_PID;
			} else if (!strcmp(optarg, "id")) {
				o->sort = SORT_ID;
			} else {
				fprintf(stderr,
					"hsstat: unknown sort key '%s' (bytes, pid or id)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			o->json = true;
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
	return -1;
}

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
	struct hss_config cfg = { .debugfs_dir = getenv("HSSTAT_DEBUGFS") };
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
	/* Redraw in place only on a terminal; logs get one block after another. */
	clear = !o.once && !o.json && isatty(STDOUT_FILENO);

	for (;;) {
		if (hss_collect(&cfg, &snap, err, sizeof(err))) {
			fprintf(stderr, "hsstat: %s\n", err);
			ret = EXIT_FAILURE;
			break;
		}
		/* Tell once (and again if it changes), not on every refresh. */
		if (snap.note && (!last_note || strcmp(last_note, snap.note))) {
			fprintf(stderr,
				"hsstat: debugfs not available: %s; showing global totals from %s\n",
				snap.note, snap.path);
			free(last_note);
			last_note = strdup(snap.note);
		}
		sort_regions(&snap, o.sort);
		if (clear)
			fputs("\033[H\033[2J", stdout);
		else if (!first && !o.json)
			fputc('\n', stdout);
		if (o.json) {
			print_json(stdout, &snap);
		} else {
			print_summary(stdout, &snap);
			print_table(stdout, &snap);
		}
		hss_snapshot_free(&snap);
		first = false;
		if (fflush(stdout) || ferror(stdout)) {
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
