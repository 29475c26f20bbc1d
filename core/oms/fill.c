/* fill.c — see fill.h; the rules are docs/fills.md. */
#include "oms/fill.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sys/errmsg.h"

static int valid_price(double p)
{
    return isfinite(p) && p > 0;
}

static int check_bar(const oms_bar *b, char *err, size_t errlen)
{
    if (!valid_price(b->open) || !valid_price(b->high) || !valid_price(b->low) ||
        !valid_price(b->close))
        return au_errf(err, errlen, OMS_EINVAL,
                    "fill: bar prices must be finite and > 0 (o %.17g h %.17g l %.17g c %.17g)",
                    b->open, b->high, b->low, b->close);
    if (b->low > b->open || b->low > b->close || b->high < b->open || b->high < b->close)
        return au_errf(err, errlen, OMS_EINVAL,
                    "fill: bar range does not hold its prices (o %.17g h %.17g l %.17g c %.17g)",
                    b->open, b->high, b->low, b->close);
    if (!isfinite(b->volume) || b->volume < 0)
        return au_errf(err, errlen, OMS_EINVAL, "fill: bar volume %.17g must be finite and >= 0",
                    b->volume);
    return OMS_OK;
}

static int check_model(const oms_fill_model *m, char *err, size_t errlen)
{
    if (!(m->slippage_bps >= 0 && m->slippage_bps < 10000))
        return au_errf(err, errlen, OMS_EINVAL, "fill: slippage %.17g bps must be in [0, 10000)",
                    m->slippage_bps);
    if (!(m->participation >= 0 && m->participation <= 1))
        return au_errf(err, errlen, OMS_EINVAL, "fill: participation %.17g must be in [0, 1]",
                    m->participation);
    return OMS_OK;
}

/* The order's own fields, again: a working order was validated on acceptance, but this
 * is the FFI surface and a corrupted struct must not produce a fill. */
static int check_order(const oms_order *o, char *err, size_t errlen)
{
    if (!oms_order_is_working(o))
        return au_errf(err, errlen, OMS_ESTATE, "order %s: cannot fill: it is %s", o->id,
                    oms_status_name(o->status));
    const char *why = oms_order_validate(o);
    if (why) return au_errf(err, errlen, OMS_EINVAL, "order %s: %s", o->id, why);
    double rem = oms_order_remaining(o);
    if (!(rem > 0) || o->filled_qty < 0)
        return au_errf(err, errlen, OMS_EINVAL, "order %s: filled %.17g of %.17g", o->id,
                    o->filled_qty, o->qty);
    return OMS_OK;
}

/* A price level is reached: buys need the market at or below it, sells at or above. */
static int limit_reached(int side, double limit, const oms_bar *b)
{
    return side == OMS_BUY ? b->low <= limit : b->high >= limit;
}

static int stop_reached(int side, double stop, const oms_bar *b)
{
    return side == OMS_BUY ? b->high >= stop : b->low <= stop;
}

/* The better of the market at `from` and the limit. */
static double limit_price_from(int side, double from, double limit)
{
    return side == OMS_BUY ? fmin(from, limit) : fmax(from, limit);
}

/* Where the stop fills or triggers: the stop, or the open if it gapped through. */
static double stop_price_at(int side, double stop, const oms_bar *b)
{
    return side == OMS_BUY ? fmax(b->open, stop) : fmin(b->open, stop);
}

/* A raw price for this bar, before slippage and the volume cap: 1 and *raw when the
 * order trades, 0 when it does not.  *limited says the limit caps slippage. */
typedef struct price_out {
    double raw;
    int trades, limited, triggered;
} price_out;

static void price_limit(const oms_order *o, const oms_bar *b, double from, price_out *p)
{
    p->limited = 1;
    if (!limit_reached(o->side, o->limit_price, b)) return;
    p->trades = 1;
    p->raw = limit_price_from(o->side, from, o->limit_price);
}

