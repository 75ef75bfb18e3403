/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_charge.c: parsing one ListCharges page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_charge.h"

/* ---- a callback that records copies of what it was given --------------- */

#define MAX_SEEN 16

typedef struct {
  char *project_id, *project_name, *sku, *resource_id, *resource_name,
      *currency;
  int64_t nanos;
} seen_charge_t;

typedef struct {
  seen_charge_t c[MAX_SEEN];
  size_t n;
  size_t fail_at;   /* return fail_rc on this call (1-based); 0 = never */
  scw_rc_t fail_rc;
} recorder_t;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static scw_rc_t record(void *ctx, const scw_charge_t *c, scw_error_t *err) {
  recorder_t *r = ctx;
  assert_true(r->n < MAX_SEEN);
  assert_non_null(c->project_id);
  assert_non_null(c->sku);
  assert_non_null(c->resource_id);
  assert_non_null(c->currency);
  seen_charge_t *s = &r->c[r->n++];
  s->project_id = strdup(c->project_id);
  s->project_name = dup_or_null(c->project_name);
  s->sku = strdup(c->sku);
  s->resource_id = strdup(c->resource_id);
  s->resource_name = dup_or_null(c->resource_name);
  s->currency = strdup(c->currency);
  s->nanos = c->nanos;
  if (r->fail_at != 0 && r->n == r->fail_at)
    return scw_fail(err, r->fail_rc, "callback refused charge %zu", r->n);
  return SCW_OK;
}

static void recorder_clear(recorder_t *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->c[i].project_id);
    free(r->c[i].project_name);
    free(r->c[i].sku);
    free(r->c[i].resource_id);
    free(r->c[i].resource_name);
    free(r->c[i].currency);
  }
  memset(r, 0, sizeof(*r));
}

/* ---- fixtures ----------------------------------------------------------- */

typedef struct {
  scw_page_parser_t *parser;
  recorder_t rec;
  char *token;
  size_t n;
  scw_error_t err;
} fx_t;

static int setup(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  if (fx == NULL)
    return -1;
  fx->parser = scw_page_parser_new();
  if (fx->parser == NULL) {
    free(fx);
    return -1;
  }
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fx_t *fx = *state;
  recorder_clear(&fx->rec);
  free(fx->token);
  scw_page_parser_free(fx->parser);
  free(fx);
  return 0;
}

/* Parses a NUL-terminated body (without the NUL) into the fixture. */
static scw_rc_t parse(fx_t *fx, const char *body) {
  recorder_clear(&fx->rec);
  free(fx->token);
  fx->token = (char *)0x1; /* must be overwritten */
  fx->n = 12345;
  memset(&fx->err, 0, sizeof(fx->err));
  return scw_page_parse(fx->parser, body, strlen(body), record, &fx->rec,
                        &fx->token, &fx->n, &fx->err);
}

/* A failed parse: rc and err.rc as expected, token NULL, n 0. */
static void assert_parse_fails(fx_t *fx, const char *body, scw_rc_t want) {
  scw_rc_t rc = parse(fx, body);
  if (rc != want)
    fail_msg("rc %d (%s), want %d, for: %s", (int)rc, fx->err.msg, (int)want,
             body);
  assert_int_equal(fx->err.rc, want);
  assert_true(fx->err.msg[0] != '\0');
  assert_null(fx->token);
  /* n counts the charges handed to the callback before the failure. */
  assert_int_equal(fx->n, fx->rec.n);
}

/* One charge with a given price object (or NULL for none) and extras. */
#define CHARGE_WITH(extra)                                                    \
  "{\"charges\":[{\"project_id\":\"p1\",\"sku\":\"/s/1\"" extra "}]}"

