/* order.h — one order: its fields, its validation and its state machine.
 *
 * Owns: the oms_order struct (plain data, fixed-size strings, no pointers, so the
 * caller may keep orders in any array, memcpy them and hand them to Lua through the
 * FFI), the check of a new order's fields, and the only legal status changes:
 *
 *   new              -> accepted | rejected
 *   accepted         -> partially_filled | filled | canceled | expired
 *   partially_filled -> partially_filled | filled | canceled | expired
 *   filled, canceled, rejected, expired: terminal, nothing leaves them
 *
 * Nothing here allocates or keeps state; every function works on caller-owned
 * memory.  Functions that can fail return OMS_OK or a negative OMS_E* status and, when
 * err is non-NULL, write a one-line message naming the order into err (errlen bytes,
 * always NUL-terminated); the order is left unchanged on failure.  NULL pointers and
 * non-finite numbers are failures, never crashes.
 *
 * Quantities are whole units (shares, contracts): fractional shares are a broker
 * feature we do not model, and whole quantities keep participation-capped partial
 * fills and position arithmetic exact in doubles (OMS_QTY_MAX is 1e15).
 *
 * The day-order expiry rule needs the end of the order's session, which is calendar
 * knowledge (md/calendar.h): the caller computes it and passes it in. */
#ifndef AU_OMS_ORDER_H
#define AU_OMS_ORDER_H

#include <stddef.h>
#include <stdint.h>

/* OMS_OK / OMS_EINVAL / OMS_ESTATE, OMS_NAME_MAX and OMS_QTY_MAX: one status space
 * and one set of limits for the whole oms, so an order's account and symbol always fit
 * the account set's names. */
#include "oms/money.h"

#define OMS_ID_MAX 48     /* client order id, including the NUL */
#define OMS_REASON_MAX 96 /* rejection / cancel reason, including the NUL (truncated) */

/* Stable numbers: the Lua side and stored orders use the names (oms_*_name). */
enum { OMS_BUY = 1, OMS_SELL = 2 };
enum { OMS_MARKET = 1, OMS_LIMIT = 2, OMS_STOP = 3, OMS_STOP_LIMIT = 4 };
enum { OMS_DAY = 1, OMS_GTC = 2, OMS_IOC = 3 };
enum {
    OMS_NEW = 0,
    OMS_ACCEPTED = 1,
    OMS_PARTIALLY_FILLED = 2,
    OMS_FILLED = 3,
    OMS_CANCELED = 4,
    OMS_REJECTED = 5,
    OMS_EXPIRED = 6
};

typedef struct oms_order {
    char id[OMS_ID_MAX];           /* client order id: unique per run (the caller's check) */
    char account[OMS_NAME_MAX];
    char symbol[OMS_NAME_MAX];     /* an OCC option symbol is 21 bytes */
    char reason[OMS_REASON_MAX];   /* why rejected / canceled / expired; "" otherwise */
    int32_t side, type, tif, status;
    int32_t stop_triggered;        /* stop and stop-limit: the stop has been reached */
    double qty;                    /* ordered, whole units, > 0 */
    double filled_qty;             /* 0 <= filled_qty <= qty */
    double limit_price;            /* limit and stop-limit; 0 otherwise */
    double stop_price;             /* stop and stop-limit; 0 otherwise */
    double avg_price;              /* volume-weighted average fill price; 0 before a fill */
    double filled_value;           /* sum of fill qty * price: avg_price's numerator */
    int64_t created, updated;      /* µs UTC */
} oms_order;

/* Fill in a new order (status new, nothing filled).  Strings are copied; one that
 * does not fit (or a NULL one) is OMS_EINVAL.  Numbers are stored as given: whether
 * they make a valid order is oms_order_validate's question, so a bad order can still
 * be recorded and then rejected with its reason. */
int oms_order_init(oms_order *o, const char *id, const char *account, const char *symbol,
                   int side, int type, int tif, double qty, double limit_price,
                   double stop_price, int64_t now, char *err, size_t errlen);

/* NULL when the order's fields make a valid order, else the rejection reason (a
 * static string: "qty must be a whole number", "limit price must be > 0"...).
 * Fields only: symbol knowledge, buying power and risk limits belong to the caller. */
const char *oms_order_validate(const oms_order *o);

/* 1 when the state machine allows from -> to. */
int oms_status_can_move(int from, int to);
int oms_status_is_terminal(int status);
/* accepted or partially_filled: the order can still fill. */
int oms_order_is_working(const oms_order *o);
double oms_order_remaining(const oms_order *o);

/* Move the order to `to` at time now, or refuse an illegal move with OMS_ESTATE and
 * a message like "order a1: cannot go from filled to canceled".  Filled and partially
 * filled are refused here when the filled quantity does not say so: fills go through
 * oms_order_fill, which keeps the two consistent. */
int oms_order_transition(oms_order *o, int to, int64_t now, char *err, size_t errlen);

/* The transitions that carry a reason (copied, truncated to fit; NULL means ""). */
int oms_order_reject(oms_order *o, const char *reason, int64_t now, char *err, size_t errlen);
int oms_order_cancel(oms_order *o, const char *reason, int64_t now, char *err, size_t errlen);
int oms_order_expire(oms_order *o, int64_t now, char *err, size_t errlen);

/* Record a fill of qty (> 0, whole, <= remaining) at price (finite, > 0): filled
 * quantity, average price, status (partially_filled or filled) and updated time. */
int oms_order_fill(oms_order *o, double qty, double price, int64_t now, char *err,
                   size_t errlen);

/* 1 when o is a working day order and a bar at bar_time no longer belongs to its
 * session: bar_time >= session_end, the end (µs UTC, exclusive) of the session the
 * order works in, computed by the caller from the calendar.  An order submitted after
 * a session's close works in the next session.  0 for gtc and ioc orders, orders not
 * working, and NULL. */
int oms_order_day_expired(const oms_order *o, int64_t bar_time, int64_t session_end);

/* Names: "buy"/"sell", "market"/"limit"/"stop"/"stop_limit", "day"/"gtc"/"ioc",
 * "new"/"accepted"/"partially_filled"/"filled"/"canceled"/"rejected"/"expired";
 * "?" for a number out of range.  The parsers return -1 for an unknown name or NULL. */
const char *oms_side_name(int side);
const char *oms_type_name(int type);
const char *oms_tif_name(int tif);
const char *oms_status_name(int status);
int oms_side_parse(const char *name);
int oms_type_parse(const char *name);
int oms_tif_parse(const char *name);
int oms_status_parse(const char *name);

#endif
