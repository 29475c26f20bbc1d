/* http_client.h — alluse.core.curl: HTTP requests with libcurl, for lua/alluse/http.lua.
 *
 *   curl.request{method=, url=, headers={"Name: value", ...}, body=, timeout_ms=,
 *                ca_file=, max_body=}         -> req (a userdata owning one CURL easy handle)
 *   req:perform()      blocking (curl_easy_perform): status, headers, body | nil, msg, code
 *   req:start(fn)      non-blocking: adds req to the module's CURLM, which libuv drives on
 *                      alluse.core.loop's loop; fn(status, headers, body) or fn(nil, msg,
 *                      code) is called from the loop when it is done.  true | nil, msg
 *   req:close()        stops (removes it from the multi) and frees it; also its __gc
 *   curl.sleep(ms)     a blocking sleep, for retries outside a task
 *
 * headers is a table of lower-case names -> values (repeated fields joined with ", ").
 * Codes: ETIMEDOUT ECONNREFUSED ECONNECTION ERESOLVE ETLS EBODY EURL EHTTP (see
 * docs/http-client.md).  TLS peer and host verification are always on; the proxy
 * environment (http_proxy, https_proxy, no_proxy) is left to libcurl, which reads it.
 *
 * Ownership: the CURLM, its uv_timer_t and one uv_poll_t per socket curl watches belong
 * to the module (a userdata made when the module opens, after the loop's, so lua_close
 * finalizes it before the loop).  uv handles are malloc'ed and freed by uv_close's
 * callback.  A started req keeps itself and fn referenced in the registry until done or
 * closed, so a request in flight is never collected. */
#ifndef AU_NET_HTTP_CLIENT_H
#define AU_NET_HTTP_CLIENT_H

#include <lua.h>

int luaopen_alluse_core_curl(lua_State *L);

#endif
