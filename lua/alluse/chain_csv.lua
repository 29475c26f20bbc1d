-- alluse.chain_csv: an end-of-day option chain from CSV — the layout of
-- data/SPY-chain-2015-01-05.csv (data/README.md) — as a sorted list of standard
-- contracts with their quotes, vendor IV and greeks.
--
--   local chain_csv = require("alluse.chain_csv")
--   local chain, err = chain_csv.read("data/SPY-chain-2015-01-05.csv")
--   -- chain.quote_date == "2015-01-05", chain.underlying == "SPY",
--   -- chain.contracts[i] = { symbol =, expiry =, right =, strike =, bid =, ask =, mid =, ... }
--   -- chain.skipped = { nonstandard =, expired =, no_market =, placeholder_iv = }
--
-- Columns (any order, matched by name ignoring case, spaces, '_', '-' and '.'; extra
-- columns are ignored; each one below is required):
--   quote_date,underlying,contract,expiry,strike,type,bid,ask,last,volume,
--   open_interest,implied_vol,delta,gamma,theta,vega,rho,nonstd
-- Every row is checked — its OCC symbol against its expiry, strike and type columns,
-- numbers, one quote date and one underlying for the whole file, no duplicate
-- contracts — before deciding whether to keep it, so a broken row is an error even
-- when it would have been skipped.  docs/options.md is the full contract:
-- which rows are skipped and why, what counts as a missing IV, and every error.
--
-- Errors: bad argument types raise; a file that cannot be read or a bad row returns
-- nil, "FILE:LINE: reason" (or "FILE: reason").
local cal = require("alluse.calendar")
local check = require("alluse.check")
local occ = require("alluse.occ")

local type, pairs, ipairs, error, pcall = type, pairs, ipairs, error, pcall
local tonumber, tostring, setmetatable = tonumber, tostring, setmetatable
local format, concat, sort = string.format, table.concat, table.sort
local show = check.show
local huge = math.huge

local M = {
  -- The vendor's "no IV solved" value (data/README.md); read as a missing IV.
  PLACEHOLDER_IV = 0.113826,
}

-- The columns, in the file's documented order (also the order of "missing" messages).
local COLUMNS = {
  "quote_date", "underlying", "contract", "expiry", "strike", "type", "bid", "ask", "last",
  "volume", "open_interest", "implied_vol", "delta", "gamma", "theta", "vega", "rho", "nonstd",
}
local GREEKS = { "delta", "gamma", "theta", "vega", "rho" }

-- nonstd codes of standard contracts, inferred from the data (data/README.md): 0 on
-- standard monthlies, 104 on weeklies, 103 on end-of-quarter expiries.  Any other
-- code (7 marks the SPY7 minis) may be a deliverable we cannot model: skipped.
local STANDARD_CODES = { [0] = true, [103] = true, [104] = true }

local RIGHT_OF_TYPE = { C = "call", P = "put" }

-- ---- fields ----

-- A header name as compared: lower case without spaces, '_', '-', '.'.
local function normalize(name)
  return (name:lower():gsub("[%s_%-%.]", ""))
end

