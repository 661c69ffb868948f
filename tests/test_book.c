/* test_book.c — the book: records, versions, validation, queries, stats. */
#include "testutil.h"

#include <sqlite3.h>

#include "book.h"
#include "book_cache.h"

#include <pthread.h>

/* Inserts an account from a json_pack format; fails the test on error. */
static void add(struct store *s, enum book_kind kind, json_t *rec)
{
	struct err err = {0};

	assert_non_null(rec);
	assert_ok(book_insert(s, kind, rec, &err), &err);
	json_decref(rec);
}

static void add_account(struct store *s, const char *id, const char *name, const char *domain,
			const char *segment, const char *region, int tier, const char *lifecycle,
			const char *owner)
{
	add(s, BOOK_ACCOUNT,
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s}", "id", id, "name", name, "domain", domain,
		      "segment", segment, "region", region, "tier", tier, "lifecycle", lifecycle,
		      "owner", owner));
}

/* Ten accounts with known fields, for the query tests. */
static void seed_book(struct store *s)
{
	add_account(s, "A01", "Cedarforge Health", "cedarforge.com", "smb", "NA", 4, "prospect",
		    "Maya");
	add_account(s, "A02", "Harborline Logistics", "harborline.io", "mid-market", "EMEA", 2,
		    "customer", "Jonas");
	add_account(s, "A03", "Quarry 100% Labs", "quarry.com", "enterprise", "NA", 1, "customer",
		    "Maya");
	add_account(s, "A04", "Pinecrest_Retail", "pinecrest.co.uk", "smb", "EMEA", 3, "prospect",
		    "Jonas");
	add_account(s, "A05", "Rival Systems", "rival.com", "mid-market", "APAC", 4, "competitor",
		    "Aiko");
	add_account(s, "A06", "CEDAR Grove Bank", "cedargrove.com", "enterprise", "LATAM", 2,
		    "former_customer", "Sofia");
	add_account(s, "A07", "Brightmark Media", "brightmark.com", "smb", "NA", 3, "partner",
		    "Maya");
	add_account(s, "A08", "Stonefield Energy", "stonefield.com", "smb", "APAC", 4, "prospect",
		    "Aiko");
	add_account(s, "A09", "Lumenwise", "lumenwise.com", "mid-market", "NA", 3, "prospect",
		    "Maya");
	add_account(s, "A10", "Vertexa", "vertexa.com", "smb", "EMEA", 4, "prospect", "Jonas");
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* The ids of a JSON array of records, joined with commas. */
static const char *ids(json_t *arr, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < json_array_size(arr) && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
					 str(json_array_get(arr, i), "id"));
	return buf;
}

static void test_insert_get_update_bumps_version(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *a, *f;
	int64_t v = 0;

	(void)state;
	add(s, BOOK_ACCOUNT,
	    json_pack("{s:s,s:s,s:s,s:i,s:f,s:i}", "id", "A1", "name", "Cedarforge", "segment",
		      "smb", "tier", 3, "arr", 12000.5, "employees", 40));
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_string_equal(str(a, "name"), "Cedarforge");
	assert_int_equal(num(a, "version"), 1);
	assert_int_equal(num(a, "tier"), 3);
	assert_true(json_real_value(json_object_get(a, "arr")) == 12000.5);
	assert_string_equal(str(a, "lifecycle"), "prospect"); /* the default */
	assert_true(json_is_false(json_object_get(a, "do_not_contact")));
	assert_true(json_is_null(json_object_get(a, "domain")));
	assert_true(json_is_object(json_object_get(a, "custom")));
	assert_non_null(str(a, "updated_at"));
	json_decref(a);

	f = json_pack("{s:i,s:s}", "tier", 1, "owner", "Maya");
	assert_ok(book_update(s, BOOK_ACCOUNT, "A1", f, -1, &v, &err), &err);
	json_decref(f);
	assert_int_equal(v, 2);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_int_equal(num(a, "tier"), 1);
	assert_string_equal(str(a, "owner"), "Maya");
	assert_int_equal(num(a, "version"), 2);
	json_decref(a);

	/* a string where a number is expected is normalised */
	f = json_pack("{s:s}", "tier", "2");
	assert_ok(book_update(s, BOOK_ACCOUNT, "A1", f, 2, &v, &err), &err);
	json_decref(f);
	assert_int_equal(v, 3);

	assert_int_equal(book_get(s, BOOK_ACCOUNT, "nope", &a, &err), AIRLOCK_ENOTFOUND);
	assert_null(a);
	assert_non_null(strstr(err.msg, "nope"));
	testutil_store_close(&t);
}

static void test_insert_at_fixed_time(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *a, *rec = json_pack("{s:s,s:s}", "id", "A1", "name", "x");

	(void)state;
	assert_ok(book_insert_at(s, BOOK_ACCOUNT, rec, "2026-11-01", &err), &err);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_string_equal(str(a, "updated_at"), "2026-11-01T00:00:00Z");
	json_decref(a);
	json_object_set_new(rec, "id", json_string("A2"));
	assert_int_equal(book_insert_at(s, BOOK_ACCOUNT, rec, "yesterday", &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "yesterday"));
	assert_int_equal(book_get(s, BOOK_ACCOUNT, "A2", &a, &err), AIRLOCK_ENOTFOUND);
	json_decref(rec);
	testutil_store_close(&t);
}

static void test_duplicate_id_is_eexist(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *rec = json_pack("{s:s,s:s}", "id", "A1", "name", "x");

	(void)state;
	assert_ok(book_insert(s, BOOK_ACCOUNT, rec, &err), &err);
	assert_int_equal(book_insert(s, BOOK_ACCOUNT, rec, &err), AIRLOCK_EEXIST);
	assert_non_null(strstr(err.msg, "'A1' already exists"));
	json_decref(rec);
	testutil_store_close(&t);
}

/* An id longer than the book accepts is refused where it enters, never cut
 * short: a cut id could name another record (an attacker would pick an id
 * whose first 255 bytes are a real record's id). */
static void test_long_ids_refused(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	char id[BOOK_ID_MAX + 2];
	json_t *rec, *got = NULL;

	(void)state;
	memset(id, 'A', sizeof id - 1);
	id[BOOK_ID_MAX] = '\0'; /* exactly the limit: accepted */
	rec = json_pack("{s:s,s:s}", "id", id, "name", "x");
	assert_ok(book_insert(s, BOOK_ACCOUNT, rec, &err), &err);
	json_decref(rec);
	assert_ok(book_get(s, BOOK_ACCOUNT, id, &got, &err), &err);
	json_decref(got);
	id[BOOK_ID_MAX] = 'A'; /* one byte more: the same prefix, refused */
	id[BOOK_ID_MAX + 1] = '\0';
	rec = json_pack("{s:s,s:s}", "id", id, "name", "x");
	assert_int_equal(book_insert(s, BOOK_ACCOUNT, rec, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "longer than 128 bytes"));
	json_decref(rec);
	got = NULL;
	assert_int_equal(book_get(s, BOOK_ACCOUNT, id, &got, &err), AIRLOCK_EINVAL);
	assert_null(got);
	/* a contact naming an over-long account */
	rec = json_pack("{s:s,s:s,s:s}", "id", "C1", "account_id", id, "name", "x");
	assert_int_equal(book_insert(s, BOOK_CONTACT, rec, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "account_id"));
	json_decref(rec);
	testutil_store_close(&t);
}

static void test_update_conflict_changes_nothing(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *a, *f;
	int64_t v = -7;

	(void)state;
	add_account(s, "A1", "Cedarforge", "cedarforge.com", "smb", "NA", 3, "prospect", "Maya");
	f = json_pack("{s:i}", "tier", 1);
	assert_ok(book_update(s, BOOK_ACCOUNT, "A1", f, 1, &v, &err), &err); /* now version 2 */
	json_object_set_new(f, "tier", json_integer(2));
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, 1, &v, &err), AIRLOCK_ECONFLICT);
	assert_non_null(strstr(err.msg, "version 2, expected 1"));
	json_decref(f);
	assert_int_equal(v, 2); /* untouched by the failed call */
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_int_equal(num(a, "tier"), 1);
	assert_int_equal(num(a, "version"), 2);
	json_decref(a);
	/* inside the caller's transaction the change is the caller's to undo */
	assert_ok(store_begin(s, &err), &err);
	f = json_pack("{s:i}", "tier", 4);
	assert_ok(book_update(s, BOOK_ACCOUNT, "A1", f, 2, &v, &err), &err);
	assert_int_equal(v, 3);
	assert_true(store_in_transaction(s));
	store_rollback(s);
	json_decref(f);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_int_equal(num(a, "tier"), 1);
	assert_int_equal(num(a, "version"), 2);
	json_decref(a);
	/* updating a record that does not exist */
	f = json_pack("{s:i}", "tier", 2);
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A9", f, -1, NULL, &err), AIRLOCK_ENOTFOUND);
	json_decref(f);
	testutil_store_close(&t);
}

/* A second connection that bumps the record's version as soon as the first
 * one has begun reading, i.e. between book_update's read and its write. */
struct race {
	sqlite3 *db, *other;
	int wrote;
};

static int race_progress(void *arg)
{
	struct race *r = arg;

	if (!r->wrote && sqlite3_txn_state(r->db, "main") != SQLITE_TXN_NONE &&
	    sqlite3_exec(r->other,
			 "UPDATE account SET version=version+1, name='other writer'"
			 " WHERE id='A1'",
			 NULL, NULL, NULL) == SQLITE_OK)
		r->wrote = 1;
	return 0;
}

/* Regression: book_update read the version, then updated "WHERE version=?"
 * outside any transaction and reported success when a concurrent writer had
 * bumped the version in between, although no row changed. */
static void test_update_is_atomic_against_another_writer(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	struct race r = {0};
	json_t *a, *f;
	int64_t v = 0;
	int rc;

	(void)state;
	if (testutil_on_pg()) { /* it drives SQLite's progress handler */
		testutil_store_close(&t);
		skip();
	}
	add_account(s, "A1", "Cedarforge", "cedarforge.com", "smb", "NA", 3, "prospect", "Maya");
	r.db = store_native_handle(s);
	assert_int_equal(sqlite3_open(t.path, &r.other), SQLITE_OK);
	sqlite3_busy_timeout(r.other, 0);
	sqlite3_progress_handler(r.db, 1, race_progress, &r);
	f = json_pack("{s:s}", "name", "mine");
	rc = book_update(s, BOOK_ACCOUNT, "A1", f, 1, &v, &err);
	sqlite3_progress_handler(r.db, 0, NULL, NULL);
	json_decref(f);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	if (rc == 0) {
		assert_string_equal(str(a, "name"), "mine");
		assert_int_equal(num(a, "version"), v);
	} else {
		assert_int_equal(rc, AIRLOCK_ECONFLICT);
		assert_string_not_equal(str(a, "name"), "mine");
	}
	json_decref(a);
	sqlite3_close(r.other);
	testutil_store_close(&t);
}

