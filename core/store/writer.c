/* writer.c — alluse.core.dbwriter; see writer.h. */
#include <lauxlib.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/modules.h"
#include "store/pg.h"
#include "store/sqlite.h"
#include "store/writer.h"
#include "sys/json_encode.h"

#define WRITER_MT "alluse.dbwriter"
#define MSG_MAX 512

/* V_OBJ: a flat table written as a JSON object by the writer thread (the journal's
 * rows: encoding them is most of what storing them costs); u.i members follow it, each
 * a V_TEXT key and a scalar value.  V_BOOL binds as 1/0 and writes true/false. */
enum { V_NULL, V_INT, V_DOUBLE, V_TEXT, V_BOOL, V_OBJ };
enum { MODE_ROWS, MODE_COPY, MODE_EXEC };

/* A value: text points into the batch's text buffer by offset (the buffer grows while
 * the batch is built, so no pointer into it is kept until it is done). */
typedef struct wval {
    uint8_t type;
    uint32_t len;
    union {
        int64_t i;
        double d;
        size_t off;
    } u;
} wval;

typedef struct wstep {
    size_t sql_off;
    int mode, ncols, nrows;
    size_t first; /* index of the step's first value */
} wstep;

typedef struct wbatch {
    struct wbatch *next;
    long ticket;
    int nsteps;
    wstep *steps;
    wval *vals;
    size_t nvals, capvals;
    char *text;
    size_t ntext, captext;
} wbatch;

typedef struct writer {
    int is_pg;
    sqlite3 *db;
    PGconn *pg;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t work;   /* a batch was queued, or closing */
    pthread_cond_t done;   /* a batch finished */
    wbatch *head, *tail;
    long submitted, finished;
    int closing;
    int failed;
    long failed_ticket; /* the batch that failed: those before it are committed */
    char err[MSG_MAX];
    char code[16];
} writer;

typedef struct writer_box {
    writer *w;
} writer_box;

/* ---- building a batch (caller's thread) ---- */

static void batch_free(wbatch *b)
{
    if (!b) return;
    free(b->steps);
    free(b->vals);
    free(b->text);
    free(b);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return 0;
    *p = q;
    *cap = n;
    return 1;
}

static int add_text(wbatch *b, const char *s, size_t len, size_t *off)
{
    if (!grow((void **)&b->text, &b->captext, b->ntext + len + 1, 1)) return 0;
    memcpy(b->text + b->ntext, s, len);
    b->text[b->ntext + len] = 0;
    *off = b->ntext;
    b->ntext += len + 1;
    return 1;
}

static int add_object(lua_State *L, wbatch *b, int idx);

/* Appends the value at stack index idx; 0 on a bad type (out of memory raises). */
static int add_value(lua_State *L, wbatch *b, int idx)
{
    if (!grow((void **)&b->vals, &b->capvals, b->nvals + 1, sizeof(wval))) luaL_error(L, "dbwriter: out of memory");
    wval *v = &b->vals[b->nvals];
    switch (lua_type(L, idx)) {
    case LUA_TNIL: v->type = V_NULL; break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL) return 0;
        v->type = V_NULL;
        break;
    case LUA_TBOOLEAN: v->type = V_BOOL; v->u.i = lua_toboolean(L, idx); break;
    case LUA_TNUMBER: {
        double x = lua_tonumber(L, idx);
        if (x == floor(x) && fabs(x) < 9007199254740992.0) { v->type = V_INT; v->u.i = (int64_t)x; }
        else { v->type = V_DOUBLE; v->u.d = x; }
        break;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        size_t off;
        if (!add_text(b, s, len, &off)) luaL_error(L, "dbwriter: out of memory");
        v = &b->vals[b->nvals]; /* add_text does not move vals, but be plain about it */
        v->type = V_TEXT;
        v->len = (uint32_t)len;
        v->u.off = off;
        break;
    }
    case LUA_TTABLE: return add_object(L, b, idx);
    default: return 0;
    }
    b->nvals++;
    return 1;
}

