/* SPDX-License-Identifier: MIT */
/* scw_schedule.h - when an organization talks to the billing API.
 *
 * A pure scheduler: no curl, no collectd, no clock, no global state. Every
 * function takes `now` (Unix seconds, UTC) and the jitter comes from a PRNG
 * whose state lives in the struct, so a test replays any day, month edge or
 * outage exactly, and the state (plain integers) can be saved and restored.
 *
 * Two walks exist, one at a time (one worker thread per organization):
 *   CURRENT  the month containing now, window [month start, now);
 *   CLOSING  the previous month after midnight UTC, window [its start, its
 *            end): Scaleway posts the last hours' charges late, so the closed
 *            month is walked again until it is final.
 * The worker loops: a = scw_sched_next(); if a.kind is a refresh, walk
 * [a.period_start, a.window_end) and report scw_sched_on_success/failure
 * with `a`; else sleep until a.at or until a kick (scw_sched_on_kick).
 *
 * Rules (defaults in brackets, numbers and reasons in scw_schedule.c):
 *  - success: the same walk again after interval +-10 % [jitter_pct], so
 *    organizations that start together drift apart;
 *  - failure: back-off 30 s doubling up to the interval, "equal jitter"
 *    within each doubling step; a Retry-After (capped at a day) holds every
 *    walk of the organization, since the API limits are per key;
 *  - startup and restore: the first walk comes at now + this organization's
 *    slot in a window of min(interval, 300 s); overdue walks of a restored
 *    state too, so a restart is not a burst;
 *  - new month: 0 is published (scw_sched_publish_empty), the first walk of
 *    the month comes min(interval, 5 s) + slot after midnight (a window that
 *    is not empty; the slot spreads organizations);
 *  - closing month: every interval for 6 h, then every max(interval, 6 h);
 *    one walk at settle end (3 days); final when a walk after settle end
 *    equals the one before (fingerprints), or at the latest at the deadline
 *    (settle end + 2 days) once a walk of it has succeeded: a walk that
 *    succeeds at or after the deadline is final at once. No closing walk
 *    after final; one that keeps failing is retried at most at its cadence,
 *    past the deadline too, until it succeeds;
 *  - fresh start: the previous month is published all month, so it is
 *    always PROVISIONAL at first and walked at now + slot like the current
 *    one (the current month first on a tie); on the 20th that single walk
 *    is final, within the settle period the rules above apply. */
#ifndef SCW_SCHEDULE_H
#define SCW_SCHEDULE_H

#include <stdint.h>

/* Seconds; 0 in any field but refresh_interval means "the default", a
 * negative startup_spread or jitter_pct means none (tests). */
typedef struct {
  int64_t refresh_interval; /* >= 1 (300 at least in production) */
  int64_t settle;           /* closing month walked until end + settle */
  int64_t final_grace;      /* ... and final at the latest end+settle+this */
  int64_t closing_fast;     /* after month end: closing walked every interval */
  int64_t closing_slow;     /* then every max(interval, closing_slow) */
  int64_t startup_spread;   /* slot window, capped at the interval */
  int64_t new_month_delay;  /* first walk of a month, capped at the interval */
  int64_t backoff_min;      /* first back-off step */
  int64_t backoff_max;      /* last back-off step, capped at the interval */
  int64_t retry_after_max;  /* a longer Retry-After is cut to this */
  int64_t jitter_pct;       /* +- percent on a cadence, 0..50 */
} scw_sched_config_t;

#define SCW_SCHED_SETTLE (3 * 86400)
#define SCW_SCHED_FINAL_GRACE (2 * 86400)
#define SCW_SCHED_CLOSING_FAST (6 * 3600)
#define SCW_SCHED_CLOSING_SLOW (6 * 3600)
#define SCW_SCHED_STARTUP_SPREAD 300
#define SCW_SCHED_NEW_MONTH_DELAY 5
#define SCW_SCHED_BACKOFF_MIN 30
#define SCW_SCHED_RETRY_AFTER_MAX 86400
#define SCW_SCHED_JITTER_PCT 10
/* An empty month is a snapshot "as of 00:00:00Z, total 0": like any other
 * snapshot it is published until it is this many intervals old. */
#define SCW_SCHED_STALE_INTERVALS 3

typedef enum {
  SCW_CLOSING_NONE = 0,        /* none: only in states of earlier builds */
  SCW_CLOSING_PROVISIONAL = 1, /* still walked: numbers may change */
  SCW_CLOSING_FINAL = 2,       /* never walked again */
} scw_closing_t;

