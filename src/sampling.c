/* sampling.c — sampling plans, draws, bounds and inspection switching. */
#include "sampling.h"

#include <float.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Relative slack when comparing a computed probability with 1 − C. The
 * running product carries a relative error near n·LDBL_EPSILON (< 1e-15 for
 * any n that fits in memory), so only exact ties, where the exact ratio
 * equals 1 − C, fall inside it, and those count as meeting the bound. */
#define PLAN_TIE_SLACK 1e-12L

int64_t sampling_defects_assumed(int64_t N, double p)
{
	double pn;
	int64_t d;

	if (N <= 0)
		return 0;
	pn = p * (double)N;
	d = (int64_t)ceil(pn - 1e-9 * (pn > 1 ? pn : 1));
	if (d < 1)
		d = 1;
	if (d > N)
		d = N;
	return d;
}

static int plan_args_ok(int64_t N, double p)
{
	return N >= 0 && p > 0 && p <= 1;
}

/* C(N−D, n)/C(N, n) as the running product Π_{i<n} (N−D−i)/(N−i): each
 * factor is below 1 and the product falls monotonically, so the first n
 * where it drops under the threshold is the plan, found in n steps. */
int64_t sampling_plan_size(int64_t N, double p, double C)
{
	long double miss = 1.0L, limit;
	int64_t D, n;

	if (!plan_args_ok(N, p) || !(C >= 0 && C <= 1))
		return AIRLOCK_EINVAL;
	if (N == 0)
		return 0;
	D = sampling_defects_assumed(N, p);
	limit = (1.0L - (long double)C) * (1.0L + PLAN_TIE_SLACK);
	if (miss <= limit)
		return 0;
	for (n = 1; n <= N; n++) {
		miss *= (long double)(N - D - (n - 1)) / (long double)(N - (n - 1));
		if (miss <= limit)
			return n;
	}
	return N;
}

double sampling_confidence(int64_t N, double p, int64_t n_read)
{
	long double miss = 1.0L;
	int64_t D, i;

	if (!plan_args_ok(N, p) || n_read < 0 || n_read > N)
		return -1;
	if (N == 0)
		return 1;
	D = sampling_defects_assumed(N, p);
	for (i = 0; i < n_read && miss > 0; i++)
		miss *= (long double)(N - D - i) / (long double)(N - i);
	return (double)(1.0L - miss);
}

int sampling_statement(char *buf, size_t size, int64_t N, double p, int64_t n_read, int64_t bad)
{
	double conf = sampling_confidence(N, p, n_read);
	int64_t D = sampling_defects_assumed(N, p);
	int pct, n;

	if (conf < 0 || bad < 0 || bad > n_read || (size > 0 && !buf))
		return AIRLOCK_EINVAL;
	if (bad > 0)
		n = snprintf(buf, size,
			     "%lld bad item%s in %lld of %lld ⇒ the batch goes back to a person "
			     "to approve or reject",
			     (long long)bad, bad == 1 ? "" : "s", (long long)n_read, (long long)N);
	else {
		/* Round down, with a hair of slack for binary noise on exact
		 * values, so the sentence never claims more than was earned. */
		pct = (int)floor(conf * 100 + 1e-9);
		if (D <= 1)
			n = snprintf(
			    buf, size,
			    "zero bad items in %lld of %lld ⇒ with %d%% confidence no item "
			    "of the batch is wrong",
			    (long long)n_read, (long long)N, pct);
		else
			n = snprintf(buf, size,
				     "zero bad items in %lld of %lld ⇒ with %d%% confidence fewer "
				     "than %lld (%.4g%%) of the batch are wrong",
				     (long long)n_read, (long long)N, pct, (long long)D, p * 100);
	}
	return n < 0 ? AIRLOCK_EINVAL : n;
}

int sampling_seed(unsigned char seed[SAMPLING_SEED_BYTES], struct err *err)
{
	if (sodium_init() < 0)
		return err_set(err, AIRLOCK_EIO, "cannot initialise libsodium");
	randombytes_buf(seed, SAMPLING_SEED_BYTES);
	return 0;
}

/* The ChaCha20 keystream under the seed, handed out 8 bytes at a time. */
struct keystream {
	const unsigned char *key;
	uint64_t block; /* next 64-byte block counter */
	size_t pos;
	unsigned char buf[1024];
};

