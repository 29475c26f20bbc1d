/* autime.c — see autime.h. */
#include "sys/autime.h"

#include <stdio.h>
#include <time.h>

#include "sys/errmsg.h"

#define NY_EST (-300)
#define NY_EDT (-240)

/* ---- clocks ---- */

static int clock_us(clockid_t id, int64_t *out)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return AU_TIME_ECLOCK;
    *out = (int64_t)ts.tv_sec * AU_TIME_US_PER_SEC + ts.tv_nsec / 1000;
    return AU_TIME_OK;
}

int64_t au_time_now(void)
{
    int64_t us = 0;
    clock_us(CLOCK_REALTIME, &us);
    return us;
}

int64_t au_time_monotonic(void)
{
    int64_t us = 0;
    clock_us(CLOCK_MONOTONIC, &us);
    return us;
}

/* ---- calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int au_time_is_leap(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int au_time_days_in_month(int64_t year, int month)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) return 0;
    return days[month - 1] + (month == 2 && au_time_is_leap(year));
}

/* Counting years from March makes the leap day the last day of the counted year,
 * so the day of year is a fixed linear formula of the month and 400-year eras
 * repeat exactly (146097 days each). */
int64_t au_time_days_from_civil(int64_t year, int month, int day)
{
    int64_t y = year - (month <= 2);
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                        /* 0..399 */
    int64_t mp = month > 2 ? month - 3 : month + 9;     /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;         /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
    return era * 146097 + doe - 719468;                 /* 719468: 0000-03-01 to 1970-01-01 */
}

void au_time_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = m;
    *year = yoe + era * 400 + (m <= 2);
}

int au_time_weekday(int64_t days)
{
    return (int)(days - floor_div(days + 3, 7) * 7 + 3) + 1;
}

int64_t au_time_floor_days(int64_t us, int64_t *us_of_day)
{
    /* Adjust the truncated quotient rather than multiply back: days * DAY would
     * overflow for us near INT64_MIN. */
    int64_t days = us / AU_TIME_US_PER_DAY, rem = us % AU_TIME_US_PER_DAY;
    if (rem < 0) {
        rem += AU_TIME_US_PER_DAY;
        days--;
    }
    *us_of_day = rem;
    return days;
}

void au_time_split(int64_t us, int offset_min, au_time_fields *f)
{
    /* Split first and shift after, so that us near the int64_t limits cannot overflow. */
    int64_t rem;
    int64_t days = au_time_floor_days(us, &rem);
    rem += (int64_t)offset_min * AU_TIME_US_PER_MIN;
    if (rem < 0) {
        rem += AU_TIME_US_PER_DAY;
        days--;
    } else if (rem >= AU_TIME_US_PER_DAY) {
        rem -= AU_TIME_US_PER_DAY;
        days++;
    }
    int64_t year;
    au_time_civil_from_days(days, &year, &f->month, &f->day);
    f->year = (int)year;
    f->yday = (int)(days - au_time_days_from_civil(year, 1, 1)) + 1;
    f->wday = au_time_weekday(days);
    int64_t secs = rem / AU_TIME_US_PER_SEC;
    f->usec = (int)(rem % AU_TIME_US_PER_SEC);
    f->hour = (int)(secs / 3600);
    f->min = (int)(secs / 60 % 60);
    f->sec = (int)(secs % 60);
    f->offset = offset_min;
    f->dst = 0;
}

int au_time_check_date(int year, int month, int day, char *err, size_t errlen)
{
    if (year < AU_TIME_YEAR_MIN || year > AU_TIME_YEAR_MAX)
        return au_errf(err, errlen, AU_TIME_EINVAL, "year %d is out of range %d..%d", year,
                       AU_TIME_YEAR_MIN, AU_TIME_YEAR_MAX);
    if (month < 1 || month > 12)
        return au_errf(err, errlen, AU_TIME_EINVAL, "month %d is out of range 1..12", month);
    int dim = au_time_days_in_month(year, month);
    if (day < 1 || day > dim)
        return au_errf(err, errlen, AU_TIME_EINVAL, "day %d is out of range 1..%d for %04d-%02d", day,
                       dim, year, month);
    return AU_TIME_OK;
}

