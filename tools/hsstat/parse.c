// SPDX-License-Identifier: MIT
/*
 * hsstat: the module's debugfs file formats (kmod/hs_debugfs.c).
 *
 * Turns the text of the stats, regions and pools files into the structs of
 * collect.h: the "hugeslab <file> <major>[.<minor>]" header, the stats
 * file's "key value" lines (the keys are the counters' names), and one
 * table parser that the regions and pools files share. It reads the
 * streams collect.c opens; finding them, and what to do when they cannot
 * be opened, is collect.c's concern. The text helpers collect.c needs for
 * /proc/mounts and sysfs live here too.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_internal.h"

/* ---- counter names ------------------------------------------------------- */

/* The stats file's keys; sysfs names its attributes after them too. */
static const char *const stat_names[HSS_NR_STATS] = {
	[HSS_ABI_VERSION]	= "abi_version",
	[HSS_PAGE_SIZES]	= "page_sizes",
	[HSS_RESERVED]		= "reserved_bytes",
	[HSS_USED]		= "used_bytes",
	[HSS_FREE]		= "free_bytes",
	[HSS_MAX]		= "max_bytes",
	[HSS_USER_MAX]		= "user_max_bytes",
	[HSS_PEAK]		= "peak_bytes",
	[HSS_REGIONS]		= "regions",
	[HSS_FAILED]		= "failed_requests",
	[HSS_FAILED_LIMIT]	= "failed_limit",
	[HSS_FAILED_NOMEM]	= "failed_nomem",
	[HSS_CREATED]		= "created",
	[HSS_DESTROYED]		= "destroyed",
	[HSS_FEATURES]		= "features",
	[HSS_NR_NODES]		= "nr_nodes",
};

const char *hss_stat_name(enum hss_stat stat)
{
	return stat_names[stat];
}

/* ---- text helpers -------------------------------------------------------- */

int hss_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int octal_digit(char c)
{
	return c >= '0' && c <= '7';
}

