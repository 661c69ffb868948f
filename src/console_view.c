/* console_view.c — the console's other views: who is signed in, drafts and
 * briefs (a rep reads, edits, discards), the action log with its "why" and
 * verify, earned autonomy, and drift (not wired yet: 501). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "book.h"
#include "autonomy.h"
#include "console_int.h"
#include "clock.h"
#include "csv.h"
#include "drift.h"
#include "outreach.h"
#include "outreach_edit.h"
#include "policy.h"
#include "reliability.h"
#include "sampling.h"
#include "staging.h"

#define LOG_LIMIT_DEFAULT 200
#define LOG_LIMIT_MAX 5000

void console_api_me(struct console_req *r)
{
	if (!console_method(r, "GET"))
		return;
	console_json(r->res, 200,
		     json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", r->who.name, "role",
			       reviewer_role_name(r->who.role), "principal", r->who.principal,
			       "csrf", r->who.csrf, "expires_at", r->who.expires_at));
}

void console_api_reviewers(struct console_req *r)
{
	struct err err = {0};
	json_t *rows;

	if (!console_method(r, "GET") || !console_need(r, REVIEWER_ADMIN))
		return;
	if (reviewer_list(r->s, &rows, &err))
		console_fail(r->res, &err);
	else
		console_json(r->res, 200, json_pack("{s:o}", "reviewers", rows));
}

/* A whole number query argument in [min, max]; def when absent; -1 after a
 * 400. */
