/* bench_staging.c — staging a 500-item proposal, and applying then undoing
 * a 100,000-item batch, each as a ratio to the bare SQLite work it implies,
 * measured in the same run on the same kind of file.
 *
 *   stage:  gate_call_tool(propose_changes, 500 items)  vs  INSERT of the
 *           rows staging writes — 500 batch_item rows and the 500
 *           radius_batch rows (the records the batch holds) — in one
 *           transaction
 *   apply:  staging_apply of 100,000 items  vs  UPDATE of the same rows
 *           (tier and version) in one transaction
 *   undo:   staging_undo  vs  the same UPDATE back
 *
 * bench_staging N ACCOUNTS LEDGER also stages 500 random (never repeated)
 * accounts of an ACCOUNTS-account book whose agent already has LEDGER
 * items waiting in staged batches of 500 (issue 15: "stage 500 random
 * items <= 3x bare inserts at 1M accounts and 1M ledger rows"), against
 * the bare INSERT of the same rows for 500 other random accounts.
 *
 * Checkpoints, counted as `airlock serve` (where agents stage) has them:
 * serve turns SQLite's autocheckpoint off and copies the WAL into the
 * database from its own thread (store_sqlite.c, checkpointer), so no
 * proposal's commit copies another writer's pages. Each timed side here
 * ends with a PASSIVE checkpoint of the pages it wrote, its CPU counted to
 * that side ("own", the goal's figure). The older method ("commit", as a
 * CLI process commits) is run too, after it: the commit that takes the WAL
 * past 1000 pages copies all of it, and as a proposal writes ~1,100 pages
 * and the bare rows ~590, every proposal's commit copied the previous bare
 * rows' pages and the bare commit never crossed the mark.
 * BENCH_STAGING_CHECKPOINT=own or =commit runs only that one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book.h"
#include "gate.h"
#include "policy.h"
#include "staging.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of the process: what a loaded machine's scheduler does not add */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, struct err *err)
{
	fprintf(stderr, "bench_staging: %s: %s\n", what, err->msg);
	exit(1);
}

static struct store *open_book(const char *dir, const char *name, int n)
{
	char path[512], sql[512];
	struct store *s;
	struct err err = {0};

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (store_create(&s, path, &err))
		die("open", &err);
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<%d)"
		 " INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)"
		 " SELECT printf('A%%06d',i),'Company '||i,'smb','EMEA',3,'prospect',"
		 "'2026-11-01T00:00:00Z' FROM n",
		 n);
	if (store_exec(s, sql, &err))
		die("fill", &err);
	/* one signal per account, which each item cites as its evidence */
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<%d)"
		 " INSERT INTO signal(id,account_id,kind,observed_at,updated_at)"
		 " SELECT printf('S%%06d',i),printf('A%%06d',i),'intent','2026-11-01',"
		 "'2026-11-01T00:00:00Z' FROM n",
		 n);
	if (store_exec(s, sql, &err))
		die("fill signals", &err);
	return s;
}

/* The bare work: one transaction of n single-row UPDATEs by id. */
static double bare_update(struct store *s, int n, int tier)
{
	struct store_stmt *st;
	struct err err = {0};
	char id[32];
	double t0 = now_s();
	int i;

	if (store_begin(s, &err) ||
	    store_prepare(s, "UPDATE account SET tier=?2,version=version+1 WHERE id=?1", &st, &err))
		die("bare update", &err);
	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof id, "A%06d", i);
		store_bind_text(st, 1, id);
		store_bind_int(st, 2, tier);
		if (store_step(st, &err) != STORE_DONE)
			die("bare update step", &err);
		store_reset(st);
	}
	store_done(st);
	if (store_commit(s, &err))
		die("bare commit", &err);
	return now_s() - t0;
}

