/* SPDX-License-Identifier: MIT */
/* scw_worker.c - one refresh worker per organization; see scw_worker.h.
 *
 * collectd's read threads are shared by every plugin, so the slow part (HTTP
 * pages) runs here. The schedule (scw_schedule.c) decides every walk; this
 * file carries them out, publishes the snapshots, keeps the accounting and
 * writes the state file. */
#include "scw_worker.h"

#include "plugin.h"
#include "utils_complain.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scw_fold.h"
#include "scw_forecast.h"
#include "scw_http.h"
#include "scw_notify.h"
#include "scw_state.h"
#include "scw_time.h"

struct scw_worker {
  scw_org_config_t *cfg;
  scw_sched_config_t sched_cfg;
  unsigned org_index;
  uint64_t seed;

  pthread_mutex_t lock; /* sched, kick_pending; pairs with wake */
  pthread_cond_t wake;  /* CLOCK_MONOTONIC */
  scw_sched_state_t sched;
  int kick_pending;

  scw_slot_t slots[2]; /* SCW_SLOT_CURRENT, SCW_SLOT_CLOSING */
  atomic_uint_fast64_t requests, bytes, pages, retries, throttled, errors,
      closing_requests;

  pthread_t thread;
  int thread_started;
  atomic_int stop;
  scw_clock_t clock;    /* back-off sleeps inside a walk */
  char *state_path;     /* NULL: no state file */
  /* Worker thread only (and scw_worker_use_state before it starts). */
  scw_history_t history; /* month-to-date samples for the forecast */
  scw_alerts_t alerts;   /* budget crossings announced this period */
  c_complain_t refresh_complaint, currency_complaint, naming_complaint,
      state_complaint;
};

/* ---- sleeping --------------------------------------------------------- */

static struct timespec mono_deadline(double seconds_from_now) {
  double at = scw_monotonic_now() + (seconds_from_now > 0 ? seconds_from_now : 0);
  struct timespec ts = {.tv_sec = (time_t)at};
  ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
  return ts;
}

/* Waits until `deadline`, shutdown, or (kickable) an accepted kick, which
 * it consumes. Returns non-zero when stopping. */
static int wait_for_wake(scw_worker_t *w, struct timespec deadline,
                         int kickable) {
  pthread_mutex_lock(&w->lock);
  while (!atomic_load(&w->stop) && !(kickable && w->kick_pending))
    if (pthread_cond_timedwait(&w->wake, &w->lock, &deadline) == ETIMEDOUT)
      break;
  if (kickable)
    w->kick_pending = 0;
  pthread_mutex_unlock(&w->lock);
  return atomic_load(&w->stop) ? 1 : 0;
}

/* Back-off inside a walk is interrupted by shutdown, not by kicks. */
static int backoff_sleep(void *ctx, double seconds) {
  return wait_for_wake(ctx, mono_deadline(seconds), 0);
}

/* Jitter for retries: each worker its own generator, seeded apart. */
static double worker_random(void *ctx) {
  scw_worker_t *w = ctx;
  w->seed = w->seed * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(w->seed >> 11) / 9007199254740992.0;
}

/* ---- lifetime --------------------------------------------------------- */

static void sched_config(scw_worker_t *w) {
  const scw_org_config_t *cfg = w->cfg;
  scw_sched_config_default(&w->sched_cfg, cfg->refresh_interval);
  if (cfg->settle_period > 0)
    w->sched_cfg.settle = cfg->settle_period;
  if (cfg->startup_spread >= 0) /* 0: every organization at once */
    w->sched_cfg.startup_spread = cfg->startup_spread > 0 ? cfg->startup_spread : -1;
}

