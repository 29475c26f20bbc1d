-- alluse.metrics: a Prometheus metrics registry (text exposition format 0.0.4).
--
--   local metrics = require("alluse.metrics")
--   local reg = metrics.registry()
--   local orders = reg:counter("alluse_orders_total", "Order events by status", {"status"})
--   local filled = orders:labels("filled")      -- bind once, keep the child
--   filled:inc()                                -- hot path
--   orders:inc({status = "rejected"}, 1)        -- convenient, looks the child up
--   body = reg:render()                         -- serve with metrics.CONTENT_TYPE
--
-- Decision (speed): every series keeps its value(s) in a small FFI `double[n]` that
-- the series' Lua handle holds, so inc/set/observe on a bound child is one array
-- load and store the JIT compiles to a few instructions, with no allocation and no
-- C call.  A histogram child has one array: a count per bucket (not cumulative, so
-- observe touches one slot), then the sum and the count; render() accumulates.  The
-- label part of every sample line (`name{a="x",le="0.5"} `) is escaped and built
-- once, when the series is created, so render() only formats numbers and joins one
-- table with table.concat.  Lookups by label values (`labels(...)`, `inc({..})`)
-- cost a string key and a hash lookup: bind children once on hot paths.  Each
-- series remembers the last value it rendered and its whole sample line, so a
-- scrape formats only the lines whose value changed since the previous one and
-- joins one string per line.
--
-- Order of the text: families in registration order, series in first-seen order;
-- a family with labels and no series yet is left out (as client_golang does); a
-- family without labels always has its one series, starting at 0.
local ffi = require("ffi")

local M = {}

M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
M.DEFAULT_BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }

local double_n = ffi.typeof("double[?]")
local format, concat, floor = string.format, table.concat, math.floor
local huge = math.huge

-- Shortest text that reads back as the same double; Prometheus spells the
-- specials +Inf, -Inf and NaN.
local function fmt_num(v)
  if v ~= v then return "NaN" end
  if v == huge then return "+Inf" end
  if v == -huge then return "-Inf" end
  if v == floor(v) and v > -1e15 and v < 1e15 then return format("%d", v) end
  local s = format("%.15g", v)
  if tonumber(s) ~= v then s = format("%.17g", v) end
  return s
end
M.format_value = fmt_num

