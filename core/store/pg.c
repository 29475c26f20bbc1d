/* pg.c — alluse.core.pg; see pg.h.
 *
 * Error contract (DESIGN §3): a bad argument raises; a failure of the server, the
 * network or the statement returns nil, a one-line message and a stable code:
 *   ECONSTRAINT  SQLSTATE class 23 (unique, foreign key, not null, check)
 *   ETIMEDOUT    57014 (statement_timeout or a cancel)
 *   ECONNECTION  the connection is down (class 08, 57P01..57P03, or PQstatus bad)
 *   ESQL         class 42 (syntax, undefined table or column), 22 (bad data)
 *   EBUSY        40001 / 40P01 (serialization failure, deadlock): retry the transaction
 *   ECLOSED      the connection was closed by close()
 *   EDB          anything else
 * Messages never contain the connection string (it may hold a password). */
#include <errno.h>
#include <lauxlib.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/modules.h"
#include "store/pg.h"

#define CONN_MT "alluse.pg.conn"
#define NUM_TEXT 32          /* "%.17g" of a double fits in 25 */
#define PIPELINE_CHUNK 1000  /* rows sent before reading their results back */

/* PostgreSQL's built-in type OIDs (catalog/pg_type_d.h; stable across versions). */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26,
       OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_NUMERIC = 1700 };

typedef struct pg_conn {
    PGconn *conn;
} pg_conn;

/* ---- errors ---- */

/* Copies s into out as one line: newlines and tabs become single spaces, trailing
 * space dropped.  libpq's messages span lines ("...failed: refused\n\tIs the..."). */
static void one_line(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    int space = 0;
    for (; *s && n + 1 < cap; s++) {
        if (*s == '\n' || *s == '\t' || *s == '\r' || *s == ' ') {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < cap) out[n++] = ' ';
        space = 0;
        out[n++] = *s;
    }
    out[n] = 0;
}

const char *au_pg_code(const char *st)
{
    if (!st) return "EDB";
    if (strncmp(st, "23", 2) == 0) return "ECONSTRAINT";
    if (strcmp(st, "57014") == 0) return "ETIMEDOUT";
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P0", 4) == 0) return "ECONNECTION";
    if (strncmp(st, "42", 2) == 0 || strncmp(st, "22", 2) == 0) return "ESQL";
    if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0) return "EBUSY";
    return "EDB";
}

static int push_fail(lua_State *L, const char *msg, const char *code)
{
    char line[1024];
    one_line(msg, line, sizeof line);
    lua_pushnil(L);
    lua_pushfstring(L, "postgres: %s", line[0] ? line : "unknown error");
    lua_pushstring(L, code);
    return 3;
}

/* The failure of a connection-level call (send, flush, consume, connect). */
static int push_conn_fail(lua_State *L, PGconn *c)
{
    const char *code = PQstatus(c) == CONNECTION_BAD ? "ECONNECTION" : "EDB";
    return push_fail(L, PQerrorMessage(c), code);
}

/* The failure of a statement: the primary message with its detail, and the code
 * from its SQLSTATE; a result that is missing or has no SQLSTATE is a lost
 * connection when libpq says the connection is bad. */
static int push_result_fail(lua_State *L, PGconn *c, const PGresult *r)
{
    if (!r) return push_conn_fail(L, c);
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
    const char *code = st ? au_pg_code(st) : (PQstatus(c) == CONNECTION_BAD ? "ECONNECTION" : "EDB");
    char msg[1024];
    if (primary)
        snprintf(msg, sizeof msg, "%s%s%s%s", primary, detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
    else
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(c));
    return push_fail(L, msg, code);
}

/* ---- parameters ---- */

/* A number as PostgreSQL reads it back to the same value: integers exactly, other
 * doubles with 17 significant digits. */
void au_pg_number_text(double x, char *buf)
{
    if (x != x) { strcpy(buf, "NaN"); return; }
    if (isinf(x)) { strcpy(buf, x > 0 ? "Infinity" : "-Infinity"); return; }
    if (x == floor(x) && fabs(x) < 9007199254740992.0)
        snprintf(buf, NUM_TEXT, "%lld", (long long)x);
    else
        snprintf(buf, NUM_TEXT, "%.17g", x);
}

static int params_len(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx)) return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "n");
    int n = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : (int)lua_objlen(L, idx);
    lua_pop(L, 1);
    if (n < 0 || n > 65535) luaL_error(L, "postgres: %d parameters (0..65535)", n);
    return n;
}

