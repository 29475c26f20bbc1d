-- alluse.data: market data files — the binary bar store and CSV import.
--
--   local data = require("alluse.data")
--   local s, err = data.open("store/SPY.1d.bars")            -- memory-mapped, verified
--   local s, err = data.load("store", "SPY", "1d")            -- the same, by symbol
--   local path, err = data.save(s, "store")                   -- atomic write
--   local list, err = data.info("store")                      -- headers of every file
--   local s, res = data.read_csv("SPY-daily.csv", { tick = 0.01 })
--
-- Runtime failures (a missing or corrupt file, bad CSV rows) return nil, message;
-- messages name the file (and line, for CSV).  Bad argument types raise.
local ffi = require("ffi")
local series = require("alluse.series")
local C = ffi.C

ffi.cdef [[
typedef struct md_store_info {
  char symbol[32];
  int32_t timeframe;
  uint32_t version;
  int has_adj_close;
  int64_t rows, first_time, last_time;
  uint64_t data_checksum;
  int64_t file_size;
} md_store_info;
int md_store_path(const char *dir, const char *symbol, int32_t timeframe, char *out, size_t outlen);
int md_store_write(const char *path, const md_series *s, char *err, size_t errlen);
int md_store_read_info(const char *path, md_store_info *info, char *err, size_t errlen);
md_series *md_store_open(const char *path, int verify, char *err, size_t errlen);
]]

local M = {}
local ERRLEN = 1024
local errbuf = ffi.new("char[?]", ERRLEN)
local pathbuf = ffi.new("char[?]", 4096)

local function check_string(v, name, level)
  if type(v) ~= "string" or v == "" then error(name .. " must be a non-empty string", level + 1) end
end

-- Symbols become file names: keep them to what every filesystem and shell accepts.
local function check_symbol(sym, level)
  check_string(sym, "symbol", level + 1)
  if #sym >= 32 or not sym:match("^[%w%.%^_%-]+$") then
    error("symbol '" .. sym .. "' must be 1-31 characters of letters, digits, . ^ _ -", level + 1)
  end
end
M.check_symbol = check_symbol

function M.path(dir, symbol, timeframe)
  check_string(dir, "dir", 2)
  check_symbol(symbol, 2)
  local tf = series.parse_timeframe(timeframe)
  if C.md_store_path(dir, symbol, tf, pathbuf, 4096) ~= 0 then error("store path too long", 2) end
  return ffi.string(pathbuf)
end

-- Open a stored series.  opts.verify (default true) checks the data checksum too:
-- a pass over the file; pass false for very large files when speed matters.
function M.open(path, opts)
  check_string(path, "path", 2)
  local verify = not (opts and opts.verify == false)
  local cs = C.md_store_open(path, verify and 1 or 0, errbuf, ERRLEN)
  if cs == nil then return nil, ffi.string(errbuf) end
  return series.wrap(cs)
end

function M.load(dir, symbol, timeframe, opts)
  return M.open(M.path(dir, symbol, timeframe or "1d"), opts)
end

function M.save(s, dir)
  if getmetatable(s) ~= series.Series then error("data.save: expects a series", 2) end
  check_string(dir, "dir", 2)
  check_symbol(s.symbol, 2)
  local path = M.path(dir, s.symbol, s.timeframe)
  if C.md_store_write(path, s._cs, errbuf, ERRLEN) ~= 0 then return nil, ffi.string(errbuf) end
  return path
end

local function info_table(path, info)
  local tfbuf = ffi.new("char[16]")
  return {
    path = path,
    symbol = ffi.string(info.symbol),
    timeframe = ffi.string(C.md_timeframe_name(info.timeframe, tfbuf, 16)),
    version = tonumber(info.version),
    rows = tonumber(info.rows),
    first = tonumber(info.first_time),
    last = tonumber(info.last_time),
    adj_close = info.has_adj_close ~= 0,
    bytes = tonumber(info.file_size),
  }
end

function M.read_info(path)
  check_string(path, "path", 2)
  local info = ffi.new("md_store_info")
  if C.md_store_read_info(path, info, errbuf, ERRLEN) ~= 0 then return nil, ffi.string(errbuf) end
  return info_table(path, info)
end

-- Every *.bars file in dir, sorted by symbol then timeframe; files that fail their
-- checks are listed with an `error` field rather than dropped.
function M.info(dir, opts)
  check_string(dir, "dir", 2)
  local out = {}
  for _, path in ipairs(require("alluse.fs").files(dir, { maxdepth = 1, names = { "*.bars" } })) do
    local entry, err = M.read_info(path)
    if entry and opts and opts.verify then
      local s, verr = M.open(path, { verify = true })
      if not s then entry, err = nil, verr end
    end
    out[#out + 1] = entry or { path = path, error = err }
  end
  if not require("alluse.fs").is_dir(dir) then return nil, dir .. ": no such folder" end
  return out
end

ffi.cdef [[
typedef struct md_csv_options {
  const char *symbol;
  int32_t timeframe;
  double tick;
  int skip_bad;
} md_csv_options;
typedef struct md_csv_result {
  int64_t rows, skipped;
  char first_errors[5][256];
  int nerrors;
  int has_volume;
} md_csv_result;
md_series *md_csv_read(const char *path, const md_csv_options *opt, md_csv_result *res, char *err, size_t errlen);
]]

-- Read a CSV file of bars (formats in docs/csv.md).  opts: symbol (default: the file
-- name up to the first '-' or '.'), timeframe (default: inferred), tick (round prices
-- to multiples of it), skip_bad.  Returns series, {rows, skipped, errors} or nil, message.
function M.read_csv(path, opts)
  check_string(path, "path", 2)
  opts = opts or {}
  if type(opts) ~= "table" then error("data.read_csv: opts must be a table", 2) end
  local symbol = opts.symbol or (path:match("([^/]+)$") or ""):match("^([^%-%.]+)")
  check_symbol(symbol, 2)
  local tick = opts.tick or 0
  if type(tick) ~= "number" or tick < 0 or tick ~= tick then error("data.read_csv: tick must be a positive number", 2) end
  local o = ffi.new("md_csv_options")
  o.symbol = symbol
  o.timeframe = opts.timeframe and series.parse_timeframe(opts.timeframe) or 0
  o.tick = tick
  o.skip_bad = opts.skip_bad and 1 or 0
  local res = ffi.new("md_csv_result")
  local cs = C.md_csv_read(path, o, res, errbuf, ERRLEN)
  if cs == nil then return nil, ffi.string(errbuf) end
  local errors = {}
  for i = 0, res.nerrors - 1 do errors[#errors + 1] = ffi.string(res.first_errors[i]) end
  return series.wrap(cs), { rows = tonumber(res.rows), skipped = tonumber(res.skipped), errors = errors }
end

return M
