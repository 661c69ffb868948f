/* cmd_briefs.c — `airlock briefs`: research briefs agents saved. */
#include <string.h>

#include "cli.h"
#include "outreach.h"

static const char *s_(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

/* The first line of s, at most max bytes, cut on a UTF-8 boundary. */
static void put_first_line(const char *s, size_t max)
{
	size_t n = strcspn(s, "\r\n");
	int cut = n < strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		cut = 1;
	}
	fwrite(s, 1, n, stdout);
	if (cut)
		fputs("…", stdout);
}

static void print_evidence(json_t *b)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(b, "evidence"), i, e)
	{
		printf("%s%s", i ? ", " : "", json_string_value(e));
	}
}

int cmd_briefs(struct cli *cli, int argc, char **argv)
{
	enum { OPT_ACCOUNT = 1, OPT_LIMIT };
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"account", required_argument, NULL, OPT_ACCOUNT},
					     {"limit", required_argument, NULL, OPT_LIMIT},
					     {NULL, 0, NULL, 0}};
	struct outreach_filter f = {0};
	struct err err = {0};
	struct store *s;
	json_t *out = NULL, *b;
	size_t i;
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
	if (argc - optind > 1)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	rc = argc - optind == 1 ? outreach_brief_get(s, argv[optind], &out, &err)
				: outreach_briefs_list(s, &f, &out, &err);
	if (rc)
		return cli_fail_err(cli, &err);
	if (cli->json) {
		rc = cli_print_json(cli, out);
	} else if ((rc = cli_escape(cli, out))) {
		;
	} else if (argc - optind == 1) {
		printf("brief %s\naccount:   %s\nby:        %s%s%s%s, %s\nevidence:  ",
		       s_(out, "id"), s_(out, "account_id"), s_(out, "principal"),
		       *s_(out, "instruction_version") ? " (instructions " : "",
		       s_(out, "instruction_version"), *s_(out, "instruction_version") ? ")" : "",
		       s_(out, "created_at"));
		print_evidence(out);
		printf("\n\n%s\n", s_(out, "text"));
	} else if (json_array_size(out) == 0) {
		puts("no briefs");
	} else {
		printf("%-16s %-12s %-20s %s\n", "ID", "ACCOUNT", "CREATED", "TEXT");
		json_array_foreach(out, i, b)
		{
			printf("%-16s %-12s %-20s ", s_(b, "id"), s_(b, "account_id"),
			       s_(b, "created_at"));
			put_first_line(s_(b, "text"), 70);
			putchar('\n');
		}
	}
	json_decref(out);
	return rc;
}
