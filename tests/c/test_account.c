/* test_account.c — oms/account: rounding to cents, the ledger, deposits, withdrawals,
 * transfers, fills with FIFO lots and the short/long-term split, marking, fork and
 * merge, and the invariants over a long random run.  Expected numbers are worked out
 * by hand in the comments, not taken from the code under test. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oms/account.h"
#include "sys/autime.h"
#include "tap.h"

static char err[512];

/* µs UTC of a wall time in UTC. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return ((au_time_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 * INT64_C(1000000);
}

static int has(const char *text, const char *part)
{
    return strstr(text, part) != NULL;
}

static oms_fill fill(const char *sym, double qty, double price, double comm, int64_t t)
{
    oms_fill f = {.symbol = sym, .qty = qty, .price = price, .commission = comm, .time = t, .ref = 7};
    return f;
}

static int apply(oms_account *a, const char *sym, double qty, double price, double comm, int64_t t)
{
    oms_fill f = fill(sym, qty, price, comm, t);
    int st = oms_apply_fill(a, &f, err, sizeof err);
    if (st != OMS_OK) printf("# fill failed: %s\n", err);
    return st;
}

static const oms_posting *last(const oms_account *a)
{
    return &a->ledger[a->nledger - 1];
}

/* ---- ledger kinds ---- */

static void test_kinds(void)
{
    const char *names[] = {"none",       "deposit", "withdrawal", "transfer_in",
                           "transfer_out", "fill",  "commission", "premium",
                           "assignment", "exercise", "expiry",    "dividend"};
    is_int(OMS_LEDGER_KIND_COUNT, 12, "twelve kinds with none");
    for (int k = 0; k < OMS_LEDGER_KIND_COUNT; k++) {
        is_str(oms_ledger_kind_name(k), names[k], "kind %d is named %s", k, names[k]);
        if (k > 0) is_int(oms_ledger_kind_parse(names[k]), k, "%s parses back", names[k]);
    }
    ok(oms_ledger_kind_name(-1) == NULL && oms_ledger_kind_name(OMS_LEDGER_KIND_COUNT) == NULL,
       "kinds out of range have no name");
    is_int(oms_ledger_kind_parse("none"), OMS_LEDGER_NONE, "none does not parse to a kind");
    is_int(oms_ledger_kind_parse("bogus"), OMS_LEDGER_NONE, "an unknown name is none");
    is_int(oms_ledger_kind_parse(NULL), OMS_LEDGER_NONE, "NULL is none");
}

/* ---- rounding ---- */

static void test_rounding_table(void)
{
    static const struct {
        double x;
        int64_t want;
    } cases[] = {
        {0, 0},          {-0.0, 0},        {1.005, 101},      {-1.005, -101},     {2.675, 268},
        {1.015, 102},    {1.025, 103},     {1.255, 126},      {0.285, 29},        {0.005, 1},
        {-0.005, -1},    {0.0049999, 0},   {0.004999999999, 0}, {0.125, 13},      {-0.125, -13},
        {0.375, 38},     {1e-300, 0},      {-1e-300, 0},      {0.01, 1},          {0.1 + 0.2, 30},
        {10.075, 1008},  {1234.565, 123457}, {123456789.125, 12345678913},
        {999999999999.99, 99999999999999}, {999999999999.994, 99999999999999},
        {4.35, 435},     {0.045, 5},       {0.055, 6},        {8.345, 835},       {-8.345, -835},
        {3 * 1.335, 401}, {100 * 1.00005, 10001}, {5e-3 + 1e-18, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t c = 0, r = 0;
        int st = oms_round_cents(cases[i].x, &c);
        is_int(st == OMS_OK ? c : -999, cases[i].want, "%.15g (%.17g) is %" PRId64 " cents", cases[i].x,
               cases[i].x, cases[i].want);
        st = oms_round_cents_ref(cases[i].x, &r);
        is_int(st == OMS_OK ? r : -999, cases[i].want, "  and so says the reference");
    }
    int64_t c = 42;
    is_int(oms_round_cents(NAN, &c), OMS_EINVAL, "NaN is refused");
    is_int(oms_round_cents(INFINITY, &c), OMS_EINVAL, "inf is refused");
    is_int(oms_round_cents(-INFINITY, &c), OMS_EINVAL, "-inf is refused");
    is_int(oms_round_cents(1e12, &c), OMS_ERANGE, "1e12 is out of range");
    is_int(oms_round_cents(-1e12, &c), OMS_ERANGE, "-1e12 is out of range");
    is_int(c, 42, "a refused amount leaves the result alone");
    is_int(oms_round_cents_ref(NAN, &c), OMS_EINVAL, "the reference refuses NaN too");
}

static uint64_t rng_state = 20240611;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double unit(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

/* Every amount written with a half cent, read by strtod, rounds away from zero: the
 * decimal text decides, not the binary value below or above it. */
static void test_rounding_half_cents(void)
{
    int bad = 0;
    char buf[64];
    for (int64_t k = 0; k < 2000000 && bad < 5; k++) {
        /* every small one, then a million spread up to OMS_AMOUNT_MAX */
        int64_t v = k < 1000000 ? k : (int64_t)(rng() % UINT64_C(99999999999999));
        snprintf(buf, sizeof buf, "%" PRId64 ".%02" PRId64 "5", v / 100, v % 100);
        double x = strtod(buf, NULL);
        int64_t c = 0, n = 0;
        oms_round_cents(x, &c);
        oms_round_cents(-x, &n);
        if (c != v + 1 || n != -(v + 1)) {
            printf("# %s -> %" PRId64 " / %" PRId64 "\n", buf, c, n);
            bad++;
        }
    }
    ok(bad == 0, "x.xx5 rounds up and -x.xx5 down for 2M half-cent amounts");

    bad = 0;
    for (int64_t k = 0; k < 1000000 && bad < 5; k++) { /* and x.xx4999... stays */
        snprintf(buf, sizeof buf, "%" PRId64 ".%02" PRId64 "4999", k / 100, k % 100);
        int64_t c = 0;
        oms_round_cents(strtod(buf, NULL), &c);
        if (c != k) {
            printf("# %s -> %" PRId64 "\n", buf, c);
            bad++;
        }
    }
    ok(bad == 0, "x.xx4999 rounds down for 1M amounts");
}

/* The fast path agrees with the text-only definition on random doubles and on
 * products of decimal prices and quantities (where the near-half cases live). */
static void test_rounding_fast_vs_ref(void)
{
    int bad = 0;
    for (int i = 0; i < 2000000 && bad < 5; i++) {
        double x;
        switch (i % 4) {
        case 0: x = (unit() - 0.5) * pow(10, (int)(rng() % 14) - 2); break;
        case 1: x = (double)(int64_t)(rng() % 100000) * ((double)(rng() % 1000000) / 10000.0); break;
        case 2: x = (double)(rng() % 1000) * ((double)(rng() % 100000) / 1000.0) * 100; break;
        default: x = ((double)(int64_t)(rng() % 2000000000) - 1e9) / 1000.0; break;
        }
        int64_t a = 0, b = 0;
        int sa = oms_round_cents(x, &a), sb = oms_round_cents_ref(x, &b);
        if (sa != sb || a != b) {
            printf("# %.17g: fast %" PRId64 " ref %" PRId64 "\n", x, a, b);
            bad++;
        }
    }
    ok(bad == 0, "fast rounding equals the reference on 2M values");
}

static void test_cents_format(void)
{
    char buf[32];
    is_str(oms_cents_format(0, buf, sizeof buf), "0.00", "0 cents");
    is_str(oms_cents_format(5, buf, sizeof buf), "0.05", "5 cents");
    is_str(oms_cents_format(-5, buf, sizeof buf), "-0.05", "-5 cents");
    is_str(oms_cents_format(123456, buf, sizeof buf), "1234.56", "123456 cents");
    is_str(oms_cents_format(INT64_MIN, buf, sizeof buf), "-92233720368547758.08", "INT64_MIN cents");
    ok(oms_cents_to_double(101) == 1.01, "101 cents is the double 1.01");
}

/* ---- set, deposit, withdraw, post ---- */

static void test_set(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "main", err, sizeof err);
    ok(a != NULL && !strcmp(a->name, "main"), "add an account");
    ok(oms_set_find(s, "main") == a, "find it by name");
    ok(oms_set_find(s, "other") == NULL, "an unknown name finds nothing");
    ok(oms_set_find(s, NULL) == NULL && oms_set_find(NULL, "main") == NULL, "NULLs find nothing");
    ok(oms_set_add(s, "main", err, sizeof err) == NULL, "a taken name is refused");
    ok(has(err, "'main' already exists"), "with a message naming it: %s", err);
    ok(oms_set_add(s, "", err, sizeof err) == NULL, "an empty name is refused");
    ok(oms_set_add(s, NULL, err, sizeof err) == NULL, "a NULL name is refused");
    ok(oms_set_add(NULL, "x", err, sizeof err) == NULL, "a NULL set is refused");
    char name[40];
    memset(name, 'n', 32);
    name[32] = '\0';
    ok(oms_set_add(s, name, err, sizeof err) == NULL, "a 32-character name is refused");
    name[31] = '\0';
    ok(oms_set_add(s, name, err, sizeof err) != NULL, "a 31-character name is fine");
    /* Many accounts: the index grows and every one is still found at its pointer. */
    oms_account *made[300];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "acct%d", i);
        made[i] = oms_set_add(s, name, err, sizeof err);
    }
    int found = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "acct%d", i);
        found += made[i] != NULL && oms_set_find(s, name) == made[i];
    }
    is_int(found, 300, "300 more accounts, each found at a stable pointer");
    is_int(s->naccounts, 302, "the set counts them");
    oms_set_free(s);
    oms_set_free(NULL);
    ok(1, "oms_set_free(NULL) is a no-op");
}

