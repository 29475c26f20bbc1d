/* test_fill.c — oms/fill: the backtest fill model and the commission models.
 * Every expected price is worked out by hand from the rules in docs/fills.md (the
 * comment on each case says which rule); prices are chosen so the arithmetic is
 * exact or compared within 1e-9. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "oms/fill.h"
#include "tap.h"

static char err[256];

static oms_bar bar(double o, double h, double l, double c, double v)
{
    oms_bar b = {.time = 0, .open = o, .high = h, .low = l, .close = c, .volume = v};
    return b;
}

static oms_order order(int side, int type, int tif, double qty, double limit, double stop)
{
    oms_order o;
    oms_order_init(&o, "t1", "main", "SPY", side, type, tif, qty, limit, stop, 0, NULL, 0);
    if (oms_order_validate(&o)) printf("# invalid test order: %s\n", oms_order_validate(&o));
    oms_order_transition(&o, OMS_ACCEPTED, 0, NULL, 0);
    return o;
}

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fabs(b));
}

/* want < 0: no fill expected.  trig: expected triggered flag. */
static void expect(const char *name, const oms_order *o, oms_bar b, const oms_fill_model *m,
                   double want, int trig)
{
    oms_match f;
    int rc = oms_fill_match(o, &b, m, &f, err, sizeof err);
    if (rc != OMS_OK) {
        ok(0, "%s (error: %s)", name, err);
        return;
    }
    if (want < 0) {
        ok(f.qty == 0 && f.price == 0 && f.triggered == trig, "%s: no fill%s", name,
           trig ? ", stop triggered" : "");
        if (f.qty != 0 || f.triggered != trig)
            printf("#   got qty %g price %.17g triggered %d\n", f.qty, f.price, f.triggered);
    } else {
        ok(f.qty == oms_order_remaining(o) && near(f.price, want) && f.triggered == trig,
           "%s: fills at %g", name, want);
        if (!near(f.price, want) || f.triggered != trig)
            printf("#   got qty %g price %.17g triggered %d\n", f.qty, f.price, f.triggered);
    }
}

/* Gap up: the bar opens above yesterday's range and the level; gap down: below it.
 * Levels are 100 throughout. */
static void test_market(void)
{
    oms_order b = order(OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0);
    oms_order s = order(OMS_SELL, OMS_MARKET, OMS_DAY, 10, 0, 0);
    expect("market buy: at the open", &b, bar(101, 103, 99, 102, 1e6), NULL, 101, 0);
    expect("market buy: gap up, still the open", &b, bar(110, 111, 109, 110, 1e6), NULL, 110, 0);
    expect("market sell: at the open", &s, bar(99, 101, 98, 100, 1e6), NULL, 99, 0);
    expect("market sell: zero volume fills without a cap", &s, bar(99, 99, 99, 99, 0), NULL, 99,
           0);
}

/* A bar that opened before the order was placed is the past: no fill, no stop
 * trigger, no ioc cancel; a bar opening at the order's time is its next bar. */
static void test_bar_before_order(void)
{
    oms_order m = order(OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0);
    oms_order st = order(OMS_SELL, OMS_STOP, OMS_GTC, 10, 0, 100);
    oms_order ioc = order(OMS_BUY, OMS_LIMIT, OMS_IOC, 10, 90, 0);
    m.created = st.created = ioc.created = 1000;
    oms_bar early = bar(101, 103, 95, 102, 1e6);
    early.time = 999;
    expect("market before the order: no fill", &m, early, NULL, -1, 0);
    expect("stop before the order: not triggered though the low passed it", &st, early, NULL, -1, 0);
    oms_match f;
    oms_fill_match(&ioc, &early, NULL, &f, err, sizeof err);
    ok(f.cancel_rest == 0, "ioc before the order: not canceled by a bar it never saw");
    oms_bar at = early;
    at.time = 1000;
    expect("market at the order's time: fills at the open", &m, at, NULL, 101, 0);
}

