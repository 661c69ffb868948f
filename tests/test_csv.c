/* test_csv.c — the RFC 4180 reader and writer: good files, hostile files,
 * buffer boundaries and a writer/reader round trip. */
#include "testutil.h"

#include "csv.h"

/* A reader over an in-memory copy of data (fmemopen). */
struct src {
	FILE *f;
	struct csv_reader *r;
	struct err err;
};

static void src_open(struct src *s, const char *data, size_t len, const struct csv_limits *lim)
{
	memset(s, 0, sizeof *s);
	/* fmemopen on a zero-length buffer is refused by some libcs: use a tmpfile */
	s->f = tmpfile();
	assert_non_null(s->f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, s->f), len);
	rewind(s->f);
	assert_ok(csv_reader_new(&s->r, s->f, lim, &s->err), &s->err);
}

static void src_close(struct src *s)
{
	csv_reader_free(s->r);
	fclose(s->f);
}

/* Reads the next record and checks its line and fields ("|"-joined). */
static void expect_record(struct src *s, long line, const char *joined)
{
	struct csv_record rec;
	char buf[4096];
	size_t used = 0;
	int rc, i;

	rc = csv_read(s->r, &rec, &s->err);
	if (rc != CSV_RECORD)
		fail_msg("wanted a record at line %ld, got %d: %s", line, rc, s->err.msg);
	buf[0] = '\0';
	for (i = 0; i < rec.nfields; i++) {
		assert_int_equal(strlen(rec.fields[i]), rec.lens[i]);
		used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? "|" : "",
					 rec.fields[i]);
	}
	assert_string_equal(buf, joined);
	assert_int_equal(rec.line, line);
}

static void expect_eof(struct src *s)
{
	struct csv_record rec;
	int rc = csv_read(s->r, &rec, &s->err);

	if (rc != CSV_EOF)
		fail_msg("wanted the end, got %d (%s)", rc, s->err.msg);
}

/* The next read fails with a message containing want. */
static void expect_error(struct src *s, const char *want)
{
	struct csv_record rec;
	int rc = csv_read(s->r, &rec, &s->err);

	assert_int_equal(rc, AIRLOCK_EINVAL);
	if (!strstr(s->err.msg, want))
		fail_msg("error '%s' does not contain '%s'", s->err.msg, want);
}

/* Reads data to its first error, which must contain want. */
static void check_error(const char *data, size_t len, const char *want)
{
	struct csv_record rec;
	struct src s;
	int rc;

	src_open(&s, data, len, NULL);
	while ((rc = csv_read(s.r, &rec, &s.err)) == CSV_RECORD)
		;
	if (rc != AIRLOCK_EINVAL)
		fail_msg("wanted an error containing '%s', got %d", want, rc);
	if (!strstr(s.err.msg, want))
		fail_msg("error '%s' does not contain '%s'", s.err.msg, want);
	src_close(&s);
}

#define CHECK_ERROR(data, want) check_error(data, sizeof data - 1, want)

static void test_plain_and_quoted(void **state)
{
	static const char data[] = "id,name,note\n"
				   "1,Acme,plain\n"
				   "2,\"Acme, Inc.\",\"say \"\"hi\"\"\"\n"
				   "3,\"\",\"\"\"\"\n"
				   "4,a b , x\n";
	struct src s;

	(void)state;
	src_open(&s, data, sizeof data - 1, NULL);
	expect_record(&s, 1, "id|name|note");
	expect_record(&s, 2, "1|Acme|plain");
	expect_record(&s, 3, "2|Acme, Inc.|say \"hi\"");
	expect_record(&s, 4, "3||\"");
	expect_record(&s, 5, "4|a b | x"); /* spaces are data */
	expect_eof(&s);
	expect_eof(&s);
	src_close(&s);
}

static void test_newlines_inside_quotes(void **state)
{
	static const char data[] = "a,b\r\n"
				   "\"line1\nline2\",x\r\n"
				   "\"cr\rcrlf\r\nend\",y\r\n"
				   "after,z\r\n";
	struct src s;

	(void)state;
	src_open(&s, data, sizeof data - 1, NULL);
	expect_record(&s, 1, "a|b");
	expect_record(&s, 2, "line1\nline2|x");
	expect_record(&s, 4, "cr\rcrlf\r\nend|y"); /* kept byte for byte */
	expect_record(&s, 7, "after|z");
	expect_eof(&s);
	src_close(&s);
}

