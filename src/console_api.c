/* console_api.c — the queue and batches: what waits, a batch's diff with
 * its evidence, and the verbs, each through review.h as the CLI does. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "book.h"
#include "clock.h"
#include "console_int.h"
#include "outreach.h"
#include "review.h"
#include "staging.h"
#include "summary.h"
#include "upwrite.h"

#define MAX_REASON 2000
#define MAX_NOTE 2000

static const char *waits_for(const char *state)
{
	if (!strcmp(state, "staged"))
		return "a sample audit";
	if (!strcmp(state, "sampled"))
		return "verdicts on the sample";
	if (!strcmp(state, "blocked"))
		return "approve or reject";
	if (!strcmp(state, "approved"))
		return "apply";
	return "";
}

static int64_t age_of(const char *at)
{
	time_t t;

	if (!at || clock_parse(at, &t))
		return 0;
	return (int64_t)(clock_now() - t);
}

/* The queue's orders: the oldest first (the default), the largest radius,
 * by workflow or by state (in the order a batch moves: staged, sampled,
 * blocked, approved), each then oldest first. */
enum queue_sort { SORT_AGE, SORT_RADIUS, SORT_WORKFLOW, SORT_STATE, SORT_AGENT };
static const char *const queue_sorts[] = {"age", "radius", "workflow", "state", "agent", NULL};

static int state_rank(json_t *b)
{
	static const char *const order[] = {"staged", "sampled", "blocked", "approved", NULL};
	const char *st = json_string_value(json_object_get(b, "state"));
	int i;

	for (i = 0; st && order[i]; i++)
		if (!strcmp(order[i], st))
			return i;
	return i;
}

static int str_cmp(json_t *x, json_t *y, const char *key)
{
	const char *a = json_string_value(json_object_get(x, key));
	const char *b = json_string_value(json_object_get(y, key));

	return strcmp(a ? a : "", b ? b : "");
}

static int queue_cmp(const void *pa, const void *pb, void *ctx)
{
	json_t *x = *(json_t *const *)pa, *y = *(json_t *const *)pb;
	json_int_t ax = json_integer_value(json_object_get(x, "age_seconds"));
	json_int_t ay = json_integer_value(json_object_get(y, "age_seconds"));
	int c = 0;

	switch (*(const enum queue_sort *)ctx) {
	case SORT_RADIUS:
		c = (json_integer_value(json_object_get(y, "radius")) >
		     json_integer_value(json_object_get(x, "radius"))) -
		    (json_integer_value(json_object_get(y, "radius")) <
		     json_integer_value(json_object_get(x, "radius")));
		break;
	case SORT_WORKFLOW:
		c = str_cmp(x, y, "workflow");
		break;
	case SORT_STATE:
		c = state_rank(x) - state_rank(y);
		break;
	case SORT_AGENT:
		c = str_cmp(x, y, "principal");
		break;
	case SORT_AGE:
		break;
	}
	if (c)
		return c;
	if (ax != ay)
		return ax < ay ? 1 : -1;
	ax = json_integer_value(json_object_get(x, "id"));
	ay = json_integer_value(json_object_get(y, "id"));
	return (ax > ay) - (ax < ay);
}

/* Sorts the queue in place; 0, or AIRLOCK_ENOMEM. */
static int queue_sort(json_t *q, enum queue_sort by)
{
	size_t n = json_array_size(q), i;
	json_t **v;

	if (n < 2)
		return 0;
	v = calloc(n, sizeof *v);
	if (!v)
		return AIRLOCK_ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(q, i));
	qsort_r(v, n, sizeof *v, queue_cmp, &by);
	for (i = 0; i < n; i++)
		json_array_set_new(q, i, v[i]);
	free(v);
	return 0;
}

