-- The Lua half's version and C/Lua interface number.  core/host/version.h carries
-- the same two values; the binary refuses to start when they differ.
return { version = "0.1.0", abi = 2 }
