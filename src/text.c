/* text.c — escaping and refusing text that could steer a terminal or a
 * reader (see text.h for the classes). */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One character of s at i: its code point, or -1 for a byte that does not
 * start a well-formed UTF-8 sequence (then *n is 1, so decoding resumes at
 * the next byte). Overlong forms, surrogates and values past U+10FFFF are
 * not well formed (RFC 3629 table). */
static long decode(const unsigned char *s, size_t len, size_t i, size_t *n)
{
	unsigned char c = s[i], lo = 0x80, hi = 0xbf;
	size_t k, need;
	long cp;

	*n = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return -1;
	if (len - i <= need)
		return -1;
	for (k = 1; k <= need; k++) {
		unsigned char d = s[i + k];

		if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xbf))
			return -1;
		cp = (cp << 6) | (d & 0x3f);
	}
	*n = need + 1;
	return cp;
}

/* Code points above 0x7f that reorder, hide or break what a reader sees. */
static int steers(long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Whether the character at s[i] (code point cp, -1 if invalid) is escaped. */
static int escaped(long cp, int flags)
{
	if (cp < 0)
		return 1;
	if (cp == '\n' && (flags & TEXT_LINES))
		return 0;
	return cp < 0x20 || cp == 0x7f || steers(cp);
}

/* The visible form of one escaped character into out (≥ 8 bytes). */
static size_t escape_one(const unsigned char *s, size_t i, long cp, char *out)
{
	if (cp < 0)
		return (size_t)snprintf(out, 8, "\\x%02x", s[i]);
	switch (cp) {
	case 0x1b:
		return (size_t)snprintf(out, 8, "\\e");
	case '\t':
		return (size_t)snprintf(out, 8, "\\t");
	case '\n':
		return (size_t)snprintf(out, 8, "\\n");
	case '\r':
		return (size_t)snprintf(out, 8, "\\r");
	}
	if (cp < 0x80)
		return (size_t)snprintf(out, 8, "\\x%02lx", cp);
	return (size_t)snprintf(out, 8, "\\u%04lx", cp);
}

/* Where escaped text goes: counted only (buf NULL), or written into cap
 * bytes; stops at the first piece that does not fit, remembering the last
 * point that still leaves room for "…" and the NUL. */
struct sink {
	char *buf;
	size_t cap, len, safe;
	int full;
};

static void sink_put(struct sink *k, const char *p, size_t n)
{
	if (k->full)
		return;
	if (k->buf && k->len + n + 1 > k->cap) {
		k->full = 1;
		return;
	}
	if (k->buf)
		memcpy(k->buf + k->len, p, n);
	k->len += n;
	if (!k->buf || k->len + 4 <= k->cap)
		k->safe = k->len;
}

static void escape_into(struct sink *k, const unsigned char *s, size_t len, int flags)
{
	char e[8];
	size_t i = 0, n;

	while (i < len && !k->full) {
		long cp = decode(s, len, i, &n);

		if (escaped(cp, flags))
			sink_put(k, e, escape_one(s, i, cp, e));
		else
			sink_put(k, (const char *)s + i, n);
		i += n;
	}
}

int text_needs_escape(const char *s, size_t len, int flags)
{
	size_t i = 0, n;

	while (i < len) {
		if (escaped(decode((const unsigned char *)s, len, i, &n), flags))
			return 1;
		i += n;
	}
	return 0;
}

char *text_escape(const char *s, size_t len, int flags)
{
	struct sink k = {0};
	char *out;

	escape_into(&k, (const unsigned char *)s, len, flags);
	out = malloc(k.len + 1);
	if (!out)
		return NULL;
	k = (struct sink){out, k.len + 1, 0, 0, 0};
	escape_into(&k, (const unsigned char *)s, len, flags);
	out[k.len] = '\0';
	return out;
}

const char *text_escape_buf(char *buf, size_t n, const char *s, int flags)
{
	static const char cut[] = "…";
	struct sink k = {buf, n, 0, 0, 0};

	if (!n)
		return buf;
	if (s)
		escape_into(&k, (const unsigned char *)s, strlen(s), flags);
	if (k.full) {
		k.len = k.safe;
		if (k.len + sizeof cut <= n) {
			memcpy(buf + k.len, cut, sizeof cut - 1);
			k.len += sizeof cut - 1;
		}
	}
	buf[k.len] = '\0';
	return buf;
}

int text_check(const char *name, const char *s, size_t len, int flags, struct err *err)
{
	size_t i = 0, n;

	while (i < len) {
		long cp = decode((const unsigned char *)s, len, i, &n);

		if (cp < 0)
			return err_set(err, AIRLOCK_EINVAL, "%s is not valid UTF-8 at byte %zu",
				       name, i);
		if ((cp < 0x20 || cp == 0x7f) &&
		    !((flags & TEXT_LINES) && (cp == '\t' || cp == '\n' || cp == '\r')))
			return err_set(err, AIRLOCK_EINVAL, "%s contains control character 0x%02lx",
				       name, cp);
		if (steers(cp))
			return err_set(err, AIRLOCK_EINVAL,
				       cp <= 0x9f ? "%s contains control character U+%04lX"
						  : "%s contains bidirectional or separator "
						    "character U+%04lX",
				       name, cp);
		i += n;
	}
	return 0;
}

static int escape_string(json_t *v, int flags)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	char *e;
	int rc;

	if (!text_needs_escape(s, len, flags))
		return 0;
	e = text_escape(s, len, flags);
	if (!e)
		return AIRLOCK_ENOMEM;
	rc = json_string_set(v, e) ? AIRLOCK_ENOMEM : 0;
	free(e);
	return rc;
}

