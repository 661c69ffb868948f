/* drift.c — the metrics, and drift_report(): passes over the sources,
 * judgement, alert episodes, JSON. */
#include "drift.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift_int.h"

#define MAX_WINDOWS 400

const struct drift_metric_def drift_metrics[DM_COUNT] = {
    [DM_PROPOSAL_VOLUME] = {"proposal_volume", DRIFT_COUNT, "batches",
			    "proposals (batches) staged or blocked per window", 0},
    [DM_TIER1_SHARE] = {"tier1_share", DRIFT_RATE, "proposal items",
			"share of proposed re-tiers that set tier 1", 0},
    [DM_TIER_MIX] = {"tier_mix", DRIFT_DIST, "proposal items",
		     "tiers that proposals set (distribution)", 0},
    [DM_PROPOSAL_SIGNALS] = {"proposal_signal_kinds", DRIFT_DIST, "proposal items",
			     "kinds of the signals proposals cite as evidence (distribution)", 0},
    [DM_OVERREACH_RATE] = {"overreach_rate", DRIFT_RATE, "batches",
			   "share of proposed items refused as overreach (outside scope, "
			   "field not allowed, unknown field)",
			   0},
    [DM_AUDIT_FAILURE_RATE] = {"audit_failure_rate", DRIFT_RATE, "proposal items",
			       "share of sample-audited items judged bad", 0},
    [DM_DUPLICATE_RATE] = {"duplicate_draft_rate", DRIFT_RATE, "drafts",
			   "share of drafts with a near-duplicate written within the window "
			   "length before (MinHash Jaccard >= duplicate_jaccard)",
			   0},
    [DM_DISTINCT_NGRAMS] = {"distinct_ngram_ratio", DRIFT_LEVEL, "drafts",
			    "distinct word n-grams over all n-grams, per block of drafts", 0.02},
    [DM_BRIEF_SIGNALS] = {"brief_signal_kinds", DRIFT_DIST, "briefs",
			  "kinds of the signals briefs cite (distribution)", 0},
    [DM_AUDIENCE_REFUSAL_RATE] = {"audience_refusal_rate", DRIFT_RATE, "action log",
				  "share of draft and send requests refused by the audience guard",
				  0},
    [DM_AGENT_CALLS] = {"agent_call_volume", DRIFT_COUNT, "action log",
			"tool calls by agents per window", 0},
    [DM_TOOL_MIX] = {"tool_mix", DRIFT_DIST, "action log", "which tools agents call (distribution)",
		     0},
};

/* Reads every source over one pass of windows. */
static int run_pass(struct drift_ctx *c, int64_t t0, int nwin, int offset, int events_on,
		    json_t *sources, struct err *err)
{
	int i, exists, rc;

	c->pass_t0 = t0;
	c->pass_nwin = nwin;
	c->pass_offset = offset;
	c->events_on = events_on;
	clock_format((time_t)t0, c->from, sizeof c->from);
	clock_format((time_t)(t0 + (int64_t)nwin * c->cfg->window_seconds), c->to, sizeof c->to);
	clock_format((time_t)(t0 - c->cfg->window_seconds), c->lead_from, sizeof c->lead_from);
	for (i = 0; i < drift_source_count; i++) {
		const struct drift_source *src = &drift_sources[i];

		rc = drift_table_exists(c->store, src->table, &exists, err);
		if (rc)
			return rc;
		json_object_set_new(sources, src->name, json_boolean(exists));
		if (!exists)
			continue;
		rc = src->collect(c, err);
		if (rc)
			return err_prefix(err, "drift: %s", src->name);
		if (c->oom)
			return err_set(err, AIRLOCK_ENOMEM, "drift: out of memory");
	}
	return 0;
}

static int cmp_event(const void *x, const void *y)
{
	const struct drift_event *a = x, *b = y;

	return a->t < b->t ? -1 : a->t > b->t;
}

static int cmp_series(const void *x, const void *y)
{
	const struct drift_series *a = *(const struct drift_series *const *)x;
	const struct drift_series *b = *(const struct drift_series *const *)y;

	if (a->metric != b->metric)
		return a->metric < b->metric ? -1 : 1;
	return strcmp(a->label, b->label);
}

/* JSON numbers must be finite. */
static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *shares_json(const struct drift_series *s, const double *counts)
{
	json_t *o = json_object();
	double total = 0;
	int i;

	for (i = 0; i < s->ncat; i++)
		total += counts[i];
	for (i = 0; i < s->ncat; i++)
		if (counts[i] > 0)
			json_object_set_new(o, s->cat[i], json_real(counts[i] / total));
	return o;
}

