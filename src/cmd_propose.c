/* cmd_propose.c — `airlock propose`: one write-tool call through the gate,
 * exactly as the write connector makes it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_identity.h"
#include "gate.h"
#include "policy.h"
#include "tools.h"

/* Prints the gate's answer for a person. */
static void print_answer(json_t *r)
{
	json_t *refused = json_object_get(r, "refused_items"), *reasons = json_object_get(r, "reasons"), *v;
	size_t i;

	printf("decision: %s", json_string_value(json_object_get(r, "decision")));
	if (json_object_get(r, "batch_id"))
		printf(" (batch %lld)", (long long)json_integer_value(json_object_get(r, "batch_id")));
	/* a request_send refused by the audience check never reached a
	 * workflow: no line rather than "workflow: (null)" */
	if (json_string_value(json_object_get(r, "workflow")))
		printf("\nworkflow: %s  radius: %lld  cumulative: %lld\n",
		       json_string_value(json_object_get(r, "workflow")),
		       (long long)json_integer_value(json_object_get(r, "radius")),
		       (long long)json_integer_value(json_object_get(r, "cumulative_radius")));
	else
		putchar('\n');
	json_array_foreach(reasons, i, v) printf("  why: %s\n", json_string_value(v));
	if (json_array_size(refused))
		printf("refused items (%zu):\n", json_array_size(refused));
	json_array_foreach(refused, i, v)
	{
		printf("  item %lld  %s%s%s  [%s] %s\n",
		       (long long)json_integer_value(json_object_get(v, "item")),
		       json_string_value(json_object_get(v, "record_id"))
			       ? json_string_value(json_object_get(v, "record_id"))
			       : "",
		       json_string_value(json_object_get(v, "field")) ? "." : "",
		       json_string_value(json_object_get(v, "field"))
			       ? json_string_value(json_object_get(v, "field"))
			       : "",
		       json_string_value(json_object_get(v, "rule"))
			       ? json_string_value(json_object_get(v, "rule"))
			       : "-",
		       json_string_value(json_object_get(v, "reason"))
			       ? json_string_value(json_object_get(v, "reason"))
			       : "");
	}
	if (json_string_value(json_object_get(r, "did_you_mean")))
		printf("did you mean: %s\n", json_string_value(json_object_get(r, "did_you_mean")));
	json_array_foreach(json_object_get(r, "workflows"), i, v)
	{
		json_t *f;
		size_t k;

		printf("  workflow %s may write:", json_string_value(json_object_get(v, "name")));
		json_array_foreach(json_object_get(v, "fields"), k, f)
			printf("%s %s", k ? "," : "", json_string_value(f));
		printf("\n");
	}
	if (json_string_value(json_object_get(r, "instruction_claim")))
		printf("instruction version claimed by the agent (recorded as a claim, not the"
		       " version): %s\n",
		       json_string_value(json_object_get(r, "instruction_claim")));
	if (json_string_value(json_object_get(r, "next")))
		printf("next: %s\n", json_string_value(json_object_get(r, "next")));
}

int cmd_propose(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {
		{"tool", required_argument, NULL, 't'},
		{"instruction-version", required_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	struct gate_call call = {0};
	struct gate g = {0};
	struct err err = {0};
	json_error_t jerr;
	json_t *args = NULL, *result = NULL;
	const char *file;
	int c, done = 0, rc = CLI_FAIL;

	const struct tools_row *row = tools_default_write();
	char names[1024];

	call.tool = row ? row->name : "";
	call.surface = "cli";
	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 't')
			call.tool = optarg;
		else if (c == 'i')
			call.instruction_version = optarg;
	}
	/* the write connector's tools, as the registry has them */
	row = tools_find(call.tool);
	if (!row || row->connector != TOOLS_WRITE || tools_hidden(row)) {
		tools_names(TOOLS_WRITE, " or ", names, sizeof names);
		return cli_usage(cli, "--tool must be a write tool: %s", names);
	}
	if (optind + 1 != argc)
		return cli_usage(cli, "give one proposal file (or - for standard input)");
	file = argv[optind];
	/* cli_principal reads --as the way every verb does: Agent:x is agent:x */
	call.principal = cli_principal(cli);
	if (!cli->as || !cli_identity_is_agent(call.principal))
		return cli_usage(cli, "--as agent:NAME is required: proposals come from an agent");
	args = strcmp(file, "-") ? json_load_file(file, JSON_REJECT_DUPLICATES, &jerr)
				 : json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	if (!args)
		return cli_fail(cli, "%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(args)) {
		rc = cli_fail(cli, "%s: the proposal must be a JSON object of tool arguments", file);
		goto out;
	}
	g.store = cli_store(cli);
	if (!g.store)
		goto out;
	g.policy = cli_policy(cli, 0);
	if (!g.policy) /* fail closed: the call is logged and refused, nothing queued */
		fprintf(stderr, "airlock: propose: warning: %s: every proposal is refused\n",
			cli->policy_err);
	if (gate_call_tool(&g, &call, args, &result, &err)) {
		rc = cli_fail_err(cli, &err);
		goto out;
	}
	if (cli->json)
		rc = cli_print_json(cli, result);
	else if ((rc = cli_escape(cli, result)) == CLI_OK)
		print_answer(result);
out:
	json_decref(args);
	json_decref(result);
	return rc;
}
