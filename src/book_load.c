/* book_load.c — bulk loading of text rows into the book (book_loader_*), and
 * the text form of values that CSV export writes (book_value_text).
 *
 * Written against book.h's catalogue and store.h only, so it shares the
 * field rules of book.c (book_value_parse) instead of repeating them. */
#include "book.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { V_NULL, V_INT, V_REAL, V_TEXT };

/* One parsed value; t points into the caller's row or into own. */
struct slot {
	int k;
	int64_t i;
	double r;
	const char *t;
	json_t *own;
};

/* One value of a row waiting to be inserted; text lives in the arena. */
struct bval {
	int k;
	int64_t i;
	double r;
	size_t off;
};

/* One figure of book_stats: (dim, is_null, val) as book_tally keys it. */
struct tally {
	const char *dim;
	int is_null;
	char *val;
	int64_t n;
};

/* Rows of an empty table are inserted LOAD_BATCH at a time with one
 * multi-row INSERT: SQLite then runs the per-statement work once per batch,
 * notably the ephemeral table it builds for every CHECK (x IN (...)), which
 * costs more than the row itself. */
#define LOAD_BATCH 64

struct book_loader {
	struct store *s;
	enum book_kind kind;
	int n;                          /* columns */
	const struct book_field **field; /* per column; NULL for a custom column */
	char **key;                     /* per column: the custom key, else NULL */
	int id_col, ncustom;
	int table_was_empty;
	/* An empty account table is loaded without its per-row triggers (the
	 * text index and book_stats' tallies: 4x the CPU of the load itself);
	 * both are rebuilt from the table in finish, in the same transaction.
	 * deferred[i] is the CREATE TRIGGER text of a dropped trigger. */
	char *deferred[3];
	/* While account_order's insert trigger is dropped (deferred[2]): the
	 * last id staged, and whether every id so far came after the one
	 * before it (the table was empty, so rowids follow the staging order:
	 * then the loaded rows' rowids run in id order, schema.c 9). */
	char order_last[BOOK_ID_MAX + 1];
	int order_broken;
	/* While the tallies' trigger is dropped, the figures it keeps are
	 * counted here as rows are staged (a GROUP BY of the table at the end
	 * sorted every row: a sixth of an import's CPU). */
	struct tally *tally;
	size_t ntally, captally;
	int tally_off; /* counting failed (memory, an odd value): recount in SQL */
	int tally_dim[6]; /* catalogue index of do_not_contact, segment, region,
			   * tier, lifecycle, merged_into; -1 when absent */
	const struct book_field *cat; /* the kind's catalogue */
	int ncat;
	int *cat_col;      /* per catalogue field: its column, or -1 */
	int *sel_col;      /* columns read back for comparison, in SELECT order */
	int nsel;
	char *ins_sql, *batch_sql, *sel_sql, *upd_sql;
	struct slot *v;
	char now[32];

	/* rows staged for insertion */
	int *ins_field; /* catalogue index of each INSERT value */
	int nins, ins_id, ins_account;
	int batch_max, nrows;
	struct bval *rows; /* batch_max × nins */
	int64_t *tags;
	char *arena;
	size_t alen, acap;
	int64_t failed_tag;
};

