/* test_occ.c — options/occ: OCC symbols parsed (padded and compact), every refusal
 * and its message, formatting and its refusals, and exact round trips over a grid of
 * roots, dates, rights and strikes.  Expected symbols are written out by hand from
 * the OCC's symbology (and the shipped SPY chain), not produced by the code under
 * test. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options/occ.h"
#include "tap.h"

static occ_contract C(const char *root, int y, int m, int d, int right, double strike)
{
    occ_contract c;
    memset(&c, 0, sizeof c);
    snprintf(c.root, sizeof c.root, "%s", root);
    c.year = y;
    c.month = m;
    c.day = d;
    c.right = right;
    c.strike = strike;
    return c;
}

static void parses(const char *s, const char *root, int y, int m, int d, int right, double strike)
{
    occ_contract c;
    char err[256] = "";
    int rc = occ_parse(s, strlen(s), &c, err, sizeof err);
    int pass = rc == 0 && strcmp(c.root, root) == 0 && c.year == y && c.month == m && c.day == d &&
               c.right == right && c.strike == strike;
    if (!ok(pass, "parse \"%s\" -> %s %04d-%02d-%02d %s %.3f", s, root, y, m, d,
            right == OCC_CALL ? "call" : "put", strike)) {
        if (rc != 0)
            printf("#   refused: %s\n", err);
        else
            printf("#   got %s %04d-%02d-%02d right %d strike %.17g\n", c.root, (int)c.year,
                   (int)c.month, (int)c.day, (int)c.right, c.strike);
    }
}

/* s (length len) is refused with a message containing each of the fragments. */
static void refused_n(const char *s, size_t len, const char *name, const char *frag1,
                      const char *frag2)
{
    occ_contract c;
    char err[512] = "";
    int rc = occ_parse(s, len, &c, err, sizeof err);
    int pass = rc == -1 && strstr(err, frag1) != NULL && (frag2 == NULL || strstr(err, frag2) != NULL);
    if (!ok(pass, "refuse %s", name))
        printf("#   rc %d, message: %s\n#   wanted: %s%s%s\n", rc, err, frag1, frag2 ? " ... " : "",
               frag2 ? frag2 : "");
}

static void refused(const char *s, const char *name, const char *frag1, const char *frag2)
{
    refused_n(s, strlen(s), name, frag1, frag2);
}

static void formats(occ_contract c, const char *want, const char *name)
{
    char buf[OCC_BUFLEN], err[256] = "";
    memset(buf, 'x', sizeof buf);
    int rc = occ_format(&c, buf, sizeof buf, err, sizeof err);
    if (rc != 0) snprintf(buf, sizeof buf, "(refused)");
    is_str(buf, want, "format %s", name);
    if (rc != 0) printf("#   %s\n", err);
}

static void format_refused(occ_contract c, const char *name, const char *frag)
{
    char buf[OCC_BUFLEN], err[256] = "";
    int rc = occ_format(&c, buf, sizeof buf, err, sizeof err);
    if (!ok(rc == -1 && strstr(err, frag) != NULL, "format refuses %s", name))
        printf("#   rc %d, message: %s\n#   wanted: %s\n", rc, err, frag);
}

static void test_parse_valid(void)
{
    parses("AAPL  240119P00190000", "AAPL", 2024, 1, 19, OCC_PUT, 190.0);
    parses("AAPL240119P00190000", "AAPL", 2024, 1, 19, OCC_PUT, 190.0);
    parses("SPY   150117C00200000", "SPY", 2015, 1, 17, OCC_CALL, 200.0);
    parses("SPY   150109C00208500", "SPY", 2015, 1, 9, OCC_CALL, 208.5);
    parses("SPY7  150117C00200000", "SPY7", 2015, 1, 17, OCC_CALL, 200.0);
    parses("SPY7150117C00200000", "SPY7", 2015, 1, 17, OCC_CALL, 200.0);
    parses("F     261218C00012500", "F", 2026, 12, 18, OCC_CALL, 12.5);
    parses("F261218C00012500", "F", 2026, 12, 18, OCC_CALL, 12.5);
    parses("GOOGL 240621C00175000", "GOOGL", 2024, 6, 21, OCC_CALL, 175.0);
    parses("GOOGL240621C00175000", "GOOGL", 2024, 6, 21, OCC_CALL, 175.0);
    parses("BRKB12240621P00400000", "BRKB12", 2024, 6, 21, OCC_PUT, 400.0);
    /* Thousandths survive: 12.345 is the double nearest the decimal. */
    parses("XYZ   240315C00012345", "XYZ", 2024, 3, 15, OCC_CALL, 12.345);
    parses("XYZ   240315C00000001", "XYZ", 2024, 3, 15, OCC_CALL, 0.001);
    parses("XYZ   240315C99999999", "XYZ", 2024, 3, 15, OCC_CALL, 99999.999);
    /* Date edges: the century's first and last days, leap days. */
    parses("XYZ   000101C00010000", "XYZ", 2000, 1, 1, OCC_CALL, 10.0);
    parses("XYZ   991231P00010000", "XYZ", 2099, 12, 31, OCC_PUT, 10.0);
    parses("XYZ   000229C00010000", "XYZ", 2000, 2, 29, OCC_CALL, 10.0);
    parses("XYZ   240229C00010000", "XYZ", 2024, 2, 29, OCC_CALL, 10.0);
    parses("XYZ   240430C00010000", "XYZ", 2024, 4, 30, OCC_CALL, 10.0);
}