/* A flat table (string keys, scalar values) as V_OBJ and its members; 0 when a key is
 * not a string or a value is not a scalar. */
static int add_object(lua_State *L, wbatch *b, int idx)
{
    size_t head = b->nvals;
    b->vals[head].type = V_OBJ;
    b->vals[head].u.i = 0;
    b->nvals++;
    int64_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        int vt = lua_type(L, -1);
        if (lua_type(L, -2) != LUA_TSTRING || vt == LUA_TTABLE || vt == LUA_TFUNCTION || vt == LUA_TUSERDATA
            || vt == LUA_TTHREAD) {
            lua_pop(L, 2);
            return 0;
        }
        lua_pushvalue(L, -2); /* the key, copied: lua_next needs the original untouched */
        int ok = add_value(L, b, lua_gettop(L));
        lua_pop(L, 1);
        if (!ok || !add_value(L, b, lua_gettop(L))) {
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);
        n++;
    }
    b->vals[head].u.i = n;
    return 1;
}

static const char *MODES[] = {"rows", "copy", "exec", NULL};

/* A step given by columns instead of rows (no table per row for the caller to make):
 * step.columns[c] is { from = array, at = first index [, field = name] } (row r takes
 * from[at + r - 1], or that value's field), { seq = first } (first + r - 1), or a
 * constant; step.n rows.  Returns 1 (raises on bad input). */
