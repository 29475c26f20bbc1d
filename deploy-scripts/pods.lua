-- The strategy pods: one StatefulSet of one pod per main account, each running
--   alluse run /strategy --broker paper --feed replay:... --session ACCOUNT --stay ...
-- with the database URL and the API token from Secrets, the strategy's files from a
-- content-hashed ConfigMap (a change to them rolls the pods), probes on /healthz and
-- /readyz, a locked-down securityContext, and the namespace, service accounts, RBAC,
-- Services, PodDisruptionBudgets and NetworkPolicy around them.  docs/deploy.md.
local k8s = require("alluse.deploy.k8s")

return function(env, ctx)
  local ns = env.namespace
  local objs = {
    k8s.namespace { name = ns, labels = { ["pod-security.kubernetes.io/enforce"] = "restricted" } },
    -- the pods' identity: no API access, no token mounted
    k8s.service_account { name = "alluse", namespace = ns },
    -- what a CI job's token needs to deploy here (alluse deploy --apply)
    k8s.service_account { name = "alluse-deployer", namespace = ns },
    k8s.role { name = "alluse-deployer", namespace = ns, rules = {
      { apiGroups = { "" }, resources = { "configmaps", "services", "serviceaccounts", "secrets" },
        verbs = { "get", "list", "create", "patch", "update", "delete" } },
      { apiGroups = { "" }, resources = { "pods", "events" }, verbs = { "get", "list" } },
      { apiGroups = { "" }, resources = { "services/proxy" }, verbs = { "get" } },
      { apiGroups = { "apps" }, resources = { "statefulsets", "deployments" },
        verbs = { "get", "list", "create", "patch", "update", "delete" } },
      { apiGroups = { "batch" }, resources = { "jobs", "cronjobs" }, verbs = { "get", "list", "create", "patch", "delete" } },
      { apiGroups = { "policy" }, resources = { "poddisruptionbudgets" }, verbs = { "get", "list", "create", "patch", "delete" } },
      { apiGroups = { "networking.k8s.io" }, resources = { "networkpolicies" },
        verbs = { "get", "list", "create", "patch", "delete" } },
      { apiGroups = { "rbac.authorization.k8s.io" }, resources = { "roles", "rolebindings" },
        verbs = { "get", "list", "create", "patch", "delete" } },
      { apiGroups = { "monitoring.coreos.com" }, resources = { "servicemonitors", "prometheusrules" },
        verbs = { "get", "list", "create", "patch", "delete" } },
      { apiGroups = { "coordination.k8s.io" }, resources = { "leases" }, verbs = { "get", "create", "update", "delete" } },
    } },
    k8s.role_binding { name = "alluse-deployer", namespace = ns, role = "alluse-deployer",
      service_accounts = { "alluse-deployer" } },
  }
  local strategy = k8s.config_map { name = "alluse-strategy", namespace = ns, hashed = true,
    files = k8s.read_files(ctx.root .. "/../" .. env.strategy, "%.lua$"),
    labels = { ["app.kubernetes.io/component"] = "strategy" } }
  objs[#objs + 1] = strategy

  local feed = {}
  for i, t in ipairs(env.tickers) do feed[i] = t .. ":1d" end
  local component = { ["app.kubernetes.io/name"] = "alluse", ["app.kubernetes.io/component"] = "strategy" }
  for _, acct in ipairs(env.accounts) do
    local name = "alluse-" .. acct.name
    local selector = { ["app.kubernetes.io/name"] = "alluse", ["app.kubernetes.io/instance"] = name }
    local labels = { ["app.kubernetes.io/component"] = "strategy", ["alluse.io/account"] = acct.name }
    objs[#objs + 1] = k8s.service { name = name, namespace = ns, headless = true, publish_not_ready = true,
      selector = selector, ports = { http = env.port }, labels = labels }
    objs[#objs + 1] = k8s.statefulset { name = name, namespace = ns, service = name, selector = selector,
      labels = labels, pod_labels = labels, service_account = "alluse",
      grace = env.termination_grace_seconds, anti_affinity = component,
      volumes = { k8s.files_volume("strategy", strategy), { name = "tmp", emptyDir = { medium = "Memory", sizeLimit = "16Mi" } } },
      containers = { k8s.container {
        name = "alluse", image = env.image,
        args = { "run", "/strategy", "--broker", env.broker, "--feed", "replay:" .. table.concat(feed, ","),
          "--from", env.from, "--speed", env.speed, "--cash", tostring(acct.cash),
          "--param", "profile=" .. acct.profile, "--session", acct.name,
          "--listen", "0.0.0.0:" .. env.port, "--control", "/tmp/alluse.sock",
          "--grace", tostring(env.drain_grace_seconds), "--stay" },
        env = {
          k8s.secret_env("ALLUSE_DB", env.database.secret, env.database.key),
          k8s.secret_env("ALLUSE_API_TOKEN", env.api_token.secret, env.api_token.key),
          { name = "ALLUSE_LOG_FORMAT", value = "json" },
        },
        ports = { http = env.port },
        resources = env.resources,
        probes = { liveness = "/healthz", readiness = "/readyz", startup = "/healthz", port = "http" },
        mounts = { { name = "strategy", path = "/strategy", read_only = true }, { name = "tmp", path = "/tmp" } },
      } },
    }
    objs[#objs + 1] = k8s.pod_disruption_budget { name = name, namespace = ns, selector = selector,
      max_unavailable = env.max_unavailable, labels = labels }
  end

  local from = { { pods = component } }
  if env.monitoring.enabled then from[#from + 1] = { namespaces = env.monitoring.namespace_labels } end
  local egress = { { cidr = env.database.cidr, ports = { env.database.port } }, { cidr = "0.0.0.0/0", ports = { 443 } } }
  objs[#objs + 1] = k8s.network_policy { name = "alluse-strategy", namespace = ns, selector = component,
    ingress_from = from, ports = { env.port }, egress = egress }
  if #env.api_server_cidrs > 0 then
    -- the deploy's guard rails ask the pods through the API server's service proxy,
    -- which reaches them from the API server's own addresses
    local servers = {}
    for i, cidr in ipairs(env.api_server_cidrs) do servers[i] = { cidr = cidr } end
    objs[#objs + 1] = k8s.network_policy { name = "alluse-api-server", namespace = ns, selector = component,
      ingress_from = servers, ports = { env.port } }
  end
  return objs
end
