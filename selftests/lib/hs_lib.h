/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the library selftests. They run on the host with the
 * fallback backends and in the VM with the module; HUGESLAB_BACKEND, when
 * set, names the backend the test must be running on.
 */
#ifndef _HS_LIB_H
#define _HS_LIB_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hugeslab.h"

#define HS_2M ((size_t)2 << 20)

/* An ASan or TSan build: the resident set is mostly the sanitizer's
 * shadow of what the test uses. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HS_UNDER_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HS_UNDER_SANITIZER	1
#endif
#endif
#ifndef HS_UNDER_SANITIZER
#define HS_UNDER_SANITIZER	0
#endif

/*
 * Run a fresh copy of this program with @var set to 1 in its environment
 * (a constructor of the test finds it and does its work before main()),
 * and @var2 to @val2 if not NULL. Its wait status, or -1; exit 125: no
 * exec.
 */
static inline int hs_run_fresh_copy(const char *var, const char *var2,
				    const char *val2)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		setenv(var, "1", 1);
		if (var2)
			setenv(var2, val2, 1);
		execl("/proc/self/exe", "fresh-copy", (char *)NULL);
		_exit(125);
	}
	return waitpid(pid, &status, 0) == pid ? status : -1;
}

/* The backend the environment asks for, or HS_BACKEND_NONE for auto. */
static inline hs_backend_t hs_expected_backend(void)
{
	const char *e = getenv("HUGESLAB_BACKEND");
	static const char *const names[] = { "none", "kmod", "hugetlb", "thp", "pages" };
	int i;

	if (!e || !*e || !strcmp(e, "auto"))
		return HS_BACKEND_NONE;
	for (i = 1; i < 5; i++)
		if (!strcmp(e, names[i]))
			return (hs_backend_t)i;
	return HS_BACKEND_NONE;
}

/*
 * The rest of the line that starts with @key ("KernelPageSize:", ...) in
 * the smaps entry of the mapping holding @addr, into @buf: 0, or -1 if no
 * mapping holds @addr or its entry has no such line.
 */
static inline int hs_smaps_field(const void *addr, const char *key,
				 char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long lo, hi, a = (unsigned long)addr;
	char line[512], perms[8];
	bool in = false;
	int rc = -1;

	if (!f)
		return -1;
	while (rc < 0 && fgets(line, sizeof(line), f)) {
		/* A mapping's header: "lo-hi perms offset dev inode path". */
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3)
			in = a >= lo && a < hi;
		else if (in && !strncmp(line, key, strlen(key)))
			rc = snprintf(buf, len, "%s", line + strlen(key)) < 0 ? -1 : 0;
	}
	fclose(f);
	return rc;
}

/* KernelPageSize of the mapping holding @addr, in kB, from smaps; -1. */
static inline long hs_kernel_page_kb(const void *addr)
{
	char v[64];
	long kb;

	if (hs_smaps_field(addr, "KernelPageSize:", v, sizeof(v)) < 0 ||
	    sscanf(v, "%ld", &kb) != 1)
		return -1;
	return kb;
}

/*
 * Whether the VmFlags of the mapping holding @addr, in smaps, name @flag
 * ("nh": MADV_NOHUGEPAGE, "hg": MADV_HUGEPAGE): 1 or 0; -1 if no mapping
 * holds @addr.
 */
static inline int hs_vm_flag(const void *addr, const char *flag)
{
	char v[256], *tok, *save;

	if (hs_smaps_field(addr, "VmFlags:", v, sizeof(v)) < 0)
		return -1;
	for (tok = strtok_r(v, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, flag))
			return 1;
	return 0;
}

/*
 * Resident 4 KiB pages of [p, p + n), p page-aligned, from mincore (a
 * sanitizer's shadow would swamp the RSS); -1 on error.
 */
static inline long hs_resident_pages(void *p, size_t n)
{
	size_t i, pages = n / 4096;
	unsigned char *vec = mmap(NULL, pages, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long in = 0;

	if (vec == MAP_FAILED)
		return -1;
	if (mincore(p, n, vec) < 0)
		in = -1;
	for (i = 0; in >= 0 && i < pages; i++)
		in += vec[i] & 1;
	munmap(vec, pages);
	return in;
}

/* A calloc, a malloc and a free: the library's hs_* or libc's names. */
struct hs_alloc_fns {
	void *(*calloc)(size_t, size_t);
	void *(*malloc)(size_t);
	void (*free)(void *);
};

/*
 * A big calloc (256 MiB) is zero without being written - at most 512 of
 * its 4 KiB pages resident if @count_pages (the module populates its
 * regions whole) - and a 32 MiB one taken again at once, after being
 * written as a malloc'd block, is zero too. NULL, or what was wrong.
 */
static inline const char *hs_big_calloc_fault(const struct hs_alloc_fns *f,
					      bool count_pages)
{
	const size_t n = (size_t)256 << 20, m = (size_t)32 << 20;
	static char why[96];
	unsigned char *p;
	long in;
	size_t i;

	p = f->calloc(1, n);
	if (!p)
		return "the 256 MiB calloc failed";
	if (count_pages && (in = hs_resident_pages(p, n)) > 512) {
		snprintf(why, sizeof(why), "%ld of %zu pages resident",
			 in, n / 4096);
		f->free(p);
		return why;
	}
	if (p[0] || p[n - 1]) {
		f->free(p);
		return "the 256 MiB calloc is not zero";
	}
	f->free(p);
	p = f->malloc(m);
	if (!p)
		return "the 32 MiB malloc failed";
	memset(p, 0xab, m);
	f->free(p);
	p = f->calloc(m, 1);
	if (!p)
		return "the 32 MiB calloc failed";
	for (i = 0; i < m; i += 4096) {
		if (p[i] | p[i + 4095]) {
			f->free(p);
			return "a 32 MiB calloc reusing a written block is not zero";
		}
	}
	f->free(p);
	return NULL;
}

#endif
