/* book.c — see book.h. */
#include "oms/book.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sys/errmsg.h"

/* Orders and trades live in chunks of CHUNK that never move. */
#define CHUNK_BITS 13
#define CHUNK (1 << CHUNK_BITS)
#define HUGE_PAGE ((size_t)2 << 20)

/* A zeroed chunk of bytes.  Chunks of 2 MiB and more are mapped 2 MiB-aligned and
 * offered to the kernel for transparent huge pages: a backtest writes every order
 * once, and in a VM the page faults of 4 KiB pages (one per ten orders) cost more
 * than everything else the order does.  Where the kernel says no, they are ordinary
 * pages.  Free with chunk_free(p, bytes). */
static void *chunk_alloc(size_t bytes)
{
    if (bytes < HUGE_PAGE) return calloc(1, bytes);
    size_t span = bytes + HUGE_PAGE;
    char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    char *p = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (p > m) munmap(m, (size_t)(p - m));
    size_t tail = (size_t)(m + span - (p + bytes));
    if (tail > 0) munmap(p + bytes, tail);
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static void chunk_free(void *p, size_t bytes)
{
    if (!p) return;
    if (bytes < HUGE_PAGE) free(p);
    else munmap(p, bytes);
}

/* ---- small helpers ---- */

/* x rounded to cents by the ledger's rule, as dollars; x itself when it cannot be
 * (out of range: the ledger has refused such an amount before it gets here). */
static double round_dollars(double x)
{
    int64_t c;
    if (oms_round_cents(x, &c) != OMS_OK) return x;
    return oms_cents_to_double(c);
}

static int grow(void **p, int32_t *cap, int32_t need, size_t size)
{
    if (need <= *cap) return 0;
    int32_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > INT32_MAX / 2) return -1;
        n *= 2;
    }
    void *q = realloc(*p, (size_t)n * size);
    if (!q) return -1;
    memset((char *)q + (size_t)*cap * size, 0, (size_t)(n - *cap) * size);
    *p = q;
    *cap = n;
    return 0;
}

static int valid_sid(const oms_book *b, int32_t sid) { return sid >= 1 && sid <= b->max_instruments; }
static int valid_acct(const oms_book *b, int32_t a) { return a >= 1 && a <= b->naccounts; }

/* ---- per-account slots: what an account holds in one instrument ---- */

static uint32_t sid_hash(int32_t sid) { return (uint32_t)sid * 2654435761u; }

static const oms_book_slot *find_slot(const oms_book_account *a, int32_t sid)
{
    if (a->hash_cap == 0) return NULL;
    uint32_t mask = (uint32_t)a->hash_cap - 1;
    for (uint32_t h = sid_hash(sid) & mask;; h = (h + 1) & mask) {
        int32_t i = a->hash[h];
        if (i == 0) return NULL;
        if (a->slots[i - 1].sid == sid) return &a->slots[i - 1];
    }
}

static int rehash(oms_book_account *a, int32_t cap)
{
    int32_t *h = calloc((size_t)cap, sizeof *h);
    if (!h) return -1;
    uint32_t mask = (uint32_t)cap - 1;
    for (int32_t i = 0; i < a->nslots; i++) {
        uint32_t j = sid_hash(a->slots[i].sid) & mask;
        while (h[j] != 0) j = (j + 1) & mask;
        h[j] = i + 1;
    }
    free(a->hash);
    a->hash = h;
    a->hash_cap = cap;
    return 0;
}

/* The slot of sid in a, made (zeroed) when missing; NULL when out of memory. */
static oms_book_slot *slot(oms_book_account *a, int32_t sid)
{
    oms_book_slot *s = (oms_book_slot *)find_slot(a, sid);
    if (s) return s;
    if ((a->nslots + 1) * 2 > a->hash_cap && rehash(a, a->hash_cap ? a->hash_cap * 2 : 16) != 0) return NULL;
    if (grow((void **)&a->slots, &a->slots_cap, a->nslots + 1, sizeof *a->slots) != 0) return NULL;
    s = &a->slots[a->nslots++];
    memset(s, 0, sizeof *s);
    s->sid = sid;
    uint32_t mask = (uint32_t)a->hash_cap - 1;
    uint32_t j = sid_hash(sid) & mask;
    while (a->hash[j] != 0) j = (j + 1) & mask;
    a->hash[j] = a->nslots;
    return s;
}

