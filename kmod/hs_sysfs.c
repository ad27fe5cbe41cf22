// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugeslab: global counters as sysfs attributes of the misc device,
 * /sys/class/misc/hugeslab/<name>, one value per file, readable by anyone.
 * Unlike debugfs they need no root and survive kernel lockdown, so hsstat
 * falls back to them.
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "hs_internal.h"

#define HS_TOTAL_ATTR(name, expr)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct hs_totals t;						\
									\
	hs_totals(&t);							\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(expr));	\
}									\
static DEVICE_ATTR_RO(name)

HS_TOTAL_ATTR(reserved_bytes, t.reserve_bytes);
HS_TOTAL_ATTR(used_bytes, t.used_bytes);
HS_TOTAL_ATTR(free_bytes, t.reserve_free);
HS_TOTAL_ATTR(max_bytes, t.max_bytes);
HS_TOTAL_ATTR(user_max_bytes, t.user_max_bytes);
HS_TOTAL_ATTR(peak_bytes, t.peak_bytes);
HS_TOTAL_ATTR(regions, t.regions);
HS_TOTAL_ATTR(failed_requests, t.failed);

static ssize_t page_sizes_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%llx\n", hs_page_sizes());
}
static DEVICE_ATTR_RO(page_sizes);

static struct attribute *hs_sysfs_attrs[] = {
	&dev_attr_reserved_bytes.attr,
	&dev_attr_used_bytes.attr,
	&dev_attr_free_bytes.attr,
	&dev_attr_max_bytes.attr,
	&dev_attr_user_max_bytes.attr,
	&dev_attr_peak_bytes.attr,
	&dev_attr_regions.attr,
	&dev_attr_failed_requests.attr,
	&dev_attr_page_sizes.attr,
	NULL,
};

static const struct attribute_group hs_sysfs_group = {
	.attrs = hs_sysfs_attrs,
};

const struct attribute_group *hs_sysfs_groups[] = {
	&hs_sysfs_group,
	NULL,
};
