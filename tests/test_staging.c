/* test_staging.c — the batch state machine, separation of duties, apply,
 * undo, expiry and sample verdicts. */
#include "fixtures.h"

#include "clock.h"
#include "staging.h"

static int setup(void **state)
{
	struct testdb *t = calloc(1, sizeof *t);

	testutil_store_open(t);
	fixture_book(t->s, 30);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct testdb *t = *state;

	unsetenv("AIRLOCK_NOW");
	testutil_store_close(t);
	free(t);
	return 0;
}

/* Stages a batch setting `field` = value on accounts first..last, the way
 * the gate does (before-image and version from the book). */
static int64_t stage(struct store *s, const char *principal, enum staging_state state, int first,
		     int last, const char *field, json_t *value)
{
	struct staging_spec spec = {0};
	struct err err = {0};
	json_t *items = json_array(), *a;
	char id[32];
	int64_t bid = 0;
	int i;

	for (i = first; i <= last; i++) {
		snprintf(id, sizeof id, "A%03d", i);
		a = fixture_account(s, id);
		json_array_append_new(items, json_pack("{s:s,s:{s:O},s:o,s:I,s:[s],s:[s]}",
						       "record_id", id, "changes", field, value,
						       "before", a, "version",
						       json_integer_value(json_object_get(a, "version")),
						       "reasons", "r", "evidence", "S001"));
	}
	json_decref(value);
	spec.principal = principal;
	spec.surface = "cli";
	spec.workflow = "retier";
	spec.tool = "propose_changes";
	spec.action = "update";
	spec.state = state;
	spec.ttl_seconds = 3600;
	spec.radius = last - first + 1;
	assert_ok(staging_create(s, &spec, items, &bid, &err), &err);
	json_decref(items);
	return bid;
}

static const char *state_of(struct store *s, int64_t id)
{
	static char buf[32];
	struct err err = {0};
	json_t *b;

	assert_ok(staging_get_header(s, id, &b, &err), &err);
	snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(b, "state")));
	json_decref(b);
	return buf;
}

static void test_transition_table(void **state)
{
	/* rows: from; columns: to (staged..expired); 1 = legal */
	static const int legal[STAGE_STATE_COUNT][STAGE_STATE_COUNT] = {
		/* staged */ {0, 1, 1, 1, 0, 0, 1, 1},
		/* sampled */ {0, 0, 1, 1, 0, 0, 1, 1},
		/* blocked */ {0, 0, 0, 1, 0, 0, 1, 1},
		/* approved */ {0, 0, 0, 0, 1, 0, 0, 1},
		/* applied */ {0, 0, 0, 0, 0, 1, 0, 0},
		/* undone */ {0, 0, 0, 0, 0, 0, 0, 0},
		/* rejected */ {0, 0, 0, 0, 0, 0, 0, 0},
		/* expired */ {0, 0, 0, 0, 0, 0, 0, 0},
	};
	int f, t;

	(void)state;
	for (f = 0; f < STAGE_STATE_COUNT; f++)
		for (t = 0; t < STAGE_STATE_COUNT; t++)
			if (staging_transition_ok(f, t) != legal[f][t])
				fail_msg("%s → %s should be %s", staging_state_name(f),
					 staging_state_name(t), legal[f][t] ? "legal" : "illegal");
}

/* A principal too long for the batch head must not be cut: cut, it no
 * longer equals its owner, who could then approve their own proposal (and a
 * person whose name is the cut prefix would be taken for the proposer). */
static void test_long_principal_is_not_cut(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	char who[240];
	int64_t id;

	memcpy(who, "human:", 6);
	memset(who + 6, 'm', sizeof who - 7);
	who[sizeof who - 1] = '\0';
	id = stage(t->s, who, STAGE_BLOCKED, 1, 2, "tier", json_integer(1));
	assert_int_not_equal(staging_approve(t->s, id, who, "cli", &err), 0);
	assert_non_null(strstr(err.msg, "batch principal is too long"));
	assert_string_equal(state_of(t->s, id), "blocked");
}

static void test_separation_of_duties(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL, *res = NULL, *sample;
	int64_t id = stage(t->s, "agent:scout", STAGE_BLOCKED, 1, 3, "tier", json_integer(1));
	int64_t own = stage(t->s, "human:maria", STAGE_BLOCKED, 4, 5, "tier", json_integer(1));

	/* no agent may use a human verb */
	assert_int_equal(staging_approve(t->s, id, "agent:scout", "cli", &err), AIRLOCK_EDENIED);
	assert_int_equal(staging_approve(t->s, id, "agent:other", "cli", &err), AIRLOCK_EDENIED);
	assert_int_equal(staging_reject(t->s, id, "agent:scout", "cli", "no", &err), AIRLOCK_EDENIED);
	assert_int_equal(staging_apply(t->s, id, "agent:scout", "cli", 0, &rep, &err),
			 AIRLOCK_EDENIED);
	assert_int_equal(staging_undo(t->s, id, "agent:scout", "cli", 0, &rep, &err),
			 AIRLOCK_EDENIED);
	assert_int_equal(staging_approve(t->s, id, "policy:unattended", "cli", &err),
			 AIRLOCK_EDENIED);
	assert_int_equal(staging_approve(t->s, id, "human:", "cli", &err), AIRLOCK_EDENIED);
	/* a person may not approve or judge their own proposal */
	assert_int_equal(staging_approve(t->s, own, "human:maria", "cli", &err), AIRLOCK_EDENIED);
	assert_non_null(strstr(err.msg, "another person"));
	assert_string_equal(state_of(t->s, own), "blocked");
	/* an unattended apply of a batch the policy did not let through */
	assert_ok(staging_approve(t->s, id, "human:lee", "cli", &err), &err);
	assert_int_equal(staging_apply_unattended(t->s, id, &rep, &err), AIRLOCK_EDENIED);
	own = stage(t->s, "human:maria", STAGE_STAGED, 6, 7, "tier", json_integer(1));
	sample = json_pack("{s:[i]}", "items", 1);
	assert_int_equal(staging_mark_sampled(t->s, own, "human:maria", "cli", sample, &err),
			 AIRLOCK_EDENIED);
	assert_ok(staging_mark_sampled(t->s, own, "human:lee", "cli", sample, &err), &err);
	assert_int_equal(staging_judge(t->s, own, 1, "human:maria", "cli", 1, NULL, &res, &err),
			 AIRLOCK_EDENIED);
	json_decref(sample);
}

