/* cmd_sample.c — `airlock sample BATCH`: draw the sample audit of a staged
 * batch, with the confidence the audit will support. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_identity.h"
#include "cmd_show.h"
#include "review.h"
#include "staging.h"
#include "upwrite.h"

int cmd_sample(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"check", no_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	json_t *res = NULL, *b = NULL, *v;
	int64_t id;
	size_t i;
	int c, done = 0, rc, check = 0;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'c')
			check = 1;
	}
	rc = cli_batch_arg(cli, argc, argv, &id);
	if (rc)
		return rc;
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (!check) {
		rc = cli_person(cli, CLI_NEED_PERSON);
		if (rc)
			return rc;
	}
	struct review r = {s, cli_policy(cli, 0), "cli"};

	if (check) {
		if (review_sample_check(&r, id, &err))
			return cli_fail_err(cli, &err);
		printf("batch %lld: the recorded draw follows from its seed\n", (long long)id);
		return CLI_OK;
	}
	if (review_sample(&r, id, cli_principal(cli), &res, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		rc = cli_print_json(cli, res);
		json_decref(res);
		return rc;
	}
	printf("batch %lld: read %lld of %lld items (%s inspection)\n", (long long)id,
	       (long long)json_integer_value(json_object_get(res, "n")),
	       (long long)json_integer_value(json_object_get(res, "N")),
	       json_string_value(json_object_get(res, "level")));
	printf("if all pass: %s\n", json_string_value(json_object_get(res, "statement")));
	printf("seed %s (the draw can be re-derived: airlock sample %lld --check)\n",
	       json_string_value(json_object_get(res, "seed")), (long long)id);
	/* each drawn item whole, as show prints it: judged here, not elsewhere */
	if (staging_get(s, id, &b, &err) == 0 && upwrite_describe(s, b, &err) == 0 &&
	    cli_escape(cli, b) == CLI_OK) {
		json_t *items = json_object_get(b, "item_list");
		const struct paint *p = show_paint();

		printf("\n");
		show_summary(cli, s, b, p);
		printf("\ndrawn items (%zu):\n", json_array_size(json_object_get(res, "items")));
		json_array_foreach(json_object_get(res, "items"), i, v)
		{
			json_t *it = json_array_get(items, (size_t)json_integer_value(v) - 1);

			if (it)
				show_item(s, b, it, p);
		}
	}
	json_decref(b);
	printf("\njudge each: airlock judge %lld ITEM... pass|fail [--note TEXT] (list the items "
	       "you read; there is no \"all\")\n",
	       (long long)id);
	json_decref(res);
	return CLI_OK;
}
