-- engine.lua SOCKET: a stand-in engine for test_control.sh — a loop with a ticking
-- timer (the engine at work) and a control socket whose REPL sees its state.
local task = require("alluse.task")
local control = require("alluse.control")
local path = arg[1]
task.run(function()
  local state = { paused = false, ticks = 0, running = true }
  local srv
  local commands = {
    accounts = { main = { cash = 100000, positions = { SPY = 10 } } },
    pause = function() state.paused = true return "paused" end,
    resume = function() state.paused = false return "resumed" end,
    status = function() return state.paused and "paused" or "running" end,
    ticks = function() return state.ticks end,
    stop = function()
      state.running = false
      task.spawn(function() task.sleep(20) srv:close() end)
      return "stopping"
    end,
  }
  srv = assert(control.serve(path, { commands = commands, budget_ms = 300 }))
  -- SIGTERM drains: stop the work, close the socket, let the loop end (exit 0).
  local term = require("alluse.core.loop").signal()
  term:start("SIGTERM", function()
    commands.stop()
    term:close()
  end)
  term:unref()
  task.spawn(function()
    while state.running do task.sleep(10) state.ticks = state.ticks + 1 end
  end)
end)