static void test_line_endings(void **state)
{
	static const char data[] = "a,b\rc,d\r\ne,f\ng,h";
	struct src s;

	(void)state;
	src_open(&s, data, sizeof data - 1, NULL);
	expect_record(&s, 1, "a|b");
	expect_record(&s, 2, "c|d");
	expect_record(&s, 3, "e|f");
	expect_record(&s, 4, "g|h"); /* no final newline */
	expect_eof(&s);
	src_close(&s);
}

static void test_bom_blank_lines_and_trailing_comma(void **state)
{
	static const char data[] = "\xEF\xBB\xBFid,name\n\n\r\n1,\n\n2,\"\"\n\n";
	struct src s;

	(void)state;
	src_open(&s, data, sizeof data - 1, NULL);
	expect_record(&s, 1, "id|name"); /* BOM skipped, not part of 'id' */
	expect_record(&s, 4, "1|");
	expect_record(&s, 6, "2|");
	expect_eof(&s);
	src_close(&s);
}

static void test_bom_elsewhere_is_data(void **state)
{
	static const char data[] = "a\n\xEF\xBB\xBFx\n";
	struct src s;

	(void)state;
	src_open(&s, data, sizeof data - 1, NULL);
	expect_record(&s, 1, "a");
	expect_record(&s, 2, "\xEF\xBB\xBFx");
	expect_eof(&s);
	src_close(&s);
}

static void test_empty_inputs(void **state)
{
	struct src s;

	(void)state;
	src_open(&s, "", 0, NULL);
	expect_eof(&s);
	src_close(&s);
	src_open(&s, "\xEF\xBB\xBF", 3, NULL);
	expect_eof(&s);
	assert_int_equal(csv_reader_offset(s.r), 3);
	src_close(&s);
	src_open(&s, "\n\r\n\n", 4, NULL);
	expect_eof(&s);
	src_close(&s);
	src_open(&s, "id,name\r\n", 9, NULL); /* header only */
	expect_record(&s, 1, "id|name");
	expect_eof(&s);
	assert_int_equal(csv_reader_offset(s.r), 9);
	src_close(&s);
}

/* A file whose very first field is empty: the reader has buffered nothing
 * yet when that field ends (csv.c checked its UTF-8 at NULL + 0, undefined
 * behaviour clang's UBSan reports). The record must still come back whole. */
static void test_empty_first_field(void **state)
{
	struct csv_record rec;
	struct src s;

	(void)state;
	src_open(&s, ",a\n", 3, NULL);
	assert_int_equal(csv_read(s.r, &rec, &s.err), CSV_RECORD);
	assert_int_equal(rec.nfields, 2);
	assert_non_null(rec.fields[0]);
	assert_string_equal(rec.fields[0], "");
	assert_int_equal(rec.lens[0], 0);
	assert_string_equal(rec.fields[1], "a");
	expect_eof(&s);
	src_close(&s);
	src_open(&s, ",", 1, NULL); /* one record of two empty fields, no line end */
	expect_record(&s, 1, "|");
	expect_eof(&s);
	src_close(&s);
	src_open(&s, "\"\",\"\"\r\n,x\r\n", 11, NULL);
	expect_record(&s, 1, "|");
	expect_record(&s, 2, "|x");
	expect_eof(&s);
	src_close(&s);
}

static void test_ragged_rows_are_returned_as_they_are(void **state)
{
	static const char data[] = "a,b,c\n1,2\n1,2,3,4\n";
	struct src s;

	(void)state;
	src_open(&s, data, sizeof data - 1, NULL);
	expect_record(&s, 1, "a|b|c");
	expect_record(&s, 2, "1|2");
	expect_record(&s, 3, "1|2|3|4");
	expect_eof(&s);
	src_close(&s);
}