static void test_custom_fields_kept_and_updated(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *a, *f;

	(void)state;
	add(s, BOOK_ACCOUNT,
	    json_pack("{s:s,s:s,s:{s:s,s:i}}", "id", "A1", "name", "x", "custom", "source", "event",
		      "visits", 12));
	f = json_pack("{s:s,s:i}", "custom.source", "inbound", "tier", 2);
	assert_ok(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), &err);
	json_decref(f);
	f = json_pack("{s:s}", "custom.renewal", "2027-01-31");
	assert_ok(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), &err);
	json_decref(f);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_string_equal(str(json_object_get(a, "custom"), "source"), "inbound");
	assert_int_equal(num(json_object_get(a, "custom"), "visits"), 12);
	assert_string_equal(str(json_object_get(a, "custom"), "renewal"), "2027-01-31");
	assert_int_equal(num(a, "version"), 3);
	json_decref(a);
	/* the whole custom object and system fields are not settable */
	f = json_pack("{s:{}}", "custom");
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "'custom' cannot be set"));
	json_decref(f);
	f = json_pack("{s:i}", "version", 9);
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "'version' cannot be set"));
	json_decref(f);
	f = json_pack("{s:s}", "id", "B1");
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), AIRLOCK_EINVAL);
	json_decref(f);
	f = json_pack("{s:s}", "colour", "red");
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "'colour'"));
	json_decref(f);
	f = json_object();
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "no fields"));
	json_decref(f);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_int_equal(num(a, "version"), 3); /* none of the bad calls changed it */
	json_decref(a);
	testutil_store_close(&t);
}

/* One bad value: the call fails naming the field, and nothing is stored. */
static void expect_bad(struct store *s, json_t *rec, const char *needle)
{
	struct err err = {0};
	json_t *a = NULL;

	assert_int_equal(book_insert(s, BOOK_ACCOUNT, rec, &err), AIRLOCK_EINVAL);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' does not contain '%s'", err.msg, needle);
	json_decref(rec);
	assert_int_equal(book_get(s, BOOK_ACCOUNT, "B1", &a, &err), AIRLOCK_ENOTFOUND);
}

static void test_validation_names_the_field(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *f, *a;

	(void)state;
	expect_bad(s, json_pack("{s:s,s:s,s:s}", "id", "B1", "name", "x", "segment", "huge"),
		   "segment: 'huge' is not one of smb, mid-market, enterprise");
	expect_bad(s, json_pack("{s:s,s:s,s:s}", "id", "B1", "name", "x", "lifecycle", "lead"),
		   "lifecycle: 'lead' is not one of prospect");
	expect_bad(s, json_pack("{s:s,s:s,s:i}", "id", "B1", "name", "x", "tier", 7),
		   "tier: 7 is outside 1..4");
	expect_bad(s, json_pack("{s:s,s:s,s:s}", "id", "B1", "name", "x", "tier", "high"),
		   "tier: 'high' is not a whole number");
	expect_bad(s, json_pack("{s:s,s:s,s:s}", "id", "B1", "name", "x", "arr", "lots"),
		   "arr: 'lots' is not a number");
	expect_bad(s, json_pack("{s:s,s:s,s:s}", "id", "B1", "name", "x", "employees", "1e3"),
		   "employees: '1e3' is not a whole number");
	expect_bad(s,
		   json_pack("{s:s,s:s,s:s}", "id", "B1", "name", "x", "do_not_contact", "maybe"),
		   "do_not_contact: 'maybe' is not a yes/no value");
	expect_bad(s, json_pack("{s:s,s:s,s:f}", "id", "B1", "name", "x", "tier", 2.5),
		   "tier: wrong type of value");
	expect_bad(s, json_pack("{s:s,s:s,s:s}", "id", "B1", "name", "x", "colour", "red"),
		   "unknown account field 'colour'");
	/* required fields */
	expect_bad(s, json_pack("{s:s}", "id", "B1"), "name is required");
	expect_bad(s, json_pack("{s:s,s:s}", "id", "B1", "name", ""), "name is required");
	expect_bad(s, json_pack("{s:s}", "name", "x"), "id is required");
	expect_bad(s, json_pack("[]"), "account must be a JSON object");

	/* the same checks on update, and the record is left as it was */
	add_account(s, "A1", "x", "x.com", "smb", "NA", 3, "prospect", "Maya");
	f = json_pack("{s:s}", "segment", "huge");
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "segment: 'huge'"));
	json_decref(f);
	f = json_pack("{s:i,s:i}", "tier", 2, "employees", -1);
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "employees: -1 is outside"));
	json_decref(f);
	f = json_pack("{s:n}", "name");
	assert_int_equal(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "name is required"));
	json_decref(f);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_int_equal(num(a, "tier"), 3);
	assert_int_equal(num(a, "version"), 1);
	json_decref(a);

	/* signals: kind and observed_at are required, observed_at must be a date */
	f = json_pack("{s:s,s:s,s:s}", "id", "S1", "account_id", "A1", "kind", "hiring");
	assert_int_equal(book_insert(s, BOOK_SIGNAL, f, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "observed_at is required"));
	json_object_set_new(f, "observed_at", json_string("31/10/2026"));
	assert_int_equal(book_insert(s, BOOK_SIGNAL, f, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "observed_at: '31/10/2026' is not a date"));
	json_object_set_new(f, "observed_at", json_string("2026-10-31 09:30"));
	assert_ok(book_insert(s, BOOK_SIGNAL, f, &err), &err);
	json_decref(f);
	assert_ok(book_get(s, BOOK_SIGNAL, "S1", &a, &err), &err);
	assert_string_equal(str(a, "observed_at"), "2026-10-31T09:30:00Z");
	json_decref(a);
	testutil_store_close(&t);
}

/* Regression: clearing a NOT NULL field (an empty CSV cell, a JSON null)
 * reached the database as "NOT NULL constraint failed". It now takes the
 * default an insert would give. */
static void test_update_empty_takes_default(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *a, *f;

	(void)state;
	add(s, BOOK_ACCOUNT,
	    json_pack("{s:s,s:s,s:s,s:b}", "id", "A1", "name", "x", "lifecycle", "customer",
		      "do_not_contact", 1));
	f = json_pack("{s:n,s:s}", "lifecycle", "do_not_contact", "");
	assert_ok(book_update(s, BOOK_ACCOUNT, "A1", f, -1, NULL, &err), &err);
	json_decref(f);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_string_equal(str(a, "lifecycle"), "prospect");
	assert_true(json_is_false(json_object_get(a, "do_not_contact")));
	json_decref(a);
	testutil_store_close(&t);
}

static void test_contact_needs_account(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *c, *a;

	(void)state;
	c = json_pack("{s:s,s:s,s:s,s:s}", "id", "C1", "account_id", "A404", "name", "Ada", "email",
		      "ada@x.com");
	assert_int_equal(book_insert(s, BOOK_CONTACT, c, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "account 'A404' does not exist"));
	assert_int_equal(book_get(s, BOOK_CONTACT, "C1", &a, &err), AIRLOCK_ENOTFOUND);
	json_object_del(c, "account_id");
	assert_int_equal(book_insert(s, BOOK_CONTACT, c, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "account_id is required"));
	add_account(s, "A1", "x", "x.com", "smb", "NA", 3, "prospect", "Maya");
	json_object_set_new(c, "account_id", json_string("A1"));
	assert_ok(book_insert(s, BOOK_CONTACT, c, &err), &err);
	json_decref(c);
	/* moving it to an unknown account is refused too */
	c = json_pack("{s:s}", "account_id", "A404");
	assert_int_equal(book_update(s, BOOK_CONTACT, "C1", c, -1, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "account 'A404' does not exist"));
	json_decref(c);
	assert_ok(book_get(s, BOOK_CONTACT, "C1", &a, &err), &err);
	assert_string_equal(str(a, "account_id"), "A1");
	assert_int_equal(num(a, "version"), 1);
	assert_true(json_is_false(json_object_get(a, "unsubscribed")));
	json_decref(a);
	testutil_store_close(&t);
}

/* book_change, the write apply and undo make: the version guard turns a
 * moved or vanished record into a miss (no error, nothing written), custom
 * keys merge into the stored object, a whole custom object replaces it, and
 * the fields the book keeps itself cannot be written by a batch. */
static void test_change_guards_version_and_system_fields(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *f, *a;
	int64_t v;
	int hit = -1;

	(void)state;
	add(s, BOOK_ACCOUNT,
	    json_pack("{s:s,s:s,s:i,s:{s:s}}", "id", "A1", "name", "Cedarforge", "tier", 3, "custom",
		      "source", "event"));
	f = json_pack("{s:i,s:i}", "tier", 1, "custom.score", 9);
	assert_ok(book_change(s, BOOK_ACCOUNT, "A1", f, 1, &hit, &err), &err);
	assert_int_equal(hit, 1);
	/* stale: expected version 1, the record is at 2 */
	hit = -1;
	json_object_set_new(f, "tier", json_integer(4));
	assert_ok(book_change(s, BOOK_ACCOUNT, "A1", f, 1, &hit, &err), &err);
	assert_int_equal(hit, 0);
	/* gone */
	hit = -1;
	assert_ok(book_change(s, BOOK_ACCOUNT, "A404", f, -1, &hit, &err), &err);
	assert_int_equal(hit, 0);
	json_decref(f);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_int_equal(num(a, "tier"), 1);
	assert_int_equal(num(a, "version"), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "custom"), "score")),
			 9);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(a, "custom"), "source")), "event");
	json_decref(a);
	/* an undo's before-image: custom whole */
	f = json_pack("{s:i,s:{s:s}}", "tier", 3, "custom", "source", "event");
	assert_ok(book_change(s, BOOK_ACCOUNT, "A1", f, 2, &hit, &err), &err);
	assert_int_equal(hit, 1);
	json_decref(f);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_int_equal(num(a, "version"), 3);
	assert_null(json_object_get(json_object_get(a, "custom"), "score"));
	json_decref(a);
	/* a tampered change naming a system field or an unknown one */
	f = json_pack("{s:s}", "id", "A2");
	assert_int_equal(book_change(s, BOOK_ACCOUNT, "A1", f, -1, &hit, &err), AIRLOCK_ECORRUPT);
	assert_non_null(strstr(err.msg, "'id'"));
	json_decref(f);
	f = json_pack("{s:i}", "version", 1);
	assert_int_equal(book_change(s, BOOK_ACCOUNT, "A1", f, -1, &hit, &err), AIRLOCK_ECORRUPT);
	json_decref(f);
	f = json_pack("{s:s}", "name; DROP TABLE account", "x");
	assert_int_equal(book_change(s, BOOK_ACCOUNT, "A1", f, -1, &hit, &err), AIRLOCK_ECORRUPT);
	json_decref(f);
	assert_ok(book_version(s, BOOK_ACCOUNT, "A1", &v, &err), &err);
	assert_int_equal(v, 3);
	assert_ok(book_version(s, BOOK_ACCOUNT, "A404", &v, &err), &err);
	assert_int_equal(v, -1);
	testutil_store_close(&t);
}

