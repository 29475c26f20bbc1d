-- alluse.check: the argument checks and value display the library's modules share,
-- so every "bad argument" message shows values the same way.
local format = string.format

local M = {}

-- A value as an error message shows it: numbers exactly, strings quoted and cut
-- at 48 bytes, anything else by its type.
function M.show(v)
  local t = type(v)
  if t == "number" then
    if v ~= v then return "nan" end
    local s = format("%.14g", v)
    if tonumber(s) ~= v then s = format("%.17g", v) end
    return s
  elseif t == "string" then
    if #v > 48 then v = v:sub(1, 48) .. "..." end
    return format("%q", v)
  end
  return t
end

-- v is an integer-valued number in lo..hi.
function M.is_int_in(v, lo, hi)
  return type(v) == "number" and v % 1 == 0 and v >= lo and v <= hi
end

return M
