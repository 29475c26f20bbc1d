-- alluse.deploy.k8s: Kubernetes objects for a strategy fleet, as plain Lua tables
-- that render to YAML or JSON (docs/deploy.md).
--
--   local k8s = require("alluse.deploy.k8s")
--   local cm = k8s.config_map{ name = "strategy", namespace = "trading", files = { ["init.lua"] = src }, hashed = true }
--   local sts = k8s.statefulset{ name = "gen", namespace = "trading", service = "gen",
--     containers = { k8s.container{ name = "alluse", image = img, args = {...} } } }
--
-- Each builder checks what a manifest needs before a cluster would (names, required
-- fields, label syntax) and raises an error that names the deploy script's file and
-- line, not this file's.  Secret values never pass through here: a Secret is only
-- ever referred to (k8s.secret_env, k8s.secret_volume).
local json = require("alluse.json")
local crypto = require("alluse.crypto")

local format, type, pairs, ipairs, tostring = string.format, type, pairs, ipairs, tostring
local array = json.array

local M = {}

local THIS = debug.getinfo(1, "S").source

-- "file:line: " of the first caller outside this module: where the script said it.
local function where()
  for level = 2, 40 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source ~= THIS and info.currentline and info.currentline > 0 and info.what ~= "C" then
      return info.short_src .. ":" .. info.currentline .. ": "
    end
  end
  return ""
end

local function fail(fmt, ...)
  error(where() .. format(fmt, ...), 0)
end
M.fail = fail

local function need(spec, builder, field, kind)
  local v = spec[field]
  if v == nil then fail("%s: '%s' is required", builder, field) end
  if kind and type(v) ~= kind then fail("%s: '%s' must be a %s, got %s", builder, field, kind, type(v)) end
  return v
end

