/* test_invariants.c — each invariant of invariants.h finds the violation it
 * names when one is planted in the rows (written here with plain SQL, as a
 * buggy module or a hand-edited database would leave them), and stays
 * quiet on the legitimate look-alikes next to it. */
#include "audit.h"
#include "book.h"
#include "invariants.h"
#include "policy.h"
#include "testutil.h"

struct fx {
	struct testdb db;
	struct policy *pol;
};

static void add(struct store *s, enum book_kind k, const char *json)
{
	struct err err = {0};
	json_t *rec = json_loads(json, 0, NULL);

	assert_non_null(rec);
	assert_ok(book_insert(s, k, rec, &err), &err);
	json_decref(rec);
}

static void exec(struct store *s, const char *sql)
{
	struct err err = {0};

	assert_ok(store_exec(s, sql, &err), &err);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct err err = {0};
	char path[400];
	FILE *fp;

	assert_non_null(f);
	setenv("AIRLOCK_NOW", "2026-11-02T09:00:00Z", 1);
	testutil_store_open(&f->db);
	/* the policy beside the database: its folder, or /tmp for PostgreSQL's */
	if (testutil_on_pg())
		snprintf(path, sizeof path, "/tmp/%s.yaml", f->db.dir);
	else
		snprintf(path, sizeof path, "%s/airlock.yaml", f->db.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(policy_default_yaml(), fp);
	fclose(fp);
	assert_ok(policy_load(path, &f->pol, &err), &err);
	if (testutil_on_pg())
		unlink(path);
	add(f->db.s, BOOK_ACCOUNT, "{\"id\":\"A1\",\"name\":\"One\",\"lifecycle\":\"prospect\"}");
	add(f->db.s, BOOK_ACCOUNT, "{\"id\":\"A2\",\"name\":\"Two\",\"lifecycle\":\"prospect\"}");
	add(f->db.s, BOOK_ACCOUNT,
	    "{\"id\":\"A3\",\"name\":\"Three\",\"lifecycle\":\"customer\",\"segment\":\"smb\"}");
	add(f->db.s, BOOK_CONTACT,
	    "{\"id\":\"C1\",\"account_id\":\"A1\",\"email\":\"c1@one.example\"}");
	add(f->db.s, BOOK_CONTACT,
	    "{\"id\":\"C3\",\"account_id\":\"A3\",\"email\":\"c3@three.example\"}");
	add(f->db.s, BOOK_SIGNAL,
	    "{\"id\":\"S1\",\"account_id\":\"A1\",\"kind\":\"news\",\"observed_at\":\"2026-10-01\"}");
	add(f->db.s, BOOK_SIGNAL,
	    "{\"id\":\"S2\",\"account_id\":\"A2\",\"kind\":\"news\",\"observed_at\":\"2026-10-01\"}");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	policy_free(f->pol);
	testutil_store_close(&f->db);
	free(f);
	return 0;
}

/* Runs the checks; returns how many violations name (inv, name), and
 * the total in *all. */
static int count(struct fx *f, const char *pin, const char *inv, const char *name, int *all)
{
	struct invariants_opts o = {0};
	struct err err = {0};
	json_t *v = NULL, *x;
	size_t i;
	int n = 0;

	o.policy = f->pol;
	o.pin = pin;
	o.pin_set = pin != NULL;
	assert_ok(invariants_check(f->db.s, &o, &v, NULL, &err), &err);
	json_array_foreach(v, i, x)
	{
		if (!strcmp(json_string_value(json_object_get(x, "invariant")), inv) &&
		    !strcmp(json_string_value(json_object_get(x, "name")), name))
			n++;
	}
	if (all)
		*all = (int)json_array_size(v);
	json_decref(v);
	return n;
}

static void batch(struct store *s, int id, const char *principal, const char *workflow,
		  const char *tool, const char *action, const char *state, const char *iv)
{
	struct store_stmt *st;
	struct err err = {0};

	assert_ok(store_prepare(s,
				"INSERT INTO batch(id,principal,surface,workflow,tool,action,"
				"instruction_version,state,radius,items,created_at,updated_at)"
				" VALUES(?1,?2,'mcp:write',?3,?4,?5,?6,?7,1,1,"
				"'2026-11-02T09:00:00Z','2026-11-02T09:00:00Z')",
				&st, &err),
		  &err);
	store_bind_int(st, 1, id);
	store_bind_text(st, 2, principal);
	store_bind_text(st, 3, workflow);
	store_bind_text(st, 4, tool);
	store_bind_text(st, 5, action);
	store_bind_text(st, 6, iv);
	store_bind_text(st, 7, state);
	assert_int_equal(store_step(st, &err), STORE_DONE);
	store_done(st);
}

static void item(struct store *s, int bid, int idx, const char *record, const char *changes,
		 const char *evidence)
{
	struct store_stmt *st;
	struct err err = {0};

	assert_ok(store_prepare(s,
				"INSERT INTO batch_item(batch_id,idx,record_id,changes,before,restore,"
				"version,evidence) VALUES(?1,?2,?3,?4,'{}','{}',1,?5)",
				&st, &err),
		  &err);
	store_bind_int(st, 1, bid);
	store_bind_int(st, 2, idx);
	store_bind_text(st, 3, record);
	store_bind_text(st, 4, changes);
	store_bind_text(st, 5, evidence ? evidence : "[]");
	assert_int_equal(store_step(st, &err), STORE_DONE);
	store_done(st);
}

static void clean_book_holds(void **state)
{
	struct fx *f = *state;
	struct invariants_opts o = {0};
	struct err err = {0};
	json_t *v = NULL, *u = NULL;
	int all;

	batch(f->db.s, 1, "agent:x", "retier", "propose_changes", "update", "staged", "v1");
	item(f->db.s, 1, 0, "A1", "{\"tier\":2}", "[\"S1\"]");
	assert_int_equal(count(f, "v1", "I1", "stage_max", &all), 0);
	assert_int_equal(all, 0);
	/* without a policy or a pin, what cannot be checked is said, not passed */
	assert_ok(invariants_check(f->db.s, &o, &v, &u, &err), &err);
	assert_int_equal(json_array_size(v), 0);
	assert_true(json_array_size(u) >= 4); /* I1, I2, I4, I6 (and I3) */
	json_decref(v);
	json_decref(u);
}

/* Decoy rejects must not let more than stage_max records wait unreviewed:
 * 201 records in two staged batches of one agent and workflow break it;
 * the same in a blocked batch (waiting for a person's full approval) and
 * another agent's batch do not add up. */
static void i1_counts_staged_records_per_agent_and_workflow(void **state)
{
	struct fx *f = *state;
	char rec[16], ch[32];
	int i;

	batch(f->db.s, 1, "agent:x", "retier", "propose_changes", "update", "staged", "v1");
	batch(f->db.s, 2, "agent:x", "retier", "propose_changes", "update", "sampled", "v1");
	batch(f->db.s, 3, "agent:x", "retier", "propose_changes", "update", "blocked", "v1");
	batch(f->db.s, 4, "agent:y", "retier", "propose_changes", "update", "staged", "v1");
	for (i = 0; i < 200; i++) {
		snprintf(rec, sizeof rec, "R%d", i);
		snprintf(ch, sizeof ch, "{\"tier\":%d}", 1 + i % 4);
		item(f->db.s, 1 + (i % 2), i, rec, ch, NULL);
		item(f->db.s, 3, i, rec, ch, NULL);
		item(f->db.s, 4, i, rec, ch, NULL);
	}
	assert_int_equal(count(f, NULL, "I1", "stage_max", NULL), 0); /* 200 = stage_max */
	item(f->db.s, 3, 500, "R500", "{\"tier\":1}", NULL);          /* blocked: not staged */
	assert_int_equal(count(f, NULL, "I1", "stage_max", NULL), 0);
	item(f->db.s, 2, 500, "R500", "{\"tier\":1}", NULL);
	assert_int_equal(count(f, NULL, "I1", "stage_max", NULL), 1);
}

static void i2_unknown_workflow_and_foreign_fields(void **state)
{
	struct fx *f = *state;

	batch(f->db.s, 1, "agent:x", "retier", "propose_changes", "update", "applied", "v1");
	item(f->db.s, 1, 0, "A1", "{\"tier\":2}", NULL);
	batch(f->db.s, 2, "agent:x", "merge", "propose_merge", "merge", "blocked", "v1");
	item(f->db.s, 2, 0, "A2", "{\"merged_into\":\"A1\"}", NULL);
	assert_int_equal(count(f, NULL, "I2", "field_not_allowed", NULL), 0);
	batch(f->db.s, 3, "agent:x", "Retier", "propose_changes", "update", "blocked", "v1");
	item(f->db.s, 3, 0, "A1", "{\"do_not_contact\":1}", NULL);
	assert_int_equal(count(f, NULL, "I2", "unknown_workflow", NULL), 1);
	batch(f->db.s, 4, "agent:x", "retier", "propose_changes", "update", "approved", "v1");
	item(f->db.s, 4, 0, "A1", "{\"owner\":\"mallory\"}", NULL);
	assert_int_equal(count(f, NULL, "I2", "field_not_allowed", NULL), 1);
	batch(f->db.s, 5, "agent:x", "send", "propose_changes", "update", "blocked", "v1");
	item(f->db.s, 5, 0, "A1", "{\"tier\":1}", NULL);
	assert_int_equal(count(f, NULL, "I2", "workflow_effect", NULL), 1);
	batch(f->db.s, 6, "agent:x", "merge", "propose_changes", "update", "blocked", "v1");
	item(f->db.s, 6, 0, "A1", "{\"owner\":\"x\"}", NULL);
	assert_int_equal(count(f, NULL, "I2", "tool_not_in_workflow", NULL), 1);
}

/* A message the relay took for a do-not-contact contact breaks I4; the
 * same contact marked do-not-contact after the send does not. */
static void i4_sent_messages_against_the_rules(void **state)
{
	struct fx *f = *state;

	exec(f->db.s, "INSERT INTO draft(id,account_id,subject,body,audience,principal,status,"
		      "created_at,updated_at) VALUES('d1','A1','s','b','lifecycle=prospect',"
		      "'agent:x','sent','2026-11-01T00:00:00Z','2026-11-01T00:00:00Z'),"
		      "('d2','A1','s','b','lifecycle=prospect','agent:x','sent',"
		      "'2026-11-01T00:00:00Z','2026-11-01T00:00:00Z'),"
		      "('d3','A3','s','b','lifecycle=prospect OR segment=smb','agent:x','sent',"
		      "'2026-11-01T00:00:00Z','2026-11-01T00:00:00Z')");
	exec(f->db.s, "INSERT INTO outbox(id,draft_id,contact_id,address,message_id,state,"
		      "next_attempt_at,created_at,updated_at,sent_at) VALUES"
		      "(1,'d1','C1','c1@one.example','m1','sent','2026-11-03T00:00:00Z',"
		      "'2026-11-03T00:00:00Z','2026-11-03T00:00:00Z','2026-11-03T00:00:00Z')");
	exec(f->db.s, "INSERT INTO touch(contact_id,at,outbox_id) VALUES"
		      "('C1','2026-11-03T00:00:00Z',1)");
	/* C1 was changed (updated_at 2026-11-02) before the send, and is fine */
	assert_int_equal(count(f, NULL, "I4", "do_not_contact", NULL), 0);
	exec(f->db.s, "UPDATE contact SET do_not_contact=1, updated_at='2026-11-02T10:00:00Z'"
		      " WHERE id='C1'");
	assert_int_equal(count(f, NULL, "I4", "do_not_contact", NULL), 1);
	exec(f->db.s, "UPDATE contact SET updated_at='2026-11-04T00:00:00Z' WHERE id='C1'");
	assert_int_equal(count(f, NULL, "I4", "do_not_contact", NULL), 0); /* marked after */
	/* a second message within the 14-day window of the default policy */
	exec(f->db.s, "INSERT INTO outbox(id,draft_id,contact_id,address,message_id,state,"
		      "next_attempt_at,created_at,updated_at,sent_at) VALUES"
		      "(2,'d2','C1','c1@one.example','m2','sent','2026-11-05T00:00:00Z',"
		      "'2026-11-05T00:00:00Z','2026-11-05T00:00:00Z','2026-11-05T00:00:00Z')");
	exec(f->db.s, "INSERT INTO touch(contact_id,at,outbox_id) VALUES"
		      "('C1','2026-11-05T00:00:00Z',2)");
	assert_int_equal(count(f, NULL, "I4", "touch_window", NULL), 1);
	/* a customer under an audience written with OR */
	exec(f->db.s, "INSERT INTO outbox(id,draft_id,contact_id,address,message_id,state,"
		      "next_attempt_at,created_at,updated_at,sent_at) VALUES"
		      "(3,'d3','C3','c3@three.example','m3','sent','2026-11-05T00:00:00Z',"
		      "'2026-11-05T00:00:00Z','2026-11-05T00:00:00Z','2026-11-05T00:00:00Z')");
	assert_int_equal(count(f, NULL, "I4", "customer_prospecting", NULL), 1);
	/* C1's account merged into a competitor after the send: the message
	 * went to A1, a prospect, and stays clean */
	exec(f->db.s, "UPDATE account SET lifecycle='competitor' WHERE id='A2'");
	exec(f->db.s, "UPDATE account SET merged_into='A2' WHERE id='A1'");
	exec(f->db.s, "UPDATE contact SET account_id='A2' WHERE id='C1'");
	assert_int_equal(count(f, NULL, "I4", "competitor", NULL), 0);
	/* an address under a competitor's domain (the default policy lists
	 * rivalcrm.example), whatever the account says */
	exec(f->db.s, "UPDATE outbox SET address='p@mail.RivalCRM.example' WHERE id=3");
	assert_int_equal(count(f, NULL, "I4", "competitor", NULL), 1);
	exec(f->db.s, "UPDATE outbox SET address='p@notrivalcrm.example' WHERE id=3");
	assert_int_equal(count(f, NULL, "I4", "competitor", NULL), 0);
}

static void i5_human_verbs_by_a_person_not_the_proposer(void **state)
{
	struct fx *f = *state;
	struct audit_entry e = {0};
	struct err err = {0};

	batch(f->db.s, 1, "agent:x", "retier", "propose_changes", "update", "approved", "v1");
	item(f->db.s, 1, 0, "A1", "{\"tier\":2}", NULL);
	e.principal = "human:ann";
	e.surface = "cli";
	e.tool = "approve";
	e.batch_id = "1";
	assert_ok(audit_append(f->db.s, &e, NULL, &err), &err);
	assert_int_equal(count(f, NULL, "I5", "not_a_person", NULL), 0);
	assert_int_equal(count(f, NULL, "I5", "own_batch", NULL), 0);
	e.principal = "human:Agent:x"; /* `--as Agent:x` */
	assert_ok(audit_append(f->db.s, &e, NULL, &err), &err);
	assert_int_equal(count(f, NULL, "I5", "not_a_person", NULL), 1);
	e.principal = "agent:x";
	e.tool = "apply";
	assert_ok(audit_append(f->db.s, &e, NULL, &err), &err);
	assert_int_equal(count(f, NULL, "I5", "not_a_person", NULL), 2);
	exec(f->db.s, "UPDATE batch SET decided_by='agent:x' WHERE id=1");
	assert_int_equal(count(f, NULL, "I5", "not_a_person", NULL), 3);
}

static void i6_instruction_version_is_the_pin(void **state)
{
	struct fx *f = *state;

	batch(f->db.s, 1, "agent:x", "retier", "propose_changes", "update", "staged", "v1");
	item(f->db.s, 1, 0, "A1", "{\"tier\":2}", NULL);
	assert_int_equal(count(f, "v1", "I6", "instruction_version", NULL), 0);
	batch(f->db.s, 2, "agent:x", "retier", "propose_changes", "update", "staged", "v-claimed");
	item(f->db.s, 2, 0, "A2", "{\"tier\":2}", NULL);
	assert_int_equal(count(f, "v1", "I6", "instruction_version", NULL), 1);
	/* a person's batch from the CLI carries no connector pin */
	batch(f->db.s, 3, "human:ann", "retier", "propose_changes", "update", "staged", NULL);
	item(f->db.s, 3, 0, "A2", "{\"tier\":3}", NULL);
	assert_int_equal(count(f, "v1", "I6", "instruction_version", NULL), 1);
}

static void i7_evidence_belongs_to_its_record(void **state)
{
	struct fx *f = *state;

	batch(f->db.s, 1, "agent:x", "retier", "propose_changes", "update", "staged", "v1");
	item(f->db.s, 1, 0, "A1", "{\"tier\":2}", "[\"S1\"]");
	assert_int_equal(count(f, NULL, "I7", "evidence_other_record", NULL), 0);
	item(f->db.s, 1, 1, "A1", "{\"tier\":2}", "[\"S2\"]");
	assert_int_equal(count(f, NULL, "I7", "evidence_other_record", NULL), 1);
	item(f->db.s, 1, 2, "A2", "{\"tier\":2}", "[\"S9\"]");
	assert_int_equal(count(f, NULL, "I7", "evidence_not_found", NULL), 1);
	exec(f->db.s, "INSERT INTO brief(id,account_id,text,evidence,principal,created_at)"
		      " VALUES('b1','A2','t','[\"S1\"]','agent:x','2026-11-02T09:00:00Z')");
	assert_int_equal(count(f, NULL, "I7", "evidence_other_record", NULL), 2);
	/* A1 merged into A2 moves S1 there: evidence cited for A1 still holds
	 * (and S2, now a signal of the account A1 became, is forgiven: the
	 * check sees the book as it is, documented in invariants.h) */
	exec(f->db.s, "UPDATE account SET merged_into='A2' WHERE id='A1'");
	exec(f->db.s, "UPDATE signal SET account_id='A2' WHERE id='S1'");
	assert_int_equal(count(f, NULL, "I7", "evidence_other_record", NULL), 0);
	assert_int_equal(count(f, NULL, "I7", "evidence_not_found", NULL), 1);
}

static void i8_no_chains_cycles_or_orphans(void **state)
{
	struct fx *f = *state;

	exec(f->db.s, "UPDATE contact SET account_id='A2' WHERE id='C1'");
	exec(f->db.s, "UPDATE signal SET account_id='A2' WHERE id='S1'");
	exec(f->db.s, "UPDATE account SET merged_into='A2' WHERE id='A1'");
	assert_int_equal(count(f, NULL, "I8", "merged_into_merged", NULL), 0);
	assert_int_equal(count(f, NULL, "I8", "left_on_merged", NULL), 0);
	exec(f->db.s, "UPDATE account SET merged_into='A1' WHERE id='A2'"); /* a cycle */
	assert_int_equal(count(f, NULL, "I8", "merged_into_merged", NULL), 2);
	assert_int_equal(count(f, NULL, "I8", "left_on_merged", NULL), 3); /* C1, S1, S2 on A2 */
	exec(f->db.s, "UPDATE account SET merged_into='A3' WHERE id='A3'");
	assert_int_equal(count(f, NULL, "I8", "self_merge", NULL), 1);
}

static void i3_scan_finds_what_a_terminal_interprets(void **state)
{
	static const struct {
		const char *text;
		long at;
	} cases[] = {
	    {"tier: 4 \xe2\x86\x92 2\n\treason: hiring", -1},
	    {"fine\x1b[1A", 4},
	    {"a\rb", 1},
	    {"x\xc2\x9b" "31m", 1},
	    {"ok \xe2\x80\xae" "evil", 3},
	    {"\xe2\x81\xa6" "iso", 0},
	    {"mark\xe2\x80\x8f", 4},
	    {"bad \xff utf8", 4},
	    {"cut \xe2\x80", 4},
	    {"overlong \xc0\xaf", 9},
	    {"del\x7f", 3},
	    {"caf\xc3\xa9 \xf0\x9f\x98\x80", -1},
	};
	const char *what;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long at = invariants_scan_terminal(cases[i].text, strlen(cases[i].text), &what);

		if (at != cases[i].at)
			fail_msg("case %zu: found at %ld, expected %ld (%s)", i, at, cases[i].at,
				 what ? what : "nothing");
	}
	assert_non_null(invariants_describe("I8"));
	assert_null(invariants_describe("I9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(clean_book_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(i1_counts_staged_records_per_agent_and_workflow, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(i2_unknown_workflow_and_foreign_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(i4_sent_messages_against_the_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(i5_human_verbs_by_a_person_not_the_proposer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(i6_instruction_version_is_the_pin, setup, teardown),
	    cmocka_unit_test_setup_teardown(i7_evidence_belongs_to_its_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(i8_no_chains_cycles_or_orphans, setup, teardown),
	    cmocka_unit_test(i3_scan_finds_what_a_terminal_interprets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
