/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_query.c: the ListCharges URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_query.h"

#define ORG "3f0e8c2a-1b4d-4c6e-8f10-a2b3c4d5e6f7"
#define PA "7c1e2b1a-5d3f-4e8a-9b0c-2f4d6a8e0b13"
#define PB "11111111-2222-3333-4444-555555555555"

/* 2026-11-01T00:00:00Z .. 2026-11-15T08:30:00Z */
static const scw_window_t window = {
    .start = INT64_C(1793491200), .end = INT64_C(1794731400), .period = "2026-11"};

#define WINDOW_PARAMS                                                         \
  "&start_date_after=2026-11-01T00%3A00%3A00Z"                                \
  "&end_date_before=2026-11-15T08%3A30%3A00Z"                                 \
  "&clamp_to_time_range=true&order_by=start_date_asc"

static void assert_url(const scw_query_t *q, const char *token,
                       const char *want) {
  char *url = scw_query_url(q, &window, token);
  assert_non_null(url);
  assert_string_equal(url, want);
  free(url);
}

static void test_minimal(void **state) {
  (void)state;
  scw_query_t q = {.base_url = "https://api.scaleway.com",
                   .organization_id = ORG,
                   .page_size = 1000};
  assert_url(&q, NULL,
             "https://api.scaleway.com/billing/v2beta1/charges?organization_id=" ORG
             WINDOW_PARAMS "&page_size=1000");
}

static void test_trailing_slash(void **state) {
  (void)state;
  scw_query_t q = {.base_url = "http://127.0.0.1:8080/",
                   .organization_id = ORG,
                   .page_size = 3};
  const char *want = "http://127.0.0.1:8080/billing/v2beta1/charges?organization_id=" ORG
                     WINDOW_PARAMS "&page_size=3";
  assert_url(&q, NULL, want);
  q.base_url = "http://127.0.0.1:8080//";
  assert_url(&q, NULL, want);
  q.base_url = "http://127.0.0.1:8080";
  assert_url(&q, NULL, want);
}

static void test_full_query(void **state) {
  (void)state;
  scw_query_t q = {.base_url = "https://api.scaleway.com/",
                   .organization_id = ORG,
                   .page_size = 1000};
  assert_int_equal(scw_strlist_add(&q.project_ids, PA), 0);
  assert_int_equal(scw_strlist_add(&q.project_ids, PB), 0);
  assert_int_equal(scw_strlist_add(&q.skus, "/compute/dev1_s/run_par1"), 0);
  assert_int_equal(scw_strlist_add(&q.skus, "a b+c"), 0);
  assert_int_equal(scw_strlist_add(&q.resource_ids, "fr-par/acme-backups"), 0);
  assert_int_equal(scw_strlist_add(&q.resource_names, "web 1"), 0);
  assert_int_equal(scw_strlist_add(&q.resource_names, "caf\xc3\xa9&x=y"), 0);
  assert_int_equal(scw_strlist_add(&q.invoice_ids, "b91f7d2e-0a6c-4f3b-8e21-5c4d3b2a1f09"),
                   0);
  const char *base =
      "https://api.scaleway.com/billing/v2beta1/charges"
      "?organization_id=" ORG "&project_ids=" PA "&project_ids=" PB
      WINDOW_PARAMS "&page_size=1000"
      "&skus=%2Fcompute%2Fdev1_s%2Frun_par1&skus=a%20b%2Bc"
      "&resource_ids=fr-par%2Facme-backups"
      "&resource_names=web%201&resource_names=caf%C3%A9%26x%3Dy"
      "&invoice_ids=b91f7d2e-0a6c-4f3b-8e21-5c4d3b2a1f09";
  assert_url(&q, NULL, base);

  char want[2048];
  snprintf(want, sizeof(want), "%s&page_token=CgwI8K7y%%2Bz%%2FgYQ%%3D%%3D",
           base);
  assert_url(&q, "CgwI8K7y+z/gYQ==", want);

  /* The token page URL is the first page URL plus the token, nothing else. */
  char *first = scw_query_url(&q, &window, NULL);
  char *next = scw_query_url(&q, &window, "tok~.-_");
  assert_non_null(first);
  assert_non_null(next);
  assert_memory_equal(first, next, strlen(first));
  assert_string_equal(next + strlen(first), "&page_token=tok~.-_");
  free(first);
  free(next);

  scw_strlist_free(&q.project_ids);
  scw_strlist_free(&q.skus);
  scw_strlist_free(&q.resource_ids);
  scw_strlist_free(&q.resource_names);
  scw_strlist_free(&q.invoice_ids);
}

