/* test_console.c — the console's accounts and notifications: password
 * hashing, sessions, CSRF tokens, roles, one-time links, the sign-in rate
 * limit, and the notification outbox and its webhook body. The HTTP side is
 * driven end to end by tests/e2e/console_api.sh and console_browser.sh. */
#include "testutil.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <time.h>

#include "notify.h"
#include "policy.h"
#include "console_int.h"
#include "reviewer.h"

static void at(long t)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%ld", t);
	setenv("AIRLOCK_NOW", buf, 1);
}

static int setup(void **state)
{
	static struct testdb t;

	/* the cheapest Argon2id: the tests check behaviour, not cost */
	reviewer_pwhash_opslimit = crypto_pwhash_OPSLIMIT_MIN;
	reviewer_pwhash_memlimit = crypto_pwhash_MEMLIMIT_MIN;
	at(1800000000);
	testutil_store_open(&t);
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	testutil_store_close(*state);
	unsetenv("AIRLOCK_NOW");
	return 0;
}

static struct store *S(void **state)
{
	return ((struct testdb *)*state)->s;
}

static int64_t count(struct store *s, const char *sql)
{
	struct store_stmt *st;
	struct err err = {0};
	int64_t n = -1;

	assert_ok(store_prepare(s, sql, &st, &err), &err);
	if (store_step(st, &err) == STORE_ROW)
		n = store_col_int(st, 0);
	store_done(st);
	return n;
}

static void test_roles_and_names(void **state)
{
	enum reviewer_role r;
	struct err err = {0};

	(void)state;
	assert_ok(reviewer_role_parse("admin", &r, &err), &err);
	assert_int_equal(r, REVIEWER_ADMIN);
	assert_int_equal(reviewer_role_parse("boss", &r, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "viewer, reviewer or admin"));
	assert_true(reviewer_role_allows(REVIEWER_ADMIN, REVIEWER_REVIEWER));
	assert_true(reviewer_role_allows(REVIEWER_REVIEWER, REVIEWER_VIEWER));
	assert_false(reviewer_role_allows(REVIEWER_VIEWER, REVIEWER_REVIEWER));
	assert_false(reviewer_role_allows(REVIEWER_REVIEWER, REVIEWER_ADMIN));
	assert_true(reviewer_name_valid("maria.lopez@acme"));
	assert_false(reviewer_name_valid(""));
	assert_false(reviewer_name_valid("a b"));
	assert_false(reviewer_name_valid("<script>"));
	assert_false(reviewer_name_valid("x:y"));
}

static void test_password_is_hashed_with_argon2id(void **state)
{
	struct store *s = S(state);
	struct reviewer_session rs;
	struct err err = {0};

	assert_ok(reviewer_add(s, "alice", REVIEWER_REVIEWER, "correct horse", "human:root", &err),
		  &err);
	assert_int_equal(count(s, "SELECT count(*) FROM reviewer WHERE pw_hash LIKE '$argon2id$%'"),
			 1);
	assert_int_equal(count(s, "SELECT count(*) FROM reviewer WHERE pw_hash LIKE '%horse%'"), 0);
	assert_ok(reviewer_login_password(s, "alice", "correct horse", &rs, &err), &err);
	assert_string_equal(rs.principal, "human:alice");
	assert_int_equal(rs.role, REVIEWER_REVIEWER);
	assert_int_equal(strlen(rs.id), 64);
	assert_int_equal(strlen(rs.csrf), 64);
	assert_int_equal(reviewer_login_password(s, "alice", "correct horsE", &rs, &err),
			 AIRLOCK_EDENIED);
	assert_string_equal(err.msg, "wrong name or password");
	assert_int_equal(reviewer_login_password(s, "nobody", "correct horse", &rs, &err),
			 AIRLOCK_EDENIED);
	assert_string_equal(err.msg, "wrong name or password");
	assert_int_equal(rs.id[0], '\0');
	assert_int_equal(reviewer_add(s, "alice", REVIEWER_ADMIN, "another one", NULL, &err),
			 AIRLOCK_EEXIST);
	assert_int_equal(reviewer_add(s, "bob", REVIEWER_VIEWER, "short", NULL, &err),
			 AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "shorter than 8"));
	assert_int_equal(reviewer_add(s, "bad name", REVIEWER_VIEWER, "long enough", NULL, &err),
			 AIRLOCK_EINVAL);
	assert_int_equal(count(s, "SELECT count(*) FROM reviewer"), 1);
}

