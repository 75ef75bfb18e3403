/* SPDX-License-Identifier: MIT */
/* scw_worker.c - one refresh thread per organization.
 *
 * collectd's read threads are shared by every plugin, so the slow part (HTTP
 * pages) runs here and the read callback only dispatches the last complete
 * snapshot. The worker sleeps on a condition variable, so shutdown and the
 * reader's "the month changed" kick wake it at once, and a transfer in
 * flight is aborted through the cancel flag that libcurl polls. */
#include "scw_org.h"

#include "plugin.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scw_http.h"
#include "scw_refresh.h"

static struct timespec mono_deadline(double seconds_from_now) {
  double at = scw_monotonic_now() + (seconds_from_now > 0 ? seconds_from_now : 0);
  struct timespec ts = {.tv_sec = (time_t)at};
  ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
  return ts;
}

/* Delay before retrying after `failures` consecutive failed refreshes:
 * 30 s doubling, never more than the refresh interval. */
static int64_t retry_delay(unsigned failures, int refresh_interval) {
  int64_t delay = 30;
  for (unsigned i = 1; i < failures && delay < refresh_interval; i++)
    delay *= 2;
  return delay < refresh_interval ? delay : refresh_interval;
}

static void log_snapshot_notes(scw_org_t *org, const scw_snapshot_t *snap) {
  const scw_agg_t *agg = snap->agg;
  if (snap->skipped > 0)
    c_complain(LOG_WARNING, &org->currency_complaint,
               "scw_finops plugin: %s: skipped %zu charges in a currency other "
               "than %s (first: %s); to report them, add another "
               "<Organization> block with the same OrganizationID, its own "
               "Host and Currency \"%s\"",
               org->name, snap->skipped, snap->currency,
               agg->n_other_currencies > 0 ? agg->other_currencies[0] : "?",
               agg->n_other_currencies > 0 ? agg->other_currencies[0] : "?");
  else
    c_release(LOG_INFO, &org->currency_complaint,
              "scw_finops plugin: %s: no more charges in other currencies",
              org->name);
  if (snap->n_renamed > 0)
    c_complain(LOG_NOTICE, &org->naming_complaint,
               "scw_finops plugin: %s: %zu series names were shortened or given "
               "a hash suffix to stay unique; raw names are in meta data",
               org->name, snap->n_renamed);
}

/* Waits on the org's condition variable until `deadline`, shutdown, or
 * (when kickable) the reader's request for an early refresh, which it
 * consumes. Returns non-zero when stopping. */
static int wait_for_wake(scw_org_t *org, struct timespec deadline,
                         int kickable) {
  pthread_mutex_lock(&org->lock);
  while (!atomic_load(&org->stop) && !(kickable && org->refresh_now))
    if (pthread_cond_timedwait(&org->wake, &org->lock, &deadline) == ETIMEDOUT)
      break;
  if (kickable)
    org->refresh_now = 0;
  pthread_mutex_unlock(&org->lock);
  return atomic_load(&org->stop) ? 1 : 0;
}

/* Back-off sleeps are interrupted by shutdown, not by kicks. */
static int backoff_sleep(void *ctx, double seconds) {
  return wait_for_wake(ctx, mono_deadline(seconds), 0);
}

/* Jitter for back-off: each worker its own generator (rand is not
 * thread-safe), seeded differently so organizations do not retry in step. */
static double clock_random(void *ctx) {
  (void)ctx;
  static _Thread_local unsigned seed;
  if (seed == 0)
    seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
  return (double)rand_r(&seed) / ((double)RAND_MAX + 1.0);
}

/* Reads SecretKeyFile again when it changed (or, with force, always) and
 * hands a new key to the HTTP client. Returns 1 when the key changed. */
static int reload_secret(scw_org_t *org, scw_http_t *http, int force) {
  if (org->key_file.path == NULL)
    return 0; /* SecretKey or SecretKeyEnv: nothing to re-read */
  scw_error_t err = {0};
  int changed = scw_secret_reload(&org->key_file, &org->secret_key, force, &err);
  if (changed < 0) {
    ERROR("scw_finops plugin: %s: cannot re-read SecretKeyFile, keeping the "
          "key in use: %s", org->name, err.msg);
    return 0;
  }
  if (changed == 0)
    return 0;
  if (scw_http_set_secret(http, org->secret_key, &err) != SCW_OK) {
    ERROR("scw_finops plugin: %s: %s", org->name, err.msg);
    return 0;
  }
  INFO("scw_finops plugin: %s: SecretKeyFile \"%s\" changed: re-read, using "
       "the new key from now on", org->name, org->key_file.path);
  return 1;
}

/* What a 401 did about the key, for the error line. */
static const char *after_401(scw_org_t *org, int reread) {
  if (org->key_file.path == NULL)
    return "; the key comes from SecretKey or SecretKeyEnv: change it and "
           "restart collectd";
  return reread ? "; SecretKeyFile was re-read and holds a new key: retrying "
                  "now"
                : "; SecretKeyFile was re-read and holds the same key: write "
                  "the new key there, it is picked up without a restart";
}

/* One refresh; returns 0 on success, 1 when it failed with a 401 and a new
 * key was read since, -1 on other failures. */
