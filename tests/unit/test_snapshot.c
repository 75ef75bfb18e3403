/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_snapshot.c: series naming and the slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_snapshot.h"

static void add(scw_agg_t *agg, const char *pid, const char *pname,
                const char *sku, const char *rid, const char *rname,
                int64_t nanos) {
  scw_charge_t c = {
      .project_id = pid,
      .project_name = pname,
      .sku = sku,
      .resource_id = rid,
      .resource_name = rname,
      .currency = "EUR",
      .nanos = nanos,
  };
  scw_error_t err = {0};
  scw_rc_t rc = scw_agg_add(agg, &c, &err);
  if (rc != SCW_OK)
    fail_msg("scw_agg_add: %s", err.msg);
}

static scw_snapshot_t *build(scw_agg_t *agg, scw_label_mode_t mode) {
  scw_snapshot_t *snap = (scw_snapshot_t *)0x1;
  scw_error_t err = {0};
  scw_rc_t rc = scw_snapshot_build(agg, mode, &snap, &err);
  if (rc != SCW_OK)
    fail_msg("scw_snapshot_build: %s", err.msg);
  assert_non_null(snap);
  assert_int_equal(atomic_load(&snap->refs), 1);
  return snap;
}

static const scw_series_t *find(const scw_snapshot_t *s, const char *pi,
                                const char *ti) {
  for (size_t i = 0; i < s->n_series; i++)
    if (strcmp(s->series[i].plugin_instance, pi) == 0 &&
        strcmp(s->series[i].type_instance, ti) == 0)
      return &s->series[i];
  fail_msg("no series %s/%s", pi, ti);
  return NULL;
}

static void assert_sorted_unique(const scw_snapshot_t *s) {
  for (size_t i = 1; i < s->n_series; i++) {
    const scw_series_t *a = &s->series[i - 1], *b = &s->series[i];
    int c = strcmp(a->plugin_instance, b->plugin_instance);
    if (c == 0)
      c = strcmp(a->type_instance, b->type_instance);
    if (c >= 0)
      fail_msg("series %zu (%s/%s) not before %zu (%s/%s)", i - 1,
               a->plugin_instance, a->type_instance, i, b->plugin_instance,
               b->type_instance);
  }
}

static void hashed(char *out, size_t size, const char *label, const char *key) {
  snprintf(out, size, "%s-%08x", label, scw_hash32(key));
}

#define P1 "7c1e2b1a-5d3f-4e8a-9b0c-2f4d6a8e0b13"
#define P2 "11111111-2222-3333-4444-555555555555"

static void test_sku_labels_by_name(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "my prod", "/compute/dev1_s/run_par1", "r1", NULL, 100);
  add(agg, P1, "my prod", "/compute/dev1_s/run_par1", "r2", NULL, 200);
  add(agg, P1, "my prod", "GP1/XS:v2", "r3", NULL, 5);
  add(agg, P2, NULL, "/compute/dev1_s/run_par1", "r4", NULL, 7);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 3);
  assert_int_equal(s->n_renamed, 0);
  assert_sorted_unique(s);
  const scw_series_t *se = find(s, "my_prod", "compute-dev1_s-run_par1");
  assert_true(se->nanos == 300);
  assert_int_equal(se->charges, 2);
  assert_string_equal(se->project_id, P1);
  assert_string_equal(se->project_name, "my prod");
  assert_string_equal(se->sku, "/compute/dev1_s/run_par1");
  assert_null(se->resource_id);
  assert_null(se->resource_name);
  se = find(s, "my_prod", "GP1-XS_v2");
  assert_true(se->nanos == 5);
  assert_string_equal(se->sku, "GP1/XS:v2");
  /* No name: the id is the label. Same SKU in another project: no suffix. */
  se = find(s, P2, "compute-dev1_s-run_par1");
  assert_true(se->nanos == 7);
  assert_null(se->project_name);
  scw_snapshot_release(s);
}

static void test_sku_labels_by_id(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "prod", "/a", "", NULL, 1);
  add(agg, P2, "dev", "/a", "", NULL, 2);
  scw_snapshot_t *s = build(agg, SCW_LABEL_ID);
  assert_int_equal(s->n_series, 2);
  assert_true(find(s, P1, "a")->nanos == 1);
  assert_true(find(s, P2, "a")->nanos == 2);
  /* The name still travels as meta data. */
  assert_string_equal(find(s, P1, "a")->project_name, "prod");
  assert_sorted_unique(s);
  assert_string_equal(s->series[0].plugin_instance, P2); /* "1..." < "7..." */
  scw_snapshot_release(s);
}

static void test_name_that_cleans_empty_uses_id(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  add(agg, "proj/one", "///", "s", "", NULL, 1);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 1);
  assert_string_equal(s->series[0].plugin_instance, "proj-one");
  scw_snapshot_release(s);
}

static void test_project_grouping(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  add(agg, P1, "prod", "/a", "r", "n", 10);
  add(agg, P1, "prod", "/b", "r", "n", 20);
  add(agg, P2, "dev", "/a", "r", "n", 5);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 2);
  const scw_series_t *se = find(s, "prod", "");
  assert_true(se->nanos == 30);
  assert_int_equal(se->charges, 2);
  assert_null(se->sku);
  assert_null(se->resource_id);
  assert_true(find(s, "dev", "")->nanos == 5);
  /* Sorted: "dev" < "prod". */
  assert_string_equal(s->series[0].plugin_instance, "dev");
  assert_string_equal(s->series[1].plugin_instance, "prod");
  assert_int_equal(s->n_renamed, 0);
  scw_snapshot_release(s);
}

