/* drift_stats.c — distances between distributions, small-count tests,
 * EWMA control limits. */
#include "drift_stats.h"

#include <math.h>

#define TINY 1e-300
#define RATIO_CAP 1e9 /* a deviation with zero spread: "off the chart" */

/* p log2(p / m), with 0 log 0 = 0. */
static double kl_term(double p, double m)
{
	return p > 0 ? p * log2(p / m) : 0.0;
}

static double total(const double *c, int n, double alpha)
{
	double sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += c[i];
	return sum + alpha * n;
}

/* The smoothed share of bin i (see drift_stats_shares). */
static double share(const double *c, int i, int n, double alpha, double sum)
{
	return sum > 0 ? (c[i] + alpha) / sum : 1.0 / n;
}

void drift_stats_shares(const double *counts, int n, double alpha, double *out)
{
	double sum = total(counts, n, alpha);
	int i;

	for (i = 0; i < n; i++)
		out[i] = share(counts, i, n, alpha, sum);
}

double drift_stats_js_distance(const double *p, const double *q, int n, double alpha)
{
	double tp = total(p, n, alpha), tq = total(q, n, alpha), d = 0;
	int i;

	for (i = 0; i < n; i++) {
		double a = share(p, i, n, alpha, tp), b = share(q, i, n, alpha, tq),
		       m = (a + b) / 2;

		if (m > 0)
			d += 0.5 * kl_term(a, m) + 0.5 * kl_term(b, m);
	}
	if (d < 0) /* rounding */
		d = 0;
	return sqrt(d > 1 ? 1 : d);
}

double drift_stats_psi(const double *actual, const double *expected, int n, double alpha)
{
	double ta = total(actual, n, alpha), te = total(expected, n, alpha), psi = 0;
	int i;

	for (i = 0; i < n; i++) {
		double a = share(actual, i, n, alpha, ta), e = share(expected, i, n, alpha, te);

		if (a == e)
			continue;
		if (a <= 0 || e <= 0)
			return INFINITY;
		psi += (a - e) * log(a / e);
	}
	return psi;
}

double drift_stats_effective_categories(const double *counts, int n)
{
	double sum = 0, h = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += counts[i];
	if (sum <= 0)
		return 0.0;
	for (i = 0; i < n; i++)
		if (counts[i] > 0)
			h -= counts[i] / sum * log(counts[i] / sum);
	return exp(h);
}

/* Regularised lower incomplete gamma P(a, x) by its power series; good
 * for x < a + 1. */
static double gamma_p_series(double a, double x)
{
	double sum = 1.0 / a, term = sum, ap = a;
	int i;

	for (i = 0; i < 1000; i++) {
		ap += 1;
		term *= x / ap;
		sum += term;
		if (fabs(term) < fabs(sum) * 1e-15)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Regularised upper incomplete gamma Q(a, x) by its continued fraction
 * (evaluated with Lentz's method); good for x >= a + 1. */
static double gamma_q_fraction(double a, double x)
{
	double b = x + 1 - a, c = 1 / TINY, d = 1 / b, h = d, an, del;
	int i;

	for (i = 1; i < 1000; i++) {
		an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (fabs(d) < TINY)
			d = TINY;
		c = b + an / c;
		if (fabs(c) < TINY)
			c = TINY;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

double drift_stats_chi_square_sf(double x, int df)
{
	double a = df / 2.0, hx = x / 2.0;

	if (df < 1)
		return 1.0;
	if (x <= 0)
		return 1.0;
	if (hx < a + 1)
		return 1.0 - gamma_p_series(a, hx);
	return gamma_q_fraction(a, hx);
}

double drift_stats_chi_square(const double *a, const double *b, int n, double *stat, int *df)
{
	double na = 0, nb = 0, x2 = 0;
	int i, kept = 0;

	for (i = 0; i < n; i++) {
		na += a[i];
		nb += b[i];
	}
	for (i = 0; i < n && na > 0 && nb > 0; i++) {
		double col = a[i] + b[i], ea, eb;

		if (col <= 0)
			continue;
		kept++;
		ea = col * na / (na + nb);
		eb = col * nb / (na + nb);
		x2 += (a[i] - ea) * (a[i] - ea) / ea + (b[i] - eb) * (b[i] - eb) / eb;
	}
	if (stat)
		*stat = kept >= 2 ? x2 : 0.0;
	if (df)
		*df = kept >= 2 ? kept - 1 : 0;
	if (kept < 2)
		return 1.0;
	return drift_stats_chi_square_sf(x2, kept - 1);
}

double drift_stats_two_proportion_z(double x1, double n1, double x2, double n2)
{
	double p, se;

	if (n1 <= 0 || n2 <= 0)
		return 0.0;
	p = (x1 + x2) / (n1 + n2);
	if (p <= 0 || p >= 1)
		return 0.0;
	se = sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
	return (x1 / n1 - x2 / n2) / se;
}

double drift_stats_normal_p(double z)
{
	return erfc(fabs(z) / sqrt(2.0));
}

double drift_stats_normal_z(double p)
{
	double lo = 0, hi = 40;
	int i;

	if (!(p < 1))
		return 0.0;
	if (p <= drift_stats_normal_p(hi))
		return hi;
	/* erfc is monotone: bisection to well below any threshold's precision */
	for (i = 0; i < 60; i++) {
		double mid = (lo + hi) / 2;

		if (drift_stats_normal_p(mid) > p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

double drift_stats_mean(const double *v, int n, double *sd)
{
	double m = 0, ss = 0;
	int i;

	if (sd)
		*sd = 0;
	if (n < 1)
		return 0.0;
	for (i = 0; i < n; i++)
		m += v[i];
	m /= n;
	if (sd && n >= 2) {
		for (i = 0; i < n; i++)
			ss += (v[i] - m) * (v[i] - m);
		*sd = sqrt(ss / (n - 1));
	}
	return m;
}

void drift_ewma_init(struct drift_ewma *e, double lambda, double L, double mu0, double sigma)
{
	e->lambda = lambda;
	e->L = L;
	e->mu0 = mu0;
	e->sigma = sigma;
	e->z = mu0;
	e->t = 0;
}

double drift_ewma_halfwidth(const struct drift_ewma *e)
{
	double l = e->lambda;

	if (e->t < 1)
		return 0.0;
	return e->L * e->sigma * sqrt(l / (2 - l) * (1 - pow(1 - l, 2.0 * e->t)));
}

double drift_ewma_step(struct drift_ewma *e, double x)
{
	double hw, dev;

	e->z = e->lambda * x + (1 - e->lambda) * e->z;
	e->t++;
	hw = drift_ewma_halfwidth(e);
	dev = fabs(e->z - e->mu0);
	if (hw <= 0)
		return dev > 1e-12 ? RATIO_CAP : 0.0;
	return dev / hw;
}
