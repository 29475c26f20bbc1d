-- alluse.sandbox_instrument: rewrite strategy source so the watchdog can stop it.
--
-- Why source rewriting: LuaJIT does not run debug hooks inside JIT-compiled traces,
-- so an instruction-count hook never fires in a compiled `while true do end` (tried:
-- it spins forever).  Instead every place where code can repeat gets a call to the
-- watchdog's tick: after each `do` (bodies of while/for loops and do-blocks), after
-- each `repeat`, at the start of each function body (recursion, tail calls), and
-- before each `goto`.  The tick is a local upvalue the JIT inlines, so compiled loops
-- keep their speed; nothing is added to a line, so error line numbers stay true.
--
-- instrument(source, chunkname) returns the new source, or nil and a message.
-- The result must be called with (tick, select, ...): the user's chunk becomes an
-- inner function that receives the original varargs.
local M = {}

local byte, sub, find = string.byte, string.sub, string.find

local KEYWORD_INSERT_AFTER = { ["do"] = true, ["repeat"] = true }
local TICK = " __au_tick();"

-- Position just past a long bracket "[==[ ... ]==]" starting at i, or nil.
local function long_bracket_end(src, i)
  local eqs = src:match("^%[(=*)%[", i)
  if not eqs then return nil end
  local close = "]" .. eqs .. "]"
  local _, e = find(src, close, i + #eqs + 2, true)
  return e and e + 1 or false
end

-- Position just past the quoted string starting at i (quote char q), or false.
local function short_string_end(src, i, q)
  local j = i + 1
  local n = #src
  while j <= n do
    local c = byte(src, j)
    if c == 92 then       -- backslash: skip the escaped character
      j = j + 2
    elseif c == q then
      return j + 1
    elseif c == 10 then   -- newline inside a short string is a syntax error
      return false
    else
      j = j + 1
    end
  end
  return false
end

local function number_end(src, i)
  local j = i
  local n = #src
  while j <= n do
    local c = sub(src, j, j)
    if c:match("[%w_%.]") then
      local lc = c:lower()
      j = j + 1
      local nc = sub(src, j, j)
      if (lc == "e" or lc == "p") and (nc == "+" or nc == "-") then j = j + 1 end
    else
      break
    end
  end
  return j
end

function M.instrument(src, chunkname)
  if byte(src, 1) == 27 then return nil, "binary chunks are not allowed in the sandbox" end
  if sub(src, 1, 1) == "#" then  -- shebang line: keep the newline so lines still match
    local nl = find(src, "\n", 1, true)
    src = nl and sub(src, nl) or ""
  end
  local out, last = {}, 1
  local i, n = 1, #src
  local want_paren = false
  local function insert_after(pos)
    out[#out + 1] = sub(src, last, pos)
    out[#out + 1] = TICK
    last = pos + 1
  end
  local function bad(msg)
    -- If Lua itself rejects the source, its message is the one worth showing.
    local _, err = loadstring(src, chunkname)
    return nil, err or (chunkname .. ": sandbox cannot read this source: " .. msg)
  end
  while i <= n do
    local c = byte(src, i)
    if c == 45 and byte(src, i + 1) == 45 then               -- comment
      local e = nil
      if byte(src, i + 2) == 91 then e = long_bracket_end(src, i + 2) end
      if e == false then return bad("unfinished long comment") end
      if e then
        i = e
      else
        local nl = find(src, "\n", i, true)
        i = nl or n + 1
      end
    elseif c == 34 or c == 39 then                            -- "..." or '...'
      local e = short_string_end(src, i, c)
      if not e then return bad("unfinished string") end
      i = e
    elseif c == 91 and (byte(src, i + 1) == 91 or byte(src, i + 1) == 61) then
      local e = long_bracket_end(src, i)
      if e == false then return bad("unfinished long string") end
      i = e or i + 1
    elseif (c >= 48 and c <= 57) or (c == 46 and (byte(src, i + 1) or 0) >= 48 and (byte(src, i + 1) or 0) <= 57) then
      i = number_end(src, i)
    elseif (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c == 95 then
      local s, e = find(src, "^[%w_]+", i)
      local word = sub(src, s, e)
      if sub(word, 1, 5) == "__au_" then
        local line = select(2, sub(src, 1, i):gsub("\n", "")) + 1
        return nil, string.format("%s:%d: the name '%s' is reserved by the sandbox",
          (chunkname:gsub("^[=@]", "")), line, word)
      end
      if KEYWORD_INSERT_AFTER[word] then
        insert_after(e)
      elseif word == "function" then
        want_paren = true
      elseif word == "goto" then
        out[#out + 1] = sub(src, last, i - 1)
        out[#out + 1] = TICK .. " "
        last = i
      end
      i = e + 1
    elseif c == 41 and want_paren then                       -- ")" closing a parameter list
      want_paren = false
      insert_after(i)
      i = i + 1
    else
      i = i + 1
    end
  end
  out[#out + 1] = sub(src, last)
  local body = table.concat(out)
  return "local __au_tick, __au_select = ...; return (function(...)" .. body
    .. "\nend)(__au_select(3, ...))"
end

return M
