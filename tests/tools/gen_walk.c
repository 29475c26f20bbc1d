/* gen_walk.c — the team's reference workload, regenerated for the tests.
 *
 * The reference answers of issue #4 (sma_cross on 100k and 1M bars) were computed on
 * the bars of the shared bench generator (`gen_ohlcv N 42`).  The test suite cannot
 * assume that tree is next to the checkout, so this program produces the same bars
 * from the published recipe: a geometric random walk of one-minute bars from
 * 2000-01-03 00:00:00 UTC, splitmix64 uniforms, Irwin-Hall normals (12 uniforms - 6),
 *   open  = previous close x (1 + 0.0002 z2)
 *   close = open x (1 + 5e-7 + 0.001 z1)
 *   high  = max(open, close) x (1 + 0.001 u1), low = min(open, close) x (1 - 0.001 u2)
 *   volume = 1000 + floor(9000 u3)
 * draws taken in the order z2, z1, u1, u2, u3; prices in integer ticks of 0.0001
 * (round half up), the walk itself unrounded; and a close nudged up one tick whenever
 * it would make SMA(10) equal SMA(30) exactly (3 x sum10 == sum30 in ticks), so the
 * crossover signal has no ties.  tests/integration/test_backtest_reference.sh checks the
 * output against the shared generator's when that is present.
 *
 * Build with -ffp-contract=off: the answers depend on every rounding.
 * Usage: gen_walk N SEED OUT.csv */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* 53 random bits in [0, 1). */
static double uniform(void) { return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

static double normal(void)
{
    double sum = 0;
    for (int i = 0; i < 12; i++) sum += uniform();
    return sum - 6.0;
}

static int64_t to_ticks(double price) { return (int64_t)(price * 1e4 + 0.5); }

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil_date(int64_t days, int *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (*month <= 2));
}

static void print_price(FILE *f, int64_t ticks, char after)
{
    fprintf(f, "%lld.%04lld%c", (long long)(ticks / 10000), (long long)(ticks % 10000), after);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: gen_walk N SEED OUT.csv\n");
        return 2;
    }
    long n = atol(argv[1]);
    rng_state = strtoull(argv[2], NULL, 10);
    FILE *out = fopen(argv[3], "w");
    if (!out) {
        perror(argv[3]);
        return 1;
    }
    const int64_t start = 946857600; /* 2000-01-03 00:00:00 UTC */
    int64_t ring[32] = {0}, sum10 = 0, sum30 = 0;
    double prev_close = 100.0;
    fputs("date,open,high,low,close,volume\n", out);
    for (long i = 0; i < n; i++) {
        double z2 = normal(), z1 = normal(), u1 = uniform(), u2 = uniform(), u3 = uniform();
        double open = prev_close * (1.0 + 0.0002 * z2);
        double close = open * (1.0 + 0.0000005 + 0.001 * z1);
        prev_close = close;
        int64_t o = to_ticks(open), c = to_ticks(close);
        int64_t s10 = sum10 + c - (i >= 10 ? ring[(i - 10) & 31] : 0);
        int64_t s30 = sum30 + c - (i >= 30 ? ring[(i - 30) & 31] : 0);
        if (i >= 29 && 3 * s10 == s30) { /* a tie: nudge the close one tick up */
            c++;
            s10++;
            s30++;
        }
        sum10 = s10;
        sum30 = s30;
        ring[i & 31] = c;
        int64_t top = o > c ? o : c, bottom = o < c ? o : c;
        int64_t h = (int64_t)((double)top * (1.0 + 0.001 * u1) + 0.5);
        int64_t l = (int64_t)((double)bottom * (1.0 - 0.001 * u2) + 0.5);
        long volume = 1000 + (long)(9000.0 * u3);
        int64_t t = start + 60 * (int64_t)i;
        int y, mo, d;
        civil_date(t / 86400, &y, &mo, &d);
        int sec = (int)(t % 86400);
        fprintf(out, "%04d-%02d-%02d %02d:%02d:%02d,", y, mo, d, sec / 3600, sec / 60 % 60, sec % 60);
        print_price(out, o, ',');
        print_price(out, h, ',');
        print_price(out, l, ',');
        print_price(out, c, ',');
        fprintf(out, "%ld\n", volume);
    }
    if (fclose(out) != 0) {
        perror(argv[3]);
        return 1;
    }
    return 0;
}
