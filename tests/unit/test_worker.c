/* SPDX-License-Identifier: MIT */
/* Worker tests: scw_worker_step driven by a fake clock against a fake API
 * (tests/unit/fake_api.c), without threads. Month end with late charges,
 * a failing API, restarts from the state file. */
#include "daemon_stubs.h"

#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "fake_api.h"
#include "scw_time.h"
#include "scw_worker.h"

#define ORG_UUID "11111111-1111-4111-8111-111111111111"
#define EUR(x) ((int64_t)(x) * 1000000000)

/* 2026-11-30T20:00:00Z, and midnight 2026-12-01T00:00:00Z. */
#define NOV30_20H INT64_C(1796068800)
#define DEC1 INT64_C(1796083200)
#define NOV1 INT64_C(1793491200)
#define HOUR 3600
#define DAY 86400

static const fake_charge_t charges[] = {
    {"p-1", "web", "/compute/x", NOV1 + 9 * DAY + 10 * HOUR, 0, EUR(100)},
    /* the last hour of November, posted two hours into December */
    {"p-1", "web", "/compute/x", DEC1 - HOUR, DEC1 + 2 * HOUR, EUR(7)},
    {"p-2", "db", "/db/y", DEC1 + 5 * HOUR, DEC1 + 6 * HOUR, EUR(3)},
};

typedef struct {
  scw_org_config_t cfg;
  fake_api_t api;
  scw_worker_t *w;
  int64_t now;
  char dir[64], state[128];
} fx_t;

static int no_sleep(void *ctx, double s) { (void)ctx, (void)s; return 0; }
static double no_jitter(void *ctx) { (void)ctx; return 0.5; }

static scw_worker_t *new_worker(fx_t *fx) {
  scw_worker_t *w = scw_worker_new(&fx->cfg, 0, 42, fx->now);
  assert_non_null(w);
  scw_clock_t clock = {NULL, no_sleep, no_jitter, NULL};
  scw_worker_set_clock(w, &clock);
  return w;
}

static int setup(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  assert_int_equal(scw_org_config_init(&fx->cfg, "acme"), 0);
  fx->cfg.organization_id = strdup(ORG_UUID);
  fx->cfg.secret_key = strdup("k");
  fx->cfg.host = strdup("acme");
  fx->cfg.query.base_url = fx->cfg.url;
  fx->cfg.query.organization_id = fx->cfg.organization_id;
  fx->cfg.query.page_size = 2; /* several pages per walk */
  fx->cfg.group_by = SCW_GROUP_PROJECT;
  fx->cfg.max_retries = 0;
  fx->cfg.startup_spread = 0;
  fx->cfg.refresh_timeout = 60;
  fx->api.charges = charges;
  fx->api.n = sizeof(charges) / sizeof(charges[0]);
  fx->api.page_size = 2;
  fx->now = NOV30_20H;
  snprintf(fx->dir, sizeof(fx->dir), "/tmp/scw_worker_XXXXXX");
  assert_non_null(mkdtemp(fx->dir));
  snprintf(fx->state, sizeof(fx->state), "%s/acme.state", fx->dir);
  stub_reset();
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fx_t *fx = *state;
  scw_worker_free(fx->w);
  fake_api_free(&fx->api);
  scw_org_config_free(&fx->cfg);
  unlink(fx->state);
  rmdir(fx->dir);
  free(fx);
  stub_reset();
  return 0;
}

/* Runs the worker's loop on the fake clock until `until`; returns when it
 * would have woken next. */
static int64_t run_until(fx_t *fx, scw_worker_t *w, int64_t until) {
  scw_worker_io_t io = {fake_api_fetch, &fx->api, NULL};
  int64_t next = fx->now;
  for (int turns = 0; fx->now < until; turns++) {
    assert_true(turns < 100000);
    fx->api.now = fx->now;
    next = scw_worker_step(w, fx->now, &io);
    if (next > fx->now)
      fx->now = next < until ? next : until;
  }
  return next;
}

static int64_t total_of(scw_worker_t *w, scw_slot_kind_t which,
                        const char *period) {
  scw_snapshot_t *s = scw_worker_acquire(w, which);
  if (s == NULL)
    return -1;
  int64_t total = strcmp(s->period, period) == 0 ? s->total_nanos : -2;
  scw_snapshot_release(s);
  return total;
}

static size_t requests_for(const fake_api_t *api, int64_t window_start,
                           size_t from) {
  size_t n = 0;
  for (size_t i = from; i < api->requests && i < FAKE_API_MAX_LOG; i++)
    n += api->windows[i].start == window_start;
  return n;
}

