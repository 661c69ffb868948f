/* test_bookgen.c — the demo book: reproducible, realistic, self-consistent. */
#include "testutil.h"

#include "book.h"
#include "bookgen.h"

/* One integer from a query. */
static int64_t q_int(struct store *s, const char *sql)
{
	struct store_stmt *st;
	struct err err = {0};
	int64_t v = -1;

	assert_ok(store_prepare(s, sql, &st, &err), &err);
	if (store_step(st, &err) == STORE_ROW)
		v = store_col_int(st, 0);
	else
		fail_msg("no row from %s: %s", sql, err.msg);
	store_done(st);
	return v;
}

/* A digest of every column of every row of a table, in id order. */
static uint64_t digest(struct store *s, const char *table)
{
	char sql[128];
	struct store_stmt *st;
	struct err err = {0};
	uint64_t h = 14695981039346656037ull;
	int i, n;

	snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY id", table);
	assert_ok(store_prepare(s, sql, &st, &err), &err);
	while (store_step(st, &err) == STORE_ROW) {
		n = store_col_count(st);
		for (i = 0; i < n; i++) {
			const char *t = store_col_text(st, i);
			unsigned char type = (unsigned char)store_col_type(st, i);

			h = (h ^ type) * 1099511628211ull;
			for (; t && *t; t++)
				h = (h ^ (unsigned char)*t) * 1099511628211ull;
			h = (h ^ 0xff) * 1099511628211ull; /* column separator */
		}
	}
	store_done(st);
	return h;
}

static void generate(struct store *s, int64_t accounts, uint64_t seed, struct bookgen_summary *sum)
{
	struct bookgen_opts o;
	struct err err = {0};

	bookgen_opts_init(&o);
	o.accounts = accounts;
	o.seed = seed;
	assert_ok(bookgen_generate(s, &o, sum, &err), &err);
}

static void test_same_seed_same_book(void **state)
{
	struct testdb a, b, c;
	struct bookgen_summary sa, sb, sc;
	static const char *const tables[] = {"account", "contact", "signal"};
	int i;

	(void)state;
	testutil_store_open(&a);
	testutil_store_open(&b);
	testutil_store_open(&c);
	generate(a.s, 600, 42, &sa);
	generate(b.s, 600, 42, &sb);
	generate(c.s, 600, 43, &sc);
	assert_int_equal(sa.accounts, 600);
	assert_int_equal(sa.contacts, sb.contacts);
	assert_int_equal(sa.signals, sb.signals);
	for (i = 0; i < 3; i++) {
		uint64_t da = digest(a.s, tables[i]), db = digest(b.s, tables[i]);

		if (da != db)
			fail_msg("table %s differs between two runs with the same seed", tables[i]);
		if (digest(c.s, tables[i]) == da)
			fail_msg("table %s is the same with another seed", tables[i]);
	}
	assert_int_equal(q_int(a.s, "SELECT count(*) FROM account"), 600);
	assert_int_equal(q_int(a.s, "SELECT count(*) FROM contact"), sa.contacts);
	assert_int_equal(q_int(a.s, "SELECT count(*) FROM signal"), sa.signals);
	/* even updated_at: nothing depends on the clock */
	assert_int_equal(
	    q_int(a.s, "SELECT count(*) FROM account WHERE updated_at<>'" BOOKGEN_EPOCH "'"), 0);
	testutil_store_close(&a);
	testutil_store_close(&b);
	testutil_store_close(&c);
}

/* A bigger book with the same seed starts with the smaller one: ids stay
 * put when someone asks for more accounts. */
