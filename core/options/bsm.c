/* bsm.c — see bsm.h.  The formulas, the implied-vol method and the tree are written
 * up in docs/options.md ("Pricing"). */
#include "options/bsm.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GLIBC__)
#define HAVE_MVEC_EXP 1
#include <emmintrin.h>
#endif

#include "sys/errmsg.h"

#define INV_SQRT_2PI 0.39894228040143267794 /* 1 / sqrt(2 pi) */
#define SQRT_2PI 2.50662827463100050242

/* Below this vol * sqrt(t) the distribution is a point: price on the forward. */
#define S_MIN 1e-150

/* ---- the normal distribution ----
 *
 * N(d) = erfc(-d / sqrt 2) / 2.  Calling libm's erfc with the scaled argument is
 * simple but not exact: the rounding of d / sqrt 2 alone costs up to d^2 ulps in the
 * tails (86 ulps at d = -8, over 1000 at -37, against a long double reference).  So
 * erfc is evaluated here with W. J. Cody's rational Chebyshev approximations
 * ("Rational Chebyshev approximations for the error function", Math. Comp. 1969; the
 * coefficients of Netlib's SPECFUN CALERF), in which erfc(x) = exp(-x^2) R(x), and
 * the Gaussian factor exp(-x^2) = exp(-d^2 / 2) is computed from d itself with d^2
 * split exactly (Dekker's product).  The result is within 8 ulps of N(d) for every
 * d, and the Gaussian factor is the density's too: pricing needs one exp per d for
 * n(d) and N(d) together. */

/* exp(-d^2 / 2), with d * d = p + e exactly so the rounding of the square does not
 * reach the result.  0 beyond |d| = 40, where it underflows anyway. */
static inline double gauss(double d)
{
    if (!(fabs(d) < 40.0)) return 0.0;
    double c = 134217729.0 * d; /* 2^27 + 1: Veltkamp's split */
    double hi = c - (c - d), lo = d - hi;
    double p = d * d;
    double e = ((hi * hi - p) + 2.0 * hi * lo) + lo * lo;
    return exp(-0.5 * p) * (1.0 - 0.5 * e);
}

/* N(d), given g = gauss(d).  Inlined: it sits on the critical path of every price. */
static inline __attribute__((always_inline)) double ncdf_g(double d, double g)
{
    double x = fabs(d) * M_SQRT1_2;
    if (x <= 0.46875) {
        /* erf(y) = y A(y^2) / B(y^2); N = (1 + erf(d / sqrt 2)) / 2. */
        double y = d * M_SQRT1_2, z = y * y;
        double num = (((0.185777706184603153 * z + 3.1611237438705656) * z +
                       113.864154151050156) * z + 377.485237685302021) * z +
                     3209.37758913846947;
        double den = (((z + 23.6012909523441209) * z + 244.024637934444173) * z +
                      1282.61652607737228) * z + 2844.23683343917062;
        return 0.5 + 0.5 * (y * num / den);
    }
    double tail; /* N(-|d|) = erfc(x) / 2 */
    if (x <= 4.0) {
        /* Estrin's scheme: the two degree-8 polynomials in a few dependent steps. */
        double x2 = x * x, x4 = x2 * x2;
        double num = (1230.33935479799725 + 2051.07837782607147 * x) +
                     x2 * (1712.04761263407058 + 881.95222124176909 * x) +
                     x4 * ((298.635138197400131 + 66.1191906371416295 * x) +
                           x2 * (8.88314979438837594 + 0.564188496988670089 * x) +
                           x4 * 2.15311535474403846e-8);
        double den = (1230.33935480374942 + 3439.36767414372164 * x) +
                     x2 * (4362.61909014324716 + 3290.79923573345963 * x) +
                     x4 * ((1621.38957456669019 + 537.181101862009858 * x) +
                           x2 * (117.693950891312499 + 15.7449261107098347 * x) + x4);
        tail = 0.5 * g * num / den;
    } else {
        double z = 1.0 / (x * x);
        double num = ((((0.0163153871373020978 * z + 0.305326634961232344) * z +
                        0.360344899949804439) * z + 0.125781726111229246) * z +
                      0.0160837851487422766) * z + 6.58749161529837803e-4;
        double den = ((((z + 2.56852019228982242) * z + 1.87295284992346047) * z +
                       0.527905102951428412) * z + 0.0605183413124413191) * z +
                     0.00233520497626869185;
        tail = 0.5 * g * (0.56418958354775628695 - z * num / den) / x;
    }
    return d < 0 ? tail : 1.0 - tail;
}

