/* test_store.c — the store: open, migrations, transactions, statements.
 * On PostgreSQL (tests/run's test_store@postgres) the tests of SQLite's
 * file (WAL and synchronous pragmas, file modes, a file removed or
 * replaced under the connection) are skipped: that engine has no file. */
#include <sys/stat.h>

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
	assert_ok(store_integrity_check(s, &err), &err);
	if (testutil_on_pg()) {
		testutil_store_close(&t);
		return; /* no pragmas there */
	}
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

/* store_read_begin (the I/O thread's cheap reads): one snapshot for the
 * call, and nothing written through the connection meanwhile is held back
 * by it or slips out of the write lock's order. A caller that writes
 * inside it (store_begin, or a bare INSERT) gets its own transaction,
 * committed at once and seen by another connection before the read
 * transaction would have ended. */
static void test_read_transaction_snapshot_and_writes(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t), *other = NULL;
	struct err err = {0};

	(void)state;
	assert_ok(store_exec(s, "CREATE TABLE t(v INTEGER)", &err), &err);
	insert_row(s, 1);
	assert_ok(store_open(&other, t.path, &err), &err);
	assert_ok(store_read_begin(s, &err), &err);
	assert_int_equal(count_rows(s), 1);
	insert_row(other, 2);
	/* SQLite: the call's snapshot holds; PostgreSQL: no transaction */
	assert_int_equal(count_rows(s), testutil_on_pg() ? 2 : 1);
	store_read_end(s);
	assert_int_equal(count_rows(s), 2);
	assert_false(store_in_transaction(s));

	/* a bare write inside it commits on its own, at once */
	assert_ok(store_read_begin(s, &err), &err);
	assert_int_equal(count_rows(s), 2);
	insert_row(s, 3);
	assert_int_equal(count_rows(other), 3);
	store_read_end(s);

	/* store_begin inside it: a write transaction of its own */
	assert_ok(store_read_begin(s, &err), &err);
	assert_int_equal(count_rows(s), 3);
	assert_ok(store_begin(s, &err), &err);
	insert_row(s, 4);
	assert_ok(store_commit(s, &err), &err);
	assert_false(store_in_transaction(s));
	assert_int_equal(count_rows(other), 4);
	store_read_end(s);
	store_read_end(s); /* twice: harmless */

	/* and the connection writes normally afterwards */
	assert_ok(store_begin(s, &err), &err);
	insert_row(s, 5);
	assert_ok(store_commit(s, &err), &err);
	assert_int_equal(count_rows(other), 5);
	store_close(other);
	testutil_store_close(&t);
}

/* A request that fails half-way hands its connection back with a
 * transaction open (nested, even): the next request on that connection
 * must neither see nor commit the half-done rows. */
static void test_pool_rolls_back_what_a_request_left_open(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct store_pool *p;
	struct store_conn *a, *b, *c;
	struct err err = {0};

	(void)state;
	assert_ok(store_exec(s, "CREATE TABLE t(v INTEGER)", &err), &err);
	assert_ok(store_pool_new(&p, t.path, &err), &err);
	a = store_pool_take(p, &err);
	assert_non_null(a);
	assert_ok(store_begin(a->store, &err), &err);
	insert_row(a->store, 1);
	assert_ok(store_begin(a->store, &err), &err);
	insert_row(a->store, 2);
	store_pool_give(p, a); /* abandoned mid-transaction */
	b = store_pool_take(p, &err);
	assert_ptr_equal(b, a); /* the same connection comes back... */
	assert_false(store_in_transaction(b->store)); /* ...with nothing open */
	assert_int_equal(count_rows(b->store), 0);
	c = store_pool_take(p, &err); /* a second one is opened on demand */
	assert_non_null(c);
	assert_ptr_not_equal(c, b);
	assert_int_equal(count_rows(c->store), 0);
	store_pool_give(p, b);
	store_pool_give(p, c);
	store_pool_give(p, NULL);
	assert_int_equal(count_rows(s), 0);
	store_pool_free(p);
	testutil_store_close(&t);
}

/* What a caller keeps with each pooled connection (the MCP endpoints'
 * servers, holding statements prepared on it) is made once per connection
 * by the init hook, comes back with that connection, and is freed with it;
 * a connection whose init fails is not handed out, nor kept. */
struct hook_count {
	int inits, finis, fail_next;
};

