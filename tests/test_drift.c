/* test_drift.c — the drift monitor on synthetic streams written straight
 * into the tables it reads: a stable stream raises nothing over many
 * windows; a step in tier-1 share, a slow creep, a collapse of signal
 * diversity and a rise in duplicate outreach are each flagged within two
 * windows; tiny windows raise nothing; causes, acknowledgements, the
 * baseline and the Prometheus text. */
#include "testutil.h"

#include <math.h>

#include "audit.h"
#include "clock.h"
#include "drift.h"
#include "drift_int.h"
#include "minhash.h"

/* taken from the index as it was before its prefilter was packed in registers */
#define LSH_GOLDEN_FOUND 4650
#define LSH_GOLDEN_CHECKS 6707
#define LSH_GOLDEN_DIGEST 0xd9e4f1610a198375ULL
/* from minhash_sketch before its borrowing was read from a table */
#define SKETCH_GOLDEN_DIGEST 0x667d97422d3db9edULL

#define DAY 86400
#define DAY0 1767571200 /* 2026-01-05T00:00:00Z, a Monday */
#define NKINDS 6

static const char *const kinds[NKINDS] = {"hiring", "funding", "intent",
					  "usage",  "news",    "tech_install"};
static const double uniform[NKINDS] = {1, 1, 1, 1, 1, 1};