/* ---- the book ---- */

oms_book *oms_book_new(int32_t max_instruments, const oms_fill_model *m, const oms_commission *equity,
                       const oms_commission *option, int allow_margin)
{
    if (max_instruments < 1 || max_instruments > INT32_MAX - 1) return NULL;
    oms_book *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    size_t n = (size_t)max_instruments + 1;
    b->max_instruments = max_instruments;
    b->nwork = calloc(n, sizeof *b->nwork);
    b->mark = calloc(n, sizeof *b->mark);
    b->barcount = calloc(n, sizeof *b->barcount);
    b->inst = calloc(n, sizeof *b->inst);
    if (!b->nwork || !b->mark || !b->barcount || !b->inst) {
        oms_book_free(b);
        return NULL;
    }
    if (m) b->model = *m;
    if (equity) b->comm = *equity;
    if (option) b->opt_comm = *option;
    b->allow_margin = allow_margin != 0;
    return b;
}

void oms_book_free(oms_book *b)
{
    if (!b) return;
    if (b->inst) {
        for (int32_t i = 0; i <= b->max_instruments; i++) free(b->inst[i].work);
    }
    for (int32_t i = 1; i <= b->naccounts; i++) {
        free(b->acct[i].slots);
        free(b->acct[i].hash);
    }
    for (int32_t c = 0; c < b->ord_chunk_count; c++) {
        chunk_free(b->ord_chunks[c], CHUNK * sizeof(oms_order));
        chunk_free(b->ordx_chunks[c], CHUNK * sizeof(oms_order_x));
    }
    for (int32_t c = 0; c < b->trade_chunk_count; c++) chunk_free(b->trade_chunks[c], CHUNK * sizeof(oms_trade));
    free(b->ord_chunks);
    free(b->ordx_chunks);
    free(b->trade_chunks);
    free(b->ev);
    free(b->acct);
    free(b->inst);
    free(b->nwork);
    free(b->mark);
    free(b->barcount);
    free(b);
}

int oms_book_add_instrument(oms_book *b, int32_t sid, const char *symbol, int32_t trigger,
                            int32_t right, double strike, double multiplier, char *err, size_t errlen)
{
    if (!b || !valid_sid(b, sid) || !valid_sid(b, trigger) || !symbol)
        return au_errf(err, errlen, OMS_EINVAL, "oms_book_add_instrument: bad arguments");
    if (strlen(symbol) >= OMS_NAME_MAX)
        return au_errf(err, errlen, OMS_EINVAL, "symbol '%s' is longer than %d bytes", symbol, OMS_NAME_MAX - 1);
    if (right < OMS_EQUITY || right > OMS_PUT || !(multiplier > 0) || !isfinite(multiplier) ||
        !isfinite(strike) || (right == OMS_EQUITY) != (trigger == sid))
        return au_errf(err, errlen, OMS_EINVAL, "instrument %s: bad kind, strike or multiplier", symbol);
    oms_book_inst *in = &b->inst[sid];
    if (in->symbol[0] != 0) return au_errf(err, errlen, OMS_EEXIST, "instrument %d is already %s", sid, in->symbol);
    /* Numbered without gaps (the engine's sids are), so walks over every instrument
     * can stop at the first unused number. */
    if (sid > 1 && b->inst[sid - 1].symbol[0] == 0)
        return au_errf(err, errlen, OMS_EINVAL, "instrument %s: number %d leaves a gap (%d is not added)", symbol, sid,
                       sid - 1);
    if (b->inst[trigger].symbol[0] == 0 && trigger != sid)
        return au_errf(err, errlen, OMS_EINVAL, "instrument %s: its underlying %d is not added", symbol, trigger);
    memcpy(in->symbol, symbol, strlen(symbol) + 1);
    in->trigger = trigger;
    in->right = right;
    in->strike = strike;
    in->multiplier = multiplier;
    return OMS_OK;
}

int32_t oms_book_add_account(oms_book *b, oms_account *a, char *err, size_t errlen)
{
    if (!b || !a) return au_errf(err, errlen, OMS_EINVAL, "oms_book_add_account: bad arguments");
    /* acct[0] is unused: indexes start at 1. */
    if (grow((void **)&b->acct, &b->accounts_cap, b->naccounts + 2, sizeof *b->acct) != 0)
        return au_errf(err, errlen, OMS_ENOMEM, "out of memory adding account %s", a->name);
    int32_t i = ++b->naccounts;
    memset(&b->acct[i], 0, sizeof b->acct[i]);
    b->acct[i].acct = a;
    return i;
}

