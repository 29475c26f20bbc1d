-- core/sys/json_encode.c (alluse.core.json) against the Lua encoder it stands in for:
-- the same bytes for every document, and nil (so the Lua encoder raises its precise
-- message) for everything that is an error there.
local t = require("alluse.test")
local json = require("alluse.json")
local core = require("alluse.core.json")

local lua_only = json._lua_only

-- A small deterministic generator (xorshift32), so a failure can be replayed.
local seed = 2463534242
local function rnd()
  seed = bit.bxor(seed, bit.lshift(seed, 13))
  seed = bit.bxor(seed, bit.rshift(seed, 17))
  seed = bit.bxor(seed, bit.lshift(seed, 5))
  return (seed % 2 ^ 32) / 2 ^ 32
end

------------------------------------------------------------------- the C path runs

local arrays = setmetatable({}, { __mode = "k" })
local fmt = json.format_number
t.is(core.encode({ a = 1 }, true, nil, false, arrays, fmt), '{"a":1}', "the C encoder writes a plain object")
t.is(core.encode({ 1, 2 }, true, "  ", false, arrays, fmt), "[\n  1,\n  2\n]", "... and an indented array")
local cyc = {}
cyc.self = cyc
t.is(core.encode(cyc, true, nil, false, arrays, fmt), nil, "a cycle is left to the Lua encoder")
t.is(core.encode({ 0 / 0 }, true, nil, false, arrays, fmt), nil, "so is NaN")
t.is(core.encode({ 0 / 0 }, true, nil, true, arrays, fmt), "[null]", "... unless non-finite numbers are null")
t.is(core.encode({ f = print }, true, nil, false, arrays, fmt), nil, "so is a function")
t.is(core.encode({ "\255" }, true, nil, false, arrays, fmt), nil, "so is invalid UTF-8")
t.is(core.encode({ [true] = 1 }, true, nil, false, arrays, fmt), nil, "so is a boolean key")
t.is(core.encode({ 1, x = 2 }, true, nil, false, arrays, fmt), nil, "so are mixed keys")
t.like(select(2, pcall(json.encode, cyc)), "cycle", "json.encode still names a cycle")
t.like(select(2, pcall(json.encode, { a = { 0 / 0 } })), "NaN at %$%.a%[1%]", "... and where a NaN is")

------------------------------------------------------------------------ numbers

local function same(v, what)
  local a, b = json.encode(v), lua_only(v)
  if a ~= b then t.is(a, b, what) return false end
  return true
end

-- Ties at the 17th digit: LuaJIT's string.format rounds them away from zero, glibc's
-- printf to even; the Lua encoder's text is the definition.
t.is(json.encode(26.4720001220703125), "26.472000122070313", "an exact tie at 17 digits rounds as LuaJIT does")
t.is(json.encode(0.09999999999999998), "0.09999999999999998", "16 digits below a power of ten")
t.is(json.encode(999999999999999.9), lua_only(999999999999999.9), "rounding up to 1e15 (an exponent in %g)")
t.is(json.encode(1.2345678901234567e-4), lua_only(1.2345678901234567e-4), "17 digits just above 1e-4")

local specials = { 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 0.1 + 0.2, 1e-4, 1e-5, 9.999999999999999e-5, 1e15 - 0.5,
  1e15, 1e15 + 2, 2 ^ 53, 2 ^ 53 + 2, -2 ^ 53, 2 ^ 63, 1e300, -1e-300, 5e-324, 2.2250738585072014e-308,
  123456.789, -0.0, 0.5, 1.5, 2.5, 1e21, 1e22, 1e23, 4.35, 0.015, 100.005, 1.0000000000000002,
  0.9999999999999999, 1 - 2 ^ -53, 2 ^ -1074, 2 ^ 52 + 0.5, 4503599627370495.5, 1e-4 + 1e-20 }
