/* store.h — the one interface between airlock and its database.
 *
 * Owns: the connection, transactions, the prepared-statement cache and the
 * numbered schema migrations (schema.c). Callers speak plain SQL with
 * numbered parameters (?1, ?2 …) in the subset SQLite and PostgreSQL share,
 * so a PostgreSQL backend can implement these same functions without any
 * caller changing. Nothing above this header includes sqlite3.h.
 *
 * Never: builds SQL from values (only prepared statements with bound
 * parameters), or commits on a caller's behalf.
 *
 * Statements come from a cache owned by the store: store_prepare() hands one
 * out, the caller binds, steps, reads columns, and must call store_done()
 * before preparing the same SQL again. Column text is owned by the statement
 * and valid until the next step or store_done().
 *
 * Threads: a store is used by one thread at a time (the connection is opened
 * without SQLite's per-call mutex); threads that share one hand it over
 * under their own lock, as the HTTP workers' pool does. */
#ifndef AIRLOCK_STORE_H
#define AIRLOCK_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"

struct store;
struct store_stmt;

enum { STORE_DONE = 0, STORE_ROW = 1 };

#define STORE_DEFAULT_PATH "airlock.db"

/* Where a path to the database is accepted, a PostgreSQL URL
 * (postgres://user@host:port/db or postgresql://..., or a libpq
 * "host=... dbname=..." string) is too: the store picks the engine from the
 * target's form. */

/* Opens the existing database at path, sets WAL, synchronous=FULL,
 * foreign keys and a busy timeout, and applies pending migrations. On failure
 * *out is NULL and err says why. A missing file is AIRLOCK_ENOTFOUND ("no
 * database at PATH (run 'airlock init' to create one)") and nothing is
 * created. */
int store_open(struct store **out, const char *path, struct err *err);

/* store_open, creating the file first when nothing is at path: mode 0600
 * whatever the umask (the -wal and -shm files SQLite adds take the same
 * mode). Only for `airlock init`, `airlock demo` and tests. */
int store_create(struct store **out, const char *path, struct err *err);

/* Opens target (a path, or a postgres:// URL / $AIRLOCK_DB value) without
 * applying migrations: for `airlock sql` and tests of the engine itself.
 * Everything else opens with store_open(). */
int store_connect(struct store **out, const char *target, struct err *err);

/* 1 when target names a PostgreSQL database rather than a file: for the
 * callers that keep files beside the database (the signing key). */
int store_target_is_pg(const char *target);

/* The database a command works on: given (--db) when set and not empty,
 * else $AIRLOCK_DB when set and not empty, else STORE_DEFAULT_PATH. The
 * one place that reads $AIRLOCK_DB. */
const char *store_target(const char *given);

/* 1 when a database is at target: the file exists, or target is a
 * PostgreSQL URL (whose server answers for itself when it is opened). For
 * callers that show something only once a book exists. */
int store_target_exists(const char *target);


/* 0 while the file at the store's path is the one it opened. Once it was
 * removed or replaced (another device/inode), AIRLOCK_ESTATE with the reason
 * on every call, and on every store_begin(): such a connection takes no
 * more writes (the first time, one line on stderr says so). Reads go on
 * from the open file, but in a server each call's log entry is a write, so
 * no result leaves without it. */
int store_file_ok(struct store *s, struct err *err);

/* Closes the connection and frees the statement cache. NULL is fine. */
void store_close(struct store *s);

const char *store_path(const struct store *s);

/* 0 when this process can write the database, its -wal and -shm files and
 * its folder; AIRLOCK_EDENIED naming the one it cannot. For servers, which
 * must refuse to start rather than fail on the first call. */
int store_writable(struct store *s, struct err *err);

/* Transactions nest: the outermost store_begin() checks store_file_ok(),
 * then takes the write lock at once (BEGIN IMMEDIATE), inner ones are
 * savepoints. Every store_begin() is ended
 * by exactly one store_commit() or store_rollback(). */
int store_begin(struct store *s, struct err *err);
/* One read transaction around the statements of one short call (SQLite;
 * nothing on PostgreSQL): they see one snapshot and take the file's and
 * the WAL's read locks once, instead of once per statement, and a log
 * commit between two of them no longer drops the connection's page cache
 * in the middle of the call. For a caller that never waits inside it (the
 * HTTP I/O thread): while it is open, no checkpoint can pass it. A
 * store_begin inside it ends it first (the write gets a transaction of its
 * own, as without it); store_read_end ends it when still open. */
