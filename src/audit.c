/* audit.c — the hash-chained action log: appending entries and reading
 * them back. Verification is in audit_verify.c, the signing key and
 * checkpoints in audit_sign.c; together they implement audit.h. */
#include "audit.h"
#include "clock.h"
#include "audit_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "airlock.log.v1"
#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
#define IDS_MAX_DEPTH 8

int audit_sodium_ready(struct err *err)
{
	if (sodium_init() < 0)
		return err_set(err, AIRLOCK_EIO, "cannot initialise libsodium");
	return 0;
}

void audit_now(char out[AUDIT_TIME_MAX])
{
	struct timespec ts;

	const char *pin = getenv("AIRLOCK_NOW");

	/* the log keeps airlock's clock, which tests and the demo may pin */
	if (pin && *pin) {
		audit_format_time(clock_now(), 0, out);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	audit_format_time(ts.tv_sec, ts.tv_nsec / 1000, out);
}

void audit_format_time(time_t t, long usec, char out[AUDIT_TIME_MAX])
{
	struct tm tm;
	size_t n;

	if (!gmtime_r(&t, &tm)) {
		(void)snprintf(out, AUDIT_TIME_MAX, "1970-01-01T00:00:00.000000Z");
		return;
	}
	n = strftime(out, AUDIT_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(out + n, AUDIT_TIME_MAX - n, ".%06ldZ", usec);
}

void audit_hash(int64_t seq, const unsigned char prev[AUDIT_HASH_BYTES], const char *body,
		size_t len, unsigned char out[AUDIT_HASH_BYTES])
{
	crypto_generichash_state st;
	unsigned char be[8];
	int i;

	for (i = 0; i < 8; i++)
		be[i] = (unsigned char)((uint64_t)seq >> (56 - 8 * i));
	crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)LOG_TAG, sizeof LOG_TAG - 1);
	crypto_generichash_update(&st, be, sizeof be);
	crypto_generichash_update(&st, prev, AUDIT_HASH_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)body, len);
	crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

void audit_hash_hex(const unsigned char hash[AUDIT_HASH_BYTES], char out[AUDIT_HASH_HEX])
{
	sodium_bin2hex(out, AUDIT_HASH_HEX, hash, AUDIT_HASH_BYTES);
}

static int set_text(json_t *o, const char *key, const char *v, struct err *err)
{
	json_t *j = v ? json_string(v) : json_null();

	if (!j)
		return err_set(err, AIRLOCK_EINVAL, "action log entry: %s is not valid UTF-8", key);
	if (json_object_set_new(o, key, j))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

static int is_excluded_key(const char *k)
{
	return !strcmp(k, "batch_id") || !strcmp(k, "batch_ids") || !strcmp(k, "request_id") ||
	       !strcmp(k, "session_id");
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && memcmp(s + n - m, suffix, m) == 0;
}

/* The record ids an entry is filed under, deduplicated in first-seen
 * order: `seen` is a set (object keys), `list` the order. */
struct idset {
	json_t *seen;
	json_t *list;
};

static int idset_add(struct idset *ids, const json_t *v)
{
	char num[32];
	const char *id;

	if (json_is_string(v))
		id = json_string_value(v);
	else if (json_is_integer(v)) {
		(void)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		id = num;
	} else
		return 0;
	if (!*id || strlen(id) > AUDIT_RECORD_ID_MAX || json_object_get(ids->seen, id))
		return 0;
	if (json_object_set_new(ids->seen, id, json_true()) ||
	    json_array_append_new(ids->list, json_string(id)))
		return AIRLOCK_ENOMEM;
	return 0;
}

static int idset_collect(struct idset *ids, json_t *v, int depth)
{
	const char *key;
	json_t *val, *el;
	size_t i;
	int rc;

	if (depth > IDS_MAX_DEPTH)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach(v, key, val)
		{
			if (is_excluded_key(key))
				continue;
			if (!strcmp(key, "id") || ends_with(key, "_id")) {
				if ((rc = idset_add(ids, val)))
					return rc;
			} else if ((!strcmp(key, "ids") || ends_with(key, "_ids")) &&
				   json_is_array(val)) {
				json_array_foreach(val, i,
						   el) if ((rc = idset_add(ids, el))) return rc;
			}
			if ((rc = idset_collect(ids, val, depth + 1)))
				return rc;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i,
				   el) if ((rc = idset_collect(ids, el, depth + 1))) return rc;
	}
	return 0;
}