static void test_illegal_transitions(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL;
	int64_t id = stage(t->s, "agent:scout", STAGE_STAGED, 1, 3, "tier", json_integer(1));

	assert_int_equal(staging_apply(t->s, id, "human:lee", "cli", 0, &rep, &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "is staged"));
	assert_int_equal(staging_undo(t->s, id, "human:lee", "cli", 0, &rep, &err), AIRLOCK_ESTATE);
	assert_ok(staging_reject(t->s, id, "human:lee", "cli", "wrong", &err), &err);
	assert_int_equal(staging_approve(t->s, id, "human:lee", "cli", &err), AIRLOCK_ESTATE);
	assert_int_equal(staging_reject(t->s, id, "human:lee", "cli", "again", &err),
			 AIRLOCK_ESTATE);
	assert_int_equal(staging_reject(t->s, id, "human:lee", "cli", "", &err), AIRLOCK_EINVAL);
	assert_int_equal(staging_approve(t->s, 9999, "human:lee", "cli", &err), AIRLOCK_ENOTFOUND);
	id = stage(t->s, "agent:scout", STAGE_BLOCKED, 1, 3, "tier", json_integer(1));
	assert_ok(staging_approve(t->s, id, "human:lee", "cli", &err), &err);
	assert_ok(staging_apply(t->s, id, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_int_equal(staging_apply(t->s, id, "human:lee", "cli", 0, &rep, &err), AIRLOCK_ESTATE);
	assert_int_equal(staging_reject(t->s, id, "human:lee", "cli", "late", &err), AIRLOCK_ESTATE);
	assert_ok(staging_undo(t->s, id, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_int_equal(staging_undo(t->s, id, "human:lee", "cli", 0, &rep, &err), AIRLOCK_ESTATE);
	assert_string_equal(state_of(t->s, id), "undone");
}

/* The book's images of A001..A0n without version and updated_at. */
static json_t *snapshot(struct store *s, int n)
{
	json_t *all = json_array(), *a;
	char id[32];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof id, "A%03d", i);
		a = fixture_account(s, id);
		json_object_del(a, "version");
		json_object_del(a, "updated_at");
		json_array_append_new(all, a);
	}
	return all;
}

static void test_apply_and_undo_exact(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL, *before = snapshot(t->s, 30), *after, *a;
	int64_t id = stage(t->s, "agent:scout", STAGE_BLOCKED, 1, 10, "tier", json_integer(1));
	int64_t id2 = stage(t->s, "agent:scout", STAGE_BLOCKED, 11, 12, "custom.score",
			    json_integer(42));

	assert_ok(staging_approve(t->s, id, "human:lee", "cli", &err), &err);
	assert_ok(staging_apply(t->s, id, "human:lee", "cli", 0, &rep, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(rep, "applied")), 10);
	json_decref(rep);
	a = fixture_account(t->s, "A005");
	assert_int_equal(json_integer_value(json_object_get(a, "tier")), 1);
	assert_int_equal(json_integer_value(json_object_get(a, "version")), 2);
	json_decref(a);
	assert_ok(staging_approve(t->s, id2, "human:lee", "cli", &err), &err);
	assert_ok(staging_apply(t->s, id2, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	a = fixture_account(t->s, "A011");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "custom"), "score")),
			 42);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "custom"), "source")), "fixture");
	json_decref(a);
	assert_ok(staging_undo(t->s, id2, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_ok(staging_undo(t->s, id, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	after = snapshot(t->s, 30);
	assert_true(json_equal(before, after));
	a = fixture_account(t->s, "A005");
	assert_int_equal(json_integer_value(json_object_get(a, "version")), 3); /* never goes back */
	json_decref(a);
	json_decref(before);
	json_decref(after);
}

static void human_edit(struct store *s, const char *id, const char *owner)
{
	struct err err = {0};
	json_t *f = json_pack("{s:s}", "owner", owner);

	assert_ok(book_update(s, BOOK_ACCOUNT, id, f, -1, NULL, &err), &err);
	json_decref(f);
}

static void test_conflicts_on_apply(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL, *a;
	int64_t id = stage(t->s, "agent:scout", STAGE_BLOCKED, 1, 5, "tier", json_integer(1));

	assert_ok(staging_approve(t->s, id, "human:lee", "cli", &err), &err);
	human_edit(t->s, "A003", "zoe"); /* changed after staging */
	assert_int_equal(staging_apply(t->s, id, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	assert_int_equal(json_array_size(json_object_get(rep, "conflicts")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(rep, "conflicts"), 0), "record_id")),
			    "A003");
	json_decref(rep);
	/* nothing was applied */
	a = fixture_account(t->s, "A001");
	assert_int_equal(json_integer_value(json_object_get(a, "tier")), 3);
	json_decref(a);
	assert_string_equal(state_of(t->s, id), "approved");
	assert_ok(staging_apply(t->s, id, "human:lee", "cli", 1, &rep, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(rep, "applied")), 4);
	json_decref(rep);
	a = fixture_account(t->s, "A003");
	assert_int_equal(json_integer_value(json_object_get(a, "tier")), 3);
	assert_string_equal(json_string_value(json_object_get(a, "owner")), "zoe");
	json_decref(a);
	a = fixture_account(t->s, "A001");
	assert_int_equal(json_integer_value(json_object_get(a, "tier")), 1);
	json_decref(a);
	/* the skipped item is marked, and undo leaves it alone */
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM batch_item WHERE state='conflict'"),
			 1);
	assert_ok(staging_undo(t->s, id, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	a = fixture_account(t->s, "A003");
	assert_string_equal(json_string_value(json_object_get(a, "owner")), "zoe");
	json_decref(a);
}

static void test_undo_after_later_edit(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL, *a;
	int64_t id = stage(t->s, "agent:scout", STAGE_BLOCKED, 1, 5, "tier", json_integer(1));

	assert_ok(staging_approve(t->s, id, "human:lee", "cli", &err), &err);
	assert_ok(staging_apply(t->s, id, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	human_edit(t->s, "A002", "zoe");
	assert_int_equal(staging_undo(t->s, id, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	assert_int_equal(json_array_size(json_object_get(rep, "conflicts")), 1);
	json_decref(rep);
	a = fixture_account(t->s, "A001");
	assert_int_equal(json_integer_value(json_object_get(a, "tier")), 1); /* nothing undone */
	json_decref(a);
	assert_ok(staging_undo(t->s, id, "human:lee", "cli", 1, &rep, &err), &err);
	json_decref(rep);
	a = fixture_account(t->s, "A002");
	assert_int_equal(json_integer_value(json_object_get(a, "tier")), 3);
	assert_string_equal(json_string_value(json_object_get(a, "owner")), "zoe");
	json_decref(a);
}

/* From the attacker's side: a batch row edited in the database (or a bug
 * upstream of the gate) names a field the book keeps itself. Apply must not
 * rename a record, rewind its version or forge its time: the book refuses
 * the field, and nothing of the batch is applied. */
static void test_tampered_item_cannot_touch_system_fields(void **state)
{
	static const char *const fields[] = {"id", "version", "updated_at", "drop_me"};
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL, *a, *v;
	size_t i;

	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		int64_t id;

		v = !strcmp(fields[i], "version") ? json_integer(1) : json_string("Z999");
		id = stage(t->s, "agent:scout", STAGE_BLOCKED, 1, 2, fields[i], v);
		assert_ok(staging_approve(t->s, id, "human:lee", "cli", &err), &err);
		assert_int_equal(staging_apply(t->s, id, "human:lee", "cli", 1, &rep, &err),
				 AIRLOCK_ECORRUPT);
		assert_non_null(strstr(err.msg, fields[i]));
		json_decref(rep);
		rep = NULL;
		assert_string_equal(state_of(t->s, id), "approved");
		a = fixture_account(t->s, "A001");
		assert_int_equal(json_integer_value(json_object_get(a, "version")), 1);
		json_decref(a);
		assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM account WHERE id='Z999'"),
				 0);
		assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM account WHERE version<>1"),
				 0);
	}
}

/* A stale custom-field item: a person set another custom key after the
 * agent's batch was staged. Apply must not write the agent's stale custom
 * object over the person's key; with --skip-conflicts the person's edit
 * stays and the other items apply. Undo after a person's later custom edit
 * is refused, and --force restores the before-image whole. */
static void test_stale_custom_item_keeps_the_later_edit(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL, *a, *f;
	int64_t id = stage(t->s, "agent:scout", STAGE_BLOCKED, 1, 3, "custom.score",
			   json_integer(7));

	assert_ok(staging_approve(t->s, id, "human:lee", "cli", &err), &err);
	f = json_pack("{s:s}", "custom.note", "call back");
	assert_ok(book_update(t->s, BOOK_ACCOUNT, "A002", f, -1, NULL, &err), &err);
	json_decref(f);
	assert_int_equal(staging_apply(t->s, id, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	json_decref(rep);
	assert_ok(staging_apply(t->s, id, "human:lee", "cli", 1, &rep, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(rep, "applied")), 2);
	json_decref(rep);
	a = fixture_account(t->s, "A002");
	assert_null(json_object_get(json_object_get(a, "custom"), "score"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "custom"), "note")),
			    "call back");
	json_decref(a);
	/* a person edits A003's custom after the apply: undo is refused */
	f = json_pack("{s:s}", "custom.note", "mine");
	assert_ok(book_update(t->s, BOOK_ACCOUNT, "A003", f, -1, NULL, &err), &err);
	json_decref(f);
	assert_int_equal(staging_undo(t->s, id, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	json_decref(rep);
	a = fixture_account(t->s, "A001");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "custom"), "score")),
			 7);
	json_decref(a);
	assert_ok(staging_undo(t->s, id, "human:lee", "cli", 1, &rep, &err), &err);
	json_decref(rep);
	a = fixture_account(t->s, "A003");
	assert_null(json_object_get(json_object_get(a, "custom"), "score"));
	assert_null(json_object_get(json_object_get(a, "custom"), "note"));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "custom"), "source")), "fixture");
	json_decref(a);
}

