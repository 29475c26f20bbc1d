-- alluse.time: the Lua face — argument checking, the nil, err contract, New York
-- conversions and ISO text.  Expected instants come from zdump/GNU date on tzdata.
local t = require("alluse.test")
local time = require("alluse.time")

local S = 1000000
local H = 3600 * S

-- ---- constants and clocks ----

t.is(time.SECOND, 1e6, "SECOND")
t.is(time.DAY, 86400e6, "DAY")
t.is(time.MAX, 2 ^ 53 - 1, "MAX is the largest exact integer")
t.is(time.MIN, -(2 ^ 53 - 1), "MIN")

local now = time.now()
t.ok(type(now) == "number" and now % 1 == 0, "now is an integer number")
t.ok(now > 1700000000 * S and now < 4102444800 * S, "now is between 2023 and 2100")
local m1 = time.monotonic()
local m2 = time.monotonic()
t.ok(m1 % 1 == 0 and m2 >= m1, "monotonic is an integer and does not go back")

-- ---- UTC fields ----

t.is(time.from_utc(1970, 1, 1), 0, "from_utc epoch")
t.is(time.from_utc(2024, 3, 10, 7), 1710054000 * S, "from_utc with an hour")
t.is(time.from_utc(1969, 12, 31, 23, 59, 59, 999999), -1, "from_utc with usec, before 1970")
t.is(time.from_utc({ year = 2000, month = 2, day = 29, hour = 12 }), 951825600 * S, "from_utc table")
t.is_deeply(time.date_utc(-1), {
  year = 1969, month = 12, day = 31, hour = 23, min = 59, sec = 59, usec = 999999, wday = 3, yday = 365,
}, "date_utc(-1)")
t.is_deeply(time.date_utc(951825600 * S), {
  year = 2000, month = 2, day = 29, hour = 12, min = 0, sec = 0, usec = 0, wday = 2, yday = 60,
}, "date_utc on 2000-02-29")
t.is(time.from_utc(time.date_utc(1234567890123456)), 1234567890123456, "from_utc(date_utc(us)) round-trips")
t.raises(function() time.from_utc(1900, 2, 29) end, "day must be an integer in 1%.%.28 for 1900%-02",
  "1900-02-29 does not exist")
t.raises(function() time.from_utc(2100, 2, 29) end, "1%.%.28 for 2100%-02", "2100-02-29 does not exist")
t.lives(function() time.from_utc(2000, 2, 29) end, "2000-02-29 exists")
t.is(time.from_utc(2100, 3, 1) - time.from_utc(2100, 2, 28), time.DAY, "2100: Feb 28 to Mar 1 is one day")
t.is(time.from_utc(2000, 3, 1) - time.from_utc(2000, 2, 28), 2 * time.DAY, "2000: Feb 28 to Mar 1 is two days")
t.raises(function() time.from_utc(1500, 1, 1) end, "outside the supported range", "1500 is beyond 2^53 us")
t.raises(function() time.from_utc(2300, 1, 1) end, "outside the supported range", "2300 is beyond 2^53 us")

t.is(time.weekday(0), 4, "1970-01-01 is a Thursday (ISO 4)")
t.is(time.weekday(time.from_utc(2024, 3, 10)), 7, "2024-03-10 is a Sunday (ISO 7)")
t.is(time.weekday(time.from_utc(2024, 3, 11, 1)), 1, "2024-03-11 01:00Z is Monday in UTC")
t.is(time.weekday(time.from_utc(2024, 3, 11, 1), "America/New_York"), 7, "... and Sunday in New York")
t.is(time.weekday(time.from_utc(2024, 3, 11, 1), -120), 7, "... and Sunday at -02:00")
t.is(time.weekday(time.from_utc(2024, 3, 10, 23), 60), 1, "... 2024-03-10 23:00Z is Monday at +01:00")

-- ---- New York: the rule in each era ----

