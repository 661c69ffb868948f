/* test_drift_stats.c — the drift monitor's pure parts against
 * hand-computed values: distances, tests, EWMA limits, MinHash, LSH and
 * the distinct-n-gram ratio. */
#include "testutil.h"

#include <math.h>

#include "drift_stats.h"
#include "minhash.h"

#define near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void test_shares_smoothing(void **state)
{
	double c[3] = {2, 0, 0}, s[3];

	(void)state;
	drift_stats_shares(c, 3, 0.5, s);
	near(s[0], 2.5 / 3.5, 1e-12);
	near(s[1], 0.5 / 3.5, 1e-12);
	drift_stats_shares((double[]){0, 0}, 2, 0, s);
	near(s[0], 0.5, 1e-12);
}

static void test_js_distance(void **state)
{
	double a[2] = {1, 0}, b[2] = {0, 1}, h[2] = {5, 5}, one[2] = {10, 0};

	(void)state;
	near(drift_stats_js_distance(a, a, 2, 0), 0.0, 1e-12);
	near(drift_stats_js_distance(a, b, 2, 0), 1.0, 1e-12);
	/* p = (.5,.5), q = (1,0): m = (.75,.25); KL(p|m) = .5 log2(2/3) + .5 log2 2
	 * = 0.2075187; KL(q|m) = log2(4/3) = 0.4150375; JSD = 0.3112781 */
	near(drift_stats_js_distance(h, one, 2, 0), sqrt(0.31127812445913283), 1e-9);
	/* symmetric */
	near(drift_stats_js_distance(one, h, 2, 0), drift_stats_js_distance(h, one, 2, 0), 1e-12);
	/* smoothing pulls disjoint samples together */
	assert_true(drift_stats_js_distance(a, b, 2, 0.5) < 1.0);
}

static void test_psi(void **state)
{
	double a[2] = {50, 50}, e[2] = {25, 75}, z[2] = {10, 0};

	(void)state;
	/* .25 ln 2 + (-.25) ln(2/3) = 0.1732868 + 0.1013663 */
	near(drift_stats_psi(a, e, 2, 0), 0.25 * log(2.0) - 0.25 * log(2.0 / 3.0), 1e-12);
	near(drift_stats_psi(a, a, 2, 0), 0.0, 1e-12);
	assert_true(isinf(drift_stats_psi(a, z, 2, 0)));
	assert_true(isfinite(drift_stats_psi(a, z, 2, 0.5)));
}

static void test_effective_categories(void **state)
{
	(void)state;
	near(drift_stats_effective_categories((double[]){5, 5, 5, 5}, 4), 4.0, 1e-12);
	near(drift_stats_effective_categories((double[]){9, 0, 0}, 3), 1.0, 1e-12);
	near(drift_stats_effective_categories((double[]){0, 0}, 2), 0.0, 1e-12);
}

static void test_chi_square(void **state)
{
	double stat;
	int df;
	double p;

	(void)state;
	/* df 2: the survival function is exactly exp(-x/2) */
	near(drift_stats_chi_square_sf(5.991464547, 2), 0.05, 1e-9);
	near(drift_stats_chi_square_sf(1.0, 2), exp(-0.5), 1e-12);
	/* table values: 3.841459 (df 1), 11.344867 (df 3, p .01), 23.209251 (df 10) */
	near(drift_stats_chi_square_sf(3.841458821, 1), 0.05, 1e-8);
	near(drift_stats_chi_square_sf(11.34486673, 3), 0.01, 1e-8);
	near(drift_stats_chi_square_sf(23.20925116, 10), 0.01, 1e-8);
	near(drift_stats_chi_square_sf(0, 4), 1.0, 1e-12);
	/* 2x2 table 30/70 vs 20/80: chi2 = 200 (30*80-70*20)^2/(100*100*50*150) = 8/3 */
	p = drift_stats_chi_square((double[]){30, 70}, (double[]){20, 80}, 2, &stat, &df);
	near(stat, 8.0 / 3.0, 1e-9);
	assert_int_equal(df, 1);
	near(p, drift_stats_chi_square_sf(8.0 / 3.0, 1), 1e-12);
	/* the same 2x2 table as a two-proportion z: z^2 = chi2 */
	near(pow(drift_stats_two_proportion_z(30, 100, 20, 100), 2), 8.0 / 3.0, 1e-9);
	/* bins empty on both sides are dropped; a one-sided empty table says nothing */
	drift_stats_chi_square((double[]){30, 0, 70}, (double[]){20, 0, 80}, 3, &stat, &df);
	assert_int_equal(df, 1);
	near(drift_stats_chi_square((double[]){0, 0}, (double[]){4, 5}, 2, NULL, NULL), 1.0, 0);
}

