/* SPDX-License-Identifier: MIT */
/* sums.h - per-SKU totals of a snapshot, written as sorted "sku\tnanos"
 * lines so that every implementation's answer can be compared with cmp. */
#ifndef BENCH_SUMS_H
#define BENCH_SUMS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_snapshot.h"

typedef struct {
  const char *sku;
  int64_t nanos;
} sku_sum_t;

static int cmp_sku_sum(const void *a, const void *b) {
  return strcmp(((const sku_sum_t *)a)->sku, ((const sku_sum_t *)b)->sku);
}

static void write_sku_sums(const scw_snapshot_t *s, const char *path) {
  if (path == NULL || s->n_series == 0)
    return;
  sku_sum_t *v = malloc(s->n_series * sizeof(*v));
  for (size_t i = 0; i < s->n_series; i++)
    v[i] = (sku_sum_t){s->series[i].sku ? s->series[i].sku : "", s->series[i].nanos};
  qsort(v, s->n_series, sizeof(*v), cmp_sku_sum);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  for (size_t i = 0; i < s->n_series;) {
    size_t j = i;
    int64_t sum = 0;
    while (j < s->n_series && strcmp(v[j].sku, v[i].sku) == 0)
      sum += v[j++].nanos;
    fprintf(f, "%s\t%" PRId64 "\n", v[i].sku, sum);
    i = j;
  }
  fclose(f);
  free(v);
}

#endif
