/* cmd_export.c — placeholder until the export verb is built. */
#include "cli.h"

int cmd_export(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(cli, "not built yet");
}
