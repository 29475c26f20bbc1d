/* json_encode.c — alluse.core.json: the fast path of alluse.json's encoder.
 *
 *   text = encode(value, sorted, indent, null_non_finite, arrays, format_number)
 *   -> the JSON text, or nil, reason when value holds something this path leaves to
 *      the Lua encoder (lua/alluse/json.lua)
 *
 * The Lua encoder is the definition: this function writes exactly its bytes (keys in
 * byte order when sorted, the same indentation, numbers as the shortest decimal that
 * reads back with strtod, the same escapes), and tests/lua/test_json.lua compares the
 * two on generated documents.  Everything that is an error there (NaN without
 * non_finite = "null", a cycle, invalid UTF-8, keys that are neither strings nor
 * numbers, mixed keys, functions...), and int64 cdata, which C cannot read through the
 * Lua C API, makes this return nil; the Lua encoder then runs and raises its precise
 * message, or writes the cdata.  So messages live in one place and the common case —
 * result documents of tens of megabytes — costs a tenth of the Lua encoder's time.
 *
 * arrays is alluse.json's weak set of tables marked with json.array.  A cycle shows
 * as nesting past MAX_DEPTH, the depth the Lua encoder refuses too. */
#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/modules.h"
#include "sys/json_encode.h"

#define MAX_DEPTH 1000
#define MAX_SAFE 9007199254740992.0 /* 2^53 */

/* Why the fast path gave up (returned to Lua, which says it precisely). */
static const char *const FALLBACK = "fallback";

typedef struct key_ref {
    const char *s; /* string keys: the key, anchored in its table */
    size_t len;
    size_t slot; /* number keys: where in names its formatted name is */
    double num;  /* number keys: the key */
} key_ref;

/* Output and scratch, owned by a userdata whose __gc frees them, so an error thrown
 * out of a Lua API call (memory) leaks nothing. */
typedef struct enc {
    char *buf;
    size_t len, cap;
    key_ref *keys; /* a stack of per-object key lists */
    size_t nkeys, capkeys;
    char *names; /* numeric keys' formatted names, 32 bytes each */
    size_t nnames, capnames;
    int sorted, null_non_finite;
    const char *indent;
    size_t indent_len;
    int arrays; /* stack index of the arrays set */
    int fmt;    /* stack index of alluse.json's format_number, for the rare numbers */
    lua_State *L;
} enc;

static void enc_free(enc *e)
{
    free(e->buf);
    free(e->keys);
    free(e->names);
    e->buf = NULL;
    e->keys = NULL;
    e->names = NULL;
}

static int enc_gc(lua_State *L)
{
    enc_free(lua_touserdata(L, 1));
    return 0;
}

static void reserve(enc *e, size_t more)
{
    if (e->len + more <= e->cap) return;
    size_t cap = e->cap ? e->cap : 4096;
    while (cap < e->len + more) cap *= 2;
    char *p = realloc(e->buf, cap);
    if (!p) luaL_error(e->L, "json.encode: out of memory");
    e->buf = p;
    e->cap = cap;
}

static void put(enc *e, const char *s, size_t n)
{
    reserve(e, n);
    memcpy(e->buf + e->len, s, n);
    e->len += n;
}

static void putc1(enc *e, char c)
{
    reserve(e, 1);
    e->buf[e->len++] = c;
}

static void newline(enc *e, int depth)
{
    if (!e->indent) return;
    reserve(e, 1 + e->indent_len * (size_t)depth);
    e->buf[e->len++] = '\n';
    for (int i = 0; i < depth; i++) {
        memcpy(e->buf + e->len, e->indent, e->indent_len);
        e->len += e->indent_len;
    }
}

/* ---- numbers: alluse.json's format_number ---- */

/* The decimal digits of u, right-aligned ending at end; returns the first. */
static char *put_digits(uint64_t u, char *end)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return end;
}

static const double POW10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* Numbers of at most 15 significant digits between 1e-4 and 1e15 — prices, amounts,
 * ratios: nearly every number in a result — without printf and strtod, which cost
 * most of the encoder's time.  The first k with d = round(n 10^k) and d / 10^k == n
 * (a correctly rounded division: the double strtod reads from "d / 10^k" written out)
 * gives the digits.  Only one decimal of 15 or fewer significant digits can read
 * back as n, and %.15g writes the one nearest n, so when d has 15 digits or fewer
 * this is %.15g's text, in fixed notation as %g writes in this range, and the Lua
 * encoder's answer.  0 when n is not such a number. */
