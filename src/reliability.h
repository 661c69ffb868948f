/* reliability.h — how much a reviewer's verdicts are worth: per reviewer
 * and workflow, the seeded checks (known wrong items slipped into a sample)
 * they saw, caught and missed, and an exact bound on their catch rate.
 *
 * Owns: the reviewer_check table (migration 26) and the rule that turns a
 * record into a weight for the workflow's autonomy evidence.
 *
 * Never: decides a batch, or hides a reviewer's record from that reviewer.
 * A rubber stamp is told apart from a careful reading only by checks; with
 * no checks seen a reviewer's verdicts count in full, so turning checks
 * off changes nothing. Callers record inside the transaction of the
 * verdict. */
#ifndef AIRLOCK_RELIABILITY_H
#define AIRLOCK_RELIABILITY_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

struct reliability {
	int64_t seen;	/* seeded checks judged */
	int64_t caught; /* of which failed, as they should be */
	int64_t missed; /* of which passed: a wrong item waved through */
};

/* The exact one-sided Clopper-Pearson bounds of a catch rate at confidence
 * C after `caught` of `seen`:
 *   lower: the p with P(X ≥ caught; seen, p) = 1 − C  (0 when caught = 0)
 *   upper: the p with P(X ≤ caught; seen, p) = 1 − C  (1 when caught = seen)
 * So 19 of 20 caught gives a lower bound of 0.7839 at 95%. With nothing
 * seen the bounds are 0 and 1. -1 for invalid arguments. */
double reliability_catch_lower(int64_t caught, int64_t seen, double C);
double reliability_catch_upper(int64_t caught, int64_t seen, double C);

/* The weight of the reviewer's verdicts in autonomy evidence against a
 * policy threshold `min_catch` (0 = off: always 1): 0 when the reviewer's
 * catch rate is, with confidence C, below the threshold (the upper bound
 * is below it), else 1. A reviewer is never discounted on too few checks
 * to tell: missing 1 of 1 leaves the upper bound at C. */
double reliability_weight(const struct reliability *rel, double min_catch, double C);

/* The reviewer's record in the workflow ({0} when none). */
int reliability_get(struct store *s, const char *reviewer, const char *workflow,
		    struct reliability *out, struct err *err);

/* One seeded check judged: caught = 1 when the reviewer failed it. */
int reliability_record(struct store *s, const char *reviewer, const char *workflow, int caught,
		       struct err *err);

/* A finished sample of the reviewer's whose verdicts did not count as
 * evidence (weight 0): counted so the autonomy view can say so. */
int reliability_discount(struct store *s, const char *reviewer, const char *workflow,
			 struct err *err);

/* The number of samples discounted in a workflow, all reviewers. */
int reliability_discounted(struct store *s, const char *workflow, int64_t *out, struct err *err);

/* Records as [{reviewer, workflow, seen, caught, missed, discounted,
 * catch_lower, catch_upper, weight}], the bounds at C and the weight against min_catch;
 * only `reviewer`'s when it is not NULL (a reviewer sees their own, an
 * admin everyone's). */
int reliability_list(struct store *s, const char *reviewer, double min_catch, double C,
		     json_t **out, struct err *err);

#endif