int store_read_begin(struct store *s, struct err *err);
void store_read_end(struct store *s);
int store_commit(struct store *s, struct err *err);
void store_rollback(struct store *s);
int store_in_transaction(const struct store *s);

/* Runs SQL with no parameters (DDL, pragmas). */
int store_exec(struct store *s, const char *sql, struct err *err);

/* Returns a cached prepared statement for sql in *out. */
int store_prepare(struct store *s, const char *sql, struct store_stmt **out, struct err *err);

/* Binding never fails on its own: the first bind error is kept in the
 * statement and returned by the next store_step(). A NULL text binds NULL. */
void store_bind_text(struct store_stmt *st, int idx, const char *v);
void store_bind_textn(struct store_stmt *st, int idx, const char *v, int len);
void store_bind_int(struct store_stmt *st, int idx, int64_t v);
void store_bind_double(struct store_stmt *st, int idx, double v);
void store_bind_null(struct store_stmt *st, int idx);
/* Binds the bytes as a BLOB. */
void store_bind_blob(struct store_stmt *st, int idx, const void *v, int len);
/* For a caller that could not make a value (out of memory): the next
 * store_step() fails with AIRLOCK_ENOMEM instead of running. */
void store_bind_failed(struct store_stmt *st);

/* STORE_ROW, STORE_DONE, or a negative AIRLOCK_E* code with err filled. */
int store_step(struct store_stmt *st, struct err *err);

int store_col_count(struct store_stmt *st);
const char *store_col_name(struct store_stmt *st, int col);
/* NULL for SQL NULL. */
const char *store_col_text(struct store_stmt *st, int col);
int store_col_bytes(struct store_stmt *st, int col);
const void *store_col_blob(struct store_stmt *st, int col);
int64_t store_col_int(struct store_stmt *st, int col);
double store_col_double(struct store_stmt *st, int col);
int store_col_is_null(struct store_stmt *st, int col);
/* 'i' integer, 'r' real, 't' text, 'b' blob, 'n' null. */
int store_col_type(struct store_stmt *st, int col);
/* One column in one call, for loops over many (a search page reads 16 a
 * row): store_col_text with store_col_bytes in *len (0 for NULL); and 1
 * for NULL, else 0 with store_col_int / store_col_double in *v. */
const char *store_col_text_len(struct store_stmt *st, int col, size_t *len);
int store_col_int_null(struct store_stmt *st, int col, int64_t *v);
int store_col_double_null(struct store_stmt *st, int col, double *v);
/* A column's type (as store_col_type) and, for text and blobs, its bytes
 * (store_col_text or store_col_blob) and their length in *len; NULL and
 * *len 0 for the other types. One call, for loops that read every column
 * of many rows (audit_verify). */
const void *store_col_typed(struct store_stmt *st, int col, int *type, size_t *len);
/* d as SQLite's JSON functions write a real: 15 significant digits, and
 * always a '.' or exponent ("123000.0", "0.25", "1.0e+20"). */
void store_real_json(double d, char *buf, int len);

/* Resets the statement for another run with new bindings; the caller still
 * holds it (for loops that insert many rows). */
void store_reset(struct store_stmt *st);

/* Resets the statement and clears its bindings; it goes back to the cache. */
void store_done(struct store_stmt *st);

/* Steps a bound statement to its end, making one JSON value per row with
 * row(st, ctx), and returns them as a new array in *out; always ends with
 * store_done(st). row returning NULL is out of memory. */
typedef json_t *(*store_row_fn)(struct store_stmt *st, void *ctx);
int store_collect(struct store_stmt *st, store_row_fn row, void *ctx, json_t **out,
		  struct err *err);

/* json_dumps(v, flags) for text that is stored: NULL (out of memory) when
 * any allocation failed while it ran, where jansson may return the text
 * with a key left out. Free the result with free(). */
char *store_json_dump(const json_t *v, size_t flags);

/* json_loads(text, flags) that tells a parse that ran out of memory (*oom
 * 1, NULL) from text that is not JSON (*oom 0, NULL): jansson reports some
 * failed allocations as syntax errors. */
json_t *store_json_load(const char *text, size_t flags, int *oom);

/* Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
int64_t store_changes(struct store *s);

/* How hard the next commits push to disk. STORE_DURABLE (the default) is
 * synchronous=FULL: a commit survives power loss. STORE_RELAXED is
 * synchronous=NORMAL: a commit survives a crash of the process, and the file
 * stays consistent, but the newest commits may be lost if the machine loses
 * power. Only for writes that record something without changing it (the
 * action-log entry of a read); every change to the book, a batch or a send
 * is made durable. On PostgreSQL RELAXED is synchronous_commit = off,
 * which loses the newest such commits with a crash of the database server
 * too, not only of the machine (e2e/pg_restart counts them); waiting for
 * each one's WAL instead cut logged reads to a quarter with fsync on. */
enum store_durability { STORE_DURABLE, STORE_RELAXED };
int store_set_durability(struct store *s, enum store_durability d, struct err *err);

/* What a connection is opened with beside its target; all zero is
 * store_open()'s. Every connection airlock holds is opened through
 * store_open_with() (store_open, store_create and the pool's are its
 * shorthands), so the URL forms, the durability and the reconnects a lost
 * PostgreSQL session gets are the same for each. */
struct store_options {
	int create;			  /* store_create: make the file when missing */
	enum store_durability durability; /* store_set_durability */
	int wal_limit_pages;		  /* > 0: store_wal_limit */
	int read_snapshot;		  /* store_read_snapshot once open */
	/* SQLite: this connection fires no triggers. Only for a writer that
	 * checks in C, in the same transaction, what the tables' triggers
	 * check (the action log's writer, audit_queue.c: the chain and the
	 * head computed from the head it read under the write lock); every
	 * other connection, in this process or another, still meets them.
	 * PostgreSQL keeps them (nothing to do). */
	int triggers_off;
};
int store_open_with(struct store **out, const char *target, const struct store_options *o,
		    struct err *err);

/* For a long-running server (airlock serve): connections this process
 * opens from now on leave WAL checkpoints to one background thread, which
 * copies the WAL into the database every 50 ms (PASSIVE: it never blocks a
 * writer or a reader). Otherwise the commit that crosses SQLite's
 * 1000-page mark runs the checkpoint, with its fsyncs, while every other
 * writer waits. stop ends the thread after a last checkpoint; connections
 * opened after it checkpoint for themselves again. */
int store_checkpointer_start(const char *path, struct err *err);
void store_checkpointer_stop(void);

/* Bounds the WAL under continuous writes, for the connection that commits
 * most often (the action log's writer). The background checkpoints alone
 * never let the WAL start over while commits keep coming (some frame is
 * always newer than the last checkpoint), so it grew by 30 MB a second
 * under load. Once the WAL holds more than pages frames, this connection
 * checkpoints right after its own commits (most frames are copied already;
 * what is left is the newest ones and two fsyncs), and its next commit
 * starts the WAL from the beginning. */
void store_wal_limit(struct store *s, int pages);

/* A time budget for what this connection runs next (a tool call): once ms
 * milliseconds have passed, the statement running is stopped (SQLite's
 * progress handler, checked every few thousand steps) and store_step
 * returns AIRLOCK_EBUSY saying the budget ran out, so a slow query gives
 * its thread back instead of holding it. ms <= 0 ends the budget. Only for
 * reads: a write stopped midway would lose its transaction. */
void store_budget(struct store *s, int64_t ms);
/* 1 when a statement was stopped by the current (or last) budget. */
int store_budget_spent(const struct store *s);

/* Runs a query without parameters whose first row's first column is an
 * integer (a count, a max): *out gets it, 0 when there is no row. */
int store_query_int(struct store *s, const char *sql, int64_t *out, struct err *err);

/* The highest applied migration number. */
int store_schema_version(struct store *s, int64_t *out, struct err *err);

/* PRAGMA integrity_check: 0 when "ok", AIRLOCK_ECORRUPT with the first
 * complaint otherwise. */
int store_integrity_check(struct store *s, struct err *err);

/* Starts a read-only transaction that sees one snapshot of the database
 * until s is closed, with a small page cache (a scan reads each page once)
 * and, on SQLite, the file mapped into memory rather than read page by page:
 * for a worker that reads a range of a long table beside others. Not
 * ended by store_commit(); s takes no writes after it. */
int store_read_snapshot(struct store *s, struct err *err);

/* The names of the database's tables, as a new JSON array of strings in
 * *out (the engine's own internal tables left out). */
