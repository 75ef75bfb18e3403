/* SPDX-License-Identifier: MIT */
/* fake_fetch.c - see fake_fetch.h. */
#include "fake_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fake_fetch_init(fake_fetch_t *f, const fake_response_t *script,
                     size_t n_script) {
  memset(f, 0, sizeof(*f));
  f->script = script;
  f->n_script = n_script;
}

void fake_fetch_free(fake_fetch_t *f) {
  for (size_t i = 0; i < FAKE_MAX_URLS; i++)
    free(f->urls[i]);
  free(f->body);
  memset(f, 0, sizeof(*f));
}

scw_rc_t fake_fetch(void *ctx, const char *url, scw_http_response_t *resp,
                    scw_error_t *err) {
  fake_fetch_t *f = ctx;
  size_t call = f->calls++;
  if (call < FAKE_MAX_URLS)
    f->urls[call] = strdup(url);
  /* The previous body is gone, as with the real fetcher's reused buffer. */
  free(f->body);
  f->body = NULL;
  memset(resp, 0, sizeof(*resp));
  if (call >= f->n_script)
    return scw_fail(err, SCW_ERR_TRANSPORT, "fake: script exhausted at call %zu",
                    call + 1);
  const fake_response_t *r = &f->script[call];
  if (r->transport_rc != SCW_OK)
    return scw_fail(err, r->transport_rc, "fake: connection refused");
  const char *body = r->body != NULL ? r->body : "";
  size_t len = strlen(body);
  /* Exactly len bytes, no terminating NUL: reading past len is caught. */
  f->body = malloc(len > 0 ? len : 1);
  if (f->body == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "fake: body copy");
  memcpy(f->body, body, len);
  resp->status = r->status;
  resp->body = f->body;
  resp->len = len;
  if (r->request_id != NULL)
    snprintf(resp->request_id, sizeof(resp->request_id), "%s", r->request_id);
  if (r->retry_after != NULL)
    snprintf(resp->retry_after, sizeof(resp->retry_after), "%s", r->retry_after);
  if (r->content_type != NULL)
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", r->content_type);
  return SCW_OK;
}
