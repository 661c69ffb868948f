/* fuzz_scope_harness.h — the scope language under fuzzing, shared by the
 * libFuzzer target (fuzz/fuzz_scope.c), the replay test (tests/test_fuzz.c)
 * and the property test in tests/test_scope.c.
 *
 * The property (scope.h): for every text the parser accepts, its canonical
 * text parses, prints the same again, and matches exactly the accounts the
 * original matches. Accounts come from a pool of values chosen to catch a
 * changed meaning: custom fields holding "03" and 3, "true" and true, null,
 * missing, quotes, backslashes, unicode in two cases, keywords as text.
 *
 * One input: byte 0 bit 0 clear → the rest is scope text (up to its first
 * NUL); set → the rest drives a grammar-based generator (fuzz_scope_gen),
 * so the fuzzer also explores deep, valid expressions. */
#ifndef AIRLOCK_FUZZ_SCOPE_HARNESS_H
#define AIRLOCK_FUZZ_SCOPE_HARNESS_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "scope.h"

#define FUZZ_SCOPE_ACCOUNTS 48

/* Values, as JSON, an account's fields may hold. */
static const char *const fuzz_scope_json_pool[] = {
    "\"03\"", "3", "3.0", "\"3\"", "\"3.0\"", "true", "false", "\"true\"", "\"TRUE\"", "null",
    "\"\"", "\"a b\"", "\"Zürich\"", "\"zürich\"", "\"ZÜRICH\"", "\"AND\"", "\"and\"",
    "\"q\\\"uote\"", "\"back\\\\slash\"", "100", "1e2", "-0.0", "0", "\"0x10\"", "16", "\"-\"",
    "\"x'y\"", "\"\\t\"", "9223372036854775807", "-9223372036854775808", "\"1e400\"",
    "\"inf\"", "\"nan\"", "0.1", "\"0.1\"", "1", "2", "4", "\"smb\"", "\"SMB\"", "\"emea\"",
    "\"EMEA\"", "\"2026-01-31T00:00:00Z\"", "\"2026-03-01T10:00:00Z\"", "\"a,b\"", "\"(x)\"",
    "\"yes\"", "\"1\""};

#define FUZZ_SCOPE_NJSON ((int)(sizeof fuzz_scope_json_pool / sizeof fuzz_scope_json_pool[0]))

/* Value texts a scope may name (rendered bare or quoted by the generator). */
static const char *const fuzz_scope_text_pool[] = {
    "03", "3", "3.0", "1e2", "-0", "0", "1", "2", "4", "5", "true", "TRUE", "false", "yes",
    "no", "", "a b", "q\"uote", "back\\slash", "Zürich", "zürich", "ZÜRICH", "and", "NOT",
    "in", "x'y", "\t", "0x10", "inf", "nan", "12345678901234567890", "9223372036854775807",
    "-9223372036854775808", "smb", "SMB", "mid-market", "enterprise", "prospect", "customer",
    "EMEA", "emea", "2026-01-31", "2026-03-01T10:00:00Z", "0.1", "1e400", "\x01", "a,b",
    "(x)", "=", "custom.n", "-", "100", "16", "1.0", "\"", "'", "\\", "1", "0.10"};

#define FUZZ_SCOPE_NTEXT ((int)(sizeof fuzz_scope_text_pool / sizeof fuzz_scope_text_pool[0]))

static const char *const fuzz_scope_fields[] = {
    "segment", "region", "tier", "arr", "employees", "do_not_contact", "updated_at",
    "lifecycle", "industry", "owner", "name", "custom.n", "custom.s", "custom.b", "custom.x",
    "custom.n", "custom.s", "custom.b"};

#define FUZZ_SCOPE_NFIELDS ((int)(sizeof fuzz_scope_fields / sizeof fuzz_scope_fields[0]))

static uint32_t fuzz_scope_next(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return (uint32_t)(*st >> 11);
}

/* Sets key to a pool value, or leaves it out (1 in 8). */
static void fuzz_scope_set(json_t *o, const char *key, uint64_t *st)
{
	uint32_t r = fuzz_scope_next(st);
	json_t *v;

	if (r % 8 == 0)
		return;
	v = json_loads(fuzz_scope_json_pool[(r >> 3) % FUZZ_SCOPE_NJSON], JSON_DECODE_ANY, NULL);
	if (v)
		json_object_set_new(o, key, v);
}

/* An account made from seed: catalogue fields in their domain or null,
 * custom fields from the whole pool. NULL only when out of memory. */
