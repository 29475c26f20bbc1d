/* httpd.c — alluse.core.httpd; see httpd.h. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "host/modules.h"
#include "loop/loop.h"
#include "net/http_parse.h"
#include "net/httpd.h"

#define SERVER_MT "alluse.httpd.server"
#define READ_CHUNK 65536

typedef struct server server;

typedef struct conn {
    uv_tcp_t tcp;           /* first: the handle's address is the connection's */
    uv_timer_t timer;
    server *srv;
    struct conn *next, *prev;
    char *buf;
    size_t len, cap;
    int writes;             /* uv_write requests in flight */
    int close_after;        /* close once the writes are done */
    int closing;
    int handles_open;       /* tcp and timer: freed when both closed */
    char peer[64];
} conn;

struct server {
    uv_tcp_t tcp;
    au_loop *loop;
    int handler_ref;
    http_limits limits;
    uint64_t read_timeout_ms;
    int max_connections, nconns;
    conn *conns;
    int closed;
};

typedef struct server_box {
    server *s;
} server_box;

typedef struct write_req {
    uv_write_t req;
    conn *c;
    char data[];
} write_req;

static void conn_close(conn *c);

/* ---- writing ---- */

static void on_written(uv_write_t *w, int status)
{
    write_req *wr = (write_req *)w;
    conn *c = wr->c;
    free(wr);
    c->writes--;
    if (status < 0 || (c->close_after && c->writes == 0)) conn_close(c);
}

static void send_bytes(conn *c, const char *head, size_t hn, const char *body, size_t bn)
{
    if (c->closing) return;
    write_req *wr = malloc(sizeof *wr + hn + bn);
    if (!wr) { conn_close(c); return; }
    wr->c = c;
    memcpy(wr->data, head, hn);
    if (bn) memcpy(wr->data + hn, body, bn);
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)(hn + bn));
    c->writes++;
    if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        c->writes--;
        free(wr);
        conn_close(c);
    }
}

/* A plain-text error answer; the connection closes after it. */
static void send_error(conn *c, int status, const char *why)
{
    char body[256], head[256];
    int bn = snprintf(body, sizeof body, "%d %s: %s\n", status, http_reason(status), why);
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n",
                      status, http_reason(status), bn);
    c->close_after = 1;
    send_bytes(c, head, (size_t)hn, body, (size_t)bn);
}

/* ---- connections ---- */

static void on_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->handles_open == 0) {
        free(c->buf);
        free(c);
    }
}

static void conn_close(conn *c)
{
    if (c->closing) return;
    c->closing = 1;
    server *s = c->srv;
    if (c->prev) c->prev->next = c->next; else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
    conn *c = t->data;
    if (c->len > 0 && c->writes == 0) send_error(c, 408, "the request did not arrive in time");
    else conn_close(c);
}

static void arm_timer(conn *c)
{
    uv_timer_start(&c->timer, on_timeout, c->srv->read_timeout_ms, 0);
}

/* Pushes the request table for the handler. */
static void push_request(lua_State *L, conn *c, const http_request *r, const char *body, size_t bn)
{
    lua_createtable(L, 0, 9);
    lua_pushlstring(L, r->method.p, r->method.n);
    lua_setfield(L, -2, "method");
    lua_pushlstring(L, r->target.p, r->target.n);
    lua_setfield(L, -2, "target");
    lua_pushlstring(L, r->path.p, r->path.n);
    lua_setfield(L, -2, "path");
    lua_pushlstring(L, r->query.p, r->query.n);
    lua_setfield(L, -2, "query");
    lua_pushstring(L, r->minor ? "1.1" : "1.0");
    lua_setfield(L, -2, "version");
    lua_pushlstring(L, body, bn);
    lua_setfield(L, -2, "body");
    lua_pushstring(L, c->peer);
    lua_setfield(L, -2, "peer");
    lua_createtable(L, 0, r->nheaders);
    for (int i = 0; i < r->nheaders; i++) {
        char name[256];
        size_t n = r->names[i].n < sizeof name ? r->names[i].n : sizeof name - 1;
        for (size_t k = 0; k < n; k++) {
            char ch = r->names[i].p[k];
            name[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        lua_pushlstring(L, name, n);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isstring(L, -1)) { /* a repeated field: joined, as RFC 9110 5.3 allows */
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, r->values[i].p, r->values[i].n);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushlstring(L, r->values[i].p, r->values[i].n);
        }
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "headers");
}

