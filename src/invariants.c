/* invariants.c — the guarantees of invariants.h, each as plain SELECTs over
 * the stored rows. Reads only. */
#include "invariants.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "fmt.h"
#include "policy.h"
#include "scope.h"

struct inv {
	struct store *s;
	const struct invariants_opts *o;
	json_t *out;
	json_t *unchecked;
	int max;
	struct err *err;
};

static const struct {
	const char *id, *text;
} descriptions[] = {
    {"I1", "staged-but-unreviewed records per agent and workflow never exceed stage_max"},
    {"I2", "no batch item writes a field outside its workflow's allow-list"},
    {"I3", "no agent or book text reaches a terminal or page uninterpreted"},
    {"I4", "every message handed to the relay passed the audience rules then"},
    {"I5", "every human verb is a person's, never the proposer's"},
    {"I6", "the recorded instruction version is the connector's pin"},
    {"I7", "every cited evidence id is a signal of the item's record"},
    {"I8", "no account merged into a merged account, no cycle, nothing left on one"},
};

const char *invariants_describe(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof descriptions / sizeof descriptions[0]; i++)
		if (id && !strcmp(descriptions[i].id, id))
			return descriptions[i].text;
	return NULL;
}

/* Adds one violation; rows is stolen. Past the cap it is dropped (the
 * caller sees max entries and knows there may be more). */