/* Params of a call: the text of each value, NULL for SQL NULL.  Strings point into
 * Lua strings kept alive by the params table at idx (for the call's duration);
 * numbers are written into scratch owned by a userdata left on the stack. */
typedef struct params {
    int n;
    const char **values;
} params;

static void value_text(lua_State *L, int vidx, int pos, char *numbuf, const char **out, const char *what)
{
    switch (lua_type(L, vidx)) {
    case LUA_TNIL: *out = NULL; break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, vidx) != NULL) luaL_error(L, "postgres: %s %d is a userdata", what, pos);
        *out = NULL;
        break;
    case LUA_TNUMBER: au_pg_number_text(lua_tonumber(L, vidx), numbuf); *out = numbuf; break;
    case LUA_TBOOLEAN: *out = lua_toboolean(L, vidx) ? "t" : "f"; break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, vidx, &len);
        if (memchr(s, 0, len)) luaL_error(L, "postgres: %s %d holds a NUL byte (text cannot)", what, pos);
        *out = s;
        break;
    }
    default:
        luaL_error(L, "postgres: %s %d is a %s (number, string, boolean or null)", what, pos,
                   luaL_typename(L, vidx));
    }
}

/* Reads the array at idx into p; pushes one scratch userdata. */
static void read_params(lua_State *L, int idx, int n, params *p, const char *what)
{
    size_t sz = (size_t)n * (sizeof(char *) + NUM_TEXT);
    char *mem = lua_newuserdata(L, sz ? sz : 1);
    p->n = n;
    p->values = (const char **)mem;
    char *nums = mem + (size_t)n * sizeof(char *);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        value_text(L, -1, i + 1, nums + (size_t)i * NUM_TEXT, &p->values[i], what);
        lua_pop(L, 1); /* the string stays reachable from the params table */
    }
}

/* Checks every value of rows[1..nrows][1..ncols] before any byte goes to the server:
 * raising halfway through a pipeline or a COPY would leave the connection in it. */
