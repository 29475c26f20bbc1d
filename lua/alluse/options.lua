-- alluse.options: option pricing over core/options/bsm.c (docs/options.md "Pricing").
--
--   local opt = require("alluse.options")
--   local g = opt.bs { spot = 100, strike = 105, t = 30 / 365, rate = 0.04, div = 0.01,
--                      vol = 0.2, right = "call" }       -- {price, delta, gamma, vega, theta, rho}
--   local vol, err = opt.iv { price = 1.23, spot = 100, strike = 105, t = 30 / 365,
--                             rate = 0.04, right = "call" }
--   local a = opt.crr { spot = 100, strike = 105, t = 1, vol = 0.3, right = "put" } -- {price, delta}
--   opt.theta_per_day(g.theta), opt.vega_per_pct(g.vega)
--
-- The table functions check every field and raise on a bad one (error(msg, 2), naming
-- the field); opt.iv returns nil, message, code for a price it cannot invert.  Hot loops
-- call the C functions themselves, opt.C.opt_bs(...) etc. (declared here; see the doc).
local ffi = require("ffi")
local check = require("alluse.check")

local format, type, pairs = string.format, type, pairs
local show = check.show

ffi.cdef([[
typedef struct opt_greeks { double price, delta, gamma, vega, theta, rho; } opt_greeks;
int opt_bs(int right, double spot, double strike, double t, double rate, double div,
           double vol, opt_greeks *out);
double opt_bs_price(int right, double spot, double strike, double t, double rate, double div,
                    double vol);
int opt_bs_batch(int n, const int *right, const double *strike, const double *t,
                 const double *vol, double spot, double rate, double div, opt_greeks *out);
int opt_iv(int right, double price, double spot, double strike, double t, double rate,
           double div, double *vol, char *err, size_t errlen);
int opt_crr(int right, double spot, double strike, double t, double rate, double div,
            double vol, int steps, double *price, double *delta);
]])

local C = ffi.C
local DBL_MAX = 1.7976931348623157e308
local ERRLEN = 256
local STEPS_MAX = 100000 -- OPT_CRR_STEPS_MAX

local M = {}

M.RIGHT = { call = 1, put = 2 }
M.EINVAL, M.ERANGE, M.ENOMEM = -1, -2, -3
M.CRR_STEPS_MAX = STEPS_MAX
-- The FFI namespace the functions above are declared in, and their struct types:
-- opt.C.opt_bs(opt.RIGHT.call, 100, 105, t, r, q, vol, g) with g = opt.greeks_t().
M.C = C
M.greeks_t = ffi.typeof("opt_greeks")
M.greeks_array_t = ffi.typeof("opt_greeks[?]")

-- ---- argument checks ----

local function is_finite(v)
  return type(v) == "number" and v == v and v >= -DBL_MAX and v <= DBL_MAX
end

-- Level 4 names the caller's line when a check helper (called by the public function)
-- raises; the public functions' own raises use 3.
local function bad(fname, msg, level)
  error(format("options.%s: %s", fname, msg), level or 4)
end

local function need_table(fname, args, fields)
  if type(args) ~= "table" then
    bad(fname, format("expects a table of named arguments {%s}, got %s", fields, show(args)))
  end
end

local function unknown_fields(fname, args, known)
  for k in pairs(args) do
    if not known[k] then
      bad(fname, format("unknown field %s (the fields are %s)", show(k), known[1]))
    end
  end
end

local RIGHTS = { call = 1, put = 2, [1] = 1, [2] = 2 }

local function right_of(fname, v)
  local r = RIGHTS[v]
  if r == nil then
    bad(fname, format('right must be "call" or "put" (or opt.RIGHT.call/put), got %s', show(v)))
  end
  return r
end

-- A finite number, > 0 or >= 0 when asked; nil takes the default when there is one.
local function number(fname, args, key, lowest, default)
  local v = args[key]
  if v == nil and default ~= nil then return default end
  if not is_finite(v) or (lowest == ">0" and not (v > 0)) or (lowest == ">=0" and not (v >= 0)) then
    local what = lowest == ">0" and "a finite number > 0" or lowest == ">=0"
      and "a finite number >= 0" or "a finite number"
    bad(fname, format("%s must be %s, got %s", key, what, show(v)))
  end
  return v
end

local function field_set(list)
  local set = { table.concat(list, ", ") }
  for _, k in ipairs(list) do set[k] = true end
  return set
end

local BS_FIELDS = field_set({ "spot", "strike", "t", "rate", "div", "vol", "right" })
local IV_FIELDS = field_set({ "price", "spot", "strike", "t", "rate", "div", "right" })
local CRR_FIELDS = field_set({ "spot", "strike", "t", "rate", "div", "vol", "right", "steps" })

-- ---- the table API ----

local greeks = ffi.new("opt_greeks")

