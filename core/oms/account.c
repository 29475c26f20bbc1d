/* account.c — see account.h and docs/accounting.md. */
#include "oms/account.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/errmsg.h"

#include "sys/autime.h"

/* ---- ledger kinds ---- */

static const char *const kind_names[OMS_LEDGER_KIND_COUNT] = {
    "none",       "deposit",    "withdrawal", "transfer_in", "transfer_out", "fill",
    "commission", "premium",    "assignment", "exercise",    "expiry",       "dividend"};

const char *oms_ledger_kind_name(int kind)
{
    return kind >= 0 && kind < OMS_LEDGER_KIND_COUNT ? kind_names[kind] : NULL;
}

int oms_ledger_kind_parse(const char *name)
{
    if (name == NULL) return OMS_LEDGER_NONE;
    for (int k = 1; k < OMS_LEDGER_KIND_COUNT; k++)
        if (!strcmp(name, kind_names[k])) return k;
    return OMS_LEDGER_NONE;
}

/* round(total * part / whole), half away from zero, exactly: whole > 0, 0 <= part <= whole. */
static int64_t share_of(int64_t total, int64_t part, int64_t whole)
{
    __int128 n = (__int128)total * part;
    __int128 q = n / whole, r = n % whole;
    if (r < 0) r = -r;
    if (2 * r >= whole) q += n < 0 ? -1 : 1;
    return (int64_t)q;
}

/* ---- name index ---- */

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int32_t index_find(const oms_index *ix, const char *key)
{
    if (ix->cap == 0) return -1;
    uint32_t m = (uint32_t)ix->cap - 1;
    for (uint32_t h = hash_name(key) & m;; h = (h + 1) & m) {
        if (ix->slots[h].key == NULL) return -1;
        if (!strcmp(ix->slots[h].key, key)) return ix->slots[h].i;
    }
}

static void index_put(oms_index *ix, const char *key, int32_t i)
{
    uint32_t m = (uint32_t)ix->cap - 1;
    uint32_t h = hash_name(key) & m;
    while (ix->slots[h].key != NULL) h = (h + 1) & m;
    ix->slots[h].key = key;
    ix->slots[h].i = i;
}

/* Room for n entries at a load of at most one half.  Rehashes into a new table, so
 * on failure the old one is untouched. */
static int index_reserve(oms_index *ix, int32_t n)
{
    if (n < ix->cap / 2) return OMS_OK;
    if (n > INT32_MAX / 4) return OMS_ENOMEM;
    int32_t cap = ix->cap ? ix->cap : 16;
    while (n >= cap / 2) cap *= 2;
    oms_index grown = {calloc((size_t)cap, sizeof *grown.slots), cap};
    if (grown.slots == NULL) return OMS_ENOMEM;
    for (int32_t j = 0; j < ix->cap; j++)
        if (ix->slots[j].key) index_put(&grown, ix->slots[j].key, ix->slots[j].i);
    free(ix->slots);
    *ix = grown;
    return OMS_OK;
}

/* Grow *arr to hold at least need items (doubling, at least min_cap). */
static int grow_array(void **arr, int64_t *cap, int64_t need, size_t size, int64_t min_cap)
{
    if (need <= *cap) return OMS_OK;
    int64_t c = *cap < min_cap ? min_cap : *cap;
    while (c < need) c *= 2;
    if ((uint64_t)c > SIZE_MAX / size / 2) return OMS_ENOMEM;
    void *p = realloc(*arr, (size_t)c * size);
    if (p == NULL) return OMS_ENOMEM;
    *arr = p;
    *cap = c;
    return OMS_OK;
}

static int grow_array32(void **arr, int32_t *cap, int64_t need, size_t size, int64_t min_cap)
{
    if (need > INT32_MAX / 2) return OMS_ENOMEM;
    int64_t c = *cap;
    int st = grow_array(arr, &c, need, size, min_cap);
    *cap = (int32_t)c;
    return st;
}

static int name_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) < OMS_NAME_MAX;
}

/* ---- the set ---- */

oms_set *oms_set_new(void)
{
    oms_set *s = calloc(1, sizeof *s);
    if (s) s->next_seq = 1;
    return s;
}

static void position_free(oms_position *p)
{
    free(p->lots);
    free(p);
}

