/* SPDX-License-Identifier: MIT */
/* daemon_stubs.h - what the stubbed collectd daemon captured.
 *
 * collectd-dev ships headers only, so the glue tests provide the daemon
 * symbols the plugin uses (list: nm -D --undefined-only scw_finops.so).
 * Dispatched value lists are deep-copied, as the real daemon does. */
#ifndef DAEMON_STUBS_H
#define DAEMON_STUBS_H

#include "collectd.h"
#include "plugin.h"

#define STUB_MAX_META 10

typedef struct {
  value_list_t vl; /* values points to `value` below, meta is NULL */
  value_t value;
  char meta_keys[STUB_MAX_META][64];
  char meta_values[STUB_MAX_META][256];
  int n_meta;
} stub_dispatched_t;

extern stub_dispatched_t *stub_dispatched;
extern size_t stub_n_dispatched;

/* All log lines since the last reset, joined with '\n'. */
extern char *stub_log;

/* Every read callback registered, in order; `removed` once unregistered
 * (its user data is then freed, as the daemon does). */
#define STUB_MAX_READS 8
typedef struct {
  char name[256];
  char group[64];
  plugin_read_cb cb;
  user_data_t ud;
  int removed;
} stub_read_t;
extern stub_read_t stub_reads[STUB_MAX_READS];
extern size_t stub_n_reads;
/* BaseDir, for global_option_get (NULL: none, so no state). */
extern const char *stub_basedir;

/* How many more plugin_thread_create calls succeed (-1: all); the others
 * fail with EAGAIN. */
extern int stub_threads_allowed;

/* The callbacks the plugin registered (the read: the last one). */
extern int (*stub_config_cb)(oconfig_item_t *);
extern int (*stub_init_cb)(void);
extern int (*stub_shutdown_cb)(void);
extern plugin_read_cb stub_read_cb;
extern user_data_t stub_read_ud;
extern char stub_read_name[256];

/* Notifications dispatched (the first STUB_MAX_NOTIFICATIONS). */
#define STUB_MAX_NOTIFICATIONS 32
typedef struct {
  int severity;
  char host[128], plugin_instance[128], type_instance[128], message[256];
} stub_notification_t;
extern stub_notification_t stub_notifications[STUB_MAX_NOTIFICATIONS];
extern size_t stub_n_notifications;

/* Plugins plugin_is_loaded reports (NULL-terminated, at most 8). */
extern const char *stub_loaded_plugins[8];

void stub_reset(void);
/* The dispatched list with this identifier, or NULL. */
const stub_dispatched_t *stub_find(const char *plugin_instance,
                                   const char *type, const char *type_instance);
const char *stub_meta(const stub_dispatched_t *d, const char *key);

#endif
