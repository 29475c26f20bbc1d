/* test_calendar.c — md/calendar: every holiday rule and observance case, the special
 * closings, early closes, sessions across DST, expiries, text dates and the FFI
 * surface.  Expected dates come from the NYSE's published holiday calendars and the
 * shipped daily data (the per-year counts), Easter from an independent algorithm and
 * from python-dateutil, instants from GNU date — not from the code under test. */
#include <inttypes.h>
#include <stdlib.h>

#include "md/calendar.h"
#include "sys/autime.h"
#include "tap.h"

static int64_t D(int y, int m, int d)
{
    return au_time_days_from_civil(y, m, d);
}

/* "YYYY-MM-DD" of a day number, in one of four rotating buffers (for messages). */
static const char *S(int64_t day)
{
    static char bufs[4][MD_CAL_DATE_BUFLEN + 8];
    static int next;
    char *b = bufs[next++ % 4];
    if (md_cal_format_date(day, b, MD_CAL_DATE_BUFLEN + 8) != MD_CAL_OK) snprintf(b, 16, "(bad %d)", (int)day);
    return b;
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    int64_t out = 0;
    if (au_time_compose(y, mo, d, h, mi, 0, 0, &out, NULL, 0) != AU_TIME_OK) abort();
    return out;
}

static md_cal_day classify(int64_t day)
{
    md_cal_day c = {-1, -1, -1};
    if (md_cal_classify(day, &c) != MD_CAL_OK) c.kind = -1;
    return c;
}

/* day is a weekday closed for reason; observed as given. */
static void closed_for(int y, int m, int d, int reason, int observed)
{
    md_cal_day c = classify(D(y, m, d));
    ok(c.kind == MD_CAL_HOLIDAY && c.reason == reason && c.observed == observed,
       "%04d-%02d-%02d closed: %s%s", y, m, d, md_cal_reason_name(reason),
       observed ? " (observed)" : "");
    if (c.kind != MD_CAL_HOLIDAY || c.reason != reason || c.observed != observed)
        printf("#   got kind %d reason %d observed %d\n", c.kind, c.reason, c.observed);
}

static void trades(int y, int m, int d, const char *why)
{
    is_int(md_cal_is_trading_day(D(y, m, d)), 1, "%04d-%02d-%02d trades: %s", y, m, d, why);
}

static void early(int y, int m, int d, int reason)
{
    md_cal_day c = classify(D(y, m, d));
    ok(c.kind == MD_CAL_EARLY && c.reason == reason, "%04d-%02d-%02d closes at 13:00: %s", y, m, d,
       md_cal_reason_name(reason));
    if (c.kind != MD_CAL_EARLY || c.reason != reason)
        printf("#   got kind %d reason %d\n", c.kind, c.reason);
}

static void full(int y, int m, int d, const char *why)
{
    md_cal_day c = classify(D(y, m, d));
    ok(c.kind == MD_CAL_FULL, "%04d-%02d-%02d is a full day: %s", y, m, d, why);
    if (c.kind != MD_CAL_FULL) printf("#   got kind %d reason %d\n", c.kind, c.reason);
}

/* Gauss's Easter algorithm with Lichtenberg's corrections: a different derivation
 * from the one in calendar.c, so agreement is evidence. */
static int64_t easter_gauss(int y)
{
    int k = y / 100;
    int m = 15 + (3 * k + 3) / 4 - (8 * k + 13) / 25;
    int s = 2 - (3 * k + 3) / 4;
    int a = y % 19;
    int d = (19 * a + m) % 30;
    int r = (d + a / 11) / 29;
    int og = 21 + d - r;
    int sz = 7 - (y + y / 4 + s) % 7;
    int oe = 7 - (og - sz) % 7;
    int os = og + oe; /* days after February 28/29: March os */
    return D(y, 3, 1) + os - 1;
}

static void test_range(void)
{
    is_int(D(1995, 1, 1), MD_CAL_DAY_MIN, "MD_CAL_DAY_MIN is 1995-01-01");
    is_int(D(2199, 12, 31), MD_CAL_DAY_MAX, "MD_CAL_DAY_MAX is 2199-12-31");
    ok(md_cal_in_range(MD_CAL_DAY_MIN) && md_cal_in_range(MD_CAL_DAY_MAX), "both ends are inside");
    ok(!md_cal_in_range(MD_CAL_DAY_MIN - 1) && !md_cal_in_range(MD_CAL_DAY_MAX + 1),
       "one day beyond either end is outside");
    md_cal_day c;
    is_int(md_cal_classify(D(1994, 12, 30), &c), MD_CAL_ERANGE, "1994-12-30: ERANGE");
    is_int(md_cal_classify(INT64_MIN, &c), MD_CAL_ERANGE, "INT64_MIN: ERANGE");
    is_int(md_cal_classify(INT64_MAX, &c), MD_CAL_ERANGE, "INT64_MAX: ERANGE");
    is_int(md_cal_is_trading_day(D(2200, 1, 2)), MD_CAL_ERANGE, "is_trading_day 2200: ERANGE");
    is_int(md_cal_is_early_close(D(1990, 7, 3)), MD_CAL_ERANGE, "is_early_close 1990: ERANGE");
}

