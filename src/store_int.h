/* store_int.h — what store.c shares with its backends (store_sqlite.c,
 * store_pg.c); nothing above the store includes it.
 *
 * A backend is a table of functions, as git's ref storage backends or
 * SQLite's VFS: store.c owns what every engine shares (the statement cache,
 * transaction nesting, the time budget, migrations) and calls the backend
 * for everything that speaks to the engine. A backend never calls another
 * backend, and nothing outside store*.c names an engine. */
#ifndef AIRLOCK_STORE_INT_H
#define AIRLOCK_STORE_INT_H

#include <time.h>

#include "store.h"

#define STORE_STMT_BUCKETS 256

struct store_stmt {
	struct store *owner;
	void *native; /* the backend's statement */
	char *sql;
	int bind_rc; /* first bind error (AIRLOCK_E*), kept for store_step */
	int in_use;
	struct store_stmt *next; /* bucket chain */
};

struct store {
	const struct store_backend *be;
	void *conn;		  /* the backend's connection */
	char *path;		  /* a file path or a postgres:// URL */
	int depth;		  /* transaction nesting: 0 = none */
	int reading;		  /* store_read_begin's transaction is open */
	int relaxed;		  /* STORE_RELAXED in force */
	struct timespec deadline; /* store_budget: when the call must end */
	int budget_spent;	  /* a statement was stopped by the budget */
	struct store_stmt *cache[STORE_STMT_BUCKETS];
};

struct store_backend {
	const char *name;
	/* s->path is set; fills s->conn. create: make the database when
	 * nothing is there (store_create). Does not migrate. */
	int (*open)(struct store *s, int create, struct err *err);
	void (*close)(struct store *s);
	int (*file_ok)(struct store *s, struct err *err);
	int (*writable)(struct store *s, struct err *err);
	int (*exec)(struct store *s, const char *sql, struct err *err);
	/* The outermost transaction: begin takes the write lock at once (two
	 * writers, in this process or another, never both hold it); commit
	 * releases it on success; rollback always releases it. Inner
	 * transactions are savepoints, run by store.c through exec. */
	int (*begin)(struct store *s, struct err *err);
	int (*commit)(struct store *s, struct err *err);
	void (*rollback)(struct store *s);
	int (*prepare)(struct store *s, struct store_stmt *st, struct err *err);
	void (*finalize)(struct store_stmt *st);
	/* 0 or AIRLOCK_E*; v NULL binds NULL; len < 0: up to the NUL */
	int (*bind_text)(struct store_stmt *st, int idx, const char *v, int len);
	int (*bind_int)(struct store_stmt *st, int idx, int64_t v);
	int (*bind_double)(struct store_stmt *st, int idx, double v);
	int (*bind_null)(struct store_stmt *st, int idx);
	int (*bind_blob)(struct store_stmt *st, int idx, const void *v, int len);
	/* 1 when the statement cannot change the database */
	int (*stmt_readonly)(struct store_stmt *st);
	int (*step)(struct store_stmt *st, struct err *err);
	int (*col_count)(struct store_stmt *st);
	const char *(*col_name)(struct store_stmt *st, int col);
	const char *(*col_text)(struct store_stmt *st, int col);
	int (*col_bytes)(struct store_stmt *st, int col);
	const void *(*col_blob)(struct store_stmt *st, int col);
	int64_t (*col_int)(struct store_stmt *st, int col);
	double (*col_double)(struct store_stmt *st, int col);
	int (*col_type)(struct store_stmt *st, int col);
	/* optional (store.c composes them from the above when NULL): a column
	 * in one call, for loops over many */
	const char *(*col_text_len)(struct store_stmt *st, int col, size_t *len);
	int (*col_int_null)(struct store_stmt *st, int col, int64_t *v);
	int (*col_double_null)(struct store_stmt *st, int col, double *v);
	const void *(*col_typed)(struct store_stmt *st, int col, int *type, size_t *len);
	/* back to before the first step, bindings kept */
	void (*reset)(struct store_stmt *st);
	void (*clear_bindings)(struct store_stmt *st);
	int (*set_durability)(struct store *s, enum store_durability d, struct err *err);
	void (*wal_limit)(struct store *s, int pages);
	/* store_options.triggers_off */
	int (*triggers_off)(struct store *s, struct err *err);
	/* arm (ms > 0) or disarm the budget in s->deadline */
	void (*budget)(struct store *s, int64_t ms);
	int64_t (*changes)(struct store *s);
	int (*last_insert_id)(struct store *s, int64_t *out, struct err *err);
	int (*table_exists)(struct store *s, const char *table, int *exists, struct err *err);
	int (*read_snapshot)(struct store *s, struct err *err);
	int (*tables)(struct store *s, json_t **out, struct err *err);
	int (*ids_follow)(struct store *s, const char *table, struct err *err);
	int (*trigger_sql)(struct store *s, const char *name, char **out, struct err *err);
	int (*integrity_check)(struct store *s, struct err *err);
	void *(*native_handle)(struct store *s);
	/* The DDL of migration m for this engine: m->sql, or its own form of
	 * it; NULL when this engine has none yet. */
	const char *(*migration_sql)(const struct store_migration *m);
	/* store_sql_json_text's expression for column col into buf */
	int (*json_text_sql)(const char *col, char *buf, size_t len);
	/* store_sql_list's subquery over parameter param into buf */
	int (*list_sql)(int param, char *buf, size_t len);
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

/* store_pg_schema.c: migration m in PostgreSQL's dialect; NULL when it has
 * none yet. */
const char *store_pg_migration_sql(const struct store_migration *m);

/* 1 when target names a PostgreSQL database (postgres:// or postgresql://,
 * or a libpq "key=value" string starting with "host=" / "dbname="). */
int store_target_is_pg(const char *target);

/* The names a one-column query lists, as a new JSON array. */
int store_list_names(struct store *s, const char *sql, json_t **out, struct err *err);

/* 1 when the store's budget deadline has passed (sets budget_spent). */
int store_budget_over(struct store *s);

#endif
