/* fuzz_csv_harness.h — the CSV reader and writer, and the book's import and
 * export, under fuzzing; shared by fuzz/fuzz_csv.c and tests/test_fuzz.c.
 *
 * One input: byte 0 holds flags, the rest is the file.
 *   bits 1-2: the reader's limits (0 the defaults, else small ones, so the
 *             field, column and record caps are reached);
 *   bit 0:    also import the file into a book (accounts, or contacts with
 *             bit 3), and when that succeeds export it, import the export
 *             and export again.
 * Oracles beyond the sanitizers:
 *   - whatever reads without error, written with csv_write_record and read
 *     again, gives the same records field for field, byte for byte;
 *   - a refusal says "LINE: what";
 *   - import → export → import changes nothing (no row inserted or
 *     updated) and the second export is byte for byte the first. */
#ifndef AIRLOCK_FUZZ_CSV_HARNESS_H
#define AIRLOCK_FUZZ_CSV_HARNESS_H

#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "cli.h"
#include "csv.h"
#include "import.h"
#include "store.h"

#include "fuzz_common.h"

int cmd_export(struct cli *cli, int argc, char **argv);

struct fuzz_csv {
	char dir[96], db[160], in[160], e1[160], e2[160];
	struct store *store;
	int book_runs;
};

/* Records as one buffer: per field its length (8 bytes) and bytes, and a
 * marker between records, so two readings compare with memcmp. */
struct fuzz_csv_recs {
	char *p;
	size_t len, cap;
	int nrecs;
};

static void fuzz_csv_add(struct fuzz_csv_recs *r, const void *p, size_t n)
{
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;

		while (cap < r->len + n)
			cap *= 2;
		r->p = realloc(r->p, cap);
		if (!r->p)
			fuzz_die("csv", "out of memory", NULL);
		r->cap = cap;
	}
	memcpy(r->p + r->len, p, n);
	r->len += n;
}

/* Reads f to the end into recs: 0 at the end, or the error. */
static int fuzz_csv_read_all(FILE *f, const struct csv_limits *lim, struct fuzz_csv_recs *recs,
			     struct err *err)
{
	struct csv_reader *r = NULL;
	struct csv_record rec;
	uint64_t n;
	int rc, i;

	rc = csv_reader_new(&r, f, lim, err);
	while (rc == 0 && (rc = csv_read(r, &rec, err)) == CSV_RECORD) {
		if (rec.nfields < 1)
			fuzz_die("csv", "a record without fields", NULL);
		n = (uint64_t)rec.nfields;
		fuzz_csv_add(recs, "R", 1);
		fuzz_csv_add(recs, &n, sizeof n);
		for (i = 0; i < rec.nfields; i++) {
			if (!rec.fields[i] || strlen(rec.fields[i]) != rec.lens[i])
				fuzz_die("csv", "field length disagrees with its bytes", NULL);
			n = rec.lens[i];
			fuzz_csv_add(recs, &n, sizeof n);
			fuzz_csv_add(recs, rec.fields[i], rec.lens[i]);
		}
		recs->nrecs++;
		rc = 0;
	}
	csv_reader_free(r);
	return rc;
}

/* Writes recs (as fuzz_csv_read_all made them) with the writer. */
static void fuzz_csv_write_all(FILE *f, const struct fuzz_csv_recs *recs)
{
	const char *fields[CSV_MAX_FIELDS];
	size_t lens[CSV_MAX_FIELDS], at = 0;
	uint64_t n, k, l;
	struct err err = {0};

	while (at < recs->len) {
		at++; /* 'R' */
		memcpy(&n, recs->p + at, sizeof n);
		at += sizeof n;
		for (k = 0; k < n; k++) {
			memcpy(&l, recs->p + at, sizeof l);
			at += sizeof l;
			fields[k] = recs->p + at;
			lens[k] = (size_t)l;
			at += (size_t)l;
		}
		if (csv_write_record(f, fields, lens, (int)n, &err))
			fuzz_die("csv", "csv_write_record", err.msg);
	}
}

static void fuzz_csv_refusal(const struct err *err)
{
	const char *m = err->msg;

	/* "LINE: what" */
	if (!isdigit((unsigned char)m[0]) || !strstr(m, ": "))
		fuzz_die("csv", "a refusal without its line", m);
}

static void fuzz_csv_open_store(struct fuzz_csv *f)
{
	struct err err = {0};

	if (store_create(&f->store, f->db, &err))
		fuzz_die("csv", "store_create", err.msg);
}

__attribute__((unused)) static void fuzz_csv_init(struct fuzz_csv *f)
{
	memset(f, 0, sizeof *f);
	fuzz_tmpdir("csv", f->dir, sizeof f->dir);
	snprintf(f->db, sizeof f->db, "%s/book.db", f->dir);
	snprintf(f->in, sizeof f->in, "%s/in.csv", f->dir);
	snprintf(f->e1, sizeof f->e1, "%s/e1.csv", f->dir);
	snprintf(f->e2, sizeof f->e2, "%s/e2.csv", f->dir);
	fuzz_csv_open_store(f);
}

