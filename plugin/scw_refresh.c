/* SPDX-License-Identifier: MIT */
/* scw_refresh.c - the page loop; see scw_refresh.h. */
#include "scw_refresh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scw_apierror.h"
#include "scw_charge.h"

/* Every token seen in this walk: a token that comes back would loop. */
typedef struct {
  char **tokens;
  size_t n;
} seen_t;

static int seen_has(const seen_t *s, const char *token) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->tokens[i], token) == 0)
      return 1;
  return 0;
}

static int seen_add(seen_t *s, char *token) {
  char **bigger = realloc(s->tokens, (s->n + 1) * sizeof(*bigger));
  if (bigger == NULL)
    return -1;
  s->tokens = bigger;
  s->tokens[s->n++] = token;
  return 0;
}

static void seen_free(seen_t *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->tokens[i]);
  free(s->tokens);
}

/* ---- time, real or injected ---- */

static int real_sleep(void *ctx, double seconds) {
  (void)ctx;
  struct timespec ts = {.tv_sec = (time_t)seconds};
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
  return 0;
}

static double real_random(void *ctx) {
  (void)ctx;
  return (double)rand() / ((double)RAND_MAX + 1.0);
}

static double clock_now(const scw_clock_t *c) {
  return c && c->now ? c->now(c->ctx) : scw_monotonic_now();
}
static int clock_sleep(const scw_clock_t *c, double s) {
  return c && c->sleep ? c->sleep(c->ctx, s) : real_sleep(NULL, s);
}
static double clock_random(const scw_clock_t *c) {
  return c && c->random ? c->random(c->ctx) : real_random(NULL);
}

#define MAX_BACKOFF 60.0
#define MAX_RETRY_AFTER 3600.0

/* Seconds a 429 asks to wait: Retry-After (delta seconds or an HTTP date),
 * else the body's reset_seconds; -1 when it says nothing (or not a 429). */
static double throttle_hint(const scw_http_response_t *resp, int64_t now_unix) {
  if (resp == NULL || resp->status != 429)
    return -1;
  double seconds = -1;
  int64_t at;
  char *end;
  if (resp->retry_after[0] != '\0') {
    long v = strtol(resp->retry_after, &end, 10);
    if (*end == '\0' && v >= 0)
      seconds = (double)v;
    else if (scw_http_date_parse(resp->retry_after, &at, NULL) == SCW_OK)
      seconds = at > now_unix ? (double)(at - now_unix) : 0;
  }
  if (seconds < 0 &&
      scw_api_error_reset_seconds(resp->body, resp->len, &seconds) != 0)
    seconds = -1;
  return seconds;
}

double scw_retry_delay(unsigned retry, const scw_http_response_t *resp,
                       int64_t now_unix, double jitter) {
  double seconds = throttle_hint(resp, now_unix);
  if (seconds >= 0)
    return seconds < MAX_RETRY_AFTER ? seconds : MAX_RETRY_AFTER;
  double base = 1.0;
  for (unsigned i = 1; i < retry && base < MAX_BACKOFF; i++)
    base *= 2;
  if (base > MAX_BACKOFF)
    base = MAX_BACKOFF;
  return base * (0.5 + 0.5 * jitter);
}

static int retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

/* Says what came instead of JSON: status, Content-Type and the first
 * printable bytes (a proxy's HTML page names itself there). */
static void describe_body(const scw_http_response_t *resp, scw_error_t *err) {
  char start[65];
  size_t n = 0;
  for (size_t i = 0; i < resp->len && n < sizeof(start) - 1; i++) {
    unsigned char ch = (unsigned char)resp->body[i];
    if (ch >= 0x20 && ch < 0x7f)
      start[n++] = (char)ch;
    else if (n > 0 && start[n - 1] != ' ')
      start[n++] = ' '; /* newlines, tabs, UTF-8: one space */
  }
  start[n] = '\0';
  char type[sizeof(resp->content_type)];
  scw_log_safe(resp->content_type, type, sizeof(type));
  scw_error_prefix(err, "HTTP %ld, Content-Type \"%s\", %zu bytes starting "
                   "\"%s\"", resp->status, type[0] ? type : "none",
                   resp->streamed ? resp->streamed : resp->len, start);
}

