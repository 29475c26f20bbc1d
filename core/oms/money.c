/* money.c — see money.h. */
#include "oms/money.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int amount_ok(double x)
{
    return isfinite(x) ? (fabs(x) < OMS_AMOUNT_MAX ? OMS_OK : OMS_ERANGE) : OMS_EINVAL;
}

/* The definition: printf pre-rounds |x| to 15 significant digits ("d.ddd...e+XX"),
 * then the cents are the digits up to the hundredths, plus one when the next digit is
 * 5 or more (half away from zero, on the decimal text). */
int oms_round_cents_ref(double x, int64_t *cents)
{
    int st = amount_ok(x);
    if (st != OMS_OK) return st;
    char buf[32];
    snprintf(buf, sizeof buf, "%.14e", fabs(x));
    char digits[15];
    digits[0] = buf[0];
    memcpy(digits + 1, buf + 2, 14);
    int exp10 = atoi(buf + 17);
    int keep = exp10 + 3; /* digits that make up whole cents: at most 15 below OMS_AMOUNT_MAX */
    int64_t c = 0;
    for (int i = 0; i < keep; i++) c = c * 10 + (i < 15 ? digits[i] - '0' : 0);
    if (keep >= 0 && keep < 15 && digits[keep] >= '5') c++;
    *cents = x < 0 ? -c : c;
    return OMS_OK;
}

/* Fast path: a = 100|x| in double is within ~1.1e-16 a of the exact value, and the
 * 15-digit pre-rounding moves it by at most 5e-15 a, so unless a's fraction lies
 * within 1e-14 a of one half, both land on the same side and rounding a is the
 * answer.  Near one half, the text decides. */
int oms_round_cents(double x, int64_t *cents)
{
    int st = amount_ok(x);
    if (st != OMS_OK) return st;
    double a = fabs(x) * 100.0;
    double whole = floor(a);
    double frac = a - whole;
    if (fabs(frac - 0.5) <= a * 1e-14) return oms_round_cents_ref(x, cents);
    int64_t c = (int64_t)whole + (frac > 0.5);
    *cents = x < 0 ? -c : c;
    return OMS_OK;
}

double oms_cents_to_double(int64_t cents)
{
    return (double)cents / 100.0;
}

const char *oms_cents_format(int64_t cents, char *buf, size_t buflen)
{
    uint64_t u = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(buf, buflen, "%s%llu.%02llu", cents < 0 ? "-" : "", (unsigned long long)(u / 100),
             (unsigned long long)(u % 100));
    return buf;
}

