/* SPDX-License-Identifier: MIT */
/* runner.c - runs one measured step in its own process and reports its
 * wall time (CLOCK_MONOTONIC), CPU time and peak RSS (wait4's rusage), like
 * /usr/bin/time but with sub-millisecond resolution.
 *
 *   bench_run OUTFILE CMD [ARGS...]
 *
 * Writes "ext_wall=S ext_user=S ext_sys=S ext_rss_kb=K" to OUTFILE and exits
 * with the command's status. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_run OUTFILE CMD [ARGS...]\n");
    return 2;
  }
  double t0 = mono();
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid) {
    perror("wait4");
    return 2;
  }
  double wall = mono() - t0;
  FILE *f = fopen(argv[1], "w");
  if (f == NULL) {
    perror(argv[1]);
    return 2;
  }
  fprintf(f, "ext_wall=%.6f ext_user=%.6f ext_sys=%.6f ext_rss_kb=%ld\n", wall,
          (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
          ru.ru_maxrss);
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
