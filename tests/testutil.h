/* testutil.h — shared helpers for the cmocka unit tests.
 *
 * Every test that needs a database gets a real SQLite file in a fresh
 * temporary folder (never a mock), removed by testutil_store_close(); or a
 * fresh PostgreSQL database (testutil_on_pg). */
#ifndef AIRLOCK_TESTUTIL_H
#define AIRLOCK_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "store.h"

struct testdb {
	char dir[256];
	char path[300];
	struct store *s;
};

/* With $AIRLOCK_TEST_ON_PG set (tests/run does for the suites that run on
 * both engines), each test's store is a new PostgreSQL database on the
 * cluster $AIRLOCK_TEST_PG names ("postgresql:///airlock?host=..."),
 * dropped by testutil_store_close; t->path is its URL. */
static inline int testutil_on_pg(void)
{
	const char *on = getenv("AIRLOCK_TEST_ON_PG");

	return on && *on && *on != '0' && getenv("AIRLOCK_TEST_PG");
}

static inline void testutil_pg_admin(const char *sql)
{
	struct store *admin = NULL;
	struct err err = {0};

	if (store_connect(&admin, getenv("AIRLOCK_TEST_PG"), &err) ||
	    store_exec(admin, sql, &err))
		fail_msg("%s: %s", sql, err.msg);
	store_close(admin);
}

static inline void testutil_pg_create(struct testdb *t)
{
	static int n;
	const char *url = getenv("AIRLOCK_TEST_PG");
	const char *slash = strstr(url, ":///");
	const char *query = slash ? strchr(slash + 4, '?') : NULL;
	char sql[320];

	if (!slash || !query)
		fail_msg("AIRLOCK_TEST_PG must read postgresql:///DB?host=...: %s", url);
	/* dir holds the database's name (no folder on this engine) */
	snprintf(t->dir, sizeof t->dir, "airlock_t%d_%d", (int)getpid(), ++n);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", t->dir);
	testutil_pg_admin(sql);
	if (snprintf(t->path, sizeof t->path, "%.*s%s%s", (int)(slash + 4 - url), url, t->dir,
		     query) >= (int)sizeof t->path)
		fail_msg("AIRLOCK_TEST_PG is too long");
}

/* Opens a store on a new file in a new temporary folder. */
static inline struct store *testutil_store_open(struct testdb *t)
{
	struct err err = {0};
	int rc;

	if (testutil_on_pg()) {
		testutil_pg_create(t);
	} else {
		snprintf(t->dir, sizeof t->dir, "/tmp/airlock-test-XXXXXX");
		assert_non_null(mkdtemp(t->dir));
		snprintf(t->path, sizeof t->path, "%s/airlock.db", t->dir);
	}
	rc = store_create(&t->s, t->path, &err);
	if (rc)
		fail_msg("store_create: %s", err.msg);
	return t->s;
}

/* Closes the store and removes its folder (its database). */
static inline void testutil_store_close(struct testdb *t)
{
	char cmd[320];

	store_close(t->s);
	t->s = NULL;
	if (testutil_on_pg()) {
		snprintf(cmd, sizeof cmd, "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->dir);
		testutil_pg_admin(cmd);
		return;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", t->dir);
}

/* Fails the test with err's message when rc is not 0. */
#define assert_ok(rc, err)                                                                       \
	do {                                                                                     \
		int rc_ = (rc);                                                                  \
		if (rc_ != 0)                                                                    \
			fail_msg("%s returned %d: %s", #rc, rc_, (err)->msg);                    \
	} while (0)

#endif
