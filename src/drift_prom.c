/* drift_prom.c — the drift report in Prometheus text exposition format
 * (version 0.0.4): one gauge family per figure, labelled by metric and
 * workflow, for the console's /metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "drift.h"

/* A label value with \, " and newline escaped, as the format requires. */
static void put_label(FILE *f, const char *name, const char *v)
{
	fprintf(f, "%s=\"", name);
	for (; v && *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void put_value(FILE *f, json_t *v)
{
	double d;

	if (json_is_true(v) || json_is_false(v)) {
		fputs(json_is_true(v) ? " 1\n" : " 0\n", f);
		return;
	}
	if (!json_is_number(v)) {
		fputs(" NaN\n", f);
		return;
	}
	d = json_number_value(v);
	if (isnan(d))
		fputs(" NaN\n", f);
	else
		fprintf(f, " %.10g\n", d);
}

static void family(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP airlock_drift_%s %s\n# TYPE airlock_drift_%s gauge\n", name, help, name);
}

/* One sample per metric of the report: `key` of each metric entry. */
static void per_metric(FILE *f, json_t *metrics, const char *name, const char *key,
		       const char *help)
{
	json_t *m;
	size_t i;

	family(f, name, help);
	json_array_foreach(metrics, i, m)
	{
		json_t *v = json_object_get(m, key);

		fprintf(f, "airlock_drift_%s{", name);
		put_label(f, "metric", json_string_value(json_object_get(m, "metric")));
		fputc(',', f);
		put_label(f, "workflow", json_string_value(json_object_get(m, "workflow")));
		fputc('}', f);
		if (!strcmp(key, "status"))
			v = json_boolean(!strcmp(json_string_value(v), "shift") ||
					 !strcmp(json_string_value(v), "alert"));
		put_value(f, v);
	}
}

static void shares(FILE *f, json_t *metrics)
{
	json_t *m, *v;
	const char *cat;
	size_t i;

	family(f, "share",
	       "Share of each category in the current window, for distribution metrics.");
	json_array_foreach(metrics, i, m)
	{
		json_object_foreach(json_object_get(m, "shares"), cat, v)
		{
			fputs("airlock_drift_share{", f);
			put_label(f, "metric", json_string_value(json_object_get(m, "metric")));
			fputc(',', f);
			put_label(f, "workflow", json_string_value(json_object_get(m, "workflow")));
			fputc(',', f);
			put_label(f, "category", cat);
			fputc('}', f);
			put_value(f, v);
		}
	}
}

static void alerts(FILE *f, json_t *report)
{
	json_t *a;
	size_t i, open = 0;

	family(
	    f, "alert",
	    "1 while an unacknowledged drift alert is open for the metric (its id in the label).");
	json_array_foreach(json_object_get(report, "alerts"), i, a)
	{
		char id[32];

		if (!json_is_true(json_object_get(a, "active")) ||
		    !json_is_null(json_object_get(a, "acked_by")))
			continue;
		open++;
		(void)snprintf(id, sizeof id, "A%lld",
			       (long long)json_integer_value(json_object_get(a, "id")));
		fputs("airlock_drift_alert{", f);
		put_label(f, "metric", json_string_value(json_object_get(a, "metric")));
		fputc(',', f);
		put_label(f, "workflow", json_string_value(json_object_get(a, "workflow")));
		fputc(',', f);
		put_label(f, "severity", json_string_value(json_object_get(a, "severity")));
		fputc(',', f);
		put_label(f, "alert", json_is_integer(json_object_get(a, "id")) ? id : "");
		fputs("} 1\n", f);
	}
	family(f, "alerts_open", "Open, unacknowledged drift alerts.");
	fprintf(f, "airlock_drift_alerts_open %zu\n", open);
}

int drift_prometheus(struct store *s, const struct drift_config *cfg, char **text, struct err *err)
{
	json_t *r = NULL, *metrics;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	*text = NULL;
	rc = drift_report(s, cfg, clock_now(), 0, &r, err);
	if (rc)
		return rc;
	f = open_memstream(&buf, &len);
	if (!f) {
		json_decref(r);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	metrics = json_object_get(r, "metrics");
	family(f, "window_seconds", "Length of the drift windows in seconds.");
	fprintf(f, "airlock_drift_window_seconds %lld\n",
		(long long)json_integer_value(json_object_get(r, "window_seconds")));
	per_metric(f, metrics, "value", "value",
		   "Current window's value (rates as fractions, distributions as the "
		   "effective number of categories, counts per window).");
	per_metric(f, metrics, "reference", "reference",
		   "The reference the window is judged against.");
	per_metric(f, metrics, "change", "change",
		   "Change against the reference (Jensen-Shannon distance for distributions).");
	per_metric(f, metrics, "statistic", "statistic",
		   "Test statistic of the current window (JS distance or PSI, z, or EWMA sigmas).");
	per_metric(f, metrics, "threshold", "threshold", "Threshold the statistic is held to.");
	per_metric(f, metrics, "count", "count", "Items behind the current window's value.");
	per_metric(f, metrics, "shift", "status",
		   "1 when the current window's shift condition holds (alert or pending).");
	shares(f, metrics);
	alerts(f, r);
	json_decref(r);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	*text = buf;
	return 0;
}
