/* test_csv.c — md/csv: the CSV bar reader.  Run from the repository root (fixture
 * paths are relative to it).  Expected instants come from GNU date with the system
 * tzdata, not from the code under test; expected numbers from strtod. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "md/csv.h"
#include "sys/autime.h"
#include "tap.h"

#define FIX "tests/fixtures/csv/"
#define SEC INT64_C(1000000)

static char err[1024];
static md_csv_result res;

static md_series *load(const char *path, int32_t tf, double tick, int skip_bad)
{
    md_csv_options opt = {.symbol = "TEST", .timeframe = tf, .tick = tick, .skip_bad = skip_bad};
    err[0] = '\0';
    return md_csv_read(path, &opt, &res, err, sizeof err);
}

/* ok() that the read succeeded, with the reader's message when it did not. */
static int loaded(const md_series *s, const char *what)
{
    if (!ok(s != NULL, "%s reads", what)) printf("#   %s\n", err);
    return s != NULL;
}

static int same(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* A fixture that must fail with exactly this message (the path is prefixed). */
static void fails(const char *name, int32_t tf, double tick, const char *want)
{
    char path[256], full[1024];
    snprintf(path, sizeof path, FIX "%s", name);
    snprintf(full, sizeof full, "%s%s", path, want);
    md_series *s = load(path, tf, tick, 0);
    ok(s == NULL, "%s is refused", name);
    is_str(err, full, "%s: message", name);
    ok(res.nerrors == 1 && !strcmp(res.first_errors[0], full),
       "%s: the message is kept in the result", name);
    md_series_release(s);
}

/* ---- number parsing ---- */

static uint64_t rng_state = 42;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A decimal string of varied shape: sign, 1..25 digits, a point anywhere, leading
 * zeros, an exponent. */
static size_t random_decimal(char *buf)
{
    size_t n = 0;
    uint64_t r = rng();
    if (r % 8 == 0) buf[n++] = '-';
    if (r % 16 == 1) buf[n++] = '+';
    int digits = 1 + (int)((r >> 8) % 25);
    int point = (int)((r >> 16) % (uint64_t)(digits + 2)) - 1; /* -1: none */
    int lead0 = (r >> 24) % 4 == 0 ? (int)((r >> 26) % 6) : 0;
    for (int i = 0; i < lead0; i++) buf[n++] = '0';
    for (int i = 0; i < digits; i++) {
        if (i == point) buf[n++] = '.';
        buf[n++] = (char)('0' + rng() % 10);
    }
    if (point == digits) buf[n++] = '.';
    if ((r >> 32) % 5 == 0) {
        n += (size_t)sprintf(buf + n, "%c%s%d", (r >> 35) & 1 ? 'e' : 'E',
                             (r >> 36) % 3 == 0   ? "-"
                             : (r >> 36) % 3 == 1 ? "+"
                                                  : "",
                             (int)((r >> 40) % 40));
    }
    buf[n] = '\0';
    return n;
}

static void test_numbers(void)
{
    static const char *good[] = {"0",
                                 "-0",
                                 "1",
                                 "+1",
                                 "1.",
                                 ".5",
                                 "-.5",
                                 "100.0123",
                                 "0.1",
                                 "0.0001",
                                 "145.36399841308594",
                                 "9007199254740993",
                                 "9007199254740992",
                                 "1e22",
                                 "1e23",
                                 "1.7976931348623157e308",
                                 "4.9e-324",
                                 "2.2250738585072011e-308",
                                 "123456789012345678901234567890",
                                 "0.000000000000000000000000001",
                                 "00000000000000000000000000000000000001.5",
                                 "1E5",
                                 "1e-5"};
    int bad = 0;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        double got = -1;
        int rc = md_csv_parse_number(good[i], strlen(good[i]), &got);
        if (rc != 0 || !same(got, strtod(good[i], NULL))) {
            bad++;
            printf("# %s: rc %d got %.17g want %.17g\n", good[i], rc, got, strtod(good[i], NULL));
        }
    }
    ok(bad == 0, "edge-case numbers equal strtod bit for bit");

    static const char *notnum[] = {"",
                                   "+",
                                   "-",
                                   ".",
                                   "e5",
                                   "1e",
                                   "1e+",
                                   "1e-",
                                   "inf",
                                   "nan",
                                   "NaN",
                                   "0x10",
                                   "1,5",
                                   " 1",
                                   "1 ",
                                   "1.2.3",
                                   "--1",
                                   "+-1",
                                   "1e5.5",
                                   "1f",
                                   "\xEF\xBB\xBF"
                                   "1",
                                   "1\0"};
    bad = 0;
    for (size_t i = 0; i < sizeof notnum / sizeof notnum[0]; i++) {
        double got;
        size_t len = strlen(notnum[i]) + (i == sizeof notnum / sizeof notnum[0] - 1);
        if (md_csv_parse_number(notnum[i], len, &got) != -1) {
            bad++;
            printf("# accepted '%s'\n", notnum[i]);
        }
    }
    ok(bad == 0, "non-numbers are refused (empty, inf, nan, hex, junk, NUL)");
    double got;
    is_int(md_csv_parse_number("1e309", 5, &got), -2, "1e309 overflows: out of range");
    is_int(md_csv_parse_number("-1e400", 6, &got), -2, "-1e400 overflows: out of range");

    /* A million generated strings of varied length against strtod. */
    char buf[96];
    int mismatches = 0;
    long fast = 0;
    for (int i = 0; i < 1000000; i++) {
        size_t n = random_decimal(buf);
        double want = strtod(buf, NULL);
        int rc = md_csv_parse_number(buf, n, &got);
        int expect_rc = isinf(want) ? -2 : 0;
        if (rc != expect_rc || (rc == 0 && !same(got, want))) {
            if (mismatches++ < 5)
                printf("# '%s': rc %d got %.17g want %.17g\n", buf, rc, got, want);
        }
        fast += n <= 16;
    }
    ok(mismatches == 0, "1,000,000 random decimals equal strtod (%ld of them short)", fast);

    /* Prices as gen_ohlcv prints them: integer ticks of 0.0001 with 4 decimals. */
    mismatches = 0;
    for (int i = 0; i < 1000000; i++) {
        int64_t ticks = (int64_t)(rng() % 100000000) + 1;
        int n = snprintf(buf, sizeof buf, "%lld.%04lld", (long long)(ticks / 10000),
                         (long long)(ticks % 10000));
        if (md_csv_parse_number(buf, (size_t)n, &got) != 0 || !same(got, strtod(buf, NULL)) ||
            !same(got, (double)ticks / 1e4))
            mismatches++;
    }
    ok(mismatches == 0, "1,000,000 four-decimal prices equal strtod and ticks/1e4");
}

