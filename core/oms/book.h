/* book.h — the run's order book: every order and what it holds, the working orders of
 * each instrument, executing them against bars and quotes, round trips and closed
 * trades, and the queue of events the strategy hears about.
 *
 * Why in C: the order path runs once per order and fill, tens of thousands of times
 * in a backtest.  In Lua it cost about a microsecond per order (tables per order,
 * strings, the GC); here it is plain structs in malloc'd memory, and the engine
 * (lua/alluse/engine.lua) makes one FFI call per step: new order, accept or reject,
 * cancel, and one match call per bar of a symbol with working orders.
 *
 * Policy stays in Lua: which risk checks an order must pass, how much cash or how many
 * shares to reserve for it, option quotes and expiry.  The book only keeps the numbers
 * those decisions produce and releases them as orders fill, cancel or expire.
 *
 * Numbering: orders are 1..norders (the order number k), accounts 1..naccounts (the
 * engine's account index), instruments 1..max_instruments (the engine's sid).  0 is
 * never a valid number, so a zeroed field means "none".
 *
 * Ownership: the book owns its orders, trades, events and per-instrument and
 * per-account arrays, and frees them in oms_book_free.  It does not own the accounts
 * (their oms_set does) and never frees them.  Orders and trades live in fixed chunks
 * that never move: an oms_order * or oms_trade * stays valid until oms_book_free.  The
 * event array may move when it grows: index it afresh (oms_book_event_at).
 *
 * Errors: functions that can fail return OMS_OK (or a count / number >= 0) or a
 * negative OMS_E* status, with a one-line message in err when err is non-NULL.  A
 * failed call changes nothing. */
#ifndef AU_OMS_BOOK_H
#define AU_OMS_BOOK_H

#include <stddef.h>
#include <stdint.h>

#include "oms/account.h"
#include "oms/exec.h"
#include "oms/fill.h"
#include "oms/order.h"

/* Instrument kinds: an equity, or the right of an option contract. */
enum { OMS_EQUITY = 0, OMS_CALL = 1, OMS_PUT = 2 };

/* Event kinds. */
enum { OMS_EV_ORDER = 1, OMS_EV_FILL = 2 };

/* "Never": the session end of gtc and ioc orders. */
#define OMS_BOOK_NEVER INT64_C(4611686018427387904)

/* What the book keeps beside each order. */
typedef struct oms_order_x {
    int64_t session_end; /* a day order's session end, µs UTC; OMS_BOOK_NEVER otherwise */
    double reserve;      /* cash still reserved for the open quantity */
    double open;         /* quantity not yet released (filled, canceled, expired) */
    double cover;        /* shares of the underlying still reserved (a short call's) */
    int32_t account;     /* account index */
    int32_t sid;         /* instrument */
    int32_t auto_id;     /* 1: the id is "o<k>", made by the book */
    int32_t working;     /* 1 while on its instrument's working list */
} oms_order_x;

/* An open round trip of one account in one instrument: from the position leaving 0 to
 * its return (or its crossing). */
typedef struct oms_trip {
    double qty, entry_time, entry_qty, entry_value, exit_qty, exit_value, cash, commission, bar0;
    int32_t side, open;
} oms_trip;

/* A closed round trip. */
typedef struct oms_trade {
    double qty, entry_time, entry_price, exit_time, exit_price, bars, gross, commission, pnl;
    int32_t account, sid, side;
} oms_trade;

/* One event for the strategy: order k changed status, or order k filled qty at price. */
typedef struct oms_book_event {
    int32_t kind, k;
    double qty, price, commission;
    int64_t time;
} oms_book_event;

/* One instrument. */
typedef struct oms_book_inst {
    char symbol[OMS_NAME_MAX];
    int32_t trigger;   /* the sid whose bars match its orders: itself, or the underlying */
    int32_t right;     /* OMS_EQUITY, OMS_CALL, OMS_PUT */
    double strike, multiplier;
    int32_t *work;     /* its own working orders, in acceptance order */
    int32_t nlist, list_cap;
} oms_book_inst;

/* What one account holds in one instrument (internal: found by oms_book's hash). */
typedef struct oms_book_slot {
    int32_t sid, pad;
    double pending_buy, pending_sell; /* open quantity of working buys / sells */
    double cover;                     /* (an underlying) shares reserved by working call sells */
    oms_position *pos;                /* the account's position, once it exists */
    oms_trip trip;
} oms_book_slot;

typedef struct oms_book_account {
    oms_account *acct;
    double reserved;           /* cash reserved for working orders */
    double exposed, exposed_since; /* events with a position open (see oms_book) */
    int64_t commissions_cents;
    int32_t nopen;             /* instruments with an open round trip */
    int32_t has_options;       /* it has filled an option order */
    oms_book_slot *slots;      /* in order of first use */
    int32_t nslots, slots_cap;
    int32_t *hash;             /* sid -> slot index + 1, open addressing */
    int32_t hash_cap;          /* a power of two, or 0 */
    int32_t pad;
} oms_book_account;

