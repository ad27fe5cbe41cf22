// SPDX-License-Identifier: MIT
/*
 * hsstat: a snapshot as one JSON object on one line (--json).
 *
 * The keys are hss_stat_name() for the counters and the key of each
 * description in format.c for a region's or pool's numbers. Text a process
 * chose stays valid JSON: escaped, invalid UTF-8 replaced by U+FFFD.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "format_internal.h"

/* A JSON string's body; invalid UTF-8 becomes U+FFFD so it stays valid. */
static void json_chars(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t n;

	while (*s) {
		n = hss_utf8_len(s);
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
}

static void json_str(FILE *out, const char *str)
{
	fputc('"', out);
	json_chars(out, str);
	fputc('"', out);
}

static void json_fields(FILE *out, const struct hss_field *f, size_t n,
			const void *row)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fprintf(out, ",\"%s\":", f[i].key);
		if (f[i].type == HSS_F_BOOL) {
			bool b;

			memcpy(&b, (const char *)row + f[i].off, sizeof(b));
			fputs(b ? "true" : "false", out);
		} else {
			hss_field_value(out, &f[i], row);
		}
	}
}

static void json_stats(FILE *out, const struct hss_stats *s)
{
	const char *sep = "";
	int st, bit;

	fputc('{', out);
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
	fputc('}', out);
}

void hss_print_json(FILE *out, const struct hss_snapshot *snap,
		    const struct hss_view *view)
{
	const struct hss_region *r;
	const struct hss_pool *p;
	size_t i;

	fputs("{\"source\":", out);
	json_str(out, hss_source_name(snap->source));
	fputs(",\"path\":", out);
	json_str(out, snap->path);
	if (snap->note) {
		fputs(",\"note\":\"", out);
		json_chars(out, snap->note);
		fputs("; " HSS_NEED_DEBUGFS "\"", out);
	}
	fputs(",\"stats\":", out);
	json_stats(out, &snap->stats);

	if (view->pools) {
		fputs(",\"pools\":", out);
		if (!snap->have_pools) {
			fputs("null", out);
		} else {
			fputc('[', out);
			for (i = 0; i < snap->nr_pools; i++) {
				p = &snap->pools[i];
				fprintf(out, "%s{\"pid\":%lld,\"comm\":",
					i ? "," : "", (long long)p->pid);
				json_str(out, p->comm);
				fputs(",\"name\":", out);
				json_str(out, p->name);
				json_fields(out, hss_pool_fields,
					    hss_nr_pool_fields, p);
				fputc('}', out);
			}
			fputc(']', out);
		}
	}
	if (view->regions) {
		fputs(",\"regions\":", out);
		if (!snap->have_regions) {
			fputs("null", out);
		} else {
			fputc('[', out);
			for (i = 0; i < snap->nr_regions; i++) {
				r = &snap->regions[i];
				fprintf(out, "%s{\"id\":%llu,\"pid\":%lld,\"comm\":",
					i ? "," : "", (unsigned long long)r->id,
					(long long)r->pid);
				json_str(out, r->comm);
				json_fields(out, hss_region_fields,
					    hss_nr_region_fields, r);
				fputc('}', out);
			}
			fputc(']', out);
		}
	}
	fputs("}\n", out);
}
