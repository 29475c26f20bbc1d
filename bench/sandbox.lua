-- bench/sandbox: what the watchdog's instrumentation costs a hot strategy loop.
-- The same source runs as plain Lua and inside the sandbox; both are JIT-compiled.
local sandbox = require("alluse.sandbox")
local clock = require("alluse.time")

local N = 2e8
local src = [[
local n = ...
local s, x = 0, 1
for i = 1, n do
  x = (x * 1103515245 + 12345) % 2147483648
  if x % 3 == 0 then s = s + 1 end
end
return s
]]

local function time(fn)
  local best = math.huge
  local result
  for _ = 1, 3 do
    local t0 = clock.monotonic()
    result = fn()
    best = math.min(best, clock.monotonic() - t0)
  end
  return best, result
end

local plain = assert(loadstring(src, "=plain"))
local box = sandbox.new({ budget_ms = 60000 })
local boxed = assert(box:load(src, "=boxed"))
local tp, rp = time(function() return plain(N) end)
local tb, rb = time(function() local ok, v = box:call(boxed, N) assert(ok, v) return v end)
assert(rp == rb, "sandboxed result differs")
print(string.format("sandbox: %.2f ns/iteration plain, %.2f ns/iteration sandboxed (%.2fx), %d iterations",
  tp * 1000 / N, tb * 1000 / N, tb / tp, N))
