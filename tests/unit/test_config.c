/* SPDX-License-Identifier: MIT */
/* Glue tests: <Plugin scw_finops> configuration and the read callback,
 * against stubs of the collectd daemon (daemon_stubs.c). The real daemon is
 * exercised by tests/integration. */
#include "daemon_stubs.h"

#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scw_agg.h"
#include "scw_money.h"
#include "scw_org.h"
#include "scw_dispatch.h"
#include "scw_time.h"
#include "scw_worker.h"

void module_register(void);

#define ORG_UUID "11111111-1111-4111-8111-111111111111"
#define SECRET "s3cr3t-DO-NOT-LOG-4b1d"

/* ---- building oconfig trees ---- */
typedef struct {
  oconfig_item_t items[32];
  int n;
} opts_t;

static oconfig_item_t make_item(const char *key, int type, const char *s,
                                double num) {
  oconfig_item_t it = {.key = strdup(key), .values_num = 1};
  it.values = calloc(1, sizeof(*it.values));
  it.values[0].type = type;
  if (type == OCONFIG_TYPE_STRING)
    it.values[0].value.string = strdup(s);
  else if (type == OCONFIG_TYPE_NUMBER)
    it.values[0].value.number = num;
  else
    it.values[0].value.boolean = (int)num;
  return it;
}

static void add_s(opts_t *o, const char *key, const char *v) {
  o->items[o->n++] = make_item(key, OCONFIG_TYPE_STRING, v, 0);
}
static void add_n(opts_t *o, const char *key, double v) {
  o->items[o->n++] = make_item(key, OCONFIG_TYPE_NUMBER, NULL, v);
}
static void add_b(opts_t *o, const char *key, int v) {
  o->items[o->n++] = make_item(key, OCONFIG_TYPE_BOOLEAN, NULL, v);
}

static void free_item(oconfig_item_t *it) {
  for (int i = 0; i < it->values_num; i++)
    if (it->values[i].type == OCONFIG_TYPE_STRING)
      free(it->values[i].value.string);
  free(it->values);
  free(it->key);
  for (int i = 0; i < it->children_num; i++)
    free_item(&it->children[i]);
  free(it->children);
}

/* <Plugin> with one <Organization name> holding opts (consumed). */
static int run_config(const char *name, opts_t *o) {
  oconfig_item_t org = make_item("Organization", OCONFIG_TYPE_STRING, name, 0);
  org.children = calloc((size_t)o->n + 1, sizeof(oconfig_item_t));
  memcpy(org.children, o->items, (size_t)o->n * sizeof(oconfig_item_t));
  org.children_num = o->n;
  oconfig_item_t plugin = {.key = strdup("Plugin"), .children = &org,
                           .children_num = 1};
  int status = stub_config_cb(&plugin);
  plugin.children = NULL;
  plugin.children_num = 0;
  free_item(&org);
  free_item(&plugin);
  o->n = 0;
  return status;
}

static void base_opts(opts_t *o) {
  add_s(o, "OrganizationID", ORG_UUID);
  add_s(o, "SecretKey", SECRET);
}

static scw_org_t *registered_org(void) { return stub_read_ud.data; }

/* What the daemon does at shutdown: free every read callback's data. */
static void release_org(void) {
  for (size_t i = 0; i < stub_n_reads; i++)
    if (!stub_reads[i].removed && stub_reads[i].ud.free_func != NULL)
      stub_reads[i].ud.free_func(stub_reads[i].ud.data);
  stub_n_reads = 0;
  memset(&stub_read_ud, 0, sizeof(stub_read_ud));
}

static int setup(void **state) {
  (void)state;
  stub_reset();
  stub_n_reads = 0;
  stub_threads_allowed = -1;
  memset(&stub_read_ud, 0, sizeof(stub_read_ud));
  unsetenv("SCW_FINOPS_MIN_REFRESH_INTERVAL");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  release_org();
  /* The secret must never reach the log, whatever the test did. */
  if (stub_log != NULL)
    assert_null(strstr(stub_log, SECRET));
  stub_reset();
  return 0;
}

/* Asserts the config failed with a log line naming the block and option. */
static void expect_config_error(opts_t *o, const char *option) {
  assert_int_not_equal(run_config("acme", o), 0);
  assert_null(stub_read_ud.data);
  assert_non_null(stub_log);
  char want[128];
  snprintf(want, sizeof(want), "Organization \"acme\": option \"%s\"", option);
  assert_non_null(strstr(stub_log, want));
}

