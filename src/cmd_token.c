/* cmd_token.c — `airlock token create|list|revoke`: the bearer tokens the
 * HTTP MCP connectors (airlock serve) accept. */
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "cli_identity.h"
#include "mcp.h"
#include "token.h"

static int log_verb(struct cli *cli, struct store *s, const char *verb, json_t *args,
		    const char *summary)
{
	struct audit_entry e = {0};
	struct err err = {0};

	e.principal = cli_principal(cli);
	e.surface = "cli";
	e.tool = verb;
	e.args = args;
	e.summary = summary;
	if (audit_append(s, &e, NULL, &err))
		return cli_fail_err(cli, &err);
	return 0;
}

static int token_create_verb(struct cli *cli, struct store *s, const char *connector,
			     const char *agent)
{
	struct token_info info;
	struct err err = {0};
	char tok[TOKEN_MAX], summary[160];
	json_t *args;
	int rc;

	if (store_begin(s, &err))
		return cli_fail_err(cli, &err);
	rc = token_create(s, connector, agent, cli_principal(cli), tok, sizeof tok, &info, &err);
	if (rc) {
		store_rollback(s);
		return cli_fail_err(cli, &err);
	}
	args = json_pack("{s:s,s:s,s:s}", "id", info.id, "connector", connector, "agent", agent);
	(void)snprintf(summary, sizeof summary, "token %s created for agent:%s on the %s connector",
		       info.id, agent, connector);
	rc = log_verb(cli, s, "token create", args, summary);
	json_decref(args);
	if (rc || store_commit(s, &err)) {
		if (!rc)
			store_rollback(s);
		return rc ? rc : cli_fail_err(cli, &err);
	}
	if (cli->json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", info.id, "connector", connector,
				      "agent", agent, "token", tok);

		rc = cli_print_json(cli, o);
		json_decref(o);
		return rc;
	}
	fprintf(stderr,
		"token %s for agent:%s on the %s connector. It is shown once: airlock keeps only\n"
		"its hash. Send it as 'Authorization: Bearer TOKEN' to /mcp/%s.\n",
		info.id, agent, connector, connector);
	puts(tok);
	return CLI_OK;
}

static int token_list_verb(struct cli *cli, struct store *s)
{
	struct err err = {0};
	json_t *rows, *r;
	size_t i;
	int rc;

	if (token_list(s, &rows, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		rc = cli_print_json(cli, rows);
		json_decref(rows);
		return rc;
	}
	if (cli_escape(cli, rows)) {
		json_decref(rows);
		return CLI_FAIL;
	}
	if (json_array_size(rows) == 0)
		puts("no tokens (create one with: airlock token create --connector read --agent NAME)");
	else
		printf("%-16s  %-9s  %-20s  %-20s  %s\n", "ID", "CONNECTOR", "AGENT", "CREATED",
		       "REVOKED");
	json_array_foreach(rows, i, r)
	{
		const char *rev = json_string_value(json_object_get(r, "revoked_at"));

		printf("%-16s  %-9s  %-20s  %-20s  %s\n",
		       json_string_value(json_object_get(r, "id")),
		       json_string_value(json_object_get(r, "connector")),
		       json_string_value(json_object_get(r, "agent")),
		       json_string_value(json_object_get(r, "created_at")), rev ? rev : "-");
	}
	json_decref(rows);
	return CLI_OK;
}

static int token_revoke_verb(struct cli *cli, struct store *s, const char *id)
{
	struct err err = {0};
	char summary[96];
	json_t *args;
	int rc;

	if (store_begin(s, &err))
		return cli_fail_err(cli, &err);
	if (token_revoke(s, id, &err)) {
		store_rollback(s);
		return cli_fail_err(cli, &err);
	}
	args = json_pack("{s:s}", "id", id);
	(void)snprintf(summary, sizeof summary, "token %.40s revoked", id);
	rc = log_verb(cli, s, "token revoke", args, summary);
	json_decref(args);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	if (store_commit(s, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		json_t *o = json_pack("{s:s,s:b}", "id", id, "revoked", 1);

		rc = cli_print_json(cli, o);
		json_decref(o);
		return rc;
	}
	printf("token %s revoked\n", id);
	return CLI_OK;
}

int cmd_token(struct cli *cli, int argc, char **argv)
{
	enum { OPT_CONNECTOR = 0x2101, OPT_AGENT };
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"connector", required_argument, NULL, OPT_CONNECTOR},
					     {"agent", required_argument, NULL, OPT_AGENT},
					     {NULL, 0, NULL, 0}};
	const char *connector = NULL, *agent = NULL, *sub;
	enum mcp_connector kind;
	struct store *s;
	int c, h;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == OPT_CONNECTOR)
			connector = optarg;
		else if (c == OPT_AGENT)
			agent = optarg;
		else if ((h = cli_common_option(cli, c, optarg)) < 0)
			return CLI_OK;
		else if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind >= argc)
		return cli_usage(cli, "say create, list or revoke");
	sub = argv[optind++];
	if (!strcmp(sub, "create")) {
		if (optind < argc)
			return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
		if (!connector || mcp_connector_parse(connector, &kind))
			return cli_usage(cli, "create needs --connector read or write");
		if (!agent || !mcp_agent_valid(agent))
			return cli_usage(cli, "create needs --agent NAME: 1 to 64 letters, digits, "
					      "'.', '_' or '-'");
	} else if (!strcmp(sub, "list")) {
		if (optind < argc)
			return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	} else if (!strcmp(sub, "revoke")) {
		if (optind + 1 != argc)
			return cli_usage(cli, "revoke needs one token id (see airlock token list)");
	} else {
		return cli_usage(cli, "unknown subcommand '%s' (create, list or revoke)", sub);
	}
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	/* a token lets an agent in: minting one is an admin's act, never an agent's */
	if (strcmp(sub, "list") != 0 && (h = cli_person(cli, CLI_NEED_ADMIN)) != CLI_OK)
		return h;
	if (!strcmp(sub, "create"))
		return token_create_verb(cli, s, connector, agent);
	if (!strcmp(sub, "list"))
		return token_list_verb(cli, s);
	return token_revoke_verb(cli, s, argv[optind]);
}
