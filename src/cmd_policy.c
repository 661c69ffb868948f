/* cmd_policy.c — `airlock policy check [FILE]`: every problem of a policy
 * file as FILE:LINE:COL: message, the way a compiler reports them; and
 * `airlock policy replay NEW.yaml [--since AGE]`: the logged proposals
 * decided again under NEW (replay.h). */
#include "cli.h"

#include <string.h>

#include "audit.h"
#include "policy.h"
#include "replay.h"
#include "upstream.h"

/* Each upstream as it is now against the policy: {"upstream", "error"} or
 * {"upstream", "absent": [...], "unlisted": [...]}. NULL: out of memory. */
static json_t *upstreams_check(const struct policy *p)
{
	json_t *all = json_array(), *tools, *absent, *unlisted;
	struct upstream *u;
	struct err err;
	int i;

	for (i = 0; all && i < p->nupstreams; i++) {
		const struct policy_upstream *c = &p->upstreams[i];

		err_clear(&err);
		tools = NULL;
		if (!(u = upstream_shared(c, &err)) || upstream_tools(u, &tools, &err) ||
		    upstream_inventory(c, tools, &absent, &unlisted, &err))
			json_array_append_new(all, json_pack("{s:s,s:s}", "upstream", c->name,
							     "error", err.msg));
		else
			json_array_append_new(all, json_pack("{s:s,s:o,s:o}", "upstream", c->name,
							     "absent", absent, "unlisted",
							     unlisted));
		json_decref(tools);
	}
	return all;
}

static void print_upstreams(const char *path, json_t *ups)
{
	json_t *o, *t;
	size_t i, j;

	json_array_foreach(ups, i, o)
	{
		const char *name = json_string_value(json_object_get(o, "upstream"));

		if (json_object_get(o, "error")) {
			printf("%s: warning: upstream '%s' is unavailable: %s\n", path, name,
			       json_string_value(json_object_get(o, "error")));
			continue;
		}
		json_array_foreach(json_object_get(o, "absent"), j, t)
			printf("%s: warning: upstream '%s' has no tool '%s' that the policy lists\n",
			       path, name, json_string_value(t));
		json_array_foreach(json_object_get(o, "unlisted"), j, t)
			printf("%s: warning: upstream '%s' offers tool '%s', which the policy does "
			       "not list: it is neither shown nor callable\n",
			       path, name, json_string_value(t));
	}
}

static int policy_check_cmd(struct cli *cli, const char *path)
{
	struct err err = {0};
	struct policy *p = NULL;
	json_t *problems = NULL, *o, *pr, *ups = NULL;
	size_t i, n;
	int rc = CLI_FAIL, nwf = 0;

	if (policy_check(path, &problems, &err))
		return cli_fail_err(cli, &err);
	n = json_array_size(problems);
	if (n == 0) {
		/* a clean file loads; the count is what `ok` reports */
		if (policy_load(path, &p, &err)) {
			rc = cli_fail_err(cli, &err);
			goto out;
		}
		nwf = p->nworkflows;
	}
	if (p && p->nupstreams && !(ups = upstreams_check(p))) {
		rc = cli_fail(cli, "out of memory");
		goto out;
	}
	if (cli->json) {
		o = json_pack("{s:s,s:b,s:i,s:s?,s:O,s:O*}", "file", path, "ok", n == 0, "workflows",
			      nwf, "digest", p ? p->digest : NULL, "problems", problems,
			      "upstreams", ups);
		if (!o) {
			rc = cli_fail(cli, "out of memory");
			goto out;
		}
		rc = cli_print_json(cli, o);
		json_decref(o);
		if (rc == CLI_OK && n)
			rc = CLI_FAIL;
		goto out;
	}
	/* problems quote the file, which may hold anything */
	if (cli_escape(cli, problems)) {
		rc = CLI_FAIL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		pr = json_array_get(problems, i);
		printf("%s:%d:%d: %s\n", path, (int)json_integer_value(json_object_get(pr, "line")),
		       (int)json_integer_value(json_object_get(pr, "col")),
		       json_string_value(json_object_get(pr, "message")));
	}
	if (n)
		printf("%s: %zu problem%s\n", path, n, n == 1 ? "" : "s");
	else
		printf("%s: ok (%d workflow%s)\n", path, nwf, nwf == 1 ? "" : "s");
	if (ups && cli_escape(cli, ups)) {
		rc = CLI_FAIL;
		goto out;
	}
	print_upstreams(path, ups);
	rc = n ? CLI_FAIL : CLI_OK;
out:
	upstream_shared_close();
	json_decref(ups);
	policy_free(p);
	json_decref(problems);
	return rc;
}

static void replay_print_side(const char *label, json_t *r, const char *side)
{
	json_t *d = json_object_get(json_object_get(r, "decisions"), side);
	json_t *rad = json_object_get(json_object_get(r, "radius"), side);
	json_t *load = json_object_get(json_object_get(r, "load"), side);
	json_t *pd = json_object_get(load, "per_day");

	printf("%-4s staged %5lld  blocked %5lld  allowed %5lld  refused %5lld | running radius"
	       " p50 %lld p90 %lld max %lld | per day: %.1f batches to approve, %.1f items to"
	       " judge\n",
	       label, (long long)json_integer_value(json_object_get(d, "staged")),
	       (long long)json_integer_value(json_object_get(d, "blocked")),
	       (long long)json_integer_value(json_object_get(d, "allowed")),
	       (long long)json_integer_value(json_object_get(d, "refused")),
	       (long long)json_integer_value(json_object_get(rad, "p50")),
	       (long long)json_integer_value(json_object_get(rad, "p90")),
	       (long long)json_integer_value(json_object_get(rad, "max")),
	       json_real_value(json_object_get(pd, "batches_to_approve")),
	       json_real_value(json_object_get(pd, "items_to_judge")));
}

