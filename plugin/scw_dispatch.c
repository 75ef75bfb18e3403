/* SPDX-License-Identifier: MIT */
/* scw_dispatch.c - the read callback's body; see scw_dispatch.h. */
#include "scw_dispatch.h"

#include "plugin.h"
#include "utils/common/common.h"

#include <string.h>
#include <time.h>

#include "scw_budget.h"
#include "scw_money.h"
#include "scw_naming.h"
#include "scw_worker.h"

#define PLUGIN_NAME "scw_finops"
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

void scw_read_cache_free(scw_read_cache_t *c) {
  for (size_t i = 0; i < c->n_series_meta; i++)
    meta_data_destroy(c->series_meta[i]);
  free(c->series_meta);
  scw_snapshot_release((scw_snapshot_t *)c->meta_of);
  c->series_meta = NULL;
  c->n_series_meta = 0;
  c->meta_of = NULL;
}

/* Meta data for every series of snap (index n_series: the total), built
 * when a snapshot is first dispatched; dispatch copies meta data, so the
 * same objects serve every read of it. The cache holds a reference to snap,
 * so the pointer comparison cannot be fooled by a reused address. */
static void cache_update(const scw_org_t *org, scw_read_cache_t *c,
                         scw_snapshot_t *snap) {
  if (c->meta_of == snap && c->series_meta != NULL)
    return;
  if (!org->cfg.send_metadata) {
    scw_read_cache_free(c);
    return;
  }
  scw_read_cache_free(c);
  c->series_meta = calloc(snap->n_series + 1, sizeof(*c->series_meta));
  if (c->series_meta == NULL)
    return; /* dispatch without meta data rather than not at all */
  atomic_fetch_add(&snap->refs, 1);
  c->meta_of = snap;
  c->n_series_meta = snap->n_series + 1;
  for (size_t i = 0; i < snap->n_series; i++) {
    const scw_series_t *s = &snap->series[i];
    meta_kv_t kv[] = {
        {"project_id", s->project_id},     {"project_name", s->project_name},
        {"sku", s->sku},                   {"resource_id", s->resource_id},
        {"resource_name", s->resource_name}, {"currency", snap->currency},
        {"billing_period", snap->period},
    };
    c->series_meta[i] = build_meta(kv, STATIC_ARRAY_SIZE(kv));
  }
  meta_kv_t kv[] = {
      {"organization_id", org->cfg.organization_id},
      {"currency", snap->currency},
      {"billing_period", snap->period},
  };
  c->series_meta[snap->n_series] = build_meta(kv, STATIC_ARRAY_SIZE(kv));
}

static void submit(const scw_org_t *org, const char *plugin_instance,
                   const char *type, const char *type_instance, value_t value,
                   meta_data_t *meta) {
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = &value;
  vl.values_len = 1;
  sstrncpy(vl.host, org->cfg.host, sizeof(vl.host));
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
                          const char *type_instance, uint64_t v) {
  submit(org, "", type, type_instance, (value_t){.derive = (derive_t)v}, NULL);
}

/* Every series of snap, and its total, under `type`. */
static void submit_costs(const scw_org_t *org, scw_read_cache_t *cache,
                         scw_snapshot_t *snap, const char *type) {
  cache_update(org, cache, snap);
  meta_data_t **meta = cache->meta_of == snap ? cache->series_meta : NULL;
  for (size_t i = 0; i < snap->n_series; i++) {
    const scw_series_t *s = &snap->series[i];
    submit(org, s->plugin_instance, type, s->type_instance,
           (value_t){.gauge = scw_money_to_double(s->nanos)},
           meta ? meta[i] : NULL);
  }
  submit(org, "", type, "total",
         (value_t){.gauge = scw_money_to_double(snap->total_nanos)},
         meta ? meta[snap->n_series] : NULL);
}

/* Forecasts (scw_forecast.h) and budget use, in percent of the budget:
 * type budget_percent, not collectd's percent, whose maximum of 100.1 makes
 * collectd's cache (and so the threshold plugin) see an overrun as NaN. */
static void submit_outlook(const scw_org_t *org, const scw_snapshot_t *snap) {
  if (snap->forecast_nanos >= 0)
    submit_gauge(org, "currency_forecast", "total",
                 scw_money_to_double(snap->forecast_nanos));
  for (size_t i = 0; i < snap->n_projects; i++) {
    const scw_project_cost_t *p = &snap->projects[i];
    if (p->forecast_nanos >= 0)
      submit(org, p->plugin_instance, "currency_forecast", "",
             (value_t){.gauge = scw_money_to_double(p->forecast_nanos)}, NULL);
  }
  const scw_budgets_t *b = &org->cfg.budgets;
  for (size_t i = 0; i < b->n_budgets; i++) {
    const scw_budget_t *budget = &b->budgets[i];
    int64_t mtd, forecast;
    const scw_project_cost_t *p =
        scw_budget_amounts(budget, snap, &mtd, &forecast);
    if (budget->project != NULL && p == NULL)
      continue; /* no cost this month yet: no series name either */
    const char *pi = p != NULL ? p->plugin_instance : "";
    double whole = scw_money_to_double(budget->budget_nanos);
    submit(org, pi, "budget_percent", "used",
           (value_t){.gauge = 100.0 * scw_money_to_double(mtd) / whole}, NULL);
    if (forecast >= 0)
      submit(org, pi, "budget_percent", "forecast",
             (value_t){.gauge = 100.0 * scw_money_to_double(forecast) / whole},
             NULL);
  }
}