void console_api_queue(struct console_req *r)
{
	struct err err = {0};
	json_t *q = NULL, *b;
	const char *sort = http_query(r->req, "sort");
	int by = SORT_AGE;
	size_t i;

	if (!console_method(r, "GET"))
		return;
	if (sort && *sort) {
		for (by = 0; queue_sorts[by] && strcmp(queue_sorts[by], sort); by++)
			;
		if (!queue_sorts[by]) {
			console_error(r->res, 400,
				      "sort: '%.40s' is not an order of the queue (age, radius, "
				      "workflow, state or agent)",
				      sort);
			return;
		}
	}
	if (staging_expire(r->s, NULL, &err) || staging_queue(r->s, &q, &err)) {
		console_fail(r->res, &err);
		return;
	}
	json_array_foreach(q, i, b)
	{
		const char *state = json_string_value(json_object_get(b, "state"));

		json_object_set_new(b, "waits_for", json_string(state ? waits_for(state) : ""));
		json_object_set_new(
		    b, "age_seconds",
		    json_integer(age_of(json_string_value(json_object_get(b, "created_at")))));
	}
	if (queue_sort(q, (enum queue_sort)by)) {
		json_decref(q);
		console_error(r->res, 500, "out of memory");
		return;
	}
	console_json(r->res, 200,
		     json_pack("{s:o,s:I,s:s}", "batches", q, "count",
			       (json_int_t)json_array_size(q), "sort", queue_sorts[by]));
}

json_t *console_evidence(struct store *s, json_t *ids, json_t *cache)
{
	json_t *out = json_array(), *v, *sig, *e;
	struct err err = {0};
	size_t i;

	json_array_foreach(ids, i, v)
	{
		const char *id = json_string_value(v);

		e = id ? json_object_get(cache, id) : NULL;
		if (e) {
			json_array_append(out, e);
			continue;
		}
		if (id && book_get(s, BOOK_SIGNAL, id, &sig, &err) == 0) {
			e = json_pack("{s:s,s:b,s:O,s:O,s:O,s:O}", "id", id, "known", 1, "kind",
				      json_object_get(sig, "kind"), "observed_at",
				      json_object_get(sig, "observed_at"), "detail",
				      json_object_get(sig, "detail"), "account_id",
				      json_object_get(sig, "account_id"));
			json_decref(sig);
		} else {
			e = json_pack("{s:O,s:b}", "id", v, "known", 0);
		}
		if (id && e)
			json_object_set(cache, id, e);
		json_array_append_new(out, e);
	}
	return out;
}

static json_t *old_value(json_t *before, const char *field)
{
	json_t *v = !strncmp(field, "custom.", 7)
			? json_object_get(json_object_get(before, "custom"), field + 7)
			: json_object_get(before, field);

	return v ? v : json_null();
}

/* What the CRM said about a record in the newest `import --refresh` since
 * the batch was staged: {"at", "values": {field: the CRM's value}}, or NULL
 * when no refresh touched it (the conflict came from elsewhere). The same
 * rows show prints (crm_refresh, written by import.c). */
static json_t *crm_refresh(struct store *s, const char *record_id, const char *since)
{
	struct store_stmt *st;
	struct err e = {0};
	json_t *out = NULL, *vals;

	if (!record_id || !since ||
	    store_prepare(s,
			  "SELECT at,crm FROM crm_refresh WHERE record_id=?1 AND at>=?2"
			  " ORDER BY log_seq DESC LIMIT 1",
			  &st, &e))
		return NULL;
	store_bind_text(st, 1, record_id);
	store_bind_text(st, 2, since);
	if (store_step(st, &e) == STORE_ROW) {
		vals = json_loads(store_col_text(st, 1), 0, NULL);
		if (json_is_object(vals))
			out = json_pack("{s:s,s:O}", "at", store_col_text(st, 0), "values", vals);
		json_decref(vals);
	}
	store_done(st);
	return out;
}

