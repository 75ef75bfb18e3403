/* SPDX-License-Identifier: MIT */
/* scw_snapshot.c - naming the aggregate's groups and the snapshot hand-over.
 *
 * Naming happens here, once per refresh, not on every read: labels are
 * derived (scw_naming.h), then made unique in two rounds, projects first
 * (two projects named alike), then series within a project (two SKUs that
 * clean to the same string, or cut names). A group keeps the name it was
 * given earlier in the billing period (the previous snapshot's names table);
 * a new group whose label is taken, or shared with another new group, gets a
 * hash suffix of its raw key. So an incumbent never changes its name when a
 * namesake appears mid-month, and no series silently absorbs another.
 * Everything is hash tables: this runs over up to ~50,000 series. */
#include "scw_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a keyless hash map over up to three strings ------------------------ */

static uint64_t mix(uint64_t h, uint64_t w) {
  h ^= w;
  return ((h << 29) | (h >> 35)) * UINT64_C(0x9e3779b97f4a7c15);
}

/* Eight bytes at a time (byte-wise FNV was most of the naming time), each
 * field closed by its length, NULL apart from "", so ("a", "bc") and
 * ("ab", "c") differ; murmur3's finaliser makes the low bits, which pick the
 * slot, depend on every byte. In memory only: suffixes use scw_hash32. */
static uint32_t hash3(const char *a, const char *b, const char *c) {
  uint64_t h = 0;
  const char *fields[] = {a, b, c};
  for (int i = 0; i < 3; i++) {
    if (fields[i] == NULL) {
      h = mix(h, UINT64_C(0xfe));
      continue;
    }
    size_t len = strlen(fields[i]), left = len;
    const char *p = fields[i];
    uint64_t w;
    for (; left >= 8; left -= 8, p += 8) {
      memcpy(&w, p, 8);
      h = mix(h, w);
    }
    w = 0;
    memcpy(&w, p, left);
    h = mix(mix(h, w), ((uint64_t)len << 8) | 0xff);
  }
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  h *= UINT64_C(0xc4ceb9fe1a85ec53);
  return (uint32_t)(h ^ (h >> 33));
}

