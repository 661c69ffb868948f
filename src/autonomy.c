/* autonomy.c — per-workflow inspection level and evidence. */
#include "autonomy.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

int autonomy_get(struct store *s, const char *workflow, struct sampling_state *st,
		 struct err *err)
{
	struct store_stmt *q;
	json_t *j;
	int rc;

	memset(st, 0, sizeof *st);
	rc = store_prepare(s, "SELECT state FROM autonomy WHERE workflow=?1", &q, err);
	if (rc)
		return rc;
	store_bind_text(q, 1, workflow);
	rc = store_step(q, err);
	if (rc == STORE_ROW) {
		j = json_loads(store_col_text(q, 0), 0, NULL);
		rc = j ? sampling_state_from_json(j, st, err)
		       : err_set(err, AIRLOCK_ECORRUPT, "autonomy of '%s' is unreadable", workflow);
		json_decref(j);
	} else if (rc == STORE_DONE)
		rc = 0;
	store_done(q);
	return rc;
}

static int put(struct store *s, const char *workflow, const struct sampling_state *st,
	       struct err *err)
{
	struct store_stmt *q;
	char now[CLOCK_TEXT_LEN], *txt;
	json_t *j = sampling_state_to_json(st);
	int rc;

	txt = j ? store_json_dump(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!txt)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s,
			   "INSERT INTO autonomy(workflow,state,updated_at) VALUES(?1,?2,?3)"
			   " ON CONFLICT(workflow) DO UPDATE SET state=excluded.state,"
			   " updated_at=excluded.updated_at",
			   &q, err);
	if (!rc) {
		store_bind_text(q, 1, workflow);
		store_bind_text(q, 2, txt);
		store_bind_text(q, 3, now);
		rc = store_step(q, err);
		store_done(q);
		rc = rc == STORE_DONE ? 0 : rc;
	}
	free(txt);
	return rc;
}

int autonomy_observe(struct store *s, const char *workflow, const struct sampling_policy *pol,
		     int bad, int *demoted, struct err *err)
{
	struct sampling_state st;
	int rc, d;

	rc = autonomy_get(s, workflow, &st, err);
	if (rc)
		return rc;
	d = sampling_observe(pol, &st, bad);
	if (demoted)
		*demoted = d;
	return put(s, workflow, &st, err);
}

int autonomy_batch(struct store *s, const char *workflow, const struct sampling_policy *pol,
		   int passed, enum sampling_level *level, struct err *err)
{
	struct sampling_state st;
	enum sampling_level l;
	int rc;

	rc = autonomy_get(s, workflow, &st, err);
	if (rc)
		return rc;
	l = sampling_switch(pol, &st, passed);
	if (level)
		*level = l;
	return put(s, workflow, &st, err);
}

int autonomy_sample(struct store *s, const char *workflow, const struct sampling_policy *pol,
		    int64_t passed, int failed, enum sampling_level *level, struct err *err)
{
	struct sampling_state st;
	enum sampling_level l;
	int64_t i;
	int rc;

	rc = autonomy_get(s, workflow, &st, err);
	if (rc)
		return rc;
	for (i = 0; i < passed; i++)
		sampling_observe(pol, &st, 0);
	if (failed)
		sampling_observe(pol, &st, 1);
	l = sampling_switch(pol, &st, !failed);
	if (level)
		*level = l;
	return put(s, workflow, &st, err);
}

int autonomy_list(struct store *s, double confidence, json_t **out, struct err *err)
{
	struct store_stmt *q;
	struct sampling_state st;
	json_t *arr = json_array(), *j;
	int rc;

	*out = NULL;
	rc = store_prepare(s, "SELECT workflow,state FROM autonomy ORDER BY workflow", &q, err);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	while ((rc = store_step(q, err)) == STORE_ROW) {
		j = json_loads(store_col_text(q, 1), 0, NULL);
		memset(&st, 0, sizeof st);
		if (!j || sampling_state_from_json(j, &st, err)) {
			json_decref(j);
			rc = err_set(err, AIRLOCK_ECORRUPT, "autonomy of '%s' is unreadable",
				     store_col_text(q, 0));
			break;
		}
		json_decref(j);
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:I,s:I,s:f,s:i}", "workflow", store_col_text(q, 0),
				       "level", sampling_level_name(st.level), "inspected",
				       (json_int_t)st.inspected, "defects", (json_int_t)st.defects,
				       "upper_bound",
				       sampling_upper_bound(st.defects, st.inspected, confidence),
				       "clean_run", st.clean_run));
	}
	store_done(q);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}
