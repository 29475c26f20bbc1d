/* hostlib.c — alluse.core.host: facts about this binary for the Lua half.
 *
 * build() -> {version, abi, commit, lua_path}; libraries() -> the versions of the
 * libraries linked and actually loaded (run-time, not compile-time, where the
 * library can tell); isatty(fd); pid(), hostname(), pid_alive(pid) (whose run a
 * store row belongs to, and whether that process still exists). */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <lauxlib.h>
#include <luajit.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "buildinfo.h"
#include "host/modules.h"
#include "host/version.h"

static int host_build(lua_State *L)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, AU_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushinteger(L, AU_ABI);
    lua_setfield(L, -2, "abi");
    lua_pushstring(L, AU_GIT_COMMIT);
    lua_setfield(L, -2, "commit");
    const char *libdir = getenv("ALLUSE_LUA_PATH");
    if (libdir && *libdir) {
        lua_pushstring(L, libdir);
        lua_setfield(L, -2, "lua_path");
    }
    return 1;
}

static int host_libraries(lua_State *L)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, LUAJIT_VERSION);
    lua_setfield(L, -2, "luajit");
    lua_pushstring(L, uv_version_string());
    lua_setfield(L, -2, "libuv");
    lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
    lua_setfield(L, -2, "libcurl");
    lua_pushstring(L, OpenSSL_version(OPENSSL_VERSION));
    lua_setfield(L, -2, "openssl");
    int pq = PQlibVersion(); /* 150018 -> 15.18 */
    lua_pushfstring(L, "%d.%d", pq / 10000, pq % 10000);
    lua_setfield(L, -2, "libpq");
    lua_pushstring(L, sqlite3_libversion());
    lua_setfield(L, -2, "sqlite");
    return 1;
}

static int host_isatty(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    lua_pushboolean(L, fd >= 0 && isatty(fd));
    return 1;
}

static int host_pid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

static int host_hostname(lua_State *L)
{
    char name[256];
    if (gethostname(name, sizeof name) != 0) name[0] = 0;
    name[sizeof name - 1] = 0;
    lua_pushstring(L, name);
    return 1;
}

/* kill(pid, 0): EPERM means it exists but is not ours to signal. */
static int host_pid_alive(lua_State *L)
{
    lua_Integer pid = luaL_checkinteger(L, 1);
    lua_pushboolean(L, pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM));
    return 1;
}

int luaopen_alluse_core_host(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"build", host_build},
        {"libraries", host_libraries},
        {"isatty", host_isatty},
        {"pid", host_pid},
        {"hostname", host_hostname},
        {"pid_alive", host_pid_alive},
        {NULL, NULL},
    };
    lua_createtable(L, 0, 3);
    luaL_register(L, NULL, fns);
    return 1;
}
