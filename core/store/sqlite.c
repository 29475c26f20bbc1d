/* sqlite.c — alluse.core.sqlite; sqlite.h has the Lua API, error codes and ownership.
 *
 * Every method that runs a statement follows one shape: look the SQL up in the
 * connection's statement cache (preparing it on a miss), bind, step, and release
 * (reset + clear bindings) before returning — on success, on an SQLite error and before
 * raising an argument error — so a cached statement never holds a read transaction
 * open or points at a Lua string that may be collected. */
#include <ctype.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite.h"

#define CONN_MT "alluse.core.sqlite.conn"
#define STMT_CACHE_SIZE 64
#define MSG_MAX 512
#define SNIPPET_MAX 80
#define DEFAULT_BUSY_MS 5000
/* Integers below 2^53 are exact in a double; larger integral numbers may already have
 * been rounded, so they go to SQLite as what they are, a double. */
#define EXACT_INT_LIMIT 9007199254740992.0

typedef struct cached_stmt {
    sqlite3_stmt *stmt; /* NULL: free slot */
    char *sql;          /* malloc'd copy of the key (the SQL text as the caller gave it) */
    size_t len;
    uint32_t hash;
    uint64_t last_used; /* conn.clock at the last hit; the smallest is evicted */
} cached_stmt;

typedef struct conn {
    sqlite3 *db; /* NULL once closed (or when open failed) */
    uint64_t clock;
    cached_stmt cache[STMT_CACHE_SIZE];
    char path[]; /* as given to open; kept for messages and __tostring */
} conn;

/* ---- errors ---- */

const char *au_sqlite_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return "ECONSTRAINT";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "EBUSY";
    case SQLITE_ERROR: return "ESQL";
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
    case SQLITE_READONLY: return "EIO";
    default: return "EDB";
    }
}

/* Pushes nil, message, code and returns 3.  Messages go into logs one per line, so any
 * line break SQLite quotes back from the SQL text becomes a space. */
__attribute__((format(printf, 3, 4)))
static int push_error(lua_State *L, int rc, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushstring(L, au_sqlite_code(rc));
    return 3;
}

static int push_closed(lua_State *L)
{
    lua_pushnil(L);
    lua_pushliteral(L, "sqlite: connection is closed");
    lua_pushliteral(L, "ECLOSED");
    return 3;
}

/* The start of the SQL on one line with whitespace runs collapsed, so a prepare error
 * says which statement it was about without quoting a whole migration. */
static void sql_snippet(char *out, size_t cap, const char *sql, size_t len)
{
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < len && o + 4 < cap; i++) {
        if (isspace((unsigned char)sql[i])) {
            space = o > 0;
            continue;
        }
        if (space) out[o++] = ' ';
        space = 0;
        out[o++] = sql[i];
        if (o >= SNIPPET_MAX && i + 1 < len) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
    }
    out[o] = '\0';
}

/* ---- statement cache ---- */