char *book_value_text(json_t *v)
{
	char buf[64], *end;
	int prec;

	if (!v || json_is_null(v))
		return strdup("");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_true(v))
		return strdup("true");
	if (json_is_false(v))
		return strdup("false");
	if (json_is_integer(v)) {
		(void)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		return strdup(buf);
	}
	if (json_is_real(v)) {
		/* the shortest of 15–17 digits that reads back as the same double,
		 * so export → import → export gives the same bytes */
		for (prec = 15; prec <= 17; prec++) {
			(void)snprintf(buf, sizeof buf, "%.*g", prec, json_real_value(v));
			if (strtod(buf, &end) == json_real_value(v))
				break;
		}
		return strdup(buf);
	}
	return store_json_dump(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static int is_lifecycle(const struct book_field *f)
{
	return strcmp(f->name, "lifecycle") == 0;
}

/* lifecycle and yes/no fields are NOT NULL with a default: empty means it */
static void apply_default(const struct book_field *f, struct slot *sl)
{
	if (sl->k != V_NULL)
		return;
	if (is_lifecycle(f)) {
		sl->k = V_TEXT;
		sl->t = "prospect";
	} else if (f->type == BOOK_BOOL) {
		sl->k = V_INT;
		sl->i = 0;
	}
}

static void bind_slot(struct store_stmt *st, int idx, const struct slot *sl)
{
	switch (sl->k) {
	case V_INT: store_bind_int(st, idx, sl->i); break;
	case V_REAL: store_bind_double(st, idx, sl->r); break;
	case V_TEXT: store_bind_text(st, idx, sl->t); break;
	default: store_bind_null(st, idx);
	}
}

/* Appends to a growing SQL string; the catalogue bounds its size. */
static int sql_add(char **sql, size_t *len, const char *part)
{
	size_t pl = strlen(part);
	char *n = realloc(*sql, *len + pl + 1);

	if (!n)
		return -1;
	memcpy(n + *len, part, pl + 1);
	*sql = n;
	*len += pl;
	return 0;
}

/* "INSERT INTO t(<fields>,version,updated_at) VALUES(?2,…,1,?1),(…)" for
 * rows rows; ?1 is the shared time, row r's values start at 2 + r × nins. */
static char *insert_sql(struct book_loader *l, int rows)
{
	/* part holds table and field names of the catalogue (book.c): bounded */
	char part[160], *sql = NULL;
	size_t len = 0;
	int q, r, p = 1, bad;

	(void)snprintf(part, sizeof part, "INSERT INTO %s(", book_kind_table(l->kind));
	bad = sql_add(&sql, &len, part);
	for (q = 0; q < l->nins; q++) {
		bad |= sql_add(&sql, &len, l->cat[l->ins_field[q]].name);
		bad |= sql_add(&sql, &len, ",");
	}
	bad |= sql_add(&sql, &len, "version,updated_at) VALUES");
	for (r = 0; r < rows; r++) {
		bad |= sql_add(&sql, &len, r ? ",(" : "(");
		for (q = 0; q < l->nins; q++) {
			(void)snprintf(part, sizeof part, "?%d,", ++p);
			bad |= sql_add(&sql, &len, part);
		}
		bad |= sql_add(&sql, &len, "1,?1)");
	}
	if (bad) {
		free(sql);
		return NULL;
	}
	return sql;
}

static int build_sql(struct book_loader *l, struct err *err)
{
	const char *table = book_kind_table(l->kind);
	char part[160];
	size_t sl = 0, ul = 0;
	int i, p = 0, bad = 0, has_custom = book_field_find(l->kind, "custom") != NULL;

	l->ins_sql = insert_sql(l, 1);
	if (l->batch_max > 1)
		l->batch_sql = insert_sql(l, l->batch_max);
	bad |= !l->ins_sql || (l->batch_max > 1 && !l->batch_sql);

	/* SELECT id,<columns>[,custom] … and UPDATE … SET <columns>[,custom] */
	bad |= sql_add(&l->sel_sql, &sl, "SELECT id");
	(void)snprintf(part, sizeof part, "UPDATE %s SET ", table);
	bad |= sql_add(&l->upd_sql, &ul, part);
	p = 1;
	for (i = 0; i < l->nsel; i++) {
		const char *name = l->field[l->sel_col[i]]->name;

		(void)snprintf(part, sizeof part, ",%s", name);
		bad |= sql_add(&l->sel_sql, &sl, part);
		(void)snprintf(part, sizeof part, "%s=?%d,", name, ++p);
		bad |= sql_add(&l->upd_sql, &ul, part);
	}
	if (l->ncustom && has_custom) {
		bad |= sql_add(&l->sel_sql, &sl, ",custom");
		(void)snprintf(part, sizeof part, "custom=?%d,", ++p);
		bad |= sql_add(&l->upd_sql, &ul, part);
	}
	(void)snprintf(part, sizeof part, " FROM %s WHERE id=?1", table);
	bad |= sql_add(&l->sel_sql, &sl, part);
	(void)snprintf(part, sizeof part, "version=version+1,updated_at=?%d WHERE id=?1", ++p);
	bad |= sql_add(&l->upd_sql, &ul, part);
	return bad ? err_set(err, AIRLOCK_ENOMEM, "out of memory") : 0;
}

/* Resolves the columns to catalogue fields or custom keys. */
static int resolve_columns(struct book_loader *l, const char *const *columns, struct err *err)
{
	int i, j;

	l->id_col = -1;
	for (i = 0; i < l->ncat; i++)
		l->cat_col[i] = -1;
	for (i = 0; i < l->n; i++) {
		const char *c = columns[i];

		if (!strncmp(c, "custom.", 7)) {
			if (!c[7] || !book_field_find(l->kind, "custom"))
				return err_set(err, AIRLOCK_EINVAL, "%ss have no custom fields ('%s')",
					       book_kind_name(l->kind), c);
			for (j = 0; j < i; j++)
				if (l->key[j] && !strcmp(l->key[j], c + 7))
					return err_set(err, AIRLOCK_EINVAL,
						       "custom field '%s' is given twice", c + 7);
			l->key[i] = strdup(c + 7);
			if (!l->key[i])
				return err_set(err, AIRLOCK_ENOMEM, "out of memory");
			l->ncustom++;
			continue;
		}
		for (j = 0; j < l->ncat && strcmp(l->cat[j].name, c); j++)
			;
		if (j == l->ncat)
			return err_set(err, AIRLOCK_EINVAL, "unknown %s field '%s'",
				       book_kind_name(l->kind), c);
		/* merged_into is kept by airlock but loadable: an export carries
		 * it, so a merge survives export → import */
		if (l->cat[j].system && strcmp(c, "merged_into") != 0)
			return err_set(err, AIRLOCK_EINVAL,
				       "%s field '%s' is kept by airlock and cannot be loaded",
				       book_kind_name(l->kind), c);
		if (l->cat_col[j] >= 0)
			return err_set(err, AIRLOCK_EINVAL, "field '%s' is given twice", c);
		l->cat_col[j] = i;
		l->field[i] = &l->cat[j];
		if (!strcmp(c, "id"))
			l->id_col = i;
		else
			l->sel_col[l->nsel++] = i;
	}
	if (l->id_col < 0)
		return err_set(err, AIRLOCK_EINVAL, "no id column");
	return 0;
}

static int table_is_empty(struct book_loader *l, int *empty, struct err *err)
{
	char sql[128];
	struct store_stmt *st;
	int rc;

	(void)snprintf(sql, sizeof sql, "SELECT 1 FROM %s LIMIT 1", book_kind_table(l->kind));
	rc = store_prepare(l->s, sql, &st, err);
	if (rc)
		return rc;
	rc = store_step(st, err);
	store_done(st);
	if (rc < 0)
		return rc;
	*empty = rc == STORE_DONE;
	return 0;
}

/* Which fields an INSERT sets, and room for a batch of staged rows (one row
 * when the table had records: each id must be looked up first anyway). */
static int plan_inserts(struct book_loader *l, struct err *err)
{
	int i;

	l->ins_field = calloc((size_t)l->ncat, sizeof *l->ins_field);
	if (!l->ins_field)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	l->ins_id = l->ins_account = -1;
	for (i = 0; i < l->ncat; i++) {
		if (l->cat[i].system && strcmp(l->cat[i].name, "custom") != 0 &&
		    strcmp(l->cat[i].name, "merged_into") != 0)
			continue;
		if (!strcmp(l->cat[i].name, "id"))
			l->ins_id = l->nins;
		if (!strcmp(l->cat[i].name, "account_id"))
			l->ins_account = l->nins;
		l->ins_field[l->nins++] = i;
	}
	l->batch_max = l->table_was_empty ? LOAD_BATCH : 1;
	l->rows = calloc((size_t)l->batch_max * (size_t)l->nins, sizeof *l->rows);
	l->tags = calloc((size_t)l->batch_max, sizeof *l->tags);
	if (!l->rows || !l->tags)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

static const char *const deferred_triggers[3] = {
    "account_text_insert", "book_tally_account_insert", "account_order_insert"};

/* Drops the account table's per-row insert triggers for a load into the
 * empty table (struct book_loader: deferred). The caller's transaction
 * holds the drop: a rollback brings them back. */
static int defer_triggers(struct book_loader *l, struct err *err)
{
	char sql[128];
	int i, rc = 0;

	for (i = 0; rc == 0 && i < 3; i++) {
		/* an older schema (or another engine's) without it: nothing
		 * to defer */
		rc = store_trigger_sql(l->s, deferred_triggers[i], &l->deferred[i], err);
		if (rc == 0 && l->deferred[i]) {
			(void)snprintf(sql, sizeof sql, "DROP TRIGGER %s", deferred_triggers[i]);
			rc = store_exec(l->s, sql, err);
			if (rc) {
				free(l->deferred[i]);
				l->deferred[i] = NULL;
			}
		}
	}
	return rc;
}

/* Puts the dropped triggers back and does at once what they would have
 * done row by row: the text index rebuilt, the account tallies counted
 * (the table was empty, so they held nothing of it before). */
static int tally_write(struct book_loader *l, struct err *err)
{
	struct store_stmt *st;
	size_t i;
	int rc;

	rc = store_exec(l->s,
			"DELETE FROM book_tally WHERE dim IN ('accounts',"
			" 'accounts_do_not_contact', 'segment', 'region', 'tier', 'lifecycle')",
			err);
	if (rc)
		return rc;
	rc = store_prepare(l->s, "INSERT INTO book_tally(dim, is_null, val, n) VALUES(?1,?2,?3,?4)",
			   &st, err);
	if (rc)
		return rc;
	for (i = 0; i < l->ntally && rc == 0; i++) {
		store_bind_text(st, 1, l->tally[i].dim);
		store_bind_int(st, 2, l->tally[i].is_null);
		store_bind_text(st, 3, l->tally[i].val);
		store_bind_int(st, 4, l->tally[i].n);
		rc = store_step(st, err);
		rc = rc == STORE_DONE ? 0 : rc;
		store_reset(st);
	}
	store_done(st);
	return rc;
}

static int restore_triggers(struct book_loader *l, int counted, struct err *err)
{
	int i, rc = 0;

	for (i = 0; rc == 0 && i < 3; i++) {
		if (!l->deferred[i])
			continue;
		rc = store_exec(l->s, l->deferred[i], err);
		if (rc)
			break;
		if (i == 0)
			rc = store_exec(l->s, "INSERT INTO account_text(account_text) VALUES('rebuild')",
					err);
		else if (i == 2)
			/* counted: every staged row is in, in staging order; else
			 * (a rollback's restore) the order is not known: cleared */
			rc = store_exec(l->s,
					counted && !l->order_broken
					    ? "UPDATE account_order SET in_id_order = 1"
					    : "UPDATE account_order SET in_id_order = 0",
					err);
		else if (counted && !l->tally_off)
			rc = tally_write(l, err);
		else
			rc = store_exec(
				l->s,
				"DELETE FROM book_tally WHERE dim IN ('accounts',"
				" 'accounts_do_not_contact', 'segment', 'region', 'tier', 'lifecycle');"
				/* one sort of the table's rows by all five figures,
				 * then the few combinations summed per figure (a
				 * sort per figure cost three times as much) */
				"INSERT INTO book_tally(dim, is_null, val, n)"
				" WITH c(dnc, segment, region, tier, lifecycle, n) AS MATERIALIZED ("
				"  SELECT do_not_contact, segment, region, CAST(tier AS TEXT), lifecycle,"
				"  count(*) FROM account WHERE merged_into IS NULL GROUP BY 1, 2, 3, 4, 5)"
				" SELECT d, v IS NULL, coalesce(v, ''), sum(n) FROM ("
				"  SELECT 'accounts' AS d, '' AS v, n FROM c"
				"  UNION ALL SELECT 'accounts_do_not_contact', '', n FROM c WHERE dnc = 1"
				"  UNION ALL SELECT 'segment', segment, n FROM c"
				"  UNION ALL SELECT 'region', region, n FROM c"
				"  UNION ALL SELECT 'tier', tier, n FROM c"
				"  UNION ALL SELECT 'lifecycle', lifecycle, n FROM c)"
				" GROUP BY d, v IS NULL, coalesce(v, '');",
				err);
		if (rc == 0) {
			free(l->deferred[i]);
			l->deferred[i] = NULL;
		}
	}
	return rc;
}

int book_loader_new(struct store *s, enum book_kind kind, const char *const *columns, int n,
		    struct book_loader **out, struct err *err)
{
	struct book_loader *l;
	int rc;

	*out = NULL;
	l = calloc(1, sizeof *l);
	if (!l)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	l->s = s;
	l->kind = kind;
	l->n = n;
	l->cat = book_fields(kind, &l->ncat);
	l->field = calloc((size_t)n + 1, sizeof *l->field);
	l->key = calloc((size_t)n + 1, sizeof *l->key);
	l->sel_col = calloc((size_t)n + 1, sizeof *l->sel_col);
	l->v = calloc((size_t)n + 1, sizeof *l->v);
	l->cat_col = calloc((size_t)l->ncat, sizeof *l->cat_col);
	if (!l->field || !l->key || !l->sel_col || !l->v || !l->cat_col) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto error;
	}
	rc = resolve_columns(l, columns, err);
	if (rc == 0)
		rc = table_is_empty(l, &l->table_was_empty, err);
	if (rc == 0)
		rc = plan_inserts(l, err);
	if (rc == 0)
		rc = build_sql(l, err);
	if (rc == 0 && l->table_was_empty && kind == BOOK_ACCOUNT)
		rc = defer_triggers(l, err);
	if (rc == 0) {
		static const char *const tallied[6] = {"do_not_contact", "segment", "region",
						       "tier", "lifecycle", "merged_into"};
		int q, d;

		for (d = 0; d < 6; d++) {
			l->tally_dim[d] = -1;
			for (q = 0; q < l->ncat; q++)
				if (!strcmp(l->cat[q].name, tallied[d]))
					l->tally_dim[d] = q;
			if (kind == BOOK_ACCOUNT && l->tally_dim[d] < 0)
				l->tally_off = 1; /* a catalogue without it: recount */
		}
	}
	if (rc)
		goto error;
	book_now(l->now, sizeof l->now);
	*out = l;
	return 0;
error:
	book_loader_free(l);
	return rc;
}

void book_loader_free(struct book_loader *l)
{
	size_t t;
	int i;

	if (!l)
		return;
	/* not finished: the caller rolls back (book.h), which restores the
	 * triggers; should it commit anyway, they are restored here */
	if ((l->deferred[0] || l->deferred[1] || l->deferred[2]) && store_in_transaction(l->s)) {
		struct err ignored = {0};
		char *sql[3] = {NULL, NULL, NULL};
		int present;

		for (i = 0; i < 3; i++)
			store_trigger_sql(l->s, deferred_triggers[i], &sql[i], &ignored);
		present = sql[0] || sql[1] || sql[2];
		for (i = 0; i < 3; i++)
			free(sql[i]);
		if (present == 0)
			restore_triggers(l, 0, &ignored);
	}
	for (i = 0; i < 3; i++)
		free(l->deferred[i]);
	for (t = 0; t < l->ntally; t++)
		free(l->tally[t].val);
	free(l->tally);
	for (i = 0; l->key && i < l->n; i++)
		free(l->key[i]);
	free(l->key);
	free(l->field);
	free(l->sel_col);
	free(l->cat_col);
	free(l->v);
	free(l->ins_field);
	free(l->rows);
	free(l->tags);
	free(l->arena);
	free(l->batch_sql);
	free(l->ins_sql);
	free(l->sel_sql);
	free(l->upd_sql);
	free(l);
}

static void release_slots(struct book_loader *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		json_decref(l->v[i].own);
		l->v[i].own = NULL;
	}
}

