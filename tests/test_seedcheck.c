/* test_seedcheck.c — the wrong item of a seeded check, over random batches,
 * from the side of a reviewer who has learnt what checks look like: the
 * check keeps its item's record, before-image and change (so the batch's
 * summary of moves and its counts cannot single it out), cites only its
 * record's own signals (so the gate would have let it through, as a real
 * item), and is still wrong in the way its kind says; re-derived exactly
 * from its seed, sharing nothing with the batch. */
#include "testutil.h"

#include "clock.h"
#include "seedcheck.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define NOW 1796000000 /* late 2026 */
#define MAX_AGE (180 * 86400)
static const char *const kinds[] = {"intent", "hiring", "news", "funding", "usage"};

/* The signals of record id: 1-5, of random kinds, some setbacks, some
 * older than MAX_AGE. */
static json_t *random_signals(const char *id)
{
	json_t *a = json_array();
	int i, n = 1 + (int)(next() % 5);
	char sid[32], at[CLOCK_TEXT_LEN];

	for (i = 0; i < n; i++) {
		int k = (int)(next() % 5), old = next() % 4 == 0;

		snprintf(sid, sizeof sid, "S-%s-%d", id, i);
		clock_format(NOW - (old ? 400 : 10) * 86400 - (time_t)(next() % 86400), at, sizeof at);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", sid, "account_id", id,
						   "kind", kinds[k], "observed_at", at, "detail",
						   k == 2 && next() % 2 ? "announced layoffs of about 9% of staff"
									: "something happened"));
	}
	return a;
}

/* A batch of n items over distinct records; tiers change 3 → 1..4, each
 * item citing its record's first signal with a reason naming its kind. */
static json_t *random_batch(int n, json_t *signals)
{
	json_t *items = json_array();
	char id[16], reason[80];
	int i;

	for (i = 0; i < n; i++) {
		json_t *sigs, *first;

		snprintf(id, sizeof id, "A%04d", i);
		sigs = random_signals(id);
		first = json_array_get(sigs, 0);
		snprintf(reason, sizeof reason, "%s surge at %s",
			 json_string_value(json_object_get(first, "kind")), id);
		json_array_append_new(items, json_pack("{s:s,s:{s:i},s:{s:i},s:[s],s:[O]}", "record_id",
						       id, "changes", "tier", 1 + (int)(next() % 4),
						       "before", "tier", 3, "reasons", reason, "evidence",
						       json_object_get(first, "id")));
		json_array_append_new(signals, sigs);
	}
	return items;
}

static json_t *sig(json_t *sigs, const char *id)
{
	size_t i;
	json_t *s;

	json_array_foreach(sigs, i, s)
		if (!strcmp(json_string_value(json_object_get(s, "id")), id))
			return s;
	return NULL;
}

static int names(const char *text, const char *word)
{
	return strstr(text, word) != NULL;
}

