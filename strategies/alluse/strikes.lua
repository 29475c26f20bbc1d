-- Strike selection (PROTOCOL §2): the expiry closest to the target days to expiry
-- within the allowed range, then the listed strike whose |delta| is closest to the
-- middle of the delta band, inside the band.
local M = {}

local abs = math.abs

-- list: contracts as ctx:chain gives them ({symbol, expiry, dte, right, strike, bid,
-- ask, mid, delta, ...}).  want: right, dte, dte_min, dte_max, delta_min, delta_max,
-- and optionally min_strike (a covered call not below the shares' cost).
-- The contract, or nil and why not.
function M.choose(list, want)
  local best_dte
  for _, c in ipairs(list) do
    if c.right == want.right and c.dte >= want.dte_min and c.dte <= want.dte_max then
      local gap = abs(c.dte - want.dte)
      if best_dte == nil or gap < abs(best_dte - want.dte) or (gap == abs(best_dte - want.dte) and c.dte > best_dte) then
        best_dte = c.dte
      end
    end
  end
  if not best_dte then
    return nil, string.format("no %s expiry %d-%d days out", want.right, want.dte_min, want.dte_max)
  end
  local mid = (want.delta_min + want.delta_max) / 2
  local best, gap
  for _, c in ipairs(list) do
    if c.right == want.right and c.dte == best_dte and c.delta and c.bid and c.bid > 0 then
      local d = abs(c.delta)
      if d >= want.delta_min - 1e-12 and d <= want.delta_max + 1e-12
          and (not want.min_strike or c.strike >= want.min_strike - 1e-9) then
        local g = abs(d - mid)
        if best == nil or g < gap - 1e-12 then best, gap = c, g end
      end
    end
  end
  if not best then
    return nil, string.format("no %s strike with |delta| in %.2f-%.2f%s", want.right, want.delta_min, want.delta_max,
      want.min_strike and string.format(" at or above %.2f", want.min_strike) or "")
  end
  return best
end

-- The same choice through ctx:pick, which prices a handful of contracts instead of
-- listing the chain: the expiry closest to want.dte (it must fall in the range), the
-- strike closest to the band's middle (it must fall in the band).  With min_strike,
-- a closer strike below it gives way to the lowest listed at or above it (|delta|
-- only moves away from the middle going up).  The contract, or nil and why not.
function M.pick(ctx, ticker, want)
  local mid = (want.delta_min + want.delta_max) / 2
  local c, err = ctx:pick(ticker, { right = want.right, delta = mid, dte = want.dte })
  if not c then return nil, err end
  if c.dte < want.dte_min or c.dte > want.dte_max then
    return nil, string.format("no %s expiry %d-%d days out", want.right, want.dte_min, want.dte_max)
  end
  if want.min_strike and c.strike < want.min_strike - 1e-9 then
    local list = ctx:chain(ticker, { right = want.right, expiry = c.expiry, min_strike = want.min_strike,
      max_strike = want.min_strike * 1.25 })
    c = list and list[1]
    if not c then
      return nil, string.format("no %s strike at or above %.2f", want.right, want.min_strike)
    end
  end
  local d = c.delta and abs(c.delta)
  if not d or d < want.delta_min - 1e-12 or d > want.delta_max + 1e-12 then
    return nil, string.format("no %s strike with |delta| in %.2f-%.2f%s", want.right, want.delta_min,
      want.delta_max, want.min_strike and string.format(" at or above %.2f", want.min_strike) or "")
  end
  if not (c.bid and c.bid > 0) then return nil, "no bid for " .. c.symbol end
  return c
end

-- The delta band of an account kind after the week mode's shift, kept at or above the
-- kind's floor (the "allowed" lower end).
function M.band(p, kind, shift)
  local lo, hi = p[kind .. "_delta_min"] - shift, p[kind .. "_delta_max"] - shift
  local floor = p[kind .. "_delta_floor"]
  if lo < floor then lo = floor end
  if hi < lo then hi = lo end
  return lo, hi
end

return M
