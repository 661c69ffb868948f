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
	{"log", cmd_log, "show the action log, or sign a checkpoint of it",
	 "usage: airlock log [--record ID] [--batch ID] [--tool T] [--principal P]\n"
	 "                   [--since TIME] [--limit N] [--db PATH] [--json]\n"
	 "       airlock log checkpoint [-o FILE] [--db PATH] [--json]\n"
	 "\n"
	 "Shows the action log, newest entry first: every agent call and every\n"
	 "human verb, one hash-chained entry each. The filters combine:\n"
	 "\n"
	 "  --record ID      entries that concern book record ID\n"
	 "  --batch ID       entries about batch ID\n"
	 "  --tool T         entries of tool or verb T (propose_changes, approve, ...)\n"
	 "  --principal P    entries by P (agent:NAME, human:NAME)\n"
	 "  --since TIME     entries at or after TIME: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]\n"
	 "                   (UTC), or an age: 30m, 12h, 7d, 2w\n"
	 "  --limit N        the newest N entries only\n"
	 "  --json           the entries as JSON, with each entry's hash\n"
	 "\n"
	 "'log checkpoint' checks the whole chain, then signs its head (seq and hash)\n"
	 "with the database's key (DB.key, made by 'airlock init') and writes the\n"
	 "checkpoint to FILE, or to standard output. Keep checkpoints away from the\n"
	 "database: 'airlock verify --checkpoint FILE' then detects a rewrite of the\n"
	 "whole log. Taking a checkpoint is itself logged.\n"},
	{"verify", cmd_verify, "check that the action log was not edited",
	 "usage: airlock verify [--checkpoint FILE] [--db PATH] [--json]\n"
	 "\n"
	 "Recomputes the action log's hash chain from the first entry and checks\n"
	 "every entry's columns against its hashed body. Prints 'N entries, head\n"
	 "HASH' and exits 0 when the log is intact; otherwise names the first entry\n"
	 "that was edited, deleted, inserted or moved, and exits 1.\n"
	 "\n"
	 "  --checkpoint FILE  also check a checkpoint from 'airlock log checkpoint':\n"
	 "                     its signature (against DB.key when present) and that\n"
	 "                     the log still has the signed hash at the signed entry\n"},
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