int au_time_compose(int year, int month, int day, int hour, int min, int sec, int usec,
                    int64_t *local, char *err, size_t errlen)
{
    if (au_time_check_date(year, month, day, err, errlen) != AU_TIME_OK) return AU_TIME_EINVAL;
    if (hour < 0 || hour > 23) {
        au_errf(err, errlen, 0, "hour %d is out of range 0..23", hour);
        return AU_TIME_EINVAL;
    }
    if (min < 0 || min > 59) {
        au_errf(err, errlen, 0, "minute %d is out of range 0..59", min);
        return AU_TIME_EINVAL;
    }
    if (sec < 0 || sec > 59) {
        au_errf(err, errlen, 0, "second %d is out of range 0..59", sec);
        return AU_TIME_EINVAL;
    }
    if (usec < 0 || usec > 999999) {
        au_errf(err, errlen, 0, "microsecond %d is out of range 0..999999", usec);
        return AU_TIME_EINVAL;
    }
    int64_t days = au_time_days_from_civil(year, month, day);
    *local = days * AU_TIME_US_PER_DAY + ((int64_t)hour * 3600 + min * 60 + sec) * AU_TIME_US_PER_SEC
             + usec;
    return AU_TIME_OK;
}

/* ---- America/New_York ---- */

/* The first Sunday on or after year-month-from, as a day number. */
static int64_t sunday_on_or_after(int64_t year, int month, int from)
{
    int64_t d = au_time_days_from_civil(year, month, from);
    return d + (7 - au_time_weekday(d)) % 7;
}

static int64_t last_sunday(int64_t year, int month)
{
    int64_t d = au_time_days_from_civil(year, month, au_time_days_in_month(year, month));
    return d - au_time_weekday(d) % 7;
}

/* The local dates daylight time starts and ends in year; 0 if it has none.  The
 * Uniform Time Act (1966) took effect in 1967; before it New York's DST was a local
 * matter that we do not model (docs/time.md). */
static int ny_dst_days(int64_t year, int64_t *start, int64_t *end)
{
    if (year < 1967) return 0;
    if (year >= 2007) { /* Energy Policy Act of 2005 */
        *start = sunday_on_or_after(year, 3, 8);
        *end = sunday_on_or_after(year, 11, 1);
    } else if (year >= 1987) {
        *start = sunday_on_or_after(year, 4, 1);
        *end = last_sunday(year, 10);
    } else {
        /* The 1973 energy emergency act started DST early in 1974 and 1975. */
        if (year == 1974)
            *start = au_time_days_from_civil(1974, 1, 6);
        else if (year == 1975)
            *start = au_time_days_from_civil(1975, 2, 23);
        else
            *start = last_sunday(year, 4);
        *end = last_sunday(year, 10);
    }
    return 1;
}

/* Both changes happen at 02:00 local: 07:00 UTC in spring (from EST), 06:00 UTC in
 * autumn (from EDT). */
#define NY_START_UTC (7 * AU_TIME_US_PER_HOUR)
#define NY_END_UTC (6 * AU_TIME_US_PER_HOUR)

int au_time_ny_offset(int64_t us)
{
    /* Compared as (day, time of day) pairs: no multiplication, so no overflow. */
    int64_t rem;
    int64_t days = au_time_floor_days(us, &rem);
    int64_t year, start, end;
    int month, day;
    au_time_civil_from_days(days, &year, &month, &day);
    if (!ny_dst_days(year, &start, &end)) return NY_EST;
    int started = days > start || (days == start && rem >= NY_START_UTC);
    int ended = days > end || (days == end && rem >= NY_END_UTC);
    return started && !ended ? NY_EDT : NY_EST;
}

int au_time_ny_transitions(int year, int64_t *start, int64_t *end)
{
    if (year > AU_TIME_YEAR_MAX) return AU_TIME_ERANGE;
    int64_t s, e;
    if (!ny_dst_days(year, &s, &e)) return 0;
    *start = s * AU_TIME_US_PER_DAY + NY_START_UTC;
    *end = e * AU_TIME_US_PER_DAY + NY_END_UTC;
    return 1;
}

