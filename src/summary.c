/* summary.c — what a batch does, in a few lines a reviewer reads first
 * (summary.h). */
#include "summary.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "clock.h"
#include "staging.h"

#define KINDS_MAX 64
#define KIND_LEN 48

struct sum {
	struct store *s;
	const struct summary_opts *o;
	time_t now;
	json_t *out, *moves, *flags, *counts;
	char kinds[KINDS_MAX][KIND_LEN];
	int nkinds;
	int64_t with, without, nsig, unknown, too_old;
	int64_t oldest, newest; /* days; -1 = none seen */
};

static char *text_of(json_t *v)
{
	char *t;

	if (!v || json_is_null(v))
		return strdup("(empty)");
	t = book_value_text(v);
	if (t && !*t) {
		free(t);
		return strdup("(empty)");
	}
	return t;
}

static void flag(struct sum *m, int64_t item, const char *record, const char *name,
		 const char *detail)
{
	json_int_t n = json_integer_value(json_object_get(m->counts, name));

	json_object_set_new(m->counts, name, json_integer(n + 1));
	if (json_array_size(m->flags) < SUMMARY_FLAGS_MAX)
		json_array_append_new(
		    m->flags, json_pack("{s:I,s:s,s:s,s:s}", "item", (json_int_t)item, "record_id",
					record ? record : "", "flag", name, "detail", detail));
}

/* The signal kinds the book knows: a reason that names one must cite one. */
static int load_kinds(struct sum *m, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(m->s, "SELECT DISTINCT kind FROM signal ORDER BY kind LIMIT 64", &st,
			   err);
	if (rc)
		return rc;
	while ((rc = store_step(st, err)) == STORE_ROW)
		if (strlen(store_col_text(st, 0)) < KIND_LEN && m->nkinds < KINDS_MAX)
			(void)snprintf(m->kinds[m->nkinds++], KIND_LEN, "%s",
				       store_col_text(st, 0));
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

long summary_names_at(const char *text, const char *word)
{
	size_t wl = strlen(word), i;
	const char *p;

	if (!wl)
		return -1;
	for (p = text; *p; p++) {
		for (i = 0; i < wl && p[i]; i++) {
			char a = (char)tolower((unsigned char)p[i]), b = word[i];

			if (!(a == b || (b == '_' && (a == ' ' || a == '-'))))
				break;
		}
		if (i == wl && (p == text || !isalnum((unsigned char)p[-1])) &&
		    !isalnum((unsigned char)p[wl]))
			return (long)(p - text);
	}
	return -1;
}

static int names_word(const char *text, const char *word)
{
	return summary_names_at(text, word) >= 0;
}

static void count_move(struct sum *m, const char *field, json_t *old, json_t *new)
{
	char *ot = text_of(old), *nt = text_of(new), *key = NULL;
	size_t len;
	json_t *g;

	if (!ot || !nt)
		goto out;
	len = strlen(field) + strlen(ot) + strlen(nt) + 3;
	key = malloc(len);
	if (!key)
		goto out;
	(void)snprintf(key, len, "%s\x1f%s\x1f%s", field, ot, nt);
	g = json_object_get(m->moves, key);
	if (g)
		json_object_set_new(
		    g, "count", json_integer(json_integer_value(json_object_get(g, "count")) + 1));
	else
		json_object_set_new(m->moves, key,
				    json_pack("{s:s,s:s,s:s,s:i}", "field", field, "old", ot, "new",
					      nt, "count", 1));
out:
	free(ot);
	free(nt);
	free(key);
}

/* An item's cited signals: known, on this record (or the survivor of its
 * merge), young enough, and covering every kind its reason names. */
static int check_evidence(struct sum *m, json_t *it, int64_t idx, const char *record)
{
	json_t *ev = json_object_get(it, "evidence"), *v, *sig = NULL, *r;
	const char *into =
	    json_string_value(json_object_get(json_object_get(it, "changes"), "merged_into"));
	char cited[KINDS_MAX] = {0}, detail[400], reasons[2048] = "";
	size_t i, used = 0;
	int k, too_old = 0;
	struct err e = {0};

	if (json_array_size(ev))
		m->with++;
	else
		m->without++;
	json_array_foreach(ev, i, v)
	{
		const char *id = json_string_value(v), *acct, *kind, *at;
		time_t t;

		m->nsig++;
		if (!id || book_get(m->s, BOOK_SIGNAL, id, &sig, &e)) {
			m->unknown++;
			(void)snprintf(detail, sizeof detail,
				       "cites %s, which is not a signal in the book",
				       id ? id : "a value that is not an id");
			flag(m, idx, record, "evidence_unknown", detail);
			continue;
		}
		acct = json_string_value(json_object_get(sig, "account_id"));
		kind = json_string_value(json_object_get(sig, "kind"));
		at = json_string_value(json_object_get(sig, "observed_at"));
		if (acct && record && strcmp(acct, record) && !(into && !strcmp(acct, into))) {
			(void)snprintf(detail, sizeof detail, "evidence %s is about %s, not %s", id,
				       acct, record);
			flag(m, idx, record, "evidence_other_record", detail);
		}
		for (k = 0; kind && k < m->nkinds; k++)
			if (!strcmp(kind, m->kinds[k]))
				cited[k] = 1;
		if (at && clock_parse(at, &t) == 0) {
			int64_t days = (int64_t)(m->now - t) / 86400;

			if (m->oldest < 0 || days > m->oldest)
				m->oldest = days;
			if (m->newest < 0 || days < m->newest)
				m->newest = days;
			if (m->o->evidence_max_age > 0 &&
			    (int64_t)(m->now - t) > m->o->evidence_max_age && !too_old) {
				too_old = 1;
				(void)snprintf(
				    detail, sizeof detail,
				    "evidence %s was observed %lld days ago (older than %lld)", id,
				    (long long)days, (long long)(m->o->evidence_max_age / 86400));
				flag(m, idx, record, "evidence_too_old", detail);
			}
		}
		json_decref(sig);
		sig = NULL;
	}
	m->too_old += too_old;
	json_array_foreach(json_object_get(it, "reasons"), i, r)
	{
		int n = snprintf(reasons + used, sizeof reasons - used, "%s ",
				 json_string_value(r) ? json_string_value(r) : "");

		if (n < 0 || (size_t)n >= sizeof reasons - used)
			break;
		used += (size_t)n;
	}
	for (k = 0; k < m->nkinds; k++)
		if (!cited[k] && names_word(reasons, m->kinds[k])) {
			(void)snprintf(detail, sizeof detail,
				       "the reason names %s but no cited signal is of that kind",
				       m->kinds[k]);
			flag(m, idx, record, "reason_without_evidence", detail);
			break;
		}
	return 0;
}

static int count_rows(struct store *s, const char *sql, const char *id, int64_t *n, struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	*n = 0;
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*n = store_col_int(st, 0);
		rc = 0;
	}
	store_done(st);
	return rc;
}

