/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_forecast.c: the run-rate forecast and its
 * sample history, over real months (a leap February, a 31-day month). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_forecast.h"
#include "scw_time.h"

#define H 3600
#define DAY (24 * H)

typedef struct {
  int64_t start, end;
  char period[8];
} month_t;

static month_t month(int y, unsigned m) {
  month_t mo;
  mo.start = scw_days_from_civil(y, m, 1) * DAY;
  mo.end = scw_next_month_start(mo.start);
  scw_period_of(mo.start, mo.period, sizeof(mo.period));
  return mo;
}

static void add_ok(scw_history_t *h, const char *period, const char *key,
                   int64_t t, int64_t nanos) {
  scw_error_t err = {0};
  if (scw_history_add(h, period, key, t, nanos, &err) != SCW_OK)
    fail_msg("scw_history_add: %s", err.msg);
}

/* Records mtd at t and returns the forecast, as the worker does. */
static int64_t step(scw_history_t *h, const month_t *mo, const char *key,
                    int64_t t, int64_t mtd) {
  add_ok(h, mo->period, key, t, mtd);
  return scw_forecast_nanos(scw_history_track(h, key), mo->start, mo->end, t,
                            mtd);
}

/* At most SCW_FORECAST_SAMPLES, spaced, and nothing older than the newest
 * sample needs: only s[0] may be a full window older than it. */
static void check_track(const scw_track_t *tr) {
  assert_non_null(tr);
  assert_true(tr->n >= 1 && tr->n <= SCW_FORECAST_SAMPLES);
  for (size_t i = 1; i < tr->n; i++)
    assert_true(tr->s[i].t - tr->s[i - 1].t >= SCW_FORECAST_SPACING);
  if (tr->n >= 2)
    assert_true(tr->s[1].t > tr->s[tr->n - 1].t - SCW_FORECAST_WINDOW);
}

static void test_months(void **state) {
  (void)state;
  month_t feb = month(2028, 2), jan = month(2028, 1);
  assert_string_equal(feb.period, "2028-02");
  assert_true(feb.end - feb.start == 29 * DAY); /* leap year */
  assert_true(jan.end - jan.start == 31 * DAY);
  assert_true(jan.end == feb.start);
}

/* Flat spend, refreshed hourly: every forecast is the true month total. */
static void test_flat_spend_exact(void **state) {
  (void)state;
  const month_t months[] = {month(2028, 2), month(2028, 1), month(2027, 4)};
  for (size_t k = 0; k < 3; k++) {
    const month_t *mo = &months[k];
    const int64_t per_hour = 1234567; /* an odd rate */
    const int64_t want = per_hour * ((mo->end - mo->start) / H);
    scw_history_t h;
    scw_history_init(&h);
    for (int64_t t = mo->start + H; t < mo->end; t += H) {
      int64_t mtd = per_hour * ((t - mo->start) / H);
      int64_t f = step(&h, mo, "", t, mtd);
      if (f != want)
        fail_msg("%s at +%lld h: forecast %lld, want %lld", mo->period,
                 (long long)((t - mo->start) / H), (long long)f, (long long)want);
      check_track(scw_history_track(&h, ""));
    }
    scw_history_free(&h);
  }
}

/* Flat spend by the second, refreshed every 10 minutes at odd offsets:
 * still exact, with one sample an hour kept. */
static void test_flat_spend_frequent_refresh(void **state) {
  (void)state;
  month_t mo = month(2028, 1);
  const int64_t per_second = 7;
  const int64_t want = per_second * (mo.end - mo.start);
  scw_history_t h;
  scw_history_init(&h);
  for (int64_t t = mo.start + 37; t < mo.end; t += 600 + (t % 7)) {
    int64_t f = step(&h, &mo, "", t, per_second * (t - mo.start));
    assert_true(f == want);
    check_track(scw_history_track(&h, ""));
  }
  scw_history_free(&h);
}

/* Before 24 hours of history, the rate is measured from the month start. */
static void test_first_day_uses_month_start(void **state) {
  (void)state;
  month_t mo = month(2028, 2);
  scw_history_t h;
  scw_history_init(&h);
  /* Nothing for five hours, then 600 at once. */
  for (int i = 1; i <= 5; i++)
    assert_true(step(&h, &mo, "", mo.start + i * H, 0) == 0);
  int64_t t = mo.start + 6 * H;
  int64_t f = step(&h, &mo, "", t, 600);
  assert_true(f == 600 + (int64_t)600 * (mo.end - t) / (6 * H));
  /* 23 h 59 min in: still from the month start. */
  t = mo.start + DAY - 60;
  f = scw_forecast_nanos(scw_history_track(&h, ""), mo.start, mo.end, t, 1000);
  assert_true(f == 1000 + (int64_t)1000 * (mo.end - t) / (DAY - 60));
  /* 25 h in, the sample at +1 h (0) is a full window old: the reference. */
  t = mo.start + 25 * H;
  f = scw_forecast_nanos(scw_history_track(&h, ""), mo.start, mo.end, t, 1000);
  assert_true(f == 1000 + (int64_t)1000 * (mo.end - t) / (24 * H));
  /* No history at all: the month start. */
  t = mo.start + 10 * DAY;
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, t, 500) ==
              500 + (int64_t)500 * (mo.end - t) / (10 * DAY));
  scw_history_free(&h);
}

