/* seedcheck.c — synthetic wrong items for seeded checks. */
#include "seedcheck.h"
#include "summary.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define NKINDS 3
static const char *const kinds[NKINDS] = {"contradicting_evidence", "unsupported_reason",
					  "stale_evidence"};

/* The kinds of signal a sales agent argues from (bookgen's), with the
 * phrase a reason uses for each when it names none of them. */
#define NVOCAB 6
static const char *const vocab[NVOCAB] = {"intent", "hiring", "news", "tech_install", "funding",
					  "usage"};
static const char *const phrase[NVOCAB] = {"intent surge", "hiring spree", "in the news",
					   "new tech install", "funding round", "usage growth"};

/* Words of a signal that tells against a customer: a tier raised on it is
 * a misreading. */
static const char *const setback[] = {"layoff", "churn", "no admin login", "downsiz",
				      "cancel",	"bankrupt", "lost the", NULL};

int seedcheck_due(int64_t every, int64_t nth)
{
	return every > 0 && nth > 0 && nth % every == 0;
}

const char *seedcheck_what(const char *kind)
{
	if (!kind)
		return "it was wrong";
	if (!strcmp(kind, "contradicting_evidence"))
		return "it raised the tier on evidence of a setback (the evidence argues the other way)";
	if (!strcmp(kind, "unsupported_reason"))
		return "its reason names a kind of signal that none of its evidence is";
	if (!strcmp(kind, "stale_evidence"))
		return "its evidence is older than the policy's evidence_max_age";
	if (!strcmp(kind, "evidence_of_another"))
		return "its reasons and evidence were about another account";
	return "its change put the values back to what they were, against its own reasons";
}

static const char *record_of(json_t *item)
{
	return json_string_value(json_object_get(item, "record_id"));
}