static const char *kind_name(enum drift_kind k)
{
	static const char *const n[] = {"distribution", "rate", "level", "count"};

	return n[k];
}

static const char *status_of(const struct drift_judgement *j)
{
	if (j->alert)
		return "alert";
	if (j->shift)
		return "shift";
	if (j->judged)
		return "ok";
	if (j->partial)
		return "partial";
	return j->has_data ? "insufficient" : "no data";
}

/* One metric's entry: its current window, reference and recent history. */
static json_t *metric_json(const struct drift_ctx *c, const struct drift_series *s,
			   const struct drift_judgement *jv, int first, int ref_fixed)
{
	const struct drift_judgement *j = &jv[s->nwin - 1];
	json_t *o, *hist = json_array();
	char start[CLOCK_TEXT_LEN];
	int k;

	o = json_pack("{s:s,s:s?,s:s,s:s,s:s}", "metric", drift_metrics[s->metric].name, "workflow",
		      s->label[0] ? s->label : NULL, "kind", kind_name(s->kind), "status",
		      status_of(j), "help", drift_metrics[s->metric].help);
	json_object_set_new(o, "value", j->has_data ? num(j->value) : json_null());
	json_object_set_new(o, "reference", num(j->reference));
	json_object_set_new(o, "change", j->judged ? num(j->change) : json_null());
	json_object_set_new(o, "count", json_real(j->support));
	json_object_set_new(o, "reference_count", json_real(j->reference_support));
	json_object_set_new(o, "test", j->test ? json_string(j->test) : json_null());
	json_object_set_new(o, "statistic", j->judged ? num(j->statistic) : json_null());
	json_object_set_new(o, "threshold", num(j->threshold));
	json_object_set_new(o, "p_value", j->judged ? num(j->p_value) : json_null());
	if (s->kind == DRIFT_DIST) {
		double cur[DRIFT_MAX_CATS + 1], ref[DRIFT_MAX_CATS + 1];
		int lo = ref_fixed >= 0 ? 0 : s->nwin - 1 - c->cfg->reference_windows;
		int hi = ref_fixed >= 0 ? ref_fixed : s->nwin - 1;

		drift_series_counts(s, s->nwin - 1, 0, 0, cur);
		drift_series_counts(s, -1, lo < 0 ? 0 : lo, hi, ref);
		json_object_set_new(o, "js", num(j->js));
		json_object_set_new(o, "psi", num(j->psi));
		json_object_set_new(o, "psi_band",
				    json_string(j->psi >= c->cfg->psi_significant ? "significant"
						: j->psi >= c->cfg->psi_moderate  ? "moderate"
										  : "stable"));
		json_object_set_new(o, "shares", shares_json(s, cur));
		json_object_set_new(o, "reference_shares", shares_json(s, ref));
	}
	if (j->has_ewma)
		json_object_set_new(o, "ewma",
				    json_pack("{s:o,s:o,s:o}", "value", num(j->ewma), "low",
					      num(j->ewma_low), "high", num(j->ewma_high)));
	for (k = first; k < s->nwin; k++) {
		const struct drift_judgement *h = &jv[k];
		json_t *e;

		clock_format(
		    (time_t)(c->pass_t0 + (int64_t)(k - c->pass_offset) * c->cfg->window_seconds),
		    start, sizeof start);
		e = json_pack(
		    "{s:s,s:o,s:f,s:o,s:b,s:b}", "start", start, "value",
		    h->has_data ? num(h->value) : json_null(), "count", h->support, "statistic",
		    h->has_data && h->reference_support > 0 ? num(h->statistic) : json_null(),
		    "shift", h->shift, "alert", h->alert);
		json_array_append_new(hist, e);
	}
	json_object_set_new(o, "history", hist);
	return o;
}

/* The events in [lo, hi) as likely causes, oldest first, without repeats. */
static json_t *causes_json(const struct drift_ctx *c, int64_t lo, int64_t hi)
{
	json_t *a = json_array();
	char at[CLOCK_TEXT_LEN];
	int i, j, dup;

	for (i = 0; i < c->nevents && (int)json_array_size(a) < c->cfg->max_causes; i++) {
		const struct drift_event *e = &c->events[i];

		if (e->t < lo || e->t >= hi)
			continue;
		for (dup = 0, j = 0; j < i && !dup; j++)
			dup = c->events[j].t >= lo && !strcmp(c->events[j].detail, e->detail);
		if (dup)
			continue;
		clock_format((time_t)e->t, at, sizeof at);
		json_array_append_new(
		    a, json_pack("{s:s,s:s,s:s}", "kind", e->kind, "at", at, "detail", e->detail));
	}
	return a;
}

