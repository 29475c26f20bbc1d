/* control.c — alluse.core.control; see control.h. */
#include <errno.h>
#include <lauxlib.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "host/modules.h"
#include "loop/loop.h"
#include "net/control.h"

#define SERVER_MT "alluse.control.server"
#define CLIENT_MT "alluse.control.client"

typedef struct cserver cserver;

typedef struct cconn {
    uv_pipe_t pipe;
    cserver *srv;
    struct cconn *next, *prev;
    double id;
    char *buf;
    size_t len, cap;
    int closing;
} cconn;

struct cserver {
    uv_pipe_t pipe;
    au_loop *loop;
    int handler_ref;
    size_t max_line;
    double next_id;
    cconn *conns;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

typedef struct server_box {
    cserver *s;
} server_box;

typedef struct write_req {
    uv_write_t req;
    char data[];
} write_req;

/* ---- server ---- */

static void free_conn(uv_handle_t *h)
{
    cconn *c = h->data;
    free(c->buf);
    free(c);
}

/* Tells the handler the client is gone (drop its session), then closes. */
static void conn_close(cconn *c, int tell)
{
    if (c->closing) return;
    c->closing = 1;
    cserver *s = c->srv;
    if (c->prev) c->prev->next = c->next; else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    lua_State *L = au_loop_state(s->loop);
    if (tell && L) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->handler_ref);
        lua_pushnumber(L, c->id);
        lua_pushnil(L);
        if (lua_pcall(L, 2, 0, 0) != 0) lua_pop(L, 1);
    }
    uv_close((uv_handle_t *)&c->pipe, free_conn);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void reply(cconn *c, const char *s, size_t n)
{
    write_req *wr = malloc(sizeof *wr + n + 1);
    if (!wr) { conn_close(c, 1); return; }
    memcpy(wr->data, s, n);
    wr->data[n] = '\n';
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)(n + 1));
    if (uv_write(&wr->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
        free(wr);
        conn_close(c, 1);
    }
}

static void handle_line(cconn *c, const char *line, size_t n)
{
    lua_State *L = au_loop_state(c->srv->loop);
    if (!L) return;
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->srv->handler_ref);
    lua_pushnumber(L, c->id);
    lua_pushlstring(L, line, n);
    if (lua_pcall(L, 2, 1, 0) != 0) {
        fprintf(stderr, "control: handler failed: %s\n", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
        static const char msg[] = "{\"error\":\"the engine's control handler failed\"}";
        reply(c, msg, sizeof msg - 1);
    } else if (lua_isstring(L, -1)) {
        size_t rn;
        const char *r = lua_tolstring(L, -1, &rn);
        reply(c, r, rn);
    }
    lua_settop(L, top);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    cconn *c = h->data;
    if (c->cap - c->len < 4096) {
        size_t cap = c->cap ? c->cap * 2 : 8192;
        char *nb = realloc(c->buf, cap);
        if (!nb) { *b = uv_buf_init(NULL, 0); return; }
        c->buf = nb;
        c->cap = cap;
    }
    *b = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    cconn *c = st->data;
    if (n < 0) { conn_close(c, 1); return; }
    c->len += (size_t)n;
    size_t start = 0;
    for (;;) {
        char *nl = memchr(c->buf + start, '\n', c->len - start);
        if (!nl) break;
        size_t ln = (size_t)(nl - (c->buf + start));
        handle_line(c, c->buf + start, ln);
        if (c->closing) return;
        start += ln + 1;
    }
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
    if (c->len > c->srv->max_line) conn_close(c, 1); /* no line is that long */
}

