/* gate.c — a write tool call → refused items, radius, policy_decide(),
 * then a staged or blocked batch, logged in the same transaction. */
#include "gate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "book.h"
#include "notify.h"
#include "outreach.h"
#include "policy.h"
#include "radius.h"
#include "scope.h"
#include "staging.h"
#include "text.h"
#include "tools.h"

#define GATE_MAX_ITEMS 100000
#define GATE_TEXT_MAX 20000
#define GATE_EVIDENCE_MAX 32     /* evidence ids one item may cite */
#define GATE_EVIDENCE_ID_MAX 200 /* bytes of one evidence id */

/* A string argument a person will read, checked like draft_email's text
 * (text.h); non-strings are someone else's error. */
static int gate_text_check(const char *label, json_t *v, int lines, struct err *err)
{
	if (!json_is_string(v))
		return 0;
	return text_check(label, json_string_value(v), json_string_length(v),
			  lines ? TEXT_LINES : 0, err);
}

/* The strings of item i (numbered from 1): ids and field names on one
 * line, reasons and values may break lines. A string's name is written
 * only once it is refused (a 500-item proposal checks ~2,500 strings). */
static int item_text_check(size_t i, json_t *it, struct err *err)
{
	static const char *const keys[] = {"record_id", "field", "reason", "value"};
	char name[64];
	json_t *e;
	size_t k, j;

	for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		if (!gate_text_check("", json_object_get(it, keys[k]), k >= 2, err))
			continue;
		(void)snprintf(name, sizeof name, "items[%zu].%s", i, keys[k]);
		return gate_text_check(name, json_object_get(it, keys[k]), k >= 2, err);
	}
	json_array_foreach(json_object_get(it, "evidence"), j, e)
	{
		if (!gate_text_check("", e, 0, err))
			continue;
		(void)snprintf(name, sizeof name, "items[%zu].evidence[%zu]", i, j + 1);
		return gate_text_check(name, e, 0, err);
	}
	return 0;
}

/* Fetches an optional string argument; a present non-string is an error
 * naming the argument. */
