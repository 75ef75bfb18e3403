/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_refresh.c: the page walk, against a fake fetcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_fetch.h"
#include "scw_refresh.h"

#define ORG "3f0e8c2a-1b4d-4c6e-8f10-a2b3c4d5e6f7"

/* 2026-11-15T08:30:00Z; its month starts 2026-11-01T00:00:00Z. */
#define NOW INT64_C(1794731400)
#define MONTH_START INT64_C(1793491200)

#define CHARGE(pid, pname, sku, price)                                        \
  "{\"project_id\":\"" pid "\",\"project_name\":" pname ",\"sku\":\"" sku     \
  "\",\"resource_id\":\"r\",\"price\":" price ",\"updated_at\":"              \
  "\"2026-11-02T03:12:45.482913Z\"}"
#define EUR(units, nanos)                                                     \
  "{\"currency_code\":\"EUR\",\"units\":" #units ",\"nanos\":" #nanos "}"

/* Three pages, 4 charges, 3 groups (GroupBy sku). */
#define PAGE1                                                                 \
  "{\"charges\":[" CHARGE("p1", "\"prod\"", "/compute/a", EUR(1, 500000000)) \
  "," CHARGE("p1", "\"prod\"", "/storage/b", EUR(0, 250000000))              \
  "],\"next_page_token\":\"tok1\"}"
#define PAGE2                                                                 \
  "{\"charges\":[" CHARGE("p2", "null", "/compute/a", EUR(2, 0))              \
  "],\"next_page_token\":\"tok/2=+\"}"
#define PAGE3                                                                 \
  "{\"charges\":[" CHARGE("p1", "\"prod\"", "/compute/a", EUR(0, 1)) "]}"
#define PAGE3_TOTAL INT64_C(3750000001)

#define ONLY_PAGE                                                             \
  "{\"charges\":[" CHARGE("p1", "\"prod\"", "/compute/a", EUR(3, 7)) "," CHARGE( \
      "p1", "\"prod\"", "/compute/a",                                        \
      "{\"currency_code\":\"USD\",\"units\":100}") "],\"next_page_token\":null}"

#define OK(b) {.status = 200, .body = (b)}

typedef struct {
  scw_query_t query;
  scw_refresh_params_t params;
  fake_fetch_t fake;
  scw_snapshot_t *snap;
  scw_refresh_stats_t stats;
  scw_error_t err;
} fx_t;

static int setup(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  if (fx == NULL)
    return -1;
  fx->query.base_url = "https://api.test/";
  fx->query.organization_id = ORG;
  fx->query.page_size = 2;
  fx->params.query = &fx->query;
  fx->params.group_by = SCW_GROUP_SKU;
  fx->params.label_mode = SCW_LABEL_NAME;
  fx->params.currency = "EUR";
  fx->params.max_pages = 10;
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fx_t *fx = *state;
  scw_snapshot_release(fx->snap);
  fake_fetch_free(&fx->fake);
  scw_strlist_free(&fx->query.project_ids);
  free(fx);
  return 0;
}

static scw_rc_t run_at(fx_t *fx, int64_t now, const fake_response_t *script,
                       size_t n) {
  fake_fetch_init(&fx->fake, script, n);
  memset(&fx->stats, 0, sizeof(fx->stats));
  fx->stats.retry_after = -1;
  memset(&fx->err, 0, sizeof(fx->err));
  fx->snap = (scw_snapshot_t *)0x1; /* must be overwritten */
  scw_rc_t rc = scw_refresh_run(&fx->params, now, fake_fetch, &fx->fake,
                                &fx->snap, &fx->stats, &fx->err);
  if (rc != SCW_OK) {
    assert_null(fx->snap);
    assert_int_equal(fx->err.rc, rc);
  }
  return rc;
}

#define RUN(fx, script) run_at((fx), NOW, (script), sizeof(script) / sizeof((script)[0]))

static void assert_ok(fx_t *fx, scw_rc_t rc) {
  if (rc != SCW_OK)
    fail_msg("refresh failed: rc %d: %s", (int)rc, fx->err.msg);
  assert_non_null(fx->snap);
}

#define assert_contains(hay, needle)                                          \
  do {                                                                        \
    if (strstr((hay), (needle)) == NULL)                                      \
      fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));           \
  } while (0)

static const scw_series_t *find(const scw_snapshot_t *s, const char *pi,
                                const char *ti) {
  for (size_t i = 0; i < s->n_series; i++)
    if (strcmp(s->series[i].plugin_instance, pi) == 0 &&
        strcmp(s->series[i].type_instance, ti) == 0)
      return &s->series[i];
  fail_msg("no series %s/%s", pi, ti);
  return NULL;
}

/* The three-page walk's snapshot. */
static void assert_three_page_totals(const scw_snapshot_t *s) {
  assert_true(s->total_nanos == PAGE3_TOTAL);
  assert_int_equal(s->charges, 4);
  assert_int_equal(s->skipped, 0);
  assert_int_equal(s->n_series, 3);
  assert_true(find(s, "prod", "compute-a")->nanos == INT64_C(1500000001));
  assert_int_equal(find(s, "prod", "compute-a")->charges, 2);
  assert_true(find(s, "prod", "storage-b")->nanos == INT64_C(250000000));
  assert_true(find(s, "p2", "compute-a")->nanos == INT64_C(2000000000));
}