static void on_connection(uv_stream_t *ls, int status)
{
    cserver *s = ls->data;
    if (status < 0) return;
    cconn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = s;
    uv_pipe_init(au_loop_uv(s->loop), &c->pipe, 0);
    c->pipe.data = c;
    c->id = ++s->next_id;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    if (uv_accept(ls, (uv_stream_t *)&c->pipe) != 0) { conn_close(c, 0); return; }
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void free_server(uv_handle_t *h)
{
    free(h->data);
}

/* Is something listening on path?  A socket file left by a dead process is not. */
static int live_socket(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return live;
}

static int l_listen(lua_State *L)
{
    size_t plen;
    const char *path = luaL_checklstring(L, 1, &plen);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    size_t max_line = 1 << 20;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "max_line");
        if (lua_isnumber(L, -1)) max_line = (size_t)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    if (plen == 0 || plen >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        lua_pushnil(L);
        lua_pushfstring(L, "control: socket path '%s' is empty or too long (at most %d bytes)", path,
                        (int)sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        lua_pushliteral(L, "EINVAL");
        return 3;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode) || live_socket(path)) {
            lua_pushnil(L);
            lua_pushfstring(L, "control: %s exists and %s", path,
                            S_ISSOCK(st.st_mode) ? "another process listens on it" : "is not a socket");
            lua_pushliteral(L, "EADDRINUSE");
            return 3;
        }
        unlink(path); /* stale: its process is gone */
    }
    au_loop *lp = au_loop_get(L);
    cserver *s = calloc(1, sizeof *s);
    if (!s) return luaL_error(L, "control: out of memory");
    s->loop = lp;
    s->max_line = max_line;
    memcpy(s->path, path, plen + 1);
    uv_pipe_init(au_loop_uv(lp), &s->pipe, 0);
    s->pipe.data = s;
    mode_t old = umask(0177); /* the socket is born 0600: no window where others may connect */
    int rc = uv_pipe_bind(&s->pipe, path);
    umask(old);
    if (rc == 0) rc = chmod(path, 0600) == 0 ? 0 : uv_translate_sys_error(errno);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&s->pipe, 16, on_connection);
    if (rc != 0) {
        uv_close((uv_handle_t *)&s->pipe, free_server);
        lua_pushnil(L);
        lua_pushfstring(L, "control: cannot listen on %s: %s", path, uv_strerror(rc));
        lua_pushstring(L, uv_err_name(rc));
        return 3;
    }
    lua_pushvalue(L, 2);
    s->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    server_box *box = lua_newuserdata(L, sizeof *box);
    box->s = s;
    luaL_getmetatable(L, SERVER_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static int l_server_close(lua_State *L)
{
    server_box *box = luaL_checkudata(L, 1, SERVER_MT);
    cserver *s = box->s;
    if (!s) return 0;
    box->s = NULL;
    while (s->conns) conn_close(s->conns, 0);
    luaL_unref(L, LUA_REGISTRYINDEX, s->handler_ref);
    unlink(s->path);
    uv_close((uv_handle_t *)&s->pipe, free_server);
    return 0;
}

/* ---- client (blocking) ---- */

typedef struct client {
    int fd;
    int timeout_ms;
    char *buf;
    size_t len, cap;
} client;

static int push_errno(lua_State *L, const char *what, int err)
{
    lua_pushnil(L);
    lua_pushfstring(L, "control: %s: %s", what, strerror(err));
    lua_pushstring(L, err == ETIMEDOUT ? "ETIMEDOUT" : err == ENOENT ? "ENOENT" : err == ECONNREFUSED ? "ECONNREFUSED"
                      : err == EACCES ? "EACCES" : "EIO");
    return 3;
}

static int l_connect(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int timeout = (int)luaL_optinteger(L, 2, 30000);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) return push_errno(L, path, ENAMETOOLONG);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return push_errno(L, path, errno);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        char what[sizeof sa.sun_path + 16];
        snprintf(what, sizeof what, "connect %s", path);
        return push_errno(L, what, e);
    }
    client *c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->timeout_ms = timeout;
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static int l_request(lua_State *L)
{
    client *c = luaL_checkudata(L, 1, CLIENT_MT);
    size_t n;
    const char *line = luaL_checklstring(L, 2, &n);
    if (c->fd < 0) return push_errno(L, "request", EBADF);
    if (memchr(line, '\n', n)) return luaL_argerror(L, 2, "must be one line");
    char *out = lua_newuserdata(L, n + 1); /* scratch: freed by the GC, even on a raise */
    memcpy(out, line, n);
    out[n] = '\n';
    for (size_t off = 0; off < n + 1;) {
        ssize_t w = send(c->fd, out + off, n + 1 - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return push_errno(L, "send", errno);
        }
        off += (size_t)w;
    }
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t ln = (size_t)(nl - c->buf);
            lua_pushlstring(L, c->buf, ln);
            memmove(c->buf, nl + 1, c->len - ln - 1);
            c->len -= ln + 1;
            return 1;
        }
        struct pollfd p = {c->fd, POLLIN, 0};
        int pr = poll(&p, 1, c->timeout_ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) return push_errno(L, "no answer in time", ETIMEDOUT);
        if (c->cap - c->len < 4096) {
            size_t cap = c->cap ? c->cap * 2 : 8192;
            char *nb = realloc(c->buf, cap);
            if (!nb) return luaL_error(L, "control: out of memory");
            c->buf = nb;
            c->cap = cap;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return push_errno(L, "recv", errno);
        if (r == 0) {
            lua_pushnil(L);
            lua_pushliteral(L, "control: the engine closed the connection");
            lua_pushliteral(L, "ECLOSED");
            return 3;
        }
        c->len += (size_t)r;
    }
}

static int l_client_close(lua_State *L)
{
    client *c = luaL_checkudata(L, 1, CLIENT_MT);
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
    return 0;
}

int luaopen_alluse_core_control(lua_State *L)
{
    static const luaL_Reg smethods[] = {{"close", l_server_close}, {NULL, NULL}};
    static const luaL_Reg cmethods[] = {{"request", l_request}, {"close", l_client_close}, {NULL, NULL}};
    luaL_newmetatable(L, SERVER_MT);
    lua_newtable(L);
    luaL_register(L, NULL, smethods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_server_close);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, CLIENT_MT);
    lua_newtable(L);
    luaL_register(L, NULL, cmethods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_client_close);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"listen", l_listen}, {"connect", l_connect}, {NULL, NULL}};
    lua_createtable(L, 0, 2);
    luaL_register(L, NULL, fns);
    return 1;
}