static size_t format_short(double n, char *out)
{
    double a = fabs(n);
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    for (int k = 1; k < 16; k++) {
        double d = nearbyint(a * POW10[k]);
        if (d >= 1e15) return 0;
        if (d / POW10[k] != a) continue;
        char tmp[40], *end = tmp + sizeof tmp;
        char *p = put_digits((uint64_t)d, end);
        size_t nd = (size_t)(end - p), w = 0;
        if (n < 0) out[w++] = '-';
        if (nd <= (size_t)k) { /* 0.000ddd */
            out[w++] = '0';
            out[w++] = '.';
            for (size_t z = nd; z < (size_t)k; z++) out[w++] = '0';
            memcpy(out + w, p, nd);
            w += nd;
        } else {
            size_t ip = nd - (size_t)k;
            memcpy(out + w, p, ip);
            w += ip;
            out[w++] = '.';
            memcpy(out + w, p + ip, (size_t)k);
            w += (size_t)k;
        }
        out[w] = 0;
        return w;
    }
    return 0;
}

typedef unsigned __int128 u128;

/* 10^q for 0 <= q <= 21: 10^19 and up do not fit in 64 bits. */
static u128 pow10_128(int q)
{
    static const uint64_t p64[20] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
        100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
        10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
        100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};
    return q < 20 ? p64[q] : (u128)p64[q - 10] * p64[10];
}

/* n to P significant digits in %g's fixed notation, rounded the way LuaJIT's
 * string.format rounds (to nearest, exact ties away from zero; glibc's printf takes
 * ties to even, and the Lua encoder's text is the definition), into out.  *exact_back
 * says whether the text reads back as n through a correctly rounded strtod.  For
 * 1e-4 <= |n| < 1e15 (so n = m 2^-sh with 3 <= sh <= 66, and 10^q at most 10^20):
 * every step is exact 128-bit integer arithmetic.  0 when the rounding reaches
 * 10^P (%g would write an exponent). */
static size_t format_digits(double n, int P, char *out, int *exact_back)
{
    int ex;
    double a = fabs(n), fr = frexp(a, &ex);
    uint64_t m = (uint64_t)ldexp(fr, 53); /* a = m 2^(ex - 53) */
    int sh = 53 - ex;
    int X = (int)floor(log10(a)); /* the decimal exponent; corrected below */
    u128 D = 0, p10 = 0;
    int q = 0;
    for (int tries = 0; tries < 3; tries++) { /* X from the exact value, unrounded */
        q = P - 1 - X;
        if (q < 0 || q > 21) return 0; /* log10 was far off at an edge: Lua's case */
        p10 = pow10_128(q);
        u128 N = (u128)m * p10;
        D = N >> sh;
        if (D >= pow10_128(P)) {
            X++;
            continue;
        }
        if (D < pow10_128(P - 1)) {
            X--;
            continue;
        }
        u128 rem = N - (D << sh), half = (u128)1 << (sh - 1);
        if (rem >= half) D++;
        break;
    }
    if (D == pow10_128(P)) { /* rounding carried into a new digit: 9.99.. -> 10.0.. */
        D /= 10;
        X++;
        q--;
        p10 /= 10;
        if (X >= P) return 0; /* %g would switch to an exponent: the Lua path's case */
    }
    /* Does D 10^-q read back as n?  Scaled by 10^q 2^sh: |D 2^sh - m 10^q| against half
     * the gap to n's neighbour (the gap below a power of two is half as wide); a tie
     * goes to the even one. */
    u128 lhs = D << sh, rhs = (u128)m * p10;
    u128 diff = lhs > rhs ? lhs - rhs : rhs - lhs;
    int below = lhs < rhs && m == ((uint64_t)1 << 52);
    u128 twice = below ? diff << 2 : diff << 1;
    *exact_back = twice < p10 || (twice == p10 && (below || (m & 1) == 0));
    char tmp[48], *end = tmp + sizeof tmp;
    char *d = end;
    uint64_t d64 = (uint64_t)D; /* < 10^17: 64-bit division by 10 is a multiply */
    for (int k = 0; k < P; k++) {
        *--d = (char)('0' + (int)(d64 % 10));
        d64 /= 10;
    }
    int nd = P;
    while (nd > 1 && d[nd - 1] == '0') nd--; /* %g drops trailing zeros */
    size_t w = 0;
    if (n < 0) out[w++] = '-';
    if (X >= 0) {
        int ip = X + 1;
        for (int k = 0; k < ip; k++) out[w++] = k < nd ? d[k] : '0';
        if (nd > ip) {
            out[w++] = '.';
            for (int k = ip; k < nd; k++) out[w++] = d[k];
        }
    } else {
        out[w++] = '0';
        out[w++] = '.';
        for (int k = 0; k < -X - 1; k++) out[w++] = '0';
        for (int k = 0; k < nd; k++) out[w++] = d[k];
    }
    out[w] = 0;
    return w;
}

