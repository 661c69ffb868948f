/* test_audit.c — the action log: appends, the chain, tampering done
 * directly on the database (the SQLite file, or PostgreSQL's tables with
 * their guards dropped), checkpoints and their signatures, queries. */
#include "testutil.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <sys/stat.h>

#include "audit.h"
#include "audit_int.h"

/* On PostgreSQL the zero hash, a byte from its code and a text-to-bytes
 * cast are spelled otherwise: the tamper statements below are written in
 * SQLite's words and translated, so both engines take the same attack. */
static char *engine_sql(struct store *s, const char *sql)
{
	static const char *const words[][2] = {
	    {"zeroblob(32)",
	     "'\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea"},
	    {"char(10)", "chr(10)"},
	};
	size_t cap = strlen(sql) * 8 + 1, n = 0, i;
	char *out = malloc(cap);
	const char *p = sql;

	assert_non_null(out);
	while (*p) {
		for (i = 0; i < sizeof words / sizeof words[0]; i++)
			if (!strcmp(store_backend_name(s), "postgres") &&
			    !strncmp(p, words[i][0], strlen(words[i][0])))
				break;
		if (i < sizeof words / sizeof words[0]) {
			n += (size_t)snprintf(out + n, cap - n, "%s", words[i][1]);
			p += strlen(words[i][0]);
		} else
			out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

static int on_pg(struct store *s)
{
	return !strcmp(store_backend_name(s), "postgres");
}

/* Runs SQL through a connection of its own, as someone holding the
 * database (its file, or the owner's login on PostgreSQL) would: none of
 * airlock's code between them and the tables. */
static void raw(struct store *s, const char *sql)
{
	struct err err = {0};
	char *q = engine_sql(s, sql);

	if (store_exec(s, q, &err))
		fail_msg("raw SQL failed: %s: %s", q, err.msg);
	free(q);
}

/* The error the engine gives for sql, or NULL when it succeeds (free()). */
static char *raw_error(struct store *s, const char *sql)
{
	struct err err = {0};
	char *q = engine_sql(s, sql), *msg = NULL;

	if (store_exec(s, q, &err))
		msg = strdup(err.msg[0] ? err.msg : "?");
	free(q);
	return msg;
}

static int64_t raw_int(struct store *s, const char *sql)
{
	struct err err = {0};
	int64_t v = -1;

	assert_ok(store_query_int(s, sql, &v, &err), &err);
	return v;
}

/* Drops the log's guards, as the owner of the database can: on SQLite its
 * triggers, on PostgreSQL its row and TRUNCATE triggers. */
static void drop_triggers(struct store *s)
{
	if (on_pg(s))
		raw(s, "DROP TRIGGER action_log_no_change ON action_log;"
		       "DROP TRIGGER action_log_no_truncate ON action_log;"
		       "DROP TRIGGER action_log_chained ON action_log;"
		       "DROP TRIGGER action_log_head_forward ON action_log_head;"
		       "DROP TRIGGER action_log_head_no_insert ON action_log_head;"
		       "DROP TRIGGER action_log_head_no_truncate ON action_log_head;"
		       "DROP TRIGGER action_log_record_no_change ON action_log_record;"
		       "DROP TRIGGER action_log_record_no_truncate ON action_log_record;");
	else
		raw(s, "DROP TRIGGER action_log_no_update; DROP TRIGGER action_log_no_delete;"
		       "DROP TRIGGER action_log_chained; DROP TRIGGER action_log_head_forward;"
		       "DROP TRIGGER action_log_head_no_delete; DROP TRIGGER action_log_head_no_insert;"
		       "DROP TRIGGER action_log_record_no_update; DROP TRIGGER action_log_record_no_delete;");
}

/* Files beside the database (checkpoints): its folder on SQLite; on
 * PostgreSQL, a folder of this run, named after the database. */
static char scratch[256];

static void file_of(const struct testdb *t, const char *name, char *out, size_t len)
{
	int n;

	if (testutil_on_pg())
		n = snprintf(out, len, "%s/%s-%s", scratch, t->dir, name);
	else
		n = snprintf(out, len, "%s/%s", t->dir, name);
	assert_true(n > 0 && (size_t)n < len);
}

static int64_t append(struct store *s, const char *tool, const char *batch, json_t *args)
{
	struct audit_entry e = {0};
	struct err err = {0};
	json_t *reasons = json_pack("[s,s]", "within scope", "radius 3 ≤ 50");
	int64_t seq;

	e.principal = "agent:scout";
	e.surface = "mcp:write";
	e.tool = tool;
	e.args = args;
	e.instruction_version = "v7";
	e.decision = "staged";
	e.reasons = reasons;
	e.summary = "re-tier 3 accounts";
	e.batch_id = batch;
	assert_ok(audit_append(s, &e, &seq, &err), &err);
	json_decref(reasons);
	json_decref(args);
	return seq;
}

/* A log of n entries, varied enough that every column is exercised. */
static struct store *make_log(struct testdb *t, int n)
{
	struct store *s = testutil_store_open(t);
	struct err err = {0};
	int i;

	/* one transaction: a long log is quick to make on either engine */
	assert_ok(store_begin(s, &err), &err);
	for (i = 1; i <= n; i++) {
		char tool[32], batch[32];

		snprintf(tool, sizeof tool, "tool%d", i % 3);
		snprintf(batch, sizeof batch, "B%d", i);
		append(s, tool, i % 2 ? batch : NULL,
		       json_pack("{s:[{s:s,s:i}],s:f}", "items", "id", i % 2 ? "A1" : "A2", "tier",
				 i % 4 + 1, "score", 0.1 * i));
	}
	assert_ok(store_commit(s, &err), &err);
	return s;
}

/* audit_verify in both of its ways, which must agree: one pass, and the
 * log cut in two halves read and checked in parallel (forced here for
 * any log of two entries or more). */
static void verify_both(struct store *s, const char *checkpoint, struct audit_verify_result *r)
{
	struct audit_verify_result split;
	struct err err = {0};
	int64_t saved = audit_verify_split_min;

	audit_verify_split_min = INT64_MAX;
	assert_ok(audit_verify(s, checkpoint, r, &err), &err);
	audit_verify_split_min = 2;
	assert_ok(audit_verify(s, checkpoint, &split, &err), &err);
	audit_verify_split_min = saved;
	/* one thread splits too: the chunks read in turn */
	if (split.ok != r->ok || split.problem != r->problem || split.bad_seq != r->bad_seq ||
	    split.count != r->count || strcmp(split.message, r->message) != 0 ||
	    (r->ok && memcmp(split.head, r->head, sizeof r->head) != 0) ||
	    split.checkpoint_checked != r->checkpoint_checked)
		fail_msg("the split verify disagrees:\n one pass: ok=%d problem=%d at %lld count "
			 "%lld: %s\n split:    ok=%d problem=%d at %lld count %lld: %s",
			 r->ok, r->problem, (long long)r->bad_seq, (long long)r->count, r->message,
			 split.ok, split.problem, (long long)split.bad_seq, (long long)split.count,
			 split.message);
}

static void verify_ok(struct store *s, int64_t count)
{
	struct audit_verify_result r;

	verify_both(s, NULL, &r);
	if (!r.ok)
		fail_msg("verify: %s", r.message);
	assert_int_equal(r.count, count);
	assert_int_equal(r.head_seq, count);
}

static void verify_bad(struct store *s, const char *checkpoint, enum audit_problem p, int64_t seq,
		       const char *needle)
{
	struct audit_verify_result r;

	verify_both(s, checkpoint, &r);
	if (r.ok)
		fail_msg("verify found nothing wrong (wanted entry %lld)", (long long)seq);
	if (r.problem != p || r.bad_seq != seq || (needle && !strstr(r.message, needle)))
		fail_msg("wanted problem %d at entry %lld ('%s'), got %d at %lld: %s", p,
			 (long long)seq, needle ? needle : "", r.problem, (long long)r.bad_seq,
			 r.message);
}

static void test_append_and_verify(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 5);
	unsigned char head[AUDIT_HASH_BYTES], prev[AUDIT_HASH_BYTES] = {0}, h[AUDIT_HASH_BYTES];
	struct audit_verify_result r;
	struct err err = {0};
	struct store_stmt *st;
	int64_t head_seq, seq = 0;
	int rc;

	(void)state;
	verify_ok(s, 5);
	assert_ok(audit_head(s, &head_seq, head, &err), &err);
	assert_int_equal(head_seq, 5);
	assert_ok(audit_verify(s, NULL, &r, &err), &err);
	assert_memory_equal(r.head, head, sizeof head);
	/* recompute the chain independently: one-shot BLAKE2b over the
	 * concatenated message, and the body must be canonical JSON */
	assert_ok(store_prepare(s, "SELECT seq, body, prev_hash, hash FROM action_log ORDER BY seq",
				&st, &err),
		  &err);
	while ((rc = store_step(st, &err)) == STORE_ROW) {
		const char *body = store_col_text(st, 1);
		size_t len = (size_t)store_col_bytes(st, 1);
		unsigned char *msg = malloc(14 + 8 + 32 + len);
		json_t *parsed = json_loads(body, 0, NULL);
		char *again = json_dumps(parsed, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
		int i;

		assert_int_equal(store_col_int(st, 0), ++seq);
		assert_string_equal(again, body);
		assert_int_equal(json_integer_value(json_object_get(parsed, "seq")), seq);
		for (i = 0; i < (int)len; i++)
			assert_true((unsigned char)body[i] < 0x80);
		memcpy(msg, "airlock.log.v1", 14);
		for (i = 0; i < 8; i++)
			msg[14 + i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
		memcpy(msg + 22, prev, 32);
		memcpy(msg + 54, body, len);
		crypto_generichash(h, 32, msg, 54 + len, NULL, 0);
		assert_int_equal(store_col_bytes(st, 2), 32);
		assert_memory_equal(store_col_blob(st, 2), prev, 32);
		assert_memory_equal(store_col_blob(st, 3), h, 32);
		memcpy(prev, h, 32);
		free(msg);
		free(again);
		json_decref(parsed);
	}
	assert_ok(rc, &err);
	store_done(st);
	assert_int_equal(seq, 5);
	assert_memory_equal(prev, head, 32);
	testutil_store_close(&t);
}

/* The HTTP connectors' log writer: entries from many threads, committed
 * in groups, make one gapless chain that verifies, each body as
 * audit_append would write it. */
struct queue_thread {
	struct audit_queue *q;
	int n, failures;
	char principal[32];
};

static void *queue_appender(void *arg)
{
	struct queue_thread *qt = arg;
	struct err err = {0};
	int i;

	for (i = 0; i < qt->n; i++) {
		json_t *args = json_pack("{s:i,s:s}", "limit", i, "account_id", "A7");
		struct audit_entry e = {.principal = qt->principal,
					.surface = "mcp:read",
					.tool = "get_account",
					.args = args,
					.decision = "read",
					.summary = "get_account: account A7"};
		int64_t seq = 0;

		if (audit_queue_append(qt->q, &e, &seq, &err) || seq < 1)
			qt->failures++;
		json_decref(args);
	}
	return NULL;
}

static void test_queue_many_threads_one_chain(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct audit_queue *q;
	struct queue_thread qt[6];
	pthread_t th[6];
	struct err err = {0};
	int i;

	(void)state;
	append(s, "before", NULL, json_object()); /* the queue extends an existing log */
	assert_ok(audit_queue_open(&q, t.path, &err), &err);
	for (i = 0; i < 6; i++) {
		qt[i] = (struct queue_thread){.q = q, .n = 200};
		snprintf(qt[i].principal, sizeof qt[i].principal, "agent:t%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, queue_appender, &qt[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(qt[i].failures, 0);
	}
	audit_queue_close(q);
	verify_ok(s, 1 + 6 * 200);
	assert_int_equal(raw_int(s, "SELECT count(DISTINCT principal) FROM action_log WHERE "
				    "tool='get_account'"),
			 6);
	/* the record index and the query columns came with every entry */
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log_record WHERE record_id='A7'"),
			 1200);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log WHERE surface='mcp:read' AND "
				    "decision='read' AND principal LIKE 'agent:t%'"),
			 1200);
	testutil_store_close(&t);
}

/* Submitted entries report back once committed; one that cannot be written
 * (too large) fails alone, and the entries queued with it still land. */
struct submitted {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int done, ok, failed, failed_code, failed_named;
};

static void on_logged(void *ctx, int rc, const struct err *err, int64_t seq)
{
	struct submitted *sb = ctx;

	pthread_mutex_lock(&sb->lock);
	sb->done++;
	if (rc == 0 && seq > 0)
		sb->ok++;
	else if (rc) {
		/* no cmocka assertion here: this runs on the writer thread */
		sb->failed++;
		sb->failed_code = rc;
		sb->failed_named = err && strstr(err->msg, "a log entry may hold") != NULL;
	}
	pthread_cond_signal(&sb->cv);
	pthread_mutex_unlock(&sb->lock);
}

static void test_queue_bad_entry_fails_alone(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct submitted sb = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0};
	struct audit_queue *q;
	struct err err = {0};
	size_t big = AUDIT_BODY_MAX + 10;
	char *huge = malloc(big + 1);
	int i;

	(void)state;
	assert_non_null(huge);
	memset(huge, 'x', big);
	huge[big] = '\0';
	assert_ok(audit_queue_open(&q, t.path, &err), &err);
	for (i = 0; i < 40; i++) {
		json_t *args = i == 20 ? json_pack("{s:s}", "text", huge) : json_pack("{s:i}", "n", i);
		struct audit_entry e = {.principal = "agent:a", .surface = "mcp:read",
					.tool = "search_accounts", .args = args, .decision = "read"};

		assert_ok(audit_queue_submit(q, &e, on_logged, &sb, &err), &err);
		json_decref(args); /* the queue keeps what it needs */
	}
	free(huge);
	pthread_mutex_lock(&sb.lock);
	while (sb.done < 40)
		pthread_cond_wait(&sb.cv, &sb.lock);
	pthread_mutex_unlock(&sb.lock);
	assert_int_equal(sb.ok, 39);
	assert_int_equal(sb.failed, 1);
	assert_int_equal(sb.failed_code, AIRLOCK_EINVAL);
	assert_true(sb.failed_named);
	/* a bad entry is refused before it is queued */
	{
		struct audit_entry e = {.principal = "", .surface = "mcp:read", .tool = "x"};

		assert_int_equal(audit_queue_submit(q, &e, on_logged, &sb, &err), AIRLOCK_EINVAL);
		assert_non_null(strstr(err.msg, "principal"));
	}
	audit_queue_close(q);
	verify_ok(s, 39);
	testutil_store_close(&t);
}