static void test_easter(void)
{
    /* python-dateutil easter(), EASTER_WESTERN. */
    static const struct { int y, m, d; } known[] = {
        {1995, 4, 16}, {2000, 4, 23}, {2001, 4, 15}, {2008, 3, 23}, {2011, 4, 24}, {2016, 3, 27},
        {2019, 4, 21}, {2024, 3, 31}, {2025, 4, 20}, {2026, 4, 5},  {2038, 4, 25}, {2285, 3, 22},
        {1818, 3, 22}, {2199, 4, 14},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        is_str(S(md_cal_easter(known[i].y)), S(D(known[i].y, known[i].m, known[i].d)), "Easter %d",
               known[i].y);
    int bad = 0;
    for (int y = 1583; y <= 9999 && bad < 5; y++) {
        int64_t e = md_cal_easter(y);
        if (e != easter_gauss(y) || au_time_weekday(e) != 7 || e < D(y, 3, 22) || e > D(y, 4, 25)) {
            printf("#   Easter %d: %s, Gauss says %s\n", y, S(e), S(easter_gauss(y)));
            bad++;
        }
    }
    is_int(bad, 0, "Easter 1583..9999 agrees with Gauss's algorithm, is a Sunday in Mar 22..Apr 25");
}

static void test_holidays(void)
{
    /* New Year's Day: Sunday -> Monday; Saturday -> not observed at all. */
    closed_for(2024, 1, 1, MD_CAL_R_NEW_YEAR, 0);
    closed_for(2023, 1, 2, MD_CAL_R_NEW_YEAR, 1);
    closed_for(2017, 1, 2, MD_CAL_R_NEW_YEAR, 1);
    closed_for(2006, 1, 2, MD_CAL_R_NEW_YEAR, 1);
    full(2021, 12, 31, "New Year's Day 2022 is a Saturday and is not observed");
    full(2010, 12, 31, "New Year's Day 2011 (Saturday) not observed");
    full(2004, 12, 31, "New Year's Day 2005 (Saturday) not observed");
    full(1999, 12, 31, "New Year's Day 2000 (Saturday) not observed");
    trades(2022, 1, 3, "the Monday after a Saturday New Year's Day");
    is_int(classify(D(2022, 1, 1)).kind, MD_CAL_WEEKEND, "2022-01-01 is just a Saturday");

    /* Martin Luther King Jr. Day: third Monday of January, from 1998. */
    trades(1997, 1, 20, "MLK Day before the NYSE observed it");
    closed_for(1998, 1, 19, MD_CAL_R_MLK, 0);
    closed_for(2024, 1, 15, MD_CAL_R_MLK, 0);
    closed_for(2021, 1, 18, MD_CAL_R_MLK, 0);
    trades(2024, 1, 8, "the second Monday of January");
    trades(2024, 1, 22, "the fourth Monday of January");

    /* Washington's Birthday: third Monday of February. */
    closed_for(2024, 2, 19, MD_CAL_R_WASHINGTON, 0);
    closed_for(2000, 2, 21, MD_CAL_R_WASHINGTON, 0);
    closed_for(2021, 2, 15, MD_CAL_R_WASHINGTON, 0);
    trades(2021, 2, 22, "Washington's actual birthday on the fourth Monday");

    /* Good Friday: two days before Gregorian Easter, in March or April. */
    closed_for(2024, 3, 29, MD_CAL_R_GOOD_FRIDAY, 0);
    closed_for(2008, 3, 21, MD_CAL_R_GOOD_FRIDAY, 0);
    closed_for(2025, 4, 18, MD_CAL_R_GOOD_FRIDAY, 0);
    closed_for(2000, 4, 21, MD_CAL_R_GOOD_FRIDAY, 0);
    closed_for(2026, 4, 3, MD_CAL_R_GOOD_FRIDAY, 0);
    trades(2024, 4, 1, "Easter Monday");

    /* Memorial Day: last Monday of May. */
    closed_for(2024, 5, 27, MD_CAL_R_MEMORIAL, 0);
    closed_for(2021, 5, 31, MD_CAL_R_MEMORIAL, 0);
    closed_for(2022, 5, 30, MD_CAL_R_MEMORIAL, 0);
    trades(2021, 5, 24, "the Monday before the last one of May");

    /* Juneteenth: from 2022, with both observances. */
    trades(2021, 6, 18, "Juneteenth 2021 (federal from that week, not yet NYSE)");
    trades(2020, 6, 19, "Juneteenth 2020");
    closed_for(2022, 6, 20, MD_CAL_R_JUNETEENTH, 1);
    closed_for(2023, 6, 19, MD_CAL_R_JUNETEENTH, 0);
    closed_for(2026, 6, 19, MD_CAL_R_JUNETEENTH, 0);
    closed_for(2027, 6, 18, MD_CAL_R_JUNETEENTH, 1);
    closed_for(2033, 6, 20, MD_CAL_R_JUNETEENTH, 1);
    trades(2022, 6, 17, "the Friday before Juneteenth 2022 (a Sunday)");

    /* Independence Day. */
    closed_for(2024, 7, 4, MD_CAL_R_INDEPENDENCE, 0);
    closed_for(2020, 7, 3, MD_CAL_R_INDEPENDENCE, 1);
    closed_for(2015, 7, 3, MD_CAL_R_INDEPENDENCE, 1);
    closed_for(2021, 7, 5, MD_CAL_R_INDEPENDENCE, 1);
    closed_for(2010, 7, 5, MD_CAL_R_INDEPENDENCE, 1);

    /* Labor Day, Thanksgiving. */
    closed_for(2024, 9, 2, MD_CAL_R_LABOR, 0);
    closed_for(2020, 9, 7, MD_CAL_R_LABOR, 0);
    closed_for(2024, 11, 28, MD_CAL_R_THANKSGIVING, 0);
    closed_for(2001, 11, 22, MD_CAL_R_THANKSGIVING, 0);
    closed_for(2018, 11, 22, MD_CAL_R_THANKSGIVING, 0);
    trades(2024, 11, 21, "the third Thursday of November");

    /* Christmas. */
    closed_for(2024, 12, 25, MD_CAL_R_CHRISTMAS, 0);
    closed_for(2021, 12, 24, MD_CAL_R_CHRISTMAS, 1);
    closed_for(2010, 12, 24, MD_CAL_R_CHRISTMAS, 1);
    closed_for(2022, 12, 26, MD_CAL_R_CHRISTMAS, 1);
    closed_for(2016, 12, 26, MD_CAL_R_CHRISTMAS, 1);
    trades(2024, 12, 26, "the day after Christmas");

    /* Former holidays stay open. */
    trades(2024, 10, 14, "Columbus Day");
    trades(2024, 11, 11, "Veterans Day");
    trades(2024, 11, 5, "Election Day");
    trades(2024, 2, 12, "Lincoln's Birthday");
}

static void test_special_closings(void)
{
    static const struct { int y, m, d, reason; } days[] = {
        {2001, 9, 11, MD_CAL_R_SEPT11}, {2001, 9, 12, MD_CAL_R_SEPT11},
        {2001, 9, 13, MD_CAL_R_SEPT11}, {2001, 9, 14, MD_CAL_R_SEPT11},
        {2004, 6, 11, MD_CAL_R_REAGAN}, {2007, 1, 2, MD_CAL_R_FORD},
        {2012, 10, 29, MD_CAL_R_SANDY}, {2012, 10, 30, MD_CAL_R_SANDY},
        {2018, 12, 5, MD_CAL_R_BUSH},   {2025, 1, 9, MD_CAL_R_CARTER},
    };
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        md_cal_day c = classify(D(days[i].y, days[i].m, days[i].d));
        ok(c.kind == MD_CAL_SPECIAL && c.reason == days[i].reason && c.observed == 0,
           "%04d-%02d-%02d closed: %s", days[i].y, days[i].m, days[i].d,
           md_cal_reason_name(days[i].reason));
    }
    trades(2001, 9, 10, "the Monday before September 11");
    trades(2001, 9, 17, "the reopening after September 11");
    trades(2004, 6, 10, "the day before Reagan's day of mourning");
    trades(2007, 1, 3, "the day after Ford's day of mourning");
    trades(2012, 10, 31, "the reopening after Hurricane Sandy");
    trades(2018, 12, 6, "the day after Bush's day of mourning");
    trades(2025, 1, 10, "the day after Carter's day of mourning");
    trades(2024, 9, 11, "September 11 in a later year");
}

