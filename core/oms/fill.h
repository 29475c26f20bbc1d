/* fill.h — the backtest fill model: whether a working order fills on the next bar,
 * how much of it and at what price; and the commission of a fill.
 *
 * Owns: the rules of docs/fills.md, as pure functions over caller-owned structs.
 * Nothing here allocates, keeps state or reads a clock; the same order, bar and model
 * always give the same answer, bit for bit.
 *
 * Use per bar, for each working order of the bar's symbol, in this order:
 *   1. oms_order_day_expired (order.h) — a day order whose session has ended expires
 *      and does not see the bar;
 *   2. oms_fill_match — what the bar does to the order:
 *      an oms_match; the order is not touched, so a caller may inspect or veto the
 *      fill, e.g. for buying power);
 *   3. oms_fill_apply — record it: trigger flag, fill, ioc cancel of the rest.
 * Then charge oms_commission_fill for the fill and post it (account.h, oms_apply_fill).
 *
 * Prices are doubles and are not rounded to a tick here; money is rounded to cents
 * where it is posted (the ledger) and in oms_commission_*, which return cents.
 *
 * Errors: OMS_EINVAL for NULL pointers, a malformed bar (a price not finite and > 0,
 * low above open/close or high below them, volume negative or not finite) or a model
 * out of range; OMS_ESTATE for an order that is not working.  A message goes into err
 * when it is non-NULL. */
#ifndef AU_OMS_FILL_H
#define AU_OMS_FILL_H

#include <stddef.h>
#include <stdint.h>

#include "oms/order.h"

/* One bar of the order's symbol: the bar after the one the order was placed on. */
typedef struct oms_bar {
    int64_t time; /* µs UTC, the bar's open */
    double open, high, low, close, volume;
} oms_bar;

typedef struct oms_fill_model {
    /* Basis points against the trader on market and stop fills, and on limit fills up
     * to the limit (never beyond it).  0 <= slippage_bps < 10000. */
    double slippage_bps;
    /* The most of a bar's volume one order may take on that bar, as a fraction in
     * (0, 1]; the fill is floor(volume * participation) units at most.  0: no cap
     * (volume is then ignored, so data without volume works). */
    double participation;
} oms_fill_model;

/* What one bar does to one order (not "oms_fill": that is account.h's posting). */
typedef struct oms_match {
    double qty;          /* units filled on this bar; 0: no fill */
    double price;        /* the fill price, slippage included; 0 when qty is 0 */
    double raw_price;    /* the price before slippage */
    int32_t triggered;   /* the stop was reached on this bar (stop, stop_limit) */
    int32_t cancel_rest; /* ioc: what is left after this bar is canceled */
} oms_match;

/* What bar does to the working order o under model m (NULL m: no slippage, no cap).
 * A bar that opened before the order was created (bar->time < o->created) does
 * nothing: no fill, no trigger, no ioc cancel. */
int oms_fill_match(const oms_order *o, const oms_bar *bar, const oms_fill_model *m,
                   oms_match *out, char *err, size_t errlen);

/* Record f (from oms_fill_match on this order and bar) in o at time now: set the stop flag,
 * add the fill, cancel an ioc remainder.  All or nothing: on failure o is unchanged. */
int oms_fill_apply(oms_order *o, const oms_match *f, int64_t now, char *err, size_t errlen);

/* Commission models.  Units are shares for equities and contracts for options. */
enum {
    OMS_COMM_NONE = 0,
    OMS_COMM_PER_SHARE = 1,    /* rate dollars per share */
    OMS_COMM_PER_CONTRACT = 2, /* rate dollars per contract */
    OMS_COMM_PERCENT = 3       /* rate percent of trade value (0.1 = 0.1 %) */
};

typedef struct oms_commission {
    int32_t kind;
    double rate;          /* see the kinds; >= 0 */
    double min_per_order; /* dollars, >= 0; 0: none */
    double max_percent;   /* cap, percent of the order's trade value, >= 0; 0: none */
} oms_commission;

/* The commission of a whole order that has filled qty units for value dollars
 * (sum of qty * price * multiplier), in dollars rounded to cents by the ledger's rule
 * (15 significant digits, then half away from zero; docs/accounting.md):
 *   base = rate * qty (per share, per contract) or rate / 100 * value (percent);
 *   at least min_per_order once anything has filled;
 *   at most max_percent / 100 * value, when set — the cap wins over the minimum.
 * 0 when qty is 0.  NULL c is no commission.  OMS_ERANGE when value >= OMS_AMOUNT_MAX. */
int oms_commission_order(const oms_commission *c, double qty, double value, double *out,
                         char *err, size_t errlen);

/* The commission of one fill of qty units worth value dollars, on an order that had
 * already filled prev_qty units worth prev_value (0, 0 for the first fill): the
 * order's commission after the fill minus before, so the minimum is charged once per
 * order and partial fills add up to exactly what one fill of the total would cost. */
int oms_commission_fill(const oms_commission *c, double prev_qty, double prev_value, double qty,
                        double value, double *out, char *err, size_t errlen);

#endif