static int add_columns(lua_State *L, wbatch *b, wstep *s, int st, int cols, int step)
{
    lua_getfield(L, st, "n");
    s->nrows = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (s->ncols <= 0 || (int)lua_objlen(L, cols) != s->ncols)
        return luaL_error(L, "dbwriter: step %d: columns must list ncols columns", step);
    enum { C_CONST, C_ARRAY, C_FIELD, C_SEQ };
    int kind[64], base = lua_gettop(L);
    double seq[64];
    int at[64];
    if (s->ncols > 64) return luaL_error(L, "dbwriter: step %d: more than 64 columns", step);
    luaL_checkstack(L, 2 * s->ncols + 8, "dbwriter: columns");
    /* stack: base+c = the column's source (array or constant), base+ncols+c = field name */
    for (int c = 1; c <= s->ncols; c++) {
        lua_rawgeti(L, cols, c);
        kind[c - 1] = C_CONST;
        lua_pushnil(L);
        if (lua_istable(L, -2)) {
            lua_getfield(L, -2, "seq");
            if (lua_isnumber(L, -1)) {
                kind[c - 1] = C_SEQ;
                seq[c - 1] = lua_tonumber(L, -1);
                lua_pop(L, 1);
            } else {
                lua_pop(L, 1);
                lua_getfield(L, -2, "at");
                at[c - 1] = (int)lua_tointeger(L, -1);
                lua_pop(L, 1);
                lua_getfield(L, -2, "field");
                lua_replace(L, -2);
                kind[c - 1] = lua_isnil(L, -1) ? C_ARRAY : C_FIELD;
                lua_getfield(L, -2, "from");
                lua_replace(L, -3);
                if (!lua_istable(L, -2)) return luaL_error(L, "dbwriter: step %d column %d: from must be an array", step, c);
            }
        }
    }
    for (int r = 0; r < s->nrows; r++) {
        for (int c = 0; c < s->ncols; c++) {
            int src = base + 1 + 2 * c;
            switch (kind[c]) {
            case C_SEQ: lua_pushnumber(L, seq[c] + r); break;
            case C_CONST: lua_pushvalue(L, src); break;
            case C_ARRAY: lua_rawgeti(L, src, at[c] + r); break;
            default:
                lua_rawgeti(L, src, at[c] + r);
                if (lua_istable(L, -1)) {
                    lua_pushvalue(L, src + 1);
                    lua_rawget(L, -2);
                    lua_replace(L, -2);
                }
            }
            if (!add_value(L, b, lua_gettop(L)))
                return luaL_error(L, "dbwriter: step %d row %d value %d is a %s (number, string, boolean or null)",
                                  step, r + 1, c + 1, luaL_typename(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_settop(L, base);
    return 1;
}

/* Copies steps (the table at idx) into a new batch; raises on bad input, freeing it. */
static int build_batch(lua_State *L)
{
    wbatch *b = lua_touserdata(L, 2);
    int n = (int)lua_objlen(L, 1);
    b->steps = calloc((size_t)(n ? n : 1), sizeof(wstep));
    if (!b->steps) return luaL_error(L, "dbwriter: out of memory");
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        int st = lua_gettop(L);
        if (!lua_istable(L, st)) return luaL_error(L, "dbwriter: step %d is not a table", i);
        wstep *s = &b->steps[b->nsteps];
        lua_rawgeti(L, st, 1);
        size_t len;
        const char *sql = lua_tolstring(L, -1, &len);
        if (!sql) return luaL_error(L, "dbwriter: step %d has no SQL", i);
        if (!add_text(b, sql, len, &s->sql_off)) return luaL_error(L, "dbwriter: out of memory");
        lua_pop(L, 1);
        lua_rawgeti(L, st, 4);
        const char *mode = lua_isnil(L, -1) ? "rows" : lua_tostring(L, -1);
        s->mode = -1;
        for (int m = 0; MODES[m]; m++) if (mode && strcmp(mode, MODES[m]) == 0) s->mode = m;
        if (s->mode < 0) return luaL_error(L, "dbwriter: step %d: mode must be rows, copy or exec", i);
        lua_pop(L, 1);
        lua_rawgeti(L, st, 3);
        s->ncols = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        s->first = b->nvals;
        lua_getfield(L, st, "columns");
        if (lua_istable(L, -1)) {
            int rc = add_columns(L, b, s, st, lua_gettop(L), i);
            lua_pop(L, 2);
            if (rc) b->nsteps++;
            continue;
        }
        lua_pop(L, 1);
        lua_rawgeti(L, st, 2);
        int rows = lua_gettop(L);
        s->nrows = lua_istable(L, rows) ? (int)lua_objlen(L, rows) : 0;
        if (s->mode != MODE_EXEC && s->ncols <= 0 && s->nrows > 0)
            return luaL_error(L, "dbwriter: step %d: ncols must be positive", i);
        for (int r = 1; r <= s->nrows; r++) {
            lua_rawgeti(L, rows, r);
            if (!lua_istable(L, -1)) return luaL_error(L, "dbwriter: step %d row %d is not a table", i, r);
            for (int c = 1; c <= s->ncols; c++) {
                lua_rawgeti(L, -1, c);
                if (!add_value(L, b, lua_gettop(L)))
                    return luaL_error(L, "dbwriter: step %d row %d value %d is a %s (number, string, boolean or null)",
                                      i, r, c, luaL_typename(L, -1));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
        b->nsteps++;
    }
    return 0;
}

/* ---- running a batch (writer thread) ---- */

/* The value after v (a V_OBJ is followed by its members). */
static const wval *next_value(const wval *v)
{
    return v->type == V_OBJ ? v + 1 + 2 * v->u.i : v + 1;
}

/* A growable text buffer of the writer thread's own. */
typedef struct jbuf {
    char *p;
    size_t n, cap;
} jbuf;

static void jput(jbuf *j, const char *s, size_t n)
{
    if (j->n + n + 1 > j->cap) {
        size_t c = j->cap ? j->cap : 256;
        while (c < j->n + n + 1) c *= 2;
        char *q = realloc(j->p, c);
        if (!q) return; /* out of memory: the text comes out short; the step then fails on it */
        j->p = q;
        j->cap = c;
    }
    memcpy(j->p + j->n, s, n);
    j->n += n;
    j->p[j->n] = 0;
}

static void json_string(jbuf *j, const char *s, size_t len)
{
    jput(j, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        jput(j, s + run, i - run);
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; jput(j, esc, 2); }
        else if (c == '\n') jput(j, "\\n", 2);
        else if (c == '\t') jput(j, "\\t", 2);
        else if (c == '\r') jput(j, "\\r", 2);
        else { snprintf(esc, sizeof esc, "\\u%04x", c); jput(j, esc, 6); }
        run = i + 1;
    }
    jput(j, s + run, len - run);
    jput(j, "\"", 1);
}

static void json_scalar(jbuf *j, const wbatch *b, const wval *v)
{
    char num[48];
    switch (v->type) {
    case V_NULL: jput(j, "null", 4); break;
    case V_BOOL: v->u.i ? jput(j, "true", 4) : jput(j, "false", 5); break;
    case V_INT: jput(j, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)v->u.i)); break;
    case V_DOUBLE: {
        if (!isfinite(v->u.d)) { jput(j, "null", 4); break; }
        size_t w = au_json_number(v->u.d, num);
        if (!w) w = (size_t)snprintf(num, sizeof num, "%.17g", v->u.d);
        jput(j, num, w);
        break;
    }
    default: json_string(j, b->text + v->u.off, v->len);
    }
}

/* obj (a V_OBJ) as JSON text in j (reset first). */
static const char *json_object(jbuf *j, const wbatch *b, const wval *obj)
{
    j->n = 0;
    jput(j, "{", 1);
    const wval *m = obj + 1;
    for (int64_t i = 0; i < obj->u.i; i++, m += 2) {
        if (i) jput(j, ",", 1);
        json_string(j, b->text + m[0].u.off, m[0].len);
        jput(j, ":", 1);
        json_scalar(j, b, &m[1]);
    }
    jput(j, "}", 1);
    return j->p ? j->p : "{}";
}


static void fail(writer *w, const char *code, const char *fmt, const char *a, const char *b2)
{
    if (w->failed) return;
    w->failed = 1;
    char msg[MSG_MAX];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b2 ? b2 : "");
    /* one line */
    for (char *p = msg; *p; p++) if (*p == '\n' || *p == '\t') *p = ' ';
    snprintf(w->err, sizeof w->err, "%s", msg);
    snprintf(w->code, sizeof w->code, "%s", code);
}

static int sq_bind(sqlite3_stmt *st, const wbatch *b, const wval *v, int col, jbuf *j)
{
    switch (v->type) {
    case V_NULL: return sqlite3_bind_null(st, col);
    case V_INT: case V_BOOL: return sqlite3_bind_int64(st, col, v->u.i);
    case V_OBJ: {
        const char *text = json_object(j, b, v); /* before reading j->n: argument order is unspecified */
        return sqlite3_bind_text(st, col, text, (int)j->n, SQLITE_TRANSIENT);
    }
    case V_DOUBLE: return sqlite3_bind_double(st, col, v->u.d);
    default: return sqlite3_bind_text(st, col, b->text + v->u.off, (int)v->len, SQLITE_STATIC);
    }
}

static int sq_exec(writer *w, const char *sql)
{
    char *e = NULL;
    int rc = sqlite3_exec(w->db, sql, NULL, NULL, &e);
    if (rc != SQLITE_OK) fail(w, au_sqlite_code(rc), "sqlite: %s%s", e ? e : sqlite3_errmsg(w->db), "");
    sqlite3_free(e);
    return rc == SQLITE_OK;
}

static int sq_step(writer *w, const wbatch *b, const wstep *s, jbuf *j)
{
    const char *sql = b->text + s->sql_off;
    if (s->mode == MODE_EXEC) return sq_exec(w, sql);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(w->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        fail(w, au_sqlite_code(rc), "sqlite: %s%s", sqlite3_errmsg(w->db), "");
        return 0;
    }
    const wval *v = b->vals + s->first;
    for (int r = 0; r < s->nrows; r++) {
        for (int c = 0; c < s->ncols; c++, v = next_value(v)) sq_bind(st, b, v, c + 1, j);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
            char row[32];
            snprintf(row, sizeof row, "%d", r + 1);
            fail(w, au_sqlite_code(rc), "sqlite: row %s: %s", row, sqlite3_errmsg(w->db));
            sqlite3_finalize(st);
            return 0;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return 1;
}

static int run_sqlite(writer *w, const wbatch *b, jbuf *j)
{
    if (!sq_exec(w, "BEGIN IMMEDIATE")) return 0;
    for (int i = 0; i < b->nsteps; i++) {
        if (!sq_step(w, b, &b->steps[i], j)) {
            sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
            return 0;
        }
    }
    return sq_exec(w, "COMMIT");
}

static int pg_result(writer *w, PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) { PQclear(r); return 1; }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *code = state ? au_pg_code(state) : (PQstatus(w->pg) == CONNECTION_BAD ? "ECONNECTION" : "EDB");
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    fail(w, code, "postgres: %s%s", primary ? primary : PQerrorMessage(w->pg), "");
    PQclear(r);
    return 0;
}

/* v as PostgreSQL text: num (32 bytes) holds a number; a V_OBJ is written to j. */
static const char *pg_text(const wbatch *b, const wval *v, char *num, jbuf *j)
{
    switch (v->type) {
    case V_NULL: return NULL;
    case V_BOOL: return v->u.i ? "t" : "f";
    case V_OBJ: return json_object(j, b, v);
    case V_INT: snprintf(num, 32, "%lld", (long long)v->u.i); return num;
    case V_DOUBLE: au_pg_number_text(v->u.d, num); return num;
    default: return b->text + v->u.off;
    }
}

static int pg_copy(writer *w, const wbatch *b, const wstep *s, au_pg_copy *cb, jbuf *j)
{
    PGconn *c = w->pg;
    PGresult *r = PQexec(c, b->text + s->sql_off);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) return pg_result(w, r);
    PQclear(r);
    cb->conn = c;
    cb->len = 0;
    cb->failed = 0;
    char num[32];
    const wval *v = b->vals + s->first;
    for (int row = 0; row < s->nrows; row++) {
        for (int col = 0; col < s->ncols; col++, v = next_value(v)) {
            if (col) au_pg_copy_put(cb, "\t", 1);
            if (v->type == V_TEXT) au_pg_copy_escaped(cb, b->text + v->u.off, v->len);
            else if (v->type == V_NULL) au_pg_copy_put(cb, "\\N", 2);
            else if (v->type == V_OBJ) {
                const char *text = json_object(j, b, v);
                au_pg_copy_escaped(cb, text, j->n);
            }
            else {
                const char *t = pg_text(b, v, num, j);
                au_pg_copy_put(cb, t, strlen(t));
            }
        }
        au_pg_copy_put(cb, "\n", 1);
    }
    au_pg_copy_flush(cb);
    if (PQputCopyEnd(c, NULL) != 1) cb->failed = 1;
    int ok = pg_result(w, PQgetResult(c));
    while ((r = PQgetResult(c)) != NULL) PQclear(r);
    return ok && !cb->failed;
}

