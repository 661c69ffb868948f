/* cmd_serve.c — placeholder replaced below. */
#include "cli.h"
int cmd_serve(struct cli *cli, int argc, char **argv) { (void)argc; (void)argv; return cli_fail(cli, "not built yet"); }
