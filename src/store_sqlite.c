/* store_sqlite.c — the SQLite backend of store.h (the embedded default).
 *
 * Owns every sqlite3_* call of airlock: the connection and its pragmas,
 * the file checks (removed/replaced, writable), BEGIN IMMEDIATE and the
 * process's writer queue, the WAL checkpointer thread, and SQLite's number
 * formatting for JSON. Never called except through store.c. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sqlite_conn {
	sqlite3 *db;
	/* BEGIN IMMEDIATE and COMMIT, compiled once: sqlite3_exec compiled
	 * them again for every transaction (a group commit's two of its
	 * handful of statements) */
	sqlite3_stmt *begin, *commit;
	dev_t dev; /* the file opened, to notice it removed or replaced */
	ino_t ino;
	int gone; /* it was: every later write is refused */
};

#define DB(s) (((struct sqlite_conn *)(s)->conn)->db)
#define STMT(st) ((sqlite3_stmt *)(st)->native)

/* Writers of one process queue here rather than in SQLite: SQLite's busy
 * handler sleeps (1 ms, 2 ms, 5 ms, ...) while another connection holds the
 * write lock, which under many concurrent writers (the HTTP connectors'
 * workers each logging their calls) costs far more than the transactions
 * themselves. Other processes still meet SQLite's lock and busy timeout. */
static pthread_mutex_t store_write_lock = PTHREAD_MUTEX_INITIALIZER;

static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return AIRLOCK_EBUSY;
	case SQLITE_NOMEM:
		return AIRLOCK_ENOMEM;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
		return AIRLOCK_EINVAL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return AIRLOCK_ECORRUPT;
	}
	return AIRLOCK_EIO;
}

/* The background checkpointer (store_checkpointer_start). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	sqlite3 *db;
	int running, stopping;
	int wal_limit; /* the largest store_wal_limit set in this process (0: none) */
} ckpt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL, 0, 0, 0};

/* SQLite's memory statistics take a process-wide mutex on every allocation,
 * which the HTTP workers' connections would all queue on; airlock never
 * reads them. Must run before SQLite initialises. */
static pthread_once_t sqlite_configured = PTHREAD_ONCE_INIT;

/* A statement that may fail midway inside a transaction (a multi-row
 * INSERT, an upsert with CHECKs) keeps the old image of every page it
 * changes in a statement journal. Past SQLite's 64 KiB default that journal
 * goes to a temp file: staging's hold upsert and batch_item INSERTs wrote
 * ~2,700 extra pages through pwrite per 500-item proposal at a million
 * records (a third of its syscalls, bench/README.md: round 6). So the
 * journal stays in memory, always (-1): with a spill threshold above the
 * default (4 MiB was tried), SQLite 3.40 failed any statement whose journal
 * went past it with "database or disk is full" — a 20,000-item proposal
 * could not be staged (test_store: test_big_statement_in_a_transaction).
 * Its size is the pages one statement changes that existed before it (new
 * pages are not journaled) and it is freed when the statement ends: the
 * largest is a big proposal's holds (~5 MB at 100,000 items), and the
 * policy's stage_max bounds a proposal. One writer at a time per process
 * (store_write_lock). */
#define STMT_JOURNAL_IN_MEMORY (-1)

static void configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STMT_JOURNAL_IN_MEMORY);
}

/* Creates path as an empty file only the owner may read or write, when
 * nothing is there. The book, its action log and the connectors' and
 * reviewers' credentials all live in it, and SQLite gives the -wal and -shm
 * files the database file's mode, so they are 0600 too. The umask cannot
 * widen this (0600 & ~umask is at most 0600), and fchmod undoes a umask that
 * would take the owner's own access away. */
static int create_private(const char *path, struct err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		return err_set(err, AIRLOCK_EIO, "cannot open database %s: %s", path,
			       strerror(errno));
	}
	if (fchmod(fd, 0600) != 0) {
		int e = errno;

		close(fd);
		unlink(path);
		return err_set(err, AIRLOCK_EIO, "cannot set the mode of %s: %s", path,
			       strerror(e));
	}
	close(fd);
	return 0;
}