static void test_deposit_withdraw(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "main", err, sizeof err);
    int64_t t = utc(2024, 1, 2, 15, 0);
    is_int(oms_deposit(a, 1000.005, t, 11, err, sizeof err), OMS_OK, "deposit 1000.005");
    is_int(a->cash_cents, 100001, "rounds to 1000.01");
    ok(oms_account_cash(a) == 1000.01, "cash is the double 1000.01");
    const oms_posting *p = last(a);
    ok(p->seq == 1 && p->time == t && p->kind == OMS_LEDGER_DEPOSIT && p->amount_cents == 100001 &&
           p->balance_cents == 100001 && p->ref == 11 && p->symbol[0] == '\0',
       "the deposit posting: seq, time, kind, amount, balance, ref, no symbol");

    is_int(oms_withdraw(a, 400, t, 12, 0, err, sizeof err), OMS_OK, "withdraw 400");
    is_int(a->cash_cents, 60001, "cash 600.01");
    ok(last(a)->kind == OMS_LEDGER_WITHDRAWAL && last(a)->amount_cents == -40000 &&
           last(a)->balance_cents == 60001 && last(a)->seq == 2,
       "the withdrawal posting is negative, balance after it");

    is_int(oms_withdraw(a, 600.02, t, 0, 0, err, sizeof err), OMS_EFUNDS, "overdrawing is refused");
    ok(has(err, "'main'") && has(err, "600.02") && has(err, "600.01"), "naming account and amounts: %s", err);
    is_int(a->nledger, 2, "nothing was posted");
    is_int(oms_withdraw(a, 600.02, t, 0, OMS_ALLOW_NEGATIVE, err, sizeof err), OMS_OK,
           "allowed with OMS_ALLOW_NEGATIVE");
    is_int(a->cash_cents, -1, "cash -0.01");
    is_int(oms_withdraw(a, 1, t, 0, 0, err, sizeof err), OMS_EFUNDS, "negative cash: no more withdrawals");
    is_int(oms_deposit(a, 0.01, t, 0, err, sizeof err), OMS_OK, "deposit 0.01");
    is_int(a->cash_cents, 0, "back to 0");
    is_int(oms_withdraw(a, 0, t, 0, 0, err, sizeof err), OMS_EINVAL, "withdrawing 0 is refused");

    int64_t n = a->nledger;
    double bad[] = {0, -5, 0.004, NAN, INFINITY, -INFINITY, 1e12, 5e15};
    int want[] = {OMS_EINVAL, OMS_EINVAL, OMS_EINVAL, OMS_EINVAL, OMS_EINVAL, OMS_EINVAL, OMS_ERANGE, OMS_ERANGE};
    for (int i = 0; i < 8; i++) {
        is_int(oms_deposit(a, bad[i], t, 0, err, sizeof err), want[i], "deposit %g refused", bad[i]);
        ok(has(err, "'main'") && has(err, "deposit"), "  message: %s", err);
        is_int(oms_withdraw(a, bad[i], t, 0, OMS_ALLOW_NEGATIVE, err, sizeof err), want[i],
               "withdraw %g refused", bad[i]);
    }
    is_int(oms_deposit(a, 10, OMS_TIME_MAX + 1, 0, err, sizeof err), OMS_EINVAL, "a time beyond 9999 is refused");
    is_int(oms_deposit(NULL, 10, t, 0, err, sizeof err), OMS_EINVAL, "a NULL account is refused");
    is_int(oms_deposit(a, 10, t, 0, NULL, 0), OMS_OK, "err may be NULL");
    is_int(oms_deposit(a, -10, t, 0, NULL, 0), OMS_EINVAL, "and errors still return a status");
    is_int(a->nledger, n + 1, "refused operations posted nothing");
    is_int(oms_account_check(a, err, sizeof err), OMS_OK, "the account checks out");
    oms_set_free(s);
}

