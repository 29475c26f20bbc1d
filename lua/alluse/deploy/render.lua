-- alluse.deploy.render: a deploy script and an environment to the list of objects,
-- and that list to files (docs/deploy.md).
--
--   local env = render.environment("deploy-scripts/fleet.lua", "staging")
--   local objs, name = render.objects("deploy-scripts/fleet.lua", env)
--   render.write(objs, "out/staging", "yaml")
--
-- Hermetic: a script reads its own files (strategy sources) and nothing else; no
-- network.  Deterministic: the same script, environment and files give the same
-- bytes.  Errors name the Lua file and line they come from.
local json = require("alluse.json")
local k8s = require("alluse.deploy.k8s")

local format = string.format

local M = {}

-- The labels every object carries: what diff and prune select by.
M.MANAGED_BY = "app.kubernetes.io/managed-by"
M.DEPLOY_LABEL = "alluse.io/deploy"
M.ENV_LABEL = "alluse.io/env"

local function dir_of(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- Runs a Lua file with the error kept as "file:line: message" (no traceback: the
-- message is what the user needs).
local function run_file(path, ...)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local res = { xpcall(chunk, function(e) return tostring(e) end, ...) }
  if not res[1] then return nil, res[2] end
  return true, unpack(res, 2, table.maxn(res))
end

-- Deep merge: maps merge key by key, anything else (lists included) replaces.
local function is_list(t)
  if json.is_array(t) then return true end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n > 0 and n == #t
end

function M.merge(base, over)
  if type(base) ~= "table" or type(over) ~= "table" or is_list(over) or is_list(base) then return over end
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(over) do out[k] = M.merge(base[k], v) end
  return out
end

local function load_table(path)
  local ok, v = run_file(path)
  if not ok then return nil, v end
  if type(v) ~= "table" then return nil, format("%s: must return a table, returned %s", path, type(v)) end
  return v
end

-- The environment `name` for a script: its folder's environments/defaults.lua, then
-- environments/NAME.lua merged over it; env.name is NAME.
function M.environment(script, name)
  if type(name) ~= "string" or not name:match("^[a-z0-9][-a-z0-9]*$") then
    return nil, format("--env must be a name like dev or prod, got '%s'", tostring(name))
  end
  local dir = dir_of(script) .. "/environments"
  local defaults = {}
  local f = io.open(dir .. "/defaults.lua")
  if f then
    f:close()
    local d, err = load_table(dir .. "/defaults.lua")
    if not d then return nil, err end
    defaults = d
  end
  local path = dir .. "/" .. name .. ".lua"
  f = io.open(path)
  if not f then
    return nil, format("%s: no such environment (looked for %s)", name, path)
  end
  f:close()
  local over, err = load_table(path)
  if not over then return nil, err end
  local env = M.merge(defaults, over)
  env.name = name
  return env
end

-- What a script's function receives besides env: include(path) runs another script
-- (relative to this one) with the same env and returns its objects; file(path) reads
-- a file relative to the script; root is the script's folder.
local function context(script, env, seen)
  local dir = dir_of(script)
  local ctx = { root = dir, env = env }
  function ctx.include(rel)
    local path = rel:sub(1, 1) == "/" and rel or (dir .. "/" .. rel)
    if seen[path] then k8s.fail("include: %s is already included (a cycle?)", rel) end
    local objs, err = M.objects(path, env, seen)
    if not objs then error(err, 0) end
    return objs
  end
  function ctx.file(rel)
    local path = rel:sub(1, 1) == "/" and rel or (dir .. "/" .. rel)
    local f, err = io.open(path, "rb")
    if not f then k8s.fail("file: %s", err) end
    local s = f:read("*a")
    f:close()
    return s
  end
  return ctx
end

-- Runs a deploy script: it returns function(env, ctx) -> list of objects (or a list
-- directly).  Returns the objects (flattened, in the order given) or nil, message.
function M.objects(script, env, seen)
  seen = seen or {}
  seen[script] = true
  local ok, fn = run_file(script)
  if not ok then return nil, fn end
  local list = fn
  if type(fn) == "function" then
    local ctx = context(script, env, seen)
    ok, list = xpcall(fn, function(e) return tostring(e) end, env, ctx)
    if not ok then return nil, list end
  end
  if type(list) ~= "table" then
    return nil, format("%s: must return a list of objects or function(env, ctx) returning one, got %s", script, type(list))
  end
  local out = {}
  local function add(v, path)
    if type(v) ~= "table" then
      error(format("%s: %s is a %s, not an object", script, path, type(v)), 0)
    end
    if v.kind and v.apiVersion then
      out[#out + 1] = v
    else
      for i, x in ipairs(v) do add(x, path .. "[" .. i .. "]") end
    end
  end
  local aok, aerr = pcall(add, list, "the result")
  if not aok then return nil, aerr end
  return out
end

-- The labels of the deploy on every object (and its pod templates), duplicates and
-- names checked, objects in apply order.
function M.finish(objs, deploy, env)
  local seen = {}
  for _, o in ipairs(objs) do
    local md = o.metadata
    md.labels = md.labels or {}
    md.labels[M.MANAGED_BY] = "alluse"
    md.labels[M.DEPLOY_LABEL] = deploy
    md.labels[M.ENV_LABEL] = env.name
    md.labels["app.kubernetes.io/part-of"] = md.labels["app.kubernetes.io/part-of"] or "alluse"
    local key = format("%s/%s/%s", o.kind, md.namespace or "", md.name)
    if seen[key] then return nil, format("two objects are %s %s%s", o.kind, md.namespace and (md.namespace .. "/") or "", md.name) end
    seen[key] = true
  end
  return k8s.sort(objs)
end

-- The file name of an object: its place in the apply order, kind, namespace, name.
function M.file_name(i, o, ext)
  local md = o.metadata
  return format("%03d-%s-%s%s.%s", i, o.kind:lower(), md.namespace and (md.namespace .. "-") or "", md.name, ext)
end

local HEADER = "# rendered by alluse deploy: do not edit; edit the deploy script and render again\n"
M.HEADER = HEADER

function M.encode(o, fmt)
  if fmt == "json" then return json.encode(o, { sorted = true, indent = 2 }) .. "\n" end
  return HEADER .. require("alluse.deploy.yaml").encode(o)
end

-- Writes one file per object and kustomization.yaml into dir (created when missing).
-- Files a previous render wrote there (they start with HEADER) are removed first, so
-- an object that left the render leaves the folder too; other files are kept.
function M.write(objs, dir, fmt)
  fmt = fmt or "yaml"
  local ext = fmt == "json" and "json" or "yaml"
  local fs = require("alluse.fs")
  local made, merr = fs.mkdir_p(dir)
  if not made then return nil, merr end
  for _, path in ipairs(fs.files(dir, { maxdepth = 1 })) do
    local name = path:match("([^/]*)$")
    -- ours: NNN-kind-....yaml|json (YAML ones start with HEADER), kustomization.yaml
    local numbered = name:match("^%d%d%d%-.+%.ya?ml$") or name:match("^%d%d%d%-.+%.json$")
    if numbered or name == "kustomization.yaml" then
      local f = io.open(dir .. "/" .. name, "rb")
      local head = f and f:read(#HEADER) or ""
      if f then f:close() end
      if head == HEADER or name:match("%.json$") then os.remove(dir .. "/" .. name) end
    end
  end
  local files = {}
  for i, o in ipairs(objs) do
    local name = M.file_name(i, o, ext)
    local f, err = io.open(dir .. "/" .. name, "wb")
    if not f then return nil, err end
    f:write(M.encode(o, fmt))
    f:close()
    files[#files + 1] = name
  end
  local kust = { apiVersion = "kustomize.config.k8s.io/v1beta1", kind = "Kustomization", resources = json.array(files) }
  local f, err = io.open(dir .. "/kustomization.yaml", "wb")
  if not f then return nil, err end
  f:write(HEADER, require("alluse.deploy.yaml").encode(kust))
  f:close()
  return files
end

return M
