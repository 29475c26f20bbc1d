-- alluse data import|info: market data in and out of the binary bar store and the
-- database's bars table.
local flags = require("alluse.flags")

local USAGE = "alluse data import FILE... --store DIR|--db URL [--symbol SYM] [--timeframe TF] [--tick T] [--skip-bad]\n"
  .. "       alluse data info --store DIR [--verify] [--json]\n"
  .. "       alluse data info --db URL [--json]"

-- A bar's time as people read it: the date for daily and longer bars, else New
-- York wall time with its offset.
local function show_time(us, timeframe)
  local time = require("alluse.time")
  local text = time.format(us, { tz = "America/New_York" })
  if timeframe == "1d" or timeframe == "1w" or timeframe == "1mo" then return text:sub(1, 10) end
  return text
end

-- SPY-daily.csv -> SPY; the symbol is the file name up to the first '-' or '.'.
local function symbol_from_path(path)
  local base = path:match("([^/]+)$")
  return base:match("^([^%-%.]+)")
end

local function import(opts, files)
  local data = require("alluse.data")
  if #files == 0 then flags.usage_error("import needs at least one FILE") end
  if not opts.store and not opts.db then flags.usage_error("import needs --store DIR or --db URL (or both)") end
  if opts.symbol and #files > 1 then flags.usage_error("--symbol names one file's symbol; give one FILE") end
  if opts.verify or opts.json then flags.usage_error("--verify and --json belong to 'data info'") end
  local tick = opts.tick and tonumber(opts.tick)
  if opts.tick and (not tick or tick <= 0) then flags.usage_error("--tick must be a positive number, got '" .. opts.tick .. "'") end
  if opts.timeframe then
    local ok, why = pcall(require("alluse.series").parse_timeframe, opts.timeframe)
    if not ok then flags.usage_error("--timeframe: " .. tostring(why):gsub("^.-:%d+: ", "")) end
  end
  if opts.store then require("alluse.fs").mkdir_p(opts.store) end
  local db
  if opts.db then
    local err
    db, err = require("alluse.store").open(opts.db)
    if not db then
      io.stderr:write("data: --db ", tostring(err), "\n")
      return 1
    end
  end
  local failed = 0
  for _, path in ipairs(files) do
    local symbol = opts.symbol or symbol_from_path(path)
    local ok, why = pcall(data.check_symbol, symbol or "", 1)
    if not ok then
      io.stderr:write(path, ": cannot take a symbol from the file name (", tostring(why):gsub("^.-: ", ""), "); use --symbol\n")
      failed = failed + 1
    else
      local s, res = data.read_csv(path, { symbol = symbol, timeframe = opts.timeframe, tick = tick,
        skip_bad = opts.skip_bad })
      if not s then
        io.stderr:write(res, "\n")
        failed = failed + 1
      else
        local range = string.format("%d bars %s .. %s (%s)", s.n, s.n > 0 and show_time(s.time[0], s.timeframe) or "-",
          s.n > 0 and show_time(s.time[s.n - 1], s.timeframe) or "-", s.timeframe)
        local wrote = true
        if opts.store then
          local out, err = data.save(s, opts.store)
          if out then
            io.stdout:write(string.format("%s -> %s: %s\n", path, out, range))
          else
            io.stderr:write(err, "\n")
            wrote = false
          end
        end
        if db then
          local done, err = require("alluse.store.bars").write(db, s)
          if done then
            io.stdout:write(string.format("%s -> %s %s: %s%s\n", path, db.url, s.symbol, range,
              done.replaced > 0 and string.format(", replacing %d", done.replaced) or ""))
          else
            io.stderr:write(string.format("%s: --db %s\n", path, tostring(err)))
            wrote = false
          end
        end
        if not wrote then
          failed = failed + 1
        else
          if res.skipped > 0 then
            io.stderr:write(string.format("%s: skipped %d bad rows; the first:\n", path, res.skipped))
            for _, e in ipairs(res.errors) do io.stderr:write("  ", e, "\n") end
          end
        end
      end
    end
  end
  if db then db:close() end
  return failed == 0 and 0 or 1
end

