-- The monthly statement (PROTOCOL §6): one `months` journal row per account and
-- calendar month — value at the start and end, transfers in and out, growth (the
-- change in value net of transfers: the month's P&L), premium collected, realized
-- gains short and long term, and the estimated tax reserve.  Rows are written when
-- the first trading day of the next month begins and at the end of the run for the
-- month in progress; values are the equity curve's (ctx closing_equity: the last
-- end of day), so each row matches the results' equity of that day.
local book = require("book")

local M = {}

local cents = book.cents

-- Money moved into (+) or out of (-) account a this month.  A new account's opening
-- cash counts as a transfer in: its month starts from 0.
function M.flow(a, amount)
  a.mo_flows = (a.mo_flows or 0) + amount
end

-- Premium from a sale of a's short option.
function M.premium(a, amount)
  a.mo_premium = (a.mo_premium or 0) + amount
end

local function row(ctx, p, st, a, month)
  local h = ctx:account(a.name)
  local value = a.status == "active" and h:closing_equity() or 0
  local rst, rlt = h:realized()
  local start, flows = a.mo_start or 0, a.mo_flows or 0
  ctx:record("months", {
    month = month, account = a.name, kind = a.kind, status = a.status,
    start = cents(start), value = cents(value), flows = cents(flows), growth = cents(value - start - flows),
    premium = cents(a.mo_premium or 0),
    realized_st = cents(rst - (a.mo_rst or 0)), realized_lt = cents(rlt - (a.mo_rlt or 0)),
    reserve = cents(book.tax_reserve(ctx, p, a)),
  })
  a.mo_start, a.mo_flows, a.mo_premium, a.mo_rst, a.mo_rlt = value, 0, 0, rst, rlt
end

-- Close month st.month for every account that was open in it (an account merged
-- during the month gets its last row, with value 0).
function M.close(ctx, p, st)
  if not st.month then return end
  for _, name in ipairs(st.names) do
    local a = st.accts[name]
    if a.status == "active" or not a.mo_closed then
      row(ctx, p, st, a, st.month)
      if a.status ~= "active" then a.mo_closed = true end
    end
  end
end

-- At the start of each trading day: a new month closes the last one.
function M.day(ctx, p, st, date)
  local month = date:sub(1, 7)
  if month == st.month then return end
  M.close(ctx, p, st)
  st.month = month
end

return M
