-- alluse.repl: the interactive prompt behind `alluse repl`.
--
-- The pieces are plain functions so tests can drive them without a terminal:
--   compile(src, env)         -> "expr"|"stmt", fn  |  "incomplete"  |  "error", message
--   complete(word, env, before) -> sorted candidates for TAB (globals, a.b.c, obj:methods)
--   format_results(n, ...)    -> the text printed for an expression's values
--   new_env()                 -> the REPL's globals: _G plus the library bound lazily
--   session(opts)             -> an object fed one line at a time (feed, prompt, interrupt, finish)
-- run(opts) wires a session to alluse.core.readline: libedit on a terminal (history,
-- completion, Ctrl-C), plain line reading when stdin is a pipe.
local inspect = require("alluse.inspect")

local M = {}

M.PROMPT, M.CONTINUE = "> ", ">> "

-- Short globals for the library; each is required on first use, so a module that is
-- missing or broken costs nothing until it is touched, and then says why.
M.LIBRARY = {
  json = "alluse.json", crypto = "alluse.crypto", time = "alluse.time", log = "alluse.log",
  metrics = "alluse.metrics", http = "alluse.http", inspect = "alluse.inspect",
}

local function load_in(src, env)
  local fn, err = loadstring(src, "=stdin")
  if fn then setfenv(fn, env) end
  return fn, err
end

-- A load error at the end of the text means the chunk may yet be finished, except
-- inside a short string: a line break cannot continue it.
local function is_incomplete(err)
  return err ~= nil and err:find("near '<eof>'$") ~= nil and not err:find("unfinished string", 1, true)
end

-- Expressions first, so `1+2` and `f()` show their values; statements otherwise.
-- Either form running out of text means wait for more: `1 +` is only valid as an
-- expression, `for i = 1, 3 do` only as a statement.
--
-- An expression runs as an argument of a collecting call rather than as `return src`:
-- a tail call (`return error("x")`) would drop the chunk's frame, and with it the
-- stdin:1: position in the message and the traceback.
local COLLECT = "local alluse_repl_collect = ...; return alluse_repl_collect("

local function collect(...) return ... end

function M.compile(src, env)
  env = env or _G
  local fn, expr_err = load_in("return " .. src, env)
  if fn then
    -- Same text on the same first line, so positions in messages do not move.
    -- The closing parenthesis goes on a line of its own only when a -- comment could
    -- swallow it: on the last line it would move the position of the values read.
    -- Text using `...` keeps the plain form: there it would be the collector.
    local wrapped = not src:find("...", 1, true)
      and load_in(COLLECT .. src .. (src:find("--", 1, true) and "\n)" or ")"), env)
    if wrapped then return "expr", function() return wrapped(collect) end end
    return "expr", fn
  end
  local stmt_err
  fn, stmt_err = load_in(src, env)
  if fn then return "stmt", fn end
  if is_incomplete(stmt_err) or is_incomplete(expr_err) then return "incomplete" end
  return "error", stmt_err
end

function M.format_results(n, ...)
  local parts = {}
  for i = 1, n do parts[i] = inspect((select(i, ...))) end
  return table.concat(parts, "\t")
end

-- ---- environment ----

-- alluse.NAME requires "alluse.NAME" on first use: every module is one keystroke away.
-- The first line of a require failure, said plainly when the module does not exist.
local function load_failure(mod)
  local msg = tostring(mod)
  if msg:match("^module '[^']+' not found") then return "no such module" end
  return msg:match("^[^\n]*")
end

local function namespace()
  return setmetatable({}, {
    __index = function(t, k)
      if type(k) ~= "string" then return nil end
      local ok, mod = pcall(require, "alluse." .. k)
      if not ok then error("alluse." .. k .. ": " .. load_failure(mod), 2) end
      rawset(t, k, mod)
      return mod
    end,
    __alluse_modules = true,
  })
end

function M.new_env(library)
  library = library or M.LIBRARY
  -- Globals the user defines land here; everything else reads through to _G.
  return setmetatable({ alluse = namespace() }, {
    __index = function(t, k)
      local name = library[k]
      if name then
        local ok, mod = pcall(require, name)
        if not ok then
          error(k .. " stands for " .. name .. ", which cannot be loaded: " .. load_failure(mod), 2)
        end
        rawset(t, k, mod)
        return mod
      end
      return _G[k]
    end,
    __alluse_library = library,
  })