scw_worker_t *scw_worker_new(scw_org_config_t *cfg, unsigned org_index,
                             uint64_t seed, int64_t now) {
  scw_worker_t *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return NULL;
  w->cfg = cfg;
  w->org_index = org_index;
  w->seed = seed ^ ((uint64_t)org_index * 0x9E3779B97F4A7C15ULL) ^ 1;
  sched_config(w);
  scw_sched_init(&w->sched, &w->sched_cfg, now, org_index, seed);
  pthread_mutex_init(&w->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w->wake, &attr);
  pthread_condattr_destroy(&attr);
  for (int i = 0; i < 2; i++)
    scw_slot_init(&w->slots[i]);
  w->clock = (scw_clock_t){NULL, backoff_sleep, worker_random, w};
  C_COMPLAIN_INIT(&w->refresh_complaint);
  C_COMPLAIN_INIT(&w->currency_complaint);
  C_COMPLAIN_INIT(&w->naming_complaint);
  C_COMPLAIN_INIT(&w->state_complaint);
  return w;
}

void scw_worker_free(scw_worker_t *w) {
  if (w == NULL)
    return;
  scw_worker_signal_stop(w);
  scw_worker_join(w);
  for (int i = 0; i < 2; i++)
    scw_slot_destroy(&w->slots[i]);
  scw_history_free(&w->history);
  scw_alerts_free(&w->alerts);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  free(w->state_path);
  free(w);
}

void scw_worker_set_clock(scw_worker_t *w, const scw_clock_t *clock) {
  w->clock = *clock;
}

/* ---- state file ------------------------------------------------------- */

static void state_identity(const scw_worker_t *w, scw_state_t *st) {
  memset(st, 0, sizeof(*st));
  st->organization_id = w->cfg->organization_id;
  st->group_by = w->cfg->group_by;
  st->label_mode = w->cfg->label_mode;
  st->currency = w->cfg->currency;
}

void scw_worker_use_state(scw_worker_t *w, const char *path, int64_t now) {
  free(w->state_path);
  w->state_path = path != NULL ? strdup(path) : NULL;
  if (w->state_path == NULL)
    return;
  scw_state_t st;
  state_identity(w, &st);
  st.history = &w->history;
  st.alerts = &w->alerts;
  scw_error_t err = {0};
  scw_rc_t rc = scw_state_load(w->state_path, &st, &err);
  if (rc != SCW_OK) {
    if (rc != SCW_ERR_NOT_FOUND)
      WARNING("scw_finops plugin: %s: ignoring the state file: %s",
              w->cfg->name, err.msg);
    return;
  }
  pthread_mutex_lock(&w->lock);
  w->sched = st.sched;
  if (scw_sched_restore(&w->sched, &w->sched_cfg, now, w->org_index,
                        w->seed) != 0)
    WARNING("scw_finops plugin: %s: the saved schedule was not plausible "
            "and was started afresh", w->cfg->name);
  pthread_mutex_unlock(&w->lock);
  for (int i = 0; i < 2; i++)
    if (st.snaps[i] != NULL) {
      scw_slot_publish(&w->slots[i], st.snaps[i]);
      st.snaps[i] = NULL;
    }
  INFO("scw_finops plugin: %s: state restored from \"%s\"", w->cfg->name,
       w->state_path);
}

static void save_state(scw_worker_t *w, int64_t now) {
  if (w->state_path == NULL)
    return;
  scw_state_t st;
  state_identity(w, &st);
  st.saved = now;
  st.history = &w->history;
  st.alerts = &w->alerts;
  pthread_mutex_lock(&w->lock);
  st.sched = w->sched;
  pthread_mutex_unlock(&w->lock);
  for (int i = 0; i < 2; i++)
    st.snaps[i] = scw_slot_acquire(&w->slots[i]);
  scw_error_t err = {0};
  if (scw_state_save(w->state_path, &st, &err) != SCW_OK)
    c_complain(LOG_WARNING, &w->state_complaint,
               "scw_finops plugin: %s: cannot write the state file: %s",
               w->cfg->name, err.msg);
  else
    c_release(LOG_INFO, &w->state_complaint,
              "scw_finops plugin: %s: state file written again", w->cfg->name);
  for (int i = 0; i < 2; i++)
    scw_snapshot_release(st.snaps[i]);
}

/* ---- one walk --------------------------------------------------------- */

