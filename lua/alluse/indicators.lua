-- alluse.indicators: streaming technical indicators with TA-Lib's conventions.
--
--   local ind = require("alluse.indicators")
--   local rsi = ind.rsi(14)
--   local v = rsi:update(close)            -- nil until warm, then the RSI
--   local m, up, lo = ind.bollinger(20, 2):update(close)
--   local line, signal, hist = ind.macd(12, 26, 9):update(close)
--   local atr = ind.atr(14):update(high, low, close)
--   local out = ind.rsi(14):run(series.close)  -- double[n], NaN while not warm
--
-- Each indicator is a C block (core/md/indicators.c) held by an opaque FFI pointer
-- with methods (ffi.metatype) and freed by the GC (ffi.gc).  An update is one FFI
-- call, which the JIT compiles inline: no allocation, no trace abort.  The C side
-- returns NaN while warming up; the method turns that into nil.  The handle's type
-- is opaque (only this module reads the common head, through a cast) and every
-- method checks self's type before calling C, so a sandboxed strategy holding an
-- indicator cannot reach its memory.  Misuse (a bad period, a non-number or
-- non-finite input, a wrong self) raises error(msg, 2).  See docs/indicators.md.
local ffi = require("ffi")

local C = ffi.C
local type, tonumber, tostring, select, error = type, tonumber, tostring, select, error
local abs, floor = math.abs, math.floor
local format = string.format

if not pcall(ffi.typeof, "md_ind_head") then
  ffi.cdef([[
typedef struct md_ind_head {
  int32_t kind, nout;
  double param[3];
  double out[3];
} md_ind_head;
typedef struct md_ind_sma md_ind_sma;
typedef struct md_ind_ema md_ind_ema;
typedef struct md_ind_wma md_ind_wma;
typedef struct md_ind_rsi md_ind_rsi;
typedef struct md_ind_atr md_ind_atr;
typedef struct md_ind_trange md_ind_trange;
typedef struct md_ind_stddev md_ind_stddev;
typedef struct md_ind_bbands md_ind_bbands;
typedef struct md_ind_macd md_ind_macd;
typedef struct md_ind_roc md_ind_roc;
typedef struct md_ind_max md_ind_max;
typedef struct md_ind_min md_ind_min;
typedef struct md_ind_rvol md_ind_rvol;
void *au_ffi_ind_new(int kind, int n1, int n2, int n3, double p1, double p2);
void au_ffi_ind_free(void *ind);
void au_ffi_ind_reset(void *ind);
int64_t au_ffi_ind_lookback(const void *ind);
double au_ffi_ind_sma_update(md_ind_sma *s, double x);
double au_ffi_ind_ema_update(md_ind_ema *s, double x);
double au_ffi_ind_wma_update(md_ind_wma *s, double x);
double au_ffi_ind_rsi_update(md_ind_rsi *s, double x);
double au_ffi_ind_trange_update(md_ind_trange *s, double high, double low, double close);
double au_ffi_ind_atr_update(md_ind_atr *s, double high, double low, double close);
double au_ffi_ind_stddev_update(md_ind_stddev *s, double x);
double au_ffi_ind_bbands_update(md_ind_bbands *s, double x);
double au_ffi_ind_macd_update(md_ind_macd *s, double x);
double au_ffi_ind_roc_update(md_ind_roc *s, double x);
double au_ffi_ind_max_update(md_ind_max *s, double x);
double au_ffi_ind_min_update(md_ind_min *s, double x);
double au_ffi_ind_rvol_update(md_ind_rvol *s, double x);
int64_t au_ffi_ind_run1(void *ind, const double *src, int64_t n, double *out0, double *out1,
                        double *out2);
int64_t au_ffi_ind_run3(void *ind, const double *high, const double *low, const double *close,
                        int64_t n, double *out);
]])
end