/* The batches still waiting at the end of the window, old and new. */
static void replay_print_waiting(json_t *r)
{
	json_t *w = json_object_get(r, "waiting"), *o = json_object_get(w, "old"),
	       *n = json_object_get(w, "new");

	printf("waiting at the end: old %lld batches (%lld staged, %lld blocked), %lld items to"
	       " judge; new %lld batches (%lld staged, %lld blocked), %lld items to judge\n",
	       (long long)json_integer_value(json_object_get(o, "batches")),
	       (long long)json_integer_value(json_object_get(o, "staged")),
	       (long long)json_integer_value(json_object_get(o, "blocked")),
	       (long long)json_integer_value(json_object_get(o, "items_to_judge")),
	       (long long)json_integer_value(json_object_get(n, "batches")),
	       (long long)json_integer_value(json_object_get(n, "staged")),
	       (long long)json_integer_value(json_object_get(n, "blocked")),
	       (long long)json_integer_value(json_object_get(n, "items_to_judge")));
}

/* Replays the log under path; nothing is written but one log entry saying
 * a replay ran, with its counts. */
static int policy_replay_cmd(struct cli *cli, const char *path, const char *since_arg)
{
	char since[AUDIT_TIME_MAX], summary[200];
	struct err err = {0};
	struct policy *cand = NULL, *cur;
	struct store *s;
	json_t *report = NULL, *v;
	const char *k;
	size_t i;
	int rc = CLI_FAIL;

	if (since_arg && audit_parse_time(since_arg, since, &err))
		return cli_usage(cli, "--since: %s", err.msg);
	if (policy_load(path, &cand, &err))
		return cli_fail_err(cli, &err);
	s = cli_store(cli);
	if (!s)
		goto out;
	cur = cli_policy(cli, 0);
	if (replay_run(s, cur, cand, since_arg ? since : NULL, &report, &err)) {
		rc = cli_fail_err(cli, &err);
		goto out;
	}
	(void)snprintf(summary, sizeof summary, "policy replay: %lld proposals, %lld decided differently",
		 (long long)json_integer_value(json_object_get(report, "proposals")),
		 (long long)json_integer_value(json_object_get(report, "changed")));
	if (replay_log(s, cli_principal(cli), "cli", path, cand->digest, since_arg, report, NULL,
		       &err)) {
		rc = cli_fail_err(cli, &err);
		goto out;
	}
	if (cli_escape(cli, report))
		goto out;
	if (cli->json) {
		rc = cli_print_json(cli, report);
		goto out;
	}
	printf("%s\n", summary);
	replay_print_side("old", report, "old");
	replay_print_side("new", report, "new");
	replay_print_waiting(report);
	json_object_foreach(json_object_get(report, "changes"), k, v)
		printf("  %s: %lld\n", k, (long long)json_integer_value(v));
	json_array_foreach(json_object_get(report, "examples"), i, v)
		printf("  e.g. #%lld %s %s %s: %s -> %s (radius %lld -> %lld)%s%s\n",
		       (long long)json_integer_value(json_object_get(v, "seq")),
		       json_string_value(json_object_get(v, "at")),
		       json_string_value(json_object_get(v, "principal")),
		       json_string_value(json_object_get(v, "workflow")),
		       json_string_value(json_object_get(v, "old")),
		       json_string_value(json_object_get(v, "new")),
		       (long long)json_integer_value(json_object_get(v, "radius_old")),
		       (long long)json_integer_value(json_object_get(v, "radius_new")),
		       json_object_get(v, "why") ? ": " : "",
		       json_object_get(v, "why") ? json_string_value(json_object_get(v, "why")) : "");
	rc = CLI_OK;
out:
	policy_free(cand);
	json_decref(report);
	return rc;
}

int cmd_policy(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"since", required_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	const char *path, *since = NULL;
	int c, h;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 's') {
			since = optarg;
			continue;
		}
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind >= argc)
		return cli_usage(cli, "missing subcommand: check or replay");
	if (!strcmp(argv[optind], "replay")) {
		if (argc - optind != 2)
			return cli_usage(cli, "give the candidate policy: policy replay NEW.yaml"
					      " [--since AGE]");
		return policy_replay_cmd(cli, argv[optind + 1], since);
	}
	if (since)
		return cli_usage(cli, "--since belongs to policy replay");
	if (strcmp(argv[optind], "check") != 0)
		return cli_usage(cli, "unknown subcommand '%s' (the subcommands are check and"
				      " replay)",
				 argv[optind]);
	if (argc - optind > 2)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 2]);
	path = argc - optind == 2 ? argv[optind + 1] : cli_policy_path(cli);
	return policy_check_cmd(cli, path);
}