oms_order *oms_book_order(oms_book *b, int32_t k)
{
    if (!b || k < 1 || k > b->norders) return NULL;
    return &b->ord_chunks[k >> CHUNK_BITS][k & (CHUNK - 1)];
}

oms_order_x *oms_book_order_x(oms_book *b, int32_t k)
{
    if (!b || k < 1 || k > b->norders) return NULL;
    return &b->ordx_chunks[k >> CHUNK_BITS][k & (CHUNK - 1)];
}

oms_trade *oms_book_trade(oms_book *b, int32_t k)
{
    if (!b || k < 1 || k > b->ntrades) return NULL;
    return &b->trade_chunks[k >> CHUNK_BITS][k & (CHUNK - 1)];
}

oms_book_event *oms_book_event_at(oms_book *b, int32_t i)
{
    if (!b || i < 0 || i >= b->nev) return NULL;
    return &b->ev[i];
}

/* ---- events ---- */

static void queue(oms_book *b, int kind, int32_t k, double qty, double price, double comm, int64_t t)
{
    if (kind == OMS_EV_ORDER ? !b->want_orders : !b->want_fills) return;
    /* Out of memory here would lose an event: grow() failing leaves the queue as it
     * is, and the strategy misses one callback rather than the run crashing. */
    if (grow((void **)&b->ev, &b->ev_cap, b->nev + 1, sizeof *b->ev) != 0) return;
    oms_book_event *e = &b->ev[b->nev++];
    e->kind = kind;
    e->k = k;
    e->qty = qty;
    e->price = price;
    e->commission = comm;
    e->time = t;
}

/* ---- orders ---- */

/* "o<k>" into buf (16 bytes): by hand, as snprintf costs more than the rest of
 * making an order. */
static void format_auto_id(char *buf, int32_t k)
{
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + k % 10);
        k /= 10;
    } while (k > 0);
    buf[0] = 'o';
    for (int i = 0; i < n; i++) buf[1 + i] = digits[n - 1 - i];
    buf[1 + n] = 0;
}

int32_t oms_book_new_order(oms_book *b, int32_t acct, int32_t sid, const char *id, const char *symbol,
                           int side, int type, int tif, double qty, double limit_price,
                           double stop_price, int64_t now, char *err, size_t errlen)
{
    if (!b || !valid_acct(b, acct) || (sid != 0 && !valid_sid(b, sid)) || !symbol)
        return au_errf(err, errlen, OMS_EINVAL, "oms_book_new_order: bad arguments");
    if (b->norders >= INT32_MAX - CHUNK) return au_errf(err, errlen, OMS_ENOMEM, "too many orders");
    int32_t k = b->norders + 1;
    int32_t c = k >> CHUNK_BITS;
    if (c >= b->ord_chunk_count) {
        if (grow((void **)&b->ord_chunks, &b->chunks_cap, c + 1, sizeof *b->ord_chunks) != 0)
            return au_errf(err, errlen, OMS_ENOMEM, "out of memory for orders");
        /* ordx_chunks has the same capacity as ord_chunks: grown with it. */
        void *q = realloc(b->ordx_chunks, (size_t)b->chunks_cap * sizeof *b->ordx_chunks);
        if (!q) return au_errf(err, errlen, OMS_ENOMEM, "out of memory for orders");
        b->ordx_chunks = q;
        oms_order *oc = chunk_alloc(CHUNK * sizeof *oc);
        oms_order_x *xc = chunk_alloc(CHUNK * sizeof *xc);
        if (!oc || !xc) {
            chunk_free(oc, CHUNK * sizeof *oc);
            chunk_free(xc, CHUNK * sizeof *xc);
            return au_errf(err, errlen, OMS_ENOMEM, "out of memory for orders");
        }
        b->ord_chunks[c] = oc;
        b->ordx_chunks[c] = xc;
        b->ord_chunk_count = c + 1;
    }
    oms_order *o = &b->ord_chunks[c][k & (CHUNK - 1)];
    char auto_id[16];
    if (!id) format_auto_id(auto_id, k);
    int rc = oms_order_init(o, id ? id : auto_id, b->acct[acct].acct->name, symbol, side, type, tif, qty,
                            limit_price, stop_price, now, err, errlen);
    if (rc != OMS_OK) return rc;
    oms_order_x *x = &b->ordx_chunks[c][k & (CHUNK - 1)];
    memset(x, 0, sizeof *x);
    x->account = acct;
    x->sid = sid;
    x->auto_id = id == NULL;
    x->session_end = OMS_BOOK_NEVER;
    b->norders = k;
    return k;
}

