-- alluse.report.protocol: the ALL-USE protocol's sections of the HTML report
-- (PROTOCOL §6), drawn from result.journal — the `weeks`, `account_weeks`, `events`
-- and `tax` streams strategies/alluse records (docs/protocol.md).  html.render calls
-- it when the journal has weekly rows; every number shown is a sum or count of
-- journal rows, so each can be traced to the JSON.
local M = {}

local format, sort = string.format, table.sort
local floor = math.floor

-- The 11 week types in the protocol's order (strategies/alluse/weeks.lua decides
-- them; the report and the scripts list them in this order).
local TYPES = { "P-EW", "P-AWL", "P-RO", "P-AOL", "P-DD", "C-WAP", "C-WAP+", "C-PNO", "C-RO", "C-REC", "W-IDL" }
M.TYPES = TYPES
local MODES = { "Green", "Chop", "Red" }
-- Rows of the weekly table and the level log shown in the page; the JSON has all.
M.max_rows = 1500

local function cents(x) return floor(x * 100 + 0.5) / 100 end

-- Accounts in the order they first appear in the rows.
local function account_order(rows)
  local seen, out = {}, {}
  for _, r in ipairs(rows) do
    if type(r) == "table" and r.account and not seen[r.account] then
      seen[r.account] = true
      out[#out + 1] = r.account
    end
  end
  return out
end

function M.render(buf, result, f)
  local j = result.journal
  local weeks, aweeks, events, tax = j.weeks or {}, j.account_weeks or {}, j.events or {}, j.tax or {}
  local names = account_order(weeks)
  local esc, money, percent, fixed = f.esc, f.money, f.percent, f.fixed

  -- Per account: premium, P&L, week types (count and P&L), forks, merges.
  local acc = {}
  for _, n in ipairs(names) do acc[n] = { premium = 0, pnl = 0, types = {}, tpnl = {}, forks = 0, merges = 0 } end
  local matrix, guessed, right = {}, 0, 0
  for _, w in ipairs(weeks) do
    local a = acc[w.account]
    a.premium, a.pnl = a.premium + (w.premium or 0), a.pnl + (w.pnl or 0)
    a.types[w.type] = (a.types[w.type] or 0) + 1
    a.tpnl[w.type] = (a.tpnl[w.type] or 0) + (w.pnl or 0)
    a.kind = w.kind
    if w.mode ~= "" then
      local key = w.mode .. "|" .. w.type
      matrix[key] = (matrix[key] or 0) + 1
      if w.mode_guess ~= "" then
        guessed = guessed + 1
        if w.mode_guess == w.mode then right = right + 1 end
      end
    end
  end
  for _, e in ipairs(events) do
    local a = acc[e.account]
    if a and e.kind == "fork" then a.forks = a.forks + 1 end
    if a and e.kind == "merge" then a.merges = a.merges + 1 end
  end
  local hits, counted = {}, {}
  for _, w in ipairs(aweeks) do
    counted[w.account] = (counted[w.account] or 0) + 1
    if w["return"] >= (w.target_min or 0) then hits[w.account] = (hits[w.account] or 0) + 1 end
  end

  buf[#buf + 1] = '\n<section id="protocol-accounts">\n<h2>ALL-USE accounts</h2>\n'
  buf[#buf + 1] = '<p class="note">Premium is what was sold to open; P&amp;L is the change in each ticker\'s realized and unrealized P&amp;L less commissions, week by week (journal.weeks). Target hit: weeks whose return reached the kind\'s weekly target (journal.account_weeks).</p>\n'
  buf[#buf + 1] = '<div class="scroll"><table class="grid protocol-accounts"><thead><tr><th class="text">Account</th><th class="text">Kind</th><th>Premium</th><th>Weekly P&amp;L sum</th><th>Weeks</th><th>Target hit</th><th>Forks</th><th>Merges</th></tr></thead><tbody>'
  for _, n in ipairs(names) do
    local a = acc[n]
    local c = counted[n] or 0
    buf[#buf + 1] = format('<tr data-account="%s"><td class="text">%s</td><td class="text">%s</td><td data-premium="%s">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td></tr>',
      esc(n), esc(n), esc(a.kind or ""), format("%.2f", cents(a.premium)), money(cents(a.premium)),
      money(cents(a.pnl)), fixed(c, 0), c > 0 and percent((hits[n] or 0) / c, 1) or "—", a.forks, a.merges)
  end
  buf[#buf + 1] = '</tbody></table></div>\n</section>\n'

  -- Week types per account: count and P&L.
  buf[#buf + 1] = '<section id="week-types">\n<h2>Week types</h2>\n<div class="scroll"><table class="grid week-types"><thead><tr><th class="text">Account</th>'
  for _, t in ipairs(TYPES) do buf[#buf + 1] = '<th>' .. t .. '</th>' end
  buf[#buf + 1] = '</tr></thead><tbody>'
  for _, n in ipairs(names) do
    local a = acc[n]
    buf[#buf + 1] = format('<tr><td class="text">%s</td>', esc(n))
    for _, t in ipairs(TYPES) do
      local c = a.types[t]
      buf[#buf + 1] = c and format('<td data-type="%s" data-count="%d">%d<br><small>%s</small></td>', t, c, c,
        money(cents(a.tpnl[t]))) or '<td>—</td>'
    end
    buf[#buf + 1] = '</tr>'
  end
  buf[#buf + 1] = '</tbody></table></div>\n'

  -- Mode x type, and Monday's guess.
  buf[#buf + 1] = '<h3>Week mode × week type</h3>\n<div class="scroll"><table class="grid mode-type"><thead><tr><th class="text">Mode</th>'
  for _, t in ipairs(TYPES) do buf[#buf + 1] = '<th>' .. t .. '</th>' end
  buf[#buf + 1] = '</tr></thead><tbody>'
  for _, m in ipairs(MODES) do
    buf[#buf + 1] = format('<tr><td class="text">%s</td>', m)
    for _, t in ipairs(TYPES) do
      local c = matrix[m .. "|" .. t]
      buf[#buf + 1] = c and format('<td data-mode="%s" data-type="%s">%d</td>', m, t, c) or '<td>—</td>'
    end
    buf[#buf + 1] = '</tr>'
  end
  buf[#buf + 1] = format('</tbody></table></div>\n<p class="note" id="mode-accuracy" data-right="%d" data-guessed="%d">Monday\'s guess of the week mode was right in %d of %d account-ticker weeks (%s).</p>\n</section>\n',
    right, guessed, right, guessed, guessed > 0 and percent(right / guessed, 1) or "—")

  -- Weekly table: the first main account's three accounts.
  buf[#buf + 1] = '<section id="protocol-weekly">\n<h2>Weekly table</h2>\n'
  local firsts = { GEN = true, REV = true, COM = true }
  local shown = 0
  buf[#buf + 1] = '<div class="scroll tall"><table class="grid protocol-weekly"><thead><tr><th class="text">Week</th><th class="text">Account</th><th>Value</th><th>Return</th><th>Target</th><th>Premium</th></tr></thead><tbody>'
  for _, w in ipairs(aweeks) do
    if firsts[w.account] and shown < M.max_rows then
      shown = shown + 1
      local tgt = w.target_min == w.target_max and percent(w.target_min, 1)
        or (percent(w.target_min, 1) .. "–" .. percent(w.target_max, 1))
      buf[#buf + 1] = format('<tr><td class="text">%s</td><td class="text">%s</td><td>%s</td><td class="%s">%s</td><td>%s</td><td>%s</td></tr>',
        esc(w.week), esc(w.account), money(cents(w.value)), w["return"] >= (w.target_min or 0) and "pos" or "neg",
        percent(w["return"], 2), tgt, money(w.premium))
    end
  end
  buf[#buf + 1] = format('</tbody></table></div>\n<p class="note">%d weeks of GEN, REV and COM; the week type of every account, ticker and week is in journal.weeks (%d rows).</p>\n</section>\n',
    shown, #weeks)

  -- Monthly statement: per account and month (journal.months), each month led by
  -- the sum over its accounts; reinvestments, forks, merges and stop-losses are
  -- counted from the events of that account and month.
  local counts = {}
  for _, e in ipairs(events) do
    if e.kind == "reinvest" or e.kind == "fork" or e.kind == "merge" or e.kind == "stop_loss" then
      local key = e.time:sub(1, 7) .. "|" .. e.account
      local c = counts[key]
      if not c then
        c = { reinvested = 0, forks = 0, merges = 0, stops = 0 }
        counts[key] = c
      end
      if e.kind == "reinvest" then c.reinvested = c.reinvested + (e.shares or 0) + (e.leaps or 0)
      elseif e.kind == "fork" then c.forks = c.forks + 1
      elseif e.kind == "merge" then c.merges = c.merges + 1
      else c.stops = c.stops + 1 end
    end
  end
  local NONE = { reinvested = 0, forks = 0, merges = 0, stops = 0 }
  local FIELDS = { "start", "flows", "value", "growth", "premium", "realized_st", "realized_lt", "reserve" }
  local months, by_month = {}, {}
  for _, m in ipairs(j.months or {}) do
    local list = by_month[m.month]
    if not list then
      list = {}
      by_month[m.month] = list
      months[#months + 1] = m.month
    end
    list[#list + 1] = m
  end
  sort(months)
  local function statement_row(month, who, r, c, attrs)
    local base = r.start + (r.flows > 0 and r.flows or 0)
    return format('<tr%s><td class="text">%s</td><td class="text">%s</td><td>%s</td><td>%s</td><td>%s</td><td class="%s">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td></tr>',
      attrs, esc(month), who, money(r.start), money(r.flows), money(r.value), r.growth >= 0 and "pos" or "neg",
      money(r.growth), base > 0 and percent(r.growth / base, 2) or "", money(r.premium), money(r.realized_st),
      money(r.realized_lt), money(r.reserve), money(cents(c.reinvested)), c.forks, c.merges, c.stops)
  end
  buf[#buf + 1] = '<section id="protocol-monthly">\n<h2>Monthly statement</h2>\n<div class="scroll tall"><table class="grid protocol-monthly"><thead><tr><th class="text">Month</th><th class="text">Account</th><th>Start</th><th>Transfers</th><th>End</th><th>Growth</th><th>Growth %</th><th>Premium</th><th>Realized ST</th><th>Realized LT</th><th>Tax reserve</th><th>Reinvested</th><th>Forks</th><th>Merges</th><th>Stop-losses</th></tr></thead><tbody>'
  local shown_m, total_m = 0, #(j.months or {})
  for _, month in ipairs(months) do
    local sum = {}
    for _, k in ipairs(FIELDS) do sum[k] = 0 end
    local csum = { reinvested = 0, forks = 0, merges = 0, stops = 0 }
    for _, r in ipairs(by_month[month]) do
      for _, k in ipairs(FIELDS) do sum[k] = sum[k] + r[k] end
      local c = counts[month .. "|" .. r.account] or NONE
      for k, v in pairs(c) do csum[k] = csum[k] + v end
    end
    for _, k in ipairs(FIELDS) do sum[k] = cents(sum[k]) end
    buf[#buf + 1] = statement_row(month, "<b>all</b>", sum, csum, ' class="total" data-account="all"')
    for _, r in ipairs(by_month[month]) do
      if shown_m < M.max_rows then
        shown_m = shown_m + 1
        buf[#buf + 1] = statement_row(month, esc(r.account), r, counts[month .. "|" .. r.account] or NONE,
          format(' data-account="%s"', esc(r.account)))
      end
    end
  end
  buf[#buf + 1] = format('</tbody></table></div>\n<p class="note">Growth: end - start - transfers (a new account starts at 0 and its opening cash is a transfer in; a merged one ends at 0). Growth %%: of start plus transfers in. Tax reserve: at the month\'s end, on all gains so far. %s</p>\n</section>\n',
    shown_m < total_m and format("%d of %d account rows shown (every month's total is); all are in journal.months.", shown_m, total_m)
      or format("%d account rows; also in journal.months.", total_m))

  -- ATR levels: every change to 2 or 3 (and the count of the rest).
  local shown_l, level1 = 0, 0
  buf[#buf + 1] = '<section id="atr-log">\n<h2>ATR level changes</h2>\n<div class="scroll tall"><table class="grid atr-log"><thead><tr><th class="text">Time</th><th class="text">Account</th><th class="text">Ticker</th><th>From</th><th>To</th><th>Move (ATR)</th><th>ATR</th><th>Price</th><th>Entry</th></tr></thead><tbody>'
  for _, e in ipairs(events) do
    if e.kind == "level" then
      if (e.to >= 2 or e.from >= 2) and shown_l < M.max_rows then
        shown_l = shown_l + 1
        buf[#buf + 1] = format('<tr><td class="text">%s</td><td class="text">%s</td><td class="text">%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>',
          esc(e.time), esc(e.account), esc(e.ticker), e.from, e.to, fixed(e.m, 2), fixed(e.atr, 2), fixed(e.price, 2),
          fixed(e.entry, 2))
      else
        level1 = level1 + 1
      end
    end
  end
  buf[#buf + 1] = format('</tbody></table></div>\n<p class="note">%d changes to or from level 2 and 3 shown; %d between 0 and 1 are in journal.events.</p>\n</section>\n',
    shown_l, level1)

  -- Forks, merges and reinvestments.
  buf[#buf + 1] = '<section id="lifecycle">\n<h2>Forks, merges and reinvestments</h2>\n<div class="scroll tall"><table class="grid lifecycle"><thead><tr><th class="text">Time</th><th class="text">Event</th><th class="text">Account</th><th class="text">Details</th></tr></thead><tbody>'
  for _, e in ipairs(events) do
    local k = e.kind
    if k == "fork" or k == "merge" or k == "merge_start" or k == "reinvest" or k == "fork_wait" then
      local details
      if k == "fork" then
        details = format("%s into %s (surplus %s, tax reserve %s)", money(e.amount or 0),
          e.into == "main" and ("main account " .. tostring(e.main)) or (tostring(e.gen_child) .. " + " .. tostring(e.com_child)),
          money(e.surplus or 0), money(e.tax_reserve or 0))
      elseif k == "merge" then
        details = format("%s into %s", money(e.amount or 0), tostring(e.into))
      elseif k == "merge_start" then
        details = format("family worth %s", money(e.value or 0))
      elseif k == "reinvest" then
        details = format("%s reinvestable: %s shares, %s LEAPS (tax reserve %s)", money(e.reinvestable or 0),
          money(e.shares or 0), money(e.leaps or 0), money(e.tax_reserve or 0))
      else
        details = format("surplus %s waits: %s", money(e.surplus or 0), tostring(e.reason))
      end
      buf[#buf + 1] = format('<tr data-kind="%s"><td class="text">%s</td><td class="text">%s</td><td class="text">%s</td><td class="text">%s</td></tr>',
        esc(k), esc(e.time), esc(k), esc(e.account), esc(details))
    end
  end
  buf[#buf + 1] = '</tbody></table></div>\n</section>\n'

  -- Tax.
  buf[#buf + 1] = '<section id="tax">\n<h2>Tax summary</h2>\n<p class="note">Realized P&amp;L by FIFO lot, short term (held a year or less) and long term, and the estimated tax reserve held back from reinvestment and forks (never paid in a backtest).</p>\n<div class="scroll"><table class="grid tax"><thead><tr><th class="text">Account</th><th>Short term</th><th>Long term</th><th>Reserve</th></tr></thead><tbody>'
  local tot = { 0, 0, 0 }
  for _, x in ipairs(tax) do
    buf[#buf + 1] = format('<tr><td class="text">%s</td><td>%s</td><td>%s</td><td>%s</td></tr>', esc(x.account),
      money(x.realized_st), money(x.realized_lt), money(x.reserve))
    tot[1], tot[2], tot[3] = tot[1] + x.realized_st, tot[2] + x.realized_lt, tot[3] + x.reserve
  end
  buf[#buf + 1] = format('<tr class="total"><td class="text">Total</td><td>%s</td><td>%s</td><td>%s</td></tr></tbody></table></div>\n</section>\n',
    money(cents(tot[1])), money(cents(tot[2])), money(cents(tot[3])))
end

return M