/* The alert episodes of one series as JSON objects appended to alerts. */
static void series_alerts(const struct drift_ctx *c, const struct drift_series *s,
			  const struct drift_judgement *jv, int first, json_t *alerts)
{
	int64_t w = c->cfg->window_seconds;
	char a[CLOCK_TEXT_LEN], b[CLOCK_TEXT_LEN];
	int k, last_judged = -1, end, next;

	for (k = s->nwin - 1; k >= first && last_judged < 0; k--)
		if (jv[k].judged)
			last_judged = k;
	for (k = first; k < s->nwin; k = next) {
		const struct drift_judgement *j;
		int64_t t_start, t_end;
		int m;

		next = k + 1;
		if (!jv[k].alert)
			continue;
		/* the episode runs on through windows too thin to judge */
		for (end = k, m = k + 1;
		     m < s->nwin &&
		     (!jv[m].judged || (jv[m].alert && jv[m].episode == jv[k].episode));
		     m++)
			if (jv[m].alert)
				end = m;
		next = end + 1;
		j = &jv[end];
		t_start = c->pass_t0 + (int64_t)(jv[k].episode - c->pass_offset) * w;
		t_end = c->pass_t0 + (int64_t)(end - c->pass_offset) * w;
		clock_format((time_t)t_start, a, sizeof a);
		clock_format((time_t)t_end, b, sizeof b);
		json_array_append_new(
		    alerts,
		    json_pack("{s:s,s:s,s:s?,s:s,s:s,s:b,s:o,s:o,s:o,s:s,s:o,s:o,s:s,s:o}",
			      "metric", drift_metrics[s->metric].name, "kind", kind_name(s->kind),
			      "workflow", s->label[0] ? s->label : NULL, "first_window", a,
			      "last_window", b, "active", end == last_judged && end >= s->nwin - 2,
			      "value", num(j->value), "reference", num(j->reference), "change",
			      num(j->change), "test", j->test ? j->test : "", "statistic",
			      num(j->statistic), "threshold", num(j->threshold), "severity",
			      j->severity ? j->severity : "moderate", "causes",
			      causes_json(c, t_start - w, t_end + w)));
	}
}

/* Judges every series and assembles the report. */
static int assemble(struct drift_ctx *c, int first, int ref_fixed, double elapsed, time_t now,
		    int persist, json_t *o, struct err *err)
{
	struct drift_judgement *jv = NULL;
	json_t *metrics = json_array(), *alerts = json_array(), *events = json_array();
	char at[CLOCK_TEXT_LEN];
	int i, rc = 0;

	json_object_set_new(o, "metrics", metrics);
	json_object_set_new(o, "alerts", alerts);
	json_object_set_new(o, "events", events);
	jv = calloc((size_t)c->nwin, sizeof *jv);
	if (!jv)
		return err_set(err, AIRLOCK_ENOMEM, "drift: out of memory");
	if (c->nseries > 1)
		qsort(c->series, (size_t)c->nseries, sizeof c->series[0], cmp_series);
	for (i = 0; i < c->nseries; i++) {
		const struct drift_series *s = c->series[i];
		int k, any = 0;

		for (k = first; k < s->nwin; k++)
			any |= s->support[k] > 0;
		if (!any)
			continue; /* nothing in the shown windows: not a metric of this book */
		memset(jv, 0, (size_t)c->nwin * sizeof *jv);
		drift_judge(c->cfg, s, first, ref_fixed, elapsed, jv);
		json_array_append_new(metrics, metric_json(c, s, jv, first, ref_fixed));
		series_alerts(c, s, jv, first, alerts);
	}
	for (i = 0; i < c->nevents; i++) {
		clock_format((time_t)c->events[i].t, at, sizeof at);
		json_array_append_new(events, json_pack("{s:s,s:s,s:s}", "kind", c->events[i].kind,
							"at", at, "detail", c->events[i].detail));
	}
	rc = drift_alerts_sync(c->store, c->cfg, alerts, persist, now, err);
	free(jv);
	return rc;
}

