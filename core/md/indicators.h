/* indicators.h — streaming technical indicators: O(1) per update, no allocation
 * after creation.
 *
 * Owns: one state struct per indicator kind (SMA, EMA, WMA, RSI, ATR, true range,
 * standard deviation, Bollinger bands, MACD, rate of change, rolling max/min,
 * realized volatility).  Conventions are TA-Lib's (docs/indicators.md): the same
 * seeds, the same index of the first output, the same formulas.
 *
 * Memory: an indicator is one block — the struct followed by its ring buffer (a
 * flexible array member), md_ind_<kind>_size(...) bytes.  The caller allocates it
 * (an arena, the stack for buffer-less kinds, malloc; aligned for a double) and
 * md_ind_<kind>_init fills it; nothing here allocates except md_ind_<kind>_new,
 * which callocs the block and inits it — free that with md_ind_free (free()).  No
 * struct holds a pointer, so memcpy of the block snapshots an indicator.
 *
 * Every struct starts with md_ind_head: the kind, its parameters and its last
 * outputs, so generic code (md_ind_reset, md_ind_lookback, the Lua face) can read
 * them through a pointer to any indicator.
 *
 * Updates: md_ind_<kind>_update(s, x) returns the new value, or NaN while the
 * indicator is warming up; multi-output kinds return their first output and leave
 * all of them in s->head.out.  Inputs must be finite (and > 0 for realized
 * volatility): a NaN would poison the state, and the checks belong to the caller,
 * which knows what a bad input means (lua/alluse/indicators.lua raises).
 * md_ind_run1 / md_ind_run3 do the same over arrays and check their inputs first.
 *
 * Numerical care: window sums are running sums (O(1)), but every n updates — when
 * the ring wraps — they are replaced by a fresh sum of exactly the n values in the
 * window, accumulated one value per update as they arrived.  So running-sum drift
 * never spans more than n updates, and no update does more than O(1) work.  Window
 * variance uses the sliding form of Welford's update and, at each wrap, Welford's
 * online result over the window, never sum-of-squares minus square-of-sum. */
#ifndef AU_MD_INDICATORS_H
#define AU_MD_INDICATORS_H

#include <stddef.h>
#include <stdint.h>

/* The largest period accepted (a ring of 1e6 doubles is 8 MB; max/min take 16 MB). */
#define MD_IND_N_MAX 1000000

enum {
    MD_IND_SMA = 1,
    MD_IND_EMA,
    MD_IND_WMA,
    MD_IND_RSI,
    MD_IND_ATR,
    MD_IND_TRANGE,
    MD_IND_STDDEV,
    MD_IND_BBANDS,
    MD_IND_MACD,
    MD_IND_ROC,
    MD_IND_MAX,
    MD_IND_MIN,
    MD_IND_RVOL,
    MD_IND_KIND_COUNT
};

/* First member of every indicator struct. */
typedef struct md_ind_head {
    int32_t kind;   /* MD_IND_* */
    int32_t nout;   /* outputs per update: 1, or 3 for Bollinger and MACD */
    double param[3]; /* constructor parameters, as given (unused ones 0) */
    double out[3];  /* the last outputs; NaN until warm */
} md_ind_head;

/* Window sum with drift reset (see the top comment). */
typedef struct md_ind_wsum {
    double sum;   /* sum of the window; valid once warm */
    double fresh; /* sum of the values since the ring last wrapped */
} md_ind_wsum;

/* Window mean and sum of squared deviations. */
typedef struct md_ind_moments {
    md_ind_wsum s;
    double m2;         /* sum of (x - mean)^2 over the window; valid once warm */
    double fmean, fm2; /* Welford's running mean and m2 since the ring last wrapped */
    double last;       /* the previous input */
    int32_t same;      /* how many of the latest inputs equal it, saturating at n */
} md_ind_moments;

/* A ring of n doubles (the struct's buf). */
typedef struct md_ind_ring {
    int32_t n;
    int32_t count; /* values seen, saturating at n */
    int32_t pos;   /* the next slot to write, which holds the oldest value once full */
} md_ind_ring;

/* A monotonic deque of (value, input index) in a ring of n pairs. */
typedef struct md_ind_deque {
    int64_t t; /* inputs seen */
    int32_t n, front, size;
} md_ind_deque;

typedef struct md_ind_sma {
    md_ind_head head;
    md_ind_wsum w;
    md_ind_ring r;
    double buf[]; /* n values */
} md_ind_sma;

typedef struct md_ind_ema {
    md_ind_head head;
    double k;     /* 2 / (n + 1) */
    double seed;  /* sum of the inputs while warming up */
    double value; /* the EMA once warm */
    int32_t n, count; /* count saturates at n */
} md_ind_ema;