static int str_eq(const char *x, const char *y) {
  return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

typedef struct {
  const char *f[3];
  uint32_t h;
  size_t val;
} rec_t;

/* A slot holds the record's hash too, so that probing past other keys
 * does not touch their records (cache misses were most of the cost). */
typedef struct {
  uint32_t h;
  uint32_t rec; /* record index + 1; 0 = free */
} slot_t;

/* Records in insertion order plus an open-addressing index of them. Strings
 * are not copied: they must not change while the map holds them. */
typedef struct {
  rec_t *recs;
  size_t n, recs_cap;
  slot_t *slots;
  size_t cap; /* power of two, or 0 */
} map_t;

static size_t map_slot(const map_t *m, const char *a, const char *b,
                       const char *c, uint32_t h) {
  size_t i = h & (m->cap - 1);
  for (; m->slots[i].rec != 0; i = (i + 1) & (m->cap - 1)) {
    if (m->slots[i].h != h)
      continue;
    const rec_t *r = &m->recs[m->slots[i].rec - 1];
    if (str_eq(r->f[0], a) && str_eq(r->f[1], b) && str_eq(r->f[2], c))
      break;
  }
  return i;
}

/* h is hash3(a, b, c): callers that look one key up several times keep it. */
static rec_t *map_find_h(const map_t *m, const char *a, const char *b,
                         const char *c, uint32_t h) {
  if (m->n == 0)
    return NULL;
  size_t i = map_slot(m, a, b, c, h);
  return m->slots[i].rec != 0 ? &m->recs[m->slots[i].rec - 1] : NULL;
}

static rec_t *map_find(const map_t *m, const char *a, const char *b,
                       const char *c) {
  return map_find_h(m, a, b, c, hash3(a, b, c));
}

/* Room for `more` records, the index at most half full. */
static int map_reserve(map_t *m, size_t more) {
  size_t want = m->n + more;
  if (want >= UINT32_MAX / 2)
    return -1;
  if (want > m->recs_cap) {
    size_t cap = m->recs_cap ? m->recs_cap : 32;
    while (cap < want)
      cap *= 2;
    rec_t *recs = realloc(m->recs, cap * sizeof(*recs));
    if (recs == NULL)
      return -1;
    m->recs = recs;
    m->recs_cap = cap;
  }
  if (want * 2 <= m->cap)
    return 0;
  size_t cap = m->cap ? m->cap : 64;
  while (cap < want * 2)
    cap *= 2;
  slot_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL)
    return -1;
  for (size_t k = 0; k < m->n; k++) {
    size_t i = m->recs[k].h & (cap - 1);
    while (slots[i].rec != 0)
      i = (i + 1) & (cap - 1);
    slots[i] = (slot_t){m->recs[k].h, (uint32_t)(k + 1)};
  }
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

/* The record for (a, b, c), added with val 0 if new; NULL on ENOMEM. */
static rec_t *map_put_h(map_t *m, const char *a, const char *b, const char *c,
                        uint32_t h) {
  if (map_reserve(m, 1) != 0)
    return NULL;
  size_t i = map_slot(m, a, b, c, h);
  if (m->slots[i].rec == 0) {
    m->recs[m->n] = (rec_t){{a, b, c}, h, 0};
    m->slots[i] = (slot_t){h, (uint32_t)++m->n};
  }
  return &m->recs[m->slots[i].rec - 1];
}

static rec_t *map_put(map_t *m, const char *a, const char *b, const char *c) {
  return map_put_h(m, a, b, c, hash3(a, b, c));
}

static void map_clear(map_t *m) {
  if (m->cap != 0)
    memset(m->slots, 0, m->cap * sizeof(*m->slots));
  m->n = 0;
}

static void map_free(map_t *m) {
  free(m->recs);
  free(m->slots);
  memset(m, 0, sizeof(*m));
}

/* ---- the names table ----------------------------------------------------- */

typedef struct chunk {
  struct chunk *next;
  size_t used, size;
  char data[];
} chunk_t;

struct scw_names {
  char period[8];
  scw_group_by_t group_by;
  scw_label_mode_t label_mode;
  scw_name_entry_t *entries;
  size_t n, cap;
  /* Copies of the strings the table owns. A snapshot's own table points into
   * the snapshot for its current series and copies only the rest. */
  chunk_t *chunks;
};

#define CHUNK_SIZE 16384

/* A copy of s (NULL stays NULL) in the table's memory; *ok = 0 on ENOMEM. */
static const char *names_copy(scw_names_t *t, const char *s, int *ok) {
  if (s == NULL)
    return NULL;
  size_t len = strlen(s) + 1;
  chunk_t *c = t->chunks;
  if (c == NULL || c->size - c->used < len) {
    size_t size = len > CHUNK_SIZE ? len : CHUNK_SIZE;
    if ((c = malloc(sizeof(*c) + size)) == NULL) {
      *ok = 0;
      return NULL;
    }
    c->next = t->chunks;
    c->used = 0;
    c->size = size;
    t->chunks = c;
  }
  char *copy = c->data + c->used;
  memcpy(copy, s, len);
  c->used += len;
  return copy;
}

/* Appends *e as it is (its strings must outlive the table). */
static scw_rc_t names_push(scw_names_t *t, const scw_name_entry_t *e) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    scw_name_entry_t *bigger = realloc(t->entries, cap * sizeof(*bigger));
    if (bigger == NULL)
      return SCW_ERR_NOMEM;
    t->entries = bigger;
    t->cap = cap;
  }
  t->entries[t->n++] = *e;
  return SCW_OK;
}

static scw_rc_t names_push_copy(scw_names_t *t, const scw_name_entry_t *e) {
  int ok = 1;
  scw_name_entry_t copy = {
      names_copy(t, e->project_id, &ok), names_copy(t, e->sku, &ok),
      names_copy(t, e->resource_id, &ok), names_copy(t, e->plugin_instance, &ok),
      names_copy(t, e->type_instance, &ok)};
  return ok ? names_push(t, &copy) : SCW_ERR_NOMEM;
}

