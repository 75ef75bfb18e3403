/* SPDX-License-Identifier: MIT */
/* scw_state.c - reading the state file; see scw_state.h (writing:
 * scw_state_write.c). */
#include "scw_state.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_charge.h"
#include "scw_fold.h"
#include "scw_money.h"

#define MAGIC SCW_STATE_MAGIC
#define MAX_STATE_BYTES (512u * 1024 * 1024)

static uint64_t fnv64(const char *p, size_t n) {
  return scw_fnv64(SCW_FNV64_INIT, p, n);
}

/* ---- reading ---------------------------------------------------------- */

/* Strict getters: a missing member or a wrong type fails the whole file. */
static int get_i64(json_object *o, const char *key, int64_t *out) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
    return -1;
  errno = 0;
  *out = json_object_get_int64(v);
  return errno == 0 ? 0 : -1;
}

static int get_hex64(json_object *o, const char *key, uint64_t *out) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) != 16)
    return -1;
  char *end;
  *out = strtoull(json_object_get_string(v), &end, 16);
  return *end == '\0' ? 0 : -1;
}

/* *out: the string, or NULL when the member is null (and nullable). */
static int get_str(json_object *o, const char *key, int nullable,
                   const char **out) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v))
    return -1;
  if (v == NULL) {
    *out = NULL;
    return nullable ? 0 : -1;
  }
  if (!json_object_is_type(v, json_type_string))
    return -1;
  *out = json_object_get_string(v);
  return 0;
}

static int sched_from_json(json_object *o, scw_sched_state_t *s) {
  int bad = 0;
  bad |= get_i64(o, "month", &s->month);
  bad |= get_i64(o, "slot", &s->slot);
  bad |= get_i64(o, "current_due", &s->current_due);
  bad |= get_i64(o, "current_walks", &s->current_walks);
  bad |= get_i64(o, "current_failures", &s->current_failures);
  bad |= get_i64(o, "closing", &s->closing);
  bad |= get_i64(o, "closing_due", &s->closing_due);
  bad |= get_i64(o, "closing_walks", &s->closing_walks);
  bad |= get_i64(o, "closing_same", &s->closing_same);
  bad |= get_hex64(o, "closing_fp", &s->closing_fp);
  bad |= get_i64(o, "closing_failures", &s->closing_failures);
  bad |= get_i64(o, "streak", &s->streak);
  bad |= get_i64(o, "retry_not_before", &s->retry_not_before);
  bad |= get_i64(o, "kicked", &s->kicked);
  bad |= get_hex64(o, "kicked_generation", &s->kicked_generation);
  bad |= get_hex64(o, "rng", &s->rng);
  return bad ? -1 : 0;
}

typedef struct {
  const char *pi, *ti;
  int64_t nanos;
} saved_series_t;

static int cmp_saved(const void *a, const void *b) {
  const saved_series_t *x = a, *y = b;
  int c = strcmp(x->pi, y->pi);
  return c != 0 ? c : strcmp(x->ti, y->ti);
}

/* The rebuilt snapshot must be the saved one: same identifiers, amounts and
 * total. */
static int same_series(const scw_snapshot_t *snap, saved_series_t *saved,
                       size_t n, int64_t total) {
  if (snap->n_series != n || snap->total_nanos != total)
    return 0;
  saved_series_t *got = malloc((n ? n : 1) * sizeof(*got));
  if (got == NULL)
    return 0;
  for (size_t i = 0; i < n; i++)
    got[i] = (saved_series_t){snap->series[i].plugin_instance,
                              snap->series[i].type_instance,
                              snap->series[i].nanos};
  qsort(got, n, sizeof(*got), cmp_saved);
  qsort(saved, n, sizeof(*saved), cmp_saved);
  int same = 1;
  for (size_t i = 0; same && i < n; i++)
    same = cmp_saved(&got[i], &saved[i]) == 0 && got[i].nanos == saved[i].nanos;
  free(got);
  return same;
}

