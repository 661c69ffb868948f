/* book.h — the domain: accounts, contacts and signals, and queries on them.
 *
 * Owns: the field catalogue (names, types, allowed values), the conversion of
 * rows to and from JSON objects (jansson), per-record versions (bumped on
 * every change) and book queries. Custom fields live in the "custom" object
 * of a record and are kept as they are.
 *
 * Never: decides whether a change is allowed (that is policy.h) or writes to
 * the action log (audit.h). Callers own the transaction around a change.
 *
 * Records are json_t objects; every json_t ** out parameter returns a new
 * reference the caller must json_decref(). */
#ifndef AIRLOCK_BOOK_H
#define AIRLOCK_BOOK_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

enum book_kind { BOOK_ACCOUNT, BOOK_CONTACT, BOOK_SIGNAL, BOOK_KIND_COUNT };

/* The longest record id the book accepts (bytes). Ids come from CRMs
 * (Salesforce 18, HubSpot ~12) and from agents: a longer one is refused where
 * it enters (import, a tool's arguments, book_get) rather than cut short in
 * a buffer somewhere downstream, where a cut id could name another record. */
#define BOOK_ID_MAX 128

enum book_type { BOOK_TEXT, BOOK_INT, BOOK_REAL, BOOK_BOOL, BOOK_ENUM, BOOK_TIME, BOOK_JSON };

struct book_field {
	const char *name;
	enum book_type type;
	int required;               /* must be present and non-empty */
	const char *const *values;  /* BOOK_ENUM: NULL-terminated allowed values */
	int64_t min, max;           /* BOOK_INT: inclusive range when min < max */
	int system;                 /* maintained by airlock (version, updated_at) */
};

/* The fields of a kind, in column order; *n gets their count. */
const struct book_field *book_fields(enum book_kind kind, int *n);
/* NULL when the kind has no such built-in field. */
const struct book_field *book_field_find(enum book_kind kind, const char *name);
/* "accounts"/"account" → BOOK_ACCOUNT, etc. */
int book_kind_parse(const char *s, enum book_kind *out, struct err *err);
const char *book_kind_name(enum book_kind kind); /* "account" */
const char *book_kind_table(enum book_kind kind);

/* Parses text (from CSV, a CLI argument) into a JSON value of the field's
 * type: an empty string is null. On failure err says what was expected. */
int book_value_parse(const struct book_field *f, const char *text, json_t **out, struct err *err);
/* AIRLOCK_EINVAL when f names a record (id, account_id) and text is longer
 * than BOOK_ID_MAX; 0 otherwise. book_value_parse applies it. */
int book_id_check(const struct book_field *f, const char *text, struct err *err);
/* Checks a JSON value (from a tool call) against the field's type. Returns a
 * new reference to the normalised value (e.g. "3" → 3 for an int field). */
int book_value_check(const struct book_field *f, json_t *v, json_t **out, struct err *err);

/* The text form of a value, as CSV export writes it and book_value_parse
 * reads it back: "" for null, true/false, whole numbers as digits, reals as
 * the shortest of 15-17 significant digits that reads back as the same
 * double, strings as they are, objects and arrays as compact JSON with
 * sorted keys. Returns a new string the caller frees; NULL when out of
 * memory. (book_load.c) */
char *book_value_text(json_t *v);

/* The current time as airlock stores it: "2026-11-26T07:03:00Z". buf ≥ 21. */
void book_now(char *buf, size_t len);

/* One record by id, with every field, custom fields under "custom".
 * AIRLOCK_ENOTFOUND when absent; AIRLOCK_EINVAL when id is longer than
 * BOOK_ID_MAX (no such record can exist). */
int book_get(struct store *s, enum book_kind kind, const char *id, json_t **out, struct err *err);

/* Many records by id in one statement, read in id order (a proposal of 500
 * items is one range of index reads, not 500 probes): *out is a new object
 * {id: record} holding each id of ids (a JSON array of strings, or an
 * object: its keys) that names a record, as book_get reads it; an id with
 * no record (or longer than BOOK_ID_MAX) is simply absent. images (may be
 * NULL) receives a new object {id: JSON text of the record}, written by
 * SQLite in the same statement, for the accounts of a SQLite book whose
 * text reads back as their record (others absent: dump the record): a
 * before-image staged without a dump per record. fields (NULL: all) names
 * the fields (a set) *out holds of a record that has its text in images;
 * a record without one is always read whole. */
