-- The terminal summary `make run` prints after backtesting strategies/alluse: one line
-- per account (final equity, CAGR, max drawdown, premium collected, forks, merges)
-- and its week types, read from the run's JSON result.
--
--   alluse exec scripts/alluse_summary.lua out/result.json
local json = require("alluse.json")

local path = arg[1]
if not path then
  io.stderr:write("usage: alluse exec scripts/alluse_summary.lua RESULT.json\n")
  return 2
end
local f, ferr = io.open(path, "rb")
if not f then error(path .. ": " .. tostring(ferr), 0) end
local text = f:read("*a")
f:close()
local ok, r = pcall(json.decode, text)
if not ok then error(path .. ": not a JSON result: " .. tostring(r), 0) end
local journal = r.journal or {}
if type(journal.weeks) ~= "table" then
  error(path .. ": no journal.weeks: not a result of strategies/alluse", 0)
end

local format = string.format
local money = require("alluse.engine").money
local function pct(x)
  if x == nil or x == json.null then return "   n/a" end
  return format("%6.2f%%", x * 100)
end

-- Per account: premium (from the weekly rows), forks and merges (from the events),
-- week-type counts.
local premium, types, forks, merges = {}, {}, {}, {}
for _, w in ipairs(journal.weeks) do
  premium[w.account] = (premium[w.account] or 0) + w.premium
  types[w.account] = types[w.account] or {}
  types[w.account][w.type] = (types[w.account][w.type] or 0) + 1
end
for _, e in ipairs(journal.events or {}) do
  if e.kind == "fork" then forks[e.account] = (forks[e.account] or 0) + 1 end
  if e.kind == "merge" then merges[e.account] = (merges[e.account] or 0) + 1 end
end

local s = r.summary
print(format("ALL-USE (%s profile) %s .. %s, %s -> %s, CAGR %s, max drawdown %s, status %s",
  tostring(r.strategy.params.profile), s.start, s["end"], money(s.initial_cash), money(s.final_equity),
  pct(s.cagr), pct(s.max_drawdown), r.status))
print(format("%-14s %6s %16s %8s %8s %14s %5s %6s", "account", "kind", "final equity", "CAGR", "max DD",
  "premium", "forks", "merges"))
local order = require("alluse.report.protocol").TYPES
for _, a in ipairs(r.accounts) do
  if a.name ~= "main" then
    local kind = a.name:match("(%u+)%-?%d*$") or ""
    local sm = a.summary
    print(format("%-14s %6s %16s %8s %8s %14s %5d %6d%s", a.name, kind:lower(), money(sm.final_equity),
      pct(sm.cagr), pct(sm.max_drawdown), money(premium[a.name] or 0), forks[a.name] or 0, merges[a.name] or 0,
      a.status ~= "active" and ("  " .. a.status) or ""))
    local parts = {}
    for _, t in ipairs(order) do
      local n = types[a.name] and types[a.name][t]
      if n then parts[#parts + 1] = format("%s %d", t, n) end
    end
    if #parts > 0 then print("               weeks: " .. table.concat(parts, ", ")) end
  end
end
