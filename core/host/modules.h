/* modules.h — C modules the host puts in package.preload (Lua C API tier).
 *
 * Each subsystem that binds objects or functions through the Lua C API adds its
 * luaopen_* here; FFI functions (au_ffi_*) need no registration. */
#ifndef AU_HOST_MODULES_H
#define AU_HOST_MODULES_H

#include <lua.h>

typedef struct au_c_module {
    const char *name;
    lua_CFunction open;
} au_c_module;

extern const au_c_module au_c_modules[];

int luaopen_cjson(lua_State *L); /* from liblua5.1-cjson; its header is not needed */
int luaopen_alluse_core_host(lua_State *L);
int luaopen_alluse_core_crypto(lua_State *L);
int luaopen_alluse_core_json(lua_State *L);
int luaopen_alluse_core_readline(lua_State *L);
int luaopen_alluse_core_sqlite(lua_State *L);
int luaopen_alluse_core_pg(lua_State *L);
int luaopen_alluse_core_loop(lua_State *L);
int luaopen_alluse_core_dbwriter(lua_State *L);
int luaopen_alluse_core_httpd(lua_State *L);
int luaopen_alluse_core_control(lua_State *L);
int luaopen_alluse_core_curl(lua_State *L);

#endif
