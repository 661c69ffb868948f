/* cli.c — verb table, common options, output and error helpers. */
#include "cli.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "staging.h"

/* The verb table (git's commands[]). Verbs not built yet are not listed. */
const struct cli_command cli_commands[] = {
	{"help", cmd_help, "show the verbs, or the help of one verb",
	 "usage: airlock help [VERB]\n"},
	{"init", cmd_init, "create the database (and later the policy file)",
	 "usage: airlock init [--db PATH]\n"
	 "\n"
	 "Creates the database at PATH (default ./airlock.db or $AIRLOCK_DB) and\n"
	 "applies every schema migration. Safe to run again.\n"},
	{"demo", cmd_demo, "generate a realistic demo book and show it",
	 "usage: airlock demo [--accounts N] [--seed S] [--db PATH] [--json]\n"
	 "\n"
	 "Fills an empty database with a deterministic book: N accounts (default\n"
	 "4000) with contacts and signals, generated from seed S (default 1).\n"
	 "The same N and S always give the same book. Refuses a database that\n"
	 "already holds accounts.\n"},
	{"import", cmd_import, "import accounts, contacts or signals from CSV",
	 "usage: airlock import accounts|contacts|signals FILE.csv [--map MAP] [--db PATH]\n"
	 "\n"
	 "Reads an RFC 4180 CSV file (header row, quoted fields, embedded newlines,\n"
	 "UTF-8 with or without BOM) and adds or updates the records in one\n"
	 "transaction: a bad row stops the import with FILE:LINE: what is wrong,\n"
	 "and the book is left unchanged.\n"
	 "\n"
	 "  --map MAP   rename the file's columns onto airlock's fields:\n"
	 "              'Account ID=id,Account Name=name,Website=domain', or a\n"
	 "              preset: salesforce, hubspot\n"
	 "  --quiet     no progress bar\n"},
	{"export", cmd_export, "export accounts, contacts or signals as CSV",
	 "usage: airlock export accounts|contacts|signals [-o FILE] [--db PATH]\n"
	 "\n"
	 "Writes the records as RFC 4180 CSV to FILE or standard output.\n"},
	{"propose", cmd_propose, "submit a proposal as an agent would (until connectors)",
	 "usage: airlock propose FILE.json --as agent:NAME [--tool TOOL] [--instruction-version V]\n"
	 "\n"
	 "Runs one write-tool call through the gate exactly as the write connector\n"
	 "does. FILE.json (or - for stdin) holds the tool's arguments; TOOL is\n"
	 "propose_changes (default) or propose_merge. Prints the gate's answer:\n"
	 "staged, blocked or refused, with the refused items and why.\n"
	 "\n"
	 "  --policy FILE   the policy (default ./airlock.yaml or $AIRLOCK_POLICY);\n"
	 "                  a policy that does not load blocks everything\n"},
	{"queue", cmd_queue, "list the batches waiting for a person, oldest first",
	 "usage: airlock queue [--json]\n"
	 "\n"
	 "Batches that are staged (awaiting a sample audit), sampled, blocked\n"
	 "(awaiting approve/reject) or approved (awaiting apply), oldest first.\n"},
	{"show", cmd_show, "show a batch as a reviewable diff",
	 "usage: airlock show BATCH [--json] [--limit N]\n"
	 "\n"
	 "Per record: field old -> new, the reason and the cited evidence with the\n"
	 "signal's text; refused items and why; the verbs allowed in its state.\n"
	 "  --limit N   show at most N records (default 50; 0 = all)\n"},
	{"approve", cmd_approve, "approve a batch (a person other than its proposer)",
	 "usage: airlock approve BATCH [--as NAME]\n"},
	{"reject", cmd_reject, "reject a batch, with a reason",
	 "usage: airlock reject BATCH --reason TEXT [--as NAME]\n"},
	{"apply", cmd_apply, "apply an approved batch in one transaction",
	 "usage: airlock apply BATCH [--skip-conflicts] [--as NAME]\n"
	 "\n"
	 "Applies every item or none. A record changed since it was staged is a\n"
	 "conflict: by default nothing is applied and the conflicts are listed;\n"
	 "--skip-conflicts applies the rest and marks those items.\n"},
	{"undo", cmd_undo, "undo an applied batch, restoring the before-images",
	 "usage: airlock undo BATCH [--force] [--as NAME]\n"
	 "\n"
	 "Restores every record's before-image in one transaction. Records changed\n"
	 "after the apply are listed and nothing is undone, unless --force.\n"},
	{"drift", cmd_drift, "aggregates per window against a reference, and drift alerts",
	 "usage: airlock drift [--window W] [--windows N] [--reference N] [--json]\n"
	 "       airlock drift baseline [--from T --to T | --clear] [--as NAME]\n"
	 "       airlock drift ack ALERT --cause TEXT [--as NAME]\n"
	 "\n"
	 "Prints each metric of the current window (UTC days by default) against\n"
	 "its reference: value, reference, change and test, a sparkline of the\n"
	 "recent windows on a terminal, then the alerts with their likely causes\n"
	 "(an instruction-version change, an import, a policy change). Metrics:\n"
	 "tier-1 share and tier mix of proposals per workflow, signal kinds that\n"
	 "proposals and briefs cite, near-duplicate rate and distinct-n-gram ratio\n"
	 "of drafts, proposal and agent-call volume, tool mix, overreach, audience\n"
	 "refusal and sample-audit failure rates. Alerts are stored so that they\n"
	 "can be acknowledged; a shift must hold two windows unless it is large.\n"
	 "\n"
	 "  --window W      1h, 6h, 12h, 1d (default), 7d ...\n"
	 "  --windows N     windows shown and judged (default 14)\n"
	 "  --reference N   previous windows pooled as the reference (default 7)\n"
	 "\n"
	 "baseline: pins the reference to [--from, --to) (YYYY-MM-DD or\n"
	 "YYYY-MM-DDTHH:MM:SSZ; default: the previous N windows); --clear returns\n"
	 "to the rolling reference. ack: records a person's explanation of alert\n"
	 "ALERT (A3). Both only for people, never agents, and both are logged.\n"},
	{NULL, NULL, NULL, NULL},
};

