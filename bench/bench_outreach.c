/* bench_outreach.c — the audience guard and draft_email on a book of N
 * accounts, each as a ratio to the bare SQLite work it implies, measured in
 * the same run on the same file.
 *
 *   guard:  outreach_guard_args (2 recipients)  vs  the reads it needs:
 *           book_get of the account and of 2 contacts, and 2 touch counts
 *   draft:  outreach_draft_create, one durable transaction each  vs  a bare
 *           INSERT of the draft row and its 2 recipient rows, one durable
 *           transaction each
 *
 *   usage: bench_outreach ACCOUNTS CALLS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book.h"
#include "outreach.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, struct err *err)
{
	fprintf(stderr, "bench_outreach: %s: %s\n", what, err->msg);
	exit(1);
}

static void fill(struct store *s, int n)
{
	char sql[1024];
	struct err err = {0};

	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<%d)"
		 " INSERT INTO account(id,name,domain,segment,region,tier,lifecycle,updated_at)"
		 " SELECT printf('A%%06d',i),'Company '||i,printf('c%%d.test',i),"
		 "CASE i%%3 WHEN 0 THEN 'smb' WHEN 1 THEN 'mid-market' ELSE 'enterprise' END,"
		 "'EMEA',1+i%%4,'prospect','2026-11-01T00:00:00Z' FROM n;"
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<%d),"
		 " k(j) AS (VALUES(1),(2),(3))"
		 " INSERT INTO contact(id,account_id,name,email,updated_at)"
		 " SELECT printf('C%%06d-%%d',i,j),printf('A%%06d',i),'Person',"
		 "printf('p%%d@c%%d.test',j,i),'2026-11-01T00:00:00Z' FROM n, k",
		 n, n);
	if (store_exec(s, sql, &err))
		die("fill", &err);
}

static json_t *args_for(int i)
{
	char acc[16], c1[24], c2[24];

	snprintf(acc, sizeof acc, "A%06d", i);
	snprintf(c1, sizeof c1, "C%06d-1", i);
	snprintf(c2, sizeof c2, "C%06d-2", i);
	return json_pack("{s:s,s:[s,s],s:s,s:s,s:s}", "account_id", acc, "contacts", c1, c2,
			 "subject", "A question", "body", "Hello,\nshort note.\n", "audience",
			 "lifecycle=prospect AND tier<=4");
}

static void bare_reads(struct store *s, int i)
{
	char acc[16], c[24];
	struct err err = {0};
	struct store_stmt *st;
	json_t *o;
	int k;

	snprintf(acc, sizeof acc, "A%06d", i);
	if (book_get(s, BOOK_ACCOUNT, acc, &o, &err))
		die("get", &err);
	json_decref(o);
	for (k = 1; k <= 2; k++) {
		snprintf(c, sizeof c, "C%06d-%d", i, k);
		if (book_get(s, BOOK_CONTACT, c, &o, &err))
			die("get", &err);
		json_decref(o);
		if (store_prepare(s, "SELECT count(*) FROM touch WHERE contact_id=?1 AND at>=?2", &st,
				  &err))
			die("prepare", &err);
		store_bind_text(st, 1, c);
		store_bind_text(st, 2, "2026-10-01T00:00:00Z");
		store_step(st, &err);
		store_done(st);
	}
}

static void bare_insert(struct store *s, int i)
{
	struct store_stmt *st;
	struct err err = {0};
	char id[32], acc[16], c[24];
	int k;

	snprintf(id, sizeof id, "bare_%d", i);
	snprintf(acc, sizeof acc, "A%06d", i);
	if (store_begin(s, &err) ||
	    store_prepare(s,
			  "INSERT INTO draft(id,account_id,subject,body,audience,principal,status,"
			  "created_at,updated_at) VALUES(?1,?2,'A question','Hello,\nshort note.\n',"
			  "'lifecycle=prospect AND tier<=4','agent:bench','draft',?3,?3)",
			  &st, &err))
		die("insert", &err);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, acc);
	store_bind_text(st, 3, "2026-11-26T00:00:00Z");
	if (store_step(st, &err) != STORE_DONE)
		die("insert", &err);
	store_done(st);
	for (k = 1; k <= 2; k++) {
		snprintf(c, sizeof c, "C%06d-%d", i, k);
		if (store_prepare(s,
				  "INSERT INTO draft_recipient(draft_id,position,contact_id,address)"
				  " VALUES(?1,?2,?3,?4)",
				  &st, &err))
			die("insert", &err);
		store_bind_text(st, 1, id);
		store_bind_int(st, 2, k);
		store_bind_text(st, 3, c);
		store_bind_text(st, 4, "p@x.test");
		if (store_step(st, &err) != STORE_DONE)
			die("insert", &err);
		store_done(st);
	}
	if (store_commit(s, &err))
		die("commit", &err);
}

int main(int argc, char **argv)
{
	static const char *const comp[] = {"rival.test"};
	struct outreach_audience_rules rules = {comp, 1, 30, 3};
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 100000;
	int calls = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 2000;
	char dir[] = "/tmp/airlock-bench-XXXXXX", path[300], cmd[320];
	struct err err = {0};
	struct store *s;
	json_t *args, *res;
	double t0, t_guard, t_reads, t_draft, t_bare;
	int i, dcalls;

	if (n < 1 || calls < 1 || !mkdtemp(dir))
		return 2;
	snprintf(path, sizeof path, "%s/bench.db", dir);
	if (store_create(&s, path, &err))
		die("open", &err);
	fill(s, n);
	for (i = 0; i < calls; i++) /* warm the page cache on both paths */
		bare_reads(s, 1 + i % n);
	t0 = now_s();
	for (i = 0; i < calls; i++)
		bare_reads(s, 1 + (i * 7919) % n);
	t_reads = now_s() - t0;
	t0 = now_s();
	for (i = 0; i < calls; i++) {
		args = args_for(1 + (i * 7919) % n);
		if (outreach_guard_args(s, &rules, args, &res, &err))
			die("guard", &err);
		if (json_array_size(res) != 0)
			die("guard found something", &err);
		json_decref(res);
		json_decref(args);
	}
	t_guard = now_s() - t0;
	printf("  guard, %d accounts: %.1f us per draft (2 recipients), bare reads %.1f us,"
	       " ratio %.2fx\n",
	       n, t_guard * 1e6 / calls, t_reads * 1e6 / calls, t_guard / t_reads);
	dcalls = calls < 500 ? calls : 500; /* each is a durable commit */
	t0 = now_s();
	for (i = 0; i < dcalls; i++)
		bare_insert(s, 1 + (i * 7919) % n);
	t_bare = now_s() - t0;
	t0 = now_s();
	for (i = 0; i < dcalls; i++) {
		args = args_for(1 + (i * 104729) % n);
		if (outreach_draft_create(s, &rules, "agent:bench", "v1", args, &res, &err))
			die("draft", &err);
		json_decref(res);
		json_decref(args);
	}
	t_draft = now_s() - t0;
	printf("  draft_email: %.1f us per draft (guard, insert, log, durable commit),"
	       " bare insert+commit %.1f us, ratio %.2fx\n",
	       t_draft * 1e6 / dcalls, t_bare * 1e6 / dcalls, t_draft / t_bare);
	store_close(s);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