static void test_empty_log_verifies(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct audit_verify_result r;
	struct err err = {0};
	static const unsigned char zero[AUDIT_HASH_BYTES];

	(void)state;
	assert_ok(audit_verify(s, NULL, &r, &err), &err);
	assert_true(r.ok);
	assert_int_equal(r.count, 0);
	assert_memory_equal(r.head, zero, sizeof zero);
	testutil_store_close(&t);
}

static void test_bad_entries_are_refused(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct audit_entry e = {0};
	struct err err = {0};
	json_t *bad_args = json_pack("[i]", 1), *bad_reasons = json_pack("[i]", 1);
	json_t *bad_ids = json_pack("[s]", "");
	int64_t seq = 7;

	(void)state;
	e.surface = "cli";
	e.tool = "approve";
	assert_int_equal(audit_append(s, &e, &seq, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "principal is missing"));
	assert_int_equal(seq, 0);
	e.principal = "human:ann";
	e.args = bad_args;
	assert_int_equal(audit_append(s, &e, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "args must be a JSON object"));
	e.args = NULL;
	e.reasons = bad_reasons;
	assert_int_equal(audit_append(s, &e, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "reasons[0]"));
	e.reasons = NULL;
	e.summary = "bad \xff byte";
	assert_int_equal(audit_append(s, &e, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "summary is not valid UTF-8"));
	e.summary = NULL;
	e.record_ids = bad_ids;
	assert_int_equal(audit_append(s, &e, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "record_ids[0]"));
	e.tool = "";
	e.record_ids = NULL;
	assert_int_equal(audit_append(s, &e, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "tool is missing"));
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log"), 0);
	assert_int_equal(raw_int(s, "SELECT seq FROM action_log_head"), 0);
	assert_false(store_in_transaction(s));
	verify_ok(s, 0);
	json_decref(bad_args);
	json_decref(bad_reasons);
	json_decref(bad_ids);
	testutil_store_close(&t);
}

