/* drift_detect.c — judging each window of a series against its reference:
 * the step tests per kind, the EWMA chart for creep, then hysteresis so
 * that one noisy window never raises an alert and a held one is not
 * raised again every window. */
#include <math.h>
#include <string.h>

#include "drift_int.h"
#include "drift_stats.h"

#define BIG 1e9

static double ratio_of(double v, double limit)
{
	if (limit <= 0)
		return v > 0 ? BIG : 0.0;
	return v / limit;
}

static double min2(double a, double b)
{
	return a < b ? a : b;
}

static void judge_dist(const struct drift_config *cfg, const struct drift_series *s, int k, int lo,
		       int hi, struct drift_judgement *j)
{
	double cur[DRIFT_MAX_CATS + 1], ref[DRIFT_MAX_CATS + 1], n = 0, nr = 0, rj, rp;
	int i;

	drift_series_counts(s, k, 0, 0, cur);
	drift_series_counts(s, -1, lo, hi, ref);
	for (i = 0; i < s->ncat; i++) {
		n += cur[i];
		nr += ref[i];
	}
	j->support = n;
	j->reference_support = nr;
	j->has_data = n > 0;
	j->value = drift_stats_effective_categories(cur, s->ncat);
	j->reference = drift_stats_effective_categories(ref, s->ncat);
	j->test = "js";
	j->threshold = cfg->js_alert;
	if (n <= 0 || nr <= 0)
		return;
	/* every category either side knows is a bin; one never seen in the
	 * reference keeps its own bin with only the smoothing in it */
	j->js = drift_stats_js_distance(cur, ref, s->ncat, cfg->smoothing);
	j->psi = drift_stats_psi(cur, ref, s->ncat, cfg->smoothing);
	j->statistic = j->js;
	j->change = j->js;
	if (n < cfg->min_count || nr < cfg->min_count)
		return;
	j->judged = 1;
	j->p_value = drift_stats_chi_square(cur, ref, s->ncat, NULL, NULL);
	rj = ratio_of(j->js, cfg->js_alert);
	rp = ratio_of(j->psi, cfg->psi_significant);
	if (rp > rj) {
		j->test = "psi";
		j->statistic = j->psi;
		j->threshold = cfg->psi_significant;
	}
	/* small samples make any distance look large, large ones make any
	 * difference significant: a shift needs a distance past its threshold
	 * and evidence as strong as a z of z_alert (chi-square p turned into
	 * z), and "very large" needs both twice over */
	j->ratio =
	    min2(rj >= rp ? rj : rp, ratio_of(drift_stats_normal_z(j->p_value), cfg->z_alert));
	j->shift = j->ratio >= 1;
	j->severity = j->psi >= cfg->psi_significant || j->ratio >= cfg->hysteresis_bypass
			  ? "significant"
			  : "moderate";
}

static void judge_rate(const struct drift_config *cfg, const struct drift_series *s, int k, int lo,
		       int hi, struct drift_judgement *j)
{
	double x = s->a[k], n = s->b[k], X = 0, N = 0, z;
	int w;

	for (w = lo; w < hi; w++) {
		X += s->a[w];
		N += s->b[w];
	}
	j->support = n;
	j->reference_support = N;
	j->has_data = n > 0;
	j->value = n > 0 ? x / n : NAN;
	j->reference = N > 0 ? X / N : NAN;
	j->test = "two_proportion";
	j->threshold = cfg->z_alert;
	if (n <= 0 || N <= 0)
		return;
	z = drift_stats_two_proportion_z(x, n, X, N);
	j->statistic = z;
	j->change = j->value - j->reference;
	if (n < cfg->min_count || N < cfg->min_count)
		return;
	j->judged = 1;
	j->p_value = drift_stats_normal_p(z);
	j->ratio =
	    min2(ratio_of(fabs(z), cfg->z_alert), ratio_of(fabs(j->change), cfg->rate_min_delta));
	j->shift = j->ratio >= 1;
	j->severity = j->ratio >= cfg->hysteresis_bypass ? "significant" : "moderate";
}

/* Mean and spread of the per-window values of a LEVEL or COUNT series over
 * [lo, hi). Returns how many windows had a value. */
