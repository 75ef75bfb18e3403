/* SPDX-License-Identifier: MIT */
/* fuzz_rfc3339.c - libFuzzer target for scw_rfc3339_parse and
 * scw_http_date_parse. Dates come from the API (charge dates, Retry-After),
 * so each parser is compared with a reference written differently: fixed
 * positions checked one by one, and glibc's timegm() for the calendar. The
 * two must agree on accept/reject and on the value. The first 8 bytes, as a
 * time, also drive the other direction: format, then parse back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scw_time.h"
#include "fuzz_check.h"


/* Value of s[0..n) if all are digits, else -1. */
static int digits(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Unix time of a UTC date-time; *ok says whether the fields (-1 for
 * non-digits) form a real date and time. timegm() normalises Feb 30 to
 * Mar 2, so a date is real when it comes back unchanged. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s, int *ok) {
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};
  int64_t day = (int64_t)timegm(&tm);
  *ok = y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && tm.tm_mday == d &&
        tm.tm_mon == mo - 1 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 &&
        s >= 0 && s <= 60;
  return day + h * 3600 + mi * 60 + s;
}

/* Reference RFC 3339 parser: "YYYY-MM-DD[Tt ]hh:mm:ss[.f{1,9}](Z|z|+hh:mm)". */
static int ref_rfc3339(const char *s, int64_t *sec, int32_t *nsec) {
  if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || !strchr("Tt ", s[10]) ||
      s[13] != ':' || s[16] != ':')
    return 0;
  int ok;
  *sec = utc(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2),
             digits(s + 11, 2), digits(s + 14, 2), digits(s + 17, 2), &ok);
  const char *p = s + 19;
  *nsec = 0;
  if (*p == '.') {
    int n = 0;
    while (p[1 + n] >= '0' && p[1 + n] <= '9')
      n++;
    if (n < 1 || n > 9)
      return 0;
    *nsec = digits(p + 1, n);
    for (int i = n; i < 9; i++)
      *nsec *= 10;
    p += 1 + n;
  }
  if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
    return ok;
  if (strlen(p) != 6 || (*p != '+' && *p != '-') || p[3] != ':')
    return 0;
  int oh = digits(p + 1, 2), om = digits(p + 4, 2);
  if (oh < 0 || oh > 23 || om < 0 || om > 59)
    return 0;
  *sec -= (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  return ok;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char wdays[] = "SunMonTueWedThuFriSat";

/* Reference IMF-fixdate parser: "Www, DD Mon YYYY hh:mm:ss GMT". */
static int ref_http(const char *s, int64_t *sec) {
  if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
      s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
      strcmp(s + 25, " GMT") != 0)
    return 0;
  int mo = 0;
  for (int i = 0; i < 12; i++)
    if (memcmp(s + 8, months + 3 * i, 3) == 0)
      mo = i + 1;
  int ok;
  *sec = utc(digits(s + 12, 4), mo, digits(s + 5, 2), digits(s + 17, 2),
             digits(s + 20, 2), digits(s + 23, 2), &ok);
  return ok;
}

static void check_rfc3339(const char *s) {
  int64_t sec = 0, want_sec = 0;
  int32_t nsec = -1, want_nsec = 0;
  scw_error_t err = {.rc = SCW_OK, .msg = ""};
  scw_rc_t rc = scw_rfc3339_parse(s, &sec, &nsec, &err);
  int want = ref_rfc3339(s, &want_sec, &want_nsec);
  CHECK((rc == SCW_OK) == want);
  /* The page parser calls it with NULL outputs and no error. */
  CHECK(scw_rfc3339_parse(s, NULL, NULL, NULL) == rc);
  if (rc != SCW_OK) {
    CHECK(rc == SCW_ERR_PARSE && err.rc == rc && err.msg[0] != '\0');
    return;
  }
  CHECK(sec == want_sec && nsec == want_nsec);
  CHECK(nsec >= 0 && nsec <= 999999999);
  /* Formatting drops the fraction and the offset, never the instant. The
   * format is only parseable for years 0000..9999. */
  char f[SCW_RFC3339_SIZE];
  scw_rfc3339_format(sec, f, sizeof(f));
  int64_t sec2;
  int32_t nsec2;
  if (f[0] != '-' && strlen(f) == 20) {
    CHECK(scw_rfc3339_parse(f, &sec2, &nsec2, NULL) == SCW_OK);
    CHECK(sec2 == sec && nsec2 == 0);
  }
  /* A UTC input (not a leap second) formats back to its own fields. */
  if ((s[strlen(s) - 1] | 0x20) == 'z' && s[17] != '6')
    CHECK(memcmp(f, s, 10) == 0 && memcmp(f + 11, s + 11, 8) == 0);
}

static void check_http(const char *s) {
  int64_t sec = 0, want_sec = 0;
  scw_error_t err = {.rc = SCW_OK, .msg = ""};
  scw_rc_t rc = scw_http_date_parse(s, &sec, &err);
  CHECK((rc == SCW_OK) == ref_http(s, &want_sec));
  if (rc == SCW_OK)
    CHECK(sec == want_sec);
  else
    CHECK(rc == SCW_ERR_PARSE && err.rc == rc && err.msg[0] != '\0');
}

/* Any instant in years 0000..9999 formats to strings both parsers take. */
static void check_format(int64_t raw) {
  const int64_t lo = -62167219200, hi = 253402300800; /* 0000 .. 10000-01-01 */
  int64_t t = lo + (int64_t)((uint64_t)raw % (uint64_t)(hi - lo));
  char f[SCW_RFC3339_SIZE];
  scw_rfc3339_format(t, f, sizeof(f));
  int64_t sec;
  int32_t nsec;
  CHECK(scw_rfc3339_parse(f, &sec, &nsec, NULL) == SCW_OK && sec == t);

  struct tm tm;
  time_t tt = (time_t)t;
  CHECK(gmtime_r(&tt, &tm) != NULL);
  char h[64];
  snprintf(h, sizeof(h), "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT",
           wdays + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
           tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  CHECK(scw_http_date_parse(h, &sec, NULL) == SCW_OK && sec == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1); /* exact size: ASan catches reads past the NUL */
  if (s == NULL)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  check_rfc3339(s);
  check_http(s);
  free(s);

  if (size >= 8) {
    int64_t raw;
    memcpy(&raw, data, sizeof(raw));
    check_format(raw);
  }
  return 0;
}