/* Parses the row's values into slots with book_value_parse's rules; plain
 * text fields are taken as they are, which is what that function does too. */
static int parse_row(struct book_loader *l, const char *const *values, struct err *err)
{
	json_t *j;
	int i, rc;

	for (i = 0; i < l->n; i++) {
		const struct book_field *f = l->field[i];
		struct slot *sl = &l->v[i];
		const char *t = values[i];

		memset(sl, 0, sizeof *sl);
		if (!f) {
			sl->k = *t ? V_TEXT : V_NULL;
			sl->t = t;
			continue;
		}
		if (f->type == BOOK_TEXT && *t) {
			if (book_id_check(f, t, err))
				return AIRLOCK_EINVAL;
			sl->k = V_TEXT;
			sl->t = t;
			continue;
		}
		rc = book_value_parse(f, t, &j, err);
		if (rc)
			return rc;
		sl->own = j;
		if (json_is_integer(j)) {
			sl->k = V_INT;
			sl->i = json_integer_value(j);
		} else if (json_is_real(j)) {
			sl->k = V_REAL;
			sl->r = json_real_value(j);
		} else if (json_is_boolean(j)) {
			sl->k = V_INT;
			sl->i = json_is_true(j);
		} else if (json_is_string(j)) {
			sl->k = V_TEXT;
			sl->t = json_string_value(j);
		}
		apply_default(f, sl);
	}
	return 0;
}