static void test_restore_writes_image_back(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *before, *after, *f;

	(void)state;
	add(s, BOOK_ACCOUNT,
	    json_pack("{s:s,s:s,s:i,s:s,s:{s:s}}", "id", "A1", "name", "Cedarforge", "tier", 3,
		      "domain", "cedarforge.com", "custom", "source", "event"));
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &before, &err), &err);
	f = json_pack("{s:i,s:n,s:s,s:s}", "tier", 1, "domain", "name", "Renamed", "custom.source",
		      "agent");
	assert_ok(book_update(s, BOOK_ACCOUNT, "A1", f, 1, NULL, &err), &err);
	json_decref(f);
	assert_ok(book_restore(s, BOOK_ACCOUNT, before, 3, &err), &err);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &after, &err), &err);
	assert_int_equal(num(after, "version"), 3);
	json_object_del(after, "version");
	json_object_del(after, "updated_at");
	json_object_del(before, "version");
	json_object_del(before, "updated_at");
	if (!json_equal(before, after)) {
		char *b = json_dumps(before, JSON_SORT_KEYS),
		     *a = json_dumps(after, JSON_SORT_KEYS);

		fail_msg("restored %s, wanted %s", a, b);
	}
	json_decref(after);
	/* an image of a record that is gone, and one without an id */
	json_object_set_new(before, "id", json_string("A9"));
	assert_int_equal(book_restore(s, BOOK_ACCOUNT, before, 2, &err), AIRLOCK_ENOTFOUND);
	assert_non_null(strstr(err.msg, "'A9'"));
	/* regression: a missing id was printed through %s as a NULL pointer */
	json_object_del(before, "id");
	assert_int_equal(book_restore(s, BOOK_ACCOUNT, before, 2, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "image has no id"));
	json_decref(before);
	testutil_store_close(&t);
}

/* Regression: an upsert of a record carrying only some fields set every
 * other field to null, and failed on the NOT NULL ones (lifecycle). */
static void test_upsert_keeps_absent_fields(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *a, *rec;
	int changed = -1;

	(void)state;
	add_account(s, "A1", "Cedarforge", "cedarforge.com", "enterprise", "NA", 2, "customer",
		    "Maya");
	rec = json_pack("{s:s,s:s}", "id", "A1", "name", "Cedarforge Health");
	assert_ok(book_upsert(s, BOOK_ACCOUNT, rec, &changed, &err), &err);
	assert_int_equal(changed, 1);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_string_equal(str(a, "name"), "Cedarforge Health");
	assert_string_equal(str(a, "segment"), "enterprise");
	assert_string_equal(str(a, "lifecycle"), "customer");
	assert_int_equal(num(a, "tier"), 2);
	assert_int_equal(num(a, "version"), 2);
	json_decref(a);
	/* the same again changes nothing and keeps the version */
	assert_ok(book_upsert(s, BOOK_ACCOUNT, rec, &changed, &err), &err);
	assert_int_equal(changed, 0);
	json_decref(rec);
	/* an empty flag over the default is no change either */
	rec = json_pack("{s:s,s:s,s:s}", "id", "A1", "name", "Cedarforge Health", "do_not_contact",
			"");
	assert_ok(book_upsert(s, BOOK_ACCOUNT, rec, &changed, &err), &err);
	assert_int_equal(changed, 0);
	json_decref(rec);
	/* a new id inserts */
	rec = json_pack("{s:s,s:s}", "id", "A2", "name", "New");
	assert_ok(book_upsert(s, BOOK_ACCOUNT, rec, &changed, &err), &err);
	assert_int_equal(changed, 1);
	json_decref(rec);
	/* a bad value changes nothing */
	rec = json_pack("{s:s,s:s,s:i}", "id", "A1", "name", "Bad", "tier", 0);
	assert_int_equal(book_upsert(s, BOOK_ACCOUNT, rec, &changed, &err), AIRLOCK_EINVAL);
	assert_int_equal(changed, 0);
	json_decref(rec);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A1", &a, &err), &err);
	assert_string_equal(str(a, "name"), "Cedarforge Health");
	assert_int_equal(num(a, "version"), 2);
	json_decref(a);
	testutil_store_close(&t);
}

/* Runs a search and compares the ids it returns. */
static void expect_search(struct store *s, const struct book_query *q, const char *want)
{
	struct err err = {0};
	json_t *arr;
	char buf[512];
	int64_t n;

	assert_ok(book_search(s, q, &arr, &err), &err);
	ids(arr, buf, sizeof buf);
	if (strcmp(buf, want) != 0)
		fail_msg("search gave '%s', wanted '%s'", buf, want);
	if (q->limit == 0) {
		assert_ok(book_count(s, q, &n, &err), &err);
		assert_int_equal(n, json_array_size(arr));
	}
	json_decref(arr);
}

static void test_search_filters(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);

	(void)state;
	seed_book(s);
	expect_search(s, &(struct book_query){0}, "A01,A02,A03,A04,A05,A06,A07,A08,A09,A10");
	expect_search(s, &(struct book_query){.segment = "smb"}, "A01,A04,A07,A08,A10");
	expect_search(s, &(struct book_query){.region = "EMEA"}, "A02,A04,A10");
	expect_search(s, &(struct book_query){.tier = 4}, "A01,A05,A08,A10");
	expect_search(s, &(struct book_query){.lifecycle = "customer"}, "A02,A03");
	expect_search(s, &(struct book_query){.owner = "Maya"}, "A01,A03,A07,A09");
	expect_search(s, &(struct book_query){.segment = "smb", .region = "NA", .tier = 3}, "A07");
	expect_search(s, &(struct book_query){.owner = "maya"}, ""); /* exact, not fuzzy */
	/* text: case-insensitive, in the name or the domain */
	expect_search(s, &(struct book_query){.text = "cedar"}, "A01,A06");
	expect_search(s, &(struct book_query){.text = "CEDARF"}, "A01");
	expect_search(s, &(struct book_query){.text = ".co.uk"}, "A04");
	/* LIKE wildcards in the text are literal characters */
	expect_search(s, &(struct book_query){.text = "%"}, "A03");
	expect_search(s, &(struct book_query){.text = "100%"}, "A03");
	expect_search(s, &(struct book_query){.text = "_"}, "A04");
	expect_search(s, &(struct book_query){.text = "e_r"}, "");
	expect_search(s, &(struct book_query){.text = "\\"}, "");
	expect_search(s, &(struct book_query){.text = "nothing like it"}, "");
	/* an agent writing the index's query syntax gets it searched as text:
	 * no OR widening, no prefix, no NEAR, no column filter, no error */
	expect_search(s, &(struct book_query){.text = "cedar\" OR \"zzz"}, "");
	expect_search(s, &(struct book_query){.text = "zzz OR cedar"}, "");
	expect_search(s, &(struct book_query){.text = "ceda*"}, "");
	expect_search(s, &(struct book_query){.text = "NEAR(cedar)"}, "");
	expect_search(s, &(struct book_query){.text = "{name}: cedar"}, "");
	expect_search(s, &(struct book_query){.text = "^ced"}, "");
	/* pieces of a name out of their order */
	expect_search(s, &(struct book_query){.text = "darced"}, "");
	testutil_store_close(&t);
}

static void test_search_pagination(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	struct book_query q = {.limit = 4};
	char buf[256], last[16], all[600] = "";
	json_t *page;
	int pages = 0;

	(void)state;
	seed_book(s);
	for (;;) {
		assert_ok(book_search(s, &q, &page, &err), &err);
		if (json_array_size(page) == 0) {
			json_decref(page);
			break;
		}
		assert_true(json_array_size(page) <= 4);
		ids(page, buf, sizeof buf);
		snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", all[0] ? "," : "",
			 buf);
		snprintf(last, sizeof last, "%s",
			 str(json_array_get(page, json_array_size(page) - 1), "id"));
		q.after = last;
		json_decref(page);
		pages++;
	}
	assert_int_equal(pages, 3);
	assert_string_equal(all, "A01,A02,A03,A04,A05,A06,A07,A08,A09,A10");
	/* with a filter */
	expect_search(s, &(struct book_query){.segment = "smb", .after = "A04", .limit = 2},
		      "A07,A08");
	testutil_store_close(&t);
}

/* Walks every page of q with book_search_json and checks each against
 * book_search, which keeps nothing between calls; returns the pages. */
static int walk_matches(struct store *s, struct book_query q)
{
	struct err err = {0};
	struct book_page page;
	char after[sizeof page.last_id] = "";
	int pages = 0;
	size_t i;

	for (;;) {
		json_t *want, *got;

		q.after = after[0] ? after : NULL;
		assert_ok(book_search_json(s, &q, &page, &err), &err);
		q.limit++;
		assert_ok(book_search(s, &q, &want, &err), &err);
		q.limit--;
		got = json_loads(page.json, 0, NULL);
		assert_non_null(got);
		assert_int_equal(page.more, json_array_size(want) > (size_t)q.limit);
		if (page.more)
			json_array_remove(want, (size_t)q.limit);
		assert_int_equal(page.count, json_array_size(want));
		for (i = 0; i < json_array_size(want); i++)
			if (!json_equal(json_array_get(want, i), json_array_get(got, i))) {
				char *a = json_dumps(json_array_get(want, i), JSON_SORT_KEYS);
				char *b = json_dumps(json_array_get(got, i), JSON_SORT_KEYS);

				fail_msg("page %d after '%s', row %zu differs:\n book_search      %s\n"
					 " book_search_json %s",
					 pages, after, i, a, b);
			}
		if (page.count)
			assert_string_equal(page.last_id,
					    str(json_array_get(want, page.count - 1), "id"));
		json_decref(want);
		json_decref(got);
		free(page.json);
		pages++;
		if (!page.more)
			break;
		snprintf(after, sizeof after, "%s", page.last_id);
	}
	return pages;
}

