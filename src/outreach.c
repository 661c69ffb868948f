/* outreach.c — drafts, briefs, send requests and the reps' views of them
 * (outreach.h). The guard is outreach_guard.c, the outbox outreach_send.c. */
#include "outreach_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "book.h"
#include "text.h"
#include "tools.h"

/* ---- shared helpers ----------------------------------------------------- */

void outreach_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int outreach_new_id(const char *prefix, char *buf, size_t len, struct err *err)
{
	unsigned char raw[6];
	char hex[2 * sizeof raw + 1];

	if (sodium_init() < 0)
		return err_set(err, AIRLOCK_EIO, "cannot initialise libsodium");
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
	(void)snprintf(buf, len, "%s%s", prefix, hex);
	return 0;
}

const char *outreach_surface(const char *principal)
{
	return principal && !strncmp(principal, "agent:", 6) ? "mcp:write" : "cli";
}

int outreach_log(struct store *s, const char *principal, const char *tool, json_t *args,
		 const char *instruction_version, const char *decision, json_t *reasons,
		 const char *summary, struct err *err)
{
	struct audit_entry e = {0};

	e.principal = principal;
	e.surface = outreach_surface(principal);
	e.tool = tool;
	e.args = args;
	e.instruction_version = instruction_version;
	e.decision = decision;
	e.reasons = reasons;
	e.summary = summary;
	return audit_append(s, &e, NULL, err);
}

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

/* ---- loading a draft ------------------------------------------------------ */

static const char *const draft_cols[] = {
    "id",	 "account_id",		"subject", "body",     "audience",   "workflow",
    "principal", "instruction_version", "status",  "findings", "created_at", "updated_at"};
#define DRAFT_SELECT                                                                               \
	"SELECT id,account_id,subject,body,audience,workflow,principal,instruction_version,"       \
	"status,findings,created_at,updated_at FROM draft"

