-- Fixtures shared by the backtest tests (test_backtest, test_strategy,
-- test_options_backtest); loaded with dofile, not a test itself.
--
--   local fx = dofile(debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "") .. "backtest_fixtures.lua")
--   local path = fx.strategy_file(src)     -- removed by fx.cleanup()
--   fx.DAYS[i], fx.stamp(i), fx.close_time(i), fx.ymd("2024-03-04")
local calendar = require("alluse.calendar")
local time = require("alluse.time")

local M = {}

local tmpfiles = {}

-- Write a strategy source to a temp file; the path.
function M.strategy_file(src)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  tmpfiles[#tmpfiles + 1] = path
  return path
end

function M.cleanup()
  for _, p in ipairs(tmpfiles) do os.remove(p) end
  tmpfiles = {}
end

-- Twelve trading days from Monday 2024-03-04 (no holiday before Good Friday, March 29).
M.DAYS = {}
do
  local d = "2024-03-04"
  for i = 1, 12 do
    M.DAYS[i] = d
    d = calendar.next_trading_day(d)
  end
end

function M.ymd(d)
  local y, m, dd = d:match("^(%d+)-(%d+)-(%d+)$")
  return tonumber(y), tonumber(m), tonumber(dd)
end

-- A daily bar's stamp (09:30 New York) and when it happens (the 16:00 close).
function M.stamp(i)
  local y, m, d = M.ymd(M.DAYS[i])
  return (time.from_ny(y, m, d, 9, 30))
end
function M.close_time(i)
  local y, m, d = M.ymd(M.DAYS[i])
  return (time.from_ny(y, m, d, 16, 0))
end

return M
