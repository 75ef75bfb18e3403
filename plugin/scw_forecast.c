/* SPDX-License-Identifier: MIT */
/* scw_forecast.c - run-rate forecast and its history; see scw_forecast.h. */
#include "scw_forecast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scw_history_init(scw_history_t *h) { memset(h, 0, sizeof(*h)); }

void scw_history_free(scw_history_t *h) {
  for (size_t i = 0; i < h->n_tracks; i++)
    free(h->tracks[i].key);
  free(h->tracks);
  scw_history_init(h);
}

static int cmp_track(const void *a, const void *b) {
  return strcmp(((const scw_track_t *)a)->key, ((const scw_track_t *)b)->key);
}

const scw_track_t *scw_history_track(const scw_history_t *h, const char *key) {
  scw_track_t probe = {.key = (char *)key};
  if (h->n_tracks == 0)
    return NULL;
  return bsearch(&probe, h->tracks, h->n_tracks, sizeof(probe), cmp_track);
}

static scw_track_t *track_for(scw_history_t *h, const char *key) {
  scw_track_t *t = (scw_track_t *)scw_history_track(h, key);
  if (t != NULL)
    return t;
  scw_track_t *more = realloc(h->tracks, (h->n_tracks + 1) * sizeof(*more));
  if (more == NULL)
    return NULL;
  h->tracks = more;
  char *copy = strdup(key);
  if (copy == NULL)
    return NULL;
  /* Insert in order: a few hundred projects, once each per month. */
  size_t at = 0;
  while (at < h->n_tracks && strcmp(h->tracks[at].key, key) < 0)
    at++;
  memmove(&h->tracks[at + 1], &h->tracks[at],
          (h->n_tracks - at) * sizeof(*h->tracks));
  h->tracks[at] = (scw_track_t){.key = copy};
  h->n_tracks++;
  return &h->tracks[at];
}

scw_rc_t scw_history_add(scw_history_t *h, const char *period, const char *key,
                         int64_t t, int64_t nanos, scw_error_t *err) {
  if (strcmp(h->period, period) != 0) {
    scw_history_free(h);
    snprintf(h->period, sizeof(h->period), "%s", period);
  }
  scw_track_t *tr = track_for(h, key);
  if (tr == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "forecast history");
  if (tr->n > 0 && t - tr->s[tr->n - 1].t < SCW_FORECAST_SPACING)
    return SCW_OK;
  /* The oldest sample is useless once the next one is old enough to be the
   * window's start on its own. */
  while (tr->n >= SCW_FORECAST_SAMPLES ||
         (tr->n >= 2 && tr->s[1].t <= t - SCW_FORECAST_WINDOW)) {
    memmove(&tr->s[0], &tr->s[1], (tr->n - 1) * sizeof(tr->s[0]));
    tr->n--;
  }
  tr->s[tr->n++] = (scw_sample_t){t, nanos};
  return SCW_OK;
}

int64_t scw_forecast_nanos(const scw_track_t *track, int64_t month_start,
                           int64_t month_end, int64_t t, int64_t mtd) {
  int64_t t0 = month_start, ref = 0;
  for (size_t i = 0; track != NULL && i < track->n; i++)
    if (track->s[i].t <= t - SCW_FORECAST_WINDOW && track->s[i].t >= month_start) {
      t0 = track->s[i].t;
      ref = track->s[i].nanos;
    }
  if (t <= t0 || t >= month_end || mtd <= ref)
    return mtd;
  __int128 extra = ((__int128)mtd - ref) * (month_end - t) / (t - t0);
  __int128 f = (__int128)mtd + extra;
  return f > INT64_MAX ? INT64_MAX : (int64_t)f;
}