__attribute__((unused)) static void fuzz_csv_fini(struct fuzz_csv *f)
{
	store_close(f->store);
	fuzz_rmdir(f->dir);
}

/* `airlock export KIND -o path` on the harness's store, its line on
 * standard output thrown away. */
static void fuzz_csv_export(struct fuzz_csv *f, const char *kind, const char *path)
{
	struct cli cli = {0};
	char a0[] = "export", a1[8], a2[] = "-o", a3[160];
	char *argv[] = {a0, a1, a2, a3, NULL};
	int saved, null, rc;

	snprintf(a1, sizeof a1, "%s", kind);
	snprintf(a3, sizeof a3, "%s", path);
	cli.verb = "export";
	cli.store = f->store;
	fflush(stdout);
	saved = dup(1);
	null = open("/dev/null", O_WRONLY);
	if (saved < 0 || null < 0 || dup2(null, 1) < 0)
		fuzz_die("csv", "cannot silence standard output", NULL);
	optind = 1;
	rc = cmd_export(&cli, 4, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(null);
	if (rc != 0)
		fuzz_die("csv", "export failed on a book import accepted", path);
}

/* import → export → import → export: the second import changes nothing and
 * the two exports are equal. */
static void fuzz_csv_book(struct fuzz_csv *f, int contacts)
{
	const char *kind = contacts ? "contacts" : "accounts";
	struct import_result res = {0};
	struct err err = {0};
	char *a, *b;
	size_t la = 0, lb = 0;
	int rc;

	rc = import_csv(f->store, contacts ? BOOK_CONTACT : BOOK_ACCOUNT, f->in, NULL,
			"human:fuzz", NULL, &res, &err);
	if (rc) {
		if (rc != AIRLOCK_EINVAL || !strstr(err.msg, f->in))
			fuzz_die("csv", "import refused without FILE:LINE", err.msg);
		return;
	}
	fuzz_csv_export(f, kind, f->e1);
	memset(&res, 0, sizeof res);
	rc = import_csv(f->store, contacts ? BOOK_CONTACT : BOOK_ACCOUNT, f->e1, NULL,
			"human:fuzz", NULL, &res, &err);
	if (rc)
		fuzz_die("csv", "import refused its own export", err.msg);
	if (res.inserted || res.updated)
		fuzz_die("csv", "importing the export changed the book", f->e1);
	fuzz_csv_export(f, kind, f->e2);
	a = fuzz_read_file(f->e1, &la);
	b = fuzz_read_file(f->e2, &lb);
	if (!a || !b || la != lb || (la && memcmp(a, b, la) != 0))
		fuzz_die("csv", "export, import, export: the two exports differ", f->e1);
	free(a);
	free(b);
}

/* A stream over n bytes at p (fmemopen refuses 0 bytes: /dev/null then). */
static FILE *fuzz_csv_mem(const void *p, size_t n)
{
	FILE *f = n ? fmemopen((void *)p, n, "rb") : fopen("/dev/null", "rb");

	if (!f)
		fuzz_die("csv", "fmemopen", NULL);
	return f;
}

__attribute__((unused)) static void fuzz_csv_one(struct fuzz_csv *f, const unsigned char *data,
						 size_t size)
{
	static const struct csv_limits small[] = {
	    {CSV_MAX_FIELD, CSV_MAX_FIELDS, CSV_MAX_RECORD}, {8, 4, 32}, {1, 64, 64}, {64, 2, 1024}};
	struct fuzz_csv_recs r1 = {0}, r2 = {0};
	struct err err = {0};
	FILE *in, *mem;
	char *wbuf = NULL;
	size_t wlen = 0;
	int rc;

	if (size == 0)
		return;
	in = fuzz_csv_mem(data + 1, size - 1);
	rc = fuzz_csv_read_all(in, &small[(data[0] >> 1) & 3], &r1, &err);
	fclose(in);
	if (rc) {
		fuzz_csv_refusal(&err);
	} else {
		mem = open_memstream(&wbuf, &wlen);
		if (!mem)
			fuzz_die("csv", "open_memstream", NULL);
		fuzz_csv_write_all(mem, &r1);
		fclose(mem);
		in = fuzz_csv_mem(wbuf, wlen);
		if (fuzz_csv_read_all(in, NULL, &r2, &err))
			fuzz_die("csv", "what the writer wrote does not read back", err.msg);
		fclose(in);
		if (r1.nrecs != r2.nrecs || r1.len != r2.len ||
		    (r1.len && memcmp(r1.p, r2.p, r1.len) != 0))
			fuzz_die("csv", "read, write, read: the records differ", NULL);
		free(wbuf);
	}
	free(r1.p);
	free(r2.p);
	if (data[0] & 1) {
		/* a fresh book now and then, so exports stay small */
		if (++f->book_runs % 200 == 0) {
			store_close(f->store);
			fuzz_rmdir(f->dir);
			if (mkdir(f->dir, 0700) != 0)
				fuzz_die("csv", "mkdir", f->dir);
			fuzz_csv_open_store(f);
		}
		fuzz_write_file("csv", f->in, data + 1, size - 1);
		fuzz_csv_book(f, data[0] & 8);
	}
}

#endif
