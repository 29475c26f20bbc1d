-- alluse.http without a server: argument checks, the backoff schedule, task.await.
-- The requests themselves are tested against a real loopback server in
-- tests/integration/test_http_client.sh.
local t = require("alluse.test")
local http = require("alluse.http")
local task = require("alluse.task")
local curl = require("alluse.core.curl")

t.like(curl.version(), "libcurl", "alluse.core.curl is built in")
t.raises(function() http.request("http://x/") end, "expects a table", "a string instead of a table raises")
t.raises(function() http.request{ url = "http://x/", method = "GET /" } end, "method", "a bad method raises")
t.raises(function() http.request{ url = "http://x/", timeout = 0 } end, "timeout", "timeout 0 raises")
t.raises(function() http.request{ url = "http://x/", retries = 1.5 } end, "retries", "fractional retries raise")
t.raises(function() http.request{ url = "http://x/", headers = { ["a b"] = "1" } } end, "header name",
  "a header name with a space raises")
t.raises(function() http.request{ url = "http://x/", verify = false } end, "cannot be turned off",
  "TLS verification cannot be turned off")

-- backoff: base * 2^(n-1), capped, half of it random
local ok = true
for n = 1, 8 do
  for _ = 1, 50 do
    local d = http.backoff_delay(n, 0.1, 1)
    local full = math.min(1, 0.1 * 2 ^ (n - 1))
    if d < full / 2 or d > full then ok = false end
  end
end
t.ok(ok, "backoff delays lie in [d/2, d] for d = min(cap, base * 2^(n-1))")
t.ok(http.IDEMPOTENT.GET and http.IDEMPOTENT.PUT and not http.IDEMPOTENT.POST and not http.IDEMPOTENT.PATCH,
  "GET and PUT are retried, POST and PATCH are not")

-- task.await: a wake from the loop, and a wake before the task yielded
local a, b = task.run(function()
  local x, y = task.await(function(wake)
    local tm = require("alluse.core.loop").timer()
    tm:start(5, function() tm:close() wake("late", 2) wake("twice") end)
  end)
  local z = task.await(function(wake) wake("early") end)
  return x .. y, z
end)
t.is(a, "late2", "task.await returns what the loop callback passed to wake")
t.is(b, "early", "task.await: a wake before yielding returns at once")
t.raises(function() task.await(function() end) end, "not inside a task", "task.await outside a task raises")