static void test_limit(void)
{
    oms_order b = order(OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 100, 0);
    expect("buy limit: gap down through it -> the open", &b, bar(97, 98, 96, 97.5, 1e6), NULL, 97,
           0);
    expect("buy limit: inside the range -> the limit", &b, bar(102, 103, 99, 101, 1e6), NULL, 100,
           0);
    expect("buy limit: low exactly at it -> the limit", &b, bar(102, 103, 100, 101, 1e6), NULL,
           100, 0);
    expect("buy limit: not reached", &b, bar(102, 104, 100.5, 103, 1e6), NULL, -1, 0);
    expect("buy limit: gap up, not reached", &b, bar(106, 108, 105, 107, 1e6), NULL, -1, 0);

    oms_order s = order(OMS_SELL, OMS_LIMIT, OMS_GTC, 10, 100, 0);
    expect("sell limit: gap up through it -> the open", &s, bar(103, 104, 102, 103, 1e6), NULL,
           103, 0);
    expect("sell limit: inside the range -> the limit", &s, bar(98, 101, 97, 99, 1e6), NULL, 100,
           0);
    expect("sell limit: high exactly at it -> the limit", &s, bar(98, 100, 97, 99, 1e6), NULL, 100,
           0);
    expect("sell limit: not reached", &s, bar(98, 99.5, 97, 99, 1e6), NULL, -1, 0);
    expect("sell limit: gap down, not reached", &s, bar(94, 95, 93, 94, 1e6), NULL, -1, 0);
}

static void test_stop(void)
{
    oms_order b = order(OMS_BUY, OMS_STOP, OMS_GTC, 10, 0, 100);
    expect("buy stop: gap up through it -> the open", &b, bar(102, 104, 101, 103, 1e6), NULL, 102,
           1);
    expect("buy stop: inside the range -> the stop", &b, bar(98, 101, 97, 100.5, 1e6), NULL, 100,
           1);
    expect("buy stop: high exactly at it -> the stop", &b, bar(98, 100, 97, 99, 1e6), NULL, 100, 1);
    expect("buy stop: not reached", &b, bar(98, 99.9, 97, 99, 1e6), NULL, -1, 0);
    expect("buy stop: gap down, not reached", &b, bar(95, 96, 94, 95, 1e6), NULL, -1, 0);

    oms_order s = order(OMS_SELL, OMS_STOP, OMS_GTC, 10, 0, 100);
    expect("sell stop: gap down through it -> the open", &s, bar(97, 98, 96, 97, 1e6), NULL, 97,
           1);
    expect("sell stop: inside the range -> the stop", &s, bar(102, 103, 99, 99.5, 1e6), NULL, 100,
           1);
    expect("sell stop: not reached", &s, bar(102, 103, 100.1, 101, 1e6), NULL, -1, 0);
    expect("sell stop: gap up, not reached", &s, bar(105, 106, 104, 105, 1e6), NULL, -1, 0);

    /* A triggered stop whose rest is still working is a market order. */
    oms_order t = order(OMS_BUY, OMS_STOP, OMS_GTC, 10, 0, 100);
    t.stop_triggered = 1;
    expect("triggered buy stop: the rest fills at the open even below the stop", &t,
           bar(95, 96, 94, 95, 1e6), NULL, 95, 0);
}

