/* test_import.c — header mapping and presets, the bulk loader's upsert rules,
 * the text form of values, and import_csv's all-or-nothing behaviour, on
 * real SQLite files. */
#include "testutil.h"

#include "book.h"
#include "import.h"
#include "import_int.h"

/* Maps a header and returns the targets joined by "|" ("-" for skipped). */
static int map_join(enum book_kind kind, const char *map, const char *const *hdr, int n,
		    char *out, size_t len, struct err *err)
{
	char **t;
	size_t used = 0;
	int i, rc = import_map_header(kind, map, hdr, n, &t, err);

	out[0] = '\0';
	if (rc)
		return rc;
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "|" : "",
					 t[i] ? t[i] : "-");
	import_targets_free(t, n);
	return 0;
}

static void expect_map(enum book_kind kind, const char *map, const char *const *hdr, int n,
		       const char *want)
{
	char got[1024];
	struct err err = {0};

	assert_ok(map_join(kind, map, hdr, n, got, sizeof got, &err), &err);
	assert_string_equal(got, want);
}

static void expect_map_error(enum book_kind kind, const char *map, const char *const *hdr,
			     int n, const char *want)
{
	char got[1024];
	struct err err = {0};

	assert_int_equal(map_join(kind, map, hdr, n, got, sizeof got, &err), AIRLOCK_EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not contain '%s'", err.msg, want);
}

static void test_map_defaults(void **state)
{
	static const char *const h[] = {"ID", "Name", "tier", "Fav Colour", "custom.tier"};
	static const char *const sig[] = {"id", "account_id", "kind", "observed_at"};

	(void)state;
	expect_map(BOOK_ACCOUNT, NULL, h, 5, "id|name|tier|custom.Fav Colour|custom.tier");
	expect_map(BOOK_SIGNAL, NULL, sig, 4, "id|account_id|kind|observed_at");
}

static void test_map_by_hand(void **state)
{
	static const char *const h[] = {"Account ID", "Account Name", "a,b=c", "Junk", "Tier"};

	(void)state;
	expect_map(BOOK_ACCOUNT, " Account ID = id ,Account Name=NAME,a\\,b\\=c=custom.ab,Junk=-,",
		   h, 5, "id|name|custom.ab|-|tier");
	expect_map_error(BOOK_ACCOUNT, "Account ID=id,Nope=name", h, 5,
			 "the header has no column 'Nope'");
	expect_map_error(BOOK_ACCOUNT, "Account ID=colour", h, 5, "'colour' is not a field");
	expect_map_error(BOOK_ACCOUNT, "Account ID=version", h, 5, "'version' is not a field");
	expect_map_error(BOOK_ACCOUNT, "Account ID=id,Account ID=name", h, 5, "mapped twice");
	expect_map_error(BOOK_ACCOUNT, "Account ID=id=x", h, 5, "two '='");
	expect_map_error(BOOK_ACCOUNT, "=id", h, 5, "no column name");
	expect_map_error(BOOK_ACCOUNT, "Account ID=id,salesforce", h, 5, "neither");
	expect_map_error(BOOK_ACCOUNT, "Account Name=name,Tier=name", h, 5, "both give name");
	expect_map_error(BOOK_ACCOUNT, "Account ID=-,Account Name=name", h, 5, "no id column");
	expect_map_error(BOOK_SIGNAL, "Account ID=custom.x", h, 5, "'custom.x' is not a field");
}

static void test_presets(void **state)
{
	static const char *const sf[] = {"Account ID", "Account Name", "Website", "Type",
					 "Billing Country", "Billing Country/Region",
					 "Number of Employees"};
	static const char *const sfc[] = {"Contact ID", "Account ID", "Full Name", "Email",
					  "Email Opt Out"};
	static const char *const hs[] = {"Record ID", "Company name", "Lifecycle Stage",
					 "Annual Revenue", "Score"};

	(void)state;
	/* the first preset column present wins; the other stays a custom field;
	 * Type gives lifecycle (its values are mapped at load) */
	expect_map(BOOK_ACCOUNT, "salesforce", sf, 7,
		   "id|name|domain|lifecycle|custom.Billing Country|region|employees");
	expect_map(BOOK_CONTACT, "SalesForce", sfc, 5, "id|account_id|name|email|unsubscribed");
	expect_map(BOOK_ACCOUNT, "hubspot,Score=tier,Lifecycle Stage=-", hs, 5,
		   "id|name|-|arr|tier");
	expect_map(BOOK_ACCOUNT, "hubspot", hs, 5, "id|name|lifecycle|arr|custom.Score");
	expect_map_error(BOOK_SIGNAL, "hubspot", hs, 5, "no hubspot preset for signals");
	expect_map_error(BOOK_ACCOUNT, "pipedrive", hs, 5, "neither 'Column=field' nor a preset");
}

static void test_header_errors(void **state)
{
	static const char *const empty[] = {"id", ""};
	static const char *const sys[] = {"id", "name", "updated_at"};
	static const char *const sig[] = {"id", "account_id", "kind", "observed_at", "x"};

	(void)state;
	expect_map_error(BOOK_ACCOUNT, NULL, empty, 2, "column 2 has no name");
	expect_map_error(BOOK_ACCOUNT, NULL, sys, 3, "column 'updated_at' is kept by airlock");
	expect_map(BOOK_ACCOUNT, "updated_at=-", sys, 3, "id|name|-");
	expect_map_error(BOOK_SIGNAL, NULL, sig, 5, "column 'x' is not a signal field");
}

static void test_value_text(void **state)
{
	json_t *vals[] = {json_null(),      json_true(),        json_false(),
			  json_integer(-42), json_real(0.1),     json_real(3956110.9),
			  json_real(1e20),   json_real(2500000), json_string(" a,b "),
			  json_pack("{s:i,s:[]}", "b", 1, "a")};
	const char *want[] = {"",  "true",    "false", "-42",       "0.1",
			      "3956110.9", "1e+20", "2500000", " a,b ", "{\"a\":[],\"b\":1}"};
	char *t;
	size_t i;

	json_t *r;

	(void)state;
	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		t = book_value_text(vals[i]);
		assert_non_null(t);
		assert_string_equal(t, want[i]);
		free(t);
		json_decref(vals[i]);
	}
	/* a value with no short form still reads back exactly */
	r = json_real(0.1 + 0.2);
	t = book_value_text(r);
	assert_true(strtod(t, NULL) == 0.1 + 0.2);
	free(t);
	json_decref(r);
	t = book_value_text(NULL);
	assert_string_equal(t, "");
	free(t);
}

