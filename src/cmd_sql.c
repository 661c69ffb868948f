/* cmd_sql.c — `airlock sql`: run one SQL statement on the database,
 * whichever engine holds it (a file or postgres://), and print its rows.
 * For operators and tests, in place of each engine's own shell.
 *
 * Without --write the statement runs in a transaction that is rolled back
 * whatever it did, so looking cannot change the book or its log by
 * accident; --write commits (the action log's append-only guards still
 * hold: they are in the schema, not here). Never migrates the database.
 *
 * Values print one row a line, '|' between columns, NULL empty, a BLOB as
 * x'hex', and text with control bytes escaped (put_text) unless --raw asks
 * for text as stored (as sqlite3 -batch prints it: for scripts and tests
 * that parse a value, never for a terminal showing agent-written text). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value on one line: control bytes (an escape sequence planted in a
 * record by an agent, a newline that would split a row) as \xNN, the
 * backslash doubled so the text stays unambiguous. */
static void put_text(const char *v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void put_value(struct store_stmt *st, int col, int raw)
{
	const unsigned char *b;
	char real[64];
	int i, n;

	switch (store_col_type(st, col)) {
	case 'n':
		return; /* NULL prints empty, as sqlite3's shell */
	case 'r':
		/* as SQLite writes a real ("1200000.0"), on either engine:
		 * PostgreSQL's own text drops the ".0" */
		store_real_json(store_col_double(st, col), real, sizeof real);
		fputs(real, stdout);
		return;
	case 'b':
		b = store_col_blob(st, col);
		n = store_col_bytes(st, col);
		fputs("x'", stdout);
		for (i = 0; i < n; i++)
			printf("%02x", b[i]);
		putchar('\'');
		return;
	}
	if (raw)
		fwrite(store_col_text(st, col), 1, (size_t)store_col_bytes(st, col), stdout);
	else
		put_text(store_col_text(st, col), store_col_bytes(st, col));
}

static json_t *row_json(struct store_stmt *st)
{
	json_t *o = json_object(), *v;
	char *hex;
	const unsigned char *b;
	int col, i, n;

	if (!o)
		return NULL;
	for (col = 0; col < store_col_count(st); col++) {
		switch (store_col_type(st, col)) {
		case 'n':
			v = json_null();
			break;
		case 'i':
			v = json_integer(store_col_int(st, col));
			break;
		case 'r':
			v = json_real(store_col_double(st, col));
			break;
		case 'b':
			b = store_col_blob(st, col);
			n = store_col_bytes(st, col);
			hex = malloc((size_t)n * 2 + 1);
			if (!hex) {
				json_decref(o);
				return NULL;
			}
			for (i = 0; i < n; i++)
				(void)snprintf(hex + i * 2, 3, "%02x", b[i]);
			hex[n * 2] = '\0';
			v = json_string(hex);
			free(hex);
			break;
		default:
			v = json_stringn(store_col_text(st, col), (size_t)store_col_bytes(st, col));
		}
		if (!v || json_object_set_new(o, store_col_name(st, col), v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int cmd_sql(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"write", no_argument, NULL, 'w'},
					      {"header", no_argument, NULL, 'H'},
					      {"raw", no_argument, NULL, 'R'},
					      {NULL, 0, NULL, 0}};
	const char *target;
	struct store *s = NULL;
	struct store_stmt *st = NULL;
	struct err err = {0};
	json_t *rows = NULL, *r;
	int c, done = 0, write = 0, header = 0, raw = 0, i, col, rc = CLI_FAIL, step;
	int64_t nrows = 0;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'w')
			write = 1;
		if (c == 'H')
			header = 1;
		if (c == 'R')
			raw = 1;
	}
	if (optind >= argc)
		return cli_usage(cli, "which statement? (airlock sql \"SELECT ...\" [VALUE...])");
	target = store_target(cli->db_path);
	if (store_connect(&s, target, &err) || store_begin(s, &err))
		goto fail;
	if (store_prepare(s, argv[optind], &st, &err))
		goto fail;
	/* the values after the statement bind to ?1, ?2 ... as text: no
	 * quoting of a value into SQL, here either */
	for (i = optind + 1; i < argc; i++)
		store_bind_text(st, i - optind, argv[i]);
	if (cli->json && !(rows = json_array())) {
		err_set(&err, AIRLOCK_ENOMEM, "out of memory");
		goto fail;
	}
	while ((step = store_step(st, &err)) == STORE_ROW) {
		if (header && nrows == 0 && !cli->json) {
			for (col = 0; col < store_col_count(st); col++) {
				if (col)
					putchar('|');
				put_text(store_col_name(st, col),
					 (int)strlen(store_col_name(st, col)));
			}
			putchar('\n');
		}
		nrows++;
		if (cli->json) {
			r = row_json(st);
			if (!r || json_array_append_new(rows, r)) {
				err_set(&err, AIRLOCK_ENOMEM, "out of memory");
				goto fail;
			}
			continue;
		}
		for (col = 0; col < store_col_count(st); col++) {
			if (col)
				putchar('|');
			put_value(st, col, raw);
		}
		putchar('\n');
	}
	if (step != STORE_DONE)
		goto fail;
	store_done(st);
	st = NULL;
	if (write) {
		if (store_commit(s, &err))
			goto fail;
	} else
		store_rollback(s);
	if (cli->json) {
		json_t *o = json_pack("{s:O,s:I,s:b}", "rows", rows, "changes",
				      (json_int_t)store_changes(s), "committed", write);

		rc = o ? cli_print_json(cli, o) : cli_fail(cli, "out of memory");
		json_decref(o);
	} else
		rc = fflush(stdout) == 0 ? CLI_OK : cli_fail(cli, "cannot write output");
	goto out;
fail:
	rc = cli_fail_err(cli, &err);
out:
	store_done(st);
	json_decref(rows);
	if (s && store_in_transaction(s))
		store_rollback(s);
	store_close(s);
	return rc;
}