static void test_expiry(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	char future[32];
	int64_t n = 0;
	int64_t id = stage(t->s, "agent:scout", STAGE_BLOCKED, 1, 2, "tier", json_integer(1));
	int64_t id2 = stage(t->s, "agent:scout", STAGE_BLOCKED, 3, 4, "tier", json_integer(1));

	assert_ok(staging_approve(t->s, id2, "human:lee", "cli", &err), &err);
	snprintf(future, sizeof future, "%lld", (long long)clock_now() + 7200);
	setenv("AIRLOCK_NOW", future, 1);
	/* even before the sweep, nothing expired can be approved or applied */
	assert_int_equal(staging_approve(t->s, id, "human:lee", "cli", &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "expired"));
	assert_ok(staging_expire(t->s, &n, &err), &err);
	assert_int_equal(n, 2);
	assert_string_equal(state_of(t->s, id), "expired");
	assert_string_equal(state_of(t->s, id2), "expired");
	unsetenv("AIRLOCK_NOW");
}

static void test_sample_verdicts(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *res = NULL, *sample = json_pack("{s:[i,i,i],s:s}", "items", 1, 3, 5, "seed", "ab");
	int64_t id = stage(t->s, "agent:scout", STAGE_STAGED, 1, 6, "tier", json_integer(1));
	int64_t id2 = stage(t->s, "agent:scout", STAGE_STAGED, 7, 12, "tier", json_integer(1));

	assert_int_equal(staging_judge(t->s, id, 1, "human:lee", "cli", 1, NULL, &res, &err),
			 AIRLOCK_ESTATE); /* no sample yet */
	assert_ok(staging_mark_sampled(t->s, id, "human:lee", "cli", sample, &err), &err);
	assert_ok(staging_judge(t->s, id, 1, "human:lee", "cli", 1, NULL, &res, &err), &err);
	assert_string_equal(json_string_value(json_object_get(res, "state")), "sampled");
	json_decref(res);
	assert_ok(staging_judge(t->s, id, 3, "human:lee", "cli", 1, NULL, &res, &err), &err);
	json_decref(res);
	assert_ok(staging_judge(t->s, id, 5, "human:lee", "cli", 1, "fine", &res, &err), &err);
	assert_string_equal(json_string_value(json_object_get(res, "state")), "approved");
	json_decref(res);
	/* one fail sends the whole batch back */
	assert_ok(staging_mark_sampled(t->s, id2, "human:lee", "cli", sample, &err), &err);
	assert_ok(staging_judge(t->s, id2, 3, "human:lee", "cli", 0, "wrong tier", &res, &err), &err);
	assert_string_equal(json_string_value(json_object_get(res, "state")), "blocked");
	json_decref(res);
	assert_int_equal(staging_judge(t->s, id2, 99, "human:lee", "cli", 1, NULL, &res, &err),
			 AIRLOCK_ESTATE);
	json_decref(sample);
}

