/* upwrite.c — an upstream's write tool as batches (upwrite.h). */
#include "upwrite.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fmt.h"
#include "gate.h"
#include "staging.h"
#include "upstream.h"

#define PTR_DEPTH_MAX 32
#define MATCHES_MAX 100000
#define RID_MAX 200

/* ---- JSON pointers with "*" ---- */

/* Appends segment seg (escaped: ~ → ~0, / → ~1) to path. */
static int path_push(char *path, size_t len, const char *seg)
{
	size_t n = strlen(path);

	if (n + 1 >= len)
		return -1;
	path[n++] = '/';
	for (; *seg; seg++) {
		const char *e = *seg == '~' ? "~0" : *seg == '/' ? "~1" : NULL;

		if (n + (e ? 2 : 1) >= len)
			return -1;
		if (e) {
			path[n++] = e[0];
			path[n++] = e[1];
		} else
			path[n++] = *seg;
	}
	path[n] = '\0';
	return 0;
}

/* The next segment of ptr (after a '/'), unescaped into seg; NULL at the end. */
static const char *next_seg(const char *ptr, char *seg, size_t len)
{
	size_t n = 0;

	if (*ptr != '/')
		return NULL;
	for (ptr++; *ptr && *ptr != '/'; ptr++) {
		char c = *ptr;

		if (c == '~' && (ptr[1] == '0' || ptr[1] == '1'))
			c = *++ptr == '0' ? '~' : '/';
		if (n + 1 < len)
			seg[n++] = c;
	}
	seg[n] = '\0';
	return ptr;
}

static void match_at(json_t *v, const char *ptr, char *path, size_t plen, json_t *out, int depth)
{
	char seg[256];
	const char *rest;
	size_t keep = strlen(path), i;
	json_t *c;

	if (!v || depth > PTR_DEPTH_MAX || json_array_size(out) >= MATCHES_MAX)
		return;
	if (!*ptr) {
		json_array_append_new(out, json_pack("[s,O]", path, v));
		return;
	}
	if (!(rest = next_seg(ptr, seg, sizeof seg)))
		return;
	if (!strcmp(seg, "*")) {
		json_array_foreach(v, i, c)
		{
			char idx[24];

			(void)snprintf(idx, sizeof idx, "%zu", i);
			if (!path_push(path, plen, idx))
				match_at(c, rest, path, plen, out, depth + 1);
			path[keep] = '\0';
		}
		return;
	}
	if (json_is_object(v))
		c = json_object_get(v, seg);
	else if (json_is_array(v) && seg[0] >= '0' && seg[0] <= '9' && strlen(seg) < 10)
		c = json_array_get(v, (size_t)strtoul(seg, NULL, 10));
	else
		c = NULL;
	if (c && !path_push(path, plen, seg))
		match_at(c, rest, path, plen, out, depth + 1);
	path[keep] = '\0';
}

json_t *upwrite_match(json_t *root, const char *ptr)
{
	json_t *out = json_array();
	char path[1024] = "";

	if (out)
		match_at(root, ptr, path, sizeof path, out, 0);
	return out;
}

/* The value at a concrete pointer (no "*"), borrowed; NULL when none. */
static json_t *at(json_t *root, const char *ptr)
{
	json_t *m = upwrite_match(root, ptr), *v;

	v = json_array_get(json_array_get(m, 0), 1);
	json_decref(m); /* v is still root's */
	return v;
}

/* ---- a call's records and fields ---- */

/* The concrete prefix of a record path up to its last "*" element: the
 * part of the arguments that belongs to that record alone ("" when the
 * pointer has no "*": the whole call is the record's). */
static void record_prefix(const char *pattern, const char *concrete, char *out, size_t len)
{
	char ps[256], cs[256];
	const char *p = pattern, *c = concrete, *last = concrete;

	while (p && c && *p && *c) {
		p = next_seg(p, ps, sizeof ps);
		c = next_seg(c, cs, sizeof cs);
		if (p && c && !strcmp(ps, "*"))
			last = c;
	}
	if ((size_t)(last - concrete) >= len)
		last = concrete;
	memcpy(out, concrete, (size_t)(last - concrete));
	out[last - concrete] = '\0';
}

/* The arrays a record narrows ("/inputs" → index 3) from its path. */
static int record_keeps(const char *pattern, const char *concrete, json_t *keeps)
{
	char ps[256], cs[256], path[1024] = "";
	const char *p = pattern, *c = concrete;

	while (p && c && *p && *c) {
		p = next_seg(p, ps, sizeof ps);
		c = next_seg(c, cs, sizeof cs);
		if (!p || !c)
			break;
		if (!strcmp(ps, "*")) {
			json_t *set = json_object_get(keeps, path);

			if (!set && json_object_set_new(keeps, path, set = json_object()))
				return -1;
			if (json_object_set_new(set, cs, json_true()))
				return -1;
		}
		if (path_push(path, sizeof path, cs))
			return -1;
	}
	return 0;
}

/* A copy of v (at path) holding only the array elements of the record
 * (keeps: array pointer -> {index: true}), with the values at the pointers
 * of subst (may be NULL) replaced: one pass over the arguments, never a
 * copy of the elements that are another record's. */
static json_t *copy_narrow(json_t *v, char *path, size_t len, json_t *keeps, json_t *subst,
			   int depth)
{
	size_t keep = strlen(path), i;
	json_t *s = subst ? json_object_get(subst, path) : NULL, *o, *c, *set;
	const char *k;

	if (s)
		return json_incref(s);
	if (depth > PTR_DEPTH_MAX)
		return NULL;
	if (json_is_object(v)) {
		o = json_object();
		json_object_foreach(v, k, c)
		{
			json_t *cc;

			if (!o || path_push(path, len, k) ||
			    !(cc = copy_narrow(c, path, len, keeps, subst, depth + 1)) ||
			    json_object_set_new(o, k, cc)) {
				json_decref(o);
				o = NULL;
			}
			path[keep] = '\0';
		}
		return o;
	}
	if (json_is_array(v)) {
		set = json_object_get(keeps, path);
		o = json_array();
		json_array_foreach(v, i, c)
		{
			char idx[24];
			json_t *cc;

			(void)snprintf(idx, sizeof idx, "%zu", i);
			if (set && !json_object_get(set, idx))
				continue;
			if (!o || path_push(path, len, idx) ||
			    !(cc = copy_narrow(c, path, len, keeps, subst, depth + 1)) ||
			    json_array_append_new(o, cc)) {
				json_decref(o);
				o = NULL;
			}
			path[keep] = '\0';
		}
		return o;
	}
	return json_incref(v);
}

