/* SPDX-License-Identifier: MIT */
/* gen.c - deterministic FinOps API pages for the benchmark.
 *
 *   gen OUTDIR N_CHARGES [PAGE_SIZE]
 *
 * Writes OUTDIR/page-0001.json ... as GET /billing/v2beta1/charges answers
 * (compact JSON, as the API sends it) of PAGE_SIZE (1000) charges each. Page
 * N carries "next_page_token":"page-000N+1"; the last page has none. The
 * project, resource, SKU and price of charge i depend only on i (the sets
 * share their first charges); its dates spread the set over November 2026 in
 * start_date order, as the plugin asks for.
 *
 * Every Charge field of spec section 3 is present with realistic sizes:
 * UUIDs, path-like SKUs (~300 distinct), 25 projects, 6,000 resources (most
 * with two SKUs, e.g. an instance and its volume; buckets have a
 * "region/name" id), resource_name present / null / absent, Money with units
 * and nanos (a few negative credits), RFC 3339 dates (updated_at with
 * microseconds). Also writes OUTDIR/MANIFEST. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_PROJECTS 25
#define N_RESOURCES 6000

static uint64_t mix(uint64_t x) { /* splitmix64 finaliser */
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static uint64_t h2(uint64_t a, uint64_t b) { return mix(mix(a) ^ (b * 0x2545F4914F6CDD1DULL)); }

static void uuid(char out[37], uint64_t kind, uint64_t i) {
  uint64_t a = h2(kind, i), b = h2(kind + 1000, i);
  snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012" PRIx64, (unsigned)(a >> 32),
           (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
           (unsigned)(0x8000 | ((b >> 48) & 0x3fff)), (uint64_t)(b & 0xffffffffffffULL));
}

static const char *zones[] = {"par1", "par2", "par3", "ams1", "ams2",
                              "ams3", "waw1", "waw2", "waw3"};
static const char *regions[] = {"par", "ams", "waw"};
static const char *region_long[] = {"fr-par", "nl-ams", "pl-waw"};
static const char *instance_types[] = {
    "dev1_s",     "dev1_m",      "dev1_l",      "gp1_xs",         "gp1_s",
    "gp1_m",      "pro2_xxs",    "pro2_xs",     "pro2_s",         "pro2_m",
    "pro2_l",     "play2_pico",  "play2_nano",  "play2_micro",    "pop2_2c_8g",
    "pop2_4c_16g", "pop2_8c_32g", "pop2_hc_16c_32g", "ent1_s",    "ent1_m",
    "gpu_l4_1_24g", "gpu_h100_1_80g"};
static const char *volume_types[] = {"sbs_5k", "sbs_15k", "b_ssd"};
static const char *bucket_classes[] = {"multi_az_standard", "one_zone_ia", "glacier"};
static const char *lb_types[] = {"lb_s", "lb_gp_m", "lb_gp_l"};
static const char *db_types[] = {"db_pro2_xxs", "db_pro2_xs", "db_pro2_s", "db_pop2_2c_8g"};
static const char *words[] = {"web", "api", "worker", "db", "cache", "front",
                              "batch", "etl", "gpu", "edge", "mail", "ci"};
static const char *teams[] = {"production", "staging", "data-platform",
                              "ml-training", "internal-tools", "customer-demo",
                              "analytics", "sandbox"};

typedef struct {
  char id[64];
  char name[48];   /* "" when the charge has no name */
  int name_form;   /* 0 string, 1 null, 2 absent */
  char sku[2][64];
  int n_sku;
  int project;
} resource_t;

static resource_t res[N_RESOURCES];
static char project_ids[N_PROJECTS][37], project_names[N_PROJECTS][40];
static char org_id[37];

static void setup(void) {
  uuid(org_id, 1, 0);
  for (int p = 0; p < N_PROJECTS; p++) {
    uuid(project_ids[p], 2, (uint64_t)p);
    if (p == 7 || p == 19)
      project_names[p][0] = '\0'; /* a project without a name */
    else
      snprintf(project_names[p], sizeof(project_names[p]), "%s-%02d",
               teams[p % 8], p);
  }
  for (int r = 0; r < N_RESOURCES; r++) {
    resource_t *x = &res[r];
    uint64_t h = h2(3, (uint64_t)r);
    unsigned kind = (unsigned)(h % 100);
    const char *zone = zones[(h >> 8) % 9];
    unsigned reg = (unsigned)((h >> 16) % 3);
    const char *word = words[(h >> 24) % 12];
    x->project = (int)((h >> 32) % N_PROJECTS);
    x->name_form = (int)((h >> 40) % 10) < 7 ? 0 : (int)((h >> 40) % 10) < 9 ? 1 : 2;
    uuid(x->id, 4, (uint64_t)r);
    snprintf(x->name, sizeof(x->name), "%s-%s-%03d", word,
             project_names[x->project][0] ? teams[x->project % 8] : "misc", r % 1000);
    if (kind < 55) { /* instance + its volume */
      snprintf(x->sku[0], 64, "/compute/%s/run_%s", instance_types[(h >> 44) % 22], zone);
      snprintf(x->sku[1], 64, "/block-storage/%s/storage_%s", volume_types[(h >> 50) % 3], zone);
      x->n_sku = 2;
    } else if (kind < 70) { /* a detached volume */
      snprintf(x->sku[0], 64, "/block-storage/%s/storage_%s", volume_types[(h >> 50) % 3], zone);
      x->n_sku = 1;
    } else if (kind < 80) { /* a flexible IP */
      snprintf(x->sku[0], 64, "/network/flexible_ip/ipv4_%s", zone);
      x->n_sku = 1;
    } else if (kind < 88) { /* a bucket: storage + egress, "region/name" id */
      snprintf(x->id, sizeof(x->id), "%s/%s-bucket-%04d", region_long[reg], word, r);
      snprintf(x->sku[0], 64, "/object-storage/%s/storage_%s", bucket_classes[(h >> 50) % 3], regions[reg]);
      snprintf(x->sku[1], 64, "/object-storage/egress/traffic_%s", regions[reg]);
      x->n_sku = 2;
    } else if (kind < 93) { /* a load balancer */
      snprintf(x->sku[0], 64, "/load-balancer/%s/run_%s", lb_types[(h >> 50) % 3], zone);
      x->n_sku = 1;
    } else if (kind < 98) { /* a database: node + storage */
      snprintf(x->sku[0], 64, "/managed-databases/%s/postgresql_%s", db_types[(h >> 50) % 4], regions[reg]);
      snprintf(x->sku[1], 64, "/managed-databases/storage_bssd/postgresql_%s", regions[reg]);
      x->n_sku = 2;
    } else { /* a Kapsule control plane */
      snprintf(x->sku[0], 64, "/kubernetes/kapsule_control_plane/dedicated_4_%s", regions[reg]);
      x->n_sku = 1;
    }
  }
}

