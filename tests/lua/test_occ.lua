-- alluse.occ: OCC symbols through the FFI — parse (padded, compact, non-standard),
-- expiry instants (regular, early close, Saturday and holiday expiries, both sides of
-- DST), format and round trips, is_occ, every refusal's message, and misuse.
-- Expected instants come from GNU date (`date -u -d '2024-01-19 21:00' +%s`), not
-- from alluse.time or the calendar.
local t = require("alluse.test")
local occ = require("alluse.occ")

local S = 1000000 -- µs per second

-- ---- parse ----

t.is_deeply(occ.parse("AAPL  240119P00190000"), {
  underlying = "AAPL", root = "AAPL", expiry = "2024-01-19", right = "put", strike = 190,
  multiplier = 100, expiry_time = 1705698000 * S,
}, "parse: the padded form, every field (expiry at 16:00 EST)")
t.is_deeply(occ.parse("AAPL240119P00190000"), occ.parse("AAPL  240119P00190000"),
  "parse: the compact form gives the same contract")
t.is_deeply(occ.parse("SPY   150117C00200000"), {
  underlying = "SPY", root = "SPY", expiry = "2015-01-17", right = "call", strike = 200,
  multiplier = 100, expiry_time = 1421442000 * S,
}, "parse: a Saturday expiry keeps its date and ends at Friday's 16:00 close")
t.is(occ.parse("SPY   150109C00208500").strike, 208.5, "parse: strike 208.5")
t.is(occ.parse("XYZ   240315C00012345").strike, 12.345, "parse: strike in thousandths")
t.is(occ.parse("XYZ   240315C99999999").strike, 99999.999, "parse: the largest strike")
t.is(occ.parse("GOOGL 240621C00175000").root, "GOOGL", "parse: a five-letter root")
t.is(occ.parse("F261218C00012500").underlying, "F", "parse: a one-letter compact root")

-- Expiry instants.
t.is(occ.parse("SPY   240621C00500000").expiry_time, 1719000000 * S, "expiry_time: 16:00 EDT in June")
t.is(occ.parse("SPY   151127C00200000").expiry_time, 1448647200 * S,
  "expiry_time: 13:00 EST on the day after Thanksgiving (early close)")
t.is(occ.parse("SPY   240703C00500000").expiry_time, 1720026000 * S,
  "expiry_time: 13:00 EDT on July 3 (early close)")
t.is(occ.parse("SPY   151224C00200000").expiry_time, 1450980000 * S,
  "expiry_time: 13:00 on Christmas Eve 2015")
t.is(occ.parse("SPY   150403C00200000").expiry_time, 1428004800 * S,
  "expiry_time: a Good Friday expiry ends at Thursday's close")
t.is(occ.parse("SPY   151219C00200000").expiry_time, 1450472400 * S,
  "expiry_time: the December 2015 Saturday expiry ends Friday 2015-12-18")
t.is(occ.expiry_time("2015-01-17"), 1421442000 * S, "occ.expiry_time works on a date alone")
t.is(occ.expiry_time("2015-03-31"), 1427832000 * S, "occ.expiry_time: a quarter-end Tuesday")

-- Non-standard contracts.
local c, err = occ.parse("SPY7  150117C00200000")
t.ok(c == nil and err:find("non%-standard contract") and err:find("root SPY7 ends in a digit")
  and err:find("allow_nonstandard", 1, true), "parse refuses SPY7 without allow_nonstandard: " .. tostring(err))
t.is_deeply(occ.parse("SPY7  150117C00200000", { allow_nonstandard = true }), {
  underlying = "SPY", root = "SPY7", expiry = "2015-01-17", right = "call", strike = 200,
  expiry_time = 1421442000 * S, nonstandard = true,
}, "parse: SPY7 with allow_nonstandard: underlying SPY, nonstandard, no multiplier")
t.is(occ.parse("SPY7  150117C00200000", { allow_nonstandard = true, multiplier = 10 }).multiplier, 10,
  "parse: a non-standard multiplier comes from opts.multiplier")
t.is(occ.parse("SPY   150117C00200000", { multiplier = 10 }).multiplier, 100,
  "parse: a standard contract is always 100 (opts.multiplier is for non-standard ones)")
t.is(occ.parse("BRKB12240621P00400000", { allow_nonstandard = true }).underlying, "BRKB",
  "parse: every trailing digit leaves the underlying")
t.is(occ.parse("SPY7150117C00200000", { allow_nonstandard = true }).root, "SPY7",
  "parse: a compact non-standard symbol")
t.is(occ.parse("SPY   150117C00200000", { allow_nonstandard = true }).nonstandard, nil,
  "parse: allow_nonstandard does not mark standard contracts")

