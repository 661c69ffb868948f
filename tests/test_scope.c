/* test_scope.c — the scope filter language: parsing, matching, canonical
 * text, every error with its position, bounds, and a fuzz loop. */
#include "testutil.h"

#include "scope.h"

#include "../fuzz/fuzz_scope_harness.h"

static json_t *account(const char *json)
{
	json_error_t je;
	json_t *a = json_loads(json, 0, &je);

	if (!a)
		fail_msg("bad test json: %s", je.text);
	return a;
}

static json_t *acme(void)
{
	return account(
	    "{\"id\":\"a1\",\"name\":\"Acme\",\"domain\":\"acme.com\","
	    "\"segment\":\"mid-market\",\"region\":\"EMEA\",\"industry\":null,"
	    "\"owner\":\"kim\",\"tier\":2,\"lifecycle\":\"prospect\","
	    "\"do_not_contact\":false,\"arr\":125000.5,\"employees\":300,"
	    "\"custom\":{\"plan\":\"gold\",\"seats\":40,\"beta\":true,\"city\":\"New York\"},"
	    "\"merged_into\":null,\"version\":3,\"updated_at\":\"2026-03-01T10:00:00Z\"}");
}

static struct scope *parse_ok(const char *text)
{
	struct scope *s = NULL;
	struct err err = {0};
	int rc = scope_parse(text, &s, &err);

	if (rc)
		fail_msg("scope_parse(%s): %s", text, err.msg);
	return s;
}

static int matches(const char *text, json_t *acct)
{
	struct scope *s = parse_ok(text);
	int m = scope_match(s, acct);

	scope_free(s);
	return m;
}

/* Parses text, expects failure with exactly `want` as the message. */
static void parse_fails(const char *text, const char *want)
{
	struct scope *s = (struct scope *)1;
	struct err err = {0};
	int rc = scope_parse(text, &s, &err);

	if (rc == 0)
		fail_msg("scope_parse(%s) succeeded, wanted: %s", text, want);
	assert_int_equal(rc, AIRLOCK_EINVAL);
	assert_null(s);
	if (strcmp(err.msg, want) != 0)
		fail_msg("scope_parse(%s):\n  got    %s\n  wanted %s", text, err.msg, want);
}

static void canonical_is(const char *text, const char *want)
{
	struct scope *s = parse_ok(text), *s2;
	char *c = scope_to_string(s), *c2;

	assert_non_null(c);
	if (strcmp(c, want) != 0)
		fail_msg("canonical of %s:\n  got    %s\n  wanted %s", text, c, want);
	s2 = parse_ok(c);
	c2 = scope_to_string(s2);
	assert_string_equal(c2, c);
	free(c);
	free(c2);
	scope_free(s);
	scope_free(s2);
}

static void test_examples_match(void **state)
{
	json_t *a = acme();

	(void)state;
	assert_true(matches("segment=mid-market AND region=EMEA", a));
	assert_false(matches("segment=mid-market AND region=AMER", a));
	assert_true(matches("lifecycle=prospect AND segment IN (smb, mid-market)", a));
	assert_false(matches("lifecycle=prospect AND segment IN (smb, enterprise)", a));
	assert_true(matches("tier<=2", a));
	assert_false(matches("tier<2", a));
	assert_true(matches("tier>=2 AND tier>1 AND tier!=3", a));
	assert_true(matches("NOT do_not_contact", a));
	assert_false(matches("do_not_contact", a));
	assert_true(matches("segment=smb OR region=EMEA", a));
	assert_true(matches("(segment=smb OR region=EMEA) AND tier=2", a));
	assert_false(matches("segment=smb OR (region=EMEA AND tier=1)", a));
	assert_true(matches("custom.city=\"New York\"", a));
	assert_true(matches("custom.city='new york'", a));
	assert_true(matches("segment NOT IN (smb, enterprise)", a));
	assert_true(matches("not segment in (smb)", a)); /* keywords in any case */
	assert_true(matches("arr>125000 AND arr<=125000.5 AND employees>=300", a));
	assert_true(matches("updated_at>=2026-03-01 AND updated_at<2026-03-02", a));
	json_decref(a);
}