local function known(spec, builder, fields)
  if type(spec) ~= "table" then fail("%s: expects a table of fields", builder) end
  for k in pairs(spec) do
    if not fields[k] then
      local names = {}
      for f in pairs(fields) do names[#names + 1] = f end
      table.sort(names)
      fail("%s: unknown field '%s' (known: %s)", builder, tostring(k), table.concat(names, ", "))
    end
  end
end

local function set_of(list)
  local out = {}
  for _, v in ipairs(list) do out[v] = true end
  return out
end

-- ---- names and labels (the rules of the API server's validation) ----

-- RFC 1123 label: what Namespaces, Services and a pod's hostname must be.
local function is_label_name(s)
  return type(s) == "string" and #s >= 1 and #s <= 63 and s:match("^[a-z0-9][-a-z0-9]*$") ~= nil
    and s:match("[a-z0-9]$") ~= nil
end

-- A label's name part or value: alphanumerics, '-', '_', '.', starting and ending with
-- an alphanumeric, at most 63 characters.
local function is_label_word(s)
  return #s <= 63 and s:match("^[A-Za-z0-9][-A-Za-z0-9_.]*$") ~= nil and s:match("[A-Za-z0-9]$") ~= nil
end

-- RFC 1123 subdomain: most other object names.
local function is_subdomain(s)
  if type(s) ~= "string" or #s < 1 or #s > 253 then return false end
  for part in (s .. "."):gmatch("([^.]*)%.") do
    if not is_label_name(part) then return false end
  end
  return true
end

local function check_name(builder, name, label_only)
  if type(name) ~= "string" then fail("%s: name must be a string", builder) end
  local ok = label_only and is_label_name(name) or (not label_only and is_subdomain(name))
  if not ok then
    fail("%s: name '%s' is not a valid Kubernetes name (lowercase letters, digits and '-'%s, at most %d characters)",
      builder, name, label_only and "" or " or '.'", label_only and 63 or 253)
  end
  return name
end
M.is_subdomain, M.is_label_name = is_subdomain, is_label_name

-- A label key (optional DNS prefix "/" name) and value, as the API server checks them.
local function check_label(builder, k, v)
  local prefix, name = k:match("^(.+)/(.+)$")
  name = name or k
  if prefix and not is_subdomain(prefix) then fail("%s: label key '%s': bad prefix", builder, k) end
  if not is_label_word(name) then
    fail("%s: label key '%s' is not valid", builder, k)
  end
  if type(v) ~= "string" then fail("%s: label '%s' must be a string, got %s", builder, k, type(v)) end
  if not (v == "" or is_label_word(v)) then
    fail("%s: label '%s' has an invalid value '%s' (at most 63 letters, digits, '-', '_', '.')", builder, k, v)
  end
end

local function copy_map(builder, t, what, check)
  if t == nil then return nil end
  if type(t) ~= "table" then fail("%s: %s must be a table", builder, what) end
  local out = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" then fail("%s: %s keys must be strings", builder, what) end
    if check then check(builder, k, v) elseif type(v) ~= "string" then
      fail("%s: %s['%s'] must be a string, got %s", builder, what, k, type(v))
    end
    out[k] = v
  end
  return out
end

-- metadata: name, namespace (unless cluster-scoped), labels, annotations.
local function metadata(builder, spec, opts)
  opts = opts or {}
  local md = { name = check_name(builder, need(spec, builder, "name"), opts.label_name) }
  if not opts.cluster then md.namespace = check_name(builder, need(spec, builder, "namespace"), true) end
  md.labels = copy_map(builder, spec.labels, "labels", check_label) or {}
  md.labels["app.kubernetes.io/name"] = md.labels["app.kubernetes.io/name"] or "alluse"
  md.annotations = copy_map(builder, spec.annotations, "annotations")
  return md
end

local function object(api, kind, md, body)
  local o = { apiVersion = api, kind = kind, metadata = md }
  for k, v in pairs(body or {}) do o[k] = v end
  return o
end

local function list(builder, v, what)
  if v == nil then return array({}) end
  if type(v) ~= "table" then fail("%s: %s must be a list", builder, what) end
  local out = array({})
  for i, x in ipairs(v) do out[i] = x end
  return out
end

-- ---- the kinds ----

local COMMON = { name = true, namespace = true, labels = true, annotations = true }
local function fields(extra)
  local out = {}
  for k in pairs(COMMON) do out[k] = true end
  for _, k in ipairs(extra) do out[k] = true end
  return out
end

function M.namespace(spec)
  known(spec, "k8s.namespace", fields({}))
  return object("v1", "Namespace", metadata("k8s.namespace", spec, { cluster = true, label_name = true }))
end

function M.service_account(spec)
  known(spec, "k8s.service_account", fields({ "automount" }))
  return object("v1", "ServiceAccount", metadata("k8s.service_account", spec),
    { automountServiceAccountToken = spec.automount == true })
end

-- rules: { { apiGroups = {""}, resources = {"leases"}, verbs = {"get"} }, ... }
function M.role(spec)
  known(spec, "k8s.role", fields({ "rules" }))
  local rules = array({})
  for i, r in ipairs(need(spec, "k8s.role", "rules", "table")) do
    rules[i] = { apiGroups = list("k8s.role", r.apiGroups or { "" }, "apiGroups"),
      resources = list("k8s.role", r.resources, "resources"), verbs = list("k8s.role", r.verbs, "verbs"),
      resourceNames = r.resourceNames and list("k8s.role", r.resourceNames, "resourceNames") or nil }
    if #rules[i].verbs == 0 or #rules[i].resources == 0 then fail("k8s.role: rule %d needs resources and verbs", i) end
  end
  return object("rbac.authorization.k8s.io/v1", "Role", metadata("k8s.role", spec), { rules = rules })
end

-- role: the Role's name; service_accounts: names in the same namespace.
function M.role_binding(spec)
  known(spec, "k8s.role_binding", fields({ "role", "service_accounts" }))
  local md = metadata("k8s.role_binding", spec)
  local subjects = array({})
  for i, sa in ipairs(need(spec, "k8s.role_binding", "service_accounts", "table")) do
    subjects[i] = { kind = "ServiceAccount", name = check_name("k8s.role_binding", sa), namespace = md.namespace }
  end
  return object("rbac.authorization.k8s.io/v1", "RoleBinding", md, {
    roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = "Role",
      name = check_name("k8s.role_binding", need(spec, "k8s.role_binding", "role", "string")) },
    subjects = subjects,
  })
end

-- A ConfigMap key: what the API server allows ([-._a-zA-Z0-9]+).  A file path
-- "lib/x.lua" becomes "lib__x.lua"; k8s.files_volume maps it back.
function M.config_key(path)
  local key = path:gsub("/", "__")
  if not key:match("^[-._%w]+$") or #key > 253 then fail("k8s.config_map: '%s' cannot be a ConfigMap key", path) end
  return key
end

-- The content hash of a ConfigMap's data, for its name: a change makes a new name, so
-- the pods that mount it roll (kustomize's configMapGenerator does the same).
local function data_hash(data)
  local keys = {}
  for k in pairs(data) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = #k .. ":" .. k .. #data[k] .. ":" .. data[k] end
  return crypto.sha256_hex(table.concat(parts)):sub(1, 10)
end

-- data: key -> text; files: path -> text (keys made by config_key); hashed: name gets
-- "-" .. the content hash.
function M.config_map(spec)
  known(spec, "k8s.config_map", fields({ "data", "files", "hashed" }))
  local data = copy_map("k8s.config_map", spec.data, "data") or {}
  for path, text in pairs(spec.files or {}) do
    if type(text) ~= "string" then fail("k8s.config_map: files['%s'] must be a string", tostring(path)) end
    data[M.config_key(path)] = text
  end
  local md = metadata("k8s.config_map", spec)
  local size = 0
  for k, v in pairs(data) do size = size + #k + #v end
  if size > 1000000 then fail("k8s.config_map: %s holds %d bytes, over the 1 MiB a ConfigMap may hold", md.name, size) end
  if spec.hashed then md.name = check_name("k8s.config_map", md.name .. "-" .. data_hash(data)) end
  return object("v1", "ConfigMap", md, { data = data })
end

-- Reads the files of a folder (or one file) into a files table for config_map:
-- relative path -> content, in a stable order.  Only regular files; dotfiles skipped.
function M.read_files(root, pattern)
  local out = {}
  for _, path in ipairs(require("alluse.fs").files(root, { hidden = false })) do
    local rel = path == root and path:match("([^/]+)$") or path:sub(#root + 2)
    if not pattern or rel:match(pattern) then
      local f = assert(io.open(path, "rb"))
      out[rel] = f:read("*a")
      f:close()
    end
  end
  if next(out) == nil then fail("k8s.read_files: no files under '%s'", root) end
  return out
end

-- A volume of a ConfigMap whose keys came from file paths: each key is mounted at its
-- path again.
function M.files_volume(name, cm)
  local items = array({})
  local keys = {}
  for k in pairs(cm.data) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do items[#items + 1] = { key = k, path = (k:gsub("__", "/")) } end
  return { name = name, configMap = { name = cm.metadata.name, items = items } }
end

-- An environment variable read from a Secret: the value never appears in a manifest.
function M.secret_env(name, secret, key, optional)
  if not (type(name) == "string" and type(secret) == "string" and type(key) == "string") then
    fail("k8s.secret_env(name, secret, key): three strings")
  end
  return { name = name, valueFrom = { secretKeyRef = { name = check_name("k8s.secret_env", secret), key = key,
    optional = optional or nil } } }
end

function M.secret_volume(name, secret)
  return { name = name, secret = { secretName = check_name("k8s.secret_volume", secret) } }
end

-- The securityContext every alluse container runs with (DESIGN §7): non-root 65532,
-- read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault
-- seccomp.
function M.restricted_security()
  return {
    runAsNonRoot = true, runAsUser = 65532, runAsGroup = 65532, readOnlyRootFilesystem = true,
    allowPrivilegeEscalation = false, capabilities = { drop = array({ "ALL" }) },
    seccompProfile = { type = "RuntimeDefault" },
  }
end

local function probe(path, port, period, failures)
  return { httpGet = { path = path, port = port }, periodSeconds = period, failureThreshold = failures,
    timeoutSeconds = 2 }
end

-- A container.  env: list of { name, value } or secret_env entries; ports: { name =
-- port }; probes = { liveness = "/healthz", readiness = "/readyz", port = "http" }.
local CONTAINER = set_of({ "name", "image", "command", "args", "env", "ports", "resources", "probes", "mounts",
  "security", "pull_policy", "working_dir" })
function M.container(spec)
  known(spec, "k8s.container", CONTAINER)
  local c = {
    name = check_name("k8s.container", need(spec, "k8s.container", "name", "string"), true),
    image = need(spec, "k8s.container", "image", "string"),
    imagePullPolicy = spec.pull_policy or "IfNotPresent",
    command = spec.command and list("k8s.container", spec.command, "command") or nil,
    args = spec.args and list("k8s.container", spec.args, "args") or nil,
    workingDir = spec.working_dir,
    securityContext = spec.security or M.restricted_security(),
  }
  if c.image:match("%s") or c.image == "" then fail("k8s.container: image '%s' is not an image reference", c.image) end
  if spec.env then
    c.env = array({})
    for i, e in ipairs(spec.env) do
      if type(e) ~= "table" or type(e.name) ~= "string" then fail("k8s.container: env[%d] needs a name", i) end
      if e.value ~= nil and type(e.value) ~= "string" then fail("k8s.container: env %s: value must be a string", e.name) end
      c.env[i] = e
    end
  end
  if spec.ports then
    c.ports = array({})
    local names = {}
    for n in pairs(spec.ports) do names[#names + 1] = n end
    table.sort(names)
    for _, n in ipairs(names) do
      local port = spec.ports[n]
      if type(port) ~= "number" or port < 1 or port > 65535 or port % 1 ~= 0 then
        fail("k8s.container: port %s must be 1..65535", n)
      end
      if #n > 15 then fail("k8s.container: port name '%s' is longer than 15 characters", n) end
      c.ports[#c.ports + 1] = { name = n, containerPort = port, protocol = "TCP" }
    end
  end
  if spec.resources then
    local r = spec.resources
    if not (r.requests and r.limits) then fail("k8s.container: resources needs requests and limits") end
    c.resources = { requests = r.requests, limits = r.limits }
  end
  if spec.probes then
    local p = spec.probes
    local port = p.port or "http"
    if p.liveness then c.livenessProbe = probe(p.liveness, port, p.period or 10, p.failures or 3) end
    if p.readiness then c.readinessProbe = probe(p.readiness, port, p.period or 5, p.failures or 3) end
    if p.startup then c.startupProbe = probe(p.startup, port, 5, p.startup_failures or 60) end
  end
  if spec.mounts then
    c.volumeMounts = array({})
    for i, m in ipairs(spec.mounts) do
      c.volumeMounts[i] = { name = need(m, "k8s.container mounts", "name", "string"),
        mountPath = need(m, "k8s.container mounts", "path", "string"), readOnly = m.read_only or nil }
    end
  end
  return c
end

-- The pod template shared by the workloads.
local POD = { "containers", "volumes", "service_account", "automount_token", "grace", "anti_affinity", "node_selector", "init_containers",
  "pod_labels", "pod_annotations", "restart_policy" }
local function pod_template(builder, spec, selector)
  local containers = need(spec, builder, "containers", "table")
  if #containers == 0 then fail("%s: containers must list at least one", builder) end
  local labels = {}
  for k, v in pairs(selector) do labels[k] = v end
  for k, v in pairs(copy_map(builder, spec.pod_labels, "pod_labels", check_label) or {}) do labels[k] = v end
  local ps = {
    serviceAccountName = spec.service_account,
    -- no API token in the pod unless asked: the strategy pods never call the API server
    automountServiceAccountToken = spec.automount_token == true,
    terminationGracePeriodSeconds = spec.grace,
    containers = list(builder, containers, "containers"),
    initContainers = spec.init_containers and list(builder, spec.init_containers, "init_containers") or nil,
    volumes = spec.volumes and list(builder, spec.volumes, "volumes") or nil,
    nodeSelector = spec.node_selector,
    restartPolicy = spec.restart_policy,
    securityContext = { runAsNonRoot = true, runAsUser = 65532, runAsGroup = 65532, fsGroup = 65532,
      seccompProfile = { type = "RuntimeDefault" } },
  }
  if spec.anti_affinity then
    -- spread the replicas (or the accounts' pods) across zones when the scheduler can
    ps.affinity = { podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution = array({
      { weight = 100, podAffinityTerm = { topologyKey = "topology.kubernetes.io/zone",
        labelSelector = { matchLabels = spec.anti_affinity } } } }) } }
  end
  return { metadata = { labels = labels, annotations = spec.pod_annotations }, spec = ps }
end

local function selector_of(builder, spec, md)
  local sel = spec.selector or { ["app.kubernetes.io/name"] = md.labels["app.kubernetes.io/name"],
    ["app.kubernetes.io/instance"] = md.name }
  copy_map(builder, sel, "selector", check_label)
  for k, v in pairs(sel) do md.labels[k] = md.labels[k] or v end
  return sel
end

-- One pod per main account: a StatefulSet of 1 (stable name, ordered shutdown, never
-- two copies: OrderedReady and the PostgreSQL advisory lock; see DESIGN §7).
function M.statefulset(spec)
  known(spec, "k8s.statefulset", fields({ "replicas", "service", "selector", unpack(POD) }))
  local md = metadata("k8s.statefulset", spec, { label_name = true })
  local sel = selector_of("k8s.statefulset", spec, md)
  return object("apps/v1", "StatefulSet", md, { spec = {
    replicas = spec.replicas or 1, serviceName = need(spec, "k8s.statefulset", "service", "string"),
    podManagementPolicy = "OrderedReady", updateStrategy = { type = "RollingUpdate" },
    selector = { matchLabels = sel }, template = pod_template("k8s.statefulset", spec, sel),
  } })
end

-- A Deployment that never runs two pods at once: strategy Recreate.
function M.deployment(spec)
  known(spec, "k8s.deployment", fields({ "replicas", "selector", unpack(POD) }))
  local md = metadata("k8s.deployment", spec)
  local sel = selector_of("k8s.deployment", spec, md)
  return object("apps/v1", "Deployment", md, { spec = {
    replicas = spec.replicas or 1, strategy = { type = "Recreate" }, revisionHistoryLimit = 5,
    selector = { matchLabels = sel }, template = pod_template("k8s.deployment", spec, sel),
  } })
end

-- ports: { name = port }; selector: the pods' labels.
function M.service(spec)
  known(spec, "k8s.service", fields({ "ports", "selector", "headless", "publish_not_ready" }))
  local md = metadata("k8s.service", spec, { label_name = true })
  local ports = array({})
  local names = {}
  for n in pairs(need(spec, "k8s.service", "ports", "table")) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do ports[#ports + 1] = { name = n, port = spec.ports[n], targetPort = n, protocol = "TCP" } end
  return object("v1", "Service", md, { spec = {
    selector = copy_map("k8s.service", need(spec, "k8s.service", "selector", "table"), "selector", check_label),
    ports = ports, clusterIP = spec.headless and "None" or nil, type = "ClusterIP",
    -- a halted or draining pod is not ready, yet Prometheus must still scrape it
    publishNotReadyAddresses = spec.publish_not_ready or nil,
  } })
end

function M.pod_disruption_budget(spec)
  known(spec, "k8s.pod_disruption_budget", fields({ "selector", "max_unavailable", "min_available" }))
  local md = metadata("k8s.pod_disruption_budget", spec)
  return object("policy/v1", "PodDisruptionBudget", md, { spec = {
    selector = { matchLabels = copy_map("k8s.pod_disruption_budget",
      need(spec, "k8s.pod_disruption_budget", "selector", "table"), "selector", check_label) },
    maxUnavailable = spec.min_available == nil and (spec.max_unavailable or 0) or nil,
    minAvailable = spec.min_available,
  } })
end

-- ingress_from: list of { pods = labels }, { namespaces = labels } or { cidr = "..." }
-- allowed to reach `ports`; egress (optional: without it this policy leaves egress
-- alone): list of { cidr = "0.0.0.0/0", ports = { 443 } }, DNS always allowed.
function M.network_policy(spec)
  known(spec, "k8s.network_policy", fields({ "selector", "ingress_from", "ports", "egress" }))
  local md = metadata("k8s.network_policy", spec)
  local from = array({})
  for i, f in ipairs(spec.ingress_from or {}) do
    from[i] = { podSelector = f.pods and { matchLabels = f.pods } or nil,
      namespaceSelector = f.namespaces and { matchLabels = f.namespaces } or nil,
      ipBlock = f.cidr and { cidr = f.cidr } or nil }
    if not (f.pods or f.namespaces or f.cidr) then fail("k8s.network_policy: ingress_from[%d] needs pods, namespaces or cidr", i) end
  end
  local ports = array({})
  for i, p in ipairs(spec.ports or {}) do ports[i] = { port = p, protocol = "TCP" } end
  local out = { spec = {
    podSelector = { matchLabels = copy_map("k8s.network_policy", need(spec, "k8s.network_policy", "selector", "table"),
      "selector", check_label) },
    policyTypes = array({ "Ingress" }),
    ingress = array({ { from = #from > 0 and from or nil, ports = #ports > 0 and ports or nil } }),
  } }
  if spec.egress then
    local egress = array({ { ports = array({ { port = 53, protocol = "UDP" }, { port = 53, protocol = "TCP" } }) } })
    for _, e in ipairs(spec.egress) do
      local eports = array({})
      for i, p in ipairs(e.ports or {}) do eports[i] = { port = p, protocol = "TCP" } end
      egress[#egress + 1] = { to = array({ { ipBlock = { cidr = need(e, "k8s.network_policy egress", "cidr", "string") } } }),
        ports = #eports > 0 and eports or nil }
    end
    out.spec.egress = egress
    out.spec.policyTypes[2] = "Egress"
  end
  return object("networking.k8s.io/v1", "NetworkPolicy", md, out)
end

local function job_spec(builder, spec)
  local tpl = pod_template(builder, spec, {})
  tpl.spec.restartPolicy = spec.restart_policy or "Never"
  return { backoffLimit = spec.backoff_limit or 2, activeDeadlineSeconds = spec.deadline,
    ttlSecondsAfterFinished = spec.ttl, template = tpl }
end

function M.job(spec)
  known(spec, "k8s.job", fields({ "backoff_limit", "deadline", "ttl", unpack(POD) }))
  return object("batch/v1", "Job", metadata("k8s.job", spec), { spec = job_spec("k8s.job", spec) })
end

function M.cron_job(spec)
  known(spec, "k8s.cron_job", fields({ "schedule", "time_zone", "backoff_limit", "deadline", "ttl", unpack(POD) }))
  local schedule = need(spec, "k8s.cron_job", "schedule", "string")
  local n = 0
  for _ in schedule:gmatch("%S+") do n = n + 1 end
  if n ~= 5 and not schedule:match("^@") then fail("k8s.cron_job: schedule '%s' is not a 5-field cron line", schedule) end
  return object("batch/v1", "CronJob", metadata("k8s.cron_job", spec), { spec = {
    schedule = schedule, timeZone = spec.time_zone, concurrencyPolicy = "Forbid",
    successfulJobsHistoryLimit = 3, failedJobsHistoryLimit = 3,
    jobTemplate = { spec = job_spec("k8s.cron_job", spec) },
  } })
end

-- monitoring.coreos.com/v1 (the Prometheus Operator): scrape the pods' /metrics.
function M.service_monitor(spec)
  known(spec, "k8s.service_monitor", fields({ "selector", "port", "interval" }))
  return object("monitoring.coreos.com/v1", "ServiceMonitor", metadata("k8s.service_monitor", spec), { spec = {
    selector = { matchLabels = copy_map("k8s.service_monitor", need(spec, "k8s.service_monitor", "selector", "table"),
      "selector", check_label) },
    endpoints = array({ { port = spec.port or "http", path = "/metrics", interval = spec.interval or "30s" } }),
  } })
end

-- groups: { { name = ..., rules = { { alert = ..., expr = ..., ["for"] = "5m", labels = {...},
-- annotations = {...} } } } }
function M.prometheus_rule(spec)
  known(spec, "k8s.prometheus_rule", fields({ "groups" }))
  local groups = array({})
  for i, g in ipairs(need(spec, "k8s.prometheus_rule", "groups", "table")) do
    local rules = array({})
    for j, r in ipairs(g.rules or {}) do
      if not (r.alert or r.record) or type(r.expr) ~= "string" then
        fail("k8s.prometheus_rule: group %s rule %d needs alert (or record) and expr", tostring(g.name), j)
      end
      rules[j] = { alert = r.alert, record = r.record, expr = r.expr, ["for"] = r["for"], labels = r.labels,
        annotations = r.annotations }
    end
    groups[i] = { name = need(g, "k8s.prometheus_rule groups", "name", "string"), rules = rules }
  end
  return object("monitoring.coreos.com/v1", "PrometheusRule", metadata("k8s.prometheus_rule", spec),
    { spec = { groups = groups } })
end

-- Anything else: apiVersion, kind, metadata (name, namespace unless cluster) and the rest.
function M.object(spec)
  if type(spec) ~= "table" then fail("k8s.object: expects a table") end
  local api, kind, md = spec.apiVersion, spec.kind, spec.metadata
  if type(api) ~= "string" or type(kind) ~= "string" then fail("k8s.object: apiVersion and kind are required") end
  if type(md) ~= "table" then fail("k8s.object: metadata is required") end
  check_name("k8s.object " .. kind, md.name)
  if md.namespace ~= nil then check_name("k8s.object " .. kind, md.namespace, true) end
  for k, v in pairs(md.labels or {}) do check_label("k8s.object " .. kind, k, v) end
  return spec
end

-- ---- the order objects are applied in (DESIGN §7) ----

local ORDER = { Namespace = 1, ServiceAccount = 2, Role = 2, RoleBinding = 2, ClusterRole = 2, ClusterRoleBinding = 2,
  ConfigMap = 3, Secret = 3, Job = 4, PersistentVolumeClaim = 5, Service = 5, StatefulSet = 6, Deployment = 6,
  CronJob = 6, PodDisruptionBudget = 7, NetworkPolicy = 7, ServiceMonitor = 8, PrometheusRule = 8 }
M.ORDER = ORDER

-- Sorts objects into apply order: by kind's rank, then namespace, kind and name.
function M.sort(objects)
  table.sort(objects, function(a, b)
    local ra, rb = ORDER[a.kind] or 9, ORDER[b.kind] or 9
    if ra ~= rb then return ra < rb end
    local na, nb = a.metadata.namespace or "", b.metadata.namespace or ""
    if na ~= nb then return na < nb end
    if a.kind ~= b.kind then return a.kind < b.kind end
    return a.metadata.name < b.metadata.name
  end)
  return objects
end

return M
