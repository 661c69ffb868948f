/* radius.c — the held-records counters: a hold row per (agent, workflow,
 * record) counting the waiting batches that hold it, a total per (agent,
 * workflow), and the records of each waiting batch so it can release them. */
#include "radius.h"

#include <string.h>

#include "fmt.h"

/* Adds delta to the total of (principal, workflow). */
static int total_add(struct store *s, const char *principal, const char *workflow, int64_t delta,
		     struct err *err)
{
	struct store_stmt *st;
	int rc;

	if (delta == 0)
		return 0;
	/* a release only lowers a total a hold created (the CHECK refuses a
	 * negative row even on the upsert's insert side) */
	rc = store_prepare(s,
			   delta > 0
			       ? "INSERT INTO radius_total(principal,workflow,records)"
				 " VALUES(?1,?2,?3) ON CONFLICT(principal,workflow) DO UPDATE"
				 " SET records=radius_total.records+?3"
			       : "UPDATE radius_total SET records=radius_total.records+?3 WHERE principal=?1"
				 " AND workflow=?2",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, principal);
	store_bind_text(st, 2, workflow);
	store_bind_int(st, 3, delta);
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* Runs one statement on a hold row: ?1 principal, ?2 workflow, ?3 record. */
static int hold_exec(struct store *s, const char *sql, const char *principal,
		     const char *workflow, const char *id, struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	store_bind_text(st, 1, principal);
	store_bind_text(st, 2, workflow);
	store_bind_text(st, 3, id);
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* Refuses a record id radius would not store. */
static int ids_check(json_t *records, struct err *err)
{
	const char *id;
	json_t *v;

	json_object_foreach(records, id, v)
	{
		if (strlen(id) > RADIUS_ID_MAX)
			return err_set(err, AIRLOCK_EINVAL,
				       "record id '%.40s…' is longer than %d bytes", id,
				       RADIUS_ID_MAX);
	}
	return 0;
}

/* One more waiting batch holds each record of records (a set): one
 * statement in key order, and each hold's count after it says whether its
 * record is new to the total (*added of them). */
static int hold_counts(struct store *s, const char *principal, const char *workflow,
		       json_t *records, int64_t *added_out, struct err *err)
{
	struct store_stmt *st;
	size_t want = json_object_size(records);
	int64_t added = 0, rows = 0;
	int rc;

	*added_out = 0;
	if (!want)
		return 0;
	rc = store_prepare_list(s,
				"INSERT INTO radius_hold(principal,workflow,record_id,batches)"
				" SELECT ?1,?2,value,1 FROM %s AS l WHERE true"
				" ON CONFLICT(principal,workflow,record_id)"
				" DO UPDATE SET batches=radius_hold.batches+1 RETURNING batches",
				3, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, principal);
	store_bind_text(st, 2, workflow);
	store_bind_list(st, 3, records);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		rows++;
		if (store_col_int(st, 0) == 1)
			added++;
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (rows != (int64_t)want)
		return err_set(err, AIRLOCK_EIO, "radius hold: %lld counts returned for %zu records",
			       (long long)rows, want);
	*added_out = added;
	return total_add(s, principal, workflow, added, err);
}

int radius_hold_first(struct store *s, const char *principal, const char *workflow,
		      json_t *records, int64_t *held, int64_t *with, struct err *err)
{
	struct store_stmt *st;
	int64_t added = 0;
	int rc;

	*held = *with = 0;
	rc = ids_check(records, err);
	if (!rc)
		rc = store_prepare(s,
				   "SELECT records FROM radius_total WHERE principal=?1 AND workflow=?2",
				   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, principal);
	store_bind_text(st, 2, workflow);
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		*held = store_col_int(st, 0);
	store_done(st);
	if (rc < 0)
		return rc;
	/* the upsert's counts say which records are new to the total: the
	 * hold rows are read once, in key order (no probe before it) */
	rc = hold_counts(s, principal, workflow, records, &added, err);
	if (rc)
		return rc;
	*with = *held + added;
	return 0;
}

int radius_hold_rows(struct store *s, int64_t batch_id, const char *principal,
		     const char *workflow, json_t *records, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = ids_check(records, err);
	if (rc || !json_object_size(records))
		return rc;
	/* no ON CONFLICT: a batch already holding one of them would have been
	 * counted twice by radius_hold_first, so the key refuses it (and the
	 * caller's transaction rolls back) */
	rc = store_prepare_list(s,
				"INSERT INTO radius_batch(batch_id,record_id,principal,workflow)"
				" SELECT ?1,value,?3,?4 FROM %s AS l WHERE true",
				2, &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	store_bind_list(st, 2, records);
	store_bind_text(st, 3, principal);
	store_bind_text(st, 4, workflow);
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* One record of a batch, copied out before the rows it came from change. */
static json_t *batch_row(struct store_stmt *st, void *ctx)
{
	(void)ctx;
	return json_pack("[s,s,s]", store_col_text(st, 0), store_col_text(st, 1),
			 store_col_text(st, 2));
}

int radius_release(struct store *s, int64_t batch_id, struct err *err)
{
	struct store_stmt *st;
	json_t *rows = NULL, *row;
	const char *principal = NULL, *workflow = NULL;
	int64_t freed = 0;
	size_t i;
	int rc;

	rc = store_prepare(
	    s, "SELECT principal,workflow,record_id FROM radius_batch WHERE batch_id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	rc = store_collect(st, batch_row, NULL, &rows, err);
	if (rc)
		return rc;
	json_array_foreach(rows, i, row)
	{
		const char *id = json_string_value(json_array_get(row, 2));

		principal = json_string_value(json_array_get(row, 0));
		workflow = json_string_value(json_array_get(row, 1));
		rc = hold_exec(s,
			       "UPDATE radius_hold SET batches=batches-1 WHERE principal=?1 AND"
			       " workflow=?2 AND record_id=?3",
			       principal, workflow, id, err);
		if (!rc)
			rc = hold_exec(s,
				       "DELETE FROM radius_hold WHERE principal=?1 AND workflow=?2 AND"
				       " record_id=?3 AND batches<=0",
				       principal, workflow, id, err);
		if (rc)
			goto out;
		freed += store_changes(s);
	}
	rc = store_prepare(s, "DELETE FROM radius_batch WHERE batch_id=?1", &st, err);
	if (rc)
		goto out;
	store_bind_int(st, 1, batch_id);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto out;
	rc = principal ? total_add(s, principal, workflow, -freed, err) : 0;
out:
	json_decref(rows);
	return rc;
}
