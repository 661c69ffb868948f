/* changeset.h — what people applied (and undid) in airlock, written back in
 * the shape a CRM's bulk tools load: a Salesforce Data Loader update file,
 * a HubSpot import file, or airlock's own columns.
 *
 * Owns: reading applied/undone update and merge batches from the action log
 * and batch items, netting them per record and field (a change undone in
 * the same range, or set back to where it started, is not written), the
 * reverse of the last mapped import (crm_map, crm_value: the CRM's column
 * names and values), the files, and the changeset table plus one log entry
 * per export (tool "export_changes", with the files' SHA-256).
 *
 * Files in DIR: accounts.csv — the CRM id, then only the columns some
 * record changed, one row per changed record (a cell is empty where that
 * record's column did not change; a value cleared to nothing is "#N/A" for
 * Salesforce, which Data Loader reads as null); merges.csv — (survivor,
 * merged) CRM id pairs of merges applied in the range. Rows ordered by id,
 * columns by the catalogue then custom keys: the same range gives the same
 * bytes.
 *
 * Never: changes the book or a batch. */
#ifndef AIRLOCK_CHANGESET_H
#define AIRLOCK_CHANGESET_H

#include <stdint.h>

#include "err.h"
#include "store.h"

enum changeset_format {
	CHANGESET_AUTO,
	CHANGESET_SALESFORCE,
	CHANGESET_HUBSPOT,
	CHANGESET_AIRLOCK
};

/* Which events: exactly one of since (a date, "2026-03-01"), batch (> 0),
 * again (> 0: change-set N's range once more); none of them = everything
 * applied or undone after the last such default change-set. */
struct changeset_range {
	const char *since;
	int64_t batch;
	int64_t again;
};

struct changeset_result {
	int64_t id;	  /* the changeset row */
	int64_t records;  /* rows of accounts.csv */
	int64_t merges;	  /* rows of merges.csv */
	int64_t unmerges; /* rows of unmerges.csv: merges undone since, by hand */
	char hash[65];	  /* SHA-256 of accounts.csv then merges.csv, hex */
	char format[16];
};

/* "salesforce"/"hubspot"/"airlock" → format; AIRLOCK_EINVAL otherwise. */
int changeset_format_parse(const char *s, enum changeset_format *out, struct err *err);

/* Writes DIR/accounts.csv, DIR/merges.csv and DIR/unmerges.csv (merges
 * undone in the range, which a CRM cannot take from a file: a person's
 * list; DIR is created if missing)
 * and records the change-set, in one transaction with its log entry. */
int changeset_export(struct store *s, const struct changeset_range *r, enum changeset_format fmt,
		     const char *dir, const char *principal, struct changeset_result *out,
		     struct err *err);

#endif
