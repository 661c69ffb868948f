/* test_faults.c — allocation and I/O failures injected by a countdown, in
 * SQLite's manner: for N = 1, 2, 3, ... the Nth allocation (airlock's own
 * malloc/calloc/realloc/strdup, jansson's, SQLite's) or the Nth write, sync
 * or truncate SQLite makes fails, once, during one operation (apply, undo,
 * import, propose, propose_merge, request_send, the send's delivery),
 * until an N is reached that the operation never gets to. After every
 * failure: the operation said so (nonzero with a message) or finished (or
 * declined, as the gate may refuse a call it could not check); the
 * database passes PRAGMA integrity_check; the action log verifies; and the
 * book and batches are exactly as before the operation or exactly as after
 * it.
 * Leaks on any failure path are ASan's to report at exit.
 *
 * Every N from 1 to DENSE, then a stride of N/16 (so `make check` stays
 * within about a minute); FAULTS_FULL=1 tries every N (soak).
 *
 * airlock's allocations are counted through the linker: this binary is
 * linked with -Wl,--wrap=malloc,... (Makefile), so airlock's objects call
 * the __wrap_ functions below without a line of airlock changing. */
#include "fixtures.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include "audit.h"
#include "gate.h"
#include "import.h"
#include "outreach.h"
#include "review.h"

/* ---- the countdowns ---- */

static int counting;          /* faults armed: only around the operation */
static long alloc_left;       /* > 0: the alloc_left-th allocation from now fails */
static long write_left;       /* the same for writes, syncs and truncates */
static long allocs, writes;   /* counted while armed, for the report */
static int fault_hit;

static int fail_now(long *left, long *count)
{
	if (!counting)
		return 0;
	(*count)++;
	if (*left <= 0 || --*left > 0)
		return 0;
	fault_hit = 1;
	return 1;
}

static int alloc_fails(void) { return fail_now(&alloc_left, &allocs); }

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n) { return alloc_fails() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return alloc_fails() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return alloc_fails() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return alloc_fails() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return alloc_fails() ? NULL : __real_strndup(s, n); }

/* outreach reads time(NULL), not AIRLOCK_NOW (clock.h): a second ticking
 * between two runs would tell them apart. Pinned here for every object. */
#define PINNED_NOW ((time_t)1796119200) /* 2026-12-01T10:00:00Z */
time_t __wrap_time(time_t *t);
time_t __wrap_time(time_t *t)
{
	if (t)
		*t = PINNED_NOW;
	return PINNED_NOW;
}

static void *json_malloc_counted(size_t n) { return alloc_fails() ? NULL : __real_malloc(n); }
static void json_free_plain(void *p) { free(p); }

static sqlite3_mem_methods sqlite_mem;
static void *sqlite_malloc_counted(int n) { return alloc_fails() ? NULL : sqlite_mem.xMalloc(n); }
static void *sqlite_realloc_counted(void *p, int n)
{
	return alloc_fails() ? NULL : sqlite_mem.xRealloc(p, n);
}

/* ---- a VFS that fails the Nth write ---- */

struct shim_file {
	sqlite3_file base;
	sqlite3_file *real; /* the default VFS's file, right after this struct */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;

#define REAL(f) (((struct shim_file *)(f))->real)

static int sh_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int sh_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int sh_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
	if (fail_now(&write_left, &writes))
		return SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int sh_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (fail_now(&write_left, &writes))
		return SQLITE_IOERR_TRUNCATE;
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int sh_sync(sqlite3_file *f, int flags)
{
	if (fail_now(&write_left, &writes))
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int sh_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int sh_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int sh_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int sh_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int sh_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int sh_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int sh_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int sh_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, p);
}
static int sh_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void sh_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int sh_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int sh_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, p);
}
static int sh_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods shim_io = {
	3,	     sh_close,	 sh_read,     sh_write,	      sh_truncate,    sh_sync,	     sh_size,
	sh_lock,     sh_unlock,	 sh_reserved, sh_fcntl,	      sh_sector,      sh_devchar,    sh_shm_map,
	sh_shm_lock, sh_shm_barrier, sh_shm_unmap, sh_fetch,	 sh_unfetch,
};

