/* SPDX-License-Identifier: MIT */
/* scw_money.c - exact money arithmetic; see scw_money.h. */
#include "scw_money.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

scw_rc_t scw_money_from_parts(int64_t units, int64_t nanos, int64_t *out,
                              scw_error_t *err) {
  if (nanos > 999999999 || nanos < -999999999)
    return scw_fail(err, SCW_ERR_PARSE, "nanos %" PRId64 " out of range", nanos);
  if ((units > 0 && nanos < 0) || (units < 0 && nanos > 0))
    return scw_fail(err, SCW_ERR_PARSE,
                    "units %" PRId64 " and nanos %" PRId64 " differ in sign",
                    units, nanos);
  int64_t scaled;
  if (__builtin_mul_overflow(units, SCW_NANOS_PER_UNIT, &scaled) ||
      __builtin_add_overflow(scaled, nanos, out))
    return scw_fail(err, SCW_ERR_OVERFLOW,
                    "amount of %" PRId64 " units does not fit in int64 nanos",
                    units);
  return SCW_OK;
}

scw_rc_t scw_money_parse_units(const char *s, int64_t *out, scw_error_t *err) {
  const char *p = s;
  if (*p == '-')
    p++;
  if (*p == '\0')
    return scw_fail(err, SCW_ERR_PARSE, "units string is not an integer");
  for (const char *q = p; *q != '\0'; q++)
    if (*q < '0' || *q > '9')
      return scw_fail(err, SCW_ERR_PARSE, "units string is not an integer");
  errno = 0;
  long long v = strtoll(s, NULL, 10);
  if (errno == ERANGE)
    return scw_fail(err, SCW_ERR_OVERFLOW, "units string out of int64 range");
  *out = (int64_t)v;
  return SCW_OK;
}

scw_rc_t scw_money_add(int64_t *acc, int64_t v, scw_error_t *err) {
  int64_t sum;
  if (__builtin_add_overflow(*acc, v, &sum))
    return scw_fail(err, SCW_ERR_OVERFLOW, "sum exceeds int64 nano-units");
  *acc = sum;
  return SCW_OK;
}

void scw_money_format(int64_t nanos, char *buf, size_t size) {
  /* Work on the magnitude as uint64 so INT64_MIN is formatted too. */
  uint64_t mag = nanos < 0 ? (uint64_t)0 - (uint64_t)nanos : (uint64_t)nanos;
  snprintf(buf, size, "%s%" PRIu64 ".%09" PRIu64, nanos < 0 ? "-" : "",
           mag / 1000000000u, mag % 1000000000u);
}

double scw_money_to_double(int64_t nanos) {
  int64_t units = nanos / SCW_NANOS_PER_UNIT;
  int64_t rest = nanos % SCW_NANOS_PER_UNIT;
  return (double)units + (double)rest / 1e9;
}
