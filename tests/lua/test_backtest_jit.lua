-- The backtest hot path stays compiled and allocation-free (issue #4's performance
-- rules, checked here rather than timed): over a 200,000-bar run of
-- strategies/examples/sma_cross.lua the driver's loop becomes a root trace, no trace
-- aborts inside the loop (which does the engine's per-bar work inline) or the
-- strategy's on_bar, and a strategy that reads every bar without trading allocates
-- nothing per bar.
--
-- The evidence comes from jit.attach, the hook jit.v/-jv are built on: "trace" events
-- report every trace start, stop and abort with the function and bytecode position.
local t = require("alluse.test")
local series = require("alluse.series")
local backtest = require("alluse.backtest")
local jutil = require("jit.util")

local function source_path(mod)
  local src = debug.getinfo(require(mod).run or require(mod).new, "S").source
  return src:sub(2)
end

-- A deterministic random walk of one-minute bars (an LCG, so no library is involved).
local function walk(n)
  local s = series.new("WALK", "1m")
  local seed, price = 12345, 100.0
  local t0 = 946857600e6
  for i = 0, n - 1 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    local r = seed / 2147483648 - 0.5
    local open = price
    price = math.floor(price * (1 + r * 0.002) * 10000 + 0.5) / 10000
    local hi, lo = math.max(open, price) + 0.01, math.min(open, price) - 0.01
    s:append(t0 + i * 60e6, open, hi, lo, price, 1000)
  end
  return s
end

-- Lines of a file that match a pattern, and the line range of a function.
local function read_lines(path)
  local lines = {}
  for l in io.lines(path) do lines[#lines + 1] = l end
  return lines
end
local function find_line(lines, pat)
  for i, l in ipairs(lines) do if l:find(pat) then return i end end
end
-- From a line that starts a block to its matching "end" at the same indentation.
local function block_end(lines, first)
  local indent = lines[first]:match("^(%s*)")
  for i = first + 1, #lines do
    if lines[i]:match("^" .. indent .. "end") then return i end
  end
end

local bt_path = source_path("alluse.backtest")
local root = bt_path:match("^(.-)lua/alluse/backtest%.lua$") or ""
local strat_path = root .. "strategies/examples/sma_cross.lua"
local bt_lines, st_lines = read_lines(bt_path), read_lines(strat_path)
local loop_first = find_line(bt_lines, "for e = 0, nev %- 1 do %-%- the hot loop")
local loop_last = block_end(bt_lines, loop_first)
local onbar_first = find_line(st_lines, "on_bar = function")
local onbar_last = block_end(st_lines, onbar_first)
t.ok(loop_first and loop_last and onbar_first and onbar_last,
  "found the hot loop and sma_cross's on_bar in their sources")

local function in_hot_path(source, line)
  if not line then return false end
  if source:sub(-#"lua/alluse/backtest.lua") == "lua/alluse/backtest.lua" then
    return line >= loop_first and line <= loop_last
  elseif source:sub(-#"sma_cross.lua") == "sma_cross.lua" then
    return line >= onbar_first and line <= onbar_last
  end
  return false
end

-- Some aborts are LuaJIT at work, not a defect in the hot path, and LuaJIT retries
-- them: trace selection (8 "leaving loop in root trace", 9 "inner loop in root
-- trace", 10 "loop unroll limit reached": a recording that started in the wrong
-- place, or at the loop head on an iteration that took a rare path such as a day roll
-- or an order) and limits met by one particular recording (2 "trace too long", 4 "too
-- many snapshots", 26 "persistent type instability", 29 "hit mcode limit", 30 "too
-- many spill slots", 33/34 "PHI shuffling / register coalescing too complex").  Which
-- of these happen varies between processes (table layouts follow addresses, which
-- ASLR moves), so a place that meets one once is not a failure; a place that keeps
-- aborting is, well before LuaJIT would blacklist it (after about 11 aborts).  Every
-- other abort (an NYI, a bad argument type, a missing metamethod...) in the hot path
-- fails the test at once.
local RETRIED = { [2] = true, [4] = true, [8] = true, [9] = true, [10] = true,
  [26] = true, [29] = true, [30] = true, [33] = true, [34] = true }
local MAX_RETRIED_ABORTS = 6

local s = walk(200000)
local loop_traced, hot_aborts, loop_starts, retried_aborts = false, {}, {}, {}
local function on_trace(what, tr, func, pc, otr, oex)
  if what == "stop" then
    if loop_starts[tr] then loop_traced = true end
    return
  end
  local ok, info = pcall(jutil.funcinfo, func, pc)
  if not ok or not info.source then return end
  local src, line = info.source:gsub("^@", ""), info.currentline
  -- A root trace (no parent: otr is nil) starting at the loop's head.
  if what == "start" and otr == nil and src:sub(-#"backtest.lua") == "backtest.lua" and line == loop_first then
    loop_starts[tr] = true
  elseif what == "abort" and in_hot_path(src, line) then
    local where = string.format("%s:%s", src, tostring(line))
    if RETRIED[otr] then
      -- Counted per place, whatever the reason, so alternating reasons still add up.
      retried_aborts[where] = (retried_aborts[where] or 0) + 1
    else
      where = string.format("%s (error %s %s)", where, tostring(otr), tostring(oex))
      hot_aborts[#hot_aborts + 1] = where
    end
  end
end
jit.flush()
jit.attach(on_trace, "trace")
local result = backtest.run {
  strategy = strat_path, data = { { series = s, source = "walk" } }, cash = 1e6, records = false,
  check_invariants = false, -- the checker's own loops are not the hot path under test
}
jit.attach(on_trace)
t.is(result.status, "ok", "the run completes")
t.ok(result.summary.round_trips > 100, "the run trades (" .. result.summary.round_trips .. " round trips)")
t.ok(loop_traced, "the driver's event loop (backtest.lua:" .. loop_first .. ") is compiled as a root trace")
t.is(#hot_aborts, 0, "no trace aborts in the loop or on_bar: "
  .. table.concat(hot_aborts, "; ", 1, math.min(#hot_aborts, 5)))
local repeated = {}
for where, n in pairs(retried_aborts) do
  if n > MAX_RETRIED_ABORTS then repeated[#repeated + 1] = where .. " x" .. n end
end
table.sort(repeated)
t.is(#repeated, 0, "no spot in the hot path keeps aborting: " .. table.concat(repeated, "; "))

-- No allocation per bar: a strategy that reads every field, keeps two indicators and
-- asks for its position and the clock, but never trades.
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local f = assert(io.open(dir .. "/reader.lua", "w"))
f:write([[
local ind = require("alluse.indicators")
local fast, slow = ind.sma(10), ind.sma(30)
local acc = 0
return {
  on_bar = function(ctx, bar)
    local a = fast:update(bar.close)
    local b = slow:update(bar.close)
    if a and b and bar.symbol == "WALK" then acc = acc + (a - b) + bar.high - bar.low + bar.volume * 0 end
    local q = ctx:position("WALK")
    if ctx:now() < 0 or q ~= 0 then error("unexpected") end
  end,
}
]])
f:close()
local points = {}
collectgarbage()
collectgarbage("stop")
local r2 = backtest.run {
  strategy = dir .. "/reader.lua", data = { { series = s, source = "walk" } }, records = false,
  check_invariants = false,
  progress = function(done) points[#points + 1] = { done, collectgarbage("count") } end,
}
collectgarbage("restart")
os.remove(dir .. "/reader.lua")
os.remove(dir)
t.is(r2.status, "ok", "the reading strategy runs")
-- Progress is reported every 65,536 bars; compare the second and the last report.
local a, b = points[2], points[#points - 1]
t.ok(a and b and b[1] > a[1], "progress points to compare")
if a and b then
  local per_bar = (b[2] - a[2]) * 1024 / (b[1] - a[1])
  -- The day roll allocates the day's equity row (a few hundred bytes per 1,440
  -- one-minute bars); a table made per bar would cost at least 40 bytes per bar.
  t.ok(per_bar < 2, string.format("no per-bar allocation: %.3f bytes/bar between bar %d and %d",
    per_bar, a[1], b[1]))
end