static long query_long(struct console_req *r, const char *name, long def, long min, long max)
{
	const char *v = http_query(r->req, name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	if (*end || n < min || n > max) {
		console_error(r->res, 400, "%s: '%.40s' is not a whole number from %ld to %ld",
			      name, v, min, max);
		return -1;
	}
	return n;
}

/* Waiting send batches by draft id, so the drafts view links a requested
 * send to the batch a reviewer approves or rejects. */
static json_t *send_batches(struct store *s, struct err *err)
{
	json_t *q = NULL, *map = json_object(), *b, *full, *it;
	size_t i, j;

	if (staging_queue(s, &q, err)) {
		json_decref(map);
		return NULL;
	}
	json_array_foreach(q, i, b)
	{
		const char *action = json_string_value(json_object_get(b, "action"));

		if (!action || strcmp(action, "send"))
			continue;
		if (staging_get(s, json_integer_value(json_object_get(b, "id")), &full, err))
			continue;
		json_array_foreach(json_object_get(full, "item_list"), j, it)
		{
			const char *d = json_string_value(json_object_get(it, "record_id"));

			if (d)
				json_object_set(map, d, json_object_get(b, "id"));
		}
		json_decref(full);
	}
	json_decref(q);
	return map;
}

/* Each draft's account by name as well as id: a reviewer scanning sends
 * knows "Globex GmbH", not A0003212. A record that is gone keeps its id. */
static void account_names(struct store *s, json_t *rows)
{
	json_t *names = json_object(), *d, *acc, *name;
	struct err err = {0};
	size_t i;

	json_array_foreach(rows, i, d)
	{
		const char *id = json_string_value(json_object_get(d, "account_id"));

		if (!id)
			continue;
		name = json_object_get(names, id);
		if (!name && book_get(s, BOOK_ACCOUNT, id, &acc, &err) == 0) {
			name = json_object_get(acc, "name");
			if (json_is_string(name))
				json_object_set(names, id, name);
			json_decref(acc);
			name = json_object_get(names, id);
		}
		err_clear(&err);
		if (name)
			json_object_set(d, "account_name", name);
	}
	json_decref(names);
}

static void drafts_list(struct console_req *r)
{
	struct outreach_filter f = {0};
	struct err err = {0};
	json_t *rows = NULL, *sends, *d, *bid;
	long limit = query_long(r, "limit", 100, 1, 1000);
	size_t i;

	if (limit < 0)
		return;
	f.account_id = http_query(r->req, "account");
	f.status = http_query(r->req, "status");
	if (f.account_id && !*f.account_id)
		f.account_id = NULL;
	if (f.status && !*f.status)
		f.status = NULL;
	f.limit = (int)limit;
	if (outreach_drafts_list(r->s, &f, &rows, &err)) {
		if (err.code == AIRLOCK_EINVAL)
			console_error(r->res, 400, "status: %s", err.msg);
		else
			console_fail(r->res, &err);
		return;
	}
	account_names(r->s, rows);
	sends = send_batches(r->s, &err);
	if (!sends) {
		json_decref(rows);
		console_fail(r->res, &err);
		return;
	}
	json_array_foreach(rows, i, d)
	{
		bid = json_object_get(sends, json_string_value(json_object_get(d, "id")));
		if (bid)
			json_object_set(d, "send_batch", bid);
	}
	json_decref(sends);
	console_json(r->res, 200, json_pack("{s:o}", "drafts", rows));
}

static void draft_one(struct console_req *r, const char *id)
{
	struct err err = {0};
	json_t *d = NULL, *body, *sends;
	const char *subject = NULL, *text = NULL;
	int rc;

	if (!strcmp(r->req->method, "DELETE")) {
		if (outreach_draft_discard(r->s, r->who.principal, id, &err)) {
			console_fail(r->res, &err);
			return;
		}
	} else if (!strcmp(r->req->method, "POST") || !strcmp(r->req->method, "PATCH")) {
		body = console_body(r);
		if (!body)
			return;
		if ((json_object_get(body, "subject") &&
		     !json_is_string(json_object_get(body, "subject"))) ||
		    (json_object_get(body, "body") &&
		     !json_is_string(json_object_get(body, "body")))) {
			json_decref(body);
			console_error(r->res, 400, "subject and body must be strings");
			return;
		}
		subject = json_string_value(json_object_get(body, "subject"));
		text = json_string_value(json_object_get(body, "body"));
		rc =
		    outreach_draft_edit(r->s, r->who.principal, "console", id, subject, text, &err);
		json_decref(body);
		if (rc) {
			console_fail(r->res, &err);
			return;
		}
	} else if (!r->get) {
		http_add_header(r->res, "Allow", "GET, PATCH, POST, DELETE");
		console_error(r->res, 405, "a draft takes GET, PATCH (edit) or DELETE (discard)");
		return;
	}
	if (outreach_draft_get(r->s, id, &d, &err)) {
		console_fail(r->res, &err);
		return;
	}
	sends = send_batches(r->s, &err);
	if (sends && json_object_get(sends, id))
		json_object_set(d, "send_batch", json_object_get(sends, id));
	json_decref(sends);
	console_json(r->res, 200, d);
}

void console_api_drafts(struct console_req *r, const char *rest)
{
	char id[64];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

	if (!*rest) {
		if (console_method(r, "GET"))
			drafts_list(r);
		return;
	}
	if (n >= sizeof id) {
		console_error(r->res, 404, "there is no such draft");
		return;
	}
	memcpy(id, rest, n);
	id[n] = '\0';
	if (slash) {
		/* POST /api/drafts/ID/discard: the same as DELETE, for plain forms */
		if (strcmp(slash, "/discard")) {
			console_error(r->res, 404, "no API at /api/drafts/%.100s", rest);
			return;
		}
		if (!console_method(r, "POST"))
			return;
		{
			struct err err = {0};
			json_t *d;

			if (outreach_draft_discard(r->s, r->who.principal, id, &err) ||
			    outreach_draft_get(r->s, id, &d, &err))
				console_fail(r->res, &err);
			else
				console_json(r->res, 200, d);
		}
		return;
	}
	draft_one(r, id);
}

void console_api_briefs(struct console_req *r, const char *rest)
{
	struct outreach_filter f = {0};
	struct err err = {0};
	json_t *v = NULL, *cache;
	long limit;

	if (!console_method(r, "GET"))
		return;
	if (*rest) {
		if (outreach_brief_get(r->s, rest, &v, &err)) {
			console_fail(r->res, &err);
			return;
		}
		cache = json_object();
		json_object_set_new(v, "signals",
				    console_evidence(r->s, json_object_get(v, "evidence"), cache));
		json_decref(cache);
		console_json(r->res, 200, v);
		return;
	}
	limit = query_long(r, "limit", 100, 1, 1000);
	if (limit < 0)
		return;
	f.account_id = http_query(r->req, "account");
	if (f.account_id && !*f.account_id)
		f.account_id = NULL;
	f.limit = (int)limit;
	if (outreach_briefs_list(r->s, &f, &v, &err))
		console_fail(r->res, &err);
	else
		console_json(r->res, 200, json_pack("{s:o}", "briefs", v));
}

static int collect(void *ctx, int64_t seq, json_t *e, const unsigned char hash[AUDIT_HASH_BYTES])
{
	char hex[AUDIT_HASH_HEX];
	json_t *copy = json_deep_copy(e);

	(void)seq;
	audit_hash_hex(hash, hex);
	if (!copy || json_object_set_new(copy, "hash", json_string(hex)) ||
	    json_array_append_new(ctx, copy))
		return AIRLOCK_ENOMEM;
	return 0;
}

static const char *q(struct console_req *r, const char *name)
{
	const char *v = http_query(r->req, name);

	return v && *v ? v : NULL;
}

/* A log cell for a spreadsheet: a value that starts with = + - @ or a tab
 * or CR would be read as a formula (CSV injection: an agent's reason
 * "=HYPERLINK(...)" run on the auditor's desk), so it gets a leading '. */
static char *csv_cell(json_t *v)
{
	const char *s = json_string_value(v);
	char *out;
	size_t n;

	if (json_is_integer(v)) {
		if (asprintf(&out, "%lld", (long long)json_integer_value(v)) < 0)
			return NULL;
		return out;
	}
	if (!s)
		return strdup("");
	n = strlen(s);
	out = malloc(n + 2);
	if (!out)
		return NULL;
	if (strchr("=+-@\t\r", s[0]) && s[0]) {
		out[0] = '\'';
		memcpy(out + 1, s, n + 1);
	} else {
		memcpy(out, s, n + 1);
	}
	return out;
}

/* The entries as CSV, one row each, in the columns the page shows plus
 * the hash; the caller owns *buf. */
static int log_csv(json_t *rows, char **buf, size_t *len, struct err *err)
{
	static const char *const cols[] = {
	    "seq",	"at",	    "principal", "surface", "tool", "instruction_version",
	    "decision", "batch_id", "summary",	 "hash"};
	enum { NCOLS = sizeof cols / sizeof cols[0] };
	char *cells[NCOLS];
	FILE *f = open_memstream(buf, len);
	json_t *e;
	size_t i;
	int c, rc = 0;

	if (!f)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = csv_write_record(f, cols, NULL, NCOLS, err);
	json_array_foreach(rows, i, e)
	{
		if (rc)
			break;
		for (c = 0; c < NCOLS; c++)
			cells[c] = csv_cell(json_object_get(e, cols[c]));
		for (c = 0; c < NCOLS; c++)
			if (!cells[c])
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		if (rc == 0)
			rc = csv_write_record(f, (const char *const *)cells, NULL, NCOLS, err);
		for (c = 0; c < NCOLS; c++)
			free(cells[c]);
	}
	if (fclose(f) && rc == 0)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

/* GET /api/log: a search of the action log, newest first, a page at a time
 * (limit, and before=SEQ for the next page: the answer's next_before).
 * format=csv or format=json gives the same page as a download, the
 * filters kept. */
void console_api_log(struct console_req *r)
{
	struct audit_filter f = {0};
	struct err err = {0};
	char since[AUDIT_TIME_MAX];
	const char *format = http_query(r->req, "format");
	json_t *rows, *out;
	long limit, before;
	int more;

	if (!console_method(r, "GET"))
		return;
	limit = query_long(r, "limit", LOG_LIMIT_DEFAULT, 1, LOG_LIMIT_MAX);
	if (limit < 0)
		return;
	before = query_long(r, "before", 0, 1, LONG_MAX);
	if (before < 0)
		return;
	if (format && *format && strcmp(format, "csv") && strcmp(format, "json")) {
		console_error(r->res, 400, "format: '%.40s' is not an export format (csv or json)",
			      format);
		return;
	}
	f.record_id = q(r, "record");
	f.batch_id = q(r, "batch");
	f.principal = q(r, "principal");
	f.tool = q(r, "tool");
	f.limit = limit + 1; /* one more: is there a next page */
	f.before_seq = before;
	if (q(r, "since")) {
		if (audit_parse_time(q(r, "since"), since, &err)) {
			console_error(r->res, 400, "since: %s", err.msg);
			return;
		}
		f.since = since;
	}
	rows = json_array();
	if (audit_query(r->s, &f, collect, rows, &err)) {
		json_decref(rows);
		console_fail(r->res, &err);
		return;
	}
	more = json_array_size(rows) > (size_t)limit;
	if (more)
		json_array_remove(rows, (size_t)limit);
	if (format && !strcmp(format, "csv")) {
		char *buf = NULL;
		size_t len = 0;

		if (log_csv(rows, &buf, &len, &err)) {
			json_decref(rows);
			console_fail(r->res, &err);
			return;
		}
		json_decref(rows);
		http_add_header(r->res, "Content-Disposition",
				"attachment; filename=\"airlock-log.csv\"");
		http_respond_owned(r->res, 200, "text/csv; charset=utf-8", buf, len);
		return;
	}
	out = json_pack("{s:o,s:I,s:b}", "entries", rows, "limit", (json_int_t)limit, "more", more);
	if (out && more)
		json_object_set(out, "next_before",
				json_object_get(json_array_get(rows, (size_t)limit - 1), "seq"));
	if (format && !strcmp(format, "json"))
		http_add_header(r->res, "Content-Disposition",
				"attachment; filename=\"airlock-log.json\"");
	console_json(r->res, 200, out);
}

/* Why did this happen: the batch (or one item of it) with its reasons and
 * evidence texts, and every log entry about the batch, oldest first. */
void console_api_why(struct console_req *r)
{
	struct audit_filter f = {0};
	struct err err = {0};
	json_t *b = NULL, *entries = NULL, *out, *it, *found = NULL, *cache = NULL;
	const char *batch = q(r, "batch");
	int64_t id;
	long item;
	size_t i;

	if (!console_method(r, "GET"))
		return;
	item = query_long(r, "item", 0, 1, 100000000);
	if (item < 0)
		return;
	if (!batch || staging_parse_id(batch, &id, &err)) {
		console_error(r->res, 400, "why needs ?batch=ID (and optionally &item=N)");
		return;
	}
	if (staging_get(r->s, id, &b, &err)) {
		console_fail(r->res, &err);
		return;
	}
	cache = json_object();
	if (item > 0) {
		json_array_foreach(json_object_get(b, "item_list"), i, it)
		{
			if (!found && json_integer_value(json_object_get(it, "idx")) == item)
				found = console_item_view(r->s, b, it, cache);
		}
		if (!found) {
			console_error(r->res, 404, "batch %lld has no item %ld", (long long)id,
				      item);
			goto out;
		}
	}
	entries = json_array();
	{
		char bid[24];

		(void)snprintf(bid, sizeof bid, "%lld", (long long)id);
		f.batch_id = bid;
		if (audit_query(r->s, &f, collect, entries, &err)) {
			console_fail(r->res, &err);
			goto out;
		}
	}
	/* newest first from the log; a story reads oldest first */
	out = json_array();
	for (i = json_array_size(entries); i > 0; i--)
		json_array_append(out, json_array_get(entries, i - 1));
	json_object_del(b, "item_list");
	console_json(r->res, 200,
		     json_pack("{s:O,s:O?,s:o}", "batch", b, "item", found, "entries", out));
out:
	json_decref(found);
	json_decref(entries);
	json_decref(cache);
	json_decref(b);
}

void console_api_verify(struct console_req *r)
{
	struct audit_verify_result v;
	struct err err = {0};
	char head[AUDIT_HASH_HEX];

	if (!console_method(r, "GET"))
		return;
	memset(&v, 0, sizeof v);
	if (audit_verify(r->s, NULL, &v, &err)) {
		console_fail(r->res, &err);
		return;
	}
	audit_hash_hex(v.head, head);
	console_json(r->res, 200,
		     json_pack("{s:b,s:I,s:I,s:s,s:s,s:I,s:s}", "ok", v.ok, "count",
			       (json_int_t)v.count, "head_seq", (json_int_t)v.head_seq, "head",
			       v.ok ? head : "", "problem", audit_problem_name(v.problem), "bad_seq",
			       (json_int_t)v.bad_seq, "message",
			       v.ok ? "the action log is intact" : v.message));
}

/* Per workflow that changes the book or sends: its inspection level, the
 * evidence (items inspected, defects, clean run), the Clopper-Pearson
 * bound at the workflow's confidence, and what a full batch's sample is
 * at that level. */
void console_api_autonomy(struct console_req *r)
{
	const struct policy *p = r->policy;
	struct sampling_state st;
	struct err err = {0};
	json_t *rows = json_array(), *extra = NULL, *v;
	int64_t discounted;
	size_t i;
	int k;

	if (!console_method(r, "GET")) {
		json_decref(rows);
		return;
	}
	for (k = 0; p && k < p->nworkflows; k++) {
		const struct policy_workflow *wf = &p->workflows[k];
		double conf = wf->sampling.confidence > 0 ? wf->sampling.confidence : 0.95;
		double rate = wf->sampling.defect_rate > 0 ? wf->sampling.defect_rate : 0.05;
		int64_t lot = wf->stage_max > 0 ? wf->stage_max : 100;

		if (wf->effect != EFFECT_WRITE && wf->effect != EFFECT_SEND)
			continue;
		if (autonomy_get(r->s, wf->name, &st, &err) ||
		    reliability_discounted(r->s, wf->name, &discounted, &err)) {
			json_decref(rows);
			console_fail(r->res, &err);
			return;
		}
		json_array_append_new(
		    rows,
		    json_pack("{s:s,s:s,s:b,s:I,s:s,s:f,s:f,s:I,s:I,s:i,s:f,s:f,s:I,s:I,s:b}",
			      "workflow", wf->name, "effect", policy_effect_name(wf->effect),
			      "reversible", wf->reversible, "stage_max", (json_int_t)wf->stage_max,
			      "level", sampling_level_name(st.level), "confidence", conf,
			      "defect_rate", rate, "inspected", (json_int_t)st.inspected, "defects",
			      (json_int_t)st.defects, "clean_run", st.clean_run, "upper_bound",
			      sampling_upper_bound(st.defects, st.inspected, conf), "cusum",
			      st.cusum, "lot", (json_int_t)lot, "sample_of_lot",
			      (json_int_t)sampling_level_plan_size(st.level, lot, rate, conf),
			      "unattended", wf->unattended));
		/* samples left out of the evidence above: their reviewer misses
		 * seeded checks (sampling.min_catch_rate) */
		v = json_array_get(rows, json_array_size(rows) - 1);
		json_object_set_new(v, "discounted_samples", json_integer(discounted));
		json_object_set_new(v, "min_catch_rate", json_real(wf->sampling.min_catch_rate));
	}
	/* workflows with evidence that the policy no longer names */
	if (autonomy_list(r->s, 0.95, &extra, &err)) {
		json_decref(rows);
		console_fail(r->res, &err);
		return;
	}
	json_array_foreach(extra, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "workflow"));

		if (!p || !policy_workflow(p, name)) {
			json_object_set_new(v, "note", json_string("not in the policy any more"));
			json_array_append(rows, v);
		}
	}
	json_decref(extra);
	console_json(r->res, 200, json_pack("{s:o}", "workflows", rows));
}