/* A merge moves every contact and signal of its source: what it moved when
 * applied, what sits on the source now while it waits. */
static int sum_merge(struct sum *m, json_t *items, struct err *err)
{
	json_t *it, *into = json_array();
	int64_t accounts = 0, contacts = 0, signals = 0, n;
	size_t i, j;
	int rc = 0;

	json_array_foreach(items, i, it)
	{
		const char *src = json_string_value(json_object_get(it, "record_id"));
		const char *dst = json_string_value(
		    json_object_get(json_object_get(it, "changes"), "merged_into"));
		json_t *moved = json_object_get(it, "moved"), *v;
		int seen = 0;

		if (!src || !dst)
			continue;
		accounts++;
		json_array_foreach(into, j, v) seen |= !strcmp(json_string_value(v), dst);
		if (!seen)
			json_array_append_new(into, json_string(dst));
		if (json_is_object(moved)) {
			contacts += (int64_t)json_array_size(json_object_get(moved, "contacts"));
			signals += (int64_t)json_array_size(json_object_get(moved, "signals"));
			continue;
		}
		rc = count_rows(m->s, "SELECT count(*) FROM contact WHERE account_id=?1", src, &n,
				err);
		if (rc)
			break;
		contacts += n;
		rc = count_rows(m->s, "SELECT count(*) FROM signal WHERE account_id=?1", src, &n,
				err);
		if (rc)
			break;
		signals += n;
	}
	if (!rc && accounts)
		json_object_set_new(m->out, "merge",
				    json_pack("{s:I,s:I,s:I,s:O}", "accounts", (json_int_t)accounts,
					      "contacts", (json_int_t)contacts, "signals",
					      (json_int_t)signals, "into", into));
	json_decref(into);
	return rc;
}

