/* calendar.c — see calendar.h; the rules and their sources are in docs/calendar.md. */
#include "md/calendar.h"

#include <stdio.h>

#include "sys/autime.h"
#include "sys/errmsg.h"

enum { MON = 1, TUE = 2, WED = 3, THU = 4, FRI = 5, SAT = 6, SUN = 7 };

/* Closings no rule produces: funerals and days of mourning for presidents, the
 * September 11 attacks, Hurricane Sandy.  This list and the two early closes below
 * are the only dates written down anywhere in the calendar. */
static const struct {
    short y;
    signed char m, d;
    signed char reason;
} special_closings[] = {
    {2001, 9, 11, MD_CAL_R_SEPT11}, {2001, 9, 12, MD_CAL_R_SEPT11},
    {2001, 9, 13, MD_CAL_R_SEPT11}, {2001, 9, 14, MD_CAL_R_SEPT11},
    {2004, 6, 11, MD_CAL_R_REAGAN}, {2007, 1, 2, MD_CAL_R_FORD},
    {2012, 10, 29, MD_CAL_R_SANDY}, {2012, 10, 30, MD_CAL_R_SANDY},
    {2018, 12, 5, MD_CAL_R_BUSH},   {2025, 1, 9, MD_CAL_R_CARTER},
};

/* NYSE announced 13:00 closes on these Fridays after a Thursday Christmas, but not in
 * 2008, 2014 or 2025, so they are not a rule. */
static const struct {
    short y;
    signed char m, d;
} special_early_closes[] = {{1997, 12, 26}, {2003, 12, 26}};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

int md_cal_in_range(int64_t day)
{
    return day >= MD_CAL_DAY_MIN && day <= MD_CAL_DAY_MAX;
}

/* The anonymous Gregorian computus (Meeus/Jones/Butcher): the Sunday after the
 * ecclesiastical full moon on or after March 21, from the Metonic cycle (a), the
 * century corrections for leap years (f, g) and the lunar drift (h). */
int64_t md_cal_easter(int year)
{
    int a = year % 19, b = year / 100, c = year % 100;
    int d = b / 4, e = b % 4;
    int f = (b + 8) / 25, g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31;
    int dom = (h + l - 7 * m + 114) % 31 + 1;
    return au_time_days_from_civil(year, month, dom);
}

/* A fixed-date holiday hm-hd: on its date, else on the Friday before when it falls on
 * a Saturday, else on the Monday after when it falls on a Sunday (NYSE Rule 7.2).
 * m, d, wd describe the weekday being asked about. */
static int fixed_holiday(int m, int d, int wd, int hm, int hd, int *observed)
{
    if (m != hm) return 0;
    if (d == hd) return 1;
    if ((d == hd - 1 && wd == FRI) || (d == hd + 1 && wd == MON)) {
        *observed = 1;
        return 1;
    }
    return 0;
}

/* The regular holiday a weekday is closed for, or MD_CAL_R_NONE. */
static int holiday(int y, int m, int d, int wd, int64_t day, int *observed)
{
    *observed = 0;
    switch (m) {
    case 1:
        /* A Saturday New Year's Day is not moved to Friday December 31: Rule 7.2
         * keeps the exchange open when the Friday ends an accounting year. */
        if (d == 1) return MD_CAL_R_NEW_YEAR;
        if (d == 2 && wd == MON) {
            *observed = 1;
            return MD_CAL_R_NEW_YEAR;
        }
        /* Third Monday; the NYSE first closed for it in 1998. */
        if (y >= 1998 && wd == MON && d >= 15 && d <= 21) return MD_CAL_R_MLK;
        return MD_CAL_R_NONE;
    case 2: /* third Monday (Uniform Monday Holiday Act, 1971) */
        return wd == MON && d >= 15 && d <= 21 ? MD_CAL_R_WASHINGTON : MD_CAL_R_NONE;
    case 3:
    case 4:
        return wd == FRI && day == md_cal_easter(y) - 2 ? MD_CAL_R_GOOD_FRIDAY : MD_CAL_R_NONE;
    case 5: /* last Monday */
        return wd == MON && d >= 25 ? MD_CAL_R_MEMORIAL : MD_CAL_R_NONE;
    case 6: /* a federal holiday from 2021; the NYSE closed for it from 2022 */
        return y >= 2022 && fixed_holiday(m, d, wd, 6, 19, observed) ? MD_CAL_R_JUNETEENTH
                                                                     : MD_CAL_R_NONE;
    case 7:
        return fixed_holiday(m, d, wd, 7, 4, observed) ? MD_CAL_R_INDEPENDENCE : MD_CAL_R_NONE;
    case 9: /* first Monday */
        return wd == MON && d <= 7 ? MD_CAL_R_LABOR : MD_CAL_R_NONE;
    case 11: /* fourth Thursday */
        return wd == THU && d >= 22 && d <= 28 ? MD_CAL_R_THANKSGIVING : MD_CAL_R_NONE;
    case 12:
        return fixed_holiday(m, d, wd, 12, 25, observed) ? MD_CAL_R_CHRISTMAS : MD_CAL_R_NONE;
    default:
        return MD_CAL_R_NONE;
    }
}

