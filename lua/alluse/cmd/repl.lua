-- alluse repl: an interactive LuaJIT prompt with the alluse library loaded.
-- The loop itself lives in alluse.repl; this is its command-line face.
local flags = require("alluse.flags")

return {
  usage = "alluse repl [--attach SOCKET] [--history FILE | --no-history] [--history-size N]",
  description = "Read Lua a line at a time and print what each expression returns (tables\n"
    .. "pretty-printed).  An unfinished statement continues on the next line (prompt \">>\").\n"
    .. "json, crypto, time, log, inspect ... and alluse.NAME load their modules on first use.\n"
    .. "Keys: TAB completes names and fields, Up/Down and Ctrl-R search history, Ctrl-C\n"
    .. "abandons the input being typed (or stops running code), Ctrl-D exits.\n"
    .. "History goes to --history FILE, else $ALLUSE_HISTORY (empty: none), else\n"
    .. "~/.alluse_history.  With stdin not a terminal, lines are read without prompts and\n"
    .. "the exit status is 1 if any of them failed.  See docs/repl.md.\n"
    .. "--attach SOCKET evaluates inside a running engine instead, through its control socket\n"
    .. "(alluse run --control SOCKET): its accounts, orders, pause(), resume() ... (docs/control.md).",
  flags = {
    { name = "history", arg = "FILE", help = "history file (default $ALLUSE_HISTORY or ~/.alluse_history)" },
    { name = "no-history", help = "neither read nor write a history file" },
    { name = "history-size", arg = "N", help = "keep at most N history entries (default 1000)" },
    { name = "attach", arg = "SOCKET", help = "evaluate inside the engine listening on this control socket" },
  },
  run = function(opts, args)
    if #args > 0 then flags.usage_error("unexpected argument '%s'", args[1]) end
    if opts.history and opts.no_history then
      flags.usage_error("--history and --no-history exclude each other")
    end
    if opts.history_size then
      local n = tonumber(opts.history_size)
      if not n or n < 0 or n ~= math.floor(n) or n > 1000000 then
        flags.usage_error("--history-size wants a whole number 0 .. 1000000, got '%s'", opts.history_size)
      end
    end
    if opts.attach then return require("alluse.repl").attach(opts.attach, opts) end
    return require("alluse.repl").run(opts)
  end,
}
