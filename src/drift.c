/* drift.c — configuration, windows, the per-window series the sources
 * fill, and drift_report(): passes over the sources, judgement, JSON. */
#include "drift.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift_int.h"

#define DAY 86400
#define WINDOW_ORIGIN (4 * DAY) /* Monday 1970-01-05 */
#define MAX_EVENTS 2000
#define MAX_WINDOWS 400
#define GOLDEN_RATIO64 0x9e3779b97f4a7c15ULL

/* splitmix64's finaliser. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

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

void drift_config_default(struct drift_config *c)
{
	memset(c, 0, sizeof *c);
	c->window_seconds = DAY;
	c->windows = 14;
	c->reference_windows = 7;
	c->min_count = 30;
	c->smoothing = 0.5;
	c->js_alert = 0.1;
	c->psi_moderate = 0.1;
	c->psi_significant = 0.25;
	c->z_alert = 3.0;
	c->rate_min_delta = 0.05;
	c->level_min_change = 0.2;
	c->ewma_lambda = 0.2;
	c->ewma_limit = 3.0;
	c->hysteresis_windows = 2;
	c->hysteresis_bypass = 2.0;
	c->hysteresis_release = 0.8;
	c->partial_min_elapsed = 0.25;
	c->minhash_hashes = 128;
	c->lsh_bands = 16;
	c->duplicate_jaccard = 0.8;
	c->shingle_words = 3;
	c->ngram_words = 3;
	c->ngram_block = 25;
	c->max_causes = 5;
}

enum key_type { K_INT, K_I64, K_DOUBLE, K_WINDOW };

static const struct config_key {
	const char *name;
	enum key_type type;
	size_t offset;
	double min, max;
} config_keys[] = {
    {"window", K_WINDOW, offsetof(struct drift_config, window_seconds), 3600, 28 * DAY},
    {"windows", K_INT, offsetof(struct drift_config, windows), 1, 200},
    {"reference_windows", K_INT, offsetof(struct drift_config, reference_windows), 1, 200},
    {"min_count", K_I64, offsetof(struct drift_config, min_count), 1, 1e9},
    {"smoothing", K_DOUBLE, offsetof(struct drift_config, smoothing), 0.001, 10},
    {"js_alert", K_DOUBLE, offsetof(struct drift_config, js_alert), 0.001, 1},
    {"psi_moderate", K_DOUBLE, offsetof(struct drift_config, psi_moderate), 0.001, 100},
    {"psi_significant", K_DOUBLE, offsetof(struct drift_config, psi_significant), 0.001, 100},
    {"z_alert", K_DOUBLE, offsetof(struct drift_config, z_alert), 0.5, 100},
    {"rate_min_delta", K_DOUBLE, offsetof(struct drift_config, rate_min_delta), 0, 1},
    {"level_min_change", K_DOUBLE, offsetof(struct drift_config, level_min_change), 0, 100},
    {"ewma_lambda", K_DOUBLE, offsetof(struct drift_config, ewma_lambda), 0.01, 1},
    {"ewma_limit", K_DOUBLE, offsetof(struct drift_config, ewma_limit), 0.5, 100},
    {"hysteresis_windows", K_INT, offsetof(struct drift_config, hysteresis_windows), 1, 20},
    {"hysteresis_bypass", K_DOUBLE, offsetof(struct drift_config, hysteresis_bypass), 1, 100},
    {"hysteresis_release", K_DOUBLE, offsetof(struct drift_config, hysteresis_release), 0.1, 1},
    {"partial_min_elapsed", K_DOUBLE, offsetof(struct drift_config, partial_min_elapsed), 0, 1},
    {"minhash_hashes", K_INT, offsetof(struct drift_config, minhash_hashes), 8, 256},
    {"lsh_bands", K_INT, offsetof(struct drift_config, lsh_bands), 1, 256},
    {"duplicate_jaccard", K_DOUBLE, offsetof(struct drift_config, duplicate_jaccard), 0.05, 1},
    {"shingle_words", K_INT, offsetof(struct drift_config, shingle_words), 1, 10},
    {"ngram_words", K_INT, offsetof(struct drift_config, ngram_words), 1, 10},
    {"ngram_block", K_INT, offsetof(struct drift_config, ngram_block), 1, 100000},
    {"max_causes", K_INT, offsetof(struct drift_config, max_causes), 0, 50},
};

int drift_config_set(struct drift_config *c, const char *key, const char *value, struct err *err)
{
	const struct config_key *k = NULL;
	char *base = (char *)c, *end;
	double d;
	int64_t w;
	size_t i;

	for (i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
		if (!strcmp(config_keys[i].name, key))
			k = &config_keys[i];
	if (!k)
		return err_set(err, AIRLOCK_EINVAL, "drift: unknown key '%s'", key);
	if (k->type == K_WINDOW) {
		if (drift_parse_window(value, &w, err))
			return err_prefix(err, "drift: window");
		memcpy(base + k->offset, &w, sizeof w);
		return 0;
	}
	errno = 0;
	d = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(d) || d < k->min || d > k->max ||
	    (k->type != K_DOUBLE && d != floor(d)))
		return err_set(err, AIRLOCK_EINVAL, "drift: %s: '%s' is not a %s from %g to %g",
			       key, value, k->type == K_DOUBLE ? "number" : "whole number", k->min,
			       k->max);
	if (k->type == K_INT) {
		int v = (int)d;

		memcpy(base + k->offset, &v, sizeof v);
	} else if (k->type == K_I64) {
		int64_t v = (int64_t)d;

		memcpy(base + k->offset, &v, sizeof v);
	} else {
		memcpy(base + k->offset, &d, sizeof d);
	}
	return 0;
}

int drift_config_check(const struct drift_config *c, struct err *err)
{
	const char *base = (const char *)c;
	size_t i;

	for (i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
		const struct config_key *k = &config_keys[i];
		double v;

		if (k->type == K_INT) {
			int x;

			memcpy(&x, base + k->offset, sizeof x);
			v = x;
		} else if (k->type == K_DOUBLE) {
			memcpy(&v, base + k->offset, sizeof v);
		} else {
			int64_t x;

			memcpy(&x, base + k->offset, sizeof x);
			v = (double)x;
		}
		if (!(v >= k->min && v <= k->max))
			return err_set(err, AIRLOCK_EINVAL, "drift: %s: %g is outside %g to %g",
				       k->name, v, k->min, k->max);
	}
	if (c->minhash_hashes % c->lsh_bands)
		return err_set(err, AIRLOCK_EINVAL,
			       "drift: lsh_bands (%d) must divide minhash_hashes (%d)",
			       c->lsh_bands, c->minhash_hashes);
	if (c->window_seconds < DAY ? DAY % c->window_seconds : c->window_seconds % DAY)
		return err_set(err, AIRLOCK_EINVAL,
			       "drift: window must divide a day or be whole days");
	if (c->psi_moderate > c->psi_significant)
		return err_set(err, AIRLOCK_EINVAL,
			       "drift: psi_moderate must not exceed psi_significant");
	return 0;
}

int drift_parse_window(const char *text, int64_t *seconds, struct err *err)
{
	char *end;
	long n;
	int64_t unit;

	errno = 0;
	n = strtol(text, &end, 10);
	if (errno || end == text || n < 1 || !end[0] || end[1])
		goto bad;
	switch (end[0]) {
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = DAY;
		break;
	case 'w':
		unit = 7 * DAY;
		break;
	default:
		goto bad;
	}
	if (n > 28 * DAY / unit)
		goto bad;
	*seconds = n * unit;
	if (*seconds < DAY && DAY % *seconds)
		goto bad;
	if (*seconds > DAY && *seconds % DAY)
		goto bad;
	return 0;
bad:
	return err_set(err, AIRLOCK_EINVAL,
		       "'%s' is not a window: give hours dividing a day (1h, 6h, 12h) or days "
		       "(1d, 7d; at most 28d)",
		       text);
}

void drift_format_window(int64_t seconds, char *buf, size_t len)
{
	if (seconds % DAY == 0)
		snprintf(buf, len, "%lldd", (long long)(seconds / DAY));
	else
		snprintf(buf, len, "%lldh", (long long)(seconds / 3600));
}

time_t drift_window_start(time_t t, int64_t w)
{
	int64_t d = (int64_t)t - WINDOW_ORIGIN, k = d / w;

	if (d % w < 0)
		k--;
	return (time_t)(WINDOW_ORIGIN + k * w);
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n decimal digits at p; -1 when one is not a digit. */
static int digits(const char *p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int drift_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se;
	time_t t;

	if (!s)
		return -1;
	/* the stored form, parsed without sscanf/timegm: this runs once per
	 * logged action */
	if ((y = digits(s, 4)) >= 0 && s[4] == '-' && (mo = digits(s + 5, 2)) >= 1 && s[7] == '-' &&
	    (d = digits(s + 8, 2)) >= 1 && s[10] == 'T' && (h = digits(s + 11, 2)) >= 0 &&
	    s[13] == ':' && (mi = digits(s + 14, 2)) >= 0 && s[16] == ':' &&
	    (se = digits(s + 17, 2)) >= 0 && s[19] == 'Z' && s[20] == '\0' && mo <= 12 && d <= 31 &&
	    h <= 23 && mi <= 59 && se <= 60) {
		*out = days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + se;
		return 0;
	}
	if (clock_parse(s, &t))
		return -1;
	*out = (int64_t)t;
	return 0;
}

