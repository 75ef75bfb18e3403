/* SPDX-License-Identifier: MIT */
/* common.h - timing, resource usage and file helpers shared by the bench
 * programs. Every program prints one line "RESULT key=value ..." on stdout,
 * which run.sh collects; the work it measures is what happens between
 * bench_start() and bench_stop() (process start-up and dataset reading
 * outside the loop are not counted). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  double wall0, cpu0;
  double wall, cpu; /* filled by bench_stop */
} bench_timer_t;

static inline double bench_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double bench_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static inline long bench_maxrss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static inline void bench_start(bench_timer_t *t) {
  t->cpu0 = bench_cpu();
  t->wall0 = bench_mono();
}

static inline void bench_stop(bench_timer_t *t) {
  t->wall = bench_mono() - t->wall0;
  t->cpu = bench_cpu() - t->cpu0;
}

static inline void die(const char *what) {
  fprintf(stderr, "bench: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(2);
}

/* Reads path into *buf (grown as needed, capacity *cap). Returns the length. */
static inline size_t read_file(const char *path, char **buf, size_t *cap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    die(path);
  struct stat st;
  if (fstat(fd, &st) != 0)
    die(path);
  size_t need = (size_t)st.st_size + 1;
  if (need > *cap) {
    char *b = realloc(*buf, need);
    if (b == NULL)
      die("realloc");
    *buf = b;
    *cap = need;
  }
  size_t len = 0;
  while (len < (size_t)st.st_size) {
    ssize_t n = read(fd, *buf + len, (size_t)st.st_size - len);
    if (n <= 0)
      die(path);
    len += (size_t)n;
  }
  close(fd);
  (*buf)[len] = '\0';
  return len;
}

#endif
