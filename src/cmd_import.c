/* cmd_import.c — placeholder until the import verb is built. */
#include "cli.h"

int cmd_import(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(cli, "not built yet");
}
