/* store.c — what every engine behind store.h shares: picking the backend
 * from the target (a path or a postgres:// URL), the statement cache,
 * transaction nesting, the time budget and the numbered migrations. Every
 * call that speaks to an engine goes through s->be (store_int.h). */
#include "store_int.h"
#include "fmt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned sql_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % STORE_STMT_BUCKETS;
}

int store_target_is_pg(const char *target)
{
	return target && (strncmp(target, "postgres://", 11) == 0 ||
			  strncmp(target, "postgresql://", 13) == 0 ||
			  strncmp(target, "host=", 5) == 0 || strncmp(target, "dbname=", 7) == 0);
}

const char *store_target(const char *given)
{
	const char *env;

	if (given && *given)
		return given;
	env = getenv("AIRLOCK_DB");
	return env && *env ? env : STORE_DEFAULT_PATH;
}

int store_target_exists(const char *target)
{
	return store_target_is_pg(target) || access(target, F_OK) == 0;
}

static int migrate(struct store *s, struct err *err);

static int open_store(struct store **out, const char *path, int create, int migrations,
		      struct err *err)
{
	struct store *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	s->be = store_target_is_pg(path) ? &store_pg_backend : &store_sqlite_backend;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	rc = s->be->open(s, create, err);
	if (rc == 0 && migrations)
		rc = migrate(s, err);
	/* the engine's "attempt to write a readonly database" does not say
	 * which file or folder it could not write */
	if (rc == AIRLOCK_EIO && s->conn) {
		struct err why = {0};

		if (s->be->writable(s, &why))
			rc = err_set(err, why.code, "%s", why.msg);
	}
	if (rc) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

int store_open(struct store **out, const char *path, struct err *err)
{
	return open_store(out, path, 0, 1, err);
}

int store_create(struct store **out, const char *path, struct err *err)
{
	return open_store(out, path, 1, 1, err);
}

int store_connect(struct store **out, const char *target, struct err *err)
{
	return open_store(out, target, 0, 0, err);
}

int store_open_with(struct store **out, const char *target, const struct store_options *o,
		    struct err *err)
{
	static const struct store_options none;
	int rc;

	if (!o)
		o = &none;
	rc = open_store(out, target, o->create, 1, err);
	if (rc == 0 && o->durability != STORE_DURABLE)
		rc = store_set_durability(*out, o->durability, err);
	if (rc == 0 && o->wal_limit_pages > 0)
		store_wal_limit(*out, o->wal_limit_pages);
	if (rc == 0 && o->read_snapshot)
		rc = store_read_snapshot(*out, err);
	if (rc == 0 && o->triggers_off)
		rc = (*out)->be->triggers_off(*out, err);
	if (rc && *out) {
		store_close(*out);
		*out = NULL;
	}
	return rc;
}

int store_file_ok(struct store *s, struct err *err) { return s->be->file_ok(s, err); }

int store_writable(struct store *s, struct err *err) { return s->be->writable(s, err); }

void store_close(struct store *s)
{
	int i;

	if (!s)
		return;
	if (s->conn)
		while (s->depth > 0)
			store_rollback(s); /* releases the write lock too */
	for (i = 0; i < STORE_STMT_BUCKETS; i++) {
		struct store_stmt *st = s->cache[i], *next;

		for (; st; st = next) {
			next = st->next;
			s->be->finalize(st);
			free(st->sql);
			free(st);
		}
	}
	s->be->close(s);
	free(s->path);
	free(s);
}

const char *store_path(const struct store *s) { return s->path; }

const char *store_backend_name(const struct store *s) { return s->be->name; }

int store_sql_json_text(const struct store *s, const char *col, char *buf, size_t len)
{
	return s->be->json_text_sql(col, buf, len);
}

int store_sql_list(const struct store *s, int param, char *buf, size_t len)
{
	return s->be->list_sql(param, buf, len);
}

int store_prepare_list(struct store *s, const char *fmt, int param, struct store_stmt **out,
		       struct err *err)
{
	char list[160], sql[1024];
	int rc;

