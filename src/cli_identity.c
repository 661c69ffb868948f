/* cli_identity.c — --as, the sign-in session of `airlock login`, and the
 * check of human and operator verbs. */
#include "cli_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"

/* A name that needs no quoting anywhere: never ':' (which would make
 * "human:agent:x"), space, or a control character. */
static int name_ok(const char *p, size_t n, int at_allowed)
{
	size_t i;

	if (n == 0 || n > REVIEWER_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || (at_allowed && c == '@')))
			return 0;
	}
	return 1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int cli_identity_parse(const char *as, char *principal, size_t len, struct err *err)
{
	const char *b = as ? as : "", *e;
	int agent = 0;

	while (is_space(*b))
		b++;
	e = b + strlen(b);
	while (e > b && is_space(e[-1]))
		e--;
	if (e - b >= 6 && strncasecmp(b, "agent:", 6) == 0) {
		agent = 1;
		b += 6;
	} else if (e - b >= 6 && strncasecmp(b, "human:", 6) == 0)
		b += 6;
	if (!name_ok(b, (size_t)(e - b), !agent))
		return err_set(err, AIRLOCK_EINVAL,
			       "'%.80s' is not a %s name: 1 to %d letters, digits, '.', '_', '-'%s"
			       " (agents are agent:NAME)",
			       as ? as : "", agent ? "agent" : "person's", REVIEWER_NAME_MAX,
			       agent ? "" : " or '@'");
	if (snprintf(principal, len, "%s:%.*s", agent ? "agent" : "human", (int)(e - b), b) >=
	    (int)len)
		return err_set(err, AIRLOCK_EINVAL, "--as: the name is too long");
	return 0;
}

int cli_identity_is_agent(const char *principal)
{
	return principal && strncmp(principal, "agent:", 6) == 0;
}

static const char *db_path(struct cli *cli)
{
	return store_target(cli->db_path);
}

int cli_session_path(struct cli *cli, char *buf, size_t len, struct err *err)
{
	unsigned char h[8];
	char full[PATH_MAX], hexh[17];
	const char *dir = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME"), *sub = "airlock";
	struct passwd *pw;
	int n;

	/* one file per database: signing in to one book opens no other */
	if (!realpath(db_path(cli), full) &&
	    fmt_buf(full, sizeof full, err, "--db path", "%s", db_path(cli)))
		return AIRLOCK_EINVAL;
	if (sodium_init() < 0)
		return err_set(err, AIRLOCK_EIO, "libsodium did not start");
	crypto_generichash(h, sizeof h, (const unsigned char *)full, strlen(full), NULL, 0);
	sodium_bin2hex(hexh, sizeof hexh, h, sizeof h);
	if (!dir || dir[0] != '/') {
		if (!home || home[0] != '/') {
			pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/')
			return err_set(err, AIRLOCK_ENOTFOUND,
				       "no place for the session file: set XDG_RUNTIME_DIR or HOME"
				       " (or use AIRLOCK_SESSION)");
		dir = home;
		sub = ".airlock";
	}
	n = snprintf(buf, len, "%s/%s/session-%s", dir, sub, hexh);
	if (n < 0 || (size_t)n >= len)
		return err_set(err, AIRLOCK_EINVAL, "the session file's path is too long");
	return 0;
}

static int secret_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == REVIEWER_SECRET_HEX - 1;
}

int cli_session_read(struct cli *cli, char secret[REVIEWER_SECRET_HEX], struct err *err)
{
	const char *env = getenv("AIRLOCK_SESSION");
	char path[PATH_MAX], buf[REVIEWER_SECRET_HEX + 2];
	struct stat st;
	ssize_t n;
	int fd, rc;

	secret[0] = '\0';
	if (env && *env) {
		if (!secret_ok(env))
			return err_set(err, AIRLOCK_EDENIED,
				       "AIRLOCK_SESSION is not a session (64 hex digits from"
				       " 'airlock login --print')");
		memcpy(secret, env, REVIEWER_SECRET_HEX);
		return 0;
	}
	rc = cli_session_path(cli, path, sizeof path, err);
	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return err_set(err, AIRLOCK_ENOTFOUND, "nobody is signed in");
	if (fd < 0)
		return err_set(err, AIRLOCK_EDENIED, "cannot read the session file %s: %s", path,
			       strerror(errno));
	/* a file someone else could have written, or read, is no proof */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
		close(fd);
		return err_set(err, AIRLOCK_EDENIED,
			       "the session file %s is not a private file of yours (mode 0600):"
			       " remove it and sign in again",
			       path);
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!secret_ok(buf))
		return err_set(err, AIRLOCK_EDENIED,
			       "the session file %s is damaged: sign in again", path);
	memcpy(secret, buf, REVIEWER_SECRET_HEX); /* secret_ok: 64 digits and the NUL */
	sodium_memzero(buf, sizeof buf);
	return 0;
}

