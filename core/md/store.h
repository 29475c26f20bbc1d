/* store.h — the binary bar store: one file per symbol and timeframe, read back by
 * memory-mapping.
 *
 * File layout (little-endian, every column 8-byte aligned):
 *
 *   0    char     magic[8]      "ALLUSEMD"
 *   8    uint32   version       MD_STORE_VERSION
 *   12   uint32   header_size   MD_STORE_HEADER_SIZE
 *   16   char     symbol[32]    NUL-padded
 *   48   int32    timeframe     MD_TF_* or N*60
 *   52   uint32   flags         bit 0: has adj_close
 *   56   int64    rows
 *   64   int64    first_time    µs UTC of the first bar (0 when rows == 0)
 *   72   int64    last_time
 *   80   uint64   data_checksum md_checksum of every column byte
 *   88   uint64   header_checksum md_checksum of bytes 0..87
 *   96   zeros up to header_size
 *   header_size: time[rows] int64, open, high, low, close, volume [, adj_close] double[rows]
 *
 * Opening checks, before anything is read as data: the magic, the version (a newer
 * one is refused by name), the header checksum, that the file size is exactly what
 * the header says, and that first_time/last_time match the time column.  The data
 * checksum costs a pass over the file (~50 ms per 10M bars), so it is checked when
 * asked (verify = 1); a flipped bit in the columns is caught then.
 *
 * md_store_write writes to PATH.tmp, fsyncs, then renames over PATH: a crash never
 * leaves a half-written file under the real name.
 *
 * Ownership: md_store_open returns a series whose columns live in the mapping; its
 * last md_series_release (md_store_close is the same) unmaps the file. */
#ifndef AU_MD_STORE_H
#define AU_MD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "md/series.h"

#define MD_STORE_MAGIC "ALLUSEMD"
#define MD_STORE_VERSION 1
#define MD_STORE_HEADER_SIZE 256
#define MD_STORE_SUFFIX ".bars"

typedef struct md_store_info {
    char symbol[MD_SYMBOL_MAX];
    int32_t timeframe;
    uint32_t version;
    int has_adj_close;
    int64_t rows, first_time, last_time;
    uint64_t data_checksum;
    int64_t file_size;
} md_store_info;

/* 64-bit checksum of a byte range: four independent lanes so it runs near memory speed. */
uint64_t md_checksum(const void *data, size_t len);

/* A file name for a symbol and timeframe inside DIR: "DIR/SPY.1d.bars". 0 or -1 (too long). */
int md_store_path(const char *dir, const char *symbol, int32_t timeframe, char *out, size_t outlen);

int md_store_write(const char *path, const md_series *s, char *err, size_t errlen);
/* Header checks only (plus file size): what `alluse data info` lists. */
int md_store_read_info(const char *path, md_store_info *info, char *err, size_t errlen);
md_series *md_store_open(const char *path, int verify, char *err, size_t errlen);
void md_store_close(md_series *s);

#endif