static void account_free(oms_account *a)
{
    for (int32_t i = 0; i < a->npositions; i++) position_free(a->positions[i]);
    free(a->positions);
    free(a->pos_index.slots);
    free(a->ledger);
    free(a);
}

void oms_set_free(oms_set *s)
{
    if (s == NULL) return;
    for (int32_t i = 0; i < s->naccounts; i++) account_free(s->accounts[i]);
    free(s->accounts);
    free(s->index.slots);
    free(s);
}

oms_account *oms_set_find(const oms_set *s, const char *name)
{
    if (s == NULL || name == NULL) return NULL;
    int32_t i = index_find(&s->index, name);
    return i < 0 ? NULL : s->accounts[i];
}

/* Everything oms_set_add can refuse, checked before anything is created. */
static int set_can_add(oms_set *s, const char *name, char *err, size_t errlen)
{
    if (s == NULL) return au_errf(err, errlen, OMS_EINVAL, "account: no account set");
    if (!name_ok(name))
        return au_errf(err, errlen, OMS_EINVAL, "account name '%.40s' must be 1..%d characters",
                    name ? name : "(null)", OMS_NAME_MAX - 1);
    if (oms_set_find(s, name))
        return au_errf(err, errlen, OMS_EEXIST, "account '%s' already exists", name);
    if (grow_array32((void **)&s->accounts, &s->accounts_cap, (int64_t)s->naccounts + 1,
                     sizeof *s->accounts, 8) ||
        index_reserve(&s->index, s->naccounts + 1))
        return au_errf(err, errlen, OMS_ENOMEM, "account '%s': out of memory", name);
    return OMS_OK;
}

oms_account *oms_set_add(oms_set *s, const char *name, char *err, size_t errlen)
{
    if (set_can_add(s, name, err, errlen) != OMS_OK) return NULL;
    oms_account *a = calloc(1, sizeof *a);
    if (a == NULL) {
        au_errf(err, errlen, OMS_ENOMEM, "account '%s': out of memory", name);
        return NULL;
    }
    strcpy(a->name, name);
    a->set = s;
    s->accounts[s->naccounts] = a;
    index_put(&s->index, a->name, s->naccounts);
    s->naccounts++;
    return a;
}

/* ---- accounts ---- */

double oms_account_cash(const oms_account *a)
{
    return a ? oms_cents_to_double(a->cash_cents) : NAN;
}

static int ledger_reserve(oms_account *a, int64_t more)
{
    return grow_array((void **)&a->ledger, &a->ledger_cap, a->nledger + more, sizeof *a->ledger, 64);
}

static int positions_reserve(oms_account *a, int32_t more)
{
    int64_t need = (int64_t)a->npositions + more;
    if (grow_array32((void **)&a->positions, &a->positions_cap, need, sizeof *a->positions, 8))
        return OMS_ENOMEM;
    return need > INT32_MAX / 4 ? OMS_ENOMEM : index_reserve(&a->pos_index, (int32_t)need);
}

int oms_account_reserve(oms_account *a, int64_t postings, int32_t positions)
{
    if (a == NULL || postings < 0 || positions < 0 || postings > INT64_MAX / 4) return OMS_EINVAL;
    if (ledger_reserve(a, postings) || positions_reserve(a, positions)) return OMS_ENOMEM;
    return OMS_OK;
}

oms_position *oms_account_position(const oms_account *a, const char *symbol)
{
    if (a == NULL || symbol == NULL) return NULL;
    int32_t i = index_find(&a->pos_index, symbol);
    return i < 0 ? NULL : a->positions[i];
}

/* Room for `more` lots after the open ones: slide them to the front first, growing
 * only when that is not enough. */
static int lots_reserve(oms_position *p, int32_t more)
{
    if ((int64_t)p->lot_head + p->nlots + more <= p->lot_cap) return OMS_OK;
    if (p->lot_head > 0) {
        memmove(p->lots, p->lots + p->lot_head, (size_t)p->nlots * sizeof *p->lots);
        p->lot_head = 0;
    }
    return grow_array32((void **)&p->lots, &p->lot_cap, (int64_t)p->nlots + more, sizeof *p->lots, 4);
}

int oms_position_reserve_lots(oms_position *p, int32_t lots)
{
    if (p == NULL || lots < 0) return OMS_EINVAL;
    return lots_reserve(p, lots);
}