static void test_smaller_book_is_a_prefix(void **state)
{
	struct testdb a, b;
	struct bookgen_summary sa, sb;

	(void)state;
	testutil_store_open(&a);
	testutil_store_open(&b);
	generate(a.s, 150, 9, &sa);
	generate(b.s, 400, 9, &sb);
	assert_true(sb.contacts > sa.contacts);
	assert_ok(store_exec(b.s,
			     "DELETE FROM signal WHERE account_id>'A0000150';"
			     "DELETE FROM contact WHERE account_id>'A0000150';"
			     "DELETE FROM account WHERE id>'A0000150'",
			     &(struct err){0}),
		  &(struct err){0});
	assert_true(digest(a.s, "account") == digest(b.s, "account"));
	assert_true(digest(a.s, "contact") == digest(b.s, "contact"));
	assert_true(digest(a.s, "signal") == digest(b.s, "signal"));
	testutil_store_close(&a);
	testutil_store_close(&b);
}

/* share of accounts matching a condition, in per cent */
static double pct(struct store *s, const char *where)
{
	char sql[512];
	int64_t n = q_int(s, "SELECT count(*) FROM account");

	snprintf(sql, sizeof sql, "SELECT count(*) FROM account WHERE %s", where);
	return 100.0 * (double)q_int(s, sql) / (double)n;
}

#define assert_between(v, lo, hi, what)                                                            \
	do {                                                                                       \
		double v_ = (v);                                                                   \
		if (v_ < (lo) || v_ > (hi))                                                        \
			fail_msg("%s: %.2f is outside %.2f..%.2f", what, v_, (double)(lo),         \
				 (double)(hi));                                                    \
	} while (0)

static void check_distributions(struct store *s)
{
	int64_t n = q_int(s, "SELECT count(*) FROM account");
	int64_t nc = q_int(s, "SELECT count(*) FROM contact");

	assert_between(pct(s, "segment='smb'"), 55, 65, "smb");
	assert_between(pct(s, "segment='mid-market'"), 25, 35, "mid-market");
	assert_between(pct(s, "segment='enterprise'"), 7, 13, "enterprise");
	assert_between(pct(s, "region='NA'"), 40, 50, "NA");
	assert_between(pct(s, "region='EMEA'"), 25, 35, "EMEA");
	assert_between(pct(s, "region='APAC'"), 11, 19, "APAC");
	assert_between(pct(s, "region='LATAM'"), 7, 13, "LATAM");
	assert_between(pct(s, "tier=1"), 3, 7, "tier 1");
	assert_between(pct(s, "tier=2"), 12, 18, "tier 2");
	assert_between(pct(s, "tier=3"), 30, 40, "tier 3");
	assert_between(pct(s, "tier=4"), 40, 50, "tier 4");
	assert_between(pct(s, "tier=1 AND segment='enterprise'") / pct(s, "segment='enterprise'"),
		       0.12, 0.30, "tier 1 share of enterprise");
	assert_between(pct(s, "lifecycle='prospect'"), 70, 82, "prospects");
	assert_between(pct(s, "lifecycle='customer'"), 12, 18, "customers");
	assert_between(pct(s, "lifecycle='former_customer'"), 3, 7, "former customers");
	assert_between(pct(s, "lifecycle='competitor'"), 0.7, 2.5, "competitors");
	assert_between(pct(s, "lifecycle='partner'"), 0.5, 4, "partners");
	assert_between(pct(s, "do_not_contact=1"), 1.5, 4.5, "accounts do not contact");
	assert_between(100.0 *
			   (double)q_int(s, "SELECT count(*) FROM contact WHERE do_not_contact=1") /
			   (double)nc,
		       1, 3.5, "contacts do not contact");
	assert_between(100.0 *
			   (double)q_int(s, "SELECT count(*) FROM contact WHERE unsubscribed=1") /
			   (double)nc,
		       1.5, 4.5, "contacts unsubscribed");
	assert_between((double)nc / (double)n, 1.8, 3.5, "contacts per account");
	assert_int_equal(q_int(s, "SELECT count(DISTINCT owner) FROM account"), 12);
	assert_true(q_int(s, "SELECT count(DISTINCT industry) FROM account") >= 10);
	/* every account has a source; customers, and only they, have ARR and a
	 * renewal date */
	assert_int_equal(q_int(s, "SELECT count(*) FROM account WHERE"
				  " json_extract(custom,'$.source') IS NULL"
				  " OR json_extract(custom,'$.country') IS NULL"),
			 0);
	assert_int_equal(q_int(s, "SELECT count(*) FROM account WHERE (lifecycle='customer') <>"
				  " (arr IS NOT NULL AND arr>0"
				  "  AND json_extract(custom,'$.renewal_date') > '2026-11-01')"),
			 0);
	/* sizes per segment, and ARR grows with them */
	assert_int_equal(q_int(s, "SELECT count(*) FROM account WHERE employees IS NULL OR NOT"
				  " CASE segment WHEN 'smb' THEN employees BETWEEN 5 AND 199"
				  " WHEN 'mid-market' THEN employees BETWEEN 200 AND 1999"
				  " ELSE employees BETWEEN 2000 AND 80000 END"),
			 0);
	assert_true(q_int(s, "SELECT avg(arr) FROM account WHERE segment='smb'") * 3 <
		    q_int(s, "SELECT avg(arr) FROM account WHERE segment='mid-market'"));
	assert_true(q_int(s, "SELECT avg(arr) FROM account WHERE segment='mid-market'") * 3 <
		    q_int(s, "SELECT avg(arr) FROM account WHERE segment='enterprise'"));
	/* signals: every kind, 0-6 per account, a fair share of accounts quiet */
	assert_int_equal(q_int(s, "SELECT count(DISTINCT kind) FROM signal WHERE kind IN"
				  " ('hiring','funding','intent','usage','news','tech_install')"),
			 6);
	assert_int_equal(q_int(s, "SELECT count(DISTINCT kind) FROM signal"), 6);
	assert_true(q_int(s, "SELECT max(n) FROM (SELECT count(*) n FROM signal GROUP BY"
			     " account_id)") <= 6);
	assert_between(pct(s, "id NOT IN (SELECT account_id FROM signal)"), 15, 40,
		       "accounts without signals");
	assert_int_equal(q_int(s, "SELECT count(*) FROM signal WHERE kind='usage' AND account_id"
				  " NOT IN (SELECT id FROM account WHERE lifecycle IN"
				  " ('customer','partner'))"),
			 0);
	assert_int_equal(q_int(s, "SELECT count(*) FROM signal WHERE detail IS NULL OR"
				  " length(detail)<15 OR observed_at>='2026-11-01'"
				  " OR observed_at<'2026-08-01'"),
			 0);
}

