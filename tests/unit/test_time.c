/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_time.c: month window and RFC 3339, UTC only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "scw_time.h"

/* Reference values computed with Python's calendar.timegm. */
#define T_2023_12_01 INT64_C(1701388800)
#define T_2023_12_31_235959 INT64_C(1704067199)
#define T_2024_01_01 INT64_C(1704067200)
#define T_2024_02_01 INT64_C(1706745600)
#define T_2024_02_29_12 INT64_C(1709208000)
#define T_2024_03_01 INT64_C(1709251200)
#define T_2000_02_01 INT64_C(949363200)
#define T_2000_02_29_235959 INT64_C(951868799)
#define T_2000_03_01 INT64_C(951868800)
#define T_1900_02_01 INT64_C(-2206310400)
#define T_1900_02_28_235959 INT64_C(-2203891201)
#define T_1900_03_01 INT64_C(-2203891200)
#define T_2026_11_01 INT64_C(1793491200)
#define T_2026_11_15_0830 INT64_C(1794731400)
#define T_2026_12_01 INT64_C(1796083200)
#define T_2026_05_17_123456 INT64_C(1779021296)

static void assert_window(int64_t now, int64_t start, const char *period) {
  scw_window_t w;
  memset(&w, 0x55, sizeof(w));
  scw_month_window(now, &w);
  assert_true(w.start == start);
  assert_true(w.end == now);
  assert_string_equal(w.period, period);
}

static void test_window_last_second_of_year(void **state) {
  (void)state;
  assert_window(T_2023_12_31_235959, T_2023_12_01, "2023-12");
}

static void test_window_first_second_of_year(void **state) {
  (void)state;
  /* The first second of a month is its own window start: an empty window. */
  assert_window(T_2024_01_01, T_2024_01_01, "2024-01");
  assert_window(T_2024_01_01 + 1, T_2024_01_01, "2024-01");
}

static void test_window_mid_month(void **state) {
  (void)state;
  assert_window(T_2026_11_15_0830, T_2026_11_01, "2026-11");
  assert_window(T_2026_12_01 - 1, T_2026_11_01, "2026-11");
}

static void test_window_leap_2024(void **state) {
  (void)state;
  assert_window(T_2024_02_29_12, T_2024_02_01, "2024-02");
  assert_window(T_2024_03_01 - 1, T_2024_02_01, "2024-02");
  assert_window(T_2024_03_01, T_2024_03_01, "2024-03");
}

static void test_window_leap_2000(void **state) {
  (void)state;
  /* 2000 is divisible by 400: leap. */
  assert_window(T_2000_02_29_235959, T_2000_02_01, "2000-02");
  assert_window(T_2000_03_01, T_2000_03_01, "2000-03");
  assert_true(T_2000_03_01 - T_2000_02_01 == 29 * INT64_C(86400));
}

static void test_window_non_leap_1900(void **state) {
  (void)state;
  /* 1900 is divisible by 100 but not 400: February has 28 days. */
  assert_window(T_1900_02_28_235959, T_1900_02_01, "1900-02");
  assert_window(T_1900_02_28_235959 + 1, T_1900_03_01, "1900-03");
  assert_true(T_1900_03_01 - T_1900_02_01 == 28 * INT64_C(86400));
}

static void test_window_before_epoch(void **state) {
  (void)state;
  assert_window(-1, INT64_C(-2678400), "1969-12");
  assert_window(0, 0, "1970-01");
}

static void test_next_month_start(void **state) {
  (void)state;
  assert_true(scw_next_month_start(T_2026_11_15_0830) == T_2026_12_01);
  assert_true(scw_next_month_start(T_2026_11_01) == T_2026_12_01);
  /* December -> January of the next year. */
  assert_true(scw_next_month_start(T_2023_12_31_235959) == T_2024_01_01);
  assert_true(scw_next_month_start(T_2023_12_01) == T_2024_01_01);
  /* January 31st -> February 1st (no day-of-month carry). */
  assert_true(scw_next_month_start(T_2024_02_01 - 1) == T_2024_02_01);
  assert_true(scw_next_month_start(T_2024_02_29_12) == T_2024_03_01);
  assert_true(scw_next_month_start(T_2000_02_01) == T_2000_03_01);
  assert_true(scw_next_month_start(T_1900_02_01) == T_1900_03_01);
  assert_true(scw_next_month_start(-1) == 0);
}

static void test_period_of(void **state) {
  (void)state;
  char buf[8];
  scw_period_of(T_2023_12_31_235959, buf, sizeof(buf));
  assert_string_equal(buf, "2023-12");
  scw_period_of(T_2024_01_01, buf, sizeof(buf));
  assert_string_equal(buf, "2024-01");
  scw_period_of(T_2000_02_29_235959, buf, sizeof(buf));
  assert_string_equal(buf, "2000-02");
  scw_period_of(-1, buf, sizeof(buf));
  assert_string_equal(buf, "1969-12");
}

