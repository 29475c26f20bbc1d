-- restart_writer.lua URL N ACKED_FILE: N writes, one transaction each, through a
-- PostgreSQL that the test restarts in the middle.  A write is acknowledged (its
-- number appended to ACKED_FILE) only once its COMMIT returned.  Prints the number
-- of reconnects at the end.
local store = require("alluse.store")
local url, n, acked_path = arg[1], tonumber(arg[2]), arg[3]
local db = assert(store.open(url))
local acked = assert(io.open(acked_path, "w"))
acked:setvbuf("line")
for i = 1, n do
  local ok, err = db:transaction(function()
    return db:exec("INSERT INTO kv (scope, key, value, updated) VALUES ('restart', ?, ?, ?) "
      .. "ON CONFLICT (scope, key) DO NOTHING", tostring(i), tostring(i * 7), i)
  end)
  if not ok then error("write " .. i .. " failed: " .. tostring(err), 0) end
  acked:write(i, "\n")
end
acked:close()
print("reconnects " .. db.reconnects)
