/* SPDX-License-Identifier: MIT */
/* scw_notify.h - budget crossings as collectd notifications. */
#ifndef SCW_NOTIFY_H
#define SCW_NOTIFY_H

#include "scw_org.h"

/* One notification for ev (from scw_budget_check on snap): WARNING for a
 * threshold below 100 % and for a forecast over budget, FAILURE from 100 %.
 * Identified like the percent series it is about, so the threshold plugin's
 * own notifications and these sort together. */
void scw_notify_budget(const scw_org_config_t *cfg, const scw_snapshot_t *snap,
                       const scw_budget_event_t *ev);

#endif