/* The example page of finops-api.md section 6, verbatim. */
static const char spec_page[] =
    "{\n"
    "  \"charges\": [\n"
    "    {\n"
    "      \"organization_id\": \"3f0e8c2a-1b4d-4c6e-8f10-a2b3c4d5e6f7\",\n"
    "      \"organization_name\": \"Acme SAS\",\n"
    "      \"project_id\": \"7c1e2b1a-5d3f-4e8a-9b0c-2f4d6a8e0b13\",\n"
    "      \"project_name\": \"production\",\n"
    "      \"sku\": \"/compute/dev1_s/run_par1\",\n"
    "      \"invoice_id\": \"b91f7d2e-0a6c-4f3b-8e21-5c4d3b2a1f09\",\n"
    "      \"resource_id\": \"0d6a4f2e-9c1b-4e7a-b3d5-8f2e1c0a9b74\",\n"
    "      \"resource_name\": \"web-1\",\n"
    "      \"price\": {\"currency_code\": \"EUR\", \"units\": 0, \"nanos\": 844800000},\n"
    "      \"start_date\": \"2026-04-26T00:00:00Z\",\n"
    "      \"end_date\": \"2026-04-29T23:59:59Z\",\n"
    "      \"updated_at\": \"2026-05-02T03:12:45.482913Z\"\n"
    "    },\n"
    "    {\n"
    "      \"organization_id\": \"3f0e8c2a-1b4d-4c6e-8f10-a2b3c4d5e6f7\",\n"
    "      \"organization_name\": \"Acme SAS\",\n"
    "      \"project_id\": \"7c1e2b1a-5d3f-4e8a-9b0c-2f4d6a8e0b13\",\n"
    "      \"project_name\": \"production\",\n"
    "      \"sku\": \"/block-storage/sbs_5k/storage_par1\",\n"
    "      \"invoice_id\": \"b91f7d2e-0a6c-4f3b-8e21-5c4d3b2a1f09\",\n"
    "      \"resource_id\": \"5e2c7a90-3f1d-4b8e-a6c2-1d0f9e8b7a65\",\n"
    "      \"price\": {\"currency_code\": \"EUR\", \"units\": 0, \"nanos\": 211200000},\n"
    "      \"start_date\": \"2026-04-26T00:00:00Z\",\n"
    "      \"end_date\": \"2026-04-29T23:59:59Z\",\n"
    "      \"updated_at\": \"2026-05-02T03:12:45.482913Z\"\n"
    "    },\n"
    "    {\n"
    "      \"organization_id\": \"3f0e8c2a-1b4d-4c6e-8f10-a2b3c4d5e6f7\",\n"
    "      \"organization_name\": \"Acme SAS\",\n"
    "      \"project_id\": \"7c1e2b1a-5d3f-4e8a-9b0c-2f4d6a8e0b13\",\n"
    "      \"project_name\": \"production\",\n"
    "      \"sku\": \"/object-storage/multi_az_standard/storage_par\",\n"
    "      \"invoice_id\": \"b91f7d2e-0a6c-4f3b-8e21-5c4d3b2a1f09\",\n"
    "      \"resource_id\": \"fr-par/acme-backups\",\n"
    "      \"resource_name\": null,\n"
    "      \"price\": {\"currency_code\": \"EUR\", \"units\": 1, \"nanos\": 250000000},\n"
    "      \"start_date\": \"2026-04-26T00:00:00Z\",\n"
    "      \"end_date\": \"2026-04-29T23:59:59Z\",\n"
    "      \"updated_at\": \"2026-05-02T02:58:10Z\"\n"
    "    }\n"
    "  ],\n"
    "  \"next_page_token\": \"CgwI8K7yzgYQgJTr3AMSJDBkNmE0ZjJlLTljMWIt\"\n"
    "}";

#define PID "7c1e2b1a-5d3f-4e8a-9b0c-2f4d6a8e0b13"

/* ---- tests -------------------------------------------------------------- */