static int sh_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct shim_file *s = (struct shim_file *)f;
	int rc;

	(void)vfs;
	s->real = (sqlite3_file *)(s + 1);
	rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out);
	/* the unix VFS's files are version 3; a shim of a lower one would
	 * claim methods it does not have */
	s->base.pMethods = s->real->pMethods && s->real->pMethods->iVersion >= 3 ? &shim_io
										 : s->real->pMethods;
	if (s->base.pMethods && s->base.pMethods != &shim_io)
		return SQLITE_CANTOPEN; /* not what this harness was written for */
	return rc;
}

static void faults_install(void)
{
	static sqlite3_mem_methods counted;

	/* before SQLite initialises: its allocator can only be set then */
	assert_int_equal(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_mem), SQLITE_OK);
	counted = sqlite_mem;
	counted.xMalloc = sqlite_malloc_counted;
	counted.xRealloc = sqlite_realloc_counted;
	assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &counted), SQLITE_OK);
	json_set_alloc_funcs(json_malloc_counted, json_free_plain);
	real_vfs = sqlite3_vfs_find(NULL);
	assert_non_null(real_vfs);
	shim_vfs = *real_vfs;
	shim_vfs.zName = "airlock-faults";
	shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
	shim_vfs.xOpen = sh_open;
	assert_int_equal(sqlite3_vfs_register(&shim_vfs, 1), SQLITE_OK);
}

/* ---- the fixtures ---- */

static const char *const send_tools[] = {"request_send"};
static const char *const draft_tools[] = {"draft_email"};

struct fx {
	char dir[256];
	char template[320], work[320], csv[320];
	struct policy policy;
	struct policy_workflow wf[5];
	int64_t batch;  /* the batch the operation works on */
	char draft[64]; /* the draft request_send asks for */
};

static struct fx fx;

static void policy_init(struct fx *f)
{
	fixture_policy(&f->policy, f->wf);
	f->wf[3] = f->wf[0];
	f->wf[3].name = "outreach";
	f->wf[3].tools = draft_tools;
	f->wf[3].effect = EFFECT_DRAFT;
	f->wf[3].fields = NULL;
	f->wf[3].nfields = 0;
	f->wf[4] = f->wf[3];
	f->wf[4].name = "send";
	f->wf[4].tools = send_tools;
	f->wf[4].effect = EFFECT_SEND;
	f->wf[4].reversible = 0;
	f->policy.nworkflows = 5;
	f->policy.audience.touch_window_days = 30;
	f->policy.audience.max_touches = 2;
	/* a relay that is not there: delivery fails and is retried later */
	f->policy.smtp.host = "127.0.0.1";
	f->policy.smtp.port = 9; /* discard; nothing listens on loopback */
	f->policy.smtp.from = "Sales <sales@example.com>";
	f->policy.smtp.timeout_seconds = 2;
	f->policy.smtp.max_attempts = 3;
}

static json_t *gate_run(struct store *s, const char *tool, json_t *args, struct err *err, int *rc)
{
	struct gate g = {s, &fx.policy};
	struct gate_call c = {"agent:scout", "mcp:write", tool, "v1"};
	json_t *r = NULL;

	*rc = gate_call_tool(&g, &c, args, &r, err);
	json_decref(args);
	return r;
}

static json_t *owner_args(int n)
{
	json_t *items = json_array();
	char id[32], sig[32];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof id, "A%03d", i);
		snprintf(sig, sizeof sig, "S%03d", i); /* the account's own signal */
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:[s]}", "record_id", id,
						       "field", "owner", "value", "lee", "reason",
						       "territory change", "evidence", sig));
	}
	return json_pack("{s:s,s:s,s:s,s:o}", "workflow", "field_update", "scope", "tier=3",
			 "rationale", "territories", "items", items);
}

