/* SPDX-License-Identifier: MIT */
/* fake_api.c - see fake_api.h. */
#include "fake_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_time.h"

/* The value of `name=` in the query, decoded enough for our own URLs. */
static int query_param(const char *url, const char *name, char *out, size_t size) {
  size_t n = strlen(name);
  for (const char *p = strchr(url, '?'); p != NULL; p = strchr(p + 1, '&')) {
    if (strncmp(p + 1, name, n) == 0 && p[1 + n] == '=') {
      const char *v = p + 2 + n;
      size_t len = strcspn(v, "&");
      size_t o = 0;
      for (size_t i = 0; i < len && o + 1 < size; i++) {
        if (v[i] == '%' && i + 2 < len) {
          char hex[3] = {v[i + 1], v[i + 2], 0};
          out[o++] = (char)strtol(hex, NULL, 16);
          i += 2;
        } else {
          out[o++] = v[i];
        }
      }
      out[o] = '\0';
      return 1;
    }
  }
  return 0;
}

static int visible(const fake_charge_t *c, int64_t start, int64_t end,
                   int64_t now) {
  return c->at >= start && c->at < end && c->posted <= now;
}

int64_t fake_api_sum(const fake_api_t *api, int64_t start, int64_t end,
                     int64_t now) {
  int64_t sum = 0;
  for (size_t i = 0; i < api->n; i++)
    if (visible(&api->charges[i], start, end, now))
      sum += api->charges[i].nanos;
  return sum;
}

static scw_rc_t answer(fake_api_t *api, scw_http_response_t *resp, long status,
                       char *body) {
  free(api->body);
  api->body = body;
  resp->status = status;
  resp->body = body;
  resp->len = strlen(body);
  return SCW_OK;
}

scw_rc_t fake_api_fetch(void *ctx, const char *url, scw_http_response_t *resp,
                        scw_error_t *err) {
  (void)err;
  fake_api_t *api = ctx;
  memset(resp, 0, sizeof(*resp));
  char a[40], b[40], token[32];
  int64_t start = 0, end = 0;
  if (!query_param(url, "start_date_after", a, sizeof(a)) ||
      !query_param(url, "end_date_before", b, sizeof(b)) ||
      scw_rfc3339_parse(a, &start, NULL, NULL) != SCW_OK ||
      scw_rfc3339_parse(b, &end, NULL, NULL) != SCW_OK)
    return answer(api, resp, 400, strdup("{\"message\":\"bad window\"}"));
  if (api->requests < FAKE_API_MAX_LOG) {
    api->windows[api->requests].start = start;
    api->windows[api->requests].end = end;
  }
  api->requests++;
  if (api->fail_status != 0 && api->now >= api->fail_from) {
    if (api->retry_after != NULL)
      snprintf(resp->retry_after, sizeof(resp->retry_after), "%s", api->retry_after);
    return answer(api, resp, api->fail_status, strdup("{\"message\":\"fault\"}"));
  }
  if (end <= start) /* the real API may refuse an empty window */
    return answer(api, resp, 400, strdup("{\"message\":\"empty window\"}"));
  size_t skip = query_param(url, "page_token", token, sizeof(token))
                    ? (size_t)strtoul(token + 1, NULL, 10) : 0;
  size_t cap = 256 + 256 * (size_t)api->page_size, len = 0, seen = 0, shown = 0;
  char *body = malloc(cap);
  len += (size_t)snprintf(body + len, cap - len, "{\"charges\":[");
  size_t i = 0;
  for (; i < api->n && shown < api->page_size; i++) {
    const fake_charge_t *c = &api->charges[i];
    if (!visible(c, start, end, api->now) || seen++ < skip)
      continue;
    char from[SCW_RFC3339_SIZE], to[SCW_RFC3339_SIZE];
    scw_rfc3339_format(c->at, from, sizeof(from));
    scw_rfc3339_format(c->at + 3600, to, sizeof(to));
    len += (size_t)snprintf(
        body + len, cap - len,
        "%s{\"project_id\":\"%s\",\"project_name\":\"%s\",\"sku\":\"%s\","
        "\"start_date\":\"%s\",\"end_date\":\"%s\",\"price\":{\"currency_code\":"
        "\"EUR\",\"units\":%lld,\"nanos\":%lld}}",
        shown ? "," : "", c->project_id, c->project_name, c->sku, from, to,
        (long long)(c->nanos / 1000000000), (long long)(c->nanos % 1000000000));
    shown++;
  }
  int more = 0;
  for (; i < api->n && !more; i++)
    more = visible(&api->charges[i], start, end, api->now);
  if (more)
    snprintf(body + len, cap - len, "],\"next_page_token\":\"t%zu\"}",
             skip + shown);
  else
    snprintf(body + len, cap - len, "]}");
  return answer(api, resp, 200, body);
}

void fake_api_free(fake_api_t *api) {
  free(api->body);
  api->body = NULL;
}
