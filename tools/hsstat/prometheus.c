// SPDX-License-Identifier: MIT
/*
 * hsstat: a snapshot as Prometheus metrics (--prometheus).
 *
 * The text exposition format node_exporter's textfile collector reads: per
 * metric a HELP and a TYPE line, then all its samples; label values are
 * UTF-8 with backslash, double quote and newline escaped. Names, types and
 * help texts come from the descriptions in format.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "format_internal.h"

/* A label value's body; invalid UTF-8 becomes U+FFFD. */
static void prom_chars(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t n;

	while (*s) {
		n = hss_utf8_len(s);
		if (n == 0) {
			fputs("\xef\xbf\xbd", out);
			s++;
		} else if (*s == '\\') {
			fputs("\\\\", out);
			s++;
		} else if (*s == '"') {
			fputs("\\\"", out);
			s++;
		} else if (*s == '\n') {
			fputs("\\n", out);
			s++;
		} else {
			fwrite(s, 1, n, out);
			s += n;
		}
	}
}

static void prom_head(FILE *out, const char *metric, const char *type,
		      const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric,
		type);
}

/* The label set of a region: {id="7",pid="812",comm="server"}. */
static void region_labels(FILE *out, const struct hss_region *r)
{
	fprintf(out, "{id=\"%llu\",pid=\"%lld\",comm=\"",
		(unsigned long long)r->id, (long long)r->pid);
	prom_chars(out, r->comm);
	fputs("\"}", out);
}

static void pool_labels(FILE *out, const struct hss_pool *p, const char *name)
{
	fprintf(out, "{pid=\"%lld\",comm=\"", (long long)p->pid);
	prom_chars(out, p->comm);
	fputs("\",pool=\"", out);
	prom_chars(out, name);
	fputs("\"}", out);
}

static bool same_owner(const struct hss_pool *a, const struct hss_pool *b)
{
	return a->pid == b->pid && !strcmp(a->comm ? a->comm : "",
					   b->comm ? b->comm : "");
}

/*
 * The "pool" label of every pool. A process may give two pools one name
 * (or none): a series must still be unique, so the second becomes "name#2",
 * the next free "name#N" if a pool is really called that. "Second" is in
 * the module's order, not the --sort order, so a label stays with its pool
 * from one scrape to the next.
 */
static char **pool_label_names(const struct hss_snapshot *snap)
{
	size_t i, j, k, kk, n = snap->nr_pools, *at;
	const struct hss_pool *p;
	char **names, *cand;
	unsigned int dup;

	names = calloc(n + 1, sizeof(*names));
	at = calloc(n + 1, sizeof(*at));
	if (!names || !at)
		goto fail;
	/* at[k]: where the module's k-th pool is now. */
	for (i = 0; i < n; i++)
		at[snap->pools[i].order < n ? snap->pools[i].order : i] = i;
	for (k = 0; k < n; k++) {
		i = at[k];
		p = &snap->pools[i];
		cand = strdup(p->name ? p->name : "");
		for (dup = 1; cand; ) {
			for (kk = 0; kk < k; kk++) {
				j = at[kk];
				if (same_owner(p, &snap->pools[j]) &&
				    !strcmp(names[j], cand))
					break;
			}
			if (kk == k)
				break;
			free(cand);
			if (asprintf(&cand, "%s#%u", p->name ? p->name : "",
				     ++dup) < 0)
				cand = NULL;
		}
		if (!cand)
			goto fail;
		names[i] = cand;
	}
	free(at);
	return names;
fail:
	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	free(at);
	return NULL;
}

int hss_print_prometheus(FILE *out, const struct hss_snapshot *snap,
			 const struct hss_view *view)
{
	const struct hss_stats *s = &snap->stats;
	const struct hss_stat_desc *d;
	const struct hss_field *f;
	char **names = NULL;
	size_t i, k;
	int st;

	prom_head(out, "hugeslab_source_info", "gauge",
		  "Where hsstat read the counters: debugfs, sysfs or ioctl (regions and pools need debugfs).");
	fputs("hugeslab_source_info{source=\"", out);
	prom_chars(out, hss_source_name(snap->source));
	fputs("\"} 1\n", out);

	for (st = 0; st < HSS_NR_STATS; st++) {
		d = &hss_stat_descs[st];
		if (!d->metric || !hss_has(s, (enum hss_stat)st))
			continue;
		prom_head(out, d->metric, d->type, d->help);
		fprintf(out, "%s %llu\n", d->metric,
			(unsigned long long)s->val[st]);
	}

	if (view->pools && snap->have_pools) {
		prom_head(out, "hugeslab_pools", "gauge",
			  "Pools whose processes publish statistics.");
		fprintf(out, "hugeslab_pools %zu\n", snap->nr_pools);
	}
	if (view->pools && snap->nr_pools) {
		names = pool_label_names(snap);
		if (!names) {
			errno = ENOMEM;
			return -1;
		}
		for (k = 0; k < hss_nr_pool_fields; k++) {
			f = &hss_pool_fields[k];
			if (!f->metric)
				continue;
			prom_head(out, f->metric, f->mtype, f->help);
			for (i = 0; i < snap->nr_pools; i++) {
				fputs(f->metric, out);
				pool_labels(out, &snap->pools[i], names[i]);
				fputc(' ', out);
				hss_field_value(out, f, &snap->pools[i]);
				fputc('\n', out);
			}
		}
		for (i = 0; i < snap->nr_pools; i++)
			free(names[i]);
		free(names);
	}
	if (view->regions && snap->nr_regions) {
		for (k = 0; k < hss_nr_region_fields; k++) {
			f = &hss_region_fields[k];
			if (!f->metric)
				continue;
			prom_head(out, f->metric, f->mtype, f->help);
			for (i = 0; i < snap->nr_regions; i++) {
				fputs(f->metric, out);
				region_labels(out, &snap->regions[i]);
				fputc(' ', out);
				hss_field_value(out, f, &snap->regions[i]);
				fputc('\n', out);
			}
		}
	}
	return 0;
}
