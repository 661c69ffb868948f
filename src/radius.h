/* radius.h — the running total of what an agent has waiting for a person.
 *
 * Owns: the tables radius_hold, radius_total and radius_batch (migration 22),
 * and nothing else touches them. The running total of (agent, workflow) is
 * the number of distinct records held by that agent's batches of that
 * workflow that still wait for a person (staged, sampled, blocked). A batch
 * holds its records from the moment it is created waiting until it leaves
 * that set (approved, rejected, expired); then it releases exactly its own
 * records, and a record stays held while another waiting batch holds it.
 *
 * Records are namespaced ids ("account:A1", "contact:C1", "signal:S1",
 * "message:D1/C1") so a contact and an account with the same id never
 * collide. A record set is a JSON object whose keys are those ids.
 *
 * Cost: O(records · log n) per call, independent of the history (nothing
 * is recounted). Every function runs inside the caller's transaction: the
 * hold and the release are committed with the batch change they follow.
 *
 * Never: decides anything (gate.h and policy.h do) or reads other modules'
 * tables. */
#ifndef AIRLOCK_RADIUS_H
#define AIRLOCK_RADIUS_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* Longest namespaced record id radius stores. */
#define RADIUS_ID_MAX 512

/* A new waiting batch of (principal, workflow) holds records, in two steps
 * of one transaction: radius_hold_first counts each record as held by one
 * more waiting batch and says what the total was (*held) and is (*with:
 * held ∪ records), and radius_hold_rows, once the batch has its id, writes
 * which records it holds so it can release them. A caller that only wants
 * the total with records added (a decision that may not wait) runs
 * radius_hold_first in a savepoint and rolls it back. Only for a batch that
 * holds nothing yet, with the same records for both; a record listed twice
 * counts once (records is a set); a record the batch already holds is
 * refused by radius_hold_rows (so never counted twice). */
int radius_hold_first(struct store *s, const char *principal, const char *workflow,
		      json_t *records, int64_t *held, int64_t *with, struct err *err);
int radius_hold_rows(struct store *s, int64_t batch_id, const char *principal,
		     const char *workflow, json_t *records, struct err *err);

/* Batch batch_id stopped waiting: its records are released (those no other
 * waiting batch holds leave the total). A batch that holds nothing is fine. */
int radius_release(struct store *s, int64_t batch_id, struct err *err);

#endif