static void release(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* Reports the connection's last error for a statement that failed in step or bind.
 * The message is copied out before the reset, which may replace it. */
static int stmt_failed(lua_State *L, conn *c, sqlite3_stmt *stmt, int rc, int row)
{
    char msg[MSG_MAX];
    if (row > 0)
        snprintf(msg, sizeof msg, "sqlite: row %d: %s", row, sqlite3_errmsg(c->db));
    else
        snprintf(msg, sizeof msg, "sqlite: %s", sqlite3_errmsg(c->db));
    release(stmt);
    return push_error(L, rc, "%s", msg);
}

static uint32_t hash_sql(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Whether anything but whitespace and comments follows the first statement.  Only a
 * prepare can tell a trailing comment from a second statement; a tail that does not
 * even prepare is something more too. */
static int has_more_sql(sqlite3 *db, const char *tail, const char *end)
{
    while (tail < end && (isspace((unsigned char)*tail) || *tail == ';')) tail++;
    if (tail == end) return 0;
    sqlite3_stmt *next = NULL;
    int rc = sqlite3_prepare_v2(db, tail, (int)(end - tail), &next, NULL);
    sqlite3_finalize(next);
    return rc != SQLITE_OK || next != NULL;
}

/* The prepared statement for sql: from the cache, or prepared into a free slot or the
 * least recently used one (finalizing what was there).  64 slots scanned linearly cost
 * less than one step of the cheapest statement.  On failure pushes nil, message, code
 * and returns NULL. */
static sqlite3_stmt *prepare_cached(lua_State *L, conn *c, const char *sql, size_t len)
{
    uint32_t h = hash_sql(sql, len);
    cached_stmt *victim = &c->cache[0];
    c->clock++;
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        cached_stmt *e = &c->cache[i];
        if (e->stmt && e->hash == h && e->len == len && memcmp(e->sql, sql, len) == 0) {
            e->last_used = c->clock;
            return e->stmt;
        }
        if (!victim->stmt) continue; /* a free slot is the best victim */
        if (!e->stmt || e->last_used < victim->last_used) victim = e;
    }

    char snip[SNIPPET_MAX + 8];
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) {
        sql_snippet(snip, sizeof snip, sql, len);
        push_error(L, rc, "sqlite: %s (in: %s)", sqlite3_errmsg(c->db), snip);
        return NULL;
    }
    if (!stmt) {
        sql_snippet(snip, sizeof snip, sql, len);
        push_error(L, SQLITE_ERROR, "sqlite: no SQL statement in \"%s\"", snip);
        return NULL;
    }
    if (has_more_sql(c->db, tail, sql + len)) {
        sqlite3_finalize(stmt);
        sql_snippet(snip, sizeof snip, sql, len);
        push_error(L, SQLITE_ERROR, "sqlite: more than one statement (exec_script runs several) in: %s",
                   snip);
        return NULL;
    }
    char *key = malloc(len ? len : 1);
    if (!key) {
        sqlite3_finalize(stmt);
        push_error(L, SQLITE_NOMEM, "sqlite: out of memory");
        return NULL;
    }
    memcpy(key, sql, len);

    if (victim->stmt) {
        sqlite3_finalize(victim->stmt);
        free(victim->sql);
    }
    *victim = (cached_stmt){stmt, key, len, h, c->clock};
    return stmt;
}

/* ---- binding ---- */

/* Binds the Lua value at idx to parameter i.  Returns an SQLite code, or -1 when the
 * value has no SQL type.  Strings are bound without a copy: see sqlite.h. */
static int bind_value(lua_State *L, sqlite3_stmt *stmt, int i, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return sqlite3_bind_null(stmt, i);
    case LUA_TNUMBER: {
        double x = lua_tonumber(L, idx);
        if (x == floor(x) && fabs(x) < EXACT_INT_LIMIT) return sqlite3_bind_int64(stmt, i, (sqlite3_int64)x);
        return sqlite3_bind_double(stmt, i, x);
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return sqlite3_bind_text64(stmt, i, s, len, SQLITE_STATIC, SQLITE_UTF8);
    }
    case LUA_TBOOLEAN: return sqlite3_bind_int(stmt, i, lua_toboolean(L, idx));
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) return sqlite3_bind_null(stmt, i); /* json null */
        return -1;
    default: return -1;
    }
}

/* Binds t[1..n] (t a stack index) to parameters 1..n.  A value with no SQL type raises
 * an argument error against argument arg naming the parameter (and the row, for
 * insert_rows), after releasing the statement.  Returns an SQLite code. */
static int bind_array(lua_State *L, sqlite3_stmt *stmt, int t, int n, int arg, int row)
{
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, t, i);
        int rc = bind_value(L, stmt, i, -1);
        if (rc < 0) {
            const char *tname = luaL_typename(L, -1);
            release(stmt);
            if (row > 0)
                return luaL_argerror(L, arg, lua_pushfstring(L, "row %d, parameter %d: cannot bind a %s",
                                                             row, i, tname));
            return luaL_argerror(L, arg, lua_pushfstring(L, "parameter %d: cannot bind a %s", i, tname));
        }
        lua_pop(L, 1);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

/* The number of parameters in the params argument: params.n when set (so trailing nils
 * count), else #params. */
static int params_len(lua_State *L, int arg)
{
    if (lua_isnoneornil(L, arg)) return 0;
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_getfield(L, arg, "n");
    int n;
    if (lua_isnil(L, -1)) {
        n = (int)lua_objlen(L, arg);
    } else {
        double x = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || x != floor(x) || x < 0 || x > INT_MAX)
            return luaL_argerror(L, arg, "params.n must be a count");
        n = (int)x;
    }
    lua_pop(L, 1);
    return n;
}

