/* SPDX-License-Identifier: MIT */
/* scw_snapshot.c - naming the aggregate's groups and the snapshot hand-over.
 *
 * Naming happens here, once per refresh, not on every read: labels are
 * derived (scw_naming.h), then made unique in two passes, projects first
 * (two projects named alike), then series within a project (two SKUs that
 * clean to the same string, or cut names). A clash gets a hash suffix of the
 * raw key on every member, so no series silently absorbs another. */
#include "scw_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cleaned raw value, or "unknown-<hash of raw>" when nothing of it
 * survives cleaning (an id of "/" or "???"): an empty plugin_instance would
 * be the organization's own namespace, where the total lives. */
static char *clean_or_placeholder(const char *raw) {
  char *clean = scw_name_clean(raw);
  if (clean == NULL || clean[0] != '\0')
    return clean;
  free(clean);
  char *placeholder = malloc(sizeof("unknown-") + 8);
  if (placeholder != NULL)
    snprintf(placeholder, sizeof("unknown-") + 8, "unknown-%08x", scw_hash32(raw));
  return placeholder;
}

static char *label_of(const char *name, const char *id) {
  char *clean = name != NULL ? scw_name_clean(name) : NULL;
  if (clean != NULL && clean[0] != '\0')
    return clean;
  free(clean);
  return clean_or_placeholder(id);
}

/* Labels live at base + i * stride (so they can sit inside structs); items
 * of different groups never clash (groups may be NULL: one group). */
typedef struct {
  const char *base;
  size_t stride;
  const size_t *groups;
} label_set_t;

static int cmp_index(const void *a, const void *b, void *ctx) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  const label_set_t *ls = ctx;
  if (ls->groups != NULL && ls->groups[x] != ls->groups[y])
    return ls->groups[x] < ls->groups[y] ? -1 : 1;
  return strcmp(ls->base + x * ls->stride, ls->base + y * ls->stride);
}

/* Appends a hash of keys[i] to every label that equals another one in its
 * group. Returns how many labels were changed, or -1 on ENOMEM. */
static long make_unique(char *base, size_t stride, const size_t *groups,
                        char *const *keys, size_t n) {
  size_t *order = malloc((n ? n : 1) * sizeof(*order));
  if (order == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  label_set_t ls = {base, stride, groups};
  long changed = 0;
  /* A suffixed label can equal another label that was already there (a
   * project named "x-<hash>"): repeat until no clash is left. */
  for (int pass = 0; pass < 8; pass++) {
    long pass_changed = 0;
    qsort_r(order, n, sizeof(*order), cmp_index, &ls);
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && cmp_index(&order[i], &order[j], &ls) == 0)
        j++;
      for (size_t k = i; j - i > 1 && k < j; k++, pass_changed++)
        scw_name_add_suffix(base + order[k] * stride, SCW_NAME_SIZE,
                            keys[order[k]]);
      i = j;
    }
    changed += pass_changed;
    if (pass_changed == 0)
      break;
  }
  free(order);
  return changed;
}

static scw_rc_t name_projects(const scw_agg_t *agg, scw_label_mode_t mode,
                              char (*labels)[SCW_NAME_SIZE], size_t *renamed,
                              scw_error_t *err) {
  char **keys = malloc((agg->n_projects ? agg->n_projects : 1) * sizeof(*keys));
  if (keys == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "project labels");
  for (size_t i = 0; i < agg->n_projects; i++) {
    const scw_project_t *p = &agg->projects[i];
    char *clean = label_of(mode == SCW_LABEL_NAME ? p->name : NULL, p->id);
    if (clean == NULL) {
      free(keys);
      return scw_fail(err, SCW_ERR_NOMEM, "project label");
    }
    *renamed += (size_t)scw_name_fit(clean, p->id, labels[i], SCW_NAME_SIZE);
    free(clean);
    keys[i] = p->id;
  }
  long changed =
      make_unique(labels[0], SCW_NAME_SIZE, NULL, keys, agg->n_projects);
  free(keys);
  if (changed < 0)
    return scw_fail(err, SCW_ERR_NOMEM, "project labels");
  *renamed += (size_t)changed;
  return SCW_OK;
}

/* type_instance of a group, and the raw key that identifies it. */
static scw_rc_t name_group(const scw_agg_t *agg, const scw_group_t *g,
                           char *out, char **raw_key, size_t *renamed) {
  *raw_key = NULL;
  if (agg->group_by == SCW_GROUP_PROJECT) {
    out[0] = '\0';
    *raw_key = strdup("");
    return *raw_key ? SCW_OK : SCW_ERR_NOMEM;
  }
  char *sku = clean_or_placeholder(g->sku);
  char *res = agg->group_by == SCW_GROUP_RESOURCE
                  ? label_of(g->resource_name, g->resource_id)
                  : NULL;
  size_t rlen = g->resource_id ? strlen(g->resource_id) : 0;
  char *clean = sku ? malloc(strlen(sku) + (res ? strlen(res) : 0) + 16) : NULL;
  *raw_key = malloc(strlen(g->sku) + rlen + 2);
  scw_rc_t rc = SCW_ERR_NOMEM;
  if (clean != NULL && *raw_key != NULL && (res != NULL || g->resource_id == NULL)) {
    strcpy(clean, sku);
    strcpy(*raw_key, g->sku);
    if (g->resource_id != NULL) {
      strcat(strcat(clean, "-"), res);
      strcat(strcat(*raw_key, "\x1f"), g->resource_id);
    }
    *renamed += (size_t)scw_name_fit(clean, *raw_key, out, SCW_NAME_SIZE);
    rc = SCW_OK;
  }
  free(sku);
  free(res);
  free(clean);
  return rc;
}