/* The shortest decimal that reads back as n (finite) into out[40], as the Lua
 * encoder's format_number writes it; its length, or 0 for a number this file leaves
 * to that function (below 1e-4 or from 1e15 up, and not whole). */
static size_t format_number(double n, char *out)
{
    if (n == floor(n) && n >= -MAX_SAFE && n <= MAX_SAFE) {
        if (n == 0 && signbit(n)) return (size_t)snprintf(out, 40, "-0");
        char tmp[24], *end = tmp + sizeof tmp;
        char *p = put_digits((uint64_t)fabs(n), end);
        size_t w = 0;
        if (n < 0) out[w++] = '-';
        memcpy(out + w, p, (size_t)(end - p));
        w += (size_t)(end - p);
        out[w] = 0;
        return w;
    }
    size_t w = format_short(n, out);
    if (w) return w;
    double a = fabs(n);
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    int back;
    for (int P = 15; P <= 16; P++) {
        w = format_digits(n, P, out, &back);
        if (!w || back) return w;
    }
    return format_digits(n, 17, out, &back);
}

size_t au_json_number(double n, char *out)
{
    return format_number(n, out);
}

/* format_number, or for what it leaves, alluse.json's own format_number. */
static size_t number_text(enc *e, double v, char *out)
{
    size_t w = format_number(v, out);
    if (w) return w;
    lua_State *L = e->L;
    lua_pushvalue(L, e->fmt);
    lua_pushnumber(L, v);
    lua_call(L, 1, 1);
    const char *s = lua_tolstring(L, -1, &w);
    if (!s || w >= 32) w = 0; /* not possible for a finite double; the Lua path decides */
    else memcpy(out, s, w + 1);
    lua_pop(L, 1);
    return w;
}

/* ---- strings ---- */

/* Length of the well-formed UTF-8 sequence at p[i] (p[i] >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, size_t i, size_t n)
{
    unsigned c = p[i], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + len > n) return 0;
    if (p[i + 1] < lo || p[i + 1] > hi) return 0;
    for (size_t j = i + 2; j < i + len; j++)
        if (p[j] < 0x80 || p[j] > 0xBF) return 0;
    return len;
}

/* The quoted string, escaped as alluse.json does (control characters 0-31, '"' and
 * '\'; 127 and UTF-8 pass as they are).  0 when s is not valid UTF-8. */
static int put_string(enc *e, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') i++;
    if (i == n) { /* the common case: nothing to look at */
        reserve(e, n + 2);
        e->buf[e->len++] = '"';
        memcpy(e->buf + e->len, s, n);
        e->len += n;
        e->buf[e->len++] = '"';
        return 1;
    }
    for (size_t j = i; j < n;) {
        if (s[j] < 0x80) {
            j++;
            continue;
        }
        size_t k = utf8_len(s, j, n);
        if (!k) return 0;
        j += k;
    }
    reserve(e, 2 + i + 6 * (n - i));
    e->buf[e->len++] = '"';
    memcpy(e->buf + e->len, s, i);
    e->len += i;
    for (; i < n; i++) {
        unsigned char c = s[i];
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc) {
            memcpy(e->buf + e->len, esc, 2);
            e->len += 2;
        } else if (c < 0x20) {
            e->len += (size_t)snprintf(e->buf + e->len, 7, "\\u%04x", c);
        } else {
            e->buf[e->len++] = (char)c;
        }
    }
    e->buf[e->len++] = '"';
    return 1;
}

/* ---- values ---- */

static int encode_value(enc *e, int idx, int depth);

/* Byte order, as LuaJIT compares strings; a shorter prefix first. */
static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static int cmp_keys(const void *x, const void *y)
{
    const key_ref *a = x, *b = y;
    return cmp_bytes(a->s, a->len, b->s, b->len);
}

static void sort_keys(key_ref *k, size_t n)
{
    if (n > 16) {
        qsort(k, n, sizeof *k, cmp_keys);
        return;
    }
    for (size_t i = 1; i < n; i++) { /* objects are small: insertion sort, no malloc */
        key_ref x = k[i];
        size_t j = i;
        while (j > 0 && cmp_keys(&k[j - 1], &x) > 0) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = x;
    }
}

