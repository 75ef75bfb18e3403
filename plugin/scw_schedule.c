/* SPDX-License-Identifier: MIT */
/* scw_schedule.c - the refresh scheduler; see scw_schedule.h.
 *
 * Numbers and why:
 *  - settle 3 days: Scaleway posts the charges of a month's last hours late
 *    (issue 9: 15 % of them were lost while the last refresh before
 *    midnight was all a month got) and the month is invoiced within its
 *    first days; 3 days covers that with margin and bounds the extra work to
 *    about 20 full-month walks a month at the default interval.
 *  - closing cadence: every interval for the first 6 h (late charges arrive
 *    within hours; the load stays what it was before midnight, when the same
 *    full month was walked every interval and the new month is tiny), then
 *    every max(interval, 6 h) until settle end, plus one walk at settle end
 *    (+ slot) so the final decision does not wait up to 6 h.
 *  - final: a walk made after settle end whose fingerprint equals the
 *    previous walk's: nothing moved across the settle boundary. If the data
 *    keep changing (refunds, corrections), final anyway 2 days later (the
 *    deadline): those belong to the invoice, and a full-month walk every 6 h
 *    must end. Only once a walk of it has succeeded: until then what is
 *    published (the last month-to-date snapshot, or nothing after a fresh
 *    start) lacks the late charges.
 *  - fresh start: the previous month is published all month, so a start
 *    finds it PROVISIONAL however late. After the deadline its first
 *    successful walk is final at once (nothing moves any more), so a start
 *    on the 20th costs one full-month walk; a failing one backs off to the
 *    closing cadence (6 h), as within the settle period.
 *  - new month: its first walk at midnight + min(interval, 5 s) + slot,
 *    so the window is never empty and 30 organizations do not ask at
 *    00:00:00; the closing walk (midnight + slot) goes first. Until then 0
 *    is published: at 00:00:00 the month-to-date total is exactly 0 and the
 *    charges of the first minutes are not posted yet anyway.
 *  - back-off: step n waits between base(n-1) and base(n), base(n) = 30 s *
 *    2^(n-1) capped at the interval ("equal jitter" within each doubling).
 *    So retries spread out but never come faster than one per base(n-1),
 *    and at the cap exactly one per interval: a failing API is asked about
 *    as often as a healthy one (12 walks in 2 min at interval 10 s; 15 or 16
 *    per hour at 300 s, against 12 when healthy).
 *  - one back-off streak and one retry_not_before per organization, since
 *    the API limits are per key: when the API is down, current and closing
 *    walks take turns inside one back-off sequence instead of doubling the
 *    rate. Each walk also has its own failure count, so a closing walk that
 *    keeps failing (too many pages) backs off to its own cadence while the
 *    current month goes on.
 *  - Retry-After: honoured (capped at a day: a bogus header must not stop
 *    the plugin), plus 0..10 % so organizations told the same thing by the
 *    API do not come back in the same second. */
#include "scw_schedule.h"

#include "scw_time.h"

#define DAY INT64_C(86400)

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- effective configuration (0 = default, then bounded) ---- */

static int64_t interval(const scw_sched_config_t *c) {
  return max64(c->refresh_interval, 1);
}
static int64_t or_default(int64_t v, int64_t def) { return v > 0 ? v : def; }
static int64_t spread(const scw_sched_config_t *c) {
  /* A negative window means none: every organization at now. */
  if (c->startup_spread < 0)
    return 0;
  return min64(or_default(c->startup_spread, SCW_SCHED_STARTUP_SPREAD),
               interval(c));
}
static int64_t new_month_delay(const scw_sched_config_t *c) {
  return min64(or_default(c->new_month_delay, SCW_SCHED_NEW_MONTH_DELAY),
               interval(c));
}
/* settle + grace stays below 4 weeks: a closing month is done before the
 * next one closes. */
static int64_t settle(const scw_sched_config_t *c) {
  return min64(or_default(c->settle, SCW_SCHED_SETTLE), 14 * DAY);
}
static int64_t grace(const scw_sched_config_t *c) {
  return min64(or_default(c->final_grace, SCW_SCHED_FINAL_GRACE), 7 * DAY);
}
static int64_t backoff_cap(const scw_sched_config_t *c) {
  return c->backoff_max > 0 ? min64(c->backoff_max, interval(c)) : interval(c);
}
static int64_t jitter_pct(const scw_sched_config_t *c) {
  return c->jitter_pct < 0 ? 0 : min64(or_default(c->jitter_pct, SCW_SCHED_JITTER_PCT), 50);
}