static json_t *retier_args(int n)
{
	json_t *items = json_array();
	char id[32], sig[32];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof id, "A%03d", i);
		snprintf(sig, sizeof sig, "S%03d", i);
		json_array_append_new(items, json_pack("{s:s,s:s,s:i,s:s,s:[s]}", "record_id", id,
						       "field", "tier", "value", 2, "reason",
						       "hiring surge", "evidence", sig));
	}
	return json_pack("{s:s,s:s,s:s,s:o}", "workflow", "retier", "scope", "tier=3", "rationale",
			 "hiring", "items", items);
}

/* A blocked batch (25 owners > field_update's stage_max 20) approved by a
 * person: what apply works on. */
static void prepare_approved(struct store *s)
{
	struct review r = {s, &fx.policy, "cli"};
	struct err err = {0};
	json_t *res;
	int rc;

	fixture_book(s, 30);
	res = gate_run(s, "propose_changes", owner_args(25), &err, &rc);
	assert_ok(rc, &err);
	assert_string_equal(json_string_value(json_object_get(res, "decision")), "blocked");
	fx.batch = json_integer_value(json_object_get(res, "batch_id"));
	json_decref(res);
	assert_ok(review_approve(&r, fx.batch, "human:maria", &err), &err);
}

static void prepare_applied(struct store *s)
{
	struct review r = {s, &fx.policy, "cli"};
	struct err err = {0};
	json_t *rep = NULL;

	prepare_approved(s);
	assert_ok(review_apply(&r, fx.batch, "human:maria", 0, &rep, &err), &err);
	json_decref(rep);
}

static void prepare_book(struct store *s) { fixture_book(s, 30); }

static void prepare_import(struct store *s)
{
	FILE *f = fopen(fx.csv, "w");
	int i;

	fixture_book(s, 10);
	assert_non_null(f);
	fputs("id,name,segment,region,tier\n", f);
	fputs("A001,Company One Renamed,smb,EMEA,2\n", f);
	fputs("A002,Company 2,mid-market,NA,3\n", f);
	for (i = 11; i <= 16; i++)
		fprintf(f, "A%03d,New Company %d,enterprise,NA,1\n", i, i);
	assert_int_equal(fclose(f), 0);
}

/* A draft to one contact, for request_send. */
static void prepare_draft(struct store *s)
{
	struct err err = {0};
	json_t *res;
	int rc;

	fixture_book(s, 5);
	res = gate_run(s, "draft_email",
		       json_pack("{s:s,s:[s],s:s,s:s,s:s}", "account_id", "A001", "contact_ids",
				 "C001-1", "subject", "Hello", "body", "Hi Pat", "audience",
				 "lifecycle=prospect"),
		       &err, &rc);
	assert_ok(rc, &err);
	assert_string_equal(json_string_value(json_object_get(res, "status")), "draft");
	snprintf(fx.draft, sizeof fx.draft, "%s", json_string_value(json_object_get(res, "draft_id")));
	json_decref(res);
}

/* The send requested (blocked for a person) and approved: applying it
 * delivers. */
static void prepare_send(struct store *s)
{
	struct review r = {s, &fx.policy, "cli"};
	struct err err = {0};
	json_t *res;
	int rc;

	prepare_draft(s);
	res = gate_run(s, "request_send", json_pack("{s:[s]}", "draft_ids", fx.draft), &err, &rc);
	assert_ok(rc, &err);
	assert_string_equal(json_string_value(json_object_get(res, "decision")), "blocked");
	fx.batch = json_integer_value(json_object_get(res, "batch_id"));
	json_decref(res);
	assert_ok(review_approve(&r, fx.batch, "human:maria", &err), &err);
}

/* ---- the operations ---- */

