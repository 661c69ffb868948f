/* test_outreach.c — drafts, briefs, the audience guard at draft time and at
 * send time (the book changed in between), send requests, and the outbox
 * state machine against a relay that does not answer. Real SMTP delivery is
 * tests/e2e/outreach.sh. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "book.h"
#include "outreach.h"

static const char *const competitors[] = {"hooli.test", "@rival.test"};
static const struct outreach_audience_rules rules = {competitors, 2, 30, 2};

struct fx {
	struct testdb t;
	struct store *s;
	int dead_port;
	struct outreach_smtp smtp;
};

static void add(struct store *s, enum book_kind k, const char *json)
{
	struct err err = {0};
	json_error_t je;
	json_t *r = json_loads(json, 0, &je);

	if (!r)
		fail_msg("bad fixture json %s: %s", json, je.text);
	/* an explicit custom object: book_insert leaks the empty one it makes
	 * when a record has none (reported to the book's owner) */
	if (k != BOOK_SIGNAL && !json_object_get(r, "custom"))
		json_object_set_new(r, "custom", json_object());
	assert_ok(book_insert(s, k, r, &err), &err);
	json_decref(r);
}

static void update(struct store *s, enum book_kind k, const char *id, const char *json)
{
	struct err err = {0};
	json_t *f = json_loads(json, 0, NULL);

	assert_non_null(f);
	assert_ok(book_update(s, k, id, f, -1, NULL, &err), &err);
	json_decref(f);
}

/* A port on 127.0.0.1 where nothing listens. */
static int closed_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct store *s;

	f->s = s = testutil_store_open(&f->t);
	add(s, BOOK_ACCOUNT,
	    "{\"id\":\"a1\",\"name\":\"Acme\",\"domain\":\"acme.test\","
	    "\"segment\":\"smb\",\"region\":\"EMEA\",\"lifecycle\":\"prospect\"}");
	add(s, BOOK_ACCOUNT,
	    "{\"id\":\"a2\",\"name\":\"Globex\",\"domain\":\"globex.test\","
	    "\"segment\":\"smb\",\"lifecycle\":\"customer\"}");
	add(s, BOOK_ACCOUNT,
	    "{\"id\":\"a3\",\"name\":\"Rival\",\"domain\":\"rival.test\","
	    "\"segment\":\"smb\",\"lifecycle\":\"competitor\"}");
	add(s, BOOK_ACCOUNT,
	    "{\"id\":\"a4\",\"name\":\"Initech\",\"domain\":\"initech.test\","
	    "\"segment\":\"smb\",\"lifecycle\":\"prospect\",\"do_not_contact\":true}");
	add(s, BOOK_ACCOUNT,
	    "{\"id\":\"a5\",\"name\":\"Umbrella\",\"domain\":\"umbrella.test\","
	    "\"segment\":\"enterprise\",\"lifecycle\":\"prospect\"}");
	add(s, BOOK_ACCOUNT,
	    "{\"id\":\"a6\",\"name\":\"Hooli\",\"domain\":\"mail.hooli.test\","
	    "\"segment\":\"smb\",\"lifecycle\":\"prospect\"}");
	add(s, BOOK_CONTACT,
	    "{\"id\":\"c1\",\"account_id\":\"a1\",\"name\":\"Bob\","
	    "\"email\":\"bob@acme.test\"}");
	add(s, BOOK_CONTACT,
	    "{\"id\":\"c2\",\"account_id\":\"a1\",\"name\":\"Carol\","
	    "\"email\":\"carol@acme.test\"}");
	add(s, BOOK_CONTACT,
	    "{\"id\":\"c3\",\"account_id\":\"a1\",\"name\":\"Dave\","
	    "\"email\":\"dave@acme.test\",\"do_not_contact\":true}");
	add(s, BOOK_CONTACT,
	    "{\"id\":\"c4\",\"account_id\":\"a1\",\"name\":\"Erin\","
	    "\"email\":\"erin@acme.test\",\"unsubscribed\":true}");
	add(s, BOOK_CONTACT, "{\"id\":\"c5\",\"account_id\":\"a1\",\"name\":\"No Mail\"}");
	add(s, BOOK_CONTACT,
	    "{\"id\":\"c6\",\"account_id\":\"a1\",\"name\":\"Frank\","
	    "\"email\":\"frank@sub.rival.test\"}");
	add(s, BOOK_CONTACT,
	    "{\"id\":\"g1\",\"account_id\":\"a2\",\"name\":\"Gina\","
	    "\"email\":\"gina@globex.test\"}");
	add(s, BOOK_CONTACT, "{\"id\":\"r1\",\"account_id\":\"a3\",\"email\":\"rob@rival.test\"}");
	add(s, BOOK_CONTACT,
	    "{\"id\":\"i1\",\"account_id\":\"a4\",\"email\":\"ian@initech.test\"}");
	add(s, BOOK_CONTACT,
	    "{\"id\":\"u1\",\"account_id\":\"a5\",\"email\":\"uma@umbrella.test\"}");
	add(s, BOOK_CONTACT, "{\"id\":\"h1\",\"account_id\":\"a6\",\"email\":\"hal@ok.test\"}");
	add(s, BOOK_SIGNAL,
	    "{\"id\":\"s1\",\"account_id\":\"a1\",\"kind\":\"hiring\","
	    "\"observed_at\":\"2026-01-02\"}");
	add(s, BOOK_SIGNAL,
	    "{\"id\":\"s2\",\"account_id\":\"a2\",\"kind\":\"funding\","
	    "\"observed_at\":\"2026-01-03\"}");
	f->dead_port = closed_port();
	f->smtp.host = "127.0.0.1";
	f->smtp.port = f->dead_port;
	f->smtp.from = "Sales <sales@example.com>";
	f->smtp.timeout_seconds = 5;
	f->smtp.max_attempts = 3;
	f->smtp.retry_base_seconds = 600;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	testutil_store_close(&f->t);
	free(f);
	return 0;
}

