-- alluse.log: structured logs.  JSON lines for machines, plain text for a person at
-- a terminal, and registered secrets never written out.
--
--   local log = require("alluse.log")
--   log.secret(os.getenv("ALPACA_SECRET"))            -- redacted wherever it shows up
--   log.info("order sent", { id = "o-17", qty = 100 })
--   local blog = log.with({ broker = "alpaca" })       -- a child that adds fields
--   blog:warn("reconnecting", { attempt = 3 })
--
-- A JSON line: {"ts":"2026-11-24T17:00:00.123456Z","level":"info","msg":"...",<fields sorted>}
-- A text line: 2026-11-24T17:00:00.123Z INFO  order sent id=o-17 qty=100
--
-- Logging never raises over what it is given to log (cycles, functions, NaN, bad
-- UTF-8 become placeholders); only mistakes in setting a logger up raise.  See
-- docs/json-and-logs.md.
local json = require("alluse.json")
local ffi = require("ffi")

local byte, find, format, gsub, lower, sub = string.byte, string.find, string.format, string.gsub,
  string.lower, string.sub
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local type, next, pairs, tostring, pcall, error = type, next, pairs, tostring, pcall, error

local M = {}

local LEVELS = { debug = 1, info = 2, warn = 3, error = 4 }
local NAMES = { "debug", "info", "warn", "error" }
local LABELS = { "DEBUG", "INFO ", "WARN ", "ERROR" }
M.levels = { "debug", "info", "warn", "error" }

local REDACTED = "[REDACTED]"
local SORTED = { sorted = true }

-- The level number for a name, or raises naming where the bad name came from.
local function level_number(name, where)
  local n = type(name) == "string" and LEVELS[lower(name)]
  if n then return n end
  error(format("%s: unknown log level %s (expected debug, info, warn or error)", where,
    type(name) == "string" and format("%q", name) or tostring(name)), 3)
end

---------------------------------------------------------------------------- clock

