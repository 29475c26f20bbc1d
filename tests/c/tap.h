/* tap.h — the smallest TAP producer for C unit tests.
 *
 *   ok(cond, "name %d", i);  is_int(got, want, "name");  is_str(got, want, "name");
 *   return done_testing();   // prints the plan, returns the exit status
 *
 * Header-only: each test program includes it once. */
#ifndef AU_TESTS_TAP_H
#define AU_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

static int tap_vok(int pass, const char *fmt, va_list ap)
{
    tap_count++;
    if (!pass) tap_failed++;
    printf("%sok %d - ", pass ? "" : "not ", tap_count);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    return pass;
}

__attribute__((format(printf, 2, 3))) static int ok(int pass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = tap_vok(pass, fmt, ap);
    va_end(ap);
    return r;
}

#define is_int(got, want, ...)                                                            \
    do {                                                                                  \
        long long g_ = (long long)(got), w_ = (long long)(want);                          \
        if (!ok(g_ == w_, __VA_ARGS__)) printf("#   got %lld, expected %lld\n", g_, w_);  \
    } while (0)

#define is_str(got, want, ...)                                                            \
    do {                                                                                  \
        const char *g_ = (got), *w_ = (want);                                             \
        int p_ = g_ && w_ && strcmp(g_, w_) == 0;                                         \
        if (!ok(p_, __VA_ARGS__))                                                         \
            printf("#   got \"%s\"\n#   expected \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

/* A new empty temp file for a test: opened for writing, its path in path (n bytes, at
 * least 64), under $TMPDIR or /tmp, named after stem.  NULL (and a failed test) when
 * it cannot be made. */
static inline FILE *tap_temp_file(char *path, size_t n, const char *stem)
{
    const char *dir = getenv("TMPDIR");
    int len = snprintf(path, n, "%s/%s.", dir && *dir ? dir : "/tmp", stem);
    if (len < 0 || (size_t)len + 7 > n) {
        ok(0, "temp file path for %s fits", stem);
        return NULL;
    }
    memset(path + len, 'X', 6); /* mkstemp replaces the last six characters */
    path[len + 6] = '\0';
    int fd = mkstemp(path);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) ok(0, "temp file %s", path);
    return f;
}

static int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed == 0 && tap_count > 0 ? 0 : 1;
}

#endif
