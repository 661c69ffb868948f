/* test_store_engine.c — the engine contract of store.h, run on every
 * backend: SQLite always, and PostgreSQL when $AIRLOCK_TEST_PG names a
 * database (tests/run starts a throwaway cluster with tests/pg.sh and sets
 * it). The same assertions on both engines are what lets callers stay
 * engine-blind. */
#include <pthread.h>
#include <time.h>

#include "testutil.h"

#include "store_int.h"

struct engine {
	const char *name;
	char target[512]; /* a path or a postgres:// URL */
	char dir[256];	  /* SQLite's temp folder */
};

static struct engine sqlite_engine = {.name = "sqlite"};
static struct engine pg_engine = {.name = "postgres"};

/* An empty SQLite file the engine tests fill with their own tables. */
static int engine_setup(void)
{
	struct engine *e = &sqlite_engine;
	const char *url = getenv("AIRLOCK_TEST_PG");
	struct store *s;
	struct err err = {0};

	snprintf(e->dir, sizeof e->dir, "/tmp/airlock-engine-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->target, sizeof e->target, "%s/engine.db", e->dir);
	if (store_create(&s, e->target, &err))
		return -1;
	store_close(s);
	if (url && snprintf(pg_engine.target, sizeof pg_engine.target, "%s", url) >=
		       (int)sizeof pg_engine.target)
		return -1;
	return 0;
}

static void engine_teardown(void)
{
	char cmd[320];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", sqlite_engine.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", sqlite_engine.dir);
}

static struct store *connect_engine(void **state)
{
	struct engine *e = *state;
	struct store *s = NULL;
	struct err err = {0};

	assert_ok(store_connect(&s, e->target, &err), &err);
	return s;
}

/* A table of the test's own, empty, on whichever engine. */
static void fresh_table(struct store *s, const char *name, const char *cols)
{
	char sql[256];
	struct err err = {0};

	snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", name);
	assert_ok(store_exec(s, sql, &err), &err);
	snprintf(sql, sizeof sql, "CREATE TABLE %s(%s)", name, cols);
	assert_ok(store_exec(s, sql, &err), &err);
}

static int64_t count_of(struct store *s, const char *sql)
{
	struct err err = {0};
	int64_t n = -1;

	assert_ok(store_query_int(s, sql, &n, &err), &err);
	return n;
}

static void insert_v(struct store *s, const char *table, int v)
{
	struct store_stmt *st;
	struct err err = {0};
	char sql[128];

	snprintf(sql, sizeof sql, "INSERT INTO %s(v) VALUES(?1)", table);
	assert_ok(store_prepare(s, sql, &st, &err), &err);
	store_bind_int(st, 1, v);
	assert_int_equal(store_step(st, &err), STORE_DONE);
	store_done(st);
}

static void test_engine_nested_transactions(void **state)
{
	struct store *s = connect_engine(state);
	struct err err = {0};

	fresh_table(s, "e_nest", "v INTEGER");
	assert_ok(store_begin(s, &err), &err);
	insert_v(s, "e_nest", 1);
	assert_ok(store_begin(s, &err), &err);
	insert_v(s, "e_nest", 2);
	store_rollback(s); /* the inner one only */
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_nest"), 1);
	assert_ok(store_begin(s, &err), &err);
	insert_v(s, "e_nest", 3);
	assert_ok(store_commit(s, &err), &err);
	assert_ok(store_commit(s, &err), &err);
	assert_false(store_in_transaction(s));
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_nest"), 2);
	assert_ok(store_begin(s, &err), &err);
	insert_v(s, "e_nest", 4);
	store_rollback(s);
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_nest"), 2);
	assert_int_equal(store_commit(s, &err), AIRLOCK_ESTATE);
	store_close(s);
}

/* Values come back as they went in: 64-bit integers, reals, text with
 * quotes and question marks (a "?" inside a literal is not a parameter),
 * NULL, and blobs holding NUL bytes (a hash). */
