/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_budget.c: budgets, thresholds in basis points,
 * each crossing announced once per period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_budget.h"
#include "scw_fold.h"

#define P1 "11111111-1111-4111-8111-111111111111"
#define P2 "22222222-2222-4222-8222-222222222222"
#define P3 "33333333-3333-4333-8333-333333333333"
#define EUR INT64_C(1000000000)

/* GroupBy project, label by name: P1 "my prod", P2 "dev", P3 no name.
 * Amounts in nanos; forecasts -1 until set. */
static scw_snapshot_t *snap_of(const char *period, int64_t a1, int64_t a2,
                               int64_t a3) {
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  scw_charge_t c[] = {
      {P1, "my prod", "/a", "", NULL, "EUR", a1},
      {P2, "dev", "/a", "", NULL, "EUR", a2},
      {P3, NULL, "/a", "", NULL, "EUR", a3},
  };
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(scw_agg_add(agg, &c[i], NULL), SCW_OK);
  scw_snapshot_t *s = NULL;
  assert_int_equal(
      scw_snapshot_build_period(agg, SCW_LABEL_NAME, period, NULL, &s, NULL),
      SCW_OK);
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  assert_int_equal(s->n_projects, 3);
  s->forecast_nanos = -1;
  return s;
}

/* The organization total alone (P1 carries it all). */
static scw_snapshot_t *org_snap(const char *period, int64_t total,
                                int64_t forecast) {
  scw_snapshot_t *s = snap_of(period, total, 0, 0);
  s->forecast_nanos = forecast;
  return s;
}

static scw_project_cost_t *proj(scw_snapshot_t *s, const char *id) {
  for (size_t i = 0; i < s->n_projects; i++)
    if (strcmp(s->projects[i].project_id, id) == 0)
      return &s->projects[i];
  fail_msg("no project %s", id);
  return NULL;
}

/* budgets: {key or NULL, amount}...; thresholds in basis points. */
static void config(scw_budgets_t *cfg, size_t n, const char *const *keys,
                   const int64_t *amounts, size_t n_bp, const int64_t *bp) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->budgets = calloc(n, sizeof(*cfg->budgets));
  assert_non_null(cfg->budgets);
  cfg->n_budgets = n;
  for (size_t i = 0; i < n; i++) {
    cfg->budgets[i].project = keys[i] ? strdup(keys[i]) : NULL;
    cfg->budgets[i].budget_nanos = amounts[i];
  }
  assert_true(n_bp <= SCW_BUDGET_MAX_THRESHOLDS);
  for (size_t i = 0; i < n_bp; i++)
    cfg->thresholds_bp[i] = bp[i];
  cfg->n_thresholds = n_bp;
}

static void org_config(scw_budgets_t *cfg, int64_t budget, size_t n_bp,
                       const int64_t *bp) {
  const char *const keys[] = {NULL};
  config(cfg, 1, keys, &budget, n_bp, bp);
}

typedef struct {
  scw_budget_event_t *ev;
  size_t n;
} events_t;

static events_t check(const scw_budgets_t *cfg, scw_alerts_t *alerts,
                      const scw_snapshot_t *snap) {
  events_t e = {(scw_budget_event_t *)0x1, 99};
  scw_error_t err = {0};
  if (scw_budget_check(cfg, alerts, snap, &e.ev, &e.n, &err) != SCW_OK)
    fail_msg("scw_budget_check: %s", err.msg);
  if (e.n == 0)
    assert_null(e.ev);
  else
    assert_non_null(e.ev);
  return e;
}

static void assert_used(const scw_budget_event_t *e, const scw_budget_t *b,
                        int64_t bp, int64_t amount) {
  assert_ptr_equal(e->budget, b);
  assert_int_equal(e->kind, SCW_BUDGET_USED);
  assert_true(e->threshold_bp == bp);
  assert_true(e->amount_nanos == amount);
}

static void assert_forecast(const scw_budget_event_t *e, const scw_budget_t *b,
                            int64_t amount) {
  assert_ptr_equal(e->budget, b);
  assert_int_equal(e->kind, SCW_BUDGET_FORECAST);
  assert_true(e->threshold_bp == 10000);
  assert_true(e->amount_nanos == amount);
}

