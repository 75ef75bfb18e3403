/* SPDX-License-Identifier: MIT */
/* scw_refresh.h - one all-or-nothing refresh: walk every page of the
 * month-to-date window, aggregate, name, and return a snapshot.
 *
 * The HTTP transport is a function pointer, so this module knows neither
 * curl nor collectd and is tested with a fake fetcher. Any failure (transport,
 * non-200, malformed page, repeated token, too many pages) discards the
 * partial aggregate: a refresh yields a complete snapshot or nothing. */
#ifndef SCW_REFRESH_H
#define SCW_REFRESH_H

#include <stdint.h>

#include "scw_agg.h"
#include "scw_error.h"
#include "scw_query.h"
#include "scw_snapshot.h"

typedef struct {
  long status;        /* HTTP status; 0 when the transport gave none */
  const char *body;   /* owned by the fetcher, valid until its next call */
  size_t len;
  char request_id[96]; /* X-Request-Id, for support tickets; "" if none */
  char retry_after[64];/* Retry-After header verbatim; "" if none */
  char content_type[64];/* Content-Type header, for errors; "" if none */
} scw_http_response_t;

/* Performs one GET. Returns SCW_OK when an HTTP answer (any status) arrived;
 * a transport failure returns an error and fills err. */
typedef scw_rc_t (*scw_fetch_fn)(void *ctx, const char *url,
                                 scw_http_response_t *resp, scw_error_t *err);

/* Time for retries, injected so tests run without waiting. NULL members (or
 * a NULL clock) mean the real monotonic clock, nanosleep and rand(). */
typedef struct {
  double (*now)(void *ctx);                /* monotonic seconds */
  int (*sleep)(void *ctx, double seconds); /* non-zero: cancelled */
  double (*random)(void *ctx);             /* uniform in [0, 1) */
  void *ctx;
} scw_clock_t;

typedef struct {
  const scw_query_t *query;
  scw_group_by_t group_by;
  scw_label_mode_t label_mode;
  const char *currency;
  unsigned max_pages;
  size_t max_charges;        /* 0: no limit */
  /* A page that fails with 429, 5xx, a transport error or an unreadable body
   * is fetched again, at most max_retries times, after a back-off (429:
   * Retry-After, else the body's reset_seconds, else exponential with
   * jitter). 400/401/403/404 are never retried. */
  unsigned max_retries;
  double deadline;           /* seconds for the whole refresh; 0: none */
  const scw_clock_t *clock;
  /* The names given so far in the billing period (scw_snapshot_names() of
   * the snapshot currently published, or a table loaded from disk), or NULL.
   * Honoured only when its period is the refresh's (the month containing
   * `now`) and its GroupBy and label mode match; then groups keep their
   * identifiers and only new ones are suffixed on a clash. Only read, and
   * only during scw_refresh_run: the caller keeps it alive until then. */
  const scw_names_t *previous_names;
} scw_refresh_params_t;

typedef struct {
  unsigned requests; /* HTTP requests sent, including failed ones */
  uint64_t bytes;    /* response bytes received */
  unsigned pages;    /* pages parsed */
  unsigned retries;  /* requests repeated after a retryable failure */
  unsigned throttled;/* answers with HTTP 429 */
  long last_status;  /* status of the last answer, 0 if none */
  char request_id[96];/* X-Request-Id of the last answer */
} scw_refresh_stats_t;

/* Seconds to wait before retry number `retry` (1-based) of a failed
 * request: 429 honours Retry-After (delta seconds or an HTTP date, relative
 * to now_unix) then the body's reset_seconds; otherwise 1 s doubling, capped
 * at 60 s, with jitter in [50%, 100%]. */
double scw_retry_delay(unsigned retry, const scw_http_response_t *resp,
                       int64_t now_unix, double jitter);

/* Runs a refresh for the month containing `now` (Unix seconds). On success
 * *out is a new snapshot with period, window and charges filled in. */
scw_rc_t scw_refresh_run(const scw_refresh_params_t *params, int64_t now,
                         scw_fetch_fn fetch, void *fetch_ctx,
                         scw_snapshot_t **out, scw_refresh_stats_t *stats,
                         scw_error_t *err);

#endif
