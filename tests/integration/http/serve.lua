-- serve.lua PORTFILE [TIMEOUT_MS]: the test server for test_http_server.sh — alluse's
-- HTTP server on a free port (written to PORTFILE), with a few routes; GET /stop ends it.
local task = require("alluse.task")
local http_server = require("alluse.http_server")
local portfile, timeout = arg[1], tonumber(arg[2] or "2000")
task.run(function()
  local srv = http_server.new { host = "127.0.0.1", port = 0, read_timeout_ms = timeout,
    max_header = 16384, max_body = 1048576 }
  local hits = 0
  srv:route("GET", "/healthz", function() return 200, { ["Content-Type"] = "text/plain" }, "ok\n" end)
  srv:route("POST", "/echo", function(req)
    hits = hits + 1
    return 200, { ["Content-Type"] = "application/octet-stream", ["X-Length"] = tostring(#req.body) }, req.body
  end)
  srv:route("GET", "/headers", function(req)
    local keys = {}
    for k, v in pairs(req.headers) do keys[#keys + 1] = k .. "=" .. v end
    table.sort(keys)
    return 200, {}, table.concat(keys, ";") .. "|" .. req.query .. "\n"
  end)
  srv:route("GET", "/boom", function() error("deliberate") end)
  srv:route("GET", "/badheader", function() return 200, { ["X-Bad"] = "a\r\nInjected: yes" }, "x" end)
  srv:route("POST", "/secret", function() return 200, {}, "in\n" end, { token = "s3cret-token" })
  srv:route("GET", "/stop", function()
    task.spawn(function() task.sleep(20) srv:close() end)
    return 200, {}, "bye\n"
  end)
  assert(srv:start())
  local f = assert(io.open(portfile .. ".tmp", "w"))
  f:write(srv.port)
  f:close()
  os.rename(portfile .. ".tmp", portfile)
end)
