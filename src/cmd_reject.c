/* cmd_reject.c — `airlock reject BATCH --reason TEXT`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_identity.h"
#include "review.h"
#include "staging.h"
#include "text.h"

int cmd_reject(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"reason", required_argument, NULL, 'r'},
					      {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	const char *reason = NULL;
	int64_t id;
	int c, done = 0, rc;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'r')
			reason = optarg;
	}
	if (!reason || !*reason)
		return cli_usage(cli, "--reason TEXT is required: say why, for the agent and the log");
	rc = cli_batch_arg(cli, argc, argv, &id);
	if (rc)
		return rc;
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	rc = cli_person(cli, CLI_NEED_PERSON);
	if (rc)
		return rc;
	struct review r = {s, cli_policy(cli, 0), "cli"};

	if (review_reject(&r, id, cli_principal(cli), reason, &err))
		return cli_fail_err(cli, &err);
	{
		/* a pasted reason may carry escapes: echoed as text */
		char *shown = text_escape(reason, strlen(reason), 0);

		printf("batch %lld rejected by %s: %s\n", (long long)id, cli_principal(cli),
		       shown ? shown : "(recorded)");
		free(shown);
	}
	return CLI_OK;
}
