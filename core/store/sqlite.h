/* sqlite.h — alluse.core.sqlite: the SQLite driver, one connection per userdata.
 *
 * The PostgreSQL driver exposes the same method names, and the alluse.store facade
 * sits over both, so callers see one contract:
 *
 *   sqlite.open(path [, opts]) -> conn | nil, message, code
 *     opts: busy_timeout_ms (default 5000), readonly (default false),
 *           synchronous ("full" default, "normal", "off").  Unknown keys raise.
 *     Sets journal_mode=WAL (not for ":memory:" / "" / readonly), synchronous,
 *     foreign_keys=ON and the busy timeout.  Messages name the path:
 *     "sqlite:/x/y.db: unable to open database file".
 *   sqlite.version() -> sqlite3_libversion()
 *   sqlite.null      -> the NULL lightuserdata (== require("cjson").null)
 *
 *   conn:exec(sql [, params])       -> changed rows | nil, message, code
 *   conn:query(sql [, params])      -> rows, columns | nil, message, code
 *   conn:exec_script(sql)           -> true | nil, message, code
 *   conn:insert_rows(sql, rows [, ncols]) -> count | nil, message, code
 *   conn:last_insert_id() -> number     conn:changes() -> number
 *   conn:close() -> true (idempotent)   __gc closes, __tostring "sqlite.conn(path)"
 *
 * exec/query/insert_rows take exactly one statement with `?` placeholders.  params is
 * an array whose length is params.n if set, else #params; it must match the statement's
 * placeholder count (a mismatch raises).  Binding: a number binds as int64 when it is
 * integral and |x| < 2^53, else as a double; a string as text of its Lua length (NULs
 * kept); a boolean as 1/0; nil (a hole below n) and null as NULL; anything else raises
 * an argument error naming the parameter (-0.0 is integral: it binds as 0).  Results:
 * INTEGER (exact below 2^53) and REAL -> number, TEXT and BLOB -> string, NULL -> null,
 * so a row has a key for every column; of two columns with one name the later wins.
 *
 * Error codes: ECONSTRAINT, EBUSY (busy/locked), ESQL (SQLITE_ERROR: syntax, missing
 * table, more than one statement), EIO (I/O, corrupt, full, cantopen, notadb,
 * readonly), ECLOSED (any method after close), else EDB.
 *
 * Ownership: the userdata owns the sqlite3 handle, the path (stored inline) and a
 * cache of up to 64 prepared statements keyed by SQL text (each key a malloc'd copy),
 * least recently used evicted and finalized.  close and __gc finalize every cached
 * statement and close the handle; nothing else holds them.  Bound strings are bound
 * SQLITE_STATIC (no copy): they live in the caller's params table, which stays on the
 * Lua stack until the statement is reset and its bindings cleared, before every
 * return or raise. */
#ifndef AU_STORE_SQLITE_H
#define AU_STORE_SQLITE_H

#include <lua.h>

int luaopen_alluse_core_sqlite(lua_State *L);

/* The error code (above) of an SQLite result code; also used by store/writer.c. */
const char *au_sqlite_code(int rc);

#endif
