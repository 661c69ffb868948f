/* cmd_init.c — `airlock init`: create the database with the current schema. */
#include "audit.h"
#include "cli.h"

int cmd_init(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	int64_t version;
	int c, h;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	/* the key that signs log checkpoints: DB.key, 0600, never replaced */
	if (audit_key_init(store_path(s), NULL, &err))
		return cli_fail_err(cli, &err);
	if (store_schema_version(s, &version, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		json_t *o = json_pack("{s:s,s:I}", "db", store_path(s), "schema_version",
				      (json_int_t)version);
		int rc = cli_print_json(cli, o);

		json_decref(o);
		return rc;
	}
	printf("initialised %s (schema version %lld)\n", store_path(s), (long long)version);
	return CLI_OK;
}