static json_t *draft_args(const char *account, const char *contacts, const char *audience,
			  const char *workflow)
{
	json_t *c = json_loads(contacts, 0, NULL), *a;

	assert_non_null(c);
	a = json_pack("{s:s,s:o,s:s,s:s,s:s}", "account_id", account, "contacts", c, "subject",
		      "A quick question", "body", "Hi,\nwould a short call help?\n", "audience",
		      audience);
	if (workflow)
		json_object_set_new(a, "workflow", json_string(workflow));
	return a;
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

static const char *text_of(struct store *s, const char *sql, char *buf, size_t len)
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

/* The finding for rule, or NULL. */
static json_t *finding(json_t *findings, const char *rule)
{
	json_t *f;
	size_t i;

	json_array_foreach(findings, i, f)
	{
		if (!strcmp(json_string_value(json_object_get(f, "rule")), rule))
			return f;
	}
	return NULL;
}

/* Creates a draft expecting it to be refused for rule (whose message must
 * contain want), and checks nothing was stored. */
static void refused(struct fx *f, json_t *args, const char *rule, const char *want)
{
	struct err err = {0};
	json_t *res = NULL, *fi;
	int64_t before = count(f->s, "SELECT count(*) FROM draft");
	int64_t before_r = count(f->s, "SELECT count(*) FROM draft_recipient");

	assert_ok(outreach_draft_create(f->s, &rules, "agent:a", "v1", args, &res, &err), &err);
	assert_string_equal(json_string_value(json_object_get(res, "status")), "refused");
	assert_true(json_is_null(json_object_get(res, "draft_id")));
	fi = finding(json_object_get(res, "findings"), rule);
	if (!fi) {
		char *dump = json_dumps(res, JSON_INDENT(1));

		fail_msg("no %s finding in %s", rule, dump);
	}
	if (!strstr(json_string_value(json_object_get(fi, "message")), want))
		fail_msg("%s finding '%s' does not say '%s'", rule,
			 json_string_value(json_object_get(fi, "message")), want);
	assert_true(json_array_size(json_object_get(res, "reasons")) > 0);
	assert_int_equal(count(f->s, "SELECT count(*) FROM draft"), before);
	assert_int_equal(count(f->s, "SELECT count(*) FROM draft_recipient"), before_r);
	assert_false(store_in_transaction(f->s));
	json_decref(res);
	json_decref(args);
}

/* Creates a draft that must pass; returns its id (static buffer per call). */
static const char *stored(struct fx *f, json_t *args, char *id, size_t len)
{
	struct err err = {0};
	json_t *res = NULL;

	assert_ok(outreach_draft_create(f->s, &rules, "agent:a", "v1", args, &res, &err), &err);
	if (strcmp(json_string_value(json_object_get(res, "status")), "draft") != 0) {
		char *dump = json_dumps(res, JSON_INDENT(1));

		fail_msg("draft refused: %s", dump);
	}
	assert_int_equal(json_array_size(json_object_get(res, "findings")), 0);
	snprintf(id, len, "%s", json_string_value(json_object_get(res, "draft_id")));
	json_decref(res);
	json_decref(args);
	return id;
}

/* ---- draft time ------------------------------------------------------------ */

static void test_clean_draft_is_stored(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	json_t *args =
	    draft_args("a1", "[\"c1\", \"CAROL@acme.test\"]",
		       "lifecycle = prospect and segment in (smb, mid-market)", "outbound");
	json_t *res = NULL, *d = NULL;
	char buf[256];

	assert_ok(outreach_draft_create(f->s, &rules, "agent:a", "v7", args, &res, &err), &err);
	assert_string_equal(json_string_value(json_object_get(res, "status")), "draft");
	assert_int_equal(json_integer_value(json_object_get(res, "messages")), 2);
	assert_string_equal(json_string_value(json_object_get(res, "audience")),
			    "lifecycle=prospect AND segment IN (smb, mid-market)");
	/* an address resolves to the contact, ASCII case ignored */
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(res, "recipients"), 1),
					      "contact_id")),
	    "c2");
	assert_ok(
	    outreach_draft_get(f->s, json_string_value(json_object_get(res, "draft_id")), &d, &err),
	    &err);
	assert_string_equal(json_string_value(json_object_get(d, "principal")), "agent:a");
	assert_string_equal(json_string_value(json_object_get(d, "instruction_version")), "v7");
	assert_string_equal(json_string_value(json_object_get(d, "workflow")), "outbound");
	assert_string_equal(json_string_value(json_object_get(d, "body")),
			    "Hi,\nwould a short call help?\n");
	assert_int_equal(json_array_size(json_object_get(d, "recipients")), 2);
	assert_string_equal(text_of(f->s,
				    "SELECT address FROM draft_recipient WHERE contact_id='c2'",
				    buf, sizeof buf),
			    "carol@acme.test");
	/* the book did not change */
	assert_int_equal(count(f->s, "SELECT max(version) FROM account"), 1);
	assert_int_equal(count(f->s, "SELECT max(version) FROM contact"), 1);
	json_decref(d);
	json_decref(res);
	json_decref(args);
}

static void test_guard_rules_at_draft_time(void **state)
{
	struct fx *f = *state;
	const char *smb = "lifecycle=prospect AND segment=smb";

	refused(f, draft_args("a1", "[\"c1\",\"c3\"]", smb, NULL), "do_not_contact",
		"contact c3 (dave@acme.test) is marked do-not-contact");
	refused(f, draft_args("a4", "[\"i1\"]", smb, NULL), "do_not_contact",
		"account a4 (Initech) is marked do-not-contact");
	refused(f, draft_args("a1", "[\"c4\"]", smb, NULL), "unsubscribed",
		"contact c4 (erin@acme.test) has unsubscribed");
	refused(f, draft_args("a3", "[\"r1\"]", "segment=smb", NULL), "competitor",
		"is a competitor (lifecycle=competitor)");
	refused(f, draft_args("a6", "[\"h1\"]", smb, NULL), "competitor",
		"its domain mail.hooli.test is on the competitor list (hooli.test)");
	refused(f, draft_args("a1", "[\"c6\"]", smb, NULL), "competitor",
		"frank@sub.rival.test is at a competitor's domain (rival.test)");
	/* a customer: the audience aimed at prospects, or the workflow says so */
	refused(f, draft_args("a2", "[\"g1\"]", smb, NULL), "customer_prospecting",
		"account a2 (Globex) is a current customer and this draft is prospect outreach "
		"(audience lifecycle=prospect AND segment=smb)");
	refused(f, draft_args("a2", "[\"g1\"]", "segment=smb", "prospecting-q3"),
		"customer_prospecting", "(workflow prospecting-q3)");
	refused(f, draft_args("a5", "[\"u1\"]", smb, NULL), "outside_audience",
		"account a5 (Umbrella; lifecycle=prospect, segment=enterprise, region=) is outside "
		"the draft's audience: lifecycle=prospect AND segment=smb");
	refused(f, draft_args("a1", "[\"g1\"]", smb, NULL), "not_a_contact",
		"contact g1 belongs to account a2, not to account a1");
	refused(f, draft_args("a1", "[\"nobody\"]", smb, NULL), "not_a_contact",
		"there is no contact 'nobody'");
	refused(f, draft_args("a1", "[\"zed@acme.test\"]", smb, NULL), "not_a_contact",
		"zed@acme.test is not the address of any contact of account a1");
	refused(f, draft_args("a1", "[\"gina@globex.test\"]", smb, NULL), "not_a_contact",
		"gina@globex.test belongs to a contact of account a2, not of account a1");
	refused(f, draft_args("a1", "[\"c5\"]", smb, NULL), "not_a_contact",
		"contact c5 has no e-mail address");
	refused(f, draft_args("a1", "[\"c1\",\"bob@acme.test\"]", smb, NULL), "touch_window",
		"contact c1 (bob@acme.test) is listed more than once in this draft");
}