static void test_resource_labels(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add(agg, P1, "prod", "/compute/dev1_s/run_par1",
      "0d6a4f2e-9c1b-4e7a-b3d5-8f2e1c0a9b74", "web-1", 1);
  add(agg, P1, "prod", "/object-storage/std", "fr-par/acme-backups", NULL, 2);
  add(agg, P1, "prod", "/ipv4", "", NULL, 4);
  add(agg, P1, "prod", "/ipv4", "x", "my ip", 8);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 4);
  assert_sorted_unique(s);
  const scw_series_t *se = find(s, "prod", "compute-dev1_s-run_par1-web-1");
  assert_true(se->nanos == 1);
  assert_string_equal(se->resource_id, "0d6a4f2e-9c1b-4e7a-b3d5-8f2e1c0a9b74");
  assert_string_equal(se->resource_name, "web-1");
  se = find(s, "prod", "object-storage-std-fr-par-acme-backups");
  assert_true(se->nanos == 2);
  assert_null(se->resource_name);
  /* No resource name and an empty id: a placeholder with the hash of "". */
  char want[48];
  snprintf(want, sizeof(want), "ipv4-unknown-%08x", scw_hash32(""));
  assert_true(find(s, "prod", want)->nanos == 4);
  assert_true(find(s, "prod", "ipv4-my_ip")->nanos == 8);
  assert_int_equal(s->n_renamed, 0);
  scw_snapshot_release(s);
}

static void test_same_project_name_suffixed(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "default", "/a", "", NULL, 1);
  add(agg, P2, "default", "/a", "", NULL, 2);
  add(agg, "p3", "other", "/a", "", NULL, 4);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 3);
  assert_int_equal(s->n_renamed, 2);
  char l1[SCW_NAME_SIZE], l2[SCW_NAME_SIZE];
  hashed(l1, sizeof(l1), "default", P1);
  hashed(l2, sizeof(l2), "default", P2);
  assert_string_not_equal(l1, l2);
  const scw_series_t *a = find(s, l1, "a");
  const scw_series_t *b = find(s, l2, "a");
  assert_true(a->nanos == 1);
  assert_string_equal(a->project_id, P1);
  assert_true(b->nanos == 2);
  assert_string_equal(b->project_id, P2);
  assert_true(find(s, "other", "a")->nanos == 4);
  assert_sorted_unique(s);
  scw_snapshot_release(s);
}

static void test_name_equal_to_other_id(void **state) {
  (void)state;
  /* A project named like another project's id (which has no name). */
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  add(agg, "abc", NULL, "/a", "", NULL, 1);
  add(agg, "xyz", "abc", "/a", "", NULL, 2);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 2);
  assert_sorted_unique(s);
  assert_int_equal(s->n_renamed, 2);
  scw_snapshot_release(s);
}

static void test_suffixed_label_meets_real_name(void **state) {
  (void)state;
  /* Two projects named "x" get "x-<hash of id>"; a third project is already
   * named exactly like one of those results. All three must stay distinct. */
  char crafted[SCW_NAME_SIZE];
  hashed(crafted, sizeof(crafted), "x", "pa");
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  add(agg, "pa", "x", "/s", "", NULL, 1);
  add(agg, "pb", "x", "/s", "", NULL, 2);
  add(agg, "pc", crafted, "/s", "", NULL, 4);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 3);
  assert_sorted_unique(s);
  scw_snapshot_release(s);

  /* The same within one project, for SKU labels. */
  hashed(crafted, sizeof(crafted), "a_", "a:");
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, "p", NULL, "a:", "", NULL, 1);
  add(agg, "p", NULL, "a.", "", NULL, 2);
  add(agg, "p", NULL, crafted, "", NULL, 4);
  s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 3);
  assert_sorted_unique(s);
  scw_snapshot_release(s);
}

static void test_sku_clash_within_project(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "prod", "/a/b", "", NULL, 1);
  add(agg, P1, "prod", "a/b/", "", NULL, 2);
  add(agg, P1, "prod", "x:y", "", NULL, 4);
  add(agg, P1, "prod", "x.y", "", NULL, 8);
  add(agg, P1, "prod", "unique", "", NULL, 16);
  /* The same SKUs in another project are not clashing with those. */
  add(agg, P2, "dev", "/a/b", "", NULL, 32);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 6);
  assert_int_equal(s->n_renamed, 4);
  assert_sorted_unique(s);
  char t[SCW_NAME_SIZE];
  hashed(t, sizeof(t), "a-b", "/a/b");
  assert_true(find(s, "prod", t)->nanos == 1);
  hashed(t, sizeof(t), "a-b", "a/b/");
  assert_true(find(s, "prod", t)->nanos == 2);
  hashed(t, sizeof(t), "x_y", "x:y");
  assert_true(find(s, "prod", t)->nanos == 4);
  assert_string_equal(find(s, "prod", t)->sku, "x:y");
  hashed(t, sizeof(t), "x_y", "x.y");
  assert_true(find(s, "prod", t)->nanos == 8);
  assert_true(find(s, "prod", "unique")->nanos == 16);
  assert_true(find(s, "dev", "a-b")->nanos == 32);
  scw_snapshot_release(s);
}

static void test_resource_clash(void **state) {
  (void)state;
  /* Two resources with the same display name under one SKU. */
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add(agg, P1, "prod", "/vm", "id-1", "web", 1);
  add(agg, P1, "prod", "/vm", "id-2", "web", 2);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 2);
  assert_int_equal(s->n_renamed, 2);
  assert_sorted_unique(s);
  char t[SCW_NAME_SIZE];
  hashed(t, sizeof(t), "vm-web", "/vm\x1fid-1");
  const scw_series_t *se = find(s, "prod", t);
  assert_true(se->nanos == 1);
  assert_string_equal(se->resource_id, "id-1");
  hashed(t, sizeof(t), "vm-web", "/vm\x1fid-2");
  assert_true(find(s, "prod", t)->nanos == 2);
  scw_snapshot_release(s);
}

static void test_long_names_cut(void **state) {
  (void)state;
  char long_sku[400], long_name[300];
  memset(long_sku, 's', sizeof(long_sku) - 1);
  long_sku[sizeof(long_sku) - 1] = '\0';
  memset(long_name, 'n', sizeof(long_name) - 1);
  long_name[sizeof(long_name) - 1] = '\0';
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, long_name, long_sku, "", NULL, 1);
  long_sku[200] = 't'; /* same first 118 bytes */
  add(agg, P1, long_name, long_sku, "", NULL, 2);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 2);
  /* project label cut (counted once), both SKU labels cut. */
  assert_int_equal(s->n_renamed, 3);
  assert_sorted_unique(s);
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(strlen(s->series[i].plugin_instance), SCW_NAME_SIZE - 1);
    assert_int_equal(strlen(s->series[i].type_instance), SCW_NAME_SIZE - 1);
  }
  assert_string_equal(s->series[0].plugin_instance, s->series[1].plugin_instance);
  assert_string_not_equal(s->series[0].type_instance, s->series[1].type_instance);
  scw_snapshot_release(s);
}

