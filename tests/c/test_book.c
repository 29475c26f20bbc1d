/* test_book.c — oms/book: the run's order book.  Instruments and accounts, new orders
 * and their numbering (across the book's order chunks), accept / reject / cancel and the
 * cash, pending quantity and cover they hold, matching against bars (fills, a bar from
 * before the order, limits not reached, day expiry, ioc, the cash veto, partial fills)
 * and against option quotes, short puts and covered calls, round trips and closed
 * trades (through zero too), exposure, the event queue, the working counts and errors.
 *
 * Every expected number is worked out by hand from the fill rules (docs/fills.md) and
 * the accounting rules (docs/accounting.md); the comment next to each check shows the
 * arithmetic.  Money is compared in cents or exactly where the arithmetic is exact in
 * doubles, otherwise within 1e-9. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "oms/book.h"
#include "tap.h"

static char err[256];

/* err, emptied: pass E() as a call's err argument to see whether that call wrote one. */
static char *E(void)
{
    err[0] = 0;
    return err;
}

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fabs(b));
}

/* A failed call: status want and a message in err. */
static void fails(int rc, int want, const char *name)
{
    ok(rc == want && err[0] != 0, "%s: fails with %d and a message", name, want);
    if (rc != want || err[0] == 0) printf("#   got %d, err \"%s\"\n", rc, err);
}

/* A call that must succeed. */
static void succeeds(int rc, const char *name)
{
    ok(rc == OMS_OK, "%s", name);
    if (rc != OMS_OK) printf("#   got %d: %s\n", rc, err);
}

static void is_num(double got, double want, const char *name)
{
    ok(got == want, "%s", name);
    if (got != want) printf("#   got %.17g, expected %.17g\n", got, want);
}

static void is_near(double got, double want, const char *name)
{
    ok(near(got, want), "%s", name);
    if (!near(got, want)) printf("#   got %.17g, expected %.17g\n", got, want);
}

/* ---- fixtures ---- */

/* Equity commission: $0.01 a share, at least $1.00 an order.  Option commission:
 * $0.65 a contract, at least $1.00 an order. */
static const oms_commission EQ_COMM = {.kind = OMS_COMM_PER_SHARE, .rate = 0.01, .min_per_order = 1.0};
static const oms_commission OPT_COMM = {.kind = OMS_COMM_PER_CONTRACT, .rate = 0.65, .min_per_order = 1.0};

#define PUT_SYM "XYZ   240119P00100000"
#define CALL_SYM "XYZ   240119C00110000"

typedef struct fixture {
    oms_set *set;
    oms_account *a; /* "main", book account 1 */
    oms_book *b;
} fixture;

/* A set with account "main" holding cash, and a book for max instruments whose
 * instrument 1 is the equity XYZ. */
static void fx_open(fixture *f, int32_t max, const oms_fill_model *m, int margin, double cash)
{
    f->set = oms_set_new();
    f->a = oms_set_add(f->set, "main", err, sizeof err);
    if (cash > 0 && oms_deposit(f->a, cash, 0, 0, err, sizeof err) != OMS_OK) printf("# deposit: %s\n", err);
    f->b = oms_book_new(max, m, &EQ_COMM, &OPT_COMM, margin);
    if (oms_book_add_instrument(f->b, 1, "XYZ", 1, OMS_EQUITY, 0, 1, err, sizeof err) != OMS_OK)
        printf("# add XYZ: %s\n", err);
    if (oms_book_add_account(f->b, f->a, err, sizeof err) != 1) printf("# add account: %s\n", err);
}

static void fx_close(fixture *f)
{
    oms_book_free(f->b);
    oms_set_free(f->set);
}

static oms_bar bar_at(int64_t t, double o, double h, double l, double c, double v)
{
    oms_bar x = {.time = t, .open = o, .high = h, .low = l, .close = c, .volume = v};
    return x;
}

/* A new order (id "o<k>") of account acct in sid, in the symbol the book knows it by. */
static int32_t order_new(oms_book *b, int32_t acct, int32_t sid, int side, int type, int tif, double qty,
                         double limit, int64_t now)
{
    int32_t k = oms_book_new_order(b, acct, sid, NULL, b->inst[sid].symbol, side, type, tif, qty, limit, 0, now,
                                   err, sizeof err);
    if (k < 1) printf("# new order: %s\n", err);
    return k;
}

/* The same, accepted at now holding reserve dollars and cover shares. */
static int32_t order_accepted(oms_book *b, int32_t acct, int32_t sid, int side, int type, int tif, double qty,
                              double limit, int64_t now, double reserve, double cover, int64_t session_end)
{
    int32_t k = order_new(b, acct, sid, side, type, tif, qty, limit, now);
    if (k > 0 && oms_book_accept(b, k, reserve, cover, session_end, now, err, sizeof err) != OMS_OK)
        printf("# accept: %s\n", err);
    return k;
}

static int32_t match(oms_book *b, int32_t sid, oms_bar x)
{
    int32_t n = oms_book_match(b, sid, &x, 0, 0, 0, err, sizeof err);
    if (n < 0) printf("# match: %s\n", err);
    return n;
}

static int32_t match_quoted(oms_book *b, int32_t sid, int64_t t, double bid, double ask)
{
    oms_bar x = bar_at(t, 1, 1, 1, 1, 0); /* only its time counts for a quoted match */
    int32_t n = oms_book_match(b, sid, &x, 1, bid, ask, err, sizeof err);
    if (n < 0) printf("# match: %s\n", err);
    return n;
}

static double pos_qty(oms_book *b, int32_t acct, int32_t sid)
{
    const oms_position *p = oms_book_position(b, acct, sid);
    return p ? p->qty : 0;
}

static void account_checks(const oms_account *a, const char *name)
{
    ok(oms_account_check(a, err, sizeof err) == OMS_OK, "%s: the account's ledger and positions hold", name);
}

/* ---- 1. the book, its instruments and accounts ---- */