/* The standard normal cdf alone. */
static inline double ncdf(double d)
{
    return ncdf_g(d, gauss(d));
}

static inline int is_fin(double x)
{
    return fabs(x) <= DBL_MAX;
}

static inline int positive(double x)
{
    return x > 0 && x <= DBL_MAX;
}

static inline int right_ok(int right)
{
    return right == OPT_CALL || right == OPT_PUT;
}

/* The inputs every function shares (vol is checked by those that take one). */
static inline int inputs_ok(int right, double spot, double strike, double t, double rate,
                            double div)
{
    return right_ok(right) && positive(spot) && positive(strike) && t >= 0 && t <= DBL_MAX &&
           is_fin(rate) && is_fin(div);
}

/* Delta at expiry: in the money 1, out 0, at the money 0.5 (puts negated). */
static double expiry_delta(int right, double spot, double strike)
{
    double w = spot > strike ? 1.0 : spot < strike ? 0.0 : 0.5;
    return right == OPT_CALL ? w : w - 1.0;
}

static double intrinsic(int right, double spot, double strike)
{
    return right == OPT_CALL ? fmax(spot - strike, 0.0) : fmax(strike - spot, 0.0);
}

/* t == 0: intrinsic value; delta by expiry_delta; the rest 0. */
static void at_expiry(int right, double spot, double strike, opt_greeks *o)
{
    o->price = intrinsic(right, spot, strike);
    o->delta = expiry_delta(right, spot, strike);
    o->gamma = o->vega = o->theta = o->rho = 0;
}

/* vol sqrt(t) below S_MIN with t > 0: the forward is certain, so the option is worth
 * its discounted intrinsic value on the forward (weight w: 1 in, 0 out, 0.5 at). */
static void point_forward(int right, double sq, double kr, double dq, double t, double rate,
                          double div, opt_greeks *o)
{
    double w = sq > kr ? 1.0 : sq < kr ? 0.0 : 0.5;
    double sign = 1.0;
    if (right == OPT_PUT) {
        w = 1.0 - w;
        sign = -1.0;
    }
    o->price = w * fmax(sign * (sq - kr), 0.0);
    o->delta = sign * w * dq;
    o->gamma = o->vega = 0;
    o->theta = sign * w * (div * sq - rate * kr);
    o->rho = sign * w * t * kr;
}

/* Price and greeks for checked inputs with t > 0, given sqt = sqrt(t), dq = e^(-div t)
 * and dr = e^(-rate t) (a chain shares them across an expiry).  want_greeks == 0
 * computes the price alone (the compiler drops the rest).  Returns 0, or OPT_EINVAL
 * when a result is not finite (inputs so extreme that something overflows). */
static inline int bs_core(int right, double spot, double strike, double t, double rate,
                          double div, double vol, double sqt, double dq, double dr,
                          int want_greeks, opt_greeks *o)
{
    double s = vol * sqt;
    double sq = spot * dq, kr = strike * dr;
    if (!(s >= S_MIN)) {
        point_forward(right, sq, kr, dq, t, rate, div, o);
        return is_fin(o->price + o->delta + o->theta + o->rho) ? 0 : OPT_EINVAL;
    }
    double inv_s = 1.0 / s;
    double d1 = (log(spot / strike) + (rate - div) * t) * inv_s + 0.5 * s;
    double d2 = d1 - s;
    /* n(d2) = n(d1) S e^-qt / (K e^-rt): one exp for both Gaussian factors (the
     * direct one where the product would under- or overflow). */
    double g1 = gauss(d1), ratio = sq / kr;
    double g2 = g1 > 1e-280 && ratio < 1e280 ? g1 * ratio : gauss(d2);
    double spdf = sq * INV_SQRT_2PI * g1; /* S e^-qt n(d1) = K e^-rt n(d2) */
    if (right == OPT_CALL) {
        double n1 = ncdf_g(d1, g1), n2 = ncdf_g(d2, g2);
        double price = sq * n1 - kr * n2;
        o->price = price > 0 ? price : 0;
        if (!want_greeks) return is_fin(o->price) ? 0 : OPT_EINVAL;
        o->delta = dq * n1;
        o->theta = -0.5 * spdf * vol * vol * inv_s - rate * kr * n2 + div * sq * n1;
        o->rho = t * kr * n2;
    } else {
        double n1 = ncdf_g(-d1, g1), n2 = ncdf_g(-d2, g2);
        double price = kr * n2 - sq * n1;
        o->price = price > 0 ? price : 0;
        if (!want_greeks) return is_fin(o->price) ? 0 : OPT_EINVAL;
        o->delta = -dq * n1;
        o->theta = -0.5 * spdf * vol * vol * inv_s + rate * kr * n2 - div * sq * n1;
        o->rho = -t * kr * n2;
    }
    /* vol / (2 sqrt t) is vol^2 / (2 s) above; one division serves d1, gamma, theta. */
    o->gamma = spdf * inv_s / (spot * spot);
    o->vega = spdf * sqt;
    /* One test for all six: inf - inf and any NaN make the sum NaN. */
    double sum = o->price + o->delta + o->gamma + o->vega + o->theta + o->rho;
    return is_fin(sum) ? 0 : OPT_EINVAL;
}

