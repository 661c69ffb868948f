/* audit_int.h — what audit.c, audit_verify.c and audit_sign.c share; not
 * for use outside the audit module (SQLite's *Int.h habit). */
#ifndef AIRLOCK_AUDIT_INT_H
#define AIRLOCK_AUDIT_INT_H

#include <sodium.h>
#include <time.h>

#include "audit.h"

#define AUDIT_CHECKPOINT_FORMAT "airlock.checkpoint.v1"

/* A checkpoint as read from its file. */
struct audit_checkpoint {
	int64_t seq;
	unsigned char head[AUDIT_HASH_BYTES];
	char at[AUDIT_TIME_MAX];
	unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
	unsigned char signature[crypto_sign_BYTES];
	int key_local; /* the database's own key file holds this public key */
};

int audit_sodium_ready(struct err *err);

/* audit_append in two halves, for writers that append many entries in one
 * transaction (audit_queue.c). prepare checks the entry and builds its
 * object outside any transaction (*out is the caller's, and holds copies
 * of everything: e may go); write, inside the writer's transaction, stamps
 * seq and time, hashes and inserts it after *head_seq, head (which it
 * advances). The head record is moved once, after the transaction's last
 * entry, by audit_head_move (to the last *head_seq, head): one row write
 * per group instead of one per entry. A transaction that commits entries
 * without moving the head leaves a log that verify refuses. */
int audit_entry_prepare(const struct audit_entry *e, json_t **out, struct err *err);
int audit_entry_write(struct store *s, json_t *o, int64_t *head_seq,
		      unsigned char head[AUDIT_HASH_BYTES], struct err *err);
int audit_head_move(struct store *s, int64_t seq, const unsigned char hash[AUDIT_HASH_BYTES],
		    struct err *err);
/* A prepared entry in a transaction of its own (audit_append's second
 * half); *seq is its seq, 0 on failure. */
int audit_entry_append(struct store *s, json_t *o, int64_t *seq, struct err *err);

/* The log's time format, "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC). */
void audit_now(char out[AUDIT_TIME_MAX]);
void audit_format_time(time_t t, long usec, char out[AUDIT_TIME_MAX]);

/* Marks r as failed at seq with the formatted message; returns 1. */
int audit_verify_fail(struct audit_verify_result *r, enum audit_problem p, int64_t seq,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reads and checks the shape of a checkpoint file; AIRLOCK_EINVAL names
 * the file and the bad field. */
int audit_checkpoint_load(const char *path, struct audit_checkpoint *cp, struct err *err);

/* Checks the checkpoint's signature and, when the database has a key file,
 * that the checkpoint was signed with that key (setting cp->key_local).
 * Returns 1 after audit_verify_fail() when either is wrong, else 0. */
int audit_checkpoint_check_signature(const char *db_path, const char *cp_path,
				     struct audit_checkpoint *cp, struct audit_verify_result *r);

#endif