void scw_sched_config_default(scw_sched_config_t *cfg, int64_t refresh_interval) {
  *cfg = (scw_sched_config_t){
      .refresh_interval = refresh_interval,
      .settle = SCW_SCHED_SETTLE,
      .final_grace = SCW_SCHED_FINAL_GRACE,
      .closing_fast = SCW_SCHED_CLOSING_FAST,
      .closing_slow = SCW_SCHED_CLOSING_SLOW,
      .startup_spread = SCW_SCHED_STARTUP_SPREAD,
      .new_month_delay = SCW_SCHED_NEW_MONTH_DELAY,
      .backoff_min = SCW_SCHED_BACKOFF_MIN,
      .backoff_max = 0,
      .retry_after_max = SCW_SCHED_RETRY_AFTER_MAX,
      .jitter_pct = SCW_SCHED_JITTER_PCT,
  };
}

/* ---- randomness and calendar ---- */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double to_unit(uint64_t x) { return (double)(x >> 11) * 0x1.0p-53; }

static double uniform(scw_sched_state_t *st) { return to_unit(splitmix64(&st->rng)); }

static int64_t month_of(int64_t t) {
  scw_window_t w;
  scw_month_window(t, &w);
  return w.start;
}

/* ---- delays ---- */

/* base +- jitter_pct %, at least 1 s. */
static int64_t jittered(const scw_sched_config_t *c, int64_t base, double u) {
  double j = (2.0 * u - 1.0) * (double)base * (double)jitter_pct(c) / 100.0;
  return max64(base + (int64_t)j, 1);
}

/* base(k) = 30 s * 2^(k-1) capped at `cap`; base(0) is half the first. */
static int64_t backoff_base(const scw_sched_config_t *c, int64_t k, int64_t cap) {
  int64_t first = or_default(c->backoff_min, SCW_SCHED_BACKOFF_MIN);
  if (k <= 0)
    return min64(max64(first / 2, 1), cap);
  int64_t v = min64(first, cap);
  for (int64_t i = 1; i < k && v < cap; i++)
    v = min64(v * 2, cap);
  return v;
}

/* Back-off step n >= 1: in [base(n-1), base(n)]. */
static int64_t backoff(const scw_sched_config_t *c, int64_t n, int64_t cap,
                       double u) {
  int64_t lo = backoff_base(c, n - 1, cap), hi = backoff_base(c, n, cap);
  return lo + (int64_t)(u * (double)(hi - lo));
}

int64_t scw_sched_failure_attempts(const scw_sched_config_t *cfg, int64_t span,
                                   double u) {
  int64_t walks = 0;
  for (int64_t t = 0, n = 1; t < span; n++, walks++)
    t += backoff(cfg, n, backoff_cap(cfg), u);
  return walks;
}

/* ---- closing month ---- */

static int64_t closing_end(const scw_sched_state_t *st) { return st->month; }
static int64_t closing_start(const scw_sched_state_t *st) {
  return month_of(st->month - 1);
}
static int64_t closing_deadline(const scw_sched_state_t *st,
                                const scw_sched_config_t *c) {
  return closing_end(st) + settle(c) + grace(c);
}
/* Cadence of the closing walk at now: also the cap of its back-off. */
static int64_t closing_cadence(const scw_sched_state_t *st,
                               const scw_sched_config_t *c, int64_t now) {
  int64_t fast = c->closing_fast > 0 ? c->closing_fast : SCW_SCHED_CLOSING_FAST;
  if (now < closing_end(st) + fast)
    return interval(c);
  return max64(interval(c), or_default(c->closing_slow, SCW_SCHED_CLOSING_SLOW));
}
/* A walked month is never scheduled past its deadline: there it turns
 * final. One never walked is not final there, so its failed walks keep
 * backing off at the cadence: bound by a deadline already past (a start on
 * the 20th), due would lie in the past, the walk would come at every
 * back-off step and win every tie with the current month. */
static void set_closing_due(scw_sched_state_t *st, const scw_sched_config_t *c,
                            int64_t now, int64_t due) {
  /* One walk at settle end, but not right after another one. */
  int64_t settle_walk = closing_end(st) + settle(c) + st->slot;
  if (now < settle_walk)
    due = min64(due, max64(settle_walk, now + interval(c)));
  if (st->closing_walks > 0 && now < closing_deadline(st, c))
    due = min64(due, closing_deadline(st, c));
  st->closing_due = due;
}

/* Brings the state to the month of now: the current month becomes the
 * closing one, the new month starts empty. A clock that steps back across
 * midnight keeps the later month until it catches up. */
static void advance(scw_sched_state_t *st, const scw_sched_config_t *c,
                    int64_t now) {
  int64_t m = month_of(now);
  if (m > st->month) {
    st->month = m;
    /* Provisional even long after month end (a fresh start on the 20th):
     * the previous month is published all month, so it is walked once. */
    st->closing = SCW_CLOSING_PROVISIONAL;
    st->closing_due = m + st->slot;
    st->closing_walks = st->closing_same = st->closing_failures = 0;
    st->closing_fp = 0;
    st->current_due = m + new_month_delay(c) + st->slot;
    st->current_walks = st->current_failures = 0;
  }
  if (st->closing == SCW_CLOSING_PROVISIONAL && now >= closing_deadline(st, c) &&
      st->closing_walks > 0)
    st->closing = SCW_CLOSING_FINAL;
}

