/* SPDX-License-Identifier: MIT */
/* scw_naming.c - identifier sanitising; the rule is in scw_naming.h. */
#include "scw_naming.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUFFIX_LEN 9 /* "-" + 8 hex digits */

uint64_t scw_fnv64(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * UINT64_C(0x100000001b3);
  return h;
}

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

int scw_name_is_label(const char *s, int may_be_empty) {
  size_t len = 0;
  for (; len < SCW_NAME_SIZE && s[len] != '\0'; len++)
    if (!is_kept((unsigned char)s[len]))
      return 0;
  return len < SCW_NAME_SIZE && (may_be_empty || len > 0);
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
  scw_name_add_hash(name, size, scw_hash32(hash_source));
}

void scw_name_add_hash(char *name, size_t size, uint32_t hash) {
  char suffix[SUFFIX_LEN + 1];
  snprintf(suffix, sizeof(suffix), "-%08x", hash);
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

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one
 * (stray continuation byte, overlong form, surrogate, beyond U+10FFFF). */
static size_t utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  if (c < 0x80)
    return 1;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4)
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80)
      return 0;
  if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) ||
      (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
    return 0;
  return n;
}

int scw_meta_safe(const char *src, char *dst, size_t size) {
  size_t n = 0;
  const unsigned char *p = (const unsigned char *)src;
  while (*p != '\0') {
    size_t len = utf8_len(p);
    if (len == 0 || *p < 0x20 || *p == 0x7f) {
      len = 1; /* a control byte or broken UTF-8: one '?' */
      if (n + 1 >= size)
        break;
      dst[n++] = '?';
    } else {
      if (n + len >= size)
        break; /* never split a character */
      memcpy(dst + n, p, len);
      n += len;
    }
    p += len;
  }
  if (size > 0)
    dst[n] = '\0';
  return *p != '\0';
}
