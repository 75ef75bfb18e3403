/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_schedule.c: the refresh scheduler, driven by a
 * simulated clock and a simulated API (no real time, no sleeping). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "scw_schedule.h"

/* Reference values computed with Python's calendar.timegm. */
#define T_2026_10_01 INT64_C(1790812800)
#define T_2026_11_01 INT64_C(1793491200)
#define T_2026_11_15_0830 INT64_C(1794731400)
#define T_2026_11_20 INT64_C(1795132800)
#define T_2026_12_01 INT64_C(1796083200)
#define T_2027_12_01 INT64_C(1827619200)
#define T_2028_01_01 INT64_C(1830297600)
#define T_2028_02_01 INT64_C(1832976000)
#define T_2028_02_29 INT64_C(1835395200)
#define T_2028_03_01 INT64_C(1835481600)
#define HOUR INT64_C(3600)
#define DAY INT64_C(86400)
#define SEED UINT64_C(0x5eed)
#define NORGS 30

/* ---- a simulated worker loop and API ---- */

typedef enum { OK_STABLE, FAIL_ALL, CLOSING_FAILS, OK_CHANGING } api_t;

typedef struct {
  scw_sched_action_t a;
  int ok;
} walk_t;

typedef struct {
  api_t api;
  int64_t walk_s;      /* duration of one walk */
  int64_t read_period; /* a reader kicks this often; 0: never */
  int64_t retry_after; /* given with every failure; -1: none */
  uint64_t generation; /* bumped by each successful current walk */
  uint64_t counter;
  int kicks;
  size_t n;
  walk_t walks[40000];
} sim_t;

/* One simulation at a time, static: a failed assertion leaks nothing. */
static sim_t the_sim;

static sim_t *sim_new(api_t api) {
  sim_t *s = &the_sim;
  memset(s, 0, sizeof(*s));
  s->api = api;
  s->walk_s = 1;
  s->retry_after = -1;
  s->generation = 1;
  return s;
}

static int api_answer(sim_t *s, const scw_sched_action_t *a, uint64_t *fp) {
  int closing = a->kind == SCW_SCHED_REFRESH_CLOSING;
  *fp = (uint64_t)a->period_start; /* the closing month's data never move */
  switch (s->api) {
  case OK_STABLE:
    return 1;
  case FAIL_ALL:
    return 0;
  case CLOSING_FAILS:
    return !closing;
  case OK_CHANGING:
    *fp = ++s->counter;
    return 1;
  }
  return 0;
}

/* Runs the worker from `from` until `until`; returns the time it stopped. */
static int64_t run(sim_t *s, scw_sched_state_t *st, const scw_sched_config_t *cfg,
                   int64_t from, int64_t until) {
  int64_t now = from;
  int64_t next_read = s->read_period > 0 ? from : INT64_MAX;
  while (now < until) {
    if (now >= next_read) {
      s->kicks += scw_sched_on_kick(st, cfg, now, s->generation);
      next_read = now + s->read_period;
    }
    scw_sched_action_t a;
    scw_sched_next(st, cfg, now, &a);
    if (a.kind == SCW_SCHED_SLEEP) {
      assert_true(a.at > now);
      now = a.at < next_read ? a.at : next_read;
      continue;
    }
    assert_true(a.at == now);
    assert_true(a.window_end > a.period_start); /* never an empty window */
    assert_true(s->n < sizeof(s->walks) / sizeof(s->walks[0]));
    uint64_t fp;
    int ok = api_answer(s, &a, &fp);
    s->walks[s->n++] = (walk_t){a, ok};
    now += s->walk_s;
    if (ok) {
      scw_sched_on_success(st, cfg, now, &a, fp);
      if (a.kind == SCW_SCHED_REFRESH_CURRENT)
        s->generation++;
    } else {
      scw_sched_on_failure(st, cfg, now, &a, s->retry_after);
    }
  }
  return now;
}

static size_t count(const sim_t *s, scw_sched_kind_t kind, int64_t from,
                    int64_t until) {
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    if ((kind == SCW_SCHED_SLEEP || s->walks[i].a.kind == kind) &&
        s->walks[i].a.at >= from && s->walks[i].a.at < until)
      n++;
  return n;
}

/* Time of the first walk the state asks for, from now on (no walk run). */
static int64_t first_walk(scw_sched_state_t st, const scw_sched_config_t *cfg,
                          int64_t now) {
  scw_sched_action_t a;
  scw_sched_next(&st, cfg, now, &a);
  return a.kind == SCW_SCHED_SLEEP ? a.at : now;
}

/* A fresh start walks the previous month once (at now + slot, after the
 * current walk on a tie); long after its month end that walk makes it
 * final. Tests about the current month let the worker make it first, at
 * now: no draw of the PRNG, no back-off, so what follows is the current
 * month alone, as it would be without the closing walk. */