/* An account an operation may change. */
static int writable(const oms_account *a, const char *op, char *err, size_t errlen)
{
    if (a == NULL) return au_errf(err, errlen, OMS_EINVAL, "%s: no account", op);
    if (a->closed)
        return au_errf(err, errlen, OMS_ESTATE, "account '%s' is closed (merged into '%s'): %s refused",
                    a->name, a->parent ? a->parent->name : "?", op);
    return OMS_OK;
}

static int time_ok(int64_t t)
{
    return t >= OMS_TIME_MIN && t <= OMS_TIME_MAX;
}

/* Round an input amount; op and what name it in the message. */
static int to_cents(const oms_account *a, const char *op, const char *what, double x, int64_t *c,
                    char *err, size_t errlen)
{
    int st = oms_round_cents(x, c);
    if (st == OMS_EINVAL)
        return au_errf(err, errlen, st, "account '%s': %s: %s %g is not a finite number", a->name, op,
                    what, x);
    if (st != OMS_OK)
        return au_errf(err, errlen, st, "account '%s': %s: %s %.15g is beyond the limit %.0f", a->name, op, what, x,
                    OMS_AMOUNT_MAX);
    return OMS_OK;
}

/* cash + delta without int64 overflow. */
static int cash_after(const oms_account *a, int64_t delta, int64_t *out)
{
    return __builtin_add_overflow(a->cash_cents, delta, out) ? OMS_ERANGE : OMS_OK;
}

/* Append a posting: capacity was reserved, so this cannot fail. */
static void post(oms_account *a, int kind, const char *symbol, int64_t cents, int64_t time,
                 int64_t ref)
{
    oms_posting *p = &a->ledger[a->nledger++];
    a->cash_cents += cents;
    p->seq = a->set->next_seq++;
    p->time = time;
    p->kind = kind;
    memset(p->symbol, 0, sizeof p->symbol);
    if (symbol) strcpy(p->symbol, symbol);
    p->amount_cents = cents;
    p->balance_cents = a->cash_cents;
    p->ref = ref;
}

/* The checks shared by deposit, withdrawal and oms_post, leaving the rounded amount.
 * sign is +1 (deposit: at least a cent), -1 (withdrawal: at least a cent, taken out)
 * or 0 (oms_post: any signed amount). */
static int single_prepare(oms_account *a, const char *op, double amount, int sign,
                          int64_t time, int64_t *cents, char *err, size_t errlen)
{
    int st = writable(a, op, err, errlen);
    if (st != OMS_OK) return st;
    if ((st = to_cents(a, op, "amount", amount, cents, err, errlen)) != OMS_OK) return st;
    if (sign != 0 && *cents <= 0)
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': %s: amount %.15g must be at least 0.01",
                    a->name, op, amount);
    if (!time_ok(time))
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': %s: time %lld is out of range", a->name,
                    op, (long long)time);
    int64_t after;
    if (cash_after(a, sign < 0 ? -*cents : *cents, &after))
        return au_errf(err, errlen, OMS_ERANGE, "account '%s': %s: cash would overflow", a->name, op);
    if (ledger_reserve(a, 1))
        return au_errf(err, errlen, OMS_ENOMEM, "account '%s': %s: out of memory", a->name, op);
    return OMS_OK;
}

int oms_deposit(oms_account *a, double amount, int64_t time, int64_t ref, char *err, size_t errlen)
{
    int64_t c;
    int st = single_prepare(a, "deposit", amount, 1, time, &c, err, errlen);
    if (st == OMS_OK) post(a, OMS_LEDGER_DEPOSIT, "", c, time, ref);
    return st;
}

static int funds_ok(const oms_account *a, const char *op, int64_t cents, int flags, char *err,
                    size_t errlen)
{
    if ((flags & OMS_ALLOW_NEGATIVE) || a->cash_cents - cents >= 0) return OMS_OK;
    char want[32], have[32];
    return au_errf(err, errlen, OMS_EFUNDS, "account '%s': %s %s refused: cash is %s", a->name, op,
                oms_cents_format(cents, want, sizeof want),
                oms_cents_format(a->cash_cents, have, sizeof have));
}

