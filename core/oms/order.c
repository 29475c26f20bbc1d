/* order.c — see order.h. */
#include "oms/order.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sys/errmsg.h"

/* Copy src into dst[cap]; 0, or -1 when src is NULL or does not fit. */
static int copy_str(char *dst, size_t cap, const char *src)
{
    if (!src) return -1;
    size_t n = strlen(src);
    if (n >= cap) return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Like copy_str but truncates: reasons are for people, a long one loses its tail. */
static void copy_reason(char *dst, const char *src)
{
    snprintf(dst, OMS_REASON_MAX, "%s", src ? src : "");
}

static const char *order_id(const oms_order *o)
{
    return o && o->id[0] ? o->id : "(no id)";
}

int oms_order_init(oms_order *o, const char *id, const char *account, const char *symbol,
                   int side, int type, int tif, double qty, double limit_price,
                   double stop_price, int64_t now, char *err, size_t errlen)
{
    if (!o) return au_errf(err, errlen, OMS_EINVAL, "order: NULL order");
    oms_order n;
    memset(&n, 0, sizeof n);
    if (copy_str(n.id, sizeof n.id, id) != 0)
        return au_errf(err, errlen, OMS_EINVAL, "order: client order id %s",
                    id ? "is longer than 47 bytes" : "is missing");
    if (copy_str(n.account, sizeof n.account, account) != 0)
        return au_errf(err, errlen, OMS_EINVAL, "order %s: account name %s", n.id,
                    account ? "is longer than 31 bytes" : "is missing");
    if (copy_str(n.symbol, sizeof n.symbol, symbol) != 0)
        return au_errf(err, errlen, OMS_EINVAL, "order %s: symbol %s", n.id,
                    symbol ? "is longer than 31 bytes" : "is missing");
    n.side = side;
    n.type = type;
    n.tif = tif;
    n.status = OMS_NEW;
    n.qty = qty;
    n.limit_price = limit_price;
    n.stop_price = stop_price;
    n.created = n.updated = now;
    *o = n;
    return OMS_OK;
}

static int valid_price(double p)
{
    return isfinite(p) && p > 0;
}

static const char *validate_qty(double q)
{
    if (!isfinite(q)) return "qty must be a finite number";
    if (q <= 0) return "qty must be > 0";
    if (q != floor(q)) return "qty must be a whole number";
    if (q > OMS_QTY_MAX) return "qty is too large";
    return NULL;
}

static const char *validate_prices(const oms_order *o)
{
    int wants_limit = o->type == OMS_LIMIT || o->type == OMS_STOP_LIMIT;
    int wants_stop = o->type == OMS_STOP || o->type == OMS_STOP_LIMIT;
    if (wants_limit && !valid_price(o->limit_price))
        return "limit price must be a finite number > 0";
    if (wants_stop && !valid_price(o->stop_price))
        return "stop price must be a finite number > 0";
    if (!wants_limit && o->limit_price != 0)
        return o->type == OMS_MARKET ? "a market order takes no limit price"
                                     : "a stop order takes no limit price";
    if (!wants_stop && o->stop_price != 0)
        return o->type == OMS_MARKET ? "a market order takes no stop price"
                                     : "a limit order takes no stop price";
    return NULL;
}

const char *oms_order_validate(const oms_order *o)
{
    if (!o) return "no order";
    if (!o->id[0]) return "client order id is empty";
    if (!o->account[0]) return "account is empty";
    if (!o->symbol[0]) return "symbol is empty";
    if (o->side != OMS_BUY && o->side != OMS_SELL) return "side must be buy or sell";
    if (o->type < OMS_MARKET || o->type > OMS_STOP_LIMIT)
        return "type must be market, limit, stop or stop_limit";
    if (o->tif < OMS_DAY || o->tif > OMS_IOC) return "time in force must be day, gtc or ioc";
    const char *r = validate_qty(o->qty);
    return r ? r : validate_prices(o);
}

int oms_status_is_terminal(int status)
{
    return status == OMS_FILLED || status == OMS_CANCELED || status == OMS_REJECTED ||
           status == OMS_EXPIRED;
}

int oms_status_can_move(int from, int to)
{
    switch (from) {
    case OMS_NEW:
        return to == OMS_ACCEPTED || to == OMS_REJECTED;
    case OMS_ACCEPTED:
    case OMS_PARTIALLY_FILLED:
        return to == OMS_PARTIALLY_FILLED || to == OMS_FILLED || to == OMS_CANCELED ||
               to == OMS_EXPIRED;
    default:
        return 0;
    }
}

int oms_order_is_working(const oms_order *o)
{
    return o && (o->status == OMS_ACCEPTED || o->status == OMS_PARTIALLY_FILLED);
}

double oms_order_remaining(const oms_order *o)
{
    return o ? o->qty - o->filled_qty : 0;
}

/* The filled quantity must agree with a fill status. */
static int fill_status_consistent(const oms_order *o, int to)
{
    if (to == OMS_FILLED) return o->filled_qty == o->qty;
    if (to == OMS_PARTIALLY_FILLED) return o->filled_qty > 0 && o->filled_qty < o->qty;
    return 1;
}

int oms_order_transition(oms_order *o, int to, int64_t now, char *err, size_t errlen)
{
    if (!o) return au_errf(err, errlen, OMS_EINVAL, "order: NULL order");
    if (to < OMS_NEW || to > OMS_EXPIRED)
        return au_errf(err, errlen, OMS_EINVAL, "order %s: unknown status %d", order_id(o), to);
    if (!oms_status_can_move(o->status, to)) {
        if (oms_status_is_terminal(o->status))
            return au_errf(err, errlen, OMS_ESTATE, "order %s: cannot go from %s to %s: it is final",
                        order_id(o), oms_status_name(o->status), oms_status_name(to));
        return au_errf(err, errlen, OMS_ESTATE, "order %s: cannot go from %s to %s", order_id(o),
                    oms_status_name(o->status), oms_status_name(to));
    }
    if (!fill_status_consistent(o, to))
        return au_errf(err, errlen, OMS_ESTATE, "order %s: cannot be %s with %.17g of %.17g filled",
                    order_id(o), oms_status_name(to), o->filled_qty, o->qty);
    o->status = to;
    o->updated = now;
    return OMS_OK;
}

static int move_with_reason(oms_order *o, int to, const char *reason, int64_t now, char *err,
                            size_t errlen)
{
    int rc = oms_order_transition(o, to, now, err, errlen);
    if (rc == OMS_OK) copy_reason(o->reason, reason);
    return rc;
}

int oms_order_reject(oms_order *o, const char *reason, int64_t now, char *err, size_t errlen)
{
    return move_with_reason(o, OMS_REJECTED, reason, now, err, errlen);
}

int oms_order_cancel(oms_order *o, const char *reason, int64_t now, char *err, size_t errlen)
{
    return move_with_reason(o, OMS_CANCELED, reason, now, err, errlen);
}

int oms_order_expire(oms_order *o, int64_t now, char *err, size_t errlen)
{
    return move_with_reason(o, OMS_EXPIRED, "day order expired at the end of its session", now,
                            err, errlen);
}

int oms_order_fill(oms_order *o, double qty, double price, int64_t now, char *err,
                   size_t errlen)
{
    if (!o) return au_errf(err, errlen, OMS_EINVAL, "order: NULL order");
    if (!oms_order_is_working(o))
        return au_errf(err, errlen, OMS_ESTATE, "order %s: cannot fill: it is %s", order_id(o),
                    oms_status_name(o->status));
    double rem = oms_order_remaining(o);
    if (!isfinite(qty) || qty <= 0 || qty != floor(qty) || qty > rem)
        return au_errf(err, errlen, OMS_EINVAL,
                    "order %s: fill qty %.17g must be a whole number in 1..%.17g", order_id(o),
                    qty, rem);
    if (!valid_price(price))
        return au_errf(err, errlen, OMS_EINVAL, "order %s: fill price %.17g must be finite and > 0",
                    order_id(o), price);
    oms_order n = *o;
    n.filled_qty += qty;
    n.filled_value += qty * price;
    n.avg_price = n.filled_value / n.filled_qty;
    int rc = oms_order_transition(&n, n.filled_qty == n.qty ? OMS_FILLED : OMS_PARTIALLY_FILLED,
                                  now, err, errlen);
    if (rc == OMS_OK) *o = n;
    return rc;
}

int oms_order_day_expired(const oms_order *o, int64_t bar_time, int64_t session_end)
{
    return oms_order_is_working(o) && o->tif == OMS_DAY && bar_time >= session_end;
}

static const char *const side_names[] = {"?", "buy", "sell"};
static const char *const type_names[] = {"?", "market", "limit", "stop", "stop_limit"};
static const char *const tif_names[] = {"?", "day", "gtc", "ioc"};
static const char *const status_names[] = {"new",      "accepted", "partially_filled", "filled",
                                           "canceled", "rejected", "expired"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

/* Index of name in names (skipping the "?" placeholder), or -1. */
static int parse_name(const char *const *names, int n, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], "?") != 0 && strcmp(names[i], name) == 0) return i;
    return -1;
}

const char *oms_side_name(int side) { return name_of(side_names, COUNT(side_names), side); }
const char *oms_type_name(int type) { return name_of(type_names, COUNT(type_names), type); }
const char *oms_tif_name(int tif) { return name_of(tif_names, COUNT(tif_names), tif); }
const char *oms_status_name(int status)
{
    return name_of(status_names, COUNT(status_names), status);
}
int oms_side_parse(const char *name) { return parse_name(side_names, COUNT(side_names), name); }
int oms_type_parse(const char *name) { return parse_name(type_names, COUNT(type_names), name); }
int oms_tif_parse(const char *name) { return parse_name(tif_names, COUNT(tif_names), name); }
int oms_status_parse(const char *name)
{
    return parse_name(status_names, COUNT(status_names), name);
}
