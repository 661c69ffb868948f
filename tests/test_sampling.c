/* test_sampling.c — plans, confidence, draws, bounds, switching, CUSUM,
 * each checked against an independent computation.
 *
 * The tables below come from Python, computed exactly, not from airlock:
 *
 * plans: for N, p, C: D = max(1, ceil(Fraction(p)·N)); the smallest n with
 *   comb(N−D, n)·den(1−C) ≤ num(1−C)·comb(N, n), found by binary search over
 *   exact integers (math.comb, fractions.Fraction).
 * bounds: one-sided Clopper-Pearson upper bound by 200 bisection steps on
 *   the binomial CDF P(X ≤ x; n, p) = 1 − C summed in 50-digit mpmath.
 * betai: mpmath.betainc(a, b, 0, x, regularized=True) at 50 digits. */
#include "testutil.h"

#include <math.h>
#include <sodium.h>

#include "sampling.h"

static const double plan_c[] = {0.8, 0.9, 0.95, 0.99};

static const struct {
	int64_t N;
	double p;
	int64_t n[4]; /* at C = 0.8, 0.9, 0.95, 0.99 */
} plans[] = {
    {1, 0.01, {1, 1, 1, 1}},
    {1, 0.02, {1, 1, 1, 1}},
    {1, 0.05, {1, 1, 1, 1}},
    {1, 0.1, {1, 1, 1, 1}},
    {1, 0.25, {1, 1, 1, 1}},
    {2, 0.01, {2, 2, 2, 2}},
    {2, 0.02, {2, 2, 2, 2}},
    {2, 0.05, {2, 2, 2, 2}},
    {2, 0.1, {2, 2, 2, 2}},
    {2, 0.25, {2, 2, 2, 2}},
    {3, 0.01, {3, 3, 3, 3}},
    {3, 0.02, {3, 3, 3, 3}},
    {3, 0.05, {3, 3, 3, 3}},
    {3, 0.1, {3, 3, 3, 3}},
    {3, 0.25, {3, 3, 3, 3}},
    {5, 0.01, {4, 5, 5, 5}},
    {5, 0.02, {4, 5, 5, 5}},
    {5, 0.05, {4, 5, 5, 5}},
    {5, 0.1, {4, 5, 5, 5}},
    {5, 0.25, {3, 3, 4, 4}},
    {7, 0.01, {6, 7, 7, 7}},
    {7, 0.02, {6, 7, 7, 7}},
    {7, 0.05, {6, 7, 7, 7}},
    {7, 0.1, {6, 7, 7, 7}},
    {7, 0.25, {4, 5, 5, 6}},
    {10, 0.01, {8, 9, 10, 10}},
    {10, 0.02, {8, 9, 10, 10}},
    {10, 0.05, {8, 9, 10, 10}},
    {10, 0.1, {8, 9, 10, 10}},
    {10, 0.25, {4, 5, 6, 7}},
    {13, 0.01, {11, 12, 13, 13}},
    {13, 0.02, {11, 12, 13, 13}},
    {13, 0.05, {11, 12, 13, 13}},
    {13, 0.1, {7, 9, 10, 12}},
    {13, 0.25, {4, 5, 6, 8}},
    {20, 0.01, {16, 18, 19, 20}},
    {20, 0.02, {16, 18, 19, 20}},
    {20, 0.05, {16, 18, 19, 20}},
    {20, 0.1, {11, 14, 16, 18}},
    {20, 0.25, {5, 7, 9, 11}},
    {25, 0.01, {20, 23, 24, 25}},
    {25, 0.02, {20, 23, 24, 25}},
    {25, 0.05, {14, 17, 19, 22}},
    {25, 0.1, {10, 13, 16, 19}},
    {25, 0.25, {5, 7, 8, 11}},
    {40, 0.01, {32, 36, 38, 40}},
    {40, 0.02, {32, 36, 38, 40}},
    {40, 0.05, {22, 27, 31, 36}},
    {40, 0.1, {13, 17, 21, 27}},
    {40, 0.25, {6, 8, 10, 13}},
    {50, 0.01, {40, 45, 48, 50}},
    {50, 0.02, {40, 45, 48, 50}},
    {50, 0.05, {21, 27, 31, 39}},
    {50, 0.1, {14, 18, 22, 29}},
    {50, 0.25, {6, 8, 9, 14}},
    {64, 0.01, {52, 58, 61, 64}},
    {64, 0.02, {36, 44, 50, 58}},
    {64, 0.05, {21, 28, 33, 43}},
    {64, 0.1, {13, 18, 22, 30}},
    {64, 0.25, {6, 8, 10, 15}},
    {99, 0.01, {80, 90, 95, 99}},
    {99, 0.02, {55, 68, 77, 89}},
    {99, 0.05, {27, 36, 44, 59}},
    {99, 0.1, {15, 20, 25, 35}},
    {99, 0.25, {6, 8, 10, 15}},
    {100, 0.01, {80, 90, 95, 99}},
    {100, 0.02, {55, 69, 78, 90}},
    {100, 0.05, {27, 37, 45, 59}},
    {100, 0.1, {15, 20, 25, 36}},
    {100, 0.25, {6, 8, 10, 15}},
    {101, 0.01, {56, 69, 79, 91}},
    {101, 0.02, {42, 54, 64, 79}},
    {101, 0.05, {24, 32, 39, 53}},
    {101, 0.1, {14, 19, 23, 33}},
    {101, 0.25, {6, 8, 10, 15}},
    {150, 0.01, {83, 103, 117, 135}},
    {150, 0.02, {62, 80, 95, 117}},
    {150, 0.05, {27, 37, 46, 65}},
    {150, 0.1, {15, 21, 26, 38}},
    {150, 0.25, {6, 8, 10, 15}},
    {200, 0.01, {111, 137, 155, 180}},
    {200, 0.02, {66, 87, 105, 136}},
    {200, 0.05, {30, 41, 51, 73}},
    {200, 0.1, {15, 21, 27, 40}},
    {200, 0.25, {6, 8, 11, 16}},
    {250, 0.01, {104, 134, 158, 196}},
    {250, 0.02, {69, 92, 112, 150}},
    {250, 0.05, {29, 40, 51, 73}},
    {250, 0.1, {15, 21, 27, 40}},
    {250, 0.25, {6, 8, 11, 16}},
    {333, 0.01, {110, 146, 175, 227}},
    {333, 0.02, {68, 93, 115, 160}},
    {333, 0.05, {30, 42, 53, 78}},
    {333, 0.1, {15, 21, 27, 41}},
    {333, 0.25, {6, 8, 11, 16}},
    {500, 0.01, {138, 184, 225, 300}},
    {500, 0.02, {74, 102, 129, 183}},
    {500, 0.05, {31, 43, 56, 83}},
    {500, 0.1, {16, 22, 28, 42}},
    {500, 0.25, {6, 8, 11, 16}},
    {512, 0.01, {120, 163, 201, 274}},
    {512, 0.02, {70, 96, 121, 174}},
    {512, 0.05, {30, 43, 55, 82}},
    {512, 0.1, {15, 22, 28, 42}},
    {512, 0.25, {6, 8, 11, 16}},
    {750, 0.01, {137, 187, 234, 327}},
    {750, 0.02, {76, 106, 135, 197}},
    {750, 0.05, {31, 43, 56, 84}},
    {750, 0.1, {16, 22, 28, 43}},
    {750, 0.25, {6, 8, 11, 16}},
    {1000, 0.01, {148, 205, 258, 368}},
    {1000, 0.02, {77, 108, 138, 204}},
    {1000, 0.05, {31, 44, 57, 86}},
    {1000, 0.1, {16, 22, 29, 43}},
    {1000, 0.25, {6, 8, 11, 16}},
    {1234, 0.01, {143, 200, 253, 367}},
    {1234, 0.02, {77, 108, 138, 206}},
    {1234, 0.05, {31, 44, 57, 87}},
    {1234, 0.1, {16, 22, 28, 43}},
    {1234, 0.25, {6, 8, 11, 16}},
    {2000, 0.01, {154, 217, 277, 410}},
    {2000, 0.02, {79, 111, 143, 216}},
    {2000, 0.05, {32, 45, 58, 88}},
    {2000, 0.1, {16, 22, 29, 44}},
    {2000, 0.25, {6, 8, 11, 16}},
    {2500, 0.01, {156, 219, 281, 419}},
    {2500, 0.02, {79, 112, 144, 218}},
    {2500, 0.05, {32, 45, 58, 89}},
    {2500, 0.1, {16, 22, 29, 44}},
    {2500, 0.25, {6, 8, 11, 16}},
    {3000, 0.01, {156, 221, 284, 425}},
    {3000, 0.02, {79, 112, 145, 220}},
    {3000, 0.05, {32, 45, 58, 89}},
    {3000, 0.1, {16, 22, 29, 44}},
    {3000, 0.25, {6, 8, 11, 16}},
    {4000, 0.01, {157, 223, 288, 433}},
    {4000, 0.02, {79, 113, 146, 222}},
    {4000, 0.05, {32, 45, 58, 89}},
    {4000, 0.1, {16, 22, 29, 44}},
    {4000, 0.25, {6, 8, 11, 16}},
    {4999, 0.01, {158, 224, 290, 438}},
    {4999, 0.02, {80, 113, 147, 223}},
    {4999, 0.05, {32, 45, 59, 89}},
    {4999, 0.1, {16, 22, 29, 44}},
    {4999, 0.25, {6, 8, 11, 16}},
    {5000, 0.01, {158, 224, 290, 438}},
    {5000, 0.02, {80, 113, 147, 223}},
    {5000, 0.05, {32, 45, 59, 89}},
    {5000, 0.1, {16, 22, 29, 44}},
    {5000, 0.25, {6, 8, 11, 16}},
};

