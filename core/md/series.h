/* series.h — a columnar bar series: one array per field, the unit every market-data
 * function in alluse reads and writes.
 *
 * Columns: time (int64 µs UTC, the bar's open), open, high, low, close, volume and,
 * when the source had one, adj_close (NULL otherwise).  A series either owns heap
 * columns (md_series_new + md_series_append) or views columns owned by someone else
 * (a memory-mapped store file, a parent series): then `owner` is non-NULL and the
 * series cannot be appended to.
 *
 * Lifetime is reference-counted, because Lua hands out column arrays that must keep
 * their memory alive after the series object itself is dropped: md_series_retain
 * adds a reference, md_series_release drops one and destroys the series (heap
 * columns freed, mapping unmapped, parent released) when none is left.
 * md_series_free is md_series_release.
 *
 * Times are strictly increasing; md_series_append refuses anything else.
 *
 * Daily, weekly and monthly bars are stamped with the New York session open
 * (09:30 America/New_York) of their label date: the trading date, the Monday of the
 * week, the first day of the month.  That keeps them in time order with intraday
 * bars of the same day and makes the date recoverable in New York time. */
#ifndef AU_MD_SERIES_H
#define AU_MD_SERIES_H

#include <stddef.h>
#include <stdint.h>

/* Timeframes are bar lengths in seconds; calendar timeframes have fixed codes. */
#define MD_TF_UNKNOWN 0
#define MD_TF_DAILY 86400
#define MD_TF_WEEKLY 604800
#define MD_TF_MONTHLY 2592000 /* a code, not a length: months vary */
#define MD_SYMBOL_MAX 32      /* including the NUL */

typedef struct md_series {
    char symbol[MD_SYMBOL_MAX];
    int32_t timeframe; /* MD_TF_* or N*60 for N-minute bars */
    int64_t n;         /* rows */
    int64_t cap;       /* rows allocated (owned series only) */
    int64_t *time;
    double *open, *high, *low, *close, *volume;
    double *adj_close; /* NULL when absent */
    void *owner;       /* non-NULL: columns belong to it, not to this series */
    int32_t refs;      /* see md_series_retain / md_series_release */
    void (*destroy)(struct md_series *s); /* how the last release frees this kind */
} md_series;

/* A new, empty, owned series; NULL on out of memory or a symbol too long. */
md_series *md_series_new(const char *symbol, int32_t timeframe, int with_adj_close);
void md_series_retain(md_series *s);
void md_series_release(md_series *s);
void md_series_free(md_series *s);

/* Make room for at least n rows; 0 or -1 (out of memory, series unchanged). */
int md_series_reserve(md_series *s, int64_t n);

/* Append one bar.  0; -1 out of memory; -2 time not after the last bar's; -3 the
 * series is a view.  adj is ignored when the series has no adj_close column. */
int md_series_append(md_series *s, int64_t time, double open, double high, double low,
                     double close, double volume, double adj);

/* Index of the first bar with time >= t (n if none): binary search. */
int64_t md_series_lower_bound(const md_series *s, int64_t t);

/* A view of rows [from, to) of s: no copy.  The view holds a reference to the series
 * that owns the columns, so releasing s first is safe.  NULL on out of memory;
 * indexes are clamped to [0, n]. */
md_series *md_series_view(md_series *s, int64_t from, int64_t to);

/* Bars with from <= time < to, as a view (see md_series_view). */
md_series *md_series_slice_time(md_series *s, int64_t from, int64_t to);

/* "1m", "5m", "1h", "1d", "1w", "1mo"...  Writes into buf (>= 16 bytes). */
const char *md_timeframe_name(int32_t tf, char *buf, size_t buflen);
/* Parse a timeframe name ("1m" "5m" "15m" "30m" "1h" "4h" "1d" "daily" "1w" "weekly"
 * "1mo" "monthly"); MD_TF_UNKNOWN if not recognised. */
int32_t md_timeframe_parse(const char *name);

#endif
