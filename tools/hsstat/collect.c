// SPDX-License-Identifier: MIT
/*
 * hsstat: data collection.
 *
 * Reads the module's debugfs files (formats in kmod/hs_debugfs.c) into a
 * struct hss_snapshot. Debugfs is root-only, may be unmounted and vanishes
 * under lockdown, so when it cannot be read the global totals come from the
 * module's sysfs attributes (kmod/hs_sysfs.c, readable by anyone) or, from
 * modules without them, HUGESLAB_IOC_QUERY, with a note saying why; when
 * nothing works the error names the one thing the user has to fix.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi/hugeslab.h"

#include "collect.h"

#define DEBUGFS_MNT		"/sys/kernel/debug"
#define MODULE_SYSFS		"/sys/module/hugeslab"
#define MODULE_SYSFS_DEV	"/sys/class/misc/hugeslab"
#define LOCKDOWN_FILE		"/sys/kernel/security/lockdown"

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

const char *hss_source_name(enum hss_source source)
{
	switch (source) {
	case HSS_SRC_DEBUGFS:
		return "debugfs";
	case HSS_SRC_SYSFS:
		return "sysfs";
	case HSS_SRC_IOCTL:
		return "ioctl";
	}
	return "?";
}

static void stat_set(struct hss_stats *s, enum hss_stat stat, uint64_t v)
{
	s->val[stat] = v;
	s->have |= 1U << stat;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
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

static void chomp(char *line)
{
	size_t n = strlen(line);

	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
}

/* Strict number parsing: the whole string, no sign for unsigned values. */
static int parse_u64(const char *s, uint64_t *v)
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

/* ---- locating debugfs ---------------------------------------------------- */

/*
 * Find where debugfs is mounted, preferring the usual place. Returns 1 and
 * the mount point, 0 if it is not mounted, -1 if /proc/mounts is unreadable.
 */
static int find_debugfs(char *mnt, size_t len)
{
	char *line = NULL, *save, *dir, *type;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	f = fopen("/proc/mounts", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (!strtok_r(line, " \t\n", &save))
			continue;
		dir = strtok_r(NULL, " \t\n", &save);
		type = strtok_r(NULL, " \t\n", &save);
		if (!dir || !type || strcmp(type, "debugfs"))
			continue;
		hss_unescape(dir);
		if (strlen(dir) >= len)
			continue;
		if (!found || !strcmp(dir, DEBUGFS_MNT))
			strcpy(mnt, dir);
		found = 1;
		if (!strcmp(dir, DEBUGFS_MNT))
			break;
	}
	free(line);
	fclose(f);
	return found;
}

/* Why the debugfs files could not be opened. */
enum dbg_state {
	DBG_OK,
	DBG_NOT_MOUNTED,
	DBG_DENIED,		/* not root */
	DBG_LOCKDOWN,		/* root, yet EPERM */
	DBG_MISSING,		/* mounted, no hugeslab directory */
	DBG_ERROR,
};

struct dbg_probe {
	enum dbg_state state;
	int err;
	char dir[PATH_MAX];
	char stats[PATH_MAX];
	FILE *f;
};

static void dbg_probe(const struct hss_config *cfg, struct dbg_probe *p)
{
	char mnt[PATH_MAX] = DEBUGFS_MNT;
	int n;

	if (cfg->debugfs_dir) {
		n = snprintf(p->dir, sizeof(p->dir), "%s", cfg->debugfs_dir);
	} else {
		if (find_debugfs(mnt, sizeof(mnt)) == 0) {
			p->state = DBG_NOT_MOUNTED;
			snprintf(p->dir, sizeof(p->dir), "%s/hugeslab",
				 DEBUGFS_MNT);
			return;
		}
		n = snprintf(p->dir, sizeof(p->dir), "%.*s/hugeslab",
			     PATH_MAX - 16, mnt);
	}
	if (n < 0 || (size_t)n >= sizeof(p->dir) - sizeof("/regions")) {
		p->state = DBG_ERROR;
		p->err = ENAMETOOLONG;
		return;
	}
	snprintf(p->stats, sizeof(p->stats), "%.*s/stats", PATH_MAX - 16,
		 p->dir);

	p->f = fopen(p->stats, "re");
	if (p->f) {
		p->state = DBG_OK;
		return;
	}
	p->err = errno;
	switch (errno) {
	case ENOENT:
	case ENOTDIR:
		p->state = DBG_MISSING;
		break;
	case EACCES:
		p->state = DBG_DENIED;
		break;
	case EPERM:
		/* Root is refused only by lockdown (security_locked_down). */
		p->state = geteuid() == 0 ? DBG_LOCKDOWN : DBG_DENIED;
		break;
	default:
		p->state = DBG_ERROR;
		break;
	}
}