static const struct {
	int64_t defects, inspected;
	double C, upper;
} bounds[] = {
    {0, 10, 0.95, 0.25886555089305228},	    {0, 100, 0.95, 0.029513049607039935},
    {1, 100, 0.95, 0.046559811453538946},   {2, 50, 0.9, 0.10295920853671927},
    {5, 1000, 0.99, 0.013055421233690194},  {10, 200, 0.95, 0.083335151066371974},
    {0, 1000, 0.9, 0.0022999361774466828},  {3, 30, 0.95, 0.23859785729325096},
    {7, 7000, 0.95, 0.0018774771712071646}, {50, 100000, 0.95, 0.0006328286928247058},
    {19, 20, 0.95, 0.99743862122346972},    {40, 80, 0.99, 0.63343058657686727},
};

static const struct {
	double a, b, x, value;
} betas[] = {
    {0.5, 0.5, 0.3, 0.36901011956554538}, {2.5, 3.5, 0.4, 0.4869041915261174},
    {1, 1, 0.7, 0.69999999999999996},	  {10, 20, 0.5, 0.96928582713007927},
    {100, 200, 0.3, 0.10884306564490976}, {0.1, 5, 0.01, 0.76908892078434628},
    {50, 1, 0.99, 0.60500606713753638},	  {1000, 3000, 0.26, 0.92702395660049473},
};