static void test_customer_outreach_that_is_not_prospecting_passes(void **state)
{
	struct fx *f = *state;
	char id[64];

	stored(f, draft_args("a2", "[\"g1\"]", "lifecycle=customer AND segment=smb", "renewal"), id,
	       sizeof id);
	stored(f, draft_args("a2", "[\"g1\"]", "lifecycle=customer", NULL), id, sizeof id);
}

/* Issue 13.12: the customer, competitor, do-not-contact and unsubscribed
 * rules are decided from the recipient's account, whatever the audience
 * expression says. Each of these audiences takes the smb customer a2 as
 * readily as it would take an smb prospect. */
static const char *const customer_reaching[] = {
    "lifecycle=prospect OR segment=smb",
    "segment=smb OR lifecycle=prospect",
    "segment=smb",
    "lifecycle=customer OR segment=smb",
    "lifecycle=customer OR lifecycle=prospect",
    "lifecycle IN (prospect, customer)",
    "lifecycle NOT IN (competitor, partner)",
    "NOT lifecycle=partner",
    "lifecycle!=competitor",
    "NOT lifecycle=prospect OR segment=smb",
    "(lifecycle=prospect OR segment=smb) AND NOT do_not_contact",
    "NOT NOT (lifecycle=prospect OR segment=smb)",
    "lifecycle=prospect OR region=\"\"",
    "lifecycle=prospect OR custom.stage!=closed",
    "(lifecycle=prospect AND segment=enterprise) OR (segment=smb AND NOT lifecycle=partner)",
    NULL,
};

static void test_customer_rule_ignores_how_the_audience_is_written(void **state)
{
	struct fx *f = *state;
	char id[64];
	int i;

	for (i = 0; customer_reaching[i]; i++)
		refused(f, draft_args("a2", "[\"g1\"]", customer_reaching[i], "renewal"),
			"customer_prospecting", "account a2 (Globex) is a current customer");
	/* an audience that selects customers by their lifecycle may reach them */
	stored(f, draft_args("a2", "[\"g1\"]", "lifecycle=customer AND (segment=smb OR region=EMEA)",
			     NULL),
	       id, sizeof id);
	stored(f, draft_args("a2", "[\"g1\"]", "lifecycle IN (customer) AND NOT lifecycle=prospect",
			     NULL),
	       id, sizeof id);
	/* the other rules hold under any audience too */
	refused(f, draft_args("a3", "[\"r1\"]", "lifecycle=prospect OR segment=smb", NULL),
		"competitor", "is a competitor (lifecycle=competitor)");
	refused(f, draft_args("a3", "[\"r1\"]", "lifecycle=competitor", NULL), "competitor",
		"is a competitor");
	refused(f, draft_args("a4", "[\"i1\"]", "do_not_contact OR segment=smb", NULL),
		"do_not_contact", "account a4 (Initech) is marked do-not-contact");
	refused(f, draft_args("a4", "[\"i1\"]", "NOT do_not_contact OR lifecycle=prospect", NULL),
		"do_not_contact", "account a4 (Initech) is marked do-not-contact");
	refused(f, draft_args("a1", "[\"c4\"]", "segment=smb OR lifecycle=customer", NULL),
		"unsubscribed", "contact c4 (erin@acme.test) has unsubscribed");
	refused(f, draft_args("a1", "[\"c3\"]", "NOT (lifecycle=competitor)", NULL),
		"do_not_contact", "contact c3 (dave@acme.test) is marked do-not-contact");
	refused(f, draft_args("a6", "[\"h1\"]", "lifecycle=prospect OR segment=smb", NULL),
		"competitor", "its domain mail.hooli.test is on the competitor list");
}

/* ... and again at send time: a prospect that became a customer after the
 * draft was approved under an OR audience is not sent to. */
static void test_customer_rule_at_send_time_under_an_or_audience(void **state);

/* Now plus seconds as the stored times are written (UTC, to the second),
 * made here so the SQL that uses it is either engine's. */
static void iso_in(char out[32], long seconds)
{
	time_t t = time(NULL) + seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	assert_true(strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
}

static void add_touches(struct store *s, const char *contact, int n, int days_ago)
{
	char sql[256], at[32];
	struct err err = {0};
	int i;

	iso_in(at, -86400L * days_ago);
	for (i = 0; i < n; i++) {
		snprintf(sql, sizeof sql, "INSERT INTO touch(contact_id,at) VALUES('%s','%s')", contact,
			 at);
		assert_ok(store_exec(s, sql, &err), &err);
	}
}

static void test_touch_window_at_draft_time(void **state)
{
	struct fx *f = *state;
	char id[64];

	add_touches(f->s, "c1", 5, 45); /* outside the 30 days */
	add_touches(f->s, "c1", 1, 3);
	stored(f, draft_args("a1", "[\"c1\"]", "segment=smb", NULL), id, sizeof id);
	add_touches(f->s, "c1", 1, 29);
	refused(
	    f, draft_args("a1", "[\"c1\"]", "segment=smb", NULL), "touch_window",
	    "contact c1 (bob@acme.test) already has 2 messages in the last 30 days (at most 2)");
	/* a rule with no window is off */
	{
		struct outreach_audience_rules off = {competitors, 2, 0, 2};
		struct err err = {0};
		json_t *res = NULL, *args = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);

		assert_ok(outreach_draft_create(f->s, &off, "agent:a", NULL, args, &res, &err),
			  &err);
		assert_string_equal(json_string_value(json_object_get(res, "status")), "draft");
		json_decref(res);
		json_decref(args);
	}
}

static void bad_args(struct fx *f, json_t *args, const char *want)
{
	struct err err = {0};
	json_t *res = (json_t *)1;
	int64_t before = count(f->s, "SELECT count(*) FROM draft");

	assert_int_equal(outreach_draft_create(f->s, &rules, "agent:a", NULL, args, &res, &err),
			 AIRLOCK_EINVAL);
	assert_null(res);
	if (strcmp(err.msg, want) != 0)
		fail_msg("got '%s'\nwanted '%s'", err.msg, want);
	assert_int_equal(count(f->s, "SELECT count(*) FROM draft"), before);
	assert_false(store_in_transaction(f->s));
	json_decref(args);
}