static int record_ids_of(const struct audit_entry *e, json_t *args, json_t **out, struct err *err)
{
	struct idset ids = {json_object(), json_array()};
	json_t *el;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (!ids.seen || !ids.list) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	if (e->record_ids) {
		if (!json_is_array(e->record_ids)) {
			rc = err_set(err, AIRLOCK_EINVAL,
				     "action log entry: record_ids must be an array of strings");
			goto out;
		}
		json_array_foreach(e->record_ids, i, el)
		{
			if (!json_is_string(el) || !*json_string_value(el) ||
			    strlen(json_string_value(el)) > AUDIT_RECORD_ID_MAX) {
				rc = err_set(
				    err, AIRLOCK_EINVAL,
				    "action log entry: record_ids[%zu] must be a string of 1 to "
				    "%d bytes",
				    i, AUDIT_RECORD_ID_MAX);
				goto out;
			}
			if (idset_add(&ids, el)) {
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
				goto out;
			}
		}
	} else if (idset_collect(&ids, args, 0)) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	*out = ids.list;
	ids.list = NULL;
out:
	json_decref(ids.seen);
	json_decref(ids.list);
	return rc;
}

/* Everything of the entry but seq and at, which are known only once the
 * writer holds the log. */
static int entry_object(const struct audit_entry *e, json_t **out, struct err *err)
{
	json_t *o = json_object(), *args, *reasons, *ids = NULL, *el;
	size_t i;
	int rc;

	*out = NULL;
	if (!o)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (!e->principal || !*e->principal || !e->surface || !*e->surface || !e->tool ||
	    !*e->tool) {
		rc = err_set(err, AIRLOCK_EINVAL, "action log entry: %s is missing",
			     !e->principal || !*e->principal ? "principal"
			     : !e->surface || !*e->surface   ? "surface"
							     : "tool");
		goto out;
	}
	args = e->args ? json_incref(e->args) : json_object();
	if (!json_is_object(args)) {
		json_decref(args);
		rc = err_set(err, AIRLOCK_EINVAL, "action log entry: args must be a JSON object");
		goto out;
	}
	if (json_object_set_new(o, "args", args)) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	reasons = e->reasons ? json_incref(e->reasons) : json_array();
	if (json_object_set_new(o, "reasons", reasons)) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	if (!json_is_array(reasons)) {
		rc = err_set(err, AIRLOCK_EINVAL,
			     "action log entry: reasons must be an array of strings");
		goto out;
	}
	json_array_foreach(reasons, i, el)
	{
		if (!json_is_string(el)) {
			rc = err_set(err, AIRLOCK_EINVAL,
				     "action log entry: reasons[%zu] is not a string", i);
			goto out;
		}
	}
	if ((rc = set_text(o, "principal", e->principal, err)) ||
	    (rc = set_text(o, "surface", e->surface, err)) ||
	    (rc = set_text(o, "tool", e->tool, err)) ||
	    (rc = set_text(o, "instruction_version", e->instruction_version, err)) ||
	    (rc = set_text(o, "decision", e->decision, err)) ||
	    (rc = set_text(o, "summary", e->summary, err)) ||
	    (rc = set_text(o, "batch_id", e->batch_id, err)))
		goto out;
	if ((rc = record_ids_of(e, args, &ids, err)))
		goto out;
	if (json_object_set_new(o, "record_ids", ids)) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	*out = o;
	o = NULL;
out:
	json_decref(o);
	return rc;
}

