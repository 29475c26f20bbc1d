-- alluse.store.runs: a run in the database — written while it runs, read back for
-- reports (docs/storage.md).
--
--   local rec = runs.start(db, { kind = "backtest", strategy = ..., params = ..., ... })
--   rec:order_event(eng, k) / rec:fill(eng, fill)     -- from the engine's sink
--   rec:day(eng, row)                                 -- after each day's equity row
--   rec:finish(eng, result, counts)                   -- the end: status, trades, positions
--   local id = rec:close()                            -- waits until all of it is committed
--   local result = runs.load(db, id, { account = ..., from = ..., to = ... })
--
-- Writes are batched: rec:day() commits what happened since the last commit once
-- FLUSH_US of wall time has passed, in one transaction, always at a day's end.  So
-- the database always holds a run up to the end of some day, never half a day, and a
-- process killed mid-run leaves a consistent prefix whose run is still `running`;
-- runs.reap() (at every store open) marks such a run `incomplete` once its process
-- is gone.
local ffi = require("ffi")
local json = require("alluse.json")
local time = require("alluse.time")
local oms = require("alluse.oms")
local stats = require("alluse.report.stats")

local type, tonumber, tostring, pairs, ipairs = type, tonumber, tostring, pairs, ipairs
local format = string.format
local null = json.null

local M = {}

local FLUSH_US = 500000
local FLUSH_BEHIND_US = 200000 -- written behind: smaller batches, a shorter wait at the end
M.FLUSH_US = FLUSH_US

-- Journal bodies: the canonical encoder without sorting keys (the rows are stored, not
-- shown; the report decodes and re-encodes them canonically).  cjson would be faster,
-- but at most 14 significant digits: not every double would read back exactly.
local function encode_body(r) return json.encode(r) end
local FINAL = { filled = true, canceled = true, rejected = true, expired = true }

local function host() return require("alluse.core.host") end
local function nn(v) if v == nil then return null end return v end
local function iso(us) return time.format(us) end

-- ---- writing ----

local Rec = {}
Rec.__index = Rec

-- Starts a run: its row, status running.  spec: kind, strategy, strategy_file,
-- params (table), data_hash, code_hash, meta (table, may be filled in at finish).
-- spec.behind: write the run on a writer thread (alluse.core.dbwriter), so the run
-- does not wait for the database; a failed write is returned by the next day() or by
-- finish().  spec.session: the live session the run belongs to (alluse.store.sessions).
-- spec.durable (the live runner): order events are committed before a bar can act on
-- them (rec:gate), and every commit records the run's checkpoint.
function M.start(db, spec)
  local h = host()
  local now = time.now()
  local row, err, code = db:one("INSERT INTO runs (kind, strategy, strategy_file, params, data_hash, code_hash, "
    .. "status, started_at, host, pid, alluse_version, session) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?) "
    .. "RETURNING id",
    spec.kind, spec.strategy, nn(spec.strategy_file), json.encode(spec.params or {}, { sorted = true }),
    nn(spec.data_hash), nn(spec.code_hash), now, h.hostname(), h.pid(), require("alluse.version").version,
    nn(spec.session))
  if not row then return nil, err, code end
  return M.recorder(db, tonumber(row.id), spec)
end

-- The recorder of run `id` (new, or resumed by alluse.store.sessions).  spec.resume:
-- the checkpoint of a run being resumed: the recorder then only counts until the
-- re-run reaches that checkpoint's position (everything before it is in the store),
-- checks the re-run against the store there, and writes from then on.
function M.recorder(db, id, spec)
  local writer
  if spec.behind then
    local werr, wcode
    writer, werr, wcode = db:writer()
    if not writer then return nil, werr, wcode end
  end
  return setmetatable({
    db = db, id = id, writer = writer, first_open = 1, ledger_done = {}, journal_done = {},
    events = {}, fills = {}, event_seq = 0, fill_seq = 0, protocol_seq = 0, eq_done = {},
    tot_dates = {}, tot_values = {}, tot_flows = {}, days = 0,
    last_flush = time.monotonic(), accounts_seen = 0,
    durable = spec.durable and true or false, shadow = spec.resume, pos = 0, commits = 0,
    fault = spec.durable and require("alluse.fault").point() or nil,
  }, Rec)
end

function Rec:order_event(eng, k)
  self.event_seq = self.event_seq + 1
  if self.shadow then return end
  local o = eng:order_at(k)
  self.events[#self.events + 1] = { self.id, self.event_seq, ffi.string(o.id), eng.now,
    oms.name("status", o.status), o.filled_qty, o.avg_price, ffi.string(o.reason) }
