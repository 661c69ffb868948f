/* store.c — SQLite implementation of store.h. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STMT_BUCKETS 256

struct store_stmt {
	struct store *owner;
	sqlite3_stmt *native;
	char *sql;
	int bind_rc; /* first SQLite error from a bind, kept for store_step */
	int in_use;
	struct store_stmt *next; /* bucket chain */
};

struct store {
	sqlite3 *db;
	char *path;
	int depth; /* transaction nesting: 0 = none */
	int relaxed; /* synchronous=NORMAL in force */
	dev_t dev;   /* the file opened, to notice it removed or replaced */
	ino_t ino;
	int gone;    /* it was: every later write is refused */
	struct timespec deadline; /* store_budget: when the call must end */
	int budget_spent;         /* a statement was stopped by the budget */
	struct store_stmt *cache[STMT_BUCKETS];
};

/* Writers of one process queue here rather than in SQLite: SQLite's busy
 * handler sleeps (1 ms, 2 ms, 5 ms, ...) while another connection holds the
 * write lock, which under many concurrent writers (the HTTP connectors'
 * workers each logging their calls) costs far more than the transactions
 * themselves. Other processes still meet SQLite's lock and busy timeout. */
static pthread_mutex_t store_write_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned sql_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % STMT_BUCKETS;
}

static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return AIRLOCK_EBUSY;
	case SQLITE_NOMEM: return AIRLOCK_ENOMEM;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG: return AIRLOCK_EINVAL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return AIRLOCK_ECORRUPT;
	}
	return AIRLOCK_EIO;
}

static int db_error(struct store *s, int rc, struct err *err, const char *what)
{
	return err_set(err, map_rc(rc), "%s: %s (%s)", s->path, sqlite3_errmsg(s->db), what);
}

static int migrate(struct store *s, struct err *err);

/* The background checkpointer (store_checkpointer_start). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	sqlite3 *db;
	int running, stopping;
} ckpt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL, 0, 0};

/* SQLite's memory statistics take a process-wide mutex on every allocation,
 * which the HTTP workers' connections would all queue on; airlock never
 * reads them. Must run before SQLite initialises. */
static pthread_once_t sqlite_configured = PTHREAD_ONCE_INIT;

static void configure_sqlite(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
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
		return err_set(err, AIRLOCK_EIO, "cannot set the mode of %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

static int open_store(struct store **out, const char *path, int create, struct err *err)
{
	struct store *s;
	struct stat sb;
	int rc;

	*out = NULL;
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
				       "no database at %s (run 'airlock init' to create one)", path);
		return err_set(err, AIRLOCK_EIO, "cannot open database %s: %s", path,
			       strerror(errno));
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	/* one thread at a time per connection (store.h): no per-call mutex */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = err_set(err, rc == SQLITE_CANTOPEN ? AIRLOCK_ENOTFOUND : AIRLOCK_EIO,
			     "cannot open database %s: %s", path,
			     s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto error;
	}
	/* the file now open; if it went away between the two calls, this
	 * connection's first write notices */
	if (stat(path, &sb) == 0) {
		s->dev = sb.st_dev;
		s->ino = sb.st_ino;
	} else
		s->gone = 1;
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 10000);
	/* WAL lets readers (the console, read connectors) run beside the one
	 * writer; FULL makes each commit durable across power loss, which the
	 * log's "an entry exists exactly when its effect does" depends on. */
	/* Memory is bounded per connection, and a server holds one per worker
	 * thread plus the log's writer and the console: a 64 MB page cache
	 * each and in-memory temp tables took `airlock serve` to 440-500 MB on
	 * a 1M-account book. 4 MB of cache holds the upper levels of every
	 * index and a page's worth of rows; temp b-trees (a sort that outgrows
	 * the cache) go to a temp file, not the heap. */
	rc = store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			   "PRAGMA foreign_keys=ON; PRAGMA temp_store=FILE;"
			   "PRAGMA cache_size=-4096;",
			err);
	if (rc == 0)
		rc = migrate(s, err);
	/* SQLite's "attempt to write a readonly database" does not say which
	 * file or folder it could not write */
	if (rc == AIRLOCK_EIO && (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_READONLY) {
		struct err why = {0};

		if (store_writable(s, &why))
			rc = err_set(err, why.code, "%s", why.msg);
	}
	if (rc)
		goto error;
	pthread_mutex_lock(&ckpt.lock);
	if (ckpt.running)
		sqlite3_wal_autocheckpoint(s->db, 0);
	pthread_mutex_unlock(&ckpt.lock);
	*out = s;
	return 0;
error:
	store_close(s);
	return rc;
}