static void close_previous(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                           int64_t now) {
  int64_t p;
  assert_int_equal(scw_sched_closing(st, cfg, now, &p), SCW_CLOSING_PROVISIONAL);
  scw_sched_action_t a = {SCW_SCHED_REFRESH_CLOSING, now, p,
                          scw_sched_current_period(now)};
  scw_sched_state_t before = *st;
  scw_sched_on_success(st, cfg, now, &a, 0);
  assert_int_equal(st->closing, SCW_CLOSING_FINAL);
  assert_true(st->rng == before.rng && st->current_due == before.current_due);
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Smallest gap between the sorted times; also checks they lie in [lo, hi). */
static int64_t min_gap(int64_t *t, size_t n, int64_t lo, int64_t hi) {
  qsort(t, n, sizeof(*t), cmp64);
  int64_t gap = INT64_MAX;
  for (size_t i = 0; i < n; i++) {
    assert_true(t[i] >= lo && t[i] < hi);
    if (i > 0 && t[i] - t[i - 1] < gap)
      gap = t[i] - t[i - 1];
  }
  return gap;
}

static scw_sched_config_t config(int64_t interval) {
  scw_sched_config_t c;
  scw_sched_config_default(&c, interval);
  return c;
}

/* ---- configuration and the failing-API budget ---- */

static void test_defaults(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  assert_int_equal(c.refresh_interval, 3600);
  assert_int_equal(c.settle, 3 * DAY);
  assert_int_equal(c.final_grace, 2 * DAY);
  assert_int_equal(c.closing_fast, 6 * HOUR);
  assert_int_equal(c.closing_slow, 6 * HOUR);
  assert_int_equal(c.startup_spread, 300);
  assert_int_equal(c.new_month_delay, 5);
  assert_int_equal(c.backoff_min, 30);
  assert_int_equal(c.jitter_pct, 10);
}

static void test_failure_budget(void **state) {
  (void)state;
  /* Interval 10 s (tests only): the back-off is capped at 10 s at once, so
   * a failing API gets exactly one walk per 10 s, as a healthy one. */
  scw_sched_config_t c10 = config(10);
  assert_int_equal(scw_sched_failure_attempts(&c10, 120, 0.0), 12);
  assert_int_equal(scw_sched_failure_attempts(&c10, 120, 1.0), 12);
  /* Interval 300 s: 0, 15..30, 45..90, 105..210, 225..450, then every 300. */
  scw_sched_config_t c300 = config(300);
  assert_int_equal(scw_sched_failure_attempts(&c300, 120, 0.0), 4);
  assert_int_equal(scw_sched_failure_attempts(&c300, 120, 1.0), 3);
  assert_int_equal(scw_sched_failure_attempts(&c300, 3600, 0.0), 16);
  assert_int_equal(scw_sched_failure_attempts(&c300, 3600, 1.0), 15);
  /* Interval 3600 s: doubling up to an hour, then hourly. */
  scw_sched_config_t c3600 = config(3600);
  assert_int_equal(scw_sched_failure_attempts(&c3600, 3600, 0.0), 8);
  assert_int_equal(scw_sched_failure_attempts(&c3600, 3600, 1.0), 7);
  assert_int_equal(scw_sched_failure_attempts(&c3600, DAY, 0.0), 31);
  assert_int_equal(scw_sched_failure_attempts(&c3600, DAY, 1.0), 30);
}

/* ---- startup spread and drift ---- */

static void test_startup_spread(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  const uint64_t seeds[] = {SEED, 1, UINT64_C(0xffffffffffffffff)};
  for (size_t k = 0; k < 3; k++) {
    int64_t t[NORGS];
    for (unsigned i = 0; i < NORGS; i++) {
      scw_sched_state_t st;
      scw_sched_init(&st, &c, T_2026_11_15_0830, i, seeds[k]);
      assert_int_equal(st.current_due, T_2026_11_15_0830 + st.slot);
      t[i] = first_walk(st, &c, T_2026_11_15_0830);
    }
    /* 30 in 300 s: 10 s apart on average, never closer than 5 s. */
    assert_true(min_gap(t, NORGS, T_2026_11_15_0830, T_2026_11_15_0830 + 300) >= 5);
  }
  /* The window is capped at the interval. */
  scw_sched_config_t c60 = config(60);
  scw_sched_state_t st;
  for (unsigned i = 0; i < NORGS; i++) {
    scw_sched_init(&st, &c60, T_2026_11_15_0830, i, SEED);
    assert_true(st.slot >= 0 && st.slot < 60);
  }
}

static void test_success_jitter_and_drift(void **state) {
  (void)state;
  scw_sched_config_t c = config(300);
  c.startup_spread = -1; /* all 30 start in the same second */
  int64_t end = T_2026_11_15_0830 + DAY;
  int64_t phase[NORGS];
  for (unsigned i = 0; i < NORGS; i++) {
    scw_sched_state_t st;
    scw_sched_init(&st, &c, T_2026_11_15_0830, i, SEED);
    sim_t *s = sim_new(OK_STABLE);
    s->walk_s = 0;
    run(s, &st, &c, T_2026_11_15_0830, end);
    /* The previous month once, right after the first current walk (a tie),
     * then final: the current walks alone keep their cadence. */
    assert_int_equal(s->walks[0].a.kind, SCW_SCHED_REFRESH_CURRENT);
    assert_int_equal(s->walks[1].a.kind, SCW_SCHED_REFRESH_CLOSING);
    assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, 0, end), 1);
    assert_int_equal(st.closing, SCW_CLOSING_FINAL);
    size_t n = 0;
    int64_t last = 0;
    for (size_t w = 0; w < s->n; w++) {
      if (s->walks[w].a.kind != SCW_SCHED_REFRESH_CURRENT)
        continue;
      if (n++ == 0) {
        assert_true(s->walks[w].a.at == T_2026_11_15_0830);
      } else { /* interval +- 10 % */
        int64_t gap = s->walks[w].a.at - last;
        assert_true(gap >= 270 && gap <= 330);
      }
      last = s->walks[w].a.at;
    }
    assert_true(n >= 261 && n <= 321); /* 86400 / 330 .. / 270 */
    phase[i] = (first_walk(st, &c, end) - T_2026_11_15_0830) % 300;
  }
  /* After a day the 30 are no longer aligned: spread over the interval. */
  int buckets[30] = {0};
  int used = 0, most = 0;
  for (unsigned i = 0; i < NORGS; i++) {
    int b = (int)(phase[i] / 10);
    used += buckets[b]++ == 0;
    most = buckets[b] > most ? buckets[b] : most;
  }
  assert_true(used >= 12);
  assert_true(most <= 5);
}

/* ---- failures, back-off, Retry-After ---- */

static void test_backoff_steps(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  scw_sched_init(&st, &c, T_2026_11_15_0830, 0, SEED);
  close_previous(&st, &c, T_2026_11_15_0830); /* one walk failing alone */
  sim_t *s = sim_new(FAIL_ALL);
  s->walk_s = 0;
  run(s, &st, &c, T_2026_11_15_0830, T_2026_11_15_0830 + DAY);
  assert_int_equal(count(s, SCW_SCHED_REFRESH_CURRENT, 0, INT64_MAX), s->n);
  /* step n waits in [base(n-1), base(n)], base = 30 s doubling, cap 3600 */
  const int64_t lo[] = {15, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600};
  const int64_t hi[] = {30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600};
  for (size_t n = 0; n < 10; n++) {
    int64_t gap = s->walks[n + 1].a.at - s->walks[n].a.at;
    assert_true(gap >= lo[n] && gap <= hi[n]);
  }
  assert_int_equal(st.streak, (int64_t)s->n);
  /* A success ends the streak: the next failure starts at 15..30 s again. */
  scw_sched_action_t a;
  int64_t t = first_walk(st, &c, T_2026_11_15_0830 + DAY);
  scw_sched_next(&st, &c, t, &a);
  scw_sched_on_success(&st, &c, t, &a, 0);
  assert_int_equal(st.streak, 0);
  assert_int_equal(st.current_failures, 0);
  scw_sched_next(&st, &c, st.current_due, &a);
  t = a.at;
  scw_sched_on_failure(&st, &c, t, &a, -1);
  assert_true(st.retry_not_before >= t + 15 && st.retry_not_before <= t + 30);
}

/* Failing API: walks over 2 min at interval 10 s and over 1 h at 300 s stay
 * within scw_sched_failure_attempts, also with a reader kicking every
 * second (the issue saw 55 in 2 minutes) and with the closing month failing
 * too (the walks share one back-off). */
