-- The whole fleet: the pods, their database jobs and their monitoring.
--   alluse deploy deploy-scripts/fleet.lua --env staging --render out/staging
return function(_, ctx)
  return { ctx.include("pods.lua"), ctx.include("database.lua"), ctx.include("monitoring.lua") }
end