static json_t *items_json(int n, int value)
{
	json_t *items = json_array();
	char id[32], sig[32];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof id, "A%06d", i);
		snprintf(sig, sizeof sig, "S%06d", i);
		json_array_append_new(items, json_pack("{s:s,s:s,s:i,s:s,s:[s]}", "record_id", id,
						       "field", "tier", "value", value, "reason",
						       "intent surge", "evidence", sig));
	}
	return items;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* 500 distinct account numbers in [1, n], none drawn before (used[]). */
static void draw500(int *out, unsigned char *used, int n)
{
	int k = 0, v;

	while (k < 500) {
		v = 1 + (int)(rnd() % (uint64_t)n);
		if (used[v])
			continue;
		used[v] = 1;
		out[k++] = v;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof v[0], cmp_double);
	return v[n / 2];
}

/* 5 rounds of one proposal of 500 random accounts (never drawn before)
 * against the bare INSERT of the same rows for 500 other random accounts;
 * own: each side ends with a checkpoint of its own pages (see the header),
 * else SQLite's autocheckpoint at commit. Prints the medians. */
static void stage_rounds(struct gate *g, struct store *s, unsigned char *used, int accounts,
			 int ledger, int own, int round0)
{
	struct gate_call call = {"agent:bench", "mcp:write", "propose_changes", "v1"};
	struct err err = {0};
	struct store_stmt *st;
	int ids[500], i, k, reps = 5;
	double a[5], b[5], ca[5], cb[5], t0, c0;
	char id[32];
	json_t *args, *items, *r;

	if (store_exec(s, own ? "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint=0"
			      : "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint=1000",
		       &err))
		die("checkpoint", &err);
	for (i = 0; i < reps; i++) {
		draw500(ids, used, accounts);
		items = json_array();
		for (k = 0; k < 500; k++) {
			char sig[32];

			snprintf(id, sizeof id, "A%06d", ids[k]);
			snprintf(sig, sizeof sig, "S%06d", ids[k]);
			json_array_append_new(items, json_pack("{s:s,s:s,s:i,s:s,s:[s]}", "record_id",
							       id, "field", "tier", "value", 1, "reason",
							       "intent surge", "evidence", sig));
		}
		args = json_pack("{s:s,s:s,s:s,s:o}", "workflow", "retier", "scope", "region=EMEA",
				 "rationale", "bench", "items", items);
		c0 = cpu_s();
		t0 = now_s();
		if (gate_call_tool(g, &call, args, &r, &err))
			die("stage at scale", &err);
		if (own && store_exec(s, "PRAGMA wal_checkpoint(PASSIVE)", &err))
			die("checkpoint", &err);
		a[i] = now_s() - t0;
		ca[i] = cpu_s() - c0;
		if (!json_integer_value(json_object_get(r, "batch_id")))
			die("stage at scale", &(struct err){.msg = "no batch staged"});
		json_decref(r);
		json_decref(args);
		/* bare: the rows staging writes, for 500 other random accounts */
		draw500(ids, used, accounts);
		c0 = cpu_s();
		t0 = now_s();
		if (store_begin(s, &err) ||
		    store_prepare(s,
				  "INSERT INTO batch_item(batch_id,idx,record_id,changes,before,version,"
				  "reasons,evidence,restore) VALUES(?3,?1,?2,'{\"tier\":1}',?4,1,"
				  "'[\"intent surge\"]','[\"S1\"]','{\"tier\":3}')",
				  &st, &err))
			die("bare insert", &err);
		for (k = 0; k < 500; k++) {
			snprintf(id, sizeof id, "A%06d", ids[k]);
			store_bind_int(st, 1, 1000 * (round0 + i) + k);
			store_bind_text(st, 2, id);
			store_bind_int(st, 3, 999999);
			store_bind_text(st, 4,
					"{\"id\":\"A000001\",\"name\":\"Company 1\",\"segment\":\"smb\","
					"\"region\":\"EMEA\",\"tier\":3,\"lifecycle\":\"prospect\"}");
			if (store_step(st, &err) != STORE_DONE)
				die("bare insert step", &err);
			store_reset(st);
		}
		store_done(st);
		if (store_prepare(s,
				  "INSERT INTO radius_batch(batch_id,record_id,principal,workflow)"
				  " VALUES(?3,?2,?1,'retier')",
				  &st, &err))
			die("bare holds", &err);
		for (k = 0; k < 500; k++) {
			snprintf(id, sizeof id, "account:A%06d", ids[k]);
			store_bind_text(st, 1, "agent:bare");
			store_bind_text(st, 2, id);
			store_bind_int(st, 3, 999999);
			if (store_step(st, &err) != STORE_DONE)
				die("bare holds step", &err);
			store_reset(st);
		}
		store_done(st);
		if (store_commit(s, &err))
			die("bare insert commit", &err);
		if (own && store_exec(s, "PRAGMA wal_checkpoint(PASSIVE)", &err))
			die("checkpoint", &err);
		b[i] = now_s() - t0;
		cb[i] = cpu_s() - c0;
	}
	printf("%s\n", own ? "checkpoints as serve has them (each side checkpoints its own pages;"
			     " the goal's figure):"
			   : "checkpoints at commit (the old method: a proposal's commit copies the"
			     " bare rows' pages too):");
	printf("stage 500 random items, %d accounts, %d waiting ledger items:"
	       " airlock %8.2f ms   bare insert %8.2f ms   ratio %.2f (goal <= 3)\n",
	       accounts, ledger, median(a, reps) * 1e3, median(b, reps) * 1e3,
	       median(a, reps) / median(b, reps));
	printf("  runs airlock ms:");
	for (i = 0; i < reps; i++)
		printf(" %.2f", a[i] * 1e3);
	printf("   bare ms:");
	for (i = 0; i < reps; i++)
		printf(" %.2f", b[i] * 1e3);
	printf("\n  cpu: airlock %.2f ms   bare insert %.2f ms   ratio %.2f (medians)\n",
	       median(ca, reps) * 1e3, median(cb, reps) * 1e3, median(ca, reps) / median(cb, reps));
}