static void test_setup(void)
{
    ok(oms_book_new(0, NULL, NULL, NULL, 0) == NULL, "book_new: 0 instruments is refused");
    ok(oms_book_new(-1, NULL, NULL, NULL, 0) == NULL, "book_new: -1 instruments is refused");
    oms_book_free(NULL); /* a no-op, like free(NULL) */

    oms_book *b = oms_book_new(3, NULL, &EQ_COMM, &OPT_COMM, 0);
    ok(b != NULL, "book_new: 3 instruments");
    is_int(b->max_instruments, 3, "max_instruments");
    ok(b->comm.kind == OMS_COMM_PER_SHARE && b->comm.rate == 0.01 && b->opt_comm.rate == 0.65,
       "the commission models are copied");
    is_int(b->allow_margin, 0, "no margin");

    fails(oms_book_add_instrument(NULL, 1, "XYZ", 1, OMS_EQUITY, 0, 1, E(), sizeof err), OMS_EINVAL,
          "add_instrument: NULL book");
    fails(oms_book_add_instrument(b, 0, "XYZ", 0, OMS_EQUITY, 0, 1, E(), sizeof err), OMS_EINVAL,
          "add_instrument: sid 0");
    fails(oms_book_add_instrument(b, 4, "XYZ", 4, OMS_EQUITY, 0, 1, E(), sizeof err), OMS_EINVAL,
          "add_instrument: sid 4 > max 3");
    fails(oms_book_add_instrument(b, 1, NULL, 1, OMS_EQUITY, 0, 1, E(), sizeof err), OMS_EINVAL,
          "add_instrument: NULL symbol");
    /* 32 bytes do not fit OMS_NAME_MAX (32 with the NUL); 31 do (sid 3 below). */
    char sym32[33], sym31[32];
    memset(sym32, 'A', 32);
    sym32[32] = 0;
    memset(sym31, 'B', 31);
    sym31[31] = 0;
    fails(oms_book_add_instrument(b, 1, sym32, 1, OMS_EQUITY, 0, 1, E(), sizeof err), OMS_EINVAL,
          "add_instrument: a 32-byte symbol");
    fails(oms_book_add_instrument(b, 1, "XYZ", 2, OMS_EQUITY, 0, 1, E(), sizeof err), OMS_EINVAL,
          "add_instrument: an equity whose trigger is not itself");
    fails(oms_book_add_instrument(b, 2, PUT_SYM, 2, OMS_PUT, 100, 100, E(), sizeof err), OMS_EINVAL,
          "add_instrument: a put whose trigger is itself");
    fails(oms_book_add_instrument(b, 2, CALL_SYM, 2, OMS_CALL, 110, 100, E(), sizeof err), OMS_EINVAL,
          "add_instrument: a call whose trigger is itself");
    fails(oms_book_add_instrument(b, 2, PUT_SYM, 1, OMS_PUT, 100, 0, E(), sizeof err), OMS_EINVAL,
          "add_instrument: multiplier 0");
    fails(oms_book_add_instrument(b, 2, PUT_SYM, 1, OMS_PUT, 100, -100, E(), sizeof err), OMS_EINVAL,
          "add_instrument: multiplier -100");
    fails(oms_book_add_instrument(b, 2, PUT_SYM, 1, OMS_PUT, 100, NAN, E(), sizeof err), OMS_EINVAL,
          "add_instrument: multiplier NaN");
    fails(oms_book_add_instrument(b, 2, PUT_SYM, 1, 3, 100, 100, E(), sizeof err), OMS_EINVAL,
          "add_instrument: right 3 is no kind");
    fails(oms_book_add_instrument(b, 2, PUT_SYM, 4, OMS_PUT, 100, 100, E(), sizeof err), OMS_EINVAL,
          "add_instrument: trigger 4 > max 3");
    ok(b->inst[1].symbol[0] == 0 && b->inst[2].symbol[0] == 0 && b->inst[2].multiplier == 0,
       "failed add_instrument calls changed nothing");

    succeeds(oms_book_add_instrument(b, 1, "XYZ", 1, OMS_EQUITY, 0, 1, E(), sizeof err), "add_instrument: XYZ");
    succeeds(oms_book_add_instrument(b, 2, PUT_SYM, 1, OMS_PUT, 100, 100, E(), sizeof err),
             "add_instrument: a put on 1");
    succeeds(oms_book_add_instrument(b, 3, sym31, 3, OMS_EQUITY, 0, 1, E(), sizeof err),
             "add_instrument: a 31-byte symbol fits");
    is_str(b->inst[1].symbol, "XYZ", "inst 1 symbol");
    ok(b->inst[2].trigger == 1 && b->inst[2].right == OMS_PUT && b->inst[2].strike == 100 &&
           b->inst[2].multiplier == 100,
       "inst 2: trigger 1, put, strike 100, multiplier 100");
    is_str(b->inst[3].symbol, sym31, "inst 3 symbol");
    fails(oms_book_add_instrument(b, 1, "ABC", 1, OMS_EQUITY, 0, 1, E(), sizeof err), OMS_EEXIST,
          "add_instrument: sid 1 twice");
    is_str(b->inst[1].symbol, "XYZ", "the second add of sid 1 changed nothing");

    /* Instruments are numbered without gaps, and an option's underlying comes first:
     * oms_book_working and the matching walk rely on it. */
    oms_book *g = oms_book_new(5, NULL, NULL, NULL, 0);
    fails(oms_book_add_instrument(g, 1, PUT_SYM, 2, OMS_PUT, 100, 100, E(), sizeof err), OMS_EINVAL,
          "add_instrument: a put whose underlying 2 is not added");
    succeeds(oms_book_add_instrument(g, 1, "XYZ", 1, OMS_EQUITY, 0, 1, E(), sizeof err), "gap book: XYZ is 1");
    fails(oms_book_add_instrument(g, 3, "ABC", 3, OMS_EQUITY, 0, 1, E(), sizeof err), OMS_EINVAL,
          "add_instrument: 3 before 2 leaves a gap");
    ok(strstr(err, "gap") != NULL, "the message says it leaves a gap: %s", err);
    /* An order for a number that is in range but not an instrument cannot be accepted
     * (it would never meet a bar it can fill on). */
    oms_set *gs = oms_set_new();
    oms_book_add_account(g, oms_set_add(gs, "main", err, sizeof err), err, sizeof err);
    int32_t gk = oms_book_new_order(g, 1, 2, NULL, "DEF", OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 40, 0, 0, err, sizeof err);
    ok(gk == 1, "an order for sid 2 (not added) is recorded, to be rejected");
    fails(oms_book_accept(g, gk, 400, 0, OMS_BOOK_NEVER, 0, E(), sizeof err), OMS_EINVAL,
          "accept: an instrument that was never added");
    ok(g->acct[1].reserved == 0 && g->nwork[2] == 0 && g->nwork[0] == 0, "the refused accept reserved nothing");
    oms_book_free(g);
    oms_set_free(gs);

    oms_set *set = oms_set_new();
    oms_account *a1 = oms_set_add(set, "main", err, sizeof err);
    oms_account *a2 = oms_set_add(set, "main/1", err, sizeof err);
    fails(oms_book_add_account(NULL, a1, E(), sizeof err), OMS_EINVAL, "add_account: NULL book");
    fails(oms_book_add_account(b, NULL, E(), sizeof err), OMS_EINVAL, "add_account: NULL account");
    is_int(b->naccounts, 0, "failed add_account calls added nothing");
    is_int(oms_book_add_account(b, a1, err, sizeof err), 1, "add_account: the first is 1");
    is_int(oms_book_add_account(b, a2, err, sizeof err), 2, "add_account: the second is 2");
    is_int(b->naccounts, 2, "naccounts 2");
    ok(b->acct[1].acct == a1 && b->acct[2].acct == a2, "acct[i].acct is the account (not copied)");
    ok(b->acct[1].reserved == 0 && b->acct[1].nopen == 0 && b->acct[1].nslots == 0, "a new account holds nothing");
    oms_book_free(b);
    oms_set_free(set);
}

/* ---- 2. new orders and their numbers ---- */

static void test_new_orders(void)
{
    fixture f;
    fx_open(&f, 2, NULL, 0, 100000);
    oms_book *b = f.b;

    fails(oms_book_new_order(b, 0, 1, NULL, "XYZ", OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 1000, E(), sizeof err),
          OMS_EINVAL, "new_order: account 0");
    fails(oms_book_new_order(b, 2, 1, NULL, "XYZ", OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 1000, E(), sizeof err),
          OMS_EINVAL, "new_order: account 2 of 1");
    fails(oms_book_new_order(b, 1, 3, NULL, "XYZ", OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 1000, E(), sizeof err),
          OMS_EINVAL, "new_order: sid 3 > max 2");
    fails(oms_book_new_order(b, 1, 1, NULL, NULL, OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 0, 1000, E(), sizeof err),
          OMS_EINVAL, "new_order: NULL symbol");
    fails(oms_book_new_order(b, 1, 1, "an-id-that-is-far-too-long-for-the-48-byte-id-field", "XYZ", OMS_BUY,
                             OMS_MARKET, OMS_DAY, 10, 0, 0, 1000, E(), sizeof err),
          OMS_EINVAL, "new_order: an id of 51 bytes");
    is_int(b->norders, 0, "failed new orders are not counted");

    int32_t k1 = order_new(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_DAY, 10, 0, 1000);
    int32_t k2 = order_new(b, 1, 1, OMS_SELL, OMS_LIMIT, OMS_GTC, 5, 55, 1001);
    int32_t k3 = oms_book_new_order(b, 1, 1, "mine", "XYZ", OMS_BUY, OMS_LIMIT, OMS_GTC, 7, 45, 0, 1002, err,
                                    sizeof err);
    int32_t k4 = oms_book_new_order(b, 1, 0, NULL, "NOPE", OMS_BUY, OMS_MARKET, OMS_DAY, 1, 0, 0, 1003, err,
                                    sizeof err);
    ok(k1 == 1 && k2 == 2 && k3 == 3 && k4 == 4, "orders are numbered 1, 2, 3, 4");
    is_int(b->norders, 4, "norders 4");
    oms_order *o1 = oms_book_order(b, k1);
    oms_order_x *x1 = oms_book_order_x(b, k1);
    is_str(o1->id, "o1", "auto id o1");
    is_str(oms_book_order(b, k2)->id, "o2", "auto id o2");
    is_int(x1->auto_id, 1, "o1: auto_id 1");
    is_str(oms_book_order(b, k3)->id, "mine", "an explicit id is kept");
    is_int(oms_book_order_x(b, k3)->auto_id, 0, "explicit id: auto_id 0");
    is_str(o1->account, "main", "the account name is copied from the oms_account");
    is_str(o1->symbol, "XYZ", "symbol");
    is_int(o1->status, OMS_NEW, "status new");
    ok(o1->side == OMS_BUY && o1->type == OMS_MARKET && o1->tif == OMS_DAY && o1->qty == 10 && o1->created == 1000,
       "o1: side, type, tif, qty, created as given");
    ok(oms_book_order(b, k2)->limit_price == 55, "o2: limit price 55");
    ok(x1->account == 1 && x1->sid == 1 && x1->working == 0 && x1->session_end == OMS_BOOK_NEVER &&
           x1->reserve == 0 && x1->open == 0,
       "o1's x: account 1, sid 1, not working, session_end never, nothing held");
    ok(oms_book_order_x(b, k4)->sid == 0, "an unknown symbol's order has sid 0");
    is_str(oms_book_order(b, k4)->symbol, "NOPE", "and keeps its symbol");
    fails(oms_book_accept(b, k4, 0, 0, OMS_BOOK_NEVER, 1003, E(), sizeof err), OMS_EINVAL,
          "accept: an order of sid 0");
    is_int(oms_book_order(b, k4)->status, OMS_NEW, "the failed accept left it new");

    ok(oms_book_order(b, 0) == NULL && oms_book_order_x(b, 0) == NULL, "order 0 is NULL");
    ok(oms_book_order(b, 5) == NULL && oms_book_order_x(b, 5) == NULL, "order norders + 1 is NULL");
    ok(oms_book_order(b, -1) == NULL && oms_book_order(NULL, 1) == NULL, "order -1 and a NULL book: NULL");
    ok(oms_book_trade(b, 0) == NULL && oms_book_trade(b, 1) == NULL, "no trades yet");

    /* 8300 orders.  The book keeps them in fixed chunks whose size is its own business
     * (1024 orders, then 8192): 8300 cross both boundaries, and pointers taken before a
     * new chunk is made must stay valid. */
    oms_order *o1023 = NULL, *o8191 = NULL;
    for (int32_t k = 5; k <= 8300; k++) {
        int32_t got = order_new(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 1, 10, 2000 + k);
        if (got != k) {
            ok(0, "order %d numbered %d", k, got);
            break;
        }
        if (k == 1023) o1023 = oms_book_order(b, k);
        if (k == 8191) o8191 = oms_book_order(b, k);
    }
    is_int(b->norders, 8300, "8300 orders");
    ok(oms_book_order(b, 1) == o1, "order 1's pointer did not move");
    ok(oms_book_order_x(b, 1) == x1, "order 1's x pointer did not move");
    ok(oms_book_order(b, 1023) == o1023, "order 1023's pointer did not move");
    ok(oms_book_order(b, 8191) == o8191, "order 8191's pointer did not move");
    is_str(oms_book_order(b, 1)->id, "o1", "order 1 is still o1");
    is_str(oms_book_order(b, 1023)->id, "o1023", "o1023");
    is_str(oms_book_order(b, 1024)->id, "o1024", "o1024");
    is_str(oms_book_order(b, 1025)->id, "o1025", "o1025");
    is_int(oms_book_order(b, 1025)->created, 2000 + 1025, "o1025 created at 3025");
    is_str(oms_book_order(b, 8191)->id, "o8191", "o8191");
    is_str(oms_book_order(b, 8192)->id, "o8192", "o8192");
    is_str(oms_book_order(b, 8193)->id, "o8193", "o8193");
    is_int(oms_book_order(b, 8193)->created, 2000 + 8193, "o8193 created at 10193");
    is_str(oms_book_order(b, 8300)->id, "o8300", "o8300");
    ok(oms_book_order_x(b, 8300)->auto_id == 1 && oms_book_order_x(b, 8300)->account == 1, "o8300's x");
    int ids_ok = 1;
    char want[24];
    for (int32_t k = 5; k <= 8300; k++) {
        snprintf(want, sizeof want, "o%d", (int)k);
        if (strcmp(oms_book_order(b, k)->id, want) != 0 || oms_book_order_x(b, k)->sid != 1) ids_ok = 0;
    }
    ok(ids_ok, "orders 5..8300 are o5..o8300 of sid 1");
    ok(oms_book_order(b, 8301) == NULL && oms_book_order_x(b, 8301) == NULL, "order 8301 is NULL");
    /* Accept orders on each side of both boundaries: the list holds numbers, not pointers. */
    const int32_t ks[4] = {1023, 1025, 8191, 8193};
    for (int i = 0; i < 4; i++) {
        if (oms_book_accept(b, ks[i], 10, 0, OMS_BOOK_NEVER, 20000, E(), sizeof err) != OMS_OK)
            printf("# accept o%d: %s\n", (int)ks[i], err);
    }
    ok(b->inst[1].nlist == 4 && b->inst[1].work[0] == 1023 && b->inst[1].work[1] == 1025 &&
           b->inst[1].work[2] == 8191 && b->inst[1].work[3] == 8193,
       "the working list is 1023, 1025, 8191, 8193");
    /* A limit buy at 10 on a bar with low 9 fills each at min(open 11, 10) = 10. */
    is_int(match(b, 1, bar_at(20000, 11, 12, 9, 11, 1e6)), 0, "a bar fills all four");
    ok(oms_book_order(b, 1023)->status == OMS_FILLED && oms_book_order(b, 1025)->status == OMS_FILLED &&
           oms_book_order(b, 8191)->status == OMS_FILLED && oms_book_order(b, 8193)->status == OMS_FILLED,
       "o1023, o1025, o8191 and o8193 filled");
    /* Each: 1 share x 10 = 10 of cash, commission max(0.01, 1.00) = 1.00; together
     * 100000 - 4 x 11 = 99956. */
    is_int(f.a->cash_cents, 9995600, "cash 99956.00");
    is_num(pos_qty(b, 1, 1), 4, "position 4");
    fx_close(&f);
}