/* ln C(a, b) by lgammal: a second, independent way to the same ratio. */
static long double log_comb(int64_t a, int64_t b)
{
	return lgammal((long double)a + 1) - lgammal((long double)b + 1) -
	       lgammal((long double)(a - b) + 1);
}

static long double miss_probability(int64_t N, int64_t D, int64_t n)
{
	if (n > N - D)
		return 0;
	return expl(log_comb(N - D, n) - log_comb(N, n));
}

static void test_plans_match_exact_table(void **state)
{
	size_t i;
	int c;

	(void)state;
	for (i = 0; i < sizeof plans / sizeof plans[0]; i++)
		for (c = 0; c < 4; c++) {
			int64_t n = sampling_plan_size(plans[i].N, plans[i].p, plan_c[c]);
			int64_t D = sampling_defects_assumed(plans[i].N, plans[i].p);

			if (n != plans[i].n[c])
				fail_msg("N=%lld p=%g C=%g: plan %lld, exact %lld",
					 (long long)plans[i].N, plans[i].p, plan_c[c], (long long)n,
					 (long long)plans[i].n[c]);
			/* and by log-gamma: n meets the bound, n−1 does not */
			assert_true(miss_probability(plans[i].N, D, n) <=
				    (1 - plan_c[c]) * (1 + 1e-9));
			if (n > 0)
				assert_true(miss_probability(plans[i].N, D, n - 1) >
					    (1 - plan_c[c]) * (1 - 1e-9));
		}
}