static const char *str_of(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

/* 1 when text contains needle, case-insensitive. */
static int contains(const char *text, const char *needle)
{
	size_t n = strlen(needle), i;

	for (; *text; text++) {
		for (i = 0; i < n && text[i]; i++)
			if (tolower((unsigned char)text[i]) != needle[i])
				break;
		if (i == n)
			return 1;
	}
	return 0;
}

static json_t *signal_by_id(const struct seedcheck_book *bk, const char *id)
{
	size_t i;
	json_t *s;

	json_array_foreach(bk ? bk->signals : NULL, i, s)
		if (id && !strcmp(str_of(s, "id"), id))
			return s;
	return NULL;
}

static int is_setback(json_t *sig)
{
	int i;

	for (i = 0; setback[i]; i++)
		if (contains(str_of(sig, "kind"), setback[i]) ||
		    contains(str_of(sig, "detail"), setback[i]))
			return 1;
	return 0;
}

/* 1 when the item's change raises a tier: a smaller number than before. */
static int raises_tier(json_t *item)
{
	json_t *to = json_object_get(json_object_get(item, "changes"), "tier");
	json_t *from = json_object_get(json_object_get(item, "before"), "tier");

	return json_is_integer(to) && json_is_integer(from) &&
	       json_integer_value(to) < json_integer_value(from);
}

/* One 0-based pick of n from the seed, mixed with salt so picks of the
 * same size differ. */
static int pick(int64_t n, const unsigned char seed[SAMPLING_SEED_BYTES], unsigned salt,
		int64_t *out, struct err *err)
{
	unsigned char s[SAMPLING_SEED_BYTES];

	memcpy(s, seed, sizeof s);
	s[0] ^= (unsigned char)salt;
	*out = 0;
	return n > 1 ? sampling_draw(n, 1, s, out, err) : 0;
}

static json_t *base_copy(json_t *item, size_t idx, const char *kind)
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

/* contradicting_evidence: a tier raised, citing a setback of the record's
 * own, the reason quoting it as an agent that misread it would. */
static int make_contradicts(json_t *a, size_t base, const struct seedcheck_book *bk,
			    const unsigned char seed[SAMPLING_SEED_BYTES], json_t **o,
			    struct err *err)
{
	json_t *s, *found[16];
	int64_t n = 0, k;
	size_t i;
	int rc;
	char reason[300];

	if (!raises_tier(a))
		return 0;
	json_array_foreach(bk ? bk->signals : NULL, i, s)
		if (n < 16 && is_setback(s) && str_of(s, "id")[0])
			found[n++] = s;
	if (!n)
		return 0;
	rc = pick(n, seed, 0x11, &k, err);
	if (rc)
		return rc;
	s = found[k];
	if (str_of(s, "detail")[0])
		(void)snprintf(reason, sizeof reason, "%s", str_of(s, "detail"));
	else
		(void)snprintf(reason, sizeof reason, "%s signal", str_of(s, "kind"));
	*o = base_copy(a, base, kinds[0]);
	if (!*o ||
	    json_object_set_new(*o, "reasons", json_pack("[s]", reason)) ||
	    json_object_set_new(*o, "evidence", json_pack("[s]", str_of(s, "id"))))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

/* unsupported_reason: the reason names a kind of signal none of the
 * evidence is: a cited kind it names is swapped for it, or it is added. */
static int make_unsupported(json_t *a, size_t base, const struct seedcheck_book *bk,
			    const unsigned char seed[SAMPLING_SEED_BYTES], json_t **o,
			    struct err *err)
{
	int cited[NVOCAB] = {0}, free_k[NVOCAB], nfree = 0, v, named = -1;
	json_t *e, *reasons = json_object_get(a, "reasons");
	const char *r0 = json_string_value(json_array_get(reasons, 0));
	char reason[1024], word[32];
	int64_t k;
	long at = -1;
	size_t i;
	int rc;

	json_array_foreach(json_object_get(a, "evidence"), i, e)
	{
		json_t *s = signal_by_id(bk, json_string_value(e));

		for (v = 0; s && v < NVOCAB; v++)
			if (!strcmp(str_of(s, "kind"), vocab[v]))
				cited[v] = 1;
	}
	for (v = 0; v < NVOCAB; v++)
		if (!cited[v] && (!r0 || summary_names_at(r0, vocab[v]) < 0))
			free_k[nfree++] = v;
	if (!nfree)
		return 0;
	rc = pick(nfree, seed, 0x22, &k, err);
	if (rc)
		return rc;
	v = free_k[k];
	for (i = 0; r0 && i < NVOCAB && named < 0; i++)
		if (cited[i] && (at = summary_names_at(r0, vocab[i])) >= 0)
			named = (int)i;
	(void)snprintf(word, sizeof word, "%s", vocab[v]);
	for (i = 0; word[i]; i++)
		if (word[i] == '_')
			word[i] = ' ';
	if (named >= 0 && strlen(r0) < sizeof reason - 40)
		(void)snprintf(reason, sizeof reason, "%.*s%s%s", (int)at, r0, word,
			       r0 + at + (long)strlen(vocab[named]));
	else if (r0 && *r0 && strlen(r0) < sizeof reason - 40)
		(void)snprintf(reason, sizeof reason, "%s; %s", r0, phrase[v]);
	else
		(void)snprintf(reason, sizeof reason, "%s", phrase[v]);
	*o = base_copy(a, base, kinds[1]);
	if (*o && !json_is_array(json_object_get(*o, "reasons")))
		json_object_set_new(*o, "reasons", json_array());
	if (!*o || (json_array_size(json_object_get(*o, "reasons"))
			? json_array_set_new(json_object_get(*o, "reasons"), 0, json_string(reason))
			: json_array_append_new(json_object_get(*o, "reasons"), json_string(reason))))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

/* stale_evidence: the record's own signal older than the policy allows,
 * of a kind the item already cites when there is one. */
static int make_too_old(json_t *a, size_t base, const struct seedcheck_book *bk,
			const unsigned char seed[SAMPLING_SEED_BYTES], json_t **o, struct err *err)
{
	json_t *s, *found[16], *same[16];
	int64_t n = 0, ns = 0, k;
	size_t i, j;
	time_t t;
	int rc;

	if (!bk || bk->max_age <= 0)
		return 0;
	json_array_foreach(bk->signals, i, s)
	{
		int cited_kind = 0;
		json_t *e;

		if (!str_of(s, "id")[0] || clock_parse(str_of(s, "observed_at"), &t) ||
		    (int64_t)(bk->now - t) <= bk->max_age)
			continue;
		json_array_foreach(json_object_get(a, "evidence"), j, e)
		{
			json_t *c = signal_by_id(bk, json_string_value(e));

			if (c && !strcmp(str_of(c, "kind"), str_of(s, "kind")))
				cited_kind = 1;
		}
		if (n < 16)
			found[n++] = s;
		if (cited_kind && ns < 16)
			same[ns++] = s;
	}
	if (!n)
		return 0;
	rc = ns ? pick(ns, seed, 0x33, &k, err) : pick(n, seed, 0x33, &k, err);
	if (rc)
		return rc;
	s = ns ? same[k] : found[k];
	*o = base_copy(a, base, kinds[2]);
	if (!*o || json_object_set_new(*o, "evidence", json_pack("[s]", str_of(s, "id"))))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

/* 1 when the candidate says what some real item says (same record, change,
 * reasons and evidence): a reader would be right to pass it. */
static int is_real(json_t *items, json_t *o)
{
	size_t i;
	json_t *it;

	json_array_foreach(items, i, it)
		if (!strcmp(record_of(it), record_of(o)) &&
		    json_equal(json_object_get(it, "changes"), json_object_get(o, "changes")) &&
		    json_equal(json_object_get(it, "reasons"), json_object_get(o, "reasons")) &&
		    json_equal(json_object_get(it, "evidence"), json_object_get(o, "evidence")))
			return 1;
	return 0;
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

int seedcheck_make_at(json_t *items, size_t base, const struct seedcheck_book *book,
		      const unsigned char seed[SAMPLING_SEED_BYTES], json_t **out, struct err *err)
{
	json_t *a, *o = NULL;
	int64_t first;
	int rc, t;

	*out = NULL;
	rc = check_items(items, err);
	if (rc)
		return rc;
	if (base >= json_array_size(items))
		return err_set(err, AIRLOCK_EINVAL, "the check's base is item %zu of %zu", base + 1,
			       json_array_size(items));
	a = json_array_get(items, base);
	/* the first kind from the seed, then the others in order: the result
	 * stays a function of the seed, the items and the book alone */
	rc = pick(NKINDS, seed, 0, &first, err);
	for (t = 0; !rc && t < NKINDS && !o; t++) {
		int kind = (int)((first + t) % NKINDS);

		rc = kind == 0	 ? make_contradicts(a, base, book, seed, &o, err)
		     : kind == 1 ? make_unsupported(a, base, book, seed, &o, err)
				 : make_too_old(a, base, book, seed, &o, err);
		if (!rc && o && is_real(items, o)) {
			json_decref(o);
			o = NULL;
		}
	}
	if (rc) {
		json_decref(o);
		return rc;
	}
	if (!o)
		return err_set(err, AIRLOCK_ENOTFOUND,
			       "item %zu gives no seeded check: nothing in its record's signals to"
			       " misread",
			       base + 1);
	*out = o;
	return 0;
}