static void test_match_semantics(void **state)
{
	json_t *a = acme();

	(void)state;
	/* text fields ignore ASCII case; enums are exact (checked at parse) */
	assert_true(matches("region=emea", a));
	assert_true(matches("owner=KIM", a));
	/* null or missing: equal only to "" */
	assert_true(matches("industry=\"\"", a));
	assert_true(matches("industry!=software", a));
	assert_false(matches("industry=software", a));
	assert_true(matches("industry NOT IN (software, retail)", a));
	assert_false(matches("industry IN (software, retail)", a));
	assert_false(matches("region=\"\"", a));
	assert_false(matches("custom.missing>3", a));
	assert_true(matches("custom.missing=\"\"", a));
	/* custom fields compare by the JSON type the account holds */
	assert_true(matches("custom.seats>39 AND custom.seats<=40 AND custom.seats=40", a));
	assert_false(matches("custom.seats=forty", a));
	assert_true(matches("custom.beta", a));
	assert_true(matches("custom.beta=true", a));
	assert_false(matches("custom.plan", a)); /* a bare custom field must be true */
	assert_true(matches("custom.plan IN (silver, GOLD)", a));
	/* a book row where the yes/no is stored as a number still works */
	json_object_set_new(a, "do_not_contact", json_integer(1));
	assert_true(matches("do_not_contact", a));
	assert_true(matches("do_not_contact=yes", a));
	json_object_set_new(a, "tier", json_real(2.0));
	assert_true(matches("tier=2", a));
	/* not an object: nothing matches */
	{
		struct scope *s = parse_ok("NOT do_not_contact");
		json_t *arr = json_array();

		assert_false(scope_match(s, arr));
		assert_false(scope_match(s, NULL));
		json_decref(arr);
		scope_free(s);
	}
	json_decref(a);
}

static void test_canonical_text(void **state)
{
	(void)state;
	canonical_is("segment = mid-market and region = EMEA",
		     "segment=mid-market AND region=EMEA");
	canonical_is("lifecycle=prospect AND segment in (smb,mid-market)",
		     "lifecycle=prospect AND segment IN (smb, mid-market)");
	canonical_is("tier <= 02", "tier<=2");
	canonical_is("not do_not_contact", "NOT do_not_contact");
	canonical_is("segment=smb or tier=1 OR region=x", "segment=smb OR tier=1 OR region=x");
	canonical_is("region = 'New York'", "region=\"New York\"");
	canonical_is("region=\"say \\\"hi\\\"\"", "region=\"say \\\"hi\\\"\"");
	canonical_is("region=\"and\"", "region=\"and\"");
	canonical_is("(segment=smb OR segment=enterprise) AND tier=1",
		     "(segment=smb OR segment=enterprise) AND tier=1");
	canonical_is("segment=smb OR (segment=enterprise AND tier=1)",
		     "segment=smb OR segment=enterprise AND tier=1");
	canonical_is("((segment=smb))", "segment=smb");
	canonical_is("(region=a AND region=b) AND (region=c AND region=d)",
		     "region=a AND region=b AND region=c AND region=d");
	canonical_is("NOT (segment=smb OR tier=1)", "NOT (segment=smb OR tier=1)");
	canonical_is("NOT NOT do_not_contact", "NOT NOT do_not_contact");
	canonical_is("do_not_contact=YES", "do_not_contact=true");
	canonical_is("arr>1e6 AND arr<0.1", "arr>1000000 AND arr<0.1");
	canonical_is("updated_at>2026-01-31", "updated_at>2026-01-31T00:00:00Z");
	canonical_is("industry=\"\"", "industry=\"\"");
	canonical_is("segment not in (smb)", "segment NOT IN (smb)");
	canonical_is("region=Zürich", "region=Zürich");
	canonical_is("custom.plan=gold\n AND\ttier=1", "custom.plan=gold AND tier=1");
}

