/* SPDX-License-Identifier: MIT */
/*
 * libhugeslab-uring internals shared across its files (hidden, _hs_u*):
 *
 *   bufs.c    buffer sets: layout, registration, hand-out, teardown
 *   probe.c   kernel features, tried once per process
 *   error.c   the per-thread message for hs_uring_last_error()
 *
 * It uses libhugeslab only through its public API (regions, external
 * pools), as any other caller would.
 */
#ifndef HS_URING_INTERNAL_H
#define HS_URING_INTERNAL_H

#include "hugeslab/uring.h"

#define HS_UEXPORT	__attribute__((visibility("default")))

/* Record a message for hs_uring_last_error(), set errno to @err, -1. */
int _hs_ufail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), cold));

/*
 * A call that succeeds leaves errno and the message as they were, even if
 * it failed on the way (a probe, a retry): begin notes them, ok puts them
 * back.
 */
struct _hs_uerr_saved {
	int err;
	char msg[320];
};
void _hs_uerr_begin(struct _hs_uerr_saved *s);
void _hs_uerr_ok(const struct _hs_uerr_saved *s);

#endif