-- Mirrors of indicators.h.
local K = {
  sma = 1, ema = 2, wma = 3, rsi = 4, atr = 5, true_range = 6, stddev = 7, bollinger = 8,
  macd = 9, roc = 10, max = 11, min = 12, realized_vol = 13,
}
-- The C struct of each kind.
local CT = {
  sma = "md_ind_sma", ema = "md_ind_ema", wma = "md_ind_wma", rsi = "md_ind_rsi",
  atr = "md_ind_atr", true_range = "md_ind_trange", stddev = "md_ind_stddev",
  bollinger = "md_ind_bbands", macd = "md_ind_macd", roc = "md_ind_roc", max = "md_ind_max",
  min = "md_ind_min", realized_vol = "md_ind_rvol",
}
local N_MAX = 1000000
local DBL_MAX = 1.7976931348623157e308

local head_ptr = ffi.typeof("const md_ind_head *")
local double_array = ffi.typeof("double[?]")
local const_double_ptr = ffi.typeof("const double *")
local cast, istype = ffi.cast, ffi.istype

local M = {}

local check = require("alluse.check")
local show, is_int_in = check.show, check.is_int_in

local function is_finite(v)
  return type(v) == "number" and abs(v) <= DBL_MAX
end

-- ---- inputs to update ----

-- Raised from an update method, so level 3 names the caller's line.
local function bad_input(name, what, v, positive)
  error(format("%s:update: %s must be a %sfinite number, got %s", name, what,
    positive and "positive " or "", show(v)), 3)
end

-- self is not this kind of indicator: a method called with '.', or on something else.
-- Checked before anything reaches C, where a wrong pointer would be a wrong memory write.
local function bad_self(name, method, self)
  error(format("%s:%s: self must be an indicators.%s object, got %s (called with '.' instead of ':'?)",
    name, method, name, type(self) == "cdata" and tostring(ffi.typeof(self)) or show(self)), 3)
end

-- ---- sources for run ----

local function describe_src(where, src)
  return format("%s must be a Lua array of numbers, a double array or pointer, or a column "
    .. "{v = double pointer, n = count}, got %s", where, type(src) == "cdata"
    and tostring(ffi.typeof(src)) or show(src))
end

-- A double array cdata of any size and qualifiers: "ctype<const double [?]>" etc.
local function is_double_array(src)
  return tostring(ffi.typeof(src)):match("^ctype<(.-)double %[[%d?]*%]>$") ~= nil
end

local function column_fields(src)
  return src.v, src.n
end

-- A column's v: a double pointer or array.
local function is_doubles(v)
  return type(v) == "cdata" and (istype(const_double_ptr, v) or is_double_array(v))
end

-- src -> what to pass to C, how many values it has (nil: unknown), how an index is
-- written in a message (0- or 1-based).
local function resolve(fname, where, src)
  local t = type(src)
  if t == "table" then
    if src.v == nil then
      local n = #src
      local buf = double_array(n)
      for i = 1, n do
        local v = src[i]
        if type(v) ~= "number" then
          error(format("%s: %s[%d] must be a number, got %s", fname, where, i, show(v)), 3)
        end
        buf[i - 1] = v
      end
      return buf, n, 1
    end
    local v, n = src.v, tonumber(src.n)
    if not is_doubles(v) or not is_int_in(n, 0, 2 ^ 53) then
      error(format("%s: %s is a column but its v is not a double pointer or its n not a count",
        fname, where), 3)
    end
    if not istype(const_double_ptr, v) and ffi.sizeof(v) / 8 < n then
      error(format("%s: %s is a column whose n (%d) is beyond its array (%d)", fname, where, n,
        ffi.sizeof(v) / 8), 3)
    end
    return v, n, 0
  elseif t == "cdata" then
    if istype(const_double_ptr, src) then return src, nil, 0 end
    if is_double_array(src) then return src, ffi.sizeof(src) / 8, 0 end
    local ok, v, n = pcall(column_fields, src)
    n = ok and tonumber(n)
    if ok and is_doubles(v) and is_int_in(n, 0, 2 ^ 53) then
      return v, n, 0
    end
  end
  error(format("%s: %s", fname, describe_src(where, src)), 3)
