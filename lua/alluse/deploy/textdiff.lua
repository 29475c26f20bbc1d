-- alluse.deploy.textdiff: a unified diff of two texts, line by line, for
-- `alluse deploy --diff` (manifests of a few hundred lines: an LCS table is fine).
--
--   local out = textdiff.unified(old, new, { context = 3, from = "live", to = "render" })
--   -- "" when equal; else "--- live\n+++ render\n@@ -a,b +c,d @@\n ..."
local M = {}

local function lines(s)
  local out = {}
  for l in (s .. (s:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  if s == "" then return {} end
  return out
end

-- The edit script: a list of { op, line } with op " " (both), "-" (old only), "+" (new only).
local function script(a, b)
  local n, m = #a, #b
  -- lcs[i][j]: the longest common subsequence of a[i..n] and b[j..m]
  local lcs = {}
  for i = n + 1, 1, -1 do
    local row, below = {}, lcs[i + 1]
    for j = m + 1, 1, -1 do
      if i > n or j > m then
        row[j] = 0
      elseif a[i] == b[j] then
        row[j] = below[j + 1] + 1
      else
        local x, y = below[j], row[j + 1]
        row[j] = x > y and x or y
      end
    end
    lcs[i] = row
  end
  local out, i, j = {}, 1, 1
  while i <= n or j <= m do
    if i <= n and j <= m and a[i] == b[j] then
      out[#out + 1] = { " ", a[i] }
      i, j = i + 1, j + 1
    elseif i <= n and (j > m or lcs[i + 1][j] >= lcs[i][j + 1]) then
      out[#out + 1] = { "-", a[i] } -- removals before additions, as diff -u prints them
      i = i + 1
    else
      out[#out + 1] = { "+", b[j] }
      j = j + 1
    end
  end
  return out
end

-- A hunk's range as diff -u writes it: "start,len", "start" for one line, and the
-- line before for none.
local function range(start, len)
  if len == 1 then return tostring(start) end
  return string.format("%d,%d", len == 0 and start - 1 or start, len)
end

function M.unified(old, new, opts)
  opts = opts or {}
  if old == new then return "" end
  local ctx = opts.context or 3
  local ops = script(lines(old), lines(new))
  local out = { "--- " .. (opts.from or "a"), "+++ " .. (opts.to or "b") }
  local k = 1
  while k <= #ops do
    if ops[k][1] == " " then
      k = k + 1
    else
      -- a hunk: from ctx lines before this change to ctx lines after the last change
      -- that is within 2 * ctx of the previous one
      local first = math.max(1, k - ctx)
      local last = k
      local scan = k
      while scan <= #ops do
        if ops[scan][1] ~= " " then
          last = scan
        elseif scan - last > 2 * ctx then
          break
        end
        scan = scan + 1
      end
      local stop = math.min(#ops, last + ctx)
      -- line numbers at the hunk's start
      local a0, b0 = 1, 1
      for x = 1, first - 1 do
        if ops[x][1] ~= "+" then a0 = a0 + 1 end
        if ops[x][1] ~= "-" then b0 = b0 + 1 end
      end
      local alen, blen = 0, 0
      local body = {}
      for x = first, stop do
        local op = ops[x][1]
        if op ~= "+" then alen = alen + 1 end
        if op ~= "-" then blen = blen + 1 end
        body[#body + 1] = op .. ops[x][2]
      end
      out[#out + 1] = string.format("@@ -%s +%s @@", range(a0, alen), range(b0, blen))
      for _, l in ipairs(body) do out[#out + 1] = l end
      k = stop + 1
    end
  end
  return table.concat(out, "\n") .. "\n"
end

return M