scw_names_t *scw_names_new(const char *period, scw_group_by_t group_by,
                           scw_label_mode_t label_mode) {
  scw_names_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  snprintf(t->period, sizeof(t->period), "%s", period ? period : "");
  t->group_by = group_by;
  t->label_mode = label_mode;
  return t;
}

/* Could the build have produced *e for a table of this kind? */
static int entry_valid(const scw_names_t *t, const scw_name_entry_t *e) {
  if (e->plugin_instance == NULL || e->type_instance == NULL ||
      !scw_name_is_label(e->plugin_instance, 0) ||
      !scw_name_is_label(e->type_instance, 1))
    return 0;
  if (e->project_id == NULL) /* a reserved name */
    return e->sku == NULL && e->resource_id == NULL;
  return t->group_by != SCW_GROUP_ORGANIZATION &&
         (e->sku != NULL) == (t->group_by >= SCW_GROUP_SKU) &&
         (e->resource_id != NULL) == (t->group_by == SCW_GROUP_RESOURCE) &&
         (e->type_instance[0] == '\0') == (t->group_by == SCW_GROUP_PROJECT);
}

scw_rc_t scw_names_add(scw_names_t *names, const scw_name_entry_t *e,
                       scw_error_t *err) {
  if (!entry_valid(names, e))
    return scw_fail(err, SCW_ERR_INVALID,
                    "names table: entry does not fit GroupBy %s or has a label "
                    "the naming rule cannot produce",
                    scw_group_by_name(names->group_by));
  if (names_push_copy(names, e) != SCW_OK)
    return scw_fail(err, SCW_ERR_NOMEM, "names table");
  return SCW_OK;
}

void scw_names_free(scw_names_t *names) {
  if (names == NULL)
    return;
  for (chunk_t *c = names->chunks, *next; c != NULL; c = next) {
    next = c->next;
    free(c);
  }
  free(names->entries);
  free(names);
}

size_t scw_names_count(const scw_names_t *names) { return names->n; }

const scw_name_entry_t *scw_names_entry(const scw_names_t *names, size_t i) {
  return i < names->n ? &names->entries[i] : NULL;
}

const char *scw_names_period(const scw_names_t *names) { return names->period; }

scw_group_by_t scw_names_group_by(const scw_names_t *names) {
  return names->group_by;
}

scw_label_mode_t scw_names_label_mode(const scw_names_t *names) {
  return names->label_mode;
}

const scw_names_t *scw_snapshot_names(const scw_snapshot_t *snap) {
  return snap->names;
}

/* ---- labels --------------------------------------------------------------- */

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

/* type_instance of a group by the rule alone, and the raw key a suffix
 * hashes ("" for GroupBy project, the sku, or sku 0x1f resource id). */
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
  size_t clean_size = sku ? strlen(sku) + (res ? strlen(res) : 0) + 2 : 0;
  size_t key_size = strlen(g->sku) + (g->resource_id ? strlen(g->resource_id) : 0) + 2;
  char *clean = sku ? malloc(clean_size) : NULL;
  *raw_key = malloc(key_size);
  scw_rc_t rc = SCW_ERR_NOMEM;
  if (clean != NULL && *raw_key != NULL && (res != NULL || g->resource_id == NULL)) {
    if (g->resource_id != NULL) {
      snprintf(clean, clean_size, "%s-%s", sku, res);
      snprintf(*raw_key, key_size, "%s\x1f%s", g->sku, g->resource_id);
    } else {
      snprintf(clean, clean_size, "%s", sku);
      snprintf(*raw_key, key_size, "%s", g->sku);
    }
    *renamed += (size_t)scw_name_fit(clean, *raw_key, out, SCW_NAME_SIZE);
    rc = SCW_OK;
  }
  free(sku);
  free(res);
  free(clean);
  return rc;
}

/* ---- making labels unique ------------------------------------------------- */

/* One label being chosen. The identifier is the pair (a, b): (project, "")
 * for projects, (project, type_instance) for series; `label` is the one of
 * the two being chosen, a buffer of SCW_NAME_SIZE bytes. */