static int pg_rows(writer *w, const wbatch *b, const wstep *s, jbuf *j)
{
    PGconn *c = w->pg;
    if (!pg_result(w, PQprepare(c, "", b->text + s->sql_off, 0, NULL))) return 0;
    const char *vals[256];
    char nums[256][32];
    if (s->ncols > 256) {
        fail(w, "EDB", "postgres: %s%s", "more than 256 columns in a row", "");
        return 0;
    }
    const wval *v = b->vals + s->first;
    for (int row = 0; row < s->nrows; row++) {
        /* one JSON object per row at most: j holds it until the statement ran */
        for (int col = 0; col < s->ncols; col++, v = next_value(v)) vals[col] = pg_text(b, v, nums[col], j);
        if (!pg_result(w, PQexecPrepared(c, "", s->ncols, vals, NULL, NULL, 0))) return 0;
    }
    return 1;
}

static int run_pg(writer *w, const wbatch *b, au_pg_copy *cb, jbuf *j)
{
    if (!pg_result(w, PQexec(w->pg, "BEGIN"))) return 0;
    for (int i = 0; i < b->nsteps; i++) {
        const wstep *s = &b->steps[i];
        int ok = s->mode == MODE_EXEC ? pg_result(w, PQexec(w->pg, b->text + s->sql_off))
                 : s->mode == MODE_COPY ? pg_copy(w, b, s, cb, j)
                                         : pg_rows(w, b, s, j);
        if (!ok) {
            PQclear(PQexec(w->pg, "ROLLBACK"));
            return 0;
        }
    }
    return pg_result(w, PQexec(w->pg, "COMMIT"));
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    au_pg_copy *cb = malloc(sizeof *cb);
    jbuf j = {NULL, 0, 0};
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->closing) pthread_cond_wait(&w->work, &w->mu);
        wbatch *b = w->head;
        if (!b) break; /* closing, queue drained */
        w->head = b->next;
        if (!w->head) w->tail = NULL;
        int skip = w->failed;
        pthread_mutex_unlock(&w->mu);
        if (!skip) {
            if (!cb) fail(w, "EDB", "dbwriter: %s%s", "out of memory", "");
            else if (w->is_pg) run_pg(w, b, cb, &j);
            else run_sqlite(w, b, &j);
        }
        long t = b->ticket;
        batch_free(b);
        pthread_mutex_lock(&w->mu);
        if (w->failed && !w->failed_ticket) w->failed_ticket = t;
        w->finished = t;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    free(cb);
    free(j.p);
    return NULL;
}

