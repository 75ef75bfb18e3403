/* SPDX-License-Identifier: MIT */
/* scw_secret.c - the secret key file; see scw_secret.h. */
#include "scw_secret.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Longest key line read; Scaleway secret keys are UUIDs (36 bytes). */
#define KEY_LINE_MAX 512

void scw_secret_free(char *key) {
  if (key == NULL)
    return;
  explicit_bzero(key, strlen(key));
  free(key);
}

static void remember(scw_secret_file_t *file, const struct stat *st) {
  file->dev = st->st_dev;
  file->ino = st->st_ino;
  file->size = st->st_size;
  file->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
  file->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static int same_file(const scw_secret_file_t *file, const struct stat *st) {
  scw_secret_file_t now = {0};
  remember(&now, st);
  return now.dev == file->dev && now.ino == file->ino && now.size == file->size &&
         now.mtime_ns == file->mtime_ns && now.ctime_ns == file->ctime_ns;
}

/* Reads the first line of an open file as the key. */
static scw_rc_t read_key(FILE *fh, const char *path, char **key,
                         scw_error_t *err) {
  char line[KEY_LINE_MAX];
  scw_rc_t rc = SCW_OK;
  if (fgets(line, sizeof(line), fh) == NULL) {
    rc = scw_fail(err, SCW_ERR_INVALID, "\"%s\" holds no key on its first line",
                  path);
  } else {
    char *start = line;
    while (isspace((unsigned char)*start))
      start++;
    size_t n = strcspn(start, "\r\n");
    while (n > 0 && isspace((unsigned char)start[n - 1]))
      n--;
    if (n == 0)
      rc = scw_fail(err, SCW_ERR_INVALID,
                    "\"%s\" holds no key on its first line", path);
    else if ((*key = strndup(start, n)) == NULL)
      rc = scw_fail(err, SCW_ERR_NOMEM, "copying the key");
  }
  explicit_bzero(line, sizeof(line));
  return rc;
}

/* Opens path and reads the key and the file's identity from the same open
 * file, so a replacement between stat and read cannot mix two versions. */
static scw_rc_t read_file(const char *path, struct stat *st, char **key,
                          scw_error_t *err) {
  *key = NULL;
  FILE *fh = fopen(path, "r");
  if (fh == NULL)
    return scw_fail(err, SCW_ERR_INVALID, "cannot open \"%s\": %s", path,
                    strerror(errno));
  scw_rc_t rc = SCW_OK;
  if (fstat(fileno(fh), st) != 0)
    rc = scw_fail(err, SCW_ERR_INVALID, "cannot stat \"%s\": %s", path,
                  strerror(errno));
  else
    rc = read_key(fh, path, key, err);
  fclose(fh);
  return rc;
}

scw_rc_t scw_secret_read(const char *path, scw_secret_file_t *file, char **key,
                         int *group_readable, scw_error_t *err) {
  memset(file, 0, sizeof(*file));
  struct stat st;
  scw_rc_t rc = read_file(path, &st, key, err);
  if (rc != SCW_OK)
    return rc;
  if ((file->path = strdup(path)) == NULL) {
    scw_secret_free(*key);
    *key = NULL;
    return scw_fail(err, SCW_ERR_NOMEM, "copying the key file's path");
  }
  remember(file, &st);
  *group_readable = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
  return SCW_OK;
}

int scw_secret_reload(scw_secret_file_t *file, char **key, int force,
                      scw_error_t *err) {
  struct stat st;
  if (!force && stat(file->path, &st) == 0 && same_file(file, &st))
    return 0;
  char *fresh = NULL;
  if (read_file(file->path, &st, &fresh, err) != SCW_OK)
    return -1;
  remember(file, &st);
  if (*key != NULL && strcmp(*key, fresh) == 0) {
    scw_secret_free(fresh);
    return 0;
  }
  scw_secret_free(*key);
  *key = fresh;
  return 1;
}

void scw_secret_file_free(scw_secret_file_t *file) {
  free(file->path);
  file->path = NULL;
}
