/* SPDX-License-Identifier: MIT */
/* scw_org.h - one <Organization> block, split by role:
 *   scw_org_config_t  what the block says (scw_config.c), read-only once
 *                     parsed, except the secret that the worker rotates;
 *   scw_worker_t      its refresh thread, schedule and snapshots
 *                     (scw_worker.h), testable without collectd's daemon;
 *   scw_org_t         the glue's record: both, plus what the read callback
 *                     caches between reads (scw_dispatch.c).
 * The pure core never sees any of them. */
#ifndef SCW_ORG_H
#define SCW_ORG_H

#include "collectd.h" /* first, as collectd requires */
#include "utils/metadata/meta_data.h"

#include <stddef.h>
#include <stdint.h>

#include "scw_agg.h"
#include "scw_budget.h"
#include "scw_query.h"
#include "scw_secret.h"
#include "scw_snapshot.h"

typedef struct {
  char *name; /* block name */
  char *host; /* Host, or the block name */
  char *organization_id;
  /* The worker replaces secret_key when key_file changes (its thread only,
   * once started); wiped before it is freed. key_file.path is NULL unless
   * the key came from SecretKeyFile. */
  char *secret_key;
  scw_secret_file_t key_file;
  char *url;
  char *ca_cert;
  char *proxy;
  scw_query_t query;
  scw_group_by_t group_by;
  scw_label_mode_t label_mode;
  char currency[16];
  int refresh_interval; /* seconds */
  int startup_spread;   /* seconds; -1 until configured (then the default) */
  int settle_period;    /* seconds after month end the closing month is
                           walked before it may turn final; 0: default */
  int timeout;          /* seconds, per HTTP request */
  int max_pages;
  int max_charges;
  int max_retries;      /* per page, within one refresh */
  int refresh_timeout;  /* seconds for one refresh; 0 until configured */
  size_t max_response;  /* bytes, <= SIZE_MAX by construction */
  int verify_peer;
  int verify_host;
  size_t max_series;    /* MaxSeries: series kept per walk, "other" included;
                           0: no cap */
  int send_metadata;    /* meta data on cost series: 1, 0, or -1 (auto:
                           whether a plugin that reads it is loaded) */
  scw_budgets_t budgets; /* Budget, <Project> Budget, BudgetThresholds */
} scw_org_config_t;

/* Series per walk unless MaxSeries says otherwise: GroupBy resource can
 * mean tens of thousands, each a file in Graphite (README, Scaling). */
#define SCW_DEFAULT_MAX_SERIES 5000

/* Defaults for block `name`; 0 on success, -1 on ENOMEM. */
int scw_org_config_init(scw_org_config_t *cfg, const char *name);
void scw_org_config_free(scw_org_config_t *cfg);

struct scw_worker;

/* What the read callback keeps between reads (reader thread only). */
typedef struct {
  /* Meta data of the last dispatched snapshot's series (and, last, of its
   * total), built once per snapshot instead of once per read. */
  meta_data_t **series_meta;
  size_t n_series_meta;
  const scw_snapshot_t *meta_of; /* the snapshot they belong to */
} scw_read_cache_t;

typedef struct scw_org {
  scw_org_config_t cfg;
  struct scw_worker *worker; /* created with the block, started by init */
  scw_read_cache_t current_cache, closing_cache;
  double last_read_cpu; /* reader only: CPU seconds of the previous read */
  struct scw_org *next; /* module-wide list */
} scw_org_t;

#endif
