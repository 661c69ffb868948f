/* test_seedcheck.c — the wrong item of a seeded check, over random batches:
 * re-derived exactly from its seed, different from every real item of the
 * batch in the way its kind says (so a careful reader can catch it), and
 * sharing nothing with the batch (changing it changes no batch item). */
#include "testutil.h"

#include "seedcheck.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A batch of n items over `records` records; tiers change 3 → 1..4 (some
 * items move nothing when `moves` is 0). */
static json_t *random_batch(int n, int records, int moves)
{
	json_t *items = json_array();
	char id[16], ev[32];
	int i, to;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "A%04d", (int)(next() % (uint64_t)records));
		snprintf(ev, sizeof ev, "signal %s #%d", id, (int)(next() % 3));
		to = moves ? 1 + (int)(next() % 4) : 3;
		json_array_append_new(items, json_pack("{s:s,s:{s:i},s:{s:i},s:[s],s:[s]}", "record_id",
						       id, "changes", "tier", to, "before", "tier", 3,
						       "reasons", "hiring spree", "evidence", ev));
	}
	return items;
}

static void test_reproducible_and_wrong(void **state)
{
	unsigned char seed[SAMPLING_SEED_BYTES];
	struct err err = {0};
	json_t *items, *snap, *c1, *c2, *base;
	int round, n, kinds[2] = {0, 0};
	size_t i;

	(void)state;
	for (round = 0; round < 500; round++) {
		n = 2 + (int)(next() % 40);
		items = random_batch(n, 1 + (int)(next() % 10), 1);
		snap = json_deep_copy(items);
		for (i = 0; i < sizeof seed; i++)
			seed[i] = (unsigned char)next();
		if (seedcheck_make(items, seed, &c1, &err)) {
			/* only a batch with nothing to contradict gives no check */
			assert_int_equal(seedcheck_make(items, seed, &c2, &err), AIRLOCK_ENOTFOUND);
			json_decref(items);
			json_decref(snap);
			continue;
		}
		assert_ok(seedcheck_make(items, seed, &c2, &err), &err);
		assert_true(json_equal(c1, c2)); /* the same seed gives the same check */
		base = json_array_get(items, (size_t)json_integer_value(json_object_get(c1, "based_on")) - 1);
		assert_non_null(base);
		assert_string_equal(json_string_value(json_object_get(c1, "record_id")),
				    json_string_value(json_object_get(base, "record_id")));
		if (!strcmp(json_string_value(json_object_get(c1, "kind")), "evidence_of_another")) {
			kinds[0]++;
			assert_false(json_equal(json_object_get(c1, "evidence"), json_object_get(base, "evidence")));
			assert_true(json_equal(json_object_get(c1, "changes"), json_object_get(base, "changes")));
		} else {
			assert_string_equal(json_string_value(json_object_get(c1, "kind")), "change_contradicts");
			kinds[1]++;
			assert_false(json_equal(json_object_get(c1, "changes"), json_object_get(base, "changes")));
			assert_true(json_equal(json_object_get(c1, "changes"), json_object_get(base, "before")));
		}
		/* it is no copy of any real item */
		for (i = 0; i < json_array_size(items); i++) {
			json_t *it = json_array_get(items, i);
			assert_false(json_equal(json_object_get(c1, "changes"), json_object_get(it, "changes")) &&
				     json_equal(json_object_get(c1, "evidence"), json_object_get(it, "evidence")) &&
				     !strcmp(json_string_value(json_object_get(c1, "record_id")),
					     json_string_value(json_object_get(it, "record_id"))));
		}
		/* changing the check leaves the batch as it was */
		json_object_set_new(json_object_get(c1, "changes"), "tier", json_integer(99));
		json_array_append_new(json_object_get(c1, "evidence"), json_string("x"));
		assert_true(json_equal(items, snap));
		json_decref(c1);
		json_decref(c2);
		json_decref(items);
		json_decref(snap);
	}
	/* both kinds occur */
	assert_true(kinds[0] > 50 && kinds[1] > 50);
}