/* The early-close reason of a weekday already known to trade, or MD_CAL_R_NONE.
 * A Friday July 3 or December 24 never gets here: it is the observed holiday. */
static int early_close(int y, int m, int d, int wd)
{
    if (m == 7) {
        /* July 4 on a Tuesday, Wednesday or Friday: July 3 closes at 13:00.  July 4 on
         * a Thursday: before 2013 the Friday after closed early, from 2013 the
         * Wednesday before.  July 4 on a Monday or a weekend: no early close. */
        if (d == 3 && (wd == MON || wd == TUE || wd == THU || (wd == WED && y >= 2013)))
            return MD_CAL_R_BEFORE_INDEPENDENCE;
        if (d == 5 && wd == FRI && y < 2013) return MD_CAL_R_AFTER_INDEPENDENCE;
        return MD_CAL_R_NONE;
    }
    if (m == 11 && wd == FRI && d >= 23 && d <= 29) return MD_CAL_R_AFTER_THANKSGIVING;
    if (m == 12 && d == 24) return MD_CAL_R_CHRISTMAS_EVE; /* Monday..Thursday */
    for (size_t i = 0; i < N_OF(special_early_closes); i++)
        if (special_early_closes[i].y == y && special_early_closes[i].m == m
            && special_early_closes[i].d == d)
            return MD_CAL_R_AFTER_CHRISTMAS;
    return MD_CAL_R_NONE;
}

static int special_closing(int y, int m, int d)
{
    /* Every entry is from 2001 on; skip the scan for the years before. */
    if (y < 2001) return MD_CAL_R_NONE;
    for (size_t i = 0; i < N_OF(special_closings); i++)
        if (special_closings[i].y == y && special_closings[i].m == m
            && special_closings[i].d == d)
            return special_closings[i].reason;
    return MD_CAL_R_NONE;
}

int md_cal_classify(int64_t day, md_cal_day *out)
{
    if (!md_cal_in_range(day)) return MD_CAL_ERANGE;
    int64_t y64;
    int m, d;
    au_time_civil_from_days(day, &y64, &m, &d);
    int y = (int)y64, wd = au_time_weekday(day), observed = 0, r;
    out->observed = 0;
    if (wd == SAT || wd == SUN) {
        out->kind = MD_CAL_WEEKEND;
        out->reason = MD_CAL_R_NONE;
    } else if ((r = special_closing(y, m, d)) != MD_CAL_R_NONE) {
        out->kind = MD_CAL_SPECIAL;
        out->reason = r;
    } else if ((r = holiday(y, m, d, wd, day, &observed)) != MD_CAL_R_NONE) {
        out->kind = MD_CAL_HOLIDAY;
        out->reason = r;
        out->observed = observed;
    } else if ((r = early_close(y, m, d, wd)) != MD_CAL_R_NONE) {
        out->kind = MD_CAL_EARLY;
        out->reason = r;
    } else {
        out->kind = MD_CAL_FULL;
        out->reason = MD_CAL_R_NONE;
    }
    return MD_CAL_OK;
}

static int trades(const md_cal_day *c)
{
    return c->kind == MD_CAL_FULL || c->kind == MD_CAL_EARLY;
}

int md_cal_is_trading_day(int64_t day)
{
    md_cal_day c;
    int rc = md_cal_classify(day, &c);
    return rc != MD_CAL_OK ? rc : trades(&c);
}

