-- bench/http_server: requests per second of alluse's HTTP server under wrk on loopback
-- (keep-alive), and the event loop's lag meanwhile (a 10 ms timer's lateness, p99).
--   alluse exec bench/http_server.lua [SECONDS]
-- Issue #8's goals (for /metrics, once the runner serves it): >= 20,000 requests/s,
-- loop lag p99 < 1 ms.  Here the route is a small fixed text body.  Figures only.
local task = require("alluse.task")
local http_server = require("alluse.http_server")
local loop = require("alluse.core.loop")
local seconds = tonumber(arg[1]) or 5

if not os.execute("command -v wrk >/dev/null 2>&1") then
  print("http server: skipped (wrk is not installed: apt-get install wrk)")
  return
end

local body = ("# HELP x y\n# TYPE x gauge\n"):rep(1) .. ("alluse_metric_total{label=\"value\"} 12345\n"):rep(40)
local lags = {}
task.run(function()
  local srv = assert(http_server.new { host = "127.0.0.1", port = 0 }:start())
  srv:route("GET", "/metrics", function() return 200, { ["Content-Type"] = "text/plain; version=0.0.4" }, body end)
  local running = true
  task.spawn(function() -- loop lag: how late a 10 ms timer fires
    local clock = require("alluse.time").monotonic
    while running do
      local t0 = clock()
      task.sleep(10)
      lags[#lags + 1] = (clock() - t0) / 1000 - 10 -- ms late (libuv timers have 1 ms resolution)
    end
  end)
  local t = loop.timer()
  -- wrk runs in a child process; the loop keeps serving while it does
  local out = os.tmpname()
  local cmd = string.format("wrk -t1 -c32 -d%ds http://127.0.0.1:%d/metrics > %s 2>&1 &", seconds, srv.port, out)
  os.execute(cmd)
  t:start((seconds + 1.5) * 1000, function()
    t:close()
    running = false
    srv:close()
    local f = io.open(out)
    local text = f and f:read("*a") or ""
    if f then f:close() end
    os.remove(out)
    local rps = text:match("Requests/sec:%s+([%d%.]+)")
    local lat = text:match("Latency%s+([%d%.]+%a+)")
    table.sort(lags)
    local p99 = lags[math.max(1, math.floor(#lags * 0.99))] or 0
    print(string.format("http server: GET with a %d-byte body, wrk -t1 -c32 for %d s on loopback:", #body, seconds))
    print(string.format("  %s requests/s (goal for /metrics >= 20,000), mean latency %s", rps or "?", lat or "?"))
    print(string.format("  event-loop lag p99 %.2f ms over %d samples of a 10 ms timer (goal < 1 ms; libuv timers"
      .. " round to 1 ms)", p99, #lags))
  end)
end)
