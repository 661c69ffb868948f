/* outreach_edit.h — a rep's edits to a draft before it is sent: a new
 * subject or body, from the console.
 *
 * Owns: nothing beyond outreach's draft table (outreach.h), which it
 * updates for drafts in status "draft" only.
 *
 * Never: changes recipients or the audience (the guard's findings stay
 * true), edits a draft that was requested, approved or sent (what a
 * reviewer approved is what goes out), or edits without an action-log
 * entry in the same transaction. */
#ifndef AIRLOCK_OUTREACH_EDIT_H
#define AIRLOCK_OUTREACH_EDIT_H

#include "err.h"
#include "store.h"

/* Sets subject and/or body (NULL keeps it) of draft id. AIRLOCK_EINVAL for
 * an empty or multi-line subject, control characters, or text over
 * OUTREACH_MAX_SUBJECT / OUTREACH_MAX_BODY; AIRLOCK_ENOTFOUND; AIRLOCK_ESTATE
 * when the draft is not in status "draft". surface: "console", "cli". */
int outreach_draft_edit(struct store *s, const char *principal, const char *surface, const char *id,
			const char *subject, const char *body, struct err *err);

#endif
