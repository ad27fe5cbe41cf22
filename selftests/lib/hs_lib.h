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

#include "hugeslab.h"

#define HS_2M ((size_t)2 << 20)

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

/* KernelPageSize of the mapping holding @addr, in kB, from smaps; -1. */
static inline long hs_kernel_page_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long lo, hi, a = (unsigned long)addr;
	char line[512], perms[8];
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's header: "lo-hi perms offset dev inode path". */
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3)
			in = a >= lo && a < hi;
		else if (in && sscanf(line, "KernelPageSize: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * Whether the VmFlags of the mapping holding @addr, in smaps, name @flag
 * ("nh": MADV_NOHUGEPAGE, "hg": MADV_HUGEPAGE): 1 or 0; -1 if no mapping
 * holds @addr.
 */
static inline int hs_vm_flag(const void *addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long lo, hi, a = (unsigned long)addr;
	char line[512], perms[8], *tok, *save;
	bool in = false;
	int found = -1;

	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3) {
			in = a >= lo && a < hi;
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			found = 0;
			for (tok = strtok_r(line + 8, " \n", &save); tok;
			     tok = strtok_r(NULL, " \n", &save))
				if (!strcmp(tok, flag))
					found = 1;
		}
	}
	fclose(f);
	return found;
}

#endif