int oms_withdraw(oms_account *a, double amount, int64_t time, int64_t ref, int flags, char *err,
                 size_t errlen)
{
    int64_t c;
    int st = single_prepare(a, "withdraw", amount, -1, time, &c, err, errlen);
    if (st == OMS_OK) st = funds_ok(a, "withdraw", c, flags, err, errlen);
    if (st == OMS_OK) post(a, OMS_LEDGER_WITHDRAWAL, "", -c, time, ref);
    return st;
}

int oms_post(oms_account *a, int kind, const char *symbol, double amount, int64_t time,
             int64_t ref, char *err, size_t errlen)
{
    int st = writable(a, "post", err, errlen);
    if (st != OMS_OK) return st;
    if (kind <= OMS_LEDGER_NONE || kind >= OMS_LEDGER_KIND_COUNT || kind == OMS_LEDGER_TRANSFER_IN ||
        kind == OMS_LEDGER_TRANSFER_OUT)
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': post: kind %d is not a single posting",
                    a->name, kind);
    if (symbol != NULL && strlen(symbol) >= OMS_NAME_MAX)
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': post: symbol '%.40s...' is longer than %d",
                    a->name, symbol, OMS_NAME_MAX - 1);
    int64_t c;
    if ((st = single_prepare(a, kind_names[kind], amount, 0, time, &c, err, errlen)) != OMS_OK)
        return st;
    post(a, kind, symbol, c, time, ref);
    return OMS_OK;
}

/* ---- transfers, fork, merge ---- */

/* Everything a transfer of `cents` can refuse, with room reserved on both sides. */
static int transfer_prepare(oms_account *from, oms_account *to, int64_t cents, int flags,
                            char *err, size_t errlen)
{
    int st;
    if ((st = writable(from, "transfer", err, errlen)) || (st = writable(to, "transfer", err, errlen)))
        return st;
    if (from == to || from->set != to->set)
        return au_errf(err, errlen, OMS_EINVAL, "transfer '%s' -> '%s': needs two accounts of one set",
                    from->name, to->name);
    char buf[32];
    int64_t after;
    if (cash_after(to, cents, &after))
        return au_errf(err, errlen, OMS_ERANGE, "transfer '%s' -> '%s' %s: cash would overflow",
                    from->name, to->name, oms_cents_format(cents, buf, sizeof buf));
    if (cash_after(from, -cents, &after))
        return au_errf(err, errlen, OMS_ERANGE, "transfer '%s' -> '%s' %s: cash would overflow",
                    from->name, to->name, oms_cents_format(cents, buf, sizeof buf));
    if ((st = funds_ok(from, "transfer out", cents, flags, err, errlen)) != OMS_OK) return st;
    if (ledger_reserve(from, 1) || ledger_reserve(to, 1))
        return au_errf(err, errlen, OMS_ENOMEM, "transfer '%s' -> '%s': out of memory", from->name,
                    to->name);
    return OMS_OK;
}

static void transfer_post(oms_account *from, oms_account *to, int64_t cents, int64_t time,
                          int64_t ref)
{
    post(from, OMS_LEDGER_TRANSFER_OUT, to->name, -cents, time, ref);
    post(to, OMS_LEDGER_TRANSFER_IN, from->name, cents, time, ref);
}

int oms_transfer(oms_account *from, oms_account *to, double amount, int64_t time, int64_t ref,
                 int flags, char *err, size_t errlen)
{
    if (from == NULL || to == NULL) return au_errf(err, errlen, OMS_EINVAL, "transfer: no account");
    int64_t c;
    int st = to_cents(from, "transfer", "amount", amount, &c, err, errlen);
    if (st != OMS_OK) return st;
    if (c <= 0)
        return au_errf(err, errlen, OMS_EINVAL, "transfer '%s' -> '%s': amount %.15g must be at least 0.01",
                    from->name, to->name, amount);
    if (!time_ok(time))
        return au_errf(err, errlen, OMS_EINVAL, "transfer '%s' -> '%s': time %lld is out of range",
                    from->name, to->name, (long long)time);
    if ((st = transfer_prepare(from, to, c, flags, err, errlen)) != OMS_OK) return st;
    transfer_post(from, to, c, time, ref);
    return OMS_OK;
}

