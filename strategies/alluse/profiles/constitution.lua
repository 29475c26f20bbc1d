-- The `constitution` profile: PROTOCOL.md §7, the later redesign.  Only what differs
-- from iai.lua; choose it with --param profile=constitution.
return {
  gen_tickers = "AAPL,MSFT,AMZN,GOOG,SPY,QQQ,IWM",
  gen_delta_min = 0.40, gen_delta_max = 0.45,
  gen_entry_day = 4, gen_dte = 1, gen_dte_min = 0, gen_dte_max = 1,

  rev_tickers = "NVDA,TSLA",
  rev_delta_min = 0.30, rev_delta_max = 0.35,
  -- "3-5 DTE entering Wednesday": with Friday expiries the choice from Wednesday's
  -- close is Friday (2 days) or the Friday after (9); decided: this week's Friday.
  rev_entry_day = 3, rev_dte = 2, rev_dte_min = 2, rev_dte_max = 5,

  com_tickers = "AAPL,MSFT,AMZN,GOOG,SPY,QQQ,IWM",
  com_delta_min = 0.20, com_delta_max = 0.25,
  com_entry_day = 1, com_dte = 4, com_dte_min = 3, com_dte_max = 5,
  com_puts = false,

  atr_period = 5, atr_from = "strike",
  profit_take = 0.65,
  max_symbol_pct = 0.25,

  fork = "main", fork_surplus = 100000,
  merge_years = 3, merge_multiple = 3,
}