end

-- The count to process: n when given (at most what src has), else src's own.
local function count_of(fname, have, n, what)
  if n == nil then
    if have == nil then
      error(format("%s: n is required when %s is a pointer", fname, what), 3)
    end
    return have
  end
  if not is_int_in(n, 0, have or 2 ^ 53) then
    error(format("%s: n must be an integer in 0..%s, got %s", fname,
      have and tostring(have) or "2^53", show(n)), 3)
  end
  return n
end

local function index_text(where, base, i)
  return format("%s[%d]", where, i + base)
end

-- ---- the methods every kind shares ----

local NAMES = {}
for name, kind in pairs(K) do NAMES[kind] = name end

local function head(self)
  return cast(head_ptr, self)
end

local function params(self)
  local h = head(self)
  local kind = h.kind
  if kind == K.true_range then return end
  if kind == K.bollinger or kind == K.macd then return h.param[0], h.param[1], h.param[2] end
  if kind == K.realized_vol then return h.param[0], h.param[1] end
  return h.param[0]
end

local function value(self)
  local h = head(self)
  local v = h.out[0]
  if v ~= v then return nil end
  if h.nout == 1 then return v end
  return v, h.out[1], h.out[2]
end

local function name_of(self)
  return NAMES[head(self).kind]
end

local function to_string(self)
  local p = { params(self) }
  for i = 1, #p do p[i] = show(p[i]) end
  return format("%s(%s)", name_of(self), table.concat(p, ", "))
end

-- run for one-input kinds: fresh arrays aligned with src, NaN while not warm.
local function run1(self, src, n)
  local h = head(self)
  local name = NAMES[h.kind]
  local fname = name .. ":run"
  local p, have, base = resolve(fname, "src", src)
  n = count_of(fname, have, n, "src")
  local o0 = double_array(n)
  local o1, o2
  if h.nout == 3 then o1, o2 = double_array(n), double_array(n) end
  local r = tonumber(C.au_ffi_ind_run1(self, p, n, o0, o1, o2))
  if r ~= n then
    error(format("%s: %s is not a %sfinite number (%s); nothing was processed", fname,
      index_text("src", base, r), h.kind == K.realized_vol and "positive " or "",
      show(tonumber(p[r]))), 2)
  end
  if o1 then return o0, o1, o2 end
  return o0
end

-- run for true range and ATR: run(high, low, close [, n]).
local function run3(self, high, low, close, n)
  local fname = name_of(self) .. ":run"
  local ph, hh, bh = resolve(fname, "high", high)
  local pl, hl, bl = resolve(fname, "low", low)
  local pc, hc, bc = resolve(fname, "close", close)
  if n == nil and hh and hl and hc and (hh ~= hl or hh ~= hc) then
    error(format("%s: high, low and close have different lengths (%d, %d, %d); pass n",
      fname, hh, hl, hc), 2)
  end
  local have = hh
  if hl and (have == nil or hl < have) then have = hl end
  if hc and (have == nil or hc < have) then have = hc end
  n = count_of(fname, have, n, "an input")
  local out = double_array(n)
  local r = tonumber(C.au_ffi_ind_run3(self, ph, pl, pc, n, out))
  if r ~= n then
    local which, p, base = "high", ph, bh
    if not is_finite(tonumber(p[r])) then
      which = "high"
    elseif not is_finite(tonumber(pl[r])) then
      which, p, base = "low", pl, bl
    else
      which, p, base = "close", pc, bc
    end
    error(format("%s: %s is not a finite number (%s); nothing was processed", fname,
      index_text(which, base, r), show(tonumber(p[r]))), 2)
  end
  return out
end

local function reset(self)
  C.au_ffi_ind_reset(self)
  return self
end

local function lookback(self)
  return tonumber(C.au_ffi_ind_lookback(self))
end

