/* cmd_verify.c — `airlock verify`: recompute the action log's hash chain
 * (and check a signed checkpoint; with --invariants, airlock's guarantees
 * against the stored rows, invariants.h). Reads only: it appends no log entry, so
 * it can run on a read-only copy of the database. */
#include "audit.h"
#include "cli.h"
#include "invariants.h"

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

/* --invariants: each violation on a line of its own (its rows in --json);
 * CLI_FAIL when there is one. Invariants that could not be checked (no
 * policy, no pin given) are said, never counted as held. */
static int check_invariants(struct cli *cli, struct store *s, const char *pin, int pin_set,
			    int log_ok)
{
	struct invariants_opts o = {0};
	json_t *viol = NULL, *unchecked = NULL, *v, *out;
	struct err err = {0};
	size_t i;
	int rc;

	o.policy = cli_policy(cli, 0);
	o.pin = pin;
	o.pin_set = pin_set;
	if (invariants_check(s, &o, &viol, &unchecked, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		out = json_pack("{s:b,s:b,s:O,s:O}", "ok", log_ok && json_array_size(viol) == 0,
				"log_ok", log_ok, "violations", viol, "unchecked", unchecked);
		rc = out ? cli_print_json(cli, out) : cli_fail(cli, "out of memory");
		json_decref(out);
		if (!rc && (!log_ok || json_array_size(viol)))
			rc = CLI_FAIL;
		goto out;
	}
	json_array_foreach(viol, i, v)
		printf("violation %s %s: %s\n", json_string_value(json_object_get(v, "invariant")),
		       json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "message")));
	json_array_foreach(unchecked, i, v)
		printf("not checked %s: %s\n", json_string_value(json_object_get(v, "invariant")),
		       json_string_value(json_object_get(v, "why")));
	if (json_array_size(viol))
		cli_fail(cli, "%zu invariant violation%s", json_array_size(viol),
			 json_array_size(viol) == 1 ? "" : "s");
	else
		printf("invariants hold\n");
	rc = json_array_size(viol) || !log_ok ? CLI_FAIL : CLI_OK;
out:
	json_decref(viol);
	json_decref(unchecked);
	return rc;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"checkpoint", required_argument, NULL, 'c'},
					     {"invariants", no_argument, NULL, 'i'},
					     {"instruction-version", required_argument, NULL, 'v'},
					     {NULL, 0, NULL, 0}};
	struct audit_verify_result r;
	struct err err = {0};
	const char *checkpoint = NULL, *pin = NULL;
	char head[AUDIT_HASH_HEX];
	struct store *s;
	int c, h, invariants = 0, pin_set = 0;

	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		if (c == 'c') {
			checkpoint = optarg;
			continue;
		}
		if (c == 'i') {
			invariants = 1;
			continue;
		}
		if (c == 'v') {
			pin = optarg;
			pin_set = 1;
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
	if (pin_set && !invariants)
		return cli_usage(cli, "--instruction-version goes with --invariants");
	if (invariants) {
		if (!r.ok && !cli->json)
			fprintf(stderr, "airlock: verify: %s\n", r.message);
		else if (!cli->json)
			printf("%lld entries, log intact\n", (long long)r.count);
		return check_invariants(cli, s, pin, pin_set, r.ok);
	}
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