static void test_bad_draft_arguments(void **state)
{
	struct fx *f = *state;
	json_t *a;

	bad_args(f, draft_args("a1", "[\"c1\"]", "segment=smb AND regoin=EMEA", NULL),
		 "draft_email: audience: scope:1:17: unknown field 'regoin' (did you mean "
		 "'region'?)");
	bad_args(f, draft_args("zz", "[\"c1\"]", "segment=smb", NULL),
		 "account_id: there is no account 'zz'");
	bad_args(f, draft_args("a1", "[]", "segment=smb", NULL),
		 "draft_email: contacts must hold 1 to 50 entries (it has 0)");
	bad_args(f, draft_args("a1", "[\"c1\", 3]", "segment=smb", NULL),
		 "draft_email: contacts[2] must be a non-empty string of at most 320 bytes");
	bad_args(f, draft_args("a1", "[\"c1\", \"c1\"]", "segment=smb", NULL),
		 "draft_email: contacts[2]: 'c1' is listed twice");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_set_new(a, "subject", json_string("Hi\r\nBcc: everyone@example.com"));
	bad_args(f, a, "draft_email: subject must be a single line");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_del(a, "body");
	bad_args(f, a, "draft_email: body is required");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_set_new(a, "body", json_string("hidden \x1b[8m text"));
	bad_args(f, a, "draft_email: body contains control character 0x1b");
	/* a subject that reads backwards past a U+202E, a C1 CSI, an OSC 8 link */
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_set_new(a, "subject", json_string("Invoice \xe2\x80\xae" "fdp.exe"));
	bad_args(f, a, "draft_email: subject contains bidirectional or separator character U+202E");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_set_new(a, "body", json_string("a \xc2\x9b" "2J b"));
	bad_args(f, a, "draft_email: body contains control character U+009B");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_set_new(a, "body", json_string("see \xe2\x81\xa6here\xe2\x81\xa9"));
	bad_args(f, a, "draft_email: body contains bidirectional or separator character U+2066");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_set_new(a, "body", json_stringn("a\0b", 3));
	bad_args(f, a, "draft_email: body contains a NUL character");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_set_new(a, "cc", json_string("x@y.test"));
	bad_args(f, a,
		 "draft_email: unknown argument 'cc' (expected account_id, contacts, contact_ids, "
		 "subject, body, audience, workflow, instruction_version)");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", "bad workflow!");
	bad_args(f, a,
		 "draft_email: workflow 'bad workflow!' may hold only letters, digits, '_', '-', "
		 "'.', ':'");
	a = draft_args("a1", "[\"c1\"]", "segment=smb", NULL);
	json_object_set_new(a, "contact_ids", json_pack("[s]", "c2"));
	bad_args(f, a, "draft_email: give contacts or contact_ids, not both");
}

static void test_guard_args_stores_nothing(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	json_t *args = draft_args("a1", "[\"c1\",\"c4\"]", "segment=smb", NULL), *fi = NULL;

	assert_ok(outreach_guard_args(f->s, &rules, args, &fi, &err), &err);
	assert_int_equal(json_array_size(fi), 1);
	assert_non_null(finding(fi, "unsubscribed"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(fi, 0), "contact_id")),
			    "c4");
	assert_int_equal(count(f->s, "SELECT count(*) FROM draft"), 0);
	json_decref(fi);
	json_decref(args);
}

/* ---- briefs ------------------------------------------------------------------- */

static void test_briefs(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	json_t *res = NULL, *args, *list = NULL;
	struct outreach_filter flt = {"a1", NULL, 0};

	args = json_pack("{s:s,s:s,s:[s]}", "account_id", "a1", "text", "Acme is hiring.",
			 "evidence", "s1");
	assert_ok(outreach_brief_create(f->s, "agent:a", "v2", args, &res, &err), &err);
	assert_non_null(json_string_value(json_object_get(res, "brief_id")));
	json_decref(res);
	json_decref(args);
	args = json_pack("{s:s,s:s,s:[s]}", "account_id", "a1", "text", "x", "evidence", "s2");
	assert_int_equal(outreach_brief_create(f->s, "agent:a", NULL, args, &res, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(err.msg,
			    "save_brief: evidence[1]: signal 's2' is about account a2, not a1");
	json_decref(args);
	args = json_pack("{s:s,s:s,s:[s]}", "account_id", "a1", "text", "x", "signal_ids", "s9");
	assert_int_equal(outreach_brief_create(f->s, "agent:a", NULL, args, &res, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "save_brief: evidence[1]: there is no signal 's9'");
	json_decref(args);
	args = json_pack("{s:s,s:s}", "account_id", "nope", "text", "x");
	assert_int_equal(outreach_brief_create(f->s, "agent:a", NULL, args, &res, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "save_brief: account_id: there is no account 'nope'");
	json_decref(args);
	args = json_pack("{s:s}", "account_id", "a1");
	assert_int_equal(outreach_brief_create(f->s, "agent:a", NULL, args, &res, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "save_brief: text is required");
	json_decref(args);
	assert_ok(outreach_briefs_list(f->s, &flt, &list, &err), &err);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "text")),
			    "Acme is hiring.");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(list, 0), "instruction_version")),
	    "v2");
	json_decref(list);
	assert_false(store_in_transaction(f->s));
}

/* ---- send requests ---------------------------------------------------------------- */

static json_t *ids_of(const char *id)
{
	return json_pack("{s:[s]}", "draft_ids", id);
}

static void request_ok(struct fx *f, const char *id, int messages)
{
	struct err err = {0};
	json_t *args = ids_of(id), *res = NULL;

	assert_ok(outreach_send_request(f->s, &rules, "agent:a", NULL, args, &res, &err), &err);
	assert_string_equal(json_string_value(json_object_get(res, "status")), "send_requested");
	assert_int_equal(json_integer_value(json_object_get(res, "messages")), messages);
	json_decref(res);
	json_decref(args);
}

static void approve(struct fx *f, const char *id)
{
	struct err err = {0};
	json_t *ids = json_pack("[s]", id);

	assert_ok(outreach_send_approve(f->s, "human:rep", ids, &err), &err);
	json_decref(ids);
}

static const char *status_of(struct fx *f, const char *id, char *buf, size_t len)
{
	char sql[160];

	snprintf(sql, sizeof sql, "SELECT status FROM draft WHERE id='%s'", id);
	return text_of(f->s, sql, buf, len);
}