static int violate(struct inv *v, const char *id, const char *name, json_t *rows,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int violate(struct inv *v, const char *id, const char *name, json_t *rows,
		   const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	json_t *o;

	if ((int)json_array_size(v->out) >= v->max) {
		json_decref(rows);
		return 0;
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap); /* a cut message still names the rows */
	va_end(ap);
	o = json_pack("{s:s,s:s,s:o,s:s}", "invariant", id, "name", name, "rows",
		      rows ? rows : json_object(), "message", msg);
	if (!o || json_array_append_new(v->out, o))
		return err_set(v->err, AIRLOCK_ENOMEM, "out of memory listing violations");
	return 0;
}

static int unchecked(struct inv *v, const char *id, const char *why)
{
	json_t *o = json_pack("{s:s,s:s}", "invariant", id, "why", why);

	if (!o || json_array_append_new(v->unchecked, o))
		return err_set(v->err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

static const char *col(struct store_stmt *st, int c)
{
	const char *t = store_col_text(st, c);

	return t ? t : "";
}

/* I1: the records waiting for a sample audit, per agent and workflow. */
static int check_i1(struct inv *v)
{
	/* the batches' ids in one text: each engine has its own aggregate */
	const char *sql =
	    strcmp(store_backend_name(v->s), "postgres") == 0
		? "SELECT b.principal, b.workflow, count(DISTINCT i.record_id),"
		  " string_agg(DISTINCT CAST(b.id AS TEXT), ',') FROM batch b JOIN batch_item i"
		  " ON i.batch_id = b.id WHERE b.state IN ('staged','sampled')"
		  " GROUP BY b.principal, b.workflow ORDER BY b.principal, b.workflow"
		: "SELECT b.principal, b.workflow, count(DISTINCT i.record_id),"
		  " group_concat(DISTINCT b.id) FROM batch b JOIN batch_item i ON i.batch_id = b.id"
		  " WHERE b.state IN ('staged','sampled') GROUP BY b.principal, b.workflow"
		  " ORDER BY b.principal, b.workflow";
	const struct policy_workflow *wf;
	struct store_stmt *st;
	int rc;

	if (!v->o->policy)
		return unchecked(v, "I1", "no policy: stage_max unknown");
	rc = store_prepare(v->s, sql, &st, v->err);
	if (rc)
		return rc;
	while ((rc = store_step(st, v->err)) == STORE_ROW) {
		int64_t n = store_col_int(st, 2);

		wf = policy_workflow(v->o->policy, col(st, 1));
		if (!wf || wf->stage_max <= 0 || n <= wf->stage_max)
			continue; /* an unknown workflow is I2's */
		rc = violate(v, "I1", "stage_max",
			     json_pack("{s:s,s:s,s:I,s:I,s:s}", "principal", col(st, 0), "workflow",
				       col(st, 1), "records", (json_int_t)n, "stage_max",
				       (json_int_t)wf->stage_max, "batches", col(st, 3)),
			     "%s has %lld records staged unreviewed in workflow %s (batches %s); "
			     "stage_max is %lld",
			     col(st, 0), (long long)n, col(st, 1), col(st, 3),
			     (long long)wf->stage_max);
		if (rc)
			break;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

static int effect_fits(const char *action, enum policy_effect e)
{
	if (!strcmp(action, "send"))
		return e == EFFECT_SEND;
	return e == EFFECT_WRITE; /* update, merge */
}

/* I2 for one item: every field its changes write must be allowed. */
static int check_i2_item(struct inv *v, const struct policy_workflow *wf, struct store_stmt *st)
{
	const char *action = col(st, 2), *key;
	json_t *changes, *val;
	int rc = 0;

	if (!strcmp(action, "send"))
		return 0; /* a send item records drafts, not book fields */
	changes = json_loads(col(st, 6), 0, NULL);
	if (!json_is_object(changes)) {
		json_decref(changes);
		return violate(v, "I2", "changes_unreadable",
			       json_pack("{s:I,s:I}", "batch_id", (json_int_t)store_col_int(st, 0),
					 "item", (json_int_t)store_col_int(st, 4)),
			       "batch %lld item %lld: changes are not a JSON object",
			       (long long)store_col_int(st, 0), (long long)store_col_int(st, 4));
	}
	json_object_foreach(changes, key, val)
	{
		if (!strcmp(action, "merge") && !strcmp(key, "merged_into"))
			continue; /* marking the duplicate merged is the merge itself */
		if (policy_field_allowed(wf, key))
			continue;
		rc = violate(v, "I2", "field_not_allowed",
			     json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "batch_id",
				       (json_int_t)store_col_int(st, 0), "item",
				       (json_int_t)store_col_int(st, 4), "record_id", col(st, 5),
				       "field", key, "workflow", wf->name, "state", col(st, 3)),
			     "batch %lld (%s) item %lld writes %s.%s, which workflow %s may not "
			     "write",
			     (long long)store_col_int(st, 0), col(st, 3),
			     (long long)store_col_int(st, 4), col(st, 5), key, wf->name);
		if (rc)
			break;
	}
	json_decref(changes);
	return rc;
}

/* I2: every batch names a workflow of the policy whose effect fits its
 * action, and writes only fields that workflow may write. */
static int check_i2(struct inv *v)
{
	static const char sql[] =
	    "SELECT b.id, b.workflow, b.action, b.state, i.idx, i.record_id, i.changes, b.tool"
	    " FROM batch b JOIN batch_item i ON i.batch_id = b.id ORDER BY b.id, i.idx";
	const struct policy_workflow *wf;
	struct store_stmt *st;
	int64_t last_bad = -1;
	int rc;

	if (!v->o->policy)
		return unchecked(v, "I2", "no policy: allow-lists unknown");
	rc = store_prepare(v->s, sql, &st, v->err);
	if (rc)
		return rc;
	while ((rc = store_step(st, v->err)) == STORE_ROW) {
		int64_t id = store_col_int(st, 0);

		wf = policy_workflow(v->o->policy, col(st, 1));
		if (wf && effect_fits(col(st, 2), wf->effect) &&
		    !policy_workflow_has_tool(wf, col(st, 7))) {
			if (id == last_bad)
				continue;
			last_bad = id;
			rc = violate(v, "I2", "tool_not_in_workflow",
				     json_pack("{s:I,s:s,s:s,s:s}", "batch_id", (json_int_t)id,
					       "workflow", col(st, 1), "tool", col(st, 7), "state",
					       col(st, 3)),
				     "batch %lld (%s) came from %s, which workflow '%s' does not list",
				     (long long)id, col(st, 3), col(st, 7), col(st, 1));
		} else if (!wf || !effect_fits(col(st, 2), wf->effect)) {
			if (id == last_bad)
				continue; /* one violation per batch is enough */
			last_bad = id;
			rc = violate(v, "I2", wf ? "workflow_effect" : "unknown_workflow",
				     json_pack("{s:I,s:s,s:s,s:s}", "batch_id", (json_int_t)id,
					       "workflow", col(st, 1), "action", col(st, 2), "state",
					       col(st, 3)),
				     wf ? "batch %lld (%s) is a%s %s under workflow '%s' of effect %s"
					: "batch %lld (%s) is a%s %s under workflow '%s', which the "
					  "policy does not define%s",
				     (long long)id, col(st, 3),
				     !strcmp(col(st, 2), "update") ? "n" : "", col(st, 2),
				     col(st, 1), wf ? policy_effect_name(wf->effect) : "");
		} else {
			rc = check_i2_item(v, wf, st);
		}
		if (rc)
			break;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* 1 when domain is d or a subdomain of it (ASCII case ignored), as the
 * guard's competitor list reads. */
static int domain_within(const char *domain, const char *d)
{
	size_t dl = strlen(domain), n = strlen(d);

	return !strcasecmp(domain, d) ||
	       (dl > n && domain[dl - n - 1] == '.' && !strcasecmp(domain + dl - n, d));
}

/* I4, one sent message: the rules of the audience guard that do not depend
 * on the audience text, against rows unchanged since the send. */
static int check_i4_row(struct inv *v, struct store_stmt *st, const struct policy *p)
{
	const char *oid = col(st, 0), *cid = col(st, 1), *addr = col(st, 2), *sent = col(st, 3);
	const char *acc = col(st, 4), *life = col(st, 8), *dom = col(st, 10);
	int c_same = strcmp(col(st, 5), sent) <= 0, a_same = strcmp(col(st, 11), sent) <= 0;
	const char *rule = NULL, *at = strrchr(addr, '@'), *cd;
	char why[300] = "";
	int i;

	at = at ? at + 1 : "";
	if (c_same && store_col_int(st, 6)) {
		rule = "do_not_contact";
		(void)snprintf(why, sizeof why, "contact %s is do-not-contact", cid);
	} else if (c_same && store_col_int(st, 7)) {
		rule = "unsubscribed";
		(void)snprintf(why, sizeof why, "contact %s unsubscribed", cid);
	} else if (a_same && store_col_int(st, 9)) {
		rule = "do_not_contact";
		(void)snprintf(why, sizeof why, "account %s is do-not-contact", acc);
	} else if (a_same && !strcmp(life, "competitor")) {
		rule = "competitor";
		(void)snprintf(why, sizeof why, "account %s is a competitor", acc);
	}
	for (i = 0; !rule && p && i < p->audience.ncompetitor_domains; i++) {
		cd = p->audience.competitor_domains[i];
		if (domain_within(at, cd)) {
			rule = "competitor";
			(void)snprintf(why, sizeof why, "%s is at a competitor's domain (%s)", addr,
				       cd);
		} else if (a_same && domain_within(dom, cd)) {
			rule = "competitor";
			(void)snprintf(why, sizeof why, "account %s's domain %s is a competitor's",
				       acc, dom);
		}
	}
	if (!rule)
		return 0;
	return violate(v, "I4", rule,
		       json_pack("{s:s,s:s,s:s,s:s,s:s}", "outbox_id", oid, "contact_id", cid,
				 "account_id", acc, "address", addr, "sent_at", sent),
		       "message %s to %s was sent at %s although %s", oid, addr, sent, why);
}

/* I4, the touch window: for each sent message, the touches of its contact in
 * the window ending at its send, itself included, are at most max_touches. */
static int check_i4_touches(struct inv *v, const struct policy *p)
{
	static const char sql[] =
	    "SELECT o.id, o.contact_id, o.sent_at, t.at FROM outbox o JOIN touch t"
	    " ON t.contact_id = o.contact_id AND t.at <= o.sent_at"
	    " WHERE o.state = 'sent' AND o.sent_at IS NOT NULL ORDER BY o.id, t.at DESC";
	struct store_stmt *st;
	char last[32] = "";
	int64_t n = 0, window = p->audience.touch_window_days * 86400;
	time_t sent, at;
	int rc, flagged = 0;

	if (p->audience.touch_window_days <= 0 || p->audience.max_touches <= 0)
		return 0;
	rc = store_prepare(v->s, sql, &st, v->err);
	if (rc)
		return rc;
	while ((rc = store_step(st, v->err)) == STORE_ROW) {
		if (strcmp(last, col(st, 0))) {
			/* a cut id would count two messages as one */
			if (fmt_buf(last, sizeof last, v->err, "outbox id", "%s", col(st, 0))) {
				rc = AIRLOCK_ECORRUPT;
				break;
			}
			n = 0;
			flagged = 0;
		}
		if (flagged || clock_parse(col(st, 2), &sent) || clock_parse(col(st, 3), &at))
			continue;
		if ((int64_t)(sent - at) >= window)
			continue;
		if (++n <= p->audience.max_touches)
			continue;
		flagged = 1;
		rc = violate(v, "I4", "touch_window",
			     json_pack("{s:s,s:s,s:s,s:I}", "outbox_id", col(st, 0), "contact_id",
				       col(st, 1), "sent_at", col(st, 2), "touches", (json_int_t)n),
			     "message %s to contact %s sent at %s was at least touch %lld within %lld "
			     "days (at most %lld)",
			     col(st, 0), col(st, 1), col(st, 2), (long long)n,
			     (long long)p->audience.touch_window_days,
			     (long long)p->audience.max_touches);
		if (rc)
			break;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* I4, customers: a customer reached by a draft whose audience would take
 * this very account were it a prospect (whatever else the expression says:
 * `lifecycle=prospect OR segment=smb` takes an smb customer as it is, and is
 * still prospect outreach), or by a workflow that names prospecting. A
 * customer is reached only by an audience that leaves prospects out. */
static int check_i4_customer(struct inv *v, struct store_stmt *st, const char *audience,
			     const char *workflow)
{
	struct scope *sc = NULL;
	struct err e = {0};
	json_t *a, *as_prospect;
	int as_p, rc = 0;

	a = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s?}", "id", col(st, 4), "lifecycle", "customer",
		      "segment", store_col_text(st, 12), "region", store_col_text(st, 13), "domain",
		      store_col_text(st, 10), "name", store_col_text(st, 14));
	if (!a)
		return err_set(v->err, AIRLOCK_ENOMEM, "out of memory");
	if (workflow && strcasestr(workflow, "prospect")) {
		as_p = 1;
	} else if (scope_parse(audience, &sc, &e)) {
		json_decref(a);
		return 0; /* not a scope today: nothing to re-run */
	} else {
		as_prospect = json_copy(a);
		json_object_set_new(as_prospect, "lifecycle", json_string("prospect"));
		as_p = scope_match(sc, as_prospect);
		json_decref(as_prospect);
	}
	if (as_p)
		rc = violate(v, "I4", "customer_prospecting",
			     json_pack("{s:s,s:s,s:s,s:s}", "outbox_id", col(st, 0), "account_id",
				       col(st, 4), "audience", audience, "sent_at", col(st, 3)),
			     "message %s went to customer account %s under prospect audience '%s'",
			     col(st, 0), col(st, 4), audience);
	scope_free(sc);
	json_decref(a);
	return rc;
}

/* I4: messages the relay took (sent), against the rules. The account is
 * the draft's, the one the guard judged: a merge may since have moved the
 * contact to another account (its survivor), which says nothing about the
 * send. */
static int check_i4(struct inv *v)
{
	static const char sql[] =
	    "SELECT o.id, o.contact_id, o.address, o.sent_at, c.account_id, c.updated_at,"
	    " c.do_not_contact, c.unsubscribed, a.lifecycle, a.do_not_contact, a.domain,"
	    " a.updated_at, a.segment, a.region, a.name, d.audience, d.workflow"
	    " FROM outbox o JOIN contact c ON c.id = o.contact_id"
	    " JOIN draft d ON d.id = o.draft_id JOIN account a ON a.id = d.account_id"
	    " WHERE o.state = 'sent' AND o.sent_at IS NOT NULL ORDER BY o.id";
	struct store_stmt *st;
	int rc;

	rc = store_prepare(v->s, sql, &st, v->err);
	if (rc)
		return rc;
	while ((rc = store_step(st, v->err)) == STORE_ROW) {
		rc = check_i4_row(v, st, v->o->policy);
		if (!rc && !strcmp(col(st, 8), "customer") && strcmp(col(st, 11), col(st, 3)) <= 0)
			rc = check_i4_customer(v, st, col(st, 15), store_col_text(st, 16));
		if (rc)
			break;
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (!v->o->policy)
		return unchecked(v, "I4", "no policy: touch window and competitor domains unknown");
	return check_i4_touches(v, v->o->policy);
}

/* A person's principal: "human:NAME" where NAME is not itself an agent's
 * principal in disguise (human:agent:x, human:Agent:x). */
static int is_person(const char *p)
{
	return p && !strncmp(p, "human:", 6) && p[6] && strncasecmp(p + 6, "agent:", 6) &&
	       strncasecmp(p + 6, "human:", 6);
}

/* Same principal, ignoring the "human:" a CLI --as may have put before an
 * agent's name and ASCII case. */
static int same_actor(const char *a, const char *b)
{
	if (!strncmp(a, "human:", 6) && !strncasecmp(a + 6, "agent:", 6))
		a += 6;
	if (!strncmp(b, "human:", 6) && !strncasecmp(b + 6, "agent:", 6))
		b += 6;
	return !strcasecmp(a, b);
}

/* I5: the human verbs of the log, and who decided each batch. */
static int check_i5(struct inv *v)
{
	static const char sql_log[] =
	    "SELECT l.seq, l.principal, l.tool, l.batch_id, b.principal FROM action_log l"
	    " LEFT JOIN batch b ON b.id = CAST(l.batch_id AS INTEGER)"
	    " WHERE l.tool IN ('approve','reject','apply','undo','sample','judge',"
	    "  'outbox_resend','outbox_mark_sent','outbox_cancel','send_approve','send_reject')"
	    " ORDER BY l.seq";
	static const char sql_batch[] =
	    "SELECT id, principal, decided_by, applied_by, undone_by, state FROM batch"
	    " WHERE decided_by IS NOT NULL OR applied_by IS NOT NULL OR undone_by IS NOT NULL"
	    " ORDER BY id";
	struct store_stmt *st;
	const char *who[3];
	int rc, k;

	rc = store_prepare(v->s, sql_log, &st, v->err);
	if (rc)
		return rc;
	while ((rc = store_step(st, v->err)) == STORE_ROW) {
		const char *p = col(st, 1), *proposer = store_col_text(st, 4);

		if (is_person(p) && !(proposer && same_actor(p, proposer)))
			continue;
		rc = violate(v, "I5", is_person(p) ? "own_batch" : "not_a_person",
			     json_pack("{s:I,s:s,s:s,s:s?,s:s?}", "seq",
				       (json_int_t)store_col_int(st, 0), "principal", p, "tool",
				       col(st, 2), "batch_id", store_col_text(st, 3), "proposer",
				       proposer),
			     "log entry %lld: %s by %s%s%s", (long long)store_col_int(st, 0),
			     col(st, 2), p,
			     is_person(p) ? " on a batch proposed by " : ", which is not a person",
			     is_person(p) ? proposer : "");
		if (rc)
			break;
	}
	store_done(st);
	if (rc < 0)
		return rc;
	rc = store_prepare(v->s, sql_batch, &st, v->err);
	if (rc)
		return rc;
	while ((rc = store_step(st, v->err)) == STORE_ROW) {
		rc = 0;
		who[0] = store_col_text(st, 2);
		who[1] = store_col_text(st, 3);
		who[2] = store_col_text(st, 4);
		for (k = 0; k < 3 && !rc; k++) {
			if (!who[k])
				continue;
			/* the policy letting an unattended batch through is no person, and
			 * says so */
			if (k < 2 && !strcmp(who[k], "policy:unattended"))
				continue;
			if (is_person(who[k]) && !same_actor(who[k], col(st, 1)))
				continue;
			rc = violate(v, "I5", is_person(who[k]) ? "own_batch" : "not_a_person",
				     json_pack("{s:I,s:s,s:s,s:s}", "batch_id",
					       (json_int_t)store_col_int(st, 0), "proposer",
					       col(st, 1), "by", who[k], "as",
					       k == 0 ? "decided_by" : k == 1 ? "applied_by"
									: "undone_by"),
				     "batch %lld proposed by %s was %s by %s",
				     (long long)store_col_int(st, 0), col(st, 1),
				     k == 0 ? "decided" : k == 1 ? "applied" : "undone", who[k]);
		}
		if (rc)
			break;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* I6: what agents proposed or drafted carries the pin, nothing else.
 * IS DISTINCT FROM (NULL-safe, SQLite 3.39+ and PostgreSQL) rather than
 * SQLite's IS NOT, which PostgreSQL does not take before a value. */
static int check_i6(struct inv *v)
{
	static const char *const tables[][2] = {
	    {"batch", "SELECT id, instruction_version FROM batch WHERE principal LIKE 'agent:%'"
		      " AND instruction_version IS DISTINCT FROM ?1 ORDER BY id"},
	    {"draft", "SELECT id, instruction_version FROM draft WHERE principal LIKE 'agent:%'"
		      " AND instruction_version IS DISTINCT FROM ?1 ORDER BY id"},
	    {"brief", "SELECT id, instruction_version FROM brief WHERE principal LIKE 'agent:%'"
		      " AND instruction_version IS DISTINCT FROM ?1 ORDER BY id"},
	    {"action_log", "SELECT seq, instruction_version FROM action_log"
			   " WHERE principal LIKE 'agent:%' AND surface LIKE 'mcp:%'"
			   " AND instruction_version IS DISTINCT FROM ?1 ORDER BY seq"},
	};
	struct store_stmt *st;
	size_t t;
	int rc = 0;

	if (!v->o->pin_set)
		return unchecked(v, "I6", "the connector's pin was not given");
	for (t = 0; t < sizeof tables / sizeof tables[0] && !rc; t++) {
		rc = store_prepare(v->s, tables[t][1], &st, v->err);
		if (rc)
			return rc;
		store_bind_text(st, 1, v->o->pin);
		while ((rc = store_step(st, v->err)) == STORE_ROW) {
			rc = violate(v, "I6", "instruction_version",
				     json_pack("{s:s,s:s,s:s?,s:s?}", "table", tables[t][0], "id",
					       col(st, 0), "recorded", store_col_text(st, 1), "pin",
					       v->o->pin),
				     "%s %s records instruction version '%s', the connector's is '%s'",
				     tables[t][0], col(st, 0),
				     store_col_text(st, 1) ? store_col_text(st, 1) : "(none)",
				     v->o->pin ? v->o->pin : "(none)");
			if (rc)
				break;
		}
		store_done(st);
		rc = rc < 0 ? rc : 0;
	}
	return rc;
}

/* 1 when signal_account is record or where record was merged to (a merge
 * moves the signals of the merged account to its survivor). */
static int evidence_account_ok(struct inv *v, const char *record, const char *signal_account)
{
	struct store_stmt *st;
	char cur[300];
	int hop, found = 0;

	if (fmt_buf(cur, sizeof cur, NULL, "record id", "%s", record))
		return 0; /* no account has an id this long: not its evidence */
	for (hop = 0; hop < 8 && !found; hop++) {
		if (!strcmp(cur, signal_account))
			return 1;
		if (store_prepare(v->s, "SELECT merged_into FROM account WHERE id = ?1", &st, NULL))
			return 0;
		store_bind_text(st, 1, cur);
		if (store_step(st, NULL) == STORE_ROW && store_col_text(st, 0) &&
		    !fmt_buf(cur, sizeof cur, NULL, "record id", "%s", store_col_text(st, 0)))
			;
		else
			found = -1;
		store_done(st);
		if (found < 0)
			return 0;
	}
	return 0;
}

/* I7 for one cited list. */
static int check_i7_list(struct inv *v, const char *what, const char *id, int64_t idx,
			 const char *record, const char *evidence)
{
	struct store_stmt *st;
	json_t *ev = json_loads(evidence, 0, NULL), *e;
	const char *sid, *owner;
	size_t i;
	int rc = 0, ok;

	if (!json_is_array(ev)) {
		json_decref(ev);
		return 0;
	}
	json_array_foreach(ev, i, e)
	{
		sid = json_is_string(e) ? json_string_value(e)
					: json_string_value(json_object_get(e, "id"));
		if (!sid)
			sid = json_string_value(json_object_get(e, "signal_id"));
		if (!sid)
			continue;
		rc = store_prepare(v->s, "SELECT account_id FROM signal WHERE id = ?1", &st, v->err);
		if (rc)
			break;
		store_bind_text(st, 1, sid);
		rc = store_step(st, v->err);
		owner = rc == STORE_ROW ? col(st, 0) : NULL;
		ok = owner && evidence_account_ok(v, record, owner);
		if (rc >= 0 && !ok)
			rc = violate(v, "I7", owner ? "evidence_other_record" : "evidence_not_found",
				     json_pack("{s:s,s:s,s:I,s:s,s:s,s:s?}", "table", what, "id", id,
					       "item", (json_int_t)idx, "record_id", record,
					       "evidence", sid, "belongs_to", owner),
				     "%s %s item %lld on %s cites signal %s, %s%s", what, id,
				     (long long)idx, record, sid,
				     owner ? "which belongs to " : "which does not exist",
				     owner ? owner : "");
		store_done(st);
		if (rc < 0)
			break;
		rc = 0;
	}
	json_decref(ev);
	return rc;
}

/* I7: batch items and briefs. */
static int check_i7(struct inv *v)
{
	static const char *const sqls[2] = {
	    "SELECT batch_id, idx, record_id, evidence FROM batch_item"
	    " WHERE evidence <> '[]' ORDER BY batch_id, idx",
	    "SELECT id, 0, account_id, evidence FROM brief WHERE evidence <> '[]' ORDER BY id"};
	struct store_stmt *st;
	json_t *rows = json_array();
	json_t *r;
	size_t i, k;
	int rc = 0;

	if (!rows)
		return err_set(v->err, AIRLOCK_ENOMEM, "out of memory");
	/* collected first: the per-signal lookups prepare statements of their own */
	for (k = 0; k < 2 && !rc; k++) {
		rc = store_prepare(v->s, sqls[k], &st, v->err);
		if (rc)
			break;
		while ((rc = store_step(st, v->err)) == STORE_ROW)
			json_array_append_new(rows, json_pack("[s,s,I,s,s]", k ? "brief" : "batch",
							      col(st, 0),
							      (json_int_t)store_col_int(st, 1),
							      col(st, 2), col(st, 3)));
		store_done(st);
		rc = rc < 0 ? rc : 0;
	}
	json_array_foreach(rows, i, r)
	{
		if (rc)
			break;
		rc = check_i7_list(v, json_string_value(json_array_get(r, 0)),
				   json_string_value(json_array_get(r, 1)),
				   json_integer_value(json_array_get(r, 2)),
				   json_string_value(json_array_get(r, 3)),
				   json_string_value(json_array_get(r, 4)));
	}
	json_decref(rows);
	return rc;
}

/* I8: merged accounts point at live survivors; nothing hangs off them. */
static int check_i8(struct inv *v)
{
	static const char sql_chain[] =
	    "SELECT a.id, a.merged_into, t.id, t.merged_into FROM account a"
	    " LEFT JOIN account t ON t.id = a.merged_into"
	    " WHERE a.merged_into IS NOT NULL AND (t.id IS NULL OR t.merged_into IS NOT NULL"
	    "  OR a.merged_into = a.id) ORDER BY a.id";
	static const char sql_kids[] =
	    "SELECT 'contact', c.id, a.id, a.merged_into FROM contact c JOIN account a"
	    " ON a.id = c.account_id WHERE a.merged_into IS NOT NULL"
	    " UNION ALL SELECT 'signal', s.id, a.id, a.merged_into FROM signal s JOIN account a"
	    " ON a.id = s.account_id WHERE a.merged_into IS NOT NULL ORDER BY 1, 2";
	struct store_stmt *st;
	int rc;

	rc = store_prepare(v->s, sql_chain, &st, v->err);
	if (rc)
		return rc;
	while ((rc = store_step(st, v->err)) == STORE_ROW) {
		const char *name = store_col_is_null(st, 2)	      ? "missing_survivor"
				   : !strcmp(col(st, 0), col(st, 1)) ? "self_merge"
								      : "merged_into_merged";
		rc = violate(v, "I8", name,
			     json_pack("{s:s,s:s,s:s?}", "account_id", col(st, 0), "merged_into",
				       col(st, 1), "survivor_merged_into", store_col_text(st, 3)),
			     "account %s is merged into %s, %s%s", col(st, 0), col(st, 1),
			     store_col_is_null(st, 2) ? "which does not exist"
						      : "which is itself merged into ",
			     store_col_is_null(st, 2) ? "" : col(st, 3));
		if (rc)
			break;
	}
	store_done(st);
	if (rc < 0)
		return rc;
	rc = store_prepare(v->s, sql_kids, &st, v->err);
	if (rc)
		return rc;
	while ((rc = store_step(st, v->err)) == STORE_ROW) {
		rc = violate(v, "I8", "left_on_merged",
			     json_pack("{s:s,s:s,s:s,s:s}", "kind", col(st, 0), "id", col(st, 1),
				       "account_id", col(st, 2), "merged_into", col(st, 3)),
			     "%s %s stays on account %s, which was merged into %s", col(st, 0),
			     col(st, 1), col(st, 2), col(st, 3));
		if (rc)
			break;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

int invariants_check(struct store *s, const struct invariants_opts *o, json_t **violations,
		     json_t **unchecked_out, struct err *err)
{
	static const struct invariants_opts none = {0};
	int (*const checks[])(struct inv *) = {check_i1, check_i2, check_i4, check_i5,
					      check_i6, check_i7, check_i8};
	struct inv v = {0};
	size_t i;
	int rc = 0;

	*violations = NULL;
	if (unchecked_out)
		*unchecked_out = NULL;
	v.s = s;
	v.o = o ? o : &none;
	v.max = v.o->max > 0 ? v.o->max : 1000;
	v.err = err;
	v.out = json_array();
	v.unchecked = json_array();
	if (!v.out || !v.unchecked) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sizeof checks / sizeof checks[0] && !rc; i++)
		rc = checks[i](&v);
	if (!rc) {
		rc = unchecked(&v, "I3", "checked where text is rendered, not in stored rows");
	}
out:
	if (rc) {
		json_decref(v.out);
		json_decref(v.unchecked);
		return rc;
	}
	*violations = v.out;
	if (unchecked_out)
		*unchecked_out = v.unchecked;
	else
		json_decref(v.unchecked);
	return 0;
}

/* Bytes after a lead byte that a well-formed sequence needs; 0 when b does
 * not start one. */
static int utf8_len(unsigned char b)
{
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

long invariants_scan_terminal(const char *buf, size_t len, const char **what)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0, k;
	unsigned cp;
	int n;

	*what = NULL;
	while (i < len) {
		if (p[i] < 0x80) {
			if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f) {
				*what = p[i] == 0x1b ? "ESC" : p[i] == '\r' ? "CR" : "C0 control";
				return (long)i;
			}
			i++;
			continue;
		}
		n = utf8_len(p[i]);
		if (!n || i + (size_t)n > len) {
			*what = "invalid UTF-8";
			return (long)i;
		}
		cp = p[i] & (0x7f >> n);
		for (k = 1; k < (size_t)n; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				*what = "invalid UTF-8";
				return (long)i;
			}
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			*what = "invalid UTF-8";
			return (long)i;
		}
		if (cp >= 0x80 && cp <= 0x9f)
			*what = "C1 control";
		else if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			*what = "bidi override";
		else if (cp == 0x200e || cp == 0x200f || cp == 0x061c)
			*what = "bidi mark";
		else if (cp == 0x2028 || cp == 0x2029)
			*what = "line separator";
		if (*what)
			return (long)i;
		i += (size_t)n;
	}
	return -1;
}
