/* test_order.c — oms/order: construction, validation, the status machine, fills on
 * the order record, day expiry, names.  Expected values are written out by hand from
 * order.h and docs/fills.md, not computed with the code under test. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "oms/order.h"
#include "tap.h"

static char err[256];

static oms_order mk(int side, int type, int tif, double qty, double limit, double stop)
{
    oms_order o;
    int rc = oms_order_init(&o, "o1", "main", "SPY", side, type, tif, qty, limit, stop, 1000,
                            err, sizeof err);
    if (rc != OMS_OK) printf("# init failed: %s\n", err);
    return o;
}

static oms_order working(double qty)
{
    oms_order o = mk(OMS_BUY, OMS_LIMIT, OMS_GTC, qty, 100, 0);
    oms_order_transition(&o, OMS_ACCEPTED, 2000, NULL, 0);
    return o;
}

static void test_init(void)
{
    oms_order o;
    char id47[48], id48[49], name32[33];
    memset(id47, 'a', 47), id47[47] = '\0';
    memset(id48, 'a', 48), id48[48] = '\0';
    memset(name32, 'b', 32), name32[32] = '\0';

    is_int(oms_order_init(&o, id47, "main", "SPY", OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 5,
                          err, sizeof err),
           OMS_OK, "init: a 47-byte id fits");
    is_int(o.status, OMS_NEW, "init: status new");
    ok(o.filled_qty == 0 && o.avg_price == 0 && o.stop_triggered == 0 && o.reason[0] == '\0',
       "init: nothing filled, no reason");
    ok(o.created == 5 && o.updated == 5, "init: times");
    is_int(oms_order_init(&o, id48, "main", "SPY", OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 5,
                          err, sizeof err),
           OMS_EINVAL, "init: a 48-byte id does not");
    is_str(err, "order: client order id is longer than 47 bytes", "init: id message");
    ok(strcmp(o.id, id47) == 0, "init: a failed init leaves the order as it was");
    is_int(oms_order_init(&o, "x", name32, "SPY", OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 5, err,
                          sizeof err),
           OMS_EINVAL, "init: a 32-byte account name does not fit");
    is_str(err, "order x: account name is longer than 31 bytes", "init: account message");
    is_int(oms_order_init(&o, "x", "main", name32, OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 5, err,
                          sizeof err),
           OMS_EINVAL, "init: a 32-byte symbol does not fit");
    is_int(oms_order_init(&o, "x", "main", "AAPL  240119P00190000", OMS_BUY, OMS_MARKET, OMS_DAY,
                          1, 0, 0, 5, err, sizeof err),
           OMS_OK, "init: an OCC symbol fits");
    is_int(oms_order_init(&o, NULL, "main", "SPY", OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 5, err,
                          sizeof err),
           OMS_EINVAL, "init: NULL id");
    is_str(err, "order: client order id is missing", "init: NULL id message");
    is_int(oms_order_init(&o, "x", "main", NULL, OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 5, NULL,
                          0),
           OMS_EINVAL, "init: NULL symbol, NULL err buffer");
    is_int(oms_order_init(NULL, "x", "main", "SPY", OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 5, err,
                          sizeof err),
           OMS_EINVAL, "init: NULL order");
}

typedef struct vcase {
    int side, type, tif;
    double qty, limit, stop;
    const char *want; /* NULL: valid */
} vcase;