-- Refusals: nil and a message naming the problem and quoting the symbol.
local function refuses(s, pattern, name)
  local v, e = occ.parse(s)
  t.ok(v == nil and type(e) == "string" and e:find(pattern, 1, true) ~= nil
    and e:find("occ.parse: ", 1, true) == 1, "parse refuses " .. name .. ": " .. tostring(e))
end
refuses("AAPL  240119P001900000", 'length 22: expected 21 characters', "22 characters")
refuses("", "length 0", "the empty string")
refuses("AAPL 240119P00190000", 'the root "AAPL " has a space', "partial padding")
refuses("aapl  240119P00190000", 'the root "aapl" must start with an upper-case letter', "a lower-case root")
refuses("AAPL  241301P00190000", 'not an OCC symbol "AAPL  241301P00190000": the date field "241301" is not a date: month 13 is not 1..12', "month 13")
refuses("AAPL  240431P00190000", "day 31 is not in April 2024 (1..30)", "April 31")
refuses("AAPL  2401X9P00190000", 'the date field "2401X9" is not a date: expected six digits YYMMDD', "not a date")
refuses("AAPL  240119Q00190000", 'the right "Q" must be C (call) or P (put)', "right Q")
refuses("AAPL  240119P0019O000", 'the strike field "0019O000" must be 8 digits', "a letter O in the strike")
refuses("AAPL  240119P00000000", "the strike is 0", "strike 0")
refuses("AAPL\0 240119P00190000", '"AAPL\\x00 240119P00190000"', "a NUL byte (escaped in the message)")
refuses(" AAPL  240119P00190000", "length 22", "a leading blank")

-- ---- is_occ ----

t.ok(occ.is_occ("AAPL  240119P00190000"), "is_occ: padded")
t.ok(occ.is_occ("AAPL240119P00190000"), "is_occ: compact")
t.ok(occ.is_occ("SPY7  150117C00200000"), "is_occ: a non-standard symbol is still a symbol")
t.is(occ.is_occ("AAPL"), false, "is_occ: a ticker is not")
t.is(occ.is_occ("AAPL  240431P00190000"), false, "is_occ: April 31 is not")
t.is(occ.is_occ(nil), false, "is_occ: nil is not")
t.is(occ.is_occ(42), false, "is_occ: a number is not")

-- ---- format ----

t.is(occ.format { underlying = "AAPL", expiry = "2024-01-19", right = "put", strike = 190 },
  "AAPL  240119P00190000", "format: AAPL put")
t.is(occ.format { underlying = "SPY", expiry = "2015-01-09", right = "call", strike = 208.5 },
  "SPY   150109C00208500", "format: a half strike")
t.is(occ.format { underlying = "SPY", expiry = "2015-01-09", right = "C", strike = 208.5 },
  "SPY   150109C00208500", "format: right may be C or P")
t.is(occ.format { underlying = "X", expiry = "2024-03-15", right = "put", strike = 0.1 + 0.2 },
  "X     240315P00000300", "format: floating-point noise in the strike is forgiven (0.1 + 0.2)")
t.is(occ.format { underlying = "SPY", root = "SPY7", expiry = "2015-01-17", right = "call", strike = 200 },
  "SPY7  150117C00200000", "format: root, when given, is what is written")
t.is(occ.format(occ.parse("AAPL240119P00190000")), "AAPL  240119P00190000",
  "format(parse(compact)) is the padded form")

-- Round trips over the shipped chain's symbols.
do
  local n, bad = 0, nil
  local root = debug.getinfo(1, "S").source:match("^@(.-)tests/lua/[^/]+$") or ""
  for line in io.lines(root .. "data/SPY-chain-2015-01-05.csv") do
    local sym = line:match("^[^,]*,[^,]*,([^,]*)")
    if sym and sym ~= "contract" then
      n = n + 1
      local p = occ.parse(sym, { allow_nonstandard = true })
      if not p or occ.format(p) ~= sym then bad = bad or sym end
    end
  end
  t.ok(n == 4628 and bad == nil, "format(parse(s)) == s for all " .. n .. " symbols of the SPY chain"
    .. (bad and (", not " .. bad) or ""))
end

-- Bad arguments raise at the caller's line.
local function format_raises(arg, pattern, name)
  t.raises(function() occ.format(arg) end, pattern, "format raises on " .. name)
end
local base = { underlying = "AAPL", expiry = "2024-01-19", right = "put", strike = 190 }
local function with(k, v)
  local r = {}
  for key, val in pairs(base) do r[key] = val end
  r[k] = v
  return r
