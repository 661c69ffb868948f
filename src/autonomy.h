/* autonomy.h — autonomy earned with data, per workflow: the evidence of
 * sample audits (items inspected, defects, batches passed and failed) and
 * the inspection level it has earned (normal, tightened, reduced), after
 * ISO 2859-1's switching rules and a Bernoulli CUSUM (sampling.h).
 *
 * Owns: the autonomy table (migration 21). The level only changes how many
 * items a sample draws; nothing here lets anything through unattended.
 *
 * Never: decides a batch. Callers record outcomes inside the transaction of
 * the verdict that produced them. */
#ifndef AIRLOCK_AUTONOMY_H
#define AIRLOCK_AUTONOMY_H

#include <jansson.h>

#include "err.h"
#include "sampling.h"
#include "store.h"

/* The workflow's state ({0}: normal, no evidence, when none is stored). */
int autonomy_get(struct store *s, const char *workflow, struct sampling_state *st,
		 struct err *err);

/* One item verdict (bad = 1 when wrong). *demoted (may be NULL) is 1 when
 * the CUSUM demoted the workflow. */
int autonomy_observe(struct store *s, const char *workflow, const struct sampling_policy *pol,
		     int bad, int *demoted, struct err *err);

/* One batch's sample outcome; *level (may be NULL) gets the new level. */
int autonomy_batch(struct store *s, const char *workflow, const struct sampling_policy *pol,
		   int passed, enum sampling_level *level, struct err *err);

/* One finished sample audit, as evidence: its `passed` item verdicts, then
 * the failed one if any (a fail ends a sample), then the batch's outcome.
 * Verdicts count only when their sample finishes this way: a batch a
 * person approved past its sample (an override, staging.h) is no audit,
 * so its pass verdicts never reach the evidence and never move the
 * workflow toward reduced inspection. *level (may be NULL) gets the new
 * level. */
int autonomy_sample(struct store *s, const char *workflow, const struct sampling_policy *pol,
		    int64_t passed, int failed, enum sampling_level *level, struct err *err);

/* Every workflow with evidence: [{workflow, level, inspected, defects,
 * upper_bound, clean_run, ...}], the bound at confidence C. */
int autonomy_list(struct store *s, double confidence, json_t **out, struct err *err);

#endif
