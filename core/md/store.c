/* store.c — see store.h. */
#include "md/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the bar store format is little-endian; this host is not"
#endif

/* The mapping behind an opened series; the series' owner field points here. */
typedef struct store_map {
    void *addr;
    size_t len;
} store_map;

static const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL,
                      P3 = 0x165667B19E3779F9ULL;

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static uint64_t lane(uint64_t acc, uint64_t w) { return rotl(acc + w * P2, 31) * P1; }

/* Streaming form, so a file's columns can be hashed as they are written, without
 * gathering them into one buffer first. */
typedef struct checksum_state {
    uint64_t a, b, c, d, total;
    unsigned char pending[32];
    size_t npending;
} checksum_state;

static void checksum_init(checksum_state *st)
{
    memset(st, 0, sizeof *st);
    st->a = P1 + P2;
    st->b = P2;
    st->d = (uint64_t)0 - P1;
}

static void checksum_block(checksum_state *st, const unsigned char *p)
{
    uint64_t w[4];
    memcpy(w, p, sizeof w);
    st->a = lane(st->a, w[0]);
    st->b = lane(st->b, w[1]);
    st->c = lane(st->c, w[2]);
    st->d = lane(st->d, w[3]);
}

static void checksum_update(checksum_state *st, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len == 0) return; /* data may be NULL then (an empty series) */
    st->total += len;
    if (st->npending) {
        size_t take = 32 - st->npending < len ? 32 - st->npending : len;
        memcpy(st->pending + st->npending, p, take);
        st->npending += take;
        p += take;
        len -= take;
        if (st->npending < 32) return;
        checksum_block(st, st->pending);
        st->npending = 0;
    }
    for (; len >= 32; p += 32, len -= 32) checksum_block(st, p);
    memcpy(st->pending, p, len);
    st->npending = len;
}