static int window_values(const struct drift_series *s, int lo, int hi, double *mean, double *sd,
			 double *support)
{
	double v[hi - lo > 0 ? hi - lo : 1];
	int w, n = 0;

	*support = 0;
	for (w = lo; w < hi; w++) {
		*support += s->support[w];
		if (s->kind == DRIFT_COUNT)
			v[n++] = s->a[w];
		else if (s->b[w] > 0)
			v[n++] = s->a[w] / s->b[w];
	}
	*mean = drift_stats_mean(v, n, sd);
	return n;
}

/* The spread assumed between windows: the reference's own, but never less
 * than the metric's floor, nor (for counts) than Poisson noise. */
static double level_sigma(const struct drift_series *s, double mean, double sd)
{
	double floor = drift_metrics[s->metric].sd_floor;

	if (s->kind == DRIFT_COUNT)
		floor = sqrt(mean > 1 ? mean : 1);
	return sd > floor ? sd : floor;
}

static void judge_level(const struct drift_config *cfg, const struct drift_series *s, int k, int lo,
			int hi, double elapsed, struct drift_judgement *j)
{
	double mean, sd, ref_support, sigma, z, rel;
	int nvals;

	nvals = window_values(s, lo, hi, &mean, &sd, &ref_support);
	j->reference_support = ref_support;
	j->reference = nvals ? mean : NAN;
	j->support = s->support[k];
	j->test = "z";
	j->threshold = cfg->z_alert;
	if (s->kind == DRIFT_COUNT) {
		j->has_data = 1;
		j->value = s->a[k];
		if (elapsed < 1) {
			if (elapsed < cfg->partial_min_elapsed) {
				j->partial = 1;
				return;
			}
			j->value = s->a[k] / elapsed; /* the count this window is heading for */
		}
	} else {
		j->has_data = s->b[k] > 0;
		j->value = j->has_data ? s->a[k] / s->b[k] : NAN;
	}
	if (!j->has_data || !nvals)
		return;
	sigma = level_sigma(s, mean, sd);
	z = (j->value - mean) / sigma;
	j->statistic = z;
	j->change = j->value - mean;
	if (s->kind == DRIFT_COUNT ? (j->value < cfg->min_count && mean < cfg->min_count)
				   : (j->support < cfg->min_count || ref_support < cfg->min_count))
		return;
	j->judged = 1;
	j->p_value = drift_stats_normal_p(z);
	rel = fabs(j->change) / (fabs(mean) > 1e-9 ? fabs(mean) : 1e-9);
	j->ratio = min2(ratio_of(fabs(z), cfg->z_alert), ratio_of(rel, cfg->level_min_change));
	j->shift = j->ratio >= 1;
	j->severity = j->ratio >= cfg->hysteresis_bypass ? "significant" : "moderate";
}

/* Runs the EWMA chart over the judged windows from `first`, anchored on
 * windows [0, first): a creep too slow for any one window's test to see
 * accumulates here. */
static void ewma_pass(const struct drift_config *cfg, const struct drift_series *s, int first,
		      struct drift_judgement *out)
{
	struct drift_ewma e;
	double mu0, sigma, sd, support, anchor_se;
	int k;

