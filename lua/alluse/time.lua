-- alluse.time: clocks, calendar fields, America/New_York by rule, ISO 8601 text.
--
-- A time is an integer number of microseconds since 1970-01-01T00:00:00Z (a Lua
-- number, exact while |us| <= 2^53 - 1, i.e. 1684-07-28 .. 2255-06-05).  The work is
-- done in core/sys/autime.c through the FFI; this file checks every argument first so
-- misuse raises a clear error (error(msg, 2)) instead of reaching C.  Runtime failures
-- (text that is not a time, a New York wall time that does not exist) return
-- nil, message, code.  See docs/time.md.
local ffi = require("ffi")

local C = ffi.C
local type, tonumber, select, pairs = type, tonumber, select, pairs
local format = string.format

if not pcall(ffi.typeof, "au_time_fields") then
  ffi.cdef([[
typedef struct au_time_fields {
  int year, month, day, hour, min, sec, usec, wday, yday, offset, dst;
} au_time_fields;
]])
end
ffi.cdef([[
int au_ffi_time_now(int64_t *out);
int au_ffi_time_monotonic(int64_t *out);
int au_ffi_time_ny_offset(int64_t us, int *offset_min);
int au_ffi_time_ny_transitions(int year, int64_t *start, int64_t *end);
int au_ffi_time_weekday(int64_t us, int zone, int offset_min, int *wday);
int au_ffi_time_split(int64_t us, int zone, int offset_min, au_time_fields *out);
int au_ffi_time_compose(int year, int month, int day, int hour, int min, int sec, int usec,
                        int zone, int offset_min, int ambiguous, int gap, int64_t *out,
                        char *errmsg, size_t errlen);
int au_ffi_time_parse(const char *s, size_t len, int zone, int offset_min, int ambiguous,
                      int gap, int64_t *out, char *errmsg, size_t errlen);
int au_ffi_time_format(int64_t us, int zone, int offset_min, int frac, char *buf, size_t buflen);
]])

-- Mirrors of autime.h's enums.
local OK, ENONEXISTENT, EAMBIGUOUS = 0, -3, -4
local ZONE_UTC, ZONE_FIXED, ZONE_NY = 0, 1, 2
local AMBIG = { earlier = 0, later = 1, error = 2 }
local GAP = { error = 0, later = 1, earlier = 2 }
local FRAC_NONE, FRAC_ALWAYS, FRAC_AUTO = 0, 1, 2
local OFFSET_MAX = 1439
local NY = "America/New_York"

local MAX_US = 2 ^ 53 - 1
local RANGE_TEXT = "1684-07-28T00:12:25.259009Z .. 2255-06-05T23:47:34.740991Z"

-- Scratch space for results; Lua runs one call at a time, so sharing is safe.
local i64 = ffi.new("int64_t[2]")
local int1 = ffi.new("int[1]")
local fields = ffi.new("au_time_fields")
local ERRLEN = 256
local errbuf = ffi.new("char[?]", ERRLEN)
local FMTLEN = 40 -- AU_TIME_ISO_BUFLEN
local fmtbuf = ffi.new("char[?]", FMTLEN)

local M = {
  SECOND = 1000000,
  MINUTE = 60000000,
  HOUR = 3600000000,
  DAY = 86400000000,
  MIN = -MAX_US,
  MAX = MAX_US,
}

local check = require("alluse.check")
local show, is_int_in = check.show, check.is_int_in

local function is_us(us)
  return type(us) == "number" and us % 1 == 0 and us <= MAX_US and us >= -MAX_US
end

local function us_error(fname, us)
  return format("time.%s: expected a time (integer microseconds within %s), got %s",
    fname, RANGE_TEXT, show(us))
end

local function is_leap(y)
  return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
end