static const unsigned char draw_nonce[crypto_stream_chacha20_NONCEBYTES] = "airlock\1";

static uint64_t keystream_next(struct keystream *ks)
{
	static const unsigned char zeros[sizeof ks->buf];
	uint64_t v = 0;
	int i;

	if (ks->pos + 8 > sizeof ks->buf) {
		crypto_stream_chacha20_xor_ic(ks->buf, zeros, sizeof ks->buf, draw_nonce, ks->block,
					      ks->key);
		ks->block += sizeof ks->buf / 64;
		ks->pos = 0;
	}
	for (i = 7; i >= 0; i--)
		v = (v << 8) | ks->buf[ks->pos + (size_t)i];
	ks->pos += 8;
	return v;
}

/* Uniform in [0, m): words below 2^64 mod m are rejected so that every
 * residue is hit by exactly the same number of accepted words. */
static uint64_t keystream_below(struct keystream *ks, uint64_t m)
{
	uint64_t floor_, x;

	if (m <= 1)
		return 0;
	floor_ = (0 - m) % m;
	do
		x = keystream_next(ks);
	while (x < floor_);
	return x % m;
}

/* The positions a sparse Fisher-Yates shuffle has moved, as an open
 * addressing table keyed by position (an unset slot holds key -1). */
struct swapmap {
	int64_t *key;
	int64_t *val;
	size_t mask;
};

static size_t swapmap_slot(const struct swapmap *m, int64_t k)
{
	uint64_t h = (uint64_t)k * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 17) & m->mask;

	while (m->key[i] != -1 && m->key[i] != k)
		i = (i + 1) & m->mask;
	return i;
}

static int64_t swapmap_get(const struct swapmap *m, int64_t k)
{
	size_t i = swapmap_slot(m, k);

	return m->key[i] == k ? m->val[i] : k;
}

static void swapmap_set(struct swapmap *m, int64_t k, int64_t v)
{
	size_t i = swapmap_slot(m, k);

	m->key[i] = k;
	m->val[i] = v;
}

int sampling_draw(int64_t N, int64_t n, const unsigned char seed[SAMPLING_SEED_BYTES], int64_t *out,
		  struct err *err)
{
	struct keystream ks = {.key = seed, .block = 0, .pos = sizeof ks.buf};
	struct swapmap m = {0};
	size_t cap = 16, i;
	int64_t k, j;
	int rc = 0;

	if (N < 0 || n < 0 || n > N)
		return err_set(err, AIRLOCK_EINVAL, "cannot draw %lld of %lld items", (long long)n,
			       (long long)N);
	if (n == 0)
		return 0;
	if (sodium_init() < 0)
		return err_set(err, AIRLOCK_EIO, "cannot initialise libsodium");
	/* at most n positions are ever set: keep the table under half full */
	while (cap < (size_t)n * 2) {
		if (cap > SIZE_MAX / 2 / sizeof(int64_t))
			return err_set(err, AIRLOCK_ENOMEM, "a draw of %lld items is too large",
				       (long long)n);
		cap *= 2;
	}
	m.key = malloc(cap * sizeof *m.key);
	m.val = malloc(cap * sizeof *m.val);
	if (!m.key || !m.val) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory drawing %lld items", (long long)n);
		goto out;
	}
	m.mask = cap - 1;
	for (i = 0; i < cap; i++)
		m.key[i] = -1;
	for (k = 0; k < n; k++) {
		j = k + (int64_t)keystream_below(&ks, (uint64_t)(N - k));
		out[k] = swapmap_get(&m, j);
		/* position k is never read again, so only j needs k's value */
		swapmap_set(&m, j, swapmap_get(&m, k));
	}
out:
	free(m.key);
	free(m.val);
	sodium_memzero(ks.buf, sizeof ks.buf);
	return rc;
}

/* ln B(a, b) without touching the global signgam. */
static double log_beta(double a, double b)
{
	int sign;

	return lgamma_r(a, &sign) + lgamma_r(b, &sign) - lgamma_r(a + b, &sign);
}