static void test_sessions_store_only_hashes_and_expire(void **state)
{
	struct store *s = S(state);
	struct reviewer_session rs, got;
	struct err err = {0};
	struct store_stmt *st;
	char id[REVIEWER_SECRET_HEX];

	assert_ok(reviewer_add(s, "carol", REVIEWER_ADMIN, "carol's secret", "t", &err), &err);
	assert_ok(reviewer_login_password(s, "carol", "carol's secret", &rs, &err), &err);
	assert_ok(
	    store_prepare(s, "SELECT count(*) FROM reviewer_session WHERE id_hash=?1", &st, &err),
	    &err);
	store_bind_text(st, 1, rs.id);
	assert_int_equal(store_step(st, &err), STORE_ROW);
	assert_int_equal(store_col_int(st, 0), 0); /* the id itself is not stored */
	store_done(st);
	assert_ok(reviewer_session_get(s, rs.id, &got, &err), &err);
	assert_string_equal(got.name, "carol");
	assert_int_equal(got.role, REVIEWER_ADMIN);
	assert_string_equal(got.csrf, rs.csrf);
	snprintf(id, sizeof id, "%s", rs.id);
	id[0] = id[0] == 'a' ? 'b' : 'a';
	assert_int_equal(reviewer_session_get(s, id, &got, &err), AIRLOCK_EDENIED);
	assert_int_equal(reviewer_session_get(s, "", &got, &err), AIRLOCK_EDENIED);
	assert_int_equal(reviewer_session_get(s, "not-hex-at-all", &got, &err), AIRLOCK_EDENIED);
	assert_int_equal(reviewer_session_get(s, NULL, &got, &err), AIRLOCK_EDENIED);
	/* 12 hours later the session is over */
	at(1800000000 + REVIEWER_SESSION_SECONDS - 1);
	assert_ok(reviewer_session_get(s, rs.id, &got, &err), &err);
	at(1800000000 + REVIEWER_SESSION_SECONDS);
	assert_int_equal(reviewer_session_get(s, rs.id, &got, &err), AIRLOCK_EDENIED);
	at(1800000000);
	/* sign out */
	assert_ok(reviewer_session_end(s, rs.id, &err), &err);
	assert_int_equal(reviewer_session_get(s, rs.id, &got, &err), AIRLOCK_EDENIED);
	assert_ok(reviewer_session_end(s, "garbage", &err), &err);
}

static void test_csrf_token(void **state)
{
	struct store *s = S(state);
	struct reviewer_session rs, other;
	struct err err = {0};
	char bad[REVIEWER_SECRET_HEX];

	assert_ok(reviewer_add(s, "dan", REVIEWER_REVIEWER, "dan-password", "t", &err), &err);
	assert_ok(reviewer_login_password(s, "dan", "dan-password", &rs, &err), &err);
	assert_ok(reviewer_login_password(s, "dan", "dan-password", &other, &err), &err);
	assert_true(reviewer_csrf_ok(&rs, rs.csrf));
	assert_false(reviewer_csrf_ok(&rs, other.csrf)); /* one token per session */
	assert_false(reviewer_csrf_ok(&rs, NULL));
	assert_false(reviewer_csrf_ok(&rs, ""));
	snprintf(bad, sizeof bad, "%s", rs.csrf);
	bad[63] = bad[63] == '0' ? '1' : '0';
	assert_false(reviewer_csrf_ok(&rs, bad));
	bad[63] = '\0';
	assert_false(reviewer_csrf_ok(&rs, bad));
}

