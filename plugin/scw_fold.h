/* SPDX-License-Identifier: MIT */
/* scw_fold.h - per-project totals of a snapshot, and the MaxSeries cap.
 *
 * GroupBy resource can mean tens of thousands of series per organization,
 * each one a file in Graphite and a key in every writer. MaxSeries N keeps
 * the N-1 largest groups by absolute cost and sums the rest, exactly, into
 * one series "other/other"; the organization total never changes.
 *
 * Membership is damped so that series do not flap every refresh: a group
 * kept by the previous snapshot of the period (an incumbent) stays while it
 * ranks within the top K + m (K = N-1, m = max(1, K/10)); a newcomer enters
 * straight away only when it ranks within the top K - m, otherwise when
 * there is room. Ranks are by absolute cost, ties by identifier. */
#ifndef SCW_FOLD_H
#define SCW_FOLD_H

#include <stddef.h>

#include "scw_error.h"
#include "scw_snapshot.h"

/* The identifier of the folded series. */
#define SCW_FOLD_PLUGIN_INSTANCE "other"
#define SCW_FOLD_TYPE_INSTANCE "other"

/* Fills snap->projects from its series (call before scw_snapshot_fold, so
 * that folded groups still count for their project). GroupBy organization
 * has no projects. */
scw_rc_t scw_snapshot_summarise(scw_snapshot_t *snap, scw_error_t *err);

/* Caps snap at max_series series (0: no cap; 1 is treated as 2: one kept
 * group and "other"). `previous` is the last snapshot published for the same
 * period (NULL if none; another period's is ignored): its series are the
 * incumbents. Sets snap->folded. On failure snap is unchanged. */
scw_rc_t scw_snapshot_fold(scw_snapshot_t *snap, size_t max_series,
                           const scw_snapshot_t *previous, scw_error_t *err);

/* The folded series of snap, or NULL when nothing was folded. */
const scw_series_t *scw_snapshot_other(const scw_snapshot_t *snap);

#endif
