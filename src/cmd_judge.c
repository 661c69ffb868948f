/* cmd_judge.c — `airlock judge BATCH ITEM... pass|fail`: a verdict on each
 * listed item, each recorded and logged on its own as if judged one by one.
 * Items are listed explicitly (no "all"): a verdict is on items read. One
 * fail sends the whole batch back to a person. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_identity.h"
#include "review.h"
#include "staging.h"

#define JUDGE_ITEMS_MAX 10000

int cmd_judge(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"note", required_argument, NULL, 'n'},
					      {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	const char *note = NULL, *state = "sampled", *verdict;
	json_t *res = NULL, *revealed = NULL;
	int64_t id;
	long *items = NULL;
	int c, done = 0, rc, pass, n, i, j, judged = 0;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'n')
			note = optarg;
	}
	n = argc - optind - 2;
	if (n < 1)
		return cli_usage(cli, "give BATCH ITEM... pass|fail (each item you read, by number)");
	if (n > JUDGE_ITEMS_MAX)
		return cli_usage(cli, "at most %d items per judge", JUDGE_ITEMS_MAX);
	if (staging_parse_id(argv[optind], &id, &err))
		return cli_usage(cli, "%s", err.msg);
	verdict = argv[argc - 1];
	if (!strcmp(verdict, "pass"))
		pass = 1;
	else if (!strcmp(verdict, "fail"))
		pass = 0;
	else
		return cli_usage(cli, "the verdict is pass or fail, not '%s' (it comes last)", verdict);
	items = calloc((size_t)n, sizeof *items);
	if (!items)
		return cli_fail(cli, "out of memory");
	for (i = 0; i < n; i++) {
		if (cli_parse_long(cli, "ITEM", argv[optind + 1 + i], 1, 100000000, &items[i])) {
			rc = CLI_USAGE;
			goto out;
		}
		for (j = 0; j < i; j++)
			if (items[j] == items[i]) {
				rc = cli_usage(cli, "item %ld is listed twice", items[i]);
				goto out;
			}
	}
	s = cli_store(cli);
	if (!s) {
		rc = CLI_FAIL;
		goto out;
	}
	rc = cli_person(cli, CLI_NEED_PERSON);
	if (rc)
		goto out;
	struct review r = {s, cli_policy(cli, 0), "cli"};

	/* One review_judge per item: each verdict is its own act in the log. */
	for (i = 0; i < n && !strcmp(state, "sampled"); i++) {
		json_decref(res);
		res = NULL;
		if (review_judge(&r, id, items[i], cli_principal(cli), pass, note, &res, &err)) {
			if (judged && !cli->json)
				printf("%d verdict(s) recorded before item %ld\n", judged, items[i]);
			rc = cli_fail_err(cli, &err);
			goto out;
		}
		judged++;
		state = json_string_value(json_object_get(res, "state"));
		if (!cli->json)
			printf("batch %lld item %ld: %s\n", (long long)id, items[i], verdict);
		/* revealed once judged: said when it happens, kept for --json */
		if (json_object_get(res, "seeded_check")) {
			json_decref(revealed);
			revealed = json_incref(json_object_get(res, "seeded_check"));
			if (!cli->json && !cli_escape(cli, revealed))
				printf("item %ld: %s\n", items[i],
				       json_string_value(json_object_get(revealed, "note")));
		}
	}
	if (revealed && !json_object_get(res, "seeded_check"))
		json_object_set(res, "seeded_check", revealed);
	if (cli->json) {
		json_object_set_new(res, "judged", json_integer(judged));
		rc = cli_print_json(cli, res);
		goto out;
	}
	if (i < n)
		printf("%d listed item(s) not judged: the batch is %s now\n", n - i, state);
	if (!strcmp(state, "blocked") && json_integer_value(json_object_get(res, "failed")) == 0 &&
	    json_is_true(json_object_get(res, "check_missed")))
		printf("a seeded check was passed: a second reviewer decides the batch (approve or "
		       "reject)\n");
	else if (!strcmp(state, "blocked"))
		printf("a sampled item failed: the whole batch goes back to a person (approve or "
		       "reject)\n");
	else if (!strcmp(state, "approved"))
		printf("every sampled item passed: %s\nnext: airlock apply %lld\n",
		       json_string_value(json_object_get(res, "statement")), (long long)id);
	else
		printf("%lld sampled item(s) still to judge\n",
		       (long long)json_integer_value(json_object_get(res, "unjudged")));
	/* the sample's verdicts did not become the workflow's evidence */
	if (json_is_string(json_object_get(res, "evidence")))
		printf("evidence: %s\n", json_string_value(json_object_get(res, "evidence")));
	rc = CLI_OK;
out:
	json_decref(res);
	json_decref(revealed);
	free(items);
	return rc;
}