static void test_stop_limit(void)
{
    /* Buy, stop 100, limit 101: the limit is above the stop. */
    oms_order b = order(OMS_BUY, OMS_STOP_LIMIT, OMS_GTC, 10, 101, 100);
    expect("buy stop-limit: gap up between stop and limit -> the open", &b,
           bar(100.5, 102, 100.2, 101.5, 1e6), NULL, 100.5, 1);
    expect("buy stop-limit: gap up past the limit, low reaches it -> the limit", &b,
           bar(103, 104, 100.5, 102, 1e6), NULL, 101, 1);
    expect("buy stop-limit: gap up past the limit, never back -> triggered, no fill", &b,
           bar(103, 104, 102, 103, 1e6), NULL, -1, 1);
    expect("buy stop-limit: triggered inside the bar, limit >= stop -> the stop", &b,
           bar(98, 102, 97, 101.5, 1e6), NULL, 100, 1);
    expect("buy stop-limit: not reached", &b, bar(98, 99.9, 97, 99, 1e6), NULL, -1, 0);
    expect("buy stop-limit: gap down, not reached", &b, bar(94, 95, 93, 94, 1e6), NULL, -1, 0);

    /* Buy, stop 100, limit 99: a pullback entry; the close must prove the pullback. */
    oms_order p = order(OMS_BUY, OMS_STOP_LIMIT, OMS_GTC, 10, 99, 100);
    expect("buy stop-limit below the stop: close at/below the limit -> the limit", &p,
           bar(98, 101, 97, 98.5, 1e6), NULL, 99, 1);
    expect("buy stop-limit below the stop: low below the limit but close above -> no fill", &p,
           bar(98, 101, 97, 99.5, 1e6), NULL, -1, 1);
    p.stop_triggered = 1;
    expect("buy stop-limit, triggered earlier: a plain limit from the open", &p,
           bar(99.5, 100, 98, 99, 1e6), NULL, 99, 0);
    expect("buy stop-limit, triggered earlier: gapped below the limit -> the open", &p,
           bar(97, 98, 96, 97, 1e6), NULL, 97, 0);
    expect("buy stop-limit, triggered earlier: limit not reached", &p,
           bar(100, 102, 99.5, 101, 1e6), NULL, -1, 0);

    /* Sell, stop 100, limit 99: the limit is below the stop. */
    oms_order s = order(OMS_SELL, OMS_STOP_LIMIT, OMS_GTC, 10, 99, 100);
    expect("sell stop-limit: gap down between stop and limit -> the open", &s,
           bar(99.5, 99.8, 98, 99, 1e6), NULL, 99.5, 1);
    expect("sell stop-limit: gap down past the limit, high reaches it -> the limit", &s,
           bar(98, 99.2, 97, 98, 1e6), NULL, 99, 1);
    expect("sell stop-limit: gap down past the limit, never back -> triggered, no fill", &s,
           bar(98, 98.5, 97, 98, 1e6), NULL, -1, 1);
    expect("sell stop-limit: triggered inside the bar, limit <= stop -> the stop", &s,
           bar(101, 102, 98, 98.5, 1e6), NULL, 100, 1);
    expect("sell stop-limit: not reached", &s, bar(101, 102, 100.1, 101, 1e6), NULL, -1, 0);
    expect("sell stop-limit: gap up, not reached", &s, bar(105, 106, 104, 105, 1e6), NULL, -1, 0);

    /* Sell, stop 100, limit 101: a bounce exit; the close must prove the bounce. */
    oms_order q = order(OMS_SELL, OMS_STOP_LIMIT, OMS_GTC, 10, 101, 100);
    expect("sell stop-limit above the stop: close at/above the limit -> the limit", &q,
           bar(102, 103, 99, 101.5, 1e6), NULL, 101, 1);
    expect("sell stop-limit above the stop: close below the limit -> no fill", &q,
           bar(102, 103, 99, 100.5, 1e6), NULL, -1, 1);

    /* Walk one order through trigger, no fill, then fill on the next bar. */
    oms_order w = order(OMS_BUY, OMS_STOP_LIMIT, OMS_DAY, 10, 101, 100);
    oms_match f;
    oms_bar b1 = bar(103, 104, 102, 103, 1e6), b2 = bar(102, 102.5, 100.8, 101, 1e6);
    oms_fill_match(&w, &b1, NULL, &f, err, sizeof err);
    is_int(oms_fill_apply(&w, &f, 10, err, sizeof err), OMS_OK, "walk: apply the trigger");
    ok(w.stop_triggered == 1 && w.status == OMS_ACCEPTED && w.filled_qty == 0,
       "walk: triggered, still accepted, nothing filled");
    oms_fill_match(&w, &b2, NULL, &f, err, sizeof err);
    ok(f.qty == 10 && f.price == 101 && f.triggered == 0, "walk: next bar fills at the limit");
    oms_fill_apply(&w, &f, 20, err, sizeof err);
    ok(w.status == OMS_FILLED && w.avg_price == 101 && w.updated == 20, "walk: filled");
}

