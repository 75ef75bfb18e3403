/* SPDX-License-Identifier: MIT */
/* scw_state_write.c - writing the state file; see scw_state.h.
 *
 * The body is streamed straight to the file through a 64 KiB buffer instead
 * of being built as a json-c tree: with 50,000 series the tree took ~160 MB
 * (a json-c object with its hash table is several hundred bytes), and
 * malloc kept that memory in collectd's RSS after every walk. The header
 * holds the checksum of the body, so it is written last, over a placeholder
 * of the same length. */
#include "scw_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_LEN (sizeof(SCW_STATE_MAGIC " 1 0123456789abcdef\n") - 1)

typedef struct {
  int fd;
  char buf[65536];
  size_t n;
  uint64_t hash; /* FNV-1a 64 of everything written */
  int failed;    /* errno of the first failed write, or 0 */
} writer_t;

static void flush(writer_t *w) {
  const char *p = w->buf;
  while (w->n > 0 && !w->failed) {
    ssize_t k = write(w->fd, p, w->n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      w->failed = k < 0 ? errno : EIO;
      break;
    }
    p += k;
    w->n -= (size_t)k;
  }
  w->n = 0;
}

static void put(writer_t *w, const char *s, size_t len) {
  w->hash = scw_fnv64(w->hash, s, len);
  while (len > 0) {
    if (w->n == sizeof(w->buf))
      flush(w);
    size_t k = sizeof(w->buf) - w->n < len ? sizeof(w->buf) - w->n : len;
    memcpy(w->buf + w->n, s, k);
    w->n += k;
    s += k;
    len -= k;
  }
}

static void raw(writer_t *w, const char *s) { put(w, s, strlen(s)); }

/* A JSON string: quotes, backslashes and control bytes escaped; other bytes
 * as they are (json-c reads them back unchanged). NULL is null. */
static void str(writer_t *w, const char *s) {
  if (s == NULL) {
    raw(w, "null");
    return;
  }
  raw(w, "\"");
  const char *run = s;
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    put(w, run, (size_t)(s - run));
    char esc[8];
    snprintf(esc, sizeof(esc), c == '"' || c == '\\' ? "\\%c" : "\\u%04x", c);
    raw(w, esc);
    run = s + 1;
  }
  put(w, run, (size_t)(s - run));
  raw(w, "\"");
}

static void i64(writer_t *w, int64_t v) {
  char num[24];
  snprintf(num, sizeof(num), "%" PRId64, v);
  raw(w, num);
}

static void hex64(writer_t *w, uint64_t v) {
  char num[20];
  snprintf(num, sizeof(num), "\"%016" PRIx64 "\"", v);
  raw(w, num);
}

/* "key": - with a comma before it unless first. */
static void key(writer_t *w, const char *name, int first) {
  raw(w, first ? "\"" : ",\"");
  raw(w, name);
  raw(w, "\":");
}

#define KEY(w, name) key((w), (name), 0)

static void sched(writer_t *w, const scw_sched_state_t *s) {
  key(w, "month", 1), i64(w, s->month);
  KEY(w, "slot"), i64(w, s->slot);
  KEY(w, "current_due"), i64(w, s->current_due);
  KEY(w, "current_walks"), i64(w, s->current_walks);
  KEY(w, "current_failures"), i64(w, s->current_failures);
  KEY(w, "closing"), i64(w, s->closing);
  KEY(w, "closing_due"), i64(w, s->closing_due);
  KEY(w, "closing_walks"), i64(w, s->closing_walks);
  KEY(w, "closing_same"), i64(w, s->closing_same);
  KEY(w, "closing_fp"), hex64(w, s->closing_fp);
  KEY(w, "closing_failures"), i64(w, s->closing_failures);
  KEY(w, "streak"), i64(w, s->streak);
  KEY(w, "retry_not_before"), i64(w, s->retry_not_before);
  KEY(w, "kicked"), i64(w, s->kicked);
  KEY(w, "kicked_generation"), hex64(w, s->kicked_generation);
  KEY(w, "rng"), hex64(w, s->rng);
}