static int run_apply(struct store *s, struct err *err)
{
	struct review r = {s, &fx.policy, "cli"};
	json_t *rep = NULL;
	int rc = review_apply(&r, fx.batch, "human:maria", 0, &rep, err);

	json_decref(rep);
	return rc;
}

static int run_undo(struct store *s, struct err *err)
{
	struct review r = {s, &fx.policy, "cli"};
	json_t *rep = NULL;
	int rc = review_undo(&r, fx.batch, "human:maria", 0, &rep, err);

	json_decref(rep);
	return rc;
}

static int run_import(struct store *s, struct err *err)
{
	struct import_result res;

	return import_csv(s, BOOK_ACCOUNT, fx.csv, NULL, "human:ops", NULL, &res, err);
}

/* The arguments of a gate call, made before the fault is armed: the
 * agent's JSON is not airlock's to allocate. */
static json_t *op_args;

static json_t *propose_args(void) { return retier_args(10); }
static json_t *merge_args(void)
{
	return json_pack("{s:s,s:s,s:[s,s],s:s,s:s}", "workflow", "merge", "survivor_id", "A001",
			 "merged_ids", "A002", "A003", "rationale", "duplicates", "reason",
			 "same domain");
}

static int run_merge(struct store *s, struct err *err)
{
	int rc;
	json_t *r = gate_run(s, "propose_merge", op_args, err, &rc);

	if (rc == 0 && !json_object_get(r, "batch_id"))
		rc = err_set(err, AIRLOCK_ESTATE, "propose_merge: no batch in %s",
			     json_string_value(json_object_get(r, "decision")));
	json_decref(r);
	return rc;
}

static json_t *send_args(void) { return json_pack("{s:[s]}", "draft_ids", fx.draft); }

static int run_propose(struct store *s, struct err *err)
{
	int rc;
	json_t *r = gate_run(s, "propose_changes", op_args, err, &rc);

	if (rc == 0 && !json_object_get(r, "batch_id"))
		rc = err_set(err, AIRLOCK_ESTATE, "propose: no batch in %s",
			     json_string_value(json_object_get(r, "decision")));
	json_decref(r);
	return rc;
}

static int run_request_send(struct store *s, struct err *err)
{
	int rc;
	json_t *r = gate_run(s, "request_send", op_args, err, &rc);

	json_decref(r);
	return rc;
}

struct op {
	const char *name;
	void (*prepare)(struct store *s);
	int (*run)(struct store *s, struct err *err);
	json_t *(*make_args)(void); /* the gate call's arguments, or NULL */
	/* left out of the before/after comparison: the outbox of a delivery
	 * moves through committed steps by design (intent, sending, outcome) */
	const char *moving_table;
};

static const struct op ops[] = {
	{"apply", prepare_approved, run_apply, NULL, NULL},
	{"undo", prepare_applied, run_undo, NULL, NULL},
	{"import", prepare_import, run_import, NULL, NULL},
	{"propose", prepare_book, run_propose, propose_args, NULL},
	{"propose_merge", prepare_book, run_merge, merge_args, NULL},
	{"request_send", prepare_draft, run_request_send, send_args, NULL},
	{"send delivery", prepare_send, run_apply, NULL, "outbox"},
};

/* ---- state: the book and batches, byte for byte ---- */

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		*h = (*h ^ *c++) * 1099511628211ull;
}

/* Every table except the action log (a failure is logged, and the log is
 * checked by audit_verify) and the op's moving table. */