/* glibc's libmvec: exp of two doubles in one call (the x86-64 vector function ABI's
 * SSE2 variant, present on every x86-64; within 4 ulps).  The two discount factors
 * through it cost about what one scalar exp does, a tenth of a price with greeks. */
#ifdef HAVE_MVEC_EXP
__m128d _ZGVbN2v_exp(__m128d x);
#endif

/* dq = e^(-div t) and dr = e^(-rate t). */
static inline void discounts(double t, double rate, double div, double *dq, double *dr)
{
#ifdef HAVE_MVEC_EXP
    __m128d e = _ZGVbN2v_exp(_mm_set_pd(-rate * t, -div * t));
    *dq = _mm_cvtsd_f64(e);
    *dr = _mm_cvtsd_f64(_mm_unpackhi_pd(e, e));
#else
    *dq = exp(-div * t);
    *dr = exp(-rate * t);
#endif
}

static inline int bs_eval(int right, double spot, double strike, double t, double rate,
                          double div, double vol, int want_greeks, opt_greeks *o)
{
    double dq, dr;
    discounts(t, rate, div, &dq, &dr);
    return bs_core(right, spot, strike, t, rate, div, vol, sqrt(t), dq, dr, want_greeks, o);
}

int opt_bs(int right, double spot, double strike, double t, double rate, double div,
           double vol, opt_greeks *out)
{
    if (out == NULL || !inputs_ok(right, spot, strike, t, rate, div) || !positive(vol))
        return OPT_EINVAL;
    if (t == 0) {
        at_expiry(right, spot, strike, out);
        return 0;
    }
    return bs_eval(right, spot, strike, t, rate, div, vol, 1, out);
}

double opt_bs_price(int right, double spot, double strike, double t, double rate, double div,
                    double vol)
{
    if (!inputs_ok(right, spot, strike, t, rate, div) || !positive(vol)) return NAN;
    if (t == 0) return intrinsic(right, spot, strike);
    opt_greeks o;
    return bs_eval(right, spot, strike, t, rate, div, vol, 0, &o) == 0 ? o.price : NAN;
}

int opt_bs_batch(int n, const int *right, const double *strike, const double *t,
                 const double *vol, double spot, double rate, double div, opt_greeks *out)
{
    if (n < 0 || (n > 0 && (!right || !strike || !t || !vol || !out))) return OPT_EINVAL;
    if (!positive(spot) || !is_fin(rate) || !is_fin(div)) return 0;
    /* Exactly opt_bs per contract, with sqrt(t) and the discount factors computed once
     * per run of contracts with the same expiry (a chain is usually sorted by it). */
    double last_t = -1, sqt = 0, dq = 1, dr = 1;
    for (int i = 0; i < n; i++) {
        double ti = t[i];
        if (!right_ok(right[i]) || !positive(strike[i]) || !(ti >= 0 && ti <= DBL_MAX) ||
            !positive(vol[i]))
            return i;
        if (ti == 0) {
            at_expiry(right[i], spot, strike[i], &out[i]);
            continue;
        }
        if (ti != last_t) {
            last_t = ti;
            sqt = sqrt(ti);
            discounts(ti, rate, div, &dq, &dr);
        }
        if (bs_core(right[i], spot, strike[i], ti, rate, div, vol[i], sqt, dq, dr, 1, &out[i]))
            return i;
    }
    return n;
}