static void check_failing(int64_t interval, int64_t span, int64_t at,
                          int64_t read_period) {
  scw_sched_config_t c = config(interval);
  int64_t most = scw_sched_failure_attempts(&c, span, 0.0);
  int64_t fewest = scw_sched_failure_attempts(&c, span, 1.0);
  for (unsigned org = 0; org < NORGS; org++) {
    scw_sched_state_t st;
    scw_sched_init(&st, &c, at, org, SEED);
    sim_t *s = sim_new(FAIL_ALL);
    s->walk_s = 0;
    s->read_period = read_period;
    run(s, &st, &c, at, at + c.startup_spread + span);
    int64_t start = s->walks[0].a.at; /* a kick may come before the slot */
    size_t n = count(s, SCW_SCHED_SLEEP, start, start + span);
    assert_true((int64_t)n >= fewest && (int64_t)n <= most);
    assert_true(s->kicks <= 1);
  }
}

static void test_failing_api_request_count(void **state) {
  (void)state;
  check_failing(10, 120, T_2026_11_15_0830, 0);
  check_failing(10, 120, T_2026_11_15_0830, 1);
  check_failing(300, HOUR, T_2026_11_15_0830, 0);
  check_failing(300, HOUR, T_2026_11_15_0830, 10);
  check_failing(3600, DAY, T_2026_11_15_0830, 60);
  /* Just after midnight: current and closing month both fail. */
  check_failing(10, 120, T_2026_12_01 + 30 * 60, 1);
  check_failing(300, HOUR, T_2026_12_01 + 30 * 60, 10);
}

static void test_retry_after_carried(void **state) {
  (void)state;
  scw_sched_config_t c = config(300);
  scw_sched_state_t st;
  int64_t t = T_2026_12_01 + HOUR; /* closing month open too */
  scw_sched_init(&st, &c, t, 0, SEED);
  scw_sched_action_t a;
  scw_sched_next(&st, &c, st.current_due, &a);
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CURRENT);
  t = st.current_due + 2;
  scw_sched_on_failure(&st, &c, t, &a, 900);
  /* The back-off alone would allow 15..30 s: Retry-After (+ <= 10 %) wins,
   * for the closing walk as well (same key). */
  assert_true(st.retry_not_before >= t + 900 && st.retry_not_before <= t + 990);
  for (int64_t now = t; now < t + 900; now += 7) {
    scw_sched_next(&st, &c, now, &a);
    assert_int_equal(a.kind, SCW_SCHED_SLEEP);
    assert_true(a.at >= t + 900);
    assert_int_equal(scw_sched_on_kick(&st, &c, now, 42), 0);
  }
  scw_sched_next(&st, &c, st.retry_not_before, &a);
  assert_int_not_equal(a.kind, SCW_SCHED_SLEEP);
  /* A second failure without Retry-After: back-off only (step 2). */
  t = st.retry_not_before + 1;
  scw_sched_on_failure(&st, &c, t, &a, -1);
  assert_true(st.retry_not_before >= t + 30 && st.retry_not_before <= t + 60);
  /* A bogus Retry-After (a year) is cut to a day (+ <= 10 %). */
  scw_sched_on_failure(&st, &c, t, &a, 365 * DAY);
  assert_true(st.retry_not_before >= t + DAY && st.retry_not_before <= t + DAY + DAY / 10);
  /* The simulated worker never walks inside a Retry-After. */
  sim_t *s = sim_new(FAIL_ALL);
  s->retry_after = 120;
  scw_sched_init(&st, &c, T_2026_11_15_0830, 3, SEED);
  run(s, &st, &c, T_2026_11_15_0830, T_2026_11_15_0830 + HOUR);
  for (size_t i = 1; i < s->n; i++)
    assert_true(s->walks[i].a.at - s->walks[i - 1].a.at >= 120 + s->walk_s);
}

/* ---- month edges ---- */

/* Runs an organization across the month end `e` with a healthy API and
 * checks the rollover; returns the simulation for more checks. */
static sim_t *across_midnight(const scw_sched_config_t *c, int64_t prev, int64_t e,
                              scw_sched_state_t *st) {
  scw_sched_init(st, c, e - 10 * HOUR, 7, SEED);
  int64_t before; /* the month before prev, walked once at the start */
  assert_int_equal(scw_sched_closing(st, c, e - 10 * HOUR, &before),
                   SCW_CLOSING_PROVISIONAL);
  assert_int_equal(scw_sched_current_period(prev - 1), before);
  sim_t *s = sim_new(OK_STABLE);
  s->walk_s = 30;
  s->read_period = 10;
  run(s, st, c, e - 10 * HOUR, e + 6 * HOUR);
  int64_t d = (c->refresh_interval < SCW_SCHED_NEW_MONTH_DELAY
                   ? c->refresh_interval : SCW_SCHED_NEW_MONTH_DELAY) + st->slot;
  size_t walked_before = 0;
  for (size_t i = 0; i < s->n; i++) {
    const scw_sched_action_t *a = &s->walks[i].a;
    if (a->at < e && a->kind == SCW_SCHED_REFRESH_CLOSING) { /* full window */
      assert_true(a->period_start == before && a->window_end == prev);
      walked_before++;
    } else if (a->at < e) { /* the old month, window up to now */
      assert_int_equal(a->kind, SCW_SCHED_REFRESH_CURRENT);
      assert_true(a->period_start == prev && a->window_end == a->at);
    } else if (a->kind == SCW_SCHED_REFRESH_CLOSING) { /* its full window */
      assert_true(a->period_start == prev && a->window_end == e);
    } else { /* the new month: never before midnight + delay + slot */
      assert_true(a->period_start == e && a->at >= e + d);
      assert_true(a->window_end - a->period_start >= d - st->slot);
    }
  }
  assert_int_equal(walked_before, 1);
  /* First after midnight: the closing walk at midnight + slot. */
  size_t first = 0;
  while (s->walks[first].a.at < e)
    first++;
  assert_int_equal(s->walks[first].a.kind, SCW_SCHED_REFRESH_CLOSING);
  assert_true(s->walks[first].a.at >= e + st->slot &&
              s->walks[first].a.at < e + st->slot + s->walk_s);
  /* The reader publishes 0 until the first walk of the month succeeds and
   * never needs a kick for it. */
  scw_sched_state_t mid;
  scw_sched_init(&mid, c, e - HOUR, 7, SEED);
  assert_int_equal(scw_sched_publish_empty(&mid, c, e - 1), 0);
  assert_int_equal(scw_sched_publish_empty(&mid, c, e + 30), 1);
  assert_int_equal(scw_sched_on_kick(&mid, c, e + 30, 99), 0);
  assert_int_equal(scw_sched_publish_empty(st, c, e + 6 * HOUR), 0);
  assert_int_equal(scw_sched_current_period(e - 10), prev);
  assert_int_equal(scw_sched_current_period(e), e);
  return s;
}

static void test_rollover_november(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  across_midnight(&c, T_2026_11_01, T_2026_12_01, &st);
}

