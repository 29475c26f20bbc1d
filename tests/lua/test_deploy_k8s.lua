-- alluse.deploy.k8s and alluse.deploy.render: the builders check what the API server
-- would, name the deploy script's line in their errors, never carry a Secret's value,
-- and the render of deploy-scripts/ is deterministic and labelled for diff and prune.
local t = require("alluse.test")
local k8s = require("alluse.deploy.k8s")
local render = require("alluse.deploy.render")
local json = require("alluse.json")

local function err_of(fn)
  local ok, e = pcall(fn)
  return not ok and tostring(e) or nil
end
local THIS = debug.getinfo(1, "S").short_src

-- names and labels
t.ok(k8s.is_label_name("alluse-gen") and k8s.is_label_name("a") and k8s.is_label_name("a1"), "RFC 1123 labels")
t.ok(not k8s.is_label_name("Gen") and not k8s.is_label_name("-a") and not k8s.is_label_name("a-")
  and not k8s.is_label_name(("a"):rep(64)) and not k8s.is_label_name(""), "... and what they refuse")
t.ok(k8s.is_subdomain("alluse.example.com") and not k8s.is_subdomain("a..b") and not k8s.is_subdomain("a_b"),
  "RFC 1123 subdomains")

local line = debug.getinfo(1, "l").currentline + 1
local e = err_of(function() local o = k8s.namespace { name = "Trading" } return o end) -- (not a tail call)
t.like(e, "^" .. THIS:gsub("%p", "%%%0") .. ":" .. line .. ": k8s.namespace: name 'Trading' is not a valid Kubernetes name",
  "a bad name: the error names the caller's file and line")
t.like(err_of(function() return k8s.service_account { name = "x" } end), "k8s.service_account: 'namespace' is required",
  "a missing namespace")
t.like(err_of(function() return k8s.namespace { name = "x", lables = {} } end), "unknown field 'lables' %(known: ",
  "a misspelt field is refused, with the known ones")
t.like(err_of(function() return k8s.namespace { name = "x", labels = { ["app/"] = "v" } } end), "label key",
  "a bad label key")
t.like(err_of(function() return k8s.namespace { name = "x", labels = { a = "has space" } } end),
  "label 'a' has an invalid value 'has space'", "a bad label value")
t.like(err_of(function() return k8s.namespace { name = "x", labels = { a = 1 } } end), "must be a string", "a number label")

-- containers: the restricted securityContext by default, ports, probes
local c = k8s.container { name = "alluse", image = "r/alluse:1", args = { "run" }, ports = { http = 8080 },
  probes = { liveness = "/healthz", readiness = "/readyz" } }
t.is_deeply(c.securityContext, { runAsNonRoot = true, runAsUser = 65532, runAsGroup = 65532,
  readOnlyRootFilesystem = true, allowPrivilegeEscalation = false, capabilities = { drop = { "ALL" } },
  seccompProfile = { type = "RuntimeDefault" } }, "a container runs non-root, read-only, without capabilities")
t.is(c.readinessProbe.httpGet.path, "/readyz", "readiness on /readyz")
t.is(c.livenessProbe.httpGet.path, "/healthz", "liveness on /healthz")
t.like(err_of(function() return k8s.container { name = "a", image = "x", ports = { http = 70000 } } end),
  "port http must be 1..65535", "a port out of range")
t.like(err_of(function() return k8s.container { name = "a", image = "bad image" } end), "is not an image reference",
  "an image with a space")

-- Secrets: referred to, never carried
local env = k8s.secret_env("ALLUSE_DB", "alluse-db", "url")
t.is_deeply(env, { name = "ALLUSE_DB", valueFrom = { secretKeyRef = { name = "alluse-db", key = "url" } } },
  "secret_env is a reference")
t.is(k8s.secret, nil, "there is no builder that takes a Secret's value")