json_t *console_item_view(struct store *s, json_t *batch, json_t *item, json_t *cache)
{
	static const char *const shown[] = {"name",  "segment",	  "region",
					    "owner", "lifecycle", NULL};
	const char *state = json_string_value(json_object_get(batch, "state"));
	/* a shallow copy: every member that changes below is replaced, never
	 * edited, so the batch's own item stays as it was (a deep copy of 500
	 * before-images was most of a big batch's answer time) */
	json_t *v = json_copy(item), *diff = json_array(), *ch, *before, *val, *brief;
	const char *k;
	int n;
	int waiting = state && (!strcmp(state, "staged") || !strcmp(state, "sampled") ||
				!strcmp(state, "blocked") || !strcmp(state, "approved"));

	if (!v || !diff) {
		json_decref(v);
		json_decref(diff);
		return NULL;
	}
	ch = json_object_get(item, "changes");
	before = json_object_get(item, "before");
	json_object_foreach(ch, k, val)
	{
		json_array_append_new(diff, json_pack("{s:s,s:O,s:O}", "field", k, "old",
						      old_value(before, k), "new", val));
	}
	json_object_set_new(v, "diff", diff);
	/* of the before-image, what the page names the record by; the old
	 * values are in the diff */
	brief = json_object();
	for (n = 0; brief && shown[n]; n++)
		if (json_object_get(before, shown[n]))
			json_object_set(brief, shown[n], json_object_get(before, shown[n]));
	if (brief)
		json_object_set_new(v, "before", brief);
	json_object_set_new(v, "evidence",
			    console_evidence(s, json_object_get(item, "evidence"), cache));
	/* the record changed since it was staged: applying will conflict */
	json_object_set_new(
	    v, "conflict",
	    json_boolean(waiting &&
			 strcmp(json_string_value(json_object_get(batch, "action"))
				    ? json_string_value(json_object_get(batch, "action"))
				    : "",
				"send") &&
			 json_integer_value(json_object_get(item, "current_version")) !=
			     json_integer_value(json_object_get(item, "version"))));
	/* a refresh from the CRM moved it: the CRM's value beside old → new */
	if (json_is_true(json_object_get(v, "conflict"))) {
		json_t *crm = crm_refresh(s, json_string_value(json_object_get(item, "record_id")),
					  json_string_value(json_object_get(batch, "created_at")));
		json_t *d;
		size_t i;

		if (crm) {
			json_array_foreach(json_object_get(v, "diff"), i, d)
			{
				json_t *cv =
				    json_object_get(json_object_get(crm, "values"),
						    json_string_value(json_object_get(d, "field")));

				if (cv)
					json_object_set(d, "crm", cv);
			}
			json_object_set_new(v, "crm", crm);
		}
	}
	json_object_del(v, "changes");
	return v;
}

/* The verbs the batch's state allows, and which of them this reviewer may
 * use (a viewer none; the proposer not those that judge their own work). */
static json_t *verbs(json_t *b, const struct reviewer_session *who)
{
	const char *state = json_string_value(json_object_get(b, "state"));
	const char *proposer = json_string_value(json_object_get(b, "principal"));
	int own = proposer && !strcmp(proposer, who->principal);
	int may = reviewer_role_allows(who->role, REVIEWER_REVIEWER);
	json_t *out = json_array(), *why = json_array();
	static const struct {
		const char *state, *verb;
		int judges;
	} table[] = {{"staged", "sample", 1},	{"staged", "approve", 1},  {"staged", "reject", 0},
		     {"sampled", "judge", 1},	{"sampled", "approve", 1}, {"sampled", "reject", 0},
		     {"blocked", "approve", 1}, {"blocked", "reject", 0},  {"approved", "apply", 0},
		     {"applied", "undo", 0}};
	size_t i;

	for (i = 0; state && i < sizeof table / sizeof table[0]; i++) {
		if (strcmp(table[i].state, state))
			continue;
		if (!may)
			continue;
		if (own && table[i].judges)
			continue;
		json_array_append_new(out, json_string(table[i].verb));
	}
	if (!may)
		json_array_append_new(why,
				      json_string("your role is viewer: you can read, not act"));
	if (own)
		json_array_append_new(why,
				      json_string("you proposed this batch: another person must "
						  "sample, judge or approve it"));
	return json_pack("{s:o,s:o}", "allowed", out, "notes", why);
}

