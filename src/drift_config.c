/* drift_config.c — the thresholds of struct drift_config and their keys,
 * window lengths, and the fast reading of stored timestamps. */
#include "drift.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift_int.h"

#define DAY 86400
#define WINDOW_ORIGIN (4 * DAY) /* Monday 1970-01-05 */

void drift_config_default(struct drift_config *c)
{
	memset(c, 0, sizeof *c);
	c->window_seconds = DAY;
	c->windows = 14;
	c->reference_windows = 7;
	c->min_count = 30;
	c->smoothing = 0.5;
	c->js_alert = 0.1;
	c->psi_moderate = 0.1;
	c->psi_significant = 0.25;
	c->z_alert = 3.0;
	c->rate_min_delta = 0.05;
	c->level_min_change = 0.2;
	c->ewma_lambda = 0.2;
	c->ewma_limit = 3.0;
	c->hysteresis_windows = 2;
	c->hysteresis_bypass = 2.0;
	c->hysteresis_release = 0.8;
	c->partial_min_elapsed = 0.25;
	c->minhash_hashes = 128;
	c->lsh_bands = 16;
	c->duplicate_jaccard = 0.8;
	c->shingle_words = 3;
	c->ngram_words = 3;
	c->ngram_block = 25;
	c->max_causes = 5;
}

enum key_type { K_INT, K_I64, K_DOUBLE, K_WINDOW };

static const struct config_key {
	const char *name;
	enum key_type type;
	size_t offset;
	double min, max;
} config_keys[] = {
    {"window", K_WINDOW, offsetof(struct drift_config, window_seconds), 3600, 28 * DAY},
    {"windows", K_INT, offsetof(struct drift_config, windows), 1, 200},
    {"reference_windows", K_INT, offsetof(struct drift_config, reference_windows), 1, 200},
    {"min_count", K_I64, offsetof(struct drift_config, min_count), 1, 1e9},
    {"smoothing", K_DOUBLE, offsetof(struct drift_config, smoothing), 0.001, 10},
    {"js_alert", K_DOUBLE, offsetof(struct drift_config, js_alert), 0.001, 1},
    {"psi_moderate", K_DOUBLE, offsetof(struct drift_config, psi_moderate), 0.001, 100},
    {"psi_significant", K_DOUBLE, offsetof(struct drift_config, psi_significant), 0.001, 100},
    {"z_alert", K_DOUBLE, offsetof(struct drift_config, z_alert), 0.5, 100},
    {"rate_min_delta", K_DOUBLE, offsetof(struct drift_config, rate_min_delta), 0, 1},
    {"level_min_change", K_DOUBLE, offsetof(struct drift_config, level_min_change), 0, 100},
    {"ewma_lambda", K_DOUBLE, offsetof(struct drift_config, ewma_lambda), 0.01, 1},
    {"ewma_limit", K_DOUBLE, offsetof(struct drift_config, ewma_limit), 0.5, 100},
    {"hysteresis_windows", K_INT, offsetof(struct drift_config, hysteresis_windows), 1, 20},
    {"hysteresis_bypass", K_DOUBLE, offsetof(struct drift_config, hysteresis_bypass), 1, 100},
    {"hysteresis_release", K_DOUBLE, offsetof(struct drift_config, hysteresis_release), 0.1, 1},
    {"partial_min_elapsed", K_DOUBLE, offsetof(struct drift_config, partial_min_elapsed), 0, 1},
    {"minhash_hashes", K_INT, offsetof(struct drift_config, minhash_hashes), 8, 256},
    {"lsh_bands", K_INT, offsetof(struct drift_config, lsh_bands), 1, 256},
    {"duplicate_jaccard", K_DOUBLE, offsetof(struct drift_config, duplicate_jaccard), 0.05, 1},
    {"shingle_words", K_INT, offsetof(struct drift_config, shingle_words), 1, 10},
    {"ngram_words", K_INT, offsetof(struct drift_config, ngram_words), 1, 10},
    {"ngram_block", K_INT, offsetof(struct drift_config, ngram_block), 1, 100000},
    {"max_causes", K_INT, offsetof(struct drift_config, max_causes), 0, 50},
};

int drift_config_set(struct drift_config *c, const char *key, const char *value, struct err *err)
{
	const struct config_key *k = NULL;
	char *base = (char *)c, *end;
	double d;
	int64_t w;
	size_t i;

	for (i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
		if (!strcmp(config_keys[i].name, key))
			k = &config_keys[i];
	if (!k)
		return err_set(err, AIRLOCK_EINVAL, "drift: unknown key '%s'", key);
	if (k->type == K_WINDOW) {
		if (drift_parse_window(value, &w, err))
			return err_prefix(err, "drift: window");
		memcpy(base + k->offset, &w, sizeof w);
		return 0;
	}
	errno = 0;
	d = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(d) || d < k->min || d > k->max ||
	    (k->type != K_DOUBLE && d != floor(d)))
		return err_set(err, AIRLOCK_EINVAL, "drift: %s: '%s' is not a %s from %g to %g",
			       key, value, k->type == K_DOUBLE ? "number" : "whole number", k->min,
			       k->max);
	if (k->type == K_INT) {
		int v = (int)d;

		memcpy(base + k->offset, &v, sizeof v);
	} else if (k->type == K_I64) {
		int64_t v = (int64_t)d;

		memcpy(base + k->offset, &v, sizeof v);
	} else {
		memcpy(base + k->offset, &d, sizeof d);
	}
	return 0;
}

