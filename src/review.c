/* review.c — human verbs: staging plus outreach for send batches. */
#include "review.h"

#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "staging.h"

void review_smtp(const struct policy *p, struct outreach_smtp *smtp)
{
	memset(smtp, 0, sizeof *smtp);
	if (!p || !p->smtp.host)
		return;
	smtp->host = p->smtp.host;
	smtp->port = p->smtp.port;
	smtp->tls = p->smtp.tls == TLS_STARTTLS  ? SMTP_TLS_STARTTLS
		    : p->smtp.tls == TLS_IMPLICIT ? SMTP_TLS_TLS
						  : SMTP_TLS_NONE;
	smtp->username = p->smtp.username;
	smtp->password = p->smtp.password_env ? getenv(p->smtp.password_env) : NULL;
	smtp->from = p->smtp.from;
	smtp->timeout_seconds = p->smtp.timeout_seconds;
	smtp->max_attempts = (int)p->smtp.max_attempts;
}

/* The action of a batch ("update", "merge", "send") and, for a send, its
 * draft ids. */
static int batch_action(struct store *s, int64_t id, char *action, size_t len, json_t **drafts,
			struct err *err)
{
	json_t *b, *it;
	size_t i;
	int rc;

	*drafts = NULL;
	rc = staging_get(s, id, &b, err);
	if (rc)
		return rc;
	snprintf(action, len, "%s", json_string_value(json_object_get(b, "action")));
	if (!strcmp(action, "send")) {
		*drafts = json_array();
		json_array_foreach(json_object_get(b, "item_list"), i, it)
			json_array_append(*drafts, json_object_get(it, "record_id"));
	}
	json_decref(b);
	return 0;
}

int review_approve(struct review *r, int64_t batch_id, const char *principal, struct err *err)
{
	int rc = staging_expire(r->store, NULL, err);

	return rc ? rc : staging_approve(r->store, batch_id, principal, r->surface, err);
}

int review_reject(struct review *r, int64_t batch_id, const char *principal, const char *reason,
		  struct err *err)
{
	char action[16];
	json_t *drafts = NULL;
	int rc;

	rc = staging_expire(r->store, NULL, err);
	if (!rc)
		rc = store_begin(r->store, err);
	if (rc)
		return rc;
	rc = batch_action(r->store, batch_id, action, sizeof action, &drafts, err);
	if (!rc)
		rc = staging_reject(r->store, batch_id, principal, r->surface, reason, err);
	/* the drafts go back to the rep, unsent */
	if (!rc && drafts)
		rc = outreach_send_reject(r->store, principal, drafts, reason, err);
	json_decref(drafts);
	if (rc) {
		store_rollback(r->store);
		return rc;
	}
	return store_commit(r->store, err);
}

int review_apply(struct review *r, int64_t batch_id, const char *principal, int skip_conflicts,
		 json_t **report, struct err *err)
{
	struct outreach_audience_rules rules;
	struct outreach_smtp smtp;
	struct err derr = {0};
	char action[16];
	json_t *drafts = NULL, *delivery = NULL;
	int rc;

	*report = NULL;
	rc = staging_expire(r->store, NULL, err);
	if (!rc)
		rc = store_begin(r->store, err);
	if (rc)
		return rc;
	rc = batch_action(r->store, batch_id, action, sizeof action, &drafts, err);
	if (!rc)
		rc = staging_apply(r->store, batch_id, principal, r->surface, skip_conflicts, report,
				   err);
	if (!rc && drafts)
		rc = outreach_send_approve(r->store, principal, drafts, err);
	if (rc) {
		store_rollback(r->store);
		goto out;
	}
	rc = store_commit(r->store, err);
	if (rc || !drafts)
		goto out;
	/* Delivery happens after the approval is durable, outside any
	 * transaction: each message's intent is committed before the relay is
	 * contacted (outreach.h). A relay problem leaves the messages pending. */
	review_smtp(r->policy, &smtp);
	gate_audience_rules(r->policy, &rules);
	if (!smtp.host)
		delivery = json_pack("{s:s}", "note",
				     "no SMTP relay in the policy: the messages wait in the outbox"
				     " (airlock outbox deliver)");
	else if (outreach_deliver(r->store, &rules, &smtp, principal, drafts, 0, &delivery, &derr))
		delivery = json_pack("{s:s}", "error", derr.msg);
	json_object_set_new(*report, "delivery", delivery);
out:
	json_decref(drafts);
	return rc;
}

int review_undo(struct review *r, int64_t batch_id, const char *principal, int force,
		json_t **report, struct err *err)
{
	return staging_undo(r->store, batch_id, principal, r->surface, force, report, err);
}