/* The continued fraction for I_x(a, b) (DLMF 8.17.22):
 *   I_x(a,b) = x^a (1−x)^b / (a·B(a,b)) · 1/(1 + d1/(1 + d2/(1 + …)))
 *   d(2m+1) = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1))
 *   d(2m)   = m(b−m)x / ((a+2m−1)(a+2m))
 * evaluated front to back by the modified Lentz method, which keeps two
 * running ratios instead of recomputing the tail and nudges a zero
 * denominator to a tiny number. It converges quickly for
 * x < (a+1)/(a+b+2); the caller uses the symmetry I_x(a,b) = 1 − I_{1−x}(b,a)
 * for the rest. Returns the value of 1 + d1/(1 + …). */
static double beta_fraction(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double f = 1, num = 1, den = 0, d, delta;
	long m, step;

	for (step = 1; step < 1000000; step++) {
		m = step / 2;
		if (step % 2)
			d = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
		else
			d = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
		den = 1 + d * den;
		if (fabs(den) < tiny)
			den = tiny;
		num = 1 + d / num;
		if (fabs(num) < tiny)
			num = tiny;
		den = 1 / den;
		delta = num * den;
		f *= delta;
		if (fabs(delta - 1) < eps)
			break;
	}
	return f;
}

double sampling_betai(double a, double b, double x)
{
	double front;

	if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
		return NAN;
	if (x == 0)
		return 0;
	if (x == 1)
		return 1;
	if (x > (a + 1) / (a + b + 2))
		return 1 - sampling_betai(b, a, 1 - x);
	front = exp(a * log(x) + b * log1p(-x) - log_beta(a, b)) / a;
	return front / beta_fraction(a, b, x);
}

/* Bisection rather than Newton: I_p is monotone in p, so halving the
 * bracket [0, 1] sixty-odd times reaches double precision without any risk
 * of stepping outside it where the function is nearly flat. */
