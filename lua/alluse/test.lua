-- alluse.test: assertions that print TAP, for `alluse test`.
--
--   local t = require("alluse.test")
--   t.is(1 + 1, 2, "adds")
--   t.raises(function() error("boom") end, "boom", "raises")
--
-- Each assertion prints "ok N - name" or "not ok N - name" with a diagnostic, and
-- returns whether it passed.  run_files() prints the plan at the end, so files need
-- no count up front.
local M = {}

local count, failed = 0, 0

local function emit(pass, name, diag)
  count = count + 1
  if not pass then failed = failed + 1 end
  io.stdout:write((pass and "ok " or "not ok "), count, name and name ~= "" and (" - " .. tostring(name):gsub("\n", " ")) or "", "\n")
  if not pass and diag then
    for line in (diag .. "\n"):gmatch("(.-)\n") do io.stdout:write("#   ", line, "\n") end
  end
  io.stdout:flush()
  return pass
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function M.ok(v, name)
  return emit(not not v, name, "expected a true value, got " .. show(v))
end

function M.is(got, want, name)
  return emit(got == want, name, "     got: " .. show(got) .. "\nexpected: " .. show(want))
end

function M.isnt(got, unwanted, name)
  return emit(got ~= unwanted, name, "got " .. show(got) .. ", expected anything else")
end

function M.like(s, pattern, name)
  local pass = type(s) == "string" and s:find(pattern) ~= nil
  return emit(pass, name, show(s) .. "\ndoes not match " .. show(pattern))
end

function M.unlike(s, pattern, name)
  local pass = type(s) == "string" and s:find(pattern) == nil
  return emit(pass, name, show(s) .. "\nmatches " .. show(pattern))
end

function M.near(got, want, tol, name)
  local pass = type(got) == "number" and math.abs(got - want) <= tol
  return emit(pass, name, "     got: " .. show(got) .. "\nexpected: " .. show(want) .. " ± " .. tol)
end

-- First difference between two values, as "path: got X, expected Y", or nil.
local function diff(a, b, path, seen)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a == b or (a ~= a and b ~= b) then return nil end
    return path .. ": got " .. show(a) .. ", expected " .. show(b)
  end
  if seen[a] == b then return nil end
  seen[a] = b
  for k, v in pairs(b) do
    local d = diff(a[k], v, path .. "[" .. show(k) .. "]", seen)
    if d then return d end
  end
  for k, v in pairs(a) do
    if b[k] == nil then return path .. "[" .. show(k) .. "]: got " .. show(v) .. ", expected nil" end
  end
  return nil
end

function M.is_deeply(got, want, name)
  local d = diff(got, want, "$", {})
  return emit(d == nil, name, d)
end

-- fn must raise an error whose message matches pattern (a Lua pattern; nil: any error).
function M.raises(fn, pattern, name)
  local ok, err = pcall(fn)
  if ok then return emit(false, name, "expected an error, none was raised") end
  local msg = tostring(type(err) == "table" and (err.usage or err.message) or err)
  if pattern and not msg:find(pattern) then
    return emit(false, name, "error " .. show(msg) .. "\ndoes not match " .. show(pattern))
  end
  return emit(true, name)
end

function M.lives(fn, name)
  local ok, err = pcall(fn)
  return emit(ok, name, "raised: " .. tostring(err))
end

function M.pass(name) return emit(true, name) end
function M.fail(name, diag) return emit(false, name, diag) end

function M.skip(reason, n)
  for _ = 1, n or 1 do
    count = count + 1
    io.stdout:write("ok ", count, " # SKIP ", reason, "\n")
  end
end

function M.diag(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  io.stdout:write("# ", table.concat(parts, " "):gsub("\n", "\n# "), "\n")
end

function M.counts() return count, failed end

-- Run test files, each in its own global environment, and print the plan.
-- A file that raises counts as one failed test; the others still run.
function M.run_files(files)
  for _, path in ipairs(files) do
    M.diag(path)
    local chunk, err = loadfile(path)
    if not chunk then
      emit(false, path .. " loads", err)
    else
      setfenv(chunk, setmetatable({}, { __index = _G }))
      local ok, e = xpcall(chunk, function(m) return debug.traceback(tostring(m), 2) end)
      if not ok then emit(false, path .. " ran to the end", e) end
    end
  end
  io.stdout:write("1..", count, "\n")
  io.stdout:flush()
  return failed == 0 and count > 0
end

return M
