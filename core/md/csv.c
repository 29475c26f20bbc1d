/* csv.c — see csv.h and docs/csv.md.
 *
 * One pass over the file in large read(2) chunks: each complete line is split in
 * place, parsed, checked and appended to the columns; a partial last line is carried
 * to the front of the buffer.  Peak memory is the columns plus one buffer. */
#include "md/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/autime.h"

#define CHUNK (4u << 20)
#define US_MIN AU_TIME_US_PER_MIN
#define US_DAY AU_TIME_US_PER_DAY
#define SESSION_OPEN (9 * AU_TIME_US_PER_HOUR + 30 * AU_TIME_US_PER_MIN)
#define HALF_DAY (12 * AU_TIME_US_PER_HOUR)
#define GAP_TABLE 64
#define SHOW_MAX 40 /* bytes of a bad value quoted in a message */

enum { C_TIME, C_OPEN, C_HIGH, C_LOW, C_CLOSE, C_VOLUME, C_ADJ, C_N };
static const char *const col_label[C_N] = {"timestamp", "open",   "high",     "low",
                                           "close",     "volume", "adj close"};

enum { KIND_NONE, KIND_DATE, KIND_DATETIME };
enum { TICK_NONE, TICK_DIV, TICK_MUL };

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct tick_rule {
    int mode;
    double tick, inv; /* inv = 1/tick when that is an integer */
} tick_rule;

/* One distinct bar spacing (in minutes) and where it first appeared. */
typedef struct gap_seen {
    int64_t min, line;
} gap_seen;

typedef struct reader {
    const char *path;
    const md_csv_options *opt;
    md_csv_result *res;
    char *err;
    size_t errlen;
    tick_rule tick;
    int64_t file_size, consumed, line;
    md_series *s;
    span *fields; /* MD_CSV_MAX_COLS */
    int ncols, nkeep, have_header;
    int col[C_N]; /* column index of each role, -1 absent */
    /* timestamps */
    int kind, all_midnight, offsets_small;
    int64_t prev_time, prev_line;
    char prev_text[SHOW_MAX + 8];
    /* spacing, for inference: smallest, gcd, first line of each distinct value */
    int64_t min_gap, min_gap_line, gcd_gap;
    gap_seen gaps[GAP_TABLE];
    int ngaps;
    int64_t last_gap;
} reader;

/* ---- messages ---- */