/* ---- implied volatility ----
 *
 * Normalized Black (Jäckel's notation): with F = S e^((r-q)t), x = ln(F/K) and
 * s = vol sqrt(t), an option's price over e^(-rt) sqrt(F K) depends on x and s alone.
 * By put-call parity every option is its out-of-the-money twin plus intrinsic value,
 * so we solve for the out-of-the-money call, x <= 0:
 *   c(s) = e^(x/2) N(d1) - e^(-x/2) N(d2),  d1,2 = x/s +- s/2,   0 < c < e^(x/2)
 *   g(s) = e^(x/2) - c(s) = e^(x/2) N(-d1) + e^(-x/2) N(d2)
 *   v(s) = c'(s) = -g'(s) = e^(x/2) n(d1),   v'(s) = v (x^2 / s^3 - s / 4)
 * The target is bl = (price - lower bound) / norm, or bu = (upper bound - price) / norm
 * (they add up to e^(x/2)), whichever is smaller and so carries the price's precision.
 * The objective is f = ln c(s) - ln bl (the lower half) or ln bu - ln g(s) (the
 * upper), both increasing in s and nearly linear where Newton on the price itself
 * crawls (c is exponentially small far out of the money, g far up in vol).  Halley
 * steps on f (cubic convergence: two or three steps from a Corrado-Miller or
 * asymptotic start), each kept inside the bracket the signs so far give, else a
 * bisection step: every price strictly inside the bounds converges. */

typedef struct iv_ctx {
    double x;            /* ln(F/K) of the out-of-the-money twin: <= 0 */
    double eh, ehm, sh2; /* e^(x/2), e^(-x/2), 2 sinh(x/2) = eh - ehm, precisely */
    double ex;           /* e^x: n(d2) = n(d1) e^x */
} iv_ctx;

/* erf(d / sqrt 2) for |d| / sqrt 2 <= 0.46875: ncdf_g's first branch, without the 1/2. */
static inline double erf_small(double d)
{
    double y = d * M_SQRT1_2, z = y * y;
    double num = (((0.185777706184603153 * z + 3.1611237438705656) * z + 113.864154151050156) *
                      z + 377.485237685302021) * z + 3209.37758913846947;
    double den = (((z + 23.6012909523441209) * z + 244.024637934444173) * z +
                  1282.61652607737228) * z + 2844.23683343917062;
    return y * num / den;
}

/* N(d1) - N(d2) for d1 > d2, without the cancellation of 1 - N where it can be
 * avoided: near 0 a difference of erfs, above 0 a difference of upper tails. */
static inline double ncdf_diff(double d1, double g1, double d2, double g2)
{
    const double small = 0.46875 * M_SQRT2;
    if (fabs(d1) <= small && fabs(d2) <= small) return 0.5 * (erf_small(d1) - erf_small(d2));
    if (d2 > 0) return ncdf_g(-d2, g2) - ncdf_g(-d1, g1);
    return ncdf_g(d1, g1) - ncdf_g(d2, g2);
}

/* The objective f at s and its first two derivatives. */
static inline void iv_objective(const iv_ctx *k, int upper, double target, double s, double *f,
                                double *f1, double *f2)
{
    double a = k->x / s, h = 0.5 * s;
    double d1 = a + h, d2 = a - h;
    double g1 = gauss(d1), g2 = g1 * k->ex;
    double v = INV_SQRT_2PI * k->eh * g1;
    double dv = v * (a * a / s - 0.5 * h); /* v' = v (x^2/s^3 - s/4) */
    if (upper) {
        double g = k->eh * ncdf_g(-d1, g1) + k->ehm * ncdf_g(d2, g2);
        *f = g > 0 ? log(target / g) : INFINITY;
        *f1 = v / g;
        *f2 = dv / g + *f1 * *f1;
    } else {
        double c = k->eh * ncdf_diff(d1, g1, d2, g2) + k->sh2 * ncdf_g(d2, g2);
        *f = c > 0 ? log(c / target) : -INFINITY;
        *f1 = v / c;
        *f2 = dv / c - *f1 * *f1;
    }
}