/* A step change in the rate is followed within 24 hours. */
static void test_step_change_followed(void **state) {
  (void)state;
  month_t mo = month(2028, 1);
  const int64_t r1 = 1000, r2 = 3000; /* per hour */
  const int64_t step_at = mo.start + 10 * DAY;
  scw_history_t h;
  scw_history_init(&h);
  int64_t mtd = 0;
  for (int64_t t = mo.start + H; t < mo.end; t += H) {
    mtd += t <= step_at ? r1 : r2;
    int64_t f = step(&h, &mo, "", t, mtd);
    int64_t at_new_rate = mtd + r2 * ((mo.end - t) / H);
    if (t <= step_at)
      assert_true(f == mtd + r1 * ((mo.end - t) / H));
    else if (t >= step_at + DAY)
      assert_true(f == at_new_rate);
    else /* in between: on its way up */
      assert_true(f > mtd + r1 * ((mo.end - t) / H) && f < at_new_rate);
  }
  scw_history_free(&h);
}

/* A project that stops spending forecasts its month to date a day later. */
static void test_stopped_project(void **state) {
  (void)state;
  month_t mo = month(2028, 2);
  const int64_t stop = mo.start + 5 * DAY;
  scw_history_t h;
  scw_history_init(&h);
  int64_t mtd = 0;
  for (int64_t t = mo.start + H; t < mo.start + 9 * DAY; t += H) {
    if (t <= stop)
      mtd += 5000;
    /* the organization keeps spending: its own track */
    step(&h, &mo, "", t, (t - mo.start) / H * 9000);
    int64_t f = step(&h, &mo, "p-1", t, mtd);
    if (t >= stop + DAY)
      assert_true(f == mtd);
    else
      assert_true(f > mtd);
  }
  assert_true(step(&h, &mo, "", mo.start + 9 * DAY, 9 * 24 * 9000) ==
              (mo.end - mo.start) / H * 9000);
  scw_history_free(&h);
}

/* Credits: a falling month to date does not forecast below what is spent. */
static void test_negative_rate_clamps(void **state) {
  (void)state;
  month_t mo = month(2028, 1);
  scw_history_t h;
  scw_history_init(&h);
  int64_t mtd = 1000000;
  for (int64_t t = mo.start + H; t < mo.start + 5 * DAY; t += H) {
    mtd -= 100;
    int64_t f = step(&h, &mo, "", t, mtd);
    if (t >= mo.start + DAY + H) /* measured on the history: falling */
      assert_true(f == mtd);
  }
  /* Below zero from the start: the month start (0) is above it. */
  scw_history_t g;
  scw_history_init(&g);
  assert_true(step(&g, &mo, "", mo.start + 3 * H, -500) == -500);
  assert_true(step(&g, &mo, "", mo.start + 2 * DAY, -900) == -900);
  scw_history_free(&g);
  scw_history_free(&h);
}

static void test_month_end_and_start(void **state) {
  (void)state;
  month_t mo = month(2028, 2);
  scw_history_t h;
  scw_history_init(&h);
  for (int64_t t = mo.start + H; t < mo.end; t += H)
    add_ok(&h, mo.period, "", t, (t - mo.start) / H * 10);
  const scw_track_t *tr = scw_history_track(&h, "");
  assert_true(scw_forecast_nanos(tr, mo.start, mo.end, mo.end, 123) == 123);
  assert_true(scw_forecast_nanos(tr, mo.start, mo.end, mo.end + 5 * DAY, 123) ==
              123);
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, mo.end, 7) == 7);
  /* At the month start nothing can be measured. */
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, mo.start, 9) == 9);
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, mo.start - 10, 9) == 9);
  /* One second before the end: one second of the rate. */
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, mo.end - 1,
                                 (mo.end - 1 - mo.start) * 2) ==
              (mo.end - mo.start) * 2);
  scw_history_free(&h);
}

/* Samples before the month start (another month's) are never a reference. */
static void test_samples_outside_month_ignored(void **state) {
  (void)state;
  month_t mo = month(2028, 2);
  scw_track_t tr = {.key = (char *)"", .n = 1};
  tr.s[0] = (scw_sample_t){mo.start - DAY, 5000};
  int64_t t = mo.start + 2 * DAY;
  assert_true(scw_forecast_nanos(&tr, mo.start, mo.end, t, 200) ==
              200 + (int64_t)200 * (mo.end - t) / (2 * DAY));
}