static void test_post(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "main", err, sizeof err);
    is_int(oms_post(a, OMS_LEDGER_DIVIDEND, "SPY", 12.345, 1, 3, err, sizeof err), OMS_OK, "post a dividend");
    ok(last(a)->kind == OMS_LEDGER_DIVIDEND && !strcmp(last(a)->symbol, "SPY") && last(a)->amount_cents == 1235,
       "dividend 12.35 on SPY");
    is_int(oms_post(a, OMS_LEDGER_DIVIDEND, "SPY", -2, 1, 3, err, sizeof err), OMS_OK,
           "a negative dividend (paid on a short)");
    is_int(oms_post(a, OMS_LEDGER_EXPIRY, NULL, 0, 1, 3, err, sizeof err), OMS_OK, "a zero expiry, no symbol");
    is_int(a->cash_cents, 1035, "cash 10.35");
    is_int(oms_post(a, OMS_LEDGER_TRANSFER_IN, "x", 1, 1, 0, err, sizeof err), OMS_EINVAL, "transfer_in alone is refused");
    is_int(oms_post(a, OMS_LEDGER_TRANSFER_OUT, "x", 1, 1, 0, err, sizeof err), OMS_EINVAL, "transfer_out alone is refused");
    is_int(oms_post(a, OMS_LEDGER_NONE, "x", 1, 1, 0, err, sizeof err), OMS_EINVAL, "kind none is refused");
    is_int(oms_post(a, 99, "x", 1, 1, 0, err, sizeof err), OMS_EINVAL, "kind 99 is refused");
    is_int(oms_post(a, OMS_LEDGER_DIVIDEND, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", 1, 1, 0, err, sizeof err),
           OMS_EINVAL, "a 33-character symbol is refused");
    is_int(oms_post(a, OMS_LEDGER_DIVIDEND, "SPY", NAN, 1, 0, err, sizeof err), OMS_EINVAL, "NaN is refused");
    is_int(a->nledger, 3, "three postings");
    oms_set_free(s);
}

/* ---- transfers ---- */

static void test_transfer(void)
{
    oms_set *s = oms_set_new(), *s2 = oms_set_new();
    oms_account *a = oms_set_add(s, "a", err, sizeof err), *b = oms_set_add(s, "b", err, sizeof err);
    oms_account *z = oms_set_add(s2, "z", err, sizeof err);
    oms_deposit(a, 100, 1, 0, err, sizeof err);
    is_int(oms_transfer(a, b, 30.255, 2, 5, 0, err, sizeof err), OMS_OK, "transfer 30.255 a -> b");
    ok(a->cash_cents == 6974 && b->cash_cents == 3026, "a 69.74, b 30.26");
    const oms_posting *pa = last(a), *pb = last(b);
    ok(pa->kind == OMS_LEDGER_TRANSFER_OUT && pa->amount_cents == -3026 && !strcmp(pa->symbol, "b") && pa->ref == 5,
       "a has transfer_out -30.26 naming b");
    ok(pb->kind == OMS_LEDGER_TRANSFER_IN && pb->amount_cents == 3026 && !strcmp(pb->symbol, "a") && pb->ref == 5,
       "b has transfer_in 30.26 naming a");
    is_int(pb->seq, pa->seq + 1, "the two postings have adjacent seq");

    is_int(oms_transfer(a, b, 69.75, 3, 0, 0, err, sizeof err), OMS_EFUNDS, "more than a has is refused");
    ok(has(err, "'a'") && has(err, "69.75") && has(err, "69.74"), "message: %s", err);
    ok(a->nledger == 2 && b->nledger == 1 && a->cash_cents == 6974 && b->cash_cents == 3026,
       "neither account changed");
    is_int(oms_transfer(a, b, 69.75, 3, 0, OMS_ALLOW_NEGATIVE, err, sizeof err), OMS_OK, "allowed with the flag");
    is_int(a->cash_cents, -1, "a -0.01");
    is_int(oms_transfer(a, a, 1, 3, 0, OMS_ALLOW_NEGATIVE, err, sizeof err), OMS_EINVAL, "to itself is refused");
    is_int(oms_transfer(b, z, 1, 3, 0, 0, err, sizeof err), OMS_EINVAL, "across sets is refused");
    is_int(oms_transfer(NULL, b, 1, 3, 0, 0, err, sizeof err), OMS_EINVAL, "NULL from is refused");
    is_int(oms_transfer(b, NULL, 1, 3, 0, 0, err, sizeof err), OMS_EINVAL, "NULL to is refused");
    is_int(oms_transfer(b, a, NAN, 3, 0, 0, err, sizeof err), OMS_EINVAL, "NaN is refused");
    is_int(oms_transfer(b, a, -1, 3, 0, 0, err, sizeof err), OMS_EINVAL, "negative is refused");
    is_int(oms_transfer(b, a, 0.001, 3, 0, 0, err, sizeof err), OMS_EINVAL, "less than a cent is refused");
    is_int(oms_transfer(b, a, 1e13, 3, 0, OMS_ALLOW_NEGATIVE, err, sizeof err), OMS_ERANGE, "1e13 is out of range");
    is_int(oms_transfer(b, a, 1, OMS_TIME_MIN - 1, 0, 0, err, sizeof err), OMS_EINVAL, "a bad time is refused");
    ok(a->nledger == 3 && b->nledger == 2 && z->nledger == 0, "refused transfers posted nothing");
    ok(oms_account_check(a, err, sizeof err) == OMS_OK && oms_account_check(b, err, sizeof err) == OMS_OK,
       "both accounts check out");
    oms_set_free(s);
    oms_set_free(s2);
}

/* ---- fills ---- */

static int lots_are(const oms_position *p, int n, const double *qty, const double *cost)
{
    if (p->nlots != n) return 0;
    for (int i = 0; i < n; i++) {
        const oms_lot *l = &p->lots[p->lot_head + i];
        if (l->qty != qty[i] || l->cost != cost[i]) return 0;
    }
    return 1;
}