static void test_slippage(void)
{
    oms_fill_model m = {.slippage_bps = 10, .participation = 0};
    oms_order mb = order(OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0);
    oms_order ms = order(OMS_SELL, OMS_MARKET, OMS_DAY, 10, 0, 0);
    expect("slippage: market buy pays 10 bps more", &mb, bar(100, 101, 99, 100, 1e6), &m, 100.1, 0);
    expect("slippage: market sell receives 10 bps less", &ms, bar(100, 101, 99, 100, 1e6), &m,
           99.9, 0);
    oms_order sb = order(OMS_BUY, OMS_STOP, OMS_DAY, 10, 0, 100);
    oms_order ss = order(OMS_SELL, OMS_STOP, OMS_DAY, 10, 0, 100);
    expect("slippage: buy stop pays more than the stop", &sb, bar(98, 101, 97, 100, 1e6), &m,
           100.1, 1);
    expect("slippage: buy stop gapped pays more than the open", &sb, bar(102, 103, 101, 102, 1e6),
           &m, 102.102, 1);
    expect("slippage: sell stop receives less than the stop", &ss, bar(102, 103, 99, 100, 1e6), &m,
           99.9, 1);
    oms_order lb = order(OMS_BUY, OMS_LIMIT, OMS_DAY, 10, 100, 0);
    oms_order ls = order(OMS_SELL, OMS_LIMIT, OMS_DAY, 10, 100, 0);
    expect("slippage: buy limit at the limit gets none", &lb, bar(102, 103, 99, 101, 1e6), &m, 100,
           0);
    expect("slippage: buy limit gapped through: the open plus slippage", &lb,
           bar(97, 98, 96, 97, 1e6), &m, 97.097, 0);
    expect("slippage: sell limit at the limit gets none", &ls, bar(98, 101, 97, 99, 1e6), &m, 100,
           0);
    expect("slippage: sell limit gapped through: the open less slippage", &ls,
           bar(103, 104, 102, 103, 1e6), &m, 102.897, 0);
    oms_fill_model big = {.slippage_bps = 500};
    expect("slippage: never beyond the buy limit", &lb, bar(97, 98, 96, 97, 1e6), &big, 100, 0);
    expect("slippage: never beyond the sell limit", &ls, bar(103, 104, 102, 103, 1e6), &big, 100,
           0);
    oms_order slb = order(OMS_BUY, OMS_STOP_LIMIT, OMS_DAY, 10, 101, 100);
    expect("slippage: buy stop-limit at the stop pays more", &slb, bar(98, 102, 97, 101.5, 1e6),
           &m, 100.1, 1);
    expect("slippage: buy stop-limit capped at its limit", &slb, bar(98, 102, 97, 101.5, 1e6),
           &big, 101, 1);

    oms_match f;
    oms_bar b = bar(100, 101, 99, 100, 1e6);
    oms_fill_match(&mb, &b, &m, &f, err, sizeof err);
    ok(f.raw_price == 100, "slippage: raw price kept beside the slipped one");
}

/* Feed bars to o until it is done or the bars run out; returns how many bars filled. */
static int run_bars(oms_order *o, const oms_bar *bars, int n, const oms_fill_model *m,
                    double *fills)
{
    int nf = 0;
    for (int i = 0; i < n && oms_order_is_working(o); i++) {
        oms_match f;
        if (oms_fill_match(o, &bars[i], m, &f, err, sizeof err) != OMS_OK) break;
        if (oms_fill_apply(o, &f, i + 1, err, sizeof err) != OMS_OK) break;
        if (f.qty > 0) fills[nf++] = f.qty;
    }
    return nf;
}