static void test_plans_from_the_issue(void **state)
{
	(void)state;
	assert_int_equal(sampling_plan_size(500, 0.05, 0.90), 43);
	assert_int_equal(sampling_plan_size(500, 0.05, 0.95), 56);
	assert_int_equal(sampling_plan_size(4000, 0.05, 0.90), 45);
	assert_int_equal(sampling_plan_size(4000, 0.05, 0.95), 58);
	assert_int_equal(sampling_plan_size(4000, 0.01, 0.95), 288);
	assert_int_equal(sampling_defects_assumed(500, 0.05), 25);
	assert_int_equal(sampling_defects_assumed(100, 0.07), 7); /* 7.000000000000001 */
}

static void test_plan_edges(void **state)
{
	int64_t N;
	size_t p, c;

	(void)state;
	assert_int_equal(sampling_plan_size(0, 0.05, 0.95), 0);
	assert_int_equal(sampling_defects_assumed(0, 0.05), 0);
	/* p·N < 1: one bad item is still assumed, so all but 5% must be read */
	assert_int_equal(sampling_defects_assumed(10, 0.05), 1);
	assert_int_equal(sampling_plan_size(10, 0.05, 0.95), 10);
	assert_int_equal(sampling_plan_size(20, 0.01, 0.95), 19);
	assert_int_equal(sampling_plan_size(1, 0.05, 0.95), 1);
	assert_int_equal(sampling_plan_size(100, 1.0, 0.95), 1);
	assert_int_equal(sampling_plan_size(100, 0.05, 0), 0);
	assert_int_equal(sampling_plan_size(100, 0.05, 1), 96); /* N − D + 1 */
	assert_int_equal(sampling_plan_size(-1, 0.05, 0.95), AIRLOCK_EINVAL);
	assert_int_equal(sampling_plan_size(100, 0, 0.95), AIRLOCK_EINVAL);
	assert_int_equal(sampling_plan_size(100, 1.5, 0.95), AIRLOCK_EINVAL);
	assert_int_equal(sampling_plan_size(100, 0.05, 1.01), AIRLOCK_EINVAL);
	assert_int_equal(sampling_plan_size(100, NAN, 0.95), AIRLOCK_EINVAL);
	/* never more than N, and more confidence never needs fewer items */
	for (N = 1; N <= 400; N += 3)
		for (p = 0; p < 5; p++) {
			static const double ps[] = {0.001, 0.01, 0.05, 0.2, 0.9};
			int64_t last = 0;

			for (c = 0; c < 4; c++) {
				int64_t n = sampling_plan_size(N, ps[p], plan_c[c]);

				assert_true(n >= 1 && n <= N);
				assert_true(n >= last);
				last = n;
			}
		}
	/* a large lot is quick and sane */
	assert_int_equal(sampling_plan_size(1000000, 0.05, 0.95), 59);
}