/* ---- 3. accept and reject ---- */

static void test_accept_reject(void)
{
    fixture f;
    fx_open(&f, 2, NULL, 0, 100000);
    oms_book *b = f.b;
    int32_t k = order_new(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 10, 0, 1000);
    fails(oms_book_accept(b, k, -1, 0, OMS_BOOK_NEVER, 1000, E(), sizeof err), OMS_EINVAL, "accept: reserve -1");
    fails(oms_book_accept(b, k, NAN, 0, OMS_BOOK_NEVER, 1000, E(), sizeof err), OMS_EINVAL, "accept: reserve NaN");
    fails(oms_book_accept(b, k, 0, -1, OMS_BOOK_NEVER, 1000, E(), sizeof err), OMS_EINVAL, "accept: cover -1");
    fails(oms_book_accept(b, 0, 0, 0, OMS_BOOK_NEVER, 1000, E(), sizeof err), OMS_EINVAL, "accept: order 0");
    fails(oms_book_accept(b, 2, 0, 0, OMS_BOOK_NEVER, 1000, E(), sizeof err), OMS_EINVAL, "accept: order 2 of 1");
    ok(oms_book_order(b, k)->status == OMS_NEW && b->acct[1].reserved == 0 && b->nwork[1] == 0 &&
           b->inst[1].nlist == 0,
       "failed accepts changed nothing");

    succeeds(oms_book_accept(b, k, 1000, 0, OMS_BOOK_NEVER, 1100, E(), sizeof err), "accept a buy of 10, reserve 1000");
    oms_order *o = oms_book_order(b, k);
    oms_order_x *x = oms_book_order_x(b, k);
    is_int(o->status, OMS_ACCEPTED, "status accepted");
    is_int(o->updated, 1100, "updated at the accept's time");
    is_num(b->acct[1].reserved, 1000, "acct reserved 1000");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 10, "pending buy 10");
    is_num(oms_book_pending(b, 1, 1, OMS_SELL), 0, "pending sell 0");
    is_int(b->nwork[1], 1, "nwork[1] 1");
    is_int(b->inst[1].nlist, 1, "inst[1].nlist 1");
    is_int(b->inst[1].work[0], k, "the order is on the list");
    ok(x->working == 1 && x->reserve == 1000 && x->open == 10 && x->cover == 0 && x->session_end == OMS_BOOK_NEVER,
       "x: working, reserve 1000, open 10, no cover, never ends");
    is_int(oms_book_working(b, 1), 1, "one working order");

    /* Accepting again is a state error that changes nothing. */
    fails(oms_book_accept(b, k, 500, 0, OMS_BOOK_NEVER, 1200, E(), sizeof err), OMS_ESTATE, "accept twice");
    ok(b->acct[1].reserved == 1000 && oms_book_pending(b, 1, 1, OMS_BUY) == 10 && b->nwork[1] == 1 &&
           b->inst[1].nlist == 1 && x->reserve == 1000,
       "the second accept changed nothing");

    /* Reject. */
    int32_t r = order_new(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 3, 0, 1300);
    succeeds(oms_book_reject(b, r, "limit price must be a finite number > 0", 1300, E(), sizeof err), "reject");
    is_int(oms_book_order(b, r)->status, OMS_REJECTED, "status rejected");
    is_str(oms_book_order(b, r)->reason, "limit price must be a finite number > 0", "the reason is kept");
    ok(b->acct[1].reserved == 1000 && b->nwork[1] == 1 && b->inst[1].nlist == 1, "a reject holds nothing");
    fails(oms_book_reject(b, r, "again", 1400, E(), sizeof err), OMS_ESTATE, "reject twice");
    is_str(oms_book_order(b, r)->reason, "limit price must be a finite number > 0", "the reason is unchanged");
    fails(oms_book_reject(b, k, "too late", 1400, E(), sizeof err), OMS_ESTATE, "reject an accepted order");
    is_int(o->status, OMS_ACCEPTED, "it stays accepted");
    fails(oms_book_reject(b, 99, "x", 1400, E(), sizeof err), OMS_EINVAL, "reject: no order 99");
    fails(oms_book_accept(b, r, 0, 0, OMS_BOOK_NEVER, 1400, E(), sizeof err), OMS_ESTATE, "accept a rejected order");
    is_int(b->nwork[1], 1, "still one working");
    /* An order of sid 0 (a symbol the run does not know) can be rejected. */
    int32_t u = oms_book_new_order(b, 1, 0, NULL, "NOPE", OMS_BUY, OMS_MARKET, OMS_DAY, 1, 0, 0, 1500, err,
                                   sizeof err);
    succeeds(oms_book_reject(b, u, "unknown symbol NOPE", 1500, E(), sizeof err), "reject an order of sid 0");
    is_int(oms_book_order(b, u)->status, OMS_REJECTED, "rejected");
    fx_close(&f);
}

/* ---- 4. an equity round trip ---- */

