-- The `iai` profile (the default): PROTOCOL.md §1-§5 as the all_use_iai_project
-- documents fix them.  Every number of the protocol is here; init.lua takes these as
-- its param defaults, so each is also a `--param NAME=VALUE`.  docs/protocol.md
-- explains each rule and the decisions behind it.
return {
  -- §1 capital: the split of a main account and each account's cash buffer.
  split_gen = 0.40, split_rev = 0.30, split_com = 0.30,
  buffer = 0.05,

  -- §2 Gen-Acc: 0-1 DTE cash-secured puts, decided Thursday at the close, filled at
  -- Friday's open, expiring at Friday's close; the wheel on assignment.
  gen_tickers = "TSLA,NVDA",
  gen_delta_min = 0.40, gen_delta_max = 0.50, gen_delta_floor = 0.35,
  gen_entry_day = 4, -- 1 Monday .. 5 Friday: the day whose close decides the entry
  gen_dte = 1, gen_dte_min = 0, gen_dte_max = 1,
  gen_floor = 0.015, -- premium / cash secured, else the week is skipped
  gen_size = 0.95,   -- of deployable cash, split equally over the tickers
  gen_target_min = 0.015, gen_target_max = 0.02,
  gen_profit_take = false,

  -- Rev-Acc: ~7 DTE puts, decided Friday at the close (after that day's expiries).
  rev_tickers = "AAPL,MSFT,AMZN,GOOG",
  rev_delta_min = 0.30, rev_delta_max = 0.40, rev_delta_floor = 0.25,
  rev_entry_day = 5,
  rev_dte = 7, rev_dte_min = 5, rev_dte_max = 9,
  rev_floor = 0.01,
  rev_size = 0.95,
  rev_target_min = 0.01, rev_target_max = 0.015,
  rev_profit_take = true,

  -- Com-Acc: 30-45 DTE covered calls on held shares, puts with idle cash; Monday.
  com_tickers = "AAPL,MSFT,AMZN,GOOG,META,NVDA,TSLA",
  com_delta_min = 0.20, com_delta_max = 0.30, com_delta_floor = 0.15,
  com_entry_day = 1,
  com_dte = 37, com_dte_min = 30, com_dte_max = 45,
  com_floor = 0,
  com_size = 0.95,
  com_target_min = 0.005, com_target_max = 0.005,
  com_profit_take = true,
  com_puts = true, -- puts only with idle cash

  -- §2 week mode shifts the delta band, never the size.
  mode_threshold = 0.015, red_shift = 0.05, chop_shift = 0.10,

  -- §3 ATR protocol.
  atr_period = 14,
  atr_from = "entry", -- adverse move measured from the underlying at entry ("strike": from K)
  profit_take = 0.65, -- buy back when this share of the premium has decayed
  breaker_losses = 3, breaker_daily_dd = 0.05,
  alarm_gen = 0.15, alarm_rev = 0.10, alarm_com = 0.07,
  max_symbol_pct = 1.0, -- of an account's value in one underlying (1: no limit)

  -- §5 lifecycle.
  fork = "children", -- Gen forks into a Gen and a Com child ("main": a mini main account)
  fork_surplus = 50000, fork_child_gen = 25000, fork_child_com = 25000,
  rev_fork_surplus = 500000,
  merge_at = 500000,
  merge_years = 0, merge_multiple = 0, -- mini mains (constitution): merge after N years or N x
  reinvest_shares = 0.75, reinvest_leaps = 0.25,
  leaps_dte = 547, leaps_dte_min = 365, leaps_dte_max = 730,
  leaps_delta_min = 0.70, leaps_delta_max = 0.80,
  tax_rate_st = 0.30, tax_rate_lt = 0.15,
}