static void test_unicode_survives_and_verifies(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct audit_entry e = {0};
	struct err err = {0};
	json_t *args = json_pack("{s:s}", "note", "naïve café ✓ 😀 \"quoted\" \\ tab\t");

	(void)state;
	e.principal = "human:zoë";
	e.surface = "console";
	e.tool = "approve";
	e.args = args;
	e.decision = "approved ✓";
	e.batch_id = "B-😀-\"x\"\n";
	e.instruction_version = "v/1";
	assert_ok(audit_append(s, &e, NULL, &err), &err);
	verify_ok(s, 1);
	/* the body escapes it as \u00EB; lower() as PostgreSQL's LIKE minds case */
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log WHERE principal = 'human:zoë'"
				    " AND lower(body) LIKE '%\\u00eb%'"),
			 1);
	/* a one-character change inside an escape is still caught */
	drop_triggers(s);
	raw(s, "UPDATE action_log SET batch_id = 'B-😀-\"y\"' || char(10)");
	verify_bad(s, NULL, AUDIT_EDITED, 1, "column batch_id");
	json_decref(args);
	testutil_store_close(&t);
}

static void test_rolled_back_append_leaves_nothing(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};

	(void)state;
	assert_ok(store_exec(s, "CREATE TABLE change(v INTEGER)", &err), &err);
	assert_ok(store_begin(s, &err), &err);
	assert_ok(store_exec(s, "INSERT INTO change VALUES (1)", &err), &err);
	append(s, "propose_changes", "B1", NULL);
	store_rollback(s);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM change"), 0);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log"), 0);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log_record"), 0);
	assert_int_equal(raw_int(s, "SELECT seq FROM action_log_head"), 0);
	verify_ok(s, 0);
	/* committed together, they exist together; seq stays gapless */
	assert_ok(store_begin(s, &err), &err);
	assert_ok(store_exec(s, "INSERT INTO change VALUES (2)", &err), &err);
	assert_int_equal(append(s, "propose_changes", "B2", NULL), 1);
	assert_ok(store_commit(s, &err), &err);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM change"), 1);
	verify_ok(s, 1);
	testutil_store_close(&t);
}

static void test_triggers_refuse_update_and_delete(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 3);
	const char *refused[] = {
	    "UPDATE action_log SET tool = 'x' WHERE seq = 2",
	    "DELETE FROM action_log WHERE seq = 3",
	    "UPDATE action_log_record SET record_id = 'Z'",
	    "DELETE FROM action_log_record",
	    "DELETE FROM action_log_head",
	    "UPDATE action_log_head SET seq = 2",
	    "INSERT INTO action_log_head VALUES (2, 0, zeroblob(32))",
	    "INSERT INTO action_log(seq, at, principal, surface, tool, body, prev_hash, hash)"
	    " VALUES (9, 'x', 'p', 's', 't', '{}', zeroblob(32), zeroblob(32))",
	    /* PostgreSQL's TRUNCATE skips row triggers: refused on its own */
	    "TRUNCATE action_log",
	    "TRUNCATE action_log_record",
	    "TRUNCATE action_log_head",
	};
	size_t i, n = sizeof refused / sizeof refused[0];

	(void)state;
	if (!on_pg(s))
		n -= 3; /* SQLite has no TRUNCATE */
	for (i = 0; i < n; i++) {
		char *msg = raw_error(s, refused[i]);

		if (!msg)
			fail_msg("not refused: %s", refused[i]);
		assert_true(strstr(msg, "append-only") || strstr(msg, "action_log"));
		free(msg);
	}
	verify_ok(s, 3);
	testutil_store_close(&t);
}

static void test_tamper_body(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 6);

	(void)state;
	drop_triggers(s);
	raw(s,
	    "UPDATE action_log SET body = replace(body, '\"tier\":', '\"tier\":1') WHERE seq = 4");
	verify_bad(s, NULL, AUDIT_EDITED, 4, "entry 4: its content does not match its hash");
	testutil_store_close(&t);
}

/* Every query column is a copy of a body field: an edit of any of them,
 * including to and from NULL, names that column. */