int oms_book_reject(oms_book *b, int32_t k, const char *reason, int64_t now, char *err, size_t errlen)
{
    oms_order *o = oms_book_order(b, k);
    if (!o) return au_errf(err, errlen, OMS_EINVAL, "oms_book_reject: no order %d", k);
    int rc = oms_order_reject(o, reason, now, err, errlen);
    if (rc == OMS_OK) queue(b, OMS_EV_ORDER, k, 0, 0, 0, now);
    return rc;
}

int oms_book_accept(oms_book *b, int32_t k, double reserve, double cover, int64_t session_end,
                    int64_t now, char *err, size_t errlen)
{
    oms_order *o = oms_book_order(b, k);
    if (!o) return au_errf(err, errlen, OMS_EINVAL, "oms_book_accept: no order %d", k);
    oms_order_x *x = oms_book_order_x(b, k);
    if (!valid_sid(b, x->sid) || b->inst[x->sid].symbol[0] == 0 || !(reserve >= 0) || !(cover >= 0) || !isfinite(reserve) || !isfinite(cover))
        return au_errf(err, errlen, OMS_EINVAL, "order %s: cannot accept (unknown instrument or bad reserve)", o->id);
    oms_book_inst *in = &b->inst[x->sid];
    oms_book_account *a = &b->acct[x->account];
    /* Everything that can run out of memory first, so a failure changes nothing. */
    oms_book_slot *s = slot(a, x->sid);
    oms_book_slot *u = cover > 0 ? slot(a, in->trigger) : NULL;
    if (!s || (cover > 0 && !u) || grow((void **)&in->work, &in->list_cap, in->nlist + 1, sizeof *in->work) != 0)
        return au_errf(err, errlen, OMS_ENOMEM, "order %s: out of memory", o->id);
    s = (oms_book_slot *)find_slot(a, x->sid); /* slot() for the underlying may have moved it */
    int rc = oms_order_transition(o, OMS_ACCEPTED, now, err, errlen);
    if (rc != OMS_OK) return rc;
    x->reserve = reserve;
    x->open = o->qty;
    x->cover = cover;
    x->session_end = session_end;
    x->working = 1;
    a->reserved += reserve;
    if (u) u->cover += cover;
    if (o->side == OMS_BUY) s->pending_buy += o->qty;
    else s->pending_sell += o->qty;
    in->work[in->nlist++] = k;
    b->nwork[in->trigger]++;
    queue(b, OMS_EV_ORDER, k, 0, 0, 0, now);
    return OMS_OK;
}

/* Release what order k holds for qty of its open quantity: that share of its
 * reserved cash and cover, and its pending quantity. */
static void release(oms_book *b, const oms_order *o, oms_order_x *x, double qty)
{
    oms_book_account *a = &b->acct[x->account];
    oms_book_slot *s = (oms_book_slot *)find_slot(a, x->sid);
    double open = x->open;
    double res = x->reserve;
    double part = qty >= open ? res : res * qty / open;
    if (x->cover > 0) {
        double cpart = qty >= open ? x->cover : x->cover * qty / open;
        oms_book_slot *u = (oms_book_slot *)find_slot(a, b->inst[x->sid].trigger);
        if (u) u->cover -= cpart;
        x->cover -= cpart;
    }
    x->open = open - qty;
    x->reserve = res - part;
    double r = a->reserved - part;
    a->reserved = r > 1e-6 ? r : 0;
    if (s) {
        if (o->side == OMS_BUY) s->pending_buy -= qty;
        else s->pending_sell -= qty;
    }
}

/* Take order k off its instrument's working list. */
static void unlist(oms_book *b, int32_t k, oms_order_x *x)
{
    oms_book_inst *in = &b->inst[x->sid];
    for (int32_t j = 0; j < in->nlist; j++) {
        if (in->work[j] == k) {
            memmove(&in->work[j], &in->work[j + 1], (size_t)(in->nlist - j - 1) * sizeof *in->work);
            in->nlist--;
            b->nwork[in->trigger]--;
            break;
        }
    }
    x->working = 0;
}

