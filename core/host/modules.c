/* The registry of C modules; see modules.h. */
#include "host/modules.h"

const au_c_module au_c_modules[] = {
    {"cjson", luaopen_cjson},
    {"alluse.core.host", luaopen_alluse_core_host},
    {"alluse.core.crypto", luaopen_alluse_core_crypto},
    {"alluse.core.json", luaopen_alluse_core_json},
    {"alluse.core.readline", luaopen_alluse_core_readline},
    {"alluse.core.sqlite", luaopen_alluse_core_sqlite},
    {"alluse.core.pg", luaopen_alluse_core_pg},
    {"alluse.core.loop", luaopen_alluse_core_loop},
    {"alluse.core.dbwriter", luaopen_alluse_core_dbwriter},
    {"alluse.core.httpd", luaopen_alluse_core_httpd},
    {"alluse.core.control", luaopen_alluse_core_control},
    {"alluse.core.curl", luaopen_alluse_core_curl},
    {0, 0},
};
