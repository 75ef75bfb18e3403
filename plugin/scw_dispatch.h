/* SPDX-License-Identifier: MIT */
/* scw_dispatch.h - what one read dispatches for one organization.
 *
 * The read callback's body, with `now` passed in so the glue tests choose
 * the instant. It takes snapshots and counters from the worker and never
 * waits for the API:
 *   month to date  type currency (project/SKU series and "total"), only
 *                  while the snapshot is of this month and fresh; an empty
 *                  new month (no walk yet) publishes total 0;
 *   closing month  type currency_previous (same series, "total") and
 *                  gauge-previous_final (0 provisional, 1 final), all month;
 *   self-metrics   always. */
#ifndef SCW_DISPATCH_H
#define SCW_DISPATCH_H

#include <stdint.h>

#include "scw_org.h"

void scw_dispatch_read(scw_org_t *org, int64_t now);
void scw_read_cache_free(scw_read_cache_t *cache);

#endif
