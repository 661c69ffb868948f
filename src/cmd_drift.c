/* cmd_drift.c — `airlock drift`: the current window against its reference,
 * metric by metric, with a sparkline of recent windows and the alerts;
 * `airlock drift baseline` pins or clears the reference; `airlock drift
 * ack` records a person's explanation of an alert. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_identity.h"
#include "clock.h"
#include "drift.h"
#include "policy.h"

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static double real(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

struct share {
	const char *name;
	double v;
};

static int cmp_share(const void *x, const void *y)
{
	const struct share *a = x, *b = y;

	return a->v > b->v ? -1 : a->v < b->v;
}

/* "hiring 62%, intent 20%, ...": largest first, categories in words. */
static void mix(const char *metric, json_t *shares, char *buf, size_t len)
{
	struct share sh[64];
	const char *k;
	json_t *v;
	size_t used = 0, n = 0, i;

	buf[0] = '\0';
	json_object_foreach(shares, k, v)
	{
		if (n < 64) {
			sh[n].name = k;
			sh[n++].v = json_real_value(v);
		}
	}
	if (n > 1)
		qsort(sh, n, sizeof sh[0], cmp_share);
	for (i = 0; i < n; i++) {
		char cat[96];
		int w;

		drift_category_words(metric, sh[i].name, cat, sizeof cat);
		w = snprintf(buf + used, len - used, "%s%s %.0f%%", used ? ", " : "", cat,
			     sh[i].v * 100);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	if (!n)
		(void)snprintf(buf, len, "nothing yet");
}

/* What a metric's figures say, in words: "now 75%, usual 19% (+56
 * points)"; for a distribution its mix now and as usual, on two lines. */
static void figures_text(json_t *m, char *buf, size_t len)
{
	const char *kind = str(m, "kind"), *status = str(m, "status"), *metric = str(m, "metric");
	char title[300], v[48], ref[48], ch[48] = "", now[400], before[400];
	const char *unit = drift_title(m, title, sizeof title);
	double c = real(m, "change");

	if (!strcmp(status, "partial") || !strcmp(status, "insufficient") ||
	    !strcmp(status, "no data")) {
		(void)snprintf(buf, len, "%.0f counted this window, %.0f in the reference",
			       isnan(real(m, "count")) ? 0 : real(m, "count"),
			       isnan(real(m, "reference_count")) ? 0 : real(m, "reference_count"));
		return;
	}
	if (!strcmp(kind, "distribution")) {
		mix(metric, json_object_get(m, "shares"), now, sizeof now);
		mix(metric, json_object_get(m, "reference_shares"), before, sizeof before);
		(void)snprintf(buf, len, "now: %s\n    usual: %s", now, before);
		return;
	}
	drift_value(unit, real(m, "value"), v, sizeof v);
	drift_value(unit, real(m, "reference"), ref, sizeof ref);
	if (!isnan(c) && !strcmp(unit, "share"))
		(void)snprintf(ch, sizeof ch, " (%+.0f points)", c * 100);
	else if (!isnan(c) && !strcmp(unit, "count"))
		(void)snprintf(ch, sizeof ch, " (%+.0f)", c);
	else if (!isnan(c))
		(void)snprintf(ch, sizeof ch, " (%+.2f)", c);
	(void)snprintf(buf, len, "now %s, usual %s%s", isnan(real(m, "value")) ? "-" : v,
		       isnan(real(m, "reference")) ? "-" : ref, ch);
}

/* ▁▂▃▄▅▆▇█ over the history's values (distances for distributions);
 * blank where a window had no data. */
static void sparkline(json_t *m, char *buf, size_t len)
{
	static const char *const bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	int dist = !strcmp(str(m, "kind"), "distribution");
	json_t *hist = json_object_get(m, "history"), *h;
	double lo = INFINITY, hi = -INFINITY;
	size_t i, used = 0;

	json_array_foreach(hist, i, h)
	{
		double v = real(h, dist ? "statistic" : "value");

		if (!isnan(v)) {
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	}
	buf[0] = '\0';
	json_array_foreach(hist, i, h)
	{
		double v = real(h, dist ? "statistic" : "value");
		const char *c = " ";
		int n;

		if (!isnan(v))
			c = bars[hi > lo ? (int)((v - lo) / (hi - lo) * 7.999) : 0];
		n = snprintf(buf + used, len - used, "%s", c);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

/* Each metric in words: its title (and on a terminal a sparkline of the
 * recent windows), then what its figures say and its state. */
static void print_metrics(json_t *r, int spark)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(r, "metrics"), i, m)
	{
		char title[300], fig[900], sp[1024] = "";

		(void)drift_title(m, title, sizeof title);
		figures_text(m, fig, sizeof fig);
		if (spark)
			sparkline(m, sp, sizeof sp);
		printf("%s%s%s\n", title, spark ? "  " : "", sp);
		printf("    %s\n    %s\n", fig, drift_status_words(str(m, "status")));
	}
}

static void print_alert(json_t *a)
{
	char verdict[800];
	json_t *c;
	size_t i;

	drift_verdict(a, verdict, sizeof verdict);
	if (json_is_integer(json_object_get(a, "id")))
		printf("  A%lld", (long long)json_integer_value(json_object_get(a, "id")));
	else
		printf("  -");
	printf(" %s: %s\n", str(a, "severity"), verdict);
	printf("        strength of the evidence: %.2f, where %.2f raises an alert\n",
	       real(a, "statistic"), real(a, "threshold"));
	json_array_foreach(json_object_get(a, "causes"), i, c)
	    printf("        likely cause: %s  %s\n", str(c, "at"), str(c, "detail"));
	if (!json_array_size(json_object_get(a, "causes")))
		printf("        no known cause in these windows\n");
	if (str(a, "acked_by"))
		printf("        acknowledged by %s at %s: %s\n", str(a, "acked_by"),
		       str(a, "acked_at"), str(a, "ack_cause"));
	else if (json_is_integer(json_object_get(a, "id")))
		printf("        acknowledge: airlock drift ack A%lld --cause \"...\"\n",
		       (long long)json_integer_value(json_object_get(a, "id")));
}

static void print_report(json_t *r)
{
	json_t *ref = json_object_get(r, "reference"), *cw = json_object_get(r, "current_window");
	json_t *a, *src = json_object_get(r, "sources"), *v;
	const char *name;
	size_t i, active = 0, earlier = 0;
	int spark = isatty(STDOUT_FILENO);

	printf("drift: window %s, current %.16s (%.0f%% elapsed), against ", str(r, "window"),
	       str(cw, "start"), real(cw, "elapsed") * 100);
	if (!strcmp(str(ref, "kind"), "baseline"))
		printf("the baseline %.16s .. %.16s pinned by %s\n", str(ref, "from"),
		       str(ref, "to"), str(ref, "set_by"));
	else
		printf("the previous %lld windows\n",
		       (long long)json_integer_value(json_object_get(ref, "windows")));
	if (str(ref, "note"))
		printf("note: %s\n", str(ref, "note"));
	printf("\n");
	if (json_array_size(json_object_get(r, "metrics")) == 0)
		printf("no proposals, drafts, briefs or agent calls in these windows\n");
	else
		print_metrics(r, spark);
	json_array_foreach(json_object_get(r, "alerts"), i, a)
	{
		if (json_is_true(json_object_get(a, "active")))
			active++;
		else
			earlier++;
	}
	printf("\n%zu alert%s", active, active == 1 ? "" : "s");
	printf(active ? ":\n" : "\n");
	json_array_foreach(json_object_get(r, "alerts"), i, a)
	{
		if (json_is_true(json_object_get(a, "active")))
			print_alert(a);
	}
	if (earlier) {
		printf("ended earlier in these windows:\n");
		json_array_foreach(json_object_get(r, "alerts"), i, a)
		{
			if (!json_is_true(json_object_get(a, "active")))
				print_alert(a);
		}
	}
	printf("\nsources:");
	json_object_foreach(src, name, v)
	{
		printf(" %s%s", name, json_is_true(v) ? "" : " (absent)");
	}
	printf("\n");
}

/* Parses a time option: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ. */
static int time_arg(struct cli *cli, const char *opt, const char *arg, time_t *out)
{
	if (clock_parse(arg, out))
		return cli_usage(cli, "%s: '%s' is not a time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)",
				 opt, arg);
	return 0;
}

/* The drift configuration: the defaults, then the policy file's drift:
 * section (when a policy loads), then what the command line said. */
static int drift_settings(struct cli *cli, struct drift_config *cfg, const struct drift_config *cmd)
{
	struct drift_config def;
	struct policy *p = cli_policy(cli, 0);
	struct err err = {0};

	drift_config_default(&def);
	drift_config_default(cfg);
	if (p && drift_config_apply(cfg, p->drift_keys, p->drift_values, p->ndrift, &err))
		return cli_fail(cli, "%s: %s", cli_policy_path(cli), err.msg);
	if (cmd->window_seconds != def.window_seconds)
		cfg->window_seconds = cmd->window_seconds;
	if (cmd->windows != def.windows)
		cfg->windows = cmd->windows;
	if (cmd->reference_windows != def.reference_windows)
		cfg->reference_windows = cmd->reference_windows;
	return 0;
}

static int drift_baseline_verb(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"clear", no_argument, NULL, 'c'},
	    {"window", required_argument, NULL, 'w'},
	    {NULL, 0, NULL, 0},
	};
	struct drift_config cfg, cmdcfg;
	struct err err = {0};
	struct store *s;
	time_t from = 0, to = 0, cur;
	char a[CLOCK_TEXT_LEN], b[CLOCK_TEXT_LEN];
	int c, done = 0, clear = 0, has_from = 0, has_to = 0, rc;

	drift_config_default(&cfg);
	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'f' && (rc = time_arg(cli, "--from", optarg, &from)) != 0)
			return rc;
		if (c == 't' && (rc = time_arg(cli, "--to", optarg, &to)) != 0)
			return rc;
		if (c == 'w' && drift_parse_window(optarg, &cfg.window_seconds, &err))
			return cli_usage(cli, "--window: %s", err.msg);
		has_from |= c == 'f';
		has_to |= c == 't';
		clear |= c == 'c';
	}
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	if (clear && (has_from || has_to))
		return cli_usage(cli, "--clear takes no --from or --to");
	if (has_from != has_to)
		return cli_usage(cli, "give both --from and --to, or neither");
	cmdcfg = cfg;
	if (drift_settings(cli, &cfg, &cmdcfg))
		return CLI_FAIL;
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	rc = cli_person(cli, CLI_NEED_ADMIN);
	if (rc)
		return rc;
	if (clear) {
		if (drift_baseline_clear(s, cli_principal(cli), "cli", &err))
			return cli_fail_err(cli, &err);
		printf("baseline cleared: each window is judged against the previous %d\n",
		       cfg.reference_windows);
		return CLI_OK;
	}
	if (!has_from) {
		cur = drift_window_start(clock_now(), cfg.window_seconds);
		to = cur;
		from = cur - (time_t)(cfg.reference_windows * cfg.window_seconds);
	}
	if (drift_baseline_set(s, from, to, cli_principal(cli), "cli", &err))
		return cli_fail_err(cli, &err);
	clock_format(from, a, sizeof a);
	clock_format(to, b, sizeof b);
	printf("baseline pinned: %s .. %s; every window is judged against it until"
	       " 'airlock drift baseline --clear'\n",
	       a, b);
	return CLI_OK;
}