/* Sets or removes the row's custom keys in obj; *changed when obj differs. */
static int merge_custom(struct book_loader *l, json_t *obj, int *changed, struct err *err)
{
	json_t *old;
	char *txt;
	int i, same;

	*changed = 0;
	for (i = 0; i < l->n; i++) {
		if (!l->key[i])
			continue;
		old = json_object_get(obj, l->key[i]);
		if (l->v[i].k == V_NULL) {
			if (old) {
				json_object_del(obj, l->key[i]);
				*changed = 1;
			}
			continue;
		}
		if (old) {
			/* a typed value (a number set by a tool) that reads the
			 * same as the text stays as it is */
			txt = book_value_text(old);
			if (!txt)
				return err_set(err, AIRLOCK_ENOMEM, "out of memory");
			same = strcmp(txt, l->v[i].t) == 0;
			free(txt);
			if (same)
				continue;
		}
		if (json_object_set_new(obj, l->key[i], json_string(l->v[i].t)))
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		*changed = 1;
	}
	return 0;
}

/* Turns constraint failures into what the user did wrong. */
static int write_error(struct book_loader *l, int rc, const char *id, const char *account,
		       struct err *err)
{
	if (rc == AIRLOCK_EINVAL && strstr(err->msg, "UNIQUE"))
		return err_set(err, AIRLOCK_EEXIST, "%s '%s' already exists",
			       book_kind_name(l->kind), id);
	if (rc == AIRLOCK_EINVAL && strstr(err->msg, "FOREIGN KEY"))
		return err_set(err, AIRLOCK_EINVAL, "account '%s' does not exist",
			       account ? account : "?");
	return rc;
}