/* Optional members: absent is the default, present must be well typed. */
static int opt_i64(json_object *o, const char *key, int64_t dflt, int64_t *out) {
  *out = dflt;
  return json_object_object_get_ex(o, key, NULL) ? get_i64(o, key, out) : 0;
}

static int is_other(json_object *e) {
  json_object *v;
  return json_object_object_get_ex(e, "other", &v) &&
         json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* A saved series into agg, or (the folded "other" series) into *other. */
static scw_rc_t add_series(scw_agg_t *agg, json_object *e, const char *currency,
                           saved_series_t *saved, scw_series_t *other,
                           scw_error_t *err) {
  const char *project_id, *project_name, *sku, *resource_id, *resource_name;
  int64_t nanos;
  if (!json_object_is_type(e, json_type_object) ||
      get_str(e, "pi", 0, &saved->pi) || get_str(e, "ti", 0, &saved->ti) ||
      get_i64(e, "nanos", &nanos) || get_str(e, "project_id", 1, &project_id) ||
      get_str(e, "project_name", 1, &project_name) ||
      get_str(e, "sku", 1, &sku) || get_str(e, "resource_id", 1, &resource_id) ||
      get_str(e, "resource_name", 1, &resource_name))
    return scw_fail(err, SCW_ERR_PARSE, "a series is malformed");
  saved->nanos = nanos;
  if (is_other(e)) {
    if (other->plugin_instance[0] != '\0' ||
        strlen(saved->pi) >= SCW_NAME_SIZE || strlen(saved->ti) >= SCW_NAME_SIZE)
      return scw_fail(err, SCW_ERR_PARSE, "a folded series is malformed");
    snprintf(other->plugin_instance, SCW_NAME_SIZE, "%s", saved->pi);
    snprintf(other->type_instance, SCW_NAME_SIZE, "%s", saved->ti);
    other->nanos = nanos;
    return SCW_OK;
  }
  scw_charge_t c = {project_id ? project_id : "", project_name, sku ? sku : "",
                    resource_id ? resource_id : "", resource_name, currency,
                    nanos};
  return scw_agg_add(agg, &c, err);
}

/* Puts the folded series back into a rebuilt snapshot. */
static scw_rc_t restore_other(scw_snapshot_t *snap, const scw_series_t *other,
                              int64_t folded, scw_error_t *err) {
  scw_series_t *more =
      realloc(snap->series, (snap->n_series + 1) * sizeof(*more));
  if (more == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "restoring a snapshot");
  snap->series = more;
  snap->series[snap->n_series++] = *other;
  qsort(snap->series, snap->n_series, sizeof(*snap->series), scw_series_cmp);
  snap->folded = (size_t)folded;
  return scw_money_add(&snap->total_nanos, other->nanos, err);
}

/* Nothing folded: the saved project totals must be the series' own. */
static scw_rc_t same_projects(scw_snapshot_t *snap, scw_error_t *err) {
  size_t n = snap->n_projects;
  scw_project_cost_t *saved = snap->projects;
  snap->projects = NULL;
  snap->n_projects = 0;
  scw_rc_t rc = scw_snapshot_summarise(snap, err);
  int same = rc == SCW_OK && snap->n_projects == n;
  for (size_t i = 0; same && i < n; i++)
    same = strcmp(saved[i].plugin_instance, snap->projects[i].plugin_instance) == 0 &&
           strcmp(saved[i].project_id, snap->projects[i].project_id) == 0 &&
           saved[i].nanos == snap->projects[i].nanos;
  for (size_t i = 0; same && i < n; i++)
    snap->projects[i].forecast_nanos = saved[i].forecast_nanos;
  for (size_t i = 0; i < n; i++) {
    free(saved[i].project_id);
    free(saved[i].project_name);
  }
  free(saved);
  if (rc == SCW_OK && !same)
    rc = scw_fail(err, SCW_ERR_PARSE, "project totals do not match the series");
  return rc;
}

static scw_rc_t projects_from_json(json_object *arr, scw_snapshot_t *snap,
                                   scw_error_t *err) {
  size_t n = json_object_array_length(arr);
  snap->projects = calloc(n ? n : 1, sizeof(*snap->projects));
  if (snap->projects == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "restoring a snapshot");
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    const char *pi, *id, *name;
    int64_t nanos, forecast;
    if (!json_object_is_type(e, json_type_object) || get_str(e, "pi", 0, &pi) ||
        get_str(e, "project_id", 0, &id) || get_str(e, "project_name", 1, &name) ||
        get_i64(e, "nanos", &nanos) || get_i64(e, "forecast_nanos", &forecast) ||
        strlen(pi) >= SCW_NAME_SIZE)
      return scw_fail(err, SCW_ERR_PARSE, "a project total is malformed");
    scw_project_cost_t *p = &snap->projects[snap->n_projects++];
    snprintf(p->plugin_instance, SCW_NAME_SIZE, "%s", pi);
    p->project_id = strdup(id);
    p->project_name = name != NULL ? strdup(name) : NULL;
    p->nanos = nanos;
    p->forecast_nanos = forecast;
    if (p->project_id == NULL || (name != NULL && p->project_name == NULL))
      return scw_fail(err, SCW_ERR_NOMEM, "restoring a snapshot");
    if (scw_money_add(&sum, nanos, err) != SCW_OK)
      return SCW_ERR_PARSE;
  }
  if (n > 0 && sum != snap->total_nanos)
    return scw_fail(err, SCW_ERR_PARSE, "project totals do not add up");
  return SCW_OK;
}

