/* SPDX-License-Identifier: MIT */
/* scw_http.c - libcurl transport; see scw_http.h. */
#include "scw_http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scw_time.h"

#ifndef SCW_FINOPS_VERSION
#define SCW_FINOPS_VERSION "dev"
#endif

/* What is kept of a streamed body: enough to describe one that is not JSON. */
#define STREAM_HEAD 256

struct scw_http {
  CURL *curl;
  struct curl_slist *headers; /* holds the secret: wiped before freeing */
  const atomic_int *cancel;
  size_t max_response;
  long timeout_ms; /* per request, from the configuration */
  double deadline; /* CLOCK_MONOTONIC seconds, 0 = none */
  char *body;      /* the whole body, or a streamed body's first bytes */
  size_t len, cap;
  size_t total;    /* body bytes received */
  int decided;     /* whether this body streams is known (first byte) */
  int too_large;
  scw_http_response_t *resp; /* the response being filled */
  char errbuf[CURL_ERROR_SIZE];
};

/* Appends data to the body buffer, growing it by doubling (reused across
 * requests: after the first pages it no longer grows). */
static int keep(scw_http_t *h, const char *data, size_t n) {
  if (h->len + n + 1 > h->cap) {
    size_t cap = h->cap ? h->cap : 65536;
    while (cap < h->len + n + 1)
      cap *= 2;
    char *bigger = realloc(h->body, cap);
    if (bigger == NULL)
      return -1;
    h->body = bigger;
    h->cap = cap;
  }
  memcpy(h->body + h->len, data, n);
  h->len += n;
  h->body[h->len] = '\0';
  return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  scw_http_t *h = ud;
  size_t n = size * nmemb;
  if (h->total + n > h->max_response) {
    h->too_large = 1;
    return 0; /* makes libcurl fail with CURLE_WRITE_ERROR */
  }
  if (h->cancel != NULL && atomic_load(h->cancel))
    return 0; /* shutdown: stop at once, as the progress callback would */
  h->total += n;
  scw_http_response_t *resp = h->resp;
  if (!h->decided) {
    /* A 200 page is parsed as it arrives (while the rest downloads, and
     * while these bytes are in cache); any other answer is kept whole for
     * scw_apierror. */
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
      resp->sink = NULL;
    h->decided = 1;
  }
  if (resp->sink == NULL)
    return keep(h, data, n) == 0 ? n : 0;
  if (h->len < STREAM_HEAD &&
      keep(h, data, n < STREAM_HEAD - h->len ? n : STREAM_HEAD - h->len) != 0)
    return 0;
  resp->sink(resp->sink_ctx, data, n);
  resp->streamed += n;
  return n;
}

