-- staging: the production shape at replay speed, on its own database.
return {
  namespace = "alluse-staging",
  accounts = {
    { name = "gen", cash = 500000, profile = "iai" },
    { name = "rev", cash = 250000, profile = "iai" },
  },
  speed = "5d/s",
  database = { secret = "alluse-staging-db" },
}
