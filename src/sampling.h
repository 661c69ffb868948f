/* sampling.h — the mathematics of sample audits and earned autonomy.
 *
 * Owns: zero-acceptance hypergeometric sampling plans (how many items of a
 * batch a person must read), the confidence a smaller reading supports, the
 * sentence that says so, reproducible cryptographic draws of which items to
 * read, the Clopper-Pearson upper bound of a workflow's defect rate, the
 * ISO 2859-1-style switching between normal, tightened and reduced
 * inspection, and a Bernoulli CUSUM over per-item verdicts.
 *
 * Never: touches the store, the clock or the policy file. Every function is
 * pure (sampling_seed() alone reads the system's randomness), so a draw or a
 * plan can be recomputed later from what the log recorded.
 *
 * Memory: no function here allocates anything the caller must free, except
 * sampling_state_to_json(), whose result the caller owns (json_decref). */
#ifndef AIRLOCK_SAMPLING_H
#define AIRLOCK_SAMPLING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SAMPLING_SEED_BYTES 32

/* The number of bad items the plan guards against in a lot of N items when
 * the tolerated defect fraction is p: D = max(1, ceil(p·N)), at most N.
 * p·N is rounded down by 1e-9 first so that 0.07·100 (7.000000000000001 in
 * binary) counts as 7. 0 when N is 0. */
int64_t sampling_defects_assumed(int64_t N, double p);

/* The exact zero-acceptance plan: the smallest n such that n items drawn
 * without replacement from N, of which D = sampling_defects_assumed(N, p)
 * are bad, contain no bad item with probability at most 1 − C, that is
 * C(N−D, n)/C(N, n) ≤ 1 − C. Reading n items and finding none bad then
 * shows with confidence C that fewer than D items are bad. Never more than
 * N; 0 for an empty lot. Returns AIRLOCK_EINVAL for N < 0, p outside (0, 1]
 * or C outside [0, 1]. */
int64_t sampling_plan_size(int64_t N, double p, double C);

/* The confidence that finding no bad item in n_read of N supports against
 * D = sampling_defects_assumed(N, p) bad: 1 − C(N−D, n)/C(N, n). Reading 10
 * of 500 at p = 5% gives 0.40. Returns -1 for invalid arguments. */
double sampling_confidence(int64_t N, double p, int64_t n_read);

/* Writes the sentence a reviewer sees into buf (always NUL-terminated,
 * truncated to fit):
 *   "zero bad items in 56 of 500 ⇒ with 95% confidence fewer than 25 (5%)
 *    of the batch are wrong"
 * The confidence printed is what n_read actually supports (rounded down to
 * a whole percent, so it never overstates), not the confidence asked for.
 * When bad > 0 the sentence says the batch goes back to a person. Returns
 * the length it wanted (like snprintf), or AIRLOCK_EINVAL. */
int sampling_statement(char *buf, size_t size, int64_t N, double p, int64_t n_read, int64_t bad);

/* Fills seed with SAMPLING_SEED_BYTES from the system's CSPRNG (libsodium
 * randombytes_buf). Record the seed: the draw is a function of it. */
int sampling_seed(unsigned char seed[SAMPLING_SEED_BYTES], struct err *err);

/* Draws n distinct indices from 0..N−1, reproducibly from seed, into
 * out[0..n−1] in the order they were drawn. The random stream is the
 * ChaCha20 keystream (key = seed, nonce = "airlock\1", counter from 0) read
 * as little-endian 64-bit words; each index is picked uniformly by
 * rejection (no modulo bias) in a partial Fisher-Yates shuffle kept sparse,
 * so memory is O(n) whatever N is. The same seed, N and n always give the
 * same draw, on every platform. AIRLOCK_EINVAL when n > N or either is
 * negative; AIRLOCK_ENOMEM. */
int sampling_draw(int64_t N, int64_t n, const unsigned char seed[SAMPLING_SEED_BYTES], int64_t *out,
		  struct err *err);

/* The regularized incomplete beta function I_x(a, b) for a, b > 0 and
 * 0 ≤ x ≤ 1, accurate to about 1e-13. NaN for invalid arguments. */
double sampling_betai(double a, double b, double x);