int md_cal_is_early_close(int64_t day)
{
    md_cal_day c;
    int rc = md_cal_classify(day, &c);
    return rc != MD_CAL_OK ? rc : c.kind == MD_CAL_EARLY;
}

/* Walk from day in steps of +1 or -1 to the first trading day.  Closed runs are at
 * most five weekdays (September 2001), so this ends within a dozen steps. */
static int step_to_trading_day(int64_t day, int dir, int64_t *out)
{
    if (!md_cal_in_range(day)) return MD_CAL_ERANGE;
    for (int64_t d = day + dir; md_cal_in_range(d); d += dir) {
        if (md_cal_is_trading_day(d) == 1) {
            *out = d;
            return MD_CAL_OK;
        }
    }
    return MD_CAL_ERANGE;
}

int md_cal_next_trading_day(int64_t day, int64_t *out)
{
    return step_to_trading_day(day, 1, out);
}

int md_cal_previous_trading_day(int64_t day, int64_t *out)
{
    return step_to_trading_day(day, -1, out);
}

int md_cal_trading_days(int64_t from, int64_t to, int64_t *out, size_t cap, size_t *count)
{
    if (!md_cal_in_range(from) || !md_cal_in_range(to)) return MD_CAL_ERANGE;
    size_t n = 0;
    for (int64_t d = from; d <= to; d++) {
        if (md_cal_is_trading_day(d) != 1) continue;
        if (n < cap && out != NULL) out[n] = d;
        n++;
    }
    *count = n;
    return MD_CAL_OK;
}

/* A New York wall time on day to UTC.  Session times are never in a DST gap or
 * overlap (those are at 01:00-03:00), so the policies never matter. */
static int64_t ny_instant(int64_t day, int hour, int min)
{
    int64_t local = day * AU_TIME_US_PER_DAY + hour * AU_TIME_US_PER_HOUR + min * AU_TIME_US_PER_MIN;
    int64_t us = 0;
    int offset;
    au_time_ny_to_utc(local, AU_TIME_AMBIG_EARLIER, AU_TIME_GAP_LATER, &us, &offset);
    return us;
}

int md_cal_session(int64_t day, int64_t *open_us, int64_t *close_us)
{
    md_cal_day c;
    int rc = md_cal_classify(day, &c);
    if (rc != MD_CAL_OK) return rc;
    if (!trades(&c)) return MD_CAL_ECLOSED;
    *open_us = ny_instant(day, 9, 30);
    *close_us = ny_instant(day, c.kind == MD_CAL_EARLY ? 13 : 16, 0);
    return MD_CAL_OK;
}

/* The trading day on or before friday that is still on or after monday. */
static int expiry_on_or_before(int64_t monday, int64_t friday, int64_t *out)
{
    if (!md_cal_in_range(friday)) return MD_CAL_ERANGE;
    for (int64_t d = friday; d >= monday && md_cal_in_range(d); d--) {
        if (md_cal_is_trading_day(d) == 1) {
            *out = d;
            return MD_CAL_OK;
        }
    }
    return MD_CAL_ECLOSED;
}

int md_cal_weekly_expiry(int64_t day, int64_t *out)
{
    if (!md_cal_in_range(day)) return MD_CAL_ERANGE;
    int64_t monday = day - (au_time_weekday(day) - MON);
    return expiry_on_or_before(monday, monday + 4, out);
}

int md_cal_monthly_expiry(int year, int month, int64_t *out)
{
    if (month < 1 || month > 12) return MD_CAL_EINVAL;
    if (year < MD_CAL_YEAR_MIN || year > MD_CAL_YEAR_MAX) return MD_CAL_ERANGE;
    int64_t first = au_time_days_from_civil(year, month, 1);
    int64_t friday = first + (FRI - au_time_weekday(first) + 7) % 7 + 14;
    return expiry_on_or_before(friday - 4, friday, out);
}