/* One day of synthetic agent output. */
struct day_spec {
	int items;	     /* proposal items (re-tiers), in batches of 25 */
	double p_tier1;	     /* chance an item proposes tier 1 */
	const double *kinds; /* weights of the cited signal kinds (NULL: uniform) */
	const char *iv;	     /* instruction version (NULL: v1) */
	int drafts;	     /* drafts written */
	double p_dup;	     /* chance a draft is a light edit of an earlier one that day */
	const char *digest;  /* the policy's digest (NULL: p1) */
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static double unif(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static void exec_ok(struct store *s, const char *sql)
{
	struct err err = {0};

	assert_ok(store_exec(s, sql, &err), &err);
}

/* The book the proposals cite: one account, ten signals of each kind
 * (S<kind>-<n>), and the draft and brief tables with the columns the
 * outreach module gives them (created here while that module has not
 * landed in this branch). */
static struct store *open_book(struct testdb *t)
{
	struct store *s = testutil_store_open(t);
	struct store_stmt *st;
	struct err err = {0};
	char id[32];
	int k, j;

	/* a fixed stream; DRIFT_TEST_SEED=N runs the same tests on another */
	rng_state = 0x9e3779b97f4a7c15ULL *
		    (getenv("DRIFT_TEST_SEED")
			 ? (2 * (uint64_t)strtoull(getenv("DRIFT_TEST_SEED"), NULL, 10) + 1)
			 : 1);
	exec_ok(
	    s,
	    "INSERT INTO account(id,name,updated_at) VALUES('A1','Acme','2026-01-01T00:00:00Z')");
	assert_ok(store_prepare(s,
				"INSERT INTO signal(id,account_id,kind,observed_at,updated_at)"
				" VALUES(?1,'A1',?2,'2026-01-01','2026-01-01T00:00:00Z')",
				&st, &err),
		  &err);
	for (k = 0; k < NKINDS; k++)
		for (j = 0; j < 10; j++) {
			snprintf(id, sizeof id, "S%d-%d", k, j);
			store_bind_text(st, 1, id);
			store_bind_text(st, 2, kinds[k]);
			assert_int_equal(store_step(st, &err), STORE_DONE);
			store_reset(st);
		}
	store_done(st);
	exec_ok(s,
		"CREATE TABLE IF NOT EXISTS draft(id TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
		" subject TEXT NOT NULL, body TEXT NOT NULL, audience TEXT NOT NULL, workflow TEXT,"
		" principal TEXT NOT NULL, instruction_version TEXT, status TEXT NOT NULL"
		" DEFAULT 'draft', created_at TEXT NOT NULL, updated_at TEXT NOT NULL)");
	exec_ok(s,
		"CREATE TABLE IF NOT EXISTS brief(id TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
		" text TEXT NOT NULL, evidence TEXT NOT NULL DEFAULT '[]', principal TEXT NOT NULL,"
		" instruction_version TEXT, created_at TEXT NOT NULL)");
	return s;
}

static int pick_kind(const double *w)
{
	double total = 0, x;
	int k;

	if (!w)
		w = uniform;
	for (k = 0; k < NKINDS; k++)
		total += w[k];
	x = unif() * total;
	for (k = 0; k < NKINDS - 1; k++) {
		if (x < w[k])
			return k;
		x -= w[k];
	}
	return NKINDS - 1;
}

static int64_t batch_seq;

static void gen_items(struct store *s, int day, const struct day_spec *d)
{
	struct store_stmt *b, *it;
	struct err err = {0};
	char at[CLOCK_TEXT_LEN], changes[32], ev[32];
	int i, nb = (d->items + 24) / 25, j;

	assert_ok(store_prepare(s,
				"INSERT INTO batch(id,principal,surface,workflow,tool,action,"
				"instruction_version,policy_digest,state,radius,items,created_at,"
				"updated_at) VALUES(?1,'agent:scout','mcp:write','retier',"
				"'propose_changes','update',?2,?5,'staged',?3,?3,?4,?4)",
				&b, &err),
		  &err);
	assert_ok(
	    store_prepare(s,
			  "INSERT INTO batch_item(batch_id,idx,record_id,changes,before,restore,"
			  "version,evidence) VALUES(?1,?2,'A1',?3,'{\"tier\":3}','{}',1,?4)",
			  &it, &err),
	    &err);
	for (j = 0; j < nb; j++) {
		int n = j == nb - 1 ? d->items - 25 * j : 25;

		clock_format((time_t)DAY0 + (time_t)day * DAY + (time_t)(j * DAY / nb) + 60, at,
			     sizeof at);
		store_bind_int(b, 1, ++batch_seq);
		store_bind_text(b, 2, d->iv ? d->iv : "v1");
		store_bind_int(b, 3, n);
		store_bind_text(b, 4, at);
		store_bind_text(b, 5, d->digest ? d->digest : "p1");
		assert_int_equal(store_step(b, &err), STORE_DONE);
		store_reset(b);
		for (i = 0; i < n; i++) {
			int tier = unif() < d->p_tier1 ? 1 : 2 + (int)(rnd() % 3);

			snprintf(changes, sizeof changes, "{\"tier\":%d}", tier);
			snprintf(ev, sizeof ev, "[\"S%d-%d\"]", pick_kind(d->kinds),
				 (int)(rnd() % 10));
			store_bind_int(it, 1, batch_seq);
			store_bind_int(it, 2, i);
			store_bind_text(it, 3, changes);
			store_bind_text(it, 4, ev);
			assert_int_equal(store_step(it, &err), STORE_DONE);
			store_reset(it);
		}
	}
	store_done(b);
	store_done(it);
}

#define VOCAB 400
#define DRAFT_WORDS 60

/* A body of DRAFT_WORDS words from a vocabulary of VOCAB ("w0".."w399"). */
static void random_body(char *buf, size_t len)
{
	size_t used = 0;
	int i;

	for (i = 0; i < DRAFT_WORDS; i++)
		used += (size_t)snprintf(buf + used, len - used, "w%d ", (int)(rnd() % VOCAB));
}

/* The same body with two words replaced: Jaccard of 3-word shingles
 * about 0.85. */
static void edit_body(const char *src, char *buf, size_t len)
{
	char tmp[1024];
	char *words[DRAFT_WORDS], *save = NULL, *w;
	size_t used = 0;
	int n = 0, i, a = (int)(rnd() % DRAFT_WORDS);

	snprintf(tmp, sizeof tmp, "%s", src);
	for (w = strtok_r(tmp, " ", &save); w && n < DRAFT_WORDS; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	for (i = 0; i < n; i++)
		used +=
		    (size_t)snprintf(buf + used, len - used, "%s ", i == a ? "changed" : words[i]);
}

static int64_t draft_seq;

static void gen_drafts(struct store *s, int day, const struct day_spec *d)
{
	static char bodies[400][1024];
	struct store_stmt *st;
	struct err err = {0};
	char at[CLOCK_TEXT_LEN], id[32];
	int i;

	assert_true(d->drafts <= 400);
	assert_ok(
	    store_prepare(s,
			  "INSERT INTO draft(id,account_id,subject,body,audience,workflow,"
			  "principal,instruction_version,status,created_at,updated_at)"
			  " VALUES(?1,'A1','hello',?2,'all','outreach','agent:writer',?3,'draft',"
			  "?4,?4)",
			  &st, &err),
	    &err);
	for (i = 0; i < d->drafts; i++) {
		if (i > 0 && unif() < d->p_dup)
			edit_body(bodies[rnd() % (uint64_t)i], bodies[i], sizeof bodies[i]);
		else
			random_body(bodies[i], sizeof bodies[i]);
		clock_format((time_t)DAY0 + (time_t)day * DAY + (time_t)(i * (DAY / d->drafts)) +
				 30,
			     at, sizeof at);
		snprintf(id, sizeof id, "D%lld", (long long)++draft_seq);
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, bodies[i]);
		store_bind_text(st, 3, d->iv ? d->iv : "v1");
		store_bind_text(st, 4, at);
		assert_int_equal(store_step(st, &err), STORE_DONE);
		store_reset(st);
	}
	store_done(st);
}

static void gen_day(struct store *s, int day, const struct day_spec *d)
{
	struct err err = {0};

	assert_ok(store_begin(s, &err), &err);
	if (d->items)
		gen_items(s, day, d);
	if (d->drafts)
		gen_drafts(s, day, d);
	assert_ok(store_commit(s, &err), &err);
}

/* The report as of the last second of `day`. */
static json_t *report_at(struct store *s, const struct drift_config *cfg, int day, int persist)
{
	struct err err = {0};
	json_t *r = NULL;

	assert_ok(
	    drift_report(s, cfg, (time_t)DAY0 + (time_t)day * DAY + DAY - 1, persist, &r, &err),
	    &err);
	assert_non_null(r);
	return r;
}

static json_t *find_metric(json_t *r, const char *metric)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(r, "metrics"), i, m)
	{
		if (!strcmp(json_string_value(json_object_get(m, "metric")), metric))
			return m;
	}
	return NULL;
}

/* The active alert on metric, or NULL. */
static json_t *active_alert(json_t *r, const char *metric)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(r, "alerts"), i, a)
	{
		if (!strcmp(json_string_value(json_object_get(a, "metric")), metric) &&
		    json_is_true(json_object_get(a, "active")))
			return a;
	}
	return NULL;
}

static void print_alerts(json_t *r)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(r, "alerts"), i, a)
	{
		char *t = json_dumps(a, JSON_COMPACT);

		print_message("unexpected alert: %s\n", t);
		free(t);
	}
}

static const struct day_spec normal = {100, 0.2, NULL, "v1", 60, 0.05, NULL};

