/* drift_int.h — private to drift*.c: the metrics, the per-window series
 * the sources fill, the sources themselves, and the judge.
 *
 * How a metric gets its numbers: a source (struct drift_source) reads its
 * table once per pass over [from, to) and adds what it sees to series
 * keyed by (metric, label) — category counts, trials, values or counts per
 * window — and reports events (instruction-version changes, imports,
 * policy changes) that may explain a shift. A new source is one collect
 * function and a row in drift_sources[]; a new metric is a row in
 * drift_metrics[] and an enum value. Sources whose table does not exist in
 * this database are skipped, so a source may be written against a table
 * another module owns before that module lands. */
#ifndef AIRLOCK_DRIFT_INT_H
#define AIRLOCK_DRIFT_INT_H

#include <stdint.h>

#include "clock.h"
#include "drift.h"

enum drift_kind {
	DRIFT_DIST,  /* counts per category: JS distance, PSI, chi-square */
	DRIFT_RATE,  /* successes of trials: two-proportion z, EWMA */
	DRIFT_LEVEL, /* a measured value per window: z against the reference, EWMA */
	DRIFT_COUNT  /* events per window: z against the reference, EWMA */
};

enum drift_metric {
	DM_PROPOSAL_VOLUME,
	DM_TIER1_SHARE,
	DM_TIER_MIX,
	DM_PROPOSAL_SIGNALS,
	DM_OVERREACH_RATE,
	DM_AUDIT_FAILURE_RATE,
	DM_DUPLICATE_RATE,
	DM_DISTINCT_NGRAMS,
	DM_BRIEF_SIGNALS,
	DM_AUDIENCE_REFUSAL_RATE,
	DM_AGENT_CALLS,
	DM_TOOL_MIX,
	DM_COUNT
};

struct drift_metric_def {
	const char *name;
	enum drift_kind kind;
	const char *source; /* the source that fills it */
	const char *help;   /* one line: the Prometheus HELP and the docs */
	double sd_floor;    /* LEVEL: least spread assumed between windows */
};

extern const struct drift_metric_def drift_metrics[DM_COUNT];

#define DRIFT_MAX_CATS 24 /* categories kept by name; the rest share "(other)" */
#define DRIFT_OTHER "(other)"
#define DRIFT_LABEL_MAX 64

/* One metric for one label (a workflow, or "" for all), per window. */
struct drift_series {
	enum drift_metric metric;
	enum drift_kind kind;
	char label[DRIFT_LABEL_MAX];
	int nwin;
	double *support; /* items behind each window's figure */
	double *a;	 /* RATE successes, LEVEL sum of values, COUNT count */
	double *b;	 /* RATE trials, LEVEL number of values */
	int ncat;
	char *cat[DRIFT_MAX_CATS + 1];
	double *counts[DRIFT_MAX_CATS + 1];    /* DIST: counts[c][window] */
	uint64_t cat_hash[DRIFT_MAX_CATS + 1]; /* drift_hash() of each name */
};

struct drift_event {
	int64_t t;
	char kind[24]; /* "instruction_version", "import", "policy" */
	char detail[240];
};

/* First sighting of a version (instruction version per principal, or the
 * policy digest with principal ""). */
struct drift_sighting {
	uint64_t key; /* of (kind, principal, version) */
	char kind[24];
	char principal[96];
	char version[80];
	int64_t first;
};

/* Everything one report accumulates. Windows are numbered across passes:
 * a pass covers `pass_nwin` windows of cfg->window_seconds from pass_t0 and
 * numbers them from pass_offset. */
struct drift_ctx {
	struct store *store;
	const struct drift_config *cfg;
	int nwin; /* windows in all passes */
	int64_t pass_t0;
	int pass_nwin, pass_offset;
	int events_on;		   /* collect events and sightings in this pass */
	char from[CLOCK_TEXT_LEN]; /* the pass's bounds as text */
	char to[CLOCK_TEXT_LEN];
	char lead_from[CLOCK_TEXT_LEN]; /* one window before `from`: lookback for drafts */
	struct drift_series **series;
	int nseries, capseries;
	struct drift_event *events;
	int nevents, capevents;
	struct drift_sighting *sightings;
	int nsightings, capsightings;
	int *sighting_slots; /* open addressing over sightings by key; -1 empty */
	int nslots;
	json_t *signal_kinds; /* signal id -> kind, looked up once each */
	int oom;	      /* an allocation failed: the report fails */
};