/* ---- tick rounding ---- */

static void test_tick(void)
{
    ok(same(md_csv_round_tick(145.36399841308594, 0.01), 145.36),
       "145.36399841308594 at tick 0.01 is exactly the double nearest 145.36");
    ok(same(md_csv_round_tick(0.35000001, 0.01), 0.35) && !same(35 * 0.01, 0.35),
       "0.35000001 -> 0.35, where 35 * 0.01 would not be (the reason for dividing by 100)");
    ok(same(md_csv_round_tick(139.64399719238281, 0.01), 139.64), "139.64399719238281 -> 139.64");
    ok(same(md_csv_round_tick(0.09641899913549423, 0.0001), 0.0964),
       "0.0964189991 at 0.0001 -> 0.0964");
    ok(same(md_csv_round_tick(46.3700, 0.25), 46.25) && same(md_csv_round_tick(46.38, 0.25), 46.5),
       "quarter ticks");
    ok(same(md_csv_round_tick(101.27, 0.05), 101.25), "tick 0.05");
    ok(same(md_csv_round_tick(1234.5, 5), 1235) && same(md_csv_round_tick(1232.4, 5), 1230),
       "tick 5");
    ok(same(md_csv_round_tick(1.23456, 0), 1.23456), "tick 0 keeps the value");

    /* Every cent price up to 100,000.00, disturbed by float32 storage and by a few
     * ulps, rounds back to exactly k/100 (the double strtod gives for "k/100"). */
    int bad = 0;
    for (int64_t k = 1; k <= 10000000; k++) {
        double want = (double)k / 100.0;
        double f32 = (double)(float)want;
        double up = nextafter(nextafter(want, INFINITY), INFINITY);
        double down = nextafter(want, 0);
        if (!same(md_csv_round_tick(f32, 0.01), want) || !same(md_csv_round_tick(up, 0.01), want) ||
            !same(md_csv_round_tick(down, 0.01), want)) {
            if (bad++ < 3) printf("# k=%lld\n", (long long)k);
        }
    }
    ok(bad == 0, "10M cent prices through float32 noise and +-ulps round back exactly");

    bad = 0;
    for (int64_t k = 1; k <= 2000000; k++) {
        char txt[32];
        snprintf(txt, sizeof txt, "%lld.%04lld", (long long)(k / 10000), (long long)(k % 10000));
        double want = strtod(txt, NULL);
        if (!same(md_csv_round_tick((double)(float)want, 0.0001), want)) bad++;
    }
    ok(bad == 0, "2M prices at tick 0.0001 through float32 noise equal strtod of their text");
}

