-- sma_cross: the classic moving-average crossover, long only.
--
-- When flat and the fast SMA crosses above the slow one, buy `qty` shares; when long
-- and it crosses below, close the position.  A cross is a sign change of
-- fast - slow where a zero difference keeps the previous sign (backtrader's
-- CrossOver), so a tie never counts as a cross.  Market orders: they fill at the
-- next bar's open.
--
--   alluse backtest strategies/examples/sma_cross.lua --data data/SPY-daily.csv \
--     --param fast=20 --param slow=50
local ind = require("alluse.indicators")

local fast, slow, symbol, qty
local last_diff -- the last non-zero fast - slow; nil until both SMAs are warm

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
    last_diff = nil
  end,

  on_bar = function(ctx, bar)
    if bar.symbol ~= symbol then return end
    local f = fast:update(bar.close)
    local s = slow:update(bar.close)
    if s == nil then return end
    local d = f - s
    if last_diff == nil then -- the first bar with both averages: no cross yet
      last_diff = d
      return
    end
    local up = last_diff < 0 and d > 0
    local down = last_diff > 0 and d < 0
    if d ~= 0 then last_diff = d end
    if ctx:position(symbol) == 0 then
      if up then ctx:buy(symbol, qty) end
    elseif down then
      ctx:close(symbol)
    end
  end,
}