static void keys_reserve(enc *e, size_t more)
{
    if (e->nkeys + more <= e->capkeys) return;
    size_t cap = e->capkeys ? e->capkeys : 256;
    while (cap < e->nkeys + more) cap *= 2;
    key_ref *p = realloc(e->keys, cap * sizeof *p);
    if (!p) luaL_error(e->L, "json.encode: out of memory");
    e->keys = p;
    e->capkeys = cap;
}

static char *name_slot(enc *e, size_t i)
{
    return e->names + 32 * i;
}

static void names_reserve(enc *e, size_t more)
{
    if (e->nnames + more <= e->capnames) return;
    size_t cap = e->capnames ? e->capnames : 64;
    while (cap < e->nnames + more) cap *= 2;
    char *p = realloc(e->names, cap * 32);
    if (!p) luaL_error(e->L, "json.encode: out of memory");
    e->names = p;
    e->capnames = cap;
}

/* The start of an object's member i: the comma, the line, the key and the colon.
 * 0 when the key is not valid UTF-8. */
static int put_member_key(enc *e, size_t i, const char *key, size_t len, int depth)
{
    if (i > 0) putc1(e, ',');
    newline(e, depth + 1);
    if (!put_string(e, key, len)) return 0;
    if (e->indent) put(e, ": ", 2);
    else putc1(e, ':');
    return 1;
}

static int encode_array(enc *e, int t, size_t len, int depth)
{
    if (len == 0) {
        put(e, "[]", 2);
        return 1;
    }
    putc1(e, '[');
    for (size_t i = 1; i <= len; i++) {
        if (i > 1) putc1(e, ',');
        newline(e, depth + 1);
        lua_rawgeti(e->L, t, (int)i);
        int ok = encode_value(e, lua_gettop(e->L), depth + 1);
        lua_pop(e->L, 1);
        if (!ok) return 0;
    }
    newline(e, depth);
    putc1(e, ']');
    return 1;
}

/* An object: string keys (numeric == 0) or number keys (numeric == 1), n of them. */
static int encode_object(enc *e, int t, size_t n, int numeric, int depth)
{
    lua_State *L = e->L;
    size_t base = e->nkeys, nbase = e->nnames;
    keys_reserve(e, n);
    if (numeric) names_reserve(e, n);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        key_ref *r = &e->keys[base + k];
        if (numeric) {
            double v = lua_tonumber(L, -1);
            if (!isfinite(v)) {
                lua_pop(L, 1);
                return 0;
            }
            r->slot = e->nnames++;
            r->len = number_text(e, v, name_slot(e, r->slot));
            if (!r->len) {
                lua_pop(L, 1);
                return 0;
            }
            r->s = name_slot(e, r->slot); /* for the sort only: names may move later */
            r->num = v;
        } else {
            r->s = lua_tolstring(L, -1, &r->len);
        }
        k++;
    }
    e->nkeys = base + k;
    if (e->sorted) sort_keys(e->keys + base, k);
    putc1(e, '{');
    int ok = 1;
    for (size_t i = 0; i < k && ok; i++) {
        key_ref *r = &e->keys[base + i]; /* again each time: nested objects move keys */
        ok = put_member_key(e, i, numeric ? name_slot(e, r->slot) : r->s, r->len, depth);
        if (!ok) break;
        if (numeric) {
            lua_pushnumber(L, r->num);
        } else {
            lua_pushlstring(L, r->s, r->len);
        }
        lua_rawget(L, t);
        ok = encode_value(e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    e->nkeys = base;
    e->nnames = nbase;
    if (!ok) return 0;
    if (k > 0) newline(e, depth);
    putc1(e, '}');
    return 1;
}

/* Any table: count its keys to tell an array from an object, then write it (the Lua
 * encoder's rules).  Objects found here look their values up by key. */
static int encode_counted(enc *e, int t, int marked, int depth)
{
    lua_State *L = e->L;
    size_t nstr = 0, nnum = 0;
    double maxi = 0;
    int all_index = 1;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        int tk = lua_type(L, -1);
        if (tk == LUA_TSTRING) {
            nstr++;
        } else if (tk == LUA_TNUMBER) {
            double k = lua_tonumber(L, -1);
            nnum++;
            if (k >= 1 && k == floor(k) && k < HUGE_VAL) {
                if (k > maxi) maxi = k;
            } else {
                all_index = 0;
            }
        } else {
            lua_pop(L, 1);
            return 0;
        }
    }
    if (marked) {
        if (nstr > 0 || !all_index) return 0;
        return encode_array(e, t, (size_t)maxi, depth);
    }
    if (nstr == 0 && nnum > 0 && all_index && maxi == (double)nnum)
        return encode_array(e, t, (size_t)maxi, depth);
    if (nstr > 0 && nnum > 0) return 0;
    return encode_object(e, t, nstr + nnum, nnum > 0, depth);
}