static int arg_string(json_t *args, const char *name, int required, const char **out,
		      struct err *err)
{
	json_t *v = json_object_get(args, name);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return err_set(err, AIRLOCK_EINVAL, "argument '%s' is required", name);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(err, AIRLOCK_EINVAL, "argument '%s' must be a string", name);
	if (json_string_length(v) > GATE_TEXT_MAX)
		return err_set(err, AIRLOCK_EINVAL, "argument '%s' is longer than %d bytes", name,
			       GATE_TEXT_MAX);
	if (required && json_string_length(v) == 0)
		return err_set(err, AIRLOCK_EINVAL, "argument '%s' must not be empty", name);
	/* a person reads every argument later: free text may break lines,
	 * nothing may steer the terminal or reorder what is shown */
	{
		char label[128];

		(void)snprintf(label, sizeof label, "argument '%s'", name);
		if (gate_text_check(label, v, !strcmp(name, "rationale") || !strcmp(name, "reason"),
				    err))
			return AIRLOCK_EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

/* The state a decision stages its batch in. */
static enum staging_state decision_state(enum decision_kind k)
{
	switch (k) {
	case DECISION_STAGED: return STAGE_STAGED;
	case DECISION_ALLOWED: return STAGE_APPROVED;
	case DECISION_DRAFT:
	case DECISION_BLOCKED: break;
	}
	return STAGE_BLOCKED;
}

/* What the agent should do next, written for the agent: it cannot run the
 * reviewers' commands, only wait and poll. */
static const char *next_step(enum decision_kind k, int64_t batch_id, char *buf, size_t len)
{
	switch (k) {
	case DECISION_STAGED:
		(void)snprintf(
		    buf, len,
		    "wait: a person audits a sample of batch %lld before it is applied; nothing "
		    "has changed yet. Poll batch_status with batch_id %lld.",
		    (long long)batch_id, (long long)batch_id);
		break;
	case DECISION_BLOCKED:
		(void)snprintf(
		    buf, len,
		    "wait: a person reviews batch %lld and approves or rejects it; nothing has "
		    "changed yet. Poll batch_status with batch_id %lld.",
		    (long long)batch_id, (long long)batch_id);
		break;
	case DECISION_ALLOWED:
		(void)snprintf(
		    buf, len,
		    "done: batch %lld was applied unattended, as the policy allows (a person "
		    "can still undo it); batch_status with batch_id %lld shows it.",
		    (long long)batch_id, (long long)batch_id);
		break;
	case DECISION_DRAFT: snprintf(buf, len, "stored as a draft for a rep to review."); break;
	}
	return buf;
}

/* Everything one proposal accumulates on its way through the gate. */
struct proposal {
	const char *workflow, *scope_text, *rationale, *action;
	const char *iv;    /* the connector's pinned instruction version (NULL = unpinned) */
	const char *claim; /* the agent's instruction_version argument: only a claim */
	const struct policy_workflow *wf;
	struct scope *scope;
	json_t *items;     /* accepted: one per record, for staging_create */
	json_t *draft_ids; /* a send: the drafts it would send (borrowed) */
	json_t *by_record; /* record_id → index in items */
	json_t *item_nos;  /* record_id → [[item number, field], ...]: the items it came from */
	json_t *refused;
	json_t *reasons;
	json_t *records;   /* namespaced ids of every record it alters (radius.h) */
	json_t *accounts;  /* propose_changes: every named account, read at once */
	json_t *images;    /* propose_changes: their before-images' texts (book.h) */
	json_t *owners;    /* propose_changes: signal id → its account, read at once */
	int64_t radius;
	const struct gate_upstream *up; /* an upstream's write, else NULL */
	int oom;           /* a JSON allocation failed: the call fails, nothing is staged */
	char capped[300];  /* set when refused past max_pending_batches: why */
};

/* Records one refused item; rule is a stable name an agent can act on. A
 * refusal that cannot be recorded (out of memory) fails the whole call:
 * the agent must never be told less than what was refused. */
static void refuse(struct proposal *pr, size_t item, const char *record_id, const char *field,
		   const char *rule, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void refuse(struct proposal *pr, size_t item, const char *record_id, const char *field,
		   const char *rule, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r = json_pack("{s:I,s:s?,s:s?,s:s,s:s}", "item", (json_int_t)item, "record_id", record_id,
		      "field", field, "rule", rule, "reason", msg);
	if (!r || json_array_append_new(pr->refused, r))
		pr->oom = 1;
}

#define CAPPED_NEXT                                                                             \
	"wait until a person has reviewed your waiting batches (batch_status), then propose"   \
	" again."

/* A fresh proposal of one action ("update", "merge", "send"). */
static int proposal_init(struct proposal *pr, const char *action, struct err *err)
{
	memset(pr, 0, sizeof *pr);
	pr->action = action;
	pr->items = json_array();
	pr->by_record = json_object();
	pr->item_nos = json_object();
	pr->refused = json_array();
	pr->reasons = json_array();
	pr->records = json_object();
	if (!pr->items || !pr->by_record || !pr->item_nos || !pr->refused || !pr->reasons ||
	    !pr->records)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

static void proposal_release(struct proposal *pr)
{
	scope_free(pr->scope);
	json_decref(pr->items);
	json_decref(pr->by_record);
	json_decref(pr->item_nos);
	json_decref(pr->refused);
	json_decref(pr->reasons);
	json_decref(pr->records);
	json_decref(pr->accounts);
	json_decref(pr->images);
	json_decref(pr->owners);
}

/* Adds "kind:id" to the proposal's record set. */
static int proposal_record(struct proposal *pr, const char *kind, const char *id,
			   struct err *err)
{
	char key[RADIUS_ID_MAX + 1];
	int n = snprintf(key, sizeof key, "%s:%s", kind, id);

	if (n < 0 || (size_t)n >= sizeof key)
		return err_set(err, AIRLOCK_EINVAL, "record id '%.40s…' is too long", id);
	if (json_object_set_new(pr->records, key, json_true()))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

/* Every evidence id of an item is a signal of the item's record: evidence
 * cited for one account but about another (or about nothing) would be shown
 * to the reviewer as this account's. *rule is set (and *detail says why)
 * when the item must be refused. */
static int check_evidence(struct gate *g, json_t *owners, size_t n, const char *rid,
			  json_t *evidence, const char **rule, char *detail, size_t dlen,
			  struct err *err)
{
	enum book_evidence v;
	char owner[256];
	json_t *e;
	size_t i;
	int rc;

	*rule = NULL;
	if (json_array_size(evidence) > GATE_EVIDENCE_MAX)
		return err_set(err, AIRLOCK_EINVAL, "items[%zu].evidence cites %zu signals; at most %d",
			       n, json_array_size(evidence), GATE_EVIDENCE_MAX);
	json_array_foreach(evidence, i, e)
	{
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > GATE_EVIDENCE_ID_MAX)
			return err_set(err, AIRLOCK_EINVAL,
				       "items[%zu].evidence[%zu] must be a signal id of 1 to %d bytes",
				       n, i + 1, GATE_EVIDENCE_ID_MAX);
	}
	json_array_foreach(evidence, i, e)
	{
		if (owners)
			v = book_evidence_of(owners, rid, json_string_value(e), owner, sizeof owner);
		else if ((rc = book_evidence_check(g->store, rid, json_string_value(e), &v, owner,
						   sizeof owner, err)))
			return rc;
		if (v == BOOK_EVIDENCE_OK)
			continue;
		*rule = book_evidence_rule(v);
		if (v == BOOK_EVIDENCE_NOT_FOUND)
			(void)snprintf(detail, dlen, "evidence '%.200s' is no signal of the book",
				       json_string_value(e));
		else
			(void)snprintf(
			    detail, dlen,
			    "evidence '%.200s' is a signal of account '%.200s', not of '%.200s'",
			    json_string_value(e), owner, rid);
		return 0;
	}
	return 0;
}

/* "tier" or "owner, industry, custom.*": what a workflow may write, for a
 * refusal the agent can act on. */
static const char *allowed_fields(const struct policy_workflow *wf, char *buf, size_t len)
{
	size_t used = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < wf->nfields && used < len; i++) {
		n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", wf->fields[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return wf->nfields ? buf : "no fields";
}

/* Checks one proposed item and adds it to its record's change set, or
 * refuses it with the rule it broke. */
static int take_item(struct gate *g, struct proposal *pr, size_t n, json_t *it, struct err *err)
{
	const char *rid, *field, *reason, *rule = NULL;
	char detail[700];
	const struct book_field *f;
	json_t *value, *acct = NULL, *nv = NULL, *evidence, *entry, *idx;
	struct err verr = {0};
	char allowed[512];
	int rc = 0;

	if (!json_is_object(it))
		return err_set(err, AIRLOCK_EINVAL, "items[%zu] must be an object", n);
	rid = json_string_value(json_object_get(it, "record_id"));
	field = json_string_value(json_object_get(it, "field"));
	value = json_object_get(it, "value");
	reason = json_string_value(json_object_get(it, "reason"));
	evidence = json_object_get(it, "evidence");
	if (!rid || !*rid)
		return err_set(err, AIRLOCK_EINVAL, "items[%zu].record_id is required", n);
	if (!field || !*field)
		return err_set(err, AIRLOCK_EINVAL, "items[%zu].field is required", n);
	if (!value)
		return err_set(err, AIRLOCK_EINVAL, "items[%zu].value is required", n);
	if (evidence && !json_is_array(evidence))
		return err_set(err, AIRLOCK_EINVAL, "items[%zu].evidence must be an array", n);
	if (item_text_check(n, it, err))
		return AIRLOCK_EINVAL;
	if (pr->accounts && strlen(rid) <= BOOK_ID_MAX) {
		acct = json_incref(json_object_get(pr->accounts, rid));
		rc = acct ? 0 : AIRLOCK_ENOTFOUND;
	} else
		rc = book_get(g->store, BOOK_ACCOUNT, rid, &acct, &verr);
	if (rc == AIRLOCK_ENOTFOUND) {
		refuse(pr, n, rid, field, "unknown_record", "no account with id '%s'", rid);
		return 0;
	}
	if (rc) {
		*err = verr;
		return rc;
	}
	if (!json_is_null(json_object_get(acct, "merged_into"))) {
		refuse(pr, n, rid, field, "merged_record",
		       "account '%s' was merged into '%s'", rid,
		       json_string_value(json_object_get(acct, "merged_into")));
		goto out;
	}
	if (pr->wf && !policy_field_allowed(pr->wf, field)) {
		refuse(pr, n, rid, field, "field_not_allowed",
		       "workflow '%s' may not write field '%s'; it may write: %s", pr->workflow,
		       field, allowed_fields(pr->wf, allowed, sizeof allowed));
		goto out;
	}
	if (!strncmp(field, "custom.", 7) && field[7]) {
		nv = json_incref(value);
	} else {
		f = book_field_find(BOOK_ACCOUNT, field);
		if (!f || f->system || !strcmp(field, "id")) {
			refuse(pr, n, rid, field, "unknown_field",
			       "'%s' is not a writable account field", field);
			goto out;
		}
		if (book_value_check(f, value, &nv, &verr)) {
			/* out of memory says nothing about the value */
			if (verr.code == AIRLOCK_ENOMEM) {
				pr->oom = 1;
				goto out;
			}
			refuse(pr, n, rid, field, "bad_value", "%s", verr.msg);
			goto out;
		}
	}
	if (!scope_match(pr->scope, acct)) {
		refuse(pr, n, rid, field, "outside_scope",
		       "account '%s' lies outside the declared scope '%s'", rid, pr->scope_text);
		goto out;
	}
	rc = check_evidence(g, pr->owners, n, rid, evidence, &rule, detail, sizeof detail, err);
	if (rc)
		goto out;
	if (rule) {
		refuse(pr, n, rid, field, rule, "%s", detail);
		goto out;
	}
	idx = json_object_get(pr->by_record, rid);
	if (!idx) {
		entry = json_pack("{s:s,s:{},s:O,s:O,s:[],s:[],s:O*}", "record_id", rid, "changes",
				  "before", acct, "version", json_object_get(acct, "version"),
				  "reasons", "evidence", "before_text",
				  json_object_get(pr->images, rid));
		/* an item lost to a failed allocation would stage the rest as
		 * if it had never been proposed */
		if (!entry || json_object_set_new(pr->by_record, rid,
						  json_integer((json_int_t)json_array_size(pr->items)))) {
			json_decref(entry);
			pr->oom = 1;
			goto out;
		}
		if (json_array_append_new(pr->items, entry)) {
			pr->oom = 1;
			goto out;
		}
	} else
		entry = json_array_get(pr->items, (size_t)json_integer_value(idx));
	if (json_object_get(json_object_get(entry, "changes"), field)) {
		refuse(pr, n, rid, field, "duplicate_item",
		       "field '%s' of account '%s' is already set by an earlier item", field, rid);
		goto out;
	}
	if (json_object_set(json_object_get(entry, "changes"), field, nv) ||
	    (reason && json_array_append_new(json_object_get(entry, "reasons"), json_string(reason))) ||
	    (evidence && json_array_extend(json_object_get(entry, "evidence"), evidence)))
		pr->oom = 1;
	/* which items made this record's changes: a refusal of the whole record
	 * names each of them by its number */
	if (!json_object_get(pr->item_nos, rid) &&
	    json_object_set_new(pr->item_nos, rid, json_array()))
		pr->oom = 1;
	if (json_array_append_new(json_object_get(pr->item_nos, rid),
				  json_pack("[I,s]", (json_int_t)n, field)))
		pr->oom = 1;
out:
	json_decref(acct);
	json_decref(nv);
	return rc;
}

/* Drops records whose every change equals the current value: they would
 * alter nothing and must not count toward the radius. */
static void drop_noops(struct proposal *pr)
{
	json_t *kept = json_array(), *it;
	size_t i;

	json_array_foreach(pr->items, i, it)
	{
		json_t *ch = json_object_get(it, "changes"), *before = json_object_get(it, "before");
		const char *k;
		json_t *v;
		int differs = 0;

		json_object_foreach(ch, k, v)
		{
			json_t *old = !strncmp(k, "custom.", 7)
					      ? json_object_get(json_object_get(before, "custom"), k + 7)
					      : json_object_get(before, k);

			if (!old || !json_equal(old, v))
				differs = 1;
		}
		if (differs) {
			if (!kept || json_array_append(kept, it))
				pr->oom = 1;
		} else {
			/* every item of the record, by its own number and field (items
			 * are numbered from 1, as in every other refusal) */
			const char *rid = json_string_value(json_object_get(it, "record_id"));
			json_t *nos = json_object_get(pr->item_nos, rid), *no;
			size_t j;

			json_array_foreach(nos, j, no)
			{
				const char *f = json_string_value(json_array_get(no, 1));

				refuse(pr, (size_t)json_integer_value(json_array_get(no, 0)), rid, f,
				       "no_change", "account '%s' already has this value of %s: the item "
				       "would change nothing", rid, f);
			}
			if (!json_array_size(nos))
				pr->oom = 1; /* never a record without the items it came from */
		}
	}
	json_decref(pr->items);
	pr->items = kept;
	pr->radius = (int64_t)json_array_size(kept);
}

/* The audience rules of the policy, in outreach's terms. */
void gate_audience_rules(const struct policy *p, struct outreach_audience_rules *r)
{
	memset(r, 0, sizeof *r);
	if (!p)
		return;
	r->competitor_domains = p->audience.competitor_domains;
	r->n = p->audience.ncompetitor_domains;
	r->touch_window_days = p->audience.touch_window_days;
	r->max_touches = p->audience.max_touches;
}

/* A call the gate refuses whole (no policy, unknown workflow, wrong effect,
 * too many batches waiting): logged, nothing queued, the agent told why.
 * extra (may be NULL, borrowed) adds keys to the answer. */
static int refuse_call(struct gate *g, const struct gate_call *call, json_t *args,
		       const char *workflow, const char *why, const char *next, json_t *extra,
		       json_t **result, struct err *err)
{
	struct audit_entry e = {0};
	json_t *reasons = json_pack("[s]", why);
	int rc;

	e.principal = call->principal;
	e.surface = call->surface;
	e.tool = call->tool;
	e.args = args;
	e.instruction_version = call->instruction_version;
	e.decision = "refused";
	e.reasons = reasons;
	e.summary = why;
	rc = audit_append(g->store, &e, NULL, err);
	if (!rc) {
		*result = json_pack("{s:s,s:s,s:O,s:[],s:s,s:I}", "decision", "refused", "workflow",
				    workflow ? workflow : "(none)", "reasons", reasons,
				    "refused_items", "next", next, "radius", (json_int_t)0);
		if (!*result)
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		else if (extra)
			json_object_update(*result, extra);
	}
	json_decref(reasons);
	return rc;
}

void gate_decide(const struct policy *p, const struct policy_workflow *wf,
		 const struct gate_state *st, struct gate_decision *out)
{
	struct decision_input in = {0};

	memset(out, 0, sizeof *out);
	if (st->radius <= 0) {
		out->refused = 1;
		out->d.kind = DECISION_BLOCKED;
		return;
	}
	in.wf = wf;
	in.radius = st->radius;
	in.cumulative = st->cumulative;
	in.pending_batches = st->pending;
	policy_decide(p, &in, &out->d);
	/* a flood of small proposals must not bury the reviewers' queue: past
	 * the cap nothing more is queued */
	if (out->d.kind != DECISION_ALLOWED && wf && st->pending >= wf->max_pending)
		out->capped = 1;
}

const char *gate_decision_name(const struct gate_decision *gd)
{
	if (gd->refused || gd->capped)
		return "refused";
	switch (gd->d.kind) {
	case DECISION_ALLOWED: return "allowed";
	case DECISION_STAGED: return "staged";
	case DECISION_DRAFT:
	case DECISION_BLOCKED: break;
	}
	return "blocked";
}

const char *gate_upstream_decide(struct gate_decision *gd, int irreversible)
{
	/* an upstream's write is carried out by apply, a person's verb: never
	 * unattended; one that cannot be undone waits for a person's approval */
	if (gd->refused)
		return NULL;
	if (irreversible) {
		gd->d.kind = DECISION_BLOCKED;
		return "an upstream create, delete or send cannot be undone: blocked for a person";
	}
	if (gd->d.kind == DECISION_ALLOWED) {
		gd->d.kind = DECISION_STAGED;
		return "an upstream write is applied by a person (airlock apply), never unattended";
	}
	return NULL;
}

/* The fields the accepted records of an update set, what replay needs to
 * re-apply a workflow's allow-list: records grouped by their set of
 * fields, {"FIELD\nFIELD...": records, ...} (a field name holds no line
 * break: item_text_check), so a re-tier of 100k records is {"tier":
 * 100000}. NULL for other actions. */
static char *snapshot_fields(const struct proposal *pr)
{
	json_t *sets, *it, *v;
	const char *k;
	char key[4096], *txt;
	size_t i, used;
	int n;

	if (strcmp(pr->action, "update") != 0)
		return NULL;
	sets = json_object();
	json_array_foreach(pr->items, i, it)
	{
		used = 0;
		key[0] = '\0';
		json_object_foreach(json_object_get(it, "changes"), k, v)
		{
			n = snprintf(key + used, sizeof key - used, "%s%s", used ? "\n" : "", k);
			if (n < 0 || (size_t)n >= sizeof key - used)
				break; /* a record with that many fields counts on its first ones */
			used += (size_t)n;
		}
		v = json_object_get(sets, key);
		if (sets && json_object_set_new(sets, key,
						json_integer(json_integer_value(v) + 1))) {
			json_decref(sets);
			sets = NULL;
		}
	}
	txt = sets ? json_dumps(sets, JSON_COMPACT) : NULL;
	json_decref(sets);
	return txt;
}

/* Records what the gate knew beside the log entry just appended (the
 * newest of this transaction), in the same transaction. */
static int record_snapshot(struct gate *g, const struct gate_call *call,
			   const struct proposal *pr, const struct gate_state *st,
			   const char *decision, struct err *err)
{
	struct store_stmt *stmt;
	char *fields = snapshot_fields(pr);
	int rc;

	if (!strcmp(pr->action, "update") && !fields)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = store_prepare(g->store,
			   "INSERT INTO gate_snapshot(seq,workflow,tool,action,radius,cumulative,"
			   "pending,fields,decision) SELECT max(seq),?1,?2,?3,?4,?5,?6,?7,?8"
			   " FROM action_log",
			   &stmt, err);
	if (!rc) {
		store_bind_text(stmt, 1, pr->wf->name);
		store_bind_text(stmt, 2, call->tool);
		store_bind_text(stmt, 3, pr->action);
		store_bind_int(stmt, 4, st->radius);
		store_bind_int(stmt, 5, st->cumulative);
		store_bind_int(stmt, 6, st->pending);
		store_bind_text(stmt, 7, fields);
		store_bind_text(stmt, 8, decision);
		rc = store_step(stmt, err) == STORE_DONE ? 0 : err->code;
		store_done(stmt);
	}
	free(fields);
	return rc;
}

/* Stages (or blocks) the accepted items, logs the call, and builds the
 * answer, all in one transaction. The running total is the agent's records
 * still waiting for a person in this workflow, with this proposal's added
 * (radius.h); past max_pending_batches nothing is queued at all. */
static int conclude(struct gate *g, const struct gate_call *call, struct proposal *pr,
		    json_t *args, json_t **result, struct err *err)
{
	struct staging_spec spec = {0};
	struct gate_state gst = {0};
	struct gate_decision gd;
	struct audit_entry e = {0};
	int64_t batch_id = 0, held = 0, cumulative = 0, pending = 0;
	char next[400], bid[32];
	const char *decision;
	json_t *it;
	size_t i;
	int rc, j, holding = 0;

	if (!pr->wf || !g->policy)
		return err_set(err, AIRLOCK_EINVAL, "internal: a proposal reached staging with no"
				 " workflow");
	if (pr->oom)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = store_begin(g->store, err);
	if (rc)
		return rc;
	if (!strcmp(pr->action, "update") || pr->up)
		json_array_foreach(pr->items, i, it)
		{
			rc = proposal_record(pr, pr->up ? pr->up->kind : "account",
					     json_string_value(json_object_get(it, "record_id")), err);
			if (rc)
				goto rollback;
		}
	if (json_array_size(pr->items) == 0)
		json_object_clear(pr->records);
	pr->radius = (int64_t)json_object_size(pr->records);
	if (pr->radius > 0) {
		/* the running total with these records added, from the upsert
		 * that holds them (its counts say which are new: the hold rows
		 * are read once), in a savepoint: a decision that does not wait
		 * rolls the holds back below */
		rc = store_begin(g->store, err);
		if (rc)
			goto rollback;
		holding = 1;
		rc = radius_hold_first(g->store, call->principal, pr->wf->name, pr->records, &held,
				       &cumulative, err);
		if (!rc)
			rc = staging_pending_count(g->store, call->principal, &pending, err);
		if (rc)
			goto rollback;
	}
	gst.radius = pr->radius;
	gst.cumulative = cumulative;
	gst.pending = pending;
	gate_decide(g->policy, pr->wf, &gst, &gd);
	if (pr->up) {
		const char *why = gate_upstream_decide(&gd, pr->up->irreversible);

		if (why && json_array_append_new(pr->reasons, json_string(why)))
			pr->oom = 1;
	}
	if (holding) {
		/* a batch that waits for a person holds its records in the
		 * running total until it stops waiting (staging.c releases);
		 * anything else (refused, capped, applied unattended) holds none */
		holding = 0;
		if (!gd.refused && !gd.capped && staging_state_waits(decision_state(gd.d.kind)))
			rc = store_commit(g->store, err);
		else
			store_rollback(g->store);
		if (rc)
			goto rollback;
	}
	if (!gd.refused) {
		if (gd.capped) {
			json_t *extra;

			(void)snprintf(
			    pr->capped, sizeof pr->capped,
			    "%lld batches of this agent already wait for a person and"
			    " max_pending_batches is %lld (workflow '%s'): refused, nothing"
			    " was queued",
			    (long long)pending, (long long)pr->wf->max_pending, pr->wf->name);
			extra = json_pack("{s:I,s:I}", "pending_batches", (json_int_t)pending,
					  "max_pending_batches", (json_int_t)pr->wf->max_pending);
			rc = refuse_call(g, call, args, pr->workflow, pr->capped, CAPPED_NEXT, extra,
					 result, err);
			json_decref(extra);
			if (!rc)
				rc = record_snapshot(g, call, pr, &gst, "refused", err);
			if (rc)
				goto rollback;
			return store_commit(g->store, err);
		}
		for (j = 0; j < gd.d.nreasons; j++)
			if (json_array_append_new(pr->reasons, json_string(gd.d.reasons[j])))
				pr->oom = 1;
		if (pr->oom) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto rollback;
		}
		spec.principal = call->principal;
		spec.surface = call->surface;
		spec.workflow = pr->workflow;
		spec.tool = call->tool;
		spec.action = pr->action;
		spec.instruction_version = pr->iv;
		spec.instruction_claim = pr->claim;
		spec.scope = pr->scope_text;
		spec.rationale = pr->rationale;
		spec.policy_digest = g->policy->digest;
		spec.state = decision_state(gd.d.kind);
		spec.reasons = pr->reasons;
		spec.refused = pr->refused;
		spec.ttl_seconds = pr->wf->ttl_seconds;
		spec.radius = pr->radius;
		/* the hold rows of a waiting batch, counted above, once it has
		 * an id */
		rc = staging_create(g->store, &spec, pr->items, &batch_id, err);
		if (!rc && pr->up && pr->up->staged)
			rc = pr->up->staged(g->store, batch_id, pr->items, pr->up->ctx, err);
		if (!rc && staging_state_waits(spec.state))
			rc = radius_hold_rows(g->store, batch_id, call->principal, pr->wf->name,
					      pr->records, err);
		if (!rc && gd.d.kind == DECISION_ALLOWED)
			rc = staging_apply_unattended(g->store, batch_id, NULL, err);
		if (!rc && gd.d.kind == DECISION_ALLOWED && !strcmp(pr->action, "send"))
			rc = outreach_send_approve(g->store, STAGING_UNATTENDED, pr->draft_ids, err);
		/* a pointer for a person, committed with the batch it points to */
		if (!rc && gd.d.kind != DECISION_ALLOWED)
			rc = notify_batch(g->store, g->policy, batch_id,
					  staging_state_name(spec.state), pr->workflow,
					  call->principal, pr->action, pr->radius, err);
		if (rc)
			goto rollback;
		decision = gate_decision_name(&gd);
		next_step(gd.d.kind, batch_id, next, sizeof next);
	} else {
		decision = "refused";
		if (json_array_append_new(pr->reasons,
					  json_string("every item was refused: nothing was staged"))) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto rollback;
		}
		(void)snprintf(
		    next, sizeof next,
		    "fix the refused items (refused_items: item numbers count from 1, each "
		    "with its rule and reason) and call %s again.",
		    call->tool);
	}
	(void)snprintf(bid, sizeof bid, "%lld", (long long)batch_id);
	e.principal = call->principal;
	e.surface = call->surface;
	e.tool = call->tool;
	e.args = args;
	e.instruction_version = pr->iv;
	e.decision = decision;
	e.reasons = pr->reasons;
	e.summary = next;
	e.batch_id = batch_id ? bid : NULL;
	rc = audit_append(g->store, &e, NULL, err);
	if (!rc)
		rc = record_snapshot(g, call, pr, &gst, decision, err);
	if (rc)
		goto rollback;
	rc = store_commit(g->store, err);
	if (rc)
		return rc;
	*result = json_pack("{s:s,s:s,s:I,s:I,s:I,s:O,s:O,s:s,s:s?,s:s?}", "decision", decision,
			    "workflow", pr->workflow, "radius", (json_int_t)pr->radius,
			    "cumulative_radius", (json_int_t)cumulative, "held_before",
			    (json_int_t)held, "refused_items", pr->refused, "reasons", pr->reasons,
			    "next", next, "instruction_version", pr->iv, "instruction_claim",
			    pr->claim);
	if (!*result)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (batch_id)
		json_object_set_new(*result, "batch_id", json_integer(batch_id));
	json_object_set_new(*result, "stage_max", json_integer(pr->wf->stage_max));
	return 0;
rollback:
	if (holding)
		store_rollback(g->store);
	store_rollback(g->store);
	return rc;
}

/* The effect a tool's calls have, which its workflow must have too; an
 * unknown tool matches no workflow. */
static int tool_effect(const char *tool)
{
	enum policy_effect e = EFFECT_READ;

	return policy_tool_effect(tool, &e) ? -1 : (int)e;
}

/* The workflows that list tool, each with the fields it may write: what an
 * agent refused for a wrong workflow name may use instead. */
static json_t *workflows_for_tool(const struct policy *p, const char *tool)
{
	json_t *list = json_array(), *fields;
	int i, k;

	for (i = 0; list && i < p->nworkflows; i++) {
		const struct policy_workflow *wf = &p->workflows[i];

		if (!policy_workflow_has_tool(wf, tool) || (int)wf->effect != tool_effect(tool))
			continue;
		fields = json_array();
		for (k = 0; fields && k < wf->nfields; k++)
			json_array_append_new(fields, json_string(wf->fields[k]));
		json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "name", wf->name, "effect",
						      policy_effect_name(wf->effect), "fields",
						      fields ? fields : json_array()));
	}
	return list;
}