static void test_sorted_many(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  char pid[16], sku[16];
  int64_t sum = 0;
  for (int i = 0; i < 300; i++) {
    snprintf(pid, sizeof(pid), "p%d", (i * 7) % 13);
    snprintf(sku, sizeof(sku), "s%d", (i * 31) % 97);
    add(agg, pid, NULL, sku, "", NULL, i);
    sum += i;
  }
  size_t groups = agg->n_groups;
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, groups);
  assert_sorted_unique(s);
  int64_t got = 0;
  for (size_t i = 0; i < s->n_series; i++)
    got += s->series[i].nanos;
  assert_true(got == sum);
  assert_true(s->total_nanos == sum);
  scw_snapshot_release(s);
}

static void test_meta_pointers_and_totals(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add(agg, P1, "prod", "/b", "r2", "two", 20);
  add(agg, P1, "prod", "/a", "r1", "one", 10);
  scw_charge_t usd = {.project_id = P1, .sku = "/a", .resource_id = "r1",
                      .currency = "USD", .nanos = 99};
  assert_int_equal(scw_agg_add(agg, &usd, NULL), SCW_OK);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_ptr_equal(s->agg, agg);
  assert_true(s->total_nanos == 30);
  assert_string_equal(s->currency, "EUR");
  assert_int_equal(s->charges, 2);
  assert_int_equal(s->skipped, 1);
  assert_int_equal(s->n_series, 2);
  /* Meta pointers point into the aggregate, which the snapshot owns. */
  for (size_t i = 0; i < s->n_series; i++) {
    const scw_series_t *se = &s->series[i];
    const scw_group_t *g = NULL;
    for (size_t j = 0; j < agg->n_groups; j++)
      if (agg->groups[j].sku == se->sku)
        g = &agg->groups[j];
    assert_non_null(g);
    assert_ptr_equal(se->resource_id, g->resource_id);
    assert_ptr_equal(se->resource_name, g->resource_name);
    assert_ptr_equal(se->project_id, agg->projects[g->project].id);
    assert_ptr_equal(se->project_name, agg->projects[g->project].name);
    assert_true(se->nanos == g->nanos);
    assert_int_equal(se->charges, g->charges);
  }
  /* Sorted by type_instance: "a-one" then "b-two". */
  assert_string_equal(s->series[0].type_instance, "a-one");
  assert_string_equal(s->series[0].resource_name, "one");
  assert_string_equal(s->series[1].type_instance, "b-two");
  assert_string_equal(s->series[1].sku, "/b");
  scw_snapshot_release(s);
}

static void test_organization_and_empty(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_ORGANIZATION, "EUR");
  add(agg, P1, "prod", "/a", "", NULL, 10);
  add(agg, P2, "dev", "/b", "", NULL, 5);
  scw_snapshot_t *s = build(agg, SCW_LABEL_NAME);
  assert_int_equal(s->n_series, 0);
  assert_true(s->total_nanos == 15);
  assert_int_equal(s->charges, 2);
  scw_snapshot_release(s);

  s = build(scw_agg_new(SCW_GROUP_RESOURCE, "EUR"), SCW_LABEL_ID);
  assert_int_equal(s->n_series, 0);
  assert_true(s->total_nanos == 0);
  assert_string_equal(s->currency, "EUR");
  scw_snapshot_release(s);
  scw_snapshot_release(NULL);
}

/* ---- names stable within a billing period ------------------------------ */

#define NOV "2026-11"
#define DEC "2026-12"

static int str_same(const char *x, const char *y) {
  return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/* The names table: valid labels, no identifier and no key twice, and every
 * series in it under its own key. */
static void assert_names_table(const scw_snapshot_t *s) {
  const scw_names_t *t = scw_snapshot_names(s);
  assert_non_null(t);
  assert_string_equal(scw_names_period(t), s->period);
  assert_int_equal(scw_names_group_by(t), s->agg->group_by);
  size_t n = scw_names_count(t);
  assert_true(n >= s->n_series);
  assert_null(scw_names_entry(t, n));
  for (size_t i = 0; i < n; i++) {
    const scw_name_entry_t *e = scw_names_entry(t, i);
    assert_true(scw_name_is_label(e->plugin_instance, 0));
    assert_true(scw_name_is_label(e->type_instance, 1));
    if (e->project_id == NULL)
      assert_true(e->sku == NULL && e->resource_id == NULL);
    for (size_t j = 0; j < i; j++) {
      const scw_name_entry_t *f = scw_names_entry(t, j);
      if (strcmp(e->plugin_instance, f->plugin_instance) == 0 &&
          strcmp(e->type_instance, f->type_instance) == 0)
        fail_msg("identifier %s/%s twice in the names table",
                 e->plugin_instance, e->type_instance);
      if (e->project_id != NULL && str_same(e->project_id, f->project_id) &&
          str_same(e->sku, f->sku) && str_same(e->resource_id, f->resource_id))
        fail_msg("key %s twice in the names table", e->project_id);
    }
  }
  for (size_t k = 0; k < s->n_series; k++) {
    const scw_series_t *se = &s->series[k];
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
      const scw_name_entry_t *e = scw_names_entry(t, i);
      if (str_same(e->project_id, se->project_id) && str_same(e->sku, se->sku) &&
          str_same(e->resource_id, se->resource_id)) {
        assert_string_equal(e->plugin_instance, se->plugin_instance);
        assert_string_equal(e->type_instance, se->type_instance);
        hits++;
      }
    }
    assert_int_equal(hits, 1);
  }
}

/* A build of `period` that honours prev's names (prev may be NULL), with
 * the invariants checked: series unique and sorted, names table sound. */
static scw_snapshot_t *build_in(scw_agg_t *agg, scw_label_mode_t mode,
                                const char *period, const scw_snapshot_t *prev) {
  scw_snapshot_t *snap = (scw_snapshot_t *)0x1;
  scw_error_t err = {0};
  scw_rc_t rc = scw_snapshot_build_period(
      agg, mode, period, prev ? scw_snapshot_names(prev) : NULL, &snap, &err);
  if (rc != SCW_OK)
    fail_msg("scw_snapshot_build_period: %s", err.msg);
  assert_non_null(snap);
  assert_string_equal(snap->period, period ? period : "");
  assert_sorted_unique(snap);
  assert_names_table(snap);
  return snap;
}

