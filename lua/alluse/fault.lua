-- alluse.fault: crash points for the recovery tests (tests/integration/test_live_recovery.sh).
--
-- ALLUSE_FAULT=POINT:N makes the process kill itself with SIGKILL the N-th time it
-- passes POINT, the way a pod is killed: no handler runs, nothing is flushed.  The
-- points (alluse.store.runs): before_commit (a durable batch is written inside its
-- transaction, the COMMIT not yet sent) and after_commit (committed, not yet acted
-- on).  Unset, point() is nil and the callers skip it.
local ffi = require("ffi")

local M = {}
local Fault = {}
Fault.__index = Fault

local declared = false
local function kill_self()
  if not declared then
    pcall(ffi.cdef, "int kill(int pid, int sig); int getpid(void);")
    declared = true
  end
  io.stdout:flush()
  io.stderr:flush()
  ffi.C.kill(ffi.C.getpid(), 9)
end

-- The configured fault, or nil.  A malformed value is an error: a test that meant to
-- crash must not pass because nothing crashed.
function M.point(text)
  text = text or os.getenv("ALLUSE_FAULT")
  if text == nil or text == "" then return nil end
  local name, n = text:match("^([%w_]+):(%d+)$")
  if not name then error("ALLUSE_FAULT must be POINT:N (e.g. after_commit:3), got '" .. text .. "'", 0) end
  return setmetatable({ name = name, n = tonumber(n) }, Fault)
end

-- At point `name` for the `count`-th time: die there if that is the configured one.
function Fault:hit(name, count)
  if name == self.name and count == self.n then kill_self() end
end

return M
