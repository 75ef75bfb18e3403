/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_agg.c: exact aggregation into cost groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_agg.h"

static scw_charge_t ch(const char *project_id, const char *project_name,
                       const char *sku, const char *resource_id,
                       const char *resource_name, const char *currency,
                       int64_t nanos) {
  scw_charge_t c = {
      .project_id = project_id,
      .project_name = project_name,
      .sku = sku,
      .resource_id = resource_id,
      .resource_name = resource_name,
      .currency = currency,
      .nanos = nanos,
  };
  return c;
}

static void add_ok(scw_agg_t *agg, scw_charge_t c) {
  scw_error_t err = {0};
  scw_rc_t rc = scw_agg_add(agg, &c, &err);
  if (rc != SCW_OK)
    fail_msg("scw_agg_add: rc %d: %s", (int)rc, err.msg);
}

/* The group of (project id, sku, resource id), NULL fields not compared. */
static const scw_group_t *find_group(const scw_agg_t *agg, const char *pid,
                                     const char *sku, const char *rid) {
  const scw_group_t *found = NULL;
  for (size_t i = 0; i < agg->n_groups; i++) {
    const scw_group_t *g = &agg->groups[i];
    assert_true(g->project < agg->n_projects);
    if (strcmp(agg->projects[g->project].id, pid) != 0)
      continue;
    if (sku != NULL && (g->sku == NULL || strcmp(g->sku, sku) != 0))
      continue;
    if (rid != NULL &&
        (g->resource_id == NULL || strcmp(g->resource_id, rid) != 0))
      continue;
    assert_null(found); /* at most one */
    found = g;
  }
  assert_non_null(found);
  return found;
}

static const scw_project_t *find_project(const scw_agg_t *agg, const char *id) {
  for (size_t i = 0; i < agg->n_projects; i++)
    if (strcmp(agg->projects[i].id, id) == 0)
      return &agg->projects[i];
  fail_msg("project %s not found", id);
  return NULL;
}

/* A fixed set of charges, fed to every GroupBy. Sum 13.500000015 EUR. */
static void feed_sample(scw_agg_t *agg) {
  add_ok(agg, ch("p1", "prod", "/compute/a", "r1", "web-1", "EUR", 1000000001));
  add_ok(agg, ch("p1", "prod", "/compute/a", "r2", NULL, "EUR", 2000000002));
  add_ok(agg, ch("p1", NULL, "/compute/a", "r1", NULL, "EUR", 3000000003));
  add_ok(agg, ch("p1", "prod", "/storage/b", "r3", "disk", "EUR", 4000000004));
  add_ok(agg, ch("p2", "dev", "/compute/a", "r9", "", "EUR", 3500000005));
}

static void check_sums(const scw_agg_t *agg) {
  assert_true(agg->total_nanos == INT64_C(13500000015));
  assert_int_equal(agg->charges, 5);
  assert_int_equal(agg->skipped, 0);
  assert_int_equal(agg->n_other_currencies, 0);
}

static void check_totals(const scw_agg_t *agg) {
  check_sums(agg);
  assert_int_equal(agg->n_projects, 2);
  assert_string_equal(find_project(agg, "p1")->name, "prod");
  assert_string_equal(find_project(agg, "p2")->name, "dev");
}

static void test_group_organization(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_ORGANIZATION, "EUR");
  assert_non_null(agg);
  assert_int_equal(agg->group_by, SCW_GROUP_ORGANIZATION);
  assert_string_equal(agg->currency, "EUR");
  feed_sample(agg);
  check_sums(agg);
  /* The organization total is the only figure: no per-group series, and no
   * per-project bookkeeping either (it would be thrown away). */
  assert_int_equal(agg->n_groups, 0);
  assert_int_equal(agg->n_projects, 0);
  scw_agg_free(agg);
}