typedef struct {
  char *label;
  const char *a, *b;
  const char *key;  /* raw key: what a suffix hashes */
  const char *kept; /* the name it had earlier in the period, or NULL */
  size_t kept_rec;  /* that name's record in the namer's `taken` */
  uint32_t h;       /* hash3(a, b, NULL), kept up to date */
} item_t;

typedef struct {
  map_t taken;        /* identifiers no new item may get; val 1 = held now */
  map_t count;        /* per pass: new items per identifier */
  scw_names_t *names; /* receives the names reserved here */
  size_t renamed;
} namer_t;

/* Reserves an identifier no item keeps (the plain label of a clash): it
 * joins the names table as held by no group, so nobody gets it later in the
 * period, which is also what a restart without the table would give. */
static scw_rc_t reserve(namer_t *nm, const item_t *it) {
  int ok = 1;
  scw_name_entry_t e = {NULL, NULL, NULL, names_copy(nm->names, it->a, &ok),
                        names_copy(nm->names, it->b, &ok)};
  if (!ok || names_push(nm->names, &e) != SCW_OK)
    return SCW_ERR_NOMEM;
  rec_t *r = map_put_h(&nm->taken, e.plugin_instance, e.type_instance, NULL,
                       it->h);
  if (r == NULL)
    return SCW_ERR_NOMEM;
  r->val = 1;
  return SCW_OK;
}

#define MAX_PASSES 8

/* Suffixes, over a few passes, every new item whose identifier is taken or
 * shared with another new item (all of them, so no order decides who keeps
 * the plain label); a suffixed label can meet another one (a project named
 * "x-<hash>"), hence the passes. rec[i]: item i's record in the count map,
 * then whether it clashes. */
static scw_rc_t suffix_clashes(namer_t *nm, item_t *items, size_t n,
                               size_t *rec) {
  for (int pass = 0; pass < MAX_PASSES; pass++) {
    map_clear(&nm->count);
    for (size_t i = 0; i < n; i++) {
      if (items[i].kept != NULL)
        continue;
      rec_t *r = map_put_h(&nm->count, items[i].a, items[i].b, NULL, items[i].h);
      if (r == NULL)
        return SCW_ERR_NOMEM;
      r->val++;
      rec[i] = (size_t)(r - nm->count.recs);
    }
    /* Marked first, changed after: the count map points at the labels. */
    for (size_t i = 0; i < n; i++)
      if (items[i].kept == NULL)
        rec[i] = nm->count.recs[rec[i]].val > 1 ||
                 map_find_h(&nm->taken, items[i].a, items[i].b, NULL, items[i].h);
    size_t changed = 0;
    for (size_t i = 0; i < n; i++) {
      if (items[i].kept != NULL || !rec[i])
        continue;
      if (!map_find_h(&nm->taken, items[i].a, items[i].b, NULL, items[i].h) &&
          reserve(nm, &items[i]) != SCW_OK)
        return SCW_ERR_NOMEM;
      scw_name_add_suffix(items[i].label, SCW_NAME_SIZE, items[i].key);
      items[i].h = hash3(items[i].a, items[i].b, NULL);
      changed++;
    }
    nm->renamed += changed;
    if (changed == 0)
      break;
  }
  return SCW_OK;
}

/* Makes the items' identifiers unique and different from every taken one:
 * earlier names first (a second holder of one, possible only in a damaged
 * table, is treated as new), then the new items. Taken records have val 0
 * until an item holds them. */