static void test_fill_long(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "main", err, sizeof err);
    int64_t t0 = utc(2024, 1, 2, 15, 0);
    oms_deposit(a, 10000, t0, 0, err, sizeof err);

    is_int(apply(a, "SPY", 100, 10, 1, t0), OMS_OK, "buy 100 SPY @ 10, commission 1");
    is_int(a->cash_cents, 900000 - 100, "cash 10000 - 1000 - 1");
    const oms_posting *f = &a->ledger[1], *c = &a->ledger[2];
    ok(f->kind == OMS_LEDGER_FILL && f->amount_cents == -100000 && !strcmp(f->symbol, "SPY") && f->ref == 7,
       "a fill posting of -1000.00 on SPY");
    ok(c->kind == OMS_LEDGER_COMMISSION && c->amount_cents == -100 && c->balance_cents == a->cash_cents,
       "then a commission posting of -1.00");
    oms_position *p = oms_account_position(a, "SPY");
    ok(p && p->qty == 100 && p->avg_cost == 10 && p->cost_basis_cents == 100000 && p->multiplier == 1 &&
           p->commission_cents == 100,
       "position 100 @ 10, basis 1000, multiplier 1, commission 1");

    is_int(apply(a, "SPY", 50, 12, 0, t0 + 1), OMS_OK, "buy 50 @ 12, no commission");
    is_int(a->nledger, 4, "no commission posting when it is 0");
    ok(fabs(p->avg_cost - 1600.0 / 150) < 1e-12, "average cost (1000 + 600) / 150");
    ok(lots_are(p, 2, (double[]){100, 50}, (double[]){10, 12}), "two lots");

    is_int(apply(a, "SPY", -120, 11, 0, t0 + 2), OMS_OK, "sell 120 @ 11");
    /* lot 1: 100 x (11 - 10) = +100; lot 2: 20 x (11 - 12) = -20 */
    is_int(p->realized_st_cents, 8000, "realized +80.00 short term");
    is_int(p->realized_lt_cents, 0, "nothing long term");
    ok(p->qty == 30 && lots_are(p, 1, (double[]){30}, (double[]){12}) && p->cost_basis_cents == 36000 &&
           p->avg_cost == 12,
       "30 left from the second lot, basis 360, average 12");

    is_int(apply(a, "SPY", -30, 9, 0, t0 + 3), OMS_OK, "sell the last 30 @ 9");
    ok(p->qty == 0 && p->nlots == 0 && p->avg_cost == 0 && p->cost_basis_cents == 0, "flat: no lots, no cost");
    is_int(p->realized_st_cents, 8000 - 9000, "realized kept: 80 - 90 = -10.00");
    ok(oms_position_realized(p) == -10, "oms_position_realized -10");
    ok(oms_account_position(a, "SPY") == p && a->npositions == 1, "the flat position is kept");
    is_int(a->cash_cents, 1000000 - 100 - 1000, "cash = 10000 - 1 commission - 10 lost");
    is_int(oms_account_check(a, err, sizeof err), OMS_OK, "the account checks out");

    is_int(apply(a, "SPY", 5, 20, 0, t0 + 4), OMS_OK, "reopen 5 @ 20");
    ok(p->qty == 5 && p->avg_cost == 20 && p->lot_head == 0, "a fresh lot at the front");
    oms_set_free(s);
}

static void test_fill_short_and_flip(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "main", err, sizeof err);
    int64_t t = utc(2024, 5, 1, 14, 0);
    is_int(apply(a, "XYZ", -10, 50, 0, t), OMS_OK, "sell short 10 @ 50");
    is_int(a->cash_cents, 50000, "cash +500 (no deposit needed)");
    oms_position *p = oms_account_position(a, "XYZ");
    ok(p->qty == -10 && p->cost_basis_cents == -50000 && p->avg_cost == 50, "short 10, basis -500, average 50");
    is_int(apply(a, "XYZ", -10, 60, 0, t + 1), OMS_OK, "short 10 more @ 60");
    ok(lots_are(p, 2, (double[]){-10, -10}, (double[]){50, 60}) && p->avg_cost == 55, "two short lots, average 55");
    is_int(apply(a, "XYZ", 15, 55, 0, t + 2), OMS_OK, "buy 15 @ 55 to cover");
    /* lot 1: 10 x (50 - 55) = -50; lot 2: 5 x (60 - 55) = +25 */
    is_int(p->realized_st_cents, -2500, "realized -25.00");
    ok(p->qty == -5 && lots_are(p, 1, (double[]){-5}, (double[]){60}) && p->cost_basis_cents == -30000,
       "short 5 @ 60 left, basis -300");
    ok(oms_position_unrealized(p, 58) == 10, "unrealized at 58: -5 x 58 + 300 = 10");

    is_int(apply(a, "XYZ", 25, 40, 0, t + 3), OMS_OK, "buy 25 @ 40: cover 5, go long 20");
    /* cover 5 x (60 - 40) = +100 */
    is_int(p->realized_st_cents, -2500 + 10000, "realized +75.00");
    ok(p->qty == 20 && lots_are(p, 1, (double[]){20}, (double[]){40}) && p->cost_basis_cents == 80000 &&
           p->avg_cost == 40,
       "long 20 @ 40, basis 800");
    is_int(apply(a, "XYZ", -50, 45, 0, t + 4), OMS_OK, "sell 50 @ 45: close 20, go short 30");
    is_int(p->realized_st_cents, 7500 + 10000, "realized +175.00");
    ok(p->qty == -30 && lots_are(p, 1, (double[]){-30}, (double[]){45}) && p->cost_basis_cents == -135000,
       "short 30 @ 45, basis -1350");
    is_int(apply(a, "XYZ", 30, 45, 0, t + 5), OMS_OK, "cover at cost");
    ok(p->qty == 0 && p->realized_st_cents == 17500 && p->nlots == 0, "flat with 175.00 kept");
    /* Flat: everything realized equals the cash the fills moved. */
    is_int(a->cash_cents, p->realized_st_cents, "cash equals the realized P&L");
    is_int(oms_account_check(a, err, sizeof err), OMS_OK, "the account checks out");
    oms_set_free(s);
}

/* Cents are split between the closed pieces exactly, so a round trip realizes exactly
 * the cash it moved, even when each fill rounded. */
static void test_fill_cents_split(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "main", err, sizeof err);
    apply(a, "P", 3, 1.335, 0, 1);
    is_int(a->cash_cents, -401, "buy 3 @ 1.335: -4.005 rounds to -4.01");
    oms_position *p = oms_account_position(a, "P");
    apply(a, "P", -1, 1.335, 0, 2);
    is_int(a->cash_cents, -401 + 134, "sell 1 @ 1.335: +1.335 rounds to 1.34");
    is_int(p->realized_st_cents, 0, "134 - round(401 / 3) = 0");
    is_int(p->cost_basis_cents, 267, "basis 2.67 left");
    apply(a, "P", -2, 1.335, 0, 3);
    is_int(a->cash_cents, 0, "sell 2 @ 1.335: +2.67, flat at 0.00");
    is_int(p->realized_st_cents, 0, "realized 0, as the cash says");

    /* Three lots of 1 @ 0.333 (0.33 each) closed by one sale of 3 @ 0.335 (1.005 -> 1.01). */
    for (int i = 0; i < 3; i++) apply(a, "Q", 1, 0.333, 0, 4);
    apply(a, "Q", -3, 0.335, 0, 5);
    oms_position *q = oms_account_position(a, "Q");
    is_int(q->realized_st_cents, 101 - 99, "pieces 0.34 + 0.34 + 0.33 less 0.99 = 0.02");
    is_int(a->cash_cents, 2, "equal to the cash moved");
    is_int(oms_account_check(a, err, sizeof err), OMS_OK, "the account checks out");
    oms_set_free(s);
}