static void test_group_project(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  feed_sample(agg);
  check_totals(agg);
  assert_int_equal(agg->n_groups, 2);
  const scw_group_t *g1 = find_group(agg, "p1", NULL, NULL);
  assert_true(g1->nanos == INT64_C(10000000010));
  assert_int_equal(g1->charges, 4);
  assert_null(g1->sku);
  assert_null(g1->resource_id);
  assert_null(g1->resource_name);
  const scw_group_t *g2 = find_group(agg, "p2", NULL, NULL);
  assert_true(g2->nanos == INT64_C(3500000005));
  assert_int_equal(g2->charges, 1);
  scw_agg_free(agg);
}

static void test_group_sku(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  feed_sample(agg);
  check_totals(agg);
  assert_int_equal(agg->n_groups, 3);
  const scw_group_t *g = find_group(agg, "p1", "/compute/a", NULL);
  assert_true(g->nanos == INT64_C(6000000006));
  assert_int_equal(g->charges, 3);
  assert_null(g->resource_id);
  g = find_group(agg, "p1", "/storage/b", NULL);
  assert_true(g->nanos == INT64_C(4000000004));
  assert_int_equal(g->charges, 1);
  g = find_group(agg, "p2", "/compute/a", NULL);
  assert_true(g->nanos == INT64_C(3500000005));
  assert_int_equal(g->charges, 1);
  scw_agg_free(agg);
}

static void test_group_resource(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  feed_sample(agg);
  check_totals(agg);
  assert_int_equal(agg->n_groups, 4);
  const scw_group_t *g = find_group(agg, "p1", "/compute/a", "r1");
  assert_true(g->nanos == INT64_C(4000000004));
  assert_int_equal(g->charges, 2);
  assert_string_equal(g->resource_name, "web-1"); /* NULL later: kept */
  g = find_group(agg, "p1", "/compute/a", "r2");
  assert_true(g->nanos == INT64_C(2000000002));
  assert_null(g->resource_name);
  g = find_group(agg, "p1", "/storage/b", "r3");
  assert_string_equal(g->resource_name, "disk");
  g = find_group(agg, "p2", "/compute/a", "r9");
  assert_true(g->nanos == INT64_C(3500000005));
  /* Sum of the groups equals the total. */
  int64_t sum = 0;
  for (size_t i = 0; i < agg->n_groups; i++)
    sum += agg->groups[i].nanos;
  assert_true(sum == agg->total_nanos);
  scw_agg_free(agg);
}

static void test_resource_name_latest(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add_ok(agg, ch("p", NULL, "s", "r", "old", "EUR", 1));
  add_ok(agg, ch("p", NULL, "s", "r", "new", "EUR", 1));
  add_ok(agg, ch("p", NULL, "s", "r", NULL, "EUR", 1));
  assert_int_equal(agg->n_groups, 1);
  assert_string_equal(agg->groups[0].resource_name, "new");
  /* A resource without id gets its own group ("" id). */
  add_ok(agg, ch("p", NULL, "s", "", NULL, "EUR", 1));
  assert_int_equal(agg->n_groups, 2);
  assert_string_equal(find_group(agg, "p", "s", "")->resource_id, "");
  scw_agg_free(agg);
}

static void test_project_name_last_non_empty(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  add_ok(agg, ch("p1", NULL, "s", "", NULL, "EUR", 1));
  assert_null(find_project(agg, "p1")->name);
  add_ok(agg, ch("p1", "old-name", "s", "", NULL, "EUR", 1));
  assert_string_equal(find_project(agg, "p1")->name, "old-name");
  add_ok(agg, ch("p1", "renamed", "s", "", NULL, "EUR", 1));
  add_ok(agg, ch("p1", NULL, "s", "", NULL, "EUR", 1));
  /* Renaming mid-month does not split the cost. */
  assert_int_equal(agg->n_groups, 1);
  assert_int_equal(agg->n_projects, 1);
  assert_string_equal(find_project(agg, "p1")->name, "renamed");
  assert_true(agg->groups[0].nanos == 4);
  scw_agg_free(agg);
}