static json_t *fuzz_scope_account(uint64_t seed)
{
	static const char *const segs[] = {"smb", "mid-market", "enterprise"};
	static const char *const regions[] = {"EMEA", "emea", "Zürich", "a b", "03", "", "and"};
	static const char *const lifes[] = {"prospect", "customer", "partner"};
	static const char *const times[] = {"2026-01-31T00:00:00Z", "2026-03-01T10:00:00Z"};
	uint64_t st = seed * 0x9E3779B97F4A7C15ull + 1;
	json_t *a = json_object(), *c = json_object();
	uint32_t r;

	if (!a || !c) {
		json_decref(a);
		json_decref(c);
		return NULL;
	}
	json_object_set_new(a, "id", json_string("A"));
	json_object_set_new(a, "name", json_string(regions[fuzz_scope_next(&st) % 7]));
	r = fuzz_scope_next(&st);
	json_object_set_new(a, "segment", r % 4 ? json_string(segs[r % 3]) : json_null());
	r = fuzz_scope_next(&st);
	json_object_set_new(a, "region", r % 5 ? json_string(regions[r % 7]) : json_null());
	json_object_set_new(a, "industry", json_string(regions[fuzz_scope_next(&st) % 7]));
	r = fuzz_scope_next(&st);
	json_object_set_new(a, "tier", r % 5 ? json_integer(1 + r % 4) : json_null());
	r = fuzz_scope_next(&st);
	json_object_set_new(a, "arr", r % 3 ? json_real((double)(r % 7) / 10.0) : json_integer(100));
	json_object_set_new(a, "employees", json_integer(fuzz_scope_next(&st) % 20));
	r = fuzz_scope_next(&st);
	json_object_set_new(a, "do_not_contact", r % 3 == 0 ? json_integer(r % 2) : json_boolean(r % 2));
	json_object_set_new(a, "lifecycle", json_string(lifes[fuzz_scope_next(&st) % 3]));
	json_object_set_new(a, "updated_at", json_string(times[fuzz_scope_next(&st) % 2]));
	fuzz_scope_set(c, "n", &st);
	fuzz_scope_set(c, "s", &st);
	fuzz_scope_set(c, "b", &st);
	fuzz_scope_set(c, "x", &st);
	json_object_set_new(a, "custom", c);
	return a;
}

/* ---- the grammar-based generator ---------------------------------------- */

struct fuzz_scope_gen {
	const unsigned char *p;
	size_t n, at;
	char *out;
	size_t len, cap;
	int failed;
};

static unsigned fuzz_scope_byte(struct fuzz_scope_gen *g)
{
	return g->at < g->n ? g->p[g->at++] : 0;
}

static void fuzz_scope_put(struct fuzz_scope_gen *g, const char *s, size_t n)
{
	if (g->failed || g->len + n + 1 > g->cap) {
		g->failed = 1;
		return;
	}
	memcpy(g->out + g->len, s, n);
	g->len += n;
	g->out[g->len] = '\0';
}

static void fuzz_scope_puts(struct fuzz_scope_gen *g, const char *s)
{
	fuzz_scope_put(g, s, strlen(s));
}

/* A keyword in a random case, with random space around it. */
static void fuzz_scope_kw(struct fuzz_scope_gen *g, const char *kw)
{
	static const char *const sp[] = {" ", "  ", "\n", "\t", " \r\n "};
	unsigned b = fuzz_scope_byte(g);
	char w[8];
	size_t i;

	fuzz_scope_puts(g, sp[b % 5]);
	for (i = 0; kw[i] && i + 1 < sizeof w; i++)
		w[i] = (char)((b >> (3 + i % 5)) & 1 ? kw[i] | 0x20 : kw[i]);
	fuzz_scope_put(g, w, i);
	fuzz_scope_puts(g, sp[(b >> 4) % 5]);
}

/* A value: bare, 'single' or "double" quoted, with escapes where needed
 * and sometimes where not. */
static void fuzz_scope_value(struct fuzz_scope_gen *g)
{
	unsigned b = fuzz_scope_byte(g), how = fuzz_scope_byte(g) % 4;
	const char *v = fuzz_scope_text_pool[b % FUZZ_SCOPE_NTEXT];
	char q = how == 1 ? '\'' : '"';
	const char *c;

	if (how >= 2) {
		fuzz_scope_puts(g, v);
		return;
	}
	fuzz_scope_put(g, &q, 1);
	for (c = v; *c; c++) {
		if (*c == q || *c == '\\' || (b & 0x80 && (c - v) % 3 == 0))
			fuzz_scope_put(g, "\\", 1);
		fuzz_scope_put(g, c, 1);
	}
	fuzz_scope_put(g, &q, 1);
}

static void fuzz_scope_pred(struct fuzz_scope_gen *g)
{
	static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">=", " = ", "= "};
	unsigned b = fuzz_scope_byte(g), k, n;

	fuzz_scope_puts(g, fuzz_scope_fields[b % FUZZ_SCOPE_NFIELDS]);
	switch (fuzz_scope_byte(g) % 6) {
	case 0:
		return; /* bare: a yes/no field */
	case 1:
	case 2:
		if ((fuzz_scope_byte(g) & 1))
			fuzz_scope_kw(g, "NOT");
		else
			fuzz_scope_puts(g, " ");
		fuzz_scope_kw(g, "IN");
		fuzz_scope_puts(g, "(");
		n = 1 + fuzz_scope_byte(g) % 4;
		for (k = 0; k < n; k++) {
			if (k)
				fuzz_scope_puts(g, fuzz_scope_byte(g) & 1 ? "," : " , ");
			fuzz_scope_value(g);
		}
		fuzz_scope_puts(g, ")");
		return;
	default:
		fuzz_scope_puts(g, ops[fuzz_scope_byte(g) % 8]);
		fuzz_scope_value(g);
	}
}