static void test_rate_limit_per_name(void **state)
{
	struct store *s = S(state);
	struct reviewer_session rs;
	struct err err = {0};
	int i;

	assert_ok(reviewer_add(s, "eve", REVIEWER_VIEWER, "eve-password", "t", &err), &err);
	assert_ok(reviewer_add(s, "fay", REVIEWER_VIEWER, "fay-password", "t", &err), &err);
	for (i = 0; i < REVIEWER_FAILURES_PER_MINUTE; i++)
		assert_int_equal(reviewer_login_password(s, "eve", "guess", &rs, &err),
				 AIRLOCK_EDENIED);
	/* now even the right password is refused for the rest of the minute */
	assert_int_equal(reviewer_login_password(s, "eve", "eve-password", &rs, &err),
			 AIRLOCK_EBUSY);
	assert_non_null(strstr(err.msg, "too many failed sign-ins for 'eve'"));
	/* another name is not affected */
	assert_ok(reviewer_login_password(s, "fay", "fay-password", &rs, &err), &err);
	/* unknown names are limited too, so they cannot be told apart */
	for (i = 0; i < REVIEWER_FAILURES_PER_MINUTE; i++)
		reviewer_login_password(s, "ghost", "guess", &rs, &err);
	assert_int_equal(reviewer_login_password(s, "ghost", "guess", &rs, &err), AIRLOCK_EBUSY);
	at(1800000000 + 61);
	assert_ok(reviewer_login_password(s, "eve", "eve-password", &rs, &err), &err);
	at(1800000000);
}

/* 40 wrong passwords for one name at the same moment, each on its own
 * connection (the way several processes or threads try): the limit holds
 * exactly. Before, each read the count before any had written its failure
 * (40 tries recorded 8 failures against a limit of 5, and every one of the
 * 40 had its password checked). */
#define RACERS 40
struct racer {
	const char *path;
	pthread_barrier_t *go;
	int rc;
};

static void *race_login(void *arg)
{
	struct racer *r = arg;
	struct reviewer_session rs;
	struct err err = {0};
	struct store *s = NULL;

	r->rc = store_open(&s, r->path, &err);
	pthread_barrier_wait(r->go);
	if (!r->rc)
		r->rc = reviewer_login_password(s, "ida", "wrong-guess", &rs, &err);
	store_close(s);
	return NULL;
}

static void test_rate_limit_per_name_holds_under_a_race(void **state)
{
	struct testdb *t = *state;
	struct reviewer_session rs;
	struct err err = {0};
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t go;
	int i, denied = 0, busy = 0;

	assert_ok(reviewer_add(t->s, "ida", REVIEWER_VIEWER, "ida-password", "t", &err), &err);
	pthread_barrier_init(&go, NULL, RACERS);
	for (i = 0; i < RACERS; i++) {
		r[i] = (struct racer){t->path, &go, 0};
		assert_int_equal(pthread_create(&th[i], NULL, race_login, &r[i]), 0);
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		denied += r[i].rc == AIRLOCK_EDENIED;
		busy += r[i].rc == AIRLOCK_EBUSY;
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(denied, REVIEWER_FAILURES_PER_MINUTE);
	assert_int_equal(busy, RACERS - REVIEWER_FAILURES_PER_MINUTE);
	assert_int_equal(count(t->s, "SELECT count(*) FROM reviewer_failure WHERE name='ida'"),
			 REVIEWER_FAILURES_PER_MINUTE);
	assert_int_equal(reviewer_login_password(t->s, "ida", "ida-password", &rs, &err),
			 AIRLOCK_EBUSY);
}

/* A spray of names leaves at most a minute of rows behind, and a right
 * password takes its counted attempt back (ten good sign-ins a minute are
 * not a lockout). */
static void test_failure_rows_are_bounded(void **state)
{
	struct store *s = S(state);
	struct reviewer_session rs;
	struct err err = {0};
	char name[32];
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "spray%d", i);
		assert_int_equal(reviewer_login_password(s, name, "guess", &rs, &err),
				 AIRLOCK_EDENIED);
	}
	assert_int_equal(count(s, "SELECT count(*) FROM reviewer_failure"), 50);
	at(1800000000 + 61);
	assert_int_equal(reviewer_login_password(s, "spray-late", "guess", &rs, &err),
			 AIRLOCK_EDENIED);
	assert_int_equal(count(s, "SELECT count(*) FROM reviewer_failure"), 1);
	assert_ok(reviewer_add(s, "jo", REVIEWER_VIEWER, "jo-password", "t", &err), &err);
	for (i = 0; i < 2 * REVIEWER_FAILURES_PER_MINUTE; i++)
		assert_ok(reviewer_login_password(s, "jo", "jo-password", &rs, &err), &err);
	assert_int_equal(count(s, "SELECT count(*) FROM reviewer_failure WHERE name='jo'"), 0);
	at(1800000000);
}