static void log_snapshot_notes(scw_worker_t *w, const scw_snapshot_t *snap) {
  const scw_agg_t *agg = snap->agg;
  const char *other = agg->n_other_currencies > 0 ? agg->other_currencies[0] : "?";
  if (snap->skipped > 0)
    c_complain(LOG_WARNING, &w->currency_complaint,
               "scw_finops plugin: %s: skipped %zu charges in a currency other "
               "than %s (first: %s); to report them, add another "
               "<Organization> block with the same OrganizationID, its own "
               "Host and Currency \"%s\"",
               w->cfg->name, snap->skipped, snap->currency, other, other);
  else
    c_release(LOG_INFO, &w->currency_complaint,
              "scw_finops plugin: %s: no more charges in other currencies",
              w->cfg->name);
  if (snap->n_renamed > 0)
    c_complain(LOG_NOTICE, &w->naming_complaint,
               "scw_finops plugin: %s: %zu series names were shortened, kept "
               "from earlier in the month or given a hash suffix to stay "
               "unique; raw names are in meta data",
               w->cfg->name, snap->n_renamed);
}

/* Reads SecretKeyFile again when it changed (or, with force, always) and
 * hands a new key to the transport. Returns 1 when the key changed. */
static int reload_secret(scw_worker_t *w, const scw_worker_io_t *io, int force) {
  scw_org_config_t *cfg = w->cfg;
  if (cfg->key_file.path == NULL)
    return 0; /* SecretKey or SecretKeyEnv: nothing to re-read */
  scw_error_t err = {0};
  int changed = scw_secret_reload(&cfg->key_file, &cfg->secret_key, force, &err);
  if (changed < 0) {
    ERROR("scw_finops plugin: %s: cannot re-read SecretKeyFile, keeping the "
          "key in use: %s", cfg->name, err.msg);
    return 0;
  }
  if (changed == 0)
    return 0;
  if (io->set_secret != NULL &&
      io->set_secret(io->ctx, cfg->secret_key, &err) != SCW_OK) {
    ERROR("scw_finops plugin: %s: %s", cfg->name, err.msg);
    return 0;
  }
  INFO("scw_finops plugin: %s: SecretKeyFile \"%s\" changed: re-read, using "
       "the new key from now on", cfg->name, cfg->key_file.path);
  return 1;
}

/* What a 401 did about the key, for the error line. */
static const char *after_401(const scw_org_config_t *cfg, int reread) {
  if (cfg->key_file.path == NULL)
    return "; the key comes from SecretKey or SecretKeyEnv: change it and "
           "restart collectd";
  return reread ? "; SecretKeyFile was re-read and holds a new key: retrying "
                  "now"
                : "; SecretKeyFile was re-read and holds the same key: write "
                  "the new key there, it is picked up without a restart";
}

/* The newest snapshot of `period` in either slot: its names are honoured
 * (at midnight the closing month's names are in the current slot). */
static scw_snapshot_t *names_source(scw_worker_t *w, const char *period) {
  scw_snapshot_t *best = NULL;
  for (int i = 0; i < 2; i++) {
    scw_snapshot_t *s = scw_slot_acquire(&w->slots[i]);
    if (s != NULL && strcmp(s->period, period) == 0 &&
        (best == NULL || s->created > best->created)) {
      scw_snapshot_release(best);
      best = s;
    } else {
      scw_snapshot_release(s);
    }
  }
  return best;
}

/* 64-bit FNV-1a over what a walk found (names and amounts): two walks with
 * the same fingerprint saw the same month. */
static uint64_t fingerprint(const scw_snapshot_t *snap) {
  uint64_t h = SCW_FNV64_INIT;
  for (size_t i = 0; i < snap->n_series; i++) {
    const scw_series_t *s = &snap->series[i];
    h = scw_fnv64(h, s->plugin_instance, strlen(s->plugin_instance) + 1);
    h = scw_fnv64(h, s->type_instance, strlen(s->type_instance) + 1);
    h = scw_fnv64(h, &s->nanos, sizeof(s->nanos));
  }
  h = scw_fnv64(h, &snap->total_nanos, sizeof(snap->total_nanos));
  h = scw_fnv64(h, &snap->skipped, sizeof(snap->skipped));
  return h;
}

