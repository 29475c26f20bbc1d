-- alluse.json: exact numbers, stable output, errors as values on decode.
local t = require("alluse.test")
local json = require("alluse.json")
local ffi = require("ffi")

local enc, dec = json.encode, json.decode

-- Runs fn and returns the error message it raises (nil if it does not raise).
local function raised(fn)
  local ok, err = pcall(fn)
  if ok then return nil end
  return tostring(err)
end

-------------------------------------------------------------------- numbers

t.is(enc(0.1), "0.1", "0.1 is written as 0.1, not 0.10000000000000001")
t.is(enc(1 / 3), "0.3333333333333333", "1/3 gets the 16 digits it needs")
t.is(enc(0.1 + 0.2), "0.30000000000000004", "0.1+0.2 gets the 17 digits it needs")
t.is(enc(1e300), "1e300", "1e300 with a short exponent")
t.is(enc(5e-324), "5e-324", "smallest subnormal is written shortest")
t.is(enc(2.2250738585072014e-308), "2.2250738585072014e-308", "smallest normal")
t.is(enc(1718900000123456), "1718900000123456", "16-digit microsecond timestamp is exact, no exponent")
t.is(enc(-0.0), "-0", "negative zero keeps its sign")
t.is(1 / dec("-0"), -math.huge, "-0 decodes to negative zero")
t.is(enc(100), "100", "integer-valued double has no .0")
t.is(enc(-42), "-42", "negative integer")
t.is(enc(2 ^ 53), "9007199254740992", "2^53 is written as an integer")
t.is(enc(1e-7), "1e-7", "small number: short exponent")
t.is(enc(123456.789), "123456.789", "price-like number")
t.is(enc(512.35000000000002), "512.35", "shortest form, not the 17-digit one")
t.is(enc(2 ^ 60), "1.152921504606847e18", "a whole number past 2^53 gets an exponent")
t.is(dec(enc(2 ^ 60)), 2 ^ 60, "... so it decodes back instead of being refused as a big integer")
t.is(enc(1e22), "1e22", "1e22")
t.is(enc(-1.5e-7), "-1.5e-7", "negative with exponent")
t.is(enc(ffi.new("int64_t", -5)), "-5", "int64 cdata is written exactly")
t.is(enc(18446744073709551615ULL), "18446744073709551615", "uint64 cdata is written exactly")

do
  -- Random bit patterns cover subnormals, huge and tiny exponents and every digit count.
  math.randomseed(20261124)
  local u = ffi.new("union { double d; uint32_t w[2]; }")
  local bad, checked, longest = nil, 0, 0
  for i = 1, 20000 do
    local x
    if i % 2 == 0 then
      u.w[0], u.w[1] = math.random(0, 2 ^ 32 - 1), math.random(0, 2 ^ 32 - 1)
      x = u.d
    else
      x = (math.random() - 0.5) * 10 ^ math.random(-320, 308)
    end
    if x == x and x ~= math.huge and x ~= -math.huge then
      checked = checked + 1
      local s = enc(x)
      if #s > longest then longest = #s end
      local back = dec(s)
      if back ~= x and not bad then bad = string.format("%.17g -> %s -> %s", x, s, tostring(back)) end
      if tonumber(s) ~= x and not bad then bad = string.format("%.17g -> %s (tonumber)", x, s) end
    end
  end
  t.ok(checked > 15000, "random doubles were checked")
  t.is(bad, nil, "random doubles round-trip bit-exactly through encode and decode")
  t.ok(longest <= 24, "no number is longer than 17 digits, sign, point and exponent")
end

t.is(dec("1718900000123456"), 1718900000123456, "a timestamp decodes exactly")
t.is(dec("9007199254740992"), 2 ^ 53, "2^53 decodes as a number")
t.is(dec("-9007199254740992"), -2 ^ 53, "-2^53 decodes as a number")

-------------------------------------------------------------------- NaN and infinity

do
  local err = raised(function() enc({ orders = { {}, {}, { price = 0 / 0 } } }) end)
  t.is(err and err:match("json%.encode: .*$"), "json.encode: NaN at $.orders[3].price",
    "NaN raises with the path of the value")
