/* SPDX-License-Identifier: MIT */
/* scw_budget.c - budgets and crossings; see scw_budget.h. */
#include "scw_budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scw_budgets_free(scw_budgets_t *b) {
  for (size_t i = 0; i < b->n_budgets; i++)
    free(b->budgets[i].project);
  free(b->budgets);
  memset(b, 0, sizeof(*b));
}

void scw_alerts_free(scw_alerts_t *a) {
  for (size_t i = 0; i < a->n_alerts; i++)
    free(a->alerts[i].key);
  free(a->alerts);
  memset(a, 0, sizeof(*a));
}

const scw_project_cost_t *scw_budget_project(const scw_snapshot_t *snap,
                                             const char *key) {
  for (size_t i = 0; i < snap->n_projects; i++)
    if (strcmp(snap->projects[i].project_id, key) == 0)
      return &snap->projects[i];
  for (size_t i = 0; i < snap->n_projects; i++)
    if (snap->projects[i].project_name != NULL &&
        strcmp(snap->projects[i].project_name, key) == 0)
      return &snap->projects[i];
  for (size_t i = 0; i < snap->n_projects; i++)
    if (strcmp(snap->projects[i].plugin_instance, key) == 0)
      return &snap->projects[i];
  return NULL;
}

const scw_project_cost_t *scw_budget_amounts(const scw_budget_t *b,
                                             const scw_snapshot_t *snap,
                                             int64_t *mtd, int64_t *forecast) {
  if (b->project == NULL) {
    *mtd = snap->total_nanos;
    *forecast = snap->forecast_nanos;
    return NULL;
  }
  const scw_project_cost_t *p = scw_budget_project(snap, b->project);
  *mtd = p != NULL ? p->nanos : 0;
  *forecast = p != NULL ? p->forecast_nanos : -1;
  return p;
}

static scw_alert_t *alert_for(scw_alerts_t *a, const char *key) {
  for (size_t i = 0; i < a->n_alerts; i++)
    if (strcmp(a->alerts[i].key, key) == 0)
      return &a->alerts[i];
  scw_alert_t *more = realloc(a->alerts, (a->n_alerts + 1) * sizeof(*more));
  if (more == NULL)
    return NULL;
  a->alerts = more;
  char *copy = strdup(key);
  if (copy == NULL)
    return NULL;
  a->alerts[a->n_alerts] = (scw_alert_t){.key = copy};
  return &a->alerts[a->n_alerts++];
}

static int announced(const scw_alert_t *al, int64_t bp) {
  for (size_t i = 0; i < al->n_used; i++)
    if (al->used_bp[i] == bp)
      return 1;
  return 0;
}

static scw_rc_t mark(scw_alert_t *al, scw_budget_kind_t kind, int64_t bp,
                     scw_error_t *err) {
  if (kind == SCW_BUDGET_FORECAST) {
    al->forecast = 1;
  } else if (!announced(al, bp)) {
    if (al->n_used == SCW_BUDGET_MAX_THRESHOLDS)
      return scw_fail(err, SCW_ERR_LIMIT, "too many thresholds");
    al->used_bp[al->n_used++] = bp;
  }
  return SCW_OK;
}

scw_rc_t scw_alerts_mark(scw_alerts_t *alerts, const char *key,
                         scw_budget_kind_t kind, int64_t threshold_bp,
                         scw_error_t *err) {
  scw_alert_t *al = alert_for(alerts, key);
  if (al == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "budget alerts");
  return mark(al, kind, threshold_bp, err);
}

/* amount >= budget * bp / 10000, exactly. */
static int reached(int64_t amount, int64_t budget, int64_t bp) {
  return (__int128)amount * 10000 >= (__int128)budget * bp;
}

scw_rc_t scw_budget_check(const scw_budgets_t *cfg, scw_alerts_t *alerts,
                          const scw_snapshot_t *snap,
                          scw_budget_event_t **events, size_t *n_events,
                          scw_error_t *err) {
  *events = NULL;
  *n_events = 0;
  if (cfg->n_budgets == 0)
    return SCW_OK;
  if (strcmp(alerts->period, snap->period) != 0) {
    scw_alerts_free(alerts);
    snprintf(alerts->period, sizeof(alerts->period), "%s", snap->period);
  }
  size_t cap = cfg->n_budgets * (cfg->n_thresholds + 1);
  scw_budget_event_t *ev = calloc(cap, sizeof(*ev));
  if (ev == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "budget events");
  size_t n = 0;
  scw_rc_t rc = SCW_OK;
  for (size_t i = 0; rc == SCW_OK && i < cfg->n_budgets; i++) {
    const scw_budget_t *b = &cfg->budgets[i];
    int64_t mtd, forecast;
    const scw_project_cost_t *p = scw_budget_amounts(b, snap, &mtd, &forecast);
    scw_alert_t *al = alert_for(alerts, b->project ? b->project : "");
    if (al == NULL) {
      rc = scw_fail(err, SCW_ERR_NOMEM, "budget alerts");
      break;
    }
    for (size_t t = 0; rc == SCW_OK && t < cfg->n_thresholds; t++) {
      int64_t bp = cfg->thresholds_bp[t];
      if (!reached(mtd, b->budget_nanos, bp) || announced(al, bp))
        continue;
      rc = mark(al, SCW_BUDGET_USED, bp, err);
      ev[n++] = (scw_budget_event_t){b, p, SCW_BUDGET_USED, bp, mtd};
    }
    if (rc == SCW_OK && !al->forecast && forecast > b->budget_nanos) {
      rc = mark(al, SCW_BUDGET_FORECAST, 10000, err);
      ev[n++] = (scw_budget_event_t){b, p, SCW_BUDGET_FORECAST, 10000, forecast};
    }
  }
  if (rc != SCW_OK || n == 0) {
    free(ev);
    return rc;
  }
  *events = ev;
  *n_events = n;
  return SCW_OK;
}
