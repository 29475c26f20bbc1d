-- alluse.deploy.ops: what `alluse deploy` does against a cluster (docs/deploy.md):
-- diff, apply (guard rails, lease, ordered server-side apply, waits, prune, revision,
-- roll back on failure), history and rollback.
--
-- `objs` are a render's objects in apply order (alluse.deploy.render.finish); `d` is
-- the deploy: { name, env, image, commit, log = function(line) }.  Functions return
-- true / a value, or nil, message, code; they run inside a task (alluse.task), so
-- their waits let the loop run.
local json = require("alluse.json")
local crypto = require("alluse.crypto")
local task = require("alluse.task")
local time = require("alluse.time")
local k8s = require("alluse.deploy.k8s")
local render = require("alluse.deploy.render")
local textdiff = require("alluse.deploy.textdiff")

local format = string.format

local M = {}

-- The kinds a deploy may own, with their API versions: what diff and prune look for
-- beyond the render.  Namespaces and PersistentVolumeClaims are never pruned: deleting
-- one loses everything in it.
M.KINDS = {
  { "v1", "ServiceAccount" }, { "rbac.authorization.k8s.io/v1", "Role" },
  { "rbac.authorization.k8s.io/v1", "RoleBinding" }, { "v1", "ConfigMap" }, { "v1", "Secret" },
  { "batch/v1", "Job" }, { "v1", "Service" }, { "apps/v1", "StatefulSet" }, { "apps/v1", "Deployment" },
  { "batch/v1", "CronJob" }, { "policy/v1", "PodDisruptionBudget" }, { "networking.k8s.io/v1", "NetworkPolicy" },
  { "monitoring.coreos.com/v1", "ServiceMonitor" }, { "monitoring.coreos.com/v1", "PrometheusRule" },
}
local NEVER_PRUNE = { Namespace = true, PersistentVolumeClaim = true }

local function key_of(o)
  return format("%s %s%s", o.kind, o.metadata.namespace and (o.metadata.namespace .. "/") or "", o.metadata.name)
end
M.key_of = key_of

local function selector(d)
  return format("%s=alluse,%s=%s,%s=%s", render.MANAGED_BY, render.DEPLOY_LABEL, d.name, render.ENV_LABEL, d.env)
end