static int cmp_series(const void *a, const void *b) {
  const scw_series_t *x = a, *y = b;
  int c = strcmp(x->plugin_instance, y->plugin_instance);
  return c != 0 ? c : strcmp(x->type_instance, y->type_instance);
}


static scw_rc_t name_series(scw_snapshot_t *s, char (*project_labels)[SCW_NAME_SIZE],
                            scw_error_t *err) {
  const scw_agg_t *agg = s->agg;
  size_t n = agg->n_groups;
  char **keys = calloc(n ? n : 1, sizeof(*keys));
  size_t *projects = malloc((n ? n : 1) * sizeof(*projects));
  scw_rc_t rc = keys && projects ? SCW_OK : SCW_ERR_NOMEM;
  for (size_t i = 0; i < n && rc == SCW_OK; i++) {
    const scw_group_t *g = &agg->groups[i];
    const scw_project_t *p = &agg->projects[g->project];
    scw_series_t *se = &s->series[i];
    memcpy(se->plugin_instance, project_labels[g->project], SCW_NAME_SIZE);
    se->nanos = g->nanos;
    se->charges = g->charges;
    se->project_id = p->id;
    se->project_name = p->name;
    se->sku = g->sku;
    se->resource_id = g->resource_id;
    se->resource_name = g->resource_name;
    projects[i] = g->project;
    rc = name_group(agg, g, se->type_instance, &keys[i], &s->n_renamed);
  }
  if (rc == SCW_OK) {
    long changed = make_unique(s->series[0].type_instance, sizeof(scw_series_t),
                               projects, keys, n);
    if (changed < 0)
      rc = SCW_ERR_NOMEM;
    else
      s->n_renamed += (size_t)changed;
  }
  for (size_t i = 0; keys != NULL && i < n; i++)
    free(keys[i]);
  free(keys);
  free(projects);
  if (rc != SCW_OK)
    return scw_fail(err, rc, "naming series");
  s->n_series = n;
  qsort(s->series, n, sizeof(*s->series), cmp_series);
  return SCW_OK;
}

scw_rc_t scw_snapshot_build(scw_agg_t *agg, scw_label_mode_t label_mode,
                            scw_snapshot_t **out, scw_error_t *err) {
  *out = NULL;
  scw_snapshot_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    scw_agg_free(agg);
    return scw_fail(err, SCW_ERR_NOMEM, "snapshot");
  }
  s->agg = agg;
  atomic_init(&s->refs, 1);
  s->total_nanos = agg->total_nanos;
  memcpy(s->currency, agg->currency, sizeof(s->currency));
  s->charges = agg->charges;
  s->skipped = agg->skipped;

  char(*project_labels)[SCW_NAME_SIZE] =
      malloc((agg->n_projects ? agg->n_projects : 1) * SCW_NAME_SIZE);
  s->series = calloc(agg->n_groups ? agg->n_groups : 1, sizeof(*s->series));
  scw_rc_t rc = project_labels && s->series
                    ? SCW_OK
                    : scw_fail(err, SCW_ERR_NOMEM, "snapshot series");
  if (rc == SCW_OK)
    rc = name_projects(agg, label_mode, project_labels, &s->n_renamed, err);
  if (rc == SCW_OK)
    rc = name_series(s, project_labels, err);
  free(project_labels);
  if (rc != SCW_OK) {
    scw_snapshot_release(s);
    return rc;
  }
  *out = s;
  return SCW_OK;
}

void scw_snapshot_release(scw_snapshot_t *snap) {
  if (snap == NULL || atomic_fetch_sub(&snap->refs, 1) != 1)
    return;
  scw_agg_free(snap->agg);
  free(snap->series);
  free(snap);
}

void scw_slot_init(scw_slot_t *slot) {
  pthread_mutex_init(&slot->lock, NULL);
  slot->current = NULL;
  slot->published = 0;
}

void scw_slot_destroy(scw_slot_t *slot) {
  scw_snapshot_release(slot->current);
  slot->current = NULL;
  pthread_mutex_destroy(&slot->lock);
}

void scw_slot_publish(scw_slot_t *slot, scw_snapshot_t *snap) {
  pthread_mutex_lock(&slot->lock);
  scw_snapshot_t *old = slot->current;
  if (snap != NULL)
    snap->generation = ++slot->published;
  slot->current = snap;
  pthread_mutex_unlock(&slot->lock);
  scw_snapshot_release(old); /* outside the lock: freeing can take a while */
}

scw_snapshot_t *scw_slot_acquire(scw_slot_t *slot) {
  pthread_mutex_lock(&slot->lock);
  scw_snapshot_t *snap = slot->current;
  if (snap != NULL)
    atomic_fetch_add(&snap->refs, 1);
  pthread_mutex_unlock(&slot->lock);
  return snap;
}
