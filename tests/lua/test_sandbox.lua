-- The sandbox strategies run in: every forbidden door stays shut, and the watchdog
-- stops runaway code even when it is JIT-compiled or wrapped in pcall.
local t = require("alluse.test")
local sandbox = require("alluse.sandbox")

local function run(src, opts)
  local box = sandbox.new(opts or { budget_ms = 30 })
  local fn, err = box:load(src, "=strategy.lua")
  if not fn then return false, err end
  return box:call(fn)
end

-- Forbidden doors: each of these must fail inside the sandbox.
local doors = {
  { "os", "return os.exit(3)" },
  { "io", "return io.open('/etc/passwd')" },
  { "ffi via require", "return require('ffi')" },
  { "debug", "return debug.getinfo(1)" },
  { "jit", "return jit.off()" },
  { "package", "return package.loaded" },
  { "getfenv", "return getfenv(0)" },
  { "setfenv", "return setfenv(1, {})" },
  { "dofile", "return dofile('/etc/passwd')" },
  { "loadfile", "return loadfile('/etc/passwd')" },
  { "collectgarbage", "return collectgarbage('count')" },
  { "newproxy", "return newproxy(true)" },
  { "module", "module('x')" },
  { "string.dump", "return string.dump(function() end)" },
  { "string metatable", "local mt = getmetatable('') return mt.__index.rep" },
  { "require outside the allow-list", "return require('alluse.sandbox')" },
  { "global assignment", "x = 1" },
  { "global read of an undeclared name", "return undefined_thing" },
  { "bytecode through load", "local f, e = load('\\27LJ\\2') if not f then error(e) end" },
  { "bytecode through loadstring", "local f, e = loadstring('\\27LJ\\2') if not f then error(e) end" },
  { "load in binary mode", "return load('return 1', 'x', 'b')" },
  { "writing a required module", "local json = require('alluse.time') json.now = nil" },
  { "rawset around the strict globals", "rawset(_G, 'x', 1)" },
}
for _, d in ipairs(doors) do
  local ok, err = run(d[2])
  t.ok(not ok, "forbidden: " .. d[1])
  t.ok(type(err) == "string" and err:find("strategy.lua:1:") ~= nil or err:find("sandbox"),
    "forbidden: " .. d[1] .. " names the line or the sandbox: " .. tostring(err):match("[^\n]*"))
end

-- Library tables are private copies: changing one sandbox's string table does not
-- reach the engine or another sandbox.
do
  local ok = run("string.upper = nil; math.floor = nil; return true")
  t.ok(ok, "a script may change its own copy of string/math")
  t.is(type(string.upper), "function", "the engine's string.upper is untouched")
  local ok2, v = run("return string.upper('a')")
  t.ok(ok2 and v == "A", "another sandbox still has string.upper")
end

-- What strategies do need keeps working.
do
  local ok, v = run("local t = {} for i = 1, 10 do t[#t + 1] = i * i end return table.concat(t, ',')")
  t.is(v, "1,4,9,16,25,36,49,64,81,100", "loops, tables and string functions work")
  local ok2, s = run("local f = load('return 2 + 3') return f()")
  t.ok(ok2 and s == 5, "load of text source works and is sandboxed")
  local ok3, n = run("return select('#', ...)")
  t.ok(ok3 and n == 0, "varargs of the chunk are the caller's")
  local box = sandbox.new()
  local fn = box:load("return ...", "=s")
  t.is_deeply({ box:call(fn, 1, nil, 3) }, { true, 1, nil, 3 }, "arguments pass through, nils included")
  local ok4, a, b = run("math.randomseed(7) local a = math.random() math.randomseed(7) return a, math.random()")
  t.ok(ok4 and a == b, "math.random is reproducible for a seed")
  local _, x = run("return math.random()", { seed = 42 })
  local _, y = run("return math.random()", { seed = 42 })
  local _, z = run("return math.random()", { seed = 43 })
  t.ok(x == y and x ~= z, "sandbox seed fixes the random sequence")
  local _, r = run("local lo, hi = 99, 0 for i = 1, 1000 do local v = math.random(3, 5) lo = math.min(lo, v) hi = math.max(hi, v) end return lo * 10 + hi")
  t.is(r, 35, "math.random(m, n) covers m..n inclusive")