static void test_looks_real_and_is_wrong(void **state)
{
	unsigned char seed[SAMPLING_SEED_BYTES];
	struct err err = {0};
	json_t *items, *signals, *snap, *c1, *c2, *a, *sigs, *e;
	int round, n, rc, seen[3] = {0, 0, 0}, none = 0;
	size_t i, base, j;

	(void)state;
	for (round = 0; round < 1500; round++) {
		n = 1 + (int)(next() % 20);
		signals = json_array();
		items = random_batch(n, signals);
		snap = json_deep_copy(items);
		for (i = 0; i < sizeof seed; i++)
			seed[i] = (unsigned char)next();
		base = (size_t)(next() % (uint64_t)n);
		a = json_array_get(items, base);
		sigs = json_array_get(signals, base);
		struct seedcheck_book bk = {sigs, NOW, MAX_AGE};
		rc = seedcheck_make_at(items, base, &bk, seed, &c1, &err);
		if (rc) {
			assert_int_equal(rc, AIRLOCK_ENOTFOUND);
			none++;
			goto next_round;
		}
		assert_ok(seedcheck_make_at(items, base, &bk, seed, &c2, &err), &err);
		assert_true(json_equal(c1, c2)); /* the same seed gives the same check */
		json_decref(c2);
		/* what the summary and the numbering read is the item's own */
		assert_int_equal(json_integer_value(json_object_get(c1, "based_on")), (json_int_t)base + 1);
		assert_string_equal(json_string_value(json_object_get(c1, "record_id")),
				    json_string_value(json_object_get(a, "record_id")));
		assert_true(json_equal(json_object_get(c1, "before"), json_object_get(a, "before")));
		assert_true(json_equal(json_object_get(c1, "changes"), json_object_get(a, "changes")));
		/* the gate would let it through: every cited id is a signal of the
		 * record's own */
		assert_true(json_array_size(json_object_get(c1, "evidence")) > 0);
		json_array_foreach(json_object_get(c1, "evidence"), j, e)
			assert_non_null(sig(sigs, json_string_value(e)));
		/* and it is wrong as its kind says, unlike its item */
		const char *kind = json_string_value(json_object_get(c1, "kind"));
		const char *r0 = json_string_value(json_array_get(json_object_get(c1, "reasons"), 0));
		json_t *cited = sig(sigs, json_string_value(json_array_get(json_object_get(c1, "evidence"), 0)));
		if (!strcmp(kind, "contradicting_evidence")) {
			seen[0]++;
			assert_true(json_integer_value(json_object_get(json_object_get(c1, "changes"), "tier")) < 3);
			assert_true(names(json_string_value(json_object_get(cited, "detail")), "layoffs"));
			assert_string_equal(r0, json_string_value(json_object_get(cited, "detail")));
		} else if (!strcmp(kind, "unsupported_reason")) {
			int bad = 0;
			seen[1]++;
			assert_true(json_equal(json_object_get(c1, "evidence"), json_object_get(a, "evidence")));
			for (j = 0; j < 5; j++)
				if (names(r0, kinds[j]) &&
				    strcmp(json_string_value(json_object_get(cited, "kind")), kinds[j]))
					bad = 1;
			if (names(r0, "tech install"))
				bad = 1;
			assert_true(bad);
			assert_false(json_equal(json_object_get(c1, "reasons"), json_object_get(a, "reasons")));
		} else {
			time_t t;
			assert_string_equal(kind, "stale_evidence");
			seen[2]++;
			assert_true(json_equal(json_object_get(c1, "reasons"), json_object_get(a, "reasons")));
			assert_int_equal(clock_parse(json_string_value(json_object_get(cited, "observed_at")), &t), 0);
			assert_true(NOW - t > MAX_AGE);
		}
		/* changing the check leaves the batch as it was */
		json_object_set_new(json_object_get(c1, "changes"), "tier", json_integer(99));
		json_array_append_new(json_object_get(c1, "evidence"), json_string("x"));
		json_array_append_new(json_object_get(c1, "reasons"), json_string("x"));
		assert_true(json_equal(items, snap));
		json_decref(c1);
	next_round:
		json_decref(items);
		json_decref(signals);
		json_decref(snap);
	}
	/* the seed picks every kind; almost every item allows one */
	assert_true(seen[0] > 30 && seen[1] > 300 && seen[2] > 100);
	assert_true(none < 10);
}

static void test_no_check_possible(void **state)
{
	unsigned char seed[SAMPLING_SEED_BYTES] = {1};
	struct err err = {0};
	struct seedcheck_book bk = {NULL, NOW, MAX_AGE};
	json_t *items, *c = NULL;

	(void)state;
	/* a reason that names every kind of signal, no signals to misread */
	items = json_pack("[{s:s,s:{s:i},s:{s:i},s:[s],s:[]}]", "record_id", "A1", "changes", "tier", 3,
			  "before", "tier", 3, "reasons",
			  "intent, hiring, news, tech install, funding and usage", "evidence");
	assert_int_equal(seedcheck_make_at(items, 0, &bk, seed, &c, &err), AIRLOCK_ENOTFOUND);
	assert_null(c);
	assert_int_equal(seedcheck_make_at(items, 1, &bk, seed, &c, &err), AIRLOCK_EINVAL);
	json_decref(items);
	items = json_pack("[{s:s}]", "record_id", "A1");
	assert_int_equal(seedcheck_make_at(items, 0, &bk, seed, &c, &err), AIRLOCK_EINVAL);
	json_decref(items);
	assert_int_equal(seedcheck_make_at(NULL, 0, &bk, seed, &c, &err), AIRLOCK_EINVAL);
}

/* A reason that cites none: the unsupported kind names one anyway. */
static void test_no_reason(void **state)
{
	unsigned char seed[SAMPLING_SEED_BYTES] = {7};
	struct err err = {0};
	struct seedcheck_book bk = {NULL, NOW, 0};
	json_t *items, *c = NULL;

	(void)state;
	items = json_pack("[{s:s,s:{s:i},s:{s:i},s:[],s:[]}]", "record_id", "A1", "changes", "tier", 2,
			  "before", "tier", 3, "reasons", "evidence");
	assert_ok(seedcheck_make_at(items, 0, &bk, seed, &c, &err), &err);
	assert_string_equal(json_string_value(json_object_get(c, "kind")), "unsupported_reason");
	assert_int_equal(json_array_size(json_object_get(c, "reasons")), 1);
	json_decref(c);
	json_decref(items);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_looks_real_and_is_wrong),
	    cmocka_unit_test(test_no_check_possible),
	    cmocka_unit_test(test_no_reason),
	    cmocka_unit_test(test_due),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
