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

-- The monthly statement: each account's months chain (a month starts at the last
-- one's end), each end value is the account's equity on the month's last day, and
-- over every account and month the growth adds up to the run's P&L while the
-- transfers add up to the money put in (transfers between accounts cancel).
local last_value, eq_at = {}, {}
for _, row in ipairs(r.equity) do eq_at[row.date:sub(1, 7)] = row end
local broken, off, growth, flows = nil, nil, 0, 0
for _, m in ipairs(r.journal.months) do
  local prev = last_value[m.account]
  if prev and math.abs(m.start - prev) > 0.005 then broken = m end
  last_value[m.account] = m.value
  local eqv = eq_at[m.month] and eq_at[m.month].accounts[m.account]
  if m.status == "active" and math.abs((eqv or 0) - m.value) > 0.005 then off = m end
  if math.abs(m.growth - (m.value - m.start - m.flows)) > 0.005 then off = m end
  growth, flows = growth + m.growth, flows + m.flows
end
check(#r.journal.months > 100 and broken == nil, "monthly statement: every account's month starts where its last ended",
  broken and (broken.account .. " " .. broken.month))
check(off == nil, "monthly statement: end value = the account's equity on the month's last day; growth = end - start - transfers",
  off and (off.account .. " " .. off.month))
local final = r.equity[#r.equity].total
check(math.abs(flows - r.summary.initial_cash) < 0.01, "monthly statement: transfers over all accounts sum to the capital put in",
  string.format("%.2f vs %.2f", flows, r.summary.initial_cash))
check(math.abs(growth - (final - r.summary.initial_cash)) < 0.01 * #r.journal.months,
  "monthly statement: growth over all accounts and months sums to the run's P&L",
  string.format("%.2f vs %.2f", growth, final - r.summary.initial_cash))
io.stdout:flush()
-- An error (exit 1) rather than os.exit, which would skip closing the Lua state.
if failed > 0 then error(failed .. " check(s) failed", 0) end