static void test_early_closes(void)
{
    /* The day before Independence Day. */
    early(2023, 7, 3, MD_CAL_R_BEFORE_INDEPENDENCE); /* July 4 Tuesday */
    early(2018, 7, 3, MD_CAL_R_BEFORE_INDEPENDENCE); /* Wednesday */
    early(2025, 7, 3, MD_CAL_R_BEFORE_INDEPENDENCE); /* Friday */
    early(2000, 7, 3, MD_CAL_R_BEFORE_INDEPENDENCE);
    early(1995, 7, 3, MD_CAL_R_BEFORE_INDEPENDENCE);
    early(2013, 7, 3, MD_CAL_R_BEFORE_INDEPENDENCE); /* Thursday, from 2013 */
    early(2019, 7, 3, MD_CAL_R_BEFORE_INDEPENDENCE);
    early(2024, 7, 3, MD_CAL_R_BEFORE_INDEPENDENCE);
    full(2013, 7, 5, "the Friday after a Thursday July 4 from 2013");
    full(2024, 7, 5, "the Friday after a Thursday July 4 (2024)");
    early(2002, 7, 5, MD_CAL_R_AFTER_INDEPENDENCE); /* Thursday, before 2013 */
    early(1996, 7, 5, MD_CAL_R_AFTER_INDEPENDENCE);
    full(2002, 7, 3, "the Wednesday before a Thursday July 4 before 2013");
    full(2022, 7, 1, "the Friday before a Monday July 4");
    full(2016, 7, 1, "the Friday before a Monday July 4 (2016)");
    full(2015, 7, 2, "the Thursday before July 4 on a Saturday");
    full(2020, 7, 2, "the Thursday before July 4 on a Saturday (2020)");
    full(2021, 7, 2, "the Friday before July 4 on a Sunday");
    full(2021, 7, 6, "the Tuesday after an observed Monday July 5");

    /* The day after Thanksgiving. */
    early(2024, 11, 29, MD_CAL_R_AFTER_THANKSGIVING);
    early(2001, 11, 23, MD_CAL_R_AFTER_THANKSGIVING);
    early(2020, 11, 27, MD_CAL_R_AFTER_THANKSGIVING);
    full(2024, 11, 22, "the Friday a week before");

    /* Christmas Eve on Monday..Thursday. */
    early(2024, 12, 24, MD_CAL_R_CHRISTMAS_EVE);
    early(2018, 12, 24, MD_CAL_R_CHRISTMAS_EVE);
    early(2025, 12, 24, MD_CAL_R_CHRISTMAS_EVE);
    early(2020, 12, 24, MD_CAL_R_CHRISTMAS_EVE);
    early(1996, 12, 24, MD_CAL_R_CHRISTMAS_EVE);
    full(2021, 12, 23, "the Thursday before an observed Friday Christmas");
    full(2022, 12, 23, "the Friday before a Sunday Christmas");
    full(2023, 12, 22, "the Friday before a Monday Christmas");
    full(2024, 12, 31, "New Year's Eve");
    full(2024, 12, 26, "the day after Christmas 2024");

    /* The two announced Fridays after a Thursday Christmas, and one that was not. */
    early(1997, 12, 26, MD_CAL_R_AFTER_CHRISTMAS);
    early(2003, 12, 26, MD_CAL_R_AFTER_CHRISTMAS);
    full(2008, 12, 26, "the Friday after Christmas 2008");
    full(2025, 12, 26, "the Friday after Christmas 2025");

    is_int(md_cal_is_early_close(D(2024, 12, 24)), 1, "is_early_close on an early close");
    is_int(md_cal_is_early_close(D(2024, 12, 23)), 0, "is_early_close on a full day");
    is_int(md_cal_is_early_close(D(2024, 12, 25)), 0, "is_early_close on a holiday");
}

