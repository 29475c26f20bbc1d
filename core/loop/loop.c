/* loop.c — alluse.core.loop; see loop.h. */
#include <lauxlib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "host/modules.h"
#include "loop/loop.h"

#define LOOP_MT "alluse.loop"
#define POLL_MT "alluse.loop.poll"
#define TIMER_MT "alluse.loop.timer"
#define SIGNAL_MT "alluse.loop.signal"
#define FSEVENT_MT "alluse.loop.fs_event"

struct au_loop {
    uv_loop_t uv;
    lua_State *L;   /* the state running run(), for callbacks; NULL outside run() */
    int err_ref;    /* a callback's error, raised by run() */
    int ok;         /* uv_loop_init succeeded */
};

/* A handle's memory: the uv handle first, so a uv_handle_t* is also this. */
typedef struct au_handle {
    union {
        uv_handle_t handle;
        uv_poll_t poll;
        uv_timer_t timer;
        uv_signal_t signal;
        uv_fs_event_t fs_event;
    } u;
    au_loop *loop;
    int fn_ref;     /* the callback while started */
    int self_ref;   /* the userdata while started: an active handle is not collected */
} au_handle;

typedef struct handle_box {
    au_handle *h;   /* NULL once closed */
} handle_box;

static au_loop *loop_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* ---- callbacks ---- */

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

void au_loop_call(au_loop *lp, int nargs)
{
    lua_State *L = lp->L;
    lua_pushcfunction(L, traceback);
    lua_insert(L, -(nargs + 2));
    int tb = lua_gettop(L) - nargs - 1;
    if (lua_pcall(L, nargs, 0, tb) != 0) {
        if (lp->err_ref == LUA_NOREF) lp->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        else lua_pop(L, 1);
        uv_stop(&lp->uv);
    }
    lua_pop(L, 1); /* traceback */
}

/* Calls h's callback with the nargs arguments already pushed on the loop's state.  An
 * error is kept for run() to raise, and stops the loop. */
static void call_back(au_handle *h, int nargs)
{
    lua_State *L = h->loop->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->fn_ref);
    lua_insert(L, -(nargs + 1));
    au_loop_call(h->loop, nargs);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    au_handle *h = (au_handle *)p;
    if (!h->loop->L || h->fn_ref == LUA_NOREF) return;
    lua_State *L = h->loop->L;
    if (status < 0) {
        lua_pushnil(L);
        lua_pushstring(L, uv_strerror(status));
        call_back(h, 2);
        return;
    }
    const char *ev = (events & UV_READABLE) && (events & UV_WRITABLE) ? "rw" : (events & UV_READABLE) ? "r" : "w";
    lua_pushstring(L, ev);
    call_back(h, 1);
}

static void on_timer(uv_timer_t *t)
{
    au_handle *h = (au_handle *)t;
    if (!h->loop->L || h->fn_ref == LUA_NOREF) return;
    call_back(h, 0);
}

static void free_handle(uv_handle_t *hd)
{
    free(hd);
}

/* ---- handles ---- */

static void unref_all(lua_State *L, au_handle *h)
{
    luaL_unref(L, LUA_REGISTRYINDEX, h->fn_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, h->self_ref);
    h->fn_ref = h->self_ref = LUA_NOREF;
}

static au_handle *new_handle(lua_State *L, au_loop *lp, const char *mt)
{
    handle_box *box = lua_newuserdata(L, sizeof *box);
    box->h = NULL;
    luaL_getmetatable(L, mt);
    lua_setmetatable(L, -2);
    au_handle *h = calloc(1, sizeof *h);
    if (!h) luaL_error(L, "loop: out of memory");
    h->loop = lp;
    h->fn_ref = h->self_ref = LUA_NOREF;
    box->h = h;
    return h;
}

static au_handle *check_open(lua_State *L, const char *mt)
{
    handle_box *box = luaL_checkudata(L, 1, mt);
    if (!box->h) luaL_error(L, "loop: the handle is closed");
    return box->h;
}

