/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_http.c: the libcurl transport against a scripted
 * HTTP server on 127.0.0.1 (one thread, one connection per answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "scw_http.h"

/* ---- the server ---------------------------------------------------------- */

typedef struct {
  const char *head;   /* status line and headers, without the blank line */
  const char *body;
  size_t body_len;    /* bytes of body actually sent */
  size_t piece;       /* sent in writes of this size (0: one write) */
} answer_t;

typedef struct {
  int fd;
  int port;
  answer_t *answers; /* a copy: the test's array is gone when teardown runs */
  size_t n;
  pthread_t thread;
} server_t;

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return; /* the client gave up (a refused body): fine */
    p += w;
    n -= (size_t)w;
  }
}

static void *serve(void *arg) {
  server_t *s = arg;
  for (size_t i = 0; i < s->n; i++) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      return NULL;
    /* A client that stopped reading (a refused body) never blocks us long. */
    struct timeval tv = {.tv_sec = 2};
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[4096];
    size_t got = 0;
    while (got < sizeof(req) - 1) { /* until the end of the request head */
      ssize_t r = recv(c, req + got, sizeof(req) - 1 - got, 0);
      if (r <= 0)
        break;
      got += (size_t)r;
      req[got] = '\0';
      if (strstr(req, "\r\n\r\n") != NULL)
        break;
    }
    const answer_t *a = &s->answers[i];
    char head[512];
    int n = snprintf(head, sizeof(head), "%s\r\nConnection: close\r\n\r\n", a->head);
    send_all(c, head, (size_t)n);
    size_t piece = a->piece ? a->piece : a->body_len;
    for (size_t off = 0; off < a->body_len; off += piece)
      send_all(c, a->body + off, a->body_len - off < piece ? a->body_len - off : piece);
    close(c);
  }
  return NULL;
}

static void server_start(server_t *s, const answer_t *answers, size_t n) {
  memset(s, 0, sizeof(*s));
  s->answers = calloc(n, sizeof(*answers));
  assert_non_null(s->answers);
  memcpy(s->answers, answers, n * sizeof(*answers));
  s->n = n;
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(s->fd, 8), 0);
  socklen_t len = sizeof(a);
  assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
  s->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server_t *s) {
  pthread_join(s->thread, NULL);
  close(s->fd);
  free(s->answers);
}

/* ---- a sink that keeps what it is given ---------------------------------- */

typedef struct {
  char *data;
  size_t len, calls;
  atomic_int *cancel_after_first; /* raised on the first piece, if set */
} sink_t;

static void sink(void *ctx, const char *data, size_t len) {
  sink_t *s = ctx;
  char *bigger = realloc(s->data, s->len + len + 1);
  assert_non_null(bigger);
  s->data = bigger;
  memcpy(s->data + s->len, data, len);
  s->len += len;
  s->data[s->len] = '\0';
  s->calls++;
  if (s->cancel_after_first != NULL)
    atomic_store(s->cancel_after_first, 1);
}

/* ---- fixture ------------------------------------------------------------- */

typedef struct {
  server_t server;
  scw_http_t *http;
  atomic_int cancel;
  scw_http_response_t resp;
  scw_error_t err;
  sink_t sink;
  char *body; /* what the server sends: freed after the server stopped */
  char url[128];
} fx_t;

static void start(fx_t *fx, const answer_t *answers, size_t n, size_t max_response) {
  server_start(&fx->server, answers, n);
  snprintf(fx->url, sizeof(fx->url), "http://127.0.0.1:%d/billing", fx->server.port);
  scw_http_config_t cfg = {
      .secret_key = "00000000-0000-0000-0000-000000000000",
      .timeout_ms = 10000,
      .verify_peer = 1,
      .verify_host = 1,
      .max_response = max_response,
      .cancel = &fx->cancel,
  };
  fx->http = scw_http_new(&cfg, &fx->err);
  assert_non_null(fx->http);
}

static scw_rc_t fetch(fx_t *fx, int with_sink) {
  memset(&fx->resp, 0, sizeof(fx->resp));
  if (with_sink) {
    fx->resp.sink = sink;
    fx->resp.sink_ctx = &fx->sink;
  }
  return scw_http_fetch(fx->http, fx->url, &fx->resp, &fx->err);
}

static int setup(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  if (fx == NULL)
    return -1;
  atomic_init(&fx->cancel, 0);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fx_t *fx = *state;
  scw_http_free(fx->http);
  server_stop(&fx->server);
  free(fx->body);
  free(fx->sink.data);
  free(fx);
  return 0;
}

/* A page of `n` bytes: "{"charges":[],"pad":"xxxx...."}", owned by fx. */
static char *page_of(fx_t *fx, size_t n) {
  char *p = fx->body = malloc(n + 1);
  assert_non_null(p);
  memset(p, 'x', n);
  memcpy(p, "{\"charges\":[],\"pad\":\"", 21);
  memcpy(p + n - 2, "\"}", 2);
  p[n] = '\0';
  return p;
}

