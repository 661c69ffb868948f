/* mcp_schema.c — the JSON Schema subset of mcp_schema.h. */
#include "mcp_schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 256

static const char *type_of(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

static int type_matches(const char *want, json_t *v)
{
	if (!strcmp(want, "number"))
		return json_is_number(v);
	if (!strcmp(want, "integer")) {
		/* 3.0 is an integer in JSON Schema; jansson reads it as a real. */
		return json_is_integer(v) ||
		       (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) &&
			fabs(json_real_value(v)) < 9007199254740992.0);
	}
	return !strcmp(want, type_of(v));
}

/* The argument's name for messages: "tier", "items[3].field" (the third
 * item: airlock numbers array elements from 1 everywhere, as refusals,
 * `show` and the console number items); the top level is "arguments". */
static const char *label(const char *path) { return *path ? path : "arguments"; }

static int check_type(json_t *type, json_t *v, const char *path, struct err *err)
{
	char list[128];
	size_t i, used = 0;
	json_t *t;

	if (json_is_string(type)) {
		if (type_matches(json_string_value(type), v))
			return 0;
		return err_set(err, AIRLOCK_EINVAL, "argument '%s' must be %s %s, not %s",
			       label(path),
			       strchr("aeiou", json_string_value(type)[0]) ? "an" : "a",
			       json_string_value(type), type_of(v));
	}
	list[0] = '\0';
	json_array_foreach(type, i, t)
	{
		if (json_is_string(t) && type_matches(json_string_value(t), v))
			return 0;
		if (json_is_string(t) && used < sizeof list)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
						 i ? " or " : "", json_string_value(t));
	}
	return err_set(err, AIRLOCK_EINVAL, "argument '%s' must be %s, not %s", label(path), list,
		       type_of(v));
}

/* Edit distance of two short names (capped at 64 bytes each), for "did
 * you mean": an agent's typo of an argument or a value costs it one retry. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strnlen(a, 64), lb = strnlen(b, 64), i, j;
	size_t row[65], prev, tmp;

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			int same = (a[i - 1] | 0x20) == (b[j - 1] | 0x20);

			tmp = row[j];
			row[j] = prev + (same ? 0 : 1);
			if (row[j] > row[j - 1] + 1)
				row[j] = row[j - 1] + 1;
			if (row[j] > tmp + 1)
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

/* The name closest to s when it is close enough to be a typo, else NULL. */
static const char *closest(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t i, d, bestd = (size_t)-1, len = strlen(s);

	for (i = 0; i < n; i++) {
		d = edit_distance(s, names[i]);
		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	/* one slip in a short name, two in a longer one */
	return best && bestd <= (len <= 4 ? 1u : 2u) ? best : NULL;
}

/* Strings match an enum without regard to case ("emea", "Funding"), and the
 * value is rewritten to the enum's spelling so that what runs is exactly
 * what tools/list promised. */
static int check_enum(json_t *en, json_t *v, const char *path, struct err *err)
{
	char list[256];
	const char *names[64], *near;
	size_t i, n = 0, used = 0;
	json_t *e;

	list[0] = '\0';
	json_array_foreach(en, i, e)
	{
		if (json_equal(e, v))
			return 0;
		if (json_is_string(e) && json_is_string(v) &&
		    !strcasecmp(json_string_value(e), json_string_value(v)))
			return json_string_set(v, json_string_value(e))
				       ? err_set(err, AIRLOCK_ENOMEM, "out of memory")
				       : 0;
		if (json_is_string(e) && n < sizeof names / sizeof names[0])
			names[n++] = json_string_value(e);
		if (json_is_string(e) && used < sizeof list)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
						 i ? ", " : "", json_string_value(e));
	}
	if (json_is_string(v)) {
		near = closest(json_string_value(v), names, n);
		if (near)
			return err_set(err, AIRLOCK_EINVAL,
				       "argument '%s': '%.80s' is not one of %s (did you mean '%s'?)",
				       label(path), json_string_value(v), list, near);
		return err_set(err, AIRLOCK_EINVAL, "argument '%s': '%.80s' is not one of %s",
			       label(path), json_string_value(v), list);
	}
	return err_set(err, AIRLOCK_EINVAL, "argument '%s' must be one of %s", label(path), list);
}

/* Characters, not bytes: a 20-character limit should not cut a name with
 * accents short. jansson has already checked the UTF-8. */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static int check_value(json_t *schema, json_t *v, const char *path, struct err *err);

static void child_path(char *buf, size_t len, const char *path, const char *key, long index)
{
	if (key)
		(void)snprintf(buf, len, "%s%s%s", path, *path ? "." : "", key);
	else
		(void)snprintf(buf, len, "%s[%ld]", path, index + 1); /* items count from 1 */
}

/* "unknown argument 'regoin' (did you mean 'region'?)", or the list of
 * the arguments there are when nothing is close. */
static int unknown_argument(json_t *props, const char *key, const char *cp, const char *path,
			    struct err *err)
{
	const char *names[64] = {0}, *near, *k;
	char list[512];
	size_t n = 0, used = 0;
	json_t *sub;

	list[0] = '\0';
	json_object_foreach(props, k, sub)
	{
		if (n < sizeof names / sizeof names[0])
			names[n++] = k;
		if (used < sizeof list)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
						 used ? ", " : "", k);
	}
	near = closest(key, names, n);
	if (near)
		return err_set(err, AIRLOCK_EINVAL,
			       "unknown argument '%.100s'%s%s%s (did you mean '%s'?)", cp,
			       *path ? " in '" : "", *path ? path : "", *path ? "'" : "", near);
	return err_set(err, AIRLOCK_EINVAL, "unknown argument '%.100s'%s%s%s (expected %s)", cp,
		       *path ? " in '" : "", *path ? path : "", *path ? "'" : "",
		       n ? list : "no arguments");
}