static void test_two_proportion(void **state)
{
	(void)state;
	/* p = .25, se = sqrt(.25 * .75 * .02) = 0.0612372 */
	near(drift_stats_two_proportion_z(30, 100, 20, 100), 0.1 / sqrt(0.25 * 0.75 * 0.02), 1e-9);
	near(drift_stats_two_proportion_z(20, 100, 30, 100), -1.632993, 1e-6);
	near(drift_stats_two_proportion_z(0, 0, 3, 10), 0.0, 0);
	near(drift_stats_two_proportion_z(0, 10, 0, 10), 0.0, 0);
	near(drift_stats_normal_p(1.959963985), 0.05, 1e-9);
	near(drift_stats_normal_p(-2.575829304), 0.01, 1e-9);
	/* and back: the z of a two-sided p */
	near(drift_stats_normal_z(0.05), 1.959963985, 1e-8);
	near(drift_stats_normal_z(0.0026997960632601866), 3.0, 1e-8);
	near(drift_stats_normal_z(1.0), 0.0, 0);
	near(drift_stats_normal_z(0.0), 40.0, 0);
	near(drift_stats_normal_z(drift_stats_normal_p(7.5)), 7.5, 1e-8);
}

static void test_mean_sd(void **state)
{
	double sd;

	(void)state;
	near(drift_stats_mean((double[]){2, 4, 4, 4, 5, 5, 7, 9}, 8, &sd), 5.0, 1e-12);
	near(sd, sqrt(32.0 / 7.0), 1e-12);
	drift_stats_mean((double[]){3}, 1, &sd);
	near(sd, 0.0, 0);
}

static void test_ewma(void **state)
{
	struct drift_ewma e;
	double r;
	int i;

	(void)state;
	drift_ewma_init(&e, 0.2, 3.0, 0.0, 1.0);
	/* z1 = .2; half-width = 3 sqrt(.2/1.8 (1 - .64)) = 3 * .2 = .6 */
	r = drift_ewma_step(&e, 1.0);
	near(e.z, 0.2, 1e-12);
	near(drift_ewma_halfwidth(&e), 0.6, 1e-12);
	near(r, 0.2 / 0.6, 1e-12);
	/* z2 = .2 + .8 * .2 = .36; half-width 3 sqrt(1/9 (1 - .8^4)) */
	r = drift_ewma_step(&e, 1.0);
	near(e.z, 0.36, 1e-12);
	near(r, 0.36 / (3 * sqrt((1 - pow(0.8, 4)) / 9)), 1e-12);
	/* a sustained one-sigma shift is caught; the asymptotic limit is L sqrt(l/(2-l)) = 1 */
	for (i = 0; i < 30; i++)
		r = drift_ewma_step(&e, 1.0);
	near(drift_ewma_halfwidth(&e), 1.0, 1e-3);
	assert_true(r < 1.01); /* z -> 1, limit -> 1: one sigma is the edge */
	drift_ewma_init(&e, 0.2, 3.0, 0.5, 0.0);
	near(drift_ewma_step(&e, 0.5), 0.0, 0);
	assert_true(drift_ewma_step(&e, 0.6) >= 1e6);
}

static void test_words_and_shingles(void **state)
{
	uint64_t w[8], s[8];
	size_t n;

	(void)state;
	n = minhash_words("Hello, World! hello\n\t42x", 24, w, 8);
	assert_int_equal(n, 4);
	assert_true(w[0] == w[2]); /* folded to lowercase */
	assert_true(w[0] != w[1]);
	assert_int_equal(minhash_words("  ,.;  ", 7, w, 8), 0);
	assert_int_equal(minhash_words("a b c d e", 9, w, 2), 5); /* counts past max */
	n = minhash_words("café crème", strlen("café crème"), w, 8);
	assert_int_equal(n, 2); /* UTF-8 stays inside words */
	n = minhash_words("a b c", 5, w, 8);
	assert_int_equal(minhash_shingles(w, n, 2, s, 8), 2);
	assert_int_equal(minhash_shingles(w, n, 3, s, 8), 1);
	assert_int_equal(minhash_shingles(w, n, 5, s, 8), 1); /* short text: one shingle */
	assert_int_equal(minhash_shingles(w, 0, 2, s, 8), 0);
	/* order matters: "a b" is not "b a" */
	n = minhash_words("a b b a", 7, w, 8);
	assert_int_equal(minhash_shingles(w, n, 2, s, 8), 3);
	assert_true(s[0] != s[2]);
}