/* A send: which accounts the messages go to, and to how many people. */
static void sum_send(struct sum *m, json_t *items)
{
	json_t *accts = json_object(), *arr = json_array(), *it, *a;
	int64_t recipients = 0;
	const char *k;
	size_t i;
	struct err e = {0};

	json_array_foreach(items, i, it)
	{
		json_t *d = json_object_get(it, "before");
		const char *id = json_string_value(json_object_get(d, "account_id"));

		recipients += (int64_t)json_array_size(json_object_get(d, "recipients"));
		if (!id)
			id = "?";
		a = json_object_get(accts, id);
		if (a)
			json_object_set_new(
			    a, "messages",
			    json_integer(json_integer_value(json_object_get(a, "messages")) + 1));
		else {
			json_t *rec = NULL;
			const char *name = NULL;

			if (book_get(m->s, BOOK_ACCOUNT, id, &rec, &e) == 0)
				name = json_string_value(json_object_get(rec, "name"));
			json_object_set_new(accts, id,
					    json_pack("{s:s,s:s,s:i}", "id", id, "name",
						      name ? name : "(not in the book)", "messages",
						      1));
			json_decref(rec);
		}
	}
	json_object_foreach(accts, k, a) json_array_append(arr, a);
	json_object_set_new(
	    m->out, "send",
	    json_pack("{s:o,s:I}", "accounts", arr, "recipients", (json_int_t)recipients));
	json_decref(accts);
}

/* Other waiting batches that touch the same records: approving one may
 * conflict with, or silently undo the intent of, the other. */
static int sum_overlap(struct sum *m, int64_t batch_id, struct err *err)
{
	struct store_stmt *st;
	json_t *arr = json_array();
	int rc;

	rc = store_prepare(
	    m->s,
	    "SELECT i.batch_id, b.state, count(DISTINCT i.record_id) FROM batch_item i"
	    " JOIN batch b ON b.id=i.batch_id"
	    " WHERE i.batch_id<>?1 AND b.state IN"
	    " ('staged','sampled','blocked','approved')"
	    " AND i.record_id IN (SELECT record_id FROM batch_item WHERE batch_id=?1)"
	    /* b.state too: one per batch, and PostgreSQL names every column */
	    " GROUP BY i.batch_id, b.state ORDER BY i.batch_id LIMIT 50",
	    &st, err);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	store_bind_int(st, 1, batch_id);
	while ((rc = store_step(st, err)) == STORE_ROW)
		json_array_append_new(arr, json_pack("{s:I,s:s,s:I}", "batch_id",
						     (json_int_t)store_col_int(st, 0), "state",
						     store_col_text(st, 1), "records",
						     (json_int_t)store_col_int(st, 2)));
	store_done(st);
	json_object_set_new(m->out, "overlap", arr);
	return rc == STORE_DONE ? 0 : rc;
}

static int by_count(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "count"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "count"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The groups of moves, most frequent first, at most SUMMARY_MOVES_MAX. */
static void sum_moves(struct sum *m)
{
	size_t n = json_object_size(m->moves), i = 0;
	json_t **v = n ? calloc(n, sizeof *v) : NULL, *arr = json_array(), *g;
	const char *k;

	json_object_foreach(m->moves, k, g) if (v) v[i++] = g;
	if (v)
		qsort(v, i, sizeof *v, by_count);
	for (n = 0; v && n < i && n < SUMMARY_MOVES_MAX; n++)
		json_array_append(arr, v[n]);
	free(v);
	json_object_set_new(m->out, "moves", arr);
	json_object_set_new(m->out, "moves_total_groups", json_integer((json_int_t)i));
}

/* Appends to buf at *used, keeping it terminated; a cut line stays a line. */
static void put(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*used = (size_t)n >= len - *used ? len - 1 : *used + (size_t)n;
}

static const char *const flag_order[] = {"evidence_other_record", "reason_without_evidence",
					 "evidence_unknown", "evidence_too_old", NULL};
static const char *const flag_words[] = {
    "cite evidence about another record", "give a reason the evidence does not support",
    "cite a signal that is not in the book", "cite a signal older than the policy allows"};

/* The flagged items of one kind as "items 4, 17, 33" (at most 8 named). */
static void flag_items(json_t *flags, const char *name, char *buf, size_t len)
{
	json_t *f;
	size_t i, used = 0;
	int n = 0;

	buf[0] = '\0';
	json_array_foreach(flags, i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "flag")), name))
			continue;
		if (n == 8) {
			put(buf, len, &used, ", …");
			break;
		}
		put(buf, len, &used, "%s%lld", n ? ", " : "items ",
		    (long long)json_integer_value(json_object_get(f, "item")));
		n++;
	}
}