static void test_stable_stream_raises_nothing(void **state)
{
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	json_t *r, *m;
	int d;

	(void)state;
	drift_config_default(&cfg);
	for (d = 0; d < 70; d++)
		gen_day(s, d, &normal);
	/* 62 windows judged in one report, each against its previous 7 */
	cfg.windows = 62;
	r = report_at(s, &cfg, 69, 1);
	print_alerts(r);
	assert_int_equal(json_array_size(json_object_get(r, "alerts")), 0);
	/* every metric the stream feeds was judged, so silence means something */
	m = find_metric(r, "tier1_share");
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "status")), "ok");
	assert_true(fabs(json_real_value(json_object_get(m, "value")) - 0.2) < 0.1);
	assert_non_null(find_metric(r, "tier_mix"));
	assert_non_null(find_metric(r, "proposal_signal_kinds"));
	assert_non_null(find_metric(r, "duplicate_draft_rate"));
	assert_non_null(find_metric(r, "distinct_ngram_ratio"));
	assert_non_null(find_metric(r, "proposal_volume"));
	json_decref(r);
	/* and the default view, day after day */
	cfg.windows = 14;
	for (d = 21; d < 70; d += 3) {
		r = report_at(s, &cfg, d, 0);
		print_alerts(r);
		assert_int_equal(json_array_size(json_object_get(r, "alerts")), 0);
		json_decref(r);
	}
	testutil_store_close(&t);
}

/* Days [0, change) follow `before`, then `after`; returns the first day
 * (counted from `change`) whose report has metric alerting, or -1. */
static int first_alert_day(struct store *s, const struct drift_config *cfg, int change,
			   const struct day_spec *before, const struct day_spec *after,
			   const char *metric, int last, json_t **at_alert)
{
	int d, found = -1;
	json_t *r;

	for (d = 0; d < change; d++)
		gen_day(s, d, before);
	r = report_at(s, cfg, change - 1, 1);
	print_alerts(r);
	assert_int_equal(json_array_size(json_object_get(r, "alerts")), 0);
	json_decref(r);
	for (d = change; d <= last && found < 0; d++) {
		gen_day(s, d, after);
		r = report_at(s, cfg, d, 1);
		if (active_alert(r, metric)) {
			found = d - change;
			if (at_alert)
				*at_alert = r;
			else
				json_decref(r);
		} else
			json_decref(r);
	}
	return found;
}

static void test_step_in_tier1_share(void **state)
{
	struct day_spec after = normal;
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	json_t *r = NULL, *a, *c = NULL;
	size_t i;
	int d;

	(void)state;
	drift_config_default(&cfg);
	after.p_tier1 = 0.45;
	after.iv = "v2";
	d = first_alert_day(s, &cfg, 25, &normal, &after, "tier1_share", 40, &r);
	assert_true(d >= 0 && d <= 1); /* within two windows */
	a = active_alert(r, "tier1_share");
	assert_string_equal(json_string_value(json_object_get(a, "workflow")), "retier");
	assert_true(json_real_value(json_object_get(a, "value")) > 0.35);
	/* the instruction-version change on the first shifted day is its likely cause */
	json_array_foreach(json_object_get(a, "causes"), i, c)
	{
		if (strstr(json_string_value(json_object_get(c, "detail")),
			   "agent:scout began using instruction version v2 (before: v1)"))
			break;
	}
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "kind")), "instruction_version");
	assert_non_null(strstr(json_string_value(json_object_get(c, "at")), "2026-01-30"));
	/* stored, with an id to acknowledge */
	assert_true(json_is_integer(json_object_get(a, "id")));
	json_decref(r);
	testutil_store_close(&t);
}

static void test_policy_change_is_a_cause(void **state)
{
	struct day_spec after = normal;
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	json_t *r = NULL, *c;
	size_t i;
	int d, policy = 0;

	(void)state;
	drift_config_default(&cfg);
	after.p_tier1 = 0.6;
	after.digest = "9f2c44e1b7a05d3e";
	d = first_alert_day(s, &cfg, 20, &normal, &after, "tier1_share", 30, &r);
	assert_true(d >= 0 && d <= 1);
	json_array_foreach(json_object_get(active_alert(r, "tier1_share"), "causes"), i, c)
	{
		policy |= !strcmp(json_string_value(json_object_get(c, "kind")), "policy") &&
			  strstr(json_string_value(json_object_get(c, "detail")),
				 "the policy changed (digest 9f2c44e1b7a0");
	}
	assert_true(policy);
	json_decref(r);
	testutil_store_close(&t);
}

static void test_slow_creep_caught_by_ewma(void **state)
{
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	struct day_spec day = normal;
	json_t *r = NULL, *a;
	int d, found = -1, visible = -1;
	double se;

	(void)state;
	drift_config_default(&cfg);
	for (d = 0; d < 20; d++)
		gen_day(s, d, &normal);
	/* from day 20 the tier-1 share creeps up 1.5 points a window: too
	 * slow for a window's own test against the previous seven, which
	 * drift along with it */
	for (d = 20; d < 50 && found < 0; d++) {
		day.p_tier1 = 0.2 + 0.015 * (d - 19);
		day.drafts = 0;
		gen_day(s, d, &day);
		r = report_at(s, &cfg, d, 1);
		a = active_alert(r, "tier1_share");
		if (a)
			found = d;
		json_decref(r);
	}
	assert_true(found >= 0);
	/* The first window where the creep is visible in one window at all:
	 * its distance from the starting share exceeds z_alert standard
	 * errors of a 100-item window against the 700-item anchor. It is
	 * flagged within two windows of that. */
	se = sqrt(0.2 * 0.8 * (1.0 / 100 + 1.0 / 700));
	for (d = 20; visible < 0; d++)
		if (0.015 * (d - 19) >= cfg.z_alert * se)
			visible = d;
	print_message("creep visible on day %d, flagged on day %d\n", visible, found);
	assert_true(found > 20);
	assert_true(found <= visible + 2);
	testutil_store_close(&t);
}