end
t.like(raised(function() enc({ x = math.huge }) end), "json%.encode: Infinity at %$%.x$", "infinity raises with its path")
t.like(raised(function() enc({ ["odd key"] = { -math.huge } }) end), '%-Infinity at %$%["odd key"%]%[1%]$',
  "path quotes keys that are not identifiers")
t.like(raised(function() enc(0 / 0) end), "test_json%.lua:%d+: json%.encode", "the error points at the caller")
t.is(enc({ 0 / 0, math.huge, -math.huge, 1 }, { non_finite = "null" }), "[null,null,null,1]",
  "non_finite = \"null\" writes null")
t.raises(function() enc({ 0 / 0 }, { non_finite = "zero" }) end, "non_finite", "a bad non_finite raises")

-------------------------------------------------------------------- strings

t.is(enc('a"b\\c\n\t\r\b\f\1\31/'), '"a\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f/"', "escapes; / left alone")
t.is(enc("é€😀"), '"é€😀"', "UTF-8 passes through unescaped")
t.is(dec('"\\u00e9\\u20ac\\ud83d\\ude00"'), "é€😀", "\\u escapes and surrogate pairs decode to UTF-8")
t.is(dec(enc("line\nnext \"q\" \\ é")), "line\nnext \"q\" \\ é", "a string round-trips")
t.like(raised(function() enc({ name = "ab\255" }) end), "invalid UTF%-8 .* at %$%.name", "invalid UTF-8 raises on encode")
t.like(raised(function() enc({ ["\192\128"] = 1 }) end), "invalid UTF%-8 in key", "an overlong key raises")
t.like(raised(function() enc("\237\160\128") end), "invalid UTF%-8", "a UTF-8 encoded surrogate raises")
do
  local v, err = dec('["ok", "\255"]')
  t.is(v, nil, "invalid UTF-8 in decode input returns nil")
  t.like(err, "^json: invalid UTF%-8 at byte 9", "... and says where")
end

-------------------------------------------------------------------- arrays, objects, keys

t.is(enc({}), "{}", "an empty table is an object")
t.is(enc(json.array({})), "[]", "json.array marks an empty table as an array")
t.is(enc(json.array()), "[]", "json.array() makes a new empty array")
t.is(enc({ list = json.empty_array }), '{"list":[]}', "json.empty_array")
t.raises(function() json.empty_array[1] = 1 end, "read%-only", "json.empty_array cannot be filled")
t.ok(json.is_array(json.array({})) and not json.is_array({}), "json.is_array")
t.is(enc({ 1, "two", true, json.null }), '[1,"two",true,null]', "a sequence is an array")
t.is(enc(json.array({ [1] = 1, [3] = 3 })), "[1,null,3]", "a marked array with holes gets nulls")
t.is(enc({ [2] = "b", [10] = "j" }, { sorted = true }), '{"10":"j","2":"b"}',
  "number keys that are not 1..n make an object with string keys")
t.like(raised(function() enc({ a = { 1, 2, x = 3 } }) end), "mixes string and number keys at %$%.a$", "mixed keys raise")
t.like(raised(function() enc({ [true] = 1 }) end), "key of type boolean at %$$", "a boolean key raises")
t.like(raised(function() enc({ k = { [{}] = 1 } }) end), "key of type table at %$%.k$", "a table key raises")
t.like(raised(function() enc(json.array({ 1, x = 2 })) end), "json%.array", "a marked array with a string key raises")
t.like(raised(function() enc({ f = { print } }) end), "cannot encode a function at %$%.f%[1%]$", "a function raises with its path")
t.like(raised(function() enc({ fh = io.stdout }) end), "cannot encode a userdata at %$%.fh$", "userdata raises")
t.like(raised(function() enc({ co = coroutine.create(print) }) end), "cannot encode a thread", "a coroutine raises")
t.is(enc({ a = json.null }), '{"a":null}', "json.null encodes as null")
t.is(dec("null"), json.null, "null decodes to json.null")
t.is(dec('{"a":null}').a, json.null, "a null member decodes to json.null")

