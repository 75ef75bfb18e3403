/* SPDX-License-Identifier: MIT */
/* scw_config.h - parsing one <Organization "name"> block. */
#ifndef SCW_CONFIG_H
#define SCW_CONFIG_H

#include "scw_org.h"

#include "plugin.h"

/* Returns a fully validated org, or NULL after logging one ERROR line that
 * names the block and the option at fault. */
scw_org_t *scw_config_organization(const oconfig_item_t *ci);

/* The smallest RefreshInterval accepted: 300 s, or the value of the
 * environment variable SCW_FINOPS_MIN_REFRESH_INTERVAL (for tests). */
int scw_config_min_refresh_interval(void);

#endif