static void test_spec_page(void **state) {
  fx_t *fx = *state;
  assert_int_equal(parse(fx, spec_page), SCW_OK);
  assert_int_equal(fx->n, 3);
  assert_int_equal(fx->rec.n, 3);
  assert_string_equal(fx->token, "CgwI8K7yzgYQgJTr3AMSJDBkNmE0ZjJlLTljMWIt");

  seen_charge_t *c = fx->rec.c;
  assert_string_equal(c[0].project_id, PID);
  assert_string_equal(c[0].project_name, "production");
  assert_string_equal(c[0].sku, "/compute/dev1_s/run_par1");
  assert_string_equal(c[0].resource_id, "0d6a4f2e-9c1b-4e7a-b3d5-8f2e1c0a9b74");
  assert_string_equal(c[0].resource_name, "web-1");
  assert_string_equal(c[0].currency, "EUR");
  assert_true(c[0].nanos == INT64_C(844800000));

  assert_string_equal(c[1].sku, "/block-storage/sbs_5k/storage_par1");
  assert_string_equal(c[1].resource_id, "5e2c7a90-3f1d-4b8e-a6c2-1d0f9e8b7a65");
  assert_null(c[1].resource_name); /* absent */
  assert_true(c[1].nanos == INT64_C(211200000));

  assert_string_equal(c[2].sku, "/object-storage/multi_az_standard/storage_par");
  assert_string_equal(c[2].resource_id, "fr-par/acme-backups");
  assert_null(c[2].resource_name); /* null */
  assert_string_equal(c[2].currency, "EUR");
  assert_true(c[2].nanos == INT64_C(1250000000));
}

static void test_spec_page_trailing_newline(void **state) {
  fx_t *fx = *state;
  /* Servers commonly end a body with a newline: whitespace is not garbage. */
  size_t len = strlen(spec_page);
  char *body = malloc(len + 3);
  assert_non_null(body);
  memcpy(body, spec_page, len);
  memcpy(body + len, "\r\n", 3);
  fx->token = NULL;
  scw_rc_t rc = scw_page_parse(fx->parser, body, len + 2, record, &fx->rec,
                               &fx->token, &fx->n, &fx->err);
  free(body);
  if (rc != SCW_OK)
    fail_msg("rc %d: %s", (int)rc, fx->err.msg);
  assert_int_equal(fx->n, 3);
  assert_non_null(fx->token);
}

static void test_not_nul_terminated(void **state) {
  fx_t *fx = *state;
  /* The body is parsed by length: bytes after len are not looked at. */
  const char body[] = "{\"charges\":[]}GARBAGE";
  fx->token = (char *)0x1;
  assert_int_equal(scw_page_parse(fx->parser, body, 14, record, &fx->rec,
                                  &fx->token, &fx->n, &fx->err),
                   SCW_OK);
  assert_null(fx->token);
  assert_int_equal(fx->n, 0);
}

static void test_optional_names(void **state) {
  fx_t *fx = *state;
  /* resource_name and project_name absent, null or "": all NULL. */
  assert_int_equal(parse(fx, CHARGE_WITH("")), SCW_OK);
  assert_int_equal(fx->rec.n, 1);
  assert_null(fx->rec.c[0].project_name);
  assert_null(fx->rec.c[0].resource_name);
  assert_string_equal(fx->rec.c[0].resource_id, ""); /* absent -> "" */

  assert_int_equal(parse(fx, CHARGE_WITH(",\"project_name\":null,"
                                         "\"resource_name\":null,"
                                         "\"resource_id\":null")),
                   SCW_OK);
  assert_null(fx->rec.c[0].project_name);
  assert_null(fx->rec.c[0].resource_name);
  assert_string_equal(fx->rec.c[0].resource_id, "");

  assert_int_equal(parse(fx, CHARGE_WITH(",\"project_name\":\"\","
                                         "\"resource_name\":\"\"")),
                   SCW_OK);
  assert_null(fx->rec.c[0].project_name);
  assert_null(fx->rec.c[0].resource_name);
}

static void test_price_absent(void **state) {
  fx_t *fx = *state;
  assert_int_equal(parse(fx, CHARGE_WITH("")), SCW_OK);
  assert_int_equal(fx->rec.n, 1);
  assert_string_equal(fx->rec.c[0].currency, "");
  assert_true(fx->rec.c[0].nanos == 0);

  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":null")), SCW_OK);
  assert_string_equal(fx->rec.c[0].currency, "");
  assert_true(fx->rec.c[0].nanos == 0);
}