static void session_is(int y, int m, int d, int64_t open, int64_t close, const char *name)
{
    int64_t o = 0, c = 0;
    int rc = md_cal_session(D(y, m, d), &o, &c);
    ok(rc == MD_CAL_OK && o == open && c == close, "session %04d-%02d-%02d: %s", y, m, d, name);
    if (rc != MD_CAL_OK || o != open || c != close)
        printf("#   rc %d open %" PRId64 " close %" PRId64 "\n#   expected %" PRId64 " %" PRId64 "\n", rc,
               o, c, open, close);
}

static void test_sessions(void)
{
    /* 09:30 EST = 14:30Z, 09:30 EDT = 13:30Z (GNU date -u -d 'TZ="America/New_York" ...'). */
    session_is(2024, 1, 2, utc(2024, 1, 2, 14, 30), utc(2024, 1, 2, 21, 0), "winter, EST");
    session_is(2024, 7, 1, utc(2024, 7, 1, 13, 30), utc(2024, 7, 1, 20, 0), "summer, EDT");
    session_is(2024, 3, 8, utc(2024, 3, 8, 14, 30), utc(2024, 3, 8, 21, 0),
               "the Friday before DST starts");
    session_is(2024, 3, 11, utc(2024, 3, 11, 13, 30), utc(2024, 3, 11, 20, 0),
               "the Monday after DST starts");
    session_is(2024, 11, 1, utc(2024, 11, 1, 13, 30), utc(2024, 11, 1, 20, 0),
               "the Friday before DST ends");
    session_is(2024, 11, 4, utc(2024, 11, 4, 14, 30), utc(2024, 11, 4, 21, 0),
               "the Monday after DST ends");
    session_is(2006, 4, 3, utc(2006, 4, 3, 13, 30), utc(2006, 4, 3, 20, 0),
               "2006: DST from the first Sunday of April");
    session_is(2006, 3, 13, utc(2006, 3, 13, 14, 30), utc(2006, 3, 13, 21, 0),
               "2006: still EST in mid-March");
    session_is(2024, 7, 3, utc(2024, 7, 3, 13, 30), utc(2024, 7, 3, 17, 0), "early close in EDT");
    session_is(2024, 11, 29, utc(2024, 11, 29, 14, 30), utc(2024, 11, 29, 18, 0),
               "early close in EST");
    session_is(2024, 12, 24, utc(2024, 12, 24, 14, 30), utc(2024, 12, 24, 18, 0), "Christmas Eve");
    int64_t o = 1, c = 2;
    is_int(md_cal_session(D(2024, 12, 25), &o, &c), MD_CAL_ECLOSED, "session on a holiday: ECLOSED");
    is_int(md_cal_session(D(2024, 12, 28), &o, &c), MD_CAL_ECLOSED, "session on a Saturday: ECLOSED");
    is_int(md_cal_session(D(2001, 9, 12), &o, &c), MD_CAL_ECLOSED, "session on 2001-09-12: ECLOSED");
    ok(o == 1 && c == 2, "a closed session leaves the outputs alone");
    is_int(md_cal_session(D(1990, 1, 2), &o, &c), MD_CAL_ERANGE, "session in 1990: ERANGE");
}

static void step_is(int dir, int64_t from, int64_t want, const char *name)
{
    int64_t out = -1;
    int rc = dir > 0 ? md_cal_next_trading_day(from, &out) : md_cal_previous_trading_day(from, &out);
    ok(rc == MD_CAL_OK && out == want, "%s trading day %s %s is %s: %s", dir > 0 ? "next" : "previous",
       dir > 0 ? "after" : "before", S(from), S(want), name);
    if (rc != MD_CAL_OK || out != want) printf("#   rc %d, got %s\n", rc, S(out));
}

static void test_steps(void)
{
    step_is(1, D(2024, 7, 2), D(2024, 7, 3), "an ordinary day");
    step_is(1, D(2024, 7, 3), D(2024, 7, 5), "over Independence Day");
    step_is(1, D(2024, 8, 30), D(2024, 9, 3), "over a weekend and Labor Day");
    step_is(1, D(2024, 8, 31), D(2024, 9, 3), "from a Saturday");
    step_is(1, D(2001, 9, 10), D(2001, 9, 17), "over the September 11 closing");
    step_is(-1, D(2001, 9, 17), D(2001, 9, 10), "back over the September 11 closing");
    step_is(1, D(2012, 10, 26), D(2012, 10, 31), "over Hurricane Sandy");
    step_is(-1, D(2024, 4, 1), D(2024, 3, 28), "back over Easter and Good Friday");
    step_is(-1, D(2022, 1, 3), D(2021, 12, 31), "back to an open New Year's Eve");
    step_is(1, D(2021, 12, 23), D(2021, 12, 27), "over an observed Christmas");
    step_is(1, D(2024, 12, 25), D(2024, 12, 26), "from a holiday");
    int64_t out = 0;
    is_int(md_cal_next_trading_day(D(2199, 12, 31), &out), MD_CAL_ERANGE,
           "next after the last covered day: ERANGE");
    is_int(md_cal_previous_trading_day(D(1995, 1, 3), &out), MD_CAL_ERANGE,
           "previous before the first trading day of 1995: ERANGE");
    step_is(-1, D(1995, 1, 4), D(1995, 1, 3), "the first covered trading day");
    is_int(md_cal_next_trading_day(D(1994, 12, 30), &out), MD_CAL_ERANGE, "from before the range: ERANGE");
}