static int64_t scalar(struct store *s, const char *sql)
{
	struct store_stmt *st;
	struct err err = {0};
	int64_t v = -1;

	assert_ok(store_prepare(s, sql, &st, &err), &err);
	if (store_step(st, &err) == STORE_ROW)
		v = store_col_int(st, 0);
	store_done(st);
	return v;
}

static const char *text(struct store *s, const char *sql, char *buf, size_t len)
{
	struct store_stmt *st;
	struct err err = {0};

	buf[0] = '\0';
	assert_ok(store_prepare(s, sql, &st, &err), &err);
	if (store_step(st, &err) == STORE_ROW && store_col_text(st, 0))
		snprintf(buf, len, "%s", store_col_text(st, 0));
	store_done(st);
	return buf;
}

static int64_t tag;

static int put(struct book_loader *l, const char *a, const char *b, const char *c,
	       const char *d, struct err *err)
{
	const char *row[] = {a, b, c, d};
	int outcome = 0, rc = book_loader_put(l, row, ++tag, &outcome, err);

	return rc ? rc : outcome;
}

static void test_loader_upsert_rules(void **state)
{
	static const char *const cols[] = {"id", "name", "tier", "custom.src"};
	static const char *const cols2[] = {"id", "lifecycle", "custom.other", "do_not_contact"};
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct book_loader *l;
	struct err err = {0};
	char buf[256];

	(void)state;
	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 4, &l, &err), &err);
	tag = 0;
	assert_int_equal(put(l, "A1", "Acme", "1", "web", &err), BOOK_LOAD_INSERTED);
	assert_int_equal(put(l, "A2", "Beta", "", "", &err), BOOK_LOAD_INSERTED);
	/* the table was empty when the loader started: rows are staged, and a
	 * repeated id is found when they are written, naming its row */
	assert_int_equal(put(l, "A1", "Acme", "1", "web", &err), BOOK_LOAD_INSERTED);
	assert_int_equal(put(l, "A3", "Gamma", "7", "", &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "tier: 7 is outside 1..4");
	assert_int_equal(book_loader_failed_tag(l), 4);
	assert_int_equal(book_loader_finish(l, &err), AIRLOCK_EEXIST);
	assert_non_null(strstr(err.msg, "account 'A1' already exists"));
	assert_int_equal(book_loader_failed_tag(l), 3);
	book_loader_free(l);
	store_rollback(s);
	assert_int_equal(scalar(s, "SELECT count(*) FROM account"), 0);

	/* a full batch with a bad row in the middle names that row */
	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 4, &l, &err), &err);
	tag = 0;
	for (int i = 0; i < 200; i++) {
		char id[16];

		snprintf(id, sizeof id, "B%03d", i == 150 ? 7 : i);
		if (put(l, id, "Bee", "2", "", &err) != BOOK_LOAD_INSERTED)
			break;
	}
	assert_int_equal(err.code, AIRLOCK_EEXIST);
	assert_int_equal(book_loader_failed_tag(l), 151);
	book_loader_free(l);
	store_rollback(s);

	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 4, &l, &err), &err);
	assert_int_equal(put(l, "A1", "Acme", "1", "web", &err), BOOK_LOAD_INSERTED);
	assert_int_equal(put(l, "A2", "Beta", "", "", &err), BOOK_LOAD_INSERTED);
	assert_ok(book_loader_finish(l, &err), &err);
	book_loader_free(l);
	assert_ok(store_commit(s, &err), &err);

	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 4, &l, &err), &err);
	assert_int_equal(put(l, "A1", "Acme", "1", "web", &err), BOOK_LOAD_UNCHANGED);
	assert_int_equal(put(l, "A2", "Beta", "2", "", &err), BOOK_LOAD_UPDATED);
	assert_int_equal(put(l, "A4", "Delta", "", "", &err), BOOK_LOAD_INSERTED);
	assert_ok(book_loader_finish(l, &err), &err);
	book_loader_free(l);
	assert_ok(store_commit(s, &err), &err);
	assert_int_equal(scalar(s, "SELECT version FROM account WHERE id='A1'"), 1);
	assert_int_equal(scalar(s, "SELECT version*10+tier FROM account WHERE id='A2'"), 22);

	/* custom keys not in the file are kept; an empty value removes one; a
	 * typed value that reads the same as the text is unchanged */
	assert_ok(store_exec(s, "UPDATE account SET custom='{\"n\":5,\"src\":\"web\"}' "
				"WHERE id='A1'",
			     &err),
		  &err);
	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols2, 4, &l, &err), &err);
	assert_int_equal(put(l, "A1", "prospect", "", "false", &err), BOOK_LOAD_UNCHANGED);
	assert_int_equal(put(l, "A1x", "customer", "y", "", &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "account 'A1x' is new and needs a name");
	book_loader_free(l);
	store_rollback(s);
	assert_ok(store_begin(s, &err), &err);
	{
		static const char *const c3[] = {"id", "custom.n", "custom.src", "custom.new"};

		assert_ok(book_loader_new(s, BOOK_ACCOUNT, c3, 4, &l, &err), &err);
		assert_int_equal(put(l, "A1", "5", "web", "", &err), BOOK_LOAD_UNCHANGED);
		assert_int_equal(put(l, "A2", "", "", "x", &err), BOOK_LOAD_UPDATED);
		book_loader_free(l);
		assert_ok(book_loader_new(s, BOOK_ACCOUNT, c3, 4, &l, &err), &err);
		assert_int_equal(put(l, "A1", "6", "", "", &err), BOOK_LOAD_UPDATED);
		book_loader_free(l);
	}
	assert_ok(store_commit(s, &err), &err);
	assert_string_equal(text(s, "SELECT custom FROM account WHERE id='A1'", buf, sizeof buf),
			    "{\"n\":\"6\"}");
	assert_string_equal(text(s, "SELECT custom FROM account WHERE id='A2'", buf, sizeof buf),
			    "{\"new\":\"x\"}");
	assert_string_equal(text(s, "SELECT name FROM account WHERE id='A2'", buf, sizeof buf),
			    "Beta");
	testutil_store_close(&t);
}


