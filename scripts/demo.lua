-- The `make run` demo until the ALL-USE strategy lands (issue #6 replaces it):
-- read a daily OHLCV file from data/, and report buy-and-hold of the close by
-- calendar year, with the worst peak-to-trough drawdown.  Writes OUTDIR/demo.md
-- and OUTDIR/demo.json (sorted keys: byte-identical for the same input).
--
--   alluse exec scripts/demo.lua data/SPY-daily.csv reports/demo
local json = require("alluse.json")

local path, outdir = arg[1], arg[2]
if not path or not outdir then
  io.stderr:write("usage: alluse exec scripts/demo.lua DAILY.csv OUTDIR\n")
  return 2
end

local f = assert(io.open(path, "r"))
local header = f:read("*l")
if not header or not header:lower():find("^date,open,high,low,close") then
  error(path .. ":1: expected a header date,open,high,low,close,volume", 0)
end
local rows, lineno = {}, 1
for line in f:lines() do
  lineno = lineno + 1
  local date, close = line:match("^(%d%d%d%d%-%d%d%-%d%d),[^,]*,[^,]*,[^,]*,([^,]*)")
  close = tonumber(close)
  if not date or not close or close <= 0 then
    error(string.format("%s:%d: cannot read date and close from %q", path, lineno, line), 0)
  end
  rows[#rows + 1] = { date = date, close = close }
end
f:close()
if #rows < 2 then error(path .. ": fewer than two bars", 0) end

local years, order = {}, {}
local peak, worst, worst_peak_date, worst_date = rows[1].close, 0, rows[1].date, rows[1].date
local peak_date = rows[1].date
for i, r in ipairs(rows) do
  local y = r.date:sub(1, 4)
  local yr = years[y]
  if not yr then
    -- A year's return runs from the previous year's last close.
    yr = { year = tonumber(y), first = i > 1 and rows[i - 1].close or r.close }
    years[y] = yr
    order[#order + 1] = y
  end
  yr.last = r.close
  if r.close > peak then peak, peak_date = r.close, r.date end
  local dd = r.close / peak - 1
  if dd < worst then worst, worst_peak_date, worst_date = dd, peak_date, r.date end
end

local function round(x, digits)
  local m = 10 ^ digits
  return math.floor(x * m + 0.5) / m
end

local result = {
  file = path,
  first = rows[1].date,
  last = rows[#rows].date,
  bars = #rows,
  total_return = round(rows[#rows].close / rows[1].close - 1, 6),
  max_drawdown = round(worst, 6),
  max_drawdown_from = worst_peak_date,
  max_drawdown_to = worst_date,
  years = {},
}
for _, y in ipairs(order) do
  local yr = years[y]
  result.years[#result.years + 1] = { year = yr.year, ret = round(yr.last / yr.first - 1, 6) }
end

os.execute("mkdir -p '" .. outdir:gsub("'", "'\\''") .. "'")
local out = assert(io.open(outdir .. "/demo.json", "w"))
out:write(json.encode(result, { sorted = true, indent = 2 }), "\n")
out:close()

local md = {
  "# Buy and hold: " .. path, "",
  string.format("%s to %s, %d bars. Total return %.2f%%; worst drawdown %.2f%% (%s to %s).",
    result.first, result.last, result.bars, result.total_return * 100, result.max_drawdown * 100,
    result.max_drawdown_from, result.max_drawdown_to), "",
  "| year | return |", "|---|---:|",
}
for _, y in ipairs(result.years) do md[#md + 1] = string.format("| %d | %.2f%% |", y.year, y.ret * 100) end
out = assert(io.open(outdir .. "/demo.md", "w"))
out:write(table.concat(md, "\n"), "\n")
out:close()
print(md[3])
print("wrote " .. outdir .. "/demo.md and " .. outdir .. "/demo.json")