static void check_rows(lua_State *L, int idx, int nrows, int ncols)
{
    char num[NUM_TEXT];
    const char *v;
    for (int i = 1; i <= nrows; i++) {
        lua_rawgeti(L, idx, i);
        if (!lua_istable(L, -1)) luaL_error(L, "postgres: row %d is a %s, not a table", i, luaL_typename(L, -1));
        for (int j = 1; j <= ncols; j++) {
            lua_rawgeti(L, -1, j);
            if (lua_type(L, -1) != LUA_TSTRING) value_text(L, -1, j, num, &v, "value");
            else if (memchr(lua_tostring(L, -1), 0, lua_objlen(L, -1)))
                luaL_error(L, "postgres: row %d value %d holds a NUL byte (text cannot)", i, j);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
}

/* ---- results ---- */

static void push_value(lua_State *L, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) { lua_pushlightuserdata(L, NULL); return; }
    const char *s = PQgetvalue(r, row, col);
    switch (PQftype(r, col)) {
    case OID_BOOL: lua_pushboolean(L, s[0] == 't'); break;
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
        lua_pushnumber(L, (lua_Number)strtoll(s, NULL, 10));
        break;
    case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC: lua_pushnumber(L, strtod(s, NULL)); break;
    default: lua_pushlstring(L, s, (size_t)PQgetlength(r, row, col));
    }
}

/* Pushes rows (array of name -> value tables), columns (array of names) and the
 * affected-row count of a command. */
static int push_result(lua_State *L, const PGresult *r)
{
    int nrows = PQntuples(r), ncols = PQnfields(r);
    lua_createtable(L, nrows, 0);
    int rows = lua_gettop(L);
    lua_createtable(L, ncols, 0);
    int cols = lua_gettop(L);
    for (int c = 0; c < ncols; c++) {
        lua_pushstring(L, PQfname(r, c));
        lua_rawseti(L, cols, c + 1);
    }
    for (int i = 0; i < nrows; i++) {
        lua_createtable(L, 0, ncols);
        for (int c = 0; c < ncols; c++) {
            lua_rawgeti(L, cols, c + 1);
            push_value(L, r, i, c);
            lua_rawset(L, -3);
        }
        lua_rawseti(L, rows, i + 1);
    }
    const char *t = PQcmdTuples((PGresult *)r);
    lua_pushnumber(L, t[0] ? strtod(t, NULL) : 0);
    return 3;
}

static int result_ok(const PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* ---- the connection ---- */

static pg_conn *check_conn(lua_State *L)
{
    return luaL_checkudata(L, 1, CONN_MT);
}

#define OPEN_OR_RETURN(L, pc) \
    do { if (!(pc)->conn) { lua_pushnil(L); lua_pushliteral(L, "postgres: connection is closed"); \
                            lua_pushliteral(L, "ECLOSED"); return 3; } } while (0)

/* Server notices ("relation already exists, skipping") are not errors; a library
 * must not print them on the user's terminal. */
static void quiet_notice(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res;
}

static pg_conn *new_conn(lua_State *L, PGconn *c)
{
    pg_conn *pc = lua_newuserdata(L, sizeof *pc);
    pc->conn = c;
    luaL_getmetatable(L, CONN_MT);
    lua_setmetatable(L, -2);
    PQsetNoticeReceiver(c, quiet_notice, NULL);
    return pc;
}

/* pg.connect(conninfo) -> conn | nil, message, code  (blocking) */
static int l_connect(lua_State *L)
{
    const char *info = luaL_checkstring(L, 1);
    PGconn *c = PQconnectdb(info);
    if (!c) return push_fail(L, "out of memory", "EDB");
    if (PQstatus(c) != CONNECTION_OK) {
        int n = push_fail(L, PQerrorMessage(c), "ECONNECTION");
        PQfinish(c);
        return n;
    }
    new_conn(L, c);
    return 1;
}

/* pg.connect_start(conninfo) -> conn | nil, message, code: the non-blocking connect;
 * drive it with conn:connect_poll() when conn:socket() is ready. */
static int l_connect_start(lua_State *L)
{
    const char *info = luaL_checkstring(L, 1);
    PGconn *c = PQconnectStart(info);
    if (!c) return push_fail(L, "out of memory", "EDB");
    if (PQstatus(c) == CONNECTION_BAD) {
        int n = push_fail(L, PQerrorMessage(c), "ECONNECTION");
        PQfinish(c);
        return n;
    }
    new_conn(L, c);
    return 1;
}

/* conn:connect_poll() -> "read" | "write" | "ok" | nil, message, code */
static int l_connect_poll(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    switch (PQconnectPoll(pc->conn)) {
    case PGRES_POLLING_READING: lua_pushliteral(L, "read"); return 1;
    case PGRES_POLLING_WRITING: lua_pushliteral(L, "write"); return 1;
    case PGRES_POLLING_OK: lua_pushliteral(L, "ok"); return 1;
    default: return push_conn_fail(L, pc->conn);
    }
}

/* Runs one statement and pushes its result (rows, columns, affected) or a failure. */
static int run(lua_State *L, pg_conn *pc, int results_wanted)
{
    const char *sql = luaL_checkstring(L, 2);
    int n = params_len(L, 3);
    params p = {0, NULL};
    if (n > 0) read_params(L, 3, n, &p, "parameter");
    PGresult *r = PQexecParams(pc->conn, sql, n, NULL, p.values, NULL, NULL, 0);
    if (!result_ok(r)) {
        int k = push_result_fail(L, pc->conn, r);
        PQclear(r);
        return k;
    }
    push_result(L, r);
    PQclear(r);
    if (results_wanted == 1) { /* exec: just the count */
        lua_replace(L, -3);
        lua_pop(L, 1);
        return 1;
    }
    lua_pop(L, 1); /* query: rows, columns */
    return 2;
}

/* conn:exec(sql [, params]) -> affected | nil, message, code */
static int l_exec(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    return run(L, pc, 1);
}

/* conn:query(sql [, params]) -> rows, columns | nil, message, code */
static int l_query(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    return run(L, pc, 2);
}

/* conn:exec_script(sql) -> true | nil, message, code: several statements, no params. */
static int l_exec_script(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    const char *sql = luaL_checkstring(L, 2);
    PGresult *r = PQexec(pc->conn, sql);
    if (!result_ok(r)) {
        int k = push_result_fail(L, pc->conn, r);
        PQclear(r);
        return k;
    }
    PQclear(r);
    lua_pushboolean(L, 1);
    return 1;
}

/* Reads the results of a pipeline chunk of `count` queries and its sync.  Returns 0
 * or the 1-based query (within the chunk) of the first failure, its result kept in
 * *err for the caller to report and clear.  Each query's results end with a NULL;
 * the queries after a failure come back PGRES_PIPELINE_ABORTED. */
static int drain_chunk(PGconn *c, int count, PGresult **err)
{
    int failed = 0;
    for (int i = 0; i < count && PQstatus(c) == CONNECTION_OK; i++) {
        PGresult *r;
        while ((r = PQgetResult(c)) != NULL) {
            if (!result_ok(r) && !failed) {
                failed = i + 1;
                *err = r;
            } else {
                PQclear(r);
            }
        }
    }
    while (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQgetResult(c);
        if (!r) continue;
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC) break;
    }
    if (!failed && PQstatus(c) != CONNECTION_OK) failed = -1;
    return failed;
}

/* conn:insert_rows(sql, rows [, ncols]) -> count | nil, message, code.  One statement
 * per row, sent in pipeline mode (one round trip per PIPELINE_CHUNK rows).  Runs
 * inside the caller's transaction; a failure names the row. */
static int l_insert_rows(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    const char *sql = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    int nrows = (int)lua_objlen(L, 3);
    int ncols = (int)luaL_optinteger(L, 4, -1);
    PGconn *c = pc->conn;
    if (nrows == 0) { lua_pushnumber(L, 0); return 1; }
    PQsetnonblocking(c, 0); /* send() may have left it non-blocking: this path waits */

    PGresult *prep = PQprepare(c, "", sql, 0, NULL);
    if (!result_ok(prep)) {
        int k = push_result_fail(L, c, prep);
        PQclear(prep);
        return k;
    }
    PQclear(prep);
    if (ncols < 0) {
        PGresult *d = PQdescribePrepared(c, "");
        ncols = d ? PQnparams(d) : 0;
        PQclear(d);
    }
    check_rows(L, 3, nrows, ncols);
    if (!PQenterPipelineMode(c)) return push_conn_fail(L, c);
    size_t sz = (size_t)ncols * (sizeof(char *) + NUM_TEXT);
    char *mem = lua_newuserdata(L, sz ? sz : 1);
    const char **values = (const char **)mem;
    char *nums = mem + (size_t)ncols * sizeof(char *);
    int sent = 0, base = 0, lost = 0;
    for (int i = 1; i <= nrows && !lost; i++) {
        lua_rawgeti(L, 3, i);
        if (!lua_istable(L, -1)) {
            PQexitPipelineMode(c);
            return luaL_error(L, "postgres: insert_rows: row %d is not a table", i);
        }
        for (int j = 0; j < ncols; j++) {
            lua_rawgeti(L, -1, j + 1);
            value_text(L, -1, j + 1, nums + (size_t)j * NUM_TEXT, &values[j], "value");
            lua_pop(L, 1);
        }
        int okq = PQsendQueryPrepared(c, "", ncols, values, NULL, NULL, 0);
        lua_pop(L, 1);
        if (!okq) { lost = 1; break; }
        sent++;
        if (sent - base == PIPELINE_CHUNK || i == nrows) {
            PGresult *err = NULL;
            if (!PQpipelineSync(c)) { lost = 1; break; }
            int bad = drain_chunk(c, sent - base, &err);
            if (bad < 0) { lost = 1; break; }
            if (bad) {
                char msg[1100];
                const char *primary = PQresultErrorField(err, PG_DIAG_MESSAGE_PRIMARY);
                const char *detail = PQresultErrorField(err, PG_DIAG_MESSAGE_DETAIL);
                const char *code = au_pg_code(PQresultErrorField(err, PG_DIAG_SQLSTATE));
                snprintf(msg, sizeof msg, "row %d: %s%s%s%s", base + bad, primary ? primary : "failed",
                         detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
                PQclear(err);
                PQexitPipelineMode(c);
                return push_fail(L, msg, code);
            }
            base = sent;
        }
    }
    if (lost) { /* a send or a read failed: the connection is gone */
        int k = push_conn_fail(L, c);
        PQexitPipelineMode(c);
        return k;
    }
    PQexitPipelineMode(c);
    lua_pushnumber(L, nrows);
    return 1;
}

static int pcheck_rows(lua_State *L)
{
    check_rows(L, 1, (int)lua_tointeger(L, 2), (int)lua_tointeger(L, 3));
    return 0;
}

/* ---- COPY text (shared with store/writer.c; see pg.h) ---- */

void au_pg_copy_flush(au_pg_copy *b)
{
    if (b->len > 0 && !b->failed && PQputCopyData(b->conn, b->data, (int)b->len) != 1) b->failed = 1;
    b->len = 0;
}

void au_pg_copy_put(au_pg_copy *b, const char *s, size_t n)
{
    while (n > 0) {
        if (b->len == sizeof b->data) au_pg_copy_flush(b);
        size_t k = sizeof b->data - b->len;
        if (k > n) k = n;
        memcpy(b->data + b->len, s, k);
        b->len += k;
        s += k;
        n -= k;
    }
}

/* COPY's text format: backslash, tab, newline and carriage return escaped. */
void au_pg_copy_escaped(au_pg_copy *b, const char *s, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: continue;
        }
        au_pg_copy_put(b, s + run, i - run);
        au_pg_copy_put(b, esc, 2);
        run = i + 1;
    }
    au_pg_copy_put(b, s + run, len - run);
}

