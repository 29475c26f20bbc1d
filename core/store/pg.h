/* pg.h — alluse.core.pg: the PostgreSQL driver (libpq) through the Lua C API.
 *
 * One userdata per connection (metatable "alluse.pg.conn"); the userdata owns the
 * PGconn and closes it in close() or __gc.  Result sets are turned into Lua tables
 * and PQclear'ed before a method returns, so no PGresult outlives a call.
 *
 * The methods mirror alluse.core.sqlite's (exec, query, exec_script, insert_rows,
 * close), so alluse.store can sit over both; PostgreSQL adds copy_rows (COPY FROM
 * STDIN), and the non-blocking steps a coroutine drives from the libuv loop:
 * socket, send, flush, consume, busy, result, cancel, connect_start/connect_poll.
 *
 * Values: SQL NULL is the NULL lightuserdata (cjson.null); bool, the integer types,
 * float4/8 and numeric become Lua numbers and booleans by column type; everything
 * else is text.  Parameters go as text: an integral number below 2^53 as an
 * integer, any other number with 17 significant digits (exact for a double). */
#ifndef AU_STORE_PG_H
#define AU_STORE_PG_H

#include <lua.h>

int luaopen_alluse_core_pg(lua_State *L);

/* Shared with store/writer.c: the code (ECONSTRAINT, ETIMEDOUT, ...) of a SQLSTATE
 * (NULL gives EDB), and a number as text PostgreSQL reads back to the same value
 * (buf holds at least 32 bytes). */
const char *au_pg_code(const char *sqlstate);
void au_pg_number_text(double x, char *buf);

#endif
