/* staging.c — batches, their state machine, apply and undo. */
#include "staging.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "book.h"
#include "clock.h"
#include "fmt.h"
#include "radius.h"
#include "staging_int.h"

static const char *const state_names[STAGE_STATE_COUNT] = {
	"staged", "sampled", "blocked", "approved", "applied", "undone", "rejected", "expired",
};

const char *staging_state_name(enum staging_state s)
{
	return (s >= 0 && s < STAGE_STATE_COUNT) ? state_names[s] : "unknown";
}

int staging_state_parse(const char *name, enum staging_state *out)
{
	int i;

	for (i = 0; i < STAGE_STATE_COUNT; i++)
		if (name && strcmp(name, state_names[i]) == 0) {
			*out = (enum staging_state)i;
			return 0;
		}
	return AIRLOCK_EINVAL;
}

int staging_state_waits(enum staging_state s)
{
	return s == STAGE_STAGED || s == STAGE_SAMPLED || s == STAGE_BLOCKED;
}

int staging_transition_ok(enum staging_state from, enum staging_state to)
{
	switch (to) {
	case STAGE_SAMPLED: return from == STAGE_STAGED;
	case STAGE_BLOCKED: return from == STAGE_STAGED || from == STAGE_SAMPLED;
	case STAGE_APPROVED:
		return from == STAGE_STAGED || from == STAGE_SAMPLED || from == STAGE_BLOCKED;
	case STAGE_APPLIED: return from == STAGE_APPROVED;
	case STAGE_UNDONE: return from == STAGE_APPLIED;
	case STAGE_REJECTED:
		return from == STAGE_STAGED || from == STAGE_SAMPLED || from == STAGE_BLOCKED;
	case STAGE_EXPIRED:
		return from == STAGE_STAGED || from == STAGE_SAMPLED || from == STAGE_BLOCKED ||
		       from == STAGE_APPROVED;
	case STAGE_STAGED:
	case STAGE_STATE_COUNT: return 0;
	}
	return 0;
}

int staging_parse_id(const char *text, int64_t *out, struct err *err)
{
	char *end;
	long long v;
	const char *p = text;

	if (p && (*p == 'B' || *p == 'b' || *p == '#'))
		p++;
	errno = 0;
	v = p ? strtoll(p, &end, 10) : 0;
	if (!p || !*p || errno || *end || v <= 0)
		return err_set(err, AIRLOCK_EINVAL, "'%s' is not a batch id (e.g. 12 or B12)",
			       text ? text : "");
	*out = v;
	return 0;
}

static int is_human(const char *principal)
{
	return principal && strncmp(principal, "human:", 6) == 0 && principal[6];
}

