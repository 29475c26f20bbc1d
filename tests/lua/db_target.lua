-- db_target.lua: the database a storage test runs against.  ALLUSE_TEST_DB when set
-- (test_db_pg.sh points it at a private PostgreSQL), else a fresh temporary SQLite file.
--   local target = dofile((debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "")) .. "db_target.lua")
--   target.url, target.cleanup()   -- cleanup removes the SQLite file and its -wal/-shm
local url = os.getenv("ALLUSE_TEST_DB")
local tmp
if not url or url == "" then
  tmp = os.tmpname()
  os.remove(tmp)
  url = "sqlite:" .. tmp
end
return {
  url = url,
  cleanup = function()
    if tmp then for _, s in ipairs({ "", "-wal", "-shm" }) do os.remove(tmp .. s) end end
  end,
}
