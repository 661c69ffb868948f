/* cmd_upstream.c — `airlock upstream list|trust`: the policy's upstream MCP
 * servers, their tools as they are now, and the pins a person sets on
 * those tools' definitions (upstream_pin.h). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "cli_identity.h"
#include "policy.h"
#include "upstream.h"
#include "upstream_pin.h"

static const char *pin_name(enum upstream_pin_state s)
{
	return s == UPSTREAM_PIN_OK	   ? "trusted"
	       : s == UPSTREAM_PIN_CHANGED ? "changed"
					   : "untrusted";
}

/* One upstream as it is now: {"upstream","transport","running","error",
 * "stderr","tools":[{name,effect,state,definition,diff}],"absent",
 * "unlisted"}; only listed tools carry a state. */
static json_t *describe(struct cli *cli, struct store *s, const struct policy_upstream *u)
{
	struct upstream *up;
	struct err err = {0};
	json_t *o, *tools = NULL, *absent = NULL, *unlisted = NULL, *list, *d;
	char tail[1024];
	size_t i;

	o = json_pack("{s:s,s:s}", "upstream", u->name, "transport",
		      u->transport == UPSTREAM_HTTP ? "http" : "stdio");
	list = json_array();
	if (!o || !list)
		goto fail;
	json_object_set_new(o, "tools", list);
	up = upstream_shared(u, &err);
	if (!up || upstream_tools(up, &tools, &err)) {
		json_object_set_new(o, "running", json_false());
		json_object_set_new(o, "error", json_string(err.msg));
		if (up) {
			upstream_stderr(up, tail, sizeof tail);
			json_object_set_new(o, "stderr", json_string(tail));
		}
		return o;
	}
	json_object_set_new(o, "running", json_true());
	if (upstream_inventory(u, tools, &absent, &unlisted, &err))
		goto fail;
	json_object_set_new(o, "absent", absent);
	json_object_set_new(o, "unlisted", unlisted);
	json_array_foreach(tools, i, d)
	{
		const struct policy_upstream_tool *t =
		    policy_upstream_tool(u, json_string_value(json_object_get(d, "name")));
		enum upstream_pin_state ps = UPSTREAM_PIN_NONE;
		json_t *diff = NULL;

		if (!t)
			continue;
		if (s && (upstream_pin_check(s, u->name, d, cli_principal(cli), "cli", &ps, &err) ||
			  upstream_pin_diff(s, u->name, d, &diff, &err)))
			goto fail;
		json_array_append_new(list,
				      json_pack("{s:s,s:s,s:s,s:o,s:o*}", "name", t->name, "effect",
						policy_effect_name(t->effect), "state",
						pin_name(ps), "definition", upstream_tool_pinned(d),
						"diff", ps == UPSTREAM_PIN_CHANGED ? diff : NULL));
		if (ps != UPSTREAM_PIN_CHANGED)
			json_decref(diff);
	}
	json_decref(tools);
	return o;
fail:
	json_decref(tools);
	json_decref(o);
	cli_fail_err(cli, &err);
	return NULL;
}

static void print_one(json_t *o)
{
	json_t *t, *v, *w;
	const char *k;
	size_t i;

	printf("upstream %s (%s)%s\n", json_string_value(json_object_get(o, "upstream")),
	       json_string_value(json_object_get(o, "transport")),
	       json_is_true(json_object_get(o, "running")) ? "" : ": unavailable");
	if (json_object_get(o, "error")) {
		printf("  %s\n", json_string_value(json_object_get(o, "error")));
		if (json_string_length(json_object_get(o, "stderr")))
			printf("  its stderr ends:\n%s\n",
			       json_string_value(json_object_get(o, "stderr")));
		return;
	}
	json_array_foreach(json_object_get(o, "tools"), i, t)
	{
		const char *desc = json_string_value(
		    json_object_get(json_object_get(t, "definition"), "description"));

		printf("  %-24s %-5s %-9s %.100s\n", json_string_value(json_object_get(t, "name")),
		       json_string_value(json_object_get(t, "effect")),
		       json_string_value(json_object_get(t, "state")), desc ? desc : "");
		json_object_foreach(json_object_get(t, "diff"), k, v)
		{
			char *was =
			    json_dumps(json_object_get(v, "was"), JSON_ENCODE_ANY | JSON_COMPACT);
			char *now =
			    json_dumps(json_object_get(v, "now"), JSON_ENCODE_ANY | JSON_COMPACT);

			printf("    %s was: %.500s\n    %s now: %.500s\n", k, was ? was : "?", k,
			       now ? now : "?");
			free(was);
			free(now);
		}
	}
	json_array_foreach(json_object_get(o, "absent"), i, w)
	    printf("  %-24s listed in the policy but absent upstream\n", json_string_value(w));
	json_array_foreach(json_object_get(o, "unlisted"), i, w)
	    printf("  %-24s offered upstream but not in the policy: never shown nor callable\n",
		   json_string_value(w));
}

