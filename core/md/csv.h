/* csv.h — the CSV bar reader: OHLCV text files into a new owned md_series.
 *
 * Formats (the header line names the columns, in any order and any case):
 *   date,open,high,low,close,volume            date-only rows are daily bars; rows
 *                                              with a time and no offset are UTC
 *   datetime,open,high,low,close,volume        ISO 8601 with Z or +-HH:MM offsets
 *   Date,Open,High,Low,Close,Adj Close,Volume  the Yahoo Finance export
 * The time column may be called date, datetime, time or timestamp; adj close
 * (adj_close, adjclose, adjusted close) is kept when present; volume may be absent
 * (then every volume is 0 and result.has_volume is 0); other columns are ignored.
 * docs/csv.md is the full contract: timestamps, timeframe inference, --tick
 * rounding, every validation rule and its message.
 *
 * Errors read "FILE:LINE: reason" (or "FILE: reason" when no line is to blame).
 *
 * Ownership: md_csv_read returns a new series with refs 1 that the caller releases
 * (md_series_release).  The options, the result and err belong to the caller; the
 * reader keeps no pointer into them after it returns and has no global state. */
#ifndef AU_MD_CSV_H
#define AU_MD_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "md/series.h"

#define MD_CSV_LINE_MAX 65536 /* bytes in one line, CR/LF excluded */
#define MD_CSV_MAX_COLS 1024  /* fields in the header */
#define MD_CSV_MAX_ERRORS 5   /* problems kept word for word in md_csv_result */
#define MD_CSV_ERRLEN 256     /* size of each kept message, NUL included */

typedef struct md_csv_options {
    /* Required: the caller derives it from --symbol or the file name. */
    const char *symbol;
    /* MD_TF_UNKNOWN = infer; else MD_TF_DAILY/WEEKLY/MONTHLY or N seconds, 0 < N < 86400. */
    int32_t timeframe;
    /* 0 = keep the file's precision; else round open/high/low/close to multiples of tick. */
    double tick;
    /* 0: stop at the first bad row; 1: skip bad rows, count them, keep the first reasons. */
    int skip_bad;
} md_csv_options;

typedef struct md_csv_result {
    int64_t rows;    /* bars read into the series */
    int64_t skipped; /* bad rows skipped (skip_bad only) */
    /* "FILE:LINE: reason" for the first problems, skipped rows and the fatal one alike. */
    char first_errors[MD_CSV_MAX_ERRORS][MD_CSV_ERRLEN];
    int nerrors;    /* entries used in first_errors */
    int has_volume; /* 0 when the file had no volume column (volumes are then 0) */
} md_csv_result;

/* Read PATH into a new owned series.  NULL on failure with "FILE:LINE: reason" (or
 * "FILE: reason") in err; res (may be NULL) is filled either way. */
md_series *md_csv_read(const char *path, const md_csv_options *opt, md_csv_result *res, char *err,
                       size_t errlen);

/* The number syntax the reader accepts, [+-]digits[.digits][(e|E)[+-]digits] with at
 * least one digit before the exponent, and its value: bit for bit what strtod gives
 * for the same text.  0; -1 not a number (also inf, nan, hex, empty); -2 out of range
 * (overflows to infinity). */
int md_csv_parse_number(const char *s, size_t len, double *out);

/* x rounded to the nearest multiple of tick (ties away from zero), computed as a
 * whole count of ticks divided by 1/tick when that is an integer (0.01, 0.25, 0.05),
 * so the result is the double nearest the decimal multiple: 145.36399841308594 with
 * tick 0.01 gives exactly 145.36.  Other ticks multiply the count by tick.  tick <= 0
 * returns x. */
double md_csv_round_tick(double x, double tick);

#endif
