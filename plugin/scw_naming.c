/* scw_naming.c - identifier sanitising; the rule is in scw_naming.h. */
#include "scw_naming.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUFFIX_LEN 9 /* "-" + 8 hex digits */

uint32_t scw_hash32(const char *s) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    h ^= *p;
    h *= 16777619u;
  }
  return h;
}

static int is_kept(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

char *scw_name_clean(const char *raw) {
  size_t len = strlen(raw);
  while (len > 0 && raw[len - 1] == '/')
    len--;
  size_t start = 0;
  while (start < len && raw[start] == '/')
    start++;

  char *out = malloc(len - start + 1);
  if (out == NULL)
    return NULL;
  size_t n = 0;
  int in_run = 0; /* last byte written was a replacement '_' */
  for (size_t i = start; i < len; i++) {
    unsigned char c = (unsigned char)raw[i];
    if (c == '/') {
      out[n++] = '-';
      in_run = 0;
    } else if (is_kept(c)) {
      out[n++] = (char)c;
      in_run = 0;
    } else if (!in_run) {
      out[n++] = '_';
      in_run = 1;
    }
  }
  out[n] = '\0';
  return out;
}

void scw_name_add_suffix(char *name, size_t size, const char *hash_source) {
  char suffix[SUFFIX_LEN + 1];
  snprintf(suffix, sizeof(suffix), "-%08x", scw_hash32(hash_source));
  size_t keep = strlen(name);
  if (keep + SUFFIX_LEN + 1 > size)
    keep = size > SUFFIX_LEN + 1 ? size - SUFFIX_LEN - 1 : 0;
  memcpy(name + keep, suffix, SUFFIX_LEN + 1 <= size ? SUFFIX_LEN + 1 : size);
  name[size - 1] = '\0';
}

int scw_name_fit(const char *clean, const char *hash_source, char *out,
                 size_t size) {
  size_t len = strlen(clean);
  if (len < size) {
    memcpy(out, clean, len + 1);
    return 0;
  }
  size_t keep = size > SUFFIX_LEN + 1 ? size - SUFFIX_LEN - 1 : 0;
  memcpy(out, clean, keep);
  out[keep] = '\0';
  scw_name_add_suffix(out, size, hash_source);
  return 1;
}

void scw_log_safe(const char *src, char *dst, size_t size) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)src;
       *p != '\0' && n + 1 < size; p++)
    dst[n++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
  if (size > 0)
    dst[n] = '\0';
}

int scw_meta_safe(const char *src, char *dst, size_t size) {
  size_t n = 0;
  const unsigned char *p = (const unsigned char *)src;
  for (; *p != '\0' && n + 1 < size; p++)
    dst[n++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
  int cut = *p != '\0';
  /* Do not leave half a UTF-8 sequence: drop trailing bytes of a character
   * whose continuation bytes did not fit. */
  if (cut && n > 0 && ((unsigned char)*p & 0xC0) == 0x80) {
    while (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0x80)
      n--;
    if (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0xC0)
      n--;
  }
  if (size > 0)
    dst[n] = '\0';
  return cut;
}
