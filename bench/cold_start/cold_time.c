/* Runs a command once and appends its wall time and the CPU time (user + system) the kernel
 * charged it, both in microseconds, to OUT as a line "WALL CPU". CPU time says what a process
 * costs whatever else the machine is doing; wall time is what a user waits for. stdout and
 * stderr are the command's own; the exit status too.
 *   bench_cold_time OUT COMMAND [ARGS...] */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s OUT COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  FILE* out = fopen(argv[1], "ae"); /* e: not inherited by the command */
  if (out == NULL) {
    perror(argv[1]);
    return 2;
  }
  const long long start = now_us();
  const pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid) {
    perror("wait4");
    return 2;
  }
  const long long wall = now_us() - start;
  const long long cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                        ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  fprintf(out, "%lld %lld\n", wall, cpu);
  fclose(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