static void test_projects_sharing_a_name(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  add_ok(agg, ch("p1", "default", "s", "", NULL, "EUR", 10));
  add_ok(agg, ch("p2", "default", "s", "", NULL, "EUR", 20));
  add_ok(agg, ch("p1", "default", "s", "", NULL, "EUR", 30));
  assert_int_equal(agg->n_projects, 2);
  assert_int_equal(agg->n_groups, 2);
  assert_true(find_group(agg, "p1", NULL, NULL)->nanos == 40);
  assert_true(find_group(agg, "p2", NULL, NULL)->nanos == 20);
  scw_agg_free(agg);
}

static void test_other_currencies_skipped(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add_ok(agg, ch("p", "n", "s", "", NULL, "EUR", 100));
  add_ok(agg, ch("p", "n", "s", "", NULL, "USD", 1000));
  add_ok(agg, ch("p", "n", "s", "", NULL, "USD", 1000));
  add_ok(agg, ch("p", "n", "s2", "", NULL, "GBP", 1000));
  assert_true(agg->total_nanos == 100);
  assert_int_equal(agg->charges, 1);
  assert_int_equal(agg->skipped, 3);
  assert_int_equal(agg->n_other_currencies, 2);
  assert_string_equal(agg->other_currencies[0], "USD");
  assert_string_equal(agg->other_currencies[1], "GBP");
  /* A skipped charge creates no group. */
  assert_int_equal(agg->n_groups, 1);
  assert_true(agg->groups[0].nanos == 100);
  scw_agg_free(agg);
}

static void test_currency_case_insensitive(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add_ok(agg, ch("p", "n", "s", "", NULL, "EUR", 100));
  add_ok(agg, ch("p", "n", "s", "", NULL, "eur", 100)); /* same money */
  add_ok(agg, ch("p", "n", "s", "", NULL, "Eur", 100));
  add_ok(agg, ch("p", "n", "s", "", NULL, "usd", 5));
  add_ok(agg, ch("p", "n", "s", "", NULL, "USD", 5));
  assert_true(agg->total_nanos == 300);
  assert_int_equal(agg->charges, 3);
  assert_int_equal(agg->skipped, 2);
  /* Reported as Currency must be written: one entry, upper case. */
  assert_int_equal(agg->n_other_currencies, 1);
  assert_string_equal(agg->other_currencies[0], "USD");
  scw_agg_free(agg);
}

static void test_other_currencies_list_bounded(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_ORGANIZATION, "EUR");
  char cur[8];
  for (int i = 0; i < SCW_AGG_MAX_OTHER_CURRENCIES + 5; i++) {
    snprintf(cur, sizeof(cur), "C%02d", i);
    add_ok(agg, ch("p", NULL, "s", "", NULL, cur, 1));
  }
  assert_int_equal(agg->skipped, SCW_AGG_MAX_OTHER_CURRENCIES + 5);
  assert_int_equal(agg->n_other_currencies, SCW_AGG_MAX_OTHER_CURRENCIES);
  assert_string_equal(agg->other_currencies[SCW_AGG_MAX_OTHER_CURRENCIES - 1],
                      "C07");
  assert_int_equal(agg->charges, 0);
  assert_true(agg->total_nanos == 0);
  scw_agg_free(agg);
}

static void test_charge_without_price(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add_ok(agg, ch("p", "n", "s", "", NULL, "", 0));
  add_ok(agg, ch("p", "n", "s", "", NULL, "EUR", 5));
  assert_int_equal(agg->charges, 2);
  assert_int_equal(agg->skipped, 0);
  assert_true(agg->total_nanos == 5);
  assert_int_equal(agg->n_groups, 1);
  assert_int_equal(agg->groups[0].charges, 2);
  assert_true(agg->groups[0].nanos == 5);
  scw_agg_free(agg);
}