static void account(scw_worker_t *w, const scw_refresh_stats_t *stats,
                    int closing) {
  atomic_fetch_add(&w->requests, stats->requests);
  atomic_fetch_add(&w->bytes, stats->bytes);
  atomic_fetch_add(&w->pages, stats->pages);
  atomic_fetch_add(&w->retries, stats->retries);
  atomic_fetch_add(&w->throttled, stats->throttled);
  if (closing)
    atomic_fetch_add(&w->closing_requests, stats->requests);
}

/* One walk of [act->period_start, act->window_end). Returns 0 with *out, 1
 * when it failed with a 401 and a new key was read since, -1 on other
 * failures (*retry_after: seconds asked by a 429, or -1). */
static int walk(scw_worker_t *w, const scw_sched_action_t *act,
                const scw_worker_io_t *io, scw_snapshot_t **out,
                int64_t *retry_after) {
  scw_org_config_t *cfg = w->cfg;
  int closing = act->kind == SCW_SCHED_REFRESH_CLOSING;
  scw_window_t win = {.start = act->period_start, .end = act->window_end};
  scw_period_of(act->period_start, win.period, sizeof(win.period));
  scw_snapshot_t *named = names_source(w, win.period);
  scw_refresh_params_t params = {
      .query = &cfg->query,
      .group_by = cfg->group_by,
      .label_mode = cfg->label_mode,
      .currency = cfg->currency,
      .max_pages = (unsigned)cfg->max_pages,
      .max_charges = (size_t)cfg->max_charges,
      .max_retries = (unsigned)cfg->max_retries,
      .deadline = cfg->refresh_timeout,
      .clock = &w->clock,
      .previous_names = named != NULL ? scw_snapshot_names(named) : NULL,
  };
  scw_refresh_stats_t stats = {.retry_after = -1};
  scw_error_t err = {0};
  double started = scw_monotonic_now();
  scw_rc_t rc = scw_refresh_window(&params, &win, io->fetch, io->ctx, out,
                                   &stats, &err);
  scw_snapshot_release(named);
  account(w, &stats, closing);
  *retry_after = stats.retry_after;
  if (rc == SCW_ERR_CANCELLED)
    return -1; /* shutdown: not an API fault */
  if (rc != SCW_OK) {
    int unauthenticated = rc == SCW_ERR_HTTP && stats.last_status == 401;
    int new_key = unauthenticated && reload_secret(w, io, 1);
    atomic_fetch_add(&w->errors, 1);
    c_complain(LOG_ERR, &w->refresh_complaint,
               "scw_finops plugin: %s: refresh failed, keeping the previous "
               "numbers of %s: %s: %s%s%s%s%s",
               cfg->name, win.period, scw_strerror(rc), err.msg,
               stats.request_id[0] ? " (X-Request-Id " : "", stats.request_id,
               stats.request_id[0] ? ")" : "",
               unauthenticated ? after_401(cfg, new_key) : "");
    return new_key ? 1 : -1;
  }
  (*out)->duration = scw_monotonic_now() - started;
  c_release(LOG_INFO, &w->refresh_complaint,
            "scw_finops plugin: %s: refresh succeeded again (%zu charges)",
            cfg->name, (*out)->charges);
  log_snapshot_notes(w, *out);
  return 0;
}

/* What a walk's snapshot carries besides its series: project totals, the
 * MaxSeries fold (damped by the last snapshot of the same month) and, for
 * the month to date, the forecasts. Failures here cost only these extras. */
static void enrich(scw_worker_t *w, scw_snapshot_t *snap, int closing,
                   int64_t month_start, int64_t month_end) {
  scw_error_t err = {0};
  scw_snapshot_t *prev = names_source(w, snap->period);
  scw_rc_t rc = scw_snapshot_summarise(snap, &err);
  if (rc == SCW_OK)
    rc = scw_snapshot_fold(snap, w->cfg->max_series, prev, &err);
  scw_snapshot_release(prev);
  if (rc == SCW_OK && !closing) {
    int64_t t = snap->created;
    rc = scw_history_add(&w->history, snap->period, "", t, snap->total_nanos,
                         &err);
    snap->forecast_nanos = scw_forecast_nanos(
        scw_history_track(&w->history, ""), month_start, month_end, t,
        snap->total_nanos);
    for (size_t i = 0; rc == SCW_OK && i < snap->n_projects; i++) {
      scw_project_cost_t *p = &snap->projects[i];
      rc = scw_history_add(&w->history, snap->period, p->project_id, t,
                           p->nanos, &err);
      p->forecast_nanos = scw_forecast_nanos(
          scw_history_track(&w->history, p->project_id), month_start,
          month_end, t, p->nanos);
    }
  }
  if (rc != SCW_OK)
    ERROR("scw_finops plugin: %s: %s", w->cfg->name, err.msg);
}