static void test_fill_options_and_kinds(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "main", err, sizeof err);
    const char *occ = "SPY   240119P00450000";
    oms_fill f = {.symbol = occ, .qty = -2, .price = 1.255, .multiplier = 100, .commission = 1.3,
                  .time = 1, .ref = 99, .kind = OMS_LEDGER_PREMIUM};
    is_int(oms_apply_fill(a, &f, err, sizeof err), OMS_OK, "sell 2 puts @ 1.255 as premium");
    ok(a->ledger[0].kind == OMS_LEDGER_PREMIUM && a->ledger[0].amount_cents == 25100, "premium +251.00");
    ok(a->ledger[1].kind == OMS_LEDGER_COMMISSION && a->ledger[1].amount_cents == -130, "commission -1.30");
    oms_position *p = oms_account_position(a, occ);
    ok(p && p->multiplier == 100 && p->qty == -2 && p->cost_basis_cents == -25100, "short 2 contracts x 100");
    ok(oms_position_unrealized(p, 0.5) == 151, "unrealized at 0.50: -2 x 50 + 251 = 151");

    f.multiplier = 1;
    f.kind = 0;
    is_int(oms_apply_fill(a, &f, err, sizeof err), OMS_EINVAL, "a different multiplier is refused");
    ok(has(err, occ) && has(err, "multiplier"), "naming the symbol: %s", err);

    oms_fill e = {.symbol = occ, .qty = 2, .price = 0, .multiplier = 100, .time = 2, .kind = OMS_LEDGER_EXPIRY};
    is_int(oms_apply_fill(a, &e, err, sizeof err), OMS_OK, "expire worthless: buy 2 @ 0");
    ok(last(a)->kind == OMS_LEDGER_EXPIRY && last(a)->amount_cents == 0, "an expiry posting of 0.00");
    ok(p->qty == 0 && p->realized_st_cents == 25100, "flat, 251.00 realized");

    oms_fill g = {.symbol = "AAA", .qty = 1, .price = 3, .time = 3};
    is_int(oms_apply_fill(a, &g, err, sizeof err), OMS_OK, "multiplier 0 means 1");
    ok(oms_account_position(a, "AAA")->multiplier == 1 && last(a)->kind == OMS_LEDGER_FILL, "shares, a fill posting");
    int kinds[] = {OMS_LEDGER_ASSIGNMENT, OMS_LEDGER_EXERCISE, OMS_LEDGER_FILL};
    for (int i = 0; i < 3; i++) {
        g.kind = kinds[i];
        is_int(oms_apply_fill(a, &g, err, sizeof err), OMS_OK, "a fill may post as %s", oms_ledger_kind_name(kinds[i]));
    }
    int bad_kinds[] = {OMS_LEDGER_DEPOSIT, OMS_LEDGER_TRANSFER_IN, OMS_LEDGER_COMMISSION, OMS_LEDGER_DIVIDEND, -1, 42};
    for (int i = 0; i < 6; i++) {
        g.kind = bad_kinds[i];
        is_int(oms_apply_fill(a, &g, err, sizeof err), OMS_EINVAL, "a fill may not post as kind %d", bad_kinds[i]);
    }
    is_int(oms_account_check(a, err, sizeof err), OMS_OK, "the account checks out");
    oms_set_free(s);
}

static void test_fill_errors(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "acct", err, sizeof err);
    apply(a, "SPY", 10, 100, 1, 1);
    int64_t n = a->nledger, cash = a->cash_cents;
    oms_position *p = oms_account_position(a, "SPY");
    struct {
        oms_fill f;
        int want;
        const char *what, *says;
    } cases[] = {
        {{.symbol = NULL, .qty = 1, .price = 1}, OMS_EINVAL, "NULL symbol", "symbol"},
        {{.symbol = "", .qty = 1, .price = 1}, OMS_EINVAL, "empty symbol", "symbol"},
        {{.symbol = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", .qty = 1, .price = 1}, OMS_EINVAL, "32-char symbol", "symbol"},
        {{.symbol = "SPY", .qty = 0, .price = 1}, OMS_EINVAL, "qty 0", "qty 0"},
        {{.symbol = "SPY", .qty = NAN, .price = 1}, OMS_EINVAL, "qty NaN", "qty"},
        {{.symbol = "SPY", .qty = INFINITY, .price = 1}, OMS_EINVAL, "qty inf", "qty"},
        {{.symbol = "SPY", .qty = 1.5, .price = 1}, OMS_EINVAL, "qty 1.5", "qty 1.5"},
        {{.symbol = "SPY", .qty = 2e15, .price = 1e-9}, OMS_EINVAL, "qty 2e15", "qty"},
        {{.symbol = "SPY", .qty = 1, .price = -1}, OMS_EINVAL, "price -1", "price -1"},
        {{.symbol = "SPY", .qty = 1, .price = NAN}, OMS_EINVAL, "price NaN", "price"},
        {{.symbol = "SPY", .qty = 1, .price = INFINITY}, OMS_EINVAL, "price inf", "price"},
        {{.symbol = "SPY", .qty = 1, .price = 1, .multiplier = -100}, OMS_EINVAL, "multiplier -100", "multiplier"},
        {{.symbol = "SPY", .qty = 1, .price = 1, .multiplier = NAN}, OMS_EINVAL, "multiplier NaN", "multiplier"},
        {{.symbol = "SPY", .qty = 1, .price = 1, .commission = -1}, OMS_EINVAL, "commission -1", "commission"},
        {{.symbol = "SPY", .qty = 1, .price = 1, .commission = NAN}, OMS_EINVAL, "commission NaN", "commission"},
        {{.symbol = "SPY", .qty = 1, .price = 1, .commission = 1e12}, OMS_ERANGE, "commission 1e12", "commission"},
        {{.symbol = "SPY", .qty = 1, .price = 1, .time = OMS_TIME_MAX + 1}, OMS_EINVAL, "time past 9999", "time"},
        {{.symbol = "SPY", .qty = 1e9, .price = 1e3}, OMS_ERANGE, "value 1e12", "value"},
        {{.symbol = "NEW", .qty = 1e9, .price = 1e3}, OMS_ERANGE, "value 1e12 on a new symbol", "value"},
        {{.symbol = "SPY", .qty = 1e15, .price = 0}, OMS_ERANGE, "a position beyond 1e15", "beyond"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        is_int(oms_apply_fill(a, &cases[i].f, err, sizeof err), cases[i].want, "%s is refused", cases[i].what);
        ok(has(err, "'acct'") && has(err, cases[i].says), "  message names it: %s", err);
    }
    is_int(oms_apply_fill(a, NULL, err, sizeof err), OMS_EINVAL, "a NULL fill is refused");
    oms_fill ok_fill = fill("SPY", 1, 1, 0, 1);
    is_int(oms_apply_fill(NULL, &ok_fill, err, sizeof err), OMS_EINVAL, "a NULL account is refused");
    ok(a->nledger == n && a->cash_cents == cash && a->npositions == 1 && p->qty == 10 && p->nlots == 1,
       "refused fills changed nothing and created no position");
    ok(oms_account_position(a, "NEW") == NULL, "no position for the refused new symbol");
    oms_set_free(s);
}

/* ---- the short/long-term rule ---- */

static void term_case(int64_t open, int64_t close, int want_lt, const char *what)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "t", err, sizeof err);
    apply(a, "T", 1, 10, 0, open);
    apply(a, "T", -1, 11, 0, close);
    oms_position *p = oms_account_position(a, "T");
    ok(want_lt ? p->realized_lt_cents == 100 && p->realized_st_cents == 0
               : p->realized_st_cents == 100 && p->realized_lt_cents == 0,
       "%s: %s term", what, want_lt ? "long" : "short");
    oms_set_free(s);
}