	if (store_sql_list(s, param, list, sizeof list))
		return err_set(err, AIRLOCK_EINVAL, "internal: a list query does not fit");
	rc = fmt_buf(sql, sizeof sql, err, "a list query", fmt, list);
	return rc ? rc : store_prepare(s, sql, out, err);
}

static int list_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when id needs no escaping inside a JSON string (printable ASCII other
 * than '"' and '\\'): the list's text can be written without jansson. */
static int list_plain(const char *id, size_t *len)
{
	const unsigned char *p = (const unsigned char *)id;

	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return 0;
	*len = (size_t)(p - (const unsigned char *)id);
	return 1;
}

void store_bind_list(struct store_stmt *st, int idx, json_t *set)
{
	size_t n = json_is_object(set) ? json_object_size(set) : json_array_size(set), k = 0, i;
	size_t total = 2, len, used = 0;
	const char **v = malloc((n ? n : 1) * sizeof *v);
	json_t *arr = NULL, *e;
	const char *key;
	char *txt = NULL;
	int plain = 1;

	if (!v)
		goto out;
	if (json_is_object(set)) {
		json_object_foreach(set, key, e)
		{
			v[k++] = key;
		}
	} else {
		json_array_foreach(set, i, e)
		{
			if (json_is_string(e))
				v[k++] = json_string_value(e);
		}
	}
	/* key order: each engine then walks its index forward, page by page */
	qsort(v, k, sizeof *v, list_cmp);
	for (i = 0; i < k && plain; i++) {
		plain = list_plain(v[i], &len);
		total += len + 3;
	}
	if (plain) {
		/* ["a","b"]: a proposal binds five lists of 500 ids; building
		 * each as a jansson array to dump it cost more than the query */
		txt = malloc(total + 1);
		if (!txt)
			goto out;
		txt[used++] = '[';
		for (i = 0; i < k; i++) {
			if (i && !strcmp(v[i - 1], v[i]))
				continue;
			len = strlen(v[i]);
			if (used > 1)
				txt[used++] = ',';
			txt[used++] = '"';
			memcpy(txt + used, v[i], len);
			used += len;
			txt[used++] = '"';
		}
		txt[used++] = ']';
		txt[used] = '\0';
		goto out;
	}
	arr = json_array();
	if (!arr)
		goto out;
	for (i = 0; i < k; i++)
		if ((!i || strcmp(v[i - 1], v[i])) && json_array_append_new(arr, json_string(v[i])))
			goto out;
	txt = json_dumps(arr, JSON_COMPACT);
out:
	if (txt)
		store_bind_text(st, idx, txt);
	else
		store_bind_failed(st);
	free(txt);
	free(v);
	json_decref(arr);
}

int store_exec(struct store *s, const char *sql, struct err *err)
{
	return s->be->exec(s, sql, err);
}

int store_begin(struct store *s, struct err *err)
{
	char sql[64];
	int rc;

	if (s->reading)
		store_read_end(s);
	if (s->depth == 0)
		rc = s->be->begin(s, err);
	else {
		(void)snprintf(sql, sizeof sql, "SAVEPOINT sp%d", s->depth);
		rc = s->be->exec(s, sql, err);
	}
	if (rc == 0)
		s->depth++;
	return rc;
}

/* BEGIN or COMMIT through the statement cache: sqlite3_exec would compile
 * it again for every call. */
static int read_txn_step(struct store *s, const char *sql, struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc < 0 ? rc : err_set(err, AIRLOCK_EIO, "unexpected row");
}

int store_read_begin(struct store *s, struct err *err)
{
	int rc;

	if (s->be != &store_sqlite_backend || s->depth || s->reading)
		return 0;
	rc = read_txn_step(s, "BEGIN", err);
	if (rc == 0)
		s->reading = 1;
	return rc;
}

void store_read_end(struct store *s)
{
	struct err ignored = {0};

	if (!s->reading)
		return;
	s->reading = 0;
	/* a read transaction has nothing to lose: should COMMIT fail, the
	 * connection must still not stay inside it */
	if (read_txn_step(s, "COMMIT", &ignored))
		(void)s->be->exec(s, "ROLLBACK", &ignored);
}

int store_commit(struct store *s, struct err *err)
{
	char sql[64];
	int rc;

	if (s->depth == 0)
		return err_set(err, AIRLOCK_ESTATE, "commit without a transaction");
	if (s->depth == 1)
		rc = s->be->commit(s, err);
	else {
		(void)snprintf(sql, sizeof sql, "RELEASE sp%d", s->depth - 1);
		rc = s->be->exec(s, sql, err);
	}
	if (rc) {
		store_rollback(s);
		return rc;
	}
	s->depth--;
	return 0;
}

void store_rollback(struct store *s)
{
	char sql[80];
	struct err ignored = {0};

	if (s->depth == 0)
		return;
	if (s->depth == 1)
		s->be->rollback(s);
	else {
		(void)snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT sp%d; RELEASE SAVEPOINT sp%d",
			       s->depth - 1, s->depth - 1);
		s->be->exec(s, sql, &ignored);
	}
	s->depth--;
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
			st->bind_rc = 0;
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
	st->owner = s;
	rc = s->be->prepare(s, st, err);
	if (rc) {
		free(st->sql);
		free(st);
		return rc;
	}
	st->in_use = 1;
	st->next = s->cache[h];
	s->cache[h] = st;
	*out = st;
	return 0;
}

