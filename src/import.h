/* import.h — CSV files into the book: the header and --map, the presets for
 * CRM exports, the all-or-nothing load, and the log entry that records it.
 *
 * Owns: turning a file's columns into book fields (import_map_*), checking
 * every row (ragged rows, duplicate ids, values via the book's rules) and
 * loading them through book_loader_* in ONE transaction together with one
 * audit_append() entry (surface "cli", tool "import", args {kind, file,
 * rows}). Any bad row rolls everything back: the book and the log are
 * exactly as before, and the error says "FILE:LINE: what is wrong", LINE
 * being the physical line the record starts on.
 *
 * Columns: a header row is required. After --map, a column named like a
 * built-in field (any case) loads that field; "custom.NAME" loads the custom
 * field NAME; any other name becomes a custom field of that name for
 * accounts and contacts, and is an error for signals. Fields airlock keeps
 * (version, updated_at, merged_into, custom) cannot be loaded.
 *
 * --map: comma-separated "Column=field" pairs, where field is a built-in
 * field, custom.NAME, or "-" to skip the column; spaces around names are
 * trimmed, "\," "\=" and "\\" stand for a literal comma, equals sign and
 * backslash in a name. It may start with a preset, "salesforce" or
 * "hubspot", which later pairs override: 'salesforce,Region=region'.
 *
 * Values: a mapped import (a preset, pairs, or a map file) translates the
 * values of the fields it loads (import_int.h): lifecycle from a CRM's
 * Type / Lifecycle Stage (any case), region from a column whose name says
 * country, numbers with currency and thousands separators, the vendors'
 * date formats, yes/no values. A value that maps to nothing is an error
 * "FILE:LINE:COLUMN: column 'Type': 'Other' maps to no lifecycle
 * (accepted: ...)". An empty lifecycle, do_not_contact or unsubscribed is
 * an error unless the map file gives a default; a preset or map file
 * import of accounts without a lifecycle column is refused likewise.
 *
 * Map file (--map-file, CSV with the header "what,crm,airlock"), rows:
 *   preset,salesforce,          a preset (first row only)
 *   column,Billing Country,region   a column to a field, as in --map
 *   value.region,Deutschland,EMEA   a CRM value to airlock's, checked first
 *   default.lifecycle,,prospect     for empty and unmappable values
 * A mapped import remembers (crm_map, crm_value) the column each field came
 * from and the file's value pairs: changeset.h writes them back.
 *
 * --refresh (accounts): the file is the CRM's new truth. Besides loading
 * it, the run reports records whose values changed while a waiting batch
 * (staged, sampled, blocked, approved) has an item on them — those items
 * will conflict at apply (the version moved), and the CRM's new values are
 * kept in crm_refresh for show —, accounts in the book but not in the
 * file (deleted in the CRM: reported, not deleted), and fields a person
 * applied in airlock since the last change-set that the file overwrites
 * (named, with both values). Still one transaction and one log entry.
 *
 * Never: writes outside the caller's store, or commits part of a file. */
#ifndef AIRLOCK_IMPORT_H
#define AIRLOCK_IMPORT_H

#include <stdint.h>

#include "book.h"
#include "err.h"
#include "store.h"

struct import_result {
	int64_t rows;      /* records after the header */
	int64_t inserted;  /* new ids */
	int64_t updated;   /* existing ids with a changed value */
	int64_t unchanged; /* existing ids already as the file says */
	uint64_t bytes;    /* bytes read */
	int64_t errors;    /* --dry-run: values that map to nothing */
	int64_t error_rows; /* --dry-run: rows left out for them */
	json_t *refresh;   /* --refresh: {conflicts:[], deleted:[], overwritten:[]},
			    * the caller's to json_decref(); NULL otherwise */
};

/* Called every few thousand rows and once at the end. bytes_total is 0 when
 * the size is unknown (standard input, a pipe). */
struct import_progress {
	void (*fn)(void *ctx, int64_t rows, uint64_t bytes_read, uint64_t bytes_total);
	void *ctx;
};

/* Imports path ("-" = standard input) into the book as records of kind.
 * map may be NULL. principal ("human:NAME") is who the log entry names.
 * progress may be NULL. On success *out holds the counts; on failure
 * nothing in the store changed and err says FILE:LINE: what. */
int import_csv(struct store *s, enum book_kind kind, const char *path, const char *map,
	       const char *principal, const struct import_progress *progress,
	       struct import_result *out, struct err *err);

struct import_options {
	const char *map;      /* --map, may be NULL */
	const char *map_file; /* --map-file, may be NULL */
	const char *principal;
	const struct import_progress *progress; /* may be NULL */
	int dry_run;          /* do it all, then roll back: counts and errors only */
	int refresh;          /* see above */
	/* --dry-run: called with each "FILE:LINE:COL: ..." value error */
	void (*report)(void *ctx, const char *msg);
	void *report_ctx;
};

/* import_csv with every option. With dry_run the store is left exactly as
 * it was, and a value error is reported and counted (out->errors) rather
 * than ending the run. */
int import_run(struct store *s, enum book_kind kind, const char *path,
	       const struct import_options *opt, struct import_result *out, struct err *err);

/* Resolves a header to loader columns: (*targets)[i] is the field column i
 * loads ("name", "custom.Type") or NULL when it is skipped. Exposed for
 * tests; import_csv() uses it. *targets is freed with
 * import_targets_free(*targets, n). err has no FILE:LINE prefix. */
int import_map_header(enum book_kind kind, const char *map, const char *const *header, int n,
		      char ***targets, struct err *err);
void import_targets_free(char **targets, int n);

#endif
