/* SPDX-License-Identifier: MIT */
/* scw_time.h - billing window and RFC 3339 time math, in UTC only.
 *
 * Times are int64 Unix seconds. The calendar arithmetic is our own (days from
 * civil date), so it neither depends on the process's TZ nor on time_t width. */
#ifndef SCW_TIME_H
#define SCW_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "scw_error.h"

/* The month-to-date window the plugin asks for: [start, end). */
typedef struct {
  int64_t start;  /* first day of the month, 00:00:00Z */
  int64_t end;    /* "now", whole seconds */
  char period[8]; /* billing period "YYYY-MM" */
} scw_window_t;

void scw_month_window(int64_t now, scw_window_t *w);

/* First second of the month after the one that contains t. */
int64_t scw_next_month_start(int64_t t);

/* "YYYY-MM" of the month containing t. buf needs 8 bytes. */
void scw_period_of(int64_t t, char *buf, size_t size);

/* "2026-11-01T00:00:00Z". buf needs 21 bytes (SCW_RFC3339_SIZE). */
#define SCW_RFC3339_SIZE 32
void scw_rfc3339_format(int64_t t, char *buf, size_t size);

/* Parses RFC 3339 date-time: 0 to 9 fractional digits, 'Z' or +hh:mm/-hh:mm.
 * *sec is UTC Unix seconds, *nsec the fraction (0..999999999). Either output
 * may be NULL. Rejects out-of-range fields and trailing bytes. */
scw_rc_t scw_rfc3339_parse(const char *s, int64_t *sec, int32_t *nsec,
                           scw_error_t *err);

/* Parses an HTTP date in IMF-fixdate form, "Sun, 06 Nov 1994 08:49:37 GMT"
 * (RFC 9110), into Unix seconds. */
scw_rc_t scw_http_date_parse(const char *s, int64_t *out, scw_error_t *err);

/* CLOCK_MONOTONIC in seconds: for deadlines and durations, which must not
 * jump with the wall clock. */
double scw_monotonic_now(void);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t scw_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