/* A month without a walk yet: nothing has been charged as far as we know. */
static void submit_empty_month(const scw_org_t *org, const char *period) {
  meta_kv_t kv[] = {
      {"organization_id", org->cfg.organization_id},
      {"currency", org->cfg.currency},
      {"billing_period", period},
  };
  meta_data_t *md =
      org->cfg.send_metadata ? build_meta(kv, STATIC_ARRAY_SIZE(kv)) : NULL;
  submit(org, "", "currency", "total", (value_t){.gauge = 0}, md);
  meta_data_destroy(md);
}

static void submit_self(const scw_org_t *org) {
  scw_worker_counts_t n;
  scw_worker_counts(org->worker, &n);
  submit_derive(org, "http_requests", "", n.requests);
  submit_derive(org, "errors", "", n.errors);
  submit_derive(org, "derive", "api_bytes", n.bytes);
  submit_derive(org, "derive", "api_pages", n.pages);
  submit_derive(org, "derive", "api_retries", n.retries);
  submit_derive(org, "derive", "api_throttled", n.throttled);
  submit_derive(org, "derive", "api_requests_closing", n.closing_requests);
}

/* The month to date: the current snapshot while it is of this month and
 * fresh, 0 for a month without a walk yet; an old month's snapshot asks for
 * a walk instead. */
static void dispatch_current(scw_org_t *org, scw_snapshot_t *cur,
                             const scw_worker_view_t *view, int64_t now) {
  int this_month = cur != NULL && strcmp(cur->period, view->current_period) == 0;
  if (this_month) {
    if (now - cur->created <= 3 * (int64_t)org->cfg.refresh_interval) {
      submit_costs(org, &org->current_cache, cur, "currency");
      submit_outlook(org, cur);
    }
  } else if (view->publish_empty) {
    submit_empty_month(org, view->current_period);
  } else if (cur != NULL) {
    scw_worker_kick(org->worker, now, cur->generation);
  }
}

/* The closing month, all month: its own walks, or until the first one, the
 * last month-to-date snapshot of that month. */
static void dispatch_closing(scw_org_t *org, scw_snapshot_t *cur,
                             const scw_worker_view_t *view) {
  if (view->closing == SCW_CLOSING_NONE)
    return;
  scw_snapshot_t *prev = scw_worker_acquire(org->worker, SCW_SLOT_CLOSING);
  if (prev != NULL && strcmp(prev->period, view->closing_period) != 0) {
    scw_snapshot_release(prev);
    prev = NULL;
  }
  if (prev == NULL && cur != NULL &&
      strcmp(cur->period, view->closing_period) == 0) {
    atomic_fetch_add(&cur->refs, 1);
    prev = cur;
  }
  if (prev == NULL)
    return;
  submit_costs(org, &org->closing_cache, prev, "currency_previous");
  submit_gauge(org, "gauge", "previous_final",
               view->closing == SCW_CLOSING_FINAL ? 1.0 : 0.0);
  scw_snapshot_release(prev);
}

static double thread_cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void scw_dispatch_read(scw_org_t *org, int64_t now) {
  double cpu_start = thread_cpu_seconds();
  /* What this callback costs collectd, reported one read late. */
  submit_gauge(org, "duration", "read_cpu", org->last_read_cpu);
  submit_self(org);
  scw_worker_view_t view;
  scw_worker_view(org->worker, now, &view);
  scw_snapshot_t *cur = scw_worker_acquire(org->worker, SCW_SLOT_CURRENT);
  if (cur != NULL) {
    submit_gauge(org, "count", "charges", (double)cur->charges);
    submit_gauge(org, "count", "skipped_charges", (double)cur->skipped);
    submit_gauge(org, "count", "folded_groups", (double)cur->folded);
    submit_gauge(org, "duration", "refresh", cur->duration);
    submit_gauge(org, "duration", "snapshot_age", (double)(now - cur->created));
  }
  dispatch_current(org, cur, &view, now);
  dispatch_closing(org, cur, &view);
  scw_snapshot_release(cur);
  org->last_read_cpu = thread_cpu_seconds() - cpu_start;
}