/* A load into the empty table drops account_order's insert trigger (per-row
 * cost) and says afterwards whether the ids it inserted came in order: an
 * in-order file keeps the early-stopping text pages, a shuffled one (or a
 * later load of a smaller id, through the trigger) must not claim the
 * order, or a page of a text search would skip the smaller ids. */
static void test_load_says_whether_ids_came_in_order(void **state)
{
	static const char *const cols[] = {"id", "name", "tier", "custom.src"};
	static const char *const order_a[] = {"C10", "C20", "C30", "C40"};
	static const char *const order_b[] = {"C10", "C30", "C20", "C40"};
	const char *const *orders[] = {order_a, order_b};
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct book_loader *l;
	struct book_page page;
	struct err err = {0};
	int pass, i;

	(void)state;
	if (testutil_on_pg()) { /* SQLite's flag (schema.c 9) */
		testutil_store_close(&t);
		skip();
		return;
	}
	for (pass = 0; pass < 3; pass++) {
		assert_ok(store_exec(s, "DELETE FROM account", &err), &err);
		assert_ok(store_begin(s, &err), &err);
		assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 4, &l, &err), &err);
		for (i = 0; i < 4; i++)
			assert_int_equal(put(l, orders[pass != 0][i], "Lumen Co", "", "", &err),
					 BOOK_LOAD_INSERTED);
		assert_ok(book_loader_finish(l, &err), &err);
		book_loader_free(l);
		if (pass == 2) /* rolled back: the flag as it was */
			store_rollback(s);
		else
			assert_ok(store_commit(s, &err), &err);
		/* the trigger is back after every load */
		assert_int_equal(scalar(s, "SELECT count(*) FROM sqlite_master WHERE"
					   " name='account_order_insert'"),
				 1);
		assert_int_equal(scalar(s, "SELECT in_id_order FROM account_order"),
				 pass == 0 ? 1 : pass == 1 ? 0 : 1);
		assert_ok(book_search_json(s, &(struct book_query){.text = "lumen", .limit = 2}, &page,
					   &err),
			  &err);
		if (pass != 2) {
			assert_non_null(strstr(page.json, "\"C10\""));
			assert_non_null(strstr(page.json, "\"C20\""));
			assert_null(strstr(page.json, "\"C30\""));
		}
		free(page.json);
	}
	/* in order, then a second load (the table not empty: per-row trigger)
	 * of an id before the others */
	assert_ok(store_exec(s, "DELETE FROM account", &err), &err);
	for (pass = 0; pass < 2; pass++) {
		assert_ok(store_begin(s, &err), &err);
		assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 4, &l, &err), &err);
		if (pass == 0)
			for (i = 0; i < 4; i++)
				put(l, order_a[i], "Lumen Co", "", "", &err);
		else
			assert_int_equal(put(l, "C05", "Lumen Late", "", "", &err),
					 BOOK_LOAD_INSERTED);
		assert_ok(book_loader_finish(l, &err), &err);
		book_loader_free(l);
		assert_ok(store_commit(s, &err), &err);
		assert_int_equal(scalar(s, "SELECT in_id_order FROM account_order"), pass == 0);
	}
	assert_ok(book_search_json(s, &(struct book_query){.text = "lumen", .limit = 1}, &page,
				   &err),
		  &err);
	assert_non_null(strstr(page.json, "\"C05\""));
	free(page.json);
	testutil_store_close(&t);
}

