/* upstream_pin.c — trusted upstream tool definitions and their alerts
 * (upstream_pin.h). */
#include "upstream_pin.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "clock.h"
#include "upstream.h"

static const char *tool_name(json_t *def)
{
	return json_string_value(json_object_get(def, "name"));
}

/* The pinned hash and definition of a tool; *hash "" when none. */
static int pin_get(struct store *s, const char *upstream, const char *tool, char hash[65],
		   json_t **def, struct err *err)
{
	struct store_stmt *st;
	int rc;

	hash[0] = '\0';
	if (def)
		*def = NULL;
	rc = store_prepare(s,
			   "SELECT hash, definition FROM upstream_pin WHERE upstream = ?1 AND "
			   "tool = ?2",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, upstream);
	store_bind_text(st, 2, tool);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		(void)snprintf(hash, 65, "%s", store_col_text(st, 0) ? store_col_text(st, 0) : "");
		if (def)
			*def = json_loads(store_col_text(st, 1) ? store_col_text(st, 1) : "null", 0,
					  NULL);
	}
	store_done(st);
	return rc == STORE_ROW || rc == STORE_DONE ? 0 : rc;
}

/* The alert of a changed definition, once per (tool, hash seen). */
static int raise_alert(struct store *s, const char *upstream, json_t *def, const char *hash,
		       const char *principal, const char *surface, struct err *err)
{
	struct store_stmt *st;
	struct audit_entry e = {0};
	json_t *pinned = upstream_tool_pinned(def), *args = NULL;
	char *text = pinned ? json_dumps(pinned, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char now[CLOCK_TEXT_LEN], summary[300];
	int rc, began = 0;

	if (!text) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	clock_format(clock_now(), now, sizeof now);
	if (!store_in_transaction(s)) {
		if ((rc = store_begin(s, err)))
			goto out;
		began = 1;
	}
	rc = store_prepare(s,
			   "INSERT INTO upstream_alert(upstream, tool, seen_hash, "
			   "definition, first_seen) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
			   &st, err);
	if (rc)
		goto out;
	store_bind_text(st, 1, upstream);
	store_bind_text(st, 2, tool_name(def));
	store_bind_text(st, 3, hash);
	store_bind_text(st, 4, text);
	store_bind_text(st, 5, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto out;
	rc = 0;
	if (store_changes(s) == 1) {
		(void)snprintf(
		    summary, sizeof summary,
		    "alert: upstream '%.32s' changed the definition of tool '%.64s' since a "
		    "person trusted it; the tool is hidden until `airlock upstream trust "
		    "%.32s`",
		    upstream, tool_name(def), upstream);
		args = json_pack("{s:s,s:s,s:s}", "upstream", upstream, "tool", tool_name(def),
				 "seen_hash", hash);
		e.principal = principal;
		e.surface = surface;
		e.tool = "upstream_alert";
		e.args = args;
		e.decision = "alert";
		e.summary = summary;
		e.record_ids = json_array();
		rc = audit_append(s, &e, NULL, err);
		json_decref(e.record_ids);
	}
out:
	if (began) {
		if (rc)
			store_rollback(s);
		else
			rc = store_commit(s, err);
	}
	json_decref(args);
	json_decref(pinned);
	free(text);
	return rc;
}

int upstream_pin_check(struct store *s, const char *upstream, json_t *def, const char *principal,
		       const char *surface, enum upstream_pin_state *out, struct err *err)
{
	char now[65];
	int rc;

	*out = UPSTREAM_PIN_NONE;
	if ((rc = upstream_tool_hash(def, now, err)))
		return rc;
	return upstream_pin_check_hashed(s, upstream, def, now, principal, surface, out, err);
}

int upstream_pin_check_hashed(struct store *s, const char *upstream, json_t *def,
			      const char *now, const char *principal, const char *surface,
			      enum upstream_pin_state *out, struct err *err)
{
	char pin[65];
	int rc;

	*out = UPSTREAM_PIN_NONE;
	if (!tool_name(def))
		return err_set(err, AIRLOCK_EINVAL, "a tool definition without a name");
	if ((rc = pin_get(s, upstream, tool_name(def), pin, NULL, err)))
		return rc;
	if (!pin[0])
		return 0;
	if (!strcmp(pin, now)) {
		*out = UPSTREAM_PIN_OK;
		return 0;
	}
	*out = UPSTREAM_PIN_CHANGED;
	return raise_alert(s, upstream, def, now, principal, surface, err);
}

int upstream_pin_diff(struct store *s, const char *upstream, json_t *def, json_t **out,
		      struct err *err)
{
	json_t *was = NULL, *now = upstream_tool_pinned(def), *d = NULL, *v;
	const char *k;
	char pin[65];
	int rc;

	*out = NULL;
	if (!now)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if ((rc = pin_get(s, upstream, tool_name(def) ? tool_name(def) : "", pin, &was, err)))
		goto out;
	if (!pin[0] || !was) {
		*out = json_null();
		goto out;
	}
	d = json_object();
	json_object_foreach(now, k, v) if (!json_equal(v, json_object_get(was, k)))
	    json_object_set_new(d, k,
				json_pack("{s:O?,s:O}", "was", json_object_get(was, k), "now", v));
	json_object_foreach(was, k, v) if (!json_object_get(now, k))
	    json_object_set_new(d, k, json_pack("{s:O,s:n}", "was", v, "now"));
	*out = d;
	d = NULL;
out:
	json_decref(was);
	json_decref(now);
	json_decref(d);
	return rc;
}

int upstream_pin_trust(struct store *s, const char *upstream, json_t *defs, const char *principal,
		       const char *surface, struct err *err)
{
	struct store_stmt *st;
	struct audit_entry e = {0};
	json_t *def, *pinned = NULL, *names = json_array(), *args = NULL;
	char now[CLOCK_TEXT_LEN], hash[65], summary[200], *text = NULL;
	size_t i;
	int rc;

	if (!principal || strncmp(principal, "human:", 6) != 0)
		return err_set(err, AIRLOCK_EDENIED, "only a person may trust an upstream's tools");
	if (!names)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	clock_format(clock_now(), now, sizeof now);
	if ((rc = store_begin(s, err))) {
		json_decref(names);
		return rc;
	}
	json_array_foreach(defs, i, def)
	{
		pinned = upstream_tool_pinned(def);
		text = pinned ? json_dumps(pinned, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		if (!text || !tool_name(def)) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = upstream_tool_hash(def, hash, err)))
			goto out;
		rc =
		    store_prepare(s,
				  "INSERT INTO upstream_pin(upstream, tool, hash, "
				  "definition, trusted_by, trusted_at) VALUES (?1, ?2, ?3, ?4, ?5, "
				  "?6) ON CONFLICT(upstream, tool) DO UPDATE SET hash=excluded.hash,"
				  " definition=excluded.definition, trusted_by=excluded.trusted_by,"
				  " trusted_at=excluded.trusted_at",
				  &st, err);
		if (rc)
			goto out;
		store_bind_text(st, 1, upstream);
		store_bind_text(st, 2, tool_name(def));
		store_bind_text(st, 3, hash);
		store_bind_text(st, 4, text);
		store_bind_text(st, 5, principal);
		store_bind_text(st, 6, now);
		rc = store_step(st, err);
		store_done(st);
		if (rc != STORE_DONE)
			goto out;
		rc = store_prepare(s,
				   "UPDATE upstream_alert SET resolved_at = ?3 WHERE upstream = ?1 "
				   "AND tool = ?2 AND resolved_at IS NULL",
				   &st, err);
		if (rc)
			goto out;
		store_bind_text(st, 1, upstream);
		store_bind_text(st, 2, tool_name(def));
		store_bind_text(st, 3, now);
		rc = store_step(st, err);
		store_done(st);
		if (rc != STORE_DONE)
			goto out;
		rc = 0;
		json_array_append_new(names,
				      json_pack("{s:s,s:s}", "tool", tool_name(def), "hash", hash));
		free(text);
		text = NULL;
		json_decref(pinned);
		pinned = NULL;
	}
	(void)snprintf(summary, sizeof summary, "trusted %zu tool definition%s of upstream '%.32s'",
		       json_array_size(defs), json_array_size(defs) == 1 ? "" : "s", upstream);
	args = json_pack("{s:s,s:O}", "upstream", upstream, "tools", names);
	e.principal = principal;
	e.surface = surface;
	e.tool = "upstream trust";
	e.args = args;
	e.decision = "trusted";
	e.summary = summary;
	e.record_ids = json_array();
	rc = audit_append(s, &e, NULL, err);
	json_decref(e.record_ids);
out:
	if (rc)
		store_rollback(s);
	else
		rc = store_commit(s, err);
	free(text);
	json_decref(pinned);
	json_decref(args);
	json_decref(names);
	return rc;
}

static json_t *alert_row(struct store_stmt *st, void *ctx)
{
	(void)ctx;
	return json_pack("{s:I,s:s?,s:s?,s:s?}", "id", (json_int_t)store_col_int(st, 0), "upstream",
			 store_col_text(st, 1), "tool", store_col_text(st, 2), "first_seen",
			 store_col_text(st, 3));
}

int upstream_pin_alerts(struct store *s, json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = store_prepare(s,
			   "SELECT id, upstream, tool, first_seen FROM upstream_alert WHERE "
			   "resolved_at IS NULL ORDER BY id",
			   &st, err);
	if (rc)
		return rc;
	return store_collect(st, alert_row, NULL, out, err);
}