/* Finds the workflow that judges a call: the one the agent named, which
 * must exist, list this tool and have the tool's effect; with no name, the
 * one that lists the tool. Anything else refuses the call whole (*result
 * set, logged, nothing queued): a misspelt or foreign workflow must never
 * reach staging, where its field guard would be missing. Returns 0 with
 * pr->wf set, or 0 with *result the refusal, or <0. */
static int resolve_workflow(struct gate *g, const struct gate_call *call, struct proposal *pr,
			    json_t *args, json_t **result, struct err *err)
{
	const struct policy_workflow *wf;
	const char *suggest = NULL;
	char why[400], next[400];
	json_t *extra = NULL, *list;
	int rc;

	pr->wf = NULL;
	if (!g->policy)
		return refuse_call(g, call, args, pr->workflow,
				   "no policy is loaded: nothing may be proposed (fail closed);"
				   " nothing was queued",
				   "ask the person who runs airlock to load a policy"
				   " ('airlock policy check').",
				   NULL, result, err);
	wf = pr->workflow ? policy_workflow(g->policy, pr->workflow)
			  : policy_workflow_for_tool(g->policy, call->tool);
	if (wf && policy_workflow_has_tool(wf, call->tool) && (int)wf->effect == tool_effect(call->tool)) {
		pr->wf = wf;
		pr->workflow = wf->name;
		return 0;
	}
	if (!pr->workflow)
		(void)snprintf(why, sizeof why,
			       "no workflow of the policy lists tool '%s': refused,"
			       " nothing was queued",
			       call->tool);
	else if (!wf)
		(void)snprintf(why, sizeof why,
			       "the policy has no workflow '%.100s': refused, nothing"
			       " was queued",
			       pr->workflow);
	else if (!policy_workflow_has_tool(wf, call->tool))
		(void)snprintf(why, sizeof why,
			       "workflow '%s' does not list tool '%s': refused,"
			       " nothing was queued",
			       wf->name, call->tool);
	else
		(void)snprintf(why, sizeof why,
			       "workflow '%s' has effect %s but tool '%s' needs a %s"
			       " workflow: refused, nothing was queued",
			       wf->name, policy_effect_name(wf->effect), call->tool,
			       policy_effect_name((enum policy_effect)tool_effect(call->tool)));
	list = workflows_for_tool(g->policy, call->tool);
	wf = policy_workflow_suggest(g->policy, call->tool, pr->workflow);
	suggest = wf ? wf->name : NULL;
	if (suggest)
		(void)snprintf(next, sizeof next,
			       "did you mean workflow '%s'? Name one of the workflows"
			       " listed in 'workflows' exactly.",
			       suggest);
	else if (json_array_size(list))
		(void)snprintf(next, sizeof next,
			       "name one of the workflows listed in 'workflows'"
			       " exactly.");
	else
		(void)snprintf(next, sizeof next,
			       "ask the person who runs airlock to add tool '%s' to a"
			       " workflow of the policy.",
			       call->tool);
	extra = json_pack("{s:o}", "workflows", list ? list : json_array());
	if (extra && suggest)
		json_object_set_new(extra, "did_you_mean", json_string(suggest));
	rc = refuse_call(g, call, args, pr->workflow, why, next, extra, result, err);
	json_decref(extra);
	return rc;
}

