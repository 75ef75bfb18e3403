/* SPDX-License-Identifier: MIT */
/* scw_config.h - parsing one <Organization "name"> block. */
#ifndef SCW_CONFIG_H
#define SCW_CONFIG_H

#include "scw_org.h"

#include "plugin.h"

/* Fills *cfg from the block and validates it: 0, or -1 after logging one
 * ERROR line that names the block and the option at fault (cfg is then
 * released). */
int scw_config_organization(const oconfig_item_t *ci, scw_org_config_t *cfg);

/* Budget, BudgetThresholds and <Project> (scw_config_budget.c): 0 when
 * handled, -1 after an ERROR, 1 when ci is none of them. */
int scw_config_budget_option(scw_org_config_t *cfg, const oconfig_item_t *ci);

/* The smallest RefreshInterval accepted: 300 s, or the value of the
 * environment variable SCW_FINOPS_MIN_REFRESH_INTERVAL (for tests). */
int scw_config_min_refresh_interval(void);

#endif
