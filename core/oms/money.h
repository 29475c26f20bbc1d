/* money.h — what every part of the OMS shares: status codes, limits, and the one
 * rule that turns dollar amounts into cents (the ledger's and the commissions').
 *
 * Plain functions, no allocation, no state. */
#ifndef AU_OMS_MONEY_H
#define AU_OMS_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define OMS_NAME_MAX 32 /* account names and symbols, including the NUL */
/* The largest posting, in dollars (exclusive): keeps 15 significant digits finer
 * than a cent, which the rounding rule needs. */
#define OMS_AMOUNT_MAX 1e12
/* The largest |quantity| of a fill: whole numbers stay exact well below 2^53. */
#define OMS_QTY_MAX 1e15
/* Times accepted on postings and fills: 0000-01-01 .. 9999-12-31, in µs UTC. */
#define OMS_TIME_MIN INT64_C(-62167219200000000)
#define OMS_TIME_MAX INT64_C(253402300799999999)

enum {
    OMS_OK = 0,
    OMS_EINVAL = -1,   /* a bad argument: NULL, NaN, inf, qty 0, negative price... */
    OMS_ENOMEM = -2,   /* out of memory; nothing changed */
    OMS_EFUNDS = -3,   /* not enough cash for a withdrawal, transfer or fork */
    OMS_ERANGE = -4,   /* an amount beyond OMS_AMOUNT_MAX or cash beyond int64 cents */
    OMS_EEXIST = -5,   /* an account of that name exists */
    OMS_ENOTFOUND = -6,/* no such account */
    OMS_ESTATE = -7    /* not allowed in this state: closed account, open positions... */
};

/* Round an amount in dollars to cents: pre-round to 15 significant digits, then half
 * away from zero (docs/accounting.md).  OMS_EINVAL for NaN/inf, OMS_ERANGE when
 * |x| >= OMS_AMOUNT_MAX. */
int oms_round_cents(double x, int64_t *cents);
/* The same rule through decimal text only: slow, the definition the fast path is
 * tested against. */
int oms_round_cents_ref(double x, int64_t *cents);
double oms_cents_to_double(int64_t cents);
/* "-1234.56": exact, from the integer.  buf of at least 24 bytes; returns buf. */
const char *oms_cents_format(int64_t cents, char *buf, size_t buflen);

#endif
