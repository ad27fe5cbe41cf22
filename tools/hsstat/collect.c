// SPDX-License-Identifier: MIT
/*
 * hsstat: data collection: where a snapshot comes from.
 *
 * Finds the module's debugfs files (formats in kmod/hs_debugfs.c, read by
 * parse.c) and reads them into a struct hss_snapshot. Debugfs is root-only,
 * may be unmounted and vanishes under lockdown, so when it cannot be read
 * the global totals come from the module's sysfs attributes
 * (kmod/hs_sysfs.c, readable by anyone) or, from modules without them,
 * HUGESLAB_IOC_QUERY, with a note saying why; when nothing works the error
 * names the one thing the user has to fix.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi/hugeslab.h"

#include "collect.h"
#include "collect_internal.h"

#define DEBUGFS_MNT		"/sys/kernel/debug"
#define MODULE_SYSFS		"/sys/module/hugeslab"
#define MODULE_SYSFS_DEV	"/sys/class/misc/hugeslab"
#define LOCKDOWN_FILE		"/sys/kernel/security/lockdown"

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

/* ---- the debugfs source -------------------------------------------------- */

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
	FILE *f;
	int ret;

	snap->source = HSS_SRC_DEBUGFS;
	snap->path = strdup(p->dir);
	if (!snap->path)
		return hss_fail(err, errlen, "out of memory");
	if (hss_read_stats(p->f, p->stats, &snap->stats, err, errlen))
		return -1;

	f = open_in(p->dir, "regions", path, sizeof(path));
	if (!f)
		return hss_fail(err, errlen, "%s: %s", path, strerror(errno));
	snap->have_regions = true;
	ret = hss_read_regions(f, path, &snap->regions, &snap->nr_regions, err,
			       errlen);
	fclose(f);
	if (ret)
		return -1;

	/* Modules before the pool stats area have no pools file. */
	f = open_in(p->dir, "pools", path, sizeof(path));
	if (!f)
		return errno == ENOENT ? 0 :
			hss_fail(err, errlen, "%s: %s", path, strerror(errno));
	snap->have_pools = true;
	ret = hss_read_pools(f, path, &snap->pools, &snap->nr_pools, err,
			     errlen);
	fclose(f);
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
		name = hss_stat_name(sysfs_attrs[i].stat);
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
		hss_chomp(buf);
		if (hss_parse_u64(buf, &v))
			return hss_fail(err, errlen, "%s: bad value '%s'", path,
					buf);
		hss_stat_set(s, sysfs_attrs[i].stat, v);
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
		return hss_fail(err, errlen, "HUGESLAB_IOC_QUERY on %s: %s",
				HUGESLAB_DEVICE, strerror(errno));

	snap->source = HSS_SRC_IOCTL;
	snap->path = strdup(HUGESLAB_DEVICE);
	snap->note = strdup(why);
	if (!snap->path || !snap->note)
		return hss_fail(err, errlen, "out of memory");

	hss_stat_set(s, HSS_ABI_VERSION, q.abi_version);
	hss_stat_set(s, HSS_PAGE_SIZES, q.page_sizes);
	hss_stat_set(s, HSS_RESERVED, q.reserve_bytes);
	hss_stat_set(s, HSS_USED, q.used_bytes);
	/* As debugfs computes it: what is left of the reserve. */
	hss_stat_set(s, HSS_FREE, q.reserve_bytes > q.used_bytes ?
		     q.reserve_bytes - q.used_bytes : 0);
	hss_stat_set(s, HSS_MAX, q.max_bytes);
	/* Older modules leave it zero: only report what they know. */
	if (q.features & HUGESLAB_FEAT_USER_LIMIT)
		hss_stat_set(s, HSS_USER_MAX, q.user_max_bytes);
	hss_stat_set(s, HSS_REGIONS, q.regions);
	hss_stat_set(s, HSS_FAILED, q.failed);
	hss_stat_set(s, HSS_FEATURES, q.features);
	hss_stat_set(s, HSS_NR_NODES, q.nr_nodes);
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
		return hss_fail(err, errlen,
				"the hugeslab module is not loaded (no %s, no %s); load it with 'modprobe hugeslab' (or 'insmod hugeslab.ko')",
				HUGESLAB_DEVICE, MODULE_SYSFS);
	if (p->state == DBG_DENIED ||
	    ((dev_err == EACCES || dev_err == EPERM) && geteuid() != 0))
		return hss_fail(err, errlen,
				"permission denied: debugfs and %s are for root only; run hsstat as root (e.g. sudo hsstat)",
				HUGESLAB_DEVICE);
	if (p->state == DBG_NOT_MOUNTED)
		return hss_fail(err, errlen,
				"debugfs is not mounted; mount it with 'mount -t debugfs none %s' (and %s: %s)",
				DEBUGFS_MNT, HUGESLAB_DEVICE,
				strerror(dev_err));
	if (p->state == DBG_LOCKDOWN)
		return hss_fail(err, errlen, "%s; and %s: %s", why,
				HUGESLAB_DEVICE, strerror(dev_err));
	if (dev_missing)
		return hss_fail(err, errlen,
				"the hugeslab module is loaded but %s is missing (is devtmpfs or udev running?); and %s",
				HUGESLAB_DEVICE, why);
	return hss_fail(err, errlen, "%s; and %s: %s", why, HUGESLAB_DEVICE,
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
		return hss_fail(err, errlen, "out of memory");
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
		return hss_fail(err, errlen, "out of memory");
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
		hss_region_free(&snap->regions[i]);
	free(snap->regions);
	for (i = 0; i < snap->nr_pools; i++)
		hss_pool_free(&snap->pools[i]);
	free(snap->pools);
	free(snap->path);
	free(snap->note);
	memset(snap, 0, sizeof(*snap));
}
