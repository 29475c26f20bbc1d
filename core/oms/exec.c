/* exec.c — see exec.h. */
#include "oms/exec.h"

#include <stdio.h>
#include <string.h>

#include "sys/errmsg.h"

int oms_exec_bar(oms_account *a, oms_order *o, const oms_bar *bar, const oms_fill_model *m,
                 const oms_commission *c, double multiplier, double cash_limit, int64_t ref,
                 oms_exec *out, char *err, size_t errlen)
{
    if (!a || !o || !bar || !out || !(multiplier > 0))
        return au_errf(err, errlen, OMS_EINVAL, "oms_exec_bar: bad arguments");
    memset(out, 0, sizeof *out);
    oms_match mt;
    int rc = oms_fill_match(o, bar, m, &mt, err, errlen);
    if (rc != OMS_OK) return rc;
    out->triggered = mt.triggered;
    out->cancel_rest = mt.cancel_rest;
    if (mt.qty <= 0) {
        if (mt.triggered || mt.cancel_rest) return oms_fill_apply(o, &mt, bar->time, err, errlen);
        return OMS_OK;
    }
    double value = mt.qty * mt.price * multiplier;
    double comm = 0;
    rc = oms_commission_fill(c, o->filled_qty, o->filled_value * multiplier, mt.qty, value, &comm,
                             err, errlen);
    if (rc != OMS_OK) return rc;
    int buy = o->side == OMS_BUY;
    if (buy && cash_limit >= 0 && value + comm > cash_limit + 1e-9) {
        char reason[OMS_REASON_MAX];
        snprintf(reason, sizeof reason, "insufficient cash at fill: needs %.2f, %.2f available",
                 value + comm, cash_limit);
        rc = oms_order_cancel(o, reason, bar->time, err, errlen);
        if (rc == OMS_OK) out->vetoed = 1;
        return rc;
    }
    double signed_qty = buy ? mt.qty : -mt.qty;
    int64_t cash_cents;
    rc = oms_round_cents(-signed_qty * mt.price * multiplier, &cash_cents);
    if (rc != OMS_OK) return au_errf(err, errlen, rc, "order %s: fill value out of range", o->id);
    /* The order first on a copy: if it refuses, nothing has been posted. */
    oms_order next = *o;
    rc = oms_fill_apply(&next, &mt, bar->time, err, errlen);
    if (rc != OMS_OK) return rc;
    const oms_position *p = oms_account_position(a, o->symbol);
    out->pos_before = p ? p->qty : 0;
    oms_fill f = {.symbol = o->symbol, .qty = signed_qty, .price = mt.price,
                  .multiplier = multiplier, .commission = comm, .time = bar->time, .ref = ref};
    rc = oms_apply_fill(a, &f, err, errlen);
    if (rc != OMS_OK) return rc;
    *o = next;
    p = oms_account_position(a, o->symbol);
    out->pos_after = p ? p->qty : 0;
    out->qty = mt.qty;
    out->price = mt.price;
    int64_t comm_cents = 0;
    oms_round_cents(comm, &comm_cents);
    out->commission = oms_cents_to_double(comm_cents);
    out->cash_cents = cash_cents;
    return OMS_OK;
}
