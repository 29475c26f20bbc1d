-- Protocol events (level changes, rolls, stop-losses, profit takes, skipped weeks,
-- assignments, forks, merges, reinvestments, breaker trips, alarms) go to the run's
-- journal, stream "events", with the numbers that triggered them, and to the log.
local M = {}

-- How loud each kind is (PROTOCOL §3: L3 critical, L2 high, L1 medium).
local SEVERITY = {
  stop_loss = "critical", breaker = "high", alarm = "high", skip = "medium", roll = "info",
  hold = "high", profit_take = "info", assigned = "info", called_away = "info", fork = "info",
  merge = "info", merge_start = "info", reinvest = "info", preservation_clear = "info", fork_wait = "medium",
}

-- Record event `kind` of account a (a record or nil) on ticker (or nil); fields: the
-- numbers, flat.
function M.record(ctx, kind, a, ticker, fields)
  local row = { kind = kind, account = a and a.name or "", ticker = ticker or "",
    severity = fields and fields.severity or SEVERITY[kind] or "info" }
  for k, v in pairs(fields or {}) do row[k] = v end
  ctx:record("events", row)
  if row.severity == "critical" or row.severity == "high" then
    ctx:log(string.format("%s %s %s %s", row.severity, kind, row.account, row.ticker))
  end
end

return M
