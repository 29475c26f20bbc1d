/* resample.c — see resample.h. */
#include "md/resample.h"

#include <stdio.h>

#include "md/calendar.h"
#include "sys/autime.h"

#define SESSION_OPEN_MIN (9 * 60 + 30)

/* The New York wall clock of a UTC instant: local µs and the offset used. */
static int64_t ny_local(int64_t utc, int *offset_min)
{
    *offset_min = au_time_ny_offset(utc);
    return utc + (int64_t)*offset_min * AU_TIME_US_PER_MIN;
}

/* 09:30 New York on a day (days since the epoch) as UTC µs. */
static int64_t session_open_utc(int64_t days)
{
    int64_t local = days * AU_TIME_US_PER_DAY + SESSION_OPEN_MIN * AU_TIME_US_PER_MIN, out = 0;
    int off;
    au_time_ny_to_utc(local, AU_TIME_AMBIG_EARLIER, AU_TIME_GAP_LATER, &out, &off);
    return out;
}

/* Where a bar goes: a key that changes exactly when the bucket does, and the
 * bucket's timestamp.  Returns 0 to drop the bar. */
typedef int (*bucket_fn)(int64_t t, int32_t tf, int flags, int64_t *key, int64_t *label);

static int bucket_intraday(int64_t t, int32_t tf, int flags, int64_t *key, int64_t *label)
{
    int off;
    int64_t local = ny_local(t, &off), us_of_day;
    int64_t days = au_time_floor_days(local, &us_of_day);
    int64_t since_open = us_of_day - SESSION_OPEN_MIN * AU_TIME_US_PER_MIN;
    if (flags & MD_RESAMPLE_REGULAR) {
        int64_t open_us, close_us;
        if (md_cal_session(days, &open_us, &close_us) != 0 || t < open_us || t >= close_us) return 0;
    }
    int64_t width = (int64_t)tf * AU_TIME_US_PER_SEC;
    int64_t q = since_open / width - (since_open % width < 0); /* floor, also before 09:30 */
    int64_t start_local = days * AU_TIME_US_PER_DAY + SESSION_OPEN_MIN * AU_TIME_US_PER_MIN + q * width;
    *key = start_local;
    *label = start_local - (int64_t)off * AU_TIME_US_PER_MIN;
    return 1;
}

static int bucket_daily(int64_t t, int32_t tf, int flags, int64_t *key, int64_t *label)
{
    (void)tf;
    int off;
    int64_t us_of_day;
    int64_t days = au_time_floor_days(ny_local(t, &off), &us_of_day);
    if (!(flags & MD_RESAMPLE_EXTENDED)) {
        int64_t open_us, close_us;
        if (md_cal_session(days, &open_us, &close_us) != 0 || t < open_us || t >= close_us) return 0;
    }
    *key = days;
    *label = session_open_utc(days);
    return 1;
}

static int bucket_weekly(int64_t t, int32_t tf, int flags, int64_t *key, int64_t *label)
{
    (void)tf;
    (void)flags;
    int off;
    int64_t us_of_day;
    int64_t days = au_time_floor_days(ny_local(t, &off), &us_of_day);
    int64_t monday = days - (au_time_weekday(days) - 1);
    *key = monday;
    *label = session_open_utc(monday);
    return 1;
}

static int bucket_monthly(int64_t t, int32_t tf, int flags, int64_t *key, int64_t *label)
{
    (void)tf;
    (void)flags;
    int off, month, day;
    int64_t us_of_day, year;
    au_time_civil_from_days(au_time_floor_days(ny_local(t, &off), &us_of_day), &year, &month, &day);
    int64_t first = au_time_days_from_civil(year, month, 1);
    *key = first;
    *label = session_open_utc(first);
    return 1;
}

static int is_calendar_tf(int32_t tf)
{
    return tf == MD_TF_DAILY || tf == MD_TF_WEEKLY || tf == MD_TF_MONTHLY;
}

/* Rank of a timeframe for "longer than" checks; intraday ranks by its seconds. */
static int64_t tf_rank(int32_t tf)
{
    if (tf == MD_TF_DAILY) return 100000000;
    if (tf == MD_TF_WEEKLY) return 200000000;
    if (tf == MD_TF_MONTHLY) return 300000000;
    return tf;
}

static int check_target(const md_series *in, int32_t tf, char *err, size_t errlen)
{
    char a[16], b[16];
    md_timeframe_name(in->timeframe, a, sizeof a);
    md_timeframe_name(tf, b, sizeof b);
    if (tf <= 0 || (!is_calendar_tf(tf) && tf % 60 != 0)) {
        snprintf(err, errlen, "resample: unknown target timeframe");
        return -1;
    }
    if (in->timeframe <= 0) {
        snprintf(err, errlen, "resample: %s has an unknown timeframe", in->symbol);
        return -1;
    }
    if (tf_rank(tf) <= tf_rank(in->timeframe)) {
        snprintf(err, errlen, "resample: %s is not longer than %s", b, a);
        return -1;
    }
    if (!is_calendar_tf(tf) && tf % in->timeframe != 0) {
        snprintf(err, errlen, "resample: %s is not a whole multiple of %s", b, a);
        return -1;
    }
    return 0;
}

md_series *md_resample(const md_series *in, int32_t tf, int flags, char *err, size_t errlen)
{
    if (check_target(in, tf, err, errlen) != 0) return NULL;
    bucket_fn bucket = tf == MD_TF_DAILY     ? bucket_daily
                       : tf == MD_TF_WEEKLY  ? bucket_weekly
                       : tf == MD_TF_MONTHLY ? bucket_monthly
                                             : bucket_intraday;
    md_series *out = md_series_new(in->symbol, tf, in->adj_close != NULL);
    if (out == NULL) {
        snprintf(err, errlen, "resample: out of memory");
        return NULL;
    }
    int have = 0;
    int64_t cur_key = 0, cur_label = 0;
    double o = 0, h = 0, l = 0, c = 0, v = 0, adj = 0;
    for (int64_t i = 0; i <= in->n; i++) {
        int64_t key = 0, label = 0;
        int keep = i < in->n && bucket(in->time[i], tf, flags, &key, &label);
        if (i < in->n && !keep) continue;
        if (have && (i == in->n || key != cur_key)) {
            if (md_series_append(out, cur_label, o, h, l, c, v, adj) != 0) {
                snprintf(err, errlen, "resample: out of memory or bars out of order at %s bar %lld",
                         in->symbol, (long long)i);
                md_series_release(out);
                return NULL;
            }
            have = 0;
        }
        if (i == in->n) break;
        if (!have) {
            have = 1;
            cur_key = key;
            cur_label = label;
            o = in->open[i];
            h = in->high[i];
            l = in->low[i];
            v = 0;
        }
        if (in->high[i] > h) h = in->high[i];
        if (in->low[i] < l) l = in->low[i];
        c = in->close[i];
        v += in->volume[i];
        if (in->adj_close) adj = in->adj_close[i];
    }
    return out;
}
