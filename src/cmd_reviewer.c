/* cmd_reviewer.c — `airlock reviewer add|list|remove`: the people who may
 * sign in to the console (airlock serve). */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "cli_identity.h"
#include "fmt.h"
#include "policy.h"
#include "reviewer.h"

#define DEFAULT_CONSOLE "http://127.0.0.1:8750"

static int log_verb(struct cli *cli, struct store *s, const char *verb, json_t *args,
		    const char *summary, struct err *err)
{
	struct audit_entry e = {0};
	json_t *none = json_array();
	int rc;

	e.principal = cli_principal(cli);
	e.surface = "cli";
	e.tool = verb;
	e.args = args;
	e.summary = summary;
	e.record_ids = none;
	rc = audit_append(s, &e, NULL, err);
	json_decref(none);
	return rc;
}

/* The password from standard input: the first line, without its end. */
static int read_password(char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, stdin))
		return -1;
	n = strlen(buf);
	if (n && buf[n - 1] != '\n' && !feof(stdin))
		return -2; /* longer than the buffer */
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* Where the link points: the policy's notify.console_url, or the default
 * address of airlock serve. */
static const char *console_url(struct cli *cli)
{
	struct policy *p = cli_policy(cli, 0);

	return p && p->notify.console_url ? p->notify.console_url : DEFAULT_CONSOLE;
}

static int reviewer_add_verb(struct cli *cli, struct store *s, const char *name,
			     enum reviewer_role role, int from_stdin)
{
	char pw[REVIEWER_PASSWORD_MAX + 2], token[REVIEWER_SECRET_HEX], summary[160];
	struct err err = {0};
	const char *base;
	json_t *args;
	size_t blen;
	int rc;

	if (from_stdin) {
		rc = read_password(pw, sizeof pw);
		if (rc)
			return cli_fail(cli,
					rc == -2 ? "the password is longer than %d bytes"
						 : "no password on standard input (%d)",
					REVIEWER_PASSWORD_MAX);
	}
	if (store_begin(s, &err))
		return cli_fail_err(cli, &err);
	rc = reviewer_add(s, name, role, from_stdin ? pw : NULL, cli_principal(cli), &err);
	memset(pw, 0, sizeof pw);
	if (!rc && !from_stdin)
		rc = reviewer_link_create(s, name, token, &err);
	if (!rc) {
		args = json_pack("{s:s,s:s,s:s}", "name", name, "role", reviewer_role_name(role),
				 "credential", from_stdin ? "password" : "link");
		(void)snprintf(summary, sizeof summary, "reviewer %s added (%s)", name,
			       reviewer_role_name(role));
		rc = log_verb(cli, s, "reviewer add", args, summary, &err);
		json_decref(args);
	}
	if (!rc)
		rc = store_commit(s, &err);
	else
		store_rollback(s);
	if (rc)
		return cli_fail_err(cli, &err);
	if (from_stdin) {
		if (cli->json) {
			args =
			    json_pack("{s:s,s:s}", "name", name, "role", reviewer_role_name(role));
			rc = cli_print_json(cli, args);
			json_decref(args);
			return rc;
		}
		printf("reviewer %s (%s) can sign in at the console with that password\n", name,
		       reviewer_role_name(role));
		return CLI_OK;
	}
	base = console_url(cli);
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (cli->json) {
		char link[2200];

		if (fmt_buf(link, sizeof link, NULL, "link", "%.*s/login?link=%s", (int)blen, base,
			    token))
			return cli_fail(
			    cli, "the console URL is too long for a login link: %.100s...", base);
		args = json_pack("{s:s,s:s,s:s,s:s}", "name", name, "role",
				 reviewer_role_name(role), "link", link, "token", token);
		rc = cli_print_json(cli, args);
		json_decref(args);
		return rc;
	}
	fprintf(stderr,
		"reviewer %s (%s): a one-time login link, valid %d hours. It is shown once:\n"
		"airlock keeps only its hash.\n",
		name, reviewer_role_name(role), REVIEWER_LINK_SECONDS / 3600);
	printf("%.*s/login?link=%s\n", (int)blen, base, token);
	return CLI_OK;
}

