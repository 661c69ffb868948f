/* cli.c — verb table, common options, output and error helpers. */
#include "cli.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

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
	 "usage: airlock import accounts|contacts|signals FILE.csv [--map MAP] [--quiet]\n"
	 "                      [--db PATH] [--json]\n"
	 "\n"
	 "Reads an RFC 4180 CSV file (FILE - is standard input): a header row, then\n"
	 "one record per row; quoted fields may hold commas, quotes (doubled) and\n"
	 "line breaks; UTF-8 with or without a byte order mark; any line ending.\n"
	 "New ids are added, known ids get the file's values (their version goes up\n"
	 "only when a value changes); fields the file has no column for are kept.\n"
	 "All in one transaction: a bad row stops the import with FILE:LINE: what is\n"
	 "wrong, and the book is left unchanged. The import is written to the\n"
	 "action log.\n"
	 "\n"
	 "Columns are matched to fields by name (any case). Other columns become\n"
	 "custom fields of accounts and contacts (a column custom.NAME sets the\n"
	 "custom field NAME); for signals they are an error. An empty value is\n"
	 "null (for lifecycle and yes/no fields, their default; for a custom field,\n"
	 "no value). Contacts and signals must name an existing account.\n"
	 "\n"
	 "  --map MAP   rename the file's columns onto airlock's fields:\n"
	 "              'Account ID=id,Account Name=name,Website=domain'\n"
	 "              (field: a built-in field, custom.NAME, or - to skip the\n"
	 "              column; write \\, \\= and \\\\ for a comma, equals sign or\n"
	 "              backslash in a column name). It may start with a preset,\n"
	 "              salesforce or hubspot, which later pairs override:\n"
	 "              'salesforce,Tier=tier'. Presets rename the standard\n"
	 "              columns of those CRMs' exports (Account ID, Account Name,\n"
	 "              Website, Record ID, Company name, ...), never values:\n"
	 "              Salesforce Type or HubSpot Lifecycle Stage stay custom.\n"
	 "  --quiet     no progress bar (it is drawn only when stderr is a terminal)\n"
	 "  --json      print the summary as JSON: rows, inserted, updated, unchanged\n"},
	{"export", cmd_export, "export accounts, contacts or signals as CSV",
	 "usage: airlock export accounts|contacts|signals [-o FILE] [--db PATH] [--json]\n"
	 "\n"
	 "Writes the records as RFC 4180 CSV (CRLF line ends), ordered by id, to FILE\n"
	 "or standard output: the built-in fields, then one column per custom field\n"
	 "(sorted; named custom.NAME when NAME would read back as something else).\n"
	 "`airlock import` reads the file back to the same records, and exporting\n"
	 "those gives the same bytes. Airlock's own bookkeeping (version,\n"
	 "updated_at, merged_into) is not exported.\n"
	 "\n"
	 "  -o, --output FILE   write FILE (atomically: a failed export leaves no file)\n"
	 "  --json              with -o, print a JSON summary: kind, file, rows\n"},
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
