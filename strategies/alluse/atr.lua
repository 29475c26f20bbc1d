-- The ATR protocol's levels (PROTOCOL §3): how far the underlying has moved against a
-- short option, in ATR units, and the level that puts it at.
local M = {}

M.NAMES = { [0] = "normal", [1] = "enhanced", [2] = "recovery", [3] = "preservation" }
M.SEVERITY = { [0] = "info", [1] = "medium", [2] = "high", [3] = "critical" }

-- The adverse move m of a short option, in ATRs.  right "put" | "call"; from "entry"
-- measures from the underlying's price when the option was sold, "strike" from K.
function M.adverse(right, price, entry_price, strike, atr, from)
  if not atr or atr <= 0 then return 0 end
  local ref = from == "strike" and strike or entry_price
  local move = right == "put" and ref - price or price - ref
  return move > 0 and move / atr or 0
end

-- Level 0 (m < 1), 1 (1 <= m < 2), 2 (2 <= m < 3), 3 (m >= 3).
function M.level(m)
  if m >= 3 then return 3 end
  if m >= 2 then return 2 end
  if m >= 1 then return 1 end
  return 0
end

return M
