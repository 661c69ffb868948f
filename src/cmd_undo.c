/* cmd_undo.c — `airlock undo BATCH`: before-images restored, one
 * transaction. */
#include "cli.h"
#include "review.h"
#include "staging.h"

int cmd_undo(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"force", no_argument, NULL, 'f'},
					      {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	json_t *report = NULL;
	int64_t id;
	int c, done = 0, rc, force = 0;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'f')
			force = 1;
	}
	rc = cli_batch_arg(cli, argc, argv, &id);
	if (rc)
		return rc;
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	struct review r = {s, cli_policy(cli, 0), "cli"};

	rc = review_undo(&r, id, cli_principal(cli), force, &report, &err);
	if (cli->json && report)
		cli_print_json(cli, report);
	if (rc) {
		if (!cli->json)
			cli_print_conflicts(report);
		json_decref(report);
		return cli_fail_err(cli, &err);
	}
	if (!cli->json)
		printf("batch %lld undone: %lld record(s) restored\n", (long long)id,
		       (long long)json_integer_value(json_object_get(report, "undone")));
	json_decref(report);
	return CLI_OK;
}
