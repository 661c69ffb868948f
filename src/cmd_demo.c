/* cmd_demo.c — placeholder until the demo verb is built. */
#include "cli.h"

int cmd_demo(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(cli, "not built yet");
}