static void test_single_page(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      {.status = 200, .body = ONLY_PAGE, .request_id = "req-1"}};
  assert_ok(fx, RUN(fx, script));
  scw_snapshot_t *s = fx->snap;
  assert_true(s->total_nanos == INT64_C(3000000007));
  assert_int_equal(s->charges, 1);
  assert_int_equal(s->skipped, 1);
  assert_string_equal(s->currency, "EUR");
  assert_int_equal(s->n_series, 1);
  assert_true(find(s, "prod", "compute-a")->nanos == INT64_C(3000000007));
  assert_int_equal(atomic_load(&s->refs), 1);
  assert_int_equal(fx->fake.calls, 1);
  assert_int_equal(fx->stats.requests, 1);
  assert_int_equal(fx->stats.pages, 1);
  assert_true(fx->stats.bytes == strlen(ONLY_PAGE));
  assert_int_equal(fx->stats.last_status, 200);
  assert_string_equal(fx->stats.request_id, "req-1");
}

static void test_window_and_first_url(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {OK(ONLY_PAGE)};
  assert_ok(fx, RUN(fx, script));
  scw_window_t w;
  scw_month_window(NOW, &w);
  assert_string_equal(fx->snap->period, w.period);
  assert_string_equal(fx->snap->period, "2026-11");
  assert_true(w.start == MONTH_START && w.end == NOW);
  const char *url = fx->fake.urls[0];
  assert_non_null(url);
  assert_true(strncmp(url, "https://api.test/billing/v2beta1/charges?", 41) == 0);
  assert_contains(url, "organization_id=" ORG);
  assert_contains(url, "&start_date_after=2026-11-01T00%3A00%3A00Z&");
  assert_contains(url, "&end_date_before=2026-11-15T08%3A30%3A00Z&");
  assert_contains(url, "&clamp_to_time_range=true");
  assert_contains(url, "&order_by=start_date_asc");
  assert_contains(url, "&page_size=2");
  assert_null(strstr(url, "page_token"));
}

static void test_window_year_end(void **state) {
  fx_t *fx = *state;
  /* 2023-12-31T23:59:59Z: the window is all of December. */
  const fake_response_t script[] = {OK(ONLY_PAGE)};
  assert_ok(fx, run_at(fx, INT64_C(1704067199), script, 1));
  assert_string_equal(fx->snap->period, "2023-12");
  assert_contains(fx->fake.urls[0], "start_date_after=2023-12-01T00%3A00%3A00Z");
  assert_contains(fx->fake.urls[0], "end_date_before=2023-12-31T23%3A59%3A59Z");
}

static void test_three_pages(void **state) {
  fx_t *fx = *state;
  assert_int_equal(scw_strlist_add(&fx->query.project_ids, "p1"), 0);
  assert_int_equal(scw_strlist_add(&fx->query.project_ids, "p2"), 0);
  const fake_response_t script[] = {
      {.status = 200, .body = PAGE1, .request_id = "r1"},
      {.status = 200, .body = PAGE2, .request_id = "r2"},
      {.status = 200, .body = PAGE3, .request_id = "r3"}};
  assert_ok(fx, RUN(fx, script));
  assert_three_page_totals(fx->snap);
  assert_int_equal(fx->fake.calls, 3);
  assert_int_equal(fx->stats.requests, 3);
  assert_int_equal(fx->stats.pages, 3);
  assert_true(fx->stats.bytes == strlen(PAGE1) + strlen(PAGE2) + strlen(PAGE3));
  assert_string_equal(fx->stats.request_id, "r3");

  /* Page n+1 = the first URL, unchanged, plus the token of page n. */
  const char *first = fx->fake.urls[0];
  assert_contains(first, "&project_ids=p1&project_ids=p2&");
  size_t len = strlen(first);
  assert_memory_equal(fx->fake.urls[1], first, len);
  assert_string_equal(fx->fake.urls[1] + len, "&page_token=tok1");
  assert_memory_equal(fx->fake.urls[2], first, len);
  assert_string_equal(fx->fake.urls[2] + len, "&page_token=tok%2F2%3D%2B");
}

static void test_empty_pages_followed(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      OK("{\"charges\":[],\"next_page_token\":\"e1\"}"),
      OK("{\"charges\":[],\"next_page_token\":\"e2\"}"), OK(ONLY_PAGE)};
  assert_ok(fx, RUN(fx, script));
  assert_int_equal(fx->stats.requests, 3);
  assert_true(fx->snap->total_nanos == INT64_C(3000000007));
  assert_contains(fx->fake.urls[2], "&page_token=e2");
}

static void test_no_charges_at_all(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {OK("{\"charges\":[]}")};
  assert_ok(fx, RUN(fx, script));
  assert_int_equal(fx->snap->n_series, 0);
  assert_true(fx->snap->total_nanos == 0);
  assert_string_equal(fx->snap->period, "2026-11");
}

static void test_http_500_on_page_2(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      OK(PAGE1),
      {.status = 500, .body = "<html>oops</html>", .request_id = "req-500"},
      OK(PAGE3)};
  assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
  assert_null(fx->snap);
  assert_int_equal(fx->stats.requests, 2);
  assert_int_equal(fx->fake.calls, 2);
  assert_int_equal(fx->stats.last_status, 500);
  assert_string_equal(fx->stats.request_id, "req-500");
  assert_contains(fx->err.msg, "page 2");
  assert_contains(fx->err.msg, "HTTP 500");
  assert_contains(fx->err.msg, "non-JSON body");
}