typedef struct oms_book {
    /* Counters and clocks the engine reads (and, for event, sets) directly. */
    int32_t norders, ntrades;
    int64_t nfills, commissions_cents;
    double event;              /* the driver's event number: the exposure clock */
    double fill_time;          /* the time of the last fill or settlement */
    int32_t nopen;             /* (account, instrument) pairs with a round trip open */
    int32_t want_orders, want_fills; /* queue only what someone listens to */
    int32_t nev, ev_cap;
    double exposed, exposed_since;
    /* Per instrument, 0..max_instruments: nwork counts the working orders a bar of the
     * sid must match (its own and its options'), mark is the last close (an option's
     * last mid; 0: none yet), barcount the bars seen. */
    int32_t max_instruments;
    int32_t *nwork;
    double *mark, *barcount;
    oms_book_inst *inst;
    oms_book_account *acct;    /* 1..naccounts */
    int32_t naccounts, accounts_cap;
    oms_book_event *ev;
    oms_order **ord_chunks;
    oms_order_x **ordx_chunks;
    oms_trade **trade_chunks;
    int32_t ord_chunk_count, trade_chunk_count, chunks_cap, trade_chunks_cap;
    oms_fill_model model;
    oms_commission comm, opt_comm;
    int32_t allow_margin, pad;
} oms_book;

/* A book for instruments 1..max_instruments, with the run's fill model, equity and
 * option commissions and margin rule (allow_margin: buys are not limited by cash).
 * NULL when out of memory or max_instruments < 1. */
oms_book *oms_book_new(int32_t max_instruments, const oms_fill_model *m, const oms_commission *equity,
                       const oms_commission *option, int allow_margin);
void oms_book_free(oms_book *b);

/* Describe instrument sid: trigger is sid itself for an equity, the underlying's sid
 * (already added) for an option; right OMS_EQUITY / OMS_CALL / OMS_PUT; multiplier
 * > 0.  Instruments are added in order 1, 2, 3...: a number that leaves a gap is an
 * error. */
int oms_book_add_instrument(oms_book *b, int32_t sid, const char *symbol, int32_t trigger,
                            int32_t right, double strike, double multiplier, char *err, size_t errlen);

/* Add account a; returns its index (1, 2, ...) or a negative status. */
int32_t oms_book_add_account(oms_book *b, oms_account *a, char *err, size_t errlen);

/* Order k and what the book keeps beside it; NULL when k is not an order. */
oms_order *oms_book_order(oms_book *b, int32_t k);
oms_order_x *oms_book_order_x(oms_book *b, int32_t k);
/* Closed trade k (1..ntrades); NULL otherwise. */
oms_trade *oms_book_trade(oms_book *b, int32_t k);
/* Event i (0..nev-1); NULL otherwise. */
oms_book_event *oms_book_event_at(oms_book *b, int32_t i);

/* Record a new order (status new) of account acct in instrument sid (0: a symbol the
 * run does not know, recorded to be rejected).  id NULL: the book names it "o<k>".
 * Returns its number k, or a negative status. */
int32_t oms_book_new_order(oms_book *b, int32_t acct, int32_t sid, const char *id, const char *symbol,
                           int side, int type, int tif, double qty, double limit_price,
                           double stop_price, int64_t now, char *err, size_t errlen);
/* Reject new order k with reason (queued as an order event). */
int oms_book_reject(oms_book *b, int32_t k, const char *reason, int64_t now, char *err, size_t errlen);
/* Accept new order k (of an added instrument): it reserves `reserve` dollars of its account's cash and `cover`
 * shares of its underlying, works until session_end (OMS_BOOK_NEVER for gtc/ioc),
 * and joins its instrument's working list. */
int oms_book_accept(oms_book *b, int32_t k, double reserve, double cover, int64_t session_end,
                    int64_t now, char *err, size_t errlen);
/* Cancel working order k with reason: release what it holds, take it off its list. */
int oms_book_cancel(oms_book *b, int32_t k, const char *reason, int64_t now, char *err, size_t errlen);

/* What bar does to the working orders of instrument sid: each day order whose session
 * has ended expires; each other one meets the bar (oms_exec_bar: fill model, cash
 * veto, commission, the order and the account).  quoted (an option): each order meets
 * a one-price bar at ask (buys) or bid (sells) instead, and waits while that price is
 * not > 0.  Returns how many of sid's orders still work, or a negative status (an
 * order the bar cannot be applied to; the orders before it have been processed). */
int32_t oms_book_match(oms_book *b, int32_t sid, const oms_bar *bar, int quoted, double bid,
                       double ask, char *err, size_t errlen);

/* Round-trip bookkeeping for a position change made outside oms_book_match (option
 * expiry, assignment): before and after are the position around it, signed_qty the
 * change, cash and comm its postings in dollars. */
int oms_book_trip(oms_book *b, int32_t acct, int32_t sid, double before, double after,
                  double signed_qty, double price, double cash, double comm, int64_t time);

/* The quantity of acct's working orders on one side (OMS_BUY / OMS_SELL) of sid. */
double oms_book_pending(const oms_book *b, int32_t acct, int32_t sid, int side);
/* Shares of underlying u reserved by acct's working call sells. */
double oms_book_cover_reserved(const oms_book *b, int32_t acct, int32_t u);
/* Cash acct holds against its short puts: strike x multiplier x contracts. */
double oms_book_secured(const oms_book *b, int32_t acct);
/* Shares of u acct holds against its short calls: multiplier x contracts. */
double oms_book_covered(const oms_book *b, int32_t acct, int32_t u);
/* acct's position in sid (cached after the first lookup), NULL before its first fill. */
oms_position *oms_book_position(oms_book *b, int32_t acct, int32_t sid);
/* Working orders of acct (0: of every account). */
int32_t oms_book_working(const oms_book *b, int32_t acct);

#endif