local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- nil when year..usec are valid (nil hour/min/sec/usec mean 0), else why not.
local function fields_error(fname, y, mo, d, h, mi, s, us)
  if not is_int_in(y, 0, 9999) then
    return format("time.%s: year must be an integer in 0..9999, got %s", fname, show(y))
  end
  if not is_int_in(mo, 1, 12) then
    return format("time.%s: month must be an integer in 1..12, got %s", fname, show(mo))
  end
  local dim = DAYS_IN_MONTH[mo] + ((mo == 2 and is_leap(y)) and 1 or 0)
  if not is_int_in(d, 1, dim) then
    return format("time.%s: day must be an integer in 1..%d for %04d-%02d, got %s",
      fname, dim, y, mo, show(d))
  end
  if h ~= nil and not is_int_in(h, 0, 23) then
    return format("time.%s: hour must be an integer in 0..23, got %s", fname, show(h))
  end
  if mi ~= nil and not is_int_in(mi, 0, 59) then
    return format("time.%s: min must be an integer in 0..59, got %s", fname, show(mi))
  end
  if s ~= nil and not is_int_in(s, 0, 59) then
    return format("time.%s: sec must be an integer in 0..59 (no leap seconds), got %s", fname, show(s))
  end
  if us ~= nil and not is_int_in(us, 0, 999999) then
    return format("time.%s: usec must be an integer in 0..999999, got %s", fname, show(us))
  end
  return nil
end

-- opts.tz / a tz argument -> zone, offset, or nil, message.
local function zone_of(fname, what, tz)
  if tz == nil or tz == "UTC" then return ZONE_UTC, 0 end
  if tz == NY then return ZONE_NY, 0 end
  if is_int_in(tz, -OFFSET_MAX, OFFSET_MAX) then return ZONE_FIXED, tz end
  return nil, format('time.%s: %s must be "UTC", "%s" or an offset in whole minutes '
    .. "east of UTC (-%d..%d), got %s", fname, what, NY, OFFSET_MAX, OFFSET_MAX, show(tz))
end

local function check_opts(fname, opts, known)
  if opts == nil then return nil end
  if type(opts) ~= "table" then
    return format("time.%s: options must be a table, got %s", fname, show(opts))
  end
  for k in pairs(opts) do
    if not known[k] then
      return format("time.%s: unknown option %s", fname, show(k))
    end
  end
  return nil
end

-- opts.ambiguous / opts.nonexistent -> the C policy numbers, or nil, message.
local function policies(fname, opts)
  local a, g = "earlier", "error"
  if opts then
    if opts.ambiguous ~= nil then a = opts.ambiguous end
    if opts.nonexistent ~= nil then g = opts.nonexistent end
  end
  local amb, gap = AMBIG[a], GAP[g]
  if amb == nil or type(a) ~= "string" then
    return nil, nil, format('time.%s: opts.ambiguous must be "earlier", "later" or "error", got %s',
      fname, show(a))
  end
  if gap == nil or type(g) ~= "string" then
    return nil, nil, format('time.%s: opts.nonexistent must be "error", "later" or "earlier", got %s',
      fname, show(g))
  end
  return amb, gap
end

local RC_CODE = { [ENONEXISTENT] = "ENONEXISTENT", [EAMBIGUOUS] = "EAMBIGUOUS" }

-- Fields on a clock to a time: us, or nil, message, code (code nil: misuse, raise).
local function compose(fname, zone, offset, amb, gap, y, mo, d, h, mi, s, us)
  local msg = fields_error(fname, y, mo, d, h, mi, s, us)
  if msg then return nil, msg end
  local rc = C.au_ffi_time_compose(y, mo, d, h or 0, mi or 0, s or 0, us or 0, zone, offset,
    amb, gap, i64, errbuf, ERRLEN)
  if rc ~= OK then
    local code = RC_CODE[rc]
    return nil, "time." .. fname .. ": " .. ffi.string(errbuf), code
  end
  local r = tonumber(i64[0])
  if r > MAX_US or r < -MAX_US then
    return nil, format("time.%s: %04d-%02d-%02d is outside the supported range %s", fname, y, mo, d,
      RANGE_TEXT)
  end
  return r
end

local FIELD_NAMES = {
  year = true, month = true, day = true, hour = true, min = true, sec = true, usec = true,
  wday = true, yday = true,
}
local NY_FIELD_NAMES = { offset = true, dst = true }
for k in pairs(FIELD_NAMES) do NY_FIELD_NAMES[k] = true end

local function unknown_field(fname, t, known)
  for k in pairs(t) do
    if not known[k] then
      return format("time.%s: unknown field %s (fields are year, month, day, hour, min, sec, usec)",
        fname, show(k))
    end
  end
  return nil
end

-- ---- clocks ----

-- Wall-clock time now (CLOCK_REALTIME): it can jump when the system clock is set.
function M.now()
  if C.au_ffi_time_now(i64) ~= OK then error("time.now: clock_gettime failed", 2) end
  return tonumber(i64[0])
end