/* Copies the value of header `name` if line is that header. */
static void take_header(const char *line, size_t n, const char *name,
                        char *dst, size_t size) {
  size_t nl = strlen(name);
  if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return;
  const char *v = line + nl + 1;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t len = (size_t)(end - v) < size - 1 ? (size_t)(end - v) : size - 1;
  memcpy(dst, v, len);
  dst[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud) {
  scw_http_t *h = ud;
  size_t n = size * nmemb;
  take_header(line, n, "X-Request-Id", h->resp->request_id,
              sizeof(h->resp->request_id));
  take_header(line, n, "Retry-After", h->resp->retry_after,
              sizeof(h->resp->retry_after));
  take_header(line, n, "Content-Type", h->resp->content_type,
              sizeof(h->resp->content_type));
  return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  const scw_http_t *h = ud;
  return h->cancel != NULL && atomic_load(h->cancel) ? 1 : 0;
}

static void free_headers(struct curl_slist *headers) {
  for (struct curl_slist *l = headers; l != NULL; l = l->next)
    explicit_bzero(l->data, strlen(l->data));
  curl_slist_free_all(headers);
}

/* The request headers, with the secret; NULL when out of memory. */
static struct curl_slist *make_headers(const char *secret) {
  static const char prefix[] = "X-Auth-Token: ";
  struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
  size_t n = sizeof(prefix) + strlen(secret);
  char *line = malloc(n);
  if (headers == NULL || line == NULL) {
    free(line);
    free_headers(headers);
    return NULL;
  }
  memcpy(line, prefix, sizeof(prefix) - 1);
  memcpy(line + sizeof(prefix) - 1, secret, n - sizeof(prefix) + 1);
  struct curl_slist *l = curl_slist_append(headers, line);
  explicit_bzero(line, n);
  free(line);
  if (l == NULL)
    free_headers(headers);
  return l;
}

scw_rc_t scw_http_set_secret(scw_http_t *h, const char *secret_key,
                             scw_error_t *err) {
  struct curl_slist *headers = make_headers(secret_key);
  if (headers == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "building request headers");
  curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
  free_headers(h->headers);
  h->headers = headers;
  return SCW_OK;
}

scw_http_t *scw_http_new(const scw_http_config_t *cfg, scw_error_t *err) {
  scw_http_t *h = calloc(1, sizeof(*h));
  if (h == NULL || (h->curl = curl_easy_init()) == NULL) {
    free(h);
    scw_fail(err, SCW_ERR_NOMEM, "curl_easy_init failed");
    return NULL;
  }
  h->cancel = cfg->cancel;
  h->max_response = cfg->max_response;
  h->timeout_ms = cfg->timeout_ms;
  h->headers = make_headers(cfg->secret_key);
  if (h->headers == NULL) {
    scw_http_free(h);
    scw_fail(err, SCW_ERR_NOMEM, "building request headers");
    return NULL;
  }
  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM timeouts */
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "collectd-scw_finops/" SCW_FINOPS_VERSION);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip if the API offers it */
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  /* never re-send the key */
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, cfg->verify_peer ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, cfg->verify_host ? 2L : 0L);
  if (cfg->ca_cert != NULL)
    curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_cert);
  if (cfg->proxy != NULL)
    curl_easy_setopt(c, CURLOPT_PROXY, cfg->proxy);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
  /* Fewer, larger reads: pages are ~500 kB, and a piece still fits in cache
   * while it is parsed (bench/: less CPU than the 16 kB default). */
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  /* The progress callback aborts a transfer that waits on a silent server at
   * shutdown; while data flows, on_body checks the flag. */
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
  return h;
}

void scw_http_free(scw_http_t *h) {
  if (h == NULL)
    return;
  if (h->curl != NULL)
    curl_easy_cleanup(h->curl);
  free_headers(h->headers);
  free(h->body);
  free(h);
}

/* "https://host/path" without the query: enough to say where, and short. */
static void url_for_log(const char *url, char *buf, size_t size) {
  size_t n = strcspn(url, "?");
  if (n >= size)
    n = size - 1;
  memcpy(buf, url, n);
  buf[n] = '\0';
}

void scw_http_set_deadline(scw_http_t *h, double deadline) {
  h->deadline = deadline;
}

scw_rc_t scw_http_fetch(void *ctx, const char *url, scw_http_response_t *resp,
                        scw_error_t *err) {
  scw_http_t *h = ctx;
  long timeout_ms = h->timeout_ms;
  if (h->deadline > 0) {
    double left_ms = (h->deadline - scw_monotonic_now()) * 1000.0;
    if (left_ms < 1.0)
      return scw_fail(err, SCW_ERR_LIMIT, "RefreshTimeout reached");
    if (left_ms < (double)timeout_ms)
      timeout_ms = (long)left_ms;
  }
  curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  h->len = 0;
  h->total = 0;
  h->decided = 0;
  h->too_large = 0;
  h->errbuf[0] = '\0';
  h->resp = resp;
  /* The caller's sink survives the reset of everything the fetch fills. */
  scw_body_sink_fn sink = resp->sink;
  void *sink_ctx = resp->sink_ctx;
  memset(resp, 0, sizeof(*resp));
  resp->sink = sink;
  resp->sink_ctx = sink_ctx;
  if (h->body != NULL)
    h->body[0] = '\0';
  curl_easy_setopt(h->curl, CURLOPT_URL, url);
  CURLcode cc = curl_easy_perform(h->curl);
  long status = 0;
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
  resp->status = status;
  resp->body = h->body != NULL ? h->body : "";
  resp->len = h->len;
  h->resp = NULL;
  if (cc == CURLE_OK)
    return SCW_OK;

  char where[256];
  url_for_log(url, where, sizeof(where));
  if (h->cancel != NULL && atomic_load(h->cancel))
    return scw_fail(err, SCW_ERR_CANCELLED, "request cancelled by shutdown");
  if (h->too_large)
    return scw_fail(err, SCW_ERR_LIMIT,
                    "response larger than MaxResponseSize (%zu bytes) from %s",
                    h->max_response, where);
  return scw_fail(err, SCW_ERR_TRANSPORT, "curl error %d: %s (%s)", (int)cc,
                  h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc), where);
}