/* Sign-in attempts per address: counted per IPv4 address and per IPv6 /64
 * (a host picks freely inside its /64), in a table of fixed size that a
 * spray of addresses cannot grow, nor use to reset a limited address. */
static void test_signins_per_address(void **state)
{
	struct console_pool *p;
	struct err err = {0};
	char addr[64];
	int i;

	assert_ok(console_pool_new(&p, ((struct testdb *)*state)->path, 3, &err), &err);
	for (i = 0; i < 3; i++)
		assert_true(console_pool_admit(p, "10.0.0.1"));
	assert_false(console_pool_admit(p, "10.0.0.1"));
	assert_true(console_pool_admit(p, "10.0.0.2"));
	for (i = 0; i < 3; i++)
		assert_true(console_pool_admit(p, "2001:db8::1"));
	assert_false(console_pool_admit(p, "2001:db8::ffff:1"));
	assert_true(console_pool_admit(p, "2001:db8:0:1::1"));
	for (i = 0; i < 20000; i++) {
		snprintf(addr, sizeof addr, "172.%d.%d.%d", 16 + (i >> 16), (i >> 8) & 255, i & 255);
		assert_true(console_pool_admit(p, addr));
	}
	/* and the spray made room with addresses that had tries left: the two
	 * that used theirs are still refused (before, the table forgot the
	 * oldest minute first, theirs, and a spray reset their limits) */
	assert_false(console_pool_admit(p, "10.0.0.1"));
	assert_false(console_pool_admit(p, "2001:db8::2"));
	console_pool_free(p);
}

static void test_login_link_once(void **state)
{
	struct store *s = S(state);
	struct reviewer_session rs;
	struct err err = {0};
	char tok[REVIEWER_SECRET_HEX], tok2[REVIEWER_SECRET_HEX];

	assert_ok(reviewer_add(s, "gus", REVIEWER_REVIEWER, NULL, "t", &err), &err);
	/* a link-only reviewer has no password to guess */
	assert_int_equal(reviewer_login_password(s, "gus", "", &rs, &err), AIRLOCK_EDENIED);
	assert_ok(reviewer_link_create(s, "gus", tok, &err), &err);
	assert_int_equal(strlen(tok), 64);
	assert_ok(reviewer_login_link(s, tok, &rs, &err), &err);
	assert_string_equal(rs.principal, "human:gus");
	assert_int_equal(reviewer_login_link(s, tok, &rs, &err), AIRLOCK_EDENIED);
	assert_non_null(strstr(err.msg, "used, expired or unknown"));
	assert_ok(reviewer_link_create(s, "gus", tok2, &err), &err);
	at(1800000000 + REVIEWER_LINK_SECONDS + 1);
	assert_int_equal(reviewer_login_link(s, tok2, &rs, &err), AIRLOCK_EDENIED);
	at(1800000000);
	assert_int_equal(reviewer_link_create(s, "nobody", tok, &err), AIRLOCK_ENOTFOUND);
	assert_int_equal(reviewer_login_link(s, "zz", &rs, &err), AIRLOCK_EDENIED);
}