static void test_no_check_possible(void **state)
{
	unsigned char seed[SAMPLING_SEED_BYTES] = {1};
	struct err err = {0};
	json_t *items = random_batch(5, 1, 0), *c = NULL;

	(void)state;
	/* one record only and no value moves: nothing to contradict */
	assert_int_equal(seedcheck_make(items, seed, &c, &err), AIRLOCK_ENOTFOUND);
	assert_null(c);
	json_decref(items);
	items = json_pack("[{s:s}]", "record_id", "A1");
	assert_int_equal(seedcheck_make(items, seed, &c, &err), AIRLOCK_EINVAL);
	json_decref(items);
	assert_int_equal(seedcheck_make(NULL, seed, &c, &err), AIRLOCK_EINVAL);
}

static void test_due(void **state)
{
	(void)state;
	assert_false(seedcheck_due(0, 5));
	assert_true(seedcheck_due(1, 1));
	assert_false(seedcheck_due(3, 1));
	assert_true(seedcheck_due(3, 3));
	assert_true(seedcheck_due(3, 6));
	assert_false(seedcheck_due(3, 0));
}

/* A seeded sample shows the check in the slot of one drawn item: the check
 * must be about that item's record and start from its before-image, or the
 * slot would give it away; reproducible from the seed; wrong as its kind
 * says. */
static void test_make_at_slot(void **state)
{
	unsigned char seed[SAMPLING_SEED_BYTES];
	struct err err = {0};
	json_t *items, *c1, *c2, *a;
	int round, n, rc, none = 0, kinds[2] = {0, 0};
	size_t i, base;

	(void)state;
	for (round = 0; round < 500; round++) {
		n = 1 + (int)(next() % 32);
		items = random_batch(n, 1 + (int)(next() % 10), 1);
		for (i = 0; i < sizeof seed; i++)
			seed[i] = (unsigned char)next();
		base = (size_t)(next() % (uint64_t)n);
		a = json_array_get(items, base);
		rc = seedcheck_make_at(items, base, seed, &c1, &err);
		if (rc) {
			/* an item that moves no value, with no other record whose
			 * evidence differs, or whose contradiction a real item says */
			assert_int_equal(rc, AIRLOCK_ENOTFOUND);
			none++;
			json_decref(items);
			continue;
		}
		assert_ok(seedcheck_make_at(items, base, seed, &c2, &err), &err);
		assert_true(json_equal(c1, c2));
		assert_int_equal(json_integer_value(json_object_get(c1, "based_on")), (json_int_t)base + 1);
		assert_string_equal(json_string_value(json_object_get(c1, "record_id")),
				    json_string_value(json_object_get(a, "record_id")));
		assert_true(json_equal(json_object_get(c1, "before"), json_object_get(a, "before")));
		if (!strcmp(json_string_value(json_object_get(c1, "kind")), "evidence_of_another")) {
			kinds[0]++;
			assert_true(json_equal(json_object_get(c1, "changes"), json_object_get(a, "changes")));
			assert_false(json_equal(json_object_get(c1, "evidence"), json_object_get(a, "evidence")));
		} else {
			kinds[1]++;
			assert_true(json_equal(json_object_get(c1, "changes"), json_object_get(c1, "before")));
			assert_false(json_equal(json_object_get(c1, "changes"), json_object_get(a, "changes")));
		}
		json_decref(c1);
		json_decref(c2);
		json_decref(items);
	}
	/* the seed picks both kinds; most items allow one */
	assert_true(kinds[0] > 50 && kinds[1] > 50);
	assert_true(none < kinds[0] + kinds[1]);
	items = random_batch(3, 3, 1);
	assert_int_equal(seedcheck_make_at(items, 3, seed, &c1, &err), AIRLOCK_EINVAL);
	json_decref(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reproducible_and_wrong),
	    cmocka_unit_test(test_no_check_possible),
	    cmocka_unit_test(test_due),
	    cmocka_unit_test(test_make_at_slot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