static void test_http_401_on_page_1(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      {.status = 401,
       .body = "{\"message\":\"authentication is denied\",\"method\":\"api_key\","
               "\"reason\":\"not_found\",\"type\":\"denied_authentication\"}"}};
  assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
  assert_int_equal(fx->stats.requests, 1);
  assert_contains(fx->err.msg, "page 1");
  assert_contains(fx->err.msg, "HTTP 401");
  assert_contains(fx->err.msg, "secret key");
}

static void test_malformed_page_2(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      OK(PAGE1), OK("{\"charges\":[{\"project_id\":\"p\",\"sku\":\"s\",\"price\":"
                    "{\"currency_code\":\"EUR\",\"units\":1.5}}]}"),
      OK(PAGE3)};
  assert_int_equal(RUN(fx, script), SCW_ERR_PARSE);
  assert_int_equal(fx->stats.requests, 2);
  assert_int_equal(fx->stats.pages, 1);
  assert_contains(fx->err.msg, "page 2");

  fake_fetch_free(&fx->fake);
  const fake_response_t truncated[] = {OK(PAGE1), OK("{\"charges\":[")};
  assert_int_equal(RUN(fx, truncated), SCW_ERR_NOT_JSON);
  assert_contains(fx->err.msg, "page 2");
}

static void test_transport_error(void **state) {
  fx_t *fx = *state;
  const fake_response_t on_first[] = {{.transport_rc = SCW_ERR_TRANSPORT}};
  assert_int_equal(RUN(fx, on_first), SCW_ERR_TRANSPORT);
  assert_int_equal(fx->stats.requests, 1);
  assert_int_equal(fx->stats.last_status, 0);
  assert_contains(fx->err.msg, "page 1");
  assert_contains(fx->err.msg, "connection refused");

  fake_fetch_free(&fx->fake);
  const fake_response_t on_second[] = {OK(PAGE1),
                                       {.transport_rc = SCW_ERR_TRANSPORT}};
  assert_int_equal(RUN(fx, on_second), SCW_ERR_TRANSPORT);
  assert_int_equal(fx->stats.requests, 2);
  assert_contains(fx->err.msg, "page 2");
}

static void test_repeated_token(void **state) {
  fx_t *fx = *state;
  /* Page 2 hands back the token page 1 gave: it would loop forever. */
  const fake_response_t script[] = {OK(PAGE1), OK(PAGE1), OK(PAGE3)};
  assert_int_equal(RUN(fx, script), SCW_ERR_PAGINATION);
  assert_int_equal(fx->stats.requests, 2);
  assert_contains(fx->err.msg, "page 2");
}

static void test_token_cycle(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      OK("{\"charges\":[],\"next_page_token\":\"A\"}"),
      OK("{\"charges\":[],\"next_page_token\":\"B\"}"),
      OK("{\"charges\":[],\"next_page_token\":\"A\"}"), OK(PAGE3)};
  assert_int_equal(RUN(fx, script), SCW_ERR_PAGINATION);
  assert_int_equal(fx->stats.requests, 3);
  assert_contains(fx->err.msg, "page 3");
}

static void test_max_pages(void **state) {
  fx_t *fx = *state;
  fx->params.max_pages = 3;
  const fake_response_t too_many[] = {
      OK("{\"charges\":[],\"next_page_token\":\"1\"}"),
      OK("{\"charges\":[],\"next_page_token\":\"2\"}"),
      OK("{\"charges\":[],\"next_page_token\":\"3\"}"), OK(PAGE3)};
  assert_int_equal(RUN(fx, too_many), SCW_ERR_PAGINATION);
  assert_int_equal(fx->stats.requests, 3); /* the 4th page is never asked for */
  assert_contains(fx->err.msg, "MaxPages");

  /* Exactly max_pages pages is fine. */
  fake_fetch_free(&fx->fake);
  const fake_response_t exactly[] = {OK(PAGE1), OK(PAGE2), OK(PAGE3)};
  assert_ok(fx, RUN(fx, exactly));
  assert_three_page_totals(fx->snap);
}

static void test_stale_token_restart_succeeds(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      OK(PAGE1),
      {.status = 400,
       .body = "{\"type\":\"invalid_arguments\",\"message\":\"invalid page_token\"}"},
      OK(PAGE1), OK(PAGE2), OK(PAGE3)};
  assert_ok(fx, RUN(fx, script));
  /* The first walk's page 1 is not counted twice. */
  assert_three_page_totals(fx->snap);
  assert_int_equal(fx->stats.requests, 5);
  assert_int_equal(fx->stats.last_status, 200);
  /* The restart begins again without a token. */
  assert_string_equal(fx->fake.urls[2], fx->fake.urls[0]);
  assert_contains(fx->fake.urls[1], "&page_token=tok1");
  assert_contains(fx->fake.urls[3], "&page_token=tok1");
}

