/* test_text.c — what a person sees of hostile text: every class of
 * character that steers a terminal or a reader is escaped, and refused at
 * the door; ordinary text passes unchanged; invalid UTF-8 never gets
 * through raw. */
#include "testutil.h"

#include "text.h"

/* Escapes len bytes and compares with want. */
static void esc_n(const char *s, size_t len, int flags, const char *want)
{
	char *got = text_escape(s, len, flags);

	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(text_needs_escape(s, len, flags), strcmp(s, want) != 0 || len != strlen(s));
	free(got);
}

static void esc(const char *s, int flags, const char *want)
{
	esc_n(s, strlen(s), flags, want);
}

/* No byte of out may steer a terminal: no C0 but (maybe) \n, no DEL, no
 * C1 lead sequence, no bidi, and valid UTF-8 throughout. */
static void assert_inert(const char *out, int lines)
{
	const unsigned char *p = (const unsigned char *)out;

	for (; *p; p++) {
		assert_false(*p < 0x20 && !(lines && *p == '\n'));
		assert_false(*p == 0x7f);
		assert_false(*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
		assert_false(*p == 0xe2 && p[1] == 0x80 && (p[2] >= 0xa8 && p[2] <= 0xae));
		assert_false(*p == 0xe2 && p[1] == 0x81 && (p[2] >= 0xa6 && p[2] <= 0xa9));
	}
	{
		struct err err = {0};

		assert_int_equal(text_check("out", out, strlen(out), TEXT_LINES, &err), 0);
	}
}

/* The attack of issue 13: a reason that erases the real line. */
static void test_terminal_sequences_become_visible(void **state)
{
	(void)state;
	esc("fine\x1b[1A\x1b[2K\r     tier: 4 -> 4", 0, "fine\\e[1A\\e[2K\\r     tier: 4 -> 4");
	/* OSC 8 hyperlink and OSC 52 clipboard write, BEL- and ST-terminated */
	esc("\x1b]8;;http://evil\x07" "click\x1b]8;;\x07", 0,
	    "\\e]8;;http://evil\\x07click\\e]8;;\\x07");
	esc("\x1b]52;c;cm0gLXJmIH4=\x1b\\", 0, "\\e]52;c;cm0gLXJmIH4=\\e\\");
	esc("a\bb\b\bc", 0, "a\\x08b\\x08\\x08c");
	esc("tab\there", 0, "tab\\there");
	esc("del\x7f", 0, "del\\x7f");
	esc("one\ntwo\r\n", 0, "one\\ntwo\\r\\n");
}

/* Every C0 byte and DEL, and the printable ASCII around them. */
static void test_c0_boundaries(void **state)
{
	char in[2] = {0, 0}, *out;
	int c;

	(void)state;
	for (c = 1; c < 0x80; c++) {
		in[0] = (char)c;
		out = text_escape(in, 1, 0);
		assert_non_null(out);
		if (c < 0x20 || c == 0x7f)
			assert_true(out[0] == '\\' && strlen(out) >= 2);
		else
			assert_string_equal(out, in);
		free(out);
	}
	esc_n("a\0b", 3, 0, "a\\x00b");
	esc(" ~", 0, " ~");
}

static void test_multiline_keeps_only_newline(void **state)
{
	(void)state;
	esc("line one\nline two", TEXT_LINES, "line one\nline two");
	esc("a\r\nb\tc\x1b[2J", TEXT_LINES, "a\\r\nb\\tc\\e[2J");
	esc("para\xe2\x80\xa9next", TEXT_LINES, "para\\u2029next");
}

/* C1 as a code point (U+0080..U+009F) and as a raw byte (invalid UTF-8). */
static void test_c1_controls(void **state)
{
	(void)state;
	esc("\xc2\x9b" "2J", 0, "\\u009b2J");
	esc("\xc2\x80", 0, "\\u0080");
	esc("\xc2\x9f", 0, "\\u009f");
	esc("\xc2\xa0nbsp", 0, "\xc2\xa0nbsp"); /* U+00A0 is text */
	esc("\x9b" "2J", 0, "\\x9b2J");
	esc("\x9d" "8;;x", 0, "\\x9d8;;x");
}

static void test_bidi_and_separators(void **state)
{
	(void)state;
	esc("invoice\xe2\x80\xaetxt.exe", 0, "invoice\\u202etxt.exe");
	esc("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", 0,
	    "\\u202a\\u202b\\u202c\\u202d");
	esc("\xe2\x81\xa6x\xe2\x81\xa7y\xe2\x81\xa8z\xe2\x81\xa9", 0,
	    "\\u2066x\\u2067y\\u2068z\\u2069");
	esc("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 0, "\\u200e\\u200f\\u061c");
	esc("\xe2\x80\xa8", 0, "\\u2028");
	/* neighbours that are ordinary text */
	esc("\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa", 0,
	    "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa");
	esc("\xe2\x80\x8d\xd8\x9b", 0, "\xe2\x80\x8d\xd8\x9b");
}

static void test_ordinary_text_unchanged(void **state)
{
	(void)state;
	esc("Müller GmbH — tier 4 → 2, 東京, emoji \xf0\x9f\x9a\x80", 0,
	    "Müller GmbH — tier 4 → 2, 東京, emoji \xf0\x9f\x9a\x80");
	esc("C:\\path\\e", 0, "C:\\path\\e");
	esc("", 0, "");
}

/* Anything that is not well-formed UTF-8 comes out byte by byte as \xHH. */
static void test_invalid_utf8(void **state)
{
	(void)state;
	esc("\xc0\x80", 0, "\\xc0\\x80");             /* overlong NUL */
	esc("\xc1\xbf", 0, "\\xc1\\xbf");             /* overlong DEL */
	esc("\xe0\x80\x9b", 0, "\\xe0\\x80\\x9b");    /* overlong CSI */
	esc("\xe0\x9f\xbf", 0, "\\xe0\\x9f\\xbf");    /* overlong U+07FF */
	esc("\xe0\xa0\x80", 0, "\xe0\xa0\x80");       /* U+0800, the first 3-byte */
	esc("\xf0\x80\x80\xaf", 0, "\\xf0\\x80\\x80\\xaf");
	esc("\xf0\x90\x80\x80", 0, "\xf0\x90\x80\x80"); /* U+10000 */
	esc("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");    /* a surrogate */
	esc("\xed\x9f\xbf", 0, "\xed\x9f\xbf");       /* U+D7FF */
	esc("\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	esc("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80");
	esc("\xf5\x80", 0, "\\xf5\\x80");
	esc("\xff\xfe", 0, "\\xff\\xfe");
	esc("\x80x", 0, "\\x80x");                    /* stray continuation */
	esc("\xe2\x80", 0, "\\xe2\\x80");             /* truncated at the end */
	esc("\xe2\x80x", 0, "\\xe2\\x80x");           /* truncated mid-string */
	esc("\xe2\x80\xae", 0, "\\u202e");
}

static void test_escape_buf_cuts_whole_escapes(void **state)
{
	char buf[12];

	(void)state;
	assert_string_equal(text_escape_buf(buf, sizeof buf, "abc", 0), "abc");
	assert_string_equal(text_escape_buf(buf, sizeof buf, NULL, 0), "");
	/* 11 bytes of room: "\e\e" fits, a third "\e" with the mark does not */
	assert_string_equal(text_escape_buf(buf, sizeof buf, "\x1b\x1b\x1b\x1b\x1b\x1b", 0),
			    "\\e\\e\\e\\e…");
	assert_string_equal(text_escape_buf(buf, 3, "\x1b\x1b", 0), "");
	assert_string_equal(text_escape_buf(buf, sizeof buf, "ééééééé", 0), "éééé…");
	assert_inert(text_escape_buf(buf, sizeof buf, "\xe2\x80\xae\xe2\x80\xae", 0), 0);
}

static void test_check_refuses_each_class(void **state)
{
	struct err err = {0};

	(void)state;
	assert_int_equal(text_check("reason", "fine", 4, 0, &err), 0);
	assert_int_equal(text_check("reason", "a\x1b[1A", 5, 0, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "reason contains control character 0x1b");
	assert_int_equal(text_check("reason", "a\nb", 3, 0, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "reason contains control character 0x0a");
	assert_int_equal(text_check("reason", "a\nb\tc\r\n", 7, TEXT_LINES, &err), 0);
	assert_int_equal(text_check("reason", "a\x08", 2, TEXT_LINES, &err), AIRLOCK_EINVAL);
	assert_int_equal(text_check("reason", "a\x7f", 2, TEXT_LINES, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "reason contains control character 0x7f");
	assert_int_equal(text_check("r", "\xc2\x9b", 2, TEXT_LINES, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "r contains control character U+009B");
	assert_int_equal(text_check("r", "x\xe2\x80\xae", 4, TEXT_LINES, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "r contains bidirectional or separator character U+202E");
	assert_int_equal(text_check("r", "\xe2\x81\xa6", 3, TEXT_LINES, &err), AIRLOCK_EINVAL);
	assert_int_equal(text_check("r", "\xe2\x80\xa8", 3, TEXT_LINES, &err), AIRLOCK_EINVAL);
	assert_int_equal(text_check("r", "ok\x9b", 3, TEXT_LINES, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "r is not valid UTF-8 at byte 2");
	assert_int_equal(text_check("r", "a\0b", 3, TEXT_LINES, &err), AIRLOCK_EINVAL);
	assert_int_equal(text_check("r", "Müller → 東京", strlen("Müller → 東京"), 0, &err), 0);
}

/* The tree walk: values, nested arrays, keys; "body" keeps line breaks. */
static void test_json_escape_walks_everything(void **state)
{
	static const char *const lines[] = {"body", NULL};
	json_t *v = json_pack("{s:s,s:[s,{s:s}],s:s,s:i}", "reason", "a\x1b[2Kb", "list", "\xc2\x9b",
			      "x\xe2\x80\xaey", "z\r", "body", "l1\nl2\x1b", "n", 7);
	(void)state;
	assert_non_null(v);
	assert_int_equal(json_object_set_new(v, "k\x1b]8;;", json_string("v")), 0);
	assert_int_equal(text_json_escape(v, lines), 0);
	assert_string_equal(json_string_value(json_object_get(v, "reason")), "a\\e[2Kb");
	assert_string_equal(json_string_value(json_object_get(v, "body")), "l1\nl2\\e");
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "list"), 0)),
			    "\\u009b");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(v, "list"), 1), "x\\u202ey")),
			    "z\\r");
	assert_null(json_object_get(v, "k\x1b]8;;"));
	assert_string_equal(json_string_value(json_object_get(v, "k\\e]8;;")), "v");
	json_decref(v);
}

/* --json output: same data for a JSON reader, inert on a terminal. */
static void test_json_dumps_inert_and_equal(void **state)
{
	json_t *v = json_pack("{s:s,s:s,s:s}", "a", "x\x1b\x7f", "b", "\xc2\x9b\xe2\x80\xae\xe2\x81\xa6",
			      "c", "Müller");
	json_t *back;
	json_error_t je;
	char *doc;

	(void)state;
	doc = text_json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(doc);
	assert_inert(doc, 0);
	assert_non_null(strstr(doc, "Müller"));
	assert_non_null(strstr(doc, "\\u007f"));
	assert_non_null(strstr(doc, "\\u202e"));
	back = json_loads(doc, 0, &je);
	assert_non_null(back);
	assert_true(json_equal(back, v));
	json_decref(back);
	free(doc);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terminal_sequences_become_visible),
		cmocka_unit_test(test_c0_boundaries),
		cmocka_unit_test(test_multiline_keeps_only_newline),
		cmocka_unit_test(test_c1_controls),
		cmocka_unit_test(test_bidi_and_separators),
		cmocka_unit_test(test_ordinary_text_unchanged),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_escape_buf_cuts_whole_escapes),
		cmocka_unit_test(test_check_refuses_each_class),
		cmocka_unit_test(test_json_escape_walks_everything),
		cmocka_unit_test(test_json_dumps_inert_and_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
