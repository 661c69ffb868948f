/* staging_apply.c — apply and undo: one transaction each, optimistic
 * concurrency on record versions, before-images restored exactly. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

#include "staging_int.h"

/* Binds a JSON value by its own type (the gate normalised it at staging). */
static void bind_json(struct store_stmt *st, int idx, json_t *v)
{
	char *txt;

	if (!v || json_is_null(v))
		store_bind_null(st, idx);
	else if (json_is_integer(v))
		store_bind_int(st, idx, json_integer_value(v));
	else if (json_is_real(v))
		store_bind_double(st, idx, json_real_value(v));
	else if (json_is_boolean(v))
		store_bind_int(st, idx, json_is_true(v));
	else if (json_is_string(v))
		store_bind_text(st, idx, json_string_value(v));
	else {
		txt = staging_dump(v);
		store_bind_text(st, idx, txt);
		free(txt);
	}
}

/* Sets `values` (built-in column → value; "custom" → whole object) on one
 * account: version bumped by one; when expect ≥ 0 only if the version is
 * still expect. *hit is 1 when the row was changed. Column names come from
 * the batch's own changes, which the gate checked against the field
 * catalogue; they are checked again here so a tampered batch row cannot
 * inject SQL. */
static int set_account(struct store *s, const char *id, json_t *values, int64_t expect,
		       int *hit, struct err *err)
{
	char sql[1024], now[CLOCK_TEXT_LEN];
	size_t used;
	const char *key;
	json_t *v;
	struct store_stmt *st;
	int p = 4, rc;

	used = (size_t)snprintf(sql, sizeof sql, "UPDATE account SET ");
	json_object_foreach(values, key, v)
	{
		const char *k = key;

		for (; *k; k++)
			if (!((*k >= 'a' && *k <= 'z') || *k == '_'))
				return err_set(err, AIRLOCK_ECORRUPT, "bad field name in batch: %s",
					       key);
		if (used + strlen(key) + 16 >= sizeof sql)
			return err_set(err, AIRLOCK_EINVAL, "too many fields in one item");
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s=?%d,", key, p++);
	}
	(void)snprintf(sql + used, sizeof sql - used,
		       "version=version+1,updated_at=?2 WHERE id=?1%s",
		       expect >= 0 ? " AND version=?3" : "");
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	clock_format(clock_now(), now, sizeof now);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, now);
	if (expect >= 0)
		store_bind_int(st, 3, expect);
	p = 4;
	json_object_foreach(values, key, v) bind_json(st, p++, v);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	*hit = store_changes(s) == 1;
	return 0;
}

static int read_custom(struct store *s, const char *id, json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = store_prepare(s, "SELECT custom FROM account WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*out = json_loads(store_col_text(st, 0), 0, NULL);
		if (!*out)
			*out = json_object();
		rc = 0;
	} else if (rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_ENOTFOUND, "no account '%s'", id);
	store_done(st);
	return rc;
}

/* Re-points the contacts and signals of one account to another; *moved
 * gets the ids moved ({"contacts": [...], "signals": [...]}), or when
 * `only` is given, only those ids are moved back. */
