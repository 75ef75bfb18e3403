/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_naming.c: collectd identifier parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_naming.h"

static void assert_clean(const char *raw, const char *want) {
  char *got = scw_name_clean(raw);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_clean_sku_path(void **state) {
  (void)state;
  assert_clean("/compute/dev1_s/run_par1", "compute-dev1_s-run_par1");
  assert_clean("/block-storage/sbs_5k/storage_par1",
               "block-storage-sbs_5k-storage_par1");
}

static void test_clean_colon_and_dot(void **state) {
  (void)state;
  assert_clean("GP1/XS:v2", "GP1-XS_v2");
  assert_clean("my proj.x", "my_proj_x");
  assert_clean("fr-par/acme-backups", "fr-par-acme-backups");
}

static void test_clean_kept_bytes(void **state) {
  (void)state;
  assert_clean("AZaz09_-", "AZaz09_-");
}

static void test_clean_runs_collapse(void **state) {
  (void)state;
  assert_clean("a  ..::b", "a_b");
  assert_clean("a . b", "a_b");
  /* '/' ends a run: each side gets its own '_'. */
  assert_clean("a. /. b", "a_-_b");
  /* Kept '_' and '-' are not replacement bytes and are not merged. */
  assert_clean("a__b", "a__b");
  assert_clean("a_ b", "a__b");
  assert_clean(" x ", "_x_");
}

static void test_clean_control_chars(void **state) {
  (void)state;
  assert_clean("a\t\n\x01\x1f\x7f" "b", "a_b");
  assert_clean("\r\nevil", "_evil");
}

static void test_clean_utf8(void **state) {
  (void)state;
  /* "é" is two bytes (C3 A9): one run, one '_'. */
  assert_clean("caf\xc3\xa9-prod", "caf_-prod");
  /* "日本" is six bytes. */
  assert_clean("\xe6\x97\xa5\xe6\x9c\xac", "_");
  assert_clean("\xff\xfe", "_");
}

static void test_clean_slashes(void **state) {
  (void)state;
  assert_clean("///a/b///", "a-b");
  assert_clean("/", "");
  assert_clean("//", "");
  assert_clean("a//b", "a--b");
  assert_clean("/ /", "_");
}

static void test_clean_empty(void **state) {
  (void)state;
  assert_clean("", "");
}

static void test_hash_known_values(void **state) {
  (void)state;
  assert_true(scw_hash32("") == 0x811c9dc5u);
  assert_true(scw_hash32("a") == 0xe40c292cu);
  assert_true(scw_hash32("foobar") == 0xbf9cf968u);
  assert_true(scw_hash32("compute") == 0x4463ef7au);
  /* Bytes are hashed unsigned. */
  assert_true(scw_hash32("\xff") != scw_hash32("\x7f"));
}

static void test_fit_short_unchanged(void **state) {
  (void)state;
  char out[SCW_NAME_SIZE + 16];
  memset(out, 'Z', sizeof(out));
  assert_int_equal(scw_name_fit("compute-dev1_s", "raw", out, SCW_NAME_SIZE), 0);
  assert_string_equal(out, "compute-dev1_s");
  assert_int_equal(scw_name_fit("", "raw", out, SCW_NAME_SIZE), 0);
  assert_string_equal(out, "");
}

static void test_fit_exact_boundary(void **state) {
  (void)state;
  char name[SCW_NAME_SIZE + 1];
  char out[SCW_NAME_SIZE + 16];
  /* 127 bytes fit exactly. */
  memset(name, 'n', SCW_NAME_SIZE - 1);
  name[SCW_NAME_SIZE - 1] = '\0';
  assert_int_equal(scw_name_fit(name, name, out, SCW_NAME_SIZE), 0);
  assert_string_equal(out, name);
  /* 128 bytes do not. */
  memset(name, 'n', SCW_NAME_SIZE);
  name[SCW_NAME_SIZE] = '\0';
  memset(out, 'Z', sizeof(out));
  assert_int_equal(scw_name_fit(name, "src", out, SCW_NAME_SIZE), 1);
  assert_int_equal(strlen(out), SCW_NAME_SIZE - 1);
  char want_suffix[16];
  snprintf(want_suffix, sizeof(want_suffix), "-%08x", scw_hash32("src"));
  assert_string_equal(out + SCW_NAME_SIZE - 1 - 9, want_suffix);
  /* Nothing written past the buffer. */
  for (size_t i = SCW_NAME_SIZE; i < sizeof(out); i++)
    assert_int_equal(out[i], 'Z');
}

static void test_fit_long_cut(void **state) {
  (void)state;
  size_t len = 10000;
  char *raw = malloc(len + 1);
  assert_non_null(raw);
  for (size_t i = 0; i < len; i++)
    raw[i] = (char)('a' + i % 26);
  raw[len] = '\0';
  char out[SCW_NAME_SIZE + 16];
  memset(out, 'Z', sizeof(out));
  assert_int_equal(scw_name_fit(raw, raw, out, SCW_NAME_SIZE), 1);
  assert_int_equal(strlen(out), 127);
  assert_int_equal(out[127], '\0');
  /* 118 bytes of the name, then '-' and 8 hex digits of the full raw. */
  assert_memory_equal(out, raw, 118);
  char suffix[16];
  snprintf(suffix, sizeof(suffix), "-%08x", scw_hash32(raw));
  assert_string_equal(out + 118, suffix);
  for (size_t i = SCW_NAME_SIZE; i < sizeof(out); i++)
    assert_int_equal(out[i], 'Z');
  free(raw);
}

static void test_fit_long_names_stay_distinct(void **state) {
  (void)state;
  char a[300], b[300];
  memset(a, 'p', sizeof(a) - 1);
  a[sizeof(a) - 1] = '\0';
  memcpy(b, a, sizeof(b));
  b[sizeof(b) - 2] = 'q'; /* differs only in the last byte */
  char out_a[SCW_NAME_SIZE], out_b[SCW_NAME_SIZE];
  assert_int_equal(scw_name_fit(a, a, out_a, sizeof(out_a)), 1);
  assert_int_equal(scw_name_fit(b, b, out_b, sizeof(out_b)), 1);
  assert_memory_equal(out_a, out_b, 118); /* same prefix */
  assert_string_not_equal(out_a, out_b);
  /* Deterministic. */
  char again[SCW_NAME_SIZE];
  scw_name_fit(a, a, again, sizeof(again));
  assert_string_equal(again, out_a);
}

static void test_add_suffix_short(void **state) {
  (void)state;
  char name[SCW_NAME_SIZE] = "production";
  scw_name_add_suffix(name, sizeof(name), "a");
  assert_string_equal(name, "production-e40c292c");
  char empty[SCW_NAME_SIZE] = "";
  scw_name_add_suffix(empty, sizeof(empty), "");
  assert_string_equal(empty, "-811c9dc5");
}

static void test_add_suffix_cuts_full_name(void **state) {
  (void)state;
  char name[SCW_NAME_SIZE + 8];
  memset(name, 'Z', sizeof(name));
  memset(name, 'x', 120);
  name[120] = '\0';
  scw_name_add_suffix(name, SCW_NAME_SIZE, "a");
  assert_int_equal(strlen(name), 127);
  for (size_t i = 0; i < 118; i++)
    assert_int_equal(name[i], 'x');
  assert_string_equal(name + 118, "-e40c292c");
  for (size_t i = SCW_NAME_SIZE; i < sizeof(name); i++)
    assert_int_equal(name[i], 'Z');

  /* Exactly at the limit: 118 + 9 = 127, nothing cut. */
  memset(name, 'y', 118);
  name[118] = '\0';
  scw_name_add_suffix(name, SCW_NAME_SIZE, "a");
  assert_int_equal(strlen(name), 127);
  assert_string_equal(name + 118, "-e40c292c");
}

static void test_add_suffix_small_buffer(void **state) {
  (void)state;
  char buf[16];
  memset(buf, 'Z', sizeof(buf));
  memcpy(buf, "abcdef", 7);
  scw_name_add_suffix(buf, 12, "a");
  assert_string_equal(buf, "ab-e40c292c");
  for (size_t i = 12; i < sizeof(buf); i++)
    assert_int_equal(buf[i], 'Z');
}


static void test_add_hash(void **state) {
  (void)state;
  char name[SCW_NAME_SIZE] = "web", want[SCW_NAME_SIZE];
  scw_name_add_hash(name, sizeof(name), 0xdeadbeefu);
  assert_string_equal(name, "web-deadbeef");
  /* add_suffix is add_hash of the FNV hash. */
  snprintf(name, sizeof(name), "web");
  scw_name_add_suffix(name, sizeof(name), "p1");
  snprintf(want, sizeof(want), "web");
  scw_name_add_hash(want, sizeof(want), scw_hash32("p1"));
  assert_string_equal(name, want);
}

/* Labels read back from outside must be ones the rule can produce. */
static void test_is_label(void **state) {
  (void)state;
  assert_true(scw_name_is_label("compute-dev1_s-run_par1", 0));
  assert_true(scw_name_is_label("AZaz09_-", 0));
  assert_true(scw_name_is_label("", 1));
  assert_false(scw_name_is_label("", 0));
  assert_false(scw_name_is_label("a b", 1));
  assert_false(scw_name_is_label("a/b", 1));
  assert_false(scw_name_is_label("a.b", 1));
  assert_false(scw_name_is_label("caf\xc3\xa9", 1));
  char s[SCW_NAME_SIZE + 1];
  memset(s, 'x', SCW_NAME_SIZE - 1);
  s[SCW_NAME_SIZE - 1] = '\0';
  assert_true(scw_name_is_label(s, 0)); /* 127 bytes: fits */
  s[SCW_NAME_SIZE - 1] = 'x';
  s[SCW_NAME_SIZE] = '\0';
  assert_false(scw_name_is_label(s, 0)); /* 128 bytes: does not */
  /* Whatever the rule makes is a label. */
  const char *raws[] = {"/compute/dev1_s/run_par1", "my proj.x", "GP1/XS:v2"};
  for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
    char *clean = scw_name_clean(raws[i]);
    assert_true(scw_name_is_label(clean, 0));
    free(clean);
  }
}

