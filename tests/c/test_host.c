/* The host: state creation, the embedded library, and host_call — the one guarded
 * path from C into Lua — turning every kind of error into message + traceback. */
#include <lauxlib.h>
#include <stdlib.h>

#include "host/host.h"
#include "tap.h"

/* Compile src and run it through host_call; returns the status, leaves the result. */
static int run(lua_State *L, const char *src)
{
    if (luaL_loadbuffer(L, src, strlen(src), "=chunk") != 0) return -1;
    return host_call(L, 0, 1);
}

int main(void)
{
    char err[512] = "";
    unsetenv("ALLUSE_LUA_PATH");
    au_host *host = host_new(err, sizeof err);
    ok(host != NULL, "host_new builds a state from the embedded library (%s)", err);
    if (!host) return done_testing();
    lua_State *L = host_lua(host);

    int top = lua_gettop(L);
    is_int(run(L, "return 6 * 7"), 0, "a good chunk runs");
    is_int(lua_tointeger(L, -1), 42, "and returns its value");
    lua_pop(L, 1);

    is_int(run(L, "local function f() error('deep failure') end\nf()"), LUA_ERRRUN, "an error is reported");
    const char *msg = lua_tostring(L, -1);
    ok(msg && strncmp(msg, "chunk:1: deep failure", 21) == 0, "message starts with file:line: message");
    ok(msg && strstr(msg, "stack traceback:") != NULL, "and carries a traceback");
    ok(msg && strstr(msg, "chunk:2:") != NULL, "the traceback names the calling line");
    lua_pop(L, 1);

    is_int(run(L, "error({})"), LUA_ERRRUN, "a table error is reported");
    msg = lua_tostring(L, -1);
    ok(msg && strstr(msg, "(error object is a table value)") != NULL, "and described by type");
    lua_pop(L, 1);

    is_int(run(L, "error(setmetatable({}, {__tostring = function() return 'custom' end}))"), LUA_ERRRUN,
           "an error with __tostring is reported");
    msg = lua_tostring(L, -1);
    ok(msg && strncmp(msg, "custom", 6) == 0, "and shown through __tostring");
    lua_pop(L, 1);

    is_int(run(L, "return require('cjson').encode({1, 2})"), 0, "cjson is in package.preload");
    is_str(lua_tostring(L, -1), "[1,2]", "and works");
    lua_pop(L, 1);

    is_int(run(L, "return require('alluse.version').version == require('alluse.core.host').build().version"),
           0, "the Lua half's version is readable");
    ok(lua_toboolean(L, -1), "and equals the C half's");
    lua_pop(L, 1);
    is_int(lua_gettop(L), top, "host_call leaves the stack balanced");

    host_free(host);

    setenv("ALLUSE_LUA_PATH", "/nonexistent-alluse-lib", 1);
    host = host_new(err, sizeof err);
    ok(host == NULL, "a missing ALLUSE_LUA_PATH library is refused");
    ok(strstr(err, "cannot load the Lua library from ALLUSE_LUA_PATH=/nonexistent-alluse-lib") != NULL,
       "with a message naming the folder");
    host_free(host);
    return done_testing();
}