/* Budget crossings of a new month-to-date snapshot: recorded before the
 * state is saved, announced after (a crash in between loses a notice
 * rather than repeating it after the restart). */
static scw_budget_event_t *check_budgets(scw_worker_t *w,
                                         const scw_snapshot_t *snap,
                                         size_t *n) {
  scw_budget_event_t *events = NULL;
  scw_error_t err = {0};
  *n = 0;
  if (scw_budget_check(&w->cfg->budgets, &w->alerts, snap, &events, n, &err) !=
      SCW_OK)
    ERROR("scw_finops plugin: %s: budgets: %s", w->cfg->name, err.msg);
  return events;
}

int64_t scw_worker_step(scw_worker_t *w, int64_t now, const scw_worker_io_t *io) {
  scw_sched_action_t act;
  pthread_mutex_lock(&w->lock);
  scw_sched_next(&w->sched, &w->sched_cfg, now, &act);
  pthread_mutex_unlock(&w->lock);
  if (act.kind == SCW_SCHED_SLEEP)
    return act.at;

  reload_secret(w, io, 0);
  scw_snapshot_t *snap = NULL;
  int64_t retry_after = -1;
  int rc = walk(w, &act, io, &snap, &retry_after);
  if (rc == 1) /* a 401, and the key file held a new key: use it now */
    rc = walk(w, &act, io, &snap, &retry_after);
  if (atomic_load(&w->stop)) { /* shutdown: nothing more to publish */
    scw_snapshot_release(snap);
    return now;
  }
  /* The walk took time: its end is when the schedule hears of it. */
  int64_t done = now + (rc == 0 ? (int64_t)snap->duration : 0);
  int closing = act.kind == SCW_SCHED_REFRESH_CLOSING;
  if (rc == 0) {
    snap->created = done;
    enrich(w, snap, closing, act.period_start, scw_next_month_start(act.period_start));
  }
  pthread_mutex_lock(&w->lock);
  if (rc == 0)
    scw_sched_on_success(&w->sched, &w->sched_cfg, done, &act, fingerprint(snap));
  else
    scw_sched_on_failure(&w->sched, &w->sched_cfg, done, &act, retry_after);
  pthread_mutex_unlock(&w->lock);
  if (rc == 0) {
    size_t n_events = 0;
    scw_budget_event_t *events =
        closing ? NULL : check_budgets(w, snap, &n_events);
    atomic_fetch_add(&snap->refs, 1); /* for the notifications */
    scw_slot_publish(&w->slots[closing ? SCW_SLOT_CLOSING : SCW_SLOT_CURRENT],
                     snap);
    save_state(w, done);
    for (size_t i = 0; i < n_events; i++)
      scw_notify_budget(w->cfg, snap, &events[i]);
    free(events);
    scw_snapshot_release(snap);
  }
  return done;
}

/* ---- the thread ------------------------------------------------------- */

static scw_rc_t http_set_secret(void *ctx, const char *key, scw_error_t *err) {
  return scw_http_set_secret(ctx, key, err);
}

