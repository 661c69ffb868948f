/* fmt.c — see fmt.h. */
#include "fmt.h"

#include <stdarg.h>
#include <stdio.h>

int fmt_buf(char *buf, size_t len, struct err *err, const char *what, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		return 0;
	if (len > 0)
		buf[0] = '\0';
	if (n < 0)
		return err_set(err, AIRLOCK_EINVAL, "%s cannot be formatted", what);
	return err_set(err, AIRLOCK_EINVAL, "%s is too long (%d bytes, at most %zu)", what, n,
		       len - 1);
}
