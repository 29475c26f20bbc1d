-- alluse.task and alluse.core.loop: coroutines on the libuv loop.
local t = require("alluse.test")
local task = require("alluse.task")
local loop = require("alluse.core.loop")
local ffi = require("ffi")
pcall(ffi.cdef, "int pipe(int fds[2]); long write(int fd, const void *buf, unsigned long n); int close(int fd);")

t.is(task.current(), nil, "outside a task: current() is nil")
t.raises(function() task.sleep(1) end, "not inside a task", "sleep outside a task raises")

-- results, order of wake-ups, concurrency
local log = {}
local t0 = loop.now()
local a, b, c = task.run(function(x)
  t.ok(task.current() ~= nil, "inside task.run: current() is the task")
  task.spawn(function() task.sleep(60) log[#log + 1] = "slow" end)
  task.spawn(function() task.sleep(20) log[#log + 1] = "fast" end)
  task.sleep(40)
  log[#log + 1] = "main"
  return x + 1, nil, "three"
end, 41)
local elapsed = loop.now() - t0
t.is_deeply({ a, b, c }, { 42, nil, "three" }, "task.run returns the main task's results, nil included")
t.is(table.concat(log, ","), "fast,main,slow", "tasks wake in the order of their timers")
t.ok(elapsed >= 55 and elapsed < 1000, "task.run waits for every task (" .. elapsed .. " ms)")

-- errors
local ok, err = pcall(task.run, function() error("main broke") end)
t.ok(not ok and err:find("main broke"), "an error in the main task is raised by task.run")
ok, err = pcall(task.run, function()
  task.spawn(function() task.sleep(5) error("child broke") end)
  task.sleep(50)
end)
t.ok(not ok and err:find("task failed: .*child broke") and err:find("stack traceback"),
  "an error in another task is raised by task.run with its traceback")

-- wait_fd on a pipe: readable once written, a timeout when nothing comes
local fds = ffi.new("int[2]")
t.is(ffi.C.pipe(fds), 0, "a pipe")
local rfd, wfd = fds[0], fds[1]
local got, waited = {}, nil
task.run(function()
  task.spawn(function()
    local t1 = loop.now()
    got[1], got[2] = task.wait_fd(rfd, "r", 1000)
    waited = loop.now() - t1
  end)
  task.sleep(30)
  ffi.C.write(wfd, "x", 1)
end)
t.is_deeply(got, { true }, "wait_fd: readable after the write")
t.ok(waited >= 25 and waited < 1000, "... not before (" .. tostring(waited) .. " ms)")
local r2, e2
local t2 = loop.now()
task.run(function()
  -- the byte written above is still unread, so wait on the write end for "r": never
  r2, e2 = task.wait_fd(wfd, "r", 40)
end)
t.is_deeply({ r2, e2 }, { nil, "ETIMEDOUT" }, "wait_fd: nil, ETIMEDOUT after the timeout")
t.ok(loop.now() - t2 >= 35, "... after about the timeout")
ok = task.run(function() return task.wait_fd(wfd, "w", 100) end)
t.is(ok, true, "wait_fd: a pipe's write end is writable")
ffi.C.close(rfd)
ffi.C.close(wfd)

-- signals: delivered on the loop, by name; an unref'd watcher does not hold run()
local got
local pid = require("alluse.core.host").pid()
task.run(function()
  local sg = loop.signal()
  sg:start("SIGHUP", function(name)
    got = name
    sg:close()
  end)
  task.sleep(5)
  os.execute("kill -HUP " .. pid)
end)
t.is(got, "SIGHUP", "a signal reaches its watcher on the loop, by name")
local idle = loop.signal()
idle:start("SIGUSR2", function() end)
idle:unref()
local t3 = loop.now()
task.run(function() task.sleep(5) end)
t.ok(loop.now() - t3 < 1000, "an unref'd signal watcher does not keep the loop running")
idle:close()
t.raises(function() loop.signal():start("SIGKILL", function() end) end, "one of SIGTERM", "an unknown signal name raises")

-- handles: bad arguments, use after close
local tm = loop.timer()
t.raises(function() tm:start(-1, function() end) end, "milliseconds", "a negative timer raises")
tm:close()
t.raises(function() tm:start(1, function() end) end, "closed", "a closed handle raises")
ffi.C.pipe(fds)
local p = assert(loop.poll(fds[0]))
t.raises(function() p:start("x", function() end) end, "must be", "a bad poll mode raises")
p:close()
ffi.C.close(fds[0])
ffi.C.close(fds[1])
local bad, berr = loop.poll(-1)
t.ok(bad == nil and berr:find("loop.poll%(%-1%)"), "poll of a bad fd: nil, message naming it")
loop.run("nowait") -- closed handles are freed by the loop's next turn
t.is(loop.alive(), false, "nothing left on the loop")