end

function Rec:fill(eng, f)
  self.fill_seq = self.fill_seq + 1
  if self.shadow then return end
  self.fills[#self.fills + 1] = { self.id, self.fill_seq, f.order_id, f.account, f.symbol, f.side, f.qty,
    f.price, f.commission, f.time }
end

function Rec:day(eng, row, pos)
  self.days = self.days + 1
  if pos then self.pos = pos end
  if self.shadow then return self:_shadow_at(eng, pos) end
  -- The total's row, as three columns; the accounts' rows are read from the engine's
  -- own equity arrays at the flush (no table per row: a long run has many).
  local n = #self.tot_dates + 1
  self.tot_dates[n], self.tot_values[n], self.tot_flows[n] = row.date, row.total, row.flows.total
  if time.monotonic() - self.last_flush >= (self.writer and FLUSH_BEHIND_US or FLUSH_US) then
    local ok, err, code = self:flush(eng)
    if not ok then return nil, err, code end
  end
  return true
end

-- The live runner between days (position 4e + 2, after its commands): a drain's last
-- commit is made here, and a resume may reach its checkpoint here.
function Rec:at(eng, pos)
  self.pos = pos
  if self.shadow then return self:_shadow_at(eng, pos) end
  return true
end

-- Durable runs: just before a bar meets the working orders, the order events not yet
-- written are committed (DESIGN §6: every order event is written before it is acted
-- on).  Raises "store: ..." when it cannot: the run must not act on what it could not
-- record.
function Rec:gate(eng, pos)
  self.pos = pos
  if self.shadow then
    local ok, err = self:_shadow_at(eng, pos)
    if not ok then error(err, 0) end
    return
  end
  if not self.durable or #self.events == 0 then return end
  local ok, err = self:flush(eng)
  if not ok then error("store: " .. tostring(err), 0) end
end

-- ---- column sets ----
--
-- Bulk rows are described by columns, as alluse.core.dbwriter takes them: a column is
-- a constant, { seq = first } (first, first + 1, ...), { from = array, at = index }
-- (array[at], array[at + 1], ...) with an optional field (the element's field), and
-- json = true (the element, a flat table, written as a JSON object).  The writer reads
-- them straight from the engine's arrays; the synchronous path makes the rows here.

local function column_value(col, r)
  if type(col) ~= "table" then return col end
  if col.seq then return col.seq + r - 1 end
  local v = col.from[col.at + r - 1]
  if col.field then v = v[col.field] end
  if col.json then v = encode_body(v) end
  return v
end

local function rows_of(columns, n)
  local rows = {}
  for r = 1, n do
    local row = {}
    for c, col in ipairs(columns) do row[c] = column_value(col, r) end
    rows[r] = row
  end
  return rows
end

local ORDER_COLS = { "run_id", "seq", "client_order_id", "account", "symbol", "side", "type", "tif", "qty",
  "limit_price", "stop_price", "status", "reason", "filled_qty", "avg_price", "created", "updated" }
local ACCOUNT_COLS = { "run_id", "name", "seq", "parent", "kind", "status", "initial_cash", "created_at",
  "exposed_bars", "commissions" }

local function order_row(id, eng, k)
  local o = eng:order_at(k)
  return { id, k, ffi.string(o.id), ffi.string(o.account), ffi.string(o.symbol), oms.name("side", o.side),
    oms.name("type", o.type), oms.name("tif", o.tif), o.qty, o.limit_price, o.stop_price,
    oms.name("status", o.status), ffi.string(o.reason), o.filled_qty, o.avg_price, tonumber(o.created),
    tonumber(o.updated) }
end

-- The first order from k on that is not final yet (every order before it is written
-- for good): where the next flush starts rewriting orders.
local function first_open_from(eng, k)
  local n = eng:norders()
  while k <= n and FINAL[oms.name("status", eng:order_at(k).status)] do k = k + 1 end
  return k
end

-- The rows a flush writes, taken from the engine since the last flush.
function Rec:_collect(eng, events_done)
  local id = self.id
  local orders = {}
  local n = eng:norders()
  for k = self.first_open, n do orders[#orders + 1] = order_row(id, eng, k) end
  local first_open = first_open_from(eng, self.first_open)
  local ledger = {}
  for _, a in ipairs(eng.accounts) do
    local ptr = a.ptr
    local from = self.ledger_done[a.name] or 0
    for j = from, tonumber(ptr.nledger) - 1 do
      local p = ptr.ledger[j]
      local kind = oms.name("ledger", p.kind)
      local ref = tonumber(p.ref)
      local order_ref = (kind == "fill" or kind == "commission") and ref > 0 and ref <= n
      ledger[#ledger + 1] = { id, tonumber(p.seq), a.name, tonumber(p.time), kind, ffi.string(p.symbol),
        tonumber(p.amount_cents) / 100, tonumber(p.balance_cents) / 100,
        order_ref and ffi.string(eng:order_at(ref).id) or null, (not order_ref and ref ~= 0) and ref or null }
    end
  end
  local accounts = {}
  for i, a in ipairs(eng.accounts) do
    accounts[#accounts + 1] = { id, a.name, i, nn(a.parent), a.parent and "fork" or "main", a.status, a.initial,
      null, eng:exposure(events_done or 0, a), eng:commissions(a) }
  end
  -- Equity: the total's days since the last flush, then each account's.
  local sets = {}
  local EQ = { "run_id", "account", "date", "equity", "flow" }
  local nt = #self.tot_dates
  if nt > 0 then
    sets[#sets + 1] = { "equity", EQ, { id, "", { from = self.tot_dates, at = 1 }, { from = self.tot_values, at = 1 },
      { from = self.tot_flows, at = 1 } }, nt }
  end
  for _, a in ipairs(eng.accounts) do
    local from = (self.eq_done[a.name] or 0) + 1
    local k = #a.eq_dates - from + 1
    if k > 0 then
      sets[#sets + 1] = { "equity", EQ, { id, a.name, { from = a.eq_dates, at = from }, { from = a.eq_values, at = from },
        { from = a.eq_flows, at = from } }, k }
    end
  end
  -- The journal: each stream's new rows, streams in name order (deterministic).  The
  -- row as recorded is the body, its time (µs) included; the reader replaces that with
  -- the ISO text the results use.
  local names = {}
  for name in pairs(eng.journal) do names[#names + 1] = name end
  table.sort(names)
  local PE = { "run_id", "seq", "stream", "time", "body" }
  for _, name in ipairs(names) do
    local rows = eng.journal[name]
    local from = (self.journal_done[name] or 0) + 1
    local k = #rows - from + 1
    if k > 0 then
      sets[#sets + 1] = { "protocol_events", PE, { id, { seq = self.protocol_seq + 1 }, name,
        { from = rows, at = from, field = "time" }, { from = rows, at = from, json = true } }, k }
      self.protocol_seq = self.protocol_seq + k
    end
  end
  return {
    orders = orders, first_open = first_open, ledger = ledger, accounts = accounts, sets = sets,
  }