-- {label, UTC seconds of the start, of the end} from zdump -v America/New_York.
local eras = {
  { "2007+ (2nd Sun Mar, 1st Sun Nov)", 2007, 1173596400, 1194156000 },
  { "2007+ (2nd Sun Mar, 1st Sun Nov)", 2024, 1710054000, 1730613600 },
  { "2007+ (2nd Sun Mar, 1st Sun Nov)", 2037, 2120108400, 2140668000 },
  { "1987-2006 (1st Sun Apr, last Sun Oct)", 1987, 544604400, 562140000 },
  { "1987-2006 (1st Sun Apr, last Sun Oct)", 2006, 1143961200, 1162101600 },
  { "1976-1986 (last Sun Apr, last Sun Oct)", 1976, 199263600, 215589600 },
  { "1976-1986 (last Sun Apr, last Sun Oct)", 1986, 514969200, 530690400 },
  { "1974 energy crisis (Jan 6)", 1974, 126687600, 152085600 },
  { "1975 energy crisis (Feb 23)", 1975, 162370800, 183535200 },
  { "1967-1973 (last Sun Apr, last Sun Oct)", 1967, -84387600, -68666400 },
}
for _, e in ipairs(eras) do
  local label, y, s, en = e[1], e[2], e[3] * S, e[4] * S
  local gs, ge = time.ny_transitions(y)
  t.ok(gs == s and ge == en, y .. " " .. label .. ": transitions match tzdata")
  local o1, d1 = time.ny_offset(s - 1)
  local o2, d2 = time.ny_offset(s)
  t.ok(o1 == -300 and d1 == false and o2 == -240 and d2 == true, y .. ": EST -> EDT at the start instant")
  o1, d1 = time.ny_offset(en - 1)
  o2, d2 = time.ny_offset(en)
  t.ok(o1 == -240 and d1 == true and o2 == -300 and d2 == false, y .. ": EDT -> EST at the end instant")
  local before, at = time.to_ny(s - 1), time.to_ny(s)
  t.ok(before.hour == 1 and before.min == 59 and before.sec == 59 and before.usec == 999999
    and at.hour == 3 and at.min == 0 and at.dst and not before.dst,
    y .. ": New York clocks go 01:59:59.999999 -> 03:00")
  before, at = time.to_ny(en - 1), time.to_ny(en)
  t.ok(before.hour == 1 and before.min == 59 and at.hour == 1 and at.min == 0 and before.dst and not at.dst,
    y .. ": New York clocks go 01:59:59.999999 EDT -> 01:00 EST")
end
t.is(time.ny_transitions(1966), nil, "no DST by our rule in 1966")
t.is(time.ny_offset(time.from_utc(1966, 7, 1, 12)), -300, "July 1966 is EST (rule starts 1967)")
t.is(time.ny_offset(time.from_utc(2006, 3, 20)), -300, "2006-03-20: EST under the old rule")
t.is(time.ny_offset(time.from_utc(2007, 3, 20)), -240, "2007-03-20: EDT under the new rule")
t.is(time.ny_offset(time.from_utc(1974, 2, 1)), -240, "1974-02-01: EDT (energy crisis)")
t.is(time.ny_offset(time.from_utc(1975, 2, 1)), -300, "1975-02-01: EST")

t.is_deeply(time.to_ny(time.from_utc(2024, 7, 4, 13, 30, 0, 42)), {
  year = 2024, month = 7, day = 4, hour = 9, min = 30, sec = 0, usec = 42, wday = 4, yday = 186,
  offset = -240, dst = true,
}, "to_ny on Independence Day at the open")
t.is_deeply(time.to_ny(0), {
  year = 1969, month = 12, day = 31, hour = 19, min = 0, sec = 0, usec = 0, wday = 3, yday = 365,
  offset = -300, dst = false,
}, "to_ny of the epoch")

-- ---- New York: wall time to UTC, the gap and the overlap ----

t.is(time.from_ny(2024, 7, 4, 9, 30), time.from_utc(2024, 7, 4, 13, 30), "09:30 EDT is 13:30Z")
t.is(time.from_ny(2024, 1, 2, 9, 30), time.from_utc(2024, 1, 2, 14, 30), "09:30 EST is 14:30Z")
t.is(time.from_ny(2024, 1, 2), time.from_utc(2024, 1, 2, 5), "a date alone is local midnight")
t.is(time.from_ny({ year = 2024, month = 1, day = 2, hour = 16, usec = 5 }), time.from_utc(2024, 1, 2, 21) + 5,
  "from_ny table form")
