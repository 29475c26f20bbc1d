-- alluse deploy SCRIPT.lua --env NAME (--render DIR | --diff | --apply | --history |
-- --rollback N): Kubernetes manifests from a deploy script, and what they do to a
-- cluster (issue #9; docs/deploy.md).
local flags = require("alluse.flags")

local function fail(msg)
  io.stderr:write("deploy: ", msg, "\n")
  return 1
end

-- The render of SCRIPT for --env: env, objects, the deploy's name | nil, message.
local function rendered(script, opts)
  local render = require("alluse.deploy.render")
  local env, err = render.environment(script, opts.env)
  if not env then return nil, err end
  if opts.image then env.image = opts.image end
  local name = opts.name or script:match("([^/]+)%.lua$") or "deploy"
  local objs
  objs, err = render.objects(script, env)
  if objs then objs, err = render.finish(objs, name, env) end
  if not objs then return nil, err end
  return env, objs, name
end

local function git_commit()
  local p = io.popen("git rev-parse --short=12 HEAD 2>/dev/null")
  local c = p and p:read("*l")
  if p then p:close() end
  return c
end

local function cluster_action(opts, env, objs, name)
  local kube = require("alluse.deploy.kube")
  local ops = require("alluse.deploy.ops")
  local status = 1
  require("alluse.task").run(function()
    local c, err = kube.connect { kubeconfig = opts.kubeconfig, context = opts.context,
      timeout = opts.request_timeout and tonumber(opts.request_timeout) }
    if not c then status = fail(err) return end
    local d = { name = name, env = env.name, image = env.image, commit = opts.commit or git_commit(),
      force = opts.force, force_conflicts = opts.force_conflicts, prune = opts.prune,
      timeout = tonumber(opts.timeout or 300), poll = tonumber(opts.poll_ms or 1000),
      log = function(line) if not opts.quiet then io.stdout:write(line, "\n") end end }
    if opts.diff then
      local plan, perr = ops.plan(c, objs, d)
      if not plan then status = fail(perr) return end
      io.stdout:write(ops.format_plan(plan))
      status = plan.changes > 0 and 2 or 0
    elseif opts.apply then
      local n, aerr = ops.apply(c, objs, d)
      if not n then status = fail(aerr) return end
      io.stdout:write(string.format("deployed %s to %s: revision %d\n", name, env.name, n))
      status = 0
    elseif opts.history then
      local ns = objs[1] and (objs[1].metadata.namespace or objs[1].metadata.name)
      local hist, herr = ops.history(c, ns, d)
      if not hist then status = fail(herr) return end
      io.stdout:write(string.format("%-4s %-27s %-10s %-12s %s\n", "REV", "TIME", "STATUS", "COMMIT", "IMAGE"))
      for _, r in ipairs(hist) do
        io.stdout:write(string.format("%-4d %-27s %-10s %-12s %s%s\n", r.n, tostring(r.time), tostring(r.status),
          r.commit ~= "" and r.commit or "-", tostring(r.image), r.rollback_of and (" (rollback to " .. r.rollback_of .. ")") or ""))
      end
      status = 0
    else
      local n = tonumber(opts.rollback)
      if not n then status = fail("--rollback needs a revision number (alluse deploy --history lists them)") return end
      local ns = objs[1] and (objs[1].metadata.namespace or objs[1].metadata.name)
      local rev, rerr = ops.rollback(c, ns, d, n)
      if not rev then status = fail(rerr) return end
      io.stdout:write(string.format("rolled %s back to revision %d: now revision %d\n", name, n, rev))
      status = 0
    end
  end)
  return status
end

local function run(opts, args)
  local script = args[1]
  if not script then flags.usage_error("missing SCRIPT.lua (a deploy script, e.g. deploy-scripts/fleet.lua)") end
  if args[2] then flags.usage_error("unexpected argument '%s'", args[2]) end
  if not opts.env then flags.usage_error("missing --env NAME (an environment in the script's environments/ folder)") end
  local actions = 0
  for _, a in ipairs({ "render", "diff", "apply", "history", "rollback" }) do if opts[a] then actions = actions + 1 end end
  if actions ~= 1 then flags.usage_error("give one of --render DIR, --diff, --apply, --history, --rollback N") end
  local fmt = opts.format or "yaml"
  if fmt ~= "yaml" and fmt ~= "json" then flags.usage_error("--format must be yaml or json, got '%s'", fmt) end
  local env, objs, name = rendered(script, opts)
  if not env then return fail(objs) end
  if opts.render then
    local files, werr = require("alluse.deploy.render").write(objs, opts.render, fmt)
    if not files then return fail(werr) end
    if not opts.quiet then
      io.stdout:write(string.format("rendered %d objects for %s into %s\n", #files, env.name, opts.render))
    end
    return 0
  end
  return cluster_action(opts, env, objs, name)
end

return {
  usage = "alluse deploy SCRIPT.lua --env NAME (--render DIR | --diff | --apply | --history | --rollback N)\n"
    .. "       [--image REF] [--name NAME] [--kubeconfig FILE] [--context NAME] [--prune] [--force]\n"
    .. "       [--force-conflicts] [--timeout SECONDS] [--commit SHA] [--format yaml|json]",
  description = "Run a deploy script (Lua returning Kubernetes objects built with alluse.deploy.k8s) for an\n"
    .. "environment (environments/NAME.lua next to the script, merged over environments/defaults.lua).\n"
    .. "Every object is labelled app.kubernetes.io/managed-by=alluse, alluse.io/deploy=NAME (default:\n"
    .. "the script's name) and alluse.io/env=ENV.  Errors in scripts name the Lua file and line.\n"
    .. "--render DIR: one file per object plus kustomization.yaml; no network, same bytes for same inputs.\n"
    .. "--diff: creates, updates (server-side dry-run apply against the live objects) and deletes\n"
    .. "  (objects with our labels that left the render), Secret values redacted; exit 0 no change, 2 changes.\n"
    .. "--apply: server-side apply (field manager alluse) in order: Namespace, RBAC, ConfigMaps, the\n"
    .. "  migration Job (waited for), workloads (each rollout waited for; CrashLoopBackOff or\n"
    .. "  ImagePullBackOff fail at once with the pod's last events); --prune deletes what left the render\n"
    .. "  (never Namespaces or PVCs); the revision is recorded in a Secret; a failed rollout rolls back to\n"
    .. "  the last good revision.  A Lease keeps two deploys apart.  Refused while a strategy pod reports\n"
    .. "  itself halted or has orders in flight, unless --force.\n"
    .. "--history lists the revisions; --rollback N applies revision N again.\n"
    .. "Cluster: --kubeconfig (else KUBECONFIG, ~/.kube/config) and --context, or the pod's service\n"
    .. "account; TLS is always verified.",
  flags = {
    { name = "env", arg = "NAME", help = "the environment: dev, staging, prod, ..." },
    { name = "render", arg = "DIR", help = "write the manifests into DIR" },
    { name = "diff", help = "show what --apply would change (exit 2 when something would)" },
    { name = "apply", help = "apply to the cluster, wait for the rollout, record the revision" },
    { name = "history", help = "list the recorded revisions" },
    { name = "rollback", arg = "N", help = "apply revision N again" },
    { name = "prune", help = "with --apply: delete the objects that left the render" },
    { name = "force", help = "deploy even when a strategy pod is halted or has orders in flight" },
    { name = "force-conflicts", help = "take fields another field manager owns" },
    { name = "timeout", arg = "SECONDS", help = "how long each rollout may take (default 300)" },
    { name = "poll-ms", arg = "MS", help = "how often a rollout is checked (default 1000)" },
    { name = "request-timeout", arg = "SECONDS", help = "each API request's timeout (default 30)" },
    { name = "kubeconfig", arg = "FILE", help = "kubeconfig file(s), ':'-separated (default $KUBECONFIG, ~/.kube/config)" },
    { name = "context", arg = "NAME", help = "the kubeconfig context (default: its current-context)" },
    { name = "commit", arg = "SHA", help = "the git commit recorded with the revision (default: git rev-parse HEAD)" },
    { name = "format", arg = "FMT", help = "--render: yaml (default) or json" },
    { name = "image", arg = "REF", help = "the container image, over the environment's image" },
    { name = "name", arg = "NAME", help = "the deploy's name (label alluse.io/deploy); default: the script's" },
    { name = "quiet", short = "q", help = "print nothing but errors and the result" },
  },
  run = run,
}