int drift_window_of(const struct drift_ctx *c, int64_t t)
{
	int64_t d = t - c->pass_t0;

	if (d < 0)
		return -1;
	d /= c->cfg->window_seconds;
	if (d >= c->pass_nwin)
		return -1;
	return c->pass_offset + (int)d;
}

static void series_free(struct drift_series *s)
{
	int i;

	if (!s)
		return;
	free(s->support);
	free(s->a);
	free(s->b);
	for (i = 0; i < s->ncat; i++) {
		free(s->cat[i]);
		free(s->counts[i]);
	}
	free(s);
}

struct drift_series *drift_series_get(struct drift_ctx *c, enum drift_metric m, const char *label)
{
	struct drift_series *s, **grown;
	int i;

	if (!label)
		label = "";
	for (i = 0; i < c->nseries; i++)
		if (c->series[i]->metric == m && !strcmp(c->series[i]->label, label))
			return c->series[i];
	if (c->nseries == c->capseries) {
		int cap = c->capseries ? c->capseries * 2 : 16;

		grown = realloc(c->series, (size_t)cap * sizeof *grown);
		if (!grown)
			goto oom;
		c->series = grown;
		c->capseries = cap;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		goto oom;
	s->metric = m;
	s->kind = drift_metrics[m].kind;
	snprintf(s->label, sizeof s->label, "%s", label);
	s->nwin = c->nwin;
	s->support = calloc((size_t)c->nwin, sizeof(double));
	s->a = calloc((size_t)c->nwin, sizeof(double));
	s->b = calloc((size_t)c->nwin, sizeof(double));
	if (!s->support || !s->a || !s->b) {
		series_free(s);
		goto oom;
	}
	c->series[c->nseries++] = s;
	return s;
oom:
	c->oom = 1;
	return NULL;
}

uint64_t drift_hash(const char *s)
{
	size_t len = s ? strlen(s) : 0, i;
	uint64_t h = len * GOLDEN_RATIO64, w;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = mix64(h ^ w);
	}
	w = 0;
	memcpy(&w, s + i, len - i);
	return mix64(h ^ w ^ 0xff51afd7ed558ccdULL);
}

