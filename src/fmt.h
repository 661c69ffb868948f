/* fmt.h — text formatted into a fixed buffer where a cut would change what
 * the text means: a path, a record id, a principal, a key, a URL, an SQL
 * statement.
 *
 * Owns: the one error for "this did not fit". A call to snprintf whose
 * result is discarded must be written (void)snprintf(...) and only where a
 * cut cannot happen (bounded constants) or changes nothing but what a person
 * reads (a message, a table cell); scripts/snprintf.sh holds src/ to that.
 *
 * Never: hands back a cut text. On any error the buffer is emptied, so a
 * caller that forgets the return value still does not use half a name. */
#ifndef AIRLOCK_FMT_H
#define AIRLOCK_FMT_H

#include <stddef.h>

#include "err.h"

/* snprintf(buf, len, fmt, ...) that fails instead of cutting: 0, or
 * AIRLOCK_EINVAL with "WHAT is too long (N bytes, at most M)" in err (which
 * may be NULL); buf is then "". len ≥ 1. */
int fmt_buf(char *buf, size_t len, struct err *err, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
