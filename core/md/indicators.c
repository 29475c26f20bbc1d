/* indicators.c — see indicators.h.  Formulas and their TA-Lib provenance are in
 * docs/indicators.md; the arithmetic order of each recursion follows TA-Lib's so the
 * results agree with it to the last bit or nearly (the window sums differ in order). */
#include "md/indicators.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int n_ok(int n)
{
    return n >= 1 && n <= MD_IND_N_MAX;
}

/* Bytes for a struct whose flexible array holds per * n doubles. */
static size_t block_size(size_t head_bytes, int n, int per)
{
    return n_ok(n) ? head_bytes + (size_t)n * (size_t)per * sizeof(double) : 0;
}

/* Zero the whole block (so a block is a deterministic snapshot, padding included)
 * and fill the common head. */
static void head_init(void *block, size_t size, int kind, int nout, double p0, double p1,
                      double p2)
{
    memset(block, 0, size);
    md_ind_head *h = block;
    h->kind = kind;
    h->nout = nout;
    h->param[0] = p0;
    h->param[1] = p1;
    h->param[2] = p2;
    h->out[0] = h->out[1] = h->out[2] = NAN;
}

static void ring_init(md_ind_ring *r, int n)
{
    r->n = n;
    r->count = 0;
    r->pos = 0;
}

/* Push x into a ring and its window sum; returns whether the window is full.
 * Between wraps the sum runs (add the new value, drop the oldest); at each wrap the
 * window holds exactly the values added since the previous wrap, whose plain sum
 * (`fresh`) replaces the running one — so drift never spans more than n updates. */
static inline int wsum_push(md_ind_wsum *w, md_ind_ring *r, double *buf, double x)
{
    double old = buf[r->pos];
    buf[r->pos] = x;
    w->fresh += x;
    if (r->count == r->n)
        w->sum += x - old;
    else
        r->count++;
    if (++r->pos == r->n) {
        r->pos = 0;
        w->sum = w->fresh;
        w->fresh = 0;
    }
    return r->count == r->n;
}

/* Push x into a ring and its moments; returns whether the window is full.  The
 * running part is the sliding form of Welford's update (replace old by x):
 *   mean' = mean + (x - old) / n
 *   m2'   = m2 + (x - old) * ((x - mean') + (old - mean))
 * which never subtracts two large sums of squares.  Alongside, Welford's online
 * algorithm runs over the values since the last wrap; at the wrap those are exactly
 * the window, and its mean and m2 replace the running ones. */
static inline int moments_push(md_ind_moments *m, md_ind_ring *r, double *buf, double x)
{
    double old = buf[r->pos];
    buf[r->pos] = x;
    if (r->count == r->n) {
        double mean_old = m->s.sum / r->n;
        m->s.sum += x - old;
        double mean_new = m->s.sum / r->n;
        m->m2 += (x - old) * ((x - mean_new) + (old - mean_old));
    } else {
        r->count++;
    }
    m->s.fresh += x;
    double d = x - m->fmean;
    m->fmean += d / (r->pos + 1);
    m->fm2 += d * (x - m->fmean);
    if (++r->pos == r->n) {
        r->pos = 0;
        m->s.sum = m->s.fresh;
        m->m2 = m->fm2;
        m->s.fresh = m->fmean = m->fm2 = 0;
    }
    /* A window of equal values has m2 exactly 0, but the sliding update reaches it
     * only to within rounding, and a standard deviation is the square root of that
     * (1e-16 becomes 1e-8).  Flat stretches are common (illiquid bars), so catch them. */
    if (x != m->last)
        m->same = 1;
    else if (m->same < r->n)
        m->same++;
    m->last = x;
    if (m->same == r->n) m->m2 = 0;
    return r->count == r->n;
}

/* Rounding can leave m2 a hair below zero for a constant window. */
static inline double m2_clamped(const md_ind_moments *m)
{
    return m->m2 > 0 ? m->m2 : 0;
}

/* ---- SMA ---- */

size_t md_ind_sma_size(int n)
{
    return block_size(offsetof(md_ind_sma, buf), n, 1);
}