	if (first < 1)
		return;
	if (s->kind == DRIFT_RATE) {
		double A = 0, B = 0, v[first], nfull = 0;
		int n = 0;

		for (k = 0; k < first; k++) {
			A += s->a[k];
			B += s->b[k];
			if (s->b[k] >= cfg->min_count) {
				v[n++] = s->a[k] / s->b[k];
				nfull += s->b[k];
			}
		}
		if (B < cfg->min_count || n < 1)
			return;
		mu0 = A / B;
		drift_stats_mean(v, n, &sd);
		/* binomial noise at the anchor's typical window size, or the
		 * spread the anchor actually showed, whichever is larger */
		sigma = sqrt(mu0 * (1 - mu0) / (nfull / n));
		if (sd > sigma)
			sigma = sd;
		anchor_se = sigma / sqrt(n);
	} else {
		int n = window_values(s, 0, first, &mu0, &sd, &support);

		if (n < 2 || (s->kind == DRIFT_LEVEL && support < cfg->min_count))
			return;
		sigma = level_sigma(s, mu0, sd);
		anchor_se = sigma / sqrt(n);
	}
	drift_ewma_init(&e, cfg->ewma_lambda, cfg->ewma_limit, mu0, sigma);
	for (k = first; k < s->nwin; k++) {
		struct drift_judgement *j = &out[k];
		double r, dev, eff, sz;

		if (!j->judged)
			continue;
		drift_ewma_step(&e, j->value);
		/* the anchor is itself an estimate from a few windows: its error
		 * widens the limits, or a stable stream would drift out of them */
		sz = drift_ewma_halfwidth(&e) / cfg->ewma_limit;
		sz = sqrt(sz * sz + anchor_se * anchor_se);
		dev = fabs(e.z - mu0);
		j->has_ewma = 1;
		j->ewma = e.z;
		j->ewma_low = mu0 - cfg->ewma_limit * sz;
		j->ewma_high = mu0 + cfg->ewma_limit * sz;
		r = ratio_of(dev, cfg->ewma_limit * sz);
		/* the effect is judged on the smoothed value: one noisy window of
		 * a rare event must not pass for a change */
		eff = s->kind == DRIFT_RATE ? ratio_of(dev, cfg->rate_min_delta)
					    : ratio_of(dev / (fabs(mu0) > 1e-9 ? fabs(mu0) : 1e-9),
						       cfg->level_min_change);
		r = min2(r, eff);
		if (r <= j->ratio)
			continue;
		j->ratio = r; /* keeps an open alert open while the creep holds */
		if (j->shift || r < cfg->hysteresis_release)
			continue; /* the window's own figures say it, or nothing to say */
		/* the EWMA is what raises or holds an alert here: show its figures */
		j->test = "ewma";
		/* in standard deviations of the EWMA, against L */
		j->statistic = sz > 0 ? dev / sz : BIG;
		j->threshold = cfg->ewma_limit;
		j->reference = mu0;
		j->change = j->value - mu0;
		j->shift = r >= 1;
		j->held = j->shift;
		j->severity = r >= cfg->hysteresis_bypass ? "significant" : "moderate";
	}
}

/* Marks the windows an alert covers. A shift raises an alert when it held
 * in hysteresis_windows consecutive judged windows, or at once when it is
 * hysteresis_bypass times its threshold, or when the EWMA says it (an EWMA
 * past its limit is a shift that held: one window moves it by only lambda
 * of its size); an alert stays open while the ratio stays above
 * hysteresis_release, so it does not flap. */
static void hysteresis_pass(const struct drift_config *cfg, const struct drift_series *s, int first,
			    struct drift_judgement *out)
{
	int k, run = 0, run_start = -1, open = 0, episode = -1;

	for (k = first; k < s->nwin; k++) {
		struct drift_judgement *j = &out[k];

		if (!j->judged)
			continue;
		if (open && j->ratio >= cfg->hysteresis_release) {
			j->alert = 1;
			j->episode = episode;
			continue;
		}
		open = 0;
		if (!j->shift) {
			run = 0;
			continue;
		}
		if (run++ == 0)
			run_start = k;
		if (run >= cfg->hysteresis_windows || j->ratio >= cfg->hysteresis_bypass ||
		    j->held) {
			open = 1;
			episode = run >= cfg->hysteresis_windows ? run_start : k;
			j->alert = 1;
			j->episode = episode;
			run = 0;
		}
	}
}

void drift_judge(const struct drift_config *cfg, const struct drift_series *s, int first,
		 int ref_fixed, double elapsed, struct drift_judgement *out)
{
	int k;

	for (k = first; k < s->nwin; k++) {
		int lo = ref_fixed >= 0 ? 0 : k - cfg->reference_windows;
		int hi = ref_fixed >= 0 ? ref_fixed : k;
		struct drift_judgement *j = &out[k];

		memset(j, 0, sizeof *j);
		if (lo < 0)
			lo = 0;
		switch (s->kind) {
		case DRIFT_DIST:
			judge_dist(cfg, s, k, lo, hi, j);
			break;
		case DRIFT_RATE:
			judge_rate(cfg, s, k, lo, hi, j);
			break;
		case DRIFT_LEVEL:
		case DRIFT_COUNT:
			judge_level(cfg, s, k, lo, hi, k == s->nwin - 1 ? elapsed : 1.0, j);
			break;
		}
	}
	if (s->kind != DRIFT_DIST)
		ewma_pass(cfg, s, first, out);
	hysteresis_pass(cfg, s, first, out);
}