/* Staging 500 random items at scale (see the header): the book, then the
 * waiting history as staging and radius would have left it (batches,
 * items, the radius tables, as migration 22 derives them), then the rounds
 * of each checkpoint method. */
static void stage_at_scale(struct gate *g, const char *dir, int accounts, int ledger)
{
	struct err err = {0};
	struct store *s;
	unsigned char *used = calloc((size_t)accounts + 1, 1);
	char sql[1024];
	const char *ck = getenv("BENCH_STAGING_CHECKPOINT");
	int only_own = ck && !strcmp(ck, "own"), only_commit = ck && !strcmp(ck, "commit");

	/* 2 methods x 5 rounds x 2 x 500 accounts never drawn before */
	if (!used || accounts < 10000)
		die("scale", &(struct err){.msg = "accounts must be at least 10000"});
	s = open_book(dir, "scale.db", accounts);
	g->store = s;
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i<%d)"
		 " INSERT INTO batch(id,principal,surface,workflow,tool,action,state,radius,items,"
		 "created_at,expires_at,updated_at) SELECT 1000000+i,'agent:bench','mcp:write','retier',"
		 "'propose_changes','update','staged',500,500,strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ','now'),"
		 "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ','now','+1 day'),"
		 "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ','now') FROM n",
		 (ledger + 499) / 500 - 1);
	if (ledger > 0 && store_exec(s, sql, &err))
		die("fill batches", &err);
	/* the bare rows' batch (batch_item refers to one) */
	if (store_exec(s,
		       "INSERT INTO batch(id,principal,surface,workflow,tool,action,state,radius,items,"
		       "created_at,updated_at) VALUES(999999,'agent:bare','mcp:write','retier',"
		       "'propose_changes','update','rejected',0,0,'2026-01-01T00:00:00Z',"
		       "'2026-01-01T00:00:00Z')",
		       &err))
		die("bare batch", &err);
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i<%d)"
		 " INSERT INTO batch_item(batch_id,idx,record_id,changes,before,restore,version)"
		 " SELECT 1000000+i/500,i%%500,printf('A%%06d',1+abs(random())%%%d),'{\"tier\":1}',"
		 "'{}','{\"tier\":3}',1 FROM n;"
		 "INSERT OR IGNORE INTO radius_batch(batch_id,record_id,principal,workflow)"
		 " SELECT batch_id,'account:'||record_id,'agent:bench','retier' FROM batch_item;"
		 "INSERT INTO radius_hold(principal,workflow,record_id,batches)"
		 " SELECT principal,workflow,record_id,count(*) FROM radius_batch"
		 " GROUP BY principal,workflow,record_id;"
		 "INSERT INTO radius_total(principal,workflow,records)"
		 " SELECT principal,workflow,count(*) FROM radius_hold GROUP BY principal,workflow;",
		 ledger - 1, accounts);
	if (ledger > 0 && store_exec(s, sql, &err))
		die("fill ledger", &err);
	if (!only_commit)
		stage_rounds(g, s, used, accounts, ledger, 1, 0);
	if (!only_own)
		stage_rounds(g, s, used, accounts, ledger, 0, 5);
	store_close(s);
	free(used);
}

