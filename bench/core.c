/* SPDX-License-Identifier: MIT */
/* core.c - our core on files: parse + aggregate every page in-process.
 *
 *   bench_core DIR sku|resource [SUMS_OUT]
 *
 * Reads DIR/page-0001.json and follows next_page_token to the next file,
 * feeding each page to scw_page_parse with scw_agg_add (what a refresh does
 * with a body, there in the pieces libcurl hands over), then builds the
 * snapshot. The page files
 * are read inside the timed loop (from the page cache: the "read" step of
 * bench_jsonc measures that part alone). bench_work is the region callgrind
 * counts (--toggle-collect=bench_work). */
#include <inttypes.h>

#include "common.h"
#include "scw_agg.h"
#include "scw_charge.h"
#include "scw_snapshot.h"
#include "sums.h"

typedef struct {
  size_t pages, charges;
  uint64_t bytes;
} work_stats_t;

__attribute__((noinline)) scw_snapshot_t *bench_work(const char *dir,
                                                     scw_group_by_t gb,
                                                     work_stats_t *st) {
  scw_error_t err = {0};
  scw_page_parser_t *parser = scw_page_parser_new();
  scw_agg_t *agg = scw_agg_new(gb, "EUR");
  if (parser == NULL || agg == NULL)
    die("alloc");
  char *buf = NULL, path[4096];
  size_t cap = 0;
  char *token = strdup("page-0001");
  while (token != NULL) {
    snprintf(path, sizeof(path), "%s/%s.json", dir, token);
    free(token);
    size_t len = read_file(path, &buf, &cap);
    size_t n = 0;
    if (scw_page_parse(parser, buf, len, scw_agg_add, agg, &token, &n, &err) !=
        SCW_OK) {
      fprintf(stderr, "bench_core: %s: %s\n", path, err.msg);
      exit(1);
    }
    st->pages++;
    st->charges += n;
    st->bytes += len;
  }
  free(buf);
  scw_page_parser_free(parser);
  scw_snapshot_t *snap = NULL;
  if (scw_snapshot_build(agg, SCW_LABEL_NAME, &snap, &err) != SCW_OK) {
    fprintf(stderr, "bench_core: snapshot: %s\n", err.msg);
    exit(1);
  }
  return snap;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_core DIR sku|resource [SUMS_OUT]\n");
    return 2;
  }
  scw_group_by_t gb;
  if (scw_group_by_parse(argv[2], &gb) != 0)
    die("group by");
  work_stats_t st = {0};
  bench_timer_t t;
  bench_start(&t);
  scw_snapshot_t *snap = bench_work(argv[1], gb, &st);
  bench_stop(&t);
  printf("RESULT wall=%.6f cpu=%.6f charges=%zu pages=%zu bytes=%" PRIu64
         " groups=%zu projects=%zu total_nanos=%" PRId64 " rss_kb=%ld\n",
         t.wall, t.cpu, st.charges, st.pages, st.bytes, snap->n_series,
         snap->agg->n_projects, snap->total_nanos, bench_maxrss_kb());
  write_sku_sums(snap, argc > 3 ? argv[3] : NULL);
  scw_snapshot_release(snap);
  return 0;
}