local ok = true
for _, v in ipairs(specials) do ok = same(v, "special number " .. string.format("%.17g", v)) and ok end
t.ok(ok, "special numbers: " .. #specials .. " the same as the Lua encoder")

-- Random doubles: whole bit patterns (every exponent), prices with a few decimals,
-- ratios near 1, and values just around the 1e-4 and 1e15 edges of the C fast paths.
local ffi = require("ffi")
local u = ffi.new("union { double d; uint32_t w[2]; }")
local bad, n = 0, 0
for i = 1, 60000 do
  local v
  local kind = i % 6
  if kind == 0 then
    u.w[0], u.w[1] = math.floor(rnd() * 2 ^ 32), math.floor(rnd() * 2 ^ 32)
    v = u.d
  elseif kind == 1 then
    v = math.floor(rnd() * 1e7) / 100
  elseif kind == 2 then
    v = 1 + (rnd() - 0.5) * 1e-3
  elseif kind == 3 then
    v = (rnd() * 10) ^ (rnd() * 30 - 15) * (rnd() < 0.5 and -1 or 1)
  elseif kind == 4 then
    v = 1e-4 * (1 + (rnd() - 0.5) * 1e-12)
  else
    v = 1e15 * (1 + (rnd() - 0.5) * 1e-14)
  end
  if v == v and v ~= math.huge and v ~= -math.huge then
    n = n + 1
    if json.encode(v) ~= lua_only(v) then
      bad = bad + 1
      if bad <= 3 then t.is(json.encode(v), lua_only(v), string.format("number %.17g", v)) end
    end
  end
end
t.is(bad, 0, n .. " random doubles of every kind: the same text as the Lua encoder")

---------------------------------------------------------------------- documents

local function rstring()
  local pieces = { "a", "price", "AAPL  240119P00190000", "é", "€", "𝄞", '"', "\\", "\n", "\t", "\1", "\127",
    "x y", "", "2015-01-02T20:00:00Z" }
  local s = {}
  for _ = 1, math.floor(rnd() * 4) do s[#s + 1] = pieces[1 + math.floor(rnd() * #pieces)] end
  return table.concat(s)
end

local function rvalue(depth)
  local r = rnd()
  if depth > 4 or r < 0.35 then
    local k = math.floor(rnd() * 6)
    if k == 0 then return rstring() end
    if k == 1 then return math.floor(rnd() * 1e6) / 100 end
    if k == 2 then return (rnd() - 0.5) * 10 ^ math.floor(rnd() * 20 - 8) end
    if k == 3 then return rnd() < 0.5 end
    if k == 4 then return json.null end
    return math.floor(rnd() * 2000) - 1000
  elseif r < 0.6 then
    local a = json.array()
    for i = 1, math.floor(rnd() * 5) do a[i] = rvalue(depth + 1) end
    if rnd() < 0.1 then a[#a + 2] = 1 end -- a hole: null
    return a
  elseif r < 0.7 then
    local a = {}
    for i = 1, 1 + math.floor(rnd() * 4) do a[i] = rvalue(depth + 1) end
    return a
  elseif r < 0.75 then
    local o = {}
    for _ = 1, 1 + math.floor(rnd() * 3) do o[(rnd() - 0.5) * 1000] = rvalue(depth + 1) end
    return o -- number keys, not an array
  else
    local o = {}
    for _ = 1, math.floor(rnd() * 6) do o[rstring()] = rvalue(depth + 1) end
    return o
  end
end

local docs_bad = 0
for i = 1, 400 do
  local doc = rvalue(0)
  for _, opts in ipairs({ { sorted = true, indent = 2 }, { sorted = true }, { indent = "\t", sorted = true } }) do
    local a, b = json.encode(doc, opts), lua_only(doc, opts)
    if a ~= b then
      docs_bad = docs_bad + 1
      if docs_bad <= 2 then t.is(a, b, "document " .. i) end
    end
  end
  -- Without sorting both walk the table in next() order, which is the same order.
  if json.encode(doc) ~= lua_only(doc) then docs_bad = docs_bad + 1 end
end
t.is(docs_bad, 0, "400 random documents in four layouts: the same bytes as the Lua encoder")

-- An object bigger than the Lua stack the single-pass path uses, and one with many keys.
local big = {}
for i = 1, 20000 do big["k" .. i] = i / 7 end
t.is(json.encode(big, { sorted = true }), lua_only(big, { sorted = true }), "an object of 20,000 keys")
local arr = json.array()
for i = 1, 50000 do arr[i] = { i = i, p = i / 3 } end
t.is(json.encode(arr, { sorted = true, indent = 1 }), lua_only(arr, { sorted = true, indent = 1 }),
  "an array of 50,000 small objects")