#define JSON_200 "HTTP/1.1 200 OK\r\nContent-Type: application/json"

/* ---- tests --------------------------------------------------------------- */

/* A 200 body goes to the sink as it arrives, every byte once and in order;
 * only its first 256 bytes are kept in body. */
static void test_200_streamed(void **state) {
  fx_t *fx = *state;
  char *body = page_of(fx, 300000);
  const answer_t answers[] = {{JSON_200, body, 300000, 7001}};
  start(fx, answers, 1, 1u << 20);
  assert_int_equal(fetch(fx, 1), SCW_OK);
  assert_int_equal(fx->resp.status, 200);
  assert_int_equal(fx->resp.streamed, 300000);
  assert_int_equal(fx->sink.len, 300000);
  assert_memory_equal(fx->sink.data, body, 300000);
  assert_int_equal(fx->resp.len, 256);
  assert_memory_equal(fx->resp.body, body, 256);
  assert_string_equal(fx->resp.content_type, "application/json");
  assert_true(fx->sink.calls >= 1);
}

/* Without a sink the body is kept whole, as before. */
static void test_200_without_sink_kept(void **state) {
  fx_t *fx = *state;
  char *body = page_of(fx, 100000);
  const answer_t answers[] = {{JSON_200, body, 100000, 4096}};
  start(fx, answers, 1, 1u << 20);
  assert_int_equal(fetch(fx, 0), SCW_OK);
  assert_int_equal(fx->resp.streamed, 0);
  assert_int_equal(fx->resp.len, 100000);
  assert_memory_equal(fx->resp.body, body, 100000);
}

/* Any other status keeps its body whole for scw_apierror, sink or not, and
 * its headers are there. */
static void test_error_body_kept_whole(void **state) {
  fx_t *fx = *state;
  static const char body[] =
      "{\"message\":\"quota exceeded\",\"type\":\"throttled\",\"reset_seconds\":3}";
  const answer_t answers[] = {
      {"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
       "Retry-After: 7\r\nX-Request-Id: req-42",
       body, sizeof(body) - 1, 5}};
  start(fx, answers, 1, 1u << 20);
  assert_int_equal(fetch(fx, 1), SCW_OK);
  assert_int_equal(fx->resp.status, 429);
  assert_int_equal(fx->resp.streamed, 0);
  assert_int_equal(fx->sink.len, 0);
  assert_int_equal(fx->resp.len, sizeof(body) - 1);
  assert_memory_equal(fx->resp.body, body, sizeof(body) - 1);
  assert_string_equal(fx->resp.retry_after, "7");
  assert_string_equal(fx->resp.request_id, "req-42");
}

/* MaxResponseSize counts streamed bytes too. */
static void test_max_response_when_streamed(void **state) {
  fx_t *fx = *state;
  char *body = page_of(fx, 50000);
  const answer_t answers[] = {{JSON_200, body, 50000, 1000}};
  start(fx, answers, 1, 20000);
  assert_int_equal(fetch(fx, 1), SCW_ERR_LIMIT);
  assert_non_null(strstr(fx->err.msg, "MaxResponseSize"));
  assert_true(fx->sink.len <= 20000);
}

/* A body cut short of its Content-Length: a transport error after some of
 * it was streamed (the refresh takes those charges back). */
static void test_cut_body_is_transport_error(void **state) {
  fx_t *fx = *state;
  char *body = page_of(fx, 40000);
  const answer_t answers[] = {
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40000",
       body, 30000, 3000}};
  start(fx, answers, 1, 1u << 20);
  assert_int_equal(fetch(fx, 1), SCW_ERR_TRANSPORT);
  assert_int_equal(fx->resp.streamed, 30000);
  assert_int_equal(fx->sink.len, 30000);
}

/* Shutdown while a body flows: the transfer stops at the next piece. */
static void test_cancel_while_streaming(void **state) {
  fx_t *fx = *state;
  char *body = page_of(fx, 2000000);
  const answer_t answers[] = {{JSON_200, body, 2000000, 65536}};
  start(fx, answers, 1, 4u << 20);
  fx->sink.cancel_after_first = &fx->cancel;
  assert_int_equal(fetch(fx, 1), SCW_ERR_CANCELLED);
  assert_true(fx->sink.len < 2000000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      T(test_200_streamed),
      T(test_200_without_sink_kept),
      T(test_error_body_kept_whole),
      T(test_max_response_when_streamed),
      T(test_cut_body_is_transport_error),
      T(test_cancel_while_streaming),
  };
  int rc = cmocka_run_group_tests_name("http", tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