static int reviewer_list_verb(struct cli *cli, struct store *s)
{
	struct err err = {0};
	json_t *rows, *r;
	size_t i;
	int rc;

	if (reviewer_list(s, &rows, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		rc = cli_print_json(cli, rows);
		json_decref(rows);
		return rc;
	}
	if (cli_escape(cli, rows)) {
		json_decref(rows);
		return CLI_FAIL;
	}
	if (json_array_size(rows) == 0)
		puts("no reviewers (add one with: airlock reviewer add NAME)");
	else
		printf("%-24s  %-8s  %-8s  %-8s  %-20s  %s\n", "NAME", "ROLE", "LOGIN", "SESSIONS",
		       "CREATED", "REMOVED");
	json_array_foreach(rows, i, r)
	{
		const char *dis = json_string_value(json_object_get(r, "disabled_at"));

		printf("%-24s  %-8s  %-8s  %-8lld  %-20s  %s\n",
		       json_string_value(json_object_get(r, "name")),
		       json_string_value(json_object_get(r, "role")),
		       json_is_true(json_object_get(r, "password")) ? "password" : "link",
		       (long long)json_integer_value(json_object_get(r, "sessions")),
		       json_string_value(json_object_get(r, "created_at")), dis ? dis : "-");
	}
	json_decref(rows);
	return CLI_OK;
}

static int reviewer_remove_verb(struct cli *cli, struct store *s, const char *name)
{
	struct err err = {0};
	char summary[120];
	json_t *args;
	int rc;

	if (store_begin(s, &err))
		return cli_fail_err(cli, &err);
	rc = reviewer_remove(s, name, &err);
	if (!rc) {
		args = json_pack("{s:s}", "name", name);
		(void)snprintf(summary, sizeof summary, "reviewer %.64s removed; sessions ended",
			       name);
		rc = log_verb(cli, s, "reviewer remove", args, summary, &err);
		json_decref(args);
	}
	if (!rc)
		rc = store_commit(s, &err);
	else
		store_rollback(s);
	if (rc)
		return cli_fail_err(cli, &err);
	printf("reviewer %s removed: their sessions and links no longer work\n", name);
	return CLI_OK;
}

/* Who may add or remove reviewers: an admin signed in; or, while the book
 * has none, whoever runs the first 'add' (the bootstrap), which must make an
 * admin, or nobody could add the next one. Never an agent. */
static int who_manages(struct cli *cli, struct store *s, int add, enum reviewer_role role)
{
	struct err err = {0};
	int64_t n = 0;
	int rc;

	if (reviewer_count_active(s, &n, &err))
		return cli_fail_err(cli, &err);
	rc = cli_person(cli, CLI_NEED_ADMIN);
	if (rc || n > 0 || !add)
		return rc;
	if (role != REVIEWER_ADMIN)
		return cli_fail(cli, "the first reviewer must be an admin (--role admin): only an"
				     " admin may add the others, and after the first, only a"
				     " signed-in one");
	return CLI_OK;
}

int cmd_reviewer(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"role", required_argument, NULL, 'r'},
					      {"password-stdin", no_argument, NULL, 'p'},
					      {"link", no_argument, NULL, 'l'},
					      {NULL, 0, NULL, 0}};
	enum reviewer_role role = REVIEWER_REVIEWER;
	struct err err = {0};
	const char *sub;
	struct store *s;
	int c, done = 0, from_stdin = 0, link = 0;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			cli_put_usage(cli_find("reviewer")->usage);
			return CLI_OK;
		}
		return cli_usage(cli, "give add, list or remove");
	}
	sub = argv[1];
	argc--;
	argv++;
	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'r' && reviewer_role_parse(optarg, &role, &err))
			return cli_usage(cli, "--role: %s", err.msg);
		if (c == 'p')
			from_stdin = 1;
		if (c == 'l')
			link = 1;
	}
	if (from_stdin && link)
		return cli_usage(cli, "give --password-stdin or --link, not both");
	if (!strcmp(sub, "list")) {
		if (optind != argc)
			return cli_usage(cli, "list takes no argument");
	} else if (!strcmp(sub, "add") || !strcmp(sub, "remove")) {
		if (optind + 1 != argc)
			return cli_usage(cli, "%s takes one NAME", sub);
		if (!reviewer_name_valid(argv[optind]))
			return cli_usage(cli,
					 "NAME '%s': 1 to %d letters, digits, '.', '_', '-' or '@'",
					 argv[optind], REVIEWER_NAME_MAX);
	} else
		return cli_usage(cli, "unknown subcommand '%s' (add, list, remove)", sub);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (!strcmp(sub, "list"))
		return reviewer_list_verb(cli, s);
	c = who_manages(cli, s, !strcmp(sub, "add"), role);
	if (c != CLI_OK)
		return c;
	if (!strcmp(sub, "remove"))
		return reviewer_remove_verb(cli, s, argv[optind]);
	return reviewer_add_verb(cli, s, argv[optind], role, from_stdin);
}