/* An unmarked table with no array part, the usual object: one pass of lua_next leaves
 * every key and value on the stack, so they are written without looking each value
 * up again by its key.  A key that is not a string, or more keys than the stack can
 * take, sends it to encode_counted. */
static int encode_map(enc *e, int t, int depth)
{
    lua_State *L = e->L;
    int base = lua_gettop(L);
    size_t kbase = e->nkeys, n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) { /* ... pairs, key, value */
        if (lua_type(L, -2) != LUA_TSTRING || !lua_checkstack(L, 4)) {
            lua_settop(L, base);
            e->nkeys = kbase;
            return encode_counted(e, t, 0, depth);
        }
        keys_reserve(e, 1);
        key_ref *r = &e->keys[kbase + n];
        r->s = lua_tolstring(L, -2, &r->len);
        r->slot = (size_t)lua_gettop(L); /* the value's stack index */
        e->nkeys = kbase + ++n;
        lua_pushvalue(L, -2); /* the key again, for lua_next */
    }
    if (e->sorted) sort_keys(e->keys + kbase, n);
    putc1(e, '{');
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        key_ref *r = &e->keys[kbase + i]; /* again each time: nested objects move keys */
        ok = put_member_key(e, i, r->s, r->len, depth);
        if (!ok) break;
        ok = encode_value(e, (int)r->slot, depth + 1);
    }
    e->nkeys = kbase;
    lua_settop(L, base);
    if (!ok) return 0;
    if (n > 0) newline(e, depth);
    putc1(e, '}');
    return 1;
}

static int encode_table(enc *e, int t, int depth)
{
    lua_State *L = e->L;
    if (depth >= MAX_DEPTH) return 0; /* deep, or a cycle: Lua says which */
    if (!lua_checkstack(L, 8)) return 0;
    lua_pushvalue(L, t);
    lua_rawget(L, e->arrays);
    int marked = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (marked || lua_objlen(L, t) > 0) return encode_counted(e, t, marked, depth);
    return encode_map(e, t, depth);
}

static int encode_value(enc *e, int idx, int depth)
{
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return put_string(e, s, n);
    }
    case LUA_TNUMBER: {
        double v = lua_tonumber(L, idx);
        if (isfinite(v)) {
            char num[40];
            size_t w = number_text(e, v, num);
            put(e, num, w);
            return w > 0;
        }
        if (!e->null_non_finite) return 0;
        put(e, "null", 4);
        return 1;
    }
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) put(e, "true", 4);
        else put(e, "false", 5);
        return 1;
    case LUA_TNIL:
        put(e, "null", 4);
        return 1;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL) return 0;
        put(e, "null", 4); /* json.null, cjson's NULL */
        return 1;
    case LUA_TTABLE:
        return encode_table(e, idx, depth);
    default:
        return 0;
    }
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    int sorted = lua_toboolean(L, 2);
    size_t indent_len = 0;
    const char *indent = lua_isnoneornil(L, 3) ? NULL : luaL_checklstring(L, 3, &indent_len);
    int null_non_finite = lua_toboolean(L, 4);
    luaL_checktype(L, 5, LUA_TTABLE);
    luaL_checktype(L, 6, LUA_TFUNCTION);
    lua_settop(L, 6);
    enc *e = lua_newuserdata(L, sizeof *e); /* slot 7 */
    memset(e, 0, sizeof *e);
    luaL_getmetatable(L, "alluse.core.json.enc");
    lua_setmetatable(L, -2);
    e->L = L;
    e->sorted = sorted;
    e->null_non_finite = null_non_finite;
    e->indent = indent_len ? indent : NULL;
    e->indent_len = indent_len;
    e->arrays = 5;
    e->fmt = 6;
    int ok = encode_value(e, 1, 0);
    if (ok) {
        lua_pushlstring(L, e->buf ? e->buf : "", e->len);
    } else {
        lua_pushnil(L);
        lua_pushstring(L, FALLBACK);
    }
    enc_free(e); /* now, not at the next collection: the buffer can be 20 MB */
    return ok ? 1 : 2;
}

int luaopen_alluse_core_json(lua_State *L)
{
    luaL_newmetatable(L, "alluse.core.json.enc");
    lua_pushcfunction(L, enc_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"encode", l_encode},
        {NULL, NULL},
    };
    lua_createtable(L, 0, 1);
    luaL_register(L, NULL, fns);
    return 1;
}