static void feed_parser(void *parser, const char *data, size_t len) {
  scw_page_feed(parser, data, len);
}

/* One attempt at a page: fetch, check the status, parse into agg. The body
 * is parsed as it arrives when the fetcher streams it, so charges reach agg
 * before the page is known to be whole: a failed attempt takes them back
 * (scw_agg_undo). *retry tells whether the failure may be retried. */
static scw_rc_t try_page(const scw_refresh_params_t *p, const char *url,
                         scw_fetch_fn fetch, void *ctx, scw_page_parser_t *parser,
                         scw_agg_t *agg, char **next, scw_http_response_t *resp,
                         scw_refresh_stats_t *stats, int *retry,
                         scw_error_t *err) {
  memset(resp, 0, sizeof(*resp));
  resp->sink = feed_parser;
  resp->sink_ctx = parser;
  stats->requests++;
  scw_agg_mark(agg);
  scw_page_begin(parser, scw_agg_add, agg);
  scw_rc_t rc = fetch(ctx, url, resp, err);
  stats->bytes += resp->streamed ? resp->streamed : resp->len;
  stats->last_status = resp->status;
  if (resp->status == 429) {
    stats->throttled++;
    double hint = throttle_hint(resp, (int64_t)time(NULL));
    stats->retry_after = hint >= 0 ? (int64_t)hint : -1;
  }
  memcpy(stats->request_id, resp->request_id, sizeof(stats->request_id));
  if (rc != SCW_OK) {
    *retry = rc == SCW_ERR_TRANSPORT;
  } else if (resp->status != 200) {
    char what[SCW_ERRMSG_SIZE];
    scw_api_error_describe(resp->status, resp->body, resp->len,
                           p->query->organization_id, what, sizeof(what));
    *retry = retryable_status(resp->status);
    rc = scw_fail(err, SCW_ERR_HTTP, "%s", what);
  } else {
    if (resp->streamed == 0)
      scw_page_feed(parser, resp->body, resp->len);
    size_t n = 0;
    rc = scw_page_end(parser, next, &n, err);
    /* A body that is not JSON (truncated by a proxy, an HTML error page):
     * fetch it again. Valid JSON of the wrong shape would fail the same way
     * again. */
    *retry = rc == SCW_ERR_NOT_JSON;
    if (rc == SCW_ERR_NOT_JSON)
      describe_body(resp, err);
  }
  if (rc == SCW_OK) {
    stats->pages++;
    if (p->max_charges > 0 && agg->charges + agg->skipped > p->max_charges)
      rc = scw_fail(err, SCW_ERR_LIMIT,
                    "more than MaxCharges (%zu) charges; raise it or narrow "
                    "the filters", p->max_charges);
  }
  if (rc != SCW_OK) { /* the caller only takes a token from a good page */
    free(*next);
    *next = NULL;
    scw_agg_undo(agg); /* never counted twice if fetched again */
  }
  return rc;
}

/* Fetches and parses one page into agg, retrying what can be retried within
 * max_retries and the refresh deadline. *next is the next token or NULL. */
static scw_rc_t run_page(const scw_refresh_params_t *p, const scw_window_t *w,
                         const char *token, scw_fetch_fn fetch, void *ctx,
                         scw_page_parser_t *parser, scw_agg_t *agg, char **next,
                         double deadline, scw_refresh_stats_t *stats,
                         scw_error_t *err) {
  char *url = scw_query_url(p->query, w, token);
  if (url == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "building the request URL");
  scw_rc_t rc;
  for (unsigned attempt = 0;; attempt++) {
    scw_http_response_t resp;
    int retry = 0;
    rc = try_page(p, url, fetch, ctx, parser, agg, next, &resp, stats, &retry,
                  err);
    if (rc == SCW_OK || !retry)
      break;
    if (attempt >= p->max_retries) {
      if (p->max_retries > 0)
        scw_error_prefix(err, "after %u retries", p->max_retries);
      break;
    }
    double delay = scw_retry_delay(attempt + 1, &resp, (int64_t)time(NULL),
                                   clock_random(p->clock));
    if (deadline > 0 && clock_now(p->clock) + delay > deadline) {
      scw_error_prefix(err, "giving up: a retry in %.0f s would pass "
                            "RefreshTimeout", delay);
      break;
    }
    if (clock_sleep(p->clock, delay) != 0) {
      rc = scw_fail(err, SCW_ERR_CANCELLED, "cancelled while backing off");
      break;
    }
    stats->retries++;
  }
  free(url);
  return rc;
}

