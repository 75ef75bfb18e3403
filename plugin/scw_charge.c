/* SPDX-License-Identifier: MIT */
/* scw_charge.c - FinOps page parser (json-c); see scw_charge.h. */
#include "scw_charge.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scw_apierror.h"
#include "scw_money.h"
#include "scw_time.h"

/* Where the envelope walk is: {"charges": [charge, ...], "next_page_token":
 * ..., other members}. Structure outside the charges is walked here; every
 * value (keys, each charge, the token, unknown members) is parsed by json-c. */
typedef enum {
  ST_ROOT,          /* before the page's '{' (a BOM may come first) */
  ST_BOM,           /* inside a leading UTF-8 byte order mark */
  ST_KEY_OR_END,    /* after '{' or ',': a key, or '}' */
  ST_COLON,         /* after a key */
  ST_VALUE_START,   /* after ':' */
  ST_VALUE,         /* json-c is parsing a value (it may span pieces) */
  ST_ARRAY_FIRST,   /* after "charges": '[' */
  ST_ARRAY_SEP,     /* after a charge: ',' or ']' */
  ST_ARRAY_NEXT,    /* after ',' in the charges: a charge (or ']') */
  ST_MEMBER_SEP,    /* after a member's value: ',' or '}' */
  ST_TRAIL,         /* after the page: only whitespace */
  ST_BAD,           /* not JSON: the rest is ignored */
} page_state_t;

/* What the value json-c is parsing is. */
typedef enum { V_ROOT, V_KEY, V_CHARGE, V_TOKEN, V_CHARGES, V_OTHER } value_kind_t;

/* Which member the last key named. */
typedef enum { K_OTHER, K_CHARGES, K_TOKEN } member_key_t;

struct scw_page_parser {
  json_tokener *tok; /* reused across values and pages */
  page_state_t state;
  value_kind_t kind;
  member_key_t key;
  size_t offset;    /* bytes of the body fed so far */
  size_t bom;       /* bytes of the BOM seen */
  scw_charge_cb cb;
  void *ctx;
  size_t index;     /* charges parsed in the array */
  size_t delivered; /* charges handed to cb */
  int saw_charges;  /* the "charges" array was there */
  char *token;      /* last next_page_token, NULL if absent/null/"" */
  scw_rc_t shape_rc;/* first error that is not about JSON syntax */
  scw_error_t shape;
  scw_error_t syntax; /* SCW_ERR_NOT_JSON when state is ST_BAD */
  /* The bytes of an object or array value that spans pieces: json-c 0.16
   * parses a number cut by a piece boundary more leniently ("84480-000"
   * passes when cut after "84480"), so such a value is parsed again whole
   * once json-c has found its end (fuzz_page found it). */
  char *span;
  size_t span_len, span_cap;
  int span_fed;   /* bytes of the value fed so far (0: none yet) */
  int container;  /* the value starts with '{' or '[' */
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
   * (bench/). The strings we keep are made safe where they leave the plugin
   * (scw_naming: identifiers, meta data, logs), so a stray byte cannot reach
   * a writer. */
  return p;
}

