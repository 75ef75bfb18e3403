/* SPDX-License-Identifier: MIT */
/* scw_secret.h - the secret key's file, read at start and again when it
 * changes, so a rotated key is used without restarting collectd.
 *
 * The key is the file's first line without surrounding white space. Buffers
 * that held it are wiped. Messages name the file, never its content. */
#ifndef SCW_SECRET_H
#define SCW_SECRET_H

#include <stdint.h>
#include <sys/types.h>

#include "scw_error.h"

typedef struct {
  char *path;
  /* What the file was when last read: a change in any of them means
   * "read it again" (editors replace the file, so the inode counts too). */
  dev_t dev;
  ino_t ino;
  off_t size;
  int64_t mtime_ns;
  int64_t ctime_ns;
} scw_secret_file_t;

/* Reads the key from path; *key is malloc'd (wipe it before freeing it with
 * scw_secret_free). Fills file for later change checks, and *group_readable
 * when others than the owner may read the file. */
scw_rc_t scw_secret_read(const char *path, scw_secret_file_t *file, char **key,
                         int *group_readable, scw_error_t *err);

/* Reads the file again if it changed since the last read, or if `force`.
 * Returns 1 when *key was replaced by a different key (the old one wiped and
 * freed), 0 when the key is the same (or the file did not change), and -1
 * with err set when the file cannot be read (the old key stays). */
int scw_secret_reload(scw_secret_file_t *file, char **key, int force,
                      scw_error_t *err);

void scw_secret_file_free(scw_secret_file_t *file);
/* Wipes and frees a key. */
void scw_secret_free(char *key);

#endif
