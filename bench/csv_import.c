/* csv_import.c — benchmark of the CSV bar reader (core/md/csv.c).
 *
 *   csv_import FILE [--tick T] [--timeframe TF] [--skip-bad] [--repeat N] [--verify BIN]
 *
 * Reads FILE with md_csv_read N times (default 1) and prints the rows, the best
 * wall time, rows/s and MB/s, then the process's peak resident memory
 * (getrusage ru_maxrss) against the size of the columns the import produced.
 * --verify BIN compares every bar with the binary file gen_ohlcv writes next to its
 * CSV (rows of 6 doubles: epoch seconds, o, h, l, c, v — strtod's values).
 * Targets (issue): >= 2M rows/s on `gen_ohlcv 1000000 42 X-1m.csv`; peak RSS on a
 * 10M-row file < 2x the columns.  Prints figures only; it asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "md/csv.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux */
}

/* Every bar against gen_ohlcv's binary twin, bit for bit. */
static int verify_bin(const md_series *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    double row[6];
    int64_t i = 0, bad = 0;
    for (; fread(row, sizeof row, 1, f) == 1; i++) {
        if (i >= s->n) break;
        double got[6] = {(double)(s->time[i] / 1000000),
                         s->open[i],
                         s->high[i],
                         s->low[i],
                         s->close[i],
                         s->volume[i]};
        if (memcmp(got, row, sizeof row) != 0 || s->time[i] % 1000000 != 0) {
            if (bad++ < 3) fprintf(stderr, "verify: row %lld differs\n", (long long)i);
        }
    }
    fclose(f);
    if (i != s->n)
        fprintf(stderr, "verify: %lld rows in %s, %lld read\n", (long long)i, path,
                (long long)s->n);
    printf("verify      %lld rows against %s: %s\n", (long long)i, path,
           bad == 0 && i == s->n ? "identical" : "DIFFERENT");
    return bad == 0 && i == s->n ? 0 : -1;
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s FILE [--tick T] [--timeframe TF] [--skip-bad] [--repeat N]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage(argv[0]);
    md_csv_options opt = {.symbol = "BENCH", .timeframe = MD_TF_UNKNOWN};
    int repeat = 1;
    const char *verify = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--tick") && i + 1 < argc)
            opt.tick = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--timeframe") && i + 1 < argc)
            opt.timeframe = md_timeframe_parse(argv[++i]);
        else if (!strcmp(argv[i], "--skip-bad"))
            opt.skip_bad = 1;
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--verify") && i + 1 < argc)
            verify = argv[++i];
        else
            return usage(argv[0]);
    }
    if (repeat < 1) repeat = 1;
    long rss_before = peak_rss_kib();
    struct stat st;
    double mb = stat(argv[1], &st) == 0 ? (double)st.st_size / 1e6 : 0;

    double best = 1e300;
    int64_t rows = 0, skipped = 0;
    double col_bytes = 0;
    char tfname[16] = "?";
    for (int r = 0; r < repeat; r++) {
        md_csv_result res;
        char err[512];
        double t0 = now_s();
        md_series *s = md_csv_read(argv[1], &opt, &res, err, sizeof err);
        double dt = now_s() - t0;
        if (s == NULL) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        if (dt < best) best = dt;
        rows = s->n;
        skipped = res.skipped;
        col_bytes = (double)s->n * (double)(sizeof(int64_t) + 5 * sizeof(double) +
                                            (s->adj_close ? sizeof(double) : 0));
        md_timeframe_name(s->timeframe, tfname, sizeof tfname);
        if (verify && r == repeat - 1 && verify_bin(s, verify) != 0) return 1;
        md_series_release(s);
    }
    long rss = peak_rss_kib();
    printf("file        %s (%.1f MB)\n", argv[1], mb);
    printf("rows        %lld (skipped %lld), timeframe %s\n", (long long)rows, (long long)skipped,
           tfname);
    printf("time        %.3f s (best of %d)\n", best, repeat);
    printf("rate        %.2f M rows/s, %.0f MB/s\n", (double)rows / best / 1e6, mb / best);
    printf("columns     %.1f MB\n", col_bytes / 1e6);
    printf("peak RSS    %.1f MB (%.1f MB before the import)\n", (double)rss * 1024 / 1e6,
           (double)rss_before * 1024 / 1e6);
    printf("RSS/columns %.3f\n", col_bytes > 0 ? (double)rss * 1024 / col_bytes : 0);
    return 0;
}
