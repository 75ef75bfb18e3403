/* SPDX-License-Identifier: MIT */
/* forecast_replay.c - runs the plugin's forecast (scw_forecast.c) over a
 * month-to-date series, for tests/forecast/test_forecast_accuracy.py.
 *
 * stdin, one walk per line:  <period> <month start> <month end> <t> <mtd nanos>
 * stdout, one line per walk: <forecast nanos>
 * Each walk is recorded in the history first, as the worker does. */
#include <inttypes.h>
#include <stdio.h>

#include "scw_forecast.h"

int main(void) {
  scw_history_t history;
  scw_history_init(&history);
  char period[8];
  int64_t start, end, t, mtd;
  int status = 0;
  while (scanf("%7s %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64, period, &start,
               &end, &t, &mtd) == 5) {
    scw_error_t err = {0};
    if (scw_history_add(&history, period, "", t, mtd, &err) != SCW_OK) {
      fprintf(stderr, "forecast_replay: %s\n", err.msg);
      status = 1;
      break;
    }
    printf("%" PRId64 "\n",
           scw_forecast_nanos(scw_history_track(&history, ""), start, end, t, mtd));
  }
  scw_history_free(&history);
  return status;
}
