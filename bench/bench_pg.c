/* bench_pg.c — on PostgreSQL (issue 20): staging a 500-item proposal, and
 * applying then undoing a big batch, each as a ratio to the bare libpq work
 * it implies, on the same database in the same run.
 *
 *   stage:  gate_call_tool(propose_changes, 500 items)  vs  the rows
 *           staging writes — 500 batch_item rows and 500 radius_batch
 *           rows — as prepared INSERTs through libpq (PQexecPrepared), in
 *           one transaction; median of 5 rounds
 *   apply:  staging_apply of N items  vs  a prepared UPDATE of the same
 *           rows (tier and version) through libpq, in one transaction
 *   undo:   staging_undo  vs  the same UPDATE back
 *
 * usage: bench_pg URL [N]   (URL: an empty database; N default 100000)
 * One line per measure, and a last line "json {...}" for bench/pg.sh. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"
#include "policy.h"
#include "staging.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_pg: %s: %s\n", what, msg);
	exit(1);
}

static void ok_cmd(PGconn *pg, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		die(what, PQerrorMessage(pg));
	PQclear(res);
}

static void fill(struct store *s, int n)
{
	char sql[512];
	struct err err = {0};

	snprintf(sql, sizeof sql,
		 "INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)"
		 " SELECT 'A'||lpad(i::text,6,'0'),'Company '||i,'smb','EMEA',3,'prospect',"
		 "'2026-11-01T00:00:00Z' FROM generate_series(1,%d) i",
		 n);
	if (store_exec(s, sql, &err))
		die("fill", err.msg);
	snprintf(sql, sizeof sql,
		 "INSERT INTO signal(id,account_id,kind,observed_at,updated_at)"
		 " SELECT 'S'||lpad(i::text,6,'0'),'A'||lpad(i::text,6,'0'),'intent','2026-11-01',"
		 "'2026-11-01T00:00:00Z' FROM generate_series(1,%d) i",
		 n);
	if (store_exec(s, sql, &err))
		die("fill signals", err.msg);
	if (store_exec(s, "ANALYZE", &err))
		die("analyze", err.msg);
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

/* The bare work of an apply or undo: one transaction of n prepared
 * single-row UPDATEs by id, straight through libpq. */
static double bare_update(PGconn *pg, int n, int tier)
{
	char id[32], t[8];
	const char *vals[2] = {id, t};
	double t0 = now_s();
	int i;

	snprintf(t, sizeof t, "%d", tier);
	ok_cmd(pg, PQexec(pg, "BEGIN"), "bare begin");
	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof id, "A%06d", i);
		ok_cmd(pg, PQexecPrepared(pg, "bare_update", 2, vals, NULL, NULL, 0), "bare update");
	}
	ok_cmd(pg, PQexec(pg, "COMMIT"), "bare commit");
	return now_s() - t0;
}

/* The bare work of staging: the 500 batch_item and 500 radius_batch rows,
 * prepared INSERTs in one transaction. */
