/* httpd.h — alluse.core.httpd: a small HTTP/1.1 server on the libuv loop (issue #8's
 * service endpoints).  lua/alluse/http_server.lua puts routing on top of it.
 *
 *   srv = httpd.listen(host, port, handler [, opts]) -> server | nil, message, code
 *     handler(req) -> status, headers (name -> value), body     (called on the loop)
 *     req = { method, target, path, query, version ("1.0"/"1.1"), headers (lower-case
 *             name -> value; repeated names joined with ", "), body, peer }
 *     opts: max_header (16384 bytes), max_body (1 MiB), read_timeout_ms (10000),
 *           max_connections (512)
 *   srv:port()   the bound port (useful with port 0)
 *   srv:close()  stops listening and closes every connection
 *
 * Each connection reads into its own buffer, parses with http_parse.c, and answers
 * requests in order (pipelined requests included); keep-alive per HTTP/1.x rules.
 * Bad requests get 400/413/431/501/505 and the connection is closed after the answer;
 * a connection idle or stalled for read_timeout_ms is closed (408 when a request was
 * under way).  A handler that raises, or returns something that is not a response,
 * gets 500: the server never stops for a handler.
 *
 * Ownership: the server and every connection are malloc'ed and freed by uv_close's
 * callbacks; the server userdata holds a pointer, cleared by close()/__gc.  The handler
 * is kept in the registry while the server listens. */
#ifndef AU_NET_HTTPD_H
#define AU_NET_HTTPD_H

#include <lua.h>

int luaopen_alluse_core_httpd(lua_State *L);

#endif
