/* SPDX-License-Identifier: MIT */
/* scw_fold.c - per-project totals and the MaxSeries cap; see scw_fold.h. */
#include "scw_fold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s) { return s != NULL ? strdup(s) : NULL; }

scw_rc_t scw_snapshot_summarise(scw_snapshot_t *snap, scw_error_t *err) {
  size_t n = 0;
  /* Series are sorted by plugin instance, and a project has one. */
  for (size_t i = 0; i < snap->n_series; i++)
    if (snap->series[i].project_id != NULL &&
        (i == 0 || strcmp(snap->series[i].plugin_instance,
                          snap->series[i - 1].plugin_instance) != 0))
      n++;
  scw_project_cost_t *p = calloc(n ? n : 1, sizeof(*p));
  if (p == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "project totals");
  size_t k = 0;
  int oom = 0;
  for (size_t i = 0; i < snap->n_series; i++) {
    const scw_series_t *s = &snap->series[i];
    if (s->project_id == NULL)
      continue; /* an "other" series: not one project's */
    if (k == 0 || strcmp(p[k - 1].plugin_instance, s->plugin_instance) != 0) {
      scw_project_cost_t *c = &p[k++];
      memcpy(c->plugin_instance, s->plugin_instance, SCW_NAME_SIZE);
      c->project_id = strdup(s->project_id);
      c->project_name = dup_or_null(s->project_name);
      c->forecast_nanos = -1;
      oom |= c->project_id == NULL || (s->project_name && !c->project_name);
    }
    p[k - 1].nanos += s->nanos;
  }
  for (size_t i = 0; i < snap->n_projects; i++) {
    free(snap->projects[i].project_id);
    free(snap->projects[i].project_name);
  }
  free(snap->projects);
  snap->projects = p;
  snap->n_projects = k;
  return oom ? scw_fail(err, SCW_ERR_NOMEM, "project totals") : SCW_OK;
}

const scw_series_t *scw_snapshot_other(const scw_snapshot_t *snap) {
  if (snap->folded == 0)
    return NULL;
  for (size_t i = 0; i < snap->n_series; i++)
    if (snap->series[i].project_id == NULL)
      return &snap->series[i];
  return NULL;
}

static uint64_t abs_nanos(int64_t v) {
  return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Largest absolute cost first; ties by identifier, so ranks are a total
 * order and the same month always folds the same way. */
static int cmp_rank(const void *a, const void *b) {
  const scw_series_t *x = *(const scw_series_t *const *)a;
  const scw_series_t *y = *(const scw_series_t *const *)b;
  uint64_t ax = abs_nanos(x->nanos), ay = abs_nanos(y->nanos);
  if (ax != ay)
    return ax > ay ? -1 : 1;
  return scw_series_cmp(x, y);
}

/* 1 if previous (sorted by identifier) has a real series named like s. */
static int incumbent(const scw_snapshot_t *previous, const scw_series_t *s) {
  if (previous == NULL)
    return 0;
  const scw_series_t *hit =
      bsearch(s, previous->series, previous->n_series, sizeof(*s),
              scw_series_cmp);
  return hit != NULL && hit->project_id != NULL;
}

static int name_taken(const scw_series_t *kept, size_t n, const char *ti) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(kept[i].plugin_instance, SCW_FOLD_PLUGIN_INSTANCE) == 0 &&
        strcmp(kept[i].type_instance, ti) == 0)
      return 1;
  return 0;
}

scw_rc_t scw_snapshot_fold(scw_snapshot_t *snap, size_t max_series,
                           const scw_snapshot_t *previous, scw_error_t *err) {
  snap->folded = 0;
  if (max_series == 0 || snap->n_series <= max_series)
    return SCW_OK;
  if (previous != NULL && strcmp(previous->period, snap->period) != 0)
    previous = NULL;
  size_t n = snap->n_series, k = max_series < 2 ? 1 : max_series - 1;
  size_t m = k / 10 > 1 ? k / 10 : 1;
  const scw_series_t **rank = malloc(n * sizeof(*rank));
  unsigned char *keep = calloc(n, 1);
  scw_series_t *out = malloc((k + 1) * sizeof(*out));
  if (rank == NULL || keep == NULL || out == NULL) {
    free(rank);
    free(keep);
    free(out);
    return scw_fail(err, SCW_ERR_NOMEM, "folding series");
  }
  for (size_t i = 0; i < n; i++)
    rank[i] = &snap->series[i];
  qsort(rank, n, sizeof(*rank), cmp_rank);
  /* Strong newcomers and incumbents within the band, best first... */
  size_t kept = 0;
  for (size_t r = 0; r < n && r < k + m; r++) {
    int inc = incumbent(previous, rank[r]);
    if (inc || r + m < k)
      keep[r] = 1;
  }
  for (size_t r = 0; r < n; r++)
    kept += keep[r];
  /* ...too many: the lowest-ranked incumbents make room; too few: the best
   * of the rest fill it. */
  for (size_t r = n; r-- > 0 && kept > k;)
    if (keep[r]) {
      keep[r] = 0;
      kept--;
    }
  for (size_t r = 0; r < n && kept < k; r++)
    if (!keep[r]) {
      keep[r] = 1;
      kept++;
    }
  scw_series_t other = {.nanos = 0};
  __int128 other_sum = 0; /* a subset of the groups may overflow int64 */
  size_t j = 0;
  for (size_t r = 0; r < n; r++) {
    if (keep[r]) {
      out[j++] = *rank[r];
    } else {
      other_sum += rank[r]->nanos;
      other.charges += rank[r]->charges;
    }
  }
  if (other_sum > INT64_MAX || other_sum < INT64_MIN) {
    free(rank);
    free(keep);
    free(out);
    return scw_fail(err, SCW_ERR_LIMIT, "the folded groups' sum is out of range");
  }
  other.nanos = (int64_t)other_sum;
  snprintf(other.plugin_instance, sizeof(other.plugin_instance), "%s",
           SCW_FOLD_PLUGIN_INSTANCE);
  snprintf(other.type_instance, sizeof(other.type_instance), "%s",
           SCW_FOLD_TYPE_INSTANCE);
  for (unsigned suffix = 1; name_taken(out, j, other.type_instance); suffix++)
    snprintf(other.type_instance, sizeof(other.type_instance), "%s_%u",
             SCW_FOLD_TYPE_INSTANCE, suffix);
  out[j++] = other;
  qsort(out, j, sizeof(*out), scw_series_cmp);
  free(rank);
  free(keep);
  free(snap->series);
  snap->series = out;
  snap->n_series = j;
  snap->folded = n - k;
  return SCW_OK;
}
