-- alluse.occ: OCC option symbols — `AAPL  240119P00190000` — read into contracts and
-- written back.
--
--   local occ = require("alluse.occ")
--   local c = occ.parse("AAPL  240119P00190000")
--   --> { underlying = "AAPL", root = "AAPL", expiry = "2024-01-19", right = "put",
--   --    strike = 190, multiplier = 100, expiry_time = 1705698000000000 }
--   occ.format{ underlying = "AAPL", expiry = "2024-01-19", right = "put", strike = 190 }
--   --> "AAPL  240119P00190000"
--   occ.is_occ("AAPL240119P00190000")  --> true (the compact form)
--
-- The parsing and writing are core/options/occ.c, called through the FFI; this file
-- checks every argument before the call, turns dates into expiry instants with
-- alluse.calendar, and decides what a non-standard contract (a root ending in a digit,
-- such as SPY7 minis) means.  See docs/options.md.
--
-- Errors: a wrong argument type raises (error(msg, 2)); a string that is not a
-- symbol, or a non-standard one not asked for, returns nil, message.
local ffi = require("ffi")
local cal = require("alluse.calendar")
local check = require("alluse.check")

local C = ffi.C
local type, pairs, error, tostring, tonumber, pcall = type, pairs, error, tostring, tonumber, pcall
local format = string.format
local show = check.show

if not pcall(ffi.typeof, "occ_contract") then
  ffi.cdef([[
typedef struct occ_contract {
  char root[7];
  int32_t year, month, day;
  int32_t right;
  double strike;
} occ_contract;
int occ_parse(const char *s, size_t len, occ_contract *out, char *err, size_t errlen);
int occ_format(const occ_contract *c, char *buf, size_t buflen, char *err, size_t errlen);
]])
end

-- Mirrors of occ.h.
local CALL, PUT = 1, 2
local BUFLEN = 22
local ROOT_MAX = 6

-- Scratch space; Lua runs one call at a time, so sharing is safe.
local contract = ffi.new("occ_contract")
local ERRLEN = 512 -- longer than any message occ.c writes (a 40-byte quote + reason)
local errbuf = ffi.new("char[?]", ERRLEN)
local symbuf = ffi.new("char[?]", BUFLEN)

local M = {
  MULTIPLIER = 100, -- shares per standard contract
}

local RIGHT_NAME = { [CALL] = "call", [PUT] = "put" }
local RIGHT_CODE = { call = CALL, put = PUT, C = CALL, P = PUT }

-- The close of the last trading session on or before an expiry date, by date text.
-- Memoised: a chain has a few dozen expiries and thousands of contracts, and the
-- dates a process can meet are bounded (2000..2099).
local close_cache = {}

-- The instant trading in a contract expiring on date ("YYYY-MM-DD") ends: the close
-- of that day's regular session (16:00 New York, 13:00 on an early close), or, when
-- the date is not a trading day (the Saturday dates of monthly contracts listed
-- before 2015, a Friday holiday), the close of the last trading day before it.
function M.expiry_time(date)
  if type(date) ~= "string" then
    error("occ.expiry_time: expected a date \"YYYY-MM-DD\", got " .. show(date), 2)
  end
  local t = close_cache[date]
  if t then return t end
  local ok, trades = pcall(cal.is_trading_day, date)
  if not ok then
    error("occ.expiry_time: " .. tostring(trades):gsub("^.-calendar%.is_trading_day: ", ""), 2)
  end
  local day = date
  if not trades then
    day = cal.previous_trading_day(date)
    if not day then error("occ.expiry_time: no trading day before " .. date .. " in the calendar", 2) end
  end
  local _, close = cal.session(day)
  close_cache[date] = close
  return close
end

local OPTS = { allow_nonstandard = "boolean", multiplier = "number" }

local function check_opts(opts)
  if opts == nil then return end
  if type(opts) ~= "table" then
    error("occ.parse: opts must be a table or nil, got " .. show(opts), 3)
  end
  for k, v in pairs(opts) do
    local want = OPTS[k]
    if want == nil then
      error("occ.parse: unknown option " .. show(k) .. " (allow_nonstandard, multiplier)", 3)
    end
    if type(v) ~= want then
      error(format("occ.parse: opts.%s must be a %s, got %s", k, want, show(v)), 3)
    end
  end
  local m = opts.multiplier
  if m ~= nil and not (m > 0 and m < math.huge) then
    error("occ.parse: opts.multiplier must be a positive number, got " .. show(m), 3)
  end
