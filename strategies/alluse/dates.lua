-- Dates the protocol schedules by: weekdays, the last trading day of a week, quarter
-- starts.  Dates are New York "YYYY-MM-DD" strings (alluse.calendar).
local calendar = require("alluse.calendar")

local M = {}

-- 1 Monday .. 7 Sunday (day number 0, 1970-01-01, was a Thursday).
function M.weekday(date)
  return (calendar.day_number(date) + 3) % 7 + 1
end

-- The Monday of date's week (a day number).
function M.monday(date)
  local dn = calendar.day_number(date)
  return dn - (dn + 3) % 7
end

-- The Monday `weeks` weeks after date's week's Monday, as a date.
function M.monday_in(date, weeks)
  return calendar.date(M.monday(date) + 7 * weeks)
end

-- true when no trading day follows date in its week: the day weekly positions are
-- classified (Friday, or Thursday before a Friday holiday).
function M.last_of_week(date)
  local nxt = calendar.next_trading_day(date)
  return nxt == nil or M.monday(nxt) ~= M.monday(date)
end

-- The quarter of date, as 4 * year + (quarter - 1): a number that changes at each
-- quarter start.
function M.quarter(date)
  local y, m = date:match("^(%d+)-(%d+)")
  return tonumber(y) * 4 + math.floor((tonumber(m) - 1) / 3)
end

function M.year(date)
  return tonumber(date:sub(1, 4))
end

-- Days from date a to date b.
function M.days(a, b)
  return calendar.day_number(b) - calendar.day_number(a)
end

-- "TSLA,NVDA" -> { "TSLA", "NVDA" }; spaces are ignored, repeats dropped.  The
-- same list for the same text (memoised: it is asked on every bar); do not modify it.
local lists = {}
function M.list(text)
  if lists[text] then return lists[text] end
  local out, seen = {}, {}
  lists[text] = out
  for item in text:gmatch("[^,%s]+") do
    if not seen[item] then
      seen[item] = true
      out[#out + 1] = item
    end
  end
  return out
end

return M
