/* SPDX-License-Identifier: MIT */
/*
 * hsstat: what collect.c and parse.c share, and nothing else includes.
 *
 * collect.c decides where a snapshot comes from (debugfs, sysfs, ioctl);
 * parse.c knows the debugfs file formats. Cross-file names start with hss_;
 * errors are written to @err as collect.h describes, never printed.
 */
#ifndef HSSTAT_COLLECT_INTERNAL_H
#define HSSTAT_COLLECT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect.h"

/* Record @v as the source's value of @stat. */
static inline void hss_stat_set(struct hss_stats *s, enum hss_stat stat,
				uint64_t v)
{
	s->val[stat] = v;
	s->have |= 1U << stat;
}

/* ---- parse.c: text helpers ----------------------------------------------- */

/* Format a message into @err; returns -1. */
__attribute__((format(printf, 3, 4)))
int hss_fail(char *err, size_t errlen, const char *fmt, ...);

/* Drop one trailing newline. */
void hss_chomp(char *line);

/*
 * Strict number parsing: the whole string, no sign (0x for hex allowed).
 * 0, or -1 if @s is not such a number.
 */
int hss_parse_u64(const char *s, uint64_t *v);

/* ---- parse.c: the debugfs files ------------------------------------------ */

/*
 * Each reads one file from @f (named @path in messages), header line
 * included, and returns 0, or -1 with the reason in @err. A table comes
 * back as a malloc'ed array of *@nr rows (*@nr must be 0 on entry); on
 * failure the rows read so far are returned too, for the caller to free.
 */
int hss_read_stats(FILE *f, const char *path, struct hss_stats *s,
		   char *err, size_t errlen);
int hss_read_regions(FILE *f, const char *path, struct hss_region **regions,
		     size_t *nr, char *err, size_t errlen);
/* Also sets each pool's order to its position in the file. */
int hss_read_pools(FILE *f, const char *path, struct hss_pool **pools,
		   size_t *nr, char *err, size_t errlen);

/* Free what one row owns (not the row itself). */
void hss_region_free(struct hss_region *r);
void hss_pool_free(struct hss_pool *p);

#endif /* HSSTAT_COLLECT_INTERNAL_H */