static void test_price_not_object(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":1.5"), SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":\"1.50 EUR\""), SCW_ERR_PARSE);
  /* A price without a currency cannot be summed. */
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"units\":1}"), SCW_ERR_PARSE);
}

static void test_units_quoted_string(void **state) {
  fx_t *fx = *state;
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                         "\"units\":\"12\",\"nanos\":340000000}")),
                   SCW_OK);
  assert_true(fx->rec.c[0].nanos == INT64_C(12340000000));
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                         "\"units\":\"-3\",\"nanos\":-500000000}")),
                   SCW_OK);
  assert_true(fx->rec.c[0].nanos == INT64_C(-3500000000));
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":\"1.5\"}"),
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":\"\"}"),
                     SCW_ERR_PARSE);
}

static void test_units_float_rejected(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":1.5}"),
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":1,\"nanos\":5.0}"),
                     SCW_ERR_PARSE);
  /* nanos as a string is not a proto3 int32 form we accept. */
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":1,\"nanos\":\"5\"}"),
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":true}"),
                     SCW_ERR_PARSE);
}

static void test_nanos_out_of_range(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":0,\"nanos\":1000000000}"),
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"nanos\":-1000000000}"),
                     SCW_ERR_PARSE);
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                         "\"nanos\":999999999}")),
                   SCW_OK);
  assert_true(fx->rec.c[0].nanos == 999999999);
}

static void test_nanos_sign_mismatch(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":1,\"nanos\":-1}"),
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":-1,\"nanos\":1}"),
                     SCW_ERR_PARSE);
  /* A credit: -1.75 is units -1 nanos -750000000. */
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                         "\"units\":-1,\"nanos\":-750000000}")),
                   SCW_OK);
  assert_true(fx->rec.c[0].nanos == INT64_C(-1750000000));
}

static void test_units_overflow(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":9223372037}"),
                     SCW_ERR_OVERFLOW);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":9223372036854775807}"),
                     SCW_ERR_OVERFLOW);
  /* Beyond int64 entirely: must not be clamped into a valid amount. */
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":18446744073709551615}"),
                     SCW_ERR_OVERFLOW);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                     "\"units\":\"99999999999999999999\"}"),
                     SCW_ERR_OVERFLOW);
}

static void test_zero_omission(void **state) {
  fx_t *fx = *state;
  /* proto3 omits zero fields: units only, nanos only, neither. */
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                         "\"units\":3}")),
                   SCW_OK);
  assert_true(fx->rec.c[0].nanos == INT64_C(3000000000));
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                         "\"nanos\":213000000}")),
                   SCW_OK);
  assert_true(fx->rec.c[0].nanos == INT64_C(213000000));
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"USD\"}")),
                   SCW_OK);
  assert_true(fx->rec.c[0].nanos == 0);
  assert_string_equal(fx->rec.c[0].currency, "USD");
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                         "\"units\":null,\"nanos\":null}")),
                   SCW_OK);
  assert_true(fx->rec.c[0].nanos == 0);
}

static void test_token_absent_null_empty(void **state) {
  fx_t *fx = *state;
  assert_int_equal(parse(fx, "{\"charges\":[]}"), SCW_OK);
  assert_null(fx->token);
  assert_int_equal(fx->n, 0);
  assert_int_equal(parse(fx, "{\"charges\":[],\"next_page_token\":null}"), SCW_OK);
  assert_null(fx->token);
  assert_int_equal(parse(fx, "{\"charges\":[],\"next_page_token\":\"\"}"), SCW_OK);
  assert_null(fx->token);
}

static void test_token_copied(void **state) {
  fx_t *fx = *state;
  assert_int_equal(parse(fx, "{\"next_page_token\":\"a+b/c==\",\"charges\":[]}"),
                   SCW_OK);
  assert_string_equal(fx->token, "a+b/c==");
  /* The empty page with a token: the caller must continue. */
  assert_int_equal(fx->n, 0);
  assert_int_equal(fx->rec.n, 0);
}

static void test_token_wrong_type(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "{\"charges\":[],\"next_page_token\":42}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":[],\"next_page_token\":[\"x\"]}",
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":[],\"next_page_token\":true}",
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":[],\"next_page_token\":\"a\\u0000b\"}",
                     SCW_ERR_PARSE);
}