static void test_term(void)
{
    /* 15:00 UTC is 10:00 or 11:00 in New York: the same date either way. */
    term_case(utc(2022, 3, 15, 15, 0), utc(2023, 3, 15, 15, 0), 0, "2022-03-15 -> 2023-03-15 (365 days)");
    term_case(utc(2022, 3, 15, 15, 0), utc(2023, 3, 16, 15, 0), 1, "2022-03-15 -> 2023-03-16 (366 days)");
    term_case(utc(2023, 3, 15, 15, 0), utc(2024, 3, 15, 15, 0), 0, "2023-03-15 -> 2024-03-15 (366 days over Feb 29)");
    term_case(utc(2023, 3, 15, 15, 0), utc(2024, 3, 16, 15, 0), 1, "2023-03-15 -> 2024-03-16");
    term_case(utc(2024, 2, 29, 15, 0), utc(2025, 2, 28, 15, 0), 0, "2024-02-29 -> 2025-02-28");
    term_case(utc(2024, 2, 29, 15, 0), utc(2025, 3, 1, 15, 0), 1, "2024-02-29 -> 2025-03-01");
    term_case(utc(2023, 1, 3, 15, 0), utc(2023, 1, 3, 20, 0), 0, "same day");
    term_case(utc(2023, 1, 3, 15, 0), utc(2022, 1, 3, 15, 0), 0, "closed before opened");
    /* New York dates, not UTC ones: 2023-03-16T03:30Z is 2023-03-15 23:30 in New York. */
    term_case(utc(2023, 3, 16, 3, 30), utc(2024, 3, 16, 2, 0), 0, "NY 2023-03-15 -> NY 2024-03-15 (UTC dates 03-16 -> 03-16)");
    term_case(utc(2023, 3, 16, 3, 30), utc(2024, 3, 16, 13, 0), 1, "NY 2023-03-15 -> NY 2024-03-16");
    term_case(utc(2023, 3, 15, 15, 0), utc(2024, 3, 16, 3, 59), 0, "NY 2024-03-15 23:59 is not after the anniversary");
    term_case(utc(2023, 3, 15, 15, 0), utc(2024, 3, 16, 4, 0), 1, "NY 2024-03-16 00:00 is");

    /* One sale across a long-term and a short-term lot splits. */
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "t", err, sizeof err);
    apply(a, "T", 10, 10, 0, utc(2020, 6, 1, 15, 0));
    apply(a, "T", 10, 20, 0, utc(2021, 1, 4, 15, 0));
    apply(a, "T", -15, 30, 0, utc(2021, 6, 2, 15, 0));
    oms_position *p = oms_account_position(a, "T");
    is_int(p->realized_lt_cents, 20000, "10 long-term units: +200.00");
    is_int(p->realized_st_cents, 5000, "5 short-term units: +50.00");
    oms_set_free(s);
}

/* ---- marking ---- */

typedef struct mark_table {
    const char *sym[4];
    double px[4];
    int n;
} mark_table;

static int mark_of(void *ud, const char *symbol, double *mark)
{
    const mark_table *m = ud;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->sym[i], symbol)) {
            *mark = m->px[i];
            return 0;
        }
    return -1;
}

static void test_marking(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "m", err, sizeof err);
    oms_deposit(a, 100000, 1, 0, err, sizeof err);
    apply(a, "AAA", 100, 50, 0, 2);
    apply(a, "BBB", -20, 10, 0, 2);
    oms_fill o = {.symbol = "OPT", .qty = 3, .price = 2.5, .multiplier = 100, .time = 2};
    oms_apply_fill(a, &o, err, sizeof err);
    apply(a, "FLAT", 5, 1, 0, 2);
    apply(a, "FLAT", -5, 2, 0, 2);
    /* cash 100000 - 5000 + 200 - 750 + 5 = 94455 */
    is_int(a->cash_cents, 9445500, "cash 94455.00");
    mark_table m = {{"AAA", "BBB", "OPT"}, {55, 12, 3}, 3};
    double e = 0;
    is_int(oms_account_equity(a, mark_of, &m, &e, err, sizeof err), OMS_OK, "equity with a callback");
    /* 94455 + 100 x 55 - 20 x 12 + 3 x 3 x 100 = 94455 + 5500 - 240 + 900 */
    ok(e == 100615, "equity 100615 (got %.17g)", e);
    double at[4] = {55, 12, 3, NAN}; /* FLAT is flat: its mark is not read */
    double e2 = 0;
    is_int(oms_account_equity_at(a, at, 4, &e2, err, sizeof err), OMS_OK, "equity with marks by position");
    ok(e2 == e, "the same equity");
    ok(oms_position_unrealized(oms_account_position(a, "AAA"), 55) == 500, "AAA unrealized +500");
    ok(oms_position_unrealized(oms_account_position(a, "BBB"), 12) == -40, "BBB unrealized -40");
    ok(oms_position_unrealized(oms_account_position(a, "OPT"), 3) == 150, "OPT unrealized +150");
    ok(oms_position_unrealized(oms_account_position(a, "FLAT"), 99) == 0, "a flat position has none");
    ok(oms_position_unrealized(NULL, 1) == 0 && oms_position_realized(NULL) == 0, "NULL positions have none");
    ok(oms_position_realized(oms_account_position(a, "FLAT")) == 5, "FLAT realized +5");

    m.n = 2;
    is_int(oms_account_equity(a, mark_of, &m, &e, err, sizeof err), OMS_EINVAL, "a missing mark is an error");
    ok(has(err, "OPT") && has(err, "'m'"), "naming the symbol: %s", err);
    m.n = 3;
    m.px[0] = NAN;
    is_int(oms_account_equity(a, mark_of, &m, &e, err, sizeof err), OMS_EINVAL, "a NaN mark is an error");
    at[1] = INFINITY;
    is_int(oms_account_equity_at(a, at, 4, &e, err, sizeof err), OMS_EINVAL, "an inf mark is an error");
    ok(has(err, "BBB"), "naming BBB: %s", err);
    is_int(oms_account_equity_at(a, at, 3, &e, err, sizeof err), OMS_EINVAL, "too few marks is an error");
    is_int(oms_account_equity(a, NULL, NULL, &e, err, sizeof err), OMS_EINVAL, "no callback is an error");
    is_int(oms_account_equity(NULL, mark_of, &m, &e, err, sizeof err), OMS_EINVAL, "no account is an error");
    is_int(oms_account_equity_at(NULL, at, 4, &e, err, sizeof err), OMS_EINVAL, "no account (by position)");

    oms_account *empty = oms_set_add(s, "empty", err, sizeof err);
    oms_deposit(empty, 5, 1, 0, err, sizeof err);
    ok(oms_account_equity_at(empty, NULL, 0, &e, err, sizeof err) == OMS_OK && e == 5,
       "an account without positions needs no marks");
    oms_set_free(s);
}