static int hook_init(struct store *s, void *arg, void **state, struct err *err)
{
	struct hook_count *h = arg;
	int *mine;

	assert_non_null(s);
	if (h->fail_next) {
		h->fail_next = 0;
		*state = NULL;
		return err_set(err, AIRLOCK_EIO, "init refused");
	}
	mine = malloc(sizeof *mine);
	assert_non_null(mine);
	*mine = ++h->inits;
	*state = mine;
	return 0;
}

static struct hook_count *hook_seen;

static void hook_fini(void *state)
{
	hook_seen->finis++;
	free(state);
}

static void test_pool_keeps_each_connections_state(void **state)
{
	struct testdb t;
	struct hook_count h = {0};
	struct store_pool_hooks hooks = {.init = hook_init, .fini = hook_fini, .arg = &h};
	struct store_pool *p;
	struct store_conn *a, *b, *c;
	struct err err = {0};

	(void)state;
	(void)testutil_store_open(&t);
	hook_seen = &h;
	assert_ok(store_pool_new_hooked(&p, t.path, &hooks, &err), &err);
	a = store_pool_take(p, &err);
	assert_non_null(a);
	assert_int_equal(*(int *)a->state, 1);
	store_pool_give(p, a);
	b = store_pool_take(p, &err);
	assert_ptr_equal(b, a);
	assert_int_equal(*(int *)b->state, 1); /* not made again */
	assert_int_equal(h.inits, 1);
	h.fail_next = 1;
	c = store_pool_take(p, &err); /* a second connection, whose init fails */
	assert_null(c);
	assert_int_equal(err.code, AIRLOCK_EIO);
	c = store_pool_take(p, &err);
	assert_non_null(c);
	assert_int_equal(*(int *)c->state, 2);
	store_pool_give(p, b);
	store_pool_give(p, c);
	assert_int_equal(h.finis, 0);
	store_pool_free(p);
	assert_int_equal(h.finis, 2);
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
	/* the clock starts before the budget is armed: the budget's window
	 * opens at store_budget, and PostgreSQL's statement_timeout is the
	 * window's whole milliseconds left when the statement is sent */
	clock_gettime(CLOCK_MONOTONIC, &a);
	store_budget(s, 100);
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
	assert_true(ms >= 99 && ms < 5000);
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
	assert_int_equal(store_create(&s, "/nonexistent-dir/x/airlock.db", &err), AIRLOCK_EIO);
	assert_null(s);
	assert_non_null(strstr(err.msg, "cannot open database"));
}

/* A typo in --db: an error that says what to do, and no new empty book
 * that the next verb would then "verify" as fine. */
static void test_open_missing_creates_nothing(void **state)
{
	struct testdb t;
	struct store *s = NULL;
	struct err err = {0};
	char typo[400];

	(void)state;
	testutil_store_open(&t);
	snprintf(typo, sizeof typo, "%s/typo.db", t.dir);
	assert_int_equal(store_open(&s, typo, &err), AIRLOCK_ENOTFOUND);
	assert_null(s);
	assert_non_null(strstr(err.msg, "no database at "));
	assert_non_null(strstr(err.msg, "run 'airlock init' to create one"));
	assert_int_equal(access(typo, F_OK), -1);
	testutil_store_close(&t);
}

static unsigned mode_of(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (unsigned)(sb.st_mode & 0777);
}

/* An operator with umask 000 (or 022, the usual one) must not hand the
 * book, the log and the credentials to every user of the host. */
static void test_create_is_private_whatever_the_umask(void **state)
{
	struct testdb t;
	struct err err = {0};
	char side[400];
	mode_t old = umask(0);

	(void)state;
	if (testutil_on_pg()) {
		umask(old);
		skip(); /* a file's test */
	}
	testutil_store_open(&t);
	umask(old);
	assert_ok(store_exec(t.s, "CREATE TABLE x(a); INSERT INTO x VALUES(1)", &err), &err);
	assert_int_equal(mode_of(t.path), 0600);
	snprintf(side, sizeof side, "%s-wal", t.path);
	assert_int_equal(mode_of(side), 0600);
	snprintf(side, sizeof side, "%s-shm", t.path);
	assert_int_equal(mode_of(side), 0600);
	/* a second connection on the existing file keeps it as it is */
	{
		struct store *b = NULL;

		umask(0);
		assert_ok(store_create(&b, t.path, &err), &err);
		umask(old);
		assert_int_equal(mode_of(t.path), 0600);
		store_close(b);
	}
	testutil_store_close(&t);
}