-- bs{spot, strike, t, vol, right [, rate] [, div]} -> {price, delta, gamma, vega, theta, rho}
function M.bs(args)
  need_table("bs", args, BS_FIELDS[1])
  unknown_fields("bs", args, BS_FIELDS)
  local right = right_of("bs", args.right)
  local spot = number("bs", args, "spot", ">0")
  local strike = number("bs", args, "strike", ">0")
  local t = number("bs", args, "t", ">=0")
  local vol = number("bs", args, "vol", ">0")
  local rate = number("bs", args, "rate", nil, 0)
  local div = number("bs", args, "div", nil, 0)
  if C.opt_bs(right, spot, strike, t, rate, div, vol, greeks) ~= 0 then
    bad("bs", "the inputs are too extreme: a result overflows", 3)
  end
  local g = greeks
  return { price = g.price, delta = g.delta, gamma = g.gamma, vega = g.vega, theta = g.theta,
           rho = g.rho }
end

local vol_out = ffi.new("double[1]")
local errbuf = ffi.new("char[?]", ERRLEN)
local CODES = { [-1] = "EINVAL", [-2] = "ERANGE" }

-- iv{price, spot, strike, t, right [, rate] [, div]} -> vol, or nil, message, code
-- ("ERANGE": the price is not strictly inside the no-arbitrage bounds; "EINVAL": t == 0
-- or a price that is not a finite number).
function M.iv(args)
  need_table("iv", args, IV_FIELDS[1])
  unknown_fields("iv", args, IV_FIELDS)
  local right = right_of("iv", args.right)
  local price = args.price
  if type(price) ~= "number" then
    bad("iv", "price must be a number, got " .. show(price), 3)
  end
  local spot = number("iv", args, "spot", ">0")
  local strike = number("iv", args, "strike", ">0")
  local t = number("iv", args, "t", ">=0")
  local rate = number("iv", args, "rate", nil, 0)
  local div = number("iv", args, "div", nil, 0)
  local rc = C.opt_iv(right, price, spot, strike, t, rate, div, vol_out, errbuf, ERRLEN)
  if rc ~= 0 then
    return nil, ffi.string(errbuf), CODES[rc] or "EINVAL"
  end
  return vol_out[0]
end

local crr_price, crr_delta = ffi.new("double[1]"), ffi.new("double[1]")

-- crr{spot, strike, t, vol, right [, rate] [, div] [, steps = 200]} -> {price, delta}
function M.crr(args)
  need_table("crr", args, CRR_FIELDS[1])
  unknown_fields("crr", args, CRR_FIELDS)
  local right = right_of("crr", args.right)
  local spot = number("crr", args, "spot", ">0")
  local strike = number("crr", args, "strike", ">0")
  local t = number("crr", args, "t", ">=0")
  local vol = number("crr", args, "vol", ">0")
  local rate = number("crr", args, "rate", nil, 0)
  local div = number("crr", args, "div", nil, 0)
  local steps = args.steps
  if steps == nil then steps = 200 end
  if not check.is_int_in(steps, 1, STEPS_MAX) then
    bad("crr", format("steps must be an integer in 1..%d, got %s", STEPS_MAX, show(steps)), 3)
  end
  local rc = C.opt_crr(right, spot, strike, t, rate, div, vol, steps, crr_price, crr_delta)
  if rc == -3 then error("options.crr: out of memory for the tree", 2) end
  if rc ~= 0 then
    bad("crr", format("%d steps are too few for vol %s against rate - div = %s: the tree's "
      .. "up probability falls outside [0, 1] (vol * sqrt(t / steps) must exceed about "
      .. "|rate - div| * t / steps)", steps, show(vol), show(rate - div)), 3)
  end
  return { price = crr_price[0], delta = crr_delta[0] }
end

-- ---- unit helpers ----

-- Theta per calendar day (theta is per year, ACT/365).
function M.theta_per_day(theta)
  if type(theta) ~= "number" then bad("theta_per_day", "theta must be a number, got " .. show(theta), 3) end
  return theta / 365
end

-- Vega per vol point (vega is per 1.00 of vol).
function M.vega_per_pct(vega)
  if type(vega) ~= "number" then bad("vega_per_pct", "vega must be a number, got " .. show(vega), 3) end
  return vega / 100
end

M.occ = require("alluse.occ")

-- What a sandboxed strategy gets from require("alluse.options"): the checked Lua API
-- only.  Not C, not the ctypes: opt_bs_batch and a greeks array would let a script
-- read or write past an array, which the sandbox must never allow.
function M.safe()
  return {
    bs = M.bs, iv = M.iv, crr = M.crr, theta_per_day = M.theta_per_day, vega_per_pct = M.vega_per_pct,
    RIGHT = { call = 1, put = 2 }, CRR_STEPS_MAX = M.CRR_STEPS_MAX,
    occ = { parse = M.occ.parse, format = M.occ.format, is_occ = M.occ.is_occ, expiry_time = M.occ.expiry_time },
  }
end

return M