local function info(opts, rest)
  local data = require("alluse.data")
  if #rest > 0 then flags.usage_error("info takes no FILE arguments, got '" .. rest[1] .. "'") end
  if not opts.store and not opts.db then flags.usage_error("info needs --store DIR or --db URL") end
  if opts.store and opts.db then flags.usage_error("info reads one place: --store DIR or --db URL") end
  if opts.db and opts.verify then flags.usage_error("--verify checks store files, not --db") end
  for _, f in ipairs({ "symbol", "timeframe", "tick", "skip_bad" }) do
    if opts[f] then flags.usage_error("--" .. f:gsub("_", "-") .. " belongs to 'data import'") end
  end
  local list, err
  if opts.db then
    local db
    db, err = require("alluse.store").open(opts.db)
    if db then
      list, err = require("alluse.store.bars").info(db)
      db:close()
    end
    if not list then err = "data: --db " .. tostring(err) end
  else
    list, err = data.info(opts.store, { verify = opts.verify })
  end
  if not list then
    io.stderr:write(err, "\n")
    return 1
  end
  local bad = 0
  if opts.json then
    for _, e in ipairs(list) do
      if e.error then bad = bad + 1 end
      if e.first then e.first_text, e.last_text = show_time(e.first, e.timeframe), show_time(e.last, e.timeframe) end
    end
    io.stdout:write(require("alluse.json").encode(require("alluse.json").array(list), { sorted = true, indent = 2 }), "\n")
    return bad == 0 and 0 or 1
  end
  io.stdout:write(string.format("%-10s %-5s %10s  %-25s %-25s\n", "symbol", "tf", "bars", "first", "last"))
  for _, e in ipairs(list) do
    if e.error then
      bad = bad + 1
      io.stderr:write(e.error, "\n")
    else
      io.stdout:write(string.format("%-10s %-5s %10d  %-25s %-25s\n", e.symbol, e.timeframe, e.rows,
        e.rows > 0 and show_time(e.first, e.timeframe) or "-", e.rows > 0 and show_time(e.last, e.timeframe) or "-"))
    end
  end
  return bad == 0 and 0 or 1
end

return {
  usage = USAGE,
  description = "import: read CSV files (date,open,high,low,close,volume; datetime,... with ISO\n"
    .. "offsets; Yahoo's Date,Open,High,Low,Close,Adj Close,Volume) and write one store file per\n"
    .. "symbol and timeframe (DIR/SYMBOL.TF.bars), replacing an older one, and/or the rows of the\n"
    .. "database's bars table (--db), replacing the rows of that symbol and timeframe within the\n"
    .. "file's first..last bar.  The symbol is the file name up to the first '-' or '.' unless\n"
    .. "--symbol is given.  A bad row stops the file with FILE:LINE: reason (nothing is written)\n"
    .. "unless --skip-bad skips and reports it.\n"
    .. "info: list the store's files (or the database's symbols and timeframes) with their bars\n"
    .. "and first/last bar; store files that fail their checks are reported on stderr and make\n"
    .. "the exit status 1.  See docs/data.md and docs/storage.md.",
  flags = {
    { name = "store", arg = "DIR", help = "the bar store folder (created by import if missing)" },
    { name = "db", arg = "URL", help = "the database's bars table: sqlite:PATH or postgres://... (docs/storage.md)" },
    { name = "symbol", arg = "SYM", help = "import: the symbol, instead of the file name's" },
    { name = "timeframe", arg = "TF", help = "import: 1m, 5m, 1h, 1d ... instead of inferring it" },
    { name = "tick", arg = "T", help = "import: round prices to multiples of T (e.g. 0.01)" },
    { name = "skip-bad", help = "import: skip bad rows, count them and show the first reasons" },
    { name = "verify", help = "info: also check every file's data checksum" },
    { name = "json", help = "info: print JSON" },
  },
  run = function(opts, args)
    local action = args[1]
    local rest = { unpack(args, 2) }
    if action == "import" then return import(opts, rest) end
    if action == "info" then return info(opts, rest) end
    if action == nil then flags.usage_error("missing action: import or info") end
    flags.usage_error("unknown action '" .. action .. "' (import or info)")
  end,
}
