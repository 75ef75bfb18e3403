/* scw_agg.c - exact aggregation of charges; see scw_agg.h.
 *
 * Two open-addressing hash tables map a key to an index into the projects
 * and groups arrays. Keys are length-prefixed ("36:<id>9:<sku>") so that no
 * choice of bytes in one field can make two different keys equal. */
#include "scw_agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scw_money.h"
#include "scw_naming.h"

typedef struct {
  char **keys;   /* NULL = free slot */
  size_t *value; /* index into the owner's array */
  size_t cap;    /* power of two */
  size_t used;
} map_t;

struct scw_agg_index {
  map_t projects;
  map_t groups;
  char *key_buf; /* scratch for building keys */
  size_t key_cap;
  size_t projects_cap; /* allocated length of agg->projects */
  size_t groups_cap;   /* allocated length of agg->groups */
};

static void map_free(map_t *m) {
  for (size_t i = 0; i < m->cap; i++)
    free(m->keys[i]);
  free(m->keys);
  free(m->value);
}

static size_t map_slot(const map_t *m, const char *key) {
  size_t i = scw_hash32(key) & (m->cap - 1);
  while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
    i = (i + 1) & (m->cap - 1);
  return i;
}

static int map_grow(map_t *m) {
  map_t bigger = {.cap = m->cap ? m->cap * 2 : 64};
  bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
  bigger.value = calloc(bigger.cap, sizeof(*bigger.value));
  if (bigger.keys == NULL || bigger.value == NULL) {
    map_free(&bigger);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i] == NULL)
      continue;
    size_t j = map_slot(&bigger, m->keys[i]);
    bigger.keys[j] = m->keys[i];
    bigger.value[j] = m->value[i];
  }
  bigger.used = m->used;
  free(m->keys);
  free(m->value);
  *m = bigger;
  return 0;
}

/* Finds key; if absent, inserts it with value *fresh and sets *inserted. */
static int map_lookup_or_add(map_t *m, const char *key, size_t fresh,
                             size_t *value, int *inserted) {
  if ((m->used + 1) * 10 > m->cap * 7 && map_grow(m) != 0)
    return -1;
  size_t i = map_slot(m, key);
  *inserted = m->keys[i] == NULL;
  if (*inserted) {
    m->keys[i] = strdup(key);
    if (m->keys[i] == NULL)
      return -1;
    m->value[i] = fresh;
    m->used++;
  }
  *value = m->value[i];
  return 0;
}

/* Builds "len:field" for each non-NULL field into the index scratch buffer. */
static const char *make_key(struct scw_agg_index *ix, const char *a,
                            const char *b, const char *c) {
  const char *fields[] = {a, b, c};
  size_t need = 1;
  for (int i = 0; i < 3; i++)
    if (fields[i] != NULL)
      need += strlen(fields[i]) + 24;
  if (need > ix->key_cap) {
    char *nb = realloc(ix->key_buf, need);
    if (nb == NULL)
      return NULL;
    ix->key_buf = nb;
    ix->key_cap = need;
  }
  size_t off = 0;
  ix->key_buf[0] = '\0';
  for (int i = 0; i < 3; i++)
    if (fields[i] != NULL)
      off += (size_t)snprintf(ix->key_buf + off, need - off, "%zu:%s",
                              strlen(fields[i]), fields[i]);
  return ix->key_buf;
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

static scw_rc_t find_project(scw_agg_t *agg, const scw_charge_t *c,
                             size_t *index, scw_error_t *err) {
  struct scw_agg_index *ix = agg->index;
  const char *key = make_key(ix, c->project_id, NULL, NULL);
  int inserted;
  if (key == NULL || map_lookup_or_add(&ix->projects, key, agg->n_projects,
                                       index, &inserted) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "project table");
  if (inserted) {
    if (reserve((void **)&agg->projects, &ix->projects_cap, agg->n_projects,
                sizeof(scw_project_t)) != 0)
      return scw_fail(err, SCW_ERR_NOMEM, "project table");
    scw_project_t *p = &agg->projects[agg->n_projects++];
    p->id = strdup(c->project_id);
    p->name = NULL;
    if (p->id == NULL)
      return scw_fail(err, SCW_ERR_NOMEM, "project id");
  }
  if (keep_latest_name(&agg->projects[*index].name, c->project_name) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "project name");
  return SCW_OK;
}

static scw_rc_t new_group(scw_agg_t *agg, size_t project, const scw_charge_t *c,
                          scw_error_t *err) {
  if (reserve((void **)&agg->groups, &agg->index->groups_cap, agg->n_groups,
              sizeof(scw_group_t)) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "group table");
  scw_group_t *g = &agg->groups[agg->n_groups++];
  memset(g, 0, sizeof(*g));
  g->project = project;
  if (agg->group_by >= SCW_GROUP_SKU && (g->sku = strdup(c->sku)) == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "group sku");
  if (agg->group_by == SCW_GROUP_RESOURCE &&
      (g->resource_id = strdup(c->resource_id)) == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "group resource");
  return SCW_OK;
}

static scw_rc_t add_to_group(scw_agg_t *agg, const scw_charge_t *c,
                             scw_error_t *err) {
  size_t project;
  scw_rc_t rc = find_project(agg, c, &project, err);
  if (rc != SCW_OK || agg->group_by == SCW_GROUP_ORGANIZATION)
    return rc;

  struct scw_agg_index *ix = agg->index;
  const char *key = make_key(
      ix, c->project_id, agg->group_by >= SCW_GROUP_SKU ? c->sku : NULL,
      agg->group_by == SCW_GROUP_RESOURCE ? c->resource_id : NULL);
  size_t index;
  int inserted;
  if (key == NULL ||
      map_lookup_or_add(&ix->groups, key, agg->n_groups, &index, &inserted) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "group table");
  if (inserted && (rc = new_group(agg, project, c, err)) != SCW_OK)
    return rc;

  scw_group_t *g = &agg->groups[index];
  if ((rc = scw_money_add(&g->nanos, c->nanos, err)) != SCW_OK)
    return rc;
  g->charges++;
  if (agg->group_by == SCW_GROUP_RESOURCE &&
      keep_latest_name(&g->resource_name, c->resource_name) != 0)
    return scw_fail(err, SCW_ERR_NOMEM, "resource name");
  return SCW_OK;
}

/* Remembers the first few other currencies, log-safe: they are only ever
 * printed in a warning. */
static void note_other_currency(scw_agg_t *agg, const char *currency) {
  agg->skipped++;
  char shown[sizeof(agg->other_currencies[0])];
  scw_log_safe(currency, shown, sizeof(shown));
  for (size_t i = 0; i < agg->n_other_currencies; i++)
    if (strcmp(agg->other_currencies[i], shown) == 0)
      return;
  if (agg->n_other_currencies < SCW_AGG_MAX_OTHER_CURRENCIES)
    memcpy(agg->other_currencies[agg->n_other_currencies++], shown, sizeof(shown));
}

scw_rc_t scw_agg_add(void *ctx, const scw_charge_t *c, scw_error_t *err) {
  scw_agg_t *agg = ctx;
  /* A charge without a price costs nothing in any currency: count it only. */
  if (c->currency[0] != '\0' && strcmp(c->currency, agg->currency) != 0) {
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
    map_free(&agg->index->projects);
    map_free(&agg->index->groups);
    free(agg->index->key_buf);
    free(agg->index);
  }
  free(agg);
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