/* The one-sided Clopper-Pearson upper bound of a defect rate at confidence
 * C after finding `defects` bad in `inspected` items: the p at which seeing
 * at most `defects` bad has probability 1 − C, i.e. I_p(defects+1,
 * inspected−defects) = C. 1 when nothing was inspected or every item was
 * bad; -1 for invalid arguments. Zero defects in n gives 1 − (1−C)^(1/n). */
double sampling_upper_bound(int64_t defects, int64_t inspected, double C);

/* Inspection levels. The level changes only the tolerated fraction the
 * plan is computed for, never the confidence:
 *   normal      p
 *   tightened   p / 2   (twice as many bad items must be excluded: larger sample)
 *   reduced     min(1, 2·p)
 * So at 95% and p = 5%, a batch of 500 needs 56 (normal), 102 (tightened)
 * or 28 (reduced) items read. */
enum sampling_level { SAMPLING_NORMAL = 0, SAMPLING_TIGHTENED = 1, SAMPLING_REDUCED = 2 };

const char *sampling_level_name(enum sampling_level level);
/* -1 for an unknown name. */
int sampling_level_parse(const char *name);

/* The fraction the plan uses at a level (see above). */
double sampling_level_fraction(enum sampling_level level, double p);

/* sampling_plan_size at the level's fraction. */
int64_t sampling_level_plan_size(enum sampling_level level, int64_t N, double p, double C);

/* A workflow's switching policy. */
struct sampling_policy {
	double target;	   /* tolerated defect fraction p, e.g. 0.05 */
	double confidence; /* C, e.g. 0.95: plans and the upper bound */
	int reduce_after;  /* R: clean batches in a row before reduced (default 10) */
	double cusum_h;	   /* CUSUM decision limit (default 4.0) */
};

/* Fills the defaults: target 0.05, confidence 0.95, R = 10, h = 4.0. */
void sampling_policy_default(struct sampling_policy *pol);

/* Per-workflow evidence and switching state; plain data the caller stores
 * (sampling_state_to_json / _from_json). Start from {0} (normal, no
 * evidence). */
struct sampling_state {
	enum sampling_level level;
	unsigned recent;   /* outcomes of the last batches at this level, bit 0 the
			      newest, 1 = failed; only the low 5 bits count */
	int nrecent;	   /* how many of those bits are real (≤ 5) */
	int clean_run;	   /* batches passed in a row at this level */
	int64_t inspected; /* items judged, all time */
	int64_t defects;   /* of which bad */
	double cusum;	   /* the CUSUM statistic S */
};

/* Records one batch's sample outcome and returns the new level (also set in
 * st->level). The rules, after ISO 2859-1:
 *   normal → tightened  when 2 of the last 5 batches (at normal) failed;
 *   tightened → normal  after 5 batches in a row passed;
 *   normal → reduced    after R batches in a row passed AND the
 *                       Clopper-Pearson upper bound of the defect rate
 *                       (st->defects of st->inspected, at pol->confidence)
 *                       is below pol->target;
 *   reduced → normal    at the first failed batch.
 * Any change of level starts a new window of recent outcomes and a new
 * clean run. Item counts come from sampling_observe(), not from here. */
enum sampling_level sampling_switch(const struct sampling_policy *pol, struct sampling_state *st,
				    int batch_passed);

/* Records one item verdict (bad = 1 when the reviewer found it wrong):
 * adds it to the evidence and to the Bernoulli CUSUM
 *   S ← max(0, S + bad·ln(p1/p0) + (1−bad)·ln((1−p1)/(1−p0)))
 * with p0 = target, p1 = min(2·target, 0.999). When S reaches pol->cusum_h
 * the level is demoted one step (reduced → normal, normal → tightened;
 * tightened stays), S restarts from 0 and 1 is returned; else 0. A slide
 * in quality that each batch alone is too small to show is caught here. */
int sampling_observe(const struct sampling_policy *pol, struct sampling_state *st, int bad);

/* The state as a JSON object, and back. _from_json returns AIRLOCK_EINVAL
 * naming the bad field. */
json_t *sampling_state_to_json(const struct sampling_state *st);
int sampling_state_from_json(const json_t *j, struct sampling_state *st, struct err *err);

#endif