static void test_stale_token_restart_fails(void **state) {
  fx_t *fx = *state;
  const fake_response_t bad = {
      .status = 400,
      .body = "{\"type\":\"invalid_arguments\",\"message\":\"invalid page_token\"}"};
  const fake_response_t script[] = {OK(PAGE1), bad, OK(PAGE1), bad, OK(PAGE1),
                                    OK(PAGE2), OK(PAGE3)};
  assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
  assert_int_equal(fx->stats.requests, 4); /* one restart only */
  assert_contains(fx->err.msg, "page 2");
  assert_contains(fx->err.msg, "HTTP 400");
}

static void test_400_on_first_page_no_restart(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      {.status = 400,
       .body = "{\"details\":[{\"argument_name\":\"project_ids\",\"help_message\":"
               "\"value must be a valid UUID\",\"reason\":\"format\"}],"
               "\"type\":\"invalid_arguments\"}"},
      OK(ONLY_PAGE)};
  assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
  assert_int_equal(fx->stats.requests, 1);
  assert_contains(fx->err.msg, "argument project_ids");
}

static void test_500_on_token_page_no_restart(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {OK(PAGE1), {.status = 503, .body = ""},
                                    OK(PAGE1), OK(PAGE2), OK(PAGE3)};
  assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
  assert_int_equal(fx->stats.requests, 2);
}

static void test_restart_then_other_error(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      OK(PAGE1), {.status = 400, .body = "{}"}, OK(PAGE1), OK("not json")};
  assert_int_equal(RUN(fx, script), SCW_ERR_NOT_JSON);
  assert_int_equal(fx->stats.requests, 4);
}

static void test_overflow_across_pages(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {
      OK("{\"charges\":[" CHARGE("p", "null", "s", EUR(9223372036, 0))
         "],\"next_page_token\":\"t\"}"),
      OK("{\"charges\":[" CHARGE("p", "null", "s", EUR(1, 0)) "]}")};
  assert_int_equal(RUN(fx, script), SCW_ERR_OVERFLOW);
  assert_contains(fx->err.msg, "page 2");
}

static void test_group_by_and_label_mode(void **state) {
  fx_t *fx = *state;
  fx->params.group_by = SCW_GROUP_PROJECT;
  fx->params.label_mode = SCW_LABEL_ID;
  const fake_response_t script[] = {OK(PAGE1), OK(PAGE2), OK(PAGE3)};
  assert_ok(fx, RUN(fx, script));
  assert_int_equal(fx->snap->n_series, 2);
  assert_true(find(fx->snap, "p1", "")->nanos == INT64_C(1750000001));
  assert_true(find(fx->snap, "p2", "")->nanos == INT64_C(2000000000));
  assert_true(fx->snap->total_nanos == PAGE3_TOTAL);
}

static void test_other_currency_only(void **state) {
  fx_t *fx = *state;
  fx->params.currency = "USD";
  const fake_response_t script[] = {OK(ONLY_PAGE)};
  assert_ok(fx, RUN(fx, script));
  assert_string_equal(fx->snap->currency, "USD");
  assert_true(fx->snap->total_nanos == INT64_C(100000000000));
  assert_int_equal(fx->snap->charges, 1);
  assert_int_equal(fx->snap->skipped, 1);
}

/* ---- names stable within the billing period ---- */

#define WEB_A(pid, units) CHARGE(pid, "\"web\"", "/a", EUR(units, 0))

/* Takes the snapshot of the last run out of the fixture, for the next
 * run's previous_names. */
static scw_snapshot_t *take(fx_t *fx) {
  scw_snapshot_t *s = fx->snap;
  fx->snap = NULL;
  fake_fetch_free(&fx->fake);
  for (size_t i = 1; i < s->n_series; i++) /* unique identifiers */
    assert_true(strcmp(s->series[i - 1].plugin_instance, s->series[i].plugin_instance) < 0 ||
                (strcmp(s->series[i - 1].plugin_instance, s->series[i].plugin_instance) == 0 &&
                 strcmp(s->series[i - 1].type_instance, s->series[i].type_instance) < 0));
  return s;
}

static void hashed(char *out, size_t size, const char *label, const char *key) {
  snprintf(out, size, "%s-%08x", label, scw_hash32(key));
}

/* Project "web" (p1) is reported; later in the month a second project named
 * "web" (p2) appears: p1 keeps "web". The next month starts fresh. */
static void test_previous_names_same_month(void **state) {
  fx_t *fx = *state;
  const fake_response_t one[] = {OK("{\"charges\":[" WEB_A("p1", 1) "]}")};
  assert_ok(fx, RUN(fx, one));
  scw_snapshot_t *s1 = take(fx);
  assert_string_equal(find(s1, "web", "a")->project_id, "p1");
  assert_string_equal(scw_names_period(scw_snapshot_names(s1)), "2026-11");

  const fake_response_t two[] = {
      OK("{\"charges\":[" WEB_A("p2", 2) "," WEB_A("p1", 1) "]}")};
  fx->params.previous_names = scw_snapshot_names(s1);
  assert_ok(fx, run_at(fx, NOW + 3600, two, 1));
  scw_snapshot_t *s2 = take(fx);
  scw_snapshot_release(s1);
  char p1[SCW_NAME_SIZE], p2[SCW_NAME_SIZE];
  hashed(p1, sizeof(p1), "web", "p1");
  hashed(p2, sizeof(p2), "web", "p2");
  assert_string_equal(find(s2, "web", "a")->project_id, "p1");
  assert_true(find(s2, "web", "a")->nanos == INT64_C(1000000000));
  assert_string_equal(find(s2, p2, "a")->project_id, "p2");
  assert_true(find(s2, p2, "a")->nanos == INT64_C(2000000000));

  /* 2026-12-01T00:10:00Z: November's names are not used. */
  fx->params.previous_names = scw_snapshot_names(s2);
  assert_ok(fx, run_at(fx, MONTH_START + 30 * 86400 + 600, two, 1));
  assert_string_equal(fx->snap->period, "2026-12");
  assert_string_equal(find(fx->snap, p1, "a")->project_id, "p1");
  assert_string_equal(find(fx->snap, p2, "a")->project_id, "p2");
  scw_snapshot_release(s2);
}

