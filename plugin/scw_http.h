/* SPDX-License-Identifier: MIT */
/* scw_http.h - the libcurl transport behind scw_fetch_fn.
 *
 * One handle per organization, reused across pages and refreshes so that
 * connections and TLS sessions are kept alive. Transfers abort promptly when
 * the cancel flag is raised (shutdown), and bodies beyond max_response bytes
 * are refused. The secret key goes only into the X-Auth-Token header, and the
 * header memory is wiped when the handle is freed. */
#ifndef SCW_HTTP_H
#define SCW_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

#include "scw_error.h"
#include "scw_refresh.h"

typedef struct {
  const char *secret_key;
  long timeout_ms;         /* per request */
  int verify_peer;
  int verify_host;
  const char *ca_cert;     /* NULL: the system store */
  const char *proxy;       /* NULL: libcurl's environment variables */
  size_t max_response;     /* bytes */
  const atomic_int *cancel;/* non-zero aborts transfers */
} scw_http_config_t;

typedef struct scw_http scw_http_t;

scw_http_t *scw_http_new(const scw_http_config_t *cfg, scw_error_t *err);
void scw_http_free(scw_http_t *http);

/* Uses a new secret key from the next request on (the key was rotated). */
scw_rc_t scw_http_set_secret(scw_http_t *http, const char *secret_key,
                             scw_error_t *err);

/* Bounds every later request so that it ends by `deadline` (CLOCK_MONOTONIC
 * seconds; 0 removes the bound). Used for RefreshTimeout. */
void scw_http_set_deadline(scw_http_t *http, double deadline);

/* scw_fetch_fn with ctx = scw_http_t. */
scw_rc_t scw_http_fetch(void *ctx, const char *url, scw_http_response_t *resp,
                        scw_error_t *err);

#endif