int md_cal_holidays(int year, md_cal_closed *out, size_t cap, size_t *count)
{
    if (year < MD_CAL_YEAR_MIN || year > MD_CAL_YEAR_MAX) return MD_CAL_ERANGE;
    int64_t first = au_time_days_from_civil(year, 1, 1);
    int64_t last = au_time_days_from_civil(year, 12, 31);
    size_t n = 0;
    for (int64_t d = first; d <= last; d++) {
        md_cal_day c;
        md_cal_classify(d, &c);
        if (c.kind != MD_CAL_HOLIDAY && c.kind != MD_CAL_SPECIAL) continue;
        if (n < cap && out != NULL) {
            out[n].day = d;
            out[n].kind = c.kind;
            out[n].reason = c.reason;
            out[n].observed = c.observed;
        }
        n++;
    }
    *count = n;
    return MD_CAL_OK;
}

const char *md_cal_reason_name(int reason)
{
    switch (reason) {
    case MD_CAL_R_NONE: return "";
    case MD_CAL_R_NEW_YEAR: return "New Year's Day";
    case MD_CAL_R_MLK: return "Martin Luther King, Jr. Day";
    case MD_CAL_R_WASHINGTON: return "Washington's Birthday";
    case MD_CAL_R_GOOD_FRIDAY: return "Good Friday";
    case MD_CAL_R_MEMORIAL: return "Memorial Day";
    case MD_CAL_R_JUNETEENTH: return "Juneteenth National Independence Day";
    case MD_CAL_R_INDEPENDENCE: return "Independence Day";
    case MD_CAL_R_LABOR: return "Labor Day";
    case MD_CAL_R_THANKSGIVING: return "Thanksgiving Day";
    case MD_CAL_R_CHRISTMAS: return "Christmas Day";
    case MD_CAL_R_SEPT11: return "September 11 attacks";
    case MD_CAL_R_REAGAN: return "National Day of Mourning for President Ronald Reagan";
    case MD_CAL_R_FORD: return "National Day of Mourning for President Gerald R. Ford";
    case MD_CAL_R_SANDY: return "Hurricane Sandy";
    case MD_CAL_R_BUSH: return "National Day of Mourning for President George H. W. Bush";
    case MD_CAL_R_CARTER: return "National Day of Mourning for President Jimmy Carter";
    case MD_CAL_R_BEFORE_INDEPENDENCE: return "Day before Independence Day";
    case MD_CAL_R_AFTER_INDEPENDENCE: return "Day after Independence Day";
    case MD_CAL_R_AFTER_THANKSGIVING: return "Day after Thanksgiving";
    case MD_CAL_R_CHRISTMAS_EVE: return "Christmas Eve";
    case MD_CAL_R_AFTER_CHRISTMAS: return "Day after Christmas";
    default: return NULL;
    }
}

/* ---- dates as text ---- */

/* Check year-month-day; MD_CAL_OK or MD_CAL_EINVAL with a message. */
static int check_civil(int y, int m, int d, char *err, size_t errlen)
{
    return au_time_check_date(y, m, d, err, errlen) == AU_TIME_OK ? MD_CAL_OK : MD_CAL_EINVAL;
}

int md_cal_parse_date(const char *s, size_t len, int64_t *day, char *err, size_t errlen)
{
    if (s == NULL || len != 10) {
        au_errf(err, errlen, 0, "expected a date as YYYY-MM-DD (10 characters), got %zu characters",
                s == NULL ? (size_t)0 : len);
        return MD_CAL_EINVAL;
    }
    int v[3] = {0, 0, 0};
    static const char *const what[3] = {"year", "month", "day"};
    size_t pos = 0;
    for (int f = 0; f < 3; f++) {
        size_t width = f == 0 ? 4 : 2;
        for (size_t i = 0; i < width; i++, pos++) {
            unsigned char ch = (unsigned char)s[pos];
            if (ch < '0' || ch > '9') {
                au_errf(err, errlen, 0, "expected a digit of the %s at byte %zu (YYYY-MM-DD)",
                        what[f], pos + 1);
                return MD_CAL_EINVAL;
            }
            v[f] = v[f] * 10 + (ch - '0');
        }
        if (f < 2) {
            if (s[pos] != '-') {
                au_errf(err, errlen, 0, "expected '-' after the %s at byte %zu (YYYY-MM-DD)",
                        what[f], pos + 1);
                return MD_CAL_EINVAL;
            }
            pos++;
        }
    }
    if (check_civil(v[0], v[1], v[2], err, errlen) != MD_CAL_OK) return MD_CAL_EINVAL;
    *day = au_time_days_from_civil(v[0], v[1], v[2]);
    return MD_CAL_OK;
}