static void test_confidence(void **state)
{
	(void)state;
	assert_float_equal(sampling_confidence(500, 0.05, 10), 0.40412971452212715, 1e-12);
	assert_true(sampling_confidence(500, 0.05, 56) >= 0.95);
	assert_true(sampling_confidence(500, 0.05, 55) < 0.95);
	assert_float_equal(sampling_confidence(500, 0.05, 0), 0, 0);
	assert_float_equal(sampling_confidence(500, 0.05, 500), 1, 0);
	assert_float_equal(sampling_confidence(500, 0.05, 476), 1, 0); /* past N − D */
	assert_true(sampling_confidence(500, 0.05, 501) < 0);
	assert_true(sampling_confidence(500, 0.05, -1) < 0);
	assert_true(sampling_confidence(500, 0, 10) < 0);
}

static void test_statement(void **state)
{
	char buf[256];
	int n;

	(void)state;
	n = sampling_statement(buf, sizeof buf, 500, 0.05, 56, 0);
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "zero bad items in 56 of 500 ⇒ with 95% confidence fewer than "
				 "25 (5%) of the batch are wrong");
	sampling_statement(buf, sizeof buf, 500, 0.05, 10, 0);
	assert_string_equal(buf, "zero bad items in 10 of 500 ⇒ with 40% confidence fewer than "
				 "25 (5%) of the batch are wrong");
	sampling_statement(buf, sizeof buf, 4000, 0.025, 120, 0);
	assert_non_null(strstr(buf, "fewer than 100 (2.5%)"));
	sampling_statement(buf, sizeof buf, 10, 0.05, 10, 0);
	assert_string_equal(buf, "zero bad items in 10 of 10 ⇒ with 100% confidence no item of "
				 "the batch is wrong");
	sampling_statement(buf, sizeof buf, 500, 0.05, 56, 1);
	assert_string_equal(buf, "1 bad item in 56 of 500 ⇒ the batch goes back to a person to "
				 "approve or reject");
	sampling_statement(buf, sizeof buf, 500, 0.05, 56, 3);
	assert_non_null(strstr(buf, "3 bad items in 56 of 500"));
	/* truncated, still terminated, and the wanted length returned */
	n = sampling_statement(buf, 10, 500, 0.05, 56, 0);
	assert_true(n > 10);
	assert_int_equal(strlen(buf), 9);
	assert_int_equal(sampling_statement(buf, sizeof buf, 500, 0.05, 56, 57), AIRLOCK_EINVAL);
	assert_int_equal(sampling_statement(buf, sizeof buf, 500, 0.05, 600, 0), AIRLOCK_EINVAL);
}

/* The draw as written out longhand: libsodium's one-shot ChaCha20
 * keystream, a dense array and plain swaps. */
static void reference_draw(int64_t N, int64_t n, const unsigned char seed[32], int64_t *out)
{
	static const unsigned char nonce[8] = "airlock\1";
	size_t words = 1 << 14, w = 0;
	unsigned char *ks = malloc(words * 8);
	int64_t *perm = malloc((size_t)N * sizeof *perm), k, j, tmp;
	uint64_t x, m, lim;
	int b;

	assert_non_null(ks);
	assert_non_null(perm);
	crypto_stream_chacha20(ks, words * 8, nonce, seed);
	for (k = 0; k < N; k++)
		perm[k] = k;
	for (k = 0; k < n; k++) {
		m = (uint64_t)(N - k);
		lim = (0 - m) % m;
		do {
			assert_true(w < words);
			for (x = 0, b = 7; b >= 0; b--)
				x = (x << 8) | ks[w * 8 + (size_t)b];
			w++;
		} while (x < lim);
		j = k + (int64_t)(x % m);
		tmp = perm[k];
		perm[k] = perm[j];
		perm[j] = tmp;
		out[k] = perm[k];
	}
	free(ks);
	free(perm);
}