/* ---- fork and merge ---- */

static void test_fork_merge(void)
{
    oms_set *s = oms_set_new();
    oms_account *p = oms_set_add(s, "parent", err, sizeof err);
    oms_deposit(p, 10000, 1, 0, err, sizeof err);
    oms_account *c = oms_fork(p, "child", 3000, 2, 8, 0, err, sizeof err);
    ok(c != NULL && c->parent == p && oms_set_find(s, "child") == c, "fork a child with 3000");
    ok(p->cash_cents == 700000 && c->cash_cents == 300000, "parent 7000, child 3000");
    ok(last(p)->kind == OMS_LEDGER_TRANSFER_OUT && !strcmp(last(p)->symbol, "child") &&
           c->nledger == 1 && c->ledger[0].kind == OMS_LEDGER_TRANSFER_IN && !strcmp(c->ledger[0].symbol, "parent") &&
           c->ledger[0].ref == 8,
       "transfer postings on both");

    ok(oms_fork(p, "greedy", 7000.01, 2, 0, 0, err, sizeof err) == NULL, "forking more than the parent has fails");
    ok(has(err, "'parent'") && has(err, "7000.01"), "message: %s", err);
    ok(oms_set_find(s, "greedy") == NULL && p->cash_cents == 700000 && p->nledger == 2,
       "no child was created and the parent is unchanged");
    ok(oms_fork(p, "child", 1, 2, 0, 0, err, sizeof err) == NULL, "a taken name fails");
    ok(p->cash_cents == 700000 && p->nledger == 2 && s->naccounts == 2, "parent unchanged");
    ok(oms_fork(p, "", 1, 2, 0, 0, err, sizeof err) == NULL, "an empty name fails");
    ok(oms_fork(p, "x", NAN, 2, 0, 0, err, sizeof err) == NULL, "a NaN amount fails");
    ok(oms_fork(p, "x", -1, 2, 0, 0, err, sizeof err) == NULL, "a negative amount fails");
    ok(oms_fork(NULL, "x", 1, 2, 0, 0, err, sizeof err) == NULL, "a NULL parent fails");
    oms_account *z = oms_fork(p, "zero", 0, 2, 0, 0, err, sizeof err);
    ok(z && z->nledger == 0 && p->nledger == 2, "a fork with 0 posts nothing");

    apply(c, "SPY", 10, 100, 1, 3);
    is_int(oms_merge(c, 4, 0, err, sizeof err), OMS_ESTATE, "merging with an open position is refused");
    ok(has(err, "'child'") && has(err, "SPY"), "message: %s", err);
    oms_account *g = oms_fork(c, "grandchild", 100, 4, 0, 0, err, sizeof err);
    apply(c, "SPY", -10, 110, 1, 5);
    is_int(oms_merge(c, 6, 0, err, sizeof err), OMS_ESTATE, "merging with an open fork is refused");
    ok(has(err, "grandchild"), "message: %s", err);
    is_int(oms_merge(g, 6, 0, err, sizeof err), OMS_OK, "merge the grandchild first");
    ok(g->closed && g->cash_cents == 0, "the grandchild is closed and empty");
    /* child: 3000 - 1000 - 1 + 1100 - 1 = 3098 */
    is_int(c->cash_cents, 309800, "child cash 3098.00");
    is_int(oms_merge(c, 7, 9, err, sizeof err), OMS_OK, "merge the flat child");
    ok(c->closed && c->cash_cents == 0 && p->cash_cents == 700000 + 309800, "all its cash went back");
    ok(last(c)->kind == OMS_LEDGER_TRANSFER_OUT && last(p)->kind == OMS_LEDGER_TRANSFER_IN &&
           last(p)->amount_cents == 309800 && last(p)->ref == 9,
       "by a transfer");
    ok(oms_account_position(c, "SPY") && oms_account_position(c, "SPY")->realized_st_cents == 10000,
       "the child's flat position and its realized P&L stay readable");

    is_int(oms_deposit(c, 1, 8, 0, err, sizeof err), OMS_ESTATE, "a closed account refuses deposits");
    ok(has(err, "closed") && has(err, "'parent'"), "message: %s", err);
    is_int(apply(c, "SPY", 1, 1, 0, 8), OMS_ESTATE, "and fills");
    is_int(oms_transfer(p, c, 1, 8, 0, 0, err, sizeof err), OMS_ESTATE, "and transfers in");
    is_int(p->cash_cents, 700000 + 309800, "the refused transfer left the parent alone");
    ok(oms_fork(c, "again", 0, 8, 0, 0, err, sizeof err) == NULL, "and forks");
    is_int(oms_merge(c, 8, 0, err, sizeof err), OMS_ESTATE, "and a second merge");
    is_int(oms_merge(p, 8, 0, err, sizeof err), OMS_ESTATE, "an account never forked cannot merge");
    is_int(oms_merge(NULL, 8, 0, err, sizeof err), OMS_EINVAL, "a NULL account cannot merge");

    oms_account *n = oms_fork(p, "neg", 10, 9, 0, 0, err, sizeof err);
    oms_withdraw(n, 20, 9, 0, OMS_ALLOW_NEGATIVE, err, sizeof err);
    is_int(oms_merge(n, 9, 0, err, sizeof err), OMS_ESTATE, "merging negative cash is refused");
    is_int(oms_merge(z, 9, 0, err, sizeof err), OMS_OK, "merging an empty fork posts nothing");
    ok(z->closed && z->nledger == 0, "closed, no postings");
    for (int i = 0; i < s->naccounts; i++)
        ok(oms_account_check(s->accounts[i], err, sizeof err) == OMS_OK, "%s checks out", s->accounts[i]->name);
    oms_set_free(s);
}

/* ---- reserve: no allocation in the hot loop ---- */

static void test_reserve(void)
{
    oms_set *s = oms_set_new();
    oms_account *a = oms_set_add(s, "r", err, sizeof err);
    is_int(oms_account_reserve(a, 5000, 4), OMS_OK, "reserve 5000 postings and 4 positions");
    is_int(oms_account_reserve(a, -1, 0), OMS_EINVAL, "a negative reserve is refused");
    is_int(oms_account_reserve(NULL, 1, 0), OMS_EINVAL, "a NULL account is refused");
    apply(a, "SPY", 1, 1, 0, 1);
    oms_position *p = oms_account_position(a, "SPY");
    is_int(oms_position_reserve_lots(p, 16), OMS_OK, "reserve 16 lots");
    is_int(oms_position_reserve_lots(NULL, 1), OMS_EINVAL, "a NULL position is refused");
    const oms_posting *ledger = a->ledger;
    const oms_lot *lots = p->lots;
    oms_position *const *positions = a->positions;
    for (int i = 0; i < 2000; i++) { /* open and close in waves: the lots slide, never grow */
        apply(a, "SPY", (i / 10) % 2 ? -1 : 1, 10 + i % 7, 0.5, 2 + i);
        if (i % 100 == 0) apply(a, i % 200 ? "QQQ" : "IWM", 1, 5, 0, 2 + i);
    }
    ok(a->ledger == ledger && p->lots == lots && a->positions == positions,
       "4000+ postings and lots churning: no array moved");
    is_int(oms_account_check(a, err, sizeof err), OMS_OK, "the account checks out");
    oms_set_free(s);
}