/* Copy with truncation; dst always ends with a NUL. */
static void copy_text(char *dst, size_t dstlen, const char *src)
{
    if (dst == NULL || dstlen == 0) return;
    size_t n = strlen(src);
    if (n >= dstlen) n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void keep_error(reader *rd, const char *msg)
{
    md_csv_result *r = rd->res;
    if (r->nerrors < MD_CSV_MAX_ERRORS)
        copy_text(r->first_errors[r->nerrors++], MD_CSV_ERRLEN, msg);
}

static void vformat(reader *rd, int64_t line, char *out, size_t outlen, const char *fmt, va_list ap)
{
    char why[320];
    vsnprintf(why, sizeof why, fmt, ap);
    if (line > 0)
        snprintf(out, outlen, "%s:%lld: %s", rd->path, (long long)line, why);
    else
        snprintf(out, outlen, "%s: %s", rd->path, why);
}

/* A problem that stops the read: always returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(reader *rd, int64_t line, const char *fmt,
                                                      ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vformat(rd, line, msg, sizeof msg, fmt, ap);
    va_end(ap);
    copy_text(rd->err, rd->errlen, msg);
    keep_error(rd, msg);
    return -1;
}

/* A problem with the current row: fatal (-1), or counted and skipped (1). */
__attribute__((format(printf, 2, 3))) static int bad_row(reader *rd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vformat(rd, rd->line, msg, sizeof msg, fmt, ap);
    va_end(ap);
    keep_error(rd, msg);
    if (!rd->opt->skip_bad) {
        copy_text(rd->err, rd->errlen, msg);
        return -1;
    }
    rd->res->skipped++;
    return 1;
}

/* A field's text for a message: at most SHOW_MAX bytes, control bytes escaped. */
static const char *show(span f, char *buf, size_t buflen)
{
    size_t o = 0;
    for (size_t i = 0; i < f.n && o + 8 < buflen; i++) {
        unsigned char c = (unsigned char)f.p[i];
        if (i == SHOW_MAX) {
            o += (size_t)snprintf(buf + o, buflen - o, "...");
            break;
        }
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

/* The shortest text that reads back as x. */
static const char *show_num(double x, char *buf, size_t buflen)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, buflen, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    return buf;
}

/* "3 min", "90 s", "0.5 s". */
static const char *show_gap(int64_t us, char *buf, size_t buflen)
{
    if (us % US_MIN == 0)
        snprintf(buf, buflen, "%lld min", (long long)(us / US_MIN));
    else if (us % AU_TIME_US_PER_SEC == 0)
        snprintf(buf, buflen, "%lld s", (long long)(us / AU_TIME_US_PER_SEC));
    else
        snprintf(buf, buflen, "%.6g s", (double)us / 1e6);
    return buf;
}

/* ---- numbers ---- */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* strtod on a copy with a NUL: the text is already known to be a decimal number. */
static int parse_number_slow(const char *s, size_t len, double *out)
{
    char buf[512];
    char *tmp = len < sizeof buf ? buf : malloc(len + 1);
    if (tmp == NULL) return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    double v = strtod(tmp, NULL);
    if (tmp != buf) free(tmp);
    if (isinf(v)) return -2;
    *out = v;
    return 0;
}

int md_csv_parse_number(const char *s, size_t len, double *out)
{
    const char *p = s, *end = s + len;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-')) neg = *p++ == '-';
    uint64_t m = 0; /* significant digits, at most 19 */
    int nsig = 0, inexact = 0, ndigits = 0;
    long exp10 = 0;
    for (; p < end && is_digit(*p); p++, ndigits++) {
        unsigned d = (unsigned)(*p - '0');
        if (nsig < 19 && (m | d)) {
            m = m * 10 + d;
            nsig++;
        } else if (nsig >= 19) {
            exp10++;
            inexact |= d != 0;
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && is_digit(*p); p++, ndigits++) {
            unsigned d = (unsigned)(*p - '0');
            if (nsig < 19 && (m | d)) {
                m = m * 10 + d;
                nsig++;
                exp10--;
            } else if (nsig < 19) {
                exp10--; /* a leading zero of the fraction */
            } else {
                inexact |= d != 0;
            }
        }
    }
    if (ndigits == 0) return -1;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        long e = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p == end || !is_digit(*p)) return -1;
        for (; p < end && is_digit(*p); p++)
            if (e < 100000) e = e * 10 + (*p - '0');
        exp10 += eneg ? -e : e;
    }
    if (p != end) return -1;
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    /* Clinger's fast path: an exact mantissa and an exact power of ten, so the one
     * IEEE multiplication or division rounds correctly, as strtod does. */
    if (!inexact && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
        *out = neg ? -v : v;
        return 0;
    }
    return parse_number_slow(s, len, out);
}

/* ---- tick rounding ---- */

static tick_rule tick_prepare(double tick)
{
    tick_rule r = {TICK_NONE, tick, 0};
    if (!(tick > 0)) return r;
    double inv = round(1.0 / tick);
    /* 1/tick an integer whose reciprocal is tick again: divide by it, which is exact
     * rounding, instead of multiplying by tick, which carries tick's own error. */
    if (inv >= 1 && inv <= 9007199254740992.0 && 1.0 / inv == tick) {
        r.mode = TICK_DIV;
        r.inv = inv;
    } else {
        r.mode = TICK_MUL;
    }
    return r;
}

/* Beyond 2^53 ticks every double is already a whole count: leave x (and never make
 * an infinity out of a huge x). */
static double tick_apply(const tick_rule *r, double x)
{
    if (r->mode == TICK_DIV) {
        double n = x * r->inv;
        return fabs(n) < 9007199254740992.0 ? round(n) / r->inv : x;
    }
    if (r->mode == TICK_MUL) {
        double n = x / r->tick;
        return fabs(n) < 9007199254740992.0 ? round(n) * r->tick : x;
    }
    return x;
}

double md_csv_round_tick(double x, double tick)
{
    tick_rule r = tick_prepare(tick);
    return tick_apply(&r, x);
}

/* ---- timestamps ---- */

static int two(const char *p, int *v)
{
    if (!is_digit(p[0]) || !is_digit(p[1])) return 0;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 1;
}

/* The common shapes, without a function call per byte: YYYY-MM-DD, then [T ]HH:MM:SS,
 * then Z or +-HH:MM.  Returns 0 for anything else, valid or not; the full ISO parser
 * then decides and explains. */