static int arena_add(struct book_loader *l, const char *t, size_t *off)
{
	size_t n = strlen(t) + 1, cap;
	char *na;

	if (l->alen + n > l->acap) {
		cap = l->acap ? l->acap : 16384;
		while (cap < l->alen + n)
			cap *= 2;
		na = realloc(l->arena, cap);
		if (!na)
			return AIRLOCK_ENOMEM;
		l->arena = na;
		l->acap = cap;
	}
	memcpy(l->arena + l->alen, t, n);
	*off = l->alen;
	l->alen += n;
	return 0;
}

/* Copies the parsed row, with defaults for the fields it lacks and the
 * custom object's text, into the next staged row. */
/* Adds one to the figure (dim, is_null, val). A book has a few dozen
 * values per figure, so a linear search over them is cheap enough. */
static void tally_add(struct book_loader *l, const char *dim, int is_null, const char *val)
{
	struct tally *t;
	size_t i;

	for (i = 0; i < l->ntally; i++) {
		t = &l->tally[i];
		if (t->dim == dim && t->is_null == is_null && !strcmp(t->val, val)) {
			t->n++;
			/* most rows repeat a recent value: keep the busy ones near the front */
			if (i > 0 && l->tally[i - 1].n < t->n) {
				struct tally x = l->tally[i - 1];

				l->tally[i - 1] = *t;
				*t = x;
			}
			return;
		}
	}
	if (l->ntally == l->captally) {
		size_t cap = l->captally ? 2 * l->captally : 64;
		struct tally *nt = realloc(l->tally, cap * sizeof *nt);

		if (!nt) {
			l->tally_off = 1;
			return;
		}
		l->tally = nt;
		l->captally = cap;
	}
	t = &l->tally[l->ntally];
	t->dim = dim;
	t->is_null = is_null;
	t->val = strdup(val);
	t->n = 1;
	if (!t->val)
		l->tally_off = 1;
	else
		l->ntally++;
}