static void test_exact_jaccard(void **state)
{
	uint64_t a[4] = {3, 1, 2, 2}, b[3] = {4, 3, 2};

	(void)state;
	/* {1,2,3} vs {2,3,4}: 2 / 4 */
	near(minhash_jaccard(a, 4, b, 3), 0.5, 1e-12);
	near(minhash_jaccard(a, 0, b, 0), 1.0, 0);
}

/* xorshift64*: a fixed stream of test values. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Two shingle sets sharing `shared` hashes with `own` of their own each:
 * Jaccard shared / (shared + 2 own). */
static void make_pair(uint64_t *seed, int shared, int own, uint64_t *a, uint64_t *b)
{
	int i;

	for (i = 0; i < shared; i++)
		a[i] = b[i] = rnd(seed);
	for (i = 0; i < own; i++) {
		a[shared + i] = rnd(seed);
		b[shared + i] = rnd(seed);
	}
}

static void test_minhash_accuracy(void **state)
{
	static const int shared[] = {160, 100, 50, 180};
	static const int own[] = {20, 50, 75, 10};
	uint64_t seed = 42, a[200], b[200];
	uint16_t sa[128], sb[128];
	int k, i;

	(void)state;
	for (k = 0; k < 4; k++) {
		double j = (double)shared[k] / (shared[k] + 2 * own[k]), sum = 0, worst = 0;

		for (i = 0; i < 200; i++) {
			double est;

			make_pair(&seed, shared[k], own[k], a, b);
			assert_int_equal(minhash_sketch(a, (size_t)(shared[k] + own[k]), 128, sa),
					 0);
			assert_int_equal(minhash_sketch(b, (size_t)(shared[k] + own[k]), 128, sb),
					 0);
			est = minhash_similarity(sa, sb, 128);
			sum += est;
			if (fabs(est - j) > worst)
				worst = fabs(est - j);
		}
		/* unbiased: the mean of 200 estimates is within 0.015 of J; one estimate
		 * has a standard deviation of sqrt(J(1-J)/128) <= 0.045 */
		near(sum / 200, j, 0.015);
		assert_true(worst < 0.2);
	}
	/* identical sets agree everywhere; an empty set has no sketch */
	make_pair(&seed, 30, 0, a, b);
	minhash_sketch(a, 30, 128, sa);
	minhash_sketch(b, 30, 128, sb);
	near(minhash_similarity(sa, sb, 128), 1.0, 0);
	assert_int_equal(minhash_sketch(a, 0, 128, sa), -1);
	assert_int_equal(minhash_sketch(a, 10, 0, sa), -1);
}

static void sketch_text(const char *t, uint16_t *sig)
{
	uint64_t w[256], s[256];
	size_t n = minhash_words(t, strlen(t), w, 256);

	n = minhash_shingles(w, n, 3, s, 256);
	assert_int_equal(minhash_sketch(s, n, 128, sig), 0);
}

static void test_minhash_texts(void **state)
{
	const char *base = "Hi Dana, I noticed Acme opened twelve sales roles this month. Teams "
			   "scaling outbound that fast usually hit a wall with routing and lead "
			   "scoring. We help revenue teams like yours keep pipeline clean while "
			   "headcount grows. Would a short call next Tuesday work for you?";
	const char *edit = "Hi Sam, I noticed Acme opened twelve sales roles this month. Teams "
			   "scaling outbound that fast usually hit a wall with routing and lead "
			   "scoring. We help revenue teams like yours keep pipeline clean while "
			   "headcount grows. Would a short call next Tuesday work for you?";
	const char *other = "Congratulations on the Series B! Funding rounds often mean new "
			    "markets; if expanding into EMEA is on the roadmap, our data team can "
			    "share what worked for similar companies. Happy to send a summary.";
	uint16_t a[128], b[128], c[128];

	(void)state;
	sketch_text(base, a);
	sketch_text(edit, b);
	sketch_text(other, c);
	/* one word changed in 44: 41 of 45 shingles shared -> J = 41/45 ~ 0.91 */
	assert_true(minhash_similarity(a, b, 128) >= 0.8);
	assert_true(minhash_similarity(a, c, 128) < 0.2);
}

