/* crypto_lua.c — alluse.core.crypto: the Lua C API face of sys/crypto.h.
 *
 * All functions take and return Lua strings (binary-safe).  Bad argument types raise;
 * undecodable input returns nil, message (the library's error contract). */
#include <lauxlib.h>
#include <stdlib.h>

#include "host/modules.h"
#include "sys/crypto.h"

#define RANDOM_MAX (1u << 20) /* one call returns at most 1 MiB */

static int l_sha256(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    uint8_t out[AU_SHA256_LEN];
    if (au_sha256(s, len, out) != 0) return luaL_error(L, "sha256: OpenSSL failure");
    lua_pushlstring(L, (const char *)out, sizeof out);
    return 1;
}

static int l_hmac_sha256(lua_State *L)
{
    size_t klen, mlen;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *msg = luaL_checklstring(L, 2, &mlen);
    uint8_t out[AU_SHA256_LEN];
    if (au_hmac_sha256(key, klen, msg, mlen, out) != 0)
        return luaL_error(L, "hmac_sha256: OpenSSL failure");
    lua_pushlstring(L, (const char *)out, sizeof out);
    return 1;
}

static int l_random_bytes(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= (lua_Integer)RANDOM_MAX, 1, "must be 0 .. 1048576");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    uint8_t chunk[256];
    for (lua_Integer left = n; left > 0;) {
        size_t k = left > (lua_Integer)sizeof chunk ? sizeof chunk : (size_t)left;
        if (au_random_bytes(chunk, k) != 0) return luaL_error(L, "random_bytes: OpenSSL RNG failure");
        luaL_addlstring(&b, (const char *)chunk, k);
        left -= (lua_Integer)k;
    }
    luaL_pushresult(&b);
    return 1;
}

/* Scratch buffers come from lua_newuserdata so an error never leaks them. */
static void *scratch(lua_State *L, size_t n)
{
    return lua_newuserdata(L, n ? n : 1);
}

static int l_hex_encode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    char *out = scratch(L, 2 * len);
    au_hex_encode((const uint8_t *)s, len, out);
    lua_pushlstring(L, out, 2 * len);
    return 1;
}

static int l_hex_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    uint8_t *out = scratch(L, len / 2);
    long n = au_hex_decode(s, len, out);
    if (n < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "hex: not an even-length string of hex digits");
        return 2;
    }
    lua_pushlstring(L, (const char *)out, (size_t)n);
    return 1;
}

static int l_base64_encode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    size_t outlen = au_base64_encoded_len(len);
    char *out = scratch(L, outlen);
    au_base64_encode((const uint8_t *)s, len, out);
    lua_pushlstring(L, out, outlen);
    return 1;
}

static int l_base64_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    uint8_t *out = scratch(L, len / 4 * 3);
    long n = au_base64_decode(s, len, out);
    if (n < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "base64: invalid character, length or padding");
        return 2;
    }
    lua_pushlstring(L, (const char *)out, (size_t)n);
    return 1;
}

int luaopen_alluse_core_crypto(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sha256", l_sha256},
        {"hmac_sha256", l_hmac_sha256},
        {"random_bytes", l_random_bytes},
        {"hex_encode", l_hex_encode},
        {"hex_decode", l_hex_decode},
        {"base64_encode", l_base64_encode},
        {"base64_decode", l_base64_decode},
        {NULL, NULL},
    };
    lua_createtable(L, 0, 7);
    luaL_register(L, NULL, fns);
    return 1;
}
