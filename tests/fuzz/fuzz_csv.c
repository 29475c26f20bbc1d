/* Fuzz target: the CSV bar reader on arbitrary bytes.  Whatever it accepts must be
 * a well-formed series: strictly increasing times, positive prices, high >= low,
 * high >= open/close >= low, volume >= 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>

#include "md/csv.h"

static void check_series(const md_series *s)
{
    for (int64_t i = 0; i < s->n; i++) {
        int bad = s->open[i] <= 0 || s->close[i] <= 0 || s->low[i] <= 0 || s->high[i] < s->low[i] ||
                  s->high[i] < s->open[i] || s->high[i] < s->close[i] || s->low[i] > s->open[i] ||
                  s->low[i] > s->close[i] || s->volume[i] < 0 || (i > 0 && s->time[i] <= s->time[i - 1]);
        if (bad) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* md_csv_read takes a path: hand it an in-memory file. */
    int fd = memfd_create("fuzz.csv", 0);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    for (int skip = 0; skip < 2; skip++) {
        md_csv_options opt = {.symbol = "FUZZ", .timeframe = MD_TF_UNKNOWN, .tick = skip ? 0.01 : 0, .skip_bad = skip};
        md_csv_result res;
        char err[512];
        md_series *s = md_csv_read(path, &opt, &res, err, sizeof err);
        if (s) {
            check_series(s);
            md_series_release(s);
        } else if (err[0] == '\0') {
            abort(); /* a refusal must say why */
        }
    }
    close(fd);
    return 0;
}