static void test_charges_missing_or_wrong(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "{}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"next_page_token\":\"t\"}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":null}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":{}}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":\"[]\"}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "[]", SCW_ERR_PARSE);
  assert_parse_fails(fx, "[{\"charges\":[]}]", SCW_ERR_PARSE);
  assert_parse_fails(fx, "\"charges\"", SCW_ERR_PARSE);
  /* json-c cannot tell a bare literal at the end of the buffer from a
   * truncated one. */
  assert_parse_fails(fx, "null", SCW_ERR_NOT_JSON);
}

static void test_charge_not_object(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "{\"charges\":[1]}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":[null]}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":[[]]}", SCW_ERR_PARSE);
  /* The second charge is bad: the error names it. */
  assert_parse_fails(fx,
                     "{\"charges\":[{\"project_id\":\"p\",\"sku\":\"s\"},\"x\"]}",
                     SCW_ERR_PARSE);
  assert_non_null(strstr(fx->err.msg, "charge 1"));
}

static void test_required_fields(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "{\"charges\":[{\"project_id\":\"p\"}]}", SCW_ERR_PARSE);
  assert_non_null(strstr(fx->err.msg, "sku"));
  assert_parse_fails(fx, "{\"charges\":[{\"project_id\":\"p\",\"sku\":\"\"}]}",
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":[{\"project_id\":\"p\",\"sku\":null}]}",
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, "{\"charges\":[{\"sku\":\"s\"}]}", SCW_ERR_PARSE);
  assert_non_null(strstr(fx->err.msg, "project_id"));
}

static void test_wrong_types(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "{\"charges\":[{\"project_id\":42,\"sku\":\"s\"}]}",
                     SCW_ERR_PARSE);
  assert_non_null(strstr(fx->err.msg, "project_id"));
  assert_parse_fails(fx, "{\"charges\":[{\"project_id\":\"p\",\"sku\":[\"s\"]}]}",
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"project_name\":{\"n\":1}"), SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"resource_id\":7"), SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"resource_name\":false"), SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":1}"),
                     SCW_ERR_PARSE);
}

static void test_truncated_json(void **state) {
  fx_t *fx = *state;
  size_t len = strlen(spec_page);
  /* Every proper prefix of a valid page is rejected as not JSON (retried by
   * the refresh, which takes back the charges a cut page handed on), and
   * never crashes. */
  for (size_t cut = 0; cut < len; cut += 7) {
    fx->token = NULL;
    fx->n = 99;
    recorder_clear(&fx->rec);
    scw_rc_t rc = scw_page_parse(fx->parser, spec_page, cut, record, &fx->rec,
                                 &fx->token, &fx->n, &fx->err);
    if (rc != SCW_ERR_NOT_JSON)
      fail_msg("prefix of %zu bytes: rc %d", cut, (int)rc);
    assert_null(fx->token);
    assert_int_equal(fx->n, fx->rec.n);
    assert_true(fx->rec.n <= 3);
  }
  assert_parse_fails(fx, "{\"charges\":[", SCW_ERR_NOT_JSON);
  assert_parse_fails(fx, "", SCW_ERR_NOT_JSON);
  assert_non_null(strstr(fx->err.msg, "truncated JSON"));
}

/* Not JSON wins over a wrong shape met earlier in the page: the body is
 * retried, not given up on. */
static void test_not_json_after_bad_charge(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "{\"charges\":[1,{\"project_id\"", SCW_ERR_NOT_JSON);
  assert_parse_fails(fx, "{\"charges\":7,\"x\":<html>", SCW_ERR_NOT_JSON);
  assert_parse_fails(fx, "{\"next_page_token\":1,\"charges\":[]}x",
                     SCW_ERR_NOT_JSON);
  /* Valid to the end: the shape error. */
  assert_parse_fails(fx, "{\"charges\":[1,{\"project_id\":\"p\"}]}",
                     SCW_ERR_PARSE);
  assert_non_null(strstr(fx->err.msg, "charge 0"));
  /* Two charges arrays would count twice. */
  assert_parse_fails(fx, "{\"charges\":[],\"charges\":[]}", SCW_ERR_PARSE);
}