static int drift_ack_verb(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {
	    {"cause", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	struct err err = {0};
	struct store *s;
	const char *cause = NULL;
	json_t *row = NULL;
	char title[300];
	int64_t id;
	int c, done = 0, rc;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'c')
			cause = optarg;
	}
	if (optind >= argc)
		return cli_usage(cli, "which alert? give its id (A3)");
	if (optind + 1 < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
	if (drift_parse_alert_id(argv[optind], &id, &err))
		return cli_usage(cli, "%s", err.msg);
	if (!cause)
		return cli_usage(cli, "--cause is required: say what explains the alert");
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	rc = cli_person(cli, CLI_NEED_PERSON);
	if (rc)
		return rc;
	if (drift_ack(s, id, cli_principal(cli), "cli", cause, &row, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		rc = cli_print_json(cli, row);
		json_decref(row);
		return rc;
	}
	if (cli_escape(cli, row)) {
		json_decref(row);
		return CLI_FAIL;
	}
	(void)drift_title(row, title, sizeof title);
	printf("acknowledged A%lld (%s) as %s: %s\n", (long long)id, title, str(row, "acked_by"),
	       str(row, "ack_cause"));
	json_decref(row);
	return CLI_OK;
}

int cmd_drift(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {
	    {"window", required_argument, NULL, 'w'},
	    {"windows", required_argument, NULL, 'n'},
	    {"reference", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	struct drift_config cfg, cmdcfg;
	struct err err = {0};
	struct store *s;
	json_t *r = NULL;
	long n;
	int c, done = 0, rc;

	if (argc > 1 && !strcmp(argv[1], "baseline"))
		return drift_baseline_verb(cli, argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "ack"))
		return drift_ack_verb(cli, argc - 1, argv + 1);
	drift_config_default(&cfg);
	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'w' && drift_parse_window(optarg, &cfg.window_seconds, &err))
			return cli_usage(cli, "--window: %s", err.msg);
		if (c == 'n') {
			if ((rc = cli_parse_long(cli, "--windows", optarg, 1, 200, &n)) != 0)
				return rc;
			cfg.windows = (int)n;
		}
		if (c == 'r') {
			if ((rc = cli_parse_long(cli, "--reference", optarg, 1, 200, &n)) != 0)
				return rc;
			cfg.reference_windows = (int)n;
		}
	}
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s' (subverbs: baseline, ack)",
				 argv[optind]);
	cmdcfg = cfg;
	if (drift_settings(cli, &cfg, &cmdcfg))
		return CLI_FAIL;
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (drift_report(s, &cfg, clock_now(), 1, &r, &err))
		return cli_fail_err(cli, &err);
	if (cli->json)
		rc = cli_print_json(cli, r);
	else if ((rc = cli_escape(cli, r)) == CLI_OK)
		print_report(r);
	json_decref(r);
	return rc;
}
