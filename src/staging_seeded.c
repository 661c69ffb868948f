/* staging_seeded.c — the seeded check of a batch's sample (issue 21): a
 * synthetic wrong item shown in the place of one drawn item (its slot)
 * until a person judges it, kept in its own table so nothing that applies,
 * exports or undoes a batch (all of which read batch_item) can ever see it. */
#include <stdlib.h>
#include <string.h>

#include "seedcheck.h"
#include "staging_int.h"

int staging_seeded_add(struct store *s, int64_t batch_id, int64_t slot, json_t *check,
		       const char *seed_hex, struct err *err)
{
	struct store_stmt *st;
	char now[CLOCK_TEXT_LEN], *txt;
	const char *kind = json_string_value(json_object_get(check, "kind"));
	int rc;

	if (!kind)
		return err_set(err, AIRLOCK_EINVAL, "a seeded check needs its kind");
	txt = staging_dump(check);
	if (!txt)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s,
			   "INSERT INTO seeded_check(batch_id,slot,kind,item,seed,created_at)"
			   " VALUES(?1,?2,?3,?4,?5,?6)",
			   &st, err);
	if (!rc) {
		store_bind_int(st, 1, batch_id);
		store_bind_int(st, 2, slot);
		store_bind_text(st, 3, kind);
		store_bind_text(st, 4, txt);
		store_bind_text(st, 5, seed_hex);
		store_bind_text(st, 6, now);
		rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
		store_done(st);
	}
	free(txt);
	/* the slot's real item was not drawn: it is no item to judge, and its
	 * missing verdict must not hold the sample open */
	if (!rc)
		rc = store_prepare(s, "UPDATE batch_item SET sampled=0 WHERE batch_id=?1 AND idx=?2",
				   &st, err);
	if (!rc) {
		store_bind_int(st, 1, batch_id);
		store_bind_int(st, 2, slot);
		rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
		store_done(st);
	}
	return rc;
}

int staging_seeded_load(struct store *s, int64_t batch_id, struct staging_seeded *c,
			json_t **item, struct err *err)
{
	struct store_stmt *st;
	int rc;

	memset(c, 0, sizeof *c);
	if (item)
		*item = NULL;
	rc = store_prepare(s,
			   "SELECT slot,kind,verdict,coalesce(verdict_by,''),item FROM seeded_check"
			   " WHERE batch_id=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		const char *v = store_col_text(st, 2);

		c->present = 1;
		c->slot = store_col_int(st, 0);
		(void)snprintf(c->kind, sizeof c->kind, "%s", store_col_text(st, 1) ? store_col_text(st, 1) : "");
		c->judged = v != NULL;
		c->missed = v && !strcmp(v, "pass");
		(void)snprintf(c->verdict_by, sizeof c->verdict_by, "%s", store_col_text(st, 3));
		if (item) {
			*item = json_loads(store_col_text(st, 4) ? store_col_text(st, 4) : "", 0, NULL);
			rc = *item ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
		} else
			rc = 0;
	} else if (rc == STORE_DONE)
		rc = 0;
	store_done(st);
	return rc;
}

int staging_seeded_verdict(struct store *s, int64_t batch_id, const char *principal, int pass,
			   const char *note, struct err *err)
{
	struct store_stmt *st;
	char now[CLOCK_TEXT_LEN];
	int rc;

	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s,
			   "UPDATE seeded_check SET verdict=?2,verdict_by=?3,verdict_note=?4,"
			   "verdict_at=?5 WHERE batch_id=?1 AND verdict IS NULL",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	store_bind_text(st, 2, pass ? "pass" : "fail");
	store_bind_text(st, 3, principal);
	store_bind_text(st, 4, note);
	store_bind_text(st, 5, now);
	rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
	store_done(st);
	if (!rc && store_changes(s) != 1)
		rc = err_set(err, AIRLOCK_ECONFLICT, "batch %lld: its check was judged meanwhile",
			     (long long)batch_id);
	return rc;
}

