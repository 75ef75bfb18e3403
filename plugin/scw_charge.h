/* SPDX-License-Identifier: MIT */
/* scw_charge.h - parsing one page of GET /billing/v2beta1/charges.
 *
 * A page is {"charges": [Charge...], "next_page_token": "..."}. Each Charge is
 * validated strictly on the fields we use (a wrong type fails the whole page:
 * skipping a charge would publish a wrong sum) and every other field is
 * ignored, since the API is beta and gains fields. Charges are handed to a
 * callback one at a time, as each is read; their strings point into the
 * parser and are valid only during the call. */
#ifndef SCW_CHARGE_H
#define SCW_CHARGE_H

#include <stddef.h>
#include <stdint.h>

#include "scw_error.h"

typedef struct {
  const char *project_id;    /* never NULL */
  const char *project_name;  /* NULL when absent, null or "" */
  const char *sku;           /* never NULL */
  const char *resource_id;   /* "" when absent */
  const char *resource_name; /* NULL when absent, null or "" */
  const char *currency;      /* ISO 4217; "" when the charge has no price */
  int64_t nanos;             /* price in nano-units; 0 without a price */
} scw_charge_t;

typedef scw_rc_t (*scw_charge_cb)(void *ctx, const scw_charge_t *charge,
                                  scw_error_t *err);

typedef struct scw_page_parser scw_page_parser_t;

scw_page_parser_t *scw_page_parser_new(void);
void scw_page_parser_free(scw_page_parser_t *parser);

/* Parses body[0..len) and calls cb for each charge, in page order, as soon
 * as the charge has been read: a page that turns out not to be JSON (cut,
 * HTML...) or to have a bad charge further on may already have handed
 * charges to cb. On success *next_token is a malloc'd token, or NULL on the
 * last page (token absent, null or ""). *n_charges is the number of charges
 * handed to cb, also on failure. A body that is not JSON gives
 * SCW_ERR_NOT_JSON, even when a wrong-shape charge comes before the fault. */
scw_rc_t scw_page_parse(scw_page_parser_t *parser, const char *body, size_t len,
                        scw_charge_cb cb, void *ctx, char **next_token,
                        size_t *n_charges, scw_error_t *err);

/* The same, with the body in pieces as it arrives (from libcurl's write
 * callback): begin, feed each piece, end. scw_page_feed never fails: the
 * first fault is kept and reported by scw_page_end, which also returns what
 * scw_page_parse would for the concatenated pieces, however they were cut
 * (only the byte a "not JSON" message names may differ: json-c notices a bad
 * number at the next piece). */
void scw_page_begin(scw_page_parser_t *parser, scw_charge_cb cb, void *ctx);
void scw_page_feed(scw_page_parser_t *parser, const char *data, size_t len);
scw_rc_t scw_page_end(scw_page_parser_t *parser, char **next_token,
                      size_t *n_charges, scw_error_t *err);

#endif
