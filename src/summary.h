/* summary.h — what a batch does, in a few lines a reviewer reads first.
 *
 * Owns: the batch summary that the CLI (show, sample), the console's API and
 * notifications all print, so every surface says the same thing: the moves
 * grouped (field, old → new, count), evidence coverage and age, items whose
 * reason and evidence disagree, records that other waiting batches also
 * touch, and for merges and sends what actually moves or goes out.
 *
 * Never: changes anything (it reads the book and the batch tables) or
 * decides whether a batch may go through: a flag is for the reviewer's eye.
 * Agent and book text is copied into the summary as it is; each surface
 * escapes it for its display.
 *
 * json_t ** outputs are new references the caller must json_decref(). */
#ifndef AIRLOCK_SUMMARY_H
#define AIRLOCK_SUMMARY_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "store.h"

/* At most this many flagged items are listed (all are counted). */
#define SUMMARY_FLAGS_MAX 200
/* At most this many move groups are listed (all are counted). */
#define SUMMARY_MOVES_MAX 50
/* The evidence age flagged when no policy says (defaults.evidence_max_age). */
#define SUMMARY_EVIDENCE_MAX_AGE (180 * 86400)

struct summary_opts {
	int64_t evidence_max_age; /* seconds; evidence older is flagged; 0 = no limit */
	time_t now;		  /* 0 = clock_now() */
};

/* The summary of batch (staging_get's object, items included):
 * {"batch_id", "action", "items", "radius",
 *  "moves": [{"field", "old", "new", "count"}] (most frequent first),
 *  "moves_total_groups",
 *  "evidence": {"with", "without", "signals", "unknown", "oldest_days",
 *               "newest_days", "too_old", "max_age_days"},
 *  "flags": [{"item" (1-based, as show and judge number items), "record_id",
 *             "flag": "reason_without_evidence" | "evidence_too_old" |
 *                     "evidence_other_record" | "evidence_unknown",
 *             "detail"}],
 *  "flag_counts": {flag: n},
 *  "overlap": [{"batch_id", "state", "records"}] (other waiting batches),
 *  "merge": {"accounts", "contacts", "signals", "into": [ids]} (merges),
 *  "send": {"accounts": [{"id", "name", "messages"}], "recipients"} (sends),
 *  "lines": [plain sentences, most important first],
 *  "headline": one sentence: what, how many, radius, the worst flag,
 *  "worst": the worst flag as a sentence, or null when nothing is flagged}. */
int summary_batch(struct store *s, json_t *batch, const struct summary_opts *o, json_t **out,
		  struct err *err);

/* Where text names word as a word (case-insensitive; '_' in word also
 * matches a space or '-': "tech_install" is named by "tech install"), or
 * -1. The one reading of reasons: the summary flags a reason naming a
 * signal kind its evidence lacks, and a seeded check is built to be such a
 * reason, so both must read a reason alike. */
long summary_names_at(const char *text, const char *word);

/* The same for a batch id: reads it with staging_get. */
int summary_batch_id(struct store *s, int64_t batch_id, const struct summary_opts *o, json_t **out,
		     struct err *err);

#endif