static scw_rc_t settle(namer_t *nm, item_t *items, size_t n) {
  size_t *rec = malloc((n ? n : 1) * sizeof(*rec));
  if (rec == NULL || map_reserve(&nm->count, n) != 0 ||
      map_reserve(&nm->taken, n) != 0)
    goto nomem;
  for (size_t i = 0; i < n; i++) {
    item_t *it = &items[i];
    /* Its earlier name is already a record of `taken`, hash included. */
    rec_t *held = it->kept ? &nm->taken.recs[it->kept_rec] : NULL;
    if (held == NULL || held->val != 0) {
      it->kept = NULL;
      it->h = hash3(it->a, it->b, NULL);
      continue;
    }
    held->val = 1;
    nm->renamed += strcmp(it->label, it->kept) != 0;
    snprintf(it->label, SCW_NAME_SIZE, "%s", it->kept);
    it->h = held->h;
  }
  if (suffix_clashes(nm, items, n, rec) != SCW_OK)
    goto nomem;
  /* The passes leave nothing to do unless hashes of different keys met:
   * then a salted hash, in item order, so that unique is guaranteed. */
  for (size_t i = 0; i < n; i++) {
    if (items[i].kept != NULL)
      continue;
    for (uint32_t k = 1;
         map_find_h(&nm->taken, items[i].a, items[i].b, NULL, items[i].h); k++) {
      scw_name_add_hash(items[i].label, SCW_NAME_SIZE,
                        (scw_hash32(items[i].key) ^ k) * 16777619u);
      items[i].h = hash3(items[i].a, items[i].b, NULL);
      nm->renamed++;
    }
    rec_t *r = map_put_h(&nm->taken, items[i].a, items[i].b, NULL, items[i].h);
    if (r == NULL)
      goto nomem;
    r->val = 1;
  }
  free(rec);
  return SCW_OK;
nomem:
  free(rec);
  return SCW_ERR_NOMEM;
}

static void namer_free(namer_t *nm) {
  map_free(&nm->taken);
  map_free(&nm->count);
}

/* ---- the two rounds --------------------------------------------------------- */

/* Project labels. Every plugin_instance of `prev` is taken; a project keeps
 * the one its first entry there has. */
static scw_rc_t name_projects(scw_snapshot_t *s, scw_label_mode_t mode,
                              const scw_names_t *prev,
                              char (*labels)[SCW_NAME_SIZE]) {
  const scw_agg_t *agg = s->agg;
  size_t n = agg->n_projects;
  size_t n_prev = prev ? prev->n : 0;
  namer_t nm = {.names = s->names};
  map_t by_id = {0};
  item_t *items = calloc(n ? n : 1, sizeof(*items));
  size_t *taken_rec = calloc(n_prev ? n_prev : 1, sizeof(*taken_rec));
  scw_rc_t rc = items && taken_rec ? SCW_OK : SCW_ERR_NOMEM;
  const scw_name_entry_t *last = NULL;
  for (size_t j = 0; j < n_prev && rc == SCW_OK; j++) {
    const scw_name_entry_t *e = &prev->entries[j];
    /* A project's entries mostly follow each other: hash it once. */
    if (last != NULL && str_eq(e->project_id, last->project_id) &&
        strcmp(e->plugin_instance, last->plugin_instance) == 0) {
      taken_rec[j] = taken_rec[j - 1];
      continue;
    }
    last = e;
    rec_t *r = e->project_id ? map_put(&by_id, e->project_id, NULL, NULL) : NULL;
    if (r != NULL && r->val == 0)
      r->val = j + 1;
    rec_t *t = map_put(&nm.taken, e->plugin_instance, "", NULL);
    if ((e->project_id && r == NULL) || t == NULL)
      rc = SCW_ERR_NOMEM;
    else
      taken_rec[j] = (size_t)(t - nm.taken.recs);
  }
  for (size_t i = 0; i < n && rc == SCW_OK; i++) {
    const scw_project_t *p = &agg->projects[i];
    char *clean = label_of(mode == SCW_LABEL_NAME ? p->name : NULL, p->id);
    if (clean == NULL) {
      rc = SCW_ERR_NOMEM;
      break;
    }
    nm.renamed += (size_t)scw_name_fit(clean, p->id, labels[i], SCW_NAME_SIZE);
    free(clean);
    items[i] = (item_t){labels[i], labels[i], "", p->id, NULL, 0, 0};
    const rec_t *r = map_find(&by_id, p->id, NULL, NULL);
    if (r != NULL) {
      items[i].kept = prev->entries[r->val - 1].plugin_instance;
      items[i].kept_rec = taken_rec[r->val - 1];
    }
  }
  if (rc == SCW_OK)
    rc = settle(&nm, items, n);
  s->n_renamed += nm.renamed;
  free(items);
  free(taken_rec);
  map_free(&by_id);
  namer_free(&nm);
  return rc;
}

