-- alluse.fs: the few file-system questions the commands ask, answered one way.
--
--   fs.is_dir(path)
--   fs.files(dir, { names = { "*.csv", "*.bars" }, maxdepth = 1, hidden = false })
--     -> the regular files under dir whose names match one of the globs, sorted by
--        byte order (LC_ALL=C), so every listing is the same on every machine
--   fs.mkdir_p(dir) -> true | nil, message
--
-- Listings go through find(1): LuaJIT has no directory API, and one quoted command
-- here is safer than one per caller.
local M = {}

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function M.is_dir(path)
  local f = io.open(path .. "/.", "r")
  if f then f:close() return true end
  return false
end

function M.files(dir, opts)
  opts = opts or {}
  local cmd = { "find", quote(dir) }
  if opts.maxdepth then cmd[#cmd + 1] = "-maxdepth " .. math.floor(opts.maxdepth) end
  cmd[#cmd + 1] = "-type f"
  if opts.names and #opts.names > 0 then
    local alts = {}
    for _, glob in ipairs(opts.names) do alts[#alts + 1] = "-name " .. quote(glob) end
    cmd[#cmd + 1] = "\\( " .. table.concat(alts, " -o ") .. " \\)"
  end
  if opts.hidden == false then cmd[#cmd + 1] = "! -name '.*'" end
  local p = io.popen(table.concat(cmd, " ") .. " 2>/dev/null | LC_ALL=C sort")
  local out = {}
  for path in p:lines() do out[#out + 1] = path end
  p:close()
  return out
end

function M.mkdir_p(dir)
  local ok = os.execute("mkdir -p " .. quote(dir))
  if ok ~= 0 and ok ~= true then return nil, "cannot create the folder " .. dir end
  return true
end

return M