/* The series of a group (by raw key; sku/rid NULL when not grouped). */
static const scw_series_t *by_key(const scw_snapshot_t *s, const char *pid,
                                  const char *sku, const char *rid) {
  for (size_t i = 0; i < s->n_series; i++)
    if (strcmp(s->series[i].project_id, pid) == 0 &&
        str_same(s->series[i].sku, sku) && str_same(s->series[i].resource_id, rid))
      return &s->series[i];
  fail_msg("no series for project %s", pid);
  return NULL;
}

static void assert_named(const scw_snapshot_t *s, const char *pid,
                         const char *sku, const char *rid, const char *pi,
                         const char *ti) {
  const scw_series_t *se = by_key(s, pid, sku, rid);
  assert_string_equal(se->plugin_instance, pi);
  assert_string_equal(se->type_instance, ti);
}

/* The case: project "web" (A) has its series; a second project
 * named "web" (B) appears mid-month. A keeps "web", only B is suffixed. */
static void test_incumbent_keeps_project_name(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  scw_snapshot_t *s1 = build_in(agg, SCW_LABEL_NAME, NOV, NULL);
  assert_named(s1, P1, "/a", NULL, "web", "a");

  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, P2, "web", "/a", "", NULL, 2);
  add(agg, P1, "web", "/b", "", NULL, 4); /* A's new SKU: under "web" too */
  scw_snapshot_t *s2 = build_in(agg, SCW_LABEL_NAME, NOV, s1);
  char b[SCW_NAME_SIZE];
  hashed(b, sizeof(b), "web", P2);
  assert_named(s2, P1, "/a", NULL, "web", "a");
  assert_named(s2, P1, "/b", NULL, "web", "b");
  assert_named(s2, P2, "/a", NULL, b, "a");
  assert_true(by_key(s2, P2, "/a", NULL)->nanos == 2);
  assert_int_equal(s2->n_renamed, 1);
  scw_snapshot_release(s1);

  /* The next refresh changes nothing, and money is untouched. */
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P2, "web", "/a", "", NULL, 20);
  add(agg, P1, "web", "/a", "", NULL, 10);
  scw_snapshot_t *s3 = build_in(agg, SCW_LABEL_NAME, NOV, s2);
  assert_named(s3, P1, "/a", NULL, "web", "a");
  assert_named(s3, P2, "/a", NULL, b, "a");
  assert_true(s3->total_nanos == 30);
  scw_snapshot_release(s2);
  scw_snapshot_release(s3);
}

/* Same for GroupBy project and label mode id: nothing to clash on, but the
 * names still come from the table. */
static void test_incumbent_keeps_project_grouping(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  add(agg, "pa", "web", "/a", "", NULL, 1);
  scw_snapshot_t *s1 = build_in(agg, SCW_LABEL_NAME, NOV, NULL);
  agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  add(agg, "pb", "web", "/a", "", NULL, 2);
  add(agg, "pa", "web", "/a", "", NULL, 1);
  scw_snapshot_t *s2 = build_in(agg, SCW_LABEL_NAME, NOV, s1);
  char b[SCW_NAME_SIZE];
  hashed(b, sizeof(b), "web", "pb");
  assert_named(s2, "pa", NULL, NULL, "web", "");
  assert_named(s2, "pb", NULL, NULL, b, "");
  scw_snapshot_release(s1);
  scw_snapshot_release(s2);
}

/* Two SKUs that clean alike: the one seen first keeps the plain label. */
static void test_incumbent_keeps_sku_name(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "prod", "x:y", "", NULL, 1);
  scw_snapshot_t *s1 = build_in(agg, SCW_LABEL_NAME, NOV, NULL);
  assert_named(s1, P1, "x:y", NULL, "prod", "x_y");

  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "prod", "x.y", "", NULL, 2);
  add(agg, P1, "prod", "x:y", "", NULL, 1);
  add(agg, P2, "dev", "x.y", "", NULL, 4); /* other project: no clash */
  scw_snapshot_t *s2 = build_in(agg, SCW_LABEL_NAME, NOV, s1);
  char t[SCW_NAME_SIZE];
  hashed(t, sizeof(t), "x_y", "x.y");
  assert_named(s2, P1, "x:y", NULL, "prod", "x_y");
  assert_named(s2, P1, "x.y", NULL, "prod", t);
  assert_named(s2, P2, "x.y", NULL, "dev", "x_y");
  assert_int_equal(s2->n_renamed, 1);
  scw_snapshot_release(s1);
  scw_snapshot_release(s2);
}

static void test_incumbent_keeps_resource_name(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add(agg, P1, "prod", "/vm", "id-1", "web", 1);
  scw_snapshot_t *s1 = build_in(agg, SCW_LABEL_NAME, NOV, NULL);
  agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add(agg, P1, "prod", "/vm", "id-2", "web", 2);
  add(agg, P1, "prod", "/vm", "id-1", "web", 1);
  scw_snapshot_t *s2 = build_in(agg, SCW_LABEL_NAME, NOV, s1);
  char t[SCW_NAME_SIZE];
  hashed(t, sizeof(t), "vm-web", "/vm\x1fid-2");
  assert_named(s2, P1, "/vm", "id-1", "prod", "vm-web");
  assert_named(s2, P1, "/vm", "id-2", "prod", t);
  scw_snapshot_release(s1);
  scw_snapshot_release(s2);
}

/* A group missing from one refresh keeps its name, and nobody takes it in
 * the meantime. */
