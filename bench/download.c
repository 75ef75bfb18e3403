/* SPDX-License-Identifier: MIT */
/* download.c - plain libcurl download of the same pages, the transport
 * floor of a refresh; optionally with json-c's bare parse of each page.
 *
 *   bench_download BASE_URL N_PAGES [parse|urls|http]
 *
 * Same URLs as a refresh (scw_query_url, token page-000N), one reused easy
 * handle (keep-alive), the same request headers and options as scw_http.c,
 * and the body appended to a reused growing buffer as scw_http.c does; no
 * JSON is looked at unless "parse" is given, in which case every body goes
 * through json_tokener_parse + json_object_put (download + bare parse,
 * sequentially, in one process). "urls" prints the same URLs as a config
 * file for the curl command line tool (curl -K), the other plain download.
 * "http" downloads through the plugin's own transport instead: scw_http_fetch
 * with a sink that only counts the streamed bytes (the plugin's HTTP path
 * without the parse). */
#include <curl/curl.h>
#include <inttypes.h>
#include <json-c/json.h>

#include "common.h"
#include "scw_http.h"
#include "scw_query.h"
#include "scw_time.h"

typedef struct {
  char *body;
  size_t len, cap;
} sink_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  sink_t *s = ud;
  size_t n = size * nmemb;
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 65536;
    while (cap < s->len + n + 1)
      cap *= 2;
    char *b = realloc(s->body, cap);
    if (b == NULL)
      return 0;
    s->body = b;
    s->cap = cap;
  }
  memcpy(s->body + s->len, data, n);
  s->len += n;
  s->body[s->len] = '\0';
  return n;
}

static void count_sink(void *ctx, const char *data, size_t len) {
  (void)data;
  *(uint64_t *)ctx += len;
}

/* The plugin's transport over the same URLs. */
static int run_scw_http(char **urls, unsigned pages) {
  scw_error_t err = {0};
  scw_http_config_t hc = {
      .secret_key = "00000000-0000-0000-0000-000000000000",
      .timeout_ms = 60000,
      .verify_peer = 1,
      .verify_host = 1,
      .max_response = 64u << 20,
  };
  scw_http_t *http = scw_http_new(&hc, &err);
  if (http == NULL) {
    fprintf(stderr, "bench_download: %s\n", err.msg);
    return 1;
  }
  uint64_t bytes = 0;
  bench_timer_t t;
  bench_start(&t);
  for (unsigned p = 0; p < pages; p++) {
    scw_http_response_t resp = {.sink = count_sink, .sink_ctx = &bytes};
    if (scw_http_fetch(http, urls[p], &resp, &err) != SCW_OK || resp.status != 200) {
      fprintf(stderr, "bench_download: %s: %s (HTTP %ld)\n", urls[p], err.msg,
              resp.status);
      return 1;
    }
    bytes += resp.streamed ? 0 : resp.len;
  }
  bench_stop(&t);
  printf("RESULT wall=%.6f cpu=%.6f pages=%u requests=%u bytes=%" PRIu64
         " rss_kb=%ld\n",
         t.wall, t.cpu, pages, pages, bytes, bench_maxrss_kb());
  scw_http_free(http);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_download BASE_URL N_PAGES [parse|urls|http]\n");
    return 2;
  }
  unsigned pages = (unsigned)strtoul(argv[2], NULL, 10);
  int parse = argc > 3 && strcmp(argv[3], "parse") == 0;
  scw_query_t q = {
      .base_url = argv[1],
      .organization_id = "5e41ab08-7439-411e-97b2-fbe03135f56f",
      .page_size = 1000,
  };
  scw_window_t w;
  scw_month_window((int64_t)1795910400, &w);
  char **urls = calloc(pages, sizeof(*urls));
  for (unsigned p = 0; p < pages; p++) {
    char token[32];
    snprintf(token, sizeof(token), "page-%04u", p + 1);
    urls[p] = scw_query_url(&q, &w, p == 0 ? NULL : token);
  }
  if (argc > 3 && strcmp(argv[3], "urls") == 0) { /* a curl -K config */
    for (unsigned p = 0; p < pages; p++)
      printf("url = \"%s\"\noutput = \"/dev/null\"\n", urls[p]);
    return 0;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (argc > 3 && strcmp(argv[3], "http") == 0)
    return run_scw_http(urls, pages);
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
  h = curl_slist_append(h, "X-Auth-Token: 00000000-0000-0000-0000-000000000000");
  sink_t sink = {0};
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "bench-download");
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  uint64_t bytes = 0;
  size_t charges = 0;
  bench_timer_t t;
  bench_start(&t);
  for (unsigned p = 0; p < pages; p++) {
    sink.len = 0;
    curl_easy_setopt(c, CURLOPT_URL, urls[p]);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK || status != 200) {
      fprintf(stderr, "bench_download: %s: curl %d, HTTP %ld\n", urls[p], (int)cc,
              status);
      return 1;
    }
    bytes += sink.len;
    if (parse) {
      json_object *root = json_tokener_parse(sink.body), *arr;
      if (root == NULL || !json_object_object_get_ex(root, "charges", &arr)) {
        fprintf(stderr, "bench_download: page %u is not JSON\n", p + 1);
        return 1;
      }
      charges += json_object_array_length(arr);
      json_object_put(root);
    }
  }
  bench_stop(&t);
  printf("RESULT wall=%.6f cpu=%.6f charges=%zu pages=%u requests=%u bytes=%" PRIu64
         " rss_kb=%ld\n",
         t.wall, t.cpu, charges, pages, pages, bytes, bench_maxrss_kb());
  curl_easy_cleanup(c);
  curl_slist_free_all(h);
  for (unsigned p = 0; p < pages; p++)
    free(urls[p]);
  free(urls);
  free(sink.body);
  curl_global_cleanup();
  return 0;
}