static void test_counts(void)
{
    /* Trading days per calendar year, counted in the shipped daily data. */
    static const int counts[] = {252, 248, 252, 252, 252, 252, 251, 251, 253, 252, 252, 252, 250,
                                 252, 252, 252, 252, 251, 251, 252, 253, 252, 251, 250, 252, 250};
    for (int i = 0; i < (int)(sizeof counts / sizeof counts[0]); i++) {
        int y = 2000 + i;
        size_t n = 0;
        int rc = md_cal_trading_days(D(y, 1, 1), D(y, 12, 31), NULL, 0, &n);
        ok(rc == MD_CAL_OK && (int)n == counts[i], "%d has %d trading days", y, counts[i]);
        if (rc != MD_CAL_OK || (int)n != counts[i]) printf("#   rc %d, got %zu\n", rc, n);
    }
    int64_t buf[8];
    size_t n = 0;
    is_int(md_cal_trading_days(D(2024, 12, 20), D(2025, 1, 3), buf, 8, &n), MD_CAL_OK, "a fortnight");
    is_int(n, 9, "... has 9 trading days");
    ok(buf[0] == D(2024, 12, 20) && buf[1] == D(2024, 12, 23) && buf[2] == D(2024, 12, 24)
           && buf[3] == D(2024, 12, 26) && buf[7] == D(2025, 1, 2),
       "... listed in order, skipping weekends, Christmas and New Year's Day");
    int64_t small[2] = {0, 0};
    is_int(md_cal_trading_days(D(2024, 12, 20), D(2025, 1, 3), small, 1, &n), MD_CAL_OK, "cap 1");
    ok(n == 9 && small[0] == D(2024, 12, 20) && small[1] == 0, "... writes one, counts all");
    is_int(md_cal_trading_days(D(2024, 1, 2), D(2024, 1, 1), buf, 8, &n), MD_CAL_OK, "from > to");
    is_int(n, 0, "... is empty");
    is_int(md_cal_trading_days(D(1994, 1, 1), D(2024, 1, 1), buf, 8, &n), MD_CAL_ERANGE,
           "a range starting before 1995: ERANGE");
}

static void expiry_is(int64_t day, int64_t want, const char *name)
{
    int64_t out = -1;
    int rc = md_cal_weekly_expiry(day, &out);
    ok(rc == MD_CAL_OK && out == want, "weekly expiry of the week of %s is %s: %s", S(day), S(want), name);
    if (rc != MD_CAL_OK || out != want) printf("#   rc %d, got %s\n", rc, S(out));
}

static void monthly_is(int y, int m, int64_t want, const char *name)
{
    int64_t out = -1;
    int rc = md_cal_monthly_expiry(y, m, &out);
    ok(rc == MD_CAL_OK && out == want, "monthly expiry %04d-%02d is %s: %s", y, m, S(want), name);
    if (rc != MD_CAL_OK || out != want) printf("#   rc %d, got %s\n", rc, S(out));
}

static void test_expiries(void)
{
    expiry_is(D(2024, 6, 10), D(2024, 6, 14), "from Monday, an ordinary week");
    expiry_is(D(2024, 6, 14), D(2024, 6, 14), "from the Friday itself");
    expiry_is(D(2024, 6, 16), D(2024, 6, 14), "Sunday belongs to the week before (ISO)");
    expiry_is(D(2024, 6, 15), D(2024, 6, 14), "Saturday too");
    expiry_is(D(2024, 3, 25), D(2024, 3, 28), "Good Friday week: Thursday");
    expiry_is(D(2025, 4, 14), D(2025, 4, 17), "Good Friday week 2025: Thursday");
    expiry_is(D(2020, 6, 29), D(2020, 7, 2), "Friday July 3 observed: Thursday");
    expiry_is(D(2021, 12, 22), D(2021, 12, 23), "Friday December 24 observed: Thursday");
    expiry_is(D(2022, 6, 13), D(2022, 6, 17), "the week before Juneteenth 2022: Friday June 17");
    expiry_is(D(2022, 6, 21), D(2022, 6, 24), "the week of Monday Juneteenth 2022: Friday");
    expiry_is(D(2026, 6, 15), D(2026, 6, 18), "Juneteenth on a Friday (2026): Thursday");
    expiry_is(D(2001, 9, 12), D(2001, 9, 10), "September 2001: Monday, the last trading day before");
    expiry_is(D(2024, 11, 25), D(2024, 11, 29), "Thanksgiving week: the early-close Friday");
    int64_t out;
    is_int(md_cal_weekly_expiry(D(1995, 1, 1), &out), MD_CAL_ERANGE,
           "the week of 1995-01-01 ends in 1994: ERANGE");
    is_int(md_cal_weekly_expiry(D(2199, 12, 31), &out), MD_CAL_ERANGE,
           "the week of 2199-12-31 ends in 2200: ERANGE");

    monthly_is(2024, 1, D(2024, 1, 19), "third Friday");
    monthly_is(2024, 3, D(2024, 3, 15), "third Friday (Good Friday is the fifth)");
    monthly_is(2008, 3, D(2008, 3, 20), "Good Friday on the third Friday: Thursday");
    monthly_is(2019, 4, D(2019, 4, 18), "Good Friday 2019 on the third Friday");
    monthly_is(2022, 4, D(2022, 4, 14), "Good Friday 2022 on the third Friday");
    monthly_is(2025, 4, D(2025, 4, 17), "Good Friday 2025 on the third Friday");
    monthly_is(2026, 6, D(2026, 6, 18), "Juneteenth 2026 on the third Friday");
    monthly_is(2027, 6, D(2027, 6, 17), "Juneteenth 2027 observed on the third Friday");
    monthly_is(2020, 6, D(2020, 6, 19), "June 19, 2020 was still a trading day");
    monthly_is(2025, 2, D(2025, 2, 21), "month starting on a Saturday");
    monthly_is(2024, 11, D(2024, 11, 15), "month starting on a Friday");
    is_int(md_cal_monthly_expiry(2024, 13, &out), MD_CAL_EINVAL, "month 13: EINVAL");
    is_int(md_cal_monthly_expiry(2024, 0, &out), MD_CAL_EINVAL, "month 0: EINVAL");
    is_int(md_cal_monthly_expiry(1994, 12, &out), MD_CAL_ERANGE, "1994: ERANGE");
    is_int(md_cal_monthly_expiry(2200, 1, &out), MD_CAL_ERANGE, "2200: ERANGE");
}