/* ---- accepted formats ---- */

static void test_daily(void)
{
    md_series *s = load(FIX "daily.csv", MD_TF_UNKNOWN, 0, 0);
    loaded(s, "daily.csv");
    if (!s) return;
    is_int(s->n, 3, "3 bars");
    is_int(res.rows, 3, "result rows");
    is_int(s->timeframe, MD_TF_DAILY, "timeframe inferred: daily");
    is_str(s->symbol, "TEST", "symbol");
    is_int(s->time[0], 1704205800 * SEC, "2024-01-02 is stamped 09:30 EST = 14:30Z");
    is_int(s->time[2], 1719840600 * SEC, "2024-07-01 is stamped 09:30 EDT = 13:30Z");
    ok(same(s->open[0], 100.5) && same(s->high[0], 101.25) && same(s->low[0], 99.75) &&
           same(s->close[0], 101) && same(s->volume[0], 1200),
       "values of the first bar");
    ok(s->adj_close == NULL, "no adj_close column");
    ok(res.has_volume && res.skipped == 0 && res.nerrors == 0, "volume present, nothing skipped");
    is_int(s->cap, s->n, "capacity trimmed to the rows");
    md_series_release(s);

    s = load(FIX "daily.csv", MD_TF_WEEKLY, 0, 0);
    ok(s && s->timeframe == MD_TF_WEEKLY, "a given calendar timeframe is kept");
    md_series_release(s);
}

static void test_intraday(void)
{
    md_series *s = load(FIX "intraday_utc.csv", MD_TF_UNKNOWN, 0, 0);
    loaded(s, "intraday_utc.csv (gen_ohlcv's format)");
    if (s) {
        is_int(s->n, 4, "4 bars");
        is_int(s->timeframe, 60, "timeframe inferred: 1m");
        is_int(s->time[3], 946857780 * SEC, "'2000-01-03 00:03:00' without offset is UTC");
        ok(same(s->low[3], 100.0004), "100.0004");
    }
    md_series_release(s);

    s = load(FIX "intraday_5m.csv", MD_TF_UNKNOWN, 0, 0);
    loaded(s, "intraday_5m.csv");
    if (s) {
        is_int(s->n, 5, "5 bars");
        is_int(s->timeframe, 300, "timeframe inferred: 5m (spacings 5, 10, 15, 5 min)");
        is_int(s->time[0], (1751961600 + 19800) * SEC, "09:30-04:00 is 13:30Z");
        is_int(s->time[3], (1751961600 + 6 * 3600) * SEC, "14:00Z");
    }
    md_series_release(s);

    s = load(FIX "intraday_5m.csv", 300, 0, 0);
    ok(s && s->timeframe == 300, "given 5m on 5-minute data: accepted");
    md_series_release(s);
    s = load(FIX "intraday_5m.csv", 60, 0, 0);
    ok(s && s->timeframe == 60, "given 1m on 5-minute data: accepted (gaps are whole bars)");
    md_series_release(s);

    s = load(FIX "midnight_daily.csv", MD_TF_UNKNOWN, 0, 0);
    loaded(s, "midnight_daily.csv (yfinance's midnight date-times)");
    if (s) {
        is_int(s->timeframe, MD_TF_DAILY, "midnight rows are daily bars");
        is_int(s->time[0], 1709908200 * SEC, "2024-03-08 00:00-05:00 -> 09:30 EST of that date");
        is_int(s->time[1], 1710163800 * SEC, "2024-03-11 00:00-04:00 -> 09:30 EDT of that date");
    }
    md_series_release(s);
}