static void test_remove_ends_sessions_and_links(void **state)
{
	struct store *s = S(state);
	struct reviewer_session rs, got;
	struct err err = {0};
	char tok[REVIEWER_SECRET_HEX];
	json_t *list;

	assert_ok(reviewer_add(s, "hal", REVIEWER_REVIEWER, "hal-password", "t", &err), &err);
	assert_ok(reviewer_login_password(s, "hal", "hal-password", &rs, &err), &err);
	assert_ok(reviewer_link_create(s, "hal", tok, &err), &err);
	assert_ok(reviewer_remove(s, "hal", &err), &err);
	assert_int_equal(reviewer_session_get(s, rs.id, &got, &err), AIRLOCK_EDENIED);
	assert_int_equal(reviewer_login_link(s, tok, &got, &err), AIRLOCK_EDENIED);
	assert_int_equal(reviewer_login_password(s, "hal", "hal-password", &got, &err),
			 AIRLOCK_EDENIED);
	assert_int_equal(reviewer_remove(s, "hal", &err), AIRLOCK_ENOTFOUND);
	assert_ok(reviewer_list(s, &list, &err), &err);
	assert_int_equal(json_array_size(list), 1);
	assert_non_null(json_string_value(json_object_get(json_array_get(list, 0), "disabled_at")));
	json_decref(list);
	/* added again: a fresh credential, and a role of its own */
	assert_ok(reviewer_add(s, "hal", REVIEWER_VIEWER, "new-password", "t", &err), &err);
	assert_ok(reviewer_login_password(s, "hal", "new-password", &got, &err), &err);
	assert_int_equal(got.role, REVIEWER_VIEWER);
}

static void test_notify_enqueue_once_and_only_with_a_webhook(void **state)
{
	struct store *s = S(state);
	struct policy p;
	struct err err = {0};

	memset(&p, 0, sizeof p);
	assert_ok(notify_batch(s, &p, 7, "blocked", "retier", "agent:x", "update", 300, &err),
		  &err);
	assert_ok(notify_batch(s, NULL, 7, "blocked", "retier", "agent:x", "update", 300, &err),
		  &err);
	assert_int_equal(count(s, "SELECT count(*) FROM notify"), 0);
	p.notify.webhook = "http://127.0.0.1:9/hook";
	assert_ok(notify_batch(s, &p, 7, "blocked", "retier", "agent:x", "update", 300, &err),
		  &err);
	assert_ok(notify_batch(s, &p, 7, "blocked", "retier", "agent:x", "update", 300, &err),
		  &err);
	assert_ok(notify_batch(s, &p, 8, "blocked", "send", "agent:m", "send", 3, &err), &err);
	assert_ok(notify_batch(s, &p, 9, "sampled", "retier", "agent:x", "update", 40, &err), &err);
	assert_ok(notify_batch(s, &p, 9, "applied", "retier", "agent:x", "update", 40, &err), &err);
	assert_int_equal(count(s, "SELECT count(*) FROM notify"), 3);
	assert_int_equal(
	    count(s, "SELECT count(*) FROM notify WHERE ref='batch:7:blocked' AND"
		     " url='/b/7' AND kind='batch_blocked' AND state='pending' AND"
		     " text LIKE '%batch 7 (retier, agent:x, 300 record(s)) is blocked%'"),
	    1);
	assert_int_equal(count(s,
			       "SELECT count(*) FROM notify WHERE kind='send_blocked' AND"
			       " text LIKE '%send of 3 message(s) by agent:m waits for approval%'"),
			 1);
}