int book_get_many(struct store *s, enum book_kind kind, json_t *ids, json_t *fields,
		  json_t **out, json_t **images, struct err *err);

/* Inserts a new record (version 1). AIRLOCK_EEXIST when the id is taken,
 * AIRLOCK_EINVAL naming the field when a value is wrong. */
int book_insert(struct store *s, enum book_kind kind, json_t *rec, struct err *err);
/* The same, stamping updated_at with `at` (a book time such as
 * "2026-11-01T00:00:00Z") instead of the clock: for generators that must give
 * the same rows on every run. AIRLOCK_EINVAL when `at` is not a date. */
int book_insert_at(struct store *s, enum book_kind kind, json_t *rec, const char *at,
		   struct err *err);

/* Inserts, or when the id exists updates the fields rec carries (bumping the
 * version only if a value changed). *changed (may be NULL) is 1 when the
 * book changed. */
int book_upsert(struct store *s, enum book_kind kind, json_t *rec, int *changed, struct err *err);

/* Sets the fields in `fields` (built-in names, or "custom.NAME") on one
 * record. expect_version < 0 means any; otherwise a different current
 * version is AIRLOCK_ECONFLICT and nothing changes. *new_version may be NULL. */
int book_update(struct store *s, enum book_kind kind, const char *id, json_t *fields,
		int64_t expect_version, int64_t *new_version, struct err *err);

/* Writes a whole record image back (undo): every built-in field and custom
 * replaced by the image's, version set to new_version. */
int book_restore(struct store *s, enum book_kind kind, json_t *image, int64_t new_version,
		 struct err *err);

/* The write of one staged change, or of its undo (staging_apply.c), inside
 * the caller's transaction so that it and the caller's log entry commit
 * together. values maps built-in field names to values the gate already
 * checked (not checked again: an undo puts back what the book held), and
 * "custom.NAME" to one custom field, "custom" to a whole custom object (an
 * undo's before-image); merged_into is writable here (merges). id, version
 * and updated_at are not: AIRLOCK_ECORRUPT names such a field (a tampered
 * batch). The version goes up by one; with expect_version >= 0 only while it
 * is still that. *hit is 0 and nothing changes when the record moved on or is
 * gone: the caller's conflict, not an error. */
int book_change(struct store *s, enum book_kind kind, const char *id, json_t *values,
		int64_t expect_version, int *hit, struct err *err);

/* The current version of a record: *version = -1 when there is none. */
int book_version(struct store *s, enum book_kind kind, const char *id, int64_t *version,
		 struct err *err);

/* Where an account stands: *exists 0 when there is no such account; into
 * gets the account it was merged into ("" when live). */
int book_merged_into(struct store *s, const char *id, int *exists, char *into, size_t len,
		     struct err *err);
/* One account merged into id, if any (into gets its id, "" when none). */
int book_merged_from(struct store *s, const char *id, char *into, size_t len, struct err *err);
/* The account a contact or signal belongs to: *found 0 when there is no such
 * record; account gets its account_id. */
int book_owner_of(struct store *s, enum book_kind kind, const char *id, int *found, char *account,
		  size_t len, struct err *err);

/* Re-points the contacts and signals of account `from` to `to` (a merge),
 * bumping their versions. *moved (may be NULL) gets the ids moved,
 * {"contacts": [...], "signals": [...]}; when `only` (such an object) is
 * given, just those ids are moved to `to` and `from` is not read (an undo).
 * Caller owns the transaction. */
int book_reparent(struct store *s, const char *from, const char *to, json_t *only,
		  json_t **moved, struct err *err);

/* Merge breaches of the book as it is (I8), at most max, appended to out as
 * {"rule", "record_id", "points_to", "detail"}: merge_cycle,
 * merged_into_merged, merged_into_missing, contact_on_merged,
 * signal_on_merged. */
int book_merge_breaches(struct store *s, int max, json_t *out, struct err *err);

