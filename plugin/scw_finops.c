/* SPDX-License-Identifier: MIT */
/* scw_finops.c - the collectd glue: configuration entry point, init,
 * shutdown, and the read callback that dispatches the latest snapshot.
 *
 * Data path: scw_config.c (block -> scw_org_t) -> scw_worker.c (thread) ->
 * scw_http.c (page fetch) -> scw_charge.c (page parse) -> scw_agg.c (sums) ->
 * scw_snapshot.c (names, hand-over) -> here (dispatch). */
#include "scw_org.h"

#include "plugin.h"
#include "utils/common/common.h"

#include <curl/curl.h>
#include <string.h>
#include <time.h>

#include "scw_config.h"
#include "scw_money.h"
#include "scw_naming.h"
#include "scw_time.h"

#define PLUGIN_NAME "scw_finops"
/* The first read after start waits this long for the first refresh, so that
 * `collectd -T` and the first interval already carry costs. Short, because
 * collectd cannot stop while a read callback blocks. */
#define FIRST_READ_WAIT_MS 5000L
/* Longest meta data value, bytes with the NUL. collectd 5.12's JSON
 * formatter (write_http) escapes each string into a 512-byte buffer and drops
 * the whole value list when it does not fit; 240 bytes stay below that even
 * if every byte needs a backslash. */
#define SCW_META_MAX 241

/* The pure core names series without collectd's headers: its buffers must
 * be exactly collectd's identifier parts, or sstrncpy would cut names. */
_Static_assert(SCW_NAME_SIZE == DATA_MAX_NAME_LEN,
               "SCW_NAME_SIZE must equal collectd's DATA_MAX_NAME_LEN");
_Static_assert(sizeof(((scw_series_t *)0)->plugin_instance) ==
                   sizeof(((value_list_t *)0)->plugin_instance),
               "series plugin_instance must fit value_list_t's");
_Static_assert(sizeof(((scw_series_t *)0)->type_instance) ==
                   sizeof(((value_list_t *)0)->type_instance),
               "series type_instance must fit value_list_t's");

static scw_org_t *orgs; /* every configured organization */
static pthread_mutex_t orgs_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- dispatch ---------------------------------------------------------- */

typedef struct {
  const char *key;
  const char *value;
} meta_kv_t;

/* Meta data from raw Scaleway strings: never control bytes or broken UTF-8
 * (they would reach JSON writers and logs), and bounded like everything
 * else. NULL values are left out. */
static meta_data_t *build_meta(const meta_kv_t *kv, size_t n) {
  meta_data_t *md = meta_data_create();
  for (size_t i = 0; md != NULL && i < n; i++)
    if (kv[i].value != NULL) {
      char safe[SCW_META_MAX];
      scw_meta_safe(kv[i].value, safe, sizeof(safe));
      meta_data_add_string(md, kv[i].key, safe);
    }
  return md;
}

static void meta_cache_free(scw_org_t *org) {
  for (size_t i = 0; i < org->n_series_meta; i++)
    meta_data_destroy(org->series_meta[i]);
  free(org->series_meta);
  org->series_meta = NULL;
  org->n_series_meta = 0;
  org->meta_generation = 0;
}

/* Meta data for every series of snap (index n_series: the total). Built
 * when a new snapshot is first dispatched; dispatch copies meta data, so
 * the same objects serve every read of that snapshot. */
static void meta_cache_update(scw_org_t *org, const scw_snapshot_t *snap) {
  if (org->meta_generation == snap->generation && org->series_meta != NULL)
    return;
  meta_cache_free(org);
  org->series_meta = calloc(snap->n_series + 1, sizeof(*org->series_meta));
  if (org->series_meta == NULL)
    return; /* dispatch without meta data rather than not at all */
  org->n_series_meta = snap->n_series + 1;
  org->meta_generation = snap->generation;
  for (size_t i = 0; i < snap->n_series; i++) {
    const scw_series_t *s = &snap->series[i];
    meta_kv_t kv[] = {
        {"project_id", s->project_id},     {"project_name", s->project_name},
        {"sku", s->sku},                   {"resource_id", s->resource_id},
        {"resource_name", s->resource_name}, {"currency", snap->currency},
        {"billing_period", snap->period},
    };
    org->series_meta[i] = build_meta(kv, STATIC_ARRAY_SIZE(kv));
  }
  meta_kv_t kv[] = {
      {"organization_id", org->organization_id},
      {"currency", snap->currency},
      {"billing_period", snap->period},
  };
  org->series_meta[snap->n_series] = build_meta(kv, STATIC_ARRAY_SIZE(kv));
}

