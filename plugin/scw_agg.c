/* SPDX-License-Identifier: MIT */
/* scw_agg.c - exact aggregation of charges; see scw_agg.h.
 *
 * Two open-addressing hash tables hold indexes into the projects and groups
 * arrays. They store no keys: a slot is compared field by field with the
 * entry it points to, so a lookup costs one hash over the charge's raw ids
 * and no allocation or copy (this runs once per charge: see bench/). */
#include "scw_agg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scw_money.h"
#include "scw_naming.h"

typedef struct {
  size_t *slots; /* index + 1 into the owner's array; 0 = free */
  size_t cap;    /* power of two */
  size_t used;
} table_t;

/* What a charge added to a group since the mark, to take it back. */
typedef struct {
  size_t group;
  int64_t nanos;
} undo_t;

struct scw_agg_index {
  table_t projects;
  table_t groups;
  size_t projects_cap; /* allocated length of agg->projects */
  size_t groups_cap;   /* allocated length of agg->groups */
  /* The mark (scw_agg_mark) and what was added since. */
  int marked;
  int64_t mark_total;
  size_t mark_charges, mark_skipped, mark_currencies, mark_projects, mark_groups;
  undo_t *undo;
  size_t n_undo, undo_cap;
};

/* FNV-1a over the fields, each followed by a separator byte that cannot
 * occur inside a C string, so ("a", "bc") and ("ab", "c") differ. */
static uint32_t hash_fields(const char *a, const char *b, const char *c) {
  uint32_t h = 2166136261u;
  const char *fields[] = {a, b, c};
  for (int i = 0; i < 3 && fields[i] != NULL; i++) {
    for (const unsigned char *p = (const unsigned char *)fields[i]; *p; p++)
      h = (h ^ *p) * 16777619u;
    h = (h ^ 0xffu) * 16777619u;
  }
  return h;
}

