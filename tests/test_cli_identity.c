/* test_cli_identity.c — reading --as the way a hostile agent would write it:
 * every spelling of agent:NAME is an agent, never the person
 * human:Agent:NAME; names with ':', spaces or control characters are not
 * names; and the session file is refused when anyone else could read it. */
#include "testutil.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_identity.h"

static void parses_to(const char *as, const char *want)
{
	char p[96];
	struct err err = {0};

	assert_ok(cli_identity_parse(as, p, sizeof p, &err), &err);
	assert_string_equal(p, want);
}

static void refused(const char *as)
{
	char p[96];
	struct err err = {0};

	if (cli_identity_parse(as, p, sizeof p, &err) != AIRLOCK_EINVAL)
		fail_msg("'%s' was read as %s", as, p);
	assert_non_null(strstr(err.msg, "name"));
}

static void test_agents_in_any_spelling(void **state)
{
	(void)state;
	parses_to("agent:x", "agent:x");
	parses_to("Agent:x", "agent:x");
	parses_to("AGENT:x", "agent:x");
	parses_to(" agent:x", "agent:x");
	parses_to("agent:x \n", "agent:x");
	parses_to("\taGeNt:scout-2.b_c", "agent:scout-2.b_c");
	assert_true(cli_identity_is_agent("agent:x"));
	assert_false(cli_identity_is_agent("human:agent"));
}

static void test_people(void **state)
{
	(void)state;
	parses_to("maria", "human:maria");
	parses_to("human:maria", "human:maria");
	parses_to("HUMAN:maria", "human:maria");
	parses_to(" maria ", "human:maria");
	parses_to("maria@example.com", "human:maria@example.com");
	parses_to("agent", "human:agent"); /* a person may be called that; no ':' */
}

static void test_names_that_are_not_names(void **state)
{
	char long_name[80];

	(void)state;
	refused("");
	refused("   ");
	refused("human:Agent:x"); /* never the person "Agent:x" */
	refused("human:agent:x");
	refused("a:b");
	refused("agent:");
	refused("agent: x");
	refused("agent :x");
	refused("agent:x@y"); /* '@' is for people's names only */
	refused("maria x");
	refused("ma\033[2Kria");
	refused("maria\r\nhuman:lee");
	refused("mar\xe2\x80\xaeia"); /* a bidi override */
	refused("human:");
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	refused(long_name);
	long_name[64] = '\0';
	parses_to(long_name,
		  "human:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

static void test_session_file_must_be_private(void **state)
{
	char dir[] = "/tmp/airlock-idtest-XXXXXX", path[4096], secret[REVIEWER_SECRET_HEX];
	const char *good = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct cli cli = {0};
	struct err err = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	unsetenv("AIRLOCK_SESSION");
	cli.db_path = "/tmp/airlock-idtest-no.db";
	assert_int_equal(cli_session_read(&cli, secret, &err), AIRLOCK_ENOTFOUND);
	assert_ok(cli_session_write(&cli, good, path, sizeof path, &err), &err);
	assert_ok(cli_session_read(&cli, secret, &err), &err);
	assert_string_equal(secret, good);
	/* another database has another file */
	cli.db_path = "/tmp/airlock-idtest-other.db";
	assert_int_equal(cli_session_read(&cli, secret, &err), AIRLOCK_ENOTFOUND);
	cli.db_path = "/tmp/airlock-idtest-no.db";
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(cli_session_read(&cli, secret, &err), AIRLOCK_EDENIED);
	assert_non_null(strstr(err.msg, "not a private file of yours"));
	assert_int_equal(chmod(path, 0600), 0);
	/* the environment wins, and must look like a session */
	setenv("AIRLOCK_SESSION", "not-a-session", 1);
	assert_int_equal(cli_session_read(&cli, secret, &err), AIRLOCK_EDENIED);
	unsetenv("AIRLOCK_SESSION");
	unlink(path);
	snprintf(path, sizeof path, "%s/airlock", dir);
	rmdir(path);
	rmdir(dir);
	unsetenv("XDG_RUNTIME_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agents_in_any_spelling),
	    cmocka_unit_test(test_people),
	    cmocka_unit_test(test_names_that_are_not_names),
	    cmocka_unit_test(test_session_file_must_be_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