/* A source: one table read once per pass. */
struct drift_source {
	const char *name;
	const char *table; /* skipped when this table does not exist */
	int (*collect)(struct drift_ctx *c, struct err *err);
};

extern const struct drift_source drift_sources[];
extern const int drift_source_count;

/* "YYYY-MM-DDTHH:MM:SSZ" (fast path) or anything clock_parse takes into
 * seconds since the epoch; -1 when it is neither. */
int drift_time(const char *text, int64_t *out);
/* drift_time() for the rows of one scan, which in time order share their
 * minute: the stored form's "YYYY-MM-DDTHH:MM:" is parsed once per minute
 * and kept with its time. Zeroed before the first row. Same answers. */
struct drift_time_memo {
	char minute[17];
	int64_t base;
	int ok;
};
int drift_time_memo(struct drift_time_memo *memo, const char *text, int64_t *out);

/* The window number of t in the current pass, or -1 when outside it. */
int drift_window_of(const struct drift_ctx *c, int64_t t);

/* The series for (metric, label), created empty on first use; NULL (and
 * c->oom set) when memory ran out. label may be NULL for "". */
struct drift_series *drift_series_get(struct drift_ctx *c, enum drift_metric m, const char *label);

/* A fast 64-bit hash of a string (8 bytes at a time), for the lookups
 * done once per row. NULL hashes like "". */
uint64_t drift_hash(const char *s);

/* Adds n to category cat in window win; returns the category's index (or
 * -1 when nothing was added) so a caller can cache what it knows about
 * it. */
int drift_add_category(struct drift_ctx *c, struct drift_series *s, int win, const char *cat,
		       double n);
void drift_add_trials(struct drift_series *s, int win, double successes, double trials);
void drift_add_value(struct drift_series *s, int win, double value, double support);
void drift_add_count(struct drift_series *s, int win, double n);

/* Records an event (ignored outside an events pass). */
void drift_add_event(struct drift_ctx *c, int64_t t, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Notes that principal used version at t (ignored outside an events pass);
 * drift_events_from_sightings() turns first uses into events. */
void drift_saw_version(struct drift_ctx *c, int64_t t, const char *kind, const char *principal,
		       const char *version);
void drift_events_from_sightings(struct drift_ctx *c);

/* Frees everything the context holds (not the context itself). */
void drift_ctx_release(struct drift_ctx *c);

/* 1 in *exists when the table exists (store_table_exists: each engine asks
 * its own catalogue). */
int drift_table_exists(struct store *s, const char *table, int *exists, struct err *err);

/* The judgement of one window of one series. */
struct drift_judgement {
	int has_data; /* support > 0 */
	int judged;   /* enough data on both sides to judge */
	int partial;  /* a count in a window too young to project */
	double value, reference, change, support, reference_support;
	double statistic, threshold, ratio, p_value;
	const char *test; /* "js", "psi", "two_proportion", "z", "ewma" */
	double js, psi;	  /* DIST */
	double ewma, ewma_low, ewma_high;
	int has_ewma;
	int shift;   /* the shift condition holds in this window */
	int held;    /* the shift has held by construction (EWMA) */
	int alert;   /* an alert episode covers this window */
	int episode; /* first window of that episode */
	const char *severity;
};

/* Judges windows [first, s->nwin) of s. The reference of window k is
 * windows [ref_lo(k), k) in rolling mode (ref_fixed < 0), or the fixed
 * windows [0, ref_fixed) (a pinned baseline). elapsed is the share of the
 * last window that has passed (1 for a complete one). out has s->nwin
 * entries; windows before `first` are left zeroed. */
void drift_judge(const struct drift_config *cfg, const struct drift_series *s, int first,
		 int ref_fixed, double elapsed, struct drift_judgement *out);

/* The shares of a DIST series' categories in window k, or pooled over
 * windows [lo, hi) when k < 0, into out[s->ncat]. */
void drift_series_counts(const struct drift_series *s, int k, int lo, int hi, double *out);

/* drift_alerts.c: gives each computed alert episode its stored row — found
 * by metric, workflow, window length and overlapping or adjacent windows —
 * inserting or updating it when persist is set, and copies the row's id,
 * first_seen and acknowledgement into the JSON. */
int drift_alerts_sync(struct store *s, const struct drift_config *cfg, json_t *alerts, int persist,
		      time_t now, struct err *err);

#endif