static json_t *draft_row_json(struct store_stmt *st, int with_body)
{
	json_t *o = json_object(), *v;
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i < sizeof draft_cols / sizeof draft_cols[0]; i++) {
		const char *t = store_col_text(st, (int)i);

		if (!with_body && !strcmp(draft_cols[i], "body"))
			continue;
		if (!strcmp(draft_cols[i], "findings")) {
			v = t ? json_loads(t, 0, NULL) : NULL;
			if (!v)
				v = json_array();
		} else {
			v = t ? json_string(t) : json_null();
		}
		if (json_object_set_new(o, draft_cols[i], v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int load_recipients(struct store *s, const char *id, json_t **out, struct err *err)
{
	struct store_stmt *st;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	rc = store_prepare(s,
			   "SELECT contact_id,address,name FROM draft_recipient WHERE draft_id=?1"
			   " ORDER BY position, contact_id",
			   &st, err);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	store_bind_text(st, 1, id);
	while ((rc = store_step(st, err)) == STORE_ROW)
		json_array_append_new(arr, json_pack("{s:s?,s:s?,s:s?}", "contact_id",
						     store_col_text(st, 0), "address",
						     store_col_text(st, 1), "name",
						     store_col_text(st, 2)));
	store_done(st);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

int outreach_draft_load(struct store *s, const char *id, struct outreach_draft_row *d,
			struct err *err)
{
	struct store_stmt *st;
	int rc;

	memset(d, 0, sizeof *d);
	rc = store_prepare(s, DRAFT_SELECT " WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		d->row = draft_row_json(st, 1);
		rc = d->row ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	} else if (rc == STORE_DONE) {
		rc = err_set(err, AIRLOCK_ENOTFOUND, "there is no draft '%s'", id);
	}
	store_done(st);
	if (rc == 0)
		rc = load_recipients(s, id, &d->recipients, err);
	if (rc) {
		outreach_draft_row_release(d);
		return rc;
	}
	d->id = str(d->row, "id");
	d->account_id = str(d->row, "account_id");
	d->audience = str(d->row, "audience");
	d->workflow = str(d->row, "workflow");
	d->principal = str(d->row, "principal");
	d->status = str(d->row, "status");
	d->subject = str(d->row, "subject");
	d->body = str(d->row, "body");
	if (!d->account_id || !d->audience || !d->status) {
		outreach_draft_row_release(d);
		return err_set(err, AIRLOCK_ECORRUPT, "draft '%s' is missing a column", id);
	}
	return 0;
}

void outreach_draft_row_release(struct outreach_draft_row *d)
{
	json_decref(d->row);
	json_decref(d->recipients);
	memset(d, 0, sizeof *d);
}

/* ---- argument checks -------------------------------------------------------- */

/* Keys of args must be among the allowed ones (a typo is an error, not an
 * ignored field). */
static int check_keys(json_t *args, const char *const *allowed, struct err *err)
{
	const char *key;
	json_t *v;
	char list[256];
	size_t used = 0;
	int i, ok;

	if (!json_is_object(args))
		return err_set(err, AIRLOCK_EINVAL, "arguments must be a JSON object");
	json_object_foreach(args, key, v)
	{
		for (ok = 0, i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(key, allowed[i]);
		if (ok)
			continue;
		list[0] = '\0';
		for (i = 0; allowed[i] && used < sizeof list; i++)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
						 i ? ", " : "", allowed[i]);
		return err_set(err, AIRLOCK_EINVAL, "unknown argument '%.60s' (expected %s)", key,
			       list);
	}
	return 0;
}

/* A required (or optional) string argument of 1..max bytes. */
static int arg_string(json_t *args, const char *key, int required, size_t max, const char **out,
		      struct err *err)
{
	json_t *v = json_object_get(args, key);
	size_t n;

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return err_set(err, AIRLOCK_EINVAL, "%s is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(err, AIRLOCK_EINVAL, "%s must be a string", key);
	n = json_string_length(v);
	if (n == 0)
		return err_set(err, AIRLOCK_EINVAL, "%s must not be empty", key);
	if (n > max)
		return err_set(err, AIRLOCK_EINVAL, "%s is too long (%zu bytes, at most %zu)", key,
			       n, max);
	if (strlen(json_string_value(v)) != n)
		return err_set(err, AIRLOCK_EINVAL, "%s contains a NUL character", key);
	*out = json_string_value(v);
	return 0;
}

/* Text a person will read: tabs and line ends allowed, other control
 * characters and bidirectional overrides refused (they hide or reorder
 * content in mail clients, terminals and logs; text.h says which). */
static int check_text(const char *key, const char *s, int one_line, struct err *err)
{
	if (one_line && s[strcspn(s, "\r\n")])
		return err_set(err, AIRLOCK_EINVAL, "%s must be a single line", key);
	return text_check(key, s, strlen(s), TEXT_LINES, err);
}

/* An array of 1..max distinct non-empty strings under key (or alias). */
static int arg_list(json_t *args, const char *key, const char *alias, int min, int max,
		    json_t **out, struct err *err)
{
	json_t *v = json_object_get(args, key), *e;
	size_t i, j;

	*out = NULL;
	if (alias && json_object_get(args, alias)) {
		if (v)
			return err_set(err, AIRLOCK_EINVAL, "give %s or %s, not both", key, alias);
		v = json_object_get(args, alias);
		key = alias;
	}
	if (!v || json_is_null(v)) {
		if (min > 0)
			return err_set(err, AIRLOCK_EINVAL, "%s is required", key);
		return 0;
	}
	if (!json_is_array(v))
		return err_set(err, AIRLOCK_EINVAL, "%s must be an array of strings", key);
	if ((int)json_array_size(v) < min || json_array_size(v) > (size_t)max)
		return err_set(err, AIRLOCK_EINVAL, "%s must hold %d to %d entries (it has %zu)",
			       key, min, max, json_array_size(v));
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > 320 ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return err_set(err, AIRLOCK_EINVAL,
				       "%s[%zu] must be a non-empty string of at most 320 bytes",
				       key, i + 1);
		for (j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_array_get(v, j)), json_string_value(e)))
				return err_set(err, AIRLOCK_EINVAL, "%s[%zu]: '%s' is listed twice",
					       key, i + 1, json_string_value(e));
	}
	*out = v;
	return 0;
}

static int check_workflow(const char *w, struct err *err)
{
	const char *c;

	if (!w)
		return 0;
	if (strlen(w) > 64)
		return err_set(err, AIRLOCK_EINVAL, "workflow is too long (at most 64 bytes)");
	for (c = w; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_-.:", *c)))
			return err_set(
			    err, AIRLOCK_EINVAL,
			    "workflow '%s' may hold only letters, digits, '_', '-', '.', ':'", w);
	return 0;
}

struct draft_args {
	const char *account_id, *subject, *body, *workflow;
	json_t *contacts; /* borrowed from args */
	struct scope *audience;
	char *audience_text; /* canonical */
};

static void draft_args_release(struct draft_args *a)
{
	scope_free(a->audience);
	free(a->audience_text);
	memset(a, 0, sizeof *a);
}

static int parse_draft_args(json_t *args, struct draft_args *a, struct err *err)
{
	static const char *const allowed[] = {
	    "account_id", "contacts", "contact_ids",	     "subject", "body",
	    "audience",	  "workflow", "instruction_version", NULL};
	const char *aud = NULL;
	int rc;

	memset(a, 0, sizeof *a);
	rc = check_keys(args, allowed, err);
	if (!rc)
		rc = arg_string(args, "account_id", 1, 200, &a->account_id, err);
	if (!rc)
		rc = arg_list(args, "contacts", "contact_ids", 1, OUTREACH_MAX_RECIPIENTS,
			      &a->contacts, err);
	if (!rc)
		rc = arg_string(args, "subject", 1, OUTREACH_MAX_SUBJECT, &a->subject, err);
	if (!rc)
		rc = check_text("subject", a->subject, 1, err);
	if (!rc)
		rc = arg_string(args, "body", 1, OUTREACH_MAX_BODY, &a->body, err);
	if (!rc)
		rc = check_text("body", a->body, 0, err);
	if (!rc)
		rc = arg_string(args, "workflow", 0, 64, &a->workflow, err);
	if (!rc)
		rc = check_workflow(a->workflow, err);
	if (!rc)
		rc = arg_string(args, "audience", 1, SCOPE_MAX_LEN, &aud, err);
	if (!rc && scope_parse(aud, &a->audience, err) != 0)
		rc = err_prefix(err, "audience");
	if (!rc) {
		a->audience_text = scope_to_string(a->audience);
		if (!a->audience_text)
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (rc)
		draft_args_release(a);
	return rc;
}

/* Runs the guard on parsed draft arguments. */
static int guard_args(struct store *s, const struct outreach_audience_rules *rules,
		      const struct draft_args *a, json_t *findings, json_t *resolved,
		      struct err *err)
{
	const char *refs[OUTREACH_MAX_RECIPIENTS];
	struct outreach_guard_in in = {0};
	size_t i;
	json_t *c;

	json_array_foreach(a->contacts, i, c)
	{
		refs[i] = json_string_value(c);
	}
	in.account_id = a->account_id;
	in.audience = a->audience;
	in.audience_text = a->audience_text;
	in.workflow = a->workflow;
	return outreach_guard_run(s, rules, &in, refs, NULL, (int)json_array_size(a->contacts),
				  findings, resolved, err);
}

int outreach_guard_args(struct store *s, const struct outreach_audience_rules *rules, json_t *args,
			json_t **findings, struct err *err)
{
	struct draft_args a;
	int rc;

	*findings = NULL;
	rc = parse_draft_args(args, &a, err);
	if (rc)
		return rc;
	*findings = json_array();
	rc = guard_args(s, rules, &a, *findings, NULL, err);
	if (rc) {
		json_decref(*findings);
		*findings = NULL;
	}
	draft_args_release(&a);
	return rc;
}

int outreach_guard_draft(struct store *s, const struct outreach_audience_rules *rules,
			 const char *draft_id, json_t **findings, struct err *err)
{
	struct outreach_draft_row d;
	int rc;

	*findings = NULL;
	rc = outreach_draft_load(s, draft_id, &d, err);
	if (rc)
		return rc;
	*findings = json_array();
	rc = outreach_guard_loaded(s, rules, &d, 1, NULL, NULL, *findings, err);
	if (rc) {
		json_decref(*findings);
		*findings = NULL;
	}
	outreach_draft_row_release(&d);
	return rc;
}

/* ---- draft_email ------------------------------------------------------------- */

static int insert_draft(struct store *s, const char *id, const struct draft_args *a,
			const char *principal, const char *iv, json_t *resolved, struct err *err)
{
	struct store_stmt *st;
	char now[32];
	size_t i;
	json_t *r;
	int rc;

	outreach_time(time(NULL), now, sizeof now);
	rc = store_prepare(
	    s,
	    "INSERT INTO draft(id,account_id,subject,body,audience,workflow,principal,"
	    "instruction_version,status,findings,created_at,updated_at)"
	    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,'draft','[]',?9,?9)",
	    &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, a->account_id);
	store_bind_text(st, 3, a->subject);
	store_bind_text(st, 4, a->body);
	store_bind_text(st, 5, a->audience_text);
	store_bind_text(st, 6, a->workflow);
	store_bind_text(st, 7, principal);
	store_bind_text(st, 8, iv);
	store_bind_text(st, 9, now);
	rc = exec_done(st, err);
	json_array_foreach(resolved, i, r)
	{
		if (rc)
			break;
		rc = store_prepare(
		    s,
		    "INSERT INTO draft_recipient(draft_id,position,contact_id,address,name)"
		    " VALUES(?1,?2,?3,?4,?5)",
		    &st, err);
		if (rc)
			break;
		store_bind_text(st, 1, id);
		store_bind_int(st, 2, (int64_t)i);
		store_bind_text(st, 3, str(r, "contact_id"));
		store_bind_text(st, 4, str(r, "address"));
		store_bind_text(st, 5, str(r, "name"));
		rc = exec_done(st, err);
	}
	return rc;
}

static json_t *rules_of(json_t *findings)
{
	json_t *names = json_array(), *f, *n;
	size_t i, j;
	int dup;

	json_array_foreach(findings, i, f)
	{
		dup = 0;
		json_array_foreach(names, j, n)
		{
			dup |= json_equal(n, json_object_get(f, "rule"));
		}
		if (!dup)
			json_array_append(names, json_object_get(f, "rule"));
	}
	return names;
}

/* "a, b, c" of a JSON array of strings. */
static void join(json_t *arr, char *buf, size_t len)
{
	size_t i, used = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		if (used >= len)
			break;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 json_string_value(v));
	}
}

int outreach_draft_create(struct store *s, const struct outreach_audience_rules *rules,
			  const char *principal, const char *instruction_version, json_t *args,
			  json_t **result, struct err *err)
{
	struct draft_args a;
	json_t *findings = NULL, *resolved = NULL, *reasons = NULL, *names = NULL, *recips;
	char id[OUTREACH_ID_MAX], summary[512], list[256];
	size_t i;
	json_t *r;
	int rc;

	*result = NULL;
	rc = parse_draft_args(args, &a, err);
	if (rc)
		return err_prefix(err, "%s", tools_gate_name(TOOLS_GATE_DRAFT));
	findings = json_array();
	resolved = json_array();
	rc = store_begin(s, err);
	if (rc)
		goto out;
	rc = guard_args(s, rules, &a, findings, resolved, err);
	if (rc)
		goto rollback;
	reasons = outreach_reasons(findings);
	if (json_array_size(findings) > 0) {
		names = rules_of(findings);
		join(names, list, sizeof list);
		(void)snprintf(summary, sizeof summary,
			       "draft for account %s refused by the audience guard: %s",
			       a.account_id, list);
		rc = outreach_log(s, principal, tools_gate_name(TOOLS_GATE_DRAFT), args, instruction_version, "refused",
				  reasons, summary, err);
		if (rc)
			goto rollback;
		rc = store_commit(s, err);
		if (rc)
			goto out;
		*result =
		    json_pack("{s:n,s:s,s:O,s:O,s:s}", "draft_id", "status", "refused", "findings",
			      findings, "reasons", reasons, "next",
			      "nothing was stored: change the recipients, the audience or the "
			      "workflow so that no rule applies, then call draft_email again");
		goto out;
	}
	rc = outreach_new_id("dr_", id, sizeof id, err);
	if (!rc)
		rc = insert_draft(s, id, &a, principal, instruction_version, resolved, err);
	if (rc)
		goto rollback;
	(void)snprintf(summary, sizeof summary,
		       "draft %s for account %s: %zu recipient%s, \"%.80s\"", id, a.account_id,
		       json_array_size(resolved), json_array_size(resolved) == 1 ? "" : "s",
		       a.subject);
	rc = outreach_log(s, principal, tools_gate_name(TOOLS_GATE_DRAFT), args, instruction_version, "draft", NULL,
			  summary, err);
	if (rc)
		goto rollback;
	rc = store_commit(s, err);
	if (rc)
		goto out;
	recips = json_array();
	json_array_foreach(resolved, i, r)
	{
		json_array_append_new(recips, json_pack("{s:O,s:O}", "contact_id",
							json_object_get(r, "contact_id"), "address",
							json_object_get(r, "address")));
	}
	*result =
	    json_pack("{s:s,s:s,s:s,s:o,s:s,s:I,s:[]}", "draft_id", id, "status", "draft",
		      "account_id", a.account_id, "recipients", recips, "audience", a.audience_text,
		      "messages", (json_int_t)json_array_size(resolved), "findings");
	goto out;
rollback:
	store_rollback(s);
out:
	if (rc == 0 && !*result)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	json_decref(findings);
	json_decref(resolved);
	json_decref(reasons);
	json_decref(names);
	draft_args_release(&a);
	return rc;
}

/* ---- save_brief ---------------------------------------------------------------- */

int outreach_brief_create(struct store *s, const char *principal, const char *instruction_version,
			  json_t *args, json_t **result, struct err *err)
{
	static const char *const allowed[] = {
	    "account_id", "text", "evidence", "signal_ids", "instruction_version", NULL};
	const char *account_id, *text;
	json_t *evidence = NULL, *acc = NULL, *e, *ev;
	struct store_stmt *st;
	char id[OUTREACH_ID_MAX], now[32], summary[256], *evtext = NULL;
	size_t i;
	int rc;

	*result = NULL;
	rc = check_keys(args, allowed, err);
	if (!rc)
		rc = arg_string(args, "account_id", 1, 200, &account_id, err);
	if (!rc)
		rc = arg_string(args, "text", 1, OUTREACH_MAX_BRIEF, &text, err);
	if (!rc)
		rc = check_text("text", text, 0, err);
	if (!rc)
		rc = arg_list(args, "evidence", "signal_ids", 0, 100, &evidence, err);
	if (rc)
		return err_prefix(err, "%s", tools_gate_name(TOOLS_GATE_BRIEF));
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = book_get(s, BOOK_ACCOUNT, account_id, &acc, err);
	if (rc == AIRLOCK_ENOTFOUND)
		rc = err_set(err, AIRLOCK_EINVAL,
			     "%s: account_id: there is no account '%s'",
			     tools_gate_name(TOOLS_GATE_BRIEF), account_id);
	json_array_foreach(evidence, i, e)
	{
		enum book_evidence ev_ok;
		char owner[256];

		if (rc)
			break;
		rc = book_evidence_check(s, account_id, json_string_value(e), &ev_ok, owner,
					 sizeof owner, err);
		if (rc == 0 && ev_ok == BOOK_EVIDENCE_NOT_FOUND)
			rc = err_set(err, AIRLOCK_EINVAL,
				     "%s: evidence[%zu]: there is no "
				     "signal '%s'",
				     tools_gate_name(TOOLS_GATE_BRIEF), i + 1, json_string_value(e));
		else if (rc == 0 && ev_ok == BOOK_EVIDENCE_OTHER_RECORD)
			rc = err_set(err, AIRLOCK_EINVAL,
				     "%s: evidence[%zu]: signal '%s' is about account %s, "
				     "not %s",
				     tools_gate_name(TOOLS_GATE_BRIEF), i + 1, json_string_value(e),
				     owner, account_id);
	}
	ev = evidence ? json_incref(evidence) : json_array();
	evtext = store_json_dump(ev, JSON_COMPACT);
	json_decref(ev);
	if (!rc && !evtext)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (!rc)
		rc = outreach_new_id("br_", id, sizeof id, err);
	if (!rc)
		rc = store_prepare(s,
				   "INSERT INTO brief(id,account_id,text,evidence,principal,"
				   "instruction_version,created_at) VALUES(?1,?2,?3,?4,?5,?6,?7)",
				   &st, err);
	if (!rc) {
		outreach_time(time(NULL), now, sizeof now);
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, account_id);
		store_bind_text(st, 3, text);
		store_bind_text(st, 4, evtext);
		store_bind_text(st, 5, principal);
		store_bind_text(st, 6, instruction_version);
		store_bind_text(st, 7, now);
		rc = exec_done(st, err);
	}
	if (!rc) {
		(void)snprintf(summary, sizeof summary,
			       "brief %s for account %s citing %zu signal%s", id, account_id,
			       json_array_size(evidence),
			       json_array_size(evidence) == 1 ? "" : "s");
		rc = outreach_log(s, principal, tools_gate_name(TOOLS_GATE_BRIEF), args, instruction_version, "draft",
				  NULL, summary, err);
	}
	if (rc) {
		store_rollback(s);
		goto out;
	}
	rc = store_commit(s, err);
	if (rc)
		goto out;
	*result = json_pack("{s:s,s:s,s:o}", "brief_id", id, "account_id", account_id, "evidence",
			    evidence ? json_incref(evidence) : json_array());
	if (!*result)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
out:
	free(evtext);
	json_decref(acc);
	return rc;
}

