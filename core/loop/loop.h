/* loop.h — alluse.core.loop: the libuv event loop and its handles for Lua (luv's way:
 * one userdata per handle, a method table per type, closed in close() or __gc).
 *
 *   loop.run([mode])        "default" (until no active handle), "once", "nowait";
 *                           returns true while handles remain active.  A callback that
 *                           raises stops the loop and run() raises its error.
 *   loop.now()              the loop's clock in milliseconds
 *   loop.poll(fd)           a uv_poll_t on fd: p:start("r"|"w"|"rw", fn(events)), p:stop(), p:close()
 *   loop.timer()            a uv_timer_t:      t:start(ms, fn), t:stop(), t:close()
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

/* For other C modules with handles on the same loop (core/net/httpd.c): */
typedef struct au_loop au_loop;
au_loop *au_loop_of(lua_State *L);        /* this state's loop (loads the module) */
uv_loop_t *au_loop_uv(au_loop *lp);
lua_State *au_loop_state(au_loop *lp);    /* the state running run(); NULL outside it */

#endif
