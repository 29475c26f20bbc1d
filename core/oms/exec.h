/* exec.h — one bar against one working order, end to end: match it (fill.h), veto a
 * buy the account cannot pay for, charge the commission, record the fill in the order
 * (order.h) and post it to the account (account.h).  The backtest's per-order hot path
 * as one call, so the engine's Lua side stays small enough for the JIT to compile
 * whole.
 *
 * Owns nothing: the account, the order and every struct are the caller's.  All or
 * nothing: on an error status neither the order nor the account has changed. */
#ifndef AU_OMS_EXEC_H
#define AU_OMS_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "oms/account.h"
#include "oms/fill.h"
#include "oms/order.h"

/* What happened.  qty 0 and vetoed 0: the bar did not fill the order (the stop may
 * have triggered, an ioc may have been canceled: see the flags). */
typedef struct oms_exec {
    double qty;        /* units filled on this bar (unsigned) */
    double price;      /* the fill price, slippage included */
    double commission; /* dollars, rounded to cents */
    double pos_before, pos_after; /* the account's position in the symbol around the fill */
    int64_t cash_cents;           /* the fill's cash posting: round(-signed qty x price x mult) */
    int32_t triggered;   /* the stop was reached on this bar */
    int32_t cancel_rest; /* ioc: the rest was canceled */
    int32_t vetoed;      /* a buy that needed more than cash_limit: canceled, nothing filled */
} oms_exec;

/* Apply bar to the working order o of account a.  multiplier: 1 for shares, 100 for
 * standard options.  cash_limit: the most a buy may cost including commission, in
 * dollars; a negative value means no limit (margin).  ref goes on the ledger postings.
 * OMS_OK with *out filled in, or an OMS_E* status with err set. */
int oms_exec_bar(oms_account *a, oms_order *o, const oms_bar *bar, const oms_fill_model *m,
                 const oms_commission *c, double multiplier, double cash_limit, int64_t ref,
                 oms_exec *out, char *err, size_t errlen);

#endif