int audit_head(struct store *s, int64_t *seq, unsigned char hash[AUDIT_HASH_BYTES], struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s, "SELECT seq, hash FROM action_log_head WHERE id = 1", &st, err);
	if (rc)
		return rc;
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		if (store_col_bytes(st, 1) != AUDIT_HASH_BYTES)
			rc = err_set(err, AIRLOCK_ECORRUPT,
				     "%s: the action log's head record is damaged; run 'airlock "
				     "verify'",
				     store_path(s));
		else {
			*seq = store_col_int(st, 0);
			memcpy(hash, store_col_blob(st, 1), AUDIT_HASH_BYTES);
			rc = 0;
		}
	} else if (rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_ECORRUPT,
			     "%s: the action log's head record is missing; run 'airlock verify'",
			     store_path(s));
	store_done(st);
	return rc;
}

static int step_done(struct store_stmt *st, struct err *err)
{
	int rc = store_step(st, err);

	store_done(st);
	return rc == STORE_DONE ? 0 : rc < 0 ? rc : err_set(err, AIRLOCK_EIO, "unexpected row");
}

/* The string o holds under key, or NULL (JSON null or absent). */
static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The query columns are copied from the entry object o, which holds the
 * very values the body was made from. */
static int insert_entry(struct store *s, int64_t seq, const char *at, json_t *o, const char *body,
			size_t len, const unsigned char prev[AUDIT_HASH_BYTES],
			const unsigned char hash[AUDIT_HASH_BYTES], struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s,
			   "INSERT INTO action_log(seq, at, principal, surface, tool,"
			   " instruction_version, decision, batch_id, body, prev_hash, hash)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, seq);
	store_bind_text(st, 2, at);
	store_bind_text(st, 3, str_of(o, "principal"));
	store_bind_text(st, 4, str_of(o, "surface"));
	store_bind_text(st, 5, str_of(o, "tool"));
	store_bind_text(st, 6, str_of(o, "instruction_version"));
	store_bind_text(st, 7, str_of(o, "decision"));
	store_bind_text(st, 8, str_of(o, "batch_id"));
	store_bind_textn(st, 9, body, (int)len);
	store_bind_blob(st, 10, prev, AUDIT_HASH_BYTES);
	store_bind_blob(st, 11, hash, AUDIT_HASH_BYTES);
	return step_done(st, err);
}

static int insert_records(struct store *s, int64_t seq, json_t *ids, struct err *err)
{
	struct store_stmt *st;
	json_t *el;
	size_t i;
	int rc;

	json_array_foreach(ids, i, el)
	{
		rc = store_prepare(
		    s, "INSERT INTO action_log_record(record_id, seq) VALUES (?1, ?2)", &st, err);
		if (rc)
			return rc;
		store_bind_text(st, 1, json_string_value(el));
		store_bind_int(st, 2, seq);
		if ((rc = step_done(st, err)))
			return rc;
	}
	return 0;
}

int audit_head_move(struct store *s, int64_t seq, const unsigned char hash[AUDIT_HASH_BYTES],
		    struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s, "UPDATE action_log_head SET seq = ?1, hash = ?2 WHERE id = 1", &st,
			   err);
	if (rc)
		return rc;
	store_bind_int(st, 1, seq);
	store_bind_blob(st, 2, hash, AUDIT_HASH_BYTES);
	if ((rc = step_done(st, err)))
		return rc;
	if (store_changes(s) != 1)
		return err_set(err, AIRLOCK_ECORRUPT,
			       "%s: the action log's head record is missing; run 'airlock verify'",
			       store_path(s));
	return 0;
}

int audit_entry_prepare(const struct audit_entry *e, json_t **out, struct err *err)
{
	int rc = audit_sodium_ready(err);

	*out = NULL;
	return rc ? rc : entry_object(e, out, err);
}

