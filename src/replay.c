/* replay.c — logged proposals decided again under a candidate policy. */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "sampling.h"

/* One side of the comparison (the history as decided, or the candidate). */
struct side {
	int64_t staged, blocked, allowed, refused;
	int64_t items;	    /* sample items to judge */
	int64_t *running;   /* running totals of the proposals queued */
	size_t nrunning, cap;
};

static int side_push(struct side *sd, int64_t v)
{
	if (sd->nrunning == sd->cap) {
		size_t cap = sd->cap ? sd->cap * 2 : 1024;
		int64_t *p = realloc(sd->running, cap * sizeof *p);

		if (!p)
			return -1;
		sd->running = p;
		sd->cap = cap;
	}
	sd->running[sd->nrunning++] = v;
	return 0;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile q of the sorted values. */
static int64_t rank(const int64_t *v, size_t n, double q)
{
	size_t k;

	if (!n)
		return 0;
	k = (size_t)(q * (double)n + 0.999999999);
	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

static json_t *side_radius(struct side *sd)
{
	if (sd->nrunning)
		qsort(sd->running, sd->nrunning, sizeof *sd->running, cmp64);
	return json_pack("{s:I,s:I,s:I,s:I,s:I}", "n", (json_int_t)sd->nrunning, "p50",
			 (json_int_t)rank(sd->running, sd->nrunning, 0.50), "p90",
			 (json_int_t)rank(sd->running, sd->nrunning, 0.90), "p99",
			 (json_int_t)rank(sd->running, sd->nrunning, 0.99), "max",
			 (json_int_t)(sd->nrunning ? sd->running[sd->nrunning - 1] : 0));
}

/* The sample a staged batch of N records costs a reviewer under wf's
 * sampling, at the normal level. */
static int64_t plan_items(const struct policy_workflow *wf, int64_t N)
{
	struct sampling_policy sp;
	int64_t n;

	sampling_policy_default(&sp);
	if (wf && wf->sampling.confidence > 0)
		sp.confidence = wf->sampling.confidence;
	if (wf && wf->sampling.defect_rate > 0)
		sp.target = wf->sampling.defect_rate;
	n = sampling_plan_size(N, sp.target, sp.confidence);
	return n < 1 ? (N < 1 ? 0 : 1) : n;
}

/* Counts one decision on a side and on its day; the load of a staged or
 * blocked batch. */
static int side_count(struct side *sd, json_t *day, const struct policy_workflow *wf,
		      const char *name, int64_t radius, int64_t running)
{
	int64_t items = 0, batches = 0;

	if (!strcmp(name, "staged")) {
		sd->staged++;
		items = plan_items(wf, radius);
	} else if (!strcmp(name, "blocked")) {
		sd->blocked++;
		batches = 1;
	} else if (!strcmp(name, "allowed"))
		sd->allowed++;
	else
		sd->refused++;
	sd->items += items;
	if ((!strcmp(name, "staged") || !strcmp(name, "blocked")) && side_push(sd, running))
		return -1;
	return json_object_set_new(day, "batches",
				   json_integer(json_integer_value(json_object_get(day, "batches")) +
						batches)) ||
	       json_object_set_new(day, "items",
				   json_integer(json_integer_value(json_object_get(day, "items")) +
						items));
}

/* The workflow of the candidate that judges the call, as the gate's
 * resolve_workflow would: the one named (routed tools name theirs), else
 * the one listing the tool; it must list the tool with the tool's effect. */
static const struct policy_workflow *candidate_workflow(const struct policy *cand,
							const char *name, const char *tool)
{
	const struct policy_workflow *wf = policy_workflow(cand, name);
	enum policy_effect e;

	if (!wf && !policy_tool_routed(tool))
		wf = policy_workflow_for_tool(cand, tool);
	if (!wf || !policy_workflow_has_tool(wf, tool) || policy_tool_effect(tool, &e) ||
	    wf->effect != e)
		return NULL;
	return wf;
}

/* The records of an update still accepted under wf's allow-list: those
 * with at least one field it may write (the gate refuses items one by
 * one). fields is the recorded {"FIELD\nFIELD...": records} (gate.c). */
static int64_t allowed_records(const struct policy_workflow *wf, const char *fields,
			       int64_t recorded)
{
	json_t *sets = fields ? json_loads(fields, 0, NULL) : NULL, *v;
	char name[4096];
	const char *k, *p, *nl;
	int64_t n = 0;

	if (!json_is_object(sets)) {
		json_decref(sets);
		return recorded;
	}
	json_object_foreach(sets, k, v)
	{
		for (p = k; p; p = nl ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			(void)snprintf(name, sizeof name, "%.*s", (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
			if (policy_field_allowed(wf, name)) {
				n += json_integer_value(v);
				break;
			}
		}
	}
	json_decref(sets);
	return n;
}

static json_t *side_json(const struct side *sd, int64_t days)
{
	return json_pack("{s:I,s:I,s:{s:f,s:f}}", "batches_to_approve", (json_int_t)sd->blocked,
			 "items_to_judge", (json_int_t)sd->items, "per_day", "batches_to_approve",
			 (double)sd->blocked / (double)days, "items_to_judge",
			 (double)sd->items / (double)days);
}

static json_t *side_decisions(const struct side *sd)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "staged", (json_int_t)sd->staged, "blocked",
			 (json_int_t)sd->blocked, "allowed", (json_int_t)sd->allowed, "refused",
			 (json_int_t)sd->refused);
}

/* One proposal decided again; its comparison with what was logged. */
struct row {
	int64_t seq, radius, cumulative, pending;
	const char *at, *principal, *workflow, *tool, *action, *fields, *decision;
};

static int replay_row(const struct policy *cur, const struct policy *cand, const struct row *r,
		      struct side *old, struct side *new, json_t *days, json_t *changes,
		      json_t *examples, struct err *err)
{
	const struct policy_workflow *nwf = candidate_workflow(cand, r->workflow, r->tool);
	const struct policy_workflow *owf = cur ? policy_workflow(cur, r->workflow) : nwf;
	struct gate_state st = {0};
	struct gate_decision gd;
	const char *name, *why = NULL;
	char key[64], dayk[11];
	json_t *day, *od, *nd;

	st.radius = r->radius;
	st.pending = r->pending;
	if (!nwf) {
		name = "refused";
		why = "the candidate has no workflow that takes this call";
	} else {
		if (!strcmp(r->action, "update"))
			st.radius = allowed_records(nwf, r->fields, r->radius);
		st.cumulative = r->cumulative - r->radius + st.radius;
		if (st.cumulative < st.radius)
			st.cumulative = st.radius;
		gate_decide(cand, nwf, &st, &gd);
		name = gate_decision_name(&gd);
		why = gd.refused ? "every item refused by the candidate's fields"
		      : gd.capped ? "past max_pending_batches"
		      : gd.d.nreasons ? gd.d.reasons[0]
				      : NULL;
	}
	(void)snprintf(dayk, sizeof dayk, "%.10s", r->at);
	day = json_object_get(days, dayk);
	if (!day) {
		day = json_pack("{s:{s:I,s:I},s:{s:I,s:I}}", "old", "batches", (json_int_t)0,
				"items", (json_int_t)0, "new", "batches", (json_int_t)0, "items",
				(json_int_t)0);
		if (!day || json_object_set_new(days, dayk, day))
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	od = json_object_get(day, "old");
	nd = json_object_get(day, "new");
	if (side_count(old, od, owf ? owf : nwf, r->decision, r->radius, r->cumulative) ||
	    side_count(new, nd, nwf, name, st.radius, st.cumulative))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (!strcmp(name, r->decision))
		return 0;
	(void)snprintf(key, sizeof key, "%.20s->%.20s", r->decision, name);
	json_object_set_new(changes, key,
			    json_integer(json_integer_value(json_object_get(changes, key)) + 1));
	if (json_array_size(examples) < REPLAY_EXAMPLES_MAX)
		json_array_append_new(
			examples,
			json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s?}", "seq",
				  (json_int_t)r->seq, "at", r->at, "principal", r->principal,
				  "workflow", r->workflow, "tool", r->tool, "old", r->decision, "new",
				  name, "radius_old", (json_int_t)r->radius, "radius_new",
				  (json_int_t)st.radius, "why", why));
	return 0;
}

int replay_run(struct store *s, const struct policy *cur, const struct policy *cand,
	       const char *since, json_t **report, struct err *err)
{
	struct side old = {0}, new = {0};
	struct store_stmt *st = NULL;
	json_t *days = json_object(), *changes = json_object(), *examples = json_array();
	json_t *daily = NULL, *v;
	const char *k;
	int64_t n = 0, changed = 0, ndays;
	int rc;

	*report = NULL;
	if (!cand) {
		rc = err_set(err, AIRLOCK_EINVAL, "replay needs a candidate policy");
		goto out;
	}
	if (!days || !changes || !examples) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_prepare(s,
			   "SELECT g.seq,l.at,l.principal,g.workflow,g.tool,g.action,g.radius,"
			   "g.cumulative,g.pending,g.fields,g.decision FROM gate_snapshot g"
			   " JOIN action_log l ON l.seq=g.seq WHERE ?1 IS NULL OR l.at>=?1"
			   " ORDER BY g.seq",
			   &st, err);
	if (rc)
		goto out;
	if (since)
		store_bind_text(st, 1, since);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		struct row r;

		r.seq = store_col_int(st, 0);
		r.at = store_col_text(st, 1);
		r.principal = store_col_text(st, 2);
		r.workflow = store_col_text(st, 3);
		r.tool = store_col_text(st, 4);
		r.action = store_col_text(st, 5);
		r.radius = store_col_int(st, 6);
		r.cumulative = store_col_int(st, 7);
		r.pending = store_col_int(st, 8);
		r.fields = store_col_is_null(st, 9) ? NULL : store_col_text(st, 9);
		r.decision = store_col_text(st, 10);
		if (!r.at || !r.principal || !r.workflow || !r.tool || !r.action || !r.decision) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
		rc = replay_row(cur, cand, &r, &old, &new, days, changes, examples, err);
		if (rc)
			goto out;
		n++;
	}
	if (rc != STORE_DONE)
		goto out;
	rc = 0;
	json_object_foreach(changes, k, v)
		changed += json_integer_value(v);
	ndays = (int64_t)json_object_size(days);
	daily = json_array();
	json_object_foreach(days, k, v)
		json_array_append_new(daily, json_pack("{s:s,s:O,s:O}", "day", k, "old",
						       json_object_get(v, "old"), "new",
						       json_object_get(v, "new")));
	*report = json_pack("{s:s?,s:I,s:I,s:I,s:O,s:O,s:{s:o,s:o},s:{s:o,s:o},"
			    "s:{s:I,s:o,s:o},s:O}",
			    "since", since, "proposals", (json_int_t)n, "unchanged",
			    (json_int_t)(n - changed), "changed", (json_int_t)changed, "changes",
			    changes, "examples", examples, "decisions", "old", side_decisions(&old),
			    "new", side_decisions(&new), "radius", "old", side_radius(&old), "new",
			    side_radius(&new), "load", "days", (json_int_t)ndays, "old",
			    side_json(&old, ndays ? ndays : 1), "new",
			    side_json(&new, ndays ? ndays : 1), "daily", daily);
	if (!*report)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
out:
	store_done(st);
	free(old.running);
	free(new.running);
	json_decref(days);
	json_decref(changes);
	json_decref(examples);
	json_decref(daily);
	return rc;
}