int store_tables(struct store *s, json_t **out, struct err *err);

/* After rows were copied in with their ids (airlock migrate): the ids the
 * database assigns to table's new rows continue after the largest there.
 * Nothing to do on SQLite, whose next rowid is always max + 1. */
int store_ids_follow(struct store *s, const char *table, struct err *err);

/* The id the last INSERT on this connection gave its row (SQLite's rowid,
 * PostgreSQL's lastval()): for tables whose id the database assigns. */
int store_last_insert_id(struct store *s, int64_t *out, struct err *err);

/* 1 in *exists when a table of that name exists. */
int store_table_exists(struct store *s, const char *table, int *exists, struct err *err);

/* The SQL that created the trigger called name, in *out (malloc'd, the
 * caller frees), for a caller that drops it around a bulk load and puts it
 * back; NULL in *out when there is none of that name (or the engine keeps
 * its triggers otherwise). */
int store_trigger_sql(struct store *s, const char *name, char **out, struct err *err);

/* An SQL expression (for a SELECT list) that reads the JSON column col
 * as JSON text: the column itself when NULL or '{}', its JSON text when it
 * parses, else '{}' (a hand edit left it unreadable). Each engine has its
 * own form (SQLite's json_valid, a function of migration 7 on
 * PostgreSQL). -1 when buf is too small; col is a trusted column name. */
int store_sql_json_text(const struct store *s, const char *col, char *buf, size_t len);

/* A set of strings as one parameter, so a check over many records is one
 * statement that visits them in key order, not one probe per record:
 * store_sql_list() writes a subquery, "(SELECT value FROM …)", yielding
 * one row (column "value", text) per string bound at parameter param by
 * store_bind_list(); use it as "col IN <it>" or as "INSERT … SELECT …
 * FROM <it> AS l WHERE true". Each engine has its own form (SQLite's
 * json_each, PostgreSQL's json_array_elements_text). -1 when buf is too
 * small. */
int store_sql_list(const struct store *s, int param, char *buf, size_t len);

/* Binds the strings of set (a JSON array of strings, or an object: its
 * keys) at idx, sorted bytewise and without repeats, for store_sql_list();
 * anything not a string is skipped. Out of memory fails the step. */
void store_bind_list(struct store_stmt *st, int idx, json_t *set);

/* Prepares fmt with store_sql_list()'s subquery for parameter param put
 * where fmt says %s (its only conversion); bind the set with
 * store_bind_list() at param. */
int store_prepare_list(struct store *s, const char *fmt, int param, struct store_stmt **out,
		       struct err *err);

/* "sqlite" or "postgres": the engine behind s. */
const char *store_backend_name(const struct store *s);

/* For tests and benches: the SQLite handle behind the store (sqlite3 *). */
void *store_native_handle(struct store *s);

/* schema.c: the numbered migrations store_open() applies in order. */
struct store_migration {
	int version;
	const char *name;
	const char *sql;
};
/* A pool of connections to one database for request threads (console,
 * OAuth routes, the MCP endpoints): take one, use it, give it back. A
 * connection given back with a transaction still open is rolled back
 * first, so one request's half-done work never leaks into the next.
 * Connections are opened on demand and kept until store_pool_free.
 * Thread-safe. The store owns every connection a server holds. */
struct store_pool;
struct store_conn {
	struct store *store;
	void *state;		 /* the init hook's, kept with the connection */
	struct store_conn *next; /* the pool's */
};
int store_pool_new(struct store_pool **out, const char *path, struct err *err);
/* For callers that keep state made from each connection (the MCP
 * endpoints' servers, which hold prepared statements on it): init runs
 * once when the pool opens a connection and fills *state (a failure
 * closes the connection and store_pool_take returns NULL with err);
 * fini(state) runs before the connection is closed. */
struct store_pool_hooks {
	int (*init)(struct store *s, void *arg, void **state, struct err *err);
	void (*fini)(void *state);
	void *arg;
};
int store_pool_new_hooked(struct store_pool **out, const char *path,
			  const struct store_pool_hooks *hooks, struct err *err);
struct store_conn *store_pool_take(struct store_pool *p, struct err *err);
void store_pool_give(struct store_pool *p, struct store_conn *c);
void store_pool_free(struct store_pool *p);

extern const struct store_migration store_migrations[];
extern const int store_migration_count;

#endif