static void test_absent_group_keeps_name(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, "pc", "other", "/a", "", NULL, 1);
  scw_snapshot_t *s1 = build_in(agg, SCW_LABEL_NAME, NOV, NULL);

  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, "pc", "other", "/a", "", NULL, 1);
  add(agg, P2, "web", "/a", "", NULL, 2); /* a namesake while A is away */
  scw_snapshot_t *s2 = build_in(agg, SCW_LABEL_NAME, NOV, s1);
  char b[SCW_NAME_SIZE];
  hashed(b, sizeof(b), "web", P2);
  assert_int_equal(s2->n_series, 2);
  assert_named(s2, P2, "/a", NULL, b, "a");
  /* A's name is carried in the table, with its key. */
  const scw_names_t *t = scw_snapshot_names(s2);
  int carried = 0;
  for (size_t i = 0; i < scw_names_count(t); i++) {
    const scw_name_entry_t *e = scw_names_entry(t, i);
    if (e->project_id != NULL && strcmp(e->project_id, P1) == 0) {
      assert_string_equal(e->plugin_instance, "web");
      assert_string_equal(e->sku, "/a");
      carried++;
    }
  }
  assert_int_equal(carried, 1);
  scw_snapshot_release(s1);

  /* Two refreshes later A is back: "web" again. */
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P2, "web", "/a", "", NULL, 2);
  scw_snapshot_t *s3 = build_in(agg, SCW_LABEL_NAME, NOV, s2);
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P2, "web", "/a", "", NULL, 2);
  add(agg, P1, "web", "/a", "", NULL, 1);
  scw_snapshot_t *s4 = build_in(agg, SCW_LABEL_NAME, NOV, s3);
  assert_named(s4, P1, "/a", NULL, "web", "a");
  assert_named(s4, P2, "/a", NULL, b, "a");
  scw_snapshot_release(s2);
  scw_snapshot_release(s3);
  scw_snapshot_release(s4);
}

/* A new month starts from scratch: the clash rule for groups without
 * history (every member suffixed), and renamed projects get their new name. */
static void test_new_period_starts_fresh(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, "pc", "shop", "/a", "", NULL, 1);
  scw_snapshot_t *s1 = build_in(agg, SCW_LABEL_NAME, NOV, NULL);

  /* Same month: "shop" renamed "store" keeps its identifier. */
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, P2, "web", "/a", "", NULL, 2);
  add(agg, "pc", "store", "/a", "", NULL, 1);
  scw_snapshot_t *nov = build_in(agg, SCW_LABEL_NAME, NOV, s1);
  assert_named(nov, "pc", "/a", NULL, "shop", "a");
  assert_named(nov, P1, "/a", NULL, "web", "a");
  assert_int_equal(nov->n_renamed, 2); /* B suffixed, "store" kept as "shop" */
  scw_snapshot_release(nov);

  /* Next month, with November's table passed in: ignored. */
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, P2, "web", "/a", "", NULL, 2);
  add(agg, "pc", "store", "/a", "", NULL, 1);
  scw_snapshot_t *dec = build_in(agg, SCW_LABEL_NAME, DEC, s1);
  char a[SCW_NAME_SIZE], b[SCW_NAME_SIZE];
  hashed(a, sizeof(a), "web", P1);
  hashed(b, sizeof(b), "web", P2);
  assert_named(dec, P1, "/a", NULL, a, "a");
  assert_named(dec, P2, "/a", NULL, b, "a");
  assert_named(dec, "pc", "/a", NULL, "store", "a");
  assert_string_equal(scw_names_period(scw_snapshot_names(dec)), DEC);
  scw_snapshot_release(dec);
  scw_snapshot_release(s1);
}

/* No previous table (a restart, or the first refresh): today's rule, i.e.
 * the same as scw_snapshot_build; the plain label of the clash is reserved,
 * so a third namesake later in the month gets a suffix too, just as after
 * another restart. */
static void test_previous_null_suffixes_all(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, P2, "web", "/a", "", NULL, 2);
  scw_snapshot_t *s1 = build_in(agg, SCW_LABEL_NAME, NOV, NULL);
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, P2, "web", "/a", "", NULL, 2);
  scw_snapshot_t *plain = build(agg, SCW_LABEL_NAME);
  assert_int_equal(plain->n_series, s1->n_series);
  for (size_t i = 0; i < s1->n_series; i++) {
    assert_string_equal(s1->series[i].plugin_instance, plain->series[i].plugin_instance);
    assert_string_equal(s1->series[i].type_instance, plain->series[i].type_instance);
  }
  assert_int_equal(s1->n_renamed, plain->n_renamed);
  scw_snapshot_release(plain);
  char a[SCW_NAME_SIZE], b[SCW_NAME_SIZE], c[SCW_NAME_SIZE];
  hashed(a, sizeof(a), "web", P1);
  hashed(b, sizeof(b), "web", P2);
  hashed(c, sizeof(c), "web", "p3");
  assert_named(s1, P1, "/a", NULL, a, "a");
  /* "web" is in the table, held by no group. */
  const scw_names_t *t = scw_snapshot_names(s1);
  int reserved = 0;
  for (size_t i = 0; i < scw_names_count(t); i++) {
    const scw_name_entry_t *e = scw_names_entry(t, i);
    reserved += e->project_id == NULL && strcmp(e->plugin_instance, "web") == 0;
  }
  assert_int_equal(reserved, 1);

  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, P2, "web", "/a", "", NULL, 2);
  add(agg, "p3", "web", "/a", "", NULL, 4);
  add(agg, "p4", a, "/a", "", NULL, 8); /* named like A's result */
  scw_snapshot_t *s2 = build_in(agg, SCW_LABEL_NAME, NOV, s1);
  assert_named(s2, P1, "/a", NULL, a, "a");
  assert_named(s2, P2, "/a", NULL, b, "a");
  assert_named(s2, "p3", "/a", NULL, c, "a");
  hashed(c, sizeof(c), a, "p4");
  assert_named(s2, "p4", "/a", NULL, c, "a");
  scw_snapshot_release(s1);
  scw_snapshot_release(s2);
}

/* A table of another GroupBy or label mode is not used. */
static void test_other_kind_of_table_ignored(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  scw_snapshot_t *s1 = build_in(agg, SCW_LABEL_NAME, NOV, NULL);
  char a[SCW_NAME_SIZE];
  hashed(a, sizeof(a), "web", P1);

  agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  add(agg, P1, "web", "/a", "r", NULL, 1);
  add(agg, P2, "web", "/a", "r", NULL, 2);
  scw_snapshot_t *s2 = build_in(agg, SCW_LABEL_NAME, NOV, s1);
  assert_string_equal(by_key(s2, P1, "/a", "r")->plugin_instance, a);
  scw_snapshot_release(s2);

  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  s2 = build_in(agg, SCW_LABEL_ID, NOV, s1);
  assert_named(s2, P1, "/a", NULL, P1, "a");
  scw_snapshot_release(s2);

  /* No period: nothing to match. */
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, P1, "web", "/a", "", NULL, 1);
  add(agg, P2, "web", "/a", "", NULL, 2);
  s2 = build_in(agg, SCW_LABEL_NAME, NULL, s1);
  assert_named(s2, P1, "/a", NULL, a, "a");
  scw_snapshot_release(s2);
  scw_snapshot_release(s1);
}