static void test_yahoo(void)
{
    md_series *s = load(FIX "yahoo.csv", MD_TF_UNKNOWN, 0, 0);
    loaded(s, "yahoo.csv");
    if (!s) return;
    is_int(s->n, 3, "3 bars");
    ok(s->adj_close != NULL, "Adj Close kept");
    ok(s->adj_close && same(s->adj_close[0], 184.532089) && same(s->adj_close[2], 180.824356),
       "adj_close values");
    ok(same(s->close[1], 184.25) && same(s->volume[2], 71983600), "close and volume");
    md_series_release(s);
}

static void test_robust_formats(void)
{
    md_series *s = load(FIX "bom_crlf.csv", MD_TF_UNKNOWN, 0, 0);
    ok(s && s->n == 2 && same(s->close[1], 11) && same(s->volume[1], 200), "UTF-8 BOM and CRLF");
    md_series_release(s);

    s = load(FIX "quoted.csv", MD_TF_UNKNOWN, 0, 0);
    ok(s && s->n == 3, "quoted header, quoted fields, \"\" escapes and commas inside quotes");
    if (s)
        ok(same(s->open[1], 10.75) && same(s->close[1], 11.25) && same(s->volume[2], 3000),
           "quoted numbers, spaces around quotes");
    md_series_release(s);

    s = load(FIX "no_newline.csv", MD_TF_UNKNOWN, 0, 0);
    ok(s && s->n == 2 && same(s->volume[1], 200), "no final newline: last row read");
    md_series_release(s);

    s = load(FIX "blank_lines.csv", MD_TF_UNKNOWN, 0, 0);
    ok(s && s->n == 2 && res.skipped == 0 && res.nerrors == 0,
       "blank lines (inside and trailing) are skipped, not counted as bad");
    md_series_release(s);

    s = load(FIX "extra_columns.csv", MD_TF_UNKNOWN, 0, 0);
    ok(s && s->n == 2, "columns in any order, any case, padded; extra columns ignored");
    if (s)
        ok(same(s->open[0], 10) && same(s->high[0], 11) && same(s->low[0], 9) &&
               same(s->close[0], 10.5) && same(s->volume[0], 100),
           "each value from its named column");
    md_series_release(s);

    s = load(FIX "no_volume.csv", MD_TF_UNKNOWN, 0, 0);
    ok(s && s->n == 2 && !res.has_volume && same(s->volume[0], 0) && same(s->volume[1], 0),
       "no volume column: volumes 0, has_volume 0");
    md_series_release(s);
}

static void test_tick_import(void)
{
    md_series *s = load(FIX "float_noise.csv", MD_TF_UNKNOWN, 0, 0);
    ok(s && same(s->open[0], 145.36399841308594), "without --tick the file's digits are kept");
    md_series_release(s);
    s = load(FIX "float_noise.csv", MD_TF_UNKNOWN, 0.01, 0);
    ok(s && same(s->open[0], 145.36) && same(s->high[0], 145.56) && same(s->low[0], 139.64) &&
           same(s->close[0], 139.79) && same(s->low[1], 137.25),
       "--tick 0.01 gives the doubles nearest the cents");
    ok(s && same(s->volume[0], 8089800), "volume is not rounded");
    md_series_release(s);
    fails("tick_to_zero.csv", MD_TF_UNKNOWN, 0.01,
          ":2: low 0 is not positive (after rounding to tick 0.01)");
    s = load(FIX "tick_to_zero.csv", MD_TF_UNKNOWN, 0, 0);
    ok(s != NULL, "the same file without --tick is fine: validation runs after rounding");
    md_series_release(s);
}

/* ---- bad input ---- */

