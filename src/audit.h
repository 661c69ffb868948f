/* audit.h — the action log: every agent call and every human verb, one
 * hash-chained entry each.
 *
 * Owns: the action_log tables (migrations 10–19), canonical JSON of entries,
 * the BLAKE2b chain, verification, the Ed25519 signing key and signed
 * checkpoints.
 *
 * Never: decides anything, or changes the book. Entries are appended in the
 * caller's transaction, so an entry exists exactly when its effect does; the
 * table refuses UPDATE and DELETE.
 *
 * The format, fixed so that anyone can re-verify a log without airlock:
 *   body  = the whole entry as canonical JSON: jansson with JSON_COMPACT |
 *           JSON_SORT_KEYS | JSON_ENSURE_ASCII (no whitespace, keys in byte
 *           order, every non-ASCII character as \uXXXX, so the bytes are
 *           plain ASCII that no database or terminal re-encodes). Keys:
 *           args, at, batch_id, decision, instruction_version, principal,
 *           reasons, record_ids, seq, summary, surface, tool (absent strings
 *           are JSON null, absent args {} and reasons []). The bytes are
 *           stored exactly as hashed and never re-serialised.
 *   hash  = BLAKE2b-256 (unkeyed) of
 *           "airlock.log.v1" (14 bytes, no NUL) ‖ seq as 8 bytes big-endian
 *           ‖ prev_hash (32 bytes; zeros for entry 1) ‖ body.
 *   seq   = 1, 2, 3 … without gaps.
 * The other columns (at, principal, surface, tool, instruction_version,
 * decision, batch_id) are copies for querying; verify checks each against
 * the body, so editing any column is detected.
 *
 * Memory: strings and JSON in struct audit_entry are borrowed. Results
 * handed to an audit_query callback are valid only during the call. A
 * checkpoint from audit_checkpoint_make() is owned by the caller. */
#ifndef AIRLOCK_AUDIT_H
#define AIRLOCK_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_HASH_HEX (AUDIT_HASH_BYTES * 2 + 1)
#define AUDIT_TIME_MAX 32
/* A body larger than this is refused: an entry is a record of one call,
 * not a place to store bulk data. */
#define AUDIT_BODY_MAX (16 * 1024 * 1024)
/* The longest record id the index keeps. */
#define AUDIT_RECORD_ID_MAX 256

struct audit_entry {
	const char *principal;		 /* "agent:NAME" or "human:NAME" */
	const char *surface;		 /* "mcp:read", "mcp:write", "cli", "console" */
	const char *tool;		 /* tool name or CLI verb */
	json_t *args;			 /* arguments (borrowed); NULL = {} */
	const char *instruction_version; /* may be NULL */
	const char *decision;		 /* "read", "draft", "staged", "blocked", ... may be NULL */
	json_t *reasons;		 /* array of strings (borrowed); may be NULL */
	const char *summary;		 /* one line a person can read; may be NULL */
	const char *batch_id;		 /* may be NULL */
	/* The book records the call concerns, for `airlock log --record ID`:
	 * an array of strings (borrowed). NULL = found in args: the string (or
	 * whole number) values of keys named "id" or ending in "_id", and the
	 * strings of arrays under "ids" or keys ending in "_ids", at any depth
	 * up to 8 (batch_id, request_id and session_id excepted). Pass [] to
	 * index nothing. The list is part of the hashed body. */
	json_t *record_ids;
};

/* Appends one entry (opening and committing its own transaction when the
 * caller has none; inside a caller's transaction it is a savepoint, so the
 * entry commits or rolls back with the change it records). *seq (may be
 * NULL) gets its sequence number. AIRLOCK_EINVAL names the bad field (a
 * missing principal, surface or tool; args not an object; a string that is
 * not UTF-8; a body over AUDIT_BODY_MAX). On failure nothing is appended. */
int audit_append(struct store *s, const struct audit_entry *e, int64_t *seq, struct err *err);

