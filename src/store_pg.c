/* store_pg.c — the PostgreSQL backend of store.h (libpq), for airlock on
 * more than one host: several servers on one database.
 *
 * Owns every libpq call: the connection, SQLite-style "?N" parameters
 * rewritten to "$N", values sent as text (blobs as binary), results read
 * as text, SQLSTATEs mapped to AIRLOCK_E*, and the write lock that makes a
 * write transaction as exclusive as SQLite's BEGIN IMMEDIATE across every
 * server on the database (an advisory lock held to commit), so checks such
 * as the cumulative radius and the pending cap cannot both pass on two
 * servers. Never called except through store.c.
 *
 * The schema's PostgreSQL form is store_pg_schema.c. */
#include "store_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key of the advisory lock every write transaction takes: one writer
 * at a time on the database, whichever server it runs in ("airlock" in
 * ASCII). */
#define PG_WRITE_LOCK_KEY 0x6169726c6f636bLL

struct pg_conn {
	PGconn *pg;
	int64_t changes;  /* rows of the last INSERT/UPDATE/DELETE */
	unsigned next_id; /* names the prepared statements */
	int timeout_set;  /* a statement_timeout is in force */
	/* counts the connection's resets: a statement prepared in an earlier
	 * generation is gone from the server (PQreset opens a new session) */
	unsigned generation;
};

struct pg_stmt {
	char name[24];
	char *sql;	     /* the rewritten text, to prepare again after a reset */
	Oid *types;	     /* the parameter types the first prepare settled on */
	unsigned generation; /* the connection's generation it was prepared in */
	int nparams;
	char **vals; /* owned copies; NULL is SQL NULL */
	int *lens, *fmts;
	PGresult *res;	/* after the first step */
	PGresult *desc; /* column names before it */
	int row;	/* the next row store_step returns */
	int readonly;	/* begins with SELECT/WITH/VALUES/SHOW */
	void **blobs;	/* unescaped bytea per column of the current row */
	size_t *blob_lens;
	int nblobs;
};

#define CONN(s) ((struct pg_conn *)(s)->conn)
#define PGST(st) ((struct pg_stmt *)(st)->native)

/* SQLSTATE classes (PostgreSQL's appendix A) to airlock's codes. */
static int map_state(const char *state)
{
	if (!state)
		return AIRLOCK_EIO;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0 ||
	    strncmp(state, "42", 2) == 0)
		return AIRLOCK_EINVAL;
	if (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0 ||
	    strcmp(state, "57014") == 0)
		return AIRLOCK_EBUSY;
	if (strcmp(state, "53200") == 0)
		return AIRLOCK_ENOMEM;
	if (strcmp(state, "25006") == 0 || strcmp(state, "42501") == 0)
		return AIRLOCK_EDENIED;
	if (strncmp(state, "XX", 2) == 0)
		return AIRLOCK_ECORRUPT;
	return AIRLOCK_EIO;
}

/* The one-line message of a failed result: libpq's ends with a newline. */
static int res_error(struct store *s, PGresult *res, struct err *err, const char *what)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char *conn_msg = NULL;
	int rc;

	if (!msg) {
		conn_msg = PQerrorMessage(CONN(s)->pg);
		msg = conn_msg && *conn_msg ? conn_msg : "unknown error";
	}
	/* the words SQLite's constraint errors begin with, which the book's
	 * callers read to tell a duplicate id from a missing account */
	rc = err_set(err, res ? map_state(state) : AIRLOCK_ENOMEM, "%s: %s%.*s (%s)", store_path(s),
		     !state			   ? ""
		     : strcmp(state, "23505") == 0 ? "UNIQUE constraint failed: "
		     : strcmp(state, "23503") == 0 ? "FOREIGN KEY constraint failed: "
						   : "",
		     (int)strcspn(msg, "\n"), msg, what);
	return rc;
}

/* NOTICEs ("relation already exists, skipping") are not errors and must
 * not reach airlock's stderr. */