t.is(time.from_ny(2024, 1, 2, 9, 30, 0, 7), time.from_utc(2024, 1, 2, 14, 30, 0, 7), "positional usec")

local us, err, code = time.from_ny(2024, 3, 10, 2, 30)
t.is(us, nil, "2024-03-10 02:30 New York: nil (it does not exist)")
t.like(err, "^time%.from_ny: 2024%-03%-10T02:30:00 does not exist in America/New_York", "  message")
t.is(code, "ENONEXISTENT", "  code")
t.is(time.from_ny(2024, 3, 10, 2, 30, 0, { nonexistent = "later" }), time.from_utc(2024, 3, 10, 7, 30),
  "nonexistent = later: 03:30 EDT")
t.is(time.from_ny(2024, 3, 10, 2, 30, { nonexistent = "earlier" }), time.from_utc(2024, 3, 10, 6, 30),
  "nonexistent = earlier: 01:30 EST (opts right after the seconds)")
t.is(time.from_ny(2024, 3, 10, 2, { nonexistent = "later" }), time.from_utc(2024, 3, 10, 7),
  "opts right after the hour")
t.is(select(3, time.from_ny(1974, 1, 6, 2, 15)), "ENONEXISTENT", "1974-01-06 02:15 does not exist")
t.is(select(3, time.from_ny(1975, 2, 23, 2, 15)), "ENONEXISTENT", "1975-02-23 02:15 does not exist")
t.is(select(3, time.from_ny(1980, 4, 27, 2, 15)), "ENONEXISTENT", "1980-04-27 02:15 does not exist")
t.is(select(3, time.from_ny(1990, 4, 1, 2, 15)), "ENONEXISTENT", "1990-04-01 02:15 does not exist")
t.ok(time.from_ny(1966, 4, 24, 2, 15), "1966-04-24 02:15 exists (no DST before 1967)")

t.is(time.from_ny(2024, 11, 3, 1, 30), time.from_utc(2024, 11, 3, 5, 30), "overlap default: earlier (EDT)")
t.is(time.from_ny(2024, 11, 3, 1, 30, 0, { ambiguous = "later" }), time.from_utc(2024, 11, 3, 6, 30),
  "ambiguous = later: EST")
us, err, code = time.from_ny(2024, 11, 3, 1, 30, 0, { ambiguous = "error" })
t.ok(us == nil and code == "EAMBIGUOUS", "ambiguous = error: nil, EAMBIGUOUS")
t.like(err, "is ambiguous in America/New_York", "  message")
t.is(time.from_ny({ year = 2024, month = 11, day = 3, hour = 1, min = 30, dst = false }),
  time.from_utc(2024, 11, 3, 6, 30), "dst = false picks the EST occurrence")
t.is(time.from_ny({ year = 2024, month = 11, day = 3, hour = 1, min = 30, dst = true }, { ambiguous = "later" }),
  time.from_utc(2024, 11, 3, 5, 30), "dst = true wins over opts.ambiguous")
t.is(time.from_ny({ year = 2024, month = 7, day = 3, dst = false }), time.from_utc(2024, 7, 3, 4),
  "dst is ignored when the time is not ambiguous")
t.is(time.from_ny(2024, 11, 3, 2, 0, 0, { ambiguous = "error" }), time.from_utc(2024, 11, 3, 7),
  "02:00 on fall-back day is EST, not ambiguous")

-- from_ny(to_ny(us)) == us for every instant, the repeated hour included.
local bad = 0
for _, start in ipairs({ 1730613600 * S - 2 * H, 1710054000 * S - 2 * H, 183535200 * S - 2 * H }) do
  for k = 0, 4 * 3600, 37 do
    local u = start + k * S + 123
    if time.from_ny(time.to_ny(u)) ~= u then bad = bad + 1 end
  end
end
t.is(bad, 0, "from_ny(to_ny(us)) round-trips around 2024 and 1975 transitions, every 37 s")

-- ---- ISO 8601 ----