/* The active lockdown mode ("integrity", ...), if securityfs tells. */
static void lockdown_mode(char *buf, size_t len)
{
	char line[128], *open, *close;
	FILE *f;

	snprintf(buf, len, "lockdown");
	f = fopen(LOCKDOWN_FILE, "re");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		open = strchr(line, '[');
		close = open ? strchr(open, ']') : NULL;
		if (close) {
			*close = '\0';
			snprintf(buf, len, "lockdown=%s", open + 1);
		}
	}
	fclose(f);
}

/* One phrase saying why debugfs was not used. */
static void dbg_reason(const struct dbg_probe *p, char *buf, size_t len)
{
	char mode[64];

	switch (p->state) {
	case DBG_OK:
		buf[0] = '\0';
		break;
	case DBG_NOT_MOUNTED:
		snprintf(buf, len,
			 "debugfs is not mounted (mount -t debugfs none "
			 DEBUGFS_MNT ")");
		break;
	case DBG_DENIED:
		snprintf(buf, len, "%s: %s (debugfs is for root only)",
			 p->stats, strerror(p->err));
		break;
	case DBG_LOCKDOWN:
		lockdown_mode(mode, sizeof(mode));
		snprintf(buf, len,
			 "kernel lockdown (%s) blocks debugfs: %s: %s", mode,
			 p->stats, strerror(p->err));
		break;
	case DBG_MISSING:
	case DBG_ERROR:
		snprintf(buf, len, "%s: %s", p->stats, strerror(p->err));
		break;
	}
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
			fail(err, errlen, "%s: %s", path, strerror(errno));
		else
			fail(err, errlen, "%s: empty file", path);
		goto out;
	}
	chomp(line);
	if (strncmp(line, "hugeslab ", 9) || strncmp(line + 9, file, flen) ||
	    line[9 + flen] != ' ') {
		fail(err, errlen, "%s: not a hugeslab %s file (first line '%s')",
		     path, file, line);
		goto out;
	}
	ver = line + 9 + flen + 1;
	errno = 0;
	major = strtoul(ver, &end, 10);
	if (end == ver || errno || (*end && *end != '.')) {
		fail(err, errlen, "%s: bad format version '%s'", path, ver);
		goto out;
	}
	/* A minor bump only adds things an old reader may skip. */
	if (major != major_ok) {
		fail(err, errlen,
		     "%s: format version %s is not supported (this hsstat reads version %u); use the hsstat that came with the module",
		     path, ver, major_ok);
		goto out;
	}
	ret = 0;
out:
	free(line);
	return ret;
}