static void test_loader_refuses_bad_columns(void **state)
{
	static const char *const noid[] = {"name"};
	static const char *const sys[] = {"id", "version"};
	static const char *const twice[] = {"id", "name", "name"};
	static const char *const sigc[] = {"id", "custom.x"};
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct book_loader *l;
	struct err err = {0};

	(void)state;
	assert_int_equal(book_loader_new(s, BOOK_ACCOUNT, noid, 1, &l, &err), AIRLOCK_EINVAL);
	assert_int_equal(book_loader_new(s, BOOK_ACCOUNT, sys, 2, &l, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "kept by airlock"));
	assert_int_equal(book_loader_new(s, BOOK_ACCOUNT, twice, 3, &l, &err), AIRLOCK_EINVAL);
	assert_int_equal(book_loader_new(s, BOOK_SIGNAL, sigc, 2, &l, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "no custom fields"));
	assert_null(l);
	testutil_store_close(&t);
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static int calls;
static int64_t last_rows;

static void count_progress(void *ctx, int64_t rows, uint64_t bytes, uint64_t total)
{
	(void)ctx;
	assert_true(bytes <= total);
	calls++;
	last_rows = rows;
}

static void test_import_csv_all_or_nothing(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct import_progress p = {count_progress, NULL};
	struct import_result r;
	struct err err = {0};
	char path[400];

	(void)state;
	/* the CSV beside the database: its folder, or /tmp for PostgreSQL's */
	if (testutil_on_pg())
		snprintf(path, sizeof path, "/tmp/%s-a.csv", t.dir);
	else
		snprintf(path, sizeof path, "%s/a.csv", t.dir);
	write_file(path, "id,name,tier\nA1,One,1\nA2,Two,2\n");
	assert_ok(import_csv(s, BOOK_ACCOUNT, path, NULL, "human:test", &p, &r, &err), &err);
	assert_int_equal(r.rows, 2);
	assert_int_equal(r.inserted, 2);
	assert_true(calls >= 1);
	assert_int_equal(last_rows, 2);
	assert_false(store_in_transaction(s));

	write_file(path, "id,name,tier\nA3,Three,3\nA1,One,9\n");
	assert_int_equal(import_csv(s, BOOK_ACCOUNT, path, NULL, "human:test", NULL, &r, &err),
			 AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "a.csv:3: tier: 9 is outside 1..4"));
	assert_int_equal(strncmp(err.msg, path, strlen(path)), 0);
	assert_int_equal(r.rows, 0);
	assert_int_equal(scalar(s, "SELECT count(*) FROM account"), 2);
	assert_false(store_in_transaction(s));

	/* inside a caller's transaction the import is a savepoint */
	assert_ok(store_begin(s, &err), &err);
	write_file(path, "id,name\nA5,Five\n");
	assert_ok(import_csv(s, BOOK_ACCOUNT, path, NULL, "human:test", NULL, &r, &err), &err);
	store_rollback(s);
	assert_int_equal(scalar(s, "SELECT count(*) FROM account"), 2);

	if (testutil_on_pg())
		unlink(path);
	snprintf(path, sizeof path, "%s/missing.csv", testutil_on_pg() ? "/nonexistent" : t.dir);
	assert_int_equal(import_csv(s, BOOK_ACCOUNT, path, NULL, "human:test", NULL, &r, &err),
			 AIRLOCK_ENOTFOUND);
	assert_non_null(strstr(err.msg, "cannot open"));
	testutil_store_close(&t);
}

