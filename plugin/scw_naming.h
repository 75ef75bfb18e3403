/* SPDX-License-Identifier: MIT */
/* scw_naming.h - turning Scaleway strings into collectd identifier parts.
 *
 * The rule (documented in README "Series naming"):
 *  - leading and trailing '/' are dropped, every other '/' becomes '-';
 *  - A-Z a-z 0-9 '_' '-' are kept;
 *  - any other byte (space, '.', ':', control, non-ASCII) becomes '_', and a
 *    run of such bytes becomes a single '_';
 *  - a name longer than collectd's 127 bytes is cut and ends in '-' plus 8 hex
 *    digits of a hash of the full raw value, so two long names never merge;
 *  - (scw_snapshot.c) a label left empty becomes "unknown-" + that hash;
 *  - (scw_snapshot.c) clashes get "-" + a hash of the raw key, on newcomers
 *    only: a name given earlier in the billing period is kept.
 * So "/compute/dev1_s/run_par1" -> "compute-dev1_s-run_par1". Raw values
 * travel unchanged in meta data. */
#ifndef SCW_NAMING_H
#define SCW_NAMING_H

#include <stddef.h>
#include <stdint.h>

/* collectd's DATA_MAX_NAME_LEN, NUL included. */
#define SCW_NAME_SIZE 128

/* FNV-1a, 32 bits: stable across runs and machines. */
uint32_t scw_hash32(const char *s);

/* FNV-1a, 64 bits, over n bytes, continuing from h (start with
 * SCW_FNV64_INIT): checksums and fingerprints, not names. */
#define SCW_FNV64_INIT UINT64_C(0xcbf29ce484222325)
uint64_t scw_fnv64(uint64_t h, const void *p, size_t n);

/* Sanitised copy of raw (malloc'd, any length; NULL on ENOMEM). */
char *scw_name_clean(const char *raw);

/* Copies clean into out[size]; if it does not fit, cuts it and appends
 * "-%08x" of scw_hash32(hash_source). Returns 1 if it was cut, else 0. */
int scw_name_fit(const char *clean, const char *hash_source, char *out,
                 size_t size);

/* 1 if s is a label the rule can produce: shorter than SCW_NAME_SIZE, only
 * A-Z a-z 0-9 '_' '-', and not empty unless may_be_empty. For names read
 * back from outside (a state file). */
int scw_name_is_label(const char *s, int may_be_empty);

/* Appends "-%08x" of scw_hash32(hash_source) to name (in place, size bytes),
 * cutting the name first if needed. Used to tell apart colliding names. */
void scw_name_add_suffix(char *name, size_t size, const char *hash_source);
/* The same with a given hash. */
void scw_name_add_hash(char *name, size_t size, uint32_t hash);

/* Copies src into dst (size bytes) for a log line: every byte that is not
 * printable ASCII becomes '?', so API strings cannot forge log lines. */
void scw_log_safe(const char *src, char *dst, size_t size);

/* Copies src into dst (size bytes) for meta data: control bytes (< 0x20,
 * 0x7f) and bytes that are not valid UTF-8 become '?', valid UTF-8 is kept,
 * and a cut never splits a character. Returns 1 if src had to be cut. */
int scw_meta_safe(const char *src, char *dst, size_t size);

#endif