/* conn:copy_rows("COPY t (a, b) FROM STDIN", rows [, ncols]) -> count | nil, message, code.
 * Bulk load in COPY text format; rows is an array of arrays.  Inside the caller's
 * transaction when there is one. */
static int l_copy_rows(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    const char *sql = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    int nrows = (int)lua_objlen(L, 3);
    int ncols = (int)luaL_optinteger(L, 4, -1);
    PGconn *c = pc->conn;
    PQsetnonblocking(c, 0); /* PQputCopyData must not return "would block" here */
    PGresult *r = PQexec(c, sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        int k = result_ok(r) ? push_fail(L, "copy_rows: the statement is not COPY ... FROM STDIN", "ESQL")
                             : push_result_fail(L, c, r);
        PQclear(r);
        return k;
    }
    if (ncols < 0) ncols = PQnfields(r);
    PQclear(r);
    /* A bad value must not raise inside COPY: end it first, then raise. */
    lua_pushcfunction(L, pcheck_rows);
    lua_pushvalue(L, 3);
    lua_pushinteger(L, nrows);
    lua_pushinteger(L, ncols);
    if (lua_pcall(L, 3, 0, 0) != 0) {
        PQputCopyEnd(c, "bad value");
        while ((r = PQgetResult(c)) != NULL) PQclear(r);
        return lua_error(L);
    }
    au_pg_copy *b = lua_newuserdata(L, sizeof *b);
    b->conn = c;
    b->len = 0;
    b->failed = 0;
    char num[NUM_TEXT];
    for (int i = 1; i <= nrows && !b->failed; i++) {
        lua_rawgeti(L, 3, i);
        for (int j = 1; j <= ncols; j++) {
            if (j > 1) au_pg_copy_put(b, "\t", 1);
            lua_rawgeti(L, -1, j);
            if (lua_type(L, -1) == LUA_TSTRING) {
                size_t len;
                const char *v = lua_tolstring(L, -1, &len);
                au_pg_copy_escaped(b, v, len);
            } else {
                const char *v;
                value_text(L, -1, j, num, &v, "value"); /* checked above: does not raise */
                if (v) au_pg_copy_put(b, v, strlen(v));
                else au_pg_copy_put(b, "\\N", 2);
            }
            lua_pop(L, 1);
        }
        au_pg_copy_put(b, "\n", 1);
        lua_pop(L, 1);
    }
    au_pg_copy_flush(b);
    if (PQputCopyEnd(c, NULL) != 1) b->failed = 1;
    r = PQgetResult(c);
    int k;
    if (b->failed || !result_ok(r)) {
        k = push_result_fail(L, c, r);
    } else {
        lua_pushnumber(L, nrows);
        k = 1;
    }
    PQclear(r);
    while ((r = PQgetResult(c)) != NULL) PQclear(r);
    return k;
}