int oms_book_cancel(oms_book *b, int32_t k, const char *reason, int64_t now, char *err, size_t errlen)
{
    oms_order *o = oms_book_order(b, k);
    if (!o) return au_errf(err, errlen, OMS_EINVAL, "oms_book_cancel: no order %d", k);
    oms_order_x *x = oms_book_order_x(b, k);
    double rem = o->qty - o->filled_qty;
    int rc = oms_order_cancel(o, reason, now, err, errlen);
    if (rc != OMS_OK) return rc;
    if (x->working) {
        release(b, o, x, rem);
        unlist(b, k, x);
    }
    queue(b, OMS_EV_ORDER, k, 0, 0, 0, now);
    return OMS_OK;
}

/* ---- round trips ---- */

static oms_trade *new_trade(oms_book *b)
{
    int32_t n = b->ntrades + 1;
    int32_t c = n >> CHUNK_BITS;
    if (c >= b->trade_chunk_count) {
        if (grow((void **)&b->trade_chunks, &b->trade_chunks_cap, c + 1, sizeof *b->trade_chunks) != 0)
            return NULL;
        oms_trade *tc = chunk_alloc(CHUNK * sizeof *tc);
        if (!tc) return NULL;
        b->trade_chunks[c] = tc;
        b->trade_chunk_count = c + 1;
    }
    b->ntrades = n;
    return &b->trade_chunks[c][n & (CHUNK - 1)];
}

static void open_trip(oms_book *b, oms_book_account *a, int32_t sid, oms_trip *tr, double q, double price,
                      double cash, double comm)
{
    double aq = fabs(q);
    tr->side = q > 0 ? 1 : -1;
    tr->open = 1;
    tr->qty = aq;
    tr->entry_time = b->fill_time;
    tr->entry_qty = aq;
    tr->entry_value = aq * price;
    tr->exit_qty = 0;
    tr->exit_value = 0;
    tr->cash = cash;
    tr->commission = comm;
    tr->bar0 = b->barcount[sid];
    if (b->nopen == 0) b->exposed_since = b->event;
    if (a->nopen == 0) a->exposed_since = b->event;
    b->nopen++;
    a->nopen++;
}

static void close_trip(oms_book *b, oms_book_account *a, int32_t acct, int32_t sid, oms_trip *tr)
{
    oms_trade *d = new_trade(b);
    if (d) {
        double gross = round_dollars(tr->cash);
        double cm = round_dollars(tr->commission);
        d->account = acct;
        d->sid = sid;
        d->side = tr->side;
        d->qty = tr->qty;
        d->entry_time = tr->entry_time;
        d->entry_price = tr->entry_value / tr->entry_qty;
        d->exit_time = b->fill_time;
        d->exit_price = tr->exit_value / tr->exit_qty;
        d->bars = b->barcount[sid] - tr->bar0;
        d->gross = gross;
        d->commission = cm;
        d->pnl = round_dollars(gross - cm);
    }
    tr->open = 0;
    b->nopen--;
    a->nopen--;
    if (b->nopen == 0) b->exposed += b->event - b->exposed_since;
    if (a->nopen == 0) a->exposed += b->event - a->exposed_since;
}

/* A trip runs from the position leaving 0 to coming back; a fill through zero closes
 * one (with its share of the fill's cash and commission) and opens the next. */
static void trip_fill(oms_book *b, int32_t acct, int32_t sid, oms_trip *tr, double before, double after,
                      double signed_qty, double price, double cash, double comm)
{
    oms_book_account *a = &b->acct[acct];
    if (before == 0) {
        open_trip(b, a, sid, tr, signed_qty, price, cash, comm);
        return;
    }
    double as = fabs(signed_qty);
    if ((before > 0) == (signed_qty > 0)) { /* adding */
        tr->entry_qty += as;
        tr->entry_value += as * price;
        if (fabs(after) > tr->qty) tr->qty = fabs(after);
        tr->cash += cash;
        tr->commission += comm;
        return;
    }
    /* Reducing, closing, or going through zero. */
    double closing = as < fabs(before) ? as : fabs(before);
    double share_cash = cash, share_comm = comm;
    if (as > closing) { /* the part beyond zero opens the next trip */
        share_cash = round_dollars(cash * closing / as);
        share_comm = round_dollars(comm * closing / as);
    }
    tr->exit_qty += closing;
    tr->exit_value += closing * price;
    tr->cash += share_cash;
    tr->commission += share_comm;
    if (after == 0 || (after > 0) != (before > 0)) {
        close_trip(b, a, acct, sid, tr);
        if (after != 0)
            open_trip(b, a, sid, tr, after, price, round_dollars(cash - share_cash), round_dollars(comm - share_comm));
    }
}

