/* audit.h — the action log: every agent call and every human verb, one
 * hash-chained entry each.
 *
 * Owns: the action_log table (migrations 10–19), canonical JSON of entries,
 * the BLAKE2b chain, verification and signed checkpoints.
 *
 * Never: decides anything, or changes the book. Entries are appended in the
 * caller's transaction, so an entry exists exactly when its effect does; the
 * table refuses UPDATE and DELETE. */
#ifndef AIRLOCK_AUDIT_H
#define AIRLOCK_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

struct audit_entry {
	const char *principal;           /* "agent:NAME" or "human:NAME" */
	const char *surface;             /* "mcp:read", "mcp:write", "cli", "console" */
	const char *tool;                /* tool name or CLI verb */
	json_t *args;                    /* arguments (borrowed); NULL = {} */
	const char *instruction_version; /* may be NULL */
	const char *decision;            /* "read", "draft", "staged", "blocked", ... may be NULL */
	json_t *reasons;                 /* array of strings (borrowed); may be NULL */
	const char *summary;             /* one line a person can read; may be NULL */
	const char *batch_id;            /* may be NULL */
};

/* Appends one entry (opening and committing its own transaction when the
 * caller has none). *seq (may be NULL) gets its sequence number. */
int audit_append(struct store *s, const struct audit_entry *e, int64_t *seq, struct err *err);

#endif