static void test_participation(void)
{
    oms_fill_model m = {.participation = 0.1};
    oms_bar bars[] = {bar(100, 101, 99, 100, 3000), bar(101, 102, 100, 101, 2500),
                      bar(102, 103, 101, 102, 5000), bar(103, 104, 102, 103, 5000)};
    double fills[8];
    oms_order o = order(OMS_BUY, OMS_MARKET, OMS_GTC, 1000, 0, 0);
    int nf = run_bars(&o, bars, 4, &m, fills);
    is_int(nf, 3, "participation: three bars to fill 1000 at 10%%");
    ok(nf == 3 && fills[0] == 300 && fills[1] == 250 && fills[2] == 450,
       "participation: 300 + 250 + 450 (the last one the rest)");
    ok(o.status == OMS_FILLED && o.filled_qty == 1000, "participation: the fills sum to the qty");
    /* (300*100 + 250*101 + 450*102) / 1000 = 101.15 */
    ok(near(o.avg_price, 101.15), "participation: average price 101.15 (%.17g)", o.avg_price);

    oms_order d = order(OMS_SELL, OMS_LIMIT, OMS_DAY, 700, 100, 0);
    nf = run_bars(&d, bars, 2, &m, fills);
    ok(nf == 2 && d.status == OMS_PARTIALLY_FILLED && d.filled_qty == 550,
       "participation: a day limit order keeps working partially filled");

    oms_order i = order(OMS_BUY, OMS_MARKET, OMS_IOC, 1000, 0, 0);
    oms_match f;
    oms_fill_match(&i, &bars[0], &m, &f, err, sizeof err);
    ok(f.qty == 300 && f.cancel_rest == 1, "ioc: 300 now, the rest to cancel");
    oms_fill_apply(&i, &f, 5, err, sizeof err);
    ok(i.status == OMS_CANCELED && i.filled_qty == 300 && i.avg_price == 100,
       "ioc: canceled with 300 filled");
    is_str(i.reason, "ioc: the unfilled rest is canceled", "ioc: reason");

    oms_order il = order(OMS_BUY, OMS_LIMIT, OMS_IOC, 10, 90, 0);
    oms_fill_match(&il, &bars[0], NULL, &f, err, sizeof err);
    ok(f.qty == 0 && f.cancel_rest == 1, "ioc limit not reached: nothing, cancel");
    oms_fill_apply(&il, &f, 5, err, sizeof err);
    ok(il.status == OMS_CANCELED && il.filled_qty == 0, "ioc limit not reached: canceled");
    oms_order ifull = order(OMS_BUY, OMS_MARKET, OMS_IOC, 10, 0, 0);
    oms_fill_match(&ifull, &bars[0], NULL, &f, err, sizeof err);
    ok(f.qty == 10 && f.cancel_rest == 0, "ioc filled in full: nothing to cancel");
    oms_fill_apply(&ifull, &f, 5, err, sizeof err);
    is_int(ifull.status, OMS_FILLED, "ioc filled in full: filled");

    oms_order g = order(OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 90, 0);
    oms_fill_match(&g, &bars[0], NULL, &f, err, sizeof err);
    ok(f.qty == 0 && f.cancel_rest == 0, "gtc limit not reached: keeps working");

    oms_order z = order(OMS_BUY, OMS_MARKET, OMS_GTC, 10, 0, 0);
    oms_bar zero = bar(100, 100, 100, 100, 0), small = bar(100, 100, 100, 100, 9);
    expect("participation: no volume, no fill", &z, zero, &m, -1, 0);
    expect("participation: a cap below one unit, no fill", &z, small, &m, -1, 0);
    oms_fill_model m29 = {.participation = 0.29};
    oms_bar v100 = bar(100, 100, 100, 100, 100);
    oms_order big = order(OMS_BUY, OMS_MARKET, OMS_GTC, 1000, 0, 0);
    oms_fill_match(&big, &v100, &m29, &f, err, sizeof err);
    is_int((int)f.qty, 29, "participation: 0.29 of 100 is 29, not 28");

    /* A stop filled in part: the rest is a market order from the next bar. */
    oms_order s = order(OMS_BUY, OMS_STOP, OMS_GTC, 500, 0, 100);
    oms_bar sb[] = {bar(98, 101, 97, 100, 3000), bar(99, 100, 98, 99, 3000)};
    nf = run_bars(&s, sb, 2, &m, fills);
    ok(nf == 2 && fills[0] == 300 && fills[1] == 200 && s.status == OMS_FILLED,
       "participation: a stop fills 300 on its trigger bar, 200 next bar");
    /* 300 at the stop 100, 200 at the next open 99 (below the stop: it is a market order). */
    ok(near(s.avg_price, (300 * 100.0 + 200 * 99.0) / 500), "participation: stop avg price");
}

