/* test_indicators.c — md/indicators on small inputs whose outputs are worked out by
 * hand in the comments (TA-Lib's conventions: seeds, first-output index, formulas),
 * plus reset, batch runs, bad parameters and drift over a long run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "md/indicators.h"
#include "tap.h"

/* NaN matches NaN; otherwise within 1e-12 relative (1e-12 absolute near 0). */
static int same(double got, double want)
{
    if (isnan(want)) return isnan(got);
    double tol = 1e-12 * fmax(1.0, fabs(want));
    return fabs(got - want) <= tol;
}

static void is_num(double got, double want, const char *name)
{
    if (!ok(same(got, want), "%s", name)) printf("#   got %.17g, expected %.17g\n", got, want);
}

/* Feed xs through update and compare every output with want (NaN: not warm). */
typedef double (*update1)(void *, double);
static void series_is(void *ind, update1 up, const double *xs, const double *want, int n,
                      const char *name)
{
    int bad = -1;
    double got = 0;
    for (int i = 0; i < n; i++) {
        got = up(ind, xs[i]);
        if (bad < 0 && !same(got, want[i])) bad = i;
        if (bad == i) break;
    }
    if (!ok(bad < 0, "%s", name))
        printf("#   at index %d: got %.17g, expected %.17g\n", bad, got, want[bad]);
}

/* Adapters with a common signature for series_is. */
static double up_sma(void *s, double x) { return md_ind_sma_update(s, x); }
static double up_ema(void *s, double x) { return md_ind_ema_update(s, x); }
static double up_wma(void *s, double x) { return md_ind_wma_update(s, x); }
static double up_rsi(void *s, double x) { return md_ind_rsi_update(s, x); }
static double up_sd(void *s, double x) { return md_ind_stddev_update(s, x); }
static double up_roc(void *s, double x) { return md_ind_roc_update(s, x); }
static double up_max(void *s, double x) { return md_ind_max_update(s, x); }
static double up_min(void *s, double x) { return md_ind_min_update(s, x); }

static void test_sma(void)
{
    const double xs[] = {1, 2, 3, 4, 5, 6, 7, 8};
    const double want[] = {NAN, NAN, 2, 3, 4, 5, 6, 7};
    md_ind_sma *s = md_ind_sma_new(3);
    ok(s != NULL, "sma(3) created");
    series_is(s, up_sma, xs, want, 8, "sma(3) of 1..8: first output at index 2, then the mean");
    is_int(md_ind_lookback(s), 2, "sma(3) lookback is n - 1");
    double v[3];
    is_int(md_ind_value(s, v), 1, "value: one output");
    is_num(v[0], 7, "value is the last output");
    md_ind_reset(s);
    is_int(md_ind_value(s, v), 0, "after reset, no value");
    series_is(s, up_sma, xs, want, 8, "after reset, the same outputs as fresh");
    md_ind_free(s);

    md_ind_sma *one = md_ind_sma_new(1);
    const double want1[] = {1, 2, 3, 4, 5, 6, 7, 8};
    series_is(one, up_sma, xs, want1, 8, "sma(1) is the input");
    md_ind_free(one);

    /* A caller-provided block: the size covers the ring. */
    is_int(md_ind_sma_size(4), offsetof(md_ind_sma, buf) + 4 * sizeof(double), "sma_size(4)");
    is_int(md_ind_sma_size(0), 0, "sma_size(0) is 0 (bad n)");
    is_int(md_ind_sma_size(MD_IND_N_MAX + 1), 0, "sma_size above the maximum is 0");
    double block[32]; /* 256 bytes, aligned for the struct */
    md_ind_sma *b = (md_ind_sma *)block;
    is_int(md_ind_sma_init(b, 0), -1, "init with n = 0 fails");
    is_int(md_ind_sma_init(b, 4), 0, "init into caller memory");
    for (int i = 0; i < 4; i++) md_ind_sma_update(b, 10.0 * (i + 1));
    is_num(b->head.out[0], 25, "sma(4) of 10, 20, 30, 40 in a caller's block");
}

