// SPDX-License-Identifier: MIT
/*
 * hsstat: the descriptions of what is printed, and the text report.
 *
 * Like jemalloc's stats emitter, each piece of data is described once, here:
 * the global counters by hss_stat_descs[], a region's or pool's numbers by
 * hss_region_fields[] and hss_pool_fields[] (JSON key, metric name, type,
 * help), the text tables by region_cols[] and pool_cols[]. The emitters
 * (the text report below, json.c, prometheus.c) only walk those tables, so
 * a new counter is one line in each.
 *
 * Everything a process chose (its command, a pool's name) is untrusted
 * text: the terminal gets no control characters, JSON and Prometheus get
 * valid UTF-8, escaped as each format requires.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "format_internal.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- text helpers -------------------------------------------------------- */

size_t hss_utf8_len(const unsigned char *s)
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
 * A process picks its own names: never let it send control characters to
 * the admin's terminal. Controls and invalid UTF-8 show as '?'. Pads to
 * @width columns.
 */
static void put_safe(FILE *out, const char *str, int width)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;
	int cols = 0;

	while (*s) {
		n = hss_utf8_len(s);
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
	while (x >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		x /= 1024;
		u++;
	}
	/* Keep "1024.0 MiB" from appearing when rounding carries over. */
	if (x >= 1023.95 && u + 1 < ARRAY_SIZE(units)) {
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

	while (v >= 1024 && v % 1024 == 0 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
	return buf;
}

/*
 * part/whole as a whole percentage, rounded down (100% only when full);
 * "-" for 0 of 0. Exact while part * 100 fits, close enough beyond.
 */
static const char *percent(char *buf, size_t len, uint64_t part,
			   uint64_t whole)
{
	unsigned int pct;

	if (!whole) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (part >= whole) {
		pct = 100;
	} else if (part <= UINT64_MAX / 100) {
		pct = (unsigned int)(part * 100 / whole);
	} else {
		pct = (unsigned int)((double)part / (double)whole * 100);
		if (pct > 99)
			pct = 99;
	}
	snprintf(buf, len, "%u%%", pct);
	return buf;
}

/* ---- what is printed: one description per datum ------------------------- */

const struct hss_stat_desc hss_stat_descs[HSS_NR_STATS] = {
	[HSS_ABI_VERSION] = { "hugeslab_abi_version", "gauge",
		"HUGESLAB_ABI_VERSION of the loaded module." },
	[HSS_RESERVED] = { "hugeslab_reserved_bytes", "gauge",
		"Memory the module claimed at load (reserve_mb)." },
	[HSS_USED] = { "hugeslab_used_bytes", "gauge",
		"Bytes held by the regions of all processes." },
	[HSS_FREE] = { "hugeslab_free_bytes", "gauge",
		"What is left of the reserve." },
	[HSS_MAX] = { "hugeslab_max_bytes", "gauge",
		"Global limit (max_mb), 0 if none." },
	[HSS_USER_MAX] = { "hugeslab_user_max_bytes", "gauge",
		"Per-user limit (user_max_mb), 0 if none." },
	[HSS_PEAK] = { "hugeslab_peak_bytes", "gauge",
		"Highest used_bytes since the module was loaded." },
	[HSS_REGIONS] = { "hugeslab_regions", "gauge",
		"Live regions." },
	[HSS_FAILED] = { "hugeslab_failed_requests_total", "counter",
		"Region requests refused since the module was loaded." },
	[HSS_FAILED_LIMIT] = { "hugeslab_failed_limit_total", "counter",
		"Region requests refused because a limit was reached." },
	[HSS_FAILED_NOMEM] = { "hugeslab_failed_nomem_total", "counter",
		"Region requests refused because no huge pages were free." },
	[HSS_CREATED] = { "hugeslab_regions_created_total", "counter",
		"Regions created since the module was loaded." },
	[HSS_DESTROYED] = { "hugeslab_regions_destroyed_total", "counter",
		"Regions freed since the module was loaded." },
	[HSS_NR_NODES] = { "hugeslab_numa_nodes", "gauge",
		"NUMA nodes with memory." },
};

#define RF(m)	offsetof(struct hss_region, m)
#define PF(m)	offsetof(struct hss_pool, m)

const struct hss_field hss_region_fields[] = {
	{ "bytes", RF(bytes), HSS_F_U64, "hugeslab_region_bytes", "gauge",
	  "Size of a region." },
	{ "page_size", RF(page_size), HSS_F_U64,
	  "hugeslab_region_page_size_bytes", "gauge",
	  "Size of the pages backing a region." },
	{ "node", RF(node), HSS_F_S64, NULL, NULL, NULL },
	{ "mapped", RF(mapped), HSS_F_BOOL, "hugeslab_region_mapped", "gauge",
	  "1 if some process maps the region." },
};

const size_t hss_nr_region_fields = ARRAY_SIZE(hss_region_fields);

const struct hss_field hss_pool_fields[] = {
	{ "obj_size", PF(obj_size), HSS_F_U64,
	  "hugeslab_pool_object_size_bytes", "gauge",
	  "Bytes per object of a pool." },
	{ "in_use", PF(in_use), HSS_F_U64, "hugeslab_pool_objects_in_use",
	  "gauge", "Objects of a pool allocated and not freed." },
	{ "total", PF(total), HSS_F_U64, "hugeslab_pool_objects", "gauge",
	  "Objects a pool holds, in use or cached." },
	{ "bytes", PF(bytes), HSS_F_U64, "hugeslab_pool_bytes", "gauge",
	  "Memory a pool holds." },
	{ "allocs", PF(allocs), HSS_F_U64, "hugeslab_pool_allocs_total",
	  "counter", "Allocations from a pool." },
	{ "frees", PF(frees), HSS_F_U64, "hugeslab_pool_frees_total", "counter",
	  "Frees to a pool." },
	{ "cache_hits", PF(cache_hits), HSS_F_U64,
	  "hugeslab_pool_cache_hits_total", "counter",
	  "Allocations from a pool served by a thread's cache." },
};

const size_t hss_nr_pool_fields = ARRAY_SIZE(hss_pool_fields);

void hss_field_value(FILE *out, const struct hss_field *f, const void *row)
{
	const char *p = (const char *)row + f->off;
	uint64_t u;
	int64_t s;
	bool b;

	switch (f->type) {
	case HSS_F_U64:
		memcpy(&u, p, sizeof(u));
		fprintf(out, "%llu", (unsigned long long)u);
		break;
	case HSS_F_S64:
		memcpy(&s, p, sizeof(s));
		fprintf(out, "%lld", (long long)s);
		break;
	case HSS_F_BOOL:
		memcpy(&b, p, sizeof(b));
		fputs(b ? "1" : "0", out);
		break;
	}
}

/**
 * struct column - a column of a text table
 * @head:	its title
 * @width:	its width; negative for left-aligned text
 * @cell:	formats a row's value into @buf
 */
struct column {
	const char *head;
	int width;
	const char *(*cell)(char *buf, size_t len, const void *row);
};

static const char *c_region_id(char *b, size_t n, const void *row)
{
	const struct hss_region *r = row;

	snprintf(b, n, "%llu", (unsigned long long)r->id);
	return b;
}

static const char *c_region_pid(char *b, size_t n, const void *row)
{
	const struct hss_region *r = row;

	snprintf(b, n, "%lld", (long long)r->pid);
	return b;
}

static const char *c_region_comm(char *b, size_t n, const void *row)
{
	const struct hss_region *r = row;

	return r->comm ? r->comm : "";
}

static const char *c_region_bytes(char *b, size_t n, const void *row)
{
	return human(b, n, ((const struct hss_region *)row)->bytes);
}

static const char *c_region_psize(char *b, size_t n, const void *row)
{
	return page_size_str(b, n, ((const struct hss_region *)row)->page_size);
}

static const char *c_region_node(char *b, size_t n, const void *row)
{
	const struct hss_region *r = row;

	if (r->node < 0)
		return "-";
	snprintf(b, n, "%lld", (long long)r->node);
	return b;
}

static const char *c_region_mapped(char *b, size_t n, const void *row)
{
	return ((const struct hss_region *)row)->mapped ? "yes" : "no";
}

static const struct column region_cols[] = {
	{ "ID",		8,	c_region_id },
	{ "PID",	8,	c_region_pid },
	{ "COMMAND",	-16,	c_region_comm },
	{ "BYTES",	10,	c_region_bytes },
	{ "PAGESIZE",	8,	c_region_psize },
	{ "NODE",	4,	c_region_node },
	{ "MAPPED",	6,	c_region_mapped },
};

static const char *c_pool_pid(char *b, size_t n, const void *row)
{
	snprintf(b, n, "%lld", (long long)((const struct hss_pool *)row)->pid);
	return b;
}

static const char *c_pool_comm(char *b, size_t n, const void *row)
{
	const struct hss_pool *p = row;

	return p->comm ? p->comm : "";
}

static const char *c_u64(char *b, size_t n, uint64_t v)
{
	snprintf(b, n, "%llu", (unsigned long long)v);
	return b;
}

static const char *c_pool_objsize(char *b, size_t n, const void *row)
{
	return c_u64(b, n, ((const struct hss_pool *)row)->obj_size);
}

static const char *c_pool_inuse(char *b, size_t n, const void *row)
{
	return c_u64(b, n, ((const struct hss_pool *)row)->in_use);
}

static const char *c_pool_total(char *b, size_t n, const void *row)
{
	return c_u64(b, n, ((const struct hss_pool *)row)->total);
}

static const char *c_pool_use(char *b, size_t n, const void *row)
{
	const struct hss_pool *p = row;

	return percent(b, n, p->in_use, p->total);
}

static const char *c_pool_memory(char *b, size_t n, const void *row)
{
	return human(b, n, ((const struct hss_pool *)row)->bytes);
}

static const char *c_pool_allocs(char *b, size_t n, const void *row)
{
	return c_u64(b, n, ((const struct hss_pool *)row)->allocs);
}

static const char *c_pool_hits(char *b, size_t n, const void *row)
{
	const struct hss_pool *p = row;

	return percent(b, n, p->cache_hits, p->allocs);
}

static const char *c_pool_name(char *b, size_t n, const void *row)
{
	const struct hss_pool *p = row;

	return p->name && *p->name ? p->name : "-";
}

/* Like slabtop, the name last: it is the one column of any width. */
static const struct column pool_cols[] = {
	{ "PID",	8,	c_pool_pid },
	{ "COMMAND",	-16,	c_pool_comm },
	{ "OBJSIZE",	7,	c_pool_objsize },
	{ "INUSE",	9,	c_pool_inuse },
	{ "TOTAL",	9,	c_pool_total },
	{ "USE%",	4,	c_pool_use },
	{ "MEMORY",	10,	c_pool_memory },
	{ "ALLOCS",	10,	c_pool_allocs },
	{ "HIT%",	4,	c_pool_hits },
	{ "POOL",	-1,	c_pool_name },
};

/* ---- text ---------------------------------------------------------------- */

static void print_cols(FILE *out, const struct column *cols, size_t ncols,
		       const void *rows, size_t nrows, size_t row_size)
{
	char buf[64];
	const char *v;
	size_t i, c;
	int w;

	for (c = 0; c < ncols; c++) {
		w = cols[c].width;
		/* No trailing blanks after a last, left-aligned column. */
		if (c + 1 == ncols && w < 0)
			w = 0;
		fprintf(out, "%s%*s", c ? " " : "", w, cols[c].head);
	}
	fputc('\n', out);
	for (i = 0; i < nrows; i++) {
		const void *row = (const char *)rows + i * row_size;

		for (c = 0; c < ncols; c++) {
			if (c)
				fputc(' ', out);
			v = cols[c].cell(buf, sizeof(buf), row);
			if (cols[c].width < 0)
				put_safe(out, v, c + 1 == ncols ? 0 :
					 -cols[c].width);
			else
				fprintf(out, "%*s", cols[c].width, v);
		}
		fputc('\n', out);
	}
}

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

/* A limit: 0 means none. */
static void print_limit_line(FILE *out, const struct hss_stats *s,
			     const char *label, enum hss_stat stat)
{
	if (hss_has(s, stat) && s->val[stat] == 0)
		fprintf(out, " %-16s: unlimited\n", label);
	else
		print_bytes_line(out, s, label, stat);
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

static void print_failed_line(FILE *out, const struct hss_stats *s)
{
	fprintf(out, " %-16s: ", "Failed requests");
	if (!hss_has(s, HSS_FAILED)) {
		fputs("-\n", out);
		return;
	}
	fprintf(out, "%llu", (unsigned long long)s->val[HSS_FAILED]);
	if (hss_has(s, HSS_FAILED_LIMIT) && hss_has(s, HSS_FAILED_NOMEM))
		fprintf(out, " (limit %llu, no pages %llu)",
			(unsigned long long)s->val[HSS_FAILED_LIMIT],
			(unsigned long long)s->val[HSS_FAILED_NOMEM]);
	fputc('\n', out);
}

/* "3 in 2 processes, 12.0 MiB". */
static void print_pools_line(FILE *out, const struct hss_snapshot *snap)
{
	uint64_t bytes = 0;
	size_t i, j, procs = 0;
	char buf[32];

	fprintf(out, " %-16s: ", "Pools");
	if (!snap->have_pools) {
		fputs("-\n", out);
		return;
	}
	for (i = 0; i < snap->nr_pools; i++) {
		bytes += snap->pools[i].bytes;
		for (j = 0; j < i; j++)
			if (snap->pools[j].pid == snap->pools[i].pid)
				break;
		procs += j == i;
	}
	fprintf(out, "%zu in %zu process%s, %s\n", snap->nr_pools, procs,
		procs == 1 ? "" : "es", human(buf, sizeof(buf), bytes));
}

static void print_summary(FILE *out, const struct hss_snapshot *snap)
{
	const struct hss_stats *s = &snap->stats;
	char buf[32];
	bool first = true;
	int bit;

	fprintf(out, " %-16s: %s (%s)\n", "Source",
		hss_source_name(snap->source), snap->path);
	print_bytes_line(out, s, "Reserved", HSS_RESERVED);
	print_bytes_line(out, s, "Used", HSS_USED);
	print_bytes_line(out, s, "Free (reserve)", HSS_FREE);
	print_limit_line(out, s, "Max", HSS_MAX);
	print_limit_line(out, s, "Max per user", HSS_USER_MAX);
	print_bytes_line(out, s, "Peak", HSS_PEAK);
	print_count_line(out, s, "Regions", HSS_REGIONS);
	print_failed_line(out, s);
	print_pools_line(out, snap);

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

void hss_print_text(FILE *out, const struct hss_snapshot *snap,
		    const struct hss_view *view)
{
	print_summary(out, snap);
	if (view->pools) {
		fputc('\n', out);
		if (!snap->have_pools)
			fprintf(out, " (no pools table: it needs %s)\n",
				snap->source == HSS_SRC_DEBUGFS ?
				"a module with the debugfs pools file" :
				"debugfs");
		else if (!snap->nr_pools)
			fputs(" (no process publishes pool statistics)\n", out);
		else
			print_cols(out, pool_cols, ARRAY_SIZE(pool_cols),
				   snap->pools, snap->nr_pools,
				   sizeof(*snap->pools));
	}
	if (view->regions) {
		fputc('\n', out);
		if (!snap->have_regions)
			fputs(" (no per-region table: it needs debugfs)\n", out);
		else
			print_cols(out, region_cols, ARRAY_SIZE(region_cols),
				   snap->regions, snap->nr_regions,
				   sizeof(*snap->regions));
	}
}