-- Microseconds from an arbitrary start (CLOCK_MONOTONIC), for measuring intervals.
function M.monotonic()
  if C.au_ffi_time_monotonic(i64) ~= OK then error("time.monotonic: clock_gettime failed", 2) end
  return tonumber(i64[0])
end

-- ---- New York ----

-- Offset of New York at us in minutes east of UTC (-300 EST, -240 EDT), and
-- whether it is daylight time.
function M.ny_offset(us)
  if not is_us(us) then error(us_error("ny_offset", us), 2) end
  C.au_ffi_time_ny_offset(us, int1)
  local off = int1[0]
  return off, off == -240
end

-- The instants daylight time starts and ends in year, or nil for a year without
-- it by our rule (before 1967).
function M.ny_transitions(year)
  if not is_int_in(year, 0, 2254) then
    error(format("time.ny_transitions: year must be an integer in 0..2254, got %s", show(year)), 2)
  end
  local rc = C.au_ffi_time_ny_transitions(year, i64, i64 + 1)
  if rc ~= 1 then return nil end
  return tonumber(i64[0]), tonumber(i64[1])
end

local function fields_table(with_zone)
  local t = {
    year = fields.year, month = fields.month, day = fields.day,
    hour = fields.hour, min = fields.min, sec = fields.sec, usec = fields.usec,
    wday = fields.wday, yday = fields.yday,
  }
  if with_zone then
    t.offset = fields.offset
    t.dst = fields.dst ~= 0
  end
  return t
end

-- Fields of us on New York's wall clock, with the offset and DST flag that applied.
function M.to_ny(us)
  if not is_us(us) then error(us_error("to_ny", us), 2) end
  C.au_ffi_time_split(us, ZONE_NY, 0, fields)
  return fields_table(true)
end

local NY_OPTS = { ambiguous = true, nonexistent = true }

-- New York wall time to a time:
--   from_ny(y, m, d [, h [, min [, sec [, usec]]]] [, opts])
--   from_ny({year=, month=, day=, hour=, min=, sec=, usec=, dst=} [, opts])
-- opts.ambiguous = "earlier" (default) | "later" | "error" for fall-back's repeated
-- hour; opts.nonexistent = "error" (default) | "later" | "earlier" for spring-forward's
-- skipped hour.  In the table form, a boolean dst picks the occurrence of a repeated
-- time (true: the EDT one), so from_ny(to_ny(us)) == us always.
-- Returns us, or nil, message, code ("ENONEXISTENT", "EAMBIGUOUS").
function M.from_ny(y, ...)
  local n = select("#", ...)
  local mo, d, h, mi, s, us, opts
  if type(y) == "table" then
    local t = y
    opts = ...
    local msg = n > 1 and "time.from_ny: too many arguments after the fields table"
      or unknown_field("from_ny", t, NY_FIELD_NAMES) or check_opts("from_ny", opts, NY_OPTS)
    if msg then error(msg, 2) end
    y, mo, d, h, mi, s, us = t.year, t.month, t.day, t.hour, t.min, t.sec, t.usec
    local amb, gap, perr = policies("from_ny", opts)
    if perr then error(perr, 2) end
    if t.dst ~= nil then
      if type(t.dst) ~= "boolean" then
        error("time.from_ny: field dst must be a boolean, got " .. show(t.dst), 2)
      end
      amb = t.dst and AMBIG.earlier or AMBIG.later
    end
    local r, err, code = compose("from_ny", ZONE_NY, 0, amb, gap, y, mo, d, h, mi, s, us)
    if r == nil and code == nil then error(err, 2) end
    return r, err, code
  end
  mo, d, h, mi, s, us = ...
  if n > 0 and type((select(n, ...))) == "table" then
    opts = select(n, ...)
    if n == 3 then h = nil elseif n == 4 then mi = nil elseif n == 5 then s = nil
    elseif n == 6 then us = nil end
    n = n - 1
  end
  if n > 6 then error("time.from_ny: too many arguments", 2) end
  local msg = check_opts("from_ny", opts, NY_OPTS)
  if msg then error(msg, 2) end
  local amb, gap, perr = policies("from_ny", opts)
  if perr then error(perr, 2) end
  local r, err, code = compose("from_ny", ZONE_NY, 0, amb, gap, y, mo, d, h, mi, s, us)
  if r == nil and code == nil then error(err, 2) end
  return r, err, code
end

-- ---- UTC fields ----