static void test_ema(void)
{
    /* n = 3, k = 0.5: seed (1+2+3)/3 = 2 at index 2; then (4-2)*.5+2 = 3, (5-3)*.5+3 = 4,
     * (1-4)*.5+4 = 2.5 */
    const double xs[] = {1, 2, 3, 4, 5, 1};
    const double want[] = {NAN, NAN, 2, 3, 4, 2.5};
    md_ind_ema *s = md_ind_ema_new(3);
    is_num(s->k, 0.5, "ema(3): k = 2/(n+1)");
    series_is(s, up_ema, xs, want, 6, "ema(3): seeded by the SMA of the first 3");
    is_int(md_ind_lookback(s), 2, "ema(3) lookback 2");
    md_ind_free(s);
}

static void test_wma(void)
{
    /* n = 3, weights 1, 2, 3 (newest heaviest), divisor 6:
     * idx2 (1+4+9)/6 = 14/6; idx3 (2+6+12)/6 = 20/6; idx4 (3+8+15)/6 = 26/6;
     * idx5 (4+10+3)/6 = 17/6; idx6 (5+2+0)/6 = 7/6 */
    const double xs[] = {1, 2, 3, 4, 5, 1, 0};
    const double want[] = {NAN, NAN, 14.0 / 6, 20.0 / 6, 26.0 / 6, 17.0 / 6, 7.0 / 6};
    md_ind_wma *s = md_ind_wma_new(3);
    series_is(s, up_wma, xs, want, 7, "wma(3): weights 1..n, across two ring wraps");
    md_ind_free(s);
}

static void test_rsi(void)
{
    /* n = 2.  Changes +1, -1: seed gain .5, loss .5 -> 50 at index 2.
     * +2: gain (.5*1+2)/2 = 1.25, loss (.5*1+0)/2 = .25 -> 100*1.25/1.5.
     * -3: gain 1.25/2 = .625, loss (.25+3)/2 = 1.625 -> 100*.625/2.25. */
    const double xs[] = {1, 2, 1, 3, 0};
    const double want[] = {NAN, NAN, 50, 100 * 1.25 / 1.5, 100 * .625 / 2.25};
    md_ind_rsi *s = md_ind_rsi_new(2);
    series_is(s, up_rsi, xs, want, 5, "rsi(2): first at index n, Wilder smoothing after");
    is_int(md_ind_lookback(s), 2, "rsi(2) lookback n");
    md_ind_free(s);

    const double flat[] = {5, 5, 5, 5};
    const double want0[] = {NAN, NAN, 0, 0};
    s = md_ind_rsi_new(2);
    series_is(s, up_rsi, flat, want0, 4, "rsi of a flat series is 0 (TA-Lib)");
    md_ind_free(s);

    const double up[] = {1, 2, 3, 4};
    const double want100[] = {NAN, NAN, 100, 100};
    s = md_ind_rsi_new(2);
    series_is(s, up_rsi, up, want100, 4, "rsi of a rising series is 100");
    md_ind_free(s);
}

static void test_trange_atr(void)
{
    /* Bars (high, low, close).  TR needs the previous close:
     * bar1: max(11-9, |9-11|, |9-9|) = 2;  bar2 gaps up: max(15-12, |10-15|, |10-12|) = 5;
     * bar3 gaps down: max(8-7, |14-8|, |14-7|) = 7;  bar4: max(9-8, |7.5-9|, |7.5-8|) = 1.5 */
    const double h[] = {10, 11, 15, 8, 9};
    const double l[] = {8, 9, 12, 7, 8};
    const double c[] = {9, 10, 14, 7.5, 8.5};
    const double tr[] = {NAN, 2, 5, 7, 1.5};
    md_ind_trange *t = md_ind_trange_new();
    int good = 1;
    for (int i = 0; i < 5; i++) good &= same(md_ind_trange_update(t, h[i], l[i], c[i]), tr[i]);
    ok(good, "true range: none on the first bar, then the greatest of the three distances");
    is_int(md_ind_lookback(t), 1, "true range lookback 1");
    md_ind_free(t);

    /* ATR(2): seed (2+5)/2 = 3.5 at index 2; then (3.5*1+7)/2 = 5.25; (5.25+1.5)/2 = 3.375 */
    const double atr[] = {NAN, NAN, 3.5, 5.25, 3.375};
    md_ind_atr *a = md_ind_atr_new(2);
    good = 1;
    for (int i = 0; i < 5; i++) good &= same(md_ind_atr_update(a, h[i], l[i], c[i]), atr[i]);
    ok(good, "atr(2): seeded by the mean of TR at bars 1..n, first at index n, then Wilder");
    is_int(md_ind_lookback(a), 2, "atr(2) lookback n");
    md_ind_free(a);

    /* ATR(1) is the true range, as in TA-Lib. */
    a = md_ind_atr_new(1);
    good = 1;
    for (int i = 0; i < 5; i++) good &= same(md_ind_atr_update(a, h[i], l[i], c[i]), tr[i]);
    ok(good, "atr(1) is the true range");
    md_ind_free(a);
}

