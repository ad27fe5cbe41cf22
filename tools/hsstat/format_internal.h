/* SPDX-License-Identifier: MIT */
/*
 * hsstat: what the emitters share, and nothing else includes.
 *
 * format.c holds the descriptions of every printed datum and the text
 * report; json.c and prometheus.c walk the same descriptions. Cross-file
 * names start with hss_.
 */
#ifndef HSSTAT_FORMAT_INTERNAL_H
#define HSSTAT_FORMAT_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "collect.h"

/* ---- format.c: one description per datum --------------------------------- */

/**
 * struct hss_stat_desc - how a global counter is exported
 * @metric:	Prometheus name, NULL if not exported
 * @type:	"gauge" or "counter"
 * @help:	the HELP text
 *
 * The JSON key is hss_stat_name(); the summary is laid out by hand in
 * format.c.
 */
struct hss_stat_desc {
	const char *metric;
	const char *type;
	const char *help;
};

extern const struct hss_stat_desc hss_stat_descs[HSS_NR_STATS];

enum hss_ftype { HSS_F_U64, HSS_F_S64, HSS_F_BOOL };

/**
 * struct hss_field - a number of a region or a pool
 * @key:	JSON key
 * @off:	offset of the uint64_t, int64_t or bool in the row
 * @type:	which of those
 * @metric:	Prometheus name (labelled by the row's identity), or NULL
 * @mtype:	"gauge" or "counter"
 * @help:	the HELP text
 */
struct hss_field {
	const char *key;
	size_t off;
	enum hss_ftype type;
	const char *metric;
	const char *mtype;
	const char *help;
};

/* The numbers of a struct hss_region and of a struct hss_pool. */
extern const struct hss_field hss_region_fields[];
extern const size_t hss_nr_region_fields;
extern const struct hss_field hss_pool_fields[];
extern const size_t hss_nr_pool_fields;

/* A field's value as text (JSON literal and Prometheus sample alike). */
void hss_field_value(FILE *out, const struct hss_field *f, const void *row);

/* ---- format.c: text helpers ---------------------------------------------- */

/* Length of the valid UTF-8 sequence at @s, 0 if it is not one. */
size_t hss_utf8_len(const unsigned char *s);

#endif /* HSSTAT_FORMAT_INTERNAL_H */