/* ---- the Lua face ---- */

static writer *check_writer(lua_State *L)
{
    writer_box *box = luaL_checkudata(L, 1, WRITER_MT);
    if (!box->w) luaL_error(L, "dbwriter: closed");
    return box->w;
}

static int push_failure(lua_State *L, writer *w)
{
    lua_pushnil(L);
    lua_pushstring(L, w->err);
    lua_pushstring(L, w->code);
    return 3;
}

static int l_submit(lua_State *L)
{
    writer *w = check_writer(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    pthread_mutex_lock(&w->mu);
    int failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    if (failed) return push_failure(L, w);
    wbatch *b = calloc(1, sizeof *b);
    if (!b) return luaL_error(L, "dbwriter: out of memory");
    lua_pushcfunction(L, build_batch);
    lua_pushvalue(L, 2);
    lua_pushlightuserdata(L, b);
    if (lua_pcall(L, 2, 0, 0) != 0) {
        batch_free(b);
        return lua_error(L);
    }
    pthread_mutex_lock(&w->mu);
    b->ticket = ++w->submitted;
    if (w->tail) w->tail->next = b; else w->head = b;
    w->tail = b;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    lua_pushnumber(L, (lua_Number)b->ticket);
    return 1;
}

/* Waits (no Lua call inside: the mutex is never held across a raise). */
static int l_wait(lua_State *L)
{
    writer *w = check_writer(L);
    pthread_mutex_lock(&w->mu);
    long want = lua_isnoneornil(L, 2) ? w->submitted : (long)luaL_checknumber(L, 2);
    while (w->finished < want && !w->failed_ticket) pthread_cond_wait(&w->done, &w->mu);
    int failed = w->failed_ticket && want >= w->failed_ticket; /* batches before it did commit */
    pthread_mutex_unlock(&w->mu);
    if (failed) return push_failure(L, w);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_pending(lua_State *L)
{
    writer *w = check_writer(L);
    pthread_mutex_lock(&w->mu);
    long n = w->submitted - w->finished;
    pthread_mutex_unlock(&w->mu);
    lua_pushnumber(L, (lua_Number)n);
    return 1;
}

static void writer_free(writer *w)
{
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->closing = 1;
        pthread_cond_signal(&w->work);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    while (w->head) {
        wbatch *b = w->head;
        w->head = b->next;
        batch_free(b);
    }
    if (w->db) sqlite3_close_v2(w->db);
    if (w->pg) PQfinish(w->pg);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    free(w);
}

/* close() -> true | nil, message, code: everything submitted is written (or the first
 * failure is returned) and the thread is stopped. */
static int l_close(lua_State *L)
{
    writer_box *box = luaL_checkudata(L, 1, WRITER_MT);
    writer *w = box->w;
    if (!w) { lua_pushboolean(L, 1); return 1; }
    box->w = NULL;
    writer_free(w); /* joins after the queue drained */
    if (w->failed) { /* w is freed: copy first */ }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L)
{
    writer_box *box = luaL_checkudata(L, 1, WRITER_MT);
    if (box->w) writer_free(box->w);
    box->w = NULL;
    return 0;
}

static writer *new_writer(lua_State *L)
{
    writer_box *box = lua_newuserdata(L, sizeof *box);
    box->w = NULL;
    luaL_getmetatable(L, WRITER_MT);
    lua_setmetatable(L, -2);
    writer *w = calloc(1, sizeof *w);
    if (!w) luaL_error(L, "dbwriter: out of memory");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    box->w = w;
    return w;
}

static int start(lua_State *L, writer *w)
{
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "dbwriter: cannot start the writer thread");
        lua_pushliteral(L, "EDB");
        return 3;
    }
    w->started = 1;
    return 1;
}

