/* seedcheck.c — synthetic wrong items for seeded checks. */
#include "seedcheck.h"

#include <string.h>

int seedcheck_due(int64_t every, int64_t nth)
{
	return every > 0 && nth > 0 && nth % every == 0;
}

/* 1 when some field of the item's changes differs from its before value:
 * putting it back is then a visible contradiction. */
static int moves_a_value(json_t *item)
{
	json_t *changes = json_object_get(item, "changes"), *before = json_object_get(item, "before");
	const char *k;
	json_t *v;

	if (!json_is_object(changes) || !json_is_object(before))
		return 0;
	json_object_foreach(changes, k, v)
		if (json_object_get(before, k) && !json_equal(v, json_object_get(before, k)))
			return 1;
	return 0;
}

static const char *record_of(json_t *item)
{
	return json_string_value(json_object_get(item, "record_id"));
}

static json_t *copy_of(json_t *item, size_t idx, const char *kind)
{
	json_t *o = json_pack("{s:s,s:I,s:s,s:O,s:O,s:O,s:O}", "kind", kind, "based_on",
			      (json_int_t)idx + 1, "record_id", record_of(item), "changes",
			      json_object_get(item, "changes"), "before", json_object_get(item, "before"),
			      "reasons", json_object_get(item, "reasons"), "evidence",
			      json_object_get(item, "evidence"));
	json_t *c;

	if (!o)
		return NULL;
	/* deep copies: the check must never share a value with the batch */
	c = json_deep_copy(o);
	json_decref(o);
	return c;
}

/* 1 when the candidate says what some real item says (same record, change
 * and evidence): a reader would be right to pass it, so it checks nothing. */
static int is_real(json_t *items, json_t *o)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it)
		if (!strcmp(record_of(it), record_of(o)) &&
		    json_equal(json_object_get(it, "changes"), json_object_get(o, "changes")) &&
		    json_equal(json_object_get(it, "evidence"), json_object_get(o, "evidence")))
			return 1;
	return 0;
}

/* The candidate of one kind based on items[ai] (walking from it for the
 * other record of evidence_of_another), or NULL with *oom set when an
 * allocation failed. A candidate that is no check (is_real) is dropped. */
static json_t *candidate(json_t *items, int64_t N, int64_t ai, int64_t kind, int *oom)
{
	json_t *a = json_array_get(items, (size_t)ai), *b = NULL, *o = NULL, *v;
	const char *k;
	int64_t j = N;

	*oom = 0;
	if (kind == 0) {
		for (j = 1; j < N; j++) {
			b = json_array_get(items, (size_t)((ai + j) % N));
			if (strcmp(record_of(a), record_of(b)) &&
			    !json_equal(json_object_get(a, "evidence"), json_object_get(b, "evidence")))
				break;
		}
		if (j >= N)
			return NULL;
		o = copy_of(a, (size_t)ai, "evidence_of_another");
		if (o) {
			json_object_set(o, "reasons", json_object_get(b, "reasons"));
			json_object_set(o, "evidence", json_object_get(b, "evidence"));
			/* no sharing with the batch */
			v = json_deep_copy(o);
			json_decref(o);
			o = v;
		}
	} else if (moves_a_value(a)) {
		o = copy_of(a, (size_t)ai, "change_contradicts");
		if (o)
			json_object_foreach(json_object_get(o, "changes"), k, v)
				if (json_object_get(json_object_get(o, "before"), k))
					json_object_set(json_object_get(o, "changes"), k,
							json_object_get(json_object_get(o, "before"), k));
	} else
		return NULL;
	if (!o) {
		*oom = 1;
		return NULL;
	}
	if (is_real(items, o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int check_items(json_t *items, struct err *err)
{
	size_t i;
	json_t *a;

	if (!json_is_array(items) || json_array_size(items) == 0)
		return err_set(err, AIRLOCK_EINVAL, "a seeded check needs the batch's items");
	json_array_foreach(items, i, a)
		if (!record_of(a) || !json_is_object(json_object_get(a, "changes")) ||
		    !json_is_object(json_object_get(a, "before")))
			return err_set(err, AIRLOCK_EINVAL, "item %zu of the batch is malformed",
				       i + 1);
	return 0;
}

int seedcheck_make(json_t *items, const unsigned char seed[SAMPLING_SEED_BYTES], json_t **out,
		   struct err *err)
{
	int64_t N, pick[1], kind = 0, i;
	json_t *o = NULL;
	int rc, oom;

	*out = NULL;
	rc = check_items(items, err);
	if (rc)
		return rc;
	N = (int64_t)json_array_size(items);
	/* the kind and the item come from the seed (ChaCha20, sampling_draw):
	 * one draw of 1 of 2 for the kind, one of the items for the base */
	if (N >= 2 && (rc = sampling_draw(2, 1, seed, &kind, err)))
		return rc;
	rc = sampling_draw(N, 1, seed, pick, err);
	if (rc)
		return rc;
	/* try the picked kind from the picked item on, then the other kind:
	 * the walk from the seed's position keeps the result a function of
	 * the seed alone */
	for (int t = 0; t < 2 && !o; t++, kind = 1 - kind)
		for (i = 0; i < N && !o; i++) {
			o = candidate(items, N, (pick[0] + i) % N, kind, &oom);
			if (oom)
				return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		}
	if (!o)
		return err_set(err, AIRLOCK_ENOTFOUND,
			       "this batch gives no seeded check: one record only and no value moves");
	*out = o;
	return 0;
}

int seedcheck_make_at(json_t *items, size_t base, const unsigned char seed[SAMPLING_SEED_BYTES],
		      json_t **out, struct err *err)
{
	int64_t N, kind = 0;
	json_t *o = NULL;
	int rc, oom;

	*out = NULL;
	rc = check_items(items, err);
	if (rc)
		return rc;
	N = (int64_t)json_array_size(items);
	if (base >= (size_t)N)
		return err_set(err, AIRLOCK_EINVAL, "the check's base is item %zu of %lld", base + 1,
			       (long long)N);
	if (N >= 2 && (rc = sampling_draw(2, 1, seed, &kind, err)))
		return rc;
	for (int t = 0; t < 2 && !o; t++, kind = 1 - kind) {
		o = candidate(items, N, (int64_t)base, kind, &oom);
		if (oom)
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (!o)
		return err_set(err, AIRLOCK_ENOTFOUND,
			       "item %zu gives no seeded check: no other record, no value moves",
			       base + 1);
	*out = o;
	return 0;
}