int md_ind_sma_init(md_ind_sma *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, md_ind_sma_size(n), MD_IND_SMA, 1, n, 0, 0);
    ring_init(&s->r, n);
    return 0;
}

static inline double sma_step(md_ind_sma *s, double *buf, double x)
{
    double v = wsum_push(&s->w, &s->r, buf, x) ? s->w.sum / s->r.n : NAN;
    s->head.out[0] = v;
    return v;
}

double md_ind_sma_update(md_ind_sma *s, double x)
{
    return sma_step(s, s->buf, x);
}

/* ---- EMA ---- */

size_t md_ind_ema_size(int n)
{
    return n_ok(n) ? sizeof(md_ind_ema) : 0;
}

static void ema_init(md_ind_ema *e, int n)
{
    e->k = 2.0 / (double)(n + 1);
    e->seed = 0;
    e->value = 0;
    e->n = n;
    e->count = 0;
}

/* TA-Lib's EMA: seeded with the mean of the first n inputs, then
 * ema = (x - ema) * k + ema, in that order. */
static inline double ema_push(md_ind_ema *e, double x)
{
    if (e->count < e->n) {
        e->seed += x;
        if (++e->count < e->n) return NAN;
        e->value = e->seed / e->n;
        return e->value;
    }
    e->value = (x - e->value) * e->k + e->value;
    return e->value;
}

int md_ind_ema_init(md_ind_ema *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, sizeof *s, MD_IND_EMA, 1, n, 0, 0);
    ema_init(s, n);
    return 0;
}

static inline double ema_step(md_ind_ema *s, double x)
{
    return s->head.out[0] = ema_push(s, x);
}

double md_ind_ema_update(md_ind_ema *s, double x)
{
    return ema_step(s, x);
}

/* ---- WMA ---- */

size_t md_ind_wma_size(int n)
{
    return block_size(offsetof(md_ind_wma, buf), n, 1);
}

int md_ind_wma_init(md_ind_wma *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, md_ind_wma_size(n), MD_IND_WMA, 1, n, 0, 0);
    ring_init(&s->r, n);
    s->divisor = (double)n * (n + 1) / 2;
    return 0;
}

/* Moving the window one step lowers every weight by one, which subtracts the
 * previous window's plain sum, and adds n * x.  Both sums are refreshed at each
 * wrap as in wsum_push: the value written at slot p since the wrap has weight p+1. */
static inline double wma_step(md_ind_wma *s, double *buf, double x)
{
    md_ind_ring *r = &s->r;
    double old = buf[r->pos];
    buf[r->pos] = x;
    if (r->count == r->n) {
        s->wsum += r->n * x - s->w.sum;
        s->w.sum += x - old;
    } else {
        r->count++;
    }
    s->w.fresh += x;
    s->fwsum += (r->pos + 1) * x;
    if (++r->pos == r->n) {
        r->pos = 0;
        s->w.sum = s->w.fresh;
        s->wsum = s->fwsum;
        s->w.fresh = s->fwsum = 0;
    }
    double v = r->count == r->n ? s->wsum / s->divisor : NAN;
    s->head.out[0] = v;
    return v;
}

double md_ind_wma_update(md_ind_wma *s, double x)
{
    return wma_step(s, s->buf, x);
}

/* ---- RSI ---- */

size_t md_ind_rsi_size(int n)
{
    return n_ok(n) ? sizeof(md_ind_rsi) : 0;
}

int md_ind_rsi_init(md_ind_rsi *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, sizeof *s, MD_IND_RSI, 1, n, 0, 0);
    s->n = n;
    return 0;
}

/* 100 * gain / (gain + loss), 0 when both are 0 (TA-Lib writes 0 there too). */
static inline double rsi_value(double gain, double loss)
{
    double total = gain + loss;
    return total != 0 ? 100.0 * (gain / total) : 0.0;
}

