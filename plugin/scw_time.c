/* SPDX-License-Identifier: MIT */
/* scw_time.c - UTC calendar math and RFC 3339; see scw_time.h. */
#include "scw_time.h"

#include <stdio.h>
#include <time.h>
#include <string.h>

#define SECS_PER_DAY INT64_C(86400)

/* Howard Hinnant's days_from_civil / civil_from_days: exact for any year. */
int64_t scw_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t month_start(int64_t t, int month_offset) {
  int64_t y;
  unsigned m, d;
  civil_from_days(floor_div(t, SECS_PER_DAY), &y, &m, &d);
  int64_t mi = (int64_t)m - 1 + month_offset;
  y += floor_div(mi, 12);
  mi -= floor_div(mi, 12) * 12;
  return scw_days_from_civil(y, (unsigned)mi + 1, 1) * SECS_PER_DAY;
}

double scw_monotonic_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void scw_period_of(int64_t t, char *buf, size_t size) {
  int64_t y;
  unsigned m, d;
  civil_from_days(floor_div(t, SECS_PER_DAY), &y, &m, &d);
  snprintf(buf, size, "%04lld-%02u", (long long)y, m);
}

void scw_month_window(int64_t now, scw_window_t *w) {
  w->start = month_start(now, 0);
  w->end = now;
  scw_period_of(now, w->period, sizeof(w->period));
}

int64_t scw_next_month_start(int64_t t) { return month_start(t, 1); }

void scw_rfc3339_format(int64_t t, char *buf, size_t size) {
  int64_t days = floor_div(t, SECS_PER_DAY);
  int64_t secs = t - days * SECS_PER_DAY;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
           (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
           (unsigned)(secs % 60));
}

/* Reads exactly n digits; returns -1 if any is not a digit. */
static int read_digits(const char **p, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return -1;
    v = v * 10 + (c - '0');
  }
  *p += n;
  return v;
}

static int expect_char(const char **p, const char *allowed) {
  for (const char *a = allowed; *a != '\0'; a++)
    if (**p == *a) {
      (*p)++;
      return 0;
    }
  return -1;
}

static unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dim[m - 1];
}

scw_rc_t scw_rfc3339_parse(const char *s, int64_t *sec, int32_t *nsec,
                           scw_error_t *err) {
  const char *p = s;
  int year = read_digits(&p, 4);
  int mon = expect_char(&p, "-") ? -1 : read_digits(&p, 2);
  int day = expect_char(&p, "-") ? -1 : read_digits(&p, 2);
  int hour = expect_char(&p, "Tt ") ? -1 : read_digits(&p, 2);
  int min = expect_char(&p, ":") ? -1 : read_digits(&p, 2);
  int second = expect_char(&p, ":") ? -1 : read_digits(&p, 2);
  if (year < 0 || mon < 1 || mon > 12 || day < 1 ||
      (unsigned)day > days_in_month(year, (unsigned)mon) || hour < 0 ||
      hour > 23 || min < 0 || min > 59 || second < 0 || second > 60)
    return scw_fail(err, SCW_ERR_PARSE, "not an RFC 3339 date-time");

  int32_t frac = 0;
  if (*p == '.') {
    p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
      if (++digits > 9)
        return scw_fail(err, SCW_ERR_PARSE, "more than 9 fractional digits");
      frac = frac * 10 + (*p++ - '0');
    }
    if (digits == 0)
      return scw_fail(err, SCW_ERR_PARSE, "empty fraction in date-time");
    for (; digits < 9; digits++)
      frac *= 10;
  }

  int64_t offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1;
    int oh = read_digits(&p, 2);
    int om = expect_char(&p, ":") ? -1 : read_digits(&p, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59)
      return scw_fail(err, SCW_ERR_PARSE, "bad UTC offset in date-time");
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return scw_fail(err, SCW_ERR_PARSE, "date-time lacks a time zone");
  }
  if (*p != '\0')
    return scw_fail(err, SCW_ERR_PARSE, "trailing bytes after date-time");

  int64_t t = scw_days_from_civil(year, (unsigned)mon, (unsigned)day) * SECS_PER_DAY +
              hour * 3600 + min * 60 + second - offset;
  if (sec != NULL)
    *sec = t;
  if (nsec != NULL)
    *nsec = frac;
  return SCW_OK;
}

scw_rc_t scw_http_date_parse(const char *s, int64_t *out, scw_error_t *err) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const char *p = s;
  /* Skip "Sun, " (the weekday carries no information). */
  if (strlen(p) < 29 || p[3] != ',' || p[4] != ' ')
    return scw_fail(err, SCW_ERR_PARSE, "not an HTTP date");
  p += 5;
  int day = read_digits(&p, 2);
  int mon = -1;
  if (expect_char(&p, " ") == 0)
    for (int i = 0; i < 12; i++)
      if (strncmp(p, months + 3 * i, 3) == 0)
        mon = i + 1;
  p += 3;
  int year = expect_char(&p, " ") ? -1 : read_digits(&p, 4);
  int hour = expect_char(&p, " ") ? -1 : read_digits(&p, 2);
  int min = expect_char(&p, ":") ? -1 : read_digits(&p, 2);
  int sec = expect_char(&p, ":") ? -1 : read_digits(&p, 2);
  if (mon < 1 || day < 1 || year < 0 ||
      (unsigned)day > days_in_month(year, (unsigned)mon) || hour < 0 ||
      hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 ||
      strcmp(p, " GMT") != 0)
    return scw_fail(err, SCW_ERR_PARSE, "not an HTTP date");
  *out = scw_days_from_civil(year, (unsigned)mon, (unsigned)day) * SECS_PER_DAY +
         hour * 3600 + min * 60 + sec;
  return SCW_OK;
}