/* A table built elsewhere (the future state file): entries are copied and
 * checked; the build honours them. */
static void test_names_table_seeded(void **state) {
  (void)state;
  scw_names_t *t = scw_names_new(NOV, SCW_GROUP_SKU, SCW_LABEL_NAME);
  assert_non_null(t);
  char pid[16], pi[16];
  snprintf(pid, sizeof(pid), "%s", "pb");
  snprintf(pi, sizeof(pi), "%s", "web");
  scw_name_entry_t e = {pid, "/a", NULL, pi, "a"};
  scw_error_t err = {0};
  assert_int_equal(scw_names_add(t, &e, &err), SCW_OK);
  pid[0] = pi[0] = 'X'; /* copied: the caller's buffers may change */
  assert_string_equal(pid, "Xb");
  assert_string_equal(pi, "Xeb");
  scw_name_entry_t reserved = {NULL, NULL, NULL, "api", ""};
  assert_int_equal(scw_names_add(t, &reserved, &err), SCW_OK);
  assert_int_equal(scw_names_count(t), 2);
  assert_string_equal(scw_names_entry(t, 0)->project_id, "pb");
  assert_string_equal(scw_names_entry(t, 0)->plugin_instance, "web");

  /* What the build could not have produced is refused. */
  char too_long[SCW_NAME_SIZE + 1];
  memset(too_long, 'x', SCW_NAME_SIZE);
  too_long[SCW_NAME_SIZE] = '\0';
  const scw_name_entry_t bad[] = {
      {"p", "/a", NULL, "we b", "a"},    /* not a label */
      {"p", "/a", NULL, "", "a"},        /* empty plugin_instance */
      {"p", "/a", NULL, "web", ""},      /* empty type_instance, GroupBy sku */
      {"p", NULL, NULL, "web", ""},      /* key without the sku */
      {"p", "/a", "r", "web", "a"},      /* resource id, GroupBy sku */
      {NULL, "/a", NULL, "web", "a"},    /* half a key */
      {"p", "/a", NULL, too_long, "a"},  /* longer than collectd allows */
      {"p", "/a", NULL, NULL, "a"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(scw_names_add(t, &bad[i], &err), SCW_ERR_INVALID);
    assert_int_equal(err.rc, SCW_ERR_INVALID);
  }
  assert_int_equal(scw_names_count(t), 2);

  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, "pa", "web", "/a", "", NULL, 1);
  add(agg, "pb", "web", "/a", "", NULL, 2);
  add(agg, "pc", "api", "/a", "", NULL, 4);
  scw_snapshot_t *s = NULL;
  assert_int_equal(scw_snapshot_build_period(agg, SCW_LABEL_NAME, NOV, t, &s, &err),
                   SCW_OK);
  scw_names_free(t);
  assert_sorted_unique(s);
  assert_names_table(s);
  char want[SCW_NAME_SIZE];
  assert_named(s, "pb", "/a", NULL, "web", "a");
  hashed(want, sizeof(want), "web", "pa");
  assert_named(s, "pa", "/a", NULL, want, "a");
  hashed(want, sizeof(want), "api", "pc");
  assert_named(s, "pc", "/a", NULL, want, "a");
  scw_snapshot_release(s);
  scw_names_free(NULL);
}

/* A damaged table (two keys under one name, one key under two names, a
 * project under two labels) must still give unique identifiers. */
static void test_names_table_damaged(void **state) {
  (void)state;
  scw_names_t *t = scw_names_new(NOV, SCW_GROUP_SKU, SCW_LABEL_NAME);
  const scw_name_entry_t entries[] = {
      {"pa", "/a", NULL, "web", "a"},
      {"pb", "/a", NULL, "web", "a"},  /* same identifier as pa's */
      {"pa", "/a", NULL, "web", "b"},  /* pa's key again */
      {"pa", "/b", NULL, "shop", "b"}, /* pa under another label */
      {"pc", "/a", NULL, "web", "c"},
      {"pc", "/c", NULL, "web", "a"},  /* pa's identifier again */
  };
  for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
    assert_int_equal(scw_names_add(t, &entries[i], NULL), SCW_OK);
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, "pa", "web", "/a", "", NULL, 1);
  add(agg, "pa", "web", "/b", "", NULL, 2);
  add(agg, "pb", "web", "/a", "", NULL, 4);
  add(agg, "pc", "web", "/a", "", NULL, 8);
  add(agg, "pc", "web", "/c", "", NULL, 16);
  add(agg, "pd", "web", "/a", "", NULL, 32);
  scw_snapshot_t *s = NULL;
  assert_int_equal(scw_snapshot_build_period(agg, SCW_LABEL_NAME, NOV, t, &s, NULL),
                   SCW_OK);
  scw_names_free(t);
  assert_int_equal(s->n_series, 6);
  assert_sorted_unique(s);
  assert_names_table(s);
  assert_named(s, "pa", "/a", NULL, "web", "a"); /* first entry wins */
  assert_true(s->total_nanos == 63);
  /* The next build from this table is sound too, and changes nothing. */
  agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  add(agg, "pd", "web", "/a", "", NULL, 32);
  add(agg, "pc", "web", "/c", "", NULL, 16);
  add(agg, "pc", "web", "/a", "", NULL, 8);
  add(agg, "pb", "web", "/a", "", NULL, 4);
  add(agg, "pa", "web", "/b", "", NULL, 2);
  add(agg, "pa", "web", "/a", "", NULL, 1);
  scw_snapshot_t *s2 = build_in(agg, SCW_LABEL_NAME, NOV, s);
  for (size_t i = 0; i < s->n_series; i++) {
    const scw_series_t *x = &s->series[i];
    assert_named(s2, x->project_id, x->sku, NULL, x->plugin_instance,
                 x->type_instance);
  }
  scw_snapshot_release(s);
  scw_snapshot_release(s2);
}