static void test_collapse_of_signal_diversity(void **state)
{
	static const double intent_only[NKINDS] = {0.05, 0.02, 0.85, 0.03, 0.03, 0.02};
	struct day_spec after = normal;
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	json_t *r = NULL, *a, *m;
	int d;

	(void)state;
	drift_config_default(&cfg);
	after.kinds = intent_only;
	d = first_alert_day(s, &cfg, 20, &normal, &after, "proposal_signal_kinds", 30, &r);
	assert_true(d >= 0 && d <= 1);
	a = active_alert(r, "proposal_signal_kinds");
	assert_string_equal(json_string_value(json_object_get(a, "severity")), "significant");
	m = find_metric(r, "proposal_signal_kinds");
	/* diversity: about 6 effective kinds before, under 2 after */
	assert_true(json_real_value(json_object_get(m, "reference")) > 5);
	assert_true(json_real_value(json_object_get(m, "value")) < 3);
	assert_true(json_real_value(json_object_get(json_object_get(m, "shares"), "intent")) > 0.7);
	assert_true(json_real_value(json_object_get(m, "psi")) >= cfg.psi_significant);
	json_decref(r);
	testutil_store_close(&t);
}

static void test_rise_in_duplicate_outreach(void **state)
{
	struct day_spec after = normal;
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	json_t *r = NULL, *a, *m;
	int d;

	(void)state;
	drift_config_default(&cfg);
	after.p_dup = 0.5;
	d = first_alert_day(s, &cfg, 20, &normal, &after, "duplicate_draft_rate", 30, &r);
	assert_true(d >= 0 && d <= 1);
	a = active_alert(r, "duplicate_draft_rate");
	assert_true(json_real_value(json_object_get(a, "value")) > 0.3);
	assert_true(json_real_value(json_object_get(a, "reference")) < 0.15);
	m = find_metric(r, "distinct_ngram_ratio");
	assert_true(json_real_value(json_object_get(m, "value")) <
		    json_real_value(json_object_get(m, "reference")));
	json_decref(r);
	testutil_store_close(&t);
}

/* The same drafts stored in time order and in reverse give the same
 * figures: "earlier" means earlier in time, not in the table. */
static double dup_rate_of(int reverse)
{
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	struct store_stmt *st;
	struct err err = {0};
	char body[1024], at[CLOCK_TEXT_LEN], id[16];
	json_t *r;
	double v;
	int i, n = 3 * 60;

	drift_config_default(&cfg);
	assert_ok(store_begin(s, &err), &err);
	assert_ok(
	    store_prepare(s,
			  "INSERT INTO draft(id,account_id,subject,body,audience,principal,"
			  "created_at,updated_at) VALUES(?1,'A1','s',?2,'all','agent:w',?3,?3)",
			  &st, &err),
	    &err);
	for (i = 0; i < n; i++) {
		int k = reverse ? n - 1 - i : i;

		/* every third draft repeats the one before it */
		rng_state = 0x1234567ULL + (uint64_t)(k - (k % 3 == 2));
		random_body(body, sizeof body);
		clock_format((time_t)DAY0 + (time_t)k * 1440, at, sizeof at);
		snprintf(id, sizeof id, "D%d", k);
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, body);
		store_bind_text(st, 3, at);
		assert_int_equal(store_step(st, &err), STORE_DONE);
		store_reset(st);
	}
	store_done(st);
	assert_ok(store_commit(s, &err), &err);
	r = report_at(s, &cfg, 2, 0);
	v = json_real_value(json_object_get(find_metric(r, "duplicate_draft_rate"), "value"));
	json_decref(r);
	testutil_store_close(&t);
	return v;
}

static void test_drafts_out_of_order(void **state)
{
	double a = dup_rate_of(0), b = dup_rate_of(1);

	(void)state;
	assert_true(fabs(a - 20.0 / 60.0) < 1e-9);
	assert_true(fabs(a - b) < 1e-12);
}

static void test_tiny_windows_raise_nothing(void **state)
{
	static const double one_kind[NKINDS] = {0, 0, 1, 0, 0, 0};
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	struct day_spec day = {5, 0, NULL, "v1", 4, 0.0, NULL};
	json_t *r;
	int d;

	(void)state;
	drift_config_default(&cfg);
	/* wild swings on a handful of items a day: all tier 1 one day, none
	 * the next, one signal kind, every draft a copy */
	for (d = 0; d < 40; d++) {
		day.p_tier1 = d % 2 ? 1.0 : 0.0;
		day.kinds = d % 3 ? NULL : one_kind;
		day.p_dup = d >= 20 ? 1.0 : 0.0;
		day.iv = d >= 20 ? "v2" : "v1";
		gen_day(s, d, &day);
	}
	for (d = 10; d < 40; d++) {
		r = report_at(s, &cfg, d, 1);
		print_alerts(r);
		assert_int_equal(json_array_size(json_object_get(r, "alerts")), 0);
		assert_string_equal(
		    json_string_value(json_object_get(find_metric(r, "tier1_share"), "status")),
		    "insufficient");
		json_decref(r);
	}
	testutil_store_close(&t);
}

/* Stored alerts (on one metric, or all when metric is NULL). */
static int64_t alert_rows(struct store *s, const char *metric)
{
	struct store_stmt *st;
	struct err err = {0};
	int64_t n = -1;

	assert_ok(store_prepare(s, "SELECT count(*) FROM drift_alert WHERE ?1 IS NULL OR metric=?1",
				&st, &err),
		  &err);
	store_bind_text(st, 1, metric);
	if (store_step(st, &err) == STORE_ROW)
		n = store_col_int(st, 0);
	store_done(st);
	return n;
}