/* A count that does not match the placeholders is a bug in the caller, not a runtime
 * failure: SQLite would silently leave the missing ones NULL. */
static void check_arity(lua_State *L, sqlite3_stmt *stmt, int n, int arg)
{
    int want = sqlite3_bind_parameter_count(stmt);
    if (n != want)
        luaL_argerror(L, arg, lua_pushfstring(L, "%d parameters for a statement with %d placeholders", n, want));
}

/* ---- methods ---- */

static conn *check_conn(lua_State *L)
{
    return luaL_checkudata(L, 1, CONN_MT);
}

static const char *check_sql(lua_State *L, int arg, size_t *len)
{
    const char *sql = luaL_checklstring(L, arg, len);
    luaL_argcheck(L, *len < INT_MAX && memchr(sql, '\0', *len) == NULL, arg, "SQL with a NUL byte or over 2 GB");
    return sql;
}

/* Prepares and binds sql with the params at stack index arg, for exec and query.
 * NULL: nil, message, code pushed. */
static sqlite3_stmt *prepare_bound(lua_State *L, conn *c, int arg)
{
    size_t len;
    const char *sql = check_sql(L, 2, &len);
    int n = params_len(L, arg);
    sqlite3_stmt *stmt = prepare_cached(L, c, sql, len);
    if (!stmt) return NULL;
    check_arity(L, stmt, n, arg);
    int rc = bind_array(L, stmt, arg, n, arg, 0);
    if (rc != SQLITE_OK) {
        stmt_failed(L, c, stmt, rc, 0);
        return NULL;
    }
    return stmt;
}

static int l_exec(lua_State *L)
{
    conn *c = check_conn(L);
    if (!c->db) return push_closed(L);
    sqlite3_stmt *stmt = prepare_bound(L, c, 3);
    if (!stmt) return 3;
    sqlite3_int64 before = sqlite3_total_changes64(c->db);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {}
    if (rc != SQLITE_DONE) return stmt_failed(L, c, stmt, rc, 0);
    /* changes() keeps the count of the last INSERT/UPDATE/DELETE, so after DDL, a SELECT
     * or BEGIN it would report an older statement's rows; the total moves only when
     * this statement changed something. */
    sqlite3_int64 changed = sqlite3_total_changes64(c->db) == before ? 0 : sqlite3_changes64(c->db);
    release(stmt);
    lua_pushnumber(L, (lua_Number)changed);
    return 1;
}

/* Pushes column i of the current row.  Returns 0, or -1 when SQLite ran out of memory
 * converting it (the only way TEXT comes back as NULL). */
static int push_column(lua_State *L, sqlite3_stmt *stmt, int i)
{
    switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER: lua_pushnumber(L, (lua_Number)sqlite3_column_int64(stmt, i)); return 0;
    case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(stmt, i)); return 0;
    case SQLITE_TEXT: {
        const unsigned char *s = sqlite3_column_text(stmt, i);
        if (!s) return -1;
        lua_pushlstring(L, (const char *)s, (size_t)sqlite3_column_bytes(stmt, i));
        return 0;
    }
    case SQLITE_BLOB: {
        const void *p = sqlite3_column_blob(stmt, i); /* NULL for an empty blob */
        int n = sqlite3_column_bytes(stmt, i);
        lua_pushlstring(L, p ? p : "", p ? (size_t)n : 0);
        return 0;
    }
    default: lua_pushlightuserdata(L, NULL); return 0;
    }
}

static int l_query(lua_State *L)
{
    conn *c = check_conn(L);
    if (!c->db) return push_closed(L);
    sqlite3_stmt *stmt = prepare_bound(L, c, 3);
    if (!stmt) return 3;

    /* Column names come after the first step: a schema change since the statement was
     * cached makes step re-prepare it, and SELECT * may then have other columns. */
    int rc = sqlite3_step(stmt);
    int ncol = sqlite3_column_count(stmt);
    lua_newtable(L);
    int rows = lua_gettop(L);
    lua_createtable(L, ncol, 0);
    int cols = rows + 1;
    for (int i = 0; i < ncol; i++) {
        const char *name = sqlite3_column_name(stmt, i);
        if (!name) return stmt_failed(L, c, stmt, SQLITE_NOMEM, 0);
        lua_pushstring(L, name);
        lua_rawseti(L, cols, i + 1);
    }

    for (int nrow = 1; rc == SQLITE_ROW; nrow++) {
        lua_createtable(L, 0, ncol);
        for (int i = 0; i < ncol; i++) {
            lua_rawgeti(L, cols, i + 1);
            if (push_column(L, stmt, i) != 0) return stmt_failed(L, c, stmt, SQLITE_NOMEM, 0);
            lua_rawset(L, -3);
        }
        lua_rawseti(L, rows, nrow);
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_DONE) return stmt_failed(L, c, stmt, rc, 0);
    release(stmt);
    return 2;
}

