/* SPDX-License-Identifier: MIT */
/*
 * A strict little JSON parser for the hsstat selftests: what hsstat --json
 * prints must parse here (RFC 8259, valid UTF-8, no trailing bytes) before
 * any field is checked. Static inline: each test is one binary.
 */
#ifndef HS_TEST_JSON_H
#define HS_TEST_JSON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

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

#endif /* HS_TEST_JSON_H */