static void test_rollover_leap_day(void **state) {
  (void)state;
  scw_sched_config_t c = config(300);
  scw_sched_state_t st;
  sim_t *s = across_midnight(&c, T_2028_02_01, T_2028_03_01, &st);
  assert_int_equal(T_2028_03_01 - T_2028_02_01, 29 * DAY);
  assert_true(count(s, SCW_SCHED_REFRESH_CURRENT, T_2028_02_29, T_2028_03_01) >= 1);
  int64_t p;
  assert_int_equal(scw_sched_closing(&st, &c, T_2028_03_01 + HOUR, &p), SCW_CLOSING_PROVISIONAL);
  assert_int_equal(p, T_2028_02_01);
}

static void test_rollover_new_year(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  across_midnight(&c, T_2027_12_01, T_2028_01_01, &st);
  int64_t p;
  assert_int_equal(scw_sched_closing(&st, &c, T_2028_01_01 + HOUR, &p), SCW_CLOSING_PROVISIONAL);
  assert_int_equal(p, T_2027_12_01);
}

/* 30 organizations at midnight: closing walks spread over midnight + 5 min,
 * first walks of the new month over 00:10..00:15, not one burst. */
static void test_thirty_orgs_at_midnight(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  int64_t e = T_2026_12_01, closing[NORGS], first[NORGS];
  for (unsigned i = 0; i < NORGS; i++) {
    scw_sched_state_t st;
    scw_sched_init(&st, &c, e - 2 * DAY, i, SEED);
    sim_t *s = sim_new(OK_STABLE);
    s->walk_s = 0;
    run(s, &st, &c, e - 2 * DAY, e + HOUR);
    closing[i] = first[i] = 0;
    for (size_t w = 0; w < s->n; w++) {
      const scw_sched_action_t *a = &s->walks[w].a;
      if (a->at >= e && a->kind == SCW_SCHED_REFRESH_CLOSING && closing[i] == 0)
        closing[i] = a->at;
      if (a->at >= e && a->kind == SCW_SCHED_REFRESH_CURRENT && first[i] == 0)
        first[i] = a->at;
    }
  }
  assert_true(min_gap(closing, NORGS, e, e + 300) >= 5);
  assert_true(min_gap(first, NORGS, e + SCW_SCHED_NEW_MONTH_DELAY,
                      e + SCW_SCHED_NEW_MONTH_DELAY + 300) >= 5);
}

/* A walk started at 23:59:50 ends after midnight: it was the old month up to
 * 23:59:50, not a full closing walk, so it does not count as one. */
static void test_walk_across_midnight(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  scw_sched_init(&st, &c, T_2026_12_01 - DAY, 0, SEED);
  close_previous(&st, &c, T_2026_12_01 - DAY);
  st.current_due = T_2026_12_01 - 10;
  scw_sched_action_t a;
  scw_sched_next(&st, &c, T_2026_12_01 - 10, &a);
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CURRENT);
  assert_true(a.period_start == T_2026_11_01 && a.window_end == T_2026_12_01 - 10);
  scw_sched_on_success(&st, &c, T_2026_12_01 + 20, &a, 5);
  assert_int_equal(st.closing_walks, 0);
  assert_int_equal(st.current_walks, 0);
  assert_int_equal(scw_sched_publish_empty(&st, &c, T_2026_12_01 + 20), 1);
  scw_sched_next(&st, &c, T_2026_12_01 + 20 + st.slot, &a);
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CLOSING);
  /* Asleep before midnight with the next walk due after it: the worker
   * wakes at midnight + slot for the closing walk. */
  scw_sched_init(&st, &c, T_2026_12_01 - DAY, 0, SEED);
  close_previous(&st, &c, T_2026_12_01 - DAY);
  st.current_due = T_2026_12_01 + HOUR / 2;
  scw_sched_next(&st, &c, T_2026_12_01 - 60, &a);
  assert_int_equal(a.kind, SCW_SCHED_SLEEP);
  assert_int_equal(a.at, T_2026_12_01 + st.slot);
}

/* Started at 00:00:02 on the 1st: empty month, previous month closing. */
static void test_start_just_after_midnight(void **state) {
  (void)state;
  scw_sched_config_t c = config(300);
  scw_sched_state_t st;
  int64_t t = T_2026_12_01 + 2;
  scw_sched_init(&st, &c, t, 4, SEED);
  assert_int_equal(scw_sched_publish_empty(&st, &c, t), 1);
  assert_int_equal(scw_sched_on_kick(&st, &c, t, 1), 0);
  int64_t p;
  assert_int_equal(scw_sched_closing(&st, &c, t, &p), SCW_CLOSING_PROVISIONAL);
  assert_int_equal(p, T_2026_11_01);
  /* not before midnight + new_month_delay (5 s) + slot */
  assert_int_equal(st.current_due, T_2026_12_01 + SCW_SCHED_NEW_MONTH_DELAY + st.slot);
  assert_int_equal(st.closing_due, t + st.slot);
  /* Without a successful walk the empty month ages like a snapshot. */
  assert_int_equal(scw_sched_publish_empty(&st, &c, T_2026_12_01 + 899), 1);
  assert_int_equal(scw_sched_publish_empty(&st, &c, T_2026_12_01 + 900), 0);
  /* The first walk of the month succeeded: its numbers, not 0. */
  scw_sched_action_t a;
  scw_sched_next(&st, &c, st.current_due, &a); /* the closing one, due first */
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CLOSING);
  scw_sched_on_success(&st, &c, a.at, &a, 0);
  scw_sched_next(&st, &c, a.at, &a);
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CURRENT);
  assert_true(a.period_start == T_2026_12_01 &&
              a.window_end >= T_2026_12_01 + SCW_SCHED_NEW_MONTH_DELAY);
  scw_sched_on_success(&st, &c, a.at + 5, &a, 0);
  assert_int_equal(scw_sched_publish_empty(&st, &c, a.at + 5), 0);
  /* Mid-month start: nothing is known, nothing published as 0; the
   * previous month, published all month, is walked once at the slot too. */
  scw_sched_init(&st, &c, T_2026_11_15_0830, 4, SEED);
  assert_int_equal(scw_sched_publish_empty(&st, &c, T_2026_11_15_0830), 0);
  assert_int_equal(scw_sched_closing(&st, &c, T_2026_11_15_0830, &p), SCW_CLOSING_PROVISIONAL);
  assert_int_equal(p, T_2026_10_01);
  assert_int_equal(st.current_due, T_2026_11_15_0830 + st.slot);
  assert_int_equal(st.closing_due, T_2026_11_15_0830 + st.slot);
  /* Started on the 2nd: the previous month may not be final yet. */
  scw_sched_init(&st, &c, T_2026_12_01 + DAY, 4, SEED);
  assert_int_equal(scw_sched_closing(&st, &c, T_2026_12_01 + DAY, NULL), SCW_CLOSING_PROVISIONAL);
}

/* ---- the closing month ---- */

