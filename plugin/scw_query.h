/* SPDX-License-Identifier: MIT */
/* scw_query.h - the ListCharges request URL.
 *
 * Everything goes in the query string, in snake_case, repeated parameters as
 * one key=value pair per element (as the official SDKs send them), values
 * percent-encoded (a literal '+' would be read as a space). */
#ifndef SCW_QUERY_H
#define SCW_QUERY_H

#include <stddef.h>

#include "scw_time.h"

#define SCW_CHARGES_PATH "/billing/v2beta1/charges"

typedef struct {
  char **items;
  size_t n;
} scw_strlist_t;

int scw_strlist_add(scw_strlist_t *l, const char *s); /* copies s; -1 ENOMEM */
void scw_strlist_free(scw_strlist_t *l);

typedef struct {
  const char *base_url; /* "https://api.scaleway.com", trailing '/' allowed */
  const char *organization_id;
  scw_strlist_t project_ids, skus, resource_ids, resource_names, invoice_ids;
  unsigned page_size;
} scw_query_t;

/* malloc'd URL for one page (page_token NULL for the first), NULL on ENOMEM.
 * Always asks for clamp_to_time_range=true and order_by=start_date_asc. */
char *scw_query_url(const scw_query_t *q, const scw_window_t *w,
                    const char *page_token);

#endif
