-- alluse version: this build and the run-time versions of the libraries it uses.
local host = require("alluse.core.host")

return {
  usage = "alluse version [--json]",
  description = "Print alluse's version and git commit, and the versions of LuaJIT, libuv,\n"
    .. "libcurl, OpenSSL, libpq and SQLite loaded at run time.",
  flags = { { name = "json", help = "print one JSON object instead of text" } },
  run = function(opts)
    local b, libs = host.build(), host.libraries()
    libs.luajit = jit.version
    if opts.json then
      local json = require("alluse.json")
      io.stdout:write(json.encode({ version = b.version, commit = b.commit, abi = b.abi,
        libraries = libs }, { sorted = true }), "\n")
      return 0
    end
    io.stdout:write(string.format("alluse %s (commit %s, abi %d)\n", b.version, b.commit, b.abi))
    for _, k in ipairs({ "luajit", "libuv", "libcurl", "openssl", "libpq", "sqlite" }) do
      io.stdout:write(string.format("  %-8s %s\n", k, libs[k]))
    end
    return 0
  end,
}
