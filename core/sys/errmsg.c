/* errmsg.c — see errmsg.h. */
#include "sys/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int au_errf(char *err, size_t errlen, int status, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}