static void test_lsh_candidates_recall(void **state)
{
	/* With threshold 0 every candidate counts, so the found rate is the
	 * candidate probability 1 - (1 - J^8)^16: J .8 -> .947, J .5 -> .061 */
	static const int shared[] = {160, 100};
	static const int own[] = {20, 50};
	uint64_t seed = 7, a[200], b[200];
	uint16_t *sigs = malloc(2 * 400 * 128 * sizeof *sigs);
	int k, i, found;

	(void)state;
	assert_non_null(sigs);
	for (k = 0; k < 2; k++) {
		double j = (double)shared[k] / (shared[k] + 2 * own[k]);
		double want = minhash_lsh_candidate_probability(j, 128, 16);
		struct minhash_lsh *l = minhash_lsh_new(sigs, 800, 0, 128, 16, 0.0, 1000000, 64);

		assert_non_null(l);
		found = 0;
		for (i = 0; i < 400; i++) {
			make_pair(&seed, shared[k], own[k], a, b);
			minhash_sketch(a, (size_t)(shared[k] + own[k]), 128,
				       sigs + (size_t)(2 * i) * 128);
			minhash_sketch(b, (size_t)(shared[k] + own[k]), 128,
				       sigs + (size_t)(2 * i + 1) * 128);
		}
		for (i = 0; i < 400; i++) {
			/* pairs far apart in time so that only a pair's own sketches meet */
			assert_true(minhash_lsh_add(l, (size_t)(2 * i), (int64_t)i * 10) >= 0);
			found += minhash_lsh_add(l, (size_t)(2 * i + 1), (int64_t)i * 10 + 1);
		}
		if (k == 0)
			near(want, 0.947, 0.001);
		near((double)found / 400, want, 0.05);
		minhash_lsh_free(l);
		/* re-use the index with the default horizon */
		l = minhash_lsh_new(sigs, 800, 0, 128, 16, 0.0, 5, 64);
		minhash_lsh_free(l);
	}
	free(sigs);
}

static void test_lsh_threshold_and_horizon(void **state)
{
	uint64_t seed = 9, a[200], b[200];
	uint16_t *sigs = malloc(6 * 128 * sizeof *sigs);
	struct minhash_lsh *l;

	(void)state;
	assert_non_null(sigs);
	make_pair(&seed, 180, 10, a, b); /* J = .9 */
	minhash_sketch(a, 190, 128, sigs);
	minhash_sketch(b, 190, 128, sigs + 128);
	make_pair(&seed, 50, 75, a, b); /* J = .25 */
	minhash_sketch(a, 125, 128, sigs + 256);
	minhash_sketch(b, 125, 128, sigs + 384);
	memcpy(sigs + 512, sigs, 128 * sizeof *sigs); /* an exact copy of the first */
	memcpy(sigs + 640, sigs, 128 * sizeof *sigs);
	l = minhash_lsh_new(sigs, 6, 0, 128, 16, 0.8, 100, 64);
	assert_non_null(l);
	assert_int_equal(minhash_lsh_add(l, 0, 0), 0);	/* nothing earlier */
	assert_int_equal(minhash_lsh_add(l, 1, 10), 1); /* J .9 */
	assert_int_equal(minhash_lsh_add(l, 2, 20), 0);
	assert_int_equal(minhash_lsh_add(l, 3, 30), 0);	  /* J .25 */
	assert_int_equal(minhash_lsh_add(l, 4, 200), 0);  /* its twins are past the horizon */
	assert_int_equal(minhash_lsh_add(l, 5, 201), 1);  /* but entry 4 is not */
	assert_int_equal(minhash_lsh_add(l, 5, 202), -1); /* out of order */
	minhash_lsh_free(l);
	assert_null(
	    minhash_lsh_new(sigs, 6, 0, 128, 15, 0.8, 100, 64)); /* 15 does not divide 128 */
	free(sigs);
}

static void test_lsh_stays_linear(void **state)
{
	/* 5,000 identical sketches: each finds the newest at once */
	uint16_t *sigs = calloc(5000 * 128, sizeof *sigs);
	struct minhash_lsh *l;
	int i, found = 0;

	(void)state;
	assert_non_null(sigs);
	for (i = 0; i < 5000 * 128; i++)
		sigs[i] = (uint16_t)(i % 128);
	l = minhash_lsh_new(sigs, 5000, 0, 128, 16, 0.8, 1000000, 64);
	for (i = 0; i < 5000; i++)
		found += minhash_lsh_add(l, (size_t)i, i);
	assert_int_equal(found, 4999);
	assert_true(minhash_lsh_checks(l) <= 4999);
	minhash_lsh_free(l);
	free(sigs);
}