/* Stages an approved merge of `source` into `survivor`, as the gate stages
 * it (the source's image and version at staging time). */
static int64_t stage_merge(struct store *s, const char *source, const char *survivor)
{
	struct staging_spec spec = {0};
	struct err err = {0};
	json_t *a = fixture_account(s, source), *items;
	int64_t bid = 0;

	items = json_pack("[{s:s,s:{s:s},s:O,s:O,s:[s],s:[]}]", "record_id", source, "changes",
			  "merged_into", survivor, "before", a, "version",
			  json_object_get(a, "version"), "reasons", "duplicate");
	json_decref(a);
	spec.principal = "agent:scout";
	spec.surface = "mcp:write";
	spec.workflow = "merge";
	spec.tool = "propose_merge";
	spec.action = "merge";
	spec.state = STAGE_BLOCKED;
	spec.radius = 4;
	assert_ok(staging_create(s, &spec, items, &bid, &err), &err);
	json_decref(items);
	assert_ok(staging_approve(s, bid, "human:lee", "cli", &err), &err);
	return bid;
}

static const char *merged_into(struct store *s, const char *id)
{
	static char buf[64];
	json_t *a = fixture_account(s, id);
	const char *v = json_string_value(json_object_get(a, "merged_into"));

	snprintf(buf, sizeof buf, "%s", v ? v : "(live)");
	json_decref(a);
	return buf;
}

static void assert_i8(struct store *s)
{
	struct err err = {0};
	json_t *v = NULL;

	assert_ok(staging_check_merges(s, &v, &err), &err);
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
}

static const char *first_rule(json_t *rep)
{
	return json_string_value(
		json_object_get(json_array_get(json_object_get(rep, "conflicts"), 0), "rule"));
}

/* A hostile agent stages A→B and B→A while both are live; a reviewer
 * approves both. The second must not close the cycle at apply. */