/* A send batch's items are drafts: the reviewer reads what would go out. */
static void add_drafts(struct store *s, json_t *items)
{
	struct err err = {0};
	json_t *it, *d;
	size_t i;

	json_array_foreach(items, i, it)
	{
		const char *id = json_string_value(json_object_get(it, "record_id"));

		if (id && outreach_draft_get(s, id, &d, &err) == 0)
			json_object_set_new(it, "draft", d);
	}
}

/* The parts of a batch's answer that depend on who asks and when: the
 * verbs this reviewer may use, whether approve is an override, the age. They
 * close the kept text (a JSON object) in a new buffer that the response
 * owns. */
static void batch_answer(struct console_req *r, int64_t id, const char *text, size_t len,
			 json_t *head)
{
	struct err err = {0};
	json_t *tail = json_object();
	char gap[200], *t = NULL, *body = NULL;
	size_t tlen;

	if (!tail)
		goto oom;
	json_object_set_new(tail, "verbs", verbs(head, &r->who));
	/* approve past an unfinished, failed or undrawn sample is an override:
	 * the page offers it as such, with what it would skip */
	if (staging_sample_gap(r->s, id, gap, sizeof gap, &err) == 0 && gap[0])
		json_object_set_new(json_object_get(tail, "verbs"), "approve_is_override",
				    json_string(gap));
	json_object_set_new(
	    tail, "age_seconds",
	    json_integer(age_of(json_string_value(json_object_get(head, "created_at")))));
	t = json_dumps(tail, JSON_COMPACT);
	if (!t || len < 2 || text[len - 1] != '}')
		goto oom;
	/* "{...kept...}" + "{tail}" → "{...kept...,tail}" */
	tlen = strlen(t);
	body = malloc(len + tlen);
	if (!body)
		goto oom;
	memcpy(body, text, len - 1);
	body[len - 1] = ',';
	memcpy(body + len, t + 1, tlen - 1);
	json_decref(tail);
	free(t);
	http_respond_owned(r->res, 200, "application/json", body, len + tlen - 1);
	return;
oom:
	json_decref(tail);
	free(t);
	console_error(r->res, 500, "out of memory");
}

/* The kept answer is still true of the book: each item's record has the
 * version it had when the answer was built (whatever changed it, logged or
 * not: a record edited behind airlock's back must still show as a
 * conflict at once). */
static int records_unchanged(struct store *s, json_t *head)
{
	struct err err = {0};
	json_t *rv;
	size_t i;
	int64_t v;

	json_array_foreach(json_object_get(head, "records"), i, rv)
	{
		json_t *was = json_array_get(rv, 1);

		if (book_version(s, BOOK_ACCOUNT, json_string_value(json_array_get(rv, 0)), &v,
				 &err))
			return 0;
		if (json_is_integer(was) ? json_integer_value(was) != v : v >= 0)
			return 0;
	}
	return 1;
}

/* What the kept answer was built on, besides its key: the state, proposer
 * and age the per-request parts need, and each item's record with its
 * version then. */
static json_t *batch_head(json_t *b)
{
	json_t *h = json_pack("{s:O?,s:O?,s:O?,s:[]}", "state", json_object_get(b, "state"),
			      "principal", json_object_get(b, "principal"), "created_at",
			      json_object_get(b, "created_at"), "records");
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(b, "item_list"), i, it)
	{
		json_t *rid = json_object_get(it, "record_id");

		if (h && json_is_string(rid))
			json_array_append_new(
			    json_object_get(h, "records"),
			    json_pack("[O,O?]", rid, json_object_get(it, "current_version")));
	}
	return h;
}

/* A batch whole: its items as the page shows them, with the summary. The
 * part that is the same for everyone (all but batch_answer's) is kept
 * (console_memo_*) under the log's head and checked against the records'
 * versions: reviewers opening the batch again, or one after another, are
 * not each made to wait for the 500 items' views and the summary to be
 * built again. A send batch is built every time (its drafts are read as
 * they are now). */