static uint64_t state_hash(struct store *s, const struct op *op)
{
	sqlite3 *db = store_native_handle(s);
	sqlite3_stmt *tables, *rows;
	uint64_t h = 14695981039346656037ull;
	char sql[300];
	int i, n;

	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT name FROM sqlite_master WHERE type='table' AND "
					    "name NOT LIKE 'sqlite_%' AND name NOT LIKE 'action_log%' "
					    "ORDER BY name",
					    -1, &tables, NULL),
			 SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);

		if (op->moving_table && !strcmp(t, op->moving_table))
			continue;
		/* a random number set anew with every account change (schema.c
		 * 62): two runs that change the book alike differ in it; that it
		 * moves with the book is test_book's */
		if (!strcmp(t, "book_gen"))
			continue;
		hash_bytes(&h, t, strlen(t) + 1);
		n = snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", t);
		assert_true(n > 0 && (size_t)n < sizeof sql);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &rows, NULL), SQLITE_OK);
		while (sqlite3_step(rows) == SQLITE_ROW)
			for (i = 0; i < sqlite3_column_count(rows); i++) {
				int type = sqlite3_column_type(rows, i);
				const unsigned char *v = sqlite3_column_text(rows, i);

				hash_bytes(&h, &type, sizeof type);
				if (v)
					hash_bytes(&h, v, (size_t)sqlite3_column_bytes(rows, i));
			}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tables);
	return h;
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static void reset_work(void)
{
	char side[340];

	snprintf(side, sizeof side, "%s-wal", fx.work);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", fx.work);
	unlink(side);
	copy_file(fx.template, fx.work);
}

/* Keeps the database a check failed on, and the fault-free one, for a
 * person to compare (sqlite3 X .dump): /tmp/airlock-faults-PID-*.db. */
static void keep(const char *name)
{
	char to[400];

	snprintf(to, sizeof to, "/tmp/airlock-faults-%d-%s.db", (int)getpid(), name);
	copy_file(fx.work, to);
}

#define FAIL_KEEP(...)                                                                           \
	do {                                                                                     \
		keep("failed");                                                                  \
		fail_msg(__VA_ARGS__);                                                           \
	} while (0)

/* Opens the work copy with no fault armed; the state hash of it. A failed
 * check closes the store first: the next test starts on a clean copy. */
static uint64_t check_database(const struct op *op, const char *what)
{
	struct audit_verify_result vr;
	struct store *s = NULL;
	struct err err = {0};
	char why[ERR_MSG_MAX + 64] = "";
	uint64_t h = 0;

	if (store_open(&s, fx.work, &err))
		snprintf(why, sizeof why, "the database does not open: %s", err.msg);
	else if (store_integrity_check(s, &err))
		snprintf(why, sizeof why, "integrity_check: %s", err.msg);
	else if (memset(&vr, 0, sizeof vr), audit_verify(s, NULL, &vr, &err))
		snprintf(why, sizeof why, "audit_verify could not run: %s", err.msg);
	else if (!vr.ok)
		snprintf(why, sizeof why, "the action log does not verify: %s", vr.message);
	else
		h = state_hash(s, op);
	store_close(s);
	if (why[0]) {
		keep("failed");
		fail_msg("%s: %s", what, why);
	}
	return h;
}

/* One run of the operation on a fresh copy, the fault armed at n (0: none).
 * Returns whether a fault was injected. */
static int run_once(const struct op *op, int kind, long n, int *rc, struct err *err)
{
	struct store *s = NULL;
	struct err oerr = {0};

	reset_work();
	if (store_open(&s, fx.work, &oerr))
		fail_msg("%s: cannot open the work copy: %s", op->name, oerr.msg);
	err_clear(err);
	op_args = op->make_args ? op->make_args() : NULL;
	fault_hit = 0;
	allocs = writes = 0;
	alloc_left = kind == 0 ? n : 0;
	write_left = kind == 1 ? n : 0;
	counting = 1;
	*rc = op->run(s, err);
	counting = 0;
	store_close(s);
	return fault_hit;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return dflt;
	n = strtol(v, &end, 10);
	return *end || n < 0 ? dflt : n;
}

#define DENSE 40

