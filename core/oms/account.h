/* account.h — the accounting core: accounts with cash, an append-only ledger of every
 * cash movement, positions per symbol with FIFO tax lots, realized P&L split short/long
 * term, marking to equity, transfers, and the fork/merge of accounts ALL-USE needs.
 * docs/accounting.md is the full contract (rounding rule, term rule, ledger kinds).
 *
 * Money is kept in integer cents (int64_t): every posting is rounded to cents once,
 * with oms_round_cents, and cash is the running sum of those cents, so cash equals
 * the sum of the ledger exactly, always.  The double views (oms_account_cash,
 * oms_cents_to_double) are cents / 100.0: the double nearest to the decimal amount.
 * Prices, marks and multipliers are doubles; quantities are whole numbers held in
 * doubles (exact below 2^53; fractional quantities are refused).
 *
 * Ownership: an oms_set owns its accounts; an account owns its ledger, its positions
 * and their lots.  oms_set_free frees everything.  Accounts and positions are
 * allocated one by one, so an oms_account * or oms_position * stays valid until
 * oms_set_free; the ledger and lot arrays move when they grow (index them afresh
 * after an operation).  Names and symbols are copied.
 *
 * Errors: every operation returns OMS_OK or a negative OMS_E* status and, when err is
 * not NULL, a message naming the account, symbol and amount.  A failed operation
 * changes nothing.  Bad input (NULL, NaN, inf, qty 0, a negative price...) is an
 * error, never a crash.
 *
 * Allocation happens only when an array must grow (geometrically); oms_account_reserve
 * and oms_position_reserve_lots pre-size them so a backtest's hot loop allocates
 * nothing.  No globals: the sequence counter lives in the set. */
#ifndef AU_OMS_ACCOUNT_H
#define AU_OMS_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "oms/money.h"

/* Flags for oms_withdraw, oms_transfer, oms_fork. */
#define OMS_ALLOW_NEGATIVE 1 /* let cash go below zero (margin) */

/* What a posting is.  0 is no kind, so that a zeroed oms_fill means a plain fill. */
typedef enum oms_ledger_kind {
    OMS_LEDGER_NONE = 0,
    OMS_LEDGER_DEPOSIT,      /* money in from outside */
    OMS_LEDGER_WITHDRAWAL,   /* money out to outside */
    OMS_LEDGER_TRANSFER_IN,  /* from another account of the set (symbol: that account) */
    OMS_LEDGER_TRANSFER_OUT, /* to another account of the set (symbol: that account) */
    OMS_LEDGER_FILL,         /* cash of a trade: -qty x price x multiplier */
    OMS_LEDGER_COMMISSION,   /* fees of a trade, negative */
    OMS_LEDGER_PREMIUM,      /* cash of an option trade, when booked as premium */
    OMS_LEDGER_ASSIGNMENT,   /* cash of shares delivered by an assigned short option */
    OMS_LEDGER_EXERCISE,     /* cash of shares taken by exercising a long option */
    OMS_LEDGER_EXPIRY,       /* an option closed at expiry (usually 0.00) */
    OMS_LEDGER_DIVIDEND,     /* dividends received (or paid, on a short) */
    OMS_LEDGER_KIND_COUNT
} oms_ledger_kind;

/* "deposit", "withdrawal", "transfer_in", ...; "none" for 0, NULL when out of range. */
const char *oms_ledger_kind_name(int kind);
/* The kind of a name, or OMS_LEDGER_NONE. */
int oms_ledger_kind_parse(const char *name);

/* One ledger entry.  symbol is the instrument, or the other account for transfers,
 * or "" for deposits and withdrawals. */
typedef struct oms_posting {
    int64_t seq;  /* set-wide, strictly increasing: orders postings across accounts */
    int64_t time; /* µs UTC */
    int32_t kind; /* oms_ledger_kind */
    char symbol[OMS_NAME_MAX];
    int64_t amount_cents;  /* signed: + cash in, - cash out */
    int64_t balance_cents; /* cash after this posting */
    int64_t ref;           /* the caller's reference: fill id, order id, 0 */
} oms_posting;

/* A tax lot: what remains of one opening fill.  qty has the position's sign.
 * basis_cents is the cash paid to open what remains (negative for a short: the
 * proceeds received); cost is the fill price per unit. */
typedef struct oms_lot {
    int64_t open_time;
    double qty;
    double cost;
    int64_t basis_cents;
} oms_lot;

typedef struct oms_position {
    char symbol[OMS_NAME_MAX];
    double qty;        /* signed: + long, - short; 0 when flat */
    double multiplier; /* 1 for shares, 100 for options; fixed at the first fill */
    double avg_cost;   /* qty-weighted mean of the open lots' cost; 0 when flat */
    int64_t cost_basis_cents;  /* sum of the open lots' basis_cents */
    int64_t realized_st_cents; /* realized P&L, short term, gross of commissions */
    int64_t realized_lt_cents; /* realized P&L, long term */
    int64_t commission_cents;  /* commissions paid on this symbol (positive) */
    oms_lot *lots;             /* open lots are lots[lot_head .. lot_head + nlots), oldest first */
    int32_t lot_head, nlots, lot_cap;
} oms_position;

/* Name lookup: open addressing over stable key pointers (internal). */
typedef struct oms_index_slot {
    const char *key;
    int32_t i;
} oms_index_slot;
typedef struct oms_index {
    oms_index_slot *slots;
    int32_t cap; /* a power of two, or 0 */
} oms_index;

