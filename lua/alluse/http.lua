-- alluse.http: an HTTP client (DESIGN §3; docs/http-client.md).
--
--   local http = require("alluse.http")
--   local res, err, code = http.request{ method = "GET", url = "https://...",
--     headers = { accept = "application/json" }, body = nil, timeout = 10,
--     ca_file = nil, retries = 2, max_body = 16 * 1024 * 1024 }
--   -- client TLS (a Kubernetes API server): ca_pem, cert_pem + key_pem (PEM text), or
--   -- cert_file + key_file
--   -- res = { status = 200, headers = { ["content-type"] = ... }, body = "..." }
--
-- Inside a task (alluse.task) the request does not block: libcurl's multi interface
-- runs on the libuv loop (core/net/http_client.c) and the task yields until it is
-- done, while other tasks and timers run.  Outside a task it blocks.  Any HTTP status
-- is a response; only transport failures are errors, with stable codes:
-- ETIMEDOUT ECONNREFUSED ECONNECTION ERESOLVE ETLS EBODY EURL EHTTP.
-- TLS is always verified.  Idempotent methods are retried on connection errors,
-- timeouts and 5xx with exponential backoff and jitter; POST and PATCH never are.
local curl = require("alluse.core.curl")
local task = require("alluse.task")

local type, error, tostring, pairs, floor, random = type, error, tostring, pairs, math.floor, math.random
local min = math.min

local M = {}

M.IDEMPOTENT = { GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true }
M.RETRY_CODES = { ETIMEDOUT = true, ECONNREFUSED = true, ECONNECTION = true, ERESOLVE = true }
M.DEFAULTS = { timeout = 30, retries = 2, backoff = 0.1, backoff_max = 5, max_body = 16 * 1024 * 1024 }

local function check(cond, msg) if not cond then error("http.request: " .. msg, 3) end end

-- The request's options, checked; bad arguments raise (DESIGN §3).
local function options(req)
  check(type(req) == "table", "expects a table")
  local url = req.url
  check(type(url) == "string" and (url:match("^[hH][tT][tT][pP][sS]?://[^/]")) ~= nil,
    "url must be an http:// or https:// URL")
  local method = req.method or "GET"
  check(type(method) == "string" and method:match("^[%a]+$"), "method must be a word such as GET")
  method = method:upper()
  check(req.body == nil or type(req.body) == "string", "body must be a string")
  local D = M.DEFAULTS
  local timeout = req.timeout or D.timeout
  check(type(timeout) == "number" and timeout > 0, "timeout must be seconds > 0")
  local retries = req.retries or D.retries
  check(type(retries) == "number" and retries >= 0 and floor(retries) == retries, "retries must be an integer >= 0")
  local max_body = req.max_body or D.max_body
  check(type(max_body) == "number" and max_body >= 0, "max_body must be bytes >= 0")
  local backoff = req.backoff or D.backoff
  check(type(backoff) == "number" and backoff >= 0, "backoff must be seconds >= 0")
  check(req.ca_file == nil or type(req.ca_file) == "string", "ca_file must be a path")
  for _, k in ipairs({ "ca_pem", "cert_pem", "key_pem", "cert_file", "key_file" }) do
    check(req[k] == nil or type(req[k]) == "string", k .. " must be a string")
  end
  check((req.cert_pem or req.cert_file) == nil or (req.key_pem or req.key_file) ~= nil,
    "a client certificate needs its key (key_pem or key_file)")
  check(req.verify == nil or req.verify == true, "TLS verification cannot be turned off")
  local lines, has_expect = {}, false
  if req.headers ~= nil then
    check(type(req.headers) == "table", "headers must be a table of name = value")
    for k, v in pairs(req.headers) do
      check(type(k) == "string" and k:match("^[!#$%%&'*+%-.^_`|~%w]+$"), "bad header name " .. tostring(k))
      v = tostring(v)
      check(not v:find("[\r\n%z]"), "header " .. k .. " has a line break or NUL in its value")
      if k:lower() == "expect" then has_expect = true end
      -- "Name:" with nothing after it would remove the header in libcurl; "Name;" sends it empty
      lines[#lines + 1] = v == "" and (k .. ";") or (k .. ": " .. v)
    end
    table.sort(lines) -- a stable order on the wire
  end
  -- libcurl would wait up to 1 s for "100 Continue" before sending a large body
  if not has_expect then lines[#lines + 1] = "Expect:" end
  return {
    method = method, url = url, body = req.body, headers = lines, ca_file = req.ca_file, ca_pem = req.ca_pem,
    cert_pem = req.cert_pem, key_pem = req.key_pem, cert_file = req.cert_file, key_file = req.key_file,
    timeout_ms = timeout * 1000, max_body = max_body,
  }, retries, backoff
end

-- One attempt: status, headers, body | nil, err, code.
local function attempt(opts)
  local r = curl.request(opts)
  if not task.current() then
    local a, b, c = r:perform()
    r:close()
    return a, b, c
  end
  local a, b, c = task.await(function(wake)
    local ok, err = r:start(wake)
    if not ok then wake(nil, err, "EHTTP") end
  end)
  r:close()
  return a, b, c
end

local function pause(seconds)
  if task.current() then task.sleep(seconds * 1000) else curl.sleep(seconds * 1000) end
end

-- The delay before retry n (1, 2, ...): base * 2^(n-1), capped, with "equal jitter"
-- (half fixed, half random) so that clients that failed together do not retry together.
function M.backoff_delay(n, base, cap)
  local d = min(cap or M.DEFAULTS.backoff_max, base * 2 ^ (n - 1))
  return d / 2 + random() * d / 2
end

function M.request(req)
  local opts, retries, backoff = options(req)
  local can_retry = M.IDEMPOTENT[opts.method] and retries > 0
  local n = 0
  while true do
    local status, headers, body = attempt(opts)
    local retry
    if status then
      retry = status >= 500 and status <= 599
    else
      retry = M.RETRY_CODES[body] -- (nil, err, code)
    end
    if not (retry and can_retry and n < retries) then
      if status then return { status = status, headers = headers, body = body, attempts = n + 1 } end
      return nil, opts.method .. " " .. opts.url .. ": " .. tostring(headers), body
    end
    n = n + 1
    pause(M.backoff_delay(n, backoff))
  end
end

-- Shorthands: http.get(url, opts), http.post(url, body, opts).
function M.get(url, opts)
  local req = {}
  for k, v in pairs(opts or {}) do req[k] = v end
  req.method, req.url = "GET", url
  return M.request(req)
end

function M.post(url, body, opts)
  local req = {}
  for k, v in pairs(opts or {}) do req[k] = v end
  req.method, req.url, req.body = "POST", url, body
  return M.request(req)
end

return M