/* "tier1_share{retier}": the metric and, when it has one, its workflow. */
static void drift_name(json_t *m, char *buf, size_t len)
{
	const char *wf = json_string_value(json_object_get(m, "workflow"));

	(void)snprintf(buf, len, "%s%s%s%s", json_string_value(json_object_get(m, "metric")),
		       wf ? "{" : "", wf ? wf : "", wf ? "}" : "");
}

/* The drift report in the shape the page charts: per metric its title in
 * words, its unit and windows' values, and whether there are enough of
 * them to draw (a chart of one dot says nothing: the page says so
 * instead); the alerts with their verdict in words and the test's figures
 * apart. */
static json_t *drift_for_page(json_t *rep)
{
	json_t *metrics = json_array(), *alerts = json_array(), *m, *h, *a, *c, *pts, *causes;
	char name[200], msg[300], title[300], verdict[700];
	const char *unit;
	size_t i, j;

	json_array_foreach(json_object_get(rep, "metrics"), i, m)
	{
		drift_name(m, name, sizeof name);
		unit = drift_title(m, title, sizeof title);
		pts = json_array();
		json_array_foreach(json_object_get(m, "history"), j, h)
		{
			if (json_is_number(json_object_get(h, "value")))
				json_array_append_new(
				    pts, json_pack("{s:O,s:O,s:b}", "window",
						   json_object_get(h, "start"), "value",
						   json_object_get(h, "value"), "alert",
						   json_is_true(json_object_get(h, "alert"))));
		}
		json_array_append_new(
		    metrics,
		    json_pack(
			"{s:s,s:s,s:s,s:s,s:b,s:O?,s:O?,s:O?,s:O?,s:O?,s:o}", "name", name, "title",
			title, "unit", unit, "status_words",
			drift_status_words(json_string_value(json_object_get(m, "status"))),
			"chartable", json_array_size(pts) >= 3, "label", json_object_get(m, "help"),
			"reference", json_object_get(m, "reference"), "status",
			json_object_get(m, "status"), "shares", json_object_get(m, "shares"),
			"reference_shares", json_object_get(m, "reference_shares"), "points", pts));
	}
	json_array_foreach(json_object_get(rep, "alerts"), i, a)
	{
		drift_name(a, name, sizeof name);
		(void)drift_title(a, title, sizeof title);
		drift_verdict(a, verdict, sizeof verdict);
		(void)snprintf(
		    msg, sizeof msg,
		    "%s since %.10s: %.3g against a reference of %.3g (%s %.2f, threshold %.2f)",
		    json_string_value(json_object_get(a, "severity")),
		    json_string_value(json_object_get(a, "first_window")),
		    json_number_value(json_object_get(a, "value")),
		    json_number_value(json_object_get(a, "reference")),
		    json_string_value(json_object_get(a, "test")),
		    json_number_value(json_object_get(a, "statistic")),
		    json_number_value(json_object_get(a, "threshold")));
		causes = json_array();
		json_array_foreach(json_object_get(a, "causes"), j, c)
		    json_array_append_new(causes, json_copy(json_object_get(c, "detail")));
		json_array_append_new(
		    alerts,
		    json_pack("{s:O,s:s,s:s,s:s,s:s,s:O?,s:o,s:O?,s:O?,s:O?,s:O?}", "id",
			      json_object_get(a, "id"), "metric", name, "title", title, "verdict",
			      verdict, "message", msg, "severity", json_object_get(a, "severity"),
			      "causes", causes, "active", json_object_get(a, "active"), "acked_at",
			      json_object_get(a, "acked_at"), "acked_by",
			      json_object_get(a, "acked_by"), "ack_cause",
			      json_object_get(a, "ack_cause")));
	}
	return json_pack("{s:O?,s:O?,s:o,s:o}", "window", json_object_get(rep, "window"),
			 "current_window", json_object_get(rep, "current_window"), "metrics",
			 metrics, "alerts", alerts);
}

