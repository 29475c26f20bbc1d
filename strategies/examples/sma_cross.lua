-- sma_cross: the classic moving-average crossover, long only.
--
-- When flat and the fast SMA crosses above the slow one, buy `qty` shares; when long
-- and it crosses below, close the position.  A cross is a sign change of
-- fast - slow where a zero difference keeps the previous sign (backtrader's
-- CrossOver), so a tie never counts as a cross.  Market orders: they fill at the
-- next bar's open.
--
-- Written for the JIT (docs/strategy-api.md, "Fast strategies"): the sign of the
-- difference is computed without a branch, so the only tests made on every bar are
-- ones whose answer rarely changes ("did it cross?"), and the position is asked only
-- when it did.
--
--   alluse backtest strategies/examples/sma_cross.lua --data data/SPY-daily.csv \
--     --param fast=20 --param slow=50
local ind = require("alluse.indicators")

local min, max = math.min, math.max
local fast, slow, symbol, qty
local last_sign -- the sign of the last non-zero fast - slow; nil until both SMAs are warm

return {
  name = "sma_cross",
  description = "SMA crossover: buy qty when fast crosses above slow, close when it crosses below",
  params = { fast = 10, slow = 30, qty = 100, symbol = "" },

  on_start = function(ctx)
    local p = ctx.params
    assert(p.fast >= 1 and p.slow > p.fast, "sma_cross: need 1 <= fast < slow")
    fast, slow = ind.sma(p.fast), ind.sma(p.slow)
    symbol = p.symbol ~= "" and p.symbol or ctx.symbols[1]
    qty = p.qty
    last_sign = nil
  end,

  on_bar = function(ctx, bar)
    if bar.symbol ~= symbol then return end
    local f = fast:update(bar.close)
    local s = slow:update(bar.close)
    if s == nil then return end
    -- -1, 0 or 1: a difference of two prices is 0 or at least 1e-300 in size, so
    -- scaling by 1e300 and clamping gives its sign exactly.
    local sign = min(1, max(-1, (f - s) * 1e300))
    if last_sign == nil then -- the first bar with both averages: no cross yet
      last_sign = sign
      return
    end
    local move = sign - last_sign -- 2: crossed up, -2: crossed down
    if sign ~= 0 then last_sign = sign end
    if move == 2 then
      if ctx:position(symbol) == 0 then ctx:buy(symbol, qty) end
    elseif move == -2 then
      if ctx:position(symbol) ~= 0 then ctx:close(symbol) end
    end
  end,
}