struct book_query {
	const char *segment, *region, *lifecycle, *owner, *industry;
	const char *text;    /* case-insensitive substring of name or domain */
	int tier;            /* 0 = any */
	const char *after;   /* pagination: ids greater than this */
	int limit;           /* 0 = no limit */
	int include_merged;  /* tomb-stoned accounts are hidden unless set */
	/* book_search_json only: text written before the array, in the same
	 * buffer (the answer's start, so that the page is not copied into it) */
	const char *json_head;
};

/* Accounts matching q, ordered by id, as a JSON array. */
int book_search(struct store *s, const struct book_query *q, json_t **out, struct err *err);
int book_count(struct store *s, const struct book_query *q, int64_t *out, struct err *err);

/* One page of book_search as JSON text, for answers that are sent as text
 * anyway (the read connector): the same objects book_search gives, written
 * straight from the columns rather than a json_t per value. q->limit (> 0)
 * is the page size; more is set when further rows match. */
struct book_page {
	char *json;        /* q->json_head, then "[{...},...]"; the caller's to free() */
	size_t len, cap;   /* strlen(json), and the buffer's size: the caller may
			    * write up to cap - 1 bytes into it, or realloc it */
	size_t count;      /* objects in json */
	int more;          /* rows beyond this page exist */
	char last_id[256]; /* the id of the page's last object ("" when empty) */
};
int book_search_json(struct store *s, const struct book_query *q, struct book_page *page,
		     struct err *err);

/* How a page's text filter uses the trigram index (book.c): fewer than
 * book_text_fetch_max candidates are read by rowid; up to
 * book_text_index_max the id walk tests each entry against them; from there
 * the id walk tries the LIKE on every row. Only tests change them, to run
 * every way on a small book: the answers are the same. */
extern int book_text_fetch_max, book_text_index_max;

/* Contacts of an account, ordered by id. */
int book_contacts(struct store *s, const char *account_id, json_t **out, struct err *err);
/* Signals, newest first; account_id and kind may be NULL; limit 0 = all. */
/* The values the book holds now for what ("region", "segment", "lifecycle"
 * of accounts, "kind" of signals), distinct and sorted: *out a JSON array,
 * or NULL when there are more than max (a list that long guides no one).
 * For the enums the connectors' tools/list shows. */
int book_values(struct store *s, const char *what, int max, json_t **out, struct err *err);
/* How the book spells a region or a signal kind that matches value without
 * regard to case ("emea" -> "EMEA"): 1 with the spelling in buf, 0 when the
 * book has none (buf untouched), or a negative AIRLOCK_E*. what is
 * "region" or "kind"; an exact match is the caller's fast path, this the
 * slow one for when it found nothing. */
int book_spelling(struct store *s, const char *what, const char *value, char *buf, size_t len,
		  struct err *err);

int book_signals(struct store *s, const char *account_id, const char *kind, int limit,
		 json_t **out, struct err *err);

/* Whether a cited signal is evidence about account_id: BOOK_EVIDENCE_OK
 * when signal_id is one of its signals, BOOK_EVIDENCE_NOT_FOUND when no
 * signal has that id, BOOK_EVIDENCE_OTHER_RECORD when it is about another
 * account (its id copied into owner, truncated to owner_len). The one check
 * for every tool that cites signals (propose_changes, save_brief): evidence
 * borrowed from another record must never be shown as this one's. Returns
 * 0 with *verdict set, or <0 when the store failed. */
enum book_evidence { BOOK_EVIDENCE_OK, BOOK_EVIDENCE_NOT_FOUND, BOOK_EVIDENCE_OTHER_RECORD };
int book_evidence_check(struct store *s, const char *account_id, const char *signal_id,
			enum book_evidence *verdict, char *owner, size_t owner_len,
			struct err *err);
/* The same check for many signals at once: *out is a new object {signal id:
 * account id} for each id of signal_ids (array or object keys, as
 * book_get_many) that is a signal; book_evidence_of() then judges one
 * citation from it exactly as book_evidence_check() does. */
int book_evidence_owners(struct store *s, json_t *signal_ids, json_t **out, struct err *err);
enum book_evidence book_evidence_of(json_t *owners, const char *account_id,
				    const char *signal_id, char *owner, size_t owner_len);