int au_time_ny_to_utc(int64_t local, int ambiguous, int gap, int64_t *out, int *offset_min)
{
    if (local > INT64_MAX - 6 * AU_TIME_US_PER_HOUR || local < INT64_MIN + 6 * AU_TIME_US_PER_HOUR)
        return AU_TIME_ERANGE;
    /* Only two offsets exist, so try both: a reading is valid when the zone really
     * has that offset at the resulting instant. */
    int64_t as_edt = local - (int64_t)NY_EDT * AU_TIME_US_PER_MIN;
    int64_t as_est = local - (int64_t)NY_EST * AU_TIME_US_PER_MIN;
    int edt_ok = au_time_ny_offset(as_edt) == NY_EDT;
    int est_ok = au_time_ny_offset(as_est) == NY_EST;
    int64_t us;
    if (edt_ok && est_ok) {
        if (ambiguous == AU_TIME_AMBIG_EARLIER)
            us = as_edt;
        else if (ambiguous == AU_TIME_AMBIG_LATER)
            us = as_est;
        else
            return AU_TIME_EAMBIGUOUS;
    } else if (edt_ok) {
        us = as_edt;
    } else if (est_ok) {
        us = as_est;
    } else if (gap == AU_TIME_GAP_LATER) {
        us = as_est; /* the pre-jump offset lands after the jump */
    } else if (gap == AU_TIME_GAP_EARLIER) {
        us = as_edt;
    } else {
        return AU_TIME_ENONEXISTENT;
    }
    *out = us;
    *offset_min = au_time_ny_offset(us);
    return AU_TIME_OK;
}

/* ---- ISO 8601 parsing ---- */

typedef struct cursor {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
} cursor;

static int peek(const cursor *c)
{
    return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

/* "'x'", "end of text" or "byte 0x07": what was found, for messages. */
static const char *found(const cursor *c, char *buf, size_t n)
{
    int ch = peek(c);
    if (ch < 0)
        snprintf(buf, n, "the end of the text");
    else if (ch > 0x20 && ch < 0x7f && ch != '\'')
        snprintf(buf, n, "'%c'", ch);
    else if (ch == ' ')
        snprintf(buf, n, "a space");
    else
        snprintf(buf, n, "byte 0x%02x", ch);
    return buf;
}

static int expected(cursor *c, const char *what)
{
    char buf[24];
    au_errf(c->err, c->errlen, 0, "expected %s at byte %zu, found %s", what, c->pos + 1,
            found(c, buf, sizeof buf));
    return AU_TIME_EINVAL;
}

/* Exactly n digits into *val. */
static int digits(cursor *c, int n, int *val, const char *what)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        int ch = peek(c);
        if (ch < '0' || ch > '9') return expected(c, what);
        v = v * 10 + (ch - '0');
        c->pos++;
    }
    *val = v;
    return AU_TIME_OK;
}

static int accept(cursor *c, char a, char b)
{
    int ch = peek(c);
    if (ch >= 0 && (ch == a || ch == b)) {
        c->pos++;
        return 1;
    }
    return 0;
}

static int out_of_range(cursor *c, size_t at, const char *what, int v, int lo, int hi,
                        const char *note)
{
    au_errf(c->err, c->errlen, 0, "%s %02d is out of range %02d..%02d%s at byte %zu", what, v, lo,
            hi, note, at + 1);
    return AU_TIME_EINVAL;
}

/* A field of n digits in lo..hi, its range error pointing at its first byte. */
static int field(cursor *c, int n, int lo, int hi, const char *what, const char *digits_what,
                 const char *note, int *val)
{
    size_t at = c->pos;
    if (digits(c, n, val, digits_what) != AU_TIME_OK) return AU_TIME_EINVAL;
    if (*val < lo || *val > hi) return out_of_range(c, at, what, *val, lo, hi, note);
    return AU_TIME_OK;
}