/* Plain integers only: saved and restored as is (scw_sched_restore). */
typedef struct {
  int64_t month;             /* first second of the current month */
  int64_t slot;              /* offset in [0, spread window) */
  int64_t current_due;       /* next walk of the current month */
  int64_t current_walks;     /* successful walks of the current month */
  int64_t current_failures;  /* consecutive failed walks of it */
  int64_t closing;           /* scw_closing_t of the previous month */
  int64_t closing_due;
  int64_t closing_walks;     /* successful full walks of it */
  int64_t closing_same;      /* consecutive walks with closing_fp, ending now */
  uint64_t closing_fp;       /* fingerprint of its last walk */
  int64_t closing_failures;  /* consecutive failed walks of it */
  int64_t streak;            /* consecutive failed walks, either kind */
  int64_t retry_not_before;  /* no walk before (back-off, Retry-After) */
  int64_t kicked;            /* 1 once a kick was accepted */
  uint64_t kicked_generation;
  uint64_t rng;              /* splitmix64 state, never 0 */
} scw_sched_state_t;

typedef enum {
  SCW_SCHED_SLEEP = 0,
  SCW_SCHED_REFRESH_CURRENT,
  SCW_SCHED_REFRESH_CLOSING,
} scw_sched_kind_t;

typedef struct {
  scw_sched_kind_t kind;
  int64_t at;           /* SLEEP: wake up then; a refresh: now */
  int64_t period_start; /* refresh: month to walk, window start */
  int64_t window_end;   /* refresh: now (current) or the month end (closing) */
} scw_sched_action_t;

/* Defaults above for the given refresh interval. */
void scw_sched_config_default(scw_sched_config_t *cfg, int64_t refresh_interval);

/* Fresh state. org_index (0, 1, 2...) and seed (the same for every
 * organization of a daemon, e.g. time ^ pid) pick the slot: a golden-ratio
 * sequence rotated by the seed, so any number of organizations is evenly
 * spread over the window. The previous month is CLOSING (PROVISIONAL),
 * however long ago it ended: without saved state we have no full walk of
 * it, and it is published all month. */
void scw_sched_init(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                    int64_t now, unsigned org_index, uint64_t seed);

/* Accepts a state saved by an earlier run: catches up with the months that
 * passed, keeps back-off, Retry-After and future due times (clamped if the
 * clock went back), and moves overdue walks to now + slot. A closing month
 * NONE (earlier builds) becomes PROVISIONAL, never walked. Returns 0, or -1
 * when the state was not plausible and was replaced by scw_sched_init. */
int scw_sched_restore(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                      int64_t now, unsigned org_index, uint64_t seed);

/* What to do at now. Priority when both are due: the earlier due time, the
 * current month on a tie. */
void scw_sched_next(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                    int64_t now, scw_sched_action_t *act);

/* Reports the walk `done` (as returned by scw_sched_next), finished at now.
 * fingerprint: any 64-bit hash of the closing snapshot's content (only
 * compared for equality). A walk whose month is no longer current or
 * closing (one that crossed midnight) only resets the failure streak. */
void scw_sched_on_success(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                          int64_t now, const scw_sched_action_t *done,
                          uint64_t fingerprint);
/* retry_after: seconds from the last answer's Retry-After, -1 if none. */
void scw_sched_on_failure(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                          int64_t now, const scw_sched_action_t *done,
                          int64_t retry_after);

/* The reader asks for a current walk now (its snapshot is from another
 * month). Returns 1 when accepted: at most once per snapshot generation,
 * never during a back-off or Retry-After, never before the first walk of a
 * young month (0 is published then). */
int scw_sched_on_kick(scw_sched_state_t *st, const scw_sched_config_t *cfg,
                      int64_t now, uint64_t generation);

/* First second of the current month at now. */
int64_t scw_sched_current_period(int64_t now);

/* Status of the closing month at now; *period_start (may be NULL) is its
 * first second, or 0 when NONE. */
scw_closing_t scw_sched_closing(const scw_sched_state_t *st,
                                const scw_sched_config_t *cfg, int64_t now,
                                int64_t *period_start);

/* 1 when the current month should be published as total 0 without asking
 * the API: no walk of it has succeeded and it is younger than
 * SCW_SCHED_STALE_INTERVALS intervals. */
int scw_sched_publish_empty(const scw_sched_state_t *st,
                            const scw_sched_config_t *cfg, int64_t now);

/* Walks attempted in [0, span) when every walk fails from time 0 on, every
 * jitter draw being u: u = 0 gives the most (shortest delays), u = 1 the
 * fewest. Each walk is 1 request, or 1 + MaxRetries when its first page
 * fails with a retryable error. With two walks active (after midnight or a
 * fresh start, until the closing month is final) they share this budget
 * (the back-off streak is per organization). */
int64_t scw_sched_failure_attempts(const scw_sched_config_t *cfg, int64_t span,
                                   double u);

#endif
