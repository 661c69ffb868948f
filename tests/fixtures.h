/* fixtures.h — a small book and a hand-built policy for gate and staging
 * tests (the policy file parser is tested on its own in test_policy.c). */
#ifndef AIRLOCK_FIXTURES_H
#define AIRLOCK_FIXTURES_H

#include "testutil.h"

#include "book.h"
#include "policy.h"

/* n accounts A001..: segments cycle smb, mid-market, enterprise; regions
 * cycle EMEA, NA; tier 3; each with two contacts and one signal. */
static inline void fixture_book(struct store *s, int n)
{
	static const char *const seg[] = {"smb", "mid-market", "enterprise"};
	static const char *const reg[] = {"EMEA", "NA"};
	struct err err = {0};
	char id[32], cid[32], name[64], email[64];
	json_t *r;
	int i, j;

	assert_ok(store_begin(s, &err), &err);
	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof id, "A%03d", i);
		snprintf(name, sizeof name, "Company %d", i);
		r = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:{s:s}}", "id", id, "name", name,
			      "segment", seg[i % 3], "region", reg[i % 2], "tier", 3, "lifecycle",
			      "prospect", "owner", "dana", "custom", "source", "fixture");
		assert_ok(book_insert(s, BOOK_ACCOUNT, r, &err), &err);
		json_decref(r);
		for (j = 1; j <= 2; j++) {
			snprintf(cid, sizeof cid, "C%03d-%d", i, j);
			snprintf(email, sizeof email, "p%d@company%d.test", j, i);
			r = json_pack("{s:s,s:s,s:s,s:s}", "id", cid, "account_id", id, "name", "Pat",
				      "email", email);
			assert_ok(book_insert(s, BOOK_CONTACT, r, &err), &err);
			json_decref(r);
		}
		snprintf(cid, sizeof cid, "S%03d", i);
		r = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", cid, "account_id", id, "kind", "hiring",
			      "observed_at", "2026-11-20", "detail", "opened 12 sales roles");
		assert_ok(book_insert(s, BOOK_SIGNAL, r, &err), &err);
		json_decref(r);
	}
	assert_ok(store_commit(s, &err), &err);
}

static const char *const fx_retier_tools[] = {"propose_changes"};
static const char *const fx_retier_fields[] = {"tier"};
static const char *const fx_update_fields[] = {"owner", "industry", "custom.*"};
static const char *const fx_merge_tools[] = {"propose_merge"};

/* retier (stage_max 50, tier), field_update (stage_max 20, owner/industry/
 * custom.*), merge (irreversible), at most 5 pending batches per agent. */
static inline void fixture_policy(struct policy *p, struct policy_workflow wf[3])
{
	memset(p, 0, sizeof *p);
	memset(wf, 0, 3 * sizeof wf[0]);
	wf[0].name = "retier";
	wf[0].tools = fx_retier_tools;
	wf[0].ntools = 1;
	wf[0].effect = EFFECT_WRITE;
	wf[0].reversible = 1;
	wf[0].stage_max = 50;
	wf[0].fields = fx_retier_fields;
	wf[0].nfields = 1;
	wf[0].sampling.confidence = 0.95;
	wf[0].sampling.defect_rate = 0.05;
	wf[0].ttl_seconds = 7 * 86400;
	wf[0].max_pending = 5;
	wf[1] = wf[0];
	wf[1].name = "field_update";
	wf[1].stage_max = 20;
	wf[1].fields = fx_update_fields;
	wf[1].nfields = 3;
	wf[2] = wf[0];
	wf[2].name = "merge";
	wf[2].tools = fx_merge_tools;
	wf[2].reversible = 0;
	wf[2].fields = NULL;
	wf[2].nfields = 0;
	p->path = "fixture.yaml";
	p->workflows = wf;
	p->nworkflows = 3;
	snprintf(p->digest, sizeof p->digest, "fixture");
}

/* The account's current image; the caller frees it. */
static inline json_t *fixture_account(struct store *s, const char *id)
{
	struct err err = {0};
	json_t *a = NULL;

	assert_ok(book_get(s, BOOK_ACCOUNT, id, &a, &err), &err);
	return a;
}

static inline int64_t fixture_count(struct store *s, const char *sql)
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

#endif
