-- The database side: the migration Job (`alluse db migrate`, applied and waited for
-- before the workloads) and a CronJob that writes each weekday's report to the log.
-- The database URL is a reference to a Secret (env.database: secret, key), never a
-- value.  docs/deploy.md, docs/storage.md.
local k8s = require("alluse.deploy.k8s")

return function(env)
  local ns = env.namespace
  local db_url = k8s.secret_env("ALLUSE_DB", env.database.secret, env.database.key)
  local tmp = { name = "tmp", emptyDir = { medium = "Memory", sizeLimit = "16Mi" } }
  local function alluse(args)
    return k8s.container { name = "alluse", image = env.image, args = args, env = { db_url },
      resources = env.resources, mounts = { { name = "tmp", path = "/tmp" } } }
  end
  return {
    -- The image tag in the name: a new image is a new Job (a Job's pod template is
    -- immutable), and the old one is pruned.
    k8s.job { name = "alluse-migrate-" .. (env.image:match(":([%w][%w.-]*)$") or "latest"):lower():gsub("[^a-z0-9-]", "-"),
      namespace = ns, service_account = "alluse", backoff_limit = 2, deadline = 600, ttl = 86400,
      labels = { ["app.kubernetes.io/component"] = "migration" },
      containers = { alluse({ "db", "migrate" }) }, volumes = { tmp } },
    k8s.cron_job { name = "alluse-report", namespace = ns, schedule = env.reports.schedule,
      time_zone = env.reports.time_zone, service_account = "alluse", deadline = 900, ttl = 86400,
      labels = { ["app.kubernetes.io/component"] = "report" },
      containers = { alluse({ "report", "--list" }) }, volumes = { tmp } },
  }
end
