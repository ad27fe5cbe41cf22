/* SPDX-License-Identifier: MIT */
/*
 * A Prometheus text-format checker for the hsstat selftests (hsstat
 * --prometheus). Static inline: each test is one binary.
 */
#ifndef HS_TEST_PROM_H
#define HS_TEST_PROM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/*
 * Checks the exposition the way node_exporter's textfile collector will
 * read it, and stricter where hsstat promises a form: every sample is
 * exactly "name{label="value",...} value" (no timestamp), its family has a
 * HELP and a TYPE line before its first sample, a family's lines are not
 * interleaved with another's, label values are escaped (only \\, \" and
 * \n) valid UTF-8, and no series (name and label set) appears twice.
 */
#define PROM_MAX_LABELS 8

struct psample {
	char *name;
	char *key;		/* name and sorted labels: the series */
	char *lname[PROM_MAX_LABELS];
	char *lval[PROM_MAX_LABELS];
	int nlabels;
	char *value;
};

struct pfamily {
	char *name;
	char type[16];
	bool help, samples, closed;
};

struct prom {
	struct psample *s;
	size_t n;
	struct pfamily *f;
	size_t nf;
};

static inline void prom_free(struct prom *p)
{
	size_t i;
	int k;

	for (i = 0; i < p->n; i++) {
		free(p->s[i].name);
		free(p->s[i].key);
		free(p->s[i].value);
		for (k = 0; k < p->s[i].nlabels; k++) {
			free(p->s[i].lname[k]);
			free(p->s[i].lval[k]);
		}
	}
	for (i = 0; i < p->nf; i++)
		free(p->f[i].name);
	free(p->s);
	free(p->f);
	memset(p, 0, sizeof(*p));
}

static inline bool prom_name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

/* Length of the metric (or, without colons, label) name at @s. */
static inline size_t prom_name_len(const char *s, bool colon)
{
	size_t n = 0;

	while (prom_name_char(s[n], n == 0, colon))
		n++;
	return n;
}

static inline bool utf8_string_valid(const char *s)
{
	size_t n;

	while (*s) {
		n = utf8_valid((const unsigned char *)s);
		if (!n)
			return false;
		s += n;
	}
	return true;
}

static inline struct pfamily *prom_family(struct prom *p, const char *name,
					  size_t len)
{
	struct pfamily *f;
	size_t i;

	for (i = 0; i < p->nf; i++)
		if (strlen(p->f[i].name) == len &&
		    !strncmp(p->f[i].name, name, len))
			return &p->f[i];
	f = realloc(p->f, (p->nf + 1) * sizeof(*f));
	if (!f)
		return NULL;
	p->f = f;
	f = &p->f[p->nf++];
	memset(f, 0, sizeof(*f));
	f->name = strndup(name, len);
	return f->name ? f : NULL;
}

/* "name\x1flabel=value\x1f..." with the labels sorted: one per series. */
static inline char *prom_key(const char *name, char *const *lname,
			     char *const *lval, int n)
{
	int order[PROM_MAX_LABELS], i, j, t;
	size_t len = strlen(name) + 1;
	char *key;

	for (i = 0; i < n; i++) {
		order[i] = i;
		len += strlen(lname[i]) + strlen(lval[i]) + 2;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 &&
		     strcmp(lname[order[j - 1]], lname[order[j]]) > 0; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	key = malloc(len);
	if (!key)
		return NULL;
	strcpy(key, name);
	for (i = 0; i < n; i++)
		sprintf(key + strlen(key), "\x1f%s=%s", lname[order[i]],
			lval[order[i]]);
	return key;
}

/* Decode a label value up to its closing quote; *@s moves past it. */
static inline char *prom_label_value(const char **s)
{
	const char *p = *s;
	char *out = malloc(strlen(p) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *p != '"'; p++) {
		if (!*p)
			goto bad;
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case '\\': *o++ = '\\'; break;
		case '"': *o++ = '"'; break;
		case 'n': *o++ = '\n'; break;
		default: goto bad;
		}
	}
	*o = '\0';
	if (!utf8_string_valid(out))
		goto bad;
	*s = p + 1;
	return out;
bad:
	free(out);
	return NULL;
}