static void test_stddev_bbands(void)
{
    /* Population: {1,3} -> 1; {3,3} -> 0; {3,7} -> 2; {7,1} -> 3 */
    const double xs[] = {1, 3, 3, 7, 1};
    const double want[] = {NAN, 1, 0, 2, 3};
    md_ind_stddev *s = md_ind_stddev_new(2);
    series_is(s, up_sd, xs, want, 5, "stddev(2): population, first at index n - 1");
    md_ind_free(s);

    /* A constant window after varied values is exactly 0, not a tiny negative's NaN. */
    const double cs[] = {1.1, 7.3, 2.2, 3.3, 3.3, 3.3, 3.3};
    const double wantc[] = {NAN, NAN, NAN, 2.341340428045439, 1.9434183800715685, 0.4763139720814411, 0};
    s = md_ind_stddev_new(4);
    series_is(s, up_sd, cs, wantc, 7, "stddev(4): a constant window gives 0");
    md_ind_free(s);

    md_ind_bbands *b = md_ind_bbands_new(2, 2, 1);
    ok(isnan(md_ind_bbands_update(b, 1)), "bbands: nothing before n values");
    double mid = md_ind_bbands_update(b, 3);
    ok(same(mid, 2) && same(b->head.out[0], 2) && same(b->head.out[1], 4) && same(b->head.out[2], 1),
       "bbands(2, 2, 1) of {1,3}: middle 2, upper 2 + 2*1, lower 2 - 1*1");
    double v[3];
    is_int(md_ind_value(b, v), 3, "bbands value has three outputs");
    md_ind_free(b);
    ok(md_ind_bbands_new(2, -1, 2) == NULL, "bbands: a negative multiplier is refused");
    ok(md_ind_bbands_new(2, 2, NAN) == NULL, "bbands: a NaN multiplier is refused");
}

static void test_macd(void)
{
    /* macd(2, 3, 2) on 1, 2, 4, 8, 16.  slow (k = .5) seeded at index 2 with 7/3; fast
     * (k = 2/3) starts at index 1 (slow - fast), seeded at index 2 with (2+4)/2 = 3.
     * Index 2: line 3 - 7/3 = 2/3.  Index 3: slow (8-7/3)*.5 + 7/3 = 31/6, fast
     * (8-3)*2/3 + 3 = 19/3, line 7/6; signal seed (2/3 + 7/6)/2 = 11/12, hist 1/4.
     * Index 4: slow (16-31/6)*.5 + 31/6 = 127/12, fast (16-19/3)*2/3 + 19/3 = 115/9,
     * line 115/9 - 127/12 = 79/36; signal (k = 2/3) (79/36 - 11/12) * 2/3 + 11/12. */
    md_ind_macd *m = md_ind_macd_new(2, 3, 2);
    ok(isnan(md_ind_macd_update(m, 1)) && isnan(md_ind_macd_update(m, 2)) &&
           isnan(md_ind_macd_update(m, 4)),
       "macd(2,3,2): nothing before index slow + signal - 2 = 3");
    double line = md_ind_macd_update(m, 8);
    ok(same(line, 7.0 / 6) && same(m->head.out[1], 11.0 / 12) && same(m->head.out[2], 0.25),
       "macd(2,3,2) at index 3: line 7/6, signal 11/12, hist 1/4");
    line = md_ind_macd_update(m, 16);
    double sig = (79.0 / 36 - 11.0 / 12) * (2.0 / 3) + 11.0 / 12;
    ok(same(line, 79.0 / 36) && same(m->head.out[1], sig) && same(m->head.out[2], line - sig),
       "macd(2,3,2) at index 4: line 79/36, signal by the EMA recursion");
    is_int(md_ind_lookback(m), 3, "macd(2,3,2) lookback slow + signal - 2");
    md_ind_free(m);

    m = md_ind_macd_new(12, 26, 9);
    is_int(md_ind_lookback(m), 33, "macd(12,26,9) lookback 33");
    int first = -1;
    for (int i = 0; i < 40 && first < 0; i++)
        if (!isnan(md_ind_macd_update(m, 100 + i % 5))) first = i;
    is_int(first, 33, "macd(12,26,9): first output at index 33");
    md_ind_free(m);
    ok(md_ind_macd_new(26, 12, 9) == NULL, "macd: fast longer than slow is refused");
    m = md_ind_macd_new(5, 5, 1);
    ok(m != NULL, "macd: fast == slow is accepted");
    md_ind_free(m);
}

