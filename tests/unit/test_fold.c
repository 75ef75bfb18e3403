/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_fold.c: per-project totals, and the MaxSeries
 * fold into "other/other" with damped membership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_fold.h"

typedef struct {
  const char *pid, *pname, *sku, *rid;
  int64_t nanos;
} ch_t;

static void add(scw_agg_t *agg, const char *pid, const char *pname,
                const char *sku, const char *rid, int64_t nanos) {
  scw_charge_t c = {pid, pname, sku, rid ? rid : "", NULL, "EUR", nanos};
  scw_error_t err = {0};
  if (scw_agg_add(agg, &c, &err) != SCW_OK)
    fail_msg("scw_agg_add: %s", err.msg);
}

static scw_snapshot_t *build_mode(scw_group_by_t gb, scw_label_mode_t mode,
                                  const char *period, const ch_t *c, size_t n) {
  scw_agg_t *agg = scw_agg_new(gb, "EUR");
  assert_non_null(agg);
  for (size_t i = 0; i < n; i++)
    add(agg, c[i].pid, c[i].pname, c[i].sku, c[i].rid, c[i].nanos);
  scw_snapshot_t *snap = NULL;
  scw_error_t err = {0};
  if (scw_snapshot_build_period(agg, mode, period, NULL, &snap, &err) != SCW_OK)
    fail_msg("build: %s", err.msg);
  return snap;
}

static scw_snapshot_t *build(scw_group_by_t gb, const char *period,
                             const ch_t *c, size_t n) {
  return build_mode(gb, SCW_LABEL_NAME, period, c, n);
}

/* GroupBy sku, one project "prj", SKUs s00.. with the given amounts. */
static scw_snapshot_t *build_skus(const char *period, const int64_t *nanos,
                                  const char *const *skus, size_t n) {
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  assert_non_null(agg);
  for (size_t i = 0; i < n; i++) {
    char sku[16];
    snprintf(sku, sizeof(sku), "s%02zu", i);
    add(agg, "p-1", "prj", skus ? skus[i] : sku, NULL, nanos[i]);
  }
  scw_snapshot_t *snap = NULL;
  assert_int_equal(scw_snapshot_build_period(agg, SCW_LABEL_NAME, period, NULL,
                                             &snap, NULL),
                   SCW_OK);
  return snap;
}

static const scw_series_t *find(const scw_snapshot_t *s, const char *pi,
                                const char *ti) {
  for (size_t i = 0; i < s->n_series; i++)
    if (strcmp(s->series[i].plugin_instance, pi) == 0 &&
        strcmp(s->series[i].type_instance, ti) == 0)
      return &s->series[i];
  return NULL;
}

static int cmp_id(const scw_series_t *a, const scw_series_t *b) {
  int c = strcmp(a->plugin_instance, b->plugin_instance);
  return c != 0 ? c : strcmp(a->type_instance, b->type_instance);
}

static void assert_sorted_unique(const scw_snapshot_t *s) {
  for (size_t i = 1; i < s->n_series; i++)
    if (cmp_id(&s->series[i - 1], &s->series[i]) >= 0)
      fail_msg("series %zu (%s/%s) not before %zu (%s/%s)", i - 1,
               s->series[i - 1].plugin_instance, s->series[i - 1].type_instance,
               i, s->series[i].plugin_instance, s->series[i].type_instance);
}