static int check_object(json_t *schema, json_t *v, const char *path, struct err *err)
{
	json_t *props = json_object_get(schema, "properties");
	json_t *req = json_object_get(schema, "required");
	json_t *addl = json_object_get(schema, "additionalProperties");
	json_t *sub, *r;
	const char *key;
	char cp[PATH_MAX_LEN];
	size_t i;
	int rc;

	/* unknown keys first: a misspelt required key ("id" for "account_id")
	 * is better answered with its right name than with "required" */
	if (json_is_false(addl))
		json_object_foreach(v, key, sub)
		{
			if (!props || !json_object_get(props, key)) {
				child_path(cp, sizeof cp, path, key, 0);
				return unknown_argument(props, key, cp, path, err);
			}
		}
	json_array_foreach(req, i, r)
	{
		if (json_is_string(r) && !json_object_get(v, json_string_value(r))) {
			child_path(cp, sizeof cp, path, json_string_value(r), 0);
			return err_set(err, AIRLOCK_EINVAL, "argument '%s' is required", cp);
		}
	}
	json_object_foreach(v, key, sub)
	{
		json_t *ps = props ? json_object_get(props, key) : NULL;

		child_path(cp, sizeof cp, path, key, 0);
		if (!ps) {
			if (json_is_false(addl))
				return unknown_argument(props, key, cp, path, err);
			if (json_is_object(addl)) {
				rc = check_value(addl, sub, cp, err);
				if (rc)
					return rc;
			}
			continue;
		}
		rc = check_value(ps, sub, cp, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_array(json_t *schema, json_t *v, const char *path, struct err *err)
{
	json_t *items = json_object_get(schema, "items");
	json_t *mn = json_object_get(schema, "minItems"), *mx = json_object_get(schema, "maxItems");
	char cp[PATH_MAX_LEN];
	size_t i, n = json_array_size(v);
	json_t *e;
	int rc;

	if (json_is_integer(mn) && (json_int_t)n < json_integer_value(mn))
		return err_set(err, AIRLOCK_EINVAL, "argument '%s' needs at least %lld item%s",
			       label(path), (long long)json_integer_value(mn),
			       json_integer_value(mn) == 1 ? "" : "s");
	if (json_is_integer(mx) && (json_int_t)n > json_integer_value(mx))
		return err_set(err, AIRLOCK_EINVAL,
			       "argument '%s' has %zu items, more than the maximum %lld", label(path),
			       n, (long long)json_integer_value(mx));
	if (!items)
		return 0;
	json_array_foreach(v, i, e)
	{
		child_path(cp, sizeof cp, path, NULL, (long)i);
		rc = check_value(items, e, cp, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_number(json_t *schema, json_t *v, const char *path, struct err *err)
{
	json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
	double d = json_number_value(v);

	if (mn && d < json_number_value(mn))
		return err_set(err, AIRLOCK_EINVAL, "argument '%s': %g is below the minimum %g",
			       label(path), d, json_number_value(mn));
	if (mx && d > json_number_value(mx))
		return err_set(err, AIRLOCK_EINVAL, "argument '%s': %g is above the maximum %g",
			       label(path), d, json_number_value(mx));
	return 0;
}

static int check_string(json_t *schema, json_t *v, const char *path, struct err *err)
{
	json_t *mn = json_object_get(schema, "minLength"), *mx = json_object_get(schema, "maxLength");
	size_t n = utf8_chars(json_string_value(v), json_string_length(v));

	if (json_is_integer(mn) && (json_int_t)n < json_integer_value(mn))
		return err_set(err, AIRLOCK_EINVAL, "argument '%s' must not be empty%s", label(path),
			       json_integer_value(mn) > 1 ? " (too short)" : "");
	if (json_is_integer(mx) && (json_int_t)n > json_integer_value(mx))
		return err_set(err, AIRLOCK_EINVAL,
			       "argument '%s' is %zu characters long, more than the maximum %lld",
			       label(path), n, (long long)json_integer_value(mx));
	return 0;
}

static const char *const known_keywords[] = {
	"type", "description", "properties", "required", "additionalProperties", "enum",
	"minimum", "maximum", "minLength", "maxLength", "items", "minItems", "maxItems", "title",
	"default", "examples", "$schema", NULL};

static int check_value(json_t *schema, json_t *v, const char *path, struct err *err)
{
	json_t *t, *kv;
	const char *key;
	int rc, i, known;

	if (!json_is_object(schema))
		return err_set(err, AIRLOCK_EINVAL, "schema for '%s' is not an object", label(path));
	json_object_foreach(schema, key, kv)
	{
		for (i = 0, known = 0; !known && known_keywords[i]; i++)
			known = !strcmp(known_keywords[i], key);
		if (!known)
			return err_set(err, AIRLOCK_EINVAL,
				       "schema for '%s' uses the keyword '%s' that airlock does not "
				       "check",
				       label(path), key);
	}
	t = json_object_get(schema, "type");
	if (t) {
		rc = check_type(t, v, path, err);
		if (rc)
			return rc;
	}
	if (json_object_get(schema, "enum")) {
		rc = check_enum(json_object_get(schema, "enum"), v, path, err);
		if (rc)
			return rc;
	}
	if (json_is_object(v))
		return check_object(schema, v, path, err);
	if (json_is_array(v))
		return check_array(schema, v, path, err);
	if (json_is_number(v))
		return check_number(schema, v, path, err);
	if (json_is_string(v))
		return check_string(schema, v, path, err);
	return 0;
}

int mcp_schema_check(json_t *schema, json_t *value, struct err *err)
{
	return check_value(schema, value, "", err);
}
