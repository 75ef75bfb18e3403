/* SPDX-License-Identifier: MIT */
/* fuzz_apierror.c - libFuzzer target: error bodies (JSON, HTML, garbage) go
 * straight from the API into the log, so scw_api_error_describe must write a
 * single printable line that fits its buffer whatever the body holds.
 *
 * The whole input is the body (so the corpus is plain bodies); the status is
 * picked from the input length so every hint branch is reached. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scw_apierror.h"
#include "fuzz_check.h"


static const long statuses[] = {400, 401, 403, 404, 429, 500, 502,
                                503, 504, 418, 200, 0,   -1};

/* Describes into a heap buffer of exactly `size` bytes, so ASan sees any
 * write past it, and checks the line is printable and terminated. */
static char *describe(long status, const char *body, size_t len, size_t size) {
  char *buf = malloc(size);
  if (buf == NULL)
    abort();
  scw_api_error_describe(status, body, len, "org-\n\x1b[31m", buf, size);
  size_t n = strnlen(buf, size);
  CHECK(n < size);
  for (size_t i = 0; i < n; i++)
    CHECK((unsigned char)buf[i] >= 0x20 && (unsigned char)buf[i] != 0x7f);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = size > 0 ? (const char *)data : NULL;
  long status = statuses[size % (sizeof(statuses) / sizeof(statuses[0]))];

  /* A smaller buffer holds a prefix of the same line: cutting is the only
   * thing the size may change. */
  char *full = describe(status, body, size, 1024);
  const size_t small[] = {1, 2, 40};
  for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
    char *cut = describe(status, body, size, small[i]);
    CHECK(strncmp(cut, full, small[i] - 1) == 0);
    free(cut);
  }
  free(full);

  double seconds = -1;
  if (scw_api_error_reset_seconds(body, size, &seconds) == 0)
    CHECK(seconds >= 0); /* also false for NaN */
  return 0;
}