static void test_engine_values_round_trip(void **state)
{
	struct store *s = connect_engine(state);
	struct store_stmt *st;
	struct err err = {0};
	unsigned char blob[32];
	int i;

	for (i = 0; i < 32; i++)
		blob[i] = (unsigned char)(i * 37); /* 0x00 first */
	fresh_table(s, "e_vals", "i BIGINT, r DOUBLE PRECISION, t TEXT, n TEXT, b BYTEA");
	assert_ok(store_prepare(s,
				"INSERT INTO e_vals(i,r,t,n,b) SELECT ?1, ?2, ?3, ?4, ?5"
				" WHERE 'is this a parameter?' <> ''",
				&st, &err),
		  &err);
	store_bind_int(st, 1, INT64_C(-9007199254740993));
	store_bind_double(st, 2, 0.1);
	store_bind_text(st, 3, "O'Brien; DROP TABLE e_vals; -- ?1");
	store_bind_text(st, 4, NULL);
	store_bind_blob(st, 5, blob, 32);
	assert_int_equal(store_step(st, &err), STORE_DONE);
	store_done(st);
	assert_int_equal(store_changes(s), 1);
	assert_ok(store_prepare(s, "SELECT i, r, t, n, b FROM e_vals WHERE t = ?1", &st, &err),
		  &err);
	store_bind_text(st, 1, "O'Brien; DROP TABLE e_vals; -- ?1");
	assert_int_equal(store_step(st, &err), STORE_ROW);
	assert_int_equal(store_col_count(st), 5);
	assert_string_equal(store_col_name(st, 2), "t");
	assert_true(store_col_int(st, 0) == INT64_C(-9007199254740993));
	assert_int_equal(store_col_type(st, 0), 'i');
	assert_true(store_col_double(st, 1) == 0.1);
	assert_int_equal(store_col_type(st, 1), 'r');
	assert_string_equal(store_col_text(st, 2), "O'Brien; DROP TABLE e_vals; -- ?1");
	assert_int_equal(store_col_type(st, 2), 't');
	assert_true(store_col_is_null(st, 3));
	assert_null(store_col_text(st, 3));
	assert_int_equal(store_col_type(st, 4), 'b');
	assert_int_equal(store_col_bytes(st, 4), 32);
	assert_memory_equal(store_col_blob(st, 4), blob, 32);
	{
		/* the same row, each column in one call (store_col_typed) */
		static const int types[] = {'i', 'r', 't', 'n', 'b'};
		const void *p;
		size_t len = 99;
		int type = 0;

		for (i = 0; i < 5; i++) {
			p = store_col_typed(st, i, &type, &len);
			assert_int_equal(type, types[i]);
			if (i < 2 || i == 3) {
				assert_null(p);
				assert_int_equal(len, 0);
			}
		}
		p = store_col_typed(st, 2, &type, &len);
		assert_int_equal(len, strlen("O'Brien; DROP TABLE e_vals; -- ?1"));
		assert_memory_equal(p, "O'Brien; DROP TABLE e_vals; -- ?1", len);
		p = store_col_typed(st, 4, &type, &len);
		assert_int_equal(len, 32);
		assert_memory_equal(p, blob, 32); /* its NUL bytes too */
	}
	assert_int_equal(store_step(st, &err), STORE_DONE);
	store_done(st);
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_vals"), 1);
	store_close(s);
}

/* Statements are cached per SQL text and a failing one reports itself;
 * a constraint violation is invalid input, not an I/O failure. */
static void test_engine_errors(void **state)
{
	struct store *s = connect_engine(state);
	struct store_stmt *a, *b;
	struct err err = {0};
	int exists = -1;

	fresh_table(s, "e_err", "id INTEGER PRIMARY KEY, v INTEGER NOT NULL");
	assert_ok(store_prepare(s, "SELECT 1", &a, &err), &err);
	assert_ok(store_prepare(s, "SELECT 1", &b, &err), &err);
	assert_ptr_not_equal(a, b);
	store_done(a);
	store_done(b);
	assert_int_not_equal(store_prepare(s, "SELEC nonsense", &a, &err), 0);
	assert_non_null(strstr(err.msg, "cannot prepare"));
	assert_ok(store_prepare(s, "SELECT ?1", &a, &err), &err);
	store_bind_int(a, 5, 1); /* no parameter 5 */
	assert_int_equal(store_step(a, &err), AIRLOCK_EINVAL);
	store_done(a);
	assert_ok(store_prepare(s, "INSERT INTO e_err(id, v) VALUES(?1, ?2)", &a, &err), &err);
	store_bind_int(a, 1, 1);
	store_bind_null(a, 2);
	assert_int_equal(store_step(a, &err), AIRLOCK_EINVAL);
	store_done(a);
	assert_ok(store_table_exists(s, "e_err", &exists, &err), &err);
	assert_int_equal(exists, 1);
	assert_ok(store_table_exists(s, "e_missing", &exists, &err), &err);
	assert_int_equal(exists, 0);
	store_close(s);
}