static void test_parse_refusals(void)
{
    refused("", "the empty string", "length 0", "expected 21");
    refused("AAPL  240119P0019000", "20 chars with padding (a strike digit short)", "root \"AAPL \"",
            "has a space");
    refused("AAPL  240119P001900000", "22 characters", "length 22", "\"AAPL  240119P001900000\"");
    refused("240119P00190000", "no root at all (15 characters)", "length 15", NULL);
    refused("      240119P00190000", "a root of spaces", "root \"      \" is empty", NULL);
    refused(" AAPL 240119P00190000", "a leading space", "root \" AAPL\"",
            "must start with an upper-case letter");
    refused("AA PL 240119P00190000", "a space inside the root", "root \"AA PL\"", "has a space");
    refused("AAPL 240119P00190000", "partial padding (20 characters)", "root \"AAPL \"", "has a space");
    refused("aapl  240119P00190000", "a lower-case root", "root \"aapl\"",
            "must start with an upper-case letter");
    refused("AaPL  240119P00190000", "a lower-case letter inside", "root \"AaPL\"",
            "upper-case letters and digits");
    refused("7SPY  150117C00200000", "a root starting with a digit", "root \"7SPY\"",
            "must start with an upper-case letter");
    refused("BRK.B 240621P00400000", "a dot in the root", "root \"BRK.B\"", "letters and digits");
    refused("AAPL  241301P00190000", "month 13", "the date field \"241301\" is not a date",
            "month 13 is not 1..12");
    refused("AAPL  240001P00190000", "month 0", "date field \"240001\"", "month 0 is not 1..12");
    refused("AAPL  240431P00190000", "day 31 in April", "date field \"240431\"",
            "day 31 is not in April 2024 (1..30)");
    refused("AAPL  230229P00190000", "Feb 29 in a common year", "date field \"230229\"",
            "day 29 is not in February 2023 (1..28)");
    refused("AAPL  240100P00190000", "day 0", "date field \"240100\"", "day 0 is not in January 2024");
    refused("AAPL  24A119P00190000", "a letter in the date", "date field \"24A119\" is not a date",
            "six digits");
    refused("AAPL  240119X00190000", "right X", "the right \"X\" must be C (call) or P (put)", NULL);
    refused("AAPL  240119c00190000", "lower-case right", "the right \"c\"", NULL);
    refused("AAPL  240119P0019000A", "a letter in the strike", "strike field \"0019000A\"",
            "8 digits");
    refused("AAPL  240119P-0190000", "a sign in the strike", "strike field \"-0190000\"", NULL);
    refused("AAPL  240119P00000000", "strike 0", "the strike is 0", NULL);
    refused("AAPL  240119P00190000\n", "a trailing newline", "length 22",
            "\"AAPL  240119P00190000\\x0A\"");
    /* Bytes that are not text are escaped, and a long input is cut, in the message. */
    refused_n("AAPL\0 240119P00190000", 21, "a NUL in the root", "\"AAPL\\x00 240119P00190000\"",
              "root");
    char big[300];
    memset(big, 'A', sizeof big);
    refused_n(big, sizeof big, "300 bytes", "length 300", "AAAA...\":");
    /* A message never overruns a small buffer, and is cut, NUL-terminated. */
    char small[16];
    memset(small, 'z', sizeof small);
    occ_contract c;
    int rc = occ_parse("AAPL  241301P00190000", 21, &c, small, sizeof small);
    ok(rc == -1 && memchr(small, '\0', sizeof small) != NULL && strncmp(small, "not an OCC", 10) == 0,
       "a 16-byte error buffer holds a cut, terminated message");
    ok(occ_parse("AAPL  241301P00190000", 21, &c, NULL, 0) == -1, "a NULL error buffer is allowed");
    ok(occ_parse(NULL, 21, &c, NULL, 0) == -1, "a NULL symbol is refused");
    ok(occ_parse("AAPL  240119P00190000", 21, NULL, NULL, 0) == -1, "a NULL output is refused");
    /* Only len bytes are read: the valid prefix of a longer buffer parses. */
    parses("AAPL  240119P00190000", "AAPL", 2024, 1, 19, OCC_PUT, 190.0);
    ok(occ_parse("AAPL  240119P00190000 trailing", 21, &c, NULL, 0) == 0 && c.strike == 190.0,
       "only len bytes are read");
}