static int opt_int(lua_State *L, int idx, const char *key, int dflt)
{
    if (!lua_istable(L, idx)) return dflt;
    lua_getfield(L, idx, key);
    int v = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

/* dbwriter.sqlite(path [, opts]) */
static int l_sqlite(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *sync = "full";
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "synchronous");
        if (lua_isstring(L, -1)) sync = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    if (strcmp(sync, "full") && strcmp(sync, "normal") && strcmp(sync, "off"))
        return luaL_argerror(L, 2, "synchronous must be full, normal or off");
    writer *w = new_writer(L);
    int rc = sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        lua_pushnil(L);
        lua_pushfstring(L, "sqlite:%s: %s", path, w->db ? sqlite3_errmsg(w->db) : "cannot open");
        lua_pushstring(L, au_sqlite_code(rc));
        return 3; /* the userdata's __gc closes the handle */
    }
    sqlite3_busy_timeout(w->db, opt_int(L, 2, "busy_timeout_ms", 5000));
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
    sqlite3_exec(w->db, pragma, NULL, NULL, NULL);
    sqlite3_exec(w->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    return start(L, w);
}

/* Notices ("relation already exists, skipping") are not errors: not for the terminal. */
static void quiet_notice(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res;
}

/* dbwriter.postgres(conninfo [, opts]) */
static int l_postgres(lua_State *L)
{
    const char *info = luaL_checkstring(L, 1);
    writer *w = new_writer(L);
    w->is_pg = 1;
    w->pg = PQconnectdb(info);
    if (!w->pg || PQstatus(w->pg) != CONNECTION_OK) {
        char line[MSG_MAX];
        snprintf(line, sizeof line, "%s", w->pg ? PQerrorMessage(w->pg) : "out of memory");
        for (char *p = line; *p; p++) if (*p == '\n' || *p == '\t') *p = ' ';
        lua_pushnil(L);
        lua_pushfstring(L, "postgres: %s", line);
        lua_pushliteral(L, "ECONNECTION");
        return 3;
    }
    PQsetNoticeReceiver(w->pg, quiet_notice, NULL);
    char set[64];
    snprintf(set, sizeof set, "SET statement_timeout = %d", opt_int(L, 2, "statement_timeout", 30000));
    PQclear(PQexec(w->pg, set));
    return start(L, w);
}

int luaopen_alluse_core_dbwriter(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"submit", l_submit}, {"wait", l_wait}, {"pending", l_pending}, {"close", l_close}, {NULL, NULL}};
    luaL_newmetatable(L, WRITER_MT);
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"sqlite", l_sqlite}, {"postgres", l_postgres}, {NULL, NULL}};
    lua_createtable(L, 0, 2);
    luaL_register(L, NULL, fns);
    return 1;
}