static void test_tamper_each_column(void **state)
{
	static const char *const edits[][2] = {
	    {"at", "UPDATE action_log SET at = '2001-01-01T00:00:00.000000Z' WHERE seq = 3"},
	    {"principal", "UPDATE action_log SET principal = 'human:boss' WHERE seq = 3"},
	    {"surface", "UPDATE action_log SET surface = 'cli' WHERE seq = 3"},
	    {"tool", "UPDATE action_log SET tool = 'tool0 ' WHERE seq = 3"},
	    {"instruction_version",
	     "UPDATE action_log SET instruction_version = NULL WHERE seq = 3"},
	    {"decision", "UPDATE action_log SET decision = 'approved' WHERE seq = 3"},
	    {"batch_id", "UPDATE action_log SET batch_id = 'B9' WHERE seq = 3"},
	    {"batch_id", "UPDATE action_log SET batch_id = NULL WHERE seq = 3"},
	    {"batch_id", "UPDATE action_log SET batch_id = 3 WHERE seq = 3"},
	    {"tool", "UPDATE action_log SET tool = CAST('tool0' AS BLOB) WHERE seq = 3"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		struct testdb t;
		struct store *s = make_log(&t, 5);
		char needle[64];

		/* PostgreSQL keeps a column's declared type: no bytes in a
		 * text column to confuse a reader with */
		if (on_pg(s) && strstr(edits[i][1], "AS BLOB")) {
			testutil_store_close(&t);
			continue;
		}
		drop_triggers(s);
		raw(s, edits[i][1]);
		snprintf(needle, sizeof needle, "column %s is", edits[i][0]);
		verify_bad(s, NULL, AUDIT_EDITED, 3, needle);
		testutil_store_close(&t);
	}
}

static void test_tamper_hash_and_link(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 5);

	(void)state;
	drop_triggers(s);
	raw(s, "UPDATE action_log SET hash = zeroblob(32) WHERE seq = 2");
	verify_bad(s, NULL, AUDIT_EDITED, 2, "does not match its hash");
	testutil_store_close(&t);

	s = make_log(&t, 5);
	drop_triggers(s);
	raw(s, "UPDATE action_log SET prev_hash = zeroblob(32) WHERE seq = 3");
	verify_bad(s, NULL, AUDIT_BROKEN_LINK, 3, "prev_hash is not the hash of entry 2");
	testutil_store_close(&t);

	s = make_log(&t, 5);
	drop_triggers(s);
	raw(s, "UPDATE action_log_head SET hash = zeroblob(32)");
	verify_bad(s, NULL, AUDIT_BROKEN_LINK, 5, "head");
	testutil_store_close(&t);
}

static void test_tamper_delete(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 6);

	(void)state;
	drop_triggers(s);
	raw(s, "DELETE FROM action_log WHERE seq = 3");
	verify_bad(s, NULL, AUDIT_MISSING, 3, "entry 3 is missing");
	testutil_store_close(&t);

	s = make_log(&t, 6);
	drop_triggers(s);
	raw(s, "DELETE FROM action_log WHERE seq = 1");
	verify_bad(s, NULL, AUDIT_MISSING, 1, "entry 1 is missing");
	testutil_store_close(&t);

	/* the tail: the head record still says 6 */
	s = make_log(&t, 6);
	drop_triggers(s);
	raw(s, "DELETE FROM action_log WHERE seq = 6");
	verify_bad(s, NULL, AUDIT_MISSING, 6, "deleted from the end");
	raw(s, "DELETE FROM action_log WHERE seq = 5");
	verify_bad(s, NULL, AUDIT_MISSING, 5, "entries 5 to 6 are missing");
	testutil_store_close(&t);
}

/* Appends a forged entry with a correct hash, as someone who knows the
 * format but not the past could. */
static void forge(struct store *s, int64_t seq, const unsigned char prev[32])
{
	unsigned char h[AUDIT_HASH_BYTES];
	char body[256];
	struct store_stmt *st;
	struct err err = {0};

	snprintf(
	    body, sizeof body,
	    "{\"args\":{},\"at\":\"2030-01-01T00:00:00.000000Z\",\"batch_id\":null,"
	    "\"decision\":\"approved\",\"instruction_version\":null,\"principal\":\"human:x\","
	    "\"reasons\":[],\"record_ids\":[],\"seq\":%lld,\"summary\":null,\"surface\":\"cli\","
	    "\"tool\":\"approve\"}",
	    (long long)seq);
	audit_hash(seq, prev, body, strlen(body), h);
	assert_ok(store_prepare(s,
				"INSERT INTO action_log VALUES (?1,"
				" '2030-01-01T00:00:00.000000Z', 'human:x', 'cli',"
				" 'approve', NULL, 'approved', NULL, ?2, ?3, ?4)",
				&st, &err),
		  &err);
	store_bind_int(st, 1, seq);
	store_bind_text(st, 2, body);
	store_bind_blob(st, 3, prev, 32);
	store_bind_blob(st, 4, h, 32);
	assert_int_equal(store_step(st, &err), STORE_DONE);
	store_done(st);
}

static void hash_of(struct store *s, int64_t seq, unsigned char out[32])
{
	struct store_stmt *st;
	struct err err = {0};

	assert_ok(store_prepare(s, "SELECT hash FROM action_log WHERE seq = ?1", &st, &err), &err);
	store_bind_int(st, 1, seq);
	assert_int_equal(store_step(st, &err), STORE_ROW);
	assert_int_equal(store_col_bytes(st, 0), 32);
	memcpy(out, store_col_blob(st, 0), 32);
	store_done(st);
}

static void test_tamper_insert(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 4);
	unsigned char h[32];
	static const unsigned char zero[32];

	(void)state;
	/* at the end, perfectly chained: only the head record knows */
	drop_triggers(s);
	hash_of(s, 4, h);
	forge(s, 5, h);
	verify_bad(s, NULL, AUDIT_INSERTED, 5, "beyond the log's head");
	testutil_store_close(&t);

	/* before the first entry */
	s = make_log(&t, 4);
	drop_triggers(s);
	forge(s, 0, zero);
	verify_bad(s, NULL, AUDIT_INSERTED, 0, "entry 0 does not belong");
	testutil_store_close(&t);

	/* in the middle, renumbering the rest: the forged entry 3 chains to
	 * entry 2, but the old entry 3, now at 4, still says it is entry 3 */
	s = make_log(&t, 4);
	drop_triggers(s);
	raw(s, "UPDATE action_log SET seq = -seq WHERE seq >= 3;"
	       "UPDATE action_log SET seq = 1 - seq WHERE seq < 0;"
	       "UPDATE action_log_head SET seq = 5");
	hash_of(s, 2, h);
	forge(s, 3, h);
	verify_bad(s, NULL, AUDIT_REORDERED, 4, "holds the body of entry 3");
	testutil_store_close(&t);
}

/* The head moves once per group (migration 12): what someone writing to
 * the database by hand, or a writer that forgot the head, can and cannot
 * do. The triggers still refuse what does not extend the chain; what they
 * let through, verify names. */
