-- dev: one small account, fast replay, evictions allowed.
return {
  namespace = "alluse-dev",
  image = "localhost/alluse:dev",
  accounts = { { name = "gen", cash = 100000, profile = "iai" } },
  speed = "20d/s",
  from = "2022-01-01",
  resources = { requests = { cpu = "100m", memory = "64Mi" }, limits = { cpu = "500m", memory = "192Mi" } },
  monitoring = { interval = "15s" },
}