static inline bool prom_value_ok(const char *v)
{
	char *end;

	if (!strcmp(v, "+Inf") || !strcmp(v, "-Inf") || !strcmp(v, "NaN"))
		return true;
	if (!*v || *v == ' ')
		return false;
	strtod(v, &end);
	return !*end;
}

#define PROM_FAIL(fmt, ...) do {					\
	snprintf(err, errlen, "line %u: " fmt, lineno, ##__VA_ARGS__);	\
	goto fail;							\
} while (0)

/* One sample line into @p; its family must be ready for it. */
static inline int prom_sample(struct prom *p, const char *line,
			      struct pfamily **cur, unsigned int lineno,
			      char *err, size_t errlen)
{
	struct psample smp = { .nlabels = 0 }, *grown;
	const char *s = line;
	struct pfamily *f;
	size_t n, i;
	int k;

	n = prom_name_len(s, true);
	if (!n)
		PROM_FAIL("not a sample: '%s'", line);
	smp.name = strndup(s, n);
	s += n;
	if (*s == '{') {
		s++;
		while (*s != '}') {
			if (smp.nlabels == PROM_MAX_LABELS)
				PROM_FAIL("too many labels");
			n = prom_name_len(s, false);
			if (!n || !strncmp(s, "__", 2))
				PROM_FAIL("bad label name in '%s'", line);
			smp.lname[smp.nlabels] = strndup(s, n);
			s += n;
			if (s[0] != '=' || s[1] != '"')
				PROM_FAIL("label without =\"value\" in '%s'",
					  line);
			s += 2;
			smp.lval[smp.nlabels] = prom_label_value(&s);
			if (!smp.lval[smp.nlabels++])
				PROM_FAIL("bad label value in '%s'", line);
			for (k = 0; k < smp.nlabels - 1; k++)
				if (!strcmp(smp.lname[k],
					    smp.lname[smp.nlabels - 1]))
					PROM_FAIL("label %s twice",
						  smp.lname[k]);
			if (*s == ',')
				s++;
			else if (*s != '}')
				PROM_FAIL("labels not closed in '%s'", line);
		}
		s++;
	}
	if (*s != ' ')
		PROM_FAIL("no single blank before the value in '%s'", line);
	s++;
	if (strchr(s, ' ') || strchr(s, '\t'))
		PROM_FAIL("more than a value (a timestamp?) in '%s'", line);
	if (!prom_value_ok(s))
		PROM_FAIL("bad value '%s'", s);
	smp.value = strdup(s);

	f = prom_family(p, smp.name, strlen(smp.name));
	if (!f)
		PROM_FAIL("out of memory");
	if (f->closed)
		PROM_FAIL("%s: samples not together", smp.name);
	if (!f->help || !f->type[0])
		PROM_FAIL("%s: sample before its HELP and TYPE", smp.name);
	if (*cur && *cur != f)
		(*cur)->closed = true;
	*cur = f;
	f->samples = true;

	smp.key = prom_key(smp.name, smp.lname, smp.lval, smp.nlabels);
	if (!smp.key || !smp.value)
		PROM_FAIL("out of memory");
	for (i = 0; i < p->n; i++)
		if (!strcmp(p->s[i].key, smp.key))
			PROM_FAIL("duplicate series: '%s'", line);
	grown = realloc(p->s, (p->n + 1) * sizeof(*grown));
	if (!grown)
		PROM_FAIL("out of memory");
	p->s = grown;
	p->s[p->n++] = smp;
	return 0;
fail:
	free(smp.name);
	free(smp.key);
	free(smp.value);
	for (k = 0; k < smp.nlabels; k++) {
		free(smp.lname[k]);
		free(smp.lval[k]);
	}
	return -1;
}

