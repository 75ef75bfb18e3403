/* SPDX-License-Identifier: MIT */
/* scw_budget.h - budgets, and which crossings to announce.
 *
 * A budget is an amount per billing period for the organization or for one
 * project (named by id or by name). Each threshold (percent of the budget)
 * is announced once per period when the month to date reaches it, and the
 * forecast once when it first exceeds the budget. What was announced is kept
 * per period (scw_alerts_t) and saved in the state file, so a restart does
 * not announce it again. Pure: no collectd; the worker sends the
 * notifications. */
#ifndef SCW_BUDGET_H
#define SCW_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "scw_error.h"
#include "scw_snapshot.h"

#define SCW_BUDGET_MAX_THRESHOLDS 8

typedef struct {
  char *project;        /* NULL: the organization; else a project id or name */
  int64_t budget_nanos; /* > 0 */
} scw_budget_t;

typedef struct {
  scw_budget_t *budgets;
  size_t n_budgets;
  /* Basis points of the budget (80 % = 8000), ascending, distinct. */
  int64_t thresholds_bp[SCW_BUDGET_MAX_THRESHOLDS];
  size_t n_thresholds;
} scw_budgets_t;

/* Announced in one period for one budget. */
typedef struct {
  char *key; /* "" for the organization, else the budget's project */
  int64_t used_bp[SCW_BUDGET_MAX_THRESHOLDS];
  size_t n_used;
  int forecast; /* the forecast-over-budget notice went out */
} scw_alert_t;

typedef struct {
  char period[8]; /* "" when nothing was announced yet */
  scw_alert_t *alerts;
  size_t n_alerts;
} scw_alerts_t;

typedef enum { SCW_BUDGET_USED, SCW_BUDGET_FORECAST } scw_budget_kind_t;

typedef struct {
  const scw_budget_t *budget;
  const scw_project_cost_t *project; /* NULL: the organization */
  scw_budget_kind_t kind;
  int64_t threshold_bp;  /* USED: the threshold reached; FORECAST: 10000 */
  int64_t amount_nanos;  /* month to date, or the forecast */
} scw_budget_event_t;

void scw_budgets_free(scw_budgets_t *b);

/* The project of snap a budget key names (id first, then name, then its
 * series' label), or NULL. */
const scw_project_cost_t *scw_budget_project(const scw_snapshot_t *snap,
                                             const char *key);

/* The month to date and forecast a budget applies to in snap; 0 when its
 * project has no cost in snap (*forecast -1 when there is no forecast).
 * Returns the budget's project in snap (NULL: the organization's budget, or
 * a project without cost). */
const scw_project_cost_t *scw_budget_amounts(const scw_budget_t *b, const scw_snapshot_t *snap,
                        int64_t *mtd, int64_t *forecast);

/* Compares snap (the current month) with every budget. The crossings not yet
 * announced in snap->period are recorded in alerts and returned in *events
 * (malloc'd, NULL when none; pointers into cfg and snap). */
scw_rc_t scw_budget_check(const scw_budgets_t *cfg, scw_alerts_t *alerts,
                          const scw_snapshot_t *snap,
                          scw_budget_event_t **events, size_t *n_events,
                          scw_error_t *err);

/* Marks a crossing as announced (a state file being loaded). */
scw_rc_t scw_alerts_mark(scw_alerts_t *alerts, const char *key,
                         scw_budget_kind_t kind, int64_t threshold_bp,
                         scw_error_t *err);
void scw_alerts_free(scw_alerts_t *alerts);

#endif
