/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_state.c: the state file survives a restart
 * exactly, and every bad file is refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <unistd.h>

#include "scw_fold.h"
#include "scw_state.h"

#define ORG "11111111-1111-4111-8111-111111111111"

typedef struct {
  char dir[64];
  char path[128];
} fx_t;

static int setup(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  snprintf(fx->dir, sizeof(fx->dir), "/tmp/scw_state_XXXXXX");
  assert_non_null(mkdtemp(fx->dir));
  snprintf(fx->path, sizeof(fx->path), "%s/acme.state", fx->dir);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fx_t *fx = *state;
  unlink(fx->path);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static void identity(scw_state_t *st, scw_group_by_t group_by) {
  memset(st, 0, sizeof(*st));
  st->organization_id = ORG;
  st->group_by = group_by;
  st->label_mode = SCW_LABEL_NAME;
  st->currency = "EUR";
}

/* A snapshot of `period` built as a walk builds it, with a name clash
 * ("web" twice) so that the names table matters. */
static scw_snapshot_t *snapshot(scw_group_by_t group_by, const char *period,
                                int64_t extra) {
  scw_agg_t *agg = scw_agg_new(group_by, "EUR");
  scw_charge_t charges[] = {
      {"p-1", "web", "/compute/dev1_s", "r1", "vm one", "EUR", INT64_C(1250000001)},
      {"p-2", "web", "/compute/dev1_s", "r2", NULL, "EUR", INT64_C(-3)},
      {"p-3", NULL, "/ipam/flexible_ipv4", "r3", NULL, "EUR", 7 + extra},
      {"p-3", NULL, "/ipam/flexible_ipv4", "r3", NULL, "USD", 99},
  };
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(scw_agg_add(agg, &charges[i], NULL), SCW_OK);
  scw_snapshot_t *snap;
  assert_int_equal(
      scw_snapshot_build_period(agg, SCW_LABEL_NAME, period, NULL, &snap, NULL),
      SCW_OK);
  snap->created = 1796000000;
  snap->duration = 0.25;
  snap->charges = 3;
  snap->skipped = 1;
  return snap;
}

static void assert_same_snapshot(const scw_snapshot_t *a, const scw_snapshot_t *b) {
  assert_string_equal(a->period, b->period);
  assert_true(a->created == b->created);
  assert_true(a->total_nanos == b->total_nanos);
  assert_int_equal(a->charges, b->charges);
  assert_int_equal(a->skipped, b->skipped);
  assert_true(a->duration == b->duration);
  assert_int_equal(a->n_series, b->n_series);
  for (size_t i = 0; i < a->n_series; i++) {
    const scw_series_t *x = &a->series[i];
    const scw_series_t *y = NULL;
    for (size_t j = 0; j < b->n_series && y == NULL; j++)
      if (strcmp(b->series[j].plugin_instance, x->plugin_instance) == 0 &&
          strcmp(b->series[j].type_instance, x->type_instance) == 0)
        y = &b->series[j];
    assert_non_null(y);
    assert_true(x->nanos == y->nanos);
    assert_string_equal(x->project_id, y->project_id);
    if (x->project_name != NULL)
      assert_string_equal(x->project_name, y->project_name);
    else
      assert_null(y->project_name);
  }
}

static void save_sample(fx_t *fx, scw_group_by_t group_by, scw_state_t *saved) {
  identity(saved, group_by);
  saved->saved = 1796000100;
  saved->sched.month = 1793491200;
  saved->sched.current_due = 1796003600;
  saved->sched.closing = SCW_CLOSING_FINAL;
  saved->sched.closing_fp = UINT64_C(0xfedcba9876543210);
  saved->sched.rng = UINT64_MAX;
  saved->sched.retry_not_before = -5;
  saved->snaps[0] = snapshot(group_by, "2026-12", 0);
  saved->snaps[1] = snapshot(group_by, "2026-11", 100);
  assert_int_equal(scw_state_save(fx->path, saved, NULL), SCW_OK);
}

static void release(scw_state_t *st) {
  scw_snapshot_release(st->snaps[0]);
  scw_snapshot_release(st->snaps[1]);
  st->snaps[0] = st->snaps[1] = NULL;
}

static void test_round_trip_exact(void **state) {
  fx_t *fx = *state;
  scw_group_by_t kinds[] = {SCW_GROUP_ORGANIZATION, SCW_GROUP_PROJECT,
                            SCW_GROUP_SKU, SCW_GROUP_RESOURCE};
  for (size_t k = 0; k < 4; k++) {
    scw_state_t saved, loaded;
    save_sample(fx, kinds[k], &saved);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* holds names and amounts */
    identity(&loaded, kinds[k]);
    scw_error_t err = {0};
    assert_int_equal(scw_state_load(fx->path, &loaded, &err), SCW_OK);
    assert_true(loaded.saved == saved.saved);
    assert_memory_equal(&loaded.sched, &saved.sched, sizeof(saved.sched));
    for (int i = 0; i < 2; i++)
      assert_same_snapshot(saved.snaps[i], loaded.snaps[i]);
    release(&saved);
    release(&loaded);
  }
}

static void test_names_survive_a_restart(void **state) {
  fx_t *fx = *state;
  scw_state_t saved, loaded;
  save_sample(fx, SCW_GROUP_PROJECT, &saved);
  identity(&loaded, SCW_GROUP_PROJECT);
  assert_int_equal(scw_state_load(fx->path, &loaded, NULL), SCW_OK);
  /* The next walk of the period, seeded with the restored names, keeps
   * them, and a newcomer clashing with them is the one suffixed. */
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  scw_charge_t c[] = {
      {"p-1", "web", "s", "", NULL, "EUR", 1},
      {"p-9", "web", "s", "", NULL, "EUR", 1},
  };
  for (size_t i = 0; i < 2; i++)
    assert_int_equal(scw_agg_add(agg, &c[i], NULL), SCW_OK);
  scw_snapshot_t *next;
  assert_int_equal(scw_snapshot_build_period(agg, SCW_LABEL_NAME, "2026-12",
                                             scw_snapshot_names(loaded.snaps[0]),
                                             &next, NULL),
                   SCW_OK);
  const char *p1 = NULL;
  for (size_t i = 0; i < saved.snaps[0]->n_series; i++)
    if (strcmp(saved.snaps[0]->series[i].project_id, "p-1") == 0)
      p1 = saved.snaps[0]->series[i].plugin_instance;
  assert_non_null(p1);
  for (size_t i = 0; i < next->n_series; i++)
    if (strcmp(next->series[i].project_id, "p-1") == 0)
      assert_string_equal(next->series[i].plugin_instance, p1);
    else
      assert_string_not_equal(next->series[i].plugin_instance, p1);
  scw_snapshot_release(next);
  release(&saved);
  release(&loaded);
}

static void test_missing_file(void **state) {
  fx_t *fx = *state;
  scw_state_t st;
  identity(&st, SCW_GROUP_SKU);
  assert_int_equal(scw_state_load(fx->path, &st, NULL), SCW_ERR_NOT_FOUND);
}

/* Writes content to the fixture's path. */
static void write_raw(fx_t *fx, const char *content, size_t n) {
  FILE *fh = fopen(fx->path, "wb");
  assert_non_null(fh);
  assert_int_equal(fwrite(content, 1, n, fh), n);
  fclose(fh);
}

static char *read_raw(fx_t *fx, size_t *n) {
  FILE *fh = fopen(fx->path, "rb");
  assert_non_null(fh);
  char *buf = malloc(1 << 20);
  *n = fread(buf, 1, 1 << 20, fh);
  fclose(fh);
  return buf;
}

static void assert_refused(fx_t *fx, const char *why) {
  scw_state_t st;
  identity(&st, SCW_GROUP_SKU);
  scw_error_t err = {0};
  scw_rc_t rc = scw_state_load(fx->path, &st, &err);
  assert_int_not_equal(rc, SCW_OK);
  if (strstr(err.msg, why) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
  assert_null(st.snaps[0]);
  assert_null(st.snaps[1]);
}

static void test_truncated_and_corrupt_refused(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  release(&saved);
  size_t n;
  char *good = read_raw(fx, &n);
  /* Every truncation is refused, and none crashes. */
  for (size_t cut = 0; cut < n; cut += 1 + cut / 8) {
    write_raw(fx, good, cut);
    assert_refused(fx, cut < 40 ? "" : "checksum");
  }
  /* One flipped digit in an amount: still well-formed JSON, refused. */
  char *bad = malloc(n);
  memcpy(bad, good, n);
  char *digit = strstr(bad, "\"nanos\":") + 8;
  *digit = *digit == '1' ? '2' : '1';
  write_raw(fx, bad, n);
  assert_refused(fx, "checksum");
  write_raw(fx, "garbage\n{}", 10);
  assert_refused(fx, "not a scw_finops state file");
  free(bad);
  free(good);
}

static void test_future_version_refused(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  release(&saved);
  size_t n;
  char *buf = read_raw(fx, &n);
  buf[strlen("scw_finops-state ")] = '9';
  write_raw(fx, buf, n);
  assert_refused(fx, "newer scw_finops (format 9");
  free(buf);
}

static void test_foreign_file_refused(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  release(&saved);
  scw_state_t st;
  identity(&st, SCW_GROUP_SKU);
  st.organization_id = "22222222-2222-4222-8222-222222222222";
  scw_error_t err = {0};
  assert_int_not_equal(scw_state_load(fx->path, &st, &err), SCW_OK);
  assert_non_null(strstr(err.msg, "another configuration"));
  identity(&st, SCW_GROUP_RESOURCE);
  assert_int_not_equal(scw_state_load(fx->path, &st, &err), SCW_OK);
  identity(&st, SCW_GROUP_SKU);
  st.currency = "USD";
  assert_int_not_equal(scw_state_load(fx->path, &st, &err), SCW_OK);
  assert_null(st.snaps[0]);
}

static void test_save_replaces_atomically(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  /* A directory where the file should go: the save fails, and neither the
   * old file nor a temporary one is left half-written. */
  assert_int_equal(scw_state_save("/nonexistent-dir/x.state", &saved, NULL),
                   SCW_ERR_INVALID);
  saved.saved += 60;
  assert_int_equal(scw_state_save(fx->path, &saved, NULL), SCW_OK);
  scw_state_t loaded;
  identity(&loaded, SCW_GROUP_SKU);
  assert_int_equal(scw_state_load(fx->path, &loaded, NULL), SCW_OK);
  assert_true(loaded.saved == saved.saved);
  char tmp[160];
  snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", fx->path, (long)getpid());
  assert_int_not_equal(access(tmp, F_OK), 0);
  release(&saved);
  release(&loaded);
}

/* ---- forecast history, budget alerts, folded snapshots ------------------ */

static void check_ok(scw_rc_t rc, const scw_error_t *err) {
  if (rc != SCW_OK)
    fail_msg("rc %d: %s", (int)rc, err != NULL ? err->msg : "");
}

static void assert_same_history(const scw_history_t *a, const scw_history_t *b) {
  assert_string_equal(a->period, b->period);
  assert_int_equal(a->n_tracks, b->n_tracks);
  for (size_t i = 0; i < a->n_tracks; i++) {
    assert_string_equal(a->tracks[i].key, b->tracks[i].key);
    assert_int_equal(a->tracks[i].n, b->tracks[i].n);
    for (size_t k = 0; k < a->tracks[i].n; k++) {
      assert_true(a->tracks[i].s[k].t == b->tracks[i].s[k].t);
      assert_true(a->tracks[i].s[k].nanos == b->tracks[i].s[k].nanos);
    }
  }
}

static const scw_alert_t *alert_of(const scw_alerts_t *a, const char *key) {
  for (size_t i = 0; i < a->n_alerts; i++)
    if (strcmp(a->alerts[i].key, key) == 0)
      return &a->alerts[i];
  return NULL;
}

/* Everything announced in a is announced in b, and the other way round
 * (an entry with nothing announced may be left out). */
static void assert_same_alerts_one_way(const scw_alerts_t *a,
                                       const scw_alerts_t *b) {
  for (size_t i = 0; i < a->n_alerts; i++) {
    const scw_alert_t *x = &a->alerts[i];
    if (x->n_used == 0 && !x->forecast)
      continue;
    const scw_alert_t *y = alert_of(b, x->key);
    if (y == NULL)
      fail_msg("alert \"%s\" lost", x->key);
    assert_int_equal(x->n_used, y->n_used);
    for (size_t k = 0; k < x->n_used; k++)
      assert_true(x->used_bp[k] == y->used_bp[k]);
    assert_int_equal(x->forecast, y->forecast);
  }
}

static void assert_same_alerts(const scw_alerts_t *a, const scw_alerts_t *b) {
  assert_string_equal(a->period, b->period);
  assert_same_alerts_one_way(a, b);
  assert_same_alerts_one_way(b, a);
}

static void test_history_and_alerts_round_trip(void **state) {
  fx_t *fx = *state;
  scw_state_t saved, loaded;
  identity(&saved, SCW_GROUP_PROJECT);
  saved.snaps[0] = snapshot(SCW_GROUP_PROJECT, "2026-12", 0);
  scw_history_t history;
  scw_history_init(&history);
  const int64_t start = 1796083200; /* 2026-12-01T00:00:00Z */
  for (int64_t t = start + 3600; t < start + 3 * 86400; t += 3600 + 17) {
    check_ok(scw_history_add(&history, "2026-12", "", t, (t - start) * 3, NULL),
             NULL);
    check_ok(scw_history_add(&history, "2026-12", "p-1", t, t - start, NULL),
             NULL);
  }
  check_ok(scw_history_add(&history, "2026-12", "p-3", start + 99, -7, NULL),
           NULL);
  assert_int_equal(history.n_tracks, 3);
  assert_true(scw_history_track(&history, "")->n > 20);
  scw_alerts_t alerts = {.n_alerts = 0};
  snprintf(alerts.period, sizeof(alerts.period), "2026-12");
  check_ok(scw_alerts_mark(&alerts, "", SCW_BUDGET_USED, 5000, NULL), NULL);
  check_ok(scw_alerts_mark(&alerts, "", SCW_BUDGET_USED, 8000, NULL), NULL);
  check_ok(scw_alerts_mark(&alerts, "", SCW_BUDGET_FORECAST, 10000, NULL), NULL);
  check_ok(scw_alerts_mark(&alerts, "web", SCW_BUDGET_FORECAST, 10000, NULL),
           NULL);
  check_ok(scw_alerts_mark(&alerts, "p-2", SCW_BUDGET_USED, 12000, NULL), NULL);
  saved.history = &history;
  saved.alerts = &alerts;
  assert_int_equal(scw_state_save(fx->path, &saved, NULL), SCW_OK);

  /* Loaded over stale contents: replaced, not merged. */
  scw_history_t got_history;
  scw_history_init(&got_history);
  check_ok(scw_history_add(&got_history, "2026-11", "stale", 1, 1, NULL), NULL);
  scw_alerts_t got_alerts = {.n_alerts = 0};
  check_ok(scw_alerts_mark(&got_alerts, "stale", SCW_BUDGET_USED, 1, NULL), NULL);
  identity(&loaded, SCW_GROUP_PROJECT);
  loaded.history = &got_history;
  loaded.alerts = &got_alerts;
  scw_error_t err = {0};
  check_ok(scw_state_load(fx->path, &loaded, &err), &err);
  assert_same_history(&history, &got_history);
  assert_same_alerts(&alerts, &got_alerts);
  assert_int_equal(got_alerts.n_alerts, 3);
  assert_null(scw_history_track(&got_history, "stale"));

  /* The restored alerts keep a restart quiet: checking the same amounts
   * again announces nothing already marked. */
  scw_budgets_t cfg = {0};
  cfg.budgets = calloc(1, sizeof(*cfg.budgets));
  cfg.n_budgets = 1;
  cfg.budgets[0].budget_nanos = 1;
  cfg.thresholds_bp[0] = 5000;
  cfg.thresholds_bp[1] = 8000;
  cfg.n_thresholds = 2;
  loaded.snaps[0]->forecast_nanos = 1000000000000;
  scw_budget_event_t *ev = NULL;
  size_t n_ev = 1;
  check_ok(scw_budget_check(&cfg, &got_alerts, loaded.snaps[0], &ev, &n_ev, &err),
           &err);
  assert_int_equal(n_ev, 0);
  assert_null(ev);
  scw_budgets_free(&cfg);

  /* Not asked for (NULL): left out on save, and not read on load. */
  saved.history = NULL;
  saved.alerts = NULL;
  assert_int_equal(scw_state_save(fx->path, &saved, NULL), SCW_OK);
  size_t n;
  char *raw = read_raw(fx, &n);
  raw[n < (1 << 20) ? n : (1 << 20) - 1] = '\0';
  assert_null(strstr(raw, "forecast_history"));
  assert_null(strstr(raw, "budget_alerts"));
  free(raw);
  scw_state_t bare;
  identity(&bare, SCW_GROUP_PROJECT);
  check_ok(scw_state_load(fx->path, &bare, &err), &err);
  release(&bare);
  /* A file without them empties what the caller passes. */
  release(&loaded);
  identity(&loaded, SCW_GROUP_PROJECT);
  loaded.history = &got_history;
  loaded.alerts = &got_alerts;
  check_ok(scw_state_load(fx->path, &loaded, &err), &err);
  assert_int_equal(got_history.n_tracks, 0);
  assert_int_equal(got_alerts.n_alerts, 0);
  release(&loaded);

  scw_history_free(&history);
  scw_history_free(&got_history);
  scw_alerts_free(&alerts);
  scw_alerts_free(&got_alerts);
  release(&saved);
}

/* GroupBy sku: project "prj" with SKUs s00.. (amounts 1000 * (i + 1), every
 * third negative), project "big" with one large SKU, and optionally a real
 * group named other/other. Summarised, folded to max_series, forecasts set. */
static scw_snapshot_t *folded_snapshot(const char *period, size_t max_series,
                                       int real_other,
                                       const scw_snapshot_t *previous) {
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  for (int i = 0; i < 14; i++) {
    char sku[16];
    snprintf(sku, sizeof(sku), "s%02d", i);
    int64_t nanos = 1000 * (int64_t)(i + 1) * (i % 3 == 0 ? -1 : 1);
    scw_charge_t c = {"p-1", "prj", sku, "", NULL, "EUR", nanos};
    assert_int_equal(scw_agg_add(agg, &c, NULL), SCW_OK);
    assert_int_equal(scw_agg_add(agg, &c, NULL), SCW_OK); /* two charges */
  }
  scw_charge_t big = {"p-2", "big one", "/x", "", NULL, "EUR", 900000};
  assert_int_equal(scw_agg_add(agg, &big, NULL), SCW_OK);
  if (real_other) {
    scw_charge_t o = {"p-3", "other", "other", "", NULL, "EUR", 500000};
    assert_int_equal(scw_agg_add(agg, &o, NULL), SCW_OK);
  }
  scw_snapshot_t *snap;
  assert_int_equal(
      scw_snapshot_build_period(agg, SCW_LABEL_NAME, period, NULL, &snap, NULL),
      SCW_OK);
  assert_int_equal(scw_snapshot_summarise(snap, NULL), SCW_OK);
  assert_int_equal(scw_snapshot_fold(snap, max_series, previous, NULL), SCW_OK);
  snap->created = 1796000000;
  snap->duration = 1.5;
  snap->charges = 29;
  snap->forecast_nanos = 123456789;
  for (size_t i = 0; i < snap->n_projects; i++)
    snap->projects[i].forecast_nanos = (int64_t)(i + 1) * 1000003;
  return snap;
}

static void assert_same_folded(const scw_snapshot_t *a, const scw_snapshot_t *b) {
  assert_string_equal(a->period, b->period);
  assert_true(a->total_nanos == b->total_nanos);
  assert_true(a->forecast_nanos == b->forecast_nanos);
  assert_int_equal(a->folded, b->folded);
  assert_int_equal(a->n_series, b->n_series);
  for (size_t i = 0; i < a->n_series; i++) { /* both sorted: same order */
    const scw_series_t *x = &a->series[i], *y = &b->series[i];
    assert_string_equal(x->plugin_instance, y->plugin_instance);
    assert_string_equal(x->type_instance, y->type_instance);
    assert_true(x->nanos == y->nanos);
    assert_true((x->project_id == NULL) == (y->project_id == NULL));
    if (x->project_id != NULL) {
      assert_string_equal(x->project_id, y->project_id);
      assert_string_equal(x->sku, y->sku);
    } else {
      assert_null(y->sku);
    }
  }
  const scw_series_t *oa = scw_snapshot_other(a), *ob = scw_snapshot_other(b);
  assert_true((oa == NULL) == (ob == NULL));
  if (oa != NULL) {
    assert_string_equal(oa->plugin_instance, ob->plugin_instance);
    assert_string_equal(oa->type_instance, ob->type_instance);
    assert_true(oa->nanos == ob->nanos);
    assert_null(ob->project_id);
  }
  assert_int_equal(a->n_projects, b->n_projects);
  for (size_t i = 0; i < a->n_projects; i++) {
    const scw_project_cost_t *x = &a->projects[i], *y = &b->projects[i];
    assert_string_equal(x->plugin_instance, y->plugin_instance);
    assert_string_equal(x->project_id, y->project_id);
    assert_true((x->project_name == NULL) == (y->project_name == NULL));
    if (x->project_name != NULL)
      assert_string_equal(x->project_name, y->project_name);
    assert_true(x->nanos == y->nanos);
    assert_true(x->forecast_nanos == y->forecast_nanos);
  }
}

static int same_str(const char *a, const char *b) {
  return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static void assert_same_names(const scw_names_t *a, const scw_names_t *b) {
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(scw_names_period(a), scw_names_period(b));
  size_t n = scw_names_count(a);
  assert_int_equal(n, scw_names_count(b));
  for (size_t i = 0; i < n; i++) {
    const scw_name_entry_t *x = scw_names_entry(a, i);
    int found = 0;
    for (size_t k = 0; k < n && !found; k++) {
      const scw_name_entry_t *y = scw_names_entry(b, k);
      found = same_str(x->project_id, y->project_id) && same_str(x->sku, y->sku) &&
              same_str(x->resource_id, y->resource_id) &&
              same_str(x->plugin_instance, y->plugin_instance) &&
              same_str(x->type_instance, y->type_instance);
    }
    if (!found)
      fail_msg("name %s/%s (%s, %s) lost", x->plugin_instance, x->type_instance,
               x->project_id ? x->project_id : "-", x->sku ? x->sku : "-");
  }
}

static void test_folded_snapshot_round_trip(void **state) {
  fx_t *fx = *state;
  scw_state_t saved, loaded;
  identity(&saved, SCW_GROUP_SKU);
  saved.snaps[0] = folded_snapshot("2026-12", 6, 0, NULL);
  saved.snaps[1] = folded_snapshot("2026-11", 4, 1, NULL);
  assert_int_equal(saved.snaps[0]->n_series, 6);
  assert_int_equal(saved.snaps[0]->folded, 10);
  assert_string_equal(scw_snapshot_other(saved.snaps[0])->type_instance, "other");
  /* a real other/other is kept there: the folded one is other_1 */
  assert_string_equal(scw_snapshot_other(saved.snaps[1])->type_instance,
                      "other_1");
  assert_true(saved.snaps[1]->series[0].project_id != NULL ||
              saved.snaps[1]->n_series == 4);
  assert_int_equal(scw_state_save(fx->path, &saved, NULL), SCW_OK);
  identity(&loaded, SCW_GROUP_SKU);
  scw_error_t err = {0};
  check_ok(scw_state_load(fx->path, &loaded, &err), &err);
  for (int i = 0; i < 2; i++)
    assert_same_folded(saved.snaps[i], loaded.snaps[i]);
  /* The names given in the period, folded groups' included, come back
   * (in an unspecified order). */
  for (int i = 0; i < 2; i++)
    assert_same_names(scw_snapshot_names(saved.snaps[i]),
                      scw_snapshot_names(loaded.snaps[i]));
  /* Saved again from the loaded copy and loaded: the same again. */
  loaded.saved = saved.saved;
  assert_int_equal(scw_state_save(fx->path, &loaded, NULL), SCW_OK);
  scw_state_t again;
  identity(&again, SCW_GROUP_SKU);
  check_ok(scw_state_load(fx->path, &again, &err), &err);
  for (int i = 0; i < 2; i++) {
    assert_same_folded(saved.snaps[i], again.snaps[i]);
    assert_same_names(scw_snapshot_names(saved.snaps[i]),
                      scw_snapshot_names(again.snaps[i]));
  }
  release(&again);

  /* After a restart the loaded snapshot damps the next fold exactly as the
   * original would have. */
  scw_snapshot_t *a = folded_snapshot("2026-12", 7, 0, saved.snaps[0]);
  scw_snapshot_t *b = folded_snapshot("2026-12", 7, 0, loaded.snaps[0]);
  assert_same_folded(a, b);
  scw_snapshot_release(a);
  scw_snapshot_release(b);
  release(&saved);
  release(&loaded);
}

/* Rewrites the state file's body through fn and fixes up the checksum, as
 * a writer with a bug (or a tamperer) would. */
static void rewrite(fx_t *fx, void (*fn)(json_object *root, void *arg),
                    void *arg) {
  size_t n;
  char *buf = read_raw(fx, &n);
  char *nl = memchr(buf, '\n', n);
  assert_non_null(nl);
  buf[n < (1 << 20) ? n : (1 << 20) - 1] = '\0';
  json_object *root = json_tokener_parse(nl + 1);
  assert_non_null(root);
  if (fn != NULL)
    fn(root, arg);
  const char *body = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
  size_t len = strlen(body);
  FILE *fh = fopen(fx->path, "wb");
  assert_non_null(fh);
  fprintf(fh, "scw_finops-state 1 %016" PRIx64 "\n",
          scw_fnv64(SCW_FNV64_INIT, body, len));
  assert_int_equal(fwrite(body, 1, len, fh), len);
  fclose(fh);
  json_object_put(root);
  free(buf);
}

static json_object *member(json_object *o, const char *key) {
  json_object *v = NULL;
  assert_true(json_object_object_get_ex(o, key, &v));
  return v;
}

/* The series flagged "other" in the current snapshot. */
static json_object *other_entry(json_object *root) {
  json_object *series = member(member(root, "current"), "series");
  for (size_t i = 0; i < json_object_array_length(series); i++) {
    json_object *e = json_object_array_get_idx(series, i), *v;
    if (json_object_object_get_ex(e, "other", &v))
      return e;
  }
  fail_msg("no \"other\" series");
  return NULL;
}

static void add_to_i64(json_object *o, const char *key, int64_t delta) {
  int64_t v = json_object_get_int64(member(o, key));
  json_object_object_add(o, key, json_object_new_int64(v + delta));
}

static void strip_new_members(json_object *root, void *arg) {
  (void)arg;
  json_object_object_del(root, "forecast_history");
  json_object_object_del(root, "budget_alerts");
  static const char *const slots[] = {"current", "closing"};
  for (int i = 0; i < 2; i++) {
    json_object *snap;
    if (!json_object_object_get_ex(root, slots[i], &snap))
      continue;
    json_object_object_del(snap, "folded");
    json_object_object_del(snap, "forecast_nanos");
    json_object_object_del(snap, "projects");
  }
}

/* A file written before forecasts, budgets and MaxSeries still loads: the
 * project totals are recomputed, and there is no forecast. */
static void test_file_without_new_members_loads(void **state) {
  fx_t *fx = *state;
  scw_state_t saved, loaded;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  rewrite(fx, strip_new_members, NULL);
  size_t n;
  char *raw = read_raw(fx, &n);
  raw[n < (1 << 20) ? n : (1 << 20) - 1] = '\0';
  assert_null(strstr(raw, "\"projects\""));
  assert_null(strstr(raw, "\"folded\""));
  assert_null(strstr(raw, "forecast"));
  free(raw);
  scw_history_t history;
  scw_history_init(&history);
  check_ok(scw_history_add(&history, "2026-12", "x", 1, 1, NULL), NULL);
  scw_alerts_t alerts = {.n_alerts = 0};
  check_ok(scw_alerts_mark(&alerts, "x", SCW_BUDGET_USED, 1, NULL), NULL);
  identity(&loaded, SCW_GROUP_SKU);
  loaded.history = &history;
  loaded.alerts = &alerts;
  scw_error_t err = {0};
  check_ok(scw_state_load(fx->path, &loaded, &err), &err);
  for (int i = 0; i < 2; i++) {
    assert_same_snapshot(saved.snaps[i], loaded.snaps[i]);
    const scw_snapshot_t *got = loaded.snaps[i];
    assert_int_equal(got->folded, 0);
    assert_null(scw_snapshot_other(got));
    assert_true(got->forecast_nanos == -1);
    /* the project totals, as summarise makes them from the saved series */
    assert_int_equal(scw_snapshot_summarise(saved.snaps[i], NULL), SCW_OK);
    assert_int_equal(got->n_projects, saved.snaps[i]->n_projects);
    assert_true(got->n_projects == 3);
    int64_t sum = 0;
    for (size_t k = 0; k < got->n_projects; k++) {
      const scw_project_cost_t *x = &saved.snaps[i]->projects[k];
      const scw_project_cost_t *y = &got->projects[k];
      assert_string_equal(x->plugin_instance, y->plugin_instance);
      assert_string_equal(x->project_id, y->project_id);
      assert_true(x->nanos == y->nanos);
      assert_true(y->forecast_nanos == -1);
      sum += y->nanos;
    }
    assert_true(sum == got->total_nanos);
  }
  assert_int_equal(history.n_tracks, 0);
  assert_int_equal(alerts.n_alerts, 0);
  scw_history_free(&history);
  scw_alerts_free(&alerts);
  release(&saved);
  release(&loaded);
}

static void tamper_other_nanos(json_object *root, void *arg) {
  (void)arg;
  add_to_i64(other_entry(root), "nanos", 1);
}

static void tamper_other_and_total(json_object *root, void *arg) {
  (void)arg;
  add_to_i64(other_entry(root), "nanos", 1);
  add_to_i64(member(root, "current"), "total_nanos", 1);
}

static void tamper_folded_zero(json_object *root, void *arg) {
  (void)arg;
  json_object_object_add(member(root, "current"), "folded",
                         json_object_new_int64(0));
}

static void tamper_other_flag_dropped(json_object *root, void *arg) {
  (void)arg;
  json_object_object_del(other_entry(root), "other");
}

static void tamper_two_others(json_object *root, void *arg) {
  (void)arg;
  json_object *series = member(member(root, "current"), "series");
  for (size_t i = 0; i < json_object_array_length(series); i++)
    json_object_object_add(json_object_array_get_idx(series, i), "other",
                           json_object_new_boolean(1));
}

static void tamper_projects_swap(json_object *root, void *arg) {
  const char *slot = arg;
  json_object *projects = member(member(root, slot), "projects");
  assert_true(json_object_array_length(projects) >= 2);
  add_to_i64(json_object_array_get_idx(projects, 0), "nanos", 1);
  add_to_i64(json_object_array_get_idx(projects, 1), "nanos", -1);
}

static void assert_refused_as(fx_t *fx, scw_group_by_t group_by,
                              const char *why) {
  scw_state_t st;
  identity(&st, group_by);
  scw_error_t err = {0};
  scw_rc_t rc = scw_state_load(fx->path, &st, &err);
  if (rc == SCW_OK) {
    release(&st);
    fail_msg("loaded; expected a refusal (\"%s\")", why);
  }
  if (strstr(err.msg, why) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
  assert_null(st.snaps[0]);
  assert_null(st.snaps[1]);
}

static void save_folded(fx_t *fx) {
  scw_state_t saved;
  identity(&saved, SCW_GROUP_SKU);
  saved.snaps[0] = folded_snapshot("2026-12", 6, 0, NULL);
  assert_int_equal(scw_state_save(fx->path, &saved, NULL), SCW_OK);
  release(&saved);
}

/* A folded snapshot whose numbers were changed, checksum fixed up, is
 * refused whole. */
static void test_tampered_folded_refused(void **state) {
  fx_t *fx = *state;
  /* The helper itself leaves a loadable file. */
  save_folded(fx);
  rewrite(fx, NULL, NULL);
  scw_state_t st;
  identity(&st, SCW_GROUP_SKU);
  scw_error_t err = {0};
  check_ok(scw_state_load(fx->path, &st, &err), &err);
  release(&st);

  save_folded(fx);
  rewrite(fx, tamper_other_nanos, NULL);
  assert_refused_as(fx, SCW_GROUP_SKU, "does not rebuild");
  save_folded(fx);
  rewrite(fx, tamper_other_and_total, NULL);
  assert_refused_as(fx, SCW_GROUP_SKU, "project totals do not add up");
  save_folded(fx);
  rewrite(fx, tamper_folded_zero, NULL);
  assert_refused_as(fx, SCW_GROUP_SKU, "inconsistent");
  save_folded(fx);
  rewrite(fx, tamper_other_flag_dropped, NULL);
  assert_refused_as(fx, SCW_GROUP_SKU, "inconsistent");
  save_folded(fx);
  rewrite(fx, tamper_two_others, NULL);
  assert_refused_as(fx, SCW_GROUP_SKU, "folded series is malformed");
}

/* In a snapshot that folded nothing, every project total can be checked
 * against the series: moving one nano from one project to another (the
 * sum unchanged) must not load. */
static void test_tampered_project_totals_refused(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  identity(&saved, SCW_GROUP_SKU);
  saved.snaps[0] = folded_snapshot("2026-12", 0, 0, NULL);
  assert_int_equal(saved.snaps[0]->folded, 0);
  assert_int_equal(saved.snaps[0]->n_projects, 2);
  assert_int_equal(scw_state_save(fx->path, &saved, NULL), SCW_OK);
  release(&saved);
  rewrite(fx, tamper_projects_swap, (void *)"current");
  assert_refused_as(fx, SCW_GROUP_SKU, "project");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names_survive_a_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_and_corrupt_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_future_version_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_file_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_save_replaces_atomically, setup, teardown),
      cmocka_unit_test_setup_teardown(test_history_and_alerts_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_folded_snapshot_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_file_without_new_members_loads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tampered_folded_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tampered_project_totals_refused, setup, teardown),
  };
  return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