/* -z for the lower-tail probability p <= 0.5 (N(-z) = p): Abramowitz & Stegun 26.2.23,
 * |error| < 4.5e-4.  A starting point only. */
static double tail_quantile(double p)
{
    double u = sqrt(-2.0 * log(p));
    return u - (2.515517 + u * (0.802853 + u * 0.010328)) /
                   (1.0 + u * (1.432788 + u * (0.189269 + u * 0.001308)));
}

/* A first guess for s. */
static double iv_guess(const iv_ctx *k, int upper, double bl, double bu)
{
    if (upper) {
        /* g is about 2 cosh(x/2) N(-s/2) when s is large. */
        double p = bu / (k->eh + k->ehm);
        return p < 0.5 ? 2.0 * tail_quantile(p) : 1.0;
    }
    /* Corrado and Miller's quadratic approximation, in normalized form. */
    double a = bl - 0.5 * k->sh2;
    double disc = a * a - k->sh2 * k->sh2 / M_PI;
    if (disc >= 0) {
        double s = SQRT_2PI / (k->eh + k->ehm) * (a + sqrt(disc));
        if (s > 0) return s;
    }
    /* Far out of the money: ln c is about -x^2 / (2 s^2). */
    return -k->x / sqrt(-2.0 * log(bl));
}

/* Solve for s: bracketed Halley on the chosen half's objective. */
static double iv_solve(const iv_ctx *k, int upper, double bl, double bu)
{
    double target = upper ? bu : bl;
    double lo = 0, hi = INFINITY;
    double s = iv_guess(k, upper, bl, bu);
    if (!(s > 0 && s < 1e6)) s = 1.0;
    for (int it = 0; it < 200; it++) {
        double f, f1, f2;
        iv_objective(k, upper, target, s, &f, &f1, &f2);
        if (f == 0) return s;
        if (f < 0) {
            lo = s;
        } else {
            hi = s;
        }
        double newton = -f / f1;
        double denom = 1.0 + 0.5 * newton * f2 / f1; /* 1 - f f'' / (2 f'^2) */
        double next = s + (denom >= 0.5 && denom <= 2.0 ? newton / denom : newton);
        /* Converged: the next error is far below this step (cubically, or at worst
         * quadratically). */
        if (fabs(next - s) <= 1e-12 * s) return next;
        if (!(next > lo && next < hi)) {
            if (hi == INFINITY) {
                next = 2.0 * lo;
            } else if (lo == 0) {
                next = 0.5 * hi;
            } else {
                next = hi > 2.0 * lo ? sqrt(lo * hi) : 0.5 * (lo + hi);
            }
        }
        if (hi - lo <= 4 * DBL_EPSILON * lo) return next; /* inf - lo is not */
        s = next;
    }
    return s;
}

/* Format a number for the bounds message: 12 digits, unless they would show the price
 * and a bound as the same number. */
static void num12(char *buf, size_t len, double v, double other)
{
    char a[40], b[40];
    snprintf(a, sizeof a, "%.12g", v);
    snprintf(b, sizeof b, "%.12g", other);
    snprintf(buf, len, "%.*g", strcmp(a, b) == 0 ? 17 : 12, v);
}

static int bounds_error(char *err, size_t errlen, int right, double price, double lower,
                        double upper)
{
    const char *name = right == OPT_CALL ? "call" : "put";
    double near = fabs(price - lower) <= fabs(price - upper) ? lower : upper;
    char p[40], l[40], u[40];
    num12(p, sizeof p, price, near);
    num12(l, sizeof l, lower, price);
    num12(u, sizeof u, upper, price);
    if (price == lower)
        return au_errf(err, errlen, OPT_ERANGE,
                       "%s price %s is at the lower no-arbitrage bound of [%s, %s]: only zero "
                       "volatility gives it", name, p, l, u);
    if (price == upper)
        return au_errf(err, errlen, OPT_ERANGE,
                       "%s price %s is at the upper no-arbitrage bound of [%s, %s]: only infinite "
                       "volatility gives it", name, p, l, u);
    return au_errf(err, errlen, OPT_ERANGE, "%s price %s is %s the no-arbitrage bounds [%s, %s]",
                   name, p, price < lower ? "below" : "above", l, u);
}

