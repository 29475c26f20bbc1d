/* test_bsm.c — options/bsm: put-call parity, greeks against finite differences of the
 * price, expiry, bad inputs, the chain batch, implied vol round trips and its errors,
 * and the American tree (European limits, early exercise).  QuantLib's numbers are
 * tests/integration/test_options_quantlib.sh's. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "options/bsm.h"
#include "tap.h"

static const double MONEYNESS[] = {0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3, 1.5};
static const double DAYS[] = {1, 7, 30, 91, 182, 365, 730};
static const double RATES[] = {-0.01, 0, 0.05, 0.08};
static const double DIVS[] = {0, 0.02, 0.05};
#define N_OF(a) (int)(sizeof(a) / sizeof((a)[0]))

static void bounds(int right, double s, double k, double t, double r, double q, double *lo,
                   double *hi)
{
    double sq = s * exp(-q * t), kr = k * exp(-r * t);
    *lo = right == OPT_CALL ? fmax(sq - kr, 0) : fmax(kr - sq, 0);
    *hi = right == OPT_CALL ? sq : kr;
}

/* ---- put-call parity ---- */

static void test_parity(void)
{
    static const double vols[] = {0.01, 0.05, 0.2, 0.5, 1.0, 2.0, 3.0};
    int n = 0, bad = 0;
    double worst = 0;
    for (int a = 0; a < N_OF(MONEYNESS); a++)
        for (int b = 0; b < N_OF(DAYS); b++)
            for (int c = 0; c < N_OF(vols); c++)
                for (int d = 0; d < N_OF(RATES); d++)
                    for (int e = 0; e < N_OF(DIVS); e++) {
                        double s = 100, k = 100 * MONEYNESS[a], t = DAYS[b] / 365;
                        double r = RATES[d], q = DIVS[e], v = vols[c];
                        opt_greeks cg, pg;
                        int rc = opt_bs(OPT_CALL, s, k, t, r, q, v, &cg) |
                                 opt_bs(OPT_PUT, s, k, t, r, q, v, &pg);
                        double fwd = s * exp(-q * t) - k * exp(-r * t);
                        double err = fabs(cg.price - pg.price - fwd);
                        /* The deltas obey it too: call delta - put delta = e^(-qt). */
                        double derr = fabs(cg.delta - pg.delta - exp(-q * t));
                        n++;
                        if (rc || err > 1e-12 || derr > 1e-15) bad++;
                        if (err > worst) worst = err;
                    }
    if (!ok(bad == 0, "put-call parity over %d cases: c - p = S e^-qt - K e^-rt to 1e-12 "
                      "(worst %.2g), delta_c - delta_p = e^-qt", n, worst))
        printf("#   %d cases off\n", bad);
}

/* ---- greeks against finite differences ---- */

typedef double (*price_fn)(const double *x, int right);
enum { X_S, X_K, X_T, X_R, X_Q, X_V };

static double price_at(const double *x, int right)
{
    return opt_bs_price(right, x[X_S], x[X_K], x[X_T], x[X_R], x[X_Q], x[X_V]);
}

/* The five-point central first and second derivatives in x[i] with step h. */
static double d1_of(double *x, int right, int i, double h)
{
    double x0 = x[i], f[4];
    const double off[4] = {-2, -1, 1, 2};
    for (int j = 0; j < 4; j++) {
        x[i] = x0 + off[j] * h;
        f[j] = price_at(x, right);
    }
    x[i] = x0;
    return (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h);
}

static double d2_of(double *x, int right, int i, double h)
{
    double x0 = x[i], f[5];
    for (int j = 0; j < 5; j++) {
        x[i] = x0 + (j - 2) * h;
        f[j] = price_at(x, right);
    }
    x[i] = x0;
    return (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h * h);
}