static int listed(const char *key, const char *const *keys)
{
	for (; keys && *keys; keys++)
		if (!strcmp(key, *keys))
			return 1;
	return 0;
}

static int walk(json_t *v, const char *const *multiline, int flags)
{
	json_t *e, *bad = NULL;
	const char *k;
	size_t i;
	int rc = 0;

	if (json_is_string(v))
		return escape_string(v, flags);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if ((rc = walk(e, multiline, flags)))
				return rc;
		}
		return 0;
	}
	if (!json_is_object(v))
		return 0;
	json_object_foreach(v, k, e)
	{
		if ((rc = walk(e, multiline, listed(k, multiline) ? TEXT_LINES : 0)))
			return rc;
		if (text_needs_escape(k, strlen(k), 0)) {
			if (!bad && !(bad = json_array()))
				return AIRLOCK_ENOMEM;
			if (json_array_append_new(bad, json_string(k)))
				rc = AIRLOCK_ENOMEM;
		}
	}
	/* keys are renamed after the walk: an object must not change under
	 * its own iterator */
	json_array_foreach(bad, i, e)
	{
		const char *key = json_string_value(e);
		char *ek = key ? text_escape(key, strlen(key), 0) : NULL;
		json_t *val = ek ? json_incref(json_object_get(v, key)) : NULL;

		if (!val || json_object_del(v, key) || json_object_set_new(v, ek, val))
			rc = AIRLOCK_ENOMEM;
		free(ek);
		if (rc)
			break;
	}
	json_decref(bad);
	return rc;
}

int text_json_escape(json_t *v, const char *const *multiline)
{
	return walk(v, multiline, 0);
}

char *text_json_dumps(const json_t *v, size_t flags)
{
	char *doc = json_dumps(v, flags), *out = NULL, e[8];
	const unsigned char *s = (const unsigned char *)doc;
	size_t len, i = 0, n, o = 0, extra = 0;

	if (!doc)
		return NULL;
	len = strlen(doc);
	/* the document is valid UTF-8 and these characters occur only inside
	 * its strings, where "\uHHHH" reads back as the same character */
	while (i < len) {
		long cp = decode(s, len, i, &n);

		if (cp == 0x7f || (cp > 0x7f && steers(cp)))
			extra += 6;
		i += n;
	}
	if (!extra)
		return doc;
	out = malloc(len + extra + 1);
	for (i = 0; out && i < len; i += n) {
		long cp = decode(s, len, i, &n);

		if (cp == 0x7f || (cp > 0x7f && steers(cp))) {
			(void)snprintf(e, sizeof e, "\\u%04lx", cp);
			memcpy(out + o, e, 6);
			o += 6;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
		}
	}
	if (out)
		out[o] = '\0';
	free(doc);
	return out;
}