static double bare_insert(PGconn *pg, int64_t batch, int round)
{
	char idx[24], id[32], bid[24], hold[40];
	const char *item[3] = {idx, id, bid}, *h[2] = {hold, bid};
	double t0 = now_s();
	int k;

	snprintf(bid, sizeof bid, "%lld", (long long)batch);
	ok_cmd(pg, PQexec(pg, "BEGIN"), "bare begin");
	for (k = 1; k <= 500; k++) {
		snprintf(idx, sizeof idx, "%d", 100000 * (round + 1) + k);
		snprintf(id, sizeof id, "A%06d", k);
		ok_cmd(pg, PQexecPrepared(pg, "bare_item", 3, item, NULL, NULL, 0), "bare item");
	}
	snprintf(bid, sizeof bid, "%d", -(round + 1));
	for (k = 1; k <= 500; k++) {
		snprintf(hold, sizeof hold, "account:A%06d", k);
		ok_cmd(pg, PQexecPrepared(pg, "bare_hold", 2, h, NULL, NULL, 0), "bare hold");
	}
	ok_cmd(pg, PQexec(pg, "COMMIT"), "bare commit");
	return now_s() - t0;
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

static const char *const tools[] = {"propose_changes"};
static const char *const fields[] = {"tier"};

int main(int argc, char **argv)
{
	struct policy_workflow wf = {0};
	struct policy pol = {0};
	struct gate g;
	struct gate_call call = {"agent:bench", "mcp:write", "propose_changes", "v1"};
	struct err err = {0};
	struct store *s;
	PGconn *pg;
	json_t *args, *r, *rep;
	int big = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 100000, reps = 5, i;
	int64_t first = 0, id;
	double a[5], b[5], t0, apply_s, undo_s, up_s, back_s;

	if (argc < 2 || big < 500)
		die("usage", "bench_pg URL [N >= 500]");
	wf.name = "retier";
	wf.tools = tools;
	wf.ntools = 1;
	wf.effect = EFFECT_WRITE;
	wf.reversible = 1;
	wf.stage_max = 10000000;
	wf.fields = fields;
	wf.nfields = 1;
	wf.ttl_seconds = 86400;
	wf.max_pending = 1000000;
	pol.workflows = &wf;
	pol.nworkflows = 1;
	if (store_open(&s, argv[1], &err))
		die("open", err.msg);
	if (strcmp(store_backend_name(s), "postgres") != 0)
		die("open", "not a PostgreSQL URL");
	pg = store_native_handle(s);
	fill(s, big);
	g.store = s;
	g.policy = &pol;
	ok_cmd(pg,
	       PQprepare(pg, "bare_item",
			 "INSERT INTO batch_item(batch_id,idx,record_id,changes,before,version,"
			 "reasons,evidence,restore) VALUES($3,$1,$2,'{\"tier\":1}',"
			 "'{\"id\":\"A000001\",\"name\":\"Company 1\",\"segment\":\"smb\","
			 "\"region\":\"EMEA\",\"tier\":3,\"lifecycle\":\"prospect\"}',1,"
			 "'[\"intent surge\"]','[\"S1\"]','{\"tier\":3}')",
			 3, NULL),
	       "prepare bare_item");
	ok_cmd(pg,
	       PQprepare(pg, "bare_hold",
			 "INSERT INTO radius_batch(batch_id,record_id,principal,workflow)"
			 " VALUES($2,$1,'agent:bare','retier')",
			 2, NULL),
	       "prepare bare_hold");
	ok_cmd(pg,
	       PQprepare(pg, "bare_update",
			 "UPDATE account SET tier=$2,version=version+1 WHERE id=$1", 2, NULL),
	       "prepare bare_update");

	/* staging 500 items vs the bare inserts of its rows, alternating */
	for (i = 0; i < reps; i++) {
		args = json_pack("{s:s,s:s,s:s,s:o}", "workflow", "retier", "scope", "region=EMEA",
				 "rationale", "bench", "items", items_json(500, 1 + i % 2));
		t0 = now_s();
		if (gate_call_tool(&g, &call, args, &r, &err))
			die("stage", err.msg);
		a[i] = now_s() - t0;
		if (!first)
			first = json_integer_value(json_object_get(r, "batch_id"));
		json_decref(r);
		json_decref(args);
		b[i] = bare_insert(pg, first, i);
	}
	printf("stage 500 items:      airlock %8.2f ms   bare libpq insert %8.2f ms   ratio %.2f "
	       "(goal <= 3)\n",
	       median(a, reps) * 1e3, median(b, reps) * 1e3, median(a, reps) / median(b, reps));
	printf("  runs airlock ms:");
	for (i = 0; i < reps; i++)
		printf(" %.2f", a[i] * 1e3);
	printf("   bare ms:");
	for (i = 0; i < reps; i++)
		printf(" %.2f", b[i] * 1e3);
	printf("\n");
	fflush(stdout);
	double stage_ratio = median(a, reps) / median(b, reps), stage_ms = median(a, reps) * 1e3,
	       bare_ms = median(b, reps) * 1e3;

	/* apply and undo of a big batch vs the bare updates of its rows */
	up_s = bare_update(pg, big, 2); /* warm, and the baselines */
	back_s = bare_update(pg, big, 3);
	args = json_pack("{s:s,s:s,s:s,s:o}", "workflow", "retier", "scope", "region=EMEA",
			 "rationale", "bench", "items", items_json(big, 1));
	if (gate_call_tool(&g, &call, args, &r, &err))
		die("stage big", err.msg);
	json_decref(args);
	id = json_integer_value(json_object_get(r, "batch_id"));
	json_decref(r);
	/* the bench reads no sample: approving past it is an override */
	if (staging_approve(s, id, "human:bench", "cli", &err) &&
	    staging_approve_override(s, id, "human:bench", "cli", "bench: no sample read", &err))
		die("approve", err.msg);
	t0 = now_s();
	if (staging_apply(s, id, "human:bench", "cli", 0, &rep, &err))
		die("apply", err.msg);
	apply_s = now_s() - t0;
	json_decref(rep);
	t0 = now_s();
	if (staging_undo(s, id, "human:bench", "cli", 0, &rep, &err))
		die("undo", err.msg);
	undo_s = now_s() - t0;
	json_decref(rep);
	printf("apply %d items:   airlock %8.1f ms   bare libpq update %8.1f ms   ratio %.2f (goal <= 2)\n",
	       big, apply_s * 1e3, up_s * 1e3, apply_s / up_s);
	printf("undo %d items:    airlock %8.1f ms   bare libpq update %8.1f ms   ratio %.2f (goal <= 2)\n",
	       big, undo_s * 1e3, back_s * 1e3, undo_s / back_s);
	printf("json {\"stage_ms\":%.3f,\"stage_bare_ms\":%.3f,\"stage_ratio\":%.3f,"
	       "\"apply_ms\":%.1f,\"apply_bare_ms\":%.1f,\"apply_ratio\":%.3f,"
	       "\"undo_ms\":%.1f,\"undo_bare_ms\":%.1f,\"undo_ratio\":%.3f}\n",
	       stage_ms, bare_ms, stage_ratio, apply_s * 1e3, up_s * 1e3, apply_s / up_s,
	       undo_s * 1e3, back_s * 1e3, undo_s / back_s);
	store_close(s);
	return 0;
}