/* The id the database gave a row, without SQLite's last_insert_rowid(). */
static void test_engine_last_insert_id(void **state)
{
	struct store *s = connect_engine(state);
	struct err err = {0};
	struct engine *e = *state;
	int64_t id = 0;

	fresh_table(s, "e_ids",
		    strcmp(e->name, "postgres") == 0
			? "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v INTEGER"
			: "id INTEGER PRIMARY KEY, v INTEGER");
	insert_v(s, "e_ids", 7);
	insert_v(s, "e_ids", 8);
	assert_ok(store_last_insert_id(s, &id, &err), &err);
	assert_int_equal(id, 2);
	assert_int_equal(count_of(s, "SELECT v FROM e_ids WHERE id = 2"), 8);
	store_close(s);
}

/* A query that would never end is stopped at its budget, says so, and
 * leaves the connection usable. */
static void test_engine_budget_stops_a_runaway_query(void **state)
{
	struct store *s = connect_engine(state);
	struct store_stmt *st;
	struct err err = {0};
	struct timespec a, b;
	double ms;

	store_budget(s, 150);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_ok(store_prepare(s,
				"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)"
				" SELECT count(*) FROM n",
				&st, &err),
		  &err);
	assert_int_equal(store_step(st, &err), AIRLOCK_EBUSY);
	store_done(st);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	assert_true(ms < 5000);
	assert_non_null(strstr(err.msg, "time budget"));
	assert_true(store_budget_spent(s));
	store_budget(s, 0);
	assert_int_equal(count_of(s, "SELECT 41 + 1"), 42);
	store_close(s);
}

/* The cumulative-radius shape: read a total, add only while it stays
 * under the cap, commit. Many writers on their own connections (as agents
 * on several servers) race; a write transaction that did not exclude the
 * others would let two read the same total and both add. */
#define RACE_CAP 12
#define RACE_THREADS 6
#define RACE_TRIES 8

static void *race_writer(void *arg)
{
	const char *target = arg;
	struct store *s = NULL;
	struct err err = {0};
	int64_t n;
	int i;

	if (store_connect(&s, target, &err))
		return (void *)1;
	for (i = 0; i < RACE_TRIES; i++) {
		struct store_stmt *st;

		if (store_begin(s, &err))
			break;
		if (store_query_int(s, "SELECT count(*) FROM e_race", &n, &err)) {
			store_rollback(s);
			break;
		}
		usleep(2000); /* widen the window between the check and the write */
		if (n < RACE_CAP &&
		    store_prepare(s, "INSERT INTO e_race(v) VALUES(1)", &st, &err) == 0) {
			store_step(st, &err);
			store_done(st);
		}
		if (store_commit(s, &err))
			break;
	}
	store_close(s);
	return NULL;
}

static void test_engine_write_transactions_exclude_each_other(void **state)
{
	struct engine *e = *state;
	struct store *s = connect_engine(state);
	pthread_t th[RACE_THREADS];
	int i;

	fresh_table(s, "e_race", "v INTEGER");
	for (i = 0; i < RACE_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_writer, e->target), 0);
	for (i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_race"), RACE_CAP);
	store_close(s);
}

/* A failed statement inside a transaction must not let the commit report
 * success for work that was thrown away. */
static void test_engine_commit_after_failure_is_not_success(void **state)
{
	struct store *s = connect_engine(state);
	struct store_stmt *st;
	struct err err = {0};
	int rc;

	fresh_table(s, "e_fail", "v INTEGER NOT NULL");
	assert_ok(store_begin(s, &err), &err);
	insert_v(s, "e_fail", 1);
	assert_ok(store_prepare(s, "INSERT INTO e_fail(v) VALUES(NULL)", &st, &err), &err);
	assert_int_equal(store_step(st, &err), AIRLOCK_EINVAL);
	store_done(st);
	rc = store_commit(s, &err);
	/* SQLite keeps the good row and commits; PostgreSQL lost the whole
	 * transaction and must say so. Either way the count matches what the
	 * commit reported. */
	if (rc == 0)
		assert_int_equal(count_of(s, "SELECT count(*) FROM e_fail"), 1);
	else
		assert_int_equal(count_of(s, "SELECT count(*) FROM e_fail"), 0);
	assert_false(store_in_transaction(s));
	store_close(s);
}

/* The whole schema migrates on PostgreSQL (store_pg_schema.c), once: a
 * second open finds nothing to do. */
