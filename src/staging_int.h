/* staging_int.h — what staging.c and staging_apply.c share; not for other
 * modules (SQLite's *Int.h habit). */
#ifndef AIRLOCK_STAGING_INT_H
#define AIRLOCK_STAGING_INT_H

#include "clock.h"
#include "staging.h"

/* The part of a batch every human verb needs, read inside the verb's
 * transaction. */
struct staging_head {
	enum staging_state state;
	char principal[160];
	char workflow[128];
	char action[16];
	char expires_at[CLOCK_TEXT_LEN];
	char decided_by[160];
};


/* Compact, key-sorted JSON text; the caller frees it. */
char *staging_dump(json_t *v);
/* Appends the action-log entry of a verb on a batch. */
int staging_log_verb(struct store *s, const char *principal, const char *surface, const char *verb,
		     int64_t batch_id, const char *decision, json_t *args, const char *summary,
		     struct err *err);
int staging_load_head(struct store *s, int64_t id, struct staging_head *h, struct err *err);
/* Only a person acts on a batch; with judgement, never its proposer. */
int staging_check_human(const struct staging_head *h, int64_t id, const char *principal,
			int judgement, struct err *err);
/* The edge is legal and the batch has not expired. */
int staging_check_transition(const struct staging_head *h, int64_t id, enum staging_state to,
			     struct err *err);
int staging_set_state(struct store *s, int64_t id, enum staging_state from, enum staging_state to,
		      const char *who_col, const char *at_col, const char *principal,
		      struct err *err);

#endif