/* ---- send requests and decisions --------------------------------------------------- */

static int set_status(struct store *s, const char *id, const char *from, const char *to,
		      struct err *err)
{
	struct store_stmt *st;
	char now[32];
	int rc;

	outreach_time(time(NULL), now, sizeof now);
	rc = store_prepare(s, "UPDATE draft SET status=?3,updated_at=?4 WHERE id=?1 AND status=?2",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, from);
	store_bind_text(st, 3, to);
	store_bind_text(st, 4, now);
	rc = exec_done(st, err);
	if (rc == 0 && store_changes(s) != 1)
		rc = err_set(err, AIRLOCK_ECONFLICT, "draft %s changed while it was being updated",
			     id);
	return rc;
}

/* Checks one draft for a state change: it exists, is in `from`, and (for
 * an agent) is the agent's own. */
static int check_draft(struct store *s, const char *id, const char *from, const char *principal,
		       struct outreach_draft_row *d, struct err *err)
{
	int rc = outreach_draft_load(s, id, d, err);

	if (rc == AIRLOCK_ENOTFOUND)
		return err_set(err, AIRLOCK_EINVAL, "draft_ids: there is no draft '%s'", id);
	if (rc)
		return rc;
	if (strcmp(d->status, from) != 0)
		rc = err_set(err, AIRLOCK_ESTATE, "draft %s is %s, not %s", id, d->status,
			     !strcmp(from, "draft") ? "a draft" : from);
	else if (principal && !strncmp(principal, "agent:", 6) &&
		 (!d->principal || strcmp(d->principal, principal) != 0))
		rc = err_set(err, AIRLOCK_EDENIED, "draft %s was made by %s, not by %s", id,
			     d->principal ? d->principal : "someone else", principal);
	if (rc)
		outreach_draft_row_release(d);
	return rc;
}

