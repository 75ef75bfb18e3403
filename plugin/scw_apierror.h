/* SPDX-License-Identifier: MIT */
/* scw_apierror.h - turning a non-200 FinOps answer into one log-safe line.
 *
 * Scaleway errors are JSON ({"type", "message", "details", ...}) but a 5xx
 * from a proxy may be HTML or empty. The line says what failed and what to
 * do about it; every byte taken from the body is made printable first, so a
 * hostile body cannot forge log lines. */
#ifndef SCW_APIERROR_H
#define SCW_APIERROR_H

#include <stddef.h>

#include "scw_naming.h" /* scw_log_safe */

/* status: HTTP status; body may be NULL. organization_id is used in the
 * permission hint. Writes at most size bytes into buf. */
void scw_api_error_describe(long status, const char *body, size_t len,
                            const char *organization_id, char *buf,
                            size_t size);

/* The "reset_seconds" of a 429 body ({"type":"too_many_requests", ...}).
 * Returns 0 and sets *seconds when present and non-negative. */
int scw_api_error_reset_seconds(const char *body, size_t len, double *seconds);

#endif
