/* upwrite.h — an upstream's write tool as batches (issue 16, step 5): an
 * agent's call of a mapped write tool (policy.h's struct
 * policy_upstream_map) becomes a staged or blocked batch through the gate,
 * and apply and undo carry it out against the upstream, one call per
 * record, each journaled.
 *
 * Owns: the tables upstream_batch (what upstream and tool a batch writes
 * through, how to read and undo it) and upstream_item (per record: the
 * arguments of its before read, of its apply call and of its undo call, and
 * the journal of those calls: pending → sent → done | failed, or conflict,
 * and who claimed each call), migrations 34, 35 and 36.
 *
 * A call is refused whole (AIRLOCK_EINVAL, nothing staged) when the mapping
 * cannot account for its arguments: a records or fields pointer that
 * matches nothing, a record id that is not a string or an integer, an
 * argument under no record or field pointer (an extra record hidden where
 * the mapping does not look), a field written to no record found, or
 * several records in a call whose mapping has no "*" to split it by.
 *
 * Apply re-reads each record from the upstream: a record whose fields no
 * longer hold the values staged as before is a conflict (nothing is called
 * for it). Each call is recorded as sent (committed) before it is made and
 * as done or failed after it answers, so after a crash or an upstream that
 * died mid-call every record is known as done, not done, or unknown (sent,
 * no answer). Apply again resumes: an unknown record is re-read and counted
 * done when it holds the new values, called again only when it still holds
 * the before-values: never applied twice. Each call is claimed before it is
 * made: "sent" under a token new for the attempt, set by a compare-and-set
 * on the state and token this process read, so of two applies or undos of
 * the same record at once (two CLIs, a CLI and the console, two servers on
 * one PostgreSQL database) exactly one calls, and the other stops without
 * calling. A call still unanswered whose claimer may be making it (its
 * process alive on this host, or another host's, within twice the
 * upstream's timeout and a minute) is not made again until it ends. The
 * first call of an apply ends the batch's time-to-live
 * (staging_external_begin): an apply that began is resumed, not expired
 * half done; one that never called still expires. Undo restores the before-values
 * the same way (the same tool with the before-values, or the inverse tool).
 * Creates, deletes and sends are one call for the batch, never undone.
 *
 * Never: writes airlock's own book, decides whether a call may be staged
 * (gate.h), or changes a batch's state itself (staging.h does). */
#ifndef AIRLOCK_UPWRITE_H
#define AIRLOCK_UPWRITE_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "policy.h"
#include "store.h"

struct gate;
struct gate_call;
struct upstream;

/* The action batch rows carry for an upstream's write. */
#define UPWRITE_ACTION "upstream"

/* Runs the call of tool t of upstream u (client up) with the agent's args
 * through the gate (gate_upstream_call); *result as gate_call_tool's. */
int upwrite_propose(struct gate *g, const struct gate_call *call, const struct policy_upstream *u,
		    const struct policy_upstream_tool *t, struct upstream *up, json_t *args,
		    json_t **result, struct err *err);

/* Applies (undoes) an upstream batch of the policy p (for how to reach the
 * upstream). Same report as staging_apply (staging_undo), plus "unknown"
 * and "failed": records whose call got no answer or an error. A record left
 * unknown or failed leaves the batch approved (applied): the error says so,
 * and the same verb again resumes. */
int upwrite_apply(struct store *s, const struct policy *p, int64_t batch_id, const char *principal,
		  const char *surface, int skip_conflicts, json_t **report, struct err *err);
int upwrite_undo(struct store *s, const struct policy *p, int64_t batch_id, const char *principal,
		 const char *surface, int force, json_t **report, struct err *err);

/* Names what the records of batch b (staging_get's JSON) are, for people
 * reading it: for an upstream batch it adds "upstream" {name, tool,
 * effect} and "record_kind", the tool as the agent called it
 * (NAME__TOOL), which `show` and the console print where a book batch
 * says "account". Other batches are left as they are. */
int upwrite_describe(struct store *s, json_t *b, struct err *err);

/* Every JSON pointer match of ptr in root ("*" matches each element of an
 * array): an array of [concrete pointer, value]. Exposed for tests. */
json_t *upwrite_match(json_t *root, const char *ptr);

#endif
