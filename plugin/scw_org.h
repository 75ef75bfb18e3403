/* SPDX-License-Identifier: MIT */
/* scw_org.h - one <Organization> block: its configuration and the state of
 * its refresh worker. Shared by the collectd-facing files (config, worker,
 * dispatch); the pure core never sees it.
 *
 * Threads: the worker writes `slot`, the counters and `attempted`; the read
 * callback reads them. `lock` guards attempted/refresh_now and pairs with
 * `wake` (CLOCK_MONOTONIC) for sleeping and for the first read's wait. */
#ifndef SCW_ORG_H
#define SCW_ORG_H

#include "collectd.h" /* first, as collectd requires */
#include "utils/metadata/meta_data.h"
#include "utils_complain.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "scw_agg.h"
#include "scw_query.h"
#include "scw_secret.h"
#include "scw_snapshot.h"

typedef struct scw_org {
  /* configuration */
  char *name; /* block name */
  char *host; /* Host, or the block name */
  char *organization_id;
  char *secret_key; /* wiped before it is freed; the worker may replace it */
  scw_secret_file_t key_file; /* SecretKeyFile; path NULL for other sources */
  char *url;
  char *ca_cert;
  char *proxy;
  scw_query_t query;
  scw_group_by_t group_by;
  scw_label_mode_t label_mode;
  char currency[16];
  int refresh_interval; /* seconds */
  int timeout;          /* seconds, per HTTP request */
  int max_pages;
  int max_charges;
  int max_retries;      /* per page, within one refresh */
  int refresh_timeout;  /* seconds for one refresh; 0 until configured */
  size_t max_response;  /* bytes, <= SIZE_MAX by construction */
  int verify_peer;
  int verify_host;

  /* runtime */
  scw_slot_t slot;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_t thread;
  int thread_started;
  int attempted;   /* a refresh has finished, successfully or not */
  int refresh_now; /* the reader asks for an early refresh */
  atomic_int stop;
  /* API accounting, cumulative (DERIVE self-metrics). */
  atomic_uint_fast64_t requests;  /* HTTP requests sent */
  atomic_uint_fast64_t bytes;     /* response bytes received */
  atomic_uint_fast64_t pages;     /* pages parsed */
  atomic_uint_fast64_t retries;   /* requests repeated after a failure */
  atomic_uint_fast64_t throttled; /* HTTP 429 answers */
  atomic_uint_fast64_t errors;    /* failed refreshes */
  double last_read_cpu;          /* reader only: CPU s of the last read */
  /* Reader only: meta data of the current snapshot's series (and, last, of
   * the total), built once per snapshot instead of once per read. */
  meta_data_t **series_meta;
  size_t n_series_meta;
  uint64_t meta_generation;      /* snapshot generation they belong to */
  c_complain_t refresh_complaint; /* worker only: refresh failures */
  c_complain_t currency_complaint;/* worker only: skipped currencies */
  c_complain_t naming_complaint;  /* worker only: renamed labels */
  struct scw_org *next;          /* module-wide list */
} scw_org_t;

/* Allocates an org with defaults and its synchronisation objects. */
scw_org_t *scw_org_new(const char *name);
/* Stops and joins the worker if it runs, then frees everything. */
void scw_org_free(scw_org_t *org);

/* Worker control (scw_worker.c). */
int scw_worker_start(scw_org_t *org);
void scw_worker_signal_stop(scw_org_t *org);
void scw_worker_join(scw_org_t *org);
/* Waits until the first refresh has finished, at most max_wait_ms. */
void scw_worker_wait_first(scw_org_t *org, long max_wait_ms);
/* Asks the worker to refresh now (e.g. the month changed). */
void scw_worker_kick(scw_org_t *org);

#endif