static void test_huge_values_clamp(void **state) {
  (void)state;
  month_t mo = month(2028, 1);
  int64_t t = mo.start + H;
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, t, INT64_MAX / 2) ==
              INT64_MAX);
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, t, INT64_MAX) ==
              INT64_MAX);
  /* From a positive reference. */
  scw_track_t tr = {.key = (char *)"", .n = 1};
  tr.s[0] = (scw_sample_t){mo.start + H, 1};
  assert_true(scw_forecast_nanos(&tr, mo.start, mo.end, mo.start + DAY + H,
                                 INT64_MAX - 1) == INT64_MAX);
  /* Large but fitting: exact. */
  int64_t mtd = INT64_C(1000000000000000000); /* 1e18 over 1 day of 31 */
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, mo.start + DAY, mtd) ==
              INT64_MAX);
  mtd = INT64_C(100000000000000000); /* 1e17 a day: 3.1e18 */
  assert_true(scw_forecast_nanos(NULL, mo.start, mo.end, mo.start + DAY, mtd) ==
              mtd * 31);
}

/* A negative reference (credits first) and a huge month to date: the
 * growth mtd - ref does not fit in int64. The forecast must still be at
 * least the month to date (here: clamp to INT64_MAX). */
static void test_huge_growth_from_negative_reference(void **state) {
  (void)state;
  month_t mo = month(2028, 1);
  scw_track_t tr = {.key = (char *)"", .n = 1};
  int64_t refs[] = {-1, -1000000000, INT64_MIN};
  for (size_t i = 0; i < 3; i++) {
    tr.s[0] = (scw_sample_t){mo.start + H, refs[i]};
    int64_t f = scw_forecast_nanos(&tr, mo.start, mo.end, mo.start + DAY + H,
                                   INT64_MAX);
    if (f != INT64_MAX)
      fail_msg("ref %lld, mtd INT64_MAX: forecast %lld", (long long)refs[i],
               (long long)f);
  }
}

/* ---- history ------------------------------------------------------------- */

static void test_history_spacing_and_keys(void **state) {
  (void)state;
  month_t mo = month(2028, 2);
  scw_history_t h;
  scw_history_init(&h);
  assert_null(scw_history_track(&h, ""));
  int64_t t = mo.start + 100;
  add_ok(&h, mo.period, "p-2", t, 1);
  add_ok(&h, mo.period, "p-2", t + 1, 2);
  add_ok(&h, mo.period, "p-2", t + SCW_FORECAST_SPACING - 1, 3);
  add_ok(&h, mo.period, "p-2", t - 5000, 4); /* older: not kept either */
  const scw_track_t *tr = scw_history_track(&h, "p-2");
  assert_non_null(tr);
  assert_int_equal(tr->n, 1);
  assert_true(tr->s[0].t == t && tr->s[0].nanos == 1);
  add_ok(&h, mo.period, "p-2", t + SCW_FORECAST_SPACING, 5);
  tr = scw_history_track(&h, "p-2");
  assert_int_equal(tr->n, 2);
  assert_true(tr->s[1].t == t + SCW_FORECAST_SPACING && tr->s[1].nanos == 5);
  /* Keys are separate, sorted, and found. */
  add_ok(&h, mo.period, "", t, 10);
  add_ok(&h, mo.period, "p-1", t, 20);
  add_ok(&h, mo.period, "p-3", t, 30);
  assert_int_equal(h.n_tracks, 4);
  for (size_t i = 1; i < h.n_tracks; i++)
    assert_true(strcmp(h.tracks[i - 1].key, h.tracks[i].key) < 0);
  assert_true(scw_history_track(&h, "")->s[0].nanos == 10);
  assert_true(scw_history_track(&h, "p-1")->s[0].nanos == 20);
  assert_true(scw_history_track(&h, "p-3")->s[0].nanos == 30);
  assert_int_equal(scw_history_track(&h, "p-2")->n, 2);
  assert_null(scw_history_track(&h, "p-4"));
  assert_string_equal(h.period, "2028-02");
  scw_history_free(&h);
  assert_int_equal(h.n_tracks, 0);
  assert_string_equal(h.period, "");
}

/* Hourly for the whole month: never more than the window needs. */
static void test_history_keeps_only_what_is_needed(void **state) {
  (void)state;
  month_t mo = month(2028, 1);
  scw_history_t h;
  scw_history_init(&h);
  size_t most = 0;
  for (int64_t t = mo.start + H; t < mo.end; t += H) {
    add_ok(&h, mo.period, "", t, t - mo.start);
    const scw_track_t *tr = scw_history_track(&h, "");
    check_track(tr);
    if (t - mo.start > DAY)
      assert_true(tr->s[0].t <= t - SCW_FORECAST_WINDOW); /* the reference */
    if (tr->n > most)
      most = tr->n;
  }
  /* 24 hours at one an hour, plus the reference and the newest. */
  assert_int_equal(most, 25);
  assert_true(most <= SCW_FORECAST_SAMPLES);
  scw_history_free(&h);
}

