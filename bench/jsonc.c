/* SPDX-License-Identifier: MIT */
/* jsonc.c - the floors: reading the page files, and json-c alone.
 *
 *   bench_jsonc read|bare|flags DIR
 *
 * read:  read every page file into memory (what every other step also does).
 * bare:  json_tokener_parse(page) then json_object_put: the "json-c
 *        alone" floor (a new tokener per call, default flags).
 * flags: one reused tokener with JSON_TOKENER_STRICT |
 *        JSON_TOKENER_VALIDATE_UTF8 and json_tokener_parse_ex over the exact
 *        length, then json_object_put (flags the plugin does not use).
 * Pages are page-0001.json, page-0002.json, ... until a file is missing. */
#include <inttypes.h>
#include <json-c/json.h>

#include "common.h"

typedef struct {
  size_t pages;
  uint64_t bytes;
  size_t objects; /* charges seen, as a sanity check */
} work_stats_t;

__attribute__((noinline)) void bench_work(const char *mode, const char *dir,
                                          work_stats_t *st) {
  int m = strcmp(mode, "read") == 0 ? 0 : strcmp(mode, "bare") == 0 ? 1 : 2;
  json_tokener *tok = NULL;
  if (m == 2) {
    tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  }
  char *buf = NULL, path[4096];
  size_t cap = 0;
  for (size_t p = 1;; p++) {
    snprintf(path, sizeof(path), "%s/page-%04zu.json", dir, p);
    if (access(path, R_OK) != 0)
      break;
    size_t len = read_file(path, &buf, &cap);
    st->pages++;
    st->bytes += len;
    if (m == 0)
      continue;
    json_object *root;
    if (m == 1) {
      root = json_tokener_parse(buf);
    } else {
      json_tokener_reset(tok);
      root = json_tokener_parse_ex(tok, buf, (int)len);
    }
    json_object *charges;
    if (root == NULL || !json_object_object_get_ex(root, "charges", &charges)) {
      fprintf(stderr, "bench_jsonc: %s: not a page\n", path);
      exit(1);
    }
    st->objects += json_object_array_length(charges);
    json_object_put(root);
  }
  if (tok != NULL)
    json_tokener_free(tok);
  free(buf);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_jsonc read|bare|flags DIR\n");
    return 2;
  }
  work_stats_t st = {0};
  bench_timer_t t;
  bench_start(&t);
  bench_work(argv[1], argv[2], &st);
  bench_stop(&t);
  printf("RESULT wall=%.6f cpu=%.6f charges=%zu pages=%zu bytes=%" PRIu64
         " rss_kb=%ld\n",
         t.wall, t.cpu, st.objects, st.pages, st.bytes, bench_maxrss_kb());
  return 0;
}