static void test_alerts_idempotent_and_ack(void **state)
{
	struct day_spec after = normal;
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	struct err err = {0};
	json_t *r = NULL, *a, *row = NULL;
	int64_t id, rows;
	int d;

	(void)state;
	drift_config_default(&cfg);
	after.p_tier1 = 0.7;
	d = first_alert_day(s, &cfg, 20, &normal, &after, "tier1_share", 30, &r);
	assert_int_equal(d, 0); /* 0.2 -> 0.6 is past twice the threshold: at once */
	id = json_integer_value(json_object_get(active_alert(r, "tier1_share"), "id"));
	json_decref(r);
	rows = alert_rows(s, "tier1_share");
	/* the same report again, and the next window with the shift held:
	 * the same alert, not a new one */
	r = report_at(s, &cfg, 20, 1);
	assert_int_equal(json_integer_value(json_object_get(active_alert(r, "tier1_share"), "id")),
			 id);
	json_decref(r);
	gen_day(s, 21, &after);
	r = report_at(s, &cfg, 21, 1);
	a = active_alert(r, "tier1_share");
	assert_int_equal(json_integer_value(json_object_get(a, "id")), id);
	assert_string_equal(json_string_value(json_object_get(a, "first_window")),
			    "2026-01-25T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(a, "last_window")),
			    "2026-01-26T00:00:00Z");
	json_decref(r);
	assert_int_equal(alert_rows(s, "tier1_share"), rows);

	/* only a person may acknowledge, with a cause */
	assert_int_equal(drift_ack(s, id, "agent:scout", "mcp:write", "fine", NULL, &err),
			 AIRLOCK_EDENIED);
	assert_non_null(strstr(err.msg, "only a person"));
	assert_int_equal(drift_ack(s, id, "human:maria", "cli", "  ", NULL, &err), AIRLOCK_EINVAL);
	assert_int_equal(drift_ack(s, 999, "human:maria", "cli", "x", NULL, &err),
			 AIRLOCK_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no drift alert A999"));
	assert_ok(drift_ack(s, id, "human:maria", "cli", "new ICP: tier 1 widened", &row, &err),
		  &err);
	assert_string_equal(json_string_value(json_object_get(row, "acked_by")), "human:maria");
	assert_string_equal(json_string_value(json_object_get(row, "ack_cause")),
			    "new ICP: tier 1 widened");
	json_decref(row);
	assert_int_equal(drift_ack(s, id, "human:dana", "cli", "again", NULL, &err),
			 AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "acknowledged by human:maria"));
	/* the report carries the acknowledgement */
	r = report_at(s, &cfg, 21, 0);
	a = active_alert(r, "tier1_share");
	assert_string_equal(json_string_value(json_object_get(a, "ack_cause")),
			    "new ICP: tier 1 widened");
	json_decref(r);
	testutil_store_close(&t);
}

static void test_nothing_stored_without_persist(void **state)
{
	struct day_spec after = normal;
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	json_t *r;
	int d;

	(void)state;
	drift_config_default(&cfg);
	after.p_tier1 = 0.7;
	for (d = 0; d < 20; d++)
		gen_day(s, d, &normal);
	gen_day(s, 20, &after);
	r = report_at(s, &cfg, 20, 0);
	assert_non_null(active_alert(r, "tier1_share"));
	assert_true(json_is_null(json_object_get(active_alert(r, "tier1_share"), "id")));
	json_decref(r);
	assert_int_equal(alert_rows(s, NULL), 0);
	testutil_store_close(&t);
}

static void test_baseline(void **state)
{
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	struct err err = {0};
	struct day_spec day = normal;
	json_t *r, *b = NULL;
	int d, found = -1;

	(void)state;
	drift_config_default(&cfg);
	assert_int_equal(drift_baseline_set(s, DAY0, DAY0 + 7 * DAY, "agent:scout", "mcp", &err),
			 AIRLOCK_EDENIED);
	assert_int_equal(drift_baseline_set(s, DAY0, DAY0, "human:maria", "cli", &err),
			 AIRLOCK_EINVAL);
	assert_int_equal(drift_baseline_clear(s, "human:maria", "cli", &err), AIRLOCK_ENOTFOUND);
	assert_ok(drift_baseline_set(s, DAY0, DAY0 + 10 * DAY, "human:maria", "cli", &err), &err);
	assert_ok(drift_baseline_get(s, &b, &err), &err);
	assert_string_equal(json_string_value(json_object_get(b, "from")), "2026-01-05T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(b, "set_by")), "human:maria");
	json_decref(b);
	/* against a pinned baseline the window's own test sees a creep that
	 * the rolling reference follows */
	for (d = 0; d < 10; d++)
		gen_day(s, d, &normal);
	for (d = 10; d < 40 && found < 0; d++) {
		day.p_tier1 = 0.2 + 0.015 * (d - 9);
		gen_day(s, d, &day);
		r = report_at(s, &cfg, d, 0);
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(r, "reference"), "kind")),
		    "baseline");
		if (active_alert(r, "tier1_share"))
			found = d;
		json_decref(r);
	}
	assert_true(found > 10 && found < 25);
	assert_ok(drift_baseline_clear(s, "human:maria", "cli", &err), &err);
	r = report_at(s, &cfg, found, 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "reference"), "kind")), "rolling");
	json_decref(r);
	testutil_store_close(&t);
}

/* An action-log row. The log's own table belongs to the audit module:
 * while it has not landed, the test makes a bare one and writes to it;
 * once it has, rows go through audit_append() at a pinned clock. */
static int log_is_ours;