/* The read connector's page (SQLite's JSON functions) holds the very
 * objects book_search builds with jansson: same keys, types and values,
 * for every kind of field, null and unusual ones included. */
static void test_search_json_matches_search(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	struct book_page page;

	(void)state;
	seed_book(s);
	add(s, BOOK_ACCOUNT,
	    json_pack("{s:s,s:s,s:b,s:f,s:i,s:{s:s,s:[i,b,n],s:{s:f}}}", "id", "A11", "name",
		      "Ünïcode \"quoted\" \\ back\tslash", "do_not_contact", 1, "arr", 1234567.5,
		      "employees", 42, "custom", "note", "line1\nline2", "list", 1, 0, "deep", "x",
		      0.25));
	add(s, BOOK_ACCOUNT, json_pack("{s:s,s:s}", "id", "A12", "name", "Sparse")); /* nulls */
	/* What only a hand edit of the database holds: an unreadable custom
	 * column, JSON with spaces, control characters, odd numbers, a number
	 * as text in an INTEGER column (SQLite only: PostgreSQL's columns hold
	 * their type, and it spells char() chr()). */
	if (testutil_on_pg()) {
		assert_ok(store_exec(s,
				     "INSERT INTO account(id,name,custom,arr,employees,tier,updated_at)"
				     " VALUES"
				     "('A13','bell\x01'||chr(7)||'tab'||chr(9)||'nul'||chr(31),'not json',"
				     "1e20,-5,3,'2026-01-01T00:00:00Z'),"
				     "('A14','x','{ \"a\" : [1, 2 ] }',-0.1,7,2,'2026-01-01T00:00:00Z'),"
				     "('A15','','[]',123456789012.25,9007199254740993,NULL,"
				     "'2026-01-01T00:00:00Z'),"
				     "('A16','y','{}',-3.0,0,1,'2026-01-01T00:00:00Z'),"
				     "('A17','z','{}',999999999999999.0,0,1,'2026-01-01T00:00:00Z'),"
				     "('A18','w','{\"a\":',1,1,1,'2026-01-01T00:00:00Z')",
				     &err),
			  &err);
	} else {
		assert_ok(store_exec(s,
				     "INSERT INTO account(id,name,custom,arr,employees,tier,updated_at) VALUES"
				     "('A13','bell\x01'||char(7)||'tab'||char(9)||'nul'||char(31),'not json',"
				     "1e20,-5,'3','2026-01-01T00:00:00Z'),"
				     "('A14','x','{ \"a\" : [1, 2 ] }',-0.1,'abc',2.0,'2026-01-01T00:00:00Z'),"
				     "('A15','','[]',123456789012.25,9007199254740993,NULL,"
				     "'2026-01-01T00:00:00Z'),"
				     "('A16','y','{}',-3.0,0,1,'2026-01-01T00:00:00Z'),"
				     "('A17','z','{}',999999999999999.0,0,1,'2026-01-01T00:00:00Z')",
				     &err),
			  &err);
	}
	for (int limit = 1; limit <= 14; limit += 3)
		walk_matches(s, (struct book_query){.limit = limit});
	/* a filter, and a page with nothing on it */
	assert_ok(book_search_json(s, &(struct book_query){.segment = "smb", .limit = 50}, &page,
				   &err),
		  &err);
	assert_int_equal(page.count, 5);
	assert_false(page.more);
	free(page.json);
	assert_ok(book_search_json(s, &(struct book_query){.after = "Z", .limit = 5}, &page, &err),
		  &err);
	assert_string_equal(page.json, "[]");
	assert_int_equal(page.count, 0);
	free(page.json);
	assert_int_equal(book_search_json(s, &(struct book_query){.limit = 0}, &page, &err),
			 AIRLOCK_EINVAL);
	testutil_store_close(&t);
}

/* The name account id has on the book's pages (NULL: on none), as the
 * read connector would print it. */
static char *name_on_page(struct store *s, const char *id)
{
	struct err err = {0};
	struct book_page page;
	json_t *arr;
	char *name = NULL;
	size_t i;

	assert_ok(book_search_json(s, &(struct book_query){.limit = 200}, &page, &err), &err);
	arr = json_loads(page.json, 0, NULL);
	assert_non_null(arr);
	for (i = 0; i < json_array_size(arr); i++)
		if (strcmp(str(json_array_get(arr, i), "id"), id) == 0)
			name = strdup(str(json_array_get(arr, i), "name"));
	json_decref(arr);
	free(page.json);
	return name;
}

static void assert_name_on_page(struct store *s, const char *id, const char *want)
{
	char *got = name_on_page(s, id);

	if (!want && got)
		fail_msg("%s is on the page as '%s', and should not be", id, got);
	if (want && (!got || strcmp(got, want) != 0))
		fail_msg("%s is on the page as '%s', not '%s'", id, got ? got : "(absent)", want);
	free(got);
}

static uint64_t cache_hits(void)
{
	uint64_t h, m;

	book_cache_counts(&h, &m);
	return h;
}

/* The account objects pages keep (book_cache.h), from an attacker's side:
 * every way a row can change behind airlock's own code — a hand UPDATE that
 * bumps no version, another connection, a delete and an insert of the same
 * id, a write read inside its transaction and rolled back, a merge — must
 * show on the next page, never a kept object of the row before. Each walk
 * is checked page by page against book_search, which keeps nothing. */
static void test_kept_pages_follow_every_writer(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t), *other = NULL;
	struct err err = {0};
	struct book_query q = {.limit = 7}, text = {.text = "company 4", .limit = 3};
	char id[16], name[64];
	uint64_t h;
	int pages, i;
	json_t *f;

	(void)state;
	for (i = 1; i <= 60; i++) {
		snprintf(id, sizeof id, "A%03d", i);
		snprintf(name, sizeof name, "Company %d", i);
		add(s, BOOK_ACCOUNT,
		    json_pack("{s:s,s:s,s:s,s:i}", "id", id, "name", name, "region",
			      i % 2 ? "NA" : "EMEA", "tier", 1 + i % 4));
	}
	book_cache_drop();
	/* an agent asking for the same first page again and again: after a
	 * miss (and the one page after it that does not look) it comes from
	 * the cache, plain or filtered — its one object after the page, which
	 * says whether there is a next one, kept too */
	for (i = 0; i < 2; i++) {
		struct book_query first[] = {{.limit = 7}, {.limit = 4, .region = "NA"}};
		struct book_page page;
		int k;

		h = cache_hits();
		for (k = 0; k < 4; k++) {
			assert_ok(book_search_json(s, &first[i], &page, &err), &err);
			free(page.json);
		}
		assert_int_equal(cache_hits() - h, testutil_on_pg() ? 0 : 2);
	}
	book_cache_drop();
	pages = walk_matches(s, q); /* keeps every object */
	walk_matches(s, q);          /* its first pages may not look, after the misses */
	h = cache_hits();
	assert_int_equal(walk_matches(s, q), pages);
	if (testutil_on_pg()) /* written from the columns every time there */
		assert_int_equal(cache_hits(), h);
	else /* else this test would not test the cache */
		assert_int_equal(cache_hits() - h, pages);

	/* a hand UPDATE (airlock sql --write, the sqlite3 shell): no version */
	assert_ok(store_exec(s, "UPDATE account SET name='by hand' WHERE id='A007'", &err), &err);
	walk_matches(s, q);
	assert_name_on_page(s, "A007", "by hand");

	/* through the book's own code */
	f = json_pack("{s:s}", "name", "through book_update");
	assert_ok(book_update(s, BOOK_ACCOUNT, "A010", f, -1, NULL, &err), &err);
	json_decref(f);
	walk_matches(s, q);
	assert_name_on_page(s, "A010", "through book_update");

	/* another connection (another process, as far as this one knows) */
	assert_ok(store_connect(&other, t.path, &err), &err);
	assert_ok(store_exec(other, "UPDATE account SET name='elsewhere' WHERE id='A012'", &err),
		  &err);
	store_close(other);
	walk_matches(s, q);
	assert_name_on_page(s, "A012", "elsewhere");

	/* read inside its transaction, then rolled back: neither the
	 * uncommitted name nor anything kept while it was seen stays */
	assert_ok(store_begin(s, &err), &err);
	assert_ok(store_exec(s, "UPDATE account SET name='uncommitted' WHERE id='A030'", &err),
		  &err);
	walk_matches(s, q);
	assert_name_on_page(s, "A030", "uncommitted");
	store_rollback(s);
	walk_matches(s, q);
	assert_name_on_page(s, "A030", "Company 30");

	/* a merge tomb-stones the account: off the pages */
	assert_ok(store_exec(s, "UPDATE account SET merged_into='A001' WHERE id='A031'", &err),
		  &err);
	walk_matches(s, q);
	assert_name_on_page(s, "A031", NULL);

	/* a text search's pages, and a name that stops matching */
	walk_matches(s, text);
	walk_matches(s, text);
	assert_ok(store_exec(s, "UPDATE account SET name='Other 40' WHERE id='A040'", &err), &err);
	walk_matches(s, text);

	/* deleted and inserted again under the same id, apart and in one
	 * transaction (the second insert also breaks the rowid order, so the
	 * pages after it walk the id index) */
	assert_ok(store_exec(s, "DELETE FROM account WHERE id='A020'", &err), &err);
	walk_matches(s, q);
	assert_name_on_page(s, "A020", NULL);
	assert_ok(store_exec(s,
			     "INSERT INTO account(id,name,updated_at)"
			     " VALUES('A020','born again','2026-01-01T00:00:00Z')",
			     &err),
		  &err);
	walk_matches(s, q);
	assert_name_on_page(s, "A020", "born again");
	assert_ok(store_begin(s, &err), &err);
	assert_ok(store_exec(s, "DELETE FROM account WHERE id='A021'", &err), &err);
	assert_ok(store_exec(s,
			     "INSERT INTO account(id,name,updated_at)"
			     " VALUES('A021','swapped','2026-01-01T00:00:00Z')",
			     &err),
		  &err);
	assert_ok(store_commit(s, &err), &err);
	walk_matches(s, q);
	walk_matches(s, text);
	assert_name_on_page(s, "A021", "swapped");
	testutil_store_close(&t);
}

/* A cache too small for the book, or for one object, or none: the same
 * pages (the arena starts again when full; a larger object is not kept). */
