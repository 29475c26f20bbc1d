-- alluse.series: bar series as FFI columns.
--
--   local series = require("alluse.series")
--   local s = series.new("SPY", "1d")
--   s:append(t_us, open, high, low, close, volume)   -- s:reserve(n) first when n is known
--   s.close[0], #s.close, s.n              -- columns are FFI arrays: index 0 is the first bar
--   local v = s:slice(from_us, to_us)      -- a view: no copy
--
-- A series is a Lua object over a C md_series (core/md/series.h).  Its columns
-- (time, open, high, low, close, volume and, when present, adj_close) are small FFI
-- structs {v = pointer, n = count} whose [] is bounds-checked (an index outside
-- 0..n-1 raises rather than reading stray memory) and whose # is the count; `.v` is
-- the raw pointer for the tightest loops.  Each column keeps the C series alive by a
-- reference count, so a column outlives a dropped series safely.  Times are µs UTC.
local ffi = require("ffi")
local C = ffi.C

ffi.cdef [[
typedef struct md_series {
  char symbol[32];
  int32_t timeframe;
  int64_t n, cap;
  int64_t *time;
  double *open, *high, *low, *close, *volume;
  double *adj_close;
  void *owner;
  int32_t refs;
  void (*destroy)(struct md_series *s);
} md_series;
md_series *md_series_new(const char *symbol, int32_t timeframe, int with_adj_close);
void md_series_retain(md_series *s);
void md_series_release(md_series *s);
int md_series_reserve(md_series *s, int64_t n);
int md_series_append(md_series *s, int64_t time, double open, double high, double low,
                     double close, double volume, double adj);
int64_t md_series_lower_bound(const md_series *s, int64_t t);
md_series *md_series_view(md_series *s, int64_t from, int64_t to);
const char *md_timeframe_name(int32_t tf, char *buf, size_t buflen);
int32_t md_timeframe_parse(const char *name);
md_series *md_resample(const md_series *in, int32_t timeframe, int flags, char *err, size_t errlen);
typedef struct md_col { double *v; int64_t n; md_series *s; } md_col;
typedef struct md_tcol { int64_t *v; int64_t n; md_series *s; } md_tcol;
]]

local M = {}

local function index_error(c, i)
  error(string.format("column index %s out of range 0..%d", tostring(i), tonumber(c.n) - 1), 3)
end

local col_mt = {
  __index = function(c, i)
    if type(i) == "number" and i >= 0 and i < c.n and i == math.floor(i) then return c.v[i] end
    index_error(c, i)
  end,
  __newindex = function() error("series columns are read-only", 2) end,
  __len = function(c) return tonumber(c.n) end,
}
local tcol_mt = {
  __index = function(c, i)
    if type(i) == "number" and i >= 0 and i < c.n and i == math.floor(i) then return tonumber(c.v[i]) end
    index_error(c, i)
  end,
  __newindex = function() error("series columns are read-only", 2) end,
  __len = function(c) return tonumber(c.n) end,
}
local col_t = ffi.metatype("md_col", col_mt)
local tcol_t = ffi.metatype("md_tcol", tcol_mt)

local function release_col(c) C.md_series_release(c.s) end

local function make_col(ct, ptr, cs)
  C.md_series_retain(cs)
  return ffi.gc(ct(ptr, cs.n, cs), release_col)
end

local FIELDS = { "open", "high", "low", "close", "volume" }

local Series = {}
Series.__index = Series
Series.__len = function(s) return s.n end

local tfbuf = ffi.new("char[16]")
local function tf_name(tf) return ffi.string(C.md_timeframe_name(tf, tfbuf, 16)) end

-- Build (or rebuild after the columns moved) the Lua-side column objects.
local function attach_columns(s)
  local cs = s._cs
  s.n = tonumber(cs.n)
  s.time = make_col(tcol_t, cs.time, cs)
  for _, f in ipairs(FIELDS) do s[f] = make_col(col_t, cs[f], cs) end
  s.adj_close = cs.adj_close ~= nil and make_col(col_t, cs.adj_close, cs) or nil
  s._cap = tonumber(cs.cap)
end

-- Wrap a C series the caller holds one reference to; that reference becomes ours.
function M.wrap(cs)
  if type(cs) ~= "cdata" or not ffi.istype("md_series *", cs) or cs == nil then
    error("series.wrap: expects a md_series pointer", 2)
  end
  local s = setmetatable({ _cs = ffi.gc(cs, C.md_series_release) }, Series)
  s.symbol = ffi.string(cs.symbol)
  s.timeframe = tf_name(cs.timeframe)
  attach_columns(s)
  return s
end

