/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hugeslab: the few kernel APIs that differ between the 6.1 and 6.12 LTS
 * kernels we build against, behind one name each.
 */
#ifndef _HS_COMPAT_H
#define _HS_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void hs_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#else
static inline void hs_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}
#endif

static inline struct file *hs_tmpfile_open(const struct path *dir, umode_t mode,
					   int flags, const struct cred *cred)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
	return vfs_tmpfile_open(&init_user_ns, dir, mode, flags, cred);
#else
	return kernel_tmpfile_open(&nop_mnt_idmap, dir, mode, flags, cred);
#endif
}

/* The mm's default placement, for mappings that need no alignment. */
static inline unsigned long hs_mm_get_unmapped_area(struct file *file,
						    unsigned long addr,
						    unsigned long len,
						    unsigned long pgoff,
						    unsigned long flags)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
#else
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
#endif
}

/*
 * NUMA node of the idx-th huge page of a hugetlbfs file, or NUMA_NO_NODE if
 * it is not there. The hugetlb page cache is indexed in huge pages before
 * 6.7 and in base pages since.
 */
static inline int hs_hugepage_nid(struct address_space *mapping, pgoff_t idx,
				  unsigned int order)
{
	int nid;
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
	struct page *page = find_get_page(mapping, idx);

	if (!page)
		return NUMA_NO_NODE;
	nid = page_to_nid(page);
	put_page(page);
#else
	struct folio *folio = filemap_get_folio(mapping, idx << order);

	if (IS_ERR(folio))
		return NUMA_NO_NODE;
	nid = folio_nid(folio);
	folio_put(folio);
#endif
	return nid;
}

/*
 * Whether nothing but the page cache holds the idx-th huge page of a
 * hugetlbfs file (true if the page is not there): no mapping, no pin, no
 * pipe buffer. The page cache holds one reference to a hugetlb folio
 * before 6.7, and one per base page since; the lookup takes one more.
 */
static inline bool hs_hugepage_idle(struct address_space *mapping, pgoff_t idx,
				    unsigned int order)
{
	struct folio *folio;
	bool idle;
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
	struct page *page = find_get_page(mapping, idx);

	if (!page)
		return true;
	folio = page_folio(page);
	idle = folio_ref_count(folio) == 1 + 1 && !folio_mapped(folio);
	put_page(page);
#else
	folio = filemap_get_folio(mapping, idx << order);
	if (IS_ERR(folio))
		return true;
	idle = folio_ref_count(folio) == folio_nr_pages(folio) + 1 &&
	       !folio_mapped(folio);
	folio_put(folio);
#endif
	return idle;
}

#endif /* _HS_COMPAT_H */