static void test_draw_reproducible_and_distinct(void **state)
{
	unsigned char seed[32], seed2[32];
	int64_t a[600], b[600], ref[600];
	static const int64_t sizes[][2] = {{500, 56},  {4000, 58}, {1, 1}, {7, 7},
					   {600, 600}, {1000, 3},  {3, 0}};
	char *seen;
	struct err err = {0};
	size_t i;
	int64_t k;

	(void)state;
	assert_ok(sampling_seed(seed, &err), &err);
	memcpy(seed2, seed, 32);
	seed2[31] ^= 1;
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		int64_t N = sizes[i][0], n = sizes[i][1];

		assert_ok(sampling_draw(N, n, seed, a, &err), &err);
		assert_ok(sampling_draw(N, n, seed, b, &err), &err);
		assert_memory_equal(a, b, (size_t)n * sizeof a[0]);
		reference_draw(N, n, seed, ref);
		assert_memory_equal(a, ref, (size_t)n * sizeof a[0]);
		seen = calloc((size_t)N, 1);
		for (k = 0; k < n; k++) {
			assert_true(a[k] >= 0 && a[k] < N);
			assert_false(seen[a[k]]);
			seen[a[k]] = 1;
		}
		free(seen);
	}
	/* another seed, another draw */
	assert_ok(sampling_draw(500, 56, seed, a, &err), &err);
	assert_ok(sampling_draw(500, 56, seed2, b, &err), &err);
	assert_true(memcmp(a, b, 56 * sizeof a[0]) != 0);
	/* a huge lot needs no memory proportional to it */
	assert_ok(sampling_draw(INT64_C(1) << 40, 5, seed, a, &err), &err);
	for (k = 0; k < 5; k++)
		assert_true(a[k] >= 0 && a[k] < (INT64_C(1) << 40));
	assert_int_equal(sampling_draw(5, 6, seed, a, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "cannot draw 6 of 5"));
	assert_int_equal(sampling_draw(5, -1, seed, a, &err), AIRLOCK_EINVAL);
}

/* The same zero seed must give the same draw on every machine and in every
 * future version: a recorded seed is only evidence if it replays. */
static void test_draw_is_stable(void **state)
{
	unsigned char seed[32] = {0};
	static const int64_t recorded[5] = {114, 122, 138, 19, 103};
	int64_t a[5], ref[5];
	struct err err = {0};

	(void)state;
	assert_ok(sampling_draw(500, 5, seed, a, &err), &err);
	reference_draw(500, 5, seed, ref);
	assert_memory_equal(a, ref, sizeof a);
	assert_memory_equal(a, recorded, sizeof a);
}

/* Each position of a 1-of-10 draw is equally likely: chi-square over
 * 20,000 seeds (deterministic, so the test cannot flake). */
static void test_draw_uniform(void **state)
{
	unsigned char seed[32] = {0};
	int64_t out[1], counts[10] = {0};
	struct err err = {0};
	double chi = 0, e = 2000;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		memcpy(seed, &i, sizeof i);
		assert_ok(sampling_draw(10, 1, seed, out, &err), &err);
		counts[out[0]]++;
	}
	for (i = 0; i < 10; i++)
		chi += (counts[i] - e) * (counts[i] - e) / e;
	assert_true(chi < 27.88); /* 9 degrees of freedom, p = 0.001 */
}

static void test_betai(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof betas / sizeof betas[0]; i++) {
		double v = sampling_betai(betas[i].a, betas[i].b, betas[i].x);

		if (fabs(v - betas[i].value) > 1e-11 * fmax(1, betas[i].value))
			fail_msg("I_%g(%g, %g) = %.17g, wanted %.17g", betas[i].x, betas[i].a,
				 betas[i].b, v, betas[i].value);
	}
	assert_float_equal(sampling_betai(2, 3, 0), 0, 0);
	assert_float_equal(sampling_betai(2, 3, 1), 1, 0);
	assert_true(isnan(sampling_betai(0, 3, 0.5)));
	assert_true(isnan(sampling_betai(2, 3, 1.5)));
}