int outreach_send_request(struct store *s, const struct outreach_audience_rules *rules,
			  const char *principal, const char *instruction_version, json_t *args,
			  json_t **result, struct err *err)
{
	static const char *const allowed[] = {"draft_ids", "instruction_version", NULL};
	struct outreach_draft_row d;
	json_t *ids = NULL, *findings = json_array(), *one, *f, *id, *reasons = NULL;
	json_int_t messages = 0;
	char summary[256];
	size_t i, j;
	int rc;

	*result = NULL;
	rc = check_keys(args, allowed, err);
	if (!rc)
		rc = arg_list(args, "draft_ids", NULL, 1, OUTREACH_MAX_IDS, &ids, err);
	if (rc) {
		json_decref(findings);
		return err_prefix(err, "%s", tools_gate_name(TOOLS_GATE_SEND));
	}
	rc = store_begin(s, err);
	if (rc) {
		json_decref(findings);
		return rc;
	}
	json_array_foreach(ids, i, id)
	{
		rc = check_draft(s, json_string_value(id), "draft", principal, &d, err);
		if (rc)
			break;
		one = json_array();
		rc = outreach_guard_loaded(s, rules, &d, 0, NULL, NULL, one, err);
		json_array_foreach(one, j, f)
		{
			json_object_set(f, "draft_id", id);
			json_array_append(findings, f);
		}
		json_decref(one);
		messages += (json_int_t)json_array_size(d.recipients);
		outreach_draft_row_release(&d);
	}
	if (rc) {
		store_rollback(s);
		json_decref(findings);
		return err_prefix(err, "%s", tools_gate_name(TOOLS_GATE_SEND));
	}
	reasons = outreach_reasons(findings);
	if (json_array_size(findings) > 0) {
		(void)snprintf(summary, sizeof summary,
			       "send of %zu draft%s refused by the audience guard (%zu finding%s)",
			       json_array_size(ids), json_array_size(ids) == 1 ? "" : "s",
			       json_array_size(findings),
			       json_array_size(findings) == 1 ? "" : "s");
		rc = outreach_log(s, principal, tools_gate_name(TOOLS_GATE_SEND), args, instruction_version, "refused", reasons,
				  summary, err);
	} else {
		/* not logged here: the gate logs its decision on the request */
		json_array_foreach(ids, i, id)
		{
			if (rc)
				break;
			rc = set_status(s, json_string_value(id), "draft", "send_requested", err);
		}
	}
	if (rc)
		store_rollback(s);
	else
		rc = store_commit(s, err);
	if (rc == 0 && json_array_size(findings) > 0)
		*result =
		    json_pack("{s:s,s:O,s:O,s:s}", "status", "refused", "findings", findings,
			      "reasons", reasons, "next",
			      "nothing changed: fix or discard the drafts named in the findings");
	else if (rc == 0)
		*result = json_pack("{s:s,s:O,s:I}", "status", "send_requested", "draft_ids", ids,
				    "messages", messages);
	if (rc == 0 && !*result)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	json_decref(findings);
	json_decref(reasons);
	return rc;
}