static void test_equity_round_trip(void)
{
    fixture f;
    fx_open(&f, 1, NULL, 0, 100000);
    oms_book *b = f.b;

    int32_t k1 = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 10, 0, 1000, 1000, 0, OMS_BOOK_NEVER);
    b->barcount[1] = 3; /* 3 bars seen before the fill bar (the engine adds 1 after it) */
    b->event = 5;
    is_int(match(b, 1, bar_at(2000, 50, 52, 49, 51, 1e6)), 0, "the buy's bar: nothing left working");
    oms_order *o1 = oms_book_order(b, k1);
    is_int(o1->status, OMS_FILLED, "the market buy filled");
    ok(o1->filled_qty == 10 && o1->avg_price == 50, "10 at the next bar's open, 50");
    /* Cash: 100000 - 10 x 50 - commission max(10 x 0.01, 1.00) = 100000 - 500 - 1 = 99499. */
    is_int(f.a->cash_cents, 9949900, "cash 99499.00 (-500 fill, -1.00 commission)");
    oms_position *p = oms_book_position(b, 1, 1);
    ok(p != NULL, "a position exists");
    is_num(p ? p->qty : 0, 10, "position 10");
    ok(p == oms_account_position(f.a, "XYZ"), "it is the account's position");
    is_num(b->acct[1].reserved, 0, "the reservation is released");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 0, "pending buy 0");
    ok(b->nwork[1] == 0 && b->inst[1].nlist == 0 && oms_book_order_x(b, k1)->working == 0, "off the list");
    ok(oms_book_order_x(b, k1)->open == 0 && oms_book_order_x(b, k1)->reserve == 0, "x holds nothing");
    is_int(b->nfills, 1, "nfills 1");
    is_int(b->commissions_cents, 100, "book commissions 1.00");
    is_int(b->acct[1].commissions_cents, 100, "account commissions 1.00");
    ok(b->nopen == 1 && b->acct[1].nopen == 1, "a round trip is open (book and account)");
    is_int(b->ntrades, 0, "no trade closed yet");
    is_num(b->fill_time, 2000, "fill_time is the bar's time");
    is_num(b->exposed_since, 5, "exposed since event 5");

    b->barcount[1] = 8; /* 5 more bars */
    b->event = 12;
    int32_t k2 = order_accepted(b, 1, 1, OMS_SELL, OMS_MARKET, OMS_GTC, 10, 0, 3000, 0, 0, OMS_BOOK_NEVER);
    is_num(oms_book_pending(b, 1, 1, OMS_SELL), 10, "pending sell 10");
    is_num(b->acct[1].reserved, 0, "a sell reserves no cash here");
    is_int(match(b, 1, bar_at(4000, 55, 56, 54, 55.5, 1e6)), 0, "the sell's bar");
    is_int(oms_book_order(b, k2)->status, OMS_FILLED, "the market sell filled at 55");
    /* Cash: 99499 + 10 x 55 - 1.00 = 100048. */
    is_int(f.a->cash_cents, 10004800, "cash 100048.00");
    is_num(pos_qty(b, 1, 1), 0, "flat");
    is_num(oms_book_pending(b, 1, 1, OMS_SELL), 0, "pending sell 0");
    is_int(b->nfills, 2, "nfills 2");
    is_int(b->commissions_cents, 200, "book commissions 2.00");
    is_int(b->acct[1].commissions_cents, 200, "account commissions 2.00");
    is_int(b->ntrades, 1, "one trade");
    ok(b->nopen == 0 && b->acct[1].nopen == 0, "no trip open");
    /* Exposure: open at event 5, closed at event 12: 7 events. */
    is_num(b->exposed, 7, "book exposed 7 events");
    is_num(b->acct[1].exposed, 7, "account exposed 7 events");
    oms_trade *t = oms_book_trade(b, 1);
    ok(t != NULL, "trade 1");
    if (t) {
        ok(t->account == 1 && t->sid == 1 && t->side == 1, "trade: account 1, sid 1, long");
        is_num(t->qty, 10, "trade qty 10");
        is_num(t->entry_time, 2000, "entry time 2000");
        is_num(t->entry_price, 50, "entry price 50");
        is_num(t->exit_time, 4000, "exit time 4000");
        is_num(t->exit_price, 55, "exit price 55");
        is_num(t->bars, 5, "bars 8 - 3 = 5");
        is_num(t->gross, 50, "gross 550 - 500 = 50");
        is_num(t->commission, 2, "commission 1.00 + 1.00 = 2");
        is_num(t->pnl, 48, "pnl 50 - 2 = 48");
    }
    ok(oms_book_trade(b, 2) == NULL, "trade 2 is NULL");
    /* The account's own view agrees: realized 50 gross, commissions 2. */
    ok(p && p->realized_st_cents == 5000 && p->commission_cents == 200, "the position realized 50.00, paid 2.00");
    account_checks(f.a, "round trip");
    fx_close(&f);
}

/* ---- 5. bars that do nothing; ioc ---- */

static void test_no_fill(void)
{
    fixture f;
    fx_open(&f, 1, NULL, 0, 100000);
    oms_book *b = f.b;
    int32_t km = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 10, 0, 1000, 600, 0, OMS_BOOK_NEVER);
    int32_t kl = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 40, 1000, 400, 0, OMS_BOOK_NEVER);
    is_num(b->acct[1].reserved, 1000, "reserved 600 + 400 = 1000");

    /* A bar that opened at 999, before the orders were created at 1000. */
    is_int(match(b, 1, bar_at(999, 30, 31, 29, 30, 1e6)), 2, "a bar from before the orders: both still work");
    ok(oms_book_order(b, km)->status == OMS_ACCEPTED && oms_book_order(b, km)->filled_qty == 0,
       "the market buy did not fill on the earlier bar");
    ok(oms_book_order(b, kl)->status == OMS_ACCEPTED, "nor the limit buy, though the low 29 is below 40");
    ok(b->nfills == 0 && f.a->cash_cents == 10000000 && oms_book_position(b, 1, 1) == NULL,
       "no fill, cash unchanged, no position");
    ok(b->nwork[1] == 2 && b->acct[1].reserved == 1000, "both still listed and reserved");

    /* Low 45 > limit 40: the limit does not fill; the market fills at the open 50. */
    is_int(match(b, 1, bar_at(2000, 50, 52, 45, 51, 1e6)), 1, "one still works");
    is_int(oms_book_order(b, km)->status, OMS_FILLED, "the market buy filled");
    is_int(oms_book_order(b, kl)->status, OMS_ACCEPTED, "the limit buy below the low stays accepted");
    ok(oms_book_order_x(b, kl)->working == 1 && b->inst[1].nlist == 1 && b->inst[1].work[0] == kl && b->nwork[1] == 1,
       "the limit buy is the one left on the list");
    is_num(b->acct[1].reserved, 400, "its 400 is still reserved");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 10, "pending buy 10 (the limit's)");

    /* An ioc limit buy at 40 whose bar's low is 45: nothing fills, the rest is canceled. */
    int32_t ki = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_IOC, 5, 40, 3000, 200, 0, OMS_BOOK_NEVER);
    is_num(b->acct[1].reserved, 600, "reserved 400 + 200");
    is_int(match(b, 1, bar_at(4000, 50, 52, 45, 51, 1e6)), 1, "the ioc leaves, the gtc limit stays");
    is_int(oms_book_order(b, ki)->status, OMS_CANCELED, "ioc canceled");
    is_str(oms_book_order(b, ki)->reason, "ioc: the unfilled rest is canceled", "ioc reason");
    is_num(b->acct[1].reserved, 400, "its 200 released");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 10, "pending buy back to 10");
    is_int(b->nwork[1], 1, "nwork 1");
    fx_close(&f);
}

/* ---- 6. day orders expire ---- */

static void test_day_expiry(void)
{
    fixture f;
    fx_open(&f, 1, NULL, 0, 100000);
    oms_book *b = f.b;
    int32_t kd = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_DAY, 10, 40, 1000, 400, 0, 5000);
    int32_t kg = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 20, 1000, 200, 0, OMS_BOOK_NEVER);
    is_num(oms_book_order_x(b, kd)->session_end, 5000, "the day order's session ends at 5000");
    is_int(match(b, 1, bar_at(4999, 50, 52, 45, 51, 1e6)), 2, "a bar at 4999 is still in the session");
    is_int(oms_book_order(b, kd)->status, OMS_ACCEPTED, "the day order works");
    /* The bar at 5000 would fill the limit at 40 (low 30), but the session is over. */
    is_int(match(b, 1, bar_at(5000, 50, 52, 30, 51, 1e6)), 1, "the bar at 5000: only the gtc order still works");
    oms_order *o = oms_book_order(b, kd);
    is_int(o->status, OMS_EXPIRED, "the day order expired");
    is_str(o->reason, "day order expired at the end of its session", "expiry reason");
    is_int(o->updated, 5000, "expired at the bar's time");
    ok(o->filled_qty == 0 && b->nfills == 0 && f.a->cash_cents == 10000000, "nothing filled");
    is_num(b->acct[1].reserved, 200, "its 400 released, the gtc's 200 stays");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 10, "pending buy 20 - 10 = 10");
    ok(b->inst[1].nlist == 1 && b->inst[1].work[0] == kg && b->nwork[1] == 1, "the day order is off the list");
    ok(oms_book_order_x(b, kd)->working == 0 && oms_book_order_x(b, kd)->reserve == 0, "its x holds nothing");
    is_int(oms_book_order(b, kg)->status, OMS_ACCEPTED, "the gtc order (low 30 > 20) still works");
    fx_close(&f);
}