int opt_iv(int right, double price, double spot, double strike, double t, double rate,
           double div, double *vol, char *err, size_t errlen)
{
    if (!right_ok(right))
        return au_errf(err, errlen, OPT_EINVAL, "right must be OPT_CALL (1) or OPT_PUT (2), got %d",
                       right);
    const char *names[] = {"price", "spot", "strike", "t", "rate", "div"};
    const double vals[] = {price, spot, strike, t, rate, div};
    for (int i = 0; i < 6; i++) {
        if (!is_fin(vals[i]))
            return au_errf(err, errlen, OPT_EINVAL, "%s is not a finite number (%s)", names[i],
                           isnan(vals[i]) ? "nan" : vals[i] > 0 ? "inf" : "-inf");
    }
    if (!(spot > 0)) return au_errf(err, errlen, OPT_EINVAL, "spot must be > 0, got %.17g", spot);
    if (!(strike > 0))
        return au_errf(err, errlen, OPT_EINVAL, "strike must be > 0, got %.17g", strike);
    if (t < 0) return au_errf(err, errlen, OPT_EINVAL, "t must be >= 0, got %.17g", t);
    if (t == 0)
        return au_errf(err, errlen, OPT_EINVAL,
                       "t is 0: an expiring option has no time value to imply a volatility from");
    if (vol == NULL) return au_errf(err, errlen, OPT_EINVAL, "vol (the result pointer) is NULL");

    double dq = exp(-div * t), dr = exp(-rate * t);
    double sq = spot * dq, kr = strike * dr;
    double lower = right == OPT_CALL ? fmax(sq - kr, 0.0) : fmax(kr - sq, 0.0);
    double upper = right == OPT_CALL ? sq : kr;
    if (!(price > lower && price < upper))
        return bounds_error(err, errlen, right, price, lower, upper);
    double norm = sqrt(sq) * sqrt(kr);
    if (!(norm > 0 && norm <= DBL_MAX))
        return au_errf(err, errlen, OPT_EINVAL,
                       "the discounted spot and strike (%g, %g) are out of range", sq, kr);

    iv_ctx k;
    k.x = -fabs(log(spot / strike) + (rate - div) * t);
    k.eh = exp(0.5 * k.x);
    k.ehm = exp(-0.5 * k.x);
    k.sh2 = 2.0 * sinh(0.5 * k.x);
    k.ex = k.eh * k.eh;
    double bl = (price - lower) / norm, bu = (upper - price) / norm;
    if (!(bl > 0 && bu > 0))
        return au_errf(err, errlen, OPT_ERANGE,
                       "price %.17g is too close to a no-arbitrage bound [%.17g, %.17g] to "
                       "imply a volatility", price, lower, upper);
    double s = iv_solve(&k, bu < bl, bl, bu);
    double v = s / sqrt(t);
    /* The contract, checked: the result reprices the input. */
    double back = opt_bs_price(right, spot, strike, t, rate, div, v);
    if (!(v > 0 && fabs(back - price) <= 1e-10 * fmax(1.0, price)))
        return au_errf(err, errlen, OPT_ERANGE,
                       "no volatility found that reprices %.17g (vol %.17g gives %.17g)", price,
                       v, back);
    *vol = v;
    return 0;
}

/* ---- American options on a CRR tree ----
 *
 * The last step is Black-Scholes (Broadie and Detemple's "BBS"): at level n - 1 the
 * value of holding on is the European price for one step, not the average of two
 * payoffs.  A plain CRR tree's error oscillates with the strike's position between
 * the final nodes (about 0.2 % of an out-of-the-money price at 200 steps); with the
 * smoothed step it is a few times smaller and no longer oscillates.  Everything
 * before that step is the CRR lattice. */

/* Exercise values at the lattice prices S u^k of a tree of depth m: even[i] for
 * k = 2i - m (i = 0..m: the levels m, m - 2, ...), odd[i] for k = 2i - m + 1
 * (i = 0..m-1: the levels m - 1, m - 3, ...).  Powers of u come from exp, so no
 * product chain drifts. */