/* amount * 10000 == budget * bp counts as reached; one nano less does not. */
static void test_threshold_exact_boundary(void **state) {
  (void)state;
  static const struct {
    int64_t budget, bp, at; /* `at`: the smallest amount reaching bp */
  } cases[] = {
      {100 * EUR, 8000, 80 * EUR},
      {999999999, 8000, 800000000}, /* 799999999.2 */
      {3, 3333, 1},                 /* 0.9999 */
      {3, 10000, 3},
      {7, 5000, 4}, /* 3.5 */
      {INT64_MAX, 10000, INT64_MAX},
      {INT64_MAX, 5000, INT64_MAX / 2 + 1},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    scw_budgets_t cfg;
    org_config(&cfg, cases[k].budget, 1, &cases[k].bp);
    scw_alerts_t alerts = {.n_alerts = 0};
    scw_snapshot_t *below = org_snap("2028-02", cases[k].at - 1, -1);
    events_t e = check(&cfg, &alerts, below);
    if (e.n != 0)
      fail_msg("case %zu: %lld below %lld bp of %lld reached", k,
               (long long)(cases[k].at - 1), (long long)cases[k].bp,
               (long long)cases[k].budget);
    scw_snapshot_t *at = org_snap("2028-02", cases[k].at, -1);
    e = check(&cfg, &alerts, at);
    if (e.n != 1)
      fail_msg("case %zu: %lld at %lld bp of %lld not reached", k,
               (long long)cases[k].at, (long long)cases[k].bp,
               (long long)cases[k].budget);
    assert_used(&e.ev[0], &cfg.budgets[0], cases[k].bp, cases[k].at);
    assert_null(e.ev[0].project);
    free(e.ev);
    scw_snapshot_release(below);
    scw_snapshot_release(at);
    scw_alerts_free(&alerts);
    scw_budgets_free(&cfg);
  }
}

/* Several thresholds crossed in one check come out together, ascending;
 * the same or higher amounts later bring only what is new. */
static void test_once_per_period(void **state) {
  (void)state;
  const int64_t bp[] = {5000, 8000, 10000, 12000};
  scw_budgets_t cfg;
  org_config(&cfg, 100 * EUR, 4, bp);
  scw_alerts_t alerts = {.n_alerts = 0};

  scw_snapshot_t *s = org_snap("2028-02", 10 * EUR, -1);
  events_t e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  assert_string_equal(alerts.period, "2028-02");
  scw_snapshot_release(s);

  s = org_snap("2028-02", 110 * EUR, -1);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 3);
  assert_used(&e.ev[0], &cfg.budgets[0], 5000, 110 * EUR);
  assert_used(&e.ev[1], &cfg.budgets[0], 8000, 110 * EUR);
  assert_used(&e.ev[2], &cfg.budgets[0], 10000, 110 * EUR);
  free(e.ev);
  /* The same again: nothing. */
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  /* Lower (credits), then higher but under 120 %: nothing. */
  s = org_snap("2028-02", 60 * EUR, -1);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  s = org_snap("2028-02", 119 * EUR, -1);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  /* 120 %: only the new one. */
  s = org_snap("2028-02", 120 * EUR, -1);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 1);
  assert_used(&e.ev[0], &cfg.budgets[0], 12000, 120 * EUR);
  free(e.ev);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  /* What was announced is recorded under the organization's key "". */
  assert_int_equal(alerts.n_alerts, 1);
  assert_string_equal(alerts.alerts[0].key, "");
  assert_int_equal(alerts.alerts[0].n_used, 4);
  assert_int_equal(alerts.alerts[0].forecast, 0);
  scw_alerts_free(&alerts);
  scw_budgets_free(&cfg);
}

/* The forecast notice: once, and only when the forecast is strictly over
 * the budget. */
static void test_forecast_over_budget(void **state) {
  (void)state;
  const int64_t bp[] = {8000};
  scw_budgets_t cfg;
  org_config(&cfg, 100 * EUR, 1, bp);
  scw_alerts_t alerts = {.n_alerts = 0};
  const int64_t not_over[] = {-1, 0, 50 * EUR, 100 * EUR};
  for (size_t i = 0; i < 4; i++) {
    scw_snapshot_t *s = org_snap("2028-02", 10 * EUR, not_over[i]);
    events_t e = check(&cfg, &alerts, s);
    assert_int_equal(e.n, 0);
    scw_snapshot_release(s);
  }
  scw_snapshot_t *s = org_snap("2028-02", 10 * EUR, 100 * EUR + 1);
  events_t e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 1);
  assert_forecast(&e.ev[0], &cfg.budgets[0], 100 * EUR + 1);
  assert_null(e.ev[0].project);
  free(e.ev);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  /* Still over, higher: not again. */
  s = org_snap("2028-02", 10 * EUR, 500 * EUR);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  /* A crossing and the forecast in one check: the crossing first. */
  scw_alerts_free(&alerts);
  s = org_snap("2028-02", 90 * EUR, 150 * EUR);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 2);
  assert_used(&e.ev[0], &cfg.budgets[0], 8000, 90 * EUR);
  assert_forecast(&e.ev[1], &cfg.budgets[0], 150 * EUR);
  free(e.ev);
  assert_int_equal(alerts.alerts[0].forecast, 1);
  scw_snapshot_release(s);
  scw_alerts_free(&alerts);
  scw_budgets_free(&cfg);
}

