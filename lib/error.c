// SPDX-License-Identifier: MIT
/*
 * libhugeslab: errors. The library never prints; a failing call sets errno
 * and leaves a sentence in a per-thread buffer saying what failed and what
 * to do, which hs_last_error() returns.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static __thread char hs_errbuf[192];

int _hs_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hs_errbuf, sizeof(hs_errbuf), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

HS_EXPORT const char *hs_last_error(void)
{
	return hs_errbuf;
}

HS_EXPORT const char *hs_version(void)
{
	return HS_VERSION_STRING;
}