oms_account *oms_fork(oms_account *parent, const char *name, double amount, int64_t time,
                      int64_t ref, int flags, char *err, size_t errlen)
{
    int64_t c;
    if (writable(parent, "fork", err, errlen) != OMS_OK) return NULL;
    if (to_cents(parent, "fork", "amount", amount, &c, err, errlen) != OMS_OK) return NULL;
    if (c < 0 || !time_ok(time)) {
        au_errf(err, errlen, OMS_EINVAL, "account '%s': fork '%s': amount %.15g or time %lld is invalid",
             parent->name, name ? name : "(null)", amount, (long long)time);
        return NULL;
    }
    int64_t after;
    if (cash_after(parent, -c, &after)) {
        au_errf(err, errlen, OMS_ERANGE, "account '%s': fork: cash would overflow", parent->name);
        return NULL;
    }
    if (funds_ok(parent, "fork", c, flags, err, errlen) != OMS_OK) return NULL;
    if (ledger_reserve(parent, 1) != OMS_OK) {
        au_errf(err, errlen, OMS_ENOMEM, "account '%s': fork: out of memory", parent->name);
        return NULL;
    }
    /* The child's ledger is reserved before it joins the set, so nothing fails after. */
    if (set_can_add(parent->set, name, err, errlen) != OMS_OK) return NULL;
    oms_account *child = calloc(1, sizeof *child);
    if (child == NULL || (child->ledger = malloc(64 * sizeof *child->ledger)) == NULL) {
        free(child);
        au_errf(err, errlen, OMS_ENOMEM, "account '%s': fork: out of memory", parent->name);
        return NULL;
    }
    child->ledger_cap = 64;
    strcpy(child->name, name);
    child->set = parent->set;
    child->parent = parent;
    oms_set *s = parent->set;
    s->accounts[s->naccounts] = child;
    index_put(&s->index, child->name, s->naccounts);
    s->naccounts++;
    if (c > 0) transfer_post(parent, child, c, time, ref);
    return child;
}

int oms_merge(oms_account *child, int64_t time, int64_t ref, char *err, size_t errlen)
{
    int st = writable(child, "merge", err, errlen);
    if (st != OMS_OK) return st;
    if (child->parent == NULL)
        return au_errf(err, errlen, OMS_ESTATE, "account '%s': merge: it was not forked", child->name);
    for (int32_t i = 0; i < child->npositions; i++)
        if (child->positions[i]->qty != 0)
            return au_errf(err, errlen, OMS_ESTATE, "account '%s': merge refused: position %s is %.15g",
                        child->name, child->positions[i]->symbol, child->positions[i]->qty);
    const oms_set *s = child->set;
    for (int32_t i = 0; i < s->naccounts; i++)
        if (s->accounts[i]->parent == child && !s->accounts[i]->closed)
            return au_errf(err, errlen, OMS_ESTATE, "account '%s': merge refused: its fork '%s' is open",
                        child->name, s->accounts[i]->name);
    char buf[32];
    if (child->cash_cents < 0)
        return au_errf(err, errlen, OMS_ESTATE, "account '%s': merge refused: cash is %s", child->name,
                    oms_cents_format(child->cash_cents, buf, sizeof buf));
    if (!time_ok(time))
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': merge: time %lld is out of range",
                    child->name, (long long)time);
    if (child->cash_cents > 0) {
        st = transfer_prepare(child, child->parent, child->cash_cents, 0, err, errlen);
        if (st != OMS_OK) return st;
        transfer_post(child, child->parent, child->cash_cents, time, ref);
    } else if ((st = writable(child->parent, "merge", err, errlen)) != OMS_OK) {
        return st;
    }
    child->closed = 1;
    return OMS_OK;
}

/* ---- fills ---- */

static double sign_of(double x)
{
    return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
}

/* Days since the epoch of t's New York calendar date. */
static int64_t ny_date(int64_t t)
{
    int64_t us_of_day;
    return au_time_floor_days(t + (int64_t)au_time_ny_offset(t) * AU_TIME_US_PER_MIN, &us_of_day);
}

/* Long term when the closing date is after the opening date's one-year anniversary
 * (both New York dates); a Feb 29 opening's anniversary is Feb 28. */
static int is_long_term(int64_t open_time, int64_t close_time)
{
    int64_t y;
    int m, d;
    au_time_civil_from_days(ny_date(open_time), &y, &m, &d);
    if (m == 2 && d == 29) d = 28;
    return ny_date(close_time) > au_time_days_from_civil(y + 1, m, d);
}

