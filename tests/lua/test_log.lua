-- alluse.log: JSON lines, text lines, levels, child fields, redaction, no raising.
local t = require("alluse.test")
local log = require("alluse.log")
local json = require("alluse.json")
local ffi = require("ffi")

-- 2026-11-24T17:00:00.123456Z
local T0 = 1795539600 * 1000000 + 123456
local function fixed_clock() return T0 end

-- A logger that appends its lines to a list.
local function capture(opts)
  local lines = {}
  opts = opts or {}
  opts.out = function(line) lines[#lines + 1] = line end
  opts.clock = opts.clock or fixed_clock
  opts.format = opts.format or "json"
  return log.new(opts), lines
end

-------------------------------------------------------------------- JSON lines

do
  local lg, lines = capture()
  lg:info("order sent", { qty = 100, id = "o-17", px = 0.1, ok = true, tags = { "a", "b" }, m = { z = 1, y = 2 } })
  t.is(lines[1], '{"ts":"2026-11-24T17:00:00.123456Z","level":"info","msg":"order sent",'
    .. '"id":"o-17","m":{"y":2,"z":1},"ok":true,"px":0.1,"qty":100,"tags":["a","b"]}',
    "JSON line: ts, level, msg first, then fields sorted, nested keys sorted")
  local v = json.decode(lines[1])
  t.is(v and v.msg, "order sent", "the line is valid JSON")
  lg:warn("plain")
  t.is(lines[2], '{"ts":"2026-11-24T17:00:00.123456Z","level":"warn","msg":"plain"}', "a line without fields")
  lg:info("ts", { ts = 1, level = "x", msg = "y" })
  t.is(lines[3], '{"ts":"2026-11-24T17:00:00.123456Z","level":"info","msg":"ts","fields.level":"x",'
    .. '"fields.msg":"y","fields.ts":1}', "fields named ts, level or msg are renamed, not lost")
  lg:info("big", { ts_us = 1718900000123456, n = 1 / 3 })
  t.like(lines[4], '"n":0%.3333333333333333,"ts_us":1718900000123456}$', "numbers in fields are exact")
  lg:error("line\nbreak \"quoted\"")
  t.like(lines[5], '"msg":"line\\nbreak \\"quoted\\""}$', "the message is escaped in JSON")
  t.is(#lines, 5, "one line per call")
  t.unlike(table.concat(lines), "\n", "lines handed to an out function carry no newline")
end

do
  local lg, lines = capture({ clock = function() return 0 end })
  lg:info("epoch")
  t.like(lines[1], '"ts":"1970%-01%-01T00:00:00%.000000Z"', "timestamp at the epoch")
  local l2
  lg, l2 = capture({ clock = function() return 1795539600999999.7 end })
  lg:info("x")
  t.like(l2[1], '"ts":"2026%-11%-24T17:00:00%.999999Z"', "a fractional clock value is truncated, not rounded up")
end

do
  local a = log.now_us()
  local b = log.now_us()
  t.ok(type(a) == "number" and a > 1.7e15 and a < 4e15, "now_us returns microseconds since the epoch")
  t.ok(b >= a and b - a < 5e6, "now_us is monotone enough to be called twice")
  t.ok(a % 1000000 ~= 0 or b % 1000000 ~= 0, "now_us has sub-second precision")
  local lg, lines = capture({ clock = log.now_us })
  lg:info("now")
  t.like(lines[1], '"ts":"%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%dZ"', "the default clock formats as ISO 8601 with µs")
end

-------------------------------------------------------------------- text lines

do
  local lg, lines = capture({ format = "text" })
  lg:info("message", { key = "value", key2 = "quoted value" })
  t.is(lines[1], '2026-11-24T17:00:00.123Z INFO  message key=value key2="quoted value"', "text line")
  lg:warn("w", { n = 1.5, flag = false, list = { 1, 2 }, obj = { b = 1, a = "x" }, empty = "", eq = "a=b" })
  t.is(lines[2], '2026-11-24T17:00:00.123Z WARN  w empty="" eq="a=b" flag=false list=[1,2] n=1.5 obj={"a":"x","b":1}',
    "text values: quoted when needed, tables as compact JSON")
  lg:error("boom")
  lg:debug("hidden")
  t.is(lines[3], "2026-11-24T17:00:00.123Z ERROR boom", "ERROR label")
  lg:set_level("debug")
  lg:debug("shown")
  t.is(lines[4], "2026-11-24T17:00:00.123Z DEBUG shown", "DEBUG label")
  lg:info("first\nsecond\27[2J\rend\ttab")
  t.is(lines[5], "2026-11-24T17:00:00.123Z INFO  first\n    second\\x1b[2J\\x0dend\ttab",
    "text: continuation lines indented, control characters shown, not sent to the terminal")
  t.is(lg:format(), "text", "format() says text")
end

-------------------------------------------------------------------- levels

do
  local lg, lines = capture({ level = "warn" })
  lg:debug("d")
  lg:info("i")
  lg:warn("w")
  lg:error("e")
  t.is(#lines, 2, "level warn drops debug and info")
  t.like(lines[1], '"level":"warn"', "... keeps warn")
  t.like(lines[2], '"level":"error"', "... and error")
  t.is(lg:level(), "warn", "level() names the level")
  t.ok(lg:enabled("error") and not lg:enabled("info"), "enabled()")
  lg:set_level("DEBUG")
  lg:debug("d2")
  t.is(#lines, 3, "set_level takes effect (names are case-insensitive)")
  t.raises(function() lg:set_level("verbose") end, 'unknown log level "verbose"', "a bad level name raises")
  t.raises(function() log.new({ level = "trace" }) end, "unknown log level", "a bad level in log.new raises")
  t.raises(function() log.new({ level = 3 }) end, "unknown log level", "a level that is not a name raises")
  t.raises(function() lg:enabled("loud") end, "unknown log level", "enabled() with a bad name raises")
end

do
  -- ALLUSE_LOG_LEVEL is read when a logger is made without a level.
  pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite); int unsetenv(const char *name);")
  local old = os.getenv("ALLUSE_LOG_LEVEL")
  ffi.C.setenv("ALLUSE_LOG_LEVEL", "error", 1)
  local lg, lines = capture()
  lg:warn("w")
  lg:error("e")
  t.is(#lines, 1, "ALLUSE_LOG_LEVEL=error sets the default level")
  ffi.C.setenv("ALLUSE_LOG_LEVEL", "chatty", 1)
  t.raises(function() capture() end, "ALLUSE_LOG_LEVEL: unknown log level \"chatty\"", "a bad ALLUSE_LOG_LEVEL raises, naming it")
  lg = capture({ level = "debug" })
  t.is(lg:level(), "debug", "an explicit level wins over ALLUSE_LOG_LEVEL")
  if old then ffi.C.setenv("ALLUSE_LOG_LEVEL", old, 1) else ffi.C.unsetenv("ALLUSE_LOG_LEVEL") end
end

-------------------------------------------------------------------- child loggers

do
  local lg, lines = capture()
  local child = lg:with({ broker = "alpaca", account = "a1" })
  local grandchild = child:with({ account = "a2", order = 7 })
  child:info("c", { extra = 1 })
  grandchild:info("g")
  grandchild:info("g2", { order = 8 })
  lg:info("p")
  t.like(lines[1], '"msg":"c","account":"a1","broker":"alpaca","extra":1}$', "a child adds its fields")
  t.like(lines[2], '"msg":"g","account":"a2","broker":"alpaca","order":7}$', "a grandchild inherits and overrides")
  t.like(lines[3], '"order":8}$', "fields given to the call win over the logger's")
  t.like(lines[4], '"msg":"p"}$', "the parent is unchanged")
  child:set_level("error")
  lg:info("dropped")
  t.is(#lines, 4, "children share the level with their parent")
  local base = { k = 1 }
  local c2 = lg:with(base)
  base.k = 2
  lg:set_level("info")
  c2:info("copy")
  t.like(lines[5], '"k":1}$', "with() copies its fields")
  t.raises(function() lg:with("x") end, "expects a table", "with() needs a table")
  local lg2, l2 = capture({ fields = { app = "alluse" } })
  lg2:info("x")
  t.like(l2[1], '"app":"alluse"}$', "log.new{fields=} sets fields for every line")
end

-------------------------------------------------------------------- redaction

do
  local secret = log.secret("s3cr3t-T0KEN-4711")
  t.is(secret, "s3cr3t-T0KEN-4711", "log.secret returns its value")
  local lg, lines = capture()
  lg:info("login with s3cr3t-T0KEN-4711 ok")
  lg:info("f", { auth_header = "Bearer s3cr3t-T0KEN-4711", note = "x" })
  lg:info("n", { req = { headers = { { name = "X", value = "pre-s3cr3t-T0KEN-4711-post" } } } })
  lg:info("k", { ["key s3cr3t-T0KEN-4711"] = 1 })
  t.like(lines[1], '"msg":"login with %[REDACTED%] ok"', "a secret in the message is redacted")
  t.like(lines[2], '"auth_header":"Bearer %[REDACTED%]"', "a secret inside a longer field value is redacted")
  t.like(lines[3], '"value":"pre%-%[REDACTED%]%-post"', "a secret in a nested field is redacted")
  t.like(lines[4], '"key %[REDACTED%]":1', "a secret in a field name is redacted")
  local tl, tlines = capture({ format = "text" })
  tl:warn("msg s3cr3t-T0KEN-4711", { v = "s3cr3t-T0KEN-4711", n = { "s3cr3t-T0KEN-4711" } })
  t.is(tlines[1], '2026-11-24T17:00:00.123Z WARN  msg [REDACTED] n=["[REDACTED]"] v=[REDACTED]', "redaction in text lines")
  for i, l in ipairs(lines) do
    t.unlike(l, "s3cr3t", "no trace of the secret in JSON line " .. i)
  end
  t.unlike(tlines[1], "s3cr3t", "no trace of the secret in the text line")
  t.unlike(tlines[1] .. table.concat(lines), "T0KEN", "no piece of it either")

  -- A secret with characters JSON escapes must not survive in escaped form.
  log.secret('pa"ss\\wd\n99')
  lg:info('x pa"ss\\wd\n99 y', { v = 'pa"ss\\wd\n99' })
  t.is(lines[5], '{"ts":"2026-11-24T17:00:00.123456Z","level":"info","msg":"x [REDACTED] y","v":"[REDACTED]"}',
    "secrets with quotes, backslashes and newlines are redacted before escaping")

  -- Overlapping secrets: nothing of either is left.
  log.secret("abcdWXYZ")
  log.secret("WXYZefgh")
  lg:info("abcdWXYZefgh")
  t.like(lines[6], '"msg":"%[REDACTED%]"', "overlapping secrets are redacted as one span")
  t.is(log.redact("1 abcdWXYZ 2 WXYZefgh 3"), "1 [REDACTED] 2 [REDACTED] 3", "log.redact applies the registry")
  t.raises(function() log.secret("abc") end, "at least 4", "a secret shorter than 4 raises")
  t.raises(function() log.secret(nil) end, "expects a string", "a nil secret raises")
  t.raises(function() log.secret(12345) end, "expects a string", "a number secret raises")
end

do
  local lg, lines = capture()
  lg:info("keys", { password = "hunter2", api_key = "k-1", apiKey = "k-2", ["API-Key"] = "k-3",
    client_secret = { nested = "x" }, refresh_token = "r", headers = { Authorization = "Basic dXNlcjpwYXNz", Accept = "json" },
    cookie = "c=1", db = { passwd = "p" }, quantity = 5, symbol = "SPY" })
  local v = json.decode(lines[1])
  t.is(v.password, "[REDACTED]", "a password field is redacted")
  t.is(v.api_key, "[REDACTED]", "api_key is redacted")
  t.is(v.apiKey, "[REDACTED]", "apiKey is redacted")
  t.is(v["API-Key"], "[REDACTED]", "API-Key is redacted")
  t.is(v.client_secret, "[REDACTED]", "a secret-named field is redacted whole, even a table")
  t.is(v.refresh_token, "[REDACTED]", "a token field is redacted")
  t.is(v.headers.Authorization, "[REDACTED]", "a nested Authorization header is redacted")
  t.is(v.headers.Accept, "json", "... its harmless sibling is not")
  t.is(v.cookie, "[REDACTED]", "cookie is redacted")
  t.is(v.db.passwd, "[REDACTED]", "a nested passwd is redacted")
  t.is(v.quantity, 5, "ordinary fields are left alone")
  t.is(v.symbol, "SPY", "... all of them")
  t.unlike(lines[1], "hunter2", "the password value is nowhere in the line")
  local child = lg:with({ token = "child-tok" })
  child:info("c")
  t.unlike(lines[2], "child%-tok", "a secret-named field given to with() is redacted")
end

-------------------------------------------------------------------- never raising

do
  local lg, lines = capture()
  local cyc = { name = "c" }
  cyc.self = cyc
  local ok = pcall(function()
    lg:info("odd", {
      cycle = cyc,
      fn = print,
      nan = 0 / 0,
      inf = math.huge,
      ninf = -math.huge,
      co = coroutine.create(print),
      file = io.stdout,
      bytes = "ab\255cd",
      mixed = { 1, 2, x = 3 },
      boolkey = { [true] = 1 },
      null = json.null,
      int64 = ffi.new("int64_t", 2) ^ 62,
      ptr = ffi.new("int[1]"),
      deep = (function()
        local d = {}
        local cur = d
        for _ = 1, 40 do cur.next = {} cur = cur.next end
        return d
      end)(),
    })
  end)
  t.ok(ok, "odd field values do not raise")
  local v = json.decode(lines[1] or "", { big = "string" })
  t.ok(v ~= nil, "... and the line is valid JSON")
  if v then
    t.is(v.cycle.self, "<cycle>", "a cycle becomes a placeholder")
    t.is(v.fn, "<function>", "a function becomes a placeholder")
    t.is(v.nan, "NaN", "NaN becomes a string")
    t.is(v.inf, "Infinity", "infinity becomes a string")
    t.is(v.ninf, "-Infinity", "-infinity becomes a string")
    t.is(v.co, "<thread>", "a coroutine becomes a placeholder")
    t.is(v.file, "<userdata>", "a file handle becomes a placeholder")
    t.is(v.bytes, "ab\239\191\189cd", "invalid UTF-8 bytes become U+FFFD")
    t.is_deeply(v.mixed, { ["1"] = 1, ["2"] = 2, x = 3 }, "a mixed table becomes an object")
    t.is(v.boolkey["<boolean>"], 1, "a boolean key becomes a placeholder")
    t.is(v.null, json.null, "json.null is written as null")
    t.is(v.ptr, "<cdata>", "a pointer becomes a placeholder")
    local depth, cur = 0, v.deep
    while type(cur) == "table" do depth, cur = depth + 1, cur.next end
    t.ok(depth < 20 and cur == "<nested too deep>", "very deep nesting is cut off")
  end
  t.like(lines[1] or "", "\"int64\":4611686018427387904[,}]", "an int64 field is written exactly")

  ok = pcall(function()
    lg:info(nil)
    lg:info({ a = 1 })
    lg:info(42)
    lg:info("x", "not a table")
    lg:info("x", 7)
  end)
  t.ok(ok, "odd messages and field arguments do not raise")
  t.like(lines[2], '"msg":""', "a nil message is empty")
  t.like(lines[3], '"msg":"{\\"a\\":1}"', "a table message is shown as JSON")
  t.like(lines[4], '"msg":"42"', "a number message")
  t.like(lines[5], '"fields":"not a table"}$', "a non-table fields argument is kept under fields")

  local bad_clock = log.new({ format = "json", out = function(l) lines[#lines + 1] = l end, clock = function() error("no time") end })
  t.lives(function() bad_clock:info("clock fails") end, "a clock that raises does not make logging raise")
  t.like(lines[#lines], '"msg":"clock fails"', "... the line is still written")
  local nan_clock = log.new({ format = "text", out = function(l) lines[#lines + 1] = l end, clock = function() return 0 / 0 end })
  t.lives(function() nan_clock:info("nan clock") end, "a clock returning NaN does not make logging raise")

  t.raises(function() lg.info("x") end, "with a colon", "logger.info instead of logger:info raises with a hint")

  -- A failing output: the call returns, and one note (redacted) goes to stderr.
  local real_stderr = io.stderr
  local note = assert(io.tmpfile())
  io.stderr = note
  local failing = log.new({ format = "json", out = function() error("disk full s3cr3t-T0KEN-4711") end })
  local lived = pcall(function()
    failing:info("a")
    failing:info("b")
  end)
  io.stderr = real_stderr
  note:seek("set", 0)
  local noted = note:read("*a")
  note:close()
  t.ok(lived, "an out function that raises does not make logging raise")
  t.like(noted, "^alluse%.log: cannot write a log line: .*disk full %[REDACTED%]\n$", "one redacted note on stderr")
  local closed = assert(io.tmpfile())
  local to_closed = log.new({ format = "json", out = closed })
  closed:close()
  io.stderr = assert(io.tmpfile())
  t.lives(function() to_closed:info("x") end, "writing to a closed file does not raise")
  io.stderr:close()
  io.stderr = real_stderr
end

-------------------------------------------------------------------- outputs and options

do
  local f = assert(io.tmpfile())
  local lg = log.new({ out = f, format = "json", clock = fixed_clock })
  lg:info("one", { n = 1 })
  lg:warn("two")
  f:seek("set", 0)
  local text = f:read("*a")
  f:close()
  t.is(text, '{"ts":"2026-11-24T17:00:00.123456Z","level":"info","msg":"one","n":1}\n'
    .. '{"ts":"2026-11-24T17:00:00.123456Z","level":"warn","msg":"two"}\n', "a file gets one line each, newline-ended")
  t.is(log.new({ out = function() end }):format(), "json", "auto with an out function means JSON")
  local ff = assert(io.tmpfile())
  t.is(log.new({ out = ff, format = "auto" }):format(), "json", "auto with a file means JSON")
  ff:close()
  t.raises(function() log.new({ out = 42 }) end, "out must be", "a bad out raises")
  t.raises(function() log.new({ format = "xml" }) end, "format must be", "a bad format raises")
  t.raises(function() log.new({ clock = 5 }) end, "clock must be", "a bad clock raises")
  t.raises(function() log.new({ colour = true }) end, "unknown option 'colour'", "an unknown option raises")
  t.raises(function() log.new("json") end, "options must be a table", "options must be a table")
end

-------------------------------------------------------------------- the default logger

do
  local previous = log.default()
  t.ok(log.is_logger(previous), "log.default() is a logger")
  local lg, lines = capture()
  log.set_default(lg)
  log.info("via module", { a = 1 })
  log.debug("dropped")
  log.set_level("debug")
  log.debug("kept")
  log:warn("colon slip", { b = 2 })
  log.with({ c = 3 }):error("child")
  t.is(log.level(), "debug", "log.level()")
  t.ok(log.enabled("debug"), "log.enabled()")
  log.set_default(previous)
  t.like(lines[1], '"level":"info","msg":"via module","a":1}$', "log.info writes to the default logger")
  t.like(lines[2], '"level":"debug","msg":"kept"}$', "log.set_level changes the default logger's level")
  t.like(lines[3], '"level":"warn","msg":"colon slip","b":2}$', "log:warn(...) works like log.warn(...)")
  t.like(lines[4], '"level":"error","msg":"child","c":3}$', "log.with makes a child of the default logger")
  t.is(#lines, 4, "nothing else was written")
  t.raises(function() log.set_default({}) end, "expects a logger", "set_default needs a logger")
  t.raises(function() log.set_level("nope") end, "unknown log level", "log.set_level with a bad name raises")
end