/* Moves every draft in ids from one status to another, all or none. */
static int decide(struct store *s, const char *principal, json_t *ids, const char *tool,
		  const char *from, const char *to, const char *reason, struct err *err)
{
	struct outreach_draft_row d;
	json_t *args, *reasons = NULL, *id;
	char summary[256];
	size_t i;
	int rc;

	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > OUTREACH_MAX_IDS)
		return err_set(err, AIRLOCK_EINVAL, "%s: give 1 to %d draft ids", tool,
			       OUTREACH_MAX_IDS);
	for (i = 0; i < json_array_size(ids); i++)
		if (!json_is_string(json_array_get(ids, i)))
			return err_set(err, AIRLOCK_EINVAL, "%s: draft ids must be strings", tool);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	json_array_foreach(ids, i, id)
	{
		rc = check_draft(s, json_string_value(id), from, principal, &d, err);
		if (rc)
			break;
		outreach_draft_row_release(&d);
		rc = set_status(s, json_string_value(id), from, to, err);
		if (rc)
			break;
	}
	if (rc == 0) {
		args = json_pack("{s:O}", "draft_ids", ids);
		if (reason)
			reasons = json_pack("[s]", reason);
		(void)snprintf(summary, sizeof summary, "%zu draft%s %s → %s", json_array_size(ids),
			       json_array_size(ids) == 1 ? "" : "s", from, to);
		rc = outreach_log(s, principal, tool, args, NULL, to, reasons, summary, err);
		json_decref(args);
		json_decref(reasons);
	}
	if (rc) {
		store_rollback(s);
		return err_prefix(err, "%s", tool);
	}
	return store_commit(s, err);
}