static void keep_bind_rc(struct store_stmt *st, int rc)
{
	if (rc && !st->bind_rc)
		st->bind_rc = rc;
}

void store_bind_text(struct store_stmt *st, int idx, const char *v)
{
	keep_bind_rc(st, st->owner->be->bind_text(st, idx, v, -1));
}

void store_bind_textn(struct store_stmt *st, int idx, const char *v, int len)
{
	keep_bind_rc(st, st->owner->be->bind_text(st, idx, v, len));
}

void store_bind_int(struct store_stmt *st, int idx, int64_t v)
{
	keep_bind_rc(st, st->owner->be->bind_int(st, idx, v));
}

void store_bind_double(struct store_stmt *st, int idx, double v)
{
	keep_bind_rc(st, st->owner->be->bind_double(st, idx, v));
}

void store_bind_null(struct store_stmt *st, int idx)
{
	keep_bind_rc(st, st->owner->be->bind_null(st, idx));
}

void store_bind_failed(struct store_stmt *st) { keep_bind_rc(st, AIRLOCK_ENOMEM); }

void store_bind_blob(struct store_stmt *st, int idx, const void *v, int len)
{
	keep_bind_rc(st, st->owner->be->bind_blob(st, idx, v, len));
}

int store_step(struct store_stmt *st, struct err *err)
{
	struct store *s = st->owner;
	int rc;

	if (st->bind_rc)
		return err_set(err, st->bind_rc, "%s: cannot bind parameter: %s", s->path,
			       err_name(st->bind_rc));
	/* a write inside store_read_begin's transaction would commit only at
	 * its end, without the write lock's order: it runs on its own instead */
	if (s->reading && !s->be->stmt_readonly(st))
		store_read_end(s);
	/* a write outside any transaction commits on its own: the same check
	 * as store_begin's */
	if (s->depth == 0 && !s->be->stmt_readonly(st) && (rc = s->be->file_ok(s, err)))
		return rc;
	return s->be->step(st, err);
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

/* The text a dump has written so far: a buffer on the caller's stack until
 * it outgrows it, then the heap. */
struct dump_buf {
	char *p, *own;
	size_t len, cap;
};

static int dump_add(const char *buf, size_t size, void *data)
{
	struct dump_buf *d = data;
	size_t cap = d->cap;
	char *np;

	if (size < d->cap - d->len) {
		memcpy(d->p + d->len, buf, size);
		d->len += size;
		return 0;
	}
	while (cap - d->len <= size)
		cap *= 2;
	np = malloc(cap);
	if (!np)
		return -1;
	memcpy(np, d->p, d->len);
	free(d->own);
	d->p = d->own = np;
	d->cap = cap;
	memcpy(d->p + d->len, buf, size);
	d->len += size;
	return 0;
}

char *store_json_dump(const json_t *v, size_t flags)
{
	char stack[4096], *txt = NULL;
	struct dump_buf d = {stack, NULL, 0, sizeof stack};

	pthread_once(&json_noted_once, json_note_allocs);
	json_alloc_failed = 0;
	/* a batch item's five texts are a few hundred bytes each: written
	 * once on the stack and copied once, not grown by doubling from 16
	 * bytes and copied again (json_dumps) */
	if (json_dump_callback(v, dump_add, &d, flags) == 0 && !json_alloc_failed) {
		txt = malloc(d.len + 1);
		if (txt) {
			memcpy(txt, d.p, d.len);
			txt[d.len] = '\0';
		}
	}
	free(d.own);
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

int store_col_count(struct store_stmt *st) { return st->owner->be->col_count(st); }

const char *store_col_name(struct store_stmt *st, int col)
{
	return st->owner->be->col_name(st, col);
}

const char *store_col_text(struct store_stmt *st, int col)
{
	return st->owner->be->col_text(st, col);
}

int store_col_bytes(struct store_stmt *st, int col) { return st->owner->be->col_bytes(st, col); }

const void *store_col_blob(struct store_stmt *st, int col)
{
	return st->owner->be->col_blob(st, col);
}

int64_t store_col_int(struct store_stmt *st, int col) { return st->owner->be->col_int(st, col); }

double store_col_double(struct store_stmt *st, int col)
{
	return st->owner->be->col_double(st, col);
}

int store_col_is_null(struct store_stmt *st, int col)
{
	return st->owner->be->col_type(st, col) == 'n';
}

int store_col_type(struct store_stmt *st, int col) { return st->owner->be->col_type(st, col); }

const char *store_col_text_len(struct store_stmt *st, int col, size_t *len)
{
	const struct store_backend *be = st->owner->be;
	const char *t;

	if (be->col_text_len)
		return be->col_text_len(st, col, len);
	t = be->col_text(st, col);
	*len = t ? (size_t)be->col_bytes(st, col) : 0;
	return t;
}

int store_col_int_null(struct store_stmt *st, int col, int64_t *v)
{
	const struct store_backend *be = st->owner->be;

	if (be->col_int_null)
		return be->col_int_null(st, col, v);
	if (be->col_type(st, col) == 'n')
		return 1;
	*v = be->col_int(st, col);
	return 0;
}

int store_col_double_null(struct store_stmt *st, int col, double *v)
{
	const struct store_backend *be = st->owner->be;

	if (be->col_double_null)
		return be->col_double_null(st, col, v);
	if (be->col_type(st, col) == 'n')
		return 1;
	*v = be->col_double(st, col);
	return 0;
}

const void *store_col_typed(struct store_stmt *st, int col, int *type, size_t *len)
{
	const struct store_backend *be = st->owner->be;
	const void *p = NULL;

	if (be->col_typed)
		return be->col_typed(st, col, type, len);
	*type = be->col_type(st, col);
	if (*type == 't')
		p = be->col_text(st, col);
	else if (*type == 'b')
		p = be->col_blob(st, col);
	*len = p ? (size_t)be->col_bytes(st, col) : 0;
	return p;
}

void store_reset(struct store_stmt *st)
{
	st->owner->be->reset(st);
	st->bind_rc = 0;
}

void store_done(struct store_stmt *st)
{
	if (!st)
		return;
	st->owner->be->reset(st);
	st->owner->be->clear_bindings(st);
	st->bind_rc = 0;
	st->in_use = 0;
}

int store_set_durability(struct store *s, enum store_durability d, struct err *err)
{
	int want = d == STORE_RELAXED, rc;

	if (want == s->relaxed)
		return 0;
	rc = s->be->set_durability(s, d, err);
	if (rc == 0)
		s->relaxed = want;
	return rc;
}

void store_wal_limit(struct store *s, int pages) { s->be->wal_limit(s, pages); }

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

int store_budget_over(struct store *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > s->deadline.tv_sec ||
	    (now.tv_sec == s->deadline.tv_sec && now.tv_nsec >= s->deadline.tv_nsec)) {
		s->budget_spent = 1;
		return 1;
	}
	return 0;
}

void store_budget(struct store *s, int64_t ms)
{
	s->budget_spent = 0;
	if (ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &s->deadline);
		s->deadline.tv_sec += (time_t)(ms / 1000);
		s->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (s->deadline.tv_nsec >= 1000000000L) {
			s->deadline.tv_sec++;
			s->deadline.tv_nsec -= 1000000000L;
		}
	}
	s->be->budget(s, ms);
}

