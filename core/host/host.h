/* host.h — the one lua_State of the process and the only way C calls into Lua.
 *
 * The host owns the lua_State: host_new creates it with the standard libraries,
 * cjson and the built-in modules in package.preload (or, with ALLUSE_LUA_PATH set,
 * the Lua library from that folder), and host_free closes it, running every __gc.
 * All entries from C into Lua go through host_call, which installs a traceback
 * handler so an error arrives as "file:line: message\nstack traceback: ...". */
#ifndef AU_HOST_HOST_H
#define AU_HOST_HOST_H

#include <lua.h>

typedef struct au_host au_host;

/* Returns NULL and writes a one-line reason to errbuf when the state cannot be
 * built or the Lua and C halves come from different builds. */
au_host *host_new(char *errbuf, size_t errlen);
void host_free(au_host *host);
lua_State *host_lua(au_host *host);

/* Call the function below nargs arguments on the stack, like lua_pcall, with the
 * traceback handler.  On error returns non-zero and leaves one string (message plus
 * traceback) on the stack. */
int host_call(lua_State *L, int nargs, int nresults);

/* Hand argv to alluse.cli.main; returns the process exit status. */
int host_run_cli(au_host *host, int argc, char **argv);

#endif