static scw_rc_t names_from_json(json_object *arr, scw_names_t *names,
                                scw_error_t *err) {
  size_t n = json_object_array_length(arr);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    scw_name_entry_t entry;
    if (!json_object_is_type(e, json_type_object) ||
        get_str(e, "project_id", 1, &entry.project_id) ||
        get_str(e, "sku", 1, &entry.sku) ||
        get_str(e, "resource_id", 1, &entry.resource_id) ||
        get_str(e, "pi", 0, &entry.plugin_instance) ||
        get_str(e, "ti", 0, &entry.type_instance))
      return scw_fail(err, SCW_ERR_PARSE, "a name is malformed");
    scw_rc_t rc = scw_names_add(names, &entry, err);
    if (rc != SCW_OK)
      return rc;
  }
  return SCW_OK;
}

static scw_rc_t snapshot_from_json(json_object *o, const scw_state_t *st,
                                   scw_snapshot_t **out, scw_error_t *err) {
  const char *period;
  int64_t created, charges, skipped, total, folded, forecast;
  json_object *series, *names_arr, *duration, *projects = NULL;
  if (!json_object_is_type(o, json_type_object) ||
      get_str(o, "period", 0, &period) || strlen(period) != 7 ||
      get_i64(o, "created", &created) || get_i64(o, "charges", &charges) ||
      get_i64(o, "skipped", &skipped) || get_i64(o, "total_nanos", &total) ||
      charges < 0 || skipped < 0 ||
      !json_object_object_get_ex(o, "duration", &duration) ||
      !json_object_object_get_ex(o, "series", &series) ||
      !json_object_is_type(series, json_type_array) ||
      !json_object_object_get_ex(o, "names", &names_arr) ||
      !json_object_is_type(names_arr, json_type_array) ||
      opt_i64(o, "folded", 0, &folded) || folded < 0 ||
      opt_i64(o, "forecast_nanos", -1, &forecast) ||
      (json_object_object_get_ex(o, "projects", &projects) &&
       !json_object_is_type(projects, json_type_array)))
    return scw_fail(err, SCW_ERR_PARSE, "a snapshot is malformed");
  scw_series_t other = {.nanos = 0};
  size_t n = json_object_array_length(series);
  scw_agg_t *agg = scw_agg_new(st->group_by, st->currency);
  scw_names_t *names = scw_names_new(period, st->group_by, st->label_mode);
  saved_series_t *saved = malloc((n ? n : 1) * sizeof(*saved));
  scw_rc_t rc = agg && names && saved
                    ? SCW_OK
                    : scw_fail(err, SCW_ERR_NOMEM, "restoring a snapshot");
  for (size_t i = 0; rc == SCW_OK && i < n; i++)
    rc = add_series(agg, json_object_array_get_idx(series, i), st->currency,
                    &saved[i], &other, err);
  if (rc == SCW_OK && (folded > 0) != (other.plugin_instance[0] != '\0'))
    rc = scw_fail(err, SCW_ERR_PARSE, "a snapshot's folded series is "
                                      "inconsistent");
  if (rc == SCW_OK && n == 0 && total != 0) { /* GroupBy organization */
    scw_charge_t c = {"", NULL, "", "", NULL, st->currency, total};
    rc = scw_agg_add(agg, &c, err);
  }
  if (rc == SCW_OK)
    rc = names_from_json(names_arr, names, err);
  scw_snapshot_t *snap = NULL;
  if (rc == SCW_OK) {
    rc = scw_snapshot_build_period(agg, st->label_mode, period, names, &snap, err);
    agg = NULL; /* the build owns it, also on failure */
  }
  if (rc == SCW_OK && folded > 0)
    rc = restore_other(snap, &other, folded, err);
  if (rc == SCW_OK && !same_series(snap, saved, n, total))
    rc = scw_fail(err, SCW_ERR_PARSE, "a snapshot does not rebuild to its "
                                      "saved names and amounts");
  scw_agg_free(agg);
  scw_names_free(names);
  free(saved);
  if (rc != SCW_OK) {
    scw_snapshot_release(snap);
    return rc;
  }
  rc = projects != NULL && json_object_array_length(projects) > 0
           ? projects_from_json(projects, snap, err)
           : scw_snapshot_summarise(snap, err);
  if (rc == SCW_OK && folded == 0 && projects != NULL &&
      json_object_array_length(projects) > 0)
    rc = same_projects(snap, err);
  if (rc != SCW_OK) {
    scw_snapshot_release(snap);
    return rc;
  }
  snap->forecast_nanos = forecast;
  snap->created = created;
  snap->duration = json_object_get_double(duration);
  snap->charges = (size_t)charges;
  snap->skipped = (size_t)skipped;
  *out = snap;
  return SCW_OK;
}

