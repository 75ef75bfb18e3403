/* SPDX-License-Identifier: MIT */
/* daemon_stubs.c - minimal stand-ins for collectd daemon symbols. */
#include "daemon_stubs.h"

#include "utils/common/common.h"
#include "utils/metadata/meta_data.h"
#include "utils_complain.h"

#include <errno.h>
#include <stdarg.h>

stub_dispatched_t *stub_dispatched;
size_t stub_n_dispatched;
char *stub_log;
int (*stub_config_cb)(oconfig_item_t *);
int (*stub_init_cb)(void);
int (*stub_shutdown_cb)(void);
plugin_read_cb stub_read_cb;
user_data_t stub_read_ud;
char stub_read_name[256];
stub_read_t stub_reads[STUB_MAX_READS];
size_t stub_n_reads;
int stub_threads_allowed = -1;

void stub_reset(void) {
  free(stub_dispatched);
  stub_dispatched = NULL;
  stub_n_dispatched = 0;
  free(stub_log);
  stub_log = NULL;
  stub_n_notifications = 0;
}

static void log_append(const char *line) {
  size_t old = stub_log ? strlen(stub_log) : 0;
  char *bigger = realloc(stub_log, old + strlen(line) + 2);
  if (bigger == NULL)
    abort();
  stub_log = bigger;
  snprintf(stub_log + old, strlen(line) + 2, "%s\n", line);
}

void plugin_log(int level, const char *format, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, format);
  vsnprintf(line, sizeof(line), format, ap);
  va_end(ap);
  (void)level;
  log_append(line);
}

char *sstrncpy(char *dest, const char *src, size_t n) {
  strncpy(dest, src, n);
  dest[n - 1] = '\0';
  return dest;
}

char *sstrerror(int errnum, char *buf, size_t buflen) {
  snprintf(buf, buflen, "%s", strerror(errnum));
  return buf;
}

/* ---- meta data: a tiny list ---- */
struct meta_data_s {
  int n;
  char keys[STUB_MAX_META][64];
  char values[STUB_MAX_META][256];
};

meta_data_t *meta_data_create(void) { return calloc(1, sizeof(meta_data_t)); }
void meta_data_destroy(meta_data_t *md) { free(md); }
int meta_data_add_string(meta_data_t *md, const char *key, const char *value) {
  if (md->n >= STUB_MAX_META)
    return -1;
  snprintf(md->keys[md->n], sizeof(md->keys[0]), "%s", key);
  snprintf(md->values[md->n], sizeof(md->values[0]), "%s", value);
  md->n++;
  return 0;
}

int plugin_dispatch_values(value_list_t const *vl) {
  stub_dispatched_t *bigger =
      realloc(stub_dispatched, (stub_n_dispatched + 1) * sizeof(*bigger));
  if (bigger == NULL)
    abort();
  stub_dispatched = bigger;
  stub_dispatched_t *d = &stub_dispatched[stub_n_dispatched++];
  memset(d, 0, sizeof(*d));
  d->vl = *vl;
  d->value = vl->values[0]; /* deep copy: the plugin passes a stack value */
  d->vl.values = NULL;
  d->vl.meta = NULL;
  if (vl->meta != NULL) {
    d->n_meta = vl->meta->n;
    memcpy(d->meta_keys, vl->meta->keys, sizeof(d->meta_keys));
    memcpy(d->meta_values, vl->meta->values, sizeof(d->meta_values));
  }
  return 0;
}

const stub_dispatched_t *stub_find(const char *plugin_instance,
                                   const char *type, const char *type_instance) {
  for (size_t i = 0; i < stub_n_dispatched; i++) {
    const value_list_t *vl = &stub_dispatched[i].vl;
    if (strcmp(vl->plugin_instance, plugin_instance) == 0 &&
        strcmp(vl->type, type) == 0 &&
        strcmp(vl->type_instance, type_instance) == 0)
      return &stub_dispatched[i];
  }
  return NULL;
}

const char *stub_meta(const stub_dispatched_t *d, const char *key) {
  for (int i = 0; i < d->n_meta; i++)
    if (strcmp(d->meta_keys[i], key) == 0)
      return d->meta_values[i];
  return NULL;
}

/* ---- registration ---- */
int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *)) {
  (void)type;
  stub_config_cb = callback;
  return 0;
}
int plugin_register_init(const char *name, plugin_init_cb callback) {
  (void)name;
  stub_init_cb = callback;
  return 0;
}
int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback) {
  (void)name;
  stub_shutdown_cb = callback;
  return 0;
}
int plugin_register_complex_read(const char *group, const char *name,
                                 plugin_read_cb callback, cdtime_t interval,
                                 user_data_t const *user_data) {
  (void)interval;
  if (stub_n_reads >= STUB_MAX_READS)
    abort();
  stub_read_t *r = &stub_reads[stub_n_reads++];
  memset(r, 0, sizeof(*r));
  snprintf(r->name, sizeof(r->name), "%s", name);
  snprintf(r->group, sizeof(r->group), "%s", group ? group : "");
  r->cb = callback;
  r->ud = *user_data;
  stub_read_cb = callback;
  stub_read_ud = *user_data;
  snprintf(stub_read_name, sizeof(stub_read_name), "%s", name);
  return 0;
}

