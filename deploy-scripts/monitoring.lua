-- Monitoring (Prometheus Operator, monitoring.coreos.com/v1): a ServiceMonitor that
-- scrapes every strategy pod's /metrics, and a PrometheusRule with the alerts a
-- trading desk pages on.  The rule groups pass `promtool check rules`
-- (tests/integration/test_deploy_render.sh).  docs/deploy.md, docs/metrics.md.
local k8s = require("alluse.deploy.k8s")

-- The rules, as data: tests render them into a plain rules file for promtool.
local function groups(env)
  local m = env.monitoring
  local ns = env.namespace
  local sel = string.format('namespace="%s"', ns)
  return {
    { name = "alluse.trading", rules = {
      { alert = "AlluseStrategyHalted", expr = string.format("max by (pod, strategy) (alluse_strategy_halted{%s}) == 1", sel),
        ["for"] = "1m", labels = { severity = "critical" },
        annotations = { summary = "alluse strategy halted in {{ $labels.pod }}",
          description = "The strategy raised or was halted; its open orders were canceled. See the pod's log." } },
      { alert = "AlluseAtrLevel3", expr = string.format("max by (pod, account, ticker) (alluse_protocol_level{%s}) >= 3", sel),
        labels = { severity = "critical" },
        annotations = { summary = "ATR level 3 (preservation) on {{ $labels.account }} {{ $labels.ticker }}",
          description = "The underlying moved 3 ATR against a short option: PROTOCOL.md's level 3 actions apply." } },
      { alert = "AlluseFeedStale",
        expr = string.format("time() - max by (pod, feed) (alluse_feed_last_delivery_timestamp_seconds{%s}) > %d", sel,
          m.feed_stale_seconds),
        ["for"] = "2m", labels = { severity = "warning" },
        annotations = { summary = "the {{ $labels.feed }} feed of {{ $labels.pod }} has delivered nothing for a while" } },
      { alert = "AlluseOrderRejects",
        expr = string.format("sum by (pod, reason) (increase(alluse_order_rejects_total{%s}[15m])) > 0", sel),
        labels = { severity = "warning" },
        annotations = { summary = "{{ $labels.pod }} had orders rejected ({{ $labels.reason }})" } },
      { alert = "AllusePodRestarts",
        expr = string.format('increase(kube_pod_container_status_restarts_total{%s, container="alluse"}[30m]) >= %d', sel,
          m.restarts),
        labels = { severity = "warning" },
        annotations = { summary = "{{ $labels.pod }} restarted {{ $value }} times in 30 minutes" } },
      { alert = "AlluseDrawdown",
        expr = string.format("(max_over_time(alluse_account_equity_dollars{%s}[30d]) - alluse_account_equity_dollars{%s})"
          .. " / max_over_time(alluse_account_equity_dollars{%s}[30d]) > %s", sel, sel, sel, tostring(m.drawdown)),
        ["for"] = "10m", labels = { severity = "warning" },
        annotations = { summary = "account {{ $labels.account }} is {{ $value | humanizePercentage }} below its 30-day high" } },
    } },
  }
end

return function(env)
  if not env.monitoring.enabled then return {} end
  local labels = { release = env.monitoring.prometheus_release }
  return {
    k8s.service_monitor { name = "alluse", namespace = env.namespace, labels = labels, interval = env.monitoring.interval,
      selector = { ["app.kubernetes.io/name"] = "alluse", ["app.kubernetes.io/component"] = "strategy" } },
    k8s.prometheus_rule { name = "alluse", namespace = env.namespace, labels = labels, groups = groups(env) },
  }
end
