-- Week classification (PROTOCOL §4): the week mode of a ticker (Green, Red, Chop from
-- its weekly move) and the week type of an account's position in it (the 11 codes).
-- Pure functions of numbers: the tests feed them edge cases directly.
local M = {}

M.TYPES = { "P-EW", "P-AWL", "P-RO", "P-AOL", "P-DD", "C-WAP", "C-WAP+", "C-PNO", "C-RO", "C-REC", "W-IDL" }

-- The mode of a week whose underlying moved by `move` (a fraction): Green at or above
-- +threshold, Red at or below -threshold, Chop between; nil without a move.
function M.mode(move, threshold)
  if move == nil then return nil end -- no week to judge by (the first one)
  if move >= threshold - 1e-12 then return "Green" end
  if move <= -threshold + 1e-12 then return "Red" end
  return "Chop"
end

-- How much a mode moves an account's delta band down.
function M.delta_shift(mode, p)
  if mode == "Red" then return p.red_shift end
  if mode == "Chop" then return p.chop_shift end
  return 0
end

-- The type of a week for one account and ticker.
--   w.position: "put" (a short put was held this week), "stock" (shares, with or
--               without a short call), or nil (cash only)
--   w.strike:   the put's or the call's strike (nil: stock without a call)
--   w.price:    the underlying at the week's last close (S)
--   w.move:     S / the previous week's last close - 1 (nil when unknown)
--   w.rolled:   a roll was made this week (the P-RO / P-AOL split)
-- Boundaries: the lower bound of each band is inside it (0.95K <= S < K is P-AWL).
function M.type(w)
  local pos, K, S, move = w.position, w.strike, w.price, w.move
  if pos == "put" then
    if S < 0.85 * K or (move and move < -0.15) then return "P-DD" end
    if S >= K then return "P-EW" end
    if S >= 0.95 * K then return "P-AWL" end
    return w.rolled and "P-RO" or "P-AOL"
  end
  if pos == "stock" then
    move = move or 0
    if move < -0.15 then return "P-DD" end
    if K and S >= K then return move > 0.05 and "C-WAP+" or "C-WAP" end
    if move < -0.10 then return "C-REC" end
    if move < -0.05 then return "C-RO" end
    return "C-PNO"
  end
  return "W-IDL"
end

return M
