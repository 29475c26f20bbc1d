-- alluse.calendar: the NYSE trading calendar by rule — trading days, holidays, early
-- closes, session times and option expiry dates.
--
-- The rules are in core/md/calendar.c, reached through the FFI; this file turns the
-- accepted date forms into day numbers, checks every argument first so misuse raises a
-- clear error (error(msg, 2)) instead of reaching C, and turns day numbers back into
-- "YYYY-MM-DD" text.  See docs/calendar.md.
--
-- A date argument is any of:
--   "2024-07-03"                       text, exactly YYYY-MM-DD
--   {year = 2024, month = 7, day = 3}  a table with those fields (other fields, as in
--                                      time.to_ny's result, are ignored), or {2024, 7, 3}
--   19907                              a day number: days since 1970-01-01
-- Dates are New York calendar dates.  Returned dates are always "YYYY-MM-DD" text.
local ffi = require("ffi")

local C = ffi.C
local type, select, tonumber, error, pcall = type, select, tonumber, error, pcall
local min = math.min
local format = string.format

if not pcall(ffi.typeof, "md_cal_day") then
  ffi.cdef([[
typedef struct md_cal_day { int kind, reason, observed; } md_cal_day;
typedef struct md_cal_closed { int64_t day; int kind, reason, observed; } md_cal_closed;
]])
end
ffi.cdef([[
int au_ffi_cal_parse(const char *s, size_t len, int64_t *day, char *errmsg, size_t errlen);
int au_ffi_cal_from_civil(int year, int month, int day, int64_t *out, char *errmsg,
                          size_t errlen);
int au_ffi_cal_format(int64_t day, char *buf, size_t buflen);
int au_ffi_cal_ny_date(int64_t us, int64_t *day);
int au_ffi_cal_classify(int64_t day, md_cal_day *out);
int au_ffi_cal_next(int64_t day, int64_t *out);
int au_ffi_cal_previous(int64_t day, int64_t *out);
int au_ffi_cal_trading_days(int64_t from, int64_t to, int64_t *out, int64_t cap,
                            int64_t *count);
int au_ffi_cal_session(int64_t day, int64_t *open_us, int64_t *close_us);
int au_ffi_cal_weekly_expiry(int64_t day, int64_t *out);
int au_ffi_cal_monthly_expiry(int year, int month, int64_t *out);
int au_ffi_cal_holidays(int year, md_cal_closed *out, int64_t cap, int64_t *count);
const char *au_ffi_cal_reason_name(int reason);
]])

-- Mirrors of calendar.h.
local OK, ERANGE, ECLOSED = 0, -2, -3
local FULL, EARLY, WEEKEND, HOLIDAY, SPECIAL = 0, 1, 2, 3, 4
local KIND_NAME = { [FULL] = "full", [EARLY] = "early", [WEEKEND] = "weekend",
  [HOLIDAY] = "holiday", [SPECIAL] = "special" }
local YEAR_MIN, YEAR_MAX = 1995, 2199
local DAY_MIN, DAY_MAX = 9131, 84005
local FIRST, LAST = "1995-01-01", "2199-12-31"
local RANGE_TEXT = FIRST .. " .. " .. LAST
local MAX_US = 2 ^ 53 - 1

-- Scratch space; Lua runs one call at a time, so sharing is safe.
local i64 = ffi.new("int64_t[2]")
local cday = ffi.new("md_cal_day")
local ERRLEN = 160
local errbuf = ffi.new("char[?]", ERRLEN)
local DATELEN = 11 -- MD_CAL_DATE_BUFLEN
local datebuf = ffi.new("char[?]", DATELEN)

local M = {
  FIRST = FIRST, -- the first date the calendar covers
  LAST = LAST,   -- the last
}

local check = require("alluse.check")
local show, is_int_in = check.show, check.is_int_in

local function text(day)
  C.au_ffi_cal_format(day, datebuf, DATELEN)
  return ffi.string(datebuf, 10)
end

local DATE_FORMS = '"YYYY-MM-DD", {year=, month=, day=} or a day number'

-- Any accepted date form to a day number inside the calendar, or nil, message.
local function day_of(fname, v)
  local t = type(v)
  local day
  if t == "string" then
    if C.au_ffi_cal_parse(v, #v, i64, errbuf, ERRLEN) ~= OK then
      return nil, format("calendar.%s: %s is not a date: %s", fname, show(v), ffi.string(errbuf))
    end
    day = tonumber(i64[0])
  elseif t == "table" then
    local y, mo, d = v.year, v.month, v.day
    if y == nil and mo == nil and d == nil then y, mo, d = v[1], v[2], v[3] end
    if not is_int_in(y, 0, 9999) then
      return nil, format("calendar.%s: the date's year must be an integer in 0..9999, got %s",
        fname, show(y))
    end
    if not is_int_in(mo, 1, 12) then
      return nil, format("calendar.%s: the date's month must be an integer in 1..12, got %s",
        fname, show(mo))
    end
    if not is_int_in(d, 1, 31) then
      return nil, format("calendar.%s: the date's day must be an integer in 1..31, got %s",
        fname, show(d))
    end
    if C.au_ffi_cal_from_civil(y, mo, d, i64, errbuf, ERRLEN) ~= OK then
      return nil, format("calendar.%s: not a date: %s", fname, ffi.string(errbuf))
    end
    day = tonumber(i64[0])
  elseif t == "number" then
    if v % 1 ~= 0 or not (v >= DAY_MIN and v <= DAY_MAX) then
      local hint = (v == v and v % 1 == 0 and (v > 1e11 or v < -1e11))
        and " (a time in microseconds? calendar.ny_date(us) gives its date)" or ""
      return nil, format("calendar.%s: a day number must be an integer in %d..%d (%s), got %s%s",
        fname, DAY_MIN, DAY_MAX, RANGE_TEXT, show(v), hint)
    end
    return v
  else
    return nil, format("calendar.%s: expected a date (%s), got %s", fname, DATE_FORMS, show(v))
  end
  if day < DAY_MIN or day > DAY_MAX then
    return nil, format("calendar.%s: %s is outside the calendar (%s)", fname, text(day), RANGE_TEXT)
  end
  return day
end

local function one_date(fname, date, n)
  if n > 0 then
    return nil, format("calendar.%s: expected one date (%s), got %d arguments", fname, DATE_FORMS,
      n + 1)
  end
  return day_of(fname, date)
end

local function classify(day)
  C.au_ffi_cal_classify(day, cday)
  return cday.kind, cday.reason, cday.observed ~= 0
end

local function reason_name(reason)
  return ffi.string(C.au_ffi_cal_reason_name(reason))
end

-- ---- dates ----

-- The date in any accepted form as "YYYY-MM-DD".
function M.date(date, ...)
  local day, err = one_date("date", date, select("#", ...))
  if not day then error(err, 2) end
  return text(day)
end

-- The date as a day number (days since 1970-01-01): the fast form to pass back in.
function M.day_number(date, ...)
  local day, err = one_date("day_number", date, select("#", ...))
  if not day then error(err, 2) end
  return day
end

-- The New York calendar date of a time (µs since the epoch), e.g. of a bar's time.
function M.ny_date(us, ...)
  if select("#", ...) > 0 then error("calendar.ny_date: expected one time, got more arguments", 2) end
  if not (type(us) == "number" and us % 1 == 0 and us <= MAX_US and us >= -MAX_US) then
    error("calendar.ny_date: expected a time (integer microseconds since the epoch), got " .. show(us), 2)
  end
  C.au_ffi_cal_ny_date(us, i64)
  return text(i64[0])
end

-- ---- days ----

function M.is_trading_day(date, ...)
  local day, err = one_date("is_trading_day", date, select("#", ...))
  if not day then error(err, 2) end
  local kind = classify(day)
  return kind == FULL or kind == EARLY
end

-- true and the reason ("Day after Thanksgiving") on a 13:00 close, else false.
function M.is_early_close(date, ...)
  local day, err = one_date("is_early_close", date, select("#", ...))
  if not day then error(err, 2) end
  local kind, reason = classify(day)
  if kind ~= EARLY then return false end
  return true, reason_name(reason)
end

-- Why a weekday is closed ("Good Friday", "Christmas Day (observed)", "Hurricane
-- Sandy"), or nil for trading days and weekends.
function M.holiday_name(date, ...)
  local day, err = one_date("holiday_name", date, select("#", ...))
  if not day then error(err, 2) end
  local kind, reason, observed = classify(day)
  if kind ~= HOLIDAY and kind ~= SPECIAL then return nil end
  local name = reason_name(reason)
  return observed and name .. " (observed)" or name
end

-- "full", "early", "weekend", "holiday" or "special" (a one-off closing).
function M.day_kind(date, ...)
  local day, err = one_date("day_kind", date, select("#", ...))
  if not day then error(err, 2) end
  return KIND_NAME[(classify(day))]
end

local function beyond(fname, what)
  return nil, format("calendar.%s: %s is outside the calendar (%s)", fname, what, RANGE_TEXT), "ERANGE"
end

-- The first trading day strictly after date, or nil, message, "ERANGE" past the end.
function M.next_trading_day(date, ...)
  local day, err = one_date("next_trading_day", date, select("#", ...))
  if not day then error(err, 2) end
  if C.au_ffi_cal_next(day, i64) ~= OK then
    return beyond("next_trading_day", "the trading day after " .. text(day))
  end
  return text(i64[0])
end

-- The last trading day strictly before date, or nil, message, "ERANGE".
function M.previous_trading_day(date, ...)
  local day, err = one_date("previous_trading_day", date, select("#", ...))
  if not day then error(err, 2) end
  if C.au_ffi_cal_previous(day, i64) ~= OK then
    return beyond("previous_trading_day", "the trading day before " .. text(day))
  end
  return text(i64[0])
end

local function range_of(fname, from, to, n)
  if n > 0 then return nil, nil, format("calendar.%s: expected two dates, got more arguments", fname) end
  local a, err = day_of(fname, from)
  if not a then return nil, nil, err end
  local b, err2 = day_of(fname, to)
  if not b then return nil, nil, err2 end
  return a, b
end

-- The trading days from..to, both included, as a list of "YYYY-MM-DD" (empty when
-- from is after to).
function M.trading_days(from, to, ...)
  local a, b, err = range_of("trading_days", from, to, select("#", ...))
  if not a then error(err, 2) end
  local out = {}
  if a > b then return out end
  local cap = b - a + 1
  local buf = ffi.new("int64_t[?]", cap)
  C.au_ffi_cal_trading_days(a, b, buf, cap, i64)
  for i = 0, tonumber(i64[0]) - 1 do out[i + 1] = text(buf[i]) end
  return out
end

-- How many trading days from..to, both included (0 when from is after to).
function M.count_trading_days(from, to, ...)
  local a, b, err = range_of("count_trading_days", from, to, select("#", ...))
  if not a then error(err, 2) end
  if a > b then return 0 end
  C.au_ffi_cal_trading_days(a, b, nil, 0, i64)
  return tonumber(i64[0])
end

-- The regular session: open_us, close_us (09:30 and 16:00, or 13:00 on an early
-- close, New York time, as µs since the epoch), or nil, "not a trading day".
function M.session(date, ...)
  local day, err = one_date("session", date, select("#", ...))
  if not day then error(err, 2) end
  if C.au_ffi_cal_session(day, i64, i64 + 1) ~= OK then return nil, "not a trading day" end
  return tonumber(i64[0]), tonumber(i64[1])
end

-- ---- expiries ----

-- The expiry of the Monday..Sunday week containing date: its Friday, or the last
-- trading day before it that week when the Friday is closed.  nil, message, code
-- ("ERANGE" past the calendar's ends, "ECLOSED" for a week without a trading day).
function M.weekly_expiry(date, ...)
  local day, err = one_date("weekly_expiry", date, select("#", ...))
  if not day then error(err, 2) end
  local rc = C.au_ffi_cal_weekly_expiry(day, i64)
  if rc == ERANGE then return beyond("weekly_expiry", "the Friday of the week of " .. text(day)) end
  if rc == ECLOSED then
    return nil, "calendar.weekly_expiry: the week of " .. text(day) .. " has no trading day", "ECLOSED"
  end
  return text(i64[0])
end

-- The monthly expiry of year-month: the third Friday, or the last trading day before
-- it when that Friday is closed.
function M.monthly_expiry(year, month, ...)
  if select("#", ...) > 0 then
    error("calendar.monthly_expiry: expected a year and a month, got more arguments", 2)
  end
  if not is_int_in(year, YEAR_MIN, YEAR_MAX) then
    error(format("calendar.monthly_expiry: year must be an integer in %d..%d, got %s",
      YEAR_MIN, YEAR_MAX, show(year)), 2)
  end
  if not is_int_in(month, 1, 12) then
    error(format("calendar.monthly_expiry: month must be an integer in 1..12, got %s", show(month)), 2)
  end
  local rc = C.au_ffi_cal_monthly_expiry(year, month, i64)
  if rc ~= OK then
    -- Cannot happen for a year inside the calendar: a third Friday's week always trades.
    return nil, format("calendar.monthly_expiry: no expiry for %04d-%02d", year, month), "ECLOSED"
  end
  return text(i64[0])
end

-- ---- years ----

-- The closed weekdays of year in date order: {date =, name =, observed =, special =}.
-- name is the holiday's own name; observed is true when it falls on another date
-- (a weekend) and is kept on this one; special marks one-off closings.
function M.holidays(year, ...)
  if select("#", ...) > 0 then error("calendar.holidays: expected a year, got more arguments", 2) end
  if not is_int_in(year, YEAR_MIN, YEAR_MAX) then
    error(format("calendar.holidays: year must be an integer in %d..%d, got %s",
      YEAR_MIN, YEAR_MAX, show(year)), 2)
  end
  local cap = 32
  local buf = ffi.new("md_cal_closed[?]", cap)
  C.au_ffi_cal_holidays(year, buf, cap, i64)
  local out = {}
  for i = 0, min(tonumber(i64[0]), cap) - 1 do
    local h = buf[i]
    out[i + 1] = {
      date = text(h.day),
      name = reason_name(h.reason),
      observed = h.observed ~= 0,
      special = h.kind == SPECIAL,
    }
  end
  return out
end

return M
