/* SPDX-License-Identifier: MIT */
/* snapshot.c - the part of a read we own: building a snapshot of 10,000
 * series and iterating it.
 *
 *   bench_snapshot [N_SERIES [REPS]]
 *
 * An aggregate of N_SERIES (10,000) groups (GroupBy resource: 20 projects,
 * each with N/20 resource+SKU pairs; realistic ids, SKUs and names) is filled
 * with one charge per group through scw_agg_add, then scw_snapshot_build
 * names, dedupes and sorts the series, then every series is visited the way
 * the read callback does before dispatching (double value, both labels, the
 * meta strings). Each phase is timed over REPS (20) repetitions; the median is
 * reported. do_fill / do_build / do_iterate are the regions callgrind counts. */
#include <inttypes.h>

#include "common.h"
#include "scw_agg.h"
#include "scw_money.h"
#include "scw_snapshot.h"

#define N_PROJECTS 20

static char (*pids)[40], (*pnames)[40], (*skus)[64], (*rids)[40], (*rnames)[48];
static size_t n_series;

static void make_strings(void) {
  pids = calloc(N_PROJECTS, sizeof(*pids));
  pnames = calloc(N_PROJECTS, sizeof(*pnames));
  skus = calloc(n_series, sizeof(*skus));
  rids = calloc(n_series, sizeof(*rids));
  rnames = calloc(n_series, sizeof(*rnames));
  for (unsigned p = 0; p < N_PROJECTS; p++) {
    snprintf(pids[p], 40, "%08x-1b4d-4c6e-8f10-a2b3c4d5e6f7", 0x3f0e8c2a + p * 7919);
    snprintf(pnames[p], 40, "team-%02u production", p);
  }
  for (size_t i = 0; i < n_series; i++) {
    snprintf(skus[i], 64, "/compute/pro2_%s/run_par%zu",
             (const char *[]){"xxs", "xs", "s", "m", "l"}[i % 5], 1 + i % 3);
    snprintf(rids[i], 40, "%08zx-9c1b-4e7a-b3d5-8f2e1c0a9b74", 0x0d6a4f2e + i * 104729);
    snprintf(rnames[i], 48, "web-%05zu.internal", i);
  }
}

__attribute__((noinline)) scw_agg_t *do_fill(void) {
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_RESOURCE, "EUR");
  scw_error_t err;
  for (size_t i = 0; i < n_series; i++) {
    scw_charge_t c = {
        .project_id = pids[i % N_PROJECTS],
        .project_name = pnames[i % N_PROJECTS],
        .sku = skus[i],
        .resource_id = rids[i],
        .resource_name = rnames[i],
        .currency = "EUR",
        .nanos = (int64_t)(i * 1234567 % 2000000000),
    };
    if (scw_agg_add(agg, &c, &err) != SCW_OK)
      die("agg");
  }
  return agg;
}

__attribute__((noinline)) scw_snapshot_t *do_build(scw_agg_t *agg) {
  scw_snapshot_t *s = NULL;
  scw_error_t err;
  if (scw_snapshot_build(agg, SCW_LABEL_NAME, &s, &err) != SCW_OK)
    die("snapshot");
  return s;
}

__attribute__((noinline)) double do_iterate(const scw_snapshot_t *s) {
  double acc = 0;
  for (size_t i = 0; i < s->n_series; i++) {
    const scw_series_t *se = &s->series[i];
    acc += scw_money_to_double(se->nanos);
    acc += (double)(strlen(se->plugin_instance) + strlen(se->type_instance));
    acc += (double)(strlen(se->project_id) + strlen(se->sku) +
                    strlen(se->resource_id));
    if (se->project_name)
      acc += (double)strlen(se->project_name);
    if (se->resource_name)
      acc += (double)strlen(se->resource_name);
  }
  return acc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  n_series = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
  int reps = argc > 2 ? atoi(argv[2]) : 20;
  if (reps < 1)
    reps = 1;
  make_strings();
  double *tf = calloc((size_t)reps, sizeof(double));
  double *tb = calloc((size_t)reps, sizeof(double));
  double *ti = calloc((size_t)reps, sizeof(double));
  double sink = 0;
  size_t got = 0, renamed = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = bench_mono();
    scw_agg_t *agg = do_fill();
    double t1 = bench_mono();
    scw_snapshot_t *s = do_build(agg);
    double t2 = bench_mono();
    sink += do_iterate(s);
    double t3 = bench_mono();
    tf[r] = t1 - t0;
    tb[r] = t2 - t1;
    ti[r] = t3 - t2;
    got = s->n_series;
    renamed = s->n_renamed;
    scw_snapshot_release(s);
  }
  printf("RESULT series=%zu renamed=%zu reps=%d fill_s=%.6f build_s=%.6f "
         "iterate_s=%.6f rss_kb=%ld check=%.0f\n",
         got, renamed, reps, median(tf, reps), median(tb, reps), median(ti, reps),
         bench_maxrss_kb(), sink / reps);
  return 0;
}
