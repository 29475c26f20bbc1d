-- alluse.json: JSON that does not lose money or time.
--
--   local json = require("alluse.json")
--   local s = json.encode({ ts = 1718900000123456, px = 0.1 }, { sorted = true })
--   local v, err = json.decode(s)            -- nil, "json: ..." on bad input
--
-- The encoder is written here rather than taken from lua-cjson because Debian's
-- cjson 2.1.0 caps number precision at 14 digits, which silently corrupts 16-digit
-- microsecond timestamps and many prices.  Numbers are written as the shortest
-- decimal that reads back to the same double.  This file defines the output;
-- core/sys/json_encode.c writes the same bytes faster and steps aside for anything
-- this encoder refuses, so errors are named here.  Decoding is cjson's C parser, wrapped:
-- bad input returns nil, message; integers beyond 2^53 and numbers that overflow are
-- caught rather than rounded; the few non-JSON numbers cjson tolerates ("1.", "-.5")
-- are refused.  See docs/json-and-logs.md.
local cjson = require("cjson")
local ffi = require("ffi")

local byte, find, format, sub, match, gsub = string.byte, string.find, string.format, string.sub,
  string.match, string.gsub
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local type, next, tonumber, tostring, pcall, error = type, next, tonumber, tostring, pcall, error

local M = {}

-- cjson's null is a NULL lightuserdata; every NULL lightuserdata compares equal, so
-- using it as our sentinel means decoded documents need no second pass to map nulls.
M.null = cjson.null

local mark_empty_arrays, mark_arrays -- decode{arrays = true}, below
local decoder = cjson.new()
decoder.decode_invalid_numbers(false)

-- Tables marked as arrays by json.array; weak so marking never keeps a table alive.
local arrays = setmetatable({}, { __mode = "k" })

function M.array(t)
  if t == nil then t = {} end
  if type(t) ~= "table" then error("json.array: expects a table, got " .. type(t), 2) end
  arrays[t] = true
  return t
end

function M.is_array(t)
  return arrays[t] == true
end

-- Shared, so it must not be filled by accident.
M.empty_array = M.array(setmetatable({}, {
  __newindex = function() error("json.empty_array is read-only; use json.array({}) for an array to fill", 2) end,
  __metatable = false,
}))

---------------------------------------------------------------------------- encode

local MAX_SAFE = 2 ^ 53
local MIN_NORMAL = 2.2250738585072014e-308