static void test_closing_reaches_final(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  scw_sched_init(&st, &c, T_2026_12_01 - DAY, 2, SEED);
  sim_t *s = sim_new(OK_STABLE);
  s->walk_s = 60;
  int64_t e = T_2026_12_01, settle_walk = e + 3 * DAY + st.slot;
  run(s, &st, &c, e - DAY, settle_walk - 1);
  assert_int_equal(scw_sched_closing(&st, &c, settle_walk - 1, NULL), SCW_CLOSING_PROVISIONAL);
  run(s, &st, &c, settle_walk - 1, e + 25 * DAY);
  int64_t last = 0, n = 0, october = 0;
  for (size_t i = 0; i < s->n; i++) {
    const scw_sched_action_t *a = &s->walks[i].a;
    if (a->kind != SCW_SCHED_REFRESH_CLOSING)
      continue;
    if (a->period_start == T_2026_10_01) { /* the start's one walk of it */
      assert_true(a->window_end == T_2026_11_01 && a->at < e - DAY + HOUR);
      october++;
      continue;
    }
    assert_true(a->period_start == T_2026_11_01 && a->window_end == e);
    if (n++ > 0) {
      int64_t gap = a->at - last;
      if (last < e + 6 * HOUR) /* fast: every interval */
        assert_true(gap >= 3240 && gap <= 3960 + 60);
      else if (a->at < settle_walk) /* slow: every 6 h */
        assert_true(gap >= 19440 && gap <= 23760 + 60);
    }
    last = a->at;
  }
  assert_int_equal(october, 1);
  /* Final on the walk at settle end (equal to the one before it). */
  assert_true(last >= settle_walk && last < settle_walk + 60);
  assert_int_equal(scw_sched_closing(&st, &c, last + 60, NULL), SCW_CLOSING_FINAL);
  assert_true(st.closing_same >= 2);
  /* 6 fast + 11 slow + settle walk; none after final. */
  assert_true(n >= 16 && n <= 20);
  assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, last + 1, e + 25 * DAY), 0);
  /* Meanwhile the current month goes on every interval +- 10 %. */
  size_t cur = count(s, SCW_SCHED_REFRESH_CURRENT, e + HOUR, e + 25 * DAY);
  assert_true(cur >= 24 * 24 * 10 / 11 - 1 && cur <= 24 * 24 * 10 / 9 + 1);
}

static void test_closing_final_at_deadline(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  scw_sched_init(&st, &c, T_2026_12_01 - HOUR, 5, SEED);
  sim_t *s = sim_new(OK_CHANGING); /* the numbers never settle */
  int64_t deadline = T_2026_12_01 + 5 * DAY;
  run(s, &st, &c, T_2026_12_01 - HOUR, deadline - 1);
  assert_int_equal(scw_sched_closing(&st, &c, deadline - 1, NULL), SCW_CLOSING_PROVISIONAL);
  assert_int_equal(scw_sched_closing(&st, &c, deadline, NULL), SCW_CLOSING_FINAL);
  run(s, &st, &c, deadline - 1, deadline + 20 * DAY);
  assert_int_equal(st.closing, SCW_CLOSING_FINAL);
  assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, deadline, deadline + 20 * DAY), 0);
  /* October once, at the start; for November 6 fast + 11 slow + settle
   * walk + 8 in the grace days */
  assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, 0, T_2026_12_01), 1);
  size_t n = count(s, SCW_SCHED_REFRESH_CLOSING, T_2026_12_01, deadline);
  assert_true(n >= 22 && n <= 30);
}

/* A closing walk that always fails (say, too many pages for a full month)
 * backs off to its own cadence; the current month is not held up. Never
 * walked, the month is not final at the deadline: it is still retried,
 * every 6 h, and final on its first success. */
static void test_closing_failures_independent(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  scw_sched_init(&st, &c, T_2026_12_01 - HOUR, 1, SEED);
  sim_t *s = sim_new(CLOSING_FAILS);
  s->walk_s = 10;
  int64_t e = T_2026_12_01, deadline = e + 5 * DAY;
  int64_t t = run(s, &st, &c, e - HOUR, e + 10 * DAY);
  /* fast phase: 30 s doubling up to an hour, as a failing API; slow phase:
   * every 6 h at most (19 in 4.75 days), and so on after the deadline */
  assert_true((int64_t)count(s, SCW_SCHED_REFRESH_CLOSING, e, e + 6 * HOUR) <=
              scw_sched_failure_attempts(&c, 6 * HOUR, 0.0));
  assert_true(count(s, SCW_SCHED_REFRESH_CLOSING, e, deadline) <= 40);
  size_t late = count(s, SCW_SCHED_REFRESH_CLOSING, deadline, e + 10 * DAY);
  assert_true(late >= 5 * 4 - 1 && late <= 5 * 4 + 1);
  int64_t last = 0;
  for (size_t i = 0; i < s->n; i++) {
    const scw_sched_action_t *a = &s->walks[i].a;
    if (a->kind != SCW_SCHED_REFRESH_CLOSING || a->at < e)
      continue;
    assert_true(a->period_start == T_2026_11_01 && !s->walks[i].ok);
    if (last >= e + 3 * DAY + st.slot) /* after the settle walk: cadence */
      assert_true(a->at - last >= 6 * HOUR);
    last = a->at;
  }
  assert_int_equal(st.closing, SCW_CLOSING_PROVISIONAL);
  assert_int_equal(st.closing_walks, 0);
  size_t cur = count(s, SCW_SCHED_REFRESH_CURRENT, e + HOUR, e + 10 * DAY);
  assert_true(cur >= 10 * (24 * 10 / 11) - 1);
  for (size_t i = 1; i < s->n; i++)
    assert_true(s->walks[i].a.at - s->walks[i - 1].a.at >= s->walk_s);
  /* The API recovers: one walk, final at once (past the deadline), no
   * other walk of November. */
  s->api = OK_STABLE;
  size_t from = s->n;
  run(s, &st, &c, t, e + 20 * DAY);
  assert_int_equal(st.closing, SCW_CLOSING_FINAL);
  assert_int_equal(st.closing_walks, 1);
  assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, t, e + 20 * DAY), 1);
  assert_true(s->walks[from].a.at <= last + 6 * HOUR + s->walk_s);
}

/* ---- fresh start and the previous month ---- */

/* Started on the 20th: the previous month, published all month, is walked
 * once over its full window, right after the first current walk (a tie),
 * and is final at once (past its deadline); the current month goes on
 * exactly as if that walk had been made before the start. */