int outreach_send_approve(struct store *s, const char *principal, json_t *draft_ids,
			  struct err *err)
{
	return decide(s, principal, draft_ids, "approve_send", "send_requested", "approved", NULL,
		      err);
}

int outreach_send_reject(struct store *s, const char *principal, json_t *draft_ids,
			 const char *reason, struct err *err)
{
	return decide(s, principal, draft_ids, "reject_send", "send_requested", "draft", reason,
		      err);
}

int outreach_draft_discard(struct store *s, const char *principal, const char *draft_id,
			   struct err *err)
{
	struct outreach_draft_row d;
	json_t *ids;
	int rc;

	rc = outreach_draft_load(s, draft_id, &d, err);
	if (rc)
		return rc;
	ids = json_pack("[s]", draft_id);
	if (!strcmp(d.status, "draft") || !strcmp(d.status, "send_requested"))
		rc = decide(s, principal, ids, "discard_draft", d.status, "discarded", NULL, err);
	else
		rc = err_set(err, AIRLOCK_ESTATE,
			     "draft %s is %s: only a draft or a requested send can be discarded",
			     draft_id, d.status);
	json_decref(ids);
	outreach_draft_row_release(&d);
	return rc;
}

/* ---- status roll-up ------------------------------------------------------------ */

int outreach_draft_rollup(struct store *s, const char *draft_id, struct err *err)
{
	struct store_stmt *st;
	int n_unknown = 0, n_pending = 0, n_failed = 0, n_sent = 0, n_blocked = 0, n = 0, rc;
	const char *status;
	char now[32];

	rc = store_prepare(s, "SELECT state,count(*) FROM outbox WHERE draft_id=?1 GROUP BY state",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, draft_id);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		const char *state = store_col_text(st, 0);
		int k = (int)store_col_int(st, 1);

		n += k;
		if (!strcmp(state, "unknown"))
			n_unknown += k;
		else if (!strcmp(state, "intended") || !strcmp(state, "sending"))
			n_pending += k;
		else if (!strcmp(state, "failed"))
			n_failed += k;
		else if (!strcmp(state, "sent"))
			n_sent += k;
		else if (!strcmp(state, "blocked"))
			n_blocked += k;
	}
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	if (n == 0)
		return 0;
	status = n_unknown   ? "unknown"
		 : n_pending ? "approved"
		 : n_failed  ? "failed"
		 : n_sent    ? "sent"
		 : n_blocked ? "blocked"
			     : "discarded";
	outreach_time(time(NULL), now, sizeof now);
	rc = store_prepare(s,
			   "UPDATE draft SET status=?2,updated_at=?3 WHERE id=?1 AND status<>?2"
			   " AND status IN ('approved','sent','failed','unknown','blocked')",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, draft_id);
	store_bind_text(st, 2, status);
	store_bind_text(st, 3, now);
	return exec_done(st, err);
}

