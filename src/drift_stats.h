/* drift_stats.h — the statistics the drift monitor judges windows with:
 * Jensen-Shannon distance and the population stability index between two
 * category distributions (counts, smoothed), the chi-square test of
 * homogeneity and the two-proportion z test for small counts, and an EWMA
 * control chart for slow creep.
 *
 * Owns: nothing. Pure functions of their arguments, no allocation, no
 * store; every formula is checked against hand-computed values in
 * tests/test_drift_stats.c.
 *
 * Never: decides whether something is an alert (drift_detect.c does, with
 * the thresholds of struct drift_config); these only measure. */
#ifndef AIRLOCK_DRIFT_STATS_H
#define AIRLOCK_DRIFT_STATS_H

/* Shares of n bins after adding alpha to every count ("empty bins
 * smoothed"): out[i] = (c[i] + alpha) / (sum + n * alpha). All zero counts
 * with alpha 0 give equal shares. */
void drift_stats_shares(const double *counts, int n, double alpha, double *out);

/* Jensen-Shannon distance (the square root of the divergence in bits, so
 * 0 = same, 1 = disjoint) between two count vectors over the same n bins,
 * each smoothed by alpha. */
double drift_stats_js_distance(const double *p, const double *q, int n, double alpha);

/* Population stability index of `actual` against `expected` (natural log),
 * both smoothed by alpha: sum (a - e) ln(a / e). With alpha 0 a bin empty
 * on one side only makes it infinite, which is why callers smooth. */
double drift_stats_psi(const double *actual, const double *expected, int n, double alpha);

/* exp(Shannon entropy) of the counts: the effective number of categories
 * (1 when everything is one category, n when all are equal). 0 when the
 * counts are all zero. */
double drift_stats_effective_categories(const double *counts, int n);

/* Chi-square test of homogeneity of two count vectors (a 2 x n table).
 * Bins empty on both sides are dropped; *df = bins kept - 1. Returns the
 * p-value (1 when fewer than two bins remain or a side is empty); *stat
 * and *df may be NULL. */
double drift_stats_chi_square(const double *a, const double *b, int n, double *stat, int *df);

/* P(X >= x) for X ~ chi-square with df degrees of freedom. */
double drift_stats_chi_square_sf(double x, int df);

/* Pooled two-proportion z statistic of x1/n1 against x2/n2 (positive when
 * the first is larger); 0 when either n is 0 or the pooled share is 0 or
 * 1. */
double drift_stats_two_proportion_z(double x1, double n1, double x2, double n2);

/* Two-sided p-value of a standard normal z. */
double drift_stats_normal_p(double z);

/* The |z| whose two-sided p-value is p (the inverse of the above), so a
 * chi-square result can be held to the same z threshold as a proportion
 * test. 40 for p at or below the smallest double erfc reaches; 0 for
 * p >= 1. */
double drift_stats_normal_z(double p);

/* Mean of v[0..n-1]; *sd (may be NULL) gets the sample standard deviation
 * (0 when n < 2). */
double drift_stats_mean(const double *v, int n, double *sd);

/* EWMA chart: z_t = lambda * x_t + (1 - lambda) * z_{t-1}, z_0 = mu0;
 * control limits mu0 +- L * sigma * sqrt(lambda / (2 - lambda) *
 * (1 - (1 - lambda)^(2t))). */
struct drift_ewma {
	double lambda, L, mu0, sigma;
	double z;
	int t;
};

void drift_ewma_init(struct drift_ewma *e, double lambda, double L, double mu0, double sigma);
/* Feeds one window's value; returns |z_t - mu0| over the limit's half-width
 * (>= 1: out of control). 0 when sigma is 0 and z equals mu0. */
double drift_ewma_step(struct drift_ewma *e, double x);
/* The half-width of the limits after the last step. */
double drift_ewma_halfwidth(const struct drift_ewma *e);

#endif