static void test_negative_credits(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add_ok(agg, ch("p", "n", "s", "", NULL, "EUR", INT64_C(5000000000)));
  add_ok(agg, ch("p", "n", "s", "", NULL, "EUR", INT64_C(-1750000000)));
  add_ok(agg, ch("p", "n", "credit", "", NULL, "EUR", INT64_C(-9000000000)));
  assert_true(agg->total_nanos == INT64_C(-5750000000));
  assert_true(find_group(agg, "p", "s", NULL)->nanos == INT64_C(3250000000));
  assert_true(find_group(agg, "p", "credit", NULL)->nanos ==
              INT64_C(-9000000000));
  scw_agg_free(agg);
}

static void test_overflow(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add_ok(agg, ch("p", "n", "s", "", NULL, "EUR", INT64_MAX - 10));
  scw_charge_t c = ch("p", "n", "s", "", NULL, "EUR", 11);
  scw_error_t err = {0};
  assert_int_equal(scw_agg_add(agg, &c, &err), SCW_ERR_OVERFLOW);
  assert_int_equal(err.rc, SCW_ERR_OVERFLOW);
  assert_true(agg->total_nanos == INT64_MAX - 10); /* unchanged */
  assert_int_equal(agg->charges, 1);
  /* Negative side too. */
  scw_agg_t *neg = scw_agg_new(SCW_GROUP_ORGANIZATION, "EUR");
  add_ok(neg, ch("p", "n", "s", "", NULL, "EUR", INT64_MIN + 1));
  c.nanos = -2;
  assert_int_equal(scw_agg_add(neg, &c, NULL), SCW_ERR_OVERFLOW);
  scw_agg_free(neg);
  scw_agg_free(agg);
}

static void test_group_overflow_total_fits(void **state) {
  (void)state;
  /* A credit elsewhere keeps the total in range, but one group overflows. */
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add_ok(agg, ch("p", "n", "credit", "", NULL, "EUR", -1000));
  add_ok(agg, ch("p", "n", "s", "", NULL, "EUR", INT64_MAX - 10));
  scw_charge_t c = ch("p", "n", "s", "", NULL, "EUR", 100);
  assert_int_equal(scw_agg_add(agg, &c, NULL), SCW_ERR_OVERFLOW);
  scw_agg_free(agg);
}

static void test_many_groups(void **state) {
  (void)state;
  enum { N = 10000 };
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  char pid[32], sku[32], rid[32];
  /* Each group gets two charges, interleaved, so lookups after growth
   * must find the existing group. */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < N; i++) {
      snprintf(pid, sizeof(pid), "proj-%d", i % 37);
      snprintf(sku, sizeof(sku), "/sku/%d", i % 101);
      snprintf(rid, sizeof(rid), "res-%d", i);
      add_ok(agg, ch(pid, NULL, sku, rid, NULL, "EUR",
                     INT64_C(1000000000) * i + pass + 1));
    }
  assert_int_equal(agg->n_groups, N);
  assert_int_equal(agg->n_projects, 37);
  assert_int_equal(agg->charges, 2 * N);
  /* sum over i of 2e9*i + 3 = 1e9 * N(N-1) + 3N */
  assert_true(agg->total_nanos == INT64_C(1000000000) * N * (N - 1) + 3 * N);
  for (int i = 0; i < N; i += 997) {
    snprintf(pid, sizeof(pid), "proj-%d", i % 37);
    snprintf(sku, sizeof(sku), "/sku/%d", i % 101);
    snprintf(rid, sizeof(rid), "res-%d", i);
    const scw_group_t *g = find_group(agg, pid, sku, rid);
    assert_true(g->nanos == INT64_C(2000000000) * i + 3);
    assert_int_equal(g->charges, 2);
  }
  int64_t sum = 0;
  for (size_t i = 0; i < agg->n_groups; i++) {
    assert_int_equal(agg->groups[i].charges, 2);
    sum += agg->groups[i].nanos;
  }
  assert_true(sum == agg->total_nanos);
  scw_agg_free(agg);
}