static int l_exec_script(lua_State *L)
{
    conn *c = check_conn(L);
    if (!c->db) return push_closed(L);
    size_t len;
    const char *sql = check_sql(L, 2, &len);
    char *err = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &err);
    if (rc == SQLITE_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    char msg[MSG_MAX];
    snprintf(msg, sizeof msg, "sqlite: %s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return push_error(L, rc, "%s", msg);
}

/* The bulk path: one statement stepped once per row with no Lua call in between.  The
 * caller owns the transaction; a failure stops at that row, leaving the earlier rows
 * for the caller's COMMIT or ROLLBACK. */
static int l_insert_rows(lua_State *L)
{
    conn *c = check_conn(L);
    if (!c->db) return push_closed(L);
    size_t len;
    const char *sql = check_sql(L, 2, &len);
    luaL_checktype(L, 3, LUA_TTABLE);
    sqlite3_stmt *stmt = prepare_cached(L, c, sql, len);
    if (!stmt) return 3;
    int nparam = sqlite3_bind_parameter_count(stmt);
    int ncols = (int)luaL_optinteger(L, 4, nparam);
    if (ncols != nparam)
        return luaL_argerror(L, 4, lua_pushfstring(L, "%d columns for a statement with %d placeholders",
                                                   ncols, nparam));

    int nrows = (int)lua_objlen(L, 3);
    for (int r = 1; r <= nrows; r++) {
        lua_rawgeti(L, 3, r);
        if (!lua_istable(L, -1)) {
            release(stmt);
            return luaL_argerror(L, 3, lua_pushfstring(L, "row %d is a %s, not an array", r,
                                                       luaL_typename(L, -1)));
        }
        int rc = bind_array(L, stmt, lua_gettop(L), ncols, 3, r);
        if (rc != SQLITE_OK) return stmt_failed(L, c, stmt, rc, r);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {}
        if (rc != SQLITE_DONE) return stmt_failed(L, c, stmt, rc, r);
        /* The bindings stay until the next row overwrites them all; the strings they
         * point at are still held by rows. */
        sqlite3_reset(stmt);
        lua_pop(L, 1);
    }
    release(stmt);
    lua_pushnumber(L, nrows);
    return 1;
}

static int l_last_insert_id(lua_State *L)
{
    conn *c = check_conn(L);
    if (!c->db) return push_closed(L);
    lua_pushnumber(L, (lua_Number)sqlite3_last_insert_rowid(c->db));
    return 1;
}

static int l_changes(lua_State *L)
{
    conn *c = check_conn(L);
    if (!c->db) return push_closed(L);
    lua_pushnumber(L, (lua_Number)sqlite3_changes64(c->db));
    return 1;
}

static void conn_close(conn *c)
{
    if (!c->db) return;
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        cached_stmt *e = &c->cache[i];
        if (!e->stmt) continue;
        sqlite3_finalize(e->stmt);
        free(e->sql);
        *e = (cached_stmt){0};
    }
    /* Every statement is finalized, so this closes now (and, as the last connection,
     * checkpoints and removes the -wal file); _v2 only guards against a leak here
     * turning into a failed close. */
    sqlite3_close_v2(c->db);
    c->db = NULL;
}

static int l_close(lua_State *L)
{
    conn_close(check_conn(L));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L)
{
    conn_close(check_conn(L));
    return 0;
}

static int l_tostring(lua_State *L)
{
    lua_pushfstring(L, "sqlite.conn(%s)", check_conn(L)->path);
    return 1;
}

/* ---- module ---- */

