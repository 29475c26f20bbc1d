/* embed.h — the built-in Lua library compiled into the binary.
 *
 * au_embed_modules[] is generated at build time by tools/lua2c from lua/ and ends
 * with an entry whose name is NULL.  The bytes are static and never freed. */
#ifndef AU_HOST_EMBED_H
#define AU_HOST_EMBED_H

#include <stddef.h>

typedef struct au_embed_module {
    const char *name;      /* "alluse.cli" */
    const char *chunkname; /* "@lua/alluse/cli.lua", for error messages */
    const char *source;
    int size;
} au_embed_module;

extern const au_embed_module au_embed_modules[];

#endif