end

-- Line numbers survive instrumentation, shebangs included.
do
  local _, err = run("local a = 1\nlocal b = 2\nerror('boom on three')\n")
  t.like(err, "^strategy.lua:3: boom on three", "error line numbers are the source's")
  local _, err2 = run("#!/usr/bin/env alluse\n\nerror('x')")
  t.like(err2, "^strategy.lua:3: x", "a shebang line keeps the numbering")
  local _, err3 = run("local s = 'while true do end' -- do repeat function goto\nlocal l = [[\ndo\n]] local n = 1e+5 + 0x1p4 + .5\nerror(s .. n)")
  t.like(err3, "^strategy.lua:5: while true do end100016.5", "keywords inside strings and comments are left alone")
  local ok4, err4 = run("local a = ")
  t.ok(not ok4 and err4:find("strategy.lua:1:"), "a syntax error is Lua's own message")
  local ok5, err5 = run("local __au_tick = function() end")
  t.ok(not ok5 and err5:find("reserved"), "the watchdog's names cannot be shadowed")
end

-- The watchdog.
local runaway = {
  { "interpreted infinite loop", "while true do end" },
  { "JIT-compiled loop (warmed up first)", "local x = 0 for i = 1, 1e6 do x = x + i end while true do x = x + 1 end" },
  { "repeat-until", "repeat until false" },
  { "numeric for over a huge range", "local s = 0 for i = 1, 1e15 do s = s + i end" },
  { "tail-call recursion", "local function f(n) return f(n + 1) end return f(1)" },
  { "goto loop", "::top:: goto top" },
  { "pcall around the loop", "pcall(function() while true do end end) return 'swallowed'" },
  { "pcall in a loop", "while true do pcall(function() while true do end end) end" },
  { "xpcall with a handler", "xpcall(function() while true do end end, function() return 'handled' end) return 'swallowed'" },
  { "error handler that loops", "xpcall(function() while true do end end, function() while true do end end)" },
  { "coroutine.resume", "local co = coroutine.create(function() while true do end end) coroutine.resume(co) return 'swallowed'" },
  { "coroutine.wrap under pcall", "pcall(coroutine.wrap(function() while true do end end)) return 'swallowed'" },
  { "loaded code", "load('while true do end')()" },
  { "string.gsub callback", "local s = string.rep('a', 1e6) while true do s:gsub('a', function() end) end" },
}
for _, r in ipairs(runaway) do
  local box = sandbox.new({ budget_ms = 30 })
  local fn = assert(box:load(r[2], "=strategy.lua"))
  local ok, err = box:call(fn)
  t.ok(not ok and tostring(err):find("watchdog: callback ran longer than its budget of 30 ms") ~= nil,
    "watchdog stops: " .. r[1])
end

do
  local box = sandbox.new({ budget_ms = 30 })
  local fn = assert(box:load("while true do end", "=strategy.lua"))
  t.ok(not box:call(fn), "first call stopped")
  local again = assert(box:load("return 'fine'", "=strategy.lua"))
  local ok, v = box:call(again)
  t.ok(ok and v == "fine", "the next callback gets a fresh budget")
  local busy = assert(box:load("local s = 0 for i = 1, 2e6 do s = s + i end return s", "=strategy.lua"))
  local ok2, v2 = box:call(busy)
  t.ok(ok2 and v2 == 2000001000000, "honest work under the budget completes")
end

t.raises(function() sandbox.new({ budget_ms = -1 }) end, "budget_ms", "a bad budget is refused")
t.raises(function() sandbox.new({ budget_ms = 0 / 0 }) end, "budget_ms", "a NaN budget is refused")
t.is(sandbox.default_budget_ms, 100, "the default budget is 100 ms")

-- The allow-list includes what strategies need from the market-data layer.
do
  local ok, v, open = run("local ind = require('alluse.indicators') local s = ind.sma(2) s:update(1) "
    .. "local cal = require('alluse.calendar') return s:update(3), cal.is_trading_day('2025-07-04')")
  t.ok(ok and v == 2 and open == false, "strategies may use alluse.indicators and alluse.calendar")
  local ok2 = run("return require('alluse.data')")
  t.ok(not ok2, "but not alluse.data (it reads and writes files)")
end