static void price_stop(const oms_order *o, const oms_bar *b, price_out *p)
{
    if (o->stop_triggered) { /* a triggered stop's remainder is a market order */
        p->trades = 1;
        p->raw = b->open;
        return;
    }
    if (!stop_reached(o->side, o->stop_price, b)) return;
    p->triggered = 1;
    p->trades = 1;
    p->raw = stop_price_at(o->side, o->stop_price, b);
}

/* The stop-limit's trigger bar.  Gapped through the stop at the open: a limit order
 * for the whole bar.  Triggered inside the bar, the market is at the stop then: a
 * limit on the right side of the stop is marketable and fills at the stop; one beyond
 * it fills only if the close proves the market reached it after the trigger (the path
 * from the stop to the close passes every price between them). */
static void price_stop_limit(const oms_order *o, const oms_bar *b, price_out *p)
{
    if (o->stop_triggered) {
        price_limit(o, b, b->open, p);
        return;
    }
    int buy = o->side == OMS_BUY;
    double stop = o->stop_price, lim = o->limit_price;
    if (!stop_reached(o->side, stop, b)) return;
    p->triggered = 1;
    p->limited = 1;
    if (buy ? b->open >= stop : b->open <= stop) {
        price_limit(o, b, b->open, p);
    } else if (buy ? lim >= stop : lim <= stop) {
        p->trades = 1;
        p->raw = stop;
    } else if (buy ? b->close <= lim : b->close >= lim) {
        p->trades = 1;
        p->raw = lim;
    }
}

static void price_order(const oms_order *o, const oms_bar *b, price_out *p)
{
    memset(p, 0, sizeof *p);
    switch (o->type) {
    case OMS_MARKET:
        p->trades = 1;
        p->raw = b->open;
        break;
    case OMS_LIMIT:
        price_limit(o, b, b->open, p);
        break;
    case OMS_STOP:
        price_stop(o, b, p);
        break;
    default:
        price_stop_limit(o, b, p);
        break;
    }
}

/* Against the trader; a limit bounds it. */
static double slipped(const oms_order *o, double raw, int limited, double bps)
{
    double s = bps / 10000.0;
    double px = o->side == OMS_BUY ? raw * (1 + s) : raw * (1 - s);
    if (limited) px = limit_price_from(o->side, px, o->limit_price);
    return px;
}

/* Units the volume cap allows; the tiny nudge keeps 0.29 * 100 from flooring to 28. */
static double volume_cap(double volume, double participation)
{
    double x = volume * participation;
    return floor(x + x * 1e-12);
}

int oms_fill_match(const oms_order *o, const oms_bar *bar, const oms_fill_model *m,
                   oms_match *out, char *err, size_t errlen)
{
    static const oms_fill_model none = {0, 0};
    if (!o || !bar || !out) return au_errf(err, errlen, OMS_EINVAL, "fill: NULL argument");
    memset(out, 0, sizeof *out);
    if (!m) m = &none;
    int rc = check_order(o, err, errlen);
    if (rc == OMS_OK) rc = check_bar(bar, err, errlen);
    if (rc == OMS_OK) rc = check_model(m, err, errlen);
    if (rc != OMS_OK) return rc;
    /* A bar that opened before the order existed (another feed's bar of the same close
     * time, in a merged stream) is the past: it neither fills nor triggers the order. */
    if (bar->time < o->created) return OMS_OK;

    price_out p;
    price_order(o, bar, &p);
    double rem = oms_order_remaining(o);
    double qty = p.trades ? rem : 0;
    if (qty > 0 && m->participation > 0) qty = fmin(qty, volume_cap(bar->volume, m->participation));
    out->triggered = p.triggered;
    if (qty > 0) {
        out->qty = qty;
        out->raw_price = p.raw;
        out->price = slipped(o, p.raw, p.limited, m->slippage_bps);
    }
    out->cancel_rest = o->tif == OMS_IOC && qty < rem;
    return OMS_OK;
}