static inline double rsi_step(md_ind_rsi *s, double x)
{
    double v = NAN;
    if (s->count == 0) {
        s->prev = x;
        s->count = 1;
    } else {
        double change = x - s->prev;
        double gain = change > 0 ? change : 0, loss = change < 0 ? -change : 0;
        s->prev = x;
        if (s->count <= s->n) {
            /* Seed: the simple averages of the first n changes. */
            s->gain += gain;
            s->loss += loss;
            if (++s->count > s->n) {
                s->gain /= s->n;
                s->loss /= s->n;
                v = rsi_value(s->gain, s->loss);
            }
        } else {
            /* Wilder: avg = (avg * (n - 1) + x) / n, as TA-Lib orders it. */
            s->gain = (s->gain * (s->n - 1) + gain) / s->n;
            s->loss = (s->loss * (s->n - 1) + loss) / s->n;
            v = rsi_value(s->gain, s->loss);
        }
    }
    s->head.out[0] = v;
    return v;
}

double md_ind_rsi_update(md_ind_rsi *s, double x)
{
    return rsi_step(s, x);
}

/* ---- true range and ATR ---- */

/* TA-Lib's TRANGE: the greatest of high - low, |prev close - high|, |prev close - low|. */
static inline double true_range(double high, double low, double prev_close)
{
    double tr = high - low;
    double a = fabs(prev_close - high);
    if (a > tr) tr = a;
    double b = fabs(prev_close - low);
    if (b > tr) tr = b;
    return tr;
}

size_t md_ind_trange_size(void)
{
    return sizeof(md_ind_trange);
}

int md_ind_trange_init(md_ind_trange *s)
{
    head_init(s, sizeof *s, MD_IND_TRANGE, 1, 0, 0, 0);
    return 0;
}

static inline double trange_step(md_ind_trange *s, double high, double low, double close)
{
    double v = s->count ? true_range(high, low, s->prev_close) : NAN;
    s->prev_close = close;
    s->count = 1;
    s->head.out[0] = v;
    return v;
}

double md_ind_trange_update(md_ind_trange *s, double high, double low, double close)
{
    return trange_step(s, high, low, close);
}

size_t md_ind_atr_size(int n)
{
    return n_ok(n) ? sizeof(md_ind_atr) : 0;
}

int md_ind_atr_init(md_ind_atr *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, sizeof *s, MD_IND_ATR, 1, n, 0, 0);
    s->n = n;
    return 0;
}

static inline double atr_step(md_ind_atr *s, double high, double low, double close)
{
    double v = NAN;
    if (s->count == 0) {
        s->count = 1;
    } else {
        double tr = true_range(high, low, s->prev_close);
        if (s->count <= s->n) {
            /* Seed: the simple average of the first n true ranges (bars 1..n). */
            s->atr += tr;
            if (++s->count > s->n) v = s->atr /= s->n;
        } else {
            v = s->atr = (s->atr * (s->n - 1) + tr) / s->n;
        }
    }
    s->prev_close = close;
    s->head.out[0] = v;
    return v;
}

double md_ind_atr_update(md_ind_atr *s, double high, double low, double close)
{
    return atr_step(s, high, low, close);
}

/* ---- standard deviation and Bollinger bands ---- */

size_t md_ind_stddev_size(int n)
{
    return block_size(offsetof(md_ind_stddev, buf), n, 1);
}

int md_ind_stddev_init(md_ind_stddev *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, md_ind_stddev_size(n), MD_IND_STDDEV, 1, n, 0, 0);
    ring_init(&s->r, n);
    return 0;
}

static inline double stddev_step(md_ind_stddev *s, double *buf, double x)
{
    double v = moments_push(&s->m, &s->r, buf, x) ? sqrt(m2_clamped(&s->m) / s->r.n) : NAN;
    s->head.out[0] = v;
    return v;
}

double md_ind_stddev_update(md_ind_stddev *s, double x)
{
    return stddev_step(s, s->buf, x);
}

static int k_ok(double k)
{
    return isfinite(k) && k >= 0;
}

size_t md_ind_bbands_size(int n)
{
    return block_size(offsetof(md_ind_bbands, buf), n, 1);
}