static void test_pg_open_migrates_the_schema(void **state)
{
	struct engine *e = *state;
	struct store *s = NULL;
	struct err err = {0};
	int64_t v = 0;
	int exists = 0;

	assert_ok(store_open(&s, e->target, &err), &err);
	assert_string_equal(store_backend_name(s), "postgres");
	assert_ok(store_schema_version(s, &v, &err), &err);
	assert_int_equal(v, store_migrations[store_migration_count - 1].version);
	assert_ok(store_table_exists(s, "action_log", &exists, &err), &err);
	assert_int_equal(exists, 1);
	store_close(s);
	assert_ok(store_open(&s, e->target, &err), &err);
	assert_int_equal(count_of(s, "SELECT count(*) FROM schema_migrations"),
			 store_migration_count);
	store_close(s);
}

static int run_sql(struct store *s, const char *sql, struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	rc = store_step(st, err);
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* Someone with the database's password (another tool, a hand-typed
 * statement) tries to rewrite history on PostgreSQL: UPDATE, DELETE and
 * TRUNCATE of the log are refused, and so is an entry that does not extend
 * the chain from its head. */
static void test_pg_action_log_is_append_only(void **state)
{
	struct engine *e = *state;
	struct store *s = NULL;
	struct err err = {0};
	static const char *const attacks[] = {
	    "UPDATE action_log SET body = 'forged'",
	    "DELETE FROM action_log",
	    "TRUNCATE action_log",
	    "TRUNCATE action_log_record",
	    "DELETE FROM action_log_head",
	    "INSERT INTO action_log_head(id, seq, hash) VALUES (2, 0, ''::bytea)",
	    "INSERT INTO action_log(seq, at, principal, surface, tool, body, prev_hash, hash)"
	    " VALUES (5, 'x', 'p', 's', 't', '{}', decode(repeat('ab', 32), 'hex'),"
	    " decode(repeat('cd', 32), 'hex'))",
	    "UPDATE action_log_head SET seq = 7",
	};
	size_t i;

	assert_ok(store_open(&s, e->target, &err), &err);
	/* one genuine-looking entry from the zero head, so there is a row to
	 * rewrite */
	if (count_of(s, "SELECT count(*) FROM action_log") == 0)
		assert_ok(
		    run_sql(s,
			    "INSERT INTO action_log(seq, at, principal, surface, tool, body,"
			    " prev_hash, hash) VALUES (1, 'x', 'p', 's', 't', '{}',"
			    " decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'))",
			    &err),
		    &err);
	for (i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
		err.msg[0] = '\0';
		assert_int_equal(run_sql(s, attacks[i], &err), AIRLOCK_EINVAL);
		assert_true(strstr(err.msg, "append-only") || strstr(err.msg, "exactly one row") ||
			    strstr(err.msg, "extend the chain") || strstr(err.msg, "newest entry"));
	}
	assert_int_equal(count_of(s, "SELECT count(*) FROM action_log"), 1);
	store_close(s);
}

/* The backend of a connection is killed (PostgreSQL restarted, an
 * administrator's pg_terminate_backend): a reset connection has lost every
 * statement prepared on it, while the store's cache still holds them. From
 * the side of a server that keeps its connections for days: the next calls
 * work again with the same cached statements (prepared anew), a read
 * outside a transaction is retried on the new connection, and a
 * transaction the kill cut short fails clearly and keeps nothing. */
static int64_t terminate_backend_of(struct engine *e, struct store *victim)
{
	struct store *admin = NULL;
	struct store_stmt *st;
	struct err err = {0};
	int64_t pid = count_of(victim, "SELECT pg_backend_pid()");
	int rc;

	assert_ok(store_connect(&admin, e->target, &err), &err);
	/* waits (up to 5 s) until the backend is gone */
	assert_ok(store_prepare(admin, "SELECT pg_terminate_backend(CAST(?1 AS integer), 5000)",
				&st, &err),
		  &err);
	store_bind_int(st, 1, pid);
	rc = store_step(st, &err);
	assert_int_equal(rc, STORE_ROW);
	assert_int_equal(store_col_int(st, 0), 1);
	store_done(st);
	store_close(admin);
	return pid;
}

