/* cmd_migrate.c — `airlock migrate --to TARGET`: copy the whole database
 * (book, staging, action log, connectors, console) to another engine, e.g.
 * from the SQLite file to PostgreSQL when airlock outgrows one host.
 *
 * The source's action log is verified first and the copy's after: both
 * chains must verify and end at the same head, or nothing is committed.
 * The target must be empty (a fresh database); it gets the schema by
 * store_open's migrations, then every row in one transaction. Tables the
 * target derives itself are not copied: the book's tallies and their
 * PostgreSQL deltas (its triggers count the copied rows), SQLite's text index, and the schema's own
 * version table; SQLite's account_order too (its triggers judge the order in
 * which the target receives the accounts), and its book_gen (the key of the
 * pages a process keeps, book_cache.h: the target has its own, and
 * PostgreSQL none). Never changes the source. */
#include "audit.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copied before the others: the tables other tables' foreign keys name. */
static const char *const parents[] = {"account", "batch", "draft", "outbox", "reviewer"};

static int derived(const char *t)
{
	return !strcmp(t, "schema_migrations") || !strncmp(t, "book_tally", 10) ||
	       !strncmp(t, "account_text", 12) || !strcmp(t, "action_log_head") ||
	       !strcmp(t, "account_order") || !strcmp(t, "book_gen");
}

/* A name from a catalogue, as an identifier (the engines share "..."). */
static int quoted(const char *name, char *buf, size_t len, struct err *err)
{
	int n;

	if (strchr(name, '"'))
		return err_set(err, AIRLOCK_EINVAL, "table or column name %s cannot be copied",
			       name);
	n = snprintf(buf, len, "\"%s\"", name);
	if (n < 0 || (size_t)n >= len)
		return err_set(err, AIRLOCK_EINVAL, "name too long: %.40s", name);
	return 0;
}

static void bind_same(struct store_stmt *to, int idx, struct store_stmt *from, int col)
{
	switch (store_col_type(from, col)) {
	case 'i':
		store_bind_int(to, idx, store_col_int(from, col));
		break;
	case 'r':
		store_bind_double(to, idx, store_col_double(from, col));
		break;
	case 'b':
		store_bind_blob(to, idx, store_col_blob(from, col), store_col_bytes(from, col));
		break;
	case 'n':
		store_bind_null(to, idx);
		break;
	default:
		store_bind_textn(to, idx, store_col_text(from, col), store_col_bytes(from, col));
	}
}

/* Every row of table from src into dst; *rows counts them. */
static int copy_table(struct store *src, struct store *dst, const char *table, int64_t *rows,
		      struct err *err)
{
	char qt[160], qc[160], sel[256], *ins = NULL;
	struct store_stmt *from = NULL, *to = NULL;
	size_t cap = 0, used = 0;
	int rc, ncol, col, n;

	*rows = 0;
	rc = quoted(table, qt, sizeof qt, err);
	if (rc)
		return rc;
	/* the log in chain order: the target's trigger checks each link */
	(void)snprintf(sel, sizeof sel, "SELECT * FROM %s%s", qt,
		       strcmp(table, "action_log") == 0 ? " ORDER BY seq" : "");
	rc = store_prepare(src, sel, &from, err);
	if (rc)
		return rc;
	ncol = store_col_count(from);
	cap = 64 + strlen(qt) + (size_t)ncol * 180;
	ins = malloc(cap);
	if (!ins) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	used = (size_t)snprintf(ins, cap, "INSERT INTO %s(", qt);
	for (col = 0; col < ncol; col++) {
		rc = quoted(store_col_name(from, col), qc, sizeof qc, err);
		if (rc)
			goto out;
		used += (size_t)snprintf(ins + used, cap - used, "%s%s", col ? "," : "", qc);
	}
	used += (size_t)snprintf(ins + used, cap - used, ") VALUES(");
	for (col = 0; col < ncol; col++)
		used += (size_t)snprintf(ins + used, cap - used, "%s?%d", col ? "," : "", col + 1);
	n = snprintf(ins + used, cap - used, ")");
	if (n < 0 || used + (size_t)n >= cap) {
		rc = err_set(err, AIRLOCK_EINVAL, "%s: too many columns", table);
		goto out;
	}
	rc = store_prepare(dst, ins, &to, err);
	if (rc)
		goto out;
	while ((rc = store_step(from, err)) == STORE_ROW) {
		for (col = 0; col < ncol; col++)
			bind_same(to, col + 1, from, col);
		rc = store_step(to, err);
		store_reset(to);
		if (rc != STORE_DONE)
			goto out;
		(*rows)++;
	}
	rc = rc == STORE_DONE ? store_ids_follow(dst, table, err) : rc;
out:
	if (rc)
		err_prefix(err, "table %s", table);
	store_done(from);
	store_done(to);
	free(ins);
	return rc;
}