static void test_bad_utf8_names_the_column(void **state)
{
	static const char data[] = "id,Website\n1,ok\n2,caf\xE9\n";
	struct csv_record rec;
	struct src s;

	(void)state;
	src_open(&s, data, sizeof data - 1, NULL);
	assert_int_equal(csv_read(s.r, &rec, &s.err), CSV_RECORD);
	assert_ok(csv_reader_name_columns(s.r, &rec, &s.err), &s.err);
	expect_record(&s, 2, "1|ok");
	expect_error(&s, "3: column 'Website' (2): invalid UTF-8 at byte 4");
	/* a failed reader stays failed */
	assert_int_equal(csv_read(s.r, &rec, &s.err), AIRLOCK_ESTATE);
	src_close(&s);

	CHECK_ERROR("a,b\n1,\xC0\xAF\n", "2: column 2: invalid UTF-8");     /* overlong '/' */
	CHECK_ERROR("a\n\xED\xA0\x80\n", "2: column 1: invalid UTF-8");     /* surrogate */
	CHECK_ERROR("a\n\xF4\x90\x80\x80\n", "2: column 1: invalid UTF-8"); /* > U+10FFFF */
	CHECK_ERROR("a\n\"x\xE2\x82\"\n", "2: column 1: invalid UTF-8");    /* truncated */
	CHECK_ERROR("a,b\n1,x\0y\n", "2: column 2: NUL byte");
	CHECK_ERROR("a,b\n1,\"x\0y\"\n", "2: column 2: NUL byte");
}

static void test_quote_errors(void **state)
{
	(void)state;
	CHECK_ERROR("a,b\n1,\"open\nstill open\n", "2: column 2: the quote opened on line 2 is "
						   "never closed");
	CHECK_ERROR("a,b\nx,\"q\"\"\n", "never closed");
	CHECK_ERROR("a,b\n1,5\" screen\n", "2: column 2: stray quote in an unquoted field");
	CHECK_ERROR("a,b\n1,\"quoted\"tail\n", "2: column 2: text after the closing quote");
	CHECK_ERROR("a,b\n1,\"quoted\" \n", "2: column 2: text after the closing quote");
}

static void test_field_and_column_caps(void **state)
{
	size_t n = CSV_MAX_FIELD + 16, i;
	char *big = malloc(n);
	struct csv_limits lim = {128, 4, 100};
	struct src s;

	(void)state;
	assert_non_null(big);
	/* exactly at the cap passes, one byte over fails */
	memcpy(big, "a\n", 2);
	memset(big + 2, 'x', CSV_MAX_FIELD);
	big[2 + CSV_MAX_FIELD] = '\n';
	src_open(&s, big, 3 + CSV_MAX_FIELD, NULL);
	expect_record(&s, 1, "a");
	assert_int_equal(csv_read(s.r, &(struct csv_record){0}, &s.err), CSV_RECORD);
	src_close(&s);
	big[2 + CSV_MAX_FIELD] = 'x';
	big[3 + CSV_MAX_FIELD] = '\n';
	src_open(&s, big, 4 + CSV_MAX_FIELD, NULL);
	expect_record(&s, 1, "a");
	expect_error(&s, "2: column 1: field is longer than 1048576 bytes");
	src_close(&s);
	/* 1024 columns pass, 1025 fail */
	for (i = 0; i < 2 * CSV_MAX_FIELDS; i += 2)
		memcpy(big + i, "x,", 2);
	big[2 * CSV_MAX_FIELDS - 1] = '\n';
	src_open(&s, big, 2 * CSV_MAX_FIELDS, NULL);
	assert_int_equal(csv_read(s.r, &(struct csv_record){0}, &s.err), CSV_RECORD);
	src_close(&s);
	big[2 * CSV_MAX_FIELDS - 1] = ',';
	memcpy(big + 2 * CSV_MAX_FIELDS, "x\n", 2);
	src_open(&s, big, 2 * CSV_MAX_FIELDS + 2, NULL);
	expect_error(&s, "1: more than 1024 columns");
	src_close(&s);
	free(big);
	/* caller-set limits, including the whole-record cap */
	src_open(&s, "a,b,c,d,e\n", 10, &lim);
	expect_error(&s, "1: more than 4 columns");
	src_close(&s);
	memset(big = malloc(200), 'y', 200);
	memcpy(big + 60, ",", 1);
	memcpy(big + 120, ",", 1);
	src_open(&s, big, 200, &lim);
	expect_error(&s, "1: record is longer than 100 bytes");
	src_close(&s);
	free(big);
}