static int str_eq(const char *x, const char *y) {
  return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/* Does groups[index] hold this charge's key? (NULL fields are not part of
 * the grouping.) */
static int group_matches(const scw_agg_t *agg, size_t index,
                         const scw_charge_t *c) {
  const scw_group_t *g = &agg->groups[index];
  return str_eq(agg->projects[g->project].id, c->project_id) &&
         (g->sku == NULL || strcmp(g->sku, c->sku) == 0) &&
         (g->resource_id == NULL || strcmp(g->resource_id, c->resource_id) == 0);
}

/* The slot for a key: the one holding it, or the free one to put it in. */
static size_t project_slot(const scw_agg_t *agg, const char *id, uint32_t h) {
  const table_t *t = &agg->index->projects;
  size_t i = h & (t->cap - 1);
  while (t->slots[i] != 0 && strcmp(agg->projects[t->slots[i] - 1].id, id) != 0)
    i = (i + 1) & (t->cap - 1);
  return i;
}

static size_t group_slot(const scw_agg_t *agg, const scw_charge_t *c,
                         uint32_t h) {
  const table_t *t = &agg->index->groups;
  size_t i = h & (t->cap - 1);
  while (t->slots[i] != 0 && !group_matches(agg, t->slots[i] - 1, c))
    i = (i + 1) & (t->cap - 1);
  return i;
}

/* Doubles a table when it is 70% full, rehashing with rehash(index). */
static int table_reserve(table_t *t, const scw_agg_t *agg,
                         uint32_t (*rehash)(const scw_agg_t *, size_t)) {
  if (t->cap != 0 && (t->used + 1) * 10 <= t->cap * 7)
    return 0;
  size_t cap = t->cap ? t->cap * 2 : 64;
  size_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL)
    return -1;
  for (size_t i = 0; i < t->cap; i++) {
    if (t->slots[i] == 0)
      continue;
    size_t j = rehash(agg, t->slots[i] - 1) & (cap - 1);
    while (slots[j] != 0)
      j = (j + 1) & (cap - 1);
    slots[j] = t->slots[i];
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return 0;
}

static uint32_t project_hash(const scw_agg_t *agg, size_t index) {
  return hash_fields(agg->projects[index].id, NULL, NULL);
}

static uint32_t group_hash(const scw_agg_t *agg, size_t index) {
  const scw_group_t *g = &agg->groups[index];
  return hash_fields(agg->projects[g->project].id, g->sku, g->resource_id);
}

/* Replaces *slot with a copy of name when name is non-NULL and differs. */
static int keep_latest_name(char **slot, const char *name) {
  if (name == NULL || (*slot != NULL && strcmp(*slot, name) == 0))
    return 0;
  char *copy = strdup(name);
  if (copy == NULL)
    return -1;
  free(*slot);
  *slot = copy;
  return 0;
}

/* Grows *arr (of `size`-byte elements, capacity *cap) so that index n fits. */
static int reserve(void **arr, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return 0;
  size_t bigger_cap = *cap ? *cap * 2 : 16;
  void *bigger = realloc(*arr, bigger_cap * size);
  if (bigger == NULL)
    return -1;
  *arr = bigger;
  *cap = bigger_cap;
  return 0;
}

static scw_rc_t find_project(scw_agg_t *agg, const char *id, size_t *index,
                             scw_error_t *err) {
  struct scw_agg_index *ix = agg->index;
  if (table_reserve(&ix->projects, agg, project_hash) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "project table");
  size_t slot = project_slot(agg, id, hash_fields(id, NULL, NULL));
  if (ix->projects.slots[slot] != 0) {
    *index = ix->projects.slots[slot] - 1;
    return SCW_OK;
  }
  if (reserve((void **)&agg->projects, &ix->projects_cap, agg->n_projects,
              sizeof(scw_project_t)) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "project table");
  scw_project_t *p = &agg->projects[agg->n_projects];
  p->name = NULL;
  if ((p->id = strdup(id)) == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "project id");
  *index = agg->n_projects++;
  ix->projects.slots[slot] = *index + 1;
  ix->projects.used++;
  return SCW_OK;
}

/* Appends a group for this charge's key and indexes it at `slot`. */
static scw_rc_t new_group(scw_agg_t *agg, size_t slot, const scw_charge_t *c,
                          size_t *index, scw_error_t *err) {
  size_t project = 0;
  scw_rc_t rc = find_project(agg, c->project_id, &project, err);
  if (rc != SCW_OK)
    return rc;
  if (reserve((void **)&agg->groups, &agg->index->groups_cap, agg->n_groups,
              sizeof(scw_group_t)) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "group table");
  scw_group_t *g = &agg->groups[agg->n_groups];
  memset(g, 0, sizeof(*g));
  g->project = project;
  if (agg->group_by >= SCW_GROUP_SKU && (g->sku = strdup(c->sku)) == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "group sku");
  if (agg->group_by == SCW_GROUP_RESOURCE &&
      (g->resource_id = strdup(c->resource_id)) == NULL) {
    free(g->sku);
    return scw_fail(err, SCW_ERR_NOMEM, "group resource");
  }
  *index = agg->n_groups++;
  agg->index->groups.slots[slot] = *index + 1;
  agg->index->groups.used++;
  return SCW_OK;
}

static scw_rc_t add_to_group(scw_agg_t *agg, const scw_charge_t *c,
                             scw_error_t *err) {
  if (agg->group_by == SCW_GROUP_ORGANIZATION)
    return SCW_OK; /* only the total */
  if (table_reserve(&agg->index->groups, agg, group_hash) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "group table");
  const char *sku = agg->group_by >= SCW_GROUP_SKU ? c->sku : NULL;
  const char *res = agg->group_by == SCW_GROUP_RESOURCE ? c->resource_id : NULL;
  size_t slot = group_slot(agg, c, hash_fields(c->project_id, sku, res));
  size_t index = 0;
  scw_rc_t rc = SCW_OK;
  if (agg->index->groups.slots[slot] != 0)
    index = agg->index->groups.slots[slot] - 1;
  else if ((rc = new_group(agg, slot, c, &index, err)) != SCW_OK)
    return rc;

  scw_group_t *g = &agg->groups[index];
  if ((rc = scw_money_add(&g->nanos, c->nanos, err)) != SCW_OK)
    return rc;
  g->charges++;
  struct scw_agg_index *ix = agg->index;
  if (ix->marked) {
    if (reserve((void **)&ix->undo, &ix->undo_cap, ix->n_undo, sizeof(undo_t)) != 0)
      return scw_fail(err, SCW_ERR_NOMEM, "page journal");
    ix->undo[ix->n_undo++] = (undo_t){index, c->nanos};
  }
  if (keep_latest_name(&agg->projects[g->project].name, c->project_name) != 0 ||
      (agg->group_by == SCW_GROUP_RESOURCE &&
       keep_latest_name(&g->resource_name, c->resource_name) != 0))
    return scw_fail(err, SCW_ERR_NOMEM, "names");
  return SCW_OK;
}

/* Remembers the first few other currencies, log-safe: they are only ever
 * printed in a warning. */
static void note_other_currency(scw_agg_t *agg, const char *currency) {
  agg->skipped++;
  char shown[sizeof(agg->other_currencies[0])];
  scw_log_safe(currency, shown, sizeof(shown));
  for (char *p = shown; *p != '\0'; p++)
    *p = (char)toupper((unsigned char)*p); /* as Currency is configured */
  for (size_t i = 0; i < agg->n_other_currencies; i++)
    if (strcmp(agg->other_currencies[i], shown) == 0)
      return;
  if (agg->n_other_currencies < SCW_AGG_MAX_OTHER_CURRENCIES)
    memcpy(agg->other_currencies[agg->n_other_currencies++], shown, sizeof(shown));
}

scw_rc_t scw_agg_add(void *ctx, const scw_charge_t *c, scw_error_t *err) {
  scw_agg_t *agg = ctx;
  /* A charge without a price costs nothing in any currency: count it only.
   * ISO 4217 codes are upper case, but "eur" means EUR all the same. */
  if (c->currency[0] != '\0' && strcasecmp(c->currency, agg->currency) != 0) {
    note_other_currency(agg, c->currency);
    return SCW_OK;
  }
  scw_rc_t rc = scw_money_add(&agg->total_nanos, c->nanos, err);
  if (rc == SCW_OK)
    rc = add_to_group(agg, c, err);
  if (rc == SCW_OK)
    agg->charges++;
  return rc;
}

scw_agg_t *scw_agg_new(scw_group_by_t group_by, const char *currency) {
  scw_agg_t *agg = calloc(1, sizeof(*agg));
  if (agg == NULL)
    return NULL;
  agg->index = calloc(1, sizeof(*agg->index));
  if (agg->index == NULL) {
    free(agg);
    return NULL;
  }
  agg->group_by = group_by;
  snprintf(agg->currency, sizeof(agg->currency), "%s", currency);
  return agg;
}

void scw_agg_free(scw_agg_t *agg) {
  if (agg == NULL)
    return;
  for (size_t i = 0; i < agg->n_projects; i++) {
    free(agg->projects[i].id);
    free(agg->projects[i].name);
  }
  for (size_t i = 0; i < agg->n_groups; i++) {
    free(agg->groups[i].sku);
    free(agg->groups[i].resource_id);
    free(agg->groups[i].resource_name);
  }
  free(agg->projects);
  free(agg->groups);
  if (agg->index != NULL) {
    free(agg->index->undo);
    free(agg->index->projects.slots);
    free(agg->index->groups.slots);
    free(agg->index);
  }
  free(agg);
}

void scw_agg_mark(scw_agg_t *agg) {
  struct scw_agg_index *ix = agg->index;
  ix->marked = 1;
  ix->n_undo = 0;
  ix->mark_total = agg->total_nanos;
  ix->mark_charges = agg->charges;
  ix->mark_skipped = agg->skipped;
  ix->mark_currencies = agg->n_other_currencies;
  ix->mark_projects = agg->n_projects;
  ix->mark_groups = agg->n_groups;
}

/* Indexes entries [0, n) again after entries past n were dropped. */
static void reindex(table_t *t, const scw_agg_t *agg, size_t n,
                    uint32_t (*rehash)(const scw_agg_t *, size_t)) {
  if (t->cap == 0)
    return;
  memset(t->slots, 0, t->cap * sizeof(*t->slots));
  for (size_t i = 0; i < n; i++) {
    size_t j = rehash(agg, i) & (t->cap - 1);
    while (t->slots[j] != 0)
      j = (j + 1) & (t->cap - 1);
    t->slots[j] = i + 1;
  }
  t->used = n;
}

void scw_agg_undo(scw_agg_t *agg) {
  struct scw_agg_index *ix = agg->index;
  if (!ix->marked)
    return;
  for (size_t i = ix->n_undo; i-- > 0;) {
    scw_group_t *g = &agg->groups[ix->undo[i].group];
    g->nanos -= ix->undo[i].nanos; /* exact: it was added without overflow */
    g->charges--;
  }
  for (size_t i = ix->mark_groups; i < agg->n_groups; i++) {
    free(agg->groups[i].sku);
    free(agg->groups[i].resource_id);
    free(agg->groups[i].resource_name);
  }
  for (size_t i = ix->mark_projects; i < agg->n_projects; i++) {
    free(agg->projects[i].id);
    free(agg->projects[i].name);
  }
  if (agg->n_groups != ix->mark_groups || agg->n_projects != ix->mark_projects) {
    agg->n_groups = ix->mark_groups;
    agg->n_projects = ix->mark_projects;
    reindex(&ix->projects, agg, agg->n_projects, project_hash);
    reindex(&ix->groups, agg, agg->n_groups, group_hash);
  }
  agg->total_nanos = ix->mark_total;
  agg->charges = ix->mark_charges;
  agg->skipped = ix->mark_skipped;
  agg->n_other_currencies = ix->mark_currencies;
  ix->n_undo = 0;
}

static const char *const group_by_names[] = {
    [SCW_GROUP_ORGANIZATION] = "organization",
    [SCW_GROUP_PROJECT] = "project",
    [SCW_GROUP_SKU] = "sku",
    [SCW_GROUP_RESOURCE] = "resource",
};

const char *scw_group_by_name(scw_group_by_t group_by) {
  return group_by_names[group_by];
}

int scw_group_by_parse(const char *name, scw_group_by_t *out) {
  for (size_t i = 0; i < sizeof(group_by_names) / sizeof(group_by_names[0]); i++)
    if (strcasecmp(name, group_by_names[i]) == 0) {
      *out = (scw_group_by_t)i;
      return 0;
    }
  return -1;
}