/* Many refreshes of one month with groups coming and going, and names built
 * to clash: once given, an identifier stays with its group for the month,
 * and never goes to another group. Then a new month. */
typedef struct {
  char key[96];
  char id[2 * SCW_NAME_SIZE + 1];
} given_t;

static uint32_t lcg(uint32_t *x) {
  *x = *x * 1103515245u + 12345u;
  return *x >> 16;
}

static void check_history(const scw_snapshot_t *s, given_t *given, size_t *n) {
  for (size_t i = 0; i < s->n_series; i++) {
    const scw_series_t *se = &s->series[i];
    char key[96], id[2 * SCW_NAME_SIZE + 1];
    snprintf(key, sizeof(key), "%s|%s|%s", se->project_id,
             se->sku ? se->sku : "-", se->resource_id ? se->resource_id : "-");
    snprintf(id, sizeof(id), "%s/%s", se->plugin_instance, se->type_instance);
    int known = 0;
    for (size_t j = 0; j < *n; j++) {
      int same_key = strcmp(given[j].key, key) == 0;
      int same_id = strcmp(given[j].id, id) == 0;
      if (same_key != same_id)
        fail_msg("%s is now %s, was %s under %s", key, id, given[j].id,
                 given[j].key);
      known |= same_key;
    }
    if (!known) {
      assert_true(*n < 512);
      memcpy(given[*n].key, key, sizeof(key));
      memcpy(given[(*n)++].id, id, sizeof(id));
    }
  }
}

static void test_names_stable_through_month(void **state) {
  (void)state;
  static const char *const pnames[] = {"web", "web", "web.", "api", NULL, "x"};
  static const char *const skus[] = {"a:b", "a.b", "a b", "/a_b", "c"};
  static const char *const rnames[] = {"vm", "vm", NULL, "v m"};
  static given_t given[512];
  const scw_group_by_t bys[] = {SCW_GROUP_PROJECT, SCW_GROUP_SKU,
                                SCW_GROUP_RESOURCE};
  uint32_t seed = 42;
  for (size_t b = 0; b < 3; b++) {
    for (int mode = 0; mode < 2; mode++) {
      size_t n_given = 0;
      scw_snapshot_t *prev = NULL;
      for (int refresh = 0; refresh < 30; refresh++) {
        const char *period = refresh < 20 ? NOV : DEC;
        if (refresh == 20)
          n_given = 0; /* a new month: history starts again */
        scw_agg_t *agg = scw_agg_new(bys[b], "EUR");
        for (int c = 0; c < 40; c++) {
          uint32_t p = lcg(&seed) % 6, k = lcg(&seed) % 5, r = lcg(&seed) % 4;
          char pid[8], rid[8];
          snprintf(pid, sizeof(pid), "p%u", (unsigned)p);
          snprintf(rid, sizeof(rid), "r%u", (unsigned)r);
          add(agg, pid, pnames[p], skus[k], rid, rnames[r], 1);
        }
        scw_snapshot_t *s = build_in(
            agg, mode ? SCW_LABEL_ID : SCW_LABEL_NAME, period, prev);
        check_history(s, given, &n_given);
        assert_true(s->total_nanos == 40);
        scw_snapshot_release(prev);
        prev = s;
      }
      scw_snapshot_release(prev);
    }
  }
}

/* ---- the slot ----------------------------------------------------------- */

static scw_snapshot_t *make_snap(int64_t gen, size_t n_groups) {
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  assert_non_null(agg);
  char sku[32];
  for (size_t i = 0; i < n_groups; i++) {
    snprintf(sku, sizeof(sku), "sku-%zu", i);
    scw_charge_t c = {.project_id = "p", .project_name = "proj", .sku = sku,
                      .resource_id = "", .currency = "EUR",
                      .nanos = gen * 1000 + (int64_t)i};
    if (scw_agg_add(agg, &c, NULL) != SCW_OK) {
      scw_agg_free(agg);
      return NULL;
    }
  }
  scw_snapshot_t *s = NULL;
  if (scw_snapshot_build(agg, SCW_LABEL_NAME, &s, NULL) != SCW_OK)
    return NULL;
  s->created = gen;
  return s;
}

static void test_slot_refcounting(void **state) {
  (void)state;
  scw_slot_t slot;
  scw_slot_init(&slot);
  assert_null(scw_slot_acquire(&slot));

  scw_snapshot_t *a = make_snap(1, 3);
  scw_slot_publish(&slot, a);
  assert_int_equal(atomic_load(&a->refs), 1);
  scw_snapshot_t *r1 = scw_slot_acquire(&slot);
  assert_ptr_equal(r1, a);
  assert_int_equal(atomic_load(&a->refs), 2);
  scw_snapshot_t *r2 = scw_slot_acquire(&slot);
  assert_ptr_equal(r2, a);
  assert_int_equal(atomic_load(&a->refs), 3);

  /* Publishing b drops the slot's reference to a; the readers keep theirs. */
  scw_snapshot_t *b = make_snap(2, 2);
  scw_slot_publish(&slot, b);
  assert_int_equal(atomic_load(&a->refs), 2);
  scw_snapshot_t *r3 = scw_slot_acquire(&slot);
  assert_ptr_equal(r3, b);
  assert_int_equal(atomic_load(&b->refs), 2);

  /* a is still fully readable (ASan reports any use after free). */
  assert_int_equal(r1->n_series, 3);
  assert_true(r1->series[2].nanos == 1002);
  assert_string_equal(r1->series[0].sku, "sku-0");
  scw_snapshot_release(r1);
  assert_int_equal(atomic_load(&a->refs), 1);
  assert_string_equal(r2->series[1].plugin_instance, "proj");
  assert_string_equal(r2->agg->projects[0].id, "p");
  scw_snapshot_release(r2); /* last reference: a is freed here */

  /* Destroying the slot with a reader outstanding keeps b alive. */
  scw_slot_destroy(&slot);
  assert_int_equal(atomic_load(&b->refs), 1);
  assert_true(r3->series[1].nanos == 2001);
  scw_snapshot_release(r3);
}

static void test_slot_publish_null(void **state) {
  (void)state;
  scw_slot_t slot;
  scw_slot_init(&slot);
  scw_snapshot_t *a = make_snap(1, 1);
  scw_slot_publish(&slot, a);
  scw_slot_publish(&slot, NULL); /* frees a */
  assert_null(scw_slot_acquire(&slot));
  scw_slot_destroy(&slot);
  /* Destroying an empty slot is fine too. */
  scw_slot_init(&slot);
  scw_slot_destroy(&slot);
}

