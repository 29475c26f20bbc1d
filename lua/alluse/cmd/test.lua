-- alluse test PATH...: run Lua test files (alluse.test) and print one TAP stream.
-- A folder means every test_*.lua below it, in sorted order.  Exit 1 on any failure.
local flags = require("alluse.flags")

local fs = require("alluse.fs")

local function list_dir(dir, out)
  for _, f in ipairs(fs.files(dir, { names = { "test_*.lua" } })) do out[#out + 1] = f end
end

local is_dir = fs.is_dir

local function is_file(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

return {
  usage = "alluse test PATH...",
  description = "Run Lua test files written with alluse.test and print TAP (the plan comes last).\n"
    .. "A folder stands for every test_*.lua file below it.",
  run = function(_, args)
    if #args == 0 then flags.usage_error("missing PATH (a test file or folder)") end
    local files = {}
    for _, a in ipairs(args) do
      if is_dir(a) then
        list_dir(a, files)
      elseif is_file(a) then
        files[#files + 1] = a
      else
        io.stderr:write("alluse test: no such file or folder: ", a, "\n")
        return 1
      end
    end
    return require("alluse.test").run_files(files) and 0 or 1
  end,
}