void scw_page_parser_free(scw_page_parser_t *p) {
  if (p == NULL)
    return;
  json_tokener_free(p->tok);
  free(p->token);
  free(p->span);
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

static scw_rc_t parse_price(json_object *price, scw_charge_t *c,
                            scw_error_t *err) {
  c->currency = "";
  c->nanos = 0;
  if (price == NULL)
    return SCW_OK;
  if (!json_object_is_type(price, json_type_object))
    return scw_fail(err, SCW_ERR_PARSE, "\"price\" is not an object");
  /* One pass over the members (three hash lookups cost more). */
  json_object *currency = NULL, *units_v = NULL, *nanos_v = NULL;
  json_object_object_foreach(price, key, val) {
    if (strcmp(key, "currency_code") == 0)
      currency = val;
    else if (strcmp(key, "units") == 0)
      units_v = val;
    else if (strcmp(key, "nanos") == 0)
      nanos_v = val;
  }
  int64_t units = 0, nanos = 0;
  scw_rc_t rc = required_string(currency, "currency_code", &c->currency, err);
  if (rc == SCW_OK)
    rc = int64_value(units_v, "units", 1, &units, err);
  if (rc == SCW_OK)
    rc = int64_value(nanos_v, "nanos", 0, &nanos, err);
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

/* ---- the envelope ---------------------------------------------------------
 * json-c builds a tree for whatever it is given. Given one charge at a time
 * (not the whole page), the tree stays a few kilobytes, is reused from
 * malloc's hot free lists and stays in cache: 17% less time than one parse
 * of the page and 1/1000 of its memory (bench/). Being resumable, the walk
 * also takes the body in pieces as it arrives (scw_page_feed). */

static void syntax_error(scw_page_parser_t *p, size_t at, const char *why) {
  scw_fail(&p->syntax, SCW_ERR_NOT_JSON, "invalid JSON at byte %zu: %s", at, why);
  p->state = ST_BAD;
}

/* Keeps the first error that is not about syntax; the walk goes on, since a
 * body that is not JSON after all must still be reported (and retried) as
 * such. No charge is handed on after it. */
static void shape_error(scw_page_parser_t *p, const scw_error_t *e) {
  if (p->shape_rc == SCW_OK) {
    p->shape_rc = e->rc;
    p->shape = *e;
  }
}

static void take_charge(scw_page_parser_t *p, json_object *obj) {
  scw_error_t e = {.rc = SCW_OK, .msg = ""};
  size_t i = p->index++;
  if (p->shape_rc != SCW_OK)
    return;
  scw_charge_t c;
  scw_rc_t rc = parse_charge(obj, &c, &e);
  if (rc == SCW_OK) {
    p->delivered++;
    rc = p->cb(p->ctx, &c, &e);
  }
  if (rc != SCW_OK) {
    e.rc = rc;
    scw_error_prefix(&e, "charge %zu", i);
    shape_error(p, &e);
  }
}

static void take_token(scw_page_parser_t *p, json_object *v) {
  scw_error_t e = {.rc = SCW_OK, .msg = ""};
  const char *token = NULL;
  free(p->token); /* a repeated member: the last one counts, as in json-c */
  p->token = NULL;
  if (string_value(v, "next_page_token", &token, &e) != SCW_OK) {
    shape_error(p, &e);
    return;
  }
  if (token != NULL && *token != '\0' && (p->token = strdup(token)) == NULL) {
    scw_fail(&e, SCW_ERR_NOMEM, "token copy");
    shape_error(p, &e);
  }
}

static void shape_fail(scw_page_parser_t *p, const char *msg) {
  scw_error_t e;
  scw_fail(&e, SCW_ERR_PARSE, "%s", msg);
  shape_error(p, &e);
}

/* A value json-c finished (v is NULL for null). Returns the next state. */
static page_state_t take_value(scw_page_parser_t *p, json_object *v) {
  switch (p->kind) {
  case V_ROOT:
    shape_fail(p, "page is not a JSON object");
    return ST_TRAIL;
  case V_KEY:
    /* json-c's rule: only a string opens a member; a key may hold escapes. */
    p->key = K_OTHER;
    if (json_object_is_type(v, json_type_string)) {
      const char *k = json_object_get_string(v);
      size_t n = (size_t)json_object_get_string_len(v);
      if (n == 7 && memcmp(k, "charges", 7) == 0)
        p->key = K_CHARGES;
      else if (n == 15 && memcmp(k, "next_page_token", 15) == 0)
        p->key = K_TOKEN;
    }
    return ST_COLON;
  case V_CHARGE:
    take_charge(p, v);
    return ST_ARRAY_SEP;
  case V_TOKEN:
    take_token(p, v);
    return ST_MEMBER_SEP;
  case V_CHARGES:
    shape_fail(p, "page has no \"charges\" array");
    return ST_MEMBER_SEP;
  case V_OTHER:
    break;
  }
  return ST_MEMBER_SEP;
}

static void start_value(scw_page_parser_t *p, value_kind_t kind) {
  json_tokener_reset(p->tok);
  p->kind = kind;
  p->state = ST_VALUE;
  p->span_len = 0;
  p->span_fed = 0;
}

/* Keeps data for a value that spans pieces; 0, or -1 on ENOMEM. */
static int span_append(scw_page_parser_t *p, const char *data, size_t len) {
  if (p->span_len + len > p->span_cap) {
    size_t cap = p->span_cap ? p->span_cap : 4096;
    while (cap < p->span_len + len)
      cap *= 2;
    char *bigger = realloc(p->span, cap);
    if (bigger == NULL)
      return -1;
    p->span = bigger;
    p->span_cap = cap;
  }
  memcpy(p->span + p->span_len, data, len);
  p->span_len += len;
  return 0;
}

/* The whole of a value that spanned pieces, parsed again in one call:
 * the result a whole page would have given. */
static json_object *reparse_span(scw_page_parser_t *p,
                                 enum json_tokener_error *jerr) {
  json_tokener_reset(p->tok);
  int n = p->span_len > INT32_MAX ? INT32_MAX : (int)p->span_len;
  json_object *v = json_tokener_parse_ex(p->tok, p->span, n);
  *jerr = json_tokener_get_error(p->tok);
  if (*jerr == json_tokener_success &&
      json_tokener_get_parse_end(p->tok) != p->span_len) {
    json_object_put(v);
    v = NULL;
    *jerr = json_tokener_error_parse_unexpected;
  }
  return v;
}

static int is_ws(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Feeds data[0..len) to json-c for the value in progress; returns the bytes
 * it used (all of them while the value goes on). */
static size_t feed_value(scw_page_parser_t *p, const char *data, size_t len,
                         size_t at) {
  int n = len > INT32_MAX ? INT32_MAX : (int)len;
  if (p->span_fed == 0)
    p->container = data[0] == '{' || data[0] == '[';
  json_object *v = json_tokener_parse_ex(p->tok, data, n);
  enum json_tokener_error jerr = json_tokener_get_error(p->tok);
  size_t used = json_tokener_get_parse_end(p->tok);
  p->span_fed = 1;
  if (jerr == json_tokener_continue) {
    if (p->container && span_append(p, data, (size_t)n) != 0) {
      syntax_error(p, at, "out of memory");
      return len;
    }
    return (size_t)n;
  }
  if (jerr == json_tokener_success && p->span_len > 0) {
    json_object_put(v);
    if (span_append(p, data, used) != 0) {
      syntax_error(p, at, "out of memory");
      return len;
    }
    v = reparse_span(p, &jerr);
  }
  if (jerr != json_tokener_success) {
    syntax_error(p, at + used, json_tokener_error_desc(jerr));
    return len;
  }
  p->state = take_value(p, v);
  json_object_put(v);
  return used;
}

void scw_page_begin(scw_page_parser_t *p, scw_charge_cb cb, void *ctx) {
  free(p->token);
  p->token = NULL;
  p->state = ST_ROOT;
  p->offset = 0;
  p->bom = 0;
  p->cb = cb;
  p->ctx = ctx;
  p->index = 0;
  p->delivered = 0;
  p->saw_charges = 0;
  p->shape_rc = SCW_OK;
  p->shape.rc = SCW_OK;
  p->shape.msg[0] = '\0';
  p->syntax.rc = SCW_OK;
  p->syntax.msg[0] = '\0';
}

void scw_page_feed(scw_page_parser_t *p, const char *data, size_t len) {
  size_t i = 0;
  while (i < len && p->state != ST_BAD) {
    size_t at = p->offset + i;
    char c = data[i];
    if (p->state == ST_VALUE) {
      i += feed_value(p, data + i, len - i, at);
      continue;
    }
    if (is_ws(c) && p->state != ST_BOM) {
      i++;
      continue;
    }
    switch (p->state) {
    case ST_ROOT:
      /* A UTF-8 byte order mark is not JSON, but some proxies add one. */
      if (at == 0 && c == '\xEF') {
        p->bom = 1;
        p->state = ST_BOM;
        i++;
      } else if (c == '{') {
        p->state = ST_KEY_OR_END;
        i++;
      } else {
        start_value(p, V_ROOT); /* json-c says whether it is JSON at all */
      }
      break;
    case ST_BOM:
      if (c != "\xEF\xBB\xBF"[p->bom]) {
        syntax_error(p, at, "unexpected character");
        break;
      }
      i++;
      if (++p->bom == 3)
        p->state = ST_ROOT;
      break;
    case ST_KEY_OR_END:
      if (c == '}')
        p->state = ST_TRAIL, i++;
      else if (c == '"' || c == '\'')
        start_value(p, V_KEY);
      else
        syntax_error(p, at, json_tokener_error_desc(json_tokener_error_parse_object_key_name));
      break;
    case ST_COLON:
      if (c == ':')
        p->state = ST_VALUE_START, i++;
      else
        syntax_error(p, at, json_tokener_error_desc(json_tokener_error_parse_object_key_sep));
      break;
    case ST_VALUE_START:
      if (p->key == K_CHARGES && c == '[') {
        if (p->saw_charges)
          shape_fail(p, "page has two \"charges\" arrays");
        p->saw_charges = 1;
        p->state = ST_ARRAY_FIRST;
        i++;
      } else {
        start_value(p, p->key == K_CHARGES ? V_CHARGES
                       : p->key == K_TOKEN ? V_TOKEN : V_OTHER);
      }
      break;
    case ST_ARRAY_FIRST:
    case ST_ARRAY_NEXT: /* json-c accepts a trailing comma: so do we */
      if (c == ']')
        p->state = ST_MEMBER_SEP, i++;
      else
        start_value(p, V_CHARGE);
      break;
    case ST_ARRAY_SEP:
      if (c == ',')
        p->state = ST_ARRAY_NEXT, i++;
      else if (c == ']')
        p->state = ST_MEMBER_SEP, i++;
      else
        syntax_error(p, at, json_tokener_error_desc(json_tokener_error_parse_array));
      break;
    case ST_MEMBER_SEP:
      if (c == ',')
        p->state = ST_KEY_OR_END, i++;
      else if (c == '}')
        p->state = ST_TRAIL, i++;
      else
        syntax_error(p, at, json_tokener_error_desc(json_tokener_error_parse_object_value_sep));
      break;
    case ST_TRAIL:
      scw_fail(&p->syntax, SCW_ERR_NOT_JSON, "unexpected bytes after JSON at byte %zu", at);
      p->state = ST_BAD;
      break;
    case ST_VALUE:
    case ST_BAD:
      break;
    }
  }
  p->offset += len;
}

scw_rc_t scw_page_end(scw_page_parser_t *p, char **next_token, size_t *n_charges,
                      scw_error_t *err) {
  *next_token = NULL;
  *n_charges = p->delivered;
  if (p->state != ST_TRAIL && p->state != ST_BAD) {
    /* json-c cannot tell a bare literal at the end from a truncated one. */
    syntax_error(p, p->offset, "truncated JSON");
  }
  if (p->state == ST_BAD) {
    if (err != NULL)
      *err = p->syntax;
    return SCW_ERR_NOT_JSON;
  }
  if (p->shape_rc == SCW_OK && !p->saw_charges)
    shape_fail(p, "page has no \"charges\" array");
  if (p->shape_rc != SCW_OK) {
    if (err != NULL)
      *err = p->shape;
    return p->shape_rc;
  }
  *next_token = p->token;
  p->token = NULL;
  return SCW_OK;
}

scw_rc_t scw_page_parse(scw_page_parser_t *parser, const char *body, size_t len,
                        scw_charge_cb cb, void *ctx, char **next_token,
                        size_t *n_charges, scw_error_t *err) {
  scw_page_begin(parser, cb, ctx);
  scw_page_feed(parser, body, len);
  return scw_page_end(parser, next_token, n_charges, err);
}