/* One writer, two readers; no sleeps, the readers spin until the writer
 * is done. Each snapshot must be internally consistent whenever seen. */
#define WRITER_SNAPSHOTS 2000

typedef struct {
  scw_slot_t slot;
  atomic_int done;
  atomic_int failures;
} race_t;

typedef struct {
  race_t *race;
  long seen;
  long distinct;
} reader_t;

static int snapshot_consistent(const scw_snapshot_t *s) {
  int64_t gen = s->created;
  size_t want = (size_t)(gen % 5) + 1;
  if (s->n_series != want || s->charges != want)
    return 0;
  int64_t sum = 0;
  for (size_t i = 0; i < s->n_series; i++) {
    const scw_series_t *se = &s->series[i];
    if (se->nanos != gen * 1000 + (int64_t)i || se->charges != 1 ||
        strcmp(se->plugin_instance, "proj") != 0 ||
        strncmp(se->type_instance, "sku-", 4) != 0 ||
        strncmp(se->sku, "sku-", 4) != 0)
      return 0;
    sum += se->nanos;
  }
  return sum == s->total_nanos && strcmp(s->currency, "EUR") == 0;
}

static void *reader_main(void *arg) {
  reader_t *r = arg;
  int64_t last_gen = -1;
  for (;;) {
    int finished = atomic_load(&r->race->done);
    scw_snapshot_t *s = scw_slot_acquire(&r->race->slot);
    if (s != NULL) {
      r->seen++;
      if (!snapshot_consistent(s))
        atomic_fetch_add(&r->race->failures, 1);
      if (s->created < last_gen) /* generations never go back */
        atomic_fetch_add(&r->race->failures, 1);
      if (s->created != last_gen)
        r->distinct++;
      last_gen = s->created;
      scw_snapshot_release(s);
    }
    if (finished)
      break;
  }
  return NULL;
}

static void test_slot_threads(void **state) {
  (void)state;
  race_t race;
  scw_slot_init(&race.slot);
  atomic_init(&race.done, 0);
  atomic_init(&race.failures, 0);
  reader_t readers[2] = {{.race = &race}, {.race = &race}};
  pthread_t tid[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&tid[i], NULL, reader_main, &readers[i]), 0);
  for (int64_t gen = 0; gen < WRITER_SNAPSHOTS; gen++) {
    scw_snapshot_t *s = make_snap(gen, (size_t)(gen % 5) + 1);
    assert_non_null(s);
    scw_slot_publish(&race.slot, s);
  }
  atomic_store(&race.done, 1);
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_join(tid[i], NULL), 0);
  assert_int_equal(atomic_load(&race.failures), 0);
  /* Each reader saw the final snapshot at least once (its last pass). */
  for (int i = 0; i < 2; i++)
    assert_true(readers[i].seen >= 1);
  scw_snapshot_t *last = scw_slot_acquire(&race.slot);
  assert_non_null(last);
  assert_true(last->created == WRITER_SNAPSHOTS - 1);
  assert_int_equal(atomic_load(&last->refs), 2);
  scw_snapshot_release(last);
  scw_slot_destroy(&race.slot);
}

/* Found by fuzz_page: a project id of "/" cleaned to "" and its series
 * took the organization's namespace (scw_finops/currency-total). */
static void test_empty_label_gets_placeholder(void **state) {
  (void)state;
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  scw_charge_t c = {"/", NULL, "total", "", NULL, "EUR", 1};
  assert_int_equal(scw_agg_add(agg, &c, NULL), SCW_OK);
  scw_charge_t d = {"p2", "ok", "///", "", NULL, "EUR", 2};
  assert_int_equal(scw_agg_add(agg, &d, NULL), SCW_OK);
  scw_snapshot_t *snap;
  assert_int_equal(scw_snapshot_build(agg, SCW_LABEL_NAME, &snap, NULL), SCW_OK);
  char want[32];
  snprintf(want, sizeof(want), "unknown-%08x", scw_hash32("/"));
  int seen = 0;
  for (size_t i = 0; i < snap->n_series; i++) {
    assert_true(snap->series[i].plugin_instance[0] != '\0');
    assert_true(snap->series[i].type_instance[0] != '\0');
    seen += strcmp(snap->series[i].plugin_instance, want) == 0;
  }
  assert_int_equal(seen, 1);
  scw_snapshot_release(snap);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sku_labels_by_name),
      cmocka_unit_test(test_sku_labels_by_id),
      cmocka_unit_test(test_name_that_cleans_empty_uses_id),
      cmocka_unit_test(test_project_grouping),
      cmocka_unit_test(test_resource_labels),
      cmocka_unit_test(test_same_project_name_suffixed),
      cmocka_unit_test(test_name_equal_to_other_id),
      cmocka_unit_test(test_suffixed_label_meets_real_name),
      cmocka_unit_test(test_sku_clash_within_project),
      cmocka_unit_test(test_resource_clash),
      cmocka_unit_test(test_long_names_cut),
      cmocka_unit_test(test_sorted_many),
      cmocka_unit_test(test_meta_pointers_and_totals),
      cmocka_unit_test(test_organization_and_empty),
      cmocka_unit_test(test_incumbent_keeps_project_name),
      cmocka_unit_test(test_incumbent_keeps_project_grouping),
      cmocka_unit_test(test_incumbent_keeps_sku_name),
      cmocka_unit_test(test_incumbent_keeps_resource_name),
      cmocka_unit_test(test_absent_group_keeps_name),
      cmocka_unit_test(test_new_period_starts_fresh),
      cmocka_unit_test(test_previous_null_suffixes_all),
      cmocka_unit_test(test_other_kind_of_table_ignored),
      cmocka_unit_test(test_names_table_seeded),
      cmocka_unit_test(test_names_table_damaged),
      cmocka_unit_test(test_names_stable_through_month),
      cmocka_unit_test(test_slot_refcounting),
      cmocka_unit_test(test_slot_publish_null),
      cmocka_unit_test(test_slot_threads),
      cmocka_unit_test(test_empty_label_gets_placeholder),
  };
  return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