static void log_table(struct store *s)
{
	struct err err = {0};
	int exists = 0;

	assert_ok(store_table_exists(s, "action_log", &exists, &err), &err);
	log_is_ours = !exists;
	if (log_is_ours)
		exec_ok(s, "CREATE TABLE action_log(seq INTEGER PRIMARY KEY, at TEXT NOT NULL,"
			   " principal TEXT NOT NULL, surface TEXT NOT NULL, tool TEXT NOT NULL,"
			   " instruction_version TEXT, decision TEXT, batch_id TEXT, body TEXT)");
}

static void log_call(struct store *s, time_t t, const char *principal, const char *tool,
		     const char *decision)
{
	struct audit_entry e = {0};
	struct store_stmt *st;
	struct err err = {0};
	char at[CLOCK_TEXT_LEN];

	clock_format(t, at, sizeof at);
	if (!log_is_ours) {
		setenv("AIRLOCK_NOW", at, 1);
		e.principal = principal;
		e.surface = "mcp:write";
		e.tool = tool;
		e.decision = decision;
		e.instruction_version = "v1";
		assert_ok(audit_append(s, &e, NULL, &err), &err);
		unsetenv("AIRLOCK_NOW");
		return;
	}
	assert_ok(
	    store_prepare(s,
			  "INSERT INTO action_log(at,principal,surface,tool,instruction_version,"
			  "decision) VALUES(?1,?2,'mcp:write',?3,'v1',?4)",
			  &st, &err),
	    &err);
	store_bind_text(st, 1, at);
	store_bind_text(st, 2, principal);
	store_bind_text(st, 3, tool);
	store_bind_text(st, 4, decision);
	assert_int_equal(store_step(st, &err), STORE_DONE);
	store_done(st);
}

static void test_log_source_audience_and_import(void **state)
{
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	struct err err = {0};
	json_t *r, *a, *c, *m;
	size_t i;
	int d, k, found_import = 0;

	(void)state;
	drift_config_default(&cfg);
	log_table(s);
	assert_ok(store_begin(s, &err), &err);
	for (d = 0; d < 20; d++)
		for (k = 0; k < 80; k++) {
			time_t at = (time_t)DAY0 + (time_t)d * DAY + (time_t)k * 1000;
			int refused = d >= 18 ? k % 2 == 0 : k % 20 == 0;

			log_call(s, at, "agent:writer", k % 4 ? "draft_email" : "search_accounts",
				 k % 4 && refused ? "refused" : "draft");
		}
	log_call(s, (time_t)DAY0 + 18 * DAY + 50, "human:dana", "import", "imported");
	assert_ok(store_commit(s, &err), &err);
	r = report_at(s, &cfg, 19, 1);
	m = find_metric(r, "agent_call_volume");
	assert_non_null(m);
	assert_true(fabs(json_real_value(json_object_get(m, "reference")) - 80) < 1e-9);
	assert_non_null(find_metric(r, "tool_mix"));
	a = active_alert(r, "audience_refusal_rate");
	assert_non_null(a);
	json_array_foreach(json_object_get(a, "causes"), i, c)
	{
		found_import |= !strcmp(json_string_value(json_object_get(c, "kind")), "import");
	}
	assert_true(found_import);
	json_decref(r);
	testutil_store_close(&t);
}

static void test_briefs_and_bad_rows(void **state)
{
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	json_t *r, *m;

	(void)state;
	drift_config_default(&cfg);
	exec_ok(s,
		"INSERT INTO brief(id,account_id,text,evidence,principal,created_at) VALUES"
		"('B1','A1','x','[\"S0-1\",\"S2-3\",\"nope\"]','agent:r','2026-01-14T10:00:00Z'),"
		"('B2','A1','x','not json','agent:r','2026-01-14T11:00:00Z'),"
		"('B3','A1','x','[]','agent:r','garbage time')");
	/* rows a generator would never write: broken JSON, odd tiers, bad times */
	exec_ok(s,
		"INSERT INTO batch(id,principal,surface,workflow,tool,action,state,radius,items,"
		"refused,created_at,updated_at) VALUES(900,'agent:x','cli','retier','t','update',"
		"'staged',1,1,'{broken','2026-01-14T09:00:00Z','2026-01-14T09:00:00Z'),"
		"(901,'agent:x','cli','retier','t','update','staged',1,1,'[]','yesterday','x')");
	exec_ok(
	    s,
	    "INSERT INTO batch_item(batch_id,idx,record_id,changes,before,restore,version,"
	    "evidence,verdict) VALUES(900,0,'A1','{\"tier\":\"high\"}','{}','{}',1,'[7]','fail'),"
	    "(900,1,'A1','nonsense','{}','{}',1,'nonsense',NULL),"
	    "(900,2,'A1','{\"tier\":null}','{}','{}',1,'[{\"id\":\"S1-1\"}]','pass')");
	r = report_at(s, &cfg, 9, 0);
	m = find_metric(r, "brief_signal_kinds");
	assert_non_null(m);
	assert_true(json_real_value(json_object_get(m, "count")) == 4); /* 3 cited + 1 none */
	assert_non_null(json_object_get(json_object_get(m, "shares"), "(unknown signal)"));
	m = find_metric(r, "tier_mix");
	assert_non_null(json_object_get(json_object_get(m, "shares"), "other"));
	assert_non_null(json_object_get(json_object_get(m, "shares"), "none"));
	m = find_metric(r, "proposal_signal_kinds");
	assert_non_null(json_object_get(json_object_get(m, "shares"), "(not a signal id)"));
	assert_non_null(json_object_get(json_object_get(m, "shares"), "funding"));
	m = find_metric(r, "audit_failure_rate");
	assert_true(fabs(json_real_value(json_object_get(m, "value")) - 0.5) < 1e-9);
	json_decref(r);
	testutil_store_close(&t);
}

