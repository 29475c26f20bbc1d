-- alluse.deploy.kube: a Kubernetes API client (docs/deploy.md, Cluster access).
--
--   local kube = require("alluse.deploy.kube")
--   local c, err = kube.connect{ kubeconfig = nil, context = nil }  -- KUBECONFIG, ~/.kube/config, in-cluster
--   local obj, err, code = c:get("apps/v1", "StatefulSet", "ns", "name")
--   local list = c:list("v1", "Pod", "ns", { labels = "app=x" })
--   local applied = c:apply(obj, { dry_run = true, force = false })   -- server-side apply
--   c:delete("v1", "ConfigMap", "ns", "name")
--
-- Credentials: a kubeconfig's current context (or `context`): the server, its CA
-- (certificate-authority file or -data), and a bearer token (token, tokenFile) or a
-- client certificate and key (files or -data); or, inside a pod, the service account's
-- token and CA.  TLS is always verified: insecure-skip-tls-verify is refused, and so
-- are exec and auth-provider plugins (not supported).  Errors are nil, message, code
-- with the API server's Status message when it sent one; codes: ENOTFOUND, ECONFLICT,
-- EFORBIDDEN, EUNAUTHORIZED, EINVALID, EKUBE (any other status), and the HTTP
-- client's transport codes.
local json = require("alluse.json")
local http = require("alluse.http")
local crypto = require("alluse.crypto")

local format = string.format

local M = {}

local Client = {}
Client.__index = Client

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

local function b64(what, text)
  local v, err = crypto.unbase64((text:gsub("%s", "")))
  if not v then return nil, format("%s is not base64: %s", what, tostring(err)) end
  return v
end

-- Merges the kubeconfig files of a KUBECONFIG list: the first file to name a cluster,
-- user or context wins, and the first current-context set wins (kubectl's rules).
local function load_kubeconfig(paths)
  local yaml = require("alluse.deploy.yaml")
  local merged = { clusters = {}, users = {}, contexts = {}, dirs = {} }
  local any = false
  for _, path in ipairs(paths) do
    local text = read_file(path)
    if text then
      any = true
      local doc, err = yaml.decode(text, path)
      if doc == nil and err then return nil, err end
      doc = doc or {}
      if type(doc) ~= "table" then return nil, path .. ": not a kubeconfig (a mapping)" end
      local dir = path:match("^(.*)/[^/]*$") or "."
      for _, section in ipairs({ { "clusters", "cluster" }, { "users", "user" }, { "contexts", "context" } }) do
        for i, entry in ipairs(doc[section[1]] or {}) do
          if type(entry) ~= "table" or type(entry.name) ~= "string" then
            return nil, format("%s: %s[%d] has no name", path, section[1], i)
          end
          if not merged[section[1]][entry.name] then
            merged[section[1]][entry.name] = entry[section[2]] or {}
            merged.dirs[section[1] .. ":" .. entry.name] = dir
          end
        end
      end
      if not merged.current and type(doc["current-context"]) == "string" and doc["current-context"] ~= "" then
        merged.current = doc["current-context"]
      end
    end
  end
  if not any then return nil, "no kubeconfig found at " .. table.concat(paths, ":") end
  return merged
end

-- A path in a kubeconfig is relative to the file that named it.
local function resolve(dir, path)
  if path:sub(1, 1) == "/" then return path end
  return dir .. "/" .. path
end

local function from_kubeconfig(paths, context_name)
  local kc, err = load_kubeconfig(paths)
  if not kc then return nil, err end
  local name = context_name or kc.current
  if not name then return nil, "the kubeconfig has no current-context: pass --context" end
  local ctx = kc.contexts[name]
  if not ctx then return nil, format("context '%s' is not in the kubeconfig", name) end
  local cluster = kc.clusters[ctx.cluster or ""]
  if not cluster then return nil, format("context '%s': no cluster '%s'", name, tostring(ctx.cluster)) end
  local user = kc.users[ctx.user or ""] or {}
  local cdir, udir = kc.dirs["clusters:" .. ctx.cluster], kc.dirs["users:" .. tostring(ctx.user)] or "."
  if type(cluster.server) ~= "string" or not cluster.server:match("^https://") then
    return nil, format("cluster '%s': server must be an https:// URL, got %s", ctx.cluster, tostring(cluster.server))
  end
  if cluster["insecure-skip-tls-verify"] then
    return nil, format("cluster '%s': insecure-skip-tls-verify is set; alluse always verifies TLS (give the CA)", ctx.cluster)
  end
  if user.exec or user["auth-provider"] then
    return nil, format("user '%s': exec and auth-provider credential plugins are not supported; use a token or a client certificate",
      tostring(ctx.user))
  end
  local c = { server = cluster.server:gsub("/+$", ""), namespace = ctx.namespace, context = name }
  if cluster["certificate-authority-data"] then
    c.ca_pem, err = b64("certificate-authority-data", cluster["certificate-authority-data"])
    if not c.ca_pem then return nil, err end
  elseif cluster["certificate-authority"] then
    c.ca_file = resolve(cdir, cluster["certificate-authority"])
  end
  if user.token then
    c.token = user.token
  elseif user.tokenFile then
    c.token_file = resolve(udir, user.tokenFile)
  end
  if user["client-certificate-data"] then
    c.cert_pem, err = b64("client-certificate-data", user["client-certificate-data"])
    if not c.cert_pem then return nil, err end
  elseif user["client-certificate"] then
    c.cert_file = resolve(udir, user["client-certificate"])
  end
  if user["client-key-data"] then
    c.key_pem, err = b64("client-key-data", user["client-key-data"])
    if not c.key_pem then return nil, err end
  elseif user["client-key"] then
    c.key_file = resolve(udir, user["client-key"])
  end
  if (c.cert_pem or c.cert_file) and not (c.key_pem or c.key_file) then
    return nil, format("user '%s': a client certificate without its key", tostring(ctx.user))
  end
  if user.username or user.password then
    return nil, format("user '%s': basic authentication is not supported", tostring(ctx.user))
  end
  return c
end

-- Inside a pod: the service account's token (read again for every request: it
-- rotates), CA and namespace.  ALLUSE_K8S_SA_DIR moves the folder (tests).
local function in_cluster()
  local host, port = os.getenv("KUBERNETES_SERVICE_HOST"), os.getenv("KUBERNETES_SERVICE_PORT")
  if not host or host == "" then return nil end
  local dir = os.getenv("ALLUSE_K8S_SA_DIR") or "/var/run/secrets/kubernetes.io/serviceaccount"
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  return { server = format("https://%s:%s", host, port or "443"), token_file = dir .. "/token", ca_file = dir .. "/ca.crt",
    namespace = (read_file(dir .. "/namespace") or ""):match("^%s*(%S+)"), context = "in-cluster" }