int oms_book_trip(oms_book *b, int32_t acct, int32_t sid, double before, double after,
                  double signed_qty, double price, double cash, double comm, int64_t time)
{
    if (!b || !valid_acct(b, acct) || !valid_sid(b, sid)) return OMS_EINVAL;
    oms_book_slot *s = slot(&b->acct[acct], sid);
    if (!s) return OMS_ENOMEM;
    b->fill_time = (double)time;
    trip_fill(b, acct, sid, &s->trip, before, after, signed_qty, price, cash, comm);
    return OMS_OK;
}

/* ---- what an account holds ---- */

double oms_book_pending(const oms_book *b, int32_t acct, int32_t sid, int side)
{
    if (!b || !valid_acct(b, acct)) return 0;
    const oms_book_slot *s = find_slot(&b->acct[acct], sid);
    if (!s) return 0;
    return side == OMS_BUY ? s->pending_buy : s->pending_sell;
}

double oms_book_cover_reserved(const oms_book *b, int32_t acct, int32_t u)
{
    if (!b || !valid_acct(b, acct)) return 0;
    const oms_book_slot *s = find_slot(&b->acct[acct], u);
    return s ? s->cover : 0;
}

/* The position of slot s, looked up once it exists. */
static oms_position *slot_position(const oms_book *b, const oms_book_account *a, oms_book_slot *s)
{
    if (!s->pos) s->pos = oms_account_position(a->acct, b->inst[s->sid].symbol);
    return s->pos;
}

/* Over acct's short positions in options of one right (and, when u > 0, on
 * underlying u): the sum of contracts x multiplier x (strike when by_strike). */
static double short_options(const oms_book *b, int32_t acct, int right, int32_t u, int by_strike)
{
    if (!b || !valid_acct(b, acct)) return 0;
    const oms_book_account *a = &b->acct[acct];
    double sum = 0;
    if (!a->has_options) return 0;
    for (int32_t i = 0; i < a->nslots; i++) {
        oms_book_slot *s = &a->slots[i];
        const oms_book_inst *in = &b->inst[s->sid];
        if (in->right != right || (u > 0 && in->trigger != u)) continue;
        const oms_position *p = slot_position(b, a, s);
        if (p && p->qty < 0) sum += (by_strike ? in->strike : 1) * in->multiplier * -p->qty;
    }
    return sum;
}

double oms_book_secured(const oms_book *b, int32_t acct)
{
    return short_options(b, acct, OMS_PUT, 0, 1);
}

double oms_book_covered(const oms_book *b, int32_t acct, int32_t u)
{
    return short_options(b, acct, OMS_CALL, u, 0);
}

oms_position *oms_book_position(oms_book *b, int32_t acct, int32_t sid)
{
    if (!b || !valid_acct(b, acct) || !valid_sid(b, sid) || b->inst[sid].symbol[0] == 0) return NULL;
    oms_book_account *a = &b->acct[acct];
    oms_book_slot *s = (oms_book_slot *)find_slot(a, sid);
    if (s) return slot_position(b, a, s);
    /* No slot yet: ask the account, and keep a slot only once there is a position. */
    oms_position *p = oms_account_position(a->acct, b->inst[sid].symbol);
    if (p) {
        s = slot(a, sid);
        if (s) s->pos = p;
        if (b->inst[sid].right != OMS_EQUITY) a->has_options = 1;
    }
    return p;
}

int32_t oms_book_working(const oms_book *b, int32_t acct)
{
    if (!b) return 0;
    int32_t n = 0;
    for (int32_t sid = 1; sid <= b->max_instruments; sid++) {
        const oms_book_inst *in = &b->inst[sid];
        if (in->symbol[0] == 0) break; /* instruments are numbered without gaps */
        for (int32_t j = 0; j < in->nlist; j++) {
            if (acct == 0 || b->ordx_chunks[in->work[j] >> CHUNK_BITS][in->work[j] & (CHUNK - 1)].account == acct) n++;
        }
    }
    return n;
}