/* ---- the non-blocking steps (a coroutine drives them from the loop) ---- */

/* conn:send(sql [, params]) -> true | nil, message, code.  Switches the connection to
 * non-blocking mode; flush() until 0, then wait for the socket and consume(). */
static int l_send(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    const char *sql = luaL_checkstring(L, 2);
    int n = params_len(L, 3);
    params p = {0, NULL};
    if (n > 0) read_params(L, 3, n, &p, "parameter");
    if (!PQisnonblocking(pc->conn) && PQsetnonblocking(pc->conn, 1) != 0) return push_conn_fail(L, pc->conn);
    if (!PQsendQueryParams(pc->conn, sql, n, NULL, p.values, NULL, NULL, 0)) return push_conn_fail(L, pc->conn);
    lua_pushboolean(L, 1);
    return 1;
}

/* conn:flush() -> 0 (all sent) | 1 (wait until writable and flush again) | nil, ... */
static int l_flush(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    int r = PQflush(pc->conn);
    if (r < 0) return push_conn_fail(L, pc->conn);
    lua_pushinteger(L, r);
    return 1;
}

/* conn:consume() -> busy (boolean) | nil, message, code: reads what the socket holds. */
static int l_consume(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    if (!PQconsumeInput(pc->conn)) return push_conn_fail(L, pc->conn);
    lua_pushboolean(L, PQisBusy(pc->conn));
    return 1;
}