static void test_roc(void)
{
    /* roc(2): (12/10-1)*100 = 20; (0/11-1)*100 = -100; (5/12-1)*100; x[n ago] = 0 -> 0 */
    const double xs[] = {10, 11, 12, 0, 5, 6};
    const double want[] = {NAN, NAN, 20, -100, (5.0 / 12 - 1) * 100, 0};
    md_ind_roc *s = md_ind_roc_new(2);
    series_is(s, up_roc, xs, want, 6, "roc(2): first at index n; 0 when x[n ago] is 0");
    is_int(md_ind_lookback(s), 2, "roc(2) lookback n");
    md_ind_free(s);
}

static void test_max_min(void)
{
    const double xs[] = {1, 3, 2, 5, 4, 1, 0, 0, 7};
    const double wmax[] = {NAN, NAN, 3, 5, 5, 5, 4, 1, 7};
    const double wmin[] = {NAN, NAN, 1, 2, 2, 1, 0, 0, 0};
    md_ind_max *a = md_ind_max_new(3);
    series_is(a, up_max, xs, wmax, 9, "max(3): over the last 3 inputs");
    md_ind_free(a);
    md_ind_min *b = md_ind_min_new(3);
    series_is(b, up_min, xs, wmin, 9, "min(3): over the last 3 inputs");
    md_ind_free(b);

    /* Against a scan, over a sawtooth that exercises every deque path. */
    int n = 7, good = 1;
    a = md_ind_max_new(n);
    b = md_ind_min_new(n);
    double x[200];
    for (int i = 0; i < 200; i++) x[i] = (double)((i * 37) % 23) - (i % 11 == 0 ? 50 : 0);
    for (int i = 0; i < 200; i++) {
        double hi = md_ind_max_update(a, x[i]), lo = md_ind_min_update(b, x[i]);
        if (i < n - 1) {
            good &= isnan(hi) && isnan(lo);
            continue;
        }
        double eh = x[i], el = x[i];
        for (int j = i - n + 1; j <= i; j++) {
            eh = fmax(eh, x[j]);
            el = fmin(el, x[j]);
        }
        good &= hi == eh && lo == el;
    }
    ok(good, "max(7) and min(7) agree with a scan over 200 inputs");
    md_ind_free(a);
    md_ind_free(b);
}

static void test_rvol(void)
{
    /* Returns ln(1.1), ln(0.9): sample sd = |r1 - r2| / sqrt(2); times sqrt(periods). */
    md_ind_rvol *s = md_ind_rvol_new(2, 4);
    ok(isnan(md_ind_rvol_update(s, 100)) && isnan(md_ind_rvol_update(s, 110)),
       "realized vol(2): nothing before n returns (index n)");
    double v = md_ind_rvol_update(s, 99);
    is_num(v, fabs(log(1.1) - log(0.9)) / sqrt(2) * 2, "realized vol(2, 4) of 100, 110, 99");
    is_int(md_ind_lookback(s), 2, "realized vol lookback n");
    md_ind_free(s);
    ok(md_ind_rvol_new(1, 252) == NULL, "realized vol needs n >= 2");
    ok(md_ind_rvol_new(20, 0) == NULL, "realized vol needs periods > 0");
}