/* Decimal of a 128-bit integer (for messages). */
static const char *i128(__int128 v, char *buf, size_t size) {
  char tmp[48];
  size_t n = 0;
  unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
  do {
    tmp[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u != 0 && n < sizeof(tmp) - 1);
  size_t k = 0;
  if (v < 0 && k + 1 < size)
    buf[k++] = '-';
  while (n > 0 && k + 1 < size)
    buf[k++] = tmp[--n];
  buf[k] = '\0';
  return buf;
}

static void assert_sum_is_total(const scw_snapshot_t *s) {
  __int128 sum = 0;
  for (size_t i = 0; i < s->n_series; i++)
    sum += s->series[i].nanos;
  if (sum != s->total_nanos) {
    char a[48], b[48];
    fail_msg("series sum %s != total %s", i128(sum, a, sizeof(a)),
             i128(s->total_nanos, b, sizeof(b)));
  }
}

static void assert_kept(const scw_snapshot_t *s, const char *ti) {
  if (find(s, "prj", ti) == NULL)
    fail_msg("prj/%s was folded", ti);
}

static void assert_folded(const scw_snapshot_t *s, const char *ti) {
  if (find(s, "prj", ti) != NULL)
    fail_msg("prj/%s was kept", ti);
}

static void fold_ok(scw_snapshot_t *s, size_t max, const scw_snapshot_t *prev) {
  scw_error_t err = {0};
  if (scw_snapshot_fold(s, max, prev, &err) != SCW_OK)
    fail_msg("fold: %s", err.msg);
}

/* ---- summarise ---------------------------------------------------------- */

#define P1 "7c1e2b1a-5d3f-4e8a-9b0c-2f4d6a8e0b13"
#define P2 "11111111-2222-3333-4444-555555555555"
#define P3 "99999999-2222-3333-4444-555555555555"

static void check_projects_sum(const scw_snapshot_t *s) {
  __int128 sum = 0;
  for (size_t i = 0; i < s->n_projects; i++) {
    sum += s->projects[i].nanos;
    if (i > 0)
      assert_true(strcmp(s->projects[i - 1].plugin_instance,
                         s->projects[i].plugin_instance) < 0);
    /* each project's total is the sum of its series */
    __int128 own = 0;
    for (size_t j = 0; j < s->n_series; j++)
      if (strcmp(s->series[j].plugin_instance, s->projects[i].plugin_instance) == 0) {
        assert_string_equal(s->series[j].project_id, s->projects[i].project_id);
        own += s->series[j].nanos;
      }
    assert_true(own == s->projects[i].nanos);
  }
  assert_true(sum == s->total_nanos);
}

static const scw_project_cost_t *project(const scw_snapshot_t *s,
                                         const char *id) {
  for (size_t i = 0; i < s->n_projects; i++)
    if (strcmp(s->projects[i].project_id, id) == 0)
      return &s->projects[i];
  fail_msg("no project %s", id);
  return NULL;
}

static void test_summarise_sku(void **state) {
  (void)state;
  const ch_t c[] = {
      {P1, "alpha", "/a", NULL, 100}, {P1, "alpha", "/b", NULL, 20},
      {P1, "alpha", "/a", NULL, 3},   {P2, NULL, "/a", NULL, -7},
      {P3, "zulu", "/c", NULL, 5},    {P3, "zulu", "/d", NULL, -5},
      {P2, NULL, "/x", NULL, 1000000000000},
  };
  scw_snapshot_t *s = build(SCW_GROUP_SKU, "2028-02", c, 7);
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  assert_int_equal(s->n_projects, 3);
  check_projects_sum(s);
  const scw_project_cost_t *p = project(s, P1);
  assert_true(p->nanos == 123);
  assert_string_equal(p->project_name, "alpha");
  assert_string_equal(p->plugin_instance, "alpha");
  assert_true(p->forecast_nanos == -1);
  p = project(s, P2);
  assert_true(p->nanos == 1000000000000 - 7);
  assert_null(p->project_name);
  assert_string_equal(p->plugin_instance, P2);
  p = project(s, P3);
  assert_true(p->nanos == 0);
  assert_string_equal(p->project_name, "zulu");
  /* Two projects with the same name are two projects. */
  const ch_t d[] = {{P1, "web", "/a", NULL, 1}, {P2, "web", "/a", NULL, 2},
                    {P2, "web", "/b", NULL, 4}};
  scw_snapshot_t *w = build(SCW_GROUP_SKU, "2028-02", d, 3);
  assert_int_equal(scw_snapshot_summarise(w, NULL), SCW_OK);
  assert_int_equal(w->n_projects, 2);
  check_projects_sum(w);
  assert_true(project(w, P2)->nanos == 6);
  scw_snapshot_release(w);
  /* Again: replaces, does not append. */
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  assert_int_equal(s->n_projects, 3);
  check_projects_sum(s);
  scw_snapshot_release(s);
}

static void test_summarise_resource_by_id(void **state) {
  (void)state;
  const ch_t c[] = {
      {P1, "alpha", "/a", "r1", 10}, {P1, "alpha", "/a", "r2", 11},
      {P1, "alpha", "/b", "r1", 12}, {P2, "beta", "/a", "r1", 13},
      {P2, "beta", "/a", "r1", 14},
  };
  scw_snapshot_t *s = build_mode(SCW_GROUP_RESOURCE, SCW_LABEL_ID, "2028-02", c, 5);
  assert_int_equal(s->n_series, 4);
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  assert_int_equal(s->n_projects, 2);
  check_projects_sum(s);
  assert_string_equal(s->projects[0].plugin_instance, P2); /* "1.." < "7.." */
  assert_true(s->projects[0].nanos == 27);
  assert_string_equal(s->projects[0].project_name, "beta");
  assert_string_equal(s->projects[1].plugin_instance, P1);
  assert_true(s->projects[1].nanos == 33);
  scw_snapshot_release(s);
}

static void test_summarise_project(void **state) {
  (void)state;
  const ch_t c[] = {
      {P1, "alpha", "/a", NULL, 10}, {P2, "beta", "/a", NULL, 13},
      {P1, "alpha", "/b", NULL, -4},
  };
  scw_snapshot_t *s = build(SCW_GROUP_PROJECT, "2028-02", c, 3);
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  assert_int_equal(s->n_projects, 2);
  check_projects_sum(s);
  assert_true(project(s, P1)->nanos == 6);
  assert_true(project(s, P2)->nanos == 13);
  scw_snapshot_release(s);
}

static void test_summarise_organization_has_none(void **state) {
  (void)state;
  const ch_t c[] = {{P1, "alpha", "/a", NULL, 10}, {P2, "beta", "/a", NULL, 13}};
  scw_snapshot_t *s = build(SCW_GROUP_ORGANIZATION, "2028-02", c, 2);
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  assert_int_equal(s->n_projects, 0);
  assert_true(s->total_nanos == 23);
  scw_snapshot_release(s);
}

/* ---- fold: basics -------------------------------------------------------- */

static void test_fold_noop(void **state) {
  (void)state;
  const int64_t nanos[] = {5, -9, 3, 8};
  size_t maxes[] = {0, 4, 5, 1000};
  for (size_t k = 0; k < 4; k++) {
    scw_snapshot_t *s = build_skus("2028-02", nanos, NULL, 4);
    scw_series_t before[4];
    memcpy(before, s->series, sizeof(before));
    fold_ok(s, maxes[k], NULL);
    assert_int_equal(s->n_series, 4);
    for (size_t i = 0; i < 4; i++) { /* fields: the arrays' tails are junk */
      assert_string_equal(before[i].plugin_instance, s->series[i].plugin_instance);
      assert_string_equal(before[i].type_instance, s->series[i].type_instance);
      assert_true(before[i].nanos == s->series[i].nanos);
      assert_int_equal(before[i].charges, s->series[i].charges);
      assert_ptr_equal(before[i].project_id, s->series[i].project_id);
      assert_ptr_equal(before[i].sku, s->series[i].sku);
    }
    assert_int_equal(s->folded, 0);
    assert_null(scw_snapshot_other(s));
    assert_true(s->total_nanos == 7);
    scw_snapshot_release(s);
  }
}

static void test_fold_keeps_largest(void **state) {
  (void)state;
  /* s00..s09; by absolute cost: s03 (-900), s07 (800), s01 (700), s05 (-60),
   * s00 (50), ... */
  const int64_t nanos[] = {50, 700, 1, -900, 2, -60, 3, 800, 4, 0};
  scw_snapshot_t *s = build_skus("2028-02", nanos, NULL, 10);
  int64_t total = s->total_nanos;
  assert_true(total == 600);
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  fold_ok(s, 4, NULL);
  assert_int_equal(s->n_series, 4);
  assert_int_equal(s->folded, 7);
  assert_true(s->total_nanos == total);
  assert_sorted_unique(s);
  assert_sum_is_total(s);
  assert_kept(s, "s03");
  assert_kept(s, "s07");
  assert_kept(s, "s01");
  const scw_series_t *o = scw_snapshot_other(s);
  assert_non_null(o);
  assert_ptr_equal(o, find(s, "other", "other"));
  assert_string_equal(o->plugin_instance, SCW_FOLD_PLUGIN_INSTANCE);
  assert_string_equal(o->type_instance, SCW_FOLD_TYPE_INSTANCE);
  assert_true(o->nanos == 50 + 1 + 2 - 60 + 3 + 4 + 0);
  assert_int_equal(o->charges, 7);
  assert_null(o->project_id);
  assert_null(o->project_name);
  assert_null(o->sku);
  assert_null(o->resource_id);
  /* The fold leaves the project totals alone: they still count everything. */
  assert_int_equal(s->n_projects, 1);
  assert_true(s->projects[0].nanos == total);
  /* Kept series carry their meta data. */
  const scw_series_t *k = find(s, "prj", "s03");
  assert_true(k->nanos == -900);
  assert_string_equal(k->project_id, "p-1");
  assert_string_equal(k->sku, "s03");
  scw_snapshot_release(s);
}

static void test_fold_negative_ranked_by_absolute_value(void **state) {
  (void)state;
  const int64_t nanos[] = {10, -1000, 20, 30, INT64_C(-5000000000000)};
  scw_snapshot_t *s = build_skus("2028-02", nanos, NULL, 5);
  fold_ok(s, 3, NULL);
  assert_int_equal(s->n_series, 3);
  assert_kept(s, "s04");
  assert_kept(s, "s01");
  assert_true(scw_snapshot_other(s)->nanos == 60);
  assert_sum_is_total(s);
  scw_snapshot_release(s);
}

static void test_fold_max_series_one_is_two(void **state) {
  (void)state;
  const int64_t nanos[] = {1, 2, 3};
  scw_snapshot_t *s = build_skus("2028-02", nanos, NULL, 3);
  fold_ok(s, 1, NULL);
  assert_int_equal(s->n_series, 2);
  assert_int_equal(s->folded, 2);
  assert_kept(s, "s02");
  assert_true(scw_snapshot_other(s)->nanos == 3);
  scw_snapshot_release(s);
  /* Two series and MaxSeries 1: one is kept and the other becomes "other". */
  s = build_skus("2028-02", nanos, NULL, 2);
  fold_ok(s, 1, NULL);
  assert_int_equal(s->n_series, 2);
  assert_int_equal(s->folded, 1);
  assert_kept(s, "s01");
  assert_true(scw_snapshot_other(s)->nanos == 1);
  scw_snapshot_release(s);
}

static void test_fold_group_by_project(void **state) {
  (void)state;
  /* GroupBy project: series have "" type instance; the fold is other/other. */
  const ch_t c[] = {
      {P1, "alpha", "/a", NULL, 10}, {P2, "beta", "/a", NULL, 13},
      {P3, "gamma", "/a", NULL, 1},
  };
  scw_snapshot_t *s = build(SCW_GROUP_PROJECT, "2028-02", c, 3);
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  fold_ok(s, 2, NULL);
  assert_int_equal(s->n_series, 2);
  assert_non_null(find(s, "beta", ""));
  assert_true(find(s, "other", "other")->nanos == 11);
  /* The project totals made before still hold all three projects. */
  assert_int_equal(s->n_projects, 3);
  assert_true(project(s, P1)->nanos == 10);
  assert_true(project(s, P3)->nanos == 1);
  /* Summarised after the fold, the folded projects are gone: the order
   * the header asks for matters. */
  assert_int_equal(scw_snapshot_summarise(s, NULL), SCW_OK);
  assert_int_equal(s->n_projects, 1);
  scw_snapshot_release(s);

  /* GroupBy organization has no series: nothing to fold. */
  s = build(SCW_GROUP_ORGANIZATION, "2028-02", c, 3);
  assert_int_equal(s->n_series, 0);
  fold_ok(s, 2, NULL);
  assert_int_equal(s->folded, 0);
  assert_null(scw_snapshot_other(s));
  assert_true(s->total_nanos == 24);
  scw_snapshot_release(s);
}

/* The snapshot's names table (what the next build of the period and the
 * state file read) survives the fold whole: folded groups keep their names
 * for the rest of the period too. */
static void test_fold_keeps_names_table(void **state) {
  (void)state;
  const int64_t nanos[] = {50, 700, 1, -900, 2, -60, 3, 800, 4, 0};
  scw_snapshot_t *s = build_skus("2028-02", nanos, NULL, 10);
  const scw_names_t *names = scw_snapshot_names(s);
  size_t n = scw_names_count(names);
  assert_int_equal(n, 10);
  char before[10][2][SCW_NAME_SIZE];
  for (size_t i = 0; i < n; i++) {
    const scw_name_entry_t *e = scw_names_entry(names, i);
    snprintf(before[i][0], SCW_NAME_SIZE, "%s", e->plugin_instance);
    snprintf(before[i][1], SCW_NAME_SIZE, "%s", e->type_instance);
    assert_string_equal(before[i][0], "prj");
  }
  fold_ok(s, 4, NULL);
  /* Whatever the fold freed is soon reused: scribble over a block of the
   * old series array's size (valgrind reports the read itself). */
  void *scribble = malloc(10 * sizeof(scw_series_t));
  assert_non_null(scribble);
  memset(scribble, 0x5a, 10 * sizeof(scw_series_t));
  names = scw_snapshot_names(s);
  assert_int_equal(scw_names_count(names), n);
  for (size_t i = 0; i < n; i++) {
    const scw_name_entry_t *e = scw_names_entry(names, i);
    if (strcmp(e->plugin_instance, before[i][0]) != 0 ||
        strcmp(e->type_instance, before[i][1]) != 0)
      fail_msg("name %zu was %s/%s, is now \"%.20s\"/\"%.20s\" (the table "
               "points into the freed series array?)",
               i, before[i][0], before[i][1], e->plugin_instance,
               e->type_instance);
    assert_true(scw_name_is_label(e->plugin_instance, 0));
    assert_true(scw_name_is_label(e->type_instance, 1));
  }
  /* The next build of the period, seeded with them, names alike. */
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  for (size_t i = 0; i < 10; i++) {
    char sku[16];
    snprintf(sku, sizeof(sku), "s%02zu", i);
    add(agg, "p-1", "prj", sku, NULL, 1);
  }
  scw_snapshot_t *next = NULL;
  assert_int_equal(scw_snapshot_build_period(agg, SCW_LABEL_NAME, "2028-02",
                                             names, &next, NULL),
                   SCW_OK);
  assert_int_equal(next->n_series, 10);
  for (size_t i = 0; i < 10; i++) {
    char sku[16];
    snprintf(sku, sizeof(sku), "s%02zu", i);
    assert_non_null(find(next, "prj", sku));
  }
  scw_snapshot_release(next);
  scw_snapshot_release(s);
  free(scribble);
}

/* A real group already named other/other keeps its name; the folded one
 * gets a suffix. */
static void test_fold_other_name_taken(void **state) {
  (void)state;
  const ch_t c[] = {
      {"p-o", "other", "other", NULL, 1000}, {"p-o", "other", "other_1", NULL, 900},
      {"p-1", "prj", "a", NULL, 1},          {"p-1", "prj", "b", NULL, 2},
      {"p-1", "prj", "c", NULL, 3},
  };
  scw_snapshot_t *s = build(SCW_GROUP_SKU, "2028-02", c, 5);
  assert_non_null(find(s, "other", "other"));
  fold_ok(s, 2, NULL);
  assert_int_equal(s->n_series, 2);
  const scw_series_t *real = find(s, "other", "other");
  assert_non_null(real);
  assert_true(real->nanos == 1000);
  assert_string_equal(real->project_id, "p-o");
  const scw_series_t *o = scw_snapshot_other(s);
  assert_non_null(o);
  assert_string_equal(o->plugin_instance, "other");
  assert_string_equal(o->type_instance, "other_1");
  assert_true(o->nanos == 906);
  assert_sorted_unique(s);
  scw_snapshot_release(s);

  /* other/other and other/other_1 both kept: the folded one is other_2. */
  s = build(SCW_GROUP_SKU, "2028-02", c, 5);
  fold_ok(s, 3, NULL);
  o = scw_snapshot_other(s);
  assert_string_equal(o->type_instance, "other_2");
  assert_true(o->nanos == 6);
  assert_non_null(find(s, "other", "other_1"));
  assert_sorted_unique(s);
  scw_snapshot_release(s);

  /* The real other/other is itself folded: the name is free again. */
  const ch_t d[] = {
      {"p-o", "other", "other", NULL, 1}, {"p-1", "prj", "a", NULL, 100},
      {"p-1", "prj", "b", NULL, 2},
  };
  s = build(SCW_GROUP_SKU, "2028-02", d, 3);
  fold_ok(s, 2, NULL);
  o = scw_snapshot_other(s);
  assert_string_equal(o->type_instance, "other");
  assert_null(o->project_id);
  assert_true(o->nanos == 3);
  scw_snapshot_release(s);
}

static void test_fold_ties_deterministic(void **state) {
  (void)state;
  /* Equal absolute amounts, given in two orders: ties go by identifier. */
  const char *fwd[] = {"e", "d", "c", "b", "a", "f"};
  const char *rev[] = {"f", "a", "b", "c", "d", "e"};
  const int64_t nf[] = {7, -7, 7, -7, 7, 7};
  const int64_t nr[] = {7, 7, -7, 7, -7, 7};
  scw_snapshot_t *x = build_skus("2028-02", nf, fwd, 6);
  scw_snapshot_t *y = build_skus("2028-02", nr, rev, 6);
  fold_ok(x, 4, NULL);
  fold_ok(y, 4, NULL);
  assert_int_equal(x->n_series, 4);
  assert_int_equal(y->n_series, 4);
  for (size_t i = 0; i < 4; i++) {
    assert_string_equal(x->series[i].plugin_instance, y->series[i].plugin_instance);
    assert_string_equal(x->series[i].type_instance, y->series[i].type_instance);
    assert_true(x->series[i].nanos == y->series[i].nanos);
  }
  assert_kept(x, "a");
  assert_kept(x, "b");
  assert_kept(x, "c");
  assert_true(scw_snapshot_other(x)->nanos == 7); /* d -7, e 7, f 7 */
  scw_snapshot_release(x);
  scw_snapshot_release(y);
}

/* A subset of the series can overflow int64 although the total does not
 * (here X + Y > INT64_MAX, kept Z = -INT64_MAX): the fold must not publish
 * a wrapped "other". Either it refuses (snap unchanged) or the series still
 * add up to the total. */
static void test_fold_other_overflow(void **state) {
  (void)state;
  const char *skus[] = {"z", "x", "y"};
  const int64_t nanos[] = {-INT64_MAX, INT64_MAX - 1, INT64_MAX - 1};
  scw_snapshot_t *s = build_skus("2028-02", nanos, skus, 3);
  assert_true(s->total_nanos == INT64_MAX - 2);
  scw_error_t err = {0};
  scw_rc_t rc = scw_snapshot_fold(s, 2, NULL, &err);
  if (rc != SCW_OK) {
    assert_int_equal(s->n_series, 3);
    assert_int_equal(s->folded, 0);
  } else {
    assert_sum_is_total(s);
  }
  scw_snapshot_release(s);
}

/* ---- fold: damping ------------------------------------------------------- */

/* K = 20 (MaxSeries 21), m = 2. The previous snapshot of the period keeps
 * a00..a19 (amounts 10000 - 100 i) and folds the fillers f0..f9. */
#define DAMP_MAX 21

typedef struct {
  const char *sku;
  int64_t nanos;
} g_t;

static scw_snapshot_t *build_groups(const char *period, const g_t *g, size_t n) {
  const char *skus[64];
  int64_t nanos[64];
  assert_true(n <= 64);
  for (size_t i = 0; i < n; i++) {
    skus[i] = g[i].sku;
    nanos[i] = g[i].nanos;
  }
  return build_skus(period, nanos, skus, n);
}

static const char *const A[] = {"a00", "a01", "a02", "a03", "a04", "a05", "a06",
                                "a07", "a08", "a09", "a10", "a11", "a12", "a13",
                                "a14", "a15", "a16", "a17", "a18", "a19"};
static const char *const F[] = {"f0", "f1", "f2", "f3", "f4",
                                "f5", "f6", "f7", "f8", "f9"};

/* The groups a00..a19 with their usual amounts, fillers f0..f9 (1..10). */
static size_t base_groups(g_t *g) {
  size_t n = 0;
  for (size_t i = 0; i < 20; i++)
    g[n++] = (g_t){A[i], 10000 - 100 * (int64_t)i};
  for (size_t i = 0; i < 10; i++)
    g[n++] = (g_t){F[i], 10 - (int64_t)i};
  return n;
}

static scw_snapshot_t *previous(const char *period) {
  g_t g[64];
  size_t n = base_groups(g);
  scw_snapshot_t *prev = build_groups(period, g, n);
  fold_ok(prev, DAMP_MAX, NULL);
  for (size_t i = 0; i < 20; i++)
    assert_kept(prev, A[i]);
  assert_int_equal(prev->folded, 10);
  return prev;
}

/* An incumbent ranked just outside the top K (but within K + m) stays; a
 * newcomer ranked just inside K (but not within K - m) waits. */
static void test_damping_incumbent_stays_newcomer_waits(void **state) {
  (void)state;
  scw_snapshot_t *prev = previous("2028-02");
  g_t g[64];
  size_t n = base_groups(g);
  g[n++] = (g_t){"new", 8250}; /* between a17 (8300) and a18 (8200): index 18 */
  scw_snapshot_t *s = build_groups("2028-02", g, n);
  fold_ok(s, DAMP_MAX, prev);
  assert_int_equal(s->n_series, DAMP_MAX);
  for (size_t i = 0; i < 20; i++)
    assert_kept(s, A[i]); /* a19 at index 20 < K + m */
  assert_folded(s, "new");
  assert_int_equal(s->folded, n - 20);
  assert_true(scw_snapshot_other(s)->nanos == 8250 + 55);
  assert_sum_is_total(s);
  /* Without damping, the newcomer is in and a19 out. */
  scw_snapshot_t *plain = build_groups("2028-02", g, n);
  fold_ok(plain, DAMP_MAX, NULL);
  assert_kept(plain, "new");
  assert_folded(plain, "a19");
  scw_snapshot_release(plain);

  /* Two newcomers push a19 to index 21: still within K + m = 22. Both
   * newcomers (indexes 18, 19) wait. */
  g[n++] = (g_t){"new2", 8240};
  scw_snapshot_t *s2 = build_groups("2028-02", g, n);
  fold_ok(s2, DAMP_MAX, prev);
  for (size_t i = 0; i < 20; i++)
    assert_kept(s2, A[i]);
  assert_folded(s2, "new");
  assert_folded(s2, "new2");
  scw_snapshot_release(s2);
  scw_snapshot_release(s);
  scw_snapshot_release(prev);
}

/* The band ends at index K + m: an incumbent at index K + m - 1 stays, one
 * at K + m is let go, even when there is room for it (the room goes to the
 * best of the rest, by rank). */
static void test_damping_incumbent_beyond_band_dropped(void **state) {
  (void)state;
  scw_snapshot_t *prev = previous("2028-02");
  for (size_t weak = 3; weak <= 4; weak++) {
    g_t g[64];
    size_t n = 0;
    for (size_t i = 0; i < 18; i++) /* indexes 0..17; a18 is gone */
      g[n++] = (g_t){A[i], 10000 - 100 * (int64_t)i};
    static const char *const w[] = {"w1", "w2", "w3", "w4"};
    for (size_t i = 0; i < weak; i++) /* indexes 18.. */
      g[n++] = (g_t){w[i], 8150 - 10 * (int64_t)i};
    g[n++] = (g_t){"a19", 5000}; /* index 18 + weak */
    for (size_t i = 0; i < 10; i++)
      g[n++] = (g_t){F[i], 10 - (int64_t)i};
    scw_snapshot_t *s = build_groups("2028-02", g, n);
    fold_ok(s, DAMP_MAX, prev);
    assert_int_equal(s->n_series, DAMP_MAX);
    for (size_t i = 0; i < 18; i++)
      assert_kept(s, A[i]);
    if (weak == 3) { /* a19 at index 21 = K + m - 1: stays, w1 fills */
      assert_kept(s, "a19");
      assert_kept(s, "w1");
      assert_folded(s, "w2");
    } else { /* a19 at index 22 = K + m: out, w1 and w2 fill */
      assert_folded(s, "a19");
      assert_kept(s, "w1");
      assert_kept(s, "w2");
      assert_folded(s, "w3");
    }
    assert_sum_is_total(s);
    scw_snapshot_release(s);
  }
  scw_snapshot_release(prev);
}

/* More keepers than places: the lowest-ranked incumbents of the band make
 * room for strong newcomers. */
static void test_damping_lowest_incumbents_make_room(void **state) {
  (void)state;
  scw_snapshot_t *prev = previous("2028-02");
  g_t g[64];
  size_t n = base_groups(g);
  g[n++] = (g_t){"n1", 9990}; /* index 1 */
  g[n++] = (g_t){"n2", 9980}; /* index 2 */
  /* a16, a17, a18 at 18..20 (incumbents in the band), a19 at 21 */
  scw_snapshot_t *s = build_groups("2028-02", g, n);
  fold_ok(s, DAMP_MAX, prev);
  assert_int_equal(s->n_series, DAMP_MAX);
  assert_kept(s, "n1");
  assert_kept(s, "n2");
  for (size_t i = 0; i < 18; i++)
    assert_kept(s, A[i]);
  assert_folded(s, "a18");
  assert_folded(s, "a19");
  assert_true(scw_snapshot_other(s)->nanos == 8200 + 8100 + 55);
  scw_snapshot_release(s);
  scw_snapshot_release(prev);
}

/* A newcomer within the top K - m enters at once, displacing the
 * lowest-ranked incumbent. */
static void test_damping_strong_newcomer_displaces(void **state) {
  (void)state;
  scw_snapshot_t *prev = previous("2028-02");
  g_t g[64];
  size_t n = base_groups(g);
  g[n++] = (g_t){"new", 8350}; /* between a16 (8400) and a17: index 17 */
  scw_snapshot_t *s = build_groups("2028-02", g, n);
  fold_ok(s, DAMP_MAX, prev);
  assert_int_equal(s->n_series, DAMP_MAX);
  assert_kept(s, "new");
  for (size_t i = 0; i < 19; i++)
    assert_kept(s, A[i]);
  assert_folded(s, "a19");
  assert_true(scw_snapshot_other(s)->nanos == 8100 + 55);
  scw_snapshot_release(s);
  scw_snapshot_release(prev);
}

/* A waiting newcomer enters when an incumbent leaves room. */
static void test_damping_newcomer_enters_when_room(void **state) {
  (void)state;
  scw_snapshot_t *prev = previous("2028-02");
  g_t g[64];
  size_t n = 0;
  for (size_t i = 0; i < 18; i++) /* a18 and a19 are gone this time */
    g[n++] = (g_t){A[i], 10000 - 100 * (int64_t)i};
  for (size_t i = 0; i < 10; i++)
    g[n++] = (g_t){F[i], 10 - (int64_t)i};
  g[n++] = (g_t){"new", 50}; /* index 18: weak, but there is room */
  scw_snapshot_t *s = build_groups("2028-02", g, n);
  fold_ok(s, DAMP_MAX, prev);
  assert_int_equal(s->n_series, DAMP_MAX);
  assert_kept(s, "new");
  assert_kept(s, "f0"); /* the best of the rest fills the last place */
  assert_folded(s, "f1");
  scw_snapshot_release(s);
  scw_snapshot_release(prev);
}

/* The previous snapshot of another month has no incumbents to offer. */
static void test_damping_other_period_ignored(void **state) {
  (void)state;
  scw_snapshot_t *prev = previous("2028-01");
  g_t g[64];
  size_t n = base_groups(g);
  g[n++] = (g_t){"new", 8250};
  scw_snapshot_t *s = build_groups("2028-02", g, n);
  fold_ok(s, DAMP_MAX, prev);
  assert_kept(s, "new");
  assert_folded(s, "a19");
  scw_snapshot_release(s);
  scw_snapshot_release(prev);
}

/* The previous snapshot's "other" is no incumbent: a group named like it
 * (a real other/other) does not profit from it. */
static void test_damping_previous_other_not_incumbent(void **state) {
  (void)state;
  scw_snapshot_t *prev = previous("2028-02");
  assert_non_null(find(prev, "other", "other"));
  g_t g[64];
  size_t n = base_groups(g);
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  for (size_t i = 0; i < n; i++)
    add(agg, "p-1", "prj", g[i].sku, NULL, g[i].nanos);
  add(agg, "p-o", "other", "other", NULL, 8250); /* index 18: waits? */
  scw_snapshot_t *s = NULL;
  assert_int_equal(
      scw_snapshot_build_period(agg, SCW_LABEL_NAME, "2028-02", NULL, &s, NULL),
      SCW_OK);
  fold_ok(s, DAMP_MAX, prev);
  const scw_series_t *o = scw_snapshot_other(s);
  assert_non_null(o);
  /* The real other/other was a newcomer ranked 18: it waits and is folded,
   * so the folded series is called other/other again. */
  assert_string_equal(o->type_instance, "other");
  assert_null(o->project_id);
  assert_kept(s, "a19");
  scw_snapshot_release(s);
  scw_snapshot_release(prev);
}

/* ---- property ------------------------------------------------------------ */

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static int64_t rnd_amount(void) {
  switch (rnd() % 8) {
  case 0:
    return 0;
  case 1:
    return (int64_t)(rnd() % 1000) - 500; /* ties are likely */
  default:
    return (int64_t)(rnd() % 2000000000001ULL) - 1000000000000LL;
  }
}

typedef struct {
  char pi[SCW_NAME_SIZE], ti[SCW_NAME_SIZE];
  int64_t nanos;
  int incumbent;
} row_t;

static uint64_t uabs(int64_t v) {
  return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static int cmp_rank(const void *a, const void *b) {
  const row_t *x = a, *y = b;
  if (uabs(x->nanos) != uabs(y->nanos))
    return uabs(x->nanos) > uabs(y->nanos) ? -1 : 1;
  int c = strcmp(x->pi, y->pi);
  return c != 0 ? c : strcmp(x->ti, y->ti);
}

/* Checks the fold of a snapshot whose series before were rows[0..n). */
static void check_fold(const scw_snapshot_t *s, row_t *rows, size_t n,
                       size_t max, int64_t total, const scw_snapshot_t *prev) {
  assert_true(s->total_nanos == total);
  assert_sorted_unique(s);
  assert_sum_is_total(s);
  if (max == 0 || n <= max) {
    assert_int_equal(s->n_series, n);
    assert_int_equal(s->folded, 0);
    assert_null(scw_snapshot_other(s));
    return;
  }
  size_t k = max < 2 ? 1 : max - 1, m = k / 10 > 1 ? k / 10 : 1;
  assert_int_equal(s->n_series, k + 1);
  assert_int_equal(s->folded, n - k);
  const scw_series_t *o = scw_snapshot_other(s);
  assert_non_null(o);
  assert_string_equal(o->plugin_instance, "other");
  qsort(rows, n, sizeof(*rows), cmp_rank);
  for (size_t r = 0; r < n; r++)
    rows[r].incumbent = prev != NULL && find(prev, rows[r].pi, rows[r].ti) &&
                        find(prev, rows[r].pi, rows[r].ti)->project_id != NULL;
  __int128 folded_sum = 0;
  size_t kept = 0;
  int hole = 0; /* a better-ranked row was folded */
  for (size_t r = 0; r < n; r++) {
    const scw_series_t *got = find(s, rows[r].pi, rows[r].ti);
    if (got == o)
      got = NULL; /* a real group named like the fold, itself folded */
    if (got == NULL) {
      folded_sum += rows[r].nanos;
      /* plain: the top K are kept; damped: at least the top K - m */
      assert_true(prev == NULL ? r >= k : r >= k - m);
      hole = 1;
      continue;
    }
    kept++;
    assert_true(got->nanos == rows[r].nanos);
    if (prev == NULL)
      assert_true(r < k); /* plain top K */
    else if (r >= k - m && hole && !(r < k + m && rows[r].incumbent))
      fail_msg("row %zu (%s/%s) kept past a folded better one", r, rows[r].pi,
               rows[r].ti);
  }
  assert_int_equal(kept, k);
  assert_true(folded_sum == o->nanos);
}

static scw_snapshot_t *random_snapshot(scw_group_by_t gb, const char *period,
                                       size_t n_groups, const int *keys,
                                       const int64_t *amounts) {
  scw_agg_t *agg = scw_agg_new(gb, "EUR");
  for (size_t i = 0; i < n_groups; i++) {
    char pid[16], pname[16], sku[16], rid[16];
    int key = keys[i];
    snprintf(pid, sizeof(pid), "p-%d", key % 5);
    snprintf(pname, sizeof(pname), "proj %d", key % 5);
    snprintf(sku, sizeof(sku), "/sku/%d", (key / 5) % 7);
    snprintf(rid, sizeof(rid), "r%d", key / 35);
    add(agg, pid, (key % 5) == 4 ? NULL : pname, sku, rid, amounts[i]);
  }
  scw_snapshot_t *s = NULL;
  assert_int_equal(scw_snapshot_build_period(agg, SCW_LABEL_NAME, period, NULL,
                                             &s, NULL),
                   SCW_OK);
  return s;
}

static row_t *rows_of(const scw_snapshot_t *s) {
  row_t *rows = calloc(s->n_series ? s->n_series : 1, sizeof(*rows));
  for (size_t i = 0; i < s->n_series; i++) {
    memcpy(rows[i].pi, s->series[i].plugin_instance, SCW_NAME_SIZE);
    memcpy(rows[i].ti, s->series[i].type_instance, SCW_NAME_SIZE);
    rows[i].nanos = s->series[i].nanos;
  }
  return rows;
}

static void test_fold_property(void **state) {
  (void)state;
  const scw_group_by_t kinds[] = {SCW_GROUP_PROJECT, SCW_GROUP_SKU,
                                  SCW_GROUP_RESOURCE};
  for (int month = 0; month < 200; month++) {
    scw_group_by_t gb = kinds[rnd() % 3];
    size_t n = 1 + rnd() % 80;
    int keys[80];
    int64_t amounts[80];
    for (size_t i = 0; i < n; i++) {
      keys[i] = (int)(rnd() % 300);
      amounts[i] = rnd_amount();
    }
    size_t max = rnd() % 4 == 0 ? 0 : (size_t)(rnd() % 40);
    const char *period = month % 2 ? "2028-02" : "2027-12";

    /* The previous snapshot of the month... */
    scw_snapshot_t *prev = random_snapshot(gb, period, n, keys, amounts);
    assert_int_equal(scw_snapshot_summarise(prev, NULL), SCW_OK);
    check_projects_sum(prev);
    row_t *rows = rows_of(prev);
    size_t n_prev = prev->n_series;
    int64_t total = prev->total_nanos;
    assert_int_equal(scw_snapshot_fold(prev, max, NULL, NULL), SCW_OK);
    check_fold(prev, rows, n_prev, max, total, NULL);
    free(rows);
    /* project totals from before the fold still add up */
    __int128 psum = 0;
    for (size_t i = 0; i < prev->n_projects; i++)
      psum += prev->projects[i].nanos;
    assert_true(psum == prev->total_nanos);

    /* ...then this one: some amounts move, some groups come and go. */
    for (size_t i = 0; i < n; i++) {
      if (rnd() % 3 == 0)
        amounts[i] = rnd_amount();
      if (rnd() % 10 == 0)
        keys[i] = (int)(rnd() % 300);
    }
    scw_snapshot_t *cur = random_snapshot(gb, period, n, keys, amounts);
    assert_int_equal(scw_snapshot_summarise(cur, NULL), SCW_OK);
    rows = rows_of(cur);
    size_t n_cur = cur->n_series;
    total = cur->total_nanos;
    assert_int_equal(scw_snapshot_fold(cur, max, prev, NULL), SCW_OK);
    check_fold(cur, rows, n_cur, max, total, prev);
    psum = 0;
    for (size_t i = 0; i < cur->n_projects; i++)
      psum += cur->projects[i].nanos;
    assert_true(psum == cur->total_nanos);
    free(rows);
    scw_snapshot_release(cur);
    scw_snapshot_release(prev);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_summarise_sku),
      cmocka_unit_test(test_summarise_resource_by_id),
      cmocka_unit_test(test_summarise_project),
      cmocka_unit_test(test_summarise_organization_has_none),
      cmocka_unit_test(test_fold_noop),
      cmocka_unit_test(test_fold_keeps_largest),
      cmocka_unit_test(test_fold_negative_ranked_by_absolute_value),
      cmocka_unit_test(test_fold_max_series_one_is_two),
      cmocka_unit_test(test_fold_group_by_project),
      cmocka_unit_test(test_fold_keeps_names_table),
      cmocka_unit_test(test_fold_other_name_taken),
      cmocka_unit_test(test_fold_ties_deterministic),
      cmocka_unit_test(test_fold_other_overflow),
      cmocka_unit_test(test_damping_incumbent_stays_newcomer_waits),
      cmocka_unit_test(test_damping_incumbent_beyond_band_dropped),
      cmocka_unit_test(test_damping_lowest_incumbents_make_room),
      cmocka_unit_test(test_damping_strong_newcomer_displaces),
      cmocka_unit_test(test_damping_newcomer_enters_when_room),
      cmocka_unit_test(test_damping_other_period_ignored),
      cmocka_unit_test(test_damping_previous_other_not_incumbent),
      cmocka_unit_test(test_fold_property),
  };
  return cmocka_run_group_tests_name("fold", tests, NULL, NULL);
}