/* ---- configuration ---- */
static void test_defaults(void **state) {
  (void)state;
  opts_t o = {0};
  base_opts(&o);
  assert_int_equal(run_config("acme", &o), 0);
  scw_org_t *org = registered_org();
  assert_non_null(org);
  assert_string_equal(stub_read_name, "scw_finops/acme");
  assert_string_equal(org->cfg.host, "acme");
  assert_string_equal(org->cfg.url, "https://api.scaleway.com");
  assert_string_equal(org->cfg.organization_id, ORG_UUID);
  assert_int_equal(org->cfg.group_by, SCW_GROUP_SKU);
  assert_int_equal(org->cfg.label_mode, SCW_LABEL_NAME);
  assert_string_equal(org->cfg.currency, "EUR");
  assert_int_equal(org->cfg.refresh_interval, 3600);
  assert_int_equal(org->cfg.timeout, 30);
  assert_int_equal(org->cfg.query.page_size, 1000);
  assert_true(org->cfg.verify_peer && org->cfg.verify_host);
}

static void test_all_options(void **state) {
  (void)state;
  opts_t o = {0};
  base_opts(&o);
  add_s(&o, "URL", "http://127.0.0.1:8080/");
  add_s(&o, "ProjectID", "22222222-2222-4222-8222-222222222222");
  add_s(&o, "ProjectID", "33333333-3333-4333-8333-333333333333");
  add_s(&o, "SKU", "/compute/dev1_s/run_par1");
  add_s(&o, "ResourceID", "fr-par/acme-backups");
  add_s(&o, "ResourceName", "web-1");
  add_s(&o, "InvoiceID", "44444444-4444-4444-8444-444444444444");
  add_s(&o, "GroupBy", "Resource");
  add_s(&o, "ProjectLabel", "id");
  add_s(&o, "Currency", "USD");
  add_n(&o, "RefreshInterval", 900);
  add_n(&o, "Timeout", 5);
  add_n(&o, "PageSize", 250);
  add_n(&o, "MaxPages", 50);
  add_s(&o, "Host", "scw-acme");
  add_b(&o, "VerifyPeer", 0);
  add_b(&o, "VerifyHost", 0);
  add_s(&o, "CACert", "/etc/ssl/ca.pem");
  assert_int_equal(run_config("acme", &o), 0);
  scw_org_t *org = registered_org();
  assert_string_equal(org->cfg.url, "http://127.0.0.1:8080/");
  assert_int_equal(org->cfg.query.project_ids.n, 2);
  assert_string_equal(org->cfg.query.project_ids.items[1],
                      "33333333-3333-4333-8333-333333333333");
  assert_int_equal(org->cfg.query.skus.n, 1);
  assert_int_equal(org->cfg.query.resource_ids.n, 1);
  assert_int_equal(org->cfg.query.resource_names.n, 1);
  assert_int_equal(org->cfg.query.invoice_ids.n, 1);
  assert_int_equal(org->cfg.group_by, SCW_GROUP_RESOURCE);
  assert_int_equal(org->cfg.label_mode, SCW_LABEL_ID);
  assert_string_equal(org->cfg.currency, "USD");
  assert_int_equal(org->cfg.refresh_interval, 900);
  assert_int_equal(org->cfg.timeout, 5);
  assert_int_equal(org->cfg.query.page_size, 250);
  assert_int_equal(org->cfg.max_pages, 50);
  assert_string_equal(org->cfg.host, "scw-acme");
  assert_false(org->cfg.verify_peer);
  assert_false(org->cfg.verify_host);
  assert_string_equal(org->cfg.ca_cert, "/etc/ssl/ca.pem");
}

static void test_missing_organization_id(void **state) {
  (void)state;
  opts_t o = {0};
  add_s(&o, "SecretKey", SECRET);
  expect_config_error(&o, "OrganizationID");
  assert_non_null(strstr(stub_log, "is required"));
}

static void test_missing_secret(void **state) {
  (void)state;
  opts_t o = {0};
  add_s(&o, "OrganizationID", ORG_UUID);
  expect_config_error(&o, "SecretKeyFile");
}

