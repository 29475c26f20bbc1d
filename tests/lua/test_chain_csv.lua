-- alluse.chain_csv: the shipped SPY chain (counts against data/README.md and against
-- an independent count of the raw file, hand-checked rows, order, expiry instants),
-- the options, accepted variations (CRLF, BOM, quotes, column order and case, blank
-- lines, empty optional values), and one fixture per error, each named by file and
-- line.  Expected instants come from GNU date, not from the calendar.
local t = require("alluse.test")
local chain_csv = require("alluse.chain_csv")

local S = 1000000

local function repo_root()
  local src = debug.getinfo(1, "S").source
  return src:match("^@(.-)tests/lua/[^/]+$") or ""
end
local CHAIN = repo_root() .. "data/SPY-chain-2015-01-05.csv"

-- ---- an independent count of the raw file (plain string splitting) ----

local raw = { spy = 0, spy7 = 0, no_market = 0, placeholder = 0, placeholder_no_market = 0,
  two_sided_real_iv = 0, expiries = {}, calls = 0, puts = 0 }
do
  local header = true
  for line in io.lines(CHAIN) do
    if header then
      header = false
    else
      local f = {}
      for v in (line .. ","):gmatch("([^,]*),") do f[#f + 1] = v end
      local root = f[3]:sub(1, 6)
      if root == "SPY7  " then
        raw.spy7 = raw.spy7 + 1
      elseif root == "SPY   " then
        raw.spy = raw.spy + 1
        local bid, ask, iv = tonumber(f[7]), tonumber(f[8]), f[12]
        local nm = bid == 0 and ask == 0
        if nm then raw.no_market = raw.no_market + 1 end
        if iv == "0.113826" then raw.placeholder = raw.placeholder + 1 end
        if iv == "0.113826" and nm then raw.placeholder_no_market = raw.placeholder_no_market + 1 end
        if bid > 0 and ask > 0 and iv ~= "0.113826" and tonumber(iv) ~= 0 then
          raw.two_sided_real_iv = raw.two_sided_real_iv + 1
        end
        if not nm then
          raw.expiries[f[4]] = true
          if f[6] == "C" then raw.calls = raw.calls + 1 else raw.puts = raw.puts + 1 end
        end
      end
    end
  end
end
-- data/README.md's numbers for the standard root.
t.is(raw.spy, 3484, "raw file: 3484 SPY rows (data/README.md)")
t.is(raw.spy7, 1144, "raw file: 1144 SPY7 rows (data/README.md)")
t.is(raw.placeholder, 247, "raw file: 247 SPY rows with the placeholder IV (data/README.md)")
t.is(raw.two_sided_real_iv, 2967, "raw file: 2967 SPY rows with a two-sided market and a real IV (data/README.md)")

-- ---- the shipped chain ----

local chain, err = chain_csv.read(CHAIN)
t.ok(chain, "reads the shipped chain: " .. tostring(err))
chain = chain or { contracts = {}, skipped = {} }
t.is(chain.quote_date, "2015-01-05", "quote_date")
t.is(chain.underlying, "SPY", "underlying")
t.is(chain.source, CHAIN, "source is the path")
t.is_deeply(chain.skipped, { nonstandard = 1144, expired = 0, no_market = 32, placeholder_iv = 224 },
  "skipped: every SPY7 row, the 0/0 rows, and the placeholder IVs among the kept rows")
t.is(raw.no_market, 32, "raw file: 32 SPY rows quoted 0 bid and 0 ask")
t.is(#chain.contracts, raw.spy - raw.no_market, "contracts: the 3484 SPY rows less the 32 without a market")
t.is(chain.skipped.placeholder_iv, raw.placeholder - raw.placeholder_no_market,
  "placeholder_iv: the 247 placeholder rows less the 23 among the skipped 0/0 rows")

do
  local missing, with_mid, real, calls, puts, expiries, n_exp = 0, 0, 0, 0, 0, {}, 0
  local order_ok, std_ok = true, true
  for i, k in ipairs(chain.contracts) do
    if k.iv_missing then missing = missing + 1 end
    if k.mid then with_mid = with_mid + 1 end
    if k.mid and not k.iv_missing then real = real + 1 end
    if k.right == "call" then calls = calls + 1 else puts = puts + 1 end
    if not expiries[k.expiry] then expiries[k.expiry], n_exp = true, n_exp + 1 end
    if k.multiplier ~= 100 or k.underlying ~= "SPY" or #k.symbol ~= 21 or k.symbol:sub(1, 6) ~= "SPY   " then
      std_ok = false
    end
    local p = chain.contracts[i - 1]
    if p and not (p.expiry < k.expiry or (p.expiry == k.expiry and (p.right < k.right
        or (p.right == k.right and p.strike < k.strike)))) then
      order_ok = false
    end
  end
  t.is(missing, chain.skipped.placeholder_iv, "iv_missing on exactly the counted contracts")
  t.is(real, 2967, "2967 contracts have a mid and a real IV (data/README.md)")
  t.is(calls, raw.calls, "calls: " .. calls)
  t.is(puts, raw.puts, "puts: " .. puts)
  local n_raw = 0
  for _ in pairs(raw.expiries) do n_raw = n_raw + 1 end
  t.is(n_exp, n_raw, "every expiry of the raw SPY rows is there (" .. n_exp .. ")")
  t.ok(order_ok, "contracts are sorted by expiry, right (calls first), strike")
  t.ok(std_ok, "every contract is a standard SPY contract, multiplier 100, 21-character symbol")
end

local function find(ch, symbol)
  for _, k in ipairs(ch.contracts) do if k.symbol == symbol then return k end end
end

-- Line 285: 2015-01-05,SPY,SPY   150117C00200000,2015-01-17,200,C,3.64,3.69,3.64,25119,
-- 237601,0.195451,0.60618,0.0562106,-0.119706,0.134726,0.0357466,0
t.is_deeply(find(chain, "SPY   150117C00200000"), {
  symbol = "SPY   150117C00200000", underlying = "SPY", root = "SPY", expiry = "2015-01-17",
  expiry_time = 1421442000 * S, right = "call", strike = 200, multiplier = 100,
  bid = 3.64, ask = 3.69, mid = (3.64 + 3.69) / 2, last = 3.64, volume = 25119, open_interest = 237601,
  iv = 0.195451, iv_missing = false, delta = 0.60618, gamma = 0.0562106, theta = -0.119706,
  vega = 0.134726, rho = 0.0357466,
}, "line 285, the Jan-17 200 call: every field (Saturday expiry -> Friday 16:00 EST)")
-- Line 132: a placeholder IV with greeks the vendor computed from it.
t.is_deeply(find(chain, "SPY   150109P00208000"), {
  symbol = "SPY   150109P00208000", underlying = "SPY", root = "SPY", expiry = "2015-01-09",
  expiry_time = 1420837200 * S, right = "put", strike = 208, multiplier = 100,
  bid = 6.08, ask = 6.26, mid = (6.08 + 6.26) / 2, last = 6.15, volume = 851, open_interest = 6994,
  iv_missing = true,
}, "line 132, placeholder IV: iv and greeks are nil, iv_missing is true")
do
  local k = find(chain, "SPY   150109C00211500") -- bid 0, ask 0.02
  t.ok(k and k.bid == 0 and k.ask == 0.02 and k.mid == nil and k.iv == 0.18612,
    "a one-sided market (bid 0) is kept, without a mid")
  k = find(chain, "SPY   151219P00150000")
  t.ok(k and k.expiry == "2015-12-19" and k.expiry_time == 1450472400 * S,
    "the 2015-12-19 Saturday expiry ends Friday 2015-12-18 16:00 EST")
  k = find(chain, "SPY   150331C00205000")
  t.ok(k and k.expiry_time == 1427832000 * S and k.iv == 0.153097,
    "the 2015-03-31 quarterly (nonstd 103) is kept, ends 16:00 EDT")
  t.is(find(chain, "SPY   151231C00100000"), nil, "line 2612, 0 bid 0 ask: skipped")
  t.is(find(chain, "SPY7  150117C00200000"), nil, "SPY7 minis are skipped")
end

-- keep_no_market
do
  local all = chain_csv.read(CHAIN, { keep_no_market = true })
  t.ok(all and #all.contracts == 3484 and all.skipped.no_market == 0
    and all.skipped.placeholder_iv == raw.placeholder,
    "keep_no_market keeps all 3484 SPY rows (placeholder_iv then counts all 247)")
  local k = all and find(all, "SPY   151231C00100000")
  t.ok(k and k.bid == 0 and k.ask == 0 and k.mid == nil and k.iv == 0.7926,
    "keep_no_market: a 0/0 row has no mid, its other fields as given")
end

-- ---- fixtures ----

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local HEADER = "quote_date,underlying,contract,expiry,strike,type,bid,ask,last,volume,open_interest,"
  .. "implied_vol,delta,gamma,theta,vega,rho,nonstd"
local GOOD = "2015-01-05,SPY,SPY   150117C00200000,2015-01-17,200,C,3.64,3.69,3.64,25119,237601,"
  .. "0.195451,0.60618,0.0562106,-0.119706,0.134726,0.0357466,0"
local GOOD2 = "2015-01-05,SPY,SPY   150117P00200000,2015-01-17,200,P,2.03,2.06,2.05,100,1000,"
  .. "0.2,-0.39,0.05,-0.1,0.13,-0.03,0"
local n_fix = 0

local function write(text)
  n_fix = n_fix + 1
  local path = dir .. "/chain" .. n_fix .. ".csv"
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- GOOD with field i (1-based) replaced by v.
local function good_with(i, v)
  local f = {}
  for x in (GOOD .. ","):gmatch("([^,]*),") do f[#f + 1] = x end
  f[i] = v
  return table.concat(f, ",")
end

local function reads(text, name, opts)
  local path = write(text)
  local ch, e = chain_csv.read(path, opts)
  t.ok(ch ~= nil, name .. (e and (": " .. e) or ""))
  return ch or { contracts = {}, skipped = {} }
end

-- text must be refused with "PATH:LINE: " followed by a message containing want.
local function refused(text, line, want, name)
  local path = write(text)
  local ch, e = chain_csv.read(path)
  local prefix = line and (path .. ":" .. line .. ": ") or (path .. ": ")
  t.ok(ch == nil and type(e) == "string" and e:sub(1, #prefix) == prefix and e:find(want, 1, true) ~= nil,
    "refuses " .. name .. ": " .. tostring(e))
end

-- Accepted variations.
do
  local ch = reads(HEADER .. "\n" .. GOOD .. "\n" .. GOOD2 .. "\n", "two rows")
  t.is(#ch.contracts, 2, "two rows, two contracts")
  t.is(ch.contracts[1].right, "call", "the call sorts before the put of the same strike")
  ch = reads("\239\187\191" .. HEADER .. "\r\n" .. GOOD .. "\r\n\r\n" .. GOOD2, "BOM, CRLF, a blank line, no final newline")
  t.is(#ch.contracts, 2, "BOM/CRLF: both rows")
  t.is(ch.contracts[1].symbol, "SPY   150117C00200000", "CRLF: no CR left in the values")
  ch = reads("Nonstd,Rho,Vega,Theta,Gamma,Delta,Implied Vol,Open Interest,Volume,Last,Ask,Bid,Type,Strike,"
    .. "Expiry,Contract,Underlying,Quote Date,extra,extra\n"
    .. "0,0.0357466,0.134726,-0.119706,0.0562106,0.60618,0.195451,237601,25119,3.64,3.69,3.64,C,200,"
    .. "2015-01-17,SPY   150117C00200000,SPY,2015-01-05,whatever,x\n",
    "columns reversed, names in another case with spaces, an extra column twice")
  t.is_deeply(ch.contracts[1], chain_csv.read(write(HEADER .. "\n" .. GOOD .. "\n")).contracts[1],
    "reordered columns read the same contract")
  ch = reads(HEADER .. '\n"2015-01-05","SPY","SPY   150117C00200000","2015-01-17","200","C",3.64,3.69,'
    .. '3.64,25119,237601,0.195451,0.60618,0.0562106,-0.119706,0.134726,0.0357466,0\n', "quoted fields")
  t.is(ch.contracts[1] and ch.contracts[1].symbol, "SPY   150117C00200000", "quoted fields: the symbol keeps its spaces")
  ch = reads(HEADER .. "\n2015-01-05,SPY,SPY   150117C00200000,2015-01-17,200,C,3.64,3.69,,,,,,,,,,0\n",
    "empty optional values")
  local k = ch.contracts[1] or {}
  t.ok(k.last == nil and k.volume == nil and k.open_interest == nil and k.iv == nil and k.iv_missing == true
    and k.delta == nil and k.mid == (3.64 + 3.69) / 2, "empty last/volume/oi/iv/greeks are nil; an empty IV is missing")
  ch = reads(HEADER .. "\n" .. good_with(12, "0") .. "\n", "implied_vol 0")
  t.ok(ch.contracts[1] and ch.contracts[1].iv == nil and ch.contracts[1].iv_missing == true
    and ch.contracts[1].delta == nil and ch.skipped.placeholder_iv == 1, "implied_vol 0 is missing, like the placeholder")
  ch = reads(HEADER .. "\n" .. GOOD .. "\n" .. good_with(3, "SPY   150117C00205000"):gsub(",200,C,", ",205,C,")
    :gsub(",0$", ",5") .. "\n", "an unknown nonstd code")
  t.ok(#ch.contracts == 1 and ch.skipped.nonstandard == 1, "nonstd 5 on a SPY root is skipped as non-standard")
  ch = reads(HEADER .. "\n" .. GOOD .. "\n" .. good_with(3, "SPY   150102C00200000"):gsub("2015%-01%-17", "2015-01-02")
    .. "\n", "an expired contract")
  t.ok(#ch.contracts == 1 and ch.skipped.expired == 1, "a contract that expired before the quote date is skipped")
  ch = reads(HEADER .. "\n" .. good_with(12, "1e-1"):gsub(",200,C,", ",200.000,C,") .. "\n", "exponent and decimal forms")
  t.ok(ch.contracts[1] and ch.contracts[1].iv == 0.1, "numbers with exponents read")
  ch = reads(HEADER .. "\n" .. good_with(3, "SPY150117C00200000") .. "\n", "a compact symbol")
  t.is(ch.contracts[1] and ch.contracts[1].symbol, "SPY   150117C00200000", "a compact symbol becomes the padded one")
  ch = reads(HEADER .. "\n" .. good_with(3, "SPY7  150117C00200000") .. "\n", "only non-standard rows")
  t.ok(#ch.contracts == 0 and ch.skipped.nonstandard == 1 and ch.quote_date == "2015-01-05",
    "a file of only skipped rows is an empty chain, not an error")
end

-- Errors, one fixture each.
refused("", nil, "empty file, no header line", "an empty file")
refused("\n", nil, "empty file, no header line", "a file of one blank line")
refused(HEADER:gsub(",nonstd", "") .. "\n" .. GOOD .. "\n", 1, "missing column nonstd (a chain file has", "a missing column")
refused(HEADER:gsub(",delta,gamma", "") .. "\n", 1, "missing columns delta, gamma", "two missing columns")
refused(GOOD .. "\n" .. GOOD2 .. "\n", 1, "not a chain header: none of the columns quote_date,", "a file without its header")
refused(HEADER .. ",Bid\n", 1, 'two columns named "Bid" (7 and 19)', "a duplicate column")
refused('"quote_date,' .. HEADER .. "\n", 1, "header: a quoted field has no closing quote", "a broken header quote")
refused(HEADER .. "\n", 1, "no rows after the header", "a header alone")
refused(HEADER .. "\n" .. GOOD .. ",x\n", 2, "19 fields, the header has 18", "a row with an extra field")
refused(HEADER .. "\n" .. GOOD .. "\n2015-01-05,SPY\n", 3, "2 fields, the header has 18", "a short row")
refused(HEADER .. '\n"2015-01-05"x' .. GOOD:sub(11) .. "\n", 2, "text after the closing quote", "text after a quote")
refused(HEADER .. "\n" .. good_with(1, "2015-13-05") .. "\n", 2, 'quote_date "2015-13-05" is not a date', "a bad quote date")
refused(HEADER .. "\n" .. good_with(1, "5/1/2015") .. "\n", 2, 'quote_date "5/1/2015" is not a date', "a US-style date")
refused(HEADER .. "\n" .. GOOD .. "\n" .. GOOD2:gsub("^2015%-01%-05", "2015-01-06") .. "\n", 3,
  "quote_date 2015-01-06 differs from 2015-01-05 on line 2", "a second quote date")
refused(HEADER .. "\n" .. good_with(2, "") .. "\n", 2, "underlying is empty", "an empty underlying")
refused(HEADER .. "\n" .. GOOD .. "\n" .. "2015-01-05,QQQ,QQQ   150117C00100000,2015-01-17,100,C,1,1.1,1,1,1,0.2,0.5,0.1,-0.1,0.1,0.1,0\n",
  3, "underlying QQQ differs from SPY on line 2", "a second underlying")
refused(HEADER .. "\n" .. good_with(2, "QQQ") .. "\n", 2,
  'the contract "SPY   150117C00200000" is on SPY, the underlying column says "QQQ"', "a contract on another underlying")
refused(HEADER .. "\n" .. good_with(3, "SPY   150117C0020000X") .. "\n", 2,
  'contract: not an OCC symbol "SPY   150117C0020000X": the strike field "0020000X" must be 8 digits', "a bad OCC symbol")
refused(HEADER .. "\n" .. good_with(3, "SPY") .. "\n", 2, 'contract: not an OCC symbol "SPY": length 3', "a ticker as contract")
refused(HEADER .. "\n" .. good_with(4, "2015-01-16") .. "\n", 2,
  'the contract "SPY   150117C00200000" expires 2015-01-17, the expiry column says 2015-01-16', "an expiry mismatch")
refused(HEADER .. "\n" .. good_with(4, "20150117") .. "\n", 2, 'expiry "20150117" is not a date', "an expiry not a date")
refused(HEADER .. "\n" .. good_with(5, "205") .. "\n", 2,
  'the contract "SPY   150117C00200000" has strike 200, the strike column says 205', "a strike mismatch")
refused(HEADER .. "\n" .. good_with(5, "two hundred") .. "\n", 2, 'strike "two hundred" is not a number', "a strike not a number")
refused(HEADER .. "\n" .. good_with(6, "P") .. "\n", 2,
  'the contract "SPY   150117C00200000" is a call, the type column says P', "a type mismatch")
refused(HEADER .. "\n" .. good_with(6, "call") .. "\n", 2, 'type "call" must be C or P', "a type that is not C or P")
refused(HEADER .. "\n" .. good_with(7, "") .. "\n", 2, "bid is empty", "an empty bid")
refused(HEADER .. "\n" .. good_with(7, "0x10") .. "\n", 2, 'bid "0x10" is not a number', "a hex bid")
refused(HEADER .. "\n" .. good_with(8, "inf") .. "\n", 2, 'ask "inf" is not a number', "an infinite ask")
refused(HEADER .. "\n" .. good_with(8, "nan") .. "\n", 2, 'ask "nan" is not a number', "a NaN ask")
refused(HEADER .. "\n" .. good_with(8, "1e999") .. "\n", 2, 'ask "1e999" is not a number', "an ask that overflows")
refused(HEADER .. "\n" .. good_with(7, "-0.05") .. "\n", 2, "bid -0.05 is negative", "a negative bid")
refused(HEADER .. "\n" .. good_with(7, "3.70") .. "\n", 2, "bid 3.70 is above ask 3.69 (a crossed market)", "a crossed market")
refused(HEADER .. "\n" .. good_with(9, "-1") .. "\n", 2, "last -1 is negative", "a negative last")
refused(HEADER .. "\n" .. good_with(10, "1.5") .. "\n", 2, "volume 1.5 is not a whole number", "a fractional volume")
refused(HEADER .. "\n" .. good_with(11, "-3") .. "\n", 2, "open_interest -3 is negative", "a negative open interest")
refused(HEADER .. "\n" .. good_with(12, "-0.2") .. "\n", 2, "implied_vol -0.2 is negative", "a negative IV")
refused(HEADER .. "\n" .. good_with(13, "0.6.1") .. "\n", 2, 'delta "0.6.1" is not a number', "a bad delta")
refused(HEADER .. "\n" .. good_with(17, "x") .. "\n", 2, 'rho "x" is not a number', "a bad rho")
refused(HEADER .. "\n" .. good_with(18, "") .. "\n", 2, "nonstd is empty", "an empty nonstd")
refused(HEADER .. "\n" .. good_with(18, "1.5") .. "\n", 2, "nonstd 1.5 is not a whole number", "a fractional nonstd")
refused(HEADER .. "\n" .. GOOD .. "\n" .. GOOD2 .. "\n" .. GOOD .. "\n", 4,
  'the contract "SPY   150117C00200000" appears twice (first on line 2)', "a duplicate contract")
refused(HEADER .. "\n" .. GOOD .. "\n" .. good_with(3, "SPY150117C00200000") .. "\n", 3,
  "appears twice (first on line 2)", "a duplicate in its compact spelling")
refused(HEADER .. "\n" .. good_with(3, "SPY7  150117C00200000"):gsub(",3%.64,3%.69,", ",3.70,3.69,") .. "\n", 2,
  "bid 3.70 is above ask 3.69", "a broken row that would have been skipped (SPY7)")

do
  local missing = dir .. "/no-such.csv"
  local ch, e = chain_csv.read(missing)
  t.ok(ch == nil and e == missing .. ": cannot open: No such file or directory", "a missing file: " .. tostring(e))
  ch, e = chain_csv.read(dir)
  t.ok(ch == nil and e:find(dir .. ": cannot read", 1, true) == 1, "a directory: " .. tostring(e))
end

-- Bad arguments raise.
t.raises(function() chain_csv.read(nil) end, "chain_csv.read: path must be a non%-empty string", "read(nil) raises")
t.raises(function() chain_csv.read("") end, "path must be a non%-empty string", 'read("") raises')
t.raises(function() chain_csv.read(CHAIN, 5) end, "opts must be a table or nil", "read(path, 5) raises")
t.raises(function() chain_csv.read(CHAIN, { keep = true }) end, 'unknown option "keep"', "an unknown option raises")
t.raises(function() chain_csv.read(CHAIN, { keep_no_market = 1 }) end, "opts.keep_no_market must be a boolean",
  "a non-boolean keep_no_market raises")

-- Misuse: junk arguments return or raise, never crash.
do
  local junk = { false, true, 0, -1, 0 / 0, "", "\0\255", string.rep("x", 5000), {}, function() end,
    io.stdout, setmetatable({}, { __index = function() error("trap") end }), { keep_no_market = "yes" } }
  local calls = 0
  for _, a in ipairs(junk) do
    for _, b in ipairs(junk) do
      pcall(chain_csv.read, a, b)
      calls = calls + 1
    end
    pcall(chain_csv.read, write(HEADER .. "\n" .. GOOD .. "\n"), a)
    calls = calls + 1
  end
  t.pass("misuse: " .. calls .. " calls with junk arguments, no crash")
end
do
  local ch = reads(HEADER .. "\n" .. good_with(7, "-0") .. "\n", "bid -0")
  t.ok(ch.contracts[1] and 1 / ch.contracts[1].bid == math.huge, "bid -0 reads as +0")
end

os.execute("rm -rf '" .. dir .. "'")
