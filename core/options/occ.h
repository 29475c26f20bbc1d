/* occ.h — OCC option symbols (the OSI symbology every US options venue uses):
 * parsing one into its fields and writing the fields back as the canonical symbol.
 *
 *   AAPL  240119P00190000
 *   ^^^^^^                root: 1..6 characters, left-justified, space-padded to 6
 *         ^^^^^^          expiry YYMMDD (years 2000..2099)
 *               ^         C (call) or P (put)
 *                ^^^^^^^^ strike × 1000, 8 digits (00190000 = 190.000)
 *
 * occ_parse also accepts the compact form without the padding (AAPL240119P00190000,
 * 16..20 characters; a 6-character root has no padding, so its one form is 21 long).
 * Nothing else is tolerated: no lower case, no surrounding blanks, no partial padding,
 * because a symbol is an identifier and two spellings of one contract would make two
 * positions.  A root is an upper-case letter followed by upper-case letters or digits;
 * a root that ends in a digit (SPY7, AAPL1) is a non-standard contract (a mini or an
 * adjusted deliverable) — which this layer reports as a valid symbol; alluse.occ
 * decides what to do with it.  A strike of 0 is refused in both directions: no such
 * contract is listed, and a zero strike in a file is a sign of a broken row.
 * docs/options-contracts.md is the full contract.
 *
 * Both functions are plain computations over caller-owned memory: no allocation, no
 * state.  They read exactly len bytes of s (s need not be NUL-terminated), write at
 * most buflen / errlen bytes, and report a failure as -1 with one line in err that
 * quotes the symbol (non-printable bytes escaped) and names the field at fault.
 * lua/alluse/occ.lua calls them directly through the FFI after checking its own
 * arguments; they check theirs again, so no call from Lua can crash. */
#ifndef AU_OPTIONS_OCC_H
#define AU_OPTIONS_OCC_H

#include <stddef.h>
#include <stdint.h>

#define OCC_SYMBOL_LEN 21           /* the padded form */
#define OCC_BUFLEN (OCC_SYMBOL_LEN + 1)
#define OCC_ROOT_MAX 6
#define OCC_COMPACT_MIN 16          /* a 1-character root without padding */
#define OCC_YEAR_MIN 2000
#define OCC_YEAR_MAX 2099
#define OCC_STRIKE_MAX 100000.0     /* exclusive: 8 digits of thousandths */

enum { OCC_CALL = 1, OCC_PUT = 2 };

typedef struct occ_contract {
    char root[7]; /* NUL-terminated, 1..6 characters */
    int32_t year, month, day;
    int32_t right; /* OCC_CALL or OCC_PUT */
    double strike; /* the nearest double to the symbol's thousandths */
} occ_contract;

/* s[0..len) as an OCC symbol, padded or compact, into *out.  0, or -1 with the
 * reason in err (out is then unspecified). */
int occ_parse(const char *s, size_t len, occ_contract *out, char *err, size_t errlen);

/* *c as the 21-character padded symbol plus a NUL into buf (buflen >= OCC_BUFLEN).
 * 0, or -1 with the reason in err: a root that is empty, longer than 6 or not an
 * upper-case letter then letters/digits; a year outside 2000..2099 or a date that
 * does not exist; a right that is not OCC_CALL/OCC_PUT; a strike that is not finite,
 * not > 0, not < 100000, or not a multiple of 0.001.  A strike within 1e-9 of such a
 * multiple is taken as it (floating-point noise such as 0.1 + 0.2 is forgiven; 12.3456
 * is refused).  occ_parse's strikes are exact multiples, so parse -> format -> parse
 * gives back the same contract, bit for bit. */
int occ_format(const occ_contract *c, char *buf, size_t buflen, char *err, size_t errlen);

#endif
