/* cmd_logout.c — `airlock logout`: ends the CLI's sign-in session at once
 * (in the database, so a copy of the secret stops working too). */
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "cli_identity.h"

int cmd_logout(struct cli *cli, int argc, char **argv)
{
	char secret[REVIEWER_SECRET_HEX], path[4096];
	struct err err = {0};
	const char *env = getenv("AIRLOCK_SESSION");
	struct store *s;
	int c, done = 0, rc;

	while ((c = cli_getopt(cli, argc, argv, NULL, &done)) != -1)
		if (c == -2)
			return done;
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	rc = cli_session_read(cli, secret, &err);
	if (rc == AIRLOCK_ENOTFOUND) {
		puts("nobody is signed in");
		return CLI_OK;
	}
	if (rc == 0) {
		s = cli_store(cli);
		if (!s)
			return CLI_FAIL;
		rc = reviewer_session_end(s, secret, &err);
		sodium_memzero(secret, sizeof secret);
		if (rc)
			return cli_fail_err(cli, &err);
	}
	/* a damaged or foreign file goes too: it proves nothing */
	if (!(env && *env) && cli_session_path(cli, path, sizeof path, &err) == 0)
		unlink(path);
	if (env && *env)
		puts("signed out (the session in AIRLOCK_SESSION no longer works: unset it)");
	else
		puts("signed out");
	return CLI_OK;
}