/* GET /api/drift: the drift report (alerts are stored as they are raised,
 * as `airlock drift` does). POST /api/drift/alerts/ID/ack {"cause"}. */
void console_api_drift(struct console_req *r)
{
	struct drift_config cfg;
	struct err err = {0};
	json_t *rep = NULL, *body, *row = NULL;
	const char *after = r->rest + strlen("drift");
	char idtext[64];
	int64_t id;

	drift_config_default(&cfg);
	if (r->policy)
		drift_config_apply(&cfg, r->policy->drift_keys, r->policy->drift_values,
				   r->policy->ndrift, &err); /* checked when the policy loaded */
	err_clear(&err);
	if (!*after) {
		if (!r->get) {
			console_error(r->res, 405, "GET /api/drift");
			return;
		}
		if (drift_report(r->s, &cfg, clock_now(), 1, &rep, &err)) {
			console_fail(r->res, &err);
			return;
		}
		console_json(r->res, 200, drift_for_page(rep));
		json_decref(rep);
		return;
	}
	if (sscanf(after, "/alerts/%63[^/]/ack", idtext) != 1 ||
	    strcmp(after + strlen(after) - 4, "/ack")) {
		console_error(r->res, 404, "no API at /api/%.100s", r->rest);
		return;
	}
	if (!console_method(r, "POST") || !console_need(r, REVIEWER_REVIEWER))
		return;
	if (drift_parse_alert_id(idtext, &id, &err)) {
		console_fail(r->res, &err);
		return;
	}
	body = console_body(r);
	if (!body)
		return;
	if (!json_is_string(json_object_get(body, "cause")) ||
	    !*json_string_value(json_object_get(body, "cause"))) {
		json_decref(body);
		{
			console_error(r->res, 400, "say what caused it: {\"cause\": \"...\"}");
			return;
		}
	}
	if (drift_ack(r->s, id, r->who.principal, "console",
		      json_string_value(json_object_get(body, "cause")), &row, &err)) {
		json_decref(body);
		{
			console_fail(r->res, &err);
			return;
		}
	}
	json_decref(body);
	console_json(r->res, 200, row);
}