static int sq_exec(struct store *s, const char *sql, struct err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(DB(s), sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		rc = err_set(err, map_rc(rc), "%s: %s", s->path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

static int sq_open(struct store *s, int create, struct err *err)
{
	struct sqlite_conn *c;
	const char *path = s->path;
	struct stat sb;
	int rc;

	pthread_once(&sqlite_configured, configure_sqlite);
	/* A missing database is an error, never an empty new one: a typo in
	 * --db, or a book deleted under a running server, must not be answered
	 * from (or written into) a fresh file that nobody else reads. */
	if (create) {
		rc = create_private(path, err);
		if (rc)
			return rc;
	} else if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return err_set(err, AIRLOCK_ENOTFOUND,
				       "no database at %s (run 'airlock init' to create one)",
				       path);
		return err_set(err, AIRLOCK_EIO, "cannot open database %s: %s", path,
			       strerror(errno));
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	s->conn = c;
	/* one thread at a time per connection (store.h): no per-call mutex */
	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return err_set(err, rc == SQLITE_CANTOPEN ? AIRLOCK_ENOTFOUND : AIRLOCK_EIO,
			       "cannot open database %s: %s", path,
			       c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	/* the file now open; if it went away between the two calls, this
	 * connection's first write notices */
	if (stat(path, &sb) == 0) {
		c->dev = sb.st_dev;
		c->ino = sb.st_ino;
	} else
		c->gone = 1;
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 10000);
	/* WAL lets readers (the console, read connectors) run beside the one
	 * writer; FULL makes each commit durable across power loss, which the
	 * log's "an entry exists exactly when its effect does" depends on. */
	/* Memory is bounded per connection, and a server holds one per worker
	 * thread plus the log's writer and the console: a 64 MB page cache
	 * each and in-memory temp tables took `airlock serve` to 440-500 MB on
	 * a 1M-account book. 4 MB of cache holds the upper levels of every
	 * index and a page's worth of rows; temp b-trees (a sort that outgrows
	 * the cache) go to a temp file, not the heap. */
	rc = sq_exec(s,
		     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		     "PRAGMA foreign_keys=ON; PRAGMA temp_store=FILE;"
		     "PRAGMA cache_size=-4096;",
		     err);
	if (rc)
		return rc;
	pthread_mutex_lock(&ckpt.lock);
	if (ckpt.running)
		sqlite3_wal_autocheckpoint(c->db, 0);
	pthread_mutex_unlock(&ckpt.lock);
	return 0;
}

static void sq_close(struct store *s)
{
	struct sqlite_conn *c = s->conn;

	if (!c)
		return;
	sqlite3_finalize(c->begin);
	sqlite3_finalize(c->commit);
	if (c->db)
		sqlite3_close(c->db);
	free(c);
	s->conn = NULL;
}

/* Set once any connection of this process finds its file gone. */
static int store_gone_said;

/* Whether the file at s->path is still the one this connection has open.
 * A stat per write transaction: next to the commit's fsync it costs
 * nothing. Once gone, always gone: the connection's file is an orphan, and
 * whatever it says no longer reaches the book other processes read. */
static int sq_file_ok(struct store *s, struct err *err)
{
	struct sqlite_conn *c = s->conn;
	struct stat sb;
	const char *how = NULL;

	if (!c->gone) {
		if (stat(s->path, &sb) != 0)
			how = errno == ENOENT ? "was removed" : "cannot be checked";
		else if (sb.st_dev != c->dev || sb.st_ino != c->ino)
			how = "was replaced by another file";
		if (!how)
			return 0;
		c->gone = 1;
		if (!__atomic_exchange_n(&store_gone_said, 1, __ATOMIC_SEQ_CST))
			fprintf(stderr,
				"airlock: database %s %s while airlock had it open; refusing every "
				"write from now on (restore it and restart airlock)\n",
				s->path, how);
	}
	return err_set(err, AIRLOCK_ESTATE,
		       "database %s was removed or replaced while airlock had it open; nothing "
		       "is written (restore it and restart airlock)",
		       s->path);
}

static int sq_writable(struct store *s, struct err *err)
{
	static const char *const sides[] = {"-wal", "-shm"};
	char dir[4096], side[4200];
	const char *slash = strrchr(s->path, '/');
	size_t i;
	int n;

	/* SQLite opens a file it may not write read-only, without a word */
	if (sqlite3_db_readonly(DB(s), "main") == 1 || access(s->path, W_OK) != 0)
		return err_set(err, AIRLOCK_EDENIED,
			       "database %s is read-only for this user: airlock could not record "
			       "a single call (check its owner and mode)",
			       s->path);
	for (i = 0; i < sizeof sides / sizeof sides[0]; i++) {
		n = snprintf(side, sizeof side, "%s%s", s->path, sides[i]);
		if (n < 0 || (size_t)n >= sizeof side)
			return err_set(err, AIRLOCK_EINVAL, "%s: path too long", s->path);
		if (access(side, F_OK) == 0 && access(side, W_OK) != 0)
			return err_set(err, AIRLOCK_EDENIED,
				       "%s is read-only for this user: airlock could not record a "
				       "single call (check its owner and mode)",
				       side);
	}
	if (!slash)
		n = snprintf(dir, sizeof dir, ".");
	else if (slash == s->path)
		n = snprintf(dir, sizeof dir, "/");
	else
		n = snprintf(dir, sizeof dir, "%.*s", (int)(slash - s->path), s->path);
	if (n < 0 || (size_t)n >= sizeof dir)
		return err_set(err, AIRLOCK_EINVAL, "%s: path too long", s->path);
	/* the -wal and -shm files are made and removed beside the database */
	if (access(dir, W_OK | X_OK) != 0)
		return err_set(err, AIRLOCK_EDENIED,
			       "cannot write in %s, the folder of database %s: SQLite keeps its "
			       "-wal and -shm files there (check its owner and mode)",
			       dir, s->path);
	return 0;
}

/* Runs one of the connection's own statements (BEGIN, COMMIT), compiling
 * it the first time. */
static int sq_run_once(struct store *s, sqlite3_stmt **st, const char *sql, struct err *err)
{
	int rc = SQLITE_OK;

	if (!*st)
		rc = sqlite3_prepare_v3(DB(s), sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(*st);
	if (rc != SQLITE_DONE) {
		rc = err_set(err, map_rc(rc), "%s: %s", s->path, sqlite3_errmsg(DB(s)));
		if (*st)
			sqlite3_reset(*st);
		return rc;
	}
	sqlite3_reset(*st);
	return 0;
}

static int sq_begin(struct store *s, struct err *err)
{
	struct sqlite_conn *c = s->conn;
	int rc = sq_file_ok(s, err);

	if (rc)
		return rc;
	pthread_mutex_lock(&store_write_lock);
	rc = sq_run_once(s, &c->begin, "BEGIN IMMEDIATE", err);
	if (rc)
		pthread_mutex_unlock(&store_write_lock);
	return rc;
}

static int sq_commit(struct store *s, struct err *err)
{
	struct sqlite_conn *c = s->conn;
	int rc = sq_run_once(s, &c->commit, "COMMIT", err);

	if (rc == 0)
		pthread_mutex_unlock(&store_write_lock);
	return rc;
}

static void sq_rollback(struct store *s)
{
	/* COMMIT may already have rolled back (e.g. on SQLITE_FULL). */
	if (!sqlite3_get_autocommit(DB(s)))
		sqlite3_exec(DB(s), "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&store_write_lock);
}

static int sq_prepare(struct store *s, struct store_stmt *st, struct err *err)
{
	sqlite3_stmt *native = NULL, *more = NULL;
	const char *tail = NULL;
	int rc = sqlite3_prepare_v3(DB(s), st->sql, -1, SQLITE_PREPARE_PERSISTENT, &native, &tail);

	if (rc != SQLITE_OK)
		return err_set(err, map_rc(rc), "%s: cannot prepare statement: %s", s->path,
			       sqlite3_errmsg(DB(s)));
	/* SQLite would run the first statement and drop the rest unseen (an
	 * operator's "DROP ...; UPDATE ..." half done); PostgreSQL refuses
	 * it: refuse it here too. Blanks and comments after it are fine. */
	if (tail && *tail) {
		rc = sqlite3_prepare_v2(DB(s), tail, -1, &more, NULL);
		sqlite3_finalize(more);
		if (rc != SQLITE_OK || more) {
			sqlite3_finalize(native);
			return err_set(err, AIRLOCK_EINVAL,
				       "%s: cannot prepare statement: more than one statement"
				       " (one at a time)",
				       s->path);
		}
	}
	st->native = native;
	return 0;
}

static void sq_finalize(struct store_stmt *st)
{
	sqlite3_finalize(STMT(st));
}

static int bind_rc(int rc)
{
	return rc == SQLITE_OK ? 0 : map_rc(rc);
}

static int sq_bind_text(struct store_stmt *st, int idx, const char *v, int len)
{
	if (!v)
		return bind_rc(sqlite3_bind_null(STMT(st), idx));
	return bind_rc(sqlite3_bind_text(STMT(st), idx, v, len, SQLITE_TRANSIENT));
}

static int sq_bind_int(struct store_stmt *st, int idx, int64_t v)
{
	return bind_rc(sqlite3_bind_int64(STMT(st), idx, v));
}

static int sq_bind_double(struct store_stmt *st, int idx, double v)
{
	return bind_rc(sqlite3_bind_double(STMT(st), idx, v));
}

static int sq_bind_null(struct store_stmt *st, int idx)
{
	return bind_rc(sqlite3_bind_null(STMT(st), idx));
}

static int sq_bind_blob(struct store_stmt *st, int idx, const void *v, int len)
{
	return bind_rc(sqlite3_bind_blob(STMT(st), idx, v, len, SQLITE_TRANSIENT));
}

static int sq_stmt_readonly(struct store_stmt *st)
{
	return sqlite3_stmt_readonly(STMT(st));
}

static int sq_step(struct store_stmt *st, struct err *err)
{
	struct store *s = st->owner;
	int rc = sqlite3_step(STMT(st));

	if (rc == SQLITE_ROW)
		return STORE_ROW;
	if (rc == SQLITE_DONE)
		return STORE_DONE;
	if (rc == SQLITE_INTERRUPT && s->budget_spent)
		return err_set(err, AIRLOCK_EBUSY, "%s: stopped: the call ran past its time budget",
			       s->path);
	return err_set(err, map_rc(rc), "%s: %s (%s)", s->path, sqlite3_errmsg(DB(s)), "step");
}

static int sq_col_count(struct store_stmt *st)
{
	return sqlite3_column_count(STMT(st));
}

static const char *sq_col_name(struct store_stmt *st, int col)
{
	return sqlite3_column_name(STMT(st), col);
}

static const char *sq_col_text(struct store_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(STMT(st), col);
}

static int sq_col_bytes(struct store_stmt *st, int col)
{
	return sqlite3_column_bytes(STMT(st), col);
}

static const void *sq_col_blob(struct store_stmt *st, int col)
{
	return sqlite3_column_blob(STMT(st), col);
}

static int64_t sq_col_int(struct store_stmt *st, int col)
{
	return sqlite3_column_int64(STMT(st), col);
}

static double sq_col_double(struct store_stmt *st, int col)
{
	return sqlite3_column_double(STMT(st), col);
}

/* The column's value taken once (one API entry: the connection's mutex and
 * error check) and read as sqlite3_column_text/_bytes/_int64/_double read
 * it. The value is used at once on the connection's own thread, before
 * the next step, which is all an unprotected value asks. */
static const char *sq_col_text_len(struct store_stmt *st, int col, size_t *len)
{
	sqlite3_value *v = sqlite3_column_value(STMT(st), col);
	const char *t = (const char *)sqlite3_value_text(v);

	*len = t ? (size_t)sqlite3_value_bytes(v) : 0;
	return t;
}

static int sq_col_int_null(struct store_stmt *st, int col, int64_t *out)
{
	sqlite3_value *v = sqlite3_column_value(STMT(st), col);

	if (sqlite3_value_type(v) == SQLITE_NULL)
		return 1;
	*out = sqlite3_value_int64(v);
	return 0;
}

static int sq_col_double_null(struct store_stmt *st, int col, double *out)
{
	sqlite3_value *v = sqlite3_column_value(STMT(st), col);

	if (sqlite3_value_type(v) == SQLITE_NULL)
		return 1;
	*out = sqlite3_value_double(v);
	return 0;
}

/* SQLite's type code as store_col_type's letter. */
static int type_letter(int t)
{
	switch (t) {
	case SQLITE_INTEGER:
		return 'i';
	case SQLITE_FLOAT:
		return 'r';
	case SQLITE_TEXT:
		return 't';
	case SQLITE_BLOB:
		return 'b';
	}
	return 'n';
}

static const void *sq_col_typed(struct store_stmt *st, int col, int *type, size_t *len)
{
	sqlite3_value *v = sqlite3_column_value(STMT(st), col);
	const void *p = NULL;

	*type = type_letter(sqlite3_value_type(v));
	if (*type == 't')
		p = sqlite3_value_text(v);
	else if (*type == 'b')
		p = sqlite3_value_blob(v);
	*len = p ? (size_t)sqlite3_value_bytes(v) : 0;
	return p;
}

static int sq_col_type(struct store_stmt *st, int col)
{
	return type_letter(sqlite3_column_type(STMT(st), col));
}

static void sq_reset(struct store_stmt *st)
{
	sqlite3_reset(STMT(st));
}

static void sq_clear_bindings(struct store_stmt *st)
{
	sqlite3_clear_bindings(STMT(st));
}

void store_real_json(double d, char *buf, int len)
{
	sqlite3_snprintf(len, buf, "%!.15g", d);
}

static int sq_set_durability(struct store *s, enum store_durability d, struct err *err)
{
	return sq_exec(
	    s, d == STORE_RELAXED ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", err);
}

static int budget_check(void *arg)
{
	/* 1: SQLite stops the statement with SQLITE_INTERRUPT */
	return store_budget_over(arg);
}

static void sq_budget(struct store *s, int64_t ms)
{
	if (ms <= 0) {
		sqlite3_progress_handler(DB(s), 0, NULL, NULL);
		return;
	}
	/* every 4000 virtual-machine steps: a few microseconds apart, so the
	 * clock is read rarely and a call ends close to its deadline */
	sqlite3_progress_handler(DB(s), 4000, budget_check, s);
}

static int64_t sq_changes(struct store *s)
{
	return sqlite3_changes64(DB(s));
}

static int sq_last_insert_id(struct store *s, int64_t *out, struct err *err)
{
	(void)err;
	*out = sqlite3_last_insert_rowid(DB(s));
	return 0;
}

static int sq_table_exists(struct store *s, const char *table, int *exists, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*exists = 0;
	rc = store_prepare(s, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, table);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*exists = store_col_int(st, 0) > 0;
		rc = 0;
	}
	store_done(st);
	return rc;
}

static int sq_read_snapshot(struct store *s, struct err *err)
{
	/* 2 MB of cache: recycling a few buffers costs less than faulting in
	 * a large cache. Each page is copied out of the kernel (pread), not
	 * mapped: on the 2-core AMD machine of stop 21 a one-thread verify of
	 * 300,000 entries took 0.389-0.406 s CPU against 0.434-0.450 with
	 * the file mapped (every mapped page faulted in, and unmapped at the
	 * end), where an earlier machine had found the copies ~8% dearer
	 * (bench/README, round 11). The snapshot starts at the first read. */
	return sq_exec(s, "PRAGMA cache_size=-2048; PRAGMA mmap_size=0; BEGIN", err);
}

static int sq_tables(struct store *s, json_t **out, struct err *err)
{
	return store_list_names(s,
				"SELECT name FROM sqlite_master WHERE type='table'"
				" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
				out, err);
}

static int sq_ids_follow(struct store *s, const char *table, struct err *err)
{
	(void)s;
	(void)table;
	(void)err;
	return 0;
}

static int sq_trigger_sql(struct store *s, const char *name, char **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s, "SELECT sql FROM sqlite_master WHERE type='trigger' AND name=?1", &st,
			   err);
	if (rc)
		return rc;
	store_bind_text(st, 1, name);
	rc = store_step(st, err);
	if (rc == STORE_ROW && store_col_text(st, 0)) {
		*out = strdup(store_col_text(st, 0));
		rc = *out ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	} else if (rc >= 0)
		rc = 0;
	store_done(st);
	return rc;
}

static int sq_integrity_check(struct store *s, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s, "PRAGMA integrity_check", &st, err);
	if (rc)
		return rc;
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		const char *v = store_col_text(st, 0);

		rc = (v && strcmp(v, "ok") == 0)
			 ? 0
			 : err_set(err, AIRLOCK_ECORRUPT, "%s: integrity check: %s", s->path,
				   v ? v : "(null)");
	} else if (rc == STORE_DONE)
		rc =
		    err_set(err, AIRLOCK_ECORRUPT, "%s: integrity check returned nothing", s->path);
	store_done(st);
	return rc;
}

static void *sq_native_handle(struct store *s)
{
	return DB(s);
}

static int sq_json_text_sql(const char *col, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "CASE WHEN %s IS NULL OR %s = '{}' THEN %s WHEN json_valid(%s) "
			 "THEN json(%s) ELSE '{}' END",
			 col, col, col, col, col);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int sq_list_sql(int param, char *buf, size_t len)
{
	int n = snprintf(buf, len, "(SELECT value FROM json_each(?%d))", param);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static const char *sq_migration_sql(const struct store_migration *m)
{
	return m->sql;
}

static int sq_triggers_off(struct store *s, struct err *err)
{
	int on = 1;

	if (sqlite3_db_config(DB(s), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &on) != SQLITE_OK || on)
		return err_set(err, AIRLOCK_EIO, "%s: cannot turn this connection's triggers off",
			       s->path);
	return 0;
}

static void sq_wal_limit(struct store *s, int pages)
{
	sqlite3_wal_autocheckpoint(DB(s), pages);
	pthread_mutex_lock(&ckpt.lock);
	if (pages > ckpt.wal_limit)
		ckpt.wal_limit = pages;
	pthread_mutex_unlock(&ckpt.lock);
}

/* How far past the writer's limit (sq_wal_limit) the WAL may go before the
 * checkpointer makes it start over. */
#define CKPT_RESTART_MARGIN 512

static void *checkpointer(void *arg)
{
	struct timespec until;
	int frames, restart_at;

	(void)arg;
	pthread_mutex_lock(&ckpt.lock);
	while (!ckpt.stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 50000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ckpt.wake, &ckpt.lock, &until);
		restart_at = ckpt.wal_limit ? ckpt.wal_limit + CKPT_RESTART_MARGIN : 0;
		pthread_mutex_unlock(&ckpt.lock);
		/* BUSY (another checkpoint running) is fine: try again later */
		frames = 0;
		sqlite3_wal_checkpoint_v2(ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, NULL);
		/* The WAL starts over only when a writer begins with no reader
		 * inside it; under a steady stream of reads that chance can be
		 * missed again and again, each miss letting another group grow
		 * it (e2e/mcp_load saw 21-22 MB against its 20 MB bound). Past
		 * the log writer's limit and a margin: wait (at most the 100 ms
		 * busy timeout) for the readers to leave the WAL, so that the
		 * next writer starts it over. */
		if (restart_at && frames > restart_at)
			sqlite3_wal_checkpoint_v2(ckpt.db, NULL, SQLITE_CHECKPOINT_RESTART, NULL,
						  NULL);
		pthread_mutex_lock(&ckpt.lock);
	}
	pthread_mutex_unlock(&ckpt.lock);
	return NULL;
}

int store_checkpointer_start(const char *path, struct err *err)
{
	sqlite3 *db = NULL;
	int rc;

	/* PostgreSQL checkpoints on its own */
	if (store_target_is_pg(path))
		return 0;
	pthread_once(&sqlite_configured, configure_sqlite);
	pthread_mutex_lock(&ckpt.lock);
	if (ckpt.running) {
		pthread_mutex_unlock(&ckpt.lock);
		return err_set(err, AIRLOCK_ESTATE, "the checkpointer is already running");
	}
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		rc = err_set(err, AIRLOCK_EIO, "cannot open database %s: %s", path,
			     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		pthread_mutex_unlock(&ckpt.lock);
		return rc;
	}
	sqlite3_busy_timeout(db, 100);
	sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	ckpt.db = db;
	ckpt.stopping = 0;
	if (pthread_create(&ckpt.thread, NULL, checkpointer, NULL) != 0) {
		sqlite3_close(db);
		ckpt.db = NULL;
		pthread_mutex_unlock(&ckpt.lock);
		return err_set(err, AIRLOCK_ENOMEM, "cannot start the checkpoint thread");
	}
	pthread_setname_np(ckpt.thread, "airlock-ckpt");
	ckpt.running = 1;
	pthread_mutex_unlock(&ckpt.lock);
	return 0;
}

void store_checkpointer_stop(void)
{
	pthread_mutex_lock(&ckpt.lock);
	if (!ckpt.running) {
		pthread_mutex_unlock(&ckpt.lock);
		return;
	}
	ckpt.stopping = 1;
	pthread_cond_signal(&ckpt.wake);
	pthread_mutex_unlock(&ckpt.lock);
	pthread_join(ckpt.thread, NULL);
	sqlite3_wal_checkpoint_v2(ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	sqlite3_close(ckpt.db);
	pthread_mutex_lock(&ckpt.lock);
	ckpt.db = NULL;
	ckpt.running = 0;
	pthread_mutex_unlock(&ckpt.lock);
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .file_ok = sq_file_ok,
    .writable = sq_writable,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_text = sq_bind_text,
    .bind_int = sq_bind_int,
    .bind_double = sq_bind_double,
    .bind_null = sq_bind_null,
    .bind_blob = sq_bind_blob,
    .stmt_readonly = sq_stmt_readonly,
    .step = sq_step,
    .col_count = sq_col_count,
    .col_name = sq_col_name,
    .col_text = sq_col_text,
    .col_bytes = sq_col_bytes,
    .col_blob = sq_col_blob,
    .col_int = sq_col_int,
    .col_double = sq_col_double,
    .col_type = sq_col_type,
    .col_text_len = sq_col_text_len,
    .col_typed = sq_col_typed,
    .col_int_null = sq_col_int_null,
    .col_double_null = sq_col_double_null,
    .reset = sq_reset,
    .clear_bindings = sq_clear_bindings,
    .set_durability = sq_set_durability,
    .wal_limit = sq_wal_limit,
    .triggers_off = sq_triggers_off,
    .budget = sq_budget,
    .changes = sq_changes,
    .last_insert_id = sq_last_insert_id,
    .table_exists = sq_table_exists,
    .read_snapshot = sq_read_snapshot,
    .tables = sq_tables,
    .ids_follow = sq_ids_follow,
    .trigger_sql = sq_trigger_sql,
    .integrity_check = sq_integrity_check,
    .native_handle = sq_native_handle,
    .migration_sql = sq_migration_sql,
    .json_text_sql = sq_json_text_sql,
    .list_sql = sq_list_sql,
};