do
  local a = { name = "a" }
  a.child = { list = { 1, a } }
  t.like(raised(function() enc(a) end), "cycle .* at %$%.child%.list%[2%]$", "a cycle raises with its path")
  local shared = { 1, 2 }
  t.is(enc({ shared, shared }), "[[1,2],[1,2]]", "a table seen twice, but not inside itself, is fine")
end

-------------------------------------------------------------------- sorted, stable, pretty

do
  local a, b = {}, {}
  for i = 1, 200 do a["k" .. i] = i end
  for i = 200, 1, -1 do b["k" .. i] = i end
  a.nested = { z = 1, y = { x = 1, w = 2 } }
  b.nested = { y = { w = 2, x = 1 }, z = 1 }
  t.is(enc(a, { sorted = true }), enc(b, { sorted = true }), "sorted output is the same whatever the insertion order")
  t.is(enc({ b = 1, a = { d = 1, c = 2 }, ["B"] = 3, ["é"] = 4, [""] = 5 }, { sorted = true }),
    '{"":5,"B":3,"a":{"c":2,"d":1},"b":1,"é":4}', "keys sort by bytes at every level")
end
t.is(enc({ b = { 1, { c = true } }, a = {}, e = json.array() }, { sorted = true, indent = 2 }),
  '{\n  "a": {},\n  "b": [\n    1,\n    {\n      "c": true\n    }\n  ],\n  "e": []\n}', "indent = 2")
t.is(enc({ 1 }, { indent = "\t" }), "[\n\t1\n]", "indent as a string")
t.raises(function() enc({}, { indent = "x" }) end, "indent", "a bad indent raises")
t.raises(function() enc({}, { sort = true }) end, "unknown option 'sort'", "an unknown encode option raises")
t.raises(function() enc({}, "sorted") end, "options must be a table", "encode options must be a table")

-------------------------------------------------------------------- round trips

do
  local doc = {
    account = "main-1",
    cash = 100000.25,
    ts = 1718900000123456,
    positions = { { symbol = "AAPL  240119P00190000", qty = -2, avg = 3.15 },
      { symbol = "SPY", qty = 100, avg = 512.3333333333334 } },
    flags = { halted = false, paper = true },
    note = "weekly \"ALL-USE\" roll\n",
  }
  local s = enc(doc, { sorted = true })
  t.is_deeply(dec(s), doc, "a nested document round-trips")
  t.is(enc(dec(s), { sorted = true }), s, "encode(decode(s)) gives the same bytes back")
end

-------------------------------------------------------------------- big integers

do
  local v, err = dec('{"id": 12345678901234567890}')
  t.is(v, nil, "a 20-digit integer is refused by default")
  t.like(err, "^json: integer 12345678901234567890 at byte 8 ", "... naming the value and its byte position")
  t.like(err, 'big = "string"', "... and the options that accept it")

  v, err = dec("[9007199254740993]")
  t.is(v, nil, "2^53 + 1 is refused")
  t.like(err, "9007199254740993 at byte 2", "... with its position")
  t.is(dec("[-9007199254740993]"), nil, "-(2^53 + 1) is refused")

  v = dec('{"id": 12345678901234567890, "n": -99999999999999999999, "ok": 5}', { big = "string" })
  t.is(v.id, "12345678901234567890", "big = \"string\" returns the digits as a string")
  t.is(v.n, "-99999999999999999999", "... negative too")
  t.is(v.ok, 5, "... and leaves small numbers as numbers")

  v = dec('[12345678901234567890]', { big = "float" })
  t.is(v[1], 12345678901234567890, "big = \"float\" accepts the rounding")

  local text = '{"acct": "12345678901234567890", "note": "say \\"12345678901234567890\\" twice", "n": 1}'
  for _, mode in ipairs({ "error", "string", "float" }) do
    v, err = dec(text, { big = mode })
    t.ok(v and v.acct == "12345678901234567890" and v.note == 'say "12345678901234567890" twice',
      "digits inside strings are left alone (big = " .. mode .. ")" .. (err and (": " .. err) or ""))
  end
  v = dec('["a\\\\", 12345678901234567890]', { big = "string" })
  t.is(v and v[2], "12345678901234567890", "an escaped backslash before a closing quote does not confuse the scan")
  t.is(dec("12345678901234567890", { big = "string" }), "12345678901234567890", "a big integer alone")
  t.is(dec("[1.2345678901234567890]")[1], 1.2345678901234567, "many digits after the point are a float, not big")
  t.is(dec("[12345678901234567890.5]")[1], 12345678901234567890.5, "a long integer part with a fraction is a float")
  t.is(dec("[1e20]")[1], 1e20, "an exponent makes it a float")
  v, err = dec('[1, 2', { big = "string" })
  t.like(err, "^json: .*character 6$", "a syntax error is still reported in string mode")
  v, err = dec('[12345678901234567890, 2', { big = "string" })
  t.like(err, "character 25$", "... with positions in the caller's text, not the rewritten one")