int md_ind_bbands_init(md_ind_bbands *s, int n, double k_up, double k_dn)
{
    if (!n_ok(n) || !k_ok(k_up) || !k_ok(k_dn)) return -1;
    head_init(s, md_ind_bbands_size(n), MD_IND_BBANDS, 3, n, k_up, k_dn);
    ring_init(&s->r, n);
    s->k_up = k_up;
    s->k_dn = k_dn;
    return 0;
}

static inline double bbands_step(md_ind_bbands *s, double *buf, double x)
{
    if (!moments_push(&s->m, &s->r, buf, x)) return NAN;
    /* The middle band is the SMA computed exactly as md_ind_sma does. */
    double mid = s->m.s.sum / s->r.n;
    double sd = sqrt(m2_clamped(&s->m) / s->r.n);
    s->head.out[0] = mid;
    s->head.out[1] = mid + s->k_up * sd;
    s->head.out[2] = mid - s->k_dn * sd;
    return mid;
}

double md_ind_bbands_update(md_ind_bbands *s, double x)
{
    return bbands_step(s, s->buf, x);
}

/* ---- MACD ---- */

size_t md_ind_macd_size(int fast, int slow, int signal)
{
    return n_ok(fast) && n_ok(slow) && n_ok(signal) && fast <= slow ? sizeof(md_ind_macd) : 0;
}

int md_ind_macd_init(md_ind_macd *s, int fast, int slow, int signal)
{
    if (md_ind_macd_size(fast, slow, signal) == 0) return -1;
    head_init(s, sizeof *s, MD_IND_MACD, 3, fast, slow, signal);
    ema_init(&s->fast, fast);
    ema_init(&s->slow, slow);
    ema_init(&s->signal, signal);
    return 0;
}

/* TA-Lib's alignment: the fast EMA's seed window is the last `fast` values of the
 * slow one (it starts at input slow - fast), so both EMAs are warm at input slow - 1;
 * the signal EMA is seeded with the mean of the first `signal` MACD values, so the
 * first output is at input slow + signal - 2. */
static inline double macd_step(md_ind_macd *s, double x)
{
    double slow = ema_push(&s->slow, x);
    double fast = NAN;
    if (s->count >= s->slow.n - s->fast.n) fast = ema_push(&s->fast, x);
    if (s->count < s->slow.n) s->count++;
    if (slow != slow) return NAN;
    double line = fast - slow;
    double sig = ema_push(&s->signal, line);
    if (sig != sig) return NAN;
    s->head.out[0] = line;
    s->head.out[1] = sig;
    s->head.out[2] = line - sig;
    return line;
}

double md_ind_macd_update(md_ind_macd *s, double x)
{
    return macd_step(s, x);
}

/* ---- rate of change ---- */

size_t md_ind_roc_size(int n)
{
    return block_size(offsetof(md_ind_roc, buf), n, 1);
}

int md_ind_roc_init(md_ind_roc *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, md_ind_roc_size(n), MD_IND_ROC, 1, n, 0, 0);
    ring_init(&s->r, n);
    return 0;
}

/* TA-Lib's ROC: (x / x[n ago] - 1) * 100, and 0 when x[n ago] is 0. */
static inline double roc_step(md_ind_roc *s, double *buf, double x)
{
    md_ind_ring *r = &s->r;
    double old = buf[r->pos];
    buf[r->pos] = x;
    if (++r->pos == r->n) r->pos = 0;
    double v = NAN;
    if (r->count < r->n)
        r->count++;
    else
        v = old != 0 ? (x / old - 1.0) * 100.0 : 0.0;
    s->head.out[0] = v;
    return v;
}

double md_ind_roc_update(md_ind_roc *s, double x)
{
    return roc_step(s, s->buf, x);
}

/* ---- rolling max / min ---- */

/* The deque holds, oldest first, the inputs of the window that no later input
 * beats (for max: is greater than or equal to), so its front is the extreme.  Each
 * input enters and leaves once: O(1) amortized. */