void hss_unescape(char *s)
{
	char *out = s;

	while (*s) {
		/* Only \ooo is an escape; a stray backslash stays as it is. */
		if (s[0] == '\\' && octal_digit(s[1]) && octal_digit(s[2]) &&
		    octal_digit(s[3])) {
			*out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) |
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

void hss_chomp(char *line)
{
	size_t n = strlen(line);

	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
}

int hss_parse_u64(const char *s, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

/* Like hss_parse_u64(), signed and decimal. */
static int parse_s64(const char *s, int64_t *v)
{
	long long x;
	char *end;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*v = x;
	return 0;
}

/* ---- debugfs parsing ----------------------------------------------------- */

/* Check the "hugeslab <file> <major>[.<minor>]" first line. */
static int check_header(FILE *f, const char *path, const char *file,
			unsigned int major_ok, char *err, size_t errlen)
{
	char *line = NULL, *end, *ver;
	unsigned long major;
	size_t cap = 0, flen = strlen(file);
	int ret = -1;

	errno = 0;
	if (getline(&line, &cap, f) < 0) {
		if (errno)
			hss_fail(err, errlen, "%s: %s", path, strerror(errno));
		else
			hss_fail(err, errlen, "%s: empty file", path);
		goto out;
	}
	hss_chomp(line);
	if (strncmp(line, "hugeslab ", 9) || strncmp(line + 9, file, flen) ||
	    line[9 + flen] != ' ') {
		hss_fail(err, errlen,
			 "%s: not a hugeslab %s file (first line '%s')",
			 path, file, line);
		goto out;
	}
	ver = line + 9 + flen + 1;
	errno = 0;
	major = strtoul(ver, &end, 10);
	if (end == ver || errno || (*end && *end != '.')) {
		hss_fail(err, errlen, "%s: bad format version '%s'", path, ver);
		goto out;
	}
	/* A minor bump only adds things an old reader may skip. */
	if (major != major_ok) {
		hss_fail(err, errlen,
			 "%s: format version %s is not supported (this hsstat reads version %u); use the hsstat that came with the module",
			 path, ver, major_ok);
		goto out;
	}
	ret = 0;
out:
	free(line);
	return ret;
}

int hss_read_stats(FILE *f, const char *path, struct hss_stats *s,
		   char *err, size_t errlen)
{
	char *line = NULL, *key, *val, *end;
	unsigned int lineno = 1;
	size_t cap = 0;
	uint64_t v;
	int i, ret = -1;

	if (check_header(f, path, "stats", HSS_STATS_MAJOR, err, errlen))
		return -1;
	errno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		hss_chomp(line);
		key = line + strspn(line, " \t");
		if (*key == '#' || *key == '\0')
			continue;
		val = key + strcspn(key, " \t");
		if (*val)
			*val++ = '\0';
		val += strspn(val, " \t");
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		for (i = 0; i < HSS_NR_STATS; i++)
			if (!strcmp(key, stat_names[i]))
				break;
		/* Keys added by newer modules are not ours to judge. */
		if (i == HSS_NR_STATS)
			continue;
		if (hss_parse_u64(val, &v)) {
			hss_fail(err, errlen, "%s:%u: bad value '%s' for %s",
				 path, lineno, val, key);
			goto out;
		}
		hss_stat_set(s, (enum hss_stat)i, v);
		errno = 0;
	}
	if (ferror(f)) {
		hss_fail(err, errlen, "%s: %s", path,
			 strerror(errno ? errno : EIO));
		goto out;
	}
	ret = 0;
out:
	free(line);
	return ret;
}

/*
 * The regions and pools files are tables: one row per line, fields split by
 * blanks, the last one (comm) the rest of the line. A "# col col ..."
 * comment names the columns, so a newer module may add one (before comm,
 * which stays last) without breaking us.
 */
#define MAX_COLS 32
#define COL_OTHER (-1)

struct table {
	const char *file;		/* "regions" */
	unsigned int major;		/* format version we read */
	const char *const *cols;	/* names; the last one is comm */
	unsigned int ncols;
	size_t row_size;
	/* Fill @row from @field[c], the text of column c; 0 or -1. */
	int (*parse)(char *const *field, void *row);
	void (*free_row)(void *row);
};

struct layout {
	int col[MAX_COLS];	/* index into table.cols, or COL_OTHER */
	unsigned int n;
};

static void layout_default(const struct table *t, struct layout *lay)
{
	unsigned int i;

	for (i = 0; i < t->ncols; i++)
		lay->col[i] = (int)i;
	lay->n = t->ncols;
}

/*
 * Returns 1 if @line was a comment naming the columns and @lay now follows
 * it, 0 if it was another comment, -1 if it named columns we cannot work
 * with (one of ours missing, or comm not last).
 */
static int parse_layout(char *line, const struct table *t, struct layout *lay)
{
	struct layout l = { .n = 0 };
	unsigned int i, last = t->ncols - 1;
	uint64_t seen = 0;
	char *tok, *save;
	int c;

	for (tok = strtok_r(line + 1, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (l.n == MAX_COLS)
			return -1;
		for (c = 0; c < (int)t->ncols; c++)
			if (!strcmp(tok, t->cols[c]))
				break;
		l.col[l.n++] = c < (int)t->ncols ? c : COL_OTHER;
		if (c < (int)t->ncols)
			seen |= 1ULL << c;
	}
	/* A layout names the first column and comm; anything else is prose. */
	if (!(seen & 1) || !(seen & (1ULL << last)))
		return 0;
	if (seen != (1ULL << t->ncols) - 1 || l.col[l.n - 1] != (int)last)
		return -1;
	for (i = 0; i < l.n; i++)
		lay->col[i] = l.col[i];
	lay->n = l.n;
	return 1;
}

/* Point @field[c] at column c's text in @line (which is cut up). */
static int split_row(char *line, const struct table *t,
		     const struct layout *lay, char **field)
{
	char *p = line, *f;
	unsigned int i;

	for (i = 0; i < lay->n; i++) {
		if (lay->col[i] == (int)t->ncols - 1) {
			/* comm: the rest of the line, spaces escaped. */
			f = p;
		} else {
			f = p + strspn(p, " \t");
			p = f + strcspn(f, " \t");
			if (p == f)
				return -1;
			if (*p)
				*p++ = '\0';
		}
		if (lay->col[i] != COL_OTHER)
			field[lay->col[i]] = f;
	}
	return 0;
}

/* Read a table file into a malloc'ed array of t->row_size rows. */
static int read_table(FILE *f, const char *path, const struct table *t,
		      void **rows, size_t *nr, char *err, size_t errlen)
{
	char *line = NULL, *field[MAX_COLS], *row, *grown;
	unsigned int lineno = 1;
	size_t cap = 0, alloc = 0;
	struct layout lay;
	int ret = -1;

	layout_default(t, &lay);
	if (check_header(f, path, t->file, t->major, err, errlen))
		return -1;
	row = calloc(1, t->row_size);
	if (!row)
		return hss_fail(err, errlen, "out of memory");
	errno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		hss_chomp(line);
		if (line[0] == '\0')
			continue;
		if (line[0] == '#') {
			if (*nr == 0 && parse_layout(line, t, &lay) < 0) {
				hss_fail(err, errlen,
					 "%s:%u: unsupported column layout",
					 path, lineno);
				goto out;
			}
			continue;
		}
		memset(row, 0, t->row_size);
		if (split_row(line, t, &lay, field) || t->parse(field, row)) {
			t->free_row(row);
			hss_fail(err, errlen, "%s:%u: cannot parse %s line",
				 path, lineno, t->file);
			goto out;
		}
		if (*nr == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			grown = realloc(*rows, alloc * t->row_size);
			if (!grown) {
				t->free_row(row);
				hss_fail(err, errlen, "out of memory");
				goto out;
			}
			*rows = grown;
		}
		memcpy((char *)*rows + *nr * t->row_size, row, t->row_size);
		(*nr)++;
		errno = 0;
	}
	if (ferror(f)) {
		hss_fail(err, errlen, "%s: %s", path,
			 strerror(errno ? errno : EIO));
		goto out;
	}
	ret = 0;
out:
	free(row);
	free(line);
	return ret;
}

/* An escaped text field, unescaped into a new string. */
static int dup_text(char *field, char **out)
{
	hss_unescape(field);
	*out = strdup(field);
	return *out ? 0 : -1;
}

/* ---- regions ------------------------------------------------------------- */

enum region_col {
	RCOL_ID, RCOL_PID, RCOL_BYTES, RCOL_PAGE_SIZE, RCOL_NODE, RCOL_MAPPED,
	RCOL_COMM, RCOL_NR
};

static const char *const region_cols[RCOL_NR] = {
	[RCOL_ID]	= "id",
	[RCOL_PID]	= "pid",
	[RCOL_BYTES]	= "bytes",
	[RCOL_PAGE_SIZE] = "page_size",
	[RCOL_NODE]	= "node",
	[RCOL_MAPPED]	= "mapped",
	[RCOL_COMM]	= "comm",
};

static int parse_region(char *const *field, void *row)
{
	struct hss_region *r = row;
	const char *mapped = field[RCOL_MAPPED];

	if (hss_parse_u64(field[RCOL_ID], &r->id) ||
	    parse_s64(field[RCOL_PID], &r->pid) ||
	    hss_parse_u64(field[RCOL_BYTES], &r->bytes) ||
	    hss_parse_u64(field[RCOL_PAGE_SIZE], &r->page_size) ||
	    parse_s64(field[RCOL_NODE], &r->node))
		return -1;
	if (!strcmp(mapped, "yes"))
		r->mapped = true;
	else if (strcmp(mapped, "no"))
		return -1;
	return dup_text(field[RCOL_COMM], &r->comm);
}

void hss_region_free(struct hss_region *r)
{
	free(r->comm);
	r->comm = NULL;
}

static void free_region(void *row)
{
	hss_region_free(row);
}

static const struct table regions_table = {
	.file = "regions",
	.major = HSS_REGIONS_MAJOR,
	.cols = region_cols,
	.ncols = RCOL_NR,
	.row_size = sizeof(struct hss_region),
	.parse = parse_region,
	.free_row = free_region,
};

int hss_read_regions(FILE *f, const char *path, struct hss_region **regions,
		     size_t *nr, char *err, size_t errlen)
{
	void *rows = NULL;
	int ret;

	ret = read_table(f, path, &regions_table, &rows, nr, err, errlen);
	*regions = rows;
	return ret;
}

/* ---- pools --------------------------------------------------------------- */

enum pool_col {
	PCOL_PID, PCOL_NAME, PCOL_OBJ_SIZE, PCOL_IN_USE, PCOL_TOTAL,
	PCOL_BYTES, PCOL_ALLOCS, PCOL_FREES, PCOL_CACHE_HITS, PCOL_COMM,
	PCOL_NR
};

static const char *const pool_cols[PCOL_NR] = {
	[PCOL_PID]	= "pid",
	[PCOL_NAME]	= "name",
	[PCOL_OBJ_SIZE]	= "obj_size",
	[PCOL_IN_USE]	= "in_use",
	[PCOL_TOTAL]	= "total",
	[PCOL_BYTES]	= "bytes",
	[PCOL_ALLOCS]	= "allocs",
	[PCOL_FREES]	= "frees",
	[PCOL_CACHE_HITS] = "cache_hits",
	[PCOL_COMM]	= "comm",
};

static int parse_pool(char *const *field, void *row)
{
	struct hss_pool *p = row;

	if (parse_s64(field[PCOL_PID], &p->pid) ||
	    hss_parse_u64(field[PCOL_OBJ_SIZE], &p->obj_size) ||
	    hss_parse_u64(field[PCOL_IN_USE], &p->in_use) ||
	    hss_parse_u64(field[PCOL_TOTAL], &p->total) ||
	    hss_parse_u64(field[PCOL_BYTES], &p->bytes) ||
	    hss_parse_u64(field[PCOL_ALLOCS], &p->allocs) ||
	    hss_parse_u64(field[PCOL_FREES], &p->frees) ||
	    hss_parse_u64(field[PCOL_CACHE_HITS], &p->cache_hits))
		return -1;
	/* The module writes "-" for a pool without a name. */
	if (!strcmp(field[PCOL_NAME], "-"))
		field[PCOL_NAME][0] = '\0';
	if (dup_text(field[PCOL_NAME], &p->name))
		return -1;
	return dup_text(field[PCOL_COMM], &p->comm);
}

void hss_pool_free(struct hss_pool *p)
{
	free(p->name);
	free(p->comm);
	p->name = NULL;
	p->comm = NULL;
}

static void free_pool(void *row)
{
	hss_pool_free(row);
}

static const struct table pools_table = {
	.file = "pools",
	.major = HSS_POOLS_MAJOR,
	.cols = pool_cols,
	.ncols = PCOL_NR,
	.row_size = sizeof(struct hss_pool),
	.parse = parse_pool,
	.free_row = free_pool,
};

int hss_read_pools(FILE *f, const char *path, struct hss_pool **pools,
		   size_t *nr, char *err, size_t errlen)
{
	void *rows = NULL;
	size_t i;
	int ret;

	ret = read_table(f, path, &pools_table, &rows, nr, err, errlen);
	*pools = rows;
	for (i = 0; i < *nr; i++)
		(*pools)[i].order = i;
	return ret;
}