static void test_format(void)
{
    formats(C("AAPL", 2024, 1, 19, OCC_PUT, 190), "AAPL  240119P00190000", "AAPL put");
    formats(C("SPY", 2015, 1, 17, OCC_CALL, 200), "SPY   150117C00200000", "SPY Saturday expiry");
    formats(C("SPY7", 2015, 1, 17, OCC_CALL, 200), "SPY7  150117C00200000", "SPY7 mini");
    formats(C("GOOGL", 2024, 6, 21, OCC_CALL, 175), "GOOGL 240621C00175000", "five letters");
    formats(C("BRKB12", 2024, 6, 21, OCC_PUT, 400), "BRKB12240621P00400000", "six characters");
    formats(C("F", 2026, 12, 18, OCC_CALL, 12.5), "F     261218C00012500", "one letter");
    formats(C("XYZ", 2024, 3, 15, OCC_CALL, 12.345), "XYZ   240315C00012345", "thousandths");
    formats(C("XYZ", 2024, 3, 15, OCC_CALL, 0.001), "XYZ   240315C00000001", "the smallest strike");
    formats(C("XYZ", 2024, 3, 15, OCC_CALL, 99999.999), "XYZ   240315C99999999", "the largest strike");
    formats(C("XYZ", 2000, 1, 1, OCC_CALL, 10), "XYZ   000101C00010000", "2000-01-01");
    formats(C("XYZ", 2099, 12, 31, OCC_PUT, 10), "XYZ   991231P00010000", "2099-12-31");
    formats(C("XYZ", 2024, 2, 29, OCC_PUT, 10), "XYZ   240229P00010000", "a leap day");
    /* Floating-point noise is forgiven: 0.1 + 0.2 is 0.30000000000000004. */
    volatile double tenth = 0.1, fifth = 0.2;
    formats(C("XYZ", 2024, 3, 15, OCC_CALL, tenth + fifth), "XYZ   240315C00000300", "0.1 + 0.2");
    formats(C("XYZ", 2024, 3, 15, OCC_CALL, 99999.999 + 1e-11), "XYZ   240315C99999999",
            "99999.999 plus one ulp");

    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, 12.3456), "strike 12.3456",
                   "strike 12.3456 is not a multiple of 0.001");
    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, 0.0005), "strike 0.0005", "not a multiple of 0.001");
    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, 100.000001), "strike 100.000001",
                   "not a multiple of 0.001");
    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, 99999.9995), "strike 99999.9995",
                   "not a multiple of 0.001");
    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, -5), "a negative strike",
                   "strike -5 is not in (0, 100000)");
    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, 0), "strike 0", "strike 0 is not in (0, 100000)");
    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, 100000), "strike 100000",
                   "strike 100000 is not in (0, 100000)");
    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, NAN), "a NaN strike", "not in (0, 100000)");
    format_refused(C("XYZ", 2024, 3, 15, OCC_CALL, INFINITY), "an infinite strike",
                   "not in (0, 100000)");
    format_refused(C("", 2024, 3, 15, OCC_CALL, 10), "an empty root", "the root \"\" is empty");
    occ_contract seven = C("XYZ", 2024, 3, 15, OCC_CALL, 10);
    memcpy(seven.root, "ABCDEFG", 7); /* no NUL inside the 7 bytes */
    format_refused(seven, "a 7-character root", "is longer than 6 characters");
    format_refused(C("SP Y", 2024, 3, 15, OCC_CALL, 10), "a space in the root", "has a space");
    format_refused(C("spy", 2024, 3, 15, OCC_CALL, 10), "a lower-case root",
                   "must start with an upper-case letter");
    format_refused(C("XYZ", 1999, 12, 17, OCC_CALL, 10), "year 1999", "year 1999 is not in 2000..2099");
    format_refused(C("XYZ", 2100, 1, 15, OCC_CALL, 10), "year 2100", "year 2100 is not in 2000..2099");
    format_refused(C("XYZ", 2024, 13, 15, OCC_CALL, 10), "month 13", "month 13 is not 1..12");
    format_refused(C("XYZ", 2024, 4, 31, OCC_CALL, 10), "April 31", "day 31 is not in April 2024");
    format_refused(C("XYZ", 2023, 2, 29, OCC_CALL, 10), "Feb 29 2023", "day 29 is not in February 2023");
    format_refused(C("XYZ", 2024, 3, 15, 0, 10), "right 0", "right 0 is not 1 (call) or 2 (put)");
    format_refused(C("XYZ", 2024, 3, 15, 3, 10), "right 3", "right 3 is not 1 (call) or 2 (put)");

    occ_contract c = C("XYZ", 2024, 3, 15, OCC_CALL, 10);
    char buf[OCC_BUFLEN], err[128] = "";
    ok(occ_format(&c, buf, OCC_BUFLEN - 1, err, sizeof err) == -1 && strstr(err, "22 bytes") != NULL,
       "format refuses a 21-byte buffer");
    ok(occ_format(NULL, buf, sizeof buf, err, sizeof err) == -1, "format refuses a NULL contract");
    ok(occ_format(&c, NULL, 64, err, sizeof err) == -1, "format refuses a NULL buffer");
}

