// SPDX-License-Identifier: MIT
/*
 * libhugeslab: errors. The library never prints (checker builds excepted,
 * where a caller's bug or a broken invariant is reported before aborting);
 * a failing call sets errno and leaves a sentence in a per-thread buffer
 * saying what failed and what to do, which hs_last_error() returns.
 *
 * A call that fails inside and recovers (a big region refused, a smaller
 * one taken) must leave errno and the message as it found them: the
 * message of the last call that failed is kept in @prev while a
 * bracketed call runs, and put back if that call succeeds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MSG_LEN	192

struct hs_err {
	char msg[MSG_LEN];
	char prev[MSG_LEN];	/* msg before this call's first failure */
	bool dirty;		/* msg was written since _hs_err_begin() */
	unsigned int depth;	/* brackets open: only the outermost counts */
};

static __thread struct hs_err hs_err;

const char *_hs_strerror(int err)
{
	const char *s = strerrordesc_np(err);	/* a table: no locale, no lock */

	return s ? s : "unknown error";
}

int _hs_fail(int err, const char *fmt, ...)
{
	struct hs_err *e = &hs_err;
	va_list ap;

	if (!e->dirty) {
		memcpy(e->prev, e->msg, MSG_LEN);
		e->dirty = true;
	}
	va_start(ap, fmt);
	vsnprintf(e->msg, MSG_LEN, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/*
 * Brackets nest (the heap's slow path around a pool's): an inner one that
 * succeeds after failures leaves the message to the outer one, which may
 * still fail and then keeps the newest.
 */
int _hs_err_begin(void)
{
	if (!hs_err.depth++)
		hs_err.dirty = false;
	return errno;
}

void _hs_err_ok(int saved)
{
	struct hs_err *e = &hs_err;

	HS_ASSERT(e->depth > 0);
	if (!--e->depth && e->dirty) {
		memcpy(e->msg, e->prev, MSG_LEN);
		e->dirty = false;
	}
	errno = saved;
}

void _hs_err_failed(void)
{
	HS_ASSERT(hs_err.depth > 0);
	if (!--hs_err.depth)
		hs_err.dirty = false;
}

void _hs_join(char *buf, size_t len, ...)
{
	const char *s;
	size_t n = 0;
	va_list ap;

	va_start(ap, len);
	while ((s = va_arg(ap, const char *)))
		while (*s && n + 1 < len)
			buf[n++] = *s++;
	va_end(ap);
	if (len)
		buf[n] = 0;
}

const char *_hs_utoa(char buf[HS_UTOA_LEN], uint64_t v)
{
	char *p = buf + HS_UTOA_LEN - 1;

	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

HS_EXPORT const char *hs_last_error(void)
{
	return hs_err.msg;
}

HS_EXPORT const char *hs_version(void)
{
	return HS_VERSION_STRING;
}

void _hs_assert_fail(const char *cond, const char *file, int line,
		     const char *func)
{
	fprintf(stderr, "hugeslab: internal invariant broken: %s (%s:%d, %s)\n",
		cond, file, line, func);
	abort();
}

void _hs_bug(const char *fmt, ...)
{
	va_list ap;

	fputs("hugeslab: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
