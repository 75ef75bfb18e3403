/* SPDX-License-Identifier: MIT */
/* scw_snapshot.h - a finished refresh, named and ready to dispatch, and its
 * hand-over from the refresh worker to collectd's read callback.
 *
 * A snapshot is immutable once built. The worker publishes it into a slot;
 * readers take a counted reference, so a reader never blocks the worker for
 * longer than a pointer copy and a snapshot is freed by whoever drops the
 * last reference.
 *
 * Names are stable for a billing period: every snapshot carries the table of
 * names given so far in its period (scw_names_t), and the next build of the
 * same period honours it, so a series keeps its identifier when a namesake
 * appears and a name is never handed to another group within the period. */
#ifndef SCW_SNAPSHOT_H
#define SCW_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "scw_agg.h"
#include "scw_error.h"
#include "scw_naming.h"

typedef enum { SCW_LABEL_NAME, SCW_LABEL_ID } scw_label_mode_t;

/* ---- names given in a billing period ----------------------------------- */

/* One name: a group's key (raw ids, as scw_agg groups them) and its
 * identifier parts. sku is NULL unless GroupBy is sku or resource,
 * resource_id NULL unless GroupBy resource. An entry whose three key fields
 * are NULL is a name held by no group: the plain label of a clash in which
 * every member was suffixed; it stays reserved for the rest of the period. */
typedef struct {
  const char *project_id;
  const char *sku;
  const char *resource_id;
  const char *plugin_instance; /* never "" */
  const char *type_instance;   /* "" for GroupBy project */
} scw_name_entry_t;

/* The names of one period, for one GroupBy and label mode (a table of another
 * kind is ignored by the build). No two entries share an identifier or a
 * key; their order is unspecified. */
typedef struct scw_names scw_names_t;

/* An empty table to seed from elsewhere (a state file); NULL on ENOMEM. */
scw_names_t *scw_names_new(const char *period, scw_group_by_t group_by,
                           scw_label_mode_t label_mode);
/* Adds a copy of *e. SCW_ERR_INVALID when the key does not fit the table's
 * GroupBy or a label is not one the naming rule can produce; a duplicate is
 * accepted, and the build then honours the first. */
scw_rc_t scw_names_add(scw_names_t *names, const scw_name_entry_t *e,
                       scw_error_t *err);
void scw_names_free(scw_names_t *names);

size_t scw_names_count(const scw_names_t *names);
const scw_name_entry_t *scw_names_entry(const scw_names_t *names, size_t i);
const char *scw_names_period(const scw_names_t *names); /* "" if none */
scw_group_by_t scw_names_group_by(const scw_names_t *names);
scw_label_mode_t scw_names_label_mode(const scw_names_t *names);

typedef struct {
  char plugin_instance[SCW_NAME_SIZE]; /* project label ("" for totals) */
  char type_instance[SCW_NAME_SIZE];   /* SKU[-resource] label, or "" */
  int64_t nanos;
  size_t charges;
  /* Raw values for meta data; NULL when not part of the grouping. Owned by
   * the snapshot's aggregate. */
  const char *project_id;
  const char *project_name;
  const char *sku;
  const char *resource_id;
  const char *resource_name;
} scw_series_t;

/* One project's cost, folded groups included (scw_fold.h). */
typedef struct {
  char plugin_instance[SCW_NAME_SIZE]; /* its series' plugin instance */
  char *project_id;                    /* owned */
  char *project_name;                  /* owned; NULL when unknown */
  int64_t nanos;                       /* month to date */
  int64_t forecast_nanos;              /* end of month; -1: none */
} scw_project_cost_t;

typedef struct {
  scw_series_t *series; /* one per group, sorted by identifier */
  size_t n_series;
  /* labels cut or suffixed to stay unique, or kept from earlier in the
   * period although the rule alone would now give another one */
  size_t n_renamed;
  int64_t total_nanos;
  char currency[16];
  char period[8];   /* "YYYY-MM" the numbers are for */
  size_t charges;   /* charges summed */
  size_t skipped;   /* charges in other currencies */
  int64_t created;  /* Unix seconds when the refresh completed */
  double duration;  /* seconds the refresh took */
  scw_agg_t *agg;   /* owns the strings series point to */
  scw_names_t *names; /* every name given in `period` so far */
  uint64_t generation; /* set by scw_slot_publish: 1, 2, ... per slot */
  /* Filled after the build by the worker (scw_fold.h, scw_forecast.h). */
  scw_project_cost_t *projects; /* per project, sorted by plugin instance */
  size_t n_projects;
  size_t folded;          /* groups summed into the "other" series */
  int64_t forecast_nanos; /* end-of-month forecast of the total; -1: none */
  atomic_int refs;
} scw_snapshot_t;

/* Names the groups of agg for billing period `period` ("YYYY-MM"; NULL:
 * none) and sets s->period. `previous` holds the names given earlier in the
 * period (the last snapshot's scw_snapshot_names(), or a table loaded from
 * disk), or NULL; it is ignored unless its period equals `period` and its
 * GroupBy and label mode are agg's and label_mode. Then:
 *  - a group named in `previous` keeps its identifier;
 *  - a new group gets its clean label, or, if that is taken (by a group of
 *    `previous`, present or not, or a reserved name) or shared with another
 *    new group, the label plus "-<hash of its raw key>";
 *  - with no usable `previous` (new period, restart) every group is new, so
 *    all members of a clash are suffixed and the plain label is reserved.
 * The result is unique whatever `previous` holds. Takes ownership of agg
 * (freed with the snapshot, also on failure); only reads previous. */
scw_rc_t scw_snapshot_build_period(scw_agg_t *agg, scw_label_mode_t label_mode,
                                   const char *period,
                                   const scw_names_t *previous,
                                   scw_snapshot_t **out, scw_error_t *err);

/* scw_snapshot_build_period with no period and no previous names. */
scw_rc_t scw_snapshot_build(scw_agg_t *agg, scw_label_mode_t label_mode,
                            scw_snapshot_t **out, scw_error_t *err);

/* The names table of a snapshot (valid as long as the snapshot): what the
 * next build of the same period gets as `previous`. */
const scw_names_t *scw_snapshot_names(const scw_snapshot_t *snap);

/* The order of a snapshot's series: by plugin_instance, then type_instance
 * (qsort/bsearch comparator over scw_series_t). */
int scw_series_cmp(const void *a, const void *b);

void scw_snapshot_release(scw_snapshot_t *snap);

/* The worker/reader hand-over point. */
typedef struct {
  pthread_mutex_t lock;
  scw_snapshot_t *current;
  uint64_t published; /* snapshots published so far */
} scw_slot_t;

void scw_slot_init(scw_slot_t *slot);
void scw_slot_destroy(scw_slot_t *slot); /* drops the current snapshot */
/* Replaces the current snapshot; the slot takes over the caller's reference. */
void scw_slot_publish(scw_slot_t *slot, scw_snapshot_t *snap);
/* A new reference to the current snapshot (NULL if none): release it. */
scw_snapshot_t *scw_slot_acquire(scw_slot_t *slot);

#endif
