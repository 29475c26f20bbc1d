/* http_parse.h — an HTTP/1.x request head parser for the engine's small server
 * (core/net/httpd.c).  Pure: no I/O, no allocation; it reads a buffer the caller owns
 * and points into it.
 *
 *   http_request req;
 *   int rc = http_parse_request(buf, len, &limits, &req);
 *     rc > 0:  a whole head was read: rc bytes (request line, headers, blank line);
 *              req.content_length bytes of body follow (the caller checks it against
 *              its own limit, and reads it)
 *     rc == 0: not enough bytes yet (and the head is still within limits.max_head)
 *     rc < 0:  a bad request: -status, the HTTP status to answer with (400, 413, 431,
 *              501, 505), and req.error a one-line reason
 *
 * What it accepts (RFC 9112, strictly): METHOD SP request-target SP HTTP/1.0 or /1.1
 * CRLF (bare LF accepted as a line end), header fields `name: value` with a token name
 * and no whitespace before the colon, at most HTTP_MAX_HEADERS of them, no obsolete
 * line folding.  Content-Length is digits only; two that differ, or one with
 * Transfer-Encoding, are refused (request smuggling); Transfer-Encoding at all is 501
 * (the server takes no chunked bodies).  Names and values point into the buffer and
 * are not NUL-terminated. */
#ifndef AU_NET_HTTP_PARSE_H
#define AU_NET_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 64

typedef struct http_span {
    const char *p;
    size_t n;
} http_span;

typedef struct http_limits {
    size_t max_head;   /* request line + headers, bytes (16 KiB in the server) */
    uint64_t max_body; /* Content-Length above this is 413 */
} http_limits;

typedef struct http_request {
    http_span method, target, path, query;
    int minor;                 /* HTTP/1.<minor> */
    int nheaders;
    http_span names[HTTP_MAX_HEADERS], values[HTTP_MAX_HEADERS];
    uint64_t content_length;
    int keep_alive;            /* after this request: 1.1 unless "close", 1.0 only with "keep-alive" */
    const char *error;         /* on rc < 0: why, one line */
} http_request;

int http_parse_request(const char *buf, size_t len, const http_limits *limits, http_request *req);

/* The reason phrase of a status code ("Not Found"); "Unknown" for others. */
const char *http_reason(int status);

#endif
