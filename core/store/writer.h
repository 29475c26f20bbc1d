/* writer.h — alluse.core.dbwriter: a thread that commits batches of rows, so a run
 * keeps computing while its records are written (docs/storage.md, "Writing behind").
 *
 *   w = dbwriter.sqlite(path [, {synchronous = "full", busy_timeout_ms = 5000}])
 *   w = dbwriter.postgres(conninfo [, {statement_timeout = ms}])   -> w | nil, message, code
 *   ticket = w:submit(steps)      -- one transaction; nil, message, code after a failure
 *   ok = w:wait([ticket])         -- until that batch (default: all) is committed
 *   w:close()                     -- drains the queue, stops the thread
 *
 * A step is { sql, rows, ncols, mode }: mode "rows" runs sql (with `?`, or $n for
 * PostgreSQL) once per row of rows; "copy" (PostgreSQL) sends rows as COPY FROM STDIN
 * text to sql ("COPY t (a, b) FROM STDIN"); "exec" runs sql once, without rows.
 * Values: number (int64 when integral below 2^53, else double), string, boolean,
 * null (nil or the NULL lightuserdata); anything else raises in submit.
 *
 * submit copies every value into memory the batch owns, so the caller's tables may be
 * dropped at once; the thread runs BEGIN, the steps, COMMIT, and frees the batch.  The
 * first failure rolls its batch back and is kept: every later submit and wait returns
 * it, since the batches after it would no longer describe a consistent state.
 *
 * Ownership: the userdata points at a malloc'ed writer (its connection, queue, mutex,
 * condition variables and thread); close() or __gc joins the thread and frees it.  The
 * connection is opened on the caller's thread (so open errors come back at once) and
 * used only by the writer thread afterwards. */
#ifndef AU_STORE_WRITER_H
#define AU_STORE_WRITER_H

#include <lua.h>

int luaopen_alluse_core_dbwriter(lua_State *L);

#endif
