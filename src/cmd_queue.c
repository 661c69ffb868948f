/* cmd_queue.c — `airlock queue`: what waits for a person, oldest first. */
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "staging.h"

/* "3d", "5h", "12m", "40s": how long ago a timestamp was. */
static void age(const char *at, char *buf, size_t len)
{
	time_t t, now = clock_now();
	long d;

	if (!at || clock_parse(at, &t)) {
		(void)snprintf(buf, len, "?");
		return;
	}
	d = (long)(now - t);
	if (d >= 86400)
		(void)snprintf(buf, len, "%ldd", d / 86400);
	else if (d >= 3600)
		(void)snprintf(buf, len, "%ldh", d / 3600);
	else if (d >= 60)
		(void)snprintf(buf, len, "%ldm", d / 60);
	else
		(void)snprintf(buf, len, "%lds", d < 0 ? 0 : d);
}

static const char *waits_for(const char *state)
{
	if (!strcmp(state, "staged"))
		return "a sample audit";
	if (!strcmp(state, "sampled"))
		return "verdicts on the sample";
	if (!strcmp(state, "blocked"))
		return "approve or reject";
	if (!strcmp(state, "approved"))
		return "apply";
	return "";
}

int cmd_queue(struct cli *cli, int argc, char **argv)
{
	struct err err = {0};
	struct store *s;
	json_t *q = NULL, *b;
	size_t i;
	int c, done = 0, rc;
	char a[24]; /* "%ldd" of any long fits */

	while ((c = cli_getopt(cli, argc, argv, NULL, &done)) != -1)
		if (c == -2)
			return done;
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (staging_expire(s, NULL, &err) || staging_queue(s, &q, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		rc = cli_print_json(cli, q);
		json_decref(q);
		return rc;
	}
	if (cli_escape(cli, q)) {
		json_decref(q);
		return CLI_FAIL;
	}
	if (json_array_size(q) == 0)
		printf("nothing waits for a person\n");
	else
		printf("%-6s %-9s %-14s %-18s %7s %6s %5s  %s\n", "BATCH", "STATE", "WORKFLOW", "AGENT",
		       "RADIUS", "ITEMS", "AGE", "WAITS FOR");
	json_array_foreach(q, i, b)
	{
		const char *state = json_string_value(json_object_get(b, "state"));

		age(json_string_value(json_object_get(b, "created_at")), a, sizeof a);
		printf("%-6lld %-9s %-14s %-18s %7lld %6lld %5s  %s\n",
		       (long long)json_integer_value(json_object_get(b, "id")), state,
		       json_string_value(json_object_get(b, "workflow")),
		       json_string_value(json_object_get(b, "principal")),
		       (long long)json_integer_value(json_object_get(b, "radius")),
		       (long long)json_integer_value(json_object_get(b, "items")), a, waits_for(state));
	}
	json_decref(q);
	json_decref(cli_autonomy(cli, 1));
	return CLI_OK;
}
