/* main.c — airlock's entry point: global options, then one verb. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "policy.h"
#include "version.h"

/* Options may come before the verb (airlock --db x.db queue) as well as after
 * it; the ones before are taken here. */
int main(int argc, char **argv)
{
	struct cli cli = {0};
	const struct cli_command *cmd;
	int i = 1, rc;

	/* jansson seeds its hash tables on first use; do it here, before
	 * airlock serve's threads could race to */
	json_object_seed(0);
	cli.verb = "airlock";
	cli.argv0 = argv[0];
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			cli.db_path = argv[++i];
		else if (!strncmp(argv[i], "--db=", 5))
			cli.db_path = argv[i] + 5;
		else if (!strcmp(argv[i], "--policy") && i + 1 < argc)
			cli.policy_path = argv[++i];
		else if (!strncmp(argv[i], "--policy=", 9))
			cli.policy_path = argv[i] + 9;
		else if (!strcmp(argv[i], "--json"))
			cli.json = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return cmd_help(&cli, 1, argv);
		else if (!strcmp(argv[i], "--version")) {
			puts("airlock " AIRLOCK_VERSION);
			return CLI_OK;
		} else
			return cli_usage(&cli, "unknown option '%s'", argv[i]);
	}
	if (i >= argc) {
		cmd_help(&cli, 1, argv);
		return CLI_USAGE;
	}
	cmd = cli_find(argv[i]);
	if (!cmd) {
		fprintf(stderr, "airlock: '%s' is not a verb; see 'airlock help'\n", argv[i]);
		return CLI_USAGE;
	}
	cli.verb = cmd->name;
	optind = 1;
	rc = cmd->fn(&cli, argc - i, argv + i);
	store_close(cli.store);
	policy_free(cli.policy);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "airlock: %s: cannot write to standard output\n", cli.verb);
		return CLI_FAIL;
	}
	return rc;
}