static void test_notify_body_is_slack_json_and_escaped(void **state)
{
	char *b = notify_body("batch 3 <b>&</b> waits", "http://x:1/#/batch/3");
	json_t *j;
	const char *md;

	(void)state;
	assert_non_null(b);
	j = json_loads(b, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "text")),
			    "batch 3 &lt;b&gt;&amp;&lt;/b&gt; waits: http://x:1/#/batch/3");
	md = json_string_value(json_object_get(
	    json_object_get(json_array_get(json_object_get(j, "blocks"), 1), "text"), "text"));
	assert_non_null(md);
	assert_non_null(strstr(md, "<http://x:1/#/batch/3|Open in the airlock console>"));
	json_decref(j);
	free(b);
}

/* An agent names itself or its workflow so that the channel is pinged, a
 * link is forged, text is bolded or a terminal-reading bot is steered: the
 * post carries its text only where Slack formats nothing. */
static void test_notify_body_neutralises_agent_text(void **state)
{
	const char *hostile = "batch 4 by agent:<!channel> <http://evil.example|the console> "
			      "*URGENT* _approve_ ~now~ `x` & \x1b]8;;http://e\x07"
			      "\xe2\x80\xae";
	char *b;
	json_t *j, *blk, *blocks;
	const char *fallback, *plain, *md;
	size_t i;

	(void)state;
	b = notify_body(hostile, "http://x:1/#/batch/4");
	assert_non_null(b);
	assert_null(strchr(b, 0x1b));
	assert_null(strstr(b, "\xe2\x80\xae"));
	j = json_loads(b, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "mrkdwn")));
	fallback = json_string_value(json_object_get(j, "text"));
	assert_non_null(fallback);
	assert_null(strchr(fallback, '<'));
	assert_null(strstr(fallback, "<!channel>"));
	assert_non_null(strstr(fallback, "&lt;!channel&gt;"));
	assert_non_null(strstr(fallback, "\\e]8;;http://e\\x07\\u202e"));
	blocks = json_object_get(j, "blocks");
	blk = json_object_get(json_array_get(blocks, 0), "text");
	assert_string_equal(json_string_value(json_object_get(blk, "type")), "plain_text");
	assert_true(json_is_false(json_object_get(blk, "emoji")));
	plain = json_string_value(json_object_get(blk, "text"));
	assert_non_null(strstr(plain, "<!channel> <http://evil.example|the console> *URGENT*"));
	assert_non_null(strstr(plain, "\\e]8;;http://e\\x07\\u202e"));
	/* the only mrkdwn is airlock's own link */
	json_array_foreach(blocks, i, blk)
	{
		blk = json_object_get(blk, "text");
		if (strcmp(json_string_value(json_object_get(blk, "type")), "mrkdwn"))
			continue;
		md = json_string_value(json_object_get(blk, "text"));
		assert_string_equal(md, "<http://x:1/#/batch/4|Open in the airlock console>");
		assert_true(json_is_true(json_object_get(blk, "verbatim")));
	}
	json_decref(j);
	free(b);
}

static void test_notify_delivery_retries_then_fails(void **state)
{
	struct store *s = S(state);
	struct notify_config cfg = {"http://127.0.0.1:1/hook", "http://c", 2};
	struct policy p;
	struct err err = {0};
	int sent, failed, i;

	memset(&p, 0, sizeof p);
	p.notify.webhook = cfg.webhook;
	assert_ok(notify_batch(s, &p, 1, "staged", "retier", "agent:x", "update", 5, &err), &err);
	/* port 1: nothing listens; each try fails and is put off, doubling */
	assert_ok(notify_deliver_due(s, &cfg, 0, &sent, &failed, &err), &err);
	assert_int_equal(sent, 0);
	assert_int_equal(failed, 1);
	assert_int_equal(count(s, "SELECT attempts FROM notify"), 1);
	assert_int_equal(count(s, "SELECT count(*) FROM notify WHERE state='pending' AND"
				  " last_error IS NOT NULL AND next_at='2027-01-15T08:00:02Z'"),
			 1);
	/* not due yet: nothing is tried */
	assert_ok(notify_deliver_due(s, &cfg, 0, &sent, &failed, &err), &err);
	assert_int_equal(failed, 0);
	for (i = 1; i < NOTIFY_MAX_ATTEMPTS; i++) {
		at(1800000000 + 4000L * i);
		assert_ok(notify_deliver_due(s, &cfg, 0, &sent, &failed, &err), &err);
	}
	at(1800000000);
	assert_int_equal(count(s, "SELECT count(*) FROM notify WHERE state='failed'"), 1);
	assert_int_equal(count(s, "SELECT attempts FROM notify"), NOTIFY_MAX_ATTEMPTS);
	/* inside a transaction nothing is posted */
	assert_ok(store_begin(s, &err), &err);
	assert_int_equal(notify_deliver_due(s, &cfg, 0, NULL, NULL, &err), AIRLOCK_ESTATE);
	store_rollback(s);
}