static void *worker_main(void *arg) {
  scw_worker_t *w = arg;
  const scw_org_config_t *cfg = w->cfg;
  scw_http_config_t hc = {
      .secret_key = cfg->secret_key,
      .timeout_ms = cfg->timeout * 1000L,
      .verify_peer = cfg->verify_peer,
      .verify_host = cfg->verify_host,
      .ca_cert = cfg->ca_cert,
      .proxy = cfg->proxy,
      .max_response = cfg->max_response,
      .cancel = &w->stop,
  };
  scw_error_t err = {0};
  scw_http_t *http = scw_http_new(&hc, &err);
  if (http == NULL) {
    ERROR("scw_finops plugin: %s: cannot set up HTTP, this organization is "
          "not read: %s", cfg->name, err.msg);
    atomic_fetch_add(&w->errors, 1); /* visible, not a healthy errors=0 */
    return NULL;
  }
  scw_worker_io_t io = {scw_http_fetch, http, http_set_secret};
  while (!atomic_load(&w->stop)) {
    int64_t now = (int64_t)time(NULL);
    scw_http_set_deadline(http, scw_monotonic_now() + cfg->refresh_timeout);
    int64_t next = scw_worker_step(w, now, &io);
    scw_http_set_deadline(http, 0);
    int64_t wait = next - (int64_t)time(NULL);
    if (wait > 0)
      wait_for_wake(w, mono_deadline((double)wait), 1);
  }
  scw_http_free(http);
  return NULL;
}

int scw_worker_start(scw_worker_t *w) {
  if (w->thread_started)
    return 0;
  /* plugin_thread_create copies our plugin context (log prefix, interval
   * for c_complain) into the thread and names it. */
  int status = plugin_thread_create(&w->thread, worker_main, w, "scw_finops");
  if (status != 0) {
    ERROR("scw_finops plugin: %s: cannot start the refresh thread: %s",
          w->cfg->name, strerror(status));
    return -1;
  }
  w->thread_started = 1;
  return 0;
}

void scw_worker_signal_stop(scw_worker_t *w) {
  pthread_mutex_lock(&w->lock);
  atomic_store(&w->stop, 1);
  pthread_cond_broadcast(&w->wake);
  pthread_mutex_unlock(&w->lock);
}

void scw_worker_join(scw_worker_t *w) {
  if (!w->thread_started)
    return;
  pthread_join(w->thread, NULL);
  w->thread_started = 0;
}

int scw_worker_running(const scw_worker_t *w) { return w->thread_started; }

int scw_worker_stopping(scw_worker_t *w) { return atomic_load(&w->stop); }

/* ---- reader side ------------------------------------------------------ */

scw_snapshot_t *scw_worker_acquire(scw_worker_t *w, scw_slot_kind_t which) {
  return scw_slot_acquire(&w->slots[which]);
}

void scw_worker_publish(scw_worker_t *w, scw_slot_kind_t which,
                        scw_snapshot_t *snap) {
  scw_slot_publish(&w->slots[which], snap);
}

void scw_worker_view(scw_worker_t *w, int64_t now, scw_worker_view_t *view) {
  int64_t closing_start = 0;
  pthread_mutex_lock(&w->lock);
  view->publish_empty = scw_sched_publish_empty(&w->sched, &w->sched_cfg, now);
  view->closing = scw_sched_closing(&w->sched, &w->sched_cfg, now, &closing_start);
  pthread_mutex_unlock(&w->lock);
  scw_period_of(now, view->current_period, sizeof(view->current_period));
  view->closing_period[0] = '\0';
  if (view->closing != SCW_CLOSING_NONE)
    scw_period_of(closing_start, view->closing_period,
                  sizeof(view->closing_period));
}

void scw_worker_counts(scw_worker_t *w, scw_worker_counts_t *out) {
  out->requests = atomic_load(&w->requests);
  out->bytes = atomic_load(&w->bytes);
  out->pages = atomic_load(&w->pages);
  out->retries = atomic_load(&w->retries);
  out->throttled = atomic_load(&w->throttled);
  out->errors = atomic_load(&w->errors);
  out->closing_requests = atomic_load(&w->closing_requests);
}

int scw_worker_kick(scw_worker_t *w, int64_t now, uint64_t generation) {
  pthread_mutex_lock(&w->lock);
  int accepted = scw_sched_on_kick(&w->sched, &w->sched_cfg, now, generation);
  if (accepted) {
    w->kick_pending = 1;
    pthread_cond_broadcast(&w->wake);
  }
  pthread_mutex_unlock(&w->lock);
  return accepted;
}
