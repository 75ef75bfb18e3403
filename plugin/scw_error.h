/* SPDX-License-Identifier: MIT */
/* scw_error.h - the one error type every scw_finops module returns.
 *
 * Like curl's CURLcode: a small enum for the caller to branch on, plus a
 * message buffer that says what failed with what, for the log. Messages never
 * contain the secret key: no module that fills them ever sees it, apart from
 * the HTTP client, which does not put it in messages. */
#ifndef SCW_ERROR_H
#define SCW_ERROR_H

#include <stddef.h>

typedef enum {
  SCW_OK = 0,
  SCW_ERR_NOMEM,      /* allocation failed */
  SCW_ERR_INVALID,    /* a bad argument or configuration value */
  SCW_ERR_TRANSPORT,  /* connection, TLS, timeout: no HTTP answer */
  SCW_ERR_HTTP,       /* the API answered with a non-200 status */
  SCW_ERR_PARSE,      /* valid JSON, but not the shape the API promises */
  SCW_ERR_NOT_JSON,   /* the body is not (complete) JSON: HTML, truncated */
  SCW_ERR_PAGINATION, /* repeated page token, too many pages */
  SCW_ERR_OVERFLOW,   /* a money amount or sum outside int64 nano-units */
  SCW_ERR_LIMIT,      /* a configured bound (response size...) exceeded */
  SCW_ERR_CANCELLED,  /* shutdown interrupted the work */
  SCW_ERR_NOT_FOUND,  /* a file that does not exist (yet) */
} scw_rc_t;

#define SCW_ERRMSG_SIZE 512

typedef struct {
  scw_rc_t rc;
  char msg[SCW_ERRMSG_SIZE];
} scw_error_t;

const char *scw_strerror(scw_rc_t rc);

/* Sets err (if not NULL) and returns rc, so callers can `return scw_fail(...)`. */
scw_rc_t scw_fail(scw_error_t *err, scw_rc_t rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err->msg with context ("page 3: ..."), keeping err->rc. */
void scw_error_prefix(scw_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