local base = time.from_utc(2024, 3, 10, 12, 34, 56)
local good = {
  { "2024-03-10", time.from_utc(2024, 3, 10) },
  { "2024-03-10T12:34:56Z", base },
  { "2024-03-10 12:34:56", base },
  { "2024-03-10T12:34:56", base },
  { "2024-03-10T12:34", base - 56 * S },
  { "2024-03-10T08:34:56-04:00", base },
  { "2024-03-10T08:34:56-0400", base },
  { "2024-03-10T08:34:56-04", base },
  { "2024-03-10T18:04:56.5+05:30", base + 500000 },
  { "2024-03-10T12:34:56.123456789Z", base + 123456 },
  { "1969-12-31T23:59:59.999999Z", -1 },
  { "1700-01-01", time.from_utc(1700, 1, 1) },
}
for _, g in ipairs(good) do
  t.is(time.parse(g[1]), g[2], "parse " .. g[1])
end

local function parse_fails(s, pattern, want_code, name)
  local r, e, c = time.parse(s)
  t.ok(r == nil and c == (want_code or "EPARSE") and type(e) == "string" and e:find(pattern),
    name or ("parse rejects " .. string.format("%q", s)))
  if not (r == nil and type(e) == "string" and e:find(pattern)) then t.diag("got ", r, e, c) end
end
parse_fails("2024-13-01", "month 13 is out of range 01%.%.12 at byte 6")
parse_fails("2023-02-29", "day 29 is out of range 01%.%.28 for 2023%-02 at byte 9")
parse_fails("2024-01-01T24:00", "hour 24 is out of range 00%.%.23 at byte 12")
parse_fails("2024-01-01T12:60", "minute 60 .* at byte 15")
parse_fails("2024-01-01T12:00:60Z", "second 60 .*no leap seconds")
parse_fails("2024-01-01T12:00:00Z ", "expected the end after the time at byte 21, found a space")
parse_fails("2024-01-01T12:00:00.1234567891", "more than 9 fractional digits")
parse_fails("", "empty text")
parse_fails("yesterday", "expected a 4%-digit year at byte 1, found 'y'")
parse_fails("2024-01-01\0", "found byte 0x00", nil, "parse rejects an embedded NUL")
parse_fails("1500-01-01", "outside the supported range", "ERANGE")
t.like(select(2, time.parse("2024-13-01")), '^time%.parse: "2024%-13%-01": ', "the message quotes the input")

t.is(time.parse("2024-07-04 09:30", { tz = "America/New_York" }), time.from_utc(2024, 7, 4, 13, 30),
  "parse without offset in New York")
t.is(time.parse("2024-07-04 09:30Z", { tz = "America/New_York" }), time.from_utc(2024, 7, 4, 9, 30),
  "an explicit offset wins over opts.tz")
t.is(time.parse("2024-07-04 09:30", { tz = -300 }), time.from_utc(2024, 7, 4, 14, 30), "opts.tz as minutes")
t.is(select(3, time.parse("2024-03-10 02:30", { tz = "America/New_York" })), "ENONEXISTENT",
  "parse in the New York gap")
t.is(time.parse("2024-03-10 02:30", { tz = "America/New_York", nonexistent = "later" }),
  time.from_utc(2024, 3, 10, 7, 30), "  with nonexistent = later")
t.is(select(3, time.parse("2024-11-03 01:30", { tz = "America/New_York", ambiguous = "error" })), "EAMBIGUOUS",
  "parse in the New York overlap with ambiguous = error")

t.is(time.format(0), "1970-01-01T00:00:00Z", "format epoch")
t.is(time.format(-1), "1969-12-31T23:59:59.999999Z", "format -1: fraction only when needed")
t.is(time.format(-1, { frac = false }), "1969-12-31T23:59:59Z", "frac = false drops it (floor)")
t.is(time.format(0, { frac = true }), "1970-01-01T00:00:00.000000Z", "frac = true always")
t.is(time.format(1710054000 * S, { tz = "America/New_York" }), "2024-03-10T03:00:00-04:00", "New York EDT")
t.is(time.format(1710054000 * S - S, { tz = "America/New_York" }), "2024-03-10T01:59:59-05:00", "New York EST")
t.is(time.format(0, { tz = 330 }), "1970-01-01T05:30:00+05:30", "fixed offset +05:30")
t.is(time.format(0, { tz = 0 }), "1970-01-01T00:00:00+00:00", "fixed offset 0 writes +00:00")
t.is(time.format(0, { tz = "UTC" }), "1970-01-01T00:00:00Z", "UTC writes Z")
t.is(time.format(time.MAX), "2255-06-05T23:47:34.740991Z", "format MAX")
t.is(time.format(time.MIN), "1684-07-28T00:12:25.259009Z", "format MIN")