end

-- Everything new, in one transaction; the bookmarks move only once it committed.
-- The steps that write what _collect gathered (mode: "ignore" on a repeat).
function Rec:_steps(c, mode)
  local db = self.db
  local steps = {}
  local function add(list) for _, st in ipairs(list) do steps[#steps + 1] = st end end
  add(db:upsert_steps("orders", ORDER_COLS, { "run_id", "client_order_id" }, c.orders))
  add(db:insert_steps("order_events", { "run_id", "seq", "client_order_id", "time", "status", "filled_qty",
    "avg_price", "reason" }, self.events, mode))
  add(db:insert_steps("fills", { "run_id", "seq", "client_order_id", "account", "symbol", "side", "qty", "price",
    "commission", "time" }, self.fills, mode))
  add(db:insert_steps("ledger", { "run_id", "seq", "account", "time", "kind", "symbol", "amount", "balance",
    "ref_order", "ref_num" }, c.ledger, mode))
  add(db:upsert_steps("accounts", ACCOUNT_COLS, { "run_id", "name" }, c.accounts))
  for _, set in ipairs(c.sets) do
    local tbl, names, columns, n = set[1], set[2], set[3], set[4]
    if self.writer then
      local st = db:insert_steps(tbl, names, {}, mode)[1]
      st[2], st.columns, st.n = nil, columns, n
      steps[#steps + 1] = st
    else
      add(db:insert_steps(tbl, names, rows_of(columns, n), mode))
    end
  end
  return steps
end

-- Everything new since the last flush, in one transaction; the bookmarks move once it
-- is committed, or (written behind) once the writer has its copy of the rows.
function Rec:flush(eng, events_done)
  local c = self:_collect(eng, events_done)
  local db = self.db
  local ok, err, code
  if self.writer then
    ok, err, code = self.writer:submit(self:_steps(c))
  else
    local checkpoint = self.durable and self:_checkpoint(eng, c)
    local fault = self.fault
    local t0 = time.monotonic()
    ok, err, code = db:transaction(function()
      -- New rows only, so the bulk path (COPY on PostgreSQL); "ignore" when repeating.
      local sok, serr, scode = db:run_steps(self:_steps(c, db.retrying and "ignore" or nil))
      if not sok or not checkpoint then return sok, serr, scode end
      sok, serr, scode = db:exec("UPDATE runs SET checkpoint = ? WHERE id = ?", checkpoint, self.id)
      if sok and fault then fault:hit("before_commit", self.commits + 1) end
      return sok, serr, scode
    end)
    if ok and fault then fault:hit("after_commit", self.commits + 1) end
    -- the live runner's store-latency histogram (seconds per commit)
    if ok and self.on_commit then self.on_commit((time.monotonic() - t0) / 1e6) end
  end
  if not ok then return nil, err, code end
  self.commits = self.commits + 1
  if self.durable then self:_trim(eng) end
  self.first_open = c.first_open
  for _, a in ipairs(eng.accounts) do self.ledger_done[a.name] = tonumber(a.ptr.nledger) end
  for name, rows in pairs(eng.journal) do self.journal_done[name] = #rows end
  for _, a in ipairs(eng.accounts) do self.eq_done[a.name] = #a.eq_dates end
  self.events, self.fills = {}, {}
  self.tot_dates, self.tot_values, self.tot_flows = {}, {}, {}
  self.last_flush = time.monotonic()
  return true
end

-- The end of the run: what is left, the closing rows (trades, positions, lots,
-- assignments) and the run's status.  Written behind, they are queued after the last
-- batch (the writer keeps order) and the caller may go on (write its files) before
-- rec:close(), which waits for all of it; otherwise they are written here, in one
-- transaction.  finish -> true | nil, message, code; close -> the run's id | nil, ...
function Rec:finish(eng, result, extra)
  local status = extra.status or result.status
  if self.shadow then
    -- Stopped while re-running to the checkpoint: the store already holds more than
    -- this process did; only the status changes.
    local ok, err, code = self.db:exec("UPDATE runs SET status = ?, ended_at = ? WHERE id = ?", status, time.now(),
      self.id)
    if not ok then return nil, err, code end
    self.closed_id = self.id
    return true
  end
  local ok, err, code = self:flush(eng, extra.events)
  if not ok then return nil, err, code end
  local db, id = self.db, self.id
  local trades, positions, assignments = {}, {}, {}
  for _, t in ipairs(result.trades) do
    trades[#trades + 1] = { id, t.id, t.account, t.symbol, t.side, t.qty, (time.parse(t.entry_time)),
      t.entry_price, (time.parse(t.exit_time)), t.exit_price, t.bars, t.gross, t.commission, t.pnl }
  end
  for i, p in ipairs(result.positions) do
    positions[#positions + 1] = { id, p.account, p.symbol, i, p.qty, p.avg_cost, p.mark, p.value, eng.now }
  end
  -- The open tax lots behind those positions, oldest first (FIFO: the order they close).
  local lots = {}
  for _, a in ipairs(eng.accounts) do
    local ptr = a.ptr
    for j = 0, ptr.npositions - 1 do
      local p = ptr.positions[j]
      if p.qty ~= 0 then
        local sym = ffi.string(p.symbol)
        for k = 0, p.nlots - 1 do
          local lot = p.lots[p.lot_head + k]
          lots[#lots + 1] = { id, a.name, sym, k + 1, lot.qty, lot.cost, tonumber(lot.open_time) }
        end
      end
    end
  end
  for i, a in ipairs(result.assignments) do
    assignments[#assignments + 1] = { id, i, a.account, a.contract, a.kind, a.contracts, a.shares, a.strike,
      a.underlying_price, (time.parse(a.time)) }
  end
  local meta = {
    strategy = result.strategy, config = result.config, events = extra.events, exposed = extra.exposed,
    commissions = result.summary.commissions,
  }
  local function closing(mode)
    local steps = {}
    local function add(list) for _, st in ipairs(list) do steps[#steps + 1] = st end end
    add(db:insert_steps("trades", { "run_id", "id", "account", "symbol", "side", "qty", "entry_time", "entry_price",
      "exit_time", "exit_price", "bars", "gross", "commission", "pnl" }, trades, mode))
    add(db:insert_steps("positions", { "run_id", "account", "symbol", "seq", "qty", "avg_cost", "mark", "value",
      "updated" }, positions, mode))
    add(db:insert_steps("tax_lots", { "run_id", "account", "symbol", "lot", "qty", "price", "opened" }, lots, mode))
    add(db:insert_steps("assignments", { "run_id", "seq", "account", "contract", "kind", "contracts", "shares",
      "strike", "underlying_price", "time" }, assignments, mode))
    steps[#steps + 1] = { db:dialect_sql("UPDATE runs SET status = ?, error = ?, ended_at = ?, meta = ? WHERE id = ?"),
      { { status, nn(result.error), time.now(), json.encode(meta, { sorted = true }), id } }, 5, "rows" }
    return steps
  end
  if self.writer then
    local ticket, werr, wcode = self.writer:submit(closing())
    if not ticket then return nil, werr, wcode end
    return true
  end
  local done, derr, dcode = db:transaction(function() return db:run_steps(closing(db.retrying and "ignore" or nil)) end)
  if not done then return nil, derr, dcode end
  self.closed_id = id
  return true
end

-- A live run keeps in memory only the recent part of what it has stored: the
-- journal's last KEEP_ROWS rows per stream and each account's last KEEP_ROWS equity
-- days (the API shows the recent rows; reports come from the store).  Rows are
-- dropped only once committed, and only in bulk (when twice KEEP_ROWS are stored), so
-- it costs O(1) a row.  The engine's decisions never read them, so a resume's re-run
-- (which trims at its own commits) decides the same.
M.KEEP_ROWS = 500

local function drop_front(list, n)
  local len = #list
  for i = 1, len - n do list[i] = list[i + n] end
  for i = len - n + 1, len do list[i] = nil end
end

function Rec:_trim(eng)
  local keep = M.KEEP_ROWS
  for name, rows in pairs(eng.journal) do
    local done = self.journal_done[name] or 0
    if done > 2 * keep then
      local drop = done - keep
      drop_front(rows, drop)
      eng.journal_base[name] = (eng.journal_base[name] or 0) + drop
      self.journal_done[name] = done - drop
    end
  end
  for _, a in ipairs(eng.accounts) do
    local done = self.eq_done[a.name] or 0
    if done > 2 * keep then
      local drop = done - keep
      drop_front(a.eq_dates, drop)
      drop_front(a.eq_values, drop)
      drop_front(a.eq_flows, drop)
      self.eq_done[a.name] = done - drop
    end
  end
end

-- The checkpoint a durable flush commits with its rows: where the run is (pos) and how
-- much of each kind is written once it commits, for a resume to check its re-run
-- against (sessions.lua).
function Rec:_checkpoint(eng, c)
  local ledger, equity = {}, {}
  for _, a in ipairs(eng.accounts) do
    ledger[a.name], equity[a.name] = tonumber(a.ptr.nledger), #a.eq_dates
  end
  return json.encode({ pos = self.pos, commit = self.commits + 1, events = self.event_seq, fills = self.fill_seq,
    protocol = self.protocol_seq, orders = eng:norders(), first_open = c.first_open, days = self.days,
    ledger = ledger, equity = equity, date = eng.date or null }, { sorted = true })
end

-- A resumed run's re-run at a position where the original could have committed: at
-- the checkpoint's own position the re-run must hold exactly what the store holds;
-- from there the recorder writes.  Passing it without stopping there means the re-run
-- went another way (the strategy, its params or the bars changed).
function Rec:_shadow_at(eng, pos)
  local cp = self.shadow
  if pos == nil or pos < cp.pos then return true end
  if pos > cp.pos then
    return nil, format("resume: the re-run passed the checkpoint (position %d) without stopping there: "
      .. "the strategy, its params or the bars are not the ones the session ran with", cp.pos)
  end
  local ok, err = self:_verify(eng, cp)
  if not ok then return nil, "resume: " .. err end
  -- Everything so far is in the store: the bookmarks move to the present.
  self.first_open = first_open_from(eng, 1)
  local total = 0
  for _, a in ipairs(eng.accounts) do
    self.ledger_done[a.name], self.eq_done[a.name] = tonumber(a.ptr.nledger), #a.eq_dates
  end
  for name, rows in pairs(eng.journal) do
    self.journal_done[name] = #rows
    total = total + (eng.journal_base[name] or 0) + #rows
  end
  self.protocol_seq = total
  self.commits = cp.commit or 0
  self.shadow = nil
  self.resumed_at = cp
  return true
end

-- The re-run against the checkpoint and against the rows themselves: the counts, every
-- order's status and fill, and each account's cash as its last ledger balance.
function Rec:_verify(eng, cp)
  local function differ(what, want, got)
    return nil, format("%s: the store has %s, the re-run %s (the strategy, its params or the bars changed)",
      what, tostring(want), tostring(got))
  end
  if cp.events ~= self.event_seq then return differ("order events", cp.events, self.event_seq) end
  if cp.fills ~= self.fill_seq then return differ("fills", cp.fills, self.fill_seq) end
  if cp.orders ~= eng:norders() then return differ("orders", cp.orders, eng:norders()) end
  if cp.days ~= self.days then return differ("days", cp.days, self.days) end
  local db, id = self.db, self.id
  local rows, err = db:query("SELECT seq, client_order_id, status, filled_qty FROM orders WHERE run_id = ? ORDER BY seq", id)
  if not rows then return nil, err end
  if #rows ~= eng:norders() then return differ("orders (rows)", #rows, eng:norders()) end
  for k, r in ipairs(rows) do
    local o = eng:order_at(k)
    local cid, status = ffi.string(o.id), oms.name("status", o.status)
    if r.client_order_id ~= cid or r.status ~= status or tonumber(r.filled_qty) ~= o.filled_qty then
      return differ("order " .. k, format("%s %s %s", r.client_order_id, r.status, tostring(r.filled_qty)),
        format("%s %s %s", cid, status, tostring(o.filled_qty)))
    end
  end
  for _, t in ipairs({ { "order_events", cp.events }, { "fills", cp.fills }, { "protocol_events", cp.protocol } }) do
    local row, qerr = db:one(format("SELECT COUNT(*) AS n FROM %s WHERE run_id = ?", t[1]), id)
    if not row then return nil, qerr end
    if tonumber(row.n) ~= t[2] then return differ(t[1] .. " (rows)", row.n, t[2]) end
  end
  for _, a in ipairs(eng.accounts) do
    local want = cp.ledger[a.name]
    if want ~= tonumber(a.ptr.nledger) then return differ("ledger of " .. a.name, want, tonumber(a.ptr.nledger)) end
    if want and want > 0 then
      local row, qerr = db:one("SELECT balance FROM ledger WHERE run_id = ? AND account = ? ORDER BY seq DESC LIMIT 1",
        id, a.name)
      if not row then return nil, qerr or ("no ledger rows for " .. a.name) end
      if tonumber(row.balance) ~= eng:cash(a) then return differ("cash of " .. a.name, row.balance, eng:cash(a)) end
    end
  end
  return true
end

-- Waits until everything the run wrote is committed: its id, or nil, message, code.
function Rec:close()
  if self.writer then
    local ok, err, code = self.writer:wait()
    self.writer:close()
    self.writer = nil
    if not ok then return nil, err, code end
    self.closed_id = self.id
  end
  if not self.closed_id then return nil, "store: the run was not finished", "EDB" end
  return self.closed_id
end

-- ---- runs left behind ----

-- Marks `incomplete` every run still `running` whose process, on this host, is gone
-- (killed, crashed).  Returns how many.  A run of another host is left alone: this
-- process cannot tell whether it lives.
function M.reap(db)
  local h = host()
  local rows, err, code = db:query("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", h.hostname())
  if not rows then return nil, err, code end
  local n = 0
  for _, r in ipairs(rows) do
    local pid = tonumber(r.pid)
    if pid and pid ~= h.pid() and not h.pid_alive(pid) then
      local ok, uerr, ucode = db:exec("UPDATE runs SET status = 'incomplete', ended_at = ? WHERE id = ? AND status = 'running'",
        time.now(), r.id)
      if not ok then return nil, uerr, ucode end
      n = n + 1
    end
  end
  return n
end

-- ---- reading ----

function M.list(db)
  return db:query("SELECT id, kind, strategy, status, started_at, ended_at, data_hash, code_hash, params "
    .. "FROM runs ORDER BY id")
end

local function num(v) if v == null then return null end return tonumber(v) end
local function str(v) if v == null then return null end return v end

-- The result document of run `id` rebuilt from the tables (docs/results.md): the same
-- document the run itself wrote.  filter: account (one account's view), from / to
-- (New York dates, both included).  records = false leaves out orders and ledger.
function M.load(db, id, filter)
  filter = filter or {}
  local run, err, code = db:one("SELECT * FROM runs WHERE id = ?", id)
  if run == nil and err == nil then return nil, format("%s: no run %s (alluse report --db %s --list shows them)",
    db.url, tostring(id), db.url), "ENOTFOUND" end
  if not run then return nil, err, code end
  if run.meta == null then
    return nil, format("%s: run %d is %s: it has no results to report", db.url, id, run.status), "EINCOMPLETE"
  end
  local meta = json.decode(run.meta, { arrays = true })
  local acct_filter = filter.account
  local from, to = filter.from, filter.to
  local function in_range(date) return (not from or date >= from) and (not to or date <= to) end
  local function time_in_range(us)
    if not from and not to then return true end
    return in_range(require("alluse.calendar").ny_date(us))
  end

  local accounts_rows = assert(db:query("SELECT * FROM accounts WHERE run_id = ? ORDER BY seq", id))
  -- Accounts in the engine's order: the order they were opened (main first, then forks).
  local order = {}
  for _, a in ipairs(accounts_rows) do order[a.name] = a end
  if acct_filter and not order[acct_filter] then
    return nil, format("%s: run %d has no account '%s'", db.url, id, acct_filter), "ENOTFOUND"
  end

  -- equity rows
  local eq = assert(db:query("SELECT account, date, equity, flow FROM equity WHERE run_id = ? ORDER BY date", id))
  local by_date, dates = {}, {}
  local series = {} -- account -> { dates, values, flows }
  for _, r in ipairs(eq) do
    local d = by_date[r.date]
    if not d then
      d = { date = r.date, accounts = {}, flows = {} }
      by_date[r.date] = d
      dates[#dates + 1] = r.date
    end
    if r.account == "" then
      d.total, d.flows.total = r.equity, r.flow
    else
      d.accounts[r.account], d.flows[r.account] = r.equity, r.flow
      local s = series[r.account]
      if not s then s = { dates = {}, values = {}, flows = {} } series[r.account] = s end
      s.dates[#s.dates + 1], s.values[#s.values + 1], s.flows[#s.flows + 1] = r.date, r.equity, r.flow
    end
  end
  return M._assemble(db, run, meta, {
    id = id, accounts_rows = accounts_rows, order = order, by_date = by_date, dates = dates, series = series,
    acct = acct_filter, in_range = in_range, time_in_range = time_in_range, from = from, to = to,
    records = filter.records ~= false,
  })
end

-- Restricts a series (dates, values, flows) to the date range; the equity before the
-- first kept date becomes the starting equity.
local function clip(s, in_range, initial)
  if not s then return { dates = {}, values = {}, flows = {} }, initial end
  local out = { dates = {}, values = {}, flows = {} }
  local start = initial
  for i, d in ipairs(s.dates) do
    if in_range(d) then
      out.dates[#out.dates + 1], out.values[#out.values + 1], out.flows[#out.flows + 1] = d, s.values[i], s.flows[i]
    elseif #out.dates == 0 then
      start = s.values[i]
    end
  end
  return out, start
end

function M._assemble(db, run, meta, c)
  local id = c.id
  local time_ok = c.time_in_range
  local acct = c.acct

  local trades = json.array()
  for _, t in ipairs(assert(db:query("SELECT * FROM trades WHERE run_id = ? ORDER BY id", id))) do
    if (not acct or t.account == acct) and time_ok(t.exit_time) then
      trades[#trades + 1] = {
        id = t.id, account = t.account, symbol = t.symbol, side = t.side, qty = t.qty,
        entry_time = iso(t.entry_time), entry_price = t.entry_price, exit_time = iso(t.exit_time),
        exit_price = t.exit_price, bars = t.bars, gross = t.gross, commission = t.commission, pnl = t.pnl,
      }
    end
  end
  local function trades_of(name)
    local out = {}
    for _, t in ipairs(trades) do if t.account == name then out[#out + 1] = t end end
    return out
  end

  local accounts = json.array()
  local ordered = c.accounts_rows
  for _, a in ipairs(ordered) do
    if not acct or a.name == acct then
      local initial = a.initial_cash > 0 and a.initial_cash or 1
      local s, start = clip(c.series[a.name], c.in_range, initial)
      accounts[#accounts + 1] = {
        name = a.name, parent = str(a.parent), status = a.status,
        summary = stats.summary { dates = s.dates, equity = s.values, flows = s.flows, initial = start,
          trades = trades_of(a.name), bars = meta.events, exposed_bars = num(a.exposed_bars),
          commissions = num(a.commissions) },
      }
    end
  end

  -- The total: all accounts, or the one asked for.
  local equity_rows = json.array()
  local tdates, tvalues, tflows = {}, {}, {}
  local total_initial = meta.config.initial_cash
  if acct then
    local a = c.order[acct]
    total_initial = a.initial_cash > 0 and a.initial_cash or 1
  end
  local started = false
  for _, d in ipairs(c.dates) do
    local row = c.by_date[d]
    local value, flow
    if acct then value, flow = row.accounts[acct], row.flows[acct] else value, flow = row.total, row.flows.total end
    if value ~= nil then
      if c.in_range(d) then
        started = true
        tdates[#tdates + 1], tvalues[#tvalues + 1], tflows[#tflows + 1] = d, value, flow
        if acct then
          equity_rows[#equity_rows + 1] = { date = d, total = value, accounts = { [acct] = value },
            flows = { [acct] = flow, total = flow } }
        else
          equity_rows[#equity_rows + 1] = { date = d, total = value, accounts = row.accounts, flows = row.flows }
        end
      elseif not started then
        total_initial = value
      end
    end
  end
  local commissions = meta.commissions
  if acct then commissions = num(c.order[acct].commissions) end
  local summary = stats.summary {
    dates = tdates, equity = tvalues, flows = tflows, initial = total_initial, trades = trades,
    bars = meta.events, exposed_bars = acct and num(c.order[acct].exposed_bars) or meta.exposed,
    commissions = commissions,
  }

  local positions = json.array()
  for _, p in ipairs(assert(db:query("SELECT * FROM positions WHERE run_id = ? ORDER BY seq", id))) do
    if not acct or p.account == acct then
      positions[#positions + 1] = { account = p.account, symbol = p.symbol, qty = p.qty, avg_cost = p.avg_cost,
        mark = p.mark, value = p.value }
    end
  end

  local assignments = json.array()
  for _, a in ipairs(assert(db:query("SELECT * FROM assignments WHERE run_id = ? ORDER BY seq", id))) do
    if (not acct or a.account == acct) and time_ok(a.time) then
      assignments[#assignments + 1] = { account = a.account, contract = a.contract, kind = a.kind,
        contracts = a.contracts, shares = a.shares, strike = a.strike, underlying_price = a.underlying_price,
        time = iso(a.time) }
    end
  end

  local journal = {}
  for _, e in ipairs(assert(db:query("SELECT stream, time, body FROM protocol_events WHERE run_id = ? ORDER BY seq", id))) do
    local row = json.decode(e.body, { arrays = true })
    if (not acct or row.account == acct) and time_ok(e.time) then
      row.time = iso(e.time)
      local list = journal[e.stream]
      if not list then list = json.array() journal[e.stream] = list end
      list[#list + 1] = row
    end
  end

  local orders, ledger
  local norders, nledger, nfills = 0, 0, 0
  local order_list = json.array()
  for _, o in ipairs(assert(db:query("SELECT * FROM orders WHERE run_id = ? ORDER BY seq", id))) do
    if (not acct or o.account == acct) and time_ok(o.created) then
      norders = norders + 1
      if c.records then
        order_list[#order_list + 1] = { id = o.client_order_id, account = o.account, symbol = o.symbol,
          side = o.side, type = o.type, tif = o.tif, status = o.status, reason = o.reason, qty = o.qty,
          filled_qty = o.filled_qty, avg_price = o.avg_price, limit_price = o.limit_price,
          stop_price = o.stop_price, created = iso(o.created), updated = iso(o.updated) }
      end
    end
  end
  local ledger_list = json.array()
  for _, p in ipairs(assert(db:query("SELECT * FROM ledger WHERE run_id = ? ORDER BY seq", id))) do
    if (not acct or p.account == acct) and time_ok(p.time) then
      nledger = nledger + 1
      if c.records then
        local ref = p.ref_order
        if ref == null then ref = num(p.ref_num) end
        ledger_list[#ledger_list + 1] = { seq = p.seq, account = p.account, time = iso(p.time), kind = p.kind,
          symbol = p.symbol, amount = p.amount, balance = p.balance, ref = ref }
      end
    end
  end
  for _, f in ipairs(assert(db:query("SELECT account, time FROM fills WHERE run_id = ?", id))) do
    if (not acct or f.account == acct) and time_ok(f.time) then nfills = nfills + 1 end
  end
  if c.records then orders, ledger = order_list, ledger_list end

  return {
    version = 1,
    status = run.status,
    error = run.error ~= null and run.error or nil,
    strategy = meta.strategy,
    config = meta.config,
    assignments = assignments,
    summary = summary,
    accounts = accounts,
    equity = equity_rows,
    weekly_returns = json.array(stats.weekly_returns(tdates, tvalues, tflows, total_initial)),
    trades = trades,
    positions = positions,
    journal = journal,
    counts = { orders = norders, fills = nfills, ledger = nledger, trades = #trades },
    orders = orders,
    ledger = ledger,
  }
end

return M