static void fuzz_scope_expr(struct fuzz_scope_gen *g, int depth)
{
	unsigned b = fuzz_scope_byte(g);

	if (depth > 6 || g->at >= g->n)
		b = 0;
	switch (b % 7) {
	case 1:
		fuzz_scope_expr(g, depth + 1);
		fuzz_scope_kw(g, "AND");
		fuzz_scope_expr(g, depth + 1);
		return;
	case 2:
		fuzz_scope_expr(g, depth + 1);
		fuzz_scope_kw(g, "OR");
		fuzz_scope_expr(g, depth + 1);
		return;
	case 3:
		fuzz_scope_kw(g, "NOT");
		fuzz_scope_expr(g, depth + 1);
		return;
	case 4:
		fuzz_scope_puts(g, "(");
		fuzz_scope_expr(g, depth + 1);
		fuzz_scope_puts(g, ")");
		return;
	default:
		fuzz_scope_pred(g);
	}
}

/* Writes an expression driven by the bytes p[0..n) into out (cap bytes);
 * the expression is cut short when out is full. */
static void fuzz_scope_gen(const unsigned char *p, size_t n, char *out, size_t cap)
{
	struct fuzz_scope_gen g = {p, n, 0, out, 0, cap, 0};

	out[0] = '\0';
	fuzz_scope_expr(&g, 0);
}

/* ---- the property ------------------------------------------------------- */

/* 0 when text keeps the property over the accounts (or is refused with a
 * positioned error); -1 with why filled in when it does not. */
/* A finding's description: cut short when long, which is fine for a
 * message (the return value is looked at, so gcc knows the cut is meant). */
static void scope_why(char *why, size_t wlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void scope_why(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
}
#define SCOPE_WHY(...) scope_why(why, wlen, __VA_ARGS__)

static int fuzz_scope_check(const char *text, json_t *const *accts, int n, char *why,
			    size_t wlen)
{
	struct scope *s = NULL, *s2 = NULL;
	struct err err = {0};
	char *c = NULL, *c2 = NULL;
	int rc = scope_parse(text, &s, &err), i, bad = 0;

	if (rc) {
		if (s || (rc != AIRLOCK_EINVAL && rc != AIRLOCK_ENOMEM) ||
		    strncmp(err.msg, "scope", 5) != 0) {
			SCOPE_WHY( "refusal without position for '%s': %s", text, err.msg);
			return -1;
		}
		return 0;
	}
	c = scope_to_string(s);
	if (!c) {
		SCOPE_WHY( "no canonical text for '%s'", text);
		bad = 1;
		goto out;
	}
	if (scope_parse(c, &s2, &err)) {
		SCOPE_WHY( "canonical '%s' of '%s' does not parse: %s", c, text, err.msg);
		bad = 1;
		goto out;
	}
	c2 = scope_to_string(s2);
	if (!c2 || strcmp(c, c2) != 0) {
		SCOPE_WHY( "canonical '%s' of '%s' prints again as '%s'", c, text,
			 c2 ? c2 : "(null)");
		bad = 1;
		goto out;
	}
	for (i = 0; i < n && !bad; i++) {
		if (scope_match(s, accts[i]) != scope_match(s2, accts[i])) {
			char *dump = json_dumps(accts[i], JSON_COMPACT);

			SCOPE_WHY( "'%s' and its canonical '%s' disagree on %s", text, c,
				 dump ? dump : "(account)");
			free(dump);
			bad = 1;
		}
	}
out:
	free(c);
	free(c2);
	scope_free(s);
	scope_free(s2);
	return bad ? -1 : 0;
}

struct fuzz_scope {
	json_t *accts[FUZZ_SCOPE_ACCOUNTS];
};

__attribute__((unused)) static void fuzz_scope_init(struct fuzz_scope *f)
{
	int i;

	for (i = 0; i < FUZZ_SCOPE_ACCOUNTS; i++) {
		f->accts[i] = fuzz_scope_account((uint64_t)i);
		if (!f->accts[i]) {
			fprintf(stderr, "fuzz_scope: out of memory\n");
			abort();
		}
	}
}

__attribute__((unused)) static void fuzz_scope_fini(struct fuzz_scope *f)
{
	int i;

	for (i = 0; i < FUZZ_SCOPE_ACCOUNTS; i++)
		json_decref(f->accts[i]);
}

/* One input; returns -1 with why filled when the property breaks. */
__attribute__((unused)) static int fuzz_scope_one(struct fuzz_scope *f, const unsigned char *data, size_t size,
			  char *why, size_t wlen)
{
	char text[SCOPE_MAX_LEN + 2];
	size_t n;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		fuzz_scope_gen(data + 1, size - 1, text, sizeof text);
	} else {
		n = size - 1 < sizeof text - 1 ? size - 1 : sizeof text - 1;
		memcpy(text, data + 1, n);
		text[n] = '\0';
	}
	return fuzz_scope_check(text, f->accts, FUZZ_SCOPE_ACCOUNTS, why, wlen);
}

#endif