static void test_meta_safe(void **state) {
  (void)state;
  char buf[16];
  assert_int_equal(scw_meta_safe("web\n1\t\x7f", buf, sizeof(buf)), 0);
  assert_string_equal(buf, "web?1??");
  /* UTF-8 is kept... */
  assert_int_equal(scw_meta_safe("caf\xc3\xa9", buf, sizeof(buf)), 0);
  assert_string_equal(buf, "caf\xc3\xa9");
  /* ...and a cut never splits a character: 14 bytes fit, the 3-byte euro
   * sign at bytes 13..15 does not. */
  assert_int_equal(scw_meta_safe("abcdefghijklm\xe2\x82\xac", buf, sizeof(buf)), 1);
  assert_string_equal(buf, "abcdefghijklm");
  assert_int_equal(scw_meta_safe("abcdefghijklmnopq", buf, sizeof(buf)), 1);
  assert_string_equal(buf, "abcdefghijklmno");
  /* Broken UTF-8: stray continuation, truncated sequence, overlong '/',
   * surrogate, beyond U+10FFFF: one '?' per byte. */
  assert_int_equal(scw_meta_safe("a\x80" "b\xc3", buf, sizeof(buf)), 0);
  assert_string_equal(buf, "a?b?");
  assert_int_equal(scw_meta_safe("\xc0\xaf\xed\xa0\x80", buf, sizeof(buf)), 0);
  assert_string_equal(buf, "?????");
  assert_int_equal(scw_meta_safe("\xf4\x90\x80\x80\xf0\x9f\x98\x80", buf, sizeof(buf)), 0);
  assert_string_equal(buf, "????\xf0\x9f\x98\x80");
}