int md_cal_format_date(int64_t day, char *buf, size_t buflen)
{
    if (buf == NULL || buflen < MD_CAL_DATE_BUFLEN) return MD_CAL_EINVAL;
    /* Outside 0000-01-01 .. 9999-12-31 the year would not fit four digits (and a day
     * count near the int64_t limits would overflow the civil conversion). */
    if (day < INT64_C(-719528) || day > INT64_C(2932896)) return MD_CAL_EINVAL;
    int64_t y;
    int m, d;
    au_time_civil_from_days(day, &y, &m, &d);
    snprintf(buf, buflen, "%04d-%02d-%02d", (int)y, m, d);
    return MD_CAL_OK;
}

/* ---- FFI surface ---- */

int au_ffi_cal_parse(const char *s, size_t len, int64_t *day, char *errmsg, size_t errlen)
{
    if (day == NULL) return MD_CAL_EINVAL;
    return md_cal_parse_date(s, len, day, errmsg, errlen);
}

int au_ffi_cal_from_civil(int year, int month, int day, int64_t *out, char *errmsg,
                          size_t errlen)
{
    if (out == NULL) return MD_CAL_EINVAL;
    if (check_civil(year, month, day, errmsg, errlen) != MD_CAL_OK) return MD_CAL_EINVAL;
    *out = au_time_days_from_civil(year, month, day);
    return MD_CAL_OK;
}

int au_ffi_cal_format(int64_t day, char *buf, size_t buflen)
{
    return md_cal_format_date(day, buf, buflen);
}

int au_ffi_cal_ny_date(int64_t us, int64_t *day)
{
    if (day == NULL) return MD_CAL_EINVAL;
    /* Split before shifting so that us near the int64_t limits cannot overflow. */
    int64_t rem;
    int64_t d = au_time_floor_days(us, &rem);
    rem += (int64_t)au_time_ny_offset(us) * AU_TIME_US_PER_MIN;
    if (rem < 0) d--;
    *day = d;
    return MD_CAL_OK;
}

int au_ffi_cal_classify(int64_t day, md_cal_day *out)
{
    if (out == NULL) return MD_CAL_EINVAL;
    return md_cal_classify(day, out);
}

int au_ffi_cal_next(int64_t day, int64_t *out)
{
    if (out == NULL) return MD_CAL_EINVAL;
    return md_cal_next_trading_day(day, out);
}

int au_ffi_cal_previous(int64_t day, int64_t *out)
{
    if (out == NULL) return MD_CAL_EINVAL;
    return md_cal_previous_trading_day(day, out);
}

int au_ffi_cal_trading_days(int64_t from, int64_t to, int64_t *out, int64_t cap,
                            int64_t *count)
{
    if (count == NULL || cap < 0 || (cap > 0 && out == NULL)) return MD_CAL_EINVAL;
    size_t n = 0;
    int rc = md_cal_trading_days(from, to, out, (size_t)cap, &n);
    if (rc == MD_CAL_OK) *count = (int64_t)n;
    return rc;
}

int au_ffi_cal_session(int64_t day, int64_t *open_us, int64_t *close_us)
{
    if (open_us == NULL || close_us == NULL) return MD_CAL_EINVAL;
    return md_cal_session(day, open_us, close_us);
}

int au_ffi_cal_weekly_expiry(int64_t day, int64_t *out)
{
    if (out == NULL) return MD_CAL_EINVAL;
    return md_cal_weekly_expiry(day, out);
}

int au_ffi_cal_monthly_expiry(int year, int month, int64_t *out)
{
    if (out == NULL) return MD_CAL_EINVAL;
    return md_cal_monthly_expiry(year, month, out);
}

int au_ffi_cal_holidays(int year, md_cal_closed *out, int64_t cap, int64_t *count)
{
    if (count == NULL || cap < 0 || (cap > 0 && out == NULL)) return MD_CAL_EINVAL;
    size_t n = 0;
    int rc = md_cal_holidays(year, out, (size_t)cap, &n);
    if (rc == MD_CAL_OK) *count = (int64_t)n;
    return rc;
}

const char *au_ffi_cal_reason_name(int reason)
{
    const char *s = md_cal_reason_name(reason);
    return s != NULL ? s : "";
}