static int read_stats(FILE *f, const char *path, struct hss_stats *s,
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
		chomp(line);
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
		if (parse_u64(val, &v)) {
			fail(err, errlen, "%s:%u: bad value '%s' for %s", path,
			     lineno, val, key);
			goto out;
		}
		stat_set(s, (enum hss_stat)i, v);
		errno = 0;
	}
	if (ferror(f)) {
		fail(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
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
		return fail(err, errlen, "out of memory");
	errno = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		chomp(line);
		if (line[0] == '\0')
			continue;
		if (line[0] == '#') {
			if (*nr == 0 && parse_layout(line, t, &lay) < 0) {
				fail(err, errlen,
				     "%s:%u: unsupported column layout", path,
				     lineno);
				goto out;
			}
			continue;
		}
		memset(row, 0, t->row_size);
		if (split_row(line, t, &lay, field) || t->parse(field, row)) {
			t->free_row(row);
			fail(err, errlen, "%s:%u: cannot parse %s line", path,
			     lineno, t->file);
			goto out;
		}
		if (*nr == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			grown = realloc(*rows, alloc * t->row_size);
			if (!grown) {
				t->free_row(row);
				fail(err, errlen, "out of memory");
				goto out;
			}
			*rows = grown;
		}
		memcpy((char *)*rows + *nr * t->row_size, row, t->row_size);
		(*nr)++;
		errno = 0;
	}
	if (ferror(f)) {
		fail(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
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

	if (parse_u64(field[RCOL_ID], &r->id) ||
	    parse_s64(field[RCOL_PID], &r->pid) ||
	    parse_u64(field[RCOL_BYTES], &r->bytes) ||
	    parse_u64(field[RCOL_PAGE_SIZE], &r->page_size) ||
	    parse_s64(field[RCOL_NODE], &r->node))
		return -1;
	if (!strcmp(mapped, "yes"))
		r->mapped = true;
	else if (strcmp(mapped, "no"))
		return -1;
	return dup_text(field[RCOL_COMM], &r->comm);
}

static void free_region(void *row)
{
	struct hss_region *r = row;

	free(r->comm);
	r->comm = NULL;
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
	    parse_u64(field[PCOL_OBJ_SIZE], &p->obj_size) ||
	    parse_u64(field[PCOL_IN_USE], &p->in_use) ||
	    parse_u64(field[PCOL_TOTAL], &p->total) ||
	    parse_u64(field[PCOL_BYTES], &p->bytes) ||
	    parse_u64(field[PCOL_ALLOCS], &p->allocs) ||
	    parse_u64(field[PCOL_FREES], &p->frees) ||
	    parse_u64(field[PCOL_CACHE_HITS], &p->cache_hits))
		return -1;
	/* The module writes "-" for a pool without a name. */
	if (!strcmp(field[PCOL_NAME], "-"))
		field[PCOL_NAME][0] = '\0';
	if (dup_text(field[PCOL_NAME], &p->name))
		return -1;
	return dup_text(field[PCOL_COMM], &p->comm);
}

static void free_pool(void *row)
{
	struct hss_pool *p = row;

	free(p->name);
	free(p->comm);
	p->name = NULL;
	p->comm = NULL;
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

/* Open "<dir>/<file>"; NULL with errno set on failure. */
static FILE *open_in(const char *dir, const char *file, char *path,
		     size_t len)
{
	if ((size_t)snprintf(path, len, "%s/%s", dir, file) >= len) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return fopen(path, "re");
}

static int collect_debugfs(struct dbg_probe *p, struct hss_snapshot *snap,
			   char *err, size_t errlen)
{
	char path[PATH_MAX + 16];
	void *rows;
	size_t i;
	FILE *f;
	int ret;

	snap->source = HSS_SRC_DEBUGFS;
	snap->path = strdup(p->dir);
	if (!snap->path)
		return fail(err, errlen, "out of memory");
	if (read_stats(p->f, p->stats, &snap->stats, err, errlen))
		return -1;

	f = open_in(p->dir, "regions", path, sizeof(path));
	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	snap->have_regions = true;
	rows = NULL;
	ret = read_table(f, path, &regions_table, &rows, &snap->nr_regions,
			 err, errlen);
	snap->regions = rows;
	fclose(f);
	if (ret)
		return -1;

	/* Modules before the pool stats area have no pools file. */
	f = open_in(p->dir, "pools", path, sizeof(path));
	if (!f)
		return errno == ENOENT ? 0 :
			fail(err, errlen, "%s: %s", path, strerror(errno));
	snap->have_pools = true;
	rows = NULL;
	ret = read_table(f, path, &pools_table, &rows, &snap->nr_pools, err,
			 errlen);
	snap->pools = rows;
	fclose(f);
	for (i = 0; i < snap->nr_pools; i++)
		snap->pools[i].order = i;
	return ret;
}

/* ---- the sysfs fallback -------------------------------------------------- */

/*
 * The module's counters as device attributes, one value per file, readable
 * by anyone and not subject to lockdown. Modules before them have only the
 * device's own files; then the first fallback is skipped.
 */
static const struct {
	enum hss_stat stat;
	bool required;
} sysfs_attrs[] = {
	{ HSS_RESERVED,		true },
	{ HSS_USED,		true },
	{ HSS_FREE,		false },
	{ HSS_MAX,		false },
	{ HSS_USER_MAX,		false },
	{ HSS_PEAK,		false },
	{ HSS_REGIONS,		true },
	{ HSS_FAILED,		true },
	{ HSS_PAGE_SIZES,	false },
};

/*
 * Returns 0 and the counters, 1 if sysfs cannot be used (@why says why),
 * -1 if an attribute held something that is not a number.
 */
static int collect_sysfs(const struct hss_config *cfg, struct hss_stats *s,
			 char *why, size_t whylen, char *err, size_t errlen)
{
	const char *dir = cfg->sysfs_dir ? cfg->sysfs_dir : MODULE_SYSFS_DEV;
	char path[PATH_MAX + 32], buf[64];
	const char *name;
	uint64_t v;
	size_t i, n;
	FILE *f;

	for (i = 0; i < sizeof(sysfs_attrs) / sizeof(sysfs_attrs[0]); i++) {
		name = stat_names[sysfs_attrs[i].stat];
		f = open_in(dir, name, path, sizeof(path));
		if (!f) {
			if (!sysfs_attrs[i].required)
				continue;
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			return 1;
		}
		n = fread(buf, 1, sizeof(buf) - 1, f);
		if (ferror(f)) {
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			fclose(f);
			return 1;
		}
		fclose(f);
		buf[n] = '\0';
		chomp(buf);
		if (parse_u64(buf, &v))
			return fail(err, errlen, "%s: bad value '%s'", path,
				    buf);
		stat_set(s, sysfs_attrs[i].stat, v);
	}
	return 0;
}

/* ---- the ioctl fallback -------------------------------------------------- */

static int collect_ioctl(int fd, const char *why, struct hss_snapshot *snap,
			 char *err, size_t errlen)
{
	struct hugeslab_query q;
	struct hss_stats *s = &snap->stats;

	memset(&q, 0, sizeof(q));
	if (ioctl(fd, HUGESLAB_IOC_QUERY, &q) < 0)
		return fail(err, errlen, "HUGESLAB_IOC_QUERY on %s: %s",
			    HUGESLAB_DEVICE, strerror(errno));

	snap->source = HSS_SRC_IOCTL;
	snap->path = strdup(HUGESLAB_DEVICE);
	snap->note = strdup(why);
	if (!snap->path || !snap->note)
		return fail(err, errlen, "out of memory");

	stat_set(s, HSS_ABI_VERSION, q.abi_version);
	stat_set(s, HSS_PAGE_SIZES, q.page_sizes);
	stat_set(s, HSS_RESERVED, q.reserve_bytes);
	stat_set(s, HSS_USED, q.used_bytes);
	/* As debugfs computes it: what is left of the reserve. */
	stat_set(s, HSS_FREE, q.reserve_bytes > q.used_bytes ?
			      q.reserve_bytes - q.used_bytes : 0);
	stat_set(s, HSS_MAX, q.max_bytes);
	/* Older modules leave it zero: only report what they know. */
	if (q.features & HUGESLAB_FEAT_USER_LIMIT)
		stat_set(s, HSS_USER_MAX, q.user_max_bytes);
	stat_set(s, HSS_REGIONS, q.regions);
	stat_set(s, HSS_FAILED, q.failed);
	stat_set(s, HSS_FEATURES, q.features);
	stat_set(s, HSS_NR_NODES, q.nr_nodes);
	return 0;
}

/* ---- entry points -------------------------------------------------------- */

/* Neither source worked: say what to fix, most fundamental cause first. */
static int explain(const struct dbg_probe *p, int dev_err, char *err,
		   size_t errlen)
{
	bool dev_missing = dev_err == ENOENT || dev_err == ENXIO ||
			   dev_err == ENODEV;
	bool loaded = access(MODULE_SYSFS, F_OK) == 0;
	char why[PATH_MAX + 128];

	dbg_reason(p, why, sizeof(why));
	if (dev_missing && !loaded)
		return fail(err, errlen,
			    "the hugeslab module is not loaded (no %s, no %s); load it with 'modprobe hugeslab' (or 'insmod hugeslab.ko')",
			    HUGESLAB_DEVICE, MODULE_SYSFS);
	if (p->state == DBG_DENIED ||
	    ((dev_err == EACCES || dev_err == EPERM) && geteuid() != 0))
		return fail(err, errlen,
			    "permission denied: debugfs and %s are for root only; run hsstat as root (e.g. sudo hsstat)",
			    HUGESLAB_DEVICE);
	if (p->state == DBG_NOT_MOUNTED)
		return fail(err, errlen,
			    "debugfs is not mounted; mount it with 'mount -t debugfs none %s' (and %s: %s)",
			    DEBUGFS_MNT, HUGESLAB_DEVICE, strerror(dev_err));
	if (p->state == DBG_LOCKDOWN)
		return fail(err, errlen, "%s; and %s: %s", why,
			    HUGESLAB_DEVICE, strerror(dev_err));
	if (dev_missing)
		return fail(err, errlen,
			    "the hugeslab module is loaded but %s is missing (is devtmpfs or udev running?); and %s",
			    HUGESLAB_DEVICE, why);
	return fail(err, errlen, "%s; and %s: %s", why, HUGESLAB_DEVICE,
		    strerror(dev_err));
}

/* Debugfs could not be read, sysfs could: the totals come from sysfs. */
static int use_sysfs(const struct hss_config *cfg, const char *why,
		     const struct hss_stats *s, struct hss_snapshot *snap,
		     char *err, size_t errlen)
{
	snap->source = HSS_SRC_SYSFS;
	snap->path = strdup(cfg->sysfs_dir ? cfg->sysfs_dir : MODULE_SYSFS_DEV);
	snap->note = strdup(why);
	if (!snap->path || !snap->note)
		return fail(err, errlen, "out of memory");
	snap->stats = *s;
	return 0;
}

/* Work buffers of one collection: several PATH_MAX strings. */
struct collect_ctx {
	struct dbg_probe probe;
	struct hss_stats sysfs_stats;
	char dbg_why[PATH_MAX + 128];
	char sysfs_why[PATH_MAX + 128];
	char why[2 * PATH_MAX + 300];
};

int hss_collect(const struct hss_config *cfg, struct hss_snapshot *snap,
		char *err, size_t errlen)
{
	struct collect_ctx *c;
	int fd, ret;

	memset(snap, 0, sizeof(*snap));
	/* Keep the path buffers off the stack. */
	c = calloc(1, sizeof(*c));
	if (!c)
		return fail(err, errlen, "out of memory");
	dbg_probe(cfg, &c->probe);
	if (c->probe.state == DBG_OK) {
		ret = collect_debugfs(&c->probe, snap, err, errlen);
		fclose(c->probe.f);
		goto out;
	}
	dbg_reason(&c->probe, c->dbg_why, sizeof(c->dbg_why));

	ret = collect_sysfs(cfg, &c->sysfs_stats, c->sysfs_why,
			    sizeof(c->sysfs_why), err, errlen);
	if (ret <= 0) {
		if (ret == 0)
			ret = use_sysfs(cfg, c->dbg_why, &c->sysfs_stats, snap,
					err, errlen);
		goto out;
	}

	fd = open(HUGESLAB_DEVICE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = explain(&c->probe, errno, err, errlen);
		goto out;
	}
	snprintf(c->why, sizeof(c->why), "%s; and %s", c->dbg_why,
		 c->sysfs_why);
	ret = collect_ioctl(fd, c->why, snap, err, errlen);
	close(fd);
out:
	free(c);
	if (ret)
		hss_snapshot_free(snap);
	return ret;
}

void hss_snapshot_free(struct hss_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nr_regions; i++)
		free_region(&snap->regions[i]);
	free(snap->regions);
	for (i = 0; i < snap->nr_pools; i++)
		free_pool(&snap->pools[i]);
	free(snap->pools);
	free(snap->path);
	free(snap->note);
	memset(snap, 0, sizeof(*snap));
}