static void test_send_request_rules(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	json_t *args, *res = NULL;
	char id[64], id2[64], buf[64];

	stored(f, draft_args("a1", "[\"c1\",\"c2\"]", "segment=smb", NULL), id, sizeof id);
	/* another agent may not send it */
	args = ids_of(id);
	assert_int_equal(outreach_send_request(f->s, &rules, "agent:b", NULL, args, &res, &err),
			 AIRLOCK_EDENIED);
	assert_non_null(strstr(err.msg, "was made by agent:a, not by agent:b"));
	json_decref(args);
	/* unknown draft: nothing changes */
	args = json_pack("{s:[s,s]}", "draft_ids", id, "dr_nope");
	assert_int_equal(outreach_send_request(f->s, &rules, "agent:a", NULL, args, &res, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "request_send: draft_ids: there is no draft 'dr_nope'");
	assert_string_equal(status_of(f, id, buf, sizeof buf), "draft");
	json_decref(args);
	/* the book changed since drafting: refused with the finding, nothing changes */
	stored(f, draft_args("a1", "[\"c2\"]", "segment=smb", NULL), id2, sizeof id2);
	update(f->s, BOOK_CONTACT, "c2", "{\"unsubscribed\":true}");
	args = json_pack("{s:[s,s]}", "draft_ids", id, id2);
	assert_ok(outreach_send_request(f->s, &rules, "agent:a", NULL, args, &res, &err), &err);
	assert_string_equal(json_string_value(json_object_get(res, "status")), "refused");
	assert_non_null(finding(json_object_get(res, "findings"), "unsubscribed"));
	assert_string_equal(status_of(f, id, buf, sizeof buf), "draft");
	assert_string_equal(status_of(f, id2, buf, sizeof buf), "draft");
	json_decref(res);
	json_decref(args);
	update(f->s, BOOK_CONTACT, "c2", "{\"unsubscribed\":false}");
	/* the radius is the number of messages */
	args = json_pack("{s:[s,s]}", "draft_ids", id, id2);
	assert_ok(outreach_send_request(f->s, &rules, "agent:a", NULL, args, &res, &err), &err);
	assert_int_equal(json_integer_value(json_object_get(res, "messages")), 3);
	json_decref(res);
	/* twice is a state error */
	assert_int_equal(outreach_send_request(f->s, &rules, "agent:a", NULL, args, &res, &err),
			 AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "is send_requested, not a draft"));
	json_decref(args);
	/* reject sends it back to draft; approve moves it on */
	args = json_pack("[s]", id2);
	assert_ok(outreach_send_reject(f->s, "human:rep", args, "tone", &err), &err);
	assert_string_equal(status_of(f, id2, buf, sizeof buf), "draft");
	json_decref(args);
	approve(f, id);
	assert_string_equal(status_of(f, id, buf, sizeof buf), "approved");
	args = json_pack("[s]", id);
	assert_int_equal(outreach_send_approve(f->s, "human:rep", args, &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "approve_send: draft dr_"));
	assert_non_null(strstr(err.msg, " is approved, not send_requested"));
	json_decref(args);
	/* discard: only what was not sent */
	assert_int_equal(outreach_draft_discard(f->s, "human:rep", id, &err), AIRLOCK_ESTATE);
	assert_ok(outreach_draft_discard(f->s, "human:rep", id2, &err), &err);
	assert_string_equal(status_of(f, id2, buf, sizeof buf), "discarded");
	assert_false(store_in_transaction(f->s));
}

/* ---- send time: the book changes after approval ------------------------------------ */

static json_t *deliver(struct fx *f, int flags)
{
	struct err err = {0};
	json_t *rep = NULL;

	assert_ok(outreach_deliver(f->s, &rules, &f->smtp, "human:rep", NULL, flags, &rep, &err),
		  &err);
	assert_false(store_in_transaction(f->s));
	return rep;
}

/* Drafts, requests and approves a one-recipient draft; returns its id. */
static const char *approved(struct fx *f, const char *account, const char *contact,
			    const char *audience, const char *workflow, char *id, size_t len)
{
	char contacts[64];

	snprintf(contacts, sizeof contacts, "[\"%s\"]", contact);
	stored(f, draft_args(account, contacts, audience, workflow), id, len);
	request_ok(f, id, 1);
	approve(f, id);
	return id;
}

/* Delivers, expecting the one message blocked for rule before the relay was
 * contacted (attempts stays 0). */
static void blocked_at_send(struct fx *f, const char *id, const char *rule, const char *want)
{
	json_t *rep = deliver(f, 0), *b, *fi;
	char sql[200], buf[600];

	b = json_array_get(json_object_get(rep, "blocked"), 0);
	if (!b) {
		char *dump = json_dumps(rep, JSON_INDENT(1));

		fail_msg("nothing blocked for %s: %s", rule, dump);
	}
	fi = finding(json_object_get(b, "findings"), rule);
	if (!fi || !strstr(json_string_value(json_object_get(fi, "message")), want)) {
		char *dump = json_dumps(b, JSON_INDENT(1));

		fail_msg("no %s finding saying '%s' in %s", rule, want, dump);
	}
	assert_int_equal(json_array_size(json_object_get(rep, "retry")), 0);
	snprintf(sql, sizeof sql, "SELECT state||' '||attempts FROM outbox WHERE draft_id='%s'",
		 id);
	assert_string_equal(text_of(f->s, sql, buf, sizeof buf), "blocked 0");
	snprintf(sql, sizeof sql, "SELECT last_error FROM outbox WHERE draft_id='%s'", id);
	assert_non_null(strstr(text_of(f->s, sql, buf, sizeof buf), rule));
	assert_string_equal(status_of(f, id, buf, sizeof buf), "blocked");
	/* the draft keeps the finding for the rep */
	snprintf(sql, sizeof sql, "SELECT findings FROM draft WHERE id='%s'", id);
	assert_non_null(strstr(text_of(f->s, sql, buf, sizeof buf), rule));
	json_decref(rep);
}

static void test_unchanged_book_goes_to_the_relay(void **state)
{
	struct fx *f = *state;
	char id[64], buf[200];
	json_t *rep, *r;

	approved(f, "a1", "c1", "segment=smb", NULL, id, sizeof id);
	rep = deliver(f, 0);
	/* the relay does not answer: the message is pending, with the error */
	r = json_array_get(json_object_get(rep, "retry"), 0);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "attempts")), 1);
	assert_non_null(
	    strstr(json_string_value(json_object_get(r, "last_error")), "relay 127.0.0.1:"));
	assert_string_equal(text_of(f->s, "SELECT state FROM outbox", buf, sizeof buf), "intended");
	assert_string_equal(status_of(f, id, buf, sizeof buf), "approved");
	json_decref(rep);
}