end

-------------------------------------------------------------------- bad input returns nil, err

for _, case in ipairs({
  { '{"a": ', "truncated object" },
  { '[1, 2', "truncated array" },
  { '"abc', "unterminated string" },
  { '[1] x', "trailing garbage" },
  { '{"a": 1}}', "extra brace" },
  { '', "empty text" },
  { '   ', "only spaces" },
  { '1.', "number ending in a point" },
  { '[1.e5]', "point with no digits before an exponent" },
  { '-.5', "no digit before the point" },
  { '01', "leading zero" },
  { '[1e]', "exponent without digits" },
  { 'NaN', "NaN" },
  { '[Infinity]', "Infinity" },
  { '-Infinity', "-Infinity" },
  { '0x10', "hex" },
  { '[1e400]', "a number that overflows" },
  { "{'a': 1}", "single quotes" },
  { '[1,]', "trailing comma" },
  { '{"a" 1}', "missing colon" },
  { '"\\x"', "bad escape" },
}) do
  local ok, v, err = pcall(dec, case[1])
  t.ok(ok and v == nil and type(err) == "string" and err:find("^json: ") ~= nil,
    "decode returns nil, \"json: ...\" for " .. case[2] .. (ok and err and (" (" .. err .. ")") or ""))
end
do
  local _, err = dec("[1, 1.]")
  t.is(err, "json: invalid number '1.' at byte 5", "an invalid number is named with its position")
  _, err = dec("[1e400]")
  t.is(err, "json: number 1e400 at byte 2 is out of range for a double", "an overflow is named with its position")
  _, err = dec('[1 2, 1.]')
  t.like(err, "character 4", "an earlier syntax error is reported first")
end
do
  local v, err = dec("[1]\0garbage")
  t.is(v, nil, "a NUL byte is refused (cjson would stop reading at it)")
  t.is(err, "json: NUL byte at byte 4", "... and its position named")
  t.is(dec('"a\\u0000b"'), "a\0b", "an escaped NUL inside a string is fine")
  local deep = {}
  for _ = 1, 1200 do deep = { deep } end
  t.like(raised(function() enc(deep) end), "nesting deeper than 1000 at %$%[1%]", "encode refuses nesting the decoder would refuse")
  t.like(raised(function() enc(deep) end), "%.%.%.", "... and shortens the path")
  _, err = dec(string.rep("[", 1001) .. string.rep("]", 1001))
  t.like(err, "^json: .*nested", "decode refuses nesting deeper than 1000")
end
t.raises(function() dec(42) end, "expects a string, got number", "decode of a non-string raises")
t.raises(function() dec(nil) end, "expects a string", "decode of nil raises")
t.raises(function() dec("1", { big = "round" }) end, 'big must be', "a bad big mode raises")
t.raises(function() dec("1", { bigs = "string" }) end, "unknown option 'bigs'", "an unknown decode option raises")
t.is(dec(" [1] \n")[1], 1, "whitespace around a value is fine")