static void batch_get(struct console_req *r, int64_t id)
{
	struct err err = {0};
	struct console_memo_key key = {0};
	unsigned char hash[AUDIT_HASH_BYTES];
	json_t *b = NULL, *items, *views, *it, *cache = NULL, *v, *head = NULL;
	const char *action;
	char *text = NULL;
	size_t i, len = 0;
	int keep;

	if (staging_expire(r->s, NULL, &err)) {
		console_fail(r->res, &err);
		return;
	}
	key.batch = id;
	key.minute = (int64_t)(clock_now() / 60);
	key.max_age = r->policy ? r->policy->evidence_max_age : SUMMARY_EVIDENCE_MAX_AGE;
	/* the head is read before the batch: what is built is at least as new
	 * as the key it is kept under */
	keep = audit_head(r->s, &key.log_seq, hash, &err) == 0;
	if (keep && console_memo_get(r->c, &key, &text, &len, &head)) {
		if (records_unchanged(r->s, head)) {
			batch_answer(r, id, text, len, head);
			free(text);
			json_decref(head);
			return;
		}
		free(text);
		json_decref(head);
		text = NULL;
		head = NULL;
	}
	if (staging_get(r->s, id, &b, &err)) {
		console_fail(r->res, &err);
		return;
	}
	/* an upstream batch's records are labelled by its tool, not "account" */
	if (upwrite_describe(r->s, b, &err)) {
		json_decref(b);
		console_fail(r->res, &err);
		return;
	}
	cache = json_object();
	items = json_object_get(b, "item_list");
	{
		/* the same summary the CLI and notifications give, computed on
		 * the items as staged (before they become views) */
		struct summary_opts o = {key.max_age, 0};
		json_t *sum = NULL;
		struct err serr = {0};

		if (summary_batch(r->s, b, &o, &sum, &serr) == 0)
			json_object_set_new(b, "summary", sum);
	}
	views = json_array();
	json_array_foreach(items, i, it)
	{
		v = console_item_view(r->s, b, it, cache);
		if (v)
			json_array_append_new(views, v);
	}
	action = json_string_value(json_object_get(b, "action"));
	if (action && !strcmp(action, "send")) {
		add_drafts(r->s, views);
		keep = 0;
	}
	head = batch_head(b);
	json_object_set_new(b, "item_list", views);
	text = json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(12));
	json_decref(b);
	json_decref(cache);
	if (!text || !head) {
		free(text);
		json_decref(head);
		console_error(r->res, 500, "out of memory");
		return;
	}
	len = strlen(text);
	if (keep)
		console_memo_put(r->c, &key, text, len, head);
	batch_answer(r, id, text, len, head);
	free(text);
	json_decref(head);
}

/* The batch after a verb, with what the verb reported. */
static void answer(struct console_req *r, int64_t id, const char *key, json_t *report)
{
	struct err err = {0};
	json_t *b = NULL;

	if (staging_get_header(r->s, id, &b, &err)) {
		json_decref(report);
		console_fail(r->res, &err);
		return;
	}
	if (report)
		json_object_set_new(b, key, report);
	console_json(r->res, 200, b);
}