/* ---- 7. cancel ---- */

static void test_cancel(void)
{
    fixture f;
    fx_open(&f, 1, NULL, 0, 100000);
    oms_book *b = f.b;
    int32_t k1 = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 40, 1000, 400, 0, OMS_BOOK_NEVER);
    int32_t k2 = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 5, 30, 1000, 150, 0, OMS_BOOK_NEVER);
    int32_t k3 = order_accepted(b, 1, 1, OMS_SELL, OMS_LIMIT, OMS_GTC, 3, 90, 1000, 0, 0, OMS_BOOK_NEVER);
    ok(b->acct[1].reserved == 550 && oms_book_pending(b, 1, 1, OMS_BUY) == 15 && b->nwork[1] == 3,
       "reserved 400 + 150 = 550, pending buy 10 + 5 = 15, 3 working");

    succeeds(oms_book_cancel(b, k1, "changed my mind", 1500, E(), sizeof err), "cancel o1");
    oms_order *o = oms_book_order(b, k1);
    is_int(o->status, OMS_CANCELED, "status canceled");
    is_str(o->reason, "changed my mind", "cancel reason");
    is_num(b->acct[1].reserved, 150, "reserved 550 - 400 = 150");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 5, "pending buy 15 - 10 = 5");
    is_num(oms_book_pending(b, 1, 1, OMS_SELL), 3, "pending sell 3 unchanged");
    ok(b->nwork[1] == 2 && b->inst[1].nlist == 2 && b->inst[1].work[0] == k2 && b->inst[1].work[1] == k3,
       "the list is o2, o3 in acceptance order");
    ok(oms_book_order_x(b, k1)->working == 0 && oms_book_order_x(b, k1)->reserve == 0 &&
           oms_book_order_x(b, k1)->open == 0,
       "o1's x holds nothing");

    fails(oms_book_cancel(b, k1, "again", 1600, E(), sizeof err), OMS_ESTATE, "cancel o1 again");
    ok(b->acct[1].reserved == 150 && oms_book_pending(b, 1, 1, OMS_BUY) == 5 && b->nwork[1] == 2 &&
           b->inst[1].nlist == 2,
       "the second cancel changed nothing");
    is_str(o->reason, "changed my mind", "the reason is unchanged");
    is_int(o->updated, 1500, "nor its time");
    fails(oms_book_cancel(b, 0, "x", 1600, E(), sizeof err), OMS_EINVAL, "cancel order 0");
    fails(oms_book_cancel(b, 4, "x", 1600, E(), sizeof err), OMS_EINVAL, "cancel order 4 of 3");
    int32_t kn = order_new(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 1, 0, 1700);
    fails(oms_book_cancel(b, kn, "x", 1700, E(), sizeof err), OMS_ESTATE, "cancel a new order (reject it instead)");

    /* Cancel the sell (the last on the list) and the other buy: everything released. */
    succeeds(oms_book_cancel(b, k3, NULL, 1800, E(), sizeof err), "cancel o3 with no reason");
    is_str(oms_book_order(b, k3)->reason, "", "a NULL reason is \"\"");
    succeeds(oms_book_cancel(b, k2, "bye", 1800, E(), sizeof err), "cancel o2");
    ok(b->acct[1].reserved == 0 && oms_book_pending(b, 1, 1, OMS_BUY) == 0 && oms_book_pending(b, 1, 1, OMS_SELL) == 0,
       "nothing reserved or pending");
    ok(b->nwork[1] == 0 && b->inst[1].nlist == 0 && oms_book_working(b, 0) == 0, "nothing working");
    fx_close(&f);
}

/* ---- 8. the cash veto ---- */

static void test_cash_veto(void)
{
    fixture f;
    fx_open(&f, 1, NULL, 0, 1000);
    oms_book *b = f.b;
    int32_t k = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 100, 0, 1000, 500, 0, OMS_BOOK_NEVER);
    /* Cost at the open 50: 100 x 50 = 5000, commission max(100 x 0.01, 1.00) = 1.00:
     * 5001.00 needed; available: cash 1000 - (reserved 500 - its own 500) = 1000. */
    is_int(match(b, 1, bar_at(2000, 50, 51, 49, 50, 1e6)), 0, "the vetoed buy leaves the list");
    oms_order *o = oms_book_order(b, k);
    is_int(o->status, OMS_CANCELED, "canceled at fill time");
    ok(strstr(o->reason, "insufficient cash") != NULL, "the reason mentions insufficient cash");
    is_str(o->reason, "insufficient cash at fill: needs 5001.00, 1000.00 available", "the reason in full");
    is_int(f.a->cash_cents, 100000, "cash unchanged: 1000.00");
    is_int(f.a->nledger, 1, "the ledger holds only the deposit");
    ok(o->filled_qty == 0 && b->nfills == 0 && b->commissions_cents == 0, "nothing filled, no commission");
    ok(oms_book_position(b, 1, 1) == NULL, "no position");
    is_num(b->acct[1].reserved, 0, "its reservation is released");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 0, "pending buy 0");
    ok(b->nwork[1] == 0 && b->inst[1].nlist == 0, "off the list");
    ok(b->nopen == 0 && b->ntrades == 0, "no round trip");
    fx_close(&f);

    /* With margin the same buy fills: cash 1000 - 5000 - 1 = -4001. */
    fx_open(&f, 1, NULL, 1, 1000);
    b = f.b;
    k = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 100, 0, 1000, 0, 0, OMS_BOOK_NEVER);
    is_int(match(b, 1, bar_at(2000, 50, 51, 49, 50, 1e6)), 0, "margin: the buy fills");
    is_int(oms_book_order(b, k)->status, OMS_FILLED, "margin: filled");
    is_int(f.a->cash_cents, -400100, "margin: cash -4001.00");
    is_num(pos_qty(b, 1, 1), 100, "margin: position 100");
    fx_close(&f);

    /* Cash other working orders reserve is not available: cash 1000, a limit buy (not
     * reached) holds 300; a market buy of 10 at 75 needs 750 + 1.00 = 751.00 > 1000 - 300
     * = 700. */
    fx_open(&f, 1, NULL, 0, 1000);
    b = f.b;
    int32_t kl = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 10, 30, 1000, 300, 0, OMS_BOOK_NEVER);
    k = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 10, 0, 1000, 0, 0, OMS_BOOK_NEVER);
    is_int(match(b, 1, bar_at(2000, 75, 76, 74, 75, 1e6)), 1, "other reservations: only the limit still works");
    is_str(oms_book_order(b, k)->reason, "insufficient cash at fill: needs 751.00, 700.00 available",
           "vetoed: 700 available after the other order's 300");
    ok(oms_book_order(b, kl)->status == OMS_ACCEPTED && b->acct[1].reserved == 300, "the limit keeps its 300");
    is_int(f.a->cash_cents, 100000, "cash unchanged");
    fx_close(&f);
}

/* ---- partial fills release their share ---- */

static void test_partial_fills(void)
{
    const oms_fill_model m = {.slippage_bps = 0, .participation = 0.5};
    fixture f;
    fx_open(&f, 1, &m, 0, 100000);
    oms_book *b = f.b;
    int32_t k = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 10, 0, 1000, 600, 0, OMS_BOOK_NEVER);
    /* Volume 10 x participation 0.5: at most 5 shares on this bar. */
    is_int(match(b, 1, bar_at(2000, 50, 51, 49, 50, 10)), 1, "5 of 10 fill: still working");
    oms_order *o = oms_book_order(b, k);
    ok(o->status == OMS_PARTIALLY_FILLED && o->filled_qty == 5, "partially filled, 5");
    is_num(b->acct[1].reserved, 300, "reserved 600 - 600 x 5 / 10 = 300");
    is_num(oms_book_order_x(b, k)->open, 5, "x open 5");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 5, "pending buy 5");
    is_int(b->nwork[1], 1, "still listed");
    /* 100000 - 5 x 50 - commission max(0.05, 1.00) = 100000 - 250 - 1 = 99749. */
    is_int(f.a->cash_cents, 9974900, "cash 99749.00");
    /* Volume 100: cap 50 >= the 5 left; they fill at 52.  The order's commission is
     * still max(0.10, 1.00) = 1.00, so this fill pays 1.00 - 1.00 = 0. */
    is_int(match(b, 1, bar_at(3000, 52, 53, 51, 52, 100)), 0, "the rest fills");
    ok(o->status == OMS_FILLED && o->filled_qty == 10, "filled");
    is_num(o->avg_price, 51, "average price (250 + 260) / 10 = 51");
    is_int(f.a->cash_cents, 9948900, "cash 99749 - 5 x 52 = 99489.00");
    is_num(b->acct[1].reserved, 0, "reserved 0");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 0, "pending 0");
    ok(b->nfills == 2 && b->commissions_cents == 100, "2 fills, 1.00 of commission");
    ok(b->nopen == 1 && b->ntrades == 0, "one trip open, added to");
    is_num(pos_qty(b, 1, 1), 10, "position 10");
    fx_close(&f);
}

