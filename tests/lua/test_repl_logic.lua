-- alluse.repl without a terminal: chunk classification, the session fed line by line,
-- completion candidates, history entries and paths, and the history side of
-- alluse.core.readline.  tests/integration/test_repl_pty.sh drives the real prompt.
local t = require("alluse.test")
local repl = require("alluse.repl")

-- ---- compile: expression, statement, incomplete, error ----
local function kind(src, env) return (repl.compile(src, env)) end

t.is(kind("1 + 2"), "expr", "arithmetic is an expression")
t.is(kind("f()"), "expr", "a call is an expression (its values print)")
t.is(kind("x"), "expr", "a name is an expression")
t.is(kind("x -- trailing comment"), "expr", "expression with a trailing comment")
t.is(kind("1, 2, 3"), "expr", "a list of expressions")
t.is(kind("x = 1"), "stmt", "assignment is a statement")
t.is(kind("local y = 2"), "stmt", "local is a statement")
t.is(kind("return 1, 2"), "stmt", "return is a statement")
t.is(kind("for i = 1, 3 do end"), "stmt", "complete loop")
t.is(kind("for i = 1, 3 do"), "incomplete", "open loop waits for more")
t.is(kind("function f(a)"), "incomplete", "open function waits for more")
t.is(kind("function f("), "incomplete", "open parameter list waits for more")
t.is(kind("x = {"), "incomplete", "open table constructor waits for more")
t.is(kind("1 +"), "incomplete", "dangling operator waits for more (expression form)")
t.is(kind("s = [[abc"), "incomplete", "open long string waits for more")
t.is(kind("--[[ comment"), "incomplete", "open long comment waits for more")
t.is(kind("if x then\n  y = 1\nelse"), "incomplete", "multi-line if still open")
t.is(kind("if x then\n  y = 1\nend"), "stmt", "multi-line if closed")
t.is(kind("x = = 1"), "error", "syntax error")
t.is(kind("local x = 1; x.y"), "incomplete", "a bare field ends early, as in lua.c (x.y = ... may follow)")
t.is(kind("1 1"), "error", "two values without an operator")
t.is(kind('s = "abc'), "error", "unfinished short string is an error, not a continuation")
t.is(kind("end"), "error", "stray end")
local _, msg = repl.compile("x = = 1")
t.like(msg, "^stdin:1: ", "syntax errors name stdin and the line")

local env = setmetatable({ y = 5 }, { __index = _G })
local k, fn = repl.compile("y * 2", env)
t.is(k, "expr", "expression in an env")
t.is(fn(), 10, "the chunk sees the env's globals")
k, fn = repl.compile("z = y + 1", env)
fn()
t.is(rawget(env, "z"), 6, "assignments land in the env")
t.is(rawget(_G, "z"), nil, "and not in _G")
k, fn = repl.compile("...")
t.is(select("#", fn()), 0, "... at the prompt is the chunk's (empty) varargs")
k, fn = repl.compile("1, nil, 3")
t.is(select("#", fn()), 3, "all values of a list come back, nils included")
k, fn = repl.compile("error('boom')")
local ok, err = pcall(fn)
t.ok(not ok and err:find("^stdin:1: boom"), "an error raised by a called function keeps its stdin:1: position")

