// SPDX-License-Identifier: MIT
/*
 * libhugeslab-uring: errors. Like libhugeslab, the library never prints: a
 * failing call sets errno and leaves a sentence saying what failed and
 * what to do in a per-thread buffer, which hs_uring_last_error() returns.
 * It has its own buffer because it is its own library; when a libhugeslab
 * call fails inside, its message is carried into this one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "uring.h"

static __thread char msg[320];

int _hs_ufail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

void _hs_uerr_begin(struct _hs_uerr_saved *s)
{
	s->err = errno;
	memcpy(s->msg, msg, sizeof(msg));
}

void _hs_uerr_ok(const struct _hs_uerr_saved *s)
{
	memcpy(msg, s->msg, sizeof(msg));
	errno = s->err;
}

HS_UEXPORT const char *hs_uring_last_error(void)
{
	return msg;
}