/* An unknown name's password is checked against a stand-in hash. It must
 * carry a real hash's parameters (else an unknown name would answer faster
 * than a wrong password and tell names apart) and match no password; and
 * making it must not run Argon2id: that touched 64 MiB at every start of
 * airlock serve, most of its peak RSS (tests/e2e/cost.sh checks the ceiling). */
static void test_unknown_name_stand_in_hash(void **state)
{
	char dummy[crypto_pwhash_STRBYTES], real[crypto_pwhash_STRBYTES];
	unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	struct timespec a, b, c;
	double make_s, hash_s;
	const char *salt;

	(void)state;
	reviewer_pwhash_opslimit = ops;
	reviewer_pwhash_memlimit = mem;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	assert_int_equal(reviewer_dummy_hash(dummy, sizeof dummy), 0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	assert_int_equal(crypto_pwhash_str(real, "pw", 2, ops, mem), 0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
	make_s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	hash_s = (double)(c.tv_sec - b.tv_sec) + (double)(c.tv_nsec - b.tv_nsec) / 1e9;
	/* the same algorithm, version and parameters as a real hash: up to the salt */
	salt = strstr(real, "p=1$");
	assert_non_null(salt);
	assert_int_equal(strncmp(dummy, real, (size_t)(salt - real) + 4), 0);
	assert_int_equal(crypto_pwhash_str_needs_rehash(dummy, ops, mem), 0);
	assert_int_equal(strlen(dummy), strlen(real));
	assert_int_not_equal(crypto_pwhash_str_verify(dummy, "pw", 2), 0);
	assert_int_not_equal(crypto_pwhash_str_verify(dummy, "", 0), 0);
	/* two stand-ins differ (random salt and tag) */
	assert_int_equal(reviewer_dummy_hash(real, sizeof real), 0);
	assert_string_not_equal(dummy, real);
	/* no Argon2id run: a small share of one hash's CPU time */
	if (make_s * 20 >= hash_s)
		fail_msg("making the stand-in took %.4f s, one hash %.4f s", make_s, hash_s);
	/* too small a buffer is refused, not cut */
	assert_int_not_equal(reviewer_dummy_hash(dummy, 40), 0);
	reviewer_pwhash_opslimit = crypto_pwhash_OPSLIMIT_MIN;
	reviewer_pwhash_memlimit = crypto_pwhash_MEMLIMIT_MIN;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roles_and_names),
	    cmocka_unit_test(test_unknown_name_stand_in_hash),
	    cmocka_unit_test_setup_teardown(test_password_is_hashed_with_argon2id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions_store_only_hashes_and_expire, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_csrf_token, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit_per_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit_per_name_holds_under_a_race, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_failure_rows_are_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signins_per_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_link_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_ends_sessions_and_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_enqueue_once_and_only_with_a_webhook, setup,
					    teardown),
	    cmocka_unit_test(test_notify_body_is_slack_json_and_escaped),
	    cmocka_unit_test(test_notify_body_neutralises_agent_text),
	    cmocka_unit_test_setup_teardown(test_notify_delivery_retries_then_fails, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
