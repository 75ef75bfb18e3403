/* SPDX-License-Identifier: MIT */
/* scw_finops.c - the collectd glue: configuration entry point, init,
 * shutdown, and the read callback.
 *
 * Data path: scw_config.c (block -> scw_org_config_t) -> scw_worker.c
 * (schedule, thread) -> scw_http.c (page fetch) -> scw_charge.c (page parse)
 * -> scw_agg.c (sums) -> scw_snapshot.c (names, hand-over) -> scw_dispatch.c
 * (read callback); scw_state.c keeps it all across restarts. */
#include "scw_org.h"

#include "configfile.h"
#include "plugin.h"
#include "utils/common/common.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scw_config.h"
#include "scw_dispatch.h"
#include "scw_naming.h"
#include "scw_worker.h"

#define PLUGIN_NAME "scw_finops"

static scw_org_t *orgs; /* every configured organization */
static unsigned n_orgs; /* configured so far: each one's index */
static pthread_mutex_t orgs_lock = PTHREAD_MUTEX_INITIALIZER;
/* StateDir: NULL until configured, "" when disabled. */
static char *state_dir;

static int scw_read(user_data_t *ud) {
  scw_dispatch_read(ud->data, (int64_t)time(NULL));
  return 0;
}

/* ---- lifecycle --------------------------------------------------------- */

static void stop_all_workers(void) {
  pthread_mutex_lock(&orgs_lock);
  for (scw_org_t *o = orgs; o != NULL; o = o->next)
    scw_worker_signal_stop(o->worker);
  pthread_mutex_unlock(&orgs_lock);
}

static void read_callback_name(const scw_org_t *org, char *buf, size_t size) {
  snprintf(buf, size, PLUGIN_NAME "/%s", org->cfg.name);
}

static void org_free(scw_org_t *org) {
  scw_worker_free(org->worker); /* stops and joins its thread first */
  scw_read_cache_free(&org->current_cache);
  scw_read_cache_free(&org->closing_cache);
  scw_org_config_free(&org->cfg);
  free(org);
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
  org_free(org);
}

/* A block whose name or Host another block has already: they would be
 * indistinguishable (same callback, or same identifiers whose values
 * interleave in every writer). */
static int check_unique(const scw_org_config_t *cfg) {
  for (const scw_org_t *o = orgs; o != NULL; o = o->next) {
    if (strcmp(o->cfg.name, cfg->name) == 0) {
      ERROR("scw_finops plugin: Organization \"%s\" is configured twice",
            cfg->name);
      return -1;
    }
    if (strcmp(o->cfg.host, cfg->host) == 0) {
      ERROR("scw_finops plugin: Organization \"%s\": Host \"%s\" is already "
            "used by Organization \"%s\": both would dispatch the same "
            "identifiers; give each block its own Host",
            cfg->name, cfg->host, o->cfg.name);
      return -1;
    }
  }
  return 0;
}

/* One <Organization> block: its configuration, and a worker that is not
 * started yet. */
static scw_org_t *org_new(const oconfig_item_t *ci) {
  static uint64_t seed; /* one per daemon: organizations spread around it */
  if (seed == 0)
    seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
  scw_org_t *org = calloc(1, sizeof(*org));
  if (org == NULL) {
    ERROR("scw_finops plugin: out of memory");
    return NULL;
  }
  if (scw_config_organization(ci, &org->cfg) != 0) {
    free(org);
    return NULL;
  }
  if (check_unique(&org->cfg) != 0 ||
      (org->worker = scw_worker_new(&org->cfg, n_orgs, seed,
                                    (int64_t)time(NULL))) == NULL) {
    org_free(org);
    return NULL;
  }
  n_orgs++;
  return org;
}

static int config_state_dir(const oconfig_item_t *ci) {
  char *dir = NULL;
  if (cf_util_get_string(ci, &dir) != 0) {
    ERROR("scw_finops plugin: option \"StateDir\" needs one string argument "
          "(\"\" turns the state off)");
    return -1;
  }
  free(state_dir);
  state_dir = dir;
  return 0;
}

static int scw_config(oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++) {
    oconfig_item_t *child = &ci->children[i];
    if (strcasecmp(child->key, "StateDir") == 0) {
      if (config_state_dir(child) != 0)
        return -1;
      continue;
    }
    if (strcasecmp(child->key, "Organization") != 0) {
      ERROR("scw_finops plugin: unknown option \"%s\"; only StateDir and "
            "<Organization> blocks are allowed here", child->key);
      return -1;
    }
    scw_org_t *org = org_new(child);
    if (org == NULL)
      return -1;
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

/* StateDir, or BaseDir/scw_finops by default; NULL when off or unusable. */
static const char *state_directory(void) {
  static char dflt[4096];
  if (state_dir != NULL)
    return state_dir[0] != '\0' ? state_dir : NULL;
  const char *base = global_option_get("BaseDir");
  if (base == NULL || base[0] == '\0')
    return NULL;
  snprintf(dflt, sizeof(dflt), "%s/" PLUGIN_NAME, base);
  return dflt;
}

/* Loads the organization's state file and keeps it up to date. */
static void use_state(scw_org_t *org) {
  const char *dir = state_directory();
  if (dir == NULL)
    return;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    WARNING("scw_finops plugin: cannot create StateDir \"%s\": %s; running "
            "without state (a restart re-walks the month)", dir, STRERRNO);
    return;
  }
  char *clean = scw_name_clean(org->cfg.name);
  char path[4096 + 160];
  snprintf(path, sizeof(path), "%s/%s-%08x.state", dir, clean ? clean : "org",
           scw_hash32(org->cfg.name));
  free(clean);
  scw_worker_use_state(org->worker, path, (int64_t)time(NULL));
}

/* Loaded plugins that pass meta data on (JSON formats, Riemann attributes,
 * scripting languages' write callbacks). */
static const char *const meta_readers[] = {
    "write_http", "write_kafka", "write_log", "amqp", "amqp1", "write_riemann",
    "write_sensu", "write_mongodb", "python", "perl", "java", "lua"};

/* SendMetadata auto: meta data costs ~2.4 KiB of collectd's memory per
 * series (copies in the write queue, our cache), so only when a plugin that
 * reads it is loaded. */
static int wants_metadata(void) {
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(meta_readers); i++)
    if (plugin_is_loaded(meta_readers[i]))
      return 1;
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
    if (scw_worker_running(o->worker))
      continue; /* init ran before (it runs once per daemon, but be safe) */
    use_state(o);
    if (o->cfg.send_metadata < 0)
      o->cfg.send_metadata = wants_metadata();
    if (scw_worker_start(o->worker) == 0)
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
    scw_worker_join(o->worker);
  pthread_mutex_unlock(&orgs_lock);
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, scw_config);
  plugin_register_init(PLUGIN_NAME, scw_init);
  plugin_register_shutdown(PLUGIN_NAME, scw_shutdown);
}