static void test_errors_name_the_column(void **state)
{
	(void)state;
	parse_fails("segment=smb AND regoin=EMEA",
		    "scope:1:17: unknown field 'regoin' (did you mean 'region'?)");
	parse_fails(
	    "segment=smb AND\n  colour=red",
	    "scope:2:3: unknown field 'colour' (account fields, or custom.NAME for a custom "
	    "field)");
	parse_fails("segment=large",
		    "scope:1:9: segment: 'large' is not one of smb, mid-market, enterprise");
	parse_fails("tier<=x", "scope:1:7: tier: 'x' is not a whole number");
	parse_fails("tier=9", "scope:1:6: tier: 9 is outside 1..4");
	parse_fails("segment<smb",
		    "scope:1:8: '<' needs a number or date field; segment is not one");
	parse_fails(
	    "region=New York",
	    "scope:1:12: unexpected 'York': quote a value that holds spaces (\"New York\"), "
	    "or join conditions with AND / OR");
	parse_fails("region=\"New York", "scope:1:8: unterminated quoted value (missing \")");
	parse_fails("(segment=smb OR tier=1", "scope:1:23: expected ')' to close the '(' at 1:1, "
					      "found the end");
	parse_fails("segment=smb)", "scope:1:12: unexpected ')'");
	parse_fails("region", "scope:1:1: region needs a comparison, such as region=VALUE");
	parse_fails("region=", "scope:1:8: expected a value, found the end");
	parse_fails(
	    "region= AND tier=1",
	    "scope:1:9: expected a value, found the keyword AND (quote it to mean the word)");
	parse_fails("segment IN ()", "scope:1:13: expected a value, found ')'");
	parse_fails("segment IN (smb mid-market)",
		    "scope:1:17: expected ',' or ')' in the IN list, found 'mid-market'");
	parse_fails("segment IN smb", "scope:1:12: expected '(' after IN");
	parse_fails("!do_not_contact", "scope:1:1: unexpected '!' (use NOT, or != to compare)");
	parse_fails("tier=<2", "scope:1:5: unknown operator starting '=<'");
	parse_fails("custom=1",
		    "scope:1:1: 'custom' holds the custom fields: name one as custom.NAME");
	parse_fails("custom.=1", "scope:1:1: custom field name must be 1 to 64 characters");
	parse_fails(
	    "custom.a.b=1",
	    "scope:1:1: custom field name 'a.b' may hold only letters, digits, '_' and '-'");
	parse_fails("", "scope is empty");
	parse_fails("  \n ", "scope is empty");
	parse_fails("AND tier=1", "scope:1:1: expected a field, NOT or '(', found 'AND'");
	parse_fails("tier=1 AND", "scope:1:11: expected a field, NOT or '(', found the end");
	parse_fails("tier=1 tier=2",
		    "scope:1:8: unexpected 'tier': quote a value that holds spaces "
		    "(\"New York\"), or join conditions with AND / OR");
	parse_fails("region=\"a\x01\"", "scope:1:10: control character 0x01 in a quoted value");
	parse_fails("region=a\x01", "scope:1:9: unexpected character 0x01");
	parse_fails("region=Zürich AND regoin=x",
		    "scope:1:19: unknown field 'regoin' (did you mean 'region'?)");
	parse_fails("custom.n>\"\"", "scope:1:10: '>' needs a value");
	parse_fails("updated_at>yesterday",
		    "scope:1:12: updated_at: 'yesterday' is not a date (YYYY-MM-DD or "
		    "YYYY-MM-DDTHH:MM:SSZ)");
}

