/* test_store.c — the store: open, migrations, transactions, statements. */
#include "testutil.h"

#include <sqlite3.h>
#include <time.h>

static void test_open_sets_wal_and_migrates(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct store_stmt *st;
	struct err err = {0};
	int64_t v;

	(void)state;
	assert_ok(store_schema_version(s, &v, &err), &err);
	assert_int_equal(v, store_migrations[store_migration_count - 1].version);
	assert_ok(store_prepare(s, "PRAGMA journal_mode", &st, &err), &err);
	assert_int_equal(store_step(st, &err), STORE_ROW);
	assert_string_equal(store_col_text(st, 0), "wal");
	store_done(st);
	assert_ok(store_prepare(s, "PRAGMA synchronous", &st, &err), &err);
	assert_int_equal(store_step(st, &err), STORE_ROW);
	assert_int_equal(store_col_int(st, 0), 2); /* FULL */
	store_done(st);
	assert_ok(store_prepare(s, "PRAGMA foreign_keys", &st, &err), &err);
	assert_int_equal(store_step(st, &err), STORE_ROW);
	assert_int_equal(store_col_int(st, 0), 1);
	store_done(st);
	assert_ok(store_integrity_check(s, &err), &err);
	testutil_store_close(&t);
}

static void test_reopen_keeps_version(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	int64_t v1, v2;

	(void)state;
	assert_ok(store_schema_version(s, &v1, &err), &err);
	store_close(s);
	assert_ok(store_open(&t.s, t.path, &err), &err);
	assert_ok(store_schema_version(t.s, &v2, &err), &err);
	assert_int_equal(v1, v2);
	testutil_store_close(&t);
}

static void test_newer_schema_is_refused(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};

	(void)state;
	assert_ok(store_exec(s, "INSERT INTO schema_migrations VALUES(9999,'future','x')", &err),
		  &err);
	store_close(s);
	assert_int_equal(store_open(&t.s, t.path, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "newer than this airlock"));
	assert_null(t.s);
	testutil_store_close(&t);
}

static int64_t count_rows(struct store *s)
{
	struct store_stmt *st;
	struct err err = {0};
	int64_t n = -1;

	assert_ok(store_prepare(s, "SELECT count(*) FROM t", &st, &err), &err);
	if (store_step(st, &err) == STORE_ROW)
		n = store_col_int(st, 0);
	store_done(st);
	return n;
}

static void insert_row(struct store *s, int v)
{
	struct store_stmt *st;
	struct err err = {0};

	assert_ok(store_prepare(s, "INSERT INTO t(v) VALUES(?1)", &st, &err), &err);
	store_bind_int(st, 1, v);
	assert_int_equal(store_step(st, &err), STORE_DONE);
	store_done(st);
}

static void test_nested_transactions(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};

	(void)state;
	assert_ok(store_exec(s, "CREATE TABLE t(v INTEGER)", &err), &err);
	assert_ok(store_begin(s, &err), &err);
	insert_row(s, 1);
	assert_ok(store_begin(s, &err), &err);
	insert_row(s, 2);
	store_rollback(s); /* inner only */
	assert_int_equal(count_rows(s), 1);
	assert_ok(store_begin(s, &err), &err);
	insert_row(s, 3);
	assert_ok(store_commit(s, &err), &err);
	assert_ok(store_commit(s, &err), &err);
	assert_false(store_in_transaction(s));
	assert_int_equal(count_rows(s), 2);
	assert_ok(store_begin(s, &err), &err);
	insert_row(s, 4);
	store_rollback(s);
	assert_int_equal(count_rows(s), 2);
	assert_int_equal(store_commit(s, &err), AIRLOCK_ESTATE);
	testutil_store_close(&t);
}

static void test_statement_cache_and_errors(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct store_stmt *a, *b, *c;
	struct err err = {0};

	(void)state;
	assert_ok(store_prepare(s, "SELECT 1", &a, &err), &err);
	/* the same SQL while the first is in use gets a second statement */
	assert_ok(store_prepare(s, "SELECT 1", &b, &err), &err);
	assert_ptr_not_equal(a, b);
	store_done(a);
	store_done(b);
	/* once both are done, the cache hands one of them back, no third */
	assert_ok(store_prepare(s, "SELECT 1", &c, &err), &err);
	assert_true(c == a || c == b);
	store_done(c);
	assert_int_not_equal(store_prepare(s, "SELEC nonsense", &a, &err), 0);
	assert_non_null(strstr(err.msg, "cannot prepare"));
	/* a bind error is reported by the step */
	assert_ok(store_prepare(s, "SELECT ?1", &a, &err), &err);
	store_bind_int(a, 5, 1);
	assert_int_equal(store_step(a, &err), AIRLOCK_EINVAL);
	store_done(a);
	testutil_store_close(&t);
}

/* A query that would never end (what a pathological search can become)
 * is stopped at its budget, says so, and leaves the connection usable. */
static void test_budget_stops_a_runaway_query(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct store_stmt *st;
	struct err err = {0};
	struct timespec a, b;
	double ms;
	int rc;

	(void)state;
	store_budget(s, 100);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_ok(store_prepare(s,
				"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)"
				" SELECT count(*) FROM n",
				&st, &err),
		  &err);
	rc = store_step(st, &err);
	store_done(st);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	assert_int_equal(rc, AIRLOCK_EBUSY);
	assert_non_null(strstr(err.msg, "time budget"));
	assert_true(store_budget_spent(s));
	assert_true(ms >= 100 && ms < 5000);
	/* without a budget the connection answers again */
	store_budget(s, 0);
	assert_false(store_budget_spent(s));
	assert_ok(store_prepare(s, "SELECT 1", &st, &err), &err);
	assert_int_equal(store_step(st, &err), STORE_ROW);
	store_done(st);
	testutil_store_close(&t);
}

static void test_open_unwritable_path(void **state)
{
	struct store *s = NULL;
	struct err err = {0};

	(void)state;
	assert_int_equal(store_open(&s, "/nonexistent-dir/x/airlock.db", &err), AIRLOCK_EIO);
	assert_null(s);
	assert_non_null(strstr(err.msg, "cannot open database"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_sets_wal_and_migrates),
		cmocka_unit_test(test_reopen_keeps_version),
		cmocka_unit_test(test_newer_schema_is_refused),
		cmocka_unit_test(test_nested_transactions),
		cmocka_unit_test(test_statement_cache_and_errors),
		cmocka_unit_test(test_open_unwritable_path),
		cmocka_unit_test(test_budget_stops_a_runaway_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
