/* SPDX-License-Identifier: MIT */
/* yajl.c - what a streaming (SAX) parser would cost instead of json-c's
 * tree: an optional step, built only when libyajl-dev is installed (yajl is
 * what collectd's own curl_json plugin parses with).
 *
 *   bench_yajl null|agg DIR sku|resource
 *
 * null: yajl_parse over every page with callbacks that do nothing (UTF-8
 *       validation on, as our tokener flags ask): the floor of a SAX parser.
 * agg:  a prototype of the proposed parser: the callbacks pick the fields we
 *       use out of each charge (copying the few strings into a per-charge
 *       scratch buffer, no tree, no per-field allocation) and hand the charge
 *       to scw_agg_add, then the snapshot is built, as bench_core does. It
 *       validates less than scw_charge.c (no date check, no type errors
 *       reported), so it is an estimate of the gain, not a replacement. */
#include <inttypes.h>
#include <yajl/yajl_parse.h>

#include "common.h"
#include "scw_agg.h"
#include "scw_money.h"
#include "scw_snapshot.h"
#include "sums.h"

enum { F_NONE, F_PROJECT_ID, F_PROJECT_NAME, F_SKU, F_RESOURCE_ID,
       F_RESOURCE_NAME, F_CURRENCY, F_UNITS, F_NANOS, F_TOKEN };

typedef struct {
  int depth;         /* 1 page, 2 charges array, 3 a charge, 4 its price */
  int in_charges, in_price;
  int field;         /* F_* of the value about to come */
  char scratch[5][256];
  char currency[16];
  int have[F_TOKEN + 1];
  int64_t units, nanos;
  char token[128];
  scw_agg_t *agg;
  size_t charges;
  int failed;
} ctx_t;

static int n_null(void *c) { (void)c; return 1; }
static int n_bool(void *c, int b) { (void)c, (void)b; return 1; }
static int n_num(void *c, const char *s, size_t l) { (void)c, (void)s, (void)l; return 1; }
static int n_str(void *c, const unsigned char *s, size_t l) { (void)c, (void)s, (void)l; return 1; }
static int n_map_key(void *c, const unsigned char *s, size_t l) { (void)c, (void)s, (void)l; return 1; }
static int n_start(void *c) { (void)c; return 1; }
static int n_end(void *c) { (void)c; return 1; }

static const yajl_callbacks null_cb = {n_null, n_bool, NULL, NULL, n_num, n_str,
                                       n_start, n_map_key, n_end, n_start, n_end};

/* ---- agg prototype ---- */
static int key_is(const unsigned char *s, size_t l, const char *k) {
  return strlen(k) == l && memcmp(s, k, l) == 0;
}

static int a_map_key(void *v, const unsigned char *s, size_t l) {
  ctx_t *c = v;
  c->field = F_NONE;
  if (c->depth == 1) {
    if (key_is(s, l, "next_page_token"))
      c->field = F_TOKEN;
    else if (key_is(s, l, "charges"))
      c->in_charges = 1;
  } else if (c->depth == 3 && c->in_charges) { /* a charge's field */
    switch (l) {
    case 3: if (!memcmp(s, "sku", 3)) c->field = F_SKU; break;
    case 10: if (!memcmp(s, "project_id", 10)) c->field = F_PROJECT_ID; break;
    case 11: if (!memcmp(s, "resource_id", 11)) c->field = F_RESOURCE_ID; break;
    case 12: if (!memcmp(s, "project_name", 12)) c->field = F_PROJECT_NAME; break;
    case 13: if (!memcmp(s, "resource_name", 13)) c->field = F_RESOURCE_NAME; break;
    }
  } else if (c->depth == 4 && c->in_price) {
    if (key_is(s, l, "currency_code")) c->field = F_CURRENCY;
    else if (key_is(s, l, "units")) c->field = F_UNITS;
    else if (key_is(s, l, "nanos")) c->field = F_NANOS;
  }
  if (c->depth == 3 && key_is(s, l, "price"))
    c->in_price = 1; /* the next start_map is the price */
  return 1;
}

static int a_str(void *v, const unsigned char *s, size_t l) {
  ctx_t *c = v;
  char *dst = NULL;
  size_t cap = 256;
  switch (c->field) {
  case F_PROJECT_ID: dst = c->scratch[0]; break;
  case F_SKU: dst = c->scratch[1]; break;
  case F_RESOURCE_ID: dst = c->scratch[2]; break;
  case F_RESOURCE_NAME: dst = c->scratch[3]; break;
  case F_PROJECT_NAME: dst = c->scratch[4]; break;
  case F_CURRENCY: dst = c->currency; cap = sizeof(c->currency); break;
  case F_TOKEN: dst = c->token; cap = sizeof(c->token); break;
  default: return 1;
  }
  if (l >= cap || memchr(s, '\0', l) != NULL)
    return c->failed = 1, 0;
  memcpy(dst, s, l);
  dst[l] = '\0';
  c->have[c->field] = 1;
  return 1;
}