static void test_distributions(void **state)
{
	struct testdb t;
	struct err err = {0};

	(void)state;
	testutil_store_open(&t);
	assert_ok(bookgen_generate(t.s, NULL, NULL, &err), &err); /* the defaults */
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM account"), BOOKGEN_DEFAULT_ACCOUNTS);
	check_distributions(t.s);
	testutil_store_close(&t);
	/* not the luck of one seed */
	testutil_store_open(&t);
	generate(t.s, 4000, 2, NULL);
	check_distributions(t.s);
	testutil_store_close(&t);
}

static void test_everything_points_somewhere(void **state)
{
	struct testdb t;
	struct bookgen_summary sum;
	struct err err = {0};

	(void)state;
	testutil_store_open(&t);
	generate(t.s, 1500, 5, &sum);
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM contact WHERE account_id NOT IN"
				    " (SELECT id FROM account)"),
			 0);
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM signal WHERE account_id NOT IN"
				    " (SELECT id FROM account)"),
			 0);
	/* every account has 1-5 contacts, each at the account's domain */
	assert_int_equal(q_int(t.s, "SELECT count(DISTINCT account_id) FROM contact"), 1500);
	assert_true(q_int(t.s, "SELECT max(n) FROM (SELECT count(*) n FROM contact GROUP BY"
			       " account_id)") <= 5);
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM contact c JOIN account a ON"
				    " a.id=c.account_id WHERE c.email NOT LIKE '_%@' || a.domain"),
			 0);
	/* no two accounts share a domain, no two contacts an address */
	assert_int_equal(q_int(t.s, "SELECT count(DISTINCT domain) FROM account"), 1500);
	assert_int_equal(q_int(t.s, "SELECT count(DISTINCT email) FROM contact"), sum.contacts);
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM account WHERE name IS NULL OR"
				    " length(name)<4 OR domain NOT LIKE '%.%'"),
			 0);
	assert_ok(store_integrity_check(t.s, &err), &err);
	testutil_store_close(&t);
}