/* Validate a fill, in words that name the account and symbol. */
static int fill_check(const oms_account *a, const oms_fill *f, char *err, size_t errlen)
{
    const char *sym = f->symbol;
    if (!name_ok(sym))
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': fill: symbol '%.40s' must be 1..%d characters",
                    a->name, sym ? sym : "(null)", OMS_NAME_MAX - 1);
    if (!isfinite(f->qty) || f->qty == 0 || f->qty != trunc(f->qty) || fabs(f->qty) > OMS_QTY_MAX)
        return au_errf(err, errlen, OMS_EINVAL,
                    "account '%s': fill %s: qty %.15g must be a non-zero whole number up to %g",
                    a->name, sym, f->qty, OMS_QTY_MAX);
    if (!isfinite(f->price) || f->price < 0)
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': fill %s: price %.15g must be >= 0",
                    a->name, sym, f->price);
    if (!isfinite(f->multiplier) || f->multiplier < 0)
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': fill %s: multiplier %.15g must be > 0",
                    a->name, sym, f->multiplier);
    if (!isfinite(f->commission) || f->commission < 0)
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': fill %s: commission %.15g must be >= 0",
                    a->name, sym, f->commission);
    int k = f->kind;
    if (k != 0 && k != OMS_LEDGER_FILL && k != OMS_LEDGER_PREMIUM && k != OMS_LEDGER_ASSIGNMENT &&
        k != OMS_LEDGER_EXERCISE && k != OMS_LEDGER_EXPIRY)
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': fill %s: kind %d is not a fill kind",
                    a->name, sym, k);
    if (!time_ok(f->time))
        return au_errf(err, errlen, OMS_EINVAL, "account '%s': fill %s: time %lld is out of range",
                    a->name, sym, (long long)f->time);
    return OMS_OK;
}

static oms_position *position_new(const char *symbol, double multiplier)
{
    oms_position *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    if ((p->lots = malloc(4 * sizeof *p->lots)) == NULL) {
        free(p);
        return NULL;
    }
    p->lot_cap = 4;
    strcpy(p->symbol, symbol);
    p->multiplier = multiplier;
    return p;
}

/* The position a fill goes to, with room for one more lot; a new one is made (not yet
 * added: *fresh) when the symbol is new. */
static int fill_position(oms_account *a, const oms_fill *f, double mult, oms_position **out,
                         int *fresh, char *err, size_t errlen)
{
    oms_position *p = oms_account_position(a, f->symbol);
    *fresh = p == NULL;
    if (p && p->multiplier != mult)
        return au_errf(err, errlen, OMS_EINVAL,
                    "account '%s': fill %s: multiplier %.15g differs from the position's %.15g",
                    a->name, f->symbol, mult, p->multiplier);
    if (p && fabs(p->qty + f->qty) > OMS_QTY_MAX)
        return au_errf(err, errlen, OMS_ERANGE, "account '%s': fill %s: position %.15g + %.15g is beyond %.0f",
                    a->name, f->symbol, p->qty, f->qty, OMS_QTY_MAX);
    if (p == NULL && (positions_reserve(a, 1) || (p = position_new(f->symbol, mult)) == NULL))
        return au_errf(err, errlen, OMS_ENOMEM, "account '%s': fill %s: out of memory", a->name, f->symbol);
    if (lots_reserve(p, 1)) /* a fresh position has room already */
        return au_errf(err, errlen, OMS_ENOMEM, "account '%s': fill %s: out of memory", a->name, f->symbol);
    *out = p;
    return OMS_OK;
}

static void add_lot(oms_position *p, int64_t time, double qty, double cost, int64_t basis)
{
    oms_lot *l = &p->lots[p->lot_head + p->nlots++];
    l->open_time = time;
    l->qty = qty;
    l->cost = cost;
    l->basis_cents = basis;
    p->cost_basis_cents += basis;
}

/* Close `units` (> 0, at most |qty|) oldest-first against `cash` cents received for
 * them.  Each piece realizes its share of the cash minus its share of the lot's basis;
 * the last piece takes what remains of the cash, so the pieces sum to it exactly. */