int cli_session_write(struct cli *cli, const char *secret, char *path, size_t len, struct err *err)
{
	char tmp[PATH_MAX + 8], *slash;
	struct stat st;
	size_t n = strlen(secret);
	int fd, rc;

	rc = cli_session_path(cli, path, len, err);
	if (rc)
		return rc;
	slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdir(path, 0700) && errno != EEXIST)
		rc = err_set(err, AIRLOCK_EIO, "cannot make %s: %s", path, strerror(errno));
	else if (lstat(path, &st) || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
		 (st.st_mode & 022))
		rc = err_set(
		    err, AIRLOCK_EDENIED,
		    "%s is not a private folder of yours: the session is not written there", path);
	*slash = '/';
	if (rc)
		return rc;
	if (fmt_buf(tmp, sizeof tmp, err, "session file path", "%s.tmp", path))
		return AIRLOCK_EINVAL;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, AIRLOCK_EIO, "cannot write %s: %s", tmp, strerror(errno));
	if (write(fd, secret, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || fsync(fd)) {
		close(fd);
		unlink(tmp);
		return err_set(err, AIRLOCK_EIO, "cannot write %s: %s", tmp, strerror(errno));
	}
	close(fd);
	if (rename(tmp, path)) {
		unlink(tmp);
		return err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

/* Once reviewers exist: the signed-in reviewer, who must be the --as person
 * when one is named, with the role the verb needs. */
static int signed_in(struct cli *cli, struct store *s, const char *as_principal, enum cli_need need)
{
	struct reviewer_session rs;
	char secret[REVIEWER_SECRET_HEX];
	struct err err = {0};
	int rc;

	rc = cli_session_read(cli, secret, &err);
	if (rc == AIRLOCK_ENOTFOUND)
		return cli_fail(cli,
				"this book has reviewers, so '%s' needs a person signed in:"
				" 'airlock login NAME' first (--as alone proves nothing)",
				cli->verb);
	if (rc)
		return cli_fail_err(cli, &err);
	memset(&rs, 0, sizeof rs);
	rc = reviewer_session_get(s, secret, &rs, &err);
	sodium_memzero(secret, sizeof secret);
	if (rc == AIRLOCK_EDENIED)
		return cli_fail(cli, "the session has ended (expired, signed out, or the reviewer"
				     " was removed): 'airlock login NAME' again");
	if (rc)
		return cli_fail_err(cli, &err);
	if (as_principal && strcmp(as_principal, rs.principal) != 0)
		return cli_fail(cli,
				"--as %s: the person signed in is %s; one acts only as oneself"
				" (sign in as the other person, or leave --as out)",
				as_principal + 6, rs.name);
	if (need == CLI_NEED_ADMIN && rs.role != REVIEWER_ADMIN)
		return cli_fail(cli, "'%s' is for an admin: %s is a %s", cli->verb, rs.name,
				reviewer_role_name(rs.role));
	if (need == CLI_NEED_PERSON && !reviewer_role_allows(rs.role, REVIEWER_REVIEWER))
		return cli_fail(cli, "%s is a viewer: a viewer reads, and may not '%s'", rs.name,
				cli->verb);
	if (fmt_buf(cli->principal, sizeof cli->principal, NULL, "principal", "%s", rs.principal))
		return cli_fail(cli, "principal %s is too long", rs.principal);
	return CLI_OK;
}

/* What a verb does, for the message that refuses an agent. */
static const char *what_verb_does(const char *verb)
{
	static const char *const words[][2] = {
	    {"drift", "acknowledge an alert or pin a baseline"},
	    {"outbox", "send or decide a message's fate"},
	    {"drafts", "discard a draft"},
	    {"log", "sign a checkpoint"},
	    {"reviewer", "manage reviewers"},
	    {"token", "manage tokens"},
	    {"import", "change the book by import"},
	};
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (!strcmp(verb, words[i][0]))
			return words[i][1];
	return verb;
}

int cli_person(struct cli *cli, enum cli_need need)
{
	char given[96];
	const char *as = cli->as;
	struct passwd *pw;
	struct err err = {0};
	struct store *s;
	int64_t n = 0;
	int rc, named = as != NULL;

	if (cli->identified)
		return CLI_OK;
	if (!named) {
		pw = getpwuid(getuid());
		as = pw ? pw->pw_name : "unknown";
	}
	if (cli_identity_parse(as, given, sizeof given, &err))
		return named ? cli_usage(cli, "--as: %s", err.msg)
			     : cli_fail(cli, "the OS user: %s; give --as NAME", err.msg);
	if (cli_identity_is_agent(given))
		return cli_fail(cli,
				"'%s' is a person's verb: %s is an agent, and only a person can %s"
				" (agents propose; they never review, approve, send or manage"
				" identities)",
				cli->verb, given, what_verb_does(cli->verb));
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (reviewer_count_active(s, &n, &err))
		return cli_fail_err(cli, &err);
	if (n > 0) {
		rc = signed_in(cli, s, named ? given : NULL, need);
		if (rc)
			return rc;
	} else {
		if (fmt_buf(cli->principal, sizeof cli->principal, NULL, "principal", "%s", given))
			return cli_fail(cli, "principal %s is too long", given);
		/* said when a name was given: the OS user, the default, is at
		 * least the account that runs the command */
		if (named)
			fprintf(
			    stderr,
			    "airlock: %s: no reviewers in this book yet, so --as is taken on trust"
			    " (acting as %s); once 'airlock reviewer add' adds one, people sign in"
			    " with 'airlock login'\n",
			    cli->verb, given);
	}
	cli->identified = 1;
	return CLI_OK;
}

int cli_operator_setup(struct cli *cli)
{
	char given[96];
	struct err err = {0};
	struct store *s;
	int64_t n = 0;

	if (cli->as && cli_identity_parse(cli->as, given, sizeof given, &err))
		return cli_usage(cli, "--as: %s", err.msg);
	if (cli->as && cli_identity_is_agent(given))
		return cli_fail(cli, "'%s' is an operator's verb: %s is an agent", cli->verb,
				given);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (reviewer_count_active(s, &n, &err))
		return cli_fail_err(cli, &err);
	return n > 0 ? cli_person(cli, CLI_NEED_ADMIN) : CLI_OK;
}
