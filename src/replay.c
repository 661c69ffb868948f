/* replay.c — logged proposals decided again under a candidate policy. */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "gate.h"
#include "sampling.h"
#include "upstream.h"

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
	if (!day)
		return 0;
	return json_object_set_new(day, "batches",
				   json_integer(json_integer_value(json_object_get(day, "batches")) +
						batches)) ||
	       json_object_set_new(day, "items",
				   json_integer(json_integer_value(json_object_get(day, "items")) +
						items));
}

/* The workflow of the candidate that judges the call, as the gate's
 * resolve_workflow would: the one named (routed tools name theirs), else
 * the one listing the tool; it must list the tool with the tool's effect.
 * An upstream's tool (NAME__TOOL, *up set to it) takes its effect from the
 * candidate's upstreams: section, as the MCP layer registers it; one the
 * candidate does not map as a write is held before the gate at run time
 * (mcp_upstream.c), so no workflow takes it. */
static const struct policy_workflow *candidate_workflow(const struct policy *cand,
							const char *name, const char *tool,
							const struct policy_upstream_tool **up)
{
	const struct policy_workflow *wf = policy_workflow(cand, name);
	char uname[64];
	const char *ut = upstream_split(tool, uname, sizeof uname);
	enum policy_effect e;

	*up = ut ? policy_upstream_tool(policy_upstream(cand, uname), ut) : NULL;
	if (*up && (*up)->effect != EFFECT_READ && (*up)->map.action == UPSTREAM_NONE)
		return NULL;
	if (!wf && !policy_tool_routed(tool))
		wf = policy_workflow_for_tool(cand, tool);
	if (*up)
		e = (*up)->effect;
	else if (policy_tool_effect(tool, &e))
		return NULL;
	if (!wf || !policy_workflow_has_tool(wf, tool) || wf->effect != e)
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

/* The batches still waiting at the end of the window on one side. */
static json_t *side_waiting(const struct side *sd)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "batches", (json_int_t)(sd->staged + sd->blocked),
			 "staged", (json_int_t)sd->staged, "blocked", (json_int_t)sd->blocked,
			 "items_to_judge", (json_int_t)sd->items);
}

static json_t *side_decisions(const struct side *sd)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "staged", (json_int_t)sd->staged, "blocked",
			 (json_int_t)sd->blocked, "allowed", (json_int_t)sd->allowed, "refused",
			 (json_int_t)sd->refused);
}

/* One proposal decided again; its comparison with what was logged. */
struct row {
	int64_t seq, radius, cumulative, pending, batch;
	const char *at, *principal, *workflow, *tool, *action, *fields, *decision;
};

/* The waiting batches re-simulated. The gate's running total and pending
 * count at a proposal are the recorded ones corrected by what differs in
 * the candidate's world: a batch queued under one policy and not the other
 * (or queued with another radius) adds its difference from its proposal on
 * until it stops waiting. A batch of the history stops waiting when it did
 * (a person approved, rejected or it expired: the same people at the same
 * times); a batch only the candidate queues never existed, so nobody acted
 * on it: it waits to the end of the window. Under the policy that decided
 * the history every difference is 0, so the replay stays exact. */
struct leave {
	int64_t seq;		 /* the log entry where it stopped waiting */
	char *key;		 /* principal \x1f workflow */
	int64_t radius, pending; /* what it adds until then (new − old) */
};

struct sim {
	json_t *total;	   /* principal \x1f workflow → difference of the running total */
	json_t *pending;   /* principal → difference of waiting batches */
	int64_t *ids;	   /* the history's batches that stopped waiting, by id */
	int64_t *left;	   /* the log entry where each did */
	size_t nids;
	struct leave *heap; /* differences that end, soonest first */
	size_t nheap, capheap;
	struct side wait_old, wait_new; /* the batches waiting at the end */
	json_t *wait_changes;
};