/* Reads every account the items name and every signal they cite, each in
 * one statement in key order, before the items are checked one by one: at
 * a million accounts, 500 probes of random pages cost several times the
 * rows staging writes (issue 15). What the checks decide is unchanged:
 * take_item finds a record here exactly when book_get would. */
static int proposal_prefetch(struct gate *g, struct proposal *pr, json_t *items, struct err *err)
{
	json_t *ids = json_object(), *sigs = json_object(), *want = json_object(), *it, *e;
	const char *rid, *field;
	size_t i, j;
	int rc = 0;

	if (!ids || !sigs || !want) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	/* the fields the checks read of an account whose before-image is the
	 * book's own text: merged_into and version (take_item), the scope's
	 * (scope_match), each item's field (drop_noops, restore) */
	if (json_object_set_new(want, "id", json_true()) ||
	    json_object_set_new(want, "merged_into", json_true()) ||
	    json_object_set_new(want, "version", json_true()) || scope_fields(pr->scope, want))
		rc = AIRLOCK_ENOMEM;
	json_array_foreach(items, i, it)
	{
		rid = json_string_value(json_object_get(it, "record_id"));
		if (rid && *rid && strlen(rid) <= BOOK_ID_MAX &&
		    json_object_set_new(ids, rid, json_true()))
			rc = AIRLOCK_ENOMEM;
		/* a field the book has (anything else is refused unread) */
		field = json_string_value(json_object_get(it, "field"));
		if (field && !strncmp(field, "custom.", 7))
			field = "custom";
		else if (field && !book_field_find(BOOK_ACCOUNT, field))
			field = NULL;
		if (field && json_object_set_new(want, field, json_true()))
			rc = AIRLOCK_ENOMEM;
		json_array_foreach(json_object_get(it, "evidence"), j, e)
		{
			if (json_is_string(e) && json_string_length(e) > 0 &&
			    json_string_length(e) <= GATE_EVIDENCE_ID_MAX &&
			    json_object_set_new(sigs, json_string_value(e), json_true()))
				rc = AIRLOCK_ENOMEM;
		}
	}
	if (rc) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = book_get_many(g->store, BOOK_ACCOUNT, ids, want, &pr->accounts, &pr->images, err);
	if (!rc)
		rc = book_evidence_owners(g->store, sigs, &pr->owners, err);
out:
	json_decref(ids);
	json_decref(sigs);
	json_decref(want);
	return rc;
}

