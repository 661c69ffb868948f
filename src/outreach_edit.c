/* outreach_edit.c — a rep edits a draft's subject or body (outreach_edit.h). */
#include "outreach_edit.h"

#include <jansson.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "outreach.h"
#include "outreach_int.h"
#include "text.h"

static int check(const char *key, const char *s, int one_line, size_t max, struct err *err)
{
	size_t n = strlen(s);

	if (n > max)
		return err_set(err, AIRLOCK_EINVAL, "%s is longer than %zu bytes", key, max);
	if (one_line && n == 0)
		return err_set(err, AIRLOCK_EINVAL, "%s must not be empty", key);
	/* a line break in a subject would be a new mail header */
	if (one_line && s[strcspn(s, "\r\n")])
		return err_set(err, AIRLOCK_EINVAL, "%s must be a single line", key);
	return text_check(key, s, n, TEXT_LINES, err);
}

int outreach_draft_edit(struct store *s, const char *principal, const char *surface, const char *id,
			const char *subject, const char *body, struct err *err)
{
	struct outreach_draft_row d = {0};
	struct audit_entry e = {0};
	struct store_stmt *st;
	char now[CLOCK_TEXT_LEN], summary[160];
	json_t *args = NULL;
	int rc;

	if (!subject && !body)
		return err_set(err, AIRLOCK_EINVAL, "give a subject or a body to change");
	if ((subject && (rc = check("subject", subject, 1, OUTREACH_MAX_SUBJECT, err))) ||
	    (body && (rc = check("body", body, 0, OUTREACH_MAX_BODY, err))))
		return rc;
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = outreach_draft_load(s, id, &d, err);
	if (rc)
		goto rollback;
	if (strcmp(d.status, "draft")) {
		rc = err_set(err, AIRLOCK_ESTATE,
			     "draft %s is %s: only a draft can be edited (reject the send first)",
			     id, d.status);
		goto rollback;
	}
	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s,
			   "UPDATE draft SET subject=coalesce(?2,subject),body=coalesce(?3,body),"
			   "updated_at=?4 WHERE id=?1 AND status='draft'",
			   &st, err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, subject);
	store_bind_text(st, 3, body);
	store_bind_text(st, 4, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto rollback;
	args = json_pack("{s:s,s:s?,s:s?}", "draft_id", id, "subject", subject, "body", body);
	(void)snprintf(summary, sizeof summary, "draft %s edited (%s%s%s)", id,
		       subject ? "subject" : "", subject && body ? ", " : "", body ? "body" : "");
	e.principal = principal;
	e.surface = surface;
	e.tool = "edit_draft";
	e.args = args;
	e.decision = "draft";
	e.summary = summary;
	rc = audit_append(s, &e, NULL, err);
	json_decref(args);
	if (rc)
		goto rollback;
	outreach_draft_row_release(&d);
	return store_commit(s, err);
rollback:
	outreach_draft_row_release(&d);
	store_rollback(s);
	return rc;
}