static void test_run(void)
{
    double xs[50], out[50], ref[50];
    for (int i = 0; i < 50; i++) xs[i] = 100 + sin(i) * 3;
    md_ind_wma *s = md_ind_wma_new(5);
    for (int i = 0; i < 50; i++) ref[i] = md_ind_wma_update(s, xs[i]);
    md_ind_reset(s);
    is_int(md_ind_run1(s, xs, 50, out, NULL, NULL), 50, "run1 returns n");
    int good = 1;
    for (int i = 0; i < 50; i++) good &= same(out[i], ref[i]);
    ok(good, "run1 equals update, NaN while not warm");

    md_ind_reset(s);
    is_int(md_ind_run1(s, xs, 20, out, NULL, NULL), 20, "run1 on the first 20");
    is_int(md_ind_run1(s, xs + 20, 30, out + 20, NULL, NULL), 30, "run1 continues on the rest");
    good = 1;
    for (int i = 0; i < 50; i++) good &= same(out[i], ref[i]);
    ok(good, "two runs continue where the first stopped");

    double inplace[50];
    memcpy(inplace, xs, sizeof xs);
    md_ind_reset(s);
    md_ind_run1(s, inplace, 50, inplace, NULL, NULL);
    good = 1;
    for (int i = 0; i < 50; i++) good &= same(inplace[i], ref[i]);
    ok(good, "run1 in place (out == src)");

    double bad[5] = {1, 2, NAN, 4, 5};
    md_ind_reset(s);
    md_ind_run1(s, xs, 3, out, NULL, NULL);
    double before = s->head.out[0];
    double outb[5] = {-1, -1, -1, -1, -1};
    is_int(md_ind_run1(s, bad, 5, outb, NULL, NULL), 2, "run1 returns the index of a NaN");
    ok(s->r.count == 3 && same(s->head.out[0], before) && outb[0] == -1,
       "... with the state untouched and nothing written");
    bad[2] = INFINITY;
    is_int(md_ind_run1(s, bad, 5, outb, NULL, NULL), 2, "run1 refuses infinity too");
    md_ind_free(s);

    md_ind_rvol *rv = md_ind_rvol_new(3, 252);
    double prices[4] = {10, 11, 0, 12};
    is_int(md_ind_run1(rv, prices, 4, out, NULL, NULL), 2, "run1 on realized vol refuses a 0 price");
    md_ind_free(rv);

    md_ind_macd *m = md_ind_macd_new(3, 5, 2);
    double o1[50], o2[50];
    is_int(md_ind_run1(m, xs, 50, out, NULL, NULL), -1, "run1 on macd without its other outputs: -1");
    is_int(md_ind_run1(m, xs, 50, out, o1, o2), 50, "run1 on macd");
    ok(isnan(out[4]) && isnan(o1[4]) && isnan(o2[4]) && !isnan(out[5]) && !isnan(o1[5]) &&
           same(o2[5], out[5] - o1[5]),
       "macd run: NaN in all three before index 5, then line, signal, line - signal");
    md_ind_free(m);

    double h[4] = {10, 11, 15, 8}, l[4] = {8, 9, 12, 7}, c[4] = {9, 10, 14, 7.5};
    md_ind_atr *a = md_ind_atr_new(2);
    is_int(md_ind_run1(a, xs, 4, out, NULL, NULL), -1, "run1 on atr: -1 (three inputs)");
    is_int(md_ind_run3(a, h, l, c, 4, out), 4, "run3 on atr");
    ok(isnan(out[0]) && isnan(out[1]) && same(out[2], 3.5) && same(out[3], 5.25), "atr(2) run");
    l[1] = NAN;
    is_int(md_ind_run3(a, h, l, c, 4, out), 1, "run3 returns the bar with a NaN");
    md_ind_free(a);
    md_ind_sma *sm = md_ind_sma_new(2);
    is_int(md_ind_run3(sm, h, l, c, 4, out), -1, "run3 on sma: -1");
    is_int(au_ffi_ind_run1(sm, NULL, 4, out, NULL, NULL), -1, "au_ffi_ind_run1 refuses NULL");
    is_int(au_ffi_ind_run1(sm, xs, -1, out, NULL, NULL), -1, "au_ffi_ind_run1 refuses n < 0");
    md_ind_free(sm);
}