/* No previous names (first refresh after a start): every member of a clash
 * is suffixed, as before. */
static void test_previous_names_null(void **state) {
  fx_t *fx = *state;
  const fake_response_t two[] = {
      OK("{\"charges\":[" WEB_A("p2", 2) "," WEB_A("p1", 1) "]}")};
  assert_null(fx->params.previous_names);
  assert_ok(fx, RUN(fx, two));
  char p1[SCW_NAME_SIZE], p2[SCW_NAME_SIZE];
  hashed(p1, sizeof(p1), "web", "p1");
  hashed(p2, sizeof(p2), "web", "p2");
  assert_int_equal(fx->snap->n_series, 2);
  assert_string_equal(find(fx->snap, p1, "a")->project_id, "p1");
  assert_string_equal(find(fx->snap, p2, "a")->project_id, "p2");
}

/* A failed refresh leaves the previous names alone; the next good one of
 * the month still honours them. */
static void test_previous_names_after_failure(void **state) {
  fx_t *fx = *state;
  fx->params.group_by = SCW_GROUP_PROJECT;
  const fake_response_t one[] = {OK("{\"charges\":[" WEB_A("p1", 1) "]}")};
  assert_ok(fx, RUN(fx, one));
  scw_snapshot_t *s1 = take(fx);
  fx->params.previous_names = scw_snapshot_names(s1);
  const fake_response_t bad[] = {{.status = 500, .body = "oops"}};
  assert_int_equal(RUN(fx, bad), SCW_ERR_HTTP);
  fake_fetch_free(&fx->fake);
  const fake_response_t two[] = {
      OK("{\"charges\":[" WEB_A("p2", 2) "," WEB_A("p1", 1) "]}")};
  assert_ok(fx, RUN(fx, two));
  char p2[SCW_NAME_SIZE];
  hashed(p2, sizeof(p2), "web", "p2");
  assert_string_equal(find(fx->snap, "web", "")->project_id, "p1");
  assert_string_equal(find(fx->snap, p2, "")->project_id, "p2");
  scw_snapshot_release(s1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)


/* ---- retries, with a fake clock: no real waiting ---- */
typedef struct {
  double now;
  double slept[16];
  int n_slept;
  int cancel_at; /* sleep number that reports cancellation, -1 never */
} fake_clock_t;

static double fc_now(void *ctx) { return ((fake_clock_t *)ctx)->now; }
static int fc_sleep(void *ctx, double s) {
  fake_clock_t *c = ctx;
  if (c->n_slept == c->cancel_at)
    return 1;
  c->slept[c->n_slept++ % 16] = s;
  c->now += s;
  return 0;
}
static double fc_random(void *ctx) { (void)ctx; return 1.0 - 1e-12; }

static fake_clock_t *use_fake_clock(fx_t *fx, unsigned max_retries) {
  static fake_clock_t c;
  static scw_clock_t clock = {fc_now, fc_sleep, fc_random, &c};
  memset(&c, 0, sizeof(c));
  c.cancel_at = -1;
  fx->params.clock = &clock;
  fx->params.max_retries = max_retries;
  return &c;
}

static void test_retry_500_then_success(void **state) {
  fx_t *fx = *state;
  fake_clock_t *c = use_fake_clock(fx, 3);
  const fake_response_t script[] = {
      OK(PAGE1), {.status = 500, .body = "<html>upstream</html>"},
      {.status = 503, .body = ""}, OK(PAGE2), OK(PAGE3)};
  assert_ok(fx, RUN(fx, script));
  assert_true(fx->snap->total_nanos == PAGE3_TOTAL); /* page 2 counted once */
  assert_int_equal(fx->stats.requests, 5);
  assert_int_equal(fx->stats.retries, 2);
  assert_int_equal(c->n_slept, 2);
  /* Exponential: ~1 s then ~2 s (jitter at its maximum here). */
  assert_true(c->slept[0] > 0.99 && c->slept[0] <= 1.0);
  assert_true(c->slept[1] > 1.99 && c->slept[1] <= 2.0);
  /* The retried request is the same URL. */
  assert_string_equal(fx->fake.urls[1], fx->fake.urls[2]);
  assert_string_equal(fx->fake.urls[2], fx->fake.urls[3]);
}

static void test_retry_gives_up_after_max(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 2);
  const fake_response_t script[] = {
      OK(PAGE1), {.status = 502}, {.status = 502}, {.status = 502}, OK(PAGE2)};
  assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
  assert_int_equal(fx->stats.requests, 4);
  assert_contains(fx->err.msg, "page 2");
  assert_contains(fx->err.msg, "after 2 retries");
  assert_contains(fx->err.msg, "HTTP 502");
}