static void test_prometheus(void **state)
{
	struct drift_config cfg;
	struct testdb t;
	struct store *s = open_book(&t);
	struct err err = {0};
	char *text = NULL, now[CLOCK_TEXT_LEN];
	int d;

	(void)state;
	drift_config_default(&cfg);
	for (d = 0; d < 10; d++)
		gen_day(s, d, &normal);
	exec_ok(s, "UPDATE batch SET workflow='re\"tier' WHERE id=(SELECT min(id) FROM batch)");
	clock_format((time_t)DAY0 + 9 * DAY + 3600, now, sizeof now);
	setenv("AIRLOCK_NOW", now, 1);
	assert_ok(drift_prometheus(s, &cfg, &text, &err), &err);
	unsetenv("AIRLOCK_NOW");
	assert_non_null(strstr(text, "# HELP airlock_drift_value "));
	assert_non_null(strstr(text, "# TYPE airlock_drift_value gauge\n"));
	assert_non_null(
	    strstr(text, "airlock_drift_value{metric=\"tier1_share\",workflow=\"retier\"} "));
	assert_non_null(strstr(
	    text, "airlock_drift_share{metric=\"tier_mix\",workflow=\"retier\",category=\"1\"} "));
	assert_non_null(strstr(text, "workflow=\"re\\\"tier\"")); /* escaped */
	assert_non_null(strstr(text, "airlock_drift_alerts_open 0\n"));
	assert_null(strstr(text, "inf"));
	free(text);
	assert_int_equal(alert_rows(s, NULL), 0); /* a scrape writes nothing */
	testutil_store_close(&t);
}

static void test_config_and_windows(void **state)
{
	struct drift_config c;
	struct err err = {0};
	int64_t w;

	(void)state;
	drift_config_default(&c);
	assert_ok(drift_config_check(&c, &err), &err);
	assert_ok(drift_config_set(&c, "js_alert", "0.2", &err), &err);
	assert_true(c.js_alert == 0.2);
	assert_ok(drift_config_set(&c, "window", "6h", &err), &err);
	assert_int_equal(c.window_seconds, 6 * 3600);
	assert_ok(drift_config_set(&c, "min_count", "50", &err), &err);
	assert_int_equal(c.min_count, 50);
	assert_int_equal(drift_config_set(&c, "min_count", "2.5", &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "min_count: '2.5' is not a whole number"));
	assert_int_equal(drift_config_set(&c, "js_alert", "lots", &err), AIRLOCK_EINVAL);
	assert_int_equal(drift_config_set(&c, "nonsense", "1", &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "unknown key 'nonsense'"));
	assert_ok(drift_config_set(&c, "lsh_bands", "15", &err), &err);
	assert_int_equal(drift_config_check(&c, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "must divide"));

	assert_ok(drift_parse_window("1h", &w, &err), &err);
	assert_int_equal(w, 3600);
	assert_ok(drift_parse_window("7d", &w, &err), &err);
	assert_int_equal(w, 7 * DAY);
	assert_ok(drift_parse_window("2w", &w, &err), &err);
	assert_int_equal(w, 14 * DAY);
	assert_int_equal(drift_parse_window("5h", &w, &err),
			 AIRLOCK_EINVAL); /* does not divide a day */
	assert_int_equal(drift_parse_window("30h", &w, &err), AIRLOCK_EINVAL);
	assert_int_equal(drift_parse_window("29d", &w, &err), AIRLOCK_EINVAL);
	assert_int_equal(drift_parse_window("1", &w, &err), AIRLOCK_EINVAL);
	assert_int_equal(drift_parse_window("d", &w, &err), AIRLOCK_EINVAL);
	assert_int_equal(drift_parse_window("-1d", &w, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "'-1d' is not a window"));

	/* days start at midnight UTC, weeks on Mondays */
	assert_int_equal(drift_window_start(DAY0 + 5 * DAY + 7, DAY), DAY0 + 5 * DAY);
	assert_int_equal(drift_window_start(DAY0 + 9 * DAY, 7 * DAY), DAY0 + 7 * DAY);
	assert_int_equal(drift_window_start(DAY0 + 7 * 3600 + 1, 6 * 3600), DAY0 + 6 * 3600);
	assert_int_equal(drift_window_start(100, DAY), 0);
	assert_int_equal(drift_window_start(-1, DAY), -DAY);

	assert_ok(drift_parse_alert_id("A12", &w, &err), &err);
	assert_int_equal(w, 12);
	assert_ok(drift_parse_alert_id("7", &w, &err), &err);
	assert_int_equal(drift_parse_alert_id("A", &w, &err), AIRLOCK_EINVAL);
	assert_int_equal(drift_parse_alert_id("A0", &w, &err), AIRLOCK_EINVAL);
	assert_int_equal(drift_parse_alert_id("B3", &w, &err), AIRLOCK_EINVAL);
}

/* The near-duplicate index's answers on a fixed random corpus: clusters of
 * sketches edited in a few positions (some just over the threshold, some
 * just under), spread in time so the horizon matters, and unrelated ones.
 * The figures were taken from the index before its prefilter was packed
 * in registers (and must not move with any change of how the index is
 * laid out): which entries were found, how many, and how many full
 * comparisons it made. */