bad = 0
for u = -time.MAX, time.MAX, 98765432109876.5 * 2 do
  for _, tz in ipairs({ "UTC", "America/New_York", -570, 345 }) do
    if time.parse(time.format(u, { tz = tz })) ~= u then bad = bad + 1 end
  end
end
t.is(bad, 0, "parse(format(us)) == us across the whole range, four zones")

-- ---- misuse raises, with the caller's position ----

-- The message must name the function (given, or matched) and point at this file.
local function raises_here(fn, pattern, name)
  if pattern:sub(1, 6) ~= "time%." then pattern = "time%.[%w_]+: .-" .. pattern end
  t.raises(fn, "test_time%.lua:%d+: " .. pattern, name)
end

local not_times = {
  { nil, "nil" }, { "1", '"1"' }, { {}, "table" }, { true, "boolean" }, { 0 / 0, "nan" },
  { 1 / 0, "inf" }, { -1 / 0, "%-inf" }, { 1.5, "1%.5" }, { 2 ^ 53, "9007199254740992" },
  { -2 ^ 63, "%-9%.22" }, { print, "function" },
}
for _, fname in ipairs({ "ny_offset", "to_ny", "date_utc", "weekday", "format" }) do
  for _, v in ipairs(not_times) do
    raises_here(function() time[fname](v[1]) end, "time%." .. fname .. ": expected a time .* got " .. v[2],
      fname .. "(" .. v[2] .. ") raises")
  end
end
for _, v in ipairs({ { nil, "nil" }, { 42, "42" }, { {}, "table" } }) do
  raises_here(function() time.parse(v[1]) end, "time%.parse: expected a string, got " .. v[2],
    "parse(" .. v[2] .. ") raises")
end

local bad_fields = {
  { { 2024.5, 1, 1 }, "year must be an integer in 0%.%.9999, got 2024%.5" },
  { { "2024", 1, 1 }, 'year must be an integer in 0%.%.9999, got "2024"' },
  { { 2024, 13, 1 }, "month must be an integer in 1%.%.12, got 13" },
  { { 2024, 0 / 0, 1 }, "month must be an integer in 1%.%.12, got nan" },
  { { 2024, 2, 30 }, "day must be an integer in 1%.%.29 for 2024%-02, got 30" },
  { { 2024, 1, nil }, "day must be an integer in 1%.%.31 for 2024%-01, got nil" },
  { { 2024, 1, 1, 24 }, "hour must be an integer in 0%.%.23, got 24" },
  { { 2024, 1, 1, 1 / 0 }, "hour must be an integer in 0%.%.23, got inf" },
  { { 2024, 1, 1, 0, 60 }, "min must be an integer in 0%.%.59, got 60" },
  { { 2024, 1, 1, 0, 0, 60 }, "sec must be an integer in 0%.%.59 %(no leap seconds%), got 60" },
  { { 2024, 1, 1, 0, 0, 0.5 }, "sec must be an integer in 0%.%.59 .*got 0%.5" },
  { { 2024, 1, 1, 0, 0, 0, 1e6 }, "usec must be an integer in 0%.%.999999, got 1000000" },
  { { 2024, 1, 1, 0, 0, 0, -1 }, "usec must be an integer in 0%.%.999999, got %-1" },
}
for _, b in ipairs(bad_fields) do
  local a = b[1]
  raises_here(function() time.from_utc(a[1], a[2], a[3], a[4], a[5], a[6], a[7]) end,
    "time%.from_utc: " .. b[2], "from_utc raises: " .. b[2]:gsub("%%", ""))
  raises_here(function() time.from_ny(a[1], a[2], a[3], a[4], a[5], a[6], a[7]) end,
    "time%.from_ny: " .. b[2], "from_ny raises: " .. b[2]:gsub("%%", ""))
end
raises_here(function() time.from_utc({ year = 2024, month = 1, day = 1, minute = 5 }) end,
  "time%.from_utc: unknown field \"minute\"", "from_utc: a misspelt field raises")