struct oms_set;

typedef struct oms_account {
    char name[OMS_NAME_MAX];
    int64_t cash_cents;
    oms_posting *ledger;
    int64_t nledger, ledger_cap;
    oms_position **positions; /* in order of the first fill of each symbol */
    int32_t npositions, positions_cap;
    oms_index pos_index;
    struct oms_account *parent; /* the account it was forked from, or NULL */
    int closed;                 /* 1 once merged back: every operation is refused */
    struct oms_set *set;
} oms_account;

typedef struct oms_set {
    oms_account **accounts; /* in order of creation */
    int32_t naccounts, accounts_cap;
    oms_index index;
    int64_t next_seq; /* the seq of the next posting, from 1 */
} oms_set;

/* ---- the set ---- */

oms_set *oms_set_new(void);
void oms_set_free(oms_set *s);
/* A new empty account.  NULL with the reason in err (bad or taken name, memory). */
oms_account *oms_set_add(oms_set *s, const char *name, char *err, size_t errlen);
/* NULL when there is none. */
oms_account *oms_set_find(const oms_set *s, const char *name);

/* ---- accounts ---- */

double oms_account_cash(const oms_account *a);
/* Make room for `postings` more ledger entries and `positions` more symbols. */
int oms_account_reserve(oms_account *a, int64_t postings, int32_t positions);
/* The position in symbol, or NULL when the account never traded it. */
oms_position *oms_account_position(const oms_account *a, const char *symbol);
/* Make room for `lots` open lots in p. */
int oms_position_reserve_lots(oms_position *p, int32_t lots);

/* Every invariant, recomputed: cash == sum of the ledger, each balance_cents the
 * running sum, seq increasing; per position qty == sum of lot qty, one sign, basis
 * == sum of lot basis.  OMS_OK, or OMS_ESTATE with the first broken one in err. */
int oms_account_check(const oms_account *a, char *err, size_t errlen);

int oms_deposit(oms_account *a, double amount, int64_t time, int64_t ref, char *err, size_t errlen);
/* Refused with OMS_EFUNDS if cash would go negative, unless flags has OMS_ALLOW_NEGATIVE. */
int oms_withdraw(oms_account *a, double amount, int64_t time, int64_t ref, int flags, char *err,
                 size_t errlen);
/* Two postings, transfer_out on from and transfer_in on to, or neither.  Both accounts
 * must belong to the same set and differ. */
int oms_transfer(oms_account *from, oms_account *to, double amount, int64_t time, int64_t ref,
                 int flags, char *err, size_t errlen);
/* A cash posting of any kind but transfer_in/out (which come in pairs: oms_transfer):
 * dividends, premium or expiry postings that carry no position change.  symbol may be
 * NULL or "".  The amount is signed and may be 0. */
int oms_post(oms_account *a, int kind, const char *symbol, double amount, int64_t time,
             int64_t ref, char *err, size_t errlen);

/* ---- fills ---- */

typedef struct oms_fill {
    const char *symbol;
    double qty;        /* signed whole number: + buy, - sell; not 0 */
    double price;      /* >= 0 (0: an option expiring worthless) */
    double multiplier; /* > 0; 0 means 1 */
    double commission; /* >= 0, posted separately when it rounds to a cent or more */
    int64_t time;
    int64_t ref;
    int kind; /* the cash posting's kind: 0 (fill), premium, assignment, exercise, expiry */
} oms_fill;

/* Post the cash (round(-qty x price x multiplier)) and the commission, and update the
 * position: add a lot when opening or adding, close lots FIFO when reducing (each
 * closed piece realizes cash received - basis, short or long term by its lot's open
 * time), and open the rest the other way when the fill goes through zero.  Cash may
 * go negative: buying power is the order layer's job. */
int oms_apply_fill(oms_account *a, const oms_fill *f, char *err, size_t errlen);

/* ---- marking ---- */

/* A mark for symbol into *mark: 0 when known, anything else when not. */
typedef int (*oms_mark_fn)(void *ud, const char *symbol, double *mark);

/* qty x mark x multiplier - cost basis: what closing at mark would realize. */
double oms_position_unrealized(const oms_position *p, double mark);
double oms_position_realized(const oms_position *p); /* short + long term, dollars */

/* equity = cash + sum over open positions of qty x mark x multiplier, summed in
 * position order.  Flat positions need no mark; an open one without a finite mark is
 * OMS_EINVAL naming the symbol. */
int oms_account_equity(const oms_account *a, oms_mark_fn mark, void *ud, double *equity,
                       char *err, size_t errlen);
/* The same with marks[i] the mark of a->positions[i] (nmarks >= a->npositions). */
int oms_account_equity_at(const oms_account *a, const double *marks, int32_t nmarks,
                          double *equity, char *err, size_t errlen);

/* ---- fork and merge ---- */

/* A new account `name` in parent's set with `amount` moved from parent (transfer
 * postings on both; none when amount is 0).  NULL with the reason in err; then nothing
 * changed. */
oms_account *oms_fork(oms_account *parent, const char *name, double amount, int64_t time,
                      int64_t ref, int flags, char *err, size_t errlen);
/* Move all of child's cash back to its parent and close child.  Refused (OMS_ESTATE)
 * while child holds a non-zero position, has an open child of its own, or has
 * negative cash; child's ledger and flat positions stay readable. */
int oms_merge(oms_account *child, int64_t time, int64_t ref, char *err, size_t errlen);

#endif