static int move_children(struct store *s, const char *from, const char *to, json_t *only,
			 json_t **moved, struct err *err)
{
	static const char *const tables[] = {"contact", "signal"};
	static const char *const keys[] = {"contacts", "signals"};
	char sql[256], now[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	json_t *ids, *v;
	size_t i;
	int t, rc = 0;

	clock_format(clock_now(), now, sizeof now);
	if (moved)
		*moved = json_object();
	for (t = 0; t < 2; t++) {
		if (only) {
			ids = json_incref(json_object_get(only, keys[t]));
		} else {
			ids = json_array();
			(void)snprintf(sql, sizeof sql,
				       "SELECT id FROM %s WHERE account_id=?1 ORDER BY id",
				       tables[t]);
			rc = store_prepare(s, sql, &st, err);
			if (rc)
				return rc;
			store_bind_text(st, 1, from);
			while ((rc = store_step(st, err)) == STORE_ROW)
				json_array_append_new(ids, json_string(store_col_text(st, 0)));
			store_done(st);
			if (rc != STORE_DONE) {
				json_decref(ids);
				return rc;
			}
			rc = 0;
		}
		(void)snprintf(
		    sql, sizeof sql,
		    "UPDATE %s SET account_id=?2,version=version+1,updated_at=?3 WHERE id=?1",
		    tables[t]);
		json_array_foreach(ids, i, v)
		{
			rc = store_prepare(s, sql, &st, err);
			if (rc)
				break;
			store_bind_text(st, 1, json_string_value(v));
			store_bind_text(st, 2, to);
			store_bind_text(st, 3, now);
			rc = store_step(st, err);
			store_done(st);
			if (rc != STORE_DONE)
				break;
			rc = 0;
		}
		if (moved && *moved)
			json_object_set_new(*moved, keys[t], ids ? json_incref(ids) : json_array());
		json_decref(ids);
		if (rc)
			return rc;
	}
	return 0;
}

/* Applies one item's changes; *hit 0 means the record's version moved. */
static int apply_item(struct store *s, int64_t batch_id, int64_t idx, const char *record_id,
		      json_t *changes, int64_t version, int merge, int *hit, struct err *err)
{
	json_t *values = json_object(), *custom = NULL, *v, *moved = NULL;
	const char *key;
	struct store_stmt *st;
	char *txt;
	int rc = 0, oom = !values;

	/* a value lost to a failed allocation would apply part of the item
	 * (or empty its custom fields) and still count it as applied */
	json_object_foreach(changes, key, v)
	{
		if (!strncmp(key, "custom.", 7)) {
			if (!custom) {
				rc = read_custom(s, record_id, &custom, err);
				if (rc)
					goto out;
				if (json_object_set(values, "custom", custom))
					oom = 1;
			}
			if (json_object_set(custom, key + 7, v))
				oom = 1;
		} else if (json_object_set(values, key, v))
			oom = 1;
	}
	if (custom) {
		txt = staging_dump(custom);
		if (!txt || json_object_set_new(values, "custom", json_string(txt)))
			oom = 1;
		free(txt);
	}
	if (oom) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = set_account(s, record_id, values, version, hit, err);
	if (rc || !*hit || !merge)
		goto out;
	rc = move_children(s, record_id, json_string_value(json_object_get(changes, "merged_into")),
			   NULL, &moved, err);
	if (rc)
		goto out;
	txt = staging_dump(moved);
	rc = store_prepare(s, "UPDATE batch_item SET moved=?3 WHERE batch_id=?1 AND idx=?2", &st, err);
	if (!rc) {
		store_bind_int(st, 1, batch_id);
		store_bind_int(st, 2, idx);
		store_bind_text(st, 3, txt);
		rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
		store_done(st);
	}
	free(txt);
out:
	json_decref(values);
	json_decref(custom);
	json_decref(moved);
	return rc;
}

/* Writes a conflict's reason. Reasons quote record ids, so a long id may
 * cut one short; the conflict's rule, written apart, still says what it is. */
static void merge_reason(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void merge_reason(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Where one account stands now: *exists 0 when there is no such account;
 * into gets its merged_into ("" while it is live). */
static int account_fate(struct store *s, const char *id, int *exists, char *into, size_t len,
			struct err *err)
{
	struct store_stmt *st;
	int rc;

	*exists = 0;
	into[0] = '\0';
	rc = store_prepare(s, "SELECT merged_into FROM account WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*exists = 1;
		rc = store_col_is_null(st, 0)
			 ? 0
			 : fmt_buf(into, len, err, "merged_into id", "%s", store_col_text(st, 0));
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* One account merged into `id`, if any (into gets its id, "" if none). */
static int merged_here(struct store *s, const char *id, char *into, size_t len, struct err *err)
{
	struct store_stmt *st;
	int rc;

	into[0] = '\0';
	rc = store_prepare(s, "SELECT id FROM account WHERE merged_into=?1 LIMIT 1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		rc = fmt_buf(into, len, err, "merged account id", "%s", store_col_text(st, 0));
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* The longest merged_into chain followed before calling it a loop: a
 * healthy book has chains of length 0 or 1 (I8), so this only bounds a
 * corrupt one. */
#define MERGE_CHAIN_MAX 64

/* Follows merged_into from `from`: *reaches is 1 when the walk meets
 * `target` (a merge of target into from would close a cycle) or loops. */
static int merge_chain_reaches(struct store *s, const char *from, const char *target,
			       int *reaches, struct err *err)
{
	char cur[256], next[256];
	int hops, exists, rc;

	*reaches = 0;
	rc = fmt_buf(cur, sizeof cur, err, "account id", "%s", from);
	if (rc)
		return rc;
	for (hops = 0; hops < MERGE_CHAIN_MAX; hops++) {
		rc = account_fate(s, cur, &exists, next, sizeof next, err);
		if (rc)
			return rc;
		if (!exists || !next[0])
			return 0;
		if (!strcmp(next, target)) {
			*reaches = 1;
			return 0;
		}
		memcpy(cur, next, sizeof cur); /* same size, NUL-terminated */
	}
	*reaches = 1;
	return 0;
}

/* Re-checks one merge item against the book as it is at apply time: what
 * the gate checked at staging is stale once other merges were applied
 * (A→B then B→A; Y→Z then X→Y). rule/why stay empty when the merge may go
 * ahead; otherwise they name the conflict. */
static int merge_recheck(struct store *s, const char *source, const char *survivor, char *rule,
			 size_t rlen, char *why, size_t wlen, struct err *err)
{
	char into[256];
	int exists, loops, rc;

	rule[0] = why[0] = '\0';
	if (!survivor || !*survivor || !strcmp(source, survivor)) {
		(void)snprintf(rule, rlen, "self_merge");
		merge_reason(why, wlen, "'%s' cannot be merged into itself", source);
		return 0;
	}
	rc = merge_chain_reaches(s, survivor, source, &loops, err);
	if (rc)
		return rc;
	if (loops) {
		(void)snprintf(rule, rlen, "merge_cycle");
		merge_reason(why, wlen,
			 "merging '%s' into '%s' would close a cycle: '%s' was merged (directly or"
			 " through others) into '%s'",
			 source, survivor, survivor, source);
		return 0;
	}
	rc = account_fate(s, survivor, &exists, into, sizeof into, err);
	if (rc)
		return rc;
	if (!exists || into[0]) {
		(void)snprintf(rule, rlen, !exists ? "survivor_missing" : "survivor_merged");
		if (exists)
			merge_reason(why, wlen, "survivor '%s' was merged into '%s' since: '%s' would be"
				 " merged into a merged account", survivor, into, source);
		else
			merge_reason(why, wlen, "survivor '%s' no longer exists", survivor);
		return 0;
	}
	rc = account_fate(s, source, &exists, into, sizeof into, err);
	if (rc)
		return rc;
	if (exists && into[0]) {
		(void)snprintf(rule, rlen, "source_merged");
		merge_reason(why, wlen, "'%s' was already merged into '%s'", source, into);
		return 0;
	}
	/* X→Y applied, then Y→Z: X would be left merged into a merged account.
	 * Re-pointing X would alter a record the batch does not list, so the
	 * merge is refused instead; undo X→Y first, or merge X and Y into Z in
	 * one batch. */
	rc = merged_here(s, source, into, sizeof into, err);
	if (rc)
		return rc;
	if (into[0]) {
		(void)snprintf(rule, rlen, "source_has_merged");
		merge_reason(why, wlen,
			 "'%s' was merged into '%s' since: '%s' would be left merged into a merged"
			 " account",
			 into, source, into);
	}
	return 0;
}

/* Notes one item whose record no longer has the expected version, with the
 * version it has now (null when the record is gone); a merge that the book
 * no longer allows also carries its rule and reason. Conflicts are rare, so
 * the extra read happens only for them. */
static int note_conflict(struct store *s, json_t *conflicts, int64_t idx, const char *record_id,
			 int64_t expected, const char *rule, const char *why, struct err *err)
{
	struct store_stmt *st;
	json_t *c;
	int rc;

	c = json_pack("{s:I,s:s,s:I}", "item", (json_int_t)idx, "record_id", record_id,
		      "expected_version", (json_int_t)expected);
	if (rule && *rule) {
		json_object_set_new(c, "rule", json_string(rule));
		json_object_set_new(c, "reason", json_string(why));
	}
	rc = store_prepare(s, "SELECT version FROM account WHERE id=?1", &st, err);
	if (rc) {
		json_decref(c);
		return rc;
	}
	store_bind_text(st, 1, record_id);
	rc = store_step(st, err);
	json_object_set_new(c, "current_version",
			    rc == STORE_ROW ? json_integer(store_col_int(st, 0)) : json_null());
	store_done(st);
	json_array_append_new(conflicts, c);
	return rc < 0 ? rc : 0;
}

static int mark_items(struct store *s, int64_t batch_id, json_t *conflicts, const char *state,
		      struct err *err)
{
	struct store_stmt *st;
	size_t i;
	json_t *c;
	int rc = 0;

	json_array_foreach(conflicts, i, c)
	{
		rc = store_prepare(s, "UPDATE batch_item SET state=?3 WHERE batch_id=?1 AND idx=?2",
				   &st, err);
		if (rc)
			return rc;
		store_bind_int(st, 1, batch_id);
		store_bind_int(st, 2, json_integer_value(json_object_get(c, "item")));
		store_bind_text(st, 3, state);
		rc = store_step(st, err);
		store_done(st);
		if (rc != STORE_DONE)
			return rc;
		rc = 0;
	}
	return rc;
}

static int do_apply(struct store *s, int64_t batch_id, const char *principal, const char *surface,
		    int skip_conflicts, int unattended, json_t **report, struct err *err);

int staging_apply(struct store *s, int64_t batch_id, const char *principal, const char *surface,
		  int skip_conflicts, json_t **report, struct err *err)
{
	return do_apply(s, batch_id, principal, surface, skip_conflicts, 0, report, err);
}

int staging_apply_unattended(struct store *s, int64_t batch_id, json_t **report, struct err *err)
{
	return do_apply(s, batch_id, STAGING_UNATTENDED, "policy", 0, 1, report, err);
}

/* Applies an approved batch in one pass: each item's UPDATE is guarded by
 * the version it was staged at, so a record changed since then simply does
 * not match and is noted as a conflict. With conflicts and no
 * skip_conflicts the whole transaction rolls back. unattended skips the
 * person check: only for a batch the policy itself let through. */
static int do_apply(struct store *s, int64_t batch_id, const char *principal, const char *surface,
		    int skip_conflicts, int unattended, json_t **report, struct err *err)
{
	struct store_stmt *st = NULL;
	json_t *conflicts = json_array(), *changes, *args;
	struct staging_head h;
	int64_t applied = 0;
	char summary[160], rule[32], why[600], first_why[600] = "";
	int rc, hit, merge;

	if (report)
		*report = NULL;
	rc = store_begin(s, err);
	if (rc)
		goto out;
	rc = staging_load_head(s, batch_id, &h, err);
	merge = !rc && !strcmp(h.action, "merge");
	if (!rc && !unattended)
		rc = staging_check_human(&h, batch_id, principal, 0, err);
	if (!rc && unattended && strcmp(h.decided_by, STAGING_UNATTENDED) != 0)
		rc = err_set(err, AIRLOCK_EDENIED, "batch %lld was not let through by the policy",
			     (long long)batch_id);
	if (!rc)
		rc = staging_check_transition(&h, batch_id, STAGE_APPLIED, err);
	if (!rc)
		rc = store_prepare(s,
				   "SELECT idx,record_id,changes,version FROM batch_item WHERE"
				   " batch_id=?1 AND state='pending' ORDER BY idx",
				   &st, err);
	if (rc)
		goto rollback;
	store_bind_int(st, 1, batch_id);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		char rid[256];
		int64_t idx = store_col_int(st, 0), version = store_col_int(st, 3);

		rc = fmt_buf(rid, sizeof rid, err, "batch item record id", "%s",
			     store_col_text(st, 1));
		if (rc)
			break;
		if (!strcmp(h.action, "send")) {
			/* a send changes no record: its drafts are handed to delivery
			 * by the caller, in this same transaction */
			applied++;
			continue;
		}
		changes = json_loads(store_col_text(st, 2), 0, NULL);
		if (!changes) {
			rc = err_set(err, AIRLOCK_ECORRUPT, "batch %lld item %lld: unreadable changes",
				     (long long)batch_id, (long long)idx);
			break;
		}
		rule[0] = why[0] = '\0';
		rc = 0;
		if (merge)
			rc = merge_recheck(s, rid,
					   json_string_value(json_object_get(changes, "merged_into")),
					   rule, sizeof rule, why, sizeof why, err);
		hit = 0;
		if (!rc && !rule[0])
			rc = apply_item(s, batch_id, idx, rid, changes, version, merge, &hit, err);
		json_decref(changes);
		if (!rc && !hit)
			rc = note_conflict(s, conflicts, idx, rid, version, rule, why, err);
		if (!rc && rule[0] && !first_why[0])
			(void)snprintf(first_why, sizeof first_why, "%s", why);
		if (rc)
			break;
		applied += hit;
	}
	store_done(st);
	if (rc != STORE_DONE)
		goto rollback;
	if (json_array_size(conflicts) > 0) {
		if (!skip_conflicts && first_why[0]) {
			rc = err_set(err, AIRLOCK_ECONFLICT,
				     "%zu item(s) of batch %lld conflict with the book as it is now"
				     " (%s): nothing was applied (--skip-conflicts applies the rest)",
				     json_array_size(conflicts), (long long)batch_id, first_why);
			goto rollback;
		}
		if (!skip_conflicts) {
			rc = err_set(err, AIRLOCK_ECONFLICT,
				     "%zu record(s) of batch %lld changed since they were staged:"
				     " nothing was applied (--skip-conflicts applies the rest)",
				     json_array_size(conflicts), (long long)batch_id);
			goto rollback;
		}
		rc = mark_items(s, batch_id, conflicts, "conflict", err);
		if (rc)
			goto rollback;
	}
	rc = staging_set_state(s, batch_id, STAGE_APPROVED, STAGE_APPLIED, "applied_by",
			       "applied_at", principal, err);
	if (rc)
		goto rollback;
	args = json_pack("{s:b,s:I,s:O}", "skip_conflicts", skip_conflicts, "applied",
			 (json_int_t)applied, "conflicts", conflicts);
	(void)snprintf(summary, sizeof summary, "applied %lld item(s), %zu conflict(s) skipped",
		       (long long)applied, json_array_size(conflicts));
	rc = staging_log_verb(s, principal, surface, "apply", batch_id, "applied", args, summary, err);
	json_decref(args);
	if (rc)
		goto rollback;
	rc = store_commit(s, err);
	if (!rc && report)
		*report = json_pack("{s:I,s:O}", "applied", (json_int_t)applied, "conflicts",
				    conflicts);
	goto out;
rollback:
	store_rollback(s);
	if (report && rc == AIRLOCK_ECONFLICT)
		*report = json_pack("{s:i,s:O}", "applied", 0, "conflicts", conflicts);
out:
	json_decref(conflicts);
	return rc;
}

/* The newest applied merge, other than batch_id, that merged `source` away:
 * 0 when there is none. */
static int later_merge_of(struct store *s, int64_t batch_id, const char *source, int64_t *later,
			  struct err *err)
{
	struct store_stmt *st;
	int rc;

	*later = 0;
	rc = store_prepare(s,
			   "SELECT b.id FROM batch_item i JOIN batch b ON b.id=i.batch_id"
			   " WHERE i.record_id=?1 AND i.state='pending' AND b.action='merge'"
			   " AND b.state='applied' AND b.id<>?2 ORDER BY b.id DESC LIMIT 1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, source);
	store_bind_int(st, 2, batch_id);
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		*later = store_col_int(st, 0);
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* Undo of a merge puts back exactly the contacts and signals it moved, so
 * each must still sit on the survivor. One that moved on (a later merge
 * took the survivor's children along) would leave that later merge's undo
 * moving children it no longer holds: refused, whatever --force says,
 * naming the batch to undo first. why stays empty when the undo may go on. */
static int merge_undo_check(struct store *s, int64_t batch_id, const char *source,
			    const char *survivor, json_t *moved, char *why, size_t wlen,
			    struct err *err)
{
	static const char *const tables[] = {"contact", "signal"};
	static const char *const keys[] = {"contacts", "signals"};
	char sql[96], holder[256] = "";
	struct store_stmt *st;
	int64_t later = 0;
	json_t *v;
	size_t i;
	int t, rc, found;

	why[0] = '\0';
	for (t = 0; t < 2; t++) {
		(void)snprintf(sql, sizeof sql, "SELECT account_id FROM %s WHERE id=?1", tables[t]);
		json_array_foreach(json_object_get(moved, keys[t]), i, v)
		{
			rc = store_prepare(s, sql, &st, err);
			if (rc)
				return rc;
			store_bind_text(st, 1, json_string_value(v));
			rc = store_step(st, err);
			found = rc == STORE_ROW;
			if (found && fmt_buf(holder, sizeof holder, err, "account id", "%s",
					     store_col_text(st, 0)))
				rc = AIRLOCK_ECORRUPT;
			store_done(st);
			if (rc < 0)
				return rc;
			if (found && survivor && !strcmp(holder, survivor))
				continue;
			rc = later_merge_of(s, batch_id, survivor ? survivor : "", &later, err);
			if (rc)
				return rc;
			if (!found)
				merge_reason(why, wlen, "%s %s, moved from '%s' by this merge, no longer exists",
					 tables[t], json_string_value(v), source);
			else if (later)
				merge_reason(why, wlen,
					 "%s %s, moved from '%s' to '%s' by this merge, is now on '%s':"
					 " batch %lld merged '%s' since; undo batch %lld first",
					 tables[t], json_string_value(v), source, survivor, holder,
					 (long long)later, survivor, (long long)later);
			else
				merge_reason(why, wlen,
					 "%s %s, moved from '%s' to '%s' by this merge, is now on '%s'",
					 tables[t], json_string_value(v), source, survivor, holder);
			return 0;
		}
	}
	return 0;
}

/* Restores one item's before-values (its `restore` object: the changed
 * fields' old values, custom as a whole); merges also move children back. */
static int undo_item(struct store *s, const char *record_id, json_t *restore, json_t *moved,
		     int64_t expect, int merge, int *hit, struct err *err)
{
	json_t *values = json_object(), *v;
	const char *key;
	char *txt;
	int rc, oom = !values;

	/* a before-value lost to a failed allocation would leave the record
	 * half restored (or its custom fields emptied) and call it undone */
	json_object_foreach(restore, key, v)
	{
		if (!strcmp(key, "custom")) {
			txt = staging_dump(v);
			if (!txt || json_object_set_new(values, "custom", json_string(txt)))
				oom = 1;
			free(txt);
		} else if (json_object_set(values, key, v))
			oom = 1;
	}
	if (oom) {
		json_decref(values);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	rc = set_account(s, record_id, values, expect, hit, err);
	json_decref(values);
	if (rc || !*hit || !merge || !moved)
		return rc;
	return move_children(s, NULL, record_id, moved, NULL, err);
}

/* The survivor a merge item's changes name, copied into buf. */
static const char *survivor_of(const char *changes_text, char *buf, size_t len)
{
	json_t *ch = json_loads(changes_text ? changes_text : "", 0, NULL);
	const char *v = json_string_value(json_object_get(ch, "merged_into"));

	/* a survivor id that does not fit names no account (ids are refused at
	 * the door past BOOK_ID_MAX), so it matches none rather than a cut one */
	if (fmt_buf(buf, len, NULL, "survivor id", "%s", v ? v : ""))
		(void)snprintf(buf, len, "%s", "\x01(too long)");
	json_decref(ch);
	return buf;
}

int staging_undo(struct store *s, int64_t batch_id, const char *principal, const char *surface,
		 int force, json_t **report, struct err *err)
{
	struct store_stmt *st = NULL;
	json_t *conflicts = json_array(), *restore, *moved, *args;
	struct staging_head h;
	int64_t undone = 0;
	char summary[160], survivor[256], why[800];
	int rc, hit, merge;

	if (report)
		*report = NULL;
	rc = store_begin(s, err);
	if (rc)
		goto out;
	rc = staging_load_head(s, batch_id, &h, err);
	merge = !rc && !strcmp(h.action, "merge");
	if (!rc)
		rc = staging_check_human(&h, batch_id, principal, 0, err);
	if (!rc && !strcmp(h.action, "send"))
		rc = err_set(err, AIRLOCK_ESTATE,
			     "batch %lld sent e-mail: a send cannot be undone", (long long)batch_id);
	if (!rc && !staging_transition_ok(h.state, STAGE_UNDONE))
		rc = err_set(err, AIRLOCK_ESTATE,
			     "batch %lld is %s: only an applied batch can be undone",
			     (long long)batch_id, staging_state_name(h.state));
	if (!rc)
		rc = store_prepare(s,
				   "SELECT idx,record_id,restore,moved,version,changes FROM batch_item"
				   " WHERE batch_id=?1 AND state='pending' ORDER BY idx DESC",
				   &st, err);
	if (rc)
		goto rollback;
	store_bind_int(st, 1, batch_id);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		char rid[256];
		int64_t idx = store_col_int(st, 0), expect = store_col_int(st, 4) + 1;

		rc = fmt_buf(rid, sizeof rid, err, "batch item record id", "%s",
			     store_col_text(st, 1));
		if (rc)
			break;
		restore = json_loads(store_col_text(st, 2), 0, NULL);
		moved = store_col_is_null(st, 3) ? NULL : json_loads(store_col_text(st, 3), 0, NULL);
		why[0] = '\0';
		rc = 0;
		if (restore && merge && moved)
			rc = merge_undo_check(s, batch_id, rid,
					      survivor_of(store_col_text(st, 5), survivor,
							  sizeof survivor),
					      moved, why, sizeof why, err);
		if (rc) {
			/* the check itself failed: rc and err say why */
		} else if (!restore) {
			rc = err_set(err, AIRLOCK_ECORRUPT, "batch %lld item %lld: unreadable image",
				     (long long)batch_id, (long long)idx);
		} else if (why[0]) {
			json_array_append_new(conflicts,
					      json_pack("{s:I,s:s,s:s,s:s}", "item", (json_int_t)idx,
							"record_id", rid, "rule", "later_merge",
							"reason", why));
			rc = err_set(err, AIRLOCK_ECONFLICT,
				     "batch %lld cannot be undone exactly, with or without --force: %s",
				     (long long)batch_id, why);
		} else {
			rc = undo_item(s, rid, restore, moved, expect, !strcmp(h.action, "merge"), &hit,
				       err);
			if (!rc && !hit) {
				rc = note_conflict(s, conflicts, idx, rid, expect, NULL, NULL, err);
				/* --force restores it all the same, if the record exists */
				if (!rc && force)
					rc = undo_item(s, rid, restore, moved, -1,
						       !strcmp(h.action, "merge"), &hit, err);
				if (!rc && force && !hit)
					rc = err_set(err, AIRLOCK_ECONFLICT,
						     "record %s no longer exists", rid);
			}
		}
		json_decref(restore);
		json_decref(moved);
		if (rc)
			break;
		undone += hit;
	}
	store_done(st);
	if (rc != STORE_DONE)
		goto rollback;
	if (json_array_size(conflicts) > 0 && !force) {
		rc = err_set(err, AIRLOCK_ECONFLICT,
			     "%zu record(s) of batch %lld changed after it was applied: nothing was"
			     " undone (--force restores them anyway)",
			     json_array_size(conflicts), (long long)batch_id);
		goto rollback;
	}
	rc = staging_set_state(s, batch_id, STAGE_APPLIED, STAGE_UNDONE, "undone_by", "undone_at",
			       principal, err);
	if (rc)
		goto rollback;
	args = json_pack("{s:b,s:I,s:O}", "force", force, "undone", (json_int_t)undone,
			 "overwritten", conflicts);
	(void)snprintf(summary, sizeof summary, "undid %lld item(s)%s", (long long)undone,
		       json_array_size(conflicts) ? ", overwriting later changes (--force)" : "");
	rc = staging_log_verb(s, principal, surface, "undo", batch_id, "undone", args, summary, err);
	json_decref(args);
	if (rc)
		goto rollback;
	rc = store_commit(s, err);
	if (!rc && report)
		*report = json_pack("{s:I,s:O}", "undone", (json_int_t)undone, "overwritten",
				    conflicts);
	goto out;
rollback:
	store_rollback(s);
	if (report && rc == AIRLOCK_ECONFLICT)
		*report = json_pack("{s:i,s:O}", "undone", 0, "conflicts", conflicts);
out:
	json_decref(conflicts);
	return rc;
}

/* At most this many breaches are listed: one is enough to fail, a hundred
 * enough to see a pattern. */
#define MERGE_VIOLATIONS_MAX 100

/* Runs one breach query (columns: id, where it points, detail) and lists
 * each row under rule. */
static int collect_breaches(struct store *s, const char *sql, const char *rule, json_t *out,
			    struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, MERGE_VIOLATIONS_MAX);
	while (json_array_size(out) < MERGE_VIOLATIONS_MAX && (rc = store_step(st, err)) == STORE_ROW)
		json_array_append_new(out, json_pack("{s:s,s:s,s:s?,s:s?}", "rule", rule, "record_id",
						     store_col_text(st, 0), "points_to",
						     store_col_is_null(st, 1) ? NULL
									      : store_col_text(st, 1),
						     "detail",
						     store_col_is_null(st, 2) ? NULL
									      : store_col_text(st, 2)));
	store_done(st);
	return rc < 0 ? rc : 0;
}

int staging_check_merges(struct store *s, json_t **violations, struct err *err)
{
	static const struct {
		const char *rule, *sql;
	} checks[] = {
		{"merge_cycle",
		 /* a merged account whose chain comes back to it: a.id = a.merged_into, or
		  * two or more accounts merged into each other */
		 "SELECT a.id, a.merged_into, b.merged_into FROM account a JOIN account b"
		 " ON b.id=a.merged_into WHERE a.merged_into IS NOT NULL AND"
		 " (a.merged_into=a.id OR b.merged_into=a.id) LIMIT ?1"},
		{"merged_into_merged",
		 "SELECT a.id, a.merged_into, b.merged_into FROM account a JOIN account b"
		 " ON b.id=a.merged_into WHERE a.merged_into IS NOT NULL AND b.merged_into IS"
		 " NOT NULL AND a.merged_into<>a.id AND b.merged_into<>a.id LIMIT ?1"},
		{"merged_into_missing",
		 "SELECT a.id, a.merged_into, NULL FROM account a LEFT JOIN account b"
		 " ON b.id=a.merged_into WHERE a.merged_into IS NOT NULL AND b.id IS NULL LIMIT ?1"},
		{"contact_on_merged",
		 "SELECT c.id, c.account_id, a.merged_into FROM contact c JOIN account a"
		 " ON a.id=c.account_id WHERE a.merged_into IS NOT NULL LIMIT ?1"},
		{"signal_on_merged",
		 "SELECT g.id, g.account_id, a.merged_into FROM signal g JOIN account a"
		 " ON a.id=g.account_id WHERE a.merged_into IS NOT NULL LIMIT ?1"},
	};
	json_t *out = json_array(), *first;
	size_t i;
	int rc = 0;

	if (violations)
		*violations = NULL;
	if (!out)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; !rc && i < sizeof checks / sizeof checks[0]; i++)
		rc = collect_breaches(s, checks[i].sql, checks[i].rule, out, err);
	if (!rc && json_array_size(out) > 0) {
		first = json_array_get(out, 0);
		rc = err_set(err, AIRLOCK_ECORRUPT,
			     "I8 broken (%zu breach(es)%s): %s: '%s' points to '%s'%s%s",
			     json_array_size(out),
			     json_array_size(out) >= MERGE_VIOLATIONS_MAX ? " or more" : "",
			     json_string_value(json_object_get(first, "rule")),
			     json_string_value(json_object_get(first, "record_id")),
			     json_string_value(json_object_get(first, "points_to")),
			     json_is_string(json_object_get(first, "detail")) ? ", merged into " : "",
			     json_is_string(json_object_get(first, "detail"))
				     ? json_string_value(json_object_get(first, "detail"))
				     : "");
	}
	if (violations && rc != AIRLOCK_ENOMEM)
		*violations = json_incref(out);
	json_decref(out);
	return rc;
}
