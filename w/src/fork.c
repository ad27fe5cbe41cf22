// SPDX-License-Identifier: MIT
/*
 * libhugeslab: fork. Before fork() every library lock is taken in one
 * order, top layer first (heap, pools, publishing, arenas, backend,
 * metadata), so no lock is held by a thread that does not exist in the
 * child; after it they are released bottom-up, and in the child each layer
 * drops what the child did not inherit. By default region memory stays out
 * of children, so a child starts with empty pools and heap, no stats slots
 * and no /dev/hugeslab file of its parent's; under the malloc drop-in
 * memory follows fork as malloc's does, and the child keeps it all but the
 * other threads' caches, whose objects go to their depots.
 */
#include "internal.h"

static void fork_prepare(void)
{
	_hs_heap_fork_prepare();
	_hs_pool_fork_prepare();
	_hs_publish_fork_prepare();
	_hs_arena_fork_prepare();
	_hs_os_fork_prepare();
	_hs_meta_fork_prepare();
}

static void fork_parent(void)
{
	_hs_meta_fork_parent();
	_hs_os_fork_parent();
	_hs_arena_fork_parent();
	_hs_publish_fork_parent();
	_hs_pool_fork_parent();
	_hs_heap_fork_parent();
}

static void fork_child(void)
{
	_hs_meta_fork_child();
	_hs_rss_fork_child();
	_hs_os_fork_child();
	_hs_arena_fork_child();
	_hs_publish_fork_child();
	_hs_pool_fork_child();
	_hs_heap_fork_child();
}

/*
 * Registered when the library is loaded, not on first use: a fork while
 * another thread is half-way through a first-use registration (a
 * pthread_once) could leave the child waiting for it forever.
 */
static void __attribute__((constructor)) fork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Called by the layers that need the hooks, so a static link keeps this
 * file, and with it the constructor. */
void _hs_fork_init(void)
{
}