static void no_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int pg_exec(struct store *s, const char *sql, struct err *err)
{
	PGresult *res = PQexec(CONN(s)->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
		rc = res_error(s, res, err, "exec");
	else if (st == PGRES_COMMAND_OK)
		CONN(s)->changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return rc;
}

/* What every session starts with: UTC timestamps and standard strings
 * whatever the server's defaults (the same text as SQLite gives for the
 * same SQL), no notices; and, after a reset, the durability the caller
 * chose. */
static int session_setup(struct store *s, struct err *err)
{
	int rc;

	PQsetNoticeProcessor(CONN(s)->pg, no_notices, NULL);
	rc = pg_exec(s,
		     "SET TIME ZONE 'UTC'; SET standard_conforming_strings = on;"
		     "SET client_min_messages = warning",
		     err);
	if (!rc && s->relaxed)
		rc = pg_exec(s, "SET synchronous_commit = off", err);
	return rc;
}

/* A connection whose backend is gone (the server restarted, an
 * administrator's pg_terminate_backend) opened again: a new session, which
 * has none of the old one's prepared statements (each is prepared again
 * on its next use: the generation moves) nor its settings. Only outside a
 * transaction: one the loss cut short is lost, and its caller must hear
 * so (lost_mid_transaction) before anything else runs. */
static int reconnect(struct store *s, struct err *err)
{
	struct pg_conn *c = CONN(s);

	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK)
		return err_set(err, AIRLOCK_EIO, "database %s: the connection is lost: %.*s",
			       s->path, (int)strcspn(PQerrorMessage(c->pg), "\n"),
			       PQerrorMessage(c->pg));
	c->generation++;
	c->timeout_set = 0;
	return session_setup(s, err);
}

static int lost_mid_transaction(struct store *s, struct err *err)
{
	return err_set(err, AIRLOCK_EIO,
		       "database %s: the connection was lost in the middle of a transaction:"
		       " nothing of it was kept (the next transaction reconnects)",
		       s->path);
}

static int pg_open(struct store *s, int create, struct err *err)
{
	struct pg_conn *c;

	(void)create; /* the database is made by its administrator (CREATE DATABASE) */
	c = calloc(1, sizeof *c);
	if (!c)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	s->conn = c;
	c->pg = PQconnectdb(s->path);
	if (!c->pg)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (PQstatus(c->pg) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c->pg);

		return err_set(err, strstr(m, "does not exist") ? AIRLOCK_ENOTFOUND : AIRLOCK_EIO,
			       "cannot open database %s: %.*s", s->path, (int)strcspn(m, "\n"), m);
	}
	return session_setup(s, err);
}

static void pg_close(struct store *s)
{
	struct pg_conn *c = s->conn;

	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
	s->conn = NULL;
}

static int pg_file_ok(struct store *s, struct err *err)
{
	if (PQstatus(CONN(s)->pg) == CONNECTION_OK)
		return 0;
	if (s->depth > 0)
		return lost_mid_transaction(s, err);
	return reconnect(s, err);
}

/* A hot standby takes reads only: a server there could not log one call. */
static int pg_writable(struct store *s, struct err *err)
{
	PGresult *res = PQexec(CONN(s)->pg, "SELECT pg_is_in_recovery()");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = res_error(s, res, err, "writable");
	else if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		rc = err_set(err, AIRLOCK_EDENIED,
			     "database %s is a read-only standby: airlock could not record a "
			     "single call (point --db at the primary)",
			     s->path);
	PQclear(res);
	return rc;
}

static int pg_begin(struct store *s, struct err *err)
{
	char sql[96];
	int rc = pg_file_ok(s, err);

	if (rc)
		return rc;
	(void)snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%lld)",
		       (long long)PG_WRITE_LOCK_KEY);
	rc = pg_exec(s, sql, err);
	/* the backend went away while the connection sat idle: nothing ran
	 * yet, so one new connection is tried */
	if (rc && PQstatus(CONN(s)->pg) != CONNECTION_OK && reconnect(s, &(struct err){0}) == 0) {
		err_clear(err);
		rc = pg_exec(s, sql, err);
	}
	if (rc && PQtransactionStatus(CONN(s)->pg) != PQTRANS_IDLE)
		pg_exec(s, "ROLLBACK", &(struct err){0});
	return rc;
}

static int pg_commit(struct store *s, struct err *err)
{
	PGresult *res = PQexec(CONN(s)->pg, "COMMIT");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = res_error(s, res, err, "commit");
	/* a transaction in which a statement failed ends in ROLLBACK, which
	 * libpq reports as success */
	else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
		rc = err_set(err, AIRLOCK_ECONFLICT,
			     "%s: commit: the transaction had failed and was rolled back", s->path);
	PQclear(res);
	return rc;
}