-- The metatype of one kind: its update, and the shared methods behind a check of
-- self (a tail call, so error levels inside them still name the caller).
local function define(name, ptr, update, three_inputs)
  local run = three_inputs and run3 or run1
  local function method(fn, mname)
    return function(self, ...)
      if not istype(ptr, self) then bad_self(name, mname, self) end
      return fn(self, ...)
    end
  end
  local methods = {
    update = update,
    run = method(run, "run"),
    reset = method(reset, "reset"),
    value = method(value, "value"),
    lookback = method(lookback, "lookback"),
    params = method(params, "params"),
  }
  ffi.metatype(CT[name], { __index = methods, __tostring = to_string })
end

-- ---- update methods: one per kind, each a single FFI call ----

-- The handle type of each kind.
local T = {}
for name, ctname in pairs(CT) do T[name] = ffi.typeof(ctname .. " *") end

do
  local P = T.sma
  define("sma", P, function(self, x)
    if not istype(P, self) then bad_self("sma", "update", self) end
    if not is_finite(x) then bad_input("sma", "x", x) end
    local v = C.au_ffi_ind_sma_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.ema
  define("ema", P, function(self, x)
    if not istype(P, self) then bad_self("ema", "update", self) end
    if not is_finite(x) then bad_input("ema", "x", x) end
    local v = C.au_ffi_ind_ema_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.wma
  define("wma", P, function(self, x)
    if not istype(P, self) then bad_self("wma", "update", self) end
    if not is_finite(x) then bad_input("wma", "x", x) end
    local v = C.au_ffi_ind_wma_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.rsi
  define("rsi", P, function(self, x)
    if not istype(P, self) then bad_self("rsi", "update", self) end
    if not is_finite(x) then bad_input("rsi", "x", x) end
    local v = C.au_ffi_ind_rsi_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.stddev
  define("stddev", P, function(self, x)
    if not istype(P, self) then bad_self("stddev", "update", self) end
    if not is_finite(x) then bad_input("stddev", "x", x) end
    local v = C.au_ffi_ind_stddev_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.roc
  define("roc", P, function(self, x)
    if not istype(P, self) then bad_self("roc", "update", self) end
    if not is_finite(x) then bad_input("roc", "x", x) end
    local v = C.au_ffi_ind_roc_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.max
  define("max", P, function(self, x)
    if not istype(P, self) then bad_self("max", "update", self) end
    if not is_finite(x) then bad_input("max", "x", x) end
    local v = C.au_ffi_ind_max_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.min
  define("min", P, function(self, x)
    if not istype(P, self) then bad_self("min", "update", self) end
    if not is_finite(x) then bad_input("min", "x", x) end
    local v = C.au_ffi_ind_min_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.realized_vol
  define("realized_vol", P, function(self, x)
    if not istype(P, self) then bad_self("realized_vol", "update", self) end
    if not (is_finite(x) and x > 0) then bad_input("realized_vol", "x", x, true) end
    local v = C.au_ffi_ind_rvol_update(self, x)
    if v ~= v then return nil end
    return v
  end)
end

do
  local P = T.bollinger
  define("bollinger", P, function(self, x)
    if not istype(P, self) then bad_self("bollinger", "update", self) end
    if not is_finite(x) then bad_input("bollinger", "x", x) end
    local v = C.au_ffi_ind_bbands_update(self, x)
    if v ~= v then return nil end
    local h = cast(head_ptr, self)
    return v, h.out[1], h.out[2]
  end)
end

do
  local P = T.macd
  define("macd", P, function(self, x)
    if not istype(P, self) then bad_self("macd", "update", self) end
    if not is_finite(x) then bad_input("macd", "x", x) end
    local v = C.au_ffi_ind_macd_update(self, x)
    if v ~= v then return nil end
    local h = cast(head_ptr, self)
    return v, h.out[1], h.out[2]
  end)
end

do
  local P = T.atr
  define("atr", P, function(self, high, low, close)
    if not istype(P, self) then bad_self("atr", "update", self) end
    if not is_finite(high) then bad_input("atr", "high", high) end
    if not is_finite(low) then bad_input("atr", "low", low) end
    if not is_finite(close) then bad_input("atr", "close", close) end
    local v = C.au_ffi_ind_atr_update(self, high, low, close)
    if v ~= v then return nil end
    return v
  end, true)
end

do
  local P = T.true_range
  define("true_range", P, function(self, high, low, close)
    if not istype(P, self) then bad_self("true_range", "update", self) end
    if not is_finite(high) then bad_input("true_range", "high", high) end
    if not is_finite(low) then bad_input("true_range", "low", low) end
    if not is_finite(close) then bad_input("true_range", "close", close) end
    local v = C.au_ffi_ind_trange_update(self, high, low, close)
    if v ~= v then return nil end
    return v
  end, true)
end

-- ---- constructors ----

local function check_n(name, what, n, lo)
  if not is_int_in(n, lo or 1, N_MAX) then
    error(format("indicators.%s: %s must be an integer in %d..%d, got %s", name, what, lo or 1,
      N_MAX, show(n)), 3)
  end
end

local function new(name, n1, n2, n3, p1, p2)
  local p = C.au_ffi_ind_new(K[name], n1 or 0, n2 or 0, n3 or 0, p1 or 0, p2 or 0)
  if p == nil then error(format("indicators.%s: out of memory", name), 3) end
  return ffi.gc(cast(T[name], p), C.au_ffi_ind_free)
end

-- One-period kinds.
for _, name in ipairs({ "sma", "ema", "wma", "rsi", "atr", "stddev", "roc", "max", "min" }) do
  M[name] = function(n, ...)
    check_n(name, "n", n)
    if select("#", ...) > 0 then error(format("indicators.%s: too many arguments", name), 2) end
    return new(name, n)
  end
end

function M.true_range(...)
  if select("#", ...) > 0 then error("indicators.true_range: takes no arguments", 2) end
  return new("true_range")
end

local function check_k(what, k)
  if not (is_finite(k) and k >= 0) then
    error(format("indicators.bollinger: %s must be a finite number >= 0, got %s", what, show(k)), 3)
  end
end

-- bollinger(n [, k_up [, k_dn]]): k_up defaults to 2, k_dn to k_up.
function M.bollinger(n, k_up, k_dn, ...)
  check_n("bollinger", "n", n)
  if k_up == nil then k_up = 2 end
  if k_dn == nil then k_dn = k_up end
  check_k("k_up", k_up)
  check_k("k_dn", k_dn)
  if select("#", ...) > 0 then error("indicators.bollinger: too many arguments", 2) end
  return new("bollinger", n, 0, 0, k_up, k_dn)
end

-- macd([fast [, slow [, signal]]]): 12, 26, 9 by default; fast <= slow.
function M.macd(fast, slow, signal, ...)
  if fast == nil then fast = 12 end
  if slow == nil then slow = 26 end
  if signal == nil then signal = 9 end
  check_n("macd", "fast", fast)
  check_n("macd", "slow", slow)
  check_n("macd", "signal", signal)
  if fast > slow then
    error(format("indicators.macd: fast (%d) must not be longer than slow (%d)", fast, slow), 2)
  end
  if select("#", ...) > 0 then error("indicators.macd: too many arguments", 2) end
  return new("macd", fast, slow, signal)
end

-- realized_vol(n [, periods]): n >= 2 log returns, annualized by sqrt(periods) (252).
function M.realized_vol(n, periods, ...)
  check_n("realized_vol", "n", n, 2)
  if periods == nil then periods = 252 end
  if not (is_finite(periods) and periods > 0) then
    error("indicators.realized_vol: periods must be a finite number > 0, got " .. show(periods), 2)
  end
  if select("#", ...) > 0 then error("indicators.realized_vol: too many arguments", 2) end
  return new("realized_vol", n, 0, 0, periods)
end

M.N_MAX = N_MAX

return M
