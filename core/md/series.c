/* series.c — see series.h. */
#include "md/series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void destroy_owned(md_series *s)
{
    free(s->time);
    free(s->open);
    free(s->high);
    free(s->low);
    free(s->close);
    free(s->volume);
    free(s->adj_close);
    free(s);
}

/* A view's owner is the series whose columns it borrows. */
static void destroy_view(md_series *v)
{
    md_series_release(v->owner);
    free(v);
}

md_series *md_series_new(const char *symbol, int32_t timeframe, int with_adj_close)
{
    if (symbol == NULL || strlen(symbol) >= MD_SYMBOL_MAX) return NULL;
    md_series *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    strcpy(s->symbol, symbol);
    s->timeframe = timeframe;
    s->refs = 1;
    s->destroy = destroy_owned;
    /* A non-NULL adj_close before the first reserve marks "this series has one". */
    if (with_adj_close) s->adj_close = malloc(sizeof(double));
    if (with_adj_close && s->adj_close == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void md_series_retain(md_series *s)
{
    if (s) s->refs++;
}

void md_series_release(md_series *s)
{
    if (s && --s->refs == 0) s->destroy(s);
}

void md_series_free(md_series *s)
{
    md_series_release(s);
}

/* Grow one column; on failure the old block stays valid (realloc's contract). */
static int grow(void **col, int64_t n, size_t size)
{
    void *p = realloc(*col, (size_t)n * size);
    if (p == NULL) return -1;
    *col = p;
    return 0;
}

int md_series_reserve(md_series *s, int64_t n)
{
    if (s->owner) return -1;
    if (n <= s->cap) return 0;
    if (n > INT64_MAX / 2 / (int64_t)sizeof(double)) return -1;
    if (grow((void **)&s->time, n, sizeof *s->time) || grow((void **)&s->open, n, sizeof(double)) ||
        grow((void **)&s->high, n, sizeof(double)) || grow((void **)&s->low, n, sizeof(double)) ||
        grow((void **)&s->close, n, sizeof(double)) || grow((void **)&s->volume, n, sizeof(double)) ||
        (s->adj_close && grow((void **)&s->adj_close, n, sizeof(double))))
        return -1; /* columns already grown are merely larger: cap stays, still consistent */
    s->cap = n;
    return 0;
}

int md_series_append(md_series *s, int64_t time, double open, double high, double low,
                     double close, double volume, double adj)
{
    if (s->owner) return -3;
    if (s->n > 0 && time <= s->time[s->n - 1]) return -2;
    if (s->n == s->cap && md_series_reserve(s, s->cap < 1024 ? 1024 : s->cap * 2) != 0) return -1;
    int64_t i = s->n++;
    s->time[i] = time;
    s->open[i] = open;
    s->high[i] = high;
    s->low[i] = low;
    s->close[i] = close;
    s->volume[i] = volume;
    if (s->adj_close) s->adj_close[i] = adj;
    return 0;
}

int64_t md_series_lower_bound(const md_series *s, int64_t t)
{
    int64_t lo = 0, hi = s->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->time[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

md_series *md_series_view(md_series *s, int64_t from, int64_t to)
{
    if (from < 0) from = 0;
    if (to > s->n) to = s->n;
    if (to < from) to = from;
    md_series *v = calloc(1, sizeof *v);
    if (v == NULL) return NULL;
    memcpy(v->symbol, s->symbol, sizeof v->symbol);
    v->timeframe = s->timeframe;
    v->n = to - from;
    v->cap = 0;
    v->refs = 1;
    v->destroy = destroy_view;
    /* Borrow from the series that really holds the columns, not from another view. */
    md_series *root = s->destroy == destroy_view ? s->owner : s;
    md_series_retain(root);
    v->owner = root;
    v->time = s->time + from;
    v->open = s->open + from;
    v->high = s->high + from;
    v->low = s->low + from;
    v->close = s->close + from;
    v->volume = s->volume + from;
    v->adj_close = s->adj_close ? s->adj_close + from : NULL;
    return v;
}

md_series *md_series_slice_time(md_series *s, int64_t from, int64_t to)
{
    return md_series_view(s, md_series_lower_bound(s, from), md_series_lower_bound(s, to));
}

const char *md_timeframe_name(int32_t tf, char *buf, size_t buflen)
{
    if (tf == MD_TF_DAILY)
        snprintf(buf, buflen, "1d");
    else if (tf == MD_TF_WEEKLY)
        snprintf(buf, buflen, "1w");
    else if (tf == MD_TF_MONTHLY)
        snprintf(buf, buflen, "1mo");
    else if (tf > 0 && tf % 3600 == 0)
        snprintf(buf, buflen, "%dh", (int)(tf / 3600));
    else if (tf > 0 && tf % 60 == 0)
        snprintf(buf, buflen, "%dm", (int)(tf / 60));
    else if (tf > 0)
        snprintf(buf, buflen, "%ds", (int)tf);
    else
        snprintf(buf, buflen, "unknown");
    return buf;
}

int32_t md_timeframe_parse(const char *name)
{
    if (name == NULL) return MD_TF_UNKNOWN;
    if (!strcmp(name, "1d") || !strcmp(name, "daily") || !strcmp(name, "D")) return MD_TF_DAILY;
    if (!strcmp(name, "1w") || !strcmp(name, "weekly") || !strcmp(name, "W")) return MD_TF_WEEKLY;
    if (!strcmp(name, "1mo") || !strcmp(name, "monthly") || !strcmp(name, "M")) return MD_TF_MONTHLY;
    char *end;
    long n = strtol(name, &end, 10);
    if (end == name || n <= 0 || n > 1440) return MD_TF_UNKNOWN;
    /* Intraday only: a day or longer is a calendar timeframe, named as such. */
    if ((!strcmp(end, "m") || !strcmp(end, "min")) && n < 1440) return (int32_t)(n * 60);
    if (!strcmp(end, "h") && n < 24) return (int32_t)(n * 3600);
    return MD_TF_UNKNOWN;
}