static void test_refuses_a_book_with_accounts(void **state)
{
	struct testdb t;
	struct err err = {0};
	json_t *rec = json_pack("{s:s,s:s}", "id", "X1", "name", "Mine");

	(void)state;
	testutil_store_open(&t);
	assert_ok(book_insert(t.s, BOOK_ACCOUNT, rec, &err), &err);
	json_decref(rec);
	assert_int_equal(bookgen_generate(t.s, NULL, NULL, &err), AIRLOCK_EEXIST);
	assert_non_null(strstr(err.msg, "already holds 1 account;"));
	assert_non_null(strstr(err.msg, t.path));
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM account"), 1);
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM contact"), 0);
	assert_false(store_in_transaction(t.s));
	testutil_store_close(&t);

	/* a generated book is refused too */
	testutil_store_open(&t);
	generate(t.s, 10, 1, NULL);
	assert_int_equal(bookgen_generate(t.s, NULL, NULL, &err), AIRLOCK_EEXIST);
	assert_non_null(strstr(err.msg, "already holds 10 accounts;"));
	testutil_store_close(&t);
}

static void test_bad_options(void **state)
{
	struct testdb t;
	struct bookgen_opts o;
	struct err err = {0};

	(void)state;
	testutil_store_open(&t);
	bookgen_opts_init(&o);
	o.accounts = 0;
	assert_int_equal(bookgen_generate(t.s, &o, NULL, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "accounts: 0 is outside 1..1000000"));
	o.accounts = BOOKGEN_MAX_ACCOUNTS + 1;
	assert_int_equal(bookgen_generate(t.s, &o, NULL, &err), AIRLOCK_EINVAL);
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM account"), 0);
	testutil_store_close(&t);
}

struct calls {
	int n;
	int64_t last_done, total;
	int monotonic;
};

static void on_progress(void *ctx, int64_t done, int64_t total)
{
	struct calls *c = ctx;

	if (done <= c->last_done)
		c->monotonic = 0;
	c->n++;
	c->last_done = done;
	c->total = total;
}

static void test_progress_and_caller_transaction(void **state)
{
	struct testdb t;
	struct bookgen_opts o;
	struct calls c = {0, 0, 0, 1};
	struct err err = {0};

	(void)state;
	testutil_store_open(&t);
	bookgen_opts_init(&o);
	o.accounts = 2500;
	o.progress = on_progress;
	o.progress_ctx = &c;
	/* inside the caller's transaction: the caller decides */
	assert_ok(store_begin(t.s, &err), &err);
	assert_ok(bookgen_generate(t.s, &o, NULL, &err), &err);
	store_rollback(t.s);
	assert_int_equal(q_int(t.s, "SELECT count(*) FROM account"), 0);
	assert_int_equal(c.n, 3); /* 1000, 2000, 2500 */
	assert_int_equal(c.last_done, 2500);
	assert_int_equal(c.total, 2500);
	assert_true(c.monotonic);
	testutil_store_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_seed_same_book),
	    cmocka_unit_test(test_smaller_book_is_a_prefix),
	    cmocka_unit_test(test_distributions),
	    cmocka_unit_test(test_everything_points_somewhere),
	    cmocka_unit_test(test_refuses_a_book_with_accounts),
	    cmocka_unit_test(test_bad_options),
	    cmocka_unit_test(test_progress_and_caller_transaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