/* A mapped import's lifecycle and region answers are remembered by value.
 * A real export names hundreds of countries, spelt several ways, so the
 * remembered answers must stay right past the memory's fill, for values
 * whose hashes meet, and for case variants of one spelling: every row's
 * region is what the country table says for its own value. */
static void test_mapped_regions_past_the_value_cache(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct import_result r;
	struct err err = {0};
	char path[400], v[200], want[8], got[16], q[256];
	const struct import_country *c;
	const char *types[3] = {"Former Customer", "Prospect", "customer - direct"};
	FILE *f;
	long row = 0, i, k;
	int pass;

	(void)state;
	if (testutil_on_pg())
		snprintf(path, sizeof path, "/tmp/%s-sf.csv", t.dir);
	else
		snprintf(path, sizeof path, "%s/sf.csv", t.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "\"Account ID\",\"Account Name\",\"Type\",\"Billing Country/Region\"\n");
	/* twice over: the second pass reads what the first remembered */
	for (pass = 0; pass < 2; pass++)
		for (c = import_countries; c->alpha2; c++)
			for (k = 0; k < 4; k++) {
				const char *bar;

				if (k == 0)
					snprintf(v, sizeof v, "%s", c->alpha2);
				else if (k == 1)
					snprintf(v, sizeof v, "%s", c->alpha3);
				else {
					bar = strchr(c->names, '|');
					snprintf(v, sizeof v, "%.*s", bar ? (int)(bar - c->names) : 199,
						 c->names);
					/* upper case: another key, the same answer */
					for (i = 0; k == 3 && v[i]; i++)
						if (v[i] >= 'a' && v[i] <= 'z')
							v[i] = (char)(v[i] - 'a' + 'A');
				}
				row++;
				fprintf(f, "\"001%015ld\",\"Co %ld\",\"%s\",\"%s\"\n", row, row,
					types[row % 3], v);
			}
	fclose(f);
	assert_ok(import_csv(s, BOOK_ACCOUNT, path, "salesforce", "human:test", NULL, &r, &err),
		  &err);
	assert_int_equal(r.rows, row);
	/* each row against the table itself, read back in file order */
	row = 0;
	for (pass = 0; pass < 2; pass++)
		for (c = import_countries; c->alpha2; c++)
			for (k = 0; k < 4; k++) {
				row++;
				snprintf(want, sizeof want, "%s", c->region);
				snprintf(q, sizeof q, "SELECT region FROM account WHERE id='001%015ld'",
					 row);
				assert_string_equal(text(s, q, got, sizeof got), want);
				snprintf(q, sizeof q, "SELECT lifecycle FROM account WHERE id='001%015ld'",
					 row);
				assert_string_equal(text(s, q, got, sizeof got),
						    row % 3 == 0 ? "former_customer"
						    : row % 3 == 1 ? "prospect" : "customer");
			}
	if (testutil_on_pg())
		unlink(path);
	testutil_store_close(&t);
}