/* conn:next_result() -> true, rows, columns, affected | false (no more) | nil, message,
 * code.  Call only while consume() says not busy. */
static int l_next_result(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    PGresult *r = PQgetResult(pc->conn);
    if (!r) { lua_pushboolean(L, 0); return 1; }
    if (!result_ok(r)) {
        int k = push_result_fail(L, pc->conn, r);
        PQclear(r);
        return k;
    }
    lua_pushboolean(L, 1);
    push_result(L, r);
    PQclear(r);
    return 4;
}

/* conn:busy() -> boolean: would next_result() block? */
static int l_busy(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    lua_pushboolean(L, pc->conn ? PQisBusy(pc->conn) : 0);
    return 1;
}

/* conn:cancel() -> true | nil, message: asks the server to cancel the running statement. */
static int l_cancel(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    OPEN_OR_RETURN(L, pc);
    PGcancel *cn = PQgetCancel(pc->conn);
    char buf[256];
    int ok = cn && PQcancel(cn, buf, sizeof buf);
    if (cn) PQfreeCancel(cn);
    if (!ok) return push_fail(L, cn ? buf : "cannot cancel", "EDB");
    lua_pushboolean(L, 1);
    return 1;
}

static int l_socket(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    lua_pushinteger(L, pc->conn ? PQsocket(pc->conn) : -1);
    return 1;
}

/* conn:status() -> "ok" | "bad" | "closed" */
static int l_status(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    if (!pc->conn) lua_pushliteral(L, "closed");
    else if (PQstatus(pc->conn) == CONNECTION_OK) lua_pushliteral(L, "ok");
    else lua_pushliteral(L, "bad");
    return 1;
}

/* conn:transaction_status() -> "idle" | "active" | "intrans" | "inerror" | "unknown" */
static int l_transaction_status(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    static const char *names[] = {"idle", "active", "intrans", "inerror", "unknown"};
    int st = pc->conn ? (int)PQtransactionStatus(pc->conn) : 4;
    lua_pushstring(L, names[st >= 0 && st <= 4 ? st : 4]);
    return 1;
}

static int l_server_version(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    lua_pushinteger(L, pc->conn ? PQserverVersion(pc->conn) : 0);
    return 1;
}

/* conn:ssl() -> true when the connection is encrypted, and the protocol ("TLSv1.3") */
static int l_ssl(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    int on = pc->conn && PQsslInUse(pc->conn);
    lua_pushboolean(L, on);
    if (!on) return 1;
    const char *proto = PQsslAttribute(pc->conn, "protocol");
    lua_pushstring(L, proto ? proto : "");
    return 2;
}

static int l_close(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    if (pc->conn) {
        PQfinish(pc->conn);
        pc->conn = NULL;
    }
    return 0;
}

static int l_tostring(lua_State *L)
{
    pg_conn *pc = check_conn(L);
    if (!pc->conn) { lua_pushliteral(L, "pg.conn(closed)"); return 1; }
    /* host, port and database only: never the user's password */
    lua_pushfstring(L, "pg.conn(%s:%s/%s)", PQhost(pc->conn), PQport(pc->conn), PQdb(pc->conn));
    return 1;
}

static int l_lib_version(lua_State *L)
{
    lua_pushinteger(L, PQlibVersion());
    return 1;
}

int luaopen_alluse_core_pg(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"exec", l_exec}, {"query", l_query}, {"exec_script", l_exec_script},
        {"insert_rows", l_insert_rows}, {"copy_rows", l_copy_rows},
        {"send", l_send}, {"flush", l_flush}, {"consume", l_consume}, {"next_result", l_next_result},
        {"busy", l_busy}, {"cancel", l_cancel}, {"socket", l_socket}, {"connect_poll", l_connect_poll},
        {"status", l_status}, {"transaction_status", l_transaction_status},
        {"server_version", l_server_version}, {"ssl", l_ssl}, {"close", l_close},
        {NULL, NULL},
    };
    luaL_newmetatable(L, CONN_MT);
    lua_createtable(L, 0, 20);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    static const luaL_Reg fns[] = {
        {"connect", l_connect}, {"connect_start", l_connect_start}, {"lib_version", l_lib_version},
        {NULL, NULL},
    };
    lua_createtable(L, 0, 4);
    luaL_register(L, NULL, fns);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