static void series(writer_t *w, const scw_snapshot_t *snap) {
  raw(w, "[");
  for (size_t i = 0; i < snap->n_series; i++) {
    const scw_series_t *s = &snap->series[i];
    raw(w, i ? ",{" : "{");
    key(w, "pi", 1), str(w, s->plugin_instance);
    KEY(w, "ti"), str(w, s->type_instance);
    KEY(w, "nanos"), i64(w, s->nanos);
    KEY(w, "project_id"), str(w, s->project_id);
    KEY(w, "project_name"), str(w, s->project_name);
    KEY(w, "sku"), str(w, s->sku);
    KEY(w, "resource_id"), str(w, s->resource_id);
    KEY(w, "resource_name"), str(w, s->resource_name);
    if (s->project_id == NULL && snap->folded > 0)
      KEY(w, "other"), raw(w, "true");
    raw(w, "}");
  }
  raw(w, "]");
}

static void names(writer_t *w, const scw_names_t *table) {
  raw(w, "[");
  for (size_t i = 0; table != NULL && i < scw_names_count(table); i++) {
    const scw_name_entry_t *n = scw_names_entry(table, i);
    raw(w, i ? ",{" : "{");
    key(w, "project_id", 1), str(w, n->project_id);
    KEY(w, "sku"), str(w, n->sku);
    KEY(w, "resource_id"), str(w, n->resource_id);
    KEY(w, "pi"), str(w, n->plugin_instance);
    KEY(w, "ti"), str(w, n->type_instance);
    raw(w, "}");
  }
  raw(w, "]");
}

static void projects(writer_t *w, const scw_snapshot_t *snap) {
  raw(w, "[");
  for (size_t i = 0; i < snap->n_projects; i++) {
    const scw_project_cost_t *p = &snap->projects[i];
    raw(w, i ? ",{" : "{");
    key(w, "pi", 1), str(w, p->plugin_instance);
    KEY(w, "project_id"), str(w, p->project_id);
    KEY(w, "project_name"), str(w, p->project_name);
    KEY(w, "nanos"), i64(w, p->nanos);
    KEY(w, "forecast_nanos"), i64(w, p->forecast_nanos);
    raw(w, "}");
  }
  raw(w, "]");
}

static void snapshot(writer_t *w, const scw_snapshot_t *snap) {
  char duration[40];
  snprintf(duration, sizeof(duration), "%.6f", snap->duration);
  raw(w, "{");
  key(w, "period", 1), str(w, snap->period);
  KEY(w, "created"), i64(w, snap->created);
  KEY(w, "duration"), raw(w, duration);
  KEY(w, "charges"), i64(w, (int64_t)snap->charges);
  KEY(w, "skipped"), i64(w, (int64_t)snap->skipped);
  KEY(w, "total_nanos"), i64(w, snap->total_nanos);
  KEY(w, "series"), series(w, snap);
  KEY(w, "folded"), i64(w, (int64_t)snap->folded);
  KEY(w, "forecast_nanos"), i64(w, snap->forecast_nanos);
  KEY(w, "projects"), projects(w, snap);
  KEY(w, "names"), names(w, scw_snapshot_names(snap));
  raw(w, "}");
}

static void history(writer_t *w, const scw_history_t *h) {
  raw(w, "{");
  key(w, "period", 1), str(w, h->period);
  KEY(w, "tracks"), raw(w, "[");
  for (size_t i = 0; i < h->n_tracks; i++) {
    const scw_track_t *t = &h->tracks[i];
    raw(w, i ? ",{" : "{");
    key(w, "key", 1), str(w, t->key);
    KEY(w, "samples"), raw(w, "[");
    for (size_t k = 0; k < t->n; k++) {
      raw(w, k ? ",[" : "[");
      i64(w, t->s[k].t);
      raw(w, ",");
      i64(w, t->s[k].nanos);
      raw(w, "]");
    }
    raw(w, "]}");
  }
  raw(w, "]}");
}

