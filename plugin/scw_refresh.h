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

/* Takes a piece of a response body as it arrives. */
typedef void (*scw_body_sink_fn)(void *sink_ctx, const char *data, size_t len);

typedef struct {
  long status;        /* HTTP status; 0 when the transport gave none */
  const char *body;   /* owned by the fetcher, valid until its next call */
  size_t len;
  /* Set by the caller: a fetcher may hand a 200 body to sink piece by piece
   * as it arrives (the page is parsed while it downloads) instead of keeping
   * it in body. A fetcher that ignores sink (or clears it) keeps it all. */
  scw_body_sink_fn sink;
  void *sink_ctx;
  /* Bytes handed to sink; 0 when the body is in body. When non-zero, body
   * and len hold only the body's first bytes (to describe one that is not
   * JSON). */
  size_t streamed;
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
   * Honoured only when its period is the refresh's and its GroupBy and
   * label mode match; then groups keep their
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
  /* Seconds the last 429 asked to wait (Retry-After, else the body's
   * reset_seconds), for the next refresh's schedule; -1 if none. The caller
   * sets -1 before the refresh. */
  int64_t retry_after;
  long last_status;  /* status of the last answer, 0 if none */
  char request_id[96];/* X-Request-Id of the last answer */
} scw_refresh_stats_t;

/* Seconds to wait before retry number `retry` (1-based) of a failed
 * request: 429 honours Retry-After (delta seconds or an HTTP date, relative
 * to now_unix) then the body's reset_seconds; otherwise 1 s doubling, capped
 * at 60 s, with jitter in [50%, 100%]. */
double scw_retry_delay(unsigned retry, const scw_http_response_t *resp,
                       int64_t now_unix, double jitter);

/* Runs a refresh of window w: [w->start, w->end) of billing period
 * w->period (the month to date, or a closed month's full window). On
 * success *out is a new snapshot with its period and charges filled in. */
scw_rc_t scw_refresh_window(const scw_refresh_params_t *params,
                            const scw_window_t *w, scw_fetch_fn fetch,
                            void *fetch_ctx, scw_snapshot_t **out,
                            scw_refresh_stats_t *stats, scw_error_t *err);

/* scw_refresh_window for the month to date at `now` (Unix seconds). */
scw_rc_t scw_refresh_run(const scw_refresh_params_t *params, int64_t now,
                         scw_fetch_fn fetch, void *fetch_ctx,
                         scw_snapshot_t **out, scw_refresh_stats_t *stats,
                         scw_error_t *err);

#endif
