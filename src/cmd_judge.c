/* cmd_judge.c — `airlock judge BATCH ITEM pass|fail`: a verdict on one
 * item. One fail sends the whole batch back to a person. */
#include <string.h>

#include "cli.h"
#include "cli_identity.h"
#include "review.h"
#include "staging.h"

int cmd_judge(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"note", required_argument, NULL, 'n'},
					      {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	const char *note = NULL, *state;
	json_t *res = NULL;
	int64_t id;
	long item;
	int c, done = 0, rc, pass;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'n')
			note = optarg;
	}
	if (argc - optind != 3)
		return cli_usage(cli, "give BATCH ITEM pass|fail");
	if (staging_parse_id(argv[optind], &id, &err))
		return cli_usage(cli, "%s", err.msg);
	if (cli_parse_long(cli, "ITEM", argv[optind + 1], 1, 100000000, &item))
		return CLI_USAGE;
	if (!strcmp(argv[optind + 2], "pass"))
		pass = 1;
	else if (!strcmp(argv[optind + 2], "fail"))
		pass = 0;
	else
		return cli_usage(cli, "the verdict is pass or fail, not '%s'", argv[optind + 2]);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	rc = cli_person(cli, CLI_NEED_PERSON);
	if (rc)
		return rc;
	struct review r = {s, cli_policy(cli, 0), "cli"};

	if (review_judge(&r, id, item, cli_principal(cli), pass, note, &res, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		rc = cli_print_json(cli, res);
		json_decref(res);
		return rc;
	}
	state = json_string_value(json_object_get(res, "state"));
	printf("batch %lld item %ld: %s\n", (long long)id, item, pass ? "pass" : "fail");
	if (!strcmp(state, "blocked"))
		printf("a sampled item failed: the whole batch goes back to a person (approve or "
		       "reject)\n");
	else if (!strcmp(state, "approved"))
		printf("every sampled item passed: %s\nnext: airlock apply %lld\n",
		       json_string_value(json_object_get(res, "statement")), (long long)id);
	else
		printf("%lld sampled item(s) still to judge\n",
		       (long long)json_integer_value(json_object_get(res, "unjudged")));
	json_decref(res);
	return CLI_OK;
}