static void test_validate(void)
{
    const double inf = INFINITY, nan = NAN;
    const vcase cases[] = {
        {OMS_BUY, OMS_MARKET, OMS_DAY, 100, 0, 0, NULL},
        {OMS_SELL, OMS_LIMIT, OMS_GTC, 1, 10.5, 0, NULL},
        {OMS_BUY, OMS_STOP, OMS_IOC, 3, 0, 99, NULL},
        {OMS_SELL, OMS_STOP_LIMIT, OMS_DAY, 1e15, 98, 99, NULL},
        {OMS_BUY, OMS_MARKET, OMS_DAY, 0, 0, 0, "qty must be > 0"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, -5, 0, 0, "qty must be > 0"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, nan, 0, 0, "qty must be a finite number"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, inf, 0, 0, "qty must be a finite number"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, 1.5, 0, 0, "qty must be a whole number"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, 0.25, 0, 0, "qty must be a whole number"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, 2e15, 0, 0, "qty is too large"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, 1, 10, 0, "a market order takes no limit price"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, 1, 0, 10, "a market order takes no stop price"},
        {OMS_BUY, OMS_MARKET, OMS_DAY, 1, nan, 0, "a market order takes no limit price"},
        {OMS_BUY, OMS_LIMIT, OMS_DAY, 1, 0, 0, "limit price must be a finite number > 0"},
        {OMS_BUY, OMS_LIMIT, OMS_DAY, 1, -1, 0, "limit price must be a finite number > 0"},
        {OMS_BUY, OMS_LIMIT, OMS_DAY, 1, nan, 0, "limit price must be a finite number > 0"},
        {OMS_BUY, OMS_LIMIT, OMS_DAY, 1, inf, 0, "limit price must be a finite number > 0"},
        {OMS_BUY, OMS_LIMIT, OMS_DAY, 1, 10, 9, "a limit order takes no stop price"},
        {OMS_SELL, OMS_STOP, OMS_DAY, 1, 0, 0, "stop price must be a finite number > 0"},
        {OMS_SELL, OMS_STOP, OMS_DAY, 1, 0, nan, "stop price must be a finite number > 0"},
        {OMS_SELL, OMS_STOP, OMS_DAY, 1, 5, 10, "a stop order takes no limit price"},
        {OMS_SELL, OMS_STOP_LIMIT, OMS_DAY, 1, 0, 10, "limit price must be a finite number > 0"},
        {OMS_SELL, OMS_STOP_LIMIT, OMS_DAY, 1, 10, 0, "stop price must be a finite number > 0"},
        {OMS_SELL, OMS_STOP_LIMIT, OMS_DAY, 1, 10, -inf, "stop price must be a finite number > 0"},
        {0, OMS_MARKET, OMS_DAY, 1, 0, 0, "side must be buy or sell"},
        {3, OMS_MARKET, OMS_DAY, 1, 0, 0, "side must be buy or sell"},
        {OMS_BUY, 0, OMS_DAY, 1, 0, 0, "type must be market, limit, stop or stop_limit"},
        {OMS_BUY, 5, OMS_DAY, 1, 0, 0, "type must be market, limit, stop or stop_limit"},
        {OMS_BUY, OMS_MARKET, 0, 1, 0, 0, "time in force must be day, gtc or ioc"},
        {OMS_BUY, OMS_MARKET, 4, 1, 0, 0, "time in force must be day, gtc or ioc"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const vcase *c = &cases[i];
        oms_order o = mk(c->side, c->type, c->tif, c->qty, c->limit, c->stop);
        const char *got = oms_order_validate(&o);
        if (c->want)
            is_str(got, c->want, "validate %zu: %s", i, c->want);
        else
            ok(got == NULL, "validate %zu: a valid %s %s order (%s)", i, oms_side_name(c->side),
               oms_type_name(c->type), got ? got : "ok");
    }
    oms_order o = mk(OMS_BUY, OMS_MARKET, OMS_DAY, 1, 0, 0);
    o.symbol[0] = '\0';
    is_str(oms_order_validate(&o), "symbol is empty", "validate: empty symbol");
    o = mk(OMS_BUY, OMS_MARKET, OMS_DAY, 1, 0, 0);
    o.account[0] = '\0';
    is_str(oms_order_validate(&o), "account is empty", "validate: empty account");
    o = mk(OMS_BUY, OMS_MARKET, OMS_DAY, 1, 0, 0);
    o.id[0] = '\0';
    is_str(oms_order_validate(&o), "client order id is empty", "validate: empty id");
    is_str(oms_order_validate(NULL), "no order", "validate: NULL");
}

static void test_machine(void)
{
    /* allowed[from][to], written from the table in order.h. */
    static const int allowed[7][7] = {
        /* to: new acc part fill canc rej exp */
        [OMS_NEW] = {0, 1, 0, 0, 0, 1, 0},
        [OMS_ACCEPTED] = {0, 0, 1, 1, 1, 0, 1},
        [OMS_PARTIALLY_FILLED] = {0, 0, 1, 1, 1, 0, 1},
        [OMS_FILLED] = {0},
        [OMS_CANCELED] = {0},
        [OMS_REJECTED] = {0},
        [OMS_EXPIRED] = {0},
    };
    int agree = 0;
    for (int f = 0; f < 7; f++)
        for (int t = 0; t < 7; t++) agree += oms_status_can_move(f, t) == allowed[f][t];
    is_int(agree, 49, "the 49 status pairs follow the table");
    ok(!oms_status_can_move(-1, OMS_ACCEPTED) && !oms_status_can_move(OMS_NEW, 7),
       "unknown statuses move nowhere");
    ok(oms_status_is_terminal(OMS_FILLED) && oms_status_is_terminal(OMS_CANCELED) &&
           oms_status_is_terminal(OMS_REJECTED) && oms_status_is_terminal(OMS_EXPIRED) &&
           !oms_status_is_terminal(OMS_NEW) && !oms_status_is_terminal(OMS_ACCEPTED) &&
           !oms_status_is_terminal(OMS_PARTIALLY_FILLED),
       "terminal statuses");

    oms_order o = mk(OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0);
    is_int(oms_order_transition(&o, OMS_FILLED, 3000, err, sizeof err), OMS_ESTATE,
           "new -> filled refused");
    is_str(err, "order o1: cannot go from new to filled", "new -> filled message");
    ok(o.status == OMS_NEW && o.updated == 1000, "a refused move changes nothing");
    is_int(oms_order_transition(&o, OMS_ACCEPTED, 3000, err, sizeof err), OMS_OK,
           "new -> accepted");
    ok(o.status == OMS_ACCEPTED && o.updated == 3000, "accepted, updated time set");
    is_int(oms_order_transition(&o, OMS_ACCEPTED, 3001, err, sizeof err), OMS_ESTATE,
           "accepted -> accepted refused");
    is_int(oms_order_transition(&o, OMS_FILLED, 3001, err, sizeof err), OMS_ESTATE,
           "accepted -> filled refused while nothing is filled");
    is_str(err, "order o1: cannot be filled with 0 of 10 filled", "filled-qty message");
    is_int(oms_order_transition(&o, OMS_PARTIALLY_FILLED, 3001, err, sizeof err), OMS_ESTATE,
           "accepted -> partially_filled refused while nothing is filled");
    is_int(oms_order_transition(&o, 9, 3001, err, sizeof err), OMS_EINVAL, "unknown status");
    is_str(err, "order o1: unknown status 9", "unknown status message");
    is_int(oms_order_cancel(&o, "user", 4000, err, sizeof err), OMS_OK, "accepted -> canceled");
    is_str(o.reason, "user", "cancel reason kept");
    is_int(oms_order_transition(&o, OMS_ACCEPTED, 5000, err, sizeof err), OMS_ESTATE,
           "canceled -> accepted refused");
    is_str(err, "order o1: cannot go from canceled to accepted: it is final", "final message");
    is_int(oms_order_cancel(&o, "again", 5000, err, sizeof err), OMS_ESTATE,
           "canceled -> canceled refused");
    is_str(o.reason, "user", "a refused cancel keeps the first reason");
    is_int(oms_order_transition(NULL, OMS_ACCEPTED, 0, err, sizeof err), OMS_EINVAL, "NULL order");

    o = mk(OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0);
    char longr[200];
    memset(longr, 'r', sizeof longr - 1), longr[sizeof longr - 1] = '\0';
    is_int(oms_order_reject(&o, longr, 6000, err, sizeof err), OMS_OK, "new -> rejected");
    is_int((int)strlen(o.reason), OMS_REASON_MAX - 1, "a long reason is truncated to fit");
    is_int(oms_order_reject(&o, "x", 6000, err, sizeof err), OMS_ESTATE, "rejected stays");
    o = mk(OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0);
    is_int(oms_order_expire(&o, 6000, err, sizeof err), OMS_ESTATE, "new -> expired refused");
    is_int(oms_order_cancel(&o, NULL, 6000, err, sizeof err), OMS_ESTATE,
           "new -> canceled refused (a new order is rejected, not canceled)");
}

static void test_fills(void)
{
    oms_order o = mk(OMS_BUY, OMS_LIMIT, OMS_GTC, 100, 100, 0);
    is_int(oms_order_fill(&o, 10, 99, 2500, err, sizeof err), OMS_ESTATE,
           "a new order cannot fill");
    is_str(err, "order o1: cannot fill: it is new", "fill on new: message");
    o = working(100);
    is_int(oms_order_fill(&o, 30, 99, 2500, err, sizeof err), OMS_OK, "fill 30 @ 99");
    ok(o.status == OMS_PARTIALLY_FILLED && o.filled_qty == 30 && o.avg_price == 99,
       "partially filled, avg 99");
    ok(oms_order_remaining(&o) == 70, "70 remain");
    is_int(oms_order_fill(&o, 71, 99, 2600, err, sizeof err), OMS_EINVAL, "overfill refused");
    is_str(err, "order o1: fill qty 71 must be a whole number in 1..70", "overfill message");
    is_int(oms_order_fill(&o, 0.5, 99, 2600, err, sizeof err), OMS_EINVAL,
           "fractional fill refused");
    is_int(oms_order_fill(&o, NAN, 99, 2600, err, sizeof err), OMS_EINVAL, "NaN qty refused");
    is_int(oms_order_fill(&o, 10, NAN, 2600, err, sizeof err), OMS_EINVAL, "NaN price refused");
    is_int(oms_order_fill(&o, 10, 0, 2600, err, sizeof err), OMS_EINVAL, "zero price refused");
    ok(o.filled_qty == 30 && o.updated == 2500, "refused fills change nothing");
    is_int(oms_order_fill(&o, 20, 98, 2700, err, sizeof err), OMS_OK, "fill 20 @ 98");
    ok(o.status == OMS_PARTIALLY_FILLED, "partially_filled -> partially_filled");
    is_int(oms_order_fill(&o, 50, 101, 2800, err, sizeof err), OMS_OK, "fill 50 @ 101");
    ok(o.status == OMS_FILLED && o.filled_qty == 100, "filled");
    /* (30*99 + 20*98 + 50*101) / 100 = 9980 / 100 */
    ok(fabs(o.avg_price - 99.8) < 1e-12 && o.filled_value == 9980, "avg price 99.8 (%.17g)",
       o.avg_price);
    is_int(oms_order_fill(&o, 1, 100, 2900, err, sizeof err), OMS_ESTATE, "a filled order is done");
    is_int(oms_order_transition(&o, OMS_CANCELED, 2900, err, sizeof err), OMS_ESTATE,
           "filled -> canceled refused");

    o = working(10);
    oms_order_fill(&o, 4, 50, 3000, NULL, 0);
    is_int(oms_order_cancel(&o, "user", 3100, err, sizeof err), OMS_OK,
           "partially_filled -> canceled");
    ok(o.filled_qty == 4 && o.status == OMS_CANCELED, "the filled part stays on record");
    o = working(10);
    oms_order_fill(&o, 4, 50, 3000, NULL, 0);
    is_int(oms_order_expire(&o, 3100, err, sizeof err), OMS_OK, "partially_filled -> expired");
    ok(strstr(o.reason, "expired") != NULL, "expiry reason");
}

static void test_day_expiry(void)
{
    const int64_t end = INT64_C(1700000000000000);
    oms_order o = mk(OMS_BUY, OMS_LIMIT, OMS_DAY, 10, 100, 0);
    is_int(oms_order_day_expired(&o, end, end), 0, "a new order does not expire");
    oms_order_transition(&o, OMS_ACCEPTED, 0, NULL, 0);
    is_int(oms_order_day_expired(&o, end - 1, end), 0, "day order: a bar before the end");
    is_int(oms_order_day_expired(&o, end, end), 1, "day order: a bar at the end");
    is_int(oms_order_day_expired(&o, end + 86400000000, end), 1, "day order: the next day");
    oms_order_fill(&o, 3, 99, 1, NULL, 0);
    is_int(oms_order_day_expired(&o, end, end), 1, "a partially filled day order expires too");
    oms_order g = mk(OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 100, 0);
    oms_order_transition(&g, OMS_ACCEPTED, 0, NULL, 0);
    is_int(oms_order_day_expired(&g, end + 1, end), 0, "gtc never expires");
    oms_order i = mk(OMS_BUY, OMS_LIMIT, OMS_IOC, 10, 100, 0);
    oms_order_transition(&i, OMS_ACCEPTED, 0, NULL, 0);
    is_int(oms_order_day_expired(&i, end + 1, end), 0, "ioc does not expire (it is canceled)");
    is_int(oms_order_day_expired(NULL, end, end), 0, "NULL is not expired");
}

static void test_names(void)
{
    int round = 0;
    for (int s = OMS_NEW; s <= OMS_EXPIRED; s++) round += oms_status_parse(oms_status_name(s)) == s;
    for (int t = OMS_MARKET; t <= OMS_STOP_LIMIT; t++) round += oms_type_parse(oms_type_name(t)) == t;
    for (int t = OMS_DAY; t <= OMS_IOC; t++) round += oms_tif_parse(oms_tif_name(t)) == t;
    for (int s = OMS_BUY; s <= OMS_SELL; s++) round += oms_side_parse(oms_side_name(s)) == s;
    is_int(round, 7 + 4 + 3 + 2, "names round-trip");
    is_str(oms_status_name(OMS_PARTIALLY_FILLED), "partially_filled", "status name");
    is_str(oms_type_name(OMS_STOP_LIMIT), "stop_limit", "type name");
    is_str(oms_type_name(9), "?", "unknown type name");
    is_str(oms_status_name(-1), "?", "unknown status name");
    ok(oms_side_parse("?") == -1 && oms_type_parse("Limit") == -1 && oms_tif_parse(NULL) == -1,
       "unknown names parse to -1");
}

int main(void)
{
    test_init();
    test_validate();
    test_machine();
    test_fills();
    test_day_expiry();
    test_names();
    return done_testing();
}