static void sum_lines(struct sum *m, json_t *batch)
{
	json_t *lines = json_array(), *g, *ov = json_object_get(m->out, "overlap"), *x;
	const char *action = json_string_value(json_object_get(batch, "action"));
	int64_t items = (int64_t)json_array_size(json_object_get(batch, "item_list"));
	char line[700], worst[700] = "", who[200];
	size_t i, used = 0;
	int f;

	if (!action)
		action = "update";
	if ((x = json_object_get(m->out, "send"))) {
		put(line, sizeof line, &used, "sends %lld message(s) to %lld recipient(s) at ",
		    (long long)items,
		    (long long)json_integer_value(json_object_get(x, "recipients")));
		json_array_foreach(json_object_get(x, "accounts"), i, g)
		{
			if (i == 5) {
				put(line, sizeof line, &used, ", and %zu more account(s)",
				    json_array_size(json_object_get(x, "accounts")) - 5);
				break;
			}
			put(line, sizeof line, &used, "%s%s (%s, %lld message(s))", i ? ", " : "",
			    json_string_value(json_object_get(g, "name")),
			    json_string_value(json_object_get(g, "id")),
			    (long long)json_integer_value(json_object_get(g, "messages")));
		}
		json_array_append_new(lines, json_string(line));
	} else if ((x = json_object_get(m->out, "merge"))) {
		put(line, sizeof line, &used,
		    "merges %lld account(s) into %zu survivor(s): %lld contact(s) and %lld "
		    "signal(s) move with them",
		    (long long)json_integer_value(json_object_get(x, "accounts")),
		    json_array_size(json_object_get(x, "into")),
		    (long long)json_integer_value(json_object_get(x, "contacts")),
		    (long long)json_integer_value(json_object_get(x, "signals")));
		json_array_append_new(lines, json_string(line));
	} else {
		put(line, sizeof line, &used, "%lld record(s): ", (long long)items);
		json_array_foreach(json_object_get(m->out, "moves"), i, g)
		{
			if (i == 6) {
				put(line, sizeof line, &used, "; and %lld more kind(s) of change",
				    (long long)json_integer_value(
					json_object_get(m->out, "moves_total_groups")) -
					6);
				break;
			}
			put(line, sizeof line, &used, "%s%s %s → %s ×%lld", i ? "; " : "",
			    json_string_value(json_object_get(g, "field")),
			    json_string_value(json_object_get(g, "old")),
			    json_string_value(json_object_get(g, "new")),
			    (long long)json_integer_value(json_object_get(g, "count")));
		}
		json_array_append_new(lines, json_string(line));
	}
	if (strcmp(action, "send")) {
		used = 0;
		put(line, sizeof line, &used, "evidence: %lld of %lld item(s) cite some",
		    (long long)m->with, (long long)items);
		if (m->without)
			put(line, sizeof line, &used, "; %lld cite none", (long long)m->without);
		if (m->oldest >= 0)
			put(line, sizeof line, &used, "; signals %lld to %lld day(s) old",
			    (long long)m->newest, (long long)m->oldest);
		if (m->too_old)
			put(line, sizeof line, &used, "; %lld cite a signal older than %lld days",
			    (long long)m->too_old, (long long)(m->o->evidence_max_age / 86400));
		json_array_append_new(lines, json_string(line));
	}
	for (f = 0; flag_order[f]; f++) {
		json_int_t n = json_integer_value(json_object_get(m->counts, flag_order[f]));
		char list[200];

		if (!n)
			continue;
		flag_items(m->flags, flag_order[f], list, sizeof list);
		(void)snprintf(line, sizeof line, "%lld item(s) %s (%s)", (long long)n,
			       flag_words[f], list);
		json_array_append_new(lines, json_string(line));
		if (!worst[0])
			(void)snprintf(worst, sizeof worst, "%lld item(s) %s", (long long)n,
				       flag_words[f]);
	}
	if (!worst[0] && m->without && strcmp(action, "send"))
		(void)snprintf(worst, sizeof worst, "%lld item(s) cite no evidence",
			       (long long)m->without);
	if (json_array_size(ov)) {
		used = 0;
		put(line, sizeof line, &used, "records also in other waiting batches: ");
		json_array_foreach(ov, i, g) put(
		    line, sizeof line, &used, "%sbatch %lld (%s, %lld record(s))", i ? ", " : "",
		    (long long)json_integer_value(json_object_get(g, "batch_id")),
		    json_string_value(json_object_get(g, "state")),
		    (long long)json_integer_value(json_object_get(g, "records")));
		json_array_append_new(lines, json_string(line));
		if (!worst[0])
			(void)snprintf(worst, sizeof worst, "%s", line);
	}
	(void)snprintf(who, sizeof who, "%s, %s",
		       json_string_value(json_object_get(batch, "workflow"))
			   ? json_string_value(json_object_get(batch, "workflow"))
			   : "?",
		       json_string_value(json_object_get(batch, "principal"))
			   ? json_string_value(json_object_get(batch, "principal"))
			   : "?");
	used = 0; /* a long flag is cut, the headline stays one line */
	put(line, sizeof line, &used, "batch %lld (%s): %s of %lld item(s), radius %lld; %s",
	    (long long)json_integer_value(json_object_get(batch, "id")), who, action,
	    (long long)items, (long long)json_integer_value(json_object_get(batch, "radius")),
	    worst[0] ? worst : "nothing flagged");
	json_object_set_new(m->out, "headline", json_string(line));
	json_object_set_new(m->out, "worst", worst[0] ? json_string(worst) : json_null());
	json_object_set_new(m->out, "lines", lines);
}

