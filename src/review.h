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

int review_approve(struct review *r, int64_t batch_id, const char *principal, struct err *err);
int review_reject(struct review *r, int64_t batch_id, const char *principal, const char *reason,
		  struct err *err);
/* *report as staging_apply's; for a send batch also "delivery": what the
 * relay did, or why nothing was delivered yet. */
int review_apply(struct review *r, int64_t batch_id, const char *principal, int skip_conflicts,
		 json_t **report, struct err *err);
int review_undo(struct review *r, int64_t batch_id, const char *principal, int force,
		json_t **report, struct err *err);

/* The SMTP relay of the policy, in outreach's terms; host NULL when the
 * policy configures none. The password comes from the environment
 * variable the policy names. */
void review_smtp(const struct policy *p, struct outreach_smtp *smtp);

#endif
