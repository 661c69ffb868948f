/* seedcheck.h — the synthetic wrong item of a seeded check (issue 21):
 * built from a batch's own items so it looks like them, wrong in a way a
 * careful reader catches, and a pure function of a recorded seed so it can
 * be re-derived later, like the sample draw (sampling.h).
 *
 * Owns: the kinds of wrongness and how an item is made from the batch.
 *
 * Never: touches the store or the book. What it returns is a copy that is
 * never part of the batch: the caller keeps it apart from the batch's items
 * (it must never reach apply, export or the upstream).
 *
 * Items are the batch's as staging stores them: objects with "record_id",
 * "changes" (field → new value), "before" (field → old value), "reasons"
 * and "evidence" (arrays). */
#ifndef AIRLOCK_SEEDCHECK_H
#define AIRLOCK_SEEDCHECK_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "sampling.h"

/* The kinds, in the order the seed picks them:
 *   "evidence_of_another"  an item's change with the reasons and evidence
 *                          of an item about another record
 *   "change_contradicts"   an item's reasons and evidence with a change
 *                          that puts every field back to its value before
 *                          (what the reasons argue for is not done)
 * A candidate that says what some real item of the batch says (same
 * record, change and evidence) is no check and is skipped. A batch that
 * allows no candidate (one record only, and no change that moves a value)
 * gets no check: AIRLOCK_ENOTFOUND. */

/* Whether the sample numbered `nth` (1 for a workflow's first sample)
 * carries a check when the policy asks for one in every `every` samples
 * (0 = off). */
int seedcheck_due(int64_t every, int64_t nth);

/* Makes the check item from items and seed into *out (the caller owns it):
 * {"kind", "based_on" (the 1-based index of the item it copies), "record_id",
 *  "changes", "before", "reasons", "evidence"}. The same seed and items
 * always give the same item. AIRLOCK_EINVAL for items that are not such
 * an array, AIRLOCK_ENOTFOUND (see above), AIRLOCK_ENOMEM. */
int seedcheck_make(json_t *items, const unsigned char seed[SAMPLING_SEED_BYTES], json_t **out,
		   struct err *err);

/* The same, based on items[base] (0-based) whatever the seed: the kind
 * comes from the seed, the other kind is tried when it allows none. What
 * a seeded sample shows in the slot of a drawn item (review_sample). */
int seedcheck_make_at(json_t *items, size_t base, const unsigned char seed[SAMPLING_SEED_BYTES],
		      json_t **out, struct err *err);

#endif
