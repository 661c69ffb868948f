/* drift_series.c — what the sources fill: per-window series keyed by
 * metric and label, events, and first sightings of versions. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift_int.h"

#define MAX_EVENTS 2000
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
	/* policy names are at most 48 bytes; a longer one (an edited log) is
	 * grouped under a marker, never cut into another name's series */
	if (strlen(label) >= DRIFT_LABEL_MAX)
		label = "(name too long)";
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
	(void)snprintf(s->label, sizeof s->label, "%s", label); /* length checked above */
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
	(void)snprintf(e->kind, sizeof e->kind, "%s", kind); /* one of three constants */
	va_start(ap, fmt);
	(void)vsnprintf(e->detail, sizeof e->detail, fmt, ap);
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
	/* a cut principal or version would be taken for another one: a value
	 * too long to keep is not tracked rather than tracked as someone else */
	if (strlen(principal) >= sizeof c->sightings[0].principal ||
	    strlen(version) >= sizeof c->sightings[0].version ||
	    strlen(kind) >= sizeof c->sightings[0].kind)
		return;
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
	/* lengths checked on entry */
	(void)snprintf(g->kind, sizeof g->kind, "%s", kind);
	(void)snprintf(g->principal, sizeof g->principal, "%s", principal);
	(void)snprintf(g->version, sizeof g->version, "%s", version);
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
	return store_table_exists(s, table, exists, err);
}

void drift_ctx_release(struct drift_ctx *c)
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