static int header_name_ok(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == ':') return 0;
    }
    return 1;
}

static int header_value_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == 0) return 0;
    return 1;
}

/* Runs the handler for one request and writes its answer. */
static void answer(conn *c, const http_request *r, const char *body, size_t bn)
{
    server *s = c->srv;
    /* the state running the loop: the server may have been made inside a task, whose
     * coroutine is suspended now and must not be called into */
    lua_State *L = au_loop_state(s->loop);
    if (!L) { conn_close(c); return; }
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->handler_ref);
    push_request(L, c, r, body, bn);
    int head_only = r->method.n == 4 && memcmp(r->method.p, "HEAD", 4) == 0;
    if (lua_pcall(L, 1, 3, 0) != 0 || !lua_isnumber(L, top + 1)) {
        if (lua_isstring(L, -1) && !lua_isnumber(L, top + 1))
            fprintf(stderr, "httpd: handler failed: %s\n", lua_tostring(L, -1));
        lua_settop(L, top);
        send_error(c, 500, "the handler failed");
        return;
    }
    int status = (int)lua_tointeger(L, top + 1);
    if (status < 100 || status > 599) status = 500;
    size_t blen = 0;
    const char *b = lua_isstring(L, top + 3) ? lua_tolstring(L, top + 3, &blen) : "";
    /* The head in C memory (lua_next must see the stack undisturbed). */
    size_t cap = 512, hn = 0;
    char *head = malloc(cap);
    if (!head) { lua_settop(L, top); conn_close(c); return; }
    hn = (size_t)snprintf(head, cap, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    int bad = 0;
    if (lua_istable(L, top + 2)) {
        lua_pushnil(L);
        while (lua_next(L, top + 2) != 0) {
            size_t kn = 0, vn = 0;
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &kn) : NULL;
            const char *v = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER
                                ? lua_tolstring(L, -1, &vn) : NULL;
            if (!k || !v || !header_name_ok(k, kn) || !header_value_ok(v, vn)) bad = 1;
            else {
                if (hn + kn + vn + 64 > cap) {
                    while (hn + kn + vn + 64 > cap) cap *= 2;
                    char *nh = realloc(head, cap);
                    if (!nh) { bad = 1; lua_pop(L, 1); continue; }
                    head = nh;
                }
                memcpy(head + hn, k, kn);
                memcpy(head + hn + kn, ": ", 2);
                memcpy(head + hn + kn + 2, v, vn);
                memcpy(head + hn + kn + 2 + vn, "\r\n", 2);
                hn += kn + vn + 4;
            }
            lua_pop(L, 1);
        }
    }
    if (bad) {
        free(head);
        lua_settop(L, top);
        send_error(c, 500, "the handler returned a malformed header");
        return;
    }
    hn += (size_t)snprintf(head + hn, cap - hn, "Content-Length: %zu\r\n%s\r\n", blen,
                           r->keep_alive ? "" : "Connection: close\r\n");
    if (!r->keep_alive) c->close_after = 1;
    send_bytes(c, head, hn, b, head_only ? 0 : blen);
    free(head);
    lua_settop(L, top);
}