static int propose_changes(struct gate *g, const struct gate_call *call, json_t *args,
			   json_t **result, struct err *err)
{
	struct proposal pr = {0};
	json_t *items, *it;
	size_t i;
	int rc;

	rc = proposal_init(&pr, "update", err);
	if (!rc)
		rc = arg_string(args, "workflow", 1, &pr.workflow, err);
	if (!rc)
		rc = arg_string(args, "scope", 1, &pr.scope_text, err);
	if (!rc)
		rc = arg_string(args, "rationale", 1, &pr.rationale, err);
	if (!rc)
		rc = arg_string(args, "instruction_version", 0, &pr.claim, err);
	if (rc)
		goto out;
	/* the connector's pin is the version; the agent's is only a claim */
	pr.iv = call->instruction_version;
	items = json_object_get(args, "items");
	if (!json_is_array(items) || json_array_size(items) == 0) {
		rc = err_set(err, AIRLOCK_EINVAL, "argument 'items' must be a non-empty array");
		goto out;
	}
	if (json_array_size(items) > GATE_MAX_ITEMS) {
		rc = err_set(err, AIRLOCK_EINVAL, "argument 'items' holds %zu items; at most %d",
			     json_array_size(items), GATE_MAX_ITEMS);
		goto out;
	}
	rc = scope_parse(pr.scope_text, &pr.scope, err);
	if (rc) {
		err_prefix(err, "argument 'scope'");
		goto out;
	}
	rc = resolve_workflow(g, call, &pr, args, result, err);
	if (rc || *result)
		goto out;
	rc = proposal_prefetch(g, &pr, items, err);
	if (rc)
		goto out;
	json_array_foreach(items, i, it)
	{
		rc = take_item(g, &pr, i + 1, it, err);
		if (rc)
			goto out;
	}
	drop_noops(&pr);
	rc = conclude(g, call, &pr, args, result, err);
out:
	proposal_release(&pr);
	return rc;
}

