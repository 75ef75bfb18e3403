/* SPDX-License-Identifier: MIT */
/* scw_charge.c - FinOps page parser (json-c); see scw_charge.h. */
#include "scw_charge.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "scw_apierror.h"
#include "scw_money.h"
#include "scw_time.h"

struct scw_page_parser {
  json_tokener *tok; /* reused across pages: one allocation per refresh */
};

scw_page_parser_t *scw_page_parser_new(void) {
  scw_page_parser_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  p->tok = json_tokener_new();
  if (p->tok == NULL) {
    free(p);
    return NULL;
  }
  /* No STRICT and no VALIDATE_UTF8: together they cost ~8% of a refresh
   * (bench/). Trailing bytes are checked below; the strings we keep are made
   * safe where they leave the plugin (scw_naming: identifiers, meta data,
   * logs), so a stray byte cannot reach a writer. */
  return p;
}

void scw_page_parser_free(scw_page_parser_t *p) {
  if (p == NULL)
    return;
  json_tokener_free(p->tok);
  free(p);
}

/* A string member (v may be NULL: absent). Absent or null gives *out =
 * NULL. A non-string, or a string with an embedded NUL (which would make two
 * distinct values compare equal as C strings), is an error. */
static scw_rc_t string_value(json_object *v, const char *key, const char **out,
                             scw_error_t *err) {
  *out = NULL;
  if (v == NULL)
    return SCW_OK;
  if (!json_object_is_type(v, json_type_string))
    return scw_fail(err, SCW_ERR_PARSE, "\"%s\" is not a string", key);
  const char *s = json_object_get_string(v);
  if (strlen(s) != (size_t)json_object_get_string_len(v))
    return scw_fail(err, SCW_ERR_PARSE, "\"%s\" contains a NUL byte", key);
  *out = s;
  return SCW_OK;
}

static scw_rc_t required_string(json_object *v, const char *key,
                                const char **out, scw_error_t *err) {
  scw_rc_t rc = string_value(v, key, out, err);
  if (rc == SCW_OK && (*out == NULL || **out == '\0'))
    return scw_fail(err, SCW_ERR_PARSE, "\"%s\" is missing or empty", key);
  return rc;
}

/* An int64 member that proto3 JSON may omit when zero. A quoted integer is
 * accepted for units (proto3 canonical JSON quotes int64). */
static scw_rc_t int64_value(json_object *v, const char *key, int allow_string,
                            int64_t *out, scw_error_t *err) {
  *out = 0;
  if (v == NULL)
    return SCW_OK;
  if (json_object_is_type(v, json_type_int)) {
    *out = json_object_get_int64(v); /* clamps beyond int64: caught as overflow */
    return SCW_OK;
  }
  if (allow_string && json_object_is_type(v, json_type_string))
    return scw_money_parse_units(json_object_get_string(v), out, err);
  return scw_fail(err, SCW_ERR_PARSE, "price \"%s\" is not an integer", key);
}

