/* SPDX-License-Identifier: MIT */
/* fake_fetch.h - a scripted scw_fetch_fn for the refresh tests.
 *
 * Serves a fixed list of answers in order and records every URL it was
 * asked for. Each body is copied into a fresh allocation that is freed on
 * the next call, as the real fetcher's buffer is reused, so a caller that
 * keeps a body past the next fetch is caught by ASan. Bodies are not
 * NUL-terminated: a reader that relies on a terminator is caught too. */
#ifndef FAKE_FETCH_H
#define FAKE_FETCH_H

#include <stddef.h>

#include "scw_refresh.h"

typedef struct {
  long status;            /* HTTP status of the answer */
  const char *body;       /* NULL: empty body */
  const char *request_id; /* X-Request-Id, NULL for none */
  scw_rc_t transport_rc;  /* != SCW_OK: no answer, fail with this code */
  const char *retry_after; /* Retry-After header, NULL for none */
  const char *content_type; /* Content-Type header, NULL for none */
} fake_response_t;

#define FAKE_MAX_URLS 64

typedef struct {
  const fake_response_t *script;
  size_t n_script;
  size_t calls;               /* fetches made, including past the script */
  char *urls[FAKE_MAX_URLS];  /* the first FAKE_MAX_URLS URLs asked for */
  char *body;                 /* the copy handed out by the last call */
} fake_fetch_t;

void fake_fetch_init(fake_fetch_t *f, const fake_response_t *script,
                     size_t n_script);
void fake_fetch_free(fake_fetch_t *f);

/* The scw_fetch_fn; ctx is a fake_fetch_t. A call past the end of the script
 * fails with SCW_ERR_TRANSPORT "script exhausted". */
scw_rc_t fake_fetch(void *ctx, const char *url, scw_http_response_t *resp,
                    scw_error_t *err);

#endif