static void test_keys_do_not_collide(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add_ok(agg, ch("a", NULL, "b:c", "", NULL, "EUR", 1));
  add_ok(agg, ch("a:b", NULL, "c", "", NULL, "EUR", 2));
  add_ok(agg, ch("1:a", NULL, "c", "", NULL, "EUR", 4));
  add_ok(agg, ch("a", NULL, "1:c", "", NULL, "EUR", 8));
  add_ok(agg, ch("3:a", NULL, "1:c", "", NULL, "EUR", 16));
  assert_int_equal(agg->n_projects, 4);
  assert_int_equal(agg->n_groups, 5);
  assert_true(find_group(agg, "a", "b:c", NULL)->nanos == 1);
  assert_true(find_group(agg, "a:b", "c", NULL)->nanos == 2);
  assert_true(find_group(agg, "1:a", "c", NULL)->nanos == 4);
  assert_true(find_group(agg, "a", "1:c", NULL)->nanos == 8);
  assert_true(find_group(agg, "3:a", "1:c", NULL)->nanos == 16);
  scw_agg_free(agg);

  agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add_ok(agg, ch("p", NULL, "s", "x:y", NULL, "EUR", 1));
  add_ok(agg, ch("p", NULL, "s:x", "y", NULL, "EUR", 2));
  add_ok(agg, ch("p", NULL, "s1:x", "y", NULL, "EUR", 4));
  add_ok(agg, ch("p", NULL, "", "", NULL, "EUR", 8));
  add_ok(agg, ch("p", NULL, "0:", "", NULL, "EUR", 16));
  assert_int_equal(agg->n_groups, 5);
  scw_agg_free(agg);
}

static void test_strings_copied(void **state) {
  (void)state;
  char pid[] = "project", name[] = "name", sku[] = "sku", rid[] = "rid",
       rname[] = "rname";
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add_ok(agg, ch(pid, name, sku, rid, rname, "EUR", 1));
  memset(pid, 'X', sizeof(pid) - 1);
  memset(name, 'X', sizeof(name) - 1);
  memset(sku, 'X', sizeof(sku) - 1);
  memset(rid, 'X', sizeof(rid) - 1);
  memset(rname, 'X', sizeof(rname) - 1);
  assert_string_equal(agg->projects[0].id, "project");
  assert_string_equal(agg->projects[0].name, "name");
  assert_string_equal(agg->groups[0].sku, "sku");
  assert_string_equal(agg->groups[0].resource_id, "rid");
  assert_string_equal(agg->groups[0].resource_name, "rname");
  scw_agg_free(agg);
}

static void test_group_by_parse_name(void **state) {
  (void)state;
  scw_group_by_t g = SCW_GROUP_RESOURCE;
  assert_int_equal(scw_group_by_parse("organization", &g), 0);
  assert_int_equal(g, SCW_GROUP_ORGANIZATION);
  assert_int_equal(scw_group_by_parse("Project", &g), 0);
  assert_int_equal(g, SCW_GROUP_PROJECT);
  assert_int_equal(scw_group_by_parse("SKU", &g), 0);
  assert_int_equal(g, SCW_GROUP_SKU);
  assert_int_equal(scw_group_by_parse("resource", &g), 0);
  assert_int_equal(g, SCW_GROUP_RESOURCE);
  g = SCW_GROUP_SKU;
  assert_int_equal(scw_group_by_parse("resources", &g), -1);
  assert_int_equal(scw_group_by_parse("", &g), -1);
  assert_int_equal(scw_group_by_parse("org", &g), -1);
  assert_int_equal(g, SCW_GROUP_SKU); /* untouched on failure */
  assert_string_equal(scw_group_by_name(SCW_GROUP_ORGANIZATION), "organization");
  assert_string_equal(scw_group_by_name(SCW_GROUP_PROJECT), "project");
  assert_string_equal(scw_group_by_name(SCW_GROUP_SKU), "sku");
  assert_string_equal(scw_group_by_name(SCW_GROUP_RESOURCE), "resource");
}

static void test_free_null(void **state) {
  (void)state;
  scw_agg_free(NULL);
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  scw_agg_free(agg); /* empty aggregate */
}

/* A page cut half-way is taken back: the aggregate is as before the mark,
 * new groups and projects included, and the same page added again counts
 * once. */