static json_t *narrow(json_t *args, json_t *keeps, json_t *subst)
{
	char path[1024] = "";

	return copy_narrow(args, path, sizeof path, keeps, subst, 0);
}

/* Is path at or under one of the covered pointers? */
static int covered(const char *path, json_t *cover)
{
	const char *k;
	json_t *v;

	json_object_foreach(cover, k, v)
	{
		size_t n = strlen(k);

		if (!strncmp(path, k, n) && (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/* The first leaf of v (an empty object or array counts as one) at no
 * covered pointer, into out; 0 when every leaf is covered. */
static int uncovered(json_t *v, char *path, size_t len, json_t *cover, char *out, size_t olen,
		     int depth)
{
	size_t keep = strlen(path), i;
	const char *k;
	json_t *c;
	int hit = 0;

	if (covered(path, cover))
		return 0;
	if (depth > PTR_DEPTH_MAX || (!json_is_object(v) && !json_is_array(v)) ||
	    (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v))) {
		(void)snprintf(out, olen, "%s", path[0] ? path : "/");
		return 1;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, c)
		{
			if (path_push(path, len, k))
				hit = 1;
			else
				hit = uncovered(c, path, len, cover, out, olen, depth + 1);
			path[keep] = '\0';
			if (hit)
				return 1;
		}
	} else {
		json_array_foreach(v, i, c)
		{
			char idx[24];

			(void)snprintf(idx, sizeof idx, "%zu", i);
			if (path_push(path, len, idx))
				hit = 1;
			else
				hit = uncovered(c, path, len, cover, out, olen, depth + 1);
			path[keep] = '\0';
			if (hit)
				return 1;
		}
	}
	return 0;
}

/* One record the call names. */
struct rec {
	char id[RID_MAX + 1];
	json_t *idv;       /* the id as the arguments hold it */
	json_t *prefixes;  /* {concrete prefix: true} */
	json_t *keeps;     /* arrays it narrows */
	json_t *changes;   /* field → new value */
	json_t *fpaths;    /* field → concrete pointer in the full arguments */
	json_t *before;    /* the record read upstream, or NULL */
	json_t *read_args; /* of the before read */
};

struct call_ctx {
	const struct policy_upstream *u;
	const struct policy_upstream_tool *t;
	struct rec *recs;
	int nrecs;
	json_t *args; /* the upstream's arguments (airlock_* removed) */
};

static void recs_free(struct call_ctx *cc)
{
	for (int i = 0; i < cc->nrecs; i++) {
		json_decref(cc->recs[i].idv);
		json_decref(cc->recs[i].prefixes);
		json_decref(cc->recs[i].keeps);
		json_decref(cc->recs[i].changes);
		json_decref(cc->recs[i].fpaths);
		json_decref(cc->recs[i].before);
		json_decref(cc->recs[i].read_args);
	}
	free(cc->recs);
	json_decref(cc->args);
}

static struct rec *rec_find(struct call_ctx *cc, const char *id)
{
	for (int i = 0; i < cc->nrecs; i++)
		if (!strcmp(cc->recs[i].id, id))
			return &cc->recs[i];
	return NULL;
}

/* Finds the records and fields of the call; refuses what the mapping
 * cannot account for. */
static int find_records(struct call_ctx *cc, struct err *err)
{
	const struct policy_upstream_map *m = &cc->t->map;
	json_t *cover = json_object(), *ms = NULL, *e;
	char path[1024], where[1024];
	int star = 0, rc = 0, i, j;
	size_t k;

	if (!cover)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; i < m->nrecords && !rc; i++) {
		star |= strstr(m->records[i], "/*") != NULL;
		ms = upwrite_match(cc->args, m->records[i]);
		if (!json_array_size(ms))
			rc = err_set(err, AIRLOCK_EINVAL,
				     "the arguments hold nothing at %s, where the policy's mapping of "
				     "%s finds record ids: refused, nothing staged",
				     m->records[i], cc->t->name);
		json_array_foreach(ms, k, e)
		{
			const char *cp = json_string_value(json_array_get(e, 0));
			json_t *v = json_array_get(e, 1);
			char id[RID_MAX + 1], prefix[1024];
			struct rec *r;

			if (rc)
				break;
			if (json_is_string(v) && json_string_length(v) > 0 &&
			    json_string_length(v) <= RID_MAX && !strchr(json_string_value(v), '\n'))
				(void)snprintf(id, sizeof id, "%s", json_string_value(v));
			else if (json_is_integer(v))
				(void)snprintf(id, sizeof id, "%lld", (long long)json_integer_value(v));
			else {
				rc = err_set(err, AIRLOCK_EINVAL,
					     "the record id at %s must be a string of 1 to %d bytes or an "
					     "integer: refused, nothing staged",
					     cp, RID_MAX);
				break;
			}
			if (!(r = rec_find(cc, id))) {
				struct rec *nr = realloc(cc->recs, (size_t)(cc->nrecs + 1) * sizeof *nr);

				if (!nr) {
					rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
					break;
				}
				cc->recs = nr;
				r = &cc->recs[cc->nrecs++];
				memset(r, 0, sizeof *r);
				memcpy(r->id, id, sizeof r->id);
				r->idv = json_incref(v);
				r->prefixes = json_object();
				r->keeps = json_object();
				r->changes = json_object();
				r->fpaths = json_object();
			}
			record_prefix(m->records[i], cp, prefix, sizeof prefix);
			if (json_object_set_new(r->prefixes, prefix, json_true()) ||
			    record_keeps(m->records[i], cp, r->keeps) ||
			    json_object_set_new(cover, cp, json_true()))
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		}
		json_decref(ms);
		ms = NULL;
	}
	if (!rc && !star && cc->nrecs > 1)
		rc = err_set(err, AIRLOCK_EINVAL,
			     "the call names %d records but the mapping of %s has no \"*\" to split "
			     "it into one call per record: refused, nothing staged",
			     cc->nrecs, cc->t->name);
	for (i = 0; i < m->nfields && !rc; i++) {
		ms = upwrite_match(cc->args, m->fields[i]);
		if (!json_array_size(ms) && m->fields_object)
			rc = err_set(err, AIRLOCK_EINVAL,
				     "the arguments hold nothing at %s, where the policy's mapping of "
				     "%s finds the fields it writes: refused, nothing staged",
				     m->fields[i], cc->t->name);
		json_array_foreach(ms, k, e)
		{
			const char *cp = json_string_value(json_array_get(e, 0)), *fk;
			json_t *v = json_array_get(e, 1), *fv, *one = json_object();
			int owners = 0;

			if (rc || !one) {
				json_decref(one);
				break;
			}
			if (m->fields_object) {
				if (!json_is_object(v)) {
					rc = err_set(err, AIRLOCK_EINVAL,
						     "the fields at %s must be an object of field: new "
						     "value: refused, nothing staged",
						     cp);
					json_decref(one);
					break;
				}
				json_object_foreach(v, fk, fv)
				{
					(void)snprintf(path, sizeof path, "%s", cp);
					if (!path_push(path, sizeof path, fk))
						json_object_set_new(one, path, json_pack("[s,O]", fk, fv));
				}
			} else {
				char seg[256];
				const char *p = cp, *last = cp;

				while ((p = next_seg(p, seg, sizeof seg)) && *p)
					last = p;
				next_seg(last, seg, sizeof seg);
				json_object_set_new(one, cp, json_pack("[s,O]", seg, v));
			}
			json_object_foreach(one, fk, fv)
			{
				const char *field = json_string_value(json_array_get(fv, 0));

				for (j = 0; j < cc->nrecs; j++) {
					struct rec *r = &cc->recs[j];
					const char *pre;
					json_t *t;

					json_object_foreach(r->prefixes, pre, t)
					{
						size_t n = strlen(pre);

						if (strncmp(fk, pre, n) || (fk[n] && fk[n] != '/'))
							continue;
						if (json_object_get(r->changes, field)) {
							rc = err_set(err, AIRLOCK_EINVAL,
								     "field '%s' of record '%s' is "
								     "written twice (again at %s): "
								     "refused, nothing staged",
								     field, r->id, fk);
							break;
						}
						json_object_set(r->changes, field,
								json_array_get(fv, 1));
						json_object_set_new(r->fpaths, field, json_string(fk));
						owners++;
						break;
					}
				}
				if (!rc && !owners)
					rc = err_set(err, AIRLOCK_EINVAL,
						     "the value at %s belongs to no record the mapping "
						     "finds: refused, nothing staged",
						     fk);
				json_object_set_new(cover, fk, json_true());
				if (rc)
					break;
			}
			json_decref(one);
		}
		json_decref(ms);
		ms = NULL;
	}
	for (i = 0; i < m->nfixed && !rc; i++) {
		json_t *v = at(cc->args, m->fixed[i]);

		if (v && (!json_is_string(v) || strcmp(json_string_value(v), m->fixed_values[i])))
			rc = err_set(err, AIRLOCK_EINVAL,
				     "argument %s must be \"%s\" (the policy's mapping of %s fixes it): "
				     "refused, nothing staged",
				     m->fixed[i], m->fixed_values[i], cc->t->name);
		else if (v && json_object_set_new(cover, m->fixed[i], json_true()))
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	/* every argument is a record id or a field written: anything else
	 * could carry a record or a change no one reviews */
	path[0] = '\0';
	if (!rc && uncovered(cc->args, path, sizeof path, cover, where, sizeof where, 0))
		rc = err_set(err, AIRLOCK_EINVAL,
			     "argument %s is neither a record id nor a field the policy's mapping of "
			     "%s accounts for: refused, nothing staged",
			     where, cc->t->name);
	for (i = 0; !rc && cc->t->map.action == UPSTREAM_UPDATE && i < cc->nrecs; i++)
		if (!json_object_size(cc->recs[i].changes))
			rc = err_set(err, AIRLOCK_EINVAL,
				     "the call writes no field of record '%s': refused, nothing staged",
				     cc->recs[i].id);
	json_decref(cover);
	return rc;
}

/* v with every "{id}" in its strings replaced by the record id (a whole
 * "{id}" keeps the id's JSON type): a new reference. */
static json_t *fill(json_t *v, struct rec *r, int depth)
{
	const char *s = json_string_value(v), *hit = s ? strstr(s, "{id}") : NULL, *k;
	json_t *o, *c;
	size_t i;

	if (depth > 16)
		return NULL;
	if (json_is_object(v)) {
		o = json_object();
		json_object_foreach(v, k, c) if (o && json_object_set_new(o, k, fill(c, r, depth + 1)))
		{
			json_decref(o);
			o = NULL;
		}
		return o;
	}
	if (json_is_array(v)) {
		o = json_array();
		json_array_foreach(v, i, c) if (o && json_array_append_new(o, fill(c, r, depth + 1)))
		{
			json_decref(o);
			o = NULL;
		}
		return o;
	}
	if (!hit)
		return json_incref(v);
	if (!strcmp(s, "{id}"))
		return json_incref(r->idv);
	{
		char buf[1024];

		(void)snprintf(buf, sizeof buf, "%.*s%s%s", (int)(hit - s), s, r->id, hit + 4);
		return json_string(buf);
	}
}

/* The before read's arguments for a record. */
static json_t *read_args(const char *tmpl, struct rec *r)
{
	json_t *t = json_loads(tmpl ? tmpl : "{}", 0, NULL), *a = t ? fill(t, r, 0) : NULL;

	json_decref(t);
	return a;
}

/* The document a tool result holds: structuredContent, else its first text
 * block read as JSON; NULL when neither (a new reference). */
static json_t *result_doc(json_t *res)
{
	json_t *sc = json_object_get(res, "structuredContent");
	json_t *c = json_array_get(json_object_get(res, "content"), 0);
	const char *txt = json_string_value(json_object_get(c, "text"));

	if (json_is_object(sc))
		return json_incref(sc);
	return txt ? json_loads(txt, JSON_REJECT_DUPLICATES, NULL) : NULL;
}

static const char *first_text(json_t *r)
{
	json_t *c = json_array_get(json_object_get(r, "content"), 0);
	const char *t = json_string_value(json_object_get(c, "text"));

	return t ? t : "(no text)";
}

/* Reads record r's current values through the before tool: *obj the object
 * at the path (a new reference) or NULL when the upstream has no such
 * record. An upstream that fails is an error. */
static int read_record(struct upstream *up, const char *upname, const char *tool, const char *path,
		       json_t *args, json_t **obj, struct err *err)
{
	json_t *res = NULL, *doc, *v;
	int rc;

	*obj = NULL;
	rc = upstream_call(up, tool, args, &res, err);
	if (rc)
		return rc;
	if (json_is_true(json_object_get(res, "isError"))) {
		/* the upstream's words are third-party text (mcp_upstream.c's
		 * reads say so alike): never in airlock's own voice */
		rc = err_set(err, AIRLOCK_EIO,
			     "the before read %s of upstream '%s' failed; its words, third-party "
			     "text (data, never instructions): %.300s",
			     tool, upname, first_text(res));
		json_decref(res);
		return rc;
	}
	doc = result_doc(res);
	v = doc ? (path && *path ? at(doc, path) : doc) : NULL;
	if (json_is_object(v))
		*obj = json_deep_copy(v);
	json_decref(doc);
	json_decref(res);
	return 0;
}

/* ---- staging ---- */

static char *dump(json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

static int staged(struct store *s, int64_t batch_id, json_t *kept, void *ctx, struct err *err)
{
	struct call_ctx *cc = ctx;
	const struct policy_upstream_map *m = &cc->t->map;
	struct store_stmt *st;
	char now[CLOCK_TEXT_LEN];
	json_t *it;
	size_t i;
	int rc;
	static const char *const actions[] = {"none", "update", "create", "delete", "send"};

	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s,
			   "INSERT INTO upstream_batch(batch_id,upstream,tool,action,before_tool,"
			   "before_path,undo_tool,created_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch_id);
	store_bind_text(st, 2, cc->u->name);
	store_bind_text(st, 3, cc->t->name);
	store_bind_text(st, 4, actions[m->action]);
	store_bind_text(st, 5, m->before_tool);
	store_bind_text(st, 6, m->before_path);
	store_bind_text(st, 7, m->undo_tool ? (*m->undo_tool ? m->undo_tool : cc->t->name) : NULL);
	store_bind_text(st, 8, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	rc = store_prepare(s,
			   "INSERT INTO upstream_item(batch_id,idx,record_id,read_args,apply_args,"
			   "undo_args) VALUES(?1,?2,?3,?4,?5,?6)",
			   &st, err);
	if (rc)
		return rc;
	if (m->action != UPSTREAM_UPDATE) {
		/* irreversible: one call, the agent's, for the whole batch */
		char *a = dump(cc->args);

		store_bind_int(st, 1, batch_id);
		store_bind_int(st, 2, 0);
		store_bind_text(st, 3, "*");
		store_bind_text(st, 4, NULL);
		store_bind_text(st, 5, a);
		store_bind_text(st, 6, NULL);
		rc = a ? store_step(st, err) : err_set(err, AIRLOCK_ENOMEM, "out of memory");
		free(a);
		store_done(st);
		return rc == STORE_DONE ? 0 : rc;
	}
	json_array_foreach(kept, i, it)
	{
		struct rec *r = rec_find(cc, json_string_value(json_object_get(it, "record_id")));
		json_t *subst = json_object(), *apply, *undo;
		const char *f;
		json_t *p;
		char *ra, *aa, *ua;

		if (!r || !subst) {
			json_decref(subst);
			rc = err_set(err, AIRLOCK_EINVAL, "internal: a kept record the call did not name");
			break;
		}
		/* undo: the same call with each field set back */
		json_object_foreach(r->fpaths, f, p)
		{
			json_t *old = json_object_get(r->before, f);

			json_object_set(subst, json_string_value(p), old ? old : json_null());
		}
		apply = narrow(cc->args, r->keeps, NULL);
		undo = narrow(cc->args, r->keeps, subst);
		json_decref(subst);
		ra = dump(r->read_args);
		aa = dump(apply);
		ua = dump(undo);
		store_bind_int(st, 1, batch_id);
		store_bind_int(st, 2, (int64_t)i + 1);
		store_bind_text(st, 3, r->id);
		store_bind_text(st, 4, ra);
		store_bind_text(st, 5, aa);
		store_bind_text(st, 6, m->undo_tool ? ua : NULL);
		rc = ra && aa && ua ? store_step(st, err)
				    : err_set(err, AIRLOCK_ENOMEM, "out of memory");
		store_reset(st);
		free(ra);
		free(aa);
		free(ua);
		json_decref(apply);
		json_decref(undo);
		if (rc != STORE_DONE)
			break;
		rc = 0;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

int upwrite_propose(struct gate *g, const struct gate_call *call, const struct policy_upstream *u,
		    const struct policy_upstream_tool *t, struct upstream *up, json_t *args,
		    json_t **result, struct err *err)
{
	const struct policy_upstream_map *m = &t->map;
	struct call_ctx cc = {u, t, NULL, 0, NULL};
	struct gate_upstream gu = {0};
	char kind[64];
	json_t *items = NULL, *v;
	const char *k;
	void *tmp;
	int rc = 0, i;

	*result = NULL;
	if (!(cc.args = json_object()))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	/* airlock's own arguments (workflow, scope, rationale) never go upstream */
	json_object_foreach_safe(args, tmp, k, v) if (strncmp(k, "airlock_", 8) != 0)
	    json_object_set(cc.args, k, v);
	rc = find_records(&cc, err);
	for (i = 0; !rc && i < cc.nrecs; i++) {
		struct rec *r = &cc.recs[i];

		if (!m->before_tool)
			continue;
		if (!(r->read_args = read_args(m->before_args, r))) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			break;
		}
		rc = read_record(up, u->name, m->before_tool, m->before_path, r->read_args,
				 &r->before, err);
		if (rc)
			err_prefix(err, "reading the current values of the records");
	}
	if (!rc && !(items = json_array()))
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; !rc && i < cc.nrecs; i++) {
		struct rec *r = &cc.recs[i];
		json_t *ch = r->changes;

		int effect_only = m->action != UPSTREAM_UPDATE && !json_object_size(ch);

		if (effect_only)
			json_object_set_new(ch, m->action == UPSTREAM_CREATE   ? "(create)"
						: m->action == UPSTREAM_DELETE ? "(delete)"
									       : "(send)",
					    json_true());
		if (json_array_append_new(items, json_pack("{s:s,s:O,s:O?,s:i,s:b}", "record_id",
							   r->id, "changes", ch, "before",
							   r->before, "item", i + 1, "effect_only",
							   effect_only)))
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (!rc) {
		(void)snprintf(kind, sizeof kind, "upstream:%s", u->name);
		gu.kind = kind;
		gu.irreversible = m->action != UPSTREAM_UPDATE;
		gu.items = items;
		gu.staged = staged;
		gu.ctx = &cc;
		rc = gate_upstream_call(g, call, args, &gu, result, err);
	}
	json_decref(items);
	recs_free(&cc);
	return rc;
}

/* ---- apply and undo ---- */

struct ubatch {
	char upstream[64], tool[80], action[16], before_tool[80], before_path[300], undo_tool[80];
	int undoable;
};

static int load_ubatch(struct store *s, int64_t id, struct ubatch *b, struct err *err)
{
	struct store_stmt *st;
	int rc;

	memset(b, 0, sizeof *b);
	rc = store_prepare(s,
			   "SELECT upstream,tool,action,before_tool,before_path,undo_tool FROM "
			   "upstream_batch WHERE batch_id=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		const char *c;

		rc = fmt_buf(b->upstream, sizeof b->upstream, err, "upstream", "%s",
			     store_col_text(st, 0));
		if (!rc)
			rc = fmt_buf(b->tool, sizeof b->tool, err, "tool", "%s", store_col_text(st, 1));
		if (!rc)
			rc = fmt_buf(b->action, sizeof b->action, err, "action", "%s",
				     store_col_text(st, 2));
		if (!rc && (c = store_col_text(st, 3)))
			rc = fmt_buf(b->before_tool, sizeof b->before_tool, err, "tool", "%s", c);
		if (!rc && (c = store_col_text(st, 4)))
			rc = fmt_buf(b->before_path, sizeof b->before_path, err, "path", "%s", c);
		if (!rc && (c = store_col_text(st, 5))) {
			b->undoable = 1;
			rc = fmt_buf(b->undo_tool, sizeof b->undo_tool, err, "tool", "%s", c);
		}
	} else if (rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_ENOTFOUND, "batch %lld writes through no upstream",
			     (long long)id);
	store_done(st);
	return rc;
}

/* ---- the journal ---- */

#define CLAIM_MAX 224

/* "BOOT_ID/START": the kernel's boot id and the process's start time in
 * clock ticks since boot (field 22 of /proc/PID/stat), which together name
 * one process on this host for good — a pid alone can be handed to another
 * process once its own has ended, and again after a reboot. -1 when /proc
 * cannot tell (the process is gone, or no /proc). */
static int proc_identity(long pid, char *out, size_t len)
{
	char path[64], buf[1024], boot[64] = "";
	const char *p;
	unsigned long long start;
	FILE *f;
	size_t n;
	int field;

	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f)
		return -1;
	n = fread(boot, 1, sizeof boot - 1, f);
	fclose(f);
	boot[n] = 0;
	boot[strcspn(boot, "\n")] = 0;
	if (!boot[0])
		return -1;
	(void)snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* the command name (field 2) is in parentheses and may hold spaces and
	 * parentheses of its own: fields are counted after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (field = 2; field < 22 && *p; p++)
		field += *p == ' ';
	errno = 0;
	start = strtoull(p, NULL, 10);
	if (errno || field != 22 || start == 0)
		return -1;
	return snprintf(out, len, "%s/%llu", boot, start) < (int)len ? 0 : -1;
}

/* This host's name with spaces made '_', so that it is one field. */
static void host_name(char *out, size_t len)
{
	if (gethostname(out, len - 1) != 0 || !out[0])
		(void)snprintf(out, len, "unknown");
	out[len - 1] = 0;
	for (char *c = out; *c; c++)
		if (*c == ' ')
			*c = '_';
}

/* A token new for every attempt at a call: "HOST PID SECONDS.NANOS SEQ
 * IDENTITY". The host, pid and identity (proc_identity) let a resume on
 * the same host tell a call whose process died (its claim is stale) from
 * one still in flight; IDENTITY is left out where /proc cannot give it. */
static void claim_token(char *out, size_t len)
{
	static unsigned seq;
	char host[64] = "", ident[96] = "";
	struct timespec ts;
	int k;

	host_name(host, sizeof host);
	clock_gettime(CLOCK_REALTIME, &ts);
	k = snprintf(out, len, "%s %ld %lld.%09ld %u", host, (long)getpid(), (long long)ts.tv_sec,
		     ts.tv_nsec, __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	if (k > 0 && (size_t)k < len && proc_identity((long)getpid(), ident, sizeof ident) == 0)
		(void)snprintf(out + k, len - (size_t)k, " %s", ident);
}

/* 1 when the process that wrote claim may still be making its call: it is
 * on another host (nothing here can tell), or its process on this host is
 * alive — the same process, when the claim names its identity, not another
 * that was given its pid since. A claim from before migration 36 (empty)
 * is never live. */
static int claim_process_alive(const char *claim)
{
	char host[64] = "", now[96];
	const char *sp = strchr(claim, ' '), *ident;
	char *end;
	long pid;

	if (!sp || (size_t)(sp - claim) >= sizeof host)
		return !!*claim;
	host_name(host, sizeof host);
	if (strlen(host) != (size_t)(sp - claim) || strncmp(host, claim, (size_t)(sp - claim)))
		return 1;
	errno = 0;
	pid = strtol(sp + 1, &end, 10);
	if (errno || end == sp + 1 || pid <= 0 || pid > INT32_MAX)
		return 1;
	/* the fifth field, when there is one: end is at the space before
	 * the third */
	ident = end;
	for (int f = 4; f <= 5 && ident; f++)
		ident = strchr(ident + 1, ' ');
	if (ident && ident[1])
		return proc_identity(pid, now, sizeof now) == 0 && !strcmp(now, ident + 1);
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int upwrite_describe(struct store *s, json_t *b, struct err *err)
{
	const char *action = json_string_value(json_object_get(b, "action"));
	char kind[sizeof((struct ubatch *)0)->upstream + sizeof((struct ubatch *)0)->tool + 4];
	struct ubatch ub;
	int rc;

	if (!action || strcmp(action, UPWRITE_ACTION) != 0)
		return 0;
	rc = load_ubatch(s, json_integer_value(json_object_get(b, "id")), &ub, err);
	if (rc)
		return rc;
	rc = fmt_buf(kind, sizeof kind, err, "record kind", "%s" UPSTREAM_SEP "%s", ub.upstream,
		     ub.tool);
	if (!rc && (json_object_set_new(b, "upstream",
					json_pack("{s:s,s:s,s:s}", "name", ub.upstream, "tool",
						  ub.tool, "effect", ub.action)) ||
		    json_object_set_new(b, "record_kind", json_string(kind))))
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return rc;
}

/* One journal statement on item idx of batch id, committed at once: what
 * is known about a call must survive the process. Binds ?1 id, ?2 idx, ?3
 * the time now, then texts as ?4.... A claim must change exactly one row
 * (its compare-and-set), and the first claim of an apply ends the batch's
 * time-to-live in the same transaction. */
static int journal_update(struct store *s, int64_t id, int64_t idx, const char *sql,
			  const char *const *texts, int ntexts, int claim, int undo,
			  struct err *err)
{
	struct store_stmt *st;
	char now[CLOCK_TEXT_LEN];
	int rc, i;

	clock_format(clock_now(), now, sizeof now);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = store_prepare(s, sql, &st, err);
	if (!rc) {
		store_bind_int(st, 1, id);
		store_bind_int(st, 2, idx);
		store_bind_text(st, 3, now);
		for (i = 0; i < ntexts; i++)
			store_bind_text(st, 4 + i, texts[i]);
		rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
		store_done(st);
		if (!rc && claim && store_changes(s) != 1)
			rc = err_set(err, AIRLOCK_ECONFLICT,
				     "batch %lld item %lld is being carried out by another apply or "
				     "undo at this moment: no call made; try again when it ends",
				     (long long)id, (long long)idx);
	}
	if (!rc && claim && !undo)
		rc = staging_external_begin(s, id, err);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

/* Records a step of an item's journal: its state and the answer. */
static int journal(struct store *s, int64_t id, int64_t idx, int undo, const char *state,
		   const char *answer, struct err *err)
{
	const char *texts[] = {state, answer};

	return journal_update(
	    s, id, idx,
	    undo ? "UPDATE upstream_item SET undo_state=?4,undo_answered_at=?3,undo_answer=?5"
		   " WHERE batch_id=?1 AND idx=?2"
		 : "UPDATE upstream_item SET apply_state=?4,apply_answered_at=?3,apply_answer=?5"
		   " WHERE batch_id=?1 AND idx=?2",
	    texts, 2, 0, undo, err);
}

/* Claims an item's call for this process before it is made: a
 * compare-and-set from the state and claim this process read (from,
 * seen_claim: "" for none) to "sent" under a new token, committed before
 * the call. Two applies or undos that read the same row (two resumes of
 * one unknown record, a CLI and a console, two servers on one database)
 * cannot both match: exactly one calls. */
static int journal_claim(struct store *s, int64_t id, int64_t idx, int undo, const char *from,
			 const char *seen_claim, const char *token, struct err *err)
{
	const char *texts[] = {from, token, seen_claim};

	return journal_update(
	    s, id, idx,
	    undo ? "UPDATE upstream_item SET undo_state='sent',undo_sent_at=?3,undo_answered_at=NULL,"
		   "undo_answer=NULL,undo_claim=?5 WHERE batch_id=?1 AND idx=?2 AND undo_state=?4"
		   " AND coalesce(undo_claim,'')=?6"
		 : "UPDATE upstream_item SET apply_state='sent',apply_sent_at=?3,"
		   "apply_answered_at=NULL,apply_answer=NULL,apply_claim=?5 WHERE batch_id=?1 AND"
		   " idx=?2 AND apply_state=?4 AND coalesce(apply_claim,'')=?6",
	    texts, 3, 1, undo, err);
}

/* One record of the batch as the journal and the batch have it. */
struct uitem {
	int64_t idx;
	char rid[RID_MAX + 1];
	json_t *read_args, *call_args, *changes, *before;
	char state[16];
	char jstate[16];	   /* the journal's state as read, for the claim */
	char claim[CLAIM_MAX]; /* the claim as read ("" for none) */
	char sent_at[CLOCK_TEXT_LEN];
	int live; /* sent, unanswered, by a process that may still be calling */
};

static void uitems_free(struct uitem *it, int n)
{
	for (int i = 0; i < n; i++) {
		json_decref(it[i].read_args);
		json_decref(it[i].call_args);
		json_decref(it[i].changes);
		json_decref(it[i].before);
	}
	free(it);
}

/* lease: seconds after which a call journaled as sent and never answered is
 * taken as given up, whoever claimed it (its process would have timed out
 * long before). */
static int load_items(struct store *s, int64_t id, int undo, int64_t lease, struct uitem **out,
		      int *n, struct err *err)
{
	char stale[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	json_t *b = NULL, *list;
	struct uitem *items = NULL;
	int rc, cap = 0;

	*out = NULL;
	*n = 0;
	rc = staging_get(s, id, &b, err);
	if (rc)
		return rc;
	list = json_object_get(b, "item_list");
	clock_format(clock_now() - (time_t)lease, stale, sizeof stale);
	rc = store_prepare(s,
			   undo ? "SELECT idx,record_id,read_args,undo_args,undo_state,undo_claim,"
				  "undo_sent_at,undo_answered_at FROM upstream_item WHERE"
				  " batch_id=?1 ORDER BY idx"
				: "SELECT idx,record_id,read_args,apply_args,apply_state,apply_claim,"
				  "apply_sent_at,apply_answered_at FROM upstream_item WHERE"
				  " batch_id=?1 ORDER BY idx",
			   &st, err);
	if (rc)
		goto out;
	store_bind_int(st, 1, id);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		struct uitem *it;
		json_t *bi = NULL, *x;
		size_t k;

		if (*n == cap) {
			struct uitem *ni;

			cap = cap ? 2 * cap : 16;
			if (!(ni = realloc(items, (size_t)cap * sizeof *ni))) {
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
				break;
			}
			items = ni;
		}
		it = &items[(*n)++];
		memset(it, 0, sizeof *it);
		it->idx = store_col_int(st, 0);
		(void)snprintf(it->rid, sizeof it->rid, "%s", store_col_text(st, 1));
		it->read_args = store_col_is_null(st, 2) ? NULL
							  : json_loads(store_col_text(st, 2), 0, NULL);
		it->call_args = store_col_is_null(st, 3) ? NULL
							  : json_loads(store_col_text(st, 3), 0, NULL);
		(void)snprintf(it->state, sizeof it->state, "%s", store_col_text(st, 4));
		(void)snprintf(it->jstate, sizeof it->jstate, "%s", it->state);
		if (!store_col_is_null(st, 5) &&
		    fmt_buf(it->claim, sizeof it->claim, err, "claim", "%s", store_col_text(st, 5))) {
			rc = err->code;
			break;
		}
		(void)snprintf(it->sent_at, sizeof it->sent_at, "%s",
			       store_col_is_null(st, 6) ? "" : store_col_text(st, 6));
		it->live = !strcmp(it->jstate, "sent") && store_col_is_null(st, 7) && it->claim[0] &&
			   strcmp(it->sent_at, stale) > 0 && claim_process_alive(it->claim);
		json_array_foreach(list, k, x) if (json_integer_value(json_object_get(x, "idx")) ==
						   it->idx) bi = x;
		it->changes = json_incref(json_object_get(bi, "changes"));
		it->before = json_incref(json_object_get(bi, "before"));
		if (strcmp(json_string_value(json_object_get(bi, "state")) ?: "pending", "pending") &&
		    !strcmp(it->state, "pending"))
			(void)snprintf(it->state, sizeof it->state, "conflict");
	}
	store_done(st);
	if (rc == STORE_DONE)
		rc = 0;
out:
	json_decref(b);
	if (rc) {
		uitems_free(items, *n);
		*n = 0;
		return rc;
	}
	*out = items;
	return 0;
}

/* 1 when every field of ch holds in cur the value vals gives it (vals NULL:
 * ch's own values). */
static int holds(json_t *cur, json_t *ch, json_t *vals)
{
	const char *k;
	json_t *v;

	json_object_foreach(ch, k, v)
	{
		json_t *want = vals ? json_object_get(vals, k) : v, *have = json_object_get(cur, k);

		if (!want)
			want = json_null();
		if (!have)
			have = json_null();
		if (!json_equal(want, have))
			return 0;
	}
	return 1;
}

/* The shared work of apply (undo 0) and undo (undo 1). */
static int carry_out(struct store *s, const struct policy *p, int64_t id, const char *principal,
		     const char *surface, int undo, int force, json_t **report, struct err *err)
{
	enum staging_state to = undo ? STAGE_UNDONE : STAGE_APPLIED;
	const struct policy_upstream *cfg;
	struct upstream *up = NULL;
	struct uitem *items = NULL;
	struct ubatch b;
	json_t *conflicts = json_array(), *unknown = json_array(), *failed = json_array();
	json_t **cur = NULL;
	char token[CLAIM_MAX];
	int64_t done = 0;
	int rc, n = 0, i, irreversible;

	if (report)
		*report = NULL;
	rc = staging_external_check(s, id, principal, to, err);
	if (!rc)
		rc = load_ubatch(s, id, &b, err);
	if (rc)
		goto out;
	irreversible = strcmp(b.action, "update") != 0;
	if (undo && (irreversible || !b.undoable)) {
		rc = err_set(err, AIRLOCK_ESTATE,
			     "batch %lld %s through upstream '%s' (%s): that cannot be undone",
			     (long long)id, b.action, b.upstream, b.tool);
		goto out;
	}
	if (!(cfg = policy_upstream(p, b.upstream))) {
		rc = err_set(err, AIRLOCK_ENOTFOUND,
			     "the policy has no upstream '%s' any more: batch %lld cannot reach it",
			     b.upstream, (long long)id);
		goto out;
	}
	if (!(up = upstream_shared(cfg, err))) {
		rc = err->code ? err->code : AIRLOCK_EIO;
		goto out;
	}
	/* twice the upstream's timeout and a minute: a live caller has long
	 * given up and journaled so by then */
	rc = load_items(s, id, undo,
			2 * (cfg->timeout_seconds > 0 ? cfg->timeout_seconds : UPSTREAM_DEFAULT_TIMEOUT_S) +
			    60,
			&items, &n, err);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		if (items[i].live) {
			rc = err_set(err, AIRLOCK_ECONFLICT,
				     "batch %lld record %s: its upstream call is being made by another "
				     "%s since %s (%s): nothing called; try again when it ends",
				     (long long)id, items[i].rid, undo ? "undo" : "apply",
				     items[i].sent_at, items[i].claim);
			goto out;
		}
	if (!(cur = calloc((size_t)n + 1, sizeof *cur))) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	/* first every record as the upstream has it now: a changed one is a
	 * conflict, and with conflicts (without skip/force) nothing is called */
	for (i = 0; i < n && !irreversible; i++) {
		struct uitem *it = &items[i];
		int sent = !strcmp(it->state, "sent") || !strcmp(it->state, "failed");
		json_t *from = undo ? it->changes : it->before;

		if (!strcmp(it->state, "done") || !strcmp(it->state, "conflict")) {
			done += !strcmp(it->state, "done");
			continue;
		}
		rc = read_record(up, b.upstream, b.before_tool, b.before_path, it->read_args, &cur[i],
				 err);
		if (rc)
			goto out;
		/* what it should hold when the call went through: the new values
		 * (apply) or the before-values (undo) */
		if (sent && cur[i] && (undo ? holds(cur[i], it->changes, it->before)
					    : holds(cur[i], it->changes, NULL))) {
			rc = journal(s, id, it->idx, undo, "done", "resolved by a re-read: the "
						    "record holds the values the call sets", err);
			if (rc)
				goto out;
			(void)snprintf(it->state, sizeof it->state, "done");
			done++;
			continue;
		}
		if (!cur[i] || !(undo ? holds(cur[i], it->changes, NULL) : holds(cur[i], it->changes,
										   from))) {
			json_t *c = json_pack("{s:I,s:s,s:O,s:O}", "item", (json_int_t)it->idx,
					      "record_id", it->rid, "expected", from, "current",
					      cur[i] ? cur[i] : json_null());

			json_array_append_new(conflicts, c);
			(void)snprintf(it->state, sizeof it->state, undo && force ? "force" : "conflict");
		}
	}
	if (json_array_size(conflicts) && !force) {
		rc = err_set(err, AIRLOCK_ECONFLICT,
			     undo ? "%zu record(s) of batch %lld changed upstream after it was applied:"
				    " nothing was undone (--force restores them anyway)"
				  : "%zu record(s) of batch %lld changed upstream since they were "
				    "staged: nothing was applied (--skip-conflicts applies the rest)",
			     json_array_size(conflicts), (long long)id);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct uitem *it = &items[i];
		json_t *res = NULL;
		const char *tool = undo ? b.undo_tool : b.tool;

		if (!strcmp(it->state, "done"))
			continue;
		if (!strcmp(it->state, "conflict")) {
			if (!undo) {
				rc = journal(s, id, it->idx, 0, "conflict", "changed upstream", err);
				if (rc)
					goto out;
			}
			continue;
		}
		if (irreversible && strcmp(it->state, "pending") != 0) {
			/* a create, delete or send cannot be re-read into known: a
			 * person checks the upstream, never a second call */
			rc = err_set(err, AIRLOCK_ESTATE,
				     "batch %lld's call to upstream '%s' was %s earlier (no answer or an "
				     "error); it is not made again: check the upstream, then reject "
				     "or leave the batch",
				     (long long)id, b.upstream, it->state);
			goto out;
		}
		if (!it->call_args) {
			rc = err_set(err, AIRLOCK_ECORRUPT, "batch %lld item %lld: no call recorded",
				     (long long)id, (long long)it->idx);
			goto out;
		}
		/* claimed from the journal's state and claim as read: a second
		 * apply or undo that read the same finds them changed */
		claim_token(token, sizeof token);
		rc = journal_claim(s, id, it->idx, undo, it->jstate, it->claim, token, err);
		if (rc)
			goto out;
		rc = upstream_call(up, tool, it->call_args, &res, err);
		if (rc) {
			struct err jerr = {0};

			/* no answer: the record is unknown until a re-read says; the
			 * claim is let go (still sent, now answered by nothing) so
			 * that a resume need not wait for this process to end */
			json_array_append_new(unknown, json_pack("{s:I,s:s,s:s}", "item",
								 (json_int_t)it->idx, "record_id",
								 it->rid, "error", err->msg));
			json_decref(res);
			(void)journal(s, id, it->idx, undo, "sent", err->msg, &jerr);
			break;
		}
		if (json_is_true(json_object_get(res, "isError"))) {
			rc = journal(s, id, it->idx, undo, "failed", first_text(res), err);
			json_array_append_new(failed, json_pack("{s:I,s:s,s:s}", "item",
								(json_int_t)it->idx, "record_id",
								it->rid, "error", first_text(res)));
		} else {
			rc = journal(s, id, it->idx, undo, "done", NULL, err);
			done++;
		}
		json_decref(res);
		if (rc)
			goto out;
	}
	if (json_array_size(unknown) || json_array_size(failed)) {
		struct err cause = *err;

		rc = err_set(err, AIRLOCK_EIO,
			     "upstream '%s' %s: %lld record(s) of batch %lld done, %zu unknown, %zu "
			     "failed; the batch stays %s and `airlock %s %lld` resumes (a record is "
			     "re-read first, never written twice)%s%s",
			     b.upstream,
			     json_array_size(unknown) ? "stopped answering mid-way" : "refused a call",
			     (long long)done, (long long)id, json_array_size(unknown),
			     json_array_size(failed), undo ? "applied" : "approved",
			     undo ? "undo" : "apply", (long long)id,
			     json_array_size(unknown) ? ": " : "",
			     json_array_size(unknown) ? cause.msg : "");
		goto out;
	}
	rc = staging_external_done(s, id, principal, surface, to, irreversible ? 1 : done,
				   undo ? NULL : conflicts, err);
out:
	if (report && (rc == 0 || rc == AIRLOCK_ECONFLICT || rc == AIRLOCK_EIO))
		*report = json_pack("{s:I,s:O,s:O,s:O,s:s}", undo ? "undone" : "applied",
				    (json_int_t)done, "conflicts", conflicts, "unknown", unknown,
				    "failed", failed, "upstream", rc ? "" : b.upstream);
	for (i = 0; cur && i < n; i++)
		json_decref(cur[i]);
	free(cur);
	uitems_free(items, n);
	json_decref(conflicts);
	json_decref(unknown);
	json_decref(failed);
	return rc;
}

int upwrite_apply(struct store *s, const struct policy *p, int64_t batch_id, const char *principal,
		  const char *surface, int skip_conflicts, json_t **report, struct err *err)
{
	return carry_out(s, p, batch_id, principal, surface, 0, skip_conflicts, report, err);
}

int upwrite_undo(struct store *s, const struct policy *p, int64_t batch_id, const char *principal,
		 const char *surface, int force, json_t **report, struct err *err)
{
	return carry_out(s, p, batch_id, principal, surface, 1, force, report, err);
}