static void fault_loop(const struct op *op, int kind)
{
	static const char *const kinds[] = {"allocation", "write"};
	int full = env_long("FAULTS_FULL", 0) > 0;
	uint64_t before, after, h;
	struct err err = {0};
	char what[200];
	long n, tried = 0, failed = 0;
	int rc, hit;

	reset_work();
	before = check_database(op, "the template");
	/* the fault-free run: what "after" is */
	hit = run_once(op, kind, 0, &rc, &err);
	assert_false(hit);
	if (rc)
		fail_msg("%s without a fault failed: %s", op->name, err.msg);
	after = check_database(op, "the fault-free run");
	keep("fault-free");
	assert_true(before != after);
	for (n = 1;; n += full || n < DENSE ? 1 : n / 16) {
		snprintf(what, sizeof what, "%s with %s %ld failing", op->name, kinds[kind], n);
		hit = run_once(op, kind, n, &rc, &err);
		h = check_database(op, what);
		if (!hit) {
			if (rc)
				FAIL_KEEP("%s: failed with no fault injected: %s", what, err.msg);
			if (h != after)
				FAIL_KEEP("%s: no fault, yet not the fault-free result", what);
			break;
		}
		tried++;
		if (rc) {
			failed++;
			if (!err.msg[0])
				FAIL_KEEP("%s: returned %d with no message", what, rc);
			if (h != before && h != after)
				FAIL_KEEP("%s: returned \"%s\" and left the book half-done", what,
					 err.msg);
		} else if (h != after && h != before)
			FAIL_KEEP("%s: reported success, and left the book half-done", what);
	}
	print_message("%s: %ld %s faults injected (%ld reported as errors), done at N=%ld\n",
		      op->name, tried, kinds[kind], failed, n);
}

static void test_allocation_faults(void **state)
{
	const struct op *op = *state;

	fault_loop(op, 0);
}

static void test_write_faults(void **state)
{
	const struct op *op = *state;

	fault_loop(op, 1);
}

/* Builds the op's template database (no fault armed). */
static int setup_op(void **state)
{
	const struct op *op = *state;
	struct store *s = NULL;
	struct err err = {0};
	char side[340];

	unlink(fx.template);
	snprintf(side, sizeof side, "%s-wal", fx.template);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", fx.template);
	unlink(side);
	if (store_create(&s, fx.template, &err))
		fail_msg("template: %s", err.msg);
	op->prepare(s);
	store_close(s); /* the last connection: the WAL goes into the file */
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[2 * sizeof ops / sizeof ops[0]];
	static char names[2 * sizeof ops / sizeof ops[0]][64];
	char cmd[300];
	size_t i;
	int rc;

	faults_install();
	setenv("AIRLOCK_NOW", "1796119200", 1);
	snprintf(fx.dir, sizeof fx.dir, "/tmp/airlock-faults-XXXXXX");
	if (!mkdtemp(fx.dir))
		return 1;
	snprintf(fx.template, sizeof fx.template, "%s/template.db", fx.dir);
	snprintf(fx.work, sizeof fx.work, "%s/work.db", fx.dir);
	snprintf(fx.csv, sizeof fx.csv, "%s/accounts.csv", fx.dir);
	policy_init(&fx);
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		struct CMUnitTest a = {names[2 * i], test_allocation_faults, setup_op, NULL,
				       (void *)&ops[i]};
		struct CMUnitTest w = {names[2 * i + 1], test_write_faults, setup_op, NULL,
				       (void *)&ops[i]};

		snprintf(names[2 * i], sizeof names[0], "%s: allocation faults", ops[i].name);
		snprintf(names[2 * i + 1], sizeof names[0], "%s: write faults", ops[i].name);

		tests[2 * i] = a;
		tests[2 * i + 1] = w;
	}
	/* FAULTS_ONLY=apply: one operation's loops */
	if (getenv("FAULTS_ONLY"))
		cmocka_set_test_filter(getenv("FAULTS_ONLY"));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", fx.dir);
	return rc;
}