static void remove_read(stub_read_t *r) {
  r->removed = 1;
  if (stub_read_ud.data == r->ud.data)
    memset(&stub_read_ud, 0, sizeof(stub_read_ud));
  if (r->ud.free_func != NULL)
    r->ud.free_func(r->ud.data);
  r->ud.data = NULL;
}

int plugin_unregister_read(const char *name) {
  for (size_t i = 0; i < stub_n_reads; i++)
    if (!stub_reads[i].removed && strcmp(stub_reads[i].name, name) == 0) {
      remove_read(&stub_reads[i]);
      return 0;
    }
  return -1;
}

int plugin_unregister_read_group(const char *group) {
  int found = -1;
  for (size_t i = 0; i < stub_n_reads; i++)
    if (!stub_reads[i].removed && strcmp(stub_reads[i].group, group) == 0) {
      remove_read(&stub_reads[i]);
      found = 0;
    }
  return found;
}

/* ---- config helpers, with the daemon's semantics ---- */
int cf_util_get_string(const oconfig_item_t *ci, char **ret) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
    plugin_log(LOG_ERR, "cf_util_get_string: The %s option requires exactly "
                        "one string argument.", ci->key);
    return -1;
  }
  char *copy = strdup(ci->values[0].value.string);
  if (copy == NULL)
    return -1;
  free(*ret);
  *ret = copy;
  return 0;
}

int cf_util_get_string_buffer(const oconfig_item_t *ci, char *buf, size_t size) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return -1;
  sstrncpy(buf, ci->values[0].value.string, size);
  return 0;
}

int cf_util_get_int(const oconfig_item_t *ci, int *ret) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return -1;
  *ret = (int)ci->values[0].value.number;
  return 0;
}

int cf_util_get_double(const oconfig_item_t *ci, double *ret) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return -1;
  *ret = ci->values[0].value.number;
  return 0;
}

int cf_util_get_boolean(const oconfig_item_t *ci, bool *ret) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_BOOLEAN)
    return -1;
  *ret = ci->values[0].value.boolean != 0;
  return 0;
}

/* ---- complaints: log every time (no rate limit in tests) ---- */
void c_complain(int level, c_complain_t *c, const char *format, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, format);
  vsnprintf(line, sizeof(line), format, ap);
  va_end(ap);
  c->complained_once = true;
  c->interval = 1; /* so that c_release logs, as in the daemon */
  plugin_log(level, "%s", line);
}

void c_do_release(int level, c_complain_t *c, const char *format, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, format);
  vsnprintf(line, sizeof(line), format, ap);
  va_end(ap);
  c->complained_once = false;
  c->interval = 0;
  plugin_log(level, "%s", line);
}

int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name) {
  (void)name;
  if (stub_threads_allowed == 0)
    return EAGAIN;
  if (stub_threads_allowed > 0)
    stub_threads_allowed--;
  return pthread_create(thread, NULL, start_routine, arg);
}

const char *stub_basedir;
const char *global_option_get(const char *option) {
  return strcasecmp(option, "BaseDir") == 0 ? stub_basedir : NULL;
}

stub_notification_t stub_notifications[STUB_MAX_NOTIFICATIONS];
size_t stub_n_notifications;

cdtime_t cdtime(void) { return TIME_T_TO_CDTIME_T(time(NULL)); }

int plugin_dispatch_notification(const notification_t *n) {
  if (stub_n_notifications < STUB_MAX_NOTIFICATIONS) {
    stub_notification_t *s = &stub_notifications[stub_n_notifications++];
    s->severity = n->severity;
    sstrncpy(s->host, n->host, sizeof(s->host));
    sstrncpy(s->plugin_instance, n->plugin_instance, sizeof(s->plugin_instance));
    sstrncpy(s->type_instance, n->type_instance, sizeof(s->type_instance));
    sstrncpy(s->message, n->message, sizeof(s->message));
  }
  return 0;
}

int plugin_notification_meta_add_string(notification_t *n, const char *name,
                                        const char *value) {
  (void)n, (void)name, (void)value;
  return 0;
}

int plugin_notification_meta_add_double(notification_t *n, const char *name,
                                        double value) {
  (void)n, (void)name, (void)value;
  return 0;
}

int plugin_notification_meta_free(notification_meta_t *n) {
  (void)n;
  return 0;
}

const char *stub_loaded_plugins[8];
bool plugin_is_loaded(char const *name) {
  for (size_t i = 0; i < 8 && stub_loaded_plugins[i] != NULL; i++)
    if (strcmp(stub_loaded_plugins[i], name) == 0)
      return true;
  return false;
}
