/* SPDX-License-Identifier: MIT */
/* scw_error.c - names and message helpers for scw_rc_t. */
#include "scw_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *scw_strerror(scw_rc_t rc) {
  switch (rc) {
  case SCW_OK: return "no error";
  case SCW_ERR_NOMEM: return "out of memory";
  case SCW_ERR_INVALID: return "invalid value";
  case SCW_ERR_TRANSPORT: return "transport error";
  case SCW_ERR_HTTP: return "API error";
  case SCW_ERR_PARSE: return "malformed response";
  case SCW_ERR_NOT_JSON: return "response is not JSON";
  case SCW_ERR_NOT_FOUND: return "not found";
  case SCW_ERR_PAGINATION: return "pagination error";
  case SCW_ERR_OVERFLOW: return "amount overflow";
  case SCW_ERR_LIMIT: return "limit exceeded";
  case SCW_ERR_CANCELLED: return "cancelled";
  }
  return "unknown error";
}

scw_rc_t scw_fail(scw_error_t *err, scw_rc_t rc, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    err->rc = rc;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
  }
  return rc;
}

void scw_error_prefix(scw_error_t *err, const char *fmt, ...) {
  if (err == NULL)
    return;
  char prefix[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  char old[SCW_ERRMSG_SIZE];
  memcpy(old, err->msg, sizeof(old));
  snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
}