int audit_entry_write(struct store *s, json_t *o, int64_t *head_seq,
		      unsigned char head[AUDIT_HASH_BYTES], struct err *err)
{
	unsigned char hash[AUDIT_HASH_BYTES];
	char at[AUDIT_TIME_MAX];
	int64_t next = *head_seq + 1;
	char *body;
	json_t *j;
	size_t len;
	int rc = 0;

	/* taken under the write lock, so times follow seq order as long as the
	 * clock does */
	audit_now(at);
	if ((j = json_integer(next)) == NULL || json_object_set_new(o, "seq", j) ||
	    (rc = set_text(o, "at", at, err)))
		return rc ? rc : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	body = store_json_dump(o, DUMP_FLAGS);
	if (!body)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory serialising an action log entry");
	len = strlen(body);
	if (len > AUDIT_BODY_MAX)
		rc = err_set(err, AIRLOCK_EINVAL,
			     "action log entry: %zu bytes is more than the %d a log entry may hold",
			     len, AUDIT_BODY_MAX);
	if (rc == 0) {
		audit_hash(next, head, body, len, hash);
		rc = insert_entry(s, next, at, o, body, len, head, hash, err);
	}
	free(body);
	if (rc || (rc = insert_records(s, next, json_object_get(o, "record_ids"), err)))
		return rc;
	*head_seq = next;
	memcpy(head, hash, AUDIT_HASH_BYTES);
	return 0;
}

int audit_entry_append(struct store *s, json_t *o, int64_t *seq, struct err *err)
{
	unsigned char head[AUDIT_HASH_BYTES];
	int64_t head_seq;
	int rc;

	*seq = 0;
	if ((rc = store_begin(s, err)))
		return rc;
	if ((rc = audit_head(s, &head_seq, head, err)) ||
	    (rc = audit_entry_write(s, o, &head_seq, head, err)) ||
	    (rc = audit_head_move(s, head_seq, head, err)))
		store_rollback(s);
	else
		rc = store_commit(s, err);
	if (rc == 0)
		*seq = head_seq;
	return rc;
}

int audit_append(struct store *s, const struct audit_entry *e, int64_t *seq, struct err *err)
{
	json_t *o = NULL;
	int64_t got = 0;
	int rc;

	if ((rc = audit_entry_prepare(e, &o, err)) == 0)
		rc = audit_entry_append(s, o, &got, err);
	json_decref(o);
	if (seq)
		*seq = got;
	return rc;
}

int audit_query(struct store *s, const struct audit_filter *f, audit_entry_fn fn, void *ctx,
		struct err *err)
{
	char sql[640];
	size_t n;
	struct store_stmt *st;
	json_t *entry;
	json_error_t jerr;
	int rc;

	/* Only fixed fragments go into the text; every value is bound, and the
	 * parameter numbers stay the same whichever filters are present. */
	n = (size_t)snprintf(sql, sizeof sql, "SELECT seq, body, hash FROM action_log WHERE 1 = 1");
	if (f->record_id)
		n += (size_t)snprintf(sql + n, sizeof sql - n,
				      " AND seq IN (SELECT seq FROM action_log_record"
				      " WHERE record_id = ?1)");
	if (f->batch_id)
		n += (size_t)snprintf(sql + n, sizeof sql - n, " AND batch_id = ?2");
	if (f->tool)
		n += (size_t)snprintf(sql + n, sizeof sql - n, " AND tool = ?3");
	if (f->principal)
		n += (size_t)snprintf(sql + n, sizeof sql - n, " AND principal = ?4");
	if (f->since)
		n += (size_t)snprintf(sql + n, sizeof sql - n, " AND at >= ?5");
	if (f->before_seq > 0)
		n += (size_t)snprintf(sql + n, sizeof sql - n, " AND seq < ?7");
	(void)snprintf(sql + n, sizeof sql - n, " ORDER BY seq DESC LIMIT ?6");
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	if (f->record_id)
		store_bind_text(st, 1, f->record_id);
	if (f->batch_id)
		store_bind_text(st, 2, f->batch_id);
	if (f->tool)
		store_bind_text(st, 3, f->tool);
	if (f->principal)
		store_bind_text(st, 4, f->principal);
	if (f->since)
		store_bind_text(st, 5, f->since);
	store_bind_int(st, 6, f->limit > 0 ? f->limit : INT64_MAX);
	if (f->before_seq > 0)
		store_bind_int(st, 7, f->before_seq);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		int64_t seq = store_col_int(st, 0);

