-- Checks of one strategies/alluse result over real data (test_alluse_real.sh):
-- no account's cash below zero after any posting, a week row for every account, ticker
-- and week the account was active, every week type one of the 11, and every number
-- in the events finite.  Prints "ok"/"not ok" lines with names; exits 1 on a failure.
--   alluse exec tests/integration/alluse_check.lua RESULT.json
local json = require("alluse.json")
local f = assert(io.open(arg[1], "rb"))
local r = json.decode(f:read("*a"))
f:close()
local failed = 0
local function check(cond, name, detail)
  if cond then print("ok - " .. name) else
    print("not ok - " .. name)
    if detail then print("#   " .. detail) end
    failed = failed + 1
  end
end

local worst, where = 0, nil
for _, e in ipairs(r.ledger) do
  if e.balance < worst then worst, where = e.balance, e end
end
check(worst >= 0, "no account's cash goes below zero after any of " .. #r.ledger .. " postings",
  where and string.format("%s %s %s balance %s", where.account, where.time, where.kind, where.balance))

local TYPES = {}
for _, t in ipairs(require("alluse.report.protocol").TYPES) do TYPES[t] = true end
local bad, per = nil, {}
for _, w in ipairs(r.journal.weeks) do
  if not TYPES[w.type] then bad = w end
  local key = w.account .. "|" .. w.ticker
  per[key] = (per[key] or 0) + 1
end
check(bad == nil, "every week row has one of the 11 week types", bad and (bad.account .. " " .. bad.type))
-- The first main accounts trade from the first week to the last: one row per week
-- for each of their tickers.
local nweeks = 0
local seen = {}
for _, w in ipairs(r.journal.weeks) do
  if w.account == "GEN" and not seen[w.week] then seen[w.week], nweeks = true, nweeks + 1 end
end
local p = r.strategy.params
local missing = {}
for kind, list in pairs({ GEN = p.gen_tickers, REV = p.rev_tickers, COM = p.com_tickers }) do
  for t in list:gmatch("[^,%s]+") do
    if (per[kind .. "|" .. t] or 0) ~= nweeks then missing[#missing + 1] = kind .. "|" .. t .. "=" .. tostring(per[kind .. "|" .. t]) end
  end
end
table.sort(missing)
check(nweeks > 500 and #missing == 0, string.format("GEN, REV and COM have a row for each of their tickers in each of the %d weeks", nweeks),
  table.concat(missing, " "))
local kinds = {}
for _, e in ipairs(r.journal.events) do kinds[e.kind] = (kinds[e.kind] or 0) + 1 end
for _, k in ipairs({ "level", "skip", "assigned", "reinvest", "fork" }) do
  check((kinds[k] or 0) > 0, "events of kind " .. k .. " happen over 11 years (" .. tostring(kinds[k]) .. ")")
end
local aw = r.journal.account_weeks
check(#aw > 0 and aw[1].target_min ~= nil, "account_weeks rows carry the return target")
io.stdout:flush()
-- An error (exit 1) rather than os.exit, which would skip closing the Lua state.
if failed > 0 then error(failed .. " check(s) failed", 0) end
