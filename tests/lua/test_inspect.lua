-- alluse.inspect: the pretty printer the REPL shows values with.
local t = require("alluse.test")
local inspect = require("alluse.inspect")

-- scalars
t.is(inspect(nil), "nil", "nil")
t.is(inspect(true), "true", "true")
t.is(inspect(false), "false", "false")
t.is(inspect(42), "42", "integer")
t.is(inspect(-7), "-7", "negative integer")
t.is(inspect(0), "0", "zero")
t.is(inspect(-0.0), "-0", "negative zero keeps its sign")
t.is(inspect(0.1), "0.1", "0.1 in its shortest exact form")
t.is(inspect(1 / 3), "0.3333333333333333", "1/3 with the digits that round-trip")
t.is(inspect(0.1 + 0.2), "0.30000000000000004", "0.1+0.2 shows it is not 0.3")
t.is(inspect(2 ^ 53), "9007199254740992", "2^53 exactly")
t.is(inspect(2 ^ 53 + 2), "9007199254740994", "above 2^53 exactly")
t.is(inspect(1e300), "1e+300", "large exponent")
t.is(inspect(5e-324), "4.9406564584125e-324", "smallest subnormal: 14 digits already read back")
t.is(inspect(0.30000000000000004), "0.30000000000000004", "17 digits when fewer do not read back")
t.is(inspect(123.456), "123.456", "decimal")
t.is(inspect(1 / 0), "inf", "infinity")
t.is(inspect(-1 / 0), "-inf", "minus infinity")
t.is(inspect(0 / 0), "nan", "nan")
for _, x in ipairs({ 0.1, 1 / 3, 2 / 3, 1e-7, 123456.789e10, math.pi, -math.exp(1), 2 ^ -1074, 1.7976931348623157e308 }) do
  t.is(tonumber(inspect(x)), x, "round-trips " .. string.format("%.17g", x))
end

-- strings
t.is(inspect("hi"), '"hi"', "string quoted")
t.is(inspect('a"b\\c'), '"a\\"b\\\\c"', "quote and backslash escaped")
t.is(inspect("l1\nl2\tx\r"), '"l1\\nl2\\tx\\r"', "newline, tab, CR escaped")
t.is(inspect("\0" .. "1"), '"\\0001"', "NUL then a digit stays unambiguous")
t.is(inspect("\27[31m"), '"\\027[31m"', "escape sequences cannot reach the terminal")
t.is(inspect("héllo"), '"héllo"', "valid UTF-8 shown as is")
t.is(inspect("\255\1ab"), '"\\255\\001ab"', "binary data escaped")
t.is(inspect("\192\128"), '"\\192\\128"', "overlong UTF-8 counts as binary")
t.is(loadstring("return " .. inspect("a\0b\255\"\\\n"))(), "a\0b\255\"\\\n", "quoted form reads back as Lua")

-- tables: layout and ordering
t.is(inspect({}), "{}", "empty table")
t.is(inspect({ 1, 2, 3 }), "{ 1, 2, 3 }", "array on one line")
t.is(inspect({ b = 1, a = 2, c = 3 }), "{ a = 2, b = 1, c = 3 }", "keys sorted")
t.is(inspect({ "x", "y", z = 1 }), '{ "x", "y", z = 1 }', "array part first, then keys")
t.is(inspect({ [3] = "c", [1] = "a" }), '{ "a", [3] = "c" }', "a gap ends the array part")
t.is(inspect({ [10] = 1, [2.5] = 2, [-1] = 3 }), "{ [-1] = 3, [2.5] = 2, [10] = 1 }", "number keys sorted numerically")
t.is(inspect({ b = 1, [2] = 2, [true] = 3, a = 4 }), "{ [2] = 2, a = 4, b = 1, [true] = 3 }",
  "numbers, then strings, then booleans")
t.is(inspect({ ["end"] = 1, ["a b"] = 2, _ok = 3 }), '{ _ok = 3, ["a b"] = 2, ["end"] = 1 }',
  "keywords and non-identifiers bracketed")
t.is(inspect({ a = { b = { c = {} } } }), "{ a = { b = { c = {} } } }", "nested on one line when short")

