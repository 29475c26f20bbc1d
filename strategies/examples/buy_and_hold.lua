-- buy_and_hold: on the first bar, buy as many whole shares as the cash allows (keeping
-- a small margin for the next bar's open being higher), then hold to the end.
--
--   alluse backtest strategies/examples/buy_and_hold.lua --data data/SPY-daily.csv
return {
  name = "buy_and_hold",
  description = "buy once with (almost) all the cash, hold to the end",
  -- symbol "": the first symbol of the run; reserve: the fraction of cash kept back.
  params = { symbol = "", reserve = 0.02 },

  on_bar = function(ctx, bar)
    local symbol = ctx.params.symbol ~= "" and ctx.params.symbol or ctx.symbols[1]
    if bar.symbol ~= symbol or ctx.state.bought then return end
    local qty = math.floor(ctx:cash() * (1 - ctx.params.reserve) / bar.close)
    if qty < 1 then return end
    local id, err = ctx:buy(symbol, qty)
    if id then
      ctx.state.bought = true
    else
      ctx:log("buy_and_hold: order rejected: " .. err)
    end
  end,
}