typedef struct md_ind_wma {
    md_ind_head head;
    md_ind_wsum w;          /* plain window sum */
    double wsum, fwsum;     /* weighted sum 1*x[t-n+1] + ... + n*x[t], and the fresh one */
    double divisor;         /* n (n + 1) / 2 */
    md_ind_ring r;
    double buf[];           /* n values */
} md_ind_wma;

typedef struct md_ind_rsi {
    md_ind_head head;
    double prev;            /* the previous input */
    double gain, loss;      /* sums while warming up, then Wilder's averages */
    int32_t n, count;       /* count saturates at n + 1 */
} md_ind_rsi;

typedef struct md_ind_trange {
    md_ind_head head;
    double prev_close;
    int32_t count;          /* saturates at 1 */
} md_ind_trange;

typedef struct md_ind_atr {
    md_ind_head head;
    double prev_close;
    double atr;             /* sum of true ranges while warming up, then the ATR */
    int32_t n, count;       /* count saturates at n + 1 */
} md_ind_atr;

typedef struct md_ind_stddev {
    md_ind_head head;
    md_ind_moments m;
    md_ind_ring r;
    double buf[];           /* n values */
} md_ind_stddev;

typedef struct md_ind_bbands {
    md_ind_head head;
    md_ind_moments m;
    double k_up, k_dn;      /* band widths in standard deviations */
    md_ind_ring r;
    double buf[];           /* n values */
} md_ind_bbands;

typedef struct md_ind_macd {
    md_ind_head head;
    md_ind_ema fast, slow, signal;
    int32_t count;          /* inputs seen, saturating at the slow period */
} md_ind_macd;

typedef struct md_ind_roc {
    md_ind_head head;
    md_ind_ring r;
    double buf[];           /* the last n inputs */
} md_ind_roc;

typedef struct md_ind_max {
    md_ind_head head;
    md_ind_deque d;
    double buf[];           /* n values, then their n input indexes (as doubles: exact) */
} md_ind_max;

typedef struct md_ind_min {
    md_ind_head head;
    md_ind_deque d;
    double buf[];           /* as md_ind_max */
} md_ind_min;

typedef struct md_ind_rvol {
    md_ind_head head;
    md_ind_moments m;       /* of the log returns */
    double prev;            /* the previous input; 0 before the first */
    double scale;           /* sqrt(periods per year) */
    md_ind_ring r;
    double buf[];           /* the last n log returns */
} md_ind_rvol;

/* ---- C API.  _size: bytes for the block, 0 when the parameters are out of range.
 * _init: 0, or -1 for parameters out of range (n in 1..MD_IND_N_MAX; see each).
 * _new: a calloc'ed, initialised block, NULL on bad parameters or out of memory. */

void md_ind_free(void *ind);
/* Back to the state just after init, parameters kept. */
void md_ind_reset(void *ind);
/* Inputs consumed before the first output (TA-Lib's lookback): the first output is
 * at input index lookback. */
int64_t md_ind_lookback(const void *ind);
/* The last outputs (head.out) into out[0..nout-1]; returns nout, or 0 when not warm. */
int md_ind_value(const void *ind, double out[3]);

size_t md_ind_sma_size(int n);
int md_ind_sma_init(md_ind_sma *s, int n);
md_ind_sma *md_ind_sma_new(int n);
double md_ind_sma_update(md_ind_sma *s, double x);

size_t md_ind_ema_size(int n);
int md_ind_ema_init(md_ind_ema *s, int n);
md_ind_ema *md_ind_ema_new(int n);
double md_ind_ema_update(md_ind_ema *s, double x);

size_t md_ind_wma_size(int n);
int md_ind_wma_init(md_ind_wma *s, int n);
md_ind_wma *md_ind_wma_new(int n);
double md_ind_wma_update(md_ind_wma *s, double x);

size_t md_ind_rsi_size(int n);
int md_ind_rsi_init(md_ind_rsi *s, int n);
md_ind_rsi *md_ind_rsi_new(int n);
double md_ind_rsi_update(md_ind_rsi *s, double x);

size_t md_ind_trange_size(void);
int md_ind_trange_init(md_ind_trange *s);
md_ind_trange *md_ind_trange_new(void);
double md_ind_trange_update(md_ind_trange *s, double high, double low, double close);

size_t md_ind_atr_size(int n);
int md_ind_atr_init(md_ind_atr *s, int n);
md_ind_atr *md_ind_atr_new(int n);
double md_ind_atr_update(md_ind_atr *s, double high, double low, double close);

