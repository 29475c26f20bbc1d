/* calendar.h — the NYSE trading calendar, computed by rule: which dates trade, why a
 * weekday is closed, the 13:00 early closes, the regular session's open and close as
 * UTC instants, and the weekly and monthly option expiry dates.
 *
 * A date is an int64_t day number: days since 1970-01-01 (au_time_days_from_civil),
 * read as a New York calendar date.  The calendar covers MD_CAL_DAY_MIN ..
 * MD_CAL_DAY_MAX (1995-01-01 .. 2199-12-31); outside it every function answers
 * MD_CAL_ERANGE rather than guess (docs/calendar.md says why 1995).
 *
 * The rules live in calendar.c; the only dates written down are the special
 * closings and two special early closes that no rule produces.  Nothing here
 * allocates or keeps state: every function is a plain computation over its
 * arguments and caller-owned output memory, cheap enough (a few dozen integer
 * operations) to call per bar without a cache.
 *
 * The au_ffi_cal_* functions are the surface lua/alluse/calendar.lua declares with
 * ffi.cdef.  They check their arguments again, so a wrong call from Lua fails with a
 * status, never a crash. */
#ifndef AU_MD_CALENDAR_H
#define AU_MD_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#define MD_CAL_YEAR_MIN 1995
#define MD_CAL_YEAR_MAX 2199
#define MD_CAL_DAY_MIN INT64_C(9131)  /* 1995-01-01 */
#define MD_CAL_DAY_MAX INT64_C(84005) /* 2199-12-31 */
/* "YYYY-MM-DD" plus the NUL. */
#define MD_CAL_DATE_BUFLEN 11

enum {
    MD_CAL_OK = 0,
    MD_CAL_EINVAL = -1, /* malformed text, a field out of range, a bad pointer */
    MD_CAL_ERANGE = -2, /* a date (argument or result) outside the covered years */
    MD_CAL_ECLOSED = -3 /* md_cal_session: the exchange does not trade that date */
};

/* What kind of day a date is. */
enum {
    MD_CAL_FULL = 0,    /* trading day, 09:30-16:00 New York */
    MD_CAL_EARLY = 1,   /* trading day closing at 13:00 New York */
    MD_CAL_WEEKEND = 2, /* Saturday or Sunday */
    MD_CAL_HOLIDAY = 3, /* a weekday closed for a regular holiday (or its observance) */
    MD_CAL_SPECIAL = 4  /* a weekday closed by a one-off decision (md_cal_reason says which) */
};

/* Why: the holiday, the special closing, or the early close.  Stable numbers: the Lua
 * module mirrors them only through md_cal_reason_name. */
enum {
    MD_CAL_R_NONE = 0,
    MD_CAL_R_NEW_YEAR = 1,
    MD_CAL_R_MLK = 2,
    MD_CAL_R_WASHINGTON = 3,
    MD_CAL_R_GOOD_FRIDAY = 4,
    MD_CAL_R_MEMORIAL = 5,
    MD_CAL_R_JUNETEENTH = 6,
    MD_CAL_R_INDEPENDENCE = 7,
    MD_CAL_R_LABOR = 8,
    MD_CAL_R_THANKSGIVING = 9,
    MD_CAL_R_CHRISTMAS = 10,
    /* special closings */
    MD_CAL_R_SEPT11 = 20,
    MD_CAL_R_REAGAN = 21,
    MD_CAL_R_FORD = 22,
    MD_CAL_R_SANDY = 23,
    MD_CAL_R_BUSH = 24,
    MD_CAL_R_CARTER = 25,
    /* early closes */
    MD_CAL_R_BEFORE_INDEPENDENCE = 40,
    MD_CAL_R_AFTER_INDEPENDENCE = 41,
    MD_CAL_R_AFTER_THANKSGIVING = 42,
    MD_CAL_R_CHRISTMAS_EVE = 43,
    MD_CAL_R_AFTER_CHRISTMAS = 44
};

/* One date, classified. */
typedef struct md_cal_day {
    int kind;     /* MD_CAL_FULL .. MD_CAL_SPECIAL */
    int reason;   /* MD_CAL_R_*, MD_CAL_R_NONE for full days and weekends */
    int observed; /* 1 when a holiday is kept on this date but falls on another */
} md_cal_day;

/* One closed weekday, as md_cal_holidays lists them. */
typedef struct md_cal_closed {
    int64_t day;
    int kind;   /* MD_CAL_HOLIDAY or MD_CAL_SPECIAL */
    int reason;
    int observed;
} md_cal_closed;

/* 1 if day is inside the covered range, else 0. */
int md_cal_in_range(int64_t day);

/* Easter Sunday of a Gregorian year (any year >= 1583), as a day number. */
int64_t md_cal_easter(int year);

