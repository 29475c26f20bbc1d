/* startup — how long a command takes from fork to exit, over many runs.
 *
 *   startup RUNS COMMAND [ARGS...]
 *
 * Prints the median, 90th percentile and minimum in milliseconds.  Output of the
 * command goes to /dev/null; a non-zero exit stops the bench (a failing binary
 * would otherwise look fast). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: startup RUNS COMMAND [ARGS...]\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    if (runs < 1) runs = 1;
    double *ms = calloc((size_t)runs, sizeof *ms);
    if (!ms) return 1;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, 1);
            execvp(argv[2], argv + 2);
            _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        ms[i] = now_ms() - t0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "startup: %s failed (status %d)\n", argv[2], status);
            return 1;
        }
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
    printf("median %.2f ms  p90 %.2f ms  min %.2f ms  (%d runs)\n",
           ms[runs / 2], ms[runs * 9 / 10], ms[0], runs);
    free(ms);
    return 0;
}
