-- alluse.control: the engine's control socket (`alluse run --control PATH`), and what
-- `alluse repl --attach PATH` talks to (docs/control.md).
--
--   local control = require("alluse.control")
--   local srv = assert(control.serve(path, {
--     commands = { pause = fn, resume = fn, flatten = fn, reload = fn, accounts = table, ... },
--     budget_ms = 2000,
--   }))
--   ...  srv:close()
--
-- Each client gets a REPL session (alluse.repl.session) whose globals are the REPL's
-- usual ones plus `commands`; it evaluates Lua inside the engine, on its loop, so a
-- statement sees the live state.  A chunk that runs longer than budget_ms is stopped
-- (an instruction-count hook it cannot catch), so a slip like `while true do end`
-- cannot hang the engine.
--
-- The protocol: one JSON object per line each way.
--   {"op":"hello"}                              -> {"prompt":"> ","banner":"..."}
--   {"op":"line","text":"..."}                  -> {"out":"...","err":"...","prompt":"> " | ">> "}
--   {"op":"complete","word":"ac","before":""}   -> {"list":["accounts", ...]}
--   {"op":"interrupt"}                          -> {"prompt":"> "}   (drops an unfinished chunk)
local json = require("alluse.json")
local repl = require("alluse.repl")

local M = {}

-- Runs fn, stopping it once budget_ms of wall time has passed.
local function budget_guard(budget_ms)
  local clock = require("alluse.time").monotonic
  return function(fn, handler)
    local deadline = clock() + budget_ms * 1000
    -- Count hooks do not fire inside JIT-compiled code: the chunk runs interpreted
    -- (new code only; the engine's compiled traces are untouched).
    local jit_was_on = jit.status()
    jit.off()
    debug.sethook(function()
      if clock() > deadline then
        debug.sethook()
        error(string.format("stopped: the chunk ran longer than %d ms (the engine's budget for the control socket)",
          budget_ms), 2)
      end
    end, "", 10000)
    local res = { xpcall(fn, handler) }
    debug.sethook()
    if jit_was_on then jit.on() end
    return unpack(res, 1, table.maxn(res))
  end
end

function M.serve(path, opts)
  opts = opts or {}
  local sessions = {}
  local budget = opts.budget_ms or 2000
  local function session_of(id)
    local s = sessions[id]
    if s then return s end
    local env = repl.new_env()
    for k, v in pairs(opts.commands or {}) do rawset(env, k, v) end
    local buf = { out = {}, err = {} }
    s = repl.session {
      env = env,
      write = function(x) buf.out[#buf.out + 1] = x end,
      write_error = function(x) buf.err[#buf.err + 1] = x end,
      guard = budget_guard(budget),
    }
    s.buf = buf
    sessions[id] = s
    return s
  end
  local function answer(t) return json.encode(t, { sorted = true }) end
  return require("alluse.core.control").listen(path, function(id, line)
    if line == nil then sessions[id] = nil return end
    local msg = json.decode(line)
    if type(msg) ~= "table" then return answer { error = "a request is one JSON object per line" } end
    local s = session_of(id)
    if msg.op == "hello" then
      return answer { prompt = s:prompt(), banner = opts.banner or "attached to the engine (Ctrl-D detaches)" }
    elseif msg.op == "line" and type(msg.text) == "string" then
      s.buf.out, s.buf.err = {}, {}
      s:feed(msg.text)
      return answer { out = table.concat(s.buf.out), err = table.concat(s.buf.err), prompt = s:prompt() }
    elseif msg.op == "complete" and type(msg.word) == "string" then
      local ok, list = pcall(repl.complete, msg.word, s.env, type(msg.before) == "string" and msg.before or "")
      return answer { list = json.array(ok and list or {}) }
    elseif msg.op == "interrupt" then
      s:interrupt()
      return answer { prompt = s:prompt() }
    end
    return answer { error = "unknown request (op: hello, line, complete, interrupt)" }
  end)
end

-- The client: one request, its decoded answer | nil, message, code.
function M.request(client, t)
  local line, err, code = client:request(json.encode(t))
  if not line then return nil, err, code end
  local v = json.decode(line)
  if type(v) ~= "table" then return nil, "control: a malformed answer from the engine", "EPROTO" end
  if v.error then return nil, "control: " .. tostring(v.error), "EPROTO" end
  return v
end

return M