static void test_bad_values(void **state) {
  (void)state;
  struct {
    const char *key;
    double num;
    const char *str;
  } cases[] = {
      {"PageSize", 0, NULL},         {"PageSize", 1001, NULL},
      {"RefreshInterval", 10, NULL}, {"Timeout", 0, NULL},
      {"MaxPages", 0, NULL},         {"GroupBy", 0, "bogus"},
      {"ProjectLabel", 0, "nick"},   {"Currency", 0, "euro"},
      {"URL", 0, "ftp://x"},         {"ProjectID", 0, "not-a-uuid"},
      {"MaxRetries", 11, NULL},      {"RefreshTimeout", 0, NULL},
      {"MaxCharges", 0, NULL},       {"MaxResponseSize", 100, NULL},
      {"Frobnicate", 0, "x"},        {"PageSize", 0, "ten"},
      {"Budget", 0, NULL},           {"Budget", -5, NULL},
      {"Budget", 0, "1000"},         {"MaxSeries", 1, NULL},
      {"MaxSeries", -1, NULL},       {"BudgetThresholds", 0, NULL},
      {"BudgetThresholds", 1001, NULL}, {"SendMetadata", 0, "sometimes"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    opts_t o = {0};
    base_opts(&o);
    if (cases[i].str != NULL)
      add_s(&o, cases[i].key, cases[i].str);
    else
      add_n(&o, cases[i].key, cases[i].num);
    stub_reset();
    expect_config_error(&o, cases[i].key);
  }
}

/* <Project "name"> with the given children (consumed). */
static void add_project(opts_t *o, const char *name, opts_t *children) {
  oconfig_item_t it = make_item("Project", OCONFIG_TYPE_STRING, name, 0);
  it.children = calloc((size_t)children->n + 1, sizeof(oconfig_item_t));
  memcpy(it.children, children->items, (size_t)children->n * sizeof(oconfig_item_t));
  it.children_num = children->n;
  children->n = 0;
  o->items[o->n++] = it;
}

static void test_budgets(void **state) {
  (void)state;
  opts_t o = {0}, p = {0};
  base_opts(&o);
  add_n(&o, "Budget", 1000.5);
  oconfig_item_t th = make_item("BudgetThresholds", OCONFIG_TYPE_NUMBER, NULL, 90);
  th.values = realloc(th.values, 2 * sizeof(*th.values));
  th.values[1] = (oconfig_value_t){.type = OCONFIG_TYPE_NUMBER, .value.number = 12.5};
  th.values_num = 2;
  o.items[o.n++] = th;
  add_n(&p, "Budget", 200);
  add_project(&o, "production", &p);
  assert_int_equal(run_config("acme", &o), 0);
  const scw_budgets_t *b = &registered_org()->cfg.budgets;
  assert_int_equal(b->n_budgets, 2);
  assert_null(b->budgets[0].project);
  assert_true(b->budgets[0].budget_nanos == INT64_C(1000500000000));
  assert_string_equal(b->budgets[1].project, "production");
  assert_true(b->budgets[1].budget_nanos == INT64_C(200000000000));
  assert_int_equal(b->n_thresholds, 2); /* sorted */
  assert_true(b->thresholds_bp[0] == 1250 && b->thresholds_bp[1] == 9000);
  release_org();

  /* A project without a Budget, twice the same project, a project budget
   * without projects (GroupBy organization): each refused. */
  base_opts(&o);
  add_project(&o, "production", &p);
  stub_reset();
  expect_config_error(&o, "Project");
  base_opts(&o);
  add_n(&p, "Budget", 1);
  add_project(&o, "web", &p);
  add_n(&p, "Budget", 2);
  add_project(&o, "web", &p);
  stub_reset();
  expect_config_error(&o, "Budget");
  base_opts(&o);
  add_s(&o, "GroupBy", "organization");
  add_n(&p, "Budget", 1);
  add_project(&o, "web", &p);
  stub_reset();
  expect_config_error(&o, "Project");
}

static void test_organization_id_must_be_uuid(void **state) {
  (void)state;
  opts_t o = {0};
  add_s(&o, "OrganizationID", "acme");
  add_s(&o, "SecretKey", SECRET);
  expect_config_error(&o, "OrganizationID");
}

static void test_refresh_minimum_env(void **state) {
  (void)state;
  setenv("SCW_FINOPS_MIN_REFRESH_INTERVAL", "2", 1);
  opts_t o = {0};
  base_opts(&o);
  add_n(&o, "RefreshInterval", 2);
  assert_int_equal(run_config("acme", &o), 0);
  assert_int_equal(registered_org()->cfg.refresh_interval, 2);
}

static void test_refresh_timeout_default(void **state) {
  (void)state;
  struct {
    int interval, timeout, want;
  } cases[] = {{3600, 30, 600}, {300, 30, 150}, {2, 30, 30}, {2, 5, 5}};
  setenv("SCW_FINOPS_MIN_REFRESH_INTERVAL", "1", 1);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    opts_t o = {0};
    base_opts(&o);
    add_n(&o, "RefreshInterval", cases[i].interval);
    add_n(&o, "Timeout", cases[i].timeout);
    assert_int_equal(run_config("acme", &o), 0);
    assert_int_equal(registered_org()->cfg.refresh_timeout, cases[i].want);
    release_org();
  }
  opts_t o = {0};
  base_opts(&o);
  add_n(&o, "RefreshTimeout", 45);
  add_n(&o, "MaxRetries", 0);
  assert_int_equal(run_config("acme", &o), 0);
  assert_int_equal(registered_org()->cfg.refresh_timeout, 45);
  assert_int_equal(registered_org()->cfg.max_retries, 0);
}

