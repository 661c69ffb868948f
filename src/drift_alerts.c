/* drift_alerts.c — stored alerts (one row per metric and episode), the
 * pinned baseline, and a person's acknowledgement of an alert. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "drift_int.h"

#define CAUSE_MAX 2000

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static double real(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* Text of a nullable column as JSON. */
static json_t *col_json(struct store_stmt *st, int col)
{
	const char *v = store_col_text(st, col);

	return v ? json_string(v) : json_null();
}

/* Finds the stored row of one computed episode: same metric, workflow and
 * window length, windows overlapping or adjacent. *id is 0 when none. */
static int find_row(struct store *s, const struct drift_config *cfg, json_t *a, int64_t *id,
		    json_t *into, struct err *err)
{
	struct store_stmt *st;
	char before[CLOCK_TEXT_LEN];
	int64_t t;
	int rc;

	*id = 0;
	if (drift_time(str(a, "first_window"), &t))
		return err_set(err, AIRLOCK_ECORRUPT, "drift: bad window time");
	clock_format((time_t)(t - cfg->window_seconds), before, sizeof before);
	rc =
	    store_prepare(s,
			  "SELECT id, first_seen, acked_by, ack_cause, acked_at FROM drift_alert"
			  " WHERE metric=?1 AND label=?2 AND window_seconds=?3 AND window_start<=?4"
			  " AND window_end>=?5 ORDER BY window_start LIMIT 1",
			  &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, str(a, "metric"));
	store_bind_text(st, 2, str(a, "workflow") ? str(a, "workflow") : "");
	store_bind_int(st, 3, cfg->window_seconds);
	store_bind_text(st, 4, str(a, "last_window"));
	store_bind_text(st, 5, before);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*id = store_col_int(st, 0);
		json_object_set_new(into, "first_seen", col_json(st, 1));
		json_object_set_new(into, "acked_by", col_json(st, 2));
		json_object_set_new(into, "ack_cause", col_json(st, 3));
		json_object_set_new(into, "acked_at", col_json(st, 4));
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* Binds the figures every write of an alert carries, as ?1..?8. */
static void bind_figures(struct store_stmt *st, json_t *a, const char *causes)
{
	store_bind_double(st, 1, real(a, "value"));
	store_bind_double(st, 2, real(a, "reference"));
	store_bind_double(st, 3, real(a, "statistic"));
	store_bind_double(st, 4, real(a, "threshold"));
	store_bind_text(st, 5, str(a, "test"));
	store_bind_text(st, 6, str(a, "severity"));
	store_bind_text(st, 7, causes);
	store_bind_text(st, 8, str(a, "last_window"));
}

static int write_row(struct store *s, const struct drift_config *cfg, json_t *a, int64_t *id,
		     const char *now, struct err *err)
{
	struct store_stmt *st;
	char *causes = json_dumps(json_object_get(a, "causes"), JSON_COMPACT);
	int rc;

	if (!causes)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (*id) {
		rc = store_prepare(
		    s,
		    "UPDATE drift_alert SET value=?1, reference=?2, statistic=?3,"
		    " threshold=?4, test=?5, severity=?6, causes=?7,"
		    " window_end=CASE WHEN ?8 > window_end THEN ?8 ELSE window_end END,"
		    " window_start=CASE WHEN ?9 < window_start THEN ?9 ELSE window_start"
		    " END, last_seen=?10 WHERE id=?11",
		    &st, err);
		if (rc)
			goto out;
		bind_figures(st, a, causes);
		store_bind_text(st, 9, str(a, "first_window"));
		store_bind_text(st, 10, now);
		store_bind_int(st, 11, *id);
		rc = store_step(st, err);
		store_done(st);
		rc = rc == STORE_DONE ? 0 : rc;
		goto out;
	}
	rc = store_prepare(
	    s,
	    "INSERT INTO drift_alert(value, reference, statistic, threshold, test,"
	    " severity, causes, window_end, window_start, first_seen, last_seen, metric,"
	    " label, window_seconds) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11,?12,?13)",
	    &st, err);
	if (rc)
		goto out;
	bind_figures(st, a, causes);
	store_bind_text(st, 9, str(a, "first_window"));
	store_bind_text(st, 10, now);
	store_bind_text(st, 11, str(a, "metric"));
	store_bind_text(st, 12, str(a, "workflow") ? str(a, "workflow") : "");
	store_bind_int(st, 13, cfg->window_seconds);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto out;
	rc = store_last_insert_id(s, id, err);
	json_object_set_new(a, "first_seen", json_string(now));
	json_object_set_new(a, "acked_by", json_null());
	json_object_set_new(a, "ack_cause", json_null());
	json_object_set_new(a, "acked_at", json_null());
out:
	free(causes);
	return rc;
}

int drift_alerts_sync(struct store *s, const struct drift_config *cfg, json_t *alerts, int persist,
		      time_t now, struct err *err)
{
	char at[CLOCK_TEXT_LEN];
	json_t *a;
	size_t i;
	int rc = 0;

	clock_format(now, at, sizeof at);
	if (persist && json_array_size(alerts)) {
		rc = store_begin(s, err);
		if (rc)
			return rc;
	}
	json_array_foreach(alerts, i, a)
	{
		int64_t id;

		rc = find_row(s, cfg, a, &id, a, err);
		if (!rc && persist)
			rc = write_row(s, cfg, a, &id, at, err);
		if (rc)
			break;
		json_object_set_new(a, "id", id ? json_integer(id) : json_null());
		if (!id) {
			json_object_set_new(a, "first_seen", json_null());
			json_object_set_new(a, "acked_by", json_null());
		}
	}
	if (persist && json_array_size(alerts)) {
		if (rc) {
			store_rollback(s);
			return rc;
		}
		rc = store_commit(s, err);
	}
	return rc;
}

int drift_parse_alert_id(const char *text, int64_t *out, struct err *err)
{
	const char *p = text;
	char *end;
	long long v;

	if (p && (*p == 'A' || *p == 'a'))
		p++;
	errno = 0;
	v = p ? strtoll(p, &end, 10) : 0;
	if (!p || errno || end == p || *end || v < 1)
		return err_set(err, AIRLOCK_EINVAL, "'%s' is not an alert id (like A3 or 3)",
			       text ? text : "");
	*out = v;
	return 0;
}

static int require_human(const char *principal, const char *what, struct err *err)
{
	if (!principal || strncmp(principal, "human:", 6) || !principal[6])
		return err_set(err, AIRLOCK_EDENIED, "only a person can %s; '%s' is not one", what,
			       principal ? principal : "(nobody)");
	return 0;
}

static int log_act(struct store *s, const char *principal, const char *surface, const char *tool,
		   json_t *args, const char *summary, struct err *err)
{
	struct audit_entry e = {0};

	e.principal = principal;
	e.surface = surface ? surface : "cli";
	e.tool = tool;
	e.args = args;
	e.decision = "recorded";
	e.summary = summary;
	return audit_append(s, &e, NULL, err);
}

static json_t *alert_row(struct store_stmt *st)
{
	json_t *o = json_pack("{s:I,s:s,s:s?,s:I,s:s,s:s}", "id", (json_int_t)store_col_int(st, 0),
			      "metric", store_col_text(st, 1), "workflow",
			      store_col_text(st, 2)[0] ? store_col_text(st, 2) : NULL,
			      "window_seconds", (json_int_t)store_col_int(st, 3), "first_window",
			      store_col_text(st, 4), "last_window", store_col_text(st, 5));
	json_error_t jerr;
	json_t *causes = json_loads(store_col_text(st, 9), 0, &jerr);

	json_object_set_new(o, "value", json_real(store_col_double(st, 6)));
	json_object_set_new(o, "reference", json_real(store_col_double(st, 7)));
	json_object_set_new(o, "severity", col_json(st, 8));
	json_object_set_new(o, "causes", causes ? causes : json_array());
	json_object_set_new(o, "first_seen", col_json(st, 10));
	json_object_set_new(o, "acked_by", col_json(st, 11));
	json_object_set_new(o, "ack_cause", col_json(st, 12));
	json_object_set_new(o, "acked_at", col_json(st, 13));
	return o;
}

/* The stored alert, or NULL in *row. */
static int load_alert(struct store *s, int64_t id, json_t **row, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*row = NULL;
	rc = store_prepare(
	    s,
	    "SELECT id, metric, label, window_seconds, window_start, window_end, value,"
	    " reference, severity, causes, first_seen, acked_by, ack_cause, acked_at"
	    " FROM drift_alert WHERE id=?1",
	    &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		*row = alert_row(st);
	store_done(st);
	return rc < 0 ? rc : 0;
}

int drift_ack(struct store *s, int64_t alert_id, const char *principal, const char *surface,
	      const char *cause, json_t **out, struct err *err)
{
	struct store_stmt *st;
	json_t *row = NULL, *args;
	char now[CLOCK_TEXT_LEN], summary[300];
	int rc;

	if (out)
		*out = NULL;
	rc = require_human(principal, "acknowledge a drift alert", err);
	if (rc)
		return rc;
	while (cause && (*cause == ' ' || *cause == '\t' || *cause == '\n'))
		cause++;
	if (!cause || !*cause)
		return err_set(err, AIRLOCK_EINVAL, "--cause must say what explains the alert");
	if (strlen(cause) > CAUSE_MAX)
		return err_set(err, AIRLOCK_EINVAL, "--cause is longer than %d bytes", CAUSE_MAX);
	clock_format(clock_now(), now, sizeof now);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = load_alert(s, alert_id, &row, err);
	if (rc)
		goto rollback;
	if (!row) {
		rc = err_set(err, AIRLOCK_ENOTFOUND, "no drift alert A%lld", (long long)alert_id);
		goto rollback;
	}
	if (!json_is_null(json_object_get(row, "acked_by"))) {
		rc = err_set(err, AIRLOCK_ESTATE, "alert A%lld was acknowledged by %s at %s: %s",
			     (long long)alert_id, str(row, "acked_by"), str(row, "acked_at"),
			     str(row, "ack_cause"));
		goto rollback;
	}
	rc = store_prepare(
	    s, "UPDATE drift_alert SET acked_by=?1, ack_cause=?2, acked_at=?3 WHERE id=?4", &st,
	    err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, principal);
	store_bind_text(st, 2, cause);
	store_bind_text(st, 3, now);
	store_bind_int(st, 4, alert_id);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto rollback;
	(void)snprintf(summary, sizeof summary, "acknowledged drift alert A%lld (%s): %.200s",
		       (long long)alert_id, str(row, "metric"), cause);
	args = json_pack("{s:I,s:s}", "alert", (json_int_t)alert_id, "cause", cause);
	rc = log_act(s, principal, surface, "drift ack", args, summary, err);
	json_decref(args);
	if (rc)
		goto rollback;
	rc = store_commit(s, err);
	if (rc)
		goto out;
	json_object_set_new(row, "acked_by", json_string(principal));
	json_object_set_new(row, "ack_cause", json_string(cause));
	json_object_set_new(row, "acked_at", json_string(now));
	if (out) {
		*out = row;
		row = NULL;
	}
	goto out;
rollback:
	store_rollback(s);
out:
	json_decref(row);
	return rc;
}

int drift_baseline_get(struct store *s, json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = store_prepare(
	    s, "SELECT from_at, to_at, set_by, set_at FROM drift_baseline WHERE id=1", &st, err);
	if (rc)
		return rc;
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		*out = json_pack("{s:s,s:s,s:s,s:s}", "from", store_col_text(st, 0), "to",
				 store_col_text(st, 1), "set_by", store_col_text(st, 2), "set_at",
				 store_col_text(st, 3));
	store_done(st);
	return rc < 0 ? rc : 0;
}

int drift_baseline_set(struct store *s, time_t from, time_t to, const char *principal,
		       const char *surface, struct err *err)
{
	struct store_stmt *st;
	char f[CLOCK_TEXT_LEN], t[CLOCK_TEXT_LEN], now[CLOCK_TEXT_LEN], summary[200];
	json_t *args;
	int rc;

	rc = require_human(principal, "pin the drift baseline", err);
	if (rc)
		return rc;
	if (to - from < 3600)
		return err_set(err, AIRLOCK_EINVAL,
			       "the baseline must span at least an hour (--from before --to)");
	clock_format(from, f, sizeof f);
	clock_format(to, t, sizeof t);
	clock_format(clock_now(), now, sizeof now);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = store_exec(s, "DELETE FROM drift_baseline", err);
	if (rc)
		goto rollback;
	rc = store_prepare(s,
			   "INSERT INTO drift_baseline(id, from_at, to_at, set_by, set_at)"
			   " VALUES(1, ?1, ?2, ?3, ?4)",
			   &st, err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, f);
	store_bind_text(st, 2, t);
	store_bind_text(st, 3, principal);
	store_bind_text(st, 4, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto rollback;
	(void)snprintf(summary, sizeof summary, "pinned the drift baseline to %s .. %s", f, t);
	args = json_pack("{s:s,s:s}", "from", f, "to", t);
	rc = log_act(s, principal, surface, "drift baseline", args, summary, err);
	json_decref(args);
	if (rc)
		goto rollback;
	return store_commit(s, err);
rollback:
	store_rollback(s);
	return rc;
}

int drift_baseline_clear(struct store *s, const char *principal, const char *surface,
			 struct err *err)
{
	json_t *base = NULL, *args;
	int rc;

	rc = require_human(principal, "clear the drift baseline", err);
	if (rc)
		return rc;
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = drift_baseline_get(s, &base, err);
	if (rc)
		goto rollback;
	if (!base) {
		rc = err_set(err, AIRLOCK_ENOTFOUND, "no baseline is pinned");
		goto rollback;
	}
	rc = store_exec(s, "DELETE FROM drift_baseline", err);
	if (rc)
		goto rollback;
	args = json_pack("{s:b}", "clear", 1);
	rc = log_act(s, principal, surface, "drift baseline", args,
		     "cleared the drift baseline: the previous windows are the reference", err);
	json_decref(args);
	if (rc)
		goto rollback;
	json_decref(base);
	return store_commit(s, err);
rollback:
	store_rollback(s);
	json_decref(base);
	return rc;
}