static void test_log_safe(void **state) {
  (void)state;
  char buf[32];
  scw_log_safe("ok\r\nFAKE [error] caf\xc3\xa9", buf, sizeof(buf));
  assert_string_equal(buf, "ok??FAKE [error] caf??");
  scw_log_safe("abcdef", buf, 4);
  assert_string_equal(buf, "abc");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_sku_path),
      cmocka_unit_test(test_clean_colon_and_dot),
      cmocka_unit_test(test_clean_kept_bytes),
      cmocka_unit_test(test_clean_runs_collapse),
      cmocka_unit_test(test_clean_control_chars),
      cmocka_unit_test(test_clean_utf8),
      cmocka_unit_test(test_clean_slashes),
      cmocka_unit_test(test_clean_empty),
      cmocka_unit_test(test_hash_known_values),
      cmocka_unit_test(test_fit_short_unchanged),
      cmocka_unit_test(test_fit_exact_boundary),
      cmocka_unit_test(test_fit_long_cut),
      cmocka_unit_test(test_fit_long_names_stay_distinct),
      cmocka_unit_test(test_add_suffix_short),
      cmocka_unit_test(test_add_suffix_cuts_full_name),
      cmocka_unit_test(test_add_suffix_small_buffer),
      cmocka_unit_test(test_add_hash),
      cmocka_unit_test(test_is_label),
      cmocka_unit_test(test_meta_safe),
      cmocka_unit_test(test_log_safe),
  };
  return cmocka_run_group_tests_name("naming", tests, NULL, NULL);
}
