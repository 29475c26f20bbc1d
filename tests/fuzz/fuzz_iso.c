/* Fuzz target: ISO 8601 parsing.  Accepted text must format back to text that
 * parses to the same instant; refusals must carry a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/autime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    au_time_parsed p, q;
    char err[256] = "";
    if (au_time_parse_iso((const char *)data, size, &p, err, sizeof err) != AU_TIME_OK) {
        if (err[0] == '\0') abort();
        return 0;
    }
    if (!p.has_offset) return 0; /* a wall time with no offset names no instant */
    int64_t utc = p.local - (int64_t)p.offset * AU_TIME_US_PER_MIN;
    char buf[AU_TIME_ISO_BUFLEN];
    if (au_time_format_iso(utc, AU_TIME_ZONE_FIXED, p.offset, AU_TIME_FRAC_AUTO, buf, sizeof buf) != AU_TIME_OK)
        return 0; /* outside the years the formatter writes */
    if (au_time_parse_iso(buf, strlen(buf), &q, err, sizeof err) != AU_TIME_OK || q.local != p.local ||
        q.offset != p.offset)
        abort();
    return 0;
}