end

-- ---- completion ----

-- Field lookup that runs no code: raw fields, then __index tables up the chain.
local function peek(v, k)
  for _ = 1, 16 do
    if type(v) == "table" then
      local x = rawget(v, k)
      if x ~= nil then return x end
    end
    local mt = (type(v) == "table" or type(v) == "string" or type(v) == "userdata")
      and getmetatable(v)
    if type(mt) ~= "table" then return nil end
    v = rawget(mt, "__index")
    if type(v) ~= "table" then return nil end
  end
  return nil
end

-- The module names that alluse.<TAB> can offer: preloaded or already loaded.
local function module_names(out)
  for _, src in ipairs({ package.preload, package.loaded }) do
    for name in pairs(src) do
      local short = type(name) == "string" and name:match("^alluse%.([%a_][%w_]*)$")
      if short then out[short] = true end
    end
  end
end

-- Every identifier key visible on v (its own, its __index chain, and the lazy names).
local function visible_keys(v, out)
  for _ = 1, 16 do
    if type(v) == "table" then
      for k in next, v do
        if inspect.is_identifier(k) then out[k] = true end
      end
    end
    local mt = (type(v) == "table" or type(v) == "string" or type(v) == "userdata")
      and getmetatable(v)
    if type(mt) ~= "table" then return out end
    if rawget(mt, "__alluse_modules") then module_names(out) end
    local lib = rawget(mt, "__alluse_library")
    if type(lib) == "table" then
      for k in pairs(lib) do out[k] = true end
    end
    local index = rawget(mt, "__index")
    if type(index) ~= "table" then
      -- The REPL env's __index is a function that falls back to _G.
      if lib then v = _G else return out end
    else
      v = index
    end
  end
  return out
end

local function callable(x)
  if type(x) == "function" then return true end
  local mt = (type(x) == "table" or type(x) == "userdata") and getmetatable(x)
  return type(mt) == "table" and rawget(mt, "__call") ~= nil
end

