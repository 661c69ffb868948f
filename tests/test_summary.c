/* test_summary.c — the batch summary (summary.h) from the reviewer's side:
 * what a careless or hostile agent's batch hides must show up as a flag. */
#include "testutil.h"

#include "clock.h"
#include "fixtures.h"
#include "summary.h"

/* An item as staging_get gives it: A00n's tier 3 → value. */
static json_t *item(struct store *s, int idx, const char *id, int value, const char *reason,
		    json_t *evidence)
{
	json_t *a = fixture_account(s, id);
	json_t *it = json_pack("{s:i,s:s,s:{s:i},s:o,s:[s],s:o}", "idx", idx, "record_id", id,
			       "changes", "tier", value, "before", a, "reasons", reason, "evidence",
			       evidence ? evidence : json_array());
	return it;
}

static json_t *batch(const char *action, json_t *items)
{
	return json_pack("{s:i,s:s,s:s,s:s,s:i,s:o}", "id", 7, "action", action, "workflow",
			 "retier", "principal", "agent:scout", "radius",
			 (int)json_array_size(items), "item_list", items);
}

static int count(json_t *sum, const char *flag)
{
	return (int)json_integer_value(json_object_get(json_object_get(sum, "flag_counts"), flag));
}

static void test_flags_what_the_evidence_does_not_support(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	struct summary_opts o = {180 * 86400, 0};
	json_t *items = json_array(), *b, *sum = NULL, *f;

	(void)state;
	fixture_book(s, 5);
	assert_int_equal(clock_parse("2026-12-01T00:00:00Z", &o.now), 0);
	json_array_append_new(items,
			      item(s, 1, "A001", 2, "hiring fast", json_pack("[s]", "S001")));
	json_array_append_new(items, item(s, 2, "A002", 2, "strong hiring", NULL));
	json_array_append_new(items, item(s, 3, "A003", 1, "fits", json_pack("[s]", "S004")));
	json_array_append_new(items, item(s, 4, "A004", 2, "rehiring is a word", NULL));
	json_array_append_new(items, item(s, 5, "A005", 2, "fits", json_pack("[s]", "S999")));
	b = batch("update", items);
	assert_ok(summary_batch(s, b, &o, &sum, &err), &err);
	/* a reason naming a kind no cited signal has; a word inside another is not it */
	assert_int_equal(count(sum, "reason_without_evidence"), 1);
	f = json_array_get(json_object_get(sum, "flags"), 0);
	assert_int_equal(json_integer_value(json_object_get(f, "item")), 2);
	assert_int_equal(count(sum, "evidence_other_record"), 1);
	assert_int_equal(count(sum, "evidence_unknown"), 1);
	assert_int_equal(count(sum, "evidence_too_old"), 0);
	/* moves grouped, most frequent first */
	f = json_array_get(json_object_get(sum, "moves"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "new")), "2");
	assert_int_equal(json_integer_value(json_object_get(f, "count")), 4);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(sum, "evidence"), "without")), 2);
	assert_non_null(strstr(json_string_value(json_object_get(sum, "headline")),
			       "cite evidence about another record"));
	json_decref(sum);

	/* a year later the same evidence is too old for the policy's 180 days */
	assert_int_equal(clock_parse("2027-12-01T00:00:00Z", &o.now), 0);
	assert_ok(summary_batch(s, b, &o, &sum, &err), &err);
	assert_int_equal(count(sum, "evidence_too_old"), 2);
	json_decref(sum);
	/* no limit: nothing is too old */
	o.evidence_max_age = 0;
	assert_ok(summary_batch(s, b, &o, &sum, &err), &err);
	assert_int_equal(count(sum, "evidence_too_old"), 0);
	json_decref(sum);
	json_decref(b);
	testutil_store_close(&t);
}

static void test_merge_says_what_moves(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *a, *items, *b, *sum = NULL, *m;

	(void)state;
	fixture_book(s, 3);
	a = fixture_account(s, "A001");
	items = json_pack("[{s:i,s:s,s:{s:s},s:o,s:[s],s:[]}]", "idx", 1, "record_id", "A001",
			  "changes", "merged_into", "A002", "before", a, "reasons", "duplicate",
			  "evidence");
	b = batch("merge", items);
	assert_ok(summary_batch(s, b, NULL, &sum, &err), &err);
	m = json_object_get(sum, "merge");
	assert_int_equal(json_integer_value(json_object_get(m, "contacts")), 2);
	assert_int_equal(json_integer_value(json_object_get(m, "signals")), 1);
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(sum, "lines"), 0)),
			       "2 contact(s) and 1 signal(s) move"));
	json_decref(sum);
	json_decref(b);
	testutil_store_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flags_what_the_evidence_does_not_support),
	    cmocka_unit_test(test_merge_says_what_moves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
