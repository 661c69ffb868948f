/* audit_verify.c — audit_verify(): recompute the chain and check every
 * column against the body it was copied from. Part of the audit module
 * (audit.h). */
#include "audit.h"
#include "audit_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char zero_hash[AUDIT_HASH_BYTES];

int audit_verify_threads = 2;
int64_t audit_verify_split_min = 65536;

/* The query columns, in SELECT order after seq, and their body keys. */
static const char *const query_columns[] = {
    "at", "principal", "surface", "tool", "instruction_version", "decision", "batch_id",
};
#define NQUERY (int)(sizeof query_columns / sizeof query_columns[0])
#define FIELD_SEQ NQUERY
_Static_assert(sizeof "instruction_version" - 1 == 19 && sizeof "principal" - 1 == 9,
	       "field_index's lengths follow query_columns");

/* Where each field's value sits in a body: [tok, tok + len). */
struct body_fields {
	const char *tok[NQUERY + 1];
	size_t len[NQUERY + 1];
};

static size_t skip_ws(const char *b, size_t n, size_t p)
{
	while (p < n && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r'))
		p++;
	return p;
}

/* Bytes that end a run inside an object or array outside strings. A
 * table lookup keeps the skipping loop tight. */
static const unsigned char stops[256] = {
    ['"'] = 2, ['{'] = 2, ['['] = 2, ['}'] = 2, [']'] = 2,
};

/* p at an opening quote; returns the index after the closing one, or 0.
 * memchr finds each quote a vector at a time; a quote after an odd run of
 * backslashes is escaped (the run cannot reach past the opening quote). */
static size_t skip_string(const char *b, size_t n, size_t p)
{
	const char *q;
	size_t e, run, open = p;

	for (p++; p < n; p = e + 1) {
		if (!(q = memchr(b + p, '"', n - p)))
			return 0;
		e = (size_t)(q - b);
		for (run = 0; e - run > open + 1 && b[e - 1 - run] == '\\'; run++)
			;
		if (run % 2 == 0)
			return e + 1;
	}
	return 0;
}

/* Skips one value (the body's hash already vouches for its bytes, so this
 * only needs to find where the value ends, never to validate it). */
static size_t skip_value(const char *b, size_t n, size_t p)
{
	size_t depth = 0, start = p;

	if (p >= n)
		return 0;
	if (b[p] == '"')
		return skip_string(b, n, p);
	if (b[p] != '{' && b[p] != '[') {
		while (p < n && b[p] != ',' && b[p] != '}' && b[p] != ']' && b[p] != ' ' &&
		       b[p] != '\n' && b[p] != '\t' && b[p] != '\r')
			p++;
		return p > start ? p : 0;
	}
	while (p < n) {
		while (p < n && !(stops[(unsigned char)b[p]] & 2))
			p++;
		if (p >= n)
			break;
		switch (b[p]) {
		case '"':
			p = skip_string(b, n, p);
			if (!p)
				return 0;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		default:
			if (--depth == 0)
				return p + 1;
			break;
		}
		p++;
	}
	return 0;
}

static int field_index(const char *key, size_t len)
{
	static const unsigned char lens[] = {2, 9, 7, 4, 19, 8, 8};
	int i;

	if (len == 3 && memcmp(key, "seq", 3) == 0)
		return FIELD_SEQ;
	for (i = 0; i < NQUERY; i++)
		if (lens[i] == len && memcmp(query_columns[i], key, len) == 0)
			return i;
	return -1;
}

/* Finds the top-level fields verify compares with the columns, in one pass
 * and without allocating: 0, or -1 when the body is not one JSON object
 * with each of those keys at most once. */
static int body_scan(const char *b, size_t n, struct body_fields *f)
{
	size_t p, k, v;
	int idx;

	memset(f, 0, sizeof *f);
	p = skip_ws(b, n, 0);
	if (p >= n || b[p] != '{')
		return -1;
	p = skip_ws(b, n, p + 1);
	if (p < n && b[p] == '}')
		return skip_ws(b, n, p + 1) == n ? 0 : -1;
	for (;;) {
		if (p >= n || b[p] != '"' || !(k = skip_string(b, n, p)))
			return -1;
		idx = field_index(b + p + 1, k - p - 2);
		p = skip_ws(b, n, k);
		if (p >= n || b[p] != ':')
			return -1;
		p = skip_ws(b, n, p + 1);
		if (!(v = skip_value(b, n, p)))
			return -1;
		if (idx >= 0) {
			if (f->tok[idx])
				return -1;
			f->tok[idx] = b + p;
			f->len[idx] = v - p;
		}
		p = skip_ws(b, n, v);
		if (p < n && b[p] == ',') {
			p = skip_ws(b, n, p + 1);
			continue;
		}
		if (p < n && b[p] == '}')
			return skip_ws(b, n, p + 1) == n ? 0 : -1;
		return -1;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long hex4(const char *t)
{
	long v = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if ((h = hexval(t[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Whether the JSON string token t equals the UTF-8 bytes col, decoding the
 * token's escapes on the fly (with JSON_ENSURE_ASCII every non-ASCII
 * character in a body is a \u escape, a surrogate pair above U+FFFF). */
static int token_equals_text(const char *t, size_t tn, const char *col, size_t cn)
{
	unsigned char u[4];
	size_t i = 1, j = 0, m, k;
	long cp, lo;

	if (tn < 2 || t[0] != '"' || t[tn - 1] != '"')
		return 0;
	/* the usual case: no escapes, so equal bytes mean equal strings */
	if (tn - 2 == cn && memcmp(t + 1, col, cn) == 0 && !memchr(col, '\\', cn))
		return 1;
	while (i < tn - 1) {
		if (t[i] != '\\') {
			if (j >= cn || col[j] != t[i])
				return 0;
			i++;
			j++;
			continue;
		}
		if (i + 1 >= tn - 1)
			return 0;
		switch (t[i + 1]) {
		case '"':
			cp = '"';
			break;
		case '\\':
			cp = '\\';
			break;
		case '/':
			cp = '/';
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if (i + 6 > tn - 1 || (cp = hex4(t + i + 2)) < 0)
				return 0;
			i += 4;
			if (cp >= 0xD800 && cp < 0xDC00) {
				if (i + 8 > tn - 1 || t[i + 2] != '\\' || t[i + 3] != 'u' ||
				    (lo = hex4(t + i + 4)) < 0xDC00 || lo > 0xDFFF)
					return 0;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			}
			break;
		default:
			return 0;
		}
		i += 2;
		if (cp < 0x80) {
			u[0] = (unsigned char)cp;
			m = 1;
		} else if (cp < 0x800) {
			u[0] = (unsigned char)(0xC0 | (cp >> 6));
			u[1] = (unsigned char)(0x80 | (cp & 0x3F));
			m = 2;
		} else if (cp < 0x10000) {
			u[0] = (unsigned char)(0xE0 | (cp >> 12));
			u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
			u[2] = (unsigned char)(0x80 | (cp & 0x3F));
			m = 3;
		} else {
			u[0] = (unsigned char)(0xF0 | (cp >> 18));
			u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
			u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
			u[3] = (unsigned char)(0x80 | (cp & 0x3F));
			m = 4;
		}
		for (k = 0; k < m; k++, j++)
			if (j >= cn || (unsigned char)col[j] != u[k])
				return 0;
	}
	return j == cn;
}

/* A query column as read from its row: its SQLite type ('n' null, 't'
 * text, anything else is wrong for these columns) and its bytes. */
struct column {
	int type;
	const char *text;
	size_t len;
};

static int token_equals_column(const char *t, size_t tn, const struct column *c)
{
	if (!t)
		return 0;
	switch (c->type) {
	case 'n':
		return tn == 4 && memcmp(t, "null", 4) == 0;
	case 't':
		return token_equals_text(t, tn, c->text, c->len);
	}
	return 0;
}

/* The body's seq, or -1 when it is not a plain non-negative integer. */
static int64_t token_int(const char *t, size_t tn)
{
	int64_t v = 0;
	size_t i;

	if (!t || tn == 0 || tn > 18)
		return -1;
	for (i = 0; i < tn; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		v = v * 10 + (t[i] - '0');
	}
	return v;
}

const char *audit_problem_name(enum audit_problem p)
{
	switch (p) {
	case AUDIT_INTACT: return "intact";
	case AUDIT_EDITED: return "edited";
	case AUDIT_MISSING: return "missing";
	case AUDIT_INSERTED: return "inserted";
	case AUDIT_REORDERED: return "reordered";
	case AUDIT_BROKEN_LINK: return "broken_link";
	case AUDIT_REWRITTEN: return "rewritten";
	case AUDIT_BAD_SIGNATURE: return "bad_signature";
	}
	return "unknown";
}

int audit_verify_fail(struct audit_verify_result *r, enum audit_problem p, int64_t seq,
		      const char *fmt, ...)
{
	va_list ap;

	r->ok = 0;
	r->problem = p;
	r->bad_seq = seq;
	va_start(ap, fmt);
	(void)vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
	return 1;
}

/* Quotes a body field's decoded value for a message; "null" for null. */
static void body_value_text(const char *body, size_t len, const char *key, char *out, size_t size)
{
	json_t *o = json_loadb(body, len, 0, NULL), *v = json_object_get(o, key);

	if (json_is_string(v))
		(void)snprintf(out, size, "'%.60s'", json_string_value(v));
	else if (json_is_null(v))
		(void)snprintf(out, size, "null");
	else
		(void)snprintf(out, size, "%s", v ? "a non-string" : "nothing");
	json_decref(o);
}

static void column_text(const struct column *c, char *out, size_t size)
{
	if (c->type == 'n')
		(void)snprintf(out, size, "null");
	else if (c->type == 't')
		(void)snprintf(out, size, "'%.*s'", c->len > 60 ? 60 : (int)c->len, c->text);
	else
		(void)snprintf(out, size, "a value of SQLite type '%c'", c->type);
}

/* Verification is a pipeline of two halves. The reader steps through the
 * rows and copies each one into a batch; the checker takes whole batches
 * and does everything else: the place of each entry, the chain, the hash,
 * the columns against the body. Reading from SQLite costs about as much as
 * checking, so on two cores the checker runs on its own thread while the
 * reader fills the next batch. A log shorter than one batch never starts
 * the thread, and when no thread can be had the reader checks its batches
 * itself: either way rows are checked in order, one at a time. */
#define BATCH_ROWS 256
#define BATCH_BYTES (1u << 20)

struct row {
	int64_t seq;
	size_t body, body_len; /* offsets into the batch's bytes */
	size_t col[NQUERY], col_len[NQUERY];
	/* a row checked at once points into SQLite's own memory instead */
	const char *body_at, *col_at[NQUERY];
	int col_type[NQUERY];
	unsigned char prev[AUDIT_HASH_BYTES]; /* prev_hash as stored */
	unsigned char hash[AUDIT_HASH_BYTES]; /* hash as stored */
	int prev_ok, hash_ok;		      /* the stored values had 32 bytes */
};

struct batch {
	struct row rows[BATCH_ROWS];
	int n;
	int full; /* handed to the checker and not yet checked */
	char *bytes;
	size_t used, cap;
};

struct checker {
	pthread_t thread;
	int threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch batch[2];
	int fill;     /* the batch the reader fills */
	int take;     /* the batch the checker takes next */
	int finished; /* the reader has handed over its last batch */
	/* the checker's own; the reader looks only after the join */
	int64_t expect; /* the seq the next row must have */
	unsigned char prev[AUDIT_HASH_BYTES];
	int64_t cp_seq;
	unsigned char cp_hash[AUDIT_HASH_BYTES];
	int cp_seen;
	int failed;
	struct audit_verify_result bad;
	int no_thread; /* a chunk of a split verify: check on the reading thread */
	/* a chunk that does not start at entry 1 takes its first prev_hash on
	 * trust; the join checks it against the chunk before */
	int trust_first_prev, took_prev;
	unsigned char first_prev[AUDIT_HASH_BYTES];
};

/* Checks one row against the chain so far, in the order that names the
 * likeliest cause first: its place, then the link, then the hash, then the
 * copies. Returns 1 after recording a problem. */
static int check_row(struct checker *k, const struct batch *b, const struct row *row)
{
	const char *body = row->body_at ? row->body_at : b->bytes + row->body;
	unsigned char hash[AUDIT_HASH_BYTES];
	struct audit_verify_result *r = &k->bad;
	struct body_fields f;
	struct column c;
	int64_t seq = row->seq, body_seq;
	char x[80], y[80];
	int scanned, i;

	if (seq > k->expect)
		return audit_verify_fail(r, AUDIT_MISSING, k->expect,
					 "entry %lld is missing: the log goes from entry %lld to "
					 "%lld (deleted)",
					 (long long)k->expect, (long long)(k->expect - 1),
					 (long long)seq);
	if (seq < k->expect)
		return audit_verify_fail(r, AUDIT_INSERTED, seq,
					 "entry %lld does not belong: the log starts at entry 1 "
					 "(inserted)",
					 (long long)seq);
	scanned = body_scan(body, row->body_len, &f) == 0;
	body_seq = scanned ? token_int(f.tok[FIELD_SEQ], f.len[FIELD_SEQ]) : -1;
	if (body_seq >= 0 && body_seq != seq)
		return audit_verify_fail(r, AUDIT_REORDERED, seq,
					 "entry %lld holds the body of entry %lld (entries were "
					 "inserted, removed or reordered)",
					 (long long)seq, (long long)body_seq);
	if (!row->prev_ok || memcmp(row->prev, k->prev, AUDIT_HASH_BYTES) != 0)
		return audit_verify_fail(r, AUDIT_BROKEN_LINK, seq,
					 "entry %lld: its prev_hash is not the hash of entry %lld "
					 "(an entry before it was inserted, removed or rewritten)",
					 (long long)seq, (long long)(seq - 1));
	audit_hash(seq, k->prev, body, row->body_len, hash);
	if (!row->hash_ok || memcmp(row->hash, hash, AUDIT_HASH_BYTES) != 0)
		return audit_verify_fail(r, AUDIT_EDITED, seq,
					 "entry %lld: its content does not match its hash (edited)",
					 (long long)seq);
	if (body_seq < 0)
		return audit_verify_fail(r, AUDIT_EDITED, seq,
					 "entry %lld: its body is not a log entry (rewritten)",
					 (long long)seq);
	for (i = 0; i < NQUERY; i++) {
		c.type = row->col_type[i];
		c.text = row->body_at ? row->col_at[i] : b->bytes + row->col[i];
		c.len = row->col_len[i];
		if (token_equals_column(f.tok[i], f.len[i], &c))
			continue;
		column_text(&c, x, sizeof x);
		body_value_text(body, row->body_len, query_columns[i], y, sizeof y);
		return audit_verify_fail(r, AUDIT_EDITED, seq,
					 "entry %lld: column %s is %s but its hashed body says %s "
					 "(edited)",
					 (long long)seq, query_columns[i], x, y);
	}
	if (seq == k->cp_seq) {
		memcpy(k->cp_hash, hash, sizeof hash);
		k->cp_seen = 1;
	}
	memcpy(k->prev, hash, sizeof hash);
	k->expect++;
	return 0;
}

static void check_batch(struct checker *k, const struct batch *b)
{
	int i;

	for (i = 0; i < b->n && !k->failed; i++)
		if (check_row(k, b, &b->rows[i]))
			__atomic_store_n(&k->failed, 1, __ATOMIC_RELAXED);
}

static void *checker_main(void *arg)
{
	struct checker *k = arg;
	struct batch *b;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (!k->batch[k->take].full && !k->finished)
			pthread_cond_wait(&k->cv, &k->mu);
		b = &k->batch[k->take];
		if (!b->full)
			break;
		pthread_mutex_unlock(&k->mu);
		check_batch(k, b);
		pthread_mutex_lock(&k->mu);
		b->full = 0;
		k->take ^= 1;
		pthread_cond_broadcast(&k->cv);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

/* Hands the batch being filled to the checker (or checks it here) and
 * waits until the other batch is free to fill. */
static void checker_submit(struct checker *k, int start_thread)
{
	struct batch *b = &k->batch[k->fill];

	if (b->n == 0)
		return;
	if (!k->threaded && start_thread && !k->no_thread && audit_verify_threads > 1 &&
	    pthread_create(&k->thread, NULL, checker_main, k) == 0)
		k->threaded = 1;
	if (!k->threaded) {
		check_batch(k, b);
	} else {
		pthread_mutex_lock(&k->mu);
		b->full = 1;
		pthread_cond_broadcast(&k->cv);
		k->fill ^= 1;
		while (k->batch[k->fill].full)
			pthread_cond_wait(&k->cv, &k->mu);
		pthread_mutex_unlock(&k->mu);
	}
	b = &k->batch[k->fill];
	b->n = 0;
	b->used = 0;
}

/* Copies len bytes into the batch; returns their offset, or (size_t)-1
 * when memory ran out. */
static size_t batch_put(struct batch *b, const void *p, size_t len)
{
	size_t cap, off = b->used;
	char *grown;

	if (b->used + len > b->cap) {
		cap = b->cap ? b->cap : 64 * 1024;
		while (cap < b->used + len)
			cap *= 2;
		grown = realloc(b->bytes, cap);
		if (!grown)
			return (size_t)-1;
		b->bytes = grown;
		b->cap = cap;
	}
	if (len)
		memcpy(b->bytes + off, p, len);
	b->used += len;
	return off;
}

/* The reader's whole job: copy the row out of SQLite. Columns are read
 * once each, since every call into SQLite takes its connection lock. */
static int checker_add(struct checker *k, struct store_stmt *st, struct err *err)
{
	struct batch *b = &k->batch[k->fill];
	size_t len, off, n;
	const char *body = store_col_text_len(st, 8, &len);
	const void *prev, *hash;
	struct row *row, now;
	int i, type;

	if (k->no_thread) {
		/* checked at once, straight from the statement's memory (valid
		 * until the next step): nothing is copied */
		row = &now;
		row->body_at = body ? body : "";
	} else {
		if (b->n == BATCH_ROWS || (b->n > 0 && b->used + len > BATCH_BYTES)) {
			checker_submit(k, 1);
			b = &k->batch[k->fill];
		}
		row = &b->rows[b->n];
		row->body_at = NULL;
		if ((row->body = batch_put(b, body, len)) == (size_t)-1)
			goto nomem;
	}
	/* each column in one call (store_col_typed): a row is eleven of them,
	 * and two or three calls each were a fifth of a one-thread verify */
	row->seq = store_col_int(st, 0);
	prev = store_col_typed(st, 9, &type, &n);
	row->prev_ok = prev && n == AUDIT_HASH_BYTES;
	if (row->prev_ok)
		memcpy(row->prev, prev, AUDIT_HASH_BYTES);
	if (k->trust_first_prev && !k->took_prev) {
		/* nothing of this chunk is checked yet, so its chain can start here */
		k->took_prev = 1;
		if (row->prev_ok) {
			memcpy(k->prev, row->prev, AUDIT_HASH_BYTES);
			memcpy(k->first_prev, k->prev, AUDIT_HASH_BYTES);
		} else
			k->trust_first_prev = 0; /* a damaged link: reported at the row */
	}
	hash = store_col_typed(st, 10, &type, &n);
	row->hash_ok = hash && n == AUDIT_HASH_BYTES;
	if (row->hash_ok)
		memcpy(row->hash, hash, AUDIT_HASH_BYTES);
	row->body_len = len;
	for (i = 0; i < NQUERY; i++) {
		const char *t = store_col_typed(st, i + 1, &type, &n);

		row->col_type[i] = type;
		row->col_len[i] = 0;
		row->col[i] = b->used;
		row->col_at[i] = "";
		if (type != 't')
			continue;
		row->col_len[i] = n;
		if (k->no_thread) {
			row->col_at[i] = t;
			continue;
		}
		if ((off = batch_put(b, t, n)) == (size_t)-1)
			goto nomem;
		row->col[i] = off;
	}
	if (k->no_thread) {
		if (!k->failed && check_row(k, b, row))
			k->failed = 1;
		return 0;
	}
	b->n++;
	return 0;
nomem:
	return err_set(err, AIRLOCK_ENOMEM, "out of memory verifying the log");
}

/* Checks what is left, stops the thread and frees the batches. */
static void checker_finish(struct checker *k)
{
	int i;

	checker_submit(k, 0);
	if (k->threaded) {
		pthread_mutex_lock(&k->mu);
		k->finished = 1;
		pthread_cond_broadcast(&k->cv);
		pthread_mutex_unlock(&k->mu);
		pthread_join(k->thread, NULL);
		k->threaded = 0;
	}
	for (i = 0; i < 2; i++) {
		free(k->batch[i].bytes);
		k->batch[i].bytes = NULL;
	}
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
}

static int check_head(int64_t last, const unsigned char hash[], int64_t head_seq,
		      const unsigned char head[], struct audit_verify_result *r)
{
	if (head_seq > last && head_seq == last + 1)
		return audit_verify_fail(
		    r, AUDIT_MISSING, head_seq,
		    "entry %lld is missing: the log's head says it ends there but the "
		    "last entry is %lld (deleted from the end)",
		    (long long)head_seq, (long long)last);
	if (head_seq > last)
		return audit_verify_fail(
		    r, AUDIT_MISSING, last + 1,
		    "entries %lld to %lld are missing: the log's head says it ends at "
		    "%lld (deleted from the end)",
		    (long long)(last + 1), (long long)head_seq, (long long)head_seq);
	if (head_seq < last)
		return audit_verify_fail(
		    r, AUDIT_INSERTED, head_seq + 1,
		    "entry %lld is beyond the log's head, which ends at entry %lld "
		    "(inserted)",
		    (long long)(head_seq + 1), (long long)head_seq);
	if (memcmp(hash, head, AUDIT_HASH_BYTES) != 0)
		return audit_verify_fail(
		    r, AUDIT_BROKEN_LINK, last,
		    "entry %lld: the log's head record holds another hash (the head "
		    "was changed)",
		    (long long)last);
	return 0;
}

static int check_checkpoint(const struct audit_checkpoint *cp, const struct checker *k,
			    int64_t last, struct audit_verify_result *r)
{
	if (cp->seq > last)
		return audit_verify_fail(r, AUDIT_MISSING, last + 1,
					 "the checkpoint covers entry %lld but the log ends at "
					 "entry %lld (entries deleted)",
					 (long long)cp->seq, (long long)last);
	if ((k->cp_seen || cp->seq == 0) &&
	    memcmp(k->cp_seen ? k->cp_hash : zero_hash, cp->head, AUDIT_HASH_BYTES) != 0)
		return audit_verify_fail(r, AUDIT_REWRITTEN, cp->seq,
					 "entry %lld does not have the hash the checkpoint of %s "
					 "signed: the log was rewritten at or before entry %lld",
					 (long long)cp->seq, cp->at, (long long)cp->seq);
	return 0;
}

/* The end of a verify whose rows all checked out (k's state stands for the
 * whole log): the head record, then the checkpoint (cp NULL: none). */
static void finish(const struct checker *k, int64_t head_seq, const unsigned char head[],
		   const struct audit_checkpoint *cp, struct audit_verify_result *r)
{
	int64_t last = k->expect - 1;

	r->count = last;
	if (check_head(last, k->prev, head_seq, head, r))
		return;
	if (cp) {
		if (check_checkpoint(cp, k, last, r))
			return;
		r->checkpoint_checked = 1;
		r->checkpoint_seq = cp->seq;
		r->checkpoint_key_local = cp->key_local;
	}
	r->ok = 1;
	r->head_seq = last;
	memcpy(r->head, k->prev, sizeof r->head);
}

/* One chunk of a split verify: rows [lo, hi) (the first chunk from the
 * lowest seq, hi 0: to the end) read on s and checked on the reading
 * thread. */
struct chunk {
	struct store *s;
	int64_t lo, hi;
	struct checker *k;
	int64_t first_seq; /* 0 when the chunk has no rows */
	int rc;
	struct err err;
};

static void check_chunk(struct chunk *h)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(h->s,
			   "SELECT seq, at, principal, surface, tool, instruction_version, decision,"
			   " batch_id, body, prev_hash, hash FROM action_log"
			   " WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
			   &st, &h->err);
	if (rc == 0) {
		/* the first chunk also takes rows below entry 1, the last any
		 * beyond the head: one pass would read them too */
		store_bind_int(st, 1, h->k->trust_first_prev ? h->lo : INT64_MIN);
		store_bind_int(st, 2, h->hi ? h->hi : INT64_MAX);
		while ((rc = store_step(st, &h->err)) == STORE_ROW) {
			if (!h->first_seq)
				h->first_seq = store_col_int(st, 0);
			if (h->k->failed || (rc = checker_add(h->k, st, &h->err)) != 0)
				break;
		}
		store_done(st);
	}
	checker_finish(h->k);
	h->rc = rc < 0 ? rc : 0;
}

static struct checker *checker_new(int64_t expect, int64_t cp_seq)
{
	struct checker *k = calloc(1, sizeof *k);

	if (!k)
		return NULL;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	k->expect = expect;
	k->cp_seq = cp_seq;
	k->no_thread = 1;
	return k;
}

/* Joins chunk b to a, which stands for every chunk before b and found
 * nothing wrong, as one pass over the whole log would judge the place
 * where they meet. Returns 1 when a problem was recorded in r; a problem
 * inside b is b's checker's to report. */
static int join_chunks(struct chunk *a, struct chunk *b, struct audit_verify_result *r)
{
	struct checker *ka = a->k, *kb = b->k;

	if (!b->first_seq)
		return 0; /* no rows here: the next chunk or the head check judges */
	if (ka->expect != b->lo || (kb->failed && kb->bad.bad_seq == b->lo &&
				    (kb->bad.problem == AUDIT_MISSING ||
				     kb->bad.problem == AUDIT_INSERTED ||
				     kb->bad.problem == AUDIT_REORDERED))) {
		if (ka->expect != b->lo)
			audit_verify_fail(r, AUDIT_MISSING, ka->expect,
					  "entry %lld is missing: the log goes from entry %lld to "
					  "%lld (deleted)",
					  (long long)ka->expect, (long long)(ka->expect - 1),
					  (long long)b->first_seq);
		else
			*r = kb->bad;
		r->count = ka->expect - 1;
		return 1;
	}
	if (kb->took_prev && kb->trust_first_prev &&
	    memcmp(kb->first_prev, ka->prev, AUDIT_HASH_BYTES) != 0) {
		audit_verify_fail(r, AUDIT_BROKEN_LINK, b->lo,
				  "entry %lld: its prev_hash is not the hash of entry %lld (an entry "
				  "before it was inserted, removed or rewritten)",
				  (long long)b->lo, (long long)(b->lo - 1));
		r->count = ka->expect - 1;
		return 1;
	}
	if (ka->cp_seen) {
		kb->cp_seen = 1;
		memcpy(kb->cp_hash, ka->cp_hash, AUDIT_HASH_BYTES);
	}
	return 0;
}

/* A connection of its own for one worker, in a read transaction, with a
 * small page cache: a scan reads each page once, and recycling a few
 * buffers costs less than faulting in a large cache. */
static struct store *worker_store(const char *path, int64_t *head_seq,
				unsigned char head[AUDIT_HASH_BYTES])
{
	struct err ignored = {0};
	struct store *s = NULL;

	if (store_open_with(&s, path, &(struct store_options){.read_snapshot = 1}, &ignored) ||
	    audit_head(s, head_seq, head, &ignored)) {
		store_close(s);
		return NULL;
	}
	return s;
}

/* The chunks of a split verify, pulled in turn by two workers, each on a
 * connection of its own: pulling keeps both busy to the end. */
#define CHUNKS 16

struct split {
	struct chunk chunk[CHUNKS];
	int next; /* the next chunk to take (atomic) */
};

struct split_worker {
	struct split *sp;
	struct store *s;
};

static void *split_worker_main(void *arg)
{
	struct split_worker *w = arg;
	int i;

	while ((i = __atomic_fetch_add(&w->sp->next, 1, __ATOMIC_RELAXED)) < CHUNKS) {
		w->sp->chunk[i].s = w->s;
		check_chunk(&w->sp->chunk[i]);
	}
	return NULL;
}

/* Both workers must read one state of the log: the head moves with every
 * append and rows are never changed, so equal heads in two read
 * transactions mean equal logs. Returns 1 when the split was done (r and
 * the rest filled as audit_verify does), 0 to verify in one pass. */
static int verify_split(struct store *s, const char *checkpoint_path,
			const struct audit_checkpoint *cp, struct audit_verify_result *r,
			struct err *err, int *rcp)
{
	unsigned char head[AUDIT_HASH_BYTES], head2[AUDIT_HASH_BYTES];
	struct split_worker w[2] = {{0}};
	struct split *sp = NULL;
	struct chunk *acc;
	int64_t head_seq = 0, head_seq2 = -1, step;
	struct err ignored = {0};
	pthread_t th;
	int done = 0, rc = 0, i, workers = audit_verify_threads > 1 ? 2 : 1;

	/* a short log, or one whose head is damaged, takes the one pass; one
	 * thread reads the chunks in turn on a snapshot connection of its own
	 * (which maps the file rather than copying its pages) */
	if (store_in_transaction(s) ||
	    audit_head(s, &head_seq, head, &ignored) != 0 || head_seq < audit_verify_split_min ||
	    head_seq < CHUNKS)
		return 0;
	if (!(sp = calloc(1, sizeof *sp)) ||
	    !(w[0].s = worker_store(store_path(s), &head_seq, head)))
		goto out;
	if (workers == 2 &&
	    (!(w[1].s = worker_store(store_path(s), &head_seq2, head2)) || head_seq2 != head_seq ||
	     memcmp(head, head2, sizeof head) != 0))
		goto out;
	step = head_seq / CHUNKS;
	for (i = 0; i < CHUNKS; i++) {
		struct chunk *h = &sp->chunk[i];

		h->lo = 1 + i * step;
		h->hi = i == CHUNKS - 1 ? 0 : 1 + (i + 1) * step;
		if (!(h->k = checker_new(h->lo, checkpoint_path ? cp->seq : -1)))
			goto out;
		h->k->trust_first_prev = i > 0;
	}
	w[0].sp = w[1].sp = sp;
	if (workers == 2 && pthread_create(&th, NULL, split_worker_main, &w[1]) != 0)
		goto out;
	split_worker_main(&w[0]);
	if (workers == 2)
		pthread_join(th, NULL);
	done = 1;
	for (i = 0; i < CHUNKS && rc == 0; i++)
		if ((rc = sp->chunk[i].rc) != 0)
			*err = sp->chunk[i].err;
	*rcp = rc;
	if (rc)
		goto out;
	/* joined in order, each chunk judged as the pass over the ones before
	 * it left things (a failed chunk ends the pass there); a chunk with no
	 * rows adds nothing */
	acc = &sp->chunk[0];
	for (i = 1; i < CHUNKS && !acc->k->failed; i++) {
		if (join_chunks(acc, &sp->chunk[i], r))
			goto out;
		if (sp->chunk[i].first_seq)
			acc = &sp->chunk[i];
	}
	if (acc->k->failed) {
		*r = acc->k->bad;
		r->count = acc->k->expect - 1;
		goto out;
	}
	finish(acc->k, head_seq, head, checkpoint_path ? cp : NULL, r);
out:
	if (sp)
		for (i = 0; i < CHUNKS; i++)
			free(sp->chunk[i].k); /* check_chunk released the rest */
	free(sp);
	store_close(w[0].s); /* ends its read transaction */
	store_close(w[1].s);
	return done;
}

int audit_verify(struct store *s, const char *checkpoint_path, struct audit_verify_result *r,
		 struct err *err)
{
	unsigned char head[AUDIT_HASH_BYTES];
	struct audit_checkpoint cp = {0};
	struct store_stmt *st = NULL;
	struct checker *k;
	int64_t head_seq = 0;
	int rc, have_head = 0;

	memset(r, 0, sizeof *r);
	if ((rc = audit_sodium_ready(err)))
		return rc;
	if (checkpoint_path) {
		if ((rc = audit_checkpoint_load(checkpoint_path, &cp, err)))
			return rc;
		if (audit_checkpoint_check_signature(store_path(s), checkpoint_path, &cp, r))
			return 0;
	}
	if (verify_split(s, checkpoint_path, &cp, r, err, &rc))
		return rc;
	memset(r, 0, sizeof *r);
	/* The head comes from the same statement as the rows, so both are read
	 * from one snapshot even while others append. */
	rc =
	    store_prepare(s,
			  "SELECT seq, at, principal, surface, tool, instruction_version, decision,"
			  " batch_id, body, prev_hash, hash,"
			  " (SELECT seq FROM action_log_head WHERE id = 1),"
			  " (SELECT hash FROM action_log_head WHERE id = 1)"
			  " FROM action_log ORDER BY action_log.seq",
			  &st, err);
	if (rc)
		return rc;
	k = calloc(1, sizeof *k);
	if (!k) {
		store_done(st);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory verifying the log");
	}
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	k->expect = 1;
	k->cp_seq = checkpoint_path ? cp.seq : -1;
	/* one thread: check each row in SQLite's own memory, as a chunk of a
	 * split verify does, rather than copy it into a batch first */
	k->no_thread = audit_verify_threads < 2;
	while ((rc = store_step(st, err)) == STORE_ROW) {
		if (!have_head) {
			have_head = 1;
			head_seq = store_col_int(st, 11);
			if (store_col_bytes(st, 12) == AUDIT_HASH_BYTES)
				memcpy(head, store_col_blob(st, 12), AUDIT_HASH_BYTES);
			else
				memset(head, 0xff, sizeof head);
		}
		/* the checker's verdict is read without its lock: a stale 0 only
		 * means reading a little further than needed */
		if (__atomic_load_n(&k->failed, __ATOMIC_RELAXED))
			break;
		if ((rc = checker_add(k, st, err)) != 0)
			break;
	}
	store_done(st);
	checker_finish(k);
	if (rc < 0)
		goto out;
	rc = 0;
	if (k->failed) {
		*r = k->bad;
		r->count = k->expect - 1;
		goto out;
	}
	if (!have_head) {
		/* no rows: the head must say the log is empty */
		rc = audit_head(s, &head_seq, head, err);
		if (rc == AIRLOCK_ECORRUPT) {
			rc = 0;
			audit_verify_fail(r, AUDIT_MISSING, 0,
					  "the log's head record is missing or damaged");
			goto out;
		}
		if (rc)
			goto out;
	}
	finish(k, head_seq, head, checkpoint_path ? &cp : NULL, r);
out:
	free(k);
	return rc;
}
