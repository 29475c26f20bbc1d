/* occ.c — see occ.h. */
#include "options/occ.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/autime.h"
#include "sys/errmsg.h"

/* The fixed tail after the root field: YYMMDD, C/P, 8 strike digits. */
#define TAIL_LEN 15
/* Bytes of a bad symbol quoted in a message: enough for any real symbol, bounded so
 * that a megabyte of junk does not become a megabyte of message. */
#define QUOTE_MAX 40
/* How far (in thousandths) a strike may be from a multiple of 0.001; see strike_units. */
#define STRIKE_NOISE 1e-6

static const char *const MONTH_NAME[12] = {"January", "February", "March",     "April",
                                           "May",     "June",     "July",      "August",
                                           "September", "October", "November", "December"};

static int is_upper(char ch)
{
    return ch >= 'A' && ch <= 'Z';
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* s[0..len) in double quotes, with ", \ and non-printable bytes escaped and anything
 * past QUOTE_MAX bytes cut to "..." inside the quotes (as alluse.check.show does), so
 * the message stays one short line whatever the input was. */
static void quote(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
    /* Worst case per byte is 4 (\xHH); keep room for the closing quote, "..." and NUL. */
    if (outlen < 4 * QUOTE_MAX + 8) {
        if (outlen > 0) out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02X", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    if (len > n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* One refusal of occ_parse: "not an OCC symbol "S": reason". */
__attribute__((format(printf, 5, 6))) static int refuse(const char *s, size_t len, char *err,
                                                         size_t errlen, const char *fmt, ...)
{
    char reason[256], q[4 * QUOTE_MAX + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    quote(s, len, q, sizeof q);
    return au_errf(err, errlen, -1, "not an OCC symbol %s: %s", q, reason);
}

/* Why root[0..n) cannot be a root, or NULL when it can. */
static const char *root_problem(const char *root, size_t n)
{
    if (n == 0) return "is empty";
    if (n > OCC_ROOT_MAX) return "is longer than 6 characters";
    if (!is_upper(root[0])) return "must start with an upper-case letter";
    for (size_t i = 1; i < n; i++) {
        if (root[i] == ' ')
            return "has a space (only the 21-character form is padded: spaces after the root, "
                   "to 6 characters)";
        if (!is_upper(root[i]) && !is_digit(root[i])) return "must be upper-case letters and digits";
    }
    return NULL;
}

/* The length of the root in the root field s[0..field): the padded form (field 6)
 * may end in spaces; the compact form may not — partial padding (AAPL 240119...) is
 * neither spelling, and accepting it would give a contract a third one. */
static size_t root_length(const char *s, size_t field)
{
    size_t n = field;
    if (field == OCC_ROOT_MAX)
        while (n > 0 && s[n - 1] == ' ') n--;
    return n;
}

static int check_root(const char *s, size_t len, size_t field, size_t *rootlen, char *err,
                      size_t errlen)
{
    size_t n = root_length(s, field);
    const char *why = root_problem(s, n);
    if (why == NULL) {
        *rootlen = n;
        return 0;
    }
    char q[4 * QUOTE_MAX + 8];
    quote(s, n == 0 ? field : n, q, sizeof q);
    return refuse(s, len, err, errlen, "the root %s %s", q, why);
}

static int two_digits(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Why the YYMMDD field p[0..6) is not a date, written into why; 0 when it is one. */
static int check_date(const char *p, int32_t *y, int32_t *m, int32_t *d, char *why, size_t whylen)
{
    for (int i = 0; i < 6; i++)
        if (!is_digit(p[i])) {
            snprintf(why, whylen, "expected six digits YYMMDD");
            return -1;
        }
    *y = OCC_YEAR_MIN + two_digits(p);
    *m = two_digits(p + 2);
    *d = two_digits(p + 4);
    if (*m < 1 || *m > 12) {
        snprintf(why, whylen, "month %d is not 1..12", (int)*m);
        return -1;
    }
    int dim = au_time_days_in_month(*y, *m);
    if (*d < 1 || *d > dim) {
        snprintf(why, whylen, "day %d is not in %s %d (1..%d)", (int)*d, MONTH_NAME[*m - 1], (int)*y,
                 dim);
        return -1;
    }
    return 0;
}

static int parse_tail(const char *s, size_t len, const char *p, occ_contract *out, char *err,
                      size_t errlen)
{
    char why[96], q[4 * QUOTE_MAX + 8];
    if (check_date(p, &out->year, &out->month, &out->day, why, sizeof why) != 0) {
        quote(p, 6, q, sizeof q);
        return refuse(s, len, err, errlen, "the date field %s is not a date: %s", q, why);
    }
    if (p[6] == 'C') {
        out->right = OCC_CALL;
    } else if (p[6] == 'P') {
        out->right = OCC_PUT;
    } else {
        quote(p + 6, 1, q, sizeof q);
        return refuse(s, len, err, errlen, "the right %s must be C (call) or P (put)", q);
    }
    long units = 0;
    for (int i = 7; i < 15; i++) {
        if (!is_digit(p[i])) {
            quote(p + 7, 8, q, sizeof q);
            return refuse(s, len, err, errlen,
                          "the strike field %s must be 8 digits (the strike times 1000)", q);
        }
        units = units * 10 + (p[i] - '0');
    }
    if (units == 0) return refuse(s, len, err, errlen, "the strike is 0");
    /* Division of two exact integers: the double nearest the decimal strike. */
    out->strike = (double)units / 1000.0;
    return 0;
}

int occ_parse(const char *s, size_t len, occ_contract *out, char *err, size_t errlen)
{
    if (out == NULL) return au_errf(err, errlen, -1, "occ_parse: no output contract");
    if (s == NULL) return au_errf(err, errlen, -1, "occ_parse: no symbol");
    if (len < OCC_COMPACT_MIN || len > OCC_SYMBOL_LEN)
        return refuse(s, len, err, errlen,
                      "length %zu: expected 21 characters (root space-padded to 6) or 16..20 "
                      "(root without padding)",
                      len);
    size_t field = len - TAIL_LEN, rootlen = 0;
    if (check_root(s, len, field, &rootlen, err, errlen) != 0) return -1;
    memset(out, 0, sizeof *out);
    memcpy(out->root, s, rootlen);
    return parse_tail(s, len, s + field, out, err, errlen);
}

/* %.15g when that reads back as x, else %.17g: a strike in a message as the user
 * wrote it where possible, exactly otherwise. */
static void show_double(double x, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%.15g", x);
    if (strtod(buf, NULL) != x) snprintf(buf, buflen, "%.17g", x);
}

/* The strike in thousandths, or -1 with the reason.  A strike within 1e-9 of a
 * multiple of 0.001 counts as that multiple: strikes computed in floating point
 * (0.1 + 0.2, 100 * 1.1) carry noise in their last bits that says nothing about the
 * contract, while 12.3456 is a different number, not noise.  A strike occ_parse
 * produced is always exactly units/1000, so parse -> format -> parse is exact. */
static long strike_units(double strike, char *err, size_t errlen)
{
    char v[40];
    show_double(strike, v, sizeof v);
    if (!isfinite(strike) || strike <= 0 || strike >= OCC_STRIKE_MAX)
        return au_errf(err, errlen, -1,
                       "cannot write an OCC symbol: strike %s is not in (0, 100000)", v);
    double scaled = strike * 1000.0;
    long units = lround(scaled);
    if (fabs(scaled - (double)units) > STRIKE_NOISE || units == 0 || units > 99999999)
        return au_errf(err, errlen, -1,
                       "cannot write an OCC symbol: strike %s is not a multiple of 0.001", v);
    return units;
}

static int check_contract(const occ_contract *c, char *err, size_t errlen)
{
    char q[4 * QUOTE_MAX + 8];
    size_t n = strnlen(c->root, sizeof c->root);
    const char *why = n == sizeof c->root ? "is longer than 6 characters" : root_problem(c->root, n);
    if (why != NULL) {
        quote(c->root, n, q, sizeof q);
        return au_errf(err, errlen, -1, "cannot write an OCC symbol: the root %s %s", q, why);
    }
    if (c->year < OCC_YEAR_MIN || c->year > OCC_YEAR_MAX)
        return au_errf(err, errlen, -1,
                       "cannot write an OCC symbol: year %d is not in 2000..2099 (YY has two digits)",
                       (int)c->year);
    if (c->month < 1 || c->month > 12)
        return au_errf(err, errlen, -1, "cannot write an OCC symbol: month %d is not 1..12",
                       (int)c->month);
    int dim = au_time_days_in_month(c->year, c->month);
    if (c->day < 1 || c->day > dim)
        return au_errf(err, errlen, -1, "cannot write an OCC symbol: day %d is not in %s %d (1..%d)",
                       (int)c->day, MONTH_NAME[c->month - 1], (int)c->year, dim);
    if (c->right != OCC_CALL && c->right != OCC_PUT)
        return au_errf(err, errlen, -1,
                       "cannot write an OCC symbol: right %d is not 1 (call) or 2 (put)",
                       (int)c->right);
    return 0;
}

int occ_format(const occ_contract *c, char *buf, size_t buflen, char *err, size_t errlen)
{
    if (c == NULL) return au_errf(err, errlen, -1, "occ_format: no contract");
    if (buf == NULL || buflen < OCC_BUFLEN)
        return au_errf(err, errlen, -1, "occ_format: the buffer needs %d bytes", OCC_BUFLEN);
    if (check_contract(c, err, errlen) != 0) return -1;
    long units = strike_units(c->strike, err, errlen);
    if (units < 0) return -1;
    snprintf(buf, buflen, "%-6s%02d%02d%02d%c%08ld", c->root, (int)(c->year - OCC_YEAR_MIN),
             (int)c->month, (int)c->day, c->right == OCC_CALL ? 'C' : 'P', units);
    return 0;
}