static void test_year_lists(void)
{
    md_cal_closed h[32];
    size_t n = 0;
    is_int(md_cal_holidays(2001, h, 32, &n), MD_CAL_OK, "holidays 2001");
    is_int(n, 13, "2001 has 9 holidays and 4 special closings");
    ok(n >= 13 && h[0].day == D(2001, 1, 1) && h[7].day == D(2001, 9, 11) && h[7].kind == MD_CAL_SPECIAL
           && h[12].day == D(2001, 12, 25),
       "... in date order");
    is_int(md_cal_holidays(2022, h, 32, &n), MD_CAL_OK, "holidays 2022");
    is_int(n, 9, "2022: ten holidays less the unobserved Saturday New Year's Day");
    ok(h[0].day == D(2022, 1, 17) && h[0].reason == MD_CAL_R_MLK, "... starting with MLK Day");
    ok(h[4].day == D(2022, 6, 20) && h[4].observed == 1, "... Juneteenth observed on Monday");
    is_int(md_cal_holidays(2022, h, 2, &n), MD_CAL_OK, "cap 2");
    is_int(n, 9, "... still counts all nine");
    is_int(md_cal_holidays(1994, h, 32, &n), MD_CAL_ERANGE, "1994: ERANGE");

    /* Every covered year: 8 holidays, MLK Day from 1998, Juneteenth from 2022, less a
     * Saturday New Year's Day (the only one never observed), plus the special closings. */
    int bad = 0;
    for (int y = MD_CAL_YEAR_MIN; y <= MD_CAL_YEAR_MAX && bad < 5; y++) {
        size_t closed = 0, tdays = 0;
        md_cal_holidays(y, NULL, 0, &closed);
        int64_t a = D(y, 1, 1), b = D(y, 12, 31);
        md_cal_trading_days(a, b, NULL, 0, &tdays);
        int weekdays = 0, earlies = 0;
        for (int64_t d = a; d <= b; d++) {
            weekdays += au_time_weekday(d) <= 5;
            earlies += md_cal_is_early_close(d) == 1;
        }
        int special = y == 2001 ? 4 : y == 2012 ? 2
                    : (y == 2004 || y == 2007 || y == 2018 || y == 2025) ? 1 : 0;
        int want = 8 + (y >= 1998) + (y >= 2022) + special - (au_time_weekday(a) == 6);
        if ((int)closed != want || (int)(tdays + closed) != weekdays || earlies < 1
            || earlies > 3 + (y == 1997 || y == 2003)) {
            printf("#   %d: %zu closed weekdays (expected %d), %zu trading days of %d weekdays, "
                   "%d early closes\n", y, closed, want, tdays, weekdays, earlies);
            bad++;
        }
    }
    is_int(bad, 0, "1995..2199: the closed weekdays expected each year, the rest trade, 1-3 early closes (4 in 1997, 2003)");
}

static void test_invariants(void)
{
    int bad = 0;
    for (int64_t d = MD_CAL_DAY_MIN; d <= MD_CAL_DAY_MAX && bad < 5; d++) {
        md_cal_day c = classify(d);
        int wd = au_time_weekday(d);
        int trading = md_cal_is_trading_day(d);
        int64_t next = 0, prev = 0;
        const char *why = NULL;
        if (c.kind < MD_CAL_FULL || c.kind > MD_CAL_SPECIAL || md_cal_reason_name(c.reason) == NULL)
            why = "bad classification";
        else if ((wd >= 6) != (c.kind == MD_CAL_WEEKEND))
            why = "weekend mismatch";
        else if (trading != (c.kind == MD_CAL_FULL || c.kind == MD_CAL_EARLY))
            why = "is_trading_day disagrees with classify";
        else if ((c.kind == MD_CAL_FULL || c.kind == MD_CAL_WEEKEND) != (c.reason == MD_CAL_R_NONE))
            why = "a reason where none belongs, or none where one does";
        else if (md_cal_next_trading_day(d, &next) == MD_CAL_OK && (next <= d || next - d > 7))
            why = "next is not within a week after";
        /* Before 1995-01-03 (the first covered trading day) there is no previous. */
        else if (next > D(1995, 1, 3)
                 && (md_cal_previous_trading_day(next, &prev) != MD_CAL_OK || prev >= next
                     || (trading == 1 && prev != d) || (trading == 0 && prev > d)))
            why = "next/previous do not invert";
        if (why) {
            printf("#   %s: %s (kind %d reason %d)\n", S(d), why, c.kind, c.reason);
            bad++;
        }
    }
    is_int(bad, 0, "every covered day: one kind, weekends never trade, next and previous invert");
    bad = 0;
    for (int64_t mon = D(1995, 1, 2); mon + 4 <= MD_CAL_DAY_MAX && bad < 5; mon += 7) {
        int64_t e = 0, m = 0;
        int rc = md_cal_weekly_expiry(mon, &e);
        if (rc != MD_CAL_OK || e < mon || e > mon + 4 || md_cal_is_trading_day(e) != 1
            || md_cal_weekly_expiry(mon + 6, &m) != MD_CAL_OK || m != e) {
            printf("#   week of %s: rc %d, expiry %s\n", S(mon), rc, S(e));
            bad++;
        }
    }
    is_int(bad, 0, "every covered week has a weekly expiry, a trading day Monday..Friday, the same from Sunday");
}

