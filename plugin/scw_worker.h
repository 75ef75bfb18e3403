/* SPDX-License-Identifier: MIT */
/* scw_worker.h - one organization's refresh worker: its schedule, its two
 * snapshots (the current month, and the closing month after midnight UTC),
 * its API accounting and its saved state.
 *
 * The loop body is scw_worker_step(): given `now` and a fetch function it
 * does at most one walk and says when to come back, so tests drive it with a
 * fake clock and a fake API, without threads. scw_worker_start() runs that
 * body in a thread with libcurl and real time; the read callback only takes
 * snapshots and counters from here and never waits for the API.
 *
 * Threads: `lock` guards the schedule and the kick flag, held only for
 * scheduler arithmetic, never during I/O. Slots are handed over by
 * reference (scw_snapshot.h); counters are atomics. */
#ifndef SCW_WORKER_H
#define SCW_WORKER_H

#include <stdint.h>

#include "scw_org.h"
#include "scw_refresh.h"
#include "scw_schedule.h"

typedef struct scw_worker scw_worker_t;

typedef enum { SCW_SLOT_CURRENT, SCW_SLOT_CLOSING } scw_slot_kind_t;

/* The API behind the worker: libcurl in the thread, a fake in tests.
 * set_secret (may be NULL) hands a rotated key to the transport. */
typedef struct {
  scw_fetch_fn fetch;
  void *ctx;
  scw_rc_t (*set_secret)(void *ctx, const char *key, scw_error_t *err);
} scw_worker_io_t;

/* Cumulative since start (DERIVE self-metrics). */
typedef struct {
  uint64_t requests, bytes, pages, retries, throttled, errors;
  uint64_t closing_requests; /* of the requests, for the closing month */
} scw_worker_counts_t;

/* What the reader needs to know at `now`, besides the snapshots. */
typedef struct {
  int publish_empty;     /* the current month has no walk yet: publish 0 */
  scw_closing_t closing; /* status of the previous month */
  char current_period[8];
  char closing_period[8]; /* "" when closing is NONE */
} scw_worker_view_t;

/* cfg must outlive the worker; the worker may replace cfg->secret_key (key
 * rotation). org_index and seed spread organizations (scw_schedule.h). */
scw_worker_t *scw_worker_new(scw_org_config_t *cfg, unsigned org_index,
                             uint64_t seed, int64_t now);
/* Stops and joins the thread if it runs, saves nothing, frees. */
void scw_worker_free(scw_worker_t *w);

/* State file: loaded now (a bad file is ignored with one WARNING), written
 * after every successful walk. Call before scw_worker_start. */
void scw_worker_use_state(scw_worker_t *w, const char *path, int64_t now);

/* Retry back-off inside a walk sleeps through this clock (tests). */
void scw_worker_set_clock(scw_worker_t *w, const scw_clock_t *clock);

/* One turn of the loop at `now`: the walk that is due, if any. Returns when
 * to come back (Unix seconds; <= now when another walk is due at once). */
int64_t scw_worker_step(scw_worker_t *w, int64_t now, const scw_worker_io_t *io);

int scw_worker_start(scw_worker_t *w); /* the thread, with libcurl */
void scw_worker_signal_stop(scw_worker_t *w);
void scw_worker_join(scw_worker_t *w);
int scw_worker_running(const scw_worker_t *w);
int scw_worker_stopping(scw_worker_t *w); /* asked to stop */

/* ---- reader side: never blocks on the API ---- */

/* A reference to the slot's snapshot (NULL if none): release it. */
scw_snapshot_t *scw_worker_acquire(scw_worker_t *w, scw_slot_kind_t which);
/* Hands a snapshot to a slot (the worker's walks, restored state, tests). */
void scw_worker_publish(scw_worker_t *w, scw_slot_kind_t which,
                        scw_snapshot_t *snap);
void scw_worker_view(scw_worker_t *w, int64_t now, scw_worker_view_t *view);
void scw_worker_counts(scw_worker_t *w, scw_worker_counts_t *out);
/* The reader's snapshot is from another month: ask for a walk now. Taken at
 * most once per snapshot generation, never during back-off (scw_schedule).
 * Returns 1 when the worker was woken. */
int scw_worker_kick(scw_worker_t *w, int64_t now, uint64_t generation);

#endif