/* Classify day.  MD_CAL_OK or MD_CAL_ERANGE. */
int md_cal_classify(int64_t day, md_cal_day *out);

/* 1 trading day, 0 closed, MD_CAL_ERANGE. */
int md_cal_is_trading_day(int64_t day);
/* 1 trading day with a 13:00 close, 0 otherwise (closed days too), MD_CAL_ERANGE. */
int md_cal_is_early_close(int64_t day);

/* The first trading day strictly after / before day.  MD_CAL_OK, or MD_CAL_ERANGE when
 * day or the answer lies outside the covered range. */
int md_cal_next_trading_day(int64_t day, int64_t *out);
int md_cal_previous_trading_day(int64_t day, int64_t *out);

/* Trading days in from..to, both included (none when from > to).  Writes the first
 * min(count, cap) of them to out (out may be NULL when cap is 0) and the count to
 * *count.  MD_CAL_OK or MD_CAL_ERANGE (either end outside the range). */
int md_cal_trading_days(int64_t from, int64_t to, int64_t *out, size_t cap, size_t *count);

/* The regular session of day as UTC microseconds: 09:30 to 16:00 New York, or to 13:00
 * on an early close.  MD_CAL_OK, MD_CAL_ECLOSED, MD_CAL_ERANGE. */
int md_cal_session(int64_t day, int64_t *open_us, int64_t *close_us);

/* The expiry of the Monday-Sunday week containing day: its Friday, or the last
 * trading day before that Friday within the same week when the Friday is closed.
 * MD_CAL_OK; MD_CAL_ECLOSED when the week has no trading day up to Friday;
 * MD_CAL_ERANGE when the week's Friday is outside the covered range. */
int md_cal_weekly_expiry(int64_t day, int64_t *out);
/* The monthly expiry: the third Friday of year-month, or the last trading day before
 * it when it is closed.  MD_CAL_EINVAL for month not 1..12, MD_CAL_ERANGE. */
int md_cal_monthly_expiry(int year, int month, int64_t *out);

/* The closed weekdays of year, in date order.  Writes the first min(count, cap) to
 * out and the count to *count (at most 16 for any year with the rules in force).
 * MD_CAL_OK or MD_CAL_ERANGE. */
int md_cal_holidays(int year, md_cal_closed *out, size_t cap, size_t *count);

/* A human name for a reason ("Good Friday", "Christmas Eve"), "" for MD_CAL_R_NONE
 * and NULL for a number that is not a reason.  Static strings. */
const char *md_cal_reason_name(int reason);

/* Strict "YYYY-MM-DD" (exactly ten bytes, a real Gregorian date, years 0000-9999) to
 * a day number; the range is not checked.  MD_CAL_OK or MD_CAL_EINVAL with a message
 * in err (NUL-terminated, truncated to errlen; err may be NULL). */
int md_cal_parse_date(const char *s, size_t len, int64_t *day, char *err, size_t errlen);
/* day as "YYYY-MM-DD" into buf (at least MD_CAL_DATE_BUFLEN bytes).  MD_CAL_OK, or
 * MD_CAL_EINVAL for a short buffer or a year outside 0000..9999. */
int md_cal_format_date(int64_t day, char *buf, size_t buflen);

/* ---- FFI surface for lua/alluse/calendar.lua: an int status (MD_CAL_OK or a
 * negative MD_CAL_E*), results through the pointers. */
int au_ffi_cal_parse(const char *s, size_t len, int64_t *day, char *errmsg, size_t errlen);
/* year-month-day checked (a real date of years 0..9999) to a day number. */
int au_ffi_cal_from_civil(int year, int month, int day, int64_t *out, char *errmsg,
                          size_t errlen);
int au_ffi_cal_format(int64_t day, char *buf, size_t buflen);
/* The New York calendar date of a UTC instant, as a day number. */
int au_ffi_cal_ny_date(int64_t us, int64_t *day);
int au_ffi_cal_classify(int64_t day, md_cal_day *out);
int au_ffi_cal_next(int64_t day, int64_t *out);
int au_ffi_cal_previous(int64_t day, int64_t *out);
/* md_cal_trading_days with a signed capacity (Lua passes numbers). */
int au_ffi_cal_trading_days(int64_t from, int64_t to, int64_t *out, int64_t cap,
                            int64_t *count);
int au_ffi_cal_session(int64_t day, int64_t *open_us, int64_t *close_us);
int au_ffi_cal_weekly_expiry(int64_t day, int64_t *out);
int au_ffi_cal_monthly_expiry(int year, int month, int64_t *out);
int au_ffi_cal_holidays(int year, md_cal_closed *out, int64_t cap, int64_t *count);
/* md_cal_reason_name, but "" instead of NULL so Lua can always ffi.string it. */
const char *au_ffi_cal_reason_name(int reason);

#endif
