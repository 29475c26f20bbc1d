-- alluse.deploy.yaml: Kubernetes manifests out, kubeconfig files in.
--
--   local yaml = require("alluse.deploy.yaml")
--   local text = yaml.encode(deployment)               -- apiVersion, kind, metadata, spec first
--   local all = yaml.encode_documents({ ns, cm, dep }) -- "---" between documents
--   local cfg, err = yaml.decode(text, path)           -- nil, "PATH:LINE: message" on bad input
--
-- The emitter writes one spelling for one value, so a render is byte-stable: keys in a
-- fixed order, 2-space indentation, sequences under a key at the key's own indentation
-- (as kubectl writes them), and every string that some YAML parser (1.1 or 1.2, PyYAML,
-- Go's) could read as anything but that string quoted.  Tables follow alluse.json's rule
-- for arrays and objects and json.null stands for null, so one value means the same in
-- JSON and YAML.  The reader takes the part of YAML that kubeconfig files use, as kubectl
-- writes them and people edit them, and refuses the rest (anchors, tags, several
-- documents) with the line it stopped at.  See docs/yaml.md.
local json = require("alluse.json")
local ffi = require("ffi")

local byte, char, find, format, gmatch, gsub, lower, match, rep, sub = string.byte, string.char,
  string.find, string.format, string.gmatch, string.gsub, string.lower, string.match, string.rep, string.sub
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local type, next, tostring, tonumber, pcall, error, rawget = type, next, tostring, tonumber, pcall, error, rawget
local setmetatable, getmetatable = setmetatable, getmetatable

local null = json.null
local utf8_error = json.utf8_error

local M = {}

-- Both directions refuse deeper nesting, counted in tables, so whatever the emitter
-- writes the reader can read back.
local MAX_DEPTH = 256

---------------------------------------------------------------------------- key order

-- The keys every mapping starts with unless told otherwise: the order kubectl and the
-- Kubernetes documentation use, so a manifest reads from what it is to what it holds.
local KUBERNETES_ORDER = { "apiVersion", "kind", "metadata", "spec", "data", "status" }

-- Explicit key orders, beside their tables (weakly), so the tables stay plain tables
-- that json.encode and pairs() see as usual.
local orders = setmetatable({}, { __mode = "k" })

-- nil, or what is wrong with a list of keys.
local function order_problem(keys)
  if type(keys) ~= "table" then return "expects a list of keys, got " .. type(keys) end
  local seen = {}
  for i = 1, #keys do
    local k = keys[i]
    if type(k) ~= "string" then return format("key %d of the order is a %s, not a string", i, type(k)) end
    if seen[k] then return "key '" .. k .. "' is listed twice" end
    seen[k] = true
  end
  return nil
end

local function copy_list(list)
  local out = {}
  for i = 1, #list do out[i] = list[i] end
  return out
end

-- yaml.order(t, {"name", "image"}): t's listed keys are written first, in that order (those
-- t lacks are skipped), the others after them sorted.  Returns t.
function M.order(t, keys)
  if type(t) ~= "table" then error("yaml.order: expects a table, got " .. type(t), 2) end
  local problem = order_problem(keys)
  if problem then error("yaml.order: " .. problem, 2) end
  orders[t] = copy_list(keys)
  return t
end

-- yaml.ordered{ {"apiVersion", "v1"}, {"kind", "ConfigMap"}, ... }: a mapping made from
-- {key, value} pairs, written in the order of the pairs.
function M.ordered(entries)
  if type(entries) ~= "table" then error("yaml.ordered: expects a list of {key, value} pairs", 2) end
  local t, keys = {}, {}
  for i = 1, #entries do
    local pair = entries[i]
    if type(pair) ~= "table" or type(pair[1]) ~= "string" then
      error(format("yaml.ordered: entry %d is not a {key, value} pair with a string key", i), 2)
    end
    keys[i] = pair[1]
    t[pair[1]] = pair[2]
  end
  local problem = order_problem(keys)
  if problem then error("yaml.ordered: " .. problem, 2) end
  orders[t] = keys
  return t
end