end
format_raises(nil, "expected {underlying=", "nil")
format_raises("AAPL", "expected {underlying=", "a string")
format_raises(with("underlying", nil), "underlying %(or root%) must be a string", "no underlying")
format_raises(with("underlying", "TOOLONGX"), '"TOOLONGX" must be 1..6 characters', "a 7-character root")
format_raises(with("underlying", ""), "must be 1..6 characters", "an empty root")
format_raises(with("underlying", "aapl"), 'the root "aapl" must start with an upper%-case letter', "lower case")
format_raises(with("expiry", "2024-1-19"), 'expiry must be a date "YYYY%-MM%-DD"', "a short date")
format_raises(with("expiry", 20240119), 'expiry must be a date', "a number date")
format_raises(with("expiry", "2024-04-31"), "day 31 is not in April 2024", "April 31")
format_raises(with("expiry", "2100-01-15"), "year 2100 is not in 2000..2099", "year 2100")
format_raises(with("expiry", "1999-12-17"), "year 1999 is not in 2000..2099", "year 1999")
format_raises(with("right", "calls"), 'right must be "call" or "put"', "right calls")
format_raises(with("strike", "190"), "strike must be a number", "a string strike")
format_raises(with("strike", 12.3456), "strike 12.3456 is not a multiple of 0.001", "12.3456")
format_raises(with("strike", -5), "strike %-5 is not in %(0, 100000%)", "a negative strike")
format_raises(with("strike", 0), "strike 0 is not in", "strike 0")
format_raises(with("strike", 100000), "strike 100000 is not in", "strike 100000")
format_raises(with("strike", 0 / 0), "is not in %(0, 100000%)", "a NaN strike")
do
  local ok, e = pcall(function() local r = occ.format(with("strike", 12.3456)); return r end)
  t.ok(not ok and e:find("test_occ.lua:%d+: occ.format: ") ~= nil, "format's error names the caller's line: " .. tostring(e))
  ok, e = pcall(function() local r = occ.format(with("right", "x")); return r end)
  t.ok(not ok and e:find("test_occ.lua:%d+: occ.format: ") ~= nil,
    "format's argument errors name the caller's line too: " .. tostring(e))
  ok, e = pcall(function() local r = occ.parse("AAPL  240119P00190000", { bogus = 1 }); return r end)
  t.ok(not ok and e:find("test_occ.lua:%d+: occ.parse: ") ~= nil, "parse's option errors name the caller's line: " .. tostring(e))
end

-- parse's arguments.
t.raises(function() occ.parse(nil) end, "occ.parse: expected a symbol string, got nil", "parse raises on nil")
t.raises(function() occ.parse(42) end, "expected a symbol string, got 42", "parse raises on a number")
t.raises(function() occ.parse("AAPL  240119P00190000", 5) end, "opts must be a table or nil", "parse raises on opts 5")
t.raises(function() occ.parse("AAPL  240119P00190000", { allow_nonstd = true }) end,
  'unknown option "allow_nonstd"', "parse raises on an unknown option")
t.raises(function() occ.parse("AAPL  240119P00190000", { allow_nonstandard = 1 }) end,
  "opts.allow_nonstandard must be a boolean", "parse raises on a non-boolean flag")
t.raises(function() occ.parse("AAPL  240119P00190000", { multiplier = -10 }) end,
  "opts.multiplier must be a positive number", "parse raises on a negative multiplier")
t.raises(function() occ.parse("AAPL  240119P00190000", { multiplier = 0 / 0 }) end,
  "opts.multiplier must be a positive number", "parse raises on a NaN multiplier")
t.raises(function() occ.expiry_time(20150117) end, 'expected a date "YYYY%-MM%-DD"', "expiry_time raises on a number")
t.raises(function() occ.expiry_time("2015-02-30") end, 'occ.expiry_time: "2015%-02%-30" is not a date',
  "expiry_time raises on Feb 30")
t.raises(function() occ.expiry_time("1995-01-01") end, "no trading day before 1995%-01%-01",
  "expiry_time raises before the calendar's first trading day")

-- Misuse: every function with junk survives (returns or raises a Lua error).
do
  local junk = { false, true, 0, -1, 1.5, 0 / 0, math.huge, "", "\0\255", string.rep("x", 1e5),
    "%s%n", {}, function() end, io.stdout,
    setmetatable({}, { __index = function() error("trap") end }) }
  local calls = 0
  for _, name in ipairs({ "parse", "format", "is_occ", "expiry_time" }) do
    for _, a in ipairs(junk) do
      for _, b in ipairs(junk) do
        pcall(occ[name], a, b)
        calls = calls + 1
      end
      pcall(occ[name], "AAPL  240119P00190000", a)
      pcall(occ.format, with("underlying", a))
      pcall(occ.format, with("expiry", a))
      pcall(occ.format, with("strike", a))
      pcall(occ.format, with("right", a))
      calls = calls + 5
    end
  end
  t.pass("misuse: " .. calls .. " calls with junk arguments, no crash")
end