-- ---- the session ----
local function new_session(extra)
  local out, errs, chunks = {}, {}, {}
  local opts = {
    env = repl.new_env({}),
    write = function(s) out[#out + 1] = s end,
    write_error = function(s) errs[#errs + 1] = s end,
    on_chunk = function(lines) chunks[#chunks + 1] = table.concat(lines, "\n") end,
  }
  for key, v in pairs(extra or {}) do opts[key] = v end
  local s = repl.session(opts)
  return s, out, errs, chunks
end

local s, out, errs, chunks = new_session()
t.is(s:prompt(), "> ", "first prompt")
t.is(s:feed("1 + 2"), "done", "a complete line is done")
t.is(out[1], "3\n", "its value printed")
t.is(s:feed("{ b = 2, a = { 1, 2 } }"), "done", "table expression")
t.is(out[2], "{ a = { 1, 2 }, b = 2 }\n", "table pretty-printed")
t.is(s:feed("function sq(x)"), "more", "open function asks for more")
t.is(s:prompt(), ">> ", "continuation prompt")
t.is(s:feed("  return x * x"), "more", "body line")
t.is(s:feed("end"), "done", "end closes it")
t.is(s:prompt(), "> ", "back to the first prompt")
t.is(#out, 2, "a definition prints nothing")
s:feed("sq(12)")
t.is(out[3], "144\n", "the function typed over three lines is callable")
t.is(chunks[3], "function sq(x)\n  return x * x\nend", "on_chunk gets the whole chunk")
s:feed("1, nil, 'x'")
t.is(out[4], '1\tnil\t"x"\n', "multiple values tab-separated, nil shown")
s:feed("_")
t.is(out[5], "1\n", "_ holds the first value of the last result")
s:feed("return 7, 8")
t.is(out[6], "7\t8\n", "a return statement's values print")
s:feed("=40 + 2")
t.is(out[7], "42\n", "=expr is short for return expr")
t.is(chunks[8], "=40 + 2", "history gets what was typed")
s:feed("x = 1")
s:feed("")
s:feed("   ")
t.is(#out, 7, "statements and blank lines print nothing")
t.is(#chunks, 9, "blank lines are not chunks")
s:feed("print_nothing = function() end")
s:feed("print_nothing()")
t.is(#out, 7, "a call returning nothing prints nothing")

s:feed("error('boom')")
t.is(#errs, 1, "runtime error reported")
t.like(errs[1], "^stdin:1: boom\nstack traceback:\n", "message then traceback")
t.like(errs[1], "in main chunk", "traceback reaches the chunk")
t.unlike(errs[1], "repl%.lua", "the REPL's own frames are trimmed")
t.unlike(errs[1], "xpcall", "nothing below the protected call")
s:feed("function f() local t = nil; return t.x end")
s:feed("f()")
t.like(errs[2], "attempt to index local 't'", "error inside a function")
t.like(errs[2], "in function 'f'", "traceback names the function")
s:feed("x = = 1")
t.like(errs[3], "^stdin:1: unexpected symbol near '='", "syntax error reported")
s:feed("error({ code = 7 })")
t.like(errs[4], "{ code = 7 }", "a table error value is shown inspected")
s:feed("2 * 21")
t.is(out[#out], "42\n", "the session carries on after errors")
t.is(s.errors, 4, "errors counted")

s:feed("for i = 1, 2 do")
s:interrupt()
t.is(s:prompt(), "> ", "interrupt drops the open chunk")
s:feed("1")
t.is(out[#out], "1\n", "and the next line starts afresh")

s:feed("function g(")
s:finish()
t.like(errs[#errs], "expected near '<eof>'", "end of input inside a chunk is a syntax error")
t.is(s.errors, 5, "and counts as one")

-- values that have no printable form still print
s, out = new_session()
s:feed("setmetatable({}, { __tostring = function() return 'T' end })")
t.is(out[1], "T\n", "__tostring respected")
s:feed("c = {}; c.c = c")
s:feed("c")
t.is(out[2], "{ c = <cycle> }\n", "a cycle prints safely")

-- the guard hook is how run() adds Ctrl-C; it must be used for every chunk
local guarded = 0
s = new_session({ guard = function(f, h) guarded = guarded + 1 return xpcall(f, h) end })
s:feed("1")
s:feed("x = 2")
t.is(guarded, 2, "user code runs through the guard")

-- ---- environment ----
local lib_env = repl.new_env({ insp = "alluse.inspect", nope = "alluse.no_such_module_for_test" })
t.is(lib_env.insp, require("alluse.inspect"), "a library name loads its module on first use")
t.is(rawget(lib_env, "insp"), require("alluse.inspect"), "and keeps it")
t.raises(function() return lib_env.nope end, "nope stands for alluse.no_such_module_for_test.*no such module",
  "a missing module says which and why, only when used")
t.is(lib_env.print, print, "other names read through to _G")
t.is(lib_env.alluse.inspect, require("alluse.inspect"), "alluse.NAME requires alluse.NAME")
t.raises(function() return lib_env.alluse.no_such_thing end, "alluse.no_such_thing: no such module",
  "alluse.NAME of a missing module")
local default_env = repl.new_env()
t.is(default_env.inspect, require("alluse.inspect"), "the default library includes inspect")
t.is(default_env.crypto, require("alluse.crypto"), "and crypto")

-- ---- completion ----
local cenv = repl.new_env({ json = "alluse.json", insp = "alluse.inspect" })
local Account = {}
Account.__index = Account
function Account.deposit() end
function Account.describe() end
rawset(cenv, "acct", setmetatable({ balance = 10, depth = 3 }, Account))
rawset(cenv, "t", { alpha = { beta = { gamma = 1, gate = 2 } }, [1] = "not a name", ["a b"] = 1 })
rawset(cenv, "s", "text")
rawset(cenv, "my_value", 1)
rawset(cenv, "bad", setmetatable({}, { __index = function() error("must not run") end }))

local function complete(w, before) return repl.complete(w, cenv, before) end
t.is_deeply(complete("string.up"), { "string.upper" }, "string.up -> string.upper")
t.is_deeply(complete("string.fo"), { "string.format" }, "string.fo -> string.format")
t.is_deeply(complete("string.g"), { "string.gmatch", "string.gsub" }, "several candidates, sorted")
t.is_deeply(complete("t.alpha.beta.ga"), { "t.alpha.beta.gamma", "t.alpha.beta.gate" }, "nested fields")
t.is_deeply(complete("t."), { "t.alpha" }, "only identifier keys are offered")
t.is_deeply(complete("acct:de"), { "acct:deposit", "acct:describe" }, "obj:me offers methods from the metatable")
t.is_deeply(complete("acct.de"), { "acct.deposit", "acct.depth", "acct.describe" }, "obj.x offers fields and methods")
t.is_deeply(complete("acct:ba"), {}, "obj: does not offer plain fields")
t.is_deeply(complete("s:up"), { "s:upper" }, "string methods on a string value")
t.is_deeply(complete("my_v"), { "my_value" }, "a global the user defined")
local g = complete("pri")
t.ok(#g == 1 and g[1] == "print", "a global from _G")
local kw = complete("fun")
t.is_deeply(kw, { "function" }, "keywords complete")
local ls = complete("js")
t.is_deeply(ls, { "json" }, "a library name completes before it is loaded")
t.is_deeply(complete("insp.insp"), { "insp.inspect" }, "fields of a library module (loaded on TAB)")
local al = complete("alluse.insp")
t.is_deeply(al, { "alluse.inspect" }, "alluse.NAME completes module names")
t.is_deeply(complete("bad.x"), {}, "an __index function is never run")
t.is_deeply(complete("nosuch.x"), {}, "unknown root")
t.is_deeply(complete("t.nosuch.x"), {}, "unknown field")
t.is_deeply(complete("t..x"), {}, "malformed path")
t.is_deeply(complete("1abc"), {}, "not a name")
t.is_deeply(complete("", "    "), { "  " }, "TAB at the start of a line indents")
local all = complete("", "x = ")
t.ok(#all > 40, "TAB after other text offers every global (" .. #all .. ")")
for _, c in ipairs(complete("")) do
  if not c:match("^[%a_][%w_]*$") then t.fail("candidate " .. c .. " is a name") end
end

-- ---- history entries ----
t.is_deeply(repl.history_entries({ "1 + 1" }), { "1 + 1" }, "one line, one entry")
t.is_deeply(repl.history_entries({ "function f(x)", "  return x", "end" }), { "function f(x)   return x end" },
  "a multi-line chunk is joined when that means the same")
t.is_deeply(repl.history_entries({ "x = 1 -- one", "y = 2" }), { "x = 1 -- one", "y = 2" },
  "a -- comment keeps the lines apart")
t.is_deeply(repl.history_entries({ "s = [[a", "b]]" }), { "s = [[a", "b]]" },
  "a long string spanning lines keeps the lines apart")
t.is_deeply(repl.history_entries({ "x = 1 +", "2" }), { "x = 1 + 2" }, "expression continued")

-- ---- history path ----
local function getenv_of(tbl) return function(k) return tbl[k] end end
t.is(repl.history_path({}, getenv_of({ HOME = "/home/u" })), "/home/u/.alluse_history", "default in HOME")
t.is(repl.history_path({}, getenv_of({ HOME = "/home/u", ALLUSE_HISTORY = "/tmp/h" })), "/tmp/h", "ALLUSE_HISTORY")
t.is(repl.history_path({}, getenv_of({ HOME = "/home/u", ALLUSE_HISTORY = "" })), nil, "empty ALLUSE_HISTORY: none")
t.is(repl.history_path({ history = "/x/h" }, getenv_of({ ALLUSE_HISTORY = "/tmp/h" })), "/x/h", "--history wins")
t.is(repl.history_path({ no_history = true }, getenv_of({ HOME = "/home/u" })), nil, "--no-history")
t.is(repl.history_path({}, getenv_of({})), nil, "no HOME: none")

-- ---- alluse.core.readline, the parts that need no terminal ----
local rl = require("alluse.core.readline")
rl.clear_history()
rl.set_history_size(1000)
t.is_deeply(rl.history(), {}, "history cleared")
rl.add_history("one")
rl.add_history("two words")
rl.add_history("three\tand \\ backslash")
t.is_deeply(rl.history(), { "one", "two words", "three\tand \\ backslash" }, "entries in order")
rl.set_history_size(2)
t.is_deeply(rl.history(), { "two words", "three\tand \\ backslash" }, "trimmed to the newest N")
rl.add_history("four")
t.is_deeply(rl.history(), { "three\tand \\ backslash", "four" }, "stays trimmed as lines are added")
local dir = os.tmpname()
os.remove(dir)
local path = dir .. ".hist"
t.ok(rl.write_history(path), "history written")
local p = io.popen("stat -c %a '" .. path .. "'")
t.is(p:read("*l"), "600", "a new history file is private")
p:close()
rl.clear_history()
rl.set_history_size(100)
t.ok(rl.read_history(path), "history read back")
t.is_deeply(rl.history(), { "three\tand \\ backslash", "four" }, "same entries after a round trip")
os.remove(path)
local okr, rerr, code = rl.read_history(path)
t.is(okr, nil, "missing history file")
t.is(code, "ENOENT", "reports ENOENT")
t.like(rerr, "cannot read history", "with a message")
local okw, werr = rl.write_history("/nonexistent-dir/x/h")
t.is(okw, nil, "unwritable history path")
t.like(werr, "cannot write history /nonexistent%-dir/x/h", "says where")
t.raises(function() rl.set_history_size(-1) end, "must be 0", "negative size rejected")
t.raises(function() rl.set_completer(42) end, "function expected", "completer must be a function")
t.lives(function() rl.set_completer(function() return {} end) rl.set_completer(nil) end, "completer set and cleared")
t.is(type(rl.interactive()), "boolean", "interactive() answers")
rl.clear_history()