/* The index of category cat in s, added when new ("(other)" once the
 * named ones are full); -1 when memory ran out. */
static int category_index(struct drift_ctx *c, struct drift_series *s, const char *cat)
{
	uint64_t h = drift_hash(cat);
	int i;

	for (i = 0; i < s->ncat; i++)
		if (s->cat_hash[i] == h && !strcmp(s->cat[i], cat))
			return i;
	if (s->ncat >= DRIFT_MAX_CATS) {
		for (i = 0; i < s->ncat; i++)
			if (!strcmp(s->cat[i], DRIFT_OTHER))
				return i;
		cat = DRIFT_OTHER;
		h = drift_hash(cat);
	}
	s->cat[s->ncat] = strdup(cat);
	s->counts[s->ncat] = calloc((size_t)s->nwin, sizeof(double));
	if (!s->cat[s->ncat] || !s->counts[s->ncat]) {
		free(s->cat[s->ncat]);
		free(s->counts[s->ncat]);
		c->oom = 1;
		return -1;
	}
	s->cat_hash[s->ncat] = h;
	return s->ncat++;
}

int drift_add_category(struct drift_ctx *c, struct drift_series *s, int win, const char *cat,
		       double n)
{
	int i;

	if (!s || win < 0 || win >= s->nwin)
		return -1;
	i = category_index(c, s, cat && *cat ? cat : "(empty)");
	if (i < 0)
		return -1;
	s->counts[i][win] += n;
	s->support[win] += n;
	return i;
}

void drift_add_trials(struct drift_series *s, int win, double successes, double trials)
{
	if (!s || win < 0 || win >= s->nwin)
		return;
	s->a[win] += successes;
	s->b[win] += trials;
	s->support[win] += trials;
}