/* A "# HELP" or "# TYPE" line. */
static inline int prom_meta(struct prom *p, const char *line,
			    struct pfamily **cur, unsigned int lineno,
			    char *err, size_t errlen)
{
	static const char *const types[] = {
		"counter", "gauge", "histogram", "summary", "untyped",
	};
	bool help = line[2] == 'H';
	const char *s = line + 7, *text;
	struct pfamily *f;
	size_t n, i;

	n = prom_name_len(s, true);
	if (!n || s[n] != ' ')
		PROM_FAIL("bad metric name in '%s'", line);
	text = s + n + 1;
	f = prom_family(p, s, n);
	if (!f)
		PROM_FAIL("out of memory");
	if (f->closed || f->samples)
		PROM_FAIL("%s after the samples of %s", help ? "HELP" : "TYPE",
			  f->name);
	if (*cur && *cur != f)
		(*cur)->closed = true;
	*cur = f;
	if (help) {
		if (f->help)
			PROM_FAIL("second HELP for %s", f->name);
		for (i = 0; text[i]; i++)
			if (text[i] == '\\' && text[i + 1] != '\\' &&
			    text[i + 1] != 'n')
				PROM_FAIL("bad escape in HELP of %s", f->name);
			else if (text[i] == '\\')
				i++;
		if (!utf8_string_valid(text))
			PROM_FAIL("HELP of %s is not UTF-8", f->name);
		f->help = true;
		return 0;
	}
	if (f->type[0])
		PROM_FAIL("second TYPE for %s", f->name);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(text, types[i]))
			break;
	if (i == sizeof(types) / sizeof(types[0]))
		PROM_FAIL("unknown TYPE '%s'", text);
	snprintf(f->type, sizeof(f->type), "%s", text);
	return 0;
fail:
	return -1;
}

/* Parse and check a whole exposition. Returns 0, or -1 with @err set. */
static inline int prom_parse(const char *text, struct prom *p, char *err,
			     size_t errlen)
{
	struct pfamily *cur = NULL;
	unsigned int lineno = 0;
	const char *nl;
	char *line;
	int ret;

	memset(p, 0, sizeof(*p));
	if (*text && text[strlen(text) - 1] != '\n') {
		snprintf(err, errlen, "no newline at the end");
		return -1;
	}
	for (; *text; text = nl + 1) {
		nl = strchr(text, '\n');
		line = strndup(text, (size_t)(nl - text));
		if (!line)
			return -1;
		lineno++;
		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7))
			ret = prom_meta(p, line, &cur, lineno, err, errlen);
		else if (line[0] == '#' || line[0] == '\0')
			ret = 0;	/* a comment, or an empty line */
		else
			ret = prom_sample(p, line, &cur, lineno, err, errlen);
		free(line);
		if (ret) {
			prom_free(p);
			return -1;
		}
	}
	return 0;
}

/*
 * The value of the sample @name with exactly the labels given as NULL-
 * terminated name, value pairs; NULL if there is none.
 */
static inline const char *prom_value(const struct prom *p, const char *name,
				     ...)
{
	char *lname[PROM_MAX_LABELS], *lval[PROM_MAX_LABELS], *key;
	const char *found = NULL;
	int n = 0;
	va_list ap;
	size_t i;

	va_start(ap, name);
	while (n < PROM_MAX_LABELS && (lname[n] = va_arg(ap, char *))) {
		lval[n] = va_arg(ap, char *);
		n++;
	}
	va_end(ap);
	key = prom_key(name, lname, lval, n);
	for (i = 0; key && i < p->n; i++)
		if (!strcmp(p->s[i].key, key))
			found = p->s[i].value;
	free(key);
	return found;
}

static inline const char *prom_type(const struct prom *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nf; i++)
		if (!strcmp(p->f[i].name, name))
			return p->f[i].type;
	return NULL;
}

/* How many samples of @name there are. */
static inline size_t prom_count(const struct prom *p, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < p->n; i++)
		n += !strcmp(p->s[i].name, name);
	return n;
}

#endif /* HS_TEST_PROM_H */