static void remove_db_files(const char *path)
{
	char side[400];

	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

/* rm airlock.db* under a running server: the connection still holds the
 * orphaned file, and a write "succeeding" there is lost for good. Every
 * write after that must be refused, and nothing recreated. */
static void test_removed_database_refuses_writes(void **state)
{
	struct testdb t;
	struct store_stmt *st;
	struct err err = {0};

	(void)state;
	if (testutil_on_pg())
		skip(); /* a file's test */
	testutil_store_open(&t);
	assert_ok(store_exec(t.s, "CREATE TABLE x(a)", &err), &err);
	assert_ok(store_file_ok(t.s, &err), &err);
	remove_db_files(t.path);
	assert_int_equal(store_begin(t.s, &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "was removed or replaced"));
	assert_false(store_in_transaction(t.s));
	/* a write outside a transaction (autocommit) too */
	err_clear(&err);
	assert_ok(store_prepare(t.s, "INSERT INTO x VALUES(1)", &st, &err), &err);
	assert_int_equal(store_step(st, &err), AIRLOCK_ESTATE);
	store_done(st);
	/* reads still run on the open file */
	assert_ok(store_prepare(t.s, "SELECT count(*) FROM x", &st, &err), &err);
	assert_int_equal(store_step(st, &err), STORE_ROW);
	store_done(st);
	assert_int_equal(access(t.path, F_OK), -1);
	testutil_store_close(&t);
}

/* The file swapped for another one (a restore with mv, another book):
 * this connection's writes would go to the old one. */
static void test_replaced_database_refuses_writes(void **state)
{
	struct testdb t;
	struct store *other = NULL;
	struct err err = {0};
	char other_path[400];

	(void)state;
	if (testutil_on_pg())
		skip(); /* a file's test */
	testutil_store_open(&t);
	snprintf(other_path, sizeof other_path, "%s/other.db", t.dir);
	assert_ok(store_create(&other, other_path, &err), &err);
	store_close(other);
	assert_int_equal(rename(other_path, t.path), 0);
	assert_int_equal(store_begin(t.s, &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "was removed or replaced"));
	/* and stays refused even if the original came back */
	assert_int_equal(store_file_ok(t.s, &err), AIRLOCK_ESTATE);
	/* a connection opened on the new file writes normally */
	assert_ok(store_open(&other, t.path, &err), &err);
	assert_ok(store_begin(other, &err), &err);
	assert_ok(store_commit(other, &err), &err);
	store_close(other);
	testutil_store_close(&t);
}

static void test_writable_when_it_is(void **state)
{
	struct testdb t;
	struct err err = {0};

	(void)state;
	testutil_store_open(&t);
	assert_ok(store_writable(t.s, &err), &err);
	testutil_store_close(&t);
}

/* A list parameter (store_bind_list) carries each id exactly, once, in
 * bytewise order: plain ids are written without jansson, and an id a
 * hostile agent shaped to break out of the JSON text (quotes, backslashes,
 * a newline, "]") or in another script must come back as itself, never
 * as more ids or none. */
static void test_list_binds_every_id_as_given(void **state)
{
	static const char *const plain[] = {"A2", "A10", "A1", "A2", "signal:S 9"};
	static const char *const hostile[] = {"A1", "x\",\"y", "back\\slash", "line\nfeed",
					      "]", "caf\xc3\xa9", "A1"};
	static const char *const want_plain[] = {"A1", "A10", "A2", "signal:S 9"};
	static const char *const want_hostile[] = {"A1", "]", "back\\slash", "caf\xc3\xa9",
						   "line\nfeed", "x\",\"y"};
	struct {
		const char *const *in, *const *want;
		size_t nin, nwant;
	} cases[] = {{plain, want_plain, 5, 4}, {hostile, want_hostile, 7, 6}};
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct store_stmt *st;
	struct err err = {0};
	size_t c, i, k;

	(void)state;
	for (c = 0; c < 2; c++) {
		json_t *set = json_array();

		for (i = 0; i < cases[c].nin; i++)
			json_array_append_new(set, json_string(cases[c].in[i]));
		assert_ok(store_prepare_list(s, "SELECT value FROM %s AS l", 1, &st, &err), &err);
		store_bind_list(st, 1, set);
		for (k = 0; store_step(st, &err) == STORE_ROW; k++) {
			assert_true(k < cases[c].nwant);
			assert_string_equal(store_col_text(st, 0), cases[c].want[k]);
		}
		assert_int_equal(k, cases[c].nwant);
		store_done(st);
		json_decref(set);
	}
	testutil_store_close(&t);
}

/* store_json_dump writes what json_dumps writes, small (on the stack) or
 * past its 4 KiB buffer (grown on the heap), and nothing for what jansson
 * refuses to dump. */
static void test_json_dump_matches_jansson(void **state)
{
	char big[9000];
	json_t *vals[3];
	char *a, *b;
	size_t i;

	(void)state;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[100] = '"';
	vals[0] = json_pack("{s:i,s:s,s:[s,n,b],s:f}", "tier", 2, "name", "Caf\xc3\xa9 \"A\"",
			    "ev", "S1", 1, "arr", 1.5);
	vals[1] = json_pack("{s:s,s:s}", "a", big, "b", big);
	vals[2] = json_string("a bare string");
	for (i = 0; i < 3; i++) {
		a = store_json_dump(vals[i], JSON_COMPACT | JSON_SORT_KEYS);
		b = json_dumps(vals[i], JSON_COMPACT | JSON_SORT_KEYS);
		if (b) {
			assert_non_null(a);
			assert_string_equal(a, b);
		} else
			assert_null(a); /* a bare string without JSON_ENCODE_ANY */
		free(a);
		free(b);
		json_decref(vals[i]);
	}
}

/* A statement inside a transaction that changes more of the file than a
 * statement journal spilling at 4 MiB would keep in memory: it must still
 * commit. With that spill threshold, SQLite 3.40 (Debian 12's) failed such
 * a statement with "database or disk is full" (staging a 20,000-item
 * proposal, or undoing one); the journal now stays in memory. */
static void test_big_statement_in_a_transaction(void **state)
{
	struct testdb t;
	struct store *s;
	struct err err = {0};
	int64_t n = 0;

	(void)state;
	if (testutil_on_pg()) {
		skip(); /* SQLite's journal */
		return;
	}
	s = testutil_store_open(&t);
	assert_ok(store_exec(s,
			     "CREATE TABLE big(id INTEGER PRIMARY KEY, v TEXT CHECK (length(v) < 9000));"
			     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<40000)"
			     " INSERT INTO big SELECT i, printf('%.400c', 'a') FROM n;",
			     &err),
		  &err);
	assert_ok(store_begin(s, &err), &err);
	/* ~16 MB of pages changed by one statement that may fail midway (a
	 * failure rolls back first: the next test needs the write lock) */
	if (store_exec(s, "INSERT INTO big(id, v) VALUES(0, 'first')", &err) ||
	    store_exec(s, "UPDATE big SET v = v || 'b' WHERE id > 0", &err) ||
	    store_exec(s, "UPDATE big SET v = v || 'c' WHERE id > 0", &err)) {
		store_rollback(s);
		fail_msg("a big statement in a transaction: %s", err.msg);
	}
	assert_ok(store_commit(s, &err), &err);
	assert_ok(store_query_int(s, "SELECT count(*) FROM big WHERE v LIKE '%bc'", &n, &err), &err);
	assert_int_equal(n, 40000);
	testutil_store_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_sets_wal_and_migrates),
		cmocka_unit_test(test_open_missing_creates_nothing),
		cmocka_unit_test(test_create_is_private_whatever_the_umask),
		cmocka_unit_test(test_removed_database_refuses_writes),
		cmocka_unit_test(test_replaced_database_refuses_writes),
		cmocka_unit_test(test_writable_when_it_is),
		cmocka_unit_test(test_reopen_keeps_version),
		cmocka_unit_test(test_newer_schema_is_refused),
		cmocka_unit_test(test_nested_transactions),
		cmocka_unit_test(test_big_statement_in_a_transaction),
		cmocka_unit_test(test_read_transaction_snapshot_and_writes),
		cmocka_unit_test(test_pool_rolls_back_what_a_request_left_open),
		cmocka_unit_test(test_pool_keeps_each_connections_state),
		cmocka_unit_test(test_statement_cache_and_errors),
		cmocka_unit_test(test_open_unwritable_path),
		cmocka_unit_test(test_budget_stops_a_runaway_query),
		cmocka_unit_test(test_list_binds_every_id_as_given),
		cmocka_unit_test(test_json_dump_matches_jansson),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
