/* scw_refresh.c - the page loop; see scw_refresh.h. */
#include "scw_refresh.h"

#include <stdlib.h>
#include <string.h>

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

/* Fetches and parses one page into agg; *next is the next token or NULL. */
static scw_rc_t run_page(const scw_refresh_params_t *p, const scw_window_t *w,
                         const char *token, scw_fetch_fn fetch, void *ctx,
                         scw_page_parser_t *parser, scw_agg_t *agg, char **next,
                         scw_refresh_stats_t *stats, scw_error_t *err) {
  char *url = scw_query_url(p->query, w, token);
  if (url == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "building the request URL");
  scw_http_response_t resp = {0};
  stats->requests++;
  scw_rc_t rc = fetch(ctx, url, &resp, err);
  free(url);
  stats->bytes += resp.len;
  stats->last_status = resp.status;
  memcpy(stats->request_id, resp.request_id, sizeof(stats->request_id));
  if (rc != SCW_OK)
    return rc;
  if (resp.status != 200) {
    char what[SCW_ERRMSG_SIZE];
    scw_api_error_describe(resp.status, resp.body, resp.len,
                           p->query->organization_id, what, sizeof(what));
    return scw_fail(err, SCW_ERR_HTTP, "%s", what);
  }
  size_t n;
  rc = scw_page_parse(parser, resp.body, resp.len, scw_agg_add, agg, next, &n,
                      err);
  if (rc == SCW_OK)
    stats->pages++;
  return rc;
}

/* Walks all pages once. Returns SCW_ERR_HTTP with *stale_token set when the
 * API rejected a page token (it may have expired: the caller restarts). */
static scw_rc_t walk(const scw_refresh_params_t *p, const scw_window_t *w,
                     scw_fetch_fn fetch, void *ctx, scw_page_parser_t *parser,
                     scw_agg_t *agg, scw_refresh_stats_t *stats,
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
    rc = run_page(p, w, token, fetch, ctx, parser, agg, &next, stats, err);
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
  *out = NULL;
  scw_window_t w;
  scw_month_window(now, &w);
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
    rc = walk(p, &w, fetch, ctx, parser, agg, stats, &stale_token, err);
    if (rc == SCW_OK || !stale_token)
      break;
  }
  scw_page_parser_free(parser);
  if (rc != SCW_OK) {
    scw_agg_free(agg);
    return rc;
  }
  scw_snapshot_t *snap;
  rc = scw_snapshot_build(agg, p->label_mode, &snap, err);
  if (rc != SCW_OK)
    return rc;
  memcpy(snap->period, w.period, sizeof(snap->period));
  snap->window_start = w.start;
  snap->window_end = w.end;
  *out = snap;
  return SCW_OK;
}