local function escape_label(s)
  return (s:gsub('[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }))
end

local function escape_help(s)
  return (s:gsub("[\\\n]", { ["\\"] = "\\\\", ["\n"] = "\\n" }))
end

local function check_metric_name(name)
  if type(name) ~= "string" or not name:find("^[a-zA-Z_:][a-zA-Z0-9_:]*$") then
    error(format("metrics: bad metric name %s (want [a-zA-Z_:][a-zA-Z0-9_:]*)",
      type(name) == "string" and format("%q", name) or tostring(name)), 4)
  end
end

-- A metric's series: one Lua table per child holding its FFI values and its
-- pre-built label text.
local Counter, Gauge, Histogram = {}, {}, {}
Counter.__index, Gauge.__index, Histogram.__index = Counter, Gauge, Histogram

function Counter:inc(n)
  if n == nil then n = 1 end
  if not (n >= 0) then
    error(format("metrics: %s: a counter only goes up (inc by %s)", self.metric.name, tostring(n)), 2)
  end
  local v = self.v
  v[0] = v[0] + n
end
function Counter:get() return self.v[0] end

function Gauge:set(n)
  if type(n) ~= "number" then error(format("metrics: %s: set wants a number", self.metric.name), 2) end
  self.v[0] = n
end
function Gauge:inc(n)
  local v = self.v
  v[0] = v[0] + (n or 1)
end
function Gauge:dec(n)
  local v = self.v
  v[0] = v[0] - (n or 1)
end
function Gauge:get() return self.v[0] end

function Histogram:observe(x)
  if x ~= x or type(x) ~= "number" then
    error(format("metrics: %s: observe wants a number, got %s", self.metric.name, tostring(x)), 2)
  end
  local b, n, v = self.bounds, self.nb, self.v
  local i = 0
  while i < n and x > b[i] do i = i + 1 end -- i == n is the +Inf bucket
  v[i] = v[i] + 1
  v[n + 1] = v[n + 1] + x
  v[n + 2] = v[n + 2] + 1
end
function Histogram:get()
  local n, v = self.nb, self.v
  return v[n + 2], v[n + 1]
end

-- A metric family.
local Family = {}
Family.__index = Family

local child_meta = { counter = Counter, gauge = Gauge, histogram = Histogram }

local function label_text(names, values)
  local parts = {}
  for i = 1, #names do parts[i] = names[i] .. '="' .. escape_label(values[i]) .. '"' end
  return concat(parts, ",")
end

function Family:_new_child(values)
  local child = setmetatable({ metric = self }, child_meta[self.type])
  local lt = label_text(self.labelnames, values)
  if self.type == "histogram" then
    local nb = self.nb
    child.bounds, child.nb = self.bounds, nb
    child.v = double_n(nb + 3)
    local sep = lt == "" and "" or lt .. ","
    local bl = {}
    for i = 0, nb do
      bl[i + 1] = self.name .. "_bucket{" .. sep .. 'le="' .. self.le[i + 1] .. '"} '
    end
    child.bucket_lines = bl
    child.lv, child.ls = {}, {} -- the last values rendered and their text
    local tail = lt == "" and " " or "{" .. lt .. "} "
    child.sum_line = self.name .. "_sum" .. tail
    child.count_line = self.name .. "_count" .. tail
  else
    child.v = double_n(1)
    child.line = self.name .. (lt == "" and " " or "{" .. lt .. "} ")
  end
  local list = self.children
  list[#list + 1] = child
  return child
end

local function check_value(self, v, i)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return fmt_num(v) end
  error(format("metrics: %s: label %s wants a string, got %s", self.name,
    self.labelnames[i] or "#" .. i, t), 4)
end

-- labels("a", "b") or labels({name = "a", ...}): the child for those values,
-- created the first time.
function Family:labels(...)
  local first = ...
  local names = self.labelnames
  local nl = #names
  local values
  if type(first) == "table" then
    values = {}
    local seen = 0
    for k in pairs(first) do
      seen = seen + 1
      if not self.labelindex[k] then
        error(format("metrics: %s: unknown label %s (labels: %s)", self.name, tostring(k),
          nl == 0 and "none" or concat(names, ", ")), 3)
      end
    end
    for i = 1, nl do
      local v = first[names[i]]
      if v == nil then
        error(format("metrics: %s: label %s missing", self.name, names[i]), 3)
      end
      values[i] = v
    end
    if seen ~= nl then error(format("metrics: %s: wrong labels", self.name), 3) end
  else
    values = { ... }
    local n = select("#", ...)
    if n ~= nl then
      error(format("metrics: %s: %d label value(s) given, %d wanted (%s)", self.name, n, nl,
        nl == 0 and "no labels" or concat(names, ", ")), 3)
    end
  end
  local key
  if nl == 1 then
    values[1] = check_value(self, values[1], 1)
    key = values[1]
  else
    local parts = {}
    for i = 1, nl do
      local s = check_value(self, values[i], i)
      values[i] = s
      parts[i] = #s .. ":" .. s
    end
    key = concat(parts)
  end
  local child = self.bykey[key]
  if child then return child end
  child = self:_new_child(values)
  self.bykey[key] = child
  return child
end

-- The family's own series (no labels), or the child named by a table of labels.
local function pick(self, lbl, level)
  if type(lbl) == "table" then return self:labels(lbl) end
  local d = self.default
  if not d then
    error(format("metrics: %s has labels (%s): pass them as a table or use labels()",
      self.name, concat(self.labelnames, ", ")), level)
  end
  return d
end

function Family:inc(a, b)
  if type(a) == "table" then return pick(self, a, 3):inc(b) end
  return pick(self, nil, 3):inc(a)
end
function Family:dec(a, b)
  if self.type ~= "gauge" then error(format("metrics: %s: dec is for gauges", self.name), 2) end
  if type(a) == "table" then return pick(self, a, 3):dec(b) end
  return pick(self, nil, 3):dec(a)
end
function Family:set(a, b)
  if self.type ~= "gauge" then error(format("metrics: %s: set is for gauges", self.name), 2) end
  if type(a) == "table" then return pick(self, a, 3):set(b) end
  return pick(self, nil, 3):set(a)
end
function Family:observe(a, b)
  if self.type ~= "histogram" then error(format("metrics: %s: observe is for histograms", self.name), 2) end
  if type(a) == "table" then return pick(self, a, 3):observe(b) end
  return pick(self, nil, 3):observe(a)
end
function Family:get(lbl) return pick(self, lbl, 3):get() end

-- Registry.
local Registry = {}
Registry.__index = Registry

function M.registry()
  return setmetatable({ families = {}, byname = {} }, Registry)
end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local function register(self, kind, name, help, labelnames, buckets)
  check_metric_name(name)
  if type(help) ~= "string" then error(format("metrics: %s: help wants a string", name), 3) end
  labelnames = labelnames or {}
  if type(labelnames) ~= "table" then error(format("metrics: %s: label names want a list", name), 3) end
  local index = {}
  for i, l in ipairs(labelnames) do
    if type(l) ~= "string" or not l:find("^[a-zA-Z_][a-zA-Z0-9_]*$") or l:find("^__") then
      error(format("metrics: %s: bad label name %s (want [a-zA-Z_][a-zA-Z0-9_]*, not __*)",
        name, format("%q", tostring(l))), 3)
    end
    if kind == "histogram" and l == "le" then
      error(format("metrics: %s: a histogram cannot have a label named le", name), 3)
    end
    if index[l] then error(format("metrics: %s: label %s given twice", name, l), 3) end
    index[l] = i
  end
  if kind == "counter" and not name:find("_total$") then
    error(format("metrics: %s: a counter's name ends in _total", name), 3)
  end
  local bounds
  if kind == "histogram" then
    buckets = buckets or M.DEFAULT_BUCKETS
    if type(buckets) ~= "table" then error(format("metrics: %s: buckets want a list", name), 3) end
    bounds = {}
    for i, b in ipairs(buckets) do
      if type(b) ~= "number" or b ~= b then
        error(format("metrics: %s: bucket %d is %s, not a number", name, i, tostring(b)), 3)
      end
      if i > 1 and not (b > buckets[i - 1]) then
        error(format("metrics: %s: buckets must increase (%s after %s)", name,
          fmt_num(b), fmt_num(buckets[i - 1])), 3)
      end
      if b ~= huge then bounds[#bounds + 1] = b end
    end
  end
  local old = self.byname[name]
  if old then
    if old.type ~= kind or old.help ~= help or not same_list(old.labelnames, labelnames)
        or (bounds and not same_list(old.bucketlist, bounds)) then
      error(format("metrics: %s is already registered as a %s with other help, labels or buckets",
        name, old.type), 3)
    end
    return old
  end
  for _, suffix in ipairs({ "_bucket", "_sum", "_count" }) do
    local base = name:sub(1, -#suffix - 1)
    if name:sub(-#suffix) == suffix and self.byname[base] and self.byname[base].type == "histogram" then
      error(format("metrics: %s clashes with histogram %s", name, base), 3)
    end
  end
  local fam = setmetatable({
    type = kind, name = name, help = help, labelnames = { unpack(labelnames) },
    labelindex = index, children = {}, bykey = {},
    header = "# HELP " .. name .. " " .. escape_help(help) .. "\n# TYPE " .. name .. " " .. kind .. "\n",
  }, Family)
  if bounds then
    fam.bucketlist, fam.nb = bounds, #bounds
    fam.bounds = double_n(#bounds + 1)
    -- ffi arrays start at 0: copy so bounds[0] is the first bucket
    for i = 1, #bounds do fam.bounds[i - 1] = bounds[i] end
    fam.le = {}
    for i = 1, #bounds do fam.le[i] = fmt_num(bounds[i]) end
    fam.le[#bounds + 1] = "+Inf"
  end
  if #labelnames == 0 then fam.default = fam:_new_child({}) end
  self.byname[name] = fam
  self.families[#self.families + 1] = fam
  return fam
end

function Registry:counter(name, help, labelnames) return register(self, "counter", name, help, labelnames) end
function Registry:gauge(name, help, labelnames) return register(self, "gauge", name, help, labelnames) end
function Registry:histogram(name, help, labelnames, buckets)
  return register(self, "histogram", name, help, labelnames, buckets)
end
function Registry:get(name) return self.byname[name] end

-- The whole registry as a text exposition body.
function Registry:render()
  local out, n = {}, 0
  for _, fam in ipairs(self.families) do
    local children = fam.children
    if #children > 0 then
      n = n + 1; out[n] = fam.header
      if fam.type == "histogram" then
        local nb = fam.nb
        for _, c in ipairs(children) do
          local v, bl, cum = c.v, c.bucket_lines, 0
          local lv, ls = c.lv, c.ls
          for i = 0, nb do
            cum = cum + v[i]
            if lv[i] ~= cum then lv[i] = cum; ls[i] = bl[i + 1] .. fmt_num(cum) .. "\n" end
            n = n + 1; out[n] = ls[i]
          end
          local x = v[nb + 1]
          if lv[nb + 1] ~= x then lv[nb + 1] = x; ls[nb + 1] = c.sum_line .. fmt_num(x) .. "\n" end
          n = n + 1; out[n] = ls[nb + 1]
          x = v[nb + 2]
          if lv[nb + 2] ~= x then lv[nb + 2] = x; ls[nb + 2] = c.count_line .. fmt_num(x) .. "\n" end
          n = n + 1; out[n] = ls[nb + 2]
        end
      else
        for _, c in ipairs(children) do
          local x = c.v[0]
          if c.lv ~= x then c.lv = x; c.ls = c.line .. fmt_num(x) .. "\n" end
          n = n + 1; out[n] = c.ls
        end
      end
    end
  end
  return concat(out, "", 1, n)
end

-- The live runner's metrics (issue #8).  Returns a table of the families by short
-- name; build_info is set to 1 for this binary's version and commit.
function M.alluse_defaults(reg)
  local m = {}
  m.orders = reg:counter("alluse_orders_total", "Order events by the status they lead to", { "status" })
  m.fills = reg:counter("alluse_fills_total", "Fills, per account", { "account" })
  m.rejects = reg:counter("alluse_order_rejects_total", "Rejected orders by reason", { "reason" })
  m.equity = reg:gauge("alluse_account_equity_dollars", "Account equity (cash plus marked positions)", { "account" })
  m.cash = reg:gauge("alluse_account_cash_dollars", "Account cash", { "account" })
  m.protocol_level = reg:gauge("alluse_protocol_level", "ALL-USE protocol level, per account and ticker",
    { "account", "ticker" })
  m.strategy_errors = reg:counter("alluse_strategy_errors_total", "Strategy callbacks that raised", { "strategy" })
  m.in_flight = reg:gauge("alluse_orders_in_flight",
    "Orders sent to the broker and not yet acknowledged (status new), per account", { "account" })
  m.halted = reg:gauge("alluse_strategy_halted", "1 when the strategy is halted (a callback raised, or a halt command)",
    { "strategy" })
  m.feed_lag = reg:gauge("alluse_feed_lag_seconds", "Time from an event's timestamp to its delivery", { "feed" })
  m.feed_last = reg:gauge("alluse_feed_last_delivery_timestamp_seconds",
    "Wall-clock time (Unix seconds) the feed last delivered events: a feed is stale when it stops moving", { "feed" })
  m.loop_lag = reg:histogram("alluse_event_loop_lag_seconds", "Event-loop lag: a timer's lateness", {},
    { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1 })
  m.http_requests = reg:counter("alluse_http_requests_total", "HTTP requests served, by path and status code",
    { "path", "code" })
  m.store_write = reg:histogram("alluse_store_write_duration_seconds", "Store write latency, per write",
    {}, { 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 })
  m.build_info = reg:gauge("alluse_build_info", "Build information; the value is always 1", { "version", "commit" })
  local version, commit = require("alluse.version").version, "unknown"
  local ok, host = pcall(require, "alluse.core.host")
  if ok and type(host) == "table" and host.build then
    local b = host.build()
    version, commit = b.version or version, b.commit or commit
  end
  m.build_info:labels(version, commit):set(1)
  return m
end

return M