/* Whole windows of the pinned baseline (0 when none is pinned or it is
 * shorter than one window), with its bounds in *from. */
static int baseline_windows(json_t *base, int64_t w, int64_t *from)
{
	int64_t f, t;

	if (!base || drift_time(json_string_value(json_object_get(base, "from")), &f) ||
	    drift_time(json_string_value(json_object_get(base, "to")), &t) || t - f < w)
		return 0;
	*from = f;
	return (int)((t - f) / w < MAX_WINDOWS ? (t - f) / w : MAX_WINDOWS);
}

/* The report's header: the window, now, the current window and the starts
 * of the shown windows. */
static json_t *report_header(const struct drift_config *cfg, time_t now, int64_t cur)
{
	int64_t w = cfg->window_seconds;
	char buf[CLOCK_TEXT_LEN], end[CLOCK_TEXT_LEN], wname[16];
	json_t *o, *windows = json_array();
	int k;

	drift_format_window(w, wname, sizeof wname);
	clock_format(now, buf, sizeof buf);
	o = json_pack("{s:s,s:I,s:s}", "window", wname, "window_seconds", (json_int_t)w, "now",
		      buf);
	clock_format((time_t)cur, buf, sizeof buf);
	clock_format((time_t)(cur + w), end, sizeof end);
	json_object_set_new(o, "current_window",
			    json_pack("{s:s,s:s,s:f}", "start", buf, "end", end, "elapsed",
				      (double)(now - cur) / (double)w));
	for (k = 0; k < cfg->windows; k++) {
		clock_format((time_t)(cur - (int64_t)(cfg->windows - 1 - k) * w), buf, sizeof buf);
		json_array_append_new(windows, json_string(buf));
	}
	json_object_set_new(o, "windows", windows);
	return o;
}

int drift_report(struct store *s, const struct drift_config *cfg, time_t now, int persist,
		 json_t **out, struct err *err)
{
	struct drift_ctx c = {0};
	json_t *o = NULL, *base = NULL, *sources = json_object();
	int64_t w = cfg->window_seconds, from = 0, cur;
	int nb, shown = cfg->windows, rc;

	*out = NULL;
	rc = drift_config_check(cfg, err);
	if (!rc)
		rc = drift_baseline_get(s, &base, err);
	if (rc)
		goto out;
	cur = (int64_t)drift_window_start(now, w);
	nb = baseline_windows(base, w, &from);
	c.store = s;
	c.cfg = cfg;
	c.signal_kinds = json_object();
	o = report_header(cfg, now, cur);
	if (nb) {
		/* the baseline's windows first, numbered 0..nb-1, then the shown ones */
		c.nwin = nb + shown;
		json_object_set_new(o, "reference",
				    json_pack("{s:s,s:O,s:O,s:O,s:i}", "kind", "baseline", "from",
					      json_object_get(base, "from"), "to",
					      json_object_get(base, "to"), "set_by",
					      json_object_get(base, "set_by"), "windows", nb));
		rc = run_pass(&c, from, nb, 0, 0, sources, err);
		if (!rc)
			rc = run_pass(&c, cur - (int64_t)(shown - 1) * w, shown, nb, 1, sources,
				      err);
	} else {
		c.nwin = cfg->reference_windows + shown;
		json_object_set_new(
		    o, "reference",
		    json_pack("{s:s,s:i}", "kind", "rolling", "windows", cfg->reference_windows));
		if (base)
			json_object_set_new(json_object_get(o, "reference"), "note",
					    json_string("the pinned baseline is shorter than one "
							"window: using the previous windows"));
		rc = run_pass(&c, cur - (int64_t)(c.nwin - 1) * w, c.nwin, 0, 1, sources, err);
	}
	if (rc)
		goto out;
	json_object_set_new(o, "sources", json_incref(sources));
	drift_events_from_sightings(&c);
	if (c.nevents > 1)
		qsort(c.events, (size_t)c.nevents, sizeof c.events[0], cmp_event);
	if (c.oom) {
		rc = err_set(err, AIRLOCK_ENOMEM, "drift: out of memory");
		goto out;
	}
	rc = assemble(&c, nb ? nb : cfg->reference_windows, nb ? nb : -1,
		      (double)(now - cur) / (double)w, now, persist, o, err);
out:
	drift_ctx_release(&c);
	json_decref(base);
	json_decref(sources);
	if (rc)
		json_decref(o);
	else
		*out = o;
	return rc;
}