static inline double deque_push(md_ind_deque *d, double *buf, double x, int is_max)
{
    int n = d->n;
    double *val = buf, *idx = buf + n;
    double t = (double)d->t;
    /* Only the input n ago can have just left the window. */
    if (d->size > 0 && idx[d->front] <= t - n) {
        if (++d->front == n) d->front = 0;
        d->size--;
    }
    while (d->size > 0) {
        int back = d->front + d->size - 1;
        if (back >= n) back -= n;
        if (is_max ? val[back] > x : val[back] < x) break;
        d->size--;
    }
    int slot = d->front + d->size;
    if (slot >= n) slot -= n;
    val[slot] = x;
    idx[slot] = t;
    d->size++;
    d->t++;
    return d->t >= n ? val[d->front] : NAN;
}

size_t md_ind_max_size(int n)
{
    return block_size(offsetof(md_ind_max, buf), n, 2);
}

int md_ind_max_init(md_ind_max *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, md_ind_max_size(n), MD_IND_MAX, 1, n, 0, 0);
    s->d.n = n;
    return 0;
}

static inline double max_step(md_ind_max *s, double *buf, double x)
{
    return s->head.out[0] = deque_push(&s->d, buf, x, 1);
}

double md_ind_max_update(md_ind_max *s, double x)
{
    return max_step(s, s->buf, x);
}

size_t md_ind_min_size(int n)
{
    return block_size(offsetof(md_ind_min, buf), n, 2);
}

int md_ind_min_init(md_ind_min *s, int n)
{
    if (!n_ok(n)) return -1;
    head_init(s, md_ind_min_size(n), MD_IND_MIN, 1, n, 0, 0);
    s->d.n = n;
    return 0;
}

static inline double min_step(md_ind_min *s, double *buf, double x)
{
    return s->head.out[0] = deque_push(&s->d, buf, x, 0);
}

double md_ind_min_update(md_ind_min *s, double x)
{
    return min_step(s, s->buf, x);
}

/* ---- realized volatility ---- */

size_t md_ind_rvol_size(int n)
{
    return n >= 2 ? block_size(offsetof(md_ind_rvol, buf), n, 1) : 0;
}

int md_ind_rvol_init(md_ind_rvol *s, int n, double periods)
{
    if (md_ind_rvol_size(n) == 0 || !isfinite(periods) || !(periods > 0)) return -1;
    head_init(s, md_ind_rvol_size(n), MD_IND_RVOL, 1, n, periods, 0);
    ring_init(&s->r, n);
    s->scale = sqrt(periods);
    return 0;
}

/* Sample standard deviation (n - 1) of the last n log returns ln(x / prev), times
 * sqrt(periods per year). */
static inline double rvol_step(md_ind_rvol *s, double *buf, double x)
{
    double v = NAN;
    if (s->prev > 0 && moments_push(&s->m, &s->r, buf, log(x / s->prev)))
        v = sqrt(m2_clamped(&s->m) / (s->r.n - 1)) * s->scale;
    s->prev = x;
    s->head.out[0] = v;
    return v;
}

double md_ind_rvol_update(md_ind_rvol *s, double x)
{
    return rvol_step(s, s->buf, x);
}

/* ---- generic ---- */

void md_ind_free(void *ind)
{
    free(ind);
}

void md_ind_reset(void *ind)
{
    md_ind_head *h = ind;
    int n = (int)h->param[0];
    switch (h->kind) {
    case MD_IND_SMA: md_ind_sma_init(ind, n); break;
    case MD_IND_EMA: md_ind_ema_init(ind, n); break;
    case MD_IND_WMA: md_ind_wma_init(ind, n); break;
    case MD_IND_RSI: md_ind_rsi_init(ind, n); break;
    case MD_IND_ATR: md_ind_atr_init(ind, n); break;
    case MD_IND_TRANGE: md_ind_trange_init(ind); break;
    case MD_IND_STDDEV: md_ind_stddev_init(ind, n); break;
    case MD_IND_BBANDS: md_ind_bbands_init(ind, n, h->param[1], h->param[2]); break;
    case MD_IND_MACD: md_ind_macd_init(ind, n, (int)h->param[1], (int)h->param[2]); break;
    case MD_IND_ROC: md_ind_roc_init(ind, n); break;
    case MD_IND_MAX: md_ind_max_init(ind, n); break;
    case MD_IND_MIN: md_ind_min_init(ind, n); break;
    case MD_IND_RVOL: md_ind_rvol_init(ind, n, h->param[1]); break;
    default: break;
    }
}