static void test_bad_rows(void)
{
    fails("bad_columns.csv", 0, 0, ":3: wrong column count: 5 fields, the header has 6");
    fails("bad_number.csv", 0, 0, ":3: low 'ten' is not a number");
    fails("bad_high_low.csv", 0, 0, ":2: high 9 < low 11");
    fails("bad_high_open.csv", 0, 0, ":3: high 11 < close 11.25");
    fails("bad_low_close.csv", 0, 0, ":2: low 9.75 > close 9.5");
    fails("bad_price_zero.csv", 0, 0, ":3: open 0 is not positive");
    fails("bad_price_negative.csv", 0, 0, ":3: low -1 is not positive");
    fails("bad_volume.csv", 0, 0, ":2: volume -100 is negative");
    fails("bad_order.csv", 0, 0,
          ":4: timestamp '2024-01-03' is not after the previous bar's '2024-01-04' (line 3)");
    fails("bad_duplicate.csv", 0, 0,
          ":3: timestamp '2025-07-08T13:30:00Z' is not after the previous bar's "
          "'2025-07-08T09:30:00-04:00' (line 2), the same instant");
    fails("bad_timestamp.csv", 0, 0,
          ":3: bad timestamp '2024-02-30': day 30 is out of range 01..29 for 2024-02 at byte 9");
    fails("bad_mixed.csv", 0, 0,
          ":3: timestamp with a time of day '2024-01-03 09:30:00' in a file of date-only rows");
    fails("bad_spacing.csv", 0, 0,
          ":3: timestamp '2024-01-02T14:31:30Z' is 90 s after the previous bar (line 2): bar "
          "spacing must be whole minutes");
    fails("bad_irregular.csv", 0, 0,
          ":3: irregular bar spacing: 5 min after the previous bar, not a multiple of the "
          "smallest spacing, 2 min (line 5); give the timeframe explicitly");
    fails("bad_quote.csv", 0, 0, ":2: unterminated quoted field");
    fails("bad_after_quote.csv", 0, 0, ":2: text after the closing quote of a field");
    fails("bad_range.csv", 0, 0, ":2: high '1e999' is out of range");
    fails("yahoo_null.csv", 0, 0, ":3: open 'null' is not a number");
    fails("nul_byte.csv", 0, 0, ":2: close '10\\x005' is not a number");
    fails("intraday_5m.csv", 600, 0,
          ":3: timestamp '2025-07-08T09:35:00-04:00' is 5 min after the previous bar (line 2), "
          "not a whole number of 10m bars");

    md_series *s = load(FIX "bad_irregular.csv", 60, 0, 0);
    ok(s && s->timeframe == 60, "irregular spacing is fine with a given 1m timeframe");
    md_series_release(s);
}

static void test_bad_files(void)
{
    fails("missing_close.csv", 0, 0, ":1: missing column 'close'");
    fails("missing_date.csv", 0, 0,
          ":1: missing column 'date' (or 'datetime', 'time', 'timestamp')");
    fails("duplicate_column.csv", 0, 0, ":1: two close columns (5 and 7)");
    fails("date_and_time_columns.csv", 0, 0,
          ":1: two time columns (1 and 2): one column must hold the date and time");
    fails("bad_midnight_same_date.csv", 0, 0, ": two midnight bars fall on the date 2024-01-02");
    fails("no_header.csv", 0, 0,
          ":1: no header line: this line looks like data; expected a header such as "
          "date,open,high,low,close,volume");
    fails("empty.csv", 0, 0, ": empty file, no header line");
    fails("header_only.csv", 0, 0, ": no bars after the header");
    fails("bare_cr.csv", 0, 0,
          ":1: bare CR line breaks (classic Mac) are not supported; use LF or CRLF");
    fails("single_intraday.csv", 0, 0,
          ": cannot infer the timeframe from a single bar; give it explicitly");
    fails("does_not_exist.csv", 0, 0, ": No such file or directory");
    fails("daily.csv", 300, 0,
          ":2: timeframe 5m needs a date and time in each row, got '2024-01-02'");
    fails("intraday_utc.csv", MD_TF_DAILY, 0,
          ":3: timeframe 1d needs dates (or midnight times), got '2000-01-03 00:01:00'");
}