double sampling_upper_bound(int64_t defects, int64_t inspected, double C)
{
	double lo = 0, hi = 1, mid, a, b;
	int i;

	if (defects < 0 || inspected < 0 || defects > inspected || !(C > 0 && C < 1))
		return -1;
	if (inspected == 0 || defects == inspected)
		return 1;
	a = (double)defects + 1;
	b = (double)(inspected - defects);
	for (i = 0; i < 200 && hi - lo > 1e-15; i++) {
		mid = (lo + hi) / 2;
		if (sampling_betai(a, b, mid) < C)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static const char *const level_names[] = {"normal", "tightened", "reduced"};

const char *sampling_level_name(enum sampling_level level)
{
	return (unsigned)level < 3 ? level_names[level] : "unknown";
}

int sampling_level_parse(const char *name)
{
	int i;

	for (i = 0; name && i < 3; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

double sampling_level_fraction(enum sampling_level level, double p)
{
	switch (level) {
	case SAMPLING_TIGHTENED:
		return p / 2;
	case SAMPLING_REDUCED:
		return p * 2 < 1 ? p * 2 : 1;
	case SAMPLING_NORMAL:
		break;
	}
	return p;
}

int64_t sampling_level_plan_size(enum sampling_level level, int64_t N, double p, double C)
{
	if (!(p > 0 && p <= 1))
		return AIRLOCK_EINVAL;
	return sampling_plan_size(N, sampling_level_fraction(level, p), C);
}

void sampling_policy_default(struct sampling_policy *pol)
{
	pol->target = 0.05;
	pol->confidence = 0.95;
	pol->reduce_after = 10;
	pol->cusum_h = 4.0;
}

static void set_level(struct sampling_state *st, enum sampling_level level)
{
	if (st->level == level)
		return;
	st->level = level;
	st->recent = 0;
	st->nrecent = 0;
	st->clean_run = 0;
}

static int count_failed(unsigned recent, int nrecent)
{
	int i, n = 0;

	for (i = 0; i < nrecent && i < 5; i++)
		n += (recent >> i) & 1;
	return n;
}

enum sampling_level sampling_switch(const struct sampling_policy *pol, struct sampling_state *st,
				    int batch_passed)
{
	int reduce_after = pol->reduce_after < 1 ? 1 : pol->reduce_after;
	double bound;

	st->recent = ((st->recent << 1) | (batch_passed ? 0u : 1u)) & 0x1fu;
	if (st->nrecent < 5)
		st->nrecent++;
	st->clean_run = batch_passed ? st->clean_run + 1 : 0;
	switch (st->level) {
	case SAMPLING_NORMAL:
		if (count_failed(st->recent, st->nrecent) >= 2) {
			set_level(st, SAMPLING_TIGHTENED);
			break;
		}
		if (st->clean_run >= reduce_after) {
			bound = sampling_upper_bound(st->defects, st->inspected, pol->confidence);
			if (bound >= 0 && bound < pol->target)
				set_level(st, SAMPLING_REDUCED);
		}
		break;
	case SAMPLING_TIGHTENED:
		if (st->clean_run >= 5)
			set_level(st, SAMPLING_NORMAL);
		break;
	case SAMPLING_REDUCED:
		if (!batch_passed)
			set_level(st, SAMPLING_NORMAL);
		break;
	}
	return st->level;
}

int sampling_observe(const struct sampling_policy *pol, struct sampling_state *st, int bad)
{
	double p0 = pol->target, p1 = 2 * pol->target;

	st->inspected++;
	if (bad)
		st->defects++;
	if (p1 > 0.999)
		p1 = 0.999;
	if (!(p0 > 0 && p0 < p1))
		return 0; /* no meaningful alternative to test against */
	st->cusum += bad ? log(p1 / p0) : log1p(-p1) - log1p(-p0);
	if (st->cusum < 0)
		st->cusum = 0;
	if (st->cusum < pol->cusum_h)
		return 0;
	st->cusum = 0;
	if (st->level == SAMPLING_REDUCED)
		set_level(st, SAMPLING_NORMAL);
	else if (st->level == SAMPLING_NORMAL)
		set_level(st, SAMPLING_TIGHTENED);
	return 1;
}

json_t *sampling_state_to_json(const struct sampling_state *st)
{
	return json_pack("{s:s,s:I,s:i,s:i,s:I,s:I,s:f}", "level", sampling_level_name(st->level),
			 "recent", (json_int_t)(st->recent & 0x1f), "nrecent", st->nrecent,
			 "clean_run", st->clean_run, "inspected", (json_int_t)st->inspected,
			 "defects", (json_int_t)st->defects, "cusum", st->cusum);
}

static int int_field(const json_t *j, const char *name, json_int_t min, json_int_t max,
		     json_int_t *out, struct err *err)
{
	const json_t *v = json_object_get(j, name);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return err_set(err, AIRLOCK_EINVAL,
			       "sampling state: %s must be a whole number from %lld to %lld", name,
			       (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

int sampling_state_from_json(const json_t *j, struct sampling_state *st, struct err *err)
{
	struct sampling_state s = {0};
	const json_t *cusum;
	json_int_t v;
	int level;

	if (!json_is_object(j))
		return err_set(err, AIRLOCK_EINVAL, "sampling state: not a JSON object");
	level = sampling_level_parse(json_string_value(json_object_get(j, "level")));
	if (level < 0)
		return err_set(err, AIRLOCK_EINVAL,
			       "sampling state: level must be normal, tightened or reduced");
	s.level = (enum sampling_level)level;
	if (int_field(j, "recent", 0, 31, &v, err))
		return AIRLOCK_EINVAL;
	s.recent = (unsigned)v;
	if (int_field(j, "nrecent", 0, 5, &v, err))
		return AIRLOCK_EINVAL;
	s.nrecent = (int)v;
	if (int_field(j, "clean_run", 0, INT32_MAX, &v, err))
		return AIRLOCK_EINVAL;
	s.clean_run = (int)v;
	if (int_field(j, "inspected", 0, INT64_MAX, &v, err))
		return AIRLOCK_EINVAL;
	s.inspected = v;
	if (int_field(j, "defects", 0, s.inspected, &v, err))
		return AIRLOCK_EINVAL;
	s.defects = v;
	cusum = json_object_get(j, "cusum");
	if (!json_is_number(cusum) || !(json_number_value(cusum) >= 0) ||
	    !isfinite(json_number_value(cusum)))
		return err_set(err, AIRLOCK_EINVAL,
			       "sampling state: cusum must be a number of at least 0");
	s.cusum = json_number_value(cusum);
	*st = s;
	return 0;
}