static void test_greeks_fd(void)
{
    static const double days[] = {7, 30, 182, 730};
    static const double vols[] = {0.1, 0.3, 1.0};
    static const double mons[] = {0.8, 0.95, 1.0, 1.05, 1.25};
    const char *names[] = {"delta", "gamma", "vega", "theta", "rho"};
    double worst[5] = {0};
    int n = 0;
    for (int right = OPT_CALL; right <= OPT_PUT; right++)
        for (int a = 0; a < N_OF(mons); a++)
            for (int b = 0; b < N_OF(days); b++)
                for (int c = 0; c < N_OF(vols); c++)
                    for (int d = 1; d < 3; d++)
                        for (int e = 0; e < 2; e++) {
                            double x[6] = {100, 100 * mons[a], days[b] / 365, RATES[d],
                                           DIVS[e], vols[c]};
                            double sd = x[X_V] * sqrt(x[X_T]); /* the scale of log moves */
                            opt_greeks g;
                            opt_bs(right, x[X_S], x[X_K], x[X_T], x[X_R], x[X_Q], x[X_V], &g);
                            double fd[5] = {
                                d1_of(x, right, X_S, 1e-2 * x[X_S] * sd),
                                d2_of(x, right, X_S, 2e-2 * x[X_S] * sd),
                                d1_of(x, right, X_V, 1e-3 * x[X_V]),
                                -d1_of(x, right, X_T, 1e-3 * x[X_T]), /* theta = -dV/dT */
                                d1_of(x, right, X_R, 1e-4),
                            };
                            double an[5] = {g.delta, g.gamma, g.vega, g.theta, g.rho};
                            for (int i = 0; i < 5; i++) {
                                double err = fabs(fd[i] - an[i]) / fmax(1.0, fabs(an[i]));
                                if (err > worst[i]) worst[i] = err;
                            }
                            n++;
                        }
    for (int i = 0; i < 5; i++)
        ok(worst[i] < 1e-7, "%s equals the central difference of the price over %d cases "
                            "(worst %.2g relative to max(1, |%s|))", names[i], n, worst[i],
           names[i]);
}

/* A few values worked out independently (Hull's example 15.6: S 42, K 40, r 10 %,
 * vol 20 %, t 0.5: call 4.76, put 0.81) and the known closed forms at the money. */
static void test_known_values(void)
{
    opt_greeks g;
    opt_bs(OPT_CALL, 42, 40, 0.5, 0.1, 0, 0.2, &g);
    ok(fabs(g.price - 4.7594223929) < 1e-9, "Hull 15.6 call: 4.7594 (got %.10f)", g.price);
    opt_bs(OPT_PUT, 42, 40, 0.5, 0.1, 0, 0.2, &g);
    ok(fabs(g.price - 0.8085993729) < 1e-9, "Hull 15.6 put: 0.8086 (got %.10f)", g.price);
    /* At the money forward with r = q = 0: price = S (2 N(s/2) - 1) = S erf(s / 2^1.5). */
    double s = 0.3 * sqrt(0.25);
    opt_bs(OPT_CALL, 100, 100, 0.25, 0, 0, 0.3, &g);
    ok(fabs(g.price - 100 * erf(s / (2 * M_SQRT2))) < 1e-12, "at the money forward: S erf(s/2^1.5)");
    ok(fabs(g.vega - 100 * 0.5 * exp(-s * s / 8) / sqrt(2 * M_PI)) < 1e-12,
       "vega at the money forward: S sqrt(t) n(s/2)");
    ok(fabs(opt_bs_price(OPT_PUT, 100, 100, 0.25, 0, 0, 0.3) - g.price) < 1e-13,
       "opt_bs_price: the put equals the call at the money forward");
    opt_greeks h;
    opt_bs(OPT_CALL, 100, 100, 0.25, 0, 0, 0.3, &h);
    ok(h.price == opt_bs_price(OPT_CALL, 100, 100, 0.25, 0, 0, 0.3),
       "opt_bs_price is the same number as opt_bs's price");
}

/* ---- expiry, bad inputs ---- */

