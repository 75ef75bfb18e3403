/* SPDX-License-Identifier: MIT */
/* scw_agg.h - summing charges into cost groups, exactly.
 *
 * Groups are keyed by raw Scaleway ids (project id, SKU, resource id), never
 * by display names, so renaming a project mid-month does not split its cost
 * and two projects that share a name never merge. Only charges in the
 * expected currency are summed; the others are counted as skipped. Strings are
 * copied: the aggregate outlives the page it was fed from. */
#ifndef SCW_AGG_H
#define SCW_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "scw_charge.h"
#include "scw_error.h"

typedef enum {
  SCW_GROUP_ORGANIZATION,
  SCW_GROUP_PROJECT,
  SCW_GROUP_SKU,
  SCW_GROUP_RESOURCE,
} scw_group_by_t;

typedef struct {
  char *id;
  char *name; /* last non-empty project_name seen, or NULL */
} scw_project_t;

typedef struct {
  size_t project;      /* index into the project table */
  char *sku;           /* NULL for GroupBy project */
  char *resource_id;   /* NULL unless GroupBy resource */
  char *resource_name; /* last non-empty name seen, or NULL */
  int64_t nanos;
  size_t charges;
} scw_group_t;

#define SCW_AGG_MAX_OTHER_CURRENCIES 8

typedef struct scw_agg {
  scw_group_by_t group_by;
  char currency[16];
  int64_t total_nanos;      /* sum of all charges in `currency` */
  size_t charges;           /* charges summed */
  size_t skipped;           /* charges in another currency */
  char other_currencies[SCW_AGG_MAX_OTHER_CURRENCIES][16]; /* first few seen */
  size_t n_other_currencies;
  scw_project_t *projects;
  size_t n_projects;
  scw_group_t *groups;
  size_t n_groups;
  struct scw_agg_index *index; /* private hash indexes */
} scw_agg_t;

scw_agg_t *scw_agg_new(scw_group_by_t group_by, const char *currency);
void scw_agg_free(scw_agg_t *agg);

/* Adds one charge. Matches scw_charge_cb, with ctx = the aggregate. */
scw_rc_t scw_agg_add(void *agg, const scw_charge_t *charge, scw_error_t *err);

/* A page's charges reach the aggregate as they are read, before the page is
 * known to be whole. scw_agg_mark notes where the aggregate stands (before a
 * page); scw_agg_undo takes back every charge added since, so that a page cut
 * half-way can be fetched again without counting twice. Display names seen
 * since the mark stay: the page fetched again names the same. */
void scw_agg_mark(scw_agg_t *agg);
void scw_agg_undo(scw_agg_t *agg);

const char *scw_group_by_name(scw_group_by_t group_by);
/* Case-insensitive; returns -1 for an unknown name. */
int scw_group_by_parse(const char *name, scw_group_by_t *out);

#endif
