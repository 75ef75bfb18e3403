/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_secret.c: the key file, read again when it
 * changes (rotation without a restart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scw_secret.h"

#define KEY1 "11111111-aaaa-4bbb-8ccc-key-one-0001"
#define KEY2 "22222222-aaaa-4bbb-8ccc-key-two-0002"

typedef struct {
  char dir[64];
  char path[96];
  scw_secret_file_t file;
  char *key;
} fx_t;

static void write_file(const char *path, const char *content, mode_t mode) {
  FILE *fh = fopen(path, "w");
  assert_non_null(fh);
  assert_int_equal(fputs(content, fh) >= 0, 1);
  assert_int_equal(fclose(fh), 0);
  assert_int_equal(chmod(path, mode), 0);
}

/* Rewrites path in place with a new mtime (no sleep: set it explicitly). */
static void rewrite(const char *path, const char *content, time_t mtime) {
  write_file(path, content, 0600);
  struct timespec times[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
  assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static int setup(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  snprintf(fx->dir, sizeof(fx->dir), "/tmp/scw_secret_XXXXXX");
  assert_non_null(mkdtemp(fx->dir));
  snprintf(fx->path, sizeof(fx->path), "%s/key", fx->dir);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fx_t *fx = *state;
  scw_secret_free(fx->key);
  scw_secret_file_free(&fx->file);
  unlink(fx->path);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static void read_first(fx_t *fx, const char *content) {
  write_file(fx->path, content, 0600);
  int group_readable = -1;
  assert_int_equal(scw_secret_read(fx->path, &fx->file, &fx->key,
                                   &group_readable, NULL), SCW_OK);
  assert_int_equal(group_readable, 0);
}

static void test_first_line_trimmed(void **state) {
  fx_t *fx = *state;
  read_first(fx, "  " KEY1 " \t\r\n# a comment line\n");
  assert_string_equal(fx->key, KEY1);
}

static void test_group_readable_reported(void **state) {
  fx_t *fx = *state;
  write_file(fx->path, KEY1 "\n", 0640);
  int group_readable = 0;
  assert_int_equal(scw_secret_read(fx->path, &fx->file, &fx->key,
                                   &group_readable, NULL), SCW_OK);
  assert_int_equal(group_readable, 1);
}

static void test_unchanged_file_not_reread(void **state) {
  fx_t *fx = *state;
  read_first(fx, KEY1 "\n");
  char *before = fx->key;
  assert_int_equal(scw_secret_reload(&fx->file, &fx->key, 0, NULL), 0);
  assert_ptr_equal(fx->key, before);
}

static void test_rewritten_file_gives_new_key(void **state) {
  fx_t *fx = *state;
  read_first(fx, KEY1 "\n");
  rewrite(fx->path, KEY2 "\n", time(NULL) + 5);
  assert_int_equal(scw_secret_reload(&fx->file, &fx->key, 0, NULL), 1);
  assert_string_equal(fx->key, KEY2);
  /* Read once: the same file is not read again. */
  assert_int_equal(scw_secret_reload(&fx->file, &fx->key, 0, NULL), 0);
}

static void test_replaced_file_same_mtime(void **state) {
  fx_t *fx = *state;
  read_first(fx, KEY1 "\n");
  struct stat st;
  assert_int_equal(stat(fx->path, &st), 0);
  /* An editor or `install` replaces the file: new inode, same size and
   * (here) the same mtime. */
  char tmp[128];
  snprintf(tmp, sizeof(tmp), "%s/key.new", fx->dir);
  write_file(tmp, KEY2 "\n", 0600);
  struct timespec times[2] = {st.st_mtim, st.st_mtim};
  assert_int_equal(utimensat(AT_FDCWD, tmp, times, 0), 0);
  assert_int_equal(rename(tmp, fx->path), 0);
  assert_int_equal(scw_secret_reload(&fx->file, &fx->key, 0, NULL), 1);
  assert_string_equal(fx->key, KEY2);
}

static void test_forced_reread_same_key(void **state) {
  fx_t *fx = *state;
  read_first(fx, KEY1 "\n");
  assert_int_equal(scw_secret_reload(&fx->file, &fx->key, 1, NULL), 0);
  assert_string_equal(fx->key, KEY1);
  /* A touched file with the same key is not a new key either. */
  rewrite(fx->path, KEY1 "\n", time(NULL) + 7);
  assert_int_equal(scw_secret_reload(&fx->file, &fx->key, 0, NULL), 0);
  assert_string_equal(fx->key, KEY1);
}

static void test_unreadable_file_keeps_old_key(void **state) {
  fx_t *fx = *state;
  read_first(fx, KEY1 "\n");
  scw_error_t err = {0};
  assert_int_equal(unlink(fx->path), 0);
  assert_int_equal(scw_secret_reload(&fx->file, &fx->key, 0, &err), -1);
  assert_string_equal(fx->key, KEY1);
  assert_non_null(strstr(err.msg, fx->path));
  /* Emptied (half-written) file: an error, the old key stays. */
  rewrite(fx->path, "\n", time(NULL) + 9);
  assert_int_equal(scw_secret_reload(&fx->file, &fx->key, 0, &err), -1);
  assert_string_equal(fx->key, KEY1);
  assert_non_null(strstr(err.msg, "no key"));
  assert_null(strstr(err.msg, KEY1));
}

static void test_missing_file_at_start(void **state) {
  fx_t *fx = *state;
  scw_error_t err = {0};
  int group_readable = 0;
  assert_int_equal(scw_secret_read("/nonexistent/scw.key", &fx->file, &fx->key,
                                   &group_readable, &err), SCW_ERR_INVALID);
  assert_null(fx->key);
  assert_null(fx->file.path);
  assert_non_null(strstr(err.msg, "cannot open \"/nonexistent/scw.key\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_first_line_trimmed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_group_readable_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unchanged_file_not_reread, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rewritten_file_gives_new_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replaced_file_same_mtime, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forced_reread_same_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unreadable_file_keeps_old_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_file_at_start, setup, teardown),
  };
  return cmocka_run_group_tests_name("secret", tests, NULL, NULL);
}
