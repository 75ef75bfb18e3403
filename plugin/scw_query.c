/* SPDX-License-Identifier: MIT */
/* scw_query.c - building the ListCharges URL; see scw_query.h. */
#include "scw_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int scw_strlist_add(scw_strlist_t *l, const char *s) {
  char **bigger = realloc(l->items, (l->n + 1) * sizeof(*bigger));
  if (bigger == NULL)
    return -1;
  l->items = bigger;
  if ((l->items[l->n] = strdup(s)) == NULL)
    return -1;
  l->n++;
  return 0;
}

void scw_strlist_free(scw_strlist_t *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = 0;
}

typedef struct {
  char *buf;
  size_t len, cap;
  int failed;
} sb_t;

static void sb_put(sb_t *b, const char *s, size_t n) {
  if (b->failed)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *bigger = realloc(b->buf, cap);
    if (bigger == NULL) {
      b->failed = 1;
      return;
    }
    b->buf = bigger;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
}

static void sb_puts(sb_t *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_encoded(sb_t *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
        (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
        *p == '~') {
      sb_put(b, (const char *)p, 1);
    } else {
      char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      sb_put(b, esc, 3);
    }
  }
}

static void sb_param(sb_t *b, const char *key, const char *value) {
  sb_puts(b, "&");
  sb_puts(b, key);
  sb_puts(b, "=");
  sb_encoded(b, value);
}

static void sb_params(sb_t *b, const char *key, const scw_strlist_t *l) {
  for (size_t i = 0; i < l->n; i++)
    sb_param(b, key, l->items[i]);
}

char *scw_query_url(const scw_query_t *q, const scw_window_t *w,
                    const char *page_token) {
  sb_t b = {0};
  size_t base_len = strlen(q->base_url);
  while (base_len > 0 && q->base_url[base_len - 1] == '/')
    base_len--;
  sb_put(&b, q->base_url, base_len);
  sb_puts(&b, SCW_CHARGES_PATH "?organization_id=");
  sb_encoded(&b, q->organization_id);
  sb_params(&b, "project_ids", &q->project_ids);

  char start[SCW_RFC3339_SIZE], end[SCW_RFC3339_SIZE], size[16];
  scw_rfc3339_format(w->start, start, sizeof(start));
  scw_rfc3339_format(w->end, end, sizeof(end));
  snprintf(size, sizeof(size), "%u", q->page_size);
  sb_param(&b, "start_date_after", start);
  sb_param(&b, "end_date_before", end);
  sb_param(&b, "clamp_to_time_range", "true");
  sb_param(&b, "order_by", "start_date_asc");
  sb_param(&b, "page_size", size);
  sb_params(&b, "skus", &q->skus);
  sb_params(&b, "resource_ids", &q->resource_ids);
  sb_params(&b, "resource_names", &q->resource_names);
  sb_params(&b, "invoice_ids", &q->invoice_ids);
  if (page_token != NULL)
    sb_param(&b, "page_token", page_token);
  if (b.failed) {
    free(b.buf);
    return NULL;
  }
  return b.buf;
}