static int parse_date(cursor *c, int *y, int *m, int *d)
{
    if (digits(c, 4, y, "a 4-digit year") != AU_TIME_OK) return AU_TIME_EINVAL;
    if (!accept(c, '-', '-')) return expected(c, "'-' after the year");
    if (field(c, 2, 1, 12, "month", "a 2-digit month", "", m) != AU_TIME_OK) return AU_TIME_EINVAL;
    if (!accept(c, '-', '-')) return expected(c, "'-' after the month");
    size_t at = c->pos;
    if (digits(c, 2, d, "a 2-digit day") != AU_TIME_OK) return AU_TIME_EINVAL;
    int dim = au_time_days_in_month(*y, *m);
    if (*d < 1 || *d > dim) {
        au_errf(c->err, c->errlen, 0, "day %02d is out of range 01..%02d for %04d-%02d at byte %zu",
                *d, dim, *y, *m, at + 1);
        return AU_TIME_EINVAL;
    }
    return AU_TIME_OK;
}

/* HH:MM[:SS[(.|,)f{1,9}]], the fraction truncated to microseconds. */
static int parse_clock(cursor *c, int *h, int *mi, int *s, int *us)
{
    *s = *us = 0;
    if (field(c, 2, 0, 23, "hour", "a 2-digit hour", "", h) != AU_TIME_OK) return AU_TIME_EINVAL;
    if (!accept(c, ':', ':')) return expected(c, "':' after the hour");
    if (field(c, 2, 0, 59, "minute", "a 2-digit minute", "", mi) != AU_TIME_OK)
        return AU_TIME_EINVAL;
    if (!accept(c, ':', ':')) return AU_TIME_OK;
    if (field(c, 2, 0, 59, "second", "a 2-digit second", " (no leap seconds)", s) != AU_TIME_OK)
        return AU_TIME_EINVAL;
    if (!accept(c, '.', ',')) return AU_TIME_OK;
    int n = 0, frac = 0;
    while (peek(c) >= '0' && peek(c) <= '9') {
        if (n == 9) {
            au_errf(c->err, c->errlen, 0, "more than 9 fractional digits at byte %zu", c->pos + 1);
            return AU_TIME_EINVAL;
        }
        if (n < 6) frac = frac * 10 + (peek(c) - '0');
        n++;
        c->pos++;
    }
    if (n == 0) return expected(c, "a digit after the decimal sign");
    for (int i = n; i < 6; i++) frac *= 10;
    *us = frac;
    return AU_TIME_OK;
}

/* Z | (+|-)HH[[:]MM] */
static int parse_offset(cursor *c, int *offset, int *has_offset)
{
    *offset = 0;
    *has_offset = 0;
    if (accept(c, 'Z', 'z')) {
        *has_offset = 1;
        return AU_TIME_OK;
    }
    int ch = peek(c);
    if (ch != '+' && ch != '-') return AU_TIME_OK;
    c->pos++;
    int h, m = 0;
    if (field(c, 2, 0, 23, "offset hour", "a 2-digit offset hour", "", &h) != AU_TIME_OK)
        return AU_TIME_EINVAL;
    int colon = accept(c, ':', ':');
    int d = peek(c);
    if (colon || (d >= '0' && d <= '9')) {
        if (field(c, 2, 0, 59, "offset minute", "a 2-digit offset minute", "", &m) != AU_TIME_OK)
            return AU_TIME_EINVAL;
    }
    *offset = (ch == '-' ? -1 : 1) * (h * 60 + m);
    *has_offset = 1;
    return AU_TIME_OK;
}

int au_time_parse_iso(const char *s, size_t len, au_time_parsed *out, char *err, size_t errlen)
{
    cursor c = {s, len, 0, err, errlen};
    if (len == 0) {
        au_errf(err, errlen, 0, "empty text, expected an ISO 8601 date or time");
        return AU_TIME_EINVAL;
    }
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, us = 0;
    out->has_time = 0;
    out->has_offset = 0;
    out->offset = 0;
    if (parse_date(&c, &y, &mo, &d) != AU_TIME_OK) return AU_TIME_EINVAL;
    if (peek(&c) >= 0) {
        if (!accept(&c, 'T', 't') && !accept(&c, ' ', ' '))
            return expected(&c, "'T' or a space before the time, or the end");
        if (parse_clock(&c, &h, &mi, &sec, &us) != AU_TIME_OK) return AU_TIME_EINVAL;
        out->has_time = 1;
        if (parse_offset(&c, &out->offset, &out->has_offset) != AU_TIME_OK) return AU_TIME_EINVAL;
    }
    if (peek(&c) >= 0)
        return expected(&c, out->has_time ? "the end after the time" : "the end after the date");
    return au_time_compose(y, mo, d, h, mi, sec, us, &out->local, err, errlen);
}

