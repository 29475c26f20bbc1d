-- alluse.http_server: routes over alluse.core.httpd, the small HTTP/1.1 server on the
-- loop (docs/http-server.md).  The live runner's /healthz, /readyz, /metrics and
-- /api/v1/* sit on it.
--
--   local http_server = require("alluse.http_server")
--   local srv = assert(http_server.new{ host = "127.0.0.1", port = 8080 })
--   srv:route("GET", "/healthz", function(req) return 200, { ["Content-Type"] = "text/plain" }, "ok\n" end)
--   srv:route("POST", "/api/v1/control/pause", handler, { token = secret })  -- bearer token
--   srv:start()   -- listens (inside task.run: the loop serves it)
--   srv:close()
--
-- A handler gets req = { method, path, query, headers (lower-case), body, peer, ... }
-- and returns status, headers, body.  Unknown path: 404; known path, other method:
-- 405 with Allow; HEAD is answered by the GET route without its body.  A handler that
-- raises gets 500 and its error is logged (on_error), the server goes on.  A route
-- with a token needs `Authorization: Bearer TOKEN`, compared in constant time: 401
-- (with WWW-Authenticate) otherwise.
local httpd = require("alluse.core.httpd")
local crypto = require("alluse.crypto")

local format = string.format

local M = {}

local Server = {}
Server.__index = Server

local TEXT = { ["Content-Type"] = "text/plain; charset=utf-8" }

local function plain(status, text)
  return status, TEXT, text .. "\n"
end

function M.new(opts)
  opts = opts or {}
  return setmetatable({
    host = opts.host or "127.0.0.1", port = opts.port or 8080, opts = opts, routes = {},
    on_error = opts.on_error or function(msg) io.stderr:write("http: ", msg, "\n") end,
    on_request = opts.on_request, -- (req, status) after each answer: metrics, logs
  }, Server)
end

function Server:route(method, path, handler, ropts)
  if type(method) ~= "string" or not method:match("^%u+$") then error("route: method must be like GET", 2) end
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then error("route: path must start with /", 2) end
  if type(handler) ~= "function" then error("route: handler must be a function", 2) end
  local byp = self.routes[path]
  if not byp then byp = {} self.routes[path] = byp end
  byp[method] = { fn = handler, token = ropts and ropts.token }
  return self
end

-- Bearer token check: constant time over the token (alluse.crypto.equal).
local function authorized(req, token)
  local h = req.headers.authorization
  if type(h) ~= "string" then return false end
  local given = h:match("^[Bb]earer%s+(%S+)%s*$")
  return given ~= nil and crypto.equal(given, token)
end

function Server:dispatch(req)
  local byp = self.routes[req.path]
  if not byp then return plain(404, "404 Not Found: " .. req.path) end
  local r = byp[req.method] or (req.method == "HEAD" and byp.GET)
  if not r then
    local allow = {}
    for m in pairs(byp) do allow[#allow + 1] = m end
    if byp.GET then allow[#allow + 1] = "HEAD" end
    table.sort(allow)
    return 405, { ["Content-Type"] = TEXT["Content-Type"], Allow = table.concat(allow, ", ") },
      format("405 Method Not Allowed: %s %s (allowed: %s)\n", req.method, req.path, table.concat(allow, ", "))
  end
  if r.token and not authorized(req, r.token) then
    return 401, { ["Content-Type"] = TEXT["Content-Type"], ["WWW-Authenticate"] = 'Bearer realm="alluse"' },
      "401 Unauthorized: send Authorization: Bearer <token>\n"
  end
  local ok, status, headers, body = xpcall(r.fn, debug.traceback, req)
  if not ok then
    self.on_error(format("%s %s: %s", req.method, req.path, tostring(status)))
    return plain(500, "500 Internal Server Error")
  end
  if type(status) ~= "number" then
    self.on_error(format("%s %s: the handler returned %s, not a status", req.method, req.path, type(status)))
    return plain(500, "500 Internal Server Error")
  end
  return status, headers or {}, body or ""
end

function Server:start()
  local srv, err, code = httpd.listen(self.host, self.port, function(req)
    local status, headers, body = self:dispatch(req)
    if self.on_request then pcall(self.on_request, req, status) end
    return status, headers, body
  end, {
    max_header = self.opts.max_header, max_body = self.opts.max_body,
    read_timeout_ms = self.opts.read_timeout_ms, max_connections = self.opts.max_connections,
  })
  if not srv then return nil, err, code end
  self.srv = srv
  self.port = srv:port()
  return self
end

function Server:connections() return self.srv and self.srv:connections() or 0 end

function Server:close()
  if self.srv then self.srv:close() end
  self.srv = nil
end

return M