static void close_fifo(oms_position *p, int64_t units, int64_t cash, int64_t time)
{
    while (units > 0) {
        oms_lot *l = &p->lots[p->lot_head];
        int64_t lot_units = (int64_t)fabs(l->qty);
        int64_t take = units < lot_units ? units : lot_units;
        int64_t piece_cash = take == units ? cash : share_of(cash, take, units);
        int64_t piece_basis = take == lot_units ? l->basis_cents : share_of(l->basis_cents, take, lot_units);
        int64_t pnl = piece_cash - piece_basis;
        if (is_long_term(l->open_time, time))
            p->realized_lt_cents += pnl;
        else
            p->realized_st_cents += pnl;
        l->qty -= sign_of(l->qty) * (double)take;
        l->basis_cents -= piece_basis;
        p->cost_basis_cents -= piece_basis;
        units -= take;
        cash -= piece_cash;
        if (take == lot_units) {
            p->lot_head++;
            p->nlots--;
        }
    }
    if (p->nlots == 0) p->lot_head = 0;
}

static void update_avg_cost(oms_position *p)
{
    double q = 0, qc = 0;
    for (int32_t i = p->lot_head; i < p->lot_head + p->nlots; i++) {
        q += fabs(p->lots[i].qty);
        qc += fabs(p->lots[i].qty) * p->lots[i].cost;
    }
    p->avg_cost = q > 0 ? qc / q : 0;
}

/* The position part of a fill whose cash is `cash` cents. */
static void fill_position_update(oms_position *p, const oms_fill *f, int64_t cash)
{
    int64_t units = (int64_t)fabs(f->qty);
    int64_t closing = 0;
    if (p->qty != 0 && sign_of(p->qty) != sign_of(f->qty)) {
        int64_t held = (int64_t)fabs(p->qty);
        closing = units < held ? units : held;
    }
    int64_t close_cash = closing == units ? cash : share_of(cash, closing, units);
    if (closing > 0) close_fifo(p, closing, close_cash, f->time);
    if (units > closing) /* the basis of an opening is the cash paid for it */
        add_lot(p, f->time, sign_of(f->qty) * (double)(units - closing), f->price, -(cash - close_cash));
    p->qty += f->qty;
    update_avg_cost(p);
}

int oms_apply_fill(oms_account *a, const oms_fill *f, char *err, size_t errlen)
{
    int st = writable(a, "fill", err, errlen);
    if (st != OMS_OK) return st;
    if (f == NULL) return au_errf(err, errlen, OMS_EINVAL, "account '%s': fill: no fill", a->name);
    if ((st = fill_check(a, f, err, errlen)) != OMS_OK) return st;
    double mult = f->multiplier == 0 ? 1.0 : f->multiplier;
    int64_t cash, comm, after;
    double value = -f->qty * f->price * mult;
    if (oms_round_cents(value, &cash) != OMS_OK || oms_round_cents(f->commission, &comm) != OMS_OK) {
        char op[OMS_NAME_MAX + 8]; /* formatted only on failure: fills are the hot path */
        snprintf(op, sizeof op, "fill %s", f->symbol);
        if ((st = to_cents(a, op, "value", value, &cash, err, errlen)) == OMS_OK)
            st = to_cents(a, op, "commission", f->commission, &comm, err, errlen);
        return st;
    }
    if (cash_after(a, cash, &after) || __builtin_sub_overflow(after, comm, &after))
        return au_errf(err, errlen, OMS_ERANGE, "account '%s': fill %s: cash would overflow", a->name,
                    f->symbol);
    if (ledger_reserve(a, 2))
        return au_errf(err, errlen, OMS_ENOMEM, "account '%s': fill %s: out of memory", a->name, f->symbol);
    oms_position *p = NULL;
    int fresh;
    if ((st = fill_position(a, f, mult, &p, &fresh, err, errlen)) != OMS_OK) return st;
    if (fresh) { /* room was reserved: adding cannot fail */
        a->positions[a->npositions] = p;
        index_put(&a->pos_index, p->symbol, a->npositions);
        a->npositions++;
    }
    post(a, f->kind ? f->kind : OMS_LEDGER_FILL, f->symbol, cash, f->time, f->ref);
    if (comm != 0) post(a, OMS_LEDGER_COMMISSION, f->symbol, -comm, f->time, f->ref);
    p->commission_cents += comm;
    fill_position_update(p, f, cash);
    return OMS_OK;
}

/* ---- marking ---- */

