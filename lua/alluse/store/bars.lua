-- alluse.store.bars: market data in the database's `bars` table (docs/storage.md,
-- "Bars in the database").
--
--   local bars = require("alluse.store.bars")
--   local res, err, code = bars.write(db, s)    -- { rows, replaced }: s's time range replaced
--   local s, err, code = bars.read(db, "SPY", "1d")   -- the series data.read_csv made
--   local list = bars.info(db)                  -- { symbol, timeframe, rows, first, last } ...
--   local tfs = bars.timeframes(db, "SPY")      -- { "1d", "1m" }: what the table holds
--
-- A write replaces the rows of the series' symbol and timeframe from its first to its
-- last bar, in one transaction: importing the same file again changes nothing, and a
-- newer file that overlaps an older one wins within its own range (rows outside it
-- stay).  On PostgreSQL the rows go in with COPY (db:insert).  Rows travel in chunks
-- so a million-bar series never becomes a million Lua tables at once.
local series = require("alluse.series")
local null = require("alluse.json").null

local format, tonumber, type = string.format, tonumber, type
local min = math.min

local M = {}

local COLUMNS = { "symbol", "timeframe", "time", "open", "high", "low", "close", "volume", "adj_close" }
M.CHUNK = 50000

-- "60m" and "1h" are one timeframe: the table holds the name series.lua gives it.
local function canonical_tf(tf)
  local ok, name = pcall(series.timeframe_name, tf)
  if not ok then return nil, (tostring(name):gsub("^.-:%d+: ", "")) end
  return name
end
M.canonical_timeframe = canonical_tf

-- Writes every bar of s (an alluse.series) -> { rows = n, replaced = m } | nil, err, code.
function M.write(db, s)
  if getmetatable(s) ~= series.Series then error("bars.write: expects a series", 2) end
  local n = s.n
  if n == 0 then return { rows = 0, replaced = 0 } end
  local cs = s._cs
  local t, o, h, l, c, v, a = cs.time, cs.open, cs.high, cs.low, cs.close, cs.volume, cs.adj_close
  local has_adj = a ~= nil
  local sym, tf = s.symbol, s.timeframe
  return db:transaction(function()
    local replaced, err, code = db:exec(
      "DELETE FROM bars WHERE symbol = ? AND timeframe = ? AND time >= ? AND time <= ?",
      sym, tf, tonumber(t[0]), tonumber(t[n - 1]))
    if not replaced then return nil, err, code end
    local i = 0
    while i < n do
      local m = min(M.CHUNK, n - i)
      local rows = {}
      for k = 1, m do
        local j = i + k - 1
        rows[k] = { sym, tf, tonumber(t[j]), o[j], h[j], l[j], c[j], v[j], has_adj and a[j] or null }
      end
      local ok, ierr, icode = db:insert("bars", COLUMNS, rows)
      if not ok then return nil, ierr, icode end
      i = i + m
    end
    return { rows = n, replaced = replaced }
  end)
end

-- The checks data.read_csv makes of every bar, for rows another program wrote.
local function bad_bar(r)
  local o, h, l, c, v = r.open, r.high, r.low, r.close, r.volume
  if type(o) ~= "number" or type(h) ~= "number" or type(l) ~= "number" or type(c) ~= "number"
    or type(v) ~= "number" then
    return "a price or the volume is not a number"
  end
  if not (o > 0 and h > 0 and l > 0 and c > 0) then return "a price is not positive" end
  if not (v >= 0) then return "the volume is negative" end
  if h < l or h < o or h < c or l > o or l > c then return "high/low do not bound open and close" end
  local adj = r.adj_close
  if adj ~= null and (type(adj) ~= "number" or not (adj > 0)) then return "adj_close is not a positive number" end
  return nil
end

local READ_SQL = "SELECT time, open, high, low, close, volume, adj_close FROM bars "
  .. "WHERE symbol = ? AND timeframe = ? AND time > ? ORDER BY time LIMIT ?"

-- The rows of symbol at timeframe in time order, appended to a new series.  Read in
-- chunks by time (each an index range scan), so memory stays at the series plus one
-- chunk of row tables, not a million of them.
local function read_rows(db, symbol, tf, where)
  local count, cerr, ccode = db:one("SELECT COUNT(*) AS n, COUNT(adj_close) AS adj FROM bars "
    .. "WHERE symbol = ? AND timeframe = ?", symbol, tf)
  if not count then return nil, cerr, ccode end
  local total = tonumber(count.n)
  if total == 0 then return nil, where .. ": none", "ENOENT" end
  -- adj_close only when every bar has one: a range re-imported from a file without it
  -- leaves some NULL, and a column with holes is no column read_csv would make.
  local has_adj = tonumber(count.adj) == total
  local s = series.new(symbol, tf, { adj_close = has_adj })
  s:reserve(total)
  local after = -9007199254740991 -- below any time a series holds (|t| < 2^53)
  while true do
    local rows, err, code = db:query(READ_SQL, symbol, tf, after, M.CHUNK)
    if not rows then return nil, err, code end
    for i = 1, #rows do
      local r = rows[i]
      local why = bad_bar(r)
      if why then return nil, format("%s: bar at %s: %s", where, tostring(r.time), why), "EDATA" end
      s:append(r.time, r.open, r.high, r.low, r.close, r.volume, has_adj and r.adj_close or nil)
    end
    if #rows < M.CHUNK then break end
    after = rows[#rows].time
  end
  return s
end

-- The bars of symbol at timeframe, in time order, as a series with the columns
-- data.read_csv gives the same CSV (adj_close when every row has one) | nil, err, code
-- (code ENOENT when the table has none).  One snapshot: an import committing
-- meanwhile is seen whole or not at all.
function M.read(db, symbol, timeframe)
  if type(symbol) ~= "string" then error("bars.read: symbol must be a string", 2) end
  local tf, tferr = canonical_tf(timeframe or "1d")
  if not tf then return nil, tferr, "EINVAL" end
  local where = format("%s: bars %s %s", db.url, symbol, tf)
  if #symbol == 0 or #symbol >= 32 then return nil, where .. ": none (a symbol is 1-31 characters)", "ENOENT" end
  return db:snapshot(read_rows, db, symbol, tf, where)
end

-- Every symbol and timeframe in the table: { symbol, timeframe, rows, first, last },
-- sorted by symbol then timeframe (byte order, whatever the database's collation).
function M.info(db)
  local rows, err, code = db:query("SELECT symbol, timeframe, COUNT(*) AS n, MIN(time) AS first, "
    .. "MAX(time) AS last FROM bars GROUP BY symbol, timeframe")
  if not rows then return nil, err, code end
  local out = {}
  for i, r in ipairs(rows) do
    out[i] = { symbol = r.symbol, timeframe = r.timeframe, rows = tonumber(r.n), first = tonumber(r.first),
      last = tonumber(r.last) }
  end
  table.sort(out, function(x, y)
    if x.symbol ~= y.symbol then return x.symbol < y.symbol end
    return x.timeframe < y.timeframe
  end)
  return out
end

-- The timeframes the table holds for symbol, sorted | nil, err, code.
function M.timeframes(db, symbol)
  local rows, err, code = db:query("SELECT DISTINCT timeframe FROM bars WHERE symbol = ?", symbol)
  if not rows then return nil, err, code end
  local out = {}
  for i, r in ipairs(rows) do out[i] = r.timeframe end
  table.sort(out)
  return out
end

return M