static void submit(const scw_org_t *org, const char *plugin_instance,
                   const char *type, const char *type_instance, value_t value,
                   meta_data_t *meta) {
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = &value;
  vl.values_len = 1;
  sstrncpy(vl.host, org->host, sizeof(vl.host));
  sstrncpy(vl.plugin, PLUGIN_NAME, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, plugin_instance, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, type, sizeof(vl.type));
  sstrncpy(vl.type_instance, type_instance, sizeof(vl.type_instance));
  vl.meta = meta; /* dispatch deep-copies it; the cache keeps ours */
  plugin_dispatch_values(&vl);
}

static void submit_gauge(const scw_org_t *org, const char *type,
                         const char *type_instance, double v) {
  submit(org, "", type, type_instance, (value_t){.gauge = v}, NULL);
}

static void submit_derive(const scw_org_t *org, const char *type,
                          const char *type_instance,
                          const atomic_uint_fast64_t *counter) {
  submit(org, "", type, type_instance,
         (value_t){.derive = (derive_t)atomic_load(counter)}, NULL);
}

static void submit_costs(scw_org_t *org, const scw_snapshot_t *snap) {
  meta_cache_update(org, snap);
  meta_data_t **meta = org->series_meta;
  for (size_t i = 0; i < snap->n_series; i++) {
    const scw_series_t *s = &snap->series[i];
    submit(org, s->plugin_instance, "currency", s->type_instance,
           (value_t){.gauge = scw_money_to_double(s->nanos)},
           meta ? meta[i] : NULL);
  }
  submit(org, "", "currency", "total",
         (value_t){.gauge = scw_money_to_double(snap->total_nanos)},
         meta ? meta[snap->n_series] : NULL);
}

/* Costs are only published while they describe this month and are fresh. */
static int costs_publishable(scw_org_t *org, const scw_snapshot_t *snap,
                             int64_t now) {
  char period[8];
  scw_period_of(now, period, sizeof(period));
  if (strcmp(period, snap->period) != 0) {
    scw_worker_kick(org); /* a new month: refresh now */
    return 0;
  }
  return now - snap->created <= 3 * (int64_t)org->refresh_interval;
}

static double thread_cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int scw_read(user_data_t *ud) {
  scw_org_t *org = ud->data;
  scw_worker_wait_first(org, FIRST_READ_WAIT_MS); /* no-op after the first */
  double cpu_start = thread_cpu_seconds();
  /* What this callback costs collectd, reported one read late. */
  submit_gauge(org, "duration", "read_cpu", org->last_read_cpu);

  submit_derive(org, "http_requests", "", &org->requests);
  submit_derive(org, "errors", "", &org->errors);
  submit_derive(org, "derive", "api_bytes", &org->bytes);
  submit_derive(org, "derive", "api_pages", &org->pages);
  submit_derive(org, "derive", "api_retries", &org->retries);
  submit_derive(org, "derive", "api_throttled", &org->throttled);

  scw_snapshot_t *snap = scw_slot_acquire(&org->slot);
  if (snap == NULL) {
    org->last_read_cpu = thread_cpu_seconds() - cpu_start;
    return 0;
  }
  int64_t now = (int64_t)time(NULL);
  submit_gauge(org, "count", "charges", (double)snap->charges);
  submit_gauge(org, "count", "skipped_charges", (double)snap->skipped);
  submit_gauge(org, "duration", "refresh", snap->duration);
  submit_gauge(org, "duration", "snapshot_age", (double)(now - snap->created));
  if (costs_publishable(org, snap, now))
    submit_costs(org, snap);
  scw_snapshot_release(snap);
  org->last_read_cpu = thread_cpu_seconds() - cpu_start;
  return 0;
}

/* ---- lifecycle --------------------------------------------------------- */

static void stop_all_workers(void) {
  pthread_mutex_lock(&orgs_lock);
  for (scw_org_t *o = orgs; o != NULL; o = o->next)
    scw_worker_signal_stop(o);
  pthread_mutex_unlock(&orgs_lock);
}

static void read_callback_name(const scw_org_t *org, char *buf, size_t size) {
  snprintf(buf, size, PLUGIN_NAME "/%s", org->name);
}

/* user_data free_func: collectd destroys read callbacks before it calls
 * shutdown callbacks (and when one is unregistered), so this is where a
 * worker ends: this organization's only, the others keep running. */
