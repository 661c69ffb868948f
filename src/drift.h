/* drift.h — the drift monitor: aggregates of what agents propose, draft
 * and cite, per time window, compared with a reference, so that outputs
 * that look fine one by one cannot slide unnoticed in aggregate.
 *
 * Metrics per window (UTC days by default): share of accounts proposed for
 * tier 1 and the tier mix of proposals (per workflow); which signal kinds
 * proposals and briefs cite; near-duplicate rate of drafts (MinHash + LSH)
 * and their distinct-n-gram ratio; proposal volume, overreach and audience
 * refusal rates, sample-audit failure rate; agent call volume and tool mix.
 * Each window is judged against the previous N windows (or a pinned
 * baseline): Jensen-Shannon distance and PSI with a chi-square check for
 * distributions, a two-proportion z test for rates, a z score for levels
 * and counts, and an EWMA chart for slow creep. Small windows are not
 * judged (minimum counts); an alert needs its shift in consecutive windows
 * unless it is very large (hysteresis). Alerts carry likely causes: an
 * instruction-version change, an import or a policy change near the shift.
 *
 * Owns: the drift_alert and drift_baseline tables (migrations 50–59) and
 * the metric definitions. Reads the batch, batch_item and signal tables,
 * and draft, brief and action_log when they exist.
 *
 * Never: changes the book, a batch, a draft or the log; blocks or allows
 * anything (an alert informs people). Only human principals may pin a
 * baseline or acknowledge an alert, and both are logged.
 *
 * JSON outputs (json_t **) are new references the caller json_decref()s;
 * text outputs (char **) are malloc'd and the caller free()s them. */
#ifndef AIRLOCK_DRIFT_H
#define AIRLOCK_DRIFT_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "store.h"

/* Thresholds and sizes. drift_config_default() gives the documented
 * defaults; the policy file's `drift:` section overrides them key by key
 * through drift_config_set() (the key names are given per field). */
struct drift_config {
	int64_t
	    window_seconds; /* window: 1d (1h, 6h, 7d, ... whole hours dividing a day, or days) */
	int windows;	    /* windows: 14 shown and judged */
	int reference_windows;	/* reference_windows: 7 previous windows pooled */
	int64_t min_count;	/* min_count: 30 items on each side before judging */
	double smoothing;	/* smoothing: 0.5 added to every category count */
	double js_alert;	/* js_alert: 0.1 Jensen-Shannon distance */
	double psi_moderate;	/* psi_moderate: 0.1 (reported) */
	double psi_significant; /* psi_significant: 0.25 (alerts too) */
	double z_alert;	       /* z_alert: 3.0 evidence every shift needs (chi-square p as its z) */
	double rate_min_delta; /* rate_min_delta: 0.05 least change of a rate worth an alert */
	double
	    level_min_change; /* level_min_change: 0.2 least relative change of a level or count */
	double ewma_lambda;   /* ewma_lambda: 0.2 */
	double ewma_limit;    /* ewma_limit: 3.0 control limit L in standard deviations */
	int hysteresis_windows;	   /* hysteresis_windows: 2 consecutive windows to raise an alert */
	double hysteresis_bypass;  /* hysteresis_bypass: 2.0 x the threshold raises at once */
	double hysteresis_release; /* hysteresis_release: 0.8 x the threshold keeps an alert open */
	double partial_min_elapsed; /* partial_min_elapsed: 0.25 of a window before its count is
				       judged */
	int minhash_hashes;	    /* minhash_hashes: 128 */
	int lsh_bands;		    /* lsh_bands: 16 (must divide minhash_hashes) */
	double duplicate_jaccard;   /* duplicate_jaccard: 0.8 */
	int shingle_words;	    /* shingle_words: 3 */
	int ngram_words; /* ngram_words: 3 (distinct-n-gram ratio; = shingle_words is cheapest) */
	int ngram_block; /* ngram_block: 25 drafts per distinct-n-gram block */
	int max_causes;	 /* max_causes: 5 likely causes per alert */
};

void drift_config_default(struct drift_config *c);
/* Sets one key (the names above) from its text value, checked; an unknown
 * key or a bad value is AIRLOCK_EINVAL naming both. */
int drift_config_set(struct drift_config *c, const char *key, const char *value, struct err *err);
/* Applies the policy file's drift: section (keys and values as text, n of
 * them) over the defaults, then checks the whole. */
