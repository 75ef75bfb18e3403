/* SPDX-License-Identifier: MIT */
/* fuzz_money.c - libFuzzer target for the exact money code. Every result is
 * recomputed independently in __int128, where no int64 sum or product can
 * overflow, so "fails iff out of range" is checked exactly.
 *
 * Input: bytes 0..15 are (units, nanos) as two int64 and also the operands of
 * scw_money_add; the whole input, NUL-terminated, is a `units` string. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_money.h"
#include "fuzz_check.h"


static int fits(__int128 v) { return v >= INT64_MIN && v <= INT64_MAX; }

/* Reads back "[-]I.FFFFFFFFF" (I without leading zeros, exactly 9 F). */
static __int128 parse_formatted(const char *s) {
  int neg = *s == '-';
  const char *p = s + neg;
  __int128 v = 0;
  CHECK(*p >= '0' && *p <= '9' && !(p[0] == '0' && p[1] != '.'));
  for (; *p >= '0' && *p <= '9'; p++)
    v = v * 10 + (*p - '0');
  CHECK(*p++ == '.');
  for (int i = 0; i < 9; i++, p++) {
    CHECK(*p >= '0' && *p <= '9');
    v = v * 10 + (*p - '0');
  }
  CHECK(*p == '\0');
  CHECK(!neg || v != 0); /* no "-0.000000000" */
  return neg ? -v : v;
}

static void check_format(int64_t v) {
  char buf[22]; /* the documented size: must hold INT64_MIN */
  scw_money_format(v, buf, sizeof(buf));
  CHECK(parse_formatted(buf) == v); /* also fails if the text was cut */
  /* The double is the nearest one, within rounding of two operations. */
  long double exact = (long double)v / 1e9L;
  double d = scw_money_to_double(v);
  CHECK(fabsl((long double)d - exact) <= fabsl(exact) * 4e-16L + 1e-300L);
}

static void check_parts(int64_t units, int64_t nanos) {
  __int128 exact = (__int128)units * SCW_NANOS_PER_UNIT + nanos;
  scw_rc_t want = SCW_OK;
  if (nanos > 999999999 || nanos < -999999999 || (units > 0 && nanos < 0) ||
      (units < 0 && nanos > 0))
    want = SCW_ERR_PARSE;
  else if (!fits(exact))
    want = SCW_ERR_OVERFLOW;
  int64_t out = 42;
  scw_error_t err = {.rc = SCW_OK, .msg = ""};
  scw_rc_t rc = scw_money_from_parts(units, nanos, &out, &err);
  CHECK(rc == want);
  if (rc != SCW_OK) {
    CHECK(err.rc == rc && err.msg[0] != '\0');
    return;
  }
  CHECK(out == exact);
  check_format(out);
}

static void check_add(int64_t acc, int64_t v) {
  __int128 exact = (__int128)acc + v;
  int64_t a = acc;
  scw_rc_t rc = scw_money_add(&a, v, NULL);
  if (fits(exact))
    CHECK(rc == SCW_OK && a == exact);
  else
    CHECK(rc == SCW_ERR_OVERFLOW && a == acc); /* unchanged on failure */
}

/* The grammar is "-?[0-9]+" within int64; the value is recomputed here. */
static void check_units_string(const char *s) {
  const char *p = s + (*s == '-');
  size_t n = strlen(p);
  if (n == 0 || strspn(p, "0123456789") != n) {
    CHECK(scw_money_parse_units(s, &(int64_t){0}, NULL) == SCW_ERR_PARSE);
    return;
  }
  __int128 v = 0;
  int big = 0;
  for (size_t i = 0; i < n && !big; i++) {
    v = v * 10 + (p[i] - '0');
    big = v > (__int128)INT64_MAX + 1; /* stop before __int128 overflows */
  }
  if (*s == '-')
    v = -v;
  scw_rc_t want = big || !fits(v) ? SCW_ERR_OVERFLOW : SCW_OK;
  int64_t out = 42;
  scw_rc_t rc = scw_money_parse_units(s, &out, NULL);
  CHECK(rc == want);
  CHECK(rc != SCW_OK || out == v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 16) {
    int64_t a, b;
    memcpy(&a, data, 8);
    memcpy(&b, data + 8, 8);
    check_parts(a, b);
    /* Raw int64 pairs almost always fail the range checks: also try them
     * folded into the interesting range (|units| around the 9.2e9 limit,
     * |nanos| < 1e9) so success paths and the exact boundary are reached. */
    check_parts(a % INT64_C(10000000000), b % SCW_NANOS_PER_UNIT);
    check_parts(a % INT64_C(10000000000),
                (a < 0 ? -1 : 1) * llabs(b % SCW_NANOS_PER_UNIT));
    check_add(a, b);
    check_format(a);
  }
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  check_units_string(s);
  free(s);
  return 0;
}