/* Prices near 1e6 with cent-sized moves, over many ring wraps: the window sums and
 * moments stay within 1e-12 of an exact recomputation (long double, two-pass). */
static void test_drift(void)
{
    enum { N = 20, COUNT = 300000 };
    md_ind_sma *s = md_ind_sma_new(N);
    md_ind_stddev *d = md_ind_stddev_new(N);
    md_ind_wma *w = md_ind_wma_new(N);
    static double x[COUNT];
    unsigned r = 12345;
    for (int i = 0; i < COUNT; i++) {
        r = r * 1103515245u + 12345u;
        x[i] = 1e6 + (double)(r >> 16 & 1023) * 0.01;
    }
    double worst_m = 0, worst_sd = 0, worst_w = 0;
    for (int i = 0; i < COUNT; i++) {
        double m = md_ind_sma_update(s, x[i]);
        double sd = md_ind_stddev_update(d, x[i]);
        double wm = md_ind_wma_update(w, x[i]);
        if (i < N - 1 || i % 997 != 0) continue;
        long double sum = 0, wsum = 0, ss = 0;
        for (int j = i - N + 1; j <= i; j++) {
            sum += x[j];
            wsum += (long double)(j - (i - N)) * x[j];
        }
        long double mean = sum / N;
        for (int j = i - N + 1; j <= i; j++) ss += (x[j] - mean) * (x[j] - mean);
        double esd = (double)sqrtl(ss / N), ew = (double)(wsum / (N * (N + 1) / 2));
        worst_m = fmax(worst_m, fabs(m - (double)mean) / (double)mean);
        worst_sd = fmax(worst_sd, fabs(sd - esd) / esd);
        worst_w = fmax(worst_w, fabs(wm - ew) / ew);
    }
    ok(worst_m < 1e-14, "sma(20): no drift over 300000 updates (worst %.2g)", worst_m);
    ok(worst_sd < 1e-9, "stddev(20) of 1e6 +- cents: within 1e-9 of two-pass (worst %.2g)",
       worst_sd);
    ok(worst_w < 1e-14, "wma(20): no drift over 300000 updates (worst %.2g)", worst_w);
    md_ind_free(s);
    md_ind_free(d);
    md_ind_free(w);
}

static void test_params(void)
{
    ok(md_ind_sma_new(0) == NULL && md_ind_ema_new(-1) == NULL && md_ind_wma_new(MD_IND_N_MAX + 1) == NULL,
       "periods outside 1..MD_IND_N_MAX are refused");
    md_ind_sma *big = md_ind_sma_new(MD_IND_N_MAX);
    ok(big != NULL, "the largest period is accepted");
    md_ind_free(big);
    ok(au_ffi_ind_new(0, 5, 0, 0, 0, 0) == NULL && au_ffi_ind_new(MD_IND_KIND_COUNT, 5, 0, 0, 0, 0) == NULL,
       "au_ffi_ind_new refuses an unknown kind");
    void *p = au_ffi_ind_new(MD_IND_BBANDS, 20, 0, 0, 2, 1.5);
    md_ind_head *h = p;
    ok(p != NULL && h->kind == MD_IND_BBANDS && h->nout == 3 && h->param[0] == 20 &&
           h->param[1] == 2 && h->param[2] == 1.5 && isnan(h->out[0]),
       "au_ffi_ind_new fills the head: kind, outputs, parameters, NaN outputs");
    au_ffi_ind_reset(p);
    is_int(au_ffi_ind_lookback(p), 19, "au_ffi_ind_lookback");
    au_ffi_ind_free(p);
    is_int(sizeof(md_ind_head), 56, "md_ind_head is 56 bytes (lua/alluse/indicators.lua mirrors it)");
    is_int(offsetof(md_ind_head, out), 32, "md_ind_head.out at offset 32");
}

int main(void)
{
    test_sma();
    test_ema();
    test_wma();
    test_rsi();
    test_trange_atr();
    test_stddev_bbands();
    test_macd();
    test_roc();
    test_max_min();
    test_rvol();
    test_run();
    test_drift();
    test_params();
    return done_testing();
}
