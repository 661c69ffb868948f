/* bench_bookgen.c — how long `airlock demo` takes to generate a book, against
 * a baseline measured in the same run: the same rows copied into a fresh
 * database by the plainest loop (one prepared INSERT per table, bind, step,
 * one transaction, same schema and indexes). The ratio is what generating,
 * validating and converting through book.h costs on top of SQLite itself.
 *
 * usage: bench_bookgen [ACCOUNTS [RUNS]]   (default 4000 3; best run kept) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bookgen.h"
#include "store.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what, const struct err *err)
{
	fprintf(stderr, "bench_bookgen: %s: %s\n", what, err->msg);
	return 1;
}

/* Copies every row of src.TABLE into main.TABLE, row by row. */
static int copy_table(struct store *s, const char *table, int64_t *rows, struct err *err)
{
	char sel[128], ins[512];
	struct store_stmt *from, *to;
	size_t used;
	int i, n, rc;

	snprintf(sel, sizeof sel, "SELECT * FROM src.%s ORDER BY rowid", table);
	rc = store_prepare(s, sel, &from, err);
	if (rc)
		return rc;
	n = store_col_count(from);
	used = (size_t)snprintf(ins, sizeof ins, "INSERT INTO main.%s VALUES(", table);
	for (i = 0; i < n && used < sizeof ins; i++)
		used +=
		    (size_t)snprintf(ins + used, sizeof ins - used, "%s?%d", i ? "," : "", i + 1);
	snprintf(ins + used, sizeof ins - used, ")");
	rc = store_prepare(s, ins, &to, err);
	if (rc) {
		store_done(from);
		return rc;
	}
	while ((rc = store_step(from, err)) == STORE_ROW) {
		for (i = 0; i < n; i++) {
			switch (store_col_type(from, i)) {
			case 'i':
				store_bind_int(to, i + 1, store_col_int(from, i));
				break;
			case 'r':
				store_bind_double(to, i + 1, store_col_double(from, i));
				break;
			case 'n':
				store_bind_null(to, i + 1);
				break;
			default:
				store_bind_text(to, i + 1, store_col_text(from, i));
				break;
			}
		}
		rc = store_step(to, err);
		store_done(to);
		if (rc != STORE_DONE)
			break;
		rc = store_prepare(s, ins, &to, err);
		if (rc)
			break;
		(*rows)++;
	}
	store_done(to);
	store_done(from);
	return rc == STORE_DONE ? 0 : rc;
}

/* One run: generate into a.db, then copy a.db's rows into b.db. */
static int run(int64_t accounts, double *gen_s, double *raw_s, int64_t *rows)
{
	char dir[] = "/tmp/airlock-bench-XXXXXX", a[128], b[128], attach[200], cmd[160];
	struct bookgen_opts o;
	struct store *s = NULL;
	struct err err = {0};
	double t0;
	int rc = 1;

	if (!mkdtemp(dir))
		return 1;
	snprintf(a, sizeof a, "%s/a.db", dir);
	snprintf(b, sizeof b, "%s/b.db", dir);
	bookgen_opts_init(&o);
	o.accounts = accounts;
	if (store_create(&s, a, &err)) {
		die("open", &err);
		goto out;
	}
	t0 = now_s();
	if (bookgen_generate(s, &o, NULL, &err)) {
		die("generate", &err);
		goto out;
	}
	*gen_s = now_s() - t0;
	store_close(s);
	s = NULL;
	if (store_create(&s, b, &err)) {
		die("open", &err);
		goto out;
	}
	snprintf(attach, sizeof attach, "ATTACH '%s' AS src", a);
	*rows = 0;
	t0 = now_s();
	if (store_exec(s, attach, &err) || store_begin(s, &err) ||
	    copy_table(s, "account", rows, &err) || copy_table(s, "contact", rows, &err) ||
	    copy_table(s, "signal", rows, &err) || store_commit(s, &err)) {
		die("baseline", &err);
		goto out;
	}
	*raw_s = now_s() - t0;
	rc = 0;
out:
	store_close(s);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_bookgen: could not remove %s\n", dir);
	return rc;
}

int main(int argc, char **argv)
{
	int64_t accounts = argc > 1 ? strtoll(argv[1], NULL, 10) : 4000, rows = 0;
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3, i;
	double gen, raw, best_gen = 1e9, best_raw = 1e9;

	if (accounts < 1 || accounts > BOOKGEN_MAX_ACCOUNTS || runs < 1) {
		fprintf(stderr, "usage: bench_bookgen [ACCOUNTS [RUNS]]\n");
		return 2;
	}
	for (i = 0; i < runs; i++) {
		if (run(accounts, &gen, &raw, &rows))
			return 1;
		if (gen < best_gen)
			best_gen = gen;
		if (raw < best_raw)
			best_raw = raw;
	}
	printf("bookgen %lld accounts (%lld rows), best of %d: generate %.3f s (%.0f rows/s),"
	       " baseline copy %.3f s, ratio %.1fx\n",
	       (long long)accounts, (long long)rows, runs, best_gen, (double)rows / best_gen,
	       best_raw, best_gen / best_raw);
	return 0;
}