static void test_format(void **state) {
  (void)state;
  char buf[SCW_RFC3339_SIZE];
  scw_rfc3339_format(T_2026_11_01, buf, sizeof(buf));
  assert_string_equal(buf, "2026-11-01T00:00:00Z");
  scw_rfc3339_format(T_2023_12_31_235959, buf, sizeof(buf));
  assert_string_equal(buf, "2023-12-31T23:59:59Z");
  scw_rfc3339_format(T_2026_05_17_123456, buf, sizeof(buf));
  assert_string_equal(buf, "2026-05-17T12:34:56Z");
  scw_rfc3339_format(T_2024_02_29_12, buf, sizeof(buf));
  assert_string_equal(buf, "2024-02-29T12:00:00Z");
  scw_rfc3339_format(0, buf, sizeof(buf));
  assert_string_equal(buf, "1970-01-01T00:00:00Z");
  scw_rfc3339_format(-1, buf, sizeof(buf));
  assert_string_equal(buf, "1969-12-31T23:59:59Z");
}

static void assert_parses(const char *s, int64_t sec, int32_t nsec) {
  int64_t got_sec = -7;
  int32_t got_nsec = -7;
  scw_error_t err = {0};
  scw_rc_t rc = scw_rfc3339_parse(s, &got_sec, &got_nsec, &err);
  if (rc != SCW_OK)
    fail_msg("\"%s\" rejected: %s", s, err.msg);
  assert_true(got_sec == sec);
  assert_int_equal(got_nsec, nsec);
}

static void assert_rejected(const char *s) {
  int64_t sec = 42;
  int32_t nsec = 43;
  scw_error_t err = {0};
  scw_rc_t rc = scw_rfc3339_parse(s, &sec, &nsec, &err);
  if (rc != SCW_ERR_PARSE)
    fail_msg("\"%s\" accepted (rc %d, sec %lld)", s, (int)rc, (long long)sec);
  assert_int_equal(err.rc, SCW_ERR_PARSE);
  assert_true(err.msg[0] != '\0');
}

static void test_parse_z(void **state) {
  (void)state;
  assert_parses("2026-05-17T12:34:56Z", T_2026_05_17_123456, 0);
  assert_parses("2024-01-01T00:00:00Z", T_2024_01_01, 0);
  assert_parses("1970-01-01T00:00:00Z", 0, 0);
}

static void test_parse_lowercase(void **state) {
  (void)state;
  assert_parses("2026-05-17t12:34:56z", T_2026_05_17_123456, 0);
  assert_parses("2026-05-17T12:34:56z", T_2026_05_17_123456, 0);
  assert_parses("2026-05-17t12:34:56Z", T_2026_05_17_123456, 0);
}

static void test_parse_fraction_digits(void **state) {
  (void)state;
  assert_parses("2026-05-17T12:34:56.123Z", T_2026_05_17_123456, 123000000);
  assert_parses("2026-05-17T12:34:56.000Z", T_2026_05_17_123456, 0);
  assert_parses("2026-05-17T12:34:56.482913Z", T_2026_05_17_123456, 482913000);
  assert_parses("2026-05-17T12:34:56.000000001Z", T_2026_05_17_123456, 1);
  assert_parses("2026-05-17T12:34:56.999999999Z", T_2026_05_17_123456,
                999999999);
  assert_parses("2022-05-23T15:00:00.01Z", INT64_C(1653318000), 10000000);
  assert_parses("2026-05-17T12:34:56.5Z", T_2026_05_17_123456, 500000000);
}

static void test_parse_fraction_too_long(void **state) {
  (void)state;
  assert_rejected("2026-05-17T12:34:56.1234567890Z");
  assert_rejected("2026-05-17T12:34:56.Z");
  assert_rejected("2026-05-17T12:34:56.12a3Z");
}

static void test_parse_offsets(void **state) {
  (void)state;
  /* 14:34:56+02:00 is 12:34:56Z. */
  assert_parses("2026-05-17T14:34:56+02:00", T_2026_05_17_123456, 0);
  /* 07:04:56-05:30 is 12:34:56Z. */
  assert_parses("2026-05-17T07:04:56-05:30", T_2026_05_17_123456, 0);
  assert_parses("2026-05-17T12:34:56+00:00", T_2026_05_17_123456, 0);
  assert_parses("2026-05-17T12:34:56-00:00", T_2026_05_17_123456, 0);
  /* Offsets crossing a year boundary. */
  assert_parses("2024-01-01T01:00:00+01:00", T_2024_01_01, 0);
  assert_parses("2023-12-31T18:59:59-05:00", T_2023_12_31_235959, 0);
  assert_parses("2026-05-17T14:34:56.25+02:00", T_2026_05_17_123456, 250000000);
}

static void test_parse_bad_offsets(void **state) {
  (void)state;
  assert_rejected("2026-05-17T12:34:56+0200");
  assert_rejected("2026-05-17T12:34:56+02");
  assert_rejected("2026-05-17T12:34:56+24:00");
  assert_rejected("2026-05-17T12:34:56+02:60");
  assert_rejected("2026-05-17T12:34:56+2:00");
}

