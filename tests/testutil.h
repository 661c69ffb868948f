/* testutil.h — shared helpers for the cmocka unit tests.
 *
 * Every test that needs a database gets a real SQLite file in a fresh
 * temporary folder (never a mock), removed by testutil_store_close(). */
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

/* Opens a store on a new file in a new temporary folder. */
static inline struct store *testutil_store_open(struct testdb *t)
{
	struct err err = {0};
	int rc;

	snprintf(t->dir, sizeof t->dir, "/tmp/airlock-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/airlock.db", t->dir);
	rc = store_create(&t->s, t->path, &err);
	if (rc)
		fail_msg("store_create: %s", err.msg);
	return t->s;
}

/* Closes the store and removes its folder. */
static inline void testutil_store_close(struct testdb *t)
{
	char cmd[320];

	store_close(t->s);
	t->s = NULL;
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
