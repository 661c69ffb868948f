/* replay.h — policy replay (issue 21): every proposal the gate decided in a
 * window, decided again under a candidate policy by the gate's own
 * gate_decide(), from what the gate knew at the time (gate_snapshot, kept
 * beside each log entry: radius, running total, waiting batches, the
 * records grouped by the fields their change sets). What would have been decided
 * differently, the running radius and the reviewers' load come back old
 * and new side by side.
 *
 * Owns: re-deciding and the comparison.
 *
 * Never: writes anything but the one log entry replay_log() appends. A replay
 * of the policy that decided the history reproduces every logged decision
 * exactly; what it cannot know is counted, never guessed silently:
 *   - the waiting batches are re-simulated: the running total and the
 *     count of waiting batches at a proposal are the recorded ones
 *     corrected by every earlier batch the candidate queues differently
 *     (queued in one world only, or with another radius). A batch of the
 *     history stops waiting where the log says a person approved or
 *     rejected it or it expired (the same people at the same moments); a
 *     batch only the candidate queues never existed, so nobody acted on
 *     it: it waits to the end of the window. The corrections add radii,
 *     so a record held by two waiting batches counts twice in them (the
 *     recorded total counts it once). Under the policy that decided the
 *     history every correction is 0;
 *   - calls refused before the decision (no policy, unknown workflow) and a
 *     request_send refused past max_pending_batches carry no snapshot and
 *     are not replayed. */
#ifndef AIRLOCK_REPLAY_H
#define AIRLOCK_REPLAY_H

#include <jansson.h>

#include "err.h"
#include "policy.h"
#include "store.h"

#define REPLAY_EXAMPLES_MAX 10

/* Replays the proposals logged at or after since (the log's time format,
 * audit_parse_time; NULL = all) under cand. *report (the caller owns it):
 *   {"since", "proposals", "unchanged", "changed",
 *    "changes": {"staged->blocked": N, ...},
 *    "examples": [{seq, at, principal, workflow, tool, old, new,
 *                  radius_old, radius_new, why}],     at most 10
 *    "decisions": {"old": {staged, blocked, allowed, refused}, "new": {...}},
 *    "radius": {"old": {n, p50, p90, p99, max}, "new": {...}},  running totals
 *                                                    of the proposals queued
 *    "load": {"days", "old": {batches_to_approve, items_to_judge, per_day:
 *             {batches_to_approve, items_to_judge}}, "new": {...}},
 *    "daily": [{day, old: {batches, items}, new: {batches, items}}],
 *    "waiting": {"old": {batches, staged, blocked, items_to_judge},
 *                "new": {...}, "changes": {"staged->blocked": N, ...}}}
 * "waiting" is the batches of the window still waiting at its end in each
 * world (re-decided: staged ↔ blocked; "none" where a world queues no
 * batch), with the items people would judge for the staged ones at each
 * policy's sampling plan.
 * Items to judge are the normal-level sampling plans (sampling.h) of the
 * staged batches at each policy's confidence and defect rate (the old
 * ones at cur's, the policy in force; cand's when cur is NULL); batches to
 * approve are the blocked ones. */
int replay_run(struct store *s, const struct policy *cur, const struct policy *cand,
	       const char *since, json_t **report, struct err *err);

/* The one write of a replay: the log entry that says it ran, by whom and
 * from where, naming the candidate (name as the person gave it, its
 * digest), the window and its counts, with the whole report (so the
 * console can show the last run, whoever ran it). *seq (may be NULL) gets
 * its sequence number. */
int replay_log(struct store *s, const char *principal, const char *surface, const char *name,
	       const char *digest, const char *since, json_t *report, int64_t *seq,
	       struct err *err);

#endif