-- "1e+300" -> "1e300", "1e-05" -> "1e-5": valid either way, the short form reads better.
-- A whole number past 2^53 that %g wrote as plain digits gets an exponent, so that
-- decode does not take it for a big integer and refuse it.
local function tidy_exponent(s)
  if find(s, "e", 1, true) then return (gsub(s, "e%+?(%-?)0*(%d)", "e%1%2")) end
  local sign, digits = match(s, "^(%-?)(%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d+)$")
  if not digits then return s end
  local mantissa = gsub(digits, "0+$", "")
  if #mantissa > 1 then mantissa = sub(mantissa, 1, 1) .. "." .. sub(mantissa, 2) end
  return sign .. mantissa .. "e" .. (#digits - 1)
end

local g_formats = {}
for p = 1, 17 do g_formats[p] = "%." .. p .. "g" end

-- The round-trip check reads a candidate back the way the decoder will: cjson uses
-- the C library's strtod.  It is also far quicker than LuaJIT's tonumber on numbers
-- with large exponents.
local read_back = tonumber
if pcall(ffi.cdef, "double strtod(const char *nptr, char **endptr);") then
  local C = ffi.C
  if pcall(function() return C.strtod end) then
    read_back = function(s) return C.strtod(s, nil) end
  end
end

-- The shortest decimal that reads back as exactly n, or nil if n is NaN or infinite.
local function format_number(n)
  if n ~= n or n == huge or n == -huge then return nil end
  if n == floor(n) and n >= -MAX_SAFE and n <= MAX_SAFE then
    if n == 0 and 1 / n < 0 then return "-0" end
    return format("%d", n)
  end
  local a = n < 0 and -n or n
  -- Any decimal of 15 or fewer significant digits survives a trip through a normal
  -- double, and %g drops trailing zeros, so %.15g already is the shortest when the
  -- shortest is 15 digits or fewer.  Subnormals have fewer bits, so they search from 1.
  -- 17 significant digits always do, so that one needs no check.
  local first = a < MIN_NORMAL and 1 or 15
  for p = first, 16 do
    local s = format(g_formats[p], n)
    if read_back(s) == n then return tidy_exponent(s) end
  end
  return tidy_exponent(format("%.17g", n))
end
M.format_number = format_number

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
for i = 0, 31 do
  local c = string.char(i)
  escapes[c] = escapes[c] or format("\\u%04x", i)
end

-- Length of the UTF-8 sequence at p[i], or 0 if it is not well formed.
local function utf8_len(p, i, n)
  local c = p[i]
  local len, lo, hi = 0, 0x80, 0xBF
  if c >= 0xC2 and c <= 0xDF then
    len = 2
  elseif c >= 0xE0 and c <= 0xEF then
    len = 3
    if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
  elseif c >= 0xF0 and c <= 0xF4 then
    len = 4
    if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
  else
    return 0
  end
  if i + len > n then return 0 end
  c = p[i + 1]
  if c < lo or c > hi then return 0 end
  for j = i + 2, i + len - 1 do
    c = p[j]
    if c < 0x80 or c > 0xBF then return 0 end
  end
  return len
end

-- Byte position (from init, default 1) of the first byte that is not part of
-- well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), or nil.
local function utf8_error(s, init)
  local i = init or 1
  local p, n = ffi.cast("const uint8_t *", s), #s
  while true do
    i = find(s, "[\128-\255]", i)
    if not i then return nil end
    local len = utf8_len(p, i - 1, n)
    if len == 0 then return i end
    i = i + len
  end
end
M.utf8_error = utf8_error

local function quote(s)
  if find(s, '[%c"\\]') then s = gsub(s, '[%c"\\]', escapes) end
  return '"' .. s .. '"'
end

local function put_string(buf, s)
  if find(s, '[%c"\\]') then s = gsub(s, '[%c"\\]', escapes) end
  buf:put('"', s, '"')
end

-- string.buffer (LuaJIT 2.1, 2021 on) saves a string per number; older LuaJITs get
-- a table with the same three methods.
local new_buffer
do
  local ok, buffer = pcall(require, "string.buffer")
  if ok then
    new_buffer = buffer.new
  else
    local methods = {}
    methods.__index = methods
    function methods:put(...)
      for i = 1, select("#", ...) do
        self.n = self.n + 1
        self[self.n] = (select(i, ...))
      end
      return self
    end
    function methods:putf(...) return self:put(format(...)) end
    function methods:tostring() return concat(self, "", 1, self.n) end
    new_buffer = function() return setmetatable({ n = 0 }, methods) end
  end
end