static void test_closing_month_keeps_late_charges(void **state) {
  fx_t *fx = *state;
  fx->w = new_worker(fx);
  run_until(fx, fx->w, DEC1 - 1);
  assert_true(total_of(fx->w, SCW_SLOT_CURRENT, "2026-11") == EUR(100));

  /* Just after midnight: the new month is 0 without asking the API (its
   * first walk comes 5 s after midnight), the closed month is provisional. */
  size_t before = fx->api.requests;
  run_until(fx, fx->w, DEC1 + 2);
  scw_worker_view_t v;
  scw_worker_view(fx->w, fx->now, &v);
  assert_string_equal(v.current_period, "2026-12");
  assert_int_equal(v.publish_empty, 1);
  assert_int_equal(v.closing, SCW_CLOSING_PROVISIONAL);
  assert_string_equal(v.closing_period, "2026-11");
  assert_int_equal(requests_for(&fx->api, DEC1, before), 0);

  /* Late charges for November's last hour appear in the closing month. */
  run_until(fx, fx->w, DEC1 + 4 * HOUR);
  assert_true(total_of(fx->w, SCW_SLOT_CLOSING, "2026-11") == EUR(107));
  scw_worker_view(fx->w, fx->now, &v);
  assert_int_equal(v.publish_empty, 0);
  assert_int_equal(v.closing, SCW_CLOSING_PROVISIONAL);

  /* Final after the settle period; the current month goes on. */
  run_until(fx, fx->w, DEC1 + 6 * DAY);
  scw_worker_view(fx->w, fx->now, &v);
  assert_int_equal(v.closing, SCW_CLOSING_FINAL);
  assert_true(total_of(fx->w, SCW_SLOT_CLOSING, "2026-11") == EUR(107));
  assert_true(total_of(fx->w, SCW_SLOT_CURRENT, "2026-12") == EUR(3));
  size_t closing_walks = requests_for(&fx->api, NOV1, 0);
  scw_worker_counts_t n;
  scw_worker_counts(fx->w, &n);
  assert_true(n.closing_requests > 0 && n.closing_requests <= 2 * 30);

  /* Never walked again once final. */
  run_until(fx, fx->w, DEC1 + 20 * DAY);
  assert_int_equal(requests_for(&fx->api, NOV1, 0), closing_walks);

  /* No request ever asked for an empty window. */
  for (size_t i = 0; i < fx->api.requests && i < FAKE_API_MAX_LOG; i++)
    assert_true(fx->api.windows[i].end > fx->api.windows[i].start);
}

static void test_failing_api_after_midnight_backs_off(void **state) {
  fx_t *fx = *state;
  fx->cfg.refresh_interval = 10;
  fx->now = DEC1 - 120;
  fx->w = new_worker(fx);
  run_until(fx, fx->w, DEC1);
  fx->api.fail_status = 503;
  fx->api.fail_from = DEC1;
  size_t before = fx->api.requests;
  /* A reader that kicks every second with its stale snapshot. */
  scw_snapshot_t *s = scw_worker_acquire(fx->w, SCW_SLOT_CURRENT);
  assert_non_null(s);
  for (int64_t t = DEC1; t < DEC1 + 120; t++) {
    run_until(fx, fx->w, t);
    scw_worker_kick(fx->w, t, s->generation);
  }
  scw_snapshot_release(s);
  size_t sent = fx->api.requests - before;
  scw_sched_config_t sc;
  scw_sched_config_default(&sc, 10);
  /* Both walks share one back-off: at most the scheduler's documented
   * count of attempts in 2 minutes, one request each (MaxRetries 0). */
  int64_t most = scw_sched_failure_attempts(&sc, 120, 0.0);
  if ((int64_t)sent > most)
    fail_msg("%zu requests in 2 minutes, at most %lld expected", sent,
             (long long)most);
  assert_true(sent >= 2);
  scw_worker_counts_t n;
  scw_worker_counts(fx->w, &n);
  assert_true(n.errors >= sent);
}