/* CRM values: what maps, and what must not be guessed. */
static void test_crm_values(void **state)
{
	char b[128];

	(void)state;
	assert_string_equal(import_region_of("Germany"), "EMEA");
	assert_string_equal(import_region_of("de"), "EMEA");
	assert_string_equal(import_region_of("JPN"), "APAC");
	assert_string_equal(import_region_of("United States"), "NA");
	assert_string_equal(import_region_of("Korea, Republic of"), "APAC");
	assert_string_equal(import_region_of("korea (the republic of)"), "APAC");
	assert_string_equal(import_region_of("Mexico"), "LATAM");
	assert_string_equal(import_region_of("Côte d'Ivoire"), "EMEA");
	/* in a country column NA is Namibia, not North America */
	assert_string_equal(import_region_of("NA"), "EMEA");
	assert_string_equal(import_region_of("North America"), "NA");
	assert_null(import_region_of("Narnia"));
	assert_null(import_region_of(""));
	assert_null(import_region_of("Germany; DROP TABLE account"));

	assert_string_equal(import_lifecycle_of("salesforce", "customer - direct"), "customer");
	assert_string_equal(import_lifecycle_of("salesforce", "Customer - Channel"), "customer");
	assert_string_equal(import_lifecycle_of("salesforce", "Channel Partner / Reseller"),
			    "partner");
	assert_string_equal(import_lifecycle_of("salesforce", "PROSPECT"), "prospect");
	assert_null(import_lifecycle_of("salesforce", "Other"));
	assert_null(import_lifecycle_of("salesforce", "Customer - Indirect"));
	assert_string_equal(import_lifecycle_of("hubspot", "evangelist"), "customer");
	assert_string_equal(import_lifecycle_of("hubspot", "Marketing Qualified Lead"), "prospect");
	assert_string_equal(import_lifecycle_of("hubspot", "salesqualifiedlead"), "prospect");
	assert_null(import_lifecycle_of("hubspot", "other"));
	assert_string_equal(import_lifecycle_crm("salesforce", "customer"), "Customer - Direct");
	assert_string_equal(import_lifecycle_crm("hubspot", "prospect"), "lead");

	assert_int_equal(import_number("$1,200,000.00", b, sizeof b), 0);
	assert_string_equal(b, "1200000.00");
	assert_int_equal(import_number("1,200 USD", b, sizeof b), 0);
	assert_string_equal(b, "1200");
	assert_int_equal(import_number("-\xe2\x82\xac" "45", b, sizeof b), 0);
	assert_string_equal(b, "-45");
	assert_int_equal(import_number("1,2,3", b, sizeof b), -1);
	assert_int_equal(import_number("12,00", b, sizeof b), -1);
	assert_int_equal(import_number("1.200.000", b, sizeof b), -1);
	assert_int_equal(import_number("$", b, sizeof b), -1);
	assert_int_equal(import_number("12abc", b, sizeof b), -1);

	assert_int_equal(import_date("3/1/2026", b, sizeof b), 0);
	assert_string_equal(b, "2026-03-01T00:00:00Z");
	assert_int_equal(import_date("12/30/2025 9:05 PM", b, sizeof b), 0);
	assert_string_equal(b, "2025-12-30T21:05:00Z");
	assert_int_equal(import_date("12/30/2025 12:05 AM", b, sizeof b), 0);
	assert_string_equal(b, "2025-12-30T00:05:00Z");
	assert_int_equal(import_date("2026-03-01T09:30:00.000+0000", b, sizeof b), 0);
	assert_string_equal(b, "2026-03-01T09:30:00Z");
	assert_int_equal(import_date("2026-03-01 09:30", b, sizeof b), 0);
	/* an offset that is not UTC would be misread: refused */
	assert_int_equal(import_date("2026-03-01T09:30:00.000+0200", b, sizeof b), -1);
	assert_int_equal(import_date("13/1/2026", b, sizeof b), -1);
	assert_int_equal(import_date("3/1/2026 13:00 PM", b, sizeof b), -1);

	assert_string_equal(import_bool("Yes"), "true");
	assert_string_equal(import_bool("0"), "false");
	assert_null(import_bool("maybe"));
	assert_null(import_bool(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_defaults),
		cmocka_unit_test(test_map_by_hand),
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_value_text),
		cmocka_unit_test(test_loader_upsert_rules),
		cmocka_unit_test(test_load_says_whether_ids_came_in_order),
		cmocka_unit_test(test_loader_refuses_bad_columns),
		cmocka_unit_test(test_import_csv_all_or_nothing),
		cmocka_unit_test(test_crm_values),
		cmocka_unit_test(test_mapped_regions_past_the_value_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