/* A new period starts afresh. */
static void test_new_period_resets(void **state) {
  (void)state;
  const int64_t bp[] = {5000, 10000};
  scw_budgets_t cfg;
  org_config(&cfg, 100 * EUR, 2, bp);
  scw_alerts_t alerts = {.n_alerts = 0};
  scw_snapshot_t *jan = org_snap("2028-01", 200 * EUR, 300 * EUR);
  events_t e = check(&cfg, &alerts, jan);
  assert_int_equal(e.n, 3);
  free(e.ev);
  e = check(&cfg, &alerts, jan);
  assert_int_equal(e.n, 0);
  scw_snapshot_t *feb = org_snap("2028-02", 60 * EUR, 300 * EUR);
  e = check(&cfg, &alerts, feb);
  assert_string_equal(alerts.period, "2028-02");
  assert_int_equal(e.n, 2);
  assert_used(&e.ev[0], &cfg.budgets[0], 5000, 60 * EUR);
  assert_forecast(&e.ev[1], &cfg.budgets[0], 300 * EUR);
  free(e.ev);
  assert_int_equal(alerts.n_alerts, 1);
  assert_int_equal(alerts.alerts[0].n_used, 1);
  scw_snapshot_release(jan);
  scw_snapshot_release(feb);
  scw_alerts_free(&alerts);
  scw_budgets_free(&cfg);
}

/* A budget names its project by id, by name or by its series' label. */
static void test_project_matching(void **state) {
  (void)state;
  scw_snapshot_t *s = snap_of("2028-02", 90 * EUR, 40 * EUR, 7 * EUR);
  proj(s, P1)->forecast_nanos = 200 * EUR;
  proj(s, P2)->forecast_nanos = 45 * EUR;
  s->forecast_nanos = 400 * EUR;
  assert_ptr_equal(scw_budget_project(s, P1), proj(s, P1));
  assert_ptr_equal(scw_budget_project(s, "my prod"), proj(s, P1));
  assert_ptr_equal(scw_budget_project(s, "my_prod"), proj(s, P1)); /* label */
  assert_ptr_equal(scw_budget_project(s, "dev"), proj(s, P2));
  assert_ptr_equal(scw_budget_project(s, P3), proj(s, P3));
  assert_null(scw_budget_project(s, "My Prod"));
  assert_null(scw_budget_project(s, "nope"));

  int64_t mtd = 1, fc = 1;
  scw_budget_t b = {(char *)"dev", 50 * EUR};
  scw_budget_amounts(&b, s, &mtd, &fc);
  assert_true(mtd == 40 * EUR && fc == 45 * EUR);
  b.project = (char *)P3;
  scw_budget_amounts(&b, s, &mtd, &fc);
  assert_true(mtd == 7 * EUR && fc == -1);
  b.project = (char *)"gone";
  scw_budget_amounts(&b, s, &mtd, &fc);
  assert_true(mtd == 0 && fc == -1);
  b.project = NULL;
  scw_budget_amounts(&b, s, &mtd, &fc);
  assert_true(mtd == 137 * EUR && fc == 400 * EUR);

  const char *const keys[] = {P1, "dev", "my_prod", "gone", NULL};
  const int64_t amounts[] = {100 * EUR, 50 * EUR, 1000 * EUR, EUR, 10000 * EUR};
  const int64_t bp[] = {8000, 10000};
  scw_budgets_t cfg;
  config(&cfg, 5, keys, amounts, 2, bp);
  scw_alerts_t alerts = {.n_alerts = 0};
  events_t e = check(&cfg, &alerts, s);
  /* P1 by id: 80 % (90 of 100) and forecast 200 > 100;
   * dev: 80 % (40 of 50); my_prod by label: nothing (90 of 1000);
   * gone: nothing; organization: nothing (137 of 10000, forecast 400). */
  assert_int_equal(e.n, 3);
  assert_used(&e.ev[0], &cfg.budgets[0], 8000, 90 * EUR);
  assert_ptr_equal(e.ev[0].project, proj(s, P1));
  assert_forecast(&e.ev[1], &cfg.budgets[0], 200 * EUR);
  assert_ptr_equal(e.ev[1].project, proj(s, P1));
  assert_used(&e.ev[2], &cfg.budgets[1], 8000, 40 * EUR);
  assert_ptr_equal(e.ev[2].project, proj(s, P2));
  free(e.ev);
  /* Each budget is tracked under its own key. */
  assert_int_equal(alerts.n_alerts, 5);
  scw_snapshot_release(s);

  /* A budget by label crosses when its project does. */
  s = snap_of("2028-02", 900 * EUR, 40 * EUR, 7 * EUR);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 2);
  assert_used(&e.ev[0], &cfg.budgets[0], 10000, 900 * EUR);
  assert_used(&e.ev[1], &cfg.budgets[2], 8000, 900 * EUR);
  assert_ptr_equal(e.ev[1].project, proj(s, P1));
  free(e.ev);
  scw_snapshot_release(s);
  scw_alerts_free(&alerts);
  scw_budgets_free(&cfg);
}

