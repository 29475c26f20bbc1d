/* http_client.c — alluse.core.curl; see http_client.h.  libcurl's multi_socket
 * interface on the libuv loop of alluse.core.loop, as Tarantool's src/curl.c does:
 * curl says which sockets to watch (CURLMOPT_SOCKETFUNCTION -> one uv_poll_t each) and
 * when to call it back (CURLMOPT_TIMERFUNCTION -> one uv_timer_t); both events end in
 * curl_multi_socket_action, after which finished transfers (CURLMSG_DONE) are handed to
 * their Lua callbacks. */
#include <curl/curl.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "host/modules.h"
#include "loop/loop.h"
#include "net/http_client.h"

#define MULTI_MT "alluse.curl.multi"
#define REQ_MT "alluse.curl.request"
#define MAX_HEAD ((size_t)1 << 20) /* all response header lines, bytes */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

typedef struct sock_ctx sock_ctx;
typedef struct http_req http_req;

typedef struct http_multi {
    CURLM *multi;
    au_loop *loop;
    uv_timer_t *timer;  /* malloc'ed, freed by uv_close's callback */
    sock_ctx *socks;    /* the sockets curl watches */
    http_req *reqs;     /* the requests in flight */
    int inflight;
    int closed;
} http_multi;

struct sock_ctx {
    uv_poll_t poll;     /* first: a uv_poll_t* is also this */
    curl_socket_t fd;
    http_multi *m;
    sock_ctx *next, *prev;
};

struct http_req {
    CURL *easy;
    struct curl_slist *hdrs;
    buf body, head;
    size_t max_body;
    int too_big;
    char errbuf[CURL_ERROR_SIZE];
    http_multi *owner;
    int started;        /* in owner's multi */
    int fn_ref, self_ref;
    http_req *next, *prev;
};

/* ---- buffers ---- */

static int buf_add(buf *b, const char *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

static void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ---- curl's data callbacks ---- */

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    http_req *r = ud;
    size_t len = size * n;
    if (len > r->max_body - r->body.n) { /* body.n <= max_body always */
        r->too_big = 1;
        return 0; /* anything but len: the transfer fails with CURLE_WRITE_ERROR */
    }
    return buf_add(&r->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    http_req *r = ud;
    size_t len = size * n;
    /* A new status line starts a new response (a proxy's CONNECT reply, 100 Continue):
     * only the final response's fields are kept. */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) r->head.n = 0;
    if (r->head.n + len > MAX_HEAD) {
        r->too_big = 1;
        return 0;
    }
    return buf_add(&r->head, p, len) == 0 ? len : 0;
}

/* ---- results ---- */

static const char *code_of(http_req *r, CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "ETIMEDOUT";
    case CURLE_COULDNT_CONNECT: {
        long e = 0;
        curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &e);
        return e == ECONNREFUSED ? "ECONNREFUSED" : "ECONNECTION";
    }
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "ERESOLVE";
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return "ECONNECTION";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return "ETLS";
    case CURLE_FILESIZE_EXCEEDED:
        return "EBODY";
    case CURLE_WRITE_ERROR:
        return r->too_big ? "EBODY" : "EHTTP";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "EURL";
    default:
        return "EHTTP";
    }
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The final response's header fields as a table: lower-case name -> value, repeated
 * fields joined with ", " (RFC 9110 §5.3). */
static void push_headers(lua_State *L, const buf *head)
{
    lua_newtable(L);
    const char *p = head->p, *end = head->p + head->n;
    char name[256];
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if (!eol) eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon && colon > p && (size_t)(colon - p) < sizeof name && !is_space(*p)) {
            size_t nl = (size_t)(colon - p);
            for (size_t i = 0; i < nl; i++) {
                char c = p[i];
                name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
            }
            const char *v = colon + 1, *ve = eol;
            while (v < ve && is_space(*v)) v++;
            while (ve > v && is_space(ve[-1])) ve--;
            lua_pushlstring(L, name, nl);
            lua_pushvalue(L, -1);
            lua_rawget(L, -3);
            if (lua_isstring(L, -1)) {
                lua_pushliteral(L, ", ");
                lua_pushlstring(L, v, (size_t)(ve - v));
                lua_concat(L, 3);
            } else {
                lua_pop(L, 1);
                lua_pushlstring(L, v, (size_t)(ve - v));
            }
            lua_rawset(L, -3);
        }
        p = next;
    }
}