static int time_fast(const char *p, size_t n, au_time_parsed *out)
{
    int y1, y2, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, off = 0;
    if (n != 10 && n != 19 && n != 20 && n != 25) return 0;
    if (!two(p, &y1) || !two(p + 2, &y2) || p[4] != '-' || !two(p + 5, &mo) || p[7] != '-' ||
        !two(p + 8, &d))
        return 0;
    int y = y1 * 100 + y2;
    if (mo < 1 || mo > 12 || d < 1 || d > au_time_days_in_month(y, mo)) return 0;
    if (n > 10) {
        if ((p[10] != 'T' && p[10] != ' ') || !two(p + 11, &h) || p[13] != ':' ||
            !two(p + 14, &mi) || p[16] != ':' || !two(p + 17, &sec) || h > 23 || mi > 59 ||
            sec > 59)
            return 0;
        if (n == 20 && p[19] != 'Z') return 0;
        if (n == 25) {
            if ((p[19] != '+' && p[19] != '-') || !two(p + 20, &oh) || p[22] != ':' ||
                !two(p + 23, &om) || oh > 23 || om > 59)
                return 0;
            off = (p[19] == '-' ? -1 : 1) * (oh * 60 + om);
        }
    }
    out->local = au_time_days_from_civil(y, mo, d) * US_DAY + h * AU_TIME_US_PER_HOUR +
                 mi * US_MIN + sec * AU_TIME_US_PER_SEC;
    out->offset = off;
    out->has_offset = n > 19;
    out->has_time = n > 10;
    return 1;
}