/* ---- the long random run ---- */

#define NACC 3
#define NSYM 5

typedef struct model {
    int64_t seen[NACC];            /* postings summed so far */
    int64_t sum[NACC];             /* their sum */
    double qty[NACC][NSYM];        /* the test's own position sizes */
    int64_t fills_cash[NACC][NSYM];/* cash of the fills per symbol (commissions apart) */
} model;

static const char *const syms[NSYM] = {"SPY", "QQQ", "IWM", "SPY   250117C00500000", "TLT"};

static double rand_price(void)
{
    /* prices with 2 to 4 decimals: where half cents happen */
    double scale = (double[]){100, 1000, 10000}[rng() % 3];
    return (double)(1 + rng() % 5000000) / scale;
}

static void random_op(oms_set *s, oms_account **acc, model *m, int64_t t)
{
    int i = (int)(rng() % NACC), j = (int)(rng() % NACC);
    uint64_t op = rng() % 100;
    if (op < 5) {
        oms_deposit(acc[i], rand_price() * (double)(1 + rng() % 100), t, 0, NULL, 0);
    } else if (op < 10) {
        oms_withdraw(acc[i], rand_price(), t, 0, rng() % 4 == 0 ? OMS_ALLOW_NEGATIVE : 0, NULL, 0);
    } else if (op < 15) {
        oms_transfer(acc[i], acc[j], rand_price(), t, 0, rng() % 4 == 0 ? OMS_ALLOW_NEGATIVE : 0, NULL, 0);
    } else if (op < 17) {
        oms_post(acc[i], OMS_LEDGER_DIVIDEND, syms[rng() % NSYM], rand_price() - 100, t, 0, NULL, 0);
    } else if (op < 18) {
        /* bad input of every sort: must be refused and change nothing */
        oms_fill f = {.symbol = syms[0], .qty = (double[]){0, NAN, 1.5, -INFINITY}[rng() % 4], .price = 1, .time = t};
        oms_apply_fill(acc[i], &f, NULL, 0);
        oms_deposit(acc[i], -1, t, 0, NULL, 0);
    } else {
        int k = (int)(rng() % NSYM);
        double q = (double)(int64_t)(rng() % 41) - 20;
        if (q == 0) q = 1;
        oms_fill f = {.symbol = syms[k], .qty = q, .price = rand_price() / (k == 3 ? 100 : 1),
                      .multiplier = k == 3 ? 100 : 1, .commission = (double)(rng() % 300) / 100.0,
                      .time = t, .ref = t};
        if (oms_apply_fill(acc[i], &f, NULL, 0) == OMS_OK) {
            m->qty[i][k] += q;
            /* the fill posting is the one before a commission, or the last */
            const oms_account *a = acc[i];
            const oms_posting *p = &a->ledger[a->nledger - 1];
            if (p->kind == OMS_LEDGER_COMMISSION) p--;
            m->fills_cash[i][k] += p->amount_cents;
        }
    }
    (void)s;
}

static void test_random(void)
{
    oms_set *s = oms_set_new();
    oms_account *acc[NACC];
    model m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < NACC; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        acc[i] = oms_set_add(s, name, err, sizeof err);
        oms_deposit(acc[i], 1e6, 0, 0, err, sizeof err);
    }
    int64_t t = utc(2015, 1, 2, 15, 0);
    int bad_sum = 0, bad_double = 0, bad_qty = 0, bad_flat = 0, bad_equity = 0, bad_check = 0;
    for (int step = 0; step < 100000; step++) {
        t += (int64_t)(rng() % (4 * 86400)) * 1000000; /* ~ 550 years: plenty of long-term lots */
        if (t > utc(9000, 1, 1, 0, 0)) t = utc(2015, 1, 2, 15, 0);
        random_op(s, acc, &m, t);
        for (int i = 0; i < NACC; i++) { /* cash == sum of the ledger, exactly, after every op */
            const oms_account *a = acc[i];
            for (; m.seen[i] < a->nledger; m.seen[i]++) m.sum[i] += a->ledger[m.seen[i]].amount_cents;
            bad_sum += m.sum[i] != a->cash_cents;
            bad_double += oms_account_cash(a) != (double)m.sum[i] / 100.0;
        }
        if (step % 97 == 0) {
            for (int i = 0; i < NACC; i++) {
                double marks[NSYM], eq = 0, want = oms_account_cash(acc[i]);
                for (int k = 0; k < acc[i]->npositions; k++) {
                    const oms_position *p = acc[i]->positions[k];
                    int sym = 0;
                    while (strcmp(syms[sym], p->symbol)) sym++;
                    bad_qty += p->qty != m.qty[i][sym];
                    if (p->qty == 0) /* flat: all its fills' cash is realized, to the cent */
                        bad_flat += p->realized_st_cents + p->realized_lt_cents != m.fills_cash[i][sym];
                    marks[k] = rand_price();
                    want += p->qty * marks[k] * p->multiplier;
                }
                oms_account_equity_at(acc[i], marks, NSYM, &eq, NULL, 0);
                bad_equity += eq != want;
            }
        }
        if (step % 5000 == 0 || step == 99999)
            for (int i = 0; i < NACC; i++) bad_check += oms_account_check(acc[i], err, sizeof err) != OMS_OK;
    }
    is_int(bad_sum, 0, "cash == sum of ledger cents after each of 100k random operations");
    is_int(bad_double, 0, "and the double cash is that sum / 100");
    is_int(bad_qty, 0, "positions match the test's own count");
    is_int(bad_flat, 0, "flat positions realized exactly their fills' cash");
    is_int(bad_equity, 0, "equity == cash + sum q x mark x multiplier");
    is_int(bad_check, 0, "oms_account_check passes throughout");
    int64_t total = 0, lt = 0, st = 0;
    for (int i = 0; i < NACC; i++) {
        total += acc[i]->nledger;
        for (int k = 0; k < acc[i]->npositions; k++) {
            lt += acc[i]->positions[k]->realized_lt_cents != 0;
            st += acc[i]->positions[k]->realized_st_cents != 0;
        }
    }
    ok(total > 150000, "the run posted %lld entries", (long long)total);
    ok(lt > 0 && st > 0, "and realized both short- and long-term P&L");
    oms_set_free(s);
}

int main(void)
{
    test_kinds();
    test_rounding_table();
    test_rounding_half_cents();
    test_rounding_fast_vs_ref();
    test_cents_format();
    test_set();
    test_deposit_withdraw();
    test_post();
    test_transfer();
    test_fill_long();
    test_fill_short_and_flip();
    test_fill_cents_split();
    test_fill_options_and_kinds();
    test_fill_errors();
    test_term();
    test_marking();
    test_fork_merge();
    test_reserve();
    test_random();
    return done_testing();
}
