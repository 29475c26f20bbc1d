-- alluse.http against tests/integration/http_server.py; run by test_http_client.sh,
-- which starts the server and sets HTTP_PORT, HTTPS_PORT, DEAD_PORT, CERT and
-- http_proxy (the same server) with no_proxy for loopback.
local t = require("alluse.test")
local http = require("alluse.http")
local task = require("alluse.task")
local loop = require("alluse.core.loop")

local base = "http://127.0.0.1:" .. os.getenv("HTTP_PORT")
local tls = "https://localhost:" .. os.getenv("HTTPS_PORT")
local dead = "http://127.0.0.1:" .. os.getenv("DEAD_PORT")
local cert = os.getenv("CERT")

local function count(key)
  local res = http.request{ url = base .. "/count?key=" .. key }
  return res and tonumber(res.body)
end

-- arguments
t.raises(function() http.request{ url = "ftp://x/" } end, "http:// or https://", "a non-HTTP URL raises")
t.raises(function() http.request{ url = base, verify = false } end, "cannot be turned off", "verify = false raises")
t.raises(function() http.request{ url = base, headers = { ["x-a"] = "1\r\nx-b: 2" } } end, "line break",
  "a header value with a line break raises")

-- the blocking path (outside a task)
local res, err, code = http.request{ url = base .. "/hello", headers = { ["X-Custom"] = "42" } }
t.is(res and res.status, 200, "GET outside a task: 200")
t.is(res and res.body, "hello", "GET: the body")
t.is(res and res.headers["content-type"], "text/plain", "GET: header names are lower case")
t.is(res and res.headers["x-multi"], "a, b", "GET: a repeated header is joined with \", \"")
t.is(res and res.headers["x-echo"], "42", "GET: request headers are sent")
res = http.request{ method = "HEAD", url = base .. "/hello" }
t.is(res and res.status .. "|" .. res.body .. "|" .. res.headers["content-length"], "200||5", "HEAD: status, no body")
res = http.request{ url = base .. "/nothing-here" }
t.is(res and res.status, 404, "a 404 is a response, not an error")
res, err, code = http.request{ url = dead .. "/", retries = 0 }
t.is(code, "ECONNREFUSED", "nothing listening: ECONNREFUSED (" .. tostring(err) .. ")")
res = http.request{ url = "http://proxied.invalid/through" }
t.is(res and res.body, "proxied http://proxied.invalid/through", "http_proxy from the environment is used")