/* ---- ISO 8601 formatting ---- */

static int zone_offset(int64_t us, int zone, int offset_min, int *offset, int *dst)
{
    *dst = 0;
    switch (zone) {
    case AU_TIME_ZONE_UTC:
        *offset = 0;
        return AU_TIME_OK;
    case AU_TIME_ZONE_FIXED:
        if (offset_min < -AU_TIME_OFFSET_MAX || offset_min > AU_TIME_OFFSET_MAX)
            return AU_TIME_EINVAL;
        *offset = offset_min;
        return AU_TIME_OK;
    case AU_TIME_ZONE_NY:
        *offset = au_time_ny_offset(us);
        *dst = *offset == NY_EDT;
        return AU_TIME_OK;
    default:
        return AU_TIME_EINVAL;
    }
}

int au_time_format_iso(int64_t us, int zone, int offset_min, int frac, char *buf, size_t buflen)
{
    int offset, dst;
    if (buf == NULL || buflen < AU_TIME_ISO_BUFLEN) return AU_TIME_EINVAL;
    if (frac != AU_TIME_FRAC_NONE && frac != AU_TIME_FRAC_ALWAYS && frac != AU_TIME_FRAC_AUTO)
        return AU_TIME_EINVAL;
    if (zone_offset(us, zone, offset_min, &offset, &dst) != AU_TIME_OK) return AU_TIME_EINVAL;
    au_time_fields f;
    au_time_split(us, offset, &f);
    if (f.year < AU_TIME_YEAR_MIN || f.year > AU_TIME_YEAR_MAX) return AU_TIME_ERANGE;
    int n = snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d", f.year, f.month, f.day, f.hour,
                     f.min, f.sec);
    if (frac == AU_TIME_FRAC_ALWAYS || (frac == AU_TIME_FRAC_AUTO && f.usec != 0))
        n += snprintf(buf + n, buflen - (size_t)n, ".%06d", f.usec);
    if (zone == AU_TIME_ZONE_UTC) {
        n += snprintf(buf + n, buflen - (size_t)n, "Z");
    } else {
        int a = offset < 0 ? -offset : offset;
        n += snprintf(buf + n, buflen - (size_t)n, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 60,
                      a % 60);
    }
    return n;
}

/* ---- FFI surface ---- */

int au_ffi_time_now(int64_t *out)
{
    return clock_us(CLOCK_REALTIME, out);
}

int au_ffi_time_monotonic(int64_t *out)
{
    return clock_us(CLOCK_MONOTONIC, out);
}

int au_ffi_time_ny_offset(int64_t us, int *offset_min)
{
    *offset_min = au_time_ny_offset(us);
    return AU_TIME_OK;
}

int au_ffi_time_ny_transitions(int year, int64_t *start, int64_t *end)
{
    return au_time_ny_transitions(year, start, end);
}

int au_ffi_time_weekday(int64_t us, int zone, int offset_min, int *wday)
{
    int offset, dst;
    if (zone_offset(us, zone, offset_min, &offset, &dst) != AU_TIME_OK) return AU_TIME_EINVAL;
    int64_t rem;
    int64_t days = au_time_floor_days(us, &rem);
    rem += (int64_t)offset * AU_TIME_US_PER_MIN;
    days += floor_div(rem, AU_TIME_US_PER_DAY);
    *wday = au_time_weekday(days);
    return AU_TIME_OK;
}

int au_ffi_time_split(int64_t us, int zone, int offset_min, au_time_fields *out)
{
    int offset, dst;
    if (zone_offset(us, zone, offset_min, &offset, &dst) != AU_TIME_OK) return AU_TIME_EINVAL;
    au_time_split(us, offset, out);
    out->dst = dst;
    return AU_TIME_OK;
}