typedef struct {
  scw_rc_t rc;
  scw_error_t err;
  char *token;
  size_t n;
  recorder_t rec;
} outcome_t;

static void outcome_free(outcome_t *o) {
  free(o->token);
  recorder_clear(&o->rec);
}

/* Feeds body in pieces of `piece` bytes (0: in one call of scw_page_parse). */
static void parse_in_pieces(scw_page_parser_t *parser, const char *body,
                            size_t piece, outcome_t *o) {
  size_t len = strlen(body);
  memset(o, 0, sizeof(*o));
  if (piece == 0) {
    o->rc = scw_page_parse(parser, body, len, record, &o->rec, &o->token, &o->n,
                           &o->err);
    return;
  }
  scw_page_begin(parser, record, &o->rec);
  for (size_t off = 0; off < len; off += piece) {
    size_t n = len - off < piece ? len - off : piece;
    /* Each piece in its own allocation: nothing may be kept across pieces. */
    char *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, body + off, n);
    scw_page_feed(parser, copy, n);
    free(copy);
  }
  o->rc = scw_page_end(parser, &o->token, &o->n, &o->err);
}

static void test_pieces_same_as_whole(void **state) {
  fx_t *fx = *state;
  static char bom_page[4096];
  snprintf(bom_page, sizeof(bom_page), "\xEF\xBB\xBF%s", spec_page);
  const char *bodies[] = {
      spec_page,
      bom_page,
      "\xEF\xBB\xBF\xEF\xBB\xBF{}",
      " { \"next_page_token\" : \"t\\u0032\" , \"charges\" : [ ] } \n",
      "{\"ch\\u0061rges\":[{\"project_id\":\"p\",\"sku\":\"s\",\"price\":"
      "{\"currency_code\":\"EUR\",\"units\":12345,\"nanos\":-1}}],\"n\":1.25e3}",
      "{\"charges\":[{\"project_id\":\"p\",\"sku\":\"s\"},],\"x\":[null,true,-0],}",
      "{\"charges\":[{\"project_id\":\"p\",\"sku\":\"s\"},\"x\"]}",
      "{\"charges\":[{\"project_id\":\"p\",\"sku\":\"s\"},{\"project_id\"",
      "{\"charges\":[]}}",
      "{\"charges\":[] ,",
      "{\"charges\":[]",
      "{\"charges\" [",
      "{1:2}",
      "<html>502</html>",
      "\"charges\"",
      "null",
      "12",
      "",
  };
  for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
    outcome_t whole;
    parse_in_pieces(fx->parser, bodies[b], 0, &whole);
    size_t len = strlen(bodies[b]);
    for (size_t piece = 1; piece <= len + 1; piece++) {
      outcome_t o;
      parse_in_pieces(fx->parser, bodies[b], piece, &o);
      if (o.rc != whole.rc || strcmp(o.err.msg, whole.err.msg) != 0)
        fail_msg("body %zu in pieces of %zu: rc %d \"%s\", whole: rc %d \"%s\"",
                 b, piece, (int)o.rc, o.err.msg, (int)whole.rc, whole.err.msg);
      assert_int_equal(o.n, whole.n);
      assert_int_equal(o.rec.n, whole.rec.n);
      for (size_t i = 0; i < o.rec.n; i++) {
        assert_string_equal(o.rec.c[i].project_id, whole.rec.c[i].project_id);
        assert_string_equal(o.rec.c[i].sku, whole.rec.c[i].sku);
        assert_true(o.rec.c[i].nanos == whole.rec.c[i].nanos);
      }
      if (whole.token == NULL)
        assert_null(o.token);
      else
        assert_string_equal(o.token, whole.token);
      outcome_free(&o);
    }
    outcome_free(&whole);
  }
}

static void test_trailing_garbage(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "{\"charges\":[]}x", SCW_ERR_NOT_JSON);
  assert_parse_fails(fx, "{\"charges\":[]}{\"charges\":[]}", SCW_ERR_NOT_JSON);
  assert_parse_fails(fx, "{\"charges\":[]} ,", SCW_ERR_NOT_JSON);
}

