/* err.c — error values and messages. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

int err_prefix(struct err *err, const char *fmt, ...)
{
	char head[ERR_MSG_MAX], both[2 * ERR_MSG_MAX + 2];
	va_list ap;

	if (!err)
		return AIRLOCK_EINVAL;
	va_start(ap, fmt);
	(void)vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	(void)snprintf(both, sizeof both, "%s: %s", head, err->msg);
	/* truncation is wanted: the message keeps its head */
	both[sizeof err->msg - 1] = '\0';
	memcpy(err->msg, both, sizeof err->msg);
	return err->code;
}

void err_clear(struct err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

const char *err_name(int code)
{
	switch (code) {
	case AIRLOCK_OK: return "ok";
	case AIRLOCK_EINVAL: return "invalid input";
	case AIRLOCK_ENOMEM: return "out of memory";
	case AIRLOCK_EIO: return "i/o error";
	case AIRLOCK_ENOTFOUND: return "not found";
	case AIRLOCK_ECONFLICT: return "conflict";
	case AIRLOCK_EDENIED: return "denied";
	case AIRLOCK_ESTATE: return "illegal state";
	case AIRLOCK_EEXIST: return "already exists";
	case AIRLOCK_EBUSY: return "busy";
	case AIRLOCK_ECORRUPT: return "corrupt";
	}
	return "error";
}