int store_budget_spent(const struct store *s) { return s->budget_spent; }

int64_t store_changes(struct store *s) { return s->be->changes(s); }

int store_last_insert_id(struct store *s, int64_t *out, struct err *err)
{
	return s->be->last_insert_id(s, out, err);
}

int store_table_exists(struct store *s, const char *table, int *exists, struct err *err)
{
	return s->be->table_exists(s, table, exists, err);
}

int store_read_snapshot(struct store *s, struct err *err)
{
	return s->be->read_snapshot(s, err);
}

static json_t *table_name_row(struct store_stmt *st, void *ctx)
{
	(void)ctx;
	return json_string(store_col_text(st, 0));
}

/* For the backends: the names a one-column query lists. */
int store_list_names(struct store *s, const char *sql, json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	return store_collect(st, table_name_row, NULL, out, err);
}

int store_tables(struct store *s, json_t **out, struct err *err)
{
	*out = NULL;
	return s->be->tables(s, out, err);
}

int store_ids_follow(struct store *s, const char *table, struct err *err)
{
	return s->be->ids_follow(s, table, err);
}

int store_trigger_sql(struct store *s, const char *name, char **out, struct err *err)
{
	*out = NULL;
	return s->be->trigger_sql(s, name, out, err);
}

void *store_native_handle(struct store *s) { return s->be->native_handle(s); }

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
	return s->be->integrity_check(s, err);
}