#define GATE_VALUE_DEPTH_MAX 32

/* text_check on every string (lines allowed) and key (one line) of an
 * upstream's value, however nested; deeper than GATE_VALUE_DEPTH_MAX is
 * refused (a person could not read it anyway). */
static int value_text_check(json_t *v, int depth, struct err *err)
{
	const char *k;
	json_t *x;
	size_t i;

	if (depth > GATE_VALUE_DEPTH_MAX)
		return err_set(err, AIRLOCK_EINVAL, "a value nested deeper than %d levels",
			       GATE_VALUE_DEPTH_MAX);
	if (json_is_string(v))
		return text_check("a value", json_string_value(v), json_string_length(v),
				  TEXT_LINES, err);
	if (json_is_array(v))
		json_array_foreach(v, i, x)
		{
			if (value_text_check(x, depth + 1, err))
				return AIRLOCK_EINVAL;
		}
	if (json_is_object(v))
		json_object_foreach(v, k, x)
		{
			if (text_check("a key in a value", k, strlen(k), 0, err) ||
			    value_text_check(x, depth + 1, err))
				return AIRLOCK_EINVAL;
		}
	return 0;
}

/* One record of an upstream's write: refused whole when any field it
 * writes is outside the allow-list (its upstream call would write them
 * all), when the upstream has no such record, or when it lies outside the
 * declared scope. */
static int take_upstream_item(struct proposal *pr, json_t *it, struct err *err)
{
	const char *rid = json_string_value(json_object_get(it, "record_id")), *k;
	json_t *ch = json_object_get(it, "changes"), *before = json_object_get(it, "before");
	size_t n = (size_t)json_integer_value(json_object_get(it, "item"));
	json_t *entry, *v, *nos;
	char allowed[512];

	if (!rid || !json_is_object(ch))
		return err_set(err, AIRLOCK_EINVAL, "internal: an upstream item with no record");
	if (text_check("a record id", rid, strlen(rid), 0, err))
		return AIRLOCK_EINVAL;
	json_object_foreach(ch, k, v)
	{
		/* a person reads the field names: one line, nothing steering */
		if (strlen(k) == 0 || strlen(k) > 200 || text_check("a field name", k, strlen(k), 0, err))
			return err_set(err, AIRLOCK_EINVAL, "record %zu: field name '%.40s' is not "
						"one a person can read", n, k);
		/* an upstream's value may be an object or array (propose_changes's
		 * are scalars): every string and key in it is read by a person too */
		if (value_text_check(v, 0, err))
			return err_prefix(err, "record %zu, field '%.40s'", n, k);
		/* a create, delete or send without mapped fields names its effect
		 * alone, e.g. "(create)", which no agent argument can become */
		if (json_is_true(json_object_get(it, "effect_only")))
			continue;
		if (!policy_field_allowed(pr->wf, k)) {
			refuse(pr, n, rid, k, "field_not_allowed",
			       "workflow '%s' may not write field '%s'; it may write: %s "
			       "(the record's upstream call would write every field it names, so "
			       "the whole record is refused)",
			       pr->workflow, k, allowed_fields(pr->wf, allowed, sizeof allowed));
			return 0;
		}
	}
	if (!pr->up->irreversible && !json_is_object(before)) {
		refuse(pr, n, rid, NULL, "unknown_record",
		       "the upstream has no record '%s' (its before read found nothing)", rid);
		return 0;
	}
	if (json_is_object(before) && !scope_match(pr->scope, before)) {
		refuse(pr, n, rid, NULL, "outside_scope",
		       "record '%s' lies outside the declared scope '%s'", rid, pr->scope_text);
		return 0;
	}
	if (json_object_get(pr->by_record, rid)) {
		refuse(pr, n, rid, NULL, "duplicate_item",
		       "record '%s' is already written by an earlier item", rid);
		return 0;
	}
	entry = json_pack("{s:s,s:O,s:O,s:i,s:[],s:[]}", "record_id", rid, "changes", ch, "before",
			  json_is_object(before) ? before : json_object(), "version", 0,
			  "reasons", "evidence");
	nos = json_array();
	if (!entry || !nos ||
	    json_object_set_new(pr->by_record, rid,
				json_integer((json_int_t)json_array_size(pr->items))) ||
	    json_array_append_new(pr->items, entry)) {
		json_decref(nos);
		pr->oom = 1;
		return 0;
	}
	json_object_foreach(ch, k, v)
		if (json_array_append_new(nos, json_pack("[I,s]", (json_int_t)n, k)))
			pr->oom = 1;
	if (json_object_set_new(pr->item_nos, rid, nos))
		pr->oom = 1;
	return 0;
}

int gate_upstream_call(struct gate *g, const struct gate_call *call, json_t *args,
		       const struct gate_upstream *up, json_t **result, struct err *err)
{
	struct proposal pr = {0};
	json_t *it;
	size_t i;
	int rc;

	*result = NULL;
	/* stored as an update; staging reads it back as action "upstream" */
	rc = proposal_init(&pr, "update", err);
	if (!rc)
		rc = arg_string(args, "airlock_workflow", 0, &pr.workflow, err);
	if (!rc)
		rc = arg_string(args, "airlock_scope", 1, &pr.scope_text, err);
	if (!rc)
		rc = arg_string(args, "airlock_rationale", 1, &pr.rationale, err);
	if (rc)
		goto out;
	pr.iv = call->instruction_version;
	pr.up = up;
	if (json_array_size(up->items) > GATE_MAX_ITEMS) {
		rc = err_set(err, AIRLOCK_EINVAL, "the call names %zu records; at most %d",
			     json_array_size(up->items), GATE_MAX_ITEMS);
		goto out;
	}
	rc = scope_parse(pr.scope_text, &pr.scope, err);
	if (rc) {
		err_prefix(err, "argument 'airlock_scope'");
		goto out;
	}
	rc = resolve_workflow(g, call, &pr, args, result, err);
	if (rc || *result)
		goto out;
	json_array_foreach(up->items, i, it)
	{
		rc = take_upstream_item(&pr, it, err);
		if (rc)
			goto out;
	}
	if (!up->irreversible)
		drop_noops(&pr);
	rc = conclude(g, call, &pr, args, result, err);
out:
	proposal_release(&pr);
	return rc;
}

/* Adds the contacts and signals a merge of account id re-points to the
 * proposal's records: they count in its radius and in the running total
 * alike, so the two never disagree. */
