/* cmd_apply.c — `airlock apply BATCH`: every item or none, in one
 * transaction. */
#include "cli.h"
#include "review.h"
#include "staging.h"

/* What the relay did with a send batch's messages. */
static void print_delivery(json_t *d)
{
	static const char *const keys[] = {"sent", "retry", "failed", "blocked", "unknown"};
	size_t i;

	if (!d)
		return;
	if (json_is_string(json_object_get(d, "note")))
		printf("%s\n", json_string_value(json_object_get(d, "note")));
	if (json_is_string(json_object_get(d, "error")))
		printf("delivery failed: %s (the messages stay in the outbox)\n",
		       json_string_value(json_object_get(d, "error")));
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (json_array_size(json_object_get(d, keys[i])))
			printf("messages %s: %zu\n", keys[i], json_array_size(json_object_get(d, keys[i])));
}

int cmd_apply(struct cli *cli, int argc, char **argv)
{
	json_t *report;
	int64_t id;
	int rc = cli_batch_verb(cli, argc, argv, "skip-conflicts", review_apply, &id, &report);

	/* no report: --help was printed, nothing ran */
	if (rc != CLI_OK || cli->json || !report) {
		json_decref(report);
		return rc;
	}
	printf("batch %lld applied: %lld item(s)\n", (long long)id,
	       (long long)json_integer_value(json_object_get(report, "applied")));
	if (json_array_size(json_object_get(report, "conflicts")))
		printf("skipped, changed since staged:\n");
	cli_print_conflicts(report);
	print_delivery(json_object_get(report, "delivery"));
	if (!json_object_get(report, "delivery"))
		printf("undo with: airlock undo %lld\n", (long long)id);
	json_decref(report);
	return CLI_OK;
}
