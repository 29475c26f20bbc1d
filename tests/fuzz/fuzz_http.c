/* Fuzz target: the HTTP request head parser (net/http_parse).  The input is copied
 * to a buffer of its exact size (ASan catches a read past the end).  On success the
 * head's length is within the input, every span points inside it, and parsing just
 * the head again gives the same answer; on refusal the status is one the server
 * answers with and the reason is a one-line text.  Every prefix of an accepted head
 * is "need more" or a refusal, never a different head. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(http_span s, const char *buf, size_t len)
{
    if (s.n == 0) return;
    if (s.p < buf || s.p + s.n > buf + len) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    http_limits lim = {1024, 4096};
    http_request r;
    int rc = http_parse_request(buf, size, &lim, &r);
    if (rc < 0) {
        int st = -rc;
        if (st != 400 && st != 413 && st != 431 && st != 501 && st != 505) abort();
        if (!r.error || strchr(r.error, '\n')) abort();
    } else if (rc > 0) {
        if ((size_t)rc > size) abort();
        check_span(r.method, buf, (size_t)rc);
        check_span(r.target, buf, (size_t)rc);
        check_span(r.path, buf, (size_t)rc);
        check_span(r.query, buf, (size_t)rc);
        if (r.nheaders < 0 || r.nheaders > HTTP_MAX_HEADERS) abort();
        for (int i = 0; i < r.nheaders; i++) {
            check_span(r.names[i], buf, (size_t)rc);
            check_span(r.values[i], buf, (size_t)rc);
        }
        if (r.content_length > lim.max_body) abort();
        http_request again;
        if (http_parse_request(buf, (size_t)rc, &lim, &again) != rc) abort();
        if (again.content_length != r.content_length || again.nheaders != r.nheaders) abort();
        for (size_t cut = 0; cut < (size_t)rc; cut += 1 + (size_t)rc / 16) {
            int p = http_parse_request(buf, cut, &lim, &again);
            if (p > 0) abort();
        }
    }
    free(buf);
    return 0;
}