/* The seq where batch id stopped waiting; 0 while it still waits. */
static int64_t sim_left(const struct sim *sm, int64_t id)
{
	size_t lo = 0, hi = sm->nids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sm->ids[mid] == id)
			return sm->left[mid];
		if (sm->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Adds d to the integer at key of o. */
static int bump(json_t *o, const char *key, int64_t d)
{
	if (!d)
		return 0;
	return json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) +
							 d));
}

static void heap_swap(struct leave *a, struct leave *b)
{
	struct leave t = *a;

	*a = *b;
	*b = t;
}

static int heap_push(struct sim *sm, const struct leave *l)
{
	size_t i;

	if (sm->nheap == sm->capheap) {
		size_t cap = sm->capheap ? sm->capheap * 2 : 256;
		struct leave *p = realloc(sm->heap, cap * sizeof *p);

		if (!p)
			return -1;
		sm->heap = p;
		sm->capheap = cap;
	}
	i = sm->nheap++;
	sm->heap[i] = *l;
	while (i && sm->heap[(i - 1) / 2].seq > sm->heap[i].seq) {
		heap_swap(&sm->heap[(i - 1) / 2], &sm->heap[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

static void heap_pop(struct sim *sm)
{
	size_t i = 0, c;

	free(sm->heap[0].key);
	sm->heap[0] = sm->heap[--sm->nheap];
	for (;;) {
		c = 2 * i + 1;
		if (c >= sm->nheap)
			break;
		if (c + 1 < sm->nheap && sm->heap[c + 1].seq < sm->heap[c].seq)
			c++;
		if (sm->heap[i].seq <= sm->heap[c].seq)
			break;
		heap_swap(&sm->heap[i], &sm->heap[c]);
		i = c;
	}
}

/* The differences of batches that stopped waiting before log entry seq end. */
static int sim_advance(struct sim *sm, int64_t seq)
{
	while (sm->nheap && sm->heap[0].seq < seq) {
		const struct leave *l = &sm->heap[0];
		const char *sep = strchr(l->key, '\x1f');
		char principal[512];

		(void)snprintf(principal, sizeof principal, "%.*s",
			       (int)(sep ? (size_t)(sep - l->key) : strlen(l->key)), l->key);
		if (bump(sm->total, l->key, -l->radius) || bump(sm->pending, principal, -l->pending))
			return -1;
		heap_pop(sm);
	}
	return 0;
}

static int cmp_pair(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The history's batches that stopped waiting and the log entry where each
 * did (the first approve, override, reject, expiry or verdict that
 * approved it), by id. */
static int sim_load(struct store *s, struct sim *sm, struct err *err)
{
	struct store_stmt *st;
	int64_t *pairs = NULL, *p;
	size_t cap = 0, n = 0, i;
	int rc;

	rc = store_prepare(s,
			   "SELECT batch_id, min(seq) FROM action_log WHERE batch_id IS NOT NULL AND"
			   " decision IN ('approved','override','rejected','expired') GROUP BY batch_id",
			   &st, err);
	if (rc)
		return rc;
	while ((rc = store_step(st, err)) == STORE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			p = realloc(pairs, cap * 2 * sizeof *p);
			if (!p) {
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
				break;
			}
			pairs = p;
		}
		pairs[2 * n] = strtoll(store_col_text(st, 0) ? store_col_text(st, 0) : "0", NULL, 10);
		pairs[2 * n + 1] = store_col_int(st, 1);
		n++;
	}
	store_done(st);
	if (rc != STORE_DONE) {
		free(pairs);
		return rc;
	}
	if (n)
		qsort(pairs, n, 2 * sizeof *pairs, cmp_pair);
	sm->ids = malloc((n ? n : 1) * sizeof *sm->ids);
	sm->left = malloc((n ? n : 1) * sizeof *sm->left);
	if (!sm->ids || !sm->left) {
		free(pairs);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		sm->ids[i] = pairs[2 * i];
		sm->left[i] = pairs[2 * i + 1];
	}
	sm->nids = n;
	free(pairs);
	return 0;
}

static void sim_free(struct sim *sm)
{
	size_t i;

	json_decref(sm->total);
	json_decref(sm->pending);
	json_decref(sm->wait_changes);
	free(sm->ids);
	free(sm->left);
	for (i = 0; i < sm->nheap; i++)
		free(sm->heap[i].key);
	free(sm->heap);
	free(sm->wait_old.running);
	free(sm->wait_new.running);
}

static int queued(const char *decision)
{
	return !strcmp(decision, "staged") || !strcmp(decision, "blocked");
}

/* After row r is decided (`name` under the candidate, at radius rnew):
 * what it adds to the waiting batches of both worlds, until when, and
 * whether it still waits at the end of the window. */
static int sim_row(struct sim *sm, const struct row *r, const struct policy_workflow *owf,
		   const struct policy_workflow *nwf, const char *name, int64_t rnew,
		   int64_t cum_new)
{
	/* a queued entry names its batch; one that does not (written by hand,
	 * or by a bench) is taken to wait to the end in both worlds */
	int oq = queued(r->decision), nq = queued(name);
	int64_t left = oq && r->batch > 0 ? sim_left(sm, r->batch) : 0;
	struct leave l = {0};
	char key[1024], ck[64];
	int64_t dr = (nq ? rnew : 0) - (oq ? r->radius : 0), dp = nq - oq;
	int old_waits = oq && !left, new_waits = nq && !left;

	/* the common case, both worlds alike, costs no lookup */
	if (dr || dp) {
		(void)snprintf(key, sizeof key, "%s\x1f%s", r->principal, r->workflow);
		if (bump(sm->total, key, dr) || bump(sm->pending, r->principal, dp))
			return -1;
	}
	/* it stops waiting when the history's batch did; one only the
	 * candidate queues waits on */
	if ((dr || dp) && left) {
		l.seq = left;
		l.key = strdup(key);
		l.radius = dr;
		l.pending = dp;
		if (!l.key || heap_push(sm, &l)) {
			free(l.key);
			return -1;
		}
	}
	if (old_waits && side_count(&sm->wait_old, NULL, owf ? owf : nwf, r->decision, r->radius,
				    r->cumulative))
		return -1;
	if (new_waits && side_count(&sm->wait_new, NULL, nwf, name, rnew, cum_new))
		return -1;
	if ((old_waits || new_waits) && strcmp(name, r->decision)) {
		(void)snprintf(ck, sizeof ck, "%.20s->%.20s", old_waits ? r->decision : "none",
			       new_waits ? name : "none");
		if (bump(sm->wait_changes, ck, 1))
			return -1;
	}
	return 0;
}

static int replay_row(const struct policy *cur, const struct policy *cand, const struct row *r,
		      struct side *old, struct side *new, struct sim *sm, json_t *days,
		      json_t *changes, json_t *examples, struct err *err)
{
	const struct policy_upstream_tool *up;
	const struct policy_workflow *nwf = candidate_workflow(cand, r->workflow, r->tool, &up);
	const struct policy_workflow *owf = cur ? policy_workflow(cur, r->workflow) : nwf;
	/* an upstream create, delete or send: its items name their effect, not
	 * fields, and are never held to the allow-list (gate.c) */
	int irreversible = up && up->map.action != UPSTREAM_UPDATE;
	struct gate_state st = {0};
	struct gate_decision gd;
	const char *name, *why = NULL, *upwhy = NULL;
	char key[64], dayk[11], tk[1024];
	json_t *day, *od, *nd;

	if (sim_advance(sm, r->seq))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (json_object_size(sm->total))
		(void)snprintf(tk, sizeof tk, "%s\x1f%s", r->principal, r->workflow);
	st.radius = r->radius;
	/* the batches waiting before it, as the candidate would have left them */
	st.pending = r->pending + (json_object_size(sm->pending)
					   ? json_integer_value(json_object_get(sm->pending, r->principal))
					   : 0);
	if (st.pending < 0)
		st.pending = 0;
	if (!nwf) {
		name = "refused";
		why = "the candidate has no workflow that takes this call";
	} else {
		if (!strcmp(r->action, "update") && !irreversible)
			st.radius = allowed_records(nwf, r->fields, r->radius);
		st.cumulative = r->cumulative - r->radius + st.radius +
				(json_object_size(sm->total)
				     ? json_integer_value(json_object_get(sm->total, tk))
				     : 0);
		if (st.cumulative < st.radius)
			st.cumulative = st.radius;
		gate_decide(cand, nwf, &st, &gd);
		/* an upstream's write as gate_upstream_call decides it */
		if (up)
			upwhy = gate_upstream_decide(&gd, irreversible);
		name = gate_decision_name(&gd);
		why = gd.refused ? "every item refused by the candidate's fields"
		      : gd.capped ? "past max_pending_batches"
		      : gd.d.nreasons ? gd.d.reasons[0]
				      : upwhy;
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
	    side_count(new, nd, nwf, name, st.radius, st.cumulative) ||
	    sim_row(sm, r, owf, nwf, name, st.radius, st.cumulative))
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
	struct sim sm = {0};
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
	sm.total = json_object();
	sm.pending = json_object();
	sm.wait_changes = json_object();
	if (!days || !changes || !examples || !sm.total || !sm.pending || !sm.wait_changes) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = sim_load(s, &sm, err);
	if (rc)
		goto out;
	rc = store_prepare(s,
			   "SELECT g.seq,l.at,l.principal,g.workflow,g.tool,g.action,g.radius,"
			   "g.cumulative,g.pending,g.fields,g.decision,l.batch_id FROM gate_snapshot g"
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
		r.batch = store_col_is_null(st, 11) ? 0 : strtoll(store_col_text(st, 11), NULL, 10);
		if (!r.at || !r.principal || !r.workflow || !r.tool || !r.action || !r.decision) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
		rc = replay_row(cur, cand, &r, &old, &new, &sm, days, changes, examples, err);
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
			    "s:{s:I,s:o,s:o},s:O,s:{s:o,s:o,s:O}}",
			    "since", since, "proposals", (json_int_t)n, "unchanged",
			    (json_int_t)(n - changed), "changed", (json_int_t)changed, "changes",
			    changes, "examples", examples, "decisions", "old", side_decisions(&old),
			    "new", side_decisions(&new), "radius", "old", side_radius(&old), "new",
			    side_radius(&new), "load", "days", (json_int_t)ndays, "old",
			    side_json(&old, ndays ? ndays : 1), "new",
			    side_json(&new, ndays ? ndays : 1), "daily", daily, "waiting", "old",
			    side_waiting(&sm.wait_old), "new", side_waiting(&sm.wait_new),
			    "changes", sm.wait_changes);
	if (!*report)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
out:
	store_done(st);
	sim_free(&sm);
	free(old.running);
	free(new.running);
	json_decref(days);
	json_decref(changes);
	json_decref(examples);
	json_decref(daily);
	return rc;
}

int replay_log(struct store *s, const char *principal, const char *surface, const char *name,
	       const char *digest, const char *since, json_t *report, int64_t *seq,
	       struct err *err)
{
	struct audit_entry e = {0};
	char summary[200];
	json_t *args, *none = json_array();
	int rc;

	(void)snprintf(summary, sizeof summary,
		       "policy replay: %lld proposals, %lld decided differently",
		       (long long)json_integer_value(json_object_get(report, "proposals")),
		       (long long)json_integer_value(json_object_get(report, "changed")));
	args = json_pack("{s:s,s:s,s:s?,s:O?,s:O}", "policy", name, "digest", digest, "since", since,
			 "changes", json_object_get(report, "changes"), "report", report);
	e.principal = principal;
	e.surface = surface;
	e.tool = "policy replay";
	e.args = args;
	e.summary = summary;
	e.record_ids = none;
	rc = args && none ? audit_append(s, &e, seq, err) : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	json_decref(args);
	json_decref(none);
	return rc;
}
