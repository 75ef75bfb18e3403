/* SPDX-License-Identifier: MIT */
/* Unit tests for plugin/scw_state.c: the state file survives a restart
 * exactly, and every bad file is refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scw_state.h"

#define ORG "11111111-1111-4111-8111-111111111111"

typedef struct {
  char dir[64];
  char path[128];
} fx_t;

static int setup(void **state) {
  fx_t *fx = calloc(1, sizeof(*fx));
  snprintf(fx->dir, sizeof(fx->dir), "/tmp/scw_state_XXXXXX");
  assert_non_null(mkdtemp(fx->dir));
  snprintf(fx->path, sizeof(fx->path), "%s/acme.state", fx->dir);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  fx_t *fx = *state;
  unlink(fx->path);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static void identity(scw_state_t *st, scw_group_by_t group_by) {
  memset(st, 0, sizeof(*st));
  st->organization_id = ORG;
  st->group_by = group_by;
  st->label_mode = SCW_LABEL_NAME;
  st->currency = "EUR";
}

/* A snapshot of `period` built as a walk builds it, with a name clash
 * ("web" twice) so that the names table matters. */
static scw_snapshot_t *snapshot(scw_group_by_t group_by, const char *period,
                                int64_t extra) {
  scw_agg_t *agg = scw_agg_new(group_by, "EUR");
  scw_charge_t charges[] = {
      {"p-1", "web", "/compute/dev1_s", "r1", "vm one", "EUR", INT64_C(1250000001)},
      {"p-2", "web", "/compute/dev1_s", "r2", NULL, "EUR", INT64_C(-3)},
      {"p-3", NULL, "/ipam/flexible_ipv4", "r3", NULL, "EUR", 7 + extra},
      {"p-3", NULL, "/ipam/flexible_ipv4", "r3", NULL, "USD", 99},
  };
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(scw_agg_add(agg, &charges[i], NULL), SCW_OK);
  scw_snapshot_t *snap;
  assert_int_equal(
      scw_snapshot_build_period(agg, SCW_LABEL_NAME, period, NULL, &snap, NULL),
      SCW_OK);
  snap->created = 1796000000;
  snap->duration = 0.25;
  snap->charges = 3;
  snap->skipped = 1;
  return snap;
}

static void assert_same_snapshot(const scw_snapshot_t *a, const scw_snapshot_t *b) {
  assert_string_equal(a->period, b->period);
  assert_true(a->created == b->created);
  assert_true(a->total_nanos == b->total_nanos);
  assert_int_equal(a->charges, b->charges);
  assert_int_equal(a->skipped, b->skipped);
  assert_true(a->duration == b->duration);
  assert_int_equal(a->n_series, b->n_series);
  for (size_t i = 0; i < a->n_series; i++) {
    const scw_series_t *x = &a->series[i];
    const scw_series_t *y = NULL;
    for (size_t j = 0; j < b->n_series && y == NULL; j++)
      if (strcmp(b->series[j].plugin_instance, x->plugin_instance) == 0 &&
          strcmp(b->series[j].type_instance, x->type_instance) == 0)
        y = &b->series[j];
    assert_non_null(y);
    assert_true(x->nanos == y->nanos);
    assert_string_equal(x->project_id, y->project_id);
    if (x->project_name != NULL)
      assert_string_equal(x->project_name, y->project_name);
    else
      assert_null(y->project_name);
  }
}

static void save_sample(fx_t *fx, scw_group_by_t group_by, scw_state_t *saved) {
  identity(saved, group_by);
  saved->saved = 1796000100;
  saved->sched.month = 1793491200;
  saved->sched.current_due = 1796003600;
  saved->sched.closing = SCW_CLOSING_FINAL;
  saved->sched.closing_fp = UINT64_C(0xfedcba9876543210);
  saved->sched.rng = UINT64_MAX;
  saved->sched.retry_not_before = -5;
  saved->snaps[0] = snapshot(group_by, "2026-12", 0);
  saved->snaps[1] = snapshot(group_by, "2026-11", 100);
  assert_int_equal(scw_state_save(fx->path, saved, NULL), SCW_OK);
}

static void release(scw_state_t *st) {
  scw_snapshot_release(st->snaps[0]);
  scw_snapshot_release(st->snaps[1]);
  st->snaps[0] = st->snaps[1] = NULL;
}

static void test_round_trip_exact(void **state) {
  fx_t *fx = *state;
  scw_group_by_t kinds[] = {SCW_GROUP_ORGANIZATION, SCW_GROUP_PROJECT,
                            SCW_GROUP_SKU, SCW_GROUP_RESOURCE};
  for (size_t k = 0; k < 4; k++) {
    scw_state_t saved, loaded;
    save_sample(fx, kinds[k], &saved);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* holds names and amounts */
    identity(&loaded, kinds[k]);
    scw_error_t err = {0};
    assert_int_equal(scw_state_load(fx->path, &loaded, &err), SCW_OK);
    assert_true(loaded.saved == saved.saved);
    assert_memory_equal(&loaded.sched, &saved.sched, sizeof(saved.sched));
    for (int i = 0; i < 2; i++)
      assert_same_snapshot(saved.snaps[i], loaded.snaps[i]);
    release(&saved);
    release(&loaded);
  }
}