static const char *opt_string(json_t *body, const char *key, size_t max, struct console_req *r,
			      int *bad)
{
	json_t *v = json_object_get(body, key);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || json_string_length(v) > max) {
		console_error(r->res, 400, "'%s' must be a string of at most %zu bytes", key, max);
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

static int opt_bool(json_t *body, const char *key, struct console_req *r, int *bad)
{
	json_t *v = json_object_get(body, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		console_error(r->res, 400, "'%s' must be true or false", key);
		*bad = 1;
		return 0;
	}
	return json_is_true(v);
}

/* apply and undo: a conflict is 409 with the conflicting items listed. */
static void apply_or_undo(struct console_req *r, struct review *rv, int64_t id, int undo,
			  json_t *body)
{
	struct err err = {0};
	json_t *report = NULL, *o;
	int bad = 0, flag, rc;

	flag = opt_bool(body, undo ? "force" : "skip_conflicts", r, &bad);
	if (bad)
		return;
	rc = undo ? review_undo(rv, id, r->who.principal, flag, &report, &err)
		  : review_apply(rv, id, r->who.principal, flag, &report, &err);
	if (rc) {
		o = json_pack("{s:s}", "error", err.msg[0] ? err.msg : err_name(rc));
		if (report && o)
			json_object_set(o, "report", report);
		json_decref(report);
		console_json(r->res, console_status(rc), o);
		return;
	}
	answer(r, id, "report", report);
}

static void batch_verb(struct console_req *r, int64_t id, const char *verb)
{
	struct review rv = {r->s, r->policy, "console"};
	struct err err = {0};
	json_t *body, *result = NULL, *item;
	const char *text, *verdict;
	int bad = 0, rc;

	if (!console_method(r, "POST"))
		return;
	body = console_body(r);
	if (!body)
		return;
	if (!strcmp(verb, "approve")) {
		int override = opt_bool(body, "override", r, &bad);

		text = bad ? NULL : opt_string(body, "reason", MAX_REASON, r, &bad);
		if (bad)
			goto out;
		if (override && (!text || !*text)) {
			console_error(r->res, 400,
				      "an override needs a reason: {\"override\": true, \"reason\":"
				      " \"...\"}");
			goto out;
		}
		rc = override ? review_approve_override(&rv, id, r->who.principal, text, &err)
			      : review_approve(&rv, id, r->who.principal, &err);
	} else if (!strcmp(verb, "reject")) {
		text = opt_string(body, "reason", MAX_REASON, r, &bad);
		if (bad)
			goto out;
		if (!text || !*text) {
			console_error(r->res, 400,
				      "a rejection needs a reason: {\"reason\": \"...\"}");
			goto out;
		}
		rc = review_reject(&rv, id, r->who.principal, text, &err);
	} else if (!strcmp(verb, "sample")) {
		rc = review_sample(&rv, id, r->who.principal, &result, &err);
	} else if (!strcmp(verb, "judge")) {
		item = json_object_get(body, "item");
		verdict = opt_string(body, "verdict", 8, r, &bad);
		text = bad ? NULL : opt_string(body, "note", MAX_NOTE, r, &bad);
		if (bad)
			goto out;
		if (!json_is_integer(item) || json_integer_value(item) < 1 || !verdict ||
		    (strcmp(verdict, "pass") && strcmp(verdict, "fail"))) {
			console_error(
			    r->res, 400,
			    "judge needs {\"item\": N (1 or more), \"verdict\": \"pass\" or "
			    "\"fail\", \"note\"?}");
			goto out;
		}
		rc = review_judge(&rv, id, json_integer_value(item), r->who.principal,
				  !strcmp(verdict, "pass"), text, &result, &err);
	} else if (!strcmp(verb, "apply") || !strcmp(verb, "undo")) {
		apply_or_undo(r, &rv, id, !strcmp(verb, "undo"), body);
		goto out;
	} else {
		console_error(r->res, 404,
			      "no verb '%.40s' (sample, judge, approve, reject, apply, undo)",
			      verb);
		goto out;
	}
	if (rc) {
		json_decref(result);
		console_fail(r->res, &err);
	} else
		answer(r, id, verb, result);
out:
	json_decref(body);
}

void console_api_batch(struct console_req *r, const char *rest)
{
	const char *slash = strchr(rest, '/');
	char idtext[24];
	struct err err = {0};
	int64_t id;
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

	if (n == 0 || n >= sizeof idtext) {
		console_error(r->res, 400, "'%.40s' is not a batch id", rest);
		return;
	}
	memcpy(idtext, rest, n);
	idtext[n] = '\0';
	if (staging_parse_id(idtext, &id, &err)) {
		console_error(r->res, 400, "%s", err.msg);
		return;
	}
	if (!slash) {
		if (console_method(r, "GET"))
			batch_get(r, id);
		return;
	}
	batch_verb(r, id, slash + 1);
}