static void test_expiry(void)
{
    opt_greeks g;
    is_int(opt_bs(OPT_CALL, 105, 100, 0, 0.05, 0.02, 0.2, &g), 0, "t == 0 is valid");
    ok(g.price == 5 && g.delta == 1 && g.gamma == 0 && g.vega == 0 && g.theta == 0 && g.rho == 0,
       "t == 0 call in the money: intrinsic 5, delta 1, the rest 0");
    opt_bs(OPT_PUT, 105, 100, 0, 0.05, 0.02, 0.2, &g);
    ok(g.price == 0 && g.delta == 0, "t == 0 put out of the money: 0, delta 0");
    opt_bs(OPT_PUT, 95, 100, 0, 0.05, 0.02, 0.2, &g);
    ok(g.price == 5 && g.delta == -1, "t == 0 put in the money: 5, delta -1");
    opt_bs(OPT_CALL, 95, 100, 0, 0, 0, 0.2, &g);
    ok(g.price == 0 && g.delta == 0, "t == 0 call out of the money: 0, delta 0");
    opt_bs(OPT_CALL, 100, 100, 0, 0, 0, 0.2, &g);
    ok(g.price == 0 && g.delta == 0.5, "t == 0 call at the money: delta 0.5");
    opt_bs(OPT_PUT, 100, 100, 0, 0, 0, 0.2, &g);
    ok(g.price == 0 && g.delta == -0.5, "t == 0 put at the money: delta -0.5");
    ok(opt_bs_price(OPT_PUT, 90, 100, 0, 0, 0, 0.2) == 10, "opt_bs_price at t == 0: intrinsic");

    /* Just before expiry the price tends to intrinsic and delta to 0 / 1. */
    opt_bs(OPT_CALL, 105, 100, 1e-12, 0.05, 0, 0.2, &g);
    ok(fabs(g.price - 5) < 1e-9 && fabs(g.delta - 1) < 1e-12, "t = 1e-12: intrinsic, delta 1");
    /* vol sqrt(t) below 1e-150: the forward is certain. */
    is_int(opt_bs(OPT_CALL, 105, 100, 1e-300, 0.05, 0, 1e-10, &g), 0, "vol sqrt(t) ~ 1e-160 is valid");
    ok(fabs(g.price - 5) < 1e-12 && g.delta == 1 && g.gamma == 0, "... priced on the forward");
}

static void test_bad_inputs(void)
{
    opt_greeks g;
    const double ok_args[7] = {100, 100, 0.5, 0.05, 0.01, 0.2, 0};
    is_int(opt_bs(0, 100, 100, 0.5, 0.05, 0.01, 0.2, &g), OPT_EINVAL, "right 0: EINVAL");
    is_int(opt_bs(3, 100, 100, 0.5, 0.05, 0.01, 0.2, &g), OPT_EINVAL, "right 3: EINVAL");
    is_int(opt_bs(OPT_CALL, 100, 100, 0.5, 0.05, 0.01, 0.2, NULL), OPT_EINVAL, "out NULL: EINVAL");
    const char *names[] = {"spot", "strike", "t", "rate", "div", "vol"};
    const double bads[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 6; i++) {
        int all = 1;
        for (int b = 0; b < 3; b++) {
            double a[6];
            memcpy(a, ok_args, sizeof a);
            a[i] = bads[b];
            all &= opt_bs(OPT_PUT, a[0], a[1], a[2], a[3], a[4], a[5], &g) == OPT_EINVAL;
            all &= isnan(opt_bs_price(OPT_PUT, a[0], a[1], a[2], a[3], a[4], a[5]));
        }
        ok(all, "%s NaN, +inf, -inf: EINVAL (opt_bs_price: NaN)", names[i]);
    }
    is_int(opt_bs(OPT_CALL, 0, 100, 0.5, 0, 0, 0.2, &g), OPT_EINVAL, "spot 0: EINVAL");
    is_int(opt_bs(OPT_CALL, -1, 100, 0.5, 0, 0, 0.2, &g), OPT_EINVAL, "spot < 0: EINVAL");
    is_int(opt_bs(OPT_CALL, 100, 0, 0.5, 0, 0, 0.2, &g), OPT_EINVAL, "strike 0: EINVAL");
    is_int(opt_bs(OPT_CALL, 100, 100, 0.5, 0, 0, 0, &g), OPT_EINVAL, "vol 0: EINVAL");
    is_int(opt_bs(OPT_CALL, 100, 100, 0.5, 0, 0, -0.2, &g), OPT_EINVAL, "vol < 0: EINVAL");
    is_int(opt_bs(OPT_CALL, 100, 100, -1e-9, 0, 0, 0.2, &g), OPT_EINVAL, "t < 0: EINVAL");
    is_int(opt_bs(OPT_CALL, 100, 100, 0.5, -0.05, -0.02, 0.2, &g), 0, "negative rate and yield are valid");
    is_int(opt_bs(OPT_CALL, 1e300, 1e-300, 1e300, 1e300, 0, 1e300, &g), OPT_EINVAL,
           "inputs whose results overflow: EINVAL");
}

