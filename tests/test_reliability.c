/* test_reliability.c — reviewers' seeded-check records: the catch-rate
 * bounds against an exact binomial computation done here (sums of
 * C(n,i)·p^i·(1−p)^(n−i) in long double, bisected), a table computed in
 * Python (math.comb, 200 bisection steps), the weight rule, and the
 * records in a real store. */
#include "testutil.h"

#include <math.h>

#include "reliability.h"

/* P(X ≥ k) for X ~ Binomial(n, p), summed term by term. */
static long double tail_ge(int k, int n, long double p)
{
	long double sum = 0, term;
	int i, j;

	for (i = k; i <= n; i++) {
		term = 1;
		for (j = 0; j < i; j++) /* C(n, i) built as a product, no overflow at n ≤ 200 */
			term = term * (n - j) / (j + 1);
		term *= powl(p, i) * powl(1 - p, n - i);
		sum += term;
	}
	return sum;
}

/* The exact lower bound: the p with P(X ≥ k; n, p) = 1 − C. */
static double exact_lower(int k, int n, double C)
{
	long double lo = 0, hi = 1, mid;
	int i;

	if (k == 0)
		return 0;
	for (i = 0; i < 200; i++) {
		mid = (lo + hi) / 2;
		if (tail_ge(k, n, mid) < 1 - C)
			lo = mid;
		else
			hi = mid;
	}
	return (double)lo;
}

/* The exact upper bound: the p with P(X ≤ k; n, p) = 1 − C. */
static double exact_upper(int k, int n, double C)
{
	long double lo = 0, hi = 1, mid;
	int i;

	if (k == n)
		return 1;
	for (i = 0; i < 200; i++) {
		mid = (lo + hi) / 2;
		if (1 - tail_ge(k + 1, n, mid) > 1 - C)
			lo = mid;
		else
			hi = mid;
	}
	return (double)lo;
}

static void test_bounds_match_exact_binomial(void **state)
{
	static const double cs[] = {0.8, 0.9, 0.95, 0.99};
	int n, k, c;

	(void)state;
	for (c = 0; c < 4; c++)
		for (n = 1; n <= 60; n += (n < 10 ? 1 : 7))
			for (k = 0; k <= n; k++) {
				double lo = reliability_catch_lower(k, n, cs[c]);
				double up = reliability_catch_upper(k, n, cs[c]);
				double elo = exact_lower(k, n, cs[c]), eup = exact_upper(k, n, cs[c]);

				if (fabs(lo - elo) > 1e-9 || fabs(up - eup) > 1e-9)
					fail_msg("%d of %d at %.2f: bounds [%.12f, %.12f], exact [%.12f, %.12f]",
						 k, n, cs[c], lo, up, elo, eup);
				assert_true(lo <= (double)k / n + 1e-12);
				assert_true(up >= (double)k / n - 1e-12);
			}
}

static void test_bounds_table(void **state)
{
	/* Python: math.comb sums, 200 bisection steps, C = 0.95 */
	static const struct {
		int k, n;
		double lower;
	} t[] = {{19, 20, 0.7838938357931526}, {1, 1, 0.05}, {5, 10, 0.22244110100812908},
		 {0, 3, 0.0}, {50, 60, 0.7337092016272057}, {3, 3, 0.3684031498640387}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_true(fabs(reliability_catch_lower(t[i].k, t[i].n, 0.95) - t[i].lower) < 1e-9);
	assert_true(reliability_catch_lower(0, 0, 0.95) == 0);
	assert_true(reliability_catch_upper(0, 0, 0.95) == 1);
	assert_true(reliability_catch_lower(3, 2, 0.95) == -1);
	assert_true(reliability_catch_lower(-1, 2, 0.95) == -1);
	assert_true(reliability_catch_upper(1, 2, 1.0) == -1);
}

/* A rubber stamp (passes everything, checks too) is discounted once the
 * evidence shows it; one unlucky miss is not enough; threshold off = 1. */
static void test_weight(void **state)
{
	struct reliability stamp = {20, 0, 20}, unlucky = {1, 0, 1}, careful = {20, 19, 1},
			   none = {0, 0, 0}, sloppy = {40, 20, 20};

	(void)state;
	assert_true(reliability_weight(&stamp, 0.9, 0.95) == 0);
	assert_true(reliability_weight(&stamp, 0, 0.95) == 1);
	assert_true(reliability_weight(&unlucky, 0.9, 0.95) == 1);
	assert_true(reliability_weight(&careful, 0.9, 0.95) == 1);
	assert_true(reliability_weight(&none, 0.9, 0.95) == 1);
	/* 20 of 40: upper bound ≈ 0.63, below 0.8 */
	assert_true(reliability_weight(&sloppy, 0.8, 0.95) == 0);
	assert_true(reliability_weight(&sloppy, 0.6, 0.95) == 1);
}

static void test_records(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	struct reliability rel;
	json_t *all = NULL, *mine = NULL;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_ok(reliability_record(s, "ann", "enrich", i != 2, &err), &err);
	assert_ok(reliability_record(s, "bob", "enrich", 0, &err), &err);
	assert_ok(reliability_record(s, "ann", "outreach", 1, &err), &err);
	assert_ok(reliability_get(s, "ann", "enrich", &rel, &err), &err);
	assert_int_equal(rel.seen, 5);
	assert_int_equal(rel.caught, 4);
	assert_int_equal(rel.missed, 1);
	assert_ok(reliability_get(s, "carol", "enrich", &rel, &err), &err);
	assert_int_equal(rel.seen, 0);
	assert_int_not_equal(reliability_record(s, "", "enrich", 1, &err), 0);

	/* a reviewer sees their own records only; an admin (NULL) everyone's */
	assert_ok(reliability_list(s, "bob", 0.9, 0.95, &mine, &err), &err);
	assert_int_equal(json_array_size(mine), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(mine, 0), "reviewer")),
			    "bob");
	assert_ok(reliability_list(s, NULL, 0.9, 0.95, &all, &err), &err);
	assert_int_equal(json_array_size(all), 3);
	assert_true(fabs(json_real_value(json_object_get(json_array_get(all, 0), "catch_lower")) -
			 reliability_catch_lower(4, 5, 0.95)) < 1e-12);
	json_decref(mine);
	json_decref(all);
	testutil_store_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounds_match_exact_binomial),
	    cmocka_unit_test(test_bounds_table),
	    cmocka_unit_test(test_weight),
	    cmocka_unit_test(test_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
