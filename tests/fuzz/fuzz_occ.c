/* Fuzz target: OCC symbols (options/occ).  occ_parse reads exactly the bytes it is
 * given (the input is copied to a buffer of its exact size, so ASan catches a read
 * past the end); a refusal carries a terminated one-line message that fits the
 * buffer, including a tiny one; an accepted symbol formats to the canonical 21
 * characters, which parse back to the same contract bit for bit, and a 21-character
 * input is already canonical.  The same bytes, read as a contract, exercise
 * occ_format: whatever it accepts must parse back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options/occ.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *err, size_t errlen)
{
    if (memchr(err, '\0', errlen) == NULL) abort();
    if (errlen > 1 && err[0] == '\0') abort();
    if (strchr(err, '\n') != NULL) abort();
}

static void check_parse(const char *s, size_t size)
{
    occ_contract c, again;
    char err[512], tiny[8], buf[OCC_BUFLEN];
    memset(err, 'x', sizeof err);
    if (occ_parse(s, size, &c, err, sizeof err) != 0) {
        check_message(err, sizeof err);
        memset(tiny, 'x', sizeof tiny);
        if (occ_parse(s, size, &c, tiny, sizeof tiny) == 0) abort();
        check_message(tiny, sizeof tiny);
        return;
    }
    if (c.right != OCC_CALL && c.right != OCC_PUT) abort();
    if (!(c.strike > 0 && c.strike < OCC_STRIKE_MAX)) abort();
    if (occ_format(&c, buf, sizeof buf, err, sizeof err) != 0) abort();
    if (strlen(buf) != OCC_SYMBOL_LEN) abort();
    if (size == OCC_SYMBOL_LEN && memcmp(buf, s, size) != 0) abort();
    if (occ_parse(buf, OCC_SYMBOL_LEN, &again, err, sizeof err) != 0) abort();
    if (memcmp(&c, &again, sizeof c) != 0) abort();
}

/* The input's bytes as a contract: the root as given (maybe unterminated), the
 * other fields from whatever bytes follow. */
static void check_format(const uint8_t *data, size_t size)
{
    occ_contract c, back;
    char buf[OCC_BUFLEN], err[512];
    if (size < sizeof c) return;
    memcpy(&c, data, sizeof c);
    memset(err, 'x', sizeof err);
    if (occ_format(&c, buf, sizeof buf, err, sizeof err) != 0) {
        check_message(err, sizeof err);
        return;
    }
    if (strlen(buf) != OCC_SYMBOL_LEN) abort();
    if (occ_parse(buf, OCC_SYMBOL_LEN, &back, err, sizeof err) != 0) abort();
    if (strcmp(back.root, c.root) != 0 || back.year != c.year || back.month != c.month ||
        back.day != c.day || back.right != c.right)
        abort();
    /* A strike within the noise allowance may differ from the parsed one by that much. */
    double d = back.strike - c.strike;
    if (d < -1e-8 || d > 1e-8) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (s == NULL) return 0;
    memcpy(s, data, size);
    check_parse(s, size);
    free(s);
    check_format(data, size);
    return 0;
}
