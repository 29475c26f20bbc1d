/* Fuzz target: the CSV reader's number parser must agree with strtod on every
 * string it accepts. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "md/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64) return 0;
    char buf[65];
    memcpy(buf, data, size);
    buf[size] = '\0';
    if (strlen(buf) != size) return 0;
    double x;
    if (md_csv_parse_number(buf, size, &x) != 0) return 0;
    char *end;
    double y = strtod(buf, &end);
    if (end != buf + size || memcmp(&x, &y, sizeof x) != 0) abort();
    return 0;
}