static void test_restart_serves_state_without_requests(void **state) {
  fx_t *fx = *state;
  fx->w = new_worker(fx);
  scw_worker_use_state(fx->w, fx->state, fx->now);
  int64_t due = run_until(fx, fx->w, DEC1 + 4 * HOUR);
  scw_snapshot_t *cur = scw_worker_acquire(fx->w, SCW_SLOT_CURRENT);
  int64_t created = cur->created;
  scw_snapshot_release(cur);
  scw_worker_free(fx->w);

  /* A restart before the next walk was due: the same numbers at once, with
   * their age, and no request until the schedule says so. */
  assert_true(due > fx->now + 2);
  fx->now += (due - fx->now) / 2;
  size_t before = fx->api.requests;
  fx->w = new_worker(fx);
  scw_worker_use_state(fx->w, fx->state, fx->now);
  assert_true(total_of(fx->w, SCW_SLOT_CLOSING, "2026-11") == EUR(107));
  cur = scw_worker_acquire(fx->w, SCW_SLOT_CURRENT);
  assert_non_null(cur);
  assert_string_equal(cur->period, "2026-12");
  assert_true(cur->created == created);
  scw_snapshot_release(cur);
  scw_worker_view_t v;
  scw_worker_view(fx->w, fx->now, &v);
  assert_int_equal(v.closing, SCW_CLOSING_PROVISIONAL);
  assert_int_equal(v.publish_empty, 0);
  scw_worker_io_t io = {fake_api_fetch, &fx->api, NULL};
  fx->api.now = fx->now;
  int64_t next = scw_worker_step(fx->w, fx->now, &io);
  assert_true(next > fx->now);
  assert_int_equal(fx->api.requests, before);
  /* ...and then it does: the saved schedule, not a fresh one. */
  run_until(fx, fx->w, due + 1);
  assert_true(fx->api.requests > before);
}

static size_t notices_of(const char *period) {
  size_t n = 0;
  for (size_t i = 0; i < stub_n_notifications; i++)
    n += strstr(stub_notifications[i].message, period) != NULL;
  return n;
}

/* Budget notices: each threshold and the forecast once per period, never
 * again after a restart (the state file), again in a new month, never from
 * the closing month's late charges. */
static void test_budget_notices_once(void **state) {
  fx_t *fx = *state;
  fx->cfg.budgets.budgets = calloc(1, sizeof(scw_budget_t));
  fx->cfg.budgets.budgets[0].budget_nanos = EUR(50); /* November: 100 EUR */
  fx->cfg.budgets.n_budgets = 1;
  fx->w = new_worker(fx);
  scw_worker_use_state(fx->w, fx->state, fx->now);
  run_until(fx, fx->w, NOV30_20H + 2 * HOUR);
  assert_int_equal(notices_of("(2026-11)"), 4); /* 50, 80, 100 %, forecast */
  assert_int_equal(stub_notifications[0].severity, NOTIF_WARNING);
  assert_int_equal(stub_notifications[2].severity, NOTIF_FAILURE);
  assert_string_equal(stub_notifications[2].type_instance, "used");
  assert_non_null(strstr(stub_notifications[2].message,
                         "month-to-date cost 100.00 EUR reached 100% of the "
                         "budget 50.00 EUR"));
  assert_string_equal(stub_notifications[3].type_instance, "forecast");
  scw_worker_free(fx->w);

  fx->w = new_worker(fx);
  scw_worker_use_state(fx->w, fx->state, fx->now);
  size_t walks = fx->api.requests;
  run_until(fx, fx->w, DEC1 - HOUR / 2);
  assert_true(fx->api.requests > walks);
  assert_int_equal(stub_n_notifications, 4);

  /* December: 3 EUR by 06:00 is 6 % of the budget, but on course for more. */
  run_until(fx, fx->w, DEC1 + 8 * HOUR);
  assert_int_equal(notices_of("(2026-11)"), 4);
  assert_int_equal(notices_of("(2026-12)"), 1);
  assert_non_null(strstr(stub_notifications[4].message, "forecast"));
  scw_snapshot_t *cur = scw_worker_acquire(fx->w, SCW_SLOT_CURRENT);
  assert_true(cur->forecast_nanos > EUR(50));
  scw_snapshot_release(cur);
}

static void test_bad_state_file_ignored(void **state) {
  fx_t *fx = *state;
  fx->w = new_worker(fx);
  scw_worker_use_state(fx->w, fx->state, fx->now);
  run_until(fx, fx->w, NOV30_20H + HOUR);
  scw_worker_free(fx->w);
  fx->w = NULL;
  /* Truncate the file to half: refused with one WARNING, nothing served. */
  FILE *fh = fopen(fx->state, "r+");
  assert_non_null(fh);
  fseek(fh, 0, SEEK_END);
  long size = ftell(fh);
  fclose(fh);
  assert_int_equal(truncate(fx->state, size / 2), 0);
  stub_reset();
  fx->w = new_worker(fx);
  scw_worker_use_state(fx->w, fx->state, fx->now);
  assert_null(scw_worker_acquire(fx->w, SCW_SLOT_CURRENT));
  assert_non_null(strstr(stub_log, "ignoring the state file"));
  assert_non_null(strstr(stub_log, "checksum"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_closing_month_keeps_late_charges, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failing_api_after_midnight_backs_off, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_serves_state_without_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_state_file_ignored, setup, teardown),
      cmocka_unit_test_setup_teardown(test_budget_notices_once, setup, teardown),
  };
  return cmocka_run_group_tests_name("worker", tests, NULL, NULL);
}
