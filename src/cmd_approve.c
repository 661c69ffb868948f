/* cmd_approve.c — `airlock approve BATCH [--override --reason TEXT]`: a
 * person lets a batch through; past an unfinished, failed or undrawn
 * sample only as an explicit override with a reason. */
#include <string.h>

#include "cli.h"
#include "cli_identity.h"
#include "review.h"
#include "staging.h"

int cmd_approve(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"override", no_argument, NULL, 'O'},
					      {"reason", required_argument, NULL, 'r'},
					      {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	const char *reason = NULL;
	int64_t id;
	int c, done = 0, override = 0, rc;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'O')
			override = 1;
		else if (c == 'r')
			reason = optarg;
	}
	if (override && (!reason || !*reason))
		return cli_usage(cli, "--override needs --reason TEXT: what you relied on instead"
				      " of the sample");
	if (reason && !override)
		return cli_usage(cli, "--reason goes with --override (a plain approve needs none)");
	if (reason && strlen(reason) > STAGING_OVERRIDE_REASON_MAX)
		return cli_usage(cli, "--reason is longer than %d bytes",
				 STAGING_OVERRIDE_REASON_MAX);
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

	rc = override ? review_approve_override(&r, id, cli_principal(cli), reason, &err)
		      : review_approve(&r, id, cli_principal(cli), &err);
	if (rc)
		return cli_fail_err(cli, &err);
	if (override)
		printf("batch %lld approved by %s as an OVERRIDE of its sample audit (recorded and"
		       " logged; no audit evidence); next: airlock apply %lld\n",
		       (long long)id, cli_principal(cli), (long long)id);
	else
		printf("batch %lld approved by %s; next: airlock apply %lld\n", (long long)id,
		       cli_principal(cli), (long long)id);
	return CLI_OK;
}
