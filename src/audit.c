/* audit.c — PLACEHOLDER until the action log lands: appends nothing. */
#include "audit.h"

int audit_append(struct store *s, const struct audit_entry *e, int64_t *seq, struct err *err)
{
	(void)s;
	(void)e;
	(void)err;
	if (seq)
		*seq = 0;
	return 0;
}