static void test_org_id_encoded(void **state) {
  (void)state;
  scw_query_t q = {.base_url = "https://x", .organization_id = "a b&c",
                   .page_size = 1};
  assert_url(&q, NULL,
             "https://x/billing/v2beta1/charges?organization_id=a%20b%26c"
             WINDOW_PARAMS "&page_size=1");
}

static void test_no_bytes_left_unencoded(void **state) {
  (void)state;
  /* Every byte outside the unreserved set is %XX in upper-case hex. */
  char all[256];
  for (int i = 1; i < 256; i++)
    all[i - 1] = (char)i;
  all[255] = '\0';
  scw_query_t q = {.base_url = "https://x", .organization_id = "o",
                   .page_size = 1};
  char *url = scw_query_url(&q, &window, all);
  assert_non_null(url);
  const char *tok = strstr(url, "&page_token=");
  assert_non_null(tok);
  tok += strlen("&page_token=");
  size_t raw = 0;
  for (const char *p = tok; *p != '\0';) {
    if (*p == '%') {
      assert_true(strchr("0123456789ABCDEF", p[1]) != NULL && p[1] != '\0');
      assert_true(strchr("0123456789ABCDEF", p[2]) != NULL && p[2] != '\0');
      p += 3;
    } else {
      assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-._~",
                         *p) != NULL);
      p++;
    }
    raw++;
  }
  assert_int_equal(raw, 255);
  assert_non_null(strstr(tok, "%FF"));
  assert_non_null(strstr(tok, "%01"));
  assert_non_null(strstr(tok, "%25")); /* '%' itself */
  free(url);
}

static void test_strlist(void **state) {
  (void)state;
  scw_strlist_t l = {0};
  char buf[8] = "one";
  assert_int_equal(scw_strlist_add(&l, buf), 0);
  memcpy(buf, "two", 4); /* the list holds a copy */
  assert_int_equal(scw_strlist_add(&l, buf), 0);
  assert_int_equal(scw_strlist_add(&l, ""), 0);
  assert_int_equal(l.n, 3);
  assert_string_equal(l.items[0], "one");
  assert_string_equal(l.items[1], "two");
  assert_string_equal(l.items[2], "");
  assert_ptr_not_equal(l.items[1], buf);
  scw_strlist_free(&l);
  assert_int_equal(l.n, 0);
  assert_null(l.items);
  /* Free twice and reuse after free are fine. */
  scw_strlist_free(&l);
  assert_int_equal(scw_strlist_add(&l, "again"), 0);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.items[0], "again");
  scw_strlist_free(&l);
}

static void test_strlist_many(void **state) {
  (void)state;
  scw_strlist_t l = {0};
  char buf[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(buf, sizeof(buf), "item%d", i);
    assert_int_equal(scw_strlist_add(&l, buf), 0);
  }
  assert_int_equal(l.n, 1000);
  assert_string_equal(l.items[999], "item999");
  assert_string_equal(l.items[0], "item0");
  scw_strlist_free(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_minimal),
      cmocka_unit_test(test_trailing_slash),
      cmocka_unit_test(test_full_query),
      cmocka_unit_test(test_org_id_encoded),
      cmocka_unit_test(test_no_bytes_left_unencoded),
      cmocka_unit_test(test_strlist),
      cmocka_unit_test(test_strlist_many),
  };
  return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}