/* Remembers fn (at index idx) and the userdata (index 1) while the handle runs. */
static void hold(lua_State *L, au_handle *h, int idx)
{
    unref_all(L, h);
    lua_pushvalue(L, idx);
    h->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 1);
    h->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* The end of every h:start(): true, or nil and why (the callback is let go); what
 * names the thing started (a path), or NULL. */
static int started(lua_State *L, au_handle *h, int rc, const char *what)
{
    if (rc == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    unref_all(L, h);
    lua_pushnil(L);
    if (what) lua_pushfstring(L, "%s: %s", what, uv_strerror(rc));
    else lua_pushstring(L, uv_strerror(rc));
    return 2;
}

static int handle_close(lua_State *L, const char *mt)
{
    handle_box *box = luaL_checkudata(L, 1, mt);
    au_handle *h = box->h;
    if (!h) return 0;
    unref_all(L, h);
    box->h = NULL;
    if (h->loop->ok && !uv_is_closing(&h->u.handle)) uv_close(&h->u.handle, free_handle);
    return 0;
}

/* loop.poll(fd) */
static int l_poll(lua_State *L)
{
    au_loop *lp = loop_of(L);
    int fd = (int)luaL_checkinteger(L, 1);
    au_handle *h = new_handle(L, lp, POLL_MT);
    int rc = uv_poll_init(&lp->uv, &h->u.poll, fd);
    if (rc != 0) {
        handle_box *box = lua_touserdata(L, -1);
        box->h = NULL;
        free(h);
        lua_pushnil(L);
        lua_pushfstring(L, "loop.poll(%d): %s", fd, uv_strerror(rc));
        return 2;
    }
    return 1;
}

static int poll_start(lua_State *L)
{
    au_handle *h = check_open(L, POLL_MT);
    const char *ev = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    int events = 0;
    if (strchr(ev, 'r')) events |= UV_READABLE;
    if (strchr(ev, 'w')) events |= UV_WRITABLE;
    if (!events) return luaL_argerror(L, 2, "must be \"r\", \"w\" or \"rw\"");
    hold(L, h, 3);
    int rc = uv_poll_start(&h->u.poll, events, on_poll);
    return started(L, h, rc, NULL);
}

static int poll_stop(lua_State *L)
{
    au_handle *h = check_open(L, POLL_MT);
    uv_poll_stop(&h->u.poll);
    unref_all(L, h);
    return 0;
}

static int poll_close(lua_State *L) { return handle_close(L, POLL_MT); }

/* loop.timer() */
static int l_timer(lua_State *L)
{
    au_loop *lp = loop_of(L);
    au_handle *h = new_handle(L, lp, TIMER_MT);
    uv_timer_init(&lp->uv, &h->u.timer);
    return 1;
}

static int timer_start(lua_State *L)
{
    au_handle *h = check_open(L, TIMER_MT);
    lua_Number ms = luaL_checknumber(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_argcheck(L, ms >= 0 && ms < 1e12, 2, "must be milliseconds >= 0");
    hold(L, h, 3);
    uv_timer_start(&h->u.timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

static int timer_stop(lua_State *L)
{
    au_handle *h = check_open(L, TIMER_MT);
    uv_timer_stop(&h->u.timer);
    unref_all(L, h);
    return 0;
}

static int timer_close(lua_State *L) { return handle_close(L, TIMER_MT); }

/* loop.signal(): a uv_signal_t.  s:start("SIGTERM" | "SIGINT" | "SIGHUP" | ..., fn(name)):
 * fn runs on the loop, not in a signal handler, so it may do anything. */
static const struct { const char *name; int num; } SIGNALS[] = {
    {"SIGTERM", SIGTERM}, {"SIGINT", SIGINT}, {"SIGHUP", SIGHUP}, {"SIGUSR1", SIGUSR1},
    {"SIGUSR2", SIGUSR2}, {"SIGQUIT", SIGQUIT}, {NULL, 0},
};

static void on_signal(uv_signal_t *sg, int signum)
{
    au_handle *h = (au_handle *)sg;
    if (!h->loop->L || h->fn_ref == LUA_NOREF) return;
    const char *name = "?";
    for (int i = 0; SIGNALS[i].name; i++) if (SIGNALS[i].num == signum) name = SIGNALS[i].name;
    lua_pushstring(h->loop->L, name);
    call_back(h, 1);
}

static int l_signal(lua_State *L)
{
    au_loop *lp = loop_of(L);
    au_handle *h = new_handle(L, lp, SIGNAL_MT);
    uv_signal_init(&lp->uv, &h->u.signal);
    return 1;
}

static int signal_start(lua_State *L)
{
    au_handle *h = check_open(L, SIGNAL_MT);
    const char *name = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    int num = 0;
    for (int i = 0; SIGNALS[i].name; i++) if (strcmp(SIGNALS[i].name, name) == 0) num = SIGNALS[i].num;
    if (!num) return luaL_argerror(L, 2, "one of SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT");
    hold(L, h, 3);
    int rc = uv_signal_start(&h->u.signal, on_signal, num);
    return started(L, h, rc, NULL);
}

static int signal_stop(lua_State *L)
{
    au_handle *h = check_open(L, SIGNAL_MT);
    uv_signal_stop(&h->u.signal);
    unref_all(L, h);
    return 0;
}

static int signal_close(lua_State *L) { return handle_close(L, SIGNAL_MT); }

/* loop.fs_event(): a uv_fs_event_t (inotify).  w:start(path, fn(filename, "change" |
 * "rename")) watches a file, or the entries of a folder; fn runs on the loop. */
static void on_fs_event(uv_fs_event_t *ev, const char *filename, int events, int status)
{
    au_handle *h = (au_handle *)ev;
    if (!h->loop->L || h->fn_ref == LUA_NOREF || status < 0) return;
    lua_State *L = h->loop->L;
    if (filename) lua_pushstring(L, filename); else lua_pushnil(L);
    lua_pushstring(L, (events & UV_RENAME) ? "rename" : "change");
    call_back(h, 2);
}

static int l_fs_event(lua_State *L)
{
    au_loop *lp = loop_of(L);
    au_handle *h = new_handle(L, lp, FSEVENT_MT);
    uv_fs_event_init(&lp->uv, &h->u.fs_event);
    return 1;
}

static int fs_event_start(lua_State *L)
{
    au_handle *h = check_open(L, FSEVENT_MT);
    const char *path = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    hold(L, h, 3);
    int rc = uv_fs_event_start(&h->u.fs_event, on_fs_event, path, 0);
    return started(L, h, rc, path);
}

static int fs_event_close(lua_State *L) { return handle_close(L, FSEVENT_MT); }


/* h:unref(): the handle no longer keeps run() going (a signal watcher, or a deadline
 * timer, that should not hold the process open on its own). */
static int handle_unref(lua_State *L)
{
    /* one function for the kinds that have it: which one is read off the metatable */
    static const char *const kinds[] = {SIGNAL_MT, FSEVENT_MT, TIMER_MT};
    int kind_ok = 0;
    if (lua_getmetatable(L, 1)) {
        for (int i = 0; i < 3 && !kind_ok; i++) {
            luaL_getmetatable(L, kinds[i]);
            kind_ok = lua_rawequal(L, -1, -2);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    handle_box *box = kind_ok ? lua_touserdata(L, 1) : NULL;
    if (!box || !box->h) return luaL_error(L, "loop: unref: not an open signal, fs_event or timer handle");
    uv_unref(&box->h->u.handle);
    return 0;
}

/* ---- for C modules on the same loop (loop.h) ---- */

au_loop *au_loop_get(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "alluse.core.loop");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "_loop");
    au_loop *lp = luaL_checkudata(L, -1, LOOP_MT);
    lua_pop(L, 2);
    return lp;
}

uv_loop_t *au_loop_uv(au_loop *lp) { return &lp->uv; }

lua_State *au_loop_state(au_loop *lp) { return lp->L; }

/* ---- the loop ---- */

static int l_run(lua_State *L)
{
    au_loop *lp = loop_of(L);
    const char *mode = luaL_optstring(L, 1, "default");
    uv_run_mode m = strcmp(mode, "once") == 0 ? UV_RUN_ONCE : strcmp(mode, "nowait") == 0 ? UV_RUN_NOWAIT : UV_RUN_DEFAULT;
    if (lp->L) return luaL_error(L, "loop.run: the loop is already running");
    lp->L = L;
    int alive = uv_run(&lp->uv, m);
    lp->L = NULL;
    if (lp->err_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, lp->err_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, lp->err_ref);
        lp->err_ref = LUA_NOREF;
        return lua_error(L);
    }
    lua_pushboolean(L, alive != 0);
    return 1;
}

static int l_now(lua_State *L)
{
    au_loop *lp = loop_of(L);
    uv_update_time(&lp->uv);
    lua_pushnumber(L, (lua_Number)uv_now(&lp->uv));
    return 1;
}

static int l_alive(lua_State *L)
{
    lua_pushboolean(L, uv_loop_alive(&loop_of(L)->uv));
    return 1;
}

static int loop_gc(lua_State *L)
{
    au_loop *lp = lua_touserdata(L, 1);
    /* Lua 5.1 finalizes userdata in reverse order of creation, so every handle (made
     * after the loop) was closed before this runs; their close callbacks free them. */
    if (lp->ok) {
        uv_run(&lp->uv, UV_RUN_NOWAIT);
        uv_loop_close(&lp->uv);
        lp->ok = 0;
    }
    return 0;
}

static void set_methods(lua_State *L, const char *mt, const luaL_Reg *methods, lua_CFunction gc)
{
    luaL_newmetatable(L, mt);
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

int luaopen_alluse_core_loop(lua_State *L)
{
    static const luaL_Reg poll_methods[] = {
        {"start", poll_start}, {"stop", poll_stop}, {"close", poll_close}, {NULL, NULL}};
    static const luaL_Reg timer_methods[] = {
        {"start", timer_start}, {"stop", timer_stop}, {"close", timer_close}, {"unref", handle_unref},
        {NULL, NULL}};
    set_methods(L, POLL_MT, poll_methods, poll_close);
    set_methods(L, TIMER_MT, timer_methods, timer_close);
    static const luaL_Reg signal_methods[] = {
        {"start", signal_start}, {"stop", signal_stop}, {"close", signal_close}, {"unref", handle_unref},
        {NULL, NULL}};
    set_methods(L, SIGNAL_MT, signal_methods, signal_close);
    static const luaL_Reg fs_event_methods[] = {
        {"start", fs_event_start}, {"close", fs_event_close}, {"unref", handle_unref}, {NULL, NULL}};
    set_methods(L, FSEVENT_MT, fs_event_methods, fs_event_close);

    au_loop *lp = lua_newuserdata(L, sizeof *lp);
    memset(lp, 0, sizeof *lp);
    lp->err_ref = LUA_NOREF;
    if (uv_loop_init(&lp->uv) != 0) return luaL_error(L, "loop: uv_loop_init failed");
    lp->ok = 1;
    luaL_newmetatable(L, LOOP_MT);
    lua_pushcfunction(L, loop_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    int loop_idx = lua_gettop(L);

    static const luaL_Reg fns[] = {
        {"run", l_run}, {"now", l_now}, {"alive", l_alive}, {"poll", l_poll}, {"timer", l_timer}, {"signal", l_signal}, {"fs_event", l_fs_event}, {NULL, NULL}};
    lua_createtable(L, 0, 6);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushvalue(L, loop_idx);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
    lua_pushvalue(L, loop_idx);
    lua_setfield(L, -2, "_loop"); /* keeps the loop alive as long as the module */
    return 1;
}