static void test_day_expiry(void)
{
    /* A day limit order placed for the session that ends at T; bars every hour. */
    const int64_t H = INT64_C(3600000000), T = INT64_C(1700000000000000);
    oms_order o = order(OMS_BUY, OMS_LIMIT, OMS_DAY, 10, 90, 0);
    oms_bar b = bar(100, 101, 99, 100, 1e6);
    int expired_at = -1;
    for (int i = 0; i < 5 && oms_order_is_working(&o); i++) {
        b.time = T - 2 * H + i * H;
        if (oms_order_day_expired(&o, b.time, T)) {
            oms_order_expire(&o, b.time, NULL, 0);
            expired_at = i;
            break;
        }
        oms_match f;
        oms_fill_match(&o, &b, NULL, &f, err, sizeof err);
        oms_fill_apply(&o, &f, b.time, NULL, 0);
    }
    is_int(expired_at, 2, "day order: expires at the first bar at the session end");
    ok(o.status == OMS_EXPIRED && o.updated == T, "day order: expired at T");
    oms_match f;
    is_int(oms_fill_match(&o, &b, NULL, &f, err, sizeof err), OMS_ESTATE,
           "an expired order does not match");
}

static void test_bad_input(void)
{
    oms_order o = order(OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 100, 0);
    oms_bar good = bar(100, 101, 99, 100, 1000);
    oms_match f;
    oms_fill_model m = {0};
    const oms_bar bad[] = {
        bar(NAN, 101, 99, 100, 1000), bar(100, NAN, 99, 100, 1000), bar(100, 101, NAN, 100, 1000),
        bar(100, 101, 99, NAN, 1000), bar(100, INFINITY, 99, 100, 1000),
        bar(0, 101, 99, 100, 1000),   bar(100, 101, -1, 100, 1000),
        bar(100, 99, 98, 99, 1000), /* high below the open */
        bar(100, 101, 100.5, 101, 1000), /* low above the open */
        bar(100, 101, 99, 102, 1000), /* close above the high */
        bar(100, 101, 99, 100, -1),   bar(100, 101, 99, 100, NAN),
        bar(100, 101, 99, 100, INFINITY),
    };
    int refused = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f.qty = 123;
        refused += oms_fill_match(&o, &bad[i], &m, &f, err, sizeof err) == OMS_EINVAL && f.qty == 0;
    }
    is_int(refused, (int)(sizeof bad / sizeof bad[0]), "every malformed bar is OMS_EINVAL");
    oms_bar neg = bar(100, 101, 99, 100, -5);
    oms_fill_match(&o, &neg, &m, &f, err, sizeof err);
    is_str(err, "fill: bar volume -5 must be finite and >= 0", "negative volume message");
    is_int(oms_fill_match(NULL, &good, &m, &f, err, sizeof err), OMS_EINVAL, "NULL order");
    is_int(oms_fill_match(&o, NULL, &m, &f, err, sizeof err), OMS_EINVAL, "NULL bar");
    is_int(oms_fill_match(&o, &good, &m, NULL, NULL, 0), OMS_EINVAL, "NULL out, NULL err");
    oms_fill_model bm[] = {{-1, 0}, {NAN, 0}, {10000, 0}, {0, -0.1}, {0, 1.5}, {0, NAN}};
    refused = 0;
    for (size_t i = 0; i < sizeof bm / sizeof bm[0]; i++)
        refused += oms_fill_match(&o, &good, &bm[i], &f, err, sizeof err) == OMS_EINVAL;
    is_int(refused, 6, "models out of range are OMS_EINVAL");
    oms_order n = o;
    n.status = OMS_NEW;
    is_int(oms_fill_match(&n, &good, &m, &f, err, sizeof err), OMS_ESTATE, "a new order");
    is_str(err, "order t1: cannot fill: it is new", "new order message");
    n = o;
    n.limit_price = NAN;
    is_int(oms_fill_match(&n, &good, &m, &f, err, sizeof err), OMS_EINVAL,
           "a corrupted working order (NaN limit)");
    n = o;
    n.filled_qty = 10;
    is_int(oms_fill_match(&n, &good, &m, &f, err, sizeof err), OMS_EINVAL,
           "a working order with nothing left");
    oms_match bogus = {.qty = 11, .price = 100};
    oms_order before = o;
    is_int(oms_fill_apply(&o, &bogus, 1, err, sizeof err), OMS_EINVAL, "apply: overfill refused");
    ok(memcmp(&o, &before, sizeof o) == 0, "apply: a refused apply changes nothing");
    oms_match trig_bad = {.qty = 1, .price = NAN, .triggered = 1};
    oms_fill_apply(&o, &trig_bad, 1, err, sizeof err);
    ok(o.stop_triggered == 0, "apply: all or nothing (the trigger is not kept either)");
    is_int(oms_fill_apply(NULL, &bogus, 1, err, sizeof err), OMS_EINVAL, "apply: NULL order");
    is_int(oms_fill_apply(&o, NULL, 1, err, sizeof err), OMS_EINVAL, "apply: NULL fill");

    /* Determinism: the same inputs, the same bytes. */
    oms_fill_model sm = {.slippage_bps = 7.3, .participation = 0.37};
    oms_order d = order(OMS_SELL, OMS_STOP_LIMIT, OMS_GTC, 999, 98.7, 99.3);
    oms_bar db = bar(101.1, 101.9, 97.2, 98.9, 1234);
    oms_match f1, f2;
    oms_fill_match(&d, &db, &sm, &f1, err, sizeof err);
    oms_fill_match(&d, &db, &sm, &f2, err, sizeof err);
    ok(memcmp(&f1, &f2, sizeof f1) == 0 && f1.qty == 456, "deterministic (qty %g)", f1.qty);
}