static void test_bounds(void **state)
{
	char *big = malloc(SCOPE_MAX_LEN + 64), deep[512];
	struct scope *s = NULL;
	struct err err = {0};
	size_t o = 0;
	int i;

	(void)state;
	/* the length cap */
	memset(big, ' ', SCOPE_MAX_LEN + 1);
	memcpy(big, "tier=1", 6);
	big[SCOPE_MAX_LEN + 1] = '\0';
	assert_int_equal(scope_parse(big, &s, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "scope is too long (more than 4096 bytes)");
	big[SCOPE_MAX_LEN] = '\0'; /* exactly at the cap is fine */
	assert_ok(scope_parse(big, &s, &err), &err);
	scope_free(s);
	/* a long flat chain is fine: it is not nesting */
	for (o = 0; o + 12 < SCOPE_MAX_LEN;)
		o += (size_t)snprintf(big + o, SCOPE_MAX_LEN + 64 - o, "%stier=1", o ? " OR " : "");
	assert_ok(scope_parse(big, &s, &err), &err);
	assert_false(scope_match(s, NULL));
	scope_free(s);
	/* the nesting cap: parentheses and NOTs */
	o = 0;
	for (i = 0; i < SCOPE_MAX_DEPTH; i++)
		deep[o++] = '(';
	memcpy(deep + o, "tier=1", 6);
	o += 6;
	for (i = 0; i < SCOPE_MAX_DEPTH; i++)
		deep[o++] = ')';
	deep[o] = '\0';
	assert_ok(scope_parse(deep, &s, &err), &err);
	scope_free(s);
	o = 0;
	for (i = 0; i <= SCOPE_MAX_DEPTH; i++)
		deep[o++] = '(';
	memcpy(deep + o, "tier=1", 7);
	assert_int_equal(scope_parse(deep, &s, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "scope:1:33: nested too deeply (at most 32 levels)");
	o = 0;
	for (i = 0; i <= SCOPE_MAX_DEPTH; i++)
		o += (size_t)snprintf(deep + o, sizeof deep - o, "NOT ");
	snprintf(deep + o, sizeof deep - o, "do_not_contact");
	assert_int_equal(scope_parse(deep, &s, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "nested too deeply"));
	free(big);
	big = NULL;
}

/* Counting allocator: scope_match must not allocate. */
static long n_allocs;
static void *count_malloc(size_t n)
{
	n_allocs++;
	return malloc(n);
}

static void test_match_does_not_allocate(void **state)
{
	struct scope *s =
	    parse_ok("(segment IN (smb, mid-market) OR tier<=2) AND NOT do_not_contact"
		     " AND custom.plan=gold AND region!=\"\" AND arr>1000");
	json_t *a = acme();
	int i, m = 0;

	(void)state;
	json_set_alloc_funcs(count_malloc, free);
	n_allocs = 0;
	for (i = 0; i < 1000; i++)
		m += scope_match(s, a);
	assert_int_equal(n_allocs, 0);
	json_set_alloc_funcs(malloc, free);
	assert_int_equal(m, 1000);
	json_decref(a);
	scope_free(s);
}

static const char *const corpus[] = {
    "segment=mid-market AND region=EMEA",
    "lifecycle=prospect AND segment IN (smb, mid-market)",
    "tier<=2 AND NOT do_not_contact",
    "(region=\"New York\" OR region!=EMEA) AND custom.plan=gold",
    "segment NOT IN ('smb', \"enterprise\") OR (tier>1 AND (arr>=5e5 OR employees<10))",
    "NOT (NOT (do_not_contact=false)) AND updated_at>2026-01-01T10:00Z",
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* One fuzz input: a clean error naming "scope", or a tree whose canonical
 * text parses back to itself; matching never crashes. */
static void check_input(const char *text, json_t *a)
{
	struct scope *s = NULL, *s2 = NULL;
	struct err err = {0};
	char *c, *c2;
	int rc = scope_parse(text, &s, &err);

	if (rc) {
		assert_int_equal(rc, AIRLOCK_EINVAL);
		assert_null(s);
		if (strncmp(err.msg, "scope", 5) != 0)
			fail_msg("error without position for '%s': %s", text, err.msg);
		return;
	}
	(void)scope_match(s, a);
	c = scope_to_string(s);
	assert_non_null(c);
	if (scope_parse(c, &s2, &err))
		fail_msg("canonical '%s' of '%s' does not parse: %s", c, text, err.msg);
	c2 = scope_to_string(s2);
	if (strcmp(c, c2) != 0)
		fail_msg("canonical text not stable: '%s' → '%s'", c, c2);
	assert_int_equal(scope_match(s, a), scope_match(s2, a));
	free(c);
	free(c2);
	scope_free(s);
	scope_free(s2);
}

static void test_fuzz_truncations_and_mutations(void **state)
{
	static const char alphabet[] =
	    "()=!<>,\"' \\\tabcINOTRDAND.tier1-2segmentsmb\n\x80\xc3\xbc";
	static const char *const pieces[] = {"AND ",
					     "OR ",
					     "NOT ",
					     "IN ",
					     "(",
					     ")",
					     ",",
					     "=",
					     "!=",
					     "<=",
					     ">",
					     "tier",
					     "segment",
					     "smb",
					     "region",
					     "\"x y\"",
					     "'q'",
					     "custom.k",
					     "do_not_contact",
					     " ",
					     "2"};
	char buf[256];
	json_t *a = acme();
	size_t i, n, len;
	int round;

	(void)state;
	/* every prefix of every corpus entry */
	for (i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
		len = strlen(corpus[i]);
		for (n = 0; n <= len; n++) {
			memcpy(buf, corpus[i], n);
			buf[n] = '\0';
			check_input(buf, a);
		}
	}
	/* byte mutations of the corpus */
	for (round = 0; round < 20000; round++) {
		const char *src = corpus[rnd() % (sizeof corpus / sizeof corpus[0])];
		int k, muts = 1 + (int)(rnd() % 4);

		len = strlen(src);
		memcpy(buf, src, len + 1);
		for (k = 0; k < muts; k++) {
			size_t at = rnd() % len;
			char c = alphabet[rnd() % (sizeof alphabet - 1)];

			switch (rnd() % 3) {
			case 0:
				buf[at] = c;
				break;
			case 1: /* delete */
				memmove(buf + at, buf + at + 1, len - at);
				len--;
				break;
			default: /* insert */
				if (len + 2 < sizeof buf) {
					memmove(buf + at + 1, buf + at, len - at + 1);
					buf[at] = c;
					len++;
				}
			}
			if (len == 0)
				break;
		}
		check_input(buf, a);
	}
	/* random sentences of tokens */
	for (round = 0; round < 20000; round++) {
		int k, nt = 1 + (int)(rnd() % 12);

		len = 0;
		buf[0] = '\0';
		for (k = 0; k < nt; k++) {
			const char *pc = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
			size_t pl = strlen(pc);

			if (len + pl + 1 >= sizeof buf)
				break;
			memcpy(buf + len, pc, pl + 1);
			len += pl;
		}
		check_input(buf, a);
	}
	json_decref(a);
}

/* The agent declares custom.n="03": text. The canonical text (what a draft
 * stores and the send re-checks) dropped the quotes, so custom.n=03 also
 * took the number 3: after the book changed the field's type the message
 * went out, and custom.n!="03" refused an account that had not changed. */
static void test_quoted_number_keeps_its_meaning(void **state)
{
	json_t *text03 = account("{\"custom\":{\"n\":\"03\"}}");
	json_t *num3 = account("{\"custom\":{\"n\":3}}");
	json_t *yes = account("{\"custom\":{\"b\":true}}");

	(void)state;
	canonical_is("custom.n=\"03\"", "custom.n=\"03\"");
	canonical_is("custom.n='03'", "custom.n=\"03\"");
	canonical_is("custom.n=03", "custom.n=03");
	canonical_is("custom.n IN (\"3.0\", 3.0, '1e2', abc, \"abc\")",
		     "custom.n IN (\"3.0\", 3.0, \"1e2\", abc, abc)");
	canonical_is("custom.b=\"true\" OR custom.b!=TRUE", "custom.b=\"true\" OR custom.b!=TRUE");
	canonical_is("custom.n<\"10\"", "custom.n<\"10\"");
	/* catalogue fields read a value by their type: quotes mean nothing */
	canonical_is("region=\"03\" AND tier=\"2\"", "region=03 AND tier=2");

	assert_true(matches("custom.n=\"03\"", text03));
	assert_false(matches("custom.n=\"03\"", num3));
	assert_true(matches("custom.n!=\"03\"", num3));
	assert_false(matches("custom.b=\"true\"", yes));
	{
		struct scope *s = parse_ok("custom.n=\"03\""), *s2 = parse_ok("custom.n!=\"03\"");
		struct scope *s3 = parse_ok("custom.b=\"true\""), *c;
		char *t;

		t = scope_to_string(s);
		c = parse_ok(t);
		assert_true(scope_match(c, text03));
		assert_false(scope_match(c, num3)); /* the type change is not let through */
		free(t);
		scope_free(c);
		t = scope_to_string(s2);
		c = parse_ok(t);
		assert_true(scope_match(c, num3)); /* the unchanged account is not refused */
		free(t);
		scope_free(c);
		t = scope_to_string(s3);
		c = parse_ok(t);
		assert_false(scope_match(c, yes));
		free(t);
		scope_free(c);
		scope_free(s);
		scope_free(s2);
		scope_free(s3);
	}
	json_decref(text03);
	json_decref(num3);
	json_decref(yes);
}

/* A control character is refused however it is written: raw, or escaped
 * with a backslash (which the lexer used to accept, printing a canonical
 * text that no longer parsed). The error names the column. */
static void test_control_characters_refused(void **state)
{
	(void)state;
	parse_fails("region=\"a\\\x01\"", "scope:1:11: control character 0x01 in a quoted value");
	parse_fails("custom.n='\\\x1b[31m'",
		    "scope:1:12: control character 0x1b in a quoted value");
	parse_fails("region=\"a\\\nb\"", "scope:1:11: control character 0x0a in a quoted value");
	parse_fails("region=\"\x7f\"", "scope:1:9: control character 0x7f in a quoted value");
	parse_fails("region IN (x, \"\\\r\")",
		    "scope:1:17: control character 0x0d in a quoted value");
	canonical_is("region=\"a\tb\"", "region=\"a\tb\"");
}

/* Every accepted scope's canonical text must parse back to the same text and
 * match exactly the accounts the original matches, and the canonical text
 * must fit the length cap (the canonical form can be longer: spaces after
 * commas, escapes). */
static void test_canonical_fits_the_cap(void **state)
{
	char *big = malloc(SCOPE_MAX_LEN + 1);
	struct scope *s = NULL;
	struct err err = {0};
	size_t o;

	(void)state;
	o = (size_t)snprintf(big, SCOPE_MAX_LEN + 1, "custom.n IN (1");
	while (o + 2 <= SCOPE_MAX_LEN - 1) {
		memcpy(big + o, ",1", 2);
		o += 2;
	}
	big[o++] = ')';
	big[o] = '\0';
	assert_int_equal(scope_parse(big, &s, &err), AIRLOCK_EINVAL);
	assert_null(s);
	assert_non_null(strstr(err.msg, "scope is too long once written out canonically"));
	free(big);
}

/* The round-trip property over random expressions from the grammar-based
 * generator and random accounts (fuzz/fuzz_scope_harness.h). */
static void test_round_trip_property(void **state)
{
	unsigned char bytes[96];
	char text[SCOPE_MAX_LEN + 2], why[2048];
	json_t *accts[64];
	int round, i, accepted = 0;

	(void)state;
	for (i = 0; i < 64; i++)
		accts[i] = fuzz_scope_account(1000 + (uint64_t)rnd());
	for (round = 0; round < 30000; round++) {
		for (i = 0; i < (int)sizeof bytes; i++)
			bytes[i] = (unsigned char)rnd();
		fuzz_scope_gen(bytes, 1 + rnd() % sizeof bytes, text, sizeof text);
		if (fuzz_scope_check(text, accts, 64, why, sizeof why))
			fail_msg("%s", why);
		{
			struct scope *s = NULL;
			struct err err = {0};

			if (!scope_parse(text, &s, &err))
				accepted++;
			scope_free(s);
		}
	}
	/* the generator must reach valid scopes, or the property says nothing */
	assert_true(accepted > 3000);
	for (i = 0; i < 64; i++)
		json_decref(accts[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_examples_match),
	    cmocka_unit_test(test_match_semantics),
	    cmocka_unit_test(test_canonical_text),
	    cmocka_unit_test(test_errors_name_the_column),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_match_does_not_allocate),
	    cmocka_unit_test(test_fuzz_truncations_and_mutations),
	    cmocka_unit_test(test_quoted_number_keeps_its_meaning),
	    cmocka_unit_test(test_control_characters_refused),
	    cmocka_unit_test(test_canonical_fits_the_cap),
	    cmocka_unit_test(test_round_trip_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
