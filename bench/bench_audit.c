/* bench_audit.c — the action log's speed: appends (in transactions, the
 * way callers batch them) and verify, against bare BLAKE2b over exactly the
 * bytes verify hashes, measured in the same run.
 *
 * The log is a mix: four read calls (get_account, ~300-byte bodies) for
 * every write proposal (a re-tier of three accounts, ~600 bytes). Each
 * timing is the best of three runs, since the machine may be shared;
 * verify is timed with its checking thread and without.
 *
 * usage: bench_audit [ENTRIES [PER_TRANSACTION]]   (default 1000000 1000) */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the whole process: on a shared machine it moves less than
 * the wall clock, and a one-thread verify is the only thing running. */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The machine may be shared: say how busy it was. */
static const char *loadavg(void)
{
	static char buf[64];
	FILE *f = fopen("/proc/loadavg", "r");

	if (!f || !fgets(buf, sizeof buf, f))
		snprintf(buf, sizeof buf, "unknown\n");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static void die(const char *what, const struct err *err)
{
	fprintf(stderr, "bench_audit: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

/* A read-connector call, the most common entry by far. */
static json_t *read_args(long i)
{
	char id[16];

	snprintf(id, sizeof id, "ACC-%06ld", (i * 7919) % 400000);
	return json_pack("{s:s}", "id", id);
}

/* A write-connector entry: a re-tier of three accounts. */
static json_t *proposal_args(long i)
{
	char a[3][16];
	int k;

	for (k = 0; k < 3; k++)
		snprintf(a[k], sizeof a[k], "ACC-%06ld", (i * 7 + k * 131) % 400000);
	return json_pack("{s:s,s:s,s:s,s:[{s:s,s:{s:i},s:s},{s:s,s:{s:i},s:s},{s:s,s:{s:i},"
			 "s:s}]}",
			 "workflow", "retier", "scope", "tier 2 mid-market EMEA", "rationale",
			 "hiring signals in the last 30 days", "items", "id", a[0], "set", "tier",
			 1, "reason", "3 hiring signals", "id", a[1], "set", "tier", 2, "reason",
			 "funding round", "id", a[2], "set", "tier", 1, "reason", "intent surge");
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
	long per_tx = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
	char dir[] = "/tmp/airlock-bench-XXXXXX", path[64], cmd[96];
	struct audit_verify_result r;
	struct err err = {0};
	struct store *s;
	struct store_stmt *st;
	unsigned char prev[AUDIT_HASH_BYTES] = {0}, h[AUDIT_HASH_BYTES];
	char **bodies;
	size_t *lens, bytes = 0;
	double t0, t_append, t_verify, t_verify1, t_hash, t_scan, c_verify1, c_hash;
	long i;
	int rc, k;

	if (total < 1 || per_tx < 1 || sodium_init() < 0)
		return 2;
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/bench.db", dir);
	if (store_create(&s, path, &err))
		die("open", &err);

	t0 = now();
	for (i = 0; i < total; i++) {
		struct audit_entry e = {0};
		int write = i % 5 == 4;
		json_t *args = write ? proposal_args(i) : read_args(i);
		char summary[64];

		if (i % per_tx == 0 && store_begin(s, &err))
			die("begin", &err);
		e.principal = "agent:scout";
		e.args = args;
		e.instruction_version = "retier-v7";
		if (write) {
			e.surface = "mcp:write";
			e.tool = "propose_changes";
			e.decision = "staged";
			e.summary = "re-tier 3 accounts";
			e.batch_id = "B-000123";
		} else {
			snprintf(summary, sizeof summary, "read account %s",
				 json_string_value(json_object_get(args, "id")));
			e.surface = "mcp:read";
			e.tool = "get_account";
			e.decision = "read";
			e.summary = summary;
		}
		if (audit_append(s, &e, NULL, &err))
			die("append", &err);
		json_decref(args);
		if ((i % per_tx == per_tx - 1 || i == total - 1) && store_commit(s, &err))
			die("commit", &err);
	}
	t_append = now() - t0;

	t_verify = t_verify1 = c_verify1 = 1e30;
	for (k = 0; k < 6; k++) {
		double took, c0 = cpu_now();

		audit_verify_threads = k % 2 ? 1 : 2;
		t0 = now();
		if (audit_verify(s, NULL, &r, &err))
			die("verify", &err);
		if (!r.ok) {
			fprintf(stderr, "bench_audit: verify found a problem: %s\n", r.message);
			exit(1);
		}
		took = now() - t0;
		if (k % 2 && cpu_now() - c0 < c_verify1)
			c_verify1 = cpu_now() - c0;
		if (k % 2 && took < t_verify1)
			t_verify1 = took;
		else if (k % 2 == 0 && took < t_verify)
			t_verify = took;
	}

	/* what reading alone costs: the same columns, touched, not checked */
	t0 = now();
	if (store_prepare(s,
			  "SELECT seq, at, principal, surface, tool, instruction_version, decision,"
			  " batch_id, body, prev_hash, hash FROM action_log ORDER BY seq",
			  &st, &err))
		die("prepare", &err);
	while ((rc = store_step(st, &err)) == STORE_ROW) {
		int c;

		for (c = 0; c < 11; c++)
			bytes += (size_t)store_col_bytes(st, c);
	}
	store_done(st);
	t_scan = now() - t0;

	/* the baseline: the bodies in memory, hashed in a tight loop exactly as
	 * verify hashes them (tag, seq, prev, body) */
	bodies = calloc((size_t)total, sizeof *bodies);
	lens = calloc((size_t)total, sizeof *lens);
	if (!bodies || !lens ||
	    store_prepare(s, "SELECT body FROM action_log ORDER BY seq", &st, &err))
		die("load", &err);
	bytes = 0;
	for (i = 0; store_step(st, &err) == STORE_ROW && i < total; i++) {
		lens[i] = (size_t)store_col_bytes(st, 0);
		bodies[i] = malloc(lens[i]);
		memcpy(bodies[i], store_col_text(st, 0), lens[i]);
		bytes += lens[i];
	}
	store_done(st);
	t_hash = c_hash = 1e30;
	for (k = 0; k < 3; k++) {
		double c0 = cpu_now();

		memset(prev, 0, sizeof prev);
		t0 = now();
		for (i = 0; i < total; i++) {
			audit_hash(i + 1, prev, bodies[i], lens[i], h);
			memcpy(prev, h, sizeof prev);
		}
		if (now() - t0 < t_hash)
			t_hash = now() - t0;
		if (cpu_now() - c0 < c_hash)
			c_hash = cpu_now() - c0;
	}
	if (memcmp(prev, r.head, sizeof prev) != 0)
		die("baseline head differs from verify's", NULL);

	printf("entries            %ld (bodies %.0f bytes on average)\n", total,
	       (double)bytes / (double)total);
	printf("append             %.2f s  %.0f entries/s  (%ld per transaction)\n", t_append,
	       (double)total / t_append, per_tx);
	printf("verify, 2 threads  %.3f s  %.0f entries/s\n", t_verify, (double)total / t_verify);
	printf("verify, 1 thread   %.3f s  %.0f entries/s\n", t_verify1, (double)total / t_verify1);
	printf("bare BLAKE2b       %.3f s  %.0f entries/s  %.0f MB/s\n", t_hash,
	       (double)total / t_hash, (double)bytes / t_hash / 1e6);
	printf("SQLite read only   %.3f s  %.0f entries/s\n", t_scan, (double)total / t_scan);
	printf("verify / BLAKE2b   %.2f with 2 threads, %.2f with 1  (goal: at most 3)\n",
	       t_verify / t_hash, t_verify1 / t_hash);
	printf("CPU time, 1 thread verify %.3f s, BLAKE2b %.3f s: %.2f\n", c_verify1, c_hash,
	       c_verify1 / c_hash);
	printf("CPUs online        %ld, load average when done: %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), loadavg());

	for (i = 0; i < total; i++)
		free(bodies[i]);
	free(bodies);
	free(lens);
	store_close(s);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (getenv("BENCH_KEEP"))
		fprintf(stderr, "bench_audit: kept %s\n", path);
	else if (system(cmd) != 0)
		fprintf(stderr, "bench_audit: could not remove %s\n", dir);
	return 0;
}