int drift_config_check(const struct drift_config *c, struct err *err)
{
	const char *base = (const char *)c;
	size_t i;

	for (i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
		const struct config_key *k = &config_keys[i];
		double v;

		if (k->type == K_INT) {
			int x;

			memcpy(&x, base + k->offset, sizeof x);
			v = x;
		} else if (k->type == K_DOUBLE) {
			memcpy(&v, base + k->offset, sizeof v);
		} else {
			int64_t x;

			memcpy(&x, base + k->offset, sizeof x);
			v = (double)x;
		}
		if (!(v >= k->min && v <= k->max))
			return err_set(err, AIRLOCK_EINVAL, "drift: %s: %g is outside %g to %g",
				       k->name, v, k->min, k->max);
	}
	if (c->minhash_hashes % c->lsh_bands)
		return err_set(err, AIRLOCK_EINVAL,
			       "drift: lsh_bands (%d) must divide minhash_hashes (%d)",
			       c->lsh_bands, c->minhash_hashes);
	if (c->window_seconds < DAY ? DAY % c->window_seconds : c->window_seconds % DAY)
		return err_set(err, AIRLOCK_EINVAL,
			       "drift: window must divide a day or be whole days");
	if (c->psi_moderate > c->psi_significant)
		return err_set(err, AIRLOCK_EINVAL,
			       "drift: psi_moderate must not exceed psi_significant");
	return 0;
}

int drift_parse_window(const char *text, int64_t *seconds, struct err *err)
{
	char *end;
	long n;
	int64_t unit;

	errno = 0;
	n = strtol(text, &end, 10);
	if (errno || end == text || n < 1 || !end[0] || end[1])
		goto bad;
	switch (end[0]) {
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = DAY;
		break;
	case 'w':
		unit = 7 * DAY;
		break;
	default:
		goto bad;
	}
	if (n > 28 * DAY / unit)
		goto bad;
	*seconds = n * unit;
	if (*seconds < DAY && DAY % *seconds)
		goto bad;
	if (*seconds > DAY && *seconds % DAY)
		goto bad;
	return 0;
bad:
	return err_set(err, AIRLOCK_EINVAL,
		       "'%s' is not a window: give hours dividing a day (1h, 6h, 12h) or days "
		       "(1d, 7d; at most 28d)",
		       text);
}

void drift_format_window(int64_t seconds, char *buf, size_t len)
{
	if (seconds % DAY == 0)
		(void)snprintf(buf, len, "%lldd", (long long)(seconds / DAY));
	else
		(void)snprintf(buf, len, "%lldh", (long long)(seconds / 3600));
}

time_t drift_window_start(time_t t, int64_t w)
{
	int64_t d = (int64_t)t - WINDOW_ORIGIN, k = d / w;

	if (d % w < 0)
		k--;
	return (time_t)(WINDOW_ORIGIN + k * w);
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n decimal digits at p; -1 when one is not a digit. */
static int digits(const char *p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* The seconds and the end of the stored form after its minute: "SS" then
 * "Z" or ".uuuuuuZ" (the action log's); -1 otherwise. */
static int stored_seconds(const char *s)
{
	int se = digits(s, 2);

	if (se < 0 || se > 60)
		return -1;
	if ((s[2] == 'Z' && s[3] == '\0') ||
	    (s[2] == '.' && digits(s + 3, 6) >= 0 && s[9] == 'Z' && s[10] == '\0'))
		return se;
	return -1;
}

/* The stored form up to its minute ("YYYY-MM-DDTHH:MM:"), in seconds; -1
 * when s does not start so. */
static int stored_minute(const char *s, int64_t *out)
{
	int y, mo, d, h, mi;

	if ((y = digits(s, 4)) >= 0 && s[4] == '-' && (mo = digits(s + 5, 2)) >= 1 && s[7] == '-' &&
	    (d = digits(s + 8, 2)) >= 1 && s[10] == 'T' && (h = digits(s + 11, 2)) >= 0 &&
	    s[13] == ':' && (mi = digits(s + 14, 2)) >= 0 && s[16] == ':' && mo <= 12 && d <= 31 &&
	    h <= 23 && mi <= 59) {
		*out = days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60;
		return 0;
	}
	return -1;
}

int drift_time(const char *s, int64_t *out)
{
	time_t t;
	int64_t m;
	int se;

	if (!s)
		return -1;
	/* the stored form, parsed without sscanf/timegm: this runs once per
	 * logged action */
	if (stored_minute(s, &m) == 0 && (se = stored_seconds(s + 17)) >= 0) {
		*out = m + se;
		return 0;
	}
	if (clock_parse(s, &t))
		return -1;
	*out = (int64_t)t;
	return 0;
}

int drift_time_memo(struct drift_time_memo *memo, const char *s, int64_t *out)
{
	int se;

	if (!s)
		return -1;
	/* strncmp: stops at a shorter text's end, which no kept minute has */
	if (memo->ok && !strncmp(s, memo->minute, sizeof memo->minute) &&
	    (se = stored_seconds(s + 17)) >= 0) {
		*out = memo->base + se;
		return 0;
	}
	if (stored_minute(s, &memo->base) == 0 && (se = stored_seconds(s + 17)) >= 0) {
		memcpy(memo->minute, s, sizeof memo->minute);
		memo->ok = 1;
		*out = memo->base + se;
		return 0;
	}
	memo->ok = 0;
	return drift_time(s, out);
}

int drift_config_apply(struct drift_config *c, const char *const *keys,
		       const char *const *values, int n, struct err *err)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		rc = drift_config_set(c, keys[i], values[i], err);
		if (rc)
			return rc;
	}
	return drift_config_check(c, err);
}