static void test_start_on_the_20th(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  int64_t t0 = T_2026_11_20 + 8 * HOUR, end = T_2026_12_01;
  static int64_t ref[1000];
  size_t nref = 0;
  scw_sched_state_t st;
  scw_sched_init(&st, &c, t0, 6, SEED);
  close_previous(&st, &c, t0);
  sim_t *s = sim_new(OK_STABLE);
  s->walk_s = 60;
  run(s, &st, &c, t0, end);
  assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, 0, INT64_MAX), 0);
  for (size_t i = 0; i < s->n; i++) {
    assert_true(nref < sizeof(ref) / sizeof(ref[0]));
    ref[nref++] = s->walks[i].a.at;
  }
  /* The same organization, as it starts. */
  scw_sched_init(&st, &c, t0, 6, SEED);
  int64_t p;
  assert_int_equal(scw_sched_closing(&st, &c, t0, &p), SCW_CLOSING_PROVISIONAL);
  assert_int_equal(p, T_2026_10_01);
  assert_int_equal(st.current_due, t0 + st.slot);
  assert_int_equal(st.closing_due, t0 + st.slot);
  s = sim_new(OK_STABLE);
  s->walk_s = 60;
  run(s, &st, &c, t0, end);
  assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, 0, INT64_MAX), 1);
  const scw_sched_action_t *a = &s->walks[1].a;
  assert_int_equal(s->walks[0].a.kind, SCW_SCHED_REFRESH_CURRENT);
  assert_int_equal(s->walks[0].a.at, t0 + st.slot);
  assert_int_equal(a->kind, SCW_SCHED_REFRESH_CLOSING);
  assert_int_equal(a->at, t0 + st.slot + s->walk_s);
  assert_true(a->period_start == T_2026_10_01 && a->window_end == T_2026_11_01);
  assert_int_equal(st.closing, SCW_CLOSING_FINAL);
  assert_int_equal(st.closing_walks, 1);
  assert_int_equal(scw_sched_closing(&st, &c, end - 1, NULL), SCW_CLOSING_FINAL);
  /* The current month: the same walks at the same times. */
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (s->walks[i].a.kind != SCW_SCHED_REFRESH_CURRENT)
      continue;
    assert_true(k < nref && s->walks[i].a.at == ref[k]);
    assert_int_equal(s->walks[i].a.period_start, T_2026_11_01);
    k++;
  }
  assert_int_equal(k, nref);
  assert_true(nref >= 10 * 24 * 10 / 11);
}

/* Started on the 20th with the closing walk failing (too many pages): it
 * backs off 30 s doubling up to its cadence (6 h), never faster, sharing no
 * wait with the healthy current month; the first success is final. */
static void test_start_on_the_20th_closing_fails(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_config_t c6 = config(6 * HOUR); /* the closing back-off alone */
  int64_t t0 = T_2026_11_20 + 8 * HOUR;
  scw_sched_state_t st;
  scw_sched_init(&st, &c, t0, 6, SEED);
  sim_t *s = sim_new(CLOSING_FAILS);
  s->walk_s = 10;
  int64_t t = run(s, &st, &c, t0, t0 + 5 * DAY);
  size_t n = 0;
  int64_t first = 0, last = 0, gap = 0;
  for (size_t i = 0; i < s->n; i++) {
    const scw_sched_action_t *a = &s->walks[i].a;
    if (a->kind != SCW_SCHED_REFRESH_CLOSING)
      continue;
    assert_true(a->period_start == T_2026_10_01 && a->window_end == T_2026_11_01);
    if (n++ == 0) {
      first = a->at;
    } else { /* equal jitter: each step at least the one before, <= 6 h */
      int64_t g = a->at - last;
      assert_true(g >= 15 && g >= gap - s->walk_s && g <= 6 * HOUR + s->walk_s);
      gap = g;
    }
    last = a->at;
  }
  assert_true(gap >= 6 * HOUR); /* at the cap by now */
  /* A day: as a lone walk failing at interval 6 h; then 4 a day. */
  size_t day1 = count(s, SCW_SCHED_REFRESH_CLOSING, first, first + DAY);
  assert_true((int64_t)day1 >= scw_sched_failure_attempts(&c6, DAY, 1.0) - 1 &&
              (int64_t)day1 <= scw_sched_failure_attempts(&c6, DAY, 0.0));
  for (int64_t d = 1; d < 4; d++) {
    size_t nd = count(s, SCW_SCHED_REFRESH_CLOSING, first + d * DAY, first + (d + 1) * DAY);
    assert_true(nd >= 3 && nd <= 5);
  }
  assert_int_equal(st.closing, SCW_CLOSING_PROVISIONAL);
  assert_int_equal(st.closing_walks, 0);
  assert_int_equal(st.closing_failures, (int64_t)n);
  /* The current month is not held up. */
  assert_true(count(s, SCW_SCHED_REFRESH_CURRENT, t0, t0 + 5 * DAY) >= 5 * (24 * 10 / 11) - 1);
  /* The API recovers: one walk at the cadence, final, none after. */
  s->api = OK_STABLE;
  size_t from = s->n;
  run(s, &st, &c, t, T_2026_12_01);
  assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, t, T_2026_12_01), 1);
  for (size_t i = from; i < s->n; i++)
    if (s->walks[i].a.kind == SCW_SCHED_REFRESH_CLOSING)
      assert_true(s->walks[i].ok && s->walks[i].a.at <= last + 6 * HOUR + s->walk_s);
  assert_int_equal(st.closing, SCW_CLOSING_FINAL);
}

/* Started on the 2nd, within the settle period: as before, provisional,
 * walked at its cadence, once at settle end, final there by fingerprint
 * or, when the data keep changing, at the deadline. */
static void test_start_within_settle(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  int64_t e = T_2026_12_01, t0 = e + DAY + 8 * HOUR, deadline = e + 5 * DAY;
  for (int changing = 0; changing < 2; changing++) {
    scw_sched_state_t st;
    scw_sched_init(&st, &c, t0, 2, SEED);
    int64_t p, settle_walk = e + 3 * DAY + st.slot;
    assert_int_equal(scw_sched_closing(&st, &c, t0, &p), SCW_CLOSING_PROVISIONAL);
    assert_int_equal(p, T_2026_11_01);
    sim_t *s = sim_new(changing ? OK_CHANGING : OK_STABLE);
    s->walk_s = 60;
    int64_t t = run(s, &st, &c, t0, settle_walk - 1);
    assert_int_equal(scw_sched_closing(&st, &c, t, NULL), SCW_CLOSING_PROVISIONAL);
    assert_true(st.closing_walks >= 7 && st.closing_walks <= 9);
    if (changing) {
      t = run(s, &st, &c, t, deadline - 1); /* wakes at the deadline */
      assert_int_equal(scw_sched_closing(&st, &c, deadline - 1, NULL), SCW_CLOSING_PROVISIONAL);
      assert_int_equal(scw_sched_closing(&st, &c, deadline, NULL), SCW_CLOSING_FINAL);
    }
    run(s, &st, &c, t, e + 20 * DAY);
    int64_t last = 0, n = 0;
    for (size_t i = 0; i < s->n; i++) {
      const scw_sched_action_t *a = &s->walks[i].a;
      if (a->kind != SCW_SCHED_REFRESH_CLOSING)
        continue;
      assert_true(a->period_start == T_2026_11_01 && a->window_end == e);
      if (n++ == 0) /* at the slot, right after the first current walk */
        assert_int_equal(a->at, t0 + st.slot + s->walk_s);
      else if (a->at < settle_walk || a->at > settle_walk + s->walk_s)
        assert_true(a->at - last >= 19440 && a->at - last <= 23760 + 60);
      last = a->at;
    }
    assert_int_equal(st.closing, SCW_CLOSING_FINAL);
    if (!changing) { /* the settle walk equals the one before */
      assert_true(last >= settle_walk && last < settle_walk + s->walk_s);
      assert_true(st.closing_same >= 2);
      assert_true(n >= 8 && n <= 10);
    } else { /* 8 more in the grace days, none from the deadline on */
      assert_true(last < deadline);
      assert_true(n >= 14 && n <= 19);
    }
    assert_int_equal(count(s, SCW_SCHED_REFRESH_CLOSING, last + 1, e + 20 * DAY), 0);
  }
}