static void test_mark_undo(void **state) {
  (void)state;
  for (int gb = SCW_GROUP_ORGANIZATION; gb <= SCW_GROUP_RESOURCE; gb++) {
    scw_agg_t *agg = scw_agg_new((scw_group_by_t)gb, "EUR");
    assert_non_null(agg);
    scw_agg_mark(agg);
    add_ok(agg, ch("p1", "one", "/a", "r1", NULL, "EUR", 100));
    add_ok(agg, ch("p2", NULL, "/b", "r2", NULL, "USD", 7));
    scw_agg_mark(agg); /* page 2 starts */
    for (int i = 0; i < 300; i++) { /* new groups and projects: tables grow */
      char pid[16], rid[16];
      snprintf(pid, sizeof(pid), "q%d", i % 40);
      snprintf(rid, sizeof(rid), "r%d", i);
      add_ok(agg, ch(pid, NULL, "/c", rid, "n", "EUR", i));
    }
    add_ok(agg, ch("p1", "renamed", "/a", "r1", NULL, "EUR", 5));
    add_ok(agg, ch("p3", NULL, "/d", "r3", NULL, "GBP", 9));
    scw_agg_undo(agg); /* cut: page 2 is fetched again */
    assert_true(agg->total_nanos == 100);
    assert_int_equal(agg->charges, 1);
    assert_int_equal(agg->skipped, 1);
    assert_int_equal(agg->n_other_currencies, 1);
    if (gb == SCW_GROUP_ORGANIZATION) {
      assert_int_equal(agg->n_groups, 0);
    } else {
      assert_int_equal(agg->n_projects, 1);
      assert_int_equal(agg->n_groups, 1);
      assert_true(find_group(agg, "p1", NULL, NULL)->nanos == 100);
      assert_int_equal(find_group(agg, "p1", NULL, NULL)->charges, 1);
    }
    scw_agg_undo(agg); /* twice is harmless */
    assert_int_equal(agg->charges, 1);
    add_ok(agg, ch("p1", NULL, "/a", "r1", NULL, "EUR", 5));
    add_ok(agg, ch("q1", NULL, "/c", "r1", NULL, "EUR", 3));
    assert_true(agg->total_nanos == 108);
    if (gb != SCW_GROUP_ORGANIZATION) {
      assert_true(find_group(agg, "p1", NULL, NULL)->nanos == 105);
      assert_true(find_group(agg, "q1", NULL, NULL)->nanos == 3);
      assert_int_equal(agg->n_projects, 2);
    }
    scw_agg_free(agg);
  }
  /* Without a mark, undo does nothing. */
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add_ok(agg, ch("p1", NULL, "/a", "", NULL, "EUR", 1));
  scw_agg_undo(agg);
  assert_int_equal(agg->charges, 1);
  scw_agg_free(agg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_group_organization),
      cmocka_unit_test(test_group_project),
      cmocka_unit_test(test_group_sku),
      cmocka_unit_test(test_group_resource),
      cmocka_unit_test(test_resource_name_latest),
      cmocka_unit_test(test_project_name_last_non_empty),
      cmocka_unit_test(test_projects_sharing_a_name),
      cmocka_unit_test(test_other_currencies_skipped),
      cmocka_unit_test(test_currency_case_insensitive),
      cmocka_unit_test(test_other_currencies_list_bounded),
      cmocka_unit_test(test_charge_without_price),
      cmocka_unit_test(test_negative_credits),
      cmocka_unit_test(test_overflow),
      cmocka_unit_test(test_group_overflow_total_fits),
      cmocka_unit_test(test_many_groups),
      cmocka_unit_test(test_keys_do_not_collide),
      cmocka_unit_test(test_strings_copied),
      cmocka_unit_test(test_group_by_parse_name),
      cmocka_unit_test(test_free_null),
      cmocka_unit_test(test_mark_undo),
  };
  return cmocka_run_group_tests_name("agg", tests, NULL, NULL);
}