/* ---- lifecycle ---- */

static int64_t slot_of(const scw_sched_config_t *c, unsigned org_index,
                       uint64_t seed) {
  /* Golden-ratio (Weyl) sequence: any prefix of it is spread evenly, so
   * the slots suit 1 or 300 organizations alike; the seed rotates it. */
  uint64_t s = seed;
  double x = to_unit(splitmix64(&s)) + 0.6180339887498949 * (double)org_index;
  x -= (double)(int64_t)x;
  return (int64_t)(x * (double)spread(c));
}

void scw_sched_init(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                    int64_t now, unsigned org_index, uint64_t seed) {
  *st = (scw_sched_state_t){0};
  st->slot = slot_of(cfg, org_index, seed);
  st->rng = seed ^ ((uint64_t)org_index + 1) * UINT64_C(0xd1b54a32d192ed03);
  if (st->rng == 0)
    st->rng = 1;
  st->month = month_of(month_of(now) - 1); /* so advance() sets everything up */
  advance(st, cfg, now);
  st->current_due = max64(now, st->month + new_month_delay(cfg)) + st->slot;
  st->closing_due = now + st->slot;
}

/* A counter read back from disk: small enough never to overflow. */
static int count_ok(int64_t v) { return v >= 0 && v < (INT64_C(1) << 40); }

int scw_sched_restore(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                      int64_t now, unsigned org_index, uint64_t seed) {
  int ok = st->month >= 0 && st->month <= now &&
           st->month == month_of(st->month) &&
           st->closing >= SCW_CLOSING_NONE && st->closing <= SCW_CLOSING_FINAL &&
           count_ok(st->current_walks) && count_ok(st->current_failures) &&
           count_ok(st->closing_walks) && count_ok(st->closing_same) &&
           count_ok(st->closing_failures) && count_ok(st->streak) && st->rng != 0;
  if (!ok) {
    scw_sched_init(st, cfg, now, org_index, seed);
    return -1;
  }
  /* The window shrinks with a shorter interval: pick a slot again. */
  if (st->slot < 0 || st->slot >= max64(spread(cfg), 1))
    st->slot = slot_of(cfg, org_index, seed);
  /* Snapshot generations restart with the process. */
  st->kicked = 0;
  st->kicked_generation = 0;
  advance(st, cfg, now);
  /* NONE (an earlier build's start after settle end) would hide the
   * previous month until the next one: walk it once, as a fresh start. */
  if (st->closing == SCW_CLOSING_NONE) {
    st->closing = SCW_CLOSING_PROVISIONAL;
    st->closing_due = now + st->slot;
    st->closing_walks = st->closing_same = st->closing_failures = 0;
    st->closing_fp = 0;
  }
  /* A clock that went back must not park the organization for long. */
  int64_t iv = interval(cfg);
  int64_t slow = max64(iv, or_default(cfg->closing_slow, SCW_SCHED_CLOSING_SLOW));
  int64_t ra = or_default(cfg->retry_after_max, SCW_SCHED_RETRY_AFTER_MAX);
  st->current_due = min64(st->current_due, now + 2 * iv + new_month_delay(cfg) + spread(cfg));
  st->closing_due = min64(st->closing_due, now + 2 * slow + spread(cfg));
  st->retry_not_before = min64(st->retry_not_before, now + ra + ra / 10 + 1);
  /* Overdue walks: at this organization's slot, not all at now. */
  if (st->current_due < now)
    st->current_due = now + st->slot;
  if (st->closing_due < now)
    st->closing_due = now + st->slot;
  return 0;
}

/* ---- decisions ---- */

void scw_sched_next(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                    int64_t now, scw_sched_action_t *act) {
  advance(st, cfg, now);
  int open = st->closing == SCW_CLOSING_PROVISIONAL;
  int64_t cur = max64(st->current_due, st->retry_not_before);
  int64_t clo = max64(st->closing_due, st->retry_not_before);
  int cur_ready = cur <= now;
  int clo_ready = open && clo <= now;
  if (cur_ready && (!clo_ready || st->current_due <= st->closing_due)) {
    *act = (scw_sched_action_t){SCW_SCHED_REFRESH_CURRENT, now, st->month, now};
    return;
  }
  if (clo_ready) {
    *act = (scw_sched_action_t){SCW_SCHED_REFRESH_CLOSING, now,
                                closing_start(st), closing_end(st)};
    return;
  }
  /* The next month's closing walk comes at its midnight + slot. */
  int64_t wake = min64(cur, scw_next_month_start(st->month) + st->slot);
  if (open) {
    wake = min64(wake, clo);
    /* At the deadline a walked month turns final (advance()); one never
     * walked (a start long after month end) waits for its walk. */
    if (st->closing_walks > 0 && closing_deadline(st, cfg) > now)
      wake = min64(wake, closing_deadline(st, cfg));
  }
  *act = (scw_sched_action_t){SCW_SCHED_SLEEP, wake, 0, 0};
}

