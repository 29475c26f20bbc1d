-- alluse.inspect: any Lua value as readable text, for the REPL and for diagnostics.
--
--   local inspect = require("alluse.inspect")
--   inspect({ b = 1, a = { 1, 2 } })   --> { a = { 1, 2 }, b = 1 }
--   inspect(v, { depth = 2, width = 10, line = 100 })
--
-- Output is deterministic: the array part comes first in order, then the other keys
-- sorted (numbers, strings, booleans, anything else).  A table nested inside itself
-- prints as <cycle>; a table reached again by another path prints as <table N> and its
-- first appearance is labelled <N>, so shared structure is visible and never printed
-- twice.  Numbers are shown exactly: the shortest of %.14g .. %.17g that reads back as
-- the same double.  Strings are quoted with escapes; one that is not valid UTF-8 has
-- its high bytes escaped too, so binary data never reaches the terminal raw.
-- Tables deeper than `depth` print as {...}; after `width` entries a table ends with
-- "... (N more)".  A table with a __tostring metamethod prints as that string.
local M = {}

local DEFAULTS = { depth = 8, width = 100, line = 80, indent = "  " }

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end
M.keywords = KEYWORDS

local function format_number(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  if x == 0 then return 1 / x < 0 and "-0" or "0" end
  if x == math.floor(x) and math.abs(x) < 1e15 then return string.format("%d", x) end
  for p = 14, 16 do
    local s = string.format("%." .. p .. "g", x)
    if tonumber(s) == x then return s end
  end
  return string.format("%.17g", x)
end
M.format_number = format_number

-- Whether s is well-formed UTF-8 (no overlongs, surrogates or code points past 10FFFF).
local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, min
    if c < 0x80 then len = 1
    elseif c >= 0xC2 and c <= 0xDF then len, min = 2, 0x80
    elseif c >= 0xE0 and c <= 0xEF then len, min = 3, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then len, min = 4, 0x10000
    else return false end
    if len > 1 then
      if i + len - 1 > n then return false end
      local cp = c % (2 ^ (7 - len))
      for j = i + 1, i + len - 1 do
        local d = s:byte(j)
        if d < 0x80 or d > 0xBF then return false end
        cp = cp * 64 + (d - 0x80)
      end
      if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return false end
    end
    i = i + len
  end
  return true
end

local ESCAPES = {
  ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f", ["\v"] = "\\v",
}

-- Three digits always: "\0" followed by "1" would read back as "\01".
local function escape_byte(c)
  return ESCAPES[c] or string.format("\\%03d", c:byte())
end

local function quote(s)
  local class = '[%c"\\]'
  if s:find("[\128-\255]") and not valid_utf8(s) then class = '[%c"\\\128-\255]' end
  return '"' .. s:gsub(class, escape_byte) .. '"'
end
M.quote = quote

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not KEYWORDS[k]
end
M.is_identifier = is_identifier

local TYPE_ORDER = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (TYPE_ORDER[ta] or 4) < (TYPE_ORDER[tb] or 4) or
    ((TYPE_ORDER[ta] or 4) == (TYPE_ORDER[tb] or 4) and ta < tb) end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return not a and b end
  return tostring(a) < tostring(b)
end

-- A table's __tostring result, or nil when it has none or it fails.
local function custom_string(t)
  local mt = getmetatable(t)
  if type(mt) ~= "table" or mt.__tostring == nil then return nil end
  local ok, s = pcall(tostring, t)
  if ok and type(s) == "string" then return s end
  return nil
end

-- The entries to show, in display order: { n_array, keys..., more = hidden count }.
local function layout_keys(t, width)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local keys = {}
  for k in next, t do
    if not (type(k) == "number" and k >= 1 and k <= n and k == math.floor(k)) then
      keys[#keys + 1] = k
    end
  end
  table.sort(keys, key_less)
  local entries, shown = { array = math.min(n, width) }, math.min(n, width)
  for i = 1, #keys do
    if shown >= width then break end
    entries[#entries + 1] = keys[i]
    shown = shown + 1
  end
  entries.more = n + #keys - shown
  return entries
end

local Printer = {}
Printer.__index = Printer

function Printer:entries(t)
  local e = self.layouts[t]
  if not e then
    e = layout_keys(t, self.opts.width)
    self.layouts[t] = e
  end
  return e
end

-- First pass: find tables reached more than once other than through a cycle, so the
-- second pass can label them.  It walks exactly what the second pass will print.
function Printer:scan(v, level, stack)
  if type(v) ~= "table" or custom_string(v) or stack[v] or level >= self.opts.depth then return end
  local c = (self.counts[v] or 0) + 1
  self.counts[v] = c
  if c > 1 then return end
  stack[v] = true
  local e = self:entries(v)
  for i = 1, e.array do self:scan(rawget(v, i), level + 1, stack) end
  for i = 1, #e do self:scan(rawget(v, e[i]), level + 1, stack) end
  stack[v] = nil
end

function Printer:key(k)
  if is_identifier(k) then return k end
  if type(k) == "table" then return "[" .. tostring(k) .. "]" end
  return "[" .. self:value(k, math.huge, {}) .. "]"
end

function Printer:table(t, level, stack)
  local s = custom_string(t)
  if s then return s end
  if stack[t] then return "<cycle>" end
  local id = self.ids[t]
  if id then return "<table " .. id .. ">" end
  if level >= self.opts.depth then return next(t) == nil and "{}" or "{...}" end
  local label = ""
  if (self.counts[t] or 0) > 1 then
    self.next_id = self.next_id + 1
    self.ids[t] = self.next_id
    label = "<" .. self.next_id .. ">"
  end
  local e = self:entries(t)
  stack[t] = true
  local items, multiline, size = {}, false, 0
  for i = 1, e.array do items[#items + 1] = self:value(rawget(t, i), level + 1, stack) end
  for i = 1, #e do
    local k = e[i]
    items[#items + 1] = self:key(k) .. " = " .. self:value(rawget(t, k), level + 1, stack)
  end
  stack[t] = nil
  if e.more > 0 then items[#items + 1] = "... (" .. e.more .. " more)" end
  if #items == 0 then return label .. "{}" end
  for _, item in ipairs(items) do
    size = size + #item + 2
    if item:find("\n", 1, true) then multiline = true end
  end
  local indent = self.opts.indent
  if not multiline and size + 2 + #indent * level + #label <= self.opts.line then
    return label .. "{ " .. table.concat(items, ", ") .. " }"
  end
  local inner = "\n" .. indent:rep(level + 1)
  return label .. "{" .. inner .. table.concat(items, "," .. inner) .. "\n" .. indent:rep(level) .. "}"
end

function Printer:value(v, level, stack)
  local tv = type(v)
  if tv == "string" then return quote(v) end
  if tv == "number" then return format_number(v) end
  if tv == "table" then return self:table(v, level, stack) end
  return tostring(v)
end

-- inspect(v [, opts]) -> string.  opts: depth (8), width (100 entries per table),
-- line (80 columns before a table breaks over lines), indent ("  ").
function M.inspect(v, opts)
  local o = {}
  for k, d in pairs(DEFAULTS) do o[k] = d end
  for k, x in pairs(opts or {}) do o[k] = x end
  local p = setmetatable({ opts = o, layouts = {}, counts = {}, ids = {}, next_id = 0 }, Printer)
  p:scan(v, 0, {})
  return p:value(v, 0, {})
end

return setmetatable(M, { __call = function(_, v, opts) return M.inspect(v, opts) end })
