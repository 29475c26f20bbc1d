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

#include <libpq-fe.h>
#include <lua.h>
#include <stddef.h>

int luaopen_alluse_core_pg(lua_State *L);

/* Shared with store/writer.c: the code (ECONSTRAINT, ETIMEDOUT, ...) of a SQLSTATE
 * (NULL gives EDB), and a number as text PostgreSQL reads back to the same value
 * (buf holds at least 32 bytes). */
const char *au_pg_code(const char *sqlstate);
void au_pg_number_text(double x, char *buf);

/* A COPY ... FROM STDIN text stream (PQputCopyData in 64 KiB pieces); `failed` is set
 * when a piece could not be sent.  Set conn, len = 0 and failed = 0 before use. */
typedef struct au_pg_copy {
    PGconn *conn;
    size_t len;
    int failed;
    char data[65536];
} au_pg_copy;

void au_pg_copy_put(au_pg_copy *b, const char *s, size_t n);
void au_pg_copy_escaped(au_pg_copy *b, const char *s, size_t len); /* \\ \t \n \r escaped */
void au_pg_copy_flush(au_pg_copy *b);

#endif