static void test_kept_pages_in_a_small_cache(void **state)
{
	static const size_t sizes[] = {0, 1024, 4096, 16384};
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	size_t k, keep = book_cache_bytes;
	char id[16], name[64];
	int i;

	(void)state;
	for (i = 1; i <= 80; i++) {
		snprintf(id, sizeof id, "B%03d", i);
		snprintf(name, sizeof name, "%.*s", 1 + i % 60,
			 "A name that grows until it is longer than the small arenas allow");
		add(s, BOOK_ACCOUNT,
		    json_pack("{s:s,s:s,s:{s:s}}", "id", id, "name", name, "custom", "note", name));
	}
	for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		book_cache_bytes = sizes[k];
		for (i = 0; i < 3; i++)
			walk_matches(s, (struct book_query){.limit = 1 + i * 4});
		{
		char sql[96], want[32];

		snprintf(want, sizeof want, "arena of %zu", sizes[k]);
		snprintf(sql, sizeof sql, "UPDATE account SET name = '%s' WHERE id > 'B040'", want);
		assert_ok(store_exec(s, sql, &err), &err);
		walk_matches(s, (struct book_query){.limit = 5});
		assert_name_on_page(s, "B041", want);
		}
	}
	book_cache_bytes = keep;
	book_cache_drop();
	testutil_store_close(&t);
}

/* Merged accounts among the kept ones, from an attacker's side: a page
 * without filters reads its ids from the id index alone and leaves out the
 * merged ones by their kept objects, so a merged account must never reach
 * a page that hides them — whether its object was kept by a page that
 * shows them (include_merged), merged after it was kept, or one of a run
 * of merged accounts longer than the ids a page reads ahead. Every walk is
 * compared with book_search; the later walks must come from the cache. */
static void test_kept_pages_leave_merged_out(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	struct book_query live = {.limit = 7}, all = {.limit = 7, .include_merged = 1};
	char id[16];
	uint64_t h;
	int i, pages;

	(void)state;
	for (i = 1; i <= 400; i++) {
		snprintf(id, sizeof id, "M%03d", i);
		add(s, BOOK_ACCOUNT, json_pack("{s:s,s:s}", "id", id, "name", id));
	}
	/* one in five merged here and there, and a run of 300 in the middle */
	assert_ok(store_exec(s,
			     "UPDATE account SET merged_into='M001' WHERE (id < 'M050' AND"
			     " CAST(substr(id,2) AS INTEGER) % 5 = 0) OR (id >= 'M060' AND id < 'M360')",
			     &err),
		  &err);
	book_cache_drop();
	/* kept first by pages that show the merged accounts */
	walk_matches(s, all);
	walk_matches(s, all);
	pages = walk_matches(s, live);
	walk_matches(s, live);
	h = cache_hits();
	assert_int_equal(walk_matches(s, live), pages);
	if (!testutil_on_pg()) /* pages came from the kept objects */
		assert_true(cache_hits() - h >= (uint64_t)pages - 2);
	h = cache_hits();
	walk_matches(s, all);
	if (!testutil_on_pg())
		assert_true(cache_hits() > h);
	for (i = 1; i <= 3; i++)
		walk_matches(s, (struct book_query){.limit = i * 9});
	/* merged after its object was kept, and unmerged again */
	assert_name_on_page(s, "M007", "M007");
	assert_ok(store_exec(s, "UPDATE account SET merged_into='M001' WHERE id='M007'", &err),
		  &err);
	walk_matches(s, live);
	assert_name_on_page(s, "M007", NULL);
	walk_matches(s, all);
	assert_ok(store_exec(s, "UPDATE account SET merged_into=NULL WHERE id='M060'", &err),
		  &err);
	walk_matches(s, live);
	walk_matches(s, live);
	assert_name_on_page(s, "M060", "M060");
	/* every account merged: empty pages, kept or not */
	assert_ok(store_exec(s, "UPDATE account SET merged_into='M001'", &err), &err);
	walk_matches(s, all);
	assert_int_equal(walk_matches(s, live), 1);
	assert_int_equal(walk_matches(s, live), 1);
	testutil_store_close(&t);
}

/* Pages read while another connection rewrites every account in one
 * transaction: each page comes from one snapshot (one generation), so its
 * accounts all carry the same round's name; once the writer is done, every
 * page shows its last round. A kept object of an older round on a page
 * would break one or the other. */
struct rewriter {
	const char *path;
	int rounds;
	char msg[1400];
};

static void *rewrite_rounds(void *arg)
{
	struct rewriter *w = arg;
	struct store *s = NULL;
	struct err err = {0};
	char sql[128];
	int r;

	if (store_connect(&s, w->path, &err)) {
		snprintf(w->msg, sizeof w->msg, "%s", err.msg);
		return NULL;
	}
	for (r = 1; r <= w->rounds && !w->msg[0]; r++) {
		snprintf(sql, sizeof sql, "UPDATE account SET name='round %d'", r);
		if (store_exec(s, sql, &err))
			snprintf(w->msg, sizeof w->msg, "round %d: %s", r, err.msg);
		usleep(2000);
	}
	store_close(s);
	return NULL;
}

static void page_rounds(struct store *s, int *rounds_seen)
{
	struct err err = {0};
	struct book_page page;
	char after[sizeof page.last_id] = "";

	for (;;) {
		json_t *arr;
		size_t i;

		assert_ok(book_search_json(s, &(struct book_query){.limit = 9, .after = after[0] ? after : NULL},
					   &page, &err),
			  &err);
		arr = json_loads(page.json, 0, NULL);
		assert_non_null(arr);
		for (i = 1; i < json_array_size(arr); i++)
			if (strcmp(str(json_array_get(arr, i), "name"), str(json_array_get(arr, 0), "name")))
				fail_msg("one page, two snapshots: '%s' and '%s'",
					 str(json_array_get(arr, 0), "name"), str(json_array_get(arr, i), "name"));
		if (json_array_size(arr))
			*rounds_seen = atoi(str(json_array_get(arr, 0), "name") + 6);
		json_decref(arr);
		free(page.json);
		if (!page.more)
			break;
		snprintf(after, sizeof after, "%s", page.last_id);
	}
}

static void test_kept_pages_are_one_snapshot(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct rewriter w = {.path = t.path, .rounds = 150};
	pthread_t th;
	char id[16];
	int i, seen = 0;

	(void)state;
	for (i = 1; i <= 90; i++) {
		snprintf(id, sizeof id, "C%03d", i);
		add(s, BOOK_ACCOUNT, json_pack("{s:s,s:s}", "id", id, "name", "round 0"));
	}
	book_cache_drop();
	assert_int_equal(pthread_create(&th, NULL, rewrite_rounds, &w), 0);
	for (i = 0; i < 400; i++)
		page_rounds(s, &seen);
	pthread_join(th, NULL);
	if (w.msg[0])
		fail_msg("the writer: %s", w.msg);
	page_rounds(s, &seen);
	page_rounds(s, &seen);
	assert_int_equal(seen, w.rounds);
	testutil_store_close(&t);
}

static int count_statements(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	while ((st = sqlite3_next_stmt(store_native_handle(s), st)))
		n++;
	return n;
}

/* Regression: the limit was printed into the SQL text, so every distinct
 * limit added a statement to the cache for the life of the connection. */
static void test_search_limits_share_a_statement(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *arr;
	int before, i;

	(void)state;
	seed_book(s);
	assert_ok(book_search(s, &(struct book_query){.limit = 1}, &arr, &err), &err);
	json_decref(arr);
	before = count_statements(s);
	for (i = 2; i < 40; i++) {
		assert_ok(book_search(s, &(struct book_query){.limit = i}, &arr, &err), &err);
		assert_int_equal(json_array_size(arr), i < 10 ? i : 10);
		json_decref(arr);
	}
	assert_int_equal(count_statements(s), before);
	testutil_store_close(&t);
}

/* The text filter as it was before the trigram index (a LIKE over every
 * account): the reference the index-narrowed search must agree with. */
static void like_pattern(const char *text, char *pat, size_t len)
{
	size_t i, o = 0;

	pat[o++] = '%';
	for (i = 0; text[i] && o < len - 3; i++) {
		char c = text[i];

		if (c == '%' || c == '_' || c == '\\')
			pat[o++] = '\\';
		pat[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	pat[o++] = '%';
	pat[o] = '\0';
}

static void like_ids(struct store *s, const char *text, const char *after, int limit, char *buf,
		     size_t len)
{
	struct store_stmt *st;
	struct err err = {0};
	char pat[512];
	size_t used = 0;

	like_pattern(text, pat, sizeof pat);
	/* through the store, so the same oracle holds on both engines */
	assert_ok(store_prepare(s,
				"SELECT id FROM account WHERE (lower(name) LIKE ?1"
				" ESCAPE '\\' OR lower(coalesce(domain,'')) LIKE ?1"
				" ESCAPE '\\') AND merged_into IS NULL AND id > ?2"
				" ORDER BY id LIMIT ?3",
				&st, &err),
		  &err);
	store_bind_text(st, 1, pat);
	store_bind_text(st, 2, after ? after : "");
	store_bind_int(st, 3, limit > 0 ? limit : 1000000000);
	buf[0] = '\0';
	while (store_step(st, &err) == STORE_ROW && used < len)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
					 store_col_text(st, 0));
	store_done(st);
}

/* Pieces of names and queries: ASCII in both cases, accented letters whose
 * case LIKE does not fold (but the index does), LIKE's own wildcards and
 * escape, quotes (the index query's), spaces, CJK. */
static const char *const piece[] = {"co", "Co", "RE", "re", "é", "É", "ß", "中文", "%", "_",
				    "\\", "\"", " ", "x", "ab", "AB", "lé", "nord", "q"};
#define NPIECE ((int)(sizeof piece / sizeof piece[0]))

static void random_text(char *buf, size_t len, int pieces)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < pieces; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s", piece[rand() % NPIECE]);
}

/* A byte-cut piece made whole again: PostgreSQL takes only UTF-8 text. */
static void utf8_trim(char *q)
{
	size_t n = strlen(q), b = 0, k;

	while (((unsigned char)q[b] & 0xc0) == 0x80)
		b++;
	memmove(q, q + b, n - b + 1);
	n -= b;
	for (k = n; k > 0 && ((unsigned char)q[k - 1] & 0xc0) == 0x80; k--)
		;
	if (k > 0 && (unsigned char)q[k - 1] >= 0xc0) {
		size_t want = (unsigned char)q[k - 1] >= 0xf0   ? 4
			      : (unsigned char)q[k - 1] >= 0xe0 ? 3
								: 2;

		if (n - (k - 1) < want)
			q[k - 1] = '\0';
	}
}