static json_object *member(json_object *obj, const char *key) {
  json_object *v = NULL;
  return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static scw_rc_t parse_price(json_object *price, scw_charge_t *c,
                            scw_error_t *err) {
  c->currency = "";
  c->nanos = 0;
  if (price == NULL)
    return SCW_OK;
  if (!json_object_is_type(price, json_type_object))
    return scw_fail(err, SCW_ERR_PARSE, "\"price\" is not an object");
  int64_t units = 0, nanos = 0;
  scw_rc_t rc = required_string(member(price, "currency_code"), "currency_code",
                                &c->currency, err);
  if (rc == SCW_OK)
    rc = int64_value(member(price, "units"), "units", 1, &units, err);
  if (rc == SCW_OK)
    rc = int64_value(member(price, "nanos"), "nanos", 0, &nanos, err);
  if (rc == SCW_OK)
    rc = scw_money_from_parts(units, nanos, &c->nanos, err);
  return rc;
}

/* Dates are not summed, but a charge whose dates are not dates is not a
 * charge we can trust: it fails the page with a clear message. */
static scw_rc_t check_date(json_object *v, const char *key, scw_error_t *err) {
  const char *value;
  scw_rc_t rc = string_value(v, key, &value, err);
  if (rc != SCW_OK || value == NULL)
    return rc;
  if (scw_rfc3339_parse(value, NULL, NULL, NULL) != SCW_OK) {
    char shown[48];
    scw_log_safe(value, shown, sizeof(shown));
    return scw_fail(err, SCW_ERR_PARSE, "\"%s\" is not an RFC 3339 date: \"%s\"",
                    key, shown);
  }
  return SCW_OK;
}

static const char *non_empty(const char *s) {
  return s != NULL && *s != '\0' ? s : NULL;
}

/* The members of a charge we read. One pass over the object's members is
 * cheaper than a hash lookup per field (a charge has a dozen members). */
typedef struct {
  json_object *project_id, *project_name, *sku, *resource_id, *resource_name,
      *price, *start_date, *end_date;
} charge_members_t;

static void collect_members(json_object *obj, charge_members_t *m) {
  memset(m, 0, sizeof(*m));
  json_object_object_foreach(obj, key, val) {
    switch (key[0]) {
    case 'p':
      if (strcmp(key, "project_id") == 0)
        m->project_id = val;
      else if (strcmp(key, "project_name") == 0)
        m->project_name = val;
      else if (strcmp(key, "price") == 0)
        m->price = val;
      break;
    case 'r':
      if (strcmp(key, "resource_id") == 0)
        m->resource_id = val;
      else if (strcmp(key, "resource_name") == 0)
        m->resource_name = val;
      break;
    case 's':
      if (strcmp(key, "sku") == 0)
        m->sku = val;
      else if (strcmp(key, "start_date") == 0)
        m->start_date = val;
      break;
    case 'e':
      if (strcmp(key, "end_date") == 0)
        m->end_date = val;
      break;
    default:
      break; /* unknown fields are ignored: the API is beta */
    }
  }
}

static scw_rc_t parse_charge(json_object *obj, scw_charge_t *c,
                             scw_error_t *err) {
  /* Fields stay NULL when an earlier field fails (read below either way). */
  memset(c, 0, sizeof(*c));
  if (!json_object_is_type(obj, json_type_object))
    return scw_fail(err, SCW_ERR_PARSE, "charge is not an object");
  charge_members_t m;
  collect_members(obj, &m);
  scw_rc_t rc = required_string(m.project_id, "project_id", &c->project_id, err);
  if (rc == SCW_OK)
    rc = required_string(m.sku, "sku", &c->sku, err);
  if (rc == SCW_OK)
    rc = string_value(m.project_name, "project_name", &c->project_name, err);
  if (rc == SCW_OK)
    rc = string_value(m.resource_id, "resource_id", &c->resource_id, err);
  if (rc == SCW_OK)
    rc = string_value(m.resource_name, "resource_name", &c->resource_name, err);
  if (rc == SCW_OK)
    rc = check_date(m.start_date, "start_date", err);
  if (rc == SCW_OK)
    rc = check_date(m.end_date, "end_date", err);
  if (rc == SCW_OK)
    rc = parse_price(m.price, c, err);
  c->project_name = non_empty(c->project_name);
  c->resource_name = non_empty(c->resource_name);
  if (c->resource_id == NULL)
    c->resource_id = "";
  return rc;
}

static scw_rc_t parse_token(json_object *root, char **next_token,
                            scw_error_t *err) {
  const char *token = NULL;
  scw_rc_t rc = string_value(member(root, "next_page_token"), "next_page_token",
                             &token, err);
  if (rc != SCW_OK || token == NULL || *token == '\0')
    return rc;
  *next_token = strdup(token);
  return *next_token == NULL ? scw_fail(err, SCW_ERR_NOMEM, "token copy")
                             : SCW_OK;
}

static json_object *tokenize(json_tokener *tok, const char *body, size_t len,
                             scw_error_t *err) {
  if (len > INT32_MAX) {
    scw_fail(err, SCW_ERR_LIMIT, "page of %zu bytes is too large", len);
    return NULL;
  }
  /* A UTF-8 byte order mark is not JSON, but some proxies add one. */
  size_t skipped = 0;
  if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
    skipped = 3;
  body += skipped;
  len -= skipped;
  json_tokener_reset(tok);
  json_object *root = json_tokener_parse_ex(tok, body, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  if (root == NULL || jerr != json_tokener_success) {
    const char *why = jerr == json_tokener_continue ? "truncated JSON"
                                                   : json_tokener_error_desc(jerr);
    scw_fail(err, SCW_ERR_NOT_JSON, "invalid JSON at byte %zu: %s",
             json_tokener_get_parse_end(tok) + skipped, why);
    json_object_put(root);
    return NULL;
  }
  if (json_tokener_get_parse_end(tok) != len) {
    scw_fail(err, SCW_ERR_NOT_JSON, "unexpected bytes after JSON at byte %zu",
             json_tokener_get_parse_end(tok) + skipped);
    json_object_put(root);
    return NULL;
  }
  return root;
}

scw_rc_t scw_page_parse(scw_page_parser_t *parser, const char *body, size_t len,
                        scw_charge_cb cb, void *ctx, char **next_token,
                        size_t *n_charges, scw_error_t *err) {
  *next_token = NULL;
  *n_charges = 0;
  json_object *root = tokenize(parser->tok, body, len, err);
  if (root == NULL)
    return err != NULL ? err->rc : SCW_ERR_NOT_JSON;

  scw_rc_t rc = SCW_OK;
  json_object *charges = NULL;
  if (!json_object_is_type(root, json_type_object))
    rc = scw_fail(err, SCW_ERR_PARSE, "page is not a JSON object");
  else if (!json_object_object_get_ex(root, "charges", &charges) ||
           !json_object_is_type(charges, json_type_array))
    rc = scw_fail(err, SCW_ERR_PARSE, "page has no \"charges\" array");

  size_t n = rc == SCW_OK ? json_object_array_length(charges) : 0;
  size_t delivered = 0;
  for (size_t i = 0; i < n && rc == SCW_OK; i++) {
    scw_charge_t c;
    rc = parse_charge(json_object_array_get_idx(charges, i), &c, err);
    if (rc == SCW_OK) {
      delivered++;
      rc = cb(ctx, &c, err);
    }
    if (rc != SCW_OK)
      scw_error_prefix(err, "charge %zu", i);
  }
  if (rc == SCW_OK)
    rc = parse_token(root, next_token, err);
  *n_charges = delivered;
  json_object_put(root);
  return rc;
}
