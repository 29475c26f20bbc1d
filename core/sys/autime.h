/* autime.h — time for alluse: clocks, the proleptic Gregorian calendar, the
 * America/New_York offset by rule, and ISO 8601 text.
 *
 * A time is int64_t microseconds since 1970-01-01T00:00:00Z, leap seconds ignored
 * (POSIX time).  A "local" time is the same count taken on a wall clock: the
 * microseconds since 1970-01-01T00:00 of that clock, so utc = local - offset.
 * Offsets are minutes east of UTC (New York is -300 or -240).
 *
 * Everything here is a plain function over caller-owned memory: no allocation, no
 * globals, no tzdata at run time.  The au_ffi_time_* functions are the surface that
 * lua/alluse/time.lua declares with ffi.cdef; their contract is part of AU_ABI. */
#ifndef AU_SYS_AUTIME_H
#define AU_SYS_AUTIME_H

#include <stddef.h>
#include <stdint.h>

#define AU_TIME_US_PER_SEC INT64_C(1000000)
#define AU_TIME_US_PER_MIN (60 * AU_TIME_US_PER_SEC)
#define AU_TIME_US_PER_HOUR (60 * AU_TIME_US_PER_MIN)
#define AU_TIME_US_PER_DAY (24 * AU_TIME_US_PER_HOUR)

/* ISO text and composing from fields cover years 0000..9999 (four-digit years). */
#define AU_TIME_YEAR_MIN 0
#define AU_TIME_YEAR_MAX 9999
/* The longest ISO string we write, "YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM", plus NUL. */
#define AU_TIME_ISO_BUFLEN 40
/* The widest fixed offset accepted anywhere: +-23:59. */
#define AU_TIME_OFFSET_MAX 1439

enum {
    AU_TIME_OK = 0,
    AU_TIME_EINVAL = -1,       /* a field out of range or malformed text */
    AU_TIME_ERANGE = -2,       /* the result does not fit the supported range */
    AU_TIME_ENONEXISTENT = -3, /* a New York wall time skipped by spring-forward */
    AU_TIME_EAMBIGUOUS = -4,   /* a New York wall time repeated by fall-back */
    AU_TIME_ECLOCK = -5        /* clock_gettime failed */
};

/* How a wall time is placed in a zone. */
enum {
    AU_TIME_ZONE_UTC = 0,   /* offset 0, written as "Z" */
    AU_TIME_ZONE_FIXED = 1, /* the given offset, written as "+HH:MM" (even for 0) */
    AU_TIME_ZONE_NY = 2     /* America/New_York by rule */
};

/* Which instant a New York wall time means when it occurs twice (fall-back). */
enum {
    AU_TIME_AMBIG_EARLIER = 0, /* the first occurrence, still daylight time */
    AU_TIME_AMBIG_LATER = 1,   /* the second occurrence, standard time again */
    AU_TIME_AMBIG_ERROR = 2
};

/* What a New York wall time means when it never occurs (spring-forward gap). */
enum {
    AU_TIME_GAP_ERROR = 0,
    AU_TIME_GAP_LATER = 1,  /* read with the offset before the jump: 02:30 -> 03:30 EDT */
    AU_TIME_GAP_EARLIER = 2 /* read with the offset after the jump: 02:30 -> 01:30 EST */
};

/* Fractional seconds when formatting. */
enum {
    AU_TIME_FRAC_NONE = 0,   /* seconds only; the microseconds are dropped (floor) */
    AU_TIME_FRAC_ALWAYS = 1, /* always ".ffffff" */
    AU_TIME_FRAC_AUTO = 2    /* ".ffffff" only when the microseconds are not zero */
};

/* A time broken down on some wall clock.  All int so that ffi.cdef can mirror it. */
typedef struct au_time_fields {
    int year;   /* proleptic Gregorian, astronomical (year 0 = 1 BC) */
    int month;  /* 1..12 */
    int day;    /* 1..31 */
    int hour;   /* 0..23 */
    int min;    /* 0..59 */
    int sec;    /* 0..59 */
    int usec;   /* 0..999999 */
    int wday;   /* ISO: 1 Monday .. 7 Sunday */
    int yday;   /* 1..366 */
    int offset; /* minutes east of UTC of the clock the fields are read on */
    int dst;    /* 1 when that clock is on New York daylight time */
} au_time_fields;

/* Clocks.  CLOCK_REALTIME and CLOCK_MONOTONIC, in microseconds. */
int64_t au_time_now(void);
int64_t au_time_monotonic(void);

/* Calendar arithmetic, exact over any year an int64_t day count can reach. */
int au_time_is_leap(int64_t year);
int au_time_days_in_month(int64_t year, int month);           /* 0 if month is not 1..12 */
int64_t au_time_days_from_civil(int64_t year, int month, int day); /* no range check */
void au_time_civil_from_days(int64_t days, int64_t *year, int *month, int *day);
int au_time_weekday(int64_t days); /* ISO 1 Monday .. 7 Sunday; day 0 was a Thursday */