/* Pushes status, headers, body or nil, message, code; returns how many. */
static int push_result(lua_State *L, http_req *r, CURLcode rc)
{
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        lua_pushinteger(L, status);
        push_headers(L, &r->head);
        lua_pushlstring(L, r->body.p ? r->body.p : "", r->body.n);
    } else {
        if (rc == CURLE_FILESIZE_EXCEEDED) r->too_big = 1;
        lua_pushnil(L);
        if (r->too_big && (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED))
            lua_pushfstring(L, "the response is larger than max_body (%f bytes)", (double)r->max_body);
        else if (r->errbuf[0])
            lua_pushstring(L, r->errbuf);
        else
            lua_pushstring(L, curl_easy_strerror(rc));
        lua_pushstring(L, code_of(r, rc));
    }
    buf_free(&r->body);
    buf_free(&r->head);
    return 3;
}

static void reset(http_req *r)
{
    r->body.n = r->head.n = 0;
    r->too_big = 0;
    r->errbuf[0] = '\0';
}

/* ---- the multi on the loop ---- */

/* Handles keep the loop alive only while a request is in flight: an idle connection
 * curl still watches must not keep task.run from returning. */
static void update_refs(http_multi *m)
{
    for (sock_ctx *c = m->socks; c; c = c->next) {
        if (m->inflight > 0) uv_ref((uv_handle_t *)&c->poll);
        else uv_unref((uv_handle_t *)&c->poll);
    }
    if (m->inflight > 0) uv_ref((uv_handle_t *)m->timer);
    else uv_unref((uv_handle_t *)m->timer);
}

static void unref_lua(lua_State *L, http_req *r)
{
    luaL_unref(L, LUA_REGISTRYINDEX, r->fn_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, r->self_ref);
    r->fn_ref = r->self_ref = LUA_NOREF;
}

/* Takes r out of the multi (not out of the registry). */
static void detach(http_req *r)
{
    http_multi *m = r->owner;
    if (!r->started) return;
    r->started = 0;
    if (!m->closed) curl_multi_remove_handle(m->multi, r->easy);
    if (r->prev) r->prev->next = r->next;
    else m->reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    r->next = r->prev = NULL;
    m->inflight--;
    if (!m->closed) update_refs(m);
}

/* Hands every finished transfer to its callback.  curl_multi_remove_handle drops a
 * handle's pending messages, so a callback may close other requests meanwhile. */
static void check_done(http_multi *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        http_req *r = NULL;
        CURLcode rc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        detach(r);
        lua_State *L = au_loop_state(m->loop);
        if (!L) { /* not inside loop.run (cannot happen while a request runs): drop it */
            buf_free(&r->body);
            buf_free(&r->head);
            continue;
        }
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->fn_ref);
        int n = push_result(L, r, rc);
        unref_lua(L, r);
        au_loop_call(m->loop, n);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx *c = (sock_ctx *)p;
    http_multi *m = c->m;
    int flags = 0, running = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(m->multi, c->fd, flags, &running);
    check_done(m);
}

static void on_timer(uv_timer_t *t)
{
    http_multi *m = t->data;
    int running = 0;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(m);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void sock_close(http_multi *m, sock_ctx *c)
{
    if (c->prev) c->prev->next = c->next;
    else m->socks = c->next;
    if (c->next) c->next->prev = c->prev;
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, free_handle);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl asks; never calls libcurl. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    http_multi *m = userp;
    sock_ctx *c = socketp;
    if (m->closed) return 0;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            sock_close(m, c);
            curl_multi_assign(m->multi, s, NULL);
        }
        return 0;
    }
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) return -1;
        if (uv_poll_init_socket(au_loop_uv(m->loop), &c->poll, s) != 0) {
            free(c);
            return -1;
        }
        c->fd = s;
        c->m = m;
        c->next = m->socks;
        if (m->socks) m->socks->prev = c;
        m->socks = c;
        if (m->inflight == 0) uv_unref((uv_handle_t *)&c->poll);
        curl_multi_assign(m->multi, s, c);
    }
    int ev = 0;
    if (what & CURL_POLL_IN) ev |= UV_READABLE;
    if (what & CURL_POLL_OUT) ev |= UV_WRITABLE;
    return uv_poll_start(&c->poll, ev, on_poll) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: one timer, replaced on every call; -1 deletes it.  libcurl
 * must not be called from here, so even 0 goes through the timer. */