void drift_add_value(struct drift_series *s, int win, double value, double support)
{
	if (!s || win < 0 || win >= s->nwin)
		return;
	s->a[win] += value;
	s->b[win] += 1;
	s->support[win] += support;
}

void drift_add_count(struct drift_series *s, int win, double n)
{
	if (!s || win < 0 || win >= s->nwin)
		return;
	s->a[win] += n;
	s->support[win] += n;
}

void drift_series_counts(const struct drift_series *s, int k, int lo, int hi, double *out)
{
	int i, w;

	for (i = 0; i < s->ncat; i++) {
		out[i] = 0;
		if (k >= 0) {
			out[i] = s->counts[i][k];
			continue;
		}
		for (w = lo; w < hi; w++)
			out[i] += s->counts[i][w];
	}
}

void drift_add_event(struct drift_ctx *c, int64_t t, const char *kind, const char *fmt, ...)
{
	struct drift_event *e;
	va_list ap;

	if (!c->events_on || c->nevents >= MAX_EVENTS)
		return;
	if (c->nevents == c->capevents) {
		int cap = c->capevents ? c->capevents * 2 : 32;
		struct drift_event *grown = realloc(c->events, (size_t)cap * sizeof *grown);

		if (!grown) {
			c->oom = 1;
			return;
		}
		c->events = grown;
		c->capevents = cap;
	}
	e = &c->events[c->nevents++];
	e->t = t;
	snprintf(e->kind, sizeof e->kind, "%s", kind);
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof e->detail, fmt, ap);
	va_end(ap);
}

static int sighting_is(const struct drift_sighting *g, uint64_t key, const char *kind,
		       const char *principal, const char *version)
{
	return g->key == key && !strcmp(g->version, version) && !strcmp(g->principal, principal) &&
	       !strcmp(g->kind, kind);
}

/* Rebuilds the open-addressing index over the sightings at twice their
 * capacity. */
static int sightings_reindex(struct drift_ctx *c, int cap)
{
	int n = 16, i, *slots;

	while (n < 2 * cap)
		n *= 2;
	slots = malloc((size_t)n * sizeof *slots);
	if (!slots)
		return -1;
	for (i = 0; i < n; i++)
		slots[i] = -1;
	for (i = 0; i < c->nsightings; i++) {
		size_t k = c->sightings[i].key & (size_t)(n - 1);

		while (slots[k] >= 0)
			k = (k + 1) & (size_t)(n - 1);
		slots[k] = i;
	}
	free(c->sighting_slots);
	c->sighting_slots = slots;
	c->nslots = n;
	return 0;
}

void drift_saw_version(struct drift_ctx *c, int64_t t, const char *kind, const char *principal,
		       const char *version)
{
	struct drift_sighting *g;
	uint64_t key;
	size_t k;
	int i;

	if (!c->events_on || !version || !*version)
		return;
	if (!principal)
		principal = "";
	key = drift_hash(principal) * GOLDEN_RATIO64 ^ drift_hash(version) ^ (unsigned char)kind[0];
	for (k = c->nslots ? key & (size_t)(c->nslots - 1) : 0;
	     c->nslots && (i = c->sighting_slots[k]) >= 0; k = (k + 1) & (size_t)(c->nslots - 1))
		if (sighting_is(&c->sightings[i], key, kind, principal, version)) {
			if (t < c->sightings[i].first)
				c->sightings[i].first = t;
			return;
		}
	if (c->nsightings >= MAX_EVENTS)
		return;
	if (c->nsightings == c->capsightings) {
		int cap = c->capsightings ? c->capsightings * 2 : 16;
		struct drift_sighting *grown = realloc(c->sightings, (size_t)cap * sizeof *grown);

		if (!grown) {
			c->oom = 1;
			return;
		}
		c->sightings = grown;
		c->capsightings = cap;
		if (sightings_reindex(c, cap)) {
			c->oom = 1;
			return;
		}
	}
	g = &c->sightings[c->nsightings];
	g->key = key;
	snprintf(g->kind, sizeof g->kind, "%s", kind);
	snprintf(g->principal, sizeof g->principal, "%s", principal);
	snprintf(g->version, sizeof g->version, "%s", version);
	g->first = t;
	c->nsightings++;
	/* the new one into the index (it has room: twice the capacity) */
	for (k = key & (size_t)(c->nslots - 1); c->sighting_slots[k] >= 0;
	     k = (k + 1) & (size_t)(c->nslots - 1))
		;
	c->sighting_slots[k] = c->nsightings - 1;
}

