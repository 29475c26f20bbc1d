-- alluse.oms: the ffi.cdef copies of the oms structs match the C headers byte for
-- byte (core/oms/ffi_layout.c reports the C side), and the small helpers work.
local t = require("alluse.test")
local ffi = require("ffi")
local oms = require("alluse.oms")

local structs = {
  { "oms_posting", "ref" }, { "oms_lot", "basis_cents" }, { "oms_position", "lot_cap" },
  { "oms_account", "set" }, { "oms_set", "next_seq" }, { "oms_fill", "kind" },
  { "oms_order", "updated" }, { "oms_bar", "volume" }, { "oms_fill_model", "participation" },
  { "oms_match", "cancel_rest" }, { "oms_commission", "max_percent" }, { "oms_exec", "vetoed" },
  { "oms_order_x", "working" }, { "oms_trip", "open" }, { "oms_trade", "side" }, { "oms_book_event", "time" },
  { "oms_book_inst", "list_cap" }, { "oms_book_slot", "trip" }, { "oms_book_account", "pad" }, { "oms_book", "pad" },
}
for i, s in ipairs(structs) do
  local name, last = s[1], s[2]
  t.is(ffi.sizeof(name), tonumber(oms.C.au_ffi_oms_sizeof(i - 1)), "sizeof " .. name)
  t.is(ffi.offsetof(name, last), tonumber(oms.C.au_ffi_oms_offsetof(i - 1)),
    "offsetof " .. name .. "." .. last)
end
t.is(tonumber(oms.C.au_ffi_oms_sizeof(#structs)), 0, "out of range asks get 0")

t.is(oms.name("side", 1), "buy", "side name")
t.is(oms.name("status", oms.PARTIALLY_FILLED), "partially_filled", "status name")
t.is(oms.name("ledger", oms.ledger.commission), "commission", "ledger kind name")
t.is(oms.name("type", 99), "?", "unknown value")
t.is(oms.round_cents(0.125), 0.13, "half away from zero")
t.is(oms.round_cents(-0.125), -0.13, "negative half away from zero")
t.is(oms.round_cents(0 / 0), nil, "NaN has no cents")

local set = oms.new_set()
local a = oms.C.oms_set_add(set, "main", oms.errbuf, oms.ERRLEN)
t.ok(a ~= nil, "account added")
t.is(oms.C.oms_deposit(a, 100.005, 0, 0, oms.errbuf, oms.ERRLEN), 0, "deposit")
t.is(oms.dollars(a.cash_cents), 100.01, "cash in dollars")
t.is(oms.C.oms_withdraw(a, 1000, 0, 0, 0, oms.errbuf, oms.ERRLEN), oms.status.EFUNDS, "overdraw refused")
t.like(oms.errmsg(), "main", "the message names the account")