static void test_upper_bounds(void **state)
{
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
		double u =
		    sampling_upper_bound(bounds[i].defects, bounds[i].inspected, bounds[i].C);

		if (fabs(u - bounds[i].upper) > 1e-9 * bounds[i].upper)
			fail_msg("%lld of %lld at %g: %.17g, wanted %.17g",
				 (long long)bounds[i].defects, (long long)bounds[i].inspected,
				 bounds[i].C, u, bounds[i].upper);
	}
	/* zero defects has a closed form */
	for (n = 1; n <= 5000; n = n * 3 + 1)
		assert_float_equal(sampling_upper_bound(0, n, 0.95), 1 - pow(0.05, 1.0 / n), 1e-12);
	assert_float_equal(sampling_upper_bound(0, 0, 0.95), 1, 0);
	assert_float_equal(sampling_upper_bound(20, 20, 0.95), 1, 0);
	assert_true(sampling_upper_bound(21, 20, 0.95) < 0);
	assert_true(sampling_upper_bound(1, 20, 1) < 0);
	assert_true(sampling_upper_bound(-1, 20, 0.9) < 0);
}

static void test_level_plans(void **state)
{
	(void)state;
	assert_float_equal(sampling_level_fraction(SAMPLING_TIGHTENED, 0.05), 0.025, 1e-15);
	assert_float_equal(sampling_level_fraction(SAMPLING_REDUCED, 0.05), 0.1, 1e-15);
	assert_float_equal(sampling_level_fraction(SAMPLING_REDUCED, 0.7), 1, 0);
	assert_int_equal(sampling_level_plan_size(SAMPLING_NORMAL, 500, 0.05, 0.95), 56);
	assert_int_equal(sampling_level_plan_size(SAMPLING_TIGHTENED, 500, 0.05, 0.95), 102);
	assert_int_equal(sampling_level_plan_size(SAMPLING_REDUCED, 500, 0.05, 0.95), 28);
	assert_string_equal(sampling_level_name(SAMPLING_REDUCED), "reduced");
	assert_int_equal(sampling_level_parse("tightened"), SAMPLING_TIGHTENED);
	assert_int_equal(sampling_level_parse("loose"), -1);
	assert_int_equal(sampling_level_parse(NULL), -1);
}

static void feed(const struct sampling_policy *pol, struct sampling_state *st, int items, int bad)
{
	int i;

	for (i = 0; i < items; i++)
		sampling_observe(pol, st, i < bad);
}

static void test_switching_rules(void **state)
{
	struct sampling_policy pol;
	struct sampling_state st = {0};
	int i;

	(void)state;
	sampling_policy_default(&pol);
	/* 2 failures within 5 batches: tightened */
	assert_int_equal(sampling_switch(&pol, &st, 0), SAMPLING_NORMAL);
	assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_NORMAL);
	assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_NORMAL);
	assert_int_equal(sampling_switch(&pol, &st, 0), SAMPLING_TIGHTENED);
	/* tightened: 4 clean are not enough, 5 are; a failure restarts the run */
	for (i = 0; i < 4; i++)
		assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_TIGHTENED);
	assert_int_equal(sampling_switch(&pol, &st, 0), SAMPLING_TIGHTENED);
	for (i = 0; i < 4; i++)
		assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_TIGHTENED);
	assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_NORMAL);
	/* failures 5 batches apart fall out of the window */
	memset(&st, 0, sizeof st);
	assert_int_equal(sampling_switch(&pol, &st, 0), SAMPLING_NORMAL);
	for (i = 0; i < 4; i++)
		sampling_switch(&pol, &st, 1);
	assert_int_equal(sampling_switch(&pol, &st, 0), SAMPLING_NORMAL);
	/* R clean batches are not enough without evidence under the target */
	memset(&st, 0, sizeof st);
	for (i = 0; i < 20; i++)
		assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_NORMAL);
	/* ... nor with evidence of a rate near the target */
	memset(&st, 0, sizeof st);
	st.inspected = 600;
	st.defects = 25;
	for (i = 0; i < 20; i++)
		assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_NORMAL);
	/* with 600 clean items (bound 0.5%), the 10th clean batch reduces */
	memset(&st, 0, sizeof st);
	feed(&pol, &st, 600, 0);
	assert_true(sampling_upper_bound(st.defects, st.inspected, 0.95) < 0.05);
	for (i = 0; i < 9; i++)
		assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_NORMAL);
	assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_REDUCED);
	assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_REDUCED);
	/* reduced: back to normal at the first failure */
	assert_int_equal(sampling_switch(&pol, &st, 0), SAMPLING_NORMAL);
	assert_int_equal(st.clean_run, 0);
	/* a custom R */
	pol.reduce_after = 3;
	for (i = 0; i < 2; i++)
		assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_NORMAL);
	assert_int_equal(sampling_switch(&pol, &st, 1), SAMPLING_REDUCED);
}

