/* resample.h — bars of one timeframe into bars of a longer one.
 *
 * Rules (OHLC): first open, max high, min low, last close, summed volume, last
 * adj_close.  Bars are grouped on the New York wall clock:
 *   - intraday -> N minutes: buckets aligned to the regular session open (09:30 ET),
 *     so 5m bars start 09:30, 09:35 ...; 1h bars 09:30, 10:30 ... 15:30 (a 30-minute
 *     last bar).  Extended-hours bars are kept, on the same grid, unless
 *     MD_RESAMPLE_REGULAR asks for the regular session only;
 *   - intraday -> daily: the regular session only (09:30 to 16:00, or 13:00 on early
 *     closes; non-trading days dropped) unless MD_RESAMPLE_EXTENDED keeps every bar of
 *     the New York date;
 *   - daily (or intraday) -> weekly: Monday to Friday, labelled by the Monday;
 *   - -> monthly: calendar months, labelled by the first day.
 * Daily, weekly and monthly results are stamped 09:30 ET of their label date, as
 * series.h says.  The target must be longer than the input, and intraday targets a
 * whole multiple of the input's minutes.  The result is a new owned series. */
#ifndef AU_MD_RESAMPLE_H
#define AU_MD_RESAMPLE_H

#include <stddef.h>

#include "md/series.h"

#define MD_RESAMPLE_REGULAR 1  /* intraday targets: drop bars outside 09:30-close */
#define MD_RESAMPLE_EXTENDED 2 /* daily targets: keep pre- and post-market bars */

md_series *md_resample(const md_series *in, int32_t timeframe, int flags, char *err, size_t errlen);

#endif