/* ---- views ------------------------------------------------------------------------ */

static const char *const statuses[] = {"draft",	 "discarded", "send_requested", "approved", "sent",
				       "failed", "unknown",   "blocked",	NULL};

static json_t *draft_row(struct store_stmt *st, void *ctx)
{
	(void)ctx;
	return draft_row_json(st, 0);
}

int outreach_drafts_list(struct store *s, const struct outreach_filter *f, json_t **out,
			 struct err *err)
{
	static const char *const sql[4] = {
	    DRAFT_SELECT " ORDER BY created_at DESC, id DESC LIMIT ?3",
	    DRAFT_SELECT " WHERE account_id=?1 ORDER BY created_at DESC, id DESC LIMIT ?3",
	    DRAFT_SELECT " WHERE status=?2 ORDER BY created_at DESC, id DESC LIMIT ?3",
	    DRAFT_SELECT " WHERE account_id=?1 AND status=?2"
			 " ORDER BY created_at DESC, id DESC LIMIT ?3"};
	struct store_stmt *st;
	json_t *arr, *row, *rec;
	size_t i;
	int rc, k, ok = 0;

	*out = NULL;
	if (f->status) {
		for (k = 0; statuses[k]; k++)
			ok |= !strcmp(statuses[k], f->status);
		if (!ok)
			return err_set(err, AIRLOCK_EINVAL,
				       "unknown status '%s' (draft, discarded, send_requested, "
				       "approved, sent, failed, unknown, blocked)",
				       f->status);
	}
	rc = store_prepare(s, sql[(f->account_id ? 1 : 0) + (f->status ? 2 : 0)], &st, err);
	if (rc)
		return rc;
	if (f->account_id)
		store_bind_text(st, 1, f->account_id);
	if (f->status)
		store_bind_text(st, 2, f->status);
	store_bind_int(st, 3, f->limit > 0 ? f->limit : 100);
	rc = store_collect(st, draft_row, NULL, &arr, err);
	if (rc)
		return rc;
	json_array_foreach(arr, i, row)
	{
		rc = load_recipients(s, str(row, "id"), &rec, err);
		if (rc) {
			json_decref(arr);
			return rc;
		}
		json_object_set_new(row, "recipients", rec);
	}
	*out = arr;
	return 0;
}