static void test_pg_statements_survive_a_backend_reset(void **state)
{
	struct engine *e = *state;
	struct store *s = connect_engine(state);
	struct store_stmt *st;
	struct err err = {0};
	int64_t pid;
	int rc;

	fresh_table(s, "e_reset", "v INTEGER NOT NULL");
	insert_v(s, "e_reset", 1);
	/* cached and prepared on the first backend */
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_reset"), 1);
	pid = terminate_backend_of(e, s);

	/* a read outside a transaction: the same cached statement, answered */
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_reset"), 1);
	assert_int_not_equal(count_of(s, "SELECT pg_backend_pid()"), pid);
	/* a cached write in a transaction, and the session's settings are back
	 * (UTC, as every timestamp airlock compares assumes) */
	assert_ok(store_begin(s, &err), &err);
	insert_v(s, "e_reset", 2);
	assert_ok(store_commit(s, &err), &err);
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_reset"), 2);
	assert_int_equal(count_of(s, "SELECT count(*) FROM pg_settings WHERE name='TimeZone'"
				     " AND setting='UTC'"),
			 1);

	/* killed in the middle of a transaction: the next statement fails and
	 * says the connection was lost, the commit does not report success,
	 * nothing of it is kept */
	assert_ok(store_begin(s, &err), &err);
	insert_v(s, "e_reset", 3);
	terminate_backend_of(e, s);
	assert_ok(store_prepare(s, "INSERT INTO e_reset(v) VALUES(?1)", &st, &err), &err);
	store_bind_int(st, 1, 4);
	err.msg[0] = '\0';
	rc = store_step(st, &err);
	store_done(st);
	assert_true(rc < 0);
	assert_non_null(strstr(err.msg, "connection"));
	store_rollback(s);
	assert_false(store_in_transaction(s));
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_reset"), 2);
	/* and the connection takes writes again */
	assert_ok(store_begin(s, &err), &err);
	insert_v(s, "e_reset", 5);
	assert_ok(store_commit(s, &err), &err);
	assert_int_equal(count_of(s, "SELECT count(*) FROM e_reset WHERE v=5"), 1);
	store_close(s);
}

/* A migration added to schema.c without its PostgreSQL form would leave
 * every postgres:// database unopenable: caught here, with no server. */
static void test_every_migration_has_a_postgres_form(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < store_migration_count; i++)
		if (!store_pg_migration_sql(&store_migrations[i]))
			fail_msg("migration %d (%s) has no form in store_pg_schema.c",
				 store_migrations[i].version, store_migrations[i].name);
}

#define ENGINE_TEST(f, e)                                                                          \
	{                                                                                          \
#f " on " #e, f, NULL, NULL, &e##_engine                                           \
	}

int main(void)
{
	const struct CMUnitTest both[] = {
	    ENGINE_TEST(test_every_migration_has_a_postgres_form, sqlite),
	    ENGINE_TEST(test_engine_nested_transactions, sqlite),
	    ENGINE_TEST(test_engine_values_round_trip, sqlite),
	    ENGINE_TEST(test_engine_errors, sqlite),
	    ENGINE_TEST(test_engine_last_insert_id, sqlite),
	    ENGINE_TEST(test_engine_budget_stops_a_runaway_query, sqlite),
	    ENGINE_TEST(test_engine_write_transactions_exclude_each_other, sqlite),
	    ENGINE_TEST(test_engine_commit_after_failure_is_not_success, sqlite),
	    ENGINE_TEST(test_engine_nested_transactions, pg),
	    ENGINE_TEST(test_engine_values_round_trip, pg),
	    ENGINE_TEST(test_engine_errors, pg),
	    ENGINE_TEST(test_engine_last_insert_id, pg),
	    ENGINE_TEST(test_engine_budget_stops_a_runaway_query, pg),
	    ENGINE_TEST(test_engine_write_transactions_exclude_each_other, pg),
	    ENGINE_TEST(test_engine_commit_after_failure_is_not_success, pg),
	    ENGINE_TEST(test_pg_open_migrates_the_schema, pg),
	    ENGINE_TEST(test_pg_action_log_is_append_only, pg),
	    ENGINE_TEST(test_pg_statements_survive_a_backend_reset, pg),
	};
	/* the PostgreSQL half needs a server: tests/run starts one */
	size_t n = getenv("AIRLOCK_TEST_PG") ? sizeof both / sizeof both[0] : 8;
	int failed;

	if (n == 8)
		printf("# AIRLOCK_TEST_PG is not set: the PostgreSQL half is skipped\n");
	if (engine_setup())
		return 1;
	failed = _cmocka_run_group_tests("engines", both, n, NULL, NULL);
	engine_teardown();
	return failed;
}