double oms_position_unrealized(const oms_position *p, double mark)
{
    if (p == NULL || p->qty == 0) return 0;
    return p->qty * mark * p->multiplier - oms_cents_to_double(p->cost_basis_cents);
}

double oms_position_realized(const oms_position *p)
{
    return p ? oms_cents_to_double(p->realized_st_cents + p->realized_lt_cents) : 0;
}

static int no_mark(const oms_account *a, const oms_position *p, double m, char *err, size_t errlen)
{
    return au_errf(err, errlen, OMS_EINVAL, "account '%s': no finite mark for %s (qty %.15g): %g",
                a->name, p->symbol, p->qty, m);
}

int oms_account_equity(const oms_account *a, oms_mark_fn mark, void *ud, double *equity,
                       char *err, size_t errlen)
{
    if (a == NULL || mark == NULL || equity == NULL)
        return au_errf(err, errlen, OMS_EINVAL, "equity: no account, mark function or result");
    double e = oms_account_cash(a);
    for (int32_t i = 0; i < a->npositions; i++) {
        const oms_position *p = a->positions[i];
        if (p->qty == 0) continue;
        double m = NAN;
        if (mark(ud, p->symbol, &m) != 0 || !isfinite(m)) return no_mark(a, p, m, err, errlen);
        e += p->qty * m * p->multiplier;
    }
    *equity = e;
    return OMS_OK;
}

int oms_account_equity_at(const oms_account *a, const double *marks, int32_t nmarks,
                          double *equity, char *err, size_t errlen)
{
    if (a == NULL || equity == NULL || (marks == NULL && a->npositions > 0) || nmarks < a->npositions)
        return au_errf(err, errlen, OMS_EINVAL, "equity: need an account, a result and %d marks",
                    a ? a->npositions : 0);
    double e = oms_account_cash(a);
    for (int32_t i = 0; i < a->npositions; i++) {
        const oms_position *p = a->positions[i];
        if (p->qty == 0) continue;
        if (!isfinite(marks[i])) return no_mark(a, p, marks[i], err, errlen);
        e += p->qty * marks[i] * p->multiplier;
    }
    *equity = e;
    return OMS_OK;
}

/* ---- invariants ---- */

static int check_ledger(const oms_account *a, char *err, size_t errlen)
{
    int64_t sum = 0, seq = 0;
    for (int64_t i = 0; i < a->nledger; i++) {
        const oms_posting *p = &a->ledger[i];
        sum += p->amount_cents;
        if (p->balance_cents != sum || p->seq <= seq)
            return au_errf(err, errlen, OMS_ESTATE, "account '%s': posting %lld (seq %lld) is inconsistent",
                        a->name, (long long)i, (long long)p->seq);
        seq = p->seq;
    }
    char c1[32], c2[32];
    if (sum != a->cash_cents)
        return au_errf(err, errlen, OMS_ESTATE, "account '%s': cash %s != ledger sum %s", a->name,
                    oms_cents_format(a->cash_cents, c1, sizeof c1), oms_cents_format(sum, c2, sizeof c2));
    return OMS_OK;
}

static int check_position(const oms_account *a, const oms_position *p, char *err, size_t errlen)
{
    double q = 0;
    int64_t basis = 0;
    for (int32_t i = p->lot_head; i < p->lot_head + p->nlots; i++) {
        const oms_lot *l = &p->lots[i];
        if (l->qty == 0 || sign_of(l->qty) != sign_of(p->qty))
            return au_errf(err, errlen, OMS_ESTATE, "account '%s': %s: lot %d has qty %.15g", a->name,
                        p->symbol, (int)(i - p->lot_head), l->qty);
        q += l->qty;
        basis += l->basis_cents;
    }
    if (q != p->qty || basis != p->cost_basis_cents || (p->qty == 0) != (p->nlots == 0))
        return au_errf(err, errlen, OMS_ESTATE, "account '%s': %s: qty %.15g or basis disagrees with its lots",
                    a->name, p->symbol, p->qty);
    return OMS_OK;
}

int oms_account_check(const oms_account *a, char *err, size_t errlen)
{
    if (a == NULL) return au_errf(err, errlen, OMS_EINVAL, "check: no account");
    int st = check_ledger(a, err, errlen);
    for (int32_t i = 0; st == OMS_OK && i < a->npositions; i++)
        st = check_position(a, a->positions[i], err, errlen);
    return st;
}