-- One line's fields.  Unquoted fields lose surrounding blanks; quoted fields
-- ("a,b", "say ""hi""") keep their text.  nil, reason for a broken quote.
local function split(line)
  local out = {}
  if not line:find('"', 1, true) then
    for f in (line .. ","):gmatch("([^,]*),") do out[#out + 1] = f:match("^[ \t]*(.-)[ \t]*$") end
    return out
  end
  local pos, n = 1, #line
  while true do
    local ws = line:match("^[ \t]*", pos)
    local p = pos + #ws
    if line:sub(p, p) == '"' then
      local buf, q = {}, p + 1
      while true do
        local close = line:find('"', q, true)
        if not close then return nil, "a quoted field has no closing quote" end
        buf[#buf + 1] = line:sub(q, close - 1)
        if line:sub(close + 1, close + 1) == '"' then
          buf[#buf + 1] = '"'
          q = close + 2
        else
          q = close + 1
          break
        end
      end
      out[#out + 1] = concat(buf)
      local rest = line:match("^[ \t]*", q)
      p = q + #rest
      if p <= n and line:sub(p, p) ~= "," then return nil, "text after the closing quote of a field" end
    else
      local comma = line:find(",", p, true) or n + 1
      out[#out + 1] = line:sub(p, comma - 1):match("^(.-)[ \t]*$")
      p = comma
    end
    if p > n then return out end
    pos = p + 1
  end
end

-- The number syntax csv.c accepts: [+-]digits[.digits][e[+-]digits], a digit in the
-- mantissa; no hex, inf, nan or blanks (tonumber alone would take them).
local function number(s)
  local mant = s:match("^([+-]?[%d%.]+)[eE][+-]?%d+$") or s
  if not mant:match("^[+-]?%d*%.?%d*$") or not mant:find("%d") then return nil end
  local v = tonumber(s)
  if not v or v == huge or v == -huge then return nil end
  return v + 0 -- "-0" reads as 0
end

-- ---- rows ----

local Row = {}
Row.__index = Row

-- The row's text in column name.
function Row:text(name)
  return self.fields[self.cols[name]]
end

local function row_error(reason)
  error({ row_error = reason }, 0)
end

-- A required number >= min (nil: any sign).
function Row:num(name, min)
  local s = self:text(name)
  if s == "" then row_error(name .. " is empty") end
  local v = number(s)
  if not v then row_error(format("%s %s is not a number", name, show(s))) end
  if min and v < min then row_error(format("%s %s is negative", name, s)) end
  return v
end

-- An optional number (empty: nil).
function Row:opt_num(name, min)
  if self:text(name) == "" then return nil end
  return self:num(name, min)
end

-- An optional whole number >= 0 (volume, open interest).
function Row:opt_count(name)
  local v = self:opt_num(name, 0)
  if v and v % 1 ~= 0 then row_error(format("%s %s is not a whole number", name, self:text(name))) end
  return v
end

function Row:date(name)
  local s = self:text(name)
  local ok = s:match("^%d%d%d%d%-%d%d%-%d%d$") and pcall(cal.day_number, s)
  if not ok then row_error(format("%s %s is not a date (YYYY-MM-DD)", name, show(s))) end
  return s
end

-- The contract column read and checked against the expiry, strike and type columns.
local function identify(row)
  local sym = row:text("contract")
  local c, err = occ.parse(sym, { allow_nonstandard = true })
  if not c then row_error("contract: " .. err:gsub("^occ%.parse: ", "")) end
  local expiry = row:date("expiry")
  if expiry ~= c.expiry then
    row_error(format("the contract %s expires %s, the expiry column says %s", show(sym), c.expiry, expiry))
  end
  local strike = row:num("strike", 0)
  if math.abs(strike - c.strike) > 5e-7 then
    row_error(format("the contract %s has strike %.15g, the strike column says %s", show(sym),
      c.strike, row:text("strike")))
  end
  local right = RIGHT_OF_TYPE[row:text("type")]
  if not right then row_error(format("type %s must be C or P", show(row:text("type")))) end
  if right ~= c.right then
    row_error(format("the contract %s is a %s, the type column says %s", show(sym), c.right,
      row:text("type")))
  end
  local underlying = row:text("underlying")
  if underlying == "" then row_error("underlying is empty") end
  if c.underlying ~= underlying then
    row_error(format("the contract %s is on %s, the underlying column says %s", show(sym),
      c.underlying, show(underlying)))
  end
  return c
end

-- IV and greeks: the placeholder, 0 or an empty IV is missing, and so are the greeks
-- then — the vendor computed them from no solved IV (all five are 0 in most such
-- rows, which would read as a real zero delta).
local function fill_model(row, k)
  local iv = row:opt_num("implied_vol", 0)
  local greeks = {}
  for _, g in ipairs(GREEKS) do greeks[g] = row:opt_num(g) end
  if iv == nil or iv == 0 or iv == M.PLACEHOLDER_IV then
    k.iv_missing = true
    return
  end
  k.iv, k.iv_missing = iv, false
  for _, g in ipairs(GREEKS) do k[g] = greeks[g] end
end

-- The contract table of one row (quotes checked), and its kind: "ok", or the reason
-- it is skipped ("nonstandard", "expired", "no_market").
local function read_row(row, quote_date, keep_no_market)
  local c = identify(row)
  local nonstd = row:num("nonstd")
  if nonstd % 1 ~= 0 then row_error(format("nonstd %s is not a whole number", row:text("nonstd"))) end
  local bid, ask = row:num("bid", 0), row:num("ask", 0)
  if bid > ask then
    row_error(format("bid %s is above ask %s (a crossed market)", row:text("bid"), row:text("ask")))
  end
  local k = {
    symbol = occ.format(c), underlying = c.underlying, root = c.root, expiry = c.expiry,
    expiry_time = c.expiry_time, right = c.right, strike = c.strike, multiplier = occ.MULTIPLIER,
    bid = bid, ask = ask, last = row:opt_num("last", 0), volume = row:opt_count("volume"),
    open_interest = row:opt_count("open_interest"),
  }
  fill_model(row, k)
  if bid > 0 and ask > 0 then k.mid = (bid + ask) / 2 end
  if c.nonstandard or not STANDARD_CODES[nonstd] then return k, "nonstandard" end
  if c.expiry < quote_date then return k, "expired" end
  if bid == 0 and ask == 0 and not keep_no_market then return k, "no_market" end
  return k, "ok"
end

-- ---- the file ----

-- Column name -> field index, or nil, reason.  Two columns with one of our names
-- are an error (which one holds the data?); other columns are ignored, repeated or not.
local function read_header(line)
  local fields, why = split(line)
  if not fields then return nil, "header: " .. why end
  local wanted = {}
  for _, name in ipairs(COLUMNS) do wanted[normalize(name)] = name end
  local cols, missing = {}, {}
  for i, f in ipairs(fields) do
    local name = wanted[normalize(f)]
    if name and cols[name] then
      return nil, format("two columns named %s (%d and %d)", show(f), cols[name], i)
    end
    if name then cols[name] = i end
  end
  for _, name in ipairs(COLUMNS) do
    if not cols[name] then missing[#missing + 1] = name end
  end
  if #missing == #COLUMNS then
    return nil, format("not a chain header: none of the columns %s is there (the first line "
      .. "must name them)", concat(COLUMNS, ","))
  end
  if #missing > 0 then
    return nil, format("missing column%s %s (a chain file has %s)", #missing > 1 and "s" or "",
      concat(missing, ", "), concat(COLUMNS, ","))
  end
  return cols, #fields
end

-- Each line of text with its number, without its CR/LF; a last line without a
-- line break counts, an empty text has no lines.
local function lines(text)
  local pos, n, no = 1, #text, 0
  return function()
    if pos > n then return nil end
    local nl = text:find("\n", pos, true)
    local line = text:sub(pos, (nl or n + 1) - 1)
    pos = (nl or n) + 1
    no = no + 1
    if line:sub(-1) == "\r" then line = line:sub(1, -2) end
    return no, line
  end
end

local function by_expiry_right_strike(a, b)
  if a.expiry ~= b.expiry then return a.expiry < b.expiry end
  if a.right ~= b.right then return a.right == "call" end
  return a.strike < b.strike
end

-- The state of one read, so that each step is a small function.
local function new_chain(path)
  return {
    source = path, contracts = {},
    skipped = { nonstandard = 0, expired = 0, no_market = 0, placeholder_iv = 0 },
  }
end

-- Check a row's file-wide facts (one quote date, one underlying, no duplicate) and
-- file it under kept or skipped.
local function take_row(chain, row, seen, opts)
  local qd = row:date("quote_date")
  if chain.quote_date == nil then
    chain.quote_date, chain.underlying = qd, row:text("underlying")
  elseif qd ~= chain.quote_date then
    row_error(format("quote_date %s differs from %s on line %d: a chain is one day's quotes",
      qd, chain.quote_date, chain.first_line))
  end
  local k, kind = read_row(row, chain.quote_date, opts.keep_no_market)
  if k.underlying ~= chain.underlying then
    row_error(format("underlying %s differs from %s on line %d: a chain has one underlying",
      k.underlying, chain.underlying, chain.first_line))
  end
  if seen[k.symbol] then
    row_error(format("the contract %s appears twice (first on line %d)", show(k.symbol), seen[k.symbol]))
  end
  seen[k.symbol] = row.line
  if kind ~= "ok" then
    chain.skipped[kind] = chain.skipped[kind] + 1
    return
  end
  if k.iv_missing then chain.skipped.placeholder_iv = chain.skipped.placeholder_iv + 1 end
  chain.contracts[#chain.contracts + 1] = k
end

local function read_text(path, text, opts)
  local chain = new_chain(path)
  local next_line = lines(text)
  local no, line = next_line()
  if not no or (no == 1 and line == "" and not next_line()) then
    return nil, path .. ": empty file, no header line"
  end
  line = line:gsub("^\239\187\191", "") -- a UTF-8 byte order mark
  local cols, ncols = read_header(line)
  if not cols then return nil, format("%s:%d: %s", path, no, ncols) end
  local seen, last = {}, no
  for lno, l in next_line do
    last = lno
    if l ~= "" then
      local fields, why = split(l)
      if not fields then return nil, format("%s:%d: %s", path, lno, why) end
      if #fields ~= ncols then
        return nil, format("%s:%d: %d field%s, the header has %d", path, lno, #fields,
          #fields == 1 and "" or "s", ncols)
      end
      local row = setmetatable({ fields = fields, cols = cols, line = lno }, Row)
      chain.first_line = chain.first_line or lno
      local ok, err = pcall(take_row, chain, row, seen, opts)
      if not ok then
        if type(err) == "table" and err.row_error then
          return nil, format("%s:%d: %s", path, lno, err.row_error)
        end
        error(err, 0) -- a bug here, not bad data: let it show its traceback
      end
    end
  end
  if chain.quote_date == nil then
    return nil, format("%s:%d: no rows after the header", path, last)
  end
  chain.first_line = nil
  sort(chain.contracts, by_expiry_right_strike)
  return chain
end

local OPTS = { keep_no_market = "boolean" }

-- The chain in the file at path, or nil, "FILE:LINE: reason".  opts.keep_no_market
-- keeps contracts quoted 0 bid and 0 ask (they have no mid) instead of skipping them.
function M.read(path, opts)
  if type(path) ~= "string" or path == "" then
    error("chain_csv.read: path must be a non-empty string, got " .. show(path), 2)
  end
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error("chain_csv.read: opts must be a table or nil, got " .. show(opts), 2)
  end
  for key, v in pairs(opts) do
    if OPTS[key] == nil then
      error("chain_csv.read: unknown option " .. show(key) .. " (keep_no_market)", 2)
    end
    if type(v) ~= OPTS[key] then
      error(format("chain_csv.read: opts.%s must be a %s, got %s", key, OPTS[key], show(v)), 2)
    end
  end
  local f, oerr = io.open(path, "rb")
  if not f then return nil, path .. ": cannot open: " .. (oerr:gsub("^.-: ", "")) end
  local text, rerr = f:read("*a")
  f:close()
  if not text then return nil, path .. ": cannot read: " .. tostring(rerr) end
  return read_text(path, text, opts)
end

return M