/* Whether the book says its account rowids run in id order (schema.c 9):
 * -1 on PostgreSQL, which has no such row. */
static int64_t id_order_flag(struct store *s)
{
	struct err err = {0};
	int64_t v = -1;

	if (!testutil_on_pg())
		assert_ok(store_query_int(s, "SELECT in_id_order FROM account_order", &v, &err), &err);
	return v;
}

/* Whether they really do: no two rows whose rowids and ids disagree. */
static int ids_in_rowid_order(struct store *s)
{
	struct err err = {0};
	int64_t v = 0;

	assert_ok(store_query_int(s,
				  "SELECT NOT EXISTS (SELECT 1 FROM (SELECT rowid - lag(rowid)"
				  " OVER (ORDER BY id) AS d FROM account) WHERE d < 0)",
				  &v, &err),
		  &err);
	return (int)v;
}

/* A text search's page, its count and its JSON page against the plain LIKE
 * over random texts; in_order: a book whose ids come in insertion order
 * (rowid order is id order: pages stop after their matches), else ids
 * spread at random (the candidates are read and sorted, or the id walk). */
static void text_search_against_like(int in_order)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct store_stmt *ins;
	struct err err = {0};
	char name[256], domain[256], q[4096], id[32], want[65536], got[65536];
	static char names[600][256];
	int i, round;

	srand(in_order ? 16 : 15);
	assert_ok(store_begin(s, &err), &err);
	assert_ok(store_prepare(s,
				"INSERT INTO account(id,name,domain,merged_into,updated_at)"
				" VALUES(?1,?2,?3,?4,'2026-01-01T00:00:00Z')",
				&ins, &err),
		  &err);
	/* 6000 accounts: "co" and "re" then match more than the index hands
	 * out for a page, so both ways of running a page are compared */
	for (i = 0; i < 6000; i++) {
		snprintf(id, sizeof id, "A%05d", in_order ? i : (i * 7919) % 6000);
		random_text(name, sizeof name, 1 + rand() % 8);
		random_text(domain, sizeof domain, rand() % 4);
		if (i < 600)
			snprintf(names[i], sizeof names[i], "%s", name);
		store_bind_text(ins, 1, id);
		store_bind_text(ins, 2, name);
		if (rand() % 5)
			store_bind_text(ins, 3, domain);
		else
			store_bind_null(ins, 3);
		if (rand() % 20 == 0)
			store_bind_text(ins, 4, "A00000");
		else
			store_bind_null(ins, 4);
		assert_int_equal(store_step(ins, &err), STORE_DONE);
		store_reset(ins);
	}
	store_done(ins);
	/* and some renames after the fact, which the index must follow */
	assert_ok(store_exec(s,
			     "UPDATE account SET name = name || 'nordré'"
			     " WHERE id LIKE '%7';"
			     "UPDATE account SET domain = NULL WHERE id LIKE '%3'",
			     &err),
		  &err);
	assert_ok(store_commit(s, &err), &err);
	/* renames keep the order; the shuffled ids never had it */
	if (!testutil_on_pg())
		assert_int_equal(id_order_flag(s), in_order);
	/* the early stop has no thresholds to rotate: fewer rounds */
	for (round = 0; round < (in_order ? 150 : 360); round++) {
		const char *src = names[rand() % 600];
		size_t n = strlen(src), a = (size_t)rand() % (n + 1), b = a + (size_t)rand() % (n - a + 1);
		int kind = rand() % 6, limit, j;
		json_t *arr;
		int64_t count;
		struct book_page page;
		const char *after = NULL;

		if (kind <= 1) /* a piece of a name, byte-cut (may split a character) */
			snprintf(q, sizeof q, "%.*s", (int)(b - a), src + a);
		else if (kind == 2) { /* the same with ASCII case flipped */
			snprintf(q, sizeof q, "%.*s", (int)(b - a), src + a);
			for (j = 0; q[j]; j++)
				if ((q[j] | 0x20) >= 'a' && (q[j] | 0x20) <= 'z')
					q[j] ^= 0x20;
		} else if (kind == 3)
			random_text(q, sizeof q, 1 + rand() % 4);
		else if (kind == 4) { /* longer than the pattern's room: cut */
			snprintf(q, sizeof q, "%s", src);
			for (j = (int)strlen(q); j < 3000; j++)
				q[j] = "%_\\a\"é"[rand() % 6];
			q[j] = '\0';
			/* PostgreSQL: whole characters only (3-byte ones among
			 * them), which book.c's cut must not split */
			for (j = (int)strlen(src); testutil_on_pg() && j < 3000;
			     j += (int)strlen(q + j))
				snprintf(q + j, sizeof q - (size_t)j, "%s",
					 piece[rand() % NPIECE]);
		} else {
			static const char *const odd[] = {"%",  "_",   "%%", "\\", "\"",  "",
							  "%_", "\"\"", "é",  "É",  "中文", "ß\\%"};

			snprintf(q, sizeof q, "%s", odd[rand() % 12]);
		}
		if (testutil_on_pg() && kind != 4) /* 4: book.c's own cut must be whole */
			utf8_trim(q);
		if (rand() % 3 == 0)
			after = "A03000";
		limit = rand() % 2 ? 0 : 1 + rand() % 60;
		/* every way a page can use the index, on this small book: by
		 * rowid, the id walk testing candidates, the id walk alone */
		book_text_fetch_max = round % 3 == 0 ? 1024 : round % 3 == 1 ? 2 : 0;
		book_text_index_max = round % 3 == 0 ? 2048 : round % 3 == 1 ? 64 : 4096;
		like_ids(s, q, after, limit, want, sizeof want);
		assert_ok(book_search(s, &(struct book_query){.text = q, .after = after, .limit = limit},
				      &arr, &err),
			  &err);
		ids(arr, got, sizeof got);
		json_decref(arr);
		if (strcmp(want, got))
			fail_msg("text '%s' (limit %d): LIKE gives\n %.300s\nbook_search gives\n %.300s",
				 q, limit, want, got);
		like_ids(s, q, after, 0, want, sizeof want);
		assert_ok(book_count(s, &(struct book_query){.text = q, .after = after}, &count, &err),
			  &err);
		for (i = 0, j = want[0] ? 1 : 0; want[i]; i++)
			j += want[i] == ',';
		assert_int_equal(count, j);
		like_ids(s, q, after, 50, want, sizeof want);
		assert_ok(book_search_json(s, &(struct book_query){.text = q, .after = after, .limit = 50},
					   &page, &err),
			  &err);
		arr = json_loads(page.json, 0, NULL);
		ids(arr, got, sizeof got);
		json_decref(arr);
		free(page.json);
		assert_string_equal(want, got);
	}
	book_text_fetch_max = 1024;
	book_text_index_max = 2048;
	testutil_store_close(&t);
}

static void test_text_search_matches_like(void **state)
{
	(void)state;
	text_search_against_like(0);
}

static void test_text_search_in_id_order_matches_like(void **state)
{
	(void)state;
	text_search_against_like(1);
}

/* The early-stopping page trusts account_order: every way a writer can put
 * rowids out of id order must clear it, or a page would skip smaller ids.
 * An operator in the sqlite3 shell inserts a smaller id, renumbers an id
 * or a rowid, re-inserts a deleted account; random steps, and after each
 * the flag never claims an order the table lacks, and pages of texts
 * (with a cursor, a limit, merged accounts) equal the plain LIKE's. */
static void test_id_order_survives_every_writer(void **state)
{
	struct testdb t;
	struct store *s;
	struct store_stmt *ins;
	struct err err = {0};
	char id[32], name[64], sql[256], want[65536], got[65536];
	static const char *const texts[] = {"lum", "orbmar", "com", "zen", "ac", "xyzq", "marlum"};
	int step, next = 1000, k, cleared = 0, set_again = 0;

	(void)state;
	if (testutil_on_pg()) { /* the flag is SQLite's (the LIKE alone filters there) */
		skip();
		return;
	}
	s = testutil_store_open(&t);
	srand(9);
	assert_int_equal(id_order_flag(s), 1); /* an empty book is in order */
	assert_ok(store_prepare(s,
				"INSERT INTO account(id,name,domain,merged_into,updated_at)"
				" VALUES(?1,?2,?3,?4,'2026-01-01T00:00:00Z')",
				&ins, &err),
		  &err);
	for (step = 0; step < 1500; step++) {
		int what = rand() % 100;
		json_t *arr;
		const char *after;

		if (what < 80 || step < 200) { /* mostly appends in order, as an import gives */
			int id_n = what < 76 ? next++ : rand() % next;

			snprintf(id, sizeof id, "B%06d", id_n);
			snprintf(name, sizeof name, "%s%s%s Inc", rand() % 2 ? "Lum" : "Orb",
				 rand() % 2 ? "mar" : "zen", rand() % 3 ? "com" : "ac");
			store_bind_text(ins, 1, id);
			store_bind_text(ins, 2, name);
			store_bind_text(ins, 3, rand() % 2 ? "lum.com" : "zen.io");
			if (rand() % 10 == 0)
				store_bind_text(ins, 4, "B000000");
			else
				store_bind_null(ins, 4);
			(void)store_step(ins, &err); /* a duplicate id fails: fine */
			store_reset(ins);
		} else if (what < 86) {
			snprintf(sql, sizeof sql,
				 "DELETE FROM account WHERE rowid IN (SELECT rowid FROM account"
				 " ORDER BY random() LIMIT %d)",
				 1 + rand() % 40);
			assert_ok(store_exec(s, sql, &err), &err);
		} else if (what < 90) {
			snprintf(sql, sizeof sql,
				 "UPDATE OR IGNORE account SET id = 'B%06d' WHERE rowid ="
				 " (SELECT rowid FROM account ORDER BY random() LIMIT 1)",
				 rand() % next);
			assert_ok(store_exec(s, sql, &err), &err);
		} else if (what < 93) {
			snprintf(sql, sizeof sql,
				 "UPDATE OR IGNORE account SET rowid = %d WHERE rowid ="
				 " (SELECT rowid FROM account ORDER BY random() LIMIT 1)",
				 1 + rand() % 3000);
			assert_ok(store_exec(s, sql, &err), &err);
		} else if (what < 95) { /* renames keep the order */
			assert_ok(store_exec(s,
					     "UPDATE account SET name = name || 'x' WHERE rowid ="
					     " (SELECT rowid FROM account ORDER BY random() LIMIT 1)",
					     &err),
				  &err);
		} else if (what < 96) { /* emptied: in order again */
			assert_ok(store_exec(s, "DELETE FROM account", &err), &err);
			assert_int_equal(id_order_flag(s), 1);
			set_again++;
		} else {
			/* a re-insert of an old id at a new rowid */
			snprintf(id, sizeof id, "B%06d", rand() % next);
			store_bind_text(ins, 1, id);
			store_bind_text(ins, 2, "Lummarcom Again");
			store_bind_null(ins, 3);
			store_bind_null(ins, 4);
			(void)store_step(ins, &err);
			store_reset(ins);
		}
		if (id_order_flag(s) == 1 && !ids_in_rowid_order(s))
			fail_msg("step %d: the book claims rowid order is id order; it is not", step);
		cleared += id_order_flag(s) == 0;
		if (step % 5)
			continue;
		for (k = 0; k < 7; k++) {
			int limit = 1 + rand() % 30;
			struct book_page page;

			after = rand() % 3 == 0 ? (rand() % 2 ? "B000500" : "B000000x") : NULL;
			like_ids(s, texts[k], after, limit, want, sizeof want);
			assert_ok(book_search(s, &(struct book_query){.text = texts[k], .after = after,
								      .limit = limit},
					      &arr, &err),
				  &err);
			ids(arr, got, sizeof got);
			json_decref(arr);
			if (strcmp(want, got))
				fail_msg("step %d, text '%s' after %s (limit %d), flag %lld: LIKE gives\n"
					 " %.300s\nbook_search gives\n %.300s",
					 step, texts[k], after ? after : "-", limit,
					 (long long)id_order_flag(s), want, got);
			assert_ok(book_search_json(s, &(struct book_query){.text = texts[k],
									   .after = after,
									   .limit = limit},
						   &page, &err),
				  &err);
			arr = json_loads(page.json, 0, NULL);
			ids(arr, got, sizeof got);
			json_decref(arr);
			free(page.json);
			assert_string_equal(want, got);
		}
	}
	store_done(ins);
	/* both states were visited, or the test proved nothing */
	assert_true(cleared > 0);
	assert_true(set_again > 0);
	testutil_store_close(&t);
}

