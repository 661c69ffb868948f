/* outreach_send.c — the outbox: approved drafts become one row per message,
 * each delivered exactly once through the relay (outreach.h).
 *
 * Exactly once rests on three committed steps per message: the row exists
 * (intended) before anything is sent; it is claimed (sending, with the
 * claimant's host:pid and a deadline) before the relay is contacted; the
 * outcome is recorded after. A row found in sending whose claimant is gone
 * may or may not have reached the relay, so it becomes unknown and waits
 * for a person: it is never sent again on its own. */
#include "outreach_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book.h"
#include "fmt.h"

#define BACKOFF_MAX (6 * 3600)
#define CLAIM_MARGIN 120 /* seconds beyond the relay timeout before a claim is stale */

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int exec_done(struct store_stmt *st, struct err *err)
{
	int rc = store_step(st, err);

	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

static void now_text(char *buf, size_t len)
{
	outreach_time(time(NULL), buf, len);
}

/* ---- rows ----------------------------------------------------------------- */

#define OUTBOX_SELECT                                                                              \
	"SELECT o.id,o.draft_id,o.contact_id,o.address,o.message_id,o.state,o.attempts,"           \
	"o.next_attempt_at,o.last_error,o.claimed_by,o.claim_until,o.created_at,o.updated_at,"     \
	"o.sent_at,d.account_id,d.subject FROM outbox o LEFT JOIN draft d ON d.id=o.draft_id"

static json_t *outbox_json(struct store_stmt *st)
{
	static const char *const cols[] = {
	    "id",	  "draft_id",	"contact_id",  "address",
	    "message_id", "state",	"attempts",    "next_attempt_at",
	    "last_error", "claimed_by", "claim_until", "created_at",
	    "updated_at", "sent_at",	"account_id",  "subject"};
	json_t *o = json_object(), *v;
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i < sizeof cols / sizeof cols[0]; i++) {
		if (i == 0 || i == 6)
			v = json_integer(store_col_int(st, (int)i));
		else
			v = store_col_is_null(st, (int)i) ? json_null()
							  : json_string(store_col_text(st, (int)i));
		if (json_object_set_new(o, cols[i], v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *outbox_row(struct store_stmt *st, void *ctx)
{
	(void)ctx;
	return outbox_json(st);
}

static int collect_rows(struct store *s, const char *sql, const char *bind1, int64_t bind2,
			json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	if (bind1)
		store_bind_text(st, 1, bind1);
	if (bind2 >= 0)
		store_bind_int(st, 2, bind2);
	return store_collect(st, outbox_row, NULL, out, err);
}

static int load_row(struct store *s, int64_t id, json_t **out, struct err *err)
{
	json_t *arr;
	int rc = collect_rows(s, OUTBOX_SELECT " WHERE o.id=?2", NULL, id, &arr, err);

	*out = NULL;
	if (rc)
		return rc;
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return err_set(err, AIRLOCK_ENOTFOUND, "there is no outbox message %lld",
			       (long long)id);
	}
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

int outreach_outbox_list(struct store *s, int all, json_t **out, struct err *err)
{
	return collect_rows(s,
			    all ? OUTBOX_SELECT " ORDER BY o.id"
				: OUTBOX_SELECT " WHERE o.state IN ('intended','sending','unknown',"
						"'failed','blocked') ORDER BY o.id",
			    NULL, -1, out, err);
}

int outreach_outbox_of_draft(struct store *s, const char *draft_id, json_t **out, struct err *err)
{
	return collect_rows(s, OUTBOX_SELECT " WHERE o.draft_id=?1 ORDER BY o.id", draft_id, -1,
			    out, err);
}

/* Sets a row's state (and the columns that go with it) if it is still in
 * one of the states `from` lists; AIRLOCK_ECONFLICT when it moved. */
struct change {
	const char *state;
	const char *last_error;	  /* NULL clears it */
	const char *next_attempt; /* NULL keeps it */
	int reset_attempts;	  /* attempts = 0 */
	int sent;		  /* sets sent_at */
	int claim;		  /* attempts+1, claimed_by, claim_until from below */
	const char *claimed_by;
	const char *claim_until;
	const char *owner; /* when set, a row in sending must carry this claim */
};

static int change_row(struct store *s, int64_t id, const char *from_sql, const struct change *c,
		      struct err *err)
{
	char sql[720], now[32];
	struct store_stmt *st;
	int rc;

	/* from_sql is one of this file's literals, never input; a cut statement
	 * would still be one, so the fit is checked */
	rc = fmt_buf(sql, sizeof sql, err, "outbox update statement",
		     "UPDATE outbox SET state=?2,last_error=?3,updated_at=?4,"
		     "next_attempt_at=coalesce(?5,next_attempt_at),"
		     "attempts=CASE WHEN ?6=1 THEN 0 WHEN ?8=1 THEN attempts+1 ELSE attempts END,"
		     "sent_at=CASE WHEN ?7=1 THEN ?4 ELSE sent_at END,"
		     "claimed_by=CASE WHEN ?8=1 THEN ?9 ELSE NULL END,"
		     "claim_until=CASE WHEN ?8=1 THEN ?10 ELSE NULL END"
		     " WHERE id=?1 AND state IN (%s)%s",
		     from_sql, c->owner ? " AND (state<>'sending' OR claimed_by=?11)" : "");
	if (rc)
		return rc;
	now_text(now, sizeof now);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, id);
	store_bind_text(st, 2, c->state);
	store_bind_text(st, 3, c->last_error);
	store_bind_text(st, 4, now);
	store_bind_text(st, 5, c->next_attempt);
	store_bind_int(st, 6, c->reset_attempts);
	store_bind_int(st, 7, c->sent);
	store_bind_int(st, 8, c->claim);
	store_bind_text(st, 9, c->claimed_by);
	store_bind_text(st, 10, c->claim_until);
	if (c->owner)
		store_bind_text(st, 11, c->owner);
	rc = exec_done(st, err);
	if (rc == 0 && store_changes(s) != 1)
		rc = err_set(err, AIRLOCK_ECONFLICT, "outbox message %lld changed meanwhile",
			     (long long)id);
	return rc;
}

static int add_touch(struct store *s, json_t *row, struct err *err)
{
	struct store_stmt *st;
	char now[32];
	int rc;

	now_text(now, sizeof now);
	rc = store_prepare(s, "INSERT INTO touch(contact_id,at,outbox_id) VALUES(?1,?2,?3)", &st,
			   err);
	if (rc)
		return rc;
	store_bind_text(st, 1, str(row, "contact_id"));
	store_bind_text(st, 2, now);
	store_bind_int(st, 3, json_integer_value(json_object_get(row, "id")));
	return exec_done(st, err);
}

/* Logs a row's new state; summary names the message. */
static int log_row(struct store *s, const char *principal, const char *tool, json_t *row,
		   const char *state, const char *detail, json_t *reasons, struct err *err)
{
	char summary[640];
	json_t *args;
	int rc;

	(void)snprintf(summary, sizeof summary, "message %lld (draft %s → %s, %s): %s%s%s",
		       (long long)json_integer_value(json_object_get(row, "id")),
		       str(row, "draft_id"), str(row, "address"), str(row, "message_id"), state,
		       detail ? ": " : "", detail ? detail : "");
	args = json_pack("{s:O,s:O,s:O}", "outbox_id", json_object_get(row, "id"), "draft_id",
			 json_object_get(row, "draft_id"), "message_id",
			 json_object_get(row, "message_id"));
	rc = outreach_log(s, principal, tool, args, NULL, state, reasons, summary, err);
	json_decref(args);
	return rc;
}

/* ---- claims ------------------------------------------------------------------ */

static void claimant(char *buf, size_t len)
{
	char host[128];

	if (gethostname(host, sizeof host) != 0)
		(void)snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	(void)snprintf(buf, len, "%s:%ld", host, (long)getpid()); /* len ≥ 160: fits */
}

/* 1 when the process that claimed a row is certainly gone: its deadline
 * passed, or it ran on this host and no longer exists. A claim by this
 * very process counts as alive (another thread may be sending). */
static int claim_is_stale(const char *claimed_by, const char *claim_until, const char *now)
{
	char me[160], host[160];
	const char *colon;
	char *end;
	long pid;
	size_t hl;

	if (!claim_until || strcmp(claim_until, now) < 0)
		return 1;
	if (!claimed_by || !(colon = strrchr(claimed_by, ':')))
		return 1;
	claimant(me, sizeof me);
	hl = (size_t)(colon - claimed_by);
	if (hl >= sizeof host)
		return 0;
	memcpy(host, claimed_by, hl);
	host[hl] = '\0';
	if (strncmp(me, host, hl) != 0 || me[hl] != ':')
		return 0; /* another host: only its deadline tells */
	errno = 0;
	pid = strtol(colon + 1, &end, 10);
	if (errno || *end || pid <= 0)
		return 1;
	if (pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int outreach_recover(struct store *s, const char *principal, json_t **recovered, struct err *err)
{
	json_t *rows = NULL, *row, *done = json_array();
	struct change c = {0};
	char now[32], msg[400];
	size_t i;
	int rc;

	if (recovered)
		*recovered = NULL;
	now_text(now, sizeof now);
	rc = collect_rows(s, OUTBOX_SELECT " WHERE o.state='sending' ORDER BY o.id", NULL, -1,
			  &rows, err);
	json_array_foreach(rows, i, row)
	{
		if (rc)
			break;
		if (!claim_is_stale(str(row, "claimed_by"), str(row, "claim_until"), now))
			continue;
		(void)snprintf(
		    msg, sizeof msg,
		    "airlock (%s) stopped while handing this message to the relay: it may or "
		    "may not have been delivered",
		    str(row, "claimed_by") ? str(row, "claimed_by") : "?");
		c.state = "unknown";
		c.last_error = msg;
		rc = store_begin(s, err);
		if (rc)
			break;
		rc = change_row(s, json_integer_value(json_object_get(row, "id")), "'sending'", &c,
				err);
		if (rc == AIRLOCK_ECONFLICT) { /* its sender finished meanwhile */
			store_rollback(s);
			err_clear(err);
			rc = 0;
			continue;
		}
		if (!rc)
			rc = outreach_draft_rollup(s, str(row, "draft_id"), err);
		if (!rc)
			rc =
			    log_row(s, principal, "outbox_recover", row, "unknown", msg, NULL, err);
		if (rc) {
			store_rollback(s);
			break;
		}
		rc = store_commit(s, err);
		json_object_set_new(row, "state", json_string("unknown"));
		json_object_set_new(row, "last_error", json_string(msg));
		json_array_append(done, row);
	}
	json_decref(rows);
	if (rc == 0 && recovered)
		*recovered = json_incref(done);
	json_decref(done);
	return rc;
}

/* ---- queueing approved drafts -------------------------------------------------------- */

static int in_filter(json_t *ids, const char *id)
{
	size_t i;

	if (!ids)
		return 1;
	for (i = 0; i < json_array_size(ids); i++)
		if (!strcmp(json_string_value(json_array_get(ids, i)), id))
			return 1;
	return 0;
}

/* "<dr_x.2.9f3a01c2@example.com>": the draft, the recipient's position and
 * a random part, at the sender's domain. Only safe characters of the draft
 * id are kept, so the header needs no quoting. */
static int message_id(const char *draft_id, size_t pos, const char *domain, char *buf, size_t len,
		      struct err *err)
{
	char safe[48], rnd[OUTREACH_ID_MAX];
	size_t i, o = 0;
	int rc;

	for (i = 0; draft_id[i] && o < sizeof safe - 1; i++) {
		char c = draft_id[i];

		safe[o++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '_' || c == '-')
				? c
				: '-';
	}
	safe[o] = '\0';
	rc = outreach_new_id("", rnd, sizeof rnd, err);
	if (rc)
		return rc;
	return fmt_buf(buf, len, err, "Message-ID", "<%s.%zu.%s@%s>", safe, pos, rnd, domain);
}

/* Writes the outbox rows of one approved draft, in one transaction, unless
 * they exist already (another deliverer got there first). */
static int queue_draft(struct store *s, const char *principal, const char *draft_id,
		       const char *domain, int *queued, struct err *err)
{
	struct outreach_draft_row d = {0};
	struct store_stmt *st;
	char now[32], mid[400], summary[256];
	int64_t have = 0;
	size_t i;
	json_t *r;
	int rc;

	*queued = 0;
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = store_prepare(s, "SELECT count(*) FROM outbox WHERE draft_id=?1", &st, err);
	if (!rc) {
		store_bind_text(st, 1, draft_id);
		rc = store_step(st, err);
		have = rc == STORE_ROW ? store_col_int(st, 0) : 0;
		rc = rc == STORE_ROW ? 0 : rc;
		store_done(st);
	}
	if (!rc && have == 0)
		rc = outreach_draft_load(s, draft_id, &d, err);
	if (rc || have > 0 || strcmp(d.status, "approved") != 0)
		goto out;
	now_text(now, sizeof now);
	json_array_foreach(d.recipients, i, r)
	{
		rc = message_id(draft_id, i + 1, domain, mid, sizeof mid, err);
		if (!rc)
			rc = store_prepare(
			    s,
			    "INSERT INTO outbox(draft_id,contact_id,address,message_id,"
			    "state,attempts,next_attempt_at,created_at,updated_at)"
			    " VALUES(?1,?2,?3,?4,'intended',0,?5,?5,?5)",
			    &st, err);
		if (rc)
			break;
		store_bind_text(st, 1, draft_id);
		store_bind_text(st, 2, str(r, "contact_id"));
		store_bind_text(st, 3, str(r, "address"));
		store_bind_text(st, 4, mid);
		store_bind_text(st, 5, now);
		rc = exec_done(st, err);
		if (rc)
			break;
		(*queued)++;
	}
	if (!rc) {
		json_t *args = json_pack("{s:s}", "draft_id", draft_id);

		(void)snprintf(summary, sizeof summary,
			       "draft %s: %d message%s queued for the relay", draft_id, *queued,
			       *queued == 1 ? "" : "s");
		rc = outreach_log(s, principal, "outbox_queue", args, NULL, "intended", NULL,
				  summary, err);
		json_decref(args);
	}
out:
	outreach_draft_row_release(&d);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

static int queue_approved(struct store *s, const char *principal, json_t *filter,
			  const char *domain, struct err *err)
{
	struct store_stmt *st;
	json_t *ids = json_array(), *id;
	size_t i;
	int rc, queued;

	rc =
	    store_prepare(s,
			  "SELECT id FROM draft d WHERE status='approved' AND NOT EXISTS"
			  " (SELECT 1 FROM outbox o WHERE o.draft_id=d.id) ORDER BY created_at, id",
			  &st, err);
	if (rc) {
		json_decref(ids);
		return rc;
	}
	while ((rc = store_step(st, err)) == STORE_ROW)
		if (in_filter(filter, store_col_text(st, 0)))
			json_array_append_new(ids, json_string(store_col_text(st, 0)));
	store_done(st);
	rc = rc == STORE_DONE ? 0 : rc;
	json_array_foreach(ids, i, id)
	{
		if (rc)
			break;
		rc = queue_draft(s, principal, json_string_value(id), domain, &queued, err);
	}
	json_decref(ids);
	return rc;
}

/* ---- one message ------------------------------------------------------------------------ */

struct run {
	struct store *s;
	const struct outreach_audience_rules *rules;
	const struct outreach_smtp *cfg;
	struct smtp_relay relay;
	char mail_from[SMTP_ADDRESS_MAX + 1];
	const char *principal;
	char me[160];
	json_t *report;
};

static void report_add(struct run *r, const char *list, json_t *row, const char *state,
		       const char *error, json_t *findings)
{
	json_t *e = json_copy(row);

	if (!e)
		return;
	json_object_set_new(e, "state", json_string(state));
	if (error)
		json_object_set_new(e, "last_error", json_string(error));
	if (findings)
		json_object_set(e, "findings", findings);
	json_array_append_new(json_object_get(r->report, list), e);
}

/* Adds send-time findings to the draft's, so a rep sees them with the
 * draft (airlock drafts ID). */
static int keep_findings(struct store *s, const char *draft_id, json_t *findings, struct err *err)
{
	struct store_stmt *st;
	json_t *all = NULL;
	char *text;
	int rc;

	rc = store_prepare(s, "SELECT findings FROM draft WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, draft_id);
	if (store_step(st, err) == STORE_ROW && store_col_text(st, 0))
		all = json_loads(store_col_text(st, 0), 0, NULL);
	store_done(st);
	if (!json_is_array(all)) {
		json_decref(all);
		all = json_array();
	}
	json_array_extend(all, findings);
	text = store_json_dump(all, JSON_COMPACT);
	json_decref(all);
	if (!text)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = store_prepare(s, "UPDATE draft SET findings=?2 WHERE id=?1", &st, err);
	if (!rc) {
		store_bind_text(st, 1, draft_id);
		store_bind_text(st, 2, text);
		rc = exec_done(st, err);
	}
	free(text);
	return rc;
}

/* Blocks the message when the guard finds anything; *blocked says so. */
static int guard_message(struct run *r, json_t *row, struct outreach_draft_row *d, int *blocked,
			 struct err *err)
{
	json_t *findings = json_array(), *reasons = NULL;
	struct change c = {0};
	char msg[1024];
	int rc;

	*blocked = 0;
	rc = outreach_guard_loaded(r->s, r->rules, d, 1, str(row, "contact_id"),
				   str(row, "address"), findings, err);
	if (rc || json_array_size(findings) == 0)
		goto out;
	*blocked = 1;
	reasons = outreach_reasons(findings);
	(void)snprintf(msg, sizeof msg, "blocked by the audience guard at send time: %s",
		       json_string_value(json_array_get(reasons, 0)));
	c.state = "blocked";
	c.last_error = msg;
	rc =
	    change_row(r->s, json_integer_value(json_object_get(row, "id")), "'intended'", &c, err);
	if (!rc)
		rc = keep_findings(r->s, d->id, findings, err);
	if (!rc)
		rc = outreach_draft_rollup(r->s, d->id, err);
	if (!rc)
		rc = log_row(r->s, r->principal, "outbox_deliver", row, "blocked", NULL, reasons,
			     err);
	if (!rc)
		report_add(r, "blocked", row, "blocked", msg, findings);
out:
	json_decref(findings);
	json_decref(reasons);
	return rc;
}

static int unbuildable(struct run *r, json_t *row, const char *why, struct err *err)
{
	struct change c = {0};
	char msg[1100];
	int rc;

	(void)snprintf(msg, sizeof msg, "cannot build the message: %s", why);
	c.state = "failed";
	c.last_error = msg;
	rc =
	    change_row(r->s, json_integer_value(json_object_get(row, "id")), "'intended'", &c, err);
	if (!rc)
		rc = outreach_draft_rollup(r->s, str(row, "draft_id"), err);
	if (!rc)
		rc = log_row(r->s, r->principal, "outbox_deliver", row, "failed", msg, NULL, err);
	if (!rc)
		report_add(r, "failed", row, "failed", msg, NULL);
	return rc;
}

/* Everything up to the hand-over, in one transaction that commits the
 * claim: guard, message text, state sending. *data is NULL when the message
 * is not to be sent now (blocked, or taken by someone else). */
static int prepare_message(struct run *r, int64_t id, json_t **rowp, char **data, size_t *len,
			   struct err *err)
{
	struct outreach_draft_row d = {0};
	struct smtp_message m = {0};
	struct change c = {0};
	json_t *row = NULL, *contact = NULL;
	char until[32];
	int rc, blocked = 0;

	*rowp = NULL;
	*data = NULL;
	rc = store_begin(r->s, err);
	if (rc)
		return rc;
	rc = load_row(r->s, id, &row, err);
	if (rc || strcmp(str(row, "state"), "intended") != 0)
		goto out;
	rc = outreach_draft_load(r->s, str(row, "draft_id"), &d, err);
	if (!rc)
		rc = guard_message(r, row, &d, &blocked, err);
	if (rc || blocked)
		goto out;
	rc = book_get(r->s, BOOK_CONTACT, str(row, "contact_id"), &contact, err);
	if (rc)
		goto out;
	m.from = r->cfg->from;
	m.to_address = str(row, "address");
	m.to_name = str(contact, "name");
	m.subject = d.subject;
	m.body = d.body;
	m.message_id = str(row, "message_id");
	m.date = time(NULL);
	m.draft_id = d.id;
	rc = smtp_format(&m, data, len, err);
	if (rc == AIRLOCK_EINVAL) { /* this message can never be built: fail it, go on */
		rc = unbuildable(r, row, err->msg, err);
		goto out;
	}
	if (rc)
		goto out;
	outreach_time(time(NULL) + (time_t)r->relay.timeout_seconds + CLAIM_MARGIN, until,
		      sizeof until);
	c.state = "sending";
	c.last_error = str(row, "last_error");
	c.claim = 1;
	c.claimed_by = r->me;
	c.claim_until = until;
	rc = change_row(r->s, id, "'intended'", &c, err);
	if (!rc)
		rc = log_row(r->s, r->principal, "outbox_deliver", row, "sending", NULL, NULL, err);
out:
	json_decref(contact);
	outreach_draft_row_release(&d);
	if (rc) {
		store_rollback(r->s);
		free(*data);
		*data = NULL;
		json_decref(row);
		return rc;
	}
	rc = store_commit(r->s, err);
	if (rc) {
		free(*data);
		*data = NULL;
		json_decref(row);
		return rc;
	}
	*rowp = row;
	return 0;
}

static int64_t backoff(const struct outreach_smtp *cfg, int64_t attempts)
{
	int64_t base = cfg->retry_base_seconds > 0 ? cfg->retry_base_seconds : 60, d = base;

	while (--attempts > 0 && d < BACKOFF_MAX)
		d *= 2;
	return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

/* Records what the relay said, in one transaction. */
static int record_outcome(struct run *r, json_t *row, enum smtp_outcome out, const char *error,
			  struct err *err)
{
	int64_t id = json_integer_value(json_object_get(row, "id"));
	int64_t attempts = json_integer_value(json_object_get(row, "attempts")) + 1;
	int max = r->cfg->max_attempts > 0 ? r->cfg->max_attempts : 5;
	struct change c = {0};
	char next[32], detail[1200];
	const char *list;
	int rc;

	c.last_error = error;
	c.owner = r->me;
	detail[0] = '\0';
	switch (out) {
	case SMTP_SENT:
		c.state = "sent";
		c.sent = 1;
		list = "sent";
		break;
	case SMTP_RETRY:
		if (attempts >= max) {
			c.state = "failed";
			list = "failed";
			(void)snprintf(detail, sizeof detail, "gave up after %lld attempts: %s",
				       (long long)attempts, error);
			c.last_error = detail;
			break;
		}
		outreach_time(time(NULL) + (time_t)backoff(r->cfg, attempts), next, sizeof next);
		c.state = "intended";
		c.next_attempt = next;
		list = "retry";
		(void)snprintf(detail, sizeof detail, "attempt %lld of %d failed, next at %s: %s",
			       (long long)attempts, max, next, error);
		break;
	case SMTP_REJECTED:
		c.state = "failed";
		list = "failed";
		break;
	default:
		c.state = "unknown";
		list = "unknown";
		(void)snprintf(detail, sizeof detail,
			       "the message went out but the relay's answer did not come back: %s",
			       error);
		c.last_error = detail;
		break;
	}
	rc = store_begin(r->s, err);
	if (rc)
		return rc;
	/* claimed_by=our claim: a recovery that already made it unknown is
	 * overridden only by a definite answer */
	rc = change_row(r->s, id, out == SMTP_UNKNOWN ? "'sending'" : "'sending','unknown'", &c,
			err);
	if (!rc && out == SMTP_SENT)
		rc = add_touch(r->s, row, err);
	if (!rc)
		rc = outreach_draft_rollup(r->s, str(row, "draft_id"), err);
	if (!rc)
		rc = log_row(r->s, r->principal, "outbox_deliver", row, c.state,
			     detail[0] ? detail : error, NULL, err);
	if (rc) {
		store_rollback(r->s);
		return rc;
	}
	rc = store_commit(r->s, err);
	if (!rc) {
		json_object_set_new(row, "attempts", json_integer(attempts));
		if (c.next_attempt)
			json_object_set_new(row, "next_attempt_at", json_string(c.next_attempt));
		report_add(r, list, row, c.state, detail[0] ? detail : c.last_error, NULL);
	}
	return rc;
}

static int deliver_one(struct run *r, int64_t id, struct err *err)
{
	enum smtp_outcome out = SMTP_RETRY;
	struct err serr = {0};
	json_t *row = NULL;
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = prepare_message(r, id, &row, &data, &len, err);
	if (rc || !data) {
		json_decref(row);
		return rc;
	}
	rc = smtp_send(&r->relay, r->mail_from, str(row, "address"), data, len, &out, &serr);
	if (rc) /* nothing was attempted */
		out = SMTP_RETRY;
	rc = record_outcome(r, row, out, out == SMTP_SENT ? NULL : serr.msg, err);
	free(data);
	json_decref(row);
	return rc;
}

/* ---- the run ------------------------------------------------------------------------- */

static int due_rows(struct store *s, json_t *filter, int now_flag, int64_t **ids, size_t *n,
		    struct err *err)
{
	struct store_stmt *st;
	char now[32];
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	now_text(now, sizeof now);
	rc = store_prepare(s,
			   now_flag ? "SELECT id,draft_id FROM outbox WHERE state='intended'"
				      " AND ?1=?1 ORDER BY id"
				    : "SELECT id,draft_id FROM outbox WHERE state='intended'"
				      " AND next_attempt_at<=?1 ORDER BY next_attempt_at, id",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, now);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		if (!in_filter(filter, store_col_text(st, 1)))
			continue;
		if (*n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			int64_t *ni = realloc(*ids, ncap * sizeof *ni);

			if (!ni) {
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
				break;
			}
			*ids = ni;
			cap = ncap;
		}
		(*ids)[(*n)++] = store_col_int(st, 0);
	}
	store_done(st);
	if (rc != STORE_DONE) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return rc;
	}
	return 0;
}

static int check_config(const struct outreach_smtp *cfg, struct run *r, struct err *err)
{
	const char *at;
	int rc;

	if (!cfg || !cfg->host || !*cfg->host)
		return err_set(err, AIRLOCK_EINVAL, "smtp: no relay host configured");
	if (!smtp_host_valid(cfg->host))
		return err_set(err, AIRLOCK_EINVAL, "smtp: host '%s' is not a host name or address",
			       cfg->host);
	if (cfg->port < 1 || cfg->port > 65535)
		return err_set(err, AIRLOCK_EINVAL, "smtp: port %d is not 1-65535", cfg->port);
	if (cfg->tls != SMTP_TLS_NONE && cfg->tls != SMTP_TLS_STARTTLS && cfg->tls != SMTP_TLS_TLS)
		return err_set(err, AIRLOCK_EINVAL, "smtp: unknown tls mode");
	if (cfg->timeout_seconds < 0 || cfg->timeout_seconds > 3600)
		return err_set(err, AIRLOCK_EINVAL, "smtp: timeout must be 1 to 3600 seconds");
	if (cfg->max_attempts < 0 || cfg->max_attempts > 100)
		return err_set(err, AIRLOCK_EINVAL, "smtp: max_attempts must be 1 to 100");
	rc = smtp_from_address(cfg->from, r->mail_from, sizeof r->mail_from, err);
	if (rc)
		return err_prefix(err, "smtp");
	at = strrchr(r->mail_from, '@');
	r->relay.host = cfg->host;
	r->relay.port = cfg->port;
	r->relay.tls = cfg->tls;
	r->relay.username = cfg->username;
	r->relay.password = cfg->password;
	r->relay.timeout_seconds = cfg->timeout_seconds > 0 ? (long)cfg->timeout_seconds : 60;
	r->relay.helo = at + 1;
	r->cfg = cfg;
	return 0;
}

int outreach_deliver(struct store *s, const struct outreach_audience_rules *rules,
		     const struct outreach_smtp *smtp, const char *principal, json_t *draft_ids,
		     int flags, json_t **report, struct err *err)
{
	struct run r = {0};
	json_t *recovered = NULL;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc;

	*report = NULL;
	if (store_in_transaction(s))
		return err_set(err, AIRLOCK_ESTATE,
			       "outreach_deliver must not run inside a transaction: each message's "
			       "intent has to be committed before the relay is contacted");
	if (draft_ids && !json_is_array(draft_ids))
		return err_set(err, AIRLOCK_EINVAL, "draft ids must be an array");
	/* no rules, no send: the guard at send time is the policy's, never none */
	if (!rules)
		return err_set(err, AIRLOCK_EINVAL,
			       "no audience rules: nothing is sent without the policy's");
	rc = check_config(smtp, &r, err);
	if (rc)
		return rc;
	r.s = s;
	r.rules = rules;
	r.principal = principal;
	claimant(r.me, sizeof r.me);
	r.report = json_pack("{s:[],s:[],s:[],s:[],s:[]}", "sent", "retry", "failed", "blocked",
			     "unknown");
	if (!r.report)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = outreach_recover(s, principal, &recovered, err);
	if (!rc)
		rc = queue_approved(s, principal, draft_ids, r.relay.helo, err);
	if (!rc)
		rc = due_rows(s, draft_ids, flags & OUTREACH_DELIVER_NOW, &ids, &n, err);
	for (i = 0; i < n && rc == 0; i++) {
		rc = deliver_one(&r, ids[i], err);
		if (rc == AIRLOCK_ECONFLICT) { /* a person or another run moved it */
			err_clear(err);
			rc = 0;
		}
	}
	free(ids);
	if (rc) {
		json_decref(recovered);
		json_decref(r.report);
		return rc;
	}
	json_object_set_new(r.report, "recovered", recovered);
	*report = r.report;
	return 0;
}

/* ---- a person's verbs on one message --------------------------------------------------- */

static int human_change(struct store *s, const char *principal, int64_t id, const char *tool,
			const char *from_sql, const struct change *c, int touch, const char *detail,
			struct err *err)
{
	json_t *row = NULL;
	int rc;

	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = load_row(s, id, &row, err);
	if (!rc)
		rc = change_row(s, id, from_sql, c, err);
	if (!rc && touch)
		rc = add_touch(s, row, err);
	if (!rc)
		rc = outreach_draft_rollup(s, str(row, "draft_id"), err);
	if (!rc)
		rc = log_row(s, principal, tool, row, c->state, detail, NULL, err);
	json_decref(row);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

/* The current state, for a refusal that names it. */
static int state_refusal(struct store *s, int64_t id, const char *what, struct err *err)
{
	json_t *row = NULL;
	int rc = load_row(s, id, &row, err);

	if (rc)
		return rc;
	rc = err_set(err, AIRLOCK_ESTATE, "message %lld is %s: %s", (long long)id,
		     str(row, "state"), what);
	json_decref(row);
	return rc;
}

int outreach_outbox_resend(struct store *s, const char *principal, int64_t id, int force,
			   struct err *err)
{
	struct change c = {0};
	json_t *row = NULL;
	char now[32];
	int rc;

	rc = load_row(s, id, &row, err);
	if (rc)
		return rc;
	if (!strcmp(str(row, "state"), "unknown") && !force) {
		json_decref(row);
		return err_set(err, AIRLOCK_ESTATE,
			       "message %lld's outcome is unknown: the relay may already have it. "
			       "Check the relay's log, then 'airlock outbox mark-sent %lld' if it "
			       "went out, or 'airlock outbox resend %lld --force' to send it again",
			       (long long)id, (long long)id, (long long)id);
	}
	json_decref(row);
	now_text(now, sizeof now);
	c.state = "intended";
	c.reset_attempts = 1;
	c.next_attempt = now;
	rc = human_change(
	    s, principal, id, "outbox_resend",
	    force ? "'failed','blocked','cancelled','unknown'" : "'failed','blocked','cancelled'",
	    &c, 0, force ? "queued again by a person (forced)" : "queued again by a person", err);
	if (rc == AIRLOCK_ECONFLICT)
		return state_refusal(s, id,
				     "only a failed, blocked, cancelled or unknown message can "
				     "be sent again",
				     err);
	return rc;
}

int outreach_outbox_mark_sent(struct store *s, const char *principal, int64_t id, struct err *err)
{
	struct change c = {0};
	int rc;

	c.state = "sent";
	c.sent = 1;
	rc = human_change(s, principal, id, "outbox_mark_sent", "'unknown','failed'", &c, 1,
			  "a person confirmed it was delivered", err);
	if (rc == AIRLOCK_ECONFLICT)
		return state_refusal(s, id, "only an unknown or failed message can be marked sent",
				     err);
	return rc;
}

int outreach_outbox_cancel(struct store *s, const char *principal, int64_t id, struct err *err)
{
	struct change c = {0};
	int rc;

	c.state = "cancelled";
	rc = human_change(s, principal, id, "outbox_cancel",
			  "'intended','failed','blocked','unknown'", &c, 0, "cancelled by a person",
			  err);
	if (rc == AIRLOCK_ECONFLICT)
		return state_refusal(s, id,
				     "only a pending, failed, blocked or unknown message can be "
				     "cancelled",
				     err);
	return rc;
}