static void test_cusum(void **state)
{
	struct sampling_policy pol;
	struct sampling_state st = {0};
	int i, crossed = 0, at = -1;

	(void)state;
	sampling_policy_default(&pol);
	/* clean, and bad exactly at the target rate: no alarm in 20,000 items */
	for (i = 0; i < 10000; i++)
		crossed += sampling_observe(&pol, &st, 0);
	for (i = 0; i < 10000; i++)
		crossed += sampling_observe(&pol, &st, i % 20 == 0);
	assert_int_equal(crossed, 0);
	assert_int_equal(st.inspected, 20000);
	assert_int_equal(st.defects, 500);
	/* one bad in three: crosses, and demotes reduced to normal */
	st.level = SAMPLING_REDUCED;
	for (i = 0; i < 1000 && at < 0; i++)
		if (sampling_observe(&pol, &st, i % 3 == 0))
			at = i;
	assert_true(at > 0 && at < 60);
	assert_int_equal(st.level, SAMPLING_NORMAL);
	assert_float_equal(st.cusum, 0, 0);
	/* and again: normal to tightened */
	for (i = 0, at = -1; i < 1000 && at < 0; i++)
		if (sampling_observe(&pol, &st, i % 3 == 0))
			at = i;
	assert_true(at > 0);
	assert_int_equal(st.level, SAMPLING_TIGHTENED);
}

static void test_state_json(void **state)
{
	struct sampling_policy pol;
	struct sampling_state st = {0}, back;
	struct err err = {0};
	json_t *j;

	(void)state;
	sampling_policy_default(&pol);
	feed(&pol, &st, 50, 3);
	sampling_switch(&pol, &st, 0);
	j = sampling_state_to_json(&st);
	assert_non_null(j);
	assert_ok(sampling_state_from_json(j, &back, &err), &err);
	assert_int_equal(back.level, st.level);
	assert_int_equal(back.recent, st.recent);
	assert_int_equal(back.nrecent, st.nrecent);
	assert_int_equal(back.inspected, 50);
	assert_int_equal(back.defects, 3);
	assert_float_equal(back.cusum, st.cusum, 1e-12);
	json_object_set_new(j, "defects", json_integer(51));
	assert_int_equal(sampling_state_from_json(j, &back, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "defects"));
	json_object_set_new(j, "level", json_string("lax"));
	assert_int_equal(sampling_state_from_json(j, &back, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "level"));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plans_match_exact_table),
	    cmocka_unit_test(test_plans_from_the_issue),
	    cmocka_unit_test(test_plan_edges),
	    cmocka_unit_test(test_confidence),
	    cmocka_unit_test(test_statement),
	    cmocka_unit_test(test_draw_reproducible_and_distinct),
	    cmocka_unit_test(test_draw_is_stable),
	    cmocka_unit_test(test_draw_uniform),
	    cmocka_unit_test(test_betai),
	    cmocka_unit_test(test_upper_bounds),
	    cmocka_unit_test(test_level_plans),
	    cmocka_unit_test(test_switching_rules),
	    cmocka_unit_test(test_cusum),
	    cmocka_unit_test(test_state_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