/* GET /api/reliability: seeded-check records (reliability.h) — a reviewer
 * sees their own, an admin everyone's — each with the exact bounds of the
 * catch rate at its workflow's confidence and the weight its verdicts get
 * under the workflow's min_catch_rate. */
void console_api_reliability(struct console_req *r)
{
	struct reliability rel;
	struct err err = {0};
	json_t *rows = NULL, *v;
	size_t i;

	if (!console_method(r, "GET"))
		return;
	if (reliability_list(r->s, r->who.role == REVIEWER_ADMIN ? NULL : r->who.principal, 0, 0.95,
			     &rows, &err)) {
		console_fail(r->res, &err);
		return;
	}
	json_array_foreach(rows, i, v)
	{
		const struct policy_workflow *wf =
		    r->policy ? policy_workflow(r->policy,
						json_string_value(json_object_get(v, "workflow")))
			      : NULL;
		double conf = wf && wf->sampling.confidence > 0 ? wf->sampling.confidence : 0.95;
		double min_catch = wf ? wf->sampling.min_catch_rate : 0;

		rel.seen = json_integer_value(json_object_get(v, "seen"));
		rel.caught = json_integer_value(json_object_get(v, "caught"));
		rel.missed = json_integer_value(json_object_get(v, "missed"));
		json_object_set_new(v, "confidence", json_real(conf));
		json_object_set_new(v, "catch_lower",
				    json_real(reliability_catch_lower(rel.caught, rel.seen, conf)));
		json_object_set_new(v, "catch_upper",
				    json_real(reliability_catch_upper(rel.caught, rel.seen, conf)));
		json_object_set_new(v, "min_catch_rate", json_real(min_catch));
		json_object_set_new(v, "weight", json_real(reliability_weight(&rel, min_catch, conf)));
	}
	console_json(r->res, 200,
		     json_pack("{s:s,s:o}", "scope", r->who.role == REVIEWER_ADMIN ? "everyone" : "own",
			       "records", rows));
}
