/* cmd_policy.c — `airlock policy check [FILE]`: every problem of a policy
 * file as FILE:LINE:COL: message, the way a compiler reports them. */
#include "cli.h"

#include <string.h>

#include "policy.h"
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

int cmd_policy(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	const char *path;
	int c, h;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind >= argc)
		return cli_usage(cli, "missing subcommand: check");
	if (strcmp(argv[optind], "check") != 0)
		return cli_usage(cli, "unknown subcommand '%s' (the subcommand is check)",
				 argv[optind]);
	if (argc - optind > 2)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 2]);
	path = argc - optind == 2 ? argv[optind + 1] : cli_policy_path(cli);
	return policy_check_cmd(cli, path);
}