-- The keys of mapping t in writing order: its own order if it has one, else the
-- priority list; every key not listed follows, sorted bytewise.
local function ordered_keys(t, priority)
  local first = orders[t] or priority
  local keys, placed = {}, {}
  for i = 1, #first do
    local k = first[i]
    if rawget(t, k) ~= nil then
      keys[#keys + 1] = k
      placed[k] = true
    end
  end
  local rest = {}
  for k in next, t do
    if not placed[k] then rest[#rest + 1] = k end
  end
  sort(rest)
  for i = 1, #rest do keys[#keys + 1] = rest[i] end
  return keys
end

---------------------------------------------------------------------------- scalars out

-- Words a YAML parser may read as something other than a string: 1.2's null and booleans,
-- 1.1's yes/no/on/off/y/n (PyYAML; Go's yaml.v2, which older Kubernetes tools use), the
-- merge key and 1.1's value key.  Compared lowercased: quoting "yEs" as well costs nothing.
local reserved_words = {}
for w in gmatch("~ null true false yes no on off y n << =", "%S+") do reserved_words[w] = true end

local special_floats = { inf = true, infinity = true, nan = true }

-- Whether some parser could take s for a number.  Rather than each grammar (1.1 has
-- 1_000, 0b101 and 1:30; 1.2 has 0o17 and 1e3; Go hands such text to strconv, which
-- knows 0x1p-2 and Infinity), anything that starts like a number and holds only what
-- numbers of its base are made of counts.  "10Gi", "100m", "0e1f2a3" (a commit) and
-- "1.2.3-beta" still need no quotes.
local function looks_numeric(s)
  if find(s, "^[-+]?%.?%d[%d_.:eE+%-]*$") or find(s, "^[-+]?0[xX][%x_.pP+%-]*$") or find(s, "^[-+]?0[oObB][%d_]*$") then
    return true
  end
  local word = match(s, "^[-+]?%.?(%a+)$")
  return word ~= nil and special_floats[lower(word)] == true
end

-- Whether s can be written bare, as a plain scalar.  s holds no tab, line break or
-- control character (the caller quotes those).  A plain scalar may not start with an
-- indicator, except "-" before a non-space ("--port=80"); "?" and ":" may too in YAML
-- 1.2, but older parsers disagree.  "---" and "..." at a line's start end documents.
local function plain_ok(s)
  if s == "" or find(s, "^[-?:,%[%]{}#&*!|>'\"%%@`]") and not find(s, "^%-[^ ]") then return false end
  if find(s, "^%-%-%-") or find(s, "^%.%.%.") then return false end
  if byte(s) == 32 or byte(s, -1) == 32 or byte(s, -1) == 58 then return false end
  if find(s, ": ", 1, true) or find(s, " #", 1, true) then return false end
  if reserved_words[lower(s)] or looks_numeric(s) then return false end
  -- YAML 1.1 timestamps: 2024-01-02, 2024-1-2, 2024-01-02T03:04:05Z, 2024-01-02 03:04:05.
  return not find(s, "^%d%d%d%d%-%d%d?%-%d%d?")
end

-- Characters that only an escape in double quotes can write: C0 controls but tab and
-- newline, DEL, the C1 controls, U+2028 and U+2029 (line breaks to YAML 1.1), the
-- byte-order mark and the noncharacters U+FFFE and U+FFFF.
local function needs_escape(s)
  return find(s, "[%z\1-\8\11-\31\127]") or find(s, "\194[\128-\159]") or find(s, "\226\128[\168\169]")
    or find(s, "\239\187\191", 1, true) or find(s, "\239\191[\190\191]")
end

local dq_escapes = { ["\\"] = "\\\\", ['"'] = '\\"', ["\0"] = "\\0", ["\a"] = "\\a", ["\b"] = "\\b",
  ["\t"] = "\\t", ["\n"] = "\\n", ["\v"] = "\\v", ["\f"] = "\\f", ["\r"] = "\\r", ["\27"] = "\\e",
  ["\127"] = "\\x7F" }
for i = 0, 31 do dq_escapes[char(i)] = dq_escapes[char(i)] or format("\\x%02X", i) end
local c1_escapes = {}
for i = 128, 159 do c1_escapes[char(i)] = i == 133 and "\\N" or format("\\x%02X", i) end

local function double_quote(s)
  s = gsub(s, '[%z\1-\31"\\\127]', dq_escapes)
  -- Later passes add backslashes the first has already dealt with.
  s = gsub(s, "\194([\128-\159])", c1_escapes)
  s = gsub(s, "\226\128([\168\169])", { ["\168"] = "\\L", ["\169"] = "\\P" })
  s = gsub(s, "\239\187\191", "\\uFEFF")
  s = gsub(s, "\239\191([\190\191])", { ["\190"] = "\\uFFFE", ["\191"] = "\\uFFFF" })
  return '"' .. s .. '"'
end

-- s as a one-line scalar: plain when nothing could misread it, else single-quoted,
-- or double-quoted when it holds a tab, a line break or a character only an escape
-- can write.
local function inline_string(s)
  if find(s, "[\t\n]") or needs_escape(s) then return double_quote(s) end
  if plain_ok(s) then return s end
  return "'" .. gsub(s, "'", "''") .. "'"
end

-- s as a literal block scalar whose lines start at column col, or nil when it is not
-- one: only text with a line break, something besides line breaks (a block of empty
-- lines reads back as ""), and nothing that needs an escape (tabs are fine).  The
-- chomping indicator keeps the trailing newlines exact.  Text that starts with spaces
-- (after any empty lines) needs an indentation indicator, 2 because the content sits
-- two columns in from its parent; at the top of a document parsers disagree on what
-- the indicator counts from, so such text is quoted there instead.
local function block_literal(s, col, top)
  if not find(s, "\n", 1, true) or not find(s, "[^\n]") or needs_escape(s) then return nil end
  local last = #s
  while byte(s, last) == 10 do last = last - 1 end
  local trailing = #s - last
  local header = "|"
  if find(match(s, "^[ \n]*"), " ", 1, true) then
    if top then return nil end
    header = "|2"
  end
  header = header .. (trailing == 0 and "-" or trailing == 1 and "" or "+")
  local pad = rep(" ", col)
  local out = { header }
  for line in gmatch(sub(s, 1, last) .. "\n", "([^\n]*)\n") do
    out[#out + 1] = line == "" and "" or pad .. line
  end
  for _ = 2, trailing do out[#out + 1] = "" end
  return concat(out, "\n") .. "\n"
end

-- Shortest round-trip digits as in JSON, spelled so that YAML 1.1 parsers read a float
-- too: they want a point in the mantissa and a signed exponent (1e300 is a string to
-- PyYAML; 1.0e+300 is a float everywhere).
local function number_text(n)
  if n ~= n then return ".nan" end
  if n == huge then return ".inf" end
  if n == -huge then return "-.inf" end
  if n == 0 and 1 / n < 0 then return "-0.0" end -- "-0" would be the integer 0
  local s = json.format_number(n)
  local mantissa, exponent = match(s, "^([^e]+)e(.+)$")
  if not mantissa then return s end
  if not find(mantissa, ".", 1, true) then mantissa = mantissa .. ".0" end
  if byte(exponent) ~= 45 then exponent = "+" .. exponent end
  return mantissa .. "e" .. exponent
end

---------------------------------------------------------------------------- encode

local int64_t, uint64_t = ffi.typeof("int64_t"), ffi.typeof("uint64_t")

-- Where in the value the encoder is, for errors: spec.template.containers[1]["odd key"].
local function path_text(st)
  local out = {}
  for i = 1, st.depth do
    local k = st.path[i]
    if type(k) == "number" then
      out[#out + 1] = format("[%d]", k)
    elseif utf8_error(k) then
      out[#out + 1] = "[(a key that is not UTF-8)]"
    elseif find(k, "^[%a_][%w_%-]*$") then
      out[#out + 1] = (i > 1 and "." or "") .. k
    else
      out[#out + 1] = "[" .. double_quote(k) .. "]"
    end
  end
  local where = st.depth == 0 and "at the top level" or "at path " .. concat(out)
  if st.doc then where = where .. " of document " .. st.doc end
  return where
end

local function fail(st, what)
  error("yaml: " .. what .. " " .. path_text(st), 0)
end

local function put(st, s)
  local n = st.n + 1
  st.out[n], st.n = s, n
end

local pads = {}
local function pad(col)
  local p = pads[col]
  if not p then
    p = rep(" ", col)
    pads[col] = p
  end
  return p
end

-- The rest of the line (or lines) for scalar v: col is where a block scalar's lines
-- start, top says v is a whole document.
local function scalar_text(st, v, col, top)
  local tv = type(v)
  if tv == "string" then
    local bad = utf8_error(v)
    if bad then fail(st, "invalid UTF-8 (byte " .. bad .. " of the string)") end
    return block_literal(v, col, top) or inline_string(v) .. "\n"
  elseif tv == "number" then
    return number_text(v) .. "\n"
  elseif tv == "boolean" then
    return v and "true\n" or "false\n"
  elseif v == nil or v == null then
    return "null\n"
  elseif tv == "cdata" and (ffi.istype(int64_t, v) or ffi.istype(uint64_t, v)) then
    -- 64-bit integers from C are exact; keep them so.
    return match(tostring(v), "^(%-?%d+)") .. "\n"
  end
  fail(st, "cannot encode a " .. tv)
end

local function key_text(st, k)
  local bad = utf8_error(k)
  if bad then fail(st, "invalid UTF-8 in the key (byte " .. bad .. ")") end
  local text = inline_string(k)
  -- YAML caps an implicit key at 1024 characters (counted without UTF-8 continuation bytes).
  if #text > 1024 and #gsub(text, "[\128-\191]", "") > 1024 then fail(st, "key longer than 1024 characters") end
  return text
end

-- "seq", length or "map", by alluse.json's rule, so that one table is an array in both
-- formats: json.array tables and tables keyed exactly 1..n are sequences, other tables
-- mappings ({} is an empty mapping).  Mapping keys must be strings: YAML could hold
-- others, but JSON and Kubernetes cannot.
local function classify(st, t)
  local nstr, nnum, maxi = 0, 0, 0
  for k in next, t do
    local tk = type(k)
    if tk == "string" then
      nstr = nstr + 1
    elseif tk == "number" and k >= 1 and k == floor(k) and k < huge then
      nnum = nnum + 1
      if k > maxi then maxi = k end
    else
      fail(st, format("non-string key %s (a %s)", tk == "number" and number_text(k) or tostring(k), tk))
    end
  end
  if json.is_array(t) then
    if nstr > 0 then fail(st, "json.array table with a string key") end
    return "seq", maxi
  end
  if nnum > 0 and nstr > 0 then fail(st, "table mixes string and number keys") end
  if nnum > 0 and maxi ~= nnum then
    fail(st, "non-string keys: a table with gaps in 1..n (use json.array for a sequence with holes)")
  end
  if nnum > 0 then return "seq", maxi end
  return "map"
end

local write_value

-- The entries of mapping t at column col; the first goes where the cursor is.
local function write_mapping(st, t, col)
  local keys = ordered_keys(t, st.order)
  local depth = st.depth + 1
  for i = 1, #keys do
    local k = keys[i]
    st.depth = depth
    st.path[depth] = k
    if i > 1 then put(st, pad(col)) end
    put(st, key_text(st, k))
    put(st, ":")
    write_value(st, t[k], col, "key")
  end
  st.depth = depth - 1
end

-- The entries of sequence t with their dashes at column col; the first where the
-- cursor is.  Holes in a json.array are nulls, as in JSON.
local function write_sequence(st, t, len, col)
  local depth = st.depth + 1
  for i = 1, len do
    st.depth = depth
    st.path[depth] = i
    if i > 1 then put(st, pad(col)) end
    put(st, "- ")
    write_value(st, t[i], col + 2, "item")
  end
  st.depth = depth - 1
end

-- v where `at` says: "key" right after "key:" (the key at column col), "item" right
-- after "- " (the cursor at column col), "top" a whole document (col 0).
write_value = function(st, v, col, at)
  if type(v) ~= "table" then
    if at == "key" then
      put(st, " ")
      return put(st, scalar_text(st, v, col + 2, false))
    end
    return put(st, scalar_text(st, v, at == "top" and 2 or col, at == "top"))
  end
  if st.active[v] then fail(st, "cycle (a table contains itself)") end
  if st.depth >= MAX_DEPTH then fail(st, "nesting deeper than " .. MAX_DEPTH .. " tables") end
  local kind, len = classify(st, v)
  if (kind == "seq" and len == 0) or (kind == "map" and next(v) == nil) then
    return put(st, (at == "key" and " " or "") .. (kind == "seq" and "[]\n" or "{}\n"))
  end
  st.active[v] = true
  if at == "key" then
    -- A mapping goes two columns in; a sequence stays at the key's column, as kubectl
    -- and the Kubernetes documentation write it.
    if kind == "map" then col = col + 2 end
    put(st, "\n")
    put(st, pad(col))
  end
  if kind == "map" then write_mapping(st, v, col) else write_sequence(st, v, len, col) end
  st.active[v] = nil
end

local function new_state(opts)
  local st = { out = {}, n = 0, path = {}, depth = 0, active = {}, order = KUBERNETES_ORDER }
  if opts == nil then return st end
  if type(opts) ~= "table" then error("yaml: options must be a table", 0) end
  for k in next, opts do
    if k ~= "order" then error("yaml: unknown option '" .. tostring(k) .. "'", 0) end
  end
  if opts.order == false then
    st.order = {}
  elseif opts.order ~= nil then
    local problem = order_problem(opts.order)
    if problem then error("yaml: option order " .. problem, 0) end
    st.order = copy_list(opts.order)
  end
  return st
end

local function encode(v, opts)
  local st = new_state(opts)
  write_value(st, v, 0, "top")
  return concat(st.out)
end

local function encode_documents(list, opts)
  if type(list) ~= "table" then error("yaml: encode_documents expects a list of documents, got " .. type(list), 0) end
  local st = new_state(opts)
  for i = 1, #list do
    if i > 1 then put(st, "---\n") end
    st.doc = i
    write_value(st, list[i], 0, "top")
  end
  return concat(st.out)
end

-- What the writer raises is the caller's bug (a function, a cycle, a non-string key,
-- invalid UTF-8...): raised again at the caller's line.  Called not as a tail call, so
-- that level 3 is the caller.
local function at_caller(ok, res)
  if not ok then error(res, 3) end
  return res
end

-- yaml.encode(value, opts) -> text, ending in a newline.  opts.order: the keys every
-- mapping starts with (default apiVersion, kind, metadata, spec, data, status; false
-- for none).
function M.encode(v, opts)
  local text = at_caller(pcall(encode, v, opts))
  return text
end

-- yaml.encode_documents({doc, ...}, opts) -> the documents with "---" lines between them.
function M.encode_documents(list, opts)
  local text = at_caller(pcall(encode_documents, list, opts))
  return text
end

---------------------------------------------------------------------------- decode

-- The reader's own errors are tables with this metatable, so decode can tell them
-- from a bug.
local Failure = {}

-- Text from the input, safe and short enough for a one-line message.
local function show(s)
  if #s > 40 then s = gsub(sub(s, 1, 40), "[\192-\255][\128-\191]*$", "") .. "..." end
  return (gsub(s, "%c", function(c) return format("\\x%02X", byte(c)) end))
end

local function fail_at(p, li, msg)
  error(setmetatable({ text = p.name .. ":" .. li .. ": " .. msg }, Failure), 0)
end

-- Whether position i of line s ends a token: a space, a tab or the end of the line.
local function sep_at(s, i)
  local c = byte(s, i)
  return c == nil or c == 32 or c == 9
end

local function skip_blanks(s, i)
  return find(s, "[^ \t]", i) or #s + 1
end

-- Whether line s holds only blanks and perhaps a comment from position i on.  A "#"
-- starts a comment only after a blank.
local function rest_empty(s, i)
  local j = find(s, "[^ \t]", i)
  return j == nil or (byte(s, j) == 35 and (j == 1 or sep_at(s, j - 1)))
end

-- The position of the "#" that starts a comment in line s at or after i, if any.
local function comment_start(s, i)
  local k = find(s, "[ \t]#", i)
  return k and k + 1
end

-- The index of the last character of s[i..j] that is not a blank (i - 1 if none).
local function trim_end(s, i, j)
  while j >= i and sep_at(s, j) do j = j - 1 end
  return j
end

local function is_marker(s)
  local m = sub(s, 1, 3)
  return (m == "---" or m == "...") and sep_at(s, 4)
end

local function indentation(s)
  return #match(s, "^ *")
end

local function enter(p, li)
  p.depth = p.depth + 1
  if p.depth > MAX_DEPTH then fail_at(p, li, "nesting deeper than " .. MAX_DEPTH .. " levels") end
end

-- The next line at or after p.li with something besides blanks and comments, and its
-- indentation; -1 for a document marker, which ends every block.  Sets p.li to it.
local function next_content(p)
  local lines = p.lines
  for li = p.li, p.n do
    local s = lines[li]
    local first = find(s, "[^ \t]")
    if first and byte(s, first) ~= 35 then
      p.li = li
      if first == 1 and is_marker(s) then return li, -1 end
      local ind = indentation(s)
      if ind < first - 1 then fail_at(p, li, "tab in the indentation (YAML indents with spaces only)") end
      return li, ind
    end
  end
  p.li = p.n + 1
  return nil
end

---------------------------------------------------------------------------- scalars in

local SAFE = 2 ^ 53

-- The value of digits in base, or nil past 2^53, where doubles start skipping integers.
local function exact_integer(digits, base)
  local v = 0
  for i = 1, #digits do
    local d = tonumber(sub(digits, i, i), base)
    if v > (SAFE - d) / base then return nil end
    v = v * base + d
  end
  return v
end

-- YAML 1.2 core schema floats: [-+]? ( .digits | digits ( . digits? )? ) ( [eE] [-+]? digits )?
local function is_float(s)
  local m = match(s, "^[-+]?([%d.]+)[eE][-+]?%d+$") or match(s, "^[-+]?([%d.]+)$")
  return m ~= nil and (find(m, "^%d+%.?%d*$") or find(m, "^%.%d+$")) ~= nil
end

local infinities = { [".inf"] = huge, [".Inf"] = huge, [".INF"] = huge, ["+.inf"] = huge, ["+.Inf"] = huge,
  ["+.INF"] = huge, ["-.inf"] = -huge, ["-.Inf"] = -huge, ["-.INF"] = -huge }
local words = { ["~"] = null, null = null, Null = null, NULL = null, ["true"] = true, True = true,
  TRUE = true, ["false"] = false, False = false, FALSE = false }

-- A plain scalar's value by the YAML 1.2 core schema: null, booleans, integers (decimal,
-- 0o octal, 0x hex), floats, .inf and .nan; everything else (yes, on, 2024-01-02) is a
-- string.  Integers that a double cannot hold exactly are refused, as alluse.json does.
local function resolve(p, li, s)
  local w = words[s]
  if w ~= nil then return w end
  if not find(s, "^[-+]?[%d.]") then return s end
  local sign, digits, base = match(s, "^([-+]?)(%d+)$")
  base = 10
  if not digits then
    digits = match(s, "^0x(%x+)$")
    base = 16
    if not digits then
      digits = match(s, "^0o([0-7]+)$")
      base = 8
    end
  end
  if digits then
    local v = exact_integer(digits, base)
    if not v then fail_at(p, li, "integer " .. show(s) .. " is beyond 2^53 and cannot be held exactly (quote it for a string)") end
    return (sign == "-" and v > 0) and -v or v
  end
  if is_float(s) then return tonumber(s) end
  if infinities[s] then return infinities[s] end
  if s == ".nan" or s == ".NaN" or s == ".NAN" then return 0 / 0 end
  return s
end

local function utf8_char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40) end
  if cp < 0x10000 then return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40) end
  return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40, 0x80 + floor(cp / 0x40) % 0x40,
    0x80 + cp % 0x40)
end

local simple_escapes = { ["0"] = "\0", a = "\a", b = "\b", t = "\t", ["\t"] = "\t", n = "\n", v = "\v",
  f = "\f", r = "\r", e = "\27", [" "] = " ", ['"'] = '"', ["/"] = "/", ["\\"] = "\\", N = "\194\133",
  _ = "\194\160", L = "\226\128\168", P = "\226\128\169" }
local hex_lengths = { x = 2, u = 4, U = 8 }

-- The escape whose letter is at position j of line s: its text and how many characters
-- it takes after the backslash.
local function unescape(p, li, s, j)
  local e = sub(s, j, j)
  if simple_escapes[e] then return simple_escapes[e], 1 end
  local len = hex_lengths[e]
  if not len then
    fail_at(p, li, "unknown escape '\\" .. show(match(s, "^[%z\1-\127\192-\255][\128-\191]*", j)) .. "' in a double-quoted string")
  end
  local digits = sub(s, j + 1, j + len)
  if not find(digits, "^%x+$") or #digits ~= len then
    fail_at(p, li, format("the escape '\\%s' needs %d hex digits", e, len))
  end
  local cp = tonumber(digits, 16)
  if cp >= 0xD800 and cp <= 0xDBFF then
    -- A UTF-16 surrogate pair, as JSON writes characters past U+FFFF.
    local low = match(s, "^\\u(%x%x%x%x)", j + 1 + len)
    low = low and tonumber(low, 16)
    if low and low >= 0xDC00 and low <= 0xDFFF then
      return utf8_char(0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00)), len + 7
    end
  end
  if (cp >= 0xD800 and cp <= 0xDFFF) or cp > 0x10FFFF then
    fail_at(p, li, format("the escape '\\%s%s' is not a Unicode character", e, digits))
  end
  return utf8_char(cp), len + 1
end

-- Line s from position i inside a single-quoted string: the text, and the position
-- after the closing quote (nil if the line ends first).
local function single_segment(s, i)
  local parts = {}
  while true do
    local k = find(s, "'", i, true)
    if not k then
      parts[#parts + 1] = sub(s, i)
      return concat(parts), nil
    end
    parts[#parts + 1] = sub(s, i, k - 1)
    if byte(s, k + 1) ~= 39 then return concat(parts), k + 1 end
    parts[#parts + 1] = "'"
    i = k + 2
  end
end

-- The same in double quotes.  Only the text after the last escape is literal enough to
-- lose its trailing blanks when the line folds, so it comes back apart: done, tail,
-- the position after the closing quote, and whether the line ends in an escaped break.
local function double_segment(p, li, s, i)
  local parts = {}
  while true do
    local k = find(s, '["\\]', i)
    if not k then return concat(parts), sub(s, i), nil, false end
    parts[#parts + 1] = sub(s, i, k - 1)
    if byte(s, k) == 34 then return concat(parts), "", k + 1, false end
    if k == #s then return concat(parts), "", nil, true end
    local text, len = unescape(p, li, s, k + 1)
    parts[#parts + 1] = text
    i = k + 1 + len
  end
end

-- A quoted string opening at position col of line li.  Line breaks inside it fold as
-- YAML says: one break becomes a space, each further empty line a newline, and in double
-- quotes a break escaped with "\" joins the lines.  Returns the text, the line it closes
-- on and the position after the closing quote; with one_line, nil if it does not close
-- on line li.
local function quoted(p, li, col, one_line)
  local lines, double = p.lines, byte(p.lines[li], col) == 34
  local out, j, i = {}, li, col + 1
  while true do
    local s = lines[j]
    local done, tail, close, escaped
    if double then
      done, tail, close, escaped = double_segment(p, j, s, i)
    else
      tail, close = single_segment(s, i)
      done = ""
    end
    out[#out + 1] = done
    if close then
      out[#out + 1] = tail
      return concat(out), j, close
    end
    if one_line then return nil end
    out[#out + 1] = sub(tail, 1, trim_end(tail, 1, #tail))
    local empties = 0
    j = j + 1
    while j <= p.n and not find(lines[j], "[^ \t]") do
      empties = empties + 1
      j = j + 1
    end
    if j > p.n then fail_at(p, li, "a quoted string that does not end (its closing quote is missing)") end
    if is_marker(lines[j]) then fail_at(p, j, "a document marker inside a quoted string") end
    if escaped then
      out[#out + 1] = rep("\n", empties)
    else
      out[#out + 1] = empties == 0 and " " or rep("\n", empties)
    end
    i = skip_blanks(lines[j], 1)
  end
end

---------------------------------------------------------------------------- flow ([] and {})

local unsupported = {
  ["&"] = "anchors (&name) are not supported",
  ["*"] = "aliases (*name) are not supported",
  ["!"] = "tags (!tag) are not supported",
  ["@"] = "'@' is reserved and cannot start a plain scalar (quote the value)",
  ["`"] = "'`' is reserved and cannot start a plain scalar (quote the value)",
  ["%"] = "'%' cannot start a plain scalar (quote the value)",
}

local UNCLOSED = "a [ or { that does not close on its line (multi-line [] and {} are not supported)"

-- Whether position i of s ends a plain scalar inside [] or {} after a ":".
local function flow_sep(s, i)
  return sep_at(s, i) or find(s, "^[,%[%]{}]", i) ~= nil
end

-- A plain scalar inside [] or {} at position i of line s: its text and the position
-- of what ends it (",", a bracket, or ": ").
local function flow_plain(p, li, s, i)
  local c = sub(s, i, i)
  if c == "" or c == "#" then fail_at(p, li, UNCLOSED) end
  if find(c, "^[,%]}]") then fail_at(p, li, "expected a value before '" .. c .. "'") end
  if unsupported[c] then fail_at(p, li, unsupported[c]) end
  if c == "|" or c == ">" then fail_at(p, li, "block scalars (| and >) cannot be inside [] or {}") end
  if (c == "-" or c == "?" or c == ":") and flow_sep(s, i + 1) then
    fail_at(p, li, "'" .. c .. " ' is not supported inside [] or {}")
  end
  local j = i
  while true do
    local k = find(s, "[,%[%]{}:#]", j)
    if not k then fail_at(p, li, UNCLOSED) end
    local b = byte(s, k)
    if b == 58 then
      if flow_sep(s, k + 1) then return sub(s, i, trim_end(s, i, k - 1)), k end
    elseif b == 35 then
      if sep_at(s, k - 1) then fail_at(p, li, UNCLOSED) end
    else
      return sub(s, i, trim_end(s, i, k - 1)), k
    end
    j = k + 1
  end
end

local flow_node

-- After an entry in [] or {}: step past "," and say whether the collection goes on, or
-- past the closing bracket and say it ends.
local function flow_next(p, li, s, i, close)
  local c = sub(s, i, i)
  if c == close then return false, i + 1 end
  if c == "," then return true, i + 1 end
  if c == "" or c == "#" then fail_at(p, li, UNCLOSED) end
  fail_at(p, li, "expected ',' or '" .. close .. "' but found '" .. show(c) .. "'")
end

-- The entries of a [] or {} from position i of line s to its closing bracket (close),
-- each read into t by entry(p, li, s, i, t), which returns the position after it.
-- Returns t and the position after the bracket.
local function flow_collection(p, li, s, i, t, close, entry)
  enter(p, li)
  local more = true
  while more do
    i = skip_blanks(s, i)
    if sub(s, i, i) == close then
      i = i + 1
      break
    end
    i = skip_blanks(s, entry(p, li, s, i, t))
    more, i = flow_next(p, li, s, i, close)
  end
  p.depth = p.depth - 1
  return t, i
end

local function sequence_entry(p, li, s, i, t)
  local v
  v, i = flow_node(p, li, s, i)
  if byte(s, skip_blanks(s, i)) == 58 then
    fail_at(p, li, "'key: value' inside [] is not supported (write {key: value})")
  end
  t[#t + 1] = v
  return i
end

-- "key: value", "key:" or "key" (both null).
local function mapping_entry(p, li, s, i, t)
  local c, key = byte(s, i), nil
  if c == 91 or c == 123 then fail_at(p, li, "[] and {} as keys are not supported") end
  if c == 34 or c == 39 then
    local _
    key, _, i = quoted(p, li, i, true)
    if not key then fail_at(p, li, UNCLOSED) end
  else
    key, i = flow_plain(p, li, s, i)
  end
  if t[key] ~= nil then fail_at(p, li, "duplicate key '" .. show(key) .. "'") end
  local v = null
  i = skip_blanks(s, i)
  if byte(s, i) == 58 then
    i = skip_blanks(s, i + 1)
    c = byte(s, i)
    if c ~= 44 and c ~= 125 then v, i = flow_node(p, li, s, i) end
  end
  t[key] = v
  return i
end

-- A value inside [] or {} (or the collection itself) at position i of line s: the value
-- and the position after it.
flow_node = function(p, li, s, i)
  local c = byte(s, i)
  if c == 91 then return flow_collection(p, li, s, i + 1, json.array(), "]", sequence_entry) end
  if c == 123 then return flow_collection(p, li, s, i + 1, {}, "}", mapping_entry) end
  if c == 34 or c == 39 then
    local v, _, close = quoted(p, li, i, true)
    if not v then fail_at(p, li, "a quoted string inside [] or {} must close on the same line") end
    return v, close
  end
  local text, stop = flow_plain(p, li, s, i)
  return resolve(p, li, text), stop
end

---------------------------------------------------------------------------- block structure

local inline_node, block_node

-- After a node that ends on line li at position i: nothing but a comment may follow.
-- as_key: the message for a ":" there.
local function end_of_node(p, li, i, what, as_key)
  local s = p.lines[li]
  if rest_empty(s, i) then
    p.li = li + 1
    return
  end
  if byte(s, skip_blanks(s, i)) == 58 then fail_at(p, li, as_key) end
  fail_at(p, li, "unexpected text after " .. what)
end

local function flow_in_block(p, li, col)
  local v, i = flow_node(p, li, p.lines[li], col)
  end_of_node(p, li, i, "a [] or {} collection", "[] and {} as keys are not supported")
  return v
end

local function quoted_in_block(p, li, col)
  local v, j, close = quoted(p, li, col, false)
  end_of_node(p, j, close, "a quoted string", "a quoted key must be on one line")
  return v
end

-- The text of a plain scalar on line s from position i: up to a comment or the end,
-- trailing blanks dropped, and whether a comment ended it.
local function plain_piece(p, li, s, i)
  local stop = comment_start(s, i)
  local text = sub(s, i, trim_end(s, i, (stop or #s + 1) - 1))
  if find(text, ":[ \t]") or byte(text, -1) == 58 then
    fail_at(p, li, "'key: value' is not allowed here (quote the value, or check the indentation)")
  end
  return text, stop ~= nil
end

-- A plain scalar from position col of line li, going on over following lines indented
-- deeper than parent (lines fold as in quoted strings), until a comment or a line that
-- is not deep enough.
local function plain(p, li, col, parent)
  local lines = p.lines
  local text, commented = plain_piece(p, li, lines[li], col)
  local parts, last, empties = { text }, li, 0
  local j = li + 1
  while not commented and j <= p.n do
    local s = lines[j]
    local first = find(s, "[^ \t]")
    if not first then
      empties = empties + 1
    else
      if indentation(s) <= parent or is_marker(s) or byte(s, first) == 35 then break end
      parts[#parts + 1] = empties == 0 and " " or rep("\n", empties)
      parts[#parts + 1], commented = plain_piece(p, j, s, first)
      empties, last = 0, j
    end
    j = j + 1
  end
  p.li = last + 1
  return resolve(p, li, concat(parts))
end

-- "|" or ">" at position col of line li, with its indicators: the chomping ("strip",
-- "clip" or "keep") and the explicit indentation, if any.
local function block_header(p, li, col)
  local s = p.lines[li]
  local i, chomp, indent = col + 1, "clip", nil
  for _ = 1, 2 do
    local c = byte(s, i)
    if (c == 45 or c == 43) and chomp == "clip" then
      chomp = c == 45 and "strip" or "keep"
      i = i + 1
    elseif c and c >= 49 and c <= 57 and not indent then
      indent = c - 48
      i = i + 1
    end
  end
  if not rest_empty(s, i) or not sep_at(s, i) then
    fail_at(p, li, "a block scalar header holds | or >, then at most a digit 1-9 and - or +")
  end
  return chomp, indent
end

-- The indentation of a block scalar without an indicator: that of its first line with
-- text, which the empty lines before it may not exceed.  nil when it has no text.
local function detect_indent(p, li, parent)
  local deepest = 0
  for j = li + 1, p.n do
    local s = p.lines[j]
    local ind = indentation(s)
    if ind < #s then
      if ind <= parent or (ind == 0 and is_marker(s)) then return nil end
      if deepest > ind then fail_at(p, j - 1, "an empty line before a block scalar's text is indented deeper than the text") end
      return ind
    end
    if ind > deepest then deepest = ind end
  end
  return nil
end

-- Folded (">") text: a single break between two lines of text becomes a space, and
-- each empty line between them a newline; breaks next to lines that start with a blank
-- ("more indented") stay as they are.
local function fold_lines(texts, last)
  local out, started, spaced_before, empties = {}, false, false, 0
  for i = 1, last do
    local s = texts[i]
    if s == "" then
      empties = empties + 1
    else
      local spaced = sep_at(s, 1)
      if not started then
        out[#out + 1] = rep("\n", empties)
      elseif not spaced_before and not spaced then
        out[#out + 1] = empties == 0 and " " or rep("\n", empties)
      else
        out[#out + 1] = rep("\n", empties + 1)
      end
      out[#out + 1] = s
      started, spaced_before, empties = true, spaced, 0
    end
  end
  return concat(out)
end

-- A block scalar whose header is at position col of line li, in a collection indented
-- parent columns (-1 for none).  An explicit indicator counts from the parent's column,
-- and from column 0 at the top of a document, as libyaml and PyYAML do.
local function block_scalar(p, li, col, parent)
  local folded = byte(p.lines[li], col) == 62
  local chomp, indent = block_header(p, li, col)
  if indent then
    indent = (parent < 0 and 0 or parent) + indent
  else
    indent = detect_indent(p, li, parent) or huge
  end
  -- The lines it takes: "" for an empty one, else the text after the indentation.
  local texts, count, last_text, last_line = {}, 0, 0, li
  local j = li + 1
  while j <= p.n do
    local s = p.lines[j]
    local ind = indentation(s)
    if ind < #s and (ind < indent or (indent == 0 and is_marker(s))) then break end
    count = count + 1
    texts[count] = ind > indent and sub(s, indent + 1) or (ind < #s and sub(s, indent + 1) or "")
    if texts[count] ~= "" then last_text, last_line = count, j end
    j = j + 1
  end
  p.li = j
  -- A line ends in a break unless it is the last of the input.
  local trailing = (j - 1) - last_line
  if j - 1 == p.n and trailing > 0 then trailing = trailing - 1 end
  if last_text == 0 then return chomp == "keep" and rep("\n", trailing) or "" end
  local body = folded and fold_lines(texts, last_text) or concat(texts, "\n", 1, last_text)
  if chomp == "strip" then return body end
  local final = last_line < p.n and "\n" or ""
  if chomp == "clip" then return body .. final end
  return body .. final .. rep("\n", trailing)
end

-- If a "key:" starts at position col of line li, the key and the position after its
-- colon.  Keys are strings as written: "1: x" has the key "1", as it would in JSON.
local function read_key(p, li, col)
  local s = p.lines[li]
  local c = byte(s, col)
  if c == 34 or c == 39 then
    local key, _, close = quoted(p, li, col, true)
    if not key then return nil end
    local j = skip_blanks(s, close)
    if byte(s, j) ~= 58 or not sep_at(s, j + 1) then return nil end
    return key, j + 1
  end
  -- A plain key runs to the first ": " (or ":" ending the line) before any comment.  It
  -- is not empty and starts like a plain scalar.
  if find(s, "^[,%[%]{}#&*!|>%%@`]", col) or (find(s, "^[-?:]", col) and sep_at(s, col + 1)) then return nil end
  local stop = comment_start(s, col) or #s + 1
  local i = col
  while true do
    local k = find(s, ":", i, true)
    if not k or k >= stop then return nil end
    if sep_at(s, k + 1) then return sub(s, col, trim_end(s, col, k - 1)), k + 1 end
    i = k + 1
  end
end

-- The value after "key:" at position vcol of line li, in a mapping indented n columns.
local function map_value(p, li, vcol, n)
  local s = p.lines[li]
  if rest_empty(s, vcol) then
    p.li = li + 1
    return block_node(p, n, true)
  end
  return inline_node(p, li, skip_blanks(s, vcol), n, false)
end

-- Raises the reason why position col of line li, where a key belongs, holds none.
local function not_a_key(p, li, col)
  local s = p.lines[li]
  local c = sub(s, col, col)
  if unsupported[c] then fail_at(p, li, unsupported[c]) end
  if c == "?" and sep_at(s, col + 1) then fail_at(p, li, "explicit keys ('? ') are not supported") end
  if c == ":" and sep_at(s, col + 1) then fail_at(p, li, "a ':' without a key before it") end
  fail_at(p, li, "expected 'key: value' at the indentation of the keys above")
end

-- A block mapping whose keys are indented n columns, the first on line li.
local function parse_mapping(p, li, n)
  enter(p, li)
  local t = {}
  while true do
    local key, vcol = read_key(p, li, n + 1)
    if not key then not_a_key(p, li, n + 1) end
    if t[key] ~= nil then fail_at(p, li, "duplicate key '" .. show(key) .. "'") end
    t[key] = map_value(p, li, vcol, n)
    local ind
    li, ind = next_content(p)
    if not li or ind < n then break end
    if ind > n then fail_at(p, li, "bad indentation: deeper than the keys above") end
    local s = p.lines[li]
    if byte(s, n + 1) == 45 and sep_at(s, n + 2) then fail_at(p, li, "a '- ' entry where a key was expected") end
  end
  p.depth = p.depth - 1
  return t
end

-- A block sequence whose dashes are indented n columns, the first on line li.
-- indentless: it hangs under a key at the key's own column, so a key line ends it.
local function parse_sequence(p, li, n, indentless)
  enter(p, li)
  local t, count = json.array(), 0
  while true do
    local s = p.lines[li]
    local v
    if rest_empty(s, n + 2) then
      p.li = li + 1
      v = block_node(p, n, false)
    else
      local j = skip_blanks(s, n + 2)
      -- A tab after the dash cannot indent what follows: only a scalar may come after it.
      local tab = find(sub(s, n + 2, j - 1), "\t", 1, true) ~= nil
      v = inline_node(p, li, j, n, not tab)
    end
    count = count + 1
    t[count] = v
    local ind
    li, ind = next_content(p)
    if not li or ind < n then break end
    if ind > n then fail_at(p, li, "bad indentation: deeper than the '- ' entries above") end
    local s2 = p.lines[li]
    if byte(s2, n + 1) ~= 45 or not sep_at(s2, n + 2) then
      if indentless then break end
      fail_at(p, li, "expected a '- ' entry at the indentation of the entries above")
    end
  end
  p.depth = p.depth - 1
  return t
end

-- A node that starts at position col of line li: after "key: ", "- " or "--- ", or at
-- the start of its own line.  parent: the indentation of the enclosing collection (-1 at
-- the top).  collections: whether a block mapping or sequence may start here (not after
-- "key: ").
inline_node = function(p, li, col, parent, collections)
  local s = p.lines[li]
  local c = sub(s, col, col)
  if c == "-" and sep_at(s, col + 1) then
    if not collections then fail_at(p, li, "a '- ' entry cannot start here (start it on the next line)") end
    return parse_sequence(p, li, col - 1, false)
  end
  if c == "?" and sep_at(s, col + 1) then fail_at(p, li, "explicit keys ('? ') are not supported") end
  if c == ":" and sep_at(s, col + 1) then fail_at(p, li, "a ':' without a key before it") end
  if unsupported[c] then fail_at(p, li, unsupported[c]) end
  if find(c, "^[,%]}]") then fail_at(p, li, "unexpected '" .. c .. "'") end
  if c == "[" or c == "{" then return flow_in_block(p, li, col) end
  if c == "|" or c == ">" then return block_scalar(p, li, col, parent) end
  if read_key(p, li, col) then
    if not collections then fail_at(p, li, "'key: value' is not allowed here (quote the value if it holds ': ')") end
    return parse_mapping(p, li, col - 1)
  end
  if c == '"' or c == "'" then return quoted_in_block(p, li, col) end
  return plain(p, li, col, parent)
end

-- The node on the lines from p.li (after "key:", "-" or "---" alone on a line): one
-- indented deeper than parent, or with indentless, a sequence at parent's own column,
-- which is how kubectl writes a sequence under a key.  Nothing there is null.
block_node = function(p, parent, indentless)
  local li, ind = next_content(p)
  if not li then return null end
  local s = p.lines[li]
  if indentless and ind == parent and byte(s, ind + 1) == 45 and sep_at(s, ind + 2) then
    return parse_sequence(p, li, ind, true)
  end
  if ind <= parent then return null end
  return inline_node(p, li, ind + 1, parent, true)
end

---------------------------------------------------------------------------- documents

local function starts_with_marker(s, m)
  return sub(s, 1, 3) == m and sep_at(s, 4)
end

-- After the document's node: nothing, or "..." and nothing after it.
local function check_end(p)
  local li = next_content(p)
  if not li then return end
  local s = p.lines[li]
  if starts_with_marker(s, "...") then
    if not rest_empty(s, 4) then fail_at(p, li, "unexpected text after '...'") end
    p.li = li + 1
    li = next_content(p)
    if not li then return end
    s = p.lines[li]
  end
  if starts_with_marker(s, "---") or byte(s) == 37 then
    fail_at(p, li, "a second document: only one document per file is supported")
  end
  fail_at(p, li, "unexpected content (check the indentation)")
end

local function parse_document(p)
  local li = next_content(p)
  if not li then return null end
  local s = p.lines[li]
  if byte(s) == 37 then fail_at(p, li, "directives (%YAML, %TAG) are not supported") end
  local v = null
  if starts_with_marker(s, "---") then
    if rest_empty(s, 4) then
      p.li = li + 1
      v = block_node(p, -1, false)
    else
      v = inline_node(p, li, skip_blanks(s, 4), -1, false)
    end
  elseif not starts_with_marker(s, "...") then
    v = block_node(p, -1, false)
  end
  check_end(p)
  return v
end

local function line_of(text, pos)
  local _, breaks = gsub(sub(text, 1, pos - 1), "\n", "")
  return breaks + 1
end

-- Characters YAML text may not hold at all, reported with their line.
local function check_characters(p, text)
  local bad = utf8_error(text)
  if bad then fail_at(p, line_of(text, bad), "invalid UTF-8 (byte " .. bad .. ")") end
  local at = find(text, "[%z\1-\8\11\12\14-\31\127]")
  if at then
    fail_at(p, line_of(text, at), format("control character 0x%02X (YAML allows tab, CR and LF only)", byte(text, at)))
  end
  at = find(text, "\194[\128-\132\134-\159]") or find(text, "\239\191[\190\191]")
  if at then fail_at(p, line_of(text, at), "a character YAML does not allow (a C1 control or U+FFFE/U+FFFF)") end
end

local function parse(p, text)
  if sub(text, 1, 3) == "\239\187\191" then text = sub(text, 4) end -- byte-order mark
  text = gsub(text, "\r\n?", "\n")
  check_characters(p, text)
  local lines, n = {}, 0
  for line in gmatch(text .. "\n", "([^\n]*)\n") do
    n = n + 1
    lines[n] = line
  end
  p.lines, p.n = lines, n
  return parse_document(p)
end

-- yaml.decode(text, name) -> value, or nil, "NAME:LINE: message".  Mappings come back as
-- tables with string keys, sequences as json.array tables, null as json.null.  Bad input
-- is data, not a bug: this returns nil and a message, and raises only when text is not
-- a string.
function M.decode(text, name)
  if type(text) ~= "string" then error("yaml.decode: expects a string, got " .. type(text), 2) end
  if name ~= nil and type(name) ~= "string" then error("yaml.decode: the name must be a string", 2) end
  local p = { name = name or "yaml", depth = 0, li = 1, n = 0 }
  local ok, res = pcall(parse, p, text)
  if ok then return res end
  if getmetatable(res) == Failure then return nil, res.text end
  -- A bug in this reader: still an answer, not a crash.
  return nil, format("%s:%d: internal error in the YAML reader: %s", p.name, p.li, gsub(tostring(res), "\n", " "))
end

return M
