/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the hsstat selftests (one header, no object: each test is one
 * binary): a strict JSON parser, a Prometheus text-format checker, running
 * hsstat with its output captured, namespace set-ups for its child, and the
 * module's ioctls. Everything is static inline so a test uses what it needs.
 */
#ifndef HSSTAT_UTIL_H
#define HSSTAT_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uapi/hugeslab.h"

#define MiB (1ULL << 20)

/* ---- a strict little JSON parser ----------------------------------------- */

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	int type;		/* enum jtype */
	char *str;		/* J_STR: decoded; J_NUM: the literal */
	struct jval *kids;	/* J_ARR, J_OBJ */
	char **keys;		/* J_OBJ */
	size_t n;
};

struct jparser {
	const char *p;
	int depth;
};

static inline void jfree(struct jval *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		jfree(&v->kids[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->kids);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

static inline void jskip(struct jparser *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' ||
	       *jp->p == '\r')
		jp->p++;
}

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline int hex4(const char *s, unsigned int *cp)
{
	int i, h;

	*cp = 0;
	for (i = 0; i < 4; i++) {
		h = hexval(s[i]);
		if (h < 0)
			return -1;
		*cp = *cp << 4 | (unsigned int)h;
	}
	return 0;
}

static inline size_t utf8_put(char *out, unsigned int cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of a valid UTF-8 sequence at @s (JSON text must be UTF-8), or 0. */
static inline size_t utf8_valid(const unsigned char *s)
{
	unsigned int cp, n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static inline int jstring(struct jparser *jp, char **out)
{
	const char *p = jp->p + 1;
	char *buf, *o;
	unsigned int cp, lo;
	size_t n;

	/* Decoded text is never longer than the literal. */
	buf = malloc(strlen(p) + 1);
	if (!buf)
		return -1;
	o = buf;
	for (;;) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			break;
		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			n = utf8_valid((const unsigned char *)p);
			if (!n)
				goto bad;
			memcpy(o, p, n);
			o += n;
			p += n;
			continue;
		}
		p++;
		switch (*p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (hex4(p, &cp))
				goto bad;
			p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p[0] != '\\' || p[1] != 'u' ||
				    hex4(p + 2, &lo) || lo < 0xdc00 ||
				    lo > 0xdfff)
					goto bad;
				p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
			}
			o += utf8_put(o, cp);
			break;
		default:
			goto bad;
		}
	}
	*o = '\0';
	jp->p = p + 1;
	*out = buf;
	return 0;
bad:
	free(buf);
	return -1;
}

static inline int jnumber(struct jparser *jp, struct jval *v)
{
	const char *s = jp->p, *p = s;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return -1;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	v->type = J_NUM;
	v->str = strndup(s, (size_t)(p - s));
	jp->p = p;
	return v->str ? 0 : -1;
}

static inline int jvalue(struct jparser *jp, struct jval *v);

static inline int jcontainer(struct jparser *jp, struct jval *v, bool obj)
{
	char close = obj ? '}' : ']';
	struct jval *kids;
	char **keys;

	v->type = obj ? J_OBJ : J_ARR;
	jp->p++;
	jskip(jp);
	if (*jp->p == close) {
		jp->p++;
		return 0;
	}
	for (;;) {
		kids = realloc(v->kids, (v->n + 1) * sizeof(*kids));
		if (!kids)
			return -1;
		v->kids = kids;
		memset(&kids[v->n], 0, sizeof(*kids));
		if (obj) {
			keys = realloc(v->keys, (v->n + 1) * sizeof(*keys));
			if (!keys)
				return -1;
			v->keys = keys;
			keys[v->n] = NULL;
		}
		v->n++;
		jskip(jp);
		if (obj) {
			if (*jp->p != '"' || jstring(jp, &v->keys[v->n - 1]))
				return -1;
			jskip(jp);
			if (*jp->p++ != ':')
				return -1;
		}
		if (jvalue(jp, &v->kids[v->n - 1]))
			return -1;
		jskip(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p != close)
			return -1;
		jp->p++;
		return 0;
	}
}