static void test_do_not_contact_at_send_time(void **state)
{
	struct fx *f = *state;
	char id[64];

	approved(f, "a1", "c1", "segment=smb", NULL, id, sizeof id);
	update(f->s, BOOK_CONTACT, "c1", "{\"do_not_contact\":true}");
	blocked_at_send(f, id, "do_not_contact", "contact c1 (bob@acme.test) is marked");
	approved(f, "a1", "c2", "segment=smb", NULL, id, sizeof id);
	update(f->s, BOOK_ACCOUNT, "a1", "{\"do_not_contact\":true}");
	blocked_at_send(f, id, "do_not_contact", "account a1 (Acme) is marked do-not-contact");
}

static void test_unsubscribed_at_send_time(void **state)
{
	struct fx *f = *state;
	char id[64];

	approved(f, "a1", "c2", "segment=smb", NULL, id, sizeof id);
	update(f->s, BOOK_CONTACT, "c2", "{\"unsubscribed\":true}");
	blocked_at_send(f, id, "unsubscribed", "contact c2 (carol@acme.test) has unsubscribed");
}

static void test_competitor_at_send_time(void **state)
{
	struct fx *f = *state;
	char id[64];

	approved(f, "a1", "c1", "segment=smb", NULL, id, sizeof id);
	update(f->s, BOOK_ACCOUNT, "a1", "{\"lifecycle\":\"competitor\"}");
	blocked_at_send(f, id, "competitor", "is a competitor (lifecycle=competitor)");
	approved(f, "a5", "u1", "segment=enterprise", NULL, id, sizeof id);
	update(f->s, BOOK_ACCOUNT, "a5", "{\"domain\":\"eu.hooli.test\"}");
	blocked_at_send(f, id, "competitor", "its domain eu.hooli.test is on the competitor list");
}

static void test_customer_prospecting_at_send_time(void **state)
{
	struct fx *f = *state;
	char id[64];

	approved(f, "a1", "c1", "segment=smb", "prospecting", id, sizeof id);
	update(f->s, BOOK_ACCOUNT, "a1", "{\"lifecycle\":\"customer\"}");
	blocked_at_send(f, id, "customer_prospecting", "is a current customer");
}

static void test_customer_rule_at_send_time_under_an_or_audience(void **state)
{
	struct fx *f = *state;
	char id[64];

	approved(f, "a1", "c1", "lifecycle=prospect OR segment=smb", "renewal", id, sizeof id);
	update(f->s, BOOK_ACCOUNT, "a1", "{\"lifecycle\":\"customer\"}");
	blocked_at_send(f, id, "customer_prospecting", "account a1 (Acme) is a current customer");
}

static void test_outside_audience_at_send_time(void **state)
{
	struct fx *f = *state;
	char id[64];

	approved(f, "a1", "c1", "segment=smb AND region=EMEA", NULL, id, sizeof id);
	update(f->s, BOOK_ACCOUNT, "a1", "{\"segment\":\"enterprise\"}");
	blocked_at_send(f, id, "outside_audience",
			"is outside the draft's audience: segment=smb AND region=EMEA");
}

/* The agent declares custom.n="03" (text). The draft stores the audience's
 * canonical text and the send checks that: it must mean the same. It used
 * to drop the quotes (custom.n=03, which also takes the number 3): after
 * the book changed the field to the number 3 the message went out, and
 * custom.n!="03" blocked an account that had not changed at all. */
static void test_quoted_audience_at_send_after_type_change(void **state)
{
	struct fx *f = *state;
	char id[64], sql[160], buf[200];
	json_t *rep;

	add(f->s, BOOK_ACCOUNT,
	    "{\"id\":\"a7\",\"name\":\"Quoted\",\"domain\":\"quoted.test\","
	    "\"segment\":\"smb\",\"lifecycle\":\"prospect\",\"custom\":{\"n\":\"03\"}}");
	add(f->s, BOOK_CONTACT,
	    "{\"id\":\"q1\",\"account_id\":\"a7\",\"email\":\"q1@quoted.test\"}");
	add(f->s, BOOK_CONTACT,
	    "{\"id\":\"q2\",\"account_id\":\"a7\",\"email\":\"q2@quoted.test\"}");
	approved(f, "a7", "q1", "custom.n=\"03\"", NULL, id, sizeof id);
	update(f->s, BOOK_ACCOUNT, "a7", "{\"custom.n\":3}");
	blocked_at_send(f, id, "outside_audience",
			"is outside the draft's audience: custom.n=\"03\"");
	snprintf(sql, sizeof sql, "SELECT audience FROM draft WHERE id='%s'", id);
	assert_string_equal(text_of(f->s, sql, buf, sizeof buf), "custom.n=\"03\"");
	/* the account holds the number 3 now: custom.n!="03" takes it, at
	 * draft time and at send time alike */
	approved(f, "a7", "q2", "custom.n!='03'", NULL, id, sizeof id);
	rep = deliver(f, 0);
	assert_int_equal(json_array_size(json_object_get(rep, "blocked")), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "retry")), 1);
	json_decref(rep);
}

static void test_not_a_contact_at_send_time(void **state)
{
	struct fx *f = *state;
	char id[64];

	approved(f, "a1", "c1", "segment=smb", NULL, id, sizeof id);
	update(f->s, BOOK_CONTACT, "c1", "{\"email\":\"robert@acme.test\"}");
	blocked_at_send(f, id, "not_a_contact",
			"contact c1's address changed from bob@acme.test to robert@acme.test");
	approved(f, "a1", "c2", "segment=smb", NULL, id, sizeof id);
	update(f->s, BOOK_CONTACT, "c2", "{\"account_id\":\"a2\"}");
	blocked_at_send(f, id, "not_a_contact",
			"contact c2 belongs to account a2, not to account a1");
}

static void test_touch_window_at_send_time(void **state)
{
	struct fx *f = *state;
	char id[64];

	approved(f, "a1", "c1", "segment=smb", NULL, id, sizeof id);
	add_touches(f->s, "c1", 2, 1);
	blocked_at_send(f, id, "touch_window", "already has 2 messages in the last 30 days");
}

static void test_guard_draft_sees_the_book_now(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	json_t *fi = NULL;
	char id[64];

	stored(f, draft_args("a1", "[\"c1\",\"c2\"]", "segment=smb", NULL), id, sizeof id);
	assert_ok(outreach_guard_draft(f->s, &rules, id, &fi, &err), &err);
	assert_int_equal(json_array_size(fi), 0);
	json_decref(fi);
	update(f->s, BOOK_CONTACT, "c2", "{\"do_not_contact\":true}");
	update(f->s, BOOK_ACCOUNT, "a1", "{\"region\":\"AMER\",\"segment\":\"mid-market\"}");
	assert_ok(outreach_guard_draft(f->s, &rules, id, &fi, &err), &err);
	assert_int_equal(json_array_size(fi), 2);
	assert_non_null(finding(fi, "do_not_contact"));
	assert_non_null(finding(fi, "outside_audience"));
	json_decref(fi);
	assert_int_equal(outreach_guard_draft(f->s, &rules, "dr_none", &fi, &err),
			 AIRLOCK_ENOTFOUND);
}

