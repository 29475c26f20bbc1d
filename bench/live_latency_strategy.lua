-- The strategy of bench/live_latency.lua.  It keeps one market order working at all
-- times, so every bar fills one: the first bar places a buy, and each fill places the
-- opposite order, which the next bar fills at its open.
return {
  name = "fill_every_bar",
  description = "one market order always working: every bar fills one (a latency bench)",

  on_bar = function(ctx, bar)
    if ctx.state.started then return end
    ctx.state.started = true
    assert(ctx:buy(bar.symbol, 1))
  end,

  on_fill = function(ctx, fill)
    if fill.side == "buy" then
      assert(ctx:sell(fill.symbol, 1))
    else
      assert(ctx:buy(fill.symbol, 1))
    end
  end,
}
