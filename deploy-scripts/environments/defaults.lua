-- The settings every environment starts from; environments/NAME.lua overrides any of
-- them (maps merge key by key, lists replace).  See docs/deploy.md.
return {
  namespace = "alluse",
  -- the image `make image` builds, pushed to your registry; --image overrides it
  image = "registry.example.com/alluse:latest",
  -- One pod (a StatefulSet of 1) per main account of the ALL-USE protocol: the unit
  -- of scaling (PROTOCOL.md §1).  profile: the strategy's params profile.
  accounts = {
    { name = "gen", cash = 500000, profile = "iai" },
  },
  strategy = "strategies/alluse", -- shipped in a ConfigMap, mounted at /strategy
  -- The replay feed reads these bars from the database's bars table
  -- (alluse data import ... --db), so a pod needs no data volume.
  tickers = { "AAPL", "AMZN", "GOOG", "IWM", "META", "MSFT", "NVDA", "QQQ", "SPY", "TSLA" },
  from = "2015-01-01",
  speed = "1d/s",
  broker = "paper",
  -- Secrets are referred to, never rendered: create them out of band
  -- (kubectl create secret generic alluse-db --from-literal=url=postgres://...).
  database = { secret = "alluse-db", key = "url", cidr = "10.0.0.0/8", port = 5432 },
  api_token = { secret = "alluse-api", key = "token" },
  port = 8080,
  -- a drain (SIGTERM) must finish within --grace; the pod's grace period is longer
  drain_grace_seconds = 40,
  termination_grace_seconds = 60,
  resources = {
    requests = { cpu = "250m", memory = "96Mi" },
    limits = { cpu = "1", memory = "256Mi" },
  },
  -- voluntary evictions (node drains): 0 refuses them, so an operator moves a
  -- trading pod on purpose; 1 allows them
  max_unavailable = 1,
  monitoring = {
    enabled = true,
    namespace_labels = { ["kubernetes.io/metadata.name"] = "monitoring" },
    interval = "30s",
    prometheus_release = "prometheus", -- the label the Prometheus Operator selects rules by
    feed_stale_seconds = 300,
    drawdown = 0.15,
    restarts = 3,
  },
  reports = { schedule = "30 22 * * 1-5", time_zone = "America/New_York" },
  -- API server addresses allowed to reach the pods' API (the deploy's guard rails go
  -- through the API server's service proxy); empty: only the namespace and monitoring
  api_server_cidrs = {},
}
