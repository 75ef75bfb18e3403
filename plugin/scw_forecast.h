/* SPDX-License-Identifier: MIT */
/* scw_forecast.h - where the month will end.
 *
 * Method: the month to date plus the recent run rate over the rest of the
 * month,
 *
 *   forecast = mtd(t) + rate * (month_end - t),
 *   rate     = (mtd(t) - mtd(t0)) / (t - t0),
 *
 * where t0 is the newest recorded sample at least 24 hours older than t, or
 * the start of the month (when the month to date was 0) if there is none.
 * A negative rate (credits) counts as 0, so the forecast never falls below
 * what is already spent. The 24-hour window follows a step change within a
 * day, and a stopped resource stops counting a day later.
 *
 * An upper bound for steady usage: Scaleway bills most resources by the
 * hour up to a monthly price, reached after about 500 hours, after which a
 * running resource costs nothing more that month; a straight line keeps
 * adding its hourly price. Late-posted charges pull the other way (the run
 * rate is measured on what has been posted).
 *
 * History keeps, per key (the organization total "" and each project id),
 * at most one sample per hour and only as far back as the window needs.
 * Pure: times are Unix seconds passed in. */
#ifndef SCW_FORECAST_H
#define SCW_FORECAST_H

#include <stddef.h>
#include <stdint.h>

#include "scw_error.h"

#define SCW_FORECAST_WINDOW (24 * 3600)
#define SCW_FORECAST_SPACING 3600
#define SCW_FORECAST_SAMPLES 32

typedef struct {
  int64_t t;
  int64_t nanos;
} scw_sample_t;

typedef struct {
  char *key; /* "" for the organization, else a project id */
  scw_sample_t s[SCW_FORECAST_SAMPLES]; /* oldest first */
  size_t n;
} scw_track_t;

typedef struct {
  char period[8]; /* "YYYY-MM" the samples are of; "" when empty */
  scw_track_t *tracks; /* sorted by key */
  size_t n_tracks;
} scw_history_t;

void scw_history_init(scw_history_t *h);
void scw_history_free(scw_history_t *h);

/* Records mtd nanos of `key` at t in `period`; another period's samples are
 * dropped first. A sample closer than SCW_FORECAST_SPACING to the previous
 * one is not kept (the forecast needs only coarse history). */
scw_rc_t scw_history_add(scw_history_t *h, const char *period, const char *key,
                         int64_t t, int64_t nanos, scw_error_t *err);

/* The track of key, or NULL. */
const scw_track_t *scw_history_track(const scw_history_t *h, const char *key);

/* The end-of-month forecast for month-to-date `mtd` at t, with the month
 * [month_start, month_end) and the key's history (NULL: none). */
int64_t scw_forecast_nanos(const scw_track_t *track, int64_t month_start,
                           int64_t month_end, int64_t t, int64_t mtd);

#endif