/* ---- 9. options: short put, covered call ---- */

static void test_options(void)
{
    fixture f;
    fx_open(&f, 3, NULL, 0, 100000);
    oms_book *b = f.b;
    succeeds(oms_book_add_instrument(b, 2, PUT_SYM, 1, OMS_PUT, 100, 100, E(), sizeof err), "the put");
    succeeds(oms_book_add_instrument(b, 3, CALL_SYM, 1, OMS_CALL, 110, 100, E(), sizeof err), "the call");

    int32_t kp = order_accepted(b, 1, 2, OMS_SELL, OMS_MARKET, OMS_GTC, 1, 0, 1000, 10000, 0, OMS_BOOK_NEVER);
    is_num(b->acct[1].reserved, 10000, "the put sell reserves 10000");
    is_int(b->nwork[1], 1, "nwork[1] counts the put's order");
    is_int(b->nwork[2], 0, "nwork[2] does not");
    is_int(b->inst[2].nlist, 1, "the put's own list holds it");
    is_num(oms_book_pending(b, 1, 2, OMS_SELL), 1, "pending sell 1 contract");
    int32_t ks = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 100, 0, 1000, 10600, 0, OMS_BOOK_NEVER);
    is_int(b->nwork[1], 2, "nwork[1]: the put's and the shares' orders");
    is_int(oms_book_working(b, 1), 2, "two working orders");

    /* No quote: nothing fills. */
    is_int(match_quoted(b, 2, 2000, 0, 0), 1, "bid 0 / ask 0: the put sell still works");
    is_int(match_quoted(b, 2, 2000, 0, 2.7), 1, "bid 0 / ask 2.7: a sell waits for a bid");
    ok(oms_book_order(b, kp)->status == OMS_ACCEPTED && b->nfills == 0 && f.a->cash_cents == 10000000,
       "no fill, cash unchanged");
    is_int(b->nwork[1], 2, "nwork[1] still 2");

    /* bid 2.5 / ask 2.7: the sell fills at the bid.  Cash + 1 x 2.5 x 100 = 250, commission
     * max(1 x 0.65, 1.00) = 1.00: 100000 + 250 - 1 = 100249. */
    is_int(match_quoted(b, 2, 2000, 2.5, 2.7), 0, "the put sell fills");
    oms_order *op = oms_book_order(b, kp);
    ok(op->status == OMS_FILLED && op->avg_price == 2.5, "filled at the bid, 2.5");
    is_int(f.a->cash_cents, 10024900, "cash 100249.00");
    is_num(pos_qty(b, 1, 2), -1, "short 1 put");
    ok(oms_book_position(b, 1, 2) && oms_book_position(b, 1, 2)->multiplier == 100, "the put position's multiplier 100");
    is_int(b->acct[1].has_options, 1, "has_options");
    is_num(oms_book_secured(b, 1), 10000, "secured: strike 100 x multiplier 100 x 1 contract");
    is_num(b->acct[1].reserved, 10600, "the put's 10000 released, the shares' 10600 stays");
    is_int(b->nwork[1], 1, "nwork[1] 1");
    is_int(b->inst[2].nlist, 0, "the put's list is empty");
    is_int(b->commissions_cents, 100, "commissions 1.00");

    /* The shares: 100 at the open 105.  Available: cash 100249 - (10600 - 10600)
     * - secured 10000 = 90249 >= 10500 + 1.00.  Cash 100249 - 10500 - 1 = 89748. */
    is_int(match(b, 1, bar_at(2000, 105, 106, 104, 105, 1e6)), 0, "the share buy fills");
    is_int(oms_book_order(b, ks)->status, OMS_FILLED, "filled");
    is_int(f.a->cash_cents, 8974800, "cash 89748.00");
    is_num(pos_qty(b, 1, 1), 100, "long 100 shares");
    is_int(b->nwork[1], 0, "nwork[1] 0");

    /* The covered call: sell 1 with 100 shares of cover. */
    int32_t kc = order_accepted(b, 1, 3, OMS_SELL, OMS_MARKET, OMS_GTC, 1, 0, 3000, 0, 100, OMS_BOOK_NEVER);
    is_num(oms_book_cover_reserved(b, 1, 1), 100, "cover reserved on XYZ: 100 while the call works");
    is_num(oms_book_order_x(b, kc)->cover, 100, "the order's x holds 100 of cover");
    is_num(oms_book_covered(b, 1, 1), 0, "nothing covered yet");
    is_int(b->nwork[1], 1, "nwork[1] counts the call's order");
    is_int(b->inst[3].nlist, 1, "the call's list");
    is_num(oms_book_cover_reserved(b, 1, 3), 0, "no cover reserved on the call itself");
    /* bid 1.25: cash + 125 - 1.00 = 89872. */
    is_int(match_quoted(b, 3, 3000, 1.25, 1.4), 0, "the call sell fills");
    is_int(oms_book_order(b, kc)->status, OMS_FILLED, "filled");
    is_int(f.a->cash_cents, 8987200, "cash 89872.00");
    is_num(pos_qty(b, 1, 3), -1, "short 1 call");
    is_num(oms_book_covered(b, 1, 1), 100, "covered: multiplier 100 x 1 contract");
    is_num(oms_book_covered(b, 1, 2), 0, "nothing covered on sid 2");
    is_num(oms_book_cover_reserved(b, 1, 1), 0, "cover reserved back to 0");
    is_num(oms_book_order_x(b, kc)->cover, 0, "the order's x holds no cover");
    is_num(oms_book_secured(b, 1), 10000, "a short call secures no cash");
    is_int(b->nwork[1], 0, "nwork[1] 0");
    is_int(b->nopen, 3, "three trips open: put, shares, call");

    /* Buy the call back at the ask 1.5: cash - 150 - 1.00 = 89721. */
    int32_t kb = order_accepted(b, 1, 3, OMS_BUY, OMS_MARKET, OMS_GTC, 1, 0, 4000, 200, 0, OMS_BOOK_NEVER);
    is_int(match_quoted(b, 3, 4000, 1.0, 0), 1, "ask 0: a buy waits for an ask");
    is_int(match_quoted(b, 3, 4000, 1.0, 1.5), 0, "the call buy fills at the ask");
    ok(oms_book_order(b, kb)->avg_price == 1.5, "at 1.5");
    is_int(f.a->cash_cents, 8972100, "cash 89721.00");
    is_num(oms_book_covered(b, 1, 1), 0, "nothing covered once the call is flat");
    is_int(b->ntrades, 1, "the call's trip closed");
    oms_trade *t = oms_book_trade(b, 1);
    if (t) {
        ok(t->sid == 3 && t->side == -1 && t->qty == 1, "trade: the call, short, 1 contract");
        ok(t->entry_price == 1.25 && t->exit_price == 1.5, "entry 1.25, exit 1.5 (per contract unit)");
        is_num(t->gross, -25, "gross 125 - 150 = -25");
        is_num(t->commission, 2, "commission 1.00 + 1.00");
        is_num(t->pnl, -27, "pnl -25 - 2 = -27");
    } else {
        ok(0, "trade 1 exists");
    }
    /* 4 fills of 1.00 each. */
    is_int(b->commissions_cents, 400, "book commissions 4.00");
    is_int(b->acct[1].commissions_cents, 400, "account commissions 4.00");
    account_checks(f.a, "options");
    fx_close(&f);
}

/* Cash securing a short put is not available to buys: cash 12000; the put sold at 2.5
 * brings 12000 + 250 - 1.00 = 12249 and secures 100 x 100 = 10000; a buy of 30 shares
 * at 100 needs 3000 + 1.00 = 3001.00 > 12249 - 10000 = 2249. */
static void test_secured_cash(void)
{
    fixture f;
    fx_open(&f, 2, NULL, 0, 12000);
    oms_book *b = f.b;
    oms_book_add_instrument(b, 2, PUT_SYM, 1, OMS_PUT, 100, 100, err, sizeof err);
    order_accepted(b, 1, 2, OMS_SELL, OMS_MARKET, OMS_GTC, 1, 0, 1000, 10000, 0, OMS_BOOK_NEVER);
    is_int(match_quoted(b, 2, 2000, 2.5, 2.6), 0, "the put sell fills");
    is_int(f.a->cash_cents, 1224900, "cash 12249.00");
    is_num(oms_book_secured(b, 1), 10000, "secured 10000");
    int32_t k = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 30, 0, 3000, 0, 0, OMS_BOOK_NEVER);
    is_int(match(b, 1, bar_at(4000, 100, 101, 99, 100, 1e6)), 0, "the share buy leaves the list");
    is_int(oms_book_order(b, k)->status, OMS_CANCELED, "vetoed: the put's cash is secured");
    is_str(oms_book_order(b, k)->reason, "insufficient cash at fill: needs 3001.00, 2249.00 available",
           "2249.00 available");
    is_int(f.a->cash_cents, 1224900, "cash unchanged");
    fx_close(&f);
}

/* Accepting a call sell with cover when the underlying has no slot yet and making it
 * grows the account's slot array (8 -> 16): the book must find the call's slot again. */
