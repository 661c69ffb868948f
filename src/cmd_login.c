/* cmd_login.c — `airlock login`: a reviewer signs in on the command line,
 * with the console's rules, so that the CLI's human verbs act as a person
 * who proved who they are (cli_identity.h). */
#include <sodium.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "cli_identity.h"
#include "reviewer.h"

/* The password: from a terminal without echo, else the first line of
 * standard input. 0, or -1 when there is none, -2 when it is too long. */
static int read_password(char *buf, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0, rc = 0;
	size_t n;

	if (tty) {
		fputs("password: ", stderr);
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (!fgets(buf, (int)len, stdin))
		rc = -1;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (rc)
		return rc;
	n = strlen(buf);
	if (n && buf[n - 1] != '\n' && !feof(stdin))
		return -2;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* The token of a login link, or the link itself ("...login?link=TOKEN"). */
static const char *link_token(const char *link)
{
	const char *t = strstr(link, "link=");

	return t ? t + 5 : link;
}

int cmd_login(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"password-stdin", no_argument, NULL, 'p'},
					      {"link", required_argument, NULL, 'l'},
					      {"print", no_argument, NULL, 'P'},
					      {NULL, 0, NULL, 0}};
	char pw[REVIEWER_PASSWORD_MAX + 2], path[4096], old[REVIEWER_SECRET_HEX];
	struct reviewer_session rs;
	struct err err = {0};
	const char *link = NULL, *name = NULL;
	struct store *s;
	int64_t n = 0;
	int c, done = 0, print = 0, rc;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'l')
			link = optarg;
		if (c == 'P')
			print = 1;
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	if (!name && !link)
		return cli_usage(cli, "who signs in? give NAME (or --link LINK)");
	if (name && !reviewer_name_valid(name))
		return cli_usage(cli, "NAME '%s' is not a reviewer's name", name);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (reviewer_count_active(s, &n, &err))
		return cli_fail_err(cli, &err);
	if (n == 0)
		return cli_fail(cli, "this book has no reviewers, so nobody can sign in (and --as"
				     " is taken on trust): add the first, an admin, with 'airlock"
				     " reviewer add NAME --role admin'");
	memset(&rs, 0, sizeof rs);
	if (link) {
		rc = reviewer_login_link(s, link_token(link), &rs, &err);
	} else {
		rc = read_password(pw, sizeof pw);
		if (rc) {
			sodium_memzero(pw, sizeof pw);
			return cli_fail(cli,
					rc == -2 ? "the password is longer than %d bytes"
						 : "no password given (%d)",
					REVIEWER_PASSWORD_MAX);
		}
		rc = reviewer_login_password(s, name, pw, &rs, &err);
		sodium_memzero(pw, sizeof pw);
	}
	if (rc)
		return cli_fail_err(cli, &err);
	if (name && strcmp(name, rs.name) != 0) {
		reviewer_session_end(s, rs.id, &err);
		sodium_memzero(&rs, sizeof rs);
		return cli_fail(cli, "that link signs in another reviewer, not %s", name);
	}
	if (print) {
		/* for `export AIRLOCK_SESSION=$(airlock login NAME --print)` */
		printf("%s\n", rs.id);
		fprintf(stderr, "signed in as %s (%s) until %s\n", rs.name,
			reviewer_role_name(rs.role), rs.expires_at);
		sodium_memzero(&rs, sizeof rs);
		return CLI_OK;
	}
	/* the session this file held ends: one live CLI session per person and book */
	if (cli_session_read(cli, old, &err) == 0)
		reviewer_session_end(s, old, &err);
	sodium_memzero(old, sizeof old);
	err_clear(&err);
	rc = cli_session_write(cli, rs.id, path, sizeof path, &err);
	if (rc) {
		reviewer_session_end(s, rs.id, &err);
		sodium_memzero(&rs, sizeof rs);
		return cli_fail_err(cli, &err);
	}
	printf("signed in as %s (%s) until %s; 'airlock logout' ends it\n", rs.name,
	       reviewer_role_name(rs.role), rs.expires_at);
	sodium_memzero(&rs, sizeof rs);
	return CLI_OK;
}