enum { PREV_USED = 1, PREV_CLAIMED = 2 };

/* Carries the names of `prev` that no current series holds into the new
 * table: nothing is released within a period. An entry whose key is a
 * current group (or a repeated key) goes in as held by no group, so that
 * keys stay unique. */
static scw_rc_t carry_over(namer_t *nm, const scw_names_t *prev,
                           const map_t *by_key, const unsigned char *state,
                           const size_t *taken_rec) {
  for (size_t j = 0; prev != NULL && j < prev->n; j++) {
    const scw_name_entry_t *e = &prev->entries[j];
    rec_t *held = &nm->taken.recs[taken_rec[j]];
    if ((state[j] & PREV_USED) || held->val != 0)
      continue; /* held now, or already carried */
    held->val = 1;
    scw_name_entry_t copy = *e;
    const rec_t *first = e->project_id
        ? map_find(by_key, e->project_id, e->sku, e->resource_id) : NULL;
    if (first != NULL && (first->val != j + 1 || (state[j] & PREV_CLAIMED)))
      copy.project_id = copy.sku = copy.resource_id = NULL;
    if (names_push_copy(nm->names, &copy) != SCW_OK)
      return SCW_ERR_NOMEM;
  }
  return SCW_OK;
}

int scw_series_cmp(const void *a, const void *b) {
  const scw_series_t *x = a, *y = b;
  int c = strcmp(x->plugin_instance, y->plugin_instance);
  return c != 0 ? c : strcmp(x->type_instance, y->type_instance);
}

/* Series labels: a group keeps its entry's type_instance in `prev` when its
 * project kept the label that entry has. */
static scw_rc_t name_series(scw_snapshot_t *s,
                            char (*project_labels)[SCW_NAME_SIZE],
                            const scw_names_t *prev) {
  const scw_agg_t *agg = s->agg;
  size_t n = agg->n_groups, n_prev = prev ? prev->n : 0;
  namer_t nm = {.names = s->names};
  map_t by_key = {0};
  char **keys = calloc(n ? n : 1, sizeof(*keys));
  item_t *items = calloc(n ? n : 1, sizeof(*items));
  size_t *from = calloc(n ? n : 1, sizeof(*from)); /* prev entry + 1, or 0 */
  unsigned char *state = calloc(n_prev ? n_prev : 1, 1);
  size_t *taken_rec = calloc(n_prev ? n_prev : 1, sizeof(*taken_rec));
  scw_rc_t rc = keys && items && from && state && taken_rec &&
                        map_reserve(&by_key, n_prev) == 0 &&
                        map_reserve(&nm.taken, n_prev + n) == 0
                    ? SCW_OK
                    : SCW_ERR_NOMEM;
  for (size_t j = 0; j < n_prev && rc == SCW_OK; j++) {
    const scw_name_entry_t *e = &prev->entries[j];
    rec_t *r = e->project_id
        ? map_put(&by_key, e->project_id, e->sku, e->resource_id) : NULL;
    if (r != NULL && r->val == 0)
      r->val = j + 1;
    rec_t *t = map_put(&nm.taken, e->plugin_instance, e->type_instance, NULL);
    if ((e->project_id && r == NULL) || t == NULL)
      rc = SCW_ERR_NOMEM;
    else
      taken_rec[j] = (size_t)(t - nm.taken.recs);
  }
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
    rc = name_group(agg, g, se->type_instance, &keys[i], &nm.renamed);
    items[i] = (item_t){se->type_instance, se->plugin_instance,
                        se->type_instance, keys[i], NULL, 0, 0};
    const rec_t *r = map_find(&by_key, p->id, g->sku, g->resource_id);
    if (r != NULL) {
      const scw_name_entry_t *e = &prev->entries[r->val - 1];
      state[r->val - 1] |= PREV_CLAIMED;
      if (strcmp(e->plugin_instance, se->plugin_instance) == 0) {
        items[i].kept = e->type_instance;
        items[i].kept_rec = taken_rec[r->val - 1];
        from[i] = r->val;
      }
    }
  }
  if (rc == SCW_OK)
    rc = settle(&nm, items, n);
  for (size_t i = 0; i < n && rc == SCW_OK; i++)
    if (items[i].kept != NULL)
      state[from[i] - 1] |= PREV_USED;
  /* Before sorting: the maps point into the series. */
  if (rc == SCW_OK)
    rc = carry_over(&nm, prev, &by_key, state, taken_rec);
  s->n_renamed += nm.renamed;
  for (size_t i = 0; keys != NULL && i < n; i++)
    free(keys[i]);
  free(keys);
  free(items);
  free(from);
  free(state);
  free(taken_rec);
  map_free(&by_key);
  namer_free(&nm);
  if (rc != SCW_OK)
    return rc;
  s->n_series = n;
  qsort(s->series, n, sizeof(*s->series), scw_series_cmp);
  for (size_t i = 0; i < n && rc == SCW_OK; i++) {
    const scw_series_t *se = &s->series[i];
    /* Labels copied into the table's arena: the MaxSeries fold replaces
     * the series array (keys stay with the aggregate, which does not move). */
    int ok = 1;
    scw_name_entry_t e = {se->project_id, se->sku, se->resource_id,
                          names_copy(s->names, se->plugin_instance, &ok),
                          names_copy(s->names, se->type_instance, &ok)};
    rc = ok ? names_push(s->names, &e) : SCW_ERR_NOMEM;
  }
  return rc;
}