static int a_num(void *v, const char *s, size_t l) {
  ctx_t *c = v;
  if (c->field != F_UNITS && c->field != F_NANOS)
    return 1;
  char tmp[32];
  if (l >= sizeof(tmp))
    return c->failed = 1, 0;
  memcpy(tmp, s, l);
  tmp[l] = '\0';
  int64_t x;
  if (scw_money_parse_units(tmp, &x, NULL) != SCW_OK)
    return c->failed = 1, 0;
  if (c->field == F_UNITS) c->units = x; else c->nanos = x;
  return 1;
}

static int a_start_map(void *v) {
  ctx_t *c = v;
  c->depth++;
  if (c->depth == 3 && c->in_charges) { /* a new charge */
    memset(c->have, 0, sizeof(c->have));
    c->units = c->nanos = 0;
    c->currency[0] = '\0';
    c->in_price = 0;
  }
  return 1;
}

static int a_end_map(void *v) {
  ctx_t *c = v;
  if (c->depth == 4 && c->in_price)
    c->in_price = 0;
  else if (c->depth == 3 && c->in_charges) {
    if (!c->have[F_PROJECT_ID] || !c->have[F_SKU])
      return c->failed = 1, 0;
    scw_charge_t ch = {
        .project_id = c->scratch[0],
        .project_name = c->have[F_PROJECT_NAME] && c->scratch[4][0] ? c->scratch[4] : NULL,
        .sku = c->scratch[1],
        .resource_id = c->have[F_RESOURCE_ID] ? c->scratch[2] : "",
        .resource_name = c->have[F_RESOURCE_NAME] && c->scratch[3][0] ? c->scratch[3] : NULL,
        .currency = c->currency,
    };
    scw_error_t err;
    if (scw_money_from_parts(c->units, c->nanos, &ch.nanos, &err) != SCW_OK ||
        scw_agg_add(c->agg, &ch, &err) != SCW_OK)
      return c->failed = 1, 0;
    c->charges++;
  }
  c->depth--;
  return 1;
}

static int a_start_array(void *v) { ((ctx_t *)v)->depth++; return 1; }
static int a_end_array(void *v) {
  ctx_t *c = v;
  if (--c->depth == 1)
    c->in_charges = 0;
  return 1;
}
static int a_null(void *v) { ((ctx_t *)v)->field = F_NONE; return 1; }

static const yajl_callbacks agg_cb = {a_null, n_bool, NULL, NULL, a_num, a_str,
                                      a_start_map, a_map_key, a_end_map,
                                      a_start_array, a_end_array};

typedef struct {
  size_t pages, charges;
  uint64_t bytes;
} work_stats_t;

__attribute__((noinline)) scw_snapshot_t *bench_work(int agg_mode, const char *dir,
                                                     scw_group_by_t gb,
                                                     work_stats_t *st) {
  ctx_t c = {0};
  c.agg = agg_mode ? scw_agg_new(gb, "EUR") : NULL;
  char *buf = NULL, path[4096];
  size_t cap = 0;
  for (size_t p = 1;; p++) {
    snprintf(path, sizeof(path), "%s/page-%04zu.json", dir, p);
    if (access(path, R_OK) != 0)
      break;
    size_t len = read_file(path, &buf, &cap);
    yajl_handle h = yajl_alloc(agg_mode ? &agg_cb : &null_cb, NULL, &c);
    c.depth = 0;
    c.in_charges = c.in_price = 0;
    if (yajl_parse(h, (const unsigned char *)buf, len) != yajl_status_ok ||
        yajl_complete_parse(h) != yajl_status_ok || c.failed) {
      fprintf(stderr, "bench_yajl: %s: parse failed\n", path);
      exit(1);
    }
    yajl_free(h);
    st->pages++;
    st->bytes += len;
  }
  free(buf);
  st->charges = c.charges;
  if (!agg_mode)
    return NULL;
  scw_snapshot_t *snap = NULL;
  scw_error_t err;
  if (scw_snapshot_build(c.agg, SCW_LABEL_NAME, &snap, &err) != SCW_OK)
    die("snapshot");
  return snap;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench_yajl null|agg DIR sku|resource [SUMS_OUT]\n");
    return 2;
  }
  int agg_mode = strcmp(argv[1], "agg") == 0;
  scw_group_by_t gb;
  if (scw_group_by_parse(argv[3], &gb) != 0)
    die("group by");
  work_stats_t st = {0};
  bench_timer_t t;
  bench_start(&t);
  scw_snapshot_t *snap = bench_work(agg_mode, argv[2], gb, &st);
  bench_stop(&t);
  printf("RESULT wall=%.6f cpu=%.6f charges=%zu pages=%zu bytes=%" PRIu64
         " groups=%zu rss_kb=%ld\n",
         t.wall, t.cpu, st.charges, st.pages, st.bytes,
         snap ? snap->n_series : 0, bench_maxrss_kb());
  if (snap != NULL) {
    write_sku_sums(snap, argc > 4 ? argv[4] : NULL);
    scw_snapshot_release(snap);
  }
  return 0;
}
