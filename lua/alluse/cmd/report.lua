-- alluse report: a stored run's report, rebuilt from the database (docs/storage.md).
local flags = require("alluse.flags")

local format = string.format

local function date_flag(name, text)
  if text == nil then return nil end
  local ok = text:match("^%d%d%d%d%-%d%d%-%d%d$") and pcall(require("alluse.calendar").day_number, text)
  if not ok then flags.usage_error("--%s must be a date YYYY-MM-DD, got '%s'", name, text) end
  return text
end

local function when(us)
  if type(us) ~= "number" then return "-" end
  return require("alluse.time").format(us, { frac = false })
end

local function list(db)
  local runs = require("alluse.store.runs")
  local rows, err = runs.list(db)
  if not rows then
    io.stderr:write("report: ", tostring(err), "\n")
    return 1
  end
  io.stdout:write(format("%-6s %-9s %-16s %-11s %-20s %-20s %s\n", "id", "kind", "strategy", "status", "started",
    "ended", "data"))
  for _, r in ipairs(rows) do
    io.stdout:write(format("%-6d %-9s %-16s %-11s %-20s %-20s %s\n", r.id, r.kind, r.strategy, r.status,
      when(r.started_at), when(r.ended_at), type(r.data_hash) == "string" and r.data_hash:sub(1, 12) or "-"))
  end
  return 0
end

local function run(opts, args)
  if args[1] then flags.usage_error("unexpected argument '%s'", args[1]) end
  local fmt = opts.format or "html"
  if fmt ~= "html" and fmt ~= "json" and fmt ~= "csv" then
    flags.usage_error("--format must be html, json or csv, got '%s'", fmt)
  end
  local id
  if opts.run then
    id = tonumber(opts.run)
    if not id or id < 1 or id % 1 ~= 0 then flags.usage_error("--run must be a run id (a positive integer), got '%s'", opts.run) end
  end
  local from, to = date_flag("from", opts.from), date_flag("to", opts.to)
  if from and to and to < from then flags.usage_error("--to %s is before --from %s", to, from) end

  local store = require("alluse.store")
  local db, err = store.open(opts.db, { create = false })
  if not db then
    io.stderr:write("report: ", tostring(err), "\n")
    return 1
  end
  local runs = require("alluse.store.runs")
  runs.reap(db)
  if opts.list then
    local rc = list(db)
    db:close()
    return rc
  end
  if not id then
    local row = db:one("SELECT MAX(id) AS id FROM runs WHERE meta IS NOT NULL")
    id = row and tonumber(row.id)
    if not id then
      io.stderr:write(format("report: %s holds no finished run\n", db.url))
      db:close()
      return 1
    end
  end
  local result, lerr = runs.load(db, id, { account = opts.account, from = from, to = to, records = fmt == "json" })
  db:close()
  if not result then
    io.stderr:write("report: ", tostring(lerr), "\n")
    return 1
  end
  local text
  if fmt == "json" then
    text = require("alluse.json").encode(result, { sorted = true, indent = 2 }) .. "\n"
  elseif fmt == "csv" then
    text = require("alluse.cmd.backtest").trades_csv(result)
  else
    text = require("alluse.report.html").render(result)
  end
  if opts.out then
    local f, ferr = io.open(opts.out, "wb")
    if not f then
      io.stderr:write(format("report: cannot write %s: %s\n", opts.out, tostring(ferr)))
      return 1
    end
    f:write(text)
    f:close()
  else
    io.stdout:write(text)
  end
  return 0
end

return {
  usage = "alluse report [--db URL] [--run ID] [--account NAME] [--from D] [--to D] [--format html|json|csv]\n"
    .. "       [--out FILE] | alluse report [--db URL] --list",
  description = "Rebuild the report of a stored run (alluse backtest --db) from the database: the\n"
    .. "statistics are computed again from the stored equity, trades and ledger.  For a whole\n"
    .. "backtest it is byte for byte the report the run wrote itself (--format json: its --json,\n"
    .. "html: its --report, csv: its --trades).  --account narrows it to one account, --from and\n"
    .. "--to to New York dates (both included).  Without --run: the latest finished run.\n"
    .. "--list lists the stored runs.  See docs/storage.md.",
  flags = {
    { name = "db", arg = "URL", help = "the database (default $ALLUSE_DB, else sqlite:alluse.db)" },
    { name = "run", arg = "ID", help = "the run to report (default: the latest finished)" },
    { name = "account", arg = "NAME", help = "one account's report" },
    { name = "from", arg = "DATE", help = "first New York date (YYYY-MM-DD)" },
    { name = "to", arg = "DATE", help = "last New York date, included" },
    { name = "format", arg = "F", help = "html (default), json or csv (the round trips)" },
    { name = "out", arg = "FILE", help = "write to FILE instead of stdout" },
    { name = "list", help = "list the stored runs" },
  },
  run = run,
}