int store_open(struct store **out, const char *path, struct err *err)
{
	return open_store(out, path, 0, err);
}

int store_create(struct store **out, const char *path, struct err *err)
{
	return open_store(out, path, 1, err);
}

/* Set once any connection of this process finds its file gone. */
static int store_gone_said;

/* Whether the file at s->path is still the one this connection has open.
 * A stat per write transaction: next to the commit's fsync it costs
 * nothing. Once gone, always gone: the connection's file is an orphan, and
 * whatever it says no longer reaches the book other processes read. */
static int check_file(struct store *s, struct err *err)
{
	struct stat sb;
	const char *how = NULL;

	if (!s->gone) {
		if (stat(s->path, &sb) != 0)
			how = errno == ENOENT ? "was removed" : "cannot be checked";
		else if (sb.st_dev != s->dev || sb.st_ino != s->ino)
			how = "was replaced by another file";
		if (!how)
			return 0;
		s->gone = 1;
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

int store_file_ok(struct store *s, struct err *err) { return check_file(s, err); }

int store_writable(struct store *s, struct err *err)
{
	static const char *const sides[] = {"-wal", "-shm"};
	char dir[4096], side[4200];
	const char *slash = strrchr(s->path, '/');
	size_t i;
	int n;

	/* SQLite opens a file it may not write read-only, without a word */
	if (sqlite3_db_readonly(s->db, "main") == 1 || access(s->path, W_OK) != 0)
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

void store_close(struct store *s)
{
	int i;

	if (!s)
		return;
	while (s->depth > 0)
		store_rollback(s); /* releases the write lock too */
	for (i = 0; i < STMT_BUCKETS; i++) {
		struct store_stmt *st = s->cache[i], *next;

		for (; st; st = next) {
			next = st->next;
			sqlite3_finalize(st->native);
			free(st->sql);
			free(st);
		}
	}
	if (s->db)
		sqlite3_close(s->db);
	free(s->path);
	free(s);
}

const char *store_path(const struct store *s) { return s->path; }

int store_exec(struct store *s, const char *sql, struct err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		rc = err_set(err, map_rc(rc), "%s: %s", s->path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int store_begin(struct store *s, struct err *err)
{
	char sql[64];
	int rc;

	if (s->depth == 0) {
		rc = check_file(s, err);
		if (rc)
			return rc;
		pthread_mutex_lock(&store_write_lock);
		rc = store_exec(s, "BEGIN IMMEDIATE", err);
		if (rc)
			pthread_mutex_unlock(&store_write_lock);
	} else {
		(void)snprintf(sql, sizeof sql, "SAVEPOINT sp%d", s->depth);
		rc = store_exec(s, sql, err);
	}
	if (rc == 0)
		s->depth++;
	return rc;
}

int store_commit(struct store *s, struct err *err)
{
	char sql[64];
	int rc;

	if (s->depth == 0)
		return err_set(err, AIRLOCK_ESTATE, "commit without a transaction");
	if (s->depth == 1)
		rc = store_exec(s, "COMMIT", err);
	else {
		(void)snprintf(sql, sizeof sql, "RELEASE sp%d", s->depth - 1);
		rc = store_exec(s, sql, err);
	}
	if (rc) {
		store_rollback(s);
		return rc;
	}
	if (--s->depth == 0)
		pthread_mutex_unlock(&store_write_lock);
	return 0;
}

void store_rollback(struct store *s)
{
	char sql[80];

	if (s->depth == 0)
		return;
	if (s->depth == 1) {
		/* COMMIT may already have rolled back (e.g. on SQLITE_FULL). */
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	} else {
		(void)snprintf(sql, sizeof sql, "ROLLBACK TO sp%d; RELEASE sp%d", s->depth - 1,
			       s->depth - 1);
		sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	}
	if (--s->depth == 0)
		pthread_mutex_unlock(&store_write_lock);
}

int store_in_transaction(const struct store *s) { return s->depth > 0; }

int store_prepare(struct store *s, const char *sql, struct store_stmt **out, struct err *err)
{
	unsigned h = sql_hash(sql);
	struct store_stmt *st;
	int rc;

	*out = NULL;
	for (st = s->cache[h]; st; st = st->next) {
		if (!st->in_use && strcmp(st->sql, sql) == 0) {
			st->in_use = 1;
			st->bind_rc = SQLITE_OK;
			*out = st;
			return 0;
		}
	}
	st = calloc(1, sizeof *st);
	if (!st)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	st->sql = strdup(sql);
	if (!st->sql) {
		free(st);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->native, NULL);
	if (rc != SQLITE_OK) {
		rc = err_set(err, map_rc(rc), "%s: cannot prepare statement: %s", s->path,
			     sqlite3_errmsg(s->db));
		free(st->sql);
		free(st);
		return rc;
	}
	st->owner = s;
	st->in_use = 1;
	st->next = s->cache[h];
	s->cache[h] = st;
	*out = st;
	return 0;
}

static void keep_bind_rc(struct store_stmt *st, int rc)
{
	if (rc != SQLITE_OK && st->bind_rc == SQLITE_OK)
		st->bind_rc = rc;
}

void store_bind_text(struct store_stmt *st, int idx, const char *v)
{
	if (!v)
		keep_bind_rc(st, sqlite3_bind_null(st->native, idx));
	else
		keep_bind_rc(st, sqlite3_bind_text(st->native, idx, v, -1, SQLITE_TRANSIENT));
}

void store_bind_textn(struct store_stmt *st, int idx, const char *v, int len)
{
	if (!v)
		keep_bind_rc(st, sqlite3_bind_null(st->native, idx));
	else
		keep_bind_rc(st, sqlite3_bind_text(st->native, idx, v, len, SQLITE_TRANSIENT));
}

void store_bind_int(struct store_stmt *st, int idx, int64_t v)
{
	keep_bind_rc(st, sqlite3_bind_int64(st->native, idx, v));
}

void store_bind_double(struct store_stmt *st, int idx, double v)
{
	keep_bind_rc(st, sqlite3_bind_double(st->native, idx, v));
}

void store_bind_null(struct store_stmt *st, int idx)
{
	keep_bind_rc(st, sqlite3_bind_null(st->native, idx));
}

void store_bind_failed(struct store_stmt *st) { keep_bind_rc(st, SQLITE_NOMEM); }

void store_bind_blob(struct store_stmt *st, int idx, const void *v, int len)
{
	keep_bind_rc(st, sqlite3_bind_blob(st->native, idx, v, len, SQLITE_TRANSIENT));
}

int store_step(struct store_stmt *st, struct err *err)
{
	int rc;

	if (st->bind_rc != SQLITE_OK)
		return err_set(err, map_rc(st->bind_rc), "%s: cannot bind parameter: %s",
			       st->owner->path, sqlite3_errstr(st->bind_rc));
	/* a write outside any transaction commits on its own: the same check
	 * as store_begin's */
	if (st->owner->depth == 0 && !sqlite3_stmt_readonly(st->native) &&
	    (rc = check_file(st->owner, err)))
		return rc;
	rc = sqlite3_step(st->native);
	if (rc == SQLITE_ROW)
		return STORE_ROW;
	if (rc == SQLITE_DONE)
		return STORE_DONE;
	if (rc == SQLITE_INTERRUPT && st->owner->budget_spent)
		return err_set(err, AIRLOCK_EBUSY, "%s: stopped: the call ran past its time budget",
			       st->owner->path);
	return db_error(st->owner, rc, err, "step");
}

/* Allocation failures inside json_dumps, per thread: jansson 2.14 does not
 * always pass them on (an object key whose copy failed is left out and the
 * text is still returned, malformed), so store_json_dump watches jansson's
 * allocator itself. Chained to whatever allocator was set before. */
static __thread int json_alloc_failed;
static json_malloc_t json_prev_malloc;
static json_free_t json_prev_free;
static pthread_once_t json_noted_once = PTHREAD_ONCE_INIT;

static void *json_malloc_noted(size_t n)
{
	void *p = json_prev_malloc(n);

	if (!p)
		json_alloc_failed = 1;
	return p;
}

static void json_note_allocs(void)
{
	json_get_alloc_funcs(&json_prev_malloc, &json_prev_free);
	json_set_alloc_funcs(json_malloc_noted, json_prev_free);
}

char *store_json_dump(const json_t *v, size_t flags)
{
	char *txt;

	pthread_once(&json_noted_once, json_note_allocs);
	json_alloc_failed = 0;
	txt = json_dumps(v, flags);
	if (txt && json_alloc_failed) {
		free(txt);
		txt = NULL;
	}
	return txt;
}

json_t *store_json_load(const char *text, size_t flags, int *oom)
{
	json_t *v;

	pthread_once(&json_noted_once, json_note_allocs);
	json_alloc_failed = 0;
	v = json_loads(text, flags, NULL);
	*oom = json_alloc_failed;
	if (v && *oom) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

int store_col_count(struct store_stmt *st) { return sqlite3_column_count(st->native); }

const char *store_col_name(struct store_stmt *st, int col)
{
	return sqlite3_column_name(st->native, col);
}

const char *store_col_text(struct store_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->native, col);
}

int store_col_bytes(struct store_stmt *st, int col)
{
	return sqlite3_column_bytes(st->native, col);
}

const void *store_col_blob(struct store_stmt *st, int col)
{
	return sqlite3_column_blob(st->native, col);
}

int64_t store_col_int(struct store_stmt *st, int col)
{
	return sqlite3_column_int64(st->native, col);
}

double store_col_double(struct store_stmt *st, int col)
{
	return sqlite3_column_double(st->native, col);
}

int store_col_is_null(struct store_stmt *st, int col)
{
	return sqlite3_column_type(st->native, col) == SQLITE_NULL;
}

void store_real_json(double d, char *buf, int len)
{
	sqlite3_snprintf(len, buf, "%!.15g", d);
}

int store_col_type(struct store_stmt *st, int col)
{
	switch (sqlite3_column_type(st->native, col)) {
	case SQLITE_INTEGER: return 'i';
	case SQLITE_FLOAT: return 'r';
	case SQLITE_TEXT: return 't';
	case SQLITE_BLOB: return 'b';
	}
	return 'n';
}

void store_reset(struct store_stmt *st)
{
	sqlite3_reset(st->native);
	st->bind_rc = SQLITE_OK;
}

void store_done(struct store_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st->native);
	sqlite3_clear_bindings(st->native);
	st->bind_rc = SQLITE_OK;
	st->in_use = 0;
}

int store_set_durability(struct store *s, enum store_durability d, struct err *err)
{
	int want = d == STORE_RELAXED, rc;

	if (want == s->relaxed)
		return 0;
	rc = store_exec(s, want ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL", err);
	if (rc == 0)
		s->relaxed = want;
	return rc;
}

int store_collect(struct store_stmt *st, store_row_fn row, void *ctx, json_t **out,
		  struct err *err)
{
	json_t *arr = json_array(), *v;
	int rc;

	*out = NULL;
	if (!arr) {
		store_done(st);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	while ((rc = store_step(st, err)) == STORE_ROW) {
		v = row(st, ctx);
		if (!v || json_array_append_new(arr, v)) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			break;
		}
	}
	store_done(st);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

static int budget_check(void *arg)
{
	struct store *s = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > s->deadline.tv_sec ||
	    (now.tv_sec == s->deadline.tv_sec && now.tv_nsec >= s->deadline.tv_nsec)) {
		s->budget_spent = 1;
		return 1; /* SQLite stops the statement with SQLITE_INTERRUPT */
	}
	return 0;
}

void store_budget(struct store *s, int64_t ms)
{
	s->budget_spent = 0;
	if (ms <= 0) {
		sqlite3_progress_handler(s->db, 0, NULL, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->deadline);
	s->deadline.tv_sec += (time_t)(ms / 1000);
	s->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (s->deadline.tv_nsec >= 1000000000L) {
		s->deadline.tv_sec++;
		s->deadline.tv_nsec -= 1000000000L;
	}
	/* every 4000 virtual-machine steps: a few microseconds apart, so the
	 * clock is read rarely and a call ends close to its deadline */
	sqlite3_progress_handler(s->db, 4000, budget_check, s);
}

int store_budget_spent(const struct store *s) { return s->budget_spent; }

int64_t store_changes(struct store *s) { return sqlite3_changes64(s->db); }

void *store_native_handle(struct store *s) { return s->db; }

int store_query_int(struct store *s, const char *sql, int64_t *out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = 0;
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*out = store_col_int(st, 0);
		rc = 0;
	} else if (rc == STORE_DONE)
		rc = 0;
	store_done(st);
	return rc;
}

int store_schema_version(struct store *s, int64_t *out, struct err *err)
{
	return store_query_int(s, "SELECT coalesce(max(version),0) FROM schema_migrations", out,
			       err);
}

int store_integrity_check(struct store *s, struct err *err)
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
		rc = err_set(err, AIRLOCK_ECORRUPT, "%s: integrity check returned nothing", s->path);
	store_done(st);
	return rc;
}

/* Applies every migration newer than the database, each in its own
 * transaction so a failure leaves the schema at the last good version. A
 * database newer than this binary is refused rather than guessed at. */
static int migrate(struct store *s, struct err *err)
{
	int64_t have;
	int i, rc;
	struct store_stmt *st;

	rc = store_exec(s, "CREATE TABLE IF NOT EXISTS schema_migrations("
			   " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
			   " applied_at TEXT NOT NULL)",
			err);
	if (rc)
		return rc;
	rc = store_schema_version(s, &have, err);
	if (rc)
		return rc;
	if (store_migration_count > 0 && have > store_migrations[store_migration_count - 1].version)
		return err_set(err, AIRLOCK_EINVAL,
			       "%s: schema version %lld is newer than this airlock understands (%d)",
			       s->path, (long long)have,
			       store_migrations[store_migration_count - 1].version);
	for (i = 0; i < store_migration_count; i++) {
		const struct store_migration *m = &store_migrations[i];

		/* each migration is applied once, whatever order branches
		 * added them in: a gap below the newest is filled too */
		rc = store_prepare(s, "SELECT 1 FROM schema_migrations WHERE version=?1", &st, err);
		if (rc)
			return rc;
		store_bind_int(st, 1, m->version);
		rc = store_step(st, err);
		store_done(st);
		if (rc < 0)
			return rc;
		if (rc == STORE_ROW)
			continue;
		rc = store_begin(s, err);
		if (rc)
			return rc;
		rc = store_exec(s, m->sql, err);
		if (rc == 0)
			rc = store_prepare(s,
					   "INSERT INTO schema_migrations(version,name,applied_at)"
					   " VALUES(?1,?2,strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
					   &st, err);
		if (rc == 0) {
			store_bind_int(st, 1, m->version);
			store_bind_text(st, 2, m->name);
			rc = store_step(st, err);
			store_done(st);
			if (rc == STORE_DONE)
				rc = 0;
		}
		if (rc) {
			store_rollback(s);
			return err_prefix(err, "migration %d (%s)", m->version, m->name);
		}
		rc = store_commit(s, err);
		if (rc)
			return rc;
	}
	return 0;
}

static void *checkpointer(void *arg)
{
	struct timespec until;

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
		pthread_mutex_unlock(&ckpt.lock);
		/* BUSY (another checkpoint running) is fine: try again later */
		sqlite3_wal_checkpoint_v2(ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&ckpt.lock);
	}
	pthread_mutex_unlock(&ckpt.lock);
	return NULL;
}

void store_wal_limit(struct store *s, int pages) { sqlite3_wal_autocheckpoint(s->db, pages); }

int store_checkpointer_start(const char *path, struct err *err)
{
	sqlite3 *db = NULL;
	int rc;

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