static void org_release(void *data) {
  scw_org_t *org = data;
  pthread_mutex_lock(&orgs_lock);
  for (scw_org_t **p = &orgs; *p != NULL; p = &(*p)->next)
    if (*p == org) {
      *p = org->next;
      break;
    }
  pthread_mutex_unlock(&orgs_lock);
  meta_cache_free(org);
  scw_org_free(org);
}

/* A block whose name or Host another block has already: they would be
 * indistinguishable (same callback, or same identifiers whose values
 * interleave in every writer). */
static int check_unique(const scw_org_t *org) {
  for (const scw_org_t *o = orgs; o != NULL; o = o->next) {
    if (strcmp(o->name, org->name) == 0) {
      ERROR("scw_finops plugin: Organization \"%s\" is configured twice",
            org->name);
      return -1;
    }
    if (strcmp(o->host, org->host) == 0) {
      ERROR("scw_finops plugin: Organization \"%s\": Host \"%s\" is already "
            "used by Organization \"%s\": both would dispatch the same "
            "identifiers; give each block its own Host",
            org->name, org->host, o->name);
      return -1;
    }
  }
  return 0;
}

static int scw_config(oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++) {
    oconfig_item_t *child = &ci->children[i];
    if (strcasecmp(child->key, "Organization") != 0) {
      ERROR("scw_finops plugin: unknown option \"%s\"; only <Organization> "
            "blocks are allowed here", child->key);
      return -1;
    }
    scw_org_t *org = scw_config_organization(child);
    if (org == NULL)
      return -1;
    if (check_unique(org) != 0) {
      scw_org_free(org);
      return -1;
    }
    char cb_name[DATA_MAX_NAME_LEN];
    read_callback_name(org, cb_name, sizeof(cb_name));
    pthread_mutex_lock(&orgs_lock);
    org->next = orgs;
    orgs = org;
    pthread_mutex_unlock(&orgs_lock);
    /* On failure collectd frees org through org_release. The group lets
     * init unregister every organization at once. */
    if (plugin_register_complex_read(PLUGIN_NAME, cb_name, scw_read, 0,
                                     &(user_data_t){.data = org,
                                                    .free_func = org_release}) != 0)
      return -1;
  }
  return 0;
}

static int scw_init(void) {
  static int curl_ready;
  /* Still single-threaded here, as curl_global_init requires. A read
   * callback without its worker would dispatch errors=0 forever, which looks
   * healthy: failed organizations are unregistered (their user data is then
   * freed by collectd). */
  if (!curl_ready && curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
    ERROR("scw_finops plugin: curl_global_init failed; no organization is "
          "read");
    plugin_unregister_read_group(PLUGIN_NAME);
    return -1;
  }
  curl_ready = 1;
  size_t started = 0, failed = 0, n = 0;
  pthread_mutex_lock(&orgs_lock);
  for (scw_org_t *o = orgs; o != NULL; o = o->next)
    n++;
  char(*failed_names)[DATA_MAX_NAME_LEN] = calloc(n, DATA_MAX_NAME_LEN);
  for (scw_org_t *o = orgs; o != NULL; o = o->next) {
    if (o->thread_started)
      continue; /* init ran before (it runs once per daemon, but be safe) */
    if (scw_worker_start(o) == 0)
      started++;
    else if (failed_names != NULL)
      read_callback_name(o, failed_names[failed++], DATA_MAX_NAME_LEN);
    else
      failed++;
  }
  pthread_mutex_unlock(&orgs_lock);
  /* Outside orgs_lock: unregistering may free an org (org_release). */
  if (failed_names == NULL && failed > 0)
    plugin_unregister_read_group(PLUGIN_NAME); /* no memory to name them */
  for (size_t i = 0; failed_names != NULL && i < failed; i++)
    plugin_unregister_read(failed_names[i]);
  free(failed_names);
  if (failed > 0)
    ERROR("scw_finops plugin: %zu of %zu organizations could not start and "
          "are not read (see above)", failed, started + failed);
  return failed > 0 && started == 0 ? -1 : 0;
}

static int scw_shutdown(void) {
  /* Normally org_release already ran; this covers anything left. */
  stop_all_workers();
  pthread_mutex_lock(&orgs_lock);
  for (scw_org_t *o = orgs; o != NULL; o = o->next)
    scw_worker_join(o);
  pthread_mutex_unlock(&orgs_lock);
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, scw_config);
  plugin_register_init(PLUGIN_NAME, scw_init);
  plugin_register_shutdown(PLUGIN_NAME, scw_shutdown);
}
