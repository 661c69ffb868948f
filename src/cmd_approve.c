/* cmd_approve.c — `airlock approve BATCH`: a person lets a batch through. */
#include "cli.h"
#include "cli_identity.h"
#include "review.h"
#include "staging.h"

int cmd_approve(struct cli *cli, int argc, char **argv)
{
	struct err err = {0};
	struct store *s;
	int64_t id;
	int c, done = 0, rc;

	while ((c = cli_getopt(cli, argc, argv, NULL, &done)) != -1)
		if (c == -2)
			return done;
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

	if (review_approve(&r, id, cli_principal(cli), &err))
		return cli_fail_err(cli, &err);
	printf("batch %lld approved by %s; next: airlock apply %lld\n", (long long)id,
	       cli_principal(cli), (long long)id);
	return CLI_OK;
}