static void test_no_retry_on_client_errors(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 5);
  static const long codes[] = {400, 401, 403, 404};
  for (size_t i = 0; i < 4; i++) {
    const fake_response_t script[] = {{.status = codes[i], .body = "{}"}, OK(ONLY_PAGE)};
    fake_fetch_free(&fx->fake);
    assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
    assert_int_equal(fx->stats.requests, 1);
  }
}

static void test_429_retry_after_seconds(void **state) {
  fx_t *fx = *state;
  fake_clock_t *c = use_fake_clock(fx, 3);
  const fake_response_t script[] = {
      {.status = 429, .body = "{\"type\":\"too_many_requests\",\"reset_seconds\":13}",
       .retry_after = "7"},
      {.status = 429, .body = "{\"type\":\"too_many_requests\",\"reset_seconds\":13}"},
      {.status = 429, .body = "{\"type\":\"too_many_requests\"}"},
      OK(ONLY_PAGE)};
  assert_ok(fx, RUN(fx, script));
  assert_int_equal(c->n_slept, 3);
  assert_true(c->slept[0] == 7.0);  /* Retry-After wins */
  assert_true(c->slept[1] == 13.0); /* then the body's reset_seconds */
  assert_true(c->slept[2] > 3.99 && c->slept[2] <= 4.0); /* then back-off */
}

static void test_retry_delay_http_date(void **state) {
  (void)state;
  scw_http_response_t r = {.status = 429};
  /* 2026-11-15T08:30:30Z is 30 s after NOW. */
  snprintf(r.retry_after, sizeof(r.retry_after), "Sun, 15 Nov 2026 08:30:30 GMT");
  assert_true(scw_retry_delay(1, &r, NOW, 0.5) == 30.0);
  snprintf(r.retry_after, sizeof(r.retry_after), "Sun, 15 Nov 2026 08:00:00 GMT");
  assert_true(scw_retry_delay(1, &r, NOW, 0.5) == 0.0); /* in the past */
  snprintf(r.retry_after, sizeof(r.retry_after), "999999");
  assert_true(scw_retry_delay(1, &r, NOW, 0.5) == 3600.0); /* capped */
  snprintf(r.retry_after, sizeof(r.retry_after), "soon");
  assert_true(scw_retry_delay(1, &r, NOW, 0.0) == 0.5); /* unreadable: back-off */
  r.status = 503;
  assert_true(scw_retry_delay(3, &r, NOW, 0.0) == 2.0);
  assert_true(scw_retry_delay(30, &r, NOW, 1.0 - 1e-12) <= 60.0);
}

static void test_retry_respects_deadline(void **state) {
  fx_t *fx = *state;
  fake_clock_t *c = use_fake_clock(fx, 5);
  fx->params.deadline = 20;
  const fake_response_t script[] = {
      {.status = 429, .body = "{}", .retry_after = "30"}, OK(ONLY_PAGE)};
  assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
  assert_int_equal(c->n_slept, 0);
  assert_contains(fx->err.msg, "RefreshTimeout");
  assert_int_equal(fx->stats.requests, 1);
}

static void test_transport_error_retried(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 1);
  const fake_response_t script[] = {{.transport_rc = SCW_ERR_TRANSPORT}, OK(ONLY_PAGE)};
  assert_ok(fx, RUN(fx, script));
  assert_int_equal(fx->stats.retries, 1);
}

static void test_truncated_body_retried_half_page_not(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 2);
  /* Cut JSON: nothing was counted, so fetching again is safe. */
  const fake_response_t cut[] = {OK("{\"charges\":[{\"project_id\""), OK(ONLY_PAGE)};
  assert_ok(fx, RUN(fx, cut));
  assert_int_equal(fx->stats.retries, 1);
  scw_snapshot_release(fx->snap);
  fx->snap = NULL;
  fake_fetch_free(&fx->fake);
  /* A bad second charge after a good first: never fetched again. */
  const fake_response_t half[] = {
      OK("{\"charges\":[" CHARGE("p1", "null", "/a", EUR(1, 0)) ",{\"sku\":1}]}"),
      OK(ONLY_PAGE)};
  assert_int_equal(RUN(fx, half), SCW_ERR_PARSE);
  assert_int_equal(fx->stats.requests, 1);
}

/* ---- streamed bodies: the page is parsed while it arrives ---------------- */

/* fake_fetch, then the 200 body handed to the sink in pieces of `piece`
 * bytes, as scw_http does from libcurl's write callback. On call number
 * reset_call (1-based) the connection "resets" after half the body. */
typedef struct {
  fake_fetch_t *fake;
  size_t piece;
  size_t reset_call;
} stream_fetch_t;

static scw_rc_t stream_fetch(void *ctx, const char *url,
                             scw_http_response_t *resp, scw_error_t *err) {
  stream_fetch_t *s = ctx;
  scw_body_sink_fn sink = resp->sink;
  void *sink_ctx = resp->sink_ctx;
  scw_rc_t rc = fake_fetch(s->fake, url, resp, err);
  if (rc != SCW_OK || resp->status != 200 || sink == NULL)
    return rc;
  size_t len = resp->len;
  int reset = s->fake->calls == s->reset_call;
  if (reset)
    len /= 2;
  for (size_t off = 0; off < len; off += s->piece)
    sink(sink_ctx, resp->body + off, len - off < s->piece ? len - off : s->piece);
  resp->streamed = len;
  resp->len = len < 40 ? len : 40; /* only the head is kept */
  if (reset)
    return scw_fail(err, SCW_ERR_TRANSPORT, "fake: connection reset");
  return SCW_OK;
}

