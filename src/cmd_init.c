/* cmd_init.c — `airlock init`: create the database with the current schema
 * and write the default policy file, never over an existing one. */
/* cmd_init.c — `airlock init`: create the database with the current schema. */
#include "audit.h"
#include "cli.h"
#include "cli_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

/* Writes the default policy to path unless a file is there. O_EXCL makes
 * "never overwrite" hold even against a file created a moment ago. *written
 * is 0 when the file was kept. */
static int write_default_policy(const char *path, int *written, struct err *err)
{
	const char *text = policy_default_yaml();
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, rc = 0;

	*written = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		return err_set(err, AIRLOCK_EIO, "cannot create %s: %s", path, strerror(errno));
	}
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path,
				     n < 0 ? strerror(errno) : "short write");
			break;
		}
		off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	if (rc) {
		unlink(path); /* a half-written policy must not be mistaken for one */
		return rc;
	}
	*written = 1;
	return 0;
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	const char *policy;
	int64_t version;
	int c, h, written;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	cli->create_db = 1;
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if ((c = cli_operator_setup(cli)) != CLI_OK)
		return c;
	/* the key that signs log checkpoints: DB.key, 0600, never replaced */
	if (audit_key_init(store_path(s), NULL, &err))
		return cli_fail_err(cli, &err);
	if (store_schema_version(s, &version, &err))
		return cli_fail_err(cli, &err);
	/* init on an existing database made before files were created 0600 */
	cli_warn_modes(cli, store_path(s));
	policy = cli_policy_path(cli);
	if (write_default_policy(policy, &written, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		json_t *o =
		    json_pack("{s:s,s:I,s:s,s:b}", "db", store_path(s), "schema_version",
			      (json_int_t)version, "policy", policy, "policy_written", written);
		int rc = o ? cli_print_json(cli, o) : cli_fail(cli, "out of memory");

		json_decref(o);
		return rc;
	}
	printf("initialised %s (schema version %lld)\n", store_path(s), (long long)version);
	if (written)
		printf("wrote the default policy to %s: read it, then 'airlock policy check'\n",
		       policy);
	else
		printf("kept the existing policy %s (not overwritten)\n", policy);
	return CLI_OK;
}
