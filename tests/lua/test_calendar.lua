-- alluse.calendar: the NYSE calendar against the shipped daily data (every file, every
-- date), then each rule, observance, special closing, early close, session, expiry,
-- and the argument checking.  Expected dates come from the NYSE's published holiday
-- calendars; instants from GNU date; the data is the judge of which dates trade.
local t = require("alluse.test")
local cal = require("alluse.calendar")
local time = require("alluse.time")

local H = time.HOUR

-- ---- the data: every daily file's dates are exactly the calendar's trading days ----

local function data_dir()
  local src = debug.getinfo(1, "S").source
  local root = src:match("^@(.-)tests/lua/[^/]+$") or ""
  return root .. "data"
end

local function daily_files(dir)
  local files = {}
  local p = io.popen("find '" .. dir:gsub("'", "'\\''") .. "' -maxdepth 1 -name '*-daily.csv' -type f 2>/dev/null | LC_ALL=C sort")
  for line in p:lines() do files[#files + 1] = line end
  p:close()
  return files
end

-- The first column of every row after the header.
local function file_dates(path)
  local dates, header = {}, true
  for line in io.lines(path) do
    if header then
      header = false
    elseif line ~= "" then
      dates[#dates + 1] = line:match("^([^,]*)")
    end
  end
  return dates
end

-- nil when got and want (sorted date lists) are equal, else the first difference.
local function first_difference(got, want, what)
  local n = math.max(#got, #want)
  for i = 1, n do
    local a, b = got[i], want[i]
    if a ~= b then
      if b == nil or (a ~= nil and a < b) then
        local why = cal.holiday_name(a) or cal.day_kind(a)
        return string.format("%s has a row for %s, but the calendar does not trade that day (%s)",
          what, a, why)
      end
      return string.format("the calendar trades on %s, but %s has no row for it (next row: %s)",
        b, what, tostring(a))
    end
  end
  return nil
end

local dir = data_dir()
local files = daily_files(dir)
t.ok(#files >= 11, "found the shipped daily files (" .. #files .. " in " .. dir .. ")")

local union, first_all, last_all = {}, nil, nil
for _, path in ipairs(files) do
  local name = path:match("[^/]+$")
  local dates = file_dates(path)
  local first, last = dates[1], dates[#dates]
  local want = cal.trading_days(first, last)
  local diff = first_difference(dates, want, name)
  local title = string.format("%s: its %d dates %s..%s are exactly the calendar's trading days",
    name, #dates, tostring(first), tostring(last))
  if diff then t.fail(title, diff) else t.pass(title) end
  for _, d in ipairs(dates) do union[d] = true end
  if first_all == nil or first < first_all then first_all = first end
  if last_all == nil or last > last_all then last_all = last end
end

local all = {}
for d in pairs(union) do all[#all + 1] = d end
table.sort(all)
t.ok(first_all <= "2000-01-03" and last_all >= "2026-05-29", "the data spans 2000-01-03 .. 2026-05-29 at least")
local diff = first_difference(all, cal.trading_days(first_all, last_all), "the union of the files")
local title = string.format("the union of all %d dates (%s..%s) is exactly the calendar's trading days",
  #all, first_all, last_all)
if diff then t.fail(title, diff) else t.pass(title) end

-- Per-year counts from the data, year by year (readable when a rule breaks).
local per_year = {}
for _, d in ipairs(all) do
  local y = tonumber(d:sub(1, 4))
  per_year[y] = (per_year[y] or 0) + 1
end
local last_full = tonumber(last_all:sub(1, 4)) - (last_all:sub(6) == "12-31" and 0 or 1)
local bad_years = {}
for y = 2000, last_full do
  local n = cal.count_trading_days(string.format("%d-01-01", y), string.format("%d-12-31", y))
  if n ~= per_year[y] then bad_years[#bad_years + 1] = y .. ": data " .. tostring(per_year[y]) .. ", calendar " .. n end
end
t.is(table.concat(bad_years, "; "), "", "trading days per year 2000.." .. last_full .. " match the data")
t.is(cal.count_trading_days("2000-01-01", "2000-12-31"), 252, "2000 has 252 trading days")
t.is(cal.count_trading_days("2001-01-01", "2001-12-31"), 248, "2001 has 248 (September 11)")
t.is(cal.count_trading_days("2008-01-01", "2008-12-31"), 253, "2008 has 253")
t.is(cal.count_trading_days("2012-01-01", "2012-12-31"), 250, "2012 has 250 (Hurricane Sandy)")
t.is(cal.count_trading_days("2022-01-01", "2022-12-31"), 251, "2022 has 251 (first Juneteenth)")
t.is(cal.count_trading_days("2025-01-01", "2025-12-31"), 250, "2025 has 250 (Carter)")

-- ---- date forms ----

t.is(cal.date("2024-07-03"), "2024-07-03", "text")
t.is(cal.date({ year = 2024, month = 7, day = 3 }), "2024-07-03", "a fields table")
t.is(cal.date({ 2024, 7, 3 }), "2024-07-03", "a {y, m, d} array")
t.is(cal.date(19907), "2024-07-03", "a day number")
t.is(cal.day_number("2024-07-03"), 19907, "day_number")
t.is(cal.day_number("1995-01-01"), 9131, "the first covered day's number")
t.is(cal.date(cal.day_number("2199-12-31")), cal.LAST, "the last covered day round-trips")
t.is(cal.FIRST, "1995-01-01", "FIRST")
t.is(cal.LAST, "2199-12-31", "LAST")
local bar = time.from_ny(2024, 7, 3, 9, 30) -- a daily bar's stamp (DESIGN §4)
t.is(cal.ny_date(bar), "2024-07-03", "ny_date of a daily bar's 09:30 stamp")
t.is(cal.ny_date(time.parse("2024-07-04T03:59:59Z")), "2024-07-03", "ny_date: 23:59:59 EDT is still the 3rd")
t.is(cal.ny_date(time.parse("2024-01-02T04:59:59Z")), "2024-01-01", "ny_date: 23:59:59 EST is still the 1st")
t.is(cal.ny_date(time.parse("2024-01-02T05:00:00Z")), "2024-01-02", "ny_date: 00:00 EST")
t.is(cal.date(time.to_ny(bar)), "2024-07-03", "time.to_ny's table is a date (extra fields ignored)")
t.ok(cal.is_trading_day(time.to_ny(bar)), "... accepted by every function")

-- ---- every holiday rule, with names ----

local holidays = {
  { "2024-01-01", "New Year's Day" },
  { "2023-01-02", "New Year's Day (observed)" },
  { "1998-01-19", "Martin Luther King, Jr. Day" },
  { "2024-01-15", "Martin Luther King, Jr. Day" },
  { "2024-02-19", "Washington's Birthday" },
  { "2024-03-29", "Good Friday" },
  { "2008-03-21", "Good Friday" },
  { "2025-04-18", "Good Friday" },
  { "2024-05-27", "Memorial Day" },
  { "2022-06-20", "Juneteenth National Independence Day (observed)" },
  { "2023-06-19", "Juneteenth National Independence Day" },
  { "2027-06-18", "Juneteenth National Independence Day (observed)" },
  { "2024-07-04", "Independence Day" },
  { "2020-07-03", "Independence Day (observed)" },
  { "2021-07-05", "Independence Day (observed)" },
  { "2024-09-02", "Labor Day" },
  { "2024-11-28", "Thanksgiving Day" },
  { "2024-12-25", "Christmas Day" },
  { "2021-12-24", "Christmas Day (observed)" },
  { "2022-12-26", "Christmas Day (observed)" },
}
for _, h in ipairs(holidays) do
  t.is(cal.holiday_name(h[1]), h[2], h[1] .. ": " .. h[2])
  t.is(cal.is_trading_day(h[1]), false, h[1] .. " does not trade")
end

local open_days = {
  { "2021-12-31", "New Year's Day 2022 falls on a Saturday: not observed, Friday trades" },
  { "2010-12-31", "New Year's Day 2011 on a Saturday: Friday trades" },
  { "1999-12-31", "New Year's Day 2000 on a Saturday: Friday trades" },
  { "1997-01-20", "MLK Day before 1998" },
  { "2021-06-18", "Juneteenth before 2022" },
  { "2022-06-17", "the Friday before Juneteenth 2022 (a Sunday)" },
  { "2024-10-14", "Columbus Day" },
  { "2024-11-11", "Veterans Day" },
  { "2024-04-01", "Easter Monday" },
}
for _, d in ipairs(open_days) do
  t.ok(cal.is_trading_day(d[1]) and cal.holiday_name(d[1]) == nil, d[1] .. " trades: " .. d[2])
end
t.is(cal.holiday_name("2022-01-01"), nil, "a Saturday holiday that is not observed has no name: weekend")
t.is(cal.holiday_name("2024-07-06"), nil, "weekends are not holidays")
t.is(cal.day_kind("2024-07-06"), "weekend", "day_kind weekend")
t.is(cal.day_kind("2024-07-04"), "holiday", "day_kind holiday")
t.is(cal.day_kind("2024-07-03"), "early", "day_kind early")
t.is(cal.day_kind("2024-07-05"), "full", "day_kind full")
t.is(cal.day_kind("2012-10-29"), "special", "day_kind special")

-- ---- special closings ----

local specials = {
  { "2001-09-11", "September 11 attacks" }, { "2001-09-12", "September 11 attacks" },
  { "2001-09-13", "September 11 attacks" }, { "2001-09-14", "September 11 attacks" },
  { "2004-06-11", "National Day of Mourning for President Ronald Reagan" },
  { "2007-01-02", "National Day of Mourning for President Gerald R. Ford" },
  { "2012-10-29", "Hurricane Sandy" }, { "2012-10-30", "Hurricane Sandy" },
  { "2018-12-05", "National Day of Mourning for President George H. W. Bush" },
  { "2025-01-09", "National Day of Mourning for President Jimmy Carter" },
}
for _, s in ipairs(specials) do
  t.ok(not cal.is_trading_day(s[1]) and cal.holiday_name(s[1]) == s[2], s[1] .. " closed: " .. s[2])
end
t.is(cal.next_trading_day("2001-09-10"), "2001-09-17", "after 2001-09-10 the next session is 09-17")
t.is(cal.previous_trading_day("2012-10-31"), "2012-10-26", "before the Sandy reopening: 10-26")

-- ---- early closes ----

local earlies = {
  { "2023-07-03", "Day before Independence Day", "July 4 on a Tuesday" },
  { "2018-07-03", "Day before Independence Day", "July 4 on a Wednesday" },
  { "2025-07-03", "Day before Independence Day", "July 4 on a Friday" },
  { "2024-07-03", "Day before Independence Day", "July 4 on a Thursday, from 2013" },
  { "2002-07-05", "Day after Independence Day", "July 4 on a Thursday, before 2013" },
  { "2024-11-29", "Day after Thanksgiving", "" },
  { "2024-12-24", "Christmas Eve", "a Tuesday" },
  { "2003-12-26", "Day after Christmas", "announced by the NYSE" },
}
for _, e in ipairs(earlies) do
  local yes, why = cal.is_early_close(e[1])
  t.ok(yes == true and why == e[2], e[1] .. " closes at 13:00: " .. e[2] .. " " .. e[3])
end
local fulls = {
  { "2022-07-01", "July 4 on a Monday: no early close" },
  { "2020-07-02", "July 4 on a Saturday: no early close" },
  { "2021-07-02", "July 4 on a Sunday: no early close" },
  { "2002-07-03", "the Wednesday before a Thursday July 4 before 2013" },
  { "2024-07-05", "the Friday after a Thursday July 4 from 2013" },
  { "2022-12-23", "Christmas Eve on a Saturday: Friday is a full day" },
  { "2024-12-31", "New Year's Eve" },
  { "2008-12-26", "the Friday after a Thursday Christmas (2008)" },
}
for _, f in ipairs(fulls) do
  t.is(cal.is_early_close(f[1]), false, f[1] .. " is a full day: " .. f[2])
end
t.is(cal.is_early_close("2024-12-25"), false, "a holiday is not an early close")
t.is(select("#", cal.is_early_close("2024-12-23")), 1, "a full day returns just false")

-- ---- sessions ----

local function session_is(d, open_iso, close_iso, name)
  local o, c = cal.session(d)
  t.ok(o == time.parse(open_iso) and c == time.parse(close_iso), "session " .. d .. ": " .. name)
end
session_is("2024-01-02", "2024-01-02T14:30:00Z", "2024-01-02T21:00:00Z", "EST")
session_is("2024-07-01", "2024-07-01T13:30:00Z", "2024-07-01T20:00:00Z", "EDT")
session_is("2024-03-08", "2024-03-08T14:30:00Z", "2024-03-08T21:00:00Z", "the Friday before DST starts")
session_is("2024-03-11", "2024-03-11T13:30:00Z", "2024-03-11T20:00:00Z", "the Monday after")
session_is("2024-11-01", "2024-11-01T13:30:00Z", "2024-11-01T20:00:00Z", "the Friday before DST ends")
session_is("2024-11-04", "2024-11-04T14:30:00Z", "2024-11-04T21:00:00Z", "the Monday after")
session_is("2024-07-03", "2024-07-03T13:30:00Z", "2024-07-03T17:00:00Z", "early close, EDT")
session_is("2024-11-29", "2024-11-29T14:30:00Z", "2024-11-29T18:00:00Z", "early close, EST")
local o, c = cal.session(cal.day_number("2024-07-03"))
t.is(o, time.from_ny(2024, 7, 3, 9, 30), "session open is 09:30 New York (time.from_ny)")
t.is(c, time.from_ny(2024, 7, 3, 13, 0), "early close is 13:00 New York")
t.is_deeply({ cal.session("2024-12-25") }, { nil, "not a trading day" }, "session on a holiday")
t.is_deeply({ cal.session("2024-07-06") }, { nil, "not a trading day" }, "session on a Saturday")

-- ---- stepping and ranges ----

t.is(cal.next_trading_day("2024-07-03"), "2024-07-05", "next over Independence Day")
t.is(cal.next_trading_day("2024-08-31"), "2024-09-03", "next from a Saturday over Labor Day")
t.is(cal.previous_trading_day("2024-04-01"), "2024-03-28", "previous over Easter and Good Friday")
t.is(cal.previous_trading_day("2022-01-03"), "2021-12-31", "previous: the open New Year's Eve 2021")
t.is(cal.next_trading_day("2024-12-25"), "2024-12-26", "next from a holiday")
local n, e, code = cal.next_trading_day(cal.LAST)
t.ok(n == nil and code == "ERANGE" and e:find("outside the calendar"), "next past the end: nil, message, ERANGE")
n, e, code = cal.previous_trading_day("1995-01-03")
t.ok(n == nil and code == "ERANGE", "previous before the first covered trading day: ERANGE")
t.is_deeply(cal.trading_days("2024-12-20", "2025-01-03"), {
  "2024-12-20", "2024-12-23", "2024-12-24", "2024-12-26", "2024-12-27", "2024-12-30", "2024-12-31",
  "2025-01-02", "2025-01-03",
}, "trading_days over Christmas and New Year")
t.is_deeply(cal.trading_days("2024-07-06", "2024-07-07"), {}, "trading_days of a weekend: empty")
t.is_deeply(cal.trading_days("2024-07-08", "2024-07-01"), {}, "trading_days from > to: empty")
t.is(cal.count_trading_days("2024-07-08", "2024-07-01"), 0, "count from > to: 0")
t.is(cal.count_trading_days("2024-07-05", "2024-07-05"), 1, "count of one trading day")
t.is(#cal.trading_days(cal.FIRST, cal.LAST), cal.count_trading_days(cal.FIRST, cal.LAST),
  "the whole calendar lists as many days as it counts")

-- ---- expiries ----

local weeks = {
  { "2024-06-10", "2024-06-14", "an ordinary week" },
  { "2024-06-16", "2024-06-14", "a Sunday belongs to the week before (ISO weeks)" },
  { "2024-03-25", "2024-03-28", "Good Friday week: Thursday" },
  { "2020-06-29", "2020-07-02", "Friday July 3, 2020 observed: Thursday" },
  { "2022-06-15", "2022-06-17", "the week before Juneteenth 2022: Friday June 17" },
  { "2022-06-20", "2022-06-24", "Juneteenth 2022 observed on Monday: Friday" },
  { "2026-06-19", "2026-06-18", "Juneteenth 2026 on a Friday: Thursday" },
  { "2001-09-13", "2001-09-10", "September 2001: Monday" },
}
for _, w in ipairs(weeks) do
  t.is(cal.weekly_expiry(w[1]), w[2], "weekly expiry, week of " .. w[1] .. ": " .. w[3])
end
n, e, code = cal.weekly_expiry(cal.FIRST)
t.ok(n == nil and code == "ERANGE", "the week of 1995-01-01 ends in 1994: ERANGE")
t.is(cal.monthly_expiry(2024, 1), "2024-01-19", "monthly: third Friday")
t.is(cal.monthly_expiry(2008, 3), "2008-03-20", "monthly: Good Friday on the third Friday, Thursday")
t.is(cal.monthly_expiry(2022, 4), "2022-04-14", "monthly: Good Friday 2022")
t.is(cal.monthly_expiry(2026, 6), "2026-06-18", "monthly: Juneteenth 2026 on the third Friday")
t.is(cal.monthly_expiry(2020, 6), "2020-06-19", "monthly: June 19, 2020 still traded")

-- ---- a year's closed days ----

local h2022 = cal.holidays(2022)
t.is(#h2022, 9, "2022: nine closed weekdays (New Year's Day fell on a Saturday)")
t.is_deeply(h2022[5], { date = "2022-06-20", name = "Juneteenth National Independence Day",
  observed = true, special = false }, "... Juneteenth observed")
local h2001 = cal.holidays(2001)
t.is(#h2001, 13, "2001: nine holidays and four special closings")
t.is_deeply(h2001[8], { date = "2001-09-11", name = "September 11 attacks", observed = false, special = true },
  "... the first special closing")

-- ---- misuse raises, with messages naming the function and the value ----

t.raises(function() cal.is_trading_day("2023-02-30") end,
  'calendar.is_trading_day: "2023%-02%-30" is not a date: day 30 is out of range 1..28 for 2023%-02',
  "2023-02-30 is not a date")
t.raises(function() cal.is_trading_day("2024-7-3") end, "is not a date: expected a date as YYYY%-MM%-DD",
  "unpadded text")
t.raises(function() cal.is_trading_day("2024-07-03T09:30:00Z") end, "is not a date", "a date-time string")
t.raises(function() cal.is_trading_day(" 2024-07-03") end, "is not a date", "leading space")
t.raises(function() cal.session("1990-01-02") end,
  "calendar.session: 1990%-01%-02 is outside the calendar %(1995%-01%-01 .. 2199%-12%-31%)", "before 1995")
t.raises(function() cal.is_trading_day("2200-01-02") end, "outside the calendar", "after 2199")
t.raises(function() cal.is_trading_day({ year = 2023, month = 2, day = 29 }) end,
  "calendar.is_trading_day: not a date: day 29 is out of range 1..28 for 2023%-02", "a table with Feb 29, 2023")
t.raises(function() cal.is_trading_day({ year = 2024, month = 13, day = 1 }) end,
  "month must be an integer in 1..12, got 13", "month 13 in a table")
t.raises(function() cal.is_trading_day({ year = "2024", month = 1, day = 2 }) end,
  'year must be an integer in 0..9999, got "2024"', "a string year in a table")
t.raises(function() cal.is_trading_day({}) end, "year must be an integer", "an empty table")
t.raises(function() cal.is_trading_day(19907.5) end, "a day number must be an integer", "a fractional day number")
t.raises(function() cal.is_trading_day(0 / 0) end, "got nan", "NaN")
t.raises(function() cal.is_trading_day(math.huge) end, "a day number must be an integer", "infinity")
t.raises(function() cal.is_trading_day(bar) end, "a time in microseconds%? calendar.ny_date", "a time hints at ny_date")
t.raises(function() cal.is_trading_day(2024, 7, 3) end, "expected one date", "three numbers")
t.raises(function() cal.is_trading_day() end, "expected a date %(", "no argument")
t.raises(function() cal.is_trading_day(true) end, "got boolean", "a boolean")
t.raises(function() cal.trading_days("2024-01-01") end, "trading_days: expected a date", "trading_days without to")
t.raises(function() cal.count_trading_days("2024-01-01", "2024-13-01") end, "count_trading_days: .*month 13",
  "count_trading_days with a bad end")
t.raises(function() cal.monthly_expiry(2024, 13) end, "month must be an integer in 1..12, got 13", "month 13")
t.raises(function() cal.monthly_expiry(1990, 1) end, "year must be an integer in 1995..2199", "year 1990")
t.raises(function() cal.monthly_expiry("2024", 1) end, 'got "2024"', "a string year")
t.raises(function() cal.holidays(2024.5) end, "year must be an integer", "holidays, fractional year")
t.raises(function() cal.ny_date("2024-07-03") end, "expected a time", "ny_date wants a time")
t.raises(function() cal.ny_date(2 ^ 60) end, "expected a time", "ny_date beyond 2^53")
t.raises(function() cal.date(string.rep("9", 1000)) end, "got 1000 characters", "a long string")
local ok_, err = pcall(cal.holiday_name, "nope")
t.like(err, "^calendar.holiday_name: ", "errors name the function")
local line
ok_, err = pcall(function() line = debug.getinfo(1, "l").currentline; cal.weekly_expiry({}) end)
t.like(err, "test_calendar.lua:" .. line .. ":", "errors point at the caller's line")

-- Junk into every function: each call returns or raises, never crashes.
local junk = { nil, false, true, 0, -1, 1.5, 2 ^ 63, -(2 ^ 63), 0 / 0, math.huge, "", "\0\255",
  "%s%n", {}, { year = {} }, setmetatable({}, { __index = function() error("trap") end }),
  function() end, coroutine.create(function() end), io.stdout }
local calls = 0
for name, fn in pairs(cal) do
  if type(fn) == "function" then
    for i = 1, #junk + 1 do
      local a = junk[i]
      pcall(fn, a); pcall(fn, a, a); pcall(fn, "2024-07-03", a); pcall(fn, 2024, a); pcall(fn, a, "2024-07-03")
      calls = calls + 5
    end
  end
end
t.ok(calls > 0, "every function survived " .. calls .. " calls with junk")