static scw_rc_t run_streamed(fx_t *fx, const fake_response_t *script, size_t n,
                             size_t piece, size_t reset_call) {
  fake_fetch_free(&fx->fake); /* from an earlier RUN in the same test */
  fake_fetch_init(&fx->fake, script, n);
  memset(&fx->stats, 0, sizeof(fx->stats));
  fx->stats.retry_after = -1;
  memset(&fx->err, 0, sizeof(fx->err));
  scw_snapshot_release(fx->snap);
  fx->snap = NULL;
  stream_fetch_t s = {&fx->fake, piece, reset_call};
  scw_rc_t rc = scw_refresh_run(&fx->params, NOW, stream_fetch, &s, &fx->snap,
                                &fx->stats, &fx->err);
  fake_fetch_free(&fx->fake);
  return rc;
}

#define RUN_STREAMED(fx, script, piece, reset)                                \
  run_streamed((fx), (script), sizeof(script) / sizeof((script)[0]), (piece), (reset))

/* The first charge of page 1, then the cut. */
#define PAGE1_CUT                                                             \
  "{\"charges\":[" CHARGE("p1", "\"prod\"", "/compute/a", EUR(1, 500000000)) ",{"

static void test_streamed_pages(void **state) {
  fx_t *fx = *state;
  const fake_response_t script[] = {OK(PAGE1), OK(PAGE2), OK(PAGE3)};
  for (size_t piece = 1; piece < 80; piece += 13) {
    assert_ok(fx, RUN_STREAMED(fx, script, piece, 0));
    assert_three_page_totals(fx->snap);
    assert_int_equal(fx->stats.bytes, strlen(PAGE1) + strlen(PAGE2) + strlen(PAGE3));
  }
}

/* A page cut after a whole charge (that charge was counted) is fetched again
 * and counts once, whether it was streamed or not. */
static void test_cut_page_counted_once(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 2);
  const fake_response_t script[] = {OK(PAGE1_CUT), OK(PAGE1), OK(PAGE2),
                                    OK(PAGE3)};
  assert_ok(fx, RUN(fx, script));
  assert_three_page_totals(fx->snap);
  assert_int_equal(fx->stats.retries, 1);
  assert_ok(fx, RUN_STREAMED(fx, script, 5, 0));
  assert_three_page_totals(fx->snap);
  assert_int_equal(fx->stats.retries, 1);
  /* Cut on the last page: a new group seen only there is gone too. */
  const fake_response_t last[] = {
      OK(PAGE1), OK(PAGE2),
      OK("{\"charges\":[" CHARGE("p9", "\"new\"", "/x/y", EUR(9, 0)) ",[}"),
      OK(PAGE3)};
  assert_ok(fx, RUN_STREAMED(fx, last, 7, 0));
  assert_three_page_totals(fx->snap);
}

/* The connection resets half-way through a streamed page: retried, counted
 * once. */
static void test_reset_mid_page_counted_once(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 2);
  /* Half of page 1 holds its first charge whole. */
  const fake_response_t script[] = {OK(PAGE1), OK(PAGE1), OK(PAGE2), OK(PAGE3)};
  assert_ok(fx, RUN_STREAMED(fx, script, 3, 1));
  assert_three_page_totals(fx->snap);
  assert_int_equal(fx->stats.retries, 1);
  assert_int_equal(fx->stats.requests, 4);
}

/* A streamed body that is not JSON is described from the head kept. */
static void test_streamed_html_described(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 1);
  static const char html[] =
      "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>proxy</body>"
      "</html>";
  const fake_response_t script[] = {
      {.status = 200, .body = html, .content_type = "text/html"},
      {.status = 200, .body = html, .content_type = "text/html"}};
  assert_int_equal(RUN_STREAMED(fx, script, 9, 0), SCW_ERR_NOT_JSON);
  assert_int_equal(fx->stats.requests, 2);
  char want[64];
  snprintf(want, sizeof(want), "%zu bytes starting \"<html> <head>", strlen(html));
  assert_contains(fx->err.msg, want);
  assert_contains(fx->err.msg, "invalid JSON at byte 0");
  /* A wrong shape half-way through a streamed page: not retried. */
  const fake_response_t half[] = {
      OK("{\"charges\":[" CHARGE("p1", "null", "/a", EUR(1, 0)) ",{\"sku\":1}]}"),
      OK(ONLY_PAGE)};
  assert_int_equal(RUN_STREAMED(fx, half, 4, 0), SCW_ERR_PARSE);
  assert_int_equal(fx->stats.requests, 1);
}

static void test_cancel_during_backoff(void **state) {
  fx_t *fx = *state;
  fake_clock_t *c = use_fake_clock(fx, 3);
  c->cancel_at = 0;
  const fake_response_t script[] = {{.status = 500}, OK(ONLY_PAGE)};
  assert_int_equal(RUN(fx, script), SCW_ERR_CANCELLED);
}

