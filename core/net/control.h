/* control.h — alluse.core.control: the engine's control socket, a unix socket of
 * line-framed messages (issue #8: `--control PATH`, `alluse repl --attach PATH`).
 *
 * Server, on the libuv loop:
 *   srv = control.listen(path, handler [, {max_line = bytes}]) -> server | nil, message, code
 *     The socket is created with mode 0600 (umask 0177 around bind, then chmod): only
 *     its owner may connect.  A stale socket file (nothing listening) is replaced; a
 *     live one is EADDRINUSE.
 *     handler(id, line) -> reply   called per line a client sends (without the "\n");
 *                                  the reply (a string) is sent back with "\n"
 *     handler(id, nil)             when the client hangs up (drop its state)
 *   srv:close()   stops listening, closes clients, unlinks the path
 * Client, blocking (the REPL's side):
 *   c = control.connect(path [, timeout_ms]) -> client | nil, message, code
 *   reply = c:request(line) -> reply line | nil, message, code   (waits up to timeout_ms)
 *   c:close()
 *
 * A line longer than max_line (1 MiB) closes that client.  Ownership: server and
 * clients are malloc'ed and freed by uv_close callbacks; the handler is held in the
 * registry while the server listens.  The client side owns its fd and read buffer. */
#ifndef AU_NET_CONTROL_H
#define AU_NET_CONTROL_H

#include <lua.h>

int luaopen_alluse_core_control(lua_State *L);

#endif