/* ---- the outbox state machine ------------------------------------------------------- */

static void test_retry_backoff_then_failed(void **state)
{
	struct fx *f = *state;
	char id[64], buf[200], at[32], sql[200];
	json_t *rep;

	approved(f, "a1", "c1", "segment=smb", NULL, id, sizeof id);
	json_decref(deliver(f, 0));
	assert_int_equal(count(f->s, "SELECT attempts FROM outbox"), 1);
	/* not due yet: a second run leaves it alone */
	rep = deliver(f, 0);
	assert_int_equal(json_array_size(json_object_get(rep, "retry")), 0);
	json_decref(rep);
	assert_int_equal(count(f->s, "SELECT attempts FROM outbox"), 1);
	iso_in(at, 590);
	snprintf(sql, sizeof sql, "SELECT CASE WHEN next_attempt_at > '%s' THEN 1 ELSE 0 END FROM outbox",
		 at);
	assert_int_equal(count(f->s, sql), 1);
	/* --now ignores the back-off; the second back-off is twice the first */
	json_decref(deliver(f, OUTREACH_DELIVER_NOW));
	assert_int_equal(count(f->s, "SELECT attempts FROM outbox"), 2);
	iso_in(at, 1190);
	snprintf(sql, sizeof sql, "SELECT CASE WHEN next_attempt_at > '%s' THEN 1 ELSE 0 END FROM outbox",
		 at);
	assert_int_equal(count(f->s, sql), 1);
	/* the third attempt is the last (max_attempts 3) */
	rep = deliver(f, OUTREACH_DELIVER_NOW);
	assert_int_equal(json_array_size(json_object_get(rep, "failed")), 1);
	json_decref(rep);
	assert_string_equal(text_of(f->s, "SELECT state FROM outbox", buf, sizeof buf), "failed");
	assert_non_null(strstr(text_of(f->s, "SELECT last_error FROM outbox", buf, sizeof buf),
			       "gave up after 3 attempts: relay 127.0.0.1:"));
	assert_string_equal(status_of(f, id, buf, sizeof buf), "failed");
	/* a failed message can be queued again by a person */
	{
		struct err err = {0};
		int64_t mid = count(f->s, "SELECT id FROM outbox");

		assert_ok(outreach_outbox_resend(f->s, "human:rep", mid, 0, &err), &err);
		assert_string_equal(
		    text_of(f->s, "SELECT state||' '||attempts FROM outbox", buf, sizeof buf),
		    "intended 0");
		assert_string_equal(status_of(f, id, buf, sizeof buf), "approved");
	}
}

static void test_one_row_per_recipient_even_when_run_twice(void **state)
{
	struct fx *f = *state;
	char id[64];

	stored(f, draft_args("a1", "[\"c1\",\"c2\"]", "segment=smb", NULL), id, sizeof id);
	request_ok(f, id, 2);
	approve(f, id);
	json_decref(deliver(f, 0));
	json_decref(deliver(f, OUTREACH_DELIVER_NOW));
	assert_int_equal(count(f->s, "SELECT count(*) FROM outbox"), 2);
	assert_int_equal(count(f->s, "SELECT count(DISTINCT message_id) FROM outbox"), 2);
	assert_int_equal(
	    count(f->s, "SELECT count(*) FROM outbox WHERE message_id LIKE '<dr_%@example.com>'"),
	    2);
	/* the Message-ID is stable across attempts: the table refuses a change
	 * of recipient set, and the id column never changes */
	assert_int_equal(count(f->s, "SELECT sum(attempts) FROM outbox"), 4);
}

static void test_deliver_refuses_inside_a_transaction(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	json_t *rep = NULL;
	char id[64];

	assert_ok(store_begin(f->s, &err), &err);
	assert_int_equal(outreach_deliver(f->s, &rules, &f->smtp, "human:rep", NULL, 0, &rep, &err),
			 AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "committed before the relay is contacted"));
	store_rollback(f->s);
	f->smtp.from = "not an address";
	assert_int_equal(outreach_deliver(f->s, &rules, &f->smtp, "human:rep", NULL, 0, &rep, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "smtp: from: 'not an address' is not a valid e-mail address");
	f->smtp.from = "sales@example.com";
	f->smtp.host = "bad host/x";
	assert_int_equal(outreach_deliver(f->s, &rules, &f->smtp, "human:rep", NULL, 0, &rep, &err),
			 AIRLOCK_EINVAL);
	f->smtp.host = NULL;
	assert_int_equal(outreach_deliver(f->s, &rules, &f->smtp, "human:rep", NULL, 0, &rep, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "smtp: no relay host configured");
	/* no audience rules: nothing is sent, whatever else is right (13.3) */
	f->smtp.host = "127.0.0.1";
	approved(f, "a1", "c1", "segment=smb", NULL, id, sizeof id);
	assert_int_equal(outreach_deliver(f->s, NULL, &f->smtp, "human:rep", NULL, 0, &rep, &err),
			 AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "nothing is sent without the policy's"));
	assert_null(rep);
	assert_int_equal(count(f->s, "SELECT count(*) FROM outbox"), 0);
}

/* A row left in sending by a process that is gone. */
static int64_t orphan(struct fx *f, const char *claimed_by, long until_seconds)
{
	char id[64], sql[512], until[32];
	struct err err = {0};

	approved(f, "a1", "c1", "segment=smb", NULL, id, sizeof id);
	f->smtp.port = f->dead_port;
	json_decref(deliver(f, 0)); /* queues it, the attempt fails: intended */
	iso_in(until, until_seconds);
	snprintf(sql, sizeof sql,
		 "UPDATE outbox SET state='sending',claimed_by='%s',claim_until='%s'"
		 " WHERE draft_id='%s'",
		 claimed_by, until, id);
	assert_ok(store_exec(f->s, sql, &err), &err);
	return count(f->s, "SELECT max(id) FROM outbox");
}