/* One walk at a time: the earlier due first, the current month on a tie. */
static void test_one_walk_at_a_time(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  int64_t t = T_2026_12_01 + 2 * HOUR;
  scw_sched_init(&st, &c, t, 0, SEED);
  st.current_due = st.closing_due = t;
  scw_sched_action_t a, b;
  scw_sched_next(&st, &c, t, &a);
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CURRENT);
  scw_sched_next(&st, &c, t, &b); /* asked again before it finished */
  assert_int_equal(b.kind, SCW_SCHED_REFRESH_CURRENT);
  scw_sched_on_success(&st, &c, t + 5, &a, 0);
  scw_sched_next(&st, &c, t + 5, &a);
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CLOSING);
  scw_sched_on_success(&st, &c, t + 9, &a, 0);
  scw_sched_next(&st, &c, t + 9, &a);
  assert_int_equal(a.kind, SCW_SCHED_SLEEP);
  st.current_due = t + 100;
  st.closing_due = t + 50;
  scw_sched_next(&st, &c, t + 200, &a);
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CLOSING);
}

/* ---- kicks ---- */

static void test_kick_once_per_generation(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st;
  int64_t t = T_2026_11_15_0830;
  scw_sched_init(&st, &c, t, 0, SEED);
  close_previous(&st, &c, t);
  scw_sched_action_t a;
  scw_sched_next(&st, &c, st.current_due, &a);
  t = st.current_due + 5;
  scw_sched_on_success(&st, &c, t, &a, 0);
  assert_true(st.current_due > t + 3000);
  assert_int_equal(scw_sched_on_kick(&st, &c, t + 10, 7), 1);
  assert_int_equal(scw_sched_on_kick(&st, &c, t + 11, 7), 0);
  scw_sched_next(&st, &c, t + 12, &a);
  assert_int_equal(a.kind, SCW_SCHED_REFRESH_CURRENT);
  scw_sched_on_success(&st, &c, t + 20, &a, 0);
  assert_int_equal(scw_sched_on_kick(&st, &c, t + 30, 7), 0);
  assert_int_equal(scw_sched_on_kick(&st, &c, t + 30, 8), 1);
  /* Never during a back-off. */
  scw_sched_next(&st, &c, t + 30, &a);
  scw_sched_on_failure(&st, &c, t + 40, &a, -1);
  assert_int_equal(scw_sched_on_kick(&st, &c, t + 41, 9), 0);
  assert_int_equal(scw_sched_on_kick(&st, &c, st.retry_not_before, 9), 1);
}

/* ---- restart ---- */

static void test_restore_no_burst(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  unsigned char saved[NORGS][sizeof(scw_sched_state_t)];
  int64_t t0 = T_2026_11_15_0830, stop = t0 + 5 * HOUR;
  for (unsigned i = 0; i < NORGS; i++) {
    scw_sched_state_t st;
    scw_sched_init(&st, &c, t0, i, SEED);
    sim_t *s = sim_new(OK_STABLE);
    run(s, &st, &c, t0, stop);
    memcpy(saved[i], &st, sizeof(st)); /* the bytes a file would hold */
  }
  /* Down for 2 hours: every walk is overdue, yet they come spread out. */
  int64_t t[NORGS], back = stop + 2 * HOUR;
  for (unsigned i = 0; i < NORGS; i++) {
    scw_sched_state_t st;
    memcpy(&st, saved[i], sizeof(st));
    assert_int_equal(scw_sched_restore(&st, &c, back, i, SEED + 1), 0);
    t[i] = first_walk(st, &c, back);
  }
  assert_true(min_gap(t, NORGS, back, back + 300) >= 5);
  /* Down for 1 minute: the saved due times are kept as they were. */
  for (unsigned i = 0; i < NORGS; i++) {
    scw_sched_state_t st, before;
    memcpy(&st, saved[i], sizeof(st));
    before = st;
    assert_int_equal(scw_sched_restore(&st, &c, stop + 60, i, SEED + 1), 0);
    if (before.current_due >= stop + 60)
      assert_true(st.current_due == before.current_due);
    else
      assert_true(st.current_due == stop + 60 + st.slot);
  }
}