/* The id wins over a name, and a name over a label. */
static void test_project_matching_precedence(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  scw_charge_t c[] = {
      {"alpha", "beta", "/a", "", NULL, "EUR", 1},  /* label "beta" */
      {"beta", "gamma", "/a", "", NULL, "EUR", 2},  /* label "gamma" */
      {"delta", "x y", "/a", "", NULL, "EUR", 4},   /* label "x_y" */
      {"x_y", NULL, "/a", "", NULL, "EUR", 8},      /* labels clash */
  };
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(scw_agg_add(agg, &c[i], NULL), SCW_OK);
  scw_snapshot_t *s = NULL;
  assert_int_equal(
      scw_snapshot_build_period(agg, SCW_LABEL_NAME, "2028-02", NULL, &s, NULL),
      SCW_OK);
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  assert_string_equal(scw_budget_project(s, "beta")->project_id, "beta");
  assert_string_equal(scw_budget_project(s, "gamma")->project_id, "beta");
  assert_string_equal(scw_budget_project(s, "alpha")->project_id, "alpha");
  assert_string_equal(scw_budget_project(s, "x_y")->project_id, "x_y");
  assert_string_equal(scw_budget_project(s, "x y")->project_id, "delta");
  scw_snapshot_release(s);
}

/* A project absent from the snapshot (no cost this month): amounts 0 and
 * -1, and nothing to announce. */
static void test_absent_project_no_event(void **state) {
  (void)state;
  const char *const keys[] = {"44444444-4444-4444-8444-444444444444"};
  const int64_t amounts[] = {1};
  const int64_t bp[] = {1, 5000, 10000};
  scw_budgets_t cfg;
  config(&cfg, 1, keys, amounts, 3, bp);
  scw_alerts_t alerts = {.n_alerts = 0};
  scw_snapshot_t *s = snap_of("2028-02", 90 * EUR, 40 * EUR, 7 * EUR);
  events_t e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  scw_alerts_free(&alerts);
  scw_budgets_free(&cfg);
}

/* Crossings marked as announced (a loaded state file) stay silent. */
static void test_marked_stay_silent(void **state) {
  (void)state;
  const int64_t bp[] = {5000, 8000, 10000};
  scw_budgets_t cfg;
  org_config(&cfg, 100 * EUR, 3, bp);
  scw_alerts_t alerts = {.n_alerts = 0};
  snprintf(alerts.period, sizeof(alerts.period), "2028-02");
  assert_int_equal(scw_alerts_mark(&alerts, "", SCW_BUDGET_USED, 8000, NULL),
                   SCW_OK);
  assert_int_equal(scw_alerts_mark(&alerts, "", SCW_BUDGET_USED, 8000, NULL),
                   SCW_OK); /* twice: once */
  assert_int_equal(scw_alerts_mark(&alerts, "", SCW_BUDGET_FORECAST, 10000, NULL),
                   SCW_OK);
  assert_int_equal(alerts.n_alerts, 1);
  assert_int_equal(alerts.alerts[0].n_used, 1);
  scw_snapshot_t *s = org_snap("2028-02", 110 * EUR, 300 * EUR);
  events_t e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 2);
  assert_used(&e.ev[0], &cfg.budgets[0], 5000, 110 * EUR);
  assert_used(&e.ev[1], &cfg.budgets[0], 10000, 110 * EUR);
  free(e.ev);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  scw_alerts_free(&alerts);
  assert_int_equal(alerts.n_alerts, 0);
  assert_string_equal(alerts.period, "");
  /* Marks of another period do not hold for this one. */
  snprintf(alerts.period, sizeof(alerts.period), "2028-01");
  assert_int_equal(scw_alerts_mark(&alerts, "", SCW_BUDGET_USED, 5000, NULL),
                   SCW_OK);
  s = org_snap("2028-02", 60 * EUR, -1);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 1);
  free(e.ev);
  scw_snapshot_release(s);
  /* Too many distinct thresholds marked under one key: refused. */
  scw_alerts_free(&alerts);
  for (int64_t i = 1; i <= SCW_BUDGET_MAX_THRESHOLDS; i++)
    assert_int_equal(scw_alerts_mark(&alerts, "k", SCW_BUDGET_USED, i * 100, NULL),
                     SCW_OK);
  assert_int_equal(scw_alerts_mark(&alerts, "k", SCW_BUDGET_USED, 99999, NULL),
                   SCW_ERR_LIMIT);
  scw_alerts_free(&alerts);
  scw_budgets_free(&cfg);
}