static void test_recovery_marks_unknown_and_never_resends(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	char host[128], claim[200], buf[400];
	json_t *rec = NULL, *rep;
	pid_t child;
	int64_t mid;

	assert_int_equal(gethostname(host, sizeof host), 0);
	/* a process on this host that has exited */
	child = fork();
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	snprintf(claim, sizeof claim, "%s:%ld", host, (long)child);
	mid = orphan(f, claim, 3600);
	/* a live claimant (pid 1 on this host) keeps its row */
	snprintf(claim, sizeof claim, "%s:1", host);
	snprintf(buf, sizeof buf, "UPDATE outbox SET claimed_by='%s' WHERE id=%lld", claim,
		 (long long)mid);
	assert_ok(store_exec(f->s, buf, &err), &err);
	assert_ok(outreach_recover(f->s, "human:rep", &rec, &err), &err);
	assert_int_equal(json_array_size(rec), 0);
	json_decref(rec);
	/* ... until its deadline passes */
	snprintf(buf, sizeof buf,
		 "UPDATE outbox SET claim_until='2000-01-01T00:00:00Z' WHERE id=%lld",
		 (long long)mid);
	assert_ok(store_exec(f->s, buf, &err), &err);
	assert_ok(outreach_recover(f->s, "human:rep", &rec, &err), &err);
	assert_int_equal(json_array_size(rec), 1);
	json_decref(rec);
	/* the dead-pid case */
	snprintf(claim, sizeof claim, "%s:%ld", host, (long)child);
	snprintf(buf, sizeof buf,
		 "UPDATE outbox SET state='sending',claimed_by='%s',"
		 "claim_until='2999-01-01T00:00:00Z' WHERE id=%lld",
		 claim, (long long)mid);
	assert_ok(store_exec(f->s, buf, &err), &err);
	/* another host: only the deadline counts */
	snprintf(buf, sizeof buf,
		 "UPDATE outbox SET claimed_by='elsewhere.example:%ld' WHERE id=%lld", (long)child,
		 (long long)mid);
	assert_ok(store_exec(f->s, buf, &err), &err);
	assert_ok(outreach_recover(f->s, "human:rep", &rec, &err), &err);
	assert_int_equal(json_array_size(rec), 0);
	json_decref(rec);
	snprintf(buf, sizeof buf, "UPDATE outbox SET claimed_by='%s' WHERE id=%lld", claim,
		 (long long)mid);
	assert_ok(store_exec(f->s, buf, &err), &err);
	/* deliver recovers it first, and does not send it */
	rep = deliver(f, OUTREACH_DELIVER_NOW);
	assert_int_equal(json_array_size(json_object_get(rep, "recovered")), 1);
	assert_int_equal(json_array_size(json_object_get(rep, "retry")), 0);
	json_decref(rep);
	snprintf(buf, sizeof buf, "SELECT state||' '||attempts FROM outbox WHERE id=%lld",
		 (long long)mid);
	assert_string_equal(text_of(f->s, buf, claim, sizeof claim), "unknown 1");
	/* a person decides: not without --force */
	assert_int_equal(outreach_outbox_resend(f->s, "human:rep", mid, 0, &err), AIRLOCK_ESTATE);
	assert_non_null(strstr(err.msg, "outcome is unknown"));
	assert_ok(outreach_outbox_mark_sent(f->s, "human:rep", mid, &err), &err);
	assert_string_equal(text_of(f->s, buf, claim, sizeof claim), "sent 1");
	assert_int_equal(count(f->s, "SELECT count(*) FROM touch WHERE contact_id='c1'"), 1);
	assert_int_equal(outreach_outbox_mark_sent(f->s, "human:rep", mid, &err), AIRLOCK_ESTATE);
	assert_string_equal(err.msg, "message 1 is sent: only an unknown or failed message can be "
				     "marked sent");
	assert_int_equal(outreach_outbox_cancel(f->s, "human:rep", 999, &err), AIRLOCK_ENOTFOUND);
	assert_false(store_in_transaction(f->s));
}

static void test_forced_resend_and_cancel(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	char host[128], claim[200], buf[200], id[64];
	int64_t mid;

	assert_int_equal(gethostname(host, sizeof host), 0);
	snprintf(claim, sizeof claim, "%s:999999999", host);
	mid = orphan(f, claim, -60);
	assert_ok(outreach_recover(f->s, "human:rep", NULL, &err), &err);
	snprintf(id, sizeof id, "%lld", (long long)mid);
	assert_ok(outreach_outbox_resend(f->s, "human:rep", mid, 1, &err), &err);
	assert_string_equal(text_of(f->s, "SELECT state FROM outbox", buf, sizeof buf), "intended");
	assert_int_equal(outreach_outbox_resend(f->s, "human:rep", mid, 1, &err), AIRLOCK_ESTATE);
	assert_ok(outreach_outbox_cancel(f->s, "human:rep", mid, &err), &err);
	assert_string_equal(text_of(f->s, "SELECT state FROM outbox", buf, sizeof buf),
			    "cancelled");
	{
		json_t *list = NULL;

		assert_ok(outreach_outbox_list(f->s, 0, &list, &err), &err);
		assert_int_equal(json_array_size(list), 0);
		json_decref(list);
		assert_ok(outreach_outbox_list(f->s, 1, &list, &err), &err);
		assert_int_equal(json_array_size(list), 1);
		json_decref(list);
	}
}

static void test_drafts_list_filters(void **state)
{
	struct fx *f = *state;
	struct outreach_filter flt = {0};
	struct err err = {0};
	json_t *list = NULL;
	char id[64];

	stored(f, draft_args("a1", "[\"c1\"]", "segment=smb", NULL), id, sizeof id);
	stored(f, draft_args("a2", "[\"g1\"]", "lifecycle=customer", NULL), id, sizeof id);
	request_ok(f, id, 1);
	assert_ok(outreach_drafts_list(f->s, &flt, &list, &err), &err);
	assert_int_equal(json_array_size(list), 2);
	assert_null(json_object_get(json_array_get(list, 0), "body"));
	json_decref(list);
	flt.account_id = "a2";
	assert_ok(outreach_drafts_list(f->s, &flt, &list, &err), &err);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	flt.account_id = NULL;
	flt.status = "send_requested";
	assert_ok(outreach_drafts_list(f->s, &flt, &list, &err), &err);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), id);
	json_decref(list);
	flt.status = "bogus";
	assert_int_equal(outreach_drafts_list(f->s, &flt, &list, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "unknown status 'bogus'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_clean_draft_is_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guard_rules_at_draft_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_customer_outreach_that_is_not_prospecting_passes,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_touch_window_at_draft_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_draft_arguments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guard_args_stores_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_briefs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_request_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unchanged_book_goes_to_the_relay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_do_not_contact_at_send_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsubscribed_at_send_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_competitor_at_send_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_customer_rule_ignores_how_the_audience_is_written,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_customer_rule_at_send_time_under_an_or_audience,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_customer_prospecting_at_send_time, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_outside_audience_at_send_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quoted_audience_at_send_after_type_change, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_contact_at_send_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_touch_window_at_send_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guard_draft_sees_the_book_now, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_backoff_then_failed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_row_per_recipient_even_when_run_twice, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_deliver_refuses_inside_a_transaction, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_recovery_marks_unknown_and_never_resends, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_forced_resend_and_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drafts_list_filters, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