-- Fields of us in UTC.
function M.date_utc(us)
  if not is_us(us) then error(us_error("date_utc", us), 2) end
  C.au_ffi_time_split(us, ZONE_UTC, 0, fields)
  return fields_table(false)
end

-- UTC fields to a time: from_utc(y, m, d [, h [, min [, sec [, usec]]]]) or
-- from_utc({year=, month=, day=, hour=, min=, sec=, usec=}).
function M.from_utc(y, mo, d, h, mi, s, us, ...)
  if type(y) == "table" then
    local t = y
    local msg = mo ~= nil and "time.from_utc: too many arguments after the fields table"
      or unknown_field("from_utc", t, FIELD_NAMES)
    if msg then error(msg, 2) end
    y, mo, d, h, mi, s, us = t.year, t.month, t.day, t.hour, t.min, t.sec, t.usec
  elseif select("#", ...) > 0 then
    error("time.from_utc: too many arguments", 2)
  end
  local r, err = compose("from_utc", ZONE_UTC, 0, 0, 0, y, mo, d, h, mi, s, us)
  if r == nil then error(err, 2) end
  return r
end

-- ISO weekday (1 Monday .. 7 Sunday) of us on a clock: tz is "UTC" (default),
-- "America/New_York" or an offset in minutes.
function M.weekday(us, tz)
  if not is_us(us) then error(us_error("weekday", us), 2) end
  local zone, offset = zone_of("weekday", "tz", tz)
  if not zone then error(offset, 2) end
  C.au_ffi_time_weekday(us, zone, offset, int1)
  return int1[0]
end

-- ---- ISO 8601 ----

local PARSE_OPTS = { tz = true, ambiguous = true, nonexistent = true }

-- Parse ISO 8601 text (see docs/time.md for the accepted forms).  Text without an
-- offset is read in opts.tz ("UTC" by default; "America/New_York" applies the
-- ambiguous/nonexistent policies as in from_ny).  Returns us, or nil, message, code
-- ("EPARSE", "ERANGE", "ENONEXISTENT", "EAMBIGUOUS").
function M.parse(s, opts)
  if type(s) ~= "string" then
    error("time.parse: expected a string, got " .. show(s), 2)
  end
  local zone, offset, amb, gap = ZONE_UTC, 0, 0, 0
  if opts ~= nil then
    local msg = check_opts("parse", opts, PARSE_OPTS)
    if msg then error(msg, 2) end
    local z, o = zone_of("parse", "opts.tz", opts.tz)
    if not z then error(o, 2) end
    zone, offset = z, o
    local a, g, perr = policies("parse", opts)
    if perr then error(perr, 2) end
    amb, gap = a, g
  end
  local rc = C.au_ffi_time_parse(s, #s, zone, offset, amb, gap, i64, errbuf, ERRLEN)
  if rc ~= OK then
    return nil, format("time.parse: %s: %s", show(s), ffi.string(errbuf)), RC_CODE[rc] or "EPARSE"
  end
  local r = tonumber(i64[0])
  if r > MAX_US or r < -MAX_US then
    return nil, format("time.parse: %s is outside the supported range %s", show(s), RANGE_TEXT),
      "ERANGE"
  end
  return r
end

local FORMAT_OPTS = { tz = true, frac = true }

-- ISO 8601 text of us.  opts.tz: "UTC" (default, written "Z"), "America/New_York"
-- (its offset at us), or a fixed offset in minutes ("+HH:MM").  opts.frac: nil
-- (default) writes ".ffffff" only when the microseconds are not zero, true always,
-- false never (the microseconds are dropped).
function M.format(us, opts)
  if not is_us(us) then error(us_error("format", us), 2) end
  local zone, offset, frac = ZONE_UTC, 0, FRAC_AUTO
  if opts ~= nil then
    local msg = check_opts("format", opts, FORMAT_OPTS)
    if msg then error(msg, 2) end
    local z, o = zone_of("format", "opts.tz", opts.tz)
    if not z then error(o, 2) end
    zone, offset = z, o
    local f = opts.frac
    if f == true then
      frac = FRAC_ALWAYS
    elseif f == false then
      frac = FRAC_NONE
    elseif f ~= nil then
      error("time.format: opts.frac must be true, false or nil, got " .. show(f), 2)
    end
  end
  if C.au_ffi_time_format(us, zone, offset, frac, fmtbuf, FMTLEN) ~= OK then
    error("time.format: cannot format " .. show(us), 2)
  end
  return ffi.string(fmtbuf)
end

return M