static void test_two_secret_options(void **state) {
  (void)state;
  opts_t o = {0};
  base_opts(&o);
  add_s(&o, "SecretKeyEnv", "HOME");
  expect_config_error(&o, "SecretKeyEnv");
}

static char *write_key_file(const char *content, mode_t mode) {
  char *path = strdup("/tmp/scw_finops_key_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
  close(fd);
  chmod(path, mode);
  return path;
}

static void test_secret_key_file(void **state) {
  (void)state;
  char *path = write_key_file(SECRET "  \n# second line ignored\n", 0600);
  opts_t o = {0};
  add_s(&o, "OrganizationID", ORG_UUID);
  add_s(&o, "SecretKeyFile", path);
  assert_int_equal(run_config("acme", &o), 0);
  assert_string_equal(registered_org()->cfg.secret_key, SECRET);
  assert_true(stub_log == NULL || strstr(stub_log, "readable") == NULL);
  unlink(path);
  free(path);
}

static void test_secret_key_file_world_readable_warns(void **state) {
  (void)state;
  char *path = write_key_file(SECRET "\n", 0644);
  opts_t o = {0};
  add_s(&o, "OrganizationID", ORG_UUID);
  add_s(&o, "SecretKeyFile", path);
  assert_int_equal(run_config("acme", &o), 0);
  assert_non_null(strstr(stub_log, "chmod 600"));
  unlink(path);
  free(path);
}

static void test_secret_key_file_errors(void **state) {
  (void)state;
  opts_t o = {0};
  add_s(&o, "OrganizationID", ORG_UUID);
  add_s(&o, "SecretKeyFile", "/nonexistent/scw.key");
  expect_config_error(&o, "SecretKeyFile");
  char *path = write_key_file("\n", 0600);
  stub_reset();
  add_s(&o, "OrganizationID", ORG_UUID);
  add_s(&o, "SecretKeyFile", path);
  expect_config_error(&o, "SecretKeyFile");
  unlink(path);
  free(path);
}

static void test_secret_key_env(void **state) {
  (void)state;
  setenv("SCW_TEST_SECRET", SECRET, 1);
  opts_t o = {0};
  add_s(&o, "OrganizationID", ORG_UUID);
  add_s(&o, "SecretKeyEnv", "SCW_TEST_SECRET");
  assert_int_equal(run_config("acme", &o), 0);
  assert_string_equal(registered_org()->cfg.secret_key, SECRET);
  release_org();
  unsetenv("SCW_TEST_SECRET");
  add_s(&o, "OrganizationID", ORG_UUID);
  add_s(&o, "SecretKeyEnv", "SCW_TEST_SECRET");
  expect_config_error(&o, "SecretKeyEnv");
}

/* ---- read callback ---- */

/* Fixed instants: reads must not depend on when the tests run. */
#define MID_NOV INT64_C(1794744000)   /* 2026-11-15T12:00:00Z */
#define DEC1 INT64_C(1796083200)      /* 2026-12-01T00:00:00Z */

/* A snapshot with two projects, of `period`, made at `created`. */
static scw_snapshot_t *sample(const scw_org_t *org, int64_t created,
                              const char *period) {
  scw_agg_t *agg = scw_agg_new(org->cfg.group_by, "EUR");
  scw_charge_t charges[] = {
      {"p-1", "Prod site", "/compute/dev1_s/run_par1", "r1", NULL, "EUR",
       INT64_C(1250000000)},
      {"p-1", "Prod site", "/compute/dev1_s/run_par1", "r2", NULL, "EUR", 10},
      {"p-2", NULL, "/ipam/flexible_ipv4", "r3", NULL, "EUR", -5},
      {"p-2", NULL, "/ipam/flexible_ipv4", "r3", NULL, "USD", 99},
  };
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(scw_agg_add(agg, &charges[i], NULL), SCW_OK);
  scw_snapshot_t *snap;
  assert_int_equal(scw_snapshot_build_period(agg, org->cfg.label_mode, period,
                                             NULL, &snap, NULL),
                   SCW_OK);
  snap->created = created;
  return snap;
}

static void publish(scw_org_t *org, int64_t created, const char *period) {
  scw_worker_publish(org->worker, SCW_SLOT_CURRENT, sample(org, created, period));
}

static void configure_default(void) {
  module_register();
  opts_t o = {0};
  base_opts(&o);
  add_s(&o, "Host", "scw-acme");
  assert_int_equal(run_config("acme", &o), 0);
}

/* The registered block, with its worker's schedule started at `t`. */
static scw_org_t *configure_at(int64_t t) {
  configure_default();
  scw_org_t *org = registered_org();
  scw_worker_free(org->worker);
  org->worker = scw_worker_new(&org->cfg, 0, 1, t);
  return org;
}

static void test_read_dispatches_costs(void **state) {
  (void)state;
  scw_org_t *org = configure_at(MID_NOV);
  publish(org, MID_NOV, "2026-11");
  stub_reset();
  scw_dispatch_read(org, MID_NOV + 10);

  const stub_dispatched_t *d =
      stub_find("Prod_site", "currency", "compute-dev1_s-run_par1");
  assert_non_null(d);
  assert_string_equal(d->vl.host, "scw-acme");
  assert_string_equal(d->vl.plugin, "scw_finops");
  assert_true(d->value.gauge == 1.25000001);
  assert_string_equal(stub_meta(d, "project_id"), "p-1");
  assert_string_equal(stub_meta(d, "project_name"), "Prod site");
  assert_string_equal(stub_meta(d, "sku"), "/compute/dev1_s/run_par1");
  assert_string_equal(stub_meta(d, "currency"), "EUR");
  assert_string_equal(stub_meta(d, "billing_period"), "2026-11");

  d = stub_find("p-2", "currency", "ipam-flexible_ipv4"); /* no name: id */
  assert_non_null(d);
  assert_true(d->value.gauge == -5e-9);

  d = stub_find("", "currency", "total");
  assert_non_null(d);
  assert_true(d->value.gauge == scw_money_to_double(INT64_C(1250000005)));
  assert_non_null(stub_find("", "count", "charges"));
  assert_true(stub_find("", "count", "skipped_charges")->value.gauge == 1);
  assert_non_null(stub_find("", "http_requests", ""));
  assert_non_null(stub_find("", "errors", ""));
  assert_true(stub_find("", "duration", "snapshot_age")->value.gauge == 10);
  /* Mid-month, no previous month is being closed. */
  assert_null(stub_find("", "currency_previous", "total"));
  assert_null(stub_find("", "gauge", "previous_final"));
}

static void test_read_callback_uses_the_clock(void **state) {
  (void)state;
  configure_default();
  scw_org_t *org = registered_org();
  char period[8];
  int64_t now = (int64_t)time(NULL);
  scw_period_of(now, period, sizeof(period));
  publish(org, now, period);
  stub_reset();
  assert_int_equal(stub_read_cb(&stub_read_ud), 0);
  assert_non_null(stub_find("", "currency", "total"));
}

static void test_read_meta_follows_new_snapshot(void **state) {
  (void)state;
  scw_org_t *org = configure_at(MID_NOV);
  publish(org, MID_NOV, "2026-11");
  scw_dispatch_read(org, MID_NOV);
  stub_reset();
  scw_dispatch_read(org, MID_NOV); /* same snapshot: cached */
  const stub_dispatched_t *d =
      stub_find("Prod_site", "currency", "compute-dev1_s-run_par1");
  assert_string_equal(stub_meta(d, "project_name"), "Prod site");

  /* A new snapshot where the project was renamed: meta data follows. */
  scw_agg_t *agg = scw_agg_new(SCW_GROUP_SKU, "EUR");
  scw_charge_t c = {"p-1", "Prod\nrenamed", "/compute/dev1_s/run_par1", "r1",
                    NULL, "EUR", 7};
  assert_int_equal(scw_agg_add(agg, &c, NULL), SCW_OK);
  scw_snapshot_t *snap;
  assert_int_equal(scw_snapshot_build_period(agg, SCW_LABEL_ID, "2026-11", NULL,
                                             &snap, NULL),
                   SCW_OK);
  snap->created = MID_NOV;
  scw_worker_publish(org->worker, SCW_SLOT_CURRENT, snap);
  stub_reset();
  scw_dispatch_read(org, MID_NOV);
  d = stub_find("p-1", "currency", "compute-dev1_s-run_par1");
  assert_non_null(d);
  assert_string_equal(stub_meta(d, "project_name"), "Prod?renamed");
  assert_null(stub_find("Prod_site", "currency", "compute-dev1_s-run_par1"));
}

static void test_read_withholds_stale_costs(void **state) {
  (void)state;
  scw_org_t *org = configure_at(MID_NOV);
  publish(org, MID_NOV - 3 * org->cfg.refresh_interval - 5, "2026-11");
  stub_reset();
  scw_dispatch_read(org, MID_NOV);
  assert_null(stub_find("", "currency", "total"));
  assert_null(stub_find("Prod_site", "currency", "compute-dev1_s-run_par1"));
  /* Self-metrics are always there, so the staleness is visible. */
  const stub_dispatched_t *age = stub_find("", "duration", "snapshot_age");
  assert_non_null(age);
  assert_true(age->value.gauge >= 3.0 * org->cfg.refresh_interval);
}

static void test_read_kicks_for_an_old_month(void **state) {
  (void)state;
  scw_org_t *org = configure_at(MID_NOV);
  publish(org, MID_NOV, "2026-10");
  stub_reset();
  scw_dispatch_read(org, MID_NOV);
  assert_null(stub_find("", "currency", "total"));
  /* The read asked for a walk for this snapshot generation already: a
   * second kick for it is refused. */
  scw_snapshot_t *s = scw_worker_acquire(org->worker, SCW_SLOT_CURRENT);
  assert_int_equal(scw_worker_kick(org->worker, MID_NOV, s->generation), 0);
  scw_snapshot_release(s);
}

static void test_read_month_start(void **state) {
  (void)state;
  /* 00:05 on the 1st: November's last month-to-date snapshot exists, no
   * walk of December yet. */
  scw_org_t *org = configure_at(DEC1 + 300);
  publish(org, DEC1 - 600, "2026-11");
  stub_reset();
  scw_dispatch_read(org, DEC1 + 300);
  /* The new month is 0, not November's number under the month-to-date
   * names; November goes on under currency_previous, provisional. */
  const stub_dispatched_t *d = stub_find("", "currency", "total");
  assert_non_null(d);
  assert_true(d->value.gauge == 0);
  assert_string_equal(stub_meta(d, "billing_period"), "2026-12");
  assert_null(stub_find("Prod_site", "currency", "compute-dev1_s-run_par1"));
  d = stub_find("", "currency_previous", "total");
  assert_non_null(d);
  assert_true(d->value.gauge == scw_money_to_double(INT64_C(1250000005)));
  assert_string_equal(stub_meta(d, "billing_period"), "2026-11");
  d = stub_find("Prod_site", "currency_previous", "compute-dev1_s-run_par1");
  assert_non_null(d);
  assert_true(d->value.gauge == 1.25000001);
  d = stub_find("", "gauge", "previous_final");
  assert_non_null(d);
  assert_true(d->value.gauge == 0);

  /* The closing month's own walk replaces the fallback. */
  scw_snapshot_t *closing = sample(org, DEC1 + 200, "2026-11");
  scw_worker_publish(org->worker, SCW_SLOT_CLOSING, closing);
  stub_reset();
  scw_dispatch_read(org, DEC1 + 301);
  assert_non_null(stub_find("", "currency_previous", "total"));
}

static void test_read_without_snapshot(void **state) {
  (void)state;
  scw_org_t *org = configure_at(MID_NOV);
  stub_reset();
  scw_dispatch_read(org, MID_NOV);
  /* read_cpu, http_requests, errors, api bytes/pages/retries/throttled,
   * closing requests */
  assert_int_equal(stub_n_dispatched, 8);
  assert_null(stub_find("", "currency", "total"));
}

static void test_duplicate_block_name(void **state) {
  (void)state;
  configure_default();
  opts_t o = {0};
  base_opts(&o);
  void *first = stub_read_ud.data;
  assert_int_not_equal(run_config("acme", &o), 0);
  assert_non_null(strstr(stub_log, "configured twice"));
  assert_ptr_equal(stub_read_ud.data, first);
}

/* ---- several organizations, lifecycle ---- */

/* Configures block `name` with Host `host` (NULL: the default) pointing at a
 * closed loopback port, so a started worker fails fast and backs off. */
static int configure_org(const char *name, const char *host) {
  opts_t o = {0};
  base_opts(&o);
  add_s(&o, "URL", "http://127.0.0.1:9");
  if (host != NULL)
    add_s(&o, "Host", host);
  return run_config(name, &o);
}

static void test_release_stops_only_that_organization(void **state) {
  (void)state;
  assert_int_equal(configure_org("a", NULL), 0);
  assert_int_equal(configure_org("b", NULL), 0);
  assert_int_equal(stub_init_cb(), 0);
  scw_org_t *b = stub_reads[1].ud.data;
  assert_int_equal(scw_worker_running(b->worker), 1);
  /* The daemon frees a's read callback (unregister or shutdown). */
  assert_int_equal(plugin_unregister_read("scw_finops/a"), 0);
  assert_int_equal(scw_worker_running(b->worker), 1);
  assert_int_equal(scw_worker_stopping(b->worker), 0);
}

/* SendMetadata auto (the default) follows the loaded plugins at init. */
/* option: -1 for none, else SendMetadata's boolean. */
static void check_metadata(const char *loaded, int option, int want) {
  stub_loaded_plugins[0] = loaded;
  module_register();
  opts_t o = {0};
  base_opts(&o);
  if (option >= 0)
    add_b(&o, "SendMetadata", option);
  assert_int_equal(run_config("acme", &o), 0);
  scw_org_t *org = registered_org();
  assert_int_equal(org->cfg.send_metadata, option >= 0 ? want : -1);
  assert_int_equal(stub_init_cb(), 0);
  stub_loaded_plugins[0] = NULL;
  assert_int_equal(org->cfg.send_metadata, want);
  publish(org, MID_NOV, "2026-11");
  stub_reset();
  scw_dispatch_read(org, MID_NOV + 10);
  const stub_dispatched_t *d =
      stub_find("Prod_site", "currency", "compute-dev1_s-run_par1");
  assert_non_null(d);
  if (want)
    assert_string_equal(stub_meta(d, "project_id"), "p-1");
  else
    assert_null(stub_meta(d, "project_id"));
}

static void test_metadata_auto_without_reader(void **state) {
  (void)state;
  check_metadata("csv", -1, 0);
}

static void test_metadata_auto_with_write_http(void **state) {
  (void)state;
  check_metadata("write_http", -1, 1);
}

static void test_metadata_forced(void **state) {
  (void)state;
  check_metadata("write_http", 0, 0);
}

static void test_failed_start_unregisters_the_organization(void **state) {
  (void)state;
  assert_int_equal(configure_org("a", NULL), 0);
  assert_int_equal(configure_org("b", NULL), 0);
  assert_string_equal(stub_reads[0].group, "scw_finops");
  stub_threads_allowed = 1; /* one worker starts, the other cannot */
  assert_int_equal(stub_init_cb(), 0);
  assert_int_equal(stub_reads[0].removed + stub_reads[1].removed, 1);
  assert_non_null(strstr(stub_log, "cannot start the refresh thread"));
  assert_non_null(strstr(stub_log, "1 of 2 organizations could not start"));

  /* None can start: every read callback goes, and init reports failure. */
  release_org();
  stub_reset();
  assert_int_equal(configure_org("c", NULL), 0);
  stub_threads_allowed = 0;
  assert_int_not_equal(stub_init_cb(), 0);
  assert_int_equal(stub_reads[0].removed, 1);
}

static void test_same_host_rejected(void **state) {
  (void)state;
  assert_int_equal(configure_org("a", "shared"), 0);
  assert_int_not_equal(configure_org("b", "shared"), 0);
  assert_non_null(strstr(stub_log, "Host \"shared\" is already used by "
                                   "Organization \"a\""));
  /* The default Host is the block name: it clashes the same way. */
  stub_reset();
  assert_int_not_equal(configure_org("shared", NULL), 0);
  assert_int_equal(configure_org("c", "other"), 0);
  assert_int_equal(stub_n_reads, 2);
}

static void test_max_response_size_bounds(void **state) {
  (void)state;
  opts_t o = {0};
  base_opts(&o);
  add_n(&o, "MaxResponseSize", 4294967296.0);
  if (SIZE_MAX >= UINT64_C(4294967296)) {
    assert_int_equal(run_config("acme", &o), 0);
    assert_true(registered_org()->cfg.max_response == (size_t)UINT64_C(4294967296));
    release_org();
  } else { /* 32-bit: 4 GiB does not fit size_t and must not wrap to 0 */
    expect_config_error(&o, "MaxResponseSize");
  }
  base_opts(&o);
  add_n(&o, "MaxResponseSize", 4294967297.0);
  expect_config_error(&o, "MaxResponseSize");
  base_opts(&o);
  add_n(&o, "MaxResponseSize", 4095);
  expect_config_error(&o, "MaxResponseSize");
}

static void test_insecure_settings_warn(void **state) {
  (void)state;
  opts_t o = {0};
  base_opts(&o);
  add_s(&o, "URL", "http://api.example.com");
  assert_int_equal(run_config("a", &o), 0);
  assert_non_null(strstr(stub_log, "plain HTTP: the secret key is sent in clear"));

  stub_reset(); /* loopback: the key does not leave the machine */
  base_opts(&o);
  add_s(&o, "URL", "http://127.0.0.1:8080/x");
  assert_int_equal(run_config("b", &o), 0);
  base_opts(&o);
  add_s(&o, "URL", "http://localhost/x");
  assert_int_equal(run_config("c", &o), 0);
  assert_true(stub_log == NULL || strstr(stub_log, "plain HTTP") == NULL);

  base_opts(&o);
  add_s(&o, "URL", "http://localhost.example.com/x");
  assert_int_equal(run_config("d", &o), 0);
  assert_non_null(strstr(stub_log, "plain HTTP"));

  stub_reset();
  base_opts(&o);
  add_b(&o, "VerifyPeer", 0);
  assert_int_equal(run_config("e", &o), 0);
  assert_non_null(strstr(stub_log, "VerifyPeer is false"));
  stub_reset();
  base_opts(&o);
  add_b(&o, "VerifyHost", 0);
  assert_int_equal(run_config("f", &o), 0);
  assert_non_null(strstr(stub_log, "VerifyHost is false"));
}

static void test_currency_any_case(void **state) {
  (void)state;
  opts_t o = {0};
  base_opts(&o);
  add_s(&o, "Currency", "usd");
  assert_int_equal(run_config("acme", &o), 0);
  assert_string_equal(registered_org()->cfg.currency, "USD");
  release_org();
  base_opts(&o);
  add_s(&o, "Currency", "e1r");
  expect_config_error(&o, "Currency");
}

int main(void) {
  module_register();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_all_options, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_organization_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_secret, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
      cmocka_unit_test_setup_teardown(test_organization_id_must_be_uuid, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refresh_minimum_env, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refresh_timeout_default, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_secret_options, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_key_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_key_file_world_readable_warns, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_key_file_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_key_env, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_dispatches_costs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_meta_follows_new_snapshot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metadata_auto_without_reader, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metadata_auto_with_write_http, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metadata_forced, setup, teardown),
      cmocka_unit_test_setup_teardown(test_budgets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_withholds_stale_costs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_kicks_for_an_old_month, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_month_start, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_callback_uses_the_clock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_without_snapshot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_block_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_release_stops_only_that_organization, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_start_unregisters_the_organization, setup, teardown),
      cmocka_unit_test_setup_teardown(test_same_host_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_max_response_size_bounds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_insecure_settings_warn, setup, teardown),
      cmocka_unit_test_setup_teardown(test_currency_any_case, setup, teardown),
  };
  return cmocka_run_group_tests_name("config_and_read", tests, NULL, NULL);
}