/* The value a staged row gives catalogue field q (its column, or the
 * default the table would give it): *is_null, and its text as SQLite's
 * CAST(x AS TEXT) writes it into buf. */
static const char *staged_field_text(struct book_loader *l, const struct bval *row, int q,
				     int *is_null, char *buf, size_t len)
{
	int k;

	*is_null = 1;
	if (q < 0)
		return "";
	for (k = 0; k < l->nins; k++)
		if (l->ins_field[k] == q)
			break;
	if (k == l->nins) { /* not inserted: the column's default */
		struct slot sl = {0};

		apply_default(&l->cat[q], &sl);
		if (sl.k == V_TEXT) {
			*is_null = 0;
			return sl.t;
		}
		if (sl.k == V_INT) {
			*is_null = 0;
			(void)snprintf(buf, len, "%lld", (long long)sl.i);
			return buf;
		}
		return "";
	}
	switch (row[k].k) {
	case V_TEXT: *is_null = 0; return l->arena + row[k].off;
	case V_INT: *is_null = 0; (void)snprintf(buf, len, "%lld", (long long)row[k].i); return buf;
	case V_REAL: /* no tallied field holds one; SQLite's text of it is its own */
		l->tally_off = 1;
		return "";
	default: return "";
	}
}

/* Counts a staged account row as book_tally_account_insert would. */
static void tally_row(struct book_loader *l, const struct bval *row)
{
	static const char *const dims[] = {"segment", "region", "tier", "lifecycle"};
	char buf[64];
	const char *v;
	int is_null, i;

	(void)staged_field_text(l, row, l->tally_dim[5], &is_null, buf, sizeof buf);
	if (!is_null)
		return; /* merged accounts count nowhere */
	tally_add(l, "accounts", 0, "");
	v = staged_field_text(l, row, l->tally_dim[0], &is_null, buf, sizeof buf);
	if (!is_null && !strcmp(v, "1"))
		tally_add(l, "accounts_do_not_contact", 0, "");
	for (i = 0; i < 4; i++) {
		v = staged_field_text(l, row, l->tally_dim[i + 1], &is_null, buf, sizeof buf);
		tally_add(l, dims[i], is_null, v);
	}
}