/* A log writer shared by the threads of one process (the HTTP connectors).
 * One writer thread, on its own connection at synchronous=NORMAL, commits
 * in one transaction every entry queued while it was writing the group
 * before (group commit): an entry survives a crash of airlock, only a
 * power loss may drop the newest. Meant for entries that record no change
 * (reads); an entry that records a change is appended in the change's own
 * transaction with audit_append.
 *
 * submit checks and copies the entry (e may go when it returns; errors as
 * audit_append's, and then done is never called) and returns at once;
 * done(ctx, rc, err, seq) runs later on the writer thread: rc 0 once the
 * entry is committed, else the error (err valid during the call). One bad
 * entry fails alone. append submits and waits: audit_append's contract.
 * close writes what is queued, then stops the writer. */
struct audit_queue;
typedef void (*audit_queue_done_fn)(void *ctx, int rc, const struct err *err, int64_t seq);
int audit_queue_open(struct audit_queue **out, const char *db_path, struct err *err);
int audit_queue_submit(struct audit_queue *q, const struct audit_entry *e,
		       audit_queue_done_fn done, void *ctx, struct err *err);
int audit_queue_append(struct audit_queue *q, const struct audit_entry *e, int64_t *seq,
		       struct err *err);
void audit_queue_close(struct audit_queue *q);

/* The chain hash of one entry (see the format above). */
void audit_hash(int64_t seq, const unsigned char prev[AUDIT_HASH_BYTES], const char *body,
		size_t len, unsigned char out[AUDIT_HASH_BYTES]);

/* Lowercase hex of a hash into out (AUDIT_HASH_HEX bytes). */
void audit_hash_hex(const unsigned char hash[AUDIT_HASH_BYTES], char out[AUDIT_HASH_HEX]);

/* The current head: the last entry's seq (0 when empty) and its hash (zeros
 * when empty), as the log's head record says. */
int audit_head(struct store *s, int64_t *seq, unsigned char hash[AUDIT_HASH_BYTES],
	       struct err *err);

/* What verify found wrong with the first bad entry. */
enum audit_problem {
	AUDIT_INTACT = 0,
	AUDIT_EDITED,	    /* content does not match its hash, or a column its body */
	AUDIT_MISSING,	    /* an entry was deleted: a gap, or the tail is gone */
	AUDIT_INSERTED,	    /* an entry that does not belong (bad seq, beyond the head) */
	AUDIT_REORDERED,    /* an entry sits at another entry's place */
	AUDIT_BROKEN_LINK,  /* prev_hash does not name the entry before */
	AUDIT_REWRITTEN,    /* the chain is consistent but differs from a checkpoint */
	AUDIT_BAD_SIGNATURE /* the checkpoint's signature or key is wrong */
};

/* The problem's name in JSON output ("edited", "broken_link", ...). */
const char *audit_problem_name(enum audit_problem p);

struct audit_verify_result {
	int ok;				      /* 1 when nothing is wrong */
	int64_t count;			      /* entries checked (all of them when ok) */
	int64_t head_seq;		      /* when ok: the last seq */
	unsigned char head[AUDIT_HASH_BYTES]; /* when ok: the head hash */
	enum audit_problem problem;
	int64_t bad_seq;	/* the first bad entry (0 when ok) */
	char message[512];	/* "entry 17: ... (edited)" */
	int checkpoint_checked; /* 1 when a checkpoint was given and matched */
	int64_t checkpoint_seq;
	int checkpoint_key_local; /* 1 when its key is this database's key */
};

/* Recomputes the whole chain in seq order and checks every column against
 * its body, every prev_hash against the entry before, the seq sequence for
 * gaps, and the head record against the last entry. With checkpoint_path,
 * also checks the checkpoint's signature (against this database's key file
 * when it exists) and that the entry at the checkpoint's seq still has the
 * checkpoint's hash, which catches a rewrite of the whole chain. Stops at
 * the first problem: r->ok = 0 and r->message names the entry and what is
 * wrong. Returns 0 whenever it could look (whatever it found); negative when
 * it could not (database error, unreadable or malformed checkpoint file). */
int audit_verify(struct store *s, const char *checkpoint_path, struct audit_verify_result *r,
		 struct err *err);