-- ConfigMaps: keys from paths, a content hash in the name
local cm1 = k8s.config_map { name = "s", namespace = "n", files = { ["init.lua"] = "a", ["lib/x.lua"] = "b" }, hashed = true }
local cm2 = k8s.config_map { name = "s", namespace = "n", files = { ["init.lua"] = "a", ["lib/x.lua"] = "b" }, hashed = true }
local cm3 = k8s.config_map { name = "s", namespace = "n", files = { ["init.lua"] = "a!", ["lib/x.lua"] = "b" }, hashed = true }
t.like(cm1.metadata.name, "^s%-%x%x%x%x%x%x%x%x%x%x$", "a hashed ConfigMap's name ends in its content hash")
t.is(cm1.metadata.name, cm2.metadata.name, "... the same for the same content")
t.isnt(cm1.metadata.name, cm3.metadata.name, "... and another when a file changes (the pods roll)")
t.is(cm1.data["lib__x.lua"], "b", "a path becomes a valid key")
local vol = k8s.files_volume("strategy", cm1)
t.is_deeply(vol.configMap.items, { { key = "init.lua", path = "init.lua" }, { key = "lib__x.lua", path = "lib/x.lua" } },
  "files_volume mounts each key at its path again")
t.like(err_of(function() return k8s.config_map { name = "s", namespace = "n", data = { big = ("x"):rep(1000001) } } end),
  "over the 1 MiB", "a ConfigMap over 1 MiB is refused")

-- workloads
local sts = k8s.statefulset { name = "alluse-gen", namespace = "n", service = "alluse-gen", containers = { c }, grace = 60 }
t.is(sts.spec.template.spec.terminationGracePeriodSeconds, 60, "a StatefulSet's grace period")
t.is(sts.spec.template.spec.automountServiceAccountToken, false, "... no API token mounted")
t.is_deeply(sts.spec.selector.matchLabels, sts.spec.template.metadata.labels, "... its selector matches its pods")
local dep = k8s.deployment { name = "d", namespace = "n", containers = { c } }
t.is(dep.spec.strategy.type, "Recreate", "a Deployment never runs two pods at once (Recreate)")
t.like(err_of(function() return k8s.cron_job { name = "r", namespace = "n", schedule = "daily", containers = { c } } end),
  "not a 5%-field cron line", "a bad cron schedule")
t.like(err_of(function() return k8s.prometheus_rule { name = "r", namespace = "n", groups = { { name = "g", rules = { {} } } } } end),
  "needs alert %(or record%) and expr", "a rule without an expression")

-- any other kind: k8s.object, checked for what every object needs
local raw = k8s.object { apiVersion = "autoscaling/v2", kind = "HorizontalPodAutoscaler",
  metadata = { name = "alluse", namespace = "n", labels = { a = "b" } }, spec = { maxReplicas = 1 } }
t.is(raw.kind .. " " .. raw.spec.maxReplicas, "HorizontalPodAutoscaler 1", "k8s.object returns the object as given")
t.like(err_of(function() local o = k8s.object { kind = "X", metadata = { name = "x" } } return o end),
  "apiVersion and kind are required", "k8s.object without apiVersion")
t.like(err_of(function() local o = k8s.object { apiVersion = "v1", kind = "X", metadata = { name = "Bad Name" } } return o end),
  "name 'Bad Name' is not a valid Kubernetes name", "k8s.object with a bad name")
t.like(err_of(function() local o = k8s.object { apiVersion = "v1", kind = "X", metadata = { name = "x", labels = { a = "b c" } } } return o end),
  "invalid value 'b c'", "k8s.object with a bad label")