/* Applies every migration newer than the database, each in its own
 * transaction so a failure leaves the schema at the last good version. A
 * database newer than this binary is refused rather than guessed at. */
static int migrate(struct store *s, struct err *err)
{
	int64_t have;
	int i, rc;
	struct store_stmt *st;
	const char *sql;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	/* the engines spell "now" differently; C does not */
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);

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
		sql = s->be->migration_sql(m);
		rc = sql ? store_exec(s, sql, err)
			 : err_set(err, AIRLOCK_EINVAL, "%s: the %s backend has no form of it yet",
				   s->path, s->be->name);
		if (rc == 0)
			rc = store_prepare(s,
					   "INSERT INTO schema_migrations(version,name,applied_at)"
					   " VALUES(?1,?2,?3)",
					   &st, err);
		if (rc == 0) {
			store_bind_int(st, 1, m->version);
			store_bind_text(st, 2, m->name);
			store_bind_text(st, 3, now);
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

/* ---- pool ---------------------------------------------------------------- */

struct store_pool {
	char *path;
	struct store_pool_hooks hooks;
	pthread_mutex_t lock;
	struct store_conn *idle;
};

int store_pool_new_hooked(struct store_pool **out, const char *path,
			  const struct store_pool_hooks *hooks, struct err *err)
{
	struct store_pool *p = calloc(1, sizeof *p);

	*out = NULL;
	if (!p || !(p->path = strdup(path))) {
		free(p);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (hooks)
		p->hooks = *hooks;
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

int store_pool_new(struct store_pool **out, const char *path, struct err *err)
{
	return store_pool_new_hooked(out, path, NULL, err);
}

static void conn_close(struct store_pool *p, struct store_conn *c)
{
	if (c->state && p->hooks.fini)
		p->hooks.fini(c->state);
	store_close(c->store);
	free(c);
}

struct store_conn *store_pool_take(struct store_pool *p, struct err *err)
{
	struct store_conn *c;

	pthread_mutex_lock(&p->lock);
	c = p->idle;
	if (c)
		p->idle = c->next;
	pthread_mutex_unlock(&p->lock);
	if (c)
		return c;
	c = calloc(1, sizeof *c);
	if (!c) {
		err_set(err, AIRLOCK_ENOMEM, "out of memory");
		return NULL;
	}
	if (store_open_with(&c->store, p->path, NULL, err) ||
	    (p->hooks.init && p->hooks.init(c->store, p->hooks.arg, &c->state, err))) {
		conn_close(p, c);
		return NULL;
	}
	return c;
}

void store_pool_give(struct store_pool *p, struct store_conn *c)
{
	if (!c)
		return;
	while (store_in_transaction(c->store))
		store_rollback(c->store);
	pthread_mutex_lock(&p->lock);
	c->next = p->idle;
	p->idle = c;
	pthread_mutex_unlock(&p->lock);
}

void store_pool_free(struct store_pool *p)
{
	struct store_conn *c, *cn;

	if (!p)
		return;
	for (c = p->idle; c; c = cn) {
		cn = c->next;
		conn_close(p, c);
	}
	pthread_mutex_destroy(&p->lock);
	free(p->path);
	free(p);
}