/* ---- matching ---- */

/* What bar does to working order k; 1 while it still works, 0 when it is done, a
 * negative status on an error (nothing changed). */
static int execute(oms_book *b, int32_t k, oms_order *o, oms_order_x *x, const oms_bar *bar, char *err,
                   size_t errlen)
{
    oms_book_account *a = &b->acct[x->account];
    const oms_book_inst *in = &b->inst[x->sid];
    int option = in->right != OMS_EQUITY;
    double limit = -1;
    if (!b->allow_margin && o->side == OMS_BUY) {
        limit = oms_cents_to_double(a->acct->cash_cents) - (a->reserved - x->reserve);
        if (a->has_options) limit -= oms_book_secured(b, x->account);
    }
    double open_before = o->qty - o->filled_qty;
    oms_exec ex;
    int rc = oms_exec_bar(a->acct, o, bar, &b->model, option ? &b->opt_comm : &b->comm, in->multiplier, limit, k,
                          &ex, err, errlen);
    if (rc != OMS_OK) return rc;
    if (ex.qty > 0) {
        oms_book_slot *s = (oms_book_slot *)find_slot(a, x->sid);
        int64_t cc = 0;
        oms_round_cents(ex.commission, &cc);
        b->commissions_cents += cc;
        a->commissions_cents += cc;
        b->fill_time = (double)bar->time;
        if (option) a->has_options = 1;
        if (s) {
            double signed_qty = o->side == OMS_BUY ? ex.qty : -ex.qty;
            trip_fill(b, x->account, x->sid, &s->trip, ex.pos_before, ex.pos_after, signed_qty, ex.price,
                      oms_cents_to_double(ex.cash_cents), ex.commission);
        }
        b->nfills++;
        queue(b, OMS_EV_FILL, k, ex.qty, ex.price, ex.commission, bar->time);
    }
    int working = o->status == OMS_ACCEPTED || o->status == OMS_PARTIALLY_FILLED;
    if (working) {
        if (ex.qty > 0) release(b, o, x, ex.qty);
    } else {
        release(b, o, x, open_before); /* filled, canceled (ioc rest, cash veto) */
    }
    if (ex.qty > 0 || !working) queue(b, OMS_EV_ORDER, k, 0, 0, 0, bar->time);
    return working;
}

int32_t oms_book_match(oms_book *b, int32_t sid, const oms_bar *bar, int quoted, double bid, double ask,
                       char *err, size_t errlen)
{
    if (!b || !bar || !valid_sid(b, sid)) return au_errf(err, errlen, OMS_EINVAL, "oms_book_match: bad arguments");
    oms_book_inst *in = &b->inst[sid];
    int64_t t = bar->time;
    int32_t keep = 0, n = in->nlist;
    int32_t rc = OMS_OK;
    int32_t j = 0;
    for (; j < n; j++) {
        int32_t k = in->work[j];
        oms_order *o = &b->ord_chunks[k >> CHUNK_BITS][k & (CHUNK - 1)];
        oms_order_x *x = &b->ordx_chunks[k >> CHUNK_BITS][k & (CHUNK - 1)];
        int working;
        if (oms_order_day_expired(o, t, x->session_end) == 1) {
            double rem = o->qty - o->filled_qty;
            oms_order_expire(o, t, NULL, 0);
            release(b, o, x, rem);
            queue(b, OMS_EV_ORDER, k, 0, 0, 0, t);
            working = 0;
        } else if (quoted) {
            double px = o->side == OMS_BUY ? ask : bid;
            if (px > 0 && isfinite(px)) {
                oms_bar one = {.time = t, .open = px, .high = px, .low = px, .close = px, .volume = 1e12};
                working = execute(b, k, o, x, &one, err, errlen);
            } else {
                working = 1;
            }
        } else {
            working = execute(b, k, o, x, bar, err, errlen);
        }
        if (working < 0) {
            rc = working;
            break;
        }
        if (working) in->work[keep++] = k;
        else x->working = 0;
    }
    /* On an error the failed order and those after it stay listed, untouched. */
    for (; j < n; j++) in->work[keep++] = in->work[j];
    b->nwork[in->trigger] -= n - keep;
    in->nlist = keep;
    if (rc < 0) return rc;
    return keep;
}