static uint64_t checksum_final(const checksum_state *st)
{
    uint64_t h = rotl(st->a, 1) + rotl(st->b, 7) + rotl(st->c, 12) + rotl(st->d, 18) + st->total;
    for (size_t i = 0; i < st->npending; i++) h = rotl(h ^ (st->pending[i] * P3), 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t md_checksum(const void *data, size_t len)
{
    checksum_state st;
    checksum_init(&st);
    checksum_update(&st, data, len);
    return checksum_final(&st);
}

int md_store_path(const char *dir, const char *symbol, int32_t timeframe, char *out, size_t outlen)
{
    char tf[16];
    md_timeframe_name(timeframe, tf, sizeof tf);
    int n = snprintf(out, outlen, "%s/%s.%s%s", dir, symbol, tf, MD_STORE_SUFFIX);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int ncols(int has_adj) { return has_adj ? 7 : 6; }

static void put_header(unsigned char *h, const md_series *s, uint64_t data_sum)
{
    memset(h, 0, MD_STORE_HEADER_SIZE);
    memcpy(h, MD_STORE_MAGIC, 8);
    uint32_t version = MD_STORE_VERSION, hsize = MD_STORE_HEADER_SIZE, flags = s->adj_close ? 1 : 0;
    int64_t first = s->n ? s->time[0] : 0, last = s->n ? s->time[s->n - 1] : 0;
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &hsize, 4);
    memcpy(h + 16, s->symbol, strlen(s->symbol));
    memcpy(h + 48, &s->timeframe, 4);
    memcpy(h + 52, &flags, 4);
    memcpy(h + 56, &s->n, 8);
    memcpy(h + 64, &first, 8);
    memcpy(h + 72, &last, 8);
    memcpy(h + 80, &data_sum, 8);
    uint64_t hsum = md_checksum(h, 88);
    memcpy(h + 88, &hsum, 8);
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The columns in file order, so writing and checksumming walk the same list. */
static int columns(const md_series *s, const void *cols[7])
{
    cols[0] = s->time;
    cols[1] = s->open;
    cols[2] = s->high;
    cols[3] = s->low;
    cols[4] = s->close;
    cols[5] = s->volume;
    cols[6] = s->adj_close;
    return ncols(s->adj_close != NULL);
}

int md_store_write(const char *path, const md_series *s, char *err, size_t errlen)
{
    const void *cols[7];
    int nc = columns(s, cols);
    size_t colbytes = (size_t)s->n * 8;
    checksum_state st;
    checksum_init(&st);
    for (int c = 0; c < nc; c++) checksum_update(&st, cols[c], colbytes);
    unsigned char header[MD_STORE_HEADER_SIZE];
    put_header(header, s, checksum_final(&st));

    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = write_all(fd, header, sizeof header);
    for (int c = 0; rc == 0 && c < nc; c++) rc = write_all(fd, cols[c], colbytes);
    if (rc == 0) rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        snprintf(err, errlen, "%s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/* Validate a header image; fills info.  The file size must match the header exactly. */
static int check_header(const char *path, const unsigned char *h, size_t avail, int64_t file_size,
                        md_store_info *info, char *err, size_t errlen)
{
    if (avail < 96 || memcmp(h, MD_STORE_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not an alluse bar file (bad magic)", path);
        return -1;
    }
    uint32_t version, hsize, flags;
    memcpy(&version, h + 8, 4);
    memcpy(&hsize, h + 12, 4);
    if (version > MD_STORE_VERSION) {
        snprintf(err, errlen, "%s: format version %u is newer than this alluse reads (%d); upgrade alluse",
                 path, version, MD_STORE_VERSION);
        return -1;
    }
    if (version < 1 || hsize != MD_STORE_HEADER_SIZE || avail < hsize) {
        snprintf(err, errlen, "%s: corrupt header (version %u, header size %u)", path, version, hsize);
        return -1;
    }
    uint64_t hsum;
    memcpy(&hsum, h + 88, 8);
    if (md_checksum(h, 88) != hsum) {
        snprintf(err, errlen, "%s: corrupt header (checksum mismatch)", path);
        return -1;
    }
    memset(info, 0, sizeof *info);
    memcpy(info->symbol, h + 16, MD_SYMBOL_MAX - 1);
    memcpy(&info->timeframe, h + 48, 4);
    memcpy(&flags, h + 52, 4);
    memcpy(&info->rows, h + 56, 8);
    memcpy(&info->first_time, h + 64, 8);
    memcpy(&info->last_time, h + 72, 8);
    memcpy(&info->data_checksum, h + 80, 8);
    info->version = version;
    info->has_adj_close = flags & 1;
    info->file_size = file_size;
    int64_t want = 0;
    if (info->rows < 0 || info->rows > (INT64_MAX - MD_STORE_HEADER_SIZE) / 56 ||
        (want = MD_STORE_HEADER_SIZE + info->rows * 8 * ncols(info->has_adj_close)) != file_size) {
        snprintf(err, errlen, "%s: truncated or padded: %lld bytes, the header promises %lld",
                 path, (long long)file_size, (long long)want);
        return -1;
    }
    return 0;
}

int md_store_read_info(const char *path, md_store_info *info, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char h[MD_STORE_HEADER_SIZE];
    struct stat st;
    ssize_t got = fstat(fd, &st) == 0 ? pread(fd, h, sizeof h, 0) : -1;
    if (got < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int rc = check_header(path, h, (size_t)got, (int64_t)st.st_size, info, err, errlen);
    /* The same bounds check as md_store_open: two reads, so listing stays O(files). */
    int64_t first = 0, last = 0;
    if (rc == 0 && info->rows > 0 &&
        (pread(fd, &first, 8, MD_STORE_HEADER_SIZE) != 8 ||
         pread(fd, &last, 8, MD_STORE_HEADER_SIZE + (info->rows - 1) * 8) != 8 ||
         first != info->first_time || last != info->last_time)) {
        snprintf(err, errlen, "%s: corrupt: first/last bar times do not match the header", path);
        rc = -1;
    }
    close(fd);
    return rc;
}

static void destroy_mapped(md_series *s)
{
    store_map *map = s->owner;
    munmap(map->addr, map->len);
    free(map);
    free(s);
}

md_series *md_store_open(const char *path, int verify, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 96) {
        close(fd);
        snprintf(err, errlen, "%s: not an alluse bar file (too short)", path);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    void *addr = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (addr == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        return NULL;
    }
    md_store_info info;
    const unsigned char *base = addr;
    md_series *s = NULL;
    store_map *map = NULL;
    if (check_header(path, base, len, (int64_t)len, &info, err, errlen) != 0) goto fail;
    size_t colbytes = (size_t)info.rows * 8;
    const unsigned char *data = base + MD_STORE_HEADER_SIZE;
    if (info.rows > 0) {
        int64_t first, last;
        memcpy(&first, data, 8);
        memcpy(&last, data + colbytes - 8, 8);
        if (first != info.first_time || last != info.last_time) {
            snprintf(err, errlen, "%s: corrupt: first/last bar times do not match the header", path);
            goto fail;
        }
    }
    if (verify && md_checksum(data, len - MD_STORE_HEADER_SIZE) != info.data_checksum) {
        snprintf(err, errlen, "%s: corrupt: data checksum mismatch", path);
        goto fail;
    }
    map = malloc(sizeof *map);
    s = calloc(1, sizeof *s);
    if (map == NULL || s == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    map->addr = addr;
    map->len = len;
    memcpy(s->symbol, info.symbol, sizeof s->symbol);
    s->timeframe = info.timeframe;
    s->n = info.rows;
    s->owner = map;
    s->refs = 1;
    s->destroy = destroy_mapped;
    /* The mapping is read-only; the series' column pointers are non-const by type only. */
    s->time = (int64_t *)(void *)data;
    s->open = (double *)(void *)(data + colbytes);
    s->high = (double *)(void *)(data + 2 * colbytes);
    s->low = (double *)(void *)(data + 3 * colbytes);
    s->close = (double *)(void *)(data + 4 * colbytes);
    s->volume = (double *)(void *)(data + 5 * colbytes);
    s->adj_close = info.has_adj_close ? (double *)(void *)(data + 6 * colbytes) : NULL;
    return s;
fail:
    free(map);
    free(s);
    munmap(addr, len);
    return NULL;
}

void md_store_close(md_series *s)
{
    md_series_release(s);
}