static void test_head_moves_once_per_group(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 3);
	struct audit_entry e = {0};
	struct err err = {0};
	unsigned char head[AUDIT_HASH_BYTES], h3[32];
	int64_t head_seq;
	json_t *o;
	char *msg;
	int i;
	const char *refused[] = {
	    /* not linked to entry 3 */
	    "INSERT INTO action_log(seq, at, principal, surface, tool, body, prev_hash, hash)"
	    " VALUES (4, 'x', 'p', 's', 't', '{}', zeroblob(32), zeroblob(32))",
	    /* linked to entry 3, but leaving a gap */
	    "INSERT INTO action_log(seq, at, principal, surface, tool, body, prev_hash, hash)"
	    " SELECT 5, 'x', 'p', 's', 't', '{}', hash, zeroblob(32) FROM action_log WHERE seq = 3",
	    /* the head back, or past the newest entry, or to a made-up hash */
	    "UPDATE action_log_head SET seq = 2, hash = (SELECT hash FROM action_log WHERE seq = 2)",
	    "UPDATE action_log_head SET seq = 4",
	    "UPDATE action_log_head SET hash = zeroblob(32)",
	};

	(void)state;
	for (i = 0; i < (int)(sizeof refused / sizeof refused[0]); i++) {
		msg = raw_error(s, refused[i]);
		if (!msg)
			fail_msg("not refused: %s", refused[i]);
		free(msg);
	}
	verify_ok(s, 3);

	/* a writer that commits entries without moving the head: verify
	 * finds them beyond it */
	e.principal = "agent:scout";
	e.surface = "mcp:read";
	e.tool = "search_accounts";
	assert_ok(store_begin(s, &err), &err);
	assert_ok(audit_head(s, &head_seq, head, &err), &err);
	for (i = 0; i < 3; i++) {
		assert_ok(audit_entry_prepare(&e, &o, &err), &err);
		assert_ok(audit_entry_write(s, o, &head_seq, head, &err), &err);
		json_decref(o);
	}
	assert_ok(store_commit(s, &err), &err);
	assert_int_equal(raw_int(s, "SELECT seq FROM action_log_head"), 3);
	verify_bad(s, NULL, AUDIT_INSERTED, 4, "beyond the log's head");
	/* the head may then jump to the newest entry, but not to one before */
	msg = raw_error(s, "UPDATE action_log_head SET seq = 5,"
			   " hash = (SELECT hash FROM action_log WHERE seq = 5)");
	assert_non_null(msg);
	free(msg);
	raw(s, "UPDATE action_log_head SET seq = 6,"
	       " hash = (SELECT hash FROM action_log WHERE seq = 6)");
	verify_ok(s, 6);
	testutil_store_close(&t);

	/* entry 4 forged by hand, chained, and the head moved to it: the
	 * triggers cannot judge a body, verify does */
	s = make_log(&t, 3);
	hash_of(s, 3, h3);
	forge(s, 4, h3);
	raw(s, "UPDATE action_log_head SET seq = 4,"
	       " hash = (SELECT hash FROM action_log WHERE seq = 4)");
	verify_ok(s, 4); /* a well-formed entry with its true hash is an entry */
	raw(s, on_pg(s) ? "DROP TRIGGER action_log_no_change ON action_log"
			: "DROP TRIGGER action_log_no_update");
	raw(s, "UPDATE action_log SET body = replace(body, 'human:x', 'human:y') WHERE seq = 4");
	verify_bad(s, NULL, AUDIT_EDITED, 4, NULL);
	testutil_store_close(&t);
}

/* The queue's writer runs without triggers (it computes the chain and
 * the head itself, under the write lock). What a hostile hand at the
 * database does meanwhile, through a connection of its own, meets the
 * triggers as before; one entry chained in by hand beyond the head makes
 * the writer's next entry fail, not fork the chain; and the writer's
 * entries, interleaved with appends from another connection, chain. */
static void test_queue_writer_leaves_the_guards(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 3);
	struct audit_queue *q;
	struct audit_entry e = {.principal = "agent:scout", .surface = "mcp:read",
				.tool = "search_accounts", .decision = "read"};
	struct err err = {0};
	unsigned char h[32];
	int64_t seq;
	char *msg;
	int i;
	const char *refused[] = {
	    "INSERT INTO action_log(seq, at, principal, surface, tool, body, prev_hash, hash)"
	    " SELECT max(seq) + 1, 'x', 'p', 's', 't', '{}', zeroblob(32), zeroblob(32)"
	    " FROM action_log",
	    "INSERT INTO action_log(seq, at, principal, surface, tool, body, prev_hash, hash)"
	    " SELECT seq + 2, 'x', 'p', 's', 't', '{}', hash, zeroblob(32) FROM action_log"
	    " ORDER BY seq DESC LIMIT 1",
	    "UPDATE action_log SET body = '{}' WHERE seq = 2",
	    "DELETE FROM action_log WHERE seq = 1",
	    "UPDATE action_log_head SET hash = zeroblob(32)",
	    "DELETE FROM action_log_record",
	};

	(void)state;
	assert_ok(audit_queue_open(&q, t.path, &err), &err);
	for (i = 0; i < 4; i++) {
		assert_ok(audit_queue_append(q, &e, &seq, &err), &err);
		assert_int_equal(seq, 4 + 2 * i);
		append(s, "tool1", NULL, json_object()); /* another connection, between */
	}
	for (i = 0; i < (int)(sizeof refused / sizeof refused[0]); i++) {
		msg = raw_error(s, refused[i]);
		if (!msg)
			fail_msg("not refused while the queue's writer runs: %s", refused[i]);
		free(msg);
	}
	verify_ok(s, 11);
	/* chained by hand beyond the head: the triggers let it in (they
	 * cannot judge a body; verify names it) */
	hash_of(s, 11, h);
	forge(s, 12, h);
	assert_int_equal(audit_queue_append(q, &e, &seq, &err) != 0, 1);
	assert_int_equal(seq, 0);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log"), 12);
	verify_bad(s, NULL, AUDIT_INSERTED, 12, "beyond the log's head");
	audit_queue_close(q);
	testutil_store_close(&t);
}

/* The queue's writer fires no triggers, so each trigger on the log's
 * tables must only refuse what that writer never does. A migration that
 * adds one (say, keeping a count up to date) would be skipped by the
 * writer without a word: this list makes its author look at
 * audit_queue.c first. */
static void test_log_triggers_are_only_guards(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct store_stmt *st;
	struct err err = {0};
	char names[1024] = "";
	size_t n = 0;

	(void)state;
	if (on_pg(s)) { /* PostgreSQL's writer keeps its triggers */
		testutil_store_close(&t);
		skip();
	}
	assert_ok(store_prepare(s,
				"SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN"
				" ('action_log', 'action_log_record', 'action_log_head') ORDER BY name",
				&st, &err),
		  &err);
	while (store_step(st, &err) == STORE_ROW)
		n += (size_t)snprintf(names + n, sizeof names - n, "%s ", store_col_text(st, 0));
	store_done(st);
	assert_string_equal(names, "action_log_chained action_log_head_forward "
				   "action_log_head_no_delete action_log_head_no_insert "
				   "action_log_no_delete action_log_no_update "
				   "action_log_record_no_delete action_log_record_no_update ");
	testutil_store_close(&t);
}

static void test_tamper_swap(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 6);

	(void)state;
	drop_triggers(s);
	raw(s, "UPDATE action_log SET seq = -1 WHERE seq = 2;"
	       "UPDATE action_log SET seq = 2 WHERE seq = 5;"
	       "UPDATE action_log SET seq = 5 WHERE seq = -1;");
	verify_bad(s, NULL, AUDIT_REORDERED, 2, "entry 2 holds the body of entry 5");
	testutil_store_close(&t);
}

/* Damage where the split verify cuts the log (a log of 20 is cut into 16
 * chunks, one entry each but the last): each case must be judged as one
 * pass judges it (verify_both checks that the two agree). */