static void comm(const char *name, oms_commission c, double qty, double value, double want)
{
    double got = -1;
    int rc = oms_commission_order(&c, qty, value, &got, err, sizeof err);
    ok(rc == OMS_OK && got == want, "%s: %.2f", name, want);
    if (rc != OMS_OK || got != want) printf("#   rc %d got %.17g (%s)\n", rc, got, err);
}

static void test_commission(void)
{
    oms_commission ib = {OMS_COMM_PER_SHARE, 0.005, 1.00, 1.0}; /* IBKR fixed */
    comm("per share: 100 x $50 -> the $1 minimum", ib, 100, 5000, 1.00);
    comm("per share: 1000 x $50 -> 0.005 x 1000", ib, 1000, 50000, 5.00);
    comm("per share: 201 shares -> 1.005 rounds half up", ib, 201, 10050, 1.01);
    comm("per share: 10 x $2 -> the 1% maximum beats the minimum", ib, 10, 20, 0.20);
    comm("per share: 1000 x $0.25 -> capped at 1% of $250", ib, 1000, 250, 2.50);
    oms_commission nomax = {OMS_COMM_PER_SHARE, 0.005, 1.00, 0};
    comm("per share without a maximum: 10 x $2 -> the minimum", nomax, 10, 20, 1.00);
    oms_commission nomin = {OMS_COMM_PER_SHARE, 0.01, 0, 0};
    comm("per share without a minimum: 7 shares", nomin, 7, 700, 0.07);
    comm("nothing filled: no commission", ib, 0, 0, 0);

    oms_commission opt = {OMS_COMM_PER_CONTRACT, 0.65, 1.00, 0};
    comm("per contract: 1 contract -> the $1 minimum", opt, 1, 250, 1.00);
    comm("per contract: 3 contracts", opt, 3, 750, 1.95);
    comm("per contract: 10 contracts", opt, 10, 2500, 6.50);

    oms_commission pct = {OMS_COMM_PERCENT, 0.1, 0, 0};
    comm("percent: 0.1% of 12345.67 -> 12.35", pct, 100, 12345.67, 12.35);
    comm("percent: 0.1% of 125 -> 0.125 rounds to 0.13", pct, 1, 125, 0.13);
    oms_commission pctmin = {OMS_COMM_PERCENT, 0.1, 5.00, 0};
    comm("percent with a minimum: 0.1% of 1000 -> 5", pctmin, 10, 1000, 5.00);
    comm("percent with a minimum: 0.1% of 10000 -> 10", pctmin, 10, 10000, 10.00);
    oms_commission none = {OMS_COMM_NONE, 3, 3, 0};
    comm("none: nothing, whatever the fields", none, 100, 10000, 0);
    double got = -1;
    is_int(oms_commission_order(NULL, 100, 1000, &got, err, sizeof err), OMS_OK, "NULL model");
    ok(got == 0, "NULL model: no commission");

    /* The minimum is per order: partial fills pay the difference. */
    double c1, c2, c3;
    oms_commission_fill(&ib, 0, 0, 100, 5000, &c1, err, sizeof err);
    oms_commission_fill(&ib, 100, 5000, 100, 5000, &c2, err, sizeof err);
    oms_commission_fill(&ib, 200, 10000, 200, 10000, &c3, err, sizeof err);
    ok(c1 == 1.00 && c2 == 0 && c3 == 1.00, "per order minimum: fills of 100, 100, 200 pay 1, 0, 1");
    oms_commission_order(&ib, 400, 20000, &got, err, sizeof err);
    ok(c1 + c2 + c3 == got && got == 2.00, "partial fills sum to one fill of 400");
    oms_commission_fill(&opt, 0, 0, 1, 100, &c1, err, sizeof err);
    oms_commission_fill(&opt, 1, 100, 1, 100, &c2, err, sizeof err);
    ok(c1 == 1.00 && c2 == 0.30, "per contract: 1 then 1 more pays 1.00 then 0.30");

    oms_commission bad[] = {{9, 0.01, 0, 0},
                            {-1, 0.01, 0, 0},
                            {OMS_COMM_PER_SHARE, NAN, 0, 0},
                            {OMS_COMM_PER_SHARE, -0.01, 0, 0},
                            {OMS_COMM_PER_SHARE, 0.01, -1, 0},
                            {OMS_COMM_PER_SHARE, 0.01, 0, INFINITY}};
    int refused = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused += oms_commission_order(&bad[i], 10, 100, &got, err, sizeof err) == OMS_EINVAL;
    is_int(refused, 6, "malformed commission models are OMS_EINVAL");
    is_int(oms_commission_order(&ib, 10, NAN, &got, err, sizeof err), OMS_EINVAL, "NaN value");
    is_int(oms_commission_order(&ib, -1, 10, &got, err, sizeof err), OMS_EINVAL, "negative qty");
    is_int(oms_commission_order(&pct, 1, 1e12, &got, err, sizeof err), OMS_ERANGE,
           "a value of 1e12 is out of range");
    is_int(oms_commission_order(&ib, 1, 10, NULL, err, sizeof err), OMS_EINVAL, "NULL out");
    is_int(oms_commission_fill(&ib, 0, 0, 0, 0, &got, err, sizeof err), OMS_EINVAL,
           "a fill of 0 units");
    is_int(oms_commission_fill(&ib, 0, 0, 1, INFINITY, &got, err, sizeof err), OMS_EINVAL,
           "a fill of infinite value");
}

int main(void)
{
    test_market();
    test_bar_before_order();
    test_limit();
    test_stop();
    test_stop_limit();
    test_slippage();
    test_participation();
    test_day_expiry();
    test_bad_input();
    test_commission();
    return done_testing();
}