static void test_options(void)
{
    md_csv_options opt = {.symbol = NULL};
    ok(md_csv_read(FIX "daily.csv", &opt, NULL, err, sizeof err) == NULL &&
           !strcmp(err, FIX "daily.csv: no symbol given"),
       "a symbol is required: %s", err);
    opt.symbol = "A_SYMBOL_NAME_THAT_IS_FAR_TOO_LONG";
    ok(md_csv_read(FIX "daily.csv", &opt, NULL, err, sizeof err) == NULL &&
           strstr(err, "longer than 31"),
       "a symbol too long: %s", err);
    opt.symbol = "X";
    opt.tick = -0.01;
    ok(md_csv_read(FIX "daily.csv", &opt, NULL, err, sizeof err) == NULL && strstr(err, "tick"),
       "a negative tick: %s", err);
    opt.tick = 0;
    opt.timeframe = 90000;
    ok(md_csv_read(FIX "daily.csv", &opt, NULL, err, sizeof err) == NULL &&
           strstr(err, "timeframe"),
       "a timeframe of 25 h: %s", err);
    opt.timeframe = 0;
    md_series *s = md_csv_read(FIX "daily.csv", &opt, NULL, err, sizeof err);
    ok(s != NULL, "a NULL result is allowed");
    md_series_release(s);
    char small[24];
    opt.symbol = NULL;
    ok(md_csv_read(FIX "daily.csv", &opt, NULL, small, sizeof small) == NULL && strlen(small) == 23,
       "a short err buffer is filled and terminated");
}

static void test_skip_bad(void)
{
    md_series *s = load(FIX "skip_bad.csv", MD_TF_UNKNOWN, 0, 1);
    ok(s != NULL, "skip_bad.csv reads with skip_bad");
    if (!s) return;
    is_int(s->n, 4, "4 good rows");
    is_int(res.rows, 4, "result rows");
    is_int(res.skipped, 6, "6 bad rows skipped");
    is_int(res.nerrors, 5, "the first 5 reasons kept");
    is_str(res.first_errors[0],
           FIX "skip_bad.csv:3: wrong column count: 5 fields, the header has 6", "reason 1");
    is_str(res.first_errors[1], FIX "skip_bad.csv:4: close 'x' is not a number", "reason 2");
    is_str(res.first_errors[2], FIX "skip_bad.csv:5: high 9 < low 11", "reason 3");
    is_str(res.first_errors[3],
           FIX "skip_bad.csv:7: timestamp '2024-01-05' is not after the previous bar's "
               "'2024-01-08' (line 6)",
           "reason 4: order is checked against the last good bar");
    is_str(res.first_errors[4], FIX "skip_bad.csv:8: volume -1 is negative", "reason 5");
    is_int(s->time[1], (1704205800 + 6 * 86400) * SEC, "second good bar is 2024-01-08");
    md_series_release(s);

    s = load(FIX "yahoo_null.csv", MD_TF_UNKNOWN, 0, 1);
    ok(s && s->n == 2 && res.skipped == 1 && res.nerrors == 1 &&
           !strcmp(res.first_errors[0], FIX "yahoo_null.csv:3: open 'null' is not a number"),
       "Yahoo's null row is skipped and reported");
    md_series_release(s);

    s = load(FIX "all_bad.csv", MD_TF_UNKNOWN, 0, 1);
    ok(s == NULL, "all rows bad: refused even with skip_bad");
    is_str(err, FIX "all_bad.csv: no bars: all 2 data rows were bad", "message");
    is_int(res.skipped, 2, "both counted");
    is_int(res.nerrors, 3, "two reasons plus the final one");
}

