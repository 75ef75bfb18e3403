/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_money.c: exact nano-unit money. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "scw_money.h"

static void test_parts_positive(void **state) {
  (void)state;
  int64_t v;
  assert_int_equal(scw_money_from_parts(12, 340000000, &v, NULL), SCW_OK);
  assert_true(v == INT64_C(12340000000));
}

static void test_parts_negative_same_sign(void **state) {
  (void)state;
  int64_t v;
  assert_int_equal(scw_money_from_parts(-1, -750000000, &v, NULL), SCW_OK);
  assert_true(v == INT64_C(-1750000000));
  assert_int_equal(scw_money_from_parts(0, -5, &v, NULL), SCW_OK);
  assert_true(v == -5);
}

static void test_parts_sign_mismatch(void **state) {
  (void)state;
  int64_t v = 42;
  scw_error_t err = {0};
  assert_int_equal(scw_money_from_parts(1, -1, &v, &err), SCW_ERR_PARSE);
  assert_non_null(strstr(err.msg, "sign"));
  assert_int_equal(scw_money_from_parts(-1, 1, &v, NULL), SCW_ERR_PARSE);
}

static void test_parts_nanos_range(void **state) {
  (void)state;
  int64_t v;
  assert_int_equal(scw_money_from_parts(0, 999999999, &v, NULL), SCW_OK);
  assert_int_equal(scw_money_from_parts(0, 1000000000, &v, NULL), SCW_ERR_PARSE);
  assert_int_equal(scw_money_from_parts(0, -1000000000, &v, NULL), SCW_ERR_PARSE);
}

static void test_parts_huge_units(void **state) {
  (void)state;
  int64_t v;
  /* 9223372036 units is the largest that fits in int64 nanos. */
  assert_int_equal(scw_money_from_parts(9223372036, 854775807, &v, NULL), SCW_OK);
  assert_true(v == INT64_MAX);
  assert_int_equal(scw_money_from_parts(9223372036, 854775808, &v, NULL),
                   SCW_ERR_OVERFLOW);
  assert_int_equal(scw_money_from_parts(9223372037, 0, &v, NULL), SCW_ERR_OVERFLOW);
  assert_int_equal(scw_money_from_parts(INT64_MAX, 0, &v, NULL), SCW_ERR_OVERFLOW);
  assert_int_equal(scw_money_from_parts(INT64_MIN, 0, &v, NULL), SCW_ERR_OVERFLOW);
}

static void test_units_string(void **state) {
  (void)state;
  int64_t v;
  assert_int_equal(scw_money_parse_units("12", &v, NULL), SCW_OK);
  assert_true(v == 12);
  assert_int_equal(scw_money_parse_units("-3", &v, NULL), SCW_OK);
  assert_true(v == -3);
  assert_int_equal(scw_money_parse_units("", &v, NULL), SCW_ERR_PARSE);
  assert_int_equal(scw_money_parse_units("-", &v, NULL), SCW_ERR_PARSE);
  assert_int_equal(scw_money_parse_units("1.5", &v, NULL), SCW_ERR_PARSE);
  assert_int_equal(scw_money_parse_units(" 1", &v, NULL), SCW_ERR_PARSE);
  assert_int_equal(scw_money_parse_units("1e3", &v, NULL), SCW_ERR_PARSE);
  assert_int_equal(scw_money_parse_units("99999999999999999999", &v, NULL),
                   SCW_ERR_OVERFLOW);
}

static void test_add_carry_and_overflow(void **state) {
  (void)state;
  int64_t acc = 999999999; /* 0.999999999 */
  assert_int_equal(scw_money_add(&acc, 1, NULL), SCW_OK);
  assert_true(acc == SCW_NANOS_PER_UNIT);
  acc = INT64_MAX - 1;
  assert_int_equal(scw_money_add(&acc, 2, NULL), SCW_ERR_OVERFLOW);
  assert_true(acc == INT64_MAX - 1); /* unchanged on failure */
}

static void test_format(void **state) {
  (void)state;
  char buf[32];
  scw_money_format(INT64_C(12340000000), buf, sizeof(buf));
  assert_string_equal(buf, "12.340000000");
  scw_money_format(INT64_C(-5250000000), buf, sizeof(buf));
  assert_string_equal(buf, "-5.250000000");
  scw_money_format(-1, buf, sizeof(buf));
  assert_string_equal(buf, "-0.000000001");
  scw_money_format(INT64_MIN, buf, sizeof(buf));
  assert_string_equal(buf, "-9223372036.854775808");
}

static void test_to_double(void **state) {
  (void)state;
  /* 0.1 + 0.2 in nanos is exact: the double is the nearest to 0.3. */
  assert_true(scw_money_to_double(300000000) == 0.3);
  assert_true(scw_money_to_double(INT64_C(-1750000000)) == -1.75);
  assert_true(scw_money_to_double(INT64_C(123456789012345678)) ==
              123456789.012345678);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parts_positive),
      cmocka_unit_test(test_parts_negative_same_sign),
      cmocka_unit_test(test_parts_sign_mismatch),
      cmocka_unit_test(test_parts_nanos_range),
      cmocka_unit_test(test_parts_huge_units),
      cmocka_unit_test(test_units_string),
      cmocka_unit_test(test_add_carry_and_overflow),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_to_double),
  };
  return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