-- Wall-clock microseconds (CLOCK_REALTIME through alluse.time's FFI call).
local now_us = require("alluse.time").now
M.now_us = now_us

-- Lines come many to the second; os.date is called once per second, not per line.
local last_sec, last_prefix
local function timestamp(us, digits)
  us = floor(us)
  local sec = floor(us / 1000000)
  local frac = us - sec * 1000000
  if sec ~= last_sec then
    last_prefix = os.date("!%Y-%m-%dT%H:%M:%S", sec)
    last_sec = sec
  end
  if digits == 6 then return format("%s.%06dZ", last_prefix, frac) end
  return format("%s.%03dZ", last_prefix, floor(frac / 1000))
end
M.timestamp = timestamp

---------------------------------------------------------------------------- redaction

local secrets, secret_set = {}, {}

-- Registers a value to be replaced by [REDACTED] in every line from now on, by every
-- logger.  Returns the value, so `local key = log.secret(os.getenv("KEY"))` reads well.
-- Fewer than 4 characters would redact half of every line, so it is refused.
function M.secret(value)
  if type(value) ~= "string" then error("log.secret: expects a string, got " .. type(value), 2) end
  if #value < 4 then error("log.secret: a secret must be at least 4 bytes long", 2) end
  if not secret_set[value] then
    secret_set[value] = true
    secrets[#secrets + 1] = value
  end
  return value
end

-- Every byte covered by any secret is replaced, overlapping secrets together, so no
-- piece of one survives because another was replaced first.
local function redact(s)
  local nsec = #secrets
  if nsec == 0 then return s end
  local spans
  for i = 1, nsec do
    local secret = secrets[i]
    local a, b = find(s, secret, 1, true)
    while a do
      spans = spans or {}
      spans[#spans + 1] = { a, b }
      a, b = find(s, secret, a + 1, true)
    end
  end
  if not spans then return s end
  sort(spans, function(x, y) return x[1] < y[1] end)
  local out, pos = {}, 1
  local cur_a, cur_b = spans[1][1], spans[1][2]
  for i = 2, #spans + 1 do
    local sp = spans[i]
    if sp and sp[1] <= cur_b + 1 then
      if sp[2] > cur_b then cur_b = sp[2] end
    else
      out[#out + 1] = sub(s, pos, cur_a - 1)
      out[#out + 1] = REDACTED
      pos = cur_b + 1
      if sp then cur_a, cur_b = sp[1], sp[2] end
    end
  end
  out[#out + 1] = sub(s, pos)
  return concat(out)
end
M.redact = redact

-- Field names whose values are credentials whatever they hold.  Names are compared
-- lower-cased with _ - . and spaces removed, so apiKey, api_key and API-Key all match.
local SECRET_WORDS = { "password", "passwd", "passphrase", "secret", "token", "apikey",
  "authorization", "cookie", "privatekey", "credential" }
local SECRET_NAMES = { auth = true, pass = true, pwd = true }
local key_cache, key_cache_size = {}, 0

local function secret_key(key)
  local hit = key_cache[key]
  if hit ~= nil then return hit end
  local norm = gsub(lower(key), "[%s_%-%.]", "")
  hit = SECRET_NAMES[norm] or false
  if not hit then
    for i = 1, #SECRET_WORDS do
      if find(norm, SECRET_WORDS[i], 1, true) then
        hit = true
        break
      end
    end
  end
  -- Field names are mostly constants; a cap keeps made-up names from growing it forever.
  if key_cache_size < 4096 then
    key_cache[key] = hit
    key_cache_size = key_cache_size + 1
  end
  return hit
end
M.secret_key = secret_key

---------------------------------------------------------------------------- making values safe

-- Bytes that are not UTF-8 become U+FFFD, so a line is always valid JSON.
local function fix_utf8(s)
  local bad = json.utf8_error(s)
  if not bad then return s end
  local out, pos = {}, 1
  while bad do
    out[#out + 1] = sub(s, pos, bad - 1)
    out[#out + 1] = "\239\191\189"
    pos = bad + 1
    bad = json.utf8_error(s, pos)
  end
  out[#out + 1] = sub(s, pos)
  return concat(out)
end

local function clean_string(s)
  return fix_utf8(redact(s))
end

local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")
local MAX_DEPTH = 16

local clean

local function clean_key(k)
  local tk = type(k)
  if tk == "string" then return clean_string(k) end
  if tk == "number" then return json.format_number(k) or tostring(k) end
  return "<" .. tk .. ">"
end

local function clean_table(t, depth, stack)
  if stack[t] then return "<cycle>" end
  if depth >= MAX_DEPTH then return "<nested too deep>" end
  stack[t] = true
  local n, maxi, only_index = 0, 0, true
  for k in next, t do
    n = n + 1
    if type(k) == "number" and k >= 1 and k == floor(k) and k < huge then
      if k > maxi then maxi = k end
    else
      only_index = false
    end
  end
  local out
  if only_index and ((n > 0 and maxi == n) or json.is_array(t)) then
    if maxi == 0 then
      out = json.empty_array
    else
      out = {}
      for i = 1, maxi do
        local v = t[i]
        out[i] = v == nil and json.null or clean(v, depth + 1, stack)
      end
    end
  else
    out = {}
    for k, v in next, t do
      local key = clean_key(k)
      if secret_key(key) then
        out[key] = REDACTED
      else
        out[key] = clean(v, depth + 1, stack)
      end
    end
  end
  stack[t] = nil
  return out
end

-- A copy of v that json.encode accepts and that holds no registered secret.
clean = function(v, depth, stack)
  local tv = type(v)
  if tv == "string" then return clean_string(v) end
  if tv == "number" then
    if v ~= v then return "NaN" end
    if v == huge then return "Infinity" end
    if v == -huge then return "-Infinity" end
    return v
  end
  if tv == "boolean" or v == json.null then return v end
  if tv == "table" then return clean_table(v, depth, stack) end
  if tv == "cdata" and (ffi.istype(int64_t, v) or ffi.istype(uint64_t, v)) then return v end
  return "<" .. tv .. ">"
end

---------------------------------------------------------------------------- formatting

-- Fields that would collide with the line's own keys are renamed rather than dropped.
local RESERVED = { ts = "fields.ts", level = "fields.level", msg = "fields.msg" }

local function sorted_keys(t)
  local keys = {}
  for k in next, t do keys[#keys + 1] = k end
  sort(keys)
  return keys
end

local function json_line(level, us, msg, fields)
  local parts = { '{"ts":"', timestamp(us, 6), '","level":"', NAMES[level], '","msg":', json.encode(msg) }
  local keys = sorted_keys(fields)
  for i = 1, #keys do
    local k = keys[i]
    parts[#parts + 1] = "," .. json.encode(k) .. ":" .. json.encode(fields[k], SORTED)
  end
  parts[#parts + 1] = "}"
  return concat(parts)
end

-- Escape sequences in a message could drive the terminal, so control characters are
-- shown as \xNN; a newline stays a newline (tracebacks) with its continuation indented.
local function text_escape(c)
  if c == "\n" then return "\n    " end
  return format("\\x%02x", byte(c))
end

local function text_value(v)
  if type(v) == "string" then
    if v ~= "" and not find(v, '[%s"=\\%c]') then return v end
    return json.encode(v)
  end
  return json.encode(v, SORTED)
end

local function text_line(level, us, msg, fields)
  local parts = { timestamp(us, 3), " ", LABELS[level], " ", (gsub(msg, "[%c]", function(c)
    if c == "\t" then return c end
    return text_escape(c)
  end)) }
  local keys = sorted_keys(fields)
  for i = 1, #keys do
    local k = keys[i]
    parts[#parts + 1] = " " .. text_value(k) .. "=" .. text_value(fields[k])
  end
  return concat(parts)
end

local function clean_msg(msg)
  if type(msg) == "string" then return clean_string(msg) end
  if msg == nil then return "" end
  local v = clean(msg, 0, {})
  if type(v) == "string" then return v end
  return json.encode(v, SORTED)
end

local function clean_fields(base, extra)
  local merged = {}
  if base then for k, v in next, base do merged[k] = v end end
  if extra ~= nil then
    if type(extra) == "table" then
      for k, v in next, extra do merged[k] = v end
    else
      merged.fields = extra
    end
  end
  local out = {}
  local stack = {}
  for k, v in next, merged do
    local key = clean_key(k)
    key = RESERVED[key] or key
    if secret_key(key) then
      out[key] = REDACTED
    else
      out[key] = clean(v, 1, stack)
    end
  end
  return out
end

---------------------------------------------------------------------------- output

local function write_line(sink, line)
  local out = sink.out
  local ok, err
  if type(out) == "function" then
    ok, err = pcall(out, line)
  else
    ok, err = pcall(function()
      assert(out:write(line, "\n"))
      out:flush()
    end)
  end
  -- Say so once, on stderr, rather than raise from a log call or fail in silence.
  if not ok and not sink.failed then
    sink.failed = true
    pcall(io.stderr.write, io.stderr, "alluse.log: cannot write a log line: ", redact(tostring(err)), "\n")
  end
end

local function emit(sink, level, fields, msg, extra)
  local ok, t = pcall(sink.clock)
  if not ok or type(t) ~= "number" or t ~= t or t == huge or t == -huge then t = now_us() end
  local done, line = pcall(function()
    local m = clean_msg(msg)
    local f = clean_fields(fields, extra)
    if sink.text then return text_line(level, t, m, f) end
    return json_line(level, t, m, f)
  end)
  if not done then
    -- Only a bug in this file gets here; still say something rather than nothing.
    local note = { ["log.error"] = clean_string(tostring(line)) }
    local m = clean_string(type(msg) == "string" and msg or "")
    done, line = pcall(sink.text and text_line or json_line, level, t, m, note)
    if not done then return end
  end
  write_line(sink, line)
end

---------------------------------------------------------------------------- loggers

local Logger = {}
Logger.__index = Logger

local function check_self(self, method)
  if getmetatable(self) ~= Logger then
    error("log: call " .. method .. " with a colon: logger:" .. method .. "(...)", 3)
  end
end

for level, name in ipairs(NAMES) do
  Logger[name] = function(self, msg, fields)
    check_self(self, name)
    if level < self._sink.level then return end
    emit(self._sink, level, self._fields, msg, fields)
  end
end

-- A child shares its parent's output, format, clock and level (so set_level on any of
-- them changes them all) and adds fields to every line; its own fields win on a clash.
function Logger:with(fields)
  check_self(self, "with")
  if type(fields) ~= "table" then error("logger:with: expects a table of fields", 2) end
  local merged = {}
  if self._fields then for k, v in next, self._fields do merged[k] = v end end
  for k, v in next, fields do merged[k] = v end
  return setmetatable({ _sink = self._sink, _fields = merged }, Logger)
end

function Logger:set_level(name)
  check_self(self, "set_level")
  self._sink.level = level_number(name, "logger:set_level")
end

function Logger:level()
  check_self(self, "level")
  return NAMES[self._sink.level]
end

-- For fields that are costly to build: `if logger:enabled("debug") then ... end`.
function Logger:enabled(name)
  check_self(self, "enabled")
  return level_number(name, "logger:enabled") >= self._sink.level
end

function Logger:format()
  check_self(self, "format")
  return self._sink.text and "text" or "json"
end

local function is_tty(fd)
  local ok, host = pcall(require, "alluse.core.host")
  if not ok then return false end
  local ok2, yes = pcall(host.isatty, fd)
  return ok2 and yes == true
end

local FORMATS = { json = true, text = true, auto = true }
local OPTIONS = { level = true, format = true, out = true, clock = true, fields = true }

-- log.new{level=, format="json"|"text"|"auto", out=file or function(line), clock=, fields=}
function M.new(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error("log.new: options must be a table", 2) end
  for k in pairs(opts) do
    if not OPTIONS[k] then error("log.new: unknown option '" .. tostring(k) .. "'", 2) end
  end
  local level
  if opts.level ~= nil then
    level = level_number(opts.level, "log.new")
  else
    local env = os.getenv("ALLUSE_LOG_LEVEL")
    level = (env == nil or env == "") and LEVELS.info or level_number(env, "ALLUSE_LOG_LEVEL")
  end
  local out = opts.out
  if out == nil then out = io.stderr end
  if type(out) ~= "function" and io.type(out) ~= "file" then
    local ok, w = pcall(function() return out.write end)
    if not (ok and type(w) == "function") then
      error("log.new: out must be a function(line) or an open file", 2)
    end
  end
  local fmt = opts.format
  if fmt == nil then
    fmt = os.getenv("ALLUSE_LOG_FORMAT")
    if fmt == "" then fmt = nil end
    if fmt ~= nil and not FORMATS[fmt] then
      error("ALLUSE_LOG_FORMAT: unknown log format '" .. fmt .. "' (expected json, text or auto)", 2)
    end
    fmt = fmt or "auto"
  elseif not FORMATS[fmt] then
    error("log.new: format must be \"json\", \"text\" or \"auto\"", 2)
  end
  if fmt == "auto" then
    -- Text is for a person at a terminal; files, pipes and functions get JSON.
    local fd = (out == io.stderr and 2) or (out == io.stdout and 1) or nil
    fmt = fd and is_tty(fd) and "text" or "json"
  end
  local clock = opts.clock or now_us
  if type(clock) ~= "function" then error("log.new: clock must be a function returning microseconds", 2) end
  local fields
  if opts.fields ~= nil then
    if type(opts.fields) ~= "table" then error("log.new: fields must be a table", 2) end
    fields = {}
    for k, v in next, opts.fields do fields[k] = v end
  end
  local sink = { level = level, text = fmt == "text", out = out, clock = clock }
  return setmetatable({ _sink = sink, _fields = fields }, Logger)
end

---------------------------------------------------------------------------- the default logger

local default_logger

-- Made on first use, so ALLUSE_LOG_LEVEL and the terminal are looked at then.
function M.default()
  if not default_logger then default_logger = M.new() end
  return default_logger
end

function M.set_default(logger)
  if getmetatable(logger) ~= Logger then error("log.set_default: expects a logger from log.new", 2) end
  default_logger = logger
end

for _, name in ipairs(NAMES) do
  M[name] = function(msg, fields, ...)
    -- log:info(...) for log.info(...) is an easy slip; it means the same thing.
    if msg == M then msg, fields = fields, ... end
    local d = default_logger or M.default()
    d[name](d, msg, fields)
  end
end

function M.with(fields)
  if type(fields) ~= "table" then error("log.with: expects a table of fields", 2) end
  return M.default():with(fields)
end

function M.set_level(name)
  M.default()._sink.level = level_number(name, "log.set_level")
end

function M.level()
  return M.default():level()
end

function M.enabled(name)
  return level_number(name, "log.enabled") >= M.default()._sink.level
end

function M.is_logger(v)
  return getmetatable(v) == Logger
end

return M
