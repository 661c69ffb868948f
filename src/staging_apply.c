/* staging_apply.c — apply and undo: one transaction each, optimistic
 * concurrency on record versions, before-images restored exactly. The
 * records themselves are written by book (book_change, book_reparent) in
 * this module's transaction, next to the batch's log entry. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "fmt.h"

#include "staging_int.h"

/* Applies one item's changes through the book; *hit 0 means the record's
 * version moved. A merge also re-points the source's contacts and signals,
 * and the ids it moved are kept on the item for the undo. */
static int apply_item(struct store *s, int64_t batch_id, int64_t idx, const char *record_id,
		      json_t *changes, int64_t version, int merge, int *hit, struct err *err)
{
	json_t *moved = NULL;
	struct store_stmt *st;
	char *txt;
	int rc;

	rc = book_change(s, BOOK_ACCOUNT, record_id, changes, version, hit, err);
	if (rc || !*hit || !merge)
		return rc;
	rc = book_reparent(s, record_id,
			   json_string_value(json_object_get(changes, "merged_into")), NULL, &moved,
			   err);
	if (rc)
		goto out;
	txt = staging_dump(moved);
	if (!txt) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
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
		rc = book_merged_into(s, cur, &exists, next, sizeof next, err);
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
	rc = book_merged_into(s, survivor, &exists, into, sizeof into, err);
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
	rc = book_merged_into(s, source, &exists, into, sizeof into, err);
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
	rc = book_merged_from(s, source, into, sizeof into, err);
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
	int64_t current;
	json_t *c;
	int rc;

	c = json_pack("{s:I,s:s,s:I}", "item", (json_int_t)idx, "record_id", record_id,
		      "expected_version", (json_int_t)expected);
	if (rule && *rule) {
		json_object_set_new(c, "rule", json_string(rule));
		json_object_set_new(c, "reason", json_string(why));
	}
	rc = book_version(s, BOOK_ACCOUNT, record_id, &current, err);
	if (rc) {
		json_decref(c);
		return rc;
	}
	json_object_set_new(c, "current_version", current >= 0 ? json_integer(current) : json_null());
	json_array_append_new(conflicts, c);
	return 0;
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
	if (!rc && !strcmp(h.action, "upstream"))
		rc = err_set(err, AIRLOCK_EINVAL,
			     "batch %lld writes through an upstream: apply it with airlock apply",
			     (long long)batch_id);
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

int staging_external_check(struct store *s, int64_t batch_id, const char *principal,
			   enum staging_state to, struct err *err)
{
	struct staging_head h;
	int rc;

	rc = staging_load_head(s, batch_id, &h, err);
	if (!rc && strcmp(h.action, "upstream") != 0)
		rc = err_set(err, AIRLOCK_EINVAL, "batch %lld is no upstream batch",
			     (long long)batch_id);
	if (!rc)
		rc = staging_check_human(&h, batch_id, principal, 0, err);
	if (!rc && to == STAGE_APPLIED)
		rc = staging_check_transition(&h, batch_id, STAGE_APPLIED, err);
	if (!rc && to == STAGE_UNDONE && !staging_transition_ok(h.state, STAGE_UNDONE))
		rc = err_set(err, AIRLOCK_ESTATE,
			     "batch %lld is %s: only an applied batch can be undone",
			     (long long)batch_id, staging_state_name(h.state));
	if (!rc && to != STAGE_APPLIED && to != STAGE_UNDONE)
		rc = err_set(err, AIRLOCK_EINVAL, "internal: an upstream batch only applies or undoes");
	return rc;
}

int staging_external_begin(struct store *s, int64_t batch_id, struct err *err)
{
	char now[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc;

	clock_format(clock_now(), now, sizeof now);
	/* one statement on the batch row: the expiry sweep's update of the same
	 * row (staging_expire) either comes first and this matches nothing, or
	 * comes after and finds no expiry any more */
	rc = store_prepare(s,
			   "UPDATE batch SET expires_at=NULL,updated_at=?2 WHERE id=?1 AND"
			   " state='approved' AND (expires_at IS NULL OR expires_at>?2)",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	store_bind_text(st, 2, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	if (store_changes(s) != 1)
		return err_set(err, AIRLOCK_ESTATE,
			       "batch %lld is no longer approved (it expired or was decided "
			       "meanwhile): no upstream call made",
			       (long long)batch_id);
	return 0;
}

int staging_external_done(struct store *s, int64_t batch_id, const char *principal,
			  const char *surface, enum staging_state to, int64_t n, json_t *conflicts,
			  struct err *err)
{
	int undo = to == STAGE_UNDONE;
	char summary[160];
	json_t *args;
	int rc;

	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = staging_external_check(s, batch_id, principal, to, err);
	if (!rc && conflicts)
		rc = mark_items(s, batch_id, conflicts, "conflict", err);
	if (!rc)
		rc = undo ? staging_set_state(s, batch_id, STAGE_APPLIED, STAGE_UNDONE, "undone_by",
					      "undone_at", principal, err)
			  : staging_set_state(s, batch_id, STAGE_APPROVED, STAGE_APPLIED,
					      "applied_by", "applied_at", principal, err);
	if (rc)
		goto rollback;
	args = json_pack("{s:s,s:I,s:o}", "through", "upstream", undo ? "undone" : "applied",
			 (json_int_t)n, "conflicts",
			 conflicts ? json_incref(conflicts) : json_array());
	(void)snprintf(summary, sizeof summary, "%s %lld record(s) through the upstream, %zu "
			"conflict(s) skipped",
		       undo ? "undid" : "applied", (long long)n, json_array_size(conflicts));
	rc = staging_log_verb(s, principal, surface, undo ? "undo" : "apply", batch_id,
			      undo ? "undone" : "applied", args, summary, err);
	json_decref(args);
	if (rc)
		goto rollback;
	return store_commit(s, err);
rollback:
	store_rollback(s);
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
	static const enum book_kind kinds[] = {BOOK_CONTACT, BOOK_SIGNAL};
	static const char *const keys[] = {"contacts", "signals"};
	char holder[256] = "";
	int64_t later = 0;
	json_t *v;
	size_t i;
	int t, rc, found;

	why[0] = '\0';
	for (t = 0; t < 2; t++) {
		const char *table = book_kind_name(kinds[t]);

		json_array_foreach(json_object_get(moved, keys[t]), i, v)
		{
			rc = book_owner_of(s, kinds[t], json_string_value(v), &found, holder,
					   sizeof holder, err);
			if (rc)
				return rc;
			if (found && survivor && !strcmp(holder, survivor))
				continue;
			rc = later_merge_of(s, batch_id, survivor ? survivor : "", &later, err);
			if (rc)
				return rc;
			if (!found)
				merge_reason(why, wlen, "%s %s, moved from '%s' by this merge, no longer exists",
					 table, json_string_value(v), source);
			else if (later)
				merge_reason(why, wlen,
					 "%s %s, moved from '%s' to '%s' by this merge, is now on '%s':"
					 " batch %lld merged '%s' since; undo batch %lld first",
					 table, json_string_value(v), source, survivor, holder,
					 (long long)later, survivor, (long long)later);
			else
				merge_reason(why, wlen,
					 "%s %s, moved from '%s' to '%s' by this merge, is now on '%s'",
					 table, json_string_value(v), source, survivor, holder);
			return 0;
		}
	}
	return 0;
}

/* Restores one item's before-values (its `restore` object: the changed
 * fields' old values, custom as a whole) through the book; merges also move
 * children back. */
static int undo_item(struct store *s, const char *record_id, json_t *restore, json_t *moved,
		     int64_t expect, int merge, int *hit, struct err *err)
{
	int rc = book_change(s, BOOK_ACCOUNT, record_id, restore, expect, hit, err);

	if (rc || !*hit || !merge || !moved)
		return rc;
	return book_reparent(s, NULL, record_id, moved, NULL, err);
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
	if (!rc && !strcmp(h.action, "upstream"))
		rc = err_set(err, AIRLOCK_EINVAL,
			     "batch %lld writes through an upstream: undo it with airlock undo",
			     (long long)batch_id);
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

int staging_check_merges(struct store *s, json_t **violations, struct err *err)
{
	json_t *out = json_array(), *first;
	int rc = 0;

	if (violations)
		*violations = NULL;
	if (!out)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = book_merge_breaches(s, MERGE_VIOLATIONS_MAX, out, err);
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