static void test_tamper_at_the_split(void **state)
{
	static const struct {
		const char *sql;
		enum audit_problem p;
		int64_t seq;
		const char *needle;
	} cases[] = {
	    {"DELETE FROM action_log WHERE seq = 10", AUDIT_MISSING, 10, "from entry 9 to 11"},
	    {"DELETE FROM action_log WHERE seq = 11", AUDIT_MISSING, 11, "from entry 10 to 12"},
	    {"DELETE FROM action_log WHERE seq IN (10, 11)", AUDIT_MISSING, 10, "from entry 9 to 12"},
	    {"UPDATE action_log SET prev_hash = zeroblob(32) WHERE seq = 11", AUDIT_BROKEN_LINK, 11,
	     "prev_hash"},
	    {"UPDATE action_log SET body = replace(body, 're-tier', 'RE-tier') WHERE seq = 10",
	     AUDIT_EDITED, 10, "does not match its hash"},
	    {"UPDATE action_log SET body = replace(body, 're-tier', 'RE-tier') WHERE seq = 11",
	     AUDIT_EDITED, 11, "does not match its hash"},
	    {"UPDATE action_log SET seq = -1 WHERE seq = 10; UPDATE action_log SET seq = 10 WHERE "
	     "seq = 11; UPDATE action_log SET seq = 11 WHERE seq = -1",
	     AUDIT_REORDERED, 10, "entry 10 holds the body of entry 11"},
	    {"DELETE FROM action_log WHERE seq >= 11", AUDIT_MISSING, 11, "deleted from the end"},
	    {"DELETE FROM action_log WHERE seq >= 10", AUDIT_MISSING, 10, "deleted from the end"},
	    {"UPDATE action_log SET tool = 'x' WHERE seq = 11", AUDIT_EDITED, 11, "column tool"},
	    {"UPDATE action_log SET seq = 0 WHERE seq = 1", AUDIT_INSERTED, 0, "does not belong"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct testdb t;
		struct store *s = make_log(&t, 20);

		drop_triggers(s);
		raw(s, cases[i].sql);
		verify_bad(s, NULL, cases[i].p, cases[i].seq, cases[i].needle);
		testutil_store_close(&t);
	}
}

/* Rewrites the chain from entry `from` on with fresh hashes, as an
 * attacker who knows the format would after editing entry `from`. */
static void rechain(struct store *s, int64_t from)
{
	struct store_stmt *sel, *upd;
	struct err err = {0};
	unsigned char prev[32] = {0}, h[32];
	struct {
		int64_t seq;
		char *body;
		unsigned char hash[32];
	} rows[64];
	int n = 0, i, rc;

	/* read first, then write: one statement at a time on either engine */
	assert_ok(store_prepare(s, "SELECT seq, body, hash FROM action_log ORDER BY seq", &sel, &err),
		  &err);
	while ((rc = store_step(sel, &err)) == STORE_ROW) {
		assert_true(n < (int)(sizeof rows / sizeof rows[0]));
		rows[n].seq = store_col_int(sel, 0);
		rows[n].body = strdup(store_col_text(sel, 1));
		assert_non_null(rows[n].body);
		memcpy(rows[n].hash, store_col_blob(sel, 2), 32);
		n++;
	}
	assert_ok(rc, &err);
	store_done(sel);
	for (i = 0; i < n; i++) {
		if (rows[i].seq < from) {
			memcpy(prev, rows[i].hash, 32);
			free(rows[i].body);
			continue;
		}
		audit_hash(rows[i].seq, prev, rows[i].body, strlen(rows[i].body), h);
		assert_ok(store_prepare(s, "UPDATE action_log SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
					&upd, &err),
			  &err);
		store_bind_blob(upd, 1, prev, 32);
		store_bind_blob(upd, 2, h, 32);
		store_bind_int(upd, 3, rows[i].seq);
		assert_int_equal(store_step(upd, &err), STORE_DONE);
		store_done(upd);
		memcpy(prev, h, 32);
		free(rows[i].body);
	}
	assert_ok(store_prepare(s, "UPDATE action_log_head SET hash = ?1", &upd, &err), &err);
	store_bind_blob(upd, 1, prev, 32);
	assert_int_equal(store_step(upd, &err), STORE_DONE);
	store_done(upd);
}

static void write_checkpoint(struct store *s, const char *path)
{
	struct audit_verify_result r;
	struct err err = {0};
	json_t *cp;

	assert_ok(audit_checkpoint_make(s, &cp, &r, &err), &err);
	assert_int_equal(json_dump_file(cp, path, JSON_INDENT(2)), 0);
	json_decref(cp);
}

static void test_checkpoint_catches_rewrite(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 6);
	struct audit_verify_result r;
	struct err err = {0};
	char cp[400];
	int created = 0;

	(void)state;
	assert_ok(audit_key_init(t.path, &created, &err), &err);
	assert_true(created);
	file_of(&t, "cp.json", cp, sizeof cp);
	write_checkpoint(s, cp);
	append(s, "tool9", NULL, NULL); /* the log goes on after a checkpoint */
	assert_ok(audit_verify(s, cp, &r, &err), &err);
	assert_true(r.ok);
	assert_true(r.checkpoint_checked);
	assert_true(r.checkpoint_key_local);
	assert_int_equal(r.checkpoint_seq, 6);
	assert_int_equal(r.count, 7);
	/* entry 3 edited and everything after re-hashed: consistent on its own */
	drop_triggers(s);
	raw(s,
	    "UPDATE action_log SET body = replace(body, 're-tier 3', 're-tier 9') WHERE seq = 3");
	rechain(s, 3);
	verify_ok(s, 7);
	verify_bad(s, cp, AUDIT_REWRITTEN, 6, "rewritten at or before entry 6");
	testutil_store_close(&t);

	/* a rewrite shorter than the checkpoint: entries deleted, chain redone */
	s = make_log(&t, 6);
	assert_ok(audit_key_init(t.path, NULL, &err), &err);
	file_of(&t, "cp.json", cp, sizeof cp);
	write_checkpoint(s, cp);
	drop_triggers(s);
	raw(s, "DELETE FROM action_log WHERE seq >= 5; UPDATE action_log_head SET seq = 4");
	rechain(s, 1);
	verify_ok(s, 4);
	verify_bad(s, cp, AUDIT_MISSING, 5, "the checkpoint covers entry 6");
	testutil_store_close(&t);
}