-- apply order
local order = {}
for _, o in ipairs(k8s.sort({ sts, k8s.job { name = "m", namespace = "n", containers = { c } }, cm1,
  k8s.namespace { name = "n" }, k8s.role { name = "r", namespace = "n", rules = { { resources = { "pods" }, verbs = { "get" } } } } })) do
  order[#order + 1] = o.kind
end
t.is(table.concat(order, ","), "Namespace,Role,ConfigMap,Job,StatefulSet",
  "apply order: Namespace, RBAC, ConfigMaps, the migration Job, workloads")

-- environments: defaults merged, lists replaced
t.is_deeply(render.merge({ a = 1, m = { x = 1, y = 2 }, l = { 1, 2, 3 } }, { m = { y = 3 }, l = { 9 } }),
  { a = 1, m = { x = 1, y = 3 }, l = { 9 } }, "merge: maps key by key, lists replace")
local staging = assert(render.environment("deploy-scripts/fleet.lua", "staging"))
t.is(staging.name, "staging", "an environment is named")
t.is(staging.database.secret, "alluse-staging-db", "... its values over the defaults")
t.is(staging.database.key, "url", "... and the defaults under them")
local none, nerr = render.environment("deploy-scripts/fleet.lua", "nope")
t.ok(none == nil and nerr:find("no such environment"), "an unknown environment: " .. tostring(nerr))

-- the fleet: deterministic, labelled, every Secret a reference
local function fleet(name)
  local en = assert(render.environment("deploy-scripts/fleet.lua", name))
  local objs = assert(render.objects("deploy-scripts/fleet.lua", en))
  return assert(render.finish(objs, "fleet", en))
end
for _, name in ipairs({ "dev", "staging", "prod" }) do
  local a, b = fleet(name), fleet(name)
  t.is(json.encode(a, { sorted = true }), json.encode(b, { sorted = true }), name .. ": two renders are identical")
  local labelled, secrets, kinds = true, 0, {}
  for _, o in ipairs(a) do
    kinds[o.kind] = (kinds[o.kind] or 0) + 1
    local l = o.metadata.labels
    if l["app.kubernetes.io/managed-by"] ~= "alluse" or l["alluse.io/deploy"] ~= "fleet" or l["alluse.io/env"] ~= name then
      labelled = false
    end
    if o.kind == "Secret" then secrets = secrets + 1 end
  end
  t.ok(labelled, name .. ": every object carries the managed-by, deploy and env labels")
  t.is(secrets, 0, name .. ": no Secret is rendered (only references)")
  t.is(kinds.StatefulSet, #(assert(render.environment("deploy-scripts/fleet.lua", name)).accounts),
    name .. ": one StatefulSet per main account")
  t.ok(kinds.Namespace == 1 and kinds.Job == 1 and kinds.CronJob == 1 and kinds.ServiceMonitor == 1
    and kinds.PrometheusRule == 1 and kinds.NetworkPolicy >= 1, name .. ": the fleet's other kinds")
end

-- scripts' errors name their file and line
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir .. "/environments")
local f = assert(io.open(dir .. "/environments/dev.lua", "w"))
f:write("return { namespace = 'n' }\n")
f:close()
f = assert(io.open(dir .. "/bad.lua", "w"))
f:write("local k8s = require('alluse.deploy.k8s')\nreturn function(env)\n  return {\n    k8s.service_account { name = 'Bad_Name', namespace = env.namespace },\n  }\nend\n")
f:close()
local objs, serr = render.objects(dir .. "/bad.lua", assert(render.environment(dir .. "/bad.lua", "dev")))
t.ok(objs == nil and serr:find("bad.lua:4: k8s.service_account: name 'Bad_Name'", 1, true),
  "a builder's error in a script names the script's line: " .. tostring(serr))
f = assert(io.open(dir .. "/syntax.lua", "w"))
f:write("return function(env)\n  return {\nend\n")
f:close()
objs, serr = render.objects(dir .. "/syntax.lua", {})
t.ok(objs == nil and serr:find("syntax.lua:3:", 1, true), "a syntax error names the line: " .. tostring(serr))
f = assert(io.open(dir .. "/dup.lua", "w"))
f:write("local k8s = require('alluse.deploy.k8s')\nreturn { k8s.namespace { name = 'a' }, k8s.namespace { name = 'a' } }\n")
f:close()
local _, derr = render.finish(assert(render.objects(dir .. "/dup.lua", {})), "d", { name = "dev" })
t.like(tostring(derr), "two objects are Namespace a", "two objects with one name are refused")
os.execute("rm -rf " .. dir)
