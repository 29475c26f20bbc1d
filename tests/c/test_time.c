/* test_time.c — sys/autime: calendar, New York rule, ISO parse/format, FFI surface.
 * Expected instants were taken from the system tzdata (zdump) and GNU date, not
 * computed with the code under test. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "sys/autime.h"
#include "tap.h"

#define SEC AU_TIME_US_PER_SEC
#define HOUR AU_TIME_US_PER_HOUR

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    int64_t out = 0;
    if (au_time_compose(y, mo, d, h, mi, s, 0, &out, NULL, 0) != AU_TIME_OK) abort();
    return out;
}

static void test_calendar(void)
{
    is_int(au_time_days_from_civil(1970, 1, 1), 0, "1970-01-01 is day 0");
    is_int(au_time_days_from_civil(1969, 12, 31), -1, "1969-12-31 is day -1");
    is_int(au_time_days_from_civil(2000, 3, 1) * 86400, 951868800, "2000-03-01");
    is_int(au_time_days_from_civil(1900, 3, 1) * 86400, -2203891200LL, "1900-03-01");
    is_int(au_time_days_from_civil(2100, 3, 1) * 86400, 4107542400LL, "2100-03-01");
    is_int(au_time_days_from_civil(1600, 1, 1) * 86400, -11676096000LL, "1600-01-01");
    is_int(au_time_days_from_civil(0, 3, 1) * 86400, -62162035200LL, "0000-03-01");
    is_int(utc(9999, 12, 31, 23, 59, 59) / SEC, 253402300799LL, "9999-12-31T23:59:59");

    ok(au_time_is_leap(2000), "2000 is a leap year (divisible by 400)");
    ok(!au_time_is_leap(1900), "1900 is not (divisible by 100)");
    ok(!au_time_is_leap(2100), "2100 is not");
    ok(au_time_is_leap(2024) && !au_time_is_leap(2023), "2024 is, 2023 is not");
    ok(au_time_is_leap(0) && au_time_is_leap(-4) && !au_time_is_leap(-100), "years 0, -4, -100");
    is_int(au_time_days_in_month(2000, 2), 29, "Feb 2000 has 29 days");
    is_int(au_time_days_in_month(1900, 2), 28, "Feb 1900 has 28 days");
    is_int(au_time_days_in_month(2100, 2), 28, "Feb 2100 has 28 days");
    is_int(au_time_days_in_month(2023, 13), 0, "month 13 has no days");
    is_int(au_time_days_from_civil(2000, 3, 1) - au_time_days_from_civil(2000, 2, 28), 2,
           "2000-02-29 exists between Feb 28 and Mar 1");
    is_int(au_time_days_from_civil(2100, 3, 1) - au_time_days_from_civil(2100, 2, 28), 1,
           "2100 goes from Feb 28 to Mar 1");

    is_int(au_time_weekday(0), 4, "1970-01-01 was a Thursday");
    is_int(au_time_weekday(au_time_days_from_civil(2000, 1, 1)), 6, "2000-01-01 was a Saturday");
    is_int(au_time_weekday(au_time_days_from_civil(2024, 3, 10)), 7, "2024-03-10 was a Sunday");
    is_int(au_time_weekday(au_time_days_from_civil(1900, 1, 1)), 1, "1900-01-01 was a Monday");
    is_int(au_time_weekday(-1), 3, "1969-12-31 was a Wednesday");

    /* Every day of 0000..9999 and well beyond both ways: civil -> days -> civil. */
    int bad = 0;
    int64_t prev_y = 0;
    int prev_m = 0, prev_d = 0;
    for (int64_t z = -1000000; z <= 3000000 && bad < 5; z++) {
        int64_t y;
        int m, d;
        au_time_civil_from_days(z, &y, &m, &d);
        if (au_time_days_from_civil(y, m, d) != z || d < 1 || d > au_time_days_in_month(y, m)) {
            printf("# day %" PRId64 " -> %" PRId64 "-%d-%d\n", z, y, m, d);
            bad++;
        }
        /* consecutive days must be consecutive dates */
        if (z > -1000000 && !(d == prev_d + 1 && m == prev_m && y == prev_y)
            && !(d == 1 && ((m == prev_m + 1 && y == prev_y) || (m == 1 && prev_m == 12 && y == prev_y + 1)))) {
            printf("# %" PRId64 "-%d-%d follows %" PRId64 "-%d-%d\n", y, m, d, prev_y, prev_m, prev_d);
            bad++;
        }
        prev_y = y, prev_m = m, prev_d = d;
    }
    is_int(bad, 0, "4 million consecutive days round-trip and follow each other");

    /* Far outside 0..9999 the arithmetic still holds. */
    int64_t y;
    int m, d;
    au_time_civil_from_days(au_time_days_from_civil(-200000, 2, 29), &y, &m, &d);
    ok(y == -200000 && m == 2 && d == 29, "year -200000 Feb 29 round-trips");
    au_time_civil_from_days(au_time_days_from_civil(250000, 12, 31), &y, &m, &d);
    ok(y == 250000 && m == 12 && d == 31, "year 250000 Dec 31 round-trips");
}