static inline int jvalue(struct jparser *jp, struct jval *v)
{
	int ret;

	jskip(jp);
	if (++jp->depth > 64)
		return -1;
	switch (*jp->p) {
	case '{':
		ret = jcontainer(jp, v, true);
		break;
	case '[':
		ret = jcontainer(jp, v, false);
		break;
	case '"':
		v->type = J_STR;
		ret = jstring(jp, &v->str);
		break;
	case 't':
		v->type = J_TRUE;
		ret = strncmp(jp->p, "true", 4) ? -1 : 0;
		jp->p += 4;
		break;
	case 'f':
		v->type = J_FALSE;
		ret = strncmp(jp->p, "false", 5) ? -1 : 0;
		jp->p += 5;
		break;
	case 'n':
		v->type = J_NULL;
		ret = strncmp(jp->p, "null", 4) ? -1 : 0;
		jp->p += 4;
		break;
	default:
		ret = jnumber(jp, v);
		break;
	}
	jp->depth--;
	return ret;
}

/* Parse a whole document: one value and nothing else. */
static inline int jparse(const char *text, struct jval *v)
{
	struct jparser jp = { .p = text };

	memset(v, 0, sizeof(*v));
	if (jvalue(&jp, v))
		goto bad;
	jskip(&jp);
	if (*jp.p)
		goto bad;
	return 0;
bad:
	jfree(v);
	return -1;
}

static inline const struct jval *jget(const struct jval *obj, const char *key)
{
	size_t i;

	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->kids[i];
	return NULL;
}

/* An integer member; -1 (and a log line) when absent or not an integer. */
static inline int jint(const struct jval *obj, const char *key, long long *out)
{
	const struct jval *v = jget(obj, key);
	char *end;

	if (!v || v->type != J_NUM)
		return -1;
	errno = 0;
	*out = strtoll(v->str, &end, 10);
	return errno || *end ? -1 : 0;
}

static inline const char *jstr(const struct jval *obj, const char *key)
{
	const struct jval *v = jget(obj, key);

	return v && v->type == J_STR ? v->str : NULL;
}

/* ---- a Prometheus text-format checker ------------------------------------ */

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

/* ---- running hsstat ------------------------------------------------------ */

/* Runs in the child before exec; non-zero means the setup is impossible. */
typedef int (*prep_fn)(void);

#define PREP_FAILED	"hsstat_test: cannot set up: "
#define EXEC_FAILED	"hsstat_test: cannot exec "

struct run {
	int status;	/* exit status, or 128 + signal */
	char *out;
	char *err;
};

static inline bool is_exe(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/*
 * $HSSTAT; else where the build tree and the VM put it relative to this
 * binary (build/tools/hsstat, /opt/hs/hsstat); else $PATH.
 */
static inline const char *hsstat_path(void)
{
	static char path[PATH_MAX];
	static const char *const rel[] = {
		"../hsstat", "../../tools/hsstat", "../../hsstat", "hsstat",
	};
	char exe[PATH_MAX], *slash, *dirs, *dir, *save;
	const char *env = getenv("HSSTAT");
	ssize_t n;
	size_t i;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (i = 0; slash && i < sizeof(rel) / sizeof(rel[0]); i++) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", exe,
					     rel[i]) < sizeof(path) &&
			    is_exe(path))
				return path;
		}
	}
	dirs = strdup(getenv("PATH") ? getenv("PATH") : "");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		if ((size_t)snprintf(path, sizeof(path), "%s/hsstat", dir) <
		    sizeof(path) && is_exe(path)) {
			free(dirs);
			return path;
		}
	}
	free(dirs);
	return NULL;
}