/* Handles every complete request in the buffer, in order. */
static void process(conn *c)
{
    server *s = c->srv;
    while (!c->closing && !c->close_after && c->len > 0) {
        http_request r;
        int rc = http_parse_request(c->buf, c->len, &s->limits, &r);
        if (rc == 0) return; /* more to come */
        if (rc < 0) {
            send_error(c, -rc, r.error);
            return;
        }
        size_t need = (size_t)rc + (size_t)r.content_length;
        if (c->len < need) return; /* the body is still arriving */
        answer(c, &r, c->buf + rc, (size_t)r.content_length);
        memmove(c->buf, c->buf + need, c->len - need);
        c->len -= need;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    conn *c = h->data;
    if (c->cap - c->len < READ_CHUNK) {
        size_t cap = c->cap ? c->cap * 2 : READ_CHUNK * 2;
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
    conn *c = st->data;
    if (n < 0) { conn_close(c); return; }
    if (n == 0) return;
    if (c->close_after) return; /* answering a bad request: the rest is ignored */
    c->len += (size_t)n;
    arm_timer(c);
    process(c);
    /* a client that sends more than a request may hold is cut off */
    if (!c->closing && !c->close_after && c->len > c->srv->limits.max_head + c->srv->limits.max_body)
        send_error(c, 413, "request too large");
}

static void on_connection(uv_stream_t *ls, int status)
{
    server *s = ls->data;
    if (status < 0 || s->closed) return;
    conn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = s;
    uv_tcp_init(au_loop_uv(s->loop), &c->tcp);
    uv_timer_init(au_loop_uv(s->loop), &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) { conn_close(c); return; }
    if (s->nconns > s->max_connections) {
        send_error(c, 503, "too many connections");
        return;
    }
    struct sockaddr_storage sa;
    int len = sizeof sa;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
        char ip[48] = "";
        int port = 0;
        if (sa.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        } else if (sa.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
    }
    uv_tcp_nodelay(&c->tcp, 1);
    arm_timer(c);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- the Lua face ---- */

static void free_server(uv_handle_t *h)
{
    free(h->data);
}

static int opt_num(lua_State *L, int idx, const char *key, double dflt, double lo, double hi)
{
    if (!lua_istable(L, idx)) return (int)dflt;
    lua_getfield(L, idx, key);
    double v = lua_isnil(L, -1) ? dflt : luaL_checknumber(L, -1);
    lua_pop(L, 1);
    if (v < lo || v > hi) luaL_error(L, "httpd.listen: %s must be in %.0f..%.0f", key, lo, hi);
    return (int)v;
}

static int l_listen(lua_State *L)
{
    const char *host = luaL_checkstring(L, 1);
    int port = (int)luaL_checkinteger(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_argcheck(L, port >= 0 && port <= 65535, 2, "must be 0..65535");
    int max_header = opt_num(L, 4, "max_header", 16384, 256, 1 << 20);
    int max_body = opt_num(L, 4, "max_body", 1 << 20, 0, 1 << 30);
    int timeout = opt_num(L, 4, "read_timeout_ms", 10000, 1, 3600000);
    int maxc = opt_num(L, 4, "max_connections", 512, 1, 100000);
    au_loop *lp = au_loop_get(L);

    struct sockaddr_storage sa;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "httpd: '%s' is not an IP address", host);
        lua_pushliteral(L, "EINVAL");
        return 3;
    }
    server *s = calloc(1, sizeof *s);
    if (!s) return luaL_error(L, "httpd: out of memory");
    s->loop = lp;
    s->limits.max_head = (size_t)max_header;
    s->limits.max_body = (uint64_t)max_body;
    s->read_timeout_ms = (uint64_t)timeout;
    s->max_connections = maxc;
    uv_tcp_init(au_loop_uv(lp), &s->tcp);
    s->tcp.data = s;
    int rc = uv_tcp_bind(&s->tcp, (struct sockaddr *)&sa, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&s->tcp, 128, on_connection);
    if (rc != 0) {
        uv_close((uv_handle_t *)&s->tcp, free_server);
        lua_pushnil(L);
        lua_pushfstring(L, "httpd: cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        lua_pushstring(L, uv_err_name(rc));
        return 3;
    }
    lua_pushvalue(L, 3);
    s->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    server_box *box = lua_newuserdata(L, sizeof *box);
    box->s = s;
    luaL_getmetatable(L, SERVER_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static int l_port(lua_State *L)
{
    server_box *box = luaL_checkudata(L, 1, SERVER_MT);
    if (!box->s) return 0;
    struct sockaddr_storage sa;
    int len = sizeof sa;
    if (uv_tcp_getsockname(&box->s->tcp, (struct sockaddr *)&sa, &len) != 0) return 0;
    int port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    lua_pushinteger(L, port);
    return 1;
}

static int l_connections(lua_State *L)
{
    server_box *box = luaL_checkudata(L, 1, SERVER_MT);
    lua_pushinteger(L, box->s ? box->s->nconns : 0);
    return 1;
}

static int l_close(lua_State *L)
{
    server_box *box = luaL_checkudata(L, 1, SERVER_MT);
    server *s = box->s;
    if (!s) return 0;
    box->s = NULL;
    s->closed = 1;
    while (s->conns) conn_close(s->conns);
    luaL_unref(L, LUA_REGISTRYINDEX, s->handler_ref);
    uv_close((uv_handle_t *)&s->tcp, free_server);
    return 0;
}

int luaopen_alluse_core_httpd(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"port", l_port}, {"connections", l_connections}, {"close", l_close}, {NULL, NULL}};
    luaL_newmetatable(L, SERVER_MT);
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"listen", l_listen}, {NULL, NULL}};
    lua_createtable(L, 0, 1);
    luaL_register(L, NULL, fns);
    return 1;
}
