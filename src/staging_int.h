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

/* A batch's seeded check (staging_seeded.c), when it has one. */
struct staging_seeded {
	int present;
	int64_t slot;	  /* the item number it is shown as */
	char kind[32];
	int judged;
	int missed;	  /* judged pass: a wrong item waved through */
	char verdict_by[160];
};

/* The check of a batch (c->present 0 when none); *item (may be NULL) gets
 * the check item, the caller's. */
int staging_seeded_load(struct store *s, int64_t batch_id, struct staging_seeded *c,
			json_t **item, struct err *err);
/* Records the verdict on the check (once). */
int staging_seeded_verdict(struct store *s, int64_t batch_id, const char *principal, int pass,
			   const char *note, struct err *err);
/* What a person is told about a judged check. */
json_t *staging_seeded_reveal(const struct staging_seeded *c, json_t *item);

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