static int merge_children(struct gate *g, struct proposal *pr, const char *id, struct err *err)
{
	json_t *kids, *k;
	size_t i;
	int rc;

	rc = book_contacts(g->store, id, &kids, err);
	if (rc)
		return rc;
	json_array_foreach(kids, i, k)
	{
		rc = proposal_record(pr, "contact", json_string_value(json_object_get(k, "id")), err);
		if (rc)
			break;
	}
	json_decref(kids);
	if (rc)
		return rc;
	rc = book_signals(g->store, id, NULL, 0, &kids, err);
	if (rc)
		return rc;
	json_array_foreach(kids, i, k)
	{
		rc = proposal_record(pr, "signal", json_string_value(json_object_get(k, "id")), err);
		if (rc)
			break;
	}
	json_decref(kids);
	return rc;
}

/* A merge tomb-stones the merged accounts (merged_into = survivor) and
 * re-points their contacts and signals; its radius counts every record it
 * alters: the merged accounts, their contacts and their signals. */
static int propose_merge(struct gate *g, const struct gate_call *call, json_t *args,
			 json_t **result, struct err *err)
{
	struct proposal pr = {0};
	const char *survivor, *reason;
	json_t *merged, *v, *acct = NULL, *sv = NULL;
	struct err verr = {0};
	size_t i;
	int rc;

	rc = proposal_init(&pr, "merge", err);
	if (!rc)
		rc = arg_string(args, "survivor_id", 1, &survivor, err);
	if (!rc)
		rc = arg_string(args, "rationale", 1, &pr.rationale, err);
	if (!rc)
		rc = arg_string(args, "workflow", 0, &pr.workflow, err);
	if (!rc)
		rc = arg_string(args, "scope", 0, &pr.scope_text, err);
	if (!rc)
		rc = arg_string(args, "reason", 0, &reason, err);
	if (!rc)
		rc = arg_string(args, "instruction_version", 0, &pr.claim, err);
	if (rc)
		goto out;
	/* the connector's pin is the version; the agent's is only a claim */
	pr.iv = call->instruction_version;
	merged = json_object_get(args, "merged_ids");
	if (!json_is_array(merged) || json_array_size(merged) == 0 ||
	    json_array_size(merged) > 1000) {
		rc = err_set(err, AIRLOCK_EINVAL,
			     "argument 'merged_ids' must be an array of 1 to 1000 account ids");
		goto out;
	}
	if (pr.scope_text) {
		rc = scope_parse(pr.scope_text, &pr.scope, err);
		if (rc) {
			err_prefix(err, "argument 'scope'");
			goto out;
		}
	}
	rc = resolve_workflow(g, call, &pr, args, result, err);
	if (rc || *result)
		goto out;
	rc = book_get(g->store, BOOK_ACCOUNT, survivor, &sv, &verr);
	if (rc == AIRLOCK_ENOTFOUND || (!rc && !json_is_null(json_object_get(sv, "merged_into")))) {
		rc = err_set(err, AIRLOCK_EINVAL, "argument 'survivor_id': no live account '%s'",
			     survivor);
		goto out;
	}
	if (rc) {
		*err = verr;
		goto out;
	}
	json_array_foreach(merged, i, v)
	{
		const char *id = json_string_value(v);
		json_t *entry;

		if (!id) {
			rc = err_set(err, AIRLOCK_EINVAL, "merged_ids[%zu] must be a string", i + 1);
			goto out;
		}
		json_decref(acct);
		acct = NULL;
		if (!strcmp(id, survivor)) {
			refuse(&pr, i + 1, id, NULL, "self_merge",
			       "an account cannot be merged into itself");
			continue;
		}
		if (json_object_get(pr.by_record, id)) {
			refuse(&pr, i + 1, id, NULL, "duplicate_item", "'%s' is listed twice",
			       id);
			continue;
		}
		rc = book_get(g->store, BOOK_ACCOUNT, id, &acct, &verr);
		if (rc == AIRLOCK_ENOTFOUND) {
			refuse(&pr, i + 1, id, NULL, "unknown_record", "no account with id '%s'",
			       id);
			rc = 0;
			continue;
		}
		if (rc) {
			*err = verr;
			goto out;
		}
		if (!json_is_null(json_object_get(acct, "merged_into"))) {
			refuse(&pr, i + 1, id, NULL, "merged_record",
			       "account '%s' was already merged", id);
			continue;
		}
		if (pr.scope && !scope_match(pr.scope, acct)) {
			refuse(&pr, i + 1, id, NULL, "outside_scope",
			       "account '%s' lies outside the declared scope '%s'", id, pr.scope_text);
			continue;
		}
		entry = json_pack("{s:s,s:{s:s},s:O,s:O,s:[s?],s:[]}", "record_id", id, "changes",
				  "merged_into", survivor, "before", acct, "version",
				  json_object_get(acct, "version"), "reasons", reason, "evidence");
		if (!entry || json_object_set_new(pr.by_record, id,
						  json_integer((json_int_t)json_array_size(pr.items)))) {
			json_decref(entry);
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
		if (json_array_append_new(pr.items, entry)) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
		rc = proposal_record(&pr, "account", id, err);
		if (!rc)
			rc = merge_children(g, &pr, id, err);
		if (rc)
			goto out;
	}
	rc = conclude(g, call, &pr, args, result, err);
out:
	json_decref(acct);
	json_decref(sv);
	proposal_release(&pr);
	return rc;
}

/* draft_email and save_brief: stored for a rep, the book untouched. The
 * policy must put the tool in a draft workflow; the audience guard runs on
 * every recipient. */
static int draft_tool(struct gate *g, const struct gate_call *call, json_t *args,
		      json_t **result, struct err *err)
{
	struct outreach_audience_rules rules;
	struct proposal pr = {0};
	const char *claim, *status, *iv = call->instruction_version;
	json_t *r = NULL;
	int rc;

	pr.reasons = json_array();
	rc = arg_string(args, "workflow", 0, &pr.workflow, err);
	/* the agent's instruction_version is a claim: it stays in the logged
	 * arguments, and the draft carries the connector's pin */
	if (!rc)
		rc = arg_string(args, "instruction_version", 0, &claim, err);
	if (rc)
		goto out;
	rc = resolve_workflow(g, call, &pr, args, result, err);
	if (rc || *result)
		goto out;
	gate_audience_rules(g->policy, &rules);
	if (tools_find(call->tool)->gate == TOOLS_GATE_DRAFT) /* else a brief */
		rc = outreach_draft_create(g->store, &rules, call->principal, iv, args, &r, err);
	else
		rc = outreach_brief_create(g->store, call->principal, iv, args, &r, err);
	if (rc)
		goto out;
	status = json_string_value(json_object_get(r, "status"));
	json_object_set_new(r, "decision",
			    json_string(status && !strcmp(status, "refused") ? "refused" : "draft"));
	json_object_set_new(r, "workflow", json_string(pr.wf->name));
	json_object_set_new(r, "radius", json_integer(0));
	if (!json_object_get(r, "next"))
		json_object_set_new(r, "next",
				    json_string("stored for a rep to read; the book did not change."
						" request_send asks for a draft to be sent."));
	*result = r;
	r = NULL;
out:
	json_decref(r);
	json_decref(pr.reasons);
	return rc;
}

/* The messages a send would hand to the relay, one per draft and
 * recipient: the send's records in the running total and its radius. */
static int send_records(struct proposal *pr, const char *draft_id, json_t *recipients,
			struct err *err)
{
	char key[RADIUS_ID_MAX];
	json_t *c;
	size_t i;
	int rc = 0;

	json_array_foreach(recipients, i, c)
	{
		const char *cid = json_string_value(json_object_get(c, "contact_id"));
		int n = snprintf(key, sizeof key, "%s/%s", draft_id, cid ? cid : "");

		if (n < 0 || (size_t)n >= sizeof key)
			return err_set(err, AIRLOCK_EINVAL, "draft id '%.40s…' is too long", draft_id);
		rc = proposal_record(pr, "message", key, err);
		if (rc)
			break;
	}
	return rc;
}

/* request_send: the drafts are checked again and marked send_requested,
 * then the send is judged like any write: its radius is the number of
 * messages, and a send is irreversible, so by default it is blocked for a
 * person. All in one transaction. */
static int request_send(struct gate *g, const struct gate_call *call, json_t *args,
			json_t **result, struct err *err)
{
	struct outreach_audience_rules rules;
	struct proposal pr = {0};
	json_t *r = NULL, *ids, *v, *d, *it;
	const char *status;
	size_t i;
	int rc;

	rc = proposal_init(&pr, "send", err);
	if (!rc)
		rc = arg_string(args, "workflow", 0, &pr.workflow, err);
	if (!rc)
		rc = arg_string(args, "instruction_version", 0, &pr.claim, err);
	if (rc)
		goto out;
	/* the connector's pin is the version; the agent's is only a claim */
	pr.iv = call->instruction_version;
	rc = resolve_workflow(g, call, &pr, args, result, err);
	if (rc || *result)
		goto out;
	rc = store_begin(g->store, err);
	if (rc)
		goto out;
	gate_audience_rules(g->policy, &rules);
	rc = outreach_send_request(g->store, &rules, call->principal, call->instruction_version, args,
				   &r, err);
	/* no answer (its allocation failed) is not a refusal: committing
	 * would leave the drafts send_requested with no batch for a person */
	if (!rc && !r)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (rc)
		goto rollback;
	status = json_string_value(json_object_get(r, "status"));
	if (!status || strcmp(status, "send_requested") != 0) {
		rc = store_commit(g->store, err);
		if (rc)
			goto out;
		json_object_set_new(r, "decision", json_string("refused"));
		*result = r;
		r = NULL;
		goto out;
	}
	ids = json_object_get(r, "draft_ids");
	pr.draft_ids = ids;
	json_array_foreach(ids, i, v)
	{
		rc = outreach_draft_get(g->store, json_string_value(v), &d, err);
		if (rc)
			goto rollback;
		/* a draft read short of memory comes back without them: the
		 * person approving must see who receives it */
		if (json_array_size(json_object_get(d, "recipients")) == 0) {
			json_decref(d);
			rc = err_set(err, AIRLOCK_ENOMEM,
				     "draft '%s' came back without its recipients (out of memory); "
				     "nothing was requested",
				     json_string_value(v));
			goto rollback;
		}
		rc = send_records(&pr, json_string_value(v), json_object_get(d, "recipients"), err);
		if (rc) {
			json_decref(d);
			goto rollback;
		}
		it = json_pack("{s:O,s:{s:I},s:{s:O?,s:O?,s:O?,s:O?,s:O?},s:i,s:[],s:[]}", "record_id",
			       v, "changes", "send",
			       (json_int_t)json_array_size(json_object_get(d, "recipients")), "before",
			       "subject", json_object_get(d, "subject"), "account_id",
			       json_object_get(d, "account_id"), "audience",
			       json_object_get(d, "audience"), "recipients",
			       json_object_get(d, "recipients"), "body", json_object_get(d, "body"),
			       "version", 0, "reasons", "evidence");
		json_decref(d);
		if (!it || json_array_append_new(pr.items, it)) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto rollback;
		}
	}
	/* conclude() would answer "refused" and commit the drafts as
	 * send_requested with no batch for a person to decide */
	if (json_object_size(pr.records) == 0 || json_array_size(pr.items) != json_array_size(ids)) {
		rc = err_set(err, AIRLOCK_EINVAL,
			     "request_send: the drafts add up to no message to send; nothing was "
			     "requested");
		goto rollback;
	}
	pr.scope_text = NULL;
	pr.rationale = "send drafted outreach";
	rc = conclude(g, call, &pr, args, result, err);
	if (rc)
		goto rollback;
	if (pr.capped[0]) {
		/* refused past the cap: the drafts go back as they were, and the
		 * refusal is logged on its own */
		store_rollback(g->store);
		json_decref(*result);
		*result = NULL;
		rc = refuse_call(g, call, args, pr.workflow, pr.capped, CAPPED_NEXT, NULL, result,
				 err);
		goto out;
	}
	rc = store_commit(g->store, err);
	if (rc) {
		json_decref(*result);
		*result = NULL;
	} else
		json_object_set(*result, "draft_ids", ids);
	goto out;
rollback:
	store_rollback(g->store);
out:
	json_decref(r);
	pr.draft_ids = NULL;
	proposal_release(&pr);
	return rc;
}