/* A track full to SCW_FORECAST_SAMPLES (samples closer together than a
 * state file or an older version may have left) drops its oldest. */
static void test_history_cap(void **state) {
  (void)state;
  month_t mo = month(2028, 2);
  scw_history_t h;
  scw_history_init(&h);
  int64_t t0 = mo.start + 2 * DAY;
  add_ok(&h, mo.period, "", t0, 0);
  scw_track_t *tr = &h.tracks[0];
  for (size_t i = 0; i < SCW_FORECAST_SAMPLES; i++)
    tr->s[i] = (scw_sample_t){t0 + (int64_t)i * 60, (int64_t)i};
  tr->n = SCW_FORECAST_SAMPLES;
  int64_t t = t0 + SCW_FORECAST_SAMPLES * 60 + SCW_FORECAST_SPACING;
  add_ok(&h, mo.period, "", t, 999);
  assert_int_equal(tr->n, SCW_FORECAST_SAMPLES);
  assert_true(tr->s[0].t == t0 + 60 && tr->s[0].nanos == 1);
  assert_true(tr->s[SCW_FORECAST_SAMPLES - 1].t == t);
  assert_true(tr->s[SCW_FORECAST_SAMPLES - 1].nanos == 999);
  scw_history_free(&h);
}

static void test_history_new_period_resets(void **state) {
  (void)state;
  month_t jan = month(2028, 1), feb = month(2028, 2);
  scw_history_t h;
  scw_history_init(&h);
  for (int64_t t = jan.end - 3 * DAY; t < jan.end; t += H) {
    add_ok(&h, jan.period, "", t, 1);
    add_ok(&h, jan.period, "p-1", t, 1);
  }
  assert_int_equal(h.n_tracks, 2);
  /* The first sample of February, less than an hour after January's last:
   * kept, and alone. */
  add_ok(&h, feb.period, "", feb.start + 60, 42);
  assert_string_equal(h.period, "2028-02");
  assert_int_equal(h.n_tracks, 1);
  const scw_track_t *tr = scw_history_track(&h, "");
  assert_int_equal(tr->n, 1);
  assert_true(tr->s[0].t == feb.start + 60 && tr->s[0].nanos == 42);
  assert_null(scw_history_track(&h, "p-1"));
  /* January's samples do not leak into February's forecast. */
  int64_t t = feb.start + 2 * H;
  assert_true(step(&h, &feb, "", t, 84) ==
              84 + (int64_t)84 * (feb.end - t) / (2 * H));
  scw_history_free(&h);
}

/* Random walks: the forecast is never below the month to date, and equals
 * it at the end of the month. */
static void test_forecast_never_below_mtd(void **state) {
  (void)state;
  uint64_t x = UINT64_C(88172645463325252);
  for (int run = 0; run < 50; run++) {
    month_t mo = month(2027 + run % 3, 1 + (unsigned)(run % 12));
    scw_history_t h;
    scw_history_init(&h);
    int64_t mtd = 0;
    for (int64_t t = mo.start; t <= mo.end + H;) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      mtd += (int64_t)(x % 2000001) - 900000;
      int64_t f = step(&h, &mo, "", t, mtd);
      assert_true(f >= mtd);
      if (t >= mo.end)
        assert_true(f == mtd);
      t += 300 + (int64_t)(x % 7200);
    }
    scw_history_free(&h);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_months),
      cmocka_unit_test(test_flat_spend_exact),
      cmocka_unit_test(test_flat_spend_frequent_refresh),
      cmocka_unit_test(test_first_day_uses_month_start),
      cmocka_unit_test(test_step_change_followed),
      cmocka_unit_test(test_stopped_project),
      cmocka_unit_test(test_negative_rate_clamps),
      cmocka_unit_test(test_month_end_and_start),
      cmocka_unit_test(test_samples_outside_month_ignored),
      cmocka_unit_test(test_huge_values_clamp),
      cmocka_unit_test(test_huge_growth_from_negative_reference),
      cmocka_unit_test(test_history_spacing_and_keys),
      cmocka_unit_test(test_history_keeps_only_what_is_needed),
      cmocka_unit_test(test_history_cap),
      cmocka_unit_test(test_history_new_period_resets),
      cmocka_unit_test(test_forecast_never_below_mtd),
  };
  return cmocka_run_group_tests_name("forecast", tests, NULL, NULL);
}