/* Walks all pages once. Returns SCW_ERR_HTTP with *stale_token set when the
 * API rejected a page token (it may have expired: the caller restarts). */
static scw_rc_t walk(const scw_refresh_params_t *p, const scw_window_t *w,
                     scw_fetch_fn fetch, void *ctx, scw_page_parser_t *parser,
                     scw_agg_t *agg, double deadline, scw_refresh_stats_t *stats,
                     int *stale_token, scw_error_t *err) {
  seen_t seen = {0};
  const char *token = NULL;
  scw_rc_t rc = SCW_OK;
  *stale_token = 0;
  for (unsigned page = 1;; page++) {
    if (page > p->max_pages) {
      rc = scw_fail(err, SCW_ERR_PAGINATION,
                    "more than MaxPages (%u) pages; raise MaxPages or narrow "
                    "the filters", p->max_pages);
      break;
    }
    char *next = NULL;
    if (deadline > 0 && clock_now(p->clock) > deadline) {
      rc = scw_fail(err, SCW_ERR_LIMIT,
                    "page %u: the refresh took longer than RefreshTimeout", page);
      break;
    }
    rc = run_page(p, w, token, fetch, ctx, parser, agg, &next, deadline, stats,
                  err);
    if (rc != SCW_OK) {
      *stale_token = rc == SCW_ERR_HTTP && token != NULL &&
                     stats->last_status == 400;
      scw_error_prefix(err, "page %u", page);
      break;
    }
    if (next == NULL)
      break;
    if (seen_has(&seen, next)) {
      free(next);
      rc = scw_fail(err, SCW_ERR_PAGINATION,
                    "page %u: the API returned a page token it had already "
                    "returned (pagination loop)", page);
      break;
    }
    if (seen_add(&seen, next) != 0) {
      free(next);
      rc = scw_fail(err, SCW_ERR_NOMEM, "page token list");
      break;
    }
    token = next;
  }
  seen_free(&seen);
  return rc;
}

scw_rc_t scw_refresh_run(const scw_refresh_params_t *p, int64_t now,
                         scw_fetch_fn fetch, void *ctx, scw_snapshot_t **out,
                         scw_refresh_stats_t *stats, scw_error_t *err) {
  scw_window_t w;
  scw_month_window(now, &w);
  return scw_refresh_window(p, &w, fetch, ctx, out, stats, err);
}

scw_rc_t scw_refresh_window(const scw_refresh_params_t *p,
                            const scw_window_t *win, scw_fetch_fn fetch,
                            void *ctx, scw_snapshot_t **out,
                            scw_refresh_stats_t *stats, scw_error_t *err) {
  *out = NULL;
  scw_window_t w = *win;
  double deadline = p->deadline > 0 ? clock_now(p->clock) + p->deadline : 0;
  scw_page_parser_t *parser = scw_page_parser_new();
  if (parser == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "page parser");

  scw_agg_t *agg = NULL;
  scw_rc_t rc = SCW_OK;
  /* A rejected page token may just have expired: restart once from page 1
   * with a fresh aggregate (spec: token lifetime is undocumented). */
  for (int attempt = 0; attempt < 2; attempt++) {
    scw_agg_free(agg);
    agg = scw_agg_new(p->group_by, p->currency);
    if (agg == NULL) {
      rc = scw_fail(err, SCW_ERR_NOMEM, "aggregate");
      break;
    }
    int stale_token;
    rc = walk(p, &w, fetch, ctx, parser, agg, deadline, stats, &stale_token,
              err);
    if (rc == SCW_OK || !stale_token)
      break;
  }
  scw_page_parser_free(parser);
  if (rc != SCW_OK) {
    scw_agg_free(agg);
    return rc;
  }
  scw_snapshot_t *snap;
  /* Names stay stable within the period: the build ignores previous_names
   * of another month (or GroupBy), so a new month starts fresh. */
  rc = scw_snapshot_build_period(agg, p->label_mode, w.period,
                                 p->previous_names, &snap, err);
  if (rc != SCW_OK)
    return rc;
  *out = snap;
  return SCW_OK;
}