static void test_batch(void)
{
    enum { N = 200 };
    int right[N];
    double strike[N], t[N], vol[N];
    opt_greeks out[N], one;
    /* Four expiries of 25 strikes, calls and puts, sorted by expiry as a chain is. */
    for (int i = 0; i < N; i++) {
        right[i] = i % 2 ? OPT_PUT : OPT_CALL;
        strike[i] = 70 + (i % 50) * 1.2;
        t[i] = (7 + (i / 50) * 30) / 365.0;
        vol[i] = 0.15 + 0.001 * i;
    }
    is_int(opt_bs_batch(N, right, strike, t, vol, 100, 0.04, 0.01, out), N, "a 200-contract chain: 200 priced");
    int same = 1;
    for (int i = 0; i < N; i++) {
        opt_bs(right[i], 100, strike[i], t[i], 0.04, 0.01, vol[i], &one);
        same &= memcmp(&one, &out[i], sizeof one) == 0;
    }
    ok(same, "every contract exactly as opt_bs prices it");
    /* Unsorted, and with an expiring contract among them. */
    for (int i = 0; i < N; i++) t[i] = (i % 7) / 365.0;
    is_int(opt_bs_batch(N, right, strike, t, vol, 100, 0.04, 0.01, out), N, "unsorted expiries, some 0: 200 priced");
    same = 1;
    for (int i = 0; i < N; i++) {
        opt_bs(right[i], 100, strike[i], t[i], 0.04, 0.01, vol[i], &one);
        same &= memcmp(&one, &out[i], sizeof one) == 0;
    }
    ok(same, "... again exactly as opt_bs prices each");
    memset(out, 0, sizeof out);
    vol[37] = -1;
    is_int(opt_bs_batch(N, right, strike, t, vol, 100, 0.04, 0.01, out), 37, "a bad vol at 37: returns 37");
    ok(out[36].price > 0 && out[37].price == 0, "contracts before it are priced, it is not");
    vol[37] = 0.2;
    right[0] = 9;
    is_int(opt_bs_batch(N, right, strike, t, vol, 100, 0.04, 0.01, out), 0, "a bad first right: 0");
    right[0] = OPT_CALL;
    is_int(opt_bs_batch(N, right, strike, t, vol, NAN, 0.04, 0.01, out), 0, "a bad spot: 0");
    is_int(opt_bs_batch(N, right, strike, t, vol, 100, INFINITY, 0.01, out), 0, "a bad rate: 0");
    is_int(opt_bs_batch(-1, right, strike, t, vol, 100, 0.04, 0.01, out), OPT_EINVAL, "n < 0: EINVAL");
    is_int(opt_bs_batch(N, NULL, strike, t, vol, 100, 0.04, 0.01, out), OPT_EINVAL, "a NULL array: EINVAL");
    is_int(opt_bs_batch(0, NULL, NULL, NULL, NULL, 100, 0.04, 0.01, NULL), 0, "n == 0: 0, arrays unused");
}

/* ---- implied volatility ---- */