/* Places interesting bytes exactly at the 64 KiB read boundary. */
static void test_buffer_boundaries(void **state)
{
	const size_t B = 65536;
	static const char *const tails[] = {"\r\nb,c\r\n", "\"\"q\",z\n", "\r\n"};
	static const char *const want[] = {"b|c", "", ""};
	char *data = malloc(B + 64);
	size_t k, t;

	(void)state;
	assert_non_null(data);
	for (t = 0; t < 3; t++) {
		for (k = 0; k < 3; k++) {
			struct src s;
			size_t at = B - k, len;

			/* record 1: one plain field "aaa…" ending at offset `at` */
			memset(data, 'a', at);
			if (t == 1) {
				/* a quoted field whose doubled quote straddles the boundary */
				data[0] = '"';
			}
			len = strlen(tails[t]);
			memcpy(data + at, tails[t], len);
			src_open(&s, data, at + len, NULL);
			if (t == 1) {
				struct csv_record rec;

				assert_int_equal(csv_read(s.r, &rec, &s.err), CSV_RECORD);
				assert_int_equal(rec.nfields, 2);
				assert_int_equal(rec.lens[0], at - 1 + 2);
				assert_memory_equal(rec.fields[0] + at - 1, "\"q", 2);
				assert_string_equal(rec.fields[1], "z");
			} else {
				struct csv_record rec;

				assert_int_equal(csv_read(s.r, &rec, &s.err), CSV_RECORD);
				assert_int_equal(rec.lens[0], at);
				if (t == 0)
					expect_record(&s, 2, want[t]);
			}
			expect_eof(&s);
			assert_int_equal(csv_reader_offset(s.r), at + len);
			src_close(&s);
		}
	}
	free(data);
}

static void test_writer_quotes_only_when_needed(void **state)
{
	static const char *const f1[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r",
					 " lead", "trail ", "tab\t", "", NULL, "\xEF\xBB\xBFx",
					 "caf\xC3\xA9"};
	static const char *const one[] = {""};
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);
	struct err err = {0};

	(void)state;
	assert_non_null(f);
	assert_ok(csv_write_record(f, f1, NULL, 12, &err), &err);
	assert_ok(csv_write_record(f, one, NULL, 1, &err), &err);
	fclose(f);
	assert_string_equal(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\","
				 "\" lead\",\"trail \",\"tab\t\",,,\"\xEF\xBB\xBFx\",caf\xC3\xA9\r\n"
				 "\"\"\r\n");
	free(out);
}

static void test_writer_reports_write_errors(void **state)
{
	static const char *const f1[] = {"x"};
	FILE *f = fopen("/dev/full", "w");
	struct err err = {0};
	int i, rc = 0;

	(void)state;
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	for (i = 0; i < 3 && rc == 0; i++)
		rc = csv_write_record(f, f1, NULL, 1, &err);
	assert_int_equal(rc, AIRLOCK_EIO);
	fclose(f);
}