-- Candidates that complete word, as whole words: "string.fo" -> "string.format", ...
-- A path is resolved without side effects except the first name, which may load a
-- library module (that is what the user is asking to see).
--
-- TAB with only blanks before the cursor indents instead (two spaces), which is what
-- a block typed over several lines wants.
function M.complete(word, env, before)
  env = env or _G
  if word == "" and before and before:match("^%s*$") then return { "  " } end
  local path, sep, partial = word:match("^(.-)([.:])([%w_]*)$")
  local names = {}
  if not path then
    if not word:match("^[%a_]?[%w_]*$") then return {} end
    partial = word
    visible_keys(env, names)
    for k in pairs(inspect.keywords) do names[k] = true end
  else
    local parts = {}
    for part in (path .. "."):gmatch("([^.]*)%.") do
      if not inspect.is_identifier(part) then return {} end
      parts[#parts + 1] = part
    end
    local ok, v = pcall(function() return env[parts[1]] end)
    if not ok then return {} end
    for i = 2, #parts do
      if v == nil then return {} end
      v = peek(v, parts[i])
    end
    if v == nil then return {} end
    visible_keys(v, names)
    if sep == ":" then
      for k in pairs(names) do
        if not callable(peek(v, k)) then names[k] = nil end
      end
    end
  end
  local out, head = {}, path and (path .. sep) or ""
  for k in pairs(names) do
    if k:sub(1, #partial) == partial then out[#out + 1] = head .. k end
  end
  table.sort(out)
  return out
end

-- ---- history entries ----

-- A chunk typed over several lines goes into history as one line when joining its
-- lines with spaces compiles to the same bytecode (not so with a -- comment or a long
-- string that spans lines); otherwise as the lines it was typed as.
function M.history_entries(lines)
  if #lines == 1 then return { lines[1] } end
  local src, joined = table.concat(lines, "\n"), table.concat(lines, " ")
  local a = loadstring("return " .. src, "=h") or loadstring(src, "=h")
  local b = loadstring("return " .. joined, "=h") or loadstring(joined, "=h")
  if a and b and string.dump(a, true) == string.dump(b, true) then return { joined } end
  local out = {}
  for i, l in ipairs(lines) do out[i] = l end
  return out
end

-- ---- the session: one line in, output out ----

local Session = {}
Session.__index = Session

-- opts: env, write(s) for results, write_error(s) for errors, on_chunk(lines) called
-- with each finished chunk (for history), guard(fn, handler) to run user code
-- (run() wraps it with the Ctrl-C catcher).
function M.session(opts)
  opts = opts or {}
  local s = setmetatable({
    env = opts.env or M.new_env(),
    write = opts.write or function(x) io.stdout:write(x) end,
    write_error = opts.write_error or function(x) io.stdout:flush() io.stderr:write(x) end,
    on_chunk = opts.on_chunk or function() end,
    guard = opts.guard or xpcall,
    lines = {},
    errors = 0,
  }, Session)
  return s
end

function Session:prompt()
  return #self.lines == 0 and M.PROMPT or M.CONTINUE
end

-- Keep the user's frames: drop the REPL's own (the lazy loader, the collecting call)
-- and everything below the protected call.
local function trim_traceback(tb)
  local out = {}
  for line in (tb .. "\n"):gmatch("(.-)\n") do
    if line:find("in function 'xpcall'", 1, true) or line:find("in function 'guard'", 1, true) then
      break
    end
    if not line:find("alluse/repl.lua:", 1, true) then out[#out + 1] = line end
  end
  return table.concat(out, "\n")
end

local function error_text(e)
  if type(e) == "string" then return e end
  if type(e) == "table" then
    local mt = getmetatable(e)
    if not (type(mt) == "table" and mt.__tostring) then return "(error object) " .. inspect(e) end
  end
  return tostring(e)
end

local function pack(...) return { n = select("#", ...), ... } end

function Session:execute(fn)
  local res = pack(self.guard(fn, function(e)
    return trim_traceback(debug.traceback(error_text(e), 2))
  end))
  if not res[1] then
    self.errors = self.errors + 1
    self.write_error(tostring(res[2]) .. "\n")
    return false
  end
  -- A statement's values print too: `return 1, 2` is a way to ask for them.
  if res.n > 1 then
    rawset(self.env, "_", res[2])
    self.write(M.format_results(res.n - 1, unpack(res, 2, res.n)) .. "\n")
  end
  return true
end

-- Feed one line.  Returns "more" while the chunk is incomplete, else "done".
function Session:feed(line)
  if #self.lines == 0 and line:match("^%s*$") then return "done" end
  self.lines[#self.lines + 1] = line
  local src = table.concat(self.lines, "\n")
  -- "=expr" is the stand-alone interpreter's way of asking for a value.
  if src:sub(1, 1) == "=" then src = "return " .. src:sub(2) end
  local kind, fn = M.compile(src, self.env)
  if kind == "incomplete" then return "more" end
  local lines = self.lines
  self.lines = {}
  self.on_chunk(lines)
  if kind == "error" then
    self.errors = self.errors + 1
    self.write_error(fn .. "\n")
  else
    self:execute(fn)
  end
  return "done"
end

-- Ctrl-C: forget the chunk being typed.
function Session:interrupt()
  self.lines = {}
end

-- End of input: a chunk still open is a syntax error, reported like any other.
function Session:finish()
  if #self.lines == 0 then return end
  local src = table.concat(self.lines, "\n")
  self.on_chunk(self.lines)
  self.lines = {}
  local _, err = loadstring(src, "=stdin")
  self.errors = self.errors + 1
  self.write_error((err or "incomplete input") .. "\n")
end

-- ---- the loop ----

local function expand_home(path)
  if path:sub(1, 2) == "~/" then
    local home = os.getenv("HOME")
    if home and home ~= "" then return home .. path:sub(2) end
  end
  return path
end

-- The history file: --no-history wins, then --history, then ALLUSE_HISTORY (empty
-- means none), then ~/.alluse_history.  nil means keep no history.
function M.history_path(opts, getenv)
  getenv = getenv or os.getenv
  if opts.no_history then return nil end
  if opts.history then return expand_home(opts.history) end
  local env = getenv("ALLUSE_HISTORY")
  if env then return env ~= "" and expand_home(env) or nil end
  local home = getenv("HOME")
  if home and home ~= "" then return home .. "/.alluse_history" end
  return nil
end

local function banner()
  local v = require("alluse.version")
  return string.format("alluse %s on %s (Ctrl-D exits, TAB completes)\n",
    v.version, jit and jit.version or _VERSION)
end

-- opts: history (path), no_history, history_size.  Returns the exit status: 0, or 1
-- when stdin is not a terminal and some chunk failed (so piped input can be checked).
function M.run(opts)
  opts = opts or {}
  local rl = require("alluse.core.readline")
  local tty = rl.interactive()
  local history = tty and M.history_path(opts) or nil
  local size = tonumber(opts.history_size) or 1000
  local session
  session = M.session({
    guard = tty and function(fn, handler)
      rl.catch_interrupts(true)
      local res = pack(xpcall(fn, handler))
      rl.catch_interrupts(false)
      return unpack(res, 1, res.n)
    end or xpcall,
    on_chunk = function(lines)
      if not tty then return end
      -- A line typed with a leading space stays out of history (a secret, say).
      if lines[1]:match("^%s") then return end
      local last = rl.history()
      last = last[#last]
      for _, entry in ipairs(M.history_entries(lines)) do
        if entry ~= last then rl.add_history(entry) end
        last = entry
      end
      if history then
        local ok, err = rl.write_history(history)
        if not ok and not session.history_warned then
          session.history_warned = true
          io.stderr:write("alluse repl: ", err, " (history will not be saved)\n")
        end
      end
    end,
  })
  rl.set_completer(tty and function(word, before)
    local ok, list = pcall(M.complete, word, session.env, before)
    return ok and list or {}
  end or nil)
  if tty then
    rl.set_history_size(size)
    if history then
      local ok, err, code = rl.read_history(history)
      if not ok and code ~= "ENOENT" then io.stderr:write("alluse repl: ", err, "\n") end
      rl.set_history_size(size)
    end
    io.stdout:write(banner())
  end
  while true do
    local line, why = rl.readline(session:prompt())
    if line == nil then
      if why ~= "interrupt" then break end
      session:interrupt()
    else
      session:feed(line)
    end
  end
  session:finish()
  if tty then io.stdout:write("\n") end
  io.stdout:flush()
  rl.set_completer(nil)
  if not tty and session.errors > 0 then return 1 end
  return 0
end

-- `alluse repl --attach PATH`: the same prompt, evaluating inside a running engine
-- through its control socket (alluse.control).  Local: the line editor, history and
-- Ctrl-C; remote: evaluation, completion, the prompt.  Returns the exit status (1 when
-- input is piped and a chunk failed, or the engine cannot be reached).
function M.attach(path, opts)
  opts = opts or {}
  local control = require("alluse.control")
  local client, cerr = require("alluse.core.control").connect(path, tonumber(opts.timeout_ms) or 30000)
  if not client then
    io.stderr:write("alluse repl: ", cerr, "\n")
    return 1
  end
  local hello, herr = control.request(client, { op = "hello" })
  if not hello then
    io.stderr:write("alluse repl: ", herr, "\n")
    client:close()
    return 1
  end
  local rl = require("alluse.core.readline")
  local tty = rl.interactive()
  local history = tty and M.history_path(opts) or nil
  if tty then
    rl.set_history_size(tonumber(opts.history_size) or 1000)
    if history then rl.read_history(history) end
    io.stdout:write(hello.banner or "", "\n")
  end
  rl.set_completer(tty and function(word, before)
    local r = control.request(client, { op = "complete", word = word, before = before })
    return r and r.list or {}
  end or nil)
  local prompt, errors, status = hello.prompt or M.PROMPT, 0, 0
  while true do
    local line, why = rl.readline(prompt)
    if line == nil then
      if why ~= "interrupt" then break end
      local r = control.request(client, { op = "interrupt" })
      prompt = r and r.prompt or M.PROMPT
    else
      if tty and line:match("%S") and not line:match("^%s") then
        rl.add_history(line)
        if history then rl.write_history(history) end
      end
      local r, err = control.request(client, { op = "line", text = line })
      if not r then
        io.stderr:write("alluse repl: ", err, "\n")
        status = 1
        break
      end
      if r.out and r.out ~= "" then io.stdout:write(r.out) end
      if r.err and r.err ~= "" then
        errors = errors + 1
        io.stdout:flush()
        io.stderr:write(r.err)
      end
      prompt = r.prompt or M.PROMPT
    end
  end
  rl.set_completer(nil)
  if tty then io.stdout:write("\n") end
  io.stdout:flush()
  client:close()
  if status ~= 0 then return status end
  if not tty and errors > 0 then return 1 end
  return 0
end

return M