static void test_iv_round_trips(void)
{
    static const double vols[] = {0.01, 0.03, 0.1, 0.2, 0.4, 0.8, 1.2, 2.0, 3.0};
    int n = 0, inside = 0, solved = 0, bad_vol = 0, bad_price = 0;
    double worst_vol = 0, worst_price = 0;
    for (int right = OPT_CALL; right <= OPT_PUT; right++)
        for (int a = 0; a < N_OF(MONEYNESS); a++)
            for (int b = 0; b < N_OF(DAYS); b++)
                for (int c = 0; c < N_OF(vols); c++)
                    for (int d = 0; d < N_OF(RATES); d++)
                        for (int e = 0; e < N_OF(DIVS); e++) {
                            double s = 100, k = 100 * MONEYNESS[a], t = DAYS[b] / 365;
                            double r = RATES[d], q = DIVS[e], v = vols[c];
                            opt_greeks g;
                            opt_bs(right, s, k, t, r, q, v, &g);
                            double lo, hi, iv = -1;
                            bounds(right, s, k, t, r, q, &lo, &hi);
                            n++;
                            if (!(g.price > lo && g.price < hi)) continue;
                            inside++;
                            if (opt_iv(right, g.price, s, k, t, r, q, &iv, NULL, 0) != 0) continue;
                            solved++;
                            /* What the price says about the vol: a few ulps of the
                             * larger discounted leg, over vega. */
                            double tol = 1e-9 * v + 1e-14 * fmax(s, k) / g.vega;
                            double ev = fabs(iv - v) / tol;
                            double back = opt_bs_price(right, s, k, t, r, q, iv);
                            double ep = fabs(back - g.price) / fmax(1, g.price);
                            if (ev > 1) bad_vol++;
                            if (ep > 1e-10) bad_price++;
                            if (ev > worst_vol) worst_vol = ev;
                            if (ep > worst_price) worst_price = ep;
                        }
    is_int(solved, inside, "implied vol solved for every price strictly inside the bounds: "
                           "%d of %d grid prices (vols 1%%..300%%, deep in and out of the money)",
           inside, n);
    ok(bad_vol == 0, "... the vol that made the price, to 1e-9 or what the price carries "
                     "(worst %.2g of that)", worst_vol);
    ok(bad_price == 0, "... repricing to 1e-10 (worst %.2g relative)", worst_price);
}

/* Prices anywhere inside the bounds, down to the smallest and up to the last ulps. */
static void test_iv_extremes(void)
{
    static const double fracs[] = {1e-300, 1e-200, 1e-100, 1e-30, 1e-15, 1e-12, 1e-9, 1e-6,
                                   1e-3, 0.1, 0.5, 0.9, 1 - 1e-3, 1 - 1e-6, 1 - 1e-9,
                                   1 - 1e-12, 1 - 1e-15};
    static const double mons[] = {0.2, 0.9, 1.0, 1.1, 5.0};
    static const double ts[] = {1.0 / 365 / 24, 1.0 / 365, 0.25, 5.0};
    int n = 0, fail = 0;
    double worst = 0;
    for (int right = OPT_CALL; right <= OPT_PUT; right++)
        for (int a = 0; a < N_OF(mons); a++)
            for (int b = 0; b < N_OF(ts); b++)
                for (int f = 0; f < N_OF(fracs); f++) {
                    double s = 100, k = 100 * mons[a], t = ts[b], r = 0.03, q = 0.01, lo, hi;
                    bounds(right, s, k, t, r, q, &lo, &hi);
                    double p = lo + (hi - lo) * fracs[f];
                    if (!(p > lo && p < hi)) continue; /* the fraction is below an ulp */
                    double iv = -1;
                    char err[200] = "";
                    n++;
                    int rc = opt_iv(right, p, s, k, t, r, q, &iv, err, sizeof err);
                    double back = opt_bs_price(right, s, k, t, r, q, iv);
                    double e = fabs(back - p) / fmax(1, p);
                    if (rc != 0 || !(e <= 1e-10)) {
                        if (fail++ < 5)
                            printf("#   right %d K %g t %g price %.17g: rc %d vol %.17g (%s)\n",
                                   right, k, t, p, rc, iv, err);
                    }
                    if (rc == 0 && e > worst) worst = e;
                }
    ok(fail == 0, "implied vol of %d prices spread over the whole of (lower, upper), from "
                  "1e-300 of the way to 1e-15 short of the top: all solved, repriced to 1e-10 "
                  "(worst %.2g)", n, worst);
    double iv = 0;
    ok(opt_iv(OPT_CALL, 1e-300, 100, 200, 0.25, 0, 0, &iv, NULL, 0) == 0 && iv > 0 && iv < 0.2,
       "a 1e-300 far out of the money call: a small vol (%.4g)", iv);
    ok(opt_iv(OPT_CALL, 100 - 1e-12, 100, 100, 1.0 / 365, 0, 0, &iv, NULL, 0) == 0 && iv > 20,
       "a call 1e-12 under its upper bound a day out: a vol above 2000 %% (%.4g)", iv);
}