/* Reads the whole file, at most MAX_STATE_BYTES. */
static scw_rc_t read_file(const char *path, char **buf, size_t *len,
                          scw_error_t *err) {
  FILE *fh = fopen(path, "rb");
  if (fh == NULL)
    return scw_fail(err, errno == ENOENT ? SCW_ERR_NOT_FOUND : SCW_ERR_INVALID,
                    "cannot open \"%s\": %s", path, strerror(errno));
  size_t cap = 65536, n = 0;
  char *p = malloc(cap);
  scw_rc_t rc = p ? SCW_OK : scw_fail(err, SCW_ERR_NOMEM, "reading state");
  while (rc == SCW_OK) {
    if (n + 1 >= cap) {
      char *bigger = cap < MAX_STATE_BYTES ? realloc(p, cap * 2) : NULL;
      if (bigger == NULL) {
        rc = scw_fail(err, SCW_ERR_LIMIT, "\"%s\" is too large", path);
        break;
      }
      p = bigger;
      cap *= 2;
    }
    size_t got = fread(p + n, 1, cap - n - 1, fh);
    n += got;
    if (got == 0)
      break;
  }
  if (rc == SCW_OK && ferror(fh))
    rc = scw_fail(err, SCW_ERR_INVALID, "reading \"%s\" failed", path);
  fclose(fh);
  if (rc != SCW_OK) {
    free(p);
    return rc;
  }
  p[n] = '\0';
  *buf = p;
  *len = n;
  return SCW_OK;
}