static void pg_rollback(struct store *s)
{
	if (PQtransactionStatus(CONN(s)->pg) != PQTRANS_IDLE)
		pg_exec(s, "ROLLBACK", &(struct err){0});
}

/* Rewrites "?N" and "?" to "$N" outside quotes; *nparams gets the highest
 * number. NULL when out of memory. */
static char *pg_rewrite(const char *sql, int *nparams)
{
	size_t n = strlen(sql);
	char *out = malloc(n * 2 + 16), *o = out;
	char quote = 0;
	int next = 0, max = 0;

	if (!out)
		return NULL;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			*o++ = *p;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
		} else if (*p == '?') {
			long v;

			if (p[1] >= '0' && p[1] <= '9') {
				char *end;

				v = strtol(p + 1, &end, 10);
				p = end - 1;
			} else
				v = ++next;
			if (v > 32766)
				v = 32766;
			if (v > max)
				max = (int)v;
			/* "$32766" is at most 6 bytes, as is "?32766" at least 2: the
			 * doubled buffer holds it */
			o += snprintf(o, 8, "$%ld", v);
		} else
			*o++ = *p;
	}
	*o = '\0';
	*nparams = max;
	return out;
}

static int starts_with_word(const char *sql, const char *word)
{
	size_t n = strlen(word);

	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '(')
		sql++;
	return strncasecmp(sql, word, n) == 0;
}