/* Names from `previous` apply only within its own period and grouping. */
static int usable(const scw_names_t *previous, const char *period,
                  scw_group_by_t group_by, scw_label_mode_t label_mode) {
  return previous != NULL && period != NULL && period[0] != '\0' &&
         strcmp(previous->period, period) == 0 &&
         previous->group_by == group_by && previous->label_mode == label_mode;
}

scw_rc_t scw_snapshot_build_period(scw_agg_t *agg, scw_label_mode_t label_mode,
                                   const char *period,
                                   const scw_names_t *previous,
                                   scw_snapshot_t **out, scw_error_t *err) {
  *out = NULL;
  scw_snapshot_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    scw_agg_free(agg);
    return scw_fail(err, SCW_ERR_NOMEM, "snapshot");
  }
  s->agg = agg;
  s->forecast_nanos = -1;
  atomic_init(&s->refs, 1);
  s->total_nanos = agg->total_nanos;
  memcpy(s->currency, agg->currency, sizeof(s->currency));
  s->charges = agg->charges;
  s->skipped = agg->skipped;
  snprintf(s->period, sizeof(s->period), "%s", period ? period : "");
  if (!usable(previous, period, agg->group_by, label_mode))
    previous = NULL;

  char(*project_labels)[SCW_NAME_SIZE] =
      malloc((agg->n_projects ? agg->n_projects : 1) * SCW_NAME_SIZE);
  s->series = calloc(agg->n_groups ? agg->n_groups : 1, sizeof(*s->series));
  s->names = scw_names_new(s->period, agg->group_by, label_mode);
  scw_rc_t rc = project_labels && s->series && s->names ? SCW_OK : SCW_ERR_NOMEM;
  if (rc == SCW_OK)
    rc = name_projects(s, label_mode, previous, project_labels);
  if (rc == SCW_OK)
    rc = name_series(s, project_labels, previous);
  free(project_labels);
  if (rc != SCW_OK) {
    scw_snapshot_release(s);
    return scw_fail(err, rc, "naming series");
  }
  *out = s;
  return SCW_OK;
}

scw_rc_t scw_snapshot_build(scw_agg_t *agg, scw_label_mode_t label_mode,
                            scw_snapshot_t **out, scw_error_t *err) {
  return scw_snapshot_build_period(agg, label_mode, NULL, NULL, out, err);
}

void scw_snapshot_release(scw_snapshot_t *snap) {
  if (snap == NULL || atomic_fetch_sub(&snap->refs, 1) != 1)
    return;
  scw_agg_free(snap->agg);
  scw_names_free(snap->names);
  free(snap->series);
  for (size_t i = 0; i < snap->n_projects; i++) {
    free(snap->projects[i].project_id);
    free(snap->projects[i].project_name);
  }
  free(snap->projects);
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