static void test_slots_grow(void)
{
    fixture f;
    fx_open(&f, 12, NULL, 0, 100000);
    oms_book *b = f.b;
    char sym[16];
    for (int32_t sid = 2; sid <= 10; sid++) {
        snprintf(sym, sizeof sym, "S%d", (int)sid);
        if (oms_book_add_instrument(b, sid, sym, sid, OMS_EQUITY, 0, 1, err, sizeof err) != OMS_OK)
            printf("# add %s: %s\n", sym, err);
    }
    succeeds(oms_book_add_instrument(b, 11, "S10C", 10, OMS_CALL, 50, 100, E(), sizeof err), "a call on S10");
    /* Seven slots: buys of sid qty on sids 1..7. */
    for (int32_t sid = 1; sid <= 7; sid++)
        order_accepted(b, 1, sid, OMS_BUY, OMS_LIMIT, OMS_GTC, sid, 1, 1000, sid, 0, OMS_BOOK_NEVER);
    is_int(b->acct[1].nslots, 7, "7 slots");
    int32_t kc = order_accepted(b, 1, 11, OMS_SELL, OMS_LIMIT, OMS_GTC, 2, 3, 1000, 0, 200, OMS_BOOK_NEVER);
    is_int(oms_book_order(b, kc)->status, OMS_ACCEPTED, "the call sell is accepted");
    is_int(b->acct[1].nslots, 9, "9 slots: the call's and S10's");
    is_num(oms_book_pending(b, 1, 11, OMS_SELL), 2, "pending sell 2 on the call");
    is_num(oms_book_cover_reserved(b, 1, 10), 200, "200 shares of S10 reserved");
    int good = 1;
    for (int32_t sid = 1; sid <= 7; sid++) good &= oms_book_pending(b, 1, sid, OMS_BUY) == sid;
    ok(good, "pending buys on sids 1..7 are 1..7 after the rehash");
    /* reserved: 1 + 2 + ... + 7 = 28. */
    is_num(b->acct[1].reserved, 28, "reserved 28");
    ok(b->nwork[10] == 1 && b->nwork[11] == 0, "the call's order counts on S10");
    is_int(oms_book_working(b, 0), 8, "8 working orders");
    succeeds(oms_book_cancel(b, kc, "x", 2000, E(), sizeof err), "cancel the call sell");
    is_num(oms_book_cover_reserved(b, 1, 10), 0, "its cover is released");
    ok(b->nwork[10] == 0 && oms_book_pending(b, 1, 11, OMS_SELL) == 0, "and its pending");
    fx_close(&f);
}

/* ---- 10. events ---- */

static void test_events(void)
{
    fixture f;
    fx_open(&f, 1, NULL, 0, 100000);
    oms_book *b = f.b;
    ok(b->want_orders == 0 && b->want_fills == 0, "a new book queues nothing");
    int32_t k = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 10, 0, 1000, 0, 0, OMS_BOOK_NEVER);
    match(b, 1, bar_at(2000, 50, 51, 49, 50, 1e6));
    is_int(oms_book_order(b, k)->status, OMS_FILLED, "filled");
    is_int(b->nev, 0, "want_orders = want_fills = 0: nothing queued");
    ok(oms_book_event_at(b, 0) == NULL, "event 0 is NULL");
    fx_close(&f);

    fx_open(&f, 1, NULL, 0, 100000);
    b = f.b;
    b->want_orders = b->want_fills = 1;
    k = order_new(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 300, 0, 1000);
    is_int(b->nev, 0, "a new order is no event");
    oms_book_accept(b, k, 0, 0, OMS_BOOK_NEVER, 1000, err, sizeof err);
    is_int(b->nev, 1, "accept queues one event");
    oms_book_event *e = oms_book_event_at(b, 0);
    ok(e && e->kind == OMS_EV_ORDER && e->k == k && e->time == 1000, "event 0: order o1 at 1000");
    /* 300 at the open 20; commission 300 x 0.01 = 3.00 (above the 1.00 minimum). */
    match(b, 1, bar_at(2000, 20, 21, 19, 20, 1e6));
    is_int(b->nev, 3, "the fill queues a fill and an order event");
    e = oms_book_event_at(b, 1);
    ok(e && e->kind == OMS_EV_FILL && e->k == k, "event 1: the fill of o1");
    if (e) {
        is_num(e->qty, 300, "fill qty 300");
        is_num(e->price, 20, "fill price 20");
        is_num(e->commission, 3, "fill commission 3.00");
        is_int(e->time, 2000, "fill time 2000");
    }
    e = oms_book_event_at(b, 2);
    ok(e && e->kind == OMS_EV_ORDER && e->k == k && e->time == 2000, "event 2: o1's status, after its fill");
    ok(oms_book_event_at(b, 3) == NULL, "event_at(nev) is NULL");
    ok(oms_book_event_at(b, -1) == NULL, "event_at(-1) is NULL");
    is_int(f.a->cash_cents, 10000000 - 600300, "cash 100000 - 6000 - 3 = 93997.00");

    /* Reject and cancel queue order events too. */
    int32_t r = order_new(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 1, 0, 3000);
    oms_book_reject(b, r, "no", 3000, err, sizeof err);
    e = oms_book_event_at(b, 3);
    ok(b->nev == 4 && e && e->kind == OMS_EV_ORDER && e->k == r, "a reject queues an order event");
    int32_t c = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 1, 5, 3000, 5, 0, OMS_BOOK_NEVER);
    oms_book_cancel(b, c, "no", 3100, err, sizeof err);
    e = oms_book_event_at(b, 5);
    ok(b->nev == 6 && e && e->kind == OMS_EV_ORDER && e->k == c && e->time == 3100,
       "accept and cancel queue two order events");
    fails(oms_book_cancel(b, c, "again", 3200, E(), sizeof err), OMS_ESTATE, "a failed cancel");
    is_int(b->nev, 6, "queues nothing");

    /* Fills only: a fill queues its fill event and no order event. */
    b->want_orders = 0;
    int32_t s = order_accepted(b, 1, 1, OMS_SELL, OMS_MARKET, OMS_GTC, 100, 0, 4000, 0, 0, OMS_BOOK_NEVER);
    is_int(b->nev, 6, "want_orders 0: the accept queues nothing");
    match(b, 1, bar_at(5000, 22, 23, 21, 22, 1e6));
    e = oms_book_event_at(b, 6);
    ok(b->nev == 7 && e && e->kind == OMS_EV_FILL && e->k == s && e->qty == 100 && e->price == 22,
       "want_fills only: one fill event, 100 at 22");
    fx_close(&f);
}

/* ---- 11. round trips through zero ---- */