static int refresh_once(scw_org_t *org, scw_http_t *http) {
  scw_clock_t clock = {NULL /* monotonic */, backoff_sleep, clock_random, org};
  scw_refresh_params_t params = {
      .query = &org->query,
      .group_by = org->group_by,
      .label_mode = org->label_mode,
      .currency = org->currency,
      .max_pages = (unsigned)org->max_pages,
      .max_charges = (size_t)org->max_charges,
      .max_retries = (unsigned)org->max_retries,
      .deadline = org->refresh_timeout,
      .clock = &clock,
  };
  scw_refresh_stats_t stats = {0};
  scw_error_t err = {0};
  scw_snapshot_t *snap = NULL;
  double started = scw_monotonic_now();
  scw_http_set_deadline(http, started + org->refresh_timeout);
  scw_rc_t rc = scw_refresh_run(&params, (int64_t)time(NULL), scw_http_fetch,
                                http, &snap, &stats, &err);
  scw_http_set_deadline(http, 0);
  atomic_fetch_add(&org->requests, stats.requests);
  atomic_fetch_add(&org->bytes, stats.bytes);
  atomic_fetch_add(&org->pages, stats.pages);
  atomic_fetch_add(&org->retries, stats.retries);
  atomic_fetch_add(&org->throttled, stats.throttled);
  if (rc == SCW_ERR_CANCELLED)
    return -1; /* shutdown: not an API fault */
  if (rc != SCW_OK) {
    int unauthenticated = rc == SCW_ERR_HTTP && stats.last_status == 401;
    int new_key = unauthenticated && reload_secret(org, http, 1);
    atomic_fetch_add(&org->errors, 1);
    c_complain(LOG_ERR, &org->refresh_complaint,
               "scw_finops plugin: %s: refresh failed, keeping the previous "
               "numbers: %s: %s%s%s%s%s",
               org->name, scw_strerror(rc), err.msg,
               stats.request_id[0] ? " (X-Request-Id " : "",
               stats.request_id, stats.request_id[0] ? ")" : "",
               unauthenticated ? after_401(org, new_key) : "");
    return new_key ? 1 : -1;
  }
  snap->created = (int64_t)time(NULL);
  snap->duration = scw_monotonic_now() - started;
  c_release(LOG_INFO, &org->refresh_complaint,
            "scw_finops plugin: %s: refresh succeeded again (%zu charges)",
            org->name, snap->charges);
  log_snapshot_notes(org, snap);
  scw_slot_publish(&org->slot, snap);
  return 0;
}

static void mark_attempted(scw_org_t *org) {
  pthread_mutex_lock(&org->lock);
  org->attempted = 1;
  pthread_cond_broadcast(&org->wake);
  pthread_mutex_unlock(&org->lock);
}

/* Sleeps until `at` (Unix seconds), a kick, or stop. */
static void sleep_until(scw_org_t *org, int64_t at) {
  wait_for_wake(org, mono_deadline((double)(at - (int64_t)time(NULL))), 1);
}

static void *worker_main(void *arg) {
  scw_org_t *org = arg;
  scw_http_config_t hc = {
      .secret_key = org->secret_key,
      .timeout_ms = org->timeout * 1000L,
      .verify_peer = org->verify_peer,
      .verify_host = org->verify_host,
      .ca_cert = org->ca_cert,
      .proxy = org->proxy,
      .max_response = org->max_response,
      .cancel = &org->stop,
  };
  scw_error_t err = {0};
  scw_http_t *http = scw_http_new(&hc, &err);
  if (http == NULL) {
    ERROR("scw_finops plugin: %s: cannot set up HTTP, this organization is "
          "not read: %s", org->name, err.msg);
    atomic_fetch_add(&org->errors, 1); /* visible, not a healthy errors=0 */
    mark_attempted(org);
    return NULL;
  }
  unsigned failures = 0;
  while (!atomic_load(&org->stop)) {
    reload_secret(org, http, 0);
    int rc = refresh_once(org, http);
    if (rc == 1) /* a 401, and the key file held a new key: use it now */
      rc = refresh_once(org, http);
    int ok = rc == 0;
    mark_attempted(org);
    failures = ok ? 0 : failures + 1;
    int64_t now = (int64_t)time(NULL);
    int64_t next = now + (ok ? org->refresh_interval
                             : retry_delay(failures, org->refresh_interval));
    /* A new month starts from zero: refresh right after midnight UTC. */
    int64_t month = scw_next_month_start(now) + 1;
    sleep_until(org, next < month ? next : month);
  }
  scw_http_free(http);
  return NULL;
}

int scw_worker_start(scw_org_t *org) {
  /* plugin_thread_create copies our plugin context (log prefix, interval
   * for c_complain) into the thread and names it. */
  int status = plugin_thread_create(&org->thread, worker_main, org, "scw_finops");
  if (status != 0) {
    ERROR("scw_finops plugin: %s: cannot start the refresh thread: %s",
          org->name, strerror(status));
    return -1;
  }
  org->thread_started = 1;
  return 0;
}

void scw_worker_signal_stop(scw_org_t *org) {
  pthread_mutex_lock(&org->lock);
  atomic_store(&org->stop, 1);
  pthread_cond_broadcast(&org->wake);
  pthread_mutex_unlock(&org->lock);
}

void scw_worker_join(scw_org_t *org) {
  if (!org->thread_started)
    return;
  pthread_join(org->thread, NULL);
  org->thread_started = 0;
}

void scw_worker_wait_first(scw_org_t *org, long max_wait_ms) {
  struct timespec deadline = mono_deadline((double)max_wait_ms / 1000.0);
  pthread_mutex_lock(&org->lock);
  while (!org->attempted && !atomic_load(&org->stop) && org->thread_started) {
    if (pthread_cond_timedwait(&org->wake, &org->lock, &deadline) == ETIMEDOUT)
      break;
  }
  pthread_mutex_unlock(&org->lock);
}

void scw_worker_kick(scw_org_t *org) {
  pthread_mutex_lock(&org->lock);
  org->refresh_now = 1;
  pthread_cond_broadcast(&org->wake);
  pthread_mutex_unlock(&org->lock);
}