void scw_sched_on_success(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                          int64_t now, const scw_sched_action_t *done,
                          uint64_t fingerprint) {
  advance(st, cfg, now);
  if (done->kind == SCW_SCHED_SLEEP)
    return;
  st->streak = 0;
  if (done->kind == SCW_SCHED_REFRESH_CURRENT && done->period_start == st->month) {
    st->current_walks++;
    st->current_failures = 0;
    st->current_due = now + jittered(cfg, interval(cfg), uniform(st));
    return;
  }
  if (done->kind != SCW_SCHED_REFRESH_CLOSING ||
      st->closing != SCW_CLOSING_PROVISIONAL ||
      done->period_start != closing_start(st))
    return; /* e.g. a current walk that ended after midnight */
  st->closing_same = st->closing_walks > 0 && fingerprint == st->closing_fp
                         ? st->closing_same + 1 : 1;
  st->closing_walks++;
  st->closing_fp = fingerprint;
  st->closing_failures = 0;
  if (now >= closing_deadline(st, cfg) ||
      (now >= closing_end(st) + settle(cfg) && st->closing_same >= 2)) {
    st->closing = SCW_CLOSING_FINAL;
    return;
  }
  set_closing_due(st, cfg, now,
                  now + jittered(cfg, closing_cadence(st, cfg, now), uniform(st)));
}

void scw_sched_on_failure(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                          int64_t now, const scw_sched_action_t *done,
                          int64_t retry_after) {
  advance(st, cfg, now);
  if (done->kind == SCW_SCHED_SLEEP)
    return;
  /* One draw for both delays: a lone walk follows the documented sequence
   * exactly (scw_sched_failure_attempts). */
  double u = uniform(st);
  st->streak++;
  int64_t gate = now + backoff(cfg, st->streak, backoff_cap(cfg), u);
  if (retry_after >= 0) {
    int64_t ra = min64(retry_after,
                       or_default(cfg->retry_after_max, SCW_SCHED_RETRY_AFTER_MAX));
    gate = max64(gate, now + ra + (int64_t)(uniform(st) * (double)(ra / 10)));
  }
  st->retry_not_before = max64(st->retry_not_before, gate);
  if (done->kind == SCW_SCHED_REFRESH_CURRENT && done->period_start == st->month) {
    st->current_failures++;
    st->current_due = now + backoff(cfg, st->current_failures, backoff_cap(cfg), u);
  } else if (done->kind == SCW_SCHED_REFRESH_CLOSING &&
             st->closing == SCW_CLOSING_PROVISIONAL &&
             done->period_start == closing_start(st)) {
    st->closing_failures++;
    set_closing_due(st, cfg, now,
                    now + backoff(cfg, st->closing_failures,
                                  closing_cadence(st, cfg, now), u));
  }
}

int scw_sched_on_kick(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                      int64_t now, uint64_t generation) {
  advance(st, cfg, now);
  /* retry_not_before covers both the back-off and Retry-After. */
  if ((st->kicked && st->kicked_generation == generation) ||
      now < st->retry_not_before ||
      (st->current_walks == 0 &&
       now < st->month + new_month_delay(cfg) + st->slot))
    return 0;
  st->kicked = 1;
  st->kicked_generation = generation;
  st->current_due = min64(st->current_due, now);
  return 1;
}

/* ---- queries ---- */

int64_t scw_sched_current_period(int64_t now) { return month_of(now); }

scw_closing_t scw_sched_closing(const scw_sched_state_t *st,
                                const scw_sched_config_t *cfg, int64_t now,
                                int64_t *period_start) {
  scw_sched_state_t s = *st;
  advance(&s, cfg, now);
  scw_closing_t status = (scw_closing_t)s.closing;
  if (period_start != NULL)
    *period_start = status == SCW_CLOSING_NONE ? 0 : closing_start(&s);
  return status;
}

int scw_sched_publish_empty(const scw_sched_state_t *st,
                            const scw_sched_config_t *cfg, int64_t now) {
  scw_sched_state_t s = *st;
  advance(&s, cfg, now);
  return s.current_walks == 0 &&
         now - s.month < SCW_SCHED_STALE_INTERVALS * interval(cfg);
}