/* Random records from a nasty alphabet survive write → read unchanged. */
static void test_round_trip(void **state)
{
	static const char *const atoms[] = {"a", ",", "\"", "\r", "\n", "\r\n", " ", "\t",
					    "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "x y",
					    "\xEF\xBB\xBF"};
	enum { NREC = 300, MAXF = 6, MAXLEN = 64 };
	static char fields[NREC][MAXF][MAXLEN * 4 + 1];
	static int nf[NREC];
	const char *ptrs[MAXF];
	unsigned seed = 12345;
	char *out = NULL;
	size_t olen = 0;
	struct err err = {0};
	struct src s;
	FILE *f;
	int r, i, k, n;

	(void)state;
	f = open_memstream(&out, &olen);
	assert_non_null(f);
	for (r = 0; r < NREC; r++) {
		nf[r] = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % MAXF;
		for (i = 0; i < nf[r]; i++) {
			fields[r][i][0] = '\0';
			n = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 12;
			for (k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				strncat(fields[r][i], atoms[(seed >> 16) % 13],
					sizeof fields[r][i] - strlen(fields[r][i]) - 1);
			}
			ptrs[i] = fields[r][i];
		}
		assert_ok(csv_write_record(f, ptrs, NULL, nf[r], &err), &err);
	}
	fclose(f);
	src_open(&s, out, olen, NULL);
	for (r = 0; r < NREC; r++) {
		struct csv_record rec;

		if (csv_read(s.r, &rec, &s.err) != CSV_RECORD)
			fail_msg("record %d: %s", r, s.err.msg);
		assert_int_equal(rec.nfields, nf[r]);
		for (i = 0; i < nf[r]; i++)
			assert_string_equal(rec.fields[i], fields[r][i]);
	}
	expect_eof(&s);
	src_close(&s);
	free(out);
}

/* Random bytes from a hostile alphabet: every input ends in records then
 * EOF or one clean EINVAL with a line number, never a crash (ASan watches),
 * and line numbers never go backwards. */
static void test_hostile_inputs(void **state)
{
	static const char alpha[] = {'"', ',', '\r', '\n', 'a', ' ', '\0', (char)0xEF,
				     (char)0xBB, (char)0xBF, (char)0xC3, (char)0xA9, (char)0xFF};
	struct csv_limits lim = {16, 8, 64};
	char buf[300];
	unsigned seed = 99;
	int i, k, n, rc;

	(void)state;
	for (i = 0; i < 3000; i++) {
		struct csv_record rec;
		struct src s;
		long last = 0;

		n = (int)((seed = seed * 1103515245u + 12345u) >> 16) % (int)sizeof buf;
		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[k] = alpha[(seed >> 16) % sizeof alpha];
		}
		src_open(&s, buf, (size_t)n, i % 2 ? &lim : NULL);
		while ((rc = csv_read(s.r, &rec, &s.err)) == CSV_RECORD) {
			assert_true(rec.line > last);
			assert_true(rec.nfields >= 1);
			last = rec.line;
		}
		if (rc != CSV_EOF) {
			assert_int_equal(rc, AIRLOCK_EINVAL);
			assert_true(s.err.msg[0] >= '1' && s.err.msg[0] <= '9');
		}
		src_close(&s);
	}
}

static void test_utf8_validator(void **state)
{
	size_t bad = 0;

	(void)state;
	assert_true(csv_utf8_valid("", 0, &bad));
	assert_true(csv_utf8_valid("plain ascii text, long enough", 29, &bad));
	assert_true(csv_utf8_valid("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBF", 12, &bad));
	assert_false(csv_utf8_valid("abcdefghij\x80", 11, &bad));
	assert_int_equal(bad, 10);
	assert_false(csv_utf8_valid("\xE0\x80\xAF", 3, &bad)); /* overlong */
	assert_false(csv_utf8_valid("\xC3", 1, &bad));
	assert_false(csv_utf8_valid("\xF8\x88\x80\x80\x80", 5, &bad));
	assert_false(csv_utf8_valid("\xC3\x28", 2, &bad));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_quoted),
		cmocka_unit_test(test_newlines_inside_quotes),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_bom_blank_lines_and_trailing_comma),
		cmocka_unit_test(test_bom_elsewhere_is_data),
		cmocka_unit_test(test_empty_inputs),
		cmocka_unit_test(test_empty_first_field),
		cmocka_unit_test(test_ragged_rows_are_returned_as_they_are),
		cmocka_unit_test(test_bad_utf8_names_the_column),
		cmocka_unit_test(test_quote_errors),
		cmocka_unit_test(test_field_and_column_caps),
		cmocka_unit_test(test_buffer_boundaries),
		cmocka_unit_test(test_writer_quotes_only_when_needed),
		cmocka_unit_test(test_writer_reports_write_errors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile_inputs),
		cmocka_unit_test(test_utf8_validator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
