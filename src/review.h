/* review.h — the human verbs on batches, one code path for every surface
 * (the CLI and the console's API): staging's state machine, plus what a
 * batch's action needs beyond the book. A send batch approves its drafts in
 * the same transaction as the apply and then hands them to delivery;
 * rejecting it returns its drafts to the rep.
 *
 * Never: reachable from a connector. Every verb checks its principal is a
 * person (staging does), and logs in the transaction of its change. */
#ifndef AIRLOCK_REVIEW_H
#define AIRLOCK_REVIEW_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "outreach.h"
#include "policy.h"
#include "store.h"

struct review {
	struct store *store;
	const struct policy *policy; /* may be NULL: no relay, no audience rules */
	const char *surface;         /* "cli", "console" */
};

/* A plain approve refuses a batch whose sample was never drawn, is
 * unfinished or failed (AIRLOCK_ESTATE, saying what is unfinished and how
 * this surface overrides); review_approve_override() approves past it with
 * a reason, recorded as an override and counted as no audit (staging.h). */
int review_approve(struct review *r, int64_t batch_id, const char *principal, struct err *err);
int review_approve_override(struct review *r, int64_t batch_id, const char *principal,
			    const char *reason, struct err *err);
int review_reject(struct review *r, int64_t batch_id, const char *principal, const char *reason,
		  struct err *err);
/* *report as staging_apply's; for a send batch also "delivery": what the
 * relay did, or why nothing was delivered yet. */
int review_apply(struct review *r, int64_t batch_id, const char *principal, int skip_conflicts,
		 json_t **report, struct err *err);
int review_undo(struct review *r, int64_t batch_id, const char *principal, int force,
		json_t **report, struct err *err);

/* Draws the sample audit of a staged batch: the size is the exact
 * zero-acceptance plan for the workflow's confidence and tolerated defect
 * rate at its current inspection level (autonomy.h), the items are drawn
 * from a fresh random seed, and seed and items are recorded so the draw can
 * be re-derived. *result: {"batch_id", "N", "n", "level", "confidence",
 * "defect_rate", "seed", "items": [...], "statement"}. */
int review_sample(struct review *r, int64_t batch_id, const char *principal, json_t **result,
		  struct err *err);

/* Re-derives a batch's recorded draw from its seed: 0 when it matches,
 * AIRLOCK_ECORRUPT naming the difference otherwise. */
int review_sample_check(struct review *r, int64_t batch_id, struct err *err);

/* Records a verdict on one item; the workflow's evidence and level follow
 * (one fail blocks the batch; when every drawn item passed it is approved).
 * *result: {"state", "unjudged", "statement", "level"}. */
int review_judge(struct review *r, int64_t batch_id, int64_t item, const char *principal,
		 int pass, const char *note, json_t **result, struct err *err);

/* The SMTP relay of the policy, in outreach's terms; host NULL when the
 * policy configures none. The password comes from the environment
 * variable the policy names. */
void review_smtp(const struct policy *p, struct outreach_smtp *smtp);

#endif
