-- alluse.oms: the FFI declarations of the order-management core (core/oms/) and the
-- small helpers every user of it needs.  This is the engine's private door to C:
-- strategies never see it (they get ctx), and every pointer handed out here is
-- owned by an oms_set that lives as long as the engine that made it.
--
-- The struct layouts below mirror core/oms/{money,account,order,fill}.h exactly;
-- tests/lua/test_oms_ffi.lua checks sizes and offsets against the C side, so a header
-- change that is not repeated here fails the tests instead of reading stray memory.
local ffi = require("ffi")

local C = ffi.C

if not pcall(ffi.typeof, "oms_set") then
  ffi.cdef [[
typedef struct oms_posting {
  int64_t seq, time;
  int32_t kind;
  char symbol[32];
  int64_t amount_cents, balance_cents, ref;
} oms_posting;
typedef struct oms_lot { int64_t open_time; double qty, cost; int64_t basis_cents; } oms_lot;
typedef struct oms_position {
  char symbol[32];
  double qty, multiplier, avg_cost;
  int64_t cost_basis_cents, realized_st_cents, realized_lt_cents, commission_cents;
  oms_lot *lots;
  int32_t lot_head, nlots, lot_cap;
} oms_position;
typedef struct oms_index_slot { const char *key; int32_t i; } oms_index_slot;
typedef struct oms_index { oms_index_slot *slots; int32_t cap; } oms_index;
struct oms_set;
typedef struct oms_account {
  char name[32];
  int64_t cash_cents;
  oms_posting *ledger;
  int64_t nledger, ledger_cap;
  oms_position **positions;
  int32_t npositions, positions_cap;
  oms_index pos_index;
  struct oms_account *parent;
  int closed;
  struct oms_set *set;
} oms_account;
typedef struct oms_set {
  oms_account **accounts;
  int32_t naccounts, accounts_cap;
  oms_index index;
  int64_t next_seq;
} oms_set;
typedef struct oms_fill {
  const char *symbol;
  double qty, price, multiplier, commission;
  int64_t time, ref;
  int kind;
} oms_fill;

int oms_round_cents(double x, int64_t *cents);
const char *oms_ledger_kind_name(int kind);
oms_set *oms_set_new(void);
void oms_set_free(oms_set *s);
oms_account *oms_set_add(oms_set *s, const char *name, char *err, size_t errlen);
oms_account *oms_set_find(const oms_set *s, const char *name);
int oms_account_reserve(oms_account *a, int64_t postings, int32_t positions);
oms_position *oms_account_position(const oms_account *a, const char *symbol);
double oms_position_unrealized(const oms_position *p, double mark);
double oms_position_realized(const oms_position *p);
int oms_account_check(const oms_account *a, char *err, size_t errlen);
int oms_deposit(oms_account *a, double amount, int64_t time, int64_t ref, char *err, size_t errlen);
int oms_withdraw(oms_account *a, double amount, int64_t time, int64_t ref, int flags, char *err, size_t errlen);
int oms_transfer(oms_account *from, oms_account *to, double amount, int64_t time, int64_t ref,
                 int flags, char *err, size_t errlen);
int oms_post(oms_account *a, int kind, const char *symbol, double amount, int64_t time,
             int64_t ref, char *err, size_t errlen);
int oms_apply_fill(oms_account *a, const oms_fill *f, char *err, size_t errlen);
int oms_account_equity_at(const oms_account *a, const double *marks, int32_t nmarks,
                          double *equity, char *err, size_t errlen);
oms_account *oms_fork(oms_account *parent, const char *name, double amount, int64_t time,
                      int64_t ref, int flags, char *err, size_t errlen);
int oms_merge(oms_account *child, int64_t time, int64_t ref, char *err, size_t errlen);

typedef struct oms_order {
  char id[48];
  char account[32];
  char symbol[32];
  char reason[96];
  int32_t side, type, tif, status;
  int32_t stop_triggered;
  double qty, filled_qty, limit_price, stop_price, avg_price, filled_value;
  int64_t created, updated;
} oms_order;
int oms_order_init(oms_order *o, const char *id, const char *account, const char *symbol,
                   int side, int type, int tif, double qty, double limit_price,
                   double stop_price, int64_t now, char *err, size_t errlen);
const char *oms_order_validate(const oms_order *o);
int oms_order_transition(oms_order *o, int to, int64_t now, char *err, size_t errlen);
int oms_order_reject(oms_order *o, const char *reason, int64_t now, char *err, size_t errlen);
int oms_order_cancel(oms_order *o, const char *reason, int64_t now, char *err, size_t errlen);
int oms_order_expire(oms_order *o, int64_t now, char *err, size_t errlen);
int oms_order_day_expired(const oms_order *o, int64_t bar_time, int64_t session_end);
const char *oms_side_name(int side);
const char *oms_type_name(int type);
const char *oms_tif_name(int tif);
const char *oms_status_name(int status);

typedef struct oms_bar { int64_t time; double open, high, low, close, volume; } oms_bar;
typedef struct oms_fill_model { double slippage_bps, participation; } oms_fill_model;
typedef struct oms_match {
  double qty, price, raw_price;
  int32_t triggered, cancel_rest;
} oms_match;
int oms_fill_match(const oms_order *o, const oms_bar *bar, const oms_fill_model *m,
                   oms_match *out, char *err, size_t errlen);
int oms_fill_apply(oms_order *o, const oms_match *f, int64_t now, char *err, size_t errlen);
typedef struct oms_commission {
  int32_t kind;
  double rate, min_per_order, max_percent;
} oms_commission;
int oms_commission_order(const oms_commission *c, double qty, double value, double *out,
                         char *err, size_t errlen);
int oms_commission_fill(const oms_commission *c, double prev_qty, double prev_value, double qty,
                        double value, double *out, char *err, size_t errlen);
typedef struct oms_exec {
  double qty, price, commission, pos_before, pos_after;
  int64_t cash_cents;
  int32_t triggered, cancel_rest, vetoed;
} oms_exec;
int oms_exec_bar(oms_account *a, oms_order *o, const oms_bar *bar, const oms_fill_model *m,
                 const oms_commission *c, double multiplier, double cash_limit, int64_t ref,
                 oms_exec *out, char *err, size_t errlen);
size_t au_ffi_oms_sizeof(int which);
size_t au_ffi_oms_offsetof(int which);
typedef struct oms_order_x {
  int64_t session_end;
  double reserve, open, cover;
  int32_t account, sid, auto_id, working;
} oms_order_x;
typedef struct oms_trip {
  double qty, entry_time, entry_qty, entry_value, exit_qty, exit_value, cash, commission, bar0;
  int32_t side, open;
} oms_trip;
typedef struct oms_trade {
  double qty, entry_time, entry_price, exit_time, exit_price, bars, gross, commission, pnl;
  int32_t account, sid, side;
} oms_trade;
typedef struct oms_book_event {
  int32_t kind, k;
  double qty, price, commission;
  int64_t time;
} oms_book_event;
typedef struct oms_book_inst {
  char symbol[32];
  int32_t trigger, right;
  double strike, multiplier;
  int32_t *work;
  int32_t nlist, list_cap;
} oms_book_inst;
typedef struct oms_book_slot {
  int32_t sid, pad;
  double pending_buy, pending_sell, cover;
  oms_position *pos;
  oms_trip trip;
} oms_book_slot;
typedef struct oms_book_account {
  oms_account *acct;
  double reserved, exposed, exposed_since;
  int64_t commissions_cents;
  int32_t nopen, has_options;
  oms_book_slot *slots;
  int32_t nslots, slots_cap;
  int32_t *hash;
  int32_t hash_cap, pad;
} oms_book_account;
typedef struct oms_book {
  int32_t norders, ntrades;
  int64_t nfills, commissions_cents;
  double event, fill_time;
  int32_t nopen, want_orders, want_fills, nev, ev_cap;
  double exposed, exposed_since;
  int32_t max_instruments;
  int32_t *nwork;
  double *mark, *barcount;
  oms_book_inst *inst;
  oms_book_account *acct;
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
oms_book *oms_book_new(int32_t max_instruments, const oms_fill_model *m, const oms_commission *equity,
                       const oms_commission *option, int allow_margin);
void oms_book_free(oms_book *b);
int oms_book_add_instrument(oms_book *b, int32_t sid, const char *symbol, int32_t trigger,
                            int32_t right, double strike, double multiplier, char *err, size_t errlen);
int32_t oms_book_add_account(oms_book *b, oms_account *a, char *err, size_t errlen);
oms_order *oms_book_order(oms_book *b, int32_t k);
oms_order_x *oms_book_order_x(oms_book *b, int32_t k);
oms_trade *oms_book_trade(oms_book *b, int32_t k);
oms_book_event *oms_book_event_at(oms_book *b, int32_t i);
int32_t oms_book_new_order(oms_book *b, int32_t acct, int32_t sid, const char *id, const char *symbol,
                           int side, int type, int tif, double qty, double limit_price,
                           double stop_price, int64_t now, char *err, size_t errlen);
int oms_book_reject(oms_book *b, int32_t k, const char *reason, int64_t now, char *err, size_t errlen);
int oms_book_accept(oms_book *b, int32_t k, double reserve, double cover, int64_t session_end,
                    int64_t now, char *err, size_t errlen);
int oms_book_cancel(oms_book *b, int32_t k, const char *reason, int64_t now, char *err, size_t errlen);
int32_t oms_book_match(oms_book *b, int32_t sid, const oms_bar *bar, int quoted, double bid,
                       double ask, char *err, size_t errlen);
int oms_book_trip(oms_book *b, int32_t acct, int32_t sid, double before, double after,
                  double signed_qty, double price, double cash, double comm, int64_t time);
double oms_book_pending(const oms_book *b, int32_t acct, int32_t sid, int side);
double oms_book_cover_reserved(const oms_book *b, int32_t acct, int32_t u);
double oms_book_secured(const oms_book *b, int32_t acct);
double oms_book_covered(const oms_book *b, int32_t acct, int32_t u);
oms_position *oms_book_position(oms_book *b, int32_t acct, int32_t sid);
int32_t oms_book_working(const oms_book *b, int32_t acct);
]]
end

local M = {}

M.C = C
M.OK = 0
M.status = { EINVAL = -1, ENOMEM = -2, EFUNDS = -3, ERANGE = -4, EEXIST = -5, ENOTFOUND = -6, ESTATE = -7 }
M.ALLOW_NEGATIVE = 1

M.BUY, M.SELL = 1, 2
M.side = { buy = 1, sell = 2 }
M.type = { market = 1, limit = 2, stop = 3, stop_limit = 4 }
M.tif = { day = 1, gtc = 2, ioc = 3 }
M.NEW, M.ACCEPTED, M.PARTIALLY_FILLED, M.FILLED, M.CANCELED, M.REJECTED, M.EXPIRED = 0, 1, 2, 3, 4, 5, 6
M.commission = { none = 0, per_share = 1, per_contract = 2, percent = 3 }
M.ledger = {
  deposit = 1, withdrawal = 2, transfer_in = 3, transfer_out = 4, fill = 5, commission = 6,
  premium = 7, assignment = 8, exercise = 9, expiry = 10, dividend = 11,
}

-- One error buffer per process: every C call that can fail writes its message here
-- and the caller copies it out at once with M.errmsg().
local ERRLEN = 256
local errbuf = ffi.new("char[?]", ERRLEN)
M.errbuf, M.ERRLEN = errbuf, ERRLEN
function M.errmsg() return ffi.string(errbuf) end

local names = {
  side = C.oms_side_name, type = C.oms_type_name, tif = C.oms_tif_name,
  status = C.oms_status_name, ledger = C.oms_ledger_kind_name,
}
-- Name of a C enum value, cached: names are static C strings, the Lua copies are
-- made once per value.
local name_cache = {}
for what, fn in pairs(names) do
  local cache = {}
  name_cache[what] = setmetatable(cache, { __index = function(t, k)
    local p = fn(k)
    local s = p ~= nil and ffi.string(p) or "?"
    t[k] = s
    return s
  end })
end
function M.name(what, value) return name_cache[what][value] end

-- A new order book (core/oms/book.h), freed with the engine that holds it.
function M.new_book(max_instruments, model, comm, opt_comm, allow_margin)
  local b = C.oms_book_new(max_instruments, model, comm, opt_comm, allow_margin and 1 or 0)
  if b == nil then error("oms: out of memory creating the order book", 2) end
  return ffi.gc(b, C.oms_book_free)
end

-- A new account set, freed with the engine that holds it.
function M.new_set()
  local s = C.oms_set_new()
  if s == nil then error("oms: out of memory creating the account set", 2) end
  return ffi.gc(s, C.oms_set_free)
end

-- Cents (int64 cdata or number) to a Lua number of dollars: exact cents / 100.
function M.dollars(cents) return tonumber(cents) / 100 end

-- Round dollars to cents by the ledger's rule; nil, message when it cannot be.
local cents_box = ffi.new("int64_t[1]")
function M.round_cents(x)
  local rc = C.oms_round_cents(x, cents_box)
  if rc ~= 0 then return nil end
  return tonumber(cents_box[0]) / 100
end

return M
