-- alluse.cli: the subcommands of the alluse binary.  core/main.c calls main(argv).
--
-- Each subcommand lives in its own module (alluse.cmd.NAME) that returns a spec:
-- { usage, summary, description, flags, stop_at_positional, run(opts, args) }.
-- The list below carries the one-line summaries so `alluse --help` does not load
-- every command.  run returns the exit status (nil means 0); a usage error exits 2.
local flags = require("alluse.flags")

local M = {}

local commands = {
  { name = "version", summary = "print the versions of alluse and of the libraries it runs with" },
  { name = "exec", summary = "run a Lua script with the full alluse library" },
  { name = "test", summary = "run Lua test files and print TAP" },
  { name = "repl", summary = "interactive LuaJIT prompt with the alluse library loaded" },
  { name = "data", summary = "import CSV market data into the bar store or a database; list what they hold" },
  { name = "backtest", summary = "run a strategy over historical bars and report the results" },
  { name = "run", summary = "run a strategy live: replay feed, paper broker, HTTP endpoints, control socket" },
  { name = "report", summary = "rebuild a stored run's report from the database; list stored runs" },
  { name = "db", summary = "migrate the database schema, or show its version" },
  { name = "deploy", summary = "render Kubernetes manifests for a strategy fleet from a deploy script" },
}
M.commands = commands

local function find(name)
  for _, c in ipairs(commands) do
    if c.name == name then return c end
  end
end

local function top_help()
  local out = {
    "usage: alluse COMMAND [flags] [args]",
    "",
    "alluse is an automated trading engine for the ALL-USE options-income protocol.",
    "",
    "commands:",
  }
  for _, c in ipairs(commands) do
    out[#out + 1] = string.format("  %-10s %s", c.name, c.summary)
  end
  out[#out + 1] = ""
  out[#out + 1] = "Run 'alluse COMMAND --help' for the flags of one command."
  out[#out + 1] = "Environment: ALLUSE_LUA_PATH=DIR loads the Lua library from DIR instead of the binary;"
  out[#out + 1] = "ALLUSE_DB=URL is the database of report and db when --db is not given (docs/storage.md)."
  return table.concat(out, "\n") .. "\n"
end

local function usage_fail(prefix, msg)
  io.stderr:write(prefix, ": ", msg, "\n")
  return 2
end

function M.main(argv)
  local name = argv[1]
  if name == nil then
    io.stderr:write(top_help())
    return 2
  end
  if name == "--help" or name == "-h" or name == "help" then
    local sub = name == "help" and argv[2]
    if sub then
      if not find(sub) then return usage_fail("alluse", "unknown command '" .. sub .. "'") end
      io.stdout:write(flags.help(require("alluse.cmd." .. sub)))
    else
      io.stdout:write(top_help())
    end
    return 0
  end
  if name == "--version" then name = "version" end
  local entry = find(name)
  if not entry then
    if name:sub(1, 1) == "-" then return usage_fail("alluse", "unknown flag '" .. name .. "'") end
    return usage_fail("alluse", "unknown command '" .. name .. "' (see alluse --help)")
  end
  local spec = require("alluse.cmd." .. name)
  local ok, opts, args = pcall(flags.parse, spec, argv, 2)
  if not ok then
    if type(opts) == "table" and opts.usage then
      return usage_fail("alluse " .. name, opts.usage)
    end
    error(opts, 0)
  end
  if opts.help then
    io.stdout:write(flags.help(spec))
    return 0
  end
  -- Usage errors raised while running (bad flag values) exit 2 with one line; any other
  -- error keeps its traceback from the point where it was raised and exits 1.
  local rok, status = xpcall(function() return spec.run(opts, args) end, function(e)
    if type(e) == "table" and e.usage then return e end
    if type(e) ~= "string" and not (getmetatable(e) or {}).__tostring then
      e = "(error object is a " .. type(e) .. " value)"
    end
    return debug.traceback(tostring(e), 2)
  end)
  if not rok then
    if type(status) == "table" then return usage_fail("alluse " .. name, status.usage) end
    io.stderr:write(status, "\n")
    return 1
  end
  return status or 0
end

return M