static int verified(struct cli *cli, struct store *s, const char *side,
		    struct audit_verify_result *r)
{
	struct err err = {0};

	if (audit_verify(s, NULL, r, &err))
		return cli_fail(cli, "%s: %s", side, err.msg);
	if (!r->ok)
		return cli_fail(cli, "%s: the action log does not verify: %s", side, r->message);
	return CLI_OK;
}

static int copy_all(struct store *src, struct store *dst, json_t *tables, json_t *counts,
		    struct err *err)
{
	size_t i, j;
	int pass, rc;
	int64_t rows;

	/* parents first, then the rest in name order */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < json_array_size(tables); i++) {
			const char *t = json_string_value(json_array_get(tables, i));
			int parent = 0;

			for (j = 0; j < sizeof parents / sizeof parents[0]; j++)
				parent |= !strcmp(t, parents[j]);
			if (derived(t) || parent != (pass == 0))
				continue;
			rc = copy_table(src, dst, t, &rows, err);
			if (rc)
				return rc;
			json_object_set_new(counts, t, json_integer(rows));
		}
	}
	return 0;
}

int cmd_migrate(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"to", required_argument, NULL, 't'},
					      {NULL, 0, NULL, 0}};
	const char *to = NULL;
	struct store *src, *dst = NULL;
	struct audit_verify_result before, after;
	struct err err = {0};
	json_t *tables = NULL, *counts = json_object();
	unsigned char head[AUDIT_HASH_BYTES];
	int64_t head_seq, n = 0;
	char hex[AUDIT_HASH_HEX];
	int c, done = 0, rc = CLI_FAIL;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			goto out_quiet;
		if (c == 't')
			to = optarg;
	}
	if (!to || !*to || optind < argc) {
		json_decref(counts);
		return cli_usage(cli, "where to? (airlock migrate --to postgres://HOST/DB)");
	}
	if (!counts)
		return cli_fail(cli, "out of memory");
	if (!(src = cli_store(cli)))
		goto out;
	if (strcmp(to, store_path(src)) == 0) {
		rc = cli_fail(cli, "--to names the database being copied");
		goto out;
	}
	if ((rc = verified(cli, src, "source", &before)) != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	/* a new SQLite file is made (0600); a PostgreSQL database must exist */
	if (store_create(&dst, to, &err) ||
	    store_query_int(dst, "SELECT count(*) FROM action_log", &n, &err))
		goto fail;
	if (n == 0 && store_query_int(dst, "SELECT count(*) FROM account", &n, &err))
		goto fail;
	if (n > 0) {
		rc = cli_fail(cli,
			      "%s already holds a book or a log: migrate copies into an empty "
			      "database only",
			      to);
		goto out;
	}
	if (store_tables(src, &tables, &err) || store_begin(dst, &err))
		goto fail;
	if (copy_all(src, dst, tables, counts, &err) || audit_head(src, &head_seq, head, &err)) {
		store_rollback(dst);
		goto fail;
	}
	/* the head moves once, to the copied log's last entry */
	if (head_seq > 0) {
		struct store_stmt *st;

		if (store_prepare(dst, "UPDATE action_log_head SET seq=?1, hash=?2 WHERE id=1", &st,
				  &err)) {
			store_rollback(dst);
			goto fail;
		}
		store_bind_int(st, 1, head_seq);
		store_bind_blob(st, 2, head, AUDIT_HASH_BYTES);
		c = store_step(st, &err);
		store_done(st);
		if (c != STORE_DONE) {
			store_rollback(dst);
			goto fail;
		}
	}
	if (store_commit(dst, &err))
		goto fail;
	if ((rc = verified(cli, dst, "copy", &after)) != CLI_OK)
		goto out;
	if (after.head_seq != before.head_seq || memcmp(after.head, before.head, sizeof head)) {
		rc =
		    cli_fail(cli, "the copy's log ends elsewhere than the source's: do not use it");
		goto out;
	}
	audit_hash_hex(after.head, hex);
	if (cli->json) {
		json_t *o =
		    json_pack("{s:s,s:s,s:I,s:s,s:O}", "from", store_path(src), "to", to, "entries",
			      (json_int_t)after.count, "head", hex, "rows", counts);

		rc = o ? cli_print_json(cli, o) : cli_fail(cli, "out of memory");
		json_decref(o);
	} else {
		printf("copied %s to %s (%s): the action log verifies on both sides, %lld entries, "
		       "head %s\n",
		       store_path(src), store_backend_name(dst), to, (long long)after.count, hex);
		rc = CLI_OK;
	}
	goto out;
fail:
	rc = cli_fail_err(cli, &err);
out:
	json_decref(tables);
	json_decref(counts);
	store_close(dst);
	return rc;
out_quiet:
	json_decref(counts);
	return done;
}