static void test_split(void)
{
    au_time_fields f;
    au_time_split(-1, 0, &f);
    ok(f.year == 1969 && f.month == 12 && f.day == 31 && f.hour == 23 && f.min == 59 && f.sec == 59
           && f.usec == 999999 && f.yday == 365 && f.wday == 3,
       "-1 us is 1969-12-31T23:59:59.999999, a Wednesday, day 365");
    au_time_split(951782400LL * SEC, 0, &f); /* 2000-02-29 */
    ok(f.year == 2000 && f.month == 2 && f.day == 29 && f.yday == 60 && f.wday == 2,
       "2000-02-29 is day 60, a Tuesday");
    au_time_split(0, -300, &f);
    ok(f.year == 1969 && f.month == 12 && f.day == 31 && f.hour == 19 && f.offset == -300,
       "epoch at -05:00 is 1969-12-31T19:00");
    au_time_split(0, 1439, &f);
    ok(f.year == 1970 && f.day == 1 && f.hour == 23 && f.min == 59, "epoch at +23:59");
    au_time_split(INT64_MAX, AU_TIME_OFFSET_MAX, &f);
    ok(f.year == 294247 && f.month == 1 && f.day == 11, "INT64_MAX +23:59 splits without overflow");
    au_time_split(INT64_MIN, -AU_TIME_OFFSET_MAX, &f);
    ok(f.year == -290308 && f.month == 12 && f.day == 20, "INT64_MIN -23:59 splits without overflow");
}

