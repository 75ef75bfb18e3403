/* SPDX-License-Identifier: MIT */
/* refresh.c - a full refresh through libcurl: scw_refresh_run with
 * scw_http_fetch, against the local nginx that serves the pages.
 *
 *   bench_refresh BASE_URL sku|resource [SUMS_OUT]
 *
 * BASE_URL is what the URL option would be (e.g. http://127.0.0.1:PORT/1m):
 * scw_query_url appends /billing/v2beta1/charges?organization_id=...&
 * page_token=page-000N, which nginx maps to the page file. The fetch function
 * is scw_http_fetch behind a thin wrapper that only samples the peak RSS
 * after the first page and after ten pages (to see whether memory grows
 * with the number of pages). */
#include <curl/curl.h>
#include <inttypes.h>

#include "common.h"
#include "scw_http.h"
#include "scw_refresh.h"
#include "sums.h"

typedef struct {
  scw_http_t *http;
  unsigned calls;
  long rss_after_1, rss_after_10; /* peak RSS (kB) when page 2 / 11 is asked */
} fetch_ctx_t;

static scw_rc_t sampling_fetch(void *ctx, const char *url,
                               scw_http_response_t *resp, scw_error_t *err) {
  fetch_ctx_t *f = ctx;
  if (++f->calls == 2)
    f->rss_after_1 = bench_maxrss_kb();
  else if (f->calls == 11)
    f->rss_after_10 = bench_maxrss_kb();
  return scw_http_fetch(f->http, url, resp, err);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_refresh BASE_URL sku|resource [SUMS_OUT]\n");
    return 2;
  }
  scw_group_by_t gb;
  if (scw_group_by_parse(argv[2], &gb) != 0)
    die("group by");
  curl_global_init(CURL_GLOBAL_DEFAULT); /* as the plugin does at init */
  scw_error_t err = {0};
  scw_http_config_t hc = {
      .secret_key = "00000000-0000-0000-0000-000000000000",
      .timeout_ms = 60000,
      .verify_peer = 1,
      .verify_host = 1,
      .max_response = 64u << 20,
  };
  fetch_ctx_t f = {0};
  f.http = scw_http_new(&hc, &err);
  if (f.http == NULL) {
    fprintf(stderr, "bench_refresh: %s\n", err.msg);
    return 1;
  }
  scw_query_t q = {
      .base_url = argv[1],
      .organization_id = "5e41ab08-7439-411e-97b2-fbe03135f56f",
      .page_size = 1000,
  };
  scw_refresh_params_t p = {
      .query = &q,
      .group_by = gb,
      .label_mode = SCW_LABEL_NAME,
      .currency = "EUR",
      .max_pages = 10000,
  };
  scw_refresh_stats_t stats = {0};
  scw_snapshot_t *snap = NULL;
  bench_timer_t t;
  bench_start(&t);
  scw_rc_t rc = scw_refresh_run(&p, (int64_t)1795910400 /* 2026-11-29 */,
                                sampling_fetch, &f, &snap, &stats, &err);
  bench_stop(&t);
  if (rc != SCW_OK) {
    fprintf(stderr, "bench_refresh: %s\n", err.msg);
    return 1;
  }
  printf("RESULT wall=%.6f cpu=%.6f charges=%zu pages=%u requests=%u bytes=%" PRIu64
         " groups=%zu projects=%zu total_nanos=%" PRId64
         " rss_after_1_kb=%ld rss_after_10_kb=%ld rss_kb=%ld\n",
         t.wall, t.cpu, snap->charges, stats.pages, stats.requests, stats.bytes,
         snap->n_series, snap->agg->n_projects, snap->total_nanos,
         f.rss_after_1, f.rss_after_10, bench_maxrss_kb());
  write_sku_sums(snap, argc > 3 ? argv[3] : NULL);
  scw_snapshot_release(snap);
  scw_http_free(f.http);
  return 0;
}