/* Every strike field lo..hi (in thousandths) parses and formats back to itself. */
static void strike_range(long lo, long hi, const char *name)
{
    int fails = 0;
    for (long u = lo; u <= hi; u++) {
        char s[40], out[OCC_BUFLEN]; /* 40: room for any long, so no truncation warning */
        snprintf(s, sizeof s, "XYZ   240315C%08ld", u);
        occ_contract c;
        if (occ_parse(s, 21, &c, NULL, 0) != 0 || occ_format(&c, out, sizeof out, NULL, 0) != 0 ||
            strcmp(s, out) != 0 || c.strike != (double)u / 1000.0) {
            if (fails++ < 5) printf("#   strike field %08ld does not round-trip\n", u);
        }
    }
    ok(fails == 0, "every strike %s round-trips parse -> format", name);
}

/* format(c) parses back to c and formats to the same text, over a grid. */
static void test_round_trips(void)
{
    static const char *roots[] = {"A", "SPY", "SPY7", "AAPL", "GOOGL", "BRKB12", "Z9"};
    static const double strikes[] = {0.001, 0.5, 1, 2.5, 12.345, 99.999, 100.001, 190, 208.5,
                                     1234.567, 5000, 99999.999};
    int fails = 0, n = 0;
    for (size_t r = 0; r < sizeof roots / sizeof *roots; r++)
        for (int y = 2000; y <= 2099; y += 7)
            for (int m = 1; m <= 12; m++)
                for (size_t k = 0; k < sizeof strikes / sizeof *strikes; k++) {
                    occ_contract c = C(roots[r], y, m, 1 + (y + m) % 28, 1 + (m & 1), strikes[k]), p;
                    char a[OCC_BUFLEN], b[OCC_BUFLEN], err[256] = "";
                    int good = occ_format(&c, a, sizeof a, err, sizeof err) == 0 && strlen(a) == 21 &&
                               occ_parse(a, 21, &p, err, sizeof err) == 0 &&
                               memcmp(&c, &p, sizeof c) == 0 &&
                               occ_format(&p, b, sizeof b, err, sizeof err) == 0 && strcmp(a, b) == 0;
                    /* The compact spelling parses to the same contract. */
                    size_t rl = strlen(roots[r]);
                    char compact[OCC_BUFLEN];
                    snprintf(compact, sizeof compact, "%s%s", roots[r], a + 6);
                    good = good && occ_parse(compact, rl + 15, &p, err, sizeof err) == 0 &&
                           memcmp(&c, &p, sizeof c) == 0;
                    n++;
                    if (!good && fails++ < 5) printf("#   round trip failed for %s: %s\n", a, err);
                }
    ok(fails == 0, "%d contracts round-trip format -> parse -> format, padded and compact", n);

    strike_range(1, 1000000, "0.001 .. 1000.000");
    strike_range(99000000, 99999999, "99000.000 .. 99999.999");
}

int main(void)
{
    test_parse_valid();
    test_parse_refusals();
    test_format();
    test_round_trips();
    return done_testing();
}