static void alerts(writer_t *w, const scw_alerts_t *a) {
  raw(w, "{");
  key(w, "period", 1), str(w, a->period);
  KEY(w, "alerts"), raw(w, "[");
  for (size_t i = 0; i < a->n_alerts; i++) {
    const scw_alert_t *al = &a->alerts[i];
    raw(w, i ? ",{" : "{");
    key(w, "key", 1), str(w, al->key);
    KEY(w, "used_bp"), raw(w, "[");
    for (size_t k = 0; k < al->n_used; k++) {
      if (k)
        raw(w, ",");
      i64(w, al->used_bp[k]);
    }
    raw(w, "]");
    KEY(w, "forecast"), raw(w, al->forecast ? "true" : "false");
    raw(w, "}");
  }
  raw(w, "]}");
}

static void body(writer_t *w, const scw_state_t *st) {
  raw(w, "{");
  key(w, "organization_id", 1), str(w, st->organization_id);
  KEY(w, "group_by"), str(w, scw_group_by_name(st->group_by));
  KEY(w, "label_mode"), str(w, st->label_mode == SCW_LABEL_ID ? "id" : "name");
  KEY(w, "currency"), str(w, st->currency);
  KEY(w, "saved"), i64(w, st->saved);
  KEY(w, "schedule"), raw(w, "{"), sched(w, &st->sched), raw(w, "}");
  static const char *const slot_names[2] = {"current", "closing"};
  for (int i = 0; i < 2; i++)
    if (st->snaps[i] != NULL)
      KEY(w, slot_names[i]), snapshot(w, st->snaps[i]);
  if (st->history != NULL)
    KEY(w, "forecast_history"), history(w, st->history);
  if (st->alerts != NULL)
    KEY(w, "budget_alerts"), alerts(w, st->alerts);
  raw(w, "}");
}

/* The directory entry of the rename is durable only once the directory is
 * synced too. */
static void sync_dir(const char *path) {
  char *copy = strdup(path);
  if (copy == NULL)
    return;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

/* Body after a placeholder header, then the real header over it. */
static int write_file(int fd, const scw_state_t *st) {
  writer_t *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return ENOMEM;
  w->fd = fd;
  char header[HEADER_LEN + 1];
  memset(header, ' ', HEADER_LEN);
  if (write(fd, header, HEADER_LEN) != (ssize_t)HEADER_LEN)
    w->failed = errno ? errno : EIO;
  w->hash = SCW_FNV64_INIT;
  body(w, st);
  flush(w);
  snprintf(header, sizeof(header), SCW_STATE_MAGIC " %d %016" PRIx64 "\n",
           SCW_STATE_VERSION, w->hash);
  if (!w->failed && pwrite(fd, header, HEADER_LEN, 0) != (ssize_t)HEADER_LEN)
    w->failed = errno ? errno : EIO;
  if (!w->failed && fsync(fd) != 0)
    w->failed = errno;
  int failed = w->failed;
  free(w);
  return failed;
}

scw_rc_t scw_state_save(const char *path, const scw_state_t *st,
                        scw_error_t *err) {
  size_t tmp_len = strlen(path) + 32;
  char *tmp = malloc(tmp_len);
  if (tmp == NULL)
    return scw_fail(err, SCW_ERR_NOMEM, "state file name");
  snprintf(tmp, tmp_len, "%s.tmp.%ld", path, (long)getpid());
  scw_rc_t rc = SCW_OK;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = scw_fail(err, SCW_ERR_INVALID, "creating \"%s\": %s", tmp,
                  strerror(errno));
  } else {
    int failed = write_file(fd, st);
    if (close(fd) != 0 && failed == 0)
      failed = errno;
    if (failed != 0)
      rc = scw_fail(err, SCW_ERR_INVALID, "writing \"%s\": %s", tmp,
                    strerror(failed));
    else if (rename(tmp, path) != 0)
      rc = scw_fail(err, SCW_ERR_INVALID, "renaming \"%s\" to \"%s\": %s", tmp,
                    path, strerror(errno));
    if (rc != SCW_OK)
      unlink(tmp);
    else
      sync_dir(path);
  }
  free(tmp);
  return rc;
}
