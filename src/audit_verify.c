/* audit_verify.c — audit_verify(): recompute the chain and check every
 * column against the body it was copied from. Part of the audit module
 * (audit.h). */
#include "audit.h"
#include "audit_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char zero_hash[AUDIT_HASH_BYTES];

/* The query columns, in SELECT order after seq, and their body keys. */
static const char *const query_columns[] = {
	"at", "principal", "surface", "tool", "instruction_version", "decision", "batch_id",
};
#define NQUERY (int)(sizeof query_columns / sizeof query_columns[0])
#define FIELD_SEQ NQUERY

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

/* p at an opening quote; returns the index after the closing one, or 0. */
static size_t skip_string(const char *b, size_t n, size_t p)
{
	for (p++; p < n; p++) {
		if (b[p] == '\\')
			p++;
		else if (b[p] == '"')
			return p + 1;
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
		switch (b[p]) {
		case '"':
			p = skip_string(b, n, p);
			if (!p)
				return 0;
			continue;
		case '{':
		case '[': depth++; break;
		case '}':
		case ']':
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
	int i;

	if (len == 3 && memcmp(key, "seq", 3) == 0)
		return FIELD_SEQ;
	for (i = 0; i < NQUERY; i++)
		if (strlen(query_columns[i]) == len && memcmp(query_columns[i], key, len) == 0)
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
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
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
		default: return 0;
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

static int token_equals_column(const char *t, size_t tn, struct store_stmt *st, int col)
{
	if (!t)
		return 0;
	switch (store_col_type(st, col)) {
	case 'n': return tn == 4 && memcmp(t, "null", 4) == 0;
	case 't':
		return token_equals_text(t, tn, store_col_text(st, col),
					 (size_t)store_col_bytes(st, col));
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

int audit_verify_fail(struct audit_verify_result *r, enum audit_problem p, int64_t seq,
		  const char *fmt, ...)
{
	va_list ap;

	r->ok = 0;
	r->problem = p;
	r->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
	return 1;
}

/* Quotes a body field's decoded value for a message; "null" for null. */
static void body_value_text(const char *body, size_t len, const char *key, char *out,
			    size_t size)
{
	json_t *o = json_loadb(body, len, 0, NULL), *v = json_object_get(o, key);

	if (json_is_string(v))
		snprintf(out, size, "'%.60s'", json_string_value(v));
	else if (json_is_null(v))
		snprintf(out, size, "null");
	else
		snprintf(out, size, "%s", v ? "a non-string" : "nothing");
	json_decref(o);
}

static void column_text(struct store_stmt *st, int col, char *out, size_t size)
{
	if (store_col_type(st, col) == 'n')
		snprintf(out, size, "null");
	else
		snprintf(out, size, "'%.60s'", store_col_text(st, col));
}

/* Checks one row against the chain so far; 1 when it found a problem. */
static int check_row(struct store_stmt *st, int64_t expect, const unsigned char prev[],
		     unsigned char hash[], struct audit_verify_result *r)
{
	int64_t seq = store_col_int(st, 0), body_seq;
	const char *body = store_col_text(st, 8);
	size_t len = (size_t)store_col_bytes(st, 8);
	struct body_fields f;
	char a[80], b[80];
	int scanned, i;

	if (seq > expect)
		return audit_verify_fail(r, AUDIT_MISSING, expect,
			       "entry %lld is missing: the log goes from entry %lld to %lld (deleted)",
			       (long long)expect, (long long)(expect - 1), (long long)seq);
	if (seq < expect)
		return audit_verify_fail(r, AUDIT_INSERTED, seq,
			       "entry %lld does not belong: the log starts at entry 1 (inserted)",
			       (long long)seq);
	if (!body)
		body = "";
	scanned = body_scan(body, len, &f) == 0;
	body_seq = scanned ? token_int(f.tok[FIELD_SEQ], f.len[FIELD_SEQ]) : -1;
	if (body_seq >= 0 && body_seq != seq)
		return audit_verify_fail(r, AUDIT_REORDERED, seq,
			       "entry %lld holds the body of entry %lld (entries were inserted, "
			       "removed or reordered)",
			       (long long)seq, (long long)body_seq);
	if (store_col_bytes(st, 9) != AUDIT_HASH_BYTES ||
	    memcmp(store_col_blob(st, 9), prev, AUDIT_HASH_BYTES) != 0)
		return audit_verify_fail(r, AUDIT_BROKEN_LINK, seq,
			       "entry %lld: its prev_hash is not the hash of entry %lld (an entry "
			       "before it was inserted, removed or rewritten)",
			       (long long)seq, (long long)(seq - 1));
	audit_hash(seq, prev, body, len, hash);
	if (store_col_bytes(st, 10) != AUDIT_HASH_BYTES ||
	    memcmp(store_col_blob(st, 10), hash, AUDIT_HASH_BYTES) != 0)
		return audit_verify_fail(r, AUDIT_EDITED, seq,
			       "entry %lld: its content does not match its hash (edited)",
			       (long long)seq);
	if (!scanned || body_seq < 0)
		return audit_verify_fail(r, AUDIT_EDITED, seq,
			       "entry %lld: its body is not a log entry (rewritten)", (long long)seq);
	for (i = 0; i < NQUERY; i++) {
		if (token_equals_column(f.tok[i], f.len[i], st, i + 1))
			continue;
		column_text(st, i + 1, a, sizeof a);
		body_value_text(body, len, query_columns[i], b, sizeof b);
		return audit_verify_fail(r, AUDIT_EDITED, seq,
			       "entry %lld: column %s is %s but its hashed body says %s (edited)",
			       (long long)seq, query_columns[i], a, b);
	}
	return 0;
}

static int check_head(int64_t last, const unsigned char hash[], int64_t head_seq,
		      const unsigned char head[], struct audit_verify_result *r)
{
	if (head_seq > last && head_seq == last + 1)
		return audit_verify_fail(r, AUDIT_MISSING, head_seq,
			       "entry %lld is missing: the log's head says it ends there but the "
			       "last entry is %lld (deleted from the end)",
			       (long long)head_seq, (long long)last);
	if (head_seq > last)
		return audit_verify_fail(r, AUDIT_MISSING, last + 1,
			       "entries %lld to %lld are missing: the log's head says it ends at "
			       "%lld (deleted from the end)",
			       (long long)(last + 1), (long long)head_seq, (long long)head_seq);
	if (head_seq < last)
		return audit_verify_fail(r, AUDIT_INSERTED, head_seq + 1,
			       "entry %lld is beyond the log's head, which ends at entry %lld "
			       "(inserted)",
			       (long long)(head_seq + 1), (long long)head_seq);
	if (memcmp(hash, head, AUDIT_HASH_BYTES) != 0)
		return audit_verify_fail(r, AUDIT_BROKEN_LINK, last,
			       "entry %lld: the log's head record holds another hash (the head "
			       "was changed)",
			       (long long)last);
	return 0;
}

int audit_verify(struct store *s, const char *checkpoint_path, struct audit_verify_result *r,
		 struct err *err)
{
	unsigned char prev[AUDIT_HASH_BYTES], hash[AUDIT_HASH_BYTES], head[AUDIT_HASH_BYTES];
	unsigned char at_cp[AUDIT_HASH_BYTES];
	struct audit_checkpoint cp = {0};
	struct store_stmt *st = NULL;
	int64_t expect = 1, head_seq = 0;
	int rc, have_head = 0, cp_seen = 0;

	memset(r, 0, sizeof *r);
	memcpy(prev, zero_hash, sizeof prev);
	memcpy(at_cp, zero_hash, sizeof at_cp);
	if ((rc = audit_sodium_ready(err)))
		return rc;
	if (checkpoint_path) {
		if ((rc = audit_checkpoint_load(checkpoint_path, &cp, err)))
			return rc;
		if (audit_checkpoint_check_signature(store_path(s), checkpoint_path, &cp, r))
			return 0;
	}
	/* The head comes from the same statement as the rows, so both are read
	 * from one snapshot even while others append. */
	rc = store_prepare(s,
			   "SELECT seq, at, principal, surface, tool, instruction_version, decision,"
			   " batch_id, body, prev_hash, hash,"
			   " (SELECT seq FROM action_log_head WHERE id = 1),"
			   " (SELECT hash FROM action_log_head WHERE id = 1)"
			   " FROM action_log ORDER BY seq",
			   &st, err);
	if (rc)
		return rc;
	while ((rc = store_step(st, err)) == STORE_ROW) {
		if (!have_head) {
			have_head = 1;
			head_seq = store_col_int(st, 11);
			if (store_col_bytes(st, 12) == AUDIT_HASH_BYTES)
				memcpy(head, store_col_blob(st, 12), AUDIT_HASH_BYTES);
			else
				memset(head, 0xff, sizeof head);
		}
		if (check_row(st, expect, prev, hash, r))
			goto done;
		if (checkpoint_path && expect == cp.seq) {
			memcpy(at_cp, hash, sizeof at_cp);
			cp_seen = 1;
		}
		memcpy(prev, hash, sizeof prev);
		r->count++;
		expect++;
	}
	store_done(st);
	st = NULL;
	if (rc < 0)
		return rc;
	if (!have_head) {
		/* no rows: the head must say the log is empty */
		rc = audit_head(s, &head_seq, head, err);
		if (rc == AIRLOCK_ECORRUPT) {
			audit_verify_fail(r, AUDIT_MISSING, 0, "the log's head record is missing or damaged");
			return 0;
		}
		if (rc)
			return rc;
	}
	if (check_head(expect - 1, prev, head_seq, head, r))
		return 0;
	if (checkpoint_path) {
		if (cp.seq > expect - 1) {
			audit_verify_fail(r, AUDIT_MISSING, expect,
				"the checkpoint covers entry %lld but the log ends at entry %lld "
				"(entries deleted)",
				(long long)cp.seq, (long long)(expect - 1));
			return 0;
		}
		if ((cp_seen || cp.seq == 0) && memcmp(at_cp, cp.head, AUDIT_HASH_BYTES) != 0) {
			audit_verify_fail(r, AUDIT_REWRITTEN, cp.seq,
				"entry %lld does not have the hash the checkpoint of %s signed: the "
				"log was rewritten at or before entry %lld",
				(long long)cp.seq, cp.at, (long long)cp.seq);
			return 0;
		}
		r->checkpoint_checked = 1;
		r->checkpoint_seq = cp.seq;
		r->checkpoint_key_local = cp.key_local;
	}
	r->ok = 1;
	r->head_seq = expect - 1;
	memcpy(r->head, prev, sizeof r->head);
	return 0;
done:
	store_done(st);
	return 0;
}