static int on_timeout(CURLM *multi, long ms, void *userp)
{
    (void)multi;
    http_multi *m = userp;
    if (m->closed) return 0;
    if (ms < 0) uv_timer_stop(m->timer);
    else uv_timer_start(m->timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

static int multi_gc(lua_State *L)
{
    http_multi *m = luaL_checkudata(L, 1, MULTI_MT);
    if (m->closed) return 0;
    for (http_req *r = m->reqs; r; r = m->reqs) detach(r);
    m->closed = 1;
    while (m->socks) sock_close(m, m->socks);
    uv_close((uv_handle_t *)m->timer, free_handle);
    curl_multi_cleanup(m->multi);
    m->multi = NULL;
    return 0;
}

/* ---- requests ---- */

static http_multi *multi_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

static const char *opt_string(lua_State *L, const char *key, size_t *len)
{
    lua_getfield(L, 1, key);
    const char *s = lua_isnil(L, -1) ? NULL : lua_tolstring(L, -1, len);
    if (!s && !lua_isnil(L, -1)) luaL_error(L, "curl.request: %s must be a string", key);
    lua_pop(L, 1); /* the string stays in opts, which is on the stack */
    return s;
}

static lua_Number opt_number(lua_State *L, const char *key, lua_Number dflt)
{
    lua_getfield(L, 1, key);
    lua_Number v = lua_isnil(L, -1) ? dflt : luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static void req_free(http_req *r)
{
    if (r->easy) curl_easy_cleanup(r->easy);
    r->easy = NULL;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    buf_free(&r->body);
    buf_free(&r->head);
}

static int l_request(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t body_len = 0;
    const char *url = opt_string(L, "url", NULL);
    const char *method = opt_string(L, "method", NULL);
    const char *body = opt_string(L, "body", &body_len);
    const char *ca_file = opt_string(L, "ca_file", NULL);
    /* Client TLS for a Kubernetes API server (kubeconfig): a CA, certificate and key
     * given as PEM text (kubeconfig's *-data fields) or as files.  The PEM text is
     * copied into libcurl (CURL_BLOB_COPY), so the Lua strings may go. */
    size_t ca_pem_len = 0, cert_pem_len = 0, key_pem_len = 0;
    const char *ca_pem = opt_string(L, "ca_pem", &ca_pem_len);
    const char *cert_pem = opt_string(L, "cert_pem", &cert_pem_len);
    const char *key_pem = opt_string(L, "key_pem", &key_pem_len);
    const char *cert_file = opt_string(L, "cert_file", NULL);
    const char *key_file = opt_string(L, "key_file", NULL);
    lua_Number timeout_ms = opt_number(L, "timeout_ms", 30000);
    lua_Number max_body = opt_number(L, "max_body", 16 << 20);
    if (!url) return luaL_error(L, "curl.request: url is required");
    if (!method) method = "GET";
    luaL_argcheck(L, timeout_ms >= 1 && timeout_ms < 1e10, 1, "timeout_ms must be >= 1");
    luaL_argcheck(L, max_body >= 0 && max_body < 1e15, 1, "max_body must be >= 0");

    http_req *r = lua_newuserdata(L, sizeof *r);
    memset(r, 0, sizeof *r);
    r->fn_ref = r->self_ref = LUA_NOREF;
    r->owner = multi_of(L);
    r->max_body = (size_t)max_body;
    luaL_getmetatable(L, REQ_MT);
    lua_setmetatable(L, -2);
    r->easy = curl_easy_init();
    if (!r->easy) return luaL_error(L, "curl.request: curl_easy_init failed");

    lua_getfield(L, 1, "headers");
    if (lua_istable(L, -1)) {
        for (int i = 1;; i++) {
            lua_rawgeti(L, -1, i);
            const char *h = lua_tostring(L, -1);
            lua_pop(L, 1);
            if (!h) break;
            struct curl_slist *nl = curl_slist_append(r->hdrs, h);
            if (!nl) return luaL_error(L, "curl.request: out of memory");
            r->hdrs = nl;
        }
    }
    lua_pop(L, 1);

    CURL *e = r->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PRIVATE, (void *)r);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, (void *)r);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)r);
    /* Always verified; there is deliberately no option to turn it off. */
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file) SET(CURLOPT_CAINFO, ca_file);
    if (ca_pem) {
        struct curl_blob blob = {(void *)ca_pem, ca_pem_len, CURL_BLOB_COPY};
        SET(CURLOPT_CAINFO_BLOB, &blob);
    }
    if (cert_pem) {
        struct curl_blob blob = {(void *)cert_pem, cert_pem_len, CURL_BLOB_COPY};
        SET(CURLOPT_SSLCERT_BLOB, &blob);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (key_pem) {
        struct curl_blob blob = {(void *)key_pem, key_pem_len, CURL_BLOB_COPY};
        SET(CURLOPT_SSLKEY_BLOB, &blob);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (cert_file) SET(CURLOPT_SSLCERT, cert_file);
    if (key_file) SET(CURLOPT_SSLKEY, key_file);
    /* No CURLOPT_PROXY: libcurl then reads http_proxy, https_proxy and no_proxy. */
    SET(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_USERAGENT, "alluse");
    SET(CURLOPT_HTTPHEADER, r->hdrs);
    if (strcmp(method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (body || strcmp(method, "POST") == 0) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        SET(CURLOPT_COPYPOSTFIELDS, body ? body : "");
        if (strcmp(method, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, method);
    }
#undef SET
    if (rc != CURLE_OK) {
        req_free(r);
        return luaL_error(L, "curl.request: %s", curl_easy_strerror(rc));
    }
    return 1;
}

static http_req *check_req(lua_State *L)
{
    http_req *r = luaL_checkudata(L, 1, REQ_MT);
    if (!r->easy) luaL_error(L, "curl: the request is closed");
    return r;
}

static int req_perform(lua_State *L)
{
    http_req *r = check_req(L);
    if (r->started) return luaL_error(L, "curl: the request is in flight");
    reset(r);
    CURLcode rc = curl_easy_perform(r->easy);
    return push_result(L, r, rc);
}

static int req_start(lua_State *L)
{
    http_req *r = check_req(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    http_multi *m = r->owner;
    if (r->started) return luaL_error(L, "curl: the request is in flight");
    if (m->closed) return luaL_error(L, "curl: the module is closed");
    reset(r);
    CURLMcode mc = curl_multi_add_handle(m->multi, r->easy);
    if (mc != CURLM_OK) {
        lua_pushnil(L);
        lua_pushstring(L, curl_multi_strerror(mc));
        return 2;
    }
    r->started = 1;
    r->next = m->reqs;
    if (m->reqs) m->reqs->prev = r;
    m->reqs = r;
    m->inflight++;
    update_refs(m);
    lua_pushvalue(L, 2);
    r->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 1);
    r->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushboolean(L, 1);
    return 1;
}

static int req_close(lua_State *L)
{
    http_req *r = luaL_checkudata(L, 1, REQ_MT);
    detach(r);
    unref_lua(L, r);
    req_free(r);
    return 0;
}

static int l_sleep(lua_State *L)
{
    lua_Number ms = luaL_checknumber(L, 1);
    luaL_argcheck(L, ms >= 0 && ms < 1e9, 1, "must be milliseconds >= 0");
    uv_sleep((unsigned int)ms);
    return 0;
}

static int l_version(lua_State *L)
{
    lua_pushstring(L, curl_version());
    return 1;
}

int luaopen_alluse_core_curl(lua_State *L)
{
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return luaL_error(L, "curl: curl_global_init failed");
        global_done = 1;
    }
    /* The loop first: its userdata must be older than the multi's, so that lua_close
     * (which finalizes the newest first) closes our handles before the loop. */
    au_loop *lp = au_loop_get(L);

    static const luaL_Reg req_methods[] = {
        {"perform", req_perform}, {"start", req_start}, {"close", req_close}, {NULL, NULL}};
    luaL_newmetatable(L, REQ_MT);
    lua_newtable(L);
    luaL_register(L, NULL, req_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, req_close);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    http_multi *m = lua_newuserdata(L, sizeof *m);
    memset(m, 0, sizeof *m);
    m->closed = 1; /* until fully made: __gc then has nothing to do */
    luaL_newmetatable(L, MULTI_MT);
    lua_pushcfunction(L, multi_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    int m_idx = lua_gettop(L);
    m->loop = lp;
    m->timer = malloc(sizeof *m->timer);
    if (!m->timer) return luaL_error(L, "curl: out of memory");
    m->multi = curl_multi_init();
    if (!m->multi) {
        free(m->timer);
        return luaL_error(L, "curl: curl_multi_init failed");
    }
    uv_timer_init(au_loop_uv(lp), m->timer);
    m->timer->data = m;
    uv_unref((uv_handle_t *)m->timer);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, (void *)m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, (void *)m);
    m->closed = 0;

    static const luaL_Reg fns[] = {{"request", l_request}, {"sleep", l_sleep}, {"version", l_version}, {NULL, NULL}};
    lua_createtable(L, 0, 4);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushvalue(L, m_idx);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
    lua_pushvalue(L, m_idx);
    lua_setfield(L, -2, "_multi"); /* the multi lives as long as the module */
    return 1;
}
