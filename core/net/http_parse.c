/* http_parse.c — see http_parse.h. */
#include <string.h>

#include "net/http_parse.h"

#define FAIL(req, status, why) ((req)->error = (why), -(status))

/* RFC 9110 tchar: the characters of a token (method, header name). */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value may hold visible characters, spaces, tabs and obs-text (>= 0x80). */
static int is_vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int span_ieq(http_span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s.p[i], b = (unsigned char)lit[i];
        if (a >= 'A' && a <= 'Z') a = (unsigned char)(a + 32);
        if (a != b) return 0;
    }
    return 1;
}

/* Does the comma-separated list s hold token (case-insensitive)? */
static int list_has(http_span s, const char *token)
{
    size_t i = 0;
    while (i < s.n) {
        while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == ',')) i++;
        size_t start = i;
        while (i < s.n && s.p[i] != ',') i++;
        size_t end = i;
        while (end > start && (s.p[end - 1] == ' ' || s.p[end - 1] == '\t')) end--;
        http_span item = {s.p + start, end - start};
        if (item.n && span_ieq(item, token)) return 1;
    }
    return 0;
}

/* The end of the line starting at i (the index of its '\n'), or -1 when not in buf. */
static long line_end(const char *buf, size_t len, size_t i)
{
    const char *nl = memchr(buf + i, '\n', len - i);
    return nl ? (long)(nl - buf) : -1;
}

static int parse_request_line(const char *p, size_t n, http_request *req)
{
    const char *sp1 = memchr(p, ' ', n);
    if (!sp1 || sp1 == p) return FAIL(req, 400, "malformed request line");
    req->method = (http_span){p, (size_t)(sp1 - p)};
    for (size_t i = 0; i < req->method.n; i++)
        if (!is_tchar((unsigned char)p[i])) return FAIL(req, 400, "malformed method");
    const char *t = sp1 + 1, *end = p + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t) return FAIL(req, 400, "malformed request line");
    req->target = (http_span){t, (size_t)(sp2 - t)};
    for (const char *c = t; c < sp2; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) return FAIL(req, 400, "malformed request target");
    if (t[0] != '/' && !(req->target.n == 1 && t[0] == '*')) return FAIL(req, 400, "request target must be a path");
    const char *q = memchr(t, '?', req->target.n);
    req->path = (http_span){t, q ? (size_t)(q - t) : req->target.n};
    req->query = q ? (http_span){q + 1, (size_t)(sp2 - q - 1)} : (http_span){sp2, 0};
    const char *v = sp2 + 1;
    size_t vn = (size_t)(end - v);
    if (vn != 8 || memcmp(v, "HTTP/1.", 7) != 0) {
        if (vn >= 5 && memcmp(v, "HTTP/", 5) == 0) return FAIL(req, 505, "HTTP version not supported");
        return FAIL(req, 400, "malformed HTTP version");
    }
    if (v[7] != '0' && v[7] != '1') return FAIL(req, 505, "HTTP version not supported");
    req->minor = v[7] - '0';
    return 0;
}

static int parse_length(http_span v, uint64_t *out)
{
    /* trim OWS */
    while (v.n && (v.p[0] == ' ' || v.p[0] == '\t')) { v.p++; v.n--; }
    while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t')) v.n--;
    if (v.n == 0 || v.n > 18) return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') return -1;
        x = x * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = x;
    return 0;
}

int http_parse_request(const char *buf, size_t len, const http_limits *limits, http_request *req)
{
    memset(req, 0, sizeof *req);
    size_t i = 0;
    /* RFC 9112 2.2: ignore at least one empty line before the request line */
    while (i < len && (buf[i] == '\r' || buf[i] == '\n') && i < 4) i++;
    long nl = line_end(buf, len, i);
    if (nl < 0) return len > limits->max_head ? FAIL(req, 431, "request line too long") : 0;
    if ((size_t)nl + 1 > limits->max_head) return FAIL(req, 431, "request line too long");
    size_t le = (size_t)nl;
    if (le > i && buf[le - 1] == '\r') le--;
    for (size_t k = i; k < le; k++)
        if (buf[k] == '\r' || buf[k] == 0) return FAIL(req, 400, "control character in the request line");
    int rc = parse_request_line(buf + i, le - i, req);
    if (rc < 0) return rc;
    i = (size_t)nl + 1;

    int have_length = 0, chunked = 0, conn_close = 0, conn_keep = 0;
    for (;;) {
        nl = line_end(buf, len, i);
        if (nl < 0) return len > limits->max_head ? FAIL(req, 431, "request header fields too large") : 0;
        if ((size_t)nl + 1 > limits->max_head) return FAIL(req, 431, "request header fields too large");
        le = (size_t)nl;
        if (le > i && buf[le - 1] == '\r') le--;
        if (le == i) { i = (size_t)nl + 1; break; } /* the blank line */
        const char *line = buf + i;
        size_t n = le - i;
        if (line[0] == ' ' || line[0] == '\t') return FAIL(req, 400, "obsolete header line folding");
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line) return FAIL(req, 400, "malformed header field");
        http_span name = {line, (size_t)(colon - line)};
        for (size_t k = 0; k < name.n; k++)
            if (!is_tchar((unsigned char)name.p[k])) return FAIL(req, 400, "malformed header field name");
        const char *vs = colon + 1, *ve = line + n;
        while (vs < ve && (*vs == ' ' || *vs == '\t')) vs++;
        while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        for (const char *c = vs; c < ve; c++)
            if (!is_vchar((unsigned char)*c)) return FAIL(req, 400, "control character in a header field value");
        http_span value = {vs, (size_t)(ve - vs)};
        if (req->nheaders == HTTP_MAX_HEADERS) return FAIL(req, 431, "too many header fields");
        req->names[req->nheaders] = name;
        req->values[req->nheaders] = value;
        req->nheaders++;
        if (span_ieq(name, "content-length")) {
            uint64_t cl;
            if (parse_length(value, &cl) != 0) return FAIL(req, 400, "malformed Content-Length");
            if (have_length && cl != req->content_length) return FAIL(req, 400, "conflicting Content-Length fields");
            req->content_length = cl;
            have_length = 1;
        } else if (span_ieq(name, "transfer-encoding")) {
            chunked = 1;
        } else if (span_ieq(name, "connection")) {
            if (list_has(value, "close")) conn_close = 1;
            if (list_has(value, "keep-alive")) conn_keep = 1;
        }
        i = (size_t)nl + 1;
    }
    if (chunked && have_length) return FAIL(req, 400, "both Transfer-Encoding and Content-Length");
    if (chunked) return FAIL(req, 501, "Transfer-Encoding is not supported: send a Content-Length");
    if (req->content_length > limits->max_body) return FAIL(req, 413, "request body too large");
    req->keep_alive = conn_close ? 0 : (req->minor == 1 ? 1 : conn_keep);
    return (int)i;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