static void test_restore_across_months(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t saved, st;
  scw_sched_init(&saved, &c, T_2026_11_15_0830, 3, SEED);
  sim_t *s = sim_new(OK_STABLE);
  run(s, &saved, &c, T_2026_11_15_0830, T_2026_12_01 - 2 * HOUR);
  /* Restarted at 02:00 on the 1st: November is closing, December empty. */
  st = saved;
  st.kicked = 1;
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_12_01 + 2 * HOUR, 3, SEED), 0);
  assert_int_equal(st.kicked, 0);
  assert_int_equal(st.month, T_2026_12_01);
  assert_int_equal(st.closing, SCW_CLOSING_PROVISIONAL);
  assert_int_equal(scw_sched_publish_empty(&st, &c, T_2026_12_01 + 2 * HOUR), 1);
  assert_true(st.current_due == T_2026_12_01 + 2 * HOUR + st.slot);
  assert_true(st.closing_due == T_2026_12_01 + 2 * HOUR + st.slot);
  /* Restarted after settle: November, published all month, is walked
   * (the last walks of it were of a month to date). */
  st = saved;
  int64_t t = T_2026_12_01 + 4 * DAY;
  assert_int_equal(scw_sched_restore(&st, &c, t, 3, SEED), 0);
  assert_int_equal(st.closing, SCW_CLOSING_PROVISIONAL);
  assert_int_equal(st.closing_walks, 0);
  assert_true(st.closing_due == t + st.slot);
  /* Saved while November was provisional and walked, restarted after its
   * deadline: final. */
  scw_sched_init(&st, &c, T_2026_12_01 + DAY, 3, SEED);
  run(sim_new(OK_STABLE), &st, &c, T_2026_12_01 + DAY, T_2026_12_01 + DAY + HOUR);
  assert_int_equal(st.closing, SCW_CLOSING_PROVISIONAL);
  assert_int_equal(st.closing_walks, 1);
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_12_01 + 6 * DAY, 3, SEED), 0);
  assert_int_equal(st.closing, SCW_CLOSING_FINAL);
  /* Saved before a walk of it succeeded: walked once, then final. */
  scw_sched_init(&st, &c, T_2026_12_01 + DAY, 3, SEED);
  t = T_2026_12_01 + 6 * DAY;
  assert_int_equal(scw_sched_restore(&st, &c, t, 3, SEED), 0);
  assert_int_equal(st.closing, SCW_CLOSING_PROVISIONAL);
  assert_true(st.closing_due == t + st.slot);
  sim_t *s2 = sim_new(OK_STABLE);
  run(s2, &st, &c, t, t + 3 * DAY);
  assert_int_equal(count(s2, SCW_SCHED_REFRESH_CLOSING, t, t + 3 * DAY), 1);
  assert_int_equal(st.closing, SCW_CLOSING_FINAL);
  /* NONE, from an earlier build's start after settle end: walked too. */
  scw_sched_init(&st, &c, T_2026_11_15_0830, 3, SEED);
  close_previous(&st, &c, T_2026_11_15_0830);
  st.closing = SCW_CLOSING_NONE;
  t = T_2026_11_15_0830 + HOUR;
  assert_int_equal(scw_sched_restore(&st, &c, t, 3, SEED), 0);
  assert_int_equal(scw_sched_closing(&st, &c, t, NULL), SCW_CLOSING_PROVISIONAL);
  assert_int_equal(st.closing_walks, 0);
  assert_true(st.closing_due == t + st.slot);
  /* Months later: the previous month of now is the closing one. */
  st = saved;
  assert_int_equal(scw_sched_restore(&st, &c, T_2028_02_01 + HOUR, 3, SEED), 0);
  int64_t p;
  assert_int_equal(scw_sched_closing(&st, &c, T_2028_02_01 + HOUR, &p), SCW_CLOSING_PROVISIONAL);
  assert_int_equal(p, T_2028_01_01);
}

static void test_restore_keeps_backoff(void **state) {
  (void)state;
  scw_sched_config_t c = config(300);
  scw_sched_state_t st;
  int64_t t = T_2026_11_15_0830;
  scw_sched_init(&st, &c, t, 0, SEED);
  scw_sched_action_t a;
  scw_sched_next(&st, &c, st.current_due, &a);
  scw_sched_on_failure(&st, &c, t + 400, &a, 1200);
  int64_t hold = st.retry_not_before;
  assert_int_equal(scw_sched_restore(&st, &c, t + 500, 0, SEED), 0);
  assert_int_equal(st.retry_not_before, hold);
  assert_true(first_walk(st, &c, t + 500) >= hold);
  assert_int_equal(st.streak, 1);
  /* A clock that went back a year does not park the organization. */
  st.current_due = t + 365 * DAY;
  st.retry_not_before = t + 365 * DAY;
  assert_int_equal(scw_sched_restore(&st, &c, t, 0, SEED), 0);
  assert_true(first_walk(st, &c, t) <= t + 2 * DAY);
  /* Same for a closing walk: 2 slow periods at most. */
  int64_t t1 = T_2026_12_01 + HOUR;
  scw_sched_init(&st, &c, t1, 0, SEED);
  st.current_due = st.closing_due = t1 + 365 * DAY;
  assert_int_equal(scw_sched_restore(&st, &c, t1, 0, SEED), 0);
  assert_true(st.closing_due <= t1 + 12 * HOUR + 300);
  assert_true(st.current_due <= t1 + 1200 + 300);
}

static void test_restore_rejects_garbage(void **state) {
  (void)state;
  scw_sched_config_t c = config(3600);
  scw_sched_state_t st, fresh;
  scw_sched_init(&fresh, &c, T_2026_11_15_0830, 2, SEED);
  memset(&st, 0xa5, sizeof(st));
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_11_15_0830, 2, SEED), -1);
  assert_memory_equal(&st, &fresh, sizeof(st));
  /* A month that is not a month start, or in the future. */
  st = fresh;
  st.month += 17;
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_11_15_0830, 2, SEED), -1);
  st = fresh;
  st.month = T_2026_12_01;
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_11_15_0830, 2, SEED), -1);
  st = fresh;
  st.month = INT64_MIN;
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_11_15_0830, 2, SEED), -1);
  st = fresh;
  st.streak = INT64_MAX;
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_11_15_0830, 2, SEED), -1);
  st = fresh;
  st.closing = 3;
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_11_15_0830, 2, SEED), -1);
  /* A slot outside a (now shorter) window is picked again. */
  st = fresh;
  st.slot = 299;
  scw_sched_config_t c60 = config(60);
  assert_int_equal(scw_sched_restore(&st, &c60, T_2026_11_15_0830, 2, SEED), 0);
  assert_true(st.slot >= 0 && st.slot < 60);
  /* The seed that would zero the PRNG state still gives a restorable one. */
  scw_sched_init(&st, &c, T_2026_11_15_0830, 0, UINT64_C(0xd1b54a32d192ed03));
  assert_int_equal(scw_sched_restore(&st, &c, T_2026_11_15_0830, 0, SEED), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_failure_budget),
      cmocka_unit_test(test_startup_spread),
      cmocka_unit_test(test_success_jitter_and_drift),
      cmocka_unit_test(test_backoff_steps),
      cmocka_unit_test(test_failing_api_request_count),
      cmocka_unit_test(test_retry_after_carried),
      cmocka_unit_test(test_rollover_november),
      cmocka_unit_test(test_rollover_leap_day),
      cmocka_unit_test(test_rollover_new_year),
      cmocka_unit_test(test_thirty_orgs_at_midnight),
      cmocka_unit_test(test_walk_across_midnight),
      cmocka_unit_test(test_start_just_after_midnight),
      cmocka_unit_test(test_closing_reaches_final),
      cmocka_unit_test(test_closing_final_at_deadline),
      cmocka_unit_test(test_closing_failures_independent),
      cmocka_unit_test(test_start_on_the_20th),
      cmocka_unit_test(test_start_on_the_20th_closing_fails),
      cmocka_unit_test(test_start_within_settle),
      cmocka_unit_test(test_one_walk_at_a_time),
      cmocka_unit_test(test_kick_once_per_generation),
      cmocka_unit_test(test_restore_no_burst),
      cmocka_unit_test(test_restore_across_months),
      cmocka_unit_test(test_restore_keeps_backoff),
      cmocka_unit_test(test_restore_rejects_garbage),
  };
  return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