char *staging_dump(json_t *v)
{
	return store_json_dump(v ? v : json_null(), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Appends the log entry of a human verb or a system change. */
int staging_log_verb(struct store *s, const char *principal, const char *surface, const char *verb,
		    int64_t batch_id, const char *decision, json_t *args, const char *summary,
		    struct err *err)
{
	struct audit_entry e = {0};
	char bid[32];

	(void)snprintf(bid, sizeof bid, "%lld", (long long)batch_id);
	e.principal = principal;
	e.surface = surface;
	e.tool = verb;
	e.args = args;
	e.decision = decision;
	e.summary = summary;
	e.batch_id = bid;
	return audit_append(s, &e, NULL, err);
}

/* What undo writes back: the before-value of every changed field (the
 * whole custom object when a custom field changes), so undo reads a few
 * bytes per item instead of a whole record image. */
static char *restore_text(json_t *changes, json_t *before)
{
	json_t *r = json_object(), *v;
	const char *k;
	char *txt;
	int oom = !r;

	/* NULL when an allocation fails: a restore without the field (or
	 * "null" for all of it) would make undo leave the record as applied */
	json_object_foreach(changes, k, v)
	{
		json_t *old;

		if (!strncmp(k, "custom.", 7)) {
			old = json_object_get(before, "custom");
			if (json_object_set_new(r, "custom", old ? json_deep_copy(old) : json_object()))
				oom = 1;
		} else {
			old = json_object_get(before, k);
			if (json_object_set(r, k, old ? old : json_null()))
				oom = 1;
		}
	}
	if (oom) {
		json_decref(r);
		return NULL;
	}
	txt = staging_dump(r);
	json_decref(r);
	return txt;
}

/* batch_item rows one INSERT writes: on PostgreSQL each statement is a
 * round trip, so 500 items are 10 statements, not 500. */
#define ITEM_ROWS 64
#define ITEM_COLS 9

/* Inserts items[from .. from+n) of batch batch_id (n ≤ ITEM_ROWS) in one
 * multi-row INSERT. */
static int insert_items(struct store *s, int64_t batch_id, json_t *items, size_t from, size_t n,
			struct err *err)
{
	char sql[64 + ITEM_ROWS * ITEM_COLS * 8], *texts[ITEM_ROWS][5] = {{0}};
	struct store_stmt *st = NULL;
	size_t used, r;
	int rc = 0, c, k;

	used = (size_t)snprintf(sql, sizeof sql,
				"INSERT INTO batch_item(batch_id,idx,record_id,changes,before,version,"
				"reasons,evidence,restore) VALUES");
	for (r = 0; r < n && used < sizeof sql; r++)
		for (c = 1; c <= ITEM_COLS && used < sizeof sql; c++) {
			k = snprintf(sql + used, sizeof sql - used, "%s?%zu%s",
				     c == 1 ? (r ? ",(" : "(") : ",", r * ITEM_COLS + (size_t)c,
				     c == ITEM_COLS ? ")" : "");
			used += k > 0 ? (size_t)k : sizeof sql;
		}
	if (used >= sizeof sql)
		return err_set(err, AIRLOCK_EINVAL, "internal: %zu batch items do not fit one insert",
			       n);
	for (r = 0; r < n; r++) {
		json_t *it = json_array_get(items, from + r), *ch = json_object_get(it, "changes"),
		       *before = json_object_get(it, "before"), *rs = json_object_get(it, "reasons"),
		       *ev = json_object_get(it, "evidence"), *bt = json_object_get(it, "before_text");

		texts[r][0] = staging_dump(ch);
		/* the book's own text of the same row, when it gave one */
		texts[r][1] = bt ? strdup(json_string_value(bt)) : staging_dump(before);
		texts[r][2] = rs ? staging_dump(rs) : strdup("[]");
		texts[r][3] = ev ? staging_dump(ev) : strdup("[]");
		texts[r][4] = restore_text(ch, before);
		for (c = 0; c < 5; c++)
			if (!texts[r][c])
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = store_prepare(s, sql, &st, err);
	if (rc)
		goto out;
	for (r = 0; r < n; r++) {
		json_t *it = json_array_get(items, from + r);
		int b = (int)(r * ITEM_COLS);

		store_bind_int(st, b + 1, batch_id);
		store_bind_int(st, b + 2, (int64_t)(from + r) + 1);
		store_bind_text(st, b + 3, json_string_value(json_object_get(it, "record_id")));
		store_bind_text(st, b + 4, texts[r][0]);
		store_bind_text(st, b + 5, texts[r][1]);
		store_bind_int(st, b + 6, json_integer_value(json_object_get(it, "version")));
		store_bind_text(st, b + 7, texts[r][2]);
		store_bind_text(st, b + 8, texts[r][3]);
		store_bind_text(st, b + 9, texts[r][4]);
	}
	rc = store_step(st, err);
	store_done(st);
	if (rc == STORE_ROW)
		rc = err_set(err, AIRLOCK_EIO, "batch items: an INSERT returned a row");
out:
	for (r = 0; r < n; r++)
		for (c = 0; c < 5; c++)
			free(texts[r][c]);
	return rc;
}

int staging_create(struct store *s, const struct staging_spec *spec, json_t *items,
		   int64_t *batch_id, struct err *err)
{
	struct store_stmt *st = NULL;
	char now[CLOCK_TEXT_LEN], exp[CLOCK_TEXT_LEN];
	char *reasons = NULL, *refused = NULL;
	size_t i;
	time_t t = clock_now();
	int rc;

	if (spec->state != STAGE_STAGED && spec->state != STAGE_BLOCKED &&
	    spec->state != STAGE_APPROVED)
		return err_set(err, AIRLOCK_ESTATE, "a new batch cannot start as %s",
			       staging_state_name(spec->state));
	clock_format(t, now, sizeof now);
	if (spec->ttl_seconds > 0)
		clock_format(t + (time_t)spec->ttl_seconds, exp, sizeof exp);
	reasons = spec->reasons ? staging_dump(spec->reasons) : strdup("[]");
	refused = spec->refused ? staging_dump(spec->refused) : strdup("[]");
	if (!reasons || !refused) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_begin(s, err);
	if (rc)
		goto out;
	rc = store_prepare(s,
			   "INSERT INTO batch(principal,surface,workflow,tool,action,"
			   "instruction_version,scope,rationale,policy_digest,state,reasons,refused,"
			   "radius,items,created_at,expires_at,updated_at,decided_by,decided_at,"
			   "instruction_claim)"
			   " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?15,?17,"
			   "CASE WHEN ?17 IS NULL THEN NULL ELSE ?15 END,?18)",
			   &st, err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, spec->principal);
	store_bind_text(st, 2, spec->surface ? spec->surface : "cli");
	store_bind_text(st, 3, spec->workflow);
	store_bind_text(st, 4, spec->tool);
	store_bind_text(st, 5, spec->action ? spec->action : "update");
	store_bind_text(st, 6, spec->instruction_version);
	store_bind_text(st, 7, spec->scope);
	store_bind_text(st, 8, spec->rationale);
	store_bind_text(st, 9, spec->policy_digest);
	store_bind_text(st, 10, staging_state_name(spec->state));
	store_bind_text(st, 11, reasons);
	store_bind_text(st, 12, refused);
	store_bind_int(st, 13, spec->radius);
	store_bind_int(st, 14, (int64_t)json_array_size(items));
	store_bind_text(st, 15, now);
	store_bind_text(st, 16, spec->ttl_seconds > 0 ? exp : NULL);
	store_bind_text(st, 17, spec->state == STAGE_APPROVED ? STAGING_UNATTENDED : NULL);
	store_bind_text(st, 18, spec->instruction_claim);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto rollback;
	rc = store_last_insert_id(s, batch_id, err);
	if (rc)
		goto rollback;
	for (i = 0; i < json_array_size(items);) {
		size_t n = json_array_size(items) - i;

		/* a power of two up to ITEM_ROWS: at most a handful of distinct
		 * statements in the cache, whatever the batch's size */
		n = n >= ITEM_ROWS ? ITEM_ROWS : (size_t)1 << (63 - __builtin_clzll((unsigned long long)n));
		rc = insert_items(s, *batch_id, items, i, n, err);
		if (rc)
			goto rollback;
		i += n;
	}
	rc = store_commit(s, err);
	goto out;
rollback:
	store_rollback(s);
out:
	free(reasons);
	free(refused);
	return rc;
}

/* Reads the current row of a statement into an object: every column by its
 * name, the JSON-valued ones (reasons, refused, sample, changes, before,
 * evidence, moved) parsed. */
static json_t *row_object(struct store_stmt *st)
{
	static const char *const json_cols[] = {"reasons", "refused", "sample", "changes", "before",
						"evidence", "moved", "override", NULL};
	json_t *o = json_object(), *v;
	int i, n = store_col_count(st), j;

	for (i = 0; o && i < n; i++) {
		const char *name = store_col_name(st, i);
		int is_json = 0;

		for (j = 0; json_cols[j]; j++)
			if (!strcmp(name, json_cols[j]))
				is_json = 1;
		switch (store_col_type(st, i)) {
		case 'i': v = json_integer(store_col_int(st, i)); break;
		case 'r': v = json_real(store_col_double(st, i)); break;
		case 't':
			v = is_json ? json_loads(store_col_text(st, i), JSON_DECODE_ANY, NULL)
				    : json_string(store_col_text(st, i));
			break;
		default: v = json_null(); break;
		}
		json_object_set_new(o, name, v ? v : json_null());
	}
	return o;
}

/* A batch written through an upstream (a tool NAME__TOOL, upwrite.h) is
 * stored as an update and read as action "upstream": staging's apply and
 * undo, which write the book, refuse it, and review.c hands it to upwrite. */
#define BATCH_ACTION                                                                             \
	"CASE WHEN action='update' AND tool LIKE '%\\_\\_%' ESCAPE '\\' THEN 'upstream' ELSE "  \
	"action END"
#define BATCH_COLS                                                                               \
	"id,principal,surface,workflow,tool," BATCH_ACTION " AS action,instruction_version,scope,"  \
	"rationale,"                                                                            \
	"policy_digest,state,reasons,refused,radius,items,sample,created_at,expires_at,"          \
	"updated_at,decided_by,decided_at,reject_reason,applied_by,applied_at,undone_by,undone_at," \
	"instruction_claim,override"

int staging_get_header(struct store *s, int64_t batch_id, json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = store_prepare(s, "SELECT " BATCH_COLS " FROM batch WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*out = row_object(st);
		rc = *out ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	} else if (rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_ENOTFOUND, "no batch %lld", (long long)batch_id);
	store_done(st);
	return rc;
}

static int collect_rows(struct store *s, const char *sql, int64_t a, const char *b, int limit,
			json_t **out, struct err *err)
{
	struct store_stmt *st;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	rc = store_prepare(s, sql, &st, err);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	store_bind_int(st, 1, a);
	if (b)
		store_bind_text(st, 2, b);
	store_bind_int(st, 3, limit > 0 ? limit : INT64_MAX); /* no limit, in both engines */
	while ((rc = store_step(st, err)) == STORE_ROW)
		json_array_append_new(arr, row_object(st));
	store_done(st);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* Each item's record version as the book has it now (null when the record
 * is gone), asked of the book: staging keeps no copy of it. */
static int current_versions(struct store *s, json_t *items, struct err *err)
{
	json_t *it;
	size_t i;
	int64_t v;
	int rc;

	json_array_foreach(items, i, it)
	{
		const char *rid = json_string_value(json_object_get(it, "record_id"));

		if (!rid)
			continue;
		rc = book_version(s, BOOK_ACCOUNT, rid, &v, err);
		if (rc)
			return rc;
		json_object_set_new(it, "current_version", v >= 0 ? json_integer(v) : json_null());
	}
	return 0;
}

int staging_get(struct store *s, int64_t batch_id, json_t **out, struct err *err)
{
	json_t *b, *items = NULL;
	int rc;

	rc = staging_get_header(s, batch_id, &b, err);
	if (rc)
		return rc;
	rc = collect_rows(s,
			  "SELECT i.idx,i.record_id,i.changes,i.before,i.version,i.reasons,"
			  "i.evidence,i.state,i.moved,i.verdict,i.verdict_by,i.verdict_note,"
			  "NULL AS current_version FROM batch_item i"
			  " WHERE i.batch_id=?1 ORDER BY i.idx LIMIT ?3",
			  batch_id, NULL, 0, &items, err);
	/* an upstream batch's records are the upstream's, not the book's */
	if (!rc && strcmp(json_string_value(json_object_get(b, "action")) ?: "", "upstream"))
		rc = current_versions(s, items, err);
	if (rc) {
		json_decref(items);
		json_decref(b);
		return rc;
	}
	json_object_set_new(b, "item_list", items);
	rc = staging_seeded_overlay(s, b, err);
	if (rc) {
		json_decref(b);
		return rc;
	}
	*out = b;
	return 0;
}

int staging_queue(struct store *s, json_t **out, struct err *err)
{
	return collect_rows(s,
			    "SELECT " BATCH_COLS " FROM batch WHERE state IN"
			    " ('staged','sampled','blocked','approved') AND ?1=?1"
			    " ORDER BY created_at, id LIMIT ?3",
			    0, NULL, 0, out, err);
}

int staging_list_by_principal(struct store *s, const char *principal, int limit, json_t **out,
			      struct err *err)
{
	return collect_rows(s,
			    "SELECT " BATCH_COLS " FROM batch WHERE principal=?2 AND ?1=?1"
			    " ORDER BY id DESC LIMIT ?3",
			    0, principal, limit, out, err);
}

int staging_pending_count(struct store *s, const char *principal, int64_t *out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = 0;
	rc = store_prepare(s,
			   "SELECT count(*) FROM batch WHERE principal=?1 AND state IN"
			   " ('staged','sampled','blocked')",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, principal);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*out = store_col_int(st, 0);
		rc = 0;
	}
	store_done(st);
	return rc;
}

/* Waiting batches past their time-to-live. */
#define EXPIRED_SQL                                                                               \
	"SELECT id FROM batch WHERE state IN ('staged','sampled','blocked','approved')"           \
	" AND expires_at IS NOT NULL AND expires_at<=?1"

int staging_expire(struct store *s, int64_t *n, struct err *err)
{
	char now[CLOCK_TEXT_LEN];
	json_t *ids = json_array(), *v;
	struct store_stmt *st;
	size_t i;
	int rc;

	if (n)
		*n = 0;
	clock_format(clock_now(), now, sizeof now);
	/* Every verb and batch_status sweeps first; most times nothing is due,
	 * and a read must not take the write lock to learn that. */
	if (!store_in_transaction(s)) {
		rc = store_prepare(s, EXPIRED_SQL " LIMIT 1", &st, err);
		if (rc)
			goto out;
		store_bind_text(st, 1, now);
		rc = store_step(st, err);
		store_done(st);
		if (rc <= 0)
			goto out; /* nothing due (STORE_DONE is 0), or an error */
	}
	rc = store_begin(s, err);
	if (rc)
		goto out;
	rc = store_prepare(s, EXPIRED_SQL, &st, err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, now);
	while ((rc = store_step(st, err)) == STORE_ROW)
		json_array_append_new(ids, json_integer(store_col_int(st, 0)));
	store_done(st);
	if (rc != STORE_DONE)
		goto rollback;
	json_array_foreach(ids, i, v)
	{
		/* the row is checked again as it is updated: an upstream apply
		 * that began meanwhile cleared its expiry
		 * (staging_external_begin), and it is not cut off */
		rc = store_prepare(s,
				   "UPDATE batch SET state='expired',updated_at=?2 WHERE id=?1 AND"
				   " state IN ('staged','sampled','blocked','approved') AND"
				   " expires_at IS NOT NULL AND expires_at<=?2",
				   &st, err);
		if (rc)
			goto rollback;
		store_bind_int(st, 1, json_integer_value(v));
		store_bind_text(st, 2, now);
		rc = store_step(st, err);
		store_done(st);
		if (rc != STORE_DONE)
			goto rollback;
		if (store_changes(s) != 1) {
			json_array_remove(ids, i--);
			continue;
		}
		rc = radius_release(s, json_integer_value(v), err);
		if (rc)
			goto rollback;
		rc = staging_log_verb(s, "system:airlock", "airlock", "expire", json_integer_value(v),
			      "expired", NULL, "the batch waited past its time-to-live", err);
		if (rc)
			goto rollback;
	}
	if (n)
		*n = (int64_t)json_array_size(ids);
	rc = store_commit(s, err);
	goto out;
rollback:
	store_rollback(s);
out:
	json_decref(ids);
	return rc;
}


int staging_load_head(struct store *s, int64_t id, struct staging_head *h, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s,
			   "SELECT state,principal,workflow," BATCH_ACTION ",expires_at,decided_by"
			   " FROM batch WHERE id=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		staging_state_parse(store_col_text(st, 0), &h->state);
		/* a cut principal could pass for another in the separation-of-duties
		 * check: a value that does not fit is an error, never shortened */
		rc = fmt_buf(h->principal, sizeof h->principal, err, "batch principal", "%s",
			     store_col_text(st, 1)) ||
			     fmt_buf(h->workflow, sizeof h->workflow, err, "batch workflow", "%s",
				     store_col_text(st, 2)) ||
			     fmt_buf(h->action, sizeof h->action, err, "batch action", "%s",
				     store_col_text(st, 3)) ||
			     fmt_buf(h->expires_at, sizeof h->expires_at, err, "batch expiry", "%s",
				     store_col_is_null(st, 4) ? "" : store_col_text(st, 4)) ||
			     fmt_buf(h->decided_by, sizeof h->decided_by, err, "batch decided_by",
				     "%s", store_col_is_null(st, 5) ? "" : store_col_text(st, 5))
			 ? AIRLOCK_ECORRUPT
			 : 0;
		if (rc)
			err_prefix(err, "batch %lld", (long long)id);
	} else if (rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_ENOTFOUND, "no batch %lld", (long long)id);
	store_done(st);
	return rc;
}

/* Separation of duties: only a person acts on a batch, and never the person
 * who proposed it when the verb is a judgement (approve, judge). */
int staging_check_human(const struct staging_head *h, int64_t id, const char *principal, int judgement,
		       struct err *err)
{
	if (!is_human(principal))
		return err_set(err, AIRLOCK_EDENIED,
			       "%s may not act on batch %lld: only a person (human:NAME) can", principal ? principal : "(nobody)",
			       (long long)id);
	if (judgement && strcmp(principal, h->principal) == 0)
		return err_set(err, AIRLOCK_EDENIED,
			       "%s proposed batch %lld and so may not judge or approve it: another"
			       " person must",
			       principal, (long long)id);
	return 0;
}

int staging_check_transition(const struct staging_head *h, int64_t id, enum staging_state to,
			    struct err *err)
{
	char now[CLOCK_TEXT_LEN];

	clock_format(clock_now(), now, sizeof now);
	if (h->expires_at[0] && strcmp(h->expires_at, now) <= 0 &&
	    staging_transition_ok(h->state, STAGE_EXPIRED))
		return err_set(err, AIRLOCK_ESTATE,
			       "batch %lld expired at %s: nothing of it can be applied any more",
			       (long long)id, h->expires_at);
	if (!staging_transition_ok(h->state, to))
		return err_set(err, AIRLOCK_ESTATE, "batch %lld is %s: it cannot become %s",
			       (long long)id, staging_state_name(h->state), staging_state_name(to));
	return 0;
}

int staging_set_state(struct store *s, int64_t id, enum staging_state from, enum staging_state to,
		     const char *who_col, const char *at_col, const char *principal,
		     struct err *err)
{
	char sql[256], now[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc;

	clock_format(clock_now(), now, sizeof now);
	if (who_col)
		(void)snprintf(
		    sql, sizeof sql,
		    "UPDATE batch SET state=?3,updated_at=?4,%s=?5,%s=?4 WHERE id=?1 AND state=?2",
		    who_col, at_col);
	else
		(void)snprintf(sql, sizeof sql,
			       "UPDATE batch SET state=?3,updated_at=?4 WHERE id=?1 AND state=?2");
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, id);
	store_bind_text(st, 2, staging_state_name(from));
	store_bind_text(st, 3, staging_state_name(to));
	store_bind_text(st, 4, now);
	if (who_col)
		store_bind_text(st, 5, principal);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	if (store_changes(s) != 1)
		return err_set(err, AIRLOCK_ECONFLICT, "batch %lld changed state meanwhile",
			       (long long)id);
	/* a person decided (or a sample passed): the batch releases exactly its
	 * own records from the agent's running total, in this transaction */
	if (staging_state_waits(from) && !staging_state_waits(to))
		return radius_release(s, id, err);
	return 0;
}

/* What a plain approve of a batch in state `state` would skip; buf stays
 * empty when nothing (a batch the policy blocked, never sampled). */
static int sample_gap(struct store *s, int64_t batch_id, enum staging_state state, char *buf,
		      size_t len, struct err *err)
{
	struct store_stmt *st;
	struct staging_seeded check;
	int64_t drawn = 0, judged = 0, failed = 0;
	int sampled = 0, rc;

	buf[0] = '\0';
	if (state != STAGE_STAGED && state != STAGE_SAMPLED && state != STAGE_BLOCKED)
		return 0;
	rc = store_prepare(s,
			   "SELECT (SELECT sample IS NOT NULL FROM batch WHERE id=?1),"
			   " coalesce(sum(sampled),0),"
			   " coalesce(sum(CASE WHEN sampled=1 AND verdict IS NOT NULL THEN 1 ELSE 0"
			   " END),0), coalesce(sum(CASE WHEN verdict='fail' THEN 1 ELSE 0 END),0)"
			   " FROM batch_item WHERE batch_id=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		sampled = (int)store_col_int(st, 0);
		drawn = store_col_int(st, 1);
		judged = store_col_int(st, 2);
		failed = store_col_int(st, 3);
		rc = 0;
	}
	store_done(st);
	if (rc)
		return rc;
	rc = staging_seeded_load(s, batch_id, &check, NULL, err);
	if (rc)
		return rc;
	/* the check is one of the drawn items as far as anyone can tell */
	drawn += check.present;
	judged += check.judged;
	if (state == STAGE_BLOCKED && check.missed && !failed)
		return 0; /* blocked for a second reviewer: their approval is the decision */
	if (state == STAGE_STAGED)
		(void)snprintf(buf, len, "batch %lld was never sampled: no item of it was read",
			       (long long)batch_id);
	else if (state == STAGE_SAMPLED)
		(void)snprintf(
		    buf, len,
		    "the sample audit of batch %lld is unfinished: %lld of %lld drawn item(s)"
		    " judged",
		    (long long)batch_id, (long long)judged, (long long)drawn);
	else if (sampled || failed)
		(void)snprintf(
		    buf, len,
		    "the sample audit of batch %lld failed: %lld of %lld drawn item(s) judged"
		    " wrong",
		    (long long)batch_id, (long long)failed, (long long)drawn);
	return 0;
}

int staging_sample_gap(struct store *s, int64_t batch_id, char *buf, size_t len,
		       struct err *err)
{
	struct staging_head h;
	int rc;

	buf[0] = '\0';
	rc = staging_load_head(s, batch_id, &h, err);
	return rc ? rc : sample_gap(s, batch_id, h.state, buf, len, err);
}

/* Records an override on the batch row: why the person approved past the
 * sample, and what was skipped. */
static int record_override(struct store *s, int64_t batch_id, json_t *override, struct err *err)
{
	struct store_stmt *st;
	char *txt = staging_dump(override);
	int rc;

	if (!txt)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = store_prepare(s, "UPDATE batch SET override=?2 WHERE id=?1", &st, err);
	if (!rc) {
		store_bind_int(st, 1, batch_id);
		store_bind_text(st, 2, txt);
		rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
		store_done(st);
	}
	free(txt);
	return rc;
}

/* Plain (reason NULL) or override approve: one transaction with its log
 * entry. A plain approve refuses a batch whose sample was never drawn, is
 * unfinished or failed; an override refuses one that has nothing to
 * override, so the record always means what it says. */
static int approve(struct store *s, int64_t batch_id, const char *principal, const char *surface,
		   const char *reason, struct err *err)
{
	struct staging_head h;
	struct staging_seeded check;
	char gap[200], summary[STAGING_OVERRIDE_REASON_MAX + 300];
	json_t *override = NULL;
	int rc;

	if (reason && (!*reason || strlen(reason) > STAGING_OVERRIDE_REASON_MAX))
		return err_set(err, AIRLOCK_EINVAL,
			       "an override needs a reason of 1 to %d bytes: what the person"
			       " relied on instead of the sample",
			       STAGING_OVERRIDE_REASON_MAX);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = staging_load_head(s, batch_id, &h, err);
	if (!rc)
		rc = staging_check_human(&h, batch_id, principal, 1, err);
	if (!rc)
		rc = staging_check_transition(&h, batch_id, STAGE_APPROVED, err);
	if (!rc)
		rc = staging_seeded_load(s, batch_id, &check, NULL, err);
	if (!rc && check.missed && !strcmp(check.verdict_by, principal))
		rc = err_set(err, AIRLOCK_EDENIED,
			     "batch %lld: you passed the seeded check in its sample (a wrong item"
			     " planted to test attention), so a second reviewer decides it",
			     (long long)batch_id);
	if (!rc)
		rc = sample_gap(s, batch_id, h.state, gap, sizeof gap, err);
	if (!rc && !reason && gap[0])
		rc = err_set(err, AIRLOCK_ESTATE,
			     "%s; approving it anyway is an override and needs a reason", gap);
	if (!rc && reason && !gap[0])
		rc = err_set(err, AIRLOCK_EINVAL,
			     "batch %lld has no unfinished sample to override: approve it plainly",
			     (long long)batch_id);
	if (!rc)
		rc = staging_set_state(s, batch_id, h.state, STAGE_APPROVED, "decided_by", "decided_at",
			       principal, err);
	if (!rc && reason) {
		override = json_pack("{s:s,s:s,s:b}", "reason", reason, "skipped", gap, "override", 1);
		rc = override ? record_override(s, batch_id, override, err)
			      : err_set(err, AIRLOCK_ENOMEM, "out of memory");
		(void)snprintf(summary, sizeof summary,
			       "OVERRIDE: approved past the sample (%s): %s", gap, reason);
	}
	if (!rc)
		rc = staging_log_verb(s, principal, surface, "approve", batch_id,
				      reason ? "override" : "approved", override,
				      reason ? summary : "approved by a person", err);
	json_decref(override);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

int staging_approve(struct store *s, int64_t batch_id, const char *principal,
		    const char *surface, struct err *err)
{
	return approve(s, batch_id, principal, surface, NULL, err);
}

int staging_approve_override(struct store *s, int64_t batch_id, const char *principal,
			     const char *surface, const char *reason, struct err *err)
{
	return approve(s, batch_id, principal, surface, reason ? reason : "", err);
}

int staging_reject(struct store *s, int64_t batch_id, const char *principal,
		   const char *surface, const char *reason, struct err *err)
{
	struct store_stmt *st;
	struct staging_head h;
	json_t *args;
	int rc;

	if (!reason || !*reason)
		return err_set(err, AIRLOCK_EINVAL, "a rejection needs a reason");
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = staging_load_head(s, batch_id, &h, err);
	if (!rc)
		rc = staging_check_human(&h, batch_id, principal, 0, err);
	if (!rc && !staging_transition_ok(h.state, STAGE_REJECTED))
		rc = err_set(err, AIRLOCK_ESTATE, "batch %lld is %s: it cannot become rejected",
			     (long long)batch_id, staging_state_name(h.state));
	if (!rc)
		rc = staging_set_state(s, batch_id, h.state, STAGE_REJECTED, "decided_by", "decided_at",
			       principal, err);
	if (!rc) {
		rc = store_prepare(s, "UPDATE batch SET reject_reason=?2 WHERE id=?1", &st, err);
		if (!rc) {
			store_bind_int(st, 1, batch_id);
			store_bind_text(st, 2, reason);
			rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
			store_done(st);
		}
	}
	if (!rc) {
		args = json_pack("{s:s}", "reason", reason);
		rc = staging_log_verb(s, principal, surface, "reject", batch_id, "rejected", args, reason,
			      err);
		json_decref(args);
	}
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

int staging_mark_sampled(struct store *s, int64_t batch_id, const char *principal,
			 const char *surface, json_t *sample, struct err *err)
{
	struct store_stmt *st;
	struct staging_head h;
	char *txt = NULL;
	int rc;

	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = staging_load_head(s, batch_id, &h, err);
	if (!rc)
		rc = staging_check_human(&h, batch_id, principal, 1, err);
	if (!rc)
		rc = staging_check_transition(&h, batch_id, STAGE_SAMPLED, err);
	if (!rc)
		rc = staging_set_state(s, batch_id, STAGE_STAGED, STAGE_SAMPLED, NULL, NULL, NULL, err);
	if (!rc) {
		txt = staging_dump(sample);
		rc = store_prepare(s, "UPDATE batch SET sample=?2 WHERE id=?1", &st, err);
		if (!rc) {
			store_bind_int(st, 1, batch_id);
			store_bind_text(st, 2, txt);
			rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
			store_done(st);
		}
	}
	if (!rc) {
		json_t *items = json_object_get(sample, "items"), *v;
		size_t i;

		json_array_foreach(items, i, v)
		{
			rc = store_prepare(s,
					   "UPDATE batch_item SET sampled=1 WHERE batch_id=?1 AND idx=?2",
					   &st, err);
			if (rc)
				break;
			store_bind_int(st, 1, batch_id);
			store_bind_int(st, 2, json_integer_value(v));
			rc = store_step(st, err);
			store_done(st);
			if (rc != STORE_DONE)
				break;
			rc = store_changes(s) == 1
				     ? 0
				     : err_set(err, AIRLOCK_EINVAL, "batch %lld has no item %lld",
					       (long long)batch_id, (long long)json_integer_value(v));
			if (rc)
				break;
		}
		if (!rc && json_array_size(items) == 0)
			rc = err_set(err, AIRLOCK_EINVAL, "a sample needs at least one item");
	}
	if (!rc)
		rc = staging_log_verb(s, principal, surface, "sample", batch_id, "sampled", sample,
			      "sample drawn", err);
	free(txt);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

/* How many drawn items still lack a verdict, how many failed and passed. */
static int sample_progress(struct store *s, int64_t batch_id, int64_t *open, int64_t *failed,
			   int64_t *passed, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s,
			   "SELECT coalesce(sum(CASE WHEN sampled=1 AND verdict IS NULL THEN 1 ELSE 0"
			   " END),0), coalesce(sum(CASE WHEN verdict='fail' THEN 1 ELSE 0 END),0),"
			   " coalesce(sum(CASE WHEN verdict='pass' THEN 1 ELSE 0 END),0)"
			   " FROM batch_item WHERE batch_id=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*open = store_col_int(st, 0);
		*failed = store_col_int(st, 1);
		*passed = store_col_int(st, 2);
		rc = 0;
	}
	store_done(st);
	return rc;
}

int staging_judge(struct store *s, int64_t batch_id, int64_t item, const char *principal,
		  const char *surface, int pass, const char *note, json_t **result,
		  struct err *err)
{
	struct store_stmt *st;
	struct staging_head h;
	struct staging_seeded check;
	int64_t open = 0, failed = 0, passed = 0;
	enum staging_state to;
	json_t *args, *citem = NULL, *revealed = NULL;
	int rc, on_check = 0;

	*result = NULL;
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = staging_load_head(s, batch_id, &h, err);
	if (!rc)
		rc = staging_check_human(&h, batch_id, principal, 1, err);
	if (!rc && h.state != STAGE_SAMPLED)
		rc = err_set(err, AIRLOCK_ESTATE,
			     "batch %lld is %s: items are judged after a sample is drawn",
			     (long long)batch_id, staging_state_name(h.state));
	if (!rc)
		rc = staging_seeded_load(s, batch_id, &check, &citem, err);
	if (rc)
		goto rollback;
	/* the slot of an unjudged check shows the check: the verdict is on it */
	on_check = check.present && !check.judged && item == check.slot;
	if (on_check) {
		rc = staging_seeded_verdict(s, batch_id, principal, pass, note, err);
		if (rc)
			goto rollback;
		check.judged = 1;
		check.missed = pass;
		(void)snprintf(check.verdict_by, sizeof check.verdict_by, "%s", principal);
	} else {
		rc = store_prepare(s,
				   "UPDATE batch_item SET verdict=?3,verdict_by=?4,verdict_note=?5"
				   " WHERE batch_id=?1 AND idx=?2",
				   &st, err);
		if (rc)
			goto rollback;
		store_bind_int(st, 1, batch_id);
		store_bind_int(st, 2, item);
		store_bind_text(st, 3, pass ? "pass" : "fail");
		store_bind_text(st, 4, principal);
		store_bind_text(st, 5, note);
		rc = store_step(st, err);
		store_done(st);
		if (rc != STORE_DONE)
			goto rollback;
		if (store_changes(s) != 1) {
			rc = err_set(err, AIRLOCK_ENOTFOUND, "batch %lld has no item %lld",
				     (long long)batch_id, (long long)item);
			goto rollback;
		}
	}
	rc = sample_progress(s, batch_id, &open, &failed, &passed, err);
	if (rc)
		goto rollback;
	/* a fail on a real item blocks at once; the sample is finished only
	 * when the check is judged too, and a missed check blocks the batch
	 * for a second reviewer instead of approving it */
	to = STAGE_SAMPLED;
	if (failed > 0)
		to = STAGE_BLOCKED;
	else if (open == 0 && !(check.present && !check.judged))
		to = check.missed ? STAGE_BLOCKED : STAGE_APPROVED;
	if (to != STAGE_SAMPLED) {
		rc = staging_set_state(s, batch_id, STAGE_SAMPLED, to, "decided_by", "decided_at", principal,
			       err);
		if (rc)
			goto rollback;
	}
	args = json_pack("{s:I,s:s,s:s?}", "item", (json_int_t)item, "verdict",
			 pass ? "pass" : "fail", "note", note);
	rc = staging_log_verb(s, principal, surface, "judge", batch_id, staging_state_name(to), args,
		      to == STAGE_BLOCKED && failed > 0
			      ? "a sampled item failed: the whole batch goes back to a person"
		      : to == STAGE_BLOCKED ? "a seeded check was passed: a second reviewer decides the"
					      " batch"
		      : to == STAGE_APPROVED ? "every sampled item passed: the batch may be applied"
		      : on_check && pass     ? "verdict recorded; a seeded check was passed"
		      : on_check	     ? "verdict recorded; a seeded check was caught"
					     : "verdict recorded",
		      err);
	json_decref(args);
	if (rc)
		goto rollback;
	rc = store_commit(s, err);
	if (!rc)
		*result = json_pack("{s:s,s:I,s:I,s:I}", "state", staging_state_name(to), "unjudged",
				    (json_int_t)(open + (check.present && !check.judged)), "passed",
				    (json_int_t)passed, "failed", (json_int_t)failed);
	if (!rc && on_check) {
		revealed = staging_seeded_reveal(&check, citem);
		if (!*result || !revealed || json_object_set_new(*result, "seeded_check", revealed))
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (!rc && check.missed)
		json_object_set_new(*result, "check_missed", json_true());
	json_decref(citem);
	return rc;
rollback:
	store_rollback(s);
	json_decref(citem);
	return rc;
}

int staging_scan_batches(struct store *s, const char *from, const char *to,
			 int (*fn)(const struct staging_batch_row *row, void *ctx, struct err *err),
			 void *ctx, struct err *err)
{
	struct staging_batch_row r;
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s,
			   "SELECT created_at, principal, instruction_version, policy_digest, refused,"
			   " items FROM batch WHERE created_at >= ?1 AND created_at < ?2",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, from);
	store_bind_text(st, 2, to);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		r.created_at = store_col_text(st, 0);
		r.principal = store_col_text(st, 1);
		r.instruction_version = store_col_text(st, 2);
		r.policy_digest = store_col_text(st, 3);
		r.refused = store_col_text(st, 4);
		r.items = store_col_int(st, 5);
		rc = fn(&r, ctx, err);
		if (rc)
			break;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

int staging_scan_items(struct store *s, const char *from, const char *to,
		       int (*fn)(const struct staging_item_row *row, void *ctx, struct err *err),
		       void *ctx, struct err *err)
{
	struct staging_item_row r;
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s,
			   "SELECT b.created_at, b.workflow, i.changes, i.evidence, i.verdict"
			   " FROM batch b JOIN batch_item i ON i.batch_id = b.id"
			   " WHERE b.created_at >= ?1 AND b.created_at < ?2",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, from);
	store_bind_text(st, 2, to);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		r.created_at = store_col_text(st, 0);
		r.workflow = store_col_text(st, 1);
		r.changes = store_col_text(st, 2);
		r.evidence = store_col_text(st, 3);
		r.verdict = store_col_text(st, 4);
		rc = fn(&r, ctx, err);
		if (rc)
			break;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}