/* An import into the empty book commits its rows before the text index is
 * built (book_text_index_build, after the commit or on the next open).
 * Until then a text search must still find exactly what LIKE finds, and
 * the renames made meanwhile must not damage the index the build makes:
 * what an agent searching a freshly imported book relies on. */
static int64_t match_count(struct store *s, const char *match)
{
	struct store_stmt *st;
	struct err err = {0};
	int64_t n = -1;

	assert_ok(store_prepare(s, "SELECT count(*) FROM account_text WHERE account_text MATCH ?1",
				&st, &err),
		  &err);
	store_bind_text(st, 1, match);
	if (store_step(st, &err) == STORE_ROW)
		n = store_col_int(st, 0);
	else
		fail_msg("%s: %s", match, err.msg);
	store_done(st);
	return n;
}

static void test_text_search_while_the_index_is_behind(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	static const char *const cols[3] = {"id", "name", "domain"};
	static char queries[200][64], before[200][4096];
	char id[32], name[256], domain[256], want[4096], got[4096], path[300];
	const char *v[3];
	struct book_loader *l = NULL;
	struct err err = {0};
	json_t *arr;
	int i, pass, outcome, behind, built, limit;

	(void)state;
	srand(6);
	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 3, &l, &err), &err);
	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "A%05d", i);
		random_text(name, sizeof name, 1 + rand() % 6);
		random_text(domain, sizeof domain, rand() % 3);
		v[0] = id;
		v[1] = name[0] ? name : "x";
		v[2] = domain;
		assert_ok(book_loader_put(l, v, i + 2, &outcome, &err), &err);
	}
	assert_ok(book_loader_finish(l, &err), &err);
	book_loader_free(l);
	assert_ok(store_commit(s, &err), &err);
	assert_ok(book_text_index_behind(s, &behind, &err), &err);
	if (testutil_on_pg()) { /* no trigram index there: never behind */
		assert_int_equal(behind, 0);
		testutil_store_close(&t);
		return;
	}
	assert_int_equal(behind, 1);
	/* nothing indexed yet, and renames and a second load meanwhile leave
	 * the index alone (an FTS5 'delete' of what it never had would damage
	 * it) */
	assert_int_equal(match_count(s, "cor"), 0);
	assert_ok(store_exec(s,
			     "UPDATE account SET name = name || 'nordré' WHERE id LIKE '%7';"
			     "UPDATE account SET domain = NULL WHERE id LIKE '%3'",
			     &err),
		  &err);
	assert_ok(store_begin(s, &err), &err);
	assert_ok(book_loader_new(s, BOOK_ACCOUNT, cols, 3, &l, &err), &err);
	v[0] = "B00001";
	v[1] = "Late Cornerstone";
	v[2] = "late.example";
	assert_ok(book_loader_put(l, v, 2, &outcome, &err), &err);
	assert_ok(book_loader_finish(l, &err), &err);
	book_loader_free(l);
	assert_ok(store_commit(s, &err), &err);
	assert_int_equal(match_count(s, "cor"), 0);

	/* a crash before the build: the mark is in the file, not the process */
	snprintf(path, sizeof path, "%s", t.path);
	store_close(s);
	assert_ok(store_open(&t.s, path, &err), &err);
	s = t.s;
	assert_ok(book_text_index_behind(s, &behind, &err), &err);
	assert_int_equal(behind, 1);

	for (i = 0; i < 200; i++) {
		if (i % 4 == 0)
			snprintf(queries[i], sizeof queries[i], "%s", "cornerstone");
		else
			random_text(queries[i], sizeof queries[i], 1 + rand() % 3);
	}
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			assert_ok(book_text_index_build(s, &built, &err), &err);
			assert_int_equal(built, 1);
			assert_ok(book_text_index_behind(s, &behind, &err), &err);
			assert_int_equal(behind, 0);
			/* the index holds the renames and the late row now */
			assert_true(match_count(s, "cor") > 0);
			assert_true(match_count(s, "nor") >= 300);
			assert_int_equal(match_count(s, "rst"), 1);
			assert_ok(book_text_index_build(s, &built, &err), &err);
			assert_int_equal(built, 0);
		}
		for (i = 0; i < 200; i++) {
			limit = i % 2 ? 0 : 20;
			like_ids(s, queries[i], NULL, limit, want, sizeof want);
			assert_ok(book_search(s, &(struct book_query){.text = queries[i], .limit = limit},
					      &arr, &err),
				  &err);
			ids(arr, got, sizeof got);
			json_decref(arr);
			if (strcmp(want, got))
				fail_msg("pass %d, text '%s': LIKE gives\n %.300s\nbook_search gives\n %.300s",
					 pass, queries[i], want, got);
			if (pass == 0)
				snprintf(before[i], sizeof before[i], "%s", got);
			else
				assert_string_equal(before[i], got);
		}
	}
	testutil_store_close(&t);
}

static void test_merged_accounts_hidden(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *img, *st;
	int64_t n;

	(void)state;
	seed_book(s);
	assert_ok(book_get(s, BOOK_ACCOUNT, "A06", &img, &err), &err);
	json_object_set_new(img, "merged_into", json_string("A01"));
	assert_ok(book_restore(s, BOOK_ACCOUNT, img, 2, &err), &err);
	json_decref(img);
	expect_search(s, &(struct book_query){.text = "cedar"}, "A01");
	expect_search(s, &(struct book_query){.text = "cedar", .include_merged = 1}, "A01,A06");
	assert_ok(book_count(s, &(struct book_query){0}, &n, &err), &err);
	assert_int_equal(n, 9);
	assert_ok(book_count(s, &(struct book_query){.include_merged = 1}, &n, &err), &err);
	assert_int_equal(n, 10);
	/* a limit does not cap the count */
	assert_ok(book_count(s, &(struct book_query){.limit = 2}, &n, &err), &err);
	assert_int_equal(n, 9);
	assert_ok(book_stats(s, &st, &err), &err);
	assert_int_equal(num(st, "accounts"), 9);
	assert_int_equal(num(json_object_get(st, "by_lifecycle"), "former_customer"), 0);
	json_decref(st);
	/* the merged record itself is still there by id */
	assert_ok(book_get(s, BOOK_ACCOUNT, "A06", &img, &err), &err);
	assert_string_equal(str(img, "merged_into"), "A01");
	json_decref(img);
	testutil_store_close(&t);
}

static void test_contacts_and_signals(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *arr;
	char buf[256];

	(void)state;
	seed_book(s);
	add(s, BOOK_CONTACT,
	    json_pack("{s:s,s:s,s:s}", "id", "C3", "account_id", "A01", "name", "c"));
	add(s, BOOK_CONTACT,
	    json_pack("{s:s,s:s,s:s}", "id", "C1", "account_id", "A01", "name", "a"));
	add(s, BOOK_CONTACT,
	    json_pack("{s:s,s:s,s:s}", "id", "C2", "account_id", "A02", "name", "b"));
	assert_ok(book_contacts(s, "A01", &arr, &err), &err);
	assert_string_equal(ids(arr, buf, sizeof buf), "C1,C3");
	json_decref(arr);
	assert_ok(book_contacts(s, "A05", &arr, &err), &err);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);

#define SIG(id, acc, kind, at)                                                                     \
	add(s, BOOK_SIGNAL,                                                                        \
	    json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "account_id", acc, "kind", kind,          \
		      "observed_at", at, "detail", "d"))
	SIG("S1", "A01", "hiring", "2026-10-01");
	SIG("S2", "A01", "funding", "2026-10-20");
	SIG("S3", "A02", "hiring", "2026-10-25");
	SIG("S4", "A01", "hiring", "2026-10-20");
	SIG("S5", "A01", "intent", "2026-09-02T08:00:00Z");
#undef SIG
	/* newest first; equal times by id */
	assert_ok(book_signals(s, NULL, NULL, 0, &arr, &err), &err);
	assert_string_equal(ids(arr, buf, sizeof buf), "S3,S2,S4,S1,S5");
	json_decref(arr);
	assert_ok(book_signals(s, "A01", NULL, 0, &arr, &err), &err);
	assert_string_equal(ids(arr, buf, sizeof buf), "S2,S4,S1,S5");
	json_decref(arr);
	assert_ok(book_signals(s, "A01", "hiring", 0, &arr, &err), &err);
	assert_string_equal(ids(arr, buf, sizeof buf), "S4,S1");
	json_decref(arr);
	assert_ok(book_signals(s, NULL, "hiring", 2, &arr, &err), &err);
	assert_string_equal(ids(arr, buf, sizeof buf), "S3,S4");
	json_decref(arr);
	assert_ok(book_signals(s, "A01", NULL, 1, &arr, &err), &err);
	assert_string_equal(ids(arr, buf, sizeof buf), "S2");
	json_decref(arr);
	testutil_store_close(&t);
}