static void test_lsh_small_table_reuses_stale_buckets(void **state)
{
	/* 3,000 entries in pairs of twins, one time unit apart, the horizon 3
	 * units: every second entry has an earlier twin and nothing else is
	 * alike. The table is sized for 4 live entries, so it only works if
	 * buckets past the horizon are reused. */
	uint16_t *sigs = malloc(3000 * 128 * sizeof *sigs);
	uint64_t seed = 77, set[100];
	struct minhash_lsh *l;
	int i, k, found = 0, wrong = 0;

	(void)state;
	assert_non_null(sigs);
	for (i = 0; i < 3000; i += 2) {
		for (k = 0; k < 100; k++)
			set[k] = rnd(&seed);
		minhash_sketch(set, 100, 128, sigs + (size_t)i * 128);
		memcpy(sigs + (size_t)(i + 1) * 128, sigs + (size_t)i * 128, 128 * sizeof *sigs);
	}
	l = minhash_lsh_new(sigs, 3000, 4, 128, 16, 0.8, 3, 64);
	assert_non_null(l);
	for (i = 0; i < 3000; i++) {
		int f = minhash_lsh_add(l, (size_t)i, i);

		found += f == 1 && i % 2;
		wrong += f == 1 && !(i % 2);
	}
	assert_int_equal(found, 1500);
	assert_int_equal(wrong, 0);
	minhash_lsh_free(l);
	free(sigs);
}

static void test_distinct_ngrams(void **state)
{
	struct minhash_ngrams *g = minhash_ngrams_new(4);
	uint64_t w[16];
	size_t n;
	int i;

	(void)state;
	assert_non_null(g);
	near(minhash_ngrams_ratio(g), 1.0, 0);
	/* "a b a b": ab, ba, ab -> 2 distinct of 3 */
	n = minhash_words("a b a b", 7, w, 16);
	assert_int_equal(minhash_ngrams_add(g, w, n, 2), 0);
	near(minhash_ngrams_ratio(g), 2.0 / 3.0, 1e-12);
	/* and the same text again: 2 distinct of 6 */
	minhash_ngrams_add(g, w, n, 2);
	near(minhash_ngrams_ratio(g), 2.0 / 6.0, 1e-12);
	minhash_ngrams_reset(g);
	n = minhash_words("the cat the cat the cat", 23, w, 16);
	minhash_ngrams_add(g, w, n, 1);
	near(minhash_ngrams_ratio(g), 2.0 / 6.0, 1e-12);
	assert_int_equal(minhash_ngrams_total(g), 6);
	minhash_ngrams_reset(g);
	n = minhash_words("short", 5, w, 16);
	minhash_ngrams_add(g, w, n, 2); /* fewer words than n: nothing */
	assert_int_equal(minhash_ngrams_total(g), 0);
	/* the set grows past its first size and keeps counting right */
	for (i = 0; i < 16; i++)
		w[i] = (uint64_t)i * 7919 + 1;
	minhash_ngrams_reset(g);
	for (i = 0; i < 100; i++) {
		w[0] = (uint64_t)i;
		minhash_ngrams_add(g, w, 16, 1);
	}
	/* 15 fixed words plus 100 different first words */
	near(minhash_ngrams_ratio(g), 115.0 / 1600.0, 1e-12);
	minhash_ngrams_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shares_smoothing),
	    cmocka_unit_test(test_js_distance),
	    cmocka_unit_test(test_psi),
	    cmocka_unit_test(test_effective_categories),
	    cmocka_unit_test(test_chi_square),
	    cmocka_unit_test(test_two_proportion),
	    cmocka_unit_test(test_mean_sd),
	    cmocka_unit_test(test_ewma),
	    cmocka_unit_test(test_words_and_shingles),
	    cmocka_unit_test(test_exact_jaccard),
	    cmocka_unit_test(test_minhash_accuracy),
	    cmocka_unit_test(test_minhash_texts),
	    cmocka_unit_test(test_lsh_candidates_recall),
	    cmocka_unit_test(test_lsh_threshold_and_horizon),
	    cmocka_unit_test(test_lsh_stays_linear),
	    cmocka_unit_test(test_lsh_small_table_reuses_stale_buckets),
	    cmocka_unit_test(test_distinct_ngrams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