static void edit_file(const char *path, const char *from, const char *to)
{
	FILE *f = fopen(path, "r");
	char buf[4096], out[4096], *at;
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	at = strstr(buf, from);
	assert_non_null(at);
	snprintf(out, sizeof out, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(out, f);
	fclose(f);
}

static void test_checkpoint_signature_tamper(void **state)
{
	struct testdb t, other;
	struct store *s = make_log(&t, 3), *o;
	struct audit_verify_result r;
	struct err err = {0};
	char cp[400], ocp[400];
	json_t *j;

	(void)state;
	assert_ok(audit_key_init(t.path, NULL, &err), &err);
	file_of(&t, "cp.json", cp, sizeof cp);
	/* the seq changed: the signature no longer fits */
	write_checkpoint(s, cp);
	edit_file(cp, "\"seq\": 3", "\"seq\": 2");
	verify_bad(s, cp, AUDIT_BAD_SIGNATURE, 2, "signature does not match");
	/* one hex digit of the signature changed */
	write_checkpoint(s, cp);
	j = json_load_file(cp, 0, NULL);
	{
		char sig[129];

		snprintf(sig, sizeof sig, "%s", json_string_value(json_object_get(j, "signature")));
		sig[10] = sig[10] == '0' ? '1' : '0';
		json_object_set_new(j, "signature", json_string(sig));
		json_dump_file(j, cp, 0);
	}
	json_decref(j);
	verify_bad(s, cp, AUDIT_BAD_SIGNATURE, 3, "signature does not match");
	/* a valid checkpoint, but signed by another database's key */
	o = make_log(&other, 3);
	assert_ok(audit_key_init(other.path, NULL, &err), &err);
	file_of(&other, "cp.json", ocp, sizeof ocp);
	write_checkpoint(o, ocp);
	verify_bad(s, ocp, AUDIT_BAD_SIGNATURE, 3, "not this database's key");
	testutil_store_close(&other);
	/* not a checkpoint at all */
	edit_file(cp, "airlock.checkpoint.v1", "something.else");
	assert_int_equal(audit_verify(s, cp, &r, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "cp.json: not an airlock checkpoint: format"));
	assert_int_equal(audit_verify(s, "/nonexistent/cp.json", &r, &err), AIRLOCK_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/cp.json"));
	testutil_store_close(&t);
}

static void test_key_init_and_permissions(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 2);
	struct audit_verify_result r;
	struct err err = {0};
	char key[400], before[1024], after[1024];
	struct stat sb;
	json_t *cp = NULL;
	FILE *f;
	size_t n1, n2;
	int created = 1;

	(void)state;
	assert_int_equal(audit_checkpoint_make(s, &cp, &r, &err), AIRLOCK_ENOTFOUND);
	assert_non_null(strstr(err.msg, "run 'airlock init'"));
	assert_ok(audit_key_init(t.path, &created, &err), &err);
	assert_true(created);
	assert_ok(audit_key_path(t.path, key, sizeof key, &err), &err);
	assert_int_equal(stat(key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	f = fopen(key, "r");
	n1 = fread(before, 1, sizeof before, f);
	fclose(f);
	assert_ok(audit_key_init(t.path, &created, &err), &err);
	assert_false(created);
	f = fopen(key, "r");
	n2 = fread(after, 1, sizeof after, f);
	fclose(f);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	chmod(key, 0644);
	assert_int_equal(audit_checkpoint_make(s, &cp, &r, &err), AIRLOCK_EDENIED);
	assert_non_null(strstr(err.msg, "too open"));
	chmod(key, 0600);
	assert_ok(audit_checkpoint_make(s, &cp, &r, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(cp, "seq")), 2);
	json_decref(cp);
	/* a damaged log is never signed */
	drop_triggers(s);
	raw(s, "UPDATE action_log SET tool = 'x' WHERE seq = 1");
	assert_int_equal(audit_checkpoint_make(s, &cp, &r, &err), AIRLOCK_ECORRUPT);
	assert_non_null(strstr(err.msg, "nothing was signed: entry 1"));
	assert_null(cp);
	testutil_store_close(&t);
}

static int count_cb(void *ctx, int64_t seq, json_t *e, const unsigned char hash[32])
{
	int64_t *n = ctx;

	(void)hash;
	assert_int_equal(json_integer_value(json_object_get(e, "seq")), seq);
	n[0]++;
	if (n[1] == 0)
		n[1] = seq; /* the first one seen: the newest */
	return 0;
}

static int64_t query_count(struct store *s, const struct audit_filter *f, int64_t *first)
{
	struct err err = {0};
	int64_t n[2] = {0, 0};

	assert_ok(audit_query(s, f, count_cb, n, &err), &err);
	if (first)
		*first = n[1];
	return n[0];
}

static void test_query_filters_and_record_index(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 6);
	struct audit_filter f = {0};
	struct audit_entry e = {0};
	struct err err = {0};
	json_t *ids = json_pack("[s,s,s]", "C7", "C8", "C7");
	json_t *args = json_pack("{s:s,s:s,s:[s,i],s:{s:s}}", "account_id", "A9", "batch_id", "B1",
				 "merged_ids", "A10", 11, "nested", "contact_id", "C1");
	int64_t first;

	(void)state;
	assert_int_equal(query_count(s, &f, &first), 6);
	assert_int_equal(first, 6);
	f.limit = 2;
	assert_int_equal(query_count(s, &f, &first), 2);
	assert_int_equal(first, 6);
	f.limit = 0;
	f.record_id = "A1"; /* odd entries propose on A1 */
	assert_int_equal(query_count(s, &f, NULL), 3);
	f.record_id = NULL;
	f.batch_id = "B3";
	assert_int_equal(query_count(s, &f, NULL), 1);
	f.batch_id = NULL;
	f.tool = "tool0";
	assert_int_equal(query_count(s, &f, NULL), 2);
	f.tool = NULL;
	f.principal = "agent:scout";
	assert_int_equal(query_count(s, &f, NULL), 6);
	f.principal = "agent:other";
	assert_int_equal(query_count(s, &f, NULL), 0);
	f.principal = NULL;
	f.since = "2999-01-01T00:00:00.000000Z";
	assert_int_equal(query_count(s, &f, NULL), 0);
	f.since = "2000-01-01T00:00:00.000000Z";
	assert_int_equal(query_count(s, &f, NULL), 6);
	f.since = NULL;
	/* explicit record ids, deduplicated */
	e.principal = "human:ann";
	e.surface = "cli";
	e.tool = "approve";
	e.record_ids = ids;
	assert_ok(audit_append(s, &e, NULL, &err), &err);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log_record WHERE seq = 7"), 2);
	/* ids found in args: *_id, *_ids, nested; batch_id is not a record */
	e.record_ids = NULL;
	e.args = args;
	assert_ok(audit_append(s, &e, NULL, &err), &err);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log_record WHERE seq = 8"), 4);
	assert_int_equal(raw_int(s, "SELECT count(*) FROM action_log_record WHERE seq = 8 AND"
				    " record_id IN ('A9', 'A10', '11', 'C1')"),
			 4);
	f.record_id = "C1";
	assert_int_equal(query_count(s, &f, &first), 1);
	assert_int_equal(first, 8);
	f.record_id = "B1";
	assert_int_equal(query_count(s, &f, NULL), 0);
	verify_ok(s, 8);
	json_decref(ids);
	json_decref(args);
	testutil_store_close(&t);
}

static void test_parse_time(void **state)
{
	char out[AUDIT_TIME_MAX], now[AUDIT_TIME_MAX];
	struct err err = {0};
	const char *bad[] = {"",    "yesterday", "2025-13-01",	   "2025-01-01T25:00",
			     "10x", "-5m",	 "2025-01-01Zjunk"};
	size_t i;

	(void)state;
	assert_ok(audit_parse_time("2025-03-01", out, &err), &err);
	assert_string_equal(out, "2025-03-01T00:00:00.000000Z");
	assert_ok(audit_parse_time("2025-03-01T09:30", out, &err), &err);
	assert_string_equal(out, "2025-03-01T09:30:00.000000Z");
	assert_ok(audit_parse_time("2025-03-01T09:30:15Z", out, &err), &err);
	assert_string_equal(out, "2025-03-01T09:30:15.000000Z");
	assert_ok(audit_parse_time("0s", now, &err), &err);
	assert_ok(audit_parse_time("2d", out, &err), &err);
	assert_true(strcmp(out, now) < 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(audit_parse_time(bad[i], out, &err), AIRLOCK_EINVAL);
		assert_non_null(strstr(err.msg, "is not a time"));
	}
}

/* A body replaced by something that is not an entry, with the chain
 * redone, is still named. */
static void test_rewritten_body_not_an_entry(void **state)
{
	struct testdb t;
	struct store *s = make_log(&t, 3);

	(void)state;
	drop_triggers(s);
	raw(s, "UPDATE action_log SET body = '[1,2' WHERE seq = 2");
	rechain(s, 2);
	verify_bad(s, NULL, AUDIT_EDITED, 2, "its body is not a log entry");
	testutil_store_close(&t);
	s = make_log(&t, 3);
	drop_triggers(s);
	/* a duplicate key would let two readers see two different tools */
	raw(s, "UPDATE action_log SET body = replace(body, '\"tool\":\"tool2\"',"
	       " '\"tool\":\"tool2\",\"tool\":\"evil\"') WHERE seq = 2");
	rechain(s, 2);
	verify_bad(s, NULL, AUDIT_EDITED, 2, "not a log entry");
	testutil_store_close(&t);
}

/* A hostile agent's arguments full of backslashes and quotes: verify must
 * find where each string ends exactly as a JSON reader does, so that a key
 * spelled inside a string is never taken for the entry's own, and a column
 * edited after such a string is still caught, on one thread and on two. */
static void test_backslash_runs_in_args(void **state)
{
	static const char *const notes[] = {
	    "\\",
	    "\\\\",
	    "\\\"",
	    "a\\\\\\\"b",
	    "\",\"tool\":\"evil",
	    "\\\",\"tool\":\"evil\",\"x\":\"",
	    "\\\\\\\\\"\"",
	    "}",
	    "{\"tool\":\"evil\"}",
	    "\\u0022,\"tool\":\"evil",
	};
	const int n = (int)(sizeof notes / sizeof notes[0]);
	struct testdb t;
	struct store *s;
	int threads, i;

	(void)state;
	for (threads = 1; threads <= 2; threads++) {
		audit_verify_threads = threads;
		s = testutil_store_open(&t);
		for (i = 0; i < n; i++)
			append(s, "get_account", NULL,
			       json_pack("{s:s,s:[s,s],s:{s:s}}", "note", notes[i], "more", notes[i],
					 notes[n - 1 - i], "deep", "tool", notes[i]));
		verify_ok(s, n);
		drop_triggers(s);
		raw(s, "UPDATE action_log SET tool = 'evil' WHERE seq = 6");
		verify_bad(s, NULL, AUDIT_EDITED, 6, "column tool");
		testutil_store_close(&t);
	}
	audit_verify_threads = 2;
}

/* Longer logs are hashed on a second thread while rows are read: the
 * first problem must still be the one reported, wherever the batches end. */
static void test_long_log_reports_first_problem(void **state)
{
	struct testdb t;
	struct store *s;

	audit_verify_threads = *(int *)*state;
	s = make_log(&t, 1100);
	verify_ok(s, 1100);
	drop_triggers(s);
	raw(s, "UPDATE action_log SET body = replace(body, 're-tier', 'RE-tier') WHERE seq = 700");
	verify_bad(s, NULL, AUDIT_EDITED, 700, "does not match its hash");
	/* a later column edit does not hide the earlier hash mismatch... */
	raw(s, "UPDATE action_log SET tool = 'x' WHERE seq = 900");
	verify_bad(s, NULL, AUDIT_EDITED, 700, "does not match its hash");
	/* ...and an earlier one comes first */
	raw(s, "UPDATE action_log SET decision = 'x' WHERE seq = 257");
	verify_bad(s, NULL, AUDIT_EDITED, 257, "column decision");
	raw(s, "DELETE FROM action_log WHERE seq = 256");
	verify_bad(s, NULL, AUDIT_MISSING, 256, "entry 256 is missing");
	testutil_store_close(&t);

	/* a broken link and a column edit in the same entry: the link wins */
	s = make_log(&t, 600);
	drop_triggers(s);
	raw(s, "UPDATE action_log SET prev_hash = zeroblob(32), tool = 'y' WHERE seq = 513");
	verify_bad(s, NULL, AUDIT_BROKEN_LINK, 513, "prev_hash");
	testutil_store_close(&t);
	audit_verify_threads = 2;
}

static int one_thread = 1, two_threads = 2;

int main(void)
{
	int rc;
	char cmd[300];
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_and_verify),
	    cmocka_unit_test(test_empty_log_verifies),
	    cmocka_unit_test(test_queue_many_threads_one_chain),
	    cmocka_unit_test(test_queue_bad_entry_fails_alone),
	    cmocka_unit_test(test_bad_entries_are_refused),
	    cmocka_unit_test(test_unicode_survives_and_verifies),
	    cmocka_unit_test(test_rolled_back_append_leaves_nothing),
	    cmocka_unit_test(test_triggers_refuse_update_and_delete),
	    cmocka_unit_test(test_tamper_body),
	    cmocka_unit_test(test_tamper_each_column),
	    cmocka_unit_test(test_tamper_hash_and_link),
	    cmocka_unit_test(test_tamper_delete),
	    cmocka_unit_test(test_tamper_insert),
	    cmocka_unit_test(test_tamper_swap),
	    cmocka_unit_test(test_tamper_at_the_split),
	    cmocka_unit_test(test_checkpoint_catches_rewrite),
	    cmocka_unit_test(test_checkpoint_signature_tamper),
	    cmocka_unit_test(test_key_init_and_permissions),
	    cmocka_unit_test(test_query_filters_and_record_index),
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_rewritten_body_not_an_entry),
	    cmocka_unit_test(test_backslash_runs_in_args),
	    cmocka_unit_test(test_head_moves_once_per_group),
	    cmocka_unit_test(test_queue_writer_leaves_the_guards),
	    cmocka_unit_test(test_log_triggers_are_only_guards),
	    cmocka_unit_test_prestate(test_long_log_reports_first_problem, &one_thread),
	    cmocka_unit_test_prestate(test_long_log_reports_first_problem, &two_threads),
	};

	/* on PostgreSQL the signing keys and checkpoints go to a folder of
	 * this run (keys under $XDG_CONFIG_HOME/airlock/keys), never ~ */
	if (testutil_on_pg()) {
		snprintf(scratch, sizeof scratch, "/tmp/airlock-test-audit-XXXXXX");
		if (!mkdtemp(scratch) || setenv("XDG_CONFIG_HOME", scratch, 1) ||
		    unsetenv("AIRLOCK_KEY"))
			return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (scratch[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: could not remove %s\n", scratch);
	}
	return rc;
}