int64_t md_ind_lookback(const void *ind)
{
    const md_ind_head *h = ind;
    int64_t n = (int64_t)h->param[0];
    switch (h->kind) {
    case MD_IND_RSI:
    case MD_IND_ATR:
    case MD_IND_ROC:
    case MD_IND_RVOL: return n;
    case MD_IND_TRANGE: return 1;
    case MD_IND_MACD: return (int64_t)h->param[1] + (int64_t)h->param[2] - 2;
    default: return n - 1;
    }
}

int md_ind_value(const void *ind, double out[3])
{
    const md_ind_head *h = ind;
    if (h->out[0] != h->out[0]) return 0;
    for (int i = 0; i < h->nout; i++) out[i] = h->out[i];
    return h->nout;
}

/* ---- batch ---- */

/* One loop per kind, each step inlined, over a local copy of the state (the fixed
 * part; the ring stays in place): the compiler keeps the copy in registers, where
 * through the caller's pointer it would reload and store every field each value
 * for fear that out aliases it — about three times slower. */
#define RUN_BUF(type, step)                                                               \
    do {                                                                                  \
        type *s_ = ind;                                                                   \
        type st_ = *s_;                                                                   \
        for (int64_t i = 0; i < n; i++) out0[i] = step(&st_, s_->buf, src[i]);            \
        *s_ = st_;                                                                        \
    } while (0)

#define RUN_NOBUF(type, step)                                                             \
    do {                                                                                  \
        type *s_ = ind;                                                                   \
        type st_ = *s_;                                                                   \
        for (int64_t i = 0; i < n; i++) out0[i] = step(&st_, src[i]);                     \
        *s_ = st_;                                                                        \
    } while (0)

/* Three outputs: head.out[1] and [2] after each step.  The variable arguments are
 * what step takes between the state and the input, with a trailing comma: the ring
 * for Bollinger, nothing for MACD. */
#define RUN3(type, step, ...)                                                             \
    do {                                                                                  \
        type *s_ = ind;                                                                   \
        type st_ = *s_;                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                 \
            out0[i] = step(&st_, __VA_ARGS__ src[i]);                                     \
            out1[i] = st_.head.out[1];                                                    \
            out2[i] = st_.head.out[2];                                                    \
        }                                                                                 \
        *s_ = st_;                                                                        \
    } while (0)

/* Whether x is finite (and > 0 if positive); NaN compares false. */
static inline int input_ok(double x, int positive)
{
    return positive ? x > 0 && x <= DBL_MAX : fabs(x) <= DBL_MAX;
}

/* Index of the first input that is not acceptable, or n. */
static int64_t first_bad(const double *x, int64_t n, int positive)
{
    for (int64_t i = 0; i < n; i++)
        if (!input_ok(x[i], positive)) return i;
    return n;
}

int64_t md_ind_run1(void *ind, const double *src, int64_t n, double *out0, double *out1,
                    double *out2)
{
    md_ind_head *h = ind;
    int64_t bad = first_bad(src, n, h->kind == MD_IND_RVOL);
    if (bad < n) return bad;
    switch (h->kind) {
    case MD_IND_SMA: RUN_BUF(md_ind_sma, sma_step); break;
    case MD_IND_EMA: RUN_NOBUF(md_ind_ema, ema_step); break;
    case MD_IND_WMA: RUN_BUF(md_ind_wma, wma_step); break;
    case MD_IND_RSI: RUN_NOBUF(md_ind_rsi, rsi_step); break;
    case MD_IND_STDDEV: RUN_BUF(md_ind_stddev, stddev_step); break;
    case MD_IND_ROC: RUN_BUF(md_ind_roc, roc_step); break;
    case MD_IND_MAX: RUN_BUF(md_ind_max, max_step); break;
    case MD_IND_MIN: RUN_BUF(md_ind_min, min_step); break;
    case MD_IND_RVOL: RUN_BUF(md_ind_rvol, rvol_step); break;
    case MD_IND_BBANDS:
        if (out1 == NULL || out2 == NULL) return -1;
        RUN3(md_ind_bbands, bbands_step, s_->buf,);
        break;
    case MD_IND_MACD:
        if (out1 == NULL || out2 == NULL) return -1;
        RUN3(md_ind_macd, macd_step, );
        break;
    default: return -1; /* three-input kinds go through md_ind_run3 */
    }
    return n;
}