static void test_long_line(void)
{
    char path[256];
    FILE *f = tap_temp_file(path, sizeof path, "test_csv");
    if (!f) return;
    fprintf(
        f,
        "date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10,11,9,10.5,");
    for (int i = 0; i < 100000; i++) fputc('1', f);
    fprintf(f, "\n");
    fclose(f);
    md_series *s = load(path, 0, 0, 0);
    char want[512];
    snprintf(want, sizeof want, "%s:3: line longer than 65536 bytes", path);
    ok(s == NULL, "a 100 kB line is refused");
    is_str(err, want, "message names the line");

    /* Longer than the whole read buffer: still no overflow. */
    f = fopen(path, "w");
    fprintf(f, "date,open,high,low,close,volume\n");
    for (int i = 0; i < (9 << 20); i++) fputc('x', f);
    fclose(f);
    s = load(path, 0, 0, 0);
    snprintf(want, sizeof want, "%s:2: line longer than 65536 bytes", path);
    ok(s == NULL, "a 9 MB line without newline is refused");
    is_str(err, want, "message names the line");
    unlink(path);
}

/* Timestamps in every shape the reader meets, fast path or not, written from known
 * instants with au_time_split: the column must give the instants back. */
static void test_timestamp_shapes(void)
{
    char path[256];
    FILE *f = tap_temp_file(path, sizeof path, "test_csv");
    if (!f) return;
    fprintf(f, "datetime,open,high,low,close,volume\n");
    enum { N = 20000 };
    static int64_t want[N];
    int64_t t = INT64_C(946684800) * SEC; /* 2000-01-01T00:00:00Z */
    for (int i = 0; i < N; i++) {
        t += (int64_t)(1 + rng() % 3) * 60 * SEC;
        want[i] = t;
        int shape = (int)(rng() % 8);
        int off = shape >= 2 && shape <= 4 ? (int)(rng() % 2879) - 1439 : 0;
        au_time_fields tf;
        au_time_split(t, off, &tf);
        char date[16], sign = off < 0 ? '-' : '+';
        int a = off < 0 ? -off : off;
        snprintf(date, sizeof date, "%04d-%02d-%02d", tf.year, tf.month, tf.day);
        switch (shape) {
        case 0: fprintf(f, "%sT%02d:%02d:%02dZ", date, tf.hour, tf.min, tf.sec); break;
        case 1: fprintf(f, "%s %02d:%02d:%02d", date, tf.hour, tf.min, tf.sec); break;
        case 2:
            fprintf(f, "%sT%02d:%02d:%02d%c%02d:%02d", date, tf.hour, tf.min, tf.sec, sign, a / 60,
                    a % 60);
            break;
        case 3:
            fprintf(f, "%s %02d:%02d:%02d%c%02d%02d", date, tf.hour, tf.min, tf.sec, sign, a / 60,
                    a % 60);
            break;
        case 4:
            fprintf(f, "%st%02d:%02d%c%02d:%02d", date, tf.hour, tf.min, sign, a / 60, a % 60);
            break;
        case 5: fprintf(f, "%sT%02d:%02d:%02d.000000z", date, tf.hour, tf.min, tf.sec); break;
        case 6: fprintf(f, "\"%sT%02d:%02d:%02d\"", date, tf.hour, tf.min, tf.sec); break;
        default: fprintf(f, "%sT%02d:%02d:%02d+00:00", date, tf.hour, tf.min, tf.sec); break;
        }
        fprintf(f, ",10,11,9,10.5,100\n");
    }
    fclose(f);
    md_series *s = load(path, MD_TF_UNKNOWN, 0, 0);
    if (loaded(s, "20,000 timestamps of eight shapes")) {
        int bad = 0;
        for (int i = 0; i < N && i < s->n; i++)
            if (s->time[i] != want[i] && bad++ < 3)
                printf("# row %d: %lld != %lld\n", i, (long long)s->time[i], (long long)want[i]);
        ok(s->n == N && bad == 0,
           "every instant read back (offsets -23:59..+23:59, Z, none, t/z, HHMM, fractions)");
        is_int(s->timeframe, 60, "1m inferred from 1-3 minute spacing");
    }
    md_series_release(s);
    unlink(path);
}

/* ---- real files: every value equals strtod of its text ---- */

