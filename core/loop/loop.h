/* loop.h — alluse.core.loop: the libuv event loop and its handles for Lua (luv's way:
 * one userdata per handle, a method table per type, closed in close() or __gc).
 *
 *   loop.run([mode])        "default" (until no active handle), "once", "nowait";
 *                           returns true while handles remain active.  A callback that
 *                           raises stops the loop and run() raises its error.
 *   loop.now()              the loop's clock in milliseconds
 *   loop.poll(fd)           a uv_poll_t on fd: p:start("r"|"w"|"rw", fn(events)), p:stop(), p:close()
 *   loop.timer()            a uv_timer_t:      t:start(ms, fn), t:stop(), t:close()
 *   loop.signal()           a uv_signal_t:     s:start("SIGTERM", fn(name)), s:stop(), s:close(),
 *                           s:unref() (does not keep run() going on its own)
 *   loop.fs_event()         a uv_fs_event_t:   w:start(path, fn(filename, "change"|"rename")),
 *                           w:close(), w:unref()
 *
 * Ownership: the uv_loop_t lives in a userdata the module keeps in its upvalues; each
 * handle's memory is malloc'ed and freed by uv_close's callback (libuv may still touch
 * a handle after close() returns, so it cannot live in GC-managed memory).  A started
 * handle keeps its Lua callback (and its userdata) referenced in the registry until it
 * is stopped or closed, so an active handle is never collected.  Callbacks run on the
 * lua_State that called run() — the resume driver (lua/alluse/task.lua) resumes the
 * coroutine waiting on the handle from there. */
#ifndef AU_LOOP_LOOP_H
#define AU_LOOP_LOOP_H

#include <lua.h>
#include <uv.h>

int luaopen_alluse_core_loop(lua_State *L);

/* For C modules whose handles live on this same loop (core/net/http_client.c):
 *   au_loop_get(L)      the loop of require("alluse.core.loop") (raises if it cannot load);
 *                       it lives as long as that module, i.e. until lua_close
 *   au_loop_uv(lp)      its uv_loop_t
 *   au_loop_state(lp)   the lua_State running loop.run(), NULL outside run()
 *   au_loop_call(lp, n) calls the function under n arguments pushed on au_loop_state(lp)
 *                       as a handle's callback is called: with a traceback, and an error
 *                       stops the loop for run() to raise.  Pops the function and args. */
typedef struct au_loop au_loop;
au_loop *au_loop_get(lua_State *L);
uv_loop_t *au_loop_uv(au_loop *lp);
lua_State *au_loop_state(au_loop *lp);
void au_loop_call(au_loop *lp, int nargs);

#endif
