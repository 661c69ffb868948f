/* cmd_verify.c — `airlock verify`: recompute the action log's hash chain
 * (and check a signed checkpoint). Reads only: it appends no log entry, so
 * it can run on a read-only copy of the database. */
#include "audit.h"
#include "cli.h"

static int print_json(struct cli *cli, const struct audit_verify_result *r, const char *checkpoint)
{
	char head[AUDIT_HASH_HEX];
	json_t *o;
	int rc;

	audit_hash_hex(r->head, head);
	if (r->ok)
		o = json_pack("{s:b,s:I,s:s}", "ok", 1, "entries", (json_int_t)r->count, "head",
			      head);
	else
		o = json_pack("{s:b,s:I,s:s,s:I,s:s}", "ok", 0, "entries_checked",
			      (json_int_t)r->count, "problem", audit_problem_name(r->problem), "bad_seq",
			      (json_int_t)r->bad_seq, "message", r->message);
	if (o && checkpoint && r->ok)
		json_object_set_new(o, "checkpoint",
				    json_pack("{s:s,s:I,s:b}", "file", checkpoint, "seq",
					      (json_int_t)r->checkpoint_seq, "local_key",
					      r->checkpoint_key_local));
	if (!o)
		return cli_fail(cli, "out of memory");
	rc = cli_print_json(cli, o);
	json_decref(o);
	return rc ? rc : r->ok ? CLI_OK : CLI_FAIL;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTIONS, {"checkpoint", required_argument, NULL, 'c'}, {NULL, 0, NULL, 0}};
	struct audit_verify_result r;
	struct err err = {0};
	const char *checkpoint = NULL;
	char head[AUDIT_HASH_HEX];
	struct store *s;
	int c, h;

	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (c == 'c') {
			checkpoint = optarg;
			continue;
		}
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
	if (audit_verify(s, checkpoint, &r, &err))
		return cli_fail_err(cli, &err);
	if (cli->json)
		return print_json(cli, &r, checkpoint);
	if (!r.ok)
		return cli_fail(cli, "%s", r.message);
	audit_hash_hex(r.head, head);
	printf("%lld entries, head %s\n", (long long)r.count, head);
	if (checkpoint)
		printf("checkpoint %s: entry %lld matches, signed by %s\n", checkpoint,
		       (long long)r.checkpoint_seq,
		       r.checkpoint_key_local
			   ? "this database's key"
			   : "the key in the checkpoint (no local key to compare)");
	return CLI_OK;
}