static void test_compose(void)
{
    char err[128];
    int64_t out = 0;
    is_int(au_time_compose(2000, 2, 29, 0, 0, 0, 0, &out, err, sizeof err), AU_TIME_OK,
           "2000-02-29 composes");
    is_int(au_time_compose(1900, 2, 29, 0, 0, 0, 0, &out, err, sizeof err), AU_TIME_EINVAL,
           "1900-02-29 does not");
    is_str(err, "day 29 is out of range 1..28 for 1900-02", "and says why");
    is_int(au_time_compose(2100, 2, 29, 0, 0, 0, 0, &out, err, sizeof err), AU_TIME_EINVAL,
           "2100-02-29 does not");
    is_int(au_time_compose(2023, 4, 31, 0, 0, 0, 0, &out, err, sizeof err), AU_TIME_EINVAL,
           "April 31 does not");
    struct {
        int y, mo, d, h, mi, s, us;
        const char *msg;
    } bad[] = {
        {-1, 1, 1, 0, 0, 0, 0, "year -1 is out of range 0..9999"},
        {10000, 1, 1, 0, 0, 0, 0, "year 10000 is out of range 0..9999"},
        {2024, 0, 1, 0, 0, 0, 0, "month 0 is out of range 1..12"},
        {2024, 13, 1, 0, 0, 0, 0, "month 13 is out of range 1..12"},
        {2024, 1, 0, 0, 0, 0, 0, "day 0 is out of range 1..31 for 2024-01"},
        {2024, 1, 1, 24, 0, 0, 0, "hour 24 is out of range 0..23"},
        {2024, 1, 1, -1, 0, 0, 0, "hour -1 is out of range 0..23"},
        {2024, 1, 1, 0, 60, 0, 0, "minute 60 is out of range 0..59"},
        {2024, 1, 1, 0, 0, 60, 0, "second 60 is out of range 0..59"},
        {2024, 1, 1, 0, 0, 0, 1000000, "microsecond 1000000 is out of range 0..999999"},
        {2024, 1, 1, 0, 0, 0, -1, "microsecond -1 is out of range 0..999999"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = au_time_compose(bad[i].y, bad[i].mo, bad[i].d, bad[i].h, bad[i].mi, bad[i].s,
                                 bad[i].us, &out, err, sizeof err);
        ok(rc == AU_TIME_EINVAL && strcmp(err, bad[i].msg) == 0, "compose rejects: %s", bad[i].msg);
        if (rc != AU_TIME_EINVAL || strcmp(err, bad[i].msg) != 0) printf("#   got %d \"%s\"\n", rc, err);
    }
    is_int(au_time_compose(2024, 13, 1, 0, 0, 0, 0, &out, NULL, 0), AU_TIME_EINVAL,
           "a NULL error buffer is allowed");
}

/* Transition instants (UTC seconds) from zdump -v America/New_York. */
static const struct {
    int year;
    int64_t start, end;
} ny_known[] = {
    {1967, -84387600, -68666400},   {1974, 126687600, 152085600},   {1975, 162370800, 183535200},
    {1976, 199263600, 215589600},   {1986, 514969200, 530690400},   {1987, 544604400, 562140000},
    {2006, 1143961200, 1162101600}, {2007, 1173596400, 1194156000}, {2024, 1710054000, 1730613600},
    {2037, 2120108400, 2140668000},
};

static void test_ny_rule(void)
{
    for (size_t i = 0; i < sizeof ny_known / sizeof ny_known[0]; i++) {
        int y = ny_known[i].year;
        int64_t s = ny_known[i].start * SEC, e = ny_known[i].end * SEC, gs = 0, ge = 0;
        int rc = au_time_ny_transitions(y, &gs, &ge);
        ok(rc == 1 && gs == s && ge == e, "%d: DST starts and ends at the tzdata instants", y);
        ok(au_time_ny_offset(s - 1) == -300 && au_time_ny_offset(s) == -240,
           "%d: EST until 1 us before the start, EDT from it", y);
        ok(au_time_ny_offset(e - 1) == -240 && au_time_ny_offset(e) == -300,
           "%d: EDT until 1 us before the end, EST from it", y);
    }
    int64_t s = 0, e = 0;
    is_int(au_time_ny_transitions(1966, &s, &e), 0, "1966: no DST by our rule");
    is_int(au_time_ny_transitions(10000, &s, &e), AU_TIME_ERANGE, "10000: beyond the range");
    is_int(au_time_ny_offset(utc(1966, 7, 1, 12, 0, 0)), -300, "July 1966 is EST (pre-1967 rule)");
    is_int(au_time_ny_offset(utc(1900, 7, 1, 12, 0, 0)), -300, "July 1900 is EST");
    is_int(au_time_ny_offset(utc(1974, 1, 5, 12, 0, 0)), -300, "1974-01-05 is EST");
    is_int(au_time_ny_offset(utc(1974, 1, 7, 12, 0, 0)), -240, "1974-01-07 is EDT (energy crisis)");
    is_int(au_time_ny_offset(utc(1975, 2, 22, 12, 0, 0)), -300, "1975-02-22 is EST");
    is_int(au_time_ny_offset(utc(1975, 3, 1, 12, 0, 0)), -240, "1975-03-01 is EDT (energy crisis)");
    is_int(au_time_ny_offset(utc(2006, 3, 20, 12, 0, 0)), -300, "2006-03-20 is EST (old rule)");
    is_int(au_time_ny_offset(utc(2007, 3, 20, 12, 0, 0)), -240, "2007-03-20 is EDT (new rule)");
    is_int(au_time_ny_offset(utc(2006, 11, 1, 12, 0, 0)), -300, "2006-11-01 is EST");
    is_int(au_time_ny_offset(utc(2007, 11, 1, 12, 0, 0)), -240, "2007-11-01 is EDT");
    is_int(au_time_ny_offset(utc(2200, 7, 1, 12, 0, 0)), -240, "2200 still follows the 2007 rule");
    is_int(au_time_ny_offset(INT64_MAX), -300, "INT64_MAX: no overflow");
    is_int(au_time_ny_offset(INT64_MIN), -300, "INT64_MIN: no overflow");
}

static void test_ny_local(void)
{
    int64_t out = 0;
    int off = 0;
    int64_t l = utc(2024, 3, 10, 2, 30, 0); /* skipped */
    is_int(au_time_ny_to_utc(l, AU_TIME_AMBIG_EARLIER, AU_TIME_GAP_ERROR, &out, &off),
           AU_TIME_ENONEXISTENT, "2024-03-10 02:30 New York does not exist");
    is_int(au_time_ny_to_utc(l, AU_TIME_AMBIG_EARLIER, AU_TIME_GAP_LATER, &out, &off), AU_TIME_OK,
           "gap policy later succeeds");
    ok(out == utc(2024, 3, 10, 7, 30, 0) && off == -240, "  -> 07:30Z, i.e. 03:30 EDT");
    is_int(au_time_ny_to_utc(l, AU_TIME_AMBIG_EARLIER, AU_TIME_GAP_EARLIER, &out, &off), AU_TIME_OK,
           "gap policy earlier succeeds");
    ok(out == utc(2024, 3, 10, 6, 30, 0) && off == -300, "  -> 06:30Z, i.e. 01:30 EST");
    is_int(au_time_ny_to_utc(utc(2024, 3, 10, 2, 0, 0), 0, AU_TIME_GAP_ERROR, &out, &off),
           AU_TIME_ENONEXISTENT, "02:00:00 itself is skipped");
    is_int(au_time_ny_to_utc(utc(2024, 3, 10, 3, 0, 0), 0, AU_TIME_GAP_ERROR, &out, &off), AU_TIME_OK,
           "03:00 exists");
    ok(out == utc(2024, 3, 10, 7, 0, 0) && off == -240, "  -> 07:00Z EDT");
    is_int(au_time_ny_to_utc(utc(2024, 3, 10, 1, 59, 59) + 999999, 0, 0, &out, &off), AU_TIME_OK,
           "01:59:59.999999 exists");
    ok(out == utc(2024, 3, 10, 6, 59, 59) + 999999 && off == -300, "  -> 06:59:59.999999Z EST");

    l = utc(2024, 11, 3, 1, 30, 0); /* repeated */
    is_int(au_time_ny_to_utc(l, AU_TIME_AMBIG_ERROR, 0, &out, &off), AU_TIME_EAMBIGUOUS,
           "2024-11-03 01:30 New York is ambiguous");
    au_time_ny_to_utc(l, AU_TIME_AMBIG_EARLIER, 0, &out, &off);
    ok(out == utc(2024, 11, 3, 5, 30, 0) && off == -240, "earlier -> 05:30Z EDT");
    au_time_ny_to_utc(l, AU_TIME_AMBIG_LATER, 0, &out, &off);
    ok(out == utc(2024, 11, 3, 6, 30, 0) && off == -300, "later -> 06:30Z EST");
    is_int(au_time_ny_to_utc(utc(2024, 11, 3, 0, 59, 59), AU_TIME_AMBIG_ERROR, 0, &out, &off),
           AU_TIME_OK, "00:59:59 is not ambiguous");
    is_int(au_time_ny_to_utc(utc(2024, 11, 3, 1, 0, 0), AU_TIME_AMBIG_ERROR, 0, &out, &off),
           AU_TIME_EAMBIGUOUS, "01:00:00 is");
    is_int(au_time_ny_to_utc(utc(2024, 11, 3, 2, 0, 0), AU_TIME_AMBIG_ERROR, 0, &out, &off),
           AU_TIME_OK, "02:00:00 is not");
    ok(out == utc(2024, 11, 3, 7, 0, 0) && off == -300, "  -> 07:00Z EST");

    /* The energy-crisis start and the 1987-2006 rule. */
    is_int(au_time_ny_to_utc(utc(1974, 1, 6, 2, 30, 0), 0, 0, &out, &off), AU_TIME_ENONEXISTENT,
           "1974-01-06 02:30 does not exist");
    is_int(au_time_ny_to_utc(utc(1975, 2, 23, 2, 30, 0), 0, 0, &out, &off), AU_TIME_ENONEXISTENT,
           "1975-02-23 02:30 does not exist");
    is_int(au_time_ny_to_utc(utc(1999, 10, 31, 1, 30, 0), AU_TIME_AMBIG_ERROR, 0, &out, &off),
           AU_TIME_EAMBIGUOUS, "1999-10-31 01:30 is ambiguous");
    is_int(au_time_ny_to_utc(utc(1966, 4, 24, 2, 30, 0), 0, 0, &out, &off), AU_TIME_OK,
           "1966-04-24 02:30 exists (EST all year)");

    /* Round trip: every 7 minutes and 13 seconds through 2023 and 1975. */
    int bad = 0;
    for (int yr = 0; yr < 2; yr++) {
        int64_t from = utc(yr ? 2023 : 1975, 1, 1, 0, 0, 0), to = utc(yr ? 2024 : 1976, 1, 1, 0, 0, 0);
        for (int64_t u = from; u < to; u += 433 * SEC) {
            int o = au_time_ny_offset(u);
            int64_t loc = u + (int64_t)o * AU_TIME_US_PER_MIN, back;
            int amb = o == -240 ? AU_TIME_AMBIG_EARLIER : AU_TIME_AMBIG_LATER;
            if (au_time_ny_to_utc(loc, amb, AU_TIME_GAP_ERROR, &back, &off) != AU_TIME_OK || back != u
                || off != o)
                bad++;
        }
    }
    is_int(bad, 0, "UTC -> New York -> UTC round-trips through 1975 and 2023");

    is_int(au_time_ny_to_utc(INT64_MAX, 0, 0, &out, &off), AU_TIME_ERANGE, "INT64_MAX local: ERANGE");
    is_int(au_time_ny_to_utc(INT64_MIN, 0, 0, &out, &off), AU_TIME_ERANGE, "INT64_MIN local: ERANGE");
}

static int64_t parse_ok(const char *s, int *has_offset)
{
    au_time_parsed p;
    char err[160] = "";
    if (au_time_parse_iso(s, strlen(s), &p, err, sizeof err) != AU_TIME_OK) {
        printf("# parse \"%s\": %s\n", s, err);
        return INT64_MIN;
    }
    if (has_offset) *has_offset = p.has_offset;
    return p.local - (int64_t)p.offset * AU_TIME_US_PER_MIN;
}

/* Test names stay on one TAP line: control bytes are shown as \xNN. */
static const char *printable(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (; *s && o + 5 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

static void test_parse(void)
{
    int64_t base = utc(2024, 3, 10, 12, 34, 56);
    int has = -1;
    is_int(parse_ok("2024-03-10", &has), utc(2024, 3, 10, 0, 0, 0), "date only");
    is_int(has, 0, "  has no offset");
    is_int(parse_ok("2024-03-10T12:34:56Z", &has), base, "Z");
    is_int(has, 1, "  has an offset");
    is_int(parse_ok("2024-03-10t12:34:56z", NULL), base, "lower-case t and z");
    is_int(parse_ok("2024-03-10 12:34:56", NULL), base, "space separator, no offset");
    is_int(parse_ok("2024-03-10T12:34", NULL), base - 56 * SEC, "no seconds");
    is_int(parse_ok("2024-03-10T08:34:56-04:00", NULL), base, "-04:00");
    is_int(parse_ok("2024-03-10T08:34:56-0400", NULL), base, "-0400");
    is_int(parse_ok("2024-03-10T08:34:56-04", NULL), base, "-04");
    is_int(parse_ok("2024-03-10T18:04:56+05:30", NULL), base, "+05:30");
    is_int(parse_ok("2024-03-10T12:34:56+00:00", NULL), base, "+00:00");
    is_int(parse_ok("2024-03-10T12:34:56-00:00", NULL), base, "-00:00 is UTC");
    is_int(parse_ok("2024-03-11T12:33:56+23:59", NULL), base, "+23:59");
    is_int(parse_ok("2024-03-10T12:34:56.5Z", NULL), base + 500000, ".5");
    is_int(parse_ok("2024-03-10T12:34:56,25Z", NULL), base + 250000, "comma decimal sign");
    is_int(parse_ok("2024-03-10T12:34:56.123456Z", NULL), base + 123456, "6 digits");
    is_int(parse_ok("2024-03-10T12:34:56.123456789Z", NULL), base + 123456, "9 digits truncate");
    is_int(parse_ok("2024-03-10T12:34:56.999999999Z", NULL), base + 999999, "truncate, not round");
    is_int(parse_ok("2024-03-10T12:34:56.000001-05:00", NULL), base + 5 * HOUR + 1, "frac + offset");
    is_int(parse_ok("1969-12-31T23:59:59.999999Z", NULL), -1, "negative times");
    is_int(parse_ok("0000-01-01", NULL), utc(0, 1, 1, 0, 0, 0), "year 0000");
    is_int(parse_ok("9999-12-31T23:59:59.999999Z", NULL), utc(9999, 12, 31, 23, 59, 59) + 999999,
           "year 9999");
    is_int(parse_ok("2000-02-29", NULL), utc(2000, 2, 29, 0, 0, 0), "2000-02-29");

    struct {
        const char *in, *msg;
    } bad[] = {
        {"", "empty text, expected an ISO 8601 date or time"},
        {"2024", "expected '-' after the year at byte 5, found the end of the text"},
        {"24-03-10", "expected a 4-digit year at byte 3, found '-'"},
        {" 2024-03-10", "expected a 4-digit year at byte 1, found a space"},
        {"2024/03/10", "expected '-' after the year at byte 5, found '/'"},
        {"2024-3-10", "expected a 2-digit month at byte 7, found '-'"},
        {"2024-13-01", "month 13 is out of range 01..12 at byte 6"},
        {"2024-00-01", "month 00 is out of range 01..12 at byte 6"},
        {"2023-02-29", "day 29 is out of range 01..28 for 2023-02 at byte 9"},
        {"1900-02-29", "day 29 is out of range 01..28 for 1900-02 at byte 9"},
        {"2100-02-29", "day 29 is out of range 01..28 for 2100-02 at byte 9"},
        {"2024-02-30", "day 30 is out of range 01..29 for 2024-02 at byte 9"},
        {"2024-04-31", "day 31 is out of range 01..30 for 2024-04 at byte 9"},
        {"2024-01-00", "day 00 is out of range 01..31 for 2024-01 at byte 9"},
        {"2024-01-01x", "expected 'T' or a space before the time, or the end at byte 11, found 'x'"},
        {"2024-01-01Z", "expected 'T' or a space before the time, or the end at byte 11, found 'Z'"},
        {"2024-01-01T", "expected a 2-digit hour at byte 12, found the end of the text"},
        {"2024-01-01T24:00", "hour 24 is out of range 00..23 at byte 12"},
        {"2024-01-01T9:00", "expected a 2-digit hour at byte 13, found ':'"},
        {"2024-01-01T12", "expected ':' after the hour at byte 14, found the end of the text"},
        {"2024-01-01T12:60", "minute 60 is out of range 00..59 at byte 15"},
        {"2024-01-01T12:00:60", "second 60 is out of range 00..59 (no leap seconds) at byte 18"},
        {"2024-01-01T12:00:5", "expected a 2-digit second at byte 19, found the end of the text"},
        {"2024-01-01T12:00:00.", "expected a digit after the decimal sign at byte 21, found the end of the text"},
        {"2024-01-01T12:00:00.1234567890Z", "more than 9 fractional digits at byte 30"},
        {"2024-01-01T12:00.5", "expected the end after the time at byte 17, found '.'"},
        {"2024-01-01T12:00:00+24:00", "offset hour 24 is out of range 00..23 at byte 21"},
        {"2024-01-01T12:00:00+05:60", "offset minute 60 is out of range 00..59 at byte 24"},
        {"2024-01-01T12:00:00+5", "expected a 2-digit offset hour at byte 22, found the end of the text"},
        {"2024-01-01T12:00:00+05:", "expected a 2-digit offset minute at byte 24, found the end of the text"},
        {"2024-01-01T12:00:00+053", "expected a 2-digit offset minute at byte 24, found the end of the text"},
        {"2024-01-01T12:00:00Zjunk", "expected the end after the time at byte 21, found 'j'"},
        {"2024-01-01T12:00:00 Z", "expected the end after the time at byte 20, found a space"},
        {"2024-01-01T12:00:00\n", "expected the end after the time at byte 20, found byte 0x0a"},
        {"2024-01-01\r", "expected 'T' or a space before the time, or the end at byte 11, found byte 0x0d"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        au_time_parsed p;
        char err[160] = "";
        int rc = au_time_parse_iso(bad[i].in, strlen(bad[i].in), &p, err, sizeof err);
        char name[64];
        ok(rc == AU_TIME_EINVAL && strcmp(err, bad[i].msg) == 0, "parse rejects \"%s\"",
           printable(bad[i].in, name, sizeof name));
        if (rc != AU_TIME_EINVAL || strcmp(err, bad[i].msg) != 0)
            printf("#   got %d \"%s\"\n#   expected \"%s\"\n", rc, err, bad[i].msg);
    }

    /* Length is honoured: a NUL inside is trailing garbage, text past len is unseen. */
    au_time_parsed p;
    char err[160];
    is_int(au_time_parse_iso("2024-01-01\0T", 12, &p, err, sizeof err), AU_TIME_EINVAL,
           "an embedded NUL is rejected");
    is_int(au_time_parse_iso("2024-01-01T00:00:00Zjunk", 20, &p, err, sizeof err), AU_TIME_OK,
           "bytes past len are not read");
    is_int(au_time_parse_iso("2024-01-01T12:00:00Z", 20, &p, err, 8), AU_TIME_OK,
           "a short error buffer is fine on success");
    is_int(au_time_parse_iso("2024-13-01", 10, &p, err, 8), AU_TIME_EINVAL, "and on failure");
    is_int(strlen(err), 7, "  the message is truncated and terminated");
}

static void test_format(void)
{
    char buf[AU_TIME_ISO_BUFLEN];
    int64_t t = utc(2024, 3, 10, 7, 0, 0);
    au_time_format_iso(t, AU_TIME_ZONE_UTC, 0, AU_TIME_FRAC_AUTO, buf, sizeof buf);
    is_str(buf, "2024-03-10T07:00:00Z", "UTC, auto fraction, none needed");
    au_time_format_iso(t, AU_TIME_ZONE_NY, 0, AU_TIME_FRAC_AUTO, buf, sizeof buf);
    is_str(buf, "2024-03-10T03:00:00-04:00", "New York at the spring transition");
    au_time_format_iso(t - 1, AU_TIME_ZONE_NY, 0, AU_TIME_FRAC_AUTO, buf, sizeof buf);
    is_str(buf, "2024-03-10T01:59:59.999999-05:00", "New York 1 us before");
    au_time_format_iso(t - 1, AU_TIME_ZONE_NY, 0, AU_TIME_FRAC_NONE, buf, sizeof buf);
    is_str(buf, "2024-03-10T01:59:59-05:00", "fraction dropped");
    au_time_format_iso(t, AU_TIME_ZONE_FIXED, 330, AU_TIME_FRAC_ALWAYS, buf, sizeof buf);
    is_str(buf, "2024-03-10T12:30:00.000000+05:30", "fixed +05:30, fraction always");
    au_time_format_iso(t, AU_TIME_ZONE_FIXED, 0, AU_TIME_FRAC_NONE, buf, sizeof buf);
    is_str(buf, "2024-03-10T07:00:00+00:00", "fixed 0 is +00:00, not Z");
    au_time_format_iso(t, AU_TIME_ZONE_FIXED, -1439, AU_TIME_FRAC_NONE, buf, sizeof buf);
    is_str(buf, "2024-03-09T07:01:00-23:59", "fixed -23:59");
    au_time_format_iso(-1, AU_TIME_ZONE_UTC, 0, AU_TIME_FRAC_AUTO, buf, sizeof buf);
    is_str(buf, "1969-12-31T23:59:59.999999Z", "-1 us");
    au_time_format_iso(-1, AU_TIME_ZONE_UTC, 0, AU_TIME_FRAC_NONE, buf, sizeof buf);
    is_str(buf, "1969-12-31T23:59:59Z", "-1 us without fraction floors");
    au_time_format_iso(utc(0, 1, 1, 0, 0, 0), AU_TIME_ZONE_UTC, 0, AU_TIME_FRAC_AUTO, buf, sizeof buf);
    is_str(buf, "0000-01-01T00:00:00Z", "year 0");
    au_time_format_iso(utc(1975, 10, 26, 5, 30, 0), AU_TIME_ZONE_NY, 0, AU_TIME_FRAC_AUTO, buf, sizeof buf);
    is_str(buf, "1975-10-26T01:30:00-04:00", "1975 overlap, first 01:30");
    au_time_format_iso(utc(1975, 10, 26, 6, 30, 0), AU_TIME_ZONE_NY, 0, AU_TIME_FRAC_AUTO, buf, sizeof buf);
    is_str(buf, "1975-10-26T01:30:00-05:00", "1975 overlap, second 01:30");
    int n = au_time_format_iso(utc(9999, 12, 31, 23, 59, 59) + 999999, AU_TIME_ZONE_FIXED, -1439,
                               AU_TIME_FRAC_ALWAYS, buf, sizeof buf);
    is_int(n, 32, "the longest text is 32 bytes");
    is_int(au_time_format_iso(utc(9999, 12, 31, 23, 59, 59), AU_TIME_ZONE_FIXED, 1, 0, buf, sizeof buf),
           AU_TIME_ERANGE, "year 10000 cannot be written");
    is_int(au_time_format_iso(INT64_MIN, AU_TIME_ZONE_UTC, 0, 0, buf, sizeof buf), AU_TIME_ERANGE,
           "INT64_MIN: ERANGE");
    is_int(au_time_format_iso(INT64_MAX, AU_TIME_ZONE_NY, 0, 0, buf, sizeof buf), AU_TIME_ERANGE,
           "INT64_MAX: ERANGE");
    is_int(au_time_format_iso(0, 7, 0, 0, buf, sizeof buf), AU_TIME_EINVAL, "bad zone");
    is_int(au_time_format_iso(0, AU_TIME_ZONE_FIXED, 1440, 0, buf, sizeof buf), AU_TIME_EINVAL,
           "offset beyond 23:59");
    is_int(au_time_format_iso(0, AU_TIME_ZONE_UTC, 0, 3, buf, sizeof buf), AU_TIME_EINVAL, "bad frac");
    is_int(au_time_format_iso(0, AU_TIME_ZONE_UTC, 0, 0, buf, 10), AU_TIME_EINVAL, "short buffer");

    /* format -> parse round trip over a spread of instants, both sides of 1970. */
    int bad = 0;
    for (int64_t u = -7000000000000000LL; u < 7000000000000000LL; u += 123456789012345LL) {
        int zones[3] = {AU_TIME_ZONE_UTC, AU_TIME_ZONE_NY, AU_TIME_ZONE_FIXED};
        for (int z = 0; z < 3; z++) {
            au_time_format_iso(u, zones[z], -570, AU_TIME_FRAC_AUTO, buf, sizeof buf);
            if (parse_ok(buf, NULL) != u) bad++;
        }
    }
    is_int(bad, 0, "format then parse gives back the same instant (UTC, New York, -09:30)");
}

static void test_ffi(void)
{
    int64_t a = 0, b = 0;
    is_int(au_ffi_time_now(&a), AU_TIME_OK, "now");
    ok(a > 1700000000LL * SEC, "now is after 2023");
    is_int(au_ffi_time_monotonic(&a), AU_TIME_OK, "monotonic");
    au_ffi_time_monotonic(&b);
    ok(b >= a, "monotonic does not go back");
    ok(au_time_now() > 0 && au_time_monotonic() > 0, "plain clock functions");

    int off = 0, wd = 0;
    au_ffi_time_ny_offset(utc(2024, 7, 4, 12, 0, 0), &off);
    is_int(off, -240, "ffi ny_offset");
    int64_t s = 0, e = 0;
    is_int(au_ffi_time_ny_transitions(2024, &s, &e), 1, "ffi ny_transitions");
    /* 2024-03-11 01:00Z is still Sunday the 10th in New York. */
    au_ffi_time_weekday(utc(2024, 3, 11, 1, 0, 0), AU_TIME_ZONE_NY, 0, &wd);
    is_int(wd, 7, "weekday in New York");
    au_ffi_time_weekday(utc(2024, 3, 11, 1, 0, 0), AU_TIME_ZONE_UTC, 0, &wd);
    is_int(wd, 1, "weekday in UTC");
    au_ffi_time_weekday(-1, AU_TIME_ZONE_FIXED, 1, &wd);
    is_int(wd, 4, "weekday with a fixed offset");
    is_int(au_ffi_time_weekday(0, 9, 0, &wd), AU_TIME_EINVAL, "weekday: bad zone");

    au_time_fields f;
    is_int(au_ffi_time_split(utc(2024, 11, 3, 5, 30, 0), AU_TIME_ZONE_NY, 0, &f), AU_TIME_OK, "split");
    ok(f.hour == 1 && f.min == 30 && f.offset == -240 && f.dst == 1, "  01:30 EDT");
    au_ffi_time_split(utc(2024, 11, 3, 6, 30, 0), AU_TIME_ZONE_NY, 0, &f);
    ok(f.hour == 1 && f.min == 30 && f.offset == -300 && f.dst == 0, "  01:30 EST");
    is_int(au_ffi_time_split(0, AU_TIME_ZONE_FIXED, 5000, &f), AU_TIME_EINVAL, "split: bad offset");

    char err[200];
    int64_t out = 0;
    is_int(au_ffi_time_compose(2024, 3, 10, 2, 30, 0, 0, AU_TIME_ZONE_NY, 0, 0, 0, &out, err, sizeof err),
           AU_TIME_ENONEXISTENT, "compose in the gap");
    is_str(err, "2024-03-10T02:30:00 does not exist in America/New_York (clocks jump from 02:00 EST to 03:00 EDT)",
           "  explains");
    is_int(au_ffi_time_compose(2024, 11, 3, 1, 30, 0, 0, AU_TIME_ZONE_NY, 0, 2, 0, &out, err, sizeof err),
           AU_TIME_EAMBIGUOUS, "compose in the overlap, policy error");
    is_str(err, "2024-11-03T01:30:00 is ambiguous in America/New_York (it occurs in EDT and again in EST)",
           "  explains");
    is_int(au_ffi_time_compose(2024, 1, 1, 0, 0, 0, 0, AU_TIME_ZONE_NY, 0, 3, 0, &out, err, sizeof err),
           AU_TIME_EINVAL, "compose: unknown policy");
    is_int(au_ffi_time_compose(2024, 1, 1, 0, 0, 0, 0, 5, 0, 0, 0, &out, err, sizeof err),
           AU_TIME_EINVAL, "compose: unknown zone");
    is_int(au_ffi_time_compose(2024, 1, 1, 0, 0, 0, 0, AU_TIME_ZONE_FIXED, 1440, 0, 0, &out, err, sizeof err),
           AU_TIME_EINVAL, "compose: offset too wide");
    is_int(au_ffi_time_compose(2024, 1, 1, 9, 30, 0, 0, AU_TIME_ZONE_FIXED, -300, 0, 0, &out, err, sizeof err),
           AU_TIME_OK, "compose with a fixed offset");
    is_int(out, utc(2024, 1, 1, 14, 30, 0), "  09:30-05:00 is 14:30Z");

    const char *txt = "2024-07-04 09:30";
    is_int(au_ffi_time_parse(txt, strlen(txt), AU_TIME_ZONE_NY, 0, 0, 0, &out, err, sizeof err),
           AU_TIME_OK, "parse without an offset, read in New York");
    is_int(out, utc(2024, 7, 4, 13, 30, 0), "  09:30 EDT is 13:30Z");
    txt = "2024-07-04 09:30+00:00";
    au_ffi_time_parse(txt, strlen(txt), AU_TIME_ZONE_NY, 0, 0, 0, &out, err, sizeof err);
    is_int(out, utc(2024, 7, 4, 9, 30, 0), "an explicit offset wins over the default zone");
    txt = "2024-03-10T02:30";
    is_int(au_ffi_time_parse(txt, strlen(txt), AU_TIME_ZONE_NY, 0, 0, 0, &out, err, sizeof err),
           AU_TIME_ENONEXISTENT, "parse in the New York gap");
    is_int(au_ffi_time_parse(NULL, 0, 0, 0, 0, 0, &out, err, sizeof err), AU_TIME_EINVAL, "parse NULL");

    char buf[AU_TIME_ISO_BUFLEN];
    is_int(au_ffi_time_format(0, AU_TIME_ZONE_UTC, 0, 0, buf, sizeof buf), AU_TIME_OK, "ffi format");
    is_str(buf, "1970-01-01T00:00:00Z", "  epoch");
    is_int(au_ffi_time_format(0, AU_TIME_ZONE_UTC, 0, 0, buf, 4), AU_TIME_EINVAL, "  short buffer");
}

int main(void)
{
    test_calendar();
    test_split();
    test_compose();
    test_ny_rule();
    test_ny_local();
    test_parse();
    test_format();
    test_ffi();
    return done_testing();
}