/* Appends charge i (of n) to buf; returns the bytes written. */
static size_t charge(char *buf, size_t size, uint64_t i, uint64_t n) {
  uint64_t h = h2(5, i);
  const resource_t *r = &res[h % N_RESOURCES];
  const char *sku = r->sku[(h >> 20) % (uint64_t)r->n_sku];
  uint64_t hour = i * 720 / (n ? n : 1); /* ordered by start_date, as asked */
  unsigned day = (unsigned)(hour / 24) + 1, hh = (unsigned)(hour % 24);
  unsigned uh = hh + 2 > 23 ? 23 : hh + 2;
  int64_t amount = (int64_t)((h >> 24) % 2000000000ULL); /* 0..2 EUR */
  if ((h >> 56) % 200 == 0)
    amount = -(int64_t)((h >> 24) % 100000000ULL); /* a credit */
  char name[80];
  if (r->name_form == 0)
    snprintf(name, sizeof(name), "\"resource_name\":\"%s\",", r->name);
  else if (r->name_form == 1)
    snprintf(name, sizeof(name), "\"resource_name\":null,");
  else
    name[0] = '\0';
  int w = snprintf(
      buf, size,
      "{\"organization_id\":\"%s\",\"organization_name\":\"Acme SAS\","
      "\"project_id\":\"%s\",\"project_name\":\"%s\",\"sku\":\"%s\","
      "\"invoice_id\":\"\",\"resource_id\":\"%s\",%s"
      "\"price\":{\"currency_code\":\"EUR\",\"units\":%" PRId64 ",\"nanos\":%" PRId64 "},"
      "\"start_date\":\"2026-11-%02uT%02u:00:00Z\",\"end_date\":\"2026-11-%02uT%02u:59:59Z\","
      "\"updated_at\":\"2026-11-%02uT%02u:%02u:%02u.%06uZ\"}",
      org_id, project_ids[r->project], project_names[r->project], sku, r->id,
      name, amount / 1000000000, amount % 1000000000, day, hh, day, hh, day, uh,
      (unsigned)((h >> 8) % 60), (unsigned)((h >> 14) % 60),
      (unsigned)((h >> 30) % 1000000));
  return (size_t)w;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: gen OUTDIR N_CHARGES [PAGE_SIZE]\n");
    return 2;
  }
  const char *dir = argv[1];
  uint64_t n = strtoull(argv[2], NULL, 10);
  uint64_t page_size = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
  setup();
  size_t cap = page_size * 1024 + 256;
  char *buf = malloc(cap);
  uint64_t pages = (n + page_size - 1) / page_size, bytes = 0;
  char path[4096];
  for (uint64_t p = 0; p < pages; p++) {
    size_t len = (size_t)snprintf(buf, cap, "{\"charges\":[");
    uint64_t first = p * page_size, last = first + page_size > n ? n : first + page_size;
    for (uint64_t i = first; i < last; i++) {
      if (i > first)
        buf[len++] = ',';
      len += charge(buf + len, cap - len, i, n);
    }
    if (p + 1 < pages)
      len += (size_t)snprintf(buf + len, cap - len,
                              "],\"next_page_token\":\"page-%04" PRIu64 "\"}", p + 2);
    else
      len += (size_t)snprintf(buf + len, cap - len, "]}");
    snprintf(path, sizeof(path), "%s/page-%04" PRIu64 ".json", dir, p + 1);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
      perror(path);
      return 1;
    }
    bytes += len;
  }
  snprintf(path, sizeof(path), "%s/MANIFEST", dir);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  fprintf(f, "charges=%" PRIu64 " pages=%" PRIu64 " bytes=%" PRIu64 " page_size=%" PRIu64 "\n",
          n, pages, bytes, page_size);
  fclose(f);
  free(buf);
  return 0;
}
