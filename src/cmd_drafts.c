/* cmd_drafts.c — `airlock drafts`: the reps' view of what agents drafted. */
#include <string.h>

#include "cli.h"
#include "cli_identity.h"
#include "outreach.h"

static const char *s_(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

/* Prints at most max bytes of s, cut on a UTF-8 boundary, with "…" when cut;
 * line ends become spaces so one record stays on one line. */
static void put_cut(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		putchar(s[i] == '\n' || s[i] == '\r' || s[i] == '\t' ? ' ' : s[i]);
	if (n < strlen(s))
		fputs("…", stdout);
}

static void print_list(json_t *drafts)
{
	json_t *d, *rec;
	size_t i;

	if (json_array_size(drafts) == 0) {
		puts("no drafts");
		return;
	}
	printf("%-16s %-14s %-12s %-28s %s\n", "ID", "STATUS", "ACCOUNT", "TO", "SUBJECT");
	json_array_foreach(drafts, i, d)
	{
		char to[64];

		rec = json_object_get(d, "recipients");
		if (json_array_size(rec) > 1)
			(void)snprintf(to, sizeof to, "%s (+%zu)",
				       s_(json_array_get(rec, 0), "address"),
				       json_array_size(rec) - 1);
		else
			(void)snprintf(to, sizeof to, "%s", s_(json_array_get(rec, 0), "address"));
		printf("%-16s %-14s %-12s %-28s ", s_(d, "id"), s_(d, "status"),
		       s_(d, "account_id"), to);
		put_cut(s_(d, "subject"), 60);
		putchar('\n');
	}
}

static void print_one(json_t *d)
{
	json_t *r, *o, *f;
	size_t i;

	printf("draft %s (%s)\n", s_(d, "id"), s_(d, "status"));
	printf("account:   %s\n", s_(d, "account_id"));
	json_array_foreach(json_object_get(d, "recipients"), i, r)
	{
		printf("%s %s%s%s <%s> (contact %s)\n",
		       i ? "          " : "to:       ", *s_(r, "name") ? "\"" : "", s_(r, "name"),
		       *s_(r, "name") ? "\"" : "", s_(r, "address"), s_(r, "contact_id"));
	}
	printf("audience:  %s\n", s_(d, "audience"));
	if (*s_(d, "workflow"))
		printf("workflow:  %s\n", s_(d, "workflow"));
	printf("by:        %s%s%s%s, %s\n", s_(d, "principal"),
	       *s_(d, "instruction_version") ? " (instructions " : "", s_(d, "instruction_version"),
	       *s_(d, "instruction_version") ? ")" : "", s_(d, "created_at"));
	printf("subject:   %s\n\n%s\n", s_(d, "subject"), s_(d, "body"));
	json_array_foreach(json_object_get(d, "findings"), i, f)
	{
		if (i == 0)
			puts("\nguard findings:");
		printf("  %s: %s\n", s_(f, "rule"), s_(f, "message"));
	}
	json_array_foreach(json_object_get(d, "outbox"), i, o)
	{
		if (i == 0)
			puts("\noutbox:");
		printf("  %-6lld %-9s %s %s%s%s\n",
		       (long long)json_integer_value(json_object_get(o, "id")), s_(o, "state"),
		       s_(o, "address"), s_(o, "message_id"), *s_(o, "last_error") ? " — " : "",
		       s_(o, "last_error"));
	}
}

int cmd_drafts(struct cli *cli, int argc, char **argv)
{
	enum { OPT_ACCOUNT = 1, OPT_STATUS, OPT_LIMIT };
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"account", required_argument, NULL, OPT_ACCOUNT},
					     {"status", required_argument, NULL, OPT_STATUS},
					     {"limit", required_argument, NULL, OPT_LIMIT},
					     {NULL, 0, NULL, 0}};
	struct outreach_filter f = {0};
	struct err err = {0};
	struct store *s;
	json_t *out = NULL;
	long limit;
	int c, h, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h > 0)
			continue;
		switch (c) {
		case OPT_ACCOUNT:
			f.account_id = optarg;
			break;
		case OPT_STATUS:
			f.status = optarg;
			break;
		case OPT_LIMIT:
			rc = cli_parse_long(cli, "--limit", optarg, 1, 100000, &limit);
			if (rc)
				return rc;
			f.limit = (int)limit;
			break;
		default:
			return cli_usage(cli, "unknown option");
		}
	}
	if (argc - optind > 2)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 2]);
	if (argc - optind == 2 && strcmp(argv[optind], "discard") != 0)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
	if (argc - optind == 1 && !strcmp(argv[optind], "discard"))
		return cli_usage(cli, "discard: which draft? (airlock drafts discard ID)");
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (argc - optind == 2) {
		rc = cli_person(cli, CLI_NEED_PERSON);
		if (rc)
			return rc;
		if (outreach_draft_discard(s, cli_principal(cli), argv[optind + 1], &err))
			return cli_fail_err(cli, &err);
		printf("discarded draft %s\n", argv[optind + 1]);
		return CLI_OK;
	}
	if (argc - optind == 1)
		rc = outreach_draft_get(s, argv[optind], &out, &err);
	else
		rc = outreach_drafts_list(s, &f, &out, &err);
	if (rc)
		return cli_fail_err(cli, &err);
	if (cli->json)
		rc = cli_print_json(cli, out);
	else if ((rc = cli_escape(cli, out)))
		;
	else if (argc - optind == 1)
		print_one(out);
	else
		print_list(out);
	json_decref(out);
	return rc;
}