static int list_cmd(struct cli *cli, const char *only)
{
	struct policy *p = cli_policy(cli, 1);
	struct store *s;
	json_t *all = json_array(), *alerts = NULL, *o;
	struct err err = {0};
	size_t i;
	int k, rc = CLI_OK, n = 0;

	if (!p || !all) {
		json_decref(all);
		return CLI_FAIL;
	}
	if (!(s = cli_store(cli))) {
		json_decref(all);
		return CLI_FAIL;
	}
	for (k = 0; k < p->nupstreams; k++) {
		if (only && strcmp(only, p->upstreams[k].name))
			continue;
		n++;
		if (!(o = describe(cli, s, &p->upstreams[k]))) {
			rc = CLI_FAIL;
			goto out;
		}
		json_array_append_new(all, o);
	}
	if (only && !n) {
		rc = cli_fail(cli, "the policy has no upstream '%s'", only);
		goto out;
	}
	if (upstream_pin_alerts(s, &alerts, &err)) {
		rc = cli_fail_err(cli, &err);
		goto out;
	}
	if (cli->json) {
		json_t *doc = json_pack("{s:O,s:O}", "upstreams", all, "alerts", alerts);

		rc = doc ? cli_print_json(cli, doc) : cli_fail(cli, "out of memory");
		json_decref(doc);
		goto out;
	}
	if (cli_escape(cli, all) || cli_escape(cli, alerts)) {
		rc = CLI_FAIL;
		goto out;
	}
	json_array_foreach(all, i, o)
	{
		print_one(o);
	}
	json_array_foreach(alerts, i, o)
	{
		printf("alert %lld: upstream '%s' changed tool '%s' (first seen %s); hidden until "
		       "trusted again\n",
		       (long long)json_integer_value(json_object_get(o, "id")),
		       json_string_value(json_object_get(o, "upstream")),
		       json_string_value(json_object_get(o, "tool")),
		       json_string_value(json_object_get(o, "first_seen")));
	}
	if (!p->nupstreams)
		printf("the policy names no upstreams\n");
out:
	json_decref(alerts);
	json_decref(all);
	return rc;
}

static int trust_cmd(struct cli *cli, const char *name)
{
	struct policy *p = cli_policy(cli, 1);
	const struct policy_upstream *u;
	struct upstream *up;
	struct store *s;
	struct err err = {0};
	json_t *tools = NULL, *defs = json_array(), *o = NULL, *d;
	size_t i;
	int rc;

	if (!p || !defs) {
		json_decref(defs);
		return CLI_FAIL;
	}
	if (!(u = policy_upstream(p, name))) {
		json_decref(defs);
		return cli_fail(cli, "the policy has no upstream '%s'", name);
	}
	if ((rc = cli_person(cli, CLI_NEED_ADMIN)) != CLI_OK) {
		json_decref(defs);
		return rc;
	}
	if (!(s = cli_store(cli)) || !(up = upstream_shared(u, &err)) ||
	    upstream_tools(up, &tools, &err)) {
		rc = s ? cli_fail_err(cli, &err) : CLI_FAIL;
		goto out;
	}
	/* what is shown is what is pinned: the listed tools, as offered now */
	if (!(o = describe(cli, s, u))) {
		rc = CLI_FAIL;
		goto out;
	}
	json_array_foreach(
	    tools, i, d) if (policy_upstream_tool(u, json_string_value(json_object_get(d, "name"))))
	    json_array_append(defs, d);
	if (upstream_pin_trust(s, u->name, defs, cli_principal(cli), "cli", &err)) {
		rc = cli_fail_err(cli, &err);
		goto out;
	}
	json_object_set_new(o, "trusted", json_integer((json_int_t)json_array_size(defs)));
	if (cli->json) {
		rc = cli_print_json(cli, o);
		goto out;
	}
	if (cli_escape(cli, o)) {
		rc = CLI_FAIL;
		goto out;
	}
	print_one(o);
	printf("trusted %zu tool definition%s of upstream '%s' as shown above\n",
	       json_array_size(defs), json_array_size(defs) == 1 ? "" : "s", u->name);
	rc = CLI_OK;
out:
	json_decref(o);
	json_decref(tools);
	json_decref(defs);
	return rc;
}

int cmd_upstream(struct cli *cli, int argc, char **argv)
{
	int c, done = CLI_OK, rc;

	while ((c = cli_getopt(cli, argc, argv, NULL, &done)) != -1)
		if (c == -2)
			return done;
	if (optind >= argc)
		return cli_usage(cli, "missing subcommand: list or trust");
	if (!strcmp(argv[optind], "list")) {
		if (argc - optind > 2)
			return cli_usage(cli, "unexpected argument '%s'", argv[optind + 2]);
		rc = list_cmd(cli, argc - optind == 2 ? argv[optind + 1] : NULL);
	} else if (!strcmp(argv[optind], "trust")) {
		if (argc - optind != 2)
			return cli_usage(cli, "trust needs one upstream name");
		rc = trust_cmd(cli, argv[optind + 1]);
	} else {
		return cli_usage(cli, "unknown subcommand '%s' (list or trust)", argv[optind]);
	}
	upstream_shared_close();
	return rc;
}