/* What a person is told once the check is judged (or can no longer be). */
static json_t *reveal(const struct staging_seeded *c, json_t *item, const char *state)
{
	const char *what = seedcheck_what(c->kind);

	if (!c->judged)
		return json_pack("{s:I,s:s,s:n,s:O,s:s++}", "slot", (json_int_t)c->slot, "kind",
				 c->kind, "verdict", "item", item, "note",
				 "this was a seeded check, never judged: the sample ended first (",
				 state, ")");
	return json_pack("{s:I,s:s,s:s,s:s,s:b,s:O,s:s+}", "slot", (json_int_t)c->slot, "kind",
			 c->kind, "verdict", c->missed ? "pass" : "fail", "verdict_by", c->verdict_by,
			 "caught", !c->missed, "item", item, "note",
			 c->missed ? "this was a seeded check and it was passed: " :
				     "this was a seeded check, and it was caught: ",
			 what);
}

json_t *staging_seeded_reveal(const struct staging_seeded *c, json_t *item)
{
	return reveal(c, item, "");
}

int staging_seeded_overlay(struct store *s, json_t *b, struct err *err)
{
	struct staging_seeded c;
	json_t *item = NULL, *it, *v;
	const char *state = json_string_value(json_object_get(b, "state"));
	size_t i;
	int rc;

	rc = staging_seeded_load(s, json_integer_value(json_object_get(b, "id")), &c, &item, err);
	if (rc || !c.present)
		return rc;
	if (c.judged || !state || strcmp(state, "sampled") != 0) {
		/* judged, or the sample ended without it: shown for what it is,
		 * beside the real item of its slot */
		json_t *drawn = json_object_get(json_object_get(b, "sample"), "items");

		v = reveal(&c, item, state ? state : "");
		json_decref(item);
		if (!v || json_object_set_new(b, "seeded_check", v))
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		/* the slot is no drawn item any more: its real item was never
		 * drawn, and nobody is to judge it as if it were */
		for (i = 0; i < json_array_size(drawn); i++)
			if (json_integer_value(json_array_get(drawn, i)) == c.slot) {
				json_array_remove(drawn, i);
				json_object_set_new(json_object_get(b, "sample"), "n",
						    json_integer((json_int_t)json_array_size(drawn)));
				break;
			}
		return 0;
	}
	/* unjudged: the slot shows the check exactly as a drawn item shows */
	json_array_foreach(json_object_get(b, "item_list"), i, it)
	{
		if (json_integer_value(json_object_get(it, "idx")) != c.slot)
			continue;
		if (json_object_set(it, "changes", json_object_get(item, "changes")) ||
		    json_object_set(it, "reasons", json_object_get(item, "reasons")) ||
		    json_object_set(it, "evidence", json_object_get(item, "evidence")))
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		break;
	}
	json_decref(item);
	return rc;
}

int staging_items_from(struct store *s, int64_t batch_id, int64_t from, int limit,
		       json_t **out, struct err *err)
{
	struct store_stmt *st;
	json_t *arr = json_array(), *o;
	int rc, pass;

	*out = NULL;
	if (!arr)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	/* from `from` on, then from the start: the items after the slot first */
	for (pass = 0; pass < 2 && (int)json_array_size(arr) < limit; pass++) {
		rc = store_prepare(s,
				   pass == 0 ? "SELECT record_id,changes,before,reasons,evidence FROM"
					       " batch_item WHERE batch_id=?1 AND idx>=?2 ORDER BY idx"
					       " LIMIT ?3"
					     : "SELECT record_id,changes,before,reasons,evidence FROM"
					       " batch_item WHERE batch_id=?1 AND idx<?2 ORDER BY idx"
					       " LIMIT ?3",
				   &st, err);
		if (rc) {
			json_decref(arr);
			return rc;
		}
		store_bind_int(st, 1, batch_id);
		store_bind_int(st, 2, from);
		store_bind_int(st, 3, limit - (int)json_array_size(arr));
		while ((rc = store_step(st, err)) == STORE_ROW) {
			o = json_pack("{s:s,s:o,s:o,s:o,s:o}", "record_id", store_col_text(st, 0),
				      "changes", json_loads(store_col_text(st, 1), 0, NULL), "before",
				      json_loads(store_col_text(st, 2), 0, NULL), "reasons",
				      json_loads(store_col_text(st, 3) ? store_col_text(st, 3) : "[]",
						 0, NULL),
				      "evidence",
				      json_loads(store_col_text(st, 4) ? store_col_text(st, 4) : "[]",
						 0, NULL));
			if (!o || json_array_append_new(arr, o)) {
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
				break;
			}
		}
		store_done(st);
		if (rc != STORE_DONE) {
			json_decref(arr);
			return rc;
		}
	}
	*out = arr;
	return 0;
}