-- JSON text for the path of the value being encoded, e.g. $.orders[3].price.
local function path_string(st)
  local out = { "$" }
  for i = 1, st.depth do
    local k = st.path[i]
    -- A path 1000 levels deep helps no one; keep its two ends.
    if st.depth > 24 and i == 11 then out[#out + 1] = "..." end
    if st.depth > 24 and i > 10 and i <= st.depth - 10 then goto continue end
    if type(k) == "number" then
      out[#out + 1] = "[" .. (format_number(k) or tostring(k)) .. "]"
    elseif find(k, "^[%a_][%w_]*$") then
      out[#out + 1] = "." .. k
    else
      out[#out + 1] = "[" .. quote(k) .. "]"
    end
    ::continue::
  end
  return concat(out)
end

local function fail(st, what)
  error("json.encode: " .. what .. " at " .. path_string(st), 0)
end

local encode_value

local function put(st, s)
  st.buf:put(s)
end

-- "\n" plus the indentation of each depth, made once per indent string.
local newlines = setmetatable({}, { __mode = "k" })
local function newline(st)
  local indent = st.indent
  if not indent then return end
  local by_depth = newlines[indent]
  if not by_depth then
    by_depth = {}
    newlines[indent] = by_depth
  end
  local s = by_depth[st.depth]
  if not s then
    s = "\n" .. indent:rep(st.depth)
    by_depth[st.depth] = s
  end
  st.buf:put(s)
end

-- The quoted text of an object key, checked once per name: documents repeat the same
-- few names thousands of times.  Bounded, so a document of distinct keys cannot
-- grow it without end.
local key_text, key_count = {}, 0
local function put_key(st, name)
  local q = key_text[name]
  if not q then
    local bad = utf8_error(name)
    if bad then fail(st, "invalid UTF-8 in key (byte " .. bad .. ")") end
    q = name
    if find(q, '[%c"\\]') then q = gsub(q, '[%c"\\]', escapes) end
    q = '"' .. q .. '"'
    if key_count < 4096 then
      key_text[name], key_count = q, key_count + 1
    end
  end
  st.buf:put(q)
end

local function encode_array(st, t, len)
  if len == 0 then return st.buf:put("[]") end
  st.buf:put("[")
  local depth = st.depth + 1
  for i = 1, len do
    if i > 1 then st.buf:put(",") end
    st.depth = depth
    if st.indent then newline(st) end
    st.path[depth] = i
    local v = t[i]
    if v == nil then st.buf:put("null") else encode_value(st, v) end
  end
  st.depth = depth - 1
  newline(st)
  put(st, "]")
end

local function encode_object(st, t, keys, numeric)
  local names = keys
  if numeric then
    names = {}
    for i = 1, #keys do
      local name = format_number(keys[i])
      if not name then
        st.depth = st.depth + 1
        st.path[st.depth] = keys[i]
        fail(st, "key " .. tostring(keys[i]))
      end
      names[i] = name
    end
    if st.sorted then
      -- Sort positions, not names, so each name stays paired with its key.
      local order = {}
      for i = 1, #names do order[i] = i end
      sort(order, function(a, b) return names[a] < names[b] end)
      local k2, n2 = {}, {}
      for i = 1, #order do k2[i], n2[i] = keys[order[i]], names[order[i]] end
      keys, names = k2, n2
    end
  elseif st.sorted then
    sort(keys)
  end
  put(st, "{")
  local depth = st.depth + 1
  local sep = st.indent and ": " or ":"
  for i = 1, #names do
    if i > 1 then put(st, ",") end
    st.depth = depth
    newline(st)
    local name = names[i]
    st.path[depth] = keys[i]
    if numeric then put_string(st.buf, name) else put_key(st, name) end
    st.buf:put(sep)
    encode_value(st, t[keys[i]])
  end
  st.depth = depth - 1
  if #names > 0 then newline(st) end
  put(st, "}")
end

-- The decoder refuses deeper documents, so refuse to write one.
local MAX_DEPTH = 1000

local function encode_table(st, t)
  if st.active[t] then fail(st, "cycle (a table contains itself)") end
  if st.depth >= MAX_DEPTH then fail(st, "nesting deeper than " .. MAX_DEPTH) end
  local nstr, nnum, maxi, all_index = 0, 0, 0, true
  for k in next, t do
    local tk = type(k)
    if tk == "string" then
      nstr = nstr + 1
    elseif tk == "number" then
      nnum = nnum + 1
      if k >= 1 and k == floor(k) and k < huge then
        if k > maxi then maxi = k end
      else
        all_index = false
      end
    else
      fail(st, "table key of type " .. tk)
    end
  end
  st.active[t] = true
  if arrays[t] then
    if nstr > 0 or not all_index then fail(st, "json.array table with a key that is not an index 1..n") end
    encode_array(st, t, maxi)
  elseif nstr == 0 and nnum > 0 and all_index and maxi == nnum then
    encode_array(st, t, maxi)
  elseif nstr > 0 and nnum > 0 then
    fail(st, "table mixes string and number keys")
  else
    local keys, n = {}, 0
    for k in next, t do
      n = n + 1
      keys[n] = k
    end
    encode_object(st, t, keys, nnum > 0)
  end
  st.active[t] = nil
end

local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")

encode_value = function(st, v)
  local tv = type(v)
  if tv == "string" then
    -- Most strings are plain ASCII with nothing to escape: one scan says so.
    if not find(v, '[%z\1-\31"\\\128-\255]') then
      st.buf:put('"', v, '"')
      return
    end
    local bad = utf8_error(v)
    if bad then fail(st, "invalid UTF-8 (byte " .. bad .. " of the string)") end
    put_string(st.buf, v)
  elseif tv == "number" then
    if v == floor(v) and v >= -MAX_SAFE and v <= MAX_SAFE and (v ~= 0 or 1 / v > 0) then
      -- The common case, written straight into the buffer without making a string.
      st.buf:putf("%d", v)
    elseif v == v and v ~= huge and v ~= -huge then
      st.buf:put(format_number(v))
    elseif st.null_non_finite then
      put(st, "null")
    else
      fail(st, v ~= v and "NaN" or (v > 0 and "Infinity" or "-Infinity"))
    end
  elseif tv == "boolean" then
    put(st, v and "true" or "false")
  elseif tv == "table" then
    encode_table(st, v)
  elseif v == M.null then
    put(st, "null")
  elseif tv == "nil" then
    put(st, "null")
  elseif tv == "cdata" and (ffi.istype(int64_t, v) or ffi.istype(uint64_t, v)) then
    -- 64-bit integers from C (order ids, nanosecond clocks) are exact; keep them so.
    put(st, (match(tostring(v), "^(%-?%d+)")))
  else
    fail(st, "cannot encode a " .. tv)
  end
end

local encode_options = { sorted = true, indent = true, non_finite = true }

-- core/sys/json_encode.c, when the host has it (the binary always does; a plain
-- LuaJIT running this file for a test does not).
local fast_encode
do
  local ok, core = pcall(require, "alluse.core.json")
  if ok then fast_encode = core.encode end
end
M._lua_only = function(v, opts) -- the Lua encoder alone, for the tests that compare
  local saved = fast_encode
  fast_encode = nil
  local ok, res = pcall(M.encode, v, opts)
  fast_encode = saved
  if not ok then error(res, 2) end
  return res
end

local function encode(v, opts)
  local st = { path = {}, depth = 0, active = {} }
  if opts ~= nil then
    if type(opts) ~= "table" then error("json.encode: options must be a table", 0) end
    for k in next, opts do
      if not encode_options[k] then error("json.encode: unknown option '" .. tostring(k) .. "'", 0) end
    end
    st.sorted = opts.sorted and true or false
    local indent = opts.indent
    if type(indent) == "number" then
      if indent < 0 or indent ~= floor(indent) then error("json.encode: indent must be a count of spaces or a string", 0) end
      if indent > 0 then st.indent = (" "):rep(indent) end
    elseif type(indent) == "string" then
      if find(indent, "[^ \t]") then error("json.encode: an indent string may hold only spaces and tabs", 0) end
      if indent ~= "" then st.indent = indent end
    elseif indent ~= nil then
      error("json.encode: indent must be a count of spaces or a string", 0)
    end
    local nf = opts.non_finite
    if nf ~= nil and nf ~= "error" and nf ~= "null" then
      error("json.encode: non_finite must be \"error\" or \"null\"", 0)
    end
    st.null_non_finite = nf == "null"
  end
  -- The C encoder writes the same bytes; it hands back what it leaves to this one
  -- (errors, to be named here, and int64 cdata).
  if fast_encode then
    local text = fast_encode(v, st.sorted, st.indent, st.null_non_finite, arrays, format_number)
    if text then return text end
  end
  st.buf = new_buffer() -- only the Lua encoder needs it
  encode_value(st, v)
  return st.buf:tostring()
end

-- Raises on values JSON cannot hold (NaN, functions, cycles...): those are bugs in the
-- caller, and the error names where in v the value sits.
function M.encode(v, opts)
  local ok, res = pcall(encode, v, opts)
  if not ok then error(res, 2) end
  return res
end

---------------------------------------------------------------------------- decode

local SAFE_DIGITS = "9007199254740992" -- 2^53: every integer up to here is exact
local u8ptr = ffi.typeof("const uint8_t *")

local function show_token(tok)
  if #tok > 40 then return sub(tok, 1, 40) .. "..." end
  return tok
end

local function is_digit(c)
  return c >= 48 and c <= 57
end

-- One pass over the text, before cjson sees it, for what cjson would get wrong:
-- malformed UTF-8, numbers JSON forbids but strtod accepts ("1.", "-.5"), integers
-- beyond 2^53 (silently rounded) and numbers that overflow to infinity.  String
-- contents are skipped, so a 20-digit account number in quotes is left alone.  A
-- byte loop over an FFI pointer is compiled by the JIT and costs a fraction of one
-- Lua pattern pass, so it runs on every document rather than behind a pre-filter.
-- Returns nil, message on a problem; else the 1-based [start, stop] spans of the big
-- integers (only when big == "string"; nil if none).
local function scan(s, big)
  local p, n, i = ffi.cast(u8ptr, s), #s, 0
  local spans
  while i < n do
    local c = p[i]
    if c == 34 then
      i = i + 1
      while i < n do
        c = p[i]
        if c == 34 then break end
        if c == 92 then
          i = i + 2
        elseif c < 128 then
          i = i + 1
        else
          local len = utf8_len(p, i, n)
          if len == 0 then return nil, "invalid UTF-8 at byte " .. (i + 1), i + 1 end
          i = i + len
        end
      end
      i = i + 1
    elseif c == 45 or is_digit(c) then
      local start = i
      if c == 45 then i = i + 1 end
      local d0 = i
      while i < n and is_digit(p[i]) do i = i + 1 end
      local nint = i - d0
      local ok = nint > 0 and not (nint > 1 and p[d0] == 48)
      local integer, nexp = true, 0
      if ok and i < n and p[i] == 46 then
        integer = false
        i = i + 1
        local f0 = i
        while i < n and is_digit(p[i]) do i = i + 1 end
        if i == f0 then ok = false end
      end
      if ok and i < n and (p[i] == 101 or p[i] == 69) then
        integer = false
        i = i + 1
        if i < n and (p[i] == 43 or p[i] == 45) then i = i + 1 end
        local e0 = i
        while i < n and is_digit(p[i]) do i = i + 1 end
        nexp = i - e0
        if nexp == 0 then ok = false end
      end
      if not ok then
        local tok = match(s, "^[-+.%w]*", start + 1)
        return nil, format("invalid number '%s' at byte %d", show_token(tok), start + 1), start + 1
      end
      if integer and (nint > 16 or (nint == 16 and p[d0] == 57 and sub(s, d0 + 1, i) > SAFE_DIGITS)) then
        if big == "error" then
          return nil, format("integer %s at byte %d is beyond 2^53 and cannot be represented exactly"
            .. " (decode with {big = \"string\"} or {big = \"float\"})", show_token(sub(s, start + 1, i)), start + 1), start + 1
        elseif big == "string" then
          spans = spans or {}
          spans[#spans + 1] = start + 1
          spans[#spans + 1] = i
        end
      end
      if (nexp >= 3 or nint > 308) and (big ~= "string" or not integer) then
        local v = read_back(sub(s, start + 1, i))
        if v == huge or v == -huge then
          return nil, format("number %s at byte %d is out of range for a double", show_token(sub(s, start + 1, i)),
            start + 1), start + 1
        end
      end
    elseif c >= 128 then
      if utf8_len(p, i, n) == 0 then return nil, "invalid UTF-8 at byte " .. (i + 1), i + 1 end
      i = i + 1
    else
      i = i + 1
    end
  end
  return true, spans
end

local function quote_spans(s, spans)
  local parts, last = {}, 1
  for j = 1, #spans, 2 do
    local a, b = spans[j], spans[j + 1]
    parts[#parts + 1] = sub(s, last, a - 1)
    parts[#parts + 1] = '"' .. sub(s, a, b) .. '"'
    last = b + 1
  end
  parts[#parts + 1] = sub(s, last)
  return concat(parts)
end

local big_modes = { error = true, string = true, float = true }

-- decode{arrays = true}: every JSON array comes back marked with json.array, so the
-- document encodes back to the same text; cjson alone turns [] into a table that
-- encodes as {}.  An empty array is rewritten to a string no encoder writes (it
-- holds a control character, always escaped), found again after decoding.
local EMPTY = "\1alluse:empty-array\1"
local EMPTY_JSON = '"\\u0001alluse:empty-array\\u0001"'

mark_empty_arrays = function(s)
  if not find(s, "%[%s*%]") then return s end
  local out, i, n = {}, 1, #s
  local last = 1
  while i <= n do
    local c = sub(s, i, i)
    if c == '"' then -- skip the string, escapes included
      i = i + 1
      while i <= n do
        local d = sub(s, i, i)
        if d == "\\" then i = i + 2 elseif d == '"' then break else i = i + 1 end
      end
      i = i + 1
    elseif c == "[" then
      local j = match(s, "^%[%s*%]()", i)
      if j then
        out[#out + 1] = sub(s, last, i - 1)
        out[#out + 1] = EMPTY_JSON
        last, i = j, j
      else
        i = i + 1
      end
    else
      i = i + 1
    end
  end
  out[#out + 1] = sub(s, last)
  return concat(out)
end

-- Tables whose keys are exactly 1..n came from arrays (object keys are strings).
mark_arrays = function(v)
  if v == EMPTY then return M.array() end
  if type(v) ~= "table" then return v end
  local n, count = #v, 0
  for k, x in next, v do
    count = count + 1
    local m = mark_arrays(x)
    if m ~= x then v[k] = m end
  end
  if n > 0 and count == n then M.array(v) end
  return v
end

-- Bad input is data, not a bug: it returns nil, "json: ..." and never raises.
function M.decode(s, opts)
  if type(s) ~= "string" then error("json.decode: expects a string, got " .. type(s), 2) end
  local big = "error"
  if opts ~= nil then
    if type(opts) ~= "table" then error("json.decode: options must be a table", 2) end
    for k in next, opts do
      if k ~= "big" and k ~= "arrays" then error("json.decode: unknown option '" .. tostring(k) .. "'", 2) end
    end
    big = opts.big or "error"
    if opts.arrays then
      local v, err = M.decode(mark_empty_arrays(s), { big = big })
      if v == nil then return nil, err end
      return mark_arrays(v)
    end
    if not big_modes[big] then error("json.decode: big must be \"error\", \"string\" or \"float\"", 2) end
  end
  -- cjson stops at a NUL byte and would accept "[1]\0garbage"; JSON has no raw NUL.
  local nul = find(s, "\0", 1, true)
  if nul then return nil, "json: NUL byte at byte " .. nul end
  local ok, spans, at = scan(s, big)
  if not ok then
    -- A syntax error before the problem found is the better report.
    local dok, derr = pcall(decoder.decode, s)
    local dat = not dok and tonumber(match(tostring(derr), "at character (%d+)"))
    if dat and dat < at then return nil, "json: " .. tostring(derr) end
    return nil, "json: " .. spans
  end
  local text = spans and quote_spans(s, spans) or s
  local dok, v = pcall(decoder.decode, text)
  if not dok then
    -- Report positions in the caller's text, not in our rewrite of it.
    if text ~= s then
      local ok2, v2 = pcall(decoder.decode, s)
      if not ok2 then v = v2 end
    end
    return nil, "json: " .. tostring(v)
  end
  return v
end

return M