int outreach_draft_get(struct store *s, const char *id, json_t **out, struct err *err)
{
	struct outreach_draft_row d;
	json_t *outbox = NULL;
	int rc;

	*out = NULL;
	rc = outreach_draft_load(s, id, &d, err);
	if (rc)
		return rc;
	rc = outreach_outbox_of_draft(s, id, &outbox, err);
	if (rc == 0) {
		*out = json_incref(d.row);
		json_object_set(*out, "recipients", d.recipients);
		json_object_set_new(*out, "outbox", outbox);
	}
	outreach_draft_row_release(&d);
	return rc;
}

static json_t *brief_json(struct store_stmt *st)
{
	json_t *ev = json_loads(store_col_text(st, 3) ? store_col_text(st, 3) : "[]", 0, NULL);

	return json_pack("{s:s?,s:s?,s:s?,s:o,s:s?,s:s?,s:s?}", "id", store_col_text(st, 0),
			 "account_id", store_col_text(st, 1), "text", store_col_text(st, 2),
			 "evidence", ev ? ev : json_array(), "principal", store_col_text(st, 4),
			 "instruction_version", store_col_text(st, 5), "created_at",
			 store_col_text(st, 6));
}

#define BRIEF_SELECT                                                                               \
	"SELECT id,account_id,text,evidence,principal,instruction_version,created_at FROM brief"

static json_t *brief_row(struct store_stmt *st, void *ctx)
{
	(void)ctx;
	return brief_json(st);
}

int outreach_briefs_list(struct store *s, const struct outreach_filter *f, json_t **out,
			 struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = store_prepare(s,
			   f->account_id
			       ? BRIEF_SELECT " WHERE account_id=?1"
					      " ORDER BY created_at DESC, id DESC LIMIT ?2"
			       : BRIEF_SELECT " ORDER BY created_at DESC, id DESC LIMIT ?2",
			   &st, err);
	if (rc)
		return rc;
	if (f->account_id)
		store_bind_text(st, 1, f->account_id);
	store_bind_int(st, 2, f->limit > 0 ? f->limit : 100);
	return store_collect(st, brief_row, NULL, out, err);
}

int outreach_brief_get(struct store *s, const char *id, json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = store_prepare(s, BRIEF_SELECT " WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*out = brief_json(st);
		rc = *out ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	} else if (rc == STORE_DONE) {
		rc = err_set(err, AIRLOCK_ENOTFOUND, "there is no brief '%s'", id);
	}
	store_done(st);
	return rc;
}

int outreach_scan_briefs(struct store *s, const char *from, const char *to,
			 int (*fn)(const struct outreach_brief_scan_row *row, void *ctx, struct err *err),
			 void *ctx, struct err *err)
{
	struct outreach_brief_scan_row r;
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s,
			   "SELECT created_at, evidence FROM brief WHERE created_at >= ?1 AND"
			   " created_at < ?2",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, from);
	store_bind_text(st, 2, to);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		r.created_at = store_col_text(st, 0);
		r.evidence = store_col_text(st, 1);
		rc = fn(&r, ctx, err);
		if (rc)
			break;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

int outreach_scan_drafts(struct store *s, const char *from, const char *to,
			 int (*fn)(const struct outreach_draft_scan_row *row, void *ctx, struct err *err),
			 void *ctx, struct err *err)
{
	struct outreach_draft_scan_row r;
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s,
			   "SELECT created_at, principal, instruction_version, body FROM draft"
			   " WHERE created_at >= ?1 AND created_at < ?2",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, from);
	store_bind_text(st, 2, to);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		r.created_at = store_col_text(st, 0);
		r.principal = store_col_text(st, 1);
		r.instruction_version = store_col_text(st, 2);
		r.body = store_col_text(st, 3);
		r.body_len = r.body ? (size_t)store_col_bytes(st, 3) : 0;
		rc = fn(&r, ctx, err);
		if (rc)
			break;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}