size_t md_ind_stddev_size(int n);
int md_ind_stddev_init(md_ind_stddev *s, int n);
md_ind_stddev *md_ind_stddev_new(int n);
double md_ind_stddev_update(md_ind_stddev *s, double x);

/* k_up, k_dn: finite, >= 0.  Outputs: middle, upper, lower. */
size_t md_ind_bbands_size(int n);
int md_ind_bbands_init(md_ind_bbands *s, int n, double k_up, double k_dn);
md_ind_bbands *md_ind_bbands_new(int n, double k_up, double k_dn);
double md_ind_bbands_update(md_ind_bbands *s, double x);

/* 1 <= fast <= slow, signal >= 1.  Outputs: macd, signal, histogram. */
size_t md_ind_macd_size(int fast, int slow, int signal);
int md_ind_macd_init(md_ind_macd *s, int fast, int slow, int signal);
md_ind_macd *md_ind_macd_new(int fast, int slow, int signal);
double md_ind_macd_update(md_ind_macd *s, double x);

size_t md_ind_roc_size(int n);
int md_ind_roc_init(md_ind_roc *s, int n);
md_ind_roc *md_ind_roc_new(int n);
double md_ind_roc_update(md_ind_roc *s, double x);

size_t md_ind_max_size(int n);
int md_ind_max_init(md_ind_max *s, int n);
md_ind_max *md_ind_max_new(int n);
double md_ind_max_update(md_ind_max *s, double x);

size_t md_ind_min_size(int n);
int md_ind_min_init(md_ind_min *s, int n);
md_ind_min *md_ind_min_new(int n);
double md_ind_min_update(md_ind_min *s, double x);

/* n >= 2 returns (sample standard deviation); periods per year finite, > 0. */
size_t md_ind_rvol_size(int n);
int md_ind_rvol_init(md_ind_rvol *s, int n, double periods);
md_ind_rvol *md_ind_rvol_new(int n, double periods);
double md_ind_rvol_update(md_ind_rvol *s, double x);

/* Batch: feed src[0..n) through update, exactly as n calls would, writing each
 * result to out[i] (NaN while not warm).  The inputs are checked first: returns n,
 * or the index of the first input that is not finite (not > 0 for rvol) with the
 * state untouched and nothing written; -1 for a three-input kind, or a multi-output
 * kind without out1 and out2.  out0 may be the same array as src (each out0[i] is
 * written after src[i] is read); multi-output kinds write out1, out2 too.  The state
 * is worked on in a local copy, so a run is as fast as a hand-written loop. */
int64_t md_ind_run1(void *ind, const double *src, int64_t n, double *out0, double *out1,
                    double *out2);
/* The same for true range and ATR over high, low, close (-1 for another kind). */
int64_t md_ind_run3(void *ind, const double *high, const double *low, const double *close,
                    int64_t n, double *out);

/* ---- FFI surface for lua/alluse/indicators.lua.  The constructors check their
 * arguments again and return NULL on anything out of range, so a wrong call from
 * Lua fails cleanly; free with au_ffi_ind_free.  Updates are the C ones above. */
void *au_ffi_ind_new(int kind, int n1, int n2, int n3, double p1, double p2);
void au_ffi_ind_free(void *ind);
void au_ffi_ind_reset(void *ind);
int64_t au_ffi_ind_lookback(const void *ind);
double au_ffi_ind_sma_update(md_ind_sma *s, double x);
double au_ffi_ind_ema_update(md_ind_ema *s, double x);
double au_ffi_ind_wma_update(md_ind_wma *s, double x);
double au_ffi_ind_rsi_update(md_ind_rsi *s, double x);
double au_ffi_ind_trange_update(md_ind_trange *s, double high, double low, double close);
double au_ffi_ind_atr_update(md_ind_atr *s, double high, double low, double close);
double au_ffi_ind_stddev_update(md_ind_stddev *s, double x);
double au_ffi_ind_bbands_update(md_ind_bbands *s, double x);
double au_ffi_ind_macd_update(md_ind_macd *s, double x);
double au_ffi_ind_roc_update(md_ind_roc *s, double x);
double au_ffi_ind_max_update(md_ind_max *s, double x);
double au_ffi_ind_min_update(md_ind_min *s, double x);
double au_ffi_ind_rvol_update(md_ind_rvol *s, double x);
/* md_ind_run1 / md_ind_run3; n < 0 or a NULL array returns -1. */
int64_t au_ffi_ind_run1(void *ind, const double *src, int64_t n, double *out0, double *out1,
                        double *out2);
int64_t au_ffi_ind_run3(void *ind, const double *high, const double *low, const double *close,
                        int64_t n, double *out);

#endif