/* The stable rule name of a verdict: "evidence_not_found",
 * "evidence_other_record" (NULL for BOOK_EVIDENCE_OK). */
const char *book_evidence_rule(enum book_evidence v);

/* Counts: accounts by segment, region, tier, lifecycle; contacts (and how
 * many may not be contacted); signals by kind. */
int book_stats(struct store *s, json_t **out, struct err *err);
/* The same figures counted from the tables themselves (O(book)): what
 * book_stats' maintained tallies must always equal. For tests and benches. */
int book_stats_recount(struct store *s, json_t **out, struct err *err);

/* Calls fn(rec, ctx, err) for every record of kind, ordered by id, with the
 * image book_get gives (rec is borrowed: valid during the call only). Stops
 * at the first non-zero return of fn and returns it. */
int book_foreach(struct store *s, enum book_kind kind,
		 int (*fn)(json_t *rec, void *ctx, struct err *err), void *ctx, struct err *err);

/* Bulk loading (book_load.c), for import: many rows of text values over one
 * fixed set of columns, with book_value_parse's checks but no JSON image per
 * row and one cached statement per kind of write. Columns are built-in
 * field names (not system ones: version, updated_at, custom; merged_into is
 * the exception, so an exported merge imports back)
 * or "custom.NAME" (accounts and contacts only); "id" must be one of them.
 * Per row:
 *  - an unknown id is inserted at version 1; fields without a column take
 *    their defaults (null; lifecycle prospect; yes/no fields false);
 *  - a known id gets the columns' values, and its version bumped, only when
 *    one of them differs; fields and custom keys without a column are kept;
 *  - an empty value is null, or the default for lifecycle and yes/no
 *    fields; an empty custom value removes that key.
 * Into a table that was empty when the loader was made, new rows are staged
 * and written many per INSERT (an error then names the row by its tag);
 * otherwise each row is looked up and written at once. The caller owns the
 * transaction around the whole load, must call book_loader_finish() before
 * committing, must not change the table by other means meanwhile, and
 * rolls back after an error (earlier rows may have been written). */
struct book_loader;
enum { BOOK_LOAD_INSERTED = 1, BOOK_LOAD_UPDATED = 2, BOOK_LOAD_UNCHANGED = 3 };

/* columns are copied. AIRLOCK_EINVAL names a column that cannot be loaded. */
int book_loader_new(struct store *s, enum book_kind kind, const char *const *columns, int n,
		    struct book_loader **out, struct err *err);
/* values[i] (NUL-terminated, copied) is column i's; tag (a line number, say)
 * names the row in errors. *outcome gets BOOK_LOAD_*. On AIRLOCK_EINVAL err
 * names the field ("tier: 'x' is not a whole number", "account 'A1' does not
 * exist"); AIRLOCK_EEXIST when an id is loaded twice into a table that was
 * empty. After an error, book_loader_failed_tag() is the tag of the row at
 * fault, which may be an earlier, staged one. */
int book_loader_put(struct book_loader *l, const char *const *values, int64_t tag,
		    int *outcome, struct err *err);
/* Writes the rows still staged; errors as for book_loader_put(). A load
 * into the empty account table leaves the trigram index of names and
 * domains behind (book_text_index_build). */
int book_loader_finish(struct book_loader *l, struct err *err);
int64_t book_loader_failed_tag(const struct book_loader *l);
/* Staged rows not finished are dropped. NULL is fine. */
void book_loader_free(struct book_loader *l);

/* The trigram index of names and domains (account_text) is built after a
 * load into the empty account table commits, not inside it: until then it
 * is behind, and text search scans the table instead, with the same
 * answers. book_text_index_behind() says whether it is (never on an engine
 * without the index). book_text_index_build() builds a behind index and
 * clears the mark in one transaction of its own (*built 1), and does
 * nothing otherwise; the CLI runs it on opening a book, so a crash after
 * the load's commit is caught up by the next command. */
int book_text_index_behind(struct store *s, int *behind, struct err *err);
int book_text_index_build(struct store *s, int *built, struct err *err);

/* The kind of one signal, copied into kind: *found 0 when no signal has
 * that id. (drift reads cited evidence through this.) */
int book_signal_kind(struct store *s, const char *id, int *found, char *kind, size_t len,
		     struct err *err);

#endif