const struct cli_command *cli_find(const char *name)
{
	const struct cli_command *c;

	for (c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_common_option(struct cli *cli, int c, const char *arg)
{
	const struct cli_command *cmd;

	switch (c) {
	case CLI_OPT_DB:
		cli->db_path = arg;
		return 1;
	case CLI_OPT_JSON:
		cli->json = 1;
		return 1;
	case CLI_OPT_AS:
		cli->as = arg;
		return 1;
	case CLI_OPT_HELP:
		cmd = cli_find(cli->verb);
		if (cmd)
			fputs(cmd->usage, stdout);
		return -1;
	}
	return 0;
}

const char *cli_policy_path(struct cli *cli)
{
	const char *p = cli->policy_path;

	if (!p || !*p)
		p = getenv("AIRLOCK_POLICY");
	if (!p || !*p)
		p = "airlock.yaml";
	return p;
}

int cli_batch_arg(struct cli *cli, int argc, char **argv, int64_t *id)
{
	struct err err = {0};

	if (optind >= argc)
		return cli_usage(cli, "which batch? give its id");
	if (optind + 1 < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
	if (staging_parse_id(argv[optind], id, &err))
		return cli_usage(cli, "%s", err.msg);
	return 0;
}

int cli_getopt(struct cli *cli, int argc, char **argv, const struct option *extra, int *done)
{
	static const struct option common[] = {CLI_COMMON_OPTIONS,
						{"policy", required_argument, NULL, CLI_OPT_POLICY}};
	struct option all[40];
	size_t n = 0, i;
	int c, h;

	for (i = 0; i < sizeof common / sizeof common[0]; i++)
		all[n++] = common[i];
	for (i = 0; extra && extra[i].name && n < 39; i++)
		all[n++] = extra[i];
	memset(&all[n], 0, sizeof all[n]);
	opterr = 0;
	c = getopt_long(argc, argv, "h", all, NULL);
	if (c == -1)
		return -1;
	if (c == CLI_OPT_POLICY) {
		cli->policy_path = optarg;
		return cli_getopt(cli, argc, argv, extra, done);
	}
	h = cli_common_option(cli, c, optarg);
	if (h < 0) {
		*done = CLI_OK;
		return -2;
	}
	if (h > 0)
		return cli_getopt(cli, argc, argv, extra, done);
	if (c == '?' || c == ':') {
		*done = cli_usage(cli, "unknown option or missing value: '%s'", argv[optind - 1]);
		return -2;
	}
	return c;
}

int cli_fail(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "airlock: %s: ", cli->verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

int cli_fail_err(struct cli *cli, const struct err *err)
{
	return cli_fail(cli, "%s", err->msg[0] ? err->msg : err_name(err->code));
}

int cli_usage(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "airlock: %s: ", cli->verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'airlock %s --help'\n", cli->verb);
	return CLI_USAGE;
}

struct store *cli_store(struct cli *cli)
{
	struct err err = {0};
	const char *path = cli->db_path;

	if (cli->store)
		return cli->store;
	if (!path)
		path = getenv("AIRLOCK_DB");
	if (!path || !*path)
		path = STORE_DEFAULT_PATH;
	if (store_open(&cli->store, path, &err)) {
		cli_fail_err(cli, &err);
		return NULL;
	}
	return cli->store;
}

const char *cli_principal(struct cli *cli)
{
	const char *name = cli->as;
	struct passwd *pw;

	if (!name || !*name) {
		pw = getpwuid(getuid());
		name = pw ? pw->pw_name : "unknown";
	}
	if (strncmp(name, "human:", 6) == 0 || strncmp(name, "agent:", 6) == 0)
		snprintf(cli->principal, sizeof cli->principal, "%s", name);
	else
		snprintf(cli->principal, sizeof cli->principal, "human:%s", name);
	return cli->principal;
}

int cli_print_json(struct cli *cli, json_t *v)
{
	if (json_dumpf(v, stdout, JSON_INDENT(2)) || fputc('\n', stdout) == EOF)
		return cli_fail(cli, "cannot write output");
	return CLI_OK;
}

void cli_print_conflicts(json_t *report)
{
	json_t *c, *list = json_object_get(report, "conflicts");
	size_t i;

	if (!list)
		list = json_object_get(report, "overwritten");
	json_array_foreach(list, i, c)
	{
		json_t *cur = json_object_get(c, "current_version");

		printf("  item %lld  account %s: version %lld expected, ",
		       (long long)json_integer_value(json_object_get(c, "item")),
		       json_string_value(json_object_get(c, "record_id")),
		       (long long)json_integer_value(json_object_get(c, "expected_version")));
		if (json_is_null(cur))
			printf("record gone\n");
		else
			printf("now %lld\n", (long long)json_integer_value(cur));
	}
}

int cli_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

int cli_stderr_tty(void) { return isatty(STDERR_FILENO); }

int cli_parse_long(struct cli *cli, const char *opt, const char *arg, long min, long max,
		   long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < min || v > max)
		return cli_usage(cli, "%s: '%s' is not a whole number from %ld to %ld", opt, arg, min,
				 max);
	*out = v;
	return 0;
}

int cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *c;

	if (argc > 1) {
		c = cli_find(argv[1]);
		if (!c)
			return cli_usage(cli, "unknown verb '%s'", argv[1]);
		fputs(c->usage, stdout);
		return CLI_OK;
	}
	fputs("usage: airlock <verb> [options]\n"
	      "\n"
	      "airlock stages, logs, samples and gates every write or send an AI agent\n"
	      "proposes against a sales book, and can undo what it applied.\n"
	      "\n"
	      "verbs:\n",
	      stdout);
	for (c = cli_commands; c->name; c++)
		printf("  %-10s %s\n", c->name, c->summary);
	fputs("\n"
	      "options every verb takes:\n"
	      "  --db PATH   the database (default ./airlock.db, or $AIRLOCK_DB)\n"
	      "  --json      machine-readable output, where the verb prints data\n"
	      "  --as NAME   who is acting (default: the OS user)\n"
	      "  --help      the verb's own help\n"
	      "\n"
	      "exit codes: 0 ok, 1 failure, 2 usage error\n",
	      stdout);
	return CLI_OK;
}
