// SPDX-License-Identifier: MIT
/*
 * libhugeslab: fork. Before fork() every library lock is taken in one
 * order (pools, arenas, backend, metadata), so no lock is held by a thread
 * that does not exist in the child; after it they are released, and the
 * child drops what it did not inherit: region memory is MADV_DONTFORK, so a
 * child starts with empty pools and its own /dev/hugeslab file.
 */
#include "internal.h"

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	_hs_pool_fork_prepare();
	_hs_arena_fork_prepare();
	_hs_backend_fork_prepare();
	_hs_meta_fork_prepare();
}

static void fork_parent(void)
{
	_hs_meta_fork_parent();
	_hs_backend_fork_parent();
	_hs_arena_fork_parent();
	_hs_pool_fork_parent();
}

static void fork_child(void)
{
	_hs_meta_fork_child();
	_hs_backend_fork_child();
	_hs_arena_fork_child();
	_hs_pool_fork_child();
}

static void fork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void _hs_fork_init(void)
{
	pthread_once(&fork_once, fork_register);
}