/* Threads audit_verify may use. With 2 (the default) a log of at least
 * audit_verify_split_min entries is cut into chunks by seq that two
 * workers, each on its own connection, read and check in turn; the chunks
 * are joined in order, and the findings are the same as one pass would
 * make. A shorter log is read by the caller's thread while a second thread
 * checks what it read. With 1 the caller's thread does everything, which
 * costs less CPU in total on a machine that is already busy (a long log
 * still in chunks, read in turn on one connection of its own). Logs shorter
 * than 256 entries always use one. Set both before verifying, not
 * during. */
extern int audit_verify_threads;
extern int64_t audit_verify_split_min;

/* The key file of a database: $AIRLOCK_KEY when set; else "<db_path>.key"
 * for a file, and for a PostgreSQL URL (no folder of its own)
 * ${XDG_CONFIG_HOME:-$HOME/.config}/airlock/keys/<hash of the URL>.key. */
int audit_key_path(const char *db_path, char *out, size_t size, struct err *err);

/* Creates the database's Ed25519 signing key (audit_key_path, mode 0600;
 * the default folder of PostgreSQL keys is made 0700)
 * unless it exists; an existing key is never overwritten. *created (may be
 * NULL) says whether it was made now. */
int audit_key_init(const char *db_path, int *created, struct err *err);

/* Verifies the chain, then signs its head with the database's key:
 *   {"format": "airlock.checkpoint.v1", "seq": N, "head": HEX, "at": TIME,
 *    "public_key": HEX, "signature": HEX}
 * The signature is Ed25519 over "airlock.checkpoint.v1" ‖ NUL ‖ seq (8 bytes
 * big-endian) ‖ head (32 bytes) ‖ at. Call it inside a transaction so no
 * entry lands between the check and the signature. AIRLOCK_ECORRUPT when
 * the chain is bad (nothing is signed; r says why), AIRLOCK_ENOTFOUND when
 * there is no key, AIRLOCK_EDENIED when the key file is readable by others. */
int audit_checkpoint_make(struct store *s, json_t **out, struct audit_verify_result *r,
			  struct err *err);

/* Reads a time for filters into the log's own format
 * ("YYYY-MM-DDTHH:MM:SS.ffffffZ", UTC) so that text order is time order:
 * "2025-03-01", "2025-03-01T09:30", "2025-03-01T09:30:00Z", or an age
 * before now: "45m", "12h", "7d", "2w", "30s". */
int audit_parse_time(const char *text, char out[AUDIT_TIME_MAX], struct err *err);

/* Which entries audit_query returns; NULL / 0 fields do not filter. */
struct audit_filter {
	const char *record_id; /* entries whose record_ids hold this id */
	const char *batch_id;
	const char *tool;
	const char *principal;
	const char *since; /* in the log's time format (audit_parse_time) */
	int64_t limit;	   /* the newest `limit` entries; 0 = all */
	int64_t before_seq; /* only entries older than this seq (a page); 0 = no bound */
};

/* Calls fn for each matching entry, newest first, with the parsed body
 * (borrowed) and its hash. A non-zero return from fn stops the walk and is
 * returned. */
typedef int (*audit_entry_fn)(void *ctx, int64_t seq, json_t *entry,
			      const unsigned char hash[AUDIT_HASH_BYTES]);
int audit_query(struct store *s, const struct audit_filter *f, audit_entry_fn fn, void *ctx,
		struct err *err);

/* A read-only scan of the log for other modules' statistics (drift), so
 * that they need not know the log's tables. The row is borrowed: valid
 * during the call only; a text column may be NULL. */
struct audit_scan_row {
	const char *at, *principal, *tool, *decision, *instruction_version;
};
/* Every entry with from <= at < to, in storage order; when no entry is
 * older than from the whole log is read in storage order instead of through
 * the index (cheaper), and rows past `to` are the caller's to drop. fn's
 * non-zero return stops the scan and is returned. */
int audit_scan(struct store *s, const char *from, const char *to,
	       int (*fn)(const struct audit_scan_row *row, void *ctx, struct err *err), void *ctx,
	       struct err *err);

#endif