int gate_call_tool(struct gate *g, const struct gate_call *call, json_t *args, json_t **result,
		   struct err *err)
{
	const struct tools_row *row;

	*result = NULL;
	if (!call || !call->principal || !call->tool)
		return err_set(err, AIRLOCK_EINVAL, "a call needs a principal and a tool");
	if (!json_is_object(args))
		return err_set(err, AIRLOCK_EINVAL, "arguments must be a JSON object");
	if (strncmp(call->principal, "agent:", 6) != 0 && strncmp(call->principal, "human:", 6) != 0)
		return err_set(err, AIRLOCK_EDENIED, "unknown principal '%s'", call->principal);
	/* what the call is comes from the registry's row of that name, never
	 * from the arguments */
	row = tools_find(call->tool);
	if (row && row->connector == TOOLS_WRITE && tools_hidden(row))
		return err_set(err, AIRLOCK_EDENIED,
			       "tool '%s' is hidden until a person trusts its definition again",
			       call->tool);
	switch (row && row->connector == TOOLS_WRITE ? row->gate : TOOLS_GATE_NONE) {
	case TOOLS_GATE_CHANGES:
		return propose_changes(g, call, args, result, err);
	case TOOLS_GATE_MERGE:
		return propose_merge(g, call, args, result, err);
	case TOOLS_GATE_DRAFT:
	case TOOLS_GATE_BRIEF:
		return draft_tool(g, call, args, result, err);
	case TOOLS_GATE_SEND:
		return request_send(g, call, args, result, err);
	case TOOLS_GATE_HOOK:
		return row->gate_fn(g, call, row, args, result, err);
	case TOOLS_GATE_NONE:
		break;
	}
	return err_set(err, AIRLOCK_EINVAL, "tool '%s' does not go through the gate", call->tool);
}

int gate_batch_status(struct gate *g, const char *principal, const char *batch_id,
		      json_t **result, struct err *err)
{
	json_t *b = NULL, *list = NULL;
	int64_t id;
	int rc;

	*result = NULL;
	rc = staging_expire(g->store, NULL, err);
	if (rc)
		return rc;
	if (batch_id) {
		rc = staging_parse_id(batch_id, &id, err);
		if (rc)
			return rc;
		rc = staging_get_header(g->store, id, &b, err);
		/* another agent's batch is as good as absent */
		if (rc == 0 && strcmp(json_string_value(json_object_get(b, "principal")), principal)) {
			json_decref(b);
			return err_set(err, AIRLOCK_ENOTFOUND, "no batch %lld of yours",
				       (long long)id);
		}
		if (rc)
			return rc;
		if (!strcmp(json_string_value(json_object_get(b, "state")), "expired"))
			json_object_set_new(b, "why",
					    json_string("it waited past its time-to-live without a"
							" decision; nothing of it can be applied"));
		*result = json_pack("{s:[o]}", "batches", b);
		return 0;
	}
	rc = staging_list_by_principal(g->store, principal, 20, &list, err);
	if (rc)
		return rc;
	*result = json_pack("{s:o}", "batches", list);
	return 0;
}