static void test_max_charges(void **state) {
  fx_t *fx = *state;
  fx->params.max_charges = 3;
  const fake_response_t script[] = {OK(PAGE1), OK(PAGE2), OK(PAGE3)};
  assert_int_equal(RUN(fx, script), SCW_ERR_LIMIT);
  assert_contains(fx->err.msg, "MaxCharges");
}

static void test_max_charges_on_a_page_with_a_token(void **state) {
  fx_t *fx = *state;
  /* Exceeded on page 1, which has a next token: the token is freed (the
   * ASan suite's leak check fails otherwise). */
  fx->params.max_charges = 1;
  const fake_response_t script[] = {OK(PAGE1), OK(PAGE2)};
  assert_int_equal(RUN(fx, script), SCW_ERR_LIMIT);
  assert_int_equal(fx->stats.requests, 1);
}

static void test_html_body_retried_and_described(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 1);
  static const char html[] =
      "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>proxy</body>"
      "</html>";
  const fake_response_t script[] = {
      {.status = 200, .body = html, .content_type = "text/html"},
      {.status = 200, .body = html, .content_type = "text/html"}};
  assert_int_equal(RUN(fx, script), SCW_ERR_NOT_JSON);
  assert_int_equal(fx->stats.requests, 2); /* retried once */
  assert_contains(fx->err.msg, "HTTP 200, Content-Type \"text/html\"");
  assert_contains(fx->err.msg, "starting \"<html> <head><title>502 Bad Gateway");
  assert_contains(fx->err.msg, "invalid JSON at byte 0");

  fake_fetch_free(&fx->fake); /* a proxy's hiccup: the retry succeeds */
  const fake_response_t then_ok[] = {
      {.status = 200, .body = html, .content_type = "text/html"}, OK(ONLY_PAGE)};
  assert_ok(fx, RUN(fx, then_ok));
}

static void test_wrong_shape_not_retried(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 3);
  /* Valid JSON that is not a page would fail the same way again. */
  const fake_response_t script[] = {OK("{\"charges\":{}}"), OK(ONLY_PAGE)};
  assert_int_equal(RUN(fx, script), SCW_ERR_PARSE);
  assert_int_equal(fx->stats.requests, 1);
}

static void test_429_hint_reported(void **state) {
  fx_t *fx = *state;
  use_fake_clock(fx, 0);
  fx->stats.retry_after = -1;
  const fake_response_t script[] = {
      {.status = 429, .body = "{}", .retry_after = "120"}};
  assert_int_equal(RUN(fx, script), SCW_ERR_HTTP);
  assert_true(fx->stats.retry_after == 120);
  assert_int_equal(fx->stats.throttled, 1);
}

static void test_closed_month_window(void **state) {
  fx_t *fx = *state;
  /* All of October 2026, as the closing month is walked in November. */
  scw_window_t w = {.start = INT64_C(1790812800), .end = INT64_C(1793491200),
                    .period = "2026-10"};
  const fake_response_t script[] = {OK(ONLY_PAGE)};
  fake_fetch_init(&fx->fake, script, 1);
  assert_int_equal(scw_refresh_window(&fx->params, &w, fake_fetch, &fx->fake,
                                      &fx->snap, &fx->stats, &fx->err),
                   SCW_OK);
  assert_string_equal(fx->snap->period, "2026-10");
  assert_contains(fx->fake.urls[0], "start_date_after=2026-10-01T00%3A00%3A00Z");
  assert_contains(fx->fake.urls[0], "end_date_before=2026-11-01T00%3A00%3A00Z");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_single_page),
      T(test_window_and_first_url),
      T(test_window_year_end),
      T(test_three_pages),
      T(test_empty_pages_followed),
      T(test_no_charges_at_all),
      T(test_http_500_on_page_2),
      T(test_http_401_on_page_1),
      T(test_malformed_page_2),
      T(test_transport_error),
      T(test_repeated_token),
      T(test_token_cycle),
      T(test_max_pages),
      T(test_retry_500_then_success),
      T(test_retry_gives_up_after_max),
      T(test_no_retry_on_client_errors),
      T(test_429_retry_after_seconds),
      T(test_retry_delay_http_date),
      T(test_retry_respects_deadline),
      T(test_transport_error_retried),
      T(test_truncated_body_retried_half_page_not),
      T(test_streamed_pages),
      T(test_cut_page_counted_once),
      T(test_reset_mid_page_counted_once),
      T(test_streamed_html_described),
      T(test_cancel_during_backoff),
      T(test_max_charges),
      T(test_max_charges_on_a_page_with_a_token),
      T(test_html_body_retried_and_described),
      T(test_wrong_shape_not_retried),
      T(test_429_hint_reported),
      T(test_closed_month_window),
      T(test_stale_token_restart_succeeds),
      T(test_stale_token_restart_fails),
      T(test_400_on_first_page_no_restart),
      T(test_500_on_token_page_no_restart),
      T(test_restart_then_other_error),
      T(test_overflow_across_pages),
      T(test_group_by_and_label_mode),
      T(test_other_currency_only),
      T(test_previous_names_same_month),
      T(test_previous_names_null),
      T(test_previous_names_after_failure),
  };
  return cmocka_run_group_tests_name("refresh", tests, NULL, NULL);
}
