/* err.h — airlock's error values and the caller-owned error message buffer.
 *
 * Every fallible function returns 0 (AIRLOCK_OK) or a negative AIRLOCK_E*
 * code, and fills a caller-provided struct err with a message a user can act
 * on, cause first, lowercase ("accounts.csv:12: missing id"). Functions never
 * exit(); only the CLI layer turns an error into an exit status. */
#ifndef AIRLOCK_ERR_H
#define AIRLOCK_ERR_H

#include <stddef.h>

enum {
	AIRLOCK_OK = 0,
	AIRLOCK_EINVAL = -1,   /* bad input: a value, a file, an argument */
	AIRLOCK_ENOMEM = -2,   /* allocation failed */
	AIRLOCK_EIO = -3,      /* file or database I/O failed */
	AIRLOCK_ENOTFOUND = -4, /* the named thing does not exist */
	AIRLOCK_ECONFLICT = -5, /* a record changed underneath us */
	AIRLOCK_EDENIED = -6,  /* the principal may not do this */
	AIRLOCK_ESTATE = -7,   /* illegal state transition */
	AIRLOCK_EEXIST = -8,   /* already exists */
	AIRLOCK_EBUSY = -9,    /* database locked past the timeout */
	AIRLOCK_ECORRUPT = -10 /* stored data failed a check */
};

#define ERR_MSG_MAX 1024

struct err {
	int code;
	char msg[ERR_MSG_MAX];
};

/* Sets err->code and err->msg (truncated to fit); returns code so callers
 * can write `return err_set(err, AIRLOCK_EINVAL, "...")`. err may be NULL. */
int err_set(struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (for adding FILE:LINE context). */
int err_prefix(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void err_clear(struct err *err);

/* A short name for a code ("invalid input", "conflict", ...). */
const char *err_name(int code);

#endif
