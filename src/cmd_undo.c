/* cmd_undo.c — `airlock undo BATCH`: before-images restored, one
 * transaction. */
#include "cli.h"
#include "review.h"
#include "staging.h"

int cmd_undo(struct cli *cli, int argc, char **argv)
{
	json_t *report;
	int64_t id;
	int rc = cli_batch_verb(cli, argc, argv, "force", review_undo, &id, &report);

	if (rc == CLI_OK && !cli->json && report) /* none after --help */
		printf("batch %lld undone: %lld record(s) restored\n", (long long)id,
		       (long long)json_integer_value(json_object_get(report, "undone")));
	json_decref(report);
	return rc;
}