task.run(function()
  -- inside a task
  res = http.request{ url = base .. "/hello" }
  t.is(res and res.body, "hello", "GET inside a task")
  res = http.request{ method = "POST", url = base .. "/echo", body = "a=1\0b",
    headers = { ["content-type"] = "application/octet-stream" } }
  t.is(res and res.body, "a=1\0b", "POST: the body is sent and echoed, NUL included")
  t.is(res and res.headers["x-method"] .. " " .. res.headers["x-content-type"], "POST application/octet-stream",
    "POST: method and content type")
  res = http.request{ method = "PUT", url = base .. "/echo", body = "put body" }
  t.is(res and res.headers["x-method"] .. ":" .. res.body, "PUT:put body", "PUT with a body")
  res = http.request{ method = "DELETE", url = base .. "/echo" }
  t.is(res and res.headers["x-method"], "DELETE", "DELETE")
  local big = string.rep("z", 3 * 1024 * 1024)
  res = http.request{ method = "POST", url = base .. "/echo", body = big }
  t.ok(res and res.body == big, "POST: a 3 MiB body goes and comes back whole")

  -- concurrency: three 0.3 s requests while a timer ticks
  local ticks, done = 0, 0
  local t0 = loop.now()
  local ticking = true
  task.spawn(function() while ticking do task.sleep(20) ticks = ticks + 1 end end)
  local bodies = {}
  for i = 1, 3 do
    task.spawn(function()
      local r = http.request{ url = base .. "/slow?ms=300" }
      bodies[i] = r and r.body
      done = done + 1
    end)
  end
  while done < 3 do task.sleep(10) end
  ticking = false
  local elapsed = (loop.now() - t0) / 1000
  t.is(table.concat(bodies, ","), "slow,slow,slow", "three slow requests in three tasks all answer")
  t.ok(elapsed < 0.85, string.format("they overlap: %.3f s for 3 x 0.3 s", elapsed))
  t.ok(ticks >= 5, "a timer kept ticking meanwhile (" .. ticks .. " ticks)")

  -- timeout
  local t1 = loop.now()
  res, err, code = http.request{ url = base .. "/slow?ms=3000", timeout = 0.2, retries = 0 }
  t.is(code, "ETIMEDOUT", "timeout: ETIMEDOUT (" .. tostring(err) .. ")")
  t.ok(loop.now() - t1 < 2000, "timeout: returns well before the server answers")
  res, err, code = http.request{ url = dead .. "/", retries = 0 }
  t.is(code, "ECONNREFUSED", "in a task, nothing listening: ECONNREFUSED")

  -- retries
  res = http.request{ url = base .. "/flaky?key=g&fail=1", backoff = 0.01 }
  t.is(res and res.status, 200, "GET: a 503 then 200 is retried to 200")
  t.is(count("g"), 2, "GET: the server saw 2 attempts")
  t.is(res and res.attempts, 2, "GET: res.attempts = 2")
  res = http.request{ url = base .. "/flaky?key=g3&fail=9", backoff = 0.01 }
  t.is(res and res.status, 503, "GET: still 503 after the retries: the last response")
  t.is(count("g3"), 3, "GET: retries = 2 by default: 3 attempts")
  res = http.request{ method = "POST", url = base .. "/flaky?key=p&fail=1", body = "x", backoff = 0.01 }
  t.is(res and res.status, 503, "POST: a 503 is not retried")
  t.is(count("p"), 1, "POST: the server saw 1 attempt")
  res = http.request{ method = "PATCH", url = base .. "/flaky?key=pa&fail=1", body = "x", backoff = 0.01 }
  t.is(count("pa"), 1, "PATCH: not retried")
  res = http.request{ method = "PUT", url = base .. "/flaky?key=pu&fail=1", body = "x", backoff = 0.01, retries = 1 }
  t.is(res and res.status .. " " .. count("pu"), "200 2", "PUT: retried")

  -- TLS
  res, err, code = http.request{ url = tls .. "/hello", retries = 0 }
  t.is(code, "ETLS", "HTTPS with a self-signed certificate, no ca_file: ETLS (" .. tostring(err) .. ")")
  res, err = http.request{ url = tls .. "/hello", ca_file = cert }
  t.is(res and res.body, "hello", "HTTPS with ca_file: verified and answered " .. tostring(err))
  res, err, code = http.request{ url = "https://127.0.0.1:" .. os.getenv("HTTPS_PORT") .. "/hello", ca_file = cert,
    retries = 0 }
  t.is(code, "ETLS", "HTTPS with ca_file to a name the certificate does not carry (127.0.0.1): ETLS ("
    .. tostring(err) .. ")")

  -- the CA as PEM text (kubeconfig's certificate-authority-data), and mutual TLS
  local function slurp(path) local f = assert(io.open(path, "rb")) local x = f:read("*a") f:close() return x end
  local ca_pem = slurp(cert)
  res, err = http.request{ url = tls .. "/hello", ca_pem = ca_pem }
  t.is(res and res.body, "hello", "HTTPS with ca_pem (PEM text): verified " .. tostring(err))
  res, err, code = http.request{ url = tls .. "/hello", ca_pem = slurp(os.getenv("CLIENT_CERT")), retries = 0 }
  t.is(code, "ETLS", "ca_pem of another CA: ETLS (" .. tostring(err) .. ")")
  local mtls = "https://localhost:" .. os.getenv("MTLS_PORT") .. "/hello"
  res, err, code = http.request{ url = mtls, ca_pem = ca_pem, retries = 0 }
  t.ok(res == nil and (code == "ETLS" or code == "ECONNECTION"),
    "mutual TLS without a client certificate: refused (" .. tostring(code) .. ": " .. tostring(err) .. ")")
  res, err = http.request{ url = mtls, ca_pem = ca_pem, cert_pem = slurp(os.getenv("CLIENT_CERT")),
    key_pem = slurp(os.getenv("CLIENT_KEY")) }
  t.is(res and res.body, "hello", "mutual TLS with cert_pem and key_pem (PEM text): answered " .. tostring(err))
  res, err = http.request{ url = mtls, ca_file = cert, cert_file = os.getenv("CLIENT_CERT"),
    key_file = os.getenv("CLIENT_KEY") }
  t.is(res and res.body, "hello", "mutual TLS with cert_file and key_file: answered " .. tostring(err))
  t.raises(function() http.request{ url = mtls, cert_pem = "x" } end, "needs its key", "a certificate without its key raises")

  -- body limit
  res, err, code = http.request{ url = base .. "/big?n=100000", max_body = 1000 }
  t.is(code, "EBODY", "max_body exceeded (Content-Length): EBODY (" .. tostring(err) .. ")")
  res, err, code = http.request{ url = base .. "/big?n=100000&nolen=1", max_body = 1000 }
  t.is(code, "EBODY", "max_body exceeded (no Content-Length): EBODY")
  res = http.request{ url = base .. "/big?n=1000&nolen=1", max_body = 1000 }
  t.is(res and #res.body, 1000, "a body of exactly max_body is fine")
end)

-- TLS outside a task
res, err, code = http.request{ url = tls .. "/hello", retries = 0 }
t.is(code, "ETLS", "blocking HTTPS without ca_file: ETLS")
res = http.request{ url = tls .. "/hello", ca_file = cert }
t.is(res and res.status, 200, "blocking HTTPS with ca_file: 200")
res, err, code = http.request{ url = base .. "/big?n=100000&nolen=1", max_body = 1000 }
t.is(code, "EBODY", "blocking: max_body exceeded: EBODY")

-- many at once
local answered = 0
task.run(function()
  for _ = 1, 50 do
    task.spawn(function()
      local r = http.request{ url = base .. "/slow?ms=100" }
      if r and r.status == 200 then answered = answered + 1 end
    end)
  end
end)
t.is(answered, 50, "50 requests in 50 tasks all answer")

-- a task fails while another one's request is in flight: task.run raises, and the
-- request left in the multi neither breaks the next task.run nor the exit (lua_close
-- finalizes the multi with it still in flight)
local ok = pcall(task.run, function()
  task.spawn(function() http.request{ url = base .. "/slow?ms=300" } end)
  task.sleep(20)
  error("boom")
end)
t.ok(not ok, "task.run raises the failure while a request is in flight")
res = task.run(function() return http.request{ url = base .. "/hello" } end)
t.is(res and res.body, "hello", "the next task.run still makes requests")
pcall(task.run, function()
  task.spawn(function() http.request{ url = base .. "/slow?ms=2000" } end)
  task.sleep(20)
  error("boom again")
end)
t.pass("leaving with a request in flight (the process must exit cleanly after this)")
