/* host.c — lua_State lifecycle, module loading, the guarded call path. */
#include "host/host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/embed.h"
#include "host/modules.h"
#include "host/version.h"

struct au_host {
    lua_State *L;
};

/* Message handler for host_call: turn any error value into text plus traceback. */
static int traceback_handler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int host_call(lua_State *L, int nargs, int nresults)
{
    int base = lua_gettop(L) - nargs; /* the function's slot */
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return rc;
}

/* An error outside any protected call would otherwise abort(); say why and exit. */
static int at_panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "alluse: unprotected Lua error: %s\n", msg ? msg : "?");
    exit(1);
    return 0;
}

/* package.preload loader for one embedded module; upvalue 1 is its index. */
static int load_embedded(lua_State *L)
{
    const au_embed_module *m = &au_embed_modules[lua_tointeger(L, lua_upvalueindex(1))];
    if (luaL_loadbuffer(L, m->source, (size_t)m->size, m->chunkname) != 0)
        return lua_error(L);
    lua_pushstring(L, m->name);
    lua_call(L, 1, 1);
    return 1;
}

static void install_preload(lua_State *L, int use_embedded)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    for (const au_c_module *c = au_c_modules; c->name; c++) {
        lua_pushcfunction(L, c->open);
        lua_setfield(L, -2, c->name);
    }
    if (use_embedded) {
        for (int i = 0; au_embed_modules[i].name; i++) {
            lua_pushinteger(L, i);
            lua_pushcclosure(L, load_embedded, 1);
            lua_setfield(L, -2, au_embed_modules[i].name);
        }
    }
    lua_pop(L, 2);
}

/* ALLUSE_LUA_PATH=DIR: the library comes from DIR/?.lua instead of the binary. */
static void use_disk_library(lua_State *L, const char *dir)
{
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

/* The Lua half states its version and ABI in alluse.version; they must equal ours. */
static int host_check_halves(lua_State *L, const char *libdir, char *errbuf, size_t errlen)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, "alluse.version");
    if (host_call(L, 1, 1) != 0) {
        snprintf(errbuf, errlen, "cannot load the Lua library%s%s: %s",
                 libdir ? " from ALLUSE_LUA_PATH=" : "", libdir ? libdir : "",
                 lua_tostring(L, -1));
        return -1;
    }
    lua_getfield(L, -1, "version");
    lua_getfield(L, -2, "abi");
    const char *v = lua_tostring(L, -2);
    lua_Integer abi = lua_tointeger(L, -1);
    int ok = v && strcmp(v, AU_VERSION) == 0 && abi == AU_ABI;
    if (!ok)
        snprintf(errbuf, errlen,
                 "the Lua library%s%s is version %s (abi %ld) but this binary is %s (abi %d): "
                 "they come from different builds; rebuild with make%s",
                 libdir ? " in " : "", libdir ? libdir : "", v ? v : "?", (long)abi,
                 AU_VERSION, AU_ABI, libdir ? " or unset ALLUSE_LUA_PATH" : "");
    lua_pop(L, 3);
    return ok ? 0 : -1;
}

au_host *host_new(char *errbuf, size_t errlen)
{
    au_host *host = calloc(1, sizeof *host);
    if (host == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    host->L = luaL_newstate();
    if (host->L == NULL) {
        snprintf(errbuf, errlen, "cannot create the Lua state (out of memory)");
        free(host);
        return NULL;
    }
    lua_atpanic(host->L, at_panic);
    luaL_openlibs(host->L);
    const char *libdir = getenv("ALLUSE_LUA_PATH");
    if (libdir && *libdir == '\0') libdir = NULL;
    install_preload(host->L, libdir == NULL);
    if (libdir) use_disk_library(host->L, libdir);
    if (host_check_halves(host->L, libdir, errbuf, errlen) != 0) {
        host_free(host);
        return NULL;
    }
    return host;
}

void host_free(au_host *host)
{
    if (host == NULL) return;
    if (host->L) lua_close(host->L);
    free(host);
}

lua_State *host_lua(au_host *host)
{
    return host->L;
}

int host_run_cli(au_host *host, int argc, char **argv)
{
    lua_State *L = host->L;
    lua_getglobal(L, "require");
    lua_pushstring(L, "alluse.cli");
    if (host_call(L, 1, 1) != 0) {
        fprintf(stderr, "alluse: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return 1;
    }
    lua_getfield(L, -1, "main");
    lua_remove(L, -2);
    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    if (host_call(L, 1, 1) != 0) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return 1;
    }
    int status = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    return status;
}