static void exercise_values(int right, double spot, double strike, double sdt, int m,
                            double *even, double *odd)
{
    double sign = right == OPT_CALL ? 1.0 : -1.0;
    for (int i = 0; i <= m; i++)
        even[i] = fmax(sign * (spot * exp(sdt * (2 * i - m)) - strike), 0.0);
    for (int i = 0; i < m; i++)
        odd[i] = fmax(sign * (spot * exp(sdt * (2 * i - m + 1)) - strike), 0.0);
}

/* The European price over the last step at each node of level m (spot S u^(2j - m)),
 * or exercise when worth more.  Along the level ln(S_j / K) moves by 2 sdt per node,
 * so d1 needs no log per node. */
static void last_step(int right, double spot, double strike, double dt, double rate, double div,
                      double sdt, int m, const double *ex, double *v)
{
    double dq = exp(-div * dt), kr = strike * exp(-rate * dt);
    double d1_0 = (log(spot / strike) + (rate - div) * dt) / sdt + 0.5 * sdt - m;
    for (int j = 0; j <= m; j++) {
        double sq = spot * exp(sdt * (2 * j - m)) * dq;
        double d1 = d1_0 + 2 * j, d2 = d1 - sdt;
        double e = right == OPT_CALL ? sq * ncdf(d1) - kr * ncdf(d2)
                                     : kr * ncdf(-d2) - sq * ncdf(-d1);
        v[j] = e > ex[j] ? e : ex[j];
    }
}

int opt_crr(int right, double spot, double strike, double t, double rate, double div,
            double vol, int steps, double *price, double *delta)
{
    if (price == NULL || !inputs_ok(right, spot, strike, t, rate, div) || !positive(vol) ||
        steps < 1 || steps > OPT_CRR_STEPS_MAX)
        return OPT_EINVAL;
    if (t == 0) {
        *price = intrinsic(right, spot, strike);
        if (delta) *delta = expiry_delta(right, spot, strike);
        return 0;
    }
    double dt = t / steps;
    double sdt = vol * sqrt(dt);
    if (!(sdt >= S_MIN)) return OPT_EINVAL;
    if (steps == 1) {
        /* No lattice: the European price over the whole life, or exercise now. */
        opt_greeks g;
        if (bs_eval(right, spot, strike, t, rate, div, vol, 1, &g) != 0) return OPT_EINVAL;
        double ex = intrinsic(right, spot, strike);
        *price = g.price > ex ? g.price : ex;
        if (delta) *delta = g.price > ex ? g.delta : right == OPT_CALL ? 1.0 : -1.0;
        return 0;
    }
    int m = steps - 1; /* the lattice's depth; the last step is last_step's */
    double u = exp(sdt), d = exp(-sdt);
    double p = (exp((rate - div) * dt) - d) / (u - d);
    double disc = exp(-rate * dt);
    if (!(p >= 0 && p <= 1) || !(u > d) || !is_fin(disc)) return OPT_EINVAL;
    double pu = disc * p, pd = disc * (1.0 - p);

    double stack[3 * (OPT_CRR_STACK_STEPS + 1)];
    double *buf = stack;
    if (steps > OPT_CRR_STACK_STEPS) {
        buf = malloc(3 * ((size_t)m + 1) * sizeof(double));
        if (buf == NULL) return OPT_ENOMEM;
    }
    double *v = buf, *even = buf + (m + 1), *odd = even + (m + 1);
    exercise_values(right, spot, strike, sdt, m, even, odd);
    last_step(right, spot, strike, dt, rate, div, sdt, m, even, v);

    /* Level i has i + 1 nodes at prices S u^(2j - i): with m - i even they are
     * even[(m - i) / 2 + j], with m - i odd odd[(m - i - 1) / 2 + j]. */
    double vd = v[0], vu = v[1];
    for (int i = m - 1; i >= 0; i--) {
        const double *ex = (m - i) % 2 == 0 ? even + (m - i) / 2 : odd + (m - i - 1) / 2;
        for (int j = 0; j <= i; j++) {
            double cont = pd * v[j] + pu * v[j + 1];
            v[j] = cont > ex[j] ? cont : ex[j];
        }
        if (i == 1) {
            vd = v[0];
            vu = v[1];
        }
    }
    double result = v[0];
    if (buf != stack) free(buf);
    if (!is_fin(result)) return OPT_EINVAL;
    *price = result;
    if (delta) *delta = (vu - vd) / (spot * u - spot * d);
    return 0;
}