static const char *const SYNC_MODES[] = {"full", "normal", "off", NULL};
static const char *const OPTION_KEYS[] = {"busy_timeout_ms", "readonly", "synchronous", NULL};

typedef struct open_opts {
    int busy_ms;
    int readonly;
    const char *synchronous;
} open_opts;

static open_opts check_opts(lua_State *L, int arg)
{
    open_opts o = {DEFAULT_BUSY_MS, 0, "full"};
    if (lua_isnoneornil(L, arg)) return o;
    luaL_checktype(L, arg, LUA_TTABLE);
    /* A misspelt option would otherwise be silently ignored. */
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        int known = 0;
        for (int i = 0; k && OPTION_KEYS[i]; i++) known |= strcmp(k, OPTION_KEYS[i]) == 0;
        if (!known) luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", k ? k : luaL_typename(L, -1)));
    }
    lua_getfield(L, arg, "busy_timeout_ms");
    if (!lua_isnil(L, -1)) {
        double x = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || x != floor(x) || x < 0 || x > INT_MAX)
            luaL_argerror(L, arg, "busy_timeout_ms must be a whole number of milliseconds >= 0");
        o.busy_ms = (int)x;
    }
    lua_getfield(L, arg, "readonly");
    if (!lua_isnil(L, -1)) {
        luaL_argcheck(L, lua_isboolean(L, -1), arg, "readonly must be a boolean");
        o.readonly = lua_toboolean(L, -1);
    }
    lua_getfield(L, arg, "synchronous");
    if (!lua_isnil(L, -1)) {
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        int i = 0;
        while (SYNC_MODES[i] && strcmp(s, SYNC_MODES[i]) != 0) i++;
        luaL_argcheck(L, SYNC_MODES[i] != NULL, arg, "synchronous must be \"full\", \"normal\" or \"off\"");
        o.synchronous = SYNC_MODES[i];
    }
    lua_pop(L, 3);
    return o;
}

static int l_open(lua_State *L)
{
    size_t plen;
    const char *path = luaL_checklstring(L, 1, &plen);
    luaL_argcheck(L, memchr(path, '\0', plen) == NULL, 1, "path with a NUL byte");
    open_opts o = check_opts(L, 2);

    /* The userdata exists before the handle, so a raise from here on is closed by __gc. */
    conn *c = lua_newuserdata(L, sizeof *c + plen + 1);
    memset(c, 0, sizeof *c);
    memcpy(c->path, path, plen + 1);
    luaL_getmetatable(L, CONN_MT);
    lua_setmetatable(L, -2);

    int flags = (o.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(c->db, o.busy_ms);
        /* journal_mode reads the header, so a file that is not a database fails here
         * rather than at the first query; a readonly open reads the schema cookie for
         * the same reason (it cannot change the journal mode anyway).  A temporary or
         * in-memory database has no WAL. */
        int memory = plen == 0 || strcmp(path, ":memory:") == 0;
        char pragmas[160];
        snprintf(pragmas, sizeof pragmas, "%sPRAGMA synchronous=%s; PRAGMA foreign_keys=ON;",
                 o.readonly ? "PRAGMA schema_version; " : memory ? "" : "PRAGMA journal_mode=WAL; ",
                 o.synchronous);
        rc = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        char msg[MSG_MAX];
        snprintf(msg, sizeof msg, "%s", c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close_v2(c->db);
        c->db = NULL;
        return push_error(L, rc, "sqlite:%s: %s", path, msg);
    }
    return 1;
}

static int l_version(lua_State *L)
{
    lua_pushstring(L, sqlite3_libversion());
    return 1;
}

int luaopen_alluse_core_sqlite(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"exec", l_exec},
        {"query", l_query},
        {"exec_script", l_exec_script},
        {"insert_rows", l_insert_rows},
        {"last_insert_id", l_last_insert_id},
        {"changes", l_changes},
        {"close", l_close},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"open", l_open},
        {"version", l_version},
        {NULL, NULL},
    };
    luaL_newmetatable(L, CONN_MT);
    lua_createtable(L, 0, 7);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    lua_createtable(L, 0, 3);
    luaL_register(L, NULL, fns);
    lua_pushlightuserdata(L, NULL); /* the same value as cjson.null: all NULL lightuserdata are equal */
    lua_setfield(L, -2, "null");
    return 1;
}
