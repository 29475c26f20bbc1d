-- alluse db: the database's schema (docs/storage.md).
local flags = require("alluse.flags")

local format = string.format

local function open(opts, migrate)
  local store = require("alluse.store")
  local db, err = store.open(opts.db, { migrate = migrate })
  if not db then
    io.stderr:write("db: ", tostring(err), "\n")
    return nil
  end
  return db
end

local function migrate(opts)
  local db = open(opts, false)
  if not db then return 1 end
  local schema = require("alluse.store.schema")
  local applied, err = schema.migrate(db)
  if not applied then
    io.stderr:write("db migrate: ", tostring(err), "\n")
    db:close()
    return 1
  end
  -- Who changed the schema, and when: the audit trail (append-only).
  local versions = {}
  for _, v in ipairs(applied) do versions[#versions + 1] = tostring(v) end
  local aok, aerr = db:audit("db migrate", #applied > 0 and "applied" or "current",
    #applied > 0 and ("versions " .. table.concat(versions, ", ")) or ("version " .. schema.latest))
  if not aok then
    io.stderr:write("db migrate: the schema is migrated, but the audit row failed: ", tostring(aerr), "\n")
    db:close()
    return 1
  end
  if not opts.quiet then
    if #applied == 0 then
      io.stdout:write(format("%s: schema is current (version %d)\n", db.url, schema.latest))
    else
      local names = {}
      for _, v in ipairs(applied) do names[#names + 1] = tostring(v) end
      io.stdout:write(format("%s: applied migration%s %s; schema is at version %d\n", db.url,
        #applied > 1 and "s" or "", table.concat(names, ", "), schema.latest))
    end
  end
  db:close()
  return 0
end

local function status(opts)
  local db = open(opts, false)
  if not db then return 1 end
  local schema = require("alluse.store.schema")
  local v, err = schema.version(db)
  if not v then
    io.stderr:write("db status: ", tostring(err), "\n")
    db:close()
    return 1
  end
  local state = v == schema.latest and "current" or (v > schema.latest and "newer than this alluse" or
    "behind: run alluse db migrate")
  io.stdout:write(format("%s: %s, schema version %d of %d (%s)\n", db.url, db.kind, v, schema.latest, state))
  db:close()
  return v == schema.latest and 0 or 1
end

return {
  usage = "alluse db migrate|status [--db URL] [--quiet]",
  description = "migrate: bring the database's schema up to this alluse's version, one step per\n"
    .. "transaction; running it again changes nothing, and it refuses a schema newer than\n"
    .. "this binary.  Each run is recorded in the audit table (who, when, what it applied).  status: print the schema version (exit 1 when it is not current).\n"
    .. "URL: sqlite:PATH or postgres://USER@HOST:PORT/DB?sslmode=...; default $ALLUSE_DB,\n"
    .. "else sqlite:alluse.db.  See docs/storage.md.",
  flags = {
    { name = "db", arg = "URL", help = "the database (default $ALLUSE_DB, else sqlite:alluse.db)" },
    { name = "quiet", short = "q", help = "print nothing but errors" },
  },
  run = function(opts, args)
    local sub = args[1]
    if sub == nil then flags.usage_error("missing subcommand: migrate or status") end
    if args[2] then flags.usage_error("unexpected argument '%s'", args[2]) end
    if sub == "migrate" then return migrate(opts) end
    if sub == "status" then return status(opts) end
    flags.usage_error("unknown subcommand '%s' (migrate, status)", sub)
  end,
}