		entry = json_loadb(store_col_text(st, 1), (size_t)store_col_bytes(st, 1), 0, &jerr);
		if (!entry || store_col_bytes(st, 2) != AUDIT_HASH_BYTES) {
			json_decref(entry);
			rc = err_set(err, AIRLOCK_ECORRUPT,
				     "entry %lld is damaged; run 'airlock verify'", (long long)seq);
			break;
		}
		rc = fn(ctx, seq, entry, store_col_blob(st, 2));
		json_decref(entry);
		if (rc)
			break;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* An age such as "45m": a whole number and one of s m h d w. */
static int parse_age(const char *text, time_t *seconds)
{
	static const struct {
		char unit;
		long mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
	char *end;
	long long v;
	size_t i;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end[0] == '\0' || end[1] != '\0')
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++)
		if (*end == units[i].unit && v <= 100LL * 366 * 86400 / units[i].mult) {
			*seconds = (time_t)(v * units[i].mult);
			return 0;
		}
	return -1;
}

int audit_parse_time(const char *text, char out[AUDIT_TIME_MAX], struct err *err)
{
	static const char *const formats[] = {
	    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
	    "%Y-%m-%d %H:%M",	 "%Y-%m-%d",
	};
	struct timespec now;
	struct tm tm;
	time_t age, t;
	const char *end;
	size_t i;

	if (!text)
		text = "";
	if (parse_age(text, &age) == 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		audit_format_time(now.tv_sec - age, now.tv_nsec / 1000, out);
		return 0;
	}
	for (i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		memset(&tm, 0, sizeof tm);
		end = strptime(text, formats[i], &tm);
		if (!end || (*end && strcmp(end, "Z") != 0))
			continue;
		t = timegm(&tm);
		if (t == (time_t)-1)
			break;
		audit_format_time(t, 0, out);
		return 0;
	}
	return err_set(err, AIRLOCK_EINVAL,
		       "'%s' is not a time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z] (UTC), or an "
		       "age such as 30m, 12h, 7d, 2w",
		       text);
}

int audit_scan(struct store *s, const char *from, const char *to,
	       int (*fn)(const struct audit_scan_row *row, void *ctx, struct err *err), void *ctx,
	       struct err *err)
{
	struct audit_scan_row r;
	struct store_stmt *st;
	const char *first;
	int rc, all = 0;

	/* nothing older than from: reading the whole table in storage order
	 * beats walking an index over nearly all of it */
	rc = store_prepare(s, "SELECT min(at) FROM action_log", &st, err);
	if (rc)
		return rc;
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		first = store_col_text(st, 0);
		all = !first || strcmp(first, from) >= 0;
		rc = 0;
	}
	store_done(st);
	if (rc)
		return rc;
	rc = store_prepare(s,
			   all ? "SELECT at, principal, tool, decision, instruction_version FROM"
				 " action_log"
			       : "SELECT at, principal, tool, decision, instruction_version FROM"
				 " action_log WHERE at >= ?1 AND at < ?2",
			   &st, err);
	if (rc)
		return rc;
	if (!all) {
		store_bind_text(st, 1, from);
		store_bind_text(st, 2, to);
	}
	while ((rc = store_step(st, err)) == STORE_ROW) {
		r.at = store_col_text(st, 0);
		r.principal = store_col_text(st, 1);
		r.tool = store_col_text(st, 2);
		r.decision = store_col_text(st, 3);
		r.instruction_version = store_col_text(st, 4);
		rc = fn(&r, ctx, err);
		if (rc)
			break;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}
