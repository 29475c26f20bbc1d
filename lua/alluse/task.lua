-- alluse.task: tasks are coroutines on the libuv loop (DESIGN §3).  An I/O call made
-- inside a task yields until its handle is ready; one resume driver (the handles'
-- callbacks, below) resumes it.  User code reads top to bottom:
--
--   local task = require("alluse.task")
--   task.run(function()
--     task.spawn(function() ... end)          -- another task, runs concurrently
--     task.sleep(100)                         -- ms
--     local ok, err = task.wait_fd(fd, "r", 5000)   -- true | nil, "ETIMEDOUT"
--     local a, b = task.await(function(wake) handle:start(wake) end)  -- wake's arguments
--   end)
--
-- task.run(fn, ...) runs fn as the first task and the loop until every task is done,
-- and returns fn's results (or raises its error).  An error in any other task is
-- raised from task.run too, with its traceback: a task that fails is a bug, not a
-- value.  Outside a task (task.current() == nil) the library's I/O is synchronous.
local loop = require("alluse.core.loop")

local coroutine, error, select, unpack, tostring = coroutine, error, select, unpack, tostring

local M = {}

local tasks = setmetatable({}, { __mode = "k" }) -- coroutine -> true, for current()
local failure -- the first error of a task other than the main one

-- Resumes co with the given values; a task that raised records its error.
local function resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok and not failure then failure = debug.traceback(co, tostring(err)) end
  if coroutine.status(co) == "dead" then tasks[co] = nil end
end

function M.current()
  local co = coroutine.running()
  if co and tasks[co] then return co end
  return nil
end

function M.spawn(fn, ...)
  if type(fn) ~= "function" then error("task.spawn: expects a function", 2) end
  local co = coroutine.create(fn)
  tasks[co] = true
  resume(co, ...)
  return co
end

local function need_task(what)
  local co = M.current()
  if not co then error(what .. ": not inside a task (use task.run or task.spawn)", 3) end
  return co
end

-- Waits until fd is readable ("r") or writable ("w"): true, or nil, "ETIMEDOUT" after
-- timeout_ms (none when nil), or nil, message on a poll error.
function M.wait_fd(fd, mode, timeout_ms)
  local co = need_task("task.wait_fd")
  local p, perr = loop.poll(fd)
  if not p then return nil, perr end
  local t
  local done = false
  local function finish(...)
    if done then return end
    done = true
    p:close()
    if t then t:close() end
    resume(co, ...)
  end
  p:start(mode, function(ev, err)
    if ev then finish(true) else finish(nil, err) end
  end)
  if timeout_ms then
    t = loop.timer()
    t:start(timeout_ms, function() finish(nil, "ETIMEDOUT") end)
  end
  return coroutine.yield()
end

-- Suspends the current task until the function arm(wake) was given is called:
-- arm(wake) starts some I/O whose loop callback calls wake(...), and await returns
-- wake's arguments.  For C modules that call back from the loop (alluse.http); a wake
-- that comes before the task yielded, or a second wake, is handled.
function M.await(arm)
  local co = need_task("task.await")
  local state, early = "arming", nil -- arming -> waiting -> done
  arm(function(...)
    if state == "done" then return end
    if state == "arming" then
      state, early = "done", { n = select("#", ...), ... }
      return
    end
    state = "done"
    resume(co, ...)
  end)
  if early then return unpack(early, 1, early.n) end
  state = "waiting"
  return coroutine.yield()
end

function M.sleep(ms)
  local co = need_task("task.sleep")
  local t = loop.timer()
  t:start(ms, function()
    t:close()
    resume(co)
  end)
  coroutine.yield()
end

function M.now() return loop.now() end

function M.run(fn, ...)
  if M.current() then error("task.run: already inside a task (use task.spawn)", 2) end
  failure = nil
  local results, main_err
  local function keep(ok, ...)
    if not ok then main_err = (...) return end
    results = { n = select("#", ...), ... }
  end
  local main = coroutine.create(function(...) keep(xpcall(fn, debug.traceback, ...)) end)
  tasks[main] = true
  resume(main, ...)
  while not failure and loop.alive() do loop.run("once") end
  local f = failure
  failure = nil
  if main_err ~= nil then error(main_err, 0) end
  if f then error("task failed: " .. f, 0) end
  if not results then error("task.run: the main task is still waiting, on nothing that can wake it", 2) end
  return unpack(results, 1, results.n)
end

return M
