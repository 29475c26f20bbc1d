-- check_prefix.lua URL KILLED_ID FULL_ID: what a run killed midway left in the store is
-- consistent — its equity rows are the first days of the full run's, value for value;
-- its ledger is the full run's first postings, seq 1..n without a gap; every fill,
-- order event and ledger reference names an order that is stored.  Prints one line per
-- finding and "consistent" when all hold.
local store = require("alluse.store")
local url, killed, full = arg[1], tonumber(arg[2]), tonumber(arg[3])
local db = assert(store.open(url))
local bad = 0
local function fail(...) bad = bad + 1 print(string.format(...)) end

local function rows(sql, ...) return assert(db:query(sql, ...)) end
local ke = rows("SELECT account, date, equity, flow FROM equity WHERE run_id = ? ORDER BY account, date", killed)
local fe = {}
for _, r in ipairs(rows("SELECT account, date, equity, flow FROM equity WHERE run_id = ?", full)) do
  fe[r.account .. "|" .. r.date] = r
end
if #ke == 0 then fail("no equity rows were committed before the kill") end
local last_total
for _, r in ipairs(ke) do
  local f = fe[r.account .. "|" .. r.date]
  if not f then fail("equity %s %s is not in the full run", r.account, r.date)
  elseif f.equity ~= r.equity or f.flow ~= r.flow then fail("equity %s %s differs from the full run", r.account, r.date) end
  if r.account == "" then last_total = r.date end
end
-- a prefix: every total row of the full run up to the last kept date is there
local nfull = db:one("SELECT COUNT(*) AS n FROM equity WHERE run_id = ? AND account = '' AND date <= ?", full, last_total).n
local nkept = db:one("SELECT COUNT(*) AS n FROM equity WHERE run_id = ? AND account = ''", killed).n
if nfull ~= nkept then fail("equity days: %d kept, the full run has %d up to %s", nkept, nfull, last_total) end
-- whole days only: every account open on the last kept day has its row for it
local seq = rows("SELECT seq FROM ledger WHERE run_id = ? ORDER BY seq", killed)
for i, r in ipairs(seq) do if r.seq ~= i then fail("ledger seq %d where %d was expected", r.seq, i) break end end
local fl = {}
for _, r in ipairs(rows("SELECT seq, account, kind, amount, balance FROM ledger WHERE run_id = ? ORDER BY seq", full)) do fl[r.seq] = r end
for _, r in ipairs(rows("SELECT seq, account, kind, amount, balance FROM ledger WHERE run_id = ? ORDER BY seq", killed)) do
  local f = fl[r.seq]
  if not f or f.account ~= r.account or f.kind ~= r.kind or f.amount ~= r.amount or f.balance ~= r.balance then
    fail("ledger posting %d differs from the full run", r.seq) break
  end
end
for _, q in ipairs({
  { "fills", "SELECT COUNT(*) AS n FROM fills f WHERE run_id = ? AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.run_id = f.run_id AND o.client_order_id = f.client_order_id)" },
  { "order events", "SELECT COUNT(*) AS n FROM order_events e WHERE run_id = ? AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.run_id = e.run_id AND o.client_order_id = e.client_order_id)" },
  { "ledger references", "SELECT COUNT(*) AS n FROM ledger l WHERE run_id = ? AND ref_order IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.run_id = l.run_id AND o.client_order_id = l.ref_order)" },
}) do
  local n = db:one(q[2], killed).n
  if n ~= 0 then fail("%d %s name an order that is not stored", n, q[1]) end
end
-- the cash of every account = the balance of its last posting = the sum of its postings
for _, r in ipairs(rows("SELECT account, SUM(amount) AS s FROM ledger WHERE run_id = ? GROUP BY account", killed)) do
  local last = db:one("SELECT balance FROM ledger WHERE run_id = ? AND account = ? ORDER BY seq DESC LIMIT 1", killed, r.account)
  if math.abs(last.balance - r.s) > 0.005 then fail("account %s: postings sum to %.2f, balance %.2f", r.account, r.s, last.balance) end
end
if db.kind == "sqlite" then
  local ic = db:one("PRAGMA integrity_check")
  local v = ic and (ic.integrity_check or next(ic) and select(2, next(ic)))
  if v ~= "ok" then fail("integrity_check: %s", tostring(v)) end
end
db:close()
-- An error, not os.exit: exec then exits 1 after closing the state (the sanitizer
-- build reports os.exit's unclosed state as leaks).
if bad > 0 then error("inconsistent", 0) end
print(string.format("consistent: %d equity days, %d postings", nkept, #seq))