/* A wall time that New York skips or repeats, explained. */
static void ny_policy_error(int rc, int64_t local, char *errmsg, size_t errlen)
{
    au_time_fields f;
    au_time_split(local, 0, &f);
    if (rc == AU_TIME_ENONEXISTENT)
        au_errf(errmsg, errlen, 0,
                "%04d-%02d-%02dT%02d:%02d:%02d does not exist in America/New_York "
                "(clocks jump from 02:00 EST to 03:00 EDT)",
                f.year, f.month, f.day, f.hour, f.min, f.sec);
    else if (rc == AU_TIME_EAMBIGUOUS)
        au_errf(errmsg, errlen, 0,
                "%04d-%02d-%02dT%02d:%02d:%02d is ambiguous in America/New_York "
                "(it occurs in EDT and again in EST)",
                f.year, f.month, f.day, f.hour, f.min, f.sec);
    else
        au_errf(errmsg, errlen, 0, "time out of range");
}

/* Place a local wall time in zone; err for the New York policy failures. */
static int local_to_utc(int64_t local, int zone, int offset_min, int ambiguous, int gap,
                        int64_t *out, char *errmsg, size_t errlen)
{
    int offset;
    switch (zone) {
    case AU_TIME_ZONE_UTC:
        *out = local;
        return AU_TIME_OK;
    case AU_TIME_ZONE_FIXED:
        if (offset_min < -AU_TIME_OFFSET_MAX || offset_min > AU_TIME_OFFSET_MAX) {
            au_errf(errmsg, errlen, 0, "offset %d minutes is out of range -%d..%d", offset_min,
                    AU_TIME_OFFSET_MAX, AU_TIME_OFFSET_MAX);
            return AU_TIME_EINVAL;
        }
        *out = local - (int64_t)offset_min * AU_TIME_US_PER_MIN;
        return AU_TIME_OK;
    case AU_TIME_ZONE_NY: {
        if (ambiguous < AU_TIME_AMBIG_EARLIER || ambiguous > AU_TIME_AMBIG_ERROR || gap < AU_TIME_GAP_ERROR
            || gap > AU_TIME_GAP_EARLIER) {
            au_errf(errmsg, errlen, 0, "unknown ambiguous/nonexistent policy %d/%d", ambiguous, gap);
            return AU_TIME_EINVAL;
        }
        int rc = au_time_ny_to_utc(local, ambiguous, gap, out, &offset);
        if (rc != AU_TIME_OK) ny_policy_error(rc, local, errmsg, errlen);
        return rc;
    }
    default:
        au_errf(errmsg, errlen, 0, "unknown zone %d", zone);
        return AU_TIME_EINVAL;
    }
}

int au_ffi_time_compose(int year, int month, int day, int hour, int min, int sec, int usec,
                        int zone, int offset_min, int ambiguous, int gap, int64_t *out,
                        char *errmsg, size_t errlen)
{
    int64_t local;
    int rc = au_time_compose(year, month, day, hour, min, sec, usec, &local, errmsg, errlen);
    if (rc != AU_TIME_OK) return rc;
    return local_to_utc(local, zone, offset_min, ambiguous, gap, out, errmsg, errlen);
}

int au_ffi_time_parse(const char *s, size_t len, int zone, int offset_min, int ambiguous,
                      int gap, int64_t *out, char *errmsg, size_t errlen)
{
    au_time_parsed p;
    if (s == NULL) {
        au_errf(errmsg, errlen, 0, "no text");
        return AU_TIME_EINVAL;
    }
    int rc = au_time_parse_iso(s, len, &p, errmsg, errlen);
    if (rc != AU_TIME_OK) return rc;
    if (p.has_offset) {
        *out = p.local - (int64_t)p.offset * AU_TIME_US_PER_MIN;
        return AU_TIME_OK;
    }
    return local_to_utc(p.local, zone, offset_min, ambiguous, gap, out, errmsg, errlen);
}

int au_ffi_time_format(int64_t us, int zone, int offset_min, int frac, char *buf, size_t buflen)
{
    int n = au_time_format_iso(us, zone, offset_min, frac, buf, buflen);
    return n < 0 ? n : AU_TIME_OK;
}