static int cmp_sighting(const void *x, const void *y)
{
	const struct drift_sighting *a = x, *b = y;
	int r = strcmp(a->kind, b->kind);

	if (!r)
		r = strcmp(a->principal, b->principal);
	if (!r)
		r = a->first < b->first ? -1 : a->first > b->first;
	return r;
}

void drift_events_from_sightings(struct drift_ctx *c)
{
	int i;

	if (c->nsightings > 1) {
		qsort(c->sightings, (size_t)c->nsightings, sizeof c->sightings[0], cmp_sighting);
		if (sightings_reindex(c, c->capsightings)) /* the order changed under the index */
			c->oom = 1;
	}
	for (i = 1; i < c->nsightings; i++) {
		const struct drift_sighting *g = &c->sightings[i], *p = &c->sightings[i - 1];

		if (strcmp(g->kind, p->kind) || strcmp(g->principal, p->principal))
			continue; /* the first version seen: nothing changed */
		if (!strcmp(g->kind, "policy"))
			drift_add_event(c, g->first, "policy",
					"the policy changed (digest %.12s… after %.12s…)",
					g->version, p->version);
		else
			drift_add_event(c, g->first, g->kind,
					"%s began using instruction version %s (before: %s)",
					g->principal, g->version, p->version);
	}
}

int drift_table_exists(struct store *s, const char *table, int *exists, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, table);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*exists = store_col_int(st, 0) > 0;
		rc = 0;
	}
	store_done(st);
	return rc;
}

static void ctx_release(struct drift_ctx *c)
{
	int i;

	for (i = 0; i < c->nseries; i++)
		series_free(c->series[i]);
	free(c->series);
	free(c->events);
	free(c->sightings);
	free(c->sighting_slots);
	json_decref(c->signal_kinds);
}

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

int drift_report(struct store *s, const struct drift_config *cfg, time_t now, int persist,
		 json_t **out, struct err *err)
{
	struct drift_ctx c = {0};
	json_t *o = NULL, *base = NULL, *sources = json_object(), *windows = json_array();
	int64_t w = cfg->window_seconds, from = 0, to = 0, cur;
	char buf[CLOCK_TEXT_LEN], wname[16];
	int nb = 0, shown = cfg->windows, rc, k;
	double elapsed;

	*out = NULL;
	rc = drift_config_check(cfg, err);
	if (rc)
		goto out;
	rc = drift_baseline_get(s, &base, err);
	if (rc)
		goto out;
	cur = (int64_t)drift_window_start(now, w);
	elapsed = (double)(now - cur) / (double)w;
	if (base) {
		int64_t f, t;

		if (drift_time(json_string_value(json_object_get(base, "from")), &f) == 0 &&
		    drift_time(json_string_value(json_object_get(base, "to")), &t) == 0) {
			from = f;
			to = t;
			nb = (int)((to - from) / w < MAX_WINDOWS ? (to - from) / w : MAX_WINDOWS);
		}
	}
	c.store = s;
	c.cfg = cfg;
	c.signal_kinds = json_object();
	drift_format_window(w, wname, sizeof wname);
	o = json_pack("{s:s,s:I}", "window", wname, "window_seconds", (json_int_t)w);
	clock_format(now, buf, sizeof buf);
	json_object_set_new(o, "now", json_string(buf));
	if (nb >= 1) {
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
		nb = 0;
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
	clock_format((time_t)cur, buf, sizeof buf);
	json_object_set_new(o, "current_window",
			    json_pack("{s:s,s:f}", "start", buf, "elapsed", elapsed));
	clock_format((time_t)(cur + w), buf, sizeof buf);
	json_object_set_new(json_object_get(o, "current_window"), "end", json_string(buf));
	for (k = 0; k < shown; k++) {
		clock_format((time_t)(cur - (int64_t)(shown - 1 - k) * w), buf, sizeof buf);
		json_array_append_new(windows, json_string(buf));
	}
	json_object_set_new(o, "windows", json_incref(windows));
	drift_events_from_sightings(&c);
	if (c.nevents > 1)
		qsort(c.events, (size_t)c.nevents, sizeof c.events[0], cmp_event);
	if (c.oom) {
		rc = err_set(err, AIRLOCK_ENOMEM, "drift: out of memory");
		goto out;
	}
	rc = assemble(&c, nb ? nb : cfg->reference_windows, nb ? nb : -1, elapsed, now, persist, o,
		      err);
out:
	ctx_release(&c);
	json_decref(base);
	json_decref(sources);
	json_decref(windows);
	if (rc)
		json_decref(o);
	else
		*out = o;
	return rc;
}
