/* bench_replay.c — `airlock policy replay` over 100k logged proposals (issue
 * 21: under 10 s).
 *
 * A database gets N log entries, each with the gate's snapshot beside it:
 * random workflows (retier, field_update, merge), radius 1..300, running
 * total up to 300 more, 0..25 waiting batches, the records by their fields,
 * and the decision gate_decide() gives under the default policy; a queued
 * proposal names its batch, which a person approves about 30 proposals
 * later 9 times in 10 (the replay re-simulates which batches wait). Then, per
 * round, replay_run() under a candidate (retier's stage_max 200 → 20, so
 * decisions do change) against a baseline in the same run: the same query
 * read to the end with every column fetched and nothing decided. The ratio
 * says what re-deciding costs over reading the history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "gate.h"
#include "policy.h"
#include "replay.h"
#include "store.h"

#define ROUNDS 7

static void die(const char *what, struct err *err)
{
	fprintf(stderr, "bench_replay: %s: %s\n", what, err->msg);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct policy *load(const char *dir, const char *name, const char *yaml)
{
	char path[512];
	struct policy *p;
	struct err err = {0};
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(yaml, f) < 0 || fclose(f))
		return NULL;
	if (policy_load(path, &p, &err))
		die("policy", &err);
	return p;
}

/* The history: n log entries and their snapshots, in one transaction. */
static void fill(struct store *s, const struct policy *p, int n)
{
	static const char *const wfs[] = {"retier", "field_update", "merge"};
	static const char *const tools[] = {"propose_changes", "propose_changes", "propose_merge"};
	static const char *const fu[] = {"owner", "industry", "custom.x"};
	struct err err = {0};
	struct store_stmt *st;
	json_t *args = json_object(), *none = json_array();
	char fields[256], bid[24];
	int i, k, queued[32] = {0};

	if (store_begin(s, &err))
		die("begin", &err);
	for (i = 0; i < n; i++) {
		int w = rand() % 3;
		const struct policy_workflow *wf = policy_workflow(p, wfs[w]);
		struct gate_state gs;
		struct gate_decision gd;
		struct audit_entry e = {0};

		gs.radius = 1 + rand() % 300;
		gs.cumulative = gs.radius + rand() % 300;
		gs.pending = rand() % 26;
		gate_decide(p, wf, &gs, &gd);
		e.principal = "agent:bench";
		e.surface = "mcp:write";
		e.tool = tools[w];
		e.args = args;
		e.decision = gate_decision_name(&gd);
		e.record_ids = none;
		/* a queued proposal names its batch (its index), which a person
		 * approves about 30 proposals later, 9 times in 10 */
		if (!strcmp(e.decision, "staged") || !strcmp(e.decision, "blocked")) {
			snprintf(bid, sizeof bid, "%d", i + 1);
			e.batch_id = bid;
			queued[i % 32] = i + 1;
		}
		if (audit_append(s, &e, NULL, &err))
			die("append", &err);
		if (queued[(i + 2) % 32] && rand() % 10) {
			struct audit_entry ap = {0};

			snprintf(bid, sizeof bid, "%d", queued[(i + 2) % 32]);
			ap.principal = "human:bench";
			ap.surface = "cli";
			ap.tool = "approve";
			ap.args = args;
			ap.decision = "approved";
			ap.batch_id = bid;
			ap.record_ids = none;
			if (audit_append(s, &ap, NULL, &err))
				die("append", &err);
		}
		queued[(i + 2) % 32] = 0;
		/* records grouped by the fields they set, as gate.c records them */
		if (w == 0)
			snprintf(fields, sizeof fields, "{\"tier\":%lld}", (long long)gs.radius);
		else {
			int c[3] = {0, 0, 0};

			for (k = 0; k < gs.radius; k++)
				c[rand() % 3]++;
			snprintf(fields, sizeof fields, "{\"%s\":%d,\"%s\":%d,\"%s\\n%s\":%d}",
				 fu[0], c[0], fu[1], c[1], fu[0], fu[2], c[2]);
		}
		if (store_prepare(s,
				  "INSERT INTO gate_snapshot(seq,workflow,tool,action,radius,"
				  "cumulative,pending,fields,decision) SELECT max(seq),?1,?2,?3,?4,?5,"
				  "?6,?7,?8 FROM action_log",
				  &st, &err))
			die("prepare", &err);
		store_bind_text(st, 1, wfs[w]);
		store_bind_text(st, 2, tools[w]);
		store_bind_text(st, 3, w == 2 ? "merge" : "update");
		store_bind_int(st, 4, gs.radius);
		store_bind_int(st, 5, gs.cumulative);
		store_bind_int(st, 6, gs.pending);
		store_bind_text(st, 7, w == 2 ? NULL : fields);
		store_bind_text(st, 8, gate_decision_name(&gd));
		if (store_step(st, &err) != STORE_DONE)
			die("snapshot", &err);
		store_done(st);
	}
	if (store_commit(s, &err))
		die("commit", &err);
	json_decref(args);
	json_decref(none);
}

