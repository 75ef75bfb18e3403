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
      cmocka_unit_test(test_slot_refcounting),
      cmocka_unit_test(test_slot_publish_null),
      cmocka_unit_test(test_slot_threads),
      cmocka_unit_test(test_empty_label_gets_placeholder),
  };
  return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