static int check_real_file(const char *path, int64_t want_rows)
{
    md_series *s = load(path, MD_TF_UNKNOWN, 0, 0);
    if (!loaded(s, path)) return 0;
    is_int(s->n, want_rows, "%s: %lld rows", path, (long long)want_rows);
    FILE *f = fopen(path, "r");
    char line[512];
    int64_t row = 0, bad = 0;
    if (!fgets(line, sizeof line, f)) bad++;
    while (fgets(line, sizeof line, f) && row < s->n) {
        char *save = NULL, *tok = strtok_r(line, ",\n", &save);
        double *cols[5] = {s->open, s->high, s->low, s->close, s->volume};
        for (int c = 0; c < 5; c++) {
            tok = strtok_r(NULL, ",\n", &save);
            if (!tok || !same(cols[c][row], strtod(tok, NULL))) bad++;
        }
        row++;
    }
    fclose(f);
    ok(bad == 0 && row == s->n, "%s: every value equals strtod of its text", path);
    md_series_release(s);
    return 1;
}

static void test_real_files(void)
{
    md_series *s = load("data/SPY-daily.csv", MD_TF_UNKNOWN, 0, 0);
    loaded(s, "data/SPY-daily.csv");
    if (s) {
        is_int(s->n, 6642, "6642 rows");
        is_int(s->timeframe, MD_TF_DAILY, "daily");
        is_int(s->time[0], 946650600 * SEC, "1999-12-31 09:30 EST");
        is_int(s->time[s->n - 1], 1780061400 * SEC, "2026-05-29 09:30 EDT");
        ok(same(s->open[0], strtod("146.84375", NULL)) &&
               same(s->close[0], strtod("146.875", NULL)) && same(s->volume[0], 3172700),
           "first bar equals strtod of its text");
        ok(same(s->high[s->n - 1], strtod("758.0800170898438", NULL)) &&
               same(s->low[s->n - 1], strtod("754.6900024414062", NULL)) &&
               same(s->close[s->n - 1], strtod("756.47998046875", NULL)),
           "last bar equals strtod of its text");
    }
    md_series_release(s);

    s = load("data/SPY-1min-2025-07-08.csv", MD_TF_UNKNOWN, 0, 0);
    loaded(s, "data/SPY-1min-2025-07-08.csv");
    if (s) {
        is_int(s->n, 942, "942 rows");
        is_int(s->timeframe, 60, "1m inferred");
        is_int(s->time[0], 1751961600 * SEC, "04:00-04:00 is 08:00Z");
        is_int(s->time[s->n - 1], (1752019200 - 60) * SEC, "19:59-04:00 is 23:59Z");
        ok(same(s->low[s->n - 1], 620.2231) && same(s->close[s->n - 1], 620.335),
           "last bar values");
    }
    md_series_release(s);

    static const struct {
        const char *path;
        int64_t rows;
    } files[] = {{"data/AAPL-daily.csv", 6642},         {"data/AMZN-daily.csv", 6642},
                 {"data/GOOG-daily.csv", 5479},         {"data/GOOGL-daily.csv", 5479},
                 {"data/IWM-daily.csv", 6540},          {"data/META-daily.csv", 3527},
                 {"data/MSFT-daily.csv", 6642},         {"data/NVDA-daily.csv", 6642},
                 {"data/QQQ-daily.csv", 6642},          {"data/SPY-daily.csv", 6642},
                 {"data/TSLA-daily.csv", 4004},         {"data/SPY-1min-2025-07-08.csv", 942},
                 {"data/SPY-1min-2025-07-09.csv", 937}, {"data/SPY-1min-2025-07-10.csv", 935},
                 {"data/SPY-1min-2025-07-11.csv", 941}, {"data/SPY-1min-2025-07-14.csv", 941}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        check_real_file(files[i].path, files[i].rows);

    s = load("data/AAPL-daily.csv", MD_TF_UNKNOWN, 0.0001, 0);
    ok(s && same(s->open[0], 0.9012), "AAPL 1999 with --tick 0.0001: 0.9012280106544495 -> 0.9012");
    md_series_release(s);
}

int main(void)
{
    test_numbers();
    test_tick();
    test_daily();
    test_intraday();
    test_yahoo();
    test_robust_formats();
    test_tick_import();
    test_bad_rows();
    test_bad_files();
    test_options();
    test_skip_bad();
    test_long_line();
    test_timestamp_shapes();
    test_real_files();
    return done_testing();
}