local long = {}
for i = 1, 5 do long["key_number_" .. i] = string.rep("v", 10) end
t.is(inspect(long), table.concat({
  "{",
  '  key_number_1 = "vvvvvvvvvv",',
  '  key_number_2 = "vvvvvvvvvv",',
  '  key_number_3 = "vvvvvvvvvv",',
  '  key_number_4 = "vvvvvvvvvv",',
  '  key_number_5 = "vvvvvvvvvv"',
  "}",
}, "\n"), "long table breaks over lines")
t.is(inspect({ inner = long, n = 1 }), table.concat({
  "{",
  "  inner = {",
  '    key_number_1 = "vvvvvvvvvv",',
  '    key_number_2 = "vvvvvvvvvv",',
  '    key_number_3 = "vvvvvvvvvv",',
  '    key_number_4 = "vvvvvvvvvv",',
  '    key_number_5 = "vvvvvvvvvv"',
  "  },",
  "  n = 1",
  "}",
}, "\n"), "nested tables indent")
t.is(inspect({ 1, 2 }, { line = 3 }), "{\n  1,\n  2\n}", "line width option")
t.is(inspect({ 1, 2 }, { indent = "    ", line = 1 }), "{\n    1,\n    2\n}", "indent option")

-- determinism: the same table prints the same whatever its insertion order
local a, b = {}, {}
for i = 1, 50 do a["k" .. i] = i end
for i = 50, 1, -1 do b["k" .. i] = i end
t.is(inspect(a), inspect(b), "output independent of insertion order")

-- cycles and shared references
local c = { name = "c" }
c.self = c
t.is(inspect(c), '{ name = "c", self = <cycle> }', "self cycle")
local p = { name = "parent", kids = {} }
p.kids[1] = { name = "kid", parent = p }
t.is(inspect(p), '{ kids = { { name = "kid", parent = <cycle> } }, name = "parent" }', "cycle through a child")
local shared = { 1 }
t.is(inspect({ x = shared, y = shared }), "{ x = <1>{ 1 }, y = <table 1> }", "shared table labelled, printed once")
local s2 = {}
t.is(inspect({ s2, s2, { s2 } }), "{ <1>{}, <table 1>, { <table 1> } }", "shared empty table")
-- A DAG that doubles at every level must not print 2^40 leaves.
local dag = { "leaf" }
for _ = 1, 40 do dag = { dag, dag } end
local out = inspect(dag, { depth = 100 })
t.ok(#out < 20000, "doubling DAG prints in linear size (" .. #out .. " bytes)")
t.like(out, "<table 40>", "each shared level referenced by label")
local mutual_a, mutual_b = {}, {}
mutual_a.b, mutual_b.a = mutual_b, mutual_a
t.is(inspect(mutual_a), "{ b = { a = <cycle> } }", "mutual cycle")

-- limits
local deep = { 1 }
for _ = 1, 20 do deep = { deep } end
t.like(inspect(deep), "{%.%.%.}", "deep nesting cut at the depth limit")
t.is(inspect({ { { 1 } } }, { depth = 2 }), "{ { {...} } }", "depth option")
t.is(inspect({ { {} } }, { depth = 2 }), "{ { {} } }", "an empty table past the limit is still {}")
local wide = {}
for i = 1, 150 do wide[i] = i end
local w = inspect(wide)
t.like(w, "%.%.%. %(50 more%)", "width limit says how many are hidden")
t.unlike(w, "101", "entries past the width limit are not printed")
t.is(inspect({ 1, 2, 3, a = 1, b = 2 }, { width = 2 }), "{ 1, 2, ... (3 more) }", "width option counts all entries")

-- other types
t.like(inspect(print), "^function: ", "function shown by tostring")
t.like(inspect(coroutine.create(function() end)), "^thread: ", "thread")
t.is(inspect(setmetatable({}, { __tostring = function() return "Money(1.00)" end })), "Money(1.00)",
  "__tostring is used")
t.like(inspect(setmetatable({ x = 1 }, { __tostring = function() error("no") end })), "x = 1",
  "a failing __tostring falls back to the contents")
t.like(inspect({ [{}] = 1 }), "^{ %[table: 0x%x+%] = 1 }$", "table key")
local ffi = require("ffi")
t.is(inspect(ffi.new("int64_t", 5)), "5LL", "cdata by tostring")
t.is(inspect.inspect({ 1 }), "{ 1 }", "inspect.inspect is the same function")
t.is(inspect(setmetatable({ a = 1 }, { __index = function() error("touched") end })), "{ a = 1 }",
  "a throwing __index is never called")