/* Every budget crossing every threshold and its forecast in one check: all
 * come out (the events array is exactly full). */
static void test_everything_at_once(void **state) {
  (void)state;
  int64_t bp[SCW_BUDGET_MAX_THRESHOLDS];
  for (size_t i = 0; i < SCW_BUDGET_MAX_THRESHOLDS; i++)
    bp[i] = 1000 * (int64_t)(i + 1);
  const char *const keys[] = {NULL, P1, "dev"};
  const int64_t amounts[] = {EUR, EUR, EUR};
  scw_budgets_t cfg;
  config(&cfg, 3, keys, amounts, SCW_BUDGET_MAX_THRESHOLDS, bp);
  scw_alerts_t alerts = {.n_alerts = 0};
  scw_snapshot_t *s = snap_of("2028-02", 2 * EUR, 2 * EUR, 0);
  s->forecast_nanos = 5 * EUR;
  proj(s, P1)->forecast_nanos = 3 * EUR;
  proj(s, P2)->forecast_nanos = 3 * EUR;
  events_t e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 3 * (SCW_BUDGET_MAX_THRESHOLDS + 1));
  for (size_t b = 0; b < 3; b++) {
    const scw_budget_event_t *ev = &e.ev[b * (SCW_BUDGET_MAX_THRESHOLDS + 1)];
    for (size_t i = 0; i < SCW_BUDGET_MAX_THRESHOLDS; i++)
      assert_used(&ev[i], &cfg.budgets[b], bp[i], b == 0 ? 4 * EUR : 2 * EUR);
    assert_forecast(&ev[SCW_BUDGET_MAX_THRESHOLDS], &cfg.budgets[b],
                    b == 0 ? 5 * EUR : 3 * EUR);
  }
  free(e.ev);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  scw_alerts_free(&alerts);
  scw_budgets_free(&cfg);
}

/* No budgets: nothing, and the alerts are left alone. */
static void test_no_budgets(void **state) {
  (void)state;
  scw_budgets_t cfg = {0};
  scw_alerts_t alerts = {.n_alerts = 0};
  snprintf(alerts.period, sizeof(alerts.period), "2028-01");
  assert_int_equal(scw_alerts_mark(&alerts, "", SCW_BUDGET_USED, 5000, NULL),
                   SCW_OK);
  scw_snapshot_t *s = org_snap("2028-02", 100 * EUR, 500 * EUR);
  events_t e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  assert_string_equal(alerts.period, "2028-01");
  assert_int_equal(alerts.n_alerts, 1);
  scw_snapshot_release(s);
  scw_alerts_free(&alerts);
}

/* Negative amounts (credits) reach no threshold and no forecast. */
static void test_negative_amounts(void **state) {
  (void)state;
  const int64_t bp[] = {1, 10000};
  scw_budgets_t cfg;
  org_config(&cfg, EUR, 2, bp);
  scw_alerts_t alerts = {.n_alerts = 0};
  scw_snapshot_t *s = org_snap("2028-02", -5 * EUR, -2 * EUR);
  events_t e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  s = org_snap("2028-02", INT64_MIN + 1, INT64_MIN);
  e = check(&cfg, &alerts, s);
  assert_int_equal(e.n, 0);
  scw_snapshot_release(s);
  scw_alerts_free(&alerts);
  scw_budgets_free(&cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threshold_exact_boundary),
      cmocka_unit_test(test_once_per_period),
      cmocka_unit_test(test_forecast_over_budget),
      cmocka_unit_test(test_new_period_resets),
      cmocka_unit_test(test_project_matching),
      cmocka_unit_test(test_project_matching_precedence),
      cmocka_unit_test(test_absent_project_no_event),
      cmocka_unit_test(test_marked_stay_silent),
      cmocka_unit_test(test_everything_at_once),
      cmocka_unit_test(test_no_budgets),
      cmocka_unit_test(test_negative_amounts),
  };
  return cmocka_run_group_tests_name("budget", tests, NULL, NULL);
}
