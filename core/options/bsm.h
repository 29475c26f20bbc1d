/* bsm.h — option pricing: Black-Scholes-Merton prices and greeks of European options,
 * implied volatility, and American options on a Cox-Ross-Rubinstein tree.
 *
 * Owns: nothing.  Every function is pure arithmetic on its arguments and writes only
 * through its out-pointers; nothing keeps state.  opt_bs, opt_bs_price, opt_bs_batch
 * and opt_iv never allocate; opt_crr uses the stack up to OPT_CRR_STACK_STEPS steps
 * and one malloc/free per call beyond.
 *
 * Conventions (docs/options.md): t is the time to expiry in years (ACT/365: calendar
 * days / 365); rate and div are continuously compounded annual rates, div a continuous
 * dividend yield; vol is the annual volatility as a fraction (0.2 is 20 %).  The units
 * of the greeks are QuantLib's: delta per 1.00 of spot, gamma per 1.00 of spot squared,
 * vega per 1.00 of vol (divide by 100 for a vol point), theta per year of calendar time
 * (-dV/dt; divide by 365 for a day), rho per 1.00 of rate (divide by 100 for a point).
 * The normal cdf is erfc(-d / sqrt 2) / 2, with erfc by Cody's rational approximations
 * and the Gaussian factor exp(-d^2 / 2) computed from d exactly: within 8 ulps of
 * N(d) in both tails (libm's erfc of the rounded d / sqrt 2 is off by up to d^2 ulps).
 *
 * Inputs are checked: a right other than OPT_CALL / OPT_PUT, a non-finite number,
 * spot, strike or vol <= 0, or t < 0 is OPT_EINVAL.  Rates and yields may be negative.
 * Every function here may be called from Lua through the FFI as it is (alluse.options
 * declares them); the only unchecked arguments are array lengths. */
#ifndef AU_OPTIONS_BSM_H
#define AU_OPTIONS_BSM_H

#include <stddef.h>

enum { OPT_CALL = 1, OPT_PUT = 2 };

/* Status codes: 0 is success. */
enum {
    OPT_EINVAL = -1, /* a bad argument (see each function) */
    OPT_ERANGE = -2, /* opt_iv: the price is not strictly inside the no-arbitrage bounds */
    OPT_ENOMEM = -3  /* opt_crr: more than OPT_CRR_STACK_STEPS steps and malloc failed */
};

/* opt_crr: trees up to this many steps live on the stack (3 * (steps + 1) doubles,
 * 48 KiB at the limit); larger ones are malloc'ed once per call.  Above
 * OPT_CRR_STEPS_MAX steps (5e9 node updates, seconds of work) is OPT_EINVAL. */
#define OPT_CRR_STACK_STEPS 2048
#define OPT_CRR_STEPS_MAX 100000

typedef struct opt_greeks {
    double price, delta, gamma, vega, theta, rho;
} opt_greeks;

/* European price and greeks.  0, or OPT_EINVAL for a bad input (see the top comment),
 * out == NULL, or inputs so extreme that a result overflows.
 * t == 0: the intrinsic value max(spot - strike, 0) (puts: strike - spot); delta 1 in
 * the money, 0 out of it, 0.5 at the money (puts: -1, 0, -0.5); the other greeks 0.
 * The same when vol * sqrt(t) is below 1e-150: the option is then worth its discounted
 * intrinsic value on the forward. */
int opt_bs(int right, double spot, double strike, double t, double rate, double div,
           double vol, opt_greeks *out);

/* The price alone (the same number as opt_bs's): for hot loops.  NaN for a bad input. */
double opt_bs_price(int right, double spot, double strike, double t, double rate, double div,
                    double vol);

/* A chain: contract i is right[i], strike[i], t[i], vol[i]; spot, rate and div are shared.
 * Returns the number priced: n when all are good, else the index of the first bad
 * contract (out[0 .. index) are written; out[index] is not).  0 when spot, rate or div
 * is bad; OPT_EINVAL for n < 0 or a NULL array with n > 0. */
int opt_bs_batch(int n, const int *right, const double *strike, const double *t,
                 const double *vol, double spot, double rate, double div, opt_greeks *out);

/* Implied volatility: the vol whose opt_bs price is `price`.  0 and *vol, or
 *   OPT_EINVAL: a bad right, a non-finite input, spot/strike <= 0, t <= 0 (at t == 0 an
 *               option has no time value to imply a vol from), vol == NULL;
 *   OPT_ERANGE: price not strictly inside the no-arbitrage bounds — calls
 *               (max(S e^-qt - K e^-rt, 0), S e^-qt), puts (max(K e^-rt - S e^-qt, 0),
 *               K e^-rt) — the message names the price and both bounds;
 * with a one-line reason in err (may be NULL).  Every price strictly inside the bounds
 * converges: bracketed Halley steps (bisection whenever a step would leave the
 * bracket) on the log of the normalized out-of-the-money price or of its distance to
 * the upper bound, three on average, with the vol unbounded above and below.  The
 * result is checked to reprice the input to 1e-10 * max(1, price) (else OPT_ERANGE,
 * "no volatility found ..."; never seen); in practice it does to a few ulps.  No
 * allocation. */
int opt_iv(int right, double price, double spot, double strike, double t, double rate,
           double div, double *vol, char *err, size_t errlen);

/* American option on a Cox-Ross-Rubinstein tree of `steps` steps (1 ..
 * OPT_CRR_STEPS_MAX; >= 200 for cents): dt = t / steps, u = e^(vol sqrt(dt)), d = 1/u,
 * up probability p = (e^((rate - div) dt) - d) / (u - d), exercise checked at every
 * node including the root.  The last step is Black-Scholes (Broadie and Detemple):
 * holding on at step steps - 1 is worth the one-step European price, which removes
 * the plain tree's oscillation with the strike's place among the final nodes (a few
 * times smaller error at 200 steps; docs/options.md).  *price, and *delta (may be
 * NULL) = (V_up - V_down) / (S u - S d) from the first step (one step: the European
 * delta, or +-1 when exercising at once is worth more).  0, or OPT_EINVAL for a bad
 * input (as opt_bs), steps out of range, price == NULL, or p outside [0, 1] (too few
 * steps for the carry: vol sqrt(dt) must exceed about |rate - div| dt); OPT_ENOMEM.
 * t == 0: the intrinsic value and opt_bs's delta. */
int opt_crr(int right, double spot, double strike, double t, double rate, double div,
            double vol, int steps, double *price, double *delta);

#endif