/* Checks the header line; *body points past it. */
static scw_rc_t check_header(const char *buf, size_t len, const char **body,
                             scw_error_t *err) {
  const char *nl = memchr(buf, '\n', len < 128 ? len : 128);
  int version;
  char sum[17];
  if (nl == NULL || strncmp(buf, MAGIC " ", sizeof(MAGIC)) != 0 ||
      sscanf(buf + sizeof(MAGIC), "%d %16[0-9a-f]", &version, sum) != 2)
    return scw_fail(err, SCW_ERR_PARSE, "not a scw_finops state file");
  if (version > SCW_STATE_VERSION)
    return scw_fail(err, SCW_ERR_PARSE, "written by a newer scw_finops "
                    "(format %d, this one reads %d)", version, SCW_STATE_VERSION);
  if (version < 1)
    return scw_fail(err, SCW_ERR_PARSE, "unknown format %d", version);
  *body = nl + 1;
  char want[17];
  snprintf(want, sizeof(want), "%016" PRIx64,
           fnv64(*body, len - (size_t)(*body - buf)));
  if (strcmp(sum, want) != 0)
    return scw_fail(err, SCW_ERR_PARSE, "corrupt or truncated (checksum)");
  return SCW_OK;
}

static scw_rc_t check_identity(json_object *root, const scw_state_t *st,
                               scw_error_t *err) {
  const char *org, *group_by, *label_mode, *currency;
  if (get_str(root, "organization_id", 0, &org) ||
      get_str(root, "group_by", 0, &group_by) ||
      get_str(root, "label_mode", 0, &label_mode) ||
      get_str(root, "currency", 0, &currency))
    return scw_fail(err, SCW_ERR_PARSE, "no identity");
  if (strcmp(org, st->organization_id) != 0 ||
      strcmp(group_by, scw_group_by_name(st->group_by)) != 0 ||
      strcmp(label_mode, st->label_mode == SCW_LABEL_ID ? "id" : "name") != 0 ||
      strcmp(currency, st->currency) != 0)
    return scw_fail(err, SCW_ERR_INVALID,
                    "saved for another configuration (organization %.40s, "
                    "GroupBy %.20s, ProjectLabel %.8s, Currency %.8s)",
                    org, group_by, label_mode, currency);
  return SCW_OK;
}

static scw_rc_t history_from_json(json_object *o, scw_history_t *h,
                                  scw_error_t *err) {
  const char *period;
  json_object *tracks;
  if (!json_object_is_type(o, json_type_object) ||
      get_str(o, "period", 0, &period) || strlen(period) >= sizeof(h->period) ||
      !json_object_object_get_ex(o, "tracks", &tracks) ||
      !json_object_is_type(tracks, json_type_array))
    return scw_fail(err, SCW_ERR_PARSE, "the forecast history is malformed");
  for (size_t i = 0; i < json_object_array_length(tracks); i++) {
    json_object *e = json_object_array_get_idx(tracks, i), *samples;
    const char *key;
    if (!json_object_is_type(e, json_type_object) || get_str(e, "key", 0, &key) ||
        !json_object_object_get_ex(e, "samples", &samples) ||
        !json_object_is_type(samples, json_type_array))
      return scw_fail(err, SCW_ERR_PARSE, "the forecast history is malformed");
    for (size_t k = 0; k < json_object_array_length(samples); k++) {
      json_object *pair = json_object_array_get_idx(samples, k);
      json_object *t = json_object_array_get_idx(pair, 0);
      json_object *v = json_object_array_get_idx(pair, 1);
      if (!json_object_is_type(pair, json_type_array) ||
          !json_object_is_type(t, json_type_int) ||
          !json_object_is_type(v, json_type_int))
        return scw_fail(err, SCW_ERR_PARSE, "a forecast sample is malformed");
      scw_rc_t rc = scw_history_add(h, period, key, json_object_get_int64(t),
                                    json_object_get_int64(v), err);
      if (rc != SCW_OK)
        return rc;
    }
  }
  return SCW_OK;
}