int drift_config_apply(struct drift_config *c, const char *const *keys,
		       const char *const *values, int n, struct err *err);
/* Checks the whole configuration (ranges, bands dividing hashes). */
int drift_config_check(const struct drift_config *c, struct err *err);

/* "1h", "6h", "1d", "7d", "2w": whole hours dividing a day, or whole days,
 * up to 28 days. */
int drift_parse_window(const char *text, int64_t *seconds, struct err *err);
/* The short form of a window length ("6h", "1d", "7d"). */
void drift_format_window(int64_t seconds, char *buf, size_t len);

/* Windows start at multiples of the window length from Monday
 * 1970-01-05T00:00:00Z, so days start at midnight UTC and weeks on
 * Mondays. The start of the window holding t: */
time_t drift_window_start(time_t t, int64_t window_seconds);

/* Computes the report as of `now`: every metric's current window against
 * its reference, its recent windows, and the alerts, as JSON:
 *   {"now", "window", "window_seconds", "current_window": {start, end,
 *    elapsed}, "reference": {"kind": "rolling"|"baseline", ...},
 *    "windows": [start, ...], "sources": {name: used?}, "metrics": [...],
 *    "events": [...], "alerts": [...]}
 * With persist, alerts are stored (one row per metric and episode of
 * consecutive windows; running again updates, never duplicates) so
 * drift_ack() can name them; without, nothing is written. */
int drift_report(struct store *s, const struct drift_config *cfg, time_t now, int persist,
		 json_t **out, struct err *err);

/* Pins the reference to [from, to) (whole windows from `from` are used).
 * principal must be "human:NAME" (AIRLOCK_EDENIED otherwise). Logged. */
int drift_baseline_set(struct store *s, time_t from, time_t to, const char *principal,
		       const char *surface, struct err *err);
/* Back to the rolling reference. AIRLOCK_ENOTFOUND when none was pinned. */
int drift_baseline_clear(struct store *s, const char *principal, const char *surface,
			 struct err *err);
/* The pinned baseline {"from","to","set_by","set_at"}, or NULL in *out. */
int drift_baseline_get(struct store *s, json_t **out, struct err *err);

/* Records a person's explanation of an alert. principal must be
 * "human:NAME"; cause must not be empty. AIRLOCK_ENOTFOUND for an unknown
 * alert, AIRLOCK_ESTATE when it was acknowledged already. Logged. *out
 * (may be NULL) gets the alert as stored. */
int drift_ack(struct store *s, int64_t alert_id, const char *principal, const char *surface,
	      const char *cause, json_t **out, struct err *err);
/* Parses "12" or "A12". */
int drift_parse_alert_id(const char *text, int64_t *out, struct err *err);

/* The current report (as of clock_now(), nothing stored) in Prometheus
 * text exposition format: airlock_drift_* gauges labelled by metric and
 * workflow, for the console to serve at /metrics. */
int drift_prometheus(struct store *s, const struct drift_config *cfg, char **text, struct err *err);

/* drift_words.c: the report in words, for people (the CLI and the console
 * say the same). m and a are a metric and an alert of drift_report()'s
 * JSON. drift_title writes the metric's title ("share of re-tiers to tier
 * 1, workflow retier") and returns its unit: "share" (0..1, shown as a
 * percentage), "count", "ratio", "mix" (a distribution: its value is the
 * number of values in common use) or "value" (a metric the table does not
 * know: its help text is the title). */
const char *drift_title(json_t *m, char *buf, size_t len);
/* A value in its unit: "42%", "17", "2.3", "0.31". */
void drift_value(const char *unit, double v, char *buf, size_t len);
/* "26 Nov 2026" from "2026-11-26T10:00:00Z"; the text itself when it is
 * not a date. */
void drift_day(const char *at, char *buf, size_t len);
/* The alert's verdict: "4.0× the usual share of re-tiers to tier 1,
 * workflow retier, since 26 Nov 2026 (75% against a usual 19%), after
 * agent:tierbot began using instruction version v2 (before: v1)". */
void drift_verdict(json_t *a, char *buf, size_t len);
/* A metric's status ("alert", "shift", "ok", ...) in words. */
const char *drift_status_words(const char *status);
/* A distribution's category in words ("(none)" → "none cited", a tier_mix
 * "1" → "tier 1"), cut to len. */
void drift_category_words(const char *metric, const char *category, char *buf, size_t len);

#endif