end

-- s as a contract table, or nil, message.  opts.allow_nonstandard accepts roots that
-- end in a digit: such a contract gets nonstandard = true, the root without its
-- trailing digits as underlying, and opts.multiplier as multiplier, or nil — the
-- deliverable is not knowable from the symbol.  Standard contracts are always 100.
function M.parse(s, opts)
  if type(s) ~= "string" then error("occ.parse: expected a symbol string, got " .. show(s), 2) end
  check_opts(opts)
  if C.occ_parse(s, #s, contract, errbuf, ERRLEN) ~= 0 then
    return nil, "occ.parse: " .. ffi.string(errbuf)
  end
  local root = ffi.string(contract.root)
  local underlying = root:gsub("%d+$", "")
  local nonstandard = underlying ~= root
  if nonstandard and not (opts and opts.allow_nonstandard) then
    return nil, format("occ.parse: %s is a non-standard contract (root %s ends in a digit: an "
      .. "adjusted or mini deliverable, not 100 shares of %s); pass {allow_nonstandard = true} "
      .. "to read it", show(s), root, underlying)
  end
  local expiry = format("%04d-%02d-%02d", contract.year, contract.month, contract.day)
  local multiplier = M.MULTIPLIER
  if nonstandard then multiplier = opts.multiplier end
  return {
    underlying = underlying,
    root = root,
    expiry = expiry,
    right = RIGHT_NAME[contract.right],
    strike = contract.strike,
    multiplier = multiplier,
    expiry_time = M.expiry_time(expiry),
    nonstandard = nonstandard or nil,
  }
end

-- true when s is a well-formed OCC symbol (padded or compact, standard or not).
function M.is_occ(s)
  if type(s) ~= "string" then return false end
  return C.occ_parse(s, #s, contract, nil, 0) == 0
end

-- Raised from fill, on behalf of format's caller: level 4 is the line calling format.
local function fail(msg)
  error("occ.format: " .. msg, 4)
end

-- The fields of a format argument into the scratch contract; raises on a bad one.
local function fill(t)
  local root = t.root
  if root == nil then root = t.underlying end
  if type(root) ~= "string" then fail("underlying (or root) must be a string, got " .. show(root)) end
  if #root == 0 or #root > ROOT_MAX then
    fail("the root " .. show(root) .. " must be 1..6 characters (a longer underlying has a "
      .. "shorter option root; pass it as root =)")
  end
  local e = t.expiry
  local y, m, d
  if type(e) == "string" then y, m, d = e:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$") end
  if not y then fail("expiry must be a date \"YYYY-MM-DD\", got " .. show(e)) end
  local code = RIGHT_CODE[t.right]
  if not code then fail("right must be \"call\" or \"put\" (or \"C\", \"P\"), got " .. show(t.right)) end
  if type(t.strike) ~= "number" then fail("strike must be a number, got " .. show(t.strike)) end
  ffi.fill(contract.root, 7)
  ffi.copy(contract.root, root, #root)
  contract.year, contract.month, contract.day = tonumber(y), tonumber(m), tonumber(d)
  contract.right = code
  contract.strike = t.strike
end

-- {underlying=, expiry=, right=, strike=} (root = in place of, or as well as,
-- underlying: the root is what is written) as the 21-character padded symbol.
-- Raises error(msg, 2) on a bad argument, including a strike that is not a multiple
-- of 0.001 or a date outside 2000..2099.
function M.format(t)
  if type(t) ~= "table" then
    error("occ.format: expected {underlying=, expiry=, right=, strike=}, got " .. show(t), 2)
  end
  fill(t)
  if C.occ_format(contract, symbuf, BUFLEN, errbuf, ERRLEN) ~= 0 then
    error("occ.format: " .. ffi.string(errbuf):gsub("^cannot write an OCC symbol: ", ""), 2)
  end
  return ffi.string(symbuf, 21)
end

return M