static int pg_prepare(struct store *s, struct store_stmt *st, struct err *err)
{
	struct pg_stmt *p = calloc(1, sizeof *p);
	Oid *types = NULL;
	char *sql = NULL;
	PGresult *res;
	int rc = 0, in_tx;

	if (!p)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (PQstatus(CONN(s)->pg) != CONNECTION_OK && (rc = pg_file_ok(s, err))) {
		free(p);
		return rc;
	}
	sql = pg_rewrite(st->sql, &p->nparams);
	if (!sql) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	if (p->nparams > 0) {
		p->vals = calloc((size_t)p->nparams, sizeof *p->vals);
		p->lens = calloc((size_t)p->nparams, sizeof *p->lens);
		p->fmts = calloc((size_t)p->nparams, sizeof *p->fmts);
		if (!p->vals || !p->lens || !p->fmts) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (p->nparams > 0 && !(types = calloc((size_t)p->nparams, sizeof *types))) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	(void)snprintf(p->name, sizeof p->name, "al%u", ++CONN(s)->next_id);
	/* a failed PREPARE aborts the transaction it runs in, where SQLite's
	 * leaves it whole: inside one, it runs under a savepoint */
	in_tx = PQtransactionStatus(CONN(s)->pg) == PQTRANS_INTRANS;
	if (in_tx && (rc = pg_exec(s, "SAVEPOINT airlock_prepare", err)))
		goto out;
	/* SQLite takes "?17 IS NULL" as it comes; PostgreSQL must know each
	 * parameter's type and says which one it could not tell: that one is
	 * text (what store_bind_text sends), and the statement is prepared
	 * again. At most once per parameter. */
	for (;;) {
		const char *state, *msg, *dollar;
		long n;

		res = PQprepare(CONN(s)->pg, p->name, sql, p->nparams, types);
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			break;
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		dollar = msg ? strchr(msg, '$') : NULL;
		n = dollar ? strtol(dollar + 1, NULL, 10) : 0;
		if (!state || (strcmp(state, "42P18") != 0 && strcmp(state, "42P08") != 0) ||
		    n < 1 || n > p->nparams || types[n - 1] != 0) {
			rc = res_error(s, res, err, "cannot prepare statement");
			PQclear(res);
			if (in_tx)
				pg_exec(s,
					"ROLLBACK TO SAVEPOINT airlock_prepare;"
					" RELEASE SAVEPOINT airlock_prepare",
					&(struct err){0});
			goto out;
		}
		PQclear(res);
		types[n - 1] = 25; /* text */
		if (in_tx && (rc = pg_exec(s, "ROLLBACK TO SAVEPOINT airlock_prepare", err)))
			goto out;
	}
	PQclear(res);
	if (in_tx && (rc = pg_exec(s, "RELEASE SAVEPOINT airlock_prepare", err)))
		goto out;
	p->generation = CONN(s)->generation;
	p->sql = sql;
	p->types = types;
	sql = NULL;
	types = NULL;
	p->readonly = starts_with_word(st->sql, "SELECT") || starts_with_word(st->sql, "VALUES") ||
		      starts_with_word(st->sql, "SHOW") ||
		      (starts_with_word(st->sql, "WITH") && !strcasestr(st->sql, "INSERT") &&
		       !strcasestr(st->sql, "UPDATE") && !strcasestr(st->sql, "DELETE"));
	st->native = p;
out:
	free(sql);
	free(types);
	if (rc) {
		free(p->vals);
		free(p->lens);
		free(p->fmts);
		free(p);
	}
	return rc;
}

/* The statement prepared on the connection as it is now: after a reset,
 * prepared again under its name with the types settled the first time. */
static int ensure_prepared(struct store_stmt *st, struct err *err)
{
	struct store *s = st->owner;
	struct pg_stmt *p = PGST(st);
	PGresult *res;
	int rc = 0;

	if (p->generation == CONN(s)->generation)
		return 0;
	PQclear(p->desc);
	p->desc = NULL;
	res = PQprepare(CONN(s)->pg, p->name, p->sql, p->nparams, p->types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = res_error(s, res, err, "cannot prepare statement again after a reconnect");
	else
		p->generation = CONN(s)->generation;
	PQclear(res);
	return rc;
}

static void free_blobs(struct pg_stmt *p)
{
	int i;

	for (i = 0; i < p->nblobs; i++)
		PQfreemem(p->blobs[i]);
	free(p->blobs);
	free(p->blob_lens);
	p->blobs = NULL;
	p->blob_lens = NULL;
	p->nblobs = 0;
}

static void pg_reset(struct store_stmt *st)
{
	struct pg_stmt *p = PGST(st);

	free_blobs(p);
	PQclear(p->res);
	p->res = NULL;
	p->row = 0;
}

static void pg_clear_bindings(struct store_stmt *st)
{
	struct pg_stmt *p = PGST(st);
	int i;

	for (i = 0; i < p->nparams; i++) {
		free(p->vals[i]);
		p->vals[i] = NULL;
		p->lens[i] = 0;
		p->fmts[i] = 0;
	}
}

static void pg_finalize(struct store_stmt *st)
{
	struct pg_stmt *p = PGST(st);
	char sql[48];

	if (!p)
		return;
	pg_reset(st);
	pg_clear_bindings(st);
	PQclear(p->desc);
	/* the server keeps a prepared statement until the session ends (a
	 * reset ended the one it was prepared in) */
	if (st->owner->conn && p->generation == CONN(st->owner)->generation &&
	    PQstatus(CONN(st->owner)->pg) == CONNECTION_OK) {
		(void)snprintf(sql, sizeof sql, "DEALLOCATE %s", p->name);
		PQclear(PQexec(CONN(st->owner)->pg, sql));
	}
	free(p->vals);
	free(p->lens);
	free(p->fmts);
	free(p->sql);
	free(p->types);
	free(p);
}

static int bind_bytes(struct store_stmt *st, int idx, const void *v, size_t len, int binary)
{
	struct pg_stmt *p = PGST(st);
	char *copy;

	if (idx < 1 || idx > p->nparams)
		return AIRLOCK_EINVAL;
	free(p->vals[idx - 1]);
	p->vals[idx - 1] = NULL;
	if (!v)
		return 0;
	copy = malloc(len + 1);
	if (!copy)
		return AIRLOCK_ENOMEM;
	memcpy(copy, v, len);
	copy[len] = '\0';
	p->vals[idx - 1] = copy;
	p->lens[idx - 1] = (int)len;
	p->fmts[idx - 1] = binary;
	return 0;
}

static int pg_bind_text(struct store_stmt *st, int idx, const char *v, int len)
{
	/* text may not hold NUL in PostgreSQL: a length stops at the first */
	size_t n = v ? (len < 0 ? strlen(v) : strnlen(v, (size_t)len)) : 0;

	return bind_bytes(st, idx, v, n, 0);
}

static int pg_bind_int(struct store_stmt *st, int idx, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%lld", (long long)v);

	return bind_bytes(st, idx, buf, (size_t)n, 0);
}

static int pg_bind_double(struct store_stmt *st, int idx, double v)
{
	char buf[40];
	int n = snprintf(buf, sizeof buf, "%.17g", v);

	return bind_bytes(st, idx, buf, (size_t)n, 0);
}

static int pg_bind_null(struct store_stmt *st, int idx)
{
	return bind_bytes(st, idx, NULL, 0, 0);
}

static int pg_bind_blob(struct store_stmt *st, int idx, const void *v, int len)
{
	return bind_bytes(st, idx, v ? v : "", len > 0 ? (size_t)len : 0, 1);
}

static int pg_stmt_readonly(struct store_stmt *st)
{
	return PGST(st)->readonly;
}

/* The budget as a statement_timeout: the time left, set before each
 * statement while a budget is armed. */
static int arm_timeout(struct store *s, struct err *err)
{
	struct timespec now;
	int64_t left;
	char sql[64];

	if (s->deadline.tv_sec == 0 && s->deadline.tv_nsec == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (int64_t)(s->deadline.tv_sec - now.tv_sec) * 1000 +
	       (s->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (left <= 0) {
		s->budget_spent = 1;
		return err_set(err, AIRLOCK_EBUSY, "%s: stopped: the call ran past its time budget",
			       s->path);
	}
	(void)snprintf(sql, sizeof sql, "SET statement_timeout = %lld", (long long)left);
	CONN(s)->timeout_set = 1;
	return pg_exec(s, sql, err);
}

static int pg_step(struct store_stmt *st, struct err *err)
{
	struct store *s = st->owner;
	struct pg_stmt *p = PGST(st);
	ExecStatusType status;
	int rc;

	free_blobs(p);
	if (!p->res) {
		/* a backend lost since the last call: outside a transaction the
		 * connection is opened again; inside one, its work is gone */
		rc = pg_file_ok(s, err);
		if (!rc)
			rc = ensure_prepared(st, err);
		if (!rc)
			rc = arm_timeout(s, err);
		if (rc)
			return rc;
		p->res = PQexecPrepared(CONN(s)->pg, p->name, p->nparams,
					(const char *const *)p->vals, p->lens, p->fmts, 0);
		status = PQresultStatus(p->res);
		/* lost while it ran: a read outside a transaction is asked once
		 * more on a new connection (it changes nothing, so running it
		 * twice is harmless); a write may or may not have been done and
		 * is not repeated */
		if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK &&
		    PQstatus(CONN(s)->pg) != CONNECTION_OK) {
			PQclear(p->res);
			p->res = NULL;
			if (s->depth > 0)
				return lost_mid_transaction(s, err);
			if (!p->readonly)
				return err_set(err, AIRLOCK_EIO,
					       "database %s: the connection was lost while a write"
					       " ran: it may or may not have been done",
					       s->path);
			rc = reconnect(s, err);
			if (!rc)
				rc = ensure_prepared(st, err);
			if (!rc)
				rc = arm_timeout(s, err);
			if (rc)
				return rc;
			p->res = PQexecPrepared(CONN(s)->pg, p->name, p->nparams,
						(const char *const *)p->vals, p->lens, p->fmts, 0);
			status = PQresultStatus(p->res);
		}
		if (status == PGRES_COMMAND_OK) {
			CONN(s)->changes = strtoll(PQcmdTuples(p->res), NULL, 10);
		} else if (status != PGRES_TUPLES_OK) {
			const char *state = PQresultErrorField(p->res, PG_DIAG_SQLSTATE);

			if (state && strcmp(state, "57014") == 0 && CONN(s)->timeout_set) {
				s->budget_spent = 1;
				rc = err_set(err, AIRLOCK_EBUSY,
					     "%s: stopped: the call ran past its time budget",
					     s->path);
			} else
				rc = res_error(s, p->res, err, "step");
			PQclear(p->res);
			p->res = NULL;
			return rc;
		} else if (PQcmdTuples(p->res)[0])
			/* INSERT ... RETURNING: rows and a count */
			CONN(s)->changes = strtoll(PQcmdTuples(p->res), NULL, 10);
		p->row = 0;
	}
	if (p->row < PQntuples(p->res)) {
		p->row++;
		return STORE_ROW;
	}
	return STORE_DONE;
}

/* The result that names the columns: the run's, or a description. */
static PGresult *columns(struct store_stmt *st)
{
	struct pg_stmt *p = PGST(st);

	if (p->res)
		return p->res;
	if (!p->desc && ensure_prepared(st, &(struct err){0}) == 0)
		p->desc = PQdescribePrepared(CONN(st->owner)->pg, p->name);
	return p->desc;
}

static int pg_col_count(struct store_stmt *st)
{
	return PQnfields(columns(st));
}

static const char *pg_col_name(struct store_stmt *st, int col)
{
	return PQfname(columns(st), col);
}

static int current(struct store_stmt *st, int col)
{
	struct pg_stmt *p = PGST(st);

	return p->res && p->row > 0 && col >= 0 && col < PQnfields(p->res) &&
	       !PQgetisnull(p->res, p->row - 1, col);
}

static const char *pg_col_text(struct store_stmt *st, int col)
{
	struct pg_stmt *p = PGST(st);

	return current(st, col) ? PQgetvalue(p->res, p->row - 1, col) : NULL;
}

enum {
	OID_BOOL = 16,
	OID_BYTEA = 17,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_OID = 26,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_NUMERIC = 1700
};

static const void *pg_col_blob(struct store_stmt *st, int col)
{
	struct pg_stmt *p = PGST(st);
	size_t n = 0;

	if (!current(st, col))
		return NULL;
	if (PQftype(p->res, col) != OID_BYTEA)
		return PQgetvalue(p->res, p->row - 1, col);
	if (!p->blobs) {
		p->nblobs = PQnfields(p->res);
		p->blobs = calloc((size_t)p->nblobs, sizeof *p->blobs);
		p->blob_lens = calloc((size_t)p->nblobs, sizeof *p->blob_lens);
		if (!p->blobs || !p->blob_lens) {
			free_blobs(p);
			return NULL;
		}
	}
	if (!p->blobs[col]) {
		p->blobs[col] =
		    PQunescapeBytea((const unsigned char *)PQgetvalue(p->res, p->row - 1, col), &n);
		p->blob_lens[col] = n;
	}
	return p->blobs[col];
}

static int pg_col_bytes(struct store_stmt *st, int col)
{
	struct pg_stmt *p = PGST(st);

	if (!current(st, col))
		return 0;
	if (PQftype(p->res, col) == OID_BYTEA) {
		if (!pg_col_blob(st, col))
			return 0;
		return (int)p->blob_lens[col];
	}
	return PQgetlength(p->res, p->row - 1, col);
}

static int64_t pg_col_int(struct store_stmt *st, int col)
{
	const char *v = pg_col_text(st, col);

	if (!v)
		return 0;
	if (PQftype(PGST(st)->res, col) == OID_BOOL)
		return v[0] == 't';
	/* as SQLite: a real or numeric text is cut toward zero */
	if (strpbrk(v, ".eE"))
		return (int64_t)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

static double pg_col_double(struct store_stmt *st, int col)
{
	const char *v = pg_col_text(st, col);

	return v ? strtod(v, NULL) : 0.0;
}

static int pg_col_type(struct store_stmt *st, int col)
{
	struct pg_stmt *p = PGST(st);
	const char *v;

	if (!current(st, col))
		return 'n';
	switch (PQftype(p->res, col)) {
	case OID_BOOL:
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_OID:
		return 'i';
	case OID_FLOAT4:
	case OID_FLOAT8:
		return 'r';
	case OID_NUMERIC:
		/* sum() of integers is numeric: whole values read as integers,
		 * as SQLite's would */
		v = PQgetvalue(p->res, p->row - 1, col);
		return strpbrk(v, ".eEN") ? 'r' : 'i';
	case OID_BYTEA:
		return 'b';
	}
	return 't';
}

static int pg_set_durability(struct store *s, enum store_durability d, struct err *err)
{
	/* off: a commit survives a crash of airlock, the database stays
	 * consistent, and the newest commits may be lost with the server */
	return pg_exec(
	    s, d == STORE_RELAXED ? "SET synchronous_commit = off" : "SET synchronous_commit = on",
	    err);
}

static int pg_triggers_off(struct store *s, struct err *err)
{
	/* disabling them takes a superuser (session_replication_role):
	 * PostgreSQL's writer keeps its triggers */
	(void)s;
	(void)err;
	return 0;
}

static void pg_wal_limit(struct store *s, int pages)
{
	/* PostgreSQL's own checkpointer bounds its WAL (max_wal_size) */
	(void)s;
	(void)pages;
}

static void pg_budget(struct store *s, int64_t ms)
{
	if (ms > 0)
		return; /* armed per statement (arm_timeout) from s->deadline */
	s->deadline.tv_sec = 0;
	s->deadline.tv_nsec = 0;
	if (CONN(s)->timeout_set) {
		CONN(s)->timeout_set = 0;
		pg_exec(s, "SET statement_timeout = 0", &(struct err){0});
	}
}

static int64_t pg_changes(struct store *s)
{
	return CONN(s)->changes;
}

static int pg_last_insert_id(struct store *s, int64_t *out, struct err *err)
{
	return store_query_int(s, "SELECT lastval()", out, err);
}

static int pg_table_exists(struct store *s, const char *table, int *exists, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*exists = 0;
	rc = store_prepare(s,
			   "SELECT count(*) FROM information_schema.tables"
			   " WHERE table_schema = current_schema() AND table_name = ?1",
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

static int pg_read_snapshot(struct store *s, struct err *err)
{
	return pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
}

static int pg_tables(struct store *s, json_t **out, struct err *err)
{
	return store_list_names(
	    s,
	    "SELECT table_name::text FROM information_schema.tables"
	    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	    " ORDER BY 1",
	    out, err);
}

/* An identity column's sequence set past the largest id copied in. */
static int pg_ids_follow(struct store *s, const char *table, struct err *err)
{
	struct store_stmt *st;
	char sql[512];
	int rc;

	rc = store_prepare(s,
			   "SELECT pg_get_serial_sequence(quote_ident(?1), 'id')"
			   " FROM information_schema.columns WHERE table_schema = current_schema()"
			   " AND table_name = ?1 AND column_name = 'id'",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, table);
	rc = store_step(st, err);
	if (rc == STORE_ROW && store_col_text(st, 0) &&
	    (size_t)snprintf(
		sql, sizeof sql,
		"SELECT setval('%s', (SELECT coalesce(max(id), 0) + 1 FROM \"%s\"), false)",
		store_col_text(st, 0), table) < sizeof sql &&
	    !strpbrk(table, "\"'") && !strchr(store_col_text(st, 0), '\'')) {
		store_done(st);
		return pg_exec(s, sql, err);
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

static int pg_trigger_sql(struct store *s, const char *name, char **out, struct err *err)
{
	/* PostgreSQL's tallies are one trigger per table (store_pg_schema.c),
	 * not the SQLite triggers a bulk load defers: nothing to hand out */
	(void)s;
	(void)name;
	(void)err;
	*out = NULL;
	return 0;
}

static int pg_integrity_check(struct store *s, struct err *err)
{
	/* PostgreSQL checks its pages itself (checksums, amcheck for the
	 * administrator); from here, a live connection is what can be seen */
	return pg_file_ok(s, err);
}

static int pg_json_text_sql(const char *col, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "CASE WHEN %s IS NULL OR %s = '{}' THEN %s "
			 "ELSE coalesce(airlock_json_text(%s), '{}') END",
			 col, col, col, col);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int pg_list_sql(int param, char *buf, size_t len)
{
	int n = snprintf(
	    buf, len, "(SELECT value FROM json_array_elements_text(?%d::json) AS l(value))", param);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void *pg_native_handle(struct store *s)
{
	return CONN(s)->pg;
}

const struct store_backend store_pg_backend = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .file_ok = pg_file_ok,
    .writable = pg_writable,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_text = pg_bind_text,
    .bind_int = pg_bind_int,
    .bind_double = pg_bind_double,
    .bind_null = pg_bind_null,
    .bind_blob = pg_bind_blob,
    .stmt_readonly = pg_stmt_readonly,
    .step = pg_step,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .col_text = pg_col_text,
    .col_bytes = pg_col_bytes,
    .col_blob = pg_col_blob,
    .col_int = pg_col_int,
    .col_double = pg_col_double,
    .col_type = pg_col_type,
    .reset = pg_reset,
    .clear_bindings = pg_clear_bindings,
    .set_durability = pg_set_durability,
    .wal_limit = pg_wal_limit,
    .triggers_off = pg_triggers_off,
    .budget = pg_budget,
    .changes = pg_changes,
    .last_insert_id = pg_last_insert_id,
    .table_exists = pg_table_exists,
    .read_snapshot = pg_read_snapshot,
    .tables = pg_tables,
    .ids_follow = pg_ids_follow,
    .trigger_sql = pg_trigger_sql,
    .integrity_check = pg_integrity_check,
    .native_handle = pg_native_handle,
    .migration_sql = store_pg_migration_sql,
    .json_text_sql = pg_json_text_sql,
    .list_sql = pg_list_sql,
};
