-- prod: three main accounts, paper broker until the live adapters land, day-by-day
-- pace, evictions refused (an operator moves a trading pod on purpose).
return {
  namespace = "alluse-prod",
  image = "registry.example.com/alluse:1.0.0",
  accounts = {
    { name = "gen", cash = 1000000, profile = "iai" },
    { name = "rev", cash = 500000, profile = "iai" },
    { name = "com", cash = 500000, profile = "iai" },
  },
  speed = "1d/s",
  max_unavailable = 0,
  resources = { requests = { cpu = "500m", memory = "128Mi" }, limits = { cpu = "2", memory = "384Mi" } },
  database = { secret = "alluse-prod-db", cidr = "10.20.0.0/16" },
  api_server_cidrs = { "10.0.0.1/32" },
  monitoring = { drawdown = 0.10 },
}
