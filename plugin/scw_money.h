/* SPDX-License-Identifier: MIT */
/* scw_money.h - exact money in int64 nano-units.
 *
 * The API sends google.type.Money: whole `units` plus `nanos` (1e-9 units,
 * same sign as units). We keep every amount and every sum as int64
 * nano-units, exact up to about 9.2e9 currency units, and convert to double
 * only when handing a value to collectd. Overflow is an error, never a wrap. */
#ifndef SCW_MONEY_H
#define SCW_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "scw_error.h"

#define SCW_NANOS_PER_UNIT INT64_C(1000000000)

/* units + nanos -> nano-units. Rejects |nanos| > 999999999, nanos whose sign
 * differs from a non-zero units, and results outside int64. */
scw_rc_t scw_money_from_parts(int64_t units, int64_t nanos, int64_t *out,
                              scw_error_t *err);

/* Parses a decimal integer string for `units` ("12", "-3"): digits only,
 * optional leading '-', no spaces, no fraction, within int64. */
scw_rc_t scw_money_parse_units(const char *s, int64_t *out, scw_error_t *err);

/* *acc += v, failing on int64 overflow and leaving *acc unchanged then. */
scw_rc_t scw_money_add(int64_t *acc, int64_t v, scw_error_t *err);

/* "-5.250000000": always 9 decimals, exact. buf needs 22 bytes. */
void scw_money_format(int64_t nanos, char *buf, size_t size);

/* The double nearest to the exact amount (units and nanos converted
 * separately, so amounts below 2^53 units lose nothing visible in cents). */
double scw_money_to_double(int64_t nanos);

#endif