static scw_rc_t alerts_from_json(json_object *o, scw_alerts_t *a,
                                 scw_error_t *err) {
  const char *period;
  json_object *list;
  if (!json_object_is_type(o, json_type_object) ||
      get_str(o, "period", 0, &period) || strlen(period) >= sizeof(a->period) ||
      !json_object_object_get_ex(o, "alerts", &list) ||
      !json_object_is_type(list, json_type_array))
    return scw_fail(err, SCW_ERR_PARSE, "the budget alerts are malformed");
  snprintf(a->period, sizeof(a->period), "%s", period);
  scw_rc_t rc = SCW_OK;
  for (size_t i = 0; rc == SCW_OK && i < json_object_array_length(list); i++) {
    json_object *e = json_object_array_get_idx(list, i), *used, *fc;
    const char *key;
    if (!json_object_is_type(e, json_type_object) || get_str(e, "key", 0, &key) ||
        !json_object_object_get_ex(e, "used_bp", &used) ||
        !json_object_is_type(used, json_type_array) ||
        !json_object_object_get_ex(e, "forecast", &fc) ||
        !json_object_is_type(fc, json_type_boolean))
      return scw_fail(err, SCW_ERR_PARSE, "the budget alerts are malformed");
    for (size_t k = 0; rc == SCW_OK && k < json_object_array_length(used); k++) {
      json_object *bp = json_object_array_get_idx(used, k);
      if (!json_object_is_type(bp, json_type_int))
        return scw_fail(err, SCW_ERR_PARSE, "the budget alerts are malformed");
      rc = scw_alerts_mark(a, key, SCW_BUDGET_USED, json_object_get_int64(bp), err);
    }
    if (rc == SCW_OK && json_object_get_boolean(fc))
      rc = scw_alerts_mark(a, key, SCW_BUDGET_FORECAST, 10000, err);
  }
  return rc;
}

scw_rc_t scw_state_load(const char *path, scw_state_t *st, scw_error_t *err) {
  char *buf = NULL;
  size_t len = 0;
  scw_rc_t rc = read_file(path, &buf, &len, err);
  if (rc != SCW_OK)
    return rc;
  const char *body = NULL;
  rc = check_header(buf, len, &body, err);
  json_object *root = NULL;
  if (rc == SCW_OK) {
    root = json_tokener_parse(body);
    if (root == NULL || !json_object_is_type(root, json_type_object))
      rc = scw_fail(err, SCW_ERR_PARSE, "the body is not a JSON object");
  }
  if (rc == SCW_OK)
    rc = check_identity(root, st, err);
  scw_sched_state_t sched;
  json_object *o;
  int64_t saved = 0;
  if (rc == SCW_OK &&
      (get_i64(root, "saved", &saved) ||
       !json_object_object_get_ex(root, "schedule", &o) ||
       sched_from_json(o, &sched) != 0))
    rc = scw_fail(err, SCW_ERR_PARSE, "the schedule is malformed");
  scw_snapshot_t *snaps[2] = {NULL, NULL};
  static const char *const slot_names[2] = {"current", "closing"};
  for (int i = 0; rc == SCW_OK && i < 2; i++)
    if (json_object_object_get_ex(root, slot_names[i], &o))
      rc = snapshot_from_json(o, st, &snaps[i], err);
  scw_history_t history;
  scw_alerts_t alerts;
  memset(&alerts, 0, sizeof(alerts));
  scw_history_init(&history);
  if (rc == SCW_OK && st->history != NULL &&
      json_object_object_get_ex(root, "forecast_history", &o))
    rc = history_from_json(o, &history, err);
  if (rc == SCW_OK && st->alerts != NULL &&
      json_object_object_get_ex(root, "budget_alerts", &o))
    rc = alerts_from_json(o, &alerts, err);
  json_object_put(root);
  free(buf);
  if (rc != SCW_OK) {
    scw_history_free(&history);
    scw_alerts_free(&alerts);
    scw_snapshot_release(snaps[0]);
    scw_snapshot_release(snaps[1]);
    if (err != NULL && err->msg[0] != '\0')
      scw_error_prefix(err, "\"%s\"", path);
    return rc;
  }
  st->saved = saved;
  st->sched = sched;
  st->snaps[0] = snaps[0];
  st->snaps[1] = snaps[1];
  if (st->history != NULL) {
    scw_history_free(st->history);
    *st->history = history;
  }
  if (st->alerts != NULL) {
    scw_alerts_free(st->alerts);
    *st->alerts = alerts;
  }
  return SCW_OK;
}
