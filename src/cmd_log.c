/* cmd_log.c — `airlock log`: read the action log, newest first, filtered;
 * `airlock log checkpoint`: sign the log's head into a checkpoint file.
 *
 * Reading appends nothing. A checkpoint is logged (tool "log checkpoint",
 * with the seq and head it signed and the file it went to): who sealed the
 * log when is part of the log's own story. The checkpoint covers the
 * entries before that record, which is appended in the same transaction. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "cli_identity.h"
#include "text.h"

static const char *field(json_t *e, const char *key)
{
	const char *v = json_string_value(json_object_get(e, key));

	return v ? v : "?";
}

static int print_entry_line(void *ctx, int64_t seq, json_t *e,
			    const unsigned char hash[AUDIT_HASH_BYTES])
{
	json_t *shown = json_deep_copy(e);
	const char *at;
	const char *decision, *batch, *summary;
	char when[20];

	(void)ctx;
	(void)hash;
	/* summaries quote agents' reasons and book text: escaped, never run */
	if (!shown || text_json_escape(shown, NULL)) {
		json_decref(shown);
		return AIRLOCK_ENOMEM;
	}
	e = shown;
	at = json_string_value(json_object_get(e, "at"));
	decision = json_string_value(json_object_get(e, "decision"));
	batch = json_string_value(json_object_get(e, "batch_id"));
	summary = json_string_value(json_object_get(e, "summary"));
	/* seconds are enough to read; the full time is in --json */
	(void)snprintf(when, sizeof when, "%.19s", at ? at : "");
	printf("%6lld  %s  %s  %s  %s", (long long)seq, when, field(e, "principal"),
	       field(e, "surface"), field(e, "tool"));
	if (decision)
		printf("  → %s", decision);
	if (batch)
		printf("  batch %s", batch);
	if (summary)
		printf("  — %s", summary);
	putchar('\n');
	json_decref(shown);
	return 0;
}

static int collect_entry(void *ctx, int64_t seq, json_t *e,
			 const unsigned char hash[AUDIT_HASH_BYTES])
{
	char hex[AUDIT_HASH_HEX];
	json_t *copy = json_deep_copy(e);

	(void)seq;
	audit_hash_hex(hash, hex);
	if (!copy || json_object_set_new(copy, "hash", json_string(hex)) ||
	    json_array_append_new(ctx, copy))
		return AIRLOCK_ENOMEM;
	return 0;
}

/* Writes text to path through a temporary file and rename, so a reader
 * never sees half a checkpoint. 0600 like the database it vouches for. */
static int write_file(const char *path, const char *text, struct err *err)
{
	char tmp[4200];
	size_t len = strlen(text), off = 0;
	ssize_t w;
	int fd, n, ok;

	n = snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return err_set(err, AIRLOCK_EINVAL, "%s: path too long", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return err_set(err, AIRLOCK_EIO, "cannot create %s: %s", path, strerror(errno));
	while (off < len) {
		w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	ok = off == len && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
	if (close(fd))
		ok = 0;
	if (!ok) {
		err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return AIRLOCK_EIO;
	}
	if (rename(tmp, path)) {
		err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return AIRLOCK_EIO;
	}
	return 0;
}

static int log_checkpoint_entry(struct cli *cli, struct store *s, json_t *cp, const char *file,
				struct err *err)
{
	json_t *args = json_pack("{s:O,s:O,s:s}", "seq", json_object_get(cp, "seq"), "head",
				 json_object_get(cp, "head"), "file", file ? file : "-");
	json_t *none = json_array();
	char summary[128];
	struct audit_entry e = {0};
	int rc;

	if (!args || !none) {
		json_decref(args);
		json_decref(none);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	(void)snprintf(summary, sizeof summary, "signed a checkpoint of entry %lld",
		       (long long)json_integer_value(json_object_get(cp, "seq")));
	e.principal = cli_principal(cli);
	e.surface = "cli";
	e.tool = "log checkpoint";
	e.args = args;
	e.summary = summary;
	e.record_ids = none;
	rc = audit_append(s, &e, NULL, err);
	json_decref(args);
	json_decref(none);
	return rc;
}

static int cmd_log_checkpoint(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTIONS, {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
	struct audit_verify_result r;
	struct err err = {0};
	const char *file = NULL;
	struct store *s;
	json_t *cp = NULL;
	char *text = NULL;
	int c, h, rc = CLI_FAIL;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (c == 'o') {
			file = optarg;
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
	h = cli_person(cli, CLI_NEED_ADMIN);
	if (h)
		return h;
	/* One transaction: no entry can land between the check, the signature
	 * and the record of it. */
	if (store_begin(s, &err))
		return cli_fail_err(cli, &err);
	if (audit_checkpoint_make(s, &cp, &r, &err) || log_checkpoint_entry(cli, s, cp, file, &err))
		goto fail;
	text = store_json_dump(cp, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text) {
		err_set(&err, AIRLOCK_ENOMEM, "out of memory");
		goto fail;
	}
	if (file) {
		size_t n = strlen(text);
		char *withnl = realloc(text, n + 2);

		if (!withnl) {
			err_set(&err, AIRLOCK_ENOMEM, "out of memory");
			goto fail;
		}
		text = withnl;
		memcpy(text + n, "\n", 2);
		if (write_file(file, text, &err))
			goto fail;
	}
	if (store_commit(s, &err)) {
		cli_fail_err(cli, &err);
		goto out;
	}
	if (!file || cli->json)
		rc = cli_print_json(cli, cp);
	else {
		printf("checkpoint of entry %lld, head %s, written to %s\n",
		       (long long)json_integer_value(json_object_get(cp, "seq")),
		       json_string_value(json_object_get(cp, "head")), file);
		rc = CLI_OK;
	}
	goto out;
fail:
	store_rollback(s);
	cli_fail_err(cli, &err);
out:
	free(text);
	json_decref(cp);
	return rc;
}

int cmd_log(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"record", required_argument, NULL, 'r'},
					     {"batch", required_argument, NULL, 'b'},
					     {"tool", required_argument, NULL, 't'},
					     {"principal", required_argument, NULL, 'p'},
					     {"since", required_argument, NULL, 's'},
					     {"limit", required_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	struct audit_filter f = {0};
	struct err err = {0};
	char since[AUDIT_TIME_MAX];
	struct store *s;
	json_t *all = NULL;
	long limit;
	int c, h, rc;

	if (argc > 1 && strcmp(argv[1], "checkpoint") == 0)
		return cmd_log_checkpoint(cli, argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			f.record_id = optarg;
			continue;
		case 'b':
			f.batch_id = optarg;
			continue;
		case 't':
			f.tool = optarg;
			continue;
		case 'p':
			f.principal = optarg;
			continue;
		case 's':
			if (audit_parse_time(optarg, since, &err))
				return cli_usage(cli, "--since: %s", err.msg);
			f.since = since;
			continue;
		case 'n':
			if ((rc = cli_parse_long(cli, "--limit", optarg, 1, 1000000000L, &limit)))
				return rc;
			f.limit = limit;
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
	if (!cli->json) {
		if (audit_query(s, &f, print_entry_line, NULL, &err))
			return cli_fail_err(cli, &err);
		return CLI_OK;
	}
	all = json_array();
	if (!all)
		return cli_fail(cli, "out of memory");
	rc = audit_query(s, &f, collect_entry, all, &err);
	if (rc == AIRLOCK_ENOMEM && !err.msg[0])
		err_set(&err, rc, "out of memory");
	rc = rc ? cli_fail_err(cli, &err) : cli_print_json(cli, all);
	json_decref(all);
	return rc;
}
