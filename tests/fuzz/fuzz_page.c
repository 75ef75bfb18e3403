/* SPDX-License-Identifier: MIT */
/* fuzz_page.c - libFuzzer target: one FinOps page through the same path as a
 * refresh (scw_page_parse -> scw_agg_add -> scw_snapshot_build), with the
 * invariants collectd relies on checked after each accepted page. Any
 * violation abort()s so that libFuzzer records the input.
 *
 * Every page feeds one aggregate per GroupBy (resource, the case,
 * first): the totals must agree across them, which checks the grouping code
 * against itself. A second set gets every other charge only: built first, its
 * names are passed to the full set's build as the same month's previous
 * names (and the other way round), and every group must keep its
 * identifier. The same bytes fed in pieces (as libcurl hands a body over)
 * must give the same answer as in one piece. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_agg.h"
#include "scw_charge.h"
#include "scw_snapshot.h"
#include "fuzz_check.h"


static const scw_group_by_t group_bys[] = {SCW_GROUP_RESOURCE, SCW_GROUP_SKU,
                                           SCW_GROUP_PROJECT,
                                           SCW_GROUP_ORGANIZATION};
#define N_AGG (sizeof(group_bys) / sizeof(group_bys[0]))

/* Sets of aggregates fed by the page; each is consumed by one build. */
enum { ALL, ALL2, ALL3, HALF, HALF2, N_SETS };

typedef struct {
  scw_agg_t *agg[N_SETS][N_AGG]; /* HALF, HALF2: every other charge */
  size_t calls;
} feed_t;

/* The charge contract of scw_charge.h, then every aggregate. */
static scw_rc_t feed(void *ctx, const scw_charge_t *c, scw_error_t *err) {
  feed_t *f = ctx;
  CHECK(c->project_id != NULL && c->project_id[0] != '\0');
  CHECK(c->sku != NULL && c->sku[0] != '\0');
  CHECK(c->resource_id != NULL && c->currency != NULL);
  CHECK(c->project_name == NULL || c->project_name[0] != '\0');
  CHECK(c->resource_name == NULL || c->resource_name[0] != '\0');
  CHECK(c->currency[0] != '\0' || c->nanos == 0);
  int even = f->calls++ % 2 == 0;
  for (int set = 0; set < N_SETS; set++)
    for (size_t i = 0; i < N_AGG && (set < HALF || even); i++) {
      scw_rc_t rc = scw_agg_add(f->agg[set][i], c, err);
      if (rc != SCW_OK)
        return rc;
    }
  return SCW_OK;
}

/* < 128 bytes, only [A-Za-z0-9_-], non-empty unless allowed. */
static void check_label(const char *s, int may_be_empty) {
  size_t len = strnlen(s, SCW_NAME_SIZE);
  CHECK(len < SCW_NAME_SIZE);
  CHECK(may_be_empty || len > 0);
  CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_-") == len);
}

static void check_snapshot(const scw_snapshot_t *s, scw_group_by_t by) {
  __int128 sum = 0; /* cannot overflow: at most SIZE_MAX int64 terms */
  size_t charges = 0;
  for (size_t i = 0; i < s->n_series; i++) {
    const scw_series_t *se = &s->series[i];
    /* An empty plugin_instance is the organization's own series ("total"). */
    check_label(se->plugin_instance, 0);
    check_label(se->type_instance, 1);
    CHECK(by != SCW_GROUP_PROJECT || se->type_instance[0] == '\0');
    /* Sorted strictly by (plugin_instance, type_instance): no duplicates. */
    if (i > 0) {
      const scw_series_t *prev = &s->series[i - 1];
      int c = strcmp(prev->plugin_instance, se->plugin_instance);
      CHECK(c < 0 || (c == 0 && strcmp(prev->type_instance,
                                       se->type_instance) < 0));
    }
    sum += se->nanos;
    charges += se->charges;
  }
  if (by == SCW_GROUP_ORGANIZATION) {
    CHECK(s->n_series == 0);
  } else {
    CHECK(sum == s->total_nanos);
    CHECK(charges == s->charges);
  }
}