raises_here(function() time.from_ny({ year = 2024, month = 1, day = 1, hours = 5 }) end,
  "time%.from_ny: unknown field \"hours\"", "from_ny: a misspelt field raises")
raises_here(function() time.from_ny({ year = 2024, month = 1, day = 1, dst = 1 }) end,
  "field dst must be a boolean", "from_ny: dst must be a boolean")
raises_here(function() time.from_utc({ year = 2024, month = 1, day = 1 }, 5) end, "too many arguments",
  "from_utc: arguments after the table raise")
raises_here(function() time.from_utc(2024, 1, 1, 0, 0, 0, 0, 0) end, "too many arguments",
  "from_utc: an eighth argument raises")
raises_here(function() time.from_ny(2024, 1, 1, 0, 0, 0, 0, 0) end, "too many arguments",
  "from_ny: a number after usec raises")
raises_here(function() time.from_ny(2024, 1, 1, 0, 0, 0, { ambiguous = "first" }) end,
  'opts%.ambiguous must be "earlier", "later" or "error", got "first"', "from_ny: bad ambiguous")
raises_here(function() time.from_ny(2024, 1, 1, { nonexistent = true }) end,
  'opts%.nonexistent must be "error", "later" or "earlier", got boolean', "from_ny: bad nonexistent")
raises_here(function() time.from_ny(2024, 1, 1, { ambigous = "later" }) end,
  'unknown option "ambigous"', "from_ny: a misspelt option raises")
raises_here(function() time.from_ny({ year = 2024, month = 1, day = 1 }, "later") end,
  "options must be a table", "from_ny: opts must be a table")
raises_here(function() time.format(0, { tz = "EST" }) end,
  'opts%.tz must be "UTC", "America/New_York" or an offset in whole minutes east of UTC %(%-1439%.%.1439%), got "EST"',
  "format: unknown zone name")
raises_here(function() time.format(0, { tz = 1440 }) end, "opts%.tz must be", "format: offset 1440")
raises_here(function() time.format(0, { tz = 0.5 }) end, "opts%.tz must be", "format: fractional offset")
raises_here(function() time.format(0, { frac = "yes" }) end, 'opts%.frac must be true, false or nil, got "yes"',
  "format: bad frac")
raises_here(function() time.format(0, { fraction = true }) end, 'unknown option "fraction"',
  "format: misspelt option")
raises_here(function() time.format(0, "UTC") end, "options must be a table", "format: opts must be a table")
raises_here(function() time.parse("2024-01-01", { tz = "Europe/London" }) end, "opts%.tz must be",
  "parse: unknown zone")
raises_here(function() time.parse("2024-01-01", { zone = "UTC" }) end, 'unknown option "zone"',
  "parse: misspelt option")
raises_here(function() time.weekday(0, "NY") end, "time%.weekday: tz must be", "weekday: bad tz")
raises_here(function() time.ny_transitions(1987.5) end, "year must be an integer", "ny_transitions: bad year")
raises_here(function() time.ny_transitions(nil) end, "year must be an integer", "ny_transitions: nil")

-- ---- hot loops stay correct once JIT-compiled ----

local sum, mism = 0, 0
local t0 = 1704067200 * S -- 2024-01-01
for i = 0, 200000 do
  local u = t0 + i * 157 * S
  local off = time.ny_offset(u)
  sum = sum + off
  local f = u + off * 60 * S
  if time.weekday(u, "America/New_York") ~= time.weekday(f) then mism = mism + 1 end
end
t.is(mism, 0, "ny_offset and weekday agree in a compiled loop")
t.ok(sum < 0, "the loop ran")
local bad_parse = 0
for i = 1, 20000 do
  local s = string.format("2024-%02d-%02dT%02d:%02d:%02d.%06dZ", i % 12 + 1, i % 28 + 1, i % 24, i % 60, i % 59, i)
  local u = time.parse(s)
  if time.format(u, { frac = true }) ~= s then bad_parse = bad_parse + 1 end
end
t.is(bad_parse, 0, "parse and format agree in a compiled loop")

-- The module can be loaded again (ffi.cdef must not redefine its struct).
package.loaded["alluse.time"] = nil
t.lives(function() require("alluse.time") end, "alluse.time reloads")
