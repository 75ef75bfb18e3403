/* SPDX-License-Identifier: MIT */
/* scw_snapshot.h - a finished refresh, named and ready to dispatch, and its
 * hand-over from the refresh worker to collectd's read callback.
 *
 * A snapshot is immutable once built. The worker publishes it into a slot;
 * readers take a counted reference, so a reader never blocks the worker for
 * longer than a pointer copy and a snapshot is freed by whoever drops the
 * last reference. */
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

typedef struct {
  scw_series_t *series; /* one per group, sorted by identifier */
  size_t n_series;
  size_t n_renamed; /* labels cut or suffixed to stay unique */
  int64_t total_nanos;
  char currency[16];
  char period[8];   /* "YYYY-MM" the numbers are for */
  size_t charges;   /* charges summed */
  size_t skipped;   /* charges in other currencies */
  int64_t window_start, window_end;
  int64_t created;  /* Unix seconds when the refresh completed */
  double duration;  /* seconds the refresh took */
  scw_agg_t *agg;   /* owns the strings series point to */
  uint64_t generation; /* set by scw_slot_publish: 1, 2, ... per slot */
  atomic_int refs;
} scw_snapshot_t;

/* Takes ownership of agg (freed with the snapshot, also on failure). */
scw_rc_t scw_snapshot_build(scw_agg_t *agg, scw_label_mode_t label_mode,
                            scw_snapshot_t **out, scw_error_t *err);

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