static void test_invalid_utf8(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, CHARGE_WITH(",\"project_name\":\"caf\xc3\"}"),
                     SCW_ERR_NOT_JSON);
  /* Invalid UTF-8 inside a string is passed on as bytes: the parser does
   * not pay for validating every byte; scw_meta_safe and the identifier
   * rule make such strings safe where they leave the plugin. */
  assert_int_equal(parse(fx, CHARGE_WITH(",\"resource_name\":\"\xff\xfe\"")),
                   SCW_OK);
  assert_string_equal(fx->rec.c[0].resource_name, "\xff\xfe");
  /* Valid UTF-8 is accepted unchanged. */
  assert_int_equal(parse(fx, CHARGE_WITH(",\"project_name\":\"caf\xc3\xa9\"")),
                   SCW_OK);
  assert_string_equal(fx->rec.c[0].project_name, "caf\xc3\xa9");
  assert_int_equal(parse(fx, CHARGE_WITH(",\"project_name\":\"caf\\u00e9\"")),
                   SCW_OK);
  assert_string_equal(fx->rec.c[0].project_name, "caf\xc3\xa9");
}

static void test_embedded_nul(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "{\"charges\":[{\"project_id\":\"p\\u0000x\",\"sku\":\"s\"}]}",
                     SCW_ERR_PARSE);
  assert_non_null(strstr(fx->err.msg, "NUL"));
  assert_parse_fails(fx, "{\"charges\":[{\"project_id\":\"p\",\"sku\":\"s\\u0000\"}]}",
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"project_name\":\"\\u0000\""),
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\\u0000X\"}"),
                     SCW_ERR_PARSE);
  assert_parse_fails(fx, CHARGE_WITH(",\"resource_id\":\"r\\u0000\""), SCW_ERR_PARSE);
}

static void test_unknown_fields_ignored(void **state) {
  fx_t *fx = *state;
  const char *body =
      "{\"total_count\":99,\"meta\":{\"a\":[1,2,{\"b\":null}]},"
      "\"charges\":[{\"project_id\":\"p\",\"sku\":\"s\","
      "\"tags\":[\"x\",\"y\"],\"discount\":{\"units\":5,\"nested\":{\"z\":1.5}},"
      "\"price\":{\"currency_code\":\"EUR\",\"units\":2,\"nanos\":5,"
      "\"extra\":{\"k\":\"v\"}},\"quantity\":\"1.5\",\"zone\":null}],"
      "\"next_page_token\":\"t2\",\"future\":[[[]]]}";
  assert_int_equal(parse(fx, body), SCW_OK);
  assert_int_equal(fx->n, 1);
  assert_true(fx->rec.c[0].nanos == INT64_C(2000000005));
  assert_string_equal(fx->token, "t2");
}

static void test_empty_charges_with_token(void **state) {
  fx_t *fx = *state;
  assert_int_equal(parse(fx, "{\"charges\":[],\"next_page_token\":\"more\"}"),
                   SCW_OK);
  assert_int_equal(fx->n, 0);
  assert_int_equal(fx->rec.n, 0);
  assert_string_equal(fx->token, "more");
}

static void test_callback_error_aborts(void **state) {
  fx_t *fx = *state;
  fx->rec.fail_at = 2;
  fx->rec.fail_rc = SCW_ERR_OVERFLOW;
  fx->token = (char *)0x1;
  fx->n = 77;
  scw_rc_t rc = scw_page_parse(fx->parser, spec_page, strlen(spec_page), record,
                               &fx->rec, &fx->token, &fx->n, &fx->err);
  assert_int_equal(rc, SCW_ERR_OVERFLOW);
  assert_int_equal(fx->err.rc, SCW_ERR_OVERFLOW);
  assert_int_equal(fx->rec.n, 2); /* the third charge was never delivered */
  assert_null(fx->token);
  assert_int_equal(fx->n, 2); /* both reached the callback: not retryable */
  assert_non_null(strstr(fx->err.msg, "callback refused charge 2"));
  assert_non_null(strstr(fx->err.msg, "charge 1"));

  /* A callback failing with another code: that code comes back. */
  recorder_clear(&fx->rec);
  fx->rec.fail_at = 1;
  fx->rec.fail_rc = SCW_ERR_NOMEM;
  rc = scw_page_parse(fx->parser, spec_page, strlen(spec_page), record, &fx->rec,
                      &fx->token, &fx->n, &fx->err);
  assert_int_equal(rc, SCW_ERR_NOMEM);
  assert_int_equal(fx->rec.n, 1);
  assert_null(fx->token);
}

