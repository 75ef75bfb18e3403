/* SPDX-License-Identifier: MIT */
/* scw_state.h - one organization's state file, so that a restart serves the
 * last numbers at once and follows the schedule instead of re-walking every
 * month of every organization in one burst.
 *
 * Holds the schedule (plain integers), and the snapshots of the current and
 * the closing month with their period, age, series, amounts and the names
 * given in their period, the forecast history and the budget crossings
 * already announced. Format (version 1; later members are optional):
 *
 *   scw_finops-state 1 <16 hex digits: FNV-1a 64 of the body>\n
 *   <body: one JSON object>
 *
 * Written atomically (temporary file, fsync, rename, fsync of the
 * directory). A missing file is SCW_ERR_NOT_FOUND; a truncated, corrupt,
 * foreign (another OrganizationID, GroupBy, ProjectLabel or Currency) or
 * future-version file is refused with a message, and nothing of it is used:
 * a state file never publishes a number that a walk did not produce.
 * Snapshots are rebuilt through the same aggregation and naming code as a
 * walk, and refused unless they come out with the saved names and total. */
#ifndef SCW_STATE_H
#define SCW_STATE_H

#include <stdint.h>

#include "scw_agg.h"
#include "scw_budget.h"
#include "scw_error.h"
#include "scw_forecast.h"
#include "scw_schedule.h"
#include "scw_snapshot.h"

#define SCW_STATE_VERSION 1
#define SCW_STATE_MAGIC "scw_finops-state"

typedef struct {
  /* Identity: a file saved for another configuration is foreign. */
  const char *organization_id;
  scw_group_by_t group_by;
  scw_label_mode_t label_mode;
  const char *currency;
  int64_t saved; /* Unix seconds (written; read back on load) */
  scw_sched_state_t sched;
  scw_snapshot_t *snaps[2]; /* current, closing; NULL when none */
  /* Forecast samples and the budget crossings announced this period
   * (optional members: a file without them loads with both empty). Save
   * reads them (NULL: left out); load fills them when non-NULL. */
  scw_history_t *history;
  scw_alerts_t *alerts;
} scw_state_t;

/* Writes st to path atomically. */
scw_rc_t scw_state_save(const char *path, const scw_state_t *st,
                        scw_error_t *err);

/* Reads path into st, whose identity fields say what is expected. On
 * success st->saved, st->sched and st->snaps are filled (the caller owns the
 * snapshots); on failure nothing is. */
scw_rc_t scw_state_load(const char *path, scw_state_t *st, scw_error_t *err);

#endif
