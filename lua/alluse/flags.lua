-- alluse.flags: the command-line parser every subcommand uses.
--
-- A command spec lists its flags:
--   flags = {
--     { name = "data", arg = "FILE", many = true, help = "..." },  -- value flag, repeatable
--     { name = "quiet", short = "q", help = "..." },               -- boolean flag
--   }
-- parse(spec, argv, first) accepts --name VALUE, --name=VALUE, -q, and "--" to end
-- flags.  With spec.stop_at_positional, everything from the first positional
-- argument on is left untouched (alluse exec passes it to the script).
-- Errors are raised as { usage = "message" } tables so the CLI can print one line
-- and exit 2.
local M = {}

local function usage_error(fmt, ...)
  error({ usage = string.format(fmt, ...) }, 0)
end
M.usage_error = usage_error

local function index_flags(spec)
  local long, short = {}, {}
  for _, f in ipairs(spec.flags or {}) do
    long[f.name] = f
    if f.short then short[f.short] = f end
  end
  long.help = long.help or { name = "help", short = "h", help = "show this help" }
  short.h = short.h or long.help
  return long, short
end

local function store(opts, f, value)
  local key = f.name:gsub("-", "_")
  if f.many then
    local list = opts[key] or {}
    list[#list + 1] = value
    opts[key] = list
  else
    opts[key] = value
  end
end

function M.parse(spec, argv, first)
  local long, short = index_flags(spec)
  local opts, rest = {}, {}
  local i, n = first or 1, #argv
  while i <= n do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, n do rest[#rest + 1] = argv[j] end
      break
    end
    local name, value = a:match("^%-%-([^=]+)=(.*)$")
    name = name or a:match("^%-%-(.+)$")
    local f
    if name then
      f = long[name]
      if not f then usage_error("unknown flag '--%s'", name) end
    elseif a:match("^%-%a$") then
      f = short[a:sub(2)]
      if not f then usage_error("unknown flag '%s'", a) end
    elseif a:sub(1, 1) == "-" and a ~= "-" and not tonumber(a) then
      usage_error("unknown flag '%s'", a)
    else
      if spec.stop_at_positional then
        for j = i, n do rest[#rest + 1] = argv[j] end
        break
      end
      rest[#rest + 1] = a
      f = nil
    end
    if f then
      if f.arg then
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then usage_error("flag '--%s' needs a value (%s)", f.name, f.arg) end
        end
        store(opts, f, value)
      else
        if value ~= nil then usage_error("flag '--%s' takes no value", f.name) end
        store(opts, f, true)
      end
    end
    i = i + 1
  end
  return opts, rest
end

-- The --help text of one command, generated from its spec so it cannot drift.
function M.help(spec)
  local out = { "usage: " .. spec.usage, "" }
  if spec.description then
    out[#out + 1] = spec.description
    out[#out + 1] = ""
  end
  local rows, width = {}, 0
  for _, f in ipairs(spec.flags or {}) do
    local left = (f.short and ("-" .. f.short .. ", ") or "    ") .. "--" .. f.name
      .. (f.arg and (" " .. f.arg) or "")
    rows[#rows + 1] = { left, f.help or "" }
    if #left > width then width = #left end
  end
  rows[#rows + 1] = { "-h, --help", "show this help" }
  if #rows[#rows][1] > width then width = #rows[#rows][1] end
  out[#out + 1] = "flags:"
  for _, r in ipairs(rows) do
    out[#out + 1] = string.format("  %-" .. width .. "s  %s", r[1], r[2])
  end
  return table.concat(out, "\n") .. "\n"
end

return M