static int same(const char *x, const char *y) {
  return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static int same_key(const scw_series_t *a, const scw_series_t *b) {
  return strcmp(a->project_id, b->project_id) == 0 && same(a->sku, b->sku) &&
         same(a->resource_id, b->resource_id);
}

/* Every group of `before` is in `after` under the same identifier; the names
 * table of `after` holds no identifier twice and every name of `before`. */
static void check_stable(const scw_snapshot_t *before,
                         const scw_snapshot_t *after, int after_has_all) {
  for (size_t i = 0; i < before->n_series; i++) {
    const scw_series_t *b = &before->series[i];
    size_t found = 0;
    for (size_t j = 0; j < after->n_series; j++) {
      const scw_series_t *a = &after->series[j];
      if (same_key(a, b)) {
        CHECK(strcmp(a->plugin_instance, b->plugin_instance) == 0);
        CHECK(strcmp(a->type_instance, b->type_instance) == 0);
        found++;
      }
    }
    CHECK(found <= 1 && (found == 1 || !after_has_all));
  }
  const scw_names_t *bt = scw_snapshot_names(before), *at = scw_snapshot_names(after);
  for (size_t i = 0; i < scw_names_count(at); i++) {
    const scw_name_entry_t *e = scw_names_entry(at, i);
    for (size_t j = 0; j < i; j++) {
      const scw_name_entry_t *o = scw_names_entry(at, j);
      CHECK(strcmp(e->plugin_instance, o->plugin_instance) != 0 ||
            strcmp(e->type_instance, o->type_instance) != 0);
    }
  }
  for (size_t i = 0; i < scw_names_count(bt); i++) {
    const scw_name_entry_t *e = scw_names_entry(bt, i);
    size_t found = 0;
    for (size_t j = 0; j < scw_names_count(at); j++) {
      const scw_name_entry_t *o = scw_names_entry(at, j);
      found += strcmp(e->plugin_instance, o->plugin_instance) == 0 &&
               strcmp(e->type_instance, o->type_instance) == 0;
    }
    CHECK(found == 1); /* nothing is released within the period */
  }
}

/* Builds both sets' snapshots in the two orders described at the top. */
static void check_periods(scw_agg_t *half, scw_agg_t *full, scw_agg_t *half2,
                          scw_agg_t *full2, scw_label_mode_t mode,
                          scw_group_by_t by) {
  scw_snapshot_t *h = NULL, *f = NULL;
  scw_error_t err;
  CHECK(scw_snapshot_build_period(half, mode, "2026-11", NULL, &h, &err) == SCW_OK);
  CHECK(scw_snapshot_build_period(full, mode, "2026-11", scw_snapshot_names(h),
                                  &f, &err) == SCW_OK);
  check_snapshot(h, by);
  check_snapshot(f, by);
  check_stable(h, f, 1);
  scw_snapshot_release(h);
  scw_snapshot_release(f);
  CHECK(scw_snapshot_build_period(full2, mode, "2026-11", NULL, &f, &err) == SCW_OK);
  CHECK(scw_snapshot_build_period(half2, mode, "2026-11", scw_snapshot_names(f),
                                  &h, &err) == SCW_OK);
  check_snapshot(f, by);
  check_snapshot(h, by);
  check_stable(f, h, 0);
  scw_snapshot_release(h);
  scw_snapshot_release(f);
}

/* What a parse gave, for comparing whole with pieces. */
typedef struct {
  scw_rc_t rc;
  size_t n, calls;
  int64_t sum;
  char *next;
  scw_error_t err;
} outcome_t;

static scw_rc_t count(void *ctx, const scw_charge_t *c, scw_error_t *err) {
  (void)err;
  outcome_t *o = ctx;
  o->calls++;
  o->sum ^= c->nanos; /* no overflow: just a fingerprint */
  return SCW_OK;
}

static void parse_pieces(scw_page_parser_t *parser, const uint8_t *data,
                         size_t size, size_t piece, outcome_t *o) {
  memset(o, 0, sizeof(*o));
  if (piece == 0) {
    o->rc = scw_page_parse(parser, (const char *)data, size, count, o, &o->next,
                           &o->n, &o->err);
    return;
  }
  scw_page_begin(parser, count, o);
  for (size_t off = 0; off < size; off += piece)
    scw_page_feed(parser, (const char *)data + off,
                  size - off < piece ? size - off : piece);
  o->rc = scw_page_end(parser, &o->next, &o->n, &o->err);
}

static void check_pieces(scw_page_parser_t *parser, const uint8_t *data,
                         size_t size) {
  outcome_t whole, cut;
  parse_pieces(parser, data, size, 0, &whole);
  size_t piece = size > 0 ? 1 + data[size - 1] % 97 : 1;
  parse_pieces(parser, data, size, piece, &cut);
  CHECK(whole.rc == cut.rc && whole.n == cut.n && whole.calls == cut.calls);
  CHECK(whole.sum == cut.sum);
  /* json-c may notice a bad number a few bytes later when it is cut: only
   * the byte named in "invalid JSON at byte N" may differ. */
  CHECK(whole.rc == SCW_ERR_NOT_JSON || strcmp(whole.err.msg, cut.err.msg) == 0);
  CHECK((whole.next == NULL) == (cut.next == NULL));
  CHECK(whole.next == NULL || strcmp(whole.next, cut.next) == 0);
  free(whole.next);
  free(cut.next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* One parser for the whole run, as the plugin keeps one per refresh: state
   * left over from a previous page must not leak into the next. */
  static scw_page_parser_t *parser;
  if (parser == NULL && (parser = scw_page_parser_new()) == NULL)
    abort();

  check_pieces(parser, data, size);

  feed_t f = {.calls = 0};
  for (int set = 0; set < N_SETS; set++)
    for (size_t i = 0; i < N_AGG; i++)
      if ((f.agg[set][i] = scw_agg_new(group_bys[i], "EUR")) == NULL)
        abort();

  char *next = (char *)0x1;
  size_t n = (size_t)-1;
  scw_error_t err = {.rc = SCW_OK, .msg = ""};
  scw_rc_t rc = scw_page_parse(parser, (const char *)data, size, feed, &f,
                               &next, &n, &err);
  CHECK(n == f.calls);
  if (rc != SCW_OK) {
    CHECK(err.rc == rc && err.msg[0] != '\0' && next == NULL);
    for (int set = 0; set < N_SETS; set++)
      for (size_t i = 0; i < N_AGG; i++)
        scw_agg_free(f.agg[set][i]);
    return 0;
  }
  CHECK(next == NULL || next[0] != '\0');
  free(next);

  scw_agg_t **all = f.agg[ALL];
  const int64_t total = all[0]->total_nanos; /* all[0] is freed below */
  for (size_t i = 0; i < N_AGG; i++) {
    /* Same charges, same total whatever the grouping. */
    CHECK(all[i]->total_nanos == total);
    CHECK(all[i]->charges + all[i]->skipped == f.calls);
    /* Alternate label modes so both naming paths run. */
    scw_snapshot_t *snap = NULL;
    rc = scw_snapshot_build(all[i], i % 2 ? SCW_LABEL_ID : SCW_LABEL_NAME,
                            &snap, &err);
    CHECK(rc == SCW_OK && snap != NULL); /* only ENOMEM may fail */
    check_snapshot(snap, group_bys[i]);
    scw_snapshot_release(snap);
  }
  for (size_t i = 0; i < N_AGG; i++)
    check_periods(f.agg[HALF][i], f.agg[ALL2][i], f.agg[HALF2][i],
                  f.agg[ALL3][i], i % 2 ? SCW_LABEL_NAME : SCW_LABEL_ID,
                  group_bys[i]);
  return 0;
}