int summary_batch(struct store *s, json_t *batch, const struct summary_opts *o, json_t **out,
		  struct err *err)
{
	static const struct summary_opts none = {0, 0};
	struct sum *m = calloc(1, sizeof *m);
	json_t *items = json_object_get(batch, "item_list"), *it, *v;
	const char *action = json_string_value(json_object_get(batch, "action")), *k;
	int64_t id = json_integer_value(json_object_get(batch, "id"));
	size_t i;
	int rc;

	*out = NULL;
	if (!m)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory summarising batch %lld",
			       (long long)id);
	m->s = s;
	m->o = o ? o : &none;
	m->now = m->o->now ? m->o->now : clock_now();
	m->oldest = m->newest = -1;
	m->out = json_object();
	m->moves = json_object();
	m->flags = json_array();
	m->counts = json_object();
	rc = load_kinds(m, err);
	if (rc)
		goto out;
	json_object_set_new(m->out, "batch_id", json_integer(id));
	json_object_set_new(m->out, "action", json_string(action ? action : "update"));
	json_object_set_new(m->out, "items", json_integer((json_int_t)json_array_size(items)));
	json_object_set(m->out, "radius", json_object_get(batch, "radius"));
	if (action && !strcmp(action, "send"))
		sum_send(m, items);
	else {
		json_array_foreach(items, i, it)
		{
			json_t *before = json_object_get(it, "before");
			const char *record = json_string_value(json_object_get(it, "record_id"));
			int64_t idx = json_integer_value(json_object_get(it, "idx"));

			json_object_foreach(json_object_get(it, "changes"), k, v)
			{
				json_t *old =
				    !strncmp(k, "custom.", 7)
					? json_object_get(json_object_get(before, "custom"), k + 7)
					: json_object_get(before, k);

				count_move(m, k, old, v);
			}
			check_evidence(m, it, idx ? idx : (int64_t)i + 1, record);
		}
		if (action && !strcmp(action, "merge"))
			rc = sum_merge(m, items, err);
	}
	if (!rc)
		rc = sum_overlap(m, id, err);
	if (rc)
		goto out;
	sum_moves(m);
	json_object_set_new(
	    m->out, "evidence",
	    json_pack("{s:I,s:I,s:I,s:I,s:o,s:o,s:I,s:I}", "with", (json_int_t)m->with, "without",
		      (json_int_t)m->without, "signals", (json_int_t)m->nsig, "unknown",
		      (json_int_t)m->unknown, "oldest_days",
		      m->oldest >= 0 ? json_integer(m->oldest) : json_null(), "newest_days",
		      m->newest >= 0 ? json_integer(m->newest) : json_null(), "too_old",
		      (json_int_t)m->too_old, "max_age_days",
		      (json_int_t)(m->o->evidence_max_age / 86400)));
	json_object_set(m->out, "flags", m->flags);
	json_object_set(m->out, "flag_counts", m->counts);
	sum_lines(m, batch);
	*out = m->out;
	m->out = NULL;
out:
	json_decref(m->out);
	json_decref(m->moves);
	json_decref(m->flags);
	json_decref(m->counts);
	free(m);
	return rc;
}

int summary_batch_id(struct store *s, int64_t batch_id, const struct summary_opts *o, json_t **out,
		     struct err *err)
{
	json_t *b = NULL;
	int rc;

	*out = NULL;
	rc = staging_get(s, batch_id, &b, err);
	if (!rc)
		rc = summary_batch(s, b, o, out, err);
	json_decref(b);
	return rc;
}