static void test_names_survive_a_restart(void **state) {
  fx_t *fx = *state;
  scw_state_t saved, loaded;
  save_sample(fx, SCW_GROUP_PROJECT, &saved);
  identity(&loaded, SCW_GROUP_PROJECT);
  assert_int_equal(scw_state_load(fx->path, &loaded, NULL), SCW_OK);
  /* The next walk of the period, seeded with the restored names, keeps
   * them, and a newcomer clashing with them is the one suffixed. */
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_PROJECT, "EUR");
  scw_charge_t c[] = {
      {"p-1", "web", "s", "", NULL, "EUR", 1},
      {"p-9", "web", "s", "", NULL, "EUR", 1},
  };
  for (size_t i = 0; i < 2; i++)
    assert_int_equal(scw_agg_add(agg, &c[i], NULL), SCW_OK);
  scw_snapshot_t *next;
  assert_int_equal(scw_snapshot_build_period(agg, SCW_LABEL_NAME, "2026-12",
                                             scw_snapshot_names(loaded.snaps[0]),
                                             &next, NULL),
                   SCW_OK);
  const char *p1 = NULL;
  for (size_t i = 0; i < saved.snaps[0]->n_series; i++)
    if (strcmp(saved.snaps[0]->series[i].project_id, "p-1") == 0)
      p1 = saved.snaps[0]->series[i].plugin_instance;
  assert_non_null(p1);
  for (size_t i = 0; i < next->n_series; i++)
    if (strcmp(next->series[i].project_id, "p-1") == 0)
      assert_string_equal(next->series[i].plugin_instance, p1);
    else
      assert_string_not_equal(next->series[i].plugin_instance, p1);
  scw_snapshot_release(next);
  release(&saved);
  release(&loaded);
}

static void test_missing_file(void **state) {
  fx_t *fx = *state;
  scw_state_t st;
  identity(&st, SCW_GROUP_SKU);
  assert_int_equal(scw_state_load(fx->path, &st, NULL), SCW_ERR_NOT_FOUND);
}

/* Writes content to the fixture's path. */
static void write_raw(fx_t *fx, const char *content, size_t n) {
  FILE *fh = fopen(fx->path, "wb");
  assert_non_null(fh);
  assert_int_equal(fwrite(content, 1, n, fh), n);
  fclose(fh);
}

static char *read_raw(fx_t *fx, size_t *n) {
  FILE *fh = fopen(fx->path, "rb");
  assert_non_null(fh);
  char *buf = malloc(1 << 20);
  *n = fread(buf, 1, 1 << 20, fh);
  fclose(fh);
  return buf;
}

static void assert_refused(fx_t *fx, const char *why) {
  scw_state_t st;
  identity(&st, SCW_GROUP_SKU);
  scw_error_t err = {0};
  scw_rc_t rc = scw_state_load(fx->path, &st, &err);
  assert_int_not_equal(rc, SCW_OK);
  if (strstr(err.msg, why) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
  assert_null(st.snaps[0]);
  assert_null(st.snaps[1]);
}

static void test_truncated_and_corrupt_refused(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  release(&saved);
  size_t n;
  char *good = read_raw(fx, &n);
  /* Every truncation is refused, and none crashes. */
  for (size_t cut = 0; cut < n; cut += 1 + cut / 8) {
    write_raw(fx, good, cut);
    assert_refused(fx, cut < 40 ? "" : "checksum");
  }
  /* One flipped digit in an amount: still well-formed JSON, refused. */
  char *bad = malloc(n);
  memcpy(bad, good, n);
  char *digit = strstr(bad, "\"nanos\":") + 8;
  *digit = *digit == '1' ? '2' : '1';
  write_raw(fx, bad, n);
  assert_refused(fx, "checksum");
  write_raw(fx, "garbage\n{}", 10);
  assert_refused(fx, "not a scw_finops state file");
  free(bad);
  free(good);
}

static void test_future_version_refused(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  release(&saved);
  size_t n;
  char *buf = read_raw(fx, &n);
  buf[strlen("scw_finops-state ")] = '9';
  write_raw(fx, buf, n);
  assert_refused(fx, "newer scw_finops (format 9");
  free(buf);
}

static void test_foreign_file_refused(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  release(&saved);
  scw_state_t st;
  identity(&st, SCW_GROUP_SKU);
  st.organization_id = "22222222-2222-4222-8222-222222222222";
  scw_error_t err = {0};
  assert_int_not_equal(scw_state_load(fx->path, &st, &err), SCW_OK);
  assert_non_null(strstr(err.msg, "another configuration"));
  identity(&st, SCW_GROUP_RESOURCE);
  assert_int_not_equal(scw_state_load(fx->path, &st, &err), SCW_OK);
  identity(&st, SCW_GROUP_SKU);
  st.currency = "USD";
  assert_int_not_equal(scw_state_load(fx->path, &st, &err), SCW_OK);
  assert_null(st.snaps[0]);
}

static void test_save_replaces_atomically(void **state) {
  fx_t *fx = *state;
  scw_state_t saved;
  save_sample(fx, SCW_GROUP_SKU, &saved);
  /* A directory where the file should go: the save fails, and neither the
   * old file nor a temporary one is left half-written. */
  assert_int_equal(scw_state_save("/nonexistent-dir/x.state", &saved, NULL),
                   SCW_ERR_INVALID);
  saved.saved += 60;
  assert_int_equal(scw_state_save(fx->path, &saved, NULL), SCW_OK);
  scw_state_t loaded;
  identity(&loaded, SCW_GROUP_SKU);
  assert_int_equal(scw_state_load(fx->path, &loaded, NULL), SCW_OK);
  assert_true(loaded.saved == saved.saved);
  char tmp[160];
  snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", fx->path, (long)getpid());
  assert_int_not_equal(access(tmp, F_OK), 0);
  release(&saved);
  release(&loaded);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names_survive_a_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_and_corrupt_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_future_version_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_file_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_save_replaces_atomically, setup, teardown),
  };
  return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
