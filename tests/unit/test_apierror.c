/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_apierror.c: one log-safe line per API error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_apierror.h"

#define ORG "3f0e8c2a-1b4d-4c6e-8f10-a2b3c4d5e6f7"

static char out[1024];

static const char *describe(long status, const char *body) {
  memset(out, 'Z', sizeof(out));
  scw_api_error_describe(status, body, body ? strlen(body) : 0, ORG, out,
                         sizeof(out));
  return out;
}

/* Printable ASCII only, NUL-terminated within the buffer. */
static void assert_log_safe(const char *s, size_t size) {
  size_t n = strnlen(s, size);
  assert_true(n < size);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
      fail_msg("byte 0x%02x at %zu in \"%s\"", (unsigned char)s[i], i, s);
}

#define assert_contains(hay, needle)                                          \
  do {                                                                        \
    if (strstr((hay), (needle)) == NULL)                                      \
      fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));           \
  } while (0)
#define assert_lacks(hay, needle)                                             \
  do {                                                                        \
    if (strstr((hay), (needle)) != NULL)                                      \
      fail_msg("\"%s\" contains \"%s\"", (hay), (needle));                    \
  } while (0)

static void test_400_invalid_arguments(void **state) {
  (void)state;
  const char *s = describe(
      400, "{\"details\":[{\"argument_name\":\"project_id\",\"help_message\":"
           "\"value must be a valid UUID\",\"reason\":\"format\"}],\"message\":"
           "\"invalid argument(s)\",\"type\":\"invalid_arguments\"}");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 400", 8) == 0);
  assert_contains(s, "invalid_arguments");
  assert_contains(s, "invalid argument(s)");
  assert_contains(s, "argument project_id");
  assert_contains(s, "value must be a valid UUID");
  assert_contains(s, "format");
  assert_lacks(s, "non-JSON");
}

static void test_400_without_details(void **state) {
  (void)state;
  const char *s = describe(400, "{\"message\":\"bad\",\"type\":\"invalid_arguments\","
                                "\"details\":[]}");
  assert_contains(s, "HTTP 400 invalid_arguments: bad");
  assert_lacks(s, "argument ");
  s = describe(400, "{\"type\":\"invalid_arguments\",\"details\":[{\"reason\":"
                    "\"required\"}]}");
  assert_contains(s, "HTTP 400 invalid_arguments");
  s = describe(400, "{\"details\":\"oops\"}");
  assert_contains(s, "HTTP 400");
}

static void test_401(void **state) {
  (void)state;
  const char *s = describe(
      401, "{\"message\":\"authentication is denied\",\"method\":\"api_key\","
           "\"reason\":\"not_found\",\"type\":\"denied_authentication\"}");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 401", 8) == 0);
  assert_contains(s, "denied_authentication");
  assert_contains(s, "authentication is denied");
  assert_contains(s, "not_found");
  assert_contains(s, "secret key");
}

static void test_403(void **state) {
  (void)state;
  const char *s = describe(
      403, "{\"details\":[{\"action\":\"read\",\"resource\":\"api_key\"}],"
           "\"message\":\"insufficient permissions\",\"type\":\"permissions_denied\"}");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 403", 8) == 0);
  assert_contains(s, "permissions_denied");
  assert_contains(s, "insufficient permissions");
  assert_contains(s, "BillingReadOnly");
  assert_contains(s, ORG);
}

static void test_404(void **state) {
  (void)state;
  const char *s = describe(
      404, "{\"resource\":\"instance_server\",\"resource_id\":"
           "\"0d6a4f2e-9c1b-4e7a-b3d5-8f2e1c0a9b74\",\"type\":\"not_found\"}");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 404", 8) == 0);
  assert_contains(s, "not_found");
  assert_contains(s, "URL");
  s = describe(404, "404 page not found\n");
  assert_contains(s, "HTTP 404");
  assert_contains(s, "non-JSON body");
  assert_contains(s, "URL");
}

static void test_429(void **state) {
  (void)state;
  const char *s = describe(
      429, "{\"type\":\"too_many_requests\",\"help_message\":\"slow down\","
           "\"limit\":{\"quota\":3,\"window_seconds\":60},\"reset_seconds\":13,"
           "\"reset_at\":\"2022-05-23T15:00:00.01Z\"}");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 429", 8) == 0);
  assert_contains(s, "too_many_requests");
  assert_contains(s, "slow down");
  assert_contains(s, "rate limited");
}

static void test_500_html(void **state) {
  (void)state;
  const char *s = describe(
      500, "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n"
           "<body>\n<h1>oops</h1>\n</body>\n</html>\n");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 500", 8) == 0);
  assert_contains(s, "non-JSON body");
  assert_contains(s, "server-side");
  s = describe(502, "Bad Gateway");
  assert_contains(s, "HTTP 502");
  assert_contains(s, "non-JSON body");
}

static void test_empty_body(void **state) {
  (void)state;
  const char *s = describe(503, "");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 503", 8) == 0);
  assert_lacks(s, "non-JSON");
  assert_contains(s, "server-side");
  s = describe(500, NULL);
  assert_true(strncmp(s, "HTTP 500", 8) == 0);
  assert_lacks(s, "non-JSON");
}

static void test_unknown_status(void **state) {
  (void)state;
  const char *s = describe(418, "{\"message\":\"teapot\",\"type\":\"precondition_failed\"}");
  assert_log_safe(s, sizeof(out));
  assert_string_equal(s, "HTTP 418 precondition_failed: teapot");
  s = describe(412, "{}");
  assert_string_equal(s, "HTTP 412");
}