static void test_iv_errors(void)
{
    char err[256];
    double vol = 42;
    is_int(opt_iv(OPT_CALL, 0.5, 100, 50, 0.5, 0, 0, &vol, err, sizeof err), OPT_ERANGE,
           "below the lower bound: ERANGE");
    is_str(err, "call price 0.5 is below the no-arbitrage bounds [50, 100]", "... the message names both bounds");
    ok(vol == 42, "... vol untouched");
    is_int(opt_iv(OPT_PUT, 120, 100, 110, 1, 0.05, 0, &vol, err, sizeof err), OPT_ERANGE,
           "above the upper bound: ERANGE");
    is_str(err, "put price 120 is above the no-arbitrage bounds [4.63523669508, 104.635236695]",
           "... the message");
    is_int(opt_iv(OPT_CALL, 50, 100, 50, 0.5, 0, 0, &vol, err, sizeof err), OPT_ERANGE,
           "at the lower bound: ERANGE");
    is_str(err, "call price 50 is at the lower no-arbitrage bound of [50, 100]: only zero "
                "volatility gives it", "... the message says why");
    is_int(opt_iv(OPT_CALL, 100, 100, 50, 0.5, 0, 0, &vol, err, sizeof err), OPT_ERANGE,
           "at the upper bound: ERANGE");
    is_str(err, "call price 100 is at the upper no-arbitrage bound of [50, 100]: only infinite "
                "volatility gives it", "... the message says why");
    is_int(opt_iv(OPT_CALL, 50.000000000000007, 100, 50, 0.5, 0, 0, &vol, err, sizeof err), 0,
           "one ulp above the lower bound: solved");
    is_int(opt_iv(OPT_PUT, -1, 100, 50, 0.5, 0, 0, &vol, err, sizeof err), OPT_ERANGE,
           "a negative price: ERANGE");
    is_int(opt_iv(OPT_CALL, 5, 100, 100, 0, 0, 0, &vol, err, sizeof err), OPT_EINVAL, "t == 0: EINVAL");
    is_str(err, "t is 0: an expiring option has no time value to imply a volatility from",
           "... the message");
    is_int(opt_iv(OPT_CALL, NAN, 100, 100, 1, 0, 0, &vol, err, sizeof err), OPT_EINVAL, "price NaN: EINVAL");
    is_str(err, "price is not a finite number (nan)", "... the message names the input");
    is_int(opt_iv(OPT_CALL, 5, 100, 100, 1, INFINITY, 0, &vol, err, sizeof err), OPT_EINVAL, "rate inf: EINVAL");
    is_str(err, "rate is not a finite number (inf)", "... the message names the input");
    is_int(opt_iv(OPT_CALL, 5, 100, 100, 1, 0, -INFINITY, &vol, err, sizeof err), OPT_EINVAL, "div -inf: EINVAL");
    is_str(err, "div is not a finite number (-inf)", "... the message names the input");
    is_int(opt_iv(7, 5, 100, 100, 1, 0, 0, &vol, err, sizeof err), OPT_EINVAL, "right 7: EINVAL");
    is_str(err, "right must be OPT_CALL (1) or OPT_PUT (2), got 7", "... the message");
    is_int(opt_iv(OPT_CALL, 5, 0, 100, 1, 0, 0, &vol, err, sizeof err), OPT_EINVAL, "spot 0: EINVAL");
    is_str(err, "spot must be > 0, got 0", "... the message");
    is_int(opt_iv(OPT_CALL, 5, 100, -3, 1, 0, 0, &vol, err, sizeof err), OPT_EINVAL, "strike < 0: EINVAL");
    is_str(err, "strike must be > 0, got -3", "... the message");
    is_int(opt_iv(OPT_CALL, 5, 100, 100, -1, 0, 0, &vol, err, sizeof err), OPT_EINVAL, "t < 0: EINVAL");
    is_str(err, "t must be >= 0, got -1", "... the message");
    is_int(opt_iv(OPT_CALL, 5, 100, 100, 1, 0, 0, NULL, err, sizeof err), OPT_EINVAL, "vol NULL: EINVAL");
    is_int(opt_iv(OPT_CALL, 500, 100, 100, 1, 0, 0, &vol, NULL, 0), OPT_ERANGE, "err NULL: the code alone");
    char small[12];
    is_int(opt_iv(OPT_CALL, 500, 100, 100, 1, 0, 0, &vol, small, sizeof small), OPT_ERANGE,
           "a short err buffer: the code");
    is_str(small, "call price ", "... and the message cut to fit");
    /* Bounds that print alike at 12 digits are shown with 17. */
    double lo = 100 - 50 * exp(-0.05 * 0.5);
    is_int(opt_iv(OPT_CALL, nextafter(lo, 0), 100, 50, 0.5, 0.05, 0, &vol, err, sizeof err),
           OPT_ERANGE, "an ulp below the lower bound: ERANGE");
    ok(strstr(err, "is below the no-arbitrage bounds [51.234") && strlen(err) > 70,
       "... with enough digits to tell them apart: %s", err);
}