static void test_parse_missing_zone(void **state) {
  (void)state;
  assert_rejected("2026-05-17T12:34:56");
  assert_rejected("2026-05-17T12:34:56.123");
  assert_rejected("2026-05-17");
  assert_rejected("2026-05-17T12:34");
}

static void test_parse_invalid_dates(void **state) {
  (void)state;
  assert_rejected("2024-02-30T00:00:00Z");
  assert_rejected("2023-02-29T00:00:00Z");
  assert_rejected("1900-02-29T00:00:00Z");
  assert_rejected("2100-02-29T00:00:00Z");
  assert_parses("2000-02-29T23:59:59Z", T_2000_02_29_235959, 0);
  assert_parses("2024-02-29T12:00:00Z", T_2024_02_29_12, 0);
  assert_rejected("2026-00-10T00:00:00Z");
  assert_rejected("2026-13-10T00:00:00Z");
  assert_rejected("2026-04-31T00:00:00Z");
  assert_rejected("2026-04-00T00:00:00Z");
  assert_rejected("2026-12-32T00:00:00Z");
}

static void test_parse_invalid_times(void **state) {
  (void)state;
  assert_rejected("2026-05-17T24:00:00Z");
  assert_rejected("2026-05-17T12:60:00Z");
  assert_rejected("2026-05-17T12:34:61Z");
  assert_rejected("2026-05-17T1:34:56Z");
  assert_rejected("2026-05-17X12:34:56Z");
  assert_rejected("26-05-17T12:34:56Z");
  assert_rejected("2026/05/17T12:34:56Z");
}

static void test_parse_trailing_garbage(void **state) {
  (void)state;
  assert_rejected("2026-05-17T12:34:56Zx");
  assert_rejected("2026-05-17T12:34:56Z ");
  assert_rejected("2026-05-17T12:34:56+02:00:00");
  assert_rejected("2026-05-17T12:34:56ZZ");
}

static void test_parse_empty(void **state) {
  (void)state;
  assert_rejected("");
  assert_rejected("Z");
  assert_rejected("2");
}

static void test_parse_null_outputs(void **state) {
  (void)state;
  assert_int_equal(scw_rfc3339_parse("2026-05-17T12:34:56Z", NULL, NULL, NULL),
                   SCW_OK);
  assert_int_equal(scw_rfc3339_parse("garbage", NULL, NULL, NULL),
                   SCW_ERR_PARSE);
}

static void test_round_trip(void **state) {
  (void)state;
  const int64_t samples[] = {0,
                             -1,
                             T_2000_02_29_235959,
                             T_1900_03_01,
                             T_2023_12_31_235959,
                             T_2024_01_01,
                             T_2024_02_29_12,
                             T_2026_05_17_123456,
                             INT64_C(4102444799) /* 2099-12-31T23:59:59Z */};
  for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
    char buf[SCW_RFC3339_SIZE];
    scw_rfc3339_format(samples[i], buf, sizeof(buf));
    assert_parses(buf, samples[i], 0);
  }
  /* Every hour of a leap day and around it. */
  for (int64_t t = T_2024_02_29_12 - 2 * 86400; t < T_2024_03_01 + 86400;
       t += 3599) {
    char buf[SCW_RFC3339_SIZE];
    scw_rfc3339_format(t, buf, sizeof(buf));
    assert_parses(buf, t, 0);
  }
}

static void test_days_from_civil(void **state) {
  (void)state;
  assert_true(scw_days_from_civil(1970, 1, 1) == 0);
  assert_true(scw_days_from_civil(1969, 12, 31) == -1);
  assert_true(scw_days_from_civil(2024, 1, 1) * 86400 == T_2024_01_01);
  assert_true(scw_days_from_civil(1900, 3, 1) * 86400 == T_1900_03_01);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window_last_second_of_year),
      cmocka_unit_test(test_window_first_second_of_year),
      cmocka_unit_test(test_window_mid_month),
      cmocka_unit_test(test_window_leap_2024),
      cmocka_unit_test(test_window_leap_2000),
      cmocka_unit_test(test_window_non_leap_1900),
      cmocka_unit_test(test_window_before_epoch),
      cmocka_unit_test(test_next_month_start),
      cmocka_unit_test(test_period_of),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_parse_z),
      cmocka_unit_test(test_parse_lowercase),
      cmocka_unit_test(test_parse_fraction_digits),
      cmocka_unit_test(test_parse_fraction_too_long),
      cmocka_unit_test(test_parse_offsets),
      cmocka_unit_test(test_parse_bad_offsets),
      cmocka_unit_test(test_parse_missing_zone),
      cmocka_unit_test(test_parse_invalid_dates),
      cmocka_unit_test(test_parse_invalid_times),
      cmocka_unit_test(test_parse_trailing_garbage),
      cmocka_unit_test(test_parse_empty),
      cmocka_unit_test(test_parse_null_outputs),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_days_from_civil),
  };
  return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
