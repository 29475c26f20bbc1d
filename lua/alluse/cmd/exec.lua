-- alluse exec SCRIPT.lua [args...]: run any script with the full library.
-- The script sees `arg` as the stand-alone lua interpreter sets it (arg[0] is the
-- script, arg[1..n] its arguments, arg[-1] the binary) and the same values as `...`.
-- An error in the script propagates: file:line, message and traceback on stderr, exit 1.
-- A script's own status: return a number from the chunk, or call os.exit(n).
local flags = require("alluse.flags")

return {
  usage = "alluse exec SCRIPT.lua [args...]",
  description = "Run SCRIPT.lua as a task with the full alluse library (require \"alluse.json\", ...).\n"
    .. "Everything after SCRIPT.lua is passed to the script untouched, flags included.",
  stop_at_positional = true,
  run = function(_, args)
    local path = args[1]
    if not path then flags.usage_error("missing SCRIPT.lua") end
    local chunk, err = loadfile(path)
    if not chunk then
      io.stderr:write("alluse exec: ", err, "\n")
      return 1
    end
    local script_args = { [-1] = "alluse", [0] = path }
    for i = 2, #args do script_args[i - 1] = args[i] end
    _G.arg = script_args
    local status = chunk(unpack(script_args, 1, #args - 1))
    if type(status) == "number" then return status end
    return 0
  end,
}