function M.parse_timeframe(name)
  if type(name) ~= "string" then error("timeframe must be a string like '1m', '5m', '1h', '1d', '1w', '1mo'", 3) end
  local tf = C.md_timeframe_parse(name)
  if tf == 0 then error("unknown timeframe '" .. name .. "' (use 1m, 5m, 15m, 30m, 1h, 1d, 1w, 1mo)", 3) end
  return tf
end

-- The name a timeframe goes by ("60m" -> "1h", "daily" -> "1d"); raises on an unknown one.
function M.timeframe_name(name)
  return tf_name(M.parse_timeframe(name))
end

function M.new(symbol, timeframe, opts)
  if type(symbol) ~= "string" or #symbol == 0 or #symbol >= 32 then
    error("series.new: symbol must be a string of 1 to 31 characters", 2)
  end
  local tf = M.parse_timeframe(timeframe or "1d")
  local cs = C.md_series_new(symbol, tf, (opts and opts.adj_close) and 1 or 0)
  if cs == nil then error("series.new: out of memory", 2) end
  return M.wrap(cs)
end

local function check_number(v, name)
  if type(v) ~= "number" or v ~= v then error("series:append: " .. name .. " must be a number", 3) end
end

function Series:append(t, o, h, l, c, v, adj)
  check_number(t, "time")
  if t ~= math.floor(t) or math.abs(t) >= 2 ^ 53 then error("series:append: time must be integer microseconds", 2) end
  check_number(o, "open") check_number(h, "high") check_number(l, "low") check_number(c, "close")
  check_number(v, "volume")
  if adj ~= nil then check_number(adj, "adj_close") end
  local rc = C.md_series_append(self._cs, t, o, h, l, c, v, adj or 0 / 0)
  if rc == -2 then error("series:append: time " .. t .. " is not after the last bar's", 2) end
  if rc == -3 then error("series:append: this series is a view or a stored file; it cannot grow", 2) end
  if rc ~= 0 then error("series:append: out of memory", 2) end
  local cs = self._cs
  if tonumber(cs.cap) ~= self._cap then
    attach_columns(self)   -- the columns were reallocated
  else
    local n = cs.n
    self.n = tonumber(n)
    self.time.n = n
    for _, f in ipairs(FIELDS) do self[f].n = n end
    if self.adj_close then self.adj_close.n = n end
  end
  return self
end

-- Room for n bars in all, so appending a known count grows the columns once and
-- leaves no doubling slack (a series read from a database).
function Series:reserve(n)
  check_number(n, "count")
  if C.md_series_reserve(self._cs, n) ~= 0 then
    error("series:reserve: out of memory, or a view or stored file (it cannot grow)", 2)
  end
  if tonumber(self._cs.cap) ~= self._cap then attach_columns(self) end
  return self
end

-- Index of the first bar at or after t (0-based; n when none).
function Series:lower_bound(t)
  check_number(t, "time")
  return tonumber(C.md_series_lower_bound(self._cs, t))
end

-- Rows [i, j) as a view sharing memory with this series.
function Series:view(i, j)
  check_number(i, "from index") check_number(j, "to index")
  local v = C.md_series_view(self._cs, i, j)
  if v == nil then error("series:view: out of memory", 2) end
  return M.wrap(v)
end

-- Bars with from <= time < to (µs UTC; nil for an open end), as a view.
function Series:slice(from, to)
  local i = from and self:lower_bound(from) or 0
  local j = to and self:lower_bound(to) or self.n
  return self:view(i, j)
end

-- One bar as a table (0-based index): for printing and tests, not for hot loops.
function Series:bar(i)
  local b = { time = self.time[i] }
  for _, f in ipairs(FIELDS) do b[f] = self[f][i] end
  if self.adj_close then b.adj_close = self.adj_close[i] end
  return b
end

local errbuf = ffi.new("char[256]")

-- Bars of a longer timeframe (rules in docs/data.md).  opts.regular: intraday targets
-- keep only the regular session; opts.extended: daily targets keep pre/post-market bars.
function Series:resample(timeframe, opts)
  local tf = M.parse_timeframe(timeframe)
  if opts ~= nil and type(opts) ~= "table" then error("series:resample: opts must be a table", 2) end
  local flags = ((opts and opts.regular) and 1 or 0) + ((opts and opts.extended) and 2 or 0)
  local cs = C.md_resample(self._cs, tf, flags, errbuf, 256)
  if cs == nil then return nil, ffi.string(errbuf) end
  return M.wrap(cs)
end

function Series:__tostring()
  return string.format("series %s %s: %d bars", self.symbol, self.timeframe, self.n)
end

M.Series = Series
return M