/* ---- the American tree ---- */

static void test_crr(void)
{
    double p, d;
    /* A call without dividends is never exercised early: the tree converges to BS. */
    static const double mons[] = {0.8, 1.0, 1.2};
    int steps[] = {100, 400, 1600, 6400}; /* 6400 is past the stack limit: the heap */
    double worst_rel[4] = {0};
    for (int a = 0; a < N_OF(mons); a++)
        for (int j = 0; j < 4; j++) {
            double k = 100 * mons[a];
            opt_greeks g;
            opt_bs(OPT_CALL, 100, k, 0.5, 0.05, 0, 0.3, &g);
            is_int(opt_crr(OPT_CALL, 100, k, 0.5, 0.05, 0, 0.3, steps[j], &p, &d), 0,
                   "crr call K %g, %d steps", k, steps[j]);
            double rel = fabs(p - g.price) / g.price;
            if (rel > worst_rel[j]) worst_rel[j] = rel;
            if (steps[j] == 1600)
                ok(fabs(d - g.delta) < 1e-3, "... delta %.6f near BS delta %.6f", d, g.delta);
        }
    for (int j = 0; j < 4; j++)
        ok(worst_rel[j] < 0.15 / steps[j], "American call without dividends vs BS at %d steps: "
                                            "%.2g relative (bound 0.15/steps)", steps[j], worst_rel[j]);
    ok(worst_rel[3] < worst_rel[0] / 16, "... the error falls like 1/steps (%.2g -> %.2g)",
       worst_rel[0], worst_rel[3]);

    /* American >= European.  The tree's own error (a few 1e-4 near the money at 200
     * steps; far more, relatively, for far out of the money prices, whose tail a
     * lattice resolves coarsely) can exceed an early exercise premium that is nearly
     * zero, so puts at and in the money worth 0.05 or more are compared, with 1e-3 of
     * slack. */
    int below = 0, n = 0;
    double worst_gap = 0;
    for (int a = 0; a < N_OF(MONEYNESS); a++)
        for (int b = 1; b < N_OF(DAYS); b++)
            for (int e = 0; e < N_OF(DIVS); e++) {
                double k = 100 * MONEYNESS[a], t = DAYS[b] / 365;
                double eu = opt_bs_price(OPT_PUT, 100, k, t, 0.05, DIVS[e], 0.3);
                if (eu < 0.05 || MONEYNESS[a] < 0.9) continue;
                opt_crr(OPT_PUT, 100, k, t, 0.05, DIVS[e], 0.3, 200, &p, NULL);
                n++;
                if (p < eu * (1 - 1e-3)) below++;
                if ((eu - p) / eu > worst_gap) worst_gap = (eu - p) / eu;
            }
    ok(below == 0, "American put >= European put over %d puts, K/S >= 0.9, worth 0.05 or more (200 steps; "
                   "at worst %.2g below)", n, worst_gap);
    double eu = opt_bs_price(OPT_PUT, 100, 150, 1, 0.05, 0, 0.2);
    opt_crr(OPT_PUT, 100, 150, 1, 0.05, 0, 0.2, 200, &p, &d);
    ok(p - eu > 2, "deep in the money put: early exercise premium %.4f > 2", p - eu);
    ok(p == 50 && d == -1, "... exercised at once: worth 50, delta -1 (%.17g, %.17g)", p, d);
    eu = opt_bs_price(OPT_PUT, 100, 120, 1, 0.05, 0, 0.25);
    opt_crr(OPT_PUT, 100, 120, 1, 0.05, 0, 0.25, 200, &p, NULL);
    ok(p > eu + 0.2 && p > 20, "in the money put: premium %.4f", p - eu);
    eu = opt_bs_price(OPT_CALL, 100, 60, 1, 0.01, 0.08, 0.2);
    opt_crr(OPT_CALL, 100, 60, 1, 0.01, 0.08, 0.2, 200, &p, NULL);
    ok(p > eu + 1, "deep in the money call with an 8%% yield: premium %.4f", p - eu);

    /* Edges. */
    is_int(opt_crr(OPT_PUT, 90, 100, 0, 0.05, 0, 0.3, 200, &p, &d), 0, "t == 0");
    ok(p == 10 && d == -1, "... intrinsic, delta -1");
    is_int(opt_crr(OPT_PUT, 100, 100, 1, 0.05, 0, 0.3, 1, &p, &d), 0, "one step");
    eu = opt_bs_price(OPT_PUT, 100, 100, 1, 0.05, 0, 0.3);
    ok(p == eu, "... the European price (nothing to exercise at the money)");
    is_int(opt_crr(OPT_PUT, 100, 100, 1, 0.05, 0, 0.3, 2, &p, &d), 0, "two steps");
    ok(p >= eu && d < 0 && d > -1, "... at least European, delta in (-1, 0): %.4f, %.4f", p, d);
    is_int(opt_crr(OPT_PUT, 100, 100, 1, 0.05, 0, 0.3, 0, &p, &d), OPT_EINVAL, "0 steps: EINVAL");
    is_int(opt_crr(OPT_PUT, 100, 100, 1, 0.05, 0, 0.3, OPT_CRR_STEPS_MAX + 1, &p, &d), OPT_EINVAL,
           "more than OPT_CRR_STEPS_MAX steps: EINVAL");
    is_int(opt_crr(OPT_PUT, 100, 100, 1, 0.05, 0, 0.3, 200, NULL, &d), OPT_EINVAL, "price NULL: EINVAL");
    is_int(opt_crr(OPT_PUT, 100, 100, 1, 0.05, 0, 0.3, 200, &p, NULL), 0, "delta NULL: fine");
    is_int(opt_crr(OPT_CALL, 100, 100, 1, 0.5, 0, 0.01, 2, &p, &d), OPT_EINVAL,
           "too few steps for the carry (up probability above 1): EINVAL");
    is_int(opt_crr(OPT_CALL, 100, 100, 1, 0.5, 0, 0.01, 5000, &p, &d), 0, "... enough steps: fine");
    is_int(opt_crr(3, 100, 100, 1, 0.05, 0, 0.3, 200, &p, &d), OPT_EINVAL, "a bad right: EINVAL");
    is_int(opt_crr(OPT_PUT, 100, NAN, 1, 0.05, 0, 0.3, 200, &p, &d), OPT_EINVAL, "strike NaN: EINVAL");
    is_int(opt_crr(OPT_PUT, 100, 100, 1, 0.05, 0, 0, 200, &p, &d), OPT_EINVAL, "vol 0: EINVAL");
}

int main(void)
{
    test_parity();
    test_known_values();
    test_greeks_fd();
    test_expiry();
    test_bad_inputs();
    test_batch();
    test_iv_round_trips();
    test_iv_extremes();
    test_iv_errors();
    test_crr();
    return done_testing();
}