int64_t md_ind_run3(void *ind, const double *high, const double *low, const double *close,
                    int64_t n, double *out)
{
    md_ind_head *h = ind;
    if (h->kind != MD_IND_TRANGE && h->kind != MD_IND_ATR) return -1;
    int64_t bad = first_bad(high, n, 0), b = first_bad(low, n, 0);
    if (b < bad) bad = b;
    b = first_bad(close, n, 0);
    if (b < bad) bad = b;
    if (bad < n) return bad;
    if (h->kind == MD_IND_TRANGE) {
        md_ind_trange *s = ind, st = *s;
        for (int64_t i = 0; i < n; i++) out[i] = trange_step(&st, high[i], low[i], close[i]);
        *s = st;
    } else {
        md_ind_atr *s = ind, st = *s;
        for (int64_t i = 0; i < n; i++) out[i] = atr_step(&st, high[i], low[i], close[i]);
        *s = st;
    }
    return n;
}

/* ---- constructors ---- */

#define NEW_BLOCK(type, size, init_call)                                                  \
    do {                                                                                  \
        size_t size_ = (size);                                                            \
        if (size_ == 0) return NULL;                                                      \
        type *s = calloc(1, size_);                                                       \
        if (s != NULL) init_call;                                                         \
        return s;                                                                         \
    } while (0)

md_ind_sma *md_ind_sma_new(int n) { NEW_BLOCK(md_ind_sma, md_ind_sma_size(n), md_ind_sma_init(s, n)); }
md_ind_ema *md_ind_ema_new(int n) { NEW_BLOCK(md_ind_ema, md_ind_ema_size(n), md_ind_ema_init(s, n)); }
md_ind_wma *md_ind_wma_new(int n) { NEW_BLOCK(md_ind_wma, md_ind_wma_size(n), md_ind_wma_init(s, n)); }
md_ind_rsi *md_ind_rsi_new(int n) { NEW_BLOCK(md_ind_rsi, md_ind_rsi_size(n), md_ind_rsi_init(s, n)); }
md_ind_atr *md_ind_atr_new(int n) { NEW_BLOCK(md_ind_atr, md_ind_atr_size(n), md_ind_atr_init(s, n)); }
md_ind_roc *md_ind_roc_new(int n) { NEW_BLOCK(md_ind_roc, md_ind_roc_size(n), md_ind_roc_init(s, n)); }
md_ind_max *md_ind_max_new(int n) { NEW_BLOCK(md_ind_max, md_ind_max_size(n), md_ind_max_init(s, n)); }
md_ind_min *md_ind_min_new(int n) { NEW_BLOCK(md_ind_min, md_ind_min_size(n), md_ind_min_init(s, n)); }

md_ind_trange *md_ind_trange_new(void)
{
    NEW_BLOCK(md_ind_trange, md_ind_trange_size(), md_ind_trange_init(s));
}

md_ind_stddev *md_ind_stddev_new(int n)
{
    NEW_BLOCK(md_ind_stddev, md_ind_stddev_size(n), md_ind_stddev_init(s, n));
}

md_ind_bbands *md_ind_bbands_new(int n, double k_up, double k_dn)
{
    if (!k_ok(k_up) || !k_ok(k_dn)) return NULL;
    NEW_BLOCK(md_ind_bbands, md_ind_bbands_size(n), md_ind_bbands_init(s, n, k_up, k_dn));
}

md_ind_macd *md_ind_macd_new(int fast, int slow, int signal)
{
    NEW_BLOCK(md_ind_macd, md_ind_macd_size(fast, slow, signal),
              md_ind_macd_init(s, fast, slow, signal));
}

