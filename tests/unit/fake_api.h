/* SPDX-License-Identifier: MIT */
/* fake_api.h - a small FinOps API for the worker tests: charges with the
 * time they cover and the time the API starts showing them (late posting),
 * windows and pages as the real endpoint has them, a clock the test moves,
 * and faults from a given instant. */
#ifndef FAKE_API_H
#define FAKE_API_H

#include <stddef.h>
#include <stdint.h>

#include "scw_refresh.h"

typedef struct {
  const char *project_id, *project_name, *sku;
  int64_t at;       /* the hour it covers starts here (Unix s) */
  int64_t posted;   /* shown by the API from this instant on */
  int64_t nanos;    /* EUR */
} fake_charge_t;

#define FAKE_API_MAX_LOG 4096

typedef struct {
  const fake_charge_t *charges;
  size_t n;
  unsigned page_size;
  int64_t now;          /* the test's clock: what the API "sees" */
  int64_t fail_from;    /* every request from then on fails... */
  long fail_status;     /* ...with this status (0: no faults) */
  const char *retry_after;
  size_t requests;
  struct { int64_t start, end; } windows[FAKE_API_MAX_LOG]; /* per request */
  char *body;
} fake_api_t;

/* scw_fetch_fn, ctx = fake_api_t. A charge is in the window when its hour
 * starts in [start, end) (no proration: tests choose whole hours). */
scw_rc_t fake_api_fetch(void *ctx, const char *url, scw_http_response_t *resp,
                        scw_error_t *err);
void fake_api_free(fake_api_t *api);

/* The exact EUR sum of the charges of [start, end) posted by `now`. */
int64_t fake_api_sum(const fake_api_t *api, int64_t start, int64_t end,
                     int64_t now);

#endif