static void test_merge_cycle_refused_at_apply(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL;
	int64_t ab = stage_merge(t->s, "A001", "A002"), ba = stage_merge(t->s, "A002", "A001");

	assert_ok(staging_apply(t->s, ab, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_int_equal(staging_apply(t->s, ba, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	assert_non_null(strstr(err.msg, "cycle"));
	assert_string_equal(first_rule(rep), "merge_cycle");
	json_decref(rep);
	assert_string_equal(merged_into(t->s, "A002"), "(live)");
	assert_string_equal(state_of(t->s, ba), "approved");
	/* skipping conflicts applies the rest, which is nothing here */
	assert_ok(staging_apply(t->s, ba, "human:lee", "cli", 1, &rep, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(rep, "applied")), 0);
	json_decref(rep);
	assert_string_equal(merged_into(t->s, "A002"), "(live)");
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM contact WHERE account_id='A002'"),
			 4);
	assert_i8(t->s);
}

/* Y→Z applied before X→Y: X would be merged into a merged account. */
static void test_merge_into_merged_refused(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL;
	int64_t xy = stage_merge(t->s, "A003", "A004"), yz = stage_merge(t->s, "A004", "A005");

	assert_ok(staging_apply(t->s, yz, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_int_equal(staging_apply(t->s, xy, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	assert_string_equal(first_rule(rep), "survivor_merged");
	assert_non_null(strstr(err.msg, "merged into 'A005'"));
	json_decref(rep);
	assert_string_equal(merged_into(t->s, "A003"), "(live)");
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM contact WHERE account_id='A003'"),
			 2);
	/* the same source merged twice: the second finds it merged */
	xy = stage_merge(t->s, "A006", "A007");
	yz = stage_merge(t->s, "A006", "A008");
	assert_ok(staging_apply(t->s, xy, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_int_equal(staging_apply(t->s, yz, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	assert_string_equal(first_rule(rep), "source_merged");
	json_decref(rep);
	assert_i8(t->s);
}

/* Contacts and signals added to the source after staging move too. */
static void test_merge_moves_late_children(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL, *r;
	int64_t id = stage_merge(t->s, "A009", "A010");

	r = json_pack("{s:s,s:s,s:s,s:s}", "id", "C-late", "account_id", "A009", "name", "Late",
		      "email", "late@company9.test");
	assert_ok(book_insert(t->s, BOOK_CONTACT, r, &err), &err);
	json_decref(r);
	r = json_pack("{s:s,s:s,s:s,s:s}", "id", "S-late", "account_id", "A009", "kind", "news",
		      "observed_at", "2026-12-01");
	assert_ok(book_insert(t->s, BOOK_SIGNAL, r, &err), &err);
	json_decref(r);
	assert_ok(staging_apply(t->s, id, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM contact WHERE account_id='A009'"),
			 0);
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM signal WHERE account_id='A009'"),
			 0);
	assert_int_equal(
		fixture_count(t->s, "SELECT count(*) FROM contact WHERE id='C-late' AND account_id='A010'"),
		1);
	assert_i8(t->s);
	/* and undo takes them back with the others */
	assert_ok(staging_undo(t->s, id, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM contact WHERE account_id='A009'"),
			 3);
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM signal WHERE account_id='A009'"),
			 2);
}

/* Undo restores a merge exactly; it refuses while a child it moved sits
 * elsewhere, and a merge of a survivor that holds merged accounts is
 * refused at apply. */
static void test_merge_undo(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *rep = NULL;
	int64_t m1 = stage_merge(t->s, "A011", "A012"), m2 = stage_merge(t->s, "A012", "A013");
	char want[32];

	assert_ok(staging_apply(t->s, m1, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_string_equal(merged_into(t->s, "A011"), "A012");
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM contact WHERE account_id='A012'"),
			 4);
	/* merging the survivor on would leave A011 merged into a merged account */
	assert_int_equal(staging_apply(t->s, m2, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	assert_string_equal(first_rule(rep), "source_has_merged");
	json_decref(rep);
	assert_i8(t->s);
	/* a contact m1 moved is elsewhere now: undo cannot restore exactly */
	assert_ok(store_exec(t->s, "UPDATE contact SET account_id='A020' WHERE id='C011-1'", &err),
		  &err);
	assert_int_equal(staging_undo(t->s, m1, "human:lee", "cli", 1, &rep, &err),
			 AIRLOCK_ECONFLICT);
	assert_non_null(strstr(err.msg, "C011-1"));
	json_decref(rep);
	assert_string_equal(merged_into(t->s, "A011"), "A012");
	assert_ok(store_exec(t->s, "UPDATE contact SET account_id='A012' WHERE id='C011-1'", &err),
		  &err);
	/* a book from before apply re-checked merges: m2 applied over m1 */
	assert_ok(store_exec(t->s, "UPDATE account SET merged_into=NULL WHERE id='A011'", &err),
		  &err);
	assert_ok(staging_apply(t->s, m2, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_ok(store_exec(t->s, "UPDATE account SET merged_into='A012' WHERE id='A011'", &err),
		  &err);
	assert_int_equal(staging_undo(t->s, m1, "human:lee", "cli", 0, &rep, &err),
			 AIRLOCK_ECONFLICT);
	snprintf(want, sizeof want, "undo batch %lld first", (long long)m2);
	assert_non_null(strstr(err.msg, want));
	json_decref(rep);
	assert_string_equal(state_of(t->s, m1), "applied");
	/* in reverse order both undo, exactly */
	assert_ok(staging_undo(t->s, m2, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_ok(staging_undo(t->s, m1, "human:lee", "cli", 0, &rep, &err), &err);
	json_decref(rep);
	assert_string_equal(merged_into(t->s, "A011"), "(live)");
	assert_string_equal(merged_into(t->s, "A012"), "(live)");
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM contact WHERE account_id='A011'"
					     " AND id LIKE 'C011-%'"),
			 2);
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM contact WHERE account_id='A012'"
					     " AND id LIKE 'C012-%'"),
			 2);
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM contact WHERE account_id='A013'"),
			 2);
	assert_int_equal(fixture_count(t->s, "SELECT count(*) FROM signal WHERE id='S011'"
					     " AND account_id='A011'"),
			 1);
	assert_i8(t->s);
}

/* I8 on a database someone edited by hand: each breach is named. */
static void test_check_merges_names_breaches(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *v = NULL, *e;
	size_t i;
	int seen[4] = {0};

	assert_i8(t->s);
	assert_ok(store_exec(t->s,
			     "UPDATE account SET merged_into='A015' WHERE id='A014';"
			     "UPDATE account SET merged_into='A014' WHERE id='A015';"
			     "UPDATE account SET merged_into='A014' WHERE id='A016';"
			     "UPDATE account SET merged_into='nowhere' WHERE id='A017';",
			     &err),
		  &err);
	assert_int_equal(staging_check_merges(t->s, &v, &err), AIRLOCK_ECORRUPT);
	assert_non_null(strstr(err.msg, "I8"));
	json_array_foreach(v, i, e)
	{
		const char *rule = json_string_value(json_object_get(e, "rule"));

		seen[0] |= !strcmp(rule, "merge_cycle");
		seen[1] |= !strcmp(rule, "merged_into_merged");
		seen[2] |= !strcmp(rule, "merged_into_missing");
		seen[3] |= !strcmp(rule, "contact_on_merged");
	}
	json_decref(v);
	for (i = 0; i < 4; i++)
		assert_true(seen[i]);
}

static const char *last_decision(struct store *s, int64_t batch_id)
{
	static char buf[64];
	struct store_stmt *st;
	struct err err = {0};
	char id[32];

	buf[0] = '\0';
	snprintf(id, sizeof id, "%lld", (long long)batch_id);
	assert_ok(store_prepare(s, "SELECT decision FROM action_log WHERE batch_id=?1"
				   " ORDER BY seq DESC LIMIT 1", &st, &err), &err);
	store_bind_text(st, 1, id);
	if (store_step(st, &err) == STORE_ROW)
		snprintf(buf, sizeof buf, "%s", store_col_text(st, 0));
	store_done(st);
	return buf;
}

/* A reviewer approves a batch with 1 of 3 drawn items judged (or none
 * drawn, or a failed sample): a plain approve says what is unfinished; only
 * an override with a reason lets it through, recorded as such. */
static void test_approve_past_sample_is_override(void **state)
{
	struct testdb *t = *state;
	struct err err = {0};
	json_t *res = NULL, *b, *sample = json_pack("{s:[i,i,i],s:s}", "items", 1, 2, 3, "seed", "ab");
	int64_t staged = stage(t->s, "agent:scout", STAGE_STAGED, 1, 5, "tier", json_integer(1));
	int64_t sampled = stage(t->s, "agent:scout", STAGE_STAGED, 6, 10, "tier", json_integer(1));
	int64_t failed = stage(t->s, "agent:scout", STAGE_STAGED, 11, 15, "tier", json_integer(1));
	int64_t blocked = stage(t->s, "agent:scout", STAGE_BLOCKED, 16, 17, "tier", json_integer(1));

	/* never sampled */
	assert_int_equal(staging_approve(t->s, staged, "human:lee", "cli", &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "never sampled"));
	assert_non_null(strstr(err.msg, "override"));
	assert_string_equal(state_of(t->s, staged), "staged");
	/* 1 of 3 judged */
	assert_ok(staging_mark_sampled(t->s, sampled, "human:lee", "cli", sample, &err), &err);
	assert_ok(staging_judge(t->s, sampled, 2, "human:lee", "cli", 1, NULL, &res, &err), &err);
	json_decref(res);
	assert_int_equal(staging_approve(t->s, sampled, "human:lee", "cli", &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "unfinished: 1 of 3 drawn item(s) judged"));
	assert_string_equal(state_of(t->s, sampled), "sampled");
	/* an override needs a reason, and a person other than the proposer */
	assert_int_equal(staging_approve_override(t->s, sampled, "human:lee", "cli", "", &err),
			 AIRLOCK_EINVAL);
	assert_int_equal(staging_approve_override(t->s, sampled, "agent:scout", "cli", "x", &err),
			 AIRLOCK_EDENIED);
	assert_ok(staging_approve_override(t->s, sampled, "human:lee", "cli",
					   "read all five by hand", &err),
		  &err);
	assert_string_equal(state_of(t->s, sampled), "approved");
	assert_ok(staging_get_header(t->s, sampled, &b, &err), &err);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(b, "override"), "reason")),
		"read all five by hand");
	assert_non_null(strstr(
		json_string_value(json_object_get(json_object_get(b, "override"), "skipped")),
		"1 of 3"));
	json_decref(b);
	assert_string_equal(last_decision(t->s, sampled), "override");
	/* a failed sample */
	assert_ok(staging_mark_sampled(t->s, failed, "human:lee", "cli", sample, &err), &err);
	assert_ok(staging_judge(t->s, failed, 1, "human:lee", "cli", 0, "wrong", &res, &err), &err);
	json_decref(res);
	assert_int_equal(staging_approve(t->s, failed, "human:lee", "cli", &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "failed"));
	assert_ok(staging_approve_override(t->s, failed, "human:lee", "cli", "fixed upstream", &err),
		  &err);
	/* blocked by the policy, no sample: approved plainly, nothing to override */
	assert_int_equal(staging_approve_override(t->s, blocked, "human:lee", "cli", "x", &err),
			 AIRLOCK_EINVAL);
	assert_ok(staging_approve(t->s, blocked, "human:lee", "cli", &err), &err);
	assert_string_equal(last_decision(t->s, blocked), "approved");
	assert_ok(staging_get_header(t->s, blocked, &b, &err), &err);
	assert_true(json_is_null(json_object_get(b, "override")));
	json_decref(b);
	/* the undrawn one with a reason */
	assert_ok(staging_approve_override(t->s, staged, "human:lee", "cli", "urgent fix", &err),
		  &err);
	json_decref(sample);
}

static void test_parse_id(void **state)
{
	struct err err = {0};
	int64_t id;

	(void)state;
	assert_ok(staging_parse_id("12", &id, &err), &err);
	assert_int_equal(id, 12);
	assert_ok(staging_parse_id("B7", &id, &err), &err);
	assert_int_equal(id, 7);
	assert_int_equal(staging_parse_id("x", &id, &err), AIRLOCK_EINVAL);
	assert_int_equal(staging_parse_id("0", &id, &err), AIRLOCK_EINVAL);
	assert_int_equal(staging_parse_id("12x", &id, &err), AIRLOCK_EINVAL);
	assert_int_equal(staging_parse_id("", &id, &err), AIRLOCK_EINVAL);
}

/* book_stats reads tallies that triggers keep (schema.c, migration 3).
 * Every way the book changes must keep them equal to a recount: the
 * loader's fast path into an empty table and its updates, staged applies
 * (staging_apply's own UPDATEs), merges, undos and direct edits, in a
 * random order. A path that slipped past the triggers would show here as
 * a figure that differs from the recount. */
static void assert_tallies(struct store *s, const char *after)
{
	struct err err = {0};
	json_t *kept, *counted;

	assert_ok(book_stats(s, &kept, &err), &err);
	assert_ok(book_stats_recount(s, &counted, &err), &err);
	if (!json_equal(kept, counted)) {
		char *a = json_dumps(kept, JSON_SORT_KEYS), *b = json_dumps(counted, JSON_SORT_KEYS);

		print_error("after %s:\n kept    %s\n counted %s\n", after, a, b);
		free(a);
		free(b);
		fail();
	}
	json_decref(kept);
	json_decref(counted);
}

static int id_num(const char *s) { return (int)strtol(s, NULL, 10); }

static const char *pick(const char *const *v, int n) { return v[rand() % n]; }

static void load_random(struct store *s, int first, int count)
{
	static const char *const cols[] = {"id",     "name",      "segment",       "region",
					   "tier",   "lifecycle", "do_not_contact"};
	static const char *const seg[] = {"smb", "mid-market", "enterprise", ""};
	static const char *const reg[] = {"EMEA", "NA", "APAC", "", "(none)"};
	static const char *const tier[] = {"1", "2", "3", "4", ""};
	static const char *const life[] = {"prospect", "customer", "partner", "competitor"};
	static const char *const flag[] = {"0", "1"};
	struct book_loader *l;
	struct err err = {0};
	char id[32], name[32];
	int i, outcome;

	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 7, &l, &err), &err);
	for (i = first; i < first + count; i++) {
		const char *row[7];

		snprintf(id, sizeof id, "A%03d", i);
		snprintf(name, sizeof name, "Loaded %d", i);
		row[0] = id;
		row[1] = name;
		row[2] = pick(seg, 4);
		row[3] = pick(reg, 5);
		row[4] = pick(tier, 5);
		row[5] = pick(life, 4);
		row[6] = pick(flag, 2);
		assert_ok(book_loader_put(l, row, i, &outcome, &err), &err);
	}
	assert_ok(book_loader_finish(l, &err), &err);
	book_loader_free(l);
	assert_ok(store_commit(s, &err), &err);
}

static void load_children(struct store *s, int accounts)
{
	static const char *const cols[] = {"id", "account_id", "do_not_contact", "unsubscribed"};
	static const char *const scols[] = {"id", "account_id", "kind", "observed_at"};
	static const char *const kinds[] = {"hiring", "funding", "news"};
	static const char *const flag[] = {"0", "1"};
	struct book_loader *l;
	struct err err = {0};
	char id[32], acc[32];
	int i, outcome;

	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_CONTACT, cols, 4, &l, &err), &err);
	for (i = 0; i < 20; i++) {
		const char *row[4];

		snprintf(id, sizeof id, "C%03d-%d", i, rand() % 3); /* new, or an update */
		snprintf(acc, sizeof acc, "A%03d", 1 + rand() % accounts);
		row[0] = id;
		row[1] = acc;
		row[2] = pick(flag, 2);
		row[3] = pick(flag, 2);
		assert_ok(book_loader_put(l, row, i, &outcome, &err), &err);
	}
	assert_ok(book_loader_finish(l, &err), &err);
	book_loader_free(l);
	assert_ok(book_loader_new(s, BOOK_SIGNAL, scols, 4, &l, &err), &err);
	for (i = 0; i < 10; i++) {
		const char *row[4];

		snprintf(id, sizeof id, "S%03d-%d", i, rand() % 3);
		snprintf(acc, sizeof acc, "A%03d", 1 + rand() % accounts);
		row[0] = id;
		row[1] = acc;
		row[2] = pick(kinds, 3);
		row[3] = "2026-11-20";
		assert_ok(book_loader_put(l, row, i, &outcome, &err), &err);
	}
	assert_ok(book_loader_finish(l, &err), &err);
	book_loader_free(l);
	assert_ok(store_commit(s, &err), &err);
}

/* Stages, approves and applies one batch: random field changes on a few
 * accounts, or the merge of one into another. Returns its id. */
static int64_t apply_random(struct store *s, int accounts)
{
	static const char *const fields[] = {"segment", "region", "tier", "lifecycle",
					     "do_not_contact"};
	struct staging_spec spec = {0};
	struct err err = {0};
	json_t *items = json_array(), *a, *v, *rep = NULL;
	char id[32], other[32];
	int64_t bid = 0;
	int i, rc, n = 1 + rand() % 4, merge = rand() % 4 == 0, first = rand() % accounts;

	for (i = 0; i < (merge ? 1 : n); i++) {
		const char *f = fields[rand() % 5];

		snprintf(id, sizeof id, "A%03d", 1 + (first + i) % accounts); /* distinct */
		a = fixture_account(s, id);
		if (merge) {
			snprintf(other, sizeof other, "A%03d",
				 1 + (id_num(id + 1) + rand() % (accounts - 1)) % accounts);
			f = "merged_into";
			v = json_string(other);
		} else if (!strcmp(f, "tier"))
			v = rand() % 5 ? json_integer(1 + rand() % 4) : json_null();
		else if (!strcmp(f, "do_not_contact"))
			v = json_boolean(rand() % 2);
		else if (!strcmp(f, "segment"))
			v = json_string(rand() % 2 ? "smb" : "enterprise");
		else if (!strcmp(f, "lifecycle"))
			v = json_string(rand() % 2 ? "customer" : "former_customer");
		else
			v = rand() % 3 ? json_string(rand() % 2 ? "LATAM" : "NA") : json_null();
		json_array_append_new(items, json_pack("{s:s,s:{s:o},s:O,s:I,s:[s],s:[s]}",
						       "record_id", id, "changes", f, v, "before", a,
						       "version",
						       json_integer_value(json_object_get(a, "version")),
						       "reasons", "r", "evidence", "S001"));
		json_decref(a);
	}
	spec.principal = "agent:scout";
	spec.surface = "cli";
	spec.workflow = merge ? "merge" : "retier";
	spec.tool = merge ? "propose_merge" : "propose_changes";
	spec.action = merge ? "merge" : "update";
	spec.state = STAGE_BLOCKED;
	spec.ttl_seconds = 3600;
	spec.radius = (int)json_array_size(items);
	assert_ok(staging_create(s, &spec, items, &bid, &err), &err);
	json_decref(items);
	assert_ok(staging_approve(s, bid, "human:lee", "cli", &err), &err);
	/* a merge into an account merged meanwhile is a conflict: nothing
	 * applies, and the figures must not move either */
	rc = staging_apply(s, bid, "human:lee", "cli", 0, &rep, &err);
	if (rc && rc != AIRLOCK_ECONFLICT)
		assert_ok(rc, &err);
	json_decref(rep);
	return rc ? 0 : bid;
}

static void test_tallies_match_recount(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	int64_t applied[64];
	int napplied = 0, round, accounts = 40;
	json_t *f, *rep;
	char id[32];

	(void)state;
	srand(15);
	int64_t n;

	load_random(s, 1, accounts); /* the loader's fast path: the table is empty */
	assert_tallies(s, "the first import");
	/* ... which builds the text index too (a count runs on the index) */
	assert_ok(book_count(s, &(struct book_query){.text = "LOADED", .include_merged = 1}, &n,
			     &err),
		  &err);
	assert_int_equal(n, accounts);
	load_children(s, accounts);
	assert_tallies(s, "importing contacts");
	for (round = 0; round < 120; round++) {
		int op = rand() % 5;

		if (op == 0) {
			int from = 1 + rand() % accounts;

			load_random(s, from, 10); /* updates, and new ids */
			if (from + 9 > accounts)
				accounts = from + 9;
			load_children(s, accounts);
		} else if (op == 1 || op == 2) {
			int64_t bid = napplied < 64 ? apply_random(s, accounts) : 0;

			if (bid)
				applied[napplied++] = bid;
		} else if (op == 3 && napplied > 0) {
			int k = rand() % napplied;

			rep = NULL;
			/* an undo can find a later change and keep it: either way
			 * the figures must follow */
			staging_undo(s, applied[k], "human:lee", "cli", 0, &rep, &err);
			json_decref(rep);
			applied[k] = applied[--napplied];
		} else {
			snprintf(id, sizeof id, "A%03d", 1 + rand() % accounts);
			f = json_pack("{s:b,s:s}", "do_not_contact", rand() % 2, "region",
				      rand() % 2 ? "EMEA" : "(none)");
			assert_ok(store_begin(s, &err), &err);
			assert_ok(book_update(s, BOOK_ACCOUNT, id, f, -1, NULL, &err), &err);
			assert_ok(store_commit(s, &err), &err);
			json_decref(f);
		}
		assert_tallies(s, op == 0   ? "an import"
				  : op <= 2 ? "an apply"
				  : op == 3 ? "an undo"
					    : "an edit");
	}
	testutil_store_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transition_table),
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test_setup_teardown(test_long_principal_is_not_cut, setup, teardown),
		cmocka_unit_test(test_tallies_match_recount),
		cmocka_unit_test_setup_teardown(test_separation_of_duties, setup, teardown),
		cmocka_unit_test_setup_teardown(test_illegal_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_and_undo_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicts_on_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_after_later_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_item_cannot_touch_system_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_custom_item_keeps_the_later_edit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sample_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_cycle_refused_at_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_into_merged_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_moves_late_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_undo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_merges_names_breaches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_past_sample_is_override, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
