/* Fuzz target: opening arbitrary bytes as a bar store file.  Anything the checks let
 * through is read in full (ASan catches a read past the mapping). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "md/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.bars", 0);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64], err[512] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    for (int verify = 0; verify < 2; verify++) {
        md_series *s = md_store_open(path, verify, err, sizeof err);
        if (!s) {
            if (err[0] == '\0') abort();
            continue;
        }
        double sum = 0;
        for (int64_t i = 0; i < s->n; i++)
            sum += (double)s->time[i] + s->open[i] + s->high[i] + s->low[i] + s->close[i] + s->volume[i] +
                   (s->adj_close ? s->adj_close[i] : 0);
        if (sum != sum && s->n < 0) abort(); /* keeps the reads */
        md_store_close(s);
    }
    md_store_info info;
    md_store_read_info(path, &info, err, sizeof err);
    close(fd);
    return 0;
}