static const char *const tools[] = {"propose_changes"};
static const char *const fields[] = {"tier"};

int main(int argc, char **argv)
{
	char dir[] = "/tmp/airlock-bench-XXXXXX", cmd[600];
	struct policy_workflow wf = {0};
	struct policy pol = {0};
	struct gate g;
	struct gate_call call = {"agent:bench", "mcp:write", "propose_changes", "v1"};
	struct err err = {0};
	struct store *s;
	json_t *args, *r, *rep;
	int big = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 100000;
	int reps = 5, i;
	double a[8], b[8], c[8], d[8], stage_ratio, apply_ratio, undo_ratio;

	if (!mkdtemp(dir))
		return 1;
	wf.name = "retier";
	wf.tools = tools;
	wf.ntools = 1;
	wf.effect = EFFECT_WRITE;
	wf.reversible = 1;
	wf.stage_max = 1000000;
	wf.fields = fields;
	wf.nfields = 1;
	wf.ttl_seconds = 86400;
	wf.max_pending = 1000000;
	pol.workflows = &wf;
	pol.nworkflows = 1;

	g.policy = &pol;
	if (argc > 2) {
		stage_at_scale(&g, dir, (int)strtol(argv[2], NULL, 10),
			       argc > 3 ? (int)strtol(argv[3], NULL, 10) : 0);
		if (big == 0)
			goto out;
	}
	/* staging 500 items vs inserting the same 500 rows */
	s = open_book(dir, "stage.db", 1000);
	g.store = s;
	for (i = 0; i < reps; i++) {
		struct store_stmt *st;
		double t0;
		int k;

		args = json_pack("{s:s,s:s,s:s,s:o}", "workflow", "retier", "scope", "region=EMEA",
				 "rationale", "bench", "items", items_json(500, 1 + i % 2));
		t0 = now_s();
		if (gate_call_tool(&g, &call, args, &r, &err))
			die("stage", &err);
		a[i] = now_s() - t0;
		json_decref(r);
		json_decref(args);
		/* bare: the same 500 rows straight into batch_item */
		t0 = now_s();
		if (store_begin(s, &err) ||
		    store_prepare(s,
				  "INSERT INTO batch_item(batch_id,idx,record_id,changes,before,version,"
				  "reasons,evidence,restore) VALUES(1,?1,?2,?3,?4,1,?5,?6,'{\"tier\":3}')",
				  &st, &err))
			die("bare insert", &err);
		for (k = 1; k <= 500; k++) {
			char id[32];

			snprintf(id, sizeof id, "A%06d", k);
			store_bind_int(st, 1, 100000 * (i + 1) + k);
			store_bind_text(st, 2, id);
			store_bind_text(st, 3, "{\"tier\":1}");
			store_bind_text(st, 4,
					"{\"id\":\"A000001\",\"name\":\"Company 1\",\"segment\":\"smb\","
					"\"region\":\"EMEA\",\"tier\":3,\"lifecycle\":\"prospect\"}");
			store_bind_text(st, 5, "[\"intent surge\"]");
			store_bind_text(st, 6, "[\"S1\"]");
			if (store_step(st, &err) != STORE_DONE)
				die("bare insert step", &err);
			store_reset(st);
		}
		store_done(st);
		if (store_prepare(s,
				  "INSERT INTO radius_batch(batch_id,record_id,principal,workflow)"
				  " VALUES(?4,?3,?1,?2)",
				  &st, &err))
			die("bare holds", &err);
		for (k = 1; k <= 500; k++) {
			char id[32];

			snprintf(id, sizeof id, "account:A%06d", k);
			store_bind_text(st, 1, "agent:bare");
			store_bind_text(st, 2, "retier");
			store_bind_text(st, 3, id);
			store_bind_int(st, 4, -(i + 1));
			if (store_step(st, &err) != STORE_DONE)
				die("bare holds step", &err);
			store_reset(st);
		}
		store_done(st);
		if (store_commit(s, &err))
			die("bare insert commit", &err);
		b[i] = now_s() - t0;
	}
	stage_ratio = median(a, reps) / median(b, reps);
	printf("stage 500 items:     airlock %8.2f ms   bare insert %8.2f ms   ratio %.2f (goal <= 3)\n",
	       median(a, reps) * 1e3, median(b, reps) * 1e3, stage_ratio);
	store_close(s);

	/* apply and undo of a big batch vs bare updates of the same rows */
	s = open_book(dir, "apply.db", big);
	g.store = s;
	reps = 3;
	for (i = 0; i < reps; i++) {
		int64_t id;
		double t0;

		c[i] = bare_update(s, big, 2); /* warm, and the baseline */
		d[i] = bare_update(s, big, 3);
		args = json_pack("{s:s,s:s,s:s,s:o}", "workflow", "retier", "scope", "region=EMEA",
				 "rationale", "bench", "items", items_json(big, 1));
		if (gate_call_tool(&g, &call, args, &r, &err))
			die("stage big", &err);
		json_decref(args);
		id = json_integer_value(json_object_get(r, "batch_id"));
		json_decref(r);
		/* the bench reads no sample: approving past it is an override */
		if (staging_approve(s, id, "human:bench", "cli", &err) &&
		    staging_approve_override(s, id, "human:bench", "cli", "bench: no sample read",
					     &err))
			die("approve", &err);
		t0 = now_s();
		if (staging_apply(s, id, "human:bench", "cli", 0, &rep, &err))
			die("apply", &err);
		a[i] = now_s() - t0;
		json_decref(rep);
		t0 = now_s();
		if (staging_undo(s, id, "human:bench", "cli", 0, &rep, &err))
			die("undo", &err);
		b[i] = now_s() - t0;
		json_decref(rep);
	}
	apply_ratio = median(a, reps) / median(c, reps);
	undo_ratio = median(b, reps) / median(d, reps);
	printf("apply %d items:  airlock %8.1f ms   bare update %8.1f ms   ratio %.2f (goal <= 2)\n", big,
	       median(a, reps) * 1e3, median(c, reps) * 1e3, apply_ratio);
	printf("undo %d items:   airlock %8.1f ms   bare update %8.1f ms   ratio %.2f (goal <= 2)\n", big,
	       median(b, reps) * 1e3, median(d, reps) * 1e3, undo_ratio);
	store_close(s);
out:
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_staging: could not remove %s\n", dir);
	return 0;
}
