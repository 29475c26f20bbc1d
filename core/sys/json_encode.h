/* json_encode.h — alluse.core.json, the C half of alluse.json's encoder (json_encode.c),
 * and its number formatting for other C code that writes JSON off the Lua state.
 *
 * au_json_number writes into out[40] the shortest decimal that reads back as the finite
 * double n, exactly as alluse.json writes it, and returns its length; it returns 0 for
 * the numbers json_encode.c leaves to the Lua encoder (not whole, and below 1e-4 or
 * from 1e15 up), for which a caller off the Lua state may write "%.17g" (exact, if not
 * the shortest). */
#ifndef AU_SYS_JSON_ENCODE_H
#define AU_SYS_JSON_ENCODE_H

#include <lua.h>
#include <stddef.h>

int luaopen_alluse_core_json(lua_State *L);
size_t au_json_number(double n, char *out);

#endif