md_ind_rvol *md_ind_rvol_new(int n, double periods)
{
    if (!isfinite(periods) || !(periods > 0)) return NULL;
    NEW_BLOCK(md_ind_rvol, md_ind_rvol_size(n), md_ind_rvol_init(s, n, periods));
}

/* ---- FFI surface ---- */

void *au_ffi_ind_new(int kind, int n1, int n2, int n3, double p1, double p2)
{
    switch (kind) {
    case MD_IND_SMA: return md_ind_sma_new(n1);
    case MD_IND_EMA: return md_ind_ema_new(n1);
    case MD_IND_WMA: return md_ind_wma_new(n1);
    case MD_IND_RSI: return md_ind_rsi_new(n1);
    case MD_IND_ATR: return md_ind_atr_new(n1);
    case MD_IND_TRANGE: return md_ind_trange_new();
    case MD_IND_STDDEV: return md_ind_stddev_new(n1);
    case MD_IND_BBANDS: return md_ind_bbands_new(n1, p1, p2);
    case MD_IND_MACD: return md_ind_macd_new(n1, n2, n3);
    case MD_IND_ROC: return md_ind_roc_new(n1);
    case MD_IND_MAX: return md_ind_max_new(n1);
    case MD_IND_MIN: return md_ind_min_new(n1);
    case MD_IND_RVOL: return md_ind_rvol_new(n1, p1);
    default: return NULL;
    }
}

void au_ffi_ind_free(void *ind)
{
    md_ind_free(ind);
}

void au_ffi_ind_reset(void *ind)
{
    md_ind_reset(ind);
}

int64_t au_ffi_ind_lookback(const void *ind)
{
    return md_ind_lookback(ind);
}

double au_ffi_ind_sma_update(md_ind_sma *s, double x) { return md_ind_sma_update(s, x); }
double au_ffi_ind_ema_update(md_ind_ema *s, double x) { return md_ind_ema_update(s, x); }
double au_ffi_ind_wma_update(md_ind_wma *s, double x) { return md_ind_wma_update(s, x); }
double au_ffi_ind_rsi_update(md_ind_rsi *s, double x) { return md_ind_rsi_update(s, x); }
double au_ffi_ind_stddev_update(md_ind_stddev *s, double x) { return md_ind_stddev_update(s, x); }
double au_ffi_ind_bbands_update(md_ind_bbands *s, double x) { return md_ind_bbands_update(s, x); }
double au_ffi_ind_macd_update(md_ind_macd *s, double x) { return md_ind_macd_update(s, x); }
double au_ffi_ind_roc_update(md_ind_roc *s, double x) { return md_ind_roc_update(s, x); }
double au_ffi_ind_max_update(md_ind_max *s, double x) { return md_ind_max_update(s, x); }
double au_ffi_ind_min_update(md_ind_min *s, double x) { return md_ind_min_update(s, x); }
double au_ffi_ind_rvol_update(md_ind_rvol *s, double x) { return md_ind_rvol_update(s, x); }

double au_ffi_ind_trange_update(md_ind_trange *s, double high, double low, double close)
{
    return md_ind_trange_update(s, high, low, close);
}

double au_ffi_ind_atr_update(md_ind_atr *s, double high, double low, double close)
{
    return md_ind_atr_update(s, high, low, close);
}

int64_t au_ffi_ind_run1(void *ind, const double *src, int64_t n, double *out0, double *out1,
                        double *out2)
{
    if (ind == NULL || n < 0 || (n > 0 && (src == NULL || out0 == NULL))) return -1;
    return md_ind_run1(ind, src, n, out0, out1, out2);
}

int64_t au_ffi_ind_run3(void *ind, const double *high, const double *low, const double *close,
                        int64_t n, double *out)
{
    if (ind == NULL || n < 0) return -1;
    if (n > 0 && (high == NULL || low == NULL || close == NULL || out == NULL)) return -1;
    return md_ind_run3(ind, high, low, close, n, out);
}
