-- bench/store: opening a stored 10M-bar series (goal: under 10 ms; memory-mapped,
-- no parse), with and without the data checksum pass, and reading a column through
-- the bounds-checked [] against the raw pointer.
local series = require("alluse.series")
local data = require("alluse.data")
local clock = require("alluse.time")

local N = tonumber(arg[1]) or 1e7
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)

local s = series.new("BENCH", "1m")
local t0 = 946857600e6
for i = 0, N - 1 do
  local p = 100 + (i % 1000) * 0.01
  s:append(t0 + i * 60e6, p, p + 0.05, p - 0.05, p + 0.01, 1000)
end
local path = assert(data.save(s, dir))
s = nil
collectgarbage()

local function median_ms(fn, runs)
  local ts = {}
  for r = 1, runs do
    local a = clock.monotonic()
    fn()
    ts[r] = (clock.monotonic() - a) / 1000
  end
  table.sort(ts)
  return ts[math.floor(runs / 2) + 1]
end

local fast = median_ms(function() local x = assert(data.open(path, { verify = false })) x = nil end, 21)
local full = median_ms(function() local x = assert(data.open(path, { verify = true })) x = nil end, 5)
print(string.format("store: open %d bars (%.0f MB): %.3f ms without the checksum pass (goal < 10 ms), %.1f ms verified",
  N, N * 48 / 2 ^ 20, fast, full))

local m = assert(data.open(path, { verify = false }))
local close = m.close
local checked = median_ms(function()
  local sum = 0
  for i = 0, #close - 1 do sum = sum + close[i] end
  assert(sum > 0)
end, 3)
local raw = median_ms(function()
  local sum, v = 0, close.v
  for i = 0, #close - 1 do sum = sum + v[i] end
  assert(sum > 0)
end, 3)
print(string.format("store: sum a %d-bar column: %.2f ns/bar bounds-checked col[i], %.2f ns/bar raw col.v[i]",
  N, checked * 1e6 / N, raw * 1e6 / N))
os.remove(path)
os.remove(dir)
