/* drift_words.c — the drift report in the words a sales manager reads:
 * each metric's title and unit, values in their unit, the alerts' verdicts
 * and the metrics' states. One table, used by `airlock drift` and by the
 * console's drift view, so both say the same thing. */
#include <stdio.h>
#include <string.h>

#include "drift.h"

/* Each metric in the words a sales manager reads, and the unit its values
 * are in: "share" (0..1, shown as a percentage), "count" (per window),
 * "ratio" (0..1, shown as is) or "mix" (a distribution: its value is its
 * variety, the effective number of values in use; the page shows the
 * shares beside it). */
static const struct {
	const char *metric, *words, *unit;
} words_table[] = {
    {"proposal_volume", "proposals (batches) per window", "count"},
    {"tier1_share", "share of re-tiers to tier 1", "share"},
    {"tier_mix", "mix of tiers that re-tiers set", "mix"},
    {"proposal_signal_kinds", "mix of signal kinds that proposals cite", "mix"},
    {"overreach_rate", "share of proposed items refused as overreach", "share"},
    {"audit_failure_rate", "share of sample-audited items judged bad", "share"},
    {"duplicate_draft_rate", "share of drafts that nearly repeat an earlier one", "share"},
    {"distinct_ngram_ratio", "variety of wording in drafts (distinct phrases over all)", "ratio"},
    {"brief_signal_kinds", "mix of signal kinds that research briefs cite", "mix"},
    {"audience_refusal_rate", "share of draft and send requests the audience guard refused",
     "share"},
    {"agent_call_volume", "tool calls by agents per window", "count"},
    {"tool_mix", "mix of tools that agents call", "mix"},
};

/* The metric's title ("share of re-tiers to tier 1, workflow retier") and
 * unit; a metric this table does not know keeps its own help text. */
const char *drift_title(json_t *m, char *buf, size_t len)
{
	const char *metric = json_string_value(json_object_get(m, "metric"));
	const char *wf = json_string_value(json_object_get(m, "workflow"));
	const char *words = json_string_value(json_object_get(m, "help"));
	const char *unit = "value";
	size_t i;

	for (i = 0; metric && i < sizeof words_table / sizeof words_table[0]; i++)
		if (!strcmp(words_table[i].metric, metric)) {
			words = words_table[i].words;
			unit = words_table[i].unit;
		}
	(void)snprintf(buf, len, "%s%s%s", words ? words : (metric ? metric : "a metric"),
		       wf ? ", workflow " : "", wf ? wf : "");
	return unit;
}

/* A value in its unit: "42%", "17", "0.31". */
void drift_value(const char *unit, double v, char *buf, size_t len)
{
	if (!strcmp(unit, "share"))
		(void)snprintf(buf, len, "%.0f%%", v * 100);
	else if (!strcmp(unit, "count"))
		(void)snprintf(buf, len, "%.0f", v);
	else if (!strcmp(unit, "mix"))
		(void)snprintf(buf, len, "%.1f", v);
	else
		(void)snprintf(buf, len, "%.2f", v);
}

/* "26 Nov" from "2026-11-26T10:00:00Z"; the text itself when it is not a
 * date. */
void drift_day(const char *at, char *buf, size_t len)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int y, mo, d;

	if (at && sscanf(at, "%4d-%2d-%2d", &y, &mo, &d) == 3 && mo >= 1 && mo <= 12)
		(void)snprintf(buf, len, "%d %s %d", d, mon[mo - 1], y);
	else
		(void)snprintf(buf, len, "%s", at ? at : "?");
}

/* The alert's verdict in words: how far from usual, since when, after
 * what ("4.0× the usual share of re-tiers to tier 1, workflow retier,
 * since 26 Nov 2026 (75% against a usual 19%), after agent:tierbot began
 * using instruction version v2 (before: v1)"). */
void drift_verdict(json_t *a, char *buf, size_t len)
{
	char title[300];
	const char *unit = drift_title(a, title, sizeof title);
	double v = json_number_value(json_object_get(a, "value"));
	double ref = json_number_value(json_object_get(a, "reference"));
	json_t *causes = json_object_get(a, "causes");
	const char *cause = json_string_value(json_object_get(json_array_get(causes, 0), "detail"));
	char how[64], day[32], vt[32], rt[32];

	if (!strcmp(unit, "mix")) {
		/* a mix's value is its variety (effective number of values) */
		drift_day(json_string_value(json_object_get(a, "first_window")), day, sizeof day);
		(void)snprintf(
		    buf, len,
		    "the %s, %s since %s (about %.1f values in common use against a usual "
		    "%.1f)%s%s",
		    title, v < ref ? "narrowed" : "widened", day, v, ref, cause ? ", after " : "",
		    cause ? cause : "");
		return;
	}
	if (ref > 0 && v >= ref)
		(void)snprintf(how, sizeof how, "%.1f× the usual", v / ref);
	else if (ref > 0)
		(void)snprintf(how, sizeof how, "%.0f%% below the usual", (1 - v / ref) * 100);
	else
		(void)snprintf(how, sizeof how, "%s the usual",
			       v > ref ? "above" : "different from");
	drift_day(json_string_value(json_object_get(a, "first_window")), day, sizeof day);
	drift_value(unit, v, vt, sizeof vt);
	drift_value(unit, ref, rt, sizeof rt);
	(void)snprintf(buf, len, "%s %s, since %s (%s against a usual %s)%s%s", how, title, day, vt,
		       rt, cause ? ", after " : "", cause ? cause : "");
}

/* A metric's state in words. */
const char *drift_status_words(const char *status)
{
	if (!status)
		return "";
	if (!strcmp(status, "alert"))
		return "changed: see the alert";
	if (!strcmp(status, "shift"))
		return "moving away from the usual";
	if (!strcmp(status, "ok"))
		return "as usual";
	if (!strcmp(status, "partial"))
		return "this window is not over yet";
	if (!strcmp(status, "insufficient"))
		return "too little data to judge";
	return "no data yet";
}

/* A distribution's category in words: the two the monitor makes up
 * itself ("(none)": the item cites no signal; "(other)": the categories
 * past the ones kept by name), a tier by its name, the others (signal
 * kinds, tool names) as they are. */
void drift_category_words(const char *metric, const char *category, char *buf, size_t len)
{
	if (!category)
		category = "";
	if (!strcmp(category, "(none)"))
		(void)snprintf(buf, len, "none cited");
	else if (!strcmp(category, "(other)"))
		(void)snprintf(buf, len, "others");
	else if (metric && !strcmp(metric, "tier_mix"))
		(void)snprintf(buf, len, "tier %s", category);
	else
		(void)snprintf(buf, len, "%s", category);
}
