-- The binary bar store: round trips, and every way a file can be wrong is refused
-- with a message naming the file — never read as garbage.
local t = require("alluse.test")
local series = require("alluse.series")
local data = require("alluse.data")

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir) == 0)

local function sample(sym, n, adj)
  local s = series.new(sym, "1d", { adj_close = adj })
  for i = 1, n do s:append(i * 86400e6, 10 + i, 11 + i, 9 + i, 10.5 + i, 1000 * i, adj and (10.4 + i) or nil) end
  return s
end

local function read_bytes(path)
  local f = assert(io.open(path, "rb"))
  local b = f:read("*a")
  f:close()
  return b
end
local function write_bytes(path, b)
  local f = assert(io.open(path, "wb"))
  f:write(b)
  f:close()
end

local s = sample("AAA", 500, true)
local path, err = data.save(s, dir)
t.is(path, dir .. "/AAA.1d.bars", "save names the file SYMBOL.TF.bars")
t.is(err, nil, "save succeeds")
t.is(#read_bytes(path), 256 + 500 * 8 * 7, "file is header + 7 columns")
local r = assert(data.open(path))
t.is(r.n, 500, "open: rows")
t.is(r.symbol, "AAA", "open: symbol")
t.is(r.timeframe, "1d", "open: timeframe")
local same = true
for i = 0, 499 do
  for _, f in ipairs({ "time", "open", "high", "low", "close", "volume", "adj_close" }) do
    if r[f][i] ~= s[f][i] then same = false end
  end
end
t.ok(same, "open: every value of every column round-trips exactly")
t.raises(function() r:append(1e15, 1, 1, 1, 1, 1) end, "cannot grow", "a mapped series is read-only")
local l = assert(data.load(dir, "AAA", "1d"))
t.is(l.close[499], s.close[499], "load by symbol and timeframe")
local empty = series.new("EMPTY", "5m")
local ep = assert(data.save(empty, dir))
t.is(assert(data.open(ep)).n, 0, "an empty series round-trips")

local info = assert(data.info(dir))
t.is(#info, 2, "info lists every file")
t.is(info[1].symbol, "AAA", "info: symbol")
t.is(info[1].rows, 500, "info: rows")
t.is(info[1].first, 86400e6, "info: first bar")
t.is(info[1].last, 500 * 86400e6, "info: last bar")
t.is(info[1].adj_close, true, "info: adj_close flag")

-- Damage, each case on a fresh copy.
local good = read_bytes(path)
local bad = dir .. "/BAD.1d.bars"
local function damaged(bytes, verify)
  write_bytes(bad, bytes)
  return data.open(bad, { verify = verify })
end
local function flip(b, pos) -- 1-based byte position
  return b:sub(1, pos - 1) .. string.char(bit.bxor(b:byte(pos), 1)) .. b:sub(pos + 1)
end
local function le32(n) return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, 0) end

local cases = {
  { "truncated by one byte", good:sub(1, -2), "truncated or padded" },
  { "truncated to half", good:sub(1, #good / 2), "truncated or padded" },
  { "truncated inside the header", good:sub(1, 100), "corrupt header" },
  { "shorter than a header", good:sub(1, 40), "too short" },
  { "empty", "", "too short" },
  { "padded", good .. "\0\0\0\0\0\0\0\0", "truncated or padded" },
  { "wrong magic", "X" .. good:sub(2), "not an alluse bar file" },
  { "a CSV file", "date,open,high,low,close,volume\n" .. string.rep("2020-01-02,1,2,0.5,1.5,100\n", 10), "not an alluse bar file" },
  { "newer format version", good:sub(1, 8) .. le32(2) .. good:sub(13), "format version 2 is newer" },
  { "flipped bit in the row count", flip(good, 57), "corrupt header" },
  { "flipped bit in the symbol", flip(good, 17), "corrupt header" },
  { "flipped bit in the first time", flip(good, 257), "first/last bar times" },
}
for _, c in ipairs(cases) do
  local v, e = damaged(c[2], false)
  t.ok(v == nil and type(e) == "string" and e:find(bad, 1, true) == 1 and e:find(c[3], 1, true) ~= nil,
    "refused: " .. c[1] .. " (" .. tostring(e) .. ")")
  local i, ie = data.read_info(bad)
  t.ok(i == nil and ie:find(bad, 1, true) == 1, "read_info refuses too: " .. c[1])
end

-- A flipped bit deep in the data: caught by the checksum (the default), not by the
-- O(1) checks.
local mid = 256 + 8 * 500 * 4 + 8 * 250 + 3   -- inside the close column
local v, e = damaged(flip(good, mid), true)
t.ok(v == nil and e:find("data checksum mismatch", 1, true), "default open catches a flipped data bit: " .. tostring(e))
local v2 = damaged(flip(good, mid), false)
t.ok(v2 ~= nil, "verify = false skips the pass (documented fast path)")
local listed = assert(data.info(dir, { verify = true }))
local flagged
for _, entry in ipairs(listed) do if entry.path == bad then flagged = entry.error end end
t.like(flagged, "data checksum mismatch", "info --verify reports the damaged file")

-- Saving is atomic: a failed save leaves the old file intact.
write_bytes(bad, good)
local ro = dir .. "/ro"
os.execute("mkdir -p " .. ro .. " && chmod 555 " .. ro)
local p2, e2 = data.save(sample("AAA", 3), ro)
if p2 == nil then
  t.like(e2, "ro/AAA.1d.bars.tmp", "a failed save names the file")
else
  t.skip("running as a user who can write read-only folders")
end
t.is(#assert(data.open(path)).close, 500, "the existing file is untouched")

t.raises(function() data.open(nil) end, "path", "open(nil) raises")
t.raises(function() data.save({}, dir) end, "expects a series", "save of a non-series raises")
t.raises(function() data.path(dir, "BAD/NAME", "1d") end, "symbol", "symbols that are not file-name safe raise")
local nf, nferr = data.open(dir .. "/nope.1d.bars")
t.ok(nf == nil and nferr:find("No such file"), "a missing file returns nil, message")
os.execute("chmod 755 " .. ro .. "; rm -rf " .. dir)
