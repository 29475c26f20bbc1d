/* version.h — the C half's version and the C/Lua interface number.
 *
 * lua/alluse/version.lua carries the same two values for the Lua half; the host
 * refuses to start when they differ (see host_check_halves).  Bump AU_ABI on both
 * sides whenever a C function the Lua library calls changes its contract. */
#ifndef AU_HOST_VERSION_H
#define AU_HOST_VERSION_H

#define AU_VERSION "0.1.0"
#define AU_ABI 2

#endif