static inline char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf || lseek(fd, 0, SEEK_SET) < 0)
		goto fail;
	for (;;) {
		if (len + 1 == cap) {
			grown = realloc(buf, cap *= 2);
			if (!grown)
				goto fail;
			buf = grown;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
fail:
	free(buf);
	return NULL;
}

/*
 * Run hsstat with the NULL-terminated arguments; HSSTAT_DEBUGFS is set to
 * @debugfs (unset if NULL). Output is captured in memfds, so a chatty child
 * can never block on a full pipe. Returns 0, or -1 if it could not run.
 */
static inline int run_hsstat(struct run *r, const char *debugfs, prep_fn prep,
			     ...)
{
	const char *path = hsstat_path();
	char *argv[16];
	int out, err, status, argc = 1;
	va_list ap;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (!path) {
		fprintf(stderr, "# cannot find hsstat: set HSSTAT\n");
		return -1;
	}
	argv[0] = (char *)path;
	va_start(ap, prep);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;

	out = memfd_create("hsstat-out", MFD_CLOEXEC);
	err = memfd_create("hsstat-err", MFD_CLOEXEC);
	if (out < 0 || err < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		if (prep && prep()) {
			fprintf(stderr, PREP_FAILED "%s\n", strerror(errno));
			_exit(125);
		}
		if (debugfs)
			setenv("HSSTAT_DEBUGFS", debugfs, 1);
		else
			unsetenv("HSSTAT_DEBUGFS");
		execv(path, argv);
		fprintf(stderr, EXEC_FAILED "%s: %s\n", path, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status);
	r->out = slurp(out);
	r->err = slurp(err);
	close(out);
	close(err);
	return r->out && r->err ? 0 : -1;
}

static inline void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static inline bool prep_failed(const struct run *r)
{
	return strstr(r->err, PREP_FAILED) || strstr(r->err, EXEC_FAILED);
}

/* ---- namespace set-ups, run in hsstat's child ---------------------------- */

/* Unmount every debugfs in a private copy of the mount table. */
static inline int prep_no_debugfs(void)
{
	char line[PATH_MAX + 256], dir[PATH_MAX], type[64];
	int pass, found;
	FILE *f;

	if (unshare(CLONE_NEWNS))
		return -1;
	/* Keep the unmounts from propagating back to the test's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	for (pass = 0; pass < 16; pass++) {
		f = fopen("/proc/self/mounts", "re");
		if (!f)
			return -1;
		found = 0;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%*s %4095s %63s", dir, type) != 2 ||
			    strcmp(type, "debugfs"))
				continue;
			found = 1;
			if (umount2(dir, MNT_DETACH)) {
				fclose(f);
				return -1;
			}
		}
		fclose(f);
		if (!found)
			return 0;
	}
	errno = EBUSY;
	return -1;
}

/*
 * As if the module were not loaded: no debugfs, /dev, /sys/module or
 * /sys/class/misc (where its sysfs counters are).
 */
static inline int prep_no_module(void)
{
	if (prep_no_debugfs())
		return -1;
	if (mount("none", "/dev", "tmpfs", 0, NULL) ||
	    mount("none", "/sys/module", "tmpfs", 0, NULL) ||
	    mount("none", "/sys/class/misc", "tmpfs", 0, NULL))
		return -1;
	return 0;
}

static inline int prep_nobody(void)
{
	gid_t nogroup = 65534;

	if (setgroups(1, &nogroup) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -1;
	return 0;
}


static inline int write_file(const char *dir, const char *name,
			     const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) || ret ? -1 : 0;
}

/* ---- the module ---------------------------------------------------------- */

static inline int open_dev(void)
{
	return open(HUGESLAB_DEVICE, O_RDWR | O_CLOEXEC);
}

static inline int dev_query(int fd, struct hugeslab_query *q)
{
	memset(q, 0, sizeof(*q));
	return ioctl(fd, HUGESLAB_IOC_QUERY, q);
}

static inline int dev_create(int fd, uint64_t bytes, struct hugeslab_create *c)
{
	memset(c, 0, sizeof(*c));
	c->bytes = bytes;
	c->node = HUGESLAB_NODE_ANY;
	return ioctl(fd, HUGESLAB_IOC_CREATE, c);
}

#define NEED_MODULE(fd) do {						\
	(fd) = open_dev();						\
	if ((fd) < 0 && (errno == ENOENT || errno == ENXIO))		\
		SKIP(return, "no %s (module not loaded)", HUGESLAB_DEVICE); \
	ASSERT_LE(0, (fd)) TH_LOG("open %s: %s", HUGESLAB_DEVICE,	\
				  strerror(errno));			\
} while (0)

#endif /* HSSTAT_UTIL_H */
