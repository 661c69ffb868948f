/* seedcheck.h — the synthetic wrong item of a seeded check (issue 21):
 * built from a batch's own item and its record's own signals so it looks
 * like a real item, wrong in a way a careful reader catches, and a pure
 * function of a recorded seed so it can be re-derived later, like the
 * sample draw (sampling.h).
 *
 * Owns: the kinds of wrongness and how an item is made from the batch.
 *
 * Never: touches the store or the book (the caller hands in the record's
 * signals). What it returns is a copy that is never part of the batch: the
 * caller keeps it apart from the batch's items (it must never reach apply,
 * export or the upstream).
 *
 * Every kind is a mistake the gate lets through (the gate refuses only
 * evidence that is no signal of the record, or a value it cannot take): it
 * keeps the item's record, its before-image and its change, so the batch's
 * summary of moves, its counts and its numbering stay what they were, and
 * it cites only the record's own signals. Only what the item argues from is
 * wrong, which is where a reader who reads finds it.
 *
 * Items are the batch's as staging stores them: objects with "record_id",
 * "changes" (field → new value), "before" (field → old value), "reasons"
 * and "evidence" (arrays). Signals are the book's (book_signals): objects
 * with "id", "kind", "observed_at" and "detail". */
#ifndef AIRLOCK_SEEDCHECK_H
#define AIRLOCK_SEEDCHECK_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "sampling.h"

/* The kinds, in the order the seed walks them:
 *   "contradicting_evidence"  the item's change raises the record's tier
 *                             (a smaller tier number) while the only
 *                             evidence, and the reason quoting it, is a
 *                             setback of the record's own (layoffs,
 *                             churn, no logins): it argues the other way
 *   "unsupported_reason"      the item's change and evidence with a reason
 *                             that names a kind of signal the evidence
 *                             does not contain ("funding surge" citing an
 *                             intent signal)
 *   "stale_evidence"          the item's change and reason citing a signal
 *                             of the record's own observed longer ago than
 *                             the policy's evidence_max_age
 * (Not the summary's flag names: nothing a reviewer reads may name a kind.)
 * A candidate that says what some real item of the batch says is no check
 * and is skipped. An item that allows none: AIRLOCK_ENOTFOUND. */

/* What the item's record has, for building the check. */
struct seedcheck_book {
	json_t *signals;  /* the record's signals (array, may be NULL) */
	time_t now;       /* the time evidence ages are counted from */
	int64_t max_age;  /* seconds: the policy's evidence_max_age; 0 = no limit */
};

/* Whether the sample numbered `nth` (1 for a workflow's first sample)
 * carries a check when the policy asks for one in every `every` samples
 * (0 = off). */
int seedcheck_due(int64_t every, int64_t nth);

/* Makes the check based on items[base] (0-based) into *out (the caller
 * owns it): {"kind", "based_on" (base + 1), "record_id", "changes",
 * "before", "reasons", "evidence"}; record_id, changes and before are the
 * base item's. The kind comes from the seed; the next kinds are tried when
 * it allows none. The same seed, items and book always give the same item.
 * AIRLOCK_EINVAL for items that are not such an array or a base out of
 * range, AIRLOCK_ENOTFOUND (see above), AIRLOCK_ENOMEM. What a seeded
 * sample shows in the slot of a drawn item (review_sample). */
int seedcheck_make_at(json_t *items, size_t base, const struct seedcheck_book *book,
		      const unsigned char seed[SAMPLING_SEED_BYTES], json_t **out, struct err *err);

/* A sentence for a person once the check is judged: what was wrong with it
 * ("its reason names funding, which none of its evidence is"). Kinds of
 * older releases are named too. */
const char *seedcheck_what(const char *kind);

#endif
