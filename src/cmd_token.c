/* cmd_token.c — placeholder replaced below. */
#include "cli.h"
int cmd_token(struct cli *cli, int argc, char **argv) { (void)argc; (void)argv; return cli_fail(cli, "not built yet"); }
