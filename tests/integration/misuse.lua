-- Call every function of every C-backed and library module with a table of bad
-- arguments.  Each call must return or raise a Lua error; a crash kills this process
-- and test_misuse.sh reports it.  New functions are covered as soon as they exist.
local modules = {
  "alluse.core.host", "alluse.core.crypto", "alluse.core.readline", "cjson",
  "alluse.crypto", "alluse.json", "alluse.time", "alluse.log", "alluse.sandbox",
  "alluse.flags", "alluse.inspect", "alluse.test", "alluse.calendar", "alluse.series",
  "alluse.data", "alluse.indicators", "alluse.check", "alluse.oms", "alluse.engine", "alluse.strategy",
  "alluse.backtest", "alluse.report.stats", "alluse.report.html", "alluse.options", "alluse.occ",
  "alluse.chain_csv", "alluse.chain", "alluse.engine_options", "alluse.metrics",
  "alluse.core.curl", "alluse.http",
}
-- Functions that would block on the terminal, end the process or print TAP lines.
local skip = {
  ["alluse.core.readline.readline"] = true,
  ["alluse.test.run_files"] = true,
}
local prefix_skip = { ["alluse.test."] = true }

-- Functions that take file names get junk ones: work in a fresh temp folder wherever
-- this script is started from.
local misuse_dir
do
  local ffi = require("ffi")
  ffi.cdef("int chdir(const char *path);")
  -- os.tmpname makes a unique empty file; its name becomes the folder.
  local name = os.tmpname()
  assert(os.remove(name) and os.execute("mkdir -m 700 '" .. name .. "'") == 0, "cannot make a temp folder")
  assert(ffi.C.chdir(name) == 0, "cannot enter the temp folder")
  misuse_dir = name
end

local huge = string.rep("x", 2 ^ 20)
local bad = {
  false, true, 0, -1, 1.5, 2 ^ 63, -(2 ^ 63), 0 / 0, math.huge, -math.huge,
  "", "\0\255", huge, "%s%n%s", {}, setmetatable({}, { __index = function() error("trap") end }),
  function() end, coroutine.create(function() end), io.stdout,
}

local calls, raised = 0, 0
local function try(fn, ...)
  calls = calls + 1
  local ok = pcall(fn, ...)
  if not ok then raised = raised + 1 end
end

local tmp = os.tmpname()
for _, name in ipairs(modules) do
  local ok, mod = pcall(require, name)
  if ok and type(mod) == "table" then
    local names = {}
    for k, v in pairs(mod) do
      if type(v) == "function" then names[#names + 1] = k end
    end
    table.sort(names)
    for _, k in ipairs(names) do
      local full = name .. "." .. k
      if not skip[full] and not prefix_skip[name .. "."] then
        local fn = mod[k]
        try(fn)
        for _, a in ipairs(bad) do
          try(fn, a)
          try(fn, a, a)
          try(fn, "ok", a)
          try(fn, a, "ok", a)
          try(fn, 1, a)
          try(fn, tmp, a)
        end
      end
    end
  else
    io.stdout:write("# module ", name, " not present\n")
  end
end
os.remove(tmp)
os.execute("rm -rf '" .. misuse_dir .. "'")
io.stdout:write(string.format("survived %d calls (%d raised)\n", calls, raised))