int oms_fill_apply(oms_order *o, const oms_match *f, int64_t now, char *err, size_t errlen)
{
    if (!o || !f) return au_errf(err, errlen, OMS_EINVAL, "fill: NULL argument");
    if (!oms_order_is_working(o))
        return au_errf(err, errlen, OMS_ESTATE, "order %s: cannot fill: it is %s", o->id,
                    oms_status_name(o->status));
    oms_order n = *o;
    int rc = OMS_OK;
    if (f->triggered) {
        n.stop_triggered = 1;
        n.updated = now;
    }
    if (f->qty != 0) rc = oms_order_fill(&n, f->qty, f->price, now, err, errlen);
    if (rc == OMS_OK && f->cancel_rest && oms_order_is_working(&n))
        rc = oms_order_cancel(&n, "ioc: the unfilled rest is canceled", now, err, errlen);
    if (rc == OMS_OK) *o = n;
    return rc;
}

/* ---- commission ---- */

static int check_commission(const oms_commission *c, char *err, size_t errlen)
{
    if (c->kind < OMS_COMM_NONE || c->kind > OMS_COMM_PERCENT)
        return au_errf(err, errlen, OMS_EINVAL, "commission: unknown model %d", (int)c->kind);
    if (!(isfinite(c->rate) && c->rate >= 0) ||
        !(isfinite(c->min_per_order) && c->min_per_order >= 0) ||
        !(isfinite(c->max_percent) && c->max_percent >= 0))
        return au_errf(err, errlen, OMS_EINVAL,
                    "commission: rate %.17g, minimum %.17g and maximum %.17g %% must be "
                    "finite and >= 0",
                    c->rate, c->min_per_order, c->max_percent);
    return OMS_OK;
}

static int order_cents(const oms_commission *c, double qty, double value, int64_t *cents,
                       char *err, size_t errlen)
{
    *cents = 0;
    if (!(isfinite(qty) && qty >= 0 && qty <= OMS_QTY_MAX) || !(isfinite(value) && value >= 0))
        return au_errf(err, errlen, OMS_EINVAL,
                    "commission: qty %.17g and value %.17g must be finite and >= 0", qty, value);
    if (value >= OMS_AMOUNT_MAX)
        return au_errf(err, errlen, OMS_ERANGE, "commission: value %.17g is too large", value);
    if (!c || c->kind == OMS_COMM_NONE || qty == 0) return OMS_OK;
    double base = c->kind == OMS_COMM_PERCENT ? c->rate / 100.0 * value : c->rate * qty;
    double amt = fmax(base, c->min_per_order);
    if (c->max_percent > 0) amt = fmin(amt, c->max_percent / 100.0 * value);
    int rc = oms_round_cents(amt, cents); /* the ledger's rule: money.h */
    if (rc != OMS_OK)
        return au_errf(err, errlen, rc, "commission: %.17g is out of range", amt);
    return OMS_OK;
}

int oms_commission_order(const oms_commission *c, double qty, double value, double *out,
                         char *err, size_t errlen)
{
    if (!out) return au_errf(err, errlen, OMS_EINVAL, "commission: NULL argument");
    *out = 0;
    int rc = c ? check_commission(c, err, errlen) : OMS_OK;
    int64_t cents = 0;
    if (rc == OMS_OK) rc = order_cents(c, qty, value, &cents, err, errlen);
    if (rc == OMS_OK) *out = (double)cents / 100.0;
    return rc;
}

int oms_commission_fill(const oms_commission *c, double prev_qty, double prev_value, double qty,
                        double value, double *out, char *err, size_t errlen)
{
    if (!out) return au_errf(err, errlen, OMS_EINVAL, "commission: NULL argument");
    *out = 0;
    if (!(isfinite(qty) && qty > 0))
        return au_errf(err, errlen, OMS_EINVAL, "commission: fill qty %.17g must be > 0", qty);
    int rc = c ? check_commission(c, err, errlen) : OMS_OK;
    int64_t before = 0, after = 0;
    if (rc == OMS_OK) rc = order_cents(c, prev_qty, prev_value, &before, err, errlen);
    if (rc == OMS_OK) rc = order_cents(c, prev_qty + qty, prev_value + value, &after, err, errlen);
    if (rc == OMS_OK) *out = (double)(after - before) / 100.0;
    return rc;
}