/* The 09:30 New York session open of the day `days` (days since 1970-01-01). */
static int session_open(int64_t days, int64_t *out)
{
    int off;
    return au_time_ny_to_utc(days * US_DAY + SESSION_OPEN, AU_TIME_AMBIG_EARLIER, AU_TIME_GAP_ERROR,
                             out, &off);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- fields ---- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Split p[0..n) at commas into rd->fields (the first `keep` of them), unquoting in
 * place ("" is a quote inside quotes).  Returns the field count, or -1 with *why. */
static int split_fields(span *out, int keep, char *p, size_t n, const char **why)
{
    char *end = p + n;
    int i = 0;
    for (;;) {
        while (p < end && is_blank(*p)) p++;
        char *start = p, *stop;
        if (p < end && *p == '"') {
            char *r = p + 1, *w = p + 1;
            start = w;
            for (;;) {
                if (r == end) {
                    *why = "unterminated quoted field";
                    return -1;
                }
                if (*r == '"') {
                    if (r + 1 < end && r[1] == '"') {
                        *w++ = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                *w++ = *r++;
            }
            stop = w;
            while (r < end && is_blank(*r)) r++;
            if (r < end && *r != ',') {
                *why = "text after the closing quote of a field";
                return -1;
            }
            p = r;
        } else {
            char *comma = p < end ? memchr(p, ',', (size_t)(end - p)) : NULL;
            p = comma ? comma : end;
            stop = p;
            while (stop > start && is_blank(stop[-1])) stop--;
        }
        if (i < keep) out[i] = (span){start, (size_t)(stop - start)};
        i++;
        if (p == end) return i;
        p++;
    }
}

/* ---- header ---- */

/* Lower case without spaces, '_', '-' or '.': "Adj Close" -> "adjclose". */
static void normalize(span f, char *buf, size_t buflen)
{
    size_t o = 0;
    for (size_t i = 0; i < f.n && o + 1 < buflen; i++) {
        char c = f.p[i];
        if (c == ' ' || c == '_' || c == '-' || c == '.' || c == '\t') continue;
        buf[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    buf[o] = '\0';
}

static int role_of(const char *name)
{
    static const struct {
        const char *name;
        int role;
    } names[] = {{"date", C_TIME},      {"datetime", C_TIME},    {"time", C_TIME},
                 {"timestamp", C_TIME}, {"open", C_OPEN},        {"high", C_HIGH},
                 {"low", C_LOW},        {"close", C_CLOSE},      {"volume", C_VOLUME},
                 {"adjclose", C_ADJ},   {"adjustedclose", C_ADJ}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name)) return names[i].role;
    return -1;
}

static int parse_header(reader *rd, char *p, size_t n)
{
    const char *why = NULL;
    if (memchr(p, '\r', n))
        return fail(rd, rd->line,
                    "bare CR line breaks (classic Mac) are not supported; use LF or CRLF");
    int nf = split_fields(rd->fields, MD_CSV_MAX_COLS, p, n, &why);
    if (nf < 0) return fail(rd, rd->line, "header: %s", why);
    if (nf > MD_CSV_MAX_COLS) return fail(rd, rd->line, "more than %d columns", MD_CSV_MAX_COLS);
    au_time_parsed tp;
    if (time_fast(rd->fields[0].p, rd->fields[0].n, &tp))
        return fail(rd, rd->line,
                    "no header line: this line looks like data; expected a header such as "
                    "date,open,high,low,close,volume");
    for (int r = 0; r < C_N; r++) rd->col[r] = -1;
    for (int i = 0; i < nf; i++) {
        char name[64];
        normalize(rd->fields[i], name, sizeof name);
        int r = role_of(name);
        if (r < 0) continue;
        if (rd->col[r] >= 0 && r == C_TIME)
            return fail(rd, rd->line,
                        "two time columns (%d and %d): one column must hold the date and time",
                        rd->col[r] + 1, i + 1);
        if (rd->col[r] >= 0)
            return fail(rd, rd->line, "two %s columns (%d and %d)", col_label[r], rd->col[r] + 1,
                        i + 1);
        rd->col[r] = i;
        if (i + 1 > rd->nkeep) rd->nkeep = i + 1;
    }
    if (rd->col[C_TIME] < 0)
        return fail(rd, rd->line, "missing column 'date' (or 'datetime', 'time', 'timestamp')");
    for (int r = C_OPEN; r <= C_CLOSE; r++)
        if (rd->col[r] < 0) return fail(rd, rd->line, "missing column '%s'", col_label[r]);
    rd->ncols = nf;
    rd->have_header = 1;
    rd->res->has_volume = rd->col[C_VOLUME] >= 0;
    return 0;
}

/* ---- rows ---- */

static int32_t tf_given(const reader *rd)
{
    return rd->opt->timeframe;
}

static int tf_is_calendar(int32_t tf)
{
    return tf == MD_TF_DAILY || tf == MD_TF_WEEKLY || tf == MD_TF_MONTHLY;
}

/* Parse the time field into UTC µs; date-only rows become the 09:30 New York open. */
static int row_time(reader *rd, span f, int64_t *t, au_time_parsed *tp)
{
    char shown[SHOW_MAX * 4 + 8], why[160];
    if (!time_fast(f.p, f.n, tp) && au_time_parse_iso(f.p, f.n, tp, why, sizeof why) != AU_TIME_OK)
        return bad_row(rd, "bad timestamp '%s': %s", show(f, shown, sizeof shown), why);
    if (!tp->has_time) {
        if (session_open(floor_div(tp->local, US_DAY), t) != AU_TIME_OK)
            return bad_row(rd, "timestamp '%s' is out of range", show(f, shown, sizeof shown));
        return 0;
    }
    *t = tp->local - (int64_t)tp->offset * US_MIN;
    return 0;
}

/* The first accepted row fixes whether the file holds dates or date-times; a given
 * timeframe must suit them.  Sets *midnight for a date-time at 00:00 wall time. */
static int row_kind(reader *rd, span f, const au_time_parsed *tp, int *midnight)
{
    char shown[SHOW_MAX * 4 + 8], tfname[16];
    int kind = tp->has_time ? KIND_DATETIME : KIND_DATE;
    int32_t tf = tf_given(rd);
    *midnight = kind == KIND_DATETIME && floor_div(tp->local, US_DAY) * US_DAY == tp->local;
    if (kind == KIND_DATE && tf != MD_TF_UNKNOWN && !tf_is_calendar(tf))
        return fail(rd, rd->line, "timeframe %s needs a date and time in each row, got '%s'",
                    md_timeframe_name(tf, tfname, sizeof tfname), show(f, shown, sizeof shown));
    if (kind == KIND_DATETIME && !*midnight && tf_is_calendar(tf))
        return fail(rd, rd->line, "timeframe %s needs dates (or midnight times), got '%s'",
                    md_timeframe_name(tf, tfname, sizeof tfname), show(f, shown, sizeof shown));
    if (rd->kind != KIND_NONE && kind != rd->kind)
        return bad_row(rd, "%s '%s' in a file of %s rows",
                       kind == KIND_DATE ? "date-only timestamp" : "timestamp with a time of day",
                       show(f, shown, sizeof shown),
                       rd->kind == KIND_DATE ? "date-only" : "date-and-time");
    return 0;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* Remember a spacing (minutes) for inference: smallest, gcd, first line of each. */
static void note_gap(reader *rd, int64_t g)
{
    if (rd->min_gap == 0 || g < rd->min_gap) {
        rd->min_gap = g;
        rd->min_gap_line = rd->line;
    }
    rd->gcd_gap = gcd64(rd->gcd_gap, g);
    if (g == rd->last_gap) return;
    rd->last_gap = g;
    for (int i = 0; i < rd->ngaps; i++)
        if (rd->gaps[i].min == g) return;
    if (rd->ngaps < GAP_TABLE) rd->gaps[rd->ngaps++] = (gap_seen){g, rd->line};
}

/* Order and spacing against the previous accepted bar. */
static int row_order(reader *rd, span f, int64_t t)
{
    char shown[SHOW_MAX * 4 + 8], gap[48], tfname[16];
    if (rd->s->n == 0) return 0;
    if (t <= rd->prev_time)
        return bad_row(rd, "timestamp '%s' is not after the previous bar's '%s' (line %lld)%s",
                       show(f, shown, sizeof shown), rd->prev_text, (long long)rd->prev_line,
                       t == rd->prev_time ? ", the same instant" : "");
    if (rd->kind != KIND_DATETIME) return 0;
    int64_t g = t - rd->prev_time;
    int32_t tf = tf_given(rd);
    if (tf != MD_TF_UNKNOWN && !tf_is_calendar(tf)) {
        if (g % ((int64_t)tf * AU_TIME_US_PER_SEC) != 0)
            return bad_row(rd,
                           "timestamp '%s' is %s after the previous bar (line %lld), not a "
                           "whole number of %s bars",
                           show(f, shown, sizeof shown), show_gap(g, gap, sizeof gap),
                           (long long)rd->prev_line, md_timeframe_name(tf, tfname, sizeof tfname));
        return 0;
    }
    if (tf == MD_TF_UNKNOWN) {
        if (g % US_MIN != 0)
            return bad_row(rd,
                           "timestamp '%s' is %s after the previous bar (line %lld): bar "
                           "spacing must be whole minutes",
                           show(f, shown, sizeof shown), show_gap(g, gap, sizeof gap),
                           (long long)rd->prev_line);
        note_gap(rd, g / US_MIN);
    }
    return 0;
}

static int row_number(reader *rd, int role, double *out)
{
    char shown[SHOW_MAX * 4 + 8];
    span f = rd->fields[rd->col[role]];
    int rc = md_csv_parse_number(f.p, f.n, out);
    if (rc == -1)
        return bad_row(rd, "%s '%s' is not a number", col_label[role],
                       show(f, shown, sizeof shown));
    if (rc == -2)
        return bad_row(rd, "%s '%s' is out of range", col_label[role],
                       show(f, shown, sizeof shown));
    return 0;
}

/* The bar rules, after tick rounding. */
static int row_check(reader *rd, const double *v)
{
    char a[40], b[40], note[80] = "";
    if (rd->tick.mode != TICK_NONE)
        snprintf(note, sizeof note, " (after rounding to tick %s)",
                 show_num(rd->tick.tick, a, sizeof a));
    for (int r = C_OPEN; r <= C_ADJ; r++) {
        if (r == C_VOLUME || rd->col[r] < 0) continue;
        if (!(v[r] > 0))
            return bad_row(rd, "%s %s is not positive%s", col_label[r], show_num(v[r], a, sizeof a),
                           r == C_ADJ ? "" : note);
    }
    if (v[C_VOLUME] < 0)
        return bad_row(rd, "volume %s is negative", show_num(v[C_VOLUME], a, sizeof a));
    if (v[C_HIGH] < v[C_LOW])
        return bad_row(rd, "high %s < low %s%s", show_num(v[C_HIGH], a, sizeof a),
                       show_num(v[C_LOW], b, sizeof b), note);
    int top = v[C_OPEN] >= v[C_CLOSE] ? C_OPEN : C_CLOSE;
    if (v[C_HIGH] < v[top])
        return bad_row(rd, "high %s < %s %s%s", show_num(v[C_HIGH], a, sizeof a), col_label[top],
                       show_num(v[top], b, sizeof b), note);
    int bottom = v[C_OPEN] <= v[C_CLOSE] ? C_OPEN : C_CLOSE;
    if (v[C_LOW] > v[bottom])
        return bad_row(rd, "low %s > %s %s%s", show_num(v[C_LOW], a, sizeof a), col_label[bottom],
                       show_num(v[bottom], b, sizeof b), note);
    return 0;
}

/* Room for one more bar.  The first reserve comes from an estimate of the row count;
 * past it, re-estimate from the bytes read so far rather than doubling, so the
 * columns stay close to their final size.  Reserved pages never written cost no
 * resident memory, and md_csv_read trims the slack at the end. */
static int ensure_room(reader *rd)
{
    md_series *s = rd->s;
    if (s->n < s->cap) return 0;
    int64_t want = s->cap + s->cap / 8 + 1024;
    int64_t rows = s->n + rd->res->skipped;
    if (rd->file_size > 0 && rd->consumed > 0 && rows > 0) {
        double est = (double)rd->file_size * (double)rows / (double)rd->consumed * 1.05 + 1024;
        if (est > (double)want && est < 1e15) want = (int64_t)est;
    }
    if (md_series_reserve(s, want) != 0)
        return fail(rd, rd->line, "out of memory for %lld bars", (long long)want);
    return 0;
}

static int parse_row(reader *rd, char *p, size_t n)
{
    const char *why = NULL;
    int nf = split_fields(rd->fields, rd->nkeep, p, n, &why);
    if (nf < 0) return bad_row(rd, "%s", why);
    if (nf != rd->ncols)
        return bad_row(rd, "wrong column count: %d field%s, the header has %d", nf,
                       nf == 1 ? "" : "s", rd->ncols);
    span tf = rd->fields[rd->col[C_TIME]];
    au_time_parsed tp;
    int64_t t;
    int rc, midnight;
    if ((rc = row_time(rd, tf, &t, &tp)) != 0 || (rc = row_kind(rd, tf, &tp, &midnight)) != 0)
        return rc;
    double v[C_N] = {0};
    for (int r = C_OPEN; r < C_N; r++)
        if (rd->col[r] >= 0 && (rc = row_number(rd, r, &v[r])) != 0) return rc;
    for (int r = C_OPEN; r <= C_CLOSE; r++) v[r] = tick_apply(&rd->tick, v[r]);
    v[C_VOLUME] += 0.0; /* -0 reads as 0 */
    if ((rc = row_check(rd, v)) != 0 || (rc = row_order(rd, tf, t)) != 0) return rc;
    if ((rc = ensure_room(rd)) != 0) return rc;
    md_series *s = rd->s;
    int64_t i = s->n++;
    s->time[i] = t;
    s->open[i] = v[C_OPEN];
    s->high[i] = v[C_HIGH];
    s->low[i] = v[C_LOW];
    s->close[i] = v[C_CLOSE];
    s->volume[i] = v[C_VOLUME];
    if (s->adj_close) s->adj_close[i] = v[C_ADJ];
    rd->kind = tp.has_time ? KIND_DATETIME : KIND_DATE;
    rd->all_midnight &= midnight;
    if (tp.offset <= -12 * 60 || tp.offset >= 12 * 60) rd->offsets_small = 0;
    rd->prev_time = t;
    rd->prev_line = rd->line;
    show(tf, rd->prev_text, sizeof rd->prev_text);
    return 0;
}

/* The first reserve: rows in a sample of what follows the header, scaled to the file. */
static int reserve_estimate(reader *rd, const char *p, size_t avail)
{
    size_t sample = avail < (256u << 10) ? avail : (256u << 10);
    int64_t lines = 0;
    for (const char *q = p, *e = p + sample; (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++)
        lines++;
    int64_t want = 1024;
    if (lines > 0 && rd->file_size > 0) {
        double est = (double)rd->file_size * (double)lines / (double)sample * 1.05 + 1024;
        if (est < 1e15) want = (int64_t)est;
    }
    if (md_series_reserve(rd->s, want) != 0)
        return fail(rd, 0, "out of memory for %lld bars", (long long)want);
    return 0;
}

/* One line without its '\n'.  0 ok, 1 skipped, -1 fatal. */
static int handle_line(reader *rd, char *p, size_t n, const char *rest, size_t restlen)
{
    if (n > MD_CSV_LINE_MAX)
        return fail(rd, rd->line, "line longer than %d bytes", MD_CSV_LINE_MAX);
    if (n > 0 && p[n - 1] == '\r') n--;
    size_t k = 0;
    while (k < n && is_blank(p[k])) k++;
    if (k == n) return 0; /* blank lines carry nothing */
    if (rd->have_header) return parse_row(rd, p, n);
    if (parse_header(rd, p, n) != 0) return -1;
    rd->s = md_series_new(rd->opt->symbol, MD_TF_UNKNOWN, rd->col[C_ADJ] >= 0);
    if (rd->s == NULL) return fail(rd, 0, "out of memory");
    return reserve_estimate(rd, rest, restlen);
}

/* ---- the file ---- */

/* Fill up to n bytes; fewer only at end of file.  -1 with errno on error. */
static ssize_t read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int read_lines(reader *rd, int fd, char *buf, size_t chunk)
{
    size_t have = 0;
    int first = 1;
    for (;;) {
        ssize_t r = read_full(fd, buf + have, chunk);
        if (r < 0) return fail(rd, 0, "%s", strerror(errno));
        int eof = (size_t)r < chunk;
        char *p = buf, *e = buf + have + (size_t)r;
        if (first && e - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
        first = 0;
        while (p < e) {
            char *nl = memchr(p, '\n', (size_t)(e - p));
            if (nl == NULL && !eof) break;
            char *stop = nl ? nl : e;
            rd->line++;
            rd->consumed += stop - p + 1;
            if (handle_line(rd, p, (size_t)(stop - p), stop + 1, nl ? (size_t)(e - stop - 1) : 0) <
                0)
                return -1;
            p = nl ? nl + 1 : e;
        }
        if (eof) return 0;
        size_t rest = (size_t)(e - p);
        if (rest > MD_CSV_LINE_MAX) {
            rd->line++;
            return fail(rd, rd->line, "line longer than %d bytes", MD_CSV_LINE_MAX);
        }
        memmove(buf, p, rest);
        have = rest;
    }
}

/* Daily bars written as midnight date-times ("2024-01-02 00:00:00-05:00", as pandas
 * and yfinance write them): restamp each with the session open of its date.  With
 * every offset under 12 h, the date is the nearest UTC midnight plus the offset. */
static int restamp_midnights(reader *rd)
{
    md_series *s = rd->s;
    for (int64_t i = 0; i < s->n; i++) {
        int64_t days = floor_div(s->time[i] + HALF_DAY, US_DAY), t;
        if (session_open(days, &t) != AU_TIME_OK) return fail(rd, 0, "date out of range");
        if (i > 0 && t <= s->time[i - 1]) {
            int64_t y;
            int mo, d;
            au_time_civil_from_days(days, &y, &mo, &d);
            return fail(rd, 0, "two midnight bars fall on the date %04lld-%02d-%02d", (long long)y,
                        mo, d);
        }
        s->time[i] = t;
    }
    s->timeframe = tf_given(rd) != MD_TF_UNKNOWN ? tf_given(rd) : MD_TF_DAILY;
    return 0;
}

/* Inference for date-time rows: the smallest spacing, which every other spacing
 * must be a multiple of. */
static int infer_intraday(reader *rd)
{
    md_series *s = rd->s;
    if (s->n < 2)
        return fail(rd, 0, "cannot infer the timeframe from a single bar; give it explicitly");
    int64_t m = rd->min_gap;
    if (m >= 1440)
        return fail(rd, rd->min_gap_line,
                    "bars with a time of day are at least a day apart "
                    "(smallest spacing %lld min); write daily bars as dates (YYYY-MM-DD)",
                    (long long)m);
    if (rd->gcd_gap != m) {
        gap_seen worst = {0, 0};
        for (int i = 0; i < rd->ngaps; i++)
            if (rd->gaps[i].min % m != 0 && (worst.line == 0 || rd->gaps[i].line < worst.line))
                worst = rd->gaps[i];
        if (worst.line > 0)
            return fail(rd, worst.line,
                        "irregular bar spacing: %lld min after the previous bar, "
                        "not a multiple of the smallest spacing, %lld min (line %lld); give the "
                        "timeframe explicitly",
                        (long long)worst.min, (long long)m, (long long)rd->min_gap_line);
        return fail(rd, 0,
                    "irregular bar spacing: not every spacing is a multiple of the smallest, "
                    "%lld min (line %lld); give the timeframe explicitly",
                    (long long)m, (long long)rd->min_gap_line);
    }
    s->timeframe = (int32_t)(m * 60);
    return 0;
}

static int finish(reader *rd)
{
    md_series *s = rd->s;
    if (!rd->have_header) return fail(rd, 0, "empty file, no header line");
    if (s->n == 0) {
        if (rd->res->skipped > 0)
            return fail(rd, 0, "no bars: all %lld data rows were bad", (long long)rd->res->skipped);
        return fail(rd, 0, "no bars after the header");
    }
    int32_t tf = tf_given(rd);
    if (rd->kind == KIND_DATE)
        s->timeframe = tf != MD_TF_UNKNOWN ? tf : MD_TF_DAILY;
    else if (tf != MD_TF_UNKNOWN && !tf_is_calendar(tf))
        s->timeframe = tf;
    else if (rd->all_midnight && rd->offsets_small)
        return restamp_midnights(rd);
    else if (tf != MD_TF_UNKNOWN)
        return fail(rd, 0, "midnight bars with UTC offsets of 12 hours or more cannot be dated");
    else
        return infer_intraday(rd);
    return 0;
}

/* Give back the reserve the estimate left unused (columns are plain heap blocks, so
 * realloc is the series' own way to resize them; shrinking never moves data). */
static void trim(md_series *s)
{
    if (s->n >= s->cap || s->n == 0) return;
    void **cols[] = {(void **)&s->time,     (void **)&s->open,  (void **)&s->high,
                     (void **)&s->low,      (void **)&s->close, (void **)&s->volume,
                     (void **)&s->adj_close};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        if (*cols[i] == NULL) continue;
        void *p = realloc(*cols[i], (size_t)s->n * 8);
        if (p) *cols[i] = p;
    }
    s->cap = s->n;
}

static int check_options(reader *rd)
{
    const md_csv_options *o = rd->opt;
    int32_t tf = o->timeframe;
    if (o == NULL) return fail(rd, 0, "no options given");
    if (o->symbol == NULL || o->symbol[0] == '\0') return fail(rd, 0, "no symbol given");
    if (strlen(o->symbol) >= MD_SYMBOL_MAX)
        return fail(rd, 0, "symbol '%s' is longer than %d bytes", o->symbol, MD_SYMBOL_MAX - 1);
    if (tf != MD_TF_UNKNOWN && !tf_is_calendar(tf) && (tf < 1 || tf >= 86400))
        return fail(rd, 0, "timeframe %d s is not supported", (int)tf);
    if (!(o->tick >= 0) || isinf(o->tick))
        return fail(rd, 0, "tick must be a positive number or 0");
    return 0;
}

/* Open, read, finish: the series, or NULL with the message written. */
static md_series *read_file(reader *rd)
{
    int fd = open(rd->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(rd, 0, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) rd->file_size = st.st_size;
    /* A small file needs no 4 MB buffer: one byte more than its size sees the end. */
    size_t chunk = rd->file_size > 0 && rd->file_size < CHUNK ? (size_t)rd->file_size + 1 : CHUNK;
    char *buf = malloc(chunk + MD_CSV_LINE_MAX);
    rd->fields = malloc(MD_CSV_MAX_COLS * sizeof *rd->fields);
    int rc = buf && rd->fields ? read_lines(rd, fd, buf, chunk) : fail(rd, 0, "out of memory");
    close(fd);
    free(buf);
    free(rd->fields);
    if (rc == 0) rc = finish(rd);
    if (rc != 0) {
        md_series_release(rd->s);
        return NULL;
    }
    trim(rd->s);
    rd->res->rows = rd->s->n;
    return rd->s;
}

md_series *md_csv_read(const char *path, const md_csv_options *opt, md_csv_result *res, char *err,
                       size_t errlen)
{
    md_csv_result scratch;
    reader rd = {.path = path ? path : "(no file)",
                 .opt = opt,
                 .res = res ? res : &scratch,
                 .err = err,
                 .errlen = errlen};
    memset(rd.res, 0, sizeof *rd.res);
    rd.all_midnight = rd.offsets_small = 1;
    if (path == NULL) {
        fail(&rd, 0, "no file given");
        return NULL;
    }
    if (check_options(&rd) != 0) return NULL;
    rd.tick = tick_prepare(opt->tick);
    /* strtod and printf follow LC_NUMERIC: a host that set a locale with a decimal
     * comma must not change how "1.5" reads.  uselocale is per thread. */
    locale_t c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t saved = c_numeric ? uselocale(c_numeric) : (locale_t)0;
    md_series *s = read_file(&rd);
    if (c_numeric) {
        uselocale(saved);
        freelocale(c_numeric);
    }
    return s;
}