static void test_byte_order_mark_tolerated(void **state) {
  fx_t *fx = *state;
  char body[4096];
  snprintf(body, sizeof(body), "\xEF\xBB\xBF%s", spec_page);
  assert_int_equal(parse(fx, body), SCW_OK);
  assert_int_equal(fx->n, 3);
  /* Only at the start, and only once. */
  snprintf(body, sizeof(body), "\xEF\xBB\xBF\xEF\xBB\xBF%s", spec_page);
  assert_parse_fails(fx, body, SCW_ERR_NOT_JSON);
  assert_non_null(strstr(fx->err.msg, "at byte 3"));
}

static void test_html_is_not_json(void **state) {
  fx_t *fx = *state;
  assert_parse_fails(fx, "<html><body>502 Bad Gateway</body></html>",
                     SCW_ERR_NOT_JSON);
  assert_non_null(strstr(fx->err.msg, "invalid JSON at byte 0"));
  /* Valid JSON of the wrong shape is a different, deterministic error. */
  assert_parse_fails(fx, "{\"message\":\"maintenance\"}", SCW_ERR_PARSE);
  assert_parse_fails(fx, "[]", SCW_ERR_PARSE);
}

static void test_parser_reuse(void **state) {
  fx_t *fx = *state;
  /* A failure in the middle does not poison the next page. */
  assert_int_equal(parse(fx, spec_page), SCW_OK);
  assert_int_equal(fx->n, 3);
  assert_parse_fails(fx, "{\"charges\":[", SCW_ERR_NOT_JSON);
  assert_parse_fails(fx, "{\"charges\":[]}}", SCW_ERR_NOT_JSON);
  assert_int_equal(parse(fx, CHARGE_WITH(",\"price\":{\"currency_code\":\"EUR\","
                                         "\"units\":7}")),
                   SCW_OK);
  assert_int_equal(fx->n, 1);
  assert_true(fx->rec.c[0].nanos == INT64_C(7000000000));
  assert_null(fx->token);
  for (int i = 0; i < 50; i++) {
    assert_int_equal(parse(fx, spec_page), SCW_OK);
    assert_int_equal(fx->n, 3);
    assert_true(fx->rec.c[2].nanos == INT64_C(1250000000));
  }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_spec_page),
      T(test_spec_page_trailing_newline),
      T(test_not_nul_terminated),
      T(test_optional_names),
      T(test_price_absent),
      T(test_price_not_object),
      T(test_units_quoted_string),
      T(test_units_float_rejected),
      T(test_nanos_out_of_range),
      T(test_nanos_sign_mismatch),
      T(test_units_overflow),
      T(test_zero_omission),
      T(test_token_absent_null_empty),
      T(test_token_copied),
      T(test_token_wrong_type),
      T(test_charges_missing_or_wrong),
      T(test_charge_not_object),
      T(test_required_fields),
      T(test_wrong_types),
      T(test_truncated_json),
      T(test_not_json_after_bad_charge),
      T(test_pieces_same_as_whole),
      T(test_trailing_garbage),
      T(test_invalid_utf8),
      T(test_embedded_nul),
      T(test_unknown_fields_ignored),
      T(test_empty_charges_with_token),
      T(test_callback_error_aborts),
      T(test_byte_order_mark_tolerated),
      T(test_html_is_not_json),
      T(test_parser_reuse),
  };
  return cmocka_run_group_tests_name("charge", tests, NULL, NULL);
}
