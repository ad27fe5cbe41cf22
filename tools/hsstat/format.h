/* SPDX-License-Identifier: MIT */
/*
 * hsstat: the three ways a snapshot is printed - a slabtop-like text
 * report, one JSON object, or a Prometheus text exposition for
 * node_exporter's textfile collector. format.c describes every field once
 * and the three emitters (format.c, json.c, prometheus.c) walk the same
 * descriptions.
 */
#ifndef HSSTAT_FORMAT_H
#define HSSTAT_FORMAT_H

#include <stdbool.h>
#include <stdio.h>

#include "collect.h"

/* Appended to the note when debugfs could not be used. */
#define HSS_NEED_DEBUGFS	"regions and pools need debugfs"

/**
 * struct hss_view - which tables to print
 * @pools:	the pools table ("pools" in JSON, hugeslab_pool_* metrics)
 * @regions:	the regions table ("regions", hugeslab_region_*)
 *
 * The summary (global counters) is always printed.
 */
struct hss_view {
	bool pools;
	bool regions;
};

/* Summary block, then the selected tables. */
void hss_print_text(FILE *out, const struct hss_snapshot *snap,
		    const struct hss_view *view);

/* One JSON object on one line. */
void hss_print_json(FILE *out, const struct hss_snapshot *snap,
		    const struct hss_view *view);

/* The Prometheus text format (version 0.0.4). Returns 0, or -1 (ENOMEM). */
int hss_print_prometheus(FILE *out, const struct hss_snapshot *snap,
			 const struct hss_view *view);

#endif /* HSSTAT_FORMAT_H */
