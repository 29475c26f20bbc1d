/* errmsg.h — the one way C code here reports a failure in words: a printf-style
 * message into the caller's buffer (err, errlen), which may be NULL or empty, and the
 * status code handed back so a failure is one `return au_errf(...)`. */
#ifndef AU_SYS_ERRMSG_H
#define AU_SYS_ERRMSG_H

#include <stddef.h>

__attribute__((format(printf, 4, 5))) int au_errf(char *err, size_t errlen, int status,
                                                  const char *fmt, ...);

#endif