/* The baseline: the replay's query read to the end, nothing decided. */
static long scan(struct store *s)
{
	struct err err = {0};
	struct store_stmt *st;
	long sum = 0;
	int c;

	if (store_prepare(s,
			  "SELECT g.seq,l.at,l.principal,g.workflow,g.tool,g.action,g.radius,"
			  "g.cumulative,g.pending,g.fields,g.decision FROM gate_snapshot g"
			  " JOIN action_log l ON l.seq=g.seq WHERE ?1 IS NULL OR l.at>=?1"
			  " ORDER BY g.seq",
			  &st, &err))
		die("scan", &err);
	while (store_step(st, &err) == STORE_ROW)
		for (c = 0; c < 11; c++)
			sum += c == 9 ? (long)store_col_bytes(st, c)
				      : (long)(store_col_text(st, c) ? 1 : 0);
	store_done(st);
	return sum;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench_replay.XXXXXX", path[512], *small;
	const char *yaml = policy_default_yaml(), *at;
	struct policy *cur, *cand;
	struct store *s;
	struct err err = {0};
	double a[ROUNDS], b[ROUNDS], r[ROUNDS], t0;
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 100000, i;
	long sink = 0;
	json_t *rep = NULL;

	srand(21);
	if (!mkdtemp(dir))
		return 1;
	cur = load(dir, "cur.yaml", yaml);
	small = strdup(yaml);
	at = small ? strstr(small, "stage_max: 200") : NULL;
	if (!at)
		return 1;
	memcpy(small + (at - small), "stage_max:  20", 14);
	cand = load(dir, "cand.yaml", small);
	snprintf(path, sizeof path, "%s/replay.db", dir);
	if (store_create(&s, path, &err))
		die("open", &err);
	t0 = now_s();
	fill(s, cur, n);
	printf("bench_replay: %d logged proposals written in %.2f s\n", n, now_s() - t0);
	for (i = 0; i < ROUNDS; i++) {
		t0 = now_s();
		sink += scan(s);
		b[i] = now_s() - t0;
		t0 = now_s();
		if (replay_run(s, cur, cand, NULL, &rep, &err))
			die("replay", &err);
		a[i] = now_s() - t0;
		sink += (long)json_integer_value(json_object_get(rep, "changed"));
		if (i == 0)
			printf("bench_replay: %lld proposals, %lld decided differently\n",
			       (long long)json_integer_value(json_object_get(rep, "proposals")),
			       (long long)json_integer_value(json_object_get(rep, "changed")));
		json_decref(rep);
		r[i] = a[i] / b[i];
	}
	qsort(a, ROUNDS, sizeof *a, cmp_double);
	qsort(b, ROUNDS, sizeof *b, cmp_double);
	qsort(r, ROUNDS, sizeof *r, cmp_double);
	printf("replay %d proposals: median %.3f s (min %.3f, max %.3f) over %d rounds\n", n,
	       a[ROUNDS / 2], a[0], a[ROUNDS - 1], ROUNDS);
	printf("baseline scan:       median %.3f s (min %.3f, max %.3f)\n", b[ROUNDS / 2], b[0],
	       b[ROUNDS - 1]);
	printf("ratio replay/scan:   median %.2f (min %.2f, max %.2f)  [sink %ld]\n",
	       r[ROUNDS / 2], r[0], r[ROUNDS - 1], sink);
	store_close(s);
	policy_free(cur);
	policy_free(cand);
	free(small);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	return system(path) == 0 ? 0 : 1;
}