static void test_control_characters(void **state) {
  (void)state;
  /* JSON escapes decode into raw control bytes: none may reach the log. */
  const char *s = describe(
      400, "{\"type\":\"x\\ny\",\"message\":\"line1\\r\\n2026-01-01 [error] "
           "forged\\u001b[31m\\t\\u007f\\u0080caf\\u00e9\","
           "\"details\":[{\"argument_name\":\"a\\nb\",\"help_message\":\"h\\r\","
           "\"reason\":\"r\\u0001\"}]}");
  assert_log_safe(s, sizeof(out));
  assert_contains(s, "line1??2026-01-01 [error] forged?[31m");
  assert_contains(s, "argument a?b");
  /* Raw control bytes in a non-JSON body are not echoed either. */
  s = describe(500, "bad\r\nINJECTED line\x1b\x7f\xff");
  assert_log_safe(s, sizeof(out));
  assert_lacks(s, "INJECTED");
  /* Raw bytes inside a JSON string are rejected or replaced, never kept. */
  s = describe(400, "{\"message\":\"a\x01\x7f\xc3\xa9z\"}");
  assert_log_safe(s, sizeof(out));
}

static void test_json_array_body(void **state) {
  (void)state;
  const char *s = describe(400, "[{\"message\":\"hidden\",\"type\":\"t\"}]");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 400", 8) == 0);
  assert_lacks(s, "hidden");
  s = describe(500, "\"just a string\"");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 500", 8) == 0);
  s = describe(500, "42");
  assert_true(strncmp(s, "HTTP 500", 8) == 0);
  s = describe(500, "null");
  assert_true(strncmp(s, "HTTP 500", 8) == 0);
}

static void test_wrong_field_types(void **state) {
  (void)state;
  const char *s = describe(400, "{\"type\":42,\"message\":[\"m\"],\"reason\":{},"
                                "\"details\":[42]}");
  assert_log_safe(s, sizeof(out));
  assert_true(strncmp(s, "HTTP 400", 8) == 0);
  assert_lacks(s, "42");
}

static void test_body_by_length(void **state) {
  (void)state;
  /* Only len bytes are read: the body need not be NUL-terminated. */
  char body[64];
  memset(body, 'X', sizeof(body));
  const char *json = "{\"message\":\"m1\",\"type\":\"t1\"}";
  memcpy(body, json, strlen(json));
  scw_api_error_describe(409, body, strlen(json), ORG, out, sizeof(out));
  assert_string_equal(out, "HTTP 409 t1: m1");
}

static void test_output_bounded(void **state) {
  (void)state;
  size_t n = 20000;
  char *body = malloc(n + 64);
  assert_non_null(body);
  static const char head[] = "{\"type\":\"t\",\"message\":\"";
  size_t off = sizeof(head) - 1;
  memcpy(body, head, off);
  memset(body + off, 'm', n);
  memcpy(body + off + n, "\"}", 3);
  char small[40];
  memset(small, 'Z', sizeof(small));
  scw_api_error_describe(500, body, strlen(body), ORG, small, 32);
  assert_int_equal(strlen(small), 31);
  assert_true(strncmp(small, "HTTP 500 t: mmm", 15) == 0);
  for (size_t i = 32; i < sizeof(small); i++)
    assert_int_equal(small[i], 'Z');
  scw_api_error_describe(500, body, strlen(body), ORG, out, sizeof(out));
  assert_log_safe(out, sizeof(out));
  assert_true(strncmp(out, "HTTP 500 t: mmm", 15) == 0);
  /* size 1: just the terminator; size 0: nothing written. */
  small[0] = 'Z';
  scw_api_error_describe(500, body, strlen(body), ORG, small, 1);
  assert_int_equal(small[0], '\0');
  small[0] = 'Z';
  scw_api_error_describe(500, body, strlen(body), ORG, small, 0);
  assert_int_equal(small[0], 'Z');
  free(body);
}

static void test_log_safe(void **state) {
  (void)state;
  char buf[64];
  scw_log_safe("plain text: ok (1/2)", buf, sizeof(buf));
  assert_string_equal(buf, "plain text: ok (1/2)");
  scw_log_safe("a\nb\rc\td\x01\x1f\x7f" "e\x80\xff" "caf\xc3\xa9", buf, sizeof(buf));
  assert_string_equal(buf, "a?b?c?d???e??caf??");
  scw_log_safe("", buf, sizeof(buf));
  assert_string_equal(buf, "");
  memset(buf, 'Z', sizeof(buf));
  scw_log_safe("abcdef", buf, 4);
  assert_string_equal(buf, "abc");
  assert_int_equal(buf[4], 'Z');
  memset(buf, 'Z', sizeof(buf));
  scw_log_safe("abcdef", buf, 1);
  assert_int_equal(buf[0], '\0');
  assert_int_equal(buf[1], 'Z');
  memset(buf, 'Z', sizeof(buf));
  scw_log_safe("abcdef", buf, 0);
  assert_int_equal(buf[0], 'Z');
  /* Space and '~' are the printable bounds. */
  scw_log_safe(" ~", buf, sizeof(buf));
  assert_string_equal(buf, " ~");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_400_invalid_arguments),
      cmocka_unit_test(test_400_without_details),
      cmocka_unit_test(test_401),
      cmocka_unit_test(test_403),
      cmocka_unit_test(test_404),
      cmocka_unit_test(test_429),
      cmocka_unit_test(test_500_html),
      cmocka_unit_test(test_empty_body),
      cmocka_unit_test(test_unknown_status),
      cmocka_unit_test(test_control_characters),
      cmocka_unit_test(test_json_array_body),
      cmocka_unit_test(test_wrong_field_types),
      cmocka_unit_test(test_body_by_length),
      cmocka_unit_test(test_output_bounded),
      cmocka_unit_test(test_log_safe),
  };
  return cmocka_run_group_tests_name("apierror", tests, NULL, NULL);
}
