/* reliability.c — reviewers' seeded-check records and their weight. */
#include "reliability.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sampling.h"

double reliability_catch_lower(int64_t caught, int64_t seen, double C)
{
	double up;

	if (caught < 0 || seen < 0 || caught > seen || !(C > 0 && C < 1))
		return -1;
	if (caught == 0)
		return 0;
	/* the lower bound of the catch rate is one minus the upper bound of
	 * the miss rate: P(X ≥ caught; p) = 1 − C ⇔ P(misses ≤ seen − caught;
	 * 1 − p) = 1 − C */
	up = sampling_upper_bound(seen - caught, seen, C);
	return up < 0 ? -1 : 1 - up;
}

double reliability_catch_upper(int64_t caught, int64_t seen, double C)
{
	if (caught < 0 || seen < 0 || caught > seen || !(C > 0 && C < 1))
		return -1;
	return sampling_upper_bound(caught, seen, C);
}

double reliability_weight(const struct reliability *rel, double min_catch, double C)
{
	double up;

	if (!(min_catch > 0) || !rel || rel->seen <= 0)
		return 1;
	up = reliability_catch_upper(rel->caught, rel->seen, C);
	return up >= 0 && up < min_catch ? 0 : 1;
}

int reliability_get(struct store *s, const char *reviewer, const char *workflow,
		    struct reliability *out, struct err *err)
{
	struct store_stmt *q;
	int rc;

	memset(out, 0, sizeof *out);
	rc = store_prepare(s,
			   "SELECT seen, caught, missed FROM reviewer_check"
			   " WHERE reviewer=?1 AND workflow=?2",
			   &q, err);
	if (rc)
		return rc;
	store_bind_text(q, 1, reviewer);
	store_bind_text(q, 2, workflow);
	rc = store_step(q, err);
	if (rc == STORE_ROW) {
		out->seen = store_col_int(q, 0);
		out->caught = store_col_int(q, 1);
		out->missed = store_col_int(q, 2);
		rc = 0;
	} else if (rc == STORE_DONE)
		rc = 0;
	store_done(q);
	return rc;
}

int reliability_record(struct store *s, const char *reviewer, const char *workflow, int caught,
		       struct err *err)
{
	struct store_stmt *q;
	char now[CLOCK_TEXT_LEN];
	int rc;

	if (!reviewer || !*reviewer || !workflow || !*workflow)
		return err_set(err, AIRLOCK_EINVAL, "a seeded check needs a reviewer and a workflow");
	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s,
			   "INSERT INTO reviewer_check(reviewer,workflow,seen,caught,missed,updated_at)"
			   " VALUES(?1,?2,1,?3,?4,?5) ON CONFLICT(reviewer,workflow) DO UPDATE SET"
			   " seen=reviewer_check.seen+1, caught=reviewer_check.caught+excluded.caught,"
			   " missed=reviewer_check.missed+excluded.missed,"
			   " updated_at=excluded.updated_at",
			   &q, err);
	if (rc)
		return rc;
	store_bind_text(q, 1, reviewer);
	store_bind_text(q, 2, workflow);
	store_bind_int(q, 3, caught ? 1 : 0);
	store_bind_int(q, 4, caught ? 0 : 1);
	store_bind_text(q, 5, now);
	rc = store_step(q, err);
	store_done(q);
	return rc == STORE_DONE ? 0 : rc;
}

int reliability_discount(struct store *s, const char *reviewer, const char *workflow,
			 struct err *err)
{
	struct store_stmt *q;
	char now[CLOCK_TEXT_LEN];
	int rc;

	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s,
			   "UPDATE reviewer_check SET discounted=discounted+1, updated_at=?3"
			   " WHERE reviewer=?1 AND workflow=?2",
			   &q, err);
	if (rc)
		return rc;
	store_bind_text(q, 1, reviewer);
	store_bind_text(q, 2, workflow);
	store_bind_text(q, 3, now);
	rc = store_step(q, err);
	store_done(q);
	return rc == STORE_DONE ? 0 : rc;
}

int reliability_discounted(struct store *s, const char *workflow, int64_t *out, struct err *err)
{
	struct store_stmt *q;
	int rc;

	*out = 0;
	rc = store_prepare(s, "SELECT coalesce(sum(discounted),0) FROM reviewer_check WHERE workflow=?1",
			   &q, err);
	if (rc)
		return rc;
	store_bind_text(q, 1, workflow);
	rc = store_step(q, err);
	if (rc == STORE_ROW) {
		*out = store_col_int(q, 0);
		rc = 0;
	}
	store_done(q);
	return rc;
}

int reliability_list(struct store *s, const char *reviewer, double min_catch, double C,
		     json_t **out, struct err *err)
{
	struct store_stmt *q;
	struct reliability rel;
	json_t *arr = json_array(), *row;
	int rc;

	*out = NULL;
	if (!arr)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = store_prepare(s,
			   "SELECT reviewer, workflow, seen, caught, missed, discounted FROM reviewer_check"
			   " WHERE ?1 IS NULL OR reviewer=?1 ORDER BY reviewer, workflow",
			   &q, err);
	if (rc)
		goto out;
	if (reviewer)
		store_bind_text(q, 1, reviewer);
	else
		store_bind_null(q, 1);
	while ((rc = store_step(q, err)) == STORE_ROW) {
		rel.seen = store_col_int(q, 2);
		rel.caught = store_col_int(q, 3);
		rel.missed = store_col_int(q, 4);
		row = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:f,s:f,s:f}", "reviewer",
				store_col_text(q, 0), "workflow", store_col_text(q, 1), "seen",
				(json_int_t)rel.seen, "caught", (json_int_t)rel.caught, "missed",
				(json_int_t)rel.missed, "discounted", (json_int_t)store_col_int(q, 5),
				"catch_lower",
				reliability_catch_lower(rel.caught, rel.seen, C), "catch_upper",
				reliability_catch_upper(rel.caught, rel.seen, C), "weight",
				reliability_weight(&rel, min_catch, C));
		if (!row || json_array_append_new(arr, row)) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			break;
		}
	}
	store_done(q);
	if (rc == STORE_DONE) {
		rc = 0;
		*out = arr;
		arr = NULL;
	}
out:
	json_decref(arr);
	return rc;
}