end

-- opts: kubeconfig (a path or a ':' list; default $KUBECONFIG, then ~/.kube/config),
-- context, timeout (seconds).  Without a kubeconfig file, the in-cluster account.
function M.connect(opts)
  opts = opts or {}
  local list = opts.kubeconfig or os.getenv("KUBECONFIG")
  local c, err
  if list and list ~= "" then
    local paths = {}
    for p in list:gmatch("[^:]+") do paths[#paths + 1] = p end
    c, err = from_kubeconfig(paths, opts.context)
  else
    local home = os.getenv("HOME")
    local default = home and (home .. "/.kube/config")
    if default and read_file(default) then
      c, err = from_kubeconfig({ default }, opts.context)
    else
      c = in_cluster()
      if not c then err = "no cluster: set KUBECONFIG, create ~/.kube/config, or run inside a pod" end
    end
  end
  if not c then return nil, "kubernetes: " .. err, "ECONFIG" end
  c.timeout = opts.timeout or 30
  c.discovery = {}
  return setmetatable(c, Client)
end

-- ---- requests ----

local STATUS_CODES = { [401] = "EUNAUTHORIZED", [403] = "EFORBIDDEN", [404] = "ENOTFOUND", [409] = "ECONFLICT",
  [422] = "EINVALID" }

-- method, path (with query), body (table: JSON; string: as is), content_type ->
-- decoded body, status | nil, message, code, status.  accept: another media type
-- (a pod's /metrics through the API server's proxy): the body comes back as text.
function Client:request(method, path, body, content_type, accept)
  local headers = { Accept = accept or "application/json" }
  local token = self.token
  if not token and self.token_file then
    local t, terr = read_file(self.token_file)
    if not t then return nil, "kubernetes: token file: " .. tostring(terr), "ECONFIG" end
    token = t:match("^%s*(.-)%s*$")
  end
  if token then headers.Authorization = "Bearer " .. token end
  if body ~= nil then
    headers["Content-Type"] = content_type or "application/json"
    if type(body) == "table" then body = json.encode(body, { sorted = true }) end
  end
  local res, err, code = http.request { method = method, url = self.server .. path, headers = headers, body = body,
    timeout = self.timeout, ca_file = self.ca_file, ca_pem = self.ca_pem, cert_pem = self.cert_pem,
    key_pem = self.key_pem, cert_file = self.cert_file, key_file = self.key_file,
    retries = (method == "GET" or method == "DELETE" or method == "PUT") and 2 or 0 }
  if not res then return nil, format("kubernetes: %s %s: %s", method, path, tostring(err)), code end
  if accept and res.status >= 200 and res.status < 300 then return res.body, res.status end
  local doc = res.body ~= "" and json.decode(res.body) or nil
  if res.status >= 200 and res.status < 300 then return doc or {}, res.status end
  local msg = type(doc) == "table" and doc.message or res.body:sub(1, 200)
  return nil, format("kubernetes: %s %s: %d %s", method, path, res.status, tostring(msg)),
    STATUS_CODES[res.status] or "EKUBE", res.status
end

local function escape(s)
  return (tostring(s):gsub("[^%w%-._~]", function(ch) return format("%%%02X", ch:byte()) end))
end

local function query_string(q)
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = escape(k) .. "=" .. escape(q[k]) end
  return #parts > 0 and ("?" .. table.concat(parts, "&")) or ""
end
M.query_string = query_string

-- Discovery: the resource (plural, namespaced) serving `kind` in `api_version`.
function Client:resource(api_version, kind)
  local gv = self.discovery[api_version]
  if not gv then
    local path = api_version:find("/", 1, true) and ("/apis/" .. api_version) or ("/api/" .. api_version)
    local doc, err, code = self:request("GET", path)
    if not doc then
      if code == "ENOTFOUND" then
        return nil, format("kubernetes: the cluster does not serve %s (is its CRD installed?)", api_version), code
      end
      return nil, err, code
    end
    gv = {}
    for _, r in ipairs(doc.resources or {}) do
      if not r.name:find("/", 1, true) then gv[r.kind] = { plural = r.name, namespaced = r.namespaced } end
    end
    self.discovery[api_version] = gv
  end
  local r = gv[kind]
  if not r then return nil, format("kubernetes: %s has no kind %s", api_version, kind), "ENOTFOUND" end
  return r
end

-- The URL path of an object (name nil: the collection).
function Client:path(api_version, kind, namespace, name)
  local r, err, code = self:resource(api_version, kind)
  if not r then return nil, err, code end
  local base = api_version:find("/", 1, true) and ("/apis/" .. api_version) or ("/api/" .. api_version)
  if r.namespaced then
    if not namespace then return nil, format("kubernetes: %s is namespaced: a namespace is needed", kind), "EINVALID" end
    base = base .. "/namespaces/" .. escape(namespace)
  end
  base = base .. "/" .. r.plural
  if name then base = base .. "/" .. escape(name) end
  return base
end

function Client:get(api_version, kind, namespace, name)
  local path, err, code = self:path(api_version, kind, namespace, name)
  if not path then return nil, err, code end
  return self:request("GET", path)
end

-- opts: labels (a label selector), fields.  Returns the items (a list).
function Client:list(api_version, kind, namespace, opts)
  opts = opts or {}
  local path, err, code = self:path(api_version, kind, namespace)
  if not path then return nil, err, code end
  local doc
  doc, err, code = self:request("GET", path .. query_string({ labelSelector = opts.labels, fieldSelector = opts.fields }))
  if not doc then return nil, err, code end
  return doc.items or {}
end

-- Server-side apply (PATCH application/apply-patch+yaml, fieldManager alluse).  JSON
-- is YAML, so the object is sent as JSON.  opts: dry_run, force, manager.
function Client:apply(obj, opts)
  opts = opts or {}
  local md = obj.metadata
  local path, err, code = self:path(obj.apiVersion, obj.kind, md.namespace, md.name)
  if not path then return nil, err, code end
  local q = { fieldManager = opts.manager or "alluse" }
  if opts.force then q.force = "true" end
  if opts.dry_run then q.dryRun = "All" end
  return self:request("PATCH", path .. query_string(q), obj, "application/apply-patch+yaml")
end

function Client:delete(api_version, kind, namespace, name, opts)
  opts = opts or {}
  local path, err, code = self:path(api_version, kind, namespace, name)
  if not path then return nil, err, code end
  local q = { propagationPolicy = opts.propagation or "Background" }
  if opts.dry_run then q.dryRun = "All" end
  return self:request("DELETE", path .. query_string(q))
end

-- Create (POST) and replace (PUT, with the object's resourceVersion: a conflict is
-- ECONFLICT) for the Lease and the revision Secrets.
function Client:create(obj)
  local path, err, code = self:path(obj.apiVersion, obj.kind, obj.metadata.namespace)
  if not path then return nil, err, code end
  return self:request("POST", path, obj)
end

function Client:replace(obj)
  local md = obj.metadata
  local path, err, code = self:path(obj.apiVersion, obj.kind, md.namespace, md.name)
  if not path then return nil, err, code end
  return self:request("PUT", path, obj)
end

return M