static void test_text(void)
{
    int64_t day = 0;
    char err[128];
    is_int(md_cal_parse_date("2024-07-03", 10, &day, err, sizeof err), MD_CAL_OK, "parse 2024-07-03");
    is_int(day, D(2024, 7, 3), "... its day number");
    is_int(md_cal_parse_date("2000-02-29", 10, &day, err, sizeof err), MD_CAL_OK, "2000-02-29 exists");
    is_int(md_cal_parse_date("1800-01-01", 10, &day, err, sizeof err), MD_CAL_OK,
           "parse does not check the calendar's range");
    static const struct { const char *s, *msg; } bad[] = {
        {"2023-02-29", "day 29 is out of range 1..28 for 2023-02"},
        {"2023-02-30", "day 30 is out of range 1..28 for 2023-02"},
        {"1900-02-29", "day 29 is out of range 1..28 for 1900-02"},
        {"2024-13-01", "month 13 is out of range 1..12"},
        {"2024-00-10", "month 0 is out of range 1..12"},
        {"2024-04-31", "day 31 is out of range 1..30 for 2024-04"},
        {"2024-04-00", "day 0 is out of range 1..30 for 2024-04"},
        {"2024/04/01", "expected '-' after the year at byte 5 (YYYY-MM-DD)"},
        {"24-04-0100", "expected a digit of the year at byte 3 (YYYY-MM-DD)"},
        {"2024-4-011", "expected a digit of the month at byte 7 (YYYY-MM-DD)"},
        {"2024-04-1a", "expected a digit of the day at byte 10 (YYYY-MM-DD)"},
        {"2024-04- 1", "expected a digit of the day at byte 9 (YYYY-MM-DD)"},
        {"+024-04-01", "expected a digit of the year at byte 1 (YYYY-MM-DD)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int rc = md_cal_parse_date(bad[i].s, 10, &day, err, sizeof err);
        ok(rc == MD_CAL_EINVAL && strcmp(err, bad[i].msg) == 0, "parse \"%s\" fails: %s", bad[i].s,
           bad[i].msg);
        if (rc != MD_CAL_EINVAL || strcmp(err, bad[i].msg) != 0) printf("#   rc %d \"%s\"\n", rc, err);
    }
    is_int(md_cal_parse_date("2024-07-03T00:00", 16, &day, err, sizeof err), MD_CAL_EINVAL,
           "a date-time is not a date");
    is_str(err, "expected a date as YYYY-MM-DD (10 characters), got 16 characters", "... message");
    is_int(md_cal_parse_date("2024-07-03", 9, &day, NULL, 0), MD_CAL_EINVAL, "short length, no err buffer");
    is_int(md_cal_parse_date(NULL, 10, &day, err, sizeof err), MD_CAL_EINVAL, "NULL text");
    is_int(md_cal_parse_date("2024-07-0\0", 10, &day, err, 4), MD_CAL_EINVAL, "embedded NUL");
    is_int(strlen(err), 3, "... message truncated to the buffer");

    char buf[MD_CAL_DATE_BUFLEN];
    is_int(md_cal_format_date(D(2024, 7, 3), buf, sizeof buf), MD_CAL_OK, "format");
    is_str(buf, "2024-07-03", "... text");
    is_int(md_cal_format_date(D(0, 1, 1), buf, sizeof buf), MD_CAL_OK, "format 0000-01-01");
    is_str(buf, "0000-01-01", "... text");
    is_int(md_cal_format_date(D(9999, 12, 31), buf, sizeof buf), MD_CAL_OK, "format 9999-12-31");
    is_str(buf, "9999-12-31", "... text");
    is_int(md_cal_format_date(D(0, 1, 1) - 1, buf, sizeof buf), MD_CAL_EINVAL, "before year 0: EINVAL");
    is_int(md_cal_format_date(D(10000, 1, 1), buf, sizeof buf), MD_CAL_EINVAL, "year 10000: EINVAL");
    is_int(md_cal_format_date(INT64_MIN, buf, sizeof buf), MD_CAL_EINVAL, "INT64_MIN: EINVAL");
    is_int(md_cal_format_date(D(2024, 7, 3), buf, 10), MD_CAL_EINVAL, "a 10-byte buffer is short");
    is_int(md_cal_format_date(D(2024, 7, 3), NULL, 64), MD_CAL_EINVAL, "NULL buffer");
}

static void test_names(void)
{
    is_str(md_cal_reason_name(MD_CAL_R_NONE), "", "no reason, empty name");
    is_str(md_cal_reason_name(MD_CAL_R_GOOD_FRIDAY), "Good Friday", "Good Friday");
    is_str(md_cal_reason_name(MD_CAL_R_JUNETEENTH), "Juneteenth National Independence Day", "Juneteenth");
    is_str(md_cal_reason_name(MD_CAL_R_CHRISTMAS_EVE), "Christmas Eve", "Christmas Eve");
    ok(md_cal_reason_name(99) == NULL && md_cal_reason_name(-1) == NULL, "unknown reasons: NULL");
    is_str(au_ffi_cal_reason_name(99), "", "FFI: unknown reason, empty string");
}

static void test_ffi(void)
{
    int64_t a = 0, b = 0, n = 0;
    char err[64];
    md_cal_day c;
    md_cal_closed h[4];
    is_int(au_ffi_cal_parse("2024-07-03", 10, NULL, err, sizeof err), MD_CAL_EINVAL, "parse, NULL out");
    is_int(au_ffi_cal_from_civil(2024, 2, 30, &a, err, sizeof err), MD_CAL_EINVAL, "from_civil Feb 30");
    is_str(err, "day 30 is out of range 1..29 for 2024-02", "... message");
    is_int(au_ffi_cal_from_civil(-5, 1, 1, &a, err, sizeof err), MD_CAL_EINVAL, "from_civil year -5");
    is_int(au_ffi_cal_from_civil(2024, 7, 3, &a, NULL, 0), MD_CAL_OK, "from_civil 2024-07-03");
    is_int(a, D(2024, 7, 3), "... day number");
    is_int(au_ffi_cal_from_civil(2024, 7, 3, NULL, NULL, 0), MD_CAL_EINVAL, "from_civil, NULL out");
    is_int(au_ffi_cal_classify(a, NULL), MD_CAL_EINVAL, "classify, NULL out");
    is_int(au_ffi_cal_classify(a, &c), MD_CAL_OK, "classify");
    is_int(au_ffi_cal_next(a, NULL), MD_CAL_EINVAL, "next, NULL out");
    is_int(au_ffi_cal_previous(a, NULL), MD_CAL_EINVAL, "previous, NULL out");
    is_int(au_ffi_cal_session(a, NULL, &b), MD_CAL_EINVAL, "session, NULL open");
    is_int(au_ffi_cal_session(a, &a, NULL), MD_CAL_EINVAL, "session, NULL close");
    is_int(au_ffi_cal_weekly_expiry(a, NULL), MD_CAL_EINVAL, "weekly, NULL out");
    is_int(au_ffi_cal_monthly_expiry(2024, 1, NULL), MD_CAL_EINVAL, "monthly, NULL out");
    is_int(au_ffi_cal_trading_days(a, a + 10, NULL, 5, &n), MD_CAL_EINVAL, "trading_days, cap but no buffer");
    is_int(au_ffi_cal_trading_days(a, a + 10, &b, -1, &n), MD_CAL_EINVAL, "trading_days, negative cap");
    is_int(au_ffi_cal_trading_days(a, a + 10, NULL, 0, NULL), MD_CAL_EINVAL, "trading_days, NULL count");
    is_int(au_ffi_cal_trading_days(a, a + 10, NULL, 0, &n), MD_CAL_OK, "trading_days, count only");
    is_int(n, 7, "... 2024-07-03..13 has 7 trading days");
    is_int(au_ffi_cal_holidays(2024, NULL, 4, &n), MD_CAL_EINVAL, "holidays, cap but no buffer");
    is_int(au_ffi_cal_holidays(2024, h, -4, &n), MD_CAL_EINVAL, "holidays, negative cap");
    is_int(au_ffi_cal_holidays(2024, h, 4, &n), MD_CAL_OK, "holidays 2024, cap 4");
    ok(n == 10 && h[3].day == D(2024, 3, 29), "... ten, the fourth is Good Friday");
    is_int(au_ffi_cal_holidays(3000, h, 4, &n), MD_CAL_ERANGE, "holidays 3000: ERANGE");
    is_int(au_ffi_cal_format(a, NULL, 11), MD_CAL_EINVAL, "format, NULL buffer");
    is_int(au_ffi_cal_ny_date(0, NULL), MD_CAL_EINVAL, "ny_date, NULL out");
    is_int(au_ffi_cal_ny_date(utc(2024, 7, 4, 3, 59), &a), MD_CAL_OK, "ny_date");
    is_str(S(a), "2024-07-03", "03:59Z in July is still the 3rd in New York (EDT)");
    au_ffi_cal_ny_date(utc(2024, 7, 4, 4, 0), &a);
    is_str(S(a), "2024-07-04", "04:00Z is midnight EDT");
    au_ffi_cal_ny_date(utc(2024, 1, 2, 4, 59), &a);
    is_str(S(a), "2024-01-01", "04:59Z in January is still the 1st (EST)");
    au_ffi_cal_ny_date(utc(2024, 1, 2, 5, 0), &a);
    is_str(S(a), "2024-01-02", "05:00Z is midnight EST");
    au_ffi_cal_ny_date(utc(2024, 1, 2, 14, 30), &a);
    is_str(S(a), "2024-01-02", "a daily bar's 09:30 stamp maps back to its date");
    is_int(au_ffi_cal_ny_date(INT64_MIN, &a), MD_CAL_OK, "ny_date INT64_MIN does not overflow");
    is_int(au_ffi_cal_ny_date(INT64_MAX, &a), MD_CAL_OK, "ny_date INT64_MAX does not overflow");
}

int main(void)
{
    test_range();
    test_easter();
    test_holidays();
    test_special_closings();
    test_early_closes();
    test_sessions();
    test_steps();
    test_counts();
    test_expiries();
    test_year_lists();
    test_invariants();
    test_text();
    test_names();
    test_ffi();
    return done_testing();
}