static void test_stats(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	json_t *st, *f;

	(void)state;
	assert_ok(book_stats(s, &st, &err), &err);
	assert_int_equal(num(st, "accounts"), 0);
	assert_int_equal(json_object_size(json_object_get(st, "by_segment")), 0);
	json_decref(st);

	seed_book(s);
	f = json_pack("{s:b}", "do_not_contact", 1);
	assert_ok(book_update(s, BOOK_ACCOUNT, "A05", f, -1, NULL, &err), &err);
	json_decref(f);
	add(s, BOOK_ACCOUNT, json_pack("{s:s,s:s}", "id", "A11", "name", "No segment"));
	add(s, BOOK_CONTACT,
	    json_pack("{s:s,s:s,s:b}", "id", "C1", "account_id", "A01", "do_not_contact", 1));
	add(s, BOOK_CONTACT,
	    json_pack("{s:s,s:s,s:b}", "id", "C2", "account_id", "A01", "unsubscribed", 1));
	add(s, BOOK_CONTACT, json_pack("{s:s,s:s}", "id", "C3", "account_id", "A02"));
	add(s, BOOK_SIGNAL,
	    json_pack("{s:s,s:s,s:s,s:s}", "id", "S1", "account_id", "A01", "kind", "hiring",
		      "observed_at", "2026-10-01"));
	add(s, BOOK_SIGNAL,
	    json_pack("{s:s,s:s,s:s,s:s}", "id", "S2", "account_id", "A02", "kind", "hiring",
		      "observed_at", "2026-10-02"));
	add(s, BOOK_SIGNAL,
	    json_pack("{s:s,s:s,s:s,s:s}", "id", "S3", "account_id", "A02", "kind", "news",
		      "observed_at", "2026-10-03"));
	assert_ok(book_stats(s, &st, &err), &err);
	assert_int_equal(num(st, "accounts"), 11);
	assert_int_equal(num(st, "accounts_do_not_contact"), 1);
	assert_int_equal(num(st, "contacts"), 3);
	assert_int_equal(num(st, "contacts_not_reachable"), 2);
	assert_int_equal(num(st, "signals"), 3);
	assert_int_equal(num(json_object_get(st, "by_segment"), "smb"), 5);
	assert_int_equal(num(json_object_get(st, "by_segment"), "mid-market"), 3);
	assert_int_equal(num(json_object_get(st, "by_segment"), "enterprise"), 2);
	assert_int_equal(num(json_object_get(st, "by_segment"), "(none)"), 1);
	assert_int_equal(num(json_object_get(st, "by_region"), "NA"), 4);
	assert_int_equal(num(json_object_get(st, "by_tier"), "4"), 4);
	assert_int_equal(num(json_object_get(st, "by_tier"), "1"), 1);
	assert_int_equal(num(json_object_get(st, "by_lifecycle"), "prospect"), 6);
	assert_int_equal(num(json_object_get(st, "by_lifecycle"), "competitor"), 1);
	assert_int_equal(num(json_object_get(st, "signals_by_kind"), "hiring"), 2);
	assert_int_equal(num(json_object_get(st, "signals_by_kind"), "news"), 1);
	json_decref(st);
	testutil_store_close(&t);
}

/* The book's figures after many changes in one transaction (an apply of a
 * big batch, an import), after a rolled-back one and after a savepoint
 * rolled back inside a committed one: always what the accounts hold. On
 * PostgreSQL the tallies are appended per change and folded at commit
 * (store_pg_schema.c, migration 31): nothing is left unfolded. */
static void tiers_match(struct store *s)
{
	struct err err = {0};
	json_t *st;
	int64_t n;
	char sql[128], key[16];
	int tier;

	assert_ok(book_stats(s, &st, &err), &err);
	for (tier = 1; tier <= 4; tier++) {
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM account WHERE tier=%d AND merged_into IS NULL", tier);
		assert_ok(store_query_int(s, sql, &n, &err), &err);
		snprintf(key, sizeof key, "%d", tier);
		assert_int_equal(num(json_object_get(st, "by_tier"), key), n);
	}
	assert_ok(store_query_int(s, "SELECT count(*) FROM account", &n, &err), &err);
	assert_int_equal(num(st, "accounts"), n);
	json_decref(st);
	if (testutil_on_pg()) {
		assert_ok(store_query_int(s,
					  "SELECT (SELECT count(*) FROM book_tally_delta) +"
					  " (SELECT count(*) FROM book_tally_pending)",
					  &n, &err),
			  &err);
		assert_int_equal(n, 0);
	}
}

static void set_tier(struct store *s, int i, int tier, const char *owner)
{
	struct err err = {0};
	char id[16];
	json_t *f = json_pack("{s:i,s:s}", "tier", tier, "owner", owner);

	snprintf(id, sizeof id, "T%04d", i);
	assert_ok(book_update(s, BOOK_ACCOUNT, id, f, -1, NULL, &err), &err);
	json_decref(f);
}

static void test_stats_after_big_transactions(void **state)
{
	struct testdb t;
	struct store *s = testutil_store_open(&t);
	struct err err = {0};
	char id[16];
	int i;

	(void)state;
	assert_ok(store_begin(s, &err), &err);
	for (i = 0; i < 600; i++) {
		snprintf(id, sizeof id, "T%04d", i);
		add(s, BOOK_ACCOUNT,
		    json_pack("{s:s,s:s,s:s,s:i}", "id", id, "name", "Tally", "segment", "smb",
			      "tier", 1 + i % 4));
	}
	assert_ok(store_commit(s, &err), &err);
	tiers_match(s);
	/* every tier moved, and the owner alone changed on the same rows */
	assert_ok(store_begin(s, &err), &err);
	for (i = 0; i < 600; i++)
		set_tier(s, i, 1 + (i + 1) % 4, "rep1");
	for (i = 0; i < 600; i++)
		set_tier(s, i, 1 + (i + 1) % 4, "rep2");
	assert_ok(store_commit(s, &err), &err);
	tiers_match(s);
	/* thrown away whole */
	assert_ok(store_begin(s, &err), &err);
	for (i = 0; i < 100; i++)
		set_tier(s, i, 4, "rep3");
	store_rollback(s);
	tiers_match(s);
	/* a savepoint thrown away inside a transaction that commits */
	assert_ok(store_begin(s, &err), &err);
	set_tier(s, 0, 1, "rep4");
	assert_ok(store_begin(s, &err), &err);
	for (i = 1; i < 50; i++)
		set_tier(s, i, 1, "rep4");
	store_rollback(s);
	set_tier(s, 599, 1, "rep4");
	assert_ok(store_commit(s, &err), &err);
	tiers_match(s);
	testutil_store_close(&t);
}

static void test_value_parse_and_kinds(void **state)
{
	const struct book_field *tier = book_field_find(BOOK_ACCOUNT, "tier");
	const struct book_field *dnc = book_field_find(BOOK_ACCOUNT, "do_not_contact");
	const struct book_field *custom = book_field_find(BOOK_ACCOUNT, "custom");
	struct err err = {0};
	enum book_kind k;
	json_t *v;
	int n;

	(void)state;
	assert_non_null(tier);
	assert_null(book_field_find(BOOK_ACCOUNT, "colour"));
	assert_ok(book_value_parse(tier, "", &v, &err), &err);
	assert_true(json_is_null(v));
	assert_ok(book_value_parse(tier, "4", &v, &err), &err);
	assert_int_equal(json_integer_value(v), 4);
	json_decref(v);
	assert_int_equal(book_value_parse(tier, "4x", &v, &err), AIRLOCK_EINVAL);
	assert_null(v);
	assert_int_equal(book_value_parse(tier, "99999999999999999999", &v, &err), AIRLOCK_EINVAL);
	assert_ok(book_value_parse(dnc, "Yes", &v, &err), &err);
	assert_true(json_is_true(v));
	assert_ok(book_value_parse(custom, "{\"a\":1}", &v, &err), &err);
	assert_int_equal(json_object_size(v), 1);
	json_decref(v);
	assert_int_equal(book_value_parse(custom, "[1]", &v, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "custom: not a JSON object"));
	assert_ok(book_kind_parse("contacts", &k, &err), &err);
	assert_int_equal(k, BOOK_CONTACT);
	assert_ok(book_kind_parse("signal", &k, &err), &err);
	assert_int_equal(k, BOOK_SIGNAL);
	assert_int_equal(book_kind_parse("deals", &k, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "'deals'"));
	assert_string_equal(book_kind_name(BOOK_ACCOUNT), "account");
	assert_non_null(book_fields(BOOK_SIGNAL, &n));
	assert_int_equal(n, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_search_matches_like),
		cmocka_unit_test(test_text_search_in_id_order_matches_like),
		cmocka_unit_test(test_id_order_survives_every_writer),
		cmocka_unit_test(test_text_search_while_the_index_is_behind),
	    cmocka_unit_test(test_insert_get_update_bumps_version),
	    cmocka_unit_test(test_insert_at_fixed_time),
	    cmocka_unit_test(test_change_guards_version_and_system_fields),
	    cmocka_unit_test(test_duplicate_id_is_eexist),
	    cmocka_unit_test(test_long_ids_refused),
	    cmocka_unit_test(test_update_conflict_changes_nothing),
	    cmocka_unit_test(test_update_is_atomic_against_another_writer),
	    cmocka_unit_test(test_custom_fields_kept_and_updated),
	    cmocka_unit_test(test_validation_names_the_field),
	    cmocka_unit_test(test_update_empty_takes_default),
	    cmocka_unit_test(test_contact_needs_account),
	    cmocka_unit_test(test_restore_writes_image_back),
	    cmocka_unit_test(test_upsert_keeps_absent_fields),
	    cmocka_unit_test(test_search_filters),
	    cmocka_unit_test(test_search_json_matches_search),
	    cmocka_unit_test(test_kept_pages_follow_every_writer),
	    cmocka_unit_test(test_kept_pages_in_a_small_cache),
	    cmocka_unit_test(test_kept_pages_leave_merged_out),
	    cmocka_unit_test(test_kept_pages_are_one_snapshot),
	    cmocka_unit_test(test_search_pagination),
	    cmocka_unit_test(test_search_limits_share_a_statement),
	    cmocka_unit_test(test_merged_accounts_hidden),
	    cmocka_unit_test(test_contacts_and_signals),
	    cmocka_unit_test(test_stats),
	    cmocka_unit_test(test_stats_after_big_transactions),
	    cmocka_unit_test(test_value_parse_and_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