local function namespaces_of(objs)
  local seen, out = {}, {}
  for _, o in ipairs(objs) do
    local ns = o.kind == "Namespace" and o.metadata.name or o.metadata.namespace
    if ns and not seen[ns] then
      seen[ns] = true
      out[#out + 1] = ns
    end
  end
  return out
end

-- A copy without what the server manages, for comparing and showing.  Secret values
-- are replaced by a digest: a diff shows that one changed, never what it is.
local function normalize(o)
  local c = json.decode(json.encode(o))
  c.status = nil
  local md = c.metadata or {}
  for _, f in ipairs({ "managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink" }) do
    md[f] = nil
  end
  if md.annotations then
    md.annotations["deployment.kubernetes.io/revision"] = nil
    if next(md.annotations) == nil then md.annotations = nil end
  end
  if c.kind == "Secret" then
    for _, field in ipairs({ "data", "stringData" }) do
      if type(c[field]) == "table" then
        for k, v in pairs(c[field]) do
          c[field][k] = "<redacted sha256:" .. crypto.sha256_hex(tostring(v)):sub(1, 12) .. ">"
        end
      end
    end
  end
  return c
end
M.normalize = normalize

local function show(o)
  return require("alluse.deploy.yaml").encode(normalize(o))
end

-- The live objects of this deploy (by its labels), by key.
local function live_objects(c, d, namespaces)
  local out = {}
  for _, ns in ipairs(namespaces) do
    for _, kv in ipairs(M.KINDS) do
      local items, err, code = c:list(kv[1], kv[2], ns, { labels = selector(d) })
      if not items then
        -- a CRD that is not installed holds nothing of ours
        if code ~= "ENOTFOUND" then return nil, err, code end
      else
        for _, it in ipairs(items) do
          it.apiVersion, it.kind = it.apiVersion or kv[1], it.kind or kv[2]
          out[key_of(it)] = it
        end
      end
    end
  end
  return out
end

-- ---- diff ----

-- The changes a render makes: { creates = {...}, updates = {...}, deletes = {...} }
-- each { key, text } (a unified diff, or the object), and the number of changes.
function M.plan(c, objs, d)
  local namespaces = namespaces_of(objs)
  local live, err, code = live_objects(c, d, namespaces)
  if not live then return nil, err, code end
  local plan = { creates = {}, updates = {}, deletes = {}, unchanged = 0 }
  local rendered = {}
  for _, o in ipairs(objs) do
    local key = key_of(o)
    rendered[key] = true
    local cur, gerr, gcode = c:get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name)
    if not cur and gcode ~= "ENOTFOUND" then return nil, gerr, gcode end
    if not cur then
      plan.creates[#plan.creates + 1] = { key = key, text = show(o) }
    else
      -- what the server would make of it: a server-side dry-run apply
      local after, aerr, acode = c:apply(o, { dry_run = true, force = d.force_conflicts })
      if not after then return nil, aerr, acode end
      local before_text, after_text = show(cur), show(after)
      if before_text == after_text then
        plan.unchanged = plan.unchanged + 1
      else
        plan.updates[#plan.updates + 1] = { key = key,
          text = textdiff.unified(before_text, after_text, { from = "live/" .. key, to = "render/" .. key }) }
      end
    end
  end
  local gone = {}
  for key, o in pairs(live) do
    if not rendered[key] and not NEVER_PRUNE[o.kind] then gone[#gone + 1] = { key = key, text = show(o), obj = o } end
  end
  table.sort(gone, function(a, b) return a.key < b.key end)
  plan.deletes = gone
  plan.changes = #plan.creates + #plan.updates + #plan.deletes
  return plan
end

-- The unified view: creates, updates and deletes, each with its text.
function M.format_plan(plan)
  local out = {}
  for _, x in ipairs(plan.creates) do
    out[#out + 1] = "+ create " .. x.key
    for l in x.text:gmatch("[^\n]+") do out[#out + 1] = "+ " .. l end
  end
  for _, x in ipairs(plan.updates) do
    out[#out + 1] = "~ update " .. x.key
    out[#out + 1] = (x.text:gsub("\n$", ""))
  end
  for _, x in ipairs(plan.deletes) do
    out[#out + 1] = "- delete " .. x.key
    for l in x.text:gmatch("[^\n]+") do out[#out + 1] = "- " .. l end
  end
  out[#out + 1] = format("%d to create, %d to update, %d to delete, %d unchanged", #plan.creates, #plan.updates,
    #plan.deletes, plan.unchanged)
  return table.concat(out, "\n") .. "\n"
end

-- ---- the lease: one deploy at a time ----

local LEASE_SECONDS = 120

local function lease_name(d) return "alluse-deploy-" .. d.name .. "-" .. d.env end

local function holder()
  local h = require("alluse.core.host")
  return h.hostname() .. "-" .. h.pid()
end

local function micro_time(us)
  return time.format(us):gsub("Z$", ""):gsub("(%.%d%d%d%d%d%d)%d*", "%1") .. "Z"
end

-- Takes (or renews) the Lease; an expired one held by another deploy is taken over by
-- optimistic concurrency (resourceVersion), so two deploys never both win.
function M.acquire(c, ns, d)
  local name = lease_name(d)
  local now = time.now()
  local spec = { holderIdentity = holder(), leaseDurationSeconds = LEASE_SECONDS, acquireTime = micro_time(now),
    renewTime = micro_time(now) }
  local obj = { apiVersion = "coordination.k8s.io/v1", kind = "Lease",
    metadata = { name = name, namespace = ns, labels = { [render.MANAGED_BY] = "alluse" } }, spec = spec }
  local made, err, code = c:create(obj)
  if made then return made end
  if code ~= "ECONFLICT" then return nil, err, code end
  local cur
  cur, err, code = c:get("coordination.k8s.io/v1", "Lease", ns, name)
  if not cur then return nil, err, code end
  local cs = cur.spec or {}
  local renewed = cs.renewTime and time.parse(cs.renewTime)
  local expires = renewed and renewed + (cs.leaseDurationSeconds or LEASE_SECONDS) * 1e6
  if cs.holderIdentity and cs.holderIdentity ~= spec.holderIdentity and expires and expires > now then
    return nil, format("another deploy holds the lease %s/%s (%s, renewed %s): wait for it, or delete the Lease if it is gone",
      ns, name, tostring(cs.holderIdentity), tostring(cs.renewTime)), "ELOCKED"
  end
  obj.metadata.resourceVersion = cur.metadata.resourceVersion
  local took
  took, err, code = c:replace(obj)
  if not took then
    if code == "ECONFLICT" then return nil, "another deploy took the lease " .. ns .. "/" .. name .. " just now", "ELOCKED" end
    return nil, err, code
  end
  return took
end

function M.renew(c, lease)
  lease.spec.renewTime = micro_time(time.now())
  local r = c:replace(lease)
  if r then lease.metadata.resourceVersion = r.metadata.resourceVersion end
end

function M.release(c, lease)
  c:delete("coordination.k8s.io/v1", "Lease", lease.metadata.namespace, lease.metadata.name)
end

-- ---- guard rails: ask the strategy pods before replacing them ----

local function label_selector(match)
  local keys = {}
  for k in pairs(match or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. match[k] end
  return table.concat(parts, ",")
end

local function http_port(o)
  for _, ct in ipairs(o.spec.template.spec.containers or {}) do
    for _, p in ipairs(ct.ports or {}) do if p.name == "http" then return p.containerPort end end
  end
end

-- The refusals: a pod whose strategy is halted, or that has orders in flight, read
-- from its /metrics through the API server's pod proxy.
function M.guard(c, objs)
  local problems = {}
  for _, o in ipairs(objs) do
    if (o.kind == "StatefulSet" or o.kind == "Deployment") and http_port(o) then
      local ns = o.metadata.namespace
      local pods, err = c:list("v1", "Pod", ns, { labels = label_selector(o.spec.selector.matchLabels) })
      if not pods then return nil, err end
      for _, p in ipairs(pods) do
        if (p.status or {}).phase == "Running" then
          local path = format("/api/v1/namespaces/%s/pods/%s:%d/proxy/metrics", ns, p.metadata.name, http_port(o))
          local text, perr = c:request("GET", path, nil, nil, "text/plain")
          if not text then
            problems[#problems + 1] = format("pod %s/%s: could not read its /metrics (%s)", ns, p.metadata.name, tostring(perr))
          else
            text = "\n" .. text -- every sample line, the first too, follows a newline
            for labels, v in text:gmatch("\nalluse_strategy_halted({[^}]*}) (%S+)") do
              if tonumber(v) == 1 then problems[#problems + 1] = format("pod %s/%s: its strategy is halted %s", ns, p.metadata.name, labels) end
            end
            for labels, v in text:gmatch("\nalluse_orders_in_flight({[^}]*}) (%S+)") do
              if (tonumber(v) or 0) > 0 then
                problems[#problems + 1] = format("pod %s/%s: %s orders in flight %s", ns, p.metadata.name, v, labels)
              end
            end
          end
        end
      end
    end
  end
  if #problems > 0 then
    return nil, "refusing to deploy (--force overrides):\n  " .. table.concat(problems, "\n  "), "EGUARD"
  end
  return true
end

-- ---- waiting for rollouts ----

local BAD_WAITING = { CrashLoopBackOff = true, ImagePullBackOff = true, ErrImagePull = true,
  CreateContainerConfigError = true, InvalidImageName = true, CreateContainerError = true }

-- The last events of a pod, oldest first, as one line each.
local function pod_events(c, ns, pod)
  local evs = c:list("v1", "Event", ns, { fields = "involvedObject.name=" .. pod }) or {}
  table.sort(evs, function(a, b) return tostring(a.lastTimestamp or a.eventTime) < tostring(b.lastTimestamp or b.eventTime) end)
  local out = {}
  for i = math.max(1, #evs - 4), #evs do
    local e = evs[i]
    out[#out + 1] = format("%s %s: %s", tostring(e.type), tostring(e.reason), tostring(e.message))
  end
  return out
end

-- Which pods belong to the rollout being waited for, so that the crashing pods of the
-- revision it replaces (a rollback's) do not fail it: nothing until the controller has
-- seen the new generation; then a StatefulSet's pods of its update revision, or pods
-- made after our apply (since: the server's time of it, whole seconds, so strictly
-- after); a Job's pods are all its own.
local function rollout_pods(o, cur, since)
  local st, md = cur.status or {}, cur.metadata or {}
  if o.kind == "Job" then return nil end
  if (st.observedGeneration or 0) < (md.generation or 1) then return function() return false end end
  if o.kind == "StatefulSet" and st.updateRevision then
    return function(p)
      local h = (p.metadata.labels or {})["controller-revision-hash"]
      return h == nil or h == st.updateRevision
    end
  end
  if since then return function(p) return tostring(p.metadata.creationTimestamp or "") > since end end
  return nil
end

-- A pod that will not come up by waiting: its reason and last events.  counts(pod):
-- whether it belongs to the rollout (rollout_pods); nil: every pod does.
local function failing_pod(c, ns, match, counts)
  local pods = c:list("v1", "Pod", ns, { labels = label_selector(match) }) or {}
  for _, p in ipairs(pods) do
    if counts and not counts(p) then goto next_pod end
    for _, cs in ipairs((p.status or {}).containerStatuses or {}) do
      local w = cs.state and cs.state.waiting
      if w and BAD_WAITING[w.reason] then
        local lines = pod_events(c, ns, p.metadata.name)
        return format("pod %s/%s: container %s is in %s (restarts %d)%s%s", ns, p.metadata.name, tostring(cs.name), w.reason,
          cs.restartCount or 0, w.message and (": " .. w.message) or "",
          #lines > 0 and ("\n    last events:\n      " .. table.concat(lines, "\n      ")) or "")
      end
    end
    ::next_pod::
  end
end

-- Readiness by kind: nil while rolling, true when done, or false, why.
local function ready(o, cur)
  local st, spec, md = cur.status or {}, cur.spec or {}, cur.metadata or {}
  local want = spec.replicas or 1
  if o.kind == "Job" then
    for _, cd in ipairs(st.conditions or {}) do
      if cd.type == "Complete" and cd.status == "True" then return true end
      if cd.type == "Failed" and cd.status == "True" then return false, "the Job failed: " .. tostring(cd.message or cd.reason) end
    end
    return nil
  end
  if (st.observedGeneration or 0) < (md.generation or 1) then return nil end
  if o.kind == "StatefulSet" then
    if (st.readyReplicas or 0) == want and (st.updatedReplicas or 0) == want
      and (st.currentRevision == nil or st.currentRevision == st.updateRevision) then return true end
  elseif o.kind == "Deployment" then
    if (st.updatedReplicas or 0) == want and (st.availableReplicas or 0) == want and (st.unavailableReplicas or 0) == 0 then
      return true
    end
  else
    return true
  end
  return nil
end

-- Waits until o is rolled out: true, or nil, why.  opts: timeout (s), poll (ms), lease,
-- since (the server's time of the apply, RFC 3339).
function M.wait(c, o, opts)
  if not (o.kind == "Job" or o.kind == "StatefulSet" or o.kind == "Deployment") then return true end
  local ns, name = o.metadata.namespace, o.metadata.name
  local deadline = time.monotonic() + (opts.timeout or 300) * 1e6
  local match = o.kind == "Job" and { ["job-name"] = name } or o.spec.selector.matchLabels
  local polls = 0
  while true do
    local cur, err = c:get(o.apiVersion, o.kind, ns, name)
    if not cur then return nil, err end
    local done, why = ready(o, cur)
    if done then return true end
    local counts = rollout_pods(o, cur, opts.since)
    if done == false then
      local pod = failing_pod(c, ns, match, counts)
      return nil, why .. (pod and ("\n  " .. pod) or "")
    end
    local bad = failing_pod(c, ns, match, counts)
    if bad then return nil, bad end
    if time.monotonic() > deadline then
      return nil, format("%s %s/%s is not ready after %d s", o.kind, ns, name, opts.timeout or 300)
    end
    polls = polls + 1
    if opts.lease and polls % 20 == 0 then M.renew(c, opts.lease) end
    task.sleep(opts.poll or 1000)
  end
end

-- ---- revisions ----

local function revision_selector(d)
  return format("alluse.io/revision-of=%s,%s=%s", d.name, render.ENV_LABEL, d.env)
end

-- The stored revisions, oldest first: { n, time, image, commit, status, rollback_of, secret }.
function M.history(c, ns, d)
  local items, err, code = c:list("v1", "Secret", ns, { labels = revision_selector(d) })
  if not items then return nil, err, code end
  local out = {}
  for _, s in ipairs(items) do
    local a = s.metadata.annotations or {}
    out[#out + 1] = { n = tonumber(s.metadata.labels["alluse.io/revision"]), time = a["alluse.io/time"],
      image = a["alluse.io/image"], commit = a["alluse.io/commit"], status = a["alluse.io/status"],
      rollback_of = a["alluse.io/rollback-of"], secret = s }
  end
  table.sort(out, function(x, y) return x.n < y.n end)
  return out
end

-- The objects a revision applied.
function M.revision_objects(rev)
  local data = rev.secret.data or {}
  local raw = data.manifests and crypto.unbase64(data.manifests)
  if not raw then return nil, format("revision %d holds no manifests", rev.n) end
  return json.decode(raw, { arrays = true })
end

local function record(c, ns, d, objs, status, extra)
  local hist, err, code = M.history(c, ns, d)
  if not hist then return nil, err, code end
  local n = (#hist > 0 and hist[#hist].n or 0) + 1
  local s = { apiVersion = "v1", kind = "Secret", type = "Opaque",
    metadata = { name = format("alluse-rev-%s-%s-%d", d.name, d.env, n), namespace = ns,
      labels = { ["alluse.io/revision-of"] = d.name, [render.ENV_LABEL] = d.env, ["alluse.io/revision"] = tostring(n) },
      annotations = { ["alluse.io/time"] = time.format(time.now()), ["alluse.io/image"] = d.image or "",
        ["alluse.io/commit"] = d.commit or "", ["alluse.io/status"] = status,
        ["alluse.io/rollback-of"] = extra and extra.rollback_of and tostring(extra.rollback_of) or nil } },
    data = { manifests = crypto.base64(json.encode(objs, { sorted = true })) } }
  local made
  made, err, code = c:create(s)
  if not made then return nil, err, code end
  return n
end

-- ---- apply ----

local function apply_all(c, objs, d, log, lease)
  for _, o in ipairs(objs) do
    local res, err, code = c:apply(o, { force = d.force_conflicts })
    if not res then
      if code == "ECONFLICT" then
        return nil, err .. "\n  (another field manager owns these fields: --force-conflicts takes them)", code
      end
      return nil, err, code
    end
    log("applied " .. key_of(o))
    if o.kind == "Job" or o.kind == "StatefulSet" or o.kind == "Deployment" then
      local since
      for _, mf in ipairs((res.metadata or {}).managedFields or {}) do
        if mf.manager == "alluse" and mf.operation == "Apply" then since = mf.time end
      end
      local ok, werr = M.wait(c, o, { timeout = d.timeout, poll = d.poll, lease = lease, since = since })
      if not ok then return nil, werr, "EROLLOUT" end
      log("ready " .. key_of(o))
    end
  end
  return true
end

local function prune(c, plan, log)
  for i = #plan.deletes, 1, -1 do
    local o = plan.deletes[i].obj
    local ok, err, code = c:delete(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name)
    if not ok and code ~= "ENOTFOUND" then return nil, err, code end
    log("deleted " .. plan.deletes[i].key)
  end
  return true
end

-- The namespace the deploy's Lease and revisions live in.
local function home(objs)
  local ns = namespaces_of(objs)[1]
  if not ns then return nil, "the render has no namespaced object: nothing to record the deploy in" end
  return ns
end

-- d: name, env, image, commit, force (guard rails), force_conflicts, prune, timeout,
-- poll, rollback_of, log.  Returns the revision number, or nil, message, code (after
-- rolling back to the last good revision when a rollout failed).
function M.apply(c, objs, d)
  local log = d.log or function() end
  local ns, err, code = home(objs)
  if not ns then return nil, err, "EINVALID" end
  -- the Namespace first: the Lease lives in it
  for _, o in ipairs(objs) do
    if o.kind == "Namespace" then
      local r, aerr, acode = c:apply(o, { force = d.force_conflicts })
      if not r then return nil, aerr, acode end
    end
  end
  local lease
  lease, err, code = M.acquire(c, ns, d)
  if not lease then return nil, err, code end
  local function finish(...)
    M.release(c, lease)
    return ...
  end
  if not d.force then
    local ok, gerr, gcode = M.guard(c, objs)
    if not ok then return finish(nil, gerr, gcode) end
  end
  local plan
  plan, err, code = d.prune and M.plan(c, objs, d) or { deletes = {} }
  if not plan then return finish(nil, err, code) end
  local ok, aerr, acode = apply_all(c, objs, d, log, lease)
  if ok and d.prune then ok, aerr, acode = prune(c, plan, log) end
  if ok then
    local n, rerr, rcode = record(c, ns, d, objs, "applied", { rollback_of = d.rollback_of })
    if not n then return finish(nil, rerr, rcode) end
    log(format("revision %d recorded", n))
    return finish(n)
  end
  if acode ~= "EROLLOUT" then return finish(nil, aerr, acode) end
  -- The rollout failed: back to the last revision that was applied, if there is one.
  record(c, ns, d, objs, "failed")
  local hist = M.history(c, ns, d) or {}
  local good
  for i = #hist, 1, -1 do
    if hist[i].status == "applied" then good = hist[i] break end
  end
  if not good then return finish(nil, aerr .. "\n  no earlier revision to roll back to", acode) end
  log(format("rollout failed: rolling back to revision %d", good.n))
  local prev = M.revision_objects(good)
  local back_ok, berr = apply_all(c, prev, { force_conflicts = true, timeout = d.timeout, poll = d.poll }, log, lease)
  if back_ok then
    local back = {}
    for k, v in pairs(d) do back[k] = v end
    back.image, back.commit = good.image, good.commit -- what now runs is the good revision's
    local n = record(c, ns, back, prev, "applied", { rollback_of = good.n })
    return finish(nil, format("%s\n  rolled back to revision %d (now revision %s)", aerr, good.n, tostring(n)), "EROLLEDBACK")
  end
  return finish(nil, format("%s\n  and the rollback to revision %d failed too: %s", aerr, good.n, tostring(berr)), acode)
end

-- Re-applies revision n (alluse deploy --rollback N).
function M.rollback(c, ns, d, n)
  local hist, err, code = M.history(c, ns, d)
  if not hist then return nil, err, code end
  for _, rev in ipairs(hist) do
    if rev.n == n then
      local objs, oerr = M.revision_objects(rev)
      if not objs then return nil, oerr, "EINVALID" end
      local nd = {}
      for k, v in pairs(d) do nd[k] = v end
      nd.rollback_of, nd.image, nd.commit = n, rev.image, rev.commit
      return M.apply(c, k8s.sort(objs), nd)
    end
  end
  return nil, format("no revision %d of %s in %s (alluse deploy --history lists them)", n, d.name .. "/" .. d.env, ns),
    "ENOTFOUND"
end

return M