static void test_trip_through_zero(void)
{
    fixture f;
    fx_open(&f, 1, NULL, 0, 100000);
    oms_book *b = f.b;
    is_int(oms_book_trip(NULL, 1, 1, 0, 10, 10, 50, -500, 1, 0), OMS_EINVAL, "trip: NULL book");
    is_int(oms_book_trip(b, 2, 1, 0, 10, 10, 50, -500, 1, 0), OMS_EINVAL, "trip: account 2 of 1");
    is_int(oms_book_trip(b, 1, 2, 0, 10, 10, 50, -500, 1, 0), OMS_EINVAL, "trip: sid 2 > max 1");
    ok(b->nopen == 0 && b->acct[1].nslots == 0, "failed trips changed nothing");

    /* Open: +10 at 50, cash -500, commission 1. */
    b->barcount[1] = 2;
    b->event = 1;
    is_int(oms_book_trip(b, 1, 1, 0, 10, 10, 50, -500, 1, 10000), OMS_OK, "trip: 0 -> 10");
    ok(b->nopen == 1 && b->acct[1].nopen == 1 && b->ntrades == 0, "a trip is open");
    /* -15 at 60 (cash +900, commission 1.5): 10 close the long, 5 open a short.  The
     * closing share: cash 900 x 10 / 15 = 600, commission 1.5 x 10 / 15 = 1.00; the rest
     * 300 and 0.50 open the short. */
    b->barcount[1] = 6;
    b->event = 10;
    is_int(oms_book_trip(b, 1, 1, 10, -5, -15, 60, 900, 1.5, 20000), OMS_OK, "trip: 10 -> -5");
    is_int(b->ntrades, 1, "one trade closed");
    ok(b->nopen == 1 && b->acct[1].nopen == 1, "and the short is open");
    oms_trade *t = oms_book_trade(b, 1);
    if (t) {
        ok(t->side == 1 && t->qty == 10 && t->account == 1 && t->sid == 1, "trade 1: long 10");
        ok(t->entry_time == 10000 && t->exit_time == 20000, "entry 10000, exit 20000");
        ok(t->entry_price == 50 && t->exit_price == 60, "entry 50, exit 60");
        is_num(t->gross, 100, "gross -500 + 600 = 100");
        is_num(t->commission, 2, "commission 1 + 1 = 2");
        is_num(t->pnl, 98, "pnl 98");
        is_num(t->bars, 4, "bars 6 - 2 = 4");
    } else {
        ok(0, "trade 1 exists");
    }
    /* Close the short: +5 at 55, cash -275, commission 0.25.  Its trip: cash 300 - 275
     * = 25, commission 0.5 + 0.25 = 0.75, pnl 24.25; entry 300 / 5 = 60, exit 55. */
    b->barcount[1] = 9;
    b->event = 15;
    is_int(oms_book_trip(b, 1, 1, -5, 0, 5, 55, -275, 0.25, 30000), OMS_OK, "trip: -5 -> 0");
    is_int(b->ntrades, 2, "two trades");
    ok(b->nopen == 0 && b->acct[1].nopen == 0, "no trip open");
    t = oms_book_trade(b, 2);
    if (t) {
        ok(t->side == -1 && t->qty == 5, "trade 2: short 5");
        ok(t->entry_time == 20000 && t->exit_time == 30000, "entry 20000, exit 30000");
        ok(t->entry_price == 60 && t->exit_price == 55, "entry 60, exit 55");
        is_num(t->gross, 25, "gross 300 - 275 = 25");
        is_near(t->commission, 0.75, "commission 0.50 + 0.25 = 0.75");
        is_near(t->pnl, 24.25, "pnl 25 - 0.75 = 24.25");
        is_num(t->bars, 3, "bars 9 - 6 = 3");
    } else {
        ok(0, "trade 2 exists");
    }
    /* Exposure: open from event 1 to 15 without a gap (the cross closes and opens at 10). */
    is_num(b->exposed, 14, "book exposed (10 - 1) + (15 - 10) = 14");
    is_num(b->acct[1].exposed, 14, "account exposed 14");

    /* Adding and reducing without crossing: +4 at 10, +6 at 20, -5 at 30, -5 at 40.
     * Entry value 40 + 120 = 160 over 10: 16; exit 150 + 200 = 350 over 10: 35; the trip's
     * qty is the largest position, 10; cash -40 - 120 + 150 + 200 = 190. */
    is_int(oms_book_trip(b, 1, 1, 0, 4, 4, 10, -40, 0, 40000), OMS_OK, "0 -> 4");
    is_int(oms_book_trip(b, 1, 1, 4, 10, 6, 20, -120, 0, 41000), OMS_OK, "4 -> 10");
    is_int(oms_book_trip(b, 1, 1, 10, 5, -5, 30, 150, 0, 42000), OMS_OK, "10 -> 5");
    is_int(b->ntrades, 2, "reducing closes no trade");
    is_int(oms_book_trip(b, 1, 1, 5, 0, -5, 40, 200, 0, 43000), OMS_OK, "5 -> 0");
    t = oms_book_trade(b, 3);
    if (t) {
        ok(t->qty == 10 && t->side == 1, "trade 3: long, qty 10 (the largest position)");
        ok(t->entry_price == 16 && t->exit_price == 35, "average entry 16, average exit 35");
        is_num(t->gross, 190, "gross 190");
        is_num(t->pnl, 190, "pnl 190 (no commission)");
    } else {
        ok(0, "trade 3 exists");
    }
    fx_close(&f);
}

/* ---- 12. working counts ---- */

static void test_working(void)
{
    fixture f;
    fx_open(&f, 2, NULL, 0, 100000);
    oms_book *b = f.b;
    succeeds(oms_book_add_instrument(b, 2, "ABC", 2, OMS_EQUITY, 0, 1, E(), sizeof err), "ABC");
    oms_account *a2 = oms_set_add(f.set, "main/1", err, sizeof err);
    is_int(oms_book_add_account(b, a2, err, sizeof err), 2, "account 2");
    is_int(oms_book_working(b, 0), 0, "nothing works yet");
    order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 1, 10, 1000, 10, 0, OMS_BOOK_NEVER);
    order_accepted(b, 1, 2, OMS_SELL, OMS_LIMIT, OMS_GTC, 1, 90, 1000, 0, 0, OMS_BOOK_NEVER);
    order_accepted(b, 2, 1, OMS_BUY, OMS_LIMIT, OMS_GTC, 1, 10, 1000, 10, 0, OMS_BOOK_NEVER);
    int32_t kc = order_accepted(b, 2, 2, OMS_BUY, OMS_LIMIT, OMS_GTC, 1, 10, 1000, 10, 0, OMS_BOOK_NEVER);
    order_new(b, 2, 2, OMS_BUY, OMS_LIMIT, OMS_GTC, 1, 10, 1000); /* new: not working */
    oms_book_cancel(b, kc, "x", 1100, err, sizeof err);
    is_int(oms_book_working(b, 1), 2, "account 1: 2 working");
    is_int(oms_book_working(b, 2), 1, "account 2: 1 working (one canceled, one new)");
    is_int(oms_book_working(b, 0), 3, "all accounts: 3");
    is_int(oms_book_working(b, 3), 0, "no account 3: 0");
    is_int(oms_book_working(NULL, 0), 0, "NULL book: 0");
    ok(b->acct[1].reserved == 10 && b->acct[2].reserved == 10, "each account reserves only its own");
    is_num(oms_book_pending(b, 2, 1, OMS_BUY), 1, "account 2 pending buy on XYZ 1");
    is_num(oms_book_pending(b, 2, 2, OMS_BUY), 0, "account 2 pending buy on ABC 0 after the cancel");
    is_num(oms_book_pending(b, 3, 1, OMS_BUY), 0, "no account 3: pending 0");
    fx_close(&f);
}

/* ---- 13. errors from match ---- */

static void test_match_errors(void)
{
    fixture f;
    fx_open(&f, 1, NULL, 0, 100000);
    oms_book *b = f.b;
    oms_bar ok_bar = bar_at(2000, 50, 51, 49, 50, 1e6);
    fails(oms_book_match(b, 1, NULL, 0, 0, 0, E(), sizeof err), OMS_EINVAL, "match: NULL bar");
    fails(oms_book_match(b, 0, &ok_bar, 0, 0, 0, E(), sizeof err), OMS_EINVAL, "match: sid 0");
    fails(oms_book_match(b, 2, &ok_bar, 0, 0, 0, E(), sizeof err), OMS_EINVAL, "match: sid 2 > max 1");
    fails(oms_book_match(NULL, 1, &ok_bar, 0, 0, 0, E(), sizeof err), OMS_EINVAL, "match: NULL book");
    is_int(oms_book_match(b, 1, &ok_bar, 0, 0, 0, err, sizeof err), 0, "match with no orders: 0 work");

    int32_t kd = order_accepted(b, 1, 1, OMS_BUY, OMS_LIMIT, OMS_DAY, 10, 40, 1000, 400, 0, 5000);
    int32_t kg = order_accepted(b, 1, 1, OMS_BUY, OMS_MARKET, OMS_GTC, 10, 0, 1000, 600, 0, OMS_BOOK_NEVER);
    /* High 48 below low 49 (and below the open 50): a malformed bar. */
    oms_bar bad = bar_at(3000, 50, 48, 49, 50, 1e6);
    int32_t n = oms_book_match(b, 1, &bad, 0, 0, 0, E(), sizeof err);
    ok(n < 0 && err[0] != 0, "a malformed bar: a negative status and a message");
    is_int(n, OMS_EINVAL, "OMS_EINVAL");
    ok(b->inst[1].nlist == 2 && b->inst[1].work[0] == kd && b->inst[1].work[1] == kg && b->nwork[1] == 2,
       "both orders stay listed");
    ok(oms_book_order(b, kd)->status == OMS_ACCEPTED && oms_book_order(b, kg)->status == OMS_ACCEPTED,
       "both still accepted");
    ok(b->acct[1].reserved == 1000 && oms_book_pending(b, 1, 1, OMS_BUY) == 20, "everything still reserved");
    ok(b->nfills == 0 && f.a->cash_cents == 10000000, "no fill");

    /* At 5000 the day order expires before the bar's error reaches the gtc order: the
     * orders before the failing one are processed, the failing one stays. */
    bad.time = 5000;
    n = oms_book_match(b, 1, &bad, 0, 0, 0, E(), sizeof err);
    ok(n < 0 && err[0] != 0, "the malformed bar at 5000 fails too");
    is_int(oms_book_order(b, kd)->status, OMS_EXPIRED, "the day order before it expired");
    ok(b->inst[1].nlist == 1 && b->inst[1].work[0] == kg && b->nwork[1] == 1, "the gtc order alone stays listed");
    is_num(b->acct[1].reserved, 600, "reserved 1000 - 400 = 600");
    is_num(oms_book_pending(b, 1, 1, OMS_BUY), 10, "pending 10");
    /* A good bar then fills it as usual: 10 x 50 + 1.00. */
    is_int(match(b, 1, ok_bar), 0, "a good bar fills the gtc order");
    is_int(f.a->cash_cents, 10000000 - 50100, "cash 100000 - 501 = 99499.00");
    fx_close(&f);
}

int main(void)
{
    test_setup();
    test_new_orders();
    test_accept_reject();
    test_equity_round_trip();
    test_no_fill();
    test_day_expiry();
    test_cancel();
    test_cash_veto();
    test_partial_fills();
    test_options();
    test_secured_cash();
    test_slots_grow();
    test_events();
    test_trip_through_zero();
    test_working();
    test_match_errors();
    return done_testing();
}