/* Floor division of a time into days and microseconds of the day (0..86399999999). */
int64_t au_time_floor_days(int64_t us, int64_t *us_of_day);

/* Break us down on a clock offset_min east of UTC (|offset_min| <= AU_TIME_OFFSET_MAX).
 * Defined for every int64_t us; dst is set to 0. */
void au_time_split(int64_t us, int offset_min, au_time_fields *f);

/* year-month-day is a real date of years AU_TIME_YEAR_MIN..MAX: AU_TIME_OK, or
 * AU_TIME_EINVAL with a message naming the field.  The calendar uses it too. */
int au_time_check_date(int year, int month, int day, char *err, size_t errlen);

/* Check year..usec (years AU_TIME_YEAR_MIN..MAX, the real days of that month,
 * hour 0..23, min/sec 0..59, usec 0..999999) and compose a local time.  On a bad
 * field returns AU_TIME_EINVAL and, if err is not NULL, writes which field and why. */
int au_time_compose(int year, int month, int day, int hour, int min, int sec, int usec,
                    int64_t *local, char *err, size_t errlen);

/* America/New_York by the US rule (see docs/time.md): -240 in daylight time, else
 * -300.  Before 1967 it is -300 all year. */
int au_time_ny_offset(int64_t us);
/* The UTC instants a year's daylight time starts and ends.  Returns 1 and sets them
 * for years 1967..AU_TIME_YEAR_MAX, 0 for years without daylight time by our rule,
 * AU_TIME_ERANGE beyond AU_TIME_YEAR_MAX. */
int au_time_ny_transitions(int year, int64_t *start, int64_t *end);
/* New York wall time (local) to UTC under the two policies above.  Writes the
 * instant and the offset in force at it.  Returns AU_TIME_OK, AU_TIME_ENONEXISTENT,
 * AU_TIME_EAMBIGUOUS or AU_TIME_ERANGE (local within 6 h of the int64_t limits). */
int au_time_ny_to_utc(int64_t local, int ambiguous, int gap, int64_t *out, int *offset_min);

/* ISO 8601 extended format, as accepted by au_time_parse_iso.  has_offset is 0 when
 * the text named no offset; then offset is 0 and local is the wall time as written. */
typedef struct au_time_parsed {
    int64_t local;
    int offset;
    int has_offset;
    int has_time;
} au_time_parsed;

/* Parse s[0..len).  On failure returns AU_TIME_EINVAL and writes to err a message
 * naming the problem and its 1-based byte position. */
int au_time_parse_iso(const char *s, size_t len, au_time_parsed *out, char *err, size_t errlen);

/* Write us as "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM)" with a NUL; buflen must be at
 * least AU_TIME_ISO_BUFLEN.  zone is AU_TIME_ZONE_*, offset_min is used only for
 * AU_TIME_ZONE_FIXED, frac is AU_TIME_FRAC_*.  Returns the length, or AU_TIME_EINVAL
 * (bad zone, offset or frac, short buffer), or AU_TIME_ERANGE (year beyond 0..9999). */
int au_time_format_iso(int64_t us, int zone, int offset_min, int frac, char *buf, size_t buflen);

/* ---- FFI surface for lua/alluse/time.lua.  Every function returns AU_TIME_OK or a
 * negative AU_TIME_E* status; results go through the out-pointers.  Arguments are
 * checked again here so a wrong call from Lua fails with a status, never a crash. */
int au_ffi_time_now(int64_t *out);
int au_ffi_time_monotonic(int64_t *out);
/* The offset of New York at us (-300 or -240). */
int au_ffi_time_ny_offset(int64_t us, int *offset_min);
/* au_time_ny_transitions: 1 (start and end set), 0 (no DST that year) or AU_TIME_ERANGE. */
int au_ffi_time_ny_transitions(int year, int64_t *start, int64_t *end);
/* ISO weekday of us on a clock in zone (UTC, fixed offset_min, or New York). */
int au_ffi_time_weekday(int64_t us, int zone, int offset_min, int *wday);
/* Break us down in zone; for New York, offset and dst say which clock applied. */
int au_ffi_time_split(int64_t us, int zone, int offset_min, au_time_fields *out);
/* Fields on a clock in zone to UTC.  For New York, ambiguous and gap are the policies
 * and offset_min is ignored.  Messages go to errmsg (NUL-terminated, truncated). */
int au_ffi_time_compose(int year, int month, int day, int hour, int min, int sec, int usec,
                        int zone, int offset_min, int ambiguous, int gap, int64_t *out,
                        char *errmsg, size_t errlen);
/* Parse ISO text; text without an offset is read in zone (offset_min, policies as
 * in au_ffi_time_compose). */
int au_ffi_time_parse(const char *s, size_t len, int zone, int offset_min, int ambiguous,
                      int gap, int64_t *out, char *errmsg, size_t errlen);
/* au_time_format_iso returning a status; buf receives the NUL-terminated text. */
int au_ffi_time_format(int64_t us, int zone, int offset_min, int frac, char *buf, size_t buflen);

#endif