static void test_lsh_answers_unchanged_on_a_random_corpus(void **state)
{
	enum { N = 20000, H = 128 };
	uint16_t *sigs = malloc((size_t)N * H * sizeof *sigs);
	uint64_t x = 0x243f6a8885a308d3ULL, digest = 1469598103934665603ULL;
	struct minhash_lsh *l;
	int64_t t = 1767571200;
	size_t i;
	int k, found = 0;

	(void)state;
	assert_non_null(sigs);
	for (i = 0; i < N; i++) {
		uint16_t *sg = sigs + i * H;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (i > 0 && x % 3 == 0) { /* a near copy of one of the last 500 */
			size_t from = i - 1 - (size_t)((x >> 8) % (i < 500 ? i : 500));
			int edits = (int)((x >> 20) % 40);

			memcpy(sg, sigs + from * H, H * sizeof *sg);
			for (k = 0; k < edits; k++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				sg[x % H] = (uint16_t)(x >> 32);
			}
		} else
			for (k = 0; k < H; k++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				sg[k] = (uint16_t)(x >> 16);
			}
	}
	l = minhash_lsh_new(sigs, N, 4000, H, 16, 0.8, 86400, 64);
	assert_non_null(l);
	for (i = 0; i < N; i++) {
		int f;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		t += (int64_t)(x % 40);
		f = minhash_lsh_add(l, i, t);
		assert_true(f == 0 || f == 1);
		found += f;
		digest = (digest ^ (uint64_t)f) * 1099511628211ULL;
	}
	print_message("lsh: %d found, %llu checks, digest %016llx\n", found,
		      (unsigned long long)minhash_lsh_checks(l), (unsigned long long)digest);
	assert_int_equal(found, LSH_GOLDEN_FOUND);
	assert_int_equal(minhash_lsh_checks(l), LSH_GOLDEN_CHECKS);
	assert_true(digest == LSH_GOLDEN_DIGEST);
	minhash_lsh_free(l);
	free(sigs);
}

/* The per-scan time parse with its kept minute gives drift_time's answer
 * for every text, whatever came before it: the same minute, the next
 * one, other forms, broken tails, texts shorter than a minute. */
static void test_time_memo_same_as_parse(void **state)
{
	static const char *const tails[] = {"Z", ".123456Z", "", "Z ", ".12345Z", "+00:00", "X"};
	struct drift_time_memo memo = {{0}, 0, 0};
	char text[64];
	uint64_t x = 99;
	int64_t a, b;
	int i, ra, rb;

	(void)state;
	for (i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		switch (x % 8) {
		case 0: snprintf(text, sizeof text, "2026-01-05T10:%02d", (int)(x >> 8) % 62); break;
		case 1: snprintf(text, sizeof text, "2026-01-05"); break;
		case 2: snprintf(text, sizeof text, "2026-01-05T10:0"); break;
		case 3:
			snprintf(text, sizeof text, "2026-01-%02dT%02d:%02d:%02d%s", 1 + (int)(x >> 8) % 31,
				 (int)(x >> 16) % 25, (int)(x >> 24) % 61, (int)(x >> 32) % 62,
				 tails[(x >> 40) % 7]);
			break;
		default:
			snprintf(text, sizeof text, "2026-01-05T10:%02d:%02d%s", (int)(x >> 8) % 3,
				 (int)(x >> 16) % 62, tails[(x >> 24) % 7]);
		}
		a = b = -7;
		ra = drift_time(text, &a);
		rb = drift_time_memo(&memo, text, &b);
		if (ra != rb || (ra == 0 && a != b))
			fail_msg("'%s': drift_time %d (%lld), with the kept minute %d (%lld)", text, ra,
				 (long long)a, rb, (long long)b);
	}
	assert_int_equal(drift_time_memo(&memo, NULL, &a), -1);
}

/* Sketches of random texts of every size from one shingle to a few
 * hundred (a short text leaves most bins empty, which borrow from
 * others), at three sketch sizes: the digest of every sketch was taken
 * from minhash_sketch before its borrowing was read from a table. */
static void test_sketches_unchanged_on_a_random_corpus(void **state)
{
	static const int sizes[3] = {128, 64, 256};
	uint64_t sh[400], x = 0x13198a2e03707344ULL, digest = 1469598103934665603ULL;
	uint16_t sig[MINHASH_MAX];
	int z, k, j, n;

	(void)state;
	for (z = 0; z < 3; z++)
		for (k = 0; k < 3000; k++) {
			n = 1 + k % 400;
			for (j = 0; j < n; j++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				sh[j] = x * 0x9e3779b97f4a7c15ULL;
			}
			assert_int_equal(minhash_sketch(sh, (size_t)n, sizes[z], sig), 0);
			for (j = 0; j < sizes[z]; j++)
				digest = (digest ^ sig[j]) * 1099511628211ULL;
		}
	print_message("sketch digest %016llx\n", (unsigned long long)digest);
	assert_true(digest == SKETCH_GOLDEN_DIGEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_and_windows),
	    cmocka_unit_test(test_stable_stream_raises_nothing),
	    cmocka_unit_test(test_step_in_tier1_share),
	    cmocka_unit_test(test_policy_change_is_a_cause),
	    cmocka_unit_test(test_slow_creep_caught_by_ewma),
	    cmocka_unit_test(test_collapse_of_signal_diversity),
	    cmocka_unit_test(test_rise_in_duplicate_outreach),
	    cmocka_unit_test(test_drafts_out_of_order),
	    cmocka_unit_test(test_tiny_windows_raise_nothing),
	    cmocka_unit_test(test_alerts_idempotent_and_ack),
	    cmocka_unit_test(test_nothing_stored_without_persist),
	    cmocka_unit_test(test_baseline),
	    cmocka_unit_test(test_log_source_audience_and_import),
	    cmocka_unit_test(test_briefs_and_bad_rows),
	    cmocka_unit_test(test_prometheus),
	    cmocka_unit_test(test_lsh_answers_unchanged_on_a_random_corpus),
	    cmocka_unit_test(test_time_memo_same_as_parse),
	    cmocka_unit_test(test_sketches_unchanged_on_a_random_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