static int stage_row(struct book_loader *l, int64_t tag, struct err *err)
{
	struct bval *row = &l->rows[(size_t)l->nrows * (size_t)l->nins];
	json_t *custom = NULL;
	char *ctext = NULL;
	int q, rc = 0, changed;

	for (q = 0; q < l->ncat; q++)
		if (l->cat[q].required && l->cat_col[q] < 0)
			return err_set(err, AIRLOCK_EINVAL, "%s '%s' is new and needs a %s",
				       book_kind_name(l->kind), l->v[l->id_col].t, l->cat[q].name);
	if (l->ncustom) {
		custom = json_object();
		rc = custom ? merge_custom(l, custom, &changed, err)
			    : err_set(err, AIRLOCK_ENOMEM, "out of memory");
		if (rc == 0 && !(ctext = store_json_dump(custom, JSON_COMPACT | JSON_SORT_KEYS)))
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		json_decref(custom);
		if (rc)
			goto out;
	}
	for (q = 0; q < l->nins && rc == 0; q++) {
		const struct book_field *f = &l->cat[l->ins_field[q]];
		int col = l->cat_col[l->ins_field[q]];
		struct slot sl = {0};

		if (f->type == BOOK_JSON) {
			sl.k = V_TEXT;
			sl.t = ctext ? ctext : "{}";
		} else if (col >= 0)
			sl = l->v[col];
		else
			apply_default(f, &sl);
		row[q].k = sl.k;
		row[q].i = sl.i;
		row[q].r = sl.r;
		if (sl.k == V_TEXT && arena_add(l, sl.t, &row[q].off))
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (rc == 0 && l->deferred[1])
		tally_row(l, row);
	if (rc == 0 && l->deferred[2] && !l->order_broken) {
		const char *id = l->v[l->id_col].t;

		/* ids compare as SQLite's BINARY collation does (bytes) */
		if (!id || strlen(id) > BOOK_ID_MAX ||
		    (l->order_last[0] && strcmp(id, l->order_last) <= 0))
			l->order_broken = 1;
		else
			memcpy(l->order_last, id, strlen(id) + 1);
	}
	if (rc == 0)
		l->tags[l->nrows++] = tag;
out:
	free(ctext);
	return rc;
}

static const char *staged_text(struct book_loader *l, int row, int q)
{
	const struct bval *b;

	if (q < 0)
		return NULL;
	b = &l->rows[(size_t)row * (size_t)l->nins + (size_t)q];
	return b->k == V_TEXT ? l->arena + b->off : NULL;
}

/* Inserts count staged rows from row first with one statement. */
static int insert_staged(struct book_loader *l, const char *sql, int first, int count,
			 struct err *err)
{
	struct store_stmt *st;
	int r, q, p = 1, rc;

	rc = store_prepare(l->s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, l->now);
	for (r = first; r < first + count; r++) {
		const struct bval *row = &l->rows[(size_t)r * (size_t)l->nins];

		for (q = 0; q < l->nins; q++) {
			p++;
			switch (row[q].k) {
			case V_INT: store_bind_int(st, p, row[q].i); break;
			case V_REAL: store_bind_double(st, p, row[q].r); break;
			case V_TEXT: store_bind_text(st, p, l->arena + row[q].off); break;
			default: store_bind_null(st, p);
			}
		}
	}
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* Writes the staged rows. A batch that fails leaves nothing behind (it
 * runs in a savepoint: SQLite undoes the failed statement alone, but
 * PostgreSQL the whole transaction unless rolled back to one), and is
 * replayed row by row to name the row at fault: l->failed_tag. */
static int flush_rows(struct book_loader *l, struct err *err)
{
	int r, rc = 0;

	if (l->nrows == l->batch_max && l->batch_max > 1) {
		rc = store_begin(l->s, err);
		if (rc)
			goto out;
		rc = insert_staged(l, l->batch_sql, 0, l->nrows, err);
		if (rc == 0)
			rc = store_commit(l->s, err);
		else
			store_rollback(l->s);
		if (rc == 0 || rc != AIRLOCK_EINVAL)
			goto out;
	}
	for (r = 0; r < l->nrows; r++) {
		rc = insert_staged(l, l->ins_sql, r, 1, err);
		if (rc) {
			l->failed_tag = l->tags[r];
			rc = write_error(l, rc, staged_text(l, r, l->ins_id),
					 staged_text(l, r, l->ins_account), err);
			break;
		}
	}
out:
	l->nrows = 0;
	l->alen = 0;
	return rc;
}

int book_loader_finish(struct book_loader *l, struct err *err)
{
	int rc = flush_rows(l, err);

	/* every staged row is in the table now: the counts are its tallies */
	return rc ? rc : restore_triggers(l, 1, err);
}

int64_t book_loader_failed_tag(const struct book_loader *l)
{
	return l->failed_tag;
}

/* 1 when the current value in column col of st equals the slot. */
static int same_value(struct store_stmt *st, int col, const struct slot *sl)
{
	int t = store_col_type(st, col);

	switch (sl->k) {
	case V_NULL: return t == 'n';
	case V_INT: return t == 'i' && store_col_int(st, col) == sl->i;
	case V_REAL: return (t == 'r' || t == 'i') && store_col_double(st, col) == sl->r;
	default:
		return t == 't' && (size_t)store_col_bytes(st, col) == strlen(sl->t) &&
		       memcmp(store_col_text(st, col), sl->t, strlen(sl->t)) == 0;
	}
}

/* Compares the stored record with the row: *state 0 = absent, 1 = same,
 * 2 = differs. When it differs and the loader has custom columns, *ctext
 * gets the merged custom object's text (the caller frees it). */
static int compare_row(struct book_loader *l, int *state, char **ctext, struct err *err)
{
	struct store_stmt *st;
	json_t *custom;
	int i, rc, changed = 0;

	*state = 0;
	*ctext = NULL;
	rc = store_prepare(l->s, l->sel_sql, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, l->v[l->id_col].t);
	rc = store_step(st, err);
	if (rc != STORE_ROW)
		goto out;
	*state = 1;
	for (i = 0; i < l->nsel; i++)
		if (!same_value(st, i + 1, &l->v[l->sel_col[i]]))
			*state = 2;
	if (l->ncustom) {
		const char *txt = store_col_text(st, l->nsel + 1);

		custom = txt ? json_loads(txt, 0, NULL) : NULL;
		if (!json_is_object(custom)) {
			json_decref(custom);
			custom = json_object();
		}
		rc = custom ? merge_custom(l, custom, &changed, err)
			    : err_set(err, AIRLOCK_ENOMEM, "out of memory");
		if (changed)
			*state = 2;
		/* the UPDATE sets custom too, changed or not */
		if (rc == 0 && *state == 2) {
			*ctext = store_json_dump(custom, JSON_COMPACT | JSON_SORT_KEYS);
			if (!*ctext)
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		}
		json_decref(custom);
		if (rc)
			goto out;
	}
	rc = 0;
out:
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

static int update_row(struct book_loader *l, const char *ctext, struct err *err)
{
	struct store_stmt *st;
	const char *account = NULL;
	int i, p = 1, rc;

	rc = store_prepare(l->s, l->upd_sql, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, l->v[l->id_col].t);
	for (i = 0; i < l->nsel; i++)
		bind_slot(st, ++p, &l->v[l->sel_col[i]]);
	if (l->ncustom)
		store_bind_text(st, ++p, ctext);
	store_bind_text(st, p + 1, l->now);
	rc = store_step(st, err);
	store_done(st);
	if (rc == STORE_DONE)
		return 0;
	for (i = 0; i < l->ncat; i++)
		if (!strcmp(l->cat[i].name, "account_id") && l->cat_col[i] >= 0)
			account = l->v[l->cat_col[i]].t;
	return write_error(l, rc, l->v[l->id_col].t, account, err);
}

int book_loader_put(struct book_loader *l, const char *const *values, int64_t tag,
		    int *outcome, struct err *err)
{
	char *ctext = NULL;
	int rc, state = 0;

	*outcome = 0;
	l->failed_tag = tag;
	rc = parse_row(l, values, err);
	if (rc)
		goto out;
	if (!l->table_was_empty) {
		rc = compare_row(l, &state, &ctext, err);
		if (rc)
			goto out;
	}
	if (state == 0) {
		rc = stage_row(l, tag, err);
		if (rc == 0 && l->nrows == l->batch_max)
			rc = flush_rows(l, err);
		*outcome = BOOK_LOAD_INSERTED;
	} else if (state == 2) {
		rc = update_row(l, ctext, err);
		*outcome = BOOK_LOAD_UPDATED;
	} else
		*outcome = BOOK_LOAD_UNCHANGED;
out:
	free(ctext);
	release_slots(l);
	if (rc)
		*outcome = 0;
	return rc;
}
